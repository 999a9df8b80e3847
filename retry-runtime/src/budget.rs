//! Retry budgets: Finagle-style limits on how many retries a group of call sites may make.
//!
//! Over any window of `ttl`, retries ≤ `min_retries_per_sec · ttl` (the reserve)
//! plus `retry_ratio ·` first attempts. The window is cut into [`SLOTS`] slots; each
//! slot counts the first attempts (deposits) and retries (withdrawals) made while
//! it was current.
//!
//! A deposit is on every call's path, so it reads no clock: it lands in the slot
//! that the last clock reader (a retry, a balance query) made current. When no
//! retry happened for a while that slot is stale, and its deposits expire early:
//! the budget then errs on the side of fewer retries, never more. While retries
//! happen, the current slot is up to date and the accounting is exact to a slot.
//!
//! Nor does a deposit take a locked instruction: it bumps the shard the calling
//! thread owns with a plain load and store (see [`crate::shard`]), and no
//! deposit is ever lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::BudgetSettings;
use crate::shard::EpochCounter;

/// How many slots a budget's `ttl` is cut into.
pub(crate) const SLOTS: usize = 10;

/// A live retry budget, shared by every call site that names it.
#[derive(Debug)]
pub(crate) struct Budget {
    settings: BudgetSettings,
    origin: Instant,
    slot_len: Duration,
    /// The number of the current slot, counted from `origin`.
    current: AtomicU64,
    slots: [Slot; SLOTS],
    /// Serializes the (rare) advance of `current` and the withdrawal decision.
    advancing: Mutex<()>,
    /// Retries refused since the budget was created.
    exhausted: AtomicU64,
}

#[derive(Debug, Default)]
struct Slot {
    /// The slot number this slot's counts belong to.
    number: AtomicU64,
    /// First attempts, counted under the slot's number.
    deposits: EpochCounter,
    withdrawals: AtomicU64,
}

impl Budget {
    pub(crate) fn new(settings: BudgetSettings) -> Budget {
        let slot_len =
            (settings.ttl / u32::try_from(SLOTS).unwrap_or(10)).max(Duration::from_millis(1));
        Budget {
            settings,
            origin: Instant::now(),
            slot_len,
            current: AtomicU64::new(0),
            slots: Default::default(),
            advancing: Mutex::new(()),
            exhausted: AtomicU64::new(0),
        }
    }

    pub(crate) fn settings(&self) -> &BudgetSettings {
        &self.settings
    }

    /// A first attempt: adds `retry_ratio` of a retry to the budget.
    #[inline]
    pub(crate) fn deposit(&self) {
        let current = self.current.load(Ordering::Relaxed);
        self.slots[slot_index(current)].deposits.add_one(current);
    }

    /// A retry: takes one from the budget if it holds one.
    pub(crate) fn try_withdraw(&self) -> bool {
        let (_serial, current) = self.advance_now();
        if self.balance_at(current) >= 1.0 {
            self.slots[slot_index(current)]
                .withdrawals
                .fetch_add(1, Ordering::Relaxed);
            true
        } else {
            self.exhausted.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// How many retries the budget holds now.
    pub(crate) fn balance(&self) -> f64 {
        let (_serial, current) = self.advance_now();
        self.balance_at(current)
    }

    /// Takes the `advancing` lock and makes the slot of now current: the
    /// guard (hold it while deciding) and that slot's number.
    fn advance_now(&self) -> (MutexGuard<'_, ()>, u64) {
        let serial = self
            .advancing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.advance(Instant::now());
        (serial, current)
    }

    /// Retries refused so far.
    pub(crate) fn exhausted(&self) -> u64 {
        self.exhausted.load(Ordering::Relaxed)
    }

    /// Makes the slot of `now` current, clearing the slots it recycles (their
    /// deposits are left: they carry the old slot number and no longer count).
    /// Caller holds `advancing`.
    fn advance(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.origin);
        let target =
            u64::try_from(elapsed.as_nanos() / self.slot_len.as_nanos().max(1)).unwrap_or(u64::MAX);
        let current = self.current.load(Ordering::Relaxed);
        if target > current {
            let first = current.max(target.saturating_sub(SLOTS as u64 - 1).saturating_sub(1)) + 1;
            for number in first..=target {
                let slot = &self.slots[slot_index(number)];
                slot.withdrawals.store(0, Ordering::Relaxed);
                slot.number.store(number, Ordering::Relaxed);
            }
            self.current.store(target, Ordering::Relaxed);
            target
        } else {
            current
        }
    }

    /// The balance over the slots of the window ending at slot `current`.
    #[allow(clippy::cast_precision_loss)] // counts far below 2^53
    fn balance_at(&self, current: u64) -> f64 {
        let oldest = current.saturating_sub(SLOTS as u64 - 1);
        let (mut deposits, mut withdrawals) = (0u64, 0u64);
        for slot in &self.slots {
            let number = slot.number.load(Ordering::Relaxed);
            if number >= oldest && number <= current {
                deposits += slot.deposits.count(number);
                withdrawals += slot.withdrawals.load(Ordering::Relaxed);
            }
        }
        let reserve =
            f64::from(self.settings.min_retries_per_sec) * self.settings.ttl.as_secs_f64();
        reserve + self.settings.retry_ratio * deposits as f64 - withdrawals as f64
    }
}

#[allow(clippy::cast_possible_truncation)] // the modulus is below SLOTS
fn slot_index(number: u64) -> usize {
    (number % SLOTS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(ttl: u64, min: u32, ratio: f64) -> Budget {
        Budget::new(BudgetSettings {
            ttl: Duration::from_secs(ttl),
            min_retries_per_sec: min,
            retry_ratio: ratio,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn the_reserve_alone_allows_min_retries_per_sec_times_ttl() {
        let b = budget(10, 1, 0.0);
        let allowed = (0..100).filter(|_| b.try_withdraw()).count();
        assert_eq!(allowed, 10);
        assert_eq!(b.exhausted(), 90);
    }

    #[tokio::test(start_paused = true)]
    async fn deposits_add_retry_ratio_each() {
        let b = budget(10, 0, 0.1);
        for _ in 0..100 {
            b.deposit();
        }
        assert!((b.balance() - 10.0).abs() < 1e-9);
        let allowed = (0..100).filter(|_| b.try_withdraw()).count();
        assert_eq!(allowed, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_budget_allows_no_retry() {
        let b = budget(10, 0, 0.0);
        for _ in 0..1000 {
            b.deposit();
        }
        assert!(!b.try_withdraw());
    }

    #[tokio::test(start_paused = true)]
    async fn withdrawals_and_deposits_expire_after_ttl() {
        let b = budget(10, 1, 0.0);
        assert_eq!((0..20).filter(|_| b.try_withdraw()).count(), 10);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(!b.try_withdraw(), "the withdrawals of 5 s ago still count");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!((0..20).filter(|_| b.try_withdraw()).count(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn deposits_into_a_stale_slot_expire_early_never_late() {
        let b = budget(10, 0, 1.0);
        // Healthy for a minute: nobody reads the clock, so deposits land in slot 0.
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..100 {
            b.deposit();
        }
        // The first retry finds slot 0 long expired: those deposits do not count.
        assert!(!b.try_withdraw());
        // Deposits made while retries keep the clock current do count.
        for _ in 0..5 {
            b.deposit();
        }
        assert_eq!((0..10).filter(|_| b.try_withdraw()).count(), 5);
    }
}
