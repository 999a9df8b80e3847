// `retry_if` must name a `fn(&E) -> bool`; this one takes the error by value.
use retry_runtime::retryable;
use std::io;

fn is_transient(error: io::Error) -> bool {
    error.kind() == io::ErrorKind::TimedOut
}

#[retryable(retry_if = is_transient)]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
