// Rule 2: a `&mut T` argument needs `idempotent`.
use retry_runtime::retryable;
use std::io;

#[retryable]
async fn append(log: &mut Vec<String>, line: &str) -> io::Result<()> {
    log.push(line.to_owned());
    Ok(())
}

fn main() {
    let mut log = Vec::new();
    let _ = append(&mut log, "hello");
}
