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
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::attempt::Verdict;
use crate::shard::ShardedCounter;
use crate::{BreakerSettings, Class, Window};

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

const FAILED: u8 = 1;
const SLOW: u8 = 2;
/// A count-window slot that has never held an outcome.
const EMPTY: u8 = 4;

/// The breaker's state, its epoch and the half-open trials admitted, in one
/// atomic word, so that a trial is admitted only by a compare-and-swap on the
/// exact state and epoch it saw: a transition in between makes the swap fail.
///
/// `epoch << 24 | state << 20 | admitted`. The epoch is bumped at every
/// transition (2^40 of them before it wraps); a permit remembers it, and
/// outcomes of permits from an earlier epoch are ignored.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Word(u64);

const ADMITTED_BITS: u32 = 20;
const STATE_BITS: u32 = 4;
/// At most this many trials are admitted at once, whatever `half_open_calls` says.
const MAX_ADMITTED: u32 = (1 << ADMITTED_BITS) - 1;

impl Word {
    fn new(epoch: u64, state: BreakerState, admitted: u32) -> Word {
        Word(
            epoch << (ADMITTED_BITS + STATE_BITS)
                | u64::from(state.as_u8()) << ADMITTED_BITS
                | u64::from(admitted),
        )
    }

    fn epoch(self) -> u64 {
        self.0 >> (ADMITTED_BITS + STATE_BITS)
    }

    #[allow(clippy::cast_possible_truncation)] // masked to 4 bits
    fn state(self) -> BreakerState {
        BreakerState::from_u8((self.0 >> ADMITTED_BITS) as u8 & ((1 << STATE_BITS) - 1))
    }

    #[allow(clippy::cast_possible_truncation)] // masked to 20 bits
    fn admitted(self) -> u32 {
        (self.0 & u64::from(MAX_ADMITTED)) as u32
    }
}

/// A live circuit breaker.
pub(crate) struct Breaker {
    name: Arc<str>,
    /// The key of a keyed instance (`breaker_key`); `None` for the named breaker itself.
    key: Option<Arc<str>>,
    settings: BreakerSettings,
    /// State, epoch and admitted trials: see [`Word`].
    word: AtomicU64,
    origin: Instant,
    /// When the breaker last changed state, in nanoseconds since `origin`.
    changed_at: AtomicU64,
    window: OutcomeWindow,
    /// Serializes transitions and holds the outcomes of the current half-open
    /// trials (recorded under the lock: trials are few).
    transition: Mutex<Trials>,
    calls: CallCount,
    failures: AtomicU64,
    slow_calls: AtomicU64,
    not_permitted: AtomicU64,
}

/// Attempts counted under a breaker: per-thread shards for a named breaker
/// (shared by every call site that names it, so contended), one atomic for a
/// keyed instance (1 KiB of shards each would reach gigabytes at `max_keys`).
enum CallCount {
    /// Boxed, so that a keyed instance does not carry its size.
    Sharded(Box<ShardedCounter>),
    Plain(AtomicU64),
}

impl CallCount {
    #[inline]
    fn add_one(&self) {
        match self {
            CallCount::Sharded(shards) => shards.add(1),
            CallCount::Plain(count) => {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn sum(&self) -> u64 {
        match self {
            CallCount::Sharded(shards) => shards.sum(),
            CallCount::Plain(count) => count.load(Ordering::Relaxed),
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
}

/// The outcomes of the current epoch's half-open trials.
#[derive(Default)]
struct Trials {
    done: u32,
    failures: u32,
    slow: u32,
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
    breaker: BreakerRef,
    epoch: u64,
    started: Option<Instant>,
    done: bool,
}

impl Drop for TrialPermit {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.release_trial(self.epoch);
        }
    }
}

/// The breaker a trial permit gives its place back to: a named breaker
/// (leaked, `'static`) or a keyed instance (reference-counted, so that an
/// evicted instance lives as long as a call still holds it).
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
            key,
            settings,
            word: AtomicU64::new(Word::new(0, BreakerState::Closed, 0).0),
            origin: crate::clock::now(),
            changed_at: AtomicU64::new(0),
            window: OutcomeWindow::new(settings.window),
            transition: Mutex::new(Trials::default()),
            // Keyed instances are many (up to `max_keys` per name): a plain
            // counter each, not a kilobyte of per-thread shards.
            calls: if keyed {
                CallCount::Plain(AtomicU64::new(0))
            } else {
                CallCount::Sharded(Box::default())
            },
            failures: AtomicU64::new(0),
            slow_calls: AtomicU64::new(0),
            not_permitted: AtomicU64::new(0),
        }
    }

    pub(crate) fn settings(&self) -> &BreakerSettings {
        &self.settings
    }

    /// The key of a keyed instance.
    pub(crate) fn key(&self) -> Option<&Arc<str>> {
        self.key.as_ref()
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

    /// Time since `origin`, now.
    fn elapsed(&self) -> Duration {
        crate::clock::now().saturating_duration_since(self.origin)
    }

    /// How long the breaker has been in its current state.
    fn time_in_state(&self) -> Duration {
        self.elapsed().saturating_sub(Duration::from_nanos(
            self.changed_at.load(Ordering::Acquire),
        ))
    }

    /// When an attempt starts, if slow calls are timed at all (a clock read
    /// costs more than the rest of the breaker's success path). `now`, when
    /// the caller already read the clock in the same poll, saves a read.
    #[inline]
    fn start_timing(&self, now: Option<Instant>) -> Option<Instant> {
        (self.settings.slow_call_duration != BreakerSettings::NO_SLOW_CALLS)
            .then(|| now.unwrap_or_else(crate::clock::now))
    }

    /// Whether an attempt that started at `started` was slow.
    #[inline]
    fn is_slow(&self, started: Option<Instant>) -> bool {
        started.is_some_and(|started| {
            crate::clock::now().saturating_duration_since(started)
                >= self.settings.slow_call_duration
        })
    }

    /// Asks to make one attempt: a permit, or `None` when the breaker rejects it.
    /// `now` is the current time if the caller has just read it (with no await
    /// since), so that timing the attempt needs no second read.
    #[inline]
    pub(crate) fn acquire(&'static self, now: Option<Instant>) -> Option<Permit> {
        self.acquire_as(now, || BreakerRef::Static(self))
    }

    /// [`acquire`](Self::acquire) for a keyed instance: a trial permit holds
    /// a reference count on it.
    #[inline]
    pub(crate) fn acquire_keyed(self: &Arc<Self>, now: Option<Instant>) -> Option<Permit> {
        self.acquire_as(now, || BreakerRef::Keyed(Arc::clone(self)))
    }

    /// The closed path is one atomic load; `this` is called only for a trial permit.
    #[inline]
    fn acquire_as(
        &self,
        now: Option<Instant>,
        this: impl FnOnce() -> BreakerRef,
    ) -> Option<Permit> {
        let word = self.word();
        match word.state() {
            BreakerState::Closed => Some(Permit::Closed {
                epoch: word.epoch(),
                started: self.start_timing(now),
            }),
            BreakerState::Disabled => Some(Permit::Disabled),
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
                        started: self.start_timing(now),
                    });
                }
                BreakerState::Disabled => return Some(Permit::Disabled),
                BreakerState::Open => {
                    if self.time_in_state() < self.settings.open_duration {
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
                                    started: self.start_timing(now),
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
    /// letting calls through (closed, disabled, half-open, or open with its
    /// `open_duration` over by then). Decided before sleeping, so that a call
    /// whose own failure opened the breaker gives up at once.
    pub(crate) fn admits_after(&self, delay: Duration) -> bool {
        match self.state() {
            BreakerState::Closed | BreakerState::Disabled | BreakerState::HalfOpen => true,
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
            BreakerState::Open => self.time_in_state() >= self.settings.open_duration,
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
                let bits = bits(outcome, slow);
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
        self.set_locked(&mut trials, to, None);
    }

    /// Enters `to` in a new epoch, with fresh counts. Caller holds `transition`.
    /// One store publishes the state and the epoch together, with no trial
    /// admitted: no acquire can pair the new epoch with the old state.
    fn set_locked(&self, trials: &mut Trials, to: BreakerState, why: Option<Why>) {
        let old = self.word();
        let from = old.state();
        *trials = Trials::default();
        if matches!(to, BreakerState::Closed | BreakerState::Disabled) {
            self.window.clear();
        }
        self.changed_at.store(
            u64::try_from(self.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Release,
        );
        self.word
            .store(Word::new(old.epoch() + 1, to, 0).0, Ordering::Release);
        crate::metrics::breaker_state(&self.name, self.key.as_deref(), to);
        if from == to {
            // A reset of a closed breaker, say: counts start afresh, but there
            // is no transition to report.
            return;
        }
        match why {
            Some(Why::TrialsHung(wait)) => tracing::warn!(
                breaker = %self.name, key = self.key.as_deref(), from = %from, to = %to,
                max_half_open_wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "circuit breaker {} {} → {}: trial calls did not report within max_half_open_wait ({:?})",
                self.label(), from, to, wait
            ),
            Some(Why::Rate(rate, value)) => tracing::warn!(
                breaker = %self.name, key = self.key.as_deref(), from = %from, to = %to, rate, value,
                "circuit breaker {} {} → {}: {} {:.2} reached its threshold",
                self.label(), from, to, rate, value
            ),
            None => tracing::info!(
                breaker = %self.name, key = self.key.as_deref(), from = %from, to = %to,
                "circuit breaker {} {} → {}", self.label(), from, to
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
            origin: crate::clock::now(),
            bucket_len,
            buckets: (0..count).map(|_| Bucket::default()).collect(),
        }
    }

    fn now_number(&self) -> u64 {
        let elapsed = crate::clock::now().saturating_duration_since(self.origin);
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

/// A breaker as events name it: `` `s3` ``, or `` `hosts` key `a.example` ``.
struct Label<'b>(&'b Breaker);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.0.name)?;
        if let Some(key) = &self.0.key {
            write!(f, " key `{key}`")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.name)
            .field("key", &self.key)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}
