//! Named, global retry policies, circuit breakers and retry budgets for async
//! functions, driven by the `#[retryable]` attribute.
//!
//! ```
//! use retry_runtime::retryable;
//! use std::io;
//!
//! #[retryable(policy = "network")]
//! async fn fetch_manifest(url: &str) -> io::Result<String> {
//!     # let _ = url;
//!     // ... one attempt ...
//!     Ok(String::from("{}"))
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! # assert_eq!(fetch_manifest("http://127.0.0.1/").await.unwrap(), "{}");
//! # }
//! ```
//!
//! See the README for the attribute's keys, the compile-time rules, the config
//! file and the built-in presets.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "anyhow")]
mod anyhow;
mod attempt;
mod breaker;
mod budget;
mod classify;
pub mod config;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod metrics;
mod policy;
mod registry;
mod rejected;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub mod reqwest;
mod shard;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod tonic;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use breaker::{BreakerMetrics, BreakerState};
pub use classify::{Class, Classify};
pub use config::{BreakerSettings, BudgetSettings, Config, ConfigError, Window};
pub use policy::{Backoff, Jitter, Nested, Policy};
pub use registry::{
    BreakerHandle, BreakerSnapshot, BudgetHandle, BudgetSnapshot, CallSite, CallSiteSnapshot,
    InstallError, NameKind, Snapshot, UndefinedName, breaker, budget, call_sites, current_config,
    install, snapshot,
};
pub use rejected::Rejected;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// Makes an async function retry under a named policy; see the crate docs.
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
