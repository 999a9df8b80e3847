// derive(Classify): known keys in the wrong place say where they go.
use retry_runtime::Classify;
use std::time::Duration;

#[derive(Debug, Classify)]
#[classify(retry_after)]
enum StoreError {
    #[classify(crate = "retry_runtime")]
    Unavailable,
    Throttled(#[classify(transient)] Duration),
}

fn main() {}
