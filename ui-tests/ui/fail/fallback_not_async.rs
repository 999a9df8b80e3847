// The fallback of an async function is async too.
use retry_runtime::retryable;
use std::io;

struct Store;

impl Store {
    #[retryable(fallback = Self::cached)]
    async fn fetch(&self, id: u32) -> io::Result<u32> {
        Ok(id)
    }

    fn cached(&self, id: u32, _error: io::Error) -> io::Result<u32> {
        Ok(id)
    }
}

fn main() {
    let _ = Store.fetch(1);
}
