//! Interning and hashing for snapshot-owned strings: a seeded fast string hasher, string-keyed
//! maps built on it, and [`Interner`] (dense ids in byte order).

use super::columns::Strs;
use crate::probe::Probe;
use hashbrown::HashTable;
use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// Builds [`StrHasher`]s from a per-process random seed, so ids crafted to collide under one
/// seed do not collide under another (a tenant's artifacts cannot degrade lookups on purpose).
#[derive(Clone, Copy, Debug)]
pub struct StrHashState {
    seed: u64,
}

impl Default for StrHashState {
    fn default() -> StrHashState {
        StrHashState {
            seed: RandomState::new().hash_one(0x5EED_u64),
        }
    }
}

impl BuildHasher for StrHashState {
    type Hasher = StrHasher;
    fn build_hasher(&self) -> StrHasher {
        StrHasher(self.seed)
    }
}

const FOLD_K: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = (a as u128) * (b as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A fast string hasher (a folded 64x64→128 multiply per 8-byte word), several times cheaper
/// than SipHash on short ids; interning a million ids is dominated by hashing otherwise.
#[derive(Clone, Copy, Debug)]
pub struct StrHasher(u64);

impl Hasher for StrHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = fold_mul(self.0 ^ bytes.len() as u64, FOLD_K);
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            h = fold_mul(h ^ u64::from_le_bytes(b), FOLD_K);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            h = fold_mul(h ^ u64::from_le_bytes(b), FOLD_K);
        }
        self.0 = h;
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = fold_mul(self.0 ^ i as u64, FOLD_K);
    }
    /// Ends with a 64-bit avalanche (as in MurmurHash3's finaliser): hash tables take the
    /// bucket from the low bits and a 7-bit tag from the high ones, and ids that differ only
    /// in a few bytes (`sku-0000001`, `sku-0000002`, ...) must differ in both.
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
        h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        h ^ (h >> 33)
    }
}

/// How many names [`Interner::get_many`] looks up together (its scratch lives on the stack).
const BATCH: usize = 32;

/// A map keyed by strings with the fast seeded hasher (snapshot-owned lookups).
pub type StrMap<V> = HashMap<Box<str>, V, StrHashState>;

/// Names [`Interner::build_table`] hashes before inserting them.
const HASH_AHEAD: usize = 64;

/// Interned strings with byte-order ids: the names live in one buffer, the lookup table holds
/// only ids (no per-name allocation, ~13 bytes per id for the table and offsets).
#[derive(Debug, Default)]
pub struct Interner {
    /// Names by id.
    names: Strs,
    table: HashTable<u32>,
    hasher: StrHashState,
}

impl Interner {
    /// Interns `names`, which must be sorted in byte order and distinct (ids = positions).
    pub(crate) fn from_sorted<S: AsRef<str>>(names: &[S]) -> Interner {
        let mut it = Interner {
            names: Strs::with_capacity(names.len()),
            table: HashTable::with_capacity(names.len()),
            hasher: StrHashState::default(),
        };
        for (i, n) in names.iter().enumerate() {
            let n = n.as_ref();
            it.names.push(n);
            let h = it.hasher.hash_one(n);
            it.table.insert_unique(h, i as u32, |&j| {
                it.hasher.hash_one(it.names.get(j as usize))
            });
        }
        it
    }

    /// The names only, sorted in byte order and distinct (ids = positions), without the
    /// lookup table: [`Interner::get`] searches the names until [`Interner::set_table`] puts
    /// the table built by [`Interner::build_table`] in place (the table can then be built
    /// while other work reads the names).
    pub(crate) fn sorted_unindexed(names: &[&str]) -> Interner {
        let mut it = Interner {
            names: Strs::with_capacity(names.len()),
            table: HashTable::new(),
            hasher: StrHashState::default(),
        };
        for n in names {
            it.names.push(n);
        }
        it
    }

    /// The lookup table of the names (see [`Interner::sorted_unindexed`]). The names are
    /// hashed [`HASH_AHEAD`] at a time before they are inserted: with no hashing between
    /// them, the inserts' cache misses (one a name in a table of a million) overlap.
    pub(crate) fn build_table(&self) -> HashTable<u32> {
        let n = self.names.len();
        let mut table = HashTable::with_capacity(n);
        let mut hashes = [0u64; HASH_AHEAD];
        for start in (0..n).step_by(HASH_AHEAD) {
            let ids = start..n.min(start + HASH_AHEAD);
            for (h, i) in hashes.iter_mut().zip(ids.clone()) {
                *h = self.hasher.hash_one(self.names.get(i));
            }
            for (&h, i) in hashes.iter().zip(ids) {
                table.insert_unique(h, i as u32, |&j| {
                    self.hasher.hash_one(self.names.get(j as usize))
                });
            }
        }
        table
    }

    /// Puts the table [`Interner::build_table`] built for these names in place.
    pub(crate) fn set_table(&mut self, table: HashTable<u32>) {
        self.table = table;
    }

    pub fn get(&self, s: &str) -> Option<u32> {
        if self.table.is_empty() {
            // Unindexed (still compiling): binary search over the sorted names.
            let (mut lo, mut hi) = (0, self.names.len());
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match self.names.get(mid).cmp(s) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => return Some(mid as u32),
                }
            }
            return None;
        }
        let h = self.hasher.hash_one(s);
        self.table
            .find(h, |&j| self.names.get(j as usize) == s)
            .copied()
    }

    /// The ids of `names` in order, as [`Interner::get`] finds them one at a time, for a
    /// request's id lists. At catalog scale each lookup is a chain of cache misses (the
    /// table's control bytes, its slot, the name's offsets, its bytes), and one `get` after
    /// another waits for each chain in turn; here the names are looked up [`BATCH`] at a
    /// time in three short passes (hash every name; find each one's first slot whose tag
    /// matches; compare that slot's name), so the misses of a pass are independent of one
    /// another and overlap. A name whose first tag-matching slot holds another name (a tag
    /// collision, rare) is looked up again in full.
    pub fn get_many<S: AsRef<str>>(&self, names: &[S], out: &mut Vec<Option<u32>>) {
        out.reserve(names.len());
        if self.table.is_empty() {
            out.extend(names.iter().map(|n| self.get(n.as_ref())));
            return;
        }
        for chunk in names.chunks(BATCH) {
            let mut hashes = [0u64; BATCH];
            for (h, n) in hashes.iter_mut().zip(chunk) {
                *h = self.hasher.hash_one(n.as_ref());
            }
            // No tag match on a name's probe sequence: the name is not interned.
            let mut first = [None; BATCH];
            for (f, &h) in first.iter_mut().zip(&hashes) {
                *f = self.table.find(h, |_| true).copied();
            }
            for ((n, f), &h) in chunk.iter().zip(first).zip(&hashes) {
                let n = n.as_ref();
                out.push(match f {
                    Some(j) if self.names.get(j as usize) == n => Some(j),
                    Some(_) => self
                        .table
                        .find(h, |&j| self.names.get(j as usize) == n)
                        .copied(),
                    None => None,
                });
            }
        }
    }

    /// Every name, by id, one after the other with nothing between them (a property every
    /// name has, such as needing no JSON escape, holds of them all when it holds of this).
    pub(crate) fn names_joined(&self) -> &str {
        self.names.joined()
    }

    pub fn name(&self, i: u32) -> &str {
        if (i as usize) < self.names.len() {
            self.names.get(i as usize)
        } else {
            ""
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    #[cfg(feature = "bench-internals")]
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    #[cfg(feature = "bench-internals")]
    /// Heap bytes held (names, offsets, table).
    pub fn heap_bytes(&self) -> usize {
        self.names.heap_bytes() + self.table.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

/// Collects distinct strings in first-seen order with one hash lookup each, then sorts only
/// the distinct ones into an [`Interner`]: for strings with few distinct values that occur
/// many times (content tags: ~30k distinct in 6M occurrences at 1M items). Catalog item ids,
/// which are mostly distinct, are interned by sorting instead (`id_merge`).
///
/// The table is open-addressed (linear probing, at most 2/3 full), and each slot carries the
/// string's length and first 16 bytes, so a lookup of a string of at most 16 bytes (the
/// common case) is decided in its slot, without reading the string it names.
pub(crate) struct InternerBuilder<'a> {
    strs: Vec<Cow<'a, str>>,
    /// A slot with `len == 0` is free (empty strings are never added).
    slots: Probe<Slot>,
    hasher: StrHashState,
}

/// A builder table entry: the first-seen id, the length and the prefix key of its string
/// (24 bytes: the key is two words, not a `u128`, which would align the slot to 32).
#[derive(Clone, Copy, Default)]
struct Slot {
    key: [u64; 2],
    len: u32,
    id: u32,
}

impl crate::probe::Slot for Slot {
    #[inline]
    fn is_free(&self) -> bool {
        self.len == 0
    }
}

impl<'a> InternerBuilder<'a> {
    pub(crate) fn with_capacity(n: usize) -> InternerBuilder<'a> {
        InternerBuilder {
            strs: Vec::with_capacity(n),
            slots: Probe::with_slots(slots_for(n)),
            hasher: StrHashState::default(),
        }
    }

    /// Adds `s` (empty strings are never interned); returns its first-seen id.
    pub(crate) fn add(&mut self, s: Cow<'a, str>) -> Option<u32> {
        if s.is_empty() {
            return None;
        }
        let (key, len) = (prefix_words(&s), s.len().min(u32::MAX as usize) as u32);
        let h = self.slot_hash(key, &s);
        let strs = &self.strs;
        let (i, found) = self.slots.find(h, |e| {
            e.key == key && e.len == len && (len <= 16 || *strs[e.id as usize] == *s)
        });
        if found {
            return Some(self.slots.at(i).id);
        }
        Some(self.insert(i, s, key, len))
    }

    /// [`InternerBuilder::add`] for `src[start..end]`, the same id. A string of at most 16
    /// bytes (every tag the pipeline writes) is keyed by one 16-byte read at `start` with the
    /// bytes after `end` masked off, and hashed from that key: when it was seen before, its
    /// id is found without taking its `&str` (no char-boundary checks) and without hashing
    /// its bytes one word at a time. Needs 16 bytes of `src` from `start`; otherwise, and for
    /// a longer string, it is [`InternerBuilder::add`] of `src.get(start..end)` (empty, so not
    /// interned, when that is not a `str`).
    ///
    /// Always inlined (a tag seen before, the common case, is a few dozen instructions, less
    /// than a call's own cost); a string not seen before and the long or short-of-input case
    /// are calls out of line.
    #[inline(always)]
    pub(crate) fn add_in(&mut self, src: &'a str, start: usize, end: usize) -> Option<u32> {
        let len = end.wrapping_sub(start);
        let window = src
            .as_bytes()
            .get(start..)
            .and_then(|w| w.first_chunk::<16>());
        let (Some(window), 1..=16) = (window, len) else {
            return self.add_span(src, start, end);
        };
        let k = u128::from_be_bytes(*window) & (u128::MAX << (128 - 8 * len));
        let (key, len) = ([(k >> 64) as u64, k as u64], len as u32);
        let (i, found) = self
            .slots
            .find(self.short_hash(key, len), |e| e.key == key && e.len == len);
        if found {
            return Some(self.slots.at(i).id);
        }
        self.insert_span(i, src, start, end, key)
    }

    /// [`InternerBuilder::add_in`]'s general case: [`InternerBuilder::add`] of
    /// `src.get(start..end)` (empty, so not interned, when that is not a `str`).
    #[inline(never)]
    fn add_span(&mut self, src: &'a str, start: usize, end: usize) -> Option<u32> {
        self.add(Cow::Borrowed(src.get(start..end).unwrap_or_default()))
    }

    /// [`InternerBuilder::add_in`] of a string of at most 16 bytes not seen before: takes the
    /// free slot `i` for `src[start..end]`, keyed by `key` (none when that is not a `str`).
    #[cold]
    #[inline(never)]
    fn insert_span(
        &mut self,
        i: usize,
        src: &'a str,
        start: usize,
        end: usize,
        key: [u64; 2],
    ) -> Option<u32> {
        let s = src.get(start..end)?;
        Some(self.insert(i, Cow::Borrowed(s), key, s.len() as u32))
    }

    /// Takes the free slot `i` for `s`, a string not seen before; answers its id.
    fn insert(&mut self, i: usize, s: Cow<'a, str>, key: [u64; 2], len: u32) -> u32 {
        let id = self.strs.len() as u32;
        self.strs.push(s);
        self.slots.take(i, Slot { key, len, id });
        if self.strs.len() * 3 > self.slots.slots() * 2 {
            self.grow();
        }
        id
    }

    /// The table's hash of `s`, whose prefix key is `key`: [`InternerBuilder::short_hash`]
    /// up to 16 bytes (the key is the whole string), the seeded string hash past that.
    #[inline]
    fn slot_hash(&self, key: [u64; 2], s: &str) -> u64 {
        match u32::try_from(s.len()) {
            Ok(len @ ..=16) => self.short_hash(key, len),
            _ => self.hasher.hash_one(s),
        }
    }

    /// The hash of a string of `len` (at most 16) bytes whose prefix key is `key`: one
    /// folded multiply of the two key words, each mixed with the seed first, and the length
    /// (strings that differ only by trailing NUL bytes have equal keys).
    #[inline(always)]
    fn short_hash(&self, key: [u64; 2], len: u32) -> u64 {
        let seed = self.hasher.seed;
        fold_mul(
            key[0] ^ seed,
            key[1] ^ seed.rotate_left(29) ^ FOLD_K ^ u64::from(len),
        )
    }

    /// Doubles the table and places every string again.
    fn grow(&mut self) {
        let size = self.slots.slots() * 2;
        let mut slots = std::mem::take(&mut self.slots);
        slots.resize(size, |e| self.slot_hash(e.key, &self.strs[e.id as usize]));
        self.slots = slots;
    }

    /// The distinct strings, by first-seen id.
    pub(crate) fn into_first_seen(self) -> Vec<Cow<'a, str>> {
        self.strs
    }

    /// The interner, and for each first-seen id its final (byte-order) id. The distinct
    /// strings are sorted by an in-place 16-byte prefix key (no pointer chasing per
    /// comparison; full strings are compared only between equal prefixes); the interner's
    /// id-only table is then filled from the sorted names (4 bytes a slot while serving,
    /// instead of the builder's 24).
    pub(crate) fn finish(self) -> (Interner, Vec<u32>) {
        let InternerBuilder {
            strs,
            slots,
            hasher,
        } = self;
        // Not needed any more: freed before the sort keys are allocated (a lower peak).
        drop(slots);
        let mut keyed: Vec<(u128, u32)> = strs
            .iter()
            .enumerate()
            .map(|(i, s)| (prefix_key(s), i as u32))
            .collect();
        keyed.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| strs[a.1 as usize].cmp(&strs[b.1 as usize]))
        });
        let mut rank = vec![0u32; keyed.len()];
        let mut names = Strs::with_capacity(keyed.len());
        for (r, &(_, fs)) in keyed.iter().enumerate() {
            rank[fs as usize] = r as u32;
            names.push(&strs[fs as usize]);
        }
        drop(keyed);
        drop(strs);
        let mut ids = HashTable::with_capacity(names.len());
        for i in 0..names.len() {
            let h = hasher.hash_one(names.get(i));
            ids.insert_unique(h, i as u32, |&j| hasher.hash_one(names.get(j as usize)));
        }
        (
            Interner {
                names,
                table: ids,
                hasher,
            },
            rank,
        )
    }
}

/// Slots for `n` strings: a power of two, at most about 2/3 full.
fn slots_for(n: usize) -> usize {
    (n.saturating_mul(3) / 2).max(16).next_power_of_two()
}

/// [`prefix_key`] as two words (the slot's key).
#[inline]
pub(super) fn prefix_words(s: &str) -> [u64; 2] {
    let k = prefix_key(s);
    [(k >> 64) as u64, k as u64]
}

/// The first 16 bytes of `s`, big-endian, zero-padded: ordering these keys orders the
/// strings, except between strings whose keys are equal.
#[inline]
fn prefix_key(s: &str) -> u128 {
    let s = s.as_bytes();
    let mut b = [0u8; 16];
    // Fixed-size copies (no `memcpy` call per id, which was most of the key's cost): the
    // first eight bytes, then the last eight of the first sixteen, overlapping.
    match s.len() {
        16.. => b.copy_from_slice(&s[..16]),
        n @ 8..16 => {
            b[..8].copy_from_slice(&s[..8]);
            b[n - 8..n].copy_from_slice(&s[n - 8..n]);
        }
        n => b[..n].iter_mut().zip(s).for_each(|(d, &c)| *d = c),
    }
    u128::from_be_bytes(b)
}

#[cfg(test)]
mod builder_tests {
    use super::InternerBuilder;

    /// Ids are first-seen positions whatever the table's size (it grows from 16 slots here),
    /// strings longer than the 16-byte slot key are told apart by their full text, and the
    /// interner ranks them in byte order.
    #[test]
    fn first_seen_ids_survive_growth_and_long_shared_prefixes() {
        let names: Vec<String> = (0..5000)
            .map(|i| match i % 3 {
                0 => format!("sku-{i:07}"),
                1 => format!("a-long-shared-prefix-{i}"),
                _ => format!("{}", i * 7919 % 10007),
            })
            .collect();
        let mut b = InternerBuilder::with_capacity(0);
        assert_eq!(b.add("".into()), None);
        for round in 0..2 {
            for (i, n) in names.iter().enumerate() {
                assert_eq!(
                    b.add(n.as_str().into()),
                    Some(i as u32),
                    "round {round}: {n}"
                );
            }
        }
        let (interner, rank) = b.finish();
        let mut sorted = names.clone();
        sorted.sort();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(interner.name(rank[i]), n);
            assert_eq!(sorted[rank[i] as usize], *n);
            assert_eq!(interner.get(n), Some(rank[i]));
        }
        assert_eq!(interner.get("a-long-shared-prefix-x"), None);
    }

    /// `add_in` answers what `add` answers for the same text, step by step and in the end:
    /// spans of a random document (tags from a small vocabulary, so most are seen again;
    /// strings that differ only by trailing NUL bytes or past their 16th byte; non-ASCII
    /// text) and arbitrary spans over it (reversed, past its end, inside a character, in its
    /// last 16 bytes, empty), fed to two builders.
    #[test]
    fn lookups_by_span_equal_lookups_by_text() {
        use crate::tests::rng::Rng;
        use std::borrow::Cow;
        let mut rng = Rng::new(15);
        let vocab: Vec<String> = (0..300)
            .map(|i| match i % 6 {
                0 => format!("attr:a{:05}", rng.below(100_000)),
                1 => format!("t{}", "\0".repeat(i % 4)),
                2 => format!("é中{}", rng.below(1000)),
                3 => format!("a-sixteen-bytes{}", "x".repeat(i % 3)),
                4 => "x".repeat(1 + i % 20),
                _ => format!("{}", rng.below(1 << 40)),
            })
            .collect();
        let mut near_end = 0;
        for round in 0..20 {
            let mut src = String::new();
            let mut spans = Vec::new();
            for _ in 0..2000 {
                let t = rng.pick(&vocab);
                src.push('"');
                spans.push((src.len(), src.len() + t.len()));
                src.push_str(t);
            }
            src.push('"');
            for _ in 0..500 {
                let start = rng.index(src.len() + 2);
                let end = if rng.chance(100) {
                    rng.index(src.len() + 20)
                } else {
                    start + rng.index(20)
                };
                spans.insert(rng.index(spans.len()), (start, end));
            }
            // Spans that start in the last 16 bytes (no 16-byte window there).
            for start in src.len() - 16..src.len() {
                spans.push((start, start + rng.index(src.len() - start + 1)));
            }
            let (mut by_span, mut by_text) = (
                InternerBuilder::with_capacity(round),
                InternerBuilder::with_capacity(round),
            );
            let mut hits = 0;
            for &(start, end) in &spans {
                let text = src.get(start..end).unwrap_or_default();
                let want = by_text.add(Cow::Borrowed(text));
                let got = by_span.add_in(&src, start, end);
                assert_eq!(got, want, "round {round}: {start}..{end} {text:?}");
                hits += usize::from(want.is_some());
                near_end += usize::from(start + 16 > src.len() && want.is_some());
            }
            assert!(hits > 1500, "{hits}");
            assert_eq!(by_span.into_first_seen(), by_text.into_first_seen());
        }
        assert!(near_end > 100, "{near_end}");
    }

    /// An interner without its table finds the same ids (by binary search) as with it, and
    /// the table built alongside is the one `from_sorted` builds.
    #[test]
    fn unindexed_names_answer_like_the_table() {
        use super::{Interner, HASH_AHEAD};
        // The table hashes names HASH_AHEAD at a time: sizes at and around a batch.
        let sizes = [0, 1, HASH_AHEAD - 1, HASH_AHEAD, HASH_AHEAD + 1, 3000];
        for count in sizes {
            let mut names: Vec<String> =
                (0..count).map(|i| format!("id-{}", i * 7 % 3001)).collect();
            if count > 1 {
                names.extend(
                    ["", " x", "a-long-shared-prefix-1", "a-long-shared-prefix-2"]
                        .map(String::from),
                );
            }
            names.sort();
            names.dedup();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut it = Interner::sorted_unindexed(&refs);
            let probes: Vec<String> = names
                .iter()
                .cloned()
                .chain(["id-", "zz", "a-long-shared-prefix-3", " "].map(String::from))
                .collect();
            let want: Vec<Option<u32>> = {
                let full = Interner::from_sorted(&names);
                probes.iter().map(|p| full.get(p)).collect()
            };
            assert_eq!(want.iter().flatten().count(), names.len());
            let before: Vec<Option<u32>> = probes.iter().map(|p| it.get(p)).collect();
            assert_eq!(before, want, "{count}");
            let table = it.build_table();
            it.set_table(table);
            let after: Vec<Option<u32>> = probes.iter().map(|p| it.get(p)).collect();
            assert_eq!(after, want, "{count}");
        }
    }
}

#[cfg(test)]
mod batch_tests {
    use super::Interner;
    use crate::tests::rng::Rng;
    use std::hash::BuildHasher;

    /// `get_many` answers what `get` answers one name at a time, in order: random catalogs
    /// of every size (and an unindexed one), lists with repeated, missing, empty, long and
    /// non-ASCII names, longer than a batch. The names that hit a tag collision (the first
    /// tag-matching slot holds another name) are counted, so the test shows it met them.
    #[test]
    fn batched_lookups_equal_one_at_a_time() {
        let mut rng = Rng::new(16);
        let (mut collided_missing, mut collided_present) = (0, 0);
        for (round, size) in [0usize, 1, 7, 33, 1000, 20_000, 60_000]
            .into_iter()
            .enumerate()
        {
            let mut names: Vec<String> = (0..size)
                .map(|_| match rng.below(4) {
                    0 => format!("sku-{:07}", rng.below(10_000_000)),
                    1 => format!("a-long-shared-prefix-of-an-id-{}", rng.below(1 << 30)),
                    2 => format!("é{}", rng.below(100_000)),
                    _ => format!("{}", rng.below(1 << 40)),
                })
                .collect();
            names.sort();
            names.dedup();
            let mut interner = Interner::from_sorted(&names);
            if round == 2 {
                interner = Interner::sorted_unindexed(
                    &names.iter().map(String::as_str).collect::<Vec<_>>(),
                );
            }
            for list_len in [0usize, 1, 31, 32, 33, 200, 5000] {
                let list: Vec<String> = (0..list_len)
                    .map(|_| match rng.below(5) {
                        0 | 1 if !names.is_empty() => {
                            names[rng.below(names.len() as u64) as usize].clone()
                        }
                        2 => format!("sku-{:07}", rng.below(10_000_000)),
                        3 => String::new(),
                        _ => format!("missing-{}", rng.below(1 << 40)),
                    })
                    .collect();
                let want: Vec<Option<u32>> = list.iter().map(|n| interner.get(n)).collect();
                let mut got = vec![Some(u32::MAX)];
                interner.get_many(&list, &mut got);
                assert_eq!(got[0], Some(u32::MAX), "appends to what the vector held");
                assert_eq!(got[1..], want[..], "size {size}, list {list_len}");
                if interner.table.is_empty() {
                    continue;
                }
                for (n, w) in list.iter().zip(&want) {
                    let h = interner.hasher.hash_one(n.as_str());
                    match (interner.table.find(h, |_| true), w) {
                        (Some(j), None) => {
                            assert_ne!(interner.names.get(*j as usize), n);
                            collided_missing += 1;
                        }
                        (Some(j), Some(w)) if j != w => collided_present += 1,
                        _ => {}
                    }
                }
            }
        }
        assert!(collided_missing > 10, "{collided_missing}");
        assert!(collided_present > 0, "{collided_present}");
    }
}
