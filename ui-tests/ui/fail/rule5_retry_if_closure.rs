// Rule 5: `retry_if` takes a path to a function, not a closure.
use retry_runtime::retryable;
use std::io;

#[retryable(retry_if = |error: &io::Error| error.kind() == io::ErrorKind::TimedOut)]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
