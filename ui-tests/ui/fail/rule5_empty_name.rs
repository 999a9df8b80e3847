// Rule 5: `name` must not be empty.
use retry_runtime::retryable;
use std::io;

#[retryable(name = "")]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
