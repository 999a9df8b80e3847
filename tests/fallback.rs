//! `fallback = path`: taken whenever the call would return an error (permanent,
//! attempts exhausted, budget refused, breaker refused, deadline), with the
//! original arguments and the final error; never on success. Free functions,
//! `Self::method`, `&mut self`, by-value and destructured arguments.

mod support;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{Rejected, breaker, retryable};

const CONFIG: &str = r#"
[policies.thrice]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[policies.deadline]
max_attempts = 10
backoff = "constant"
initial_delay = "1s"
jitter = "none"
max_elapsed = "2500ms"

[budgets.empty]
ttl = "10s"
min_retries_per_sec = 0
retry_ratio = 0.0

[breakers.forced]
"#;

fn setup() {
    support::install_once(CONFIG);
}

fn refused(error: &io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Rejected>())
        .is_some_and(|r| matches!(r, Rejected::BreakerOpen { .. }))
}

/// The fallback of `fetch`: the same arguments, then the error.
async fn cached(key: &str, fail: io::ErrorKind, error: io::Error) -> io::Result<String> {
    let _ = fail;
    Ok(format!("cached {key} after {}", error.kind()))
}

static FETCH_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[retryable(policy = "thrice", fallback = cached)]
async fn fetch(key: &str, fail: io::ErrorKind) -> io::Result<String> {
    FETCH_ATTEMPTS.fetch_add(1, Ordering::Relaxed);
    if key == "ok" {
        return Ok("fresh".to_owned());
    }
    Err(fail.into())
}

#[tokio::test(start_paused = true)]
async fn taken_on_a_permanent_error_and_when_attempts_run_out_never_on_success() {
    setup();
    assert_eq!(
        fetch("k", io::ErrorKind::NotFound).await.unwrap(),
        "cached k after entity not found"
    );
    assert_eq!(
        fetch("k", io::ErrorKind::ConnectionReset).await.unwrap(),
        "cached k after connection reset"
    );
    assert_eq!(fetch("ok", io::ErrorKind::NotFound).await.unwrap(), "fresh");
    // 1 (permanent) + 3 (exhausted) + 1 (success).
    assert_eq!(FETCH_ATTEMPTS.load(Ordering::Relaxed), 5);
}

async fn budget_fallback(error: io::Error) -> io::Result<&'static str> {
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    Ok("from fallback")
}

static BUDGET_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[retryable(policy = "thrice", budget = "empty", fallback = budget_fallback)]
async fn budget_refused() -> io::Result<&'static str> {
    BUDGET_ATTEMPTS.fetch_add(1, Ordering::Relaxed);
    Err(io::ErrorKind::ConnectionReset.into())
}

#[tokio::test(start_paused = true)]
async fn taken_when_the_budget_refuses_a_retry() {
    setup();
    assert_eq!(budget_refused().await.unwrap(), "from fallback");
    assert_eq!(BUDGET_ATTEMPTS.load(Ordering::Relaxed), 1, "no retry");
    assert_eq!(retry_runtime::budget("empty").unwrap().exhausted(), 1);
}

static REFUSALS_SEEN: AtomicU32 = AtomicU32::new(0);

async fn when_refused(id: u32, error: io::Error) -> io::Result<u32> {
    if refused(&error) {
        REFUSALS_SEEN.fetch_add(1, Ordering::Relaxed);
    }
    Ok(id + 1000)
}

#[retryable(policy = "thrice", breaker = "forced", fallback = when_refused)]
async fn behind_breaker(id: u32) -> io::Result<u32> {
    Ok(id)
}

#[tokio::test(start_paused = true)]
async fn taken_when_the_breaker_refuses_the_call() {
    setup();
    assert_eq!(behind_breaker(1).await.unwrap(), 1);
    breaker("forced").unwrap().force_open();
    assert_eq!(behind_breaker(2).await.unwrap(), 1002);
    assert_eq!(REFUSALS_SEEN.load(Ordering::Relaxed), 1);
    breaker("forced").unwrap().reset();
    assert_eq!(behind_breaker(3).await.unwrap(), 3);
}

async fn late(error: io::Error) -> io::Result<Duration> {
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    Ok(Duration::ZERO)
}

#[retryable(policy = "deadline", fallback = late)]
async fn slow() -> io::Result<Duration> {
    Err(io::ErrorKind::TimedOut.into())
}

#[tokio::test(start_paused = true)]
async fn taken_when_the_deadline_stops_retrying() {
    setup();
    let start = tokio::time::Instant::now();
    assert_eq!(slow().await.unwrap(), Duration::ZERO);
    // Attempts at 0s, 1s, 2s; a third sleep would end past 2.5s.
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

async fn still_failing(error: io::Error) -> io::Result<()> {
    Err(io::Error::other(format!(
        "fallback failed too, after {error}"
    )))
}

#[retryable(policy = "thrice", fallback = still_failing)]
async fn fails_twice() -> io::Result<()> {
    Err(io::ErrorKind::NotFound.into())
}

#[tokio::test(start_paused = true)]
async fn the_fallback_may_return_an_error_of_its_own() {
    setup();
    let error = fails_twice().await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::Other);
    assert!(error.to_string().starts_with("fallback failed too"));
}

#[derive(Clone, Debug, PartialEq)]
struct Order {
    lines: Vec<u32>,
}

struct Store {
    name: String,
    writes: u32,
}

impl Store {
    /// By-value arguments: each attempt mutates its own clone; the fallback
    /// gets the original, untouched.
    #[retryable(policy = "thrice", fallback = Self::queue)]
    async fn submit(&self, mut order: Order, (a, b): (u32, u32)) -> io::Result<usize> {
        order.lines.push(a + b);
        Err(io::ErrorKind::ConnectionReset.into())
    }

    async fn queue(&self, order: Order, pair: (u32, u32), error: io::Error) -> io::Result<usize> {
        assert_eq!(order, Order { lines: vec![1] }, "the original order");
        assert_eq!(pair, (2, 3));
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
        Ok(self.name.len() + order.lines.len())
    }

    #[retryable(policy = "thrice", idempotent, fallback = Self::write_locally)]
    async fn write(&mut self, _: u8, body: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        let _ = body;
        Err(io::ErrorKind::NotFound.into())
    }

    async fn write_locally(
        &mut self,
        tag: u8,
        body: &[u8],
        _error: io::Error,
    ) -> io::Result<usize> {
        self.writes += 100;
        Ok(body.len() + usize::from(tag))
    }

    /// `self` by value: cloned per attempt, the original goes to the fallback.
    #[retryable(policy = "thrice", fallback = Self::into_default)]
    async fn into_name(self) -> io::Result<String>
    where
        Self: Clone,
    {
        Err(io::ErrorKind::ConnectionReset.into())
    }

    async fn into_default(self, _error: io::Error) -> io::Result<String> {
        Ok(format!("{} (fallback)", self.name))
    }
}

impl Clone for Store {
    fn clone(&self) -> Self {
        Store {
            name: self.name.clone(),
            writes: self.writes,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn methods_receive_the_receiver_and_the_original_arguments() {
    setup();
    let mut store = Store {
        name: "db".to_owned(),
        writes: 0,
    };
    let order = Order { lines: vec![1] };
    assert_eq!(store.submit(order, (2, 3)).await.unwrap(), 3);
    assert_eq!(store.write(7, b"abc").await.unwrap(), 10);
    assert_eq!(
        store.writes, 101,
        "one attempt (permanent), then the fallback"
    );
    assert_eq!(store.into_name().await.unwrap(), "db (fallback)");
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn a_call_with_a_fallback_is_send() {
    assert_send(&fetch("k", io::ErrorKind::NotFound));
    let store = Store {
        name: String::new(),
        writes: 0,
    };
    assert_send(&store.submit(Order { lines: vec![] }, (0, 0)));
}
