// Rule 2: `&mut self` needs `idempotent`.
use retry_runtime::retryable;
use std::io;

struct Counter {
    n: u32,
}

impl Counter {
    #[retryable]
    async fn bump(&mut self) -> io::Result<u32> {
        self.n += 1;
        Ok(self.n)
    }
}

fn main() {
    let mut counter = Counter { n: 0 };
    let _ = counter.bump();
}
