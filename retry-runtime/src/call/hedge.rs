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
//! big whether it hedges or not.) One tokio timer serves the whole round: it
//! is set to the earliest of the next hedge and the attempts' timeouts, so
//! the call's future holds one `Sleep`, not one per attempt.
//!
//! **Clock.** The clock is read when the first attempt first returns
//! `Pending`: the hedge timer starts then, a percentile delay measures
//! latency from then, and so does a breaker that times slow calls (as for an
//! unhedged attempt, see `InAttempt` in `controller.rs`). An attempt ready at its first poll reads no clock and
//! arms no timer (its latency is recorded as zero). An attempt's timeout runs
//! from its start (the clock is read then only under an `attempt_timeout`).
//!
//! **Latency samples** (percentile delays): each success records the winning
//! attempt's own latency (a hedge's from its start, the first attempt's from
//! its first suspension). The delay is then a percentile of the answers the
//! site gets, which are healthy ones once the slow calls are hedged, and the
//! share of calls hedged is about one minus the percentile plus the share of
//! calls slower than every healthy answer. Recording each call's whole time
//! instead converges on the percentile of the unhedged latency, which lies in
//! the tail that hedges are meant to cut: in `examples/hedging.rs` (2 % of
//! calls slow, `p97`) that delay settled at 9 to 12 ms, against 5 to 6 ms for
//! the healthy answers' p97, for the same 2.2 % of extra requests.
//! A percentile delay only helps while the slow share is below one minus the
//! percentile: above it, the percentile itself is a slow latency.

use std::future::{Future, poll_fn};
use std::ops::ControlFlow;
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use super::attempt::{Attempt, Running};
use super::controller::{Controller, Retry, ReturnsResult, Shown, Verdict, poll_in_attempt};
use crate::breaker::Permit;
use crate::registry::Hedging;
use crate::{Class, Rejected};

/// An attempt in flight, beside its future: who it is, its breaker permit
/// (dropped with it if the attempt loses: a half-open place is given back),
/// and when it times out.
struct Meta {
    running: Running,
    permit: Option<Permit>,
    deadline: Option<Instant>,
    /// When a hedge started (a first attempt's start is the round's).
    started: Option<Instant>,
}

impl Meta {
    fn attempt(&self) -> Attempt {
        self.running.attempt()
    }
}

/// A hedge slot in the boxed slice: the attempt's future (pinned) and its [`Meta`].
struct Slot<F> {
    future: Option<F>,
    meta: Option<Meta>,
}

/// What woke the round.
enum Event<T> {
    /// An attempt ended: its output, or `Err(limit)` when it ran past its
    /// `attempt_timeout` (it is dropped).
    Ended(Meta, Result<T, Duration>),
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

/// The parts of hedge slot `index`: its future, pinned, and its [`Meta`].
fn slot<F>(slots: Pin<&mut [Slot<F>]>, index: usize) -> (Pin<&mut Option<F>>, &mut Option<Meta>) {
    // SAFETY: `future` is structurally pinned and `meta` is not: this module
    // never moves a slot's future out of the slice nor moves the slice (it
    // lives in a `Pin<Box<_>>` until dropped), replaces a future only with
    // `Pin::set` (which drops the old one in place), and never pins `meta`.
    // Tested by `tests/hedging.rs::hedges_are_polled_where_they_were_pinned`.
    unsafe {
        let slot = &mut slots.get_unchecked_mut()[index];
        (Pin::new_unchecked(&mut slot.future), &mut slot.meta)
    }
}

/// Whether `meta`'s attempt is past its deadline at `now`.
fn expired(meta: Option<&Meta>, now: Instant) -> bool {
    meta.and_then(|m| m.deadline).is_some_and(|d| d <= now)
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
        D: for<'e> Fn(&'e E) -> Shown<'e>,
    {
        let hedging = match self.resolved.hedge {
            Some(hedging) if !self.single => hedging,
            // Nested single attempt (or no hedge resolved): one attempt.
            _ => return self.attempt(pin!(make()), classify, reject, describe).await,
        };
        // The first attempt is timed from its first wait, like an unhedged one
        // (stamped below, where the round starts).
        if let Err(refused) = self.admit(true) {
            tokio::task::coop::consume_budget().await;
            return ControlFlow::Break(F::Output::from_err(reject(refused)));
        }
        let limit = self.resolved.policy.attempt_timeout;
        let name = self.site.name();
        let meta = |number: u32, hedge: bool, permit: Option<Permit>| Meta {
            running: Running::new(name, Attempt::new(number, hedge)),
            permit,
            deadline: limit.map(|limit| Instant::now() + limit),
            started: hedge.then(Instant::now),
        };
        // The round's first attempt, polled once as an unhedged attempt would
        // be: one that answers at its first poll needs no clock, no timer, no
        // slots, and its `Meta` is never built (its permit stays in `self`).
        let running = Running::new(name, Attempt::new(self.attempts, false));
        // An attempt's timeout runs from its start.
        let deadline = limit.map(|limit| Instant::now() + limit);
        let mut first = pin!(Some(make()));
        let polled = poll_fn(|cx| {
            Poll::Ready(match first.as_mut().as_pin_mut() {
                Some(attempt) => poll_in_attempt(attempt, &running, cx),
                None => Poll::Pending,
            })
        })
        .await;
        if let Poll::Ready(output) = polled {
            first.set(None);
            drop(running);
            return match output.into_result() {
                Ok(value) => {
                    hedging.record(Duration::ZERO);
                    self.succeeded(value)
                }
                Err(error) => {
                    let verdict = classify(&error).into();
                    self.failed(error, verdict, describe)
                }
            };
        }
        let mut first_meta = Some(Meta {
            running,
            permit: self.permit.take(),
            deadline,
            started: None,
        });
        let mut hedges: Option<Pin<Box<[Slot<F>]>>> = None;
        // One timer for the round: the next hedge or the earliest timeout.
        let mut timer = pin!(None::<tokio::time::Sleep>);
        let mut round_start = None;
        let mut tick_at = None;
        let mut in_flight: u32 = 1;
        let capacity = 1 + hedging.settings.max_hedges;
        let mut hedging_on = true;
        // The first attempt was just polled (above): not again in this wake-up.
        let mut just_polled = true;
        loop {
            let event = poll_fn(|cx| {
                if !std::mem::take(&mut just_polled)
                    && let (Some(attempt), Some(m)) = (first.as_mut().as_pin_mut(), &first_meta)
                    && let Poll::Ready(output) = poll_in_attempt(attempt, &m.running, cx)
                {
                    first.set(None);
                    if let Some(m) = first_meta.take() {
                        return Poll::Ready(Event::Ended(m, Ok(output)));
                    }
                }
                if let Some(slots) = hedges.as_mut() {
                    let mut slots = slots.as_mut();
                    for index in 0..slots.len() {
                        let (mut future, m) = slot(slots.as_mut(), index);
                        if let (Some(attempt), Some(running)) =
                            (future.as_mut().as_pin_mut(), m.as_ref().map(|m| &m.running))
                            && let Poll::Ready(output) = poll_in_attempt(attempt, running, cx)
                        {
                            future.set(None);
                            if let Some(m) = m.take() {
                                return Poll::Ready(Event::Ended(m, Ok(output)));
                            }
                        }
                    }
                }
                if round_start.is_none() {
                    // The first attempt is waiting: from now on it is slow.
                    let now = Instant::now();
                    round_start = Some(now);
                    tick_at = hedging.delay().map(|delay| now + delay);
                    if let Some(permit) = first_meta.as_mut().and_then(|m| m.permit.as_mut()) {
                        permit.waited_from(now);
                    }
                }
                // The timer is set to the earliest thing to happen.
                let mut next = tick_at;
                let mut earlier = |deadline: Option<Instant>| {
                    if let Some(d) = deadline
                        && next.is_none_or(|n| d < n)
                    {
                        next = Some(d);
                    }
                };
                earlier(first_meta.as_ref().and_then(|m| m.deadline));
                if let Some(slots) = hedges.as_mut() {
                    let mut slots = slots.as_mut();
                    for index in 0..slots.len() {
                        earlier(
                            slot(slots.as_mut(), index)
                                .1
                                .as_ref()
                                .and_then(|m| m.deadline),
                        );
                    }
                }
                let Some(next) = next else {
                    timer.set(None);
                    return Poll::Pending;
                };
                match timer.as_mut().as_pin_mut() {
                    Some(sleep) if sleep.deadline() == next => {}
                    Some(sleep) => sleep.reset(next),
                    None => timer.set(Some(tokio::time::sleep_until(next))),
                }
                if let Some(sleep) = timer.as_mut().as_pin_mut()
                    && sleep.poll(cx).is_ready()
                {
                    let now = Instant::now();
                    let limit = limit.unwrap_or_default();
                    if expired(first_meta.as_ref(), now) {
                        first.set(None);
                        if let Some(m) = first_meta.take() {
                            return Poll::Ready(Event::Ended(m, Err(limit)));
                        }
                    }
                    if let Some(slots) = hedges.as_mut() {
                        let mut slots = slots.as_mut();
                        for index in 0..slots.len() {
                            let (mut future, m) = slot(slots.as_mut(), index);
                            if expired(m.as_ref(), now) {
                                future.set(None);
                                if let Some(m) = m.take() {
                                    return Poll::Ready(Event::Ended(m, Err(limit)));
                                }
                            }
                        }
                    }
                    if tick_at.is_some_and(|t| t <= now) {
                        tick_at = None;
                        return Poll::Ready(Event::Tick);
                    }
                }
                Poll::Pending
            })
            .await;
            // A deadline's clock starts at the first attempt's first wait,
            // as for an unhedged call (see `Controller::started`).
            if self.started.is_none() && self.resolved.policy.max_elapsed.is_some() {
                self.started = round_start;
            }
            let (ended, output) = match event {
                Event::Tick => {
                    if in_flight < capacity && hedging_on {
                        match self.hedge_permit(&hedging) {
                            Ok(permit) => {
                                let m = meta(self.attempts, true, permit);
                                place(
                                    first.as_mut(),
                                    &mut first_meta,
                                    &mut hedges,
                                    make(),
                                    m,
                                    &hedging,
                                );
                                in_flight += 1;
                            }
                            Err(_) => hedging_on = false,
                        }
                    }
                    if in_flight < capacity && hedging_on {
                        tick_at = hedging.delay().map(|delay| Instant::now() + delay);
                    }
                    continue;
                }
                Event::Ended(ended, output) => (ended, output),
            };
            in_flight -= 1;
            let attempt = ended.attempt();
            let (error, verdict) = match output.map(ReturnsResult::into_result) {
                Ok(Ok(value)) => {
                    // Every other attempt is dropped before the call returns.
                    first.set(None);
                    drop(first_meta.take());
                    drop(hedges.take());
                    let latency = ended
                        .started
                        .or(round_start)
                        .map_or(Duration::ZERO, |t: Instant| t.elapsed());
                    return self.won(&hedging, ended, latency, value);
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
                drop(first_meta.take());
                drop(hedges.take());
                self.permit = ended.permit;
                return self.failed(error, verdict, describe);
            }
            // Others are still running: this failure goes to the breaker, and
            // the call waits for them. Its place may go to the next hedge, one
            // delay from now (not at once: a fast failure is often overload).
            self.permit = ended.permit;
            self.record(Some(verdict));
            drop(error);
            if hedging_on && tick_at.is_none() {
                tick_at = hedging.delay().map(|delay| Instant::now() + delay);
            }
        }
    }
    /// A round's success: its latency recorded (for a percentile delay), a
    /// hedge's win counted, the winner's outcome to the breaker.
    fn won<O: ReturnsResult, X>(
        &mut self,
        hedging: &Hedging,
        winner: Meta,
        latency: Duration,
        value: O::Ok,
    ) -> ControlFlow<O, X> {
        hedging.record(latency);
        if winner.attempt().is_hedge() {
            self.resolved.metrics.hedge_won();
        }
        self.permit = winner.permit;
        self.succeeded(value)
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
        if self.past_deadline_after(Duration::ZERO) {
            return refused(self, NoHedge::Deadline);
        }
        let permit = match self.acquire(None, false) {
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

/// Puts a new attempt in a free slot: the round's first slot if its attempt
/// has ended, else a hedge slot (allocated on the round's first hedge).
fn place<F>(
    mut first: Pin<&mut Option<F>>,
    first_meta: &mut Option<Meta>,
    hedges: &mut Option<Pin<Box<[Slot<F>]>>>,
    future: F,
    meta: Meta,
    hedging: &Hedging,
) {
    if first.is_none() {
        first.set(Some(future));
        *first_meta = Some(meta);
        return;
    }
    let slots = hedges.get_or_insert_with(|| {
        let len = usize::try_from(hedging.settings.max_hedges).unwrap_or(1);
        Box::into_pin(
            std::iter::repeat_with(|| Slot {
                future: None,
                meta: None,
            })
            .take(len)
            .collect(),
        )
    });
    let mut slots = slots.as_mut();
    for index in 0..slots.len() {
        let (mut free, m) = slot(slots.as_mut(), index);
        if free.is_none() {
            free.set(Some(future));
            *m = Some(meta);
            return;
        }
    }
    // Unreachable: at most `max_hedges` hedges run beside the first slot.
    debug_assert!(false, "no free hedge slot");
}
