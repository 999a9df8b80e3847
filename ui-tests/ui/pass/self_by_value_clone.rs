// `self` by value: each attempt gets its own clone, so `Self: Clone`.
use retry_runtime::retryable;
use std::io;

#[derive(Clone)]
struct Upload {
    bytes: Vec<u8>,
}

impl Upload {
    #[retryable]
    async fn send(mut self) -> io::Result<usize> {
        self.bytes.push(b'\n');
        Ok(self.bytes.len())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let upload = Upload { bytes: b"abc".to_vec() };
    assert_eq!(upload.send().await.unwrap(), 4);
}
