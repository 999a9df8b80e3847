//! The attempt controller: the retry loop's brain, driven by code that `#[retryable]` generates.
//!
//! The generated loop owns the attempts (each one a fresh async block that borrows
//! the function's arguments); the controller decides, after each one, whether to
//! return or to sleep and go again. See `examples/expanded.rs`.

use std::future::Future;
use std::ops::ControlFlow;
use std::time::Duration;

use tokio::time::Instant;

use crate::registry::CallSite;
use crate::{Class, Policy, Rejected};

/// The state of one call to a `#[retryable]` function.
#[doc(hidden)]
pub struct Controller {
    site: &'static CallSite,
    policy: Policy,
    /// Attempts started so far.
    attempts: u32,
    /// When the call started; read only when the policy has a deadline.
    started: Option<Instant>,
    /// The backoff delay (before jitter) of the previous retry.
    previous_delay: Duration,
}

/// Why a call stopped retrying and returned an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GiveUp {
    Permanent,
    Attempts,
    Deadline,
}

impl GiveUp {
    fn as_str(self) -> &'static str {
        match self {
            GiveUp::Permanent => "permanent error",
            GiveUp::Attempts => "attempts exhausted",
            GiveUp::Deadline => "deadline",
        }
    }
}

impl Controller {
    /// Starts a call: reads the call site's cached settings, and the clock if the
    /// policy has a deadline.
    #[inline]
    #[must_use]
    pub fn start(site: &'static CallSite) -> Self {
        let policy = site.current_policy();
        let started = policy.max_elapsed.map(|_| Instant::now());
        Controller {
            site,
            policy,
            attempts: 0,
            started,
            previous_delay: Duration::ZERO,
        }
    }

    /// Runs one attempt under the attempt timeout, then decides: `Break` with the
    /// value to return, or `Continue` after sleeping the backoff delay.
    ///
    /// `classify` is only called on errors that did not come from the framework
    /// itself; `reject` turns the framework's refusals into the caller's error type.
    pub async fn attempt<F, E, C, R>(
        &mut self,
        attempt: F,
        classify: C,
        reject: R,
    ) -> ControlFlow<F::Output>
    where
        F: Future,
        F::Output: ReturnsResult<Err = E>,
        C: FnOnce(&E) -> Class,
        R: FnOnce(Rejected) -> E,
    {
        self.attempts += 1;
        let (error, class) = match self.policy.attempt_timeout {
            None => match attempt.await.into_result() {
                Ok(value) => return ControlFlow::Break(F::Output::from_ok(value)),
                Err(error) => {
                    let class = classify(&error);
                    (error, class)
                }
            },
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(output) => match output.into_result() {
                    Ok(value) => return ControlFlow::Break(F::Output::from_ok(value)),
                    Err(error) => {
                        let class = classify(&error);
                        (error, class)
                    }
                },
                Err(_elapsed) => {
                    let rejected = Rejected::AttemptTimeout {
                        attempt: self.attempts,
                        timeout: limit,
                    };
                    (reject(rejected), Class::Transient)
                }
            },
        };
        match self.next_delay(class) {
            Ok(delay) => {
                tracing::debug!(
                    call_site = self.site.name(),
                    attempt = self.attempts,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    class = ?class,
                    "attempt failed; retrying",
                );
                tokio::time::sleep(delay).await;
                ControlFlow::Continue(())
            }
            Err(reason) => {
                if reason != GiveUp::Permanent || self.attempts > 1 {
                    tracing::warn!(
                        call_site = self.site.name(),
                        attempts = self.attempts,
                        reason = reason.as_str(),
                        class = ?class,
                        "giving up",
                    );
                }
                ControlFlow::Break(F::Output::from_err(error))
            }
        }
    }

    /// The delay before the next attempt, or why there is none.
    fn next_delay(&mut self, class: Class) -> Result<Duration, GiveUp> {
        if class == Class::Permanent {
            return Err(GiveUp::Permanent);
        }
        if self.attempts >= self.policy.max_attempts {
            return Err(GiveUp::Attempts);
        }
        let delay = match class {
            Class::RetryAfter(delay) => delay,
            _ => {
                let mut rng = rand::rng();
                let backoff =
                    self.policy
                        .backoff_delay(self.attempts, self.previous_delay, &mut rng);
                self.previous_delay = backoff;
                self.policy.apply_jitter(backoff, &mut rng)
            }
        };
        if let (Some(started), Some(limit)) = (self.started, self.policy.max_elapsed)
            && started.elapsed().saturating_add(delay) > limit
        {
            return Err(GiveUp::Deadline);
        }
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
    note = "add `impl From<retry_runtime::Rejected> for {Self}` (for example a `Rejected(retry_runtime::Rejected)` variant)"
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
    note = "derive or implement `Clone` for it, or take it by reference (`&{Self}`)"
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
pub fn classify<E: crate::Classify + ?Sized>(error: &E) -> Class {
    error.classify()
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
