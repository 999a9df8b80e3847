//! [`Rejected`]: the framework's own reasons for not running, or cutting short, an attempt.

use std::time::Duration;

/// A call the framework refused or cut short, reported in the caller's own error type.
///
/// Every `#[retryable]` function's error type implements `From<Rejected>`, so the
/// framework can hand these back through the function's ordinary return type:
///
/// - [`Rejected::BreakerOpen`] when the circuit breaker refuses the *first* attempt
///   (a refused retry returns the last real error instead);
/// - [`Rejected::AttemptTimeout`] when an attempt outlives the policy's
///   `attempt_timeout`; it counts as a transient failure and may be retried.
///
/// `std::io::Error` implements `From<Rejected>` already, so functions returning
/// `io::Result<T>` need nothing more.
///
/// ```
/// use retry_runtime::Rejected;
///
/// #[derive(Debug)]
/// enum StoreError {
///     Unavailable,
///     Refused(Rejected),
/// }
///
/// impl From<Rejected> for StoreError {
///     fn from(r: Rejected) -> Self {
///         StoreError::Refused(r)
///     }
/// }
/// # let _ = StoreError::Unavailable;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The named circuit breaker is open (or forced open) and refused the call
    /// before its first attempt ran.
    #[error("circuit breaker `{breaker}` is open: the call was refused without being attempted")]
    BreakerOpen {
        /// The breaker's name, as written in `breaker = "..."`.
        breaker: &'static str,
    },
    /// An attempt ran longer than the policy's `attempt_timeout` and was cancelled.
    #[error("attempt {attempt} timed out after {timeout:?} (the policy's `attempt_timeout`)")]
    AttemptTimeout {
        /// Which attempt timed out, counting from 1.
        attempt: u32,
        /// The policy's `attempt_timeout`.
        timeout: Duration,
    },
}

/// `BreakerOpen` becomes [`ErrorKind::Other`](std::io::ErrorKind::Other) (not
/// retried by the `io::Error` classification: the breaker is already shedding
/// load), `AttemptTimeout` becomes [`ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut).
/// The `Rejected` value stays reachable through [`std::io::Error::get_ref`].
///
/// ```
/// use retry_runtime::Rejected;
/// use std::{io, time::Duration};
///
/// let e = io::Error::from(Rejected::AttemptTimeout { attempt: 1, timeout: Duration::from_secs(2) });
/// assert_eq!(e.kind(), io::ErrorKind::TimedOut);
/// assert!(e.get_ref().unwrap().downcast_ref::<Rejected>().is_some());
/// ```
impl From<Rejected> for std::io::Error {
    fn from(r: Rejected) -> Self {
        let kind = match r {
            Rejected::BreakerOpen { .. } => std::io::ErrorKind::Other,
            Rejected::AttemptTimeout { .. } => std::io::ErrorKind::TimedOut,
        };
        std::io::Error::new(kind, r)
    }
}
