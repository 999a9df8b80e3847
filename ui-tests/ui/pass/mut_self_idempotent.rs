// `&mut self` with `idempotent`: the author says repeating the call is safe.
use retry_runtime::retryable;
use std::io;

struct Cache {
    hits: u32,
}

impl Cache {
    #[retryable(idempotent)]
    async fn refresh(&mut self, key: &str) -> io::Result<usize> {
        self.hits += 1;
        Ok(key.len())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut cache = Cache { hits: 0 };
    assert_eq!(cache.refresh("abc").await.unwrap(), 3);
    assert_eq!(cache.hits, 1);
}
