use retry_runtime::retryable;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::time::Instant;

static CALLS: AtomicU32 = AtomicU32::new(0);

#[retryable]
async fn flaky(fail_times: u32) -> io::Result<u32> {
    let n = CALLS.fetch_add(1, Ordering::SeqCst);
    if n < fail_times {
        return Err(io::ErrorKind::ConnectionReset.into());
    }
    Ok(n)
}

struct Client {
    hits: u32,
}

impl Client {
    #[retryable(idempotent)]
    async fn bump(&mut self, by: u32, label: String) -> io::Result<u32> {
        self.hits += by;
        drop(label);
        if self.hits < 3 {
            Err(io::ErrorKind::TimedOut.into())
        } else {
            Ok(self.hits)
        }
    }
}

#[tokio::test(start_paused = true)]
async fn retries_until_success() {
    let start = Instant::now();
    assert_eq!(flaky(2).await.unwrap(), 2);
    let elapsed = start.elapsed();
    assert!(elapsed <= Duration::from_millis(300), "{elapsed:?}");
    let mut c = Client { hits: 0 };
    assert_eq!(c.bump(1, "x".into()).await.unwrap(), 3);
}
