// With the feature `anyhow`: `anyhow::Result<T>` needs no code of the user's.
use retry_runtime::retryable;

#[retryable(policy = "none")]
async fn parse(text: &str) -> anyhow::Result<u32> {
    Ok(text.parse()?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(parse("7").await.unwrap(), 7);
    assert!(parse("seven").await.is_err());
}
