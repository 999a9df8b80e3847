// Rule 2: a `Pin<&mut T>` argument needs `idempotent`.
use retry_runtime::retryable;
use std::io;
use std::pin::Pin;

#[retryable]
async fn fill(buffer: Pin<&mut Vec<u8>>) -> io::Result<usize> {
    let buffer = buffer.get_mut();
    buffer.push(1);
    Ok(buffer.len())
}

fn main() {
    let mut buffer = Vec::new();
    let _ = fill(Pin::new(&mut buffer));
}
