//! The bounds of every key's value, in one place: the range checks
//! (`check.rs`) enforce them and the messages for a wrong type
//! (`suggest.rs`) state them.

use std::time::Duration;

/// Largest `max_attempts`: a guard against typos (`max_attempts = 50000`).
pub(super) const MAX_ATTEMPTS: u32 = 1000;
/// Largest count window, in calls.
pub(super) const MAX_WINDOW_SIZE: u32 = 10_000;
/// Shortest time window.
pub(super) const MIN_WINDOW_DURATION: Duration = Duration::from_secs(1);
/// Size of a count window switched to from an inherited time window.
pub(super) const DEFAULT_WINDOW_SIZE: u32 = 20;
/// Duration of a time window switched to from an inherited count window.
pub(super) const DEFAULT_WINDOW_DURATION: Duration = Duration::from_secs(60);
/// Bounds of a budget's `ttl`.
pub(super) const MIN_TTL: Duration = Duration::from_secs(1);
pub(super) const MAX_TTL: Duration = Duration::from_secs(60);
/// Largest `retry_ratio`.
pub(super) const MAX_RETRY_RATIO: f64 = 1000.0;
/// Largest `max_keys`: keyed breaker instances of one name.
pub(super) const MAX_KEYS: u32 = 1_000_000;
/// Largest `half_open_calls`: trial calls of a half-open breaker.
pub(super) const MAX_HALF_OPEN_CALLS: u32 = 1000;
/// Largest `fleet_quorum`: other instances that must report a breaker open.
pub(super) const MAX_FLEET_QUORUM: u32 = 1000;
/// Largest `minimum_calls` (a count window also bounds it by its size).
pub(super) const MAX_MINIMUM_CALLS: u32 = 100_000;
/// Largest `min_retries_per_sec`.
pub(super) const MAX_MIN_RETRIES_PER_SEC: u32 = 100_000;

/// Most hedges in flight beside the first attempt.
pub(super) const MAX_HEDGES: u32 = 10;
/// Largest `min_samples`: the recent-latency window always holds at least
/// this many once it has filled (see `call/latency.rs`).
pub(super) const MAX_MIN_SAMPLES: u32 = 1000;
/// Bounds of a percentile delay.
pub(super) const MIN_PERCENTILE: f64 = 90.0;
pub(super) const MAX_PERCENTILE: f64 = 99.9;
/// Longest fixed hedge delay.
pub(super) const MAX_HEDGE_DELAY: Duration = Duration::from_secs(60);
