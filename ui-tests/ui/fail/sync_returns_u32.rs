// Rule 1 on a sync function: the return type must be a `Result`.
use retry_runtime::retryable;

#[retryable]
fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}
