// Hedging rule 2: hedged attempts run at the same time, so `&mut self`
// cannot be lent to them, even with `idempotent`.
use retry_runtime::retryable;
use std::io;

struct Index {
    hits: u64,
}

impl Index {
    #[retryable(hedge = "search", idempotent)]
    async fn lookup(&mut self, query: &str) -> io::Result<usize> {
        self.hits += 1;
        Ok(query.len())
    }
}

fn main() {
    let mut index = Index { hits: 0 };
    let _ = index.lookup("rust");
}
