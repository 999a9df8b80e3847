// Rule 5: `retry_if` takes a path to a function, not a string.
use retry_runtime::retryable;
use std::io;

fn is_transient(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::TimedOut
}

#[retryable(retry_if = "is_transient")]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
    let _ = is_transient;
}
