//! The framework at work on a flaky storage service, on loopback.
//!
//! ```text
//! cargo run --example quickstart
//! RUST_LOG=retry_runtime=info cargo run --example quickstart   # and the library's own events, on stderr
//! ```
//!
//! A small key-value server (real TCP on 127.0.0.1) goes through four phases:
//! **flaky** (it fails a share of requests and throttles a few with a
//! retry-after hint), a **brownout** (it fails more), a full **outage**, and
//! **recovery**. Eight client tasks call two `#[retryable]` functions
//! throughout, configured from `examples/retry.toml`. It ends by itself in
//! about 10 s with a summary in which every figure was counted during the run:
//! by the server, by the clients, or from the library's own `tracing` events
//! (retries, give-ups and breaker transitions, captured by a small layer in
//! `quickstart/events.rs`). `quickstart/scenario.rs` says in which order to
//! read the rest: the client a user would write comes first.

#[path = "quickstart/scenario.rs"]
mod scenario;

use std::io::IsTerminal as _;

use retry_runtime::Config;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // The library's events reach two layers: ours, which the summary is built
    // from, and a formatter on stderr that prints what `RUST_LOG` selects
    // (nothing by default).
    let events = scenario::Events::default();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("off"));
    tracing_subscriber::registry()
        .with(scenario::EventLayer::new(events.clone()))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .try_init()?;

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/retry.toml");
    retry_runtime::install(Config::from_path(path)?)?;
    println!("Installed examples/retry.toml. Call sites:");
    for site in retry_runtime::call_sites() {
        println!(
            "  {:<10} policy {:<15} breaker {:<8} budget {}",
            site.name(),
            site.policy(),
            site.breaker().unwrap_or("-"),
            site.budget()
        );
    }

    let scenario = scenario::Scenario {
        progress: if std::io::stdout().is_terminal() {
            scenario::Progress::Redraw
        } else {
            scenario::Progress::Lines
        },
        ..scenario::Scenario::default()
    };
    let report = scenario::run(&scenario, &events).await?;
    println!();
    print!("{}", report.summary());
    Ok(())
}
