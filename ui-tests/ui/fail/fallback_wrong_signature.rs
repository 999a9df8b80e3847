// A fallback takes the function's arguments, then its error, and returns
// what the function returns; this one forgets the error.
use retry_runtime::retryable;
use std::io;

async fn cached(key: &str) -> io::Result<String> {
    Ok(key.to_owned())
}

#[retryable(fallback = cached)]
async fn fetch(key: &str) -> io::Result<String> {
    Ok(key.to_owned())
}

fn main() {
    let _ = fetch("a");
}
