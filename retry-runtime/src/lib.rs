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

mod attempt;
mod breaker;
mod budget;
mod classify;
pub mod config;
mod defaults;
pub mod metrics;
mod policy;
mod registry;
mod rejected;
mod shard;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use breaker::{BreakerMetrics, BreakerState};
pub use classify::{Class, Classify};
pub use config::{BreakerSettings, BudgetSettings, Config, ConfigBuilder, ConfigError, Window};
pub use defaults::{Defaults, DefaultsError, DefaultsProblem, check_defaults, registered_defaults};
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
