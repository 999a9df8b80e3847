// Rule 3: a foreign non-`Clone` type inside a by-value argument (here a
// channel's `Receiver` in an `Option`) makes the whole argument impossible to
// re-supply. rustc reports the innermost missing `Clone` with its own message,
// not `#[retryable]`'s: this case keeps that known limit visible.
use retry_runtime::retryable;
use std::io;
use std::sync::mpsc::Receiver;

#[retryable]
async fn drain(chunks: Option<Receiver<u8>>) -> io::Result<usize> {
    Ok(chunks.map_or(0, |rx| rx.try_iter().count()))
}

fn main() {
    let _ = drain(None);
}
