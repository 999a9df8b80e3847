//! The attempt controller: the retry loop's brain, driven by code that `#[retryable]` generates.
//!
//! The generated loop owns the attempts (each one a fresh async block that borrows
//! the function's arguments); the controller decides, after each one, whether to
//! return or to sleep and go again. See `examples/expanded.rs`.

use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::time::Duration;

use tokio::time::Instant;

use crate::breaker::{Outcome, Permit};
use crate::registry::{CallSite, Resolved};
use crate::{Class, Rejected};

/// The state of one call to a `#[retryable]` function.
#[doc(hidden)]
pub struct Controller {
    site: &'static CallSite,
    /// The site's policy, breaker and budget as they were when the call started:
    /// an `install` during the call does not change them.
    resolved: &'static Resolved,
    /// Attempts started so far.
    attempts: u32,
    /// When the call started; read only when the policy has a deadline.
    started: Option<Instant>,
    /// The backoff delay (before jitter) of the previous retry.
    previous_delay: Duration,
    /// The breaker's permission for the next attempt, taken after the backoff sleep.
    permit: Option<Permit>,
}

/// Why a call stopped retrying and returned an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GiveUp {
    Permanent,
    Attempts,
    Deadline,
    Budget,
    Breaker,
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
            GiveUp::RetryAfterTooLong => "retry-after too long",
            GiveUp::NotIdempotent => "not idempotent",
        }
    }
}

impl Controller {
    /// Starts a call: takes the call site's cached settings, deposits into its
    /// budget, and reads the clock only if the policy has a deadline.
    #[inline]
    #[must_use]
    pub fn start(site: &'static CallSite) -> Self {
        let resolved = site.resolve();
        resolved.budget.deposit();
        Controller {
            site,
            resolved,
            attempts: 0,
            started: resolved.policy.max_elapsed.is_some().then(Instant::now),
            previous_delay: Duration::ZERO,
            permit: None,
        }
    }

    /// Runs one attempt (under the breaker and the attempt timeout), then
    /// decides: `Break` with the value to return, or `Continue` after sleeping
    /// the backoff delay.
    ///
    /// `classify` is only called on errors that did not come from the framework
    /// itself; `reject` turns the framework's refusals into the caller's error
    /// type; `describe` shows an error in events, if its type is `Debug`.
    pub async fn attempt<F, E, C, K, R, D>(
        &mut self,
        attempt: std::pin::Pin<&mut F>,
        classify: C,
        reject: R,
        describe: D,
    ) -> ControlFlow<F::Output>
    where
        F: Future,
        F::Output: ReturnsResult<Err = E>,
        C: FnOnce(&E) -> K,
        K: Into<Verdict>,
        R: FnOnce(Rejected) -> E,
        D: for<'e> Fn(&'e E) -> Option<&'e dyn fmt::Debug>,
    {
        self.attempts += 1;
        self.resolved.metrics.attempt();
        // The permit lives in the controller, not across the await as a local:
        // a retry's permit was taken after its backoff sleep, and a dropped call
        // drops it with the controller.
        if self.attempts == 1 {
            // `started` was read (if the policy has a deadline) in this same poll:
            // the breaker can time the attempt from it.
            let now = self.started;
            match self.resolved.breaker.map(|b| b.acquire(now)) {
                None => {}
                Some(Some(permit)) => self.permit = Some(permit),
                Some(None) => {
                    let breaker = self.site.breaker().unwrap_or_default();
                    self.resolved.metrics.rejected();
                    tracing::debug!(
                        call_site = self.site.name(),
                        breaker,
                        "circuit breaker open: call rejected"
                    );
                    return ControlFlow::Break(F::Output::from_err(reject(
                        Rejected::BreakerOpen { breaker },
                    )));
                }
            }
        }

        let policy = &self.resolved.policy;
        let (error, Verdict { class, replay_safe }) = match policy.attempt_timeout {
            None => match attempt.await.into_result() {
                Ok(value) => {
                    self.record(Outcome::Success);
                    self.resolved.metrics.ok();
                    return ControlFlow::Break(F::Output::from_ok(value));
                }
                Err(error) => {
                    let verdict = classify(&error).into();
                    (error, verdict)
                }
            },
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(output) => match output.into_result() {
                    Ok(value) => {
                        self.record(Outcome::Success);
                        self.resolved.metrics.ok();
                        return ControlFlow::Break(F::Output::from_ok(value));
                    }
                    Err(error) => {
                        let verdict = classify(&error).into();
                        (error, verdict)
                    }
                },
                Err(_elapsed) => {
                    let rejected = Rejected::AttemptTimeout {
                        attempt: self.attempts,
                        timeout: limit,
                    };
                    (reject(rejected), Class::Transient.into())
                }
            },
        };
        let outcome = if class == Class::Permanent {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        self.record(outcome);
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
                    error = ?Shown(describe(&error)),
                    "attempt failed; retrying",
                );
                tokio::time::sleep(delay).await;
                // The breaker is consulted before every attempt; a refused retry
                // returns the last real error.
                match self.resolved.breaker.map(|b| b.acquire(None)) {
                    None => {}
                    Some(Some(permit)) => self.permit = Some(permit),
                    Some(None) => {
                        self.resolved.metrics.breaker_rejection();
                        return self.give_up(GiveUp::Breaker, class, error, describe);
                    }
                }
                ControlFlow::Continue(())
            }
            Err(reason) => self.give_up(reason, class, error, describe),
        }
    }

    /// Returns `error`, with an event saying why retrying stopped. A permanent
    /// error on the first attempt is an ordinary answer: no event.
    fn give_up<O, D>(
        &self,
        reason: GiveUp,
        class: Class,
        error: O::Err,
        describe: D,
    ) -> ControlFlow<O>
    where
        O: ReturnsResult,
        D: for<'e> Fn(&'e O::Err) -> Option<&'e dyn fmt::Debug>,
    {
        self.resolved.metrics.error();
        if reason != GiveUp::Permanent || self.attempts > 1 {
            tracing::warn!(
                call_site = self.site.name(),
                attempts = self.attempts,
                reason = reason.as_str(),
                class = ?class,
                error = ?Shown(describe(&error)),
                "giving up",
            );
        }
        ControlFlow::Break(O::from_err(error))
    }

    #[inline]
    fn record(&mut self, outcome: Outcome) {
        if let (Some(permit), Some(breaker)) = (self.permit.take(), &self.resolved.breaker) {
            breaker.record(permit, outcome);
        }
    }

    /// The delay before the next attempt, or why there is none.
    fn next_delay(&mut self, class: Class) -> Result<Duration, GiveUp> {
        let policy = self.resolved.policy;
        if class == Class::Permanent {
            return Err(GiveUp::Permanent);
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
        if let (Some(started), Some(limit)) = (self.started, policy.max_elapsed)
            && started
                .elapsed()
                .saturating_add(delay)
                .saturating_add(policy.attempt_timeout.unwrap_or(Duration::ZERO))
                > limit
        {
            return Err(GiveUp::Deadline);
        }
        let budget = &self.resolved.budget;
        if !budget.try_withdraw() {
            self.resolved.metrics.budget_exhausted(budget);
            return Err(GiveUp::Budget);
        }
        self.resolved.metrics.retry(budget);
        self.previous_delay = backoff;
        Ok(delay)
    }
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
    note = "derive or implement `Clone` for `{Self}`, or take the argument by reference (`&{Self}`, or `&self` for a receiver)"
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

/// An error's class, and whether its attempt may be repeated by a function not
/// marked `idempotent` ([`Classify::replay_safe`](crate::Classify::replay_safe)).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub class: Class,
    pub replay_safe: bool,
}

/// `retry_if` decides alone: its verdicts are always safe to replay.
impl From<Class> for Verdict {
    #[inline]
    fn from(class: Class) -> Self {
        Verdict {
            class,
            replay_safe: true,
        }
    }
}

/// The classification of errors when no `retry_if` is given.
#[doc(hidden)]
#[inline]
pub fn classify<E: crate::Classify + ?Sized>(error: &E) -> Verdict {
    Verdict {
        class: error.classify(),
        replay_safe: error.replay_safe(),
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

/// An error in an event: its `Debug` form, or a placeholder for types without one.
struct Shown<'e>(Option<&'e dyn fmt::Debug>);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(error) => error.fmt(f),
            None => f.write_str("<error type is not Debug>"),
        }
    }
}

/// Autoref specialization: `(&Describe(e)).describe()` is `Some(e)` when the
/// error type is `Debug` (the inherent-receiver impl wins), `None` otherwise.
#[doc(hidden)]
pub struct Describe<'e, E: ?Sized>(pub &'e E);

#[doc(hidden)]
pub trait DescribeDebug<'e> {
    fn describe(&self) -> Option<&'e dyn fmt::Debug>;
}

impl<'e, E: fmt::Debug> DescribeDebug<'e> for Describe<'e, E> {
    #[inline]
    fn describe(&self) -> Option<&'e dyn fmt::Debug> {
        Some(self.0)
    }
}

#[doc(hidden)]
pub trait DescribeOpaque<'e> {
    fn describe(&self) -> Option<&'e dyn fmt::Debug>;
}

impl<'e, E: ?Sized> DescribeOpaque<'e> for &Describe<'e, E> {
    #[inline]
    fn describe(&self) -> Option<&'e dyn fmt::Debug> {
        None
    }
}
