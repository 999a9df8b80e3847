// derive(Classify): one class per variant, whether on the variant or on one of its fields.
use retry_runtime::Classify;
use std::time::Duration;

#[derive(Debug, Classify)]
enum StoreError {
    #[classify(transient, permanent)]
    Unavailable,
    #[classify(transient)]
    Throttled(#[classify(retry_after)] Duration),
    SlowDown {
        #[classify(retry_after)]
        after: Duration,
        #[classify(retry_after)]
        again: Duration,
    },
}

fn main() {}
