// `self: Arc<Self>`: cloning the `Arc` is cheap, and `Self` need not be `Clone`.
use retry_runtime::retryable;
use std::io;
use std::sync::Arc;

struct Service {
    name: String,
}

impl Service {
    #[retryable]
    async fn describe(self: Arc<Self>) -> io::Result<String> {
        Ok(self.name.clone())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let service = Arc::new(Service { name: "s3".to_owned() });
    assert_eq!(service.describe().await.unwrap(), "s3");
}
