//! The call path: what one `#[retryable]` call does, from its first attempt to
//! the value it returns.
//!
//! - [`controller`]: the attempt controller the generated loop drives (start,
//!   admit, attempt, classify, backoff, give up), nested-call detection, and the
//!   traits through which the macro's compile-time checks speak
//!   (`ReturnsResult`, `CloneArg`, `FromRejected`).
//! - [`attempt`]: [`current_attempt`](crate::current_attempt) and the
//!   `retry.attempt` span each attempt runs in.
//! - [`hedge`]: hedged calls (`hedge = "<name>"`): the attempts of one round
//!   run at once inside the call's own future.
//! - [`latency`]: a call site's recent latencies, for percentile hedge delays.
//! - [`key`]: how a `breaker_key` expression becomes a lookup key without
//!   allocating (autoref specialization between text keys and `Display` keys).
//!
//! The call path reads the registry (a call site's cached resolution), takes
//! breaker permits and budget tokens; nothing else imports it.

pub(crate) mod attempt;
pub(crate) mod controller;
pub(crate) mod hedge;
pub(crate) mod key;
pub(crate) mod latency;
