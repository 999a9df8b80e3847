//! `#[derive(Classify)]`: every shape of DESIGN §8, classified as written, and
//! composed with `thiserror` on the same enum.

use std::io;
use std::time::Duration;

use retry_runtime::{Class, Classify, Rejected};

#[derive(Debug, thiserror::Error, Classify)]
#[classify(permanent)]
enum StoreError {
    #[error("unavailable")]
    #[classify(transient)]
    Unavailable,
    #[error("throttled")]
    #[classify(retry_after)]
    Throttled(Duration),
    #[error("slow down")]
    SlowDown {
        #[classify(retry_after)]
        after: Option<Duration>,
        region: String,
    },
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    #[classify(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    #[classify(transparent)]
    Refused(#[from] Rejected),
}

#[test]
fn every_variant_of_the_design_example_has_its_class() {
    let secs = Duration::from_secs;
    assert_eq!(StoreError::Unavailable.classify(), Class::Transient);
    assert_eq!(
        StoreError::Throttled(secs(2)).classify(),
        Class::RetryAfter(secs(2))
    );
    let slow = |after| StoreError::SlowDown {
        after,
        region: "eu-west-1".to_owned(),
    };
    assert_eq!(slow(Some(secs(7))).classify(), Class::RetryAfter(secs(7)));
    assert_eq!(slow(None).classify(), Class::Transient);
    assert_eq!(StoreError::NotFound.classify(), Class::Permanent);
    // `#[from]` and `transparent` on the same variant: the io::Error decides.
    let reset: StoreError = io::Error::from(io::ErrorKind::ConnectionReset).into();
    assert_eq!(reset.classify(), Class::Transient);
    let missing: StoreError = io::Error::from(io::ErrorKind::NotFound).into();
    assert_eq!(missing.classify(), Class::Permanent);
    let open: StoreError = Rejected::breaker_open("s3").into();
    assert_eq!(open.classify(), Class::Permanent);
    // thiserror's Display still works beside it.
    assert_eq!(StoreError::NotFound.to_string(), "not found");
}

/// A generic enum: `E: Classify` is required only where a field is transparent.
#[derive(Debug, Classify)]
enum Layered<E, M> {
    #[classify(transparent)]
    Inner(E),
    #[classify(permanent)]
    Meta(M),
    #[classify(transient)]
    Busy,
}

#[test]
fn generic_enums_bound_only_transparent_fields() {
    struct NotClassify;
    let inner: Layered<io::Error, NotClassify> =
        Layered::Inner(io::Error::from(io::ErrorKind::TimedOut));
    assert_eq!(inner.classify(), Class::Transient);
    let meta: Layered<io::Error, NotClassify> = Layered::Meta(NotClassify);
    assert_eq!(meta.classify(), Class::Permanent);
    assert_eq!(Layered::<Rejected, ()>::Busy.classify(), Class::Transient);
}

#[derive(Debug, Classify)]
#[classify(transparent)]
struct Wrapper(io::Error);

#[derive(Debug, Classify)]
#[classify(transient)]
struct Flaky;

#[derive(Debug, Classify)]
struct Throttle {
    #[classify(retry_after)]
    wait: Duration,
    #[allow(dead_code)]
    reason: &'static str,
}

#[test]
fn structs_have_one_class() {
    assert_eq!(
        Wrapper(io::Error::from(io::ErrorKind::BrokenPipe)).classify(),
        Class::Transient
    );
    assert_eq!(Flaky.classify(), Class::Transient);
    let wait = Duration::from_millis(1500);
    assert_eq!(
        Throttle {
            wait,
            reason: "quota"
        }
        .classify(),
        Class::RetryAfter(wait)
    );
}

/// An error that knows its attempt reached the server.
#[derive(Debug)]
struct Sent;

impl Classify for Sent {
    fn classify(&self) -> Class {
        Class::Transient
    }
    fn replay_safe(&self) -> bool {
        false
    }
    fn is_outage(&self) -> bool {
        true
    }
}

#[derive(Debug, Classify)]
enum Outer {
    #[classify(transparent)]
    Sent(Sent),
    #[classify(transient)]
    Other,
}

#[test]
fn transparent_variants_forward_replay_safety() {
    assert!(!Outer::Sent(Sent).replay_safe());
    assert!(Outer::Other.replay_safe());
    assert!(StoreError::Unavailable.replay_safe());
}

/// Issue 16, item 2: a 5xx with `Retry-After` wrapped in an enum of the
/// user's still opens a breaker: `is_outage` is forwarded too.
#[test]
fn transparent_variants_forward_outage() {
    assert!(Outer::Sent(Sent).is_outage());
    assert!(!Outer::Other.is_outage());
    assert!(!StoreError::Throttled(Duration::from_secs(1)).is_outage());
}

mod reexported {
    //! `#[classify(crate = "...")]` for a runtime re-exported under another path.
    pub mod retry {
        pub use retry_runtime::*;
    }

    #[derive(Debug, retry_runtime::Classify)]
    #[classify(crate = "crate::reexported::retry", permanent)]
    pub enum Error {
        #[classify(transient)]
        Busy,
        Gone,
    }
}

#[test]
fn crate_path_override() {
    use reexported::Error;
    assert_eq!(Error::Busy.classify(), Class::Transient);
    assert_eq!(Error::Gone.classify(), Class::Permanent);
}
