// The expanded future is `Send` when the body is, so it can be spawned.
use retry_runtime::retryable;
use std::io;
use std::sync::Arc;

fn assert_send<T: Send>(_: T) {}

#[retryable]
async fn free(data: Vec<u8>, key: &str) -> io::Result<usize> {
    tokio::task::yield_now().await;
    Ok(data.len() + key.len())
}

struct Service {
    hits: u32,
}

impl Service {
    #[retryable(idempotent)]
    async fn by_mut(&mut self) -> io::Result<u32> {
        self.hits += 1;
        Ok(self.hits)
    }

    #[retryable]
    async fn by_arc(self: Arc<Self>) -> io::Result<u32> {
        Ok(self.hits)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_send(free(Vec::new(), "k"));
    let mut service = Service { hits: 0 };
    assert_send(service.by_mut());
    assert_send(Arc::new(Service { hits: 0 }).by_arc());
    let handle = tokio::spawn(free(vec![1], "ab"));
    assert_eq!(handle.await.unwrap().unwrap(), 3);
}
