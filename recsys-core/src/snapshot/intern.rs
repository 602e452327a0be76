//! Interning and hashing for snapshot-owned strings: a seeded fast string hasher, string-keyed
//! maps built on it, and [`Interner`] (dense ids in byte order).

use super::columns::Strs;
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

/// A map keyed by strings with the fast seeded hasher (snapshot-owned lookups).
pub type StrMap<V> = HashMap<Box<str>, V, StrHashState>;

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

    pub fn get(&self, s: &str) -> Option<u32> {
        let h = self.hasher.hash_one(s);
        self.table
            .find(h, |&j| self.names.get(j as usize) == s)
            .copied()
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
/// the distinct ones into an [`Interner`] (interning a million ids that occur three million
/// times sorts a million strings, not three million).
///
/// Each table slot carries the string's length and first 16 bytes, so a lookup of an id of at
/// most 16 bytes (the common case) is decided in the slot, without reading the string it
/// names: at catalog scale every such read is a cache miss.
pub(crate) struct InternerBuilder<'a> {
    strs: Vec<Cow<'a, str>>,
    table: HashTable<Slot>,
    hasher: StrHashState,
}

/// A builder table entry: the first-seen id, the length and the prefix key of its string.
#[derive(Clone, Copy)]
struct Slot {
    key: u128,
    len: u32,
    id: u32,
}

impl<'a> InternerBuilder<'a> {
    pub(crate) fn with_capacity(n: usize) -> InternerBuilder<'a> {
        InternerBuilder {
            strs: Vec::with_capacity(n),
            table: HashTable::with_capacity(n),
            hasher: StrHashState::default(),
        }
    }

    /// Adds `s` (empty strings are never interned); returns its first-seen id.
    pub(crate) fn add(&mut self, s: Cow<'a, str>) -> Option<u32> {
        if s.is_empty() {
            return None;
        }
        let h = self.hasher.hash_one(&*s);
        let (key, len) = (prefix_key(&s), s.len());
        let strs = &mut self.strs;
        let hasher = &self.hasher;
        let entry = self.table.entry(
            h,
            |e| e.key == key && e.len as usize == len && (len <= 16 || *strs[e.id as usize] == *s),
            |e| hasher.hash_one(&*strs[e.id as usize]),
        );
        Some(match entry {
            hashbrown::hash_table::Entry::Occupied(o) => o.get().id,
            hashbrown::hash_table::Entry::Vacant(v) => {
                let id = strs.len() as u32;
                strs.push(s);
                v.insert(Slot {
                    key,
                    len: len as u32,
                    id,
                });
                id
            }
        })
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
            table,
            hasher,
        } = self;
        // Not needed any more: freed before the sort keys are allocated (a lower peak).
        drop(table);
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

/// The first 16 bytes of `s`, big-endian, zero-padded: ordering these keys orders the
/// strings, except between strings whose keys are equal.
fn prefix_key(s: &str) -> u128 {
    let mut b = [0u8; 16];
    let n = s.len().min(16);
    b[..n].copy_from_slice(&s.as_bytes()[..n]);
    u128::from_be_bytes(b)
}
