//! Metrics through the `metrics` facade (feature `metrics`). Without the
//! feature every method here is an empty inline function.
//!
//! | name | kind | labels | meaning |
//! |---|---|---|---|
//! | `retry_calls_total` | counter | `call_site`, `outcome` = `ok` \| `error` \| `rejected` | calls, by how they ended |
//! | `retry_attempts_total` | counter | `call_site` | attempts started (first attempts and retries) |
//! | `retry_retries_total` | counter | `call_site` | retries made |
//! | `retry_hedges_total` | counter | `call_site` | hedges sent (each is also an attempt) |
//! | `retry_hedges_won_total` | counter | `call_site` | calls whose success came from a hedge |
//! | `retry_budget_exhausted_total` | counter | `call_site`, `budget` | retries refused by the budget |
//! | `retry_breaker_rejections_total` | counter | `call_site`, `breaker` | attempts refused by the breaker |
//! | `retry_breaker_state` | gauge | `breaker` | 0 closed, 1 open, 2 half-open, 3 forced-open, 4 disabled |
//! | `retry_budget_balance` | gauge | `budget` | retries the budget holds, updated on each retry decision |
//! | `retry_breaker_keys` | gauge | `breaker` | live keyed instances of a breaker name (`breaker_key`) |
//! | `retry_breaker_state` | gauge | `breaker`, `key` | a keyed instance's state, only after [`set_key_labels`]`(true)` |
//!
//! Keyed breaker instances (`breaker_key`) add a `key` label only when the
//! program opts in with [`set_key_labels`]: every distinct key is a new time
//! series, and only the program's author knows whether its keys are a dozen
//! hosts or a million user ids. Without it, keyed instances report nothing per
//! key (the `retry_breaker_state{breaker}` gauge is the named breaker's alone),
//! and `retry_breaker_keys` says how many are alive.
//!
//! Handles are registered once per call site (when it first resolves, and again
//! when an `install` changes what its names resolve to), so a call formats no
//! label. Install your recorder before the first call: handles taken earlier stay
//! bound to the recorder of their time.

/// The metric handles of one call site.
#[derive(Debug, Default)]
pub(crate) struct SiteMetrics {
    #[cfg(feature = "metrics")]
    inner: Option<Handles>,
}

#[cfg(feature = "metrics")]
#[derive(Debug)]
struct Handles {
    ok: metrics::Counter,
    error: metrics::Counter,
    rejected: metrics::Counter,
    attempts: metrics::Counter,
    retries: metrics::Counter,
    budget_exhausted: metrics::Counter,
    breaker_rejections: metrics::Counter,
    budget_balance: metrics::Gauge,
    hedges: metrics::Counter,
    hedges_won: metrics::Counter,
}

impl SiteMetrics {
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(
        call_site: &'static str,
        breaker: Option<&'static str>,
        budget: &'static str,
    ) -> Self {
        #[cfg(feature = "metrics")]
        {
            let calls = |outcome: &'static str| metrics::counter!("retry_calls_total", "call_site" => call_site, "outcome" => outcome);
            SiteMetrics {
                inner: Some(Handles {
                    ok: calls("ok"),
                    error: calls("error"),
                    rejected: calls("rejected"),
                    attempts: metrics::counter!("retry_attempts_total", "call_site" => call_site),
                    retries: metrics::counter!("retry_retries_total", "call_site" => call_site),
                    budget_exhausted: metrics::counter!(
                        "retry_budget_exhausted_total", "call_site" => call_site, "budget" => budget
                    ),
                    breaker_rejections: metrics::counter!(
                        "retry_breaker_rejections_total", "call_site" => call_site, "breaker" => breaker.unwrap_or("")
                    ),
                    budget_balance: metrics::gauge!("retry_budget_balance", "budget" => budget),
                    hedges: metrics::counter!("retry_hedges_total", "call_site" => call_site),
                    hedges_won: metrics::counter!("retry_hedges_won_total", "call_site" => call_site),
                }),
            }
        }
        #[cfg(not(feature = "metrics"))]
        SiteMetrics {}
    }

    #[inline]
    pub(crate) fn attempt(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.inner {
            h.attempts.increment(1);
        }
    }

    /// A hedge sent.
    pub(crate) fn hedge_sent(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.inner {
            h.hedges.increment(1);
        }
    }

    /// A call whose success came from a hedge.
    pub(crate) fn hedge_won(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.inner {
            h.hedges_won.increment(1);
        }
    }

    #[inline]
    pub(crate) fn ok(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.inner {
            h.ok.increment(1);
        }
    }

    pub(crate) fn error(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.inner {
            h.error.increment(1);
        }
    }

    pub(crate) fn rejected(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.inner {
            h.rejected.increment(1);
            h.breaker_rejections.increment(1);
        }
    }

    /// A retry refused by the breaker (the call ends with its last error).
    pub(crate) fn breaker_rejection(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.inner {
            h.breaker_rejections.increment(1);
        }
    }

    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn retry(&self, budget: &crate::budget::Budget) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.inner {
            h.retries.increment(1);
            h.budget_balance.set(budget.balance());
        }
    }

    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn budget_exhausted(&self, budget: &crate::budget::Budget) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.inner {
            h.budget_exhausted.increment(1);
            h.budget_balance.set(budget.balance());
        }
    }
}

/// Whether keyed instances report metrics with a `key` label; see [`set_key_labels`].
static KEY_LABELS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Opts in (or out) of a `key` label on the metrics of keyed breaker
/// instances (`#[retryable(breaker_key = ...)]`): with it, each instance sets
/// `retry_breaker_state{breaker, key}` on every transition.
///
/// Off by default, and a switch in code rather than a config setting: each
/// distinct key becomes its own time series, so the label's cardinality is
/// the program author's choice (a few hosts: fine; one key per user: not),
/// not something a config change should be able to multiply. Takes effect
/// for transitions from then on.
///
/// ```
/// // Our keys are the dozen upstream hosts: few enough to label.
/// retry_runtime::metrics::set_key_labels(true);
/// assert!(retry_runtime::metrics::key_labels());
/// # retry_runtime::metrics::set_key_labels(false);
/// ```
pub fn set_key_labels(on: bool) {
    KEY_LABELS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether [`set_key_labels`] is on.
///
/// ```
/// assert!(!retry_runtime::metrics::key_labels()); // off unless the program opts in
/// ```
#[must_use]
pub fn key_labels() -> bool {
    KEY_LABELS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Sets the `retry_breaker_state` gauge of a breaker; of a keyed instance only
/// when key labels are on.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn breaker_state(
    breaker: &str,
    key: Option<&str>,
    state: crate::breaker::state::BreakerState,
) {
    #[cfg(feature = "metrics")]
    match key {
        None => metrics::gauge!("retry_breaker_state", "breaker" => breaker.to_owned())
            .set(f64::from(state.as_u8())),
        Some(key) if key_labels() => metrics::gauge!(
            "retry_breaker_state", "breaker" => breaker.to_owned(), "key" => key.to_owned()
        )
        .set(f64::from(state.as_u8())),
        Some(_) => {}
    }
}

/// Sets the `retry_breaker_keys` gauge: live keyed instances of `breaker`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn breaker_keys(breaker: &str, live: usize) {
    #[cfg(feature = "metrics")]
    #[allow(clippy::cast_precision_loss)] // at most a million
    metrics::gauge!("retry_breaker_keys", "breaker" => breaker.to_owned()).set(live as f64);
}
