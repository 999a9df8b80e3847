// derive(Classify): `retry_after` reads exactly one field: the variant's only one, or the one marked.
use retry_runtime::Classify;
use std::time::Duration;

#[derive(Debug, Classify)]
enum StoreError {
    #[classify(retry_after)]
    Throttled,
    #[classify(retry_after)]
    SlowDown(Duration, String),
}

fn main() {}
