// Hedging rule 2: hedged attempts run at the same time, so a `&mut T`
// argument cannot be lent to them, even with `idempotent`.
use retry_runtime::retryable;
use std::io;

#[retryable(hedge = "search", idempotent)]
async fn lookup(cache: &mut Vec<String>, query: &str) -> io::Result<usize> {
    cache.push(query.to_owned());
    Ok(cache.len())
}

fn main() {
    let mut cache = Vec::new();
    let _ = lookup(&mut cache, "rust");
}
