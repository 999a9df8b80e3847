// Rule 2 on a sync method: `&mut self` needs `idempotent`.
use retry_runtime::retryable;
use std::io;

struct Counter {
    n: u32,
}

impl Counter {
    #[retryable]
    fn bump(&mut self) -> io::Result<u32> {
        self.n += 1;
        Ok(self.n)
    }
}

fn main() {
    let _ = Counter { n: 0 }.bump();
}
