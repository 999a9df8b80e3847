//! Sync `#[retryable]` functions (issue 13): exact schedules through the
//! `ManualClock` seam, permanent errors, breakers and budgets shared with async
//! call sites in both directions, and `install` refusing an `attempt_timeout`
//! for a sync call site.

mod support;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerState, Config, InstallError, ManualClock, breaker, budget, retryable};

const CONFIG: &str = r#"
[policies.constant]
max_attempts = 4
backoff = "constant"
initial_delay = "100ms"
jitter = "none"

[policies.linear]
max_attempts = 4
backoff = "linear"
initial_delay = "100ms"
jitter = "none"

[policies.exponential]
max_attempts = 5
backoff = "exponential"
initial_delay = "100ms"
multiplier = 3.0
max_delay = "1s"
jitter = "none"

[policies.decorrelated]
max_attempts = 6
backoff = "decorrelated"
initial_delay = "100ms"
max_delay = "2s"
jitter = "none"

[policies.deadline]
max_attempts = 10
backoff = "constant"
initial_delay = "1s"
jitter = "none"
max_elapsed = "2500ms"

[policies.real-deadline]
max_attempts = 10
backoff = "constant"
initial_delay = "0s"
jitter = "none"
max_elapsed = "150ms"

[policies.sync-timeout-check]

[policies.once]
max_attempts = 1

[policies.twice]
max_attempts = 2
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[breakers.sync-slow]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 1.0
slow_call_duration = "200ms"
slow_call_rate_threshold = 0.5
open_duration = "1s"

[breakers.async-manual-slow]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 1.0
slow_call_duration = "200ms"
slow_call_rate_threshold = 0.5
open_duration = "1s"

[breakers.shared-a]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "5s"

[breakers.shared-b]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "5s"

[breakers.shared-keyed]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "5s"

[budgets.shared]
ttl = "10s"
min_retries_per_sec = 0
retry_ratio = 0.5
"#;

fn setup() {
    support::install_once(CONFIG);
}

fn down(runs: &AtomicU32) -> io::Result<u32> {
    runs.fetch_add(1, Ordering::SeqCst);
    Err(io::ErrorKind::ConnectionReset.into())
}

macro_rules! sync_sites {
    ($($name:ident: $policy:literal;)*) => {$(
        #[retryable(policy = $policy)]
        fn $name(runs: &AtomicU32) -> io::Result<u32> {
            down(runs)
        }
    )*};
}

sync_sites! {
    constant: "constant";
    linear: "linear";
    exponential: "exponential";
    decorrelated: "decorrelated";
    deadline: "deadline";
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn each_backoff_kind_sleeps_its_exact_schedule() {
    setup();
    for (f, expected) in [
        (
            constant as fn(&AtomicU32) -> io::Result<u32>,
            vec![ms(100); 3],
        ),
        (linear, vec![ms(100), ms(200), ms(300)]),
        (exponential, vec![ms(100), ms(300), ms(900), ms(1000)]),
    ] {
        let clock = ManualClock::start();
        let runs = AtomicU32::new(0);
        assert!(f(&runs).is_err());
        assert_eq!(clock.sleeps(), expected);
        assert_eq!(clock.elapsed(), expected.iter().sum::<Duration>());
        assert_eq!(runs.load(Ordering::SeqCst) as usize, expected.len() + 1);
    }
    // Decorrelated: each delay in [initial, 3 · previous], capped at max_delay.
    let clock = ManualClock::start();
    let runs = AtomicU32::new(0);
    assert!(decorrelated(&runs).is_err());
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 5);
    let mut previous = ms(100);
    for d in sleeps {
        assert!(
            d >= ms(100) && d <= (previous * 3).min(Duration::from_secs(2)),
            "{d:?}"
        );
        previous = d;
    }
}

#[test]
fn the_deadline_applies_to_sync_calls() {
    setup();
    let clock = ManualClock::start();
    let runs = AtomicU32::new(0);
    assert!(deadline(&runs).is_err());
    // Sleeps end at 1 s and 2 s; a third would end at 3 s, past 2.5 s.
    assert_eq!(clock.sleeps(), vec![ms(1000); 2]);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[retryable(policy = "constant")]
fn not_found(runs: &AtomicU32) -> io::Result<u32> {
    runs.fetch_add(1, Ordering::SeqCst);
    Err(io::ErrorKind::NotFound.into())
}

#[test]
fn permanent_errors_are_not_retried() {
    setup();
    let clock = ManualClock::start();
    let runs = AtomicU32::new(0);
    assert_eq!(
        not_found(&runs).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(clock.sleeps().is_empty());
}

// Shapes: `&self`, `&mut self` with `idempotent`, generics, by-value `Clone`.
struct Store {
    writes: u32,
}

impl Store {
    #[retryable(policy = "twice")]
    fn read(&self, key: &str) -> io::Result<String> {
        Ok(format!("{key}:{}", self.writes))
    }

    #[retryable(policy = "twice", idempotent)]
    fn write(&mut self, value: Vec<u8>) -> io::Result<usize> {
        self.writes += 1;
        if self.writes < 2 {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(value.len())
    }
}

#[retryable(policy = "twice")]
fn parse<T: std::str::FromStr>(text: String) -> io::Result<T> {
    text.parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not a number"))
}

#[test]
fn methods_generics_and_by_value_arguments() {
    setup();
    let _clock = ManualClock::start();
    let mut store = Store { writes: 0 };
    assert_eq!(store.write(vec![1, 2, 3]).unwrap(), 3);
    assert_eq!(store.writes, 2, "retried once");
    assert_eq!(store.read("k").unwrap(), "k:2");
    assert_eq!(parse::<u16>("42".to_owned()).unwrap(), 42);
    assert_eq!(
        parse::<u16>("x".to_owned()).unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );
}

// Breakers and budgets are shared by name between sync and async call sites.

#[retryable(policy = "once", breaker = "shared-a")]
fn sync_a(runs: &AtomicU32) -> io::Result<u32> {
    down(runs)
}

#[retryable(policy = "once", breaker = "shared-a")]
async fn async_a(runs: &AtomicU32) -> io::Result<u32> {
    down(runs)
}

#[retryable(policy = "once", breaker = "shared-b")]
fn sync_b(runs: &AtomicU32) -> io::Result<u32> {
    down(runs)
}

#[retryable(policy = "once", breaker = "shared-b")]
async fn async_b(runs: &AtomicU32) -> io::Result<u32> {
    down(runs)
}

fn breaker_open(error: &io::Error) -> bool {
    matches!(
        error
            .get_ref()
            .and_then(|e| e.downcast_ref::<retry_runtime::Rejected>()),
        Some(retry_runtime::Rejected::BreakerOpen { .. })
    )
}

#[test]
fn a_breaker_tripped_by_sync_calls_rejects_async_calls() {
    setup();
    let runs = AtomicU32::new(0);
    assert!(!breaker_open(&sync_a(&runs).unwrap_err()));
    assert!(!breaker_open(&sync_a(&runs).unwrap_err()));
    assert_eq!(breaker("shared-a").unwrap().state(), BreakerState::Open);
    support::paused_runtime().block_on(async {
        assert!(breaker_open(&async_a(&runs).await.unwrap_err()));
    });
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[test]
fn a_breaker_tripped_by_async_calls_rejects_sync_calls_until_open_duration_passes() {
    setup();
    let runs = AtomicU32::new(0);
    support::paused_runtime().block_on(async {
        async_b(&runs).await.unwrap_err();
        async_b(&runs).await.unwrap_err();
    });
    assert_eq!(breaker("shared-b").unwrap().state(), BreakerState::Open);
    let clock = ManualClock::start();
    assert!(breaker_open(&sync_b(&runs).unwrap_err()));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // The sync seam's clock drives the breaker too: 5 s later a trial goes through.
    clock.advance(Duration::from_secs(5));
    assert!(!breaker_open(&sync_b(&runs).unwrap_err()));
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[retryable(policy = "twice", budget = "shared")]
fn sync_spend(runs: &AtomicU32) -> io::Result<u32> {
    down(runs)
}

#[retryable(policy = "twice", budget = "shared")]
async fn async_spend(runs: &AtomicU32) -> io::Result<u32> {
    down(runs)
}

#[test]
fn budgets_are_shared_between_sync_and_async_call_sites() {
    setup();
    let _clock = ManualClock::start();
    let shared = budget("shared").unwrap();
    let runs = AtomicU32::new(0);
    // No reserve, half a retry per call: two calls pay for one retry.
    sync_spend(&runs).unwrap_err(); // deposit 0.5: no retry
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    support::paused_runtime().block_on(async {
        async_spend(&runs).await.unwrap_err(); // deposit → 1.0: one retry
    });
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert!(shared.balance() < 1.0);
    sync_spend(&runs).unwrap_err(); // 0.5: no retry
    assert_eq!(runs.load(Ordering::SeqCst), 4);
    assert_eq!(shared.exhausted(), 2);
}

// install refuses an attempt_timeout for a sync call site.

#[retryable(policy = "sync-timeout-check")]
fn guarded_by_policy() -> io::Result<()> {
    Ok(())
}

#[test]
fn install_refuses_an_attempt_timeout_for_a_sync_call_site() {
    setup();
    let before = retry_runtime::current_config();
    let with_timeout = CONFIG.replace(
        "[policies.sync-timeout-check]\n",
        "[policies.sync-timeout-check]\nattempt_timeout = \"2s\"\n",
    );
    let config = Config::from_toml_str(&format!(
        "{with_timeout}\n{}",
        support::UNLIMITED_DEFAULT_BUDGET
    ))
    .unwrap();
    let error = retry_runtime::install(config).unwrap_err();
    let InstallError::SyncAttemptTimeout { sites } = &error else {
        panic!("{error}");
    };
    assert_eq!(sites.len(), 1);
    assert!(sites[0].site.name().ends_with("::guarded_by_policy"));
    let text = error.to_string();
    for needle in [
        "guarded_by_policy",
        "tests/sync_calls.rs:",
        "policy `sync-timeout-check`",
        "policies.sync-timeout-check.attempt_timeout",
        "the running one stays in force",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
    assert_eq!(
        retry_runtime::current_config(),
        before,
        "the running config stays"
    );
    assert!(guarded_by_policy().is_ok());
}

/// Issue 16: one pass, every problem. A config that leaves a name undefined
/// and sets a sync site's attempt_timeout is refused with both problems at
/// once, not the second only after the first is fixed.
#[test]
fn install_reports_undefined_names_and_sync_timeouts_together() {
    setup();
    let broken = CONFIG
        .replace(
            "[policies.sync-timeout-check]\n",
            "[policies.sync-timeout-check]\nattempt_timeout = \"2s\"\n",
        )
        .replace("[breakers.shared-a]", "[breakers.renamed-a]");
    let config =
        Config::from_toml_str(&format!("{broken}\n{}", support::UNLIMITED_DEFAULT_BUDGET)).unwrap();
    let error = retry_runtime::install(config).unwrap_err();
    let InstallError::Several(errors) = &error else {
        panic!("expected both problems, got: {error}");
    };
    assert!(
        matches!(&errors[..], [InstallError::UndefinedNames { missing }, InstallError::SyncAttemptTimeout { sites }]
            if missing.len() == 1 && missing[0].name == "shared-a" && sites.len() == 1),
        "{error:?}"
    );
    let text = error.to_string();
    for needle in [
        "breaker `shared-a`",
        "policies.sync-timeout-check.attempt_timeout",
        "the running one stays in force",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
    assert_eq!(
        text.matches("the running one stays in force").count(),
        1,
        "one header: {text}"
    );
}

// Keys and fallbacks work for sync functions too.

fn cached(runs: &AtomicU32, error: io::Error) -> io::Result<u32> {
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    Ok(runs.load(Ordering::SeqCst) + 100)
}

#[retryable(policy = "twice", fallback = cached)]
fn with_fallback(runs: &AtomicU32) -> io::Result<u32> {
    down(runs)
}

#[retryable(policy = "once", breaker = "shared-keyed", breaker_key = host)]
fn keyed(host: &str, runs: &AtomicU32) -> io::Result<u32> {
    down(runs)
}

#[test]
fn a_sync_fallback_replaces_the_final_error() {
    setup();
    let clock = ManualClock::start();
    let runs = AtomicU32::new(0);
    assert_eq!(
        with_fallback(&runs).unwrap(),
        102,
        "two attempts, then the fallback"
    );
    assert_eq!(clock.sleeps(), vec![ms(10)]);
}

#[test]
fn sync_calls_use_keyed_breakers() {
    setup();
    let runs = AtomicU32::new(0);
    keyed("a", &runs).unwrap_err();
    keyed("a", &runs).unwrap_err();
    let a = retry_runtime::breaker_for("shared-keyed", "a").unwrap();
    assert_eq!(a.state(), BreakerState::Open);
    assert!(breaker_open(&keyed("a", &runs).unwrap_err()));
    assert!(
        !breaker_open(&keyed("b", &runs).unwrap_err()),
        "another key is closed"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

/// A sync attempt that takes `took` on the thread's `ManualClock`.
#[retryable(policy = "once", breaker = "sync-slow")]
fn takes(clock: &ManualClock, took: Duration) -> io::Result<()> {
    clock.advance(took);
    Ok(())
}

/// The slow-call rule on the `ManualClock`: an attempt that takes
/// `slow_call_duration` is slow, one that takes half of it is not, and 2 slow
/// calls of 4 (rate 0.5) open the breaker. (The manual clock runs on top of
/// real time, which only adds the microseconds between the two reads: hence
/// half, not a nanosecond less. `clock::now` skips the offset's addition when
/// the offset is zero, and must still add it here.)
#[test]
fn sync_slow_calls_are_timed_on_the_manual_clock_exactly() {
    setup();
    let clock = ManualClock::start();
    let slow = breaker("sync-slow").expect("a configured breaker");
    takes(&clock, ms(100)).unwrap();
    takes(&clock, Duration::ZERO).unwrap();
    takes(&clock, ms(200)).unwrap();
    assert_eq!(slow.metrics().slow_calls, 1);
    assert_eq!(slow.state(), BreakerState::Closed, "below minimum_calls");
    takes(&clock, ms(5000)).unwrap(); // 2 slow of 4: 0.5
    assert_eq!(slow.metrics().slow_calls, 2);
    assert_eq!(slow.state(), BreakerState::Open);
}

/// An async attempt that takes `took` on the thread's `ManualClock`, in its
/// first poll, without ever waiting.
#[retryable(policy = "once", breaker = "async-manual-slow")]
async fn takes_async(clock: &ManualClock, took: Duration) -> io::Result<()> {
    clock.advance(took);
    Ok(())
}

/// Async attempts are timed from their first wait, so that one that answers
/// at once reads no clock; but a `ManualClock` moves time without a wait, so
/// while one lives they are timed from their start, and the slow-call rule is
/// as exact for them as for sync attempts.
#[test]
fn async_attempts_are_timed_from_their_start_under_a_manual_clock() {
    setup();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let clock = ManualClock::start();
    let slow = breaker("async-manual-slow").expect("a configured breaker");
    runtime.block_on(async {
        takes_async(&clock, ms(100)).await.unwrap();
        takes_async(&clock, Duration::ZERO).await.unwrap();
        takes_async(&clock, ms(200)).await.unwrap();
        assert_eq!(slow.metrics().slow_calls, 1);
        takes_async(&clock, ms(5000)).await.unwrap(); // 2 slow of 4: 0.5
    });
    assert_eq!(slow.metrics().slow_calls, 2);
    assert_eq!(slow.state(), BreakerState::Open);
}

/// A sync attempt that blocks its thread 100 ms, on real time, then fails.
#[retryable(policy = "real-deadline")]
fn blocks_then_fails(runs: &AtomicU32) -> io::Result<()> {
    runs.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(ms(100));
    Err(io::ErrorKind::TimedOut.into())
}

/// A sync call's deadline clock starts as the call does (an async call's
/// starts at its first wait, which a blocking attempt never makes): after
/// two 100 ms attempts 200 ms have passed, past `max_elapsed = "150ms"`, so
/// there is no third (a clock started at the first failure would allow one).
/// Real time: the first attempt may overrun its sleep by up to 50 ms before
/// the second would not start.
#[test]
fn a_sync_call_deadline_counts_its_first_attempt() {
    setup();
    let runs = AtomicU32::new(0);
    blocks_then_fails(&runs).unwrap_err();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}
