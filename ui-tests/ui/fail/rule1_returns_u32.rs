// Rule 1: a `#[retryable]` function must return a `Result`.
use retry_runtime::retryable;

#[retryable]
async fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}
