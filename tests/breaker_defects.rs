//! Regression tests for issue 8: the runtime under attack. Each test names the
//! item it reproduces. Paused clock where timing matters.

mod support;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerState, Class, Classify, Rejected, breaker, retryable};
use tokio::time::{Instant, advance, sleep};

const CONFIG: &str = r#"
[policies.once]
max_attempts = 1

[policies.slow-retry]
max_attempts = 3
backoff = "constant"
initial_delay = "1s"
jitter = "none"

[policies.timeout-then-backoff]
max_attempts = 2
backoff = "constant"
initial_delay = "1s"
jitter = "none"
attempt_timeout = "10ms"

[breakers.hung]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"
half_open_calls = 1
max_half_open_wait = "10s"

[breakers.trip]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "30s"

[breakers.forced]

[breakers.throttled]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5

[breakers.throttled-fails]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5
retry_after_is_failure = true
"#;

fn setup() {
    support::install_once(CONFIG);
}

// ---------------------------------------------------------------------------
// Item 2: a half-open breaker whose trials hang opens again after
// `max_half_open_wait`, and recovers.
// ---------------------------------------------------------------------------

static HANG: AtomicBool = AtomicBool::new(false);

#[retryable(policy = "once", breaker = "hung")]
async fn behind_hung() -> io::Result<()> {
    if HANG.load(Ordering::SeqCst) {
        sleep(Duration::from_secs(86_400 * 365)).await;
    }
    Err(io::ErrorKind::ConnectionRefused.into())
}

#[retryable(policy = "once", breaker = "hung")]
async fn healthy_behind_hung() -> io::Result<()> {
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn hung_half_open_trials_reopen_the_breaker_after_max_half_open_wait() {
    setup();
    let handle = breaker("hung").unwrap();
    behind_hung().await.unwrap_err();
    behind_hung().await.unwrap_err();
    assert_eq!(handle.state(), BreakerState::Open);

    advance(Duration::from_secs(1)).await;
    HANG.store(true, Ordering::SeqCst);
    let hung = tokio::spawn(behind_hung());
    tokio::task::yield_now().await;
    assert_eq!(handle.state(), BreakerState::HalfOpen, "the trial hangs");
    // Its place is taken: other calls are refused while it hangs...
    advance(Duration::from_millis(9_999)).await;
    assert!(healthy_behind_hung().await.is_err());
    assert_eq!(handle.state(), BreakerState::HalfOpen);
    // ...but not for ever: past max_half_open_wait the breaker opens again,
    advance(Duration::from_millis(1)).await;
    assert!(healthy_behind_hung().await.is_err());
    assert_eq!(handle.state(), BreakerState::Open);
    // and after open_duration a new trial is admitted, which closes it.
    advance(Duration::from_secs(1)).await;
    healthy_behind_hung().await.unwrap();
    assert_eq!(handle.state(), BreakerState::Closed);
    hung.abort();
}

// ---------------------------------------------------------------------------
// Item 3: a timed-out attempt is dropped before the backoff sleep.
// ---------------------------------------------------------------------------

#[retryable(policy = "timeout-then-backoff")]
async fn holds_the_lock(lock: &tokio::sync::Mutex<()>, dropped_at: &AtomicU64) -> io::Result<()> {
    struct Held<'a>(&'a AtomicU64, Instant);
    impl Drop for Held<'_> {
        fn drop(&mut self) {
            let held = u64::try_from(self.1.elapsed().as_millis()).unwrap();
            self.0.store(held, Ordering::SeqCst);
        }
    }
    let _guard = lock.lock().await;
    let _held = Held(dropped_at, Instant::now());
    sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_attempt_releases_what_it_holds_before_the_backoff() {
    setup();
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    let dropped_at = Arc::new(AtomicU64::new(u64::MAX));
    let call = {
        let (lock, dropped_at) = (lock.clone(), dropped_at.clone());
        tokio::spawn(async move { holds_the_lock(&lock, &dropped_at).await })
    };
    let start = Instant::now();
    tokio::task::yield_now().await; // attempt 1 starts, takes the lock
    assert!(lock.try_lock().is_err());
    // Attempt 1 times out at 10 ms; the backoff sleep runs until 1.01 s.
    advance(Duration::from_millis(10)).await;
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        dropped_at.load(Ordering::SeqCst),
        10,
        "the attempt was not dropped when it timed out"
    );
    assert!(
        lock.try_lock().is_ok(),
        "the lock is still held during the backoff"
    );
    let error = call.await.unwrap().unwrap_err();
    assert!(matches!(
        error.get_ref().and_then(|e| e.downcast_ref::<Rejected>()),
        Some(Rejected::AttemptTimeout { attempt: 2, .. })
    ));
    assert_eq!(start.elapsed(), Duration::from_millis(1020));
}

// ---------------------------------------------------------------------------
// Item 4: calls refused by an open breaker take part in tokio's cooperative
// scheduling, so a loop of them cannot starve the runtime.
// ---------------------------------------------------------------------------

#[retryable(policy = "once", breaker = "forced")]
async fn refused() -> io::Result<()> {
    Ok(())
}

#[test]
fn refused_calls_yield_to_the_runtime() {
    setup();
    breaker("forced").unwrap().force_open();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let other_task_ran = runtime.block_on(async {
            let ticks = Arc::new(AtomicU32::new(0));
            let ticker = {
                let ticks = ticks.clone();
                tokio::spawn(async move {
                    loop {
                        ticks.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                    }
                })
            };
            let refusals = tokio::time::timeout(Duration::from_millis(50), async {
                loop {
                    assert!(refused().await.is_err());
                }
            })
            .await;
            assert!(refusals.is_err(), "the timeout fired");
            ticker.abort();
            ticks.load(Ordering::SeqCst) > 0
        });
        let _ = done.send(other_task_ran);
    });
    let other_task_ran = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("a loop of refused calls starved its runtime: the timeout never fired");
    assert!(other_task_ran, "another task never got a turn");
}

// ---------------------------------------------------------------------------
// Item 5: the failure that opens the breaker ends the call at once, with no
// pointless backoff sleep before a refusal.
// ---------------------------------------------------------------------------

#[retryable(policy = "slow-retry", breaker = "trip")]
async fn trips(runs: &AtomicU32) -> io::Result<()> {
    runs.fetch_add(1, Ordering::SeqCst);
    Err(io::ErrorKind::ConnectionReset.into())
}

#[tokio::test(start_paused = true)]
async fn the_failure_that_opens_the_breaker_gives_up_without_sleeping() {
    setup();
    let runs = AtomicU32::new(0);
    let start = Instant::now();
    let error = trips(&runs).await.unwrap_err();
    assert_eq!(
        error.kind(),
        io::ErrorKind::ConnectionReset,
        "the last real error"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(breaker("trip").unwrap().state(), BreakerState::Open);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(1),
        "one backoff between the two attempts, none after the one that tripped"
    );
}

// ---------------------------------------------------------------------------
// Item 8: a service that asks us to slow down (`RetryAfter`) is alive: by
// default it does not count as a breaker failure; `retry_after_is_failure`
// makes it count.
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum Api {
    Throttled,
    Refused,
}

impl Classify for Api {
    fn classify(&self) -> Class {
        match self {
            Api::Throttled => Class::RetryAfter(Duration::from_millis(100)),
            Api::Refused => Class::Permanent,
        }
    }
}

impl From<Rejected> for Api {
    fn from(_: Rejected) -> Self {
        Api::Refused
    }
}

#[retryable(policy = "once", breaker = "throttled")]
async fn throttled() -> Result<(), Api> {
    Err(Api::Throttled)
}

#[retryable(policy = "once", breaker = "throttled-fails")]
async fn throttled_counted() -> Result<(), Api> {
    Err(Api::Throttled)
}

#[tokio::test(start_paused = true)]
async fn throttling_alone_does_not_open_a_breaker_unless_configured() {
    setup();
    for _ in 0..20 {
        assert!(matches!(throttled().await, Err(Api::Throttled)));
    }
    let handle = breaker("throttled").unwrap();
    assert_eq!(handle.state(), BreakerState::Closed);
    assert_eq!(handle.metrics().failures, 0);
    assert_eq!(handle.metrics().calls, 20);

    for _ in 0..4 {
        let _ = throttled_counted().await;
    }
    assert_eq!(
        breaker("throttled-fails").unwrap().state(),
        BreakerState::Open
    );
}
