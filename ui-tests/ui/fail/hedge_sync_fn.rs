// Hedging rule 3: a sync attempt holds its thread until it ends, so no hedge
// can run beside it: `hedge` needs an `async fn`.
use retry_runtime::retryable;
use std::io;

#[retryable(hedge = "search", idempotent)]
fn lookup(query: &str) -> io::Result<usize> {
    Ok(query.len())
}

fn main() {
    let _ = lookup("rust");
}
