// `fallback` takes a path to a function, not a closure.
use retry_runtime::retryable;
use std::io;

#[retryable(fallback = |_e| async { Ok(0) })]
async fn fetch() -> io::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = fetch();
}
