// Rule 5: policy settings belong in the config file, not in the attribute.
use retry_runtime::retryable;
use std::io;

#[retryable(max_attempts = 5)]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
