//! The admin router's live dashboard, on the quickstart's flaky storage service.
//!
//! ```text
//! cargo run --example dashboard                      # one minute, then a summary
//! cargo run --example dashboard -- --keep-running    # the phases over and over
//! cargo run --example dashboard -- --port 9090       # a fixed port (default: any free one)
//! ```
//!
//! It serves `retry_runtime::admin::router_with_token` under `/admin` on
//! 127.0.0.1 and prints the dashboard's URL (with the token in its fragment,
//! so the page shows the write buttons). Then the quickstart's scenario runs
//! with phases of 15 s: **flaky**, **brownout**, **outage** (the `storage`
//! breaker opens, half-opens, opens again), **recovery** (it closes). Keyed
//! instances of `storage` (two replicas) show beside it, one forced open
//! during the outage. The token is `ADMIN_TOKEN` from the environment, or
//! `demo-token`.

#[path = "quickstart/scenario.rs"]
mod scenario;

use std::time::Duration;

use retry_runtime::Config;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keep_running = args.iter().any(|a| a == "--keep-running");
    let port: u16 = match args.iter().position(|a| a == "--port") {
        Some(at) => args.get(at + 1).ok_or("--port needs a number")?.parse()?,
        None => 0,
    };

    // The scenario's report is built from the library's events.
    let events = scenario::Events::default();
    tracing_subscriber::registry()
        .with(scenario::EventLayer::new(events.clone()))
        .try_init()?;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/retry.toml");
    retry_runtime::install(Config::from_path(path)?)?;

    let token = std::env::var("ADMIN_TOKEN").unwrap_or_else(|_| "demo-token".to_owned());
    let app = axum::Router::new().nest(
        "/admin",
        retry_runtime::admin::router_with_token(token.clone()),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("Dashboard (write access): http://{addr}/admin#token={token}");
    println!("Dashboard (read-only):    http://{addr}/admin");
    println!();

    // Two replicas of the storage service, as keyed instances of its breaker.
    let replica_a = retry_runtime::breaker_for("storage", "replica-a").ok_or("storage breaker")?;
    let replica_b = retry_runtime::breaker_for("storage", "replica-b").ok_or("storage breaker")?;
    let scenario = scenario::Scenario {
        phase_length: Duration::from_secs(15),
        progress: scenario::Progress::Lines,
        ..scenario::Scenario::default()
    };
    loop {
        replica_a.reset();
        replica_b.reset();
        // Replica b is taken out by hand for the outage and recovery phases.
        let by_hand = tokio::spawn({
            let replica_b = replica_b.clone();
            let at = scenario.phase_length * 2;
            async move {
                tokio::time::sleep(at).await;
                replica_b.force_open();
            }
        });
        let report = scenario::run(&scenario, &events).await?;
        by_hand.abort();
        println!();
        print!("{}", report.summary());
        if !keep_running {
            return Ok(());
        }
        println!();
        println!("--keep-running: the phases start again.");
    }
}
