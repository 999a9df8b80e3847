// `anyhow::Result<T>` without the runtime's feature `anyhow` is told to enable it.
use retry_runtime::retryable;

#[retryable]
async fn fetch() -> anyhow::Result<String> {
    Ok(String::new())
}

fn main() {
    let _ = fetch();
}
