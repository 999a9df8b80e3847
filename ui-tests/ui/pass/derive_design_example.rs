// derive(Classify) with thiserror, as DESIGN §8 writes it, used by #[retryable].
use retry_runtime::{Class, Classify, Rejected, retryable};
use std::time::Duration;

#[derive(Debug, thiserror::Error, Classify)]
#[classify(permanent)]
enum StoreError {
    #[error("unavailable")]
    #[classify(transient)]
    Unavailable,
    #[error("throttled")]
    #[classify(retry_after)]
    Throttled(Duration),
    #[error("slow down")]
    SlowDown { #[classify(retry_after)] after: Option<Duration>, region: String },
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    #[classify(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    #[classify(transparent)]
    Refused(#[from] Rejected),
}

#[retryable(policy = "none")]
async fn get(key: &str) -> Result<String, StoreError> {
    match key {
        "" => Err(StoreError::NotFound),
        "eu" => Err(StoreError::SlowDown { after: None, region: key.to_owned() }),
        _ => Ok(key.to_owned()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(get("a").await.unwrap(), "a");
    assert_eq!(get("").await.unwrap_err().classify(), Class::Permanent);
    assert_eq!(get("eu").await.unwrap_err().classify(), Class::Transient);
    let _ = (StoreError::Unavailable, StoreError::Throttled(Duration::ZERO));
}
