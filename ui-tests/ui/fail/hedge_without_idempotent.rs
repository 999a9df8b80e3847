// Hedging rule 1: a hedge repeats the request while the first attempt may
// still succeed, so the function must be marked `idempotent`.
use retry_runtime::retryable;
use std::io;

#[retryable(policy = "network", hedge = "search")]
async fn lookup(query: &str) -> io::Result<usize> {
    Ok(query.len())
}

fn main() {
    let _ = lookup("rust");
}
