//! A reqwest client under `#[retryable]`, against a flaky HTTP server on loopback.
//!
//! ```sh
//! cargo run --example http_client
//! ```
//!
//! The server (hyper, on 127.0.0.1) answers one GET in four with 503, one in
//! ten with 429 and `Retry-After: 1`, `/items/404` with 404, and one POST in
//! three with 503. The client's functions return `retry_runtime::reqwest::Error`
//! and contain no retry code: statuses, `Retry-After`, the breaker and the budget
//! are the runtime's. Its events are printed through `tracing-subscriber`, and a
//! summary, computed from what the client got and what the server saw, ends the run.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use retry_runtime::reqwest::{Error, send};
use retry_runtime::{Config, retryable};

const CONFIG: &str = r#"
[policies.http]
max_attempts = 4
backoff = "exponential"
initial_delay = "50ms"
max_delay = "1s"
jitter = "full"
max_elapsed = "10s"
max_retry_after = "2s"      # a longer Retry-After gives up at once

[breakers.catalog]
failure_rate_threshold = 0.5
minimum_calls = 20
open_duration = "5s"
"#;

/// GET one item. Nothing here retries: the attribute does.
#[retryable(policy = "http", breaker = "catalog")]
async fn item(client: &reqwest::Client, base: &str, id: u32) -> Result<String, Error> {
    Ok(send(client.get(format!("{base}/items/{id}")))
        .await?
        .text()
        .await?)
}

/// POST an order. Not `idempotent`: a POST that reached the server is not repeated.
#[retryable(policy = "http", breaker = "catalog")]
async fn order(client: &reqwest::Client, base: &str, id: u32) -> Result<String, Error> {
    let request = client
        .post(format!("{base}/orders"))
        .body(format!("item={id}"));
    Ok(send(request).await?.text().await?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    retry_runtime::install(Config::from_toml_str(CONFIG)?)?;

    let server = FlakyServer::start().await?;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder().no_proxy().build()?;

    let started = Instant::now();
    let mut outcomes: BTreeMap<String, u32> = BTreeMap::new();
    let mut calls = 0u32;
    for id in 1..=24 {
        let id = if id == 24 { 404 } else { id };
        calls += 1;
        let outcome = match item(&client, &base, id).await {
            Ok(_) => "GET ok".to_owned(),
            Err(e) => format!("GET failed: {}", describe(&e)),
        };
        *outcomes.entry(outcome).or_default() += 1;
    }
    for id in 1..=6 {
        calls += 1;
        let outcome = match order(&client, &base, id).await {
            Ok(_) => "POST ok".to_owned(),
            Err(e) => format!("POST failed: {}", describe(&e)),
        };
        *outcomes.entry(outcome).or_default() += 1;
    }
    let elapsed = started.elapsed();

    let seen = server.seen();
    let requests: u64 = seen.values().sum();
    println!();
    println!("summary ({:.1} s)", elapsed.as_secs_f64());
    println!("  calls made by the client     {calls}");
    for (outcome, count) in &outcomes {
        println!("    {outcome:<27}{count}");
    }
    println!("  requests the server saw      {requests}");
    for (answer, count) in &seen {
        println!("    answered {answer:<18}{count}");
    }
    println!(
        "  retries (requests - calls)   {}",
        requests.saturating_sub(u64::from(calls))
    );
    if let Some(breaker) = retry_runtime::breaker("catalog") {
        println!("  breaker `catalog`            {:?}", breaker.state());
    }
    if let Some(budget) = retry_runtime::budget("default") {
        println!("  retry budget left            {:.1}", budget.balance());
    }
    Ok(())
}

fn describe(error: &Error) -> String {
    match error.status() {
        Some(status) => format!("HTTP {}", status.as_u16()),
        None if error.is_connect() => "connect".to_owned(),
        None => "other".to_owned(),
    }
}

/// The flaky server: deterministic, so two runs answer alike.
struct FlakyServer {
    addr: SocketAddr,
    /// Answers given, by status.
    seen: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl FlakyServer {
    async fn start() -> std::io::Result<FlakyServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let counter = Arc::new(AtomicU64::new(0));
        let state = (seen.clone(), counter);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, counter) = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let answer = answer(&request, &counter);
                        if let Ok(mut seen) = seen.lock() {
                            *seen.entry(answer.label()).or_default() += 1;
                        }
                        async move { Ok::<_, Infallible>(answer.response()) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Ok(FlakyServer { addr, seen })
    }

    fn seen(&self) -> BTreeMap<String, u64> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
}

impl Answer {
    fn label(&self) -> String {
        match self.retry_after {
            Some(after) => format!("{} (retry {}s)", self.status.as_u16(), after.as_secs()),
            None => self.status.as_u16().to_string(),
        }
    }

    fn response(&self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(self.status.to_string())));
        *response.status_mut() = self.status;
        if let Some(after) = self.retry_after {
            response
                .headers_mut()
                .insert(hyper::header::RETRY_AFTER, after.as_secs().into());
        }
        response
    }
}

fn answer(request: &Request<Incoming>, counter: &AtomicU64) -> Answer {
    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
    let plain = |status| Answer {
        status,
        retry_after: None,
    };
    if request.uri().path() == "/items/404" {
        return plain(StatusCode::NOT_FOUND);
    }
    if request.method() == Method::POST {
        return plain(if n.is_multiple_of(3) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::CREATED
        });
    }
    if n.is_multiple_of(10) {
        Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(1)),
        }
    } else if n.is_multiple_of(4) {
        plain(StatusCode::SERVICE_UNAVAILABLE)
    } else {
        plain(StatusCode::OK)
    }
}
