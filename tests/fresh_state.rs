//! Issue 8, item 6: breakers and budgets are global, and a paused clock is each
//! runtime's own. `reset_state()` gives the next test fresh state on its own
//! clock. Two paused runtimes in one test, one after the other, as two
//! `#[tokio::test(start_paused = true)]` tests of one binary would be.

mod support;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerState, breaker, budget, reset_state, retryable};
use tokio::time::advance;

static RUNS: AtomicU32 = AtomicU32::new(0);
static FAIL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

#[retryable(policy = "fresh", breaker = "rt", budget = "rt")]
async fn call() -> io::Result<()> {
    RUNS.fetch_add(1, Ordering::SeqCst);
    if FAIL.load(Ordering::SeqCst) {
        Err(io::ErrorKind::ConnectionReset.into())
    } else {
        Ok(())
    }
}

#[test]
fn reset_state_gives_each_paused_runtime_fresh_breakers_and_budgets() {
    support::install_once(
        r#"
            [policies.fresh]
            max_attempts = 2
            backoff = "constant"
            initial_delay = "10ms"
            jitter = "none"

            [breakers.rt]
            window_size = 4
            minimum_calls = 4
            failure_rate_threshold = 1.0
            open_duration = "1h"
            half_open_calls = 1

            [budgets.rt]
            ttl = "10s"
            min_retries_per_sec = 0
            retry_ratio = 0.5
            "#,
    );

    // The first "test": a day into its clock, it opens the breaker and spends the budget.
    support::paused_runtime().block_on(async {
        advance(Duration::from_secs(86_400)).await;
        for _ in 0..3 {
            let _ = call().await;
        }
        assert_eq!(breaker("rt").unwrap().state(), BreakerState::Open);
        assert!(budget("rt").unwrap().exhausted() > 0);
    });

    // The second: an hour into its own clock (which started a day behind the
    // first's), the breaker is still open. This is what resetting is for.
    support::paused_runtime().block_on(async {
        advance(Duration::from_secs(3600)).await;
        assert_eq!(breaker("rt").unwrap().state(), BreakerState::Open);
        assert!(call().await.is_err());
    });

    // The same second test, resetting first: everything is fresh.
    support::paused_runtime().block_on(async {
        reset_state();
        let rt = breaker("rt").unwrap();
        assert_eq!(rt.state(), BreakerState::Closed);
        assert_eq!(rt.metrics().calls, 0);
        let rtb = budget("rt").unwrap();
        assert_eq!(rtb.exhausted(), 0);
        assert_eq!(rtb.balance(), 0.0);

        FAIL.store(false, Ordering::SeqCst);
        RUNS.store(0, Ordering::SeqCst);
        call().await.unwrap();
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
        assert!((rtb.balance() - 0.5).abs() < 1e-9, "{}", rtb.balance());

        // And the fresh breaker runs on this runtime's clock: opened now, it
        // admits a trial exactly open_duration later.
        FAIL.store(true, Ordering::SeqCst);
        for _ in 0..4 {
            let _ = call().await;
        }
        assert_eq!(rt.state(), BreakerState::Open);
        advance(Duration::from_secs(3599)).await;
        assert!(call().await.is_err());
        assert_eq!(rt.state(), BreakerState::Open);
        advance(Duration::from_secs(1)).await;
        FAIL.store(false, Ordering::SeqCst);
        call().await.unwrap();
        assert_eq!(rt.state(), BreakerState::Closed);
    });
}
