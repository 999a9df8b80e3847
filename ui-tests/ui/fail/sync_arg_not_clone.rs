// Rule 3 on a sync function: by-value arguments are cloned for each attempt.
use retry_runtime::retryable;
use std::io;

struct Token(u64);

#[retryable]
fn send(token: Token) -> io::Result<u64> {
    Ok(token.0)
}

fn main() {
    let _ = send(Token(1));
}
