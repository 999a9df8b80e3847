//! How a keyed breaker's table reads a key: its hash and its text, without
//! allocating, whether the key is a `str` or any `Display` value streamed
//! through the formatter.
//!
//! The hash is SipHash-1-3 written out on whole words (std's `Hasher` buffers
//! bytes, which cost a quarter of a keyed call), keyed per table so that
//! keys chosen by an outsider cannot be made to collide.

use std::fmt::{self, Display, Write as _};
use std::sync::Arc;

/// How the table reads a key: its hash, whether it is a stored text, and the
/// text of a new instance.
pub(crate) trait LookupKey {
    fn hash_into(&self, sink: &mut HashText);
    fn is(&self, text: &str) -> bool;
    fn to_text(&self) -> Arc<str>;
}

/// Keys whose text is longer than this many bytes are stored short: the
/// first 256 bytes or fewer (cut at a character boundary), `…#`, and a
/// 128-bit digest of the whole text in 32 hex digits, at most 292 bytes in
/// all, however long the key. Two long keys that share their first 256
/// bytes stay two instances (their digests differ); the digest is keyed per
/// process, so that no one can make two keys collide on purpose.
pub(crate) const MAX_KEY_LEN: usize = 256;

/// Between the kept start of a long key and its digest.
const LONG_MARK: &str = "…#";

/// The digest of a long key's whole text: SipHash-2-4 under two secret keys.
struct Digest {
    halves: [HashText<2, 4>; 2],
    len: usize,
}

impl Digest {
    fn new() -> Digest {
        static KEYS: std::sync::OnceLock<[(u64, u64); 2]> = std::sync::OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            use std::hash::BuildHasher as _;
            let random = std::hash::RandomState::new();
            let word = |n: u64| random.hash_one(n);
            [(word(0), word(1)), (word(2), word(3))]
        });
        Digest {
            halves: [HashText::new(keys[0]), HashText::new(keys[1])],
            len: 0,
        }
    }

    fn of_display<K: Display + ?Sized>(key: &K) -> Digest {
        let mut digest = Digest::new();
        // A `Display` that fails part-way counts with the text it wrote.
        let _ = write!(digest, "{key}");
        digest
    }

    fn finish(self) -> u128 {
        let [a, b] = self.halves;
        u128::from(a.finish()) << 64 | u128::from(b.finish())
    }
}

impl fmt::Write for Digest {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.len = self.len.saturating_add(s.len());
        for half in &mut self.halves {
            half.write_str(s)?;
        }
        Ok(())
    }
}

/// The text an instance keeps for a key: the key itself, or the short form
/// of a key longer than [`MAX_KEY_LEN`].
fn stored_text(text: &str) -> Arc<str> {
    if text.len() <= MAX_KEY_LEN {
        return Arc::from(text);
    }
    let mut cut = MAX_KEY_LEN;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut digest = Digest::new();
    let _ = digest.write_str(text);
    Arc::from(format!(
        "{}{LONG_MARK}{:032x}",
        &text[..cut],
        digest.finish()
    ))
}

/// Whether `stored`, the short form of a long key, is that of the key whose
/// whole text has `digest`.
fn is_long_form_of(stored: &str, digest: Digest) -> bool {
    digest.len > MAX_KEY_LEN
        && stored
            .rsplit_once(LONG_MARK)
            .and_then(|(_, hex)| u128::from_str_radix(hex, 16).ok())
            .is_some_and(|stored| stored == digest.finish())
}

/// A key read through its `Display` output, streamed (never buffered).
pub(crate) struct ByDisplay<'k, K: ?Sized>(pub(crate) &'k K);

impl<K: Display + ?Sized> LookupKey for ByDisplay<'_, K> {
    fn hash_into(&self, sink: &mut HashText) {
        // A `Display` that fails part-way counts with the text it wrote.
        let _ = write!(sink, "{}", self.0);
    }

    fn is(&self, text: &str) -> bool {
        if text.len() <= MAX_KEY_LEN {
            same_text(self.0, text)
        } else {
            is_long_form_of(text, Digest::of_display(self.0))
        }
    }

    fn to_text(&self) -> Arc<str> {
        // Not `to_string`, which panics on a `Display` error: the text written
        // before the error is the key, as in `hash_into` and `is`.
        let mut text = String::new();
        let _ = write!(text, "{}", self.0);
        stored_text(&text)
    }
}

/// A key that is text already: no formatting at all.
impl LookupKey for str {
    #[inline]
    fn hash_into(&self, sink: &mut HashText) {
        let _ = sink.write_str(self);
    }

    #[inline]
    fn is(&self, text: &str) -> bool {
        if text.len() <= MAX_KEY_LEN {
            same_bytes(self.as_bytes(), text.as_bytes())
        } else {
            is_long_form_of(text, Digest::of_display(self))
        }
    }

    fn to_text(&self) -> Arc<str> {
        stored_text(self)
    }
}

/// `a == b`, inlined word by word: keys are short, and a call to `memcmp`
/// cost more than the comparison.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a_words, mut b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let word = |w: &[u8]| {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(w);
        u64::from_ne_bytes(bytes)
    };
    a_words
        .by_ref()
        .zip(b_words.by_ref())
        .all(|(x, y)| word(x) == word(y))
        && a_words
            .remainder()
            .iter()
            .zip(b_words.remainder())
            .all(|(x, y)| x == y)
}

/// Whether `key`'s `Display` output is exactly `text`, without building it.
/// A `Display` that fails part-way is read as the text it wrote before failing.
pub(super) fn same_text<K: Display + ?Sized>(key: &K, text: &str) -> bool {
    let mut sink = SameText {
        rest: text,
        differs: false,
    };
    // An error is either ours (the text differs: `differs` says so) or the
    // key's own, after the text it wrote.
    let _ = write!(sink, "{key}");
    !sink.differs && sink.rest.is_empty()
}

struct SameText<'t> {
    rest: &'t str,
    differs: bool,
}

impl fmt::Write for SameText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match self.rest.strip_prefix(s) {
            Some(rest) => {
                self.rest = rest;
                Ok(())
            }
            None => {
                self.differs = true;
                Err(fmt::Error)
            }
        }
    }
}

/// SipHash-1-3 of text written in pieces, exactly as of the same text written
/// at once: bytes are compressed in whole 8-byte words, and the last block
/// holds the tail and the length, as SipHash specifies. Written out rather than
/// through `std::hash::Hasher`, whose streaming byte buffer doubled the cost.
pub(crate) struct HashText<const C: usize = 1, const D: usize = 3> {
    sip: Sip<C, D>,
    /// The bytes after the last whole word, little-endian (kept in a register:
    /// no byte buffer to clear or to reload as a word).
    tail: u64,
    filled: u32,
    len: u64,
}

impl<const C: usize, const D: usize> HashText<C, D> {
    pub(super) fn new(key: (u64, u64)) -> Self {
        HashText {
            sip: Sip::new(key),
            tail: 0,
            filled: 0,
            len: 0,
        }
    }

    pub(super) fn finish(self) -> u64 {
        self.sip.finish(self.tail | (self.len << 56))
    }
}

impl<const C: usize, const D: usize> fmt::Write for HashText<C, D> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut bytes = s.as_bytes();
        self.len = self.len.wrapping_add(bytes.len() as u64);
        if self.filled > 0 {
            while self.filled < 8 {
                let Some((&b, rest)) = bytes.split_first() else {
                    return Ok(());
                };
                self.tail |= u64::from(b) << (8 * self.filled);
                self.filled += 1;
                bytes = rest;
            }
            self.sip.compress(self.tail);
            self.tail = 0;
            self.filled = 0;
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0; 8];
            w.copy_from_slice(word);
            self.sip.compress(u64::from_le_bytes(w));
        }
        for &b in words.remainder() {
            self.tail |= u64::from(b) << (8 * self.filled);
            self.filled += 1;
        }
        Ok(())
    }
}

/// SipHash-C-D on 64-bit words; the keys use SipHash-1-3 (one compression
/// round, three finalization rounds), like the standard library's `HashMap`.
struct Sip<const C: usize, const D: usize> {
    v: [u64; 4],
}

impl<const C: usize, const D: usize> Sip<C, D> {
    fn new((k0, k1): (u64, u64)) -> Self {
        Sip {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
        }
    }

    #[inline]
    fn round(&mut self) {
        let [v0, v1, v2, v3] = &mut self.v;
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    }

    #[inline]
    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        for _ in 0..C {
            self.round();
        }
        self.v[0] ^= m;
    }

    fn finish(mut self, last: u64) -> u64 {
        self.compress(last);
        self.v[2] ^= 0xff;
        for _ in 0..D {
            self.round();
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}
