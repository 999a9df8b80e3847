//! The quickstart's scenario: a flaky key-value server on loopback, clients that
//! call it through `#[retryable]`, and a report of what happened, computed from
//! the run (the server's counters, the clients' counters and the library's own
//! `tracing` events).
//!
//! `examples/quickstart.rs` runs it with its default settings and prints the
//! report; `tests/quickstart.rs` runs it with other failure rates and a shorter
//! schedule, and checks that the report follows.
//!
//! Read it in this order:
//! - `client.rs`: what a user of the framework writes (the error type and two
//!   `#[retryable]` methods), and the client tasks that call them;
//! - `server.rs`: the flaky server;
//! - this file: the scenario's settings and [`run`], which puts them together;
//! - `progress.rs`: what is printed while it runs;
//! - the measuring: `events.rs` captures the library's own `tracing` events,
//!   `report.rs` turns every count into the report's figures, and `summary.rs`
//!   prints them.

mod client;
mod events;
mod progress;
mod report;
mod server;
mod summary;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;

pub use events::{EventLayer, Events};
// What tests/quickstart.rs checks; the example itself prints the summary alone.
#[allow(unused_imports)]
pub use report::{PhaseReport, REASON_BREAKER, REASON_BUDGET, Report, Transition, describe};

/// The number of phases.
pub const PHASES: usize = 4;

/// The server's phases, in order, each `Scenario::phase_length` long.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// Occasional failures and throttling.
    Flaky,
    /// Many failures.
    Brownout,
    /// Every request fails (by default).
    Outage,
    /// Healthy again (by default).
    Recovery,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; PHASES] = [
        Phase::Flaky,
        Phase::Brownout,
        Phase::Outage,
        Phase::Recovery,
    ];

    /// The phase's name in the output.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Flaky => "flaky",
            Phase::Brownout => "brownout",
            Phase::Outage => "outage",
            Phase::Recovery => "recovery",
        }
    }

    /// The phase's position in [`Phase::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How live progress is shown.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Progress {
    /// Not at all (tests).
    Off,
    /// One line about every second (output to a file or a pipe).
    Lines,
    /// A status line redrawn in place (a terminal).
    Redraw,
}

/// What the run does: how long, how many clients, how the server fails.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The length of each phase.
    pub phase_length: Duration,
    /// Client tasks calling the server concurrently.
    pub workers: u64,
    /// Seeds the server's draws, so that a run can be repeated.
    pub seed: u64,
    /// The share of requests the server answers "unavailable", per phase.
    pub failure_rate: [f64; PHASES],
    /// The share of requests the server throttles in the flaky phase.
    pub throttle_rate: f64,
    /// The delay a throttled request is told to wait.
    pub throttle_after: Duration,
    /// Live progress on standard output.
    pub progress: Progress,
}

impl Default for Scenario {
    /// The quickstart's run: four phases of 2.5 s, eight clients.
    fn default() -> Self {
        Scenario {
            phase_length: Duration::from_millis(2500),
            workers: 8,
            seed: 2024,
            failure_rate: [0.10, 0.30, 1.0, 0.0],
            throttle_rate: 0.04,
            throttle_after: Duration::from_millis(50),
            progress: Progress::Lines,
        }
    }
}

/// The phase the server is in `elapsed` after the run's start.
fn phase_at(scenario: &Scenario, elapsed: Duration) -> Phase {
    let index = elapsed.as_nanos() / scenario.phase_length.as_nanos().max(1);
    Phase::ALL[usize::try_from(index).unwrap_or(PHASES).min(PHASES - 1)]
}

/// Runs the scenario: starts the server, drives the clients through the
/// phases, shows progress, and returns the report. `events` must be the store
/// of an [`EventLayer`] installed in the global subscriber.
pub async fn run(
    scenario: &Scenario,
    events: &Events,
) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    // The library's counters before the run: the report counts the run alone.
    let baseline = report::Baseline::take(events)?;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let start = Instant::now();
    let std_start = std::time::Instant::now();
    let (server, server_task) = server::Server::start(scenario, listener, start);
    progress::announce(scenario, addr);

    let counts: Arc<[client::ClientCounts; PHASES]> = Arc::new(Default::default());
    let total = scenario.phase_length * u32::try_from(PHASES)?;
    let workers = client::spawn(scenario, addr, start, start + total, &counts);

    let line_drawn = progress::follow(progress::Watch {
        scenario,
        events,
        first_event: baseline.first_event,
        start,
        std_start,
        total,
        counts: &counts,
        breaker: &baseline.breaker,
        budget: &baseline.budget,
    })
    .await?;
    for worker in workers {
        worker.await?;
    }
    progress::clear(line_drawn);
    server_task.abort();

    // Every call has returned, so every event of the run has been captured.
    let captured = events.since(baseline.first_event);
    Ok(Report::collect(
        scenario, &baseline, std_start, &counts, &server, &captured,
    ))
}
