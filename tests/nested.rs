//! Nested calls do not multiply retries (issue 13, DESIGN §9): a `#[retryable]`
//! call made inside another's attempt makes a single attempt unless its
//! policy says `nested = "retry"`; a spawned task is not nested. Async and sync.

mod support;

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use retry_runtime::{ManualClock, retryable};

const CONFIG: &str = r#"
[policies.three]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"

[policies.three-retrying]
max_attempts = 3
backoff = "constant"
initial_delay = "10ms"
jitter = "none"
nested = "retry"
"#;

fn setup() {
    support::install_once(CONFIG);
}

fn dead(bottom: &AtomicU32) -> io::Result<()> {
    bottom.fetch_add(1, Ordering::SeqCst);
    Err(io::ErrorKind::ConnectionRefused.into())
}

#[retryable(policy = "three")]
async fn inner(bottom: &AtomicU32) -> io::Result<()> {
    dead(bottom)
}

#[retryable(policy = "three-retrying")]
async fn inner_retrying(bottom: &AtomicU32) -> io::Result<()> {
    dead(bottom)
}

#[retryable(policy = "three")]
async fn outer(bottom: &AtomicU32) -> io::Result<()> {
    inner(bottom).await
}

#[retryable(policy = "three")]
async fn outer_of_retrying(bottom: &AtomicU32) -> io::Result<()> {
    inner_retrying(bottom).await
}

#[retryable(policy = "three")]
async fn outer_spawning(bottom: &'static AtomicU32) -> io::Result<()> {
    tokio::spawn(inner(bottom)).await.expect("the task ran")
}

#[tokio::test(start_paused = true)]
async fn an_inner_call_awaited_in_an_attempt_makes_a_single_attempt() {
    setup();
    let bottom = AtomicU32::new(0);
    assert!(outer(&bottom).await.is_err());
    assert_eq!(
        bottom.load(Ordering::SeqCst),
        3,
        "3 attempts at the bottom, not 9"
    );
    // Called on its own, the inner function retries as usual.
    let alone = AtomicU32::new(0);
    assert!(inner(&alone).await.is_err());
    assert_eq!(alone.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn nested_retry_opts_out() {
    setup();
    let bottom = AtomicU32::new(0);
    assert!(outer_of_retrying(&bottom).await.is_err());
    assert_eq!(bottom.load(Ordering::SeqCst), 9);
}

#[tokio::test(start_paused = true)]
async fn a_spawned_task_is_not_nested() {
    setup();
    static BOTTOM: AtomicU32 = AtomicU32::new(0);
    assert!(outer_spawning(&BOTTOM).await.is_err());
    assert_eq!(BOTTOM.load(Ordering::SeqCst), 9);
}

#[retryable(policy = "three")]
fn inner_sync(bottom: &AtomicU32) -> io::Result<()> {
    dead(bottom)
}

#[retryable(policy = "three-retrying")]
fn inner_sync_retrying(bottom: &AtomicU32) -> io::Result<()> {
    dead(bottom)
}

#[retryable(policy = "three")]
fn outer_sync(bottom: &AtomicU32) -> io::Result<()> {
    inner_sync(bottom)
}

#[retryable(policy = "three")]
fn outer_sync_of_retrying(bottom: &AtomicU32) -> io::Result<()> {
    inner_sync_retrying(bottom)
}

#[retryable(policy = "three")]
fn outer_sync_threading(bottom: &AtomicU32) -> io::Result<()> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let _clock = ManualClock::start();
            inner_sync(bottom)
        })
        .join()
        .expect("the thread ran")
    })
}

#[retryable(policy = "three")]
async fn outer_async_of_sync(bottom: &AtomicU32) -> io::Result<()> {
    inner_sync(bottom)
}

#[test]
fn sync_inside_sync_makes_a_single_attempt() {
    setup();
    let clock = ManualClock::start();
    let bottom = AtomicU32::new(0);
    assert!(outer_sync(&bottom).is_err());
    assert_eq!(bottom.load(Ordering::SeqCst), 3);
    assert_eq!(clock.sleeps().len(), 2, "only the outer call slept");

    let bottom = AtomicU32::new(0);
    assert!(outer_sync_of_retrying(&bottom).is_err());
    assert_eq!(bottom.load(Ordering::SeqCst), 9);

    let bottom = AtomicU32::new(0);
    assert!(outer_sync_threading(&bottom).is_err());
    assert_eq!(
        bottom.load(Ordering::SeqCst),
        9,
        "another thread is not nested"
    );
}

#[tokio::test(start_paused = true)]
async fn a_sync_call_inside_an_async_attempt_is_nested() {
    setup();
    let _clock = ManualClock::start();
    let bottom = AtomicU32::new(0);
    assert!(outer_async_of_sync(&bottom).await.is_err());
    assert_eq!(bottom.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn after_a_nested_call_the_thread_is_no_longer_inside_an_attempt() {
    setup();
    let bottom = AtomicU32::new(0);
    assert!(outer(&bottom).await.is_err());
    let later = AtomicU32::new(0);
    assert!(inner(&later).await.is_err());
    assert_eq!(later.load(Ordering::SeqCst), 3);
}

#[retryable(policy = "three")]
async fn outer_driving_a_local_set(bottom: &'static AtomicU32) -> io::Result<()> {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            tokio::task::spawn_local(inner(bottom))
                .await
                .expect("the task ran")
        })
        .await
}

/// Issue 16, item 6: a `spawn_local`ed task driven by `run_until` inside an
/// attempt is polled on the attempt's thread, within the attempt's poll, but
/// it is another task: not nested (it made one attempt per outer attempt).
#[tokio::test(start_paused = true)]
async fn a_local_task_driven_inside_an_attempt_is_not_nested() {
    setup();
    static BOTTOM: AtomicU32 = AtomicU32::new(0);
    assert!(outer_driving_a_local_set(&BOTTOM).await.is_err());
    assert_eq!(
        BOTTOM.load(Ordering::SeqCst),
        9,
        "9 attempts at the bottom, not 3"
    );
}

#[retryable(policy = "three")]
fn outer_sync_blocking_on_a_task(bottom: &'static AtomicU32) -> io::Result<()> {
    support::paused_runtime()
        .block_on(async move { tokio::spawn(inner(bottom)).await.expect("the task ran") })
}

#[retryable(policy = "three")]
fn outer_sync_blocking_on_a_call(bottom: &'static AtomicU32) -> io::Result<()> {
    support::paused_runtime().block_on(inner(bottom))
}

/// Issue 16, item 6: `block_on(tokio::spawn(..))` on a current-thread runtime
/// inside a sync attempt runs the task on the attempt's thread, but the task
/// is not nested. A call awaited by `block_on` itself (no task of its own)
/// runs inside the attempt: nested.
#[test]
fn a_task_spawned_inside_a_sync_attempt_is_not_nested() {
    setup();
    let _clock = ManualClock::start();
    static BOTTOM: AtomicU32 = AtomicU32::new(0);
    assert!(outer_sync_blocking_on_a_task(&BOTTOM).is_err());
    assert_eq!(
        BOTTOM.load(Ordering::SeqCst),
        9,
        "9 attempts at the bottom, not 3"
    );

    static CALLED: AtomicU32 = AtomicU32::new(0);
    assert!(outer_sync_blocking_on_a_call(&CALLED).is_err());
    assert_eq!(
        CALLED.load(Ordering::SeqCst),
        3,
        "awaited in the attempt: nested"
    );
}

/// What `current_attempt` says in an inner call's body, then in the outer
/// body once the inner call returned.
#[retryable(policy = "three")]
async fn inner_sees() -> io::Result<Option<retry_runtime::Attempt>> {
    tokio::task::yield_now().await;
    Ok(retry_runtime::current_attempt())
}

#[retryable(policy = "three")]
async fn outer_sees(
    runs: &AtomicU32,
) -> io::Result<(
    Option<retry_runtime::Attempt>,
    Option<retry_runtime::Attempt>,
    Option<retry_runtime::Attempt>,
)> {
    let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
    let before = retry_runtime::current_attempt();
    let inner = inner_sees().await?;
    let after = retry_runtime::current_attempt();
    if run == 1 {
        return Err(io::ErrorKind::ConnectionReset.into());
    }
    Ok((before, inner, after))
}

/// The current attempt is the innermost one being polled, and is put back
/// when an inner call returns, between polls (the inner body waits once),
/// and when a call ends: the attempt the thread-local points to is always
/// the live one of the poll in progress.
#[tokio::test(start_paused = true)]
async fn the_current_attempt_is_the_innermost_and_is_restored() {
    setup();
    assert_eq!(retry_runtime::current_attempt(), None);
    let runs = AtomicU32::new(0);
    let (before, inner, after) = outer_sees(&runs).await.unwrap();
    let number = |a: Option<retry_runtime::Attempt>| a.map(|a| a.number());
    assert_eq!(number(before), Some(2), "the outer call's retry");
    assert_eq!(number(inner), Some(1), "the inner call's single attempt");
    assert_eq!(number(after), Some(2), "back to the outer attempt");
    assert_eq!(retry_runtime::current_attempt(), None);
}

#[retryable(policy = "three")]
fn panics_sync() -> io::Result<()> {
    assert!(retry_runtime::current_attempt().is_some());
    panic!("the attempt panics");
}

#[retryable(policy = "three")]
async fn panics_async() -> io::Result<()> {
    assert!(retry_runtime::current_attempt().is_some());
    tokio::task::yield_now().await;
    panic!("the attempt panics");
}

/// An attempt that panics leaves no current attempt behind, sync or async
/// (the panic unwinds through the poll, which restores the thread-local), so
/// the next call on the thread is neither nested nor shown a dead attempt.
#[test]
fn a_panicking_attempt_leaves_no_current_attempt() {
    setup();
    let caught = std::panic::catch_unwind(panics_sync);
    assert!(caught.is_err());
    assert_eq!(retry_runtime::current_attempt(), None);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(panics_async())
    }));
    assert!(caught.is_err());
    assert_eq!(retry_runtime::current_attempt(), None);
    // A call after it on the same thread makes all its attempts: not nested.
    let bottom = AtomicU32::new(0);
    runtime.block_on(async { inner(&bottom).await.unwrap_err() });
    assert_eq!(bottom.load(Ordering::SeqCst), 3);
}
