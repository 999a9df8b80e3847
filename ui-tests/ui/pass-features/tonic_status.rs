// With the feature `tonic`: `Result<T, tonic::Status>` needs no code of the user's.
use retry_runtime::retryable;

#[retryable(policy = "none")]
async fn lookup(key: &str) -> Result<String, tonic::Status> {
    if key.is_empty() {
        return Err(tonic::Status::invalid_argument("empty key"));
    }
    Ok(key.to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(lookup("k").await.unwrap(), "k");
    assert_eq!(lookup("").await.unwrap_err().code(), tonic::Code::InvalidArgument);
}
