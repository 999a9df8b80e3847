// Rule 5: `policy` takes a string literal, not a path.
use retry_runtime::retryable;
use std::io;

#[retryable(policy = network)]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
