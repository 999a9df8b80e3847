// Under `#[async_trait]`, the method is no longer an `async fn` when `#[retryable]` sees it.
use async_trait::async_trait;
use retry_runtime::retryable;
use std::io;

#[async_trait]
trait Store {
    async fn get(&self, key: &str) -> io::Result<Vec<u8>>;
}

struct Disk;

#[async_trait]
impl Store for Disk {
    #[retryable]
    async fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        Ok(key.as_bytes().to_vec())
    }
}

fn main() {
    let _ = Disk.get("a");
}
