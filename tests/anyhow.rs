//! `anyhow::Result<T>` under `#[retryable]`, with no code of the user's: the
//! first error of the chain that the runtime knows decides; none: transient.

mod support;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use retry_runtime::{Class, Classify, Rejected, retryable};

const CONFIG: &str = r#"
[policies.anyhow]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[policies.anyhow_timeout]
base = "anyhow"
attempt_timeout = "50ms"
"#;

#[retryable(policy = "anyhow")]
async fn fails_with(calls: &AtomicU32, kind: io::ErrorKind) -> anyhow::Result<()> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(io::Error::from(kind)).context("reading the manifest")
}

#[retryable(policy = "anyhow")]
async fn bails(calls: &AtomicU32) -> anyhow::Result<()> {
    calls.fetch_add(1, Ordering::SeqCst);
    anyhow::bail!("the service said no")
}

#[retryable(policy = "anyhow_timeout")]
async fn hangs() -> anyhow::Result<()> {
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_first_known_error_of_the_chain_decides() {
    support::install_once(CONFIG);
    let calls = AtomicU32::new(0);
    let error = fails_with(&calls, io::ErrorKind::ConnectionReset)
        .await
        .unwrap_err();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "transient under its context"
    );
    assert_eq!(error.to_string(), "reading the manifest");

    let calls = AtomicU32::new(0);
    fails_with(&calls, io::ErrorKind::PermissionDenied)
        .await
        .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "permanent");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_error_is_transient() {
    support::install_once(CONFIG);
    let calls = AtomicU32::new(0);
    bails(&calls).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn rejections_arrive_as_anyhow_errors() {
    support::install_once(CONFIG);
    let error = hangs().await.unwrap_err();
    let rejected = error.downcast_ref::<Rejected>().expect("a Rejected inside");
    assert!(matches!(
        rejected,
        Rejected::AttemptTimeout { attempt: 3, .. }
    ));
    assert_eq!(error.classify(), Class::Transient);
}

#[test]
fn other_features_types_are_known_in_the_chain() {
    let status = anyhow::Error::new(tonic::Status::not_found("no such key")).context("lookup");
    assert_eq!(status.classify(), Class::Permanent);
    let open = anyhow::Error::new(Rejected::breaker_open("b"));
    assert_eq!(open.classify(), Class::Permanent);
}
