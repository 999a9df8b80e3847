// Rule 3: `self` by value is cloned for each attempt, so `Self` must be `Clone`.
use retry_runtime::retryable;
use std::io;

struct Upload {
    bytes: Vec<u8>,
}

impl Upload {
    #[retryable]
    async fn send(self) -> io::Result<usize> {
        Ok(self.bytes.len())
    }
}

fn main() {
    let _ = Upload { bytes: Vec::new() }.send();
}
