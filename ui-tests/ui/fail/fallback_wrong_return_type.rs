// A fallback returns what the function returns.
use retry_runtime::retryable;
use std::io;

#[derive(Debug)]
enum StoreError {
    Io(io::Error),
}

impl From<retry_runtime::Rejected> for StoreError {
    fn from(r: retry_runtime::Rejected) -> Self {
        StoreError::Io(r.into())
    }
}

impl retry_runtime::Classify for StoreError {
    fn classify(&self) -> retry_runtime::Class {
        retry_runtime::Class::Transient
    }
}

async fn cached(_key: &str, _error: StoreError) -> io::Result<String> {
    Ok(String::new())
}

#[retryable(fallback = cached)]
async fn fetch(key: &str) -> Result<String, StoreError> {
    Ok(key.to_owned())
}

fn main() {
    let _ = fetch("a");
}
