//! Counters that many threads bump without fighting over one cache line, and
//! without a locked instruction on the common path.
//!
//! Each thread that counts takes one of the first `SHARDS - 1` shards for
//! itself, and gives it back when it exits. A shard with a single writer needs no
//! read-modify-write: a plain load and store is exact, and costs a few cycles
//! where a `lock`ed add costs twenty and drains the store buffer. Threads that
//! find every shard taken share the last one, with ordinary atomic
//! read-modify-writes. Either way no count is ever lost.

use std::sync::atomic::{AtomicU64, Ordering};

/// How many cache lines a sharded counter spreads over: `SHARDS - 1` threads
/// own one each; the rest share the last.
pub(crate) const SHARDS: usize = 16;

/// The shard of threads that could not get one of their own.
pub(crate) const SHARED: usize = SHARDS - 1;

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

/// The exclusive shards not owned by a live thread.
struct Pool {
    /// Bit `i` set: shard `i` is free.
    free: AtomicU64,
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            free: AtomicU64::new((1 << SHARED) - 1),
        }
    }

    /// A free shard, or [`SHARED`] when none is left.
    fn take(&self) -> usize {
        let mut free = self.free.load(Ordering::Acquire);
        loop {
            if free == 0 {
                return SHARED;
            }
            let bit = free.trailing_zeros();
            // Acquire: the new owner sees every write of the shard's last owner.
            match self.free.compare_exchange_weak(
                free,
                free & !(1 << bit),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return bit as usize,
                Err(now) => free = now,
            }
        }
    }

    fn give_back(&self, shard: usize) {
        if shard != SHARED {
            // Release: publishes the last owner's writes to the next one.
            self.free.fetch_or(1 << shard, Ordering::Release);
        }
    }
}

static POOL: Pool = Pool::new();

/// A thread's claim on a shard, given back when the thread exits.
struct Claim(usize);

impl Drop for Claim {
    fn drop(&mut self) {
        POOL.give_back(self.0);
    }
}

/// The calling thread's shard: its own, or [`SHARED`].
#[inline]
pub(crate) fn shard() -> usize {
    thread_local! {
        static CLAIM: Claim = Claim(POOL.take());
    }
    // While the thread is being torn down its claim is gone: share.
    CLAIM.try_with(|c| c.0).unwrap_or(SHARED)
}

/// Replaces the value of the calling thread's shard `cell` (numbered `shard`)
/// with `f(value)`: a plain load and store when the thread owns the shard.
#[inline]
fn update(cell: &AtomicU64, shard: usize, f: impl Fn(u64) -> u64) {
    if shard == SHARED {
        // Infallible: the closure always returns `Some`.
        let _ = cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(f(v)));
    } else {
        cell.store(f(cell.load(Ordering::Relaxed)), Ordering::Relaxed);
    }
}

/// A counter that is cheap to add to from many threads and slower to read.
#[derive(Debug, Default)]
pub(crate) struct ShardedCounter {
    shards: [Padded<AtomicU64>; SHARDS],
}

impl ShardedCounter {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        let shard = shard();
        update(&self.shards[shard], shard, |v| v.wrapping_add(n));
    }

    pub(crate) fn sum(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

/// Bits of a [`EpochCounter`] shard that hold the count; the other 40 hold the
/// epoch. A shard saturates at 2^24 − 1 events per epoch: over 16 million
/// first attempts from one thread within one budget slot (at least 100 ms),
/// more than a thread can make; a saturated count errs towards fewer retries.
const COUNT_BITS: u32 = 24;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// A sharded count of events in one epoch (a budget slot's number).
///
/// Each shard holds `epoch << 24 | count`. A shard last written under an older
/// epoch simply does not count for a newer one, so recycling an epoch's slot
/// needs no clearing, and a writer racing with the recycling can only leave a
/// count under its old epoch, which nobody reads any more.
#[derive(Debug, Default)]
pub(crate) struct EpochCounter {
    shards: [Padded<AtomicU64>; SHARDS],
}

impl EpochCounter {
    #[inline]
    fn tag(epoch: u64) -> u64 {
        // Epochs are compared modulo 2^40: budget slots last at least 100 ms,
        // so two epochs with the same tag are over 3,400 years apart.
        epoch << COUNT_BITS
    }

    /// Counts one event in `epoch` (saturating at 2^24 − 1 per shard).
    #[inline]
    pub(crate) fn add_one(&self, epoch: u64) {
        let shard = shard();
        let tag = Self::tag(epoch);
        update(&self.shards[shard], shard, |old| {
            if old & !COUNT_MASK != tag {
                tag | 1
            } else if old & COUNT_MASK == COUNT_MASK {
                old
            } else {
                old + 1
            }
        });
    }

    /// The events counted in `epoch`.
    pub(crate) fn count(&self, epoch: u64) -> u64 {
        let tag = Self::tag(epoch);
        self.shards
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|v| v & !COUNT_MASK == tag)
            .map(|v| v & COUNT_MASK)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_epoch_and_ignores_older_epochs() {
        let counter = EpochCounter::default();
        for _ in 0..5 {
            counter.add_one(7);
        }
        assert_eq!(counter.count(7), 5);
        assert_eq!(counter.count(8), 0);
        counter.add_one(17);
        assert_eq!(counter.count(17), 1, "a new epoch starts from one");
        assert_eq!(counter.count(7), 0, "this thread's shard moved on");
    }

    #[test]
    fn saturates_instead_of_spilling_into_the_epoch() {
        let counter = EpochCounter::default();
        counter.shards[shard()].store(EpochCounter::tag(3) | COUNT_MASK, Ordering::Relaxed);
        counter.add_one(3);
        assert_eq!(counter.count(3), COUNT_MASK);
        assert_eq!(counter.count(4), 0);
    }

    /// More threads than shards, all at once, and then as many again after the
    /// first ones exited (their shards go to the newcomers): nothing is lost.
    #[test]
    fn many_threads_lose_no_count() {
        let epochs = EpochCounter::default();
        let sums = ShardedCounter::default();
        for _round in 0..2 {
            std::thread::scope(|s| {
                for _ in 0..2 * SHARDS {
                    s.spawn(|| {
                        for _ in 0..10_000 {
                            epochs.add_one(1);
                            sums.add(1);
                        }
                    });
                }
            });
        }
        let expected = 2 * 2 * SHARDS as u64 * 10_000;
        assert_eq!(epochs.count(1), expected);
        assert_eq!(sums.sum(), expected);
    }

    #[test]
    fn the_pool_hands_out_each_shard_once_then_the_shared_one() {
        let pool = Pool::new();
        let mut taken: Vec<usize> = (0..SHARED).map(|_| pool.take()).collect();
        taken.sort_unstable();
        assert_eq!(taken, (0..SHARED).collect::<Vec<_>>());
        assert_eq!(pool.take(), SHARED);
        pool.give_back(SHARED);
        assert_eq!(pool.take(), SHARED, "the shared shard is not pooled");
        pool.give_back(5);
        assert_eq!(pool.take(), 5);
    }
}
