// derive(Classify): every mistake is reported in one build.
use retry_runtime::Classify;

#[derive(Debug, Classify)]
enum StoreError {
    #[classify(transiet)]
    Unavailable,
    #[classify(retry_after)]
    Throttled(u32),
    NotFound,
    #[classify(transparent)]
    Both(std::io::Error, std::io::Error),
}

fn main() {}
