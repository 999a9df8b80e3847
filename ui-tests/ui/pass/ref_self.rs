// `&self`: every attempt shares the receiver; nothing to declare.
use retry_runtime::retryable;
use std::io;

struct Client {
    base: String,
}

impl Client {
    #[retryable]
    async fn url(&self, path: &str) -> io::Result<String> {
        Ok(format!("{}/{path}", self.base))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let client = Client { base: "http://localhost".to_owned() };
    assert_eq!(client.url("a").await.unwrap(), "http://localhost/a");
}
