#![deny(warnings, clippy::pedantic)]
use retry_runtime::{Class, Classify, Rejected, retryable};
use std::fmt::Display;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

#[derive(Debug, Clone)]
#[allow(dead_code)]
enum MyErr {
    Flaky,
    Refused(Rejected),
}
impl Classify for MyErr {
    fn classify(&self) -> Class {
        Class::Transient
    }
}
impl From<Rejected> for MyErr {
    fn from(r: Rejected) -> Self {
        MyErr::Refused(r)
    }
}
impl From<io::Error> for MyErr {
    fn from(_: io::Error) -> Self {
        MyErr::Flaky
    }
}

#[retryable]
async fn generic<T: Clone + Send + Display, 'a>(
    x: T,
    s: &'a str,
    f: impl Fn(u32) -> u32 + Clone,
) -> Result<String, MyErr>
where
    T: Sync,
{
    let _ = f(1);
    let io: io::Result<()> = Ok(());
    io?;
    Ok(format!("{x}{s}"))
}

#[retryable]
async fn returns_impl() -> Result<impl Display, MyErr> {
    Ok(5)
}

#[retryable]
async fn pattern_args((a, b): (u32, u32), mut c: Vec<u8>) -> Result<u32, MyErr> {
    c.push(1);
    Ok(a + b + c.len() as u32)
}

#[derive(Clone)]
struct Svc {
    n: u32,
}

impl Svc {
    #[retryable]
    async fn by_value(self) -> Result<u32, MyErr> {
        Ok(self.n)
    }
    #[retryable]
    async fn by_arc(self: Arc<Self>) -> Result<u32, MyErr> {
        let me = self;
        Ok(me.n)
    }
    #[retryable(idempotent)]
    async fn pinned(self: Pin<&mut Self>) -> Result<u32, MyErr> {
        Ok(self.n)
    }
    #[retryable]
    async fn by_ref(&self) -> Result<u32, MyErr> {
        println!("{}", self.n);
        Ok(self::helper(self.n))
    }
}

fn helper(n: u32) -> u32 {
    n
}

trait Store {
    async fn get(&self, k: &str) -> Result<String, MyErr>;
}
impl Store for Svc {
    #[retryable(policy = "network", name = "store.get")]
    async fn get(&self, k: &str) -> Result<String, MyErr> {
        Ok(format!("{}{k}", self.n))
    }
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn shapes() {
    let f = generic(1u8, "x", |x| x);
    assert_send(&f);
    assert_eq!(f.await.unwrap(), "1x");
    assert_eq!(returns_impl().await.unwrap().to_string(), "5");
    assert_eq!(pattern_args((1, 2), vec![]).await.unwrap(), 4);
    let s = Svc { n: 7 };
    assert_eq!(s.clone().by_value().await.unwrap(), 7);
    assert_eq!(Arc::new(s.clone()).by_arc().await.unwrap(), 7);
    let mut s2 = s.clone();
    assert_eq!(Pin::new(&mut s2).pinned().await.unwrap(), 7);
    assert_eq!(s.by_ref().await.unwrap(), 7);
    assert_eq!(s.get("k").await.unwrap(), "7k");
}
