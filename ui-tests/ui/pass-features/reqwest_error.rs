// With the feature `reqwest`: `Result<T, retry_runtime::reqwest::Error>` needs no code of the user's.
use retry_runtime::reqwest::{Error, send};
use retry_runtime::retryable;

#[retryable(policy = "none")]
async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, Error> {
    Ok(send(client.get(url)).await?.text().await?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    // Port 1 on loopback: nothing listens, so this fails to connect.
    let error = fetch(&client, "http://127.0.0.1:1/").await.unwrap_err();
    assert!(error.is_connect());
}
