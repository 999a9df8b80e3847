// `#[retryable]` applies to `async fn` only.
use retry_runtime::retryable;
use std::io;

#[retryable]
fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
