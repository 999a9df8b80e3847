//! Keyed breakers whose hits take no lock: eviction stays exactly "least
//! recently used" whichever thread made each hit, a call whose instance was
//! evicted and given to another key records nothing into that key, and
//! threads hitting the same keys while another churns new ones keep the
//! bound and lose no hand-set state.

mod support;

use support::live_keys;

use std::collections::HashSet;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use retry_runtime::{BreakerState, breaker, breaker_for, retryable};
use tokio::sync::Notify;

const CONFIG: &str = r#"
[policies.once]
max_attempts = 1

[breakers.three]
max_keys = 3

[breakers.three-threads]
max_keys = 3

[breakers.three-workers]
max_keys = 3

[breakers.one]
window_size = 1
minimum_calls = 1
failure_rate_threshold = 1.0
open_duration = "1s"
max_keys = 1

[breakers.stress]
max_keys = 8
"#;

fn setup() {
    support::install_once(CONFIG);
}

#[retryable(policy = "once", breaker = "three", breaker_key = key)]
async fn three(key: &str) -> io::Result<()> {
    let _ = key;
    Ok(())
}

#[retryable(policy = "once", breaker = "three-workers", breaker_key = key)]
async fn three_workers(key: &str) -> io::Result<()> {
    let _ = key;
    Ok(())
}

#[retryable(policy = "once", breaker = "three-threads", breaker_key = key)]
fn three_threads(key: &str) -> io::Result<()> {
    let _ = key;
    Ok(())
}

/// Calls (or hits) in order, and the keys live after each step, sorted.
/// Each step is a key; the table holds three.
const STEPS: [(&str, &[&str]); 11] = [
    ("a", &["a"]),
    ("b", &["a", "b"]),
    ("c", &["a", "b", "c"]),
    ("a", &["a", "b", "c"]),
    // b is the least recently used: a was hit after it.
    ("d", &["a", "c", "d"]),
    ("c", &["a", "c", "d"]),
    ("a", &["a", "c", "d"]),
    // d, created before c and a were hit again.
    ("e", &["a", "c", "e"]),
    // c: hit before a, and e is newer.
    ("f", &["a", "e", "f"]),
    ("e", &["a", "e", "f"]),
    // a, hit longest ago.
    ("g", &["e", "f", "g"]),
];

#[tokio::test(start_paused = true)]
async fn one_thread_evicts_exactly_the_least_recently_used() {
    setup();
    for (key, live) in STEPS {
        three(key).await.unwrap();
        assert_eq!(live_keys("three"), live, "after {key}");
    }
}

/// Each call on a thread of its own, one after the other: every hit writes
/// a different thread's line, and the order still holds.
#[test]
fn hits_from_different_threads_keep_the_order() {
    setup();
    for (key, live) in STEPS {
        std::thread::scope(|s| {
            s.spawn(|| three_threads(key).unwrap());
        });
        assert_eq!(live_keys("three-threads"), live, "after {key}");
    }
}

/// What an exact LRU table of `max` keys holds after each access of `keys`,
/// sorted: the model the table is compared with.
fn model(keys: &[String], max: usize) -> Vec<Vec<String>> {
    let mut recent: Vec<String> = Vec::new();
    keys.iter()
        .map(|key| {
            recent.retain(|k| k != key);
            recent.insert(0, key.clone());
            recent.truncate(max);
            let mut live = recent.clone();
            live.sort();
            live
        })
        .collect()
}

/// One task on a runtime with four workers, yielding between calls so that
/// its hits land on whichever worker picks it up: 2,000 accesses over seven
/// keys, in a scrambled order, each checked against an exact LRU.
#[test]
fn one_task_moving_between_workers_keeps_the_order() {
    setup();
    let keys: Vec<String> = (0..2_000_u64)
        .map(|i| {
            format!(
                "k{}",
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) % 7
            )
        })
        .collect();
    let expected = model(&keys, 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .expect("a runtime");
    let threads = runtime.block_on(async move {
        tokio::spawn(async move {
            let mut threads = HashSet::new();
            for (n, (key, live)) in keys.iter().zip(&expected).enumerate() {
                tokio::task::yield_now().await;
                threads.insert(std::thread::current().id());
                three_workers(key).await.unwrap();
                assert_eq!(&live_keys("three-workers"), live, "after {key}, access {n}");
            }
            threads.len()
        })
        .await
        .expect("the task")
    });
    println!("the task ran on {threads} worker threads");
}

#[retryable(policy = "once", breaker = "one", breaker_key = key)]
async fn one(key: &str, go: Option<Arc<Notify>>) -> io::Result<()> {
    match go {
        Some(go) => {
            go.notified().await;
            Err(io::ErrorKind::ConnectionRefused.into())
        }
        None => Ok(()),
    }
}

/// A call in flight whose instance is evicted, and whose slot goes to
/// another key, fails afterwards: the failure does not count for the new
/// key (which one failure would open: `minimum_calls = 1`).
#[tokio::test(start_paused = true)]
async fn a_call_whose_instance_was_reused_records_nothing_into_the_new_key() {
    setup();
    let go = Arc::new(Notify::new());
    let in_flight = tokio::spawn(one("a", Some(Arc::clone(&go))));
    tokio::task::yield_now().await; // `a` is admitted and waits
    assert_eq!(live_keys("one"), ["a"]);
    one("b", None).await.unwrap(); // max_keys = 1: a is evicted, its slot is b's
    assert_eq!(live_keys("one"), ["b"]);
    go.notify_one();
    in_flight.await.unwrap().unwrap_err();
    let b = breaker_for("one", "b").unwrap();
    assert_eq!(b.state(), BreakerState::Closed, "a's failure opened b");
    let metrics = b.metrics();
    assert_eq!(metrics.calls, 1, "b's own call only");
    assert_eq!(metrics.failures, 0);
    assert_eq!(metrics.window_calls, 1);
    // b's own failure counts: the slot is b's.
    let own = tokio::spawn(one("b", Some(Arc::clone(&go))));
    tokio::task::yield_now().await;
    go.notify_one();
    own.await.unwrap().unwrap_err();
    assert_eq!(b.state(), BreakerState::Open);
}

#[retryable(policy = "once", breaker = "stress", breaker_key = key)]
fn stress_call(key: &str) -> io::Result<()> {
    let _ = key;
    Ok(())
}

/// Two threads hit the same four keys, a third churns new keys through
/// `max_keys = 8`, and this one forces a key open, checks it and resets it:
/// no call is refused (every instance is closed, or stale and admitting),
/// the count never passes the bound, and no forced state is lost.
#[test]
fn hot_keys_churn_and_forced_keys_together() {
    setup();
    const FOR: Duration = Duration::from_secs(2);
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for t in 0..2 {
        let (stop, calls) = (Arc::clone(&stop), Arc::clone(&calls));
        threads.push(std::thread::spawn(move || {
            let mut n = 0_usize;
            while !stop.load(Ordering::Relaxed) {
                stress_call(["hot-0", "hot-1", "hot-2", "hot-3"][(n + t) % 4])
                    .expect("a closed instance admits");
                n += 1;
            }
            calls.fetch_add(n as u64, Ordering::Relaxed);
        }));
    }
    {
        let (stop, calls) = (Arc::clone(&stop), Arc::clone(&calls));
        threads.push(std::thread::spawn(move || {
            let mut n = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                stress_call(&format!("new-{n}")).expect("a closed instance admits");
                n += 1;
            }
            calls.fetch_add(n, Ordering::Relaxed);
        }));
    }
    let stress = breaker("stress").unwrap();
    let started = std::time::Instant::now();
    let mut rounds = 0_u64;
    let mut lost = Vec::new();
    let mut most = 0;
    while rounds < 20_000 && started.elapsed() < FOR {
        let key = format!("forced-{rounds}");
        let handle = breaker_for("stress", &key).unwrap();
        handle.force_open();
        if handle.state() != BreakerState::ForcedOpen {
            lost.push(key);
        }
        most = most.max(stress.live_keys());
        handle.reset();
        rounds += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("no panic in a calling thread");
    }
    println!(
        "{rounds} forced keys, {} calls, at most {most} live",
        calls.load(Ordering::Relaxed)
    );
    assert!(rounds > 100, "too few rounds to mean anything: {rounds}");
    assert!(
        lost.is_empty(),
        "forced states lost: {:?}",
        &lost[..lost.len().min(3)]
    );
    assert!(most <= 8, "{most} live instances, max_keys = 8");
    assert!(stress.live_keys() <= 8);
}
