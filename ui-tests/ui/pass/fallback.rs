// `fallback` as a free function and as `Self::method`, with generic and
// borrowed arguments.
use retry_runtime::retryable;
use std::io;

async fn zero<T: Clone + Send>(_value: T, key: &str, _error: io::Error) -> io::Result<usize> {
    Ok(key.len())
}

#[retryable(fallback = zero)]
async fn measure<T: Clone + Send>(value: T, key: &str) -> io::Result<usize> {
    let _ = value;
    Err(io::ErrorKind::NotFound.into())
}

struct Cache {
    hits: u32,
}

impl Cache {
    #[retryable(idempotent, fallback = Self::stale)]
    async fn fresh(&mut self, id: u32) -> io::Result<u32> {
        let _ = id;
        Err(io::ErrorKind::NotFound.into())
    }

    async fn stale(&mut self, id: u32, _error: io::Error) -> io::Result<u32> {
        self.hits += 1;
        Ok(id)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(measure(1u8, "abc").await.unwrap(), 3);
    let mut cache = Cache { hits: 0 };
    assert_eq!(cache.fresh(7).await.unwrap(), 7);
    assert_eq!(cache.hits, 1);
}
