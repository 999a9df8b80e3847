// Rule 5: several mistakes in one attribute are all reported in one build.
use retry_runtime::retryable;
use std::io;

#[retryable(polcy = "network", breaker = 5, budget = "", idempotent, idempotent)]
async fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
