//! [`Config`]: named retry policies, circuit breakers and retry budgets, read
//! from TOML (or embedded in an application's own configuration through serde)
//! and checked before use.
//!
//! # The file
//!
//! ```toml
//! [policies.default]
//! max_attempts = 3
//! backoff = "exponential"      # constant | linear | exponential | decorrelated
//! initial_delay = "100ms"
//! multiplier = 2.0
//! max_delay = "10s"
//! jitter = "full"              # none | full | equal
//! max_elapsed = "30s"          # optional; "none": no deadline
//! attempt_timeout = "2s"       # optional; "none": no timeout
//! max_retry_after = "60s"      # longest retry-after hint waited; "none": any
//! nested = "single"            # single | retry: inside another call's attempt
//!
//! [policies.network]
//! base = "default"             # inherit every field not set here
//! max_attempts = 5
//!
//! [breakers.s3]
//! window = "count"             # count | time
//! window_size = 20             # calls (count) — or window_duration = "60s" (time)
//! failure_rate_threshold = 0.5 # fraction of failed calls
//! slow_call_duration = "2s"
//! slow_call_rate_threshold = 1.0
//! minimum_calls = 10
//! open_duration = "30s"
//! half_open_calls = 3
//! max_half_open_wait = "60s"   # trials not done by then: open again; "none": wait
//! retry_after_is_failure = false # a 429 or gRPC pushback counts as a success (a 5xx: always a failure)
//! max_keys = 1000              # keyed instances (breaker_key) alive at once
//! fleet = false                # share it with the fleet (feature `redis`, `fleet::join`)
//! fleet_quorum = 2             # other live instances reporting it open that open it here
//!
//! [budgets.default]
//! ttl = "10s"
//! min_retries_per_sec = 10
//! retry_ratio = 0.2
//! ```
//!
//! Every key is optional. Durations are strings with a unit, read by
//! [`humantime`](https://docs.rs/humantime): `"250ms"`, `"30s"`, `"1m 30s"`.
//! Unknown keys are errors, reported with their full path and the closest
//! valid key.
//!
//! # Presets and inheritance
//!
//! A configuration starts from the built-in presets ([`Config::builtin`]):
//! policies `default` ([`Policy::DEFAULT`]), `network` ([`Policy::NETWORK`]) and
//! `none` ([`Policy::NONE`]), breaker `default` ([`BreakerSettings::DEFAULT`]) and
//! budget `default` ([`BudgetSettings::DEFAULT`]). Each table of the file adds
//! a name or replaces the preset of the same name.
//!
//! Every field a table leaves out is inherited:
//!
//! - from the table named by its `base` key, if it has one: a table of the
//!   file, else a built-in preset. Bases chain (`a` → `b` → `network`); cycles
//!   are errors. A table may name *itself* as base when a preset has its name:
//!   `[policies.network]` with `base = "network"` tweaks the built-in `network`
//!   preset instead of replacing it;
//! - otherwise from `default` of the same kind: the file's `[policies.default]`
//!   if it has one (which itself inherits from the built-in `default`), else
//!   the built-in `default`. So `[policies.network]` *without* `base` replaces
//!   the `network` preset by the (file's) `default` plus its own keys.
//!
//! Breakers and budgets inherit the same way, `base` included.
//! Built-in presets never inherit from the file: `base = "none"` gives the
//! preset as documented even when the file redefines `default`.
//!
//! # Allowed values
//!
//! Checked after inheritance. A value is reported at the table that sets it,
//! so one bad value in `default` is reported once, not once per heir.
//!
//! | key | allowed |
//! |---|---|
//! | `max_attempts` | 1 ..= 1000 (1: never retry; bound long retries with `max_elapsed`) |
//! | `backoff` | `constant`, `linear`, `exponential`, `decorrelated` |
//! | `initial_delay` | above 0, except with `backoff = "constant"` (0: retry at once) |
//! | `multiplier` | finite, at least 1.0 |
//! | `max_delay` | at least `initial_delay` |
//! | `jitter` | `none`, `full`, `equal` |
//! | `max_elapsed`, `attempt_timeout` | above 0, or `"none"` (no limit; overrides an inherited limit) |
//! | `window` | `count` (with `window_size`) or `time` (with `window_duration`); the other key is an error |
//! | `window_size` | 1 ..= 10 000 calls; when `window = "count"` is set without it and the inherited window counts by time, 20 |
//! | `window_duration` | at least 1 s; when `window = "time"` is set without it and the inherited window counts calls, 60 s |
//! | `failure_rate_threshold`, `slow_call_rate_threshold` | above 0.0, at most 1.0 (a threshold of 0 would open on any traffic) |
//! | `slow_call_duration` | above 0, or `"none"` (no call is slow; the breaker then reads no clock) |
//! | `open_duration` | above 0 |
//! | `minimum_calls` | 1 ..= 100 000, and at most `window_size` for a count window (else the breaker could never open) |
//! | `half_open_calls` | 1 ..= 1000 |
//! | `max_half_open_wait` | above 0, or `"none"` (wait for the trials for ever) |
//! | `retry_after_is_failure` | `true` or `false` |
//! | `max_keys` | 1 ..= 1 000 000 |
//! | `fleet` | `true` or `false` |
//! | `fleet_quorum` | 1 ..= 1000 other instances |
//! | `max_retry_after` | above 0, or `"none"` (any hint is waited, within `max_elapsed`) |
//! | `nested` | `single` (one attempt inside another call's attempt) or `retry` |
//! | `ttl` | 1 s ..= 60 s |
//! | `min_retries_per_sec` | 0 ..= 100 000 |
//! | `retry_ratio` | finite, 0.0 ..= 1000.0 |
//!
//! # Errors
//!
//! [`ConfigError`] lists every problem of the file in one pass, in the order
//! of the file, each as `path: what is wrong; how to fix it`, with its line
//! and column when read from TOML text: unknown keys, values of the wrong
//! type, misspelled variants, bad durations, out-of-range values, unknown or
//! cyclic bases. Each key is read on its own, so one bad key hides nothing
//! else; checks that relate several keys (like `max_delay` against
//! `initial_delay`) are skipped for a table whose related key, or an
//! ancestor's key, was refused, so one mistake is reported once. Its
//! `Display` renders the first 50 problems in full and counts the rest;
//! [`ConfigError::problems`] has them all.
//!
//! Hostile files are handled in time linear in their size: `base` chains of
//! any length resolve without recursion, names longer than 64 bytes get no
//! "did you mean", the list of defined names in an unknown-base message is
//! capped at 20, and lines and columns come from one pass over the text.
//!
//! # Embedding in an application's config
//!
//! `Config` is [`serde::Deserialize`], so `retry: retry_runtime::Config` in an
//! application's struct works and reports every problem; but serde does not
//! tell a value where it sits, so those paths lack the `retry.` prefix and a
//! line. The recommended pattern keeps the section raw (`retry: toml::Table`,
//! or skip it) and hands the text to [`Config::from_toml_str_at`]`(text,
//! "retry")` (full paths and lines), or the parsed table to
//! [`Config::from_toml_table`]`(table, "retry")` (full paths).
//!
//! # In code, and from libraries
//!
//! [`Config::builder`] builds a configuration in code and
//! [`Config::into_builder`] amends one; values are checked like a file's.
//! Libraries ship tables for their own names with
//! [`defaults!`](crate::defaults!): a config's `base` may name them, and
//! [`install`](crate::install) fills in those a config lacks.

use std::collections::BTreeMap;
use std::path::Path;

use toml::de::DeTable;

use crate::Policy;

use error::locate;
use raw::{Entry, Failed, RawConfig, entries_of};
use resolve::{BREAKERS, BUDGETS, HEDGES, POLICIES, resolve_section};

pub use build::ConfigBuilder;
pub use error::{ConfigError, Location, Problem};

mod build;
mod check;
pub(crate) mod defaults;

/// The names a text defines, each with its section key (`"policies"`).
pub(crate) type Written = Vec<(&'static str, String)>;
mod error;
mod limits;
mod raw;
mod read;
mod render;
mod resolve;
mod settings;
mod suggest;

pub use settings::{BreakerSettings, BudgetSettings, HedgeDelay, HedgeSettings, Window};

/// A complete, validated configuration: every policy, breaker and budget by name.
///
/// Build one with [`Config::from_toml_str`], [`Config::from_path`], serde
/// (`Config` is [`serde::Deserialize`], so it can be a field of an
/// application's own config), or [`Config::builtin`] for the presets alone.
/// See the [module docs](self) for the file format, inheritance and the
/// allowed values.
///
/// ```
/// use retry_runtime::Config;
///
/// let config = Config::from_toml_str(r#"
///     [policies.network]
///     base = "network"     # the built-in preset, with one change
///     max_attempts = 7
/// "#)?;
/// let network = config.policy("network").unwrap();
/// assert_eq!(network.max_attempts, 7);
/// assert_eq!(network.max_elapsed, retry_runtime::Policy::NETWORK.max_elapsed);
/// # Ok::<(), retry_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub(crate) policies: BTreeMap<String, Policy>,
    pub(crate) breakers: BTreeMap<String, BreakerSettings>,
    pub(crate) budgets: BTreeMap<String, BudgetSettings>,
    pub(crate) hedges: BTreeMap<String, HedgeSettings>,
}

impl Config {
    /// The built-in presets only: policies `default`, `network` and `none`,
    /// breaker `default`, budget `default` (no library
    /// [`defaults!`](crate::defaults!): [`install`](crate::install) fills
    /// those in).
    ///
    /// ```
    /// use retry_runtime::{Config, Policy};
    ///
    /// let presets = Config::builtin();
    /// assert_eq!(presets.policy("none"), Some(&Policy::NONE));
    /// assert!(presets.breaker("s3").is_none());
    /// ```
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
            hedges: [("default".to_owned(), HedgeSettings::DEFAULT)].into(),
        }
    }

    /// Reads a library's `defaults!` block: against the built-in presets
    /// only. Returns the tables that resolved and the names they write, by
    /// section key, even when others did not (so that a conflict on a good
    /// table is not hidden behind a bad one), and the block's problems.
    pub(crate) fn from_library_toml(toml: &str) -> (Config, Written, Option<ConfigError>) {
        let root = match DeTable::parse(toml) {
            Ok(root) => root,
            Err(e) => {
                let mut problems = vec![Problem::syntax(&e)];
                locate(toml, &mut problems);
                return (
                    Config::builtin(),
                    Vec::new(),
                    Some(ConfigError::invalid(problems)),
                );
            }
        };
        let (config, names, mut problems) =
            Config::read_entries(entries_of(root.into_inner()), "", &Config::builtin());
        if problems.is_empty() {
            return (config, names, None);
        }
        locate(toml, &mut problems);
        (config, names, Some(ConfigError::invalid(problems)))
    }

    /// Reads, resolves and checks the entries of a config table.
    /// Also returns the names the entries define, by section key.
    fn from_entries(
        entries: Vec<Entry<'_>>,
        prefix: &str,
        src: Option<&str>,
        presets: &Config,
    ) -> Result<(Config, Written), ConfigError> {
        let (config, names, mut problems) = Config::read_entries(entries, prefix, presets);
        if problems.is_empty() {
            return Ok((config, names));
        }
        locate(src.unwrap_or_default(), &mut problems);
        Err(ConfigError::invalid(problems))
    }

    /// Reads, resolves and checks the entries of a config table: the tables
    /// that resolved, the names the entries write, and every problem.
    fn read_entries(
        entries: Vec<Entry<'_>>,
        prefix: &str,
        presets: &Config,
    ) -> (Config, Written, Vec<Problem>) {
        let mut problems = Vec::new();
        let (raw, failed) = RawConfig::read(entries, prefix, &mut problems);
        let config = Config::resolve(&raw, &failed, prefix, presets, &mut problems);
        let names = (raw.policies.into_keys().map(|n| (POLICIES.key, n)))
            .chain(raw.breakers.into_keys().map(|n| (BREAKERS.key, n)))
            .chain(raw.budgets.into_keys().map(|n| (BUDGETS.key, n)))
            .chain(raw.hedges.into_keys().map(|n| (HEDGES.key, n)))
            .collect();
        (config, names, problems)
    }

    /// Reads a configuration from a TOML file; see [`Config::from_toml_str`].
    ///
    /// ```
    /// use retry_runtime::Config;
    ///
    /// let err = Config::from_path("no/such/retry.toml").unwrap_err();
    /// assert_eq!(err.file(), Some(std::path::Path::new("no/such/retry.toml")));
    /// assert!(err.to_string().starts_with("cannot read retry config `no/such/retry.toml`"));
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the file when it cannot be read or is invalid.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        Config::from_file_text(path, &Config::read_file(path)?)
    }

    /// A config file's text, or the error naming the file.
    pub(crate) fn read_file(path: &Path) -> Result<String, ConfigError> {
        std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: Some(path.to_owned()),
            problems: Vec::new(),
            read: Some(e),
        })
    }

    /// A config file's text read, errors naming the file.
    pub(crate) fn from_file_text(path: &Path, text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str(text).map_err(|mut e| {
            e.file = Some(path.to_owned());
            e
        })
    }

    /// The policy called `name`.
    ///
    /// ```
    /// use retry_runtime::Config;
    /// assert_eq!(Config::builtin().policy("network").unwrap().max_attempts, 5);
    /// ```
    #[must_use]
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.get(name)
    }

    /// The breaker settings called `name`.
    ///
    /// ```
    /// use retry_runtime::{BreakerSettings, Config};
    /// assert_eq!(Config::builtin().breaker("default"), Some(&BreakerSettings::DEFAULT));
    /// ```
    #[must_use]
    pub fn breaker(&self, name: &str) -> Option<&BreakerSettings> {
        self.breakers.get(name)
    }

    /// The budget settings called `name`.
    ///
    /// ```
    /// use retry_runtime::{BudgetSettings, Config};
    /// assert_eq!(Config::builtin().budget("default"), Some(&BudgetSettings::DEFAULT));
    /// ```
    #[must_use]
    pub fn budget(&self, name: &str) -> Option<&BudgetSettings> {
        self.budgets.get(name)
    }

    /// The hedge settings called `name` (`[hedges.NAME]`).
    ///
    /// ```
    /// use retry_runtime::{Config, HedgeSettings};
    /// assert_eq!(Config::builtin().hedge("default"), Some(&HedgeSettings::DEFAULT));
    /// ```
    #[must_use]
    pub fn hedge(&self, name: &str) -> Option<&HedgeSettings> {
        self.hedges.get(name)
    }

    /// Every hedge, by name in alphabetical order, presets included.
    ///
    /// ```
    /// use retry_runtime::Config;
    /// let config = Config::from_toml_str("[hedges.search]\ndelay = \"p99\"")?;
    /// let names: Vec<&str> = config.hedges().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["default", "search"]);
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    #[must_use]
    pub fn hedges(&self) -> impl ExactSizeIterator<Item = (&str, &HedgeSettings)> {
        self.hedges.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every policy, by name in alphabetical order, presets included.
    ///
    /// ```
    /// use retry_runtime::Config;
    /// let presets = Config::builtin();
    /// let names: Vec<&str> = presets.policies().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["default", "network", "none"]);
    /// ```
    #[must_use]
    pub fn policies(&self) -> impl ExactSizeIterator<Item = (&str, &Policy)> {
        self.policies.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every breaker, by name in alphabetical order, presets included.
    ///
    /// ```
    /// use retry_runtime::Config;
    /// let config = Config::from_toml_str("[breakers.s3]\nminimum_calls = 5")?;
    /// let names: Vec<&str> = config.breakers().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["default", "s3"]);
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    #[must_use]
    pub fn breakers(&self) -> impl ExactSizeIterator<Item = (&str, &BreakerSettings)> {
        self.breakers.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every budget, by name in alphabetical order, presets included.
    ///
    /// ```
    /// use retry_runtime::Config;
    /// assert_eq!(Config::builtin().budgets().count(), 1);
    /// ```
    #[must_use]
    pub fn budgets(&self) -> impl ExactSizeIterator<Item = (&str, &BudgetSettings)> {
        self.budgets.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The built-in presets, overridden and extended by `raw`; `presets`
    /// (built-in presets and library defaults) serve as bases; problems are
    /// appended.
    fn resolve(
        raw: &RawConfig,
        failed: &Failed,
        prefix: &str,
        presets: &Config,
        problems: &mut Vec<Problem>,
    ) -> Config {
        let mut config = Config::builtin();
        config.policies.extend(resolve_section(
            &POLICIES,
            prefix,
            &raw.policies,
            &failed.policies,
            &presets.policies,
            problems,
        ));
        config.breakers.extend(resolve_section(
            &BREAKERS,
            prefix,
            &raw.breakers,
            &failed.breakers,
            &presets.breakers,
            problems,
        ));
        config.budgets.extend(resolve_section(
            &BUDGETS,
            prefix,
            &raw.budgets,
            &failed.budgets,
            &presets.budgets,
            problems,
        ));
        config.hedges.extend(resolve_section(
            &HEDGES,
            prefix,
            &raw.hedges,
            &failed.hedges,
            &presets.hedges,
            problems,
        ));
        config
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_out_the_presets_gives_the_presets() {
        let config = Config::from_toml_str(
            r#"
            [policies.default]
            max_attempts = 3
            backoff = "exponential"
            initial_delay = "100ms"
            multiplier = 2.0
            max_delay = "10s"
            jitter = "full"
            max_elapsed = "none"
            attempt_timeout = "none"
            [policies.network]
            max_attempts = 5
            initial_delay = "200ms"
            max_elapsed = "30s"
            [policies.none]
            max_attempts = 1
            [breakers.default]
            window = "count"
            window_size = 20
            failure_rate_threshold = 0.5
            slow_call_duration = "10s"
            slow_call_rate_threshold = 1.0
            minimum_calls = 10
            open_duration = "30s"
            half_open_calls = 3
            [budgets.default]
            ttl = "10s"
            min_retries_per_sec = 10
            retry_ratio = 0.2
            "#,
        );
        assert_eq!(config.ok(), Some(Config::builtin()));
    }
}
