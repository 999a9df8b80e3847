//! `snapshot()`: a serializable view of every breaker, budget and call site.

use std::io;

use retry_runtime::{BreakerState, Config, install, retryable, snapshot};

#[retryable(
    policy = "snap",
    breaker = "snap-breaker",
    budget = "snap-budget",
    name = "snap.fetch"
)]
async fn fetch(fail: bool) -> io::Result<u32> {
    if fail {
        Err(io::ErrorKind::ConnectionReset.into())
    } else {
        Ok(1)
    }
}

const CONFIG: &str = r#"
[policies.snap]
max_attempts = 2
initial_delay = "10ms"
jitter = "none"

[breakers.snap-breaker]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5

[budgets.snap-budget]
ttl = "10s"
min_retries_per_sec = 1
retry_ratio = 0.5
"#;

#[tokio::test(start_paused = true)]
async fn snapshot_shows_breakers_budgets_and_call_sites_and_serializes() {
    install(Config::from_toml_str(CONFIG).unwrap()).unwrap();
    fetch(false).await.unwrap();
    fetch(true).await.unwrap_err(); // two attempts, both failed

    let snap = snapshot();
    let site = snap
        .call_sites
        .iter()
        .find(|s| s.name == "snap.fetch")
        .unwrap();
    assert_eq!(site.policy, "snap");
    assert_eq!(site.breaker, Some("snap-breaker"));
    assert_eq!(site.budget, "snap-budget");
    assert!(!site.idempotent);
    assert!(
        site.location.starts_with("tests/snapshot.rs:"),
        "{}",
        site.location
    );

    let breaker = snap
        .breakers
        .iter()
        .find(|b| b.name == "snap-breaker")
        .unwrap();
    assert_eq!(breaker.metrics.state, BreakerState::Closed);
    assert_eq!(breaker.metrics.calls, 3);
    assert_eq!(breaker.metrics.failures, 2);
    assert_eq!(breaker.metrics.window_calls, 3);
    assert!(
        snap.breakers.iter().any(|b| b.name == "default"),
        "config breakers are listed too"
    );

    let budget = snap
        .budgets
        .iter()
        .find(|b| b.name == "snap-budget")
        .unwrap();
    // Reserve 1/s × 10 s + 0.5 × 2 first attempts − 1 retry.
    assert!((budget.balance - 10.0).abs() < 1e-9, "{}", budget.balance);
    assert_eq!(budget.exhausted, 0);

    let json = serde_json::to_value(&snap).unwrap();
    let sites = json["call_sites"].as_array().unwrap();
    assert!(
        sites
            .iter()
            .any(|s| s["name"] == "snap.fetch" && s["breaker"] == "snap-breaker")
    );
    let breakers = json["breakers"].as_array().unwrap();
    let b = breakers
        .iter()
        .find(|b| b["name"] == "snap-breaker")
        .unwrap();
    assert_eq!(b["state"], "Closed");
    assert_eq!(b["failures"], 2);
}
