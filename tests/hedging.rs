//! Hedged calls (DESIGN §13), one test per sentence of the semantics, on
//! tokio's paused clock: every time below is exact.

mod support;

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use retry_runtime::{Class, Classify, Rejected, current_attempt, retryable};
use tokio::time::Instant;

const CONFIG: &str = r#"
[policies.hedged]
max_attempts = 10
backoff = "constant"
initial_delay = "200ms"
jitter = "none"

[policies.two-attempts]
base = "hedged"
max_attempts = 2

[policies.three-timed]
base = "hedged"
max_attempts = 3
attempt_timeout = "100ms"

[policies.deadline]
base = "hedged"
attempt_timeout = "100ms"
max_elapsed = "170ms"

[hedges.fixed]
delay = "50ms"

[hedges.fast]
delay = "10ms"
max_hedges = 2

[hedges.many]
delay = "10ms"
max_hedges = 3

[hedges.timed]
delay = "30ms"

[hedges.deadline]
delay = "60ms"
max_hedges = 3

[hedges.percentile]
delay = "p90"
min_samples = 10

[budgets.empty]
min_retries_per_sec = 0
retry_ratio = 0.0

[breakers.trial]
minimum_calls = 1
window_size = 1
failure_rate_threshold = 0.5
open_duration = "1s"
half_open_calls = 1

[breakers.hedged-slow]
window_size = 100
minimum_calls = 100
slow_call_duration = "200ms"

[policies.nested-inner]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"
"#;

fn setup() {
    support::install_once(CONFIG);
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Busy(u32),
    Invalid(u32),
    Refused(String),
}

impl Classify for ApiError {
    fn classify(&self) -> Class {
        match self {
            ApiError::Busy(_) => Class::Transient,
            ApiError::Invalid(_) => Class::Permanent,
            ApiError::Refused(_) => Class::Transient,
        }
    }
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::Refused(r.to_string())
    }
}

/// What one attempt does: wait, then answer.
#[derive(Clone, Copy)]
enum Step {
    Ok(u64),
    Busy(u64),
    Invalid(u64),
    Hang,
}

/// A scripted server: the attempt numbered n does `steps[n]` (the last step
/// for later ones), and every start and cancellation is logged.
struct Server {
    steps: HashMap<u32, Step>,
    start: Instant,
    /// (attempt number, is hedge, started at ms since `start`)
    started: Mutex<Vec<(u32, bool, u64)>>,
    cancelled: AtomicU32,
}

impl Server {
    fn new(steps: &[Step]) -> Server {
        Server {
            steps: (1..).zip(steps.iter().copied()).collect(),
            start: Instant::now(),
            started: Mutex::new(Vec::new()),
            cancelled: AtomicU32::new(0),
        }
    }

    fn since(&self) -> u64 {
        u64::try_from((Instant::now() - self.start).as_millis()).unwrap()
    }

    async fn serve(&self) -> Result<u32, ApiError> {
        let attempt = current_attempt().expect("inside an attempt");
        let n = attempt.number();
        self.started
            .lock()
            .unwrap()
            .push((n, attempt.is_hedge(), self.since()));
        let last = self.steps.len() as u32;
        let step = self.steps[&n.min(last)];
        let guard = CancelGuard(&self.cancelled, true);
        let result = match step {
            Step::Ok(t) => {
                tokio::time::sleep(ms(t)).await;
                Ok(n)
            }
            Step::Busy(t) => {
                tokio::time::sleep(ms(t)).await;
                Err(ApiError::Busy(n))
            }
            Step::Invalid(t) => {
                tokio::time::sleep(ms(t)).await;
                Err(ApiError::Invalid(n))
            }
            Step::Hang => std::future::pending().await,
        };
        std::mem::forget(guard);
        result
    }

    fn started(&self) -> Vec<(u32, bool, u64)> {
        self.started.lock().unwrap().clone()
    }

    fn cancelled(&self) -> u32 {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// Counts attempts dropped before they answered.
struct CancelGuard<'a>(&'a AtomicU32, bool);

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[retryable(policy = "hedged", hedge = "fixed", idempotent)]
async fn fixed(server: &Server) -> Result<u32, ApiError> {
    server.serve().await
}

#[tokio::test(start_paused = true)]
async fn a_hedge_starts_at_the_delay_and_the_first_success_wins() {
    setup();
    let server = Server::new(&[Step::Ok(1000), Step::Ok(10)]);
    assert_eq!(fixed(&server).await, Ok(2));
    assert_eq!(
        server.since(),
        60,
        "the hedge answered 10 ms after it started at 50 ms"
    );
    assert_eq!(server.started(), [(1, false, 0), (2, true, 50)]);
    assert_eq!(
        server.cancelled(),
        1,
        "the slow first attempt was dropped before the call returned"
    );
}

#[tokio::test(start_paused = true)]
async fn an_attempt_that_answers_before_the_delay_sends_no_hedge() {
    setup();
    let server = Server::new(&[Step::Ok(49)]);
    assert_eq!(fixed(&server).await, Ok(1));
    assert_eq!(server.started(), [(1, false, 0)]);
    assert_eq!(server.cancelled(), 0);
}

#[retryable(policy = "hedged", hedge = "fast", idempotent)]
async fn fast(server: &Server) -> Result<u32, ApiError> {
    server.serve().await
}

#[tokio::test(start_paused = true)]
async fn hedges_in_flight_are_bounded_by_max_hedges() {
    setup();
    let server = Server::new(&[Step::Ok(1000)]);
    assert_eq!(fast(&server).await, Ok(1));
    assert_eq!(server.since(), 1000);
    assert_eq!(
        server.started(),
        [(1, false, 0), (2, true, 10), (3, true, 20)],
        "two hedges (max_hedges = 2), one delay apart, and no more"
    );
    assert_eq!(
        server.cancelled(),
        2,
        "both hedges dropped when the first answered"
    );
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_returns_at_once_and_drops_the_others() {
    setup();
    let server = Server::new(&[Step::Ok(1000), Step::Invalid(5)]);
    assert_eq!(fixed(&server).await, Err(ApiError::Invalid(2)));
    assert_eq!(server.since(), 55);
    assert_eq!(server.started(), [(1, false, 0), (2, true, 50)]);
    assert_eq!(server.cancelled(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_beside_others_waits_and_frees_a_place_one_delay_later() {
    setup();
    // The hedge fails at 60 while the first still runs: the call waits; the
    // freed place goes to the next hedge one delay later, at 110.
    let server = Server::new(&[Step::Ok(1000), Step::Busy(10), Step::Ok(5)]);
    assert_eq!(fixed(&server).await, Ok(3));
    assert_eq!(
        server.started(),
        [(1, false, 0), (2, true, 50), (3, true, 110)]
    );
    assert_eq!(server.since(), 115);
}

#[tokio::test(start_paused = true)]
async fn when_every_attempt_failed_the_retry_loop_backs_off_then_hedges_again() {
    setup();
    // 1 fails at 100 while 2 (the hedge sent at 50) runs: the call waits. 2
    // fails at 120: none left, so the loop sleeps its 200 ms backoff and
    // starts a new round at 320, whose first attempt is hedged at 370.
    let server = Server::new(&[
        Step::Busy(100),
        Step::Busy(70),
        Step::Ok(1000),
        Step::Ok(10),
    ]);
    assert_eq!(fixed(&server).await, Ok(4));
    assert_eq!(
        server.started(),
        [
            (1, false, 0),
            (2, true, 50),
            (3, false, 320),
            (4, true, 370)
        ]
    );
    assert_eq!(server.since(), 380);
}

#[retryable(policy = "two-attempts", hedge = "many", idempotent)]
async fn two_attempts(server: &Server) -> Result<u32, ApiError> {
    server.serve().await
}

#[tokio::test(start_paused = true)]
async fn hedges_count_toward_max_attempts() {
    setup();
    let server = Server::new(&[Step::Busy(100), Step::Busy(100)]);
    assert_eq!(two_attempts(&server).await, Err(ApiError::Busy(2)));
    assert_eq!(
        server.started(),
        [(1, false, 0), (2, true, 10)],
        "max_attempts = 2: one hedge, no third attempt, no retry"
    );
    assert_eq!(server.since(), 110);
}

#[retryable(policy = "hedged", hedge = "fixed", budget = "empty", idempotent)]
async fn no_budget(server: &Server) -> Result<u32, ApiError> {
    server.serve().await
}

#[tokio::test(start_paused = true)]
async fn an_empty_budget_sends_no_hedge() {
    setup();
    let server = Server::new(&[Step::Ok(300)]);
    assert_eq!(no_budget(&server).await, Ok(1));
    assert_eq!(server.started(), [(1, false, 0)]);
    assert_eq!(server.since(), 300);
}

#[retryable(policy = "none", hedge = "fixed", breaker = "trial", idempotent)]
async fn trial(server: &Server) -> Result<u32, ApiError> {
    server.serve().await
}

#[tokio::test(start_paused = true)]
async fn a_refused_breaker_permit_means_no_hedge_not_a_failed_call() {
    setup();
    // One failure opens `trial`; after open_duration it admits one trial call.
    let failing = Server::new(&[Step::Busy(1)]);
    assert_eq!(trial(&failing).await, Err(ApiError::Busy(1)));
    tokio::time::advance(ms(1000)).await;
    let server = Server::new(&[Step::Ok(300)]);
    assert_eq!(trial(&server).await, Ok(1));
    assert_eq!(
        server.started(),
        [(1, false, 0)],
        "the half-open breaker's one place is the first attempt's"
    );
    assert_eq!(
        retry_runtime::breaker("trial").unwrap().state(),
        retry_runtime::BreakerState::Closed
    );
}

#[retryable(policy = "three-timed", hedge = "timed", idempotent)]
async fn timed(server: &Server) -> Result<u32, ApiError> {
    server.serve().await
}

#[tokio::test(start_paused = true)]
async fn each_hedge_has_its_own_attempt_timeout() {
    setup();
    let server = Server::new(&[Step::Hang]);
    let result = timed(&server).await;
    // 1 times out at 100, 2 (the hedge sent at 30) at 130: the round has
    // failed; after the 200 ms backoff, 3 starts at 330 and times out at 430.
    assert_eq!(
        server.started(),
        [(1, false, 0), (2, true, 30), (3, false, 330)]
    );
    assert_eq!(server.since(), 430);
    match result {
        Err(ApiError::Refused(text)) => assert!(text.contains("attempt 3"), "{text}"),
        other => panic!("expected the last attempt's timeout, got {other:?}"),
    }
    assert_eq!(
        server.cancelled(),
        3,
        "each attempt was cancelled by its timeout"
    );
}

#[retryable(policy = "deadline", hedge = "deadline", idempotent)]
async fn deadline(server: &Server) -> Result<u32, ApiError> {
    server.serve().await
}

#[tokio::test(start_paused = true)]
async fn no_hedge_starts_whose_timeout_would_end_past_max_elapsed() {
    setup();
    let server = Server::new(&[Step::Hang]);
    let result = deadline(&server).await;
    // max_elapsed 170 ms, attempt_timeout 100 ms: the hedge at 60 fits
    // (ends by 160); the next, at 120, would end at 220: not sent. The
    // hedge times out at 160 and the deadline ends the call.
    assert_eq!(server.started(), [(1, false, 0), (2, true, 60)]);
    assert_eq!(server.since(), 160);
    assert!(matches!(result, Err(ApiError::Refused(_))), "{result:?}");
}

#[retryable(policy = "hedged", hedge = "percentile", idempotent)]
async fn percentile(server: &Server) -> Result<u32, ApiError> {
    server.serve().await
}

#[tokio::test(start_paused = true)]
async fn a_percentile_delay_waits_for_min_samples_then_hedges_at_the_percentile() {
    setup();
    let site = retry_runtime::call_sites()
        .iter()
        .find(|s| s.name().ends_with("::percentile"))
        .unwrap();
    for _ in 0..9 {
        assert_eq!(percentile(&Server::new(&[Step::Ok(10)])).await, Ok(1));
    }
    assert_eq!(site.hedge_delay(), None, "9 latencies < min_samples = 10");
    let slow = Server::new(&[Step::Ok(1000)]);
    assert_eq!(percentile(&slow).await, Ok(1));
    assert_eq!(
        slow.started(),
        [(1, false, 0)],
        "no hedge before min_samples"
    );
    // p90 of nine 10 ms and one 1 s: 10 ms's bucket, reported as its upper
    // bound, 10.24 ms (at most 1/8 above).
    assert_eq!(site.hedge_delay(), Some(Duration::from_micros(10_240)));
    let slow = Server::new(&[Step::Ok(1000), Step::Ok(10)]);
    assert_eq!(percentile(&slow).await, Ok(2));
    // tokio's timer has millisecond resolution and rounds up: 10.24 ms fires at 11.
    assert_eq!(
        slow.started(),
        [(1, false, 0), (2, true, 11)],
        "hedged at 10.24 ms"
    );
}

#[retryable(policy = "nested-inner")]
async fn inner(calls: &AtomicU32) -> Result<u32, ApiError> {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    Err(ApiError::Busy(n))
}

#[retryable(policy = "two-attempts", hedge = "fixed", idempotent)]
async fn outer(server: &Server, calls: &AtomicU32) -> Result<u32, ApiError> {
    let attempt = current_attempt().unwrap();
    if attempt.is_hedge() {
        return inner(calls).await;
    }
    server.serve().await
}

#[tokio::test(start_paused = true)]
async fn a_nested_call_inside_a_hedge_makes_one_attempt() {
    setup();
    let server = Server::new(&[Step::Busy(100)]);
    let calls = AtomicU32::new(0);
    let result = outer(&server, &calls).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the inner call made one attempt, not three"
    );
    assert_eq!(
        result,
        Err(ApiError::Busy(1)),
        "attempt 1 failed last, at 100 ms"
    );
}

#[retryable(policy = "hedged", hedge = "fixed", idempotent)]
async fn which(_server: &Server) -> Result<(u32, bool), ApiError> {
    let me = current_attempt().unwrap();
    Ok((me.number(), me.is_hedge()))
}

#[tokio::test(start_paused = true)]
async fn current_attempt_is_none_outside_and_the_attempt_inside() {
    setup();
    assert_eq!(current_attempt(), None);
    let server = Server::new(&[Step::Ok(0)]);
    assert_eq!(which(&server).await, Ok((1, false)));
    assert_eq!(current_attempt(), None, "restored after the call");
}

/// Asserts that it is polled at the same address every time: a hedge slot
/// that moved its attempt would break it.
struct StaysPut {
    at: Option<usize>,
    polls: u32,
    _pinned: PhantomPinned,
}

impl Future for StaysPut {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let address = std::ptr::from_ref::<Self>(&self) as usize;
        // SAFETY: only plain fields are written; nothing is moved out.
        let this = unsafe { self.get_unchecked_mut() };
        assert_eq!(
            *this.at.get_or_insert(address),
            address,
            "moved while pinned"
        );
        this.polls += 1;
        if this.polls == 5 {
            return Poll::Ready(address);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[retryable(policy = "hedged", hedge = "fixed", idempotent)]
async fn pinned(server: &Server) -> Result<u32, ApiError> {
    let n = current_attempt().unwrap().number();
    if n == 1 {
        return server.serve().await;
    }
    // The hedge (in the boxed slots) sleeps between polls of its future.
    let mut check = std::pin::pin!(StaysPut {
        at: None,
        polls: 0,
        _pinned: PhantomPinned
    });
    for _ in 0..4 {
        std::future::poll_fn(|cx| match check.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(()),
            Poll::Pending => Poll::Ready(()),
        })
        .await;
        tokio::time::sleep(ms(1)).await;
    }
    check.await;
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn hedges_are_polled_where_they_were_pinned() {
    setup();
    let server = Server::new(&[Step::Ok(1000)]);
    assert_eq!(pinned(&server).await, Ok(2));
}

#[test]
fn a_hedged_call_is_send_when_its_body_is() {
    fn assert_send<T: Send>(_: &T) {}
    let server = Server::new(&[Step::Ok(1)]);
    let future = fixed(&server);
    assert_send(&future);
}

#[tokio::test(start_paused = true)]
async fn the_snapshot_shows_each_site_hedge_and_its_current_delay() {
    setup();
    let _ = fixed(&Server::new(&[Step::Ok(1)])).await;
    let snapshot = retry_runtime::snapshot();
    let site = snapshot
        .call_sites
        .iter()
        .find(|s| s.name.ends_with("::fixed"))
        .unwrap();
    assert_eq!(site.hedge, Some("fixed"));
    assert_eq!(site.hedge_delay_ms, Some(50.0));
    let plain = snapshot
        .call_sites
        .iter()
        .find(|s| s.name.ends_with("::inner"))
        .unwrap();
    assert_eq!((plain.hedge, plain.hedge_delay_ms), (None, None));
}

/// Waits `wait` (no wait at all for zero) then answers, hedged by a delay it never reaches.
#[retryable(
    policy = "hedged",
    hedge = "percentile",
    breaker = "hedged-slow",
    idempotent
)]
async fn hedged_slow(wait: Duration) -> Result<(), ApiError> {
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    Ok(())
}

/// The first attempt of a hedged round is timed for the breaker's slow-call
/// rule from its first wait, as an unhedged attempt is: exactly on the paused
/// clock, and not at all when it answers at its first poll.
#[tokio::test(start_paused = true)]
async fn a_hedged_first_attempt_is_timed_from_its_first_wait() {
    setup();
    let slow = || retry_runtime::breaker("hedged-slow").unwrap().metrics();
    hedged_slow(Duration::ZERO).await.unwrap();
    hedged_slow(ms(199)).await.unwrap();
    assert_eq!((slow().calls, slow().slow_calls), (2, 0));
    hedged_slow(ms(200)).await.unwrap();
    assert_eq!((slow().calls, slow().slow_calls), (3, 1));
}
