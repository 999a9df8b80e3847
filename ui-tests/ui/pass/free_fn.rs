// A free `async fn` with every string key set.
use retry_runtime::retryable;
use std::io;

#[retryable(policy = "network", breaker = "default", budget = "default")]
async fn fetch(id: u32) -> io::Result<u32> {
    Ok(id + 1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(fetch(1).await.unwrap(), 2);
}
