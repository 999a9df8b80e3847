//! Quiet outages: during a storm, one `WARN` per call site per interval.
//!
//! Every give-up is still an event, but only the first of a call site in each
//! [`INTERVAL`] is at `WARN`; the others of that interval go out at `DEBUG`
//! (same fields, so layers that count them still can), and the next `WARN`
//! says how many there were (`repeated`). Rejections by an open breaker go the
//! same way one level down: the first per interval at `DEBUG`, the rest at
//! `TRACE`. So a dependency that is down for a minute costs about six lines
//! per call site at `WARN`, whatever the traffic.
//!
//! Two atomics per kind and call site; read only on give-ups and rejections.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How long a call site stays quiet after a loud event of one kind.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// One kind of event (give-ups, rejections) of one call site.
#[derive(Debug)]
pub(crate) struct Quiet {
    /// When the current interval began, in nanoseconds from [`origin`]
    /// (negative before it: tests run several paused clocks); [`NEVER`]
    /// before the first event.
    started: AtomicI64,
    /// Events quieted in the current interval.
    repeated: AtomicU64,
}

impl Quiet {
    pub(crate) const fn new() -> Quiet {
        Quiet {
            started: AtomicI64::new(NEVER),
            repeated: AtomicU64::new(0),
        }
    }

    /// Notes an event now: `Some(n)` if it is to be loud (`n` events were
    /// quieted since the last loud one), `None` if it is to be quiet.
    pub(crate) fn note(&self) -> Option<u64> {
        let now = nanos_from_origin(crate::clock::now());
        let started = self.started.load(Ordering::Acquire);
        let interval = i64::try_from(INTERVAL.as_nanos()).unwrap_or(i64::MAX);
        // A clock behind the interval's start (another runtime's) opens a new one.
        if started != NEVER && now >= started && now.saturating_sub(started) < interval {
            self.repeated.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // One thread opens the next interval; the others of this instant are quiet.
        if self
            .started
            .compare_exchange(started, now, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            self.repeated.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.repeated.swap(0, Ordering::AcqRel))
    }
}

/// Quiet state of one call site: give-ups and rejections apart.
#[derive(Debug)]
pub(crate) struct SiteQuiet {
    pub(crate) give_ups: Quiet,
    pub(crate) rejections: Quiet,
}

impl SiteQuiet {
    pub(crate) const fn new() -> SiteQuiet {
        SiteQuiet {
            give_ups: Quiet::new(),
            rejections: Quiet::new(),
        }
    }
}

const NEVER: i64 = i64::MIN;

/// `at` in nanoseconds from the first instant asked for, negative before it.
fn nanos_from_origin(at: Instant) -> i64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(crate::clock::now);
    let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    if at >= origin {
        nanos(at - origin)
    } else {
        // Never NEVER: -i64::MAX at the least.
        -nanos(origin - at)
    }
}
