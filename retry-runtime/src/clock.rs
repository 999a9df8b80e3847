//! The runtime's clock: tokio's, plus a seam that tests drive for sync code.
//!
//! Every time the runtime reads (deadlines, breaker windows and open
//! durations, slow-call timing, budget slots) comes from [`now`]: tokio's
//! `Instant::now()` (paused in `#[tokio::test(start_paused = true)]`), shifted by
//! the [`ManualClock`] of the calling thread if a test started one. Sync call
//! sites sleep their backoff through [`sleep_blocking`]: a real
//! `std::thread::sleep`, or, under a `ManualClock`, an instant advance of that
//! clock.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

thread_local! {
    /// How far this thread's [`ManualClock`] has been advanced.
    static OFFSET: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    /// Whether a [`ManualClock`] drives this thread, and the sleeps it took.
    static MANUAL: RefCell<Option<Vec<Duration>>> = const { RefCell::new(None) };
    /// Whether a [`ManualClock`] drives this thread (`MANUAL` is `Some`), in
    /// a plain flag for the call path: see [`manual_in_use`].
    static MANUAL_ON: Cell<bool> = const { Cell::new(false) };
}

/// How far a [`ManualClock`] may move its thread ahead, in all: about 100
/// years. Further advances stop there, so that no time the runtime computes
/// from a thread's clock can overflow (`advance(Duration::MAX)` included).
pub(crate) const MAX_MANUAL_OFFSET: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The runtime's current time.
#[inline]
pub(crate) fn now() -> Instant {
    let offset = OFFSET.with(Cell::get);
    let base = Instant::now();
    // No `ManualClock` on this thread (every thread outside sync tests): the
    // reading as it is, without the addition's overflow checks (a breaker that
    // times slow calls reads the clock twice per call).
    if offset.is_zero() {
        return base;
    }
    // The offset is at most `MAX_MANUAL_OFFSET`, so this cannot fail on the
    // platforms Rust supports; if it did, the thread's own time is the answer.
    base.checked_add(offset).unwrap_or(base)
}

/// Whether a [`ManualClock`] drives this thread: its `advance` moves time
/// without a wait, so on such a thread the breaker times every attempt from
/// its start (see `Breaker::start_timing`). One thread-local read.
#[inline]
pub(crate) fn manual_in_use() -> bool {
    MANUAL_ON.with(Cell::get)
}

/// This thread's [`ManualClock`] offset, added to `Instant::now()` by [`now`].
fn offset() -> Duration {
    OFFSET.with(Cell::get)
}

/// Moves this thread's offset forward by `by`, up to [`MAX_MANUAL_OFFSET`].
fn push_offset(by: Duration) {
    OFFSET.with(|o| o.set(o.get().saturating_add(by).min(MAX_MANUAL_OFFSET)));
}

/// A point in time shared between threads, from which every thread measures
/// with its own clock: the moment of a breaker's last transition.
///
/// A [`ManualClock`] moves one thread's time, and that must stay a seam: a
/// transition stamped on a thread an hour ahead must not keep the breaker
/// open for an hour on threads of real time. So a stamp holds two parts:
/// tokio's time (shared by every thread of a runtime, paused or not), and the
/// writer's manual offset. The time since a stamp, on some thread, is the
/// tokio time passed since, plus how much further this thread's manual
/// offset is than the writer's (never less than zero). On one thread under a
/// `ManualClock`, that is exactly the time its clock moved; on a thread
/// without one, it is tokio's time alone.
///
/// Both parts are nanoseconds since a process-wide anchor, so a stamp is two
/// plain atomics. Written under the owner's lock, read without: a reader that
/// races a write may pair the parts of two stamps for one read (the owner
/// re-checks its state word before acting on it).
#[derive(Debug, Default)]
pub(crate) struct Stamp {
    base: AtomicU64,
    offset: AtomicU64,
}

impl Stamp {
    /// A stamp of now, on the calling thread.
    pub(crate) fn now() -> Stamp {
        let stamp = Stamp::default();
        stamp.set_now();
        stamp
    }

    /// Stamps now, on the calling thread.
    pub(crate) fn set_now(&self) {
        self.base
            .store(nanos(since_anchor(Instant::now())), Ordering::Release);
        self.offset.store(nanos(offset()), Ordering::Release);
    }

    /// The time since the stamp, as the calling thread measures it.
    pub(crate) fn elapsed(&self) -> Duration {
        let base = Duration::from_nanos(self.base.load(Ordering::Acquire));
        let offset = Duration::from_nanos(self.offset.load(Ordering::Acquire));
        since_anchor(Instant::now())
            .saturating_sub(base)
            .saturating_add(self::offset().saturating_sub(offset))
    }
}

/// Nanoseconds of `d`, saturated (584 years fit).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Time since the process-wide anchor: the first time read, less a day if
/// the platform's clock goes back that far, so that a paused runtime created
/// a little before the first read still measures from it.
pub(crate) fn since_anchor(at: Instant) -> Duration {
    static ANCHOR: OnceLock<Instant> = OnceLock::new();
    let anchor = *ANCHOR.get_or_init(|| {
        let now = Instant::now();
        [86_400, 3_600, 60, 0]
            .into_iter()
            .find_map(|secs| now.checked_sub(Duration::from_secs(secs)))
            .unwrap_or(now)
    });
    at.saturating_duration_since(anchor)
}

/// The calling thread's time (with its [`ManualClock`]) since the anchor.
pub(crate) fn now_since_anchor() -> Duration {
    since_anchor(Instant::now()).saturating_add(offset())
}

/// A sync call site's backoff sleep: blocks the thread, or advances this
/// thread's [`ManualClock`] at once.
pub(crate) fn sleep_blocking(delay: Duration) {
    let manual = MANUAL.with(|m| {
        m.borrow_mut().as_mut().map(|sleeps| {
            sleeps.push(delay);
        })
    });
    match manual {
        Some(()) => push_offset(delay),
        None => std::thread::sleep(delay),
    }
}

/// A virtual clock for testing sync `#[retryable]` functions exactly, without
/// real sleeps: the sync counterpart of tokio's paused clock.
///
/// While it lives, the backoff sleeps of sync call sites **on this thread**
/// do not block: each advances the clock by its delay, at once, and is
/// recorded. Everything the runtime times on this thread (deadlines, breaker
/// open durations and windows, budget slots) sees the advanced time, so a
/// schedule, a deadline or a breaker's recovery is asserted to the nanosecond.
/// Other threads are not affected (a breaker opened on this thread, an hour
/// ahead, recovers on other threads after its `open_duration` of their own
/// time); dropping it returns this thread to real
/// sleeps and to tokio's clock.
///
/// One exception: a retry budget counts time in slots that every thread
/// shares, so a budget this thread uses moves its slots forward with this
/// clock, for every thread (a budget used by a thread an hour ahead counts
/// the others' calls in one slot until real time catches up: still at most
/// `retry_ratio` retries per first attempt, but no longer per `ttl`). Give a
/// test under a `ManualClock` budgets of its own (`budget = "..."`), or call
/// [`reset_state`](crate::reset_state) after it.
///
/// Async call sites on the same thread see the advanced time too (their sleeps
/// are tokio's: pause tokio's clock for those).
///
/// ```
/// use retry_runtime::{retryable, ManualClock};
/// use std::io;
/// use std::time::Duration;
///
/// #[retryable] // the `default` preset: 3 attempts, exponential from 100 ms, full jitter
/// fn read_settings() -> io::Result<String> {
///     Err(io::ErrorKind::TimedOut.into())
/// }
///
/// let clock = ManualClock::start();
/// assert!(read_settings().is_err());
/// assert_eq!(clock.sleeps().len(), 2, "two backoffs between three attempts");
/// assert_eq!(clock.elapsed(), clock.sleeps().iter().sum::<Duration>());
/// ```
#[must_use = "the clock stops driving this thread when dropped"]
pub struct ManualClock {
    /// The offset and the sleeps this clock replaced, restored on drop.
    previous: (Duration, Option<Vec<Duration>>),
    started_at: Duration,
    /// Thread-bound: the clock drives the thread that started it.
    _not_send: PhantomData<*const ()>,
}

impl ManualClock {
    /// Starts driving this thread's sync backoff sleeps and clock reads.
    pub fn start() -> ManualClock {
        let offset = OFFSET.with(Cell::get);
        let sleeps = MANUAL.with(|m| m.borrow_mut().replace(Vec::new()));
        MANUAL_ON.with(|on| on.set(true));
        ManualClock {
            previous: (offset, sleeps),
            started_at: offset,
            _not_send: PhantomData,
        }
    }

    /// Moves this thread's time forward by `by`, as if that much time had
    /// passed (to let a breaker's `open_duration` run out, say). The clock
    /// moves at most about 100 years ahead in all;
    /// further advances stop there.
    ///
    /// ```
    /// let clock = retry_runtime::ManualClock::start();
    /// clock.advance(std::time::Duration::from_secs(30));
    /// assert_eq!(clock.elapsed(), std::time::Duration::from_secs(30));
    /// ```
    pub fn advance(&self, by: Duration) {
        push_offset(by);
    }

    /// The time this clock has moved forward since it started: sleeps and
    /// [`advance`](Self::advance)s.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        OFFSET.with(Cell::get).saturating_sub(self.started_at)
    }

    /// The backoff sleeps of sync call sites on this thread since the clock
    /// started, in order.
    #[must_use]
    pub fn sleeps(&self) -> Vec<Duration> {
        MANUAL.with(|m| m.borrow().clone().unwrap_or_default())
    }
}

impl Drop for ManualClock {
    fn drop(&mut self) {
        let (offset, sleeps) = std::mem::take(&mut self.previous);
        OFFSET.with(|o| o.set(offset));
        MANUAL_ON.with(|on| on.set(sleeps.is_some()));
        MANUAL.with(|m| *m.borrow_mut() = sleeps);
    }
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualClock")
            .field("elapsed", &self.elapsed())
            .finish_non_exhaustive()
    }
}
