// derive(Classify): a variant with no class, in an enum with no default, names the variant.
use retry_runtime::Classify;

#[derive(Debug, Classify)]
enum StoreError {
    #[classify(transient)]
    Unavailable,
    NotFound,
}

fn main() {
    let _ = StoreError::Unavailable.classify();
    let _ = StoreError::NotFound;
}
