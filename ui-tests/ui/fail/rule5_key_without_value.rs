// Rule 5: `policy` written as a flag, without its value.
use retry_runtime::retryable;
use std::io;

#[retryable(policy)]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
