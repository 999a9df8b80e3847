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
//! retry_after_is_failure = false # a retry-after (429) counts as a success
//! max_keys = 1000              # keyed instances (breaker_key) alive at once
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
//! | `minimum_calls` | at least 1, and at most `window_size` for a count window (else the breaker could never open) |
//! | `half_open_calls` | at least 1 |
//! | `max_half_open_wait` | above 0, or `"none"` (wait for the trials for ever) |
//! | `retry_after_is_failure` | `true` or `false` |
//! | `max_keys` | 1 ..= 1 000 000 |
//! | `max_retry_after` | above 0, or `"none"` (any hint is waited, within `max_elapsed`) |
//! | `nested` | `single` (one attempt inside another call's attempt) or `retry` |
//! | `ttl` | 1 s ..= 60 s |
//! | `min_retries_per_sec` | 0 ..= 4 294 967 295 |
//! | `retry_ratio` | finite, 0.0 ..= 1000.0 |
//!
//! # Errors
//!
//! [`ConfigError`] lists every problem found, each as
//! `path: what is wrong; how to fix it`, with its line and column when read
//! from TOML text. Type errors (a string where a number belongs, a misspelled
//! key or variant) are reported once per table; value and inheritance errors
//! are all reported together.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::{Backoff, Jitter, Nested, Policy};

/// Largest `max_attempts`: a guard against typos (`max_attempts = 50000`).
const MAX_ATTEMPTS: u32 = 1000;
/// Largest count window, in calls.
const MAX_WINDOW_SIZE: u32 = 10_000;
/// Shortest time window.
const MIN_WINDOW_DURATION: Duration = Duration::from_secs(1);
/// Size of a count window switched to from an inherited time window.
const DEFAULT_WINDOW_SIZE: u32 = 20;
/// Duration of a time window switched to from an inherited count window.
const DEFAULT_WINDOW_DURATION: Duration = Duration::from_secs(60);
/// Bounds of a budget's `ttl`.
const MIN_TTL: Duration = Duration::from_secs(1);
const MAX_TTL: Duration = Duration::from_secs(60);
/// Largest `retry_ratio`.
const MAX_RETRY_RATIO: f64 = 1000.0;
/// Largest `max_keys`: keyed breaker instances of one name.
const MAX_KEYS: u32 = 1_000_000;

/// How a circuit breaker counts recent outcomes: `window = "count"` with
/// `window_size`, or `window = "time"` with `window_duration`.
///
/// ```
/// use retry_runtime::{Config, Window};
///
/// let config = Config::from_toml_str(r#"
///     [breakers.db]
///     window = "count"
///     window_size = 50
/// "#)?;
/// assert_eq!(config.breaker("db").map(|b| b.window), Some(Window::Count { size: 50 }));
/// # Ok::<(), retry_runtime::ConfigError>(())
/// ```
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
///
/// ```
/// use retry_runtime::{BreakerSettings, Config, Window};
///
/// let config = Config::from_toml_str(r#"
///     [breakers.s3]
///     window = "time"
///     window_duration = "2m"
/// "#)?;
/// let s3 = config.breaker("s3").unwrap();
/// assert_eq!(s3.window, Window::Time { duration: std::time::Duration::from_secs(120) });
/// assert_eq!(s3.minimum_calls, BreakerSettings::DEFAULT.minimum_calls);
/// # Ok::<(), retry_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerSettings {
    /// How outcomes are counted.
    pub window: Window,
    /// The breaker opens when at least this fraction of recorded calls failed (0.0..=1.0).
    pub failure_rate_threshold: f64,
    /// A call that takes at least this long counts as slow.
    /// [`BreakerSettings::NO_SLOW_CALLS`] (`"none"` in a config file) turns
    /// slow-call detection off, and with it the two clock reads per attempt
    /// that timing costs.
    pub slow_call_duration: Duration,
    /// The breaker opens when at least this fraction of recorded calls were slow (0.0..=1.0).
    pub slow_call_rate_threshold: f64,
    /// No rate is judged before this many calls are recorded (at least 1).
    pub minimum_calls: u32,
    /// How long an open breaker rejects calls before it lets trial calls through.
    pub open_duration: Duration,
    /// How many trial calls a half-open breaker admits (at least 1).
    pub half_open_calls: u32,
    /// How long a half-open breaker waits for its trial calls' outcomes: past
    /// it (trials hung or never made) the breaker opens again. `None` (`"none"`
    /// in a config file): wait for ever.
    pub max_half_open_wait: Option<Duration>,
    /// Whether an attempt that failed with [`Class::RetryAfter`](crate::Class::RetryAfter)
    /// (the service asked us to slow down, e.g. HTTP 429) counts as a failure.
    /// `false` (the default): it counts as a success, since a service that
    /// pushes back is alive.
    pub retry_after_is_failure: bool,
    /// The most keyed instances (`breaker_key`) of this breaker alive at once;
    /// past it the least recently used closed instance is dropped.
    pub max_keys: u32,
}

impl BreakerSettings {
    /// A `slow_call_duration` under which no call is slow (`"none"` in a config
    /// file): the breaker then judges failures only, and reads no clock on the
    /// success path.
    ///
    /// ```
    /// use retry_runtime::{BreakerSettings, Config};
    ///
    /// let config = Config::from_toml_str("[breakers.cache]\nslow_call_duration = \"none\"")?;
    /// let cache = config.breaker("cache").unwrap();
    /// assert_eq!(cache.slow_call_duration, BreakerSettings::NO_SLOW_CALLS);
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    pub const NO_SLOW_CALLS: Duration = Duration::MAX;

    /// The `default` breaker preset: a window of the last 20 calls, opens when
    /// half of at least 10 recorded calls failed or all of them took 10 s or
    /// more, stays open 30 s, then admits 3 trial calls.
    pub const DEFAULT: BreakerSettings = BreakerSettings {
        window: Window::Count { size: 20 },
        failure_rate_threshold: 0.5,
        slow_call_duration: Duration::from_secs(10),
        slow_call_rate_threshold: 1.0,
        minimum_calls: 10,
        open_duration: Duration::from_secs(30),
        half_open_calls: 3,
        max_half_open_wait: Some(Duration::from_secs(60)),
        retry_after_is_failure: false,
        max_keys: 1000,
    };
}

/// The settings of one named retry budget (`[budgets.NAME]`).
///
/// ```
/// use retry_runtime::{BudgetSettings, Config};
///
/// let config = Config::from_toml_str("[budgets.batch]\nretry_ratio = 0.5")?;
/// let batch = config.budget("batch").unwrap();
/// assert_eq!(batch.retry_ratio, 0.5);
/// assert_eq!(batch.ttl, BudgetSettings::DEFAULT.ttl);
/// # Ok::<(), retry_runtime::ConfigError>(())
/// ```
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
    /// The `default` budget preset: Finagle's defaults (10 s window, 10 retries
    /// per second always allowed, plus one retry per five calls).
    pub const DEFAULT: BudgetSettings = BudgetSettings {
        ttl: Duration::from_secs(10),
        min_retries_per_sec: 10,
        retry_ratio: 0.2,
    };
}

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
}

impl Config {
    /// The built-in presets only: policies `default`, `network` and `none`,
    /// breaker `default`, budget `default`.
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
        }
    }

    /// Reads a configuration from TOML text: the presets, overridden and
    /// extended by the tables of `toml`.
    ///
    /// ```
    /// use retry_runtime::Config;
    ///
    /// let config = Config::from_toml_str(r#"
    ///     [policies.default]
    ///     max_attempts = 4
    ///
    ///     [policies.reads]
    ///     initial_delay = "20ms"
    ///     max_delay = "1s"
    /// "#)?;
    /// let reads = config.policy("reads").unwrap();
    /// assert_eq!(reads.max_attempts, 4); // from the file's `default`
    /// assert_eq!(reads.max_delay, std::time::Duration::from_secs(1));
    ///
    /// let err = Config::from_toml_str("[policies.reads]\nmax_dealy = \"1s\"").unwrap_err();
    /// assert_eq!(err.path(), Some("policies.reads.max_dealy"));
    /// assert!(err.to_string().contains("did you mean `max_delay`?"));
    /// # Ok::<(), retry_runtime::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every problem: TOML syntax, unknown keys,
    /// values of the wrong type or out of range, unknown or cyclic bases.
    pub fn from_toml_str(toml: &str) -> Result<Config, ConfigError> {
        let root = DeTable::parse(toml)
            .map_err(|e| ConfigError::invalid(vec![Problem::syntax(&e, toml)]))?;
        let locator = Locator::new(toml, root.get_ref());
        let mut problems = Vec::new();
        let (raw, failed) = RawConfig::from_document(root.into_inner(), &locator, &mut problems);
        let config = Config::resolve(&raw, &failed, &mut problems);
        if problems.is_empty() {
            return Ok(config);
        }
        for problem in &mut problems {
            if problem.location.is_none() {
                problem.location = locator.find(&problem.path);
            }
        }
        problems.sort_by_key(|p| p.location.unwrap_or(Location::END));
        Err(ConfigError::invalid(problems))
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
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: Some(path.to_owned()),
            problems: Vec::new(),
            read: Some(e),
        })?;
        Config::from_toml_str(&text).map_err(|mut e| {
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

    /// The presets, overridden and extended by `raw`; problems are appended.
    fn resolve(raw: &RawConfig, failed: &Failed, problems: &mut Vec<Problem>) -> Config {
        let builtin = Config::builtin();
        Config {
            policies: resolve_section(
                &POLICIES,
                &raw.policies,
                &failed.policies,
                builtin.policies,
                problems,
            ),
            breakers: resolve_section(
                &BREAKERS,
                &raw.breakers,
                &failed.breakers,
                builtin.breakers,
                problems,
            ),
            budgets: resolve_section(
                &BUDGETS,
                &raw.budgets,
                &failed.budgets,
                builtin.budgets,
                problems,
            ),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::builtin()
    }
}

/// Reads a `Config` from any serde format, with the same keys, inheritance
/// and checks as [`Config::from_toml_str`]; a failure becomes the format's
/// error, its message the [`ConfigError`]'s (key paths are relative to the
/// `Config` value; line and column are the format's own, if it adds them).
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct App {
///     listen: String,
///     retry: retry_runtime::Config,
/// }
///
/// let app: App = toml::from_str(r#"
///     listen = "0.0.0.0:8080"
///     [retry.policies.default]
///     max_attempts = 2
/// "#)?;
/// assert_eq!(app.retry.policy("default").unwrap().max_attempts, 2);
///
/// let err = toml::from_str::<App>("listen = ''\n[retry.policies.default]\nmax_attempts = 0")
///     .err()
///     .unwrap();
/// assert!(err.message().contains("policies.default.max_attempts: must be at least 1"));
/// # Ok::<(), toml::de::Error>(())
/// ```
impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: RawConfig = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = path_string("", e.path());
            // The first line: some formats add context lines of their own.
            let message = e.inner().to_string();
            let message = message.lines().next().unwrap_or_default();
            let problem = Problem::new(&path, explain(&path, message));
            de::Error::custom(ConfigError::invalid(vec![problem]))
        })?;
        let mut problems = Vec::new();
        let config = Config::resolve(&raw, &Failed::default(), &mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(de::Error::custom(ConfigError::invalid(problems)))
        }
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a configuration was refused: the file could not be read, or it has
/// one or more [`Problem`]s.
///
/// Its `Display` is meant for an operator: one problem per line, each as
/// `path: what is wrong; how to fix it (line L, column C)`.
///
/// ```
/// use retry_runtime::Config;
///
/// let err = Config::from_toml_str(r#"
/// [policies.default]
/// max_attempts = 0
/// multiplier = 0.5
/// "#).unwrap_err();
/// assert_eq!(err.path(), Some("policies.default.max_attempts"));
/// let paths: Vec<&str> = err.problems().iter().map(|p| p.path()).collect();
/// assert_eq!(paths, ["policies.default.max_attempts", "policies.default.multiplier"]);
/// assert_eq!(err.to_string(), "\
/// invalid retry config: 2 problems:
///   policies.default.max_attempts: must be at least 1 (it counts the first attempt); \
/// write max_attempts = 1 to never retry (line 3, column 16)
///   policies.default.multiplier: must be a finite number of at least 1.0, got 0.5; \
/// write multiplier = 2.0 to double the delay at each retry, or 1.0 to keep it flat (line 4, column 14)");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.file.as_deref(), .problems, .read.as_ref()))]
pub struct ConfigError {
    file: Option<PathBuf>,
    problems: Vec<Problem>,
    #[source]
    read: Option<std::io::Error>,
}

impl ConfigError {
    fn invalid(problems: Vec<Problem>) -> ConfigError {
        ConfigError {
            file: None,
            problems,
            read: None,
        }
    }

    /// The key path of the first problem (`"policies.network.max_delay"`);
    /// empty for a TOML syntax error, `None` when the file could not be read.
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("[breakers.s3]\nminimum_calls = -1").unwrap_err();
    /// assert_eq!(err.path(), Some("breakers.s3.minimum_calls"));
    /// ```
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        self.problems.first().map(Problem::path)
    }

    /// Every problem found, in the order of the file (empty when the file
    /// could not be read).
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str(r#"
    ///     [budgets.a]
    ///     ttl = "2m"
    ///     [budgets.b]
    ///     retry_ratio = -1.0
    /// "#).unwrap_err();
    /// assert_eq!(err.problems().len(), 2);
    /// assert_eq!(err.problems()[1].path(), "budgets.b.retry_ratio");
    /// ```
    #[must_use]
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The file the configuration was read from, when it came from [`Config::from_path`].
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("x = 1").unwrap_err();
    /// assert_eq!(err.file(), None);
    /// ```
    #[must_use]
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The I/O error, when the file could not be read (also the error's `source()`).
    ///
    /// ```
    /// let err = retry_runtime::Config::from_path("no/such/file.toml").unwrap_err();
    /// assert_eq!(err.io_error().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    /// ```
    #[must_use]
    pub fn io_error(&self) -> Option<&std::io::Error> {
        self.read.as_ref()
    }
}

fn render(file: Option<&Path>, problems: &[Problem], read: Option<&std::io::Error>) -> String {
    let file = file
        .map(|f| format!(" `{}`", f.display()))
        .unwrap_or_default();
    if let Some(read) = read {
        return format!("cannot read retry config{file}: {read}");
    }
    match problems {
        [] => format!("invalid retry config{file}"),
        [one] => format!("invalid retry config{file}: {one}"),
        many => {
            let mut out = format!("invalid retry config{file}: {} problems:", many.len());
            for problem in many {
                out.push_str("\n  ");
                out.push_str(&problem.to_string());
            }
            out
        }
    }
}

/// One thing wrong with a configuration.
///
/// ```
/// let err = retry_runtime::Config::from_toml_str("[policies.default]\njitter = \"ful\"").unwrap_err();
/// let problem = &err.problems()[0];
/// assert_eq!(problem.path(), "policies.default.jitter");
/// assert!(problem.message().contains("did you mean \"full\"?"));
/// assert_eq!(problem.location().map(|l| (l.line, l.column)), Some((2, 10)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    path: String,
    message: String,
    location: Option<Location>,
}

impl Problem {
    fn new(path: &str, message: impl Into<String>) -> Problem {
        Problem {
            path: path.to_owned(),
            message: message.into(),
            location: None,
        }
    }

    fn syntax(error: &toml::de::Error, src: &str) -> Problem {
        Problem {
            path: String::new(),
            message: format!("invalid TOML: {}", error.message().trim_end()),
            location: error.span().map(|s| location_of(src, s.start)),
        }
    }

    /// The dotted key path of the offending value (`"breakers.s3.window_size"`),
    /// or of its table; empty for a TOML syntax error.
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("[budgets.x]\nttl = 5").unwrap_err();
    /// assert_eq!(err.problems()[0].path(), "budgets.x.ttl");
    /// ```
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong and how to fix it, without the path.
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("[budgets.x]\nttl = \"0s\"").unwrap_err();
    /// assert!(err.problems()[0].message().starts_with("must be between 1s and 1m"));
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where in the TOML text the problem is, when known (not for
    /// configurations read through serde).
    ///
    /// ```
    /// let err = retry_runtime::Config::from_toml_str("\n[policies.x]\nbase = \"y\"").unwrap_err();
    /// let at = err.problems()[0].location().unwrap();
    /// assert_eq!((at.line, at.column), (3, 8)); // the value "y"
    /// ```
    #[must_use]
    pub fn location(&self) -> Option<Location> {
        self.location
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(location) = self.location {
            write!(f, " ({location})")?;
        }
        Ok(())
    }
}

/// A position in TOML text, both numbers counted from 1 (columns in characters).
///
/// ```
/// let err = retry_runtime::Config::from_toml_str("[policies.x]\nmax_attempts = 0").unwrap_err();
/// let at = err.problems()[0].location().unwrap();
/// assert_eq!(at.to_string(), "line 2, column 16");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
}

impl Location {
    /// Sorts after every real location.
    const END: Location = Location {
        line: usize::MAX,
        column: usize::MAX,
    };
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The line and column of byte `offset` in `src`.
fn location_of(src: &str, offset: usize) -> Location {
    let before = src.get(..offset).unwrap_or(src);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Where each key of a TOML document is, by dotted path: a value's span, or a table's name.
struct Locator<'s> {
    src: &'s str,
    spans: HashMap<String, Range<usize>>,
}

impl<'s> Locator<'s> {
    fn new(src: &'s str, root: &DeTable<'_>) -> Locator<'s> {
        fn walk(prefix: &str, table: &DeTable<'_>, spans: &mut HashMap<String, Range<usize>>) {
            for (key, value) in table {
                let path = if prefix.is_empty() {
                    key.get_ref().to_string()
                } else {
                    format!("{prefix}.{}", key.get_ref())
                };
                // A table is found by its name, a value by the value itself.
                if let DeValue::Table(inner) = value.get_ref() {
                    walk(&path, inner, spans);
                    spans.insert(path, key.span());
                } else {
                    spans.insert(path, value.span());
                }
            }
        }
        let mut spans = HashMap::new();
        walk("", root, &mut spans);
        Locator { src, spans }
    }

    fn at(&self, span: Option<Range<usize>>) -> Option<Location> {
        span.map(|s| location_of(self.src, s.start))
    }

    /// The location of `path`'s key, or of its closest enclosing table.
    fn find(&self, path: &str) -> Option<Location> {
        let mut path = path;
        loop {
            if let Some(span) = self.spans.get(path) {
                return Some(location_of(self.src, span.start));
            }
            path = path.rsplit_once('.')?.0;
        }
    }
}

// ---------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of [policies.NAME], [breakers.NAME] and [budgets.NAME] tables"
)]
struct RawConfig {
    #[serde(default)]
    policies: BTreeMap<String, RawPolicy>,
    #[serde(default)]
    breakers: BTreeMap<String, RawBreaker>,
    #[serde(default)]
    budgets: BTreeMap<String, RawBudget>,
}

/// Names of tables that did not deserialize: already reported, so neither
/// their heirs nor references to them are.
#[derive(Default)]
struct Failed {
    policies: BTreeSet<String>,
    breakers: BTreeSet<String>,
    budgets: BTreeSet<String>,
}

impl RawConfig {
    /// Reads the document table by table, so that one table's type error
    /// does not hide another's.
    fn from_document(
        root: DeTable<'_>,
        locator: &Locator<'_>,
        problems: &mut Vec<Problem>,
    ) -> (RawConfig, Failed) {
        let mut raw = RawConfig::default();
        let mut failed = Failed::default();
        for (key, value) in root {
            match key.get_ref().as_ref() {
                "policies" => read_section(
                    "policies",
                    value,
                    locator,
                    &mut raw.policies,
                    &mut failed.policies,
                    problems,
                ),
                "breakers" => read_section(
                    "breakers",
                    value,
                    locator,
                    &mut raw.breakers,
                    &mut failed.breakers,
                    problems,
                ),
                "budgets" => read_section(
                    "budgets",
                    value,
                    locator,
                    &mut raw.budgets,
                    &mut failed.budgets,
                    problems,
                ),
                other => problems.push(Problem {
                    location: locator.at(Some(key.span())),
                    ..Problem::new(other, unknown_key(other, &SECTIONS))
                }),
            }
        }
        (raw, failed)
    }
}

const SECTIONS: [&str; 3] = ["policies", "breakers", "budgets"];

fn read_section<T: DeserializeOwned>(
    section: &str,
    value: Spanned<DeValue<'_>>,
    locator: &Locator<'_>,
    tables: &mut BTreeMap<String, T>,
    failed: &mut BTreeSet<String>,
    problems: &mut Vec<Problem>,
) {
    let span = value.span();
    let entries = match value.into_inner() {
        DeValue::Table(entries) => entries,
        other => {
            // Not a table: let serde say so, in the words of the serde route.
            let value = ValueDeserializer::from(Spanned::new(span, other));
            if let Err(e) = serde_path_to_error::deserialize::<_, BTreeMap<String, T>>(value) {
                let message = explain(section, e.inner().message());
                problems.push(Problem {
                    location: locator.at(e.inner().span()),
                    ..Problem::new(section, message)
                });
            }
            return;
        }
    };
    for (name, value) in entries {
        let name = name.into_inner().into_owned();
        match serde_path_to_error::deserialize::<_, T>(ValueDeserializer::from(value)) {
            Ok(table) => {
                tables.insert(name, table);
            }
            Err(e) => {
                let path = path_string(&format!("{section}.{name}"), e.path());
                let message = explain(&path, e.inner().message());
                problems.push(Problem {
                    location: locator.at(e.inner().span()),
                    ..Problem::new(&path, message)
                });
                failed.insert(name);
            }
        }
    }
}

/// `prefix` followed by the segments of a serde path, dotted.
fn path_string(prefix: &str, path: &serde_path_to_error::Path) -> String {
    let mut out = prefix.to_owned();
    for segment in path {
        let segment = match segment {
            serde_path_to_error::Segment::Map { key } => key.clone(),
            serde_path_to_error::Segment::Enum { variant } => variant.clone(),
            serde_path_to_error::Segment::Seq { index } => index.to_string(),
            serde_path_to_error::Segment::Unknown => "?".to_owned(),
        };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&segment);
    }
    out
}

/// A duration written as a human string: `"250ms"`, `"30s"`, `"1m 30s"`.
#[derive(Clone, Copy)]
struct Dur(Duration);

/// A duration, or `"none"` for no limit.
#[derive(Clone, Copy)]
struct Limit(Option<Duration>);

struct DurationVisitor {
    none_allowed: bool,
}

impl Visitor<'_> for DurationVisitor {
    type Value = Option<Duration>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.none_allowed {
            f.write_str("a duration like \"30s\", or \"none\"")
        } else {
            f.write_str("a duration like \"250ms\" or \"30s\"")
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let text = v.trim();
        if self.none_allowed && text.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        humantime::parse_duration(text).map(Some).map_err(|e| {
            let none = if self.none_allowed {
                ", or \"none\" for no limit"
            } else {
                ""
            };
            E::custom(format!(
                "invalid duration \"{v}\": {e}; write it like \"250ms\" or \"30s\"{none}"
            ))
        })
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let d = deserializer.deserialize_str(DurationVisitor {
            none_allowed: false,
        })?;
        Ok(Dur(d.unwrap_or_default()))
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_str(DurationVisitor { none_allowed: true })
            .map(Limit)
    }
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of policy settings, like [policies.NAME] followed by its keys"
)]
struct RawPolicy {
    base: Option<String>,
    max_attempts: Option<u32>,
    backoff: Option<Backoff>,
    initial_delay: Option<Dur>,
    multiplier: Option<f64>,
    max_delay: Option<Dur>,
    jitter: Option<Jitter>,
    max_elapsed: Option<Limit>,
    attempt_timeout: Option<Limit>,
    max_retry_after: Option<Limit>,
    nested: Option<Nested>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum WindowKind {
    Count,
    Time,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of breaker settings, like [breakers.NAME] followed by its keys"
)]
struct RawBreaker {
    base: Option<String>,
    window: Option<WindowKind>,
    window_size: Option<u32>,
    window_duration: Option<Dur>,
    failure_rate_threshold: Option<f64>,
    slow_call_duration: Option<Limit>,
    slow_call_rate_threshold: Option<f64>,
    minimum_calls: Option<u32>,
    open_duration: Option<Dur>,
    half_open_calls: Option<u32>,
    max_half_open_wait: Option<Limit>,
    retry_after_is_failure: Option<bool>,
    max_keys: Option<u32>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of budget settings, like [budgets.NAME] followed by its keys"
)]
struct RawBudget {
    base: Option<String>,
    ttl: Option<Dur>,
    min_retries_per_sec: Option<u32>,
    retry_ratio: Option<f64>,
}

// ---------------------------------------------------------------------------
// Inheritance
// ---------------------------------------------------------------------------

/// One kind of named table.
struct Section {
    key: &'static str,
    singular: &'static str,
    plural: &'static str,
}

const POLICIES: Section = Section {
    key: "policies",
    singular: "policy",
    plural: "policies",
};
const BREAKERS: Section = Section {
    key: "breakers",
    singular: "breaker",
    plural: "breakers",
};
const BUDGETS: Section = Section {
    key: "budgets",
    singular: "budget",
    plural: "budgets",
};

/// A table as written: what it inherits from, how it overrides, what it checks.
trait Table {
    type Settings: Copy;
    fn base(&self) -> Option<&str>;
    /// The parent's settings with this table's keys applied.
    fn merge(&self, parent: &Self::Settings) -> Self::Settings;
    /// Checks the merged settings, reporting only what this table sets.
    fn check(&self, merged: &Self::Settings, check: &mut Check<'_>);
}

enum Parent<'a, S> {
    Preset(&'a str, S),
    Table(&'a str),
    Unknown(&'a str),
    /// The parent did not deserialize; it is reported already.
    Failed,
}

struct Resolver<'a, 'p, T: Table> {
    section: &'a Section,
    tables: &'a BTreeMap<String, T>,
    failed: &'a BTreeSet<String>,
    presets: &'a BTreeMap<String, T::Settings>,
    done: BTreeMap<&'a str, Option<T::Settings>>,
    /// Tables being resolved, each with whether it names its parent by `base`.
    stack: Vec<(&'a str, bool)>,
    problems: &'p mut Vec<Problem>,
}

fn resolve_section<T: Table>(
    section: &Section,
    tables: &BTreeMap<String, T>,
    failed: &BTreeSet<String>,
    presets: BTreeMap<String, T::Settings>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, T::Settings> {
    let mut resolver = Resolver {
        section,
        tables,
        failed,
        presets: &presets,
        done: BTreeMap::new(),
        stack: Vec::new(),
        problems,
    };
    for name in tables.keys() {
        resolver.resolve(name);
    }
    let merged: Vec<(String, T::Settings)> = resolver
        .done
        .into_iter()
        .filter_map(|(name, settings)| Some((name.to_owned(), settings?)))
        .collect();
    let mut out = presets;
    out.extend(merged);
    out
}

impl<'a, T: Table> Resolver<'a, '_, T> {
    fn resolve(&mut self, name: &'a str) -> Option<T::Settings> {
        if let Some(done) = self.done.get(name) {
            return *done;
        }
        if let Some(start) = self.stack.iter().position(|(n, _)| *n == name) {
            self.report_cycle(start);
            return None;
        }
        let table = self.tables.get(name)?;
        let section = self.section;
        let (parent, label) = match self.parent_of(name, table) {
            Parent::Preset(preset, settings) => (
                Some(settings),
                format!("the built-in `{preset}` {}", section.singular),
            ),
            Parent::Table(parent) => {
                self.stack.push((name, table.base().is_some()));
                let settings = self.resolve(parent);
                self.stack.pop();
                (settings, format!("`{parent}`"))
            }
            Parent::Unknown(base) => {
                self.report_unknown_base(name, base);
                (None, String::new())
            }
            Parent::Failed => (None, String::new()),
        };
        let merged = if name.is_empty() {
            self.problems.push(Problem::new(
                &format!("{}.\"\"", section.key),
                format!(
                    "a {} name cannot be empty; name the table, like [{}.example]",
                    section.singular, section.key
                ),
            ));
            None
        } else {
            parent.map(|parent| {
                let merged = table.merge(&parent);
                table.check(
                    &merged,
                    &mut Check {
                        prefix: format!("{}.{name}", section.key),
                        parent: label,
                        problems: self.problems,
                    },
                );
                merged
            })
        };
        self.done.insert(name, merged);
        merged
    }

    fn parent_of(&self, name: &'a str, table: &'a T) -> Parent<'a, T::Settings> {
        let preset = |n: &'a str| self.presets.get(n).map(|s| Parent::Preset(n, *s));
        let in_file = |n: &str| {
            if self.failed.contains(n) {
                Some(Parent::Failed)
            } else {
                self.tables
                    .get_key_value(n)
                    .map(|(k, _)| Parent::Table(k.as_str()))
            }
        };
        match table.base() {
            Some(base) if base == name => preset(base).unwrap_or(Parent::Table(name)),
            Some(base) => in_file(base)
                .or_else(|| preset(base))
                .unwrap_or(Parent::Unknown(base)),
            None if name == "default" => preset("default").unwrap_or(Parent::Unknown("default")),
            None => in_file("default")
                .or_else(|| preset("default"))
                .unwrap_or(Parent::Unknown("default")),
        }
    }

    fn report_unknown_base(&mut self, name: &str, base: &str) {
        let section = self.section;
        let defined: BTreeSet<&str> = self
            .presets
            .keys()
            .chain(self.tables.keys())
            .chain(self.failed.iter())
            .map(String::as_str)
            .filter(|n| !n.is_empty())
            .collect();
        let list = defined.iter().copied().collect::<Vec<_>>().join(", ");
        let fix = match closest(base, defined.iter().copied()) {
            Some(near) => format!("did you mean \"{near}\"?"),
            None => format!("add a [{}.{base}] table, or name one of those", section.key),
        };
        let what = if self.tables.get(name).and_then(Table::base).is_some() {
            format!("{}.{name}.base", section.key)
        } else {
            format!("{}.{name}", section.key)
        };
        self.problems.push(Problem::new(
            &what,
            format!(
                "no {} is called \"{base}\"; defined {} are: {list}; {fix}",
                section.singular, section.plural
            ),
        ));
    }

    fn report_cycle(&mut self, start: usize) {
        let members = &self.stack[start..];
        let Some(&(first, explicit)) = members.first() else {
            return;
        };
        let mut cycle: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
        cycle.push(first);
        let implicit = if members.iter().any(|(_, explicit)| !explicit) {
            " (a table without `base` inherits from `default`)"
        } else {
            ""
        };
        let path = if explicit {
            format!("{}.{first}.base", self.section.key)
        } else {
            format!("{}.{first}", self.section.key)
        };
        self.problems.push(Problem::new(
            &path,
            format!(
                "inheritance cycle {}{implicit}; remove `base` from one of them, or point it at a {} outside the cycle",
                cycle.join(" -> "),
                self.section.singular,
            ),
        ));
    }
}

/// Collects the problems of one resolved table.
struct Check<'p> {
    /// `policies.NAME`
    prefix: String,
    /// What the table inherits from, for messages.
    parent: String,
    problems: &'p mut Vec<Problem>,
}

impl Check<'_> {
    fn push(&mut self, key: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(&format!("{}.{key}", self.prefix), message));
    }

    /// `" (inherited from `default`)"` for a value this table does not set.
    fn inherited(&self, set_here: bool) -> String {
        if set_here {
            String::new()
        } else {
            format!(" (inherited from {})", self.parent)
        }
    }

    fn positive(&mut self, key: &str, value: Option<Duration>, example: &str) {
        if value.is_some_and(|d| d.is_zero()) {
            self.push(
                key,
                format!("must be longer than 0; write it like {key} = \"{example}\""),
            );
        }
    }

    fn at_least_one(&mut self, key: &str, value: Option<u32>, example: u32) {
        if value == Some(0) {
            self.push(
                key,
                format!("must be at least 1; write it like {key} = {example}"),
            );
        }
    }

    fn fraction(&mut self, key: &str, value: Option<f64>) {
        let Some(v) = value else { return };
        if v > 0.0 && v <= 1.0 {
            return;
        }
        let fix = if v > 1.0 && v <= 100.0 {
            format!("for {v}% write {key} = {}", v / 100.0)
        } else {
            format!("write a fraction like {key} = 0.5 (half of the calls)")
        };
        self.push(
            key,
            format!("must be above 0.0 and at most 1.0, got {v}; {fix}"),
        );
    }
}

fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

fn backoff_name(backoff: Backoff) -> &'static str {
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
                c.push(
                    "initial_delay",
                    format!(
                        "must be longer than 0 with backoff = \"{kind}\"{inherited}, or every delay is 0; write it like initial_delay = \"100ms\", or use backoff = \"constant\" to retry at once"
                    ),
                );
            } else {
                let inherited = c.inherited(false);
                c.push(
                    "backoff",
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
                c.push(
                    "max_delay",
                    format!(
                        "{max} is shorter than initial_delay {initial}{inherited}; raise max_delay to at least {initial}, or lower initial_delay"
                    ),
                );
            } else {
                let inherited = c.inherited(false);
                c.push(
                    "initial_delay",
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
        }
    }

    fn check(&self, b: &BreakerSettings, c: &mut Check<'_>) {
        let kind_inherited = c.inherited(self.window.is_some());
        match b.window {
            Window::Count { size } => {
                if self.window_duration.is_some() {
                    c.push(
                        "window_duration",
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
                    c.push(
                        key,
                        format!(
                            "minimum_calls ({calls}) is more than the window holds (window_size = {size}), so the breaker could never open; lower minimum_calls to at most {size}, or raise window_size to at least {calls}"
                        ),
                    );
                }
            }
            Window::Time { duration } => {
                if self.window_size.is_some() {
                    c.push(
                        "window_size",
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
        c.at_least_one("minimum_calls", self.minimum_calls, 10);
        c.at_least_one("half_open_calls", self.half_open_calls, 3);
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

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/// Rewrites a serde message for an operator: known keys and variants, the
/// closest match, and an example of the expected value.
fn explain(path: &str, message: &str) -> String {
    let field = path.rsplit('.').next().unwrap_or(path);
    let quoted = backticked(message);
    if message.starts_with("unknown field")
        && let Some((bad, valid)) = quoted.split_first()
    {
        return unknown_key(bad, valid);
    }
    if message.starts_with("unknown variant")
        && let Some((bad, valid)) = quoted.split_first()
    {
        let list = valid.join(", ");
        let fix = match closest(bad, valid.iter().copied()) {
            Some(near) => format!("did you mean \"{near}\"?"),
            None => format!(
                "write one of them in quotes, like {field} = \"{}\"",
                valid.first().copied().unwrap_or_default()
            ),
        };
        return format!("unknown variant \"{bad}\", expected one of {list}; {fix}");
    }
    if message.starts_with("invalid type:") || message.starts_with("invalid value:") {
        let mut out = message
            .replace(
                "expected u32",
                "expected a whole number from 0 to 4294967295",
            )
            .replace("expected f64", "expected a number")
            .replace("expected a map", "expected a table")
            .replace("expected a string", "expected a name in quotes");
        let depth = path.split('.').count();
        let fix = if depth == 1 && SECTIONS.contains(&field) {
            Some(format!(
                "write it as tables like [{field}.default] followed by their keys"
            ))
        } else {
            example(field).map(|ex| format!("write it like {ex}"))
        };
        if let Some(fix) = fix {
            out.push_str("; ");
            out.push_str(&fix);
        }
        return out;
    }
    message.to_owned()
}

/// `unknown key; did you mean `x`? valid keys here: ...`.
fn unknown_key(bad: &str, valid: &[&str]) -> String {
    let list = valid.join(", ");
    match closest(bad, valid.iter().copied()) {
        Some(near) => format!("unknown key; did you mean `{near}`? valid keys here: {list}"),
        None => format!("unknown key; remove it, or use one of the valid keys here: {list}"),
    }
}

/// An example line for a known key.
fn example(key: &str) -> Option<&'static str> {
    Some(match key {
        "base" => "base = \"default\"",
        "max_attempts" => "max_attempts = 5",
        "backoff" => "backoff = \"exponential\"",
        "initial_delay" => "initial_delay = \"100ms\"",
        "multiplier" => "multiplier = 2.0",
        "max_delay" => "max_delay = \"10s\"",
        "jitter" => "jitter = \"full\"",
        "max_elapsed" => "max_elapsed = \"30s\" (or \"none\")",
        "attempt_timeout" => "attempt_timeout = \"2s\" (or \"none\")",
        "window" => "window = \"count\"",
        "window_size" => "window_size = 20",
        "window_duration" => "window_duration = \"60s\"",
        "failure_rate_threshold" => "failure_rate_threshold = 0.5",
        "slow_call_duration" => "slow_call_duration = \"2s\"",
        "slow_call_rate_threshold" => "slow_call_rate_threshold = 1.0",
        "minimum_calls" => "minimum_calls = 10",
        "open_duration" => "open_duration = \"30s\"",
        "half_open_calls" => "half_open_calls = 3",
        "max_half_open_wait" => "max_half_open_wait = \"60s\" (or \"none\")",
        "retry_after_is_failure" => "retry_after_is_failure = false",
        "max_keys" => "max_keys = 1000",
        "max_retry_after" => "max_retry_after = \"60s\" (or \"none\")",
        "nested" => "nested = \"single\"",
        "ttl" => "ttl = \"10s\"",
        "min_retries_per_sec" => "min_retries_per_sec = 10",
        "retry_ratio" => "retry_ratio = 0.2",
        _ => return None,
    })
}

/// The `quoted` parts of a serde message, in order.
fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// The candidate closest to `bad`, if close enough to be a likely typo.
fn closest<'c>(bad: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let bad = bad.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&bad, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: edits, with a swap of neighbours as one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_a_swap_as_one_edit() {
        assert_eq!(edit_distance("max_dealy", "max_delay"), 1);
        assert_eq!(edit_distance("exponentail", "exponential"), 1);
        assert_eq!(edit_distance("netwrk", "network"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_suggests_only_likely_typos() {
        let keys = ["max_attempts", "max_delay", "max_elapsed"];
        assert_eq!(closest("max_dealy", keys), Some("max_delay"));
        assert_eq!(closest("MAX_DELAY", keys), Some("max_delay"));
        assert_eq!(closest("retries", keys), None);
        assert_eq!(closest("ful", ["none", "full", "equal"]), Some("full"));
    }

    #[test]
    fn locations_count_lines_and_characters_from_one() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(location_of(src, 0), Location { line: 1, column: 1 });
        let offset = src.rfind('=').unwrap_or_default();
        assert_eq!(offset, 10);
        assert_eq!(location_of(src, offset), Location { line: 2, column: 4 });
    }

    #[test]
    fn serde_messages_are_rewritten_for_operators() {
        let m = explain(
            "policies.a.max_dealy",
            "unknown field `max_dealy`, expected one of `max_attempts`, `max_delay`",
        );
        assert_eq!(
            m,
            "unknown key; did you mean `max_delay`? valid keys here: max_attempts, max_delay"
        );
        let m = explain(
            "breakers.a.window",
            "unknown variant `cont`, expected `count` or `time`",
        );
        assert_eq!(
            m,
            "unknown variant \"cont\", expected one of count, time; did you mean \"count\"?"
        );
        let m = explain(
            "policies.a.max_attempts",
            "invalid type: string \"x\", expected u32",
        );
        assert_eq!(
            m,
            "invalid type: string \"x\", expected a whole number from 0 to 4294967295; write it like max_attempts = 5"
        );
    }

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
