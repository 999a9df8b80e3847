//! The settings of one breaker and one budget, as a table of the config
//! resolves to (a policy's are [`Policy`](crate::Policy)'s).

use std::time::Duration;

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
    /// A call that takes at least this long counts as slow: an async attempt
    /// from its first wait to its end (one that answers at its first poll
    /// reads no clock and is not slow), a sync attempt from its start (see the
    /// guide's [How a call runs](crate::guide::how_a_call_runs)).
    /// [`BreakerSettings::NO_SLOW_CALLS`] (`"none"` in a config file) turns
    /// slow-call detection off, and with it the two clock reads per attempt
    /// that waits.
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
    /// while the service is alive (it asked us to slow down: HTTP 429, gRPC
    /// pushback) counts as a failure. `false` (the default): it counts as a
    /// success, since a service that pushes back is alive. A retry-after that
    /// is an outage ([`Classify::is_outage`](crate::Classify::is_outage): an
    /// HTTP 5xx with `Retry-After`) is a failure whatever this says.
    pub retry_after_is_failure: bool,
    /// The most keyed instances (`breaker_key`) of this breaker alive at once;
    /// past it the least recently used closed instance is dropped.
    pub max_keys: u32,
    /// Whether this breaker (and each of its keyed instances) is shared with
    /// the fleet joined by `retry_runtime::fleet::join` (feature `redis`).
    /// Without a joined fleet it changes nothing.
    pub fleet: bool,
    /// A closed fleet breaker opens when at least this many *other* live
    /// instances report it open (1 ..= 1000).
    pub fleet_quorum: u32,
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
        fleet: false,
        fleet_quorum: 2,
    };
}

/// The settings of one named retry budget (`[budgets.NAME]`).
///
/// Over any window of `ttl`, however placed, the retries *sent* (counted when
/// the retry leaves, after its backoff sleep) stay within
/// `min_retries_per_sec · ttl + retry_ratio ·` the first attempts. A call
/// checks the budget when it decides to retry: an empty budget gives up at
/// once with the last error, without sleeping. It takes its token only when
/// the sleep ends and the retry is sent, so a call dropped during its backoff
/// (its caller's timeout) spends nothing; if other calls emptied the budget
/// while it slept, it gives up then, with the last error.
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

/// When a hedge is sent: after a fixed delay, or after a percentile of the
/// call site's own recent latencies (`delay = "40ms"` or `delay = "p95"`).
///
/// ```
/// use retry_runtime::{Config, HedgeDelay};
///
/// let config = Config::from_toml_str("[hedges.search]\ndelay = \"p99.9\"")?;
/// assert_eq!(config.hedge("search").unwrap().delay, HedgeDelay::Percentile(99.9));
/// # Ok::<(), retry_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HedgeDelay {
    /// A fixed delay after the last attempt started.
    Fixed(Duration),
    /// This percentile (90.0 to 99.9) of the call site's recent successful
    /// latencies; no hedge until `min_samples` are recorded.
    Percentile(f64),
}

/// The settings of one named hedge (`[hedges.NAME]`).
///
/// ```
/// use retry_runtime::{Config, HedgeDelay, HedgeSettings};
/// use std::time::Duration;
///
/// let config = Config::from_toml_str("[hedges.kv]\ndelay = \"40ms\"\nmax_hedges = 2")?;
/// let kv = config.hedge("kv").unwrap();
/// assert_eq!(kv.delay, HedgeDelay::Fixed(Duration::from_millis(40)));
/// assert_eq!(kv.max_hedges, 2);
/// assert_eq!(kv.min_samples, HedgeSettings::DEFAULT.min_samples);
/// # Ok::<(), retry_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HedgeSettings {
    /// How long an attempt may run before a hedge starts beside it.
    pub delay: HedgeDelay,
    /// Hedges in flight at once beside the first attempt (1 to 10).
    pub max_hedges: u32,
    /// A percentile delay sends no hedge until this many latencies are
    /// recorded (1 to 1000: the recent window holds at least 1024).
    pub min_samples: u32,
}

impl HedgeSettings {
    /// The `default` hedge preset: one hedge after the site's 95th
    /// percentile, once 100 latencies are recorded.
    pub const DEFAULT: HedgeSettings = HedgeSettings {
        delay: HedgeDelay::Percentile(95.0),
        max_hedges: 1,
        min_samples: 100,
    };
}
