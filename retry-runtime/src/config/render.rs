//! [`Config`] back to TOML: every table spelled out in full, no `base`, so
//! the text reads back ([`Config::from_toml_str`]) to the same settings
//! whatever the file's defaults and inheritance were.
//!
//! One function per section kind writes a table's keys in the order of the
//! docs; a new section is a new function and one loop in
//! [`Config::to_toml_string`].

use std::fmt::Write as _;
use std::time::Duration;

use super::{BreakerSettings, BudgetSettings, Config, HedgeDelay, HedgeSettings, Window};
use crate::{Backoff, Jitter, Nested, Policy};

impl Config {
    /// This configuration as TOML text: every policy, breaker, budget and hedge
    /// (presets and libraries' defaults included), each with every key set,
    /// so that [`Config::from_toml_str`] reads it back to an equal `Config`.
    /// The admin router's `GET /config` serves it.
    ///
    /// ```
    /// use retry_runtime::Config;
    ///
    /// let config = Config::from_toml_str(r#"
    ///     [policies.reads]
    ///     base = "network"
    ///     max_attempts = 7
    ///     [breakers.s3]
    ///     window = "time"
    ///     window_duration = "90s"
    /// "#)?;
    /// let text = config.to_toml_string();
    /// assert!(text.contains("[policies.reads]\nmax_attempts = 7\n"));
    /// assert!(text.contains("window_duration = \"1m 30s\"\n"));
    /// assert_eq!(Config::from_toml_str(&text)?, config);
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    #[must_use]
    pub fn to_toml_string(&self) -> String {
        let mut w = Writer::default();
        for (name, policy) in &self.policies {
            w.table("policies", name);
            write_policy(&mut w, policy);
        }
        for (name, breaker) in &self.breakers {
            w.table("breakers", name);
            write_breaker(&mut w, breaker);
        }
        for (name, budget) in &self.budgets {
            w.table("budgets", name);
            write_budget(&mut w, budget);
        }
        for (name, hedge) in &self.hedges {
            w.table("hedges", name);
            write_hedge(&mut w, hedge);
        }
        w.out
    }
}

fn write_policy(w: &mut Writer, p: &Policy) {
    w.int("max_attempts", p.max_attempts);
    w.word(
        "backoff",
        match p.backoff {
            Backoff::Constant => "constant",
            Backoff::Linear => "linear",
            Backoff::Exponential => "exponential",
            Backoff::Decorrelated => "decorrelated",
        },
    );
    w.duration("initial_delay", p.initial_delay);
    w.float("multiplier", p.multiplier);
    w.duration("max_delay", p.max_delay);
    w.word(
        "jitter",
        match p.jitter {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
        },
    );
    w.limit("max_elapsed", p.max_elapsed);
    w.limit("attempt_timeout", p.attempt_timeout);
    w.limit("max_retry_after", p.max_retry_after);
    w.word(
        "nested",
        match p.nested {
            Nested::Single => "single",
            Nested::Retry => "retry",
        },
    );
}

fn write_breaker(w: &mut Writer, b: &BreakerSettings) {
    match b.window {
        Window::Count { size } => {
            w.word("window", "count");
            w.int("window_size", size);
        }
        Window::Time { duration } => {
            w.word("window", "time");
            w.duration("window_duration", duration);
        }
    }
    w.float("failure_rate_threshold", b.failure_rate_threshold);
    w.limit(
        "slow_call_duration",
        (b.slow_call_duration != BreakerSettings::NO_SLOW_CALLS).then_some(b.slow_call_duration),
    );
    w.float("slow_call_rate_threshold", b.slow_call_rate_threshold);
    w.int("minimum_calls", b.minimum_calls);
    w.duration("open_duration", b.open_duration);
    w.int("half_open_calls", b.half_open_calls);
    w.limit("max_half_open_wait", b.max_half_open_wait);
    w.bool("retry_after_is_failure", b.retry_after_is_failure);
    w.int("max_keys", b.max_keys);
    w.bool("fleet", b.fleet);
    w.int("fleet_quorum", b.fleet_quorum);
}

fn write_budget(w: &mut Writer, b: &BudgetSettings) {
    w.duration("ttl", b.ttl);
    w.int("min_retries_per_sec", b.min_retries_per_sec);
    w.float("retry_ratio", b.retry_ratio);
}

fn write_hedge(w: &mut Writer, h: &HedgeSettings) {
    match h.delay {
        HedgeDelay::Fixed(delay) => w.duration("delay", delay),
        // `p95`, `p99.9`: the percentile as the config writes it.
        HedgeDelay::Percentile(p) => w.word("delay", &format!("p{p}")),
    }
    w.int("max_hedges", h.max_hedges);
    w.int("min_samples", h.min_samples);
}

/// TOML text, one `key = value` line at a time.
#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    /// Starts `[section.name]`, quoting the name unless it is a bare key.
    fn table(&mut self, section: &str, name: &str) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        let bare = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if bare {
            let _ = writeln!(self.out, "[{section}.{name}]");
        } else {
            let _ = writeln!(self.out, "[{section}.{}]", toml::Value::from(name));
        }
    }

    fn line(&mut self, key: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{key} = {value}");
    }

    fn word(&mut self, key: &str, word: &str) {
        self.line(key, format_args!("\"{word}\""));
    }

    fn int(&mut self, key: &str, n: u32) {
        self.line(key, n);
    }

    fn float(&mut self, key: &str, x: f64) {
        // toml writes a float so that it reads back to the same bits ("0.5", "2.0").
        self.line(key, toml::Value::Float(x));
    }

    fn bool(&mut self, key: &str, b: bool) {
        self.line(key, b);
    }

    /// A duration as humantime writes it ("1m 30s", "250ms", "1s 5ns"): exact
    /// to the nanosecond, and read back by the same crate.
    fn duration(&mut self, key: &str, d: Duration) {
        self.line(key, format_args!("\"{}\"", humantime::format_duration(d)));
    }

    /// A duration, or `"none"`.
    fn limit(&mut self, key: &str, d: Option<Duration>) {
        match d {
            Some(d) => self.duration(key, d),
            None => self.word(key, "none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_exactly() {
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(1500),
            Duration::new(3 * 365 * 86_400 + 17, 123_456_789),
            Duration::from_secs(u64::from(u32::MAX)),
        ] {
            let text = humantime::format_duration(d).to_string();
            assert_eq!(humantime::parse_duration(&text).ok(), Some(d), "{text}");
        }
    }
}
