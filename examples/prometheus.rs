//! What your dashboards get: the framework's metrics as a Prometheus scrape.
//!
//! ```text
//! cargo run --example prometheus
//! ```
//!
//! Installs `metrics-exporter-prometheus`'s recorder, makes calls to two
//! `#[retryable]` functions against a flaky in-process service (retries, a budget
//! refusal, a breaker that opens), serves the text exposition format on a
//! loopback port with a minimal HTTP/1.1 responder, scrapes it once over TCP
//! like Prometheus would, prints the body and exits.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use metrics_exporter_prometheus::PrometheusBuilder;
use retry_runtime::{Config, retryable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CONFIG: &str = r#"
[policies.inventory]
max_attempts = 3
backoff = "exponential"
initial_delay = "5ms"
jitter = "none"

[breakers.inventory]
window_size = 10
minimum_calls = 10
failure_rate_threshold = 0.5
open_duration = "30s"

[budgets.inventory]
ttl = "10s"
min_retries_per_sec = 1
retry_ratio = 0.1
"#;

/// Fails every third request, then everything after the 40th: an outage.
static REQUESTS: AtomicU32 = AtomicU32::new(0);

async fn service() -> io::Result<u32> {
    let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
    if n % 3 == 2 || n >= 40 {
        Err(io::ErrorKind::ConnectionReset.into())
    } else {
        Ok(n)
    }
}

#[retryable(
    policy = "inventory",
    breaker = "inventory",
    budget = "inventory",
    name = "inventory.count"
)]
async fn count_items(sku: &str) -> io::Result<u32> {
    let _ = sku;
    service().await
}

#[retryable(
    policy = "inventory",
    breaker = "inventory",
    budget = "inventory",
    name = "inventory.reserve"
)]
async fn reserve(sku: &str, quantity: u32) -> io::Result<u32> {
    let _ = (sku, quantity);
    service().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The recorder first: call sites take their metric handles on their first call.
    let handle = PrometheusBuilder::new().install_recorder()?;
    retry_runtime::install(Config::from_toml_str(CONFIG)?)?;

    let (mut ok, mut failed) = (0, 0);
    for i in 0..40 {
        let result = if i % 2 == 0 {
            count_items("sku-1").await
        } else {
            reserve("sku-1", 2).await
        };
        if result.is_ok() { ok += 1 } else { failed += 1 }
    }
    eprintln!(
        "40 calls: {ok} ok, {failed} failed; breaker `inventory` is {}",
        retry_runtime::breaker("inventory")
            .map(|b| b.state().to_string())
            .unwrap_or_default()
    );

    // Serve /metrics on loopback, then scrape it once.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await?;
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request).await?;
        let body = handle.render();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
        Ok::<_, io::Error>(())
    });

    let mut scrape = TcpStream::connect(addr).await?;
    scrape
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut response = String::new();
    scrape.read_to_string(&mut response).await?;
    server.await??;
    let body = response
        .split_once("\r\n\r\n")
        .map_or(response.as_str(), |(_, body)| body);
    eprintln!("GET http://{addr}/metrics:\n");
    print!("{body}");
    Ok(())
}
