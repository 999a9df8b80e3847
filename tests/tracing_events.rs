//! The `tracing` events of the README's table: retry, give-up (with each
//! reason), breaker transitions; none on the success path; errors shown by
//! their `Display`; a storm of give-ups or rejections quieted to one line per
//! call site and interval. Captured with a minimal subscriber that records
//! each event's level, message and fields.

mod support;

#[path = "support/capture.rs"]
mod capture;

use std::sync::atomic::{AtomicU64, Ordering};

use capture::{Capture, Captured};
use retry_runtime::{Class, Classify, Rejected, retryable};
use tracing::Level;

const CONFIG: &str = r#"
[policies.events]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[policies.events-deadline]
max_attempts = 10
backoff = "constant"
initial_delay = "1s"
jitter = "none"
max_elapsed = "1500ms"

[policies.events-budget]
max_attempts = 5
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[breakers.events]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"
half_open_calls = 1

[breakers.events-quiet]

[policies.events-once]
max_attempts = 1

[breakers.events-storm]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1h"

[budgets.events-empty]
ttl = "10s"
min_retries_per_sec = 0
retry_ratio = 0.0
"#;

fn setup() {
    support::install_once(CONFIG);
}

#[derive(Debug, PartialEq)]
enum E {
    Down(u32),
    Bad,
    Refused,
}

impl Classify for E {
    fn classify(&self) -> Class {
        match self {
            E::Down(_) => Class::Transient,
            E::Bad | E::Refused => Class::Permanent,
        }
    }
}

impl From<Rejected> for E {
    fn from(_: Rejected) -> Self {
        E::Refused
    }
}

/// An error type without `Debug`.
struct Opaque;

impl Classify for Opaque {
    fn classify(&self) -> Class {
        Class::Transient
    }
}

impl From<Rejected> for Opaque {
    fn from(_: Rejected) -> Self {
        Opaque
    }
}

#[retryable(policy = "events", name = "events.down")]
async fn down(n: &AtomicU64) -> Result<(), E> {
    Err(E::Down(
        u32::try_from(n.fetch_add(1, Ordering::SeqCst)).unwrap() + 1,
    ))
}

#[retryable(policy = "events", name = "events.ok")]
async fn ok() -> Result<u32, E> {
    Ok(1)
}

#[retryable(policy = "events", name = "events.bad")]
async fn bad() -> Result<u32, E> {
    Err(E::Bad)
}

#[retryable(policy = "events", name = "events.then-bad")]
async fn then_bad(n: &AtomicU64) -> Result<u32, E> {
    if n.fetch_add(1, Ordering::SeqCst) == 0 {
        Err(E::Down(1))
    } else {
        Err(E::Bad)
    }
}

#[retryable(policy = "events-deadline", name = "events.deadline")]
async fn deadline() -> Result<u32, E> {
    Err(E::Down(0))
}

#[retryable(
    policy = "events-budget",
    budget = "events-empty",
    name = "events.budget"
)]
async fn no_budget() -> Result<u32, E> {
    Err(E::Down(0))
}

#[retryable(policy = "events", breaker = "events", name = "events.breaker")]
async fn behind_breaker() -> Result<u32, E> {
    Err(E::Down(0))
}

#[retryable(policy = "events", name = "events.opaque")]
async fn opaque() -> Result<u32, Opaque> {
    Err(Opaque)
}

#[tokio::test(start_paused = true)]
async fn retries_and_giving_up_after_attempts() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let n = AtomicU64::new(0);
    assert_eq!(down(&n).await, Err(E::Down(3)));
    let events = capture.take();
    assert_eq!(events.len(), 3, "{events:#?}");
    for (i, retry) in events[..2].iter().enumerate() {
        assert_eq!(retry.level, Level::INFO);
        assert_eq!(retry.message(), "attempt failed; retrying");
        assert_eq!(retry.field("call_site"), "events.down");
        assert_eq!(retry.field("attempt"), (i + 1).to_string());
        assert_eq!(retry.field("delay_ms"), "10");
        assert_eq!(retry.field("class"), "Transient");
        assert_eq!(retry.field("error"), format!("Down({})", i + 1));
    }
    let give_up = &events[2];
    assert_eq!(give_up.level, Level::WARN);
    assert_eq!(give_up.message(), "giving up");
    assert_eq!(give_up.field("call_site"), "events.down");
    assert_eq!(give_up.field("attempts"), "3");
    assert_eq!(give_up.field("reason"), "attempts exhausted");
    assert_eq!(give_up.field("error"), "Down(3)");
}

#[tokio::test(start_paused = true)]
async fn the_success_path_and_a_first_permanent_error_are_silent() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    assert_eq!(ok().await, Ok(1));
    assert_eq!(bad().await, Err(E::Bad));
    assert!(capture.take().is_empty());
}

#[tokio::test(start_paused = true)]
async fn each_give_up_reason_is_named() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let reason_of = |events: Vec<Captured>| -> String {
        events
            .iter()
            .rev()
            .find(|e| e.message() == "giving up")
            .map(|e| e.field("reason").to_owned())
            .unwrap_or_default()
    };

    then_bad(&AtomicU64::new(0)).await.unwrap_err();
    assert_eq!(reason_of(capture.take()), "permanent error");
    deadline().await.unwrap_err();
    assert_eq!(reason_of(capture.take()), "deadline");
    no_budget().await.unwrap_err();
    assert_eq!(reason_of(capture.take()), "retry budget exhausted");
}

#[tokio::test(start_paused = true)]
async fn breaker_transitions_and_rejected_retries() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    // Attempts 1 and 2 fail: the window (2 calls, all failed) trips the breaker;
    // the third attempt is refused after the backoff and the last error returned.
    assert_eq!(behind_breaker().await, Err(E::Down(0)));
    let events = capture.take();
    let trip = events
        .iter()
        .find(|e| e.field("to") == "open")
        .expect("a transition to open");
    assert_eq!(trip.level, Level::WARN);
    assert_eq!(trip.field("breaker"), "events");
    assert_eq!(trip.field("from"), "closed");
    assert_eq!(trip.field("rate"), "failure_rate");
    assert_eq!(trip.field("value"), "1.0");
    let give_up = events.last().unwrap();
    assert_eq!(give_up.field("reason"), "circuit breaker open");

    // After open_duration a trial call is let through; it fails and reopens the breaker.
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    assert_eq!(behind_breaker().await, Err(E::Down(0)));
    let events = capture.take();
    let transitions: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.fields.contains_key("to"))
        .map(|e| (e.field("from").to_owned(), e.field("to").to_owned()))
        .collect();
    assert_eq!(
        transitions,
        [
            ("open".into(), "half-open".into()),
            ("half-open".into(), "open".into())
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn errors_without_display_or_debug_show_a_placeholder() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    assert!(opaque().await.is_err());
    let events = capture.take();
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|e| e.field("error") == "<error type is neither Display nor Debug>"),
        "{events:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn resetting_a_closed_breaker_is_not_a_transition() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let quiet = retry_runtime::breaker("events-quiet").unwrap();
    quiet.reset();
    assert!(capture.take().is_empty(), "closed -> closed is no event");
    quiet.force_open();
    quiet.force_open();
    quiet.reset();
    let transitions: Vec<(String, String)> = capture
        .take()
        .iter()
        .map(|e| (e.field("from").to_owned(), e.field("to").to_owned()))
        .collect();
    assert_eq!(
        transitions,
        [
            ("closed".into(), "forced-open".into()),
            ("forced-open".into(), "closed".into())
        ]
    );
}

#[retryable(policy = "events", name = "events.inner")]
async fn inner_down() -> Result<u32, E> {
    Err(E::Down(0))
}

#[retryable(policy = "events", name = "events.outer")]
async fn outer_of_inner() -> Result<u32, E> {
    inner_down().await
}

#[tokio::test(start_paused = true)]
async fn a_nested_call_says_so_and_only_the_outer_call_retries() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    assert_eq!(outer_of_inner().await, Err(E::Down(0)));
    let events = capture.take();
    let nested: Vec<_> = events
        .iter()
        .filter(|e| e.field("nested") == "true")
        .collect();
    assert_eq!(nested.len(), 3, "one per outer attempt: {events:#?}");
    for e in &nested {
        assert_eq!(e.level, Level::DEBUG);
        assert_eq!(e.field("call_site"), "events.inner");
        assert_eq!(e.field("reason"), "nested: the outer call retries");
    }
    let retries: Vec<_> = events
        .iter()
        .filter(|e| e.message() == "attempt failed; retrying")
        .map(|e| e.field("call_site"))
        .collect();
    assert_eq!(retries, ["events.outer", "events.outer"]);
}

/// An error whose `Debug` spans lines (a backtrace, say) and whose `Display` is one line.
struct Loud;

impl std::fmt::Display for Loud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk on fire")
    }
}

impl std::fmt::Debug for Loud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Loud {\n    backtrace: [\n        0: main,\n    ],\n}")
    }
}

impl Classify for Loud {
    fn classify(&self) -> Class {
        Class::Transient
    }
}

impl From<Rejected> for Loud {
    fn from(_: Rejected) -> Self {
        Loud
    }
}

#[retryable(policy = "events", name = "events.loud")]
async fn loud() -> Result<u32, Loud> {
    Err(Loud)
}

#[retryable(policy = "events", name = "events.anyhow")]
async fn with_context() -> anyhow::Result<u32> {
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer reset");
    Err(anyhow::Error::new(io).context("fetching the manifest"))
}

#[tokio::test(start_paused = true)]
async fn errors_show_their_display_on_one_line() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    assert!(loud().await.is_err());
    let events = capture.take();
    assert_eq!(events.len(), 3, "{events:#?}");
    assert!(
        events.iter().all(|e| e.field("error") == "disk on fire"),
        "{events:#?}"
    );

    assert!(with_context().await.is_err());
    let events = capture.take();
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e.field("error") == "fetching the manifest: peer reset"),
        "anyhow's chain on one line, no backtrace: {events:#?}"
    );
}

#[retryable(policy = "events-once", name = "events.storm")]
async fn storm() -> Result<u32, E> {
    Err(E::Down(0))
}

#[retryable(
    policy = "events-once",
    breaker = "events-storm",
    name = "events.rejected"
)]
async fn rejected() -> Result<u32, E> {
    Err(E::Down(0))
}

#[tokio::test(start_paused = true)]
async fn a_storm_of_give_ups_is_one_warning_per_interval_with_a_count() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    for _ in 0..100 {
        storm().await.unwrap_err();
    }
    let events = capture.take();
    let warnings: Vec<_> = events.iter().filter(|e| e.level == Level::WARN).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0].message(), "giving up");
    let quieted: Vec<_> = events.iter().filter(|e| e.level == Level::DEBUG).collect();
    assert_eq!(quieted.len(), 99);
    for e in &quieted {
        assert_eq!(
            e.message(),
            "giving up (repeated; counted in this call site's next warning)"
        );
        assert_eq!(e.field("reason"), "attempts exhausted");
        assert_eq!(e.field("error"), "Down(0)");
    }

    // Still within the interval: quiet.
    tokio::time::advance(retry_runtime::QUIET_INTERVAL - std::time::Duration::from_millis(1)).await;
    storm().await.unwrap_err();
    assert_eq!(capture.take()[0].level, Level::DEBUG);
    // The next interval: one warning that counts the quieted ones.
    tokio::time::advance(std::time::Duration::from_millis(1)).await;
    storm().await.unwrap_err();
    let events = capture.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].level, Level::WARN);
    assert_eq!(events[0].field("repeated"), "100");
    assert_eq!(
        events[0].message(),
        "giving up (and 100 more times since this call site's last warning, logged at DEBUG)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_storm_of_rejections_is_one_debug_line_per_interval() {
    setup();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    // Two failures open the breaker; then 50 calls are rejected.
    for _ in 0..52 {
        rejected().await.unwrap_err();
    }
    let rejections: Vec<_> = capture
        .take()
        .into_iter()
        .filter(|e| {
            e.message()
                .starts_with("circuit breaker open: call rejected")
        })
        .collect();
    assert_eq!(rejections.len(), 50);
    assert_eq!(rejections[0].level, Level::DEBUG);
    assert_eq!(rejections[0].field("repeated"), "0");
    assert!(rejections[1..].iter().all(|e| e.level == Level::TRACE));
}
