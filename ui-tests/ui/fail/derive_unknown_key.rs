// derive(Classify): unknown keys, with "did you mean".
use retry_runtime::Classify;

#[derive(Debug, Classify)]
#[classify(permanant)]
enum StoreError {
    #[classify(transiet)]
    Unavailable,
    #[classify(retryafter)]
    Throttled(std::time::Duration),
    #[classify(fatal)]
    Corrupt,
}

fn main() {}
