// A `const fn` cannot sleep between attempts.
use retry_runtime::retryable;
use std::io;

#[retryable]
const async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
