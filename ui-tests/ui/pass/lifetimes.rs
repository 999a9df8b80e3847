// Named and elided lifetimes, in arguments and in the result.
use retry_runtime::retryable;
use std::io;

#[retryable]
async fn first_word<'a>(text: &'a str, _separator: &str) -> io::Result<&'a str> {
    Ok(text.split(' ').next().unwrap_or(text))
}

struct Parser<'src> {
    source: &'src str,
}

impl<'src> Parser<'src> {
    #[retryable]
    async fn head(&self) -> io::Result<&'src str> {
        Ok(&self.source[..1])
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(first_word("hello world", " ").await.unwrap(), "hello");
    assert_eq!(Parser { source: "xyz" }.head().await.unwrap(), "x");
}
