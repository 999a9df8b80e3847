// A sync function's fallback is a sync function.
use retry_runtime::retryable;
use std::io;

async fn cached(_key: &str, _error: io::Error) -> io::Result<String> {
    Ok(String::new())
}

#[retryable(fallback = cached)]
fn load(key: &str) -> io::Result<String> {
    Ok(key.to_owned())
}

fn main() {
    let _ = load("k");
}
