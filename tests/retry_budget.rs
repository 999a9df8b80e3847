//! Retry budgets on tokio's paused clock: the Finagle bound on amplification,
//! a zero budget, the last error on exhaustion, and the handle's balance.

mod support;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{budget, call_sites, retryable};

const CONFIG: &str = r#"
[policies.five]
max_attempts = 5
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[budgets.sequential]
ttl = "10s"
min_retries_per_sec = 1
retry_ratio = 0.1

[budgets.concurrent]
ttl = "10s"
min_retries_per_sec = 1
retry_ratio = 0.1

[budgets.zero]
ttl = "10s"
min_retries_per_sec = 0
retry_ratio = 0.0

[budgets.small]
ttl = "10s"
min_retries_per_sec = 0
retry_ratio = 0.5

[budgets.watched]
ttl = "10s"
min_retries_per_sec = 2
retry_ratio = 0.25
"#;

macro_rules! down {
    ($($name:ident: $budget:literal;)*) => {$(
        /// A service that is always down; counts the attempts that reach it.
        #[retryable(policy = "five", budget = $budget)]
        async fn $name(attempts: &AtomicU32) -> io::Result<()> {
            let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            Err(io::Error::new(io::ErrorKind::ConnectionReset, format!("attempt {n}")))
        }
    )*};
}

down! {
    sequential: "sequential";
    concurrent: "concurrent";
    zero: "zero";
    small: "small";
}

#[retryable(policy = "five", budget = "watched")]
async fn watched(fail: bool) -> io::Result<()> {
    if fail {
        Err(io::ErrorKind::ConnectionReset.into())
    } else {
        Ok(())
    }
}

#[retryable(policy = "five")]
async fn unnamed() -> io::Result<()> {
    Ok(())
}

/// Retries ≤ reserve (1/s × 10 s) + 10% of 1,000 first attempts.
const BOUND: u32 = 1_000 + 100 + 10;

#[tokio::test(start_paused = true)]
async fn a_thousand_sequential_calls_to_a_dead_service_stay_within_the_budget() {
    support::install_once(CONFIG);
    let attempts = AtomicU32::new(0);
    for _ in 0..1_000 {
        sequential(&attempts).await.unwrap_err();
    }
    let total = attempts.load(Ordering::SeqCst);
    eprintln!("{total} attempts for 1,000 calls");
    assert!(total > 1_000, "no retry at all: {total}");
    assert!(total <= BOUND, "{total} attempts, more than {BOUND}");
    // Without the budget: 5,000.
    assert!(budget("sequential").unwrap().exhausted() > 0);
}

#[tokio::test(start_paused = true)]
async fn a_thousand_concurrent_calls_to_a_dead_service_stay_within_the_budget() {
    support::install_once(CONFIG);
    let attempts: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(0)));
    let tasks: Vec<_> = (0..1_000)
        .map(|_| tokio::spawn(concurrent(attempts)))
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap_err();
    }
    let total = attempts.load(Ordering::SeqCst);
    eprintln!("{total} attempts for 1,000 calls");
    assert!(total > 1_000, "no retry at all: {total}");
    assert!(total <= BOUND, "{total} attempts, more than {BOUND}");
}

#[tokio::test(start_paused = true)]
async fn a_zero_budget_allows_no_retry() {
    support::install_once(CONFIG);
    let attempts = AtomicU32::new(0);
    for _ in 0..100 {
        zero(&attempts).await.unwrap_err();
    }
    assert_eq!(attempts.load(Ordering::SeqCst), 100);
    assert_eq!(budget("zero").unwrap().exhausted(), 100);
}

#[tokio::test(start_paused = true)]
async fn an_empty_budget_returns_the_last_error() {
    support::install_once(CONFIG);
    let attempts = AtomicU32::new(0);
    // One deposit of 0.5: no whole retry. Second call: 1.0, one retry, then empty.
    let first = small(&attempts).await.unwrap_err();
    assert_eq!(first.to_string(), "attempt 1");
    let second = small(&attempts).await.unwrap_err();
    assert_eq!(
        second.to_string(),
        "attempt 3",
        "the last error, from the retry"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn the_handle_shows_the_balance() {
    support::install_once(CONFIG);
    let handle = budget("watched").unwrap();
    assert_eq!(handle.balance(), 20.0, "the reserve: 2/s × 10 s");
    for _ in 0..8 {
        watched(false).await.unwrap();
    }
    assert_eq!(handle.balance(), 22.0, "+ 0.25 × 8 first attempts");
    watched(true).await.unwrap_err(); // deposit 0.25, then 4 retries
    assert_eq!(handle.balance(), 18.25);
    assert_eq!(handle.exhausted(), 0);
    // Deposits and withdrawals leave the window after ttl.
    tokio::time::advance(Duration::from_secs(11)).await;
    assert_eq!(handle.balance(), 20.0);
}

#[test]
fn call_sites_without_a_budget_use_default() {
    let site = call_sites()
        .iter()
        .find(|s| s.name().ends_with("::unnamed"))
        .unwrap();
    assert_eq!(site.budget(), "default");
    assert!(budget("default").is_some());
    assert!(budget("no-such-budget").is_none());
    drop(unnamed());
}
