//! Hedged calls (`#[retryable(hedge = "<name>", idempotent)]`, DESIGN §13):
//! the attempts of one round run at once, inside the call's own future.
//!
//! A round starts with one attempt, pinned in place in the call's future like
//! an unhedged attempt. If it is still running after the hedge delay, a hedge
//! starts beside it, and another after each further delay, up to `max_hedges`
//! hedges in flight. Attempts are polled in turn by one future (no task is
//! spawned, nothing needs `'static`); each is the generated attempt closure's
//! fresh future, which borrows the function's arguments.
//!
//! - The first success is returned at once; every other attempt in flight is
//!   dropped (cancelled) before `hedged` returns. A permanent error likewise.
//! - A transient failure (or an attempt timeout) while others are in flight
//!   is recorded with the breaker, and the call waits for the others. Its
//!   place in flight may go to another hedge one delay later (the timer is
//!   re-armed if it was idle), not at once as gRPC does: a fast failure is
//!   often a sign of overload, and an immediate replacement would turn the
//!   round into a retry loop without backoff. Its error is kept only if it
//!   turns out to be the last.
//! - When every attempt in flight has failed, the last failure goes to the
//!   retry loop as an unhedged attempt's would: backoff, breaker, budget, then
//!   a new round that may be hedged again.
//! - A hedge is an attempt: it counts toward `max_attempts`, takes its own
//!   breaker permit (refused: no hedge), is withdrawn from the retry budget
//!   (empty: no hedge), has its own `attempt_timeout`, and does not start if
//!   its timeout would end past `max_elapsed`. Once a hedge is refused, the
//!   round sends no more.
//! - A call that is itself nested in another call's attempt (`nested =
//!   "single"`) makes its one attempt unhedged.
//!
//! **Storage.** The round's first attempt lives in the call's future; hedges
//! live in one boxed slice of `max_hedges` slots, allocated when the round's
//! first hedge starts. So a call whose delay is never reached allocates
//! nothing, and a hedged round allocates once, not once per attempt. (An
//! inline array would make every hedged function's future eleven attempts
//! big whether it hedges or not.)
//!
//! **Clock.** The clock is read when the first attempt first returns
//! `Pending`: the hedge timer starts then, and a percentile delay measures
//! latency from then. An attempt ready at its first poll reads no clock and
//! arms no timer (its latency is recorded as zero).
//!
//! **Latency samples** (percentile delays): each success records the time
//! since its round's first attempt started, not the winning hedge's own time,
//! so the slow answers that hedges cut short still count as slow; otherwise
//! the percentile would drift down and send ever more hedges.

use std::fmt;
use std::future::{Future, poll_fn};
use std::ops::ControlFlow;
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use super::attempt::{Attempt, Running};
use super::controller::{Controller, InAttempt, Retry, ReturnsResult, Verdict};
use crate::breaker::Permit;
use crate::registry::Hedging;
use crate::{Class, Rejected};

/// An attempt that ended: who it was, its breaker permit, and its output
/// (`Err(limit)`: it ran past its `attempt_timeout`).
struct Ended<T> {
    attempt: Attempt,
    permit: Option<Permit>,
    output: Result<T, Duration>,
}

/// What woke the round.
enum Event<T> {
    Ended(Ended<T>),
    /// The hedge delay passed.
    Tick,
}

/// Why no hedge was sent.
#[derive(Debug, Clone, Copy)]
enum NoHedge {
    Attempts,
    Deadline,
    Breaker,
    Budget,
}

impl NoHedge {
    fn as_str(self) -> &'static str {
        match self {
            NoHedge::Attempts => "attempts exhausted",
            NoHedge::Deadline => "deadline",
            NoHedge::Breaker => "circuit breaker refused the hedge",
            NoHedge::Budget => "retry budget exhausted",
        }
    }
}

/// One attempt under its timeout, in its span, holding its breaker permit
/// (dropped with it if the attempt loses: a half-open place is given back).
async fn run<F: Future>(
    future: F,
    running: Running,
    permit: Option<Permit>,
    limit: Option<Duration>,
) -> Ended<F::Output> {
    let attempt = running.attempt();
    let future = InAttempt(pin!(future), running);
    let output = match limit {
        None => Ok(future.await),
        Some(limit) => tokio::time::timeout(limit, future)
            .await
            .map_err(|_| limit),
    };
    Ended {
        attempt,
        permit,
        output,
    }
}

/// The slot `index` of a pinned slice of attempts.
fn slot<T>(slots: Pin<&mut [Option<T>]>, index: usize) -> Pin<&mut Option<T>> {
    // SAFETY: the slots are structurally pinned: this module never moves a
    // slot's value out of the slice nor moves the slice (it lives in a
    // `Pin<Box<_>>` until dropped), and replaces a value only with
    // `Pin::set`, which drops the old one in place. Tested by
    // `tests/hedging.rs::hedges_are_polled_where_they_were_pinned`.
    unsafe { slots.map_unchecked_mut(|s| &mut s[index]) }
}

impl Controller {
    /// Runs one round of a hedged call (see the module docs), then decides
    /// like [`attempt`](Self::attempt): `Break` with the value to return, or
    /// `Continue` with the [`Retry`] to make after [`pause`](Self::pause).
    ///
    /// `make` returns a fresh attempt future each time it is called (the
    /// generated non-`move` closure around the body, which borrows the
    /// function's arguments).
    pub async fn hedged<M, F, E, C, K, R, D>(
        &mut self,
        make: M,
        classify: C,
        reject: R,
        describe: D,
    ) -> ControlFlow<F::Output, Retry<E>>
    where
        M: Fn() -> F,
        F: Future,
        F::Output: ReturnsResult<Err = E>,
        C: Fn(&E) -> K,
        K: Into<Verdict>,
        R: Fn(Rejected) -> E,
        D: for<'e> Fn(&'e E) -> Option<&'e dyn fmt::Debug>,
    {
        let hedging = match self.resolved.hedge {
            Some(hedging) if !self.single => hedging,
            // Nested single attempt (or no hedge resolved): one attempt.
            _ => return self.attempt(pin!(make()), classify, reject, describe).await,
        };
        if let Err(refused) = self.admit() {
            tokio::task::coop::consume_budget().await;
            return ControlFlow::Break(F::Output::from_err(reject(refused)));
        }
        let limit = self.resolved.policy.attempt_timeout;
        let name = self.site.name();
        let start = |number: u32, hedge: bool, permit: Option<Permit>| {
            run(
                make(),
                Running::new(name, Attempt::new(number, hedge)),
                permit,
                limit,
            )
        };
        let mut first = pin!(Some(start(self.attempts, false, self.permit.take())));
        let mut hedges = no_hedges(&first);
        let mut timer = pin!(None::<tokio::time::Sleep>);
        let mut round_start = None;
        let mut in_flight: u32 = 1;
        let capacity = 1 + hedging.settings.max_hedges;
        let mut hedging_on = true;
        loop {
            let event = poll_fn(|cx| {
                if let Some(attempt) = first.as_mut().as_pin_mut()
                    && let Poll::Ready(ended) = attempt.poll(cx)
                {
                    first.set(None);
                    return Poll::Ready(Event::Ended(ended));
                }
                if let Some(mut slots) = hedges.as_mut().map(Pin::as_mut) {
                    for index in 0..slots.len() {
                        let mut hedge = slot(slots.as_mut(), index);
                        if let Some(attempt) = hedge.as_mut().as_pin_mut()
                            && let Poll::Ready(ended) = attempt.poll(cx)
                        {
                            hedge.set(None);
                            return Poll::Ready(Event::Ended(ended));
                        }
                    }
                }
                if round_start.is_none() {
                    // The first attempt is waiting: from now on it is slow.
                    round_start = Some(crate::clock::now());
                    if let Some(delay) = hedging.delay() {
                        timer.set(Some(tokio::time::sleep(delay)));
                    }
                }
                if let Some(sleep) = timer.as_mut().as_pin_mut()
                    && sleep.poll(cx).is_ready()
                {
                    timer.set(None);
                    return Poll::Ready(Event::Tick);
                }
                Poll::Pending
            })
            .await;
            let ended = match event {
                Event::Tick => {
                    if in_flight < capacity && hedging_on {
                        match self.hedge_permit(&hedging) {
                            Ok(permit) => {
                                let attempt = start(self.attempts, true, permit);
                                place(first.as_mut(), &mut hedges, attempt, &hedging);
                                in_flight += 1;
                            }
                            Err(_) => hedging_on = false,
                        }
                    }
                    if in_flight < capacity
                        && hedging_on
                        && let Some(delay) = hedging.delay()
                    {
                        timer.set(Some(tokio::time::sleep(delay)));
                    }
                    continue;
                }
                Event::Ended(ended) => ended,
            };
            in_flight -= 1;
            let Ended {
                attempt,
                permit,
                output,
            } = ended;
            let (error, verdict) = match output.map(ReturnsResult::into_result) {
                Ok(Ok(value)) => {
                    // Every other attempt is dropped before the call returns.
                    first.set(None);
                    drop(hedges.take());
                    if let Some(percentile) = hedging.percentile {
                        let latency = round_start.map_or(Duration::ZERO, |t| {
                            crate::clock::now().saturating_duration_since(t)
                        });
                        hedging.latency.record(latency, percentile);
                    }
                    if attempt.is_hedge() {
                        self.resolved.metrics.hedge_won();
                    }
                    self.permit = permit;
                    return self.succeeded(value);
                }
                Ok(Err(error)) => {
                    let verdict = classify(&error).into();
                    (error, verdict)
                }
                Err(limit) => {
                    let rejected = Rejected::AttemptTimeout {
                        attempt: attempt.number(),
                        timeout: limit,
                    };
                    (reject(rejected), Class::Transient.into())
                }
            };
            if verdict.class == Class::Permanent || in_flight == 0 {
                first.set(None);
                drop(hedges.take());
                self.permit = permit;
                return self.failed(error, verdict, describe);
            }
            // Others are still running: this failure goes to the breaker, and
            // the call waits for them. Its place may go to the next hedge, one
            // delay from now (not at once: a fast failure is often overload).
            self.permit = permit;
            self.record(Some(verdict.class));
            drop(error);
            if hedging_on
                && timer.is_none()
                && let Some(delay) = hedging.delay()
            {
                timer.set(Some(tokio::time::sleep(delay)));
            }
        }
    }

    /// The checks a hedge passes before it starts, in the order of a retry's:
    /// attempts left, the deadline, the breaker's permit, the budget. On
    /// success the hedge is counted as an attempt and announced.
    fn hedge_permit(&mut self, hedging: &Hedging) -> Result<Option<Permit>, NoHedge> {
        let policy = self.resolved.policy;
        let refused = |this: &Self, reason: NoHedge| {
            tracing::debug!(
                call_site = this.site.name(),
                hedge = this.site.hedge().unwrap_or_default(),
                attempts = this.attempts,
                reason = reason.as_str(),
                "hedge not sent",
            );
            Err(reason)
        };
        if self.attempts >= policy.max_attempts {
            return refused(self, NoHedge::Attempts);
        }
        if let (Some(started), Some(limit)) = (self.started, policy.max_elapsed)
            && crate::clock::now()
                .saturating_duration_since(started)
                .saturating_add(policy.attempt_timeout.unwrap_or(Duration::ZERO))
                > limit
        {
            return refused(self, NoHedge::Deadline);
        }
        let permit = match self.acquire(None) {
            None => None,
            Some(Some(permit)) => Some(permit),
            Some(None) => {
                self.resolved.metrics.breaker_rejection();
                return refused(self, NoHedge::Breaker);
            }
        };
        let budget = self.resolved.budget;
        if !budget.try_withdraw() {
            self.resolved.metrics.budget_exhausted(budget);
            return refused(self, NoHedge::Budget);
        }
        self.attempts += 1;
        self.resolved.metrics.attempt();
        self.resolved.metrics.hedge_sent();
        tracing::debug!(
            call_site = self.site.name(),
            hedge = self.site.hedge().unwrap_or_default(),
            attempt = self.attempts,
            delay = ?hedging.delay(),
            "attempt slow: sending a hedge",
        );
        Ok(permit)
    }
}

/// No hedge slots yet, typed like the round's first slot.
fn no_hedges<T>(_first: &Pin<&mut Option<T>>) -> Option<Pin<Box<[Option<T>]>>> {
    None
}

/// Puts a new attempt in a free slot: the round's first slot if its attempt
/// has ended, else a hedge slot (allocated on the round's first hedge).
fn place<T>(
    mut first: Pin<&mut Option<T>>,
    hedges: &mut Option<Pin<Box<[Option<T>]>>>,
    attempt: T,
    hedging: &Hedging,
) {
    if first.is_none() {
        first.set(Some(attempt));
        return;
    }
    let slots = hedges.get_or_insert_with(|| {
        let len = usize::try_from(hedging.settings.max_hedges).unwrap_or(1);
        Box::into_pin(std::iter::repeat_with(|| None).take(len).collect())
    });
    let mut slots = slots.as_mut();
    for index in 0..slots.len() {
        let mut free = slot(slots.as_mut(), index);
        if free.is_none() {
            free.set(Some(attempt));
            return;
        }
    }
    // Unreachable: at most `max_hedges` hedges run beside the first slot.
    debug_assert!(false, "no free hedge slot");
}
