// `self: Pin<&mut Self>` with `idempotent`: each attempt reborrows with `Pin::as_mut`.
use retry_runtime::retryable;
use std::io;
use std::pin::Pin;

struct Reader {
    read: usize,
}

impl Reader {
    #[retryable(idempotent)]
    async fn advance(self: Pin<&mut Self>) -> io::Result<usize> {
        let this = self.get_mut();
        this.read += 1;
        Ok(this.read)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut reader = Reader { read: 0 };
    assert_eq!(Pin::new(&mut reader).advance().await.unwrap(), 1);
}
