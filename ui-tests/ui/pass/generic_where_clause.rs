// Generic parameters, bounds inline and in a `where` clause.
use retry_runtime::retryable;
use std::fmt::Display;
use std::io;

#[retryable]
async fn render<T, U: Clone>(value: T, suffix: U) -> io::Result<String>
where
    T: Display + Clone,
    U: Display,
{
    Ok(format!("{value}{suffix}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(render(1, "s").await.unwrap(), "1s");
}
