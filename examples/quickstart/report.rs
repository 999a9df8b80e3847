//! Measuring, part two: the run's figures, per phase, from three sources that
//! do not share code (the server's counters, the clients' counters and the
//! library's events), and the library's own counters before and after.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use retry_runtime::{BreakerHandle, BreakerState, BudgetHandle};

use super::client::ClientCounts;
use super::events::{Captured, Events, LibEvent};
use super::server::Server;
use super::{PHASES, Phase, Scenario, phase_at};

/// The give-up reasons of the library's "giving up" events.
pub const REASON_BUDGET: &str = "retry budget exhausted";
/// A retry refused by the breaker.
pub const REASON_BREAKER: &str = "circuit breaker open";

/// One phase's figures, every one counted during the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseReport {
    /// Calls started in the phase.
    pub calls: u64,
    /// Of those, calls that returned a value.
    pub ok: u64,
    /// Of the `ok` calls, those that needed more than one attempt.
    pub ok_after_retry: u64,
    /// Calls that returned an error from the server (their last attempt's).
    pub failed: u64,
    /// Calls the breaker refused before their first attempt (`Rejected::BreakerOpen`).
    pub fast_failed: u64,
    /// Requests the clients sent for calls started in the phase.
    pub attempts: u64,
    /// "attempt failed; retrying" events of those calls.
    pub retries: u64,
    /// "giving up" events of those calls, by reason.
    pub gave_up: BTreeMap<String, u64>,
    /// Of the give-ups for an open breaker, those that came after a retry was
    /// announced: the breaker refused the retry when its backoff ended. The
    /// others gave up without sleeping: their own failure (or another call's)
    /// had opened the breaker, which would still be open after the backoff.
    pub retries_refused: u64,
    /// Of the give-ups for an empty budget, those that came after a retry was
    /// announced: the budget held a retry when the call decided to retry, but
    /// other calls had taken it by the time its backoff ended. The others gave
    /// up at once, without sleeping.
    pub budget_refused_after_sleep: u64,
    /// For the calls the budget stopped: attempts their policy still allowed.
    pub budget_spared: u64,
    /// Requests that reached the server during the phase.
    pub server_requests: u64,
    /// Of those, answered "unavailable".
    pub server_unavailable: u64,
    /// Of those, throttled.
    pub server_throttled: u64,
}

impl PhaseReport {
    /// Give-ups for `reason`.
    pub fn gave_up(&self, reason: &str) -> u64 {
        self.gave_up.get(reason).copied().unwrap_or(0)
    }
}

/// A breaker transition, from the library's event.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// Time since the run started.
    pub at: Duration,
    /// The phase the server was in then.
    pub phase: Phase,
    /// The breaker's name.
    pub breaker: String,
    /// The state it left.
    pub from: String,
    /// The state it entered.
    pub to: String,
    /// The rate that reached its threshold, if one did.
    pub tripped: Option<(String, f64)>,
}

/// Everything the summary prints.
#[derive(Clone, Debug)]
pub struct Report {
    /// The phase length of the run.
    pub phase_length: Duration,
    /// Per phase.
    pub phases: [PhaseReport; PHASES],
    /// Every transition of the `storage` breaker, in order.
    pub transitions: Vec<Transition>,
    /// Attempts the breaker refused during the run (`BreakerMetrics::not_permitted`).
    pub breaker_refused: u64,
    /// Retries the budget refused during the run (`BudgetHandle::exhausted`).
    pub budget_refused: u64,
    /// The breaker's state at the end.
    pub final_state: BreakerState,
}

/// The `storage` breaker and budget, and where their counters and the event
/// store stood before the run, so that the report counts the run alone.
pub struct Baseline {
    /// The `storage` breaker.
    pub breaker: BreakerHandle,
    /// The `storage` budget.
    pub budget: BudgetHandle,
    /// Each call site's `max_attempts`, by call-site name.
    max_attempts: BTreeMap<&'static str, u64>,
    refused_before: u64,
    budget_before: u64,
    /// The index of the run's first event in the store.
    pub first_event: usize,
}

impl Baseline {
    /// Reads the counters now, before the run starts.
    pub fn take(events: &Events) -> Result<Baseline, Box<dyn std::error::Error + Send + Sync>> {
        let breaker =
            retry_runtime::breaker("storage").ok_or("the config defines the `storage` breaker")?;
        let budget =
            retry_runtime::budget("storage").ok_or("the config defines the `storage` budget")?;
        let config = retry_runtime::current_config();
        let max_attempts = retry_runtime::call_sites()
            .iter()
            .filter_map(|site| {
                let policy = config.policy(site.policy())?;
                Some((site.name(), u64::from(policy.max_attempts)))
            })
            .collect();
        Ok(Baseline {
            refused_before: breaker.metrics().not_permitted,
            budget_before: budget.exhausted(),
            breaker,
            budget,
            max_attempts,
            first_event: events.len(),
        })
    }
}

impl Report {
    /// The report of a finished run: the clients' and the server's counts per
    /// phase, the library's events of the run (`captured`) tallied by the phase
    /// of their call, and the library's counters since `baseline`.
    pub fn collect(
        scenario: &Scenario,
        baseline: &Baseline,
        std_start: std::time::Instant,
        counts: &[ClientCounts; PHASES],
        server: &Server,
        captured: &[Captured],
    ) -> Report {
        use std::sync::atomic::Ordering;

        let mut phases: [PhaseReport; PHASES] = Default::default();
        for (report, (client, server)) in phases
            .iter_mut()
            .zip(counts.iter().zip(server.counts.iter()))
        {
            report.calls = client.calls.load(Ordering::Relaxed);
            report.ok = client.ok.load(Ordering::Relaxed);
            report.ok_after_retry = client.ok_after_retry.load(Ordering::Relaxed);
            report.failed = client.failed.load(Ordering::Relaxed);
            report.fast_failed = client.fast_failed.load(Ordering::Relaxed);
            report.attempts = client.attempts.load(Ordering::Relaxed);
            report.server_requests = server.requests.load(Ordering::Relaxed);
            report.server_unavailable = server.unavailable.load(Ordering::Relaxed);
            report.server_throttled = server.throttled.load(Ordering::Relaxed);
        }
        let mut transitions = Vec::new();
        // The attempt after which each call last announced a retry.
        let mut announced: HashMap<u64, u64> = HashMap::new();
        for c in captured {
            // A give-up right after its retry was announced (same attempt count):
            // the breaker or the budget refused that retry when the backoff ended.
            let after_retry = match (&c.event, c.call_id) {
                (LibEvent::Retry { attempt }, Some(id)) => {
                    announced.insert(id, *attempt);
                    false
                }
                (LibEvent::GiveUp { attempts, .. }, Some(id)) => {
                    announced.get(&id) == Some(attempts)
                }
                _ => false,
            };
            match (&c.event, c.call_phase.and_then(|p| phases.get_mut(p))) {
                (LibEvent::Retry { .. }, Some(report)) => report.retries += 1,
                (
                    LibEvent::GiveUp {
                        call_site,
                        reason,
                        attempts,
                    },
                    Some(report),
                ) => {
                    *report.gave_up.entry(reason.clone()).or_default() += 1;
                    if reason == REASON_BREAKER && after_retry {
                        report.retries_refused += 1;
                    }
                    if reason == REASON_BUDGET && after_retry {
                        report.budget_refused_after_sleep += 1;
                    }
                    if reason == REASON_BUDGET {
                        let allowed = baseline
                            .max_attempts
                            .get(call_site.as_str())
                            .copied()
                            .unwrap_or(0);
                        report.budget_spared += allowed.saturating_sub(*attempts);
                    }
                }
                (LibEvent::Transition { .. }, _) => {
                    transitions.extend(transition(scenario, std_start, c));
                }
                _ => {}
            }
        }
        Report {
            phase_length: scenario.phase_length,
            phases,
            transitions,
            breaker_refused: baseline.breaker.metrics().not_permitted - baseline.refused_before,
            budget_refused: baseline.budget.exhausted() - baseline.budget_before,
            final_state: baseline.breaker.state(),
        }
    }
}

/// A transition event of the `storage` breaker, placed in the run's time.
pub fn transition(
    scenario: &Scenario,
    std_start: std::time::Instant,
    captured: &Captured,
) -> Option<Transition> {
    let LibEvent::Transition {
        breaker,
        from,
        to,
        tripped,
    } = &captured.event
    else {
        return None;
    };
    if breaker != "storage" {
        return None;
    }
    let at = captured.at.saturating_duration_since(std_start);
    Some(Transition {
        at,
        phase: phase_at(scenario, at),
        breaker: breaker.clone(),
        from: from.clone(),
        to: to.clone(),
        tripped: tripped.clone(),
    })
}

/// One transition in words.
pub fn describe(t: &Transition) -> String {
    let why = match (&t.tripped, t.from.as_str(), t.to.as_str()) {
        (Some((rate, value)), _, _) => format!(": {rate} {value:.2} reached its threshold"),
        (None, "open", "half-open") => ": open_duration over, trial calls allowed".to_owned(),
        (None, "half-open", "closed") => ": the trial calls were healthy".to_owned(),
        _ => String::new(),
    };
    format!(
        "breaker `{}` {} → {}{why} ({} phase)",
        t.breaker,
        t.from,
        t.to,
        t.phase.name()
    )
}
