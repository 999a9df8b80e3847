// A native `async fn` in a trait impl (no `#[async_trait]`).
use retry_runtime::retryable;
use std::io;

trait Store {
    async fn get(&self, key: &str) -> io::Result<Vec<u8>>;
}

struct Memory;

impl Store for Memory {
    #[retryable(policy = "network")]
    async fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        Ok(key.as_bytes().to_vec())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Memory.get("k").await.unwrap(), b"k");
}
