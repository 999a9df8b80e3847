// `impl Trait` arguments: by value they must be `Clone`; by reference, anything.
use retry_runtime::retryable;
use std::fmt::Display;
use std::io;

#[retryable]
async fn apply(f: impl Fn(u32) -> u32 + Clone, label: &impl Display) -> io::Result<String> {
    Ok(format!("{label}={}", f(1)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(apply(|x| x + 1, &"x").await.unwrap(), "x=2");
}
