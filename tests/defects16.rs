//! Regression tests for issue 16 (items 3, 7, 8 and 9): each test names the
//! item it reproduces. Paused clock where timing matters; races run many
//! rounds on several threads, bounded in time.

mod support;

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerState, ManualClock, breaker, breaker_for, retryable};

const CONFIG: &str = r#"
[policies.once]
max_attempts = 1

[breakers.evicting]
max_keys = 4

[breakers.churn]
window_size = 100
minimum_calls = 100
failure_rate_threshold = 1.0

[breakers.display-key]

[breakers.seam]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"

[breakers.long-keys]

[breakers.far]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"
"#;

fn setup() {
    support::install_once(CONFIG);
}

/// Stress loops stop after this long, or earlier when they have done their rounds.
const STRESS_FOR: Duration = Duration::from_secs(3);

/// Three threads running `round(thread, n)` for n = 0, 1, ... until stopped.
struct Background {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Background {
    fn start(round: fn(usize, u64)) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..3)
            .map(|t| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut n = 0_u64;
                    while !stop.load(Ordering::Relaxed) {
                        round(t, n);
                        n += 1;
                    }
                })
            })
            .collect();
        Background { stop, threads }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().expect("no panic in a background thread");
        }
    }
}

#[retryable(policy = "once", breaker = "evicting", breaker_key = key)]
fn keyed_call(key: &str) -> io::Result<()> {
    let _ = key;
    Ok(())
}

/// Item 3: `breaker_for(name, key).force_open()` while other threads make
/// new keys past `max_keys = 4`: every forced key must read back forced
/// open. Before the fix the instance could be evicted between the lookup
/// and the setting of the state, leaving the decision on an orphan.
#[test]
fn a_forced_key_is_never_lost_to_eviction() {
    setup();
    let makers = Background::start(|t, n| {
        keyed_call(&format!("new-{t}-{n}")).expect("closed instances admit");
    });
    let started = std::time::Instant::now();
    let mut lost = Vec::new();
    let mut rounds = 0;
    while rounds < 20_000 && started.elapsed() < STRESS_FOR {
        let key = format!("forced-{rounds}");
        let handle = breaker_for("evicting", &key).expect("a configured breaker");
        handle.force_open();
        if handle.state() != BreakerState::ForcedOpen {
            lost.push(key);
        }
        // Give the place back, so that the forced instances do not fill the table.
        handle.reset();
        rounds += 1;
    }
    makers.stop();
    assert!(rounds > 100, "too few rounds to mean anything: {rounds}");
    assert!(
        lost.is_empty(),
        "{} of {rounds} force_open calls were lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(3)]
    );
}

#[retryable(policy = "once", breaker = "churn")]
fn churn_call(fail: bool) -> io::Result<()> {
    if fail {
        Err(io::ErrorKind::ConnectionReset.into())
    } else {
        Ok(())
    }
}

/// Item 7: resetting a closed breaker while calls record outcomes must never
/// wrap its failure count (the issue read a failure rate of 2e18), and a
/// rate from a wrapped count must never open the breaker. Each thread fails
/// one call in four, so no window of 100 outcomes can be all failures: the
/// breaker (threshold 1.0) has no honest reason to open.
#[test]
fn reset_while_recording_never_wraps_the_counts() {
    setup();
    let churn = breaker("churn").expect("a configured breaker");
    let callers = Background::start(|_, n| {
        let _ = churn_call(n % 4 == 0);
    });
    let started = std::time::Instant::now();
    let mut worst = 0.0_f64;
    let mut opened = None;
    let mut resets = 0_u64;
    while resets < 1_000_000 && started.elapsed() < STRESS_FOR {
        churn.reset();
        resets += 1;
        let metrics = churn.metrics();
        worst = worst.max(metrics.failure_rate);
        if metrics.state != BreakerState::Closed {
            opened = Some(metrics);
            break;
        }
        if worst > 1.0 {
            break;
        }
    }
    callers.stop();
    assert!(
        worst <= 1.0,
        "a failure rate of {worst} after {resets} resets"
    );
    assert_eq!(opened, None, "the breaker opened after {resets} resets");
}

/// A key whose `Display` writes part of its text and then fails.
struct Failing(&'static str);

impl fmt::Display for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)?;
        Err(fmt::Error)
    }
}

static DISPLAY_CALLS: AtomicU64 = AtomicU64::new(0);

#[retryable(policy = "once", breaker = "display-key", breaker_key = key)]
fn display_key_call(key: &Failing) -> io::Result<()> {
    let _ = key;
    DISPLAY_CALLS.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Item 8: a `breaker_key` whose `Display` returns `Err` must not panic the
/// call; the key counts with the text it wrote, the same instance each time.
#[test]
fn a_key_whose_display_fails_counts_with_the_text_it_wrote() {
    setup();
    display_key_call(&Failing("half-written")).expect("the call runs");
    display_key_call(&Failing("half-written")).expect("the call runs");
    assert_eq!(DISPLAY_CALLS.load(Ordering::Relaxed), 2);
    let instance = breaker_for("display-key", "half-written").expect("a configured breaker");
    assert_eq!(
        instance.metrics().calls,
        2,
        "both calls on the key of the text written"
    );
    assert_eq!(instance.live_keys(), 1);
}

#[retryable(policy = "once", breaker = "seam")]
fn seam_call() -> io::Result<()> {
    Err(io::ErrorKind::ConnectionReset.into())
}

/// Item 9: a breaker opened on a thread whose `ManualClock` is an hour ahead
/// must recover after its `open_duration` on a thread of tokio's (paused)
/// clock: the seam moves one thread's time, not the breaker's for everyone.
#[tokio::test(start_paused = true)]
async fn a_manual_clock_on_one_thread_does_not_hold_a_breaker_open_for_others() {
    setup();
    std::thread::spawn(|| {
        let clock = ManualClock::start();
        clock.advance(Duration::from_secs(3600));
        let _ = seam_call();
        let _ = seam_call();
        assert_eq!(breaker("seam").unwrap().state(), BreakerState::Open);
        // On this thread, the breaker recovers after its own second.
        assert!(!breaker("seam").unwrap().admits());
        clock.advance(Duration::from_secs(1));
        assert!(breaker("seam").unwrap().admits());
    })
    .join()
    .expect("the manual thread's assertions hold");
    let seam = breaker("seam").unwrap();
    assert_eq!(seam.state(), BreakerState::Open);
    tokio::time::advance(Duration::from_millis(1300)).await;
    assert!(
        seam.admits(),
        "1.3 s after it opened, a breaker with open_duration 1 s admits a trial"
    );
}

#[retryable(policy = "once", breaker = "far")]
fn far_call() -> io::Result<()> {
    Err(io::ErrorKind::ConnectionReset.into())
}

/// Item 9: `advance(Duration::MAX)` must not make the next call panic with
/// an overflow; the clock stops at its limit and the breaker still works.
#[test]
fn advancing_a_manual_clock_by_the_maximum_does_not_overflow() {
    setup();
    let clock = ManualClock::start();
    clock.advance(Duration::MAX);
    let _ = far_call();
    let _ = far_call();
    assert_eq!(breaker("far").unwrap().state(), BreakerState::Open);
    clock.advance(Duration::MAX);
    assert!(clock.elapsed() > Duration::from_secs(50 * 365 * 24 * 3600));
    let _ = far_call();
}

#[retryable(policy = "once", breaker = "long-keys", breaker_key = key)]
fn long_key_call(key: &str) -> io::Result<()> {
    let _ = key;
    Ok(())
}

/// Issue 16: what a key may cost is bounded. A key of a megabyte is kept as
/// its first 256 bytes, `…#` and a digest (at most 292 bytes); two long keys
/// that share their start stay two instances, each found again by its key.
#[test]
fn a_long_key_is_stored_short_and_stays_distinct() {
    setup();
    let start = "k".repeat(300);
    let one = format!("{start}{}", "a".repeat(1 << 20));
    let two = format!("{start}{}", "b".repeat(1 << 20));
    long_key_call(&one).unwrap();
    long_key_call(&one).unwrap();
    long_key_call(&two).unwrap();
    let named = breaker("long-keys").unwrap();
    assert_eq!(named.live_keys(), 2);
    assert_eq!(breaker_for("long-keys", &one).unwrap().metrics().calls, 2);
    assert_eq!(breaker_for("long-keys", &two).unwrap().metrics().calls, 1);
    assert_eq!(named.live_keys(), 2, "the handles found the instances");
    let snapshot = retry_runtime::snapshot();
    let text = serde_json::to_string(&snapshot).unwrap();
    assert!(text.len() < 10_000, "no megabyte key in the snapshot");
    assert!(
        text.contains(&format!("{}…#", &start[..256])),
        "{}",
        &text[..text.len().min(2000)]
    );
}
