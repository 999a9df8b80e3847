// Result aliases: `io::Result<T>` and one of the crate's own.
use retry_runtime::retryable;
use std::io;

type Outcome<T> = Result<T, io::Error>;

#[retryable]
async fn read() -> io::Result<u8> {
    Ok(1)
}

#[retryable]
async fn write() -> Outcome<()> {
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(read().await.unwrap(), 1);
    write().await.unwrap();
}
