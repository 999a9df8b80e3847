//! Each raw table merged over its parent, and its allowed values checked.

use std::time::Duration;

use super::error::Problem;
use super::limits::*;
use super::raw::{RawBreaker, RawBudget, RawHedge, RawPolicy, RawTable, Spans, WindowKind};
use super::{BreakerSettings, BudgetSettings, HedgeDelay, HedgeSettings, Window};
use crate::{Backoff, Policy};

/// A table as written: what it inherits from, how it overrides, what it checks.
pub(super) trait Table: RawTable {
    type Settings: Copy;
    fn base(&self) -> Option<&str>;
    /// The parent's settings with this table's keys applied.
    fn merge(&self, parent: &Self::Settings) -> Self::Settings;
    /// Checks the merged settings, reporting only what this table sets.
    fn check(&self, merged: &Self::Settings, check: &mut Check<'_>);
}

/// Collects the problems of one resolved table.
pub(super) struct Check<'p> {
    /// `policies.NAME`
    pub(super) prefix: String,
    /// What the table inherits from, for messages.
    pub(super) parent: String,
    /// Where the table's keys are, and which were refused.
    pub(super) spans: &'p Spans,
    /// Whether an ancestor had a refused key.
    pub(super) tainted: bool,
    pub(super) problems: &'p mut Vec<Problem>,
}

impl Check<'_> {
    pub(super) fn push(&mut self, key: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(&format!("{}.{key}", self.prefix), message).at(self.spans.of(key)));
    }

    /// A problem that relates several keys: skipped when one of `related`
    /// was refused here, or an ancestor refused a key, since the value it
    /// judges is then not the one the user meant (the refusal is reported).
    pub(super) fn cross(&mut self, key: &str, related: &[&str], message: impl Into<String>) {
        if self.tainted || related.iter().any(|k| self.spans.failed(k)) {
            return;
        }
        self.push(key, message);
    }

    /// A count that must be from 1 to `max`.
    pub(super) fn count(
        &mut self,
        key: &str,
        value: Option<u32>,
        max: u32,
        unit: &str,
        example: u32,
    ) {
        match value {
            Some(0) => self.push(
                key,
                format!("must be at least 1; write it like {key} = {example}"),
            ),
            Some(n) if n > max => self.push(
                key,
                format!("must be from 1 to {max} {unit}, got {n}; write it like {key} = {example}"),
            ),
            _ => {}
        }
    }

    /// `" (inherited from `default`)"` for a value this table does not set.
    pub(super) fn inherited(&self, set_here: bool) -> String {
        if set_here {
            String::new()
        } else {
            format!(" (inherited from {})", self.parent)
        }
    }

    pub(super) fn positive(&mut self, key: &str, value: Option<Duration>, example: &str) {
        if value.is_some_and(|d| d.is_zero()) {
            self.push(
                key,
                format!("must be longer than 0; write it like {key} = \"{example}\""),
            );
        }
    }

    pub(super) fn fraction(&mut self, key: &str, value: Option<f64>) {
        let Some(v) = value else { return };
        if v > 0.0 && v <= 1.0 {
            return;
        }
        let fix = if v > 1.0 && v <= 100.0 {
            format!("for {v}% write {key} = {}", percent_as_fraction(v))
        } else {
            format!("write a fraction like {key} = 0.5 (half of the calls)")
        };
        self.push(
            key,
            format!("must be above 0.0 and at most 1.0, got {v}; {fix}"),
        );
    }
}

/// `v / 100` written with the digits of `v` (`1.0000001` -> `0.010000001`),
/// without the float noise of a division.
pub(super) fn percent_as_fraction(v: f64) -> String {
    let text = format!("{v}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int = format!("{int:0>3}");
    let (whole, cents) = int.split_at(int.len() - 2);
    let whole = whole.trim_start_matches('0');
    let digits = format!("{cents}{frac}");
    let digits = digits.trim_end_matches('0');
    format!(
        "{}.{}",
        if whole.is_empty() { "0" } else { whole },
        if digits.is_empty() { "0" } else { digits }
    )
}

pub(super) fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

pub(super) fn backoff_name(backoff: Backoff) -> &'static str {
    match backoff {
        Backoff::Constant => "constant",
        Backoff::Linear => "linear",
        Backoff::Exponential => "exponential",
        Backoff::Decorrelated => "decorrelated",
    }
}

impl Table for RawPolicy {
    type Settings = Policy;

    fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    fn merge(&self, p: &Policy) -> Policy {
        Policy {
            max_attempts: self.max_attempts.unwrap_or(p.max_attempts),
            backoff: self.backoff.unwrap_or(p.backoff),
            initial_delay: self.initial_delay.map_or(p.initial_delay, |d| d.0),
            multiplier: self.multiplier.unwrap_or(p.multiplier),
            max_delay: self.max_delay.map_or(p.max_delay, |d| d.0),
            jitter: self.jitter.unwrap_or(p.jitter),
            max_elapsed: self.max_elapsed.map_or(p.max_elapsed, |l| l.0),
            attempt_timeout: self.attempt_timeout.map_or(p.attempt_timeout, |l| l.0),
            max_retry_after: self.max_retry_after.map_or(p.max_retry_after, |l| l.0),
            nested: self.nested.unwrap_or(p.nested),
        }
    }

    fn check(&self, p: &Policy, c: &mut Check<'_>) {
        match self.max_attempts {
            Some(0) => c.push(
                "max_attempts",
                "must be at least 1 (it counts the first attempt); write max_attempts = 1 to never retry",
            ),
            Some(n) if n > MAX_ATTEMPTS => c.push(
                "max_attempts",
                format!(
                    "{n} is more than the limit of {MAX_ATTEMPTS}; lower it, and bound long retries with max_elapsed instead"
                ),
            ),
            _ => {}
        }
        if self
            .multiplier
            .is_some_and(|m| !(m.is_finite() && m >= 1.0))
        {
            c.push(
                "multiplier",
                format!(
                    "must be a finite number of at least 1.0, got {}; write multiplier = 2.0 to double the delay at each retry, or 1.0 to keep it flat",
                    p.multiplier
                ),
            );
        }
        let delay_set = self.initial_delay.is_some();
        let backoff_set = self.backoff.is_some();
        if (delay_set || backoff_set) && p.initial_delay.is_zero() && p.backoff != Backoff::Constant
        {
            let kind = backoff_name(p.backoff);
            if delay_set {
                let inherited = c.inherited(backoff_set);
                c.cross(
                    "initial_delay",
                    &["initial_delay", "backoff"],
                    format!(
                        "must be longer than 0 with backoff = \"{kind}\"{inherited}, or every delay is 0; write it like initial_delay = \"100ms\", or use backoff = \"constant\" to retry at once"
                    ),
                );
            } else {
                let inherited = c.inherited(false);
                c.cross(
                    "backoff",
                    &["initial_delay", "backoff"],
                    format!(
                        "\"{kind}\" needs an initial_delay longer than 0, but it is 0{inherited}; set initial_delay like \"100ms\", or use backoff = \"constant\""
                    ),
                );
            }
        }
        let max_set = self.max_delay.is_some();
        if (delay_set || max_set) && p.max_delay < p.initial_delay {
            let (max, initial) = (human(p.max_delay), human(p.initial_delay));
            if max_set {
                let inherited = c.inherited(delay_set);
                c.cross(
                    "max_delay",
                    &["max_delay", "initial_delay"],
                    format!(
                        "{max} is shorter than initial_delay {initial}{inherited}; raise max_delay to at least {initial}, or lower initial_delay"
                    ),
                );
            } else {
                let inherited = c.inherited(false);
                c.cross(
                    "initial_delay",
                    &["max_delay", "initial_delay"],
                    format!(
                        "{initial} is longer than max_delay {max}{inherited}; lower initial_delay to at most {max}, or raise max_delay"
                    ),
                );
            }
        }
        for (key, value, example) in [
            ("max_elapsed", self.max_elapsed, "30s"),
            ("attempt_timeout", self.attempt_timeout, "2s"),
            ("max_retry_after", self.max_retry_after, "60s"),
        ] {
            if value.and_then(|l| l.0).is_some_and(|d| d.is_zero()) {
                c.push(
                    key,
                    format!(
                        "must be longer than 0; write it like {key} = \"{example}\", or \"none\" for no limit"
                    ),
                );
            }
        }
    }
}

impl Table for RawBreaker {
    type Settings = BreakerSettings;

    fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    fn merge(&self, p: &BreakerSettings) -> BreakerSettings {
        let (inherited_kind, inherited_size, inherited_duration) = match p.window {
            Window::Count { size } => (WindowKind::Count, size, DEFAULT_WINDOW_DURATION),
            Window::Time { duration } => (WindowKind::Time, DEFAULT_WINDOW_SIZE, duration),
        };
        let window = match self.window.unwrap_or(inherited_kind) {
            WindowKind::Count => Window::Count {
                size: self.window_size.unwrap_or(inherited_size),
            },
            WindowKind::Time => Window::Time {
                duration: self.window_duration.map_or(inherited_duration, |d| d.0),
            },
        };
        BreakerSettings {
            window,
            failure_rate_threshold: self
                .failure_rate_threshold
                .unwrap_or(p.failure_rate_threshold),
            slow_call_duration: self.slow_call_duration.map_or(p.slow_call_duration, |d| {
                d.0.unwrap_or(BreakerSettings::NO_SLOW_CALLS)
            }),
            slow_call_rate_threshold: self
                .slow_call_rate_threshold
                .unwrap_or(p.slow_call_rate_threshold),
            minimum_calls: self.minimum_calls.unwrap_or(p.minimum_calls),
            open_duration: self.open_duration.map_or(p.open_duration, |d| d.0),
            half_open_calls: self.half_open_calls.unwrap_or(p.half_open_calls),
            max_half_open_wait: self
                .max_half_open_wait
                .map_or(p.max_half_open_wait, |l| l.0),
            retry_after_is_failure: self
                .retry_after_is_failure
                .unwrap_or(p.retry_after_is_failure),
            max_keys: self.max_keys.unwrap_or(p.max_keys),
            fleet: self.fleet.unwrap_or(p.fleet),
            fleet_quorum: self.fleet_quorum.unwrap_or(p.fleet_quorum),
        }
    }

    fn check(&self, b: &BreakerSettings, c: &mut Check<'_>) {
        let kind_inherited = c.inherited(self.window.is_some());
        match b.window {
            Window::Count { size } => {
                if self.window_duration.is_some() {
                    c.cross(
                        "window_duration",
                        &["window"],
                        format!(
                            "only goes with window = \"time\", but this breaker's window is \"count\"{kind_inherited}; add window = \"time\", or replace window_duration by window_size (a number of calls)"
                        ),
                    );
                }
                if self.window_size.is_some() && !(1..=MAX_WINDOW_SIZE).contains(&size) {
                    c.push(
                        "window_size",
                        format!(
                            "must be from 1 to {MAX_WINDOW_SIZE} calls, got {size}; write it like window_size = 20"
                        ),
                    );
                }
                let related_set = self.minimum_calls.is_some()
                    || self.window_size.is_some()
                    || self.window.is_some();
                if related_set && size >= 1 && b.minimum_calls > size {
                    let calls = b.minimum_calls;
                    let key = if self.minimum_calls.is_some() {
                        "minimum_calls"
                    } else if self.window_size.is_some() {
                        "window_size"
                    } else {
                        "window"
                    };
                    c.cross(
                        key,
                        &["minimum_calls", "window_size", "window"],
                        format!(
                            "minimum_calls ({calls}) is more than the window holds (window_size = {size}), so the breaker could never open; lower minimum_calls to at most {size}, or raise window_size to at least {calls}"
                        ),
                    );
                }
            }
            Window::Time { duration } => {
                if self.window_size.is_some() {
                    c.cross(
                        "window_size",
                        &["window"],
                        format!(
                            "only goes with window = \"count\", but this breaker's window is \"time\"{kind_inherited}; add window = \"count\", or replace window_size by window_duration (like \"60s\")"
                        ),
                    );
                }
                if self.window_duration.is_some() && duration < MIN_WINDOW_DURATION {
                    c.push(
                        "window_duration",
                        format!(
                            "must be at least 1s, got {}; write it like window_duration = \"60s\"",
                            human(duration)
                        ),
                    );
                }
            }
        }
        c.fraction("failure_rate_threshold", self.failure_rate_threshold);
        c.fraction("slow_call_rate_threshold", self.slow_call_rate_threshold);
        c.positive(
            "slow_call_duration",
            self.slow_call_duration.and_then(|d| d.0),
            "2s",
        );
        c.positive("open_duration", self.open_duration.map(|d| d.0), "30s");
        c.count(
            "minimum_calls",
            self.minimum_calls,
            MAX_MINIMUM_CALLS,
            "calls",
            10,
        );
        c.count(
            "half_open_calls",
            self.half_open_calls,
            MAX_HALF_OPEN_CALLS,
            "trial calls",
            3,
        );
        c.positive(
            "max_half_open_wait",
            self.max_half_open_wait.and_then(|l| l.0),
            "60s",
        );
        if self.max_keys.is_some_and(|n| !(1..=MAX_KEYS).contains(&n)) {
            c.push(
                "max_keys",
                format!(
                    "must be from 1 to {MAX_KEYS} keyed instances, got {}; write it like max_keys = 1000",
                    b.max_keys
                ),
            );
        }
        c.count(
            "fleet_quorum",
            self.fleet_quorum,
            MAX_FLEET_QUORUM,
            "other instances",
            2,
        );
    }
}

impl Table for RawBudget {
    type Settings = BudgetSettings;

    fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    fn merge(&self, p: &BudgetSettings) -> BudgetSettings {
        BudgetSettings {
            ttl: self.ttl.map_or(p.ttl, |d| d.0),
            min_retries_per_sec: self.min_retries_per_sec.unwrap_or(p.min_retries_per_sec),
            retry_ratio: self.retry_ratio.unwrap_or(p.retry_ratio),
        }
    }

    fn check(&self, b: &BudgetSettings, c: &mut Check<'_>) {
        if let Some(n) = self.min_retries_per_sec
            && n > MAX_MIN_RETRIES_PER_SEC
        {
            c.push(
                "min_retries_per_sec",
                format!(
                    "must be from 0 to {MAX_MIN_RETRIES_PER_SEC} retries per second, got {n}; write it like min_retries_per_sec = 10"
                ),
            );
        }
        if self.ttl.is_some() && !(MIN_TTL..=MAX_TTL).contains(&b.ttl) {
            c.push(
                "ttl",
                format!(
                    "must be between {} and {}, got {}; write it like ttl = \"10s\"",
                    human(MIN_TTL),
                    human(MAX_TTL),
                    human(b.ttl)
                ),
            );
        }
        if self
            .retry_ratio
            .is_some_and(|r| !(0.0..=MAX_RETRY_RATIO).contains(&r))
        {
            c.push(
                "retry_ratio",
                format!(
                    "must be a number from 0.0 to {MAX_RETRY_RATIO:.1}, got {}; write it like retry_ratio = 0.2 (one retry per five calls)",
                    b.retry_ratio
                ),
            );
        }
    }
}

impl Table for RawHedge {
    type Settings = HedgeSettings;

    fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    fn merge(&self, p: &HedgeSettings) -> HedgeSettings {
        HedgeSettings {
            delay: self.delay.map_or(p.delay, |d| d.0),
            max_hedges: self.max_hedges.unwrap_or(p.max_hedges),
            min_samples: self.min_samples.unwrap_or(p.min_samples),
        }
    }

    fn check(&self, h: &HedgeSettings, c: &mut Check<'_>) {
        if self.delay.is_some() {
            match h.delay {
                HedgeDelay::Fixed(d) if d.is_zero() || d > MAX_HEDGE_DELAY => c.push(
                    "delay",
                    format!(
                        "must be more than 0s and at most {}, got {}; write it like delay = \"40ms\" (a hedge after 0s would double every call)",
                        human(MAX_HEDGE_DELAY),
                        human(d)
                    ),
                ),
                HedgeDelay::Percentile(p)
                    if !(MIN_PERCENTILE..=MAX_PERCENTILE).contains(&p)
                        || (p * 10.0).fract() != 0.0 =>
                {
                    c.push(
                        "delay",
                        format!(
                            "percentile must be from p90 to p99.9 with at most one decimal, got p{p}; write it like delay = \"p95\""
                        ),
                    );
                }
                _ => {}
            }
        }
        if let Some(n) = self.max_hedges
            && !(1..=MAX_HEDGES).contains(&n)
        {
            c.push(
                "max_hedges",
                format!(
                    "must be from 1 to {MAX_HEDGES} hedges in flight beside the first attempt, got {n}; write it like max_hedges = 1"
                ),
            );
        }
        if let Some(n) = self.min_samples
            && !(1..=MAX_MIN_SAMPLES).contains(&n)
        {
            c.push(
                "min_samples",
                format!(
                    "must be from 1 to {MAX_MIN_SAMPLES} latencies, got {n}; write it like min_samples = 100"
                ),
            );
        }
    }
}
