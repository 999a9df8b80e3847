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
//! `From<Rejected>`; `hedge` without `idempotent`, with a `&mut` receiver or
//! argument, or on a sync `fn`; attribute mistakes, all reported in one build.
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
//! - Hedging: `hedge = "<name>"` runs a second attempt beside a slow one
//!   ([`HedgeSettings`]); a body routes its attempts with [`current_attempt`].
//! - [`Config`] (TOML or serde), [`install`], [`call_sites`], [`snapshot`],
//!   [`current_config`]. Without any configuration the built-in presets serve
//!   ([`Config::builtin`]).
//!
//! # Observability
//!
//! `tracing` events for each retry (`INFO`), give-up (`WARN`), call rejected by
//! an open breaker (`DEBUG`) and breaker transition (`WARN` when a rate trips
//! it, `INFO` otherwise); none on the success path but a `DEBUG` event for
//! each hedge sent. Each attempt runs inside a `retry.attempt` span (`DEBUG`,
//! target `retry_runtime`, fields `call_site`, `attempt`, `hedge`), a child of
//! the span current where the function was called. During a storm a call
//! site's give-ups are one `WARN` per [`QUIET_INTERVAL`] that counts the
//! others (logged at `DEBUG`), and its rejections one `DEBUG` line per
//! interval (the others at `TRACE`). Errors show by their `Display`. With the
//! `metrics` feature, counters and gauges through the `metrics` facade: see
//! the [`metrics`] module.
//!
//! [`recent_events`] keeps the last 256 changes (breaker transitions with
//! their reason, installs, reloads, budgets running dry), which no storm of
//! calls can flush. The `admin` feature serves them, the snapshot, the config
//! and a live dashboard as an axum router (`admin`); the `watch` feature
//! re-installs a config file when it changes (`watch(path)`).
//!
//! # Features
//!
//! Every feature is off by default; items that need one are marked with it in
//! these docs. Each integration is written against one major version of the
//! crate it integrates: its impls are for that version's types.
//!
//! | feature | what it adds | for |
//! |---|---|---|
//! | `metrics` | counters and gauges through the [`metrics`](https://docs.rs/metrics) facade, for any exporter: see the [`metrics`] module | `metrics` 0.24 |
//! | `http` | `retry_runtime::http`: `classify_status`, `retry_after` and `classify_response` (RFC 9110 statuses, `Retry-After` as seconds or an HTTP-date), for any stack on the `http` crate's types | `http` 1.x |
//! | `reqwest` | implies `http`; `Classify for reqwest::Error`, and `retry_runtime::reqwest`: a ready error type (`Error`), `send` and `check` | `reqwest` 0.13 |
//! | `anyhow` | `Classify for anyhow::Error`, by the first error of its chain the runtime knows: `anyhow::Result<T>` works as is | `anyhow` 1.x |
//! | `tonic` | `Classify for tonic::Status` (gRPC codes, `grpc-retry-pushback-ms`) and `From<Rejected> for tonic::Status`: `Result<T, tonic::Status>` works as is | `tonic` 0.14 |
//! | `admin` | `admin::router()`, `admin::router_with_token(token)`: an axum router with the live dashboard, the snapshot, recent events (JSON and a stream), the config (read and replace) and breaker controls | `axum` 0.8 |
//! | `watch` | `watch(path)`: re-installs a config file whenever it changes, keeping the running one when the file is bad | `notify` 8 |
//! | `redis` | `fleet::join(url, namespace)`, breakers shared by a fleet of processes through Redis with no network on the call path; `BreakerHandle::{fleet_force_open, fleet_disable, fleet_reset}` | `redis` 1.x |
//!
//! `reqwest` and `tonic` are taken without their default features (no TLS
//! stack, no transport or codegen): the application's own dependency on them
//! picks those. [HTTP and gRPC](guide::http_and_grpc) has every status and code.
//!
//! # The manual
//!
//! The [`guide`] has a chapter per concept, every example compiled:
//! [getting started](guide::getting_started),
//! [how a call runs](guide::how_a_call_runs),
//! [HTTP and gRPC](guide::http_and_grpc),
//! [your own errors](guide::your_own_errors),
//! [config](guide::config) (every key, preset and default),
//! [keyed breakers, fallback and failover](guide::keyed_breakers_and_fallback),
//! [sync code](guide::sync_code), [testing](guide::testing),
//! [observability](guide::observability), [hedging](guide::hedging),
//! [operating it](guide::operating), running as a fleet (`guide::fleet`,
//! feature `redis`) and [decisions](guide::decisions).
//! The attribute's full reference is [`retryable`](macro@retryable).
//!
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The rooms, one concept each; docs/ARCHITECTURE.md maps each rule to its file.
mod breaker;
mod budget;
mod call;
mod classify;
mod clock;
pub mod config;
pub mod guide;
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
pub use call::attempt::{Attempt, current_attempt};
pub use classify::{Class, Classify};
pub use clock::ManualClock;
pub use config::defaults::{
    Defaults, DefaultsError, DefaultsProblem, check_defaults, registered_defaults,
};
pub use config::{
    BreakerSettings, BudgetSettings, Config, ConfigBuilder, ConfigError, HedgeDelay, HedgeSettings,
    Window,
};
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use integrations::http;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use integrations::reqwest;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub use integrations::tonic;
#[cfg(feature = "admin")]
#[cfg_attr(docsrs, doc(cfg(feature = "admin")))]
pub use ops::admin;
pub use ops::events::{Event, EventField, EventKind, EventLevel, recent_events};
pub use ops::metrics;
pub use ops::quiet::INTERVAL as QUIET_INTERVAL;
#[cfg(feature = "watch")]
#[cfg_attr(docsrs, doc(cfg(feature = "watch")))]
pub use ops::watch::{WatchError, Watcher, watch};
pub use policy::{Backoff, Jitter, Nested, Policy};
pub use registry::{
    BreakerHandle, BreakerSnapshot, BudgetHandle, BudgetSnapshot, CallSite, CallSiteSnapshot,
    FleetView, InstallError, NameKind, Snapshot, SyncTimeout, UndefinedName, breaker, breaker_for,
    budget, call_sites, current_config, first_admitting, install, reset_state, snapshot,
};
pub use rejected::Rejected;

/// The repository README's examples, compiled as doc tests (the tour is also
/// built as a crate of its own with the README's dependency lines: `.ci/readme-tour`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// This crate's own README (the one crates.io shows), compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;

// The attribute's full reference: every key, every compile-time rule and the
// expansion, each with an example compiled (or refused) as a doctest.
#[doc = include_str!("../docs/retryable.md")]
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
/// transparent fields that use a type parameter. A `transparent` field's own
/// `replay_safe` is forwarded too.
///
/// Compile errors, each on your token and all reported in one build: a variant
/// without a class (and no default on the enum), two classes on one variant,
/// `retry_after` or `transparent` without exactly one (marked) field, a
/// `retry_after` field that is not `Duration` or `Option<Duration>`, a
/// `transparent` field whose type is not `Classify`, a key with a value where
/// none is taken, a key in the wrong place, unions, and an unknown key (with
/// "did you mean"):
///
/// ```compile_fail
/// #[derive(retry_runtime::Classify)]
/// enum FetchError {
///     #[classify(transient)]
///     Timeout,
///     Gone, // no class, and no default on the enum: add `#[classify(permanent)]`
/// }
/// ```
///
/// The guide's chapter [your own errors](crate::guide::your_own_errors) shows
/// it beside a hand-written `Classify` and `retry_if`.
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
