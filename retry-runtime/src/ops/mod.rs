//! What operators see of a running service: metrics now; recent events, the
//! admin router and the config watcher have their place here too.
//!
//! Nothing in this room is on a call's success path except the metric handles
//! that a call site resolves once per install.

pub mod metrics;
