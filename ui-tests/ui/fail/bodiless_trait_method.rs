// A trait method without a body has nothing to retry.
use retry_runtime::retryable;
use std::io;

trait Store {
    #[retryable]
    async fn get(&self, key: &str) -> io::Result<Vec<u8>>;
}

fn main() {}
