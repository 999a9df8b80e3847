//! [`Classify`] and [`Class`]: which failures are worth another attempt.

use std::io::ErrorKind;
use std::time::Duration;

use crate::Rejected;

/// What kind of failure an error is, as far as retrying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Another attempt may succeed: retry after the policy's backoff.
    /// Counts as a failure for a circuit breaker.
    Transient,
    /// Another attempt would fail the same way: return the error at once.
    /// Does not count against a circuit breaker (the service did answer).
    Permanent,
    /// The service said when to come back: retry after exactly this long,
    /// without jitter (the policy's deadline still applies).
    RetryAfter(Duration),
}

/// Says which failures of an error type are transient.
///
/// A `#[retryable]` function's error type must implement it, unless the attribute
/// names a `retry_if` predicate instead.
///
/// ```
/// use retry_runtime::{Class, Classify};
/// use std::time::Duration;
///
/// enum HttpError {
///     Status(u16),
///     Throttled { retry_after: Duration },
/// }
///
/// impl Classify for HttpError {
///     fn classify(&self) -> Class {
///         match self {
///             HttpError::Throttled { retry_after } => Class::RetryAfter(*retry_after),
///             HttpError::Status(500..=599) => Class::Transient,
///             HttpError::Status(_) => Class::Permanent,
///         }
///     }
/// }
///
/// assert_eq!(HttpError::Status(503).classify(), Class::Transient);
/// assert_eq!(HttpError::Status(404).classify(), Class::Permanent);
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[retryable]` cannot tell which `{Self}` errors are worth retrying",
    label = "`{Self}` does not implement `retry_runtime::Classify`",
    note = "for an error type of yours, add `#[derive(retry_runtime::Classify)]` and mark its variants \
            `#[classify(transient)]`, `#[classify(permanent)]`, `#[classify(retry_after)]` or `#[classify(transparent)]` \
            (or implement the trait by hand), or add `retry_if = some_fn` (a `fn(&{Self}) -> bool`) to the attribute",
    note = "for another crate's error type: `anyhow::Error` and `tonic::Status` implement it with the \
            `retry-runtime` features `anyhow` and `tonic`; for `reqwest::Error` return `retry_runtime::reqwest::Error` \
            (feature `reqwest`); for any other, wrap it in an enum of yours with `#[derive(Classify)]` and a \
            `#[classify(transparent)]` or classified variant"
)]
pub trait Classify {
    /// Whether this failure is transient, permanent, or comes with a retry-after hint.
    fn classify(&self) -> Class;

    /// Whether the failed attempt may be repeated when the function is *not*
    /// marked `idempotent`. `true` unless the error knows better.
    ///
    /// An error that knows the attempt's effect may already have happened says
    /// `false`: `retry_runtime::reqwest::Error` (feature `reqwest`) does for a
    /// POST, PATCH or CONNECT that reached the server (see [HTTP clients](crate::guide::http_and_grpc#http-clients)).
    /// The call then gives up at once (reason `not idempotent`) unless the
    /// function is marked `idempotent`. A derived `Classify` forwards it from
    /// `transparent` fields.
    ///
    /// ```
    /// use retry_runtime::{Class, Classify};
    ///
    /// struct Sent { reached_server: bool }
    ///
    /// impl Classify for Sent {
    ///     fn classify(&self) -> Class { Class::Transient }
    ///     fn replay_safe(&self) -> bool { !self.reached_server }
    /// }
    ///
    /// assert!(Sent { reached_server: false }.replay_safe());
    /// assert!(!Sent { reached_server: true }.replay_safe());
    /// ```
    fn replay_safe(&self) -> bool {
        true
    }

    /// Whether a [`Class::RetryAfter`] failure means the service is *down*
    /// (an outage that also said when to come back), rather than alive and
    /// asking us to slow down. Read only when [`classify`](Self::classify)
    /// says `RetryAfter`; `false` unless the error knows better.
    ///
    /// What a circuit breaker counts:
    ///
    /// | attempt | breaker outcome |
    /// |---|---|
    /// | success, `Permanent` error | success (the service answered) |
    /// | `Transient` error, attempt timeout | failure |
    /// | `RetryAfter` that is an outage (`is_outage`: an HTTP 5xx with `Retry-After`) | failure |
    /// | any other `RetryAfter` (HTTP 429, gRPC pushback, a derived `retry_after` variant) | success, or failure when the breaker sets `retry_after_is_failure` |
    ///
    /// The class stays `RetryAfter(d)` either way: the retry waits `d`. Only
    /// the breaker's count depends on this answer. `retry_runtime::reqwest::Error`
    /// says `true` for a 5xx response; for an HTTP error type of yours, answer
    /// `status.is_server_error()`. A derived `Classify` forwards it from
    /// `transparent` fields, and `anyhow::Error` from the error that classifies it.
    ///
    /// ```
    /// use retry_runtime::{Class, Classify};
    /// use std::time::Duration;
    ///
    /// struct Reply { status: u16, retry_after: Duration }
    ///
    /// impl Classify for Reply {
    ///     fn classify(&self) -> Class { Class::RetryAfter(self.retry_after) }
    ///     // A 503 with a hint is an outage: the breaker counts it as a failure.
    ///     fn is_outage(&self) -> bool { (500..600).contains(&self.status) }
    /// }
    ///
    /// assert!(Reply { status: 503, retry_after: Duration::from_secs(1) }.is_outage());
    /// assert!(!Reply { status: 429, retry_after: Duration::from_secs(1) }.is_outage());
    /// ```
    fn is_outage(&self) -> bool {
        false
    }
}

impl<E: Classify + ?Sized> Classify for &E {
    fn classify(&self) -> Class {
        (**self).classify()
    }
    fn replay_safe(&self) -> bool {
        (**self).replay_safe()
    }
    fn is_outage(&self) -> bool {
        (**self).is_outage()
    }
}

impl<E: Classify + ?Sized> Classify for Box<E> {
    fn classify(&self) -> Class {
        (**self).classify()
    }
    fn replay_safe(&self) -> bool {
        (**self).replay_safe()
    }
    fn is_outage(&self) -> bool {
        (**self).is_outage()
    }
}

impl<E: Classify + ?Sized> Classify for std::sync::Arc<E> {
    fn classify(&self) -> Class {
        (**self).classify()
    }
    fn replay_safe(&self) -> bool {
        (**self).replay_safe()
    }
    fn is_outage(&self) -> bool {
        (**self).is_outage()
    }
}

/// `Classify`, as a derived `Classify`'s `#[classify(transparent)]` field needs it.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[classify(transparent)]` uses the field's own `Classify`, and `{Self}` does not implement it",
    label = "this field is `{Self}`, which does not implement `retry_runtime::Classify`",
    note = "give the variant a class of its own instead (`#[classify(transient)]`, `#[classify(permanent)]`), \
            or implement `retry_runtime::Classify` for `{Self}` (`#[derive(Classify)]` on a type of yours)"
)]
pub trait TransparentField {
    fn field_class(&self) -> Class;
    fn field_replay_safe(&self) -> bool;
    fn field_is_outage(&self) -> bool;
}

impl<E: Classify + ?Sized> TransparentField for E {
    #[inline]
    fn field_class(&self) -> Class {
        self.classify()
    }
    #[inline]
    fn field_replay_safe(&self) -> bool {
        self.replay_safe()
    }
    #[inline]
    fn field_is_outage(&self) -> bool {
        self.is_outage()
    }
}

/// The field a derived `Classify` reads under `#[classify(retry_after)]`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[classify(retry_after)]` reads a `Duration` or an `Option<Duration>`, not `{Self}`",
    label = "this field is `{Self}`",
    note = "make the field a `std::time::Duration` (the variant is then `Class::RetryAfter(d)`) or an `Option<Duration>` (`None` is `Class::Transient`), or give the variant another class"
)]
pub trait RetryAfterField {
    fn retry_after_class(&self) -> Class;
}

impl RetryAfterField for Duration {
    #[inline]
    fn retry_after_class(&self) -> Class {
        Class::RetryAfter(*self)
    }
}

impl RetryAfterField for Option<Duration> {
    #[inline]
    fn retry_after_class(&self) -> Class {
        match self {
            Some(delay) => Class::RetryAfter(*delay),
            None => Class::Transient,
        }
    }
}

/// An attempt timeout is transient; an open breaker is permanent (retrying at
/// once would only knock on a door that is shut).
impl Classify for Rejected {
    fn classify(&self) -> Class {
        match self {
            Rejected::AttemptTimeout { .. } => Class::Transient,
            Rejected::BreakerOpen { .. } => Class::Permanent,
        }
    }
}

/// Classifies by [`ErrorKind`]:
///
/// | class | kinds |
/// |---|---|
/// | `Transient` | `ConnectionRefused`, `ConnectionReset`, `ConnectionAborted`, `NotConnected`, `BrokenPipe`, `TimedOut`, `Interrupted`, `WouldBlock`, `UnexpectedEof`, `AddrInUse`, `AddrNotAvailable`, `HostUnreachable`, `NetworkUnreachable`, `NetworkDown`, `ResourceBusy` |
/// | `Permanent` | every other kind: `NotFound`, `PermissionDenied`, `AlreadyExists`, `InvalidInput`, `InvalidData`, `Unsupported`, `OutOfMemory`, `Other`, … |
///
/// An `io::Error` that wraps a [`Rejected`] is classified by the `Rejected`.
///
/// ```
/// use retry_runtime::{Class, Classify};
/// use std::io;
///
/// assert_eq!(io::Error::from(io::ErrorKind::ConnectionReset).classify(), Class::Transient);
/// assert_eq!(io::Error::from(io::ErrorKind::NotFound).classify(), Class::Permanent);
/// ```
impl Classify for std::io::Error {
    fn classify(&self) -> Class {
        if let Some(rejected) = self.get_ref().and_then(|e| e.downcast_ref::<Rejected>()) {
            return rejected.classify();
        }
        classify_kind(self.kind())
    }
}

impl Classify for ErrorKind {
    fn classify(&self) -> Class {
        classify_kind(*self)
    }
}

fn classify_kind(kind: ErrorKind) -> Class {
    match kind {
        ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::NotConnected
        | ErrorKind::BrokenPipe
        | ErrorKind::TimedOut
        | ErrorKind::Interrupted
        | ErrorKind::WouldBlock
        | ErrorKind::UnexpectedEof
        | ErrorKind::AddrInUse
        | ErrorKind::AddrNotAvailable
        | ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::NetworkDown
        | ErrorKind::ResourceBusy => Class::Transient,
        _ => Class::Permanent,
    }
}

/// An error's class, and whether its attempt may be repeated by a function not
/// marked `idempotent` ([`Classify::replay_safe`](crate::Classify::replay_safe)).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub class: Class,
    pub replay_safe: bool,
    /// A `RetryAfter` that is an outage ([`Classify::is_outage`](crate::Classify::is_outage)):
    /// a breaker failure whatever `retry_after_is_failure` says.
    pub outage: bool,
}

/// `retry_if` decides alone: its verdicts are always safe to replay.
impl From<Class> for Verdict {
    #[inline]
    fn from(class: Class) -> Self {
        Verdict {
            class,
            replay_safe: true,
            outage: false,
        }
    }
}
