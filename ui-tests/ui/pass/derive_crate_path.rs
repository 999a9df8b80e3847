// derive(Classify) through a re-export: `#[classify(crate = "...")]`.
mod retry {
    pub use retry_runtime::*;
}

#[derive(Debug, retry::Classify)]
#[classify(crate = "crate::retry", permanent)]
enum Error {
    #[classify(transient)]
    Busy,
    Gone,
}

fn main() {
    use retry::{Class, Classify};
    assert_eq!(Error::Busy.classify(), Class::Transient);
    assert_eq!(Error::Gone.classify(), Class::Permanent);
}
