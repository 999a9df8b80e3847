// A `breaker_key` is compared by its text: its value must be `Display`.
use retry_runtime::retryable;
use std::io;

struct Endpoint {
    port: u16,
}

#[retryable(breaker = "hosts", breaker_key = endpoint)]
async fn fetch(endpoint: &Endpoint) -> io::Result<u16> {
    Ok(endpoint.port)
}

fn main() {
    let _ = fetch(&Endpoint { port: 80 });
}
