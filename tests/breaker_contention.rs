//! Many tasks on two threads hammering one breaker: half-open never admits more
//! than `half_open_calls` at once, and no permit leaks, even when calls are
//! cancelled mid-attempt. Real time, bounded to well under two seconds.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerState, Config, breaker, install, retryable};
use tokio::time::{Instant, sleep, timeout};

static IN_FLIGHT: AtomicU32 = AtomicU32::new(0);
static MAX_IN_FLIGHT: AtomicU32 = AtomicU32::new(0);
static ADMITTED: AtomicU32 = AtomicU32::new(0);
static HEALTHY: AtomicBool = AtomicBool::new(false);

/// Counts an attempt as in flight until it ends, cancelled or not.
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
        MAX_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

#[retryable(policy = "stress", breaker = "stress")]
async fn trial() -> io::Result<()> {
    ADMITTED.fetch_add(1, Ordering::SeqCst);
    let in_flight = InFlight::enter();
    sleep(Duration::from_millis(2)).await;
    drop(in_flight);
    if HEALTHY.load(Ordering::SeqCst) {
        Ok(())
    } else {
        Err(io::ErrorKind::ConnectionReset.into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_admits_at_most_half_open_calls_and_leaks_no_permit() {
    install(
        Config::from_toml_str(
            r#"
            [policies.stress]
            max_attempts = 1

            [breakers.stress]
            window_size = 4
            minimum_calls = 4
            failure_rate_threshold = 0.5
            open_duration = "20ms"
            half_open_calls = 3
            "#,
        )
        .unwrap(),
    )
    .unwrap();
    let handle = breaker("stress").unwrap();
    for _ in 0..4 {
        trial().await.unwrap_err();
    }
    assert_eq!(handle.state(), BreakerState::Open);
    MAX_IN_FLIGHT.store(0, Ordering::SeqCst);

    // 32 tasks for 400 ms: every admission goes through half-open (the trials fail,
    // so it reopens each time); a third of the calls are cancelled mid-attempt.
    let deadline = Instant::now() + Duration::from_millis(400);
    let tasks: Vec<_> = (0..32)
        .map(|task| {
            tokio::spawn(async move {
                let mut calls = 0u32;
                while Instant::now() < deadline {
                    calls += 1;
                    if (task + calls).is_multiple_of(3) {
                        let _ = timeout(Duration::from_millis(1), trial()).await;
                    } else {
                        let _ = trial().await;
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let max = MAX_IN_FLIGHT.load(Ordering::SeqCst);
    assert!(max <= 3, "{max} trial calls ran at once");
    assert!(
        ADMITTED.load(Ordering::SeqCst) > 4 + 3,
        "the breaker never went half-open"
    );
    assert_eq!(IN_FLIGHT.load(Ordering::SeqCst), 0);

    // No permit leaked: once healthy, three trials get through and close it.
    HEALTHY.store(true, Ordering::SeqCst);
    let closed_by = Instant::now() + Duration::from_secs(1);
    while handle.state() != BreakerState::Closed {
        assert!(
            Instant::now() < closed_by,
            "the breaker never closed: {:?}",
            handle.metrics()
        );
        let _ = trial().await;
        sleep(Duration::from_millis(5)).await;
    }
    trial().await.unwrap();
}
