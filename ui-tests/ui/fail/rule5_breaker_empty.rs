// Rule 5: `breaker` must name a breaker; to have none, leave the key out.
use retry_runtime::retryable;
use std::io;

#[retryable(breaker = "")]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
