//! `Classify` for `anyhow::Error` (feature `anyhow`).

use crate::{Class, Classify, Rejected};

/// The first error in the chain (the error itself, then its `source()`s, context
/// included) whose type the runtime knows decides:
///
/// - [`Rejected`] and `std::io::Error`, always;
/// - `retry_runtime::reqwest::Error` and `reqwest::Error` with the feature `reqwest`;
/// - `tonic::Status` with the feature `tonic`.
///
/// **When none does** (an `anyhow!("...")` message, a parse error, an error type
/// of yours), the error is `Transient`: you put `#[retryable]` on the function,
/// and its policy, retry budget and breaker bound what that costs. To make such
/// failures permanent, wrap a typed error the runtime knows (for instance
/// `io::Error::new(io::ErrorKind::InvalidInput, e)`), or give the attribute a
/// `retry_if` predicate that downcasts.
///
/// `anyhow::Error` already implements `From<Rejected>`, so `anyhow::Result<T>`
/// needs nothing more:
///
/// ```
/// use retry_runtime::{Class, Classify};
/// use std::io;
///
/// let reset = anyhow::Error::new(io::Error::from(io::ErrorKind::ConnectionReset)).context("fetching the index");
/// assert_eq!(reset.classify(), Class::Transient);
/// let denied = anyhow::Error::new(io::Error::from(io::ErrorKind::PermissionDenied));
/// assert_eq!(denied.classify(), Class::Permanent);
/// assert_eq!(anyhow::anyhow!("no idea").classify(), Class::Transient);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "anyhow")))]
impl Classify for anyhow::Error {
    fn classify(&self) -> Class {
        deciding(self).map_or(Class::Transient, Classify::classify)
    }

    fn replay_safe(&self) -> bool {
        deciding(self).is_none_or(Classify::replay_safe)
    }

    fn is_outage(&self) -> bool {
        deciding(self).is_some_and(Classify::is_outage)
    }
}

/// The first error of the chain whose type the runtime knows.
fn deciding(error: &anyhow::Error) -> Option<&dyn Classify> {
    error.chain().find_map(known)
}

fn known<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e dyn Classify> {
    if let Some(e) = error.downcast_ref::<Rejected>() {
        return Some(e);
    }
    if let Some(e) = error.downcast_ref::<std::io::Error>() {
        return Some(e);
    }
    #[cfg(feature = "reqwest")]
    {
        if let Some(e) = error.downcast_ref::<crate::reqwest::Error>() {
            return Some(e);
        }
        if let Some(e) = error.downcast_ref::<reqwest::Error>() {
            return Some(e);
        }
    }
    #[cfg(feature = "tonic")]
    {
        if let Some(e) = error.downcast_ref::<tonic::Status>() {
            return Some(e);
        }
    }
    None
}
