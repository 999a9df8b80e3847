//! A successful call through `#[retryable]` allocates nothing: counted with a
//! global allocator that tallies every allocation made on the test's thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io;

use retry_runtime::retryable;

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

        // The counter does see allocations made on this thread.
        let boxed = std::hint::black_box(Box::new(total));
        assert_eq!(allocations() - after, 1);
        drop(boxed);
    });
}
