//! The recent outcomes a closed breaker judges by: a count window (the last
//! `window_size` outcomes in a ring of atomic slots) or a time window (the
//! outcomes of the last `window_duration`, in buckets), each with running
//! counts, so a rate is read without summing the window.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use crate::Window;

pub(super) const FAILED: u8 = 1;
pub(super) const SLOW: u8 = 2;
/// A count-window slot that has never held an outcome.
pub(super) const EMPTY: u8 = 4;

pub(super) fn bits(failed: bool, slow: bool) -> u8 {
    let mut bits = 0;
    if failed {
        bits |= FAILED;
    }
    if slow {
        bits |= SLOW;
    }
    bits
}

pub(super) struct Rates {
    pub(super) calls: u64,
    pub(super) failure_rate: f64,
    pub(super) slow_call_rate: f64,
}

impl Rates {
    /// Counts can be read mid-update (a reset races an outcome), so a
    /// failure or slow count above the calls is read as all the calls: a
    /// rate is never above 1.
    #[allow(clippy::cast_precision_loss)] // window counts are small
    fn of(calls: u64, failures: u64, slow: u64) -> Rates {
        let (failures, slow) = (failures.min(calls), slow.min(calls));
        let n = calls.max(1) as f64;
        Rates {
            calls,
            failure_rate: failures as f64 / n,
            slow_call_rate: slow as f64 / n,
        }
    }
}

/// The recent outcomes a closed breaker judges by.
pub(super) enum OutcomeWindow {
    Count(CountWindow),
    Time(TimeWindow),
}

impl OutcomeWindow {
    pub(super) fn new(window: Window) -> OutcomeWindow {
        match window {
            Window::Count { size } => OutcomeWindow::Count(CountWindow::new(size)),
            Window::Time { duration } => OutcomeWindow::Time(TimeWindow::new(duration)),
        }
    }

    /// Records an outcome; true if it was a failure or slow (rates may have risen).
    #[inline]
    pub(super) fn record(&self, bits: u8) -> bool {
        match self {
            OutcomeWindow::Count(w) => w.record(bits),
            OutcomeWindow::Time(w) => w.record(bits),
        }
        bits != 0
    }

    pub(super) fn rates(&self) -> Rates {
        match self {
            OutcomeWindow::Count(w) => w.rates(),
            OutcomeWindow::Time(w) => w.rates(),
        }
    }

    pub(super) fn clear(&self) {
        match self {
            OutcomeWindow::Count(w) => w.clear(),
            OutcomeWindow::Time(w) => w.clear(),
        }
    }
}

/// The last `size` outcomes, in a ring of atomic slots, with running counts.
pub(super) struct CountWindow {
    slots: Box<[AtomicU8]>,
    next: AtomicU64,
    filled: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
}

impl CountWindow {
    fn new(size: u32) -> CountWindow {
        CountWindow {
            slots: (0..size.max(1)).map(|_| AtomicU8::new(EMPTY)).collect(),
            next: AtomicU64::new(0),
            filled: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            slow: AtomicU64::new(0),
        }
    }

    #[inline]
    fn record(&self, bits: u8) {
        let size = self.slots.len() as u64;
        // A success into a full window of successes changes nothing: skip the writes.
        if bits == 0
            && self.failures.load(Ordering::Relaxed) == 0
            && self.slow.load(Ordering::Relaxed) == 0
            && self.filled.load(Ordering::Relaxed) >= size
        {
            return;
        }
        let at = self.next.fetch_add(1, Ordering::Relaxed) % size;
        #[allow(clippy::cast_possible_truncation)] // below the slot count
        let old = self.slots[at as usize].swap(bits, Ordering::AcqRel);
        if old == EMPTY {
            self.filled.fetch_add(1, Ordering::Relaxed);
        }
        let old = if old == EMPTY { 0 } else { old };
        adjust(&self.failures, old & FAILED != 0, bits & FAILED != 0);
        adjust(&self.slow, old & SLOW != 0, bits & SLOW != 0);
    }

    fn rates(&self) -> Rates {
        let calls = self
            .filled
            .load(Ordering::Acquire)
            .min(self.slots.len() as u64);
        Rates::of(
            calls,
            self.failures.load(Ordering::Acquire),
            self.slow.load(Ordering::Acquire),
        )
    }

    fn clear(&self) {
        for slot in &*self.slots {
            slot.store(EMPTY, Ordering::Relaxed);
        }
        self.next.store(0, Ordering::Relaxed);
        self.filled.store(0, Ordering::Relaxed);
        self.failures.store(0, Ordering::Relaxed);
        self.slow.store(0, Ordering::Relaxed);
    }
}

pub(super) fn adjust(counter: &AtomicU64, was: bool, is: bool) {
    match (was, is) {
        (false, true) => {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        (true, false) => {
            // Never below zero: a reset (`clear`) between this outcome's
            // swap and this decrement has zeroed the count already.
            let _ =
                counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
        _ => {}
    }
}

/// The outcomes of the last `duration`, in one-second buckets (or `duration`/60 if longer than a minute).
pub(super) struct TimeWindow {
    bucket_len: Duration,
    buckets: Box<[Bucket]>,
}

#[derive(Default)]
pub(super) struct Bucket {
    number: AtomicU64,
    calls: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
}

impl TimeWindow {
    fn new(duration: Duration) -> TimeWindow {
        let count = duration.as_secs().clamp(1, 60);
        let bucket_len =
            (duration / u32::try_from(count).unwrap_or(60)).max(Duration::from_millis(1));
        TimeWindow {
            bucket_len,
            buckets: (0..count).map(|_| Bucket::default()).collect(),
        }
    }

    fn now_number(&self) -> u64 {
        // Numbered from the process-wide anchor, not from the window's
        // creation: a window revived on a later runtime's clock reads true.
        let elapsed = crate::clock::now_since_anchor();
        // Bucket numbers start at 1 so that 0 means "never used".
        u64::try_from(elapsed.as_nanos() / self.bucket_len.as_nanos().max(1)).unwrap_or(u64::MAX)
            + 1
    }

    fn record(&self, bits: u8) {
        let number = self.now_number();
        #[allow(clippy::cast_possible_truncation)] // below the bucket count
        let bucket = &self.buckets[(number % self.buckets.len() as u64) as usize];
        let held = bucket.number.load(Ordering::Acquire);
        if held != number
            && bucket
                .number
                .compare_exchange(held, number, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            bucket.calls.store(0, Ordering::Release);
            bucket.failures.store(0, Ordering::Release);
            bucket.slow.store(0, Ordering::Release);
        }
        bucket.calls.fetch_add(1, Ordering::AcqRel);
        if bits & FAILED != 0 {
            bucket.failures.fetch_add(1, Ordering::AcqRel);
        }
        if bits & SLOW != 0 {
            bucket.slow.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn rates(&self) -> Rates {
        let now = self.now_number();
        let oldest = now.saturating_sub(self.buckets.len() as u64 - 1);
        let (mut calls, mut failures, mut slow) = (0, 0, 0);
        for bucket in &*self.buckets {
            let number = bucket.number.load(Ordering::Acquire);
            if number >= oldest && number <= now && number != 0 {
                calls += bucket.calls.load(Ordering::Acquire);
                failures += bucket.failures.load(Ordering::Acquire);
                slow += bucket.slow.load(Ordering::Acquire);
            }
        }
        Rates::of(calls, failures, slow)
    }

    fn clear(&self) {
        for bucket in &*self.buckets {
            bucket.number.store(0, Ordering::Release);
        }
    }
}
