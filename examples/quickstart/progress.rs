//! Live progress while the scenario runs: each phase change, each breaker
//! transition as the library reports it, and a status line of the current
//! phase's counts.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use retry_runtime::{BreakerHandle, BudgetHandle};
use tokio::time::Instant;

use super::client::ClientCounts;
use super::events::{Events, LibEvent};
use super::report::{describe, transition};
use super::{PHASES, Phase, Progress, Scenario, phase_at};

/// Says what is about to run, and how to read the status line.
pub fn announce(scenario: &Scenario, addr: SocketAddr) {
    if scenario.progress != Progress::Off {
        println!(
            "Storage service listening on {addr}: {} clients, {PHASES} phases of {:?}.",
            scenario.workers, scenario.phase_length
        );
        println!(
            "Progress, for the calls started in the current phase: calls, ok, failed (the server's error), \
             fast-failed (refused by the open breaker), requests sent; the breaker's state; \
             budget = retries the `storage` budget would allow now.\n"
        );
    }
}

/// What the progress display reads.
pub struct Watch<'a> {
    pub scenario: &'a Scenario,
    pub events: &'a Events,
    /// The index of the run's first event in the store.
    pub first_event: usize,
    pub start: Instant,
    pub std_start: std::time::Instant,
    /// The run's length: the display returns when it is over.
    pub total: Duration,
    pub counts: &'a [ClientCounts; PHASES],
    pub breaker: &'a BreakerHandle,
    pub budget: &'a BudgetHandle,
}

/// Shows progress every 20 ms until the run's time is over. Returns whether a
/// status line is still drawn (to be cleared with [`clear`] when the clients
/// are done).
pub async fn follow(watch: Watch<'_>) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let Watch {
        scenario,
        events,
        first_event,
        start,
        std_start,
        total,
        counts,
        breaker,
        budget,
    } = watch;
    let mut shown = first_event;
    let mut last_phase = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let print_every = match scenario.progress {
        Progress::Redraw => 5,
        _ => 50,
    };
    let mut ticks = 0u64;
    let mut last_line_len = false;
    loop {
        ticker.tick().await;
        ticks += 1;
        let elapsed = start.elapsed();
        let phase = phase_at(
            scenario,
            elapsed.min(total.saturating_sub(Duration::from_nanos(1))),
        );
        let mut lines = Vec::new();
        if last_phase != Some(phase) {
            last_phase = Some(phase);
            lines.push(format!(
                "[{:>5.2}s] the server enters its {} phase: it is set to fail {:.0}% of requests{}",
                (scenario.phase_length * u32::try_from(phase.index())?).as_secs_f64(),
                phase.name(),
                100.0 * scenario.failure_rate[phase.index()],
                if phase == Phase::Flaky && scenario.throttle_rate > 0.0 {
                    format!(" and to throttle {:.0}%", 100.0 * scenario.throttle_rate)
                } else {
                    String::new()
                }
            ));
        }
        let new = events.since(shown);
        shown += new.len();
        for captured in &new {
            if let LibEvent::Transition { .. } = captured.event
                && let Some(t) = transition(scenario, std_start, captured)
            {
                lines.push(format!("[{:>5.2}s] {}", t.at.as_secs_f64(), describe(&t)));
            }
        }
        if scenario.progress != Progress::Off {
            let redraw = scenario.progress == Progress::Redraw;
            for line in lines {
                if redraw && last_line_len {
                    print!("\r\x1b[2K");
                }
                println!("{line}");
                last_line_len = false;
            }
            if ticks.is_multiple_of(print_every) {
                let t = &counts[phase.index()];
                let line = format!(
                    "[{:>5.2}s] {:<8} calls {:>5}  ok {:>5}  failed {:>4}  fast-failed {:>4}  requests {:>5}  breaker {:<9}  budget {:>5.1}",
                    elapsed.as_secs_f64(),
                    phase.name(),
                    t.calls.load(Ordering::Relaxed),
                    t.ok.load(Ordering::Relaxed),
                    t.failed.load(Ordering::Relaxed),
                    t.fast_failed.load(Ordering::Relaxed),
                    t.attempts.load(Ordering::Relaxed),
                    breaker.state().to_string(),
                    budget.balance(),
                );
                if redraw {
                    print!("\r\x1b[2K{line}");
                    io::stdout().flush()?;
                    last_line_len = true;
                } else {
                    println!("{line}");
                }
            }
        }
        if elapsed >= total {
            break;
        }
    }
    Ok(last_line_len)
}

/// Clears a status line left by [`follow`].
pub fn clear(line_drawn: bool) {
    if line_drawn {
        print!("\r\x1b[2K");
    }
}
