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
use std::time::Duration;

use tokio::time::Instant;

thread_local! {
    /// How far this thread's [`ManualClock`] has been advanced.
    static OFFSET: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    /// Whether a [`ManualClock`] drives this thread, and the sleeps it took.
    static MANUAL: RefCell<Option<Vec<Duration>>> = const { RefCell::new(None) };
}

/// The runtime's current time.
#[inline]
pub(crate) fn now() -> Instant {
    let offset = OFFSET.with(Cell::get);
    Instant::now() + offset
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
        Some(()) => OFFSET.with(|o| o.set(o.get().saturating_add(delay))),
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
/// Other threads are not affected; dropping it returns this thread to real
/// sleeps and to tokio's clock.
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
        ManualClock {
            previous: (offset, sleeps),
            started_at: offset,
            _not_send: PhantomData,
        }
    }

    /// Moves this thread's time forward by `by`, as if that much time had
    /// passed (to let a breaker's `open_duration` run out, say).
    ///
    /// ```
    /// let clock = retry_runtime::ManualClock::start();
    /// clock.advance(std::time::Duration::from_secs(30));
    /// assert_eq!(clock.elapsed(), std::time::Duration::from_secs(30));
    /// ```
    pub fn advance(&self, by: Duration) {
        OFFSET.with(|o| o.set(o.get().saturating_add(by)));
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
