//! The configuration in force and its generation: what every call site
//! resolves its names against, and the counter that tells a call site its
//! cached resolution is stale.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock, Mutex};

use arc_swap::ArcSwap;

use crate::Config;

/// The configuration every call site resolves its names against.
/// Before any install: the presets and the libraries' `defaults!`.
pub(super) static LIVE: LazyLock<ArcSwap<Config>> = LazyLock::new(|| {
    ArcSwap::from_pointee(crate::config::defaults::complete_leniently(
        Config::builtin(),
    ))
});

/// Bumped by every successful [`install`]; a call site whose cached generation
/// differs re-resolves its names on its next call. Starts at 1 so that a fresh
/// call site (generation 0) resolves on its first call.
pub(super) static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Serializes installs, so validation and swap see the same configuration.
pub(super) static INSTALLING: Mutex<()> = Mutex::new(());

/// The configuration in force: the last one [`install`](crate::install)ed, or the built-in presets.
///
/// ```
/// let config = retry_runtime::current_config();
/// assert_eq!(config.policy("default").map(|p| p.max_attempts), Some(3));
/// ```
#[must_use]
pub fn current_config() -> Arc<Config> {
    LIVE.load_full()
}
