// Rule 3: a by-value argument of another crate's type that is not `Clone` (here
// `std::fs::File`, standing in for a type such as `reqwest::Body`) cannot be
// re-supplied to a second attempt; the user cannot derive `Clone` for it.
use retry_runtime::retryable;
use std::fs::File;
use std::io::{self, Read};

#[retryable]
async fn upload(mut file: File) -> io::Result<usize> {
    let mut body = Vec::new();
    file.read_to_end(&mut body)
}

fn main() {
    let _ = upload;
}
