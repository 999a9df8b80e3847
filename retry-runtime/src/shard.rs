//! Counters that many threads bump without fighting over one cache line.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// How many cache lines a sharded counter spreads over.
pub(crate) const SHARDS: usize = 8;

/// One cache line per value, so two threads' writes never share a line.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The calling thread's shard, assigned round-robin on first use.
#[inline]
pub(crate) fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.try_with(|s| *s).unwrap_or(0)
}

/// A counter that is cheap to add to from many threads and slower to read.
#[derive(Debug, Default)]
pub(crate) struct ShardedCounter {
    shards: [Padded<AtomicU64>; SHARDS],
}

impl ShardedCounter {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.shards[shard()].fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sum(&self) -> u64 {
        self.shards.iter().map(|s| s.load(Ordering::Relaxed)).sum()
    }

    pub(crate) fn reset(&self) {
        for s in &self.shards {
            s.store(0, Ordering::Relaxed);
        }
    }
}
