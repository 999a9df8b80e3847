//! Retry budgets: Finagle-style limits on how many retries a group of call sites may make.
//!
//! A retry is allowed when the retries already made, counted over the last
//! `ttl` and one slot more, are fewer than `min_retries_per_sec · ttl` (the
//! reserve) plus `retry_ratio ·` the first attempts of the last `ttl`. Time is
//! cut into slots of `ttl / 10`; each counts the first attempts (deposits) and
//! retries (withdrawals) made while it was current.
//!
//! A retry is withdrawn when it is sent, after its backoff sleep (the
//! controller only checks, with [`Budget::holds_a_retry`], before sleeping),
//! so a withdrawal's time is the time the service receives the retry.
//!
//! The guarantee, exact: **over any window of `ttl`, however placed, retries
//! sent ≤ reserve + `retry_ratio` · the first attempts counted at its last
//! retry** (those of the `ttl`, slot-aligned, before that retry). Slots are
//! `ttl / 10` rounded *up* to the nanosecond, so ten of them cover at least a
//! `ttl`: a window of `ttl` spans at most eleven slots, and the last retry in
//! it counted all eleven.
//! The price: a retry keeps counting for `ttl` to `ttl` + one slot after it
//! was made (a steady reserve-only rate is 10/11 of `min_retries_per_sec`).
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

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::BudgetSettings;
use crate::shard::EpochCounter;

/// How many slots a budget's `ttl` is cut into: deposits count over this many.
pub(crate) const SLOTS: usize = 10;
/// Withdrawals count over one slot more, so that any window of `ttl` lies
/// within the slots a withdrawal decision sees; the ring holds that many.
const RING: usize = SLOTS + 1;

/// A live retry budget, shared by every call site that names it.
#[derive(Debug)]
pub(crate) struct Budget {
    settings: BudgetSettings,
    slot_len: Duration,
    /// The number of the current slot.
    current: AtomicU64,
    slots: [Slot; RING],
    /// Serializes the (rare) advance of `current` and the withdrawal decision,
    /// and holds the clock slot numbers are counted on.
    advancing: Mutex<SlotClock>,
    /// Retries refused since the budget was created.
    exhausted: AtomicU64,
    /// Whether the last withdrawal was refused ([`DRY_LOUD`] when the dry
    /// spell's start was reported, [`DRY_QUIET`] when it was not), and
    /// `exhausted` when it began: the recent events get dry spells, not each
    /// refusal, and at most one spell per budget per quiet interval.
    dry: AtomicU8,
    dry_since: AtomicU64,
    dry_quiet: crate::ops::quiet::Quiet,
}

const WET: u8 = 0;
const DRY_QUIET: u8 = 1;
const DRY_LOUD: u8 = 2;

/// A budget's dry spell beginning or ending ([`Budget::note_dry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DrySpell {
    /// Its first refusal after a grant; `repeated` spells went unreported since the last one.
    Began { repeated: u64 },
    /// Its first grant after `refused` refusals.
    Ended { refused: u64 },
}

/// Slot `base` began at `origin`; slot numbers grow from there.
#[derive(Debug)]
struct SlotClock {
    origin: Instant,
    base: u64,
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
        let slot_len = slot_len(settings.ttl);
        Budget {
            settings,
            slot_len,
            current: AtomicU64::new(0),
            slots: Default::default(),
            advancing: Mutex::new(SlotClock {
                origin: crate::clock::now(),
                base: 0,
            }),
            exhausted: AtomicU64::new(0),
            dry: AtomicU8::new(WET),
            dry_since: AtomicU64::new(0),
            dry_quiet: crate::ops::quiet::Quiet::new(),
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

    /// Whether the budget holds a retry now, without taking it: asked before
    /// a backoff sleep, so that an empty budget gives up at once instead of
    /// sleeping first. A `false` counts as a refused retry.
    pub(crate) fn holds_a_retry(&self) -> bool {
        let (_serial, current) = self.advance_now();
        let holds = self.balance_at(current) >= 1.0;
        if !holds {
            self.exhausted.fetch_add(1, Ordering::Relaxed);
        }
        holds
    }

    /// A retry being sent: takes one from the budget if it holds one.
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

    /// Notes a withdrawal's outcome; says when a dry spell begins (first
    /// refusal after a grant) or ends (first grant after refusals), for
    /// the recent events. A spell that begins less than a quiet interval
    /// after the last reported one is not reported, nor is its end; the next
    /// reported one counts it. Off the success path; a storm of refusals
    /// only reads one byte.
    pub(crate) fn note_dry(&self, granted: bool) -> Option<DrySpell> {
        if granted {
            if self.dry.load(Ordering::Relaxed) == WET {
                return None;
            }
            let was = self.dry.swap(WET, Ordering::AcqRel);
            (was == DRY_LOUD).then(|| DrySpell::Ended {
                refused: self
                    .exhausted
                    .load(Ordering::Relaxed)
                    .saturating_sub(self.dry_since.load(Ordering::Relaxed)),
            })
        } else {
            if self.dry.load(Ordering::Relaxed) != WET
                || self
                    .dry
                    .compare_exchange(WET, DRY_QUIET, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err()
            {
                return None;
            }
            let repeated = self.dry_quiet.note()?;
            self.dry_since.store(
                self.exhausted.load(Ordering::Relaxed).saturating_sub(1),
                Ordering::Relaxed,
            );
            // Only if no grant ended the spell meanwhile.
            self.dry
                .compare_exchange(DRY_QUIET, DRY_LOUD, Ordering::AcqRel, Ordering::Relaxed)
                .ok()
                .map(|_| DrySpell::Began { repeated })
        }
    }

    /// How many retries the budget holds now (never below 0: a retry's
    /// withdrawal can outlive the deposits that paid for it by one slot).
    pub(crate) fn balance(&self) -> f64 {
        let (_serial, current) = self.advance_now();
        self.balance_at(current).max(0.0)
    }

    /// Forgets every deposit, withdrawal and refusal, and restarts the slot
    /// clock at the current time (of the runtime calling it: tests with a
    /// paused clock each have their own).
    pub(crate) fn reset(&self) {
        let mut clock = self.lock();
        // Fresh slot numbers, past any a slot or a deposit tag still holds.
        let base = self.current.load(Ordering::Relaxed) + RING as u64 + 1;
        *clock = SlotClock {
            origin: crate::clock::now(),
            base,
        };
        for slot in &self.slots {
            slot.withdrawals.store(0, Ordering::Relaxed);
        }
        self.slots[slot_index(base)]
            .number
            .store(base, Ordering::Relaxed);
        self.current.store(base, Ordering::Relaxed);
        self.exhausted.store(0, Ordering::Relaxed);
        self.dry.store(WET, Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, SlotClock> {
        self.advancing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes the `advancing` lock and makes the slot of now current: the
    /// guard (hold it while deciding) and that slot's number.
    fn advance_now(&self) -> (MutexGuard<'_, SlotClock>, u64) {
        let clock = self.lock();
        let current = self.advance(&clock, crate::clock::now());
        (clock, current)
    }

    /// Retries refused so far.
    pub(crate) fn exhausted(&self) -> u64 {
        self.exhausted.load(Ordering::Relaxed)
    }

    /// Makes the slot of `now` current, clearing the slots it recycles (their
    /// deposits are left: they carry the old slot number and no longer count).
    /// Caller holds `advancing` (`clock`).
    fn advance(&self, clock: &SlotClock, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(clock.origin);
        let target = clock.base.saturating_add(
            u64::try_from(elapsed.as_nanos() / self.slot_len.as_nanos().max(1)).unwrap_or(u64::MAX),
        );
        let current = self.current.load(Ordering::Relaxed);
        if target > current {
            let first = current.max(target.saturating_sub(RING as u64)) + 1;
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

    /// The balance at slot `current`: deposits of the last [`SLOTS`] slots,
    /// withdrawals of the last [`RING`].
    #[allow(clippy::cast_precision_loss)] // counts far below 2^53
    fn balance_at(&self, current: u64) -> f64 {
        let (mut deposits, mut withdrawals) = (0u64, 0u64);
        for slot in &self.slots {
            let number = slot.number.load(Ordering::Relaxed);
            if number > current {
                continue;
            }
            let age = current - number;
            if age < SLOTS as u64 {
                deposits += slot.deposits.count(number);
            }
            if age < RING as u64 {
                withdrawals += slot.withdrawals.load(Ordering::Relaxed);
            }
        }
        let reserve =
            f64::from(self.settings.min_retries_per_sec) * self.settings.ttl.as_secs_f64();
        reserve + self.settings.retry_ratio * deposits as f64 - withdrawals as f64
    }
}

/// `ttl / SLOTS`, rounded up to the nanosecond (and at least 1 ms), so that
/// [`SLOTS`] slots cover at least `ttl`: truncated, a `ttl` of `10s 9ns`
/// would make 1 s slots, and a window of `ttl` could then span one slot more
/// than a withdrawal decision counts.
fn slot_len(ttl: Duration) -> Duration {
    let nanos = ttl.as_nanos().div_ceil(SLOTS as u128);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)).max(Duration::from_millis(1))
}

#[allow(clippy::cast_possible_truncation)] // the modulus is below RING
fn slot_index(number: u64) -> usize {
    (number % RING as u64) as usize
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

    /// Issue 8, item 7: the bound holds for every window of `ttl`, not only
    /// for windows aligned to slots. The case first: 10 retries at
    /// 0.96 s and 10 more at 10.011 s were 20 within 9.05 s.
    #[tokio::test(start_paused = true)]
    async fn the_reserve_bounds_every_window_of_ttl_however_placed() {
        let b = budget(10, 1, 0.0);
        tokio::time::advance(Duration::from_millis(960)).await;
        assert_eq!((0..20).filter(|_| b.try_withdraw()).count(), 10);
        tokio::time::advance(Duration::from_millis(10_011 - 960)).await;
        assert_eq!(
            (0..20).filter(|_| b.try_withdraw()).count(),
            0,
            "the retries of 0.96 s are less than ttl ago"
        );

        // Then a sweep: one retry asked for every 7 ms for two minutes; every
        // window of ttl holds at most the reserve.
        let b = budget(10, 1, 0.0);
        let start = Instant::now();
        let mut allowed: Vec<Duration> = Vec::new();
        for _ in 0..(120_000 / 7) {
            if b.try_withdraw() {
                allowed.push(start.elapsed());
            }
            tokio::time::advance(Duration::from_millis(7)).await;
        }
        assert!(
            allowed.len() >= 100,
            "{} retries in two minutes",
            allowed.len()
        );
        for (i, first) in allowed.iter().enumerate() {
            let in_window = allowed[i..]
                .iter()
                .take_while(|t| **t < *first + Duration::from_secs(10))
                .count();
            assert!(
                in_window <= 10,
                "{in_window} retries in the ttl from {first:?}"
            );
        }
    }

    /// Issue 16, item 5: a `ttl` that is not a multiple of [`SLOTS`]
    /// nanoseconds truncated the slot length (`10s 9ns` made 1 s slots), and
    /// eleven slots then covered less than a `ttl`: 10 retries at
    /// 0.999999999 s and 10 more at 11 s were 20 within 10 s + 1 ns.
    #[tokio::test(start_paused = true)]
    async fn a_ttl_that_is_not_a_multiple_of_the_slots_still_bounds_every_window() {
        let b = Budget::new(BudgetSettings {
            ttl: Duration::new(10, 9),
            min_retries_per_sec: 1,
            retry_ratio: 0.0,
        });
        tokio::time::advance(Duration::from_nanos(999_999_999)).await;
        assert_eq!((0..20).filter(|_| b.try_withdraw()).count(), 10);
        tokio::time::advance(Duration::from_nanos(10_000_000_001)).await;
        assert_eq!(
            (0..20).filter(|_| b.try_withdraw()).count(),
            0,
            "the retries of 10 s + 1 ns ago are less than a ttl ago"
        );
        for ttl in [
            Duration::new(10, 9),
            Duration::new(1, 1),
            Duration::new(59, 999_999_999),
            Duration::from_secs(7),
        ] {
            assert!(
                slot_len(ttl) * u32::try_from(SLOTS).unwrap() >= ttl,
                "{ttl:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_balance_is_never_negative() {
        let b = budget(10, 0, 1.0);
        for _ in 0..5 {
            b.deposit();
        }
        assert_eq!((0..10).filter(|_| b.try_withdraw()).count(), 5);
        // The deposits expire after ttl, the withdrawals one slot later.
        tokio::time::advance(Duration::from_millis(10_500)).await;
        assert!(b.balance() >= 0.0 && b.balance() < 1e-9, "{}", b.balance());
        assert!(!b.try_withdraw());
    }

    #[tokio::test(start_paused = true)]
    async fn reset_forgets_everything_and_restarts_the_clock() {
        let b = budget(10, 1, 0.5);
        for _ in 0..10 {
            b.deposit();
        }
        assert_eq!((0..30).filter(|_| b.try_withdraw()).count(), 15);
        assert_eq!(b.exhausted(), 15);
        b.reset();
        assert_eq!(b.exhausted(), 0);
        assert!(
            (b.balance() - 10.0).abs() < 1e-9,
            "the reserve alone: {}",
            b.balance()
        );
        assert_eq!((0..30).filter(|_| b.try_withdraw()).count(), 10);
    }

    /// A clock that jumps back (another paused runtime, say) cannot revive
    /// old counts after a reset.
    #[test]
    fn reset_restarts_on_the_clock_of_the_runtime_that_calls_it() {
        let b = budget(10, 1, 0.0);
        let paused = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap()
        };
        paused().block_on(async {
            tokio::time::advance(Duration::from_secs(86_400)).await;
            assert_eq!((0..20).filter(|_| b.try_withdraw()).count(), 10);
        });
        paused().block_on(async {
            assert!(
                !b.try_withdraw(),
                "a day ahead, the spent budget stays spent"
            );
            b.reset();
            assert_eq!((0..20).filter(|_| b.try_withdraw()).count(), 10);
            tokio::time::advance(Duration::from_secs(11)).await;
            assert_eq!((0..20).filter(|_| b.try_withdraw()).count(), 10);
        });
    }

    #[test]
    fn deposit_tags_do_not_wrap_in_practice() {
        let counter = EpochCounter::default();
        counter.add_one(5);
        assert_eq!(counter.count(5), 1);
        // 2^32 slots later (13.6 years of 100 ms slots) the tag differs.
        assert_eq!(counter.count(5 + (1 << 32)), 0);
    }
}
