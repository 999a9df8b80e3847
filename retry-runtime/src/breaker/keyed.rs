//! Keyed breaker instances (`#[retryable(breaker = "hosts", breaker_key = host)]`):
//! one breaker per distinct key text, each with the named breaker's settings,
//! created on first use, at most `max_keys` of them alive per name.
//!
//! A call looks its key up without allocating, whatever the key's type. A key
//! that is text already (`&str`, `String`, ...: [`KeyText`](crate::call::key::KeyText)) is hashed and
//! compared as a `str`. Any other `Display` key is streamed twice, once into
//! the hasher and once into a comparison with the stored text, with no buffer.
//! The expansion picks the way by autoref specialization ([`KeyProbe`](crate::call::key::KeyProbe)). Only
//! a key seen for the first time is formatted into a `String` (the instance
//! keeps it).
//!
//! **What a key costs.** An instance keeps its key's text, up to
//! [`MAX_KEY_LEN`](crate::breaker::lookup::MAX_KEY_LEN) (256) bytes; a longer
//! key is kept as its first 256 bytes (or fewer, at a character boundary),
//! `…#` and a 128-bit digest of the whole text in hex, at most 292 bytes: two
//! long keys with the same start stay apart, and `max_keys` bounds bytes, not
//! only instances. Events, metrics and snapshots show the short form.
//!
//! **A hit writes nothing shared.** The instances of one name live in slots
//! that are never freed while the process runs (the table is interned per
//! name and settings for the whole process): a slot whose key is evicted is
//! reset and given to the next new key. An index from key text to slot
//! ([`papaya`], read without a lock) finds a call's instance; the call keeps
//! the slot and the slot's *generation*, a number bumped whenever the slot
//! loses its key. Every use of the instance compares the generation first: a
//! call whose instance was evicted and reused records nothing (the evicted
//! instance's state is gone, and its outcomes must not count for the slot's
//! new key) and is let through as a fresh instance would. Each hit stores a
//! timestamp (the CPU's time-stamp counter through [`quanta`], ordered across
//! cores) in the instance's line for the calling thread; the table reads those
//! only to evict. So a hit takes no lock and writes no line that another
//! thread's hit writes, and threads calling the same keys do not slow each
//! other down. Misses, evictions, hand-set states (`force_open`, `disable`,
//! `reset` through [`breaker_for`](crate::breaker_for)), installs and
//! snapshots take the table's mutex.
//!
//! **Past `max_keys`** a new key evicts the least recently used *closed*
//! instance (exactly: the table keeps its instances in a heap by the last
//! timestamp it saw, and an instance whose lines show a later hit goes back
//! with it until the top is one not used since; only if other threads hit
//! every live key without pause while it looks does the table stop after two
//! rounds of the heap and take the top of the moment). If none is closed, the least
//! recently used instance that the breaker opened by itself (open or
//! half-open) goes instead: the bound is a memory promise and stays exact, and
//! the instance given up is the one that no caller has asked about for the
//! longest time, so the state lost matters least (its key, if it comes back,
//! starts closed and trips again after `minimum_calls` failures; a `WARN`
//! event says to raise `max_keys`). Instances an operator forced open or
//! disabled are never evicted: their state is a decision, not a measurement.
//! Only if every live instance is such a one does the new key get an instance
//! beyond the bound; the next new key that finds evictable instances evicts as
//! many as it takes to bring the count back.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::time::Instant;

use crate::BreakerSettings;
use crate::breaker::lookup::{HashText, LookupKey};
use crate::breaker::{Breaker, BreakerRef, BreakerState, Permit};

/// The keyed instances of one breaker name, under one set of settings.
pub(crate) struct KeyedBreakers {
    name: Arc<str>,
    settings: BreakerSettings,
    /// The key hash's secret key (SipHash), so that keys chosen by a remote
    /// party cannot be aimed at one bucket.
    seed: (u64, u64),
    /// Key text → the slot holding its instance. Read without a lock; written
    /// under `table`'s.
    index: papaya::HashMap<Stored, Instance, BuildHasherDefault<Prehashed>>,
    table: Mutex<Table>,
    /// The hit timestamps' clock (see [`clock`]): a copy, read without the
    /// process-wide cell's check.
    clock: quanta::Clock,
}

/// Every slot this table ever made, which are live and in what order of use.
#[derive(Default)]
struct Table {
    /// Set when an `install` changed the name's settings or `reset_state` ran:
    /// the table is empty and stays so; a late call gets an unshared instance.
    retired: bool,
    /// Never freed: as many as were ever alive at once.
    slots: Vec<&'static Slot>,
    /// The key each slot holds (how to take it out of the index), `None` if free.
    keys: Vec<Option<Stored>>,
    free: Vec<u32>,
    /// Each live slot once, by the last-use timestamp the table last read of
    /// it (its lines may hold a later one): the least recently used on top.
    by_use: BinaryHeap<Reverse<Use>>,
    live: usize,
}

/// A live slot in the heap: its last use as last read, its number, and its
/// generation then.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Use {
    stamp: u64,
    at: u32,
    generation: u64,
}

/// A place for one keyed instance, reset and reused when its key is evicted.
pub(crate) struct Slot {
    /// Bumped when the slot loses its key, before it is reset for another:
    /// a call holding an older generation no longer owns the instance.
    generation: AtomicU64,
    breaker: Breaker,
}

/// A call's keyed instance, as the index holds it: its slot, and the
/// slot's generation when it took the key. The instance is the call's as
/// long as the slot's generation is still this one.
#[derive(Clone, Copy)]
pub(crate) struct Instance {
    slot: &'static Slot,
    generation: u64,
}

impl Instance {
    /// Whether the slot still holds the key this instance was made for.
    #[inline]
    fn current(self) -> bool {
        self.slot.generation.load(Ordering::Acquire) == self.generation
    }

    /// The instance, unless its key was evicted and its slot reused since the
    /// call looked it up (then the call has no instance: it records nothing).
    #[inline]
    pub(crate) fn breaker(&self) -> Option<&'static Breaker> {
        self.current().then_some(&self.slot.breaker)
    }

    /// A permit from the instance, `None` when it refuses. An instance
    /// evicted since the lookup admits, as its key's fresh instance would,
    /// with nothing to record.
    #[inline]
    pub(crate) fn acquire(&self, now: Option<Instant>, first_wait: bool) -> Option<Permit> {
        if !self.current() {
            return Some(Permit::Disabled);
        }
        let permit = self.slot.breaker.acquire(now, first_wait);
        if permit.is_none() && !self.current() {
            return Some(Permit::Disabled);
        }
        permit
    }

    /// The key's text (the short form of a long key), for events and
    /// [`Rejected::BreakerOpen`](crate::Rejected::BreakerOpen).
    pub(crate) fn key(&self) -> Option<Arc<str>> {
        self.slot.breaker.key()
    }

    /// What a call gets from a retired table (an `install` is changing the
    /// name's settings while it starts): an instance that is no longer
    /// current, so the call is let through and records nothing, as a call
    /// on an instance evicted under it.
    fn retired() -> Instance {
        static SPARE: OnceLock<&'static Slot> = OnceLock::new();
        let slot = *SPARE.get_or_init(|| {
            Box::leak(Box::new(Slot {
                generation: AtomicU64::new(0),
                breaker: Breaker::new("", BreakerSettings::DEFAULT),
            }))
        });
        Instance {
            slot,
            generation: u64::MAX,
        }
    }
}

/// A key as the index stores it: its text (the short form of a long key)
/// and the hash of its full text.
struct Stored {
    hash: u64,
    text: Arc<str>,
}

impl Hash for Stored {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for Stored {
    fn eq(&self, other: &Stored) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for Stored {}

/// A key being looked up: its hash, computed once, and the key itself,
/// compared with a stored text without formatting it into a buffer.
struct Probe<'k, K: ?Sized> {
    hash: u64,
    key: &'k K,
}

impl<K: ?Sized> Hash for Probe<'_, K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl<K: LookupKey + ?Sized> papaya::Equivalent<Stored> for Probe<'_, K> {
    #[inline]
    fn equivalent(&self, stored: &Stored) -> bool {
        self.hash == stored.hash && self.key.is(&stored.text)
    }
}

/// The clock of hit timestamps: [`quanta::Clock::raw`], the time-stamp
/// counter where CPUID reports it invariant (one `rdtsc`: 3 to 11 ns a
/// call on the project's 2-vCPU VM, depending on its host: BENCHMARKS.md;
/// the kernel keeps the cores' counters in step, so a stamp taken on one
/// core after a stamp taken on another is larger, but for a skew of a few
/// ns between hits that close, whose order no caller can see), else the
/// monotonic clock. Never tokio's clock: LRU order is not a timing rule, and
/// a paused clock would stamp every hit alike. Made once per process (its
/// calibration takes about 10 ms), when the first keyed table is.
fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

impl KeyedBreakers {
    pub(crate) fn new(name: &str, settings: BreakerSettings) -> KeyedBreakers {
        KeyedBreakers {
            clock: clock().clone(),
            name: Arc::from(name),
            settings,
            seed: {
                // Two random words, from the standard library's per-process randomness.
                let random = RandomState::new();
                (random.hash_one(0_u64), random.hash_one(1_u64))
            },
            index: papaya::HashMap::with_hasher(BuildHasherDefault::default()),
            table: Mutex::new(Table::default()),
        }
    }

    pub(crate) fn settings(&self) -> &BreakerSettings {
        &self.settings
    }

    /// A hit's timestamp.
    #[inline]
    fn stamp(&self) -> u64 {
        self.clock.raw()
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The hash of `key`'s text.
    fn hash_of<K: LookupKey + ?Sized>(&self, key: &K) -> u64 {
        let mut sink: HashText = HashText::new(self.seed);
        key.hash_into(&mut sink);
        sink.finish()
    }

    /// The live entry of the key with `hash`, read without a lock.
    #[inline]
    fn find<K: LookupKey + ?Sized>(&self, hash: u64, key: &K) -> Option<Instance> {
        let entry = *self.index.pin().get(&Probe { hash, key })?;
        // The index may have handed out the entry of a key being evicted.
        entry.current().then_some(entry)
    }

    /// [`find`](Self::find), noting the use in the calling thread's line of
    /// the instance: a hit.
    #[inline]
    fn hit<K: LookupKey + ?Sized>(&self, hash: u64, key: &K) -> Option<Instance> {
        let entry = self.find(hash, key)?;
        entry.slot.breaker.touch(self.stamp());
        Some(entry)
    }

    /// The instance for `key`, created (and the least recently used one
    /// evicted past `max_keys`) if it is new. A hit takes no lock, allocates
    /// nothing and writes only the calling thread's line of the instance.
    #[inline]
    pub(crate) fn get<K: LookupKey + ?Sized>(&self, key: &K) -> Instance {
        let hash = self.hash_of(key);
        match self.hit(hash, key) {
            Some(entry) => entry,
            None => self.miss(hash, key),
        }
    }

    #[cold]
    fn miss<K: LookupKey + ?Sized>(&self, hash: u64, key: &K) -> Instance {
        let mut table = self.lock();
        if table.retired {
            return Instance::retired();
        }
        self.get_locked(&mut table, hash, key)
    }

    /// The instance for `key` as a handle sees it (created if new): from a
    /// retired table, one of its own.
    pub(crate) fn get_ref<K: LookupKey + ?Sized>(&self, key: &K) -> BreakerRef {
        let hash = self.hash_of(key);
        let mut table = self.lock();
        if table.retired {
            drop(table);
            return BreakerRef::Keyed(Arc::new(self.instance(key)));
        }
        BreakerRef::Static(&self.get_locked(&mut table, hash, key).slot.breaker)
    }

    /// Sets the state of `key`'s instance by hand (creating it), under the
    /// table's lock: no eviction can come between finding the instance and
    /// setting it, and a forced-open or disabled instance is never evicted,
    /// so an operator's decision is never left on an evicted orphan.
    pub(crate) fn set<K: LookupKey + ?Sized>(&self, key: &K, to: BreakerState) {
        let hash = self.hash_of(key);
        let mut table = self.lock();
        if table.retired {
            // Retired tables are no longer live: a handle reaches one only
            // while an install swaps it out.
            drop(table);
            self.instance(key).set(to);
            return;
        }
        let entry = self.get_locked(&mut table, hash, key);
        entry.slot.breaker.set(to);
    }

    fn get_locked<K: LookupKey + ?Sized>(
        &self,
        table: &mut MutexGuard<'_, Table>,
        hash: u64,
        key: &K,
    ) -> Instance {
        // Under the lock, the index holds exactly the live slots.
        if let Some(entry) = self.hit(hash, key) {
            return entry;
        }
        let max = usize::try_from(self.settings.max_keys).unwrap_or(usize::MAX);
        // Back to the bound, if instances set by hand had pushed the count past it.
        while table.live >= max && self.evict_one(table) {}
        let text = key.to_text();
        let at = match table.free.pop() {
            Some(at) => {
                table.slots[at as usize].breaker.reuse(Arc::clone(&text));
                at
            }
            None => {
                let slot: &'static Slot = Box::leak(Box::new(Slot {
                    generation: AtomicU64::new(0),
                    breaker: Breaker::with_key(
                        Arc::clone(&self.name),
                        Some(Arc::clone(&text)),
                        self.settings,
                    ),
                }));
                table.slots.push(slot);
                table.keys.push(None);
                // More than u32::MAX slots cannot happen: max_keys ≤ 1,000,000,
                // and only hand-set instances go past it.
                u32::try_from(table.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let slot = table.slots[at as usize];
        let now = self.stamp();
        slot.breaker.touch(now);
        let entry = Instance {
            slot,
            generation: slot.generation.load(Ordering::Relaxed),
        };
        self.index.pin().insert(
            Stored {
                hash,
                text: Arc::clone(&text),
            },
            entry,
        );
        table.keys[at as usize] = Some(Stored { hash, text });
        table.by_use.push(Reverse(Use {
            stamp: now,
            at,
            generation: entry.generation,
        }));
        table.live += 1;
        crate::ops::metrics::breaker_keys(&self.name, table.live);
        entry
    }

    /// The instance for `key` if it is alive (handles: never creates one).
    pub(crate) fn existing<K: LookupKey + ?Sized>(&self, key: &K) -> Option<&'static Breaker> {
        let entry = self.find(self.hash_of(key), key)?;
        Some(&entry.slot.breaker)
    }

    fn instance<K: LookupKey + ?Sized>(&self, key: &K) -> Breaker {
        Breaker::with_key(Arc::clone(&self.name), Some(key.to_text()), self.settings)
    }

    /// Frees one slot for a new key (see the module docs for which); false if
    /// every live instance was set by hand.
    fn evict_one(&self, table: &mut Table) -> bool {
        // Popped and not evicted: back in the heap at the end.
        let mut kept: Vec<Use> = Vec::new();
        let mut automatic: Option<Use> = None;
        let mut closed: Option<Use> = None;
        // Threads hitting every live key without pause could keep moving
        // them back in for ever: after two rounds of the heap, the top is
        // taken as the least recently used (it was, a round ago).
        let mut moves_left = 2 * table.by_use.len();
        while let Some(Reverse(top)) = table.by_use.pop() {
            let slot = table.slots[top.at as usize];
            if slot.generation.load(Ordering::Relaxed) != top.generation {
                // Left over from a slot freed since (cannot happen while
                // every free slot leaves the heap with it; kept exact anyway).
                continue;
            }
            let last = slot.breaker.last_used();
            if last > top.stamp && moves_left > 0 {
                // Used since the table last looked: back in, at its last use.
                moves_left -= 1;
                table.by_use.push(Reverse(Use { stamp: last, ..top }));
                continue;
            }
            let top = Use { stamp: last, ..top };
            match slot.breaker.state() {
                BreakerState::Closed => {
                    closed = Some(top);
                    break;
                }
                BreakerState::Open | BreakerState::HalfOpen if automatic.is_none() => {
                    automatic = Some(top);
                }
                _ => kept.push(top),
            }
        }
        let evicted = match (closed, automatic) {
            (Some(closed), automatic) => {
                kept.extend(automatic);
                Some(closed)
            }
            (None, Some(automatic)) => {
                let breaker = &table.slots[automatic.at as usize].breaker;
                let state = breaker.state();
                tracing::warn!(
                    breaker = %self.name,
                    key = breaker.key().as_deref(),
                    state = %state,
                    max_keys = self.settings.max_keys,
                    "breaker `{}`: no keyed instance is closed, so the least recently used {} one is evicted to stay within max_keys = {}; raise max_keys if this repeats",
                    self.name,
                    state,
                    self.settings.max_keys,
                );
                Some(automatic)
            }
            (None, None) => None,
        };
        table.by_use.extend(kept.into_iter().map(Reverse));
        match evicted {
            Some(evicted) => {
                self.free(table, evicted.at);
                true
            }
            None => false,
        }
    }

    /// Takes slot `at` out of the index and gives it up: calls that hold it
    /// see its generation change and record nothing more.
    fn free(&self, table: &mut Table, at: u32) {
        if let Some(stored) = table.keys[at as usize].take() {
            self.index.pin().remove(&stored);
            table.slots[at as usize]
                .generation
                .fetch_add(1, Ordering::AcqRel);
            table.free.push(at);
            table.live -= 1;
        }
    }

    /// Every live instance, most recently used first.
    pub(crate) fn instances(&self) -> Vec<&'static Breaker> {
        let table = self.lock();
        let mut live: Vec<(u64, &'static Breaker)> = table
            .keys
            .iter()
            .zip(&table.slots)
            .filter(|(key, _)| key.is_some())
            .map(|(_, slot)| (slot.breaker.last_used(), &slot.breaker))
            .collect();
        drop(table);
        live.sort_by_key(|(stamp, _)| Reverse(*stamp));
        live.into_iter().map(|(_, breaker)| breaker).collect()
    }

    /// How many instances are alive.
    pub(crate) fn live(&self) -> usize {
        self.lock().live
    }

    /// Takes new instances again after [`retire`](Self::retire): the
    /// name's settings came back to this table's.
    pub(crate) fn revive(&self) {
        self.lock().retired = false;
    }

    /// Empties the table and refuses to keep new instances: an `install`
    /// changed the name's settings, or `reset_state` ran. Calls that hold an
    /// instance record nothing more on it. The slots stay, for the keys of a
    /// [`revive`](Self::revive)d table.
    pub(crate) fn retire(&self) {
        let mut table = self.lock();
        table.retired = true;
        for at in 0..table.slots.len() {
            // Fewer than u32::MAX slots: see `get_locked`.
            self.free(&mut table, u32::try_from(at).unwrap_or(u32::MAX));
        }
        table.by_use.clear();
        drop(table);
        crate::ops::metrics::breaker_keys(&self.name, 0);
    }
}

/// The index's keys are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::lookup::{ByDisplay, same_text};
    use std::fmt::{self, Display, Write as _};

    fn hash<K: LookupKey + ?Sized>(set: &KeyedBreakers, key: &K) -> u64 {
        set.hash_of(key)
    }

    fn slot_of(instance: &Instance) -> *const Slot {
        instance.slot
    }

    fn keys(set: &KeyedBreakers) -> Vec<String> {
        set.instances()
            .iter()
            .map(|b| b.key().unwrap().to_string())
            .collect()
    }

    /// Displays its text in pieces of `n` bytes.
    struct Pieces<'a>(&'a str, usize);

    impl Display for Pieces<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for chunk in self.0.as_bytes().chunks(self.1) {
                f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
            }
            Ok(())
        }
    }

    /// With two and four rounds, the same code computes what std's (stable,
    /// deprecated) `SipHasher`, SipHash-2-4, computes: the rounds, the
    /// initialization and the last block are SipHash's.
    #[test]
    fn the_hash_is_siphash() {
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        for text in ["", "a", "abcdefgh", "api-17.internal.example:8443"] {
            let mut ours = HashText::<2, 4>::new((k0, k1));
            ours.write_str(text).unwrap();
            #[allow(deprecated)]
            let mut std_sip = std::hash::SipHasher::new_with_keys(k0, k1);
            std_sip.write(text.as_bytes());
            assert_eq!(ours.finish(), std_sip.finish(), "{text:?}");
        }
    }

    #[test]
    fn text_hashes_alike_however_it_is_written() {
        let set = KeyedBreakers::new("t", BreakerSettings::DEFAULT);
        let text = "api-17.internal.example:8443";
        for n in 1..=text.len() {
            assert_eq!(
                hash(&set, &ByDisplay(&Pieces(text, n))),
                hash(&set, text),
                "pieces of {n}"
            );
            assert!(same_text(&Pieces(text, n), text));
        }
        assert_eq!(hash(&set, &ByDisplay(&17_u32)), hash(&set, "17"));
        assert_ne!(hash(&set, "a"), hash(&set, "a\0"));
        assert!(!same_text("abc", "ab"));
        assert!(!same_text("ab", "abc"));
    }

    #[test]
    fn a_long_key_is_stored_short_cut_at_a_character_boundary() {
        use crate::breaker::lookup::MAX_KEY_LEN;
        let set = KeyedBreakers::new("t", BreakerSettings::DEFAULT);
        // 'é' is two bytes: byte 256 falls inside one.
        let key = format!("{}{}", "a".repeat(MAX_KEY_LEN - 1), "é".repeat(1000));
        let other = format!("{}{}", "a".repeat(MAX_KEY_LEN - 1), "é".repeat(1001));
        let stored = set.get(key.as_str());
        let text = stored.key().unwrap();
        assert!(text.len() <= MAX_KEY_LEN + 36, "{} bytes", text.len());
        assert!(text.starts_with(&key[..MAX_KEY_LEN - 1]));
        assert!(key.as_str().is(&text));
        assert!(ByDisplay(&key).is(&text));
        assert!(!other.as_str().is(&text));
        assert!(!ByDisplay(&other).is(&text));
        // A short key never matches a long one's stored form, even its own text.
        assert!(!text.is(&text));
        assert_eq!(slot_of(&set.get(key.as_str())), slot_of(&stored));
        assert_ne!(slot_of(&set.get(other.as_str())), slot_of(&stored));
        assert_eq!(
            slot_of(&set.get(&ByDisplay(&key))),
            slot_of(&stored),
            "a `Display` key finds the same instance"
        );
    }

    #[test]
    fn colliding_hashes_are_told_apart_by_text() {
        let set = KeyedBreakers::new("t", BreakerSettings::DEFAULT);
        let mut table = set.lock();
        let a = set.get_locked(&mut table, 7, "a");
        let b = set.get_locked(&mut table, 7, "b");
        assert!(!std::ptr::eq(a.slot, b.slot));
        assert!(std::ptr::eq(set.find(7, "a").unwrap().slot, a.slot));
        assert!(std::ptr::eq(set.find(7, "b").unwrap().slot, b.slot));
        assert!(set.find(7, "c").is_none());
        assert_eq!(table.live, 2);
    }

    fn lru(max_keys: u32) -> KeyedBreakers {
        KeyedBreakers::new(
            "lru",
            BreakerSettings {
                max_keys,
                ..BreakerSettings::DEFAULT
            },
        )
    }

    #[test]
    fn the_least_recently_used_key_is_the_one_evicted() {
        let set = lru(3);
        for key in ["a", "b", "c", "a"] {
            set.get(key);
        }
        set.get("d");
        assert_eq!(keys(&set), ["d", "a", "c"], "b was the least recently used");
        for key in ["c", "a", "e"] {
            set.get(key);
        }
        assert_eq!(keys(&set), ["e", "a", "c"], "d was");
        // Hits through a handle count as uses too; `existing` does not.
        set.get_ref("e");
        set.get_ref("c");
        assert!(set.existing("a").is_some());
        set.get("f");
        assert_eq!(keys(&set), ["f", "c", "e"], "a was");
        assert_eq!(set.live(), 3);
    }

    #[test]
    fn an_evicted_slot_is_reused_and_its_old_holders_see_it() {
        let set = lru(1);
        let a = set.get("a");
        assert!(a.breaker().is_some());
        let b = set.get("b");
        assert_eq!(slot_of(&a), slot_of(&b), "one slot, reused");
        assert!(a.breaker().is_none(), "a's instance is gone");
        assert!(matches!(a.acquire(None, false), Some(Permit::Disabled)));
        assert_eq!(b.key().as_deref(), Some("b"));
        assert_eq!(set.lock().slots.len(), 1);
    }

    /// More threads than shards record on one instance, twice over (the
    /// second round's threads inherit the first's shards, and with them the
    /// lines' owner claims): no call is lost, whether a thread counted as a
    /// line's owner or with the others.
    #[test]
    fn calls_from_many_threads_on_one_instance_are_all_counted() {
        use crate::breaker::Outcome;
        use crate::shard::SHARDS;
        let set = lru(10);
        let instance = set.get("k");
        for _round in 0..2 {
            std::thread::scope(|s| {
                for _ in 0..2 * SHARDS {
                    s.spawn(|| {
                        for _ in 0..1_000 {
                            set.get("k");
                            let breaker = instance.breaker().expect("current");
                            let permit = breaker.acquire(None, false).expect("closed");
                            breaker.record(permit, Outcome::Success);
                        }
                    });
                }
            });
        }
        let breaker = instance.breaker().expect("current");
        assert_eq!(breaker.metrics().calls, 2 * 2 * SHARDS as u64 * 1_000);
        // A reused instance counts from zero.
        set.retire();
        set.revive();
        let again = set.get("other");
        assert_eq!(again.slot as *const Slot, instance.slot as *const Slot);
        assert_eq!(again.breaker().expect("current").metrics().calls, 0);
    }

    #[test]
    fn retire_empties_and_revive_reuses_the_slots() {
        let set = lru(10);
        let held: Vec<Instance> = (0..10).map(|i| set.get(&*i.to_string())).collect();
        set.retire();
        assert_eq!(set.live(), 0);
        assert!(held.iter().all(|i| i.breaker().is_none()));
        let late = set.get("late");
        assert!(
            late.breaker().is_none(),
            "not current: admits, records nothing"
        );
        assert!(matches!(late.acquire(None, false), Some(Permit::Disabled)));
        assert!(matches!(set.get_ref("late"), BreakerRef::Keyed(_)));
        set.revive();
        for i in 10..20 {
            set.get(&*i.to_string());
        }
        assert_eq!(set.live(), 10);
        assert_eq!(
            set.lock().slots.len(),
            10,
            "no slot beyond the ten ever alive"
        );
    }
}
