//! The manual: one chapter per concept, in the order a new user needs them.
//!
//! Each chapter is a markdown file under `retry-runtime/docs/guide/`, included
//! here as the docs of an empty module (the way clap ships its tutorial), so
//! docs.rs carries the whole manual and every example in it is a doctest:
//! `cargo test -p retry-runtime --doc --all-features` compiles and runs them.
//!
//! 1. [Getting started](getting_started): the dependency lines, a first
//!    function, a config file, the attribute's keys and the API at a glance.
//! 2. [How a call runs](how_a_call_runs): the layers of a call, backoff,
//!    classes, deadlines, timeouts, the breaker, the budget, nested calls.
//! 3. [HTTP and gRPC](http_and_grpc): the `http`, `reqwest`, `anyhow` and
//!    `tonic` features, and what each status and code means.
//! 4. [Your own errors](your_own_errors): [`Classify`](crate::Classify) by
//!    hand or derived, and `replay_safe`.
//! 5. [Config](config): every key, every preset and default, `install`,
//!    embedding, config in code, a library's own defaults.
//! 6. [Keyed breakers, fallback and failover](keyed_breakers_and_fallback).
//! 7. [Sync code](sync_code): `#[retryable]` on a plain `fn`, and
//!    [`ManualClock`](crate::ManualClock).
//! 8. [Testing](testing): the paused clock, fresh state per test, a test config.
//! 9. [Observability](observability): `tracing` events, metrics, snapshots.
//! 10. [Hedging](hedging): cutting the latency tail by sending a slow attempt's
//!     request again, what the compiler checks, and what it measured.
//! 11. [Operating it](operating): the admin router and its dashboard, recent
//!     events, hot reload, and what the logs show during an outage.
//! 12. Running as a fleet (`fleet`, feature `redis`): breakers shared by a
//!     service's replicas through Redis, what is shared, the quorum, what
//!     happens when Redis goes away, the keys it writes.
//! 13. [Decisions](decisions): what it costs, and why things are the way they are.
//!
//! The attribute's full reference (every key, every compile-time rule, the
//! expansion) is the documentation of [`retryable`](macro@crate::retryable).
//!
//! A new chapter (hedging, operating it, fleets) is a markdown file in
//! `docs/guide/` that starts with its `# Title` and takes the next free number
//! (the numbers only sort the files; this list sets the reading order), one
//! module below, one line in the list above and one in the README's "The
//! manual". Its examples are doc tests: `standalone_crate` for those that call
//! `install` or change global state.

#[doc = include_str!("../docs/guide/01-getting-started.md")]
pub mod getting_started {}

#[doc = include_str!("../docs/guide/02-how-a-call-runs.md")]
pub mod how_a_call_runs {}

#[doc = include_str!("../docs/guide/03-http-and-grpc.md")]
pub mod http_and_grpc {}

#[doc = include_str!("../docs/guide/04-your-own-errors.md")]
pub mod your_own_errors {}

#[doc = include_str!("../docs/guide/05-config.md")]
pub mod config {}

#[doc = include_str!("../docs/guide/06-keyed-breakers-and-fallback.md")]
pub mod keyed_breakers_and_fallback {}

#[doc = include_str!("../docs/guide/07-sync-code.md")]
pub mod sync_code {}

#[doc = include_str!("../docs/guide/08-testing.md")]
pub mod testing {}

#[doc = include_str!("../docs/guide/09-observability.md")]
pub mod observability {}

#[doc = include_str!("../docs/guide/11-hedging.md")]
pub mod hedging {}

#[doc = include_str!("../docs/guide/12-operating.md")]
pub mod operating {}

// Its examples use `retry_runtime::fleet`, so the chapter exists with the
// feature (docs.rs builds every feature).
#[cfg(feature = "redis")]
#[doc = include_str!("../docs/guide/13-fleet.md")]
pub mod fleet {}

#[doc = include_str!("../docs/guide/10-decisions.md")]
pub mod decisions {}
