// `crate = ".."`: the runtime re-exported under another path, as a library
// that wraps it would do. The path is resolved where the function is, like any
// path the user writes: `"rt"` at the crate root, `"crate::rt"` from anywhere.
use std::io;

mod rt {
    pub use retry_runtime::*;
}

#[rt::retryable(crate = "rt")]
async fn at_root() -> io::Result<u8> {
    Ok(1)
}

mod nested {
    use std::io;

    #[crate::rt::retryable(crate = "crate::rt")]
    pub async fn inside() -> io::Result<u8> {
        Ok(2)
    }

    #[crate::rt::retryable(crate = "super::rt")]
    pub async fn relative() -> io::Result<u8> {
        Ok(3)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(at_root().await.unwrap(), 1);
    assert_eq!(nested::inside().await.unwrap(), 2);
    assert_eq!(nested::relative().await.unwrap(), 3);
}
