//! [`Config`]: named policies, breakers and budgets, read from TOML.
//!
//! PLACEHOLDER: the parser, validation and `ConfigError` are being written (see the helper task).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::Policy;

/// How a circuit breaker counts recent outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// The last `size` calls.
    Count {
        /// How many calls the window holds (at least 1).
        size: u32,
    },
    /// The calls of the last `duration`.
    Time {
        /// How far back the window reaches (at least 1 s).
        duration: Duration,
    },
}

/// The settings of one named circuit breaker (`[breakers.NAME]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerSettings {
    /// How outcomes are counted.
    pub window: Window,
    /// The breaker opens when at least this fraction of recorded calls failed (0.0..=1.0).
    pub failure_rate_threshold: f64,
    /// A call that takes at least this long counts as slow.
    pub slow_call_duration: Duration,
    /// The breaker opens when at least this fraction of recorded calls were slow (0.0..=1.0).
    pub slow_call_rate_threshold: f64,
    /// No rate is judged before this many calls are recorded (at least 1).
    pub minimum_calls: u32,
    /// How long an open breaker rejects calls before it lets trial calls through.
    pub open_duration: Duration,
    /// How many trial calls a half-open breaker admits (at least 1).
    pub half_open_calls: u32,
}

impl BreakerSettings {
    /// The `default` breaker preset.
    pub const DEFAULT: BreakerSettings = BreakerSettings {
        window: Window::Count { size: 20 },
        failure_rate_threshold: 0.5,
        slow_call_duration: Duration::from_secs(10),
        slow_call_rate_threshold: 1.0,
        minimum_calls: 10,
        open_duration: Duration::from_secs(30),
        half_open_calls: 3,
    };
}

/// The settings of one named retry budget (`[budgets.NAME]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetSettings {
    /// The window over which deposits and withdrawals are counted (1 s..=60 s).
    pub ttl: Duration,
    /// Retries always allowed per second, whatever the traffic.
    pub min_retries_per_sec: u32,
    /// Retries allowed per first attempt (0.2: one retry for every five calls).
    pub retry_ratio: f64,
}

impl BudgetSettings {
    /// The `default` budget preset: Finagle's defaults.
    pub const DEFAULT: BudgetSettings = BudgetSettings {
        ttl: Duration::from_secs(10),
        min_retries_per_sec: 10,
        retry_ratio: 0.2,
    };
}

/// A complete, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub(crate) policies: BTreeMap<String, Policy>,
    pub(crate) breakers: BTreeMap<String, BreakerSettings>,
    pub(crate) budgets: BTreeMap<String, BudgetSettings>,
}

impl Config {
    /// The built-in presets only.
    #[must_use]
    pub fn builtin() -> Config {
        let policies = [
            ("default", Policy::DEFAULT),
            ("network", Policy::NETWORK),
            ("none", Policy::NONE),
        ];
        Config {
            policies: policies
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            breakers: [("default".to_owned(), BreakerSettings::DEFAULT)].into(),
            budgets: [("default".to_owned(), BudgetSettings::DEFAULT)].into(),
        }
    }

    /// The policy called `name`.
    #[must_use]
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.get(name)
    }

    /// The breaker settings called `name`.
    #[must_use]
    pub fn breaker(&self, name: &str) -> Option<&BreakerSettings> {
        self.breakers.get(name)
    }

    /// The budget settings called `name`.
    #[must_use]
    pub fn budget(&self, name: &str) -> Option<&BudgetSettings> {
        self.budgets.get(name)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::builtin()
    }
}
