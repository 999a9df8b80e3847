// Rule 5: a bare string is not a key; the policy is named with `policy = "..."`.
use retry_runtime::retryable;
use std::io;

#[retryable("network")]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
