//! A successful call through `#[retryable]` allocates nothing: counted with a
//! global allocator that tallies every allocation made on the test's thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io;

use retry_runtime::retryable;

#[path = "fleet/support.rs"]
#[allow(dead_code)]
mod fleet_support;

/// Both tests install this config (every call site of the binary is
/// registered, so each needs every name defined).
const CONFIG: &str = r#"
[hedges.slow]
delay = "10s"

# A breaker shared with the fleet: slow calls timed (the default).
[breakers.fleet-alloc]
fleet = true
"#;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged;
// the only addition is a thread-local counter, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded as received; `GlobalAlloc::alloc`'s contract is the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through `alloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[retryable]
async fn plain(x: u64) -> io::Result<u64> {
    Ok(x + 1)
}

#[retryable(policy = "network")]
async fn with_deadline(key: &str, n: u64) -> io::Result<usize> {
    Ok(key.len() + usize::try_from(n).unwrap_or(0))
}

#[retryable(breaker = "default", breaker_key = host)]
async fn keyed_str(host: &str) -> io::Result<usize> {
    Ok(host.len())
}

#[retryable(breaker = "default", breaker_key = host)]
async fn keyed_string(host: String) -> io::Result<usize> {
    Ok(host.len())
}

#[retryable(breaker = "default", breaker_key = port)]
async fn keyed_number(port: u64) -> io::Result<u64> {
    Ok(port)
}

/// A hedged site whose attempt answers at its first poll: no clock, no timer.
#[retryable(hedge = "default", idempotent)]
async fn hedged_ready(x: u64) -> io::Result<u64> {
    Ok(x + 1)
}

/// A hedged site whose attempt waits once: the hedge timer is armed (10 s)
/// and dropped unfired.
#[retryable(hedge = "slow", idempotent)]
async fn hedged_pending(x: u64) -> io::Result<u64> {
    tokio::task::yield_now().await;
    Ok(x + 1)
}

struct Store {
    hits: u64,
}

impl Store {
    #[retryable(idempotent)]
    async fn put(&mut self, by: u64) -> io::Result<u64> {
        self.hits += by;
        Ok(self.hits)
    }
}

#[test]
fn a_successful_call_allocates_nothing() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    let config = retry_runtime::Config::from_toml_str(CONFIG).expect("a valid config");
    retry_runtime::install(config).expect("every name is defined");
    runtime.block_on(async {
        let mut store = Store { hits: 0 };
        // The first call of each site resolves and caches its policy: that may allocate.
        plain(1).await.unwrap();
        with_deadline("k", 1).await.unwrap();
        store.put(1).await.unwrap();

        let before = allocations();
        let mut total = 0;
        for i in 0..1_000 {
            total += plain(i).await.unwrap();
            total += u64::try_from(with_deadline("key", i).await.unwrap()).unwrap();
            total += store.put(1).await.unwrap();
        }
        let after = allocations();
        assert!(total > 0);
        assert_eq!(
            after - before,
            0,
            "{} allocations in 3,000 successful calls",
            after - before
        );

        // Keyed breakers: once a key's instance exists, a call finds it
        // without allocating, for `&str`, `String` and other `Display` keys.
        let hosts = [
            "a.example",
            "b.example",
            "a-much-longer-host-name.example.internal",
        ];
        let owned: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
        for host in hosts {
            keyed_str(host).await.unwrap();
        }
        keyed_number(8080).await.unwrap();
        let before_keyed = allocations();
        let mut keyed = 0;
        for i in 0..1_000 {
            keyed += keyed_str(hosts[i % 3]).await.unwrap();
            // The by-value `String` is cloned per attempt (rule 3), so measure
            // the key lookup with a `String` that is borrowed, not the clone.
            keyed += owned[i % 3].len();
            keyed += usize::try_from(keyed_number(8080).await.unwrap()).unwrap_or(0);
        }
        let keyed_allocations = allocations() - before_keyed;
        assert!(keyed > 0);
        assert_eq!(
            keyed_allocations, 0,
            "{keyed_allocations} allocations in 2,000 keyed calls"
        );
        // A `String` argument: its per-attempt clone allocates (rule 3), the key lookup does not.
        keyed_string(owned[0].clone()).await.unwrap();
        let arg = owned[0].clone();
        let before_string = allocations();
        keyed_string(arg).await.unwrap();
        assert_eq!(
            allocations() - before_string,
            1,
            "the argument's clone for the attempt, nothing for the key"
        );

        // Hedged sites whose delay is never reached: a percentile delay (its
        // histogram filled past min_samples) and a fixed one whose timer is
        // armed and dropped.
        hedged_ready(1).await.unwrap();
        hedged_pending(1).await.unwrap();
        let before_hedged = allocations();
        let mut hedged = 0;
        for i in 0..1_000 {
            hedged += hedged_ready(i).await.unwrap();
            hedged += hedged_pending(i).await.unwrap();
        }
        let hedged_allocations = allocations() - before_hedged;
        assert!(hedged > 0);
        assert_eq!(
            hedged_allocations, 0,
            "{hedged_allocations} allocations in 2,000 hedged calls whose hedge did not fire"
        );
        let after = allocations();

        // The counter does see allocations made on this thread.
        let boxed = std::hint::black_box(Box::new(total));
        assert_eq!(allocations() - after, 1);
        drop(boxed);
    });
}

#[retryable(breaker = "fleet-alloc")]
async fn fleet_site(x: u64) -> io::Result<u64> {
    Ok(x + 1)
}

#[retryable(breaker = "fleet-alloc", breaker_key = host)]
async fn fleet_keyed(host: &str) -> io::Result<usize> {
    Ok(host.len())
}

/// Calls of `fleet_site` and `fleet_keyed` that succeed, and the allocations
/// they made on this thread.
async fn fleet_calls(n: u64) -> u64 {
    let hosts = ["a.example", "b.example"];
    let before = allocations();
    let mut total = 0;
    for i in 0..n {
        total += fleet_site(i).await.unwrap();
        total += fleet_keyed(hosts[usize::from(i % 2 == 0)]).await.unwrap() as u64;
    }
    assert!(total > 0);
    allocations() - before
}

/// A breaker shared with the fleet (`fleet = true`) costs its success path
/// no allocation, before the process joins a fleet and once it is connected
/// to a real Redis: the fleet's connection runs on its own task (here on the
/// runtime's worker thread, whose allocations this count does not see), and
/// a call reads no fleet state.
#[test]
fn a_successful_call_through_a_fleet_breaker_allocates_nothing() {
    let Some(redis) =
        fleet_support::redis_for("a_successful_call_through_a_fleet_breaker_allocates_nothing")
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let config = retry_runtime::Config::from_toml_str(CONFIG).expect("a valid config");
    retry_runtime::install(config).expect("every name is defined");
    runtime.block_on(async {
        // First calls create the keyed instances and resolve the sites.
        fleet_calls(2).await;
        let alone = fleet_calls(1_000).await;
        assert_eq!(
            alone, 0,
            "{alone} allocations in 2,000 calls before joining a fleet"
        );

        let fleet = retry_runtime::fleet::join(&redis.url(), "alloc-test").expect("a valid url");
        assert!(
            fleet
                .wait_connected(std::time::Duration::from_secs(10))
                .await,
            "connected to the test's redis-server: {:?}",
            fleet.status()
        );
        fleet_calls(2).await;
        let joined = fleet_calls(1_000).await;
        assert_eq!(
            joined, 0,
            "{joined} allocations in 2,000 calls in a connected fleet"
        );
        assert_eq!(fleet.status(), retry_runtime::fleet::FleetStatus::Connected);
    });
}
