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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::classify::Verdict;
use crate::clock::Stamp;
use crate::ops::events::Reason;
use crate::shard::{Padded, ShardedCounter};
use crate::{BreakerSettings, Class};
use window::{OutcomeWindow, bits};

pub mod fleet;
pub(crate) mod keyed;
pub(crate) mod lookup;
pub(crate) mod state;
mod window;

pub use state::BreakerState;
use state::{MAX_ADMITTED, Word};

/// What an attempt's outcome means to a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A success, or a permanent error (the service answered).
    Success,
    /// A transient error, an attempt timeout, a retry-after that is an
    /// outage (a 5xx with `Retry-After`), or any retry-after when the breaker
    /// counts those (`retry_after_is_failure`).
    Failure,
}

impl Outcome {
    /// What an attempt's result means to a breaker with `settings`: `None` is
    /// a success. A permanent error is an answer from a live service; so is a
    /// retry-after that is not an outage (a 429, gRPC pushback: the service
    /// asks us to slow down) unless the breaker is set to count those as
    /// failures. A retry-after that is an outage (the error's
    /// [`is_outage`](crate::Classify::is_outage), carried in the verdict
    /// beside the class, which stays `RetryAfter`) is a failure.
    #[inline]
    pub(crate) fn of(error: Option<Verdict>, settings: &BreakerSettings) -> Outcome {
        let Some(Verdict { class, outage, .. }) = error else {
            return Outcome::Success;
        };
        match class {
            Class::Permanent => Outcome::Success,
            Class::RetryAfter(_) if !outage && !settings.retry_after_is_failure => Outcome::Success,
            Class::Transient | Class::RetryAfter(_) => Outcome::Failure,
        }
    }
}

/// A live circuit breaker.
pub(crate) struct Breaker {
    name: Arc<str>,
    /// The key of a keyed instance (`breaker_key`); `None` for the named
    /// breaker itself. Under a lock: an instance whose key is evicted is
    /// reused for another key (see [`keyed`]); read only off the success path.
    key: Option<Mutex<Arc<str>>>,
    settings: BreakerSettings,
    /// State, epoch and admitted trials: see [`Word`].
    word: AtomicU64,
    /// When the breaker last changed state (see [`Stamp`] for how each
    /// thread measures from it).
    changed_at: Stamp,
    window: OutcomeWindow,
    /// Serializes transitions and holds the outcomes of the current half-open
    /// trials (recorded under the lock: trials are few).
    transition: Mutex<Trials>,
    calls: CallCount,
    /// `calls` when the breaker was last revived ([`Breaker::revive`]):
    /// metrics count from there.
    calls_before: AtomicU64,
    failures: AtomicU64,
    slow_calls: AtomicU64,
    not_permitted: AtomicU64,
    /// Its side of the fleet (`fleet = true` with feature `redis`): read only
    /// off the success path, at transitions and when an open breaker's
    /// `open_duration` is over. Boxed: a local keyed instance carries 8 bytes.
    fleet: Option<Box<fleet::Link>>,
}

/// Attempts counted under a breaker: per-thread shards for a named breaker
/// (shared by every call site that names it, so contended), [`LINES`] lines
/// for a keyed instance (16 shards of 64 bytes each would reach gigabytes at
/// `max_keys`), which also hold its last use (see [`keyed`]).
// The lines inline: a hit writes one without following a pointer, and the
// few named breakers carry the 256 bytes unused.
#[allow(clippy::large_enum_variant)]
enum CallCount {
    /// Boxed, so that a keyed instance does not carry its size.
    Sharded(Box<ShardedCounter>),
    Lines([Padded<Line>; LINES]),
}

/// How many cache lines a keyed instance spreads its writes over: a thread
/// writes line `shard % LINES` (its [`shard`](crate::shard)), so that up to
/// this many threads calling the same key never write the same line.
const LINES: usize = 4;

/// What the threads of one line write at each call of a keyed instance.
#[derive(Default)]
struct Line {
    /// The shard (plus one) of the thread that counts in `own`; 0 until one
    /// claims it. Claimed once and kept: a shard has one live thread at a
    /// time, and the next thread to get it inherits the claim.
    owner: AtomicU64,
    /// Attempts recorded by the owner: a plain load and store (it is the only
    /// writer), no locked instruction.
    own: AtomicU64,
    /// Attempts recorded by the other threads of the line (an atomic add:
    /// they may add at once).
    shared: AtomicU64,
    /// The timestamp of the last lookup that found the instance (see
    /// [`keyed`]): stored, not compared, so of two threads of one line
    /// hitting the key at the same moment either may win.
    last_used: AtomicU64,
}

impl CallCount {
    #[inline]
    fn add_one(&self) {
        match self {
            CallCount::Sharded(shards) => shards.add(1),
            CallCount::Lines(lines) => {
                let shard = crate::shard::shard();
                let line = &lines[shard % LINES];
                let me = shard as u64 + 1;
                let owner = line.owner.load(Ordering::Relaxed);
                if shard != crate::shard::SHARED
                    && (owner == me
                        || owner == 0
                            && line
                                .owner
                                .compare_exchange(0, me, Ordering::Relaxed, Ordering::Relaxed)
                                .is_ok())
                {
                    line.own
                        .store(line.own.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                } else {
                    line.shared.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn sum(&self) -> u64 {
        match self {
            CallCount::Sharded(shards) => shards.sum(),
            CallCount::Lines(lines) => lines
                .iter()
                .map(|line| {
                    line.own
                        .load(Ordering::Relaxed)
                        .wrapping_add(line.shared.load(Ordering::Relaxed))
                })
                .fold(0, u64::wrapping_add),
        }
    }
}

/// Why a breaker opened.
#[derive(Clone, Copy)]
enum Why {
    /// A rate (`failure_rate` or `slow_call_rate`) reached its threshold.
    Rate(&'static str, f64),
    /// Half-open trials did not all report within `max_half_open_wait`.
    TrialsHung(Duration),
    /// `force_open`, `disable` or `reset`.
    ByHand,
    /// The fleet decided it (reason `fleet`): see [`fleet`].
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Fleet(fleet::Cause),
}

/// The outcomes of the current epoch's half-open trials.
#[derive(Default)]
struct Trials {
    done: u32,
    failures: u32,
    slow: u32,
}

/// When an attempt's time starts, for the slow-call rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timing {
    /// The breaker does not time slow calls (`slow_call_duration = "none"`).
    Off,
    /// From this instant.
    From(Instant),
    /// From the attempt's first wait (an async attempt, see
    /// [`Breaker::acquire`]): until then, not timed. An attempt that answers
    /// without ever waiting is not slow.
    FirstWait,
}

/// Permission to make one attempt, from [`Breaker::acquire`].
pub(crate) enum Permit {
    /// The breaker is closed: record the outcome if the epoch is still current.
    Closed { epoch: u64, started: Timing },
    /// One of the half-open trial calls; released on drop if never recorded.
    Trial(TrialPermit),
    /// The breaker is disabled: nothing to record.
    Disabled,
}

impl Permit {
    /// Whether the attempt is to be timed from its first wait: its caller
    /// reads the clock when it first waits and calls
    /// [`waited_from`](Self::waited_from).
    #[inline]
    pub(crate) fn times_first_wait(&self) -> bool {
        matches!(
            self,
            Permit::Closed {
                started: Timing::FirstWait,
                ..
            }
        )
    }

    /// The attempt first waited at `at`: it is timed from there.
    #[inline]
    pub(crate) fn waited_from(&mut self, at: Instant) {
        if let Permit::Closed { started, .. } = self
            && *started == Timing::FirstWait
        {
            *started = Timing::From(at);
        }
    }
}

/// A half-open trial permit. Dropped without an outcome (a cancelled or
/// panicking attempt), it gives its place back and records nothing.
pub(crate) struct TrialPermit {
    breaker: BreakerRef,
    epoch: u64,
    started: Timing,
    done: bool,
}

impl Drop for TrialPermit {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.release_trial(self.epoch);
        }
    }
}

/// The breaker a trial permit gives its place back to: a named breaker or
/// a keyed instance in its slot (never freed, so `'static`), or an instance
/// outside any table (reference-counted: a handle's view of a key with no
/// live instance, a call that found its table retired).
///
/// A trial permit of a keyed instance whose slot was reused for another key
/// gives nothing back to the new key: epochs only grow, across reuse too, and
/// a place is given back only in the epoch it was taken in.
pub(crate) enum BreakerRef {
    Static(&'static Breaker),
    Keyed(Arc<Breaker>),
}

impl Clone for BreakerRef {
    fn clone(&self) -> Self {
        match self {
            BreakerRef::Static(breaker) => BreakerRef::Static(breaker),
            BreakerRef::Keyed(breaker) => BreakerRef::Keyed(Arc::clone(breaker)),
        }
    }
}

impl std::ops::Deref for BreakerRef {
    type Target = Breaker;

    fn deref(&self) -> &Breaker {
        match self {
            BreakerRef::Static(breaker) => breaker,
            BreakerRef::Keyed(breaker) => breaker,
        }
    }
}

impl Breaker {
    pub(crate) fn new(name: &str, settings: BreakerSettings) -> Breaker {
        Breaker::with_key(Arc::from(name), None, settings)
    }

    /// A breaker called `name`, the instance of `key` if given.
    pub(crate) fn with_key(
        name: Arc<str>,
        key: Option<Arc<str>>,
        settings: BreakerSettings,
    ) -> Breaker {
        let keyed = key.is_some();
        Breaker {
            name,
            key: key.map(Mutex::new),
            settings,
            word: AtomicU64::new(Word::new(0, BreakerState::Closed, 0).0),
            changed_at: Stamp::now(),
            window: OutcomeWindow::new(settings.window),
            transition: Mutex::new(Trials::default()),
            // Keyed instances are many (up to `max_keys` per name): a few
            // lines each, not a kilobyte of per-thread shards.
            calls: if keyed {
                CallCount::Lines(Default::default())
            } else {
                CallCount::Sharded(Box::default())
            },
            calls_before: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            slow_calls: AtomicU64::new(0),
            not_permitted: AtomicU64::new(0),
            fleet: fleet::Link::for_settings(&settings),
        }
    }

    /// Makes a breaker that an `install` had replaced (or `reset_state`
    /// dropped) live again, as if new: closed, empty window, counters from
    /// zero. Calls still running on it from before finish on it: their
    /// outcomes belong to an earlier epoch and are not counted in the window.
    pub(crate) fn revive(&self) {
        self.set(BreakerState::Closed);
        self.zero_counters();
    }

    /// Counts (calls, failures, slow calls, rejections) from zero.
    fn zero_counters(&self) {
        self.calls_before.store(self.calls.sum(), Ordering::Relaxed);
        self.failures.store(0, Ordering::Relaxed);
        self.slow_calls.store(0, Ordering::Relaxed);
        self.not_permitted.store(0, Ordering::Relaxed);
    }

    /// Gives a keyed instance whose key was evicted to `key`, as if new:
    /// closed in a new epoch (the old key's calls still running record
    /// nothing in it: see [`keyed`]), empty window, counters from zero. No
    /// event and no metric: no key changed state.
    pub(crate) fn reuse(&self, key: Arc<str>) {
        let mut trials = self.lock();
        if let Some(text) = &self.key {
            *text
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = key;
        }
        self.enter_locked(&mut trials, BreakerState::Closed);
        self.zero_counters();
        if let Some(link) = &self.fleet {
            link.reset();
        }
    }

    /// Notes a lookup of a keyed instance at `stamp`, in the calling
    /// thread's line: the only write of a hit.
    #[inline]
    pub(crate) fn touch(&self, stamp: u64) {
        if let CallCount::Lines(lines) = &self.calls {
            lines[crate::shard::shard() % LINES]
                .last_used
                .store(stamp, Ordering::Relaxed);
        }
    }

    /// The timestamp of the last lookup of a keyed instance.
    pub(crate) fn last_used(&self) -> u64 {
        match &self.calls {
            CallCount::Lines(lines) => lines
                .iter()
                .map(|line| line.last_used.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0),
            CallCount::Sharded(_) => 0,
        }
    }

    pub(crate) fn settings(&self) -> &BreakerSettings {
        &self.settings
    }

    /// The key of a keyed instance.
    pub(crate) fn key(&self) -> Option<Arc<str>> {
        self.key.as_ref().map(|text| {
            Arc::clone(
                &text
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
        })
    }

    /// `name`, or `name` key `key` for a keyed instance: how events name it.
    fn label(&self) -> Label<'_> {
        Label(self)
    }

    #[inline]
    fn word(&self) -> Word {
        Word(self.word.load(Ordering::Acquire))
    }

    pub(crate) fn state(&self) -> BreakerState {
        self.word().state()
    }

    /// How many trials a half-open breaker admits.
    fn trial_places(&self) -> u32 {
        self.settings.half_open_calls.clamp(1, MAX_ADMITTED)
    }

    /// How long the breaker has been in its current state, as the calling
    /// thread measures it.
    fn time_in_state(&self) -> Duration {
        self.changed_at.elapsed()
    }

    /// When an attempt's time starts, if slow calls are timed at all (a clock
    /// read costs more than the rest of the breaker's success path). `now`,
    /// when the caller already read the clock in the same poll, saves a read.
    /// `first_wait` (async attempts) times the attempt from its first wait
    /// instead, read by the caller then ([`Permit::waited_from`]), so that an
    /// attempt that answers at once reads no clock; except on a thread that a
    /// [`ManualClock`](crate::ManualClock) drives, since its `advance` moves
    /// time without a wait.
    #[inline]
    fn start_timing(&self, now: Option<Instant>, first_wait: bool) -> Timing {
        if self.settings.slow_call_duration == BreakerSettings::NO_SLOW_CALLS {
            Timing::Off
        } else if let Some(now) = now {
            Timing::From(now)
        } else if first_wait && !crate::clock::manual_in_use() {
            Timing::FirstWait
        } else {
            Timing::From(crate::clock::now())
        }
    }

    /// Whether an attempt timed from `started` was slow.
    #[inline]
    fn is_slow(&self, started: Timing) -> bool {
        match started {
            Timing::From(started) => {
                crate::clock::now().saturating_duration_since(started)
                    >= self.settings.slow_call_duration
            }
            Timing::Off | Timing::FirstWait => false,
        }
    }

    /// Asks to make one attempt: a permit, or `None` when the breaker rejects it.
    /// `now` is the current time if the caller has just read it (with no await
    /// since), so that timing the attempt needs no second read; `first_wait`
    /// says the attempt is async and its caller times it from its first wait
    /// (see [`start_timing`](Self::start_timing)).
    #[inline]
    pub(crate) fn acquire(&'static self, now: Option<Instant>, first_wait: bool) -> Option<Permit> {
        self.acquire_as(now, first_wait, || BreakerRef::Static(self))
    }

    /// The closed path is one atomic load; `this` is called only for a trial permit.
    #[inline]
    fn acquire_as(
        &self,
        now: Option<Instant>,
        first_wait: bool,
        this: impl FnOnce() -> BreakerRef,
    ) -> Option<Permit> {
        let word = self.word();
        match word.state() {
            BreakerState::Closed => Some(Permit::Closed {
                epoch: word.epoch(),
                started: self.start_timing(now, first_wait),
            }),
            BreakerState::Disabled => Some(Permit::Disabled),
            // Trials are few: timed from their start, as they are admitted.
            _ => self.acquire_slow(now, this),
        }
    }

    #[cold]
    fn acquire_slow(
        &self,
        now: Option<Instant>,
        this: impl FnOnce() -> BreakerRef,
    ) -> Option<Permit> {
        let mut word = self.word();
        loop {
            match word.state() {
                BreakerState::Closed => {
                    return Some(Permit::Closed {
                        epoch: word.epoch(),
                        started: self.start_timing(now, false),
                    });
                }
                BreakerState::Disabled => return Some(Permit::Disabled),
                BreakerState::Open => {
                    if self.time_in_state() < self.settings.open_duration
                        || !self.fleet_trial_allowed(word)
                    {
                        break;
                    }
                    self.transition(word, BreakerState::HalfOpen, None);
                }
                BreakerState::HalfOpen => {
                    if word.admitted() < self.trial_places() {
                        let admitted = Word(word.0 + 1);
                        match self.word.compare_exchange_weak(
                            word.0,
                            admitted.0,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        ) {
                            Ok(_) => {
                                return Some(Permit::Trial(TrialPermit {
                                    breaker: this(),
                                    epoch: word.epoch(),
                                    started: self.start_timing(now, false),
                                    done: false,
                                }));
                            }
                            Err(seen) => {
                                word = Word(seen);
                                continue;
                            }
                        }
                    }
                    // Every place is taken. Trials that never report (hung, no
                    // attempt timeout) must not keep the breaker half-open for ever.
                    match self.settings.max_half_open_wait {
                        Some(wait) if self.time_in_state() >= wait => {
                            self.transition(word, BreakerState::Open, Some(Why::TrialsHung(wait)));
                        }
                        _ => break,
                    }
                }
                BreakerState::ForcedOpen => break,
            }
            word = self.word();
        }
        self.not_permitted.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Gives back the place of a trial of `epoch` that ended without an outcome.
    fn release_trial(&self, epoch: u64) {
        let mut word = self.word();
        while word.epoch() == epoch && word.state() == BreakerState::HalfOpen && word.admitted() > 0
        {
            match self.word.compare_exchange_weak(
                word.0,
                word.0 - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(seen) => word = Word(seen),
            }
        }
    }

    /// Whether a retry that waits `delay` from now will find the breaker
    /// letting calls through (closed, disabled, half-open with a trial place
    /// free, or open with its `open_duration` over by then). Decided before
    /// sleeping, so that a call the breaker would refuse gives up at once,
    /// without sleeping or spending budget. A half-open breaker whose trial
    /// places are all taken refuses unless `max_half_open_wait` runs out
    /// within `delay` (the trials may report in time, but the call that waits
    /// for them is not told so: it gives up, as it would on an open breaker).
    pub(crate) fn admits_after(&self, delay: Duration) -> bool {
        let word = self.word();
        match word.state() {
            BreakerState::Closed | BreakerState::Disabled => true,
            BreakerState::HalfOpen => {
                word.admitted() < self.trial_places()
                    || self
                        .settings
                        .max_half_open_wait
                        .is_some_and(|wait| self.time_in_state().saturating_add(delay) >= wait)
            }
            BreakerState::ForcedOpen => false,
            BreakerState::Open => {
                self.time_in_state().saturating_add(delay) >= self.settings.open_duration
            }
        }
    }

    /// Whether a call now would be let through (without taking a permit):
    /// closed, disabled, half-open with a trial place free, or open with its
    /// `open_duration` over.
    pub(crate) fn admits(&self) -> bool {
        let word = self.word();
        match word.state() {
            BreakerState::Closed | BreakerState::Disabled => true,
            BreakerState::ForcedOpen => false,
            BreakerState::Open => {
                self.time_in_state() >= self.settings.open_duration
                    && self.fleet_trial_allowed(word)
            }
            BreakerState::HalfOpen => {
                word.admitted() < self.trial_places()
                    || self
                        .settings
                        .max_half_open_wait
                        .is_some_and(|wait| self.time_in_state() >= wait)
            }
        }
    }

    /// Records the outcome of an attempt made under `permit`.
    #[inline]
    pub(crate) fn record(&self, permit: Permit, outcome: Outcome) {
        match permit {
            Permit::Disabled => {}
            Permit::Closed { epoch, started } => {
                let slow = self.is_slow(started);
                self.calls.add_one();
                self.count(outcome, slow);
                if epoch != self.word().epoch() {
                    return;
                }
                let bits = bits(outcome == Outcome::Failure, slow);
                if self.window.record(bits) {
                    self.check_rates();
                }
            }
            Permit::Trial(mut trial) => {
                trial.done = true;
                let slow = self.is_slow(trial.started);
                self.calls.add_one();
                self.count(outcome, slow);
                self.record_trial(trial.epoch, outcome, slow);
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

    fn lock(&self) -> MutexGuard<'_, Trials> {
        self.transition
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        if let Some((rate, value)) = tripped {
            let why = Some(Why::Rate(rate, value));
            let word = self.word();
            if word.state() == BreakerState::Closed {
                self.transition(word, BreakerState::Open, why);
            }
        }
    }

    /// A trial's outcome; once every trial place has reported, the verdict.
    fn record_trial(&self, epoch: u64, outcome: Outcome, slow: bool) {
        let mut trials = self.lock();
        let word = self.word();
        if word.epoch() != epoch || word.state() != BreakerState::HalfOpen {
            return;
        }
        trials.done += 1;
        trials.failures += u32::from(outcome == Outcome::Failure);
        trials.slow += u32::from(slow);
        if trials.done < self.trial_places() {
            return;
        }
        let done = f64::from(trials.done);
        let failure_rate = f64::from(trials.failures) / done;
        let slow_rate = f64::from(trials.slow) / done;
        if failure_rate >= self.settings.failure_rate_threshold {
            self.set_locked(
                &mut trials,
                BreakerState::Open,
                Some(Why::Rate("failure_rate", failure_rate)),
            );
        } else if slow_rate >= self.settings.slow_call_rate_threshold {
            self.set_locked(
                &mut trials,
                BreakerState::Open,
                Some(Why::Rate("slow_call_rate", slow_rate)),
            );
        } else {
            self.set_locked(&mut trials, BreakerState::Closed, None);
        }
    }

    /// Moves to `to` if the breaker is still in the state and epoch of `seen`.
    fn transition(&self, seen: Word, to: BreakerState, why: Option<Why>) {
        let mut trials = self.lock();
        let now = self.word();
        if now.epoch() == seen.epoch() && now.state() == seen.state() {
            self.set_locked(&mut trials, to, why);
        }
    }

    /// Sets the state by hand (force-open, disable, reset).
    pub(crate) fn set(&self, to: BreakerState) {
        let mut trials = self.lock();
        self.set_locked(&mut trials, to, Some(Why::ByHand));
    }

    /// Enters `to` in a new epoch, with fresh counts, reporting nothing;
    /// returns the state it left. Caller holds `transition`. One store
    /// publishes the state and the epoch together, with no trial admitted: no
    /// acquire can pair the new epoch with the old state.
    fn enter_locked(&self, trials: &mut Trials, to: BreakerState) -> BreakerState {
        let old = self.word();
        *trials = Trials::default();
        if matches!(to, BreakerState::Closed | BreakerState::Disabled) {
            self.window.clear();
        }
        self.changed_at.set_now();
        self.word
            .store(Word::new(old.epoch() + 1, to, 0).0, Ordering::Release);
        old.state()
    }

    /// Enters `to` in a new epoch, with fresh counts, and reports it. Caller
    /// holds `transition`.
    fn set_locked(&self, trials: &mut Trials, to: BreakerState, why: Option<Why>) {
        let from = self.enter_locked(trials, to);
        let key = self.key();
        let key = key.as_deref();
        crate::ops::metrics::breaker_state(&self.name, key, to);
        self.fleet_transitioned(from, to, why);
        if from == to {
            // A reset of a closed breaker, say: counts start afresh, but there
            // is no transition to report.
            return;
        }
        crate::ops::events::breaker_transition(
            &self.name,
            key,
            from,
            to,
            &match why {
                Some(Why::Rate(rate, value)) => Reason::Rate(rate, value),
                Some(Why::TrialsHung(_)) => Reason::TrialsHung,
                Some(Why::ByHand) => Reason::ByHand,
                Some(Why::Fleet(cause)) => Reason::Fleet(cause.to_string()),
                None => Reason::Cycle,
            },
        );
        match why {
            Some(Why::TrialsHung(wait)) => tracing::warn!(
                breaker = %self.name, key = key, from = %from, to = %to,
                max_half_open_wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "circuit breaker {} {} → {}: trial calls did not report within max_half_open_wait ({:?})",
                self.label(), from, to, wait
            ),
            Some(Why::Rate(rate, value)) => tracing::warn!(
                breaker = %self.name, key = key, from = %from, to = %to, rate, value,
                "circuit breaker {} {} → {}: {} {:.2} reached its threshold",
                self.label(), from, to, rate, value
            ),
            Some(Why::Fleet(cause)) if to == BreakerState::Open => tracing::warn!(
                breaker = %self.name, key = key, from = %from, to = %to, reason = "fleet",
                "circuit breaker {} {} → {}: {}", self.label(), from, to, cause
            ),
            Some(Why::Fleet(cause)) => tracing::info!(
                breaker = %self.name, key = key, from = %from, to = %to, reason = "fleet",
                "circuit breaker {} {} → {}: {}", self.label(), from, to, cause
            ),
            Some(Why::ByHand) | None => tracing::info!(
                breaker = %self.name, key = key, from = %from, to = %to,
                "circuit breaker {} {} → {}", self.label(), from, to
            ),
        }
    }

    pub(crate) fn metrics(&self) -> BreakerMetrics {
        let rates = self.window.rates();
        BreakerMetrics {
            state: self.state(),
            calls: self
                .calls
                .sum()
                .wrapping_sub(self.calls_before.load(Ordering::Relaxed)),
            failures: self.failures.load(Ordering::Relaxed),
            slow_calls: self.slow_calls.load(Ordering::Relaxed),
            not_permitted: self.not_permitted.load(Ordering::Relaxed),
            window_calls: rates.calls,
            failure_rate: rates.failure_rate,
            slow_call_rate: rates.slow_call_rate,
        }
    }
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

/// A breaker as events name it: `` `s3` ``, or `` `hosts` key `a.example` ``.
struct Label<'b>(&'b Breaker);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.0.name)?;
        if let Some(key) = self.0.key() {
            write!(f, " key `{key}`")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.name)
            .field("key", &self.key())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    /// Issue 16: a half-open breaker whose every trial place is taken must
    /// not promise a retry a place after its sleep.
    #[test]
    fn a_full_half_open_breaker_admits_no_retry_after_a_sleep() {
        let clock = ManualClock::start();
        let settings = BreakerSettings {
            window: crate::Window::Count { size: 2 },
            minimum_calls: 2,
            failure_rate_threshold: 1.0,
            open_duration: Duration::from_secs(1),
            half_open_calls: 1,
            max_half_open_wait: Some(Duration::from_secs(10)),
            ..BreakerSettings::DEFAULT
        };
        let breaker: &'static Breaker = Box::leak(Box::new(Breaker::new("full", settings)));
        for _ in 0..2 {
            let permit = breaker.acquire(None, false).expect("closed");
            breaker.record(permit, Outcome::Failure);
        }
        assert_eq!(breaker.state(), BreakerState::Open);
        clock.advance(Duration::from_secs(1));
        let trial = breaker.acquire(None, false).expect("the one trial place");
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.acquire(None, false).is_none(), "the place is taken");
        assert!(!breaker.admits_after(Duration::from_millis(100)));
        assert!(!breaker.admits_after(Duration::from_secs(9)));
        // Unless the hung trials' wait runs out during the sleep.
        assert!(breaker.admits_after(Duration::from_secs(10)));
        breaker.record(trial, Outcome::Success);
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.admits_after(Duration::ZERO));
    }
}
