// Rule 5: `idempotent` is a flag. The mistake is reported once: `&mut self`
// is not reported again as lacking `idempotent`.
use retry_runtime::retryable;
use std::io;

struct Counter {
    n: u32,
}

impl Counter {
    #[retryable(idempotent = true)]
    async fn reset(&mut self) -> io::Result<()> {
        self.n = 0;
        Ok(())
    }
}

fn main() {
    let mut counter = Counter { n: 1 };
    let _ = counter.reset();
}
