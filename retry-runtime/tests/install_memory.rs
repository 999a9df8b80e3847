//! Issue 16, item 1: installing two configs in turn, again and again, must
//! not grow memory. Counted with a global allocator that tallies the bytes
//! live on the heap (every thread). 20 call sites on 4 policies, 4 breakers
//! and 4 budgets, each called between installs.
//!
//! The full count (100,000 installs, under 1 MB of growth) runs in release,
//! as `.ci/run` does: `cargo test --release -p retry-runtime --test install_memory`. A debug
//! build runs fewer installs against a proportional bound.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io;
use std::sync::atomic::{AtomicI64, Ordering};

use retry_runtime::{Config, install, retryable};

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

fn delta(bytes: usize) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the only addition is an atomic counter, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(delta(layout.size()), Ordering::Relaxed);
        // SAFETY: forwarded as received; `GlobalAlloc::alloc`'s contract is the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(delta(layout.size()), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` through `alloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(delta(new_size) - delta(layout.size()), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

macro_rules! sites {
    ($($name:ident: $policy:literal, $breaker:literal, $budget:literal;)*) => {
        $(
            #[retryable(policy = $policy, breaker = $breaker, budget = $budget)]
            fn $name() -> io::Result<u32> {
                Ok(1)
            }
        )*
        fn call_all() -> u32 {
            let mut sum = 0;
            $( sum += $name().unwrap_or(0); )*
            sum
        }
    };
}

sites! {
    s00: "p0", "b0", "g0"; s01: "p1", "b1", "g1"; s02: "p2", "b2", "g2"; s03: "p3", "b3", "g3";
    s04: "p0", "b1", "g2"; s05: "p1", "b2", "g3"; s06: "p2", "b3", "g0"; s07: "p3", "b0", "g1";
    s08: "p0", "b2", "g0"; s09: "p1", "b3", "g1"; s10: "p2", "b0", "g2"; s11: "p3", "b1", "g3";
    s12: "p0", "b3", "g0"; s13: "p1", "b0", "g1"; s14: "p2", "b1", "g2"; s15: "p3", "b2", "g3";
    s16: "p0", "b0", "g1"; s17: "p1", "b1", "g2"; s18: "p2", "b2", "g3"; s19: "p3", "b3", "g0";
}

/// Four policies, breakers and budgets, every one with settings of its own
/// that differ between the two variants.
fn config(variant: u32) -> Config {
    let mut toml = String::new();
    for i in 0..4 {
        toml.push_str(&format!(
            "[policies.p{i}]\nmax_attempts = {}\n\
             [breakers.b{i}]\nwindow_size = {}\nminimum_calls = 5\n\
             [budgets.g{i}]\nmin_retries_per_sec = {}\n",
            2 + variant,
            10 + variant,
            5 + variant,
        ));
    }
    Config::from_toml_str(&toml).expect("a valid config")
}

#[test]
fn alternating_installs_do_not_grow_memory() {
    // The full count in release; a tenth of it in a debug build, whose
    // installs are slow. The bound is the target's, in proportion.
    let installs: i64 = if cfg!(debug_assertions) {
        10_000
    } else {
        100_000
    };
    let bound = 1_000_000 * installs / 100_000;
    let (a, b) = (config(0), config(1));
    // Warm up: every site resolved under both configs, every object made.
    install(a.clone()).expect("installs");
    assert_eq!(call_all(), 20);
    let first = LIVE_BYTES.load(Ordering::Relaxed);
    install(b.clone()).expect("installs");
    assert_eq!(call_all(), 20);
    // What settings never seen before cost, once: 4 breakers (with their
    // keyed tables), 4 budgets and 20 resolutions.
    let new_settings = LIVE_BYTES.load(Ordering::Relaxed) - first;
    // Each install is also a recent event (`recent_events()`), kept in a ring
    // of 256 (documented on `recent_events`): fill it first, so that what is measured below is what
    // installs add beyond that fixed cost.
    for _ in 0..(256 / 2 + 4) {
        install(a.clone()).expect("installs");
        assert_eq!(call_all(), 20);
        install(b.clone()).expect("installs");
        assert_eq!(call_all(), 20);
    }
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    for i in 0..installs {
        let next = if i % 2 == 0 { &a } else { &b };
        install(next.clone()).expect("installs");
        assert_eq!(call_all(), 20);
        // Stop early (and fail below) rather than eat the machine's memory.
        if LIVE_BYTES.load(Ordering::Relaxed) - before > bound {
            break;
        }
    }
    let growth = LIVE_BYTES.load(Ordering::Relaxed) - before;
    println!(
        "the first install of new settings for 4 breakers, 4 budgets and 20 sites: {new_settings} bytes; \
         then {installs} alternating installs: the heap grew by {growth} bytes"
    );
    assert!(
        growth < bound,
        "{installs} alternating installs grew the heap by {growth} bytes (bound {bound})"
    );
}
