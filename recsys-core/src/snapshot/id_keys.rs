//! Interning a catalog's item ids when they are numbered alike: every non-empty id of every
//! list has one length of at most 16 bytes, and the ids differ in few bits of it (as
//! catalogs name items: `sku-0000000` .. `sku-0999999`). An id is then fully told by those
//! bits, packed in byte order ([`KeyLayout`]): its key. The ids the lists name are the keys
//! set in one bitmap, and an id's catalog id is its rank among them, so no list is sorted
//! and no sorted lists are merged ([`super::id_merge`] interns any other ids). The outcome
//! is the same: every non-empty id interned, ids ranked in byte order.

use super::id_merge::{KeyLayout, Shape};
use super::intern::prefix_words;

/// The most keys [`layout`] takes: a bitmap over 2^26 keys is 8 MiB.
const MAX_KEYS: u64 = 1 << 26;

/// At most this many keys per occurrence in the lists (the bitmaps grow with the input),
/// or [`MIN_KEYS`] (a bitmap of 8 KiB).
const KEYS_PER_OCCURRENCE: usize = 16;
const MIN_KEYS: usize = 1 << 16;

/// The key layout of ids whose pieces have `shapes`, when they are numbered alike: one length
/// of at most 16 bytes (keys then order like the ids and equal keys are equal ids), and at
/// most [`MAX_KEYS`] keys ([`KeyLayout::dense_keys`]) and [`KEYS_PER_OCCURRENCE`] keys an
/// occurrence (or [`MIN_KEYS`]).
/// `None` otherwise, and when no piece has an id.
pub(crate) fn layout(shapes: &[Shape], occurrences: usize) -> Option<KeyLayout> {
    let mut all = Shape::new();
    shapes.iter().for_each(|s| all.join(s));
    let len = all.same_len()?;
    if len == 0 || len > 16 {
        return None;
    }
    let layout = KeyLayout::of(&all);
    let keys = layout.dense_keys();
    let room = occurrences
        .saturating_mul(KEYS_PER_OCCURRENCE)
        .max(MIN_KEYS) as u64;
    (keys <= MAX_KEYS && keys <= room).then_some(layout)
}

/// An empty bitmap over the keys of `layout`, for [`mark`].
pub(crate) fn bitmap(layout: &KeyLayout) -> Vec<u64> {
    vec![0; layout.dense_keys().div_ceil(64) as usize]
}

/// Sets the key of the non-empty id `s` (of the layout's length) in `bitmap`, and returns
/// it (below [`MAX_KEYS`], so a `u32` with room above it).
#[inline]
pub(crate) fn mark(layout: &KeyLayout, bitmap: &mut [u64], s: &str) -> u32 {
    let k = layout.dense(prefix_words(s)) as usize;
    if let Some(w) = bitmap.get_mut(k / 64) {
        *w |= 1 << (k % 64);
    }
    k as u32
}

/// 64 keys of [`Keys`] and how many keys are set in the words before them.
#[derive(Clone, Copy, Default)]
struct Word {
    bits: u64,
    before: u64,
}

/// The keys every piece's bitmap sets, with each key's rank: the catalog's ids.
pub(crate) struct Keys {
    layout: KeyLayout,
    words: Vec<Word>,
    len: usize,
}

impl Keys {
    /// The union of the pieces' bitmaps (each piece with the signal bit it sets in
    /// `refs`), and per id, the signals that name it.
    pub(crate) fn of<'m>(
        layout: KeyLayout,
        pieces: impl Iterator<Item = (u8, &'m [u64])> + Clone,
    ) -> (Keys, Vec<u8>) {
        let n = pieces.clone().map(|p| p.1.len()).max().unwrap_or(0);
        let mut words = vec![Word::default(); n];
        for (_, map) in pieces.clone() {
            words.iter_mut().zip(map).for_each(|(w, &m)| w.bits |= m);
        }
        let mut len = 0u64;
        for w in &mut words {
            w.before = len;
            len += u64::from(w.bits.count_ones());
        }
        let mut refs = vec![0u8; len as usize];
        for (bit, map) in pieces {
            for (&m, w) in map.iter().zip(&words).filter(|(&m, _)| m != 0) {
                let mut m = m;
                while m != 0 {
                    let below = (1u64 << m.trailing_zeros()) - 1;
                    refs[(w.before + u64::from((w.bits & below).count_ones())) as usize] |= bit;
                    m &= m - 1;
                }
            }
        }
        let keys = Keys {
            layout,
            words,
            len: len as usize,
        };
        (keys, refs)
    }

    /// How many ids are set.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The rank of the non-empty id `s` among the ids set (its catalog id): `s` has the
    /// layout's length and was marked in one of the pieces.
    pub(crate) fn rank(&self, s: &str) -> u32 {
        self.rank_of_key(self.layout.dense(prefix_words(s)) as u32)
    }

    /// The rank of the id whose key is `k` ([`mark`] returned it).
    #[inline]
    pub(crate) fn rank_of_key(&self, k: u32) -> u32 {
        let k = k as usize;
        let w = self.words.get(k / 64).copied().unwrap_or_default();
        let below = (1u64 << (k % 64)) - 1;
        (w.before + u64::from((w.bits & below).count_ones())) as u32
    }
}
