// `hedge` on the shapes it accepts: free functions, `&self` methods, by-value
// (cloned) arguments, generics; the future stays `Send`.
use retry_runtime::{current_attempt, retryable};
use std::io;

#[retryable(policy = "network", hedge = "default", idempotent)]
async fn lookup(replicas: &[&str], query: String) -> io::Result<String> {
    let attempt = current_attempt().expect("inside an attempt");
    let replica = replicas[attempt.number() as usize % replicas.len()];
    Ok(format!("{replica}:{query}"))
}

struct Client {
    name: String,
}

impl Client {
    #[retryable(hedge = "default", idempotent)]
    async fn get<K: AsRef<str> + Clone + Send>(&self, key: K) -> io::Result<String> {
        Ok(format!("{}/{}", self.name, key.as_ref()))
    }
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let replicas = ["a", "b"];
    let future = lookup(&replicas, "q".to_owned());
    assert_send(&future);
    assert_eq!(future.await.unwrap(), "b:q");
    let client = Client { name: "c".to_owned() };
    let future = client.get("k");
    assert_send(&future);
    assert_eq!(future.await.unwrap(), "c/k");
}
