//! What a breaker and the retry loop make of real HTTP failures, over a real
//! `reqwest::Client` and a real server on 127.0.0.1.
//!
//! - Issue 16, item 2: a service that answers `503` with `Retry-After` is
//!   down, and its breaker opens; a `429` with `Retry-After` (the service is
//!   alive and asks us to slow down) does not open it, nor does gRPC pushback.
//! - Issue 16, item 10: a body cut off by the connection (`Content-Length: 100`,
//!   ten bytes, close) is transient and retried; a body that arrived whole but
//!   does not decode is permanent.

#[path = "support/loopback.rs"]
mod loopback;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use loopback::{Reply, Server, client};
use retry_runtime::reqwest::{Error, send};
use retry_runtime::{BreakerState, Class, Classify, retryable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CONFIG: &str = r#"
[policies.once]
max_attempts = 1

[policies.http]
max_attempts = 3
backoff = "constant"
initial_delay = "1ms"
jitter = "none"

[breakers.outage]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5
open_duration = "60s"

[breakers.throttle]
base = "outage"

[breakers.throttle_counted]
base = "outage"
retry_after_is_failure = true

[breakers.pushback]
base = "outage"
"#;

#[retryable(policy = "once", breaker = "outage")]
async fn outage(client: &reqwest::Client, url: &str) -> Result<String, Error> {
    Ok(send(client.get(url)).await?.text().await?)
}

#[retryable(policy = "once", breaker = "throttle")]
async fn throttle(client: &reqwest::Client, url: &str) -> Result<String, Error> {
    Ok(send(client.get(url)).await?.text().await?)
}

#[retryable(policy = "once", breaker = "throttle_counted")]
async fn throttle_counted(client: &reqwest::Client, url: &str) -> Result<String, Error> {
    Ok(send(client.get(url)).await?.text().await?)
}

/// Issue 16, item 2: sixty calls to a dead service that set `Retry-After`
/// left its breaker closed. Four failures in a window of four open it now,
/// and the server sees no more requests.
#[tokio::test]
async fn a_503_with_retry_after_opens_the_breaker() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script("/down", [Reply::RetryAfter(503, "1".into())]);
    let client = client();
    for _ in 0..10 {
        let error = outage(&client, &server.url("/down"))
            .await
            .expect_err("a 503 is an error");
        // The class is still the hint, as DESIGN §8 says.
        if error.rejected().is_none() {
            assert_eq!(
                error.classify(),
                Class::RetryAfter(std::time::Duration::from_secs(1))
            );
            assert!(error.is_outage(), "a 503 is an outage");
        }
    }
    let breaker = retry_runtime::breaker("outage").expect("configured");
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(
        server.hits("/down").len(),
        4,
        "the breaker opened after the window's four failures"
    );
}

/// A `429` with `Retry-After` is a live service pushing back: the breaker
/// stays closed (unless `retry_after_is_failure`), and every call reaches it.
#[tokio::test]
async fn a_429_with_retry_after_does_not_open_the_breaker() {
    support::install_once(CONFIG);
    let server = Server::start().await;
    server.script("/busy", [Reply::RetryAfter(429, "1".into())]);
    let client = client();
    for _ in 0..10 {
        let error = throttle(&client, &server.url("/busy"))
            .await
            .expect_err("a 429 is an error");
        assert!(error.rejected().is_none(), "never refused by the breaker");
        assert!(!error.is_outage());
    }
    let breaker = retry_runtime::breaker("throttle").expect("configured");
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(server.hits("/busy").len(), 10);

    // A breaker told to count throttling opens on it.
    for _ in 0..10 {
        let _ = throttle_counted(&client, &server.url("/busy")).await;
    }
    let counted = retry_runtime::breaker("throttle_counted").expect("configured");
    assert_eq!(counted.state(), BreakerState::Open);
    assert_eq!(server.hits("/busy").len(), 14);
}

#[retryable(policy = "once", breaker = "pushback")]
async fn pushed_back() -> Result<(), tonic::Status> {
    let mut status = tonic::Status::resource_exhausted("quota");
    status
        .metadata_mut()
        .insert("grpc-retry-pushback-ms", "250".parse().expect("ASCII"));
    Err(status)
}

/// gRPC pushback is throttling too: it does not open the breaker.
#[tokio::test]
async fn grpc_pushback_does_not_open_the_breaker() {
    support::install_once(CONFIG);
    for _ in 0..10 {
        let status = pushed_back().await.expect_err("pushed back");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    }
    let breaker = retry_runtime::breaker("pushback").expect("configured");
    assert_eq!(breaker.state(), BreakerState::Closed);
}

/// A raw HTTP/1.1 server on 127.0.0.1: each connection gets the next of
/// `replies` (the last repeats) written as they are, then is closed.
async fn raw_server(replies: Vec<&'static [u8]>) -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}/item", listener.local_addr().expect("bound"));
    let served = Arc::new(AtomicU32::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let n = count.fetch_add(1, Ordering::SeqCst) as usize;
            let reply = replies[n.min(replies.len() - 1)];
            tokio::spawn(async move {
                // Read the request head, then answer and close.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, served)
}

const CUT_OFF: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n0123456789";
const WHOLE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789";
const NOT_JSON: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot json!!";

#[retryable(policy = "http")]
async fn fetch_text(client: &reqwest::Client, url: &str) -> Result<String, Error> {
    Ok(send(client.get(url)).await?.text().await?)
}

#[retryable(policy = "http")]
async fn fetch_json(client: &reqwest::Client, url: &str) -> Result<Vec<u32>, Error> {
    Ok(send(client.get(url)).await?.json().await?)
}

/// Issue 16, item 10: the most common transient failure of a GET, a body cut
/// off by the connection, was classified permanent and never retried.
#[tokio::test]
async fn a_body_cut_off_by_the_connection_is_transient_and_retried() {
    support::install_once(CONFIG);
    let client = client();

    let (url, served) = raw_server(vec![CUT_OFF]).await;
    let error = client
        .get(&url)
        .send()
        .await
        .expect("the head arrives whole")
        .text()
        .await
        .expect_err("the body is cut off");
    assert_eq!(error.classify(), Class::Transient, "{error:?}");
    assert_eq!(Error::from(error).classify(), Class::Transient);
    assert_eq!(served.load(Ordering::SeqCst), 1);

    let (url, served) = raw_server(vec![CUT_OFF, WHOLE]).await;
    let body = fetch_text(&client, &url).await.expect("the retry succeeds");
    assert_eq!(body, "0123456789");
    assert_eq!(served.load(Ordering::SeqCst), 2, "one retry");
}

/// A body that arrived whole but does not decode would fail the same way
/// again: permanent, one request.
#[tokio::test]
async fn a_whole_body_that_does_not_decode_is_permanent() {
    support::install_once(CONFIG);
    let client = client();
    let (url, served) = raw_server(vec![NOT_JSON]).await;
    let error = fetch_json(&client, &url).await.expect_err("not JSON");
    assert_eq!(error.classify(), Class::Permanent, "{error:?}");
    assert_eq!(served.load(Ordering::SeqCst), 1, "not retried");
}
