//! Classification, deadlines, attempt timeouts and `retry_if`, on tokio's paused clock.

mod support;

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{Class, Classify, Rejected, retryable};
use tokio::time::Instant;

const CONFIG: &str = r#"
[policies.plain]
max_attempts = 4
backoff = "constant"
initial_delay = "100ms"
jitter = "full"

[policies.deadline]
max_attempts = 10
backoff = "constant"
initial_delay = "1s"
jitter = "none"
max_elapsed = "3500ms"

[policies.deadline-edge]
max_attempts = 10
backoff = "constant"
initial_delay = "1s"
jitter = "none"
max_elapsed = "3s"

[policies.deadline-timeout]
max_attempts = 10
backoff = "constant"
initial_delay = "100ms"
jitter = "none"
attempt_timeout = "1s"
max_elapsed = "3s"

[policies.timeout]
max_attempts = 3
backoff = "constant"
initial_delay = "100ms"
jitter = "none"
attempt_timeout = "1s"
"#;

fn setup() {
    support::install_once(CONFIG);
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Unavailable(u32),
    Throttled(Duration),
    BadRequest,
    Refused(Rejected),
}

impl Classify for ApiError {
    fn classify(&self) -> Class {
        match self {
            ApiError::Unavailable(_) => Class::Transient,
            ApiError::Throttled(d) => Class::RetryAfter(*d),
            ApiError::BadRequest => Class::Permanent,
            ApiError::Refused(r) => r.classify(),
        }
    }
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::Refused(r)
    }
}

/// A scripted service: each attempt pops the next answer; `Ok` once the script ends.
struct Script {
    answers: Mutex<Vec<ApiError>>,
    calls: Mutex<Vec<Instant>>,
}

impl Script {
    fn new(mut answers: Vec<ApiError>) -> Script {
        answers.reverse();
        Script {
            answers: Mutex::new(answers),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn answer(&self) -> Result<u32, ApiError> {
        let mut calls = self.calls.lock().unwrap();
        calls.push(Instant::now());
        match self.answers.lock().unwrap().pop() {
            Some(e) => Err(e),
            None => Ok(u32::try_from(calls.len()).unwrap()),
        }
    }

    fn attempts(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    fn gaps(&self) -> Vec<Duration> {
        let calls = self.calls.lock().unwrap();
        calls.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

#[retryable(policy = "plain")]
async fn call(s: &Script) -> Result<u32, ApiError> {
    s.answer()
}

#[retryable(policy = "deadline")]
async fn with_deadline(s: &Script) -> Result<u32, ApiError> {
    s.answer()
}

#[retryable(policy = "deadline-edge")]
async fn with_deadline_edge(s: &Script) -> Result<u32, ApiError> {
    s.answer()
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_returned_at_once() {
    setup();
    let s = Script::new(vec![ApiError::BadRequest]);
    let start = Instant::now();
    assert_eq!(call(&s).await, Err(ApiError::BadRequest));
    assert_eq!(s.attempts(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_and_a_permanent_one_stops_the_loop() {
    setup();
    let s = Script::new(vec![ApiError::Unavailable(1), ApiError::BadRequest]);
    assert_eq!(call(&s).await, Err(ApiError::BadRequest));
    assert_eq!(s.attempts(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_last_error_is_returned_when_attempts_run_out() {
    setup();
    let s = Script::new((1..=4).map(ApiError::Unavailable).collect());
    assert_eq!(call(&s).await, Err(ApiError::Unavailable(4)));
    assert_eq!(s.attempts(), 4);
}

#[tokio::test(start_paused = true)]
async fn retry_after_waits_exactly_the_hint_without_jitter() {
    setup();
    // The policy has full jitter: a hint is still honoured to the millisecond.
    let s = Script::new(vec![
        ApiError::Throttled(ms(750)),
        ApiError::Throttled(ms(2000)),
    ]);
    let start = Instant::now();
    assert_eq!(call(&s).await, Ok(3));
    assert_eq!(s.gaps(), [ms(750), ms(2000)]);
    assert_eq!(start.elapsed(), ms(2750));
}

#[tokio::test(start_paused = true)]
async fn no_retry_sleeps_past_the_deadline() {
    setup();
    // Attempts at 0, 1, 2, 3 s; a fifth would start at 4 s, past 3.5 s.
    let s = Script::new((1..=10).map(ApiError::Unavailable).collect());
    let start = Instant::now();
    assert_eq!(with_deadline(&s).await, Err(ApiError::Unavailable(4)));
    assert_eq!(s.attempts(), 4);
    assert_eq!(start.elapsed(), ms(3000));
}

#[tokio::test(start_paused = true)]
async fn a_sleep_ending_exactly_at_the_deadline_is_allowed() {
    setup();
    // max_elapsed = 3 s: the retry at exactly 3 s is made, the one at 4 s is not.
    let s = Script::new((1..=10).map(ApiError::Unavailable).collect());
    let start = Instant::now();
    assert_eq!(with_deadline_edge(&s).await, Err(ApiError::Unavailable(4)));
    assert_eq!(s.attempts(), 4);
    assert_eq!(start.elapsed(), ms(3000));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_counts_the_time_attempts_take() {
    setup();
    let slow = Script::new((1..=10).map(ApiError::Unavailable).collect());
    #[retryable(policy = "deadline")]
    async fn slow_call(s: &Script) -> Result<u32, ApiError> {
        tokio::time::sleep(ms(500)).await;
        s.answer()
    }
    // Attempts end at 0.5, 2.0, 3.5 s; the next would start at 4.5 s > 3.5 s.
    let start = Instant::now();
    assert_eq!(slow_call(&slow).await, Err(ApiError::Unavailable(3)));
    assert_eq!(start.elapsed(), ms(3500));
}

/// An async call's deadline clock starts at its first wait (or its first
/// failure, for an attempt that never waits), so that a call whose first
/// attempt answers at once reads no clock. On the paused clock that is the
/// call's start, unless the body moves the clock before it first waits, as
/// this one does with `advance` (time that a blocking first poll would take):
/// that time is not counted. The first wait is at 2 s of the paused clock;
/// attempts fail at 2, 3, 4 and 5 s; a fifth would start at 6 s, 4 s after
/// the first wait, past `max_elapsed = "3500ms"`.
#[tokio::test(start_paused = true)]
async fn an_async_call_deadline_starts_at_its_first_wait() {
    setup();
    let s = Script::new((1..=10).map(ApiError::Unavailable).collect());
    #[retryable(policy = "deadline")]
    async fn busy_first(s: &Script, first: &AtomicBool) -> Result<u32, ApiError> {
        if !first.swap(true, Ordering::SeqCst) {
            // Moves the paused clock by 2 s, then yields (the first wait).
            tokio::time::advance(Duration::from_secs(2)).await;
        }
        s.answer()
    }
    let first = AtomicBool::new(false);
    let start = Instant::now();
    assert_eq!(busy_first(&s, &first).await, Err(ApiError::Unavailable(4)));
    assert_eq!(start.elapsed(), ms(5000));
}

// ---- attempt timeout -------------------------------------------------------

struct DropFlag<'a>(&'a AtomicBool);

impl Drop for DropFlag<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[retryable(policy = "timeout")]
async fn hangs_then_answers(attempt: &AtomicU32, dropped: &AtomicBool) -> Result<u32, ApiError> {
    let n = attempt.fetch_add(1, Ordering::SeqCst) + 1;
    if n == 1 {
        let _guard = DropFlag(dropped);
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    Ok(n)
}

#[retryable(policy = "timeout")]
async fn always_hangs(attempt: &AtomicU32) -> Result<u32, ApiError> {
    attempt.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(0)
}

#[retryable(policy = "timeout")]
async fn io_hangs() -> io::Result<()> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_slow_attempt_is_cancelled_at_the_timeout_and_retried() {
    setup();
    let attempt = AtomicU32::new(0);
    let dropped = AtomicBool::new(false);
    let start = Instant::now();
    assert_eq!(hangs_then_answers(&attempt, &dropped).await, Ok(2));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the timed-out attempt was not dropped"
    );
    assert_eq!(start.elapsed(), ms(1100)); // 1 s timeout + 100 ms backoff
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_reported_as_rejected_attempt_timeout() {
    setup();
    let attempt = AtomicU32::new(0);
    let start = Instant::now();
    let error = always_hangs(&attempt).await.unwrap_err();
    assert_eq!(
        error,
        ApiError::Refused(Rejected::AttemptTimeout {
            attempt: 3,
            timeout: Duration::from_secs(1)
        })
    );
    assert_eq!(attempt.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), ms(3200));
}

#[retryable(policy = "deadline-timeout")]
async fn hangs_under_a_deadline(attempt: &AtomicU32) -> Result<u32, ApiError> {
    attempt.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(0)
}

#[tokio::test(start_paused = true)]
async fn no_attempt_starts_that_could_time_out_past_the_deadline() {
    setup();
    // Attempts time out at 1.0 s and 2.1 s. A third would start at 2.2 s and
    // could run to 3.2 s, past the 3 s deadline: it is not started.
    let attempt = AtomicU32::new(0);
    let start = Instant::now();
    let error = hangs_under_a_deadline(&attempt).await.unwrap_err();
    assert_eq!(
        error,
        ApiError::Refused(Rejected::AttemptTimeout {
            attempt: 2,
            timeout: Duration::from_secs(1)
        })
    );
    assert_eq!(attempt.load(Ordering::SeqCst), 2);
    assert_eq!(start.elapsed(), ms(2100));
}

#[tokio::test(start_paused = true)]
async fn io_errors_time_out_with_kind_timed_out() {
    setup();
    let error = io_hangs().await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    let rejected = error.get_ref().and_then(|e| e.downcast_ref::<Rejected>());
    assert!(
        matches!(rejected, Some(Rejected::AttemptTimeout { attempt: 3, .. })),
        "{error:?}"
    );
}

// ---- retry_if and io::Error ------------------------------------------------

/// An error type with no `Classify` impl: `retry_if` decides.
#[derive(Debug, PartialEq)]
enum DbError {
    Deadlock,
    Constraint,
    Refused,
}

impl From<Rejected> for DbError {
    fn from(_: Rejected) -> Self {
        DbError::Refused
    }
}

fn is_deadlock(e: &DbError) -> bool {
    *e == DbError::Deadlock
}

#[retryable(policy = "plain", retry_if = is_deadlock)]
async fn transaction(answers: &Mutex<Vec<DbError>>, attempts: &AtomicU32) -> Result<(), DbError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    match answers.lock().unwrap().pop() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[tokio::test(start_paused = true)]
async fn retry_if_decides_which_errors_are_retried() {
    setup();
    let attempts = AtomicU32::new(0);
    let answers = Mutex::new(vec![DbError::Deadlock, DbError::Deadlock]);
    assert_eq!(transaction(&answers, &attempts).await, Ok(()));
    assert_eq!(attempts.load(Ordering::SeqCst), 3);

    let attempts = AtomicU32::new(0);
    let answers = Mutex::new(vec![DbError::Constraint, DbError::Deadlock]);
    assert_eq!(
        transaction(&answers, &attempts).await,
        Err(DbError::Constraint)
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[retryable(policy = "plain")]
async fn read_file(kinds: &Mutex<Vec<io::ErrorKind>>, attempts: &AtomicU32) -> io::Result<u32> {
    attempts.fetch_add(1, Ordering::SeqCst);
    match kinds.lock().unwrap().pop() {
        Some(kind) => Err(kind.into()),
        None => Ok(7),
    }
}

#[tokio::test(start_paused = true)]
async fn io_errors_are_classified_by_kind() {
    setup();
    let attempts = AtomicU32::new(0);
    let kinds = Mutex::new(vec![
        io::ErrorKind::TimedOut,
        io::ErrorKind::ConnectionReset,
    ]);
    assert_eq!(read_file(&kinds, &attempts).await.unwrap(), 7);
    assert_eq!(attempts.load(Ordering::SeqCst), 3);

    let attempts = AtomicU32::new(0);
    let kinds = Mutex::new(vec![io::ErrorKind::NotFound]);
    assert_eq!(
        read_file(&kinds, &attempts).await.unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}
