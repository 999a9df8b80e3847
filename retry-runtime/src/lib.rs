//! Named, global retry policies, circuit breakers and retry budgets for async
//! and sync functions, driven by the `#[retryable]` attribute, with the retries that
//! cannot be safe rejected at compile time.
//!
//! # A tour
//!
//! [`macro@retryable`] turns a function's body into one *attempt* and wraps it
//! in a retry loop. The loop's settings are named and global: every function
//! that says `breaker = "storage"` trips the same breaker, and an operator tunes
//! `storage` in a config file without recompiling. The error type says which
//! failures are worth another try ([`Classify`]) and how to report the
//! framework's own refusals ([`Rejected`]).
//!
//! ```standalone_crate
//! use retry_runtime::{retryable, Class, Classify, Config, Rejected};
//! use std::time::Duration;
//!
//! #[derive(Debug)]
//! enum StoreError { Unavailable, Throttled(Duration), NotFound, Refused(Rejected) }
//!
//! impl Classify for StoreError {               // which failures are worth another try
//!     fn classify(&self) -> Class {
//!         match self {
//!             StoreError::Unavailable => Class::Transient,
//!             StoreError::Throttled(after) => Class::RetryAfter(*after),
//!             StoreError::NotFound | StoreError::Refused(_) => Class::Permanent,
//!         }
//!     }
//! }
//!
//! impl From<Rejected> for StoreError {         // open breaker, attempt timeout
//!     fn from(r: Rejected) -> Self { StoreError::Refused(r) }
//! }
//!
//! #[retryable(policy = "storage", breaker = "storage")]
//! async fn get(key: &str) -> Result<String, StoreError> {
//!     // One attempt: `?` and `return` mean what they always meant.
//!     if key.is_empty() { return Err(StoreError::NotFound); }
//!     Ok(format!("value of {key}"))
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Usually `Config::from_path("retry.toml")`; checked against every call site.
//!     retry_runtime::install(Config::from_toml_str(r#"
//!         [policies.storage]
//!         max_attempts = 4
//!         backoff = "exponential"
//!         initial_delay = "20ms"
//!         max_delay = "2s"
//!         jitter = "full"
//!         attempt_timeout = "500ms"
//!
//!         [breakers.storage]
//!         failure_rate_threshold = 0.5
//!         minimum_calls = 20
//!         open_duration = "30s"
//!     "#)?)?;
//!     assert_eq!(get("greeting").await.ok().as_deref(), Some("value of greeting"));
//!     Ok(())
//! }
//! ```
//!
//! `std::io::Error` already implements [`Classify`] and `From<Rejected>`, so a
//! function returning `io::Result<T>` needs nothing more.
//!
//! # What the compiler refuses
//!
//! Each is an error on the user's token that names the rule and the fix: a
//! return type that is not a `Result`; `&mut self`, `&mut T` or
//! `self: Pin<&mut Self>` without `idempotent`; a by-value argument that is not
//! `Clone` (each attempt gets its own clone) or is one-shot (`impl FnOnce`); an
//! error type without [`Classify`] (unless `retry_if` is given) or
//! `From<Rejected>`; attribute mistakes, all reported in one build.
//!
//! # At run time
//!
//! Layers, outermost first: the retry loop (the budget decides each retry,
//! backoff sleeps between attempts), the circuit breaker (consulted before every
//! attempt), the attempt timeout, the body. All timing is tokio's clock, so
//! tests on a paused clock see exact schedules.
//!
//! - [`Policy`]: attempts, [`Backoff`], [`Jitter`], deadline, attempt timeout.
//! - Breakers: [`breaker`] gives a [`BreakerHandle`] with its [`BreakerState`],
//!   [`BreakerMetrics`] and `force_open`, `disable`, `reset`.
//! - Budgets: [`budget`] gives a [`BudgetHandle`] with its balance.
//! - [`Config`] (TOML or serde), [`install`], [`call_sites`], [`snapshot`],
//!   [`current_config`]. Without any configuration the built-in presets serve
//!   ([`Config::builtin`]).
//!
//! # Observability
//!
//! `tracing` events for each retry (`INFO`), give-up (`WARN`), call rejected by
//! an open breaker (`DEBUG`) and breaker transition (`WARN` when a rate trips
//! it, `INFO` otherwise); none on the success path. With the `metrics` feature,
//! counters and gauges through the `metrics` facade: see the [`metrics`] module.
//!
//! # Features
//!
//! Every feature is off by default; items that need one are marked with it in
//! these docs.
//!
//! | feature | what it adds |
//! |---|---|
//! | `metrics` | counters and gauges through the [`metrics`](https://docs.rs/metrics) facade |
//! | `redis` | `retry_runtime::fleet`: breakers shared by a fleet of processes through Redis |
//!
//! The README has the attribute's keys, the config file and every preset in
//! full.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The rooms, one concept each; docs/ARCHITECTURE.md maps each rule to its file.
mod breaker;
mod budget;
mod call;
mod classify;
mod clock;
pub mod config;
mod integrations;
mod ops;
mod policy;
mod registry;
mod rejected;
mod shard;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use breaker::fleet;
pub use breaker::{BreakerMetrics, BreakerState};
pub use classify::{Class, Classify};
pub use clock::ManualClock;
pub use config::defaults::{
    Defaults, DefaultsError, DefaultsProblem, check_defaults, registered_defaults,
};
pub use config::{BreakerSettings, BudgetSettings, Config, ConfigBuilder, ConfigError, Window};
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use integrations::http;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use integrations::reqwest;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub use integrations::tonic;
pub use ops::metrics;
pub use policy::{Backoff, Jitter, Nested, Policy};
pub use registry::{
    BreakerHandle, BreakerSnapshot, BudgetHandle, BudgetSnapshot, CallSite, CallSiteSnapshot,
    FleetView, InstallError, NameKind, Snapshot, SyncTimeout, UndefinedName, breaker, breaker_for,
    budget, call_sites, current_config, first_admitting, install, reset_state, snapshot,
};
pub use rejected::Rejected;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The guide's chapter on fleets, compiled as doc tests (the chapter needs the
/// `redis` feature).
#[cfg(all(doctest, feature = "redis"))]
#[doc = include_str!("../docs/guide/fleet.md")]
struct FleetGuideDoctests;

/// Makes an async or sync function retry under a named policy; see the crate docs.
pub use retry_macros::retryable;

/// Derives [`Classify`](trait@Classify) from `#[classify(...)]` keys on an error
/// type's variants; `use retry_runtime::Classify;` brings the trait and the derive.
///
/// | where | keys |
/// |---|---|
/// | the enum | `transient` or `permanent`: the class of every variant without its own; `crate = "path"` when the runtime is re-exported |
/// | a variant | `transient`, `permanent`, `retry_after` (its one field, or the field marked `retry_after`: `Duration` → `RetryAfter(d)`; `Option<Duration>` → `RetryAfter(d)` or `Transient`), `transparent` (its one field's own `Classify`) |
/// | a field | `retry_after` or `transparent`: the field that decides, in a variant of several fields |
/// | a struct | `transient` or `permanent`; `transparent` for a struct of one field; a field marked `retry_after` |
///
/// It composes with `thiserror` (`#[from]`, `#[error(transparent)]`) on the
/// same enum, and on generic enums adds `F: Classify` bounds for the
/// transparent fields that use a type parameter.
///
/// ```
/// use retry_runtime::{Class, Classify, Rejected};
/// use std::time::Duration;
///
/// #[derive(Debug, thiserror::Error, Classify)]
/// #[classify(permanent)]
/// enum StoreError {
///     #[error("unavailable")]
///     #[classify(transient)]
///     Unavailable,
///     #[error("throttled")]
///     #[classify(retry_after)]
///     Throttled(Duration),
///     #[error("slow down")]
///     SlowDown { #[classify(retry_after)] after: Option<Duration>, region: String },
///     #[error("not found")]
///     NotFound,
///     #[error(transparent)]
///     #[classify(transparent)]
///     Io(#[from] std::io::Error),
///     #[error(transparent)]
///     #[classify(transparent)]
///     Refused(#[from] Rejected),
/// }
///
/// assert_eq!(StoreError::Unavailable.classify(), Class::Transient);
/// assert_eq!(StoreError::Throttled(Duration::from_secs(2)).classify(), Class::RetryAfter(Duration::from_secs(2)));
/// assert_eq!(StoreError::SlowDown { after: None, region: "eu".into() }.classify(), Class::Transient);
/// assert_eq!(StoreError::NotFound.classify(), Class::Permanent);
/// assert_eq!(StoreError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset)).classify(), Class::Transient);
/// ```
pub use retry_macros::Classify;
