//! `Classify` for `tonic::Status` and `From<Rejected>` for it (feature `tonic`).
//!
//! | code | class | why |
//! |---|---|---|
//! | `Unavailable` | `Transient` | "most likely a transient condition, which can be corrected by retrying" (gRPC status codes) |
//! | `ResourceExhausted` | `Transient`, or `RetryAfter(d)` when the `grpc-retry-pushback-ms` metadata holds a delay in milliseconds (a non-negative integer) | gRPC retry design (A6): the server's pushback says when to come back |
//! | `DeadlineExceeded` | `Transient` | the attempt ran out of time; the next may not (like an I/O timeout, and like the framework's own attempt timeout, which it reports as this code) |
//! | `InvalidArgument`, `NotFound`, `AlreadyExists`, `PermissionDenied`, `Unauthenticated`, `FailedPrecondition`, `OutOfRange`, `Unimplemented` | `Permanent` | the request itself is wrong: "the client should not retry until the system state has been explicitly fixed" |
//! | `Aborted` | `Permanent` | gRPC: "retry at a higher level" (restart the read-modify-write), not the failing call |
//! | `Internal`, `DataLoss`, `Unknown` | `Permanent` | broken invariants or an unknown cause: repeating is no more likely to work, and may hide a bug |
//! | `Cancelled`, `Ok` | `Permanent` | a cancelled call was given up by someone on purpose; `Ok` is not a failure |
//!
//! A `Status` made from a [`Rejected`] (`From<Rejected>`) keeps it as its source
//! and is classified by it: an attempt timeout transient, an open breaker permanent.
//!
//! Sources: the gRPC status codes document (`doc/statuscodes.md` in grpc/grpc)
//! and the gRPC retry design, proposal A6 (`A6-client-retries.md` in grpc/proposal).

use std::sync::Arc;
use std::time::Duration;

use tonic::{Code, Status};

use crate::{Class, Classify, Rejected};

/// The metadata key of the gRPC retry design (A6) carrying the server's pushback.
const PUSHBACK: &str = "grpc-retry-pushback-ms";

/// See the [module](crate::tonic) table.
///
/// ```
/// use retry_runtime::{Class, Classify};
/// use std::time::Duration;
/// use tonic::Status;
///
/// assert_eq!(Status::unavailable("restarting").classify(), Class::Transient);
/// assert_eq!(Status::not_found("no such bucket").classify(), Class::Permanent);
///
/// let mut throttled = Status::resource_exhausted("quota");
/// throttled.metadata_mut().insert("grpc-retry-pushback-ms", "250".parse().unwrap());
/// assert_eq!(throttled.classify(), Class::RetryAfter(Duration::from_millis(250)));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
impl Classify for Status {
    fn classify(&self) -> Class {
        if let Some(rejected) =
            std::error::Error::source(self).and_then(|s| s.downcast_ref::<Rejected>())
        {
            return rejected.classify();
        }
        match self.code() {
            Code::Unavailable | Code::DeadlineExceeded => Class::Transient,
            Code::ResourceExhausted => pushback(self).map_or(Class::Transient, Class::RetryAfter),
            Code::InvalidArgument
            | Code::NotFound
            | Code::AlreadyExists
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::Unimplemented
            | Code::Aborted
            | Code::Internal
            | Code::DataLoss
            | Code::Unknown
            | Code::Cancelled
            | Code::Ok => Class::Permanent,
        }
    }
}

/// `grpc-retry-pushback-ms` as a delay: a non-negative integer of milliseconds.
fn pushback(status: &Status) -> Option<Duration> {
    let value = status.metadata().get(PUSHBACK)?.to_str().ok()?.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        value
            .parse::<u64>()
            .map_or(Duration::MAX, Duration::from_millis),
    )
}

/// `BreakerOpen` becomes `Unavailable`, `AttemptTimeout` becomes
/// `DeadlineExceeded`; the message is the `Rejected`'s, and the `Rejected` is
/// the status's source (so it classifies as the `Rejected` does).
///
/// ```
/// use retry_runtime::{Class, Classify, Rejected};
/// use tonic::{Code, Status};
///
/// let open = Status::from(Rejected::breaker_open("inventory"));
/// assert_eq!(open.code(), Code::Unavailable);
/// assert_eq!(open.classify(), Class::Permanent);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
impl From<Rejected> for Status {
    fn from(rejected: Rejected) -> Self {
        let code = match rejected {
            Rejected::BreakerOpen { .. } => Code::Unavailable,
            Rejected::AttemptTimeout { .. } => Code::DeadlineExceeded,
        };
        let mut status = Status::new(code, rejected.to_string());
        status.set_source(Arc::new(rejected));
        status
    }
}
