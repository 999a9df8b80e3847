//! Breakers shared by a fleet of processes through Redis (feature `redis`),
//! with no network on the call path.
//!
//! Each process [`join`]s a fleet by a Redis URL and a namespace; breakers
//! whose settings say `fleet = true` (and each of their keyed instances,
//! matched by key) are then shared:
//!
//! - **Local outcomes stay authoritative.** A breaker opens on its own
//!   failures as before, and its instance reports the opening (and the
//!   closing) to the fleet.
//! - **Quorum.** A closed breaker opens, with reason `fleet`, when at least
//!   `fleet_quorum` (default 2) *other* live instances report it open.
//! - **One set of trials for the fleet.** When an open breaker's
//!   `open_duration` is over, the instance asks for the fleet's trial lock
//!   (in Redis, with an expiry); only the holder goes half-open and lets its
//!   `half_open_calls` trial calls through, the others keep refusing until
//!   the verdict arrives (closed: every instance closes; failed: every
//!   instance stays open for another `open_duration`) or the lock expires.
//! - **Manual control for the fleet.** [`BreakerHandle::fleet_force_open`](crate::BreakerHandle::fleet_force_open),
//!   [`fleet_disable`](crate::BreakerHandle::fleet_disable) and
//!   [`fleet_reset`](crate::BreakerHandle::fleet_reset) reach every instance
//!   of the namespace within a second; forced states are kept in Redis, so an
//!   instance that restarts and joins again takes them up.
//!
//! A call reads and writes local atomics only. Every Redis command runs on
//! one background task per process, so a slow, dead or partitioned Redis adds
//! no latency to a call and fails none: breakers then run as local breakers
//! (a `WARN` event on the loss, an `INFO` event on the return), and on
//! reconnection the instance publishes its open breakers again and reads the
//! fleet's.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # #[tokio::main] async fn main() -> Result<(), retry_runtime::fleet::FleetError> {
//! use std::time::Duration;
//!
//! let fleet = retry_runtime::fleet::join("redis://127.0.0.1:6379", "checkout")?;
//! if !fleet.wait_connected(Duration::from_secs(2)).await {
//!     eprintln!("Redis not reachable yet ({:?}); breakers run locally meanwhile", fleet.status());
//! }
//! println!("this process is {} in fleet `checkout`", fleet.instance_id());
//! // Keep `fleet` alive as long as the process serves; dropping it leaves the fleet.
//! # Ok(()) }
//! # #[cfg(not(feature = "redis"))] fn main() {}
//! ```
//!
//! The keys, messages and scripts are described in `docs/ARCHITECTURE.md`
//! ("The fleet on Redis"), and the guide's chapter "Running as a fleet"
//! says how to run it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::state::Word;
use super::{Breaker, BreakerState, Why};
use crate::BreakerSettings;

#[cfg(feature = "redis")]
mod client;
#[cfg(feature = "redis")]
mod join;
#[cfg(feature = "redis")]
mod protocol;
#[cfg(feature = "redis")]
mod task;

#[cfg(feature = "redis")]
pub use client::{Fleet, FleetError, FleetStatus};
#[cfg(feature = "redis")]
use client::{connected, send};
#[cfg(feature = "redis")]
pub use join::join;

/// Without the `redis` feature no fleet can be joined: breakers are local.
#[cfg(not(feature = "redis"))]
fn connected() -> bool {
    false
}

#[cfg(not(feature = "redis"))]
fn send(_: Event) {}

/// No epoch: no trial lock granted, no trial asked.
const NO_EPOCH: u64 = u64::MAX;

/// A fleet breaker's side of the fleet: what the background task tells it and
/// what it asks of the task. Read off the success path only.
pub(crate) struct Link {
    /// `fleet_quorum`.
    quorum: u32,
    /// The open epoch for which this instance holds the fleet's trial lock.
    grant: AtomicU64,
    /// The open epoch for which a trial was last asked of the task.
    asked: AtomicU64,
    /// Other live instances reporting it open, as the task last saw.
    reporting: AtomicU32,
    /// Whether this instance holds the fleet's trial lock.
    holds_lock: AtomicBool,
}

impl Link {
    /// The link of a breaker with `settings`: none unless `fleet = true` (and
    /// the `redis` feature is on), so other breakers carry nothing.
    pub(crate) fn for_settings(settings: &BreakerSettings) -> Option<Box<Link>> {
        (cfg!(feature = "redis") && settings.fleet).then(|| {
            Box::new(Link {
                quorum: settings.fleet_quorum,
                grant: AtomicU64::new(NO_EPOCH),
                asked: AtomicU64::new(NO_EPOCH),
                reporting: AtomicU32::new(0),
                holds_lock: AtomicBool::new(false),
            })
        })
    }

    /// As new, for a keyed instance reused for another key.
    pub(crate) fn reset(&self) {
        self.grant.store(NO_EPOCH, Ordering::Relaxed);
        self.asked.store(NO_EPOCH, Ordering::Relaxed);
        self.reporting.store(0, Ordering::Relaxed);
        self.holds_lock.store(false, Ordering::Relaxed);
    }
}

/// Why the fleet moved a breaker (the event's reason is `fleet`).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) enum Cause {
    /// `reporting` other live instances report it open, `quorum` needed.
    Quorum { reporting: u32, quorum: u32 },
    /// The fleet's trial calls (on another instance) were healthy.
    TrialsPassed,
    /// The fleet's trial calls (on another instance) failed: open again.
    TrialsFailed,
    /// `fleet_force_open` or `fleet_disable`.
    Forced,
    /// `fleet_reset`.
    Reset,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Quorum { reporting, quorum } => write!(
                f,
                "{reporting} other instances of the fleet report it open (fleet_quorum = {quorum})"
            ),
            Cause::TrialsPassed => f.write_str("the fleet's trial calls were healthy"),
            Cause::TrialsFailed => {
                f.write_str("the fleet's trial calls failed: open for another open_duration")
            }
            Cause::Forced => f.write_str("set for the whole fleet"),
            Cause::Reset => f.write_str("reset for the whole fleet"),
        }
    }
}

/// What breakers tell the background task (nothing when no fleet is joined).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) enum Event {
    /// A fleet breaker changed state; `own` unless the fleet moved it.
    Transition {
        name: Arc<str>,
        key: Option<Arc<str>>,
        from: BreakerState,
        to: BreakerState,
        own: bool,
    },
    /// An open fleet breaker's `open_duration` is over: it asks for the
    /// fleet's trial lock for its open `epoch`.
    WantsTrial {
        name: Arc<str>,
        key: Option<Arc<str>>,
        epoch: u64,
    },
}

/// A fleet breaker's view, for the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) quorum: u32,
    pub(crate) reporting: u32,
    pub(crate) holds_lock: bool,
}

impl Breaker {
    /// Whether an open breaker whose `open_duration` is over may go
    /// half-open: always, unless it is a fleet breaker of a connected fleet
    /// and this instance does not hold the fleet's trial lock for its epoch
    /// (then the task is asked for it, once per epoch).
    #[inline]
    pub(super) fn fleet_trial_allowed(&self, word: Word) -> bool {
        let Some(link) = &self.fleet else {
            return true;
        };
        if !connected() || link.grant.load(Ordering::Acquire) == word.epoch() {
            return true;
        }
        if link.asked.swap(word.epoch(), Ordering::AcqRel) != word.epoch() {
            send(Event::WantsTrial {
                name: Arc::clone(&self.name),
                key: self.key(),
                epoch: word.epoch(),
            });
        }
        false
    }

    /// After every transition (under the transition lock): a fleet breaker
    /// tells the task, which reports it.
    pub(super) fn fleet_transitioned(
        &self,
        from: BreakerState,
        to: BreakerState,
        why: Option<Why>,
    ) {
        if self.fleet.is_some() {
            send(Event::Transition {
                name: Arc::clone(&self.name),
                key: self.key(),
                from,
                to,
                own: !matches!(why, Some(Why::Fleet(_))),
            });
        }
    }

    /// The fleet's view of this breaker, if it is a fleet breaker.
    pub(crate) fn fleet_view(&self) -> Option<View> {
        self.fleet.as_ref().map(|link| View {
            quorum: link.quorum,
            reporting: link.reporting.load(Ordering::Relaxed),
            holds_lock: link.holds_lock.load(Ordering::Relaxed),
        })
    }
}

/// What the background task does to a fleet breaker (all cold).
#[cfg(feature = "redis")]
impl Breaker {
    /// The state and epoch now (the task's read).
    pub(super) fn fleet_word(&self) -> Word {
        self.word()
    }

    /// `reporting` other instances report it open: a closed breaker opens
    /// if they are at least its quorum. Records the count for the snapshot.
    pub(super) fn fleet_reports(&self, reporting: u32) {
        let Some(link) = &self.fleet else { return };
        link.reporting.store(reporting, Ordering::Relaxed);
        if reporting < link.quorum || self.state() != BreakerState::Closed {
            return;
        }
        let mut trials = self.lock();
        if self.word().state() == BreakerState::Closed {
            let cause = Cause::Quorum {
                reporting,
                quorum: link.quorum,
            };
            self.set_locked(&mut trials, BreakerState::Open, Some(Why::Fleet(cause)));
        }
    }

    /// The fleet's trials (run by another instance) ended: an open breaker
    /// closes (`passed`) or starts another `open_duration`.
    pub(super) fn fleet_verdict(&self, passed: bool) {
        let mut trials = self.lock();
        match (self.word().state(), passed) {
            (BreakerState::Open | BreakerState::HalfOpen, true) => self.set_locked(
                &mut trials,
                BreakerState::Closed,
                Some(Why::Fleet(Cause::TrialsPassed)),
            ),
            (BreakerState::Open, false) => self.set_locked(
                &mut trials,
                BreakerState::Open,
                Some(Why::Fleet(Cause::TrialsFailed)),
            ),
            _ => {}
        }
    }

    /// A state set for the whole fleet: `ForcedOpen`, `Disabled`, or
    /// `Closed` for a reset (which, like [`reset`](crate::BreakerHandle::reset),
    /// closes whatever the state). Nothing happens if it is in force already.
    pub(super) fn fleet_force(&self, to: BreakerState) {
        let mut trials = self.lock();
        if to != BreakerState::Closed && self.word().state() == to {
            return;
        }
        let cause = if to == BreakerState::Closed {
            Cause::Reset
        } else {
            Cause::Forced
        };
        self.set_locked(&mut trials, to, Some(Why::Fleet(cause)));
    }

    /// Shows `reporting` other instances reporting it open, without acting on it.
    pub(super) fn fleet_reports_view(&self, reporting: u32) {
        if let Some(link) = &self.fleet {
            link.reporting.store(reporting, Ordering::Relaxed);
        }
    }

    /// The task granted (or withdrew) the trial lock for the open `epoch`.
    pub(super) fn fleet_grant_set(&self, epoch: Option<u64>) {
        if let Some(link) = &self.fleet {
            link.grant
                .store(epoch.unwrap_or(NO_EPOCH), Ordering::Release);
            link.holds_lock.store(epoch.is_some(), Ordering::Relaxed);
        }
    }
}
