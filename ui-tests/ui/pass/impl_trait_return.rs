// `impl Trait` inside the returned `Result`.
use retry_runtime::retryable;
use std::fmt::Display;
use std::io;

#[retryable]
async fn label(n: u32) -> Result<impl Display, io::Error> {
    Ok(format!("#{n}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(label(3).await.unwrap().to_string(), "#3");
}
