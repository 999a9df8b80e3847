//! Keyed breaker instances across `install` and `reset_state`: new settings
//! for a name re-create its instances (a call in flight finishes on its own),
//! unchanged settings keep them, and `reset_state` drops them.

use std::io;
use std::time::Duration;

use retry_runtime::{BreakerState, Config, breaker, breaker_for, install, retryable};
use std::sync::Arc;

use tokio::sync::{Notify, oneshot};

const FIRST: &str = r#"
[policies.once]
max_attempts = 1

[breakers.hosts]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1m"
"#;

/// `hosts` unchanged, one more policy.
const SAME_BREAKER: &str = r#"
[policies.once]
max_attempts = 1

[policies.other]
max_attempts = 2

[breakers.hosts]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1m"
"#;

/// `hosts` with a longer window.
const NEW_BREAKER: &str = r#"
[policies.once]
max_attempts = 1

[breakers.hosts]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 1.0
open_duration = "1m"
"#;

#[retryable(policy = "once", breaker = "hosts", breaker_key = host)]
async fn call(host: &str, fail: bool) -> io::Result<()> {
    if fail {
        Err(io::ErrorKind::ConnectionRefused.into())
    } else {
        Ok(())
    }
}

#[retryable(policy = "once", breaker = "hosts", breaker_key = host)]
async fn call_waiting(host: &str, go: Arc<Notify>) -> io::Result<()> {
    go.notified().await;
    Err(io::ErrorKind::ConnectionRefused.into())
}

fn config(toml: &str) -> Config {
    Config::from_toml_str(toml).expect("valid")
}

/// One test: the steps share the global registry and must run in order.
#[tokio::test(start_paused = true)]
async fn install_recreates_changed_names_instances_and_reset_state_drops_them() {
    install(config(FIRST)).unwrap();
    call("a", true).await.unwrap_err();
    call("a", true).await.unwrap_err();
    assert_eq!(
        breaker_for("hosts", "a").unwrap().state(),
        BreakerState::Open
    );

    // Same settings for `hosts`: its instances keep their state.
    install(config(SAME_BREAKER)).unwrap();
    assert_eq!(
        breaker_for("hosts", "a").unwrap().state(),
        BreakerState::Open
    );

    // A call in flight on key `b` when the settings change.
    let go = Arc::new(Notify::new());
    let wait = Arc::clone(&go);
    let (tx, in_flight) = oneshot::channel();
    let task = tokio::spawn(async move {
        let _ = tx.send(());
        call_waiting("b", wait).await
    });
    in_flight.await.unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(breaker("hosts").unwrap().live_keys(), 2);

    install(config(NEW_BREAKER)).unwrap();
    // New settings: fresh instances with them; `a` is closed again.
    assert_eq!(breaker("hosts").unwrap().live_keys(), 0);
    let a = breaker_for("hosts", "a").unwrap();
    assert_eq!(a.state(), BreakerState::Closed);
    assert_eq!(a.settings().minimum_calls, 4);

    // The call in flight finishes on its old instance: the new `b` sees nothing.
    go.notify_one();
    task.await.unwrap().unwrap_err();
    let b = breaker_for("hosts", "b").unwrap();
    assert_eq!(b.metrics().calls, 0);
    assert_eq!(b.metrics().failures, 0);

    // reset_state drops every keyed instance.
    call("c", false).await.unwrap();
    breaker_for("hosts", "a").unwrap().force_open();
    assert_eq!(breaker("hosts").unwrap().live_keys(), 3);
    retry_runtime::reset_state();
    assert_eq!(breaker("hosts").unwrap().live_keys(), 0);
    call("a", false).await.expect("a fresh closed instance");
    assert_eq!(breaker_for("hosts", "a").unwrap().metrics().calls, 1);
}
