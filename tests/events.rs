//! Recent events (DESIGN §14): changes only, so a storm of give-ups cannot
//! flush the transition that explains it; budget dry spells as two events;
//! the ring (tests/events_ring.rs) keeps the newest, oldest first.

mod support;

use std::time::Duration;

use retry_runtime::{EventKind, EventLevel, recent_events, retryable};

const CONFIG: &str = r#"
[policies.events-once]
max_attempts = 1

[policies.events-twice]
max_attempts = 2
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[breakers.events-storm]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 1.0
open_duration = "1h"

[budgets.events-dry]
ttl = "1s"
min_retries_per_sec = 2
retry_ratio = 0.0
"#;

#[retryable(policy = "events-once", breaker = "events-storm")]
async fn storm() -> std::io::Result<()> {
    Err(std::io::ErrorKind::ConnectionRefused.into())
}

#[retryable(policy = "events-twice", budget = "events-dry")]
async fn dry() -> std::io::Result<()> {
    Err(std::io::ErrorKind::ConnectionReset.into())
}

#[tokio::test(start_paused = true)]
async fn a_transition_survives_ten_thousand_give_ups_after_it() {
    support::install_once(CONFIG);
    // Four failures open the breaker; then 10,000 calls are refused.
    for _ in 0..10_004 {
        assert!(storm().await.is_err());
    }
    let events = recent_events();
    let opened = events
        .iter()
        .find(|e| {
            e.kind == EventKind::BreakerTransition
                && e.fields["breaker"].to_string() == "events-storm"
        })
        .expect("the transition is still there");
    assert_eq!(opened.level, EventLevel::Warn);
    assert_eq!(opened.fields["from"].to_string(), "closed");
    assert_eq!(opened.fields["to"].to_string(), "open");
    assert_eq!(
        opened.fields["reason"].to_string(),
        "failure_rate 1.00 reached its threshold"
    );
    assert_eq!(
        opened.message,
        "circuit breaker `events-storm` closed → open: failure_rate 1.00 reached its threshold"
    );
    assert!(
        events.len() < 100,
        "no event per call: {} events",
        events.len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_budget_running_dry_is_one_event_and_recovering_another() {
    support::install_once(CONFIG);
    let count = |kind| {
        recent_events()
            .iter()
            .filter(|e| e.kind == kind && e.fields["budget"].to_string() == "events-dry")
            .count()
    };
    // The reserve: 2 retries per second over 1 s. Then every retry is refused.
    for _ in 0..50 {
        dry().await.unwrap_err();
    }
    assert_eq!(
        count(EventKind::BudgetExhausted),
        1,
        "{:#?}",
        recent_events()
    );
    assert_eq!(count(EventKind::BudgetRecovered), 0);
    tokio::time::advance(Duration::from_secs(2)).await;
    dry().await.unwrap_err();
    assert_eq!(count(EventKind::BudgetRecovered), 1);
    let recovered = recent_events()
        .into_iter()
        .rfind(|e| e.kind == EventKind::BudgetRecovered)
        .unwrap();
    assert_eq!(recovered.fields["refused"].to_string(), "48");
    assert_eq!(count(EventKind::BudgetExhausted), 1);

    // A budget that flaps (dry, refilled, dry again) within the quiet
    // interval (10 s from the reported spell at 0 s) is one reported spell:
    // the spells at 4, 6 and 8 s are counted in the next report, at 10 s.
    for _ in 0..3 {
        tokio::time::advance(Duration::from_secs(2)).await;
        for _ in 0..10 {
            dry().await.unwrap_err();
        }
    }
    assert_eq!(
        count(EventKind::BudgetExhausted),
        1,
        "{:#?}",
        recent_events()
    );
    assert_eq!(count(EventKind::BudgetRecovered), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    for _ in 0..10 {
        dry().await.unwrap_err();
    }
    assert_eq!(count(EventKind::BudgetExhausted), 2);
    let again = recent_events()
        .into_iter()
        .rfind(|e| e.kind == EventKind::BudgetExhausted)
        .unwrap();
    assert_eq!(again.fields["repeated"].to_string(), "3");
}
