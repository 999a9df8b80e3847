//! Circuit breakers: shared by name, consulted before every attempt.
//!
//! ```text
//!            failure or slow-call rate ≥ threshold
//!            (after minimum_calls)
//!   Closed ───────────────────────────────────────▶ Open
//!     ▲                                              │ open_duration
//!     │ trial calls healthy                          ▼
//!     └─────────────────────────────────────────── HalfOpen ──▶ Open (trials unhealthy)
//!
//!   ForcedOpen and Disabled are set by hand (BreakerHandle) and left by `reset`.
//! ```
//!
//! The healthy path in `Closed` takes no lock: a success into a count window
//! full of successes changes nothing and is not even written; any other outcome
//! is two atomic writes. Transitions take a mutex (they are rare).

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::shard::ShardedCounter;
use crate::{BreakerSettings, Window};

/// The state of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum BreakerState {
    /// Calls pass; outcomes are recorded in the window.
    Closed,
    /// Calls are rejected until `open_duration` has passed.
    Open,
    /// Up to `half_open_calls` trial calls pass; their outcomes close or reopen the breaker.
    HalfOpen,
    /// Opened by hand ([`BreakerHandle::force_open`](crate::BreakerHandle::force_open)): rejects every call until reset.
    ForcedOpen,
    /// Switched off by hand ([`BreakerHandle::disable`](crate::BreakerHandle::disable)): every call passes, nothing is recorded.
    Disabled,
}

impl BreakerState {
    fn from_u8(v: u8) -> BreakerState {
        match v {
            0 => BreakerState::Closed,
            1 => BreakerState::Open,
            2 => BreakerState::HalfOpen,
            3 => BreakerState::ForcedOpen,
            _ => BreakerState::Disabled,
        }
    }

    pub(crate) fn as_u8(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
            BreakerState::ForcedOpen => 3,
            BreakerState::Disabled => 4,
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
            BreakerState::ForcedOpen => "forced-open",
            BreakerState::Disabled => "disabled",
        })
    }
}

/// What an attempt's outcome means to a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A success, or a permanent error (the service answered).
    Success,
    /// A transient error, a retry-after, or an attempt timeout.
    Failure,
}

const FAILED: u8 = 1;
const SLOW: u8 = 2;
/// A count-window slot that has never held an outcome.
const EMPTY: u8 = 4;

/// A live circuit breaker.
pub(crate) struct Breaker {
    name: Arc<str>,
    settings: BreakerSettings,
    state: AtomicU8,
    /// Bumped at every transition: outcomes of calls admitted in an earlier epoch are ignored.
    epoch: AtomicU64,
    origin: Instant,
    /// When the breaker last opened, in nanoseconds since `origin`.
    opened_at: AtomicU64,
    window: OutcomeWindow,
    trials_admitted: AtomicU32,
    trials_done: AtomicU32,
    trial_failures: AtomicU32,
    trial_slow: AtomicU32,
    transition: Mutex<()>,
    calls: ShardedCounter,
    failures: AtomicU64,
    slow_calls: AtomicU64,
    not_permitted: AtomicU64,
}

/// Permission to make one attempt, from [`Breaker::acquire`].
pub(crate) enum Permit {
    /// The breaker is closed: record the outcome if the epoch is still current.
    Closed {
        epoch: u64,
        started: Option<Instant>,
    },
    /// One of the half-open trial calls; released on drop if never recorded.
    Trial(TrialPermit),
    /// The breaker is disabled: nothing to record.
    Disabled,
}

/// A half-open trial permit. Dropped without an outcome (a cancelled or
/// panicking attempt), it gives its place back and records nothing.
pub(crate) struct TrialPermit {
    breaker: &'static Breaker,
    epoch: u64,
    started: Option<Instant>,
    done: bool,
}

impl Drop for TrialPermit {
    fn drop(&mut self) {
        if !self.done && self.breaker.epoch.load(Ordering::Acquire) == self.epoch {
            self.breaker.trials_admitted.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Breaker {
    pub(crate) fn new(name: &str, settings: BreakerSettings) -> Breaker {
        Breaker {
            name: Arc::from(name),
            settings,
            state: AtomicU8::new(BreakerState::Closed.as_u8()),
            epoch: AtomicU64::new(0),
            origin: Instant::now(),
            opened_at: AtomicU64::new(0),
            window: OutcomeWindow::new(settings.window),
            trials_admitted: AtomicU32::new(0),
            trials_done: AtomicU32::new(0),
            trial_failures: AtomicU32::new(0),
            trial_slow: AtomicU32::new(0),
            transition: Mutex::new(()),
            calls: ShardedCounter::default(),
            failures: AtomicU64::new(0),
            slow_calls: AtomicU64::new(0),
            not_permitted: AtomicU64::new(0),
        }
    }

    pub(crate) fn settings(&self) -> &BreakerSettings {
        &self.settings
    }

    pub(crate) fn state(&self) -> BreakerState {
        BreakerState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// When an attempt starts, if slow calls are timed at all (a clock read
    /// costs more than the rest of the breaker's success path). `now`, when
    /// the caller already read the clock in the same poll, saves a read.
    #[inline]
    fn start_timing(&self, now: Option<Instant>) -> Option<Instant> {
        (self.settings.slow_call_duration != BreakerSettings::NO_SLOW_CALLS)
            .then(|| now.unwrap_or_else(Instant::now))
    }

    /// Whether an attempt that started at `started` was slow.
    #[inline]
    fn is_slow(&self, started: Option<Instant>) -> bool {
        started.is_some_and(|started| started.elapsed() >= self.settings.slow_call_duration)
    }

    /// Asks to make one attempt: a permit, or `None` when the breaker rejects it.
    /// `now` is the current time if the caller has just read it (with no await
    /// since), so that timing the attempt needs no second read.
    #[inline]
    pub(crate) fn acquire(&'static self, now: Option<Instant>) -> Option<Permit> {
        match self.state() {
            BreakerState::Closed => Some(Permit::Closed {
                epoch: self.epoch.load(Ordering::Acquire),
                started: self.start_timing(now),
            }),
            BreakerState::Disabled => Some(Permit::Disabled),
            _ => self.acquire_slow(now),
        }
    }

    #[cold]
    fn acquire_slow(&'static self, now: Option<Instant>) -> Option<Permit> {
        let state = self.state();
        if state == BreakerState::Open {
            let opened = Duration::from_nanos(self.opened_at.load(Ordering::Acquire));
            let now = Instant::now().saturating_duration_since(self.origin);
            if now.saturating_sub(opened) >= self.settings.open_duration {
                self.transition(BreakerState::Open, BreakerState::HalfOpen, None);
            }
        }
        match self.state() {
            BreakerState::HalfOpen => {
                let epoch = self.epoch.load(Ordering::Acquire);
                let admitted =
                    self.trials_admitted
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                            (n < self.settings.half_open_calls).then_some(n + 1)
                        });
                if admitted.is_ok() {
                    if self.epoch.load(Ordering::Acquire) == epoch {
                        return Some(Permit::Trial(TrialPermit {
                            breaker: self,
                            epoch,
                            started: self.start_timing(now),
                            done: false,
                        }));
                    }
                    // The breaker moved on while we were admitted: give the place back.
                    self.trials_admitted.fetch_sub(1, Ordering::AcqRel);
                    return self.acquire(now);
                }
            }
            BreakerState::Closed | BreakerState::Disabled => return self.acquire(now),
            BreakerState::Open | BreakerState::ForcedOpen => {}
        }
        self.not_permitted.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Records the outcome of an attempt made under `permit`.
    #[inline]
    pub(crate) fn record(&self, permit: Permit, outcome: Outcome) {
        match permit {
            Permit::Disabled => {}
            Permit::Closed { epoch, started } => {
                let slow = self.is_slow(started);
                self.calls.add(1);
                self.count(outcome, slow);
                if epoch != self.epoch.load(Ordering::Acquire) {
                    return;
                }
                let bits = bits(outcome, slow);
                if self.window.record(bits) {
                    self.check_rates();
                }
            }
            Permit::Trial(mut trial) => {
                trial.done = true;
                let slow = self.is_slow(trial.started);
                self.calls.add(1);
                self.count(outcome, slow);
                if trial.epoch != self.epoch.load(Ordering::Acquire) {
                    return;
                }
                if outcome == Outcome::Failure {
                    self.trial_failures.fetch_add(1, Ordering::AcqRel);
                }
                if slow {
                    self.trial_slow.fetch_add(1, Ordering::AcqRel);
                }
                let done = self.trials_done.fetch_add(1, Ordering::AcqRel) + 1;
                if done >= self.settings.half_open_calls {
                    self.judge_trials(trial.epoch);
                }
            }
        }
    }

    fn count(&self, outcome: Outcome, slow: bool) {
        if outcome == Outcome::Failure {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        if slow {
            self.slow_calls.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// After a failure or a slow call in `Closed`: open if a rate reached its threshold.
    fn check_rates(&self) {
        let rates = self.window.rates();
        if rates.calls < u64::from(self.settings.minimum_calls) {
            return;
        }
        let tripped = if rates.failure_rate >= self.settings.failure_rate_threshold {
            Some(("failure_rate", rates.failure_rate))
        } else if rates.slow_call_rate >= self.settings.slow_call_rate_threshold {
            Some(("slow_call_rate", rates.slow_call_rate))
        } else {
            None
        };
        if let Some(why) = tripped {
            self.transition(BreakerState::Closed, BreakerState::Open, Some(why));
        }
    }

    fn judge_trials(&self, epoch: u64) {
        let _serial = self
            .transition
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.epoch.load(Ordering::Acquire) != epoch || self.state() != BreakerState::HalfOpen {
            return;
        }
        let done = f64::from(self.trials_done.load(Ordering::Acquire).max(1));
        let failure_rate = f64::from(self.trial_failures.load(Ordering::Acquire)) / done;
        let slow_rate = f64::from(self.trial_slow.load(Ordering::Acquire)) / done;
        if failure_rate >= self.settings.failure_rate_threshold {
            self.set_locked(BreakerState::Open, Some(("failure_rate", failure_rate)));
        } else if slow_rate >= self.settings.slow_call_rate_threshold {
            self.set_locked(BreakerState::Open, Some(("slow_call_rate", slow_rate)));
        } else {
            self.set_locked(BreakerState::Closed, None);
        }
    }

    /// Moves `from` → `to` if the breaker is still in `from`.
    fn transition(&self, from: BreakerState, to: BreakerState, why: Option<(&'static str, f64)>) {
        let _serial = self
            .transition
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.state() == from {
            self.set_locked(to, why);
        }
    }

    /// Sets the state by hand (force-open, disable, reset).
    pub(crate) fn set(&self, to: BreakerState) {
        let _serial = self
            .transition
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.set_locked(to, None);
    }

    /// Enters `to` with fresh counts. Caller holds `transition`.
    fn set_locked(&self, to: BreakerState, why: Option<(&'static str, f64)>) {
        let from = self.state();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.trials_admitted.store(0, Ordering::Release);
        self.trials_done.store(0, Ordering::Release);
        self.trial_failures.store(0, Ordering::Release);
        self.trial_slow.store(0, Ordering::Release);
        if matches!(to, BreakerState::Closed | BreakerState::Disabled) {
            self.window.clear();
        }
        if to == BreakerState::Open {
            let now = Instant::now().saturating_duration_since(self.origin);
            self.opened_at.store(
                u64::try_from(now.as_nanos()).unwrap_or(u64::MAX),
                Ordering::Release,
            );
        }
        self.state.store(to.as_u8(), Ordering::Release);
        crate::metrics::breaker_state(&self.name, to);
        match why {
            Some((rate, value)) => tracing::warn!(
                breaker = %self.name, from = %from, to = %to, rate, value,
                "circuit breaker `{}` {} → {}: {} {:.2} reached its threshold",
                self.name, from, to, rate, value
            ),
            None => tracing::info!(
                breaker = %self.name, from = %from, to = %to,
                "circuit breaker `{}` {} → {}", self.name, from, to
            ),
        }
    }

    pub(crate) fn metrics(&self) -> BreakerMetrics {
        let rates = self.window.rates();
        BreakerMetrics {
            state: self.state(),
            calls: self.calls.sum(),
            failures: self.failures.load(Ordering::Relaxed),
            slow_calls: self.slow_calls.load(Ordering::Relaxed),
            not_permitted: self.not_permitted.load(Ordering::Relaxed),
            window_calls: rates.calls,
            failure_rate: rates.failure_rate,
            slow_call_rate: rates.slow_call_rate,
        }
    }
}

fn bits(outcome: Outcome, slow: bool) -> u8 {
    let mut bits = 0;
    if outcome == Outcome::Failure {
        bits |= FAILED;
    }
    if slow {
        bits |= SLOW;
    }
    bits
}

/// A breaker's counters, from [`BreakerHandle::metrics`](crate::BreakerHandle::metrics).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct BreakerMetrics {
    /// The state now.
    pub state: BreakerState,
    /// Attempts that ran under this breaker (disabled periods excluded).
    pub calls: u64,
    /// Attempts that failed (transient errors, retry-afters, timeouts).
    pub failures: u64,
    /// Attempts that took at least `slow_call_duration`.
    pub slow_calls: u64,
    /// Attempts the breaker rejected.
    pub not_permitted: u64,
    /// Outcomes in the current window.
    pub window_calls: u64,
    /// Failed fraction of the window's outcomes (0 when empty).
    pub failure_rate: f64,
    /// Slow fraction of the window's outcomes (0 when empty).
    pub slow_call_rate: f64,
}

struct Rates {
    calls: u64,
    failure_rate: f64,
    slow_call_rate: f64,
}

impl Rates {
    #[allow(clippy::cast_precision_loss)] // window counts are small
    fn of(calls: u64, failures: u64, slow: u64) -> Rates {
        let n = calls.max(1) as f64;
        Rates {
            calls,
            failure_rate: failures as f64 / n,
            slow_call_rate: slow as f64 / n,
        }
    }
}

/// The recent outcomes a closed breaker judges by.
enum OutcomeWindow {
    Count(CountWindow),
    Time(TimeWindow),
}

impl OutcomeWindow {
    fn new(window: Window) -> OutcomeWindow {
        match window {
            Window::Count { size } => OutcomeWindow::Count(CountWindow::new(size)),
            Window::Time { duration } => OutcomeWindow::Time(TimeWindow::new(duration)),
        }
    }

    /// Records an outcome; true if it was a failure or slow (rates may have risen).
    #[inline]
    fn record(&self, bits: u8) -> bool {
        match self {
            OutcomeWindow::Count(w) => w.record(bits),
            OutcomeWindow::Time(w) => w.record(bits),
        }
        bits != 0
    }

    fn rates(&self) -> Rates {
        match self {
            OutcomeWindow::Count(w) => w.rates(),
            OutcomeWindow::Time(w) => w.rates(),
        }
    }

    fn clear(&self) {
        match self {
            OutcomeWindow::Count(w) => w.clear(),
            OutcomeWindow::Time(w) => w.clear(),
        }
    }
}

/// The last `size` outcomes, in a ring of atomic slots, with running counts.
struct CountWindow {
    slots: Box<[AtomicU8]>,
    next: AtomicU64,
    filled: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
}

impl CountWindow {
    fn new(size: u32) -> CountWindow {
        CountWindow {
            slots: (0..size.max(1)).map(|_| AtomicU8::new(EMPTY)).collect(),
            next: AtomicU64::new(0),
            filled: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            slow: AtomicU64::new(0),
        }
    }

    #[inline]
    fn record(&self, bits: u8) {
        let size = self.slots.len() as u64;
        // A success into a full window of successes changes nothing: skip the writes.
        if bits == 0
            && self.failures.load(Ordering::Relaxed) == 0
            && self.slow.load(Ordering::Relaxed) == 0
            && self.filled.load(Ordering::Relaxed) >= size
        {
            return;
        }
        let at = self.next.fetch_add(1, Ordering::Relaxed) % size;
        #[allow(clippy::cast_possible_truncation)] // below the slot count
        let old = self.slots[at as usize].swap(bits, Ordering::AcqRel);
        if old == EMPTY {
            self.filled.fetch_add(1, Ordering::Relaxed);
        }
        let old = if old == EMPTY { 0 } else { old };
        adjust(&self.failures, old & FAILED != 0, bits & FAILED != 0);
        adjust(&self.slow, old & SLOW != 0, bits & SLOW != 0);
    }

    fn rates(&self) -> Rates {
        let calls = self
            .filled
            .load(Ordering::Acquire)
            .min(self.slots.len() as u64);
        Rates::of(
            calls,
            self.failures.load(Ordering::Acquire),
            self.slow.load(Ordering::Acquire),
        )
    }

    fn clear(&self) {
        for slot in &*self.slots {
            slot.store(EMPTY, Ordering::Relaxed);
        }
        self.next.store(0, Ordering::Relaxed);
        self.filled.store(0, Ordering::Relaxed);
        self.failures.store(0, Ordering::Relaxed);
        self.slow.store(0, Ordering::Relaxed);
    }
}

fn adjust(counter: &AtomicU64, was: bool, is: bool) {
    match (was, is) {
        (false, true) => {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        (true, false) => {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
        _ => {}
    }
}

/// The outcomes of the last `duration`, in one-second buckets (or `duration`/60 if longer than a minute).
struct TimeWindow {
    origin: Instant,
    bucket_len: Duration,
    buckets: Box<[Bucket]>,
}

#[derive(Default)]
struct Bucket {
    number: AtomicU64,
    calls: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
}

impl TimeWindow {
    fn new(duration: Duration) -> TimeWindow {
        let count = duration.as_secs().clamp(1, 60);
        let bucket_len =
            (duration / u32::try_from(count).unwrap_or(60)).max(Duration::from_millis(1));
        TimeWindow {
            origin: Instant::now(),
            bucket_len,
            buckets: (0..count).map(|_| Bucket::default()).collect(),
        }
    }

    fn now_number(&self) -> u64 {
        let elapsed = Instant::now().saturating_duration_since(self.origin);
        // Bucket numbers start at 1 so that 0 means "never used".
        u64::try_from(elapsed.as_nanos() / self.bucket_len.as_nanos().max(1)).unwrap_or(u64::MAX)
            + 1
    }

    fn record(&self, bits: u8) {
        let number = self.now_number();
        #[allow(clippy::cast_possible_truncation)] // below the bucket count
        let bucket = &self.buckets[(number % self.buckets.len() as u64) as usize];
        let held = bucket.number.load(Ordering::Acquire);
        if held != number
            && bucket
                .number
                .compare_exchange(held, number, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            bucket.calls.store(0, Ordering::Release);
            bucket.failures.store(0, Ordering::Release);
            bucket.slow.store(0, Ordering::Release);
        }
        bucket.calls.fetch_add(1, Ordering::AcqRel);
        if bits & FAILED != 0 {
            bucket.failures.fetch_add(1, Ordering::AcqRel);
        }
        if bits & SLOW != 0 {
            bucket.slow.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn rates(&self) -> Rates {
        let now = self.now_number();
        let oldest = now.saturating_sub(self.buckets.len() as u64 - 1);
        let (mut calls, mut failures, mut slow) = (0, 0, 0);
        for bucket in &*self.buckets {
            let number = bucket.number.load(Ordering::Acquire);
            if number >= oldest && number <= now && number != 0 {
                calls += bucket.calls.load(Ordering::Acquire);
                failures += bucket.failures.load(Ordering::Acquire);
                slow += bucket.slow.load(Ordering::Acquire);
            }
        }
        Rates::of(calls, failures, slow)
    }

    fn clear(&self) {
        for bucket in &*self.buckets {
            bucket.number.store(0, Ordering::Release);
        }
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}
