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
//! The instances of one name live in one [`Table`] under a mutex: an index from
//! the key's hash to a slot, and the slots in a doubly linked list from the most
//! to the least recently used, so a hit is moved to the front in O(1) and an
//! eviction starts from the back. A call takes an `Arc` of its instance, so an
//! instance evicted (or retired by an `install`) while calls still hold it
//! lives until they finish, and is freed then.
//!
//! **Past `max_keys`** a new key evicts the least recently used *closed*
//! instance. If none is closed, the least recently used instance that the
//! breaker opened by itself (open or half-open) goes instead: the bound is a
//! memory promise and stays exact, and the instance given up is the one that no
//! caller has asked about for the longest time, so the state lost matters least
//! (its key, if it comes back, starts closed and trips again after
//! `minimum_calls` failures; a `WARN` event says to raise `max_keys`). Instances
//! an operator forced open or disabled are never evicted: their state is a
//! decision, not a measurement. Only if every live instance is such a one does
//! the new key get an instance beyond the bound; the next new key that finds
//! evictable instances evicts as many as it takes to bring the count back.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::BreakerSettings;
use crate::breaker::lookup::{HashText, LookupKey};
use crate::breaker::{Breaker, BreakerState};

/// No slot: the end of a list.
const NONE: u32 = u32::MAX;

/// The keyed instances of one breaker name, under one set of settings.
pub(crate) struct KeyedBreakers {
    name: Arc<str>,
    settings: BreakerSettings,
    /// The key hash's secret key (SipHash), so that keys chosen by a remote
    /// party cannot be aimed at one bucket.
    seed: (u64, u64),
    table: Mutex<Table>,
}

/// Slots in most-recently-used order, and an index from key hash to slot.
#[derive(Default)]
struct Table {
    /// Set when an `install` changed the name's settings or `reset_state` ran:
    /// the table is empty and stays so; a late call gets an unshared instance.
    retired: bool,
    /// Key hash → first slot with that hash (others follow through `Slot::same_hash`).
    index: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    slots: Vec<Slot>,
    /// Free slots, linked through `Slot::next`.
    free: u32,
    /// Most recently used.
    head: u32,
    /// Least recently used.
    tail: u32,
    live: usize,
}

struct Slot {
    /// `None` in a free slot.
    breaker: Option<Arc<Breaker>>,
    hash: u64,
    prev: u32,
    next: u32,
    same_hash: u32,
}

impl KeyedBreakers {
    pub(crate) fn new(name: &str, settings: BreakerSettings) -> KeyedBreakers {
        KeyedBreakers {
            name: Arc::from(name),
            settings,
            seed: {
                // Two random words, from the standard library's per-process randomness.
                let random = RandomState::new();
                (random.hash_one(0_u64), random.hash_one(1_u64))
            },
            table: Mutex::new(Table {
                free: NONE,
                head: NONE,
                tail: NONE,
                ..Table::default()
            }),
        }
    }

    pub(crate) fn settings(&self) -> &BreakerSettings {
        &self.settings
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

    /// The instance for `key`, created (and the least recently used one
    /// evicted past `max_keys`) if it is new. No allocation once it exists.
    pub(crate) fn get<K: LookupKey + ?Sized>(&self, key: &K) -> Arc<Breaker> {
        let hash = self.hash_of(key);
        let mut table = self.lock();
        if table.retired {
            drop(table);
            return Arc::new(self.instance(key));
        }
        self.get_locked(&mut table, hash, key)
    }

    /// Sets the state of `key`'s instance by hand (creating it), under the
    /// table's lock: no eviction can come between finding the instance and
    /// setting it, and a forced-open or disabled instance is never evicted,
    /// so an operator's decision is never left on an evicted orphan.
    pub(crate) fn set<K: LookupKey + ?Sized>(&self, key: &K, to: BreakerState) -> Arc<Breaker> {
        let hash = self.hash_of(key);
        let mut table = self.lock();
        if table.retired {
            // Retired tables are no longer live: a handle reaches one only
            // while an install swaps it out, and sets the state on the
            // instance it will read back.
            drop(table);
            let instance = Arc::new(self.instance(key));
            instance.set(to);
            return instance;
        }
        let instance = self.get_locked(&mut table, hash, key);
        instance.set(to);
        instance
    }

    fn get_locked<K: LookupKey + ?Sized>(
        &self,
        table: &mut MutexGuard<'_, Table>,
        hash: u64,
        key: &K,
    ) -> Arc<Breaker> {
        if let Some(at) = table.find(hash, key) {
            table.touch(at);
            if let Some(breaker) = &table.slots[at as usize].breaker {
                return Arc::clone(breaker);
            }
        }
        let max = usize::try_from(self.settings.max_keys).unwrap_or(usize::MAX);
        // Back to the bound, if instances set by hand had pushed the count past it.
        while table.live >= max && self.evict_one(table) {}
        let breaker = Arc::new(self.instance(key));
        table.insert(hash, Arc::clone(&breaker));
        crate::ops::metrics::breaker_keys(&self.name, table.live);
        breaker
    }

    /// The instance for `key` if it is alive (handles: never creates one).
    pub(crate) fn existing<K: LookupKey + ?Sized>(&self, key: &K) -> Option<Arc<Breaker>> {
        let hash = self.hash_of(key);
        let table = self.lock();
        let at = table.find(hash, key)?;
        table.slots[at as usize].breaker.clone()
    }

    fn instance<K: LookupKey + ?Sized>(&self, key: &K) -> Breaker {
        Breaker::with_key(Arc::clone(&self.name), Some(key.to_text()), self.settings)
    }

    /// Frees one slot for a new key (see the module docs for which); false if
    /// every live instance was set by hand.
    fn evict_one(&self, table: &mut Table) -> bool {
        let mut automatic = NONE;
        let mut at = table.tail;
        while at != NONE {
            let slot = &table.slots[at as usize];
            let state = slot
                .breaker
                .as_ref()
                .map_or(BreakerState::Closed, |b| b.state());
            match state {
                BreakerState::Closed => {
                    table.remove(at);
                    return true;
                }
                BreakerState::Open | BreakerState::HalfOpen if automatic == NONE => {
                    automatic = at;
                }
                _ => {}
            }
            at = slot.prev;
        }
        if automatic != NONE {
            if let Some(breaker) = &table.slots[automatic as usize].breaker {
                tracing::warn!(
                    breaker = %self.name,
                    key = breaker.key().map(|k| &**k),
                    state = %breaker.state(),
                    max_keys = self.settings.max_keys,
                    "breaker `{}`: no keyed instance is closed, so the least recently used {} one is evicted to stay within max_keys = {}; raise max_keys if this repeats",
                    self.name,
                    breaker.state(),
                    self.settings.max_keys,
                );
            }
            table.remove(automatic);
            return true;
        }
        false
    }

    /// Every live instance, most recently used first.
    pub(crate) fn instances(&self) -> Vec<Arc<Breaker>> {
        let table = self.lock();
        let mut out = Vec::with_capacity(table.live);
        let mut at = table.head;
        while at != NONE {
            let slot = &table.slots[at as usize];
            out.extend(slot.breaker.clone());
            at = slot.next;
        }
        out
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

    /// Drops every instance and refuses to keep new ones: an `install` changed
    /// the name's settings, or `reset_state` ran. Calls that hold an instance
    /// finish on it; its memory goes with the last of them.
    pub(crate) fn retire(&self) {
        let old = {
            let mut table = self.lock();
            table.retired = true;
            table.live = 0;
            table.head = NONE;
            table.tail = NONE;
            table.free = NONE;
            table.index = HashMap::default();
            std::mem::take(&mut table.slots)
        };
        // Freed outside the lock.
        drop(old);
        crate::ops::metrics::breaker_keys(&self.name, 0);
    }
}

impl Table {
    /// The slot holding `key`'s instance.
    fn find<K: LookupKey + ?Sized>(&self, hash: u64, key: &K) -> Option<u32> {
        let mut at = *self.index.get(&hash)?;
        while at != NONE {
            let slot = &self.slots[at as usize];
            if slot.hash == hash
                && let Some(text) = slot.breaker.as_ref().and_then(|b| b.key())
                && key.is(text)
            {
                return Some(at);
            }
            at = slot.same_hash;
        }
        None
    }

    /// Moves `at` to the front (most recently used).
    fn touch(&mut self, at: u32) {
        if self.head == at {
            return;
        }
        self.unlink(at);
        self.link_front(at);
    }

    fn unlink(&mut self, at: u32) {
        let (prev, next) = {
            let slot = &self.slots[at as usize];
            (slot.prev, slot.next)
        };
        if prev == NONE {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NONE {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }

    fn link_front(&mut self, at: u32) {
        let head = self.head;
        {
            let slot = &mut self.slots[at as usize];
            slot.prev = NONE;
            slot.next = head;
        }
        if head == NONE {
            self.tail = at;
        } else {
            self.slots[head as usize].prev = at;
        }
        self.head = at;
    }

    fn insert(&mut self, hash: u64, breaker: Arc<Breaker>) {
        let same_hash = self.index.get(&hash).copied().unwrap_or(NONE);
        let slot = Slot {
            breaker: Some(breaker),
            hash,
            prev: NONE,
            next: NONE,
            same_hash,
        };
        let at = if self.free == NONE {
            // More than u32::MAX - 1 slots cannot happen: max_keys ≤ 1,000,000.
            let at = u32::try_from(self.slots.len()).unwrap_or(NONE - 1);
            self.slots.push(slot);
            at
        } else {
            let at = self.free;
            self.free = self.slots[at as usize].next;
            self.slots[at as usize] = slot;
            at
        };
        self.index.insert(hash, at);
        self.link_front(at);
        self.live += 1;
    }

    /// Unlinks `at`, drops its instance and puts the slot on the free list.
    fn remove(&mut self, at: u32) {
        self.unlink(at);
        let (hash, same_hash) = {
            let slot = &self.slots[at as usize];
            (slot.hash, slot.same_hash)
        };
        // Out of its hash chain.
        if self.index.get(&hash) == Some(&at) {
            if same_hash == NONE {
                self.index.remove(&hash);
            } else {
                self.index.insert(hash, same_hash);
            }
        } else if let Some(&first) = self.index.get(&hash) {
            let mut before = first;
            while before != NONE && self.slots[before as usize].same_hash != at {
                before = self.slots[before as usize].same_hash;
            }
            if before != NONE {
                self.slots[before as usize].same_hash = same_hash;
            }
        }
        let slot = &mut self.slots[at as usize];
        slot.breaker = None;
        slot.same_hash = NONE;
        slot.prev = NONE;
        slot.next = self.free;
        self.free = at;
        self.live -= 1;
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
        assert!(key.as_str().is(text));
        assert!(ByDisplay(&key).is(text));
        assert!(!other.as_str().is(text));
        assert!(!ByDisplay(&other).is(text));
        // A short key never matches a long one's stored form, even its own text.
        assert!(!text.is(text));
        assert!(Arc::ptr_eq(&set.get(key.as_str()), &stored));
        assert!(!Arc::ptr_eq(&set.get(other.as_str()), &stored));
    }

    #[test]
    fn colliding_hashes_are_told_apart_by_text() {
        let set = KeyedBreakers::new("t", BreakerSettings::DEFAULT);
        let mut table = set.lock();
        let a = Arc::new(set.instance("a"));
        let b = Arc::new(set.instance("b"));
        table.insert(7, Arc::clone(&a));
        table.insert(7, Arc::clone(&b));
        let at_a = table.find(7, "a").unwrap();
        let at_b = table.find(7, "b").unwrap();
        assert_ne!(at_a, at_b);
        table.remove(at_b);
        assert_eq!(table.find(7, "a"), Some(at_a));
        assert_eq!(table.find(7, "b"), None);
        table.remove(at_a);
        assert!(table.index.is_empty());
        assert_eq!(table.live, 0);
    }
}
