// A by-value argument the body consumes: each attempt consumes its own clone.
use retry_runtime::retryable;
use std::io;

fn consume(body: Vec<u8>) -> usize {
    body.len()
}

#[retryable]
async fn upload(body: Vec<u8>, mut tag: String) -> io::Result<String> {
    tag.push('!');
    Ok(format!("{tag}{}", consume(body)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(upload(vec![1, 2, 3], "n".to_owned()).await.unwrap(), "n!3");
}
