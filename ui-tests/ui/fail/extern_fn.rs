// An `extern` function cannot be retried: foreign code cannot await it.
use retry_runtime::retryable;
use std::io;

#[retryable]
async extern "C" fn fetch() -> io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
