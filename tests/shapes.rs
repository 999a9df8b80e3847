//! Every accepted function shape compiles, keeps its signature and retries as
//! documented: by-value arguments are fresh per attempt, `&mut` state is shared.
#![deny(warnings, clippy::pedantic)]
#![allow(clippy::unused_async)] // the point is to annotate async functions

mod support;

use std::fmt::Display;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use retry_runtime::retryable;

const CONFIG: &str = r#"
[policies.default]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"
"#;

fn setup() {
    support::install_once(CONFIG);
}

fn flaky() -> io::Error {
    io::ErrorKind::ConnectionReset.into()
}

/// Fails until it has been called `n` times.
fn fail_until(counter: &AtomicU32, n: u32) -> io::Result<u32> {
    let seen = counter.fetch_add(1, Ordering::SeqCst) + 1;
    if seen < n { Err(flaky()) } else { Ok(seen) }
}

#[retryable]
async fn free(counter: &AtomicU32) -> io::Result<u32> {
    fail_until(counter, 2)
}

#[retryable]
async fn by_value_mutated(
    mut items: Vec<u32>,
    seen: &std::sync::Mutex<Vec<usize>>,
) -> io::Result<usize> {
    // Each attempt gets a fresh clone: this push never leaks into the next attempt.
    items.push(99);
    seen.lock().unwrap().push(items.len());
    if seen.lock().unwrap().len() < 3 {
        Err(flaky())
    } else {
        Ok(items.len())
    }
}

#[retryable]
async fn consumed(label: String, counter: &AtomicU32) -> io::Result<String> {
    let owned: String = label; // moves the attempt's own copy
    fail_until(counter, 2)?;
    Ok(owned)
}

#[retryable]
async fn patterns((a, b): (u32, u32), counter: &AtomicU32) -> io::Result<u32> {
    fail_until(counter, 2)?;
    Ok(a + b)
}

#[retryable]
async fn generic<T, U: Display>(value: T, suffix: &U, counter: &AtomicU32) -> io::Result<String>
where
    T: Clone + Display + Send,
{
    fail_until(counter, 2)?;
    Ok(format!("{value}{suffix}"))
}

#[retryable]
async fn lifetimes<'a>(text: &'a str, counter: &AtomicU32) -> io::Result<&'a str> {
    fail_until(counter, 2)?;
    Ok(&text[1..])
}

#[retryable]
async fn impl_arg(f: impl Fn(u32) -> u32 + Clone + Send, counter: &AtomicU32) -> io::Result<u32> {
    let n = fail_until(counter, 2)?;
    Ok(f(n))
}

#[retryable]
async fn impl_return(counter: &AtomicU32) -> io::Result<impl Display + use<>> {
    fail_until(counter, 2)
}

#[retryable]
async fn early_return(counter: &AtomicU32) -> io::Result<&'static str> {
    if counter.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(flaky());
    }
    let parsed: u32 = "12"
        .parse()
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    if parsed == 12 {
        return Ok("returned");
    }
    Ok("fell through")
}

#[derive(Clone)]
struct Account {
    balance: u32,
    attempts: Arc<AtomicU32>,
}

impl Account {
    #[retryable]
    async fn read(&self) -> io::Result<u32> {
        fail_until(&self.attempts, 2)?;
        Ok(self.balance)
    }

    #[retryable(idempotent)]
    async fn deposit(&mut self, amount: u32) -> io::Result<u32> {
        // Shared across attempts (that is what `idempotent` asserts is fine).
        self.balance += amount;
        fail_until(&self.attempts, 2)?;
        Ok(self.balance)
    }

    #[retryable]
    async fn into_balance(mut self) -> io::Result<u32> {
        // By value: each attempt mutates its own clone.
        self.balance += 1;
        fail_until(&self.attempts, 3)?;
        Ok(self.balance)
    }

    #[retryable]
    async fn shared(self: Arc<Self>) -> io::Result<u32> {
        let me = self;
        fail_until(&me.attempts, 2)?;
        Ok(me.balance)
    }

    #[retryable(idempotent)]
    async fn pinned(self: Pin<&mut Self>) -> io::Result<u32> {
        let this = self.get_mut();
        this.balance += 1;
        fail_until(&this.attempts, 2)?;
        Ok(this.balance)
    }
}

trait Store {
    async fn get(&self, key: &str) -> io::Result<String>;
}

impl Store for Account {
    #[retryable(name = "account.get")]
    async fn get(&self, key: &str) -> io::Result<String> {
        fail_until(&self.attempts, 2)?;
        Ok(format!("{key}={}", self.balance))
    }
}

#[tracing::instrument(skip_all)]
#[retryable]
async fn instrument_above(counter: &AtomicU32, label: String) -> io::Result<String> {
    fail_until(counter, 2)?;
    Ok(label)
}

#[retryable]
#[tracing::instrument(skip_all)]
async fn instrument_below(counter: &AtomicU32, label: String) -> io::Result<String> {
    fail_until(counter, 2)?;
    Ok(label)
}

fn account() -> Account {
    Account {
        balance: 10,
        attempts: Arc::new(AtomicU32::new(0)),
    }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test(start_paused = true)]
async fn free_functions_and_arguments() {
    setup();
    let c = AtomicU32::new(0);
    assert_eq!(free(&c).await.unwrap(), 2);

    let seen = std::sync::Mutex::new(Vec::new());
    assert_eq!(by_value_mutated(vec![1, 2], &seen).await.unwrap(), 3);
    assert_eq!(
        *seen.lock().unwrap(),
        [3, 3, 3],
        "an attempt saw an earlier attempt's push"
    );

    let c = AtomicU32::new(0);
    assert_eq!(consumed("label".to_owned(), &c).await.unwrap(), "label");
    let c = AtomicU32::new(0);
    assert_eq!(patterns((2, 3), &c).await.unwrap(), 5);
    let c = AtomicU32::new(0);
    assert_eq!(generic(4, &"x", &c).await.unwrap(), "4x");
    let c = AtomicU32::new(0);
    assert_eq!(lifetimes("abc", &c).await.unwrap(), "bc");
    let c = AtomicU32::new(0);
    let offset = 40;
    assert_eq!(impl_arg(move |n| n + offset, &c).await.unwrap(), 42);
    let c = AtomicU32::new(0);
    assert_eq!(impl_return(&c).await.unwrap().to_string(), "2");
    let c = AtomicU32::new(0);
    assert_eq!(early_return(&c).await.unwrap(), "returned");
}

#[tokio::test(start_paused = true)]
async fn methods() {
    setup();
    assert_eq!(account().read().await.unwrap(), 10);

    let mut a = account();
    // Two attempts, each adding 5 to the shared balance.
    assert_eq!(a.deposit(5).await.unwrap(), 20);
    assert_eq!(a.balance, 20);

    // Three attempts on three fresh clones: each adds 1 to 10.
    assert_eq!(account().into_balance().await.unwrap(), 11);
    assert_eq!(Arc::new(account()).shared().await.unwrap(), 10);

    let mut p = account();
    assert_eq!(Pin::new(&mut p).pinned().await.unwrap(), 12);
    assert_eq!(account().get("k").await.unwrap(), "k=10");
}

#[tokio::test(start_paused = true)]
async fn stacking_with_tracing_instrument() {
    setup();
    let c = AtomicU32::new(0);
    assert_eq!(instrument_above(&c, "a".into()).await.unwrap(), "a");
    assert_eq!(c.load(Ordering::SeqCst), 2);
    let c = AtomicU32::new(0);
    assert_eq!(instrument_below(&c, "b".into()).await.unwrap(), "b");
    assert_eq!(c.load(Ordering::SeqCst), 2);
}

#[test]
fn futures_are_send_and_run_on_a_multi_threaded_runtime() {
    setup();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..8u32)
            .map(|i| {
                tokio::spawn(assert_send(async move {
                    let c = AtomicU32::new(0);
                    let mut a = account();
                    let got = a.deposit(i).await.unwrap();
                    let s = generic(i, &"!", &c).await.unwrap();
                    (got, s)
                }))
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let i = u32::try_from(i).unwrap();
            assert_eq!(task.await.unwrap(), (10 + 2 * i, format!("{i}!")));
        }
    });
}
