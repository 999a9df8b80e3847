//! A million distinct keys through one breaker name (DESIGN §16) with `max_keys = 1000`:
//! the live instance count stays at 1000 and the bytes held stay flat, counted
//! by a global allocator that tracks live bytes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use retry_runtime::{Config, breaker, breaker_for, install, retryable};

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn size(layout: Layout) -> i64 {
    i64::try_from(layout.size()).unwrap_or(i64::MAX)
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the only additions are atomic counters, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(size(layout), Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(size(layout), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            i64::try_from(new_size).unwrap_or(i64::MAX) - size(layout),
            Ordering::Relaxed,
        );
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The live-byte count is global: one measuring test at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

const CONFIG: &str = r#"
[policies.once]
max_attempts = 1

[breakers.many]
max_keys = 1000

# For what one instance weighs: the default count window (20 outcomes), and a
# 60 s time window (60 buckets of one second).
[breakers.count-window]
max_keys = 2000

[breakers.time-window]
window = "time"
window_duration = "60s"
max_keys = 2000
"#;

#[retryable(policy = "once", breaker = "many", breaker_key = key)]
async fn call(key: &str) -> io::Result<usize> {
    Ok(key.len())
}

/// Live bytes per keyed instance of `name`, over 1000 new keys whose text
/// is 17 bytes (`host-NNNN.example`): the instance, its window, its key text
/// and its place in the table (the table's growth to 1000 places included).
fn bytes_per_instance(name: &str) -> i64 {
    let _ = breaker_for(name, "first.example");
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let handles: Vec<_> = (0..1000u32)
        .map(|i| breaker_for(name, &format!("host-{i:04}.example")).expect("a known name"))
        .collect();
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    // The handles hold their name and key (two `Arc<str>`s each): not the
    // instance's cost.
    let handle_bytes: i64 = handles
        .iter()
        .map(|h| 2 * 16 + i64::try_from(h.name().len() + h.key().map_or(0, str::len)).unwrap_or(0))
        .sum();
    (after - before - handle_bytes) / 1000
}

/// The figures the docs give for one keyed instance, measured:
/// `cargo test --release --test keyed_memory -- --nocapture`.
#[test]
fn what_a_keyed_instance_weighs() {
    let _serial = serial();
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let count = bytes_per_instance("count-window");
    let time = bytes_per_instance("time-window");
    println!(
        "one keyed instance with a 17-byte key: {count} bytes with the default count window (20 outcomes), {time} bytes with a 60 s time window"
    );
    assert!((700..1400).contains(&count), "{count} bytes");
    assert!((2000..4000).contains(&time), "{time} bytes");
    // Gone, so that the other test's count of what a reset frees is its own.
    retry_runtime::reset_state();
}

#[test]
fn a_million_keys_keep_max_keys_instances_and_flat_memory() {
    let _serial = serial();
    install(Config::from_toml_str(CONFIG).expect("valid")).expect("installs");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let many = breaker("many").expect("a known name");
        // Fill to the bound, then well past it, so every structure has grown
        // to its steady size.
        for i in 0..5_000u32 {
            call(&format!("host-{i}.example")).await.unwrap();
        }
        assert_eq!(many.live_keys(), 1000);
        let steady = LIVE_BYTES.load(Ordering::Relaxed);
        let mut samples = Vec::new();
        let mut i = 5_000u32;
        while i < 1_000_000 {
            let next = (i + 50_000).min(1_000_000);
            for k in i..next {
                call(&format!("host-{k}.example")).await.unwrap();
            }
            i = next;
            samples.push(LIVE_BYTES.load(Ordering::Relaxed) - steady);
            assert_eq!(many.live_keys(), 1000, "after {i} keys");
        }
        let end = LIVE_BYTES.load(Ordering::Relaxed);
        println!(
            "1,000,000 keys, max_keys = 1000: live bytes at 5,000 keys {steady}, at 1,000,000 keys {end} (growth {} bytes); growth after each further 50,000 keys: {samples:?}",
            end - steady
        );
        // Flat: 995,000 further keys (995 times the bound) may not grow what
        // is held by more than a few pages (hash map rehash slack).
        assert!(
            end - steady < 64 * 1024,
            "held {} more bytes after 995,000 more keys",
            end - steady
        );
        // The most recent keys are the live ones; the first is long gone and
        // comes back as a fresh instance.
        assert_eq!(breaker_for("many", "host-999999.example").unwrap().metrics().calls, 1);
        call("host-0.example").await.unwrap();
        assert_eq!(breaker_for("many", "host-0.example").unwrap().metrics().calls, 1);
        assert_eq!(many.live_keys(), 1000);

        // reset_state empties the table; the instances stay, for the next
        // keys: a thousand new keys after it make no instance, they take
        // the emptied ones (only their index entries and texts are new).
        let before_reset = LIVE_BYTES.load(Ordering::Relaxed);
        retry_runtime::reset_state();
        assert_eq!(many.live_keys(), 0);
        let after_reset = LIVE_BYTES.load(Ordering::Relaxed);
        for k in 0..1000u32 {
            call(&format!("after-{k:04}.example")).await.unwrap();
        }
        assert_eq!(many.live_keys(), 1000);
        assert_eq!(
            breaker_for("many", "after-0000.example").unwrap().metrics().calls,
            1,
            "a reused instance counts from zero"
        );
        let again = LIVE_BYTES.load(Ordering::Relaxed) - after_reset;
        println!(
            "reset_state freed {} bytes of 1000 keyed instances (index entries); 1000 new keys after it took {again} bytes",
            before_reset - after_reset
        );
        // An instance weighs about a kilobyte (see the test above): none is made.
        assert!(again < 1000 * 200, "{} bytes per key", again / 1000);
        // Back where it was: a loop of resets does not grow memory.
        assert!(
            (LIVE_BYTES.load(Ordering::Relaxed) - before_reset).abs() < 64 * 1024,
            "{} bytes more than before the reset",
            LIVE_BYTES.load(Ordering::Relaxed) - before_reset
        );
    });
}
