//! [`Rejected`]: the framework's own reasons for not running, or cutting short, an attempt.

use std::fmt;
use std::sync::Arc;
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
    #[error(
        "circuit breaker `{breaker}`{} is open: the call was refused without being attempted",
        KeyLabel(key.as_deref())
    )]
    BreakerOpen {
        /// The breaker's name, as written in `breaker = "..."`.
        breaker: &'static str,
        /// The key of the keyed instance that refused the call (`breaker_key`),
        /// as the instance stores it; `None` for the named breaker.
        key: Option<Arc<str>>,
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

impl Rejected {
    /// A refusal by the named breaker `breaker` (no key), as the runtime
    /// reports it: for tests and for code that maps its own refusals.
    ///
    /// ```
    /// use retry_runtime::Rejected;
    ///
    /// let open = Rejected::breaker_open("s3");
    /// assert!(matches!(open, Rejected::BreakerOpen { breaker: "s3", key: None }));
    /// assert_eq!(
    ///     open.to_string(),
    ///     "circuit breaker `s3` is open: the call was refused without being attempted"
    /// );
    /// ```
    #[must_use]
    pub fn breaker_open(breaker: &'static str) -> Rejected {
        Rejected::BreakerOpen { breaker, key: None }
    }

    /// The key of the keyed breaker instance that refused a call, if the
    /// refusal came from one (`breaker_key`).
    ///
    /// ```
    /// use retry_runtime::Rejected;
    ///
    /// let open = Rejected::BreakerOpen { breaker: "hosts", key: Some("db-2:5432".into()) };
    /// assert_eq!(open.breaker_key(), Some("db-2:5432"));
    /// assert_eq!(
    ///     open.to_string(),
    ///     "circuit breaker `hosts` key `db-2:5432` is open: the call was refused without being attempted"
    /// );
    /// ```
    #[must_use]
    pub fn breaker_key(&self) -> Option<&str> {
        match self {
            Rejected::BreakerOpen { key, .. } => key.as_deref(),
            Rejected::AttemptTimeout { .. } => None,
        }
    }
}

/// ` key `k``, or nothing, after a breaker's name in a message.
struct KeyLabel<'k>(Option<&'k str>);

impl fmt::Display for KeyLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, " key `{key}`"),
            None => Ok(()),
        }
    }
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
