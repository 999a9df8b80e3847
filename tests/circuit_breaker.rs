//! Circuit breakers on tokio's paused clock: thresholds, rejection, half-open
//! trials, slow calls, time windows, manual control, shared breakers, and
//! permits released by cancelled and panicking calls.

mod support;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerHandle, BreakerState, Rejected, breaker, retryable};
use tokio::time::{advance, sleep};

const CONFIG: &str = r#"
[policies.once]
max_attempts = 1

[policies.twice]
max_attempts = 2
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[breakers.threshold]
window_size = 10
minimum_calls = 5
failure_rate_threshold = 0.6
open_duration = "1s"
half_open_calls = 2

[breakers.reject]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"

[breakers.concurrent]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5
open_duration = "1s"
half_open_calls = 2

[breakers.trials]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5
open_duration = "1s"
half_open_calls = 2

[breakers.retry-refused]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"

[breakers.slow]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 1.0
slow_call_duration = "200ms"
slow_call_rate_threshold = 0.5
open_duration = "1s"

[policies.once-with-deadline]
max_attempts = 1
max_elapsed = "10s"

[breakers.slow-deadline]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 1.0
slow_call_duration = "200ms"
slow_call_rate_threshold = 0.5
open_duration = "1s"

[policies.twice-with-deadline]
max_attempts = 2
backoff = "constant"
initial_delay = "1s"
jitter = "none"
max_elapsed = "10s"

[breakers.slow-retry]
window_size = 4
minimum_calls = 4
slow_call_duration = "200ms"

[breakers.untimed]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 1.0
slow_call_duration = "none"
slow_call_rate_threshold = 0.5
open_duration = "1s"

[breakers.timed]
window = "time"
window_duration = "10s"
minimum_calls = 3
failure_rate_threshold = 1.0
open_duration = "1s"

[breakers.first-wait]
window_size = 100
minimum_calls = 100
slow_call_duration = "200ms"

[breakers.permanent]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5

[breakers.manual]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5
open_duration = "1s"

[breakers.shared]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5
open_duration = "1s"

[breakers.cancel]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"
half_open_calls = 1

[breakers.panic]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"
half_open_calls = 1
"#;

/// What the service answers.
#[derive(Clone, Copy)]
enum Answer {
    Ok,
    Down,
    NotFound,
    SlowOk,
    Hang,
    Panic,
}

async fn serve(runs: &AtomicU32, answer: Answer) -> io::Result<u32> {
    let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
    match answer {
        Answer::Ok => Ok(n),
        Answer::Down => Err(io::ErrorKind::ConnectionRefused.into()),
        Answer::NotFound => Err(io::ErrorKind::NotFound.into()),
        Answer::SlowOk => {
            sleep(Duration::from_millis(300)).await;
            Ok(n)
        }
        Answer::Hang => {
            sleep(Duration::from_secs(3600)).await;
            Ok(n)
        }
        Answer::Panic => panic!("the body panicked"),
    }
}

macro_rules! guarded {
    ($($name:ident: $policy:literal, $breaker:literal;)*) => {$(
        #[retryable(policy = $policy, breaker = $breaker)]
        async fn $name(runs: &AtomicU32, answer: Answer) -> io::Result<u32> {
            serve(runs, answer).await
        }
    )*};
}

guarded! {
    threshold: "once", "threshold";
    reject: "once", "reject";
    concurrent: "once", "concurrent";
    retry_refused_once: "once", "retry-refused";
    trials: "once", "trials";
    retry_refused: "twice", "retry-refused";
    slow: "once", "slow";
    untimed: "once", "untimed";
    slow_deadline: "once-with-deadline", "slow-deadline";
    timed: "once", "timed";
    permanent: "once", "permanent";
    manual: "once", "manual";
    shared_a: "once", "shared";
    shared_b: "once", "shared";
    cancel: "once", "cancel";
    panics: "once", "panic";
}

fn handle(name: &str) -> BreakerHandle {
    breaker(name).unwrap_or_else(|| panic!("no breaker {name}"))
}

fn rejected_by(error: &io::Error) -> Option<&'static str> {
    match error.get_ref()?.downcast_ref::<Rejected>()? {
        Rejected::BreakerOpen { breaker, .. } => Some(breaker),
        Rejected::AttemptTimeout { .. } => None,
    }
}

#[tokio::test(start_paused = true)]
async fn opens_at_exactly_the_threshold_and_not_before_minimum_calls() {
    support::install_once(CONFIG);
    let runs = AtomicU32::new(0);
    // Four failures: 100% failed, but fewer than minimum_calls (5).
    for _ in 0..4 {
        threshold(&runs, Answer::Down).await.unwrap_err();
    }
    assert_eq!(handle("threshold").state(), BreakerState::Closed);
    handle("threshold").reset();
    for answer in [Answer::Ok, Answer::Ok, Answer::Down, Answer::Down] {
        threshold(&runs, answer).await.ok();
    }
    assert_eq!(
        handle("threshold").state(),
        BreakerState::Closed,
        "2/4 failed, below minimum_calls"
    );
    threshold(&runs, Answer::Down).await.unwrap_err(); // 3/5 = 0.6: exactly the threshold
    assert_eq!(handle("threshold").state(), BreakerState::Open);
    assert_eq!(handle("threshold").metrics().failure_rate, 0.6);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_rejects_without_running_the_body() {
    support::install_once(CONFIG);
    let runs = AtomicU32::new(0);
    reject(&runs, Answer::Down).await.unwrap_err();
    reject(&runs, Answer::Down).await.unwrap_err();
    assert_eq!(handle("reject").state(), BreakerState::Open);
    for _ in 0..3 {
        let error = reject(&runs, Answer::Ok).await.unwrap_err();
        assert_eq!(rejected_by(&error), Some("reject"));
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the body ran while the breaker was open"
    );
    assert_eq!(handle("reject").metrics().not_permitted, 3);
}

#[tokio::test(start_paused = true)]
async fn half_open_after_open_duration_then_closes_on_healthy_trials() {
    support::install_once(CONFIG);
    let h = handle("trials");
    let runs = AtomicU32::new(0);
    for _ in 0..4 {
        trials(&runs, Answer::Down).await.unwrap_err();
    }
    assert_eq!(h.state(), BreakerState::Open);
    advance(Duration::from_millis(999)).await;
    assert_eq!(
        rejected_by(&trials(&runs, Answer::Ok).await.unwrap_err()),
        Some("trials")
    );
    assert_eq!(
        h.state(),
        BreakerState::Open,
        "still open 1 ms before open_duration"
    );
    advance(Duration::from_millis(1)).await;
    trials(&runs, Answer::Ok).await.unwrap();
    assert_eq!(
        h.state(),
        BreakerState::HalfOpen,
        "one healthy trial of two"
    );
    trials(&runs, Answer::Ok).await.unwrap();
    assert_eq!(h.state(), BreakerState::Closed);
    assert_eq!(
        h.metrics().window_calls,
        0,
        "closing starts an empty window"
    );

    // Open again, and this time the trials fail: it reopens.
    for _ in 0..4 {
        trials(&runs, Answer::Down).await.unwrap_err();
    }
    advance(Duration::from_secs(1)).await;
    trials(&runs, Answer::Down).await.unwrap_err();
    trials(&runs, Answer::Ok).await.unwrap();
    assert_eq!(
        h.state(),
        BreakerState::Open,
        "1 of 2 trials failed: 0.5 ≥ 0.5"
    );
}

#[tokio::test(start_paused = true)]
async fn half_open_admits_at_most_half_open_calls_at_once() {
    support::install_once(CONFIG);
    let h = handle("concurrent");
    let runs = AtomicU32::new(0);
    for _ in 0..4 {
        concurrent(&runs, Answer::Down).await.unwrap_err();
    }
    advance(Duration::from_secs(1)).await;
    let before = runs.load(Ordering::SeqCst);
    // Five concurrent calls that take a while: two are admitted, three rejected.
    let calls = (0..5).map(|_| concurrent(&runs, Answer::SlowOk));
    let results = futures_join_all(calls).await;
    let admitted = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| {
            r.as_ref()
                .is_err_and(|e| rejected_by(e) == Some("concurrent"))
        })
        .count();
    assert_eq!((admitted, refused), (2, 3));
    assert_eq!(runs.load(Ordering::SeqCst) - before, 2);
    assert_eq!(h.state(), BreakerState::Closed);
}

/// `join_all` without a futures dependency: polls every future on one task.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<Option<_>> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, out) in handles.iter_mut().zip(outputs.iter_mut()) {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_refused_retry_returns_the_last_real_error() {
    support::install_once(CONFIG);
    let h = handle("retry-refused");
    let runs = AtomicU32::new(0);
    // One failure in the window; then a call whose first attempt fails makes it
    // 2/2 and opens the breaker, so its retry is refused: the real error returns.
    retry_refused_once(&runs, Answer::Down).await.unwrap_err();
    let error = retry_refused(&runs, Answer::Down).await.unwrap_err();
    assert_eq!(h.state(), BreakerState::Open);
    assert_eq!(rejected_by(&error), None, "{error:?}");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the refused retry did not run"
    );
    // A refused first attempt, by contrast, is `BreakerOpen` naming the breaker.
    let error = retry_refused(&runs, Answer::Down).await.unwrap_err();
    assert_eq!(rejected_by(&error), Some("retry-refused"));
}

#[tokio::test(start_paused = true)]
async fn slow_calls_open_it() {
    support::install_once(CONFIG);
    let runs = AtomicU32::new(0);
    for answer in [Answer::Ok, Answer::Ok, Answer::SlowOk] {
        slow(&runs, answer).await.unwrap();
    }
    assert_eq!(
        handle("slow").state(),
        BreakerState::Closed,
        "below minimum_calls"
    );
    slow(&runs, Answer::SlowOk).await.unwrap(); // 2 of 4 slow: 0.5
    assert_eq!(handle("slow").state(), BreakerState::Open);
    let m = handle("slow").metrics();
    assert_eq!((m.slow_calls, m.failures), (2, 0));
}

/// With a deadline the call reads the clock as it starts, and the breaker times
/// the first attempt from that same reading.
#[tokio::test(start_paused = true)]
async fn slow_calls_are_timed_under_a_policy_with_a_deadline() {
    support::install_once(CONFIG);
    let runs = AtomicU32::new(0);
    advance(Duration::from_secs(5)).await;
    for answer in [Answer::Ok, Answer::Ok, Answer::SlowOk] {
        slow_deadline(&runs, answer).await.unwrap();
    }
    assert_eq!(handle("slow-deadline").state(), BreakerState::Closed);
    slow_deadline(&runs, Answer::SlowOk).await.unwrap();
    assert_eq!(handle("slow-deadline").state(), BreakerState::Open);
    assert_eq!(handle("slow-deadline").metrics().slow_calls, 2);
}

#[retryable(policy = "twice-with-deadline", breaker = "slow-retry")]
async fn fails_once(runs: &AtomicU32) -> io::Result<u32> {
    let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
    if n == 1 {
        return Err(io::ErrorKind::ConnectionRefused.into());
    }
    Ok(n)
}

/// A retry is timed from its own start, not from the call's: the 1 s backoff
/// before it does not make it slow.
#[tokio::test(start_paused = true)]
async fn a_retry_is_timed_from_its_own_start() {
    support::install_once(CONFIG);
    let runs = AtomicU32::new(0);
    assert_eq!(fails_once(&runs).await.unwrap(), 2);
    let m = handle("slow-retry").metrics();
    assert_eq!((m.calls, m.failures, m.slow_calls), (2, 1, 0));
}

/// Waits `before` on tokio's clock, then moves it by `busy` without waiting
/// (what a poll that blocks its thread looks like to the clock), then waits
/// `after`.
#[retryable(policy = "once", breaker = "first-wait")]
async fn waits_then_busy(before: Duration, busy: Duration, after: Duration) -> io::Result<()> {
    if !before.is_zero() {
        sleep(before).await;
    }
    // `advance` moves the paused clock, then yields once.
    advance(busy).await;
    if !after.is_zero() {
        sleep(after).await;
    }
    Ok(())
}

/// An async attempt is timed from its first wait: the waits after it count
/// to the millisecond, whatever came first; what its first poll did before
/// waiting (here a 500 ms jump of the clock with no wait, standing for a poll
/// that blocks its thread) is not counted, and an attempt that answers at its
/// first poll reads no clock and is not slow.
#[tokio::test(start_paused = true)]
async fn async_attempts_are_timed_from_their_first_wait() {
    support::install_once(CONFIG);
    let ms = Duration::from_millis;
    let zero = Duration::ZERO;
    let first_wait = || handle("first-wait").metrics().slow_calls;
    // The jump is in the first poll: not counted.
    waits_then_busy(zero, ms(500), zero).await.unwrap();
    assert_eq!(first_wait(), 0);
    // 200 ms of waits after the first one: slow, exactly at the threshold.
    waits_then_busy(zero, ms(500), ms(200)).await.unwrap();
    assert_eq!(first_wait(), 1);
    // 199 ms: not slow.
    waits_then_busy(zero, zero, ms(199)).await.unwrap();
    assert_eq!(first_wait(), 1);
    // The first poll waits at once: the jump that follows is counted.
    waits_then_busy(ms(1), ms(500), zero).await.unwrap();
    assert_eq!(first_wait(), 2);
}

#[tokio::test(start_paused = true)]
async fn slow_call_duration_none_counts_no_call_slow() {
    support::install_once(CONFIG);
    let runs = AtomicU32::new(0);
    for _ in 0..6 {
        untimed(&runs, Answer::SlowOk).await.unwrap();
    }
    assert_eq!(handle("untimed").state(), BreakerState::Closed);
    let m = handle("untimed").metrics();
    assert_eq!((m.calls, m.slow_calls, m.slow_call_rate), (6, 0, 0.0));
}

#[tokio::test(start_paused = true)]
async fn a_time_window_forgets_old_outcomes() {
    support::install_once(CONFIG);
    let runs = AtomicU32::new(0);
    timed(&runs, Answer::Down).await.unwrap_err();
    timed(&runs, Answer::Down).await.unwrap_err();
    advance(Duration::from_secs(11)).await;
    // The two old failures left the window: this one is the only outcome.
    timed(&runs, Answer::Down).await.unwrap_err();
    assert_eq!(handle("timed").state(), BreakerState::Closed);
    assert_eq!(handle("timed").metrics().window_calls, 1);
    timed(&runs, Answer::Down).await.unwrap_err();
    timed(&runs, Answer::Down).await.unwrap_err();
    assert_eq!(handle("timed").state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_do_not_trip_it() {
    support::install_once(CONFIG);
    let runs = AtomicU32::new(0);
    for _ in 0..10 {
        permanent(&runs, Answer::NotFound).await.unwrap_err();
    }
    let m = handle("permanent").metrics();
    assert_eq!(m.state, BreakerState::Closed);
    assert_eq!((m.calls, m.failures, m.failure_rate), (10, 0, 0.0));
}

#[tokio::test(start_paused = true)]
async fn force_open_disable_and_reset() {
    support::install_once(CONFIG);
    let h = handle("manual");
    let runs = AtomicU32::new(0);
    h.force_open();
    advance(Duration::from_secs(60)).await;
    assert_eq!(
        h.state(),
        BreakerState::ForcedOpen,
        "forced open never times out"
    );
    assert_eq!(
        rejected_by(&manual(&runs, Answer::Ok).await.unwrap_err()),
        Some("manual")
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);

    h.disable();
    for _ in 0..10 {
        manual(&runs, Answer::Down).await.unwrap_err();
    }
    assert_eq!(
        h.state(),
        BreakerState::Disabled,
        "disabled records nothing"
    );
    assert_eq!(h.metrics().window_calls, 0);
    assert_eq!(runs.load(Ordering::SeqCst), 10);

    h.reset();
    assert_eq!(h.state(), BreakerState::Closed);
    manual(&runs, Answer::Ok).await.unwrap();
    let m = h.metrics();
    assert_eq!((m.window_calls, m.not_permitted), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn two_functions_share_one_breaker() {
    support::install_once(CONFIG);
    let runs = AtomicU32::new(0);
    for _ in 0..4 {
        shared_a(&runs, Answer::Down).await.unwrap_err();
    }
    let error = shared_b(&runs, Answer::Ok).await.unwrap_err();
    assert_eq!(rejected_by(&error), Some("shared"));
    assert_eq!(runs.load(Ordering::SeqCst), 4, "shared_b's body never ran");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_trial_call_gives_its_permit_back() {
    support::install_once(CONFIG);
    let h = handle("cancel");
    let runs = AtomicU32::new(0);
    cancel(&runs, Answer::Down).await.unwrap_err();
    cancel(&runs, Answer::Down).await.unwrap_err();
    advance(Duration::from_secs(1)).await;
    // The only trial permit goes to a call that hangs; it is cancelled.
    let hung = tokio::time::timeout(Duration::from_millis(50), cancel(&runs, Answer::Hang)).await;
    assert!(hung.is_err(), "the hanging call was not cancelled");
    assert_eq!(
        h.state(),
        BreakerState::HalfOpen,
        "a cancelled trial records nothing"
    );
    // Its permit is free again: the next call is admitted and closes the breaker.
    cancel(&runs, Answer::Ok).await.unwrap();
    assert_eq!(h.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_trial_call_gives_its_permit_back() {
    support::install_once(CONFIG);
    let h = handle("panic");
    static RUNS: AtomicU32 = AtomicU32::new(0);
    panics(&RUNS, Answer::Down).await.unwrap_err();
    panics(&RUNS, Answer::Down).await.unwrap_err();
    advance(Duration::from_secs(1)).await;
    let joined = tokio::spawn(panics(&RUNS, Answer::Panic)).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(h.state(), BreakerState::HalfOpen);
    panics(&RUNS, Answer::Ok).await.unwrap();
    assert_eq!(h.state(), BreakerState::Closed);
}
