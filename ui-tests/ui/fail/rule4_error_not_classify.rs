// Rule 4: without `retry_if`, the error type must implement `Classify`.
use retry_runtime::{Rejected, retryable};

#[derive(Debug)]
enum FetchError {
    Refused(Rejected),
}

impl From<Rejected> for FetchError {
    fn from(rejected: Rejected) -> Self {
        FetchError::Refused(rejected)
    }
}

#[retryable]
async fn fetch() -> Result<String, FetchError> {
    Ok(String::new())
}

fn main() {
    let _ = fetch();
}
