// derive(Classify): a struct needs a class too.
use retry_runtime::Classify;

#[derive(Debug, Classify)]
struct Timeout {
    millis: u64,
}

fn main() {
    let _ = Timeout { millis: 5 }.millis;
}
