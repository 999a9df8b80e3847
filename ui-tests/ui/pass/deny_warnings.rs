// The expansion adds no warning: several shapes under `deny(warnings)`.
// trybuild does not run clippy; `clippy::pedantic` documents the intent, and
// `cargo clippy` on a crate that uses `#[retryable]` must stay as clean.
#![deny(warnings)]
#![deny(clippy::pedantic)]

use retry_runtime::{Class, Classify, Rejected, retryable};
use std::fmt::Display;
use std::io;
use std::sync::Arc;

#[derive(Debug)]
enum StoreError {
    Unavailable,
    Refused(Rejected),
}

impl Classify for StoreError {
    fn classify(&self) -> Class {
        match self {
            StoreError::Unavailable => Class::Transient,
            StoreError::Refused(rejected) => rejected.classify(),
        }
    }
}

impl From<Rejected> for StoreError {
    fn from(rejected: Rejected) -> Self {
        StoreError::Refused(rejected)
    }
}

impl From<io::Error> for StoreError {
    fn from(_: io::Error) -> Self {
        StoreError::Unavailable
    }
}

#[derive(Clone)]
struct Store {
    calls: u32,
}

impl Store {
    #[retryable(policy = "network", breaker = "default", idempotent)]
    async fn put(&mut self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        self.calls += 1;
        let _ = (key, body);
        Ok(())
    }

    #[retryable]
    async fn get(&self, key: &str) -> Result<String, StoreError> {
        let io: io::Result<()> = Ok(());
        io?;
        Ok(format!("{key}:{}", self.calls))
    }

    #[retryable]
    async fn close(self) -> Result<u32, StoreError> {
        Ok(self.calls)
    }

    #[retryable]
    async fn shared(self: Arc<Self>) -> Result<u32, StoreError> {
        Ok(self.calls)
    }
}

#[retryable(name = "render")]
async fn render<T: Display + Clone>(value: T, (a, b): (u8, u8)) -> io::Result<impl Display> {
    if a > b {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    Ok(format!("{value}{a}{b}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut store = Store { calls: 0 };
    store.put("k", vec![1]).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), "k:1");
    assert_eq!(Arc::new(store.clone()).shared().await.unwrap(), 1);
    assert_eq!(store.close().await.unwrap(), 1);
    assert_eq!(render("v", (1, 2)).await.unwrap().to_string(), "v12");
}
