//! A retry budget counts retries as they are sent, after their backoff sleep,
//! on tokio's paused clock (issue 16, items 4 and 5).
//!
//! - A call dropped during its backoff (its caller's deadline passed) sent no
//!   retry, so it spends no budget.
//! - "Over any window of `ttl`, retries ≤ the bound" holds for the retries the
//!   service receives, however long their backoffs were.
//! - The budget is checked before the sleep too, so an empty budget gives up
//!   at once; a budget emptied by others during the sleep gives up after it,
//!   with the last error.

mod support;

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{budget, retryable};
use tokio::task::JoinSet;
use tokio::time::Instant;

const CONFIG: &str = r#"
[policies.backoff_100ms]
max_attempts = 2
backoff = "constant"
initial_delay = "100ms"
jitter = "none"

[policies.backoff_9s]
max_attempts = 2
backoff = "constant"
initial_delay = "9s"
jitter = "none"

[policies.at_once]
max_attempts = 2
backoff = "constant"
initial_delay = "0ms"
jitter = "none"

[budgets.dropped]
ttl = "10s"
min_retries_per_sec = 1
retry_ratio = 0.0

[budgets.sent]
ttl = "10s"
min_retries_per_sec = 1
retry_ratio = 0.0

[budgets.one]
ttl = "10s"
min_retries_per_sec = 0
retry_ratio = 0.5
"#;

/// A service that is always down, counting the attempts that reach it.
#[retryable(policy = "backoff_100ms", budget = "dropped")]
async fn slow_to_retry(attempts: &AtomicU32) -> io::Result<()> {
    attempts.fetch_add(1, Ordering::SeqCst);
    Err(io::ErrorKind::ConnectionReset.into())
}

/// Issue 16, item 4: ten calls under a 50 ms deadline with a 100 ms backoff
/// each withdrew a token before sleeping, were dropped in the sleep, and
/// emptied a reserve of ten: the next caller got no retry.
#[tokio::test(start_paused = true)]
async fn a_call_dropped_during_its_backoff_spends_no_budget() {
    support::install_once(CONFIG);
    // Slot times on this test's clock.
    budget("dropped").expect("configured").reset();
    let attempts = AtomicU32::new(0);
    for _ in 0..10 {
        let deadline = tokio::time::timeout(Duration::from_millis(50), slow_to_retry(&attempts));
        assert!(deadline.await.is_err(), "dropped during the backoff");
    }
    assert_eq!(attempts.load(Ordering::SeqCst), 10, "no retry was sent");
    let reserve = budget("dropped").expect("configured").balance();
    assert!(
        (reserve - 10.0).abs() < 1e-9,
        "the reserve is intact: {reserve}"
    );

    // The next caller, with time to wait, gets its retry.
    let attempts = AtomicU32::new(0);
    assert!(slow_to_retry(&attempts).await.is_err());
    assert_eq!(attempts.load(Ordering::SeqCst), 2, "one retry");
}

/// When each retry reached the service, since the test's start.
static SENT: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

/// A down service that logs the time of every retry it receives.
async fn down(started: Instant, attempt: &AtomicU32) -> io::Result<()> {
    if attempt.fetch_add(1, Ordering::SeqCst) > 0 {
        SENT.lock().expect("log").push(started.elapsed());
    }
    Err(io::ErrorKind::ConnectionReset.into())
}

#[retryable(policy = "backoff_9s", budget = "sent")]
async fn late_retry(started: Instant, attempt: &AtomicU32) -> io::Result<()> {
    down(started, attempt).await
}

#[retryable(policy = "at_once", budget = "sent")]
async fn early_retry(started: Instant, attempt: &AtomicU32) -> io::Result<()> {
    down(started, attempt).await
}

/// Issue 16, item 5: twenty calls with a 9 s backoff decide at 0 s and retry
/// at 9 s; twenty with no backoff retry at 11 s. The budget (10 per 10 s)
/// counted the first twenty at 0 s, and forgot them by 11 s: 20 retries
/// reached the service within 2 s. Counted when sent, at most 10 do.
#[tokio::test(start_paused = true)]
async fn retries_sent_in_any_window_of_ttl_stay_within_the_bound() {
    support::install_once(CONFIG);
    budget("sent").expect("configured").reset();
    let started = Instant::now();
    let mut calls = JoinSet::new();
    for _ in 0..20 {
        calls.spawn(async move { late_retry(started, &AtomicU32::new(0)).await });
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    for _ in 0..20 {
        calls.spawn(async move { early_retry(started, &AtomicU32::new(0)).await });
    }
    while let Some(call) = calls.join_next().await {
        assert!(call.expect("no panic").is_err(), "the service is down");
    }
    let sent = SENT.lock().expect("log").clone();
    assert_eq!(sent.len(), 10, "retries sent: {sent:?}");
    let ttl = Duration::from_secs(10);
    for first in &sent {
        let in_window = sent
            .iter()
            .filter(|t| **t >= *first && **t < *first + ttl)
            .count();
        assert!(
            in_window <= 10,
            "{in_window} retries in the ttl from {first:?}"
        );
    }
}

#[retryable(policy = "backoff_100ms", budget = "one")]
async fn sharing_one_retry(attempts: &AtomicU32) -> io::Result<()> {
    let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    Err(io::Error::new(
        io::ErrorKind::ConnectionReset,
        format!("attempt {n}"),
    ))
}

/// An empty budget is a give-up that returns the last error: checked before
/// the sleep (no sleep when it is empty already), and again when the retry
/// is sent (a call whose token another call took while it slept gives up
/// then, without sending).
#[tokio::test(start_paused = true)]
async fn an_empty_budget_gives_up_with_the_last_error_before_or_after_the_sleep() {
    support::install_once(CONFIG);
    budget("one").expect("configured").reset();
    // Two first attempts deposit half a retry each: one retry in the budget.
    let (a, b) = (AtomicU32::new(0), AtomicU32::new(0));
    let start = Instant::now();
    let (first, second) = tokio::join!(sharing_one_retry(&a), sharing_one_retry(&b));
    // Both saw a retry in the budget and slept; one sent it, the other gave up.
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    let mut attempts = [a.load(Ordering::SeqCst), b.load(Ordering::SeqCst)];
    attempts.sort_unstable();
    assert_eq!(attempts, [1, 2]);
    for (error, n) in [
        (first, a.load(Ordering::SeqCst)),
        (second, b.load(Ordering::SeqCst)),
    ] {
        assert_eq!(error.expect_err("down").to_string(), format!("attempt {n}"));
    }

    // Now empty: the next call gives up at once, without sleeping.
    let c = AtomicU32::new(0);
    let start = Instant::now();
    let error = sharing_one_retry(&c).await.expect_err("down");
    assert_eq!(start.elapsed(), Duration::ZERO, "no backoff sleep");
    assert_eq!(error.to_string(), "attempt 1");
}
