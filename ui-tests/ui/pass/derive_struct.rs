// derive(Classify) on structs: a class, a transparent wrapper, a retry-after field.
use retry_runtime::{Class, Classify};
use std::time::Duration;

#[derive(Debug, Classify)]
#[classify(transient)]
struct Busy;

#[derive(Debug, Classify)]
#[classify(transparent)]
struct Wrapped(std::io::Error);

#[derive(Debug, Classify)]
struct Throttled {
    #[classify(retry_after)]
    wait: Option<Duration>,
    reason: String,
}

fn main() {
    assert_eq!(Busy.classify(), Class::Transient);
    assert_eq!(Wrapped(std::io::ErrorKind::NotFound.into()).classify(), Class::Permanent);
    let t = Throttled { wait: Some(Duration::from_secs(1)), reason: String::new() };
    assert_eq!(t.classify(), Class::RetryAfter(Duration::from_secs(1)));
    let _ = t.reason;
}
