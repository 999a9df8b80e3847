// Rule 5: `breaker` takes a string literal, not a number.
use retry_runtime::retryable;
use std::io;

#[retryable(breaker = 5)]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
