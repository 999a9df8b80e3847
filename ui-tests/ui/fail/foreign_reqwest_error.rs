// A function returning `reqwest::Error` is told what to return instead.
use retry_runtime::retryable;

#[retryable]
async fn fetch(client: &reqwest::Client) -> Result<String, reqwest::Error> {
    client.get("http://127.0.0.1:1/").send().await?.text().await
}

fn main() {
    let client = reqwest::Client::new();
    let _ = fetch(&client);
}
