// Rule 3: a by-value argument is cloned for each attempt, so it must be `Clone`.
use retry_runtime::retryable;
use std::io;

struct Request {
    body: Vec<u8>,
}

#[retryable]
async fn send(request: Request) -> io::Result<usize> {
    Ok(request.body.len())
}

fn main() {
    let _ = send(Request { body: Vec::new() });
}
