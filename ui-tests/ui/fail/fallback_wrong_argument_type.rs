// A fallback takes the function's arguments with their types and passing
// modes: here `id` is taken by reference instead of by value.
use retry_runtime::retryable;
use std::io;

async fn cached(id: &u32, _error: io::Error) -> io::Result<u32> {
    Ok(*id)
}

#[retryable(fallback = cached)]
async fn fetch(id: u32) -> io::Result<u32> {
    Ok(id)
}

fn main() {
    let _ = fetch(1);
}
