// derive(Classify): class keys are flags; `#[classify]` alone says nothing.
use retry_runtime::Classify;

#[derive(Debug, Classify)]
enum StoreError {
    #[classify(transient = true)]
    Unavailable,
    #[classify]
    NotFound,
    #[classify(permanent, permanent)]
    Gone,
}

fn main() {}
