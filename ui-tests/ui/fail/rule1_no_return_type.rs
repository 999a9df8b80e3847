// Rule 1: a function without a return type returns `()`, not a `Result`.
use retry_runtime::retryable;

#[retryable]
async fn ping() {}

fn main() {
    let _ = ping();
}
