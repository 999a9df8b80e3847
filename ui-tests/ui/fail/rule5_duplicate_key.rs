// Rule 5: a key set twice.
use retry_runtime::retryable;
use std::io;

#[retryable(policy = "network", policy = "database")]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
