// `breaker_key` picks an instance of a named breaker: it needs `breaker`.
use retry_runtime::retryable;
use std::io;

#[retryable(breaker_key = host)]
async fn fetch(host: &str) -> io::Result<()> {
    let _ = host;
    Ok(())
}

fn main() {
    let _ = fetch("a");
}
