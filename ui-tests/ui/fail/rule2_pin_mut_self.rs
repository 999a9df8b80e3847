// Rule 2: `self: Pin<&mut Self>` needs `idempotent`.
use retry_runtime::retryable;
use std::io;
use std::pin::Pin;

struct Reader {
    read: usize,
}

impl Reader {
    #[retryable]
    async fn advance(self: Pin<&mut Self>) -> io::Result<usize> {
        let this = self.get_mut();
        this.read += 1;
        Ok(this.read)
    }
}

fn main() {
    let mut reader = Reader { read: 0 };
    let _ = Pin::new(&mut reader).advance();
}
