// Patterns in argument position: tuples, structs, references, `_`.
use retry_runtime::retryable;
use std::io;

#[derive(Clone)]
struct Point {
    x: i32,
    y: i32,
}

#[retryable]
async fn sum(
    (a, b): (i32, i32),
    Point { x, y }: Point,
    &scale: &i32,
    _: String,
) -> io::Result<i32> {
    Ok((a + b + x + y) * scale)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let total = sum((1, 2), Point { x: 3, y: 4 }, &2, String::new()).await.unwrap();
    assert_eq!(total, 20);
}
