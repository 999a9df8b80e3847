// Rule 5: an unknown key, close to a known one, gets a "did you mean".
use retry_runtime::retryable;
use std::io;

#[retryable(polcy = "network")]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
