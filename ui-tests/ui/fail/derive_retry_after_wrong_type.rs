// derive(Classify): a `retry_after` field is a `Duration` or an `Option<Duration>`.
use retry_runtime::Classify;

#[derive(Debug, Classify)]
enum StoreError {
    #[classify(retry_after)]
    Throttled(u64),
    SlowDown {
        #[classify(retry_after)]
        after: String,
    },
}

fn main() {}
