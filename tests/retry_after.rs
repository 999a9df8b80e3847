//! `max_retry_after` and replay safety on tokio's paused clock: exact waits,
//! and the give-up reason in the `WARN` event.

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use capture::Capture;
use retry_runtime::{Class, Classify, Rejected, retryable};
use tokio::time::Instant;

const CONFIG: &str = r#"
[policies.hinted]
max_attempts = 4
backoff = "constant"
initial_delay = "100ms"
jitter = "none"
max_retry_after = "5s"

[policies.unbounded]
base = "hinted"
max_retry_after = "none"

[policies.preset_bound]
max_attempts = 4
jitter = "none"
"#;

#[derive(Debug, Clone, Classify)]
enum ApiError {
    #[classify(retry_after)]
    Throttled(Duration),
    /// Failed after its effect may have happened: not replay-safe.
    #[classify(transparent)]
    Sent(Sent),
    #[classify(transparent)]
    Refused(Rejected),
}

#[derive(Debug, Clone)]
struct Sent;

impl Classify for Sent {
    fn classify(&self) -> Class {
        Class::Transient
    }
    fn replay_safe(&self) -> bool {
        false
    }
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::Refused(r)
    }
}

/// Fails with each of `hints` in turn (as `Throttled`), then succeeds.
async fn scripted(calls: &AtomicU32, hints: &[u64]) -> Result<u32, ApiError> {
    let n = calls.fetch_add(1, Ordering::SeqCst) as usize;
    match hints.get(n) {
        Some(secs) => Err(ApiError::Throttled(Duration::from_secs(*secs))),
        None => Ok(u32::try_from(n).unwrap_or(u32::MAX) + 1),
    }
}

#[retryable(policy = "hinted")]
async fn hinted(calls: &AtomicU32, hints: &[u64]) -> Result<u32, ApiError> {
    scripted(calls, hints).await
}

#[retryable(policy = "unbounded")]
async fn unbounded(calls: &AtomicU32, hints: &[u64]) -> Result<u32, ApiError> {
    scripted(calls, hints).await
}

#[retryable(policy = "preset_bound")]
async fn preset_bound(calls: &AtomicU32, hints: &[u64]) -> Result<u32, ApiError> {
    scripted(calls, hints).await
}

#[retryable(policy = "hinted")]
async fn sends(calls: &AtomicU32) -> Result<(), ApiError> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(ApiError::Sent(Sent))
}

#[retryable(policy = "hinted", idempotent)]
async fn sends_idempotent(calls: &AtomicU32) -> Result<(), ApiError> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(ApiError::Sent(Sent))
}

#[tokio::test(start_paused = true)]
async fn hints_up_to_the_bound_are_waited_exactly() {
    support::install_once(CONFIG);
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    // 5 s is the bound itself: waited.
    assert_eq!(hinted(&calls, &[1, 5]).await.unwrap(), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn a_longer_hint_gives_up_at_once_with_that_error() {
    support::install_once(CONFIG);
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let error = hinted(&calls, &[1, 6]).await.unwrap_err();
    assert!(matches!(error, ApiError::Throttled(d) if d == Duration::from_secs(6)));
    // One wait of 1 s, then the 6 s hint is refused without sleeping.
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let give_up = capture.give_up();
    assert_eq!(Some(give_up.field("reason")), Some("retry-after too long"));
    assert_eq!(Some(give_up.field("attempts")), Some("2"));
}

#[tokio::test(start_paused = true)]
async fn none_waits_any_hint() {
    support::install_once(CONFIG);
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    assert_eq!(unbounded(&calls, &[3600]).await.unwrap(), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
}

#[tokio::test(start_paused = true)]
async fn the_default_bound_is_sixty_seconds() {
    support::install_once(CONFIG);
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    assert_eq!(preset_bound(&calls, &[60]).await.unwrap(), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    assert!(preset_bound(&calls, &[61]).await.is_err());
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn an_error_that_is_not_replay_safe_is_returned_unless_idempotent() {
    support::install_once(CONFIG);
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let calls = AtomicU32::new(0);
    assert!(sends(&calls).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let give_up = capture.give_up();
    assert_eq!(Some(give_up.field("reason")), Some("not idempotent"));

    let calls = AtomicU32::new(0);
    assert!(sends_idempotent(&calls).await.is_err());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "every attempt of the policy"
    );
}
