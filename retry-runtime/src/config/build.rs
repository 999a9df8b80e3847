//! [`ConfigBuilder`]: a configuration built or amended in code, checked like a file.

use super::check::Check;
use super::check::Table;
use super::error::Problem;
use super::raw::{
    Dur, Limit, RawBreaker, RawBudget, RawHedge, RawHedgeDelay, RawPolicy, WindowKind,
};
use super::resolve::{BREAKERS, BUDGETS, HEDGES, POLICIES, Section};
use super::{BreakerSettings, BudgetSettings, Config, ConfigError, HedgeSettings, Window};
use crate::Policy;

/// Builds or amends a [`Config`] in code, for applications without a config
/// file (or that adjust one): each named policy, breaker or budget given
/// replaces the one of that name, and [`build`](ConfigBuilder::build) checks
/// every value against the same bounds as a file, reporting every problem.
///
/// ```
/// use retry_runtime::{BreakerSettings, Config, Policy};
/// use std::time::Duration;
///
/// let config = Config::builder()
///     .policy("reads", Policy { max_attempts: 4, ..Policy::DEFAULT })
///     .breaker("s3", BreakerSettings { half_open_calls: 5, ..BreakerSettings::DEFAULT })
///     .build()?;
/// assert_eq!(config.policy("reads").unwrap().max_attempts, 4);
///
/// // Amend a parsed file: start from it instead of the presets.
/// let file = Config::from_toml_str("[policies.reads]\nmax_attempts = 2")?;
/// let amended = file
///     .into_builder()
///     .policy("writes", Policy { max_elapsed: Some(Duration::from_secs(5)), ..Policy::NONE })
///     .build()?;
/// assert_eq!(amended.policy("reads").unwrap().max_attempts, 2);
/// assert!(amended.policy("writes").is_some());
///
/// let err = Config::builder()
///     .policy("bad", Policy { max_attempts: 0, ..Policy::DEFAULT })
///     .build()
///     .unwrap_err();
/// assert_eq!(err.path(), Some("policies.bad.max_attempts"));
/// # Ok::<(), retry_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    config: Config,
    problems: Vec<Problem>,
}

impl Config {
    /// A [`ConfigBuilder`] starting from the built-in presets.
    ///
    /// ```
    /// let config = retry_runtime::Config::builder().build()?;
    /// assert_eq!(config, retry_runtime::Config::builtin());
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    pub fn builder() -> ConfigBuilder {
        Config::builtin().into_builder()
    }

    /// A [`ConfigBuilder`] starting from this configuration, to amend it.
    ///
    /// ```
    /// use retry_runtime::{BudgetSettings, Config};
    ///
    /// let config = Config::builtin()
    ///     .into_builder()
    ///     .budget("batch", BudgetSettings { retry_ratio: 0.5, ..BudgetSettings::DEFAULT })
    ///     .build()?;
    /// assert_eq!(config.budget("batch").unwrap().retry_ratio, 0.5);
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    pub fn into_builder(self) -> ConfigBuilder {
        ConfigBuilder {
            config: self,
            problems: Vec::new(),
        }
    }
}

impl ConfigBuilder {
    /// Sets the policy called `name`, replacing any of that name.
    ///
    /// ```
    /// use retry_runtime::{Config, Policy};
    /// let config = Config::builder().policy("default", Policy::NONE).build()?;
    /// assert_eq!(config.policy("default"), Some(&Policy::NONE));
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    pub fn policy(mut self, name: impl Into<String>, policy: Policy) -> ConfigBuilder {
        let name = name.into();
        let raw = RawPolicy {
            max_attempts: Some(policy.max_attempts),
            backoff: Some(policy.backoff),
            initial_delay: Some(Dur(policy.initial_delay)),
            multiplier: Some(policy.multiplier),
            max_delay: Some(Dur(policy.max_delay)),
            jitter: Some(policy.jitter),
            max_elapsed: Some(Limit(policy.max_elapsed)),
            attempt_timeout: Some(Limit(policy.attempt_timeout)),
            max_retry_after: Some(Limit(policy.max_retry_after)),
            nested: Some(policy.nested),
            ..RawPolicy::default()
        };
        if self.checked(&POLICIES, &name, &raw, &policy) {
            self.config.policies.insert(name, policy);
        }
        self
    }

    /// Sets the breaker called `name`, replacing any of that name.
    ///
    /// ```
    /// use retry_runtime::{BreakerSettings, Config, Window};
    /// use std::time::Duration;
    ///
    /// let time = BreakerSettings {
    ///     window: Window::Time { duration: Duration::from_secs(30) },
    ///     ..BreakerSettings::DEFAULT
    /// };
    /// let config = Config::builder().breaker("db", time).build()?;
    /// assert_eq!(config.breaker("db"), Some(&time));
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    pub fn breaker(mut self, name: impl Into<String>, breaker: BreakerSettings) -> ConfigBuilder {
        let name = name.into();
        let (window, window_size, window_duration) = match breaker.window {
            Window::Count { size } => (WindowKind::Count, Some(size), None),
            Window::Time { duration } => (WindowKind::Time, None, Some(Dur(duration))),
        };
        let slow = (breaker.slow_call_duration != BreakerSettings::NO_SLOW_CALLS)
            .then_some(breaker.slow_call_duration);
        let raw = RawBreaker {
            window: Some(window),
            window_size,
            window_duration,
            failure_rate_threshold: Some(breaker.failure_rate_threshold),
            slow_call_duration: Some(Limit(slow)),
            slow_call_rate_threshold: Some(breaker.slow_call_rate_threshold),
            minimum_calls: Some(breaker.minimum_calls),
            open_duration: Some(Dur(breaker.open_duration)),
            half_open_calls: Some(breaker.half_open_calls),
            max_half_open_wait: Some(Limit(breaker.max_half_open_wait)),
            retry_after_is_failure: Some(breaker.retry_after_is_failure),
            max_keys: Some(breaker.max_keys),
            fleet: Some(breaker.fleet),
            fleet_quorum: Some(breaker.fleet_quorum),
            ..RawBreaker::default()
        };
        if self.checked(&BREAKERS, &name, &raw, &breaker) {
            self.config.breakers.insert(name, breaker);
        }
        self
    }

    /// Sets the budget called `name`, replacing any of that name.
    ///
    /// ```
    /// use retry_runtime::{BudgetSettings, Config};
    /// let strict = BudgetSettings { min_retries_per_sec: 1, ..BudgetSettings::DEFAULT };
    /// let config = Config::builder().budget("default", strict).build()?;
    /// assert_eq!(config.budget("default"), Some(&strict));
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    pub fn budget(mut self, name: impl Into<String>, budget: BudgetSettings) -> ConfigBuilder {
        let name = name.into();
        let raw = RawBudget {
            ttl: Some(Dur(budget.ttl)),
            min_retries_per_sec: Some(budget.min_retries_per_sec),
            retry_ratio: Some(budget.retry_ratio),
            ..RawBudget::default()
        };
        if self.checked(&BUDGETS, &name, &raw, &budget) {
            self.config.budgets.insert(name, budget);
        }
        self
    }

    /// Sets the hedge called `name`, replacing any of that name.
    ///
    /// ```
    /// use retry_runtime::{Config, HedgeDelay, HedgeSettings};
    /// use std::time::Duration;
    ///
    /// let fixed = HedgeSettings { delay: HedgeDelay::Fixed(Duration::from_millis(40)), ..HedgeSettings::DEFAULT };
    /// let config = Config::builder().hedge("kv", fixed).build()?;
    /// assert_eq!(config.hedge("kv"), Some(&fixed));
    ///
    /// let err = Config::builder()
    ///     .hedge("kv", HedgeSettings { max_hedges: 11, ..HedgeSettings::DEFAULT })
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.path(), Some("hedges.kv.max_hedges"));
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    pub fn hedge(mut self, name: impl Into<String>, hedge: HedgeSettings) -> ConfigBuilder {
        let name = name.into();
        let raw = RawHedge {
            delay: Some(RawHedgeDelay(hedge.delay)),
            max_hedges: Some(hedge.max_hedges),
            min_samples: Some(hedge.min_samples),
            ..RawHedge::default()
        };
        if self.checked(&HEDGES, &name, &raw, &hedge) {
            self.config.hedges.insert(name, hedge);
        }
        self
    }

    /// The configuration, if every value given is allowed.
    ///
    /// ```
    /// use retry_runtime::{BudgetSettings, Config};
    ///
    /// let err = Config::builder()
    ///     .budget("a", BudgetSettings { retry_ratio: -1.0, ..BudgetSettings::DEFAULT })
    ///     .budget("b", BudgetSettings { min_retries_per_sec: 1_000_000, ..BudgetSettings::DEFAULT })
    ///     .build()
    ///     .unwrap_err();
    /// let paths: Vec<&str> = err.problems().iter().map(|p| p.path()).collect();
    /// assert_eq!(paths, ["budgets.a.retry_ratio", "budgets.b.min_retries_per_sec"]);
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every refused value, in the order given,
    /// with its key path (`policies.NAME.KEY`).
    pub fn build(self) -> Result<Config, ConfigError> {
        if self.problems.is_empty() {
            Ok(self.config)
        } else {
            Err(ConfigError::invalid(self.problems))
        }
    }

    /// Checks `settings` as if every key were written; true when allowed.
    fn checked<T: Table>(
        &mut self,
        section: &Section,
        name: &str,
        raw: &T,
        settings: &T::Settings,
    ) -> bool {
        let before = self.problems.len();
        if name.is_empty() {
            self.problems.push(Problem::new(
                &format!("{}.\"\"", section.key),
                format!(
                    "a {} name cannot be empty; give it a name",
                    section.singular
                ),
            ));
        }
        raw.check(
            settings,
            &mut Check {
                prefix: format!("{}.{name}", section.key),
                parent: "the settings given".to_owned(),
                spans: raw.spans(),
                tainted: false,
                problems: &mut self.problems,
            },
        );
        self.problems.len() == before
    }
}
