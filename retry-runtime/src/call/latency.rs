//! A call site's recent successful latencies (each call's winning attempt;
//! see `hedge.rs`), for percentile hedge delays:
//! a small fixed-size histogram updated with relaxed atomic additions, no lock.
//!
//! **Buckets.** Log-linear on microseconds: 0 to 7 µs one bucket each, then
//! every power of two split into 8 equal buckets, up to 2²⁷ µs (about 134 s;
//! longer latencies land in the last bucket). A percentile is reported as its
//! bucket's upper bound, so it is never below the true value of the recorded
//! samples and at most 12.5 % (1/8 of an octave) above it, plus 1 µs.
//!
//! **Recency.** Two halves of [`HALF`] (1024) samples each. Samples fill one
//! half; the sample that fills it clears the other, which fills next. A
//! percentile reads both halves, so it always covers the last 1024 to 2048
//! successful calls of the site, however long ago they were: at 1,000 calls
//! per second, the last one to two seconds; at one call per second, the last
//! 17 to 34 minutes. A sample added while the other half is being cleared may
//! be lost; the estimate is statistical and that is within its noise.
//!
//! **Cost.** Recording is two relaxed `fetch_add`s (the bucket and the sample
//! count). Every 64th sample recomputes the percentile (a scan of the 400
//! counters) into one atomic word that the call path reads: reading the delay
//! costs one load.

use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Samples per half: a power of two, so the sample counter's wrap-around
/// keeps halves aligned.
pub(crate) const HALF: u32 = 1024;
/// Buckets: 8 for 0..8 µs, then 8 per octave for 2³ .. 2²⁷ µs.
const BUCKETS: usize = 8 + 24 * 8;
/// Recompute the cached percentile every this many samples.
const REFRESH_EVERY: u32 = 64;
/// No cached percentile.
const NONE: u64 = u64::MAX;

/// The recent-latency histogram of one call site.
pub(crate) struct Latency {
    /// Two halves of counts; `u16` is enough for [`HALF`] samples each.
    halves: [[AtomicU16; BUCKETS]; 2],
    /// Samples recorded, ever (wrapping).
    samples: AtomicU32,
    /// The last computed percentile: the percentile in tenths (high 16 bits)
    /// and its delay in microseconds (low 48 bits); [`NONE`] if not computed.
    cached: AtomicU64,
}

impl Latency {
    pub(crate) fn new() -> Latency {
        Latency {
            halves: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU16::new(0))),
            samples: AtomicU32::new(0),
            cached: AtomicU64::new(NONE),
        }
    }

    /// Records one successful latency; `percentile` (in tenths: 950 for p95)
    /// is the one the cache is kept for.
    #[inline]
    pub(crate) fn record(&self, latency: Duration, percentile: u16) {
        let n = self.samples.fetch_add(1, Relaxed);
        let half = ((n / HALF) & 1) as usize;
        self.halves[half][bucket(latency)].fetch_add(1, Relaxed);
        if n % HALF == HALF - 1 {
            // This sample filled its half: the other one starts afresh.
            for count in &self.halves[half ^ 1] {
                count.store(0, Relaxed);
            }
        }
        if n % REFRESH_EVERY == REFRESH_EVERY - 1 {
            self.refresh(percentile);
        }
    }

    /// The `percentile` (in tenths) of the recent samples, if at least
    /// `min_samples` have been recorded.
    #[inline]
    pub(crate) fn delay(&self, percentile: u16, min_samples: u32) -> Option<Duration> {
        // (After 2³² samples the counter wraps and the next `min_samples`
        // calls send no hedge: once in four billion calls.)
        if self.samples.load(Relaxed) < min_samples {
            return None;
        }
        let cached = self.cached.load(Relaxed);
        let micros = if cached != NONE && (cached >> 48) as u16 == percentile {
            cached & ((1 << 48) - 1)
        } else {
            self.refresh(percentile)?
        };
        Some(Duration::from_micros(micros))
    }

    /// Scans the histogram and caches the percentile's delay in microseconds.
    #[cold]
    fn refresh(&self, percentile: u16) -> Option<u64> {
        let mut counts = [0u32; BUCKETS];
        for half in &self.halves {
            for (sum, count) in counts.iter_mut().zip(half) {
                *sum += u32::from(count.load(Relaxed));
            }
        }
        let total: u32 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        // The smallest bucket at which at least `percentile` of the samples are counted.
        let rank = (u64::from(total) * u64::from(percentile)).div_ceil(1000);
        let mut seen = 0u64;
        let index = counts
            .iter()
            .position(|&c| {
                seen += u64::from(c);
                seen >= rank
            })
            .unwrap_or(BUCKETS - 1);
        let micros = upper_bound(index);
        self.cached
            .store((u64::from(percentile) << 48) | micros, Relaxed);
        Some(micros)
    }
}

/// The bucket of a latency.
fn bucket(latency: Duration) -> usize {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    if micros < 8 {
        return micros as usize;
    }
    let octave = 63 - micros.leading_zeros() as usize; // 3..
    if octave >= 27 {
        return BUCKETS - 1;
    }
    let sub = ((micros >> (octave - 3)) & 7) as usize;
    8 + (octave - 3) * 8 + sub
}

/// The largest latency in microseconds that falls in bucket `index`, plus one
/// (its exclusive upper bound).
fn upper_bound(index: usize) -> u64 {
    if index < 8 {
        return index as u64 + 1;
    }
    let octave = (index - 8) / 8 + 3;
    let sub = ((index - 8) % 8) as u64;
    (8 + sub + 1) << (octave - 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_in_order_within_an_eighth() {
        let mut last = 0;
        for micros in (0..200_000u64).chain([1 << 26, (1 << 27) - 1]) {
            let b = bucket(Duration::from_micros(micros));
            assert!(b >= last && b < BUCKETS, "{micros} µs -> bucket {b}");
            last = b;
            let upper = upper_bound(b);
            assert!(
                upper > micros,
                "{micros} µs above its bucket's bound {upper}"
            );
            assert!(
                (upper - 1 - micros) * 8 <= micros.max(8),
                "{micros} µs: bound {upper} more than 1/8 above"
            );
        }
        assert_eq!(bucket(Duration::from_secs(3600)), BUCKETS - 1);
    }

    #[test]
    fn percentile_of_a_heavy_tail_and_min_samples() {
        let latency = Latency::new();
        for i in 0..99u32 {
            let d = if i % 50 == 0 { 100_000 } else { 1_000 };
            latency.record(Duration::from_micros(d), 950);
        }
        assert_eq!(
            latency.delay(950, 100),
            None,
            "99 samples < min_samples 100"
        );
        latency.record(Duration::from_micros(1_000), 950);
        // 98 % at 1 ms: p95 is in 1 ms's bucket (1000 µs: octave 9, upper 1024).
        assert_eq!(latency.delay(950, 100), Some(Duration::from_micros(1024)));
        // p99 reaches the 100 ms samples.
        let p99 = latency.delay(990, 100).unwrap();
        assert!(
            p99 >= Duration::from_millis(100) && p99 <= Duration::from_micros(112_500),
            "{p99:?}"
        );
    }

    #[test]
    fn old_samples_leave_after_two_halves() {
        let latency = Latency::new();
        for _ in 0..HALF {
            latency.record(Duration::from_millis(50), 950);
        }
        for _ in 0..(2 * HALF) {
            latency.record(Duration::from_millis(1), 950);
        }
        assert_eq!(latency.delay(950, 1), Some(Duration::from_micros(1024)));
    }
}
