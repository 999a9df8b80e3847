// A sync `fn` that returns a future: retrying would retry building the future,
// not the work it does.
use retry_runtime::retryable;
use std::future::Future;
use std::io;

#[retryable]
fn fetch() -> impl Future<Output = io::Result<()>> {
    async { Ok(()) }
}

fn main() {
    let _ = fetch();
}
