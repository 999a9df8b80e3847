// Rule 5: `crate` takes a string literal, like serde's.
use retry_runtime::retryable;
use std::io;

#[retryable(crate = retry_runtime)]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
