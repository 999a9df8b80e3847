//! The attempt controller: the retry loop's brain, driven by code that `#[retryable]` generates.
//!
//! The generated loop owns the attempts (each one a fresh async block that borrows
//! the function's arguments); the controller decides, after each one, whether to
//! return or to sleep and go again. See `examples/expanded.rs`.

use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use super::attempt::{Attempt, Running};
use crate::breaker::keyed::Instance;
use crate::breaker::{Breaker, Outcome, Permit};
pub use crate::classify::Verdict;
use crate::registry::{CallSite, Resolved};
use crate::{Class, Nested, Rejected};

/// The state of one call to a `#[retryable]` function.
#[doc(hidden)]
pub struct Controller {
    pub(super) site: &'static CallSite,
    /// The site's policy, breaker and budget as they were when the call started:
    /// an `install` during the call does not change them.
    pub(super) resolved: &'static Resolved,
    /// Attempts started so far.
    pub(super) attempts: u32,
    /// When the call started; read only when the policy has a deadline, and
    /// then lazily for an async call: its clock starts when its first attempt
    /// first waits (see [`InAttempt`]), or at its first failure if that
    /// attempt never waited, so that a call whose first attempt answers at
    /// once reads no clock. A sync call, and any call on a thread that a
    /// [`ManualClock`](crate::ManualClock) drives, reads it as it starts. On
    /// a paused tokio clock the three are the same instant.
    pub(super) started: Option<Instant>,
    /// The backoff delay (before jitter) of the previous retry.
    previous_delay: Duration,
    /// The breaker's permission for the next attempt, taken after the backoff sleep.
    pub(super) permit: Option<Permit>,
    /// The call runs inside another call's attempt under `nested = "single"`:
    /// one attempt, the outer call retries.
    pub(super) single: bool,
    /// The call's keyed breaker instance (`breaker_key`), used instead of the
    /// named breaker, as long as eviction has not given it to another key.
    keyed: Option<Instance>,
}

/// Why a call stopped retrying and returned an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GiveUp {
    Permanent,
    Attempts,
    Deadline,
    Budget,
    Breaker,
    Nested,
    RetryAfterTooLong,
    NotIdempotent,
}

impl GiveUp {
    fn as_str(self) -> &'static str {
        match self {
            GiveUp::Permanent => "permanent error",
            GiveUp::Attempts => "attempts exhausted",
            GiveUp::Deadline => "deadline",
            GiveUp::Budget => "retry budget exhausted",
            GiveUp::Breaker => "circuit breaker open",
            GiveUp::Nested => "nested: the outer call retries",
            GiveUp::RetryAfterTooLong => "retry-after too long",
            GiveUp::NotIdempotent => "not idempotent",
        }
    }
}

/// Whether a call starting now runs inside another call's attempt: an
/// attempt is being polled on this thread, in this task. Nesting is a
/// property of the task, not of the thread: a task spawned inside an attempt
/// may be polled on its thread, within its poll (a `LocalSet` driven by
/// `run_until`, `block_on(tokio::spawn(..))` on a current-thread runtime),
/// and is not nested. Reads one thread-local on the common path (no attempt
/// running); asks tokio for the task only when one is.
#[inline]
fn inside_an_attempt() -> bool {
    super::attempt::current_task().is_some_and(|task| task == tokio::task::try_id())
}

/// An attempt future, polled as the current attempt: a `#[retryable]`
/// call awaited in it (polled on the same task, so on the same thread, within
/// this poll) sees that it is nested. A spawned task is another task, polled
/// elsewhere or, on this thread, with another task id.
/// Each poll also enters the attempt's span and sets [`current_attempt`](crate::current_attempt).
///
/// It also times the attempt for its breaker's slow-call rule from its first
/// wait, not from its start: an attempt that answers at its first poll (a
/// cache, a ready channel, a success that did no I/O) reads no clock at all,
/// and one that waits pays the same two reads as before, the first when it
/// first returns `Pending`. The time of that first poll, until the attempt
/// first waits, is not counted: microseconds of CPU, unless the attempt
/// blocks its thread, which an async attempt must not do. On a paused tokio
/// clock time moves only while the attempt waits, so the measure is exact.
struct InAttempt<'a, F> {
    attempt: Pin<&'a mut F>,
    running: Running,
    first_wait: FirstWait<'a>,
}

/// What an attempt's first wait stamps with the clock: the breaker's permit,
/// if it times the attempt from there, and the call's start, if the policy
/// has a deadline and the call's clock has not started (see
/// [`Controller::started`]).
struct FirstWait<'a> {
    permit: Option<&'a mut Permit>,
    call: Option<&'a mut Option<Instant>>,
}

impl FirstWait<'_> {
    /// The attempt returned `Pending`: one clock read, if anything waits for it.
    #[inline]
    fn stamp(&mut self) {
        if self.permit.is_none() && self.call.is_none() {
            return;
        }
        let now = crate::clock::now();
        if let Some(permit) = self.permit.take() {
            permit.waited_from(now);
        }
        if let Some(call) = self.call.take() {
            *call = Some(now);
        }
    }
}

impl<F: Future> Future for InAttempt<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let poll = poll_in_attempt(this.attempt.as_mut(), &this.running, cx);
        if poll.is_pending() {
            this.first_wait.stamp();
        }
        poll
    }
}

/// Polls an attempt as the current attempt (nested-call detection) and in its span, with
/// [`current_attempt`](crate::current_attempt) set (hedged attempts too).
#[inline(always)]
pub(super) fn poll_in_attempt<F: Future>(
    attempt: Pin<&mut F>,
    running: &Running,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    let _entered = running.enter();
    attempt.poll(cx)
}

impl Controller {
    /// Starts a call: takes the call site's cached settings, deposits into its
    /// budget and notes whether it runs inside another call's attempt. It
    /// reads the clock only if the policy has a deadline and a
    /// [`ManualClock`](crate::ManualClock) drives this thread (see
    /// [`started`](Self::started)).
    #[inline(always)]
    #[must_use]
    pub fn start(site: &'static CallSite) -> Self {
        let resolved = site.resolve();
        resolved.budget.deposit();
        let nested = inside_an_attempt();
        Controller {
            site,
            resolved,
            attempts: 0,
            started: (resolved.policy.max_elapsed.is_some() && crate::clock::manual_in_use())
                .then(crate::clock::now),
            previous_delay: Duration::ZERO,
            permit: None,
            single: nested && resolved.policy.nested == Nested::Single,
            keyed: None,
        }
    }

    /// [`start`](Self::start) for a call with a `breaker_key`: the call uses
    /// the instance of its breaker for `key` (created on first use).
    #[inline]
    #[must_use]
    pub(crate) fn start_keyed<K: crate::breaker::lookup::LookupKey + ?Sized>(
        site: &'static CallSite,
        key: &K,
    ) -> Self {
        let mut controller = Controller::start(site);
        controller.keyed = controller.resolved.keyed.map(|k| k.get(key));
        controller
    }

    /// A permit from the call's breaker: `None` without a breaker, `Some(None)`
    /// refused. `first_wait`: the attempt is async and timed from its first
    /// wait (see [`InAttempt`]).
    #[inline]
    pub(super) fn acquire(&self, now: Option<Instant>, first_wait: bool) -> Option<Option<Permit>> {
        match &self.keyed {
            None => self.resolved.breaker.map(|b| b.acquire(now, first_wait)),
            Some(keyed) => Some(keyed.acquire(now, first_wait)),
        }
    }

    /// The call's breaker: its keyed instance, or the named breaker.
    #[inline]
    pub(super) fn breaker(&self) -> Option<&Breaker> {
        match &self.keyed {
            None => self.resolved.breaker,
            Some(keyed) => keyed.breaker(),
        }
    }

    /// Before an attempt: counts it and, for the first, asks the breaker (a
    /// retry's permit was taken after its backoff sleep). `Err` when the
    /// breaker refuses the call. `first_wait`: see [`acquire`](Self::acquire).
    #[inline(always)]
    pub(super) fn admit(&mut self, first_wait: bool) -> Result<(), Rejected> {
        self.attempts += 1;
        self.resolved.metrics.attempt();
        // The permit lives in the controller, not across the await as a local:
        // a dropped call drops it with the controller.
        if self.attempts == 1 {
            // `started`, if read, was read in this same poll: the breaker can
            // time the attempt from it.
            let now = self.started;
            match self.acquire(now, first_wait) {
                None => {}
                Some(Some(permit)) => self.permit = Some(permit),
                Some(None) => return Err(self.refused()),
            }
        }
        Ok(())
    }

    /// Whether an attempt started after `wait` could end past the policy's
    /// deadline (`max_elapsed`): with an `attempt_timeout`, the attempt must
    /// fit whole. Starts the call's clock if it has not started (see
    /// [`started`](Self::started)). `false` without a deadline.
    pub(super) fn past_deadline_after(&mut self, wait: Duration) -> bool {
        let policy = &self.resolved.policy;
        let Some(limit) = policy.max_elapsed else {
            return false;
        };
        let now = crate::clock::now();
        now.saturating_duration_since(*self.started.get_or_insert(now))
            .saturating_add(wait)
            .saturating_add(policy.attempt_timeout.unwrap_or(Duration::ZERO))
            > limit
    }

    /// The breaker refused the first attempt: counts it, says so (a storm of
    /// rejections: one `DEBUG` per interval, the rest at `TRACE`) and names
    /// the breaker and key that refused. Out of line: `admit` stays small
    /// enough to inline into every call's future.
    #[cold]
    #[inline(never)]
    fn refused(&self) -> Rejected {
        let breaker = self.site.breaker().unwrap_or_default();
        self.resolved.metrics.rejected();
        let key = self.keyed.as_ref().and_then(Instance::key);
        match self.site.quiet().rejections.note() {
            Some(repeated) => tracing::debug!(
                call_site = self.site.name(),
                breaker,
                key = key.as_deref(),
                repeated,
                "circuit breaker open: call rejected"
            ),
            None => tracing::trace!(
                call_site = self.site.name(),
                breaker,
                key = key.as_deref(),
                "circuit breaker open: call rejected (repeated)"
            ),
        }
        Rejected::BreakerOpen { breaker, key }
    }

    /// Runs one attempt (under the breaker and the attempt timeout), then
    /// decides: `Break` with the value to return, or `Continue` with the
    /// [`Retry`] to make after [`pause`](Self::pause).
    ///
    /// The generated loop drops the attempt future as soon as this returns, so
    /// whatever the attempt held (a connection, a lock guard, the `&mut self`
    /// borrow) is released before the backoff sleep, not after it.
    ///
    /// `classify` is only called on errors that did not come from the framework
    /// itself; `reject` turns the framework's refusals into the caller's error
    /// type; `describe` shows an error in events, if its type is `Debug`.
    pub async fn attempt<F, E, C, K, R, D>(
        &mut self,
        attempt: Pin<&mut F>,
        classify: C,
        reject: R,
        describe: D,
    ) -> ControlFlow<F::Output, Retry<E>>
    where
        F: Future,
        F::Output: ReturnsResult<Err = E>,
        C: FnOnce(&E) -> K,
        K: Into<Verdict>,
        R: FnOnce(Rejected) -> E,
        D: for<'e> Fn(&'e E) -> Shown<'e>,
    {
        if let Err(refused) = self.admit(true) {
            // A refusal does no I/O, so it would never yield: spend the task's
            // cooperative budget like any resource, or a loop of refused calls
            // starves the runtime.
            tokio::task::coop::consume_budget().await;
            return ControlFlow::Break(F::Output::from_err(reject(refused)));
        }
        let running = Running::new(self.site.name(), Attempt::new(self.attempts, false));
        let deadline = self.resolved.policy.max_elapsed.is_some();
        let attempt = InAttempt {
            attempt,
            running,
            first_wait: FirstWait {
                permit: self.permit.as_mut().filter(|p| p.times_first_wait()),
                call: if deadline && self.started.is_none() {
                    Some(&mut self.started)
                } else {
                    None
                },
            },
        };
        let outcome = match self.resolved.policy.attempt_timeout {
            None => attempt.await.into_result(),
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(output) => output.into_result(),
                Err(_elapsed) => {
                    let rejected = Rejected::AttemptTimeout {
                        attempt: self.attempts,
                        timeout: limit,
                    };
                    return self.failed(reject(rejected), Class::Transient.into(), describe);
                }
            },
        };
        match outcome {
            Ok(value) => self.succeeded(value),
            Err(error) => {
                let verdict = classify(&error).into();
                self.failed(error, verdict, describe)
            }
        }
    }

    /// [`attempt`](Self::attempt) for a sync function: runs `attempt` on this
    /// thread, under the breaker. Sync attempts have no timeout (an `install`
    /// that gives a sync call site's policy one is refused).
    pub fn attempt_sync<O, E, C, K, R, D>(
        &mut self,
        attempt: impl FnOnce() -> O,
        classify: C,
        reject: R,
        describe: D,
    ) -> ControlFlow<O, Retry<E>>
    where
        O: ReturnsResult<Err = E>,
        C: FnOnce(&E) -> K,
        K: Into<Verdict>,
        R: FnOnce(Rejected) -> E,
        D: for<'e> Fn(&'e E) -> Shown<'e>,
    {
        // A sync call's clock starts as it does (its attempt blocks: there
        // is no first wait to start it later).
        if self.attempts == 0
            && self.resolved.policy.max_elapsed.is_some()
            && self.started.is_none()
        {
            self.started = Some(crate::clock::now());
        }
        if let Err(refused) = self.admit(false) {
            return ControlFlow::Break(O::from_err(reject(refused)));
        }
        let outcome = {
            let running = Running::new(self.site.name(), Attempt::new(self.attempts, false));
            let _entered = running.enter();
            attempt()
        };
        match outcome.into_result() {
            Ok(value) => self.succeeded(value),
            Err(error) => {
                let verdict = classify(&error).into();
                self.failed(error, verdict, describe)
            }
        }
    }

    #[inline]
    pub(super) fn succeeded<O: ReturnsResult, X>(&mut self, value: O::Ok) -> ControlFlow<O, X> {
        self.record(None);
        self.resolved.metrics.ok();
        ControlFlow::Break(O::from_ok(value))
    }

    /// After a failed attempt: records it, then decides between a retry (with
    /// its delay) and giving up.
    pub(super) fn failed<O, E, D>(
        &mut self,
        error: E,
        verdict: Verdict,
        describe: D,
    ) -> ControlFlow<O, Retry<E>>
    where
        O: ReturnsResult<Err = E>,
        D: for<'e> Fn(&'e E) -> Shown<'e>,
    {
        self.record(Some(verdict));
        let Verdict {
            class, replay_safe, ..
        } = verdict;
        // The error knows the attempt may have had its effect (a POST that
        // reached the server): repeat it only if the author said it is safe.
        if !replay_safe && class != Class::Permanent && !self.site.idempotent() {
            return self.give_up(GiveUp::NotIdempotent, class, error, describe);
        }
        match self.next_delay(class) {
            Ok(delay) => {
                tracing::info!(
                    call_site = self.site.name(),
                    attempt = self.attempts,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    class = ?class,
                    error = %describe(&error),
                    "attempt failed; retrying",
                );
                ControlFlow::Continue(Retry {
                    error,
                    class,
                    delay,
                })
            }
            Err(reason) => self.give_up(reason, class, error, describe),
        }
    }

    /// Sleeps the backoff delay of `retry`, then asks the breaker and the
    /// budget for the next attempt: `Continue` to make it, or `Break` with the
    /// last real error when either refuses.
    pub async fn pause<O, E, D>(&mut self, retry: Retry<E>, describe: D) -> ControlFlow<O>
    where
        O: ReturnsResult<Err = E>,
        D: for<'e> Fn(&'e E) -> Shown<'e>,
    {
        tokio::time::sleep(retry.delay).await;
        self.readmit(retry, describe, true)
    }

    /// [`pause`](Self::pause) for a sync function: the sleep blocks the thread
    /// (or advances its [`ManualClock`](crate::ManualClock)).
    pub fn pause_sync<O, E, D>(&mut self, retry: Retry<E>, describe: D) -> ControlFlow<O>
    where
        O: ReturnsResult<Err = E>,
        D: for<'e> Fn(&'e E) -> Shown<'e>,
    {
        crate::clock::sleep_blocking(retry.delay);
        self.readmit(retry, describe, false)
    }

    /// After the backoff sleep, as the retry is sent: the breaker is
    /// consulted (before every attempt), then the retry is withdrawn from the
    /// budget. Either refusing returns the last real error; a budget that
    /// others emptied during the sleep refuses here, after it (the check
    /// before the sleep cannot reserve a token without spending it for a call
    /// that may be dropped while it sleeps). `first_wait`: see
    /// [`acquire`](Self::acquire).
    fn readmit<O, E, D>(&mut self, retry: Retry<E>, describe: D, first_wait: bool) -> ControlFlow<O>
    where
        O: ReturnsResult<Err = E>,
        D: for<'e> Fn(&'e E) -> Shown<'e>,
    {
        let permit = match self.acquire(None, first_wait) {
            None => None,
            Some(Some(permit)) => Some(permit),
            Some(None) => {
                self.resolved.metrics.breaker_rejection();
                return self.give_up(GiveUp::Breaker, retry.class, retry.error, describe);
            }
        };
        let budget = &self.resolved.budget;
        let granted = budget.try_withdraw();
        crate::ops::events::budget_withdrawal(budget, self.site.budget(), granted);
        if !granted {
            // The permit is dropped unused: a half-open trial's place is given back.
            drop(permit);
            self.resolved.metrics.budget_exhausted(budget);
            return self.give_up(GiveUp::Budget, retry.class, retry.error, describe);
        }
        self.resolved.metrics.retry(budget);
        self.permit = permit;
        ControlFlow::Continue(())
    }

    /// Returns `error`, with an event saying why retrying stopped. A permanent
    /// error on the first attempt is an ordinary answer: no event. A nested
    /// call's single attempt gets a `DEBUG` event (its outer call retries).
    fn give_up<O, D, X>(
        &self,
        reason: GiveUp,
        class: Class,
        error: O::Err,
        describe: D,
    ) -> ControlFlow<O, X>
    where
        O: ReturnsResult,
        D: for<'e> Fn(&'e O::Err) -> Shown<'e>,
    {
        self.resolved.metrics.error();
        if reason == GiveUp::Nested {
            // Not a give-up of the whole operation: the outer call decides.
            tracing::debug!(
                call_site = self.site.name(),
                nested = true,
                reason = reason.as_str(),
                class = ?class,
                error = %describe(&error),
                "nested call: single attempt failed; the outer call retries",
            );
        } else if reason != GiveUp::Permanent || self.attempts > 1 {
            // A storm of give-ups: one WARN per call site per interval, which
            // counts the ones in between; those go out at DEBUG.
            match self.site.quiet().give_ups.note() {
                Some(0) => tracing::warn!(
                    call_site = self.site.name(),
                    attempts = self.attempts,
                    reason = reason.as_str(),
                    class = ?class,
                    error = %describe(&error),
                    "giving up",
                ),
                Some(repeated) => tracing::warn!(
                    call_site = self.site.name(),
                    attempts = self.attempts,
                    reason = reason.as_str(),
                    class = ?class,
                    error = %describe(&error),
                    repeated,
                    "giving up (and {repeated} more times since this call site's last warning, logged at DEBUG)",
                ),
                None => tracing::debug!(
                    call_site = self.site.name(),
                    attempts = self.attempts,
                    reason = reason.as_str(),
                    class = ?class,
                    error = %describe(&error),
                    "giving up (repeated; counted in this call site's next warning)",
                ),
            }
        }
        ControlFlow::Break(O::from_err(error))
    }

    /// Records an attempt's outcome with the breaker: `None` for a success,
    /// else the error's verdict.
    #[inline]
    pub(super) fn record(&mut self, error: Option<Verdict>) {
        if let Some(permit) = self.permit.take()
            && let Some(breaker) = self.breaker()
        {
            breaker.record(permit, Outcome::of(error, breaker.settings()));
        }
    }

    /// The delay before the next attempt, or why there is none.
    fn next_delay(&mut self, class: Class) -> Result<Duration, GiveUp> {
        let policy = self.resolved.policy;
        if class == Class::Permanent {
            return Err(GiveUp::Permanent);
        }
        if self.single {
            return Err(GiveUp::Nested);
        }
        if self.attempts >= policy.max_attempts {
            return Err(GiveUp::Attempts);
        }
        if let (Class::RetryAfter(hint), Some(max)) = (class, policy.max_retry_after)
            && hint > max
        {
            return Err(GiveUp::RetryAfterTooLong);
        }
        let (delay, backoff) = match class {
            Class::RetryAfter(delay) => (delay, self.previous_delay),
            _ => {
                let mut rng = rand::rng();
                let backoff = policy.backoff_delay(self.attempts, self.previous_delay, &mut rng);
                (policy.apply_jitter(backoff, &mut rng), backoff)
            }
        };
        // No sleep, and no attempt whose timeout is known, may end past the
        // deadline: with an `attempt_timeout`, the next attempt must fit whole.
        if self.past_deadline_after(delay) {
            return Err(GiveUp::Deadline);
        }
        // A breaker that will still be open when the sleep ends would refuse
        // the retry: give up now (this attempt's own failure may have opened it).
        if let Some(breaker) = self.breaker()
            && !breaker.admits_after(delay)
        {
            self.resolved.metrics.breaker_rejection();
            return Err(GiveUp::Breaker);
        }
        // An empty budget gives up now rather than after the sleep. The token
        // is taken only when the retry is sent (`readmit`): a call dropped
        // during its sleep spends nothing, and the budget's bound holds for
        // retries as the service receives them.
        let budget = &self.resolved.budget;
        if !budget.holds_a_retry() {
            // A refusal before the sleep starts (or prolongs) a dry spell; the
            // grant that ends one is the withdrawal when a retry is sent.
            crate::ops::events::budget_withdrawal(budget, self.site.budget(), false);
            self.resolved.metrics.budget_exhausted(budget);
            return Err(GiveUp::Budget);
        }
        self.previous_delay = backoff;
        Ok(delay)
    }
}

/// A retry decided by [`Controller::attempt`]: the error it answers, and the
/// backoff delay to sleep in [`Controller::pause`] first.
#[doc(hidden)]
pub struct Retry<E> {
    error: E,
    class: Class,
    delay: Duration,
}

/// Implemented by `Result` alone: the return type of a `#[retryable]` function.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[retryable]` functions must return a `Result`, not `{Self}`",
    label = "this returns `{Self}`, so the retry loop cannot tell a failure from a success",
    note = "return `Result<_, E>` (or an alias of it such as `std::io::Result<_>`) where `E` says which failures are transient"
)]
pub trait ReturnsResult {
    type Ok;
    type Err;
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
    fn from_ok(value: Self::Ok) -> Self;
    fn from_err(error: Self::Err) -> Self;
}

impl<T, E> ReturnsResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    #[inline]
    fn into_result(self) -> Result<T, E> {
        self
    }
    #[inline]
    fn from_ok(value: T) -> Self {
        Ok(value)
    }
    #[inline]
    fn from_err(error: E) -> Self {
        Err(error)
    }
}

/// `E: From<Rejected>`, with a message written for `#[retryable]` users.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[retryable]` needs `{Self}: From<retry_runtime::Rejected>`",
    label = "the framework reports attempt timeouts and open breakers as `{Self}`, but cannot build one",
    note = "for an error type of yours, add `impl From<retry_runtime::Rejected> for {Self}` (for example a \
            `Refused(#[from] retry_runtime::Rejected)` variant with thiserror)",
    note = "another crate's error type cannot have that impl (the orphan rule): for `reqwest::Error` return \
            `retry_runtime::reqwest::Error` (feature `reqwest`), which `?` converts to; `anyhow::Error` needs only the \
            feature `anyhow`, `tonic::Status` the feature `tonic`; wrap any other in an enum of yours with \
            `#[derive(Classify)]`, a `#[classify(transparent)] Inner(#[from] TheirError)` variant and a `Rejected` one"
)]
pub trait FromRejected {
    fn from_rejected(rejected: Rejected) -> Self;
}

impl<E: From<Rejected>> FromRejected for E {
    #[inline]
    fn from_rejected(rejected: Rejected) -> Self {
        E::from(rejected)
    }
}

/// By-value arguments are cloned for every attempt.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[retryable]` cannot re-supply `{Self}` to a second attempt: it is not `Clone`",
    label = "each attempt gets its own clone of this by-value argument, so it must be `Clone`",
    note = "derive or implement `Clone` for `{Self}` if it is your type",
    note = "for another crate's type, pass cloneable parts (such as `Bytes` or a `String`) and build the `{Self}` inside the body, or, if the body only borrows it, take `&{Self}` or `Arc<{Self}>` (`&self` or `self: Arc<Self>` for a receiver)"
)]
pub trait CloneArg: Sized {
    fn clone_for_attempt(&self) -> Self;
}

impl<T: Clone> CloneArg for T {
    #[inline]
    fn clone_for_attempt(&self) -> Self {
        self.clone()
    }
}

/// The classification of errors when no `retry_if` is given.
#[doc(hidden)]
#[inline]
pub fn classify<E: crate::Classify + ?Sized>(error: &E) -> Verdict {
    let class = error.classify();
    Verdict {
        class,
        replay_safe: error.replay_safe(),
        // Asked only where it changes something: the breaker's count of a hint.
        outage: matches!(class, Class::RetryAfter(_)) && error.is_outage(),
    }
}

/// The classification of errors under `retry_if = predicate`.
#[doc(hidden)]
#[inline]
pub fn retry_if<E: ?Sized>(error: &E, predicate: impl FnOnce(&E) -> bool) -> Class {
    if predicate(error) {
        Class::Transient
    } else {
        Class::Permanent
    }
}

/// An error as events show it (their `error` field): its `Display` in the
/// alternate form (`{:#}`: one line, with the cause chain for `anyhow`), else
/// its `Debug` for types without `Display`, else a placeholder. Never a
/// multi-line `Debug` (with a backtrace) of a type that has a `Display`.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum Shown<'e> {
    Display(&'e dyn fmt::Display),
    Debug(&'e dyn fmt::Debug),
    Neither,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Display(error) => write!(f, "{error:#}"),
            Shown::Debug(error) => write!(f, "{error:?}"),
            Shown::Neither => f.write_str("<error type is neither Display nor Debug>"),
        }
    }
}

/// Autoref specialization: `(&&Describe(e)).describe()` is the error's
/// `Display` when its type has one (impl on `&Describe`, reached first),
/// else its `Debug` (impl on `&&Describe`, one autoref later), else
/// [`Shown::Neither`] (impl on `Describe`, after a deref).
#[doc(hidden)]
pub struct Describe<'e, E: ?Sized>(pub &'e E);

#[doc(hidden)]
pub trait DescribeDisplay<'e> {
    fn describe(&self) -> Shown<'e>;
}

impl<'e, E: fmt::Display> DescribeDisplay<'e> for &Describe<'e, E> {
    #[inline]
    fn describe(&self) -> Shown<'e> {
        Shown::Display(self.0)
    }
}

#[doc(hidden)]
pub trait DescribeDebug<'e> {
    fn describe(&self) -> Shown<'e>;
}

impl<'e, E: fmt::Debug> DescribeDebug<'e> for &&Describe<'e, E> {
    #[inline]
    fn describe(&self) -> Shown<'e> {
        Shown::Debug(self.0)
    }
}

#[doc(hidden)]
pub trait DescribeOpaque<'e> {
    fn describe(&self) -> Shown<'e>;
}

impl<'e, E: ?Sized> DescribeOpaque<'e> for Describe<'e, E> {
    #[inline]
    fn describe(&self) -> Shown<'e> {
        Shown::Neither
    }
}
