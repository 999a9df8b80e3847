// Rule 3: an `impl FnOnce` argument can be called once, but every attempt needs it.
use retry_runtime::retryable;
use std::io;

#[retryable]
async fn with_callback(done: impl FnOnce(u32)) -> io::Result<()> {
    done(1);
    Ok(())
}

fn main() {
    let _ = with_callback(|_| {});
}
