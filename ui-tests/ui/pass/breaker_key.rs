// `breaker_key` over the arguments: `&str`, an owned `String`, a `Display`
// value and an expression that borrows `self`.
use retry_runtime::retryable;
use std::io;

struct Client {
    region: String,
}

impl Client {
    #[retryable(breaker = "default", breaker_key = self.region)]
    async fn get(&self, path: &str) -> io::Result<usize> {
        Ok(path.len())
    }
}

#[retryable(breaker = "default", breaker_key = host)]
async fn by_host(host: &str) -> io::Result<()> {
    let _ = host;
    Ok(())
}

#[retryable(breaker = "default", breaker_key = format!("{shard}"))]
async fn by_shard(shard: u32) -> io::Result<u32> {
    Ok(shard)
}

#[retryable(breaker = "default", breaker_key = port)]
async fn by_port(port: u16) -> io::Result<u16> {
    Ok(port)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let client = Client { region: "eu".to_owned() };
    assert_eq!(client.get("/a").await.unwrap(), 2);
    by_host("a").await.unwrap();
    by_shard(3).await.unwrap();
    by_port(80).await.unwrap();
}
