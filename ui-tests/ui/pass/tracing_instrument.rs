// `#[tracing::instrument]` stacks above and below `#[retryable]`: above, one span
// for the whole call; below, one span per attempt.
use retry_runtime::retryable;
use std::io;

#[tracing::instrument]
#[retryable]
async fn above(id: u32) -> io::Result<u32> {
    Ok(id)
}

#[retryable]
#[tracing::instrument]
async fn below(id: u32) -> io::Result<u32> {
    Ok(id)
}

struct Client;

impl Client {
    #[tracing::instrument(skip(self))]
    #[retryable(idempotent)]
    async fn above_mut(&mut self, id: u32) -> io::Result<u32> {
        Ok(id)
    }

    #[retryable]
    #[tracing::instrument(skip(self))]
    async fn below_ref(&self, id: u32) -> io::Result<u32> {
        Ok(id)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(above(1).await.unwrap(), 1);
    assert_eq!(below(2).await.unwrap(), 2);
    let mut client = Client;
    assert_eq!(client.above_mut(3).await.unwrap(), 3);
    assert_eq!(client.below_ref(4).await.unwrap(), 4);
}
