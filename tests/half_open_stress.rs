//! Issue 8, item 1: a half-open breaker never admits more than
//! `half_open_calls` trials at once, and no attempt starts while it is open.
//! 64 tasks on two threads, every call failing, for many rounds of
//! open → half-open → open. Real time, bounded: asserts invariants, not timings.

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerState, Config, breaker, install, retryable};
use tokio::time::Instant;

static IN_FLIGHT: AtomicU32 = AtomicU32::new(0);
static MAX_IN_FLIGHT: AtomicU32 = AtomicU32::new(0);
static STARTED: AtomicU64 = AtomicU64::new(0);
static STARTED_WHILE_OPEN: AtomicU64 = AtomicU64::new(0);

struct InFlight;

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

#[retryable(policy = "stress-once", breaker = "stress-trials")]
async fn always_fails() -> io::Result<()> {
    let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    let _in_flight = InFlight;
    MAX_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
    STARTED.fetch_add(1, Ordering::SeqCst);
    if breaker("stress-trials").map(|b| b.state()) == Some(BreakerState::Open) {
        STARTED_WHILE_OPEN.fetch_add(1, Ordering::SeqCst);
    }
    tokio::task::yield_now().await;
    Err(io::ErrorKind::ConnectionReset.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_never_admits_more_than_half_open_calls_nor_starts_while_open() {
    install(
        Config::from_toml_str(
            r#"
            [policies.stress-once]
            max_attempts = 1

            [breakers.stress-trials]
            window_size = 4
            minimum_calls = 4
            failure_rate_threshold = 0.5
            open_duration = "1ms"
            half_open_calls = 3
            max_half_open_wait = "none"
            "#,
        )
        .unwrap(),
    )
    .unwrap();
    let handle = breaker("stress-trials").unwrap();
    for _ in 0..4 {
        always_fails().await.unwrap_err();
    }
    assert_eq!(handle.state(), BreakerState::Open);
    // Every call fails from here on: the breaker never closes again, so every
    // admitted attempt is a half-open trial.
    MAX_IN_FLIGHT.store(0, Ordering::SeqCst);
    let before = STARTED.load(Ordering::SeqCst);

    for _round in 0..20 {
        let deadline = Instant::now() + Duration::from_millis(25);
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                tokio::spawn(async move {
                    while Instant::now() < deadline {
                        let _ = always_fails().await;
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }

    let max = MAX_IN_FLIGHT.load(Ordering::SeqCst);
    let trials = STARTED.load(Ordering::SeqCst) - before;
    assert!(
        trials > 3,
        "the breaker never went half-open ({trials} trials)"
    );
    assert!(
        max <= 3,
        "{max} trial calls ran at once (half_open_calls = 3)"
    );
    assert_eq!(
        STARTED_WHILE_OPEN.load(Ordering::SeqCst),
        0,
        "attempts started while the breaker was open"
    );
    assert_eq!(IN_FLIGHT.load(Ordering::SeqCst), 0);
}
