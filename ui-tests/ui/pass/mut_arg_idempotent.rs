// A `&mut T` argument with `idempotent`.
use retry_runtime::retryable;
use std::io;

#[retryable(idempotent)]
async fn fill(buffer: &mut Vec<u8>) -> io::Result<usize> {
    buffer.clear();
    buffer.extend_from_slice(b"data");
    Ok(buffer.len())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut buffer = Vec::new();
    assert_eq!(fill(&mut buffer).await.unwrap(), 4);
}
