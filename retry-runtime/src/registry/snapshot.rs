//! The snapshot: every breaker (and keyed instance), budget and call site, as
//! one serializable picture for health endpoints and dashboards.

use super::call_site::call_sites;
use super::live::LIVE;
use super::objects::{live_breaker, live_budget, objects};

/// A serializable picture of every breaker, budget and call site, for health
/// endpoints and dashboards. Take one with [`snapshot`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Every breaker named by the config or by a call site, by name; each
    /// followed by its keyed instances (`breaker_key`), by key.
    pub breakers: Vec<BreakerSnapshot>,
    /// Every budget named by the config or by a call site, by name.
    pub budgets: Vec<BudgetSnapshot>,
    /// Every `#[retryable]` function, by name.
    pub call_sites: Vec<CallSiteSnapshot>,
}

/// One breaker in a [`Snapshot`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// Its name.
    pub name: String,
    /// The key of a keyed instance (`breaker_key`); `None` for the named breaker.
    pub key: Option<String>,
    /// Its counters, rates and state.
    #[serde(flatten)]
    pub metrics: crate::BreakerMetrics,
    /// The failure rate at which it opens (`failure_rate_threshold`).
    pub failure_rate_threshold: f64,
    /// The slow-call rate at which it opens (`slow_call_rate_threshold`).
    pub slow_call_rate_threshold: f64,
    /// The fleet's view of it, for a breaker with `fleet = true` (feature
    /// `redis`); `None` for a local breaker.
    pub fleet: Option<FleetView>,
}

/// A fleet breaker as this instance sees the fleet (feature `redis`): in a
/// [`BreakerSnapshot`].
///
/// ```
/// let snapshot = retry_runtime::snapshot();
/// // The `default` preset is local (`fleet = false`).
/// let default = snapshot.breakers.iter().find(|b| b.name == "default").unwrap();
/// assert!(default.fleet.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FleetView {
    /// Other live instances that report it open (0 while Redis is unreachable).
    pub reporting_open: u32,
    /// `fleet_quorum`: how many of them open it here.
    pub quorum: u32,
    /// Whether this instance holds the fleet's trial lock for it (its
    /// half-open trials are the fleet's).
    pub trial_lock: bool,
}

fn fleet_view(breaker: &crate::breaker::Breaker) -> Option<FleetView> {
    breaker.fleet_view().map(|view| FleetView {
        reporting_open: view.reporting,
        quorum: view.quorum,
        trial_lock: view.holds_lock,
    })
}

/// One budget in a [`Snapshot`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct BudgetSnapshot {
    /// Its name.
    pub name: String,
    /// Retries it would allow now.
    pub balance: f64,
    /// Retries it refused so far.
    pub exhausted: u64,
}

/// One call site in a [`Snapshot`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct CallSiteSnapshot {
    /// `name = "..."`, or `module_path::fn_name`.
    pub name: &'static str,
    /// Its policy.
    pub policy: &'static str,
    /// Its breaker, if any.
    pub breaker: Option<&'static str>,
    /// Its budget.
    pub budget: &'static str,
    /// Whether it is marked `idempotent`.
    pub idempotent: bool,
    /// Where it is: `file:line`.
    pub location: String,
    /// Its hedge (`hedge = "..."`), if it hedges.
    pub hedge: Option<&'static str>,
    /// The delay after which it sends a hedge now, in milliseconds: the
    /// fixed delay, or the percentile of its recent latencies; `None` while a
    /// percentile delay has fewer than `min_samples` latencies, or without a hedge.
    pub hedge_delay_ms: Option<f64>,
}

/// The state of every breaker, budget and call site now.
///
/// ```
/// let snapshot = retry_runtime::snapshot();
/// assert!(snapshot.budgets.iter().any(|b| b.name == "default"));
/// ```
#[must_use]
pub fn snapshot() -> Snapshot {
    let (breakers, budgets) = {
        let mut objects = objects();
        let config = LIVE.load();
        let mut breaker_names: Vec<&str> = config.breakers.keys().map(String::as_str).collect();
        breaker_names.extend(call_sites().iter().filter_map(|s| s.breaker));
        breaker_names.sort_unstable();
        breaker_names.dedup();
        let mut budget_names: Vec<&str> = config.budgets.keys().map(String::as_str).collect();
        budget_names.extend(call_sites().iter().map(|s| s.budget));
        budget_names.sort_unstable();
        budget_names.dedup();
        let mut breakers = Vec::new();
        for name in breaker_names {
            let live = live_breaker(&mut objects, &config, name, "retry_runtime::snapshot");
            let settings = *live.settings();
            breakers.push(BreakerSnapshot {
                name: name.to_owned(),
                key: None,
                metrics: live.metrics(),
                fleet: fleet_view(live),
                failure_rate_threshold: settings.failure_rate_threshold,
                slow_call_rate_threshold: settings.slow_call_rate_threshold,
            });
            // Each name's keyed instances follow it, by key.
            if let Some(keyed) = objects.keyed.get(name) {
                let mut instances: Vec<BreakerSnapshot> = keyed
                    .instances()
                    .iter()
                    .map(|instance| BreakerSnapshot {
                        name: name.to_owned(),
                        key: instance.key().map(|k| k.to_string()),
                        metrics: instance.metrics(),
                        fleet: fleet_view(instance),
                        failure_rate_threshold: settings.failure_rate_threshold,
                        slow_call_rate_threshold: settings.slow_call_rate_threshold,
                    })
                    .collect();
                instances.sort_by(|a, b| a.key.cmp(&b.key));
                breakers.extend(instances);
            }
        }
        let budgets = budget_names
            .into_iter()
            .map(|name| {
                let live = live_budget(&mut objects, &config, name, "retry_runtime::snapshot");
                BudgetSnapshot {
                    name: name.to_owned(),
                    balance: live.balance(),
                    exhausted: live.exhausted(),
                }
            })
            .collect();
        (breakers, budgets)
    };
    let mut call_sites: Vec<CallSiteSnapshot> = call_sites()
        .iter()
        .map(|s| CallSiteSnapshot {
            name: s.name,
            policy: s.policy,
            breaker: s.breaker,
            budget: s.budget,
            idempotent: s.idempotent,
            location: format!("{}:{}", s.file, s.line),
            hedge: s.hedge,
            hedge_delay_ms: s
                .hedge
                .and_then(|_| s.hedge_delay())
                .map(|d| d.as_secs_f64() * 1000.0),
        })
        .collect();
    call_sites.sort_by_key(|s| s.name);
    Snapshot {
        breakers,
        budgets,
        call_sites,
    }
}
