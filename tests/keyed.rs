//! Keyed breakers (`breaker_key`) on tokio's paused clock: one instance per
//! key, least recently used closed instance evicted past `max_keys`, what
//! happens when none is closed, `breaker_for` handles, `first_admitting`, and
//! the snapshot's keyed entries.

mod support;

use support::live_keys;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use retry_runtime::{BreakerState, Rejected, breaker, breaker_for, first_admitting, retryable};

const CONFIG: &str = r#"
[policies.once]
max_attempts = 1

[breakers.hosts]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"
half_open_calls = 1

[breakers.two]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"
max_keys = 2

[breakers.two-open]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"
max_keys = 2

[breakers.two-forced]
max_keys = 2

[breakers.handles]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"

[breakers.shapes]

[breakers.failover]
window_size = 2
minimum_calls = 2
failure_rate_threshold = 1.0
open_duration = "1s"
"#;

fn setup() {
    support::install_once(CONFIG);
}

fn outcome(fail: bool) -> io::Result<()> {
    if fail {
        Err(io::ErrorKind::ConnectionRefused.into())
    } else {
        Ok(())
    }
}

#[retryable(policy = "once", breaker = "hosts", breaker_key = host)]
async fn call_host(host: &str, fail: bool) -> io::Result<()> {
    outcome(fail)
}

#[retryable(policy = "once", breaker = "two", breaker_key = host)]
async fn call_two(host: &str, fail: bool) -> io::Result<()> {
    outcome(fail)
}

#[retryable(policy = "once", breaker = "two-open", breaker_key = host)]
async fn call_two_open(host: &str, fail: bool) -> io::Result<()> {
    outcome(fail)
}

#[retryable(policy = "once", breaker = "two-forced", breaker_key = host)]
async fn call_two_forced(host: &str) -> io::Result<()> {
    outcome(false)
}

#[retryable(policy = "once", breaker = "handles", breaker_key = host)]
async fn call_handles(host: &str, fail: bool) -> io::Result<()> {
    outcome(fail)
}

#[retryable(policy = "once", breaker = "failover", breaker_key = host)]
async fn call_failover(host: &str, fail: bool) -> io::Result<()> {
    outcome(fail)
}

fn is_breaker_open(result: &io::Result<()>) -> bool {
    result.as_ref().is_err_and(|e| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<Rejected>())
            .is_some_and(|r| matches!(r, Rejected::BreakerOpen { .. }))
    })
}

#[tokio::test(start_paused = true)]
async fn one_key_tripped_open_leaves_the_others_closed_and_called() {
    setup();
    for _ in 0..2 {
        assert!(call_host("down.example", true).await.is_err());
    }
    let refused = call_host("down.example", false).await;
    assert!(is_breaker_open(&refused));
    // The refusal names the key whose instance refused (issue 16).
    let rejected = refused
        .as_ref()
        .err()
        .and_then(|e| e.get_ref())
        .and_then(|inner| inner.downcast_ref::<Rejected>())
        .expect("a Rejected inside the io::Error");
    assert_eq!(rejected.breaker_key(), Some("down.example"));
    assert!(
        rejected.to_string().contains("key `down.example`"),
        "{rejected}"
    );
    // Another key of the same name: its own instance, closed, called.
    for _ in 0..5 {
        call_host("up.example", false)
            .await
            .expect("its own closed breaker");
    }
    assert_eq!(
        breaker_for("hosts", "down.example").unwrap().state(),
        BreakerState::Open
    );
    let up = breaker_for("hosts", "up.example").unwrap();
    assert_eq!(up.state(), BreakerState::Closed);
    assert_eq!(up.metrics().calls, 5);
    // The named breaker itself is not what keyed calls use.
    assert_eq!(breaker("hosts").unwrap().state(), BreakerState::Closed);
    assert_eq!(breaker("hosts").unwrap().metrics().calls, 0);
    // After open_duration the tripped key is tried again and closes on success.
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    call_host("down.example", false)
        .await
        .expect("a trial call");
    assert_eq!(
        breaker_for("hosts", "down.example").unwrap().state(),
        BreakerState::Closed
    );
}

#[tokio::test(start_paused = true)]
async fn past_max_keys_the_least_recently_used_closed_instance_is_evicted() {
    setup();
    call_two("a", true).await.unwrap_err(); // a: closed, one failure in its window
    call_two("b", false).await.unwrap();
    call_two("a", false).await.unwrap(); // a is now the most recently used
    assert_eq!(live_keys("two"), ["a", "b"]);
    call_two("c", false).await.unwrap(); // b, least recently used, goes
    assert_eq!(live_keys("two"), ["a", "c"]);
    assert_eq!(breaker("two").unwrap().live_keys(), 2);
    call_two("b", false).await.unwrap(); // a, least recently used now, goes
    assert_eq!(live_keys("two"), ["b", "c"]);
    // An evicted key's next call starts a fresh closed instance: a's failure is forgotten.
    call_two("a", false).await.unwrap();
    let a = breaker_for("two", "a").unwrap();
    assert_eq!(a.state(), BreakerState::Closed);
    assert_eq!(a.metrics().calls, 1);
    assert_eq!(a.metrics().failures, 0);
}

#[tokio::test(start_paused = true)]
async fn an_open_instance_is_kept_while_a_closed_one_can_go() {
    setup();
    // a trips open; b is closed and more recently used than a.
    call_two_open("a", true).await.unwrap_err();
    call_two_open("a", true).await.unwrap_err();
    call_two_open("b", false).await.unwrap();
    call_two_open("c", false).await.unwrap();
    // b went, although a is older: a is open and remembers a dead host.
    assert_eq!(live_keys("two-open"), ["a", "c"]);
    assert!(is_breaker_open(&call_two_open("a", false).await));

    // With no closed instance left, the least recently used one the breaker
    // opened by itself goes, so the bound holds.
    call_two_open("c", true).await.unwrap_err();
    call_two_open("c", true).await.unwrap_err(); // c open too, more recent than a
    call_two_open("d", false).await.unwrap();
    assert_eq!(live_keys("two-open"), ["c", "d"]);
    assert_eq!(breaker("two-open").unwrap().live_keys(), 2);
}

#[tokio::test(start_paused = true)]
async fn instances_forced_open_by_hand_are_never_evicted() {
    setup();
    breaker_for("two-forced", "a").unwrap().force_open();
    breaker_for("two-forced", "b").unwrap().disable();
    call_two_forced("c").await.unwrap();
    // Every live instance was set by hand: the new key gets one beyond the bound.
    assert_eq!(live_keys("two-forced"), ["a", "b", "c"]);
    // As soon as a closed one exists, a new key evicts it and the count stays.
    call_two_forced("d").await.unwrap();
    assert_eq!(live_keys("two-forced"), ["a", "b", "d"]);
    assert_eq!(
        breaker_for("two-forced", "a").unwrap().state(),
        BreakerState::ForcedOpen
    );
    // Once the hand-set ones are reset (closed), the next new key brings the
    // count back to the bound.
    breaker_for("two-forced", "a").unwrap().reset();
    breaker_for("two-forced", "b").unwrap().reset();
    call_two_forced("e").await.unwrap();
    assert_eq!(breaker("two-forced").unwrap().live_keys(), 2);
    assert_eq!(live_keys("two-forced"), ["b", "e"]);
}

#[tokio::test(start_paused = true)]
async fn breaker_for_forces_resets_and_disables_one_open_instance() {
    setup();
    call_handles("x", true).await.unwrap_err();
    call_handles("x", true).await.unwrap_err();
    let x = breaker_for("handles", "x").expect("a known name");
    assert_eq!(x.name(), "handles");
    assert_eq!(x.key(), Some("x"));
    assert_eq!(x.state(), BreakerState::Open);
    assert!(!x.admits());
    assert_eq!(x.metrics().failures, 2);

    x.force_open();
    assert_eq!(x.state(), BreakerState::ForcedOpen);
    tokio::time::advance(std::time::Duration::from_secs(5)).await;
    assert!(
        is_breaker_open(&call_handles("x", false).await),
        "forced open stays open"
    );

    x.reset();
    assert_eq!(x.state(), BreakerState::Closed);
    call_handles("x", false).await.expect("reset closes it");

    x.disable();
    assert_eq!(x.state(), BreakerState::Disabled);
    for _ in 0..4 {
        call_handles("x", true).await.unwrap_err();
    }
    assert_eq!(
        x.state(),
        BreakerState::Disabled,
        "a disabled instance records nothing"
    );

    // Other keys were never touched.
    assert_eq!(
        breaker_for("handles", "y").unwrap().state(),
        BreakerState::Closed
    );
    assert!(breaker_for("no-such-breaker", "x").is_none());
}

#[tokio::test(start_paused = true)]
async fn snapshot_lists_keyed_instances_after_their_name() {
    setup();
    call_host("snap-b", false).await.unwrap();
    call_host("snap-a", true).await.unwrap_err();
    let snapshot = retry_runtime::snapshot();
    let named = snapshot
        .breakers
        .iter()
        .position(|b| b.name == "hosts" && b.key.is_none())
        .expect("the named breaker");
    let a = snapshot
        .breakers
        .iter()
        .position(|b| b.key.as_deref() == Some("snap-a"))
        .expect("a keyed instance");
    assert!(a > named);
    assert_eq!(snapshot.breakers[a].name, "hosts");
    assert_eq!(snapshot.breakers[a].metrics.failures, 1);
    let json = serde_json::to_value(&snapshot.breakers[a]).unwrap();
    assert_eq!(json["key"], "snap-a");
    assert_eq!(json["name"], "hosts");
}

#[tokio::test(start_paused = true)]
async fn first_admitting_skips_keys_whose_breaker_refuses() {
    setup();
    let hosts = ["f1", "f2", "f3"];
    assert_eq!(first_admitting("failover", &hosts), Some(&"f1"));
    call_failover("f1", true).await.unwrap_err();
    call_failover("f1", true).await.unwrap_err();
    assert_eq!(first_admitting("failover", &hosts), Some(&"f2"));
    breaker_for("failover", "f2").unwrap().force_open();
    assert_eq!(first_admitting("failover", &hosts), Some(&"f3"));
    breaker_for("failover", "f3").unwrap().force_open();
    assert_eq!(first_admitting("failover", &hosts), None);
    // f1's open_duration passes: it admits a trial call again.
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    assert_eq!(first_admitting("failover", &hosts), Some(&"f1"));
    // Keys of other types compare by text.
    let ports = [1_u16, 2];
    assert_eq!(first_admitting("failover", &ports), Some(&1));
}

/// A key type of the user's own: compared by its `Display` text.
struct Shard(u32);

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard-{}", self.0)
    }
}

struct Client {
    region: String,
}

impl Client {
    /// The key borrows `self` and an argument.
    #[retryable(policy = "once", breaker = "shapes", breaker_key = format_args!("{}/{}", self.region, path.len()))]
    async fn get(&self, path: String) -> io::Result<usize> {
        Ok(path.len())
    }

    #[retryable(policy = "once", breaker = "shapes", breaker_key = self.region, idempotent)]
    async fn put(&mut self, body: Vec<u8>) -> io::Result<usize> {
        self.region.push('!');
        Ok(body.len())
    }
}

#[retryable(policy = "once", breaker = "shapes", breaker_key = addr)]
async fn by_addr(addr: SocketAddr) -> io::Result<()> {
    let _ = addr;
    Ok(())
}

#[retryable(policy = "once", breaker = "shapes", breaker_key = Shard(*n % 4))]
async fn by_shard(n: &u32) -> io::Result<u32> {
    Ok(*n)
}

#[retryable(policy = "once", breaker = "shapes", breaker_key = name.clone())]
async fn by_string(name: String) -> io::Result<String> {
    Ok(name)
}

#[tokio::test(start_paused = true)]
async fn keys_of_every_displayable_type_and_expressions_over_the_arguments() {
    setup();
    let mut client = Client {
        region: "eu".to_owned(),
    };
    assert_eq!(client.get("abc".to_owned()).await.unwrap(), 3);
    assert_eq!(client.put(vec![1, 2]).await.unwrap(), 2);
    by_addr(SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)))
        .await
        .unwrap();
    by_shard(&5).await.unwrap();
    by_shard(&9).await.unwrap();
    by_string("owned".to_owned()).await.unwrap();
    let keys = live_keys("shapes");
    for key in ["eu/3", "eu", "127.0.0.1:8080", "shard-1", "owned"] {
        assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
    }
    // shard-1 was called twice: one instance.
    assert_eq!(breaker_for("shapes", "shard-1").unwrap().metrics().calls, 2);
    // The key is computed before the first attempt: `put` changed the region after.
    assert_eq!(breaker_for("shapes", "eu").unwrap().metrics().calls, 1);
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn a_keyed_call_is_send() {
    assert_send(&call_host("k", false));
    assert_send(&by_string(String::new()));
}
