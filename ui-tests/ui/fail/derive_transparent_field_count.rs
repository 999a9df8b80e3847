// derive(Classify): `transparent` forwards to exactly one field.
use retry_runtime::Classify;

#[derive(Debug, Classify)]
enum StoreError {
    #[classify(transparent)]
    Io,
    #[classify(transparent)]
    Both(std::io::Error, std::io::Error),
}

fn main() {}
