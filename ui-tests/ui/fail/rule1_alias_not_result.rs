// Rule 1 through an alias: the spelling does not say, the trait check does.
use retry_runtime::retryable;

type Out = u32;

#[retryable]
async fn answer() -> Out {
    42
}

fn main() {
    let _ = answer();
}
