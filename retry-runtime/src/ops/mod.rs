//! What operators see of a running service and how they steer it:
//!
//! | file | job |
//! |---|---|
//! | `metrics.rs` | the `metrics` facade (feature `metrics`) |
//! | `events.rs` | recent events: the ring of changes, and its subscribers |
//! | `quiet.rs` | give-ups and rejections during a storm: one `WARN` per interval |
//! | `admin/` | the axum router and its dashboard (feature `admin`) |
//! | `watch.rs` | the config file watcher (feature `watch`) |
//!
//! Nothing in this room is on a call's success path except the metric handles
//! that a call site resolves once per install.

#[cfg(feature = "admin")]
pub mod admin;
pub mod events;
pub mod metrics;
pub(crate) mod quiet;
#[cfg(feature = "watch")]
pub mod watch;
