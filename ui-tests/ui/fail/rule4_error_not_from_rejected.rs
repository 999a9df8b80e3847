// Rule 4: the error type must implement `From<Rejected>`.
use retry_runtime::{Class, Classify, retryable};

#[derive(Debug)]
enum FetchError {
    Unavailable,
}

impl Classify for FetchError {
    fn classify(&self) -> Class {
        match self {
            FetchError::Unavailable => Class::Transient,
        }
    }
}

#[retryable]
async fn fetch() -> Result<String, FetchError> {
    Err(FetchError::Unavailable)
}

fn main() {
    let _ = fetch();
}
