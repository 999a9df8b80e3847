// `retry_if = path`: the error type need not implement `Classify`.
use retry_runtime::{Rejected, retryable};

#[derive(Debug)]
enum ApiError {
    Busy,
    Refused(Rejected),
}

impl From<Rejected> for ApiError {
    fn from(rejected: Rejected) -> Self {
        ApiError::Refused(rejected)
    }
}

mod predicates {
    pub fn is_busy(error: &super::ApiError) -> bool {
        matches!(error, super::ApiError::Busy)
    }
}

#[retryable(retry_if = predicates::is_busy)]
async fn call() -> Result<u32, ApiError> {
    Ok(7)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(call().await.unwrap(), 7);
    let _ = (ApiError::Busy, ApiError::Refused);
}
