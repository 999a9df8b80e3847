// `name = ".."` replaces `module_path::fn_name` in logs, metrics and `call_sites()`.
use retry_runtime::{call_sites, retryable};
use std::io;

#[retryable(name = "store.get")]
async fn get() -> io::Result<()> {
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    get().await.unwrap();
    assert!(call_sites().iter().any(|site| site.name() == "store.get"));
}
