//! Real round trips: a `reqwest::Client` calls a hyper server on 127.0.0.1
//! through `#[retryable]` functions returning `retry_runtime::reqwest::Error`.
//! Every test asserts what the server saw: how many requests, and when.
//!
//! Waits are measured from the server's own arrival instants, with generous
//! bounds (this runs on a shared machine): a real network cannot be driven by
//! tokio's paused clock. `tests/retry_after.rs` checks the same rules exactly
//! on the paused clock.

#[path = "support/loopback.rs"]
mod loopback;
mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use loopback::{Reply, Server, client};
use retry_runtime::reqwest::{Error, send};
use retry_runtime::{Class, Classify, Rejected, retryable};

const CONFIG: &str = r#"
[policies.http]
max_attempts = 3
backoff = "constant"
initial_delay = "20ms"
jitter = "none"

[policies.hanging]
base = "http"
attempt_timeout = "300ms"
"#;

#[retryable(policy = "http")]
async fn get(client: &reqwest::Client, url: &str) -> Result<String, Error> {
    Ok(send(client.get(url)).await?.text().await?)
}

#[retryable(policy = "hanging")]
async fn get_with_timeout(client: &reqwest::Client, url: &str) -> Result<String, Error> {
    Ok(send(client.get(url)).await?.text().await?)
}

#[retryable(policy = "http")]
async fn post(client: &reqwest::Client, url: &str, attempts: &AtomicU32) -> Result<String, Error> {
    attempts.fetch_add(1, Ordering::SeqCst);
    Ok(send(client.post(url).body("order")).await?.text().await?)
}

#[retryable(policy = "http", idempotent)]
async fn post_idempotent(client: &reqwest::Client, url: &str) -> Result<String, Error> {
    Ok(send(client.post(url).body("order")).await?.text().await?)
}

/// `check` alone does not know the method; `with_method` tells it.
#[retryable(policy = "http")]
async fn patch_checked(client: &reqwest::Client, url: &str) -> Result<(), Error> {
    let response = client.patch(url).send().await?;
    retry_runtime::reqwest::check(response).map_err(|e| e.with_method(reqwest::Method::PATCH))?;
    Ok(())
}

#[tokio::test]
async fn two_503s_then_200_succeeds_on_the_third_request() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script(
        "/flaky",
        [Reply::Status(503), Reply::Status(503), Reply::Status(200)],
    );
    let body = get(&client(), &server.url("/flaky"))
        .await
        .expect("the third request succeeds");
    assert_eq!(body, "200 OK\n");
    assert_eq!(server.hits("/flaky").len(), 3);
}

#[tokio::test]
async fn a_404_is_one_request() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script("/missing", [Reply::Status(404)]);
    let error = get(&client(), &server.url("/missing")).await.unwrap_err();
    assert_eq!(error.status(), Some(reqwest::StatusCode::NOT_FOUND));
    assert_eq!(error.classify(), Class::Permanent);
    assert_eq!(server.hits("/missing").len(), 1);
}

#[tokio::test]
async fn retry_after_one_second_waits_one_second() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script(
        "/throttled",
        [Reply::RetryAfter(429, "1".into()), Reply::Status(200)],
    );
    get(&client(), &server.url("/throttled"))
        .await
        .expect("the second request succeeds");
    let gaps = server.gaps("/throttled");
    assert_eq!(gaps.len(), 1, "two requests");
    // The hint, not the policy's 20 ms backoff; generous upper bound for a busy machine.
    assert!(gaps[0] >= Duration::from_secs(1), "waited {:?}", gaps[0]);
    assert!(gaps[0] < Duration::from_secs(3), "waited {:?}", gaps[0]);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_waited() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    // A date two seconds ahead (rounded up to a whole second): between 1 and 3 s from now.
    server.script(
        "/dated",
        [Reply::retry_after_date(503, 2), Reply::Status(200)],
    );
    get(&client(), &server.url("/dated"))
        .await
        .expect("the second request succeeds");
    let gaps = server.gaps("/dated");
    assert_eq!(gaps.len(), 1, "two requests");
    assert!(
        gaps[0] >= Duration::from_millis(900),
        "waited {:?}",
        gaps[0]
    );
    assert!(gaps[0] < Duration::from_secs(5), "waited {:?}", gaps[0]);
}

#[tokio::test]
async fn retry_after_an_hour_gives_up_at_once() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script("/closed-for-lunch", [Reply::RetryAfter(503, "3600".into())]);
    let started = Instant::now();
    let error = get(&client(), &server.url("/closed-for-lunch"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(server.hits("/closed-for-lunch").len(), 1);
    // The server's own answer comes back, hint included.
    assert_eq!(
        error.status(),
        Some(reqwest::StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(
        error.classify(),
        Class::RetryAfter(Duration::from_secs(3600))
    );
}

#[tokio::test]
async fn a_hanging_server_is_cut_by_the_attempt_timeout_each_time() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script("/hang", [Reply::Hang]);
    let error = get_with_timeout(&client(), &server.url("/hang"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.rejected(),
            Some(Rejected::AttemptTimeout { attempt: 3, .. })
        ),
        "{error:?}"
    );
    assert_eq!(server.hits("/hang").len(), 3);
    for gap in server.gaps("/hang") {
        // 300 ms timeout + 20 ms backoff between arrivals.
        assert!(gap >= Duration::from_millis(300), "gap {gap:?}");
    }
}

#[tokio::test]
async fn a_reset_get_is_retried() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script("/reset", [Reply::Reset, Reply::Reset, Reply::Status(200)]);
    get(&client(), &server.url("/reset"))
        .await
        .expect("the third request succeeds");
    assert_eq!(server.hits("/reset").len(), 3);
}

#[tokio::test]
async fn a_post_answered_503_is_not_repeated() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script("/orders", [Reply::Status(503), Reply::Status(200)]);
    let attempts = AtomicU32::new(0);
    let error = post(&client(), &server.url("/orders"), &attempts)
        .await
        .unwrap_err();
    assert_eq!(
        error.status(),
        Some(reqwest::StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(error.method(), Some(&reqwest::Method::POST));
    assert!(!error.replay_safe());
    assert_eq!(server.hits("/orders").len(), 1);
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_post_whose_connection_was_reset_is_not_repeated() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script("/orders", [Reply::Reset, Reply::Status(200)]);
    let attempts = AtomicU32::new(0);
    let error = post(&client(), &server.url("/orders"), &attempts)
        .await
        .unwrap_err();
    assert!(
        !error.is_connect(),
        "the request reached the server: {error:?}"
    );
    assert_eq!(error.classify(), Class::Transient);
    assert_eq!(server.hits("/orders").len(), 1);
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_post_that_never_connected_is_retried() {
    support::install_once(CONFIG);
    // A port that was just free: nothing listens there, so connecting is refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let attempts = AtomicU32::new(0);
    let error = post(&client(), &format!("http://{closed}/orders"), &attempts)
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    assert!(error.replay_safe());
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "every attempt of the policy"
    );
}

#[tokio::test]
async fn an_idempotent_post_is_repeated() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script(
        "/upsert",
        [Reply::Status(503), Reply::Reset, Reply::Status(200)],
    );
    post_idempotent(&client(), &server.url("/upsert"))
        .await
        .expect("the third request succeeds");
    let hits = server.hits("/upsert");
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.method == "POST"));
}

#[tokio::test]
async fn check_with_method_marks_a_patch() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script("/profile", [Reply::Status(502)]);
    let error = patch_checked(&client(), &server.url("/profile"))
        .await
        .unwrap_err();
    assert_eq!(error.method(), Some(&reqwest::Method::PATCH));
    assert_eq!(server.hits("/profile").len(), 1);
}
