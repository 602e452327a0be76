//! Interning a catalog's item ids by sorting instead of through one shared hash table: each
//! list of id occurrences (one per signal) is sorted and deduplicated on its own, so the
//! lists can be worked on side by side, and the sorted lists are then merged into the
//! catalog's byte order in one sequential pass.
//!
//! At catalog scale (a million ids named three million times) a shared table pays a cache
//! miss per occurrence on one thread; sorting reads each list in order and splits across
//! threads. The outcome is exactly what the one-table path gives: every non-empty id
//! occurrence interned, ids ranked in byte order.

use super::intern::prefix_words;
use super::parallel::in_parallel;
use std::cmp::Ordering;
use std::sync::Mutex;

/// An occurrence that names nothing (the empty id) in [`SortedList::resolve_into`].
pub(crate) const NONE: u32 = u32::MAX;

/// One list of id occurrences, interned on its own: its distinct ids in byte order and,
/// per id, where it occurs. Once the lists are merged, [`SortedList::resolve_into`] gives each
/// occurrence its catalog id in one pass that reads the ids in order (the occurrences are
/// written once each, in place of writing a local index per occurrence while sorting and
/// reading it back through the merge's table afterwards: two passes out of order).
pub(crate) struct SortedList<'a> {
    /// The list's distinct non-empty ids, in byte order.
    pub distinct: Vec<&'a str>,
    /// Whether the non-empty ids were already in byte order as given (so reading
    /// `distinct` reads the list's strings in the order they are stored).
    pub in_order: bool,
    /// The positions of the non-empty occurrences, grouped by id (groups in the order of
    /// `distinct`).
    at: Vec<u32>,
    /// Per id of `distinct`, the end of its group in `at`.
    ends: Vec<u32>,
    /// Occurrences in the list, empty ids included.
    len: usize,
}

impl<'a> SortedList<'a> {
    fn with_capacity(len: usize, in_order: bool) -> SortedList<'a> {
        SortedList {
            distinct: Vec::new(),
            in_order,
            at: Vec::with_capacity(len),
            ends: Vec::new(),
            len,
        }
    }

    /// Adds the occurrence at `at` to the group of the last id, or (`new` is its text) to
    /// a new group.
    #[inline]
    fn push(&mut self, at: u32, new: Option<&'a str>) {
        if let Some(s) = new {
            if !self.at.is_empty() {
                self.ends.push(self.at.len() as u32);
            }
            self.distinct.push(s);
        }
        self.at.push(at);
    }

    fn finish(mut self) -> SortedList<'a> {
        if !self.at.is_empty() {
            self.ends.push(self.at.len() as u32);
        }
        self
    }

    #[cfg(test)]
    /// [`SortedList::resolve_into`] a new array.
    pub(crate) fn resolve(self, ids: &[u32]) -> Vec<u32> {
        self.resolve_into(ids, Vec::new())
    }

    /// Per occurrence, `ids[k]` where `k` is its id's index in the list's distinct ids
    /// ([`NONE`] for an empty id), written into `out` (its contents are replaced; its
    /// capacity is used when it is enough, so a job on another thread fills memory the
    /// caller allocated). `ids` has an entry per distinct id (the merge's remap of this
    /// list); `distinct` itself is not read, and may have been dropped.
    pub(crate) fn resolve_into(self, ids: &[u32], mut out: Vec<u32>) -> Vec<u32> {
        out.clear();
        out.resize(self.len, NONE);
        let mut from = 0;
        for (&end, &id) in self.ends.iter().zip(ids) {
            for &at in self.at.get(from..end as usize).unwrap_or_default() {
                out[at as usize] = id;
            }
            from = end as usize;
        }
        out
    }

    #[cfg(test)]
    /// Per occurrence, the index of its id in `distinct` ([`NONE`] for an empty id).
    pub(crate) fn local(self) -> Vec<u32> {
        let ids: Vec<u32> = (0..self.distinct.len() as u32).collect();
        self.resolve(&ids)
    }
}

/// The sort key of an occurrence: its first 16 bytes, its length and where it is.
#[derive(Clone, Copy)]
struct Key {
    prefix: [u64; 2],
    len: u32,
    at: u32,
}

/// Byte order of two strings given their 16-byte prefixes (as [`prefix_words`] gives them):
/// by prefix, then by length when either string fits its prefix (then it is a prefix of the
/// other, or they are equal), else by the text.
#[inline]
fn str_order(pa: &[u64; 2], a: &str, pb: &[u64; 2], b: &str) -> Ordering {
    pa.cmp(pb).then_with(|| {
        if a.len() > 16 && b.len() > 16 {
            a.cmp(b)
        } else {
            a.len().cmp(&b.len())
        }
    })
}

/// [`str_order`] of the strings behind two keys.
#[inline]
fn key_order(a: &Key, b: &Key, strs: &[&str]) -> Ordering {
    a.prefix.cmp(&b.prefix).then_with(|| {
        if a.len > 16 && b.len > 16 {
            strs[a.at as usize].cmp(strs[b.at as usize])
        } else {
            a.len.cmp(&b.len)
        }
    })
}

/// A string's length as kept in a sort key (saturated; an artifact is at most 4 GiB, and
/// keys of equal saturated length over 16 bytes are told apart by their text anyway).
#[inline]
fn len32(s: &str) -> u32 {
    s.len().min(u32::MAX as usize) as u32
}

/// Sorts one list of occurrences into its distinct ids and where each occurs. Lists longer
/// than `u32::MAX - 1` are not a concern: an artifact is at most 4 GiB.
///
/// A list already in order is not sorted ([`in_order_list`]); a list whose 16-byte
/// prefixes differ in at most 64 bits (ids that share a stem, as catalogs name them) is
/// radix-sorted on those bits ([`radix_order`]); any other list is sorted by comparison. An
/// occurrence's text is read again only to start a new id (or to tell apart ids longer than
/// 16 bytes).
pub(crate) fn sort_list(occ: Vec<&str>) -> SortedList<'_> {
    if let Some(sorted) = in_order_list(&occ) {
        return sorted;
    }
    let shape = Shape::of(&occ);
    let mut sorted = SortedList::with_capacity(occ.len(), false);
    if let Some(order) = narrow_radix_order(&occ, &shape) {
        // Each occurrence's string is read by its position, out of order (popularity's
        // list is stored by count): a chunk's strings are read side by side first, so
        // their misses overlap, then the chunk is grouped.
        let mut strs = [""; MERGE_AHEAD];
        let mut prev = None;
        for chunk in order.chunks(MERGE_AHEAD) {
            for (s, &k) in strs.iter_mut().zip(chunk) {
                *s = occ[k as u32 as usize];
            }
            for (&k, &s) in chunk.iter().zip(&strs) {
                let id = Some(k >> 32);
                sorted.push(k as u32, (prev != id).then_some(s));
                prev = id;
            }
        }
    } else if let Some(order) = radix_order(&occ, &shape) {
        for (j, p) in order.iter().enumerate() {
            // Equal packed bits and lengths mean equal strings unless both go on past the
            // 16-byte prefix.
            let new = j == 0 || {
                let q = &order[j - 1];
                q.key != p.key
                    || q.len != p.len
                    || (p.len > 16 && occ[q.at as usize] != occ[p.at as usize])
            };
            sorted.push(p.at, new.then(|| occ[p.at as usize]));
        }
    } else {
        let mut keys: Vec<Key> = Vec::with_capacity(occ.len());
        keys.extend(
            occ.iter()
                .enumerate()
                .filter(|(_, s)| !s.is_empty())
                .map(|(i, s)| Key {
                    prefix: prefix_words(s),
                    len: len32(s),
                    at: i as u32,
                }),
        );
        keys.sort_unstable_by(|a, b| key_order(a, b, &occ));
        let mut prev: Option<&Key> = None;
        for k in &keys {
            let new = prev.is_none_or(|p| key_order(p, k, &occ) != Ordering::Equal);
            sorted.push(k.at, new.then(|| occ[k.at as usize]));
            prev = Some(k);
        }
    }
    sorted.finish()
}

/// How many non-empty ids [`in_order_list`] checks before it allocates: a list out of order
/// (popularity's, stored by count) is almost always told by then, and costs no allocation.
const IN_ORDER_PROBE: usize = 64;

/// The sorted list of `occ` when its non-empty ids are already in byte order (content's, as
/// the pipeline writes it), in one read of the ids: each id's prefix is compared with the
/// previous id's ([`str_order`]), an equal id joins its group, a greater one starts a
/// group. `None` at the first id less than the one before it (the read up to there is the
/// cost of asking; the first [`IN_ORDER_PROBE`] ids are checked before anything is
/// allocated). Before, the order was checked in one read and the groups formed in a
/// second that compared every id with the previous one's text.
pub(crate) fn in_order_list<'a>(occ: &[&'a str]) -> Option<SortedList<'a>> {
    let mut probe = occ.iter().filter(|s| !s.is_empty()).take(IN_ORDER_PROBE);
    let first = probe.next().map(|s| (prefix_words(s), *s));
    probe.try_fold(first, |prev, &s| {
        let p = prefix_words(s);
        match prev.map(|(q, t)| str_order(&q, t, &p, s)) {
            Some(Ordering::Greater) => None,
            _ => Some(Some((p, s))),
        }
    })?;
    let mut sorted = SortedList::with_capacity(occ.len(), true);
    let mut prev: Option<([u64; 2], &str)> = None;
    for (at, &s) in occ.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        let p = prefix_words(s);
        let new = match prev.map(|(q, t)| str_order(&q, t, &p, s)) {
            Some(Ordering::Greater) => return None,
            Some(Ordering::Equal) => false,
            _ => true,
        };
        sorted.push(at as u32, new.then_some(s));
        prev = Some((p, s));
    }
    Some(sorted.finish())
}

/// The list of two lists' occurrences end to end (`hi`'s positions follow `lo`'s), when
/// both were given in byte order ([`in_order_list`]) and `lo`'s last id is at most `hi`'s
/// first: what [`sort_list`] gives for the whole list (an id at the edge of both is one
/// group); `None` otherwise. Lets a list in order be read in two halves side by side.
pub(crate) fn join_in_order<'a>(
    mut lo: SortedList<'a>,
    hi: SortedList<'a>,
) -> Option<SortedList<'a>> {
    let edge = match (lo.distinct.last(), hi.distinct.first()) {
        (Some(a), Some(b)) => a.cmp(b),
        _ => Ordering::Less,
    };
    if !lo.in_order || !hi.in_order || edge == Ordering::Greater {
        return None;
    }
    let joined = edge == Ordering::Equal;
    if joined {
        // `hi`'s first group goes on from `lo`'s last.
        lo.ends.pop();
    }
    let (at_shift, end_shift) = (lo.len as u32, lo.at.len() as u32);
    lo.ends.extend(hi.ends.iter().map(|&e| e + end_shift));
    lo.distinct.extend(&hi.distinct[usize::from(joined)..]);
    lo.at.extend(hi.at.iter().map(|&a| a + at_shift));
    lo.len += hi.len;
    Some(lo)
}

/// What one read of a list tells: which bits of its non-empty ids' 16-byte prefixes differ
/// between them, and whether they all have one length. Read in pieces side by side, the
/// pieces' shapes are joined ([`Shape::join`]).
#[derive(Clone, Copy)]
pub(super) struct Shape {
    /// The bits set in every prefix, and in some prefix (two words, as [`prefix_words`]).
    and: [u64; 2],
    or: [u64; 2],
    /// The shortest and the longest id.
    lens: (usize, usize),
    /// Bit 4 of each prefix byte whose low four bits are over 9 in some id (so the bytes
    /// where it is clear vary as decimal digits, if at all).
    hex: [u64; 2],
}

impl Shape {
    /// The shape of no id.
    pub(super) fn new() -> Shape {
        Shape {
            and: [u64::MAX; 2],
            or: [0; 2],
            lens: (usize::MAX, 0),
            hex: [0; 2],
        }
    }

    /// Adds a non-empty id.
    #[inline]
    pub(super) fn add(&mut self, s: &str) {
        let p = prefix_words(s);
        self.lens = (self.lens.0.min(s.len()), self.lens.1.max(s.len()));
        for (w, &p) in p.iter().enumerate() {
            self.and[w] &= p;
            self.or[w] |= p;
            // A byte's low four bits plus 6 carry into its bit 4 when they are over 9.
            self.hex[w] |=
                ((p & 0x0F0F_0F0F_0F0F_0F0F) + 0x0606_0606_0606_0606) & 0x1010_1010_1010_1010;
        }
    }

    /// The shape of both pieces' ids.
    pub(super) fn join(&mut self, other: &Shape) {
        self.lens = (self.lens.0.min(other.lens.0), self.lens.1.max(other.lens.1));
        for w in 0..2 {
            self.and[w] &= other.and[w];
            self.or[w] |= other.or[w];
            self.hex[w] |= other.hex[w];
        }
    }

    fn of(occ: &[&str]) -> Shape {
        let mut shape = Shape::new();
        occ.iter()
            .filter(|s| !s.is_empty())
            .for_each(|s| shape.add(s));
        shape
    }

    /// The bits set in some prefix and clear in another.
    fn varies(&self) -> [u64; 2] {
        [self.and[0] ^ self.or[0], self.and[1] ^ self.or[1]]
    }

    /// The length in bytes every non-empty id has, when they all have one (and there is one).
    pub(super) fn same_len(&self) -> Option<usize> {
        (self.lens.0 == self.lens.1).then_some(self.lens.0)
    }

    /// Per prefix byte that varies: its position (0 = first) and how many of its low bits
    /// to keep (up to its highest varying bit; the bits above are the same in every id).
    fn fields(&self) -> Vec<(usize, u32)> {
        (0..16)
            .filter_map(|b| {
                let m = (self.varies()[b / 8] >> (56 - 8 * (b % 8))) as u8;
                (m != 0).then(|| (b, 8 - m.leading_zeros()))
            })
            .collect()
    }
}

/// An occurrence in [`radix_order`]: the bits of its prefix that vary in the list, packed
/// in byte order (so they order like the prefixes), its length (in what would otherwise be
/// padding) and where it is.
#[derive(Clone, Copy)]
struct Packed {
    key: u64,
    len: u32,
    at: u32,
}

/// The widest radix digit [`radix_order`] takes, in bits: a pass's count table is then
/// 16 KiB, and 24 varying bits (the six decimal digits of a million numbered ids) take two
/// passes in place of three at 11 bits.
const MAX_DIGIT: u32 = 12;

/// How [`radix_order`] splits `bits` varying bits into passes: as few passes as digits of
/// at most [`MAX_DIGIT`] bits allow, the bits shared out evenly (so the count tables are as
/// small as that number of passes permits). Returns (passes, bits per digit).
fn digits_for(bits: u32) -> (usize, u32) {
    let passes = bits.div_ceil(MAX_DIGIT);
    (passes as usize, bits.div_ceil(passes.max(1)).max(1))
}

/// One varying byte of the prefix as [`radix_order`] packs it: which word of
/// [`prefix_words`] holds it, how far to shift that word, which low bits to keep, and how
/// many bits that is.
#[derive(Clone, Copy)]
struct Field {
    word: usize,
    shift: u32,
    mask: u64,
    width: u32,
}

/// The non-empty occurrences of `occ` in byte order, by an LSD radix sort over the prefix
/// bits that vary (ids sharing a stem vary in a few bits of a few bytes: 28 bits for
/// `sku-0000000`, three counting passes), then each run of equal prefixes ordered by
/// [`str_order`]. `None` when more than 64 bits vary (the comparison sort is used then).
/// The digits of every pass are counted while the keys are packed (one read of the ids);
/// a pass whose digit is the same in every key (its count table has one entry) is
/// skipped. Costs 16 bytes per occurrence beside the result while sorting.
fn radix_order(occ: &[&str], shape: &Shape) -> Option<Vec<Packed>> {
    let mut keys = radix_sorted(
        occ,
        shape,
        64,
        |key, s, at| Packed {
            key,
            len: len32(s),
            at,
        },
        |k| k.key,
    )?;
    // Runs of one prefix: shorter first when either fits the prefix, else by the text.
    let mut i = 0;
    while i < keys.len() {
        let mut j = i + 1;
        while j < keys.len() && keys[j].key == keys[i].key {
            j += 1;
        }
        let run = &mut keys[i..j];
        if run.len() > 1 && !run.iter().all(|k| k.len == run[0].len && k.len <= 16) {
            run.sort_unstable_by(|a, b| {
                if a.len > 16 && b.len > 16 {
                    occ[a.at as usize].cmp(occ[b.at as usize])
                } else {
                    a.len.cmp(&b.len)
                }
            });
        }
        i = j;
    }
    Some(keys)
}

/// The non-empty occurrences of `occ` as records (`make(key, text, position)`, where `key`
/// is the prefix bits that vary, packed in byte order), stably sorted by `key` (which
/// `key_of` reads back): the counting and the passes of [`radix_order`] and
/// [`narrow_radix_order`]. `None` when more than `max_bits` bits vary.
fn radix_sorted<T: Copy>(
    occ: &[&str],
    shape: &Shape,
    max_bits: u32,
    make: impl Fn(u64, &str, u32) -> T,
    key_of: impl Fn(&T) -> u64,
) -> Option<Vec<T>> {
    let layout = KeyLayout::of(shape);
    if layout.bits > max_bits {
        return None;
    }
    let (passes, digit) = digits_for(layout.bits);
    let mask = (1u64 << digit) - 1;
    let radix = 1usize << digit;
    // Per pass, how many keys have each digit.
    let mut count = vec![0u32; passes * radix];
    let mut keys: Vec<T> = Vec::with_capacity(occ.len());
    for (i, s) in occ.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        let key = layout.key(prefix_words(s));
        for (pass, c) in count.chunks_exact_mut(radix).enumerate() {
            c[((key >> (digit as usize * pass)) & mask) as usize] += 1;
        }
        keys.push(make(key, s, i as u32));
    }
    Some(radix_passes(keys, &count, digit, key_of))
}

/// How the prefix bits that vary between a list's ids are packed into a key, in byte order
/// (so keys order like the prefixes): [`Nibbles`] for numbered ids, else [`fold_key`].
pub(super) struct KeyLayout {
    fields: Vec<Field>,
    nibbles: Option<Nibbles>,
    /// How many bits a key has.
    pub(super) bits: u32,
    /// Every varying byte is a decimal digit in every id (its low four bits, at most 9):
    /// [`KeyLayout::dense`] reads the key as a decimal number.
    decimal: bool,
}

impl KeyLayout {
    pub(super) fn of(shape: &Shape) -> KeyLayout {
        let fields: Vec<Field> = shape
            .fields()
            .into_iter()
            .map(|(b, w)| Field {
                word: b / 8,
                shift: 56 - 8 * (b % 8) as u32,
                mask: (1 << w) - 1,
                width: w,
            })
            .collect();
        let nibbles = Nibbles::of(&fields);
        // Bit 4 of the field's byte in `hex`, moved to where its low bits are.
        let decimal = nibbles.is_some()
            && (fields.iter()).all(|f| (shape.hex[f.word & 1] >> f.shift) & 0x10 == 0);
        KeyLayout {
            bits: fields.iter().map(|f| f.width).sum(),
            nibbles,
            fields,
            decimal,
        }
    }

    /// How many keys [`KeyLayout::dense`] can give: `10^(bits / 4)` when the varying bytes
    /// are decimal digits, else `2^bits`.
    pub(super) fn dense_keys(&self) -> u64 {
        match self.decimal {
            true => 10u64.saturating_pow(self.bits / 4),
            false => 1u64.checked_shl(self.bits).unwrap_or(u64::MAX),
        }
    }

    /// [`KeyLayout::key`] with decimal digits read as a decimal number (numbered ids use
    /// ten of the sixteen values of each digit's four bits): below [`KeyLayout::dense_keys`],
    /// in the same order, equal only for equal keys.
    #[inline]
    pub(super) fn dense(&self, p: [u64; 2]) -> u64 {
        let k = self.key(p);
        match self.decimal {
            true => decimal(k),
            false => k,
        }
    }

    /// The key of the id whose [`prefix_words`] are `p`.
    #[inline]
    pub(super) fn key(&self, p: [u64; 2]) -> u64 {
        match &self.nibbles {
            Some(n) => n.key(p),
            None => fold_key(&self.fields, p),
        }
    }
}

/// The number whose decimal digits are the four-bit groups of `x` (each at most 9), the
/// lowest group the last digit: pairs of digits into bytes, then bytes into 16-bit and
/// 32-bit lanes, and the two halves.
#[inline]
fn decimal(x: u64) -> u64 {
    let x = (x & 0x0F0F_0F0F_0F0F_0F0F) + ((x >> 4) & 0x0F0F_0F0F_0F0F_0F0F) * 10;
    let x = (x & 0x00FF_00FF_00FF_00FF) + ((x >> 8) & 0x00FF_00FF_00FF_00FF) * 100;
    let x = (x & 0x0000_FFFF_0000_FFFF) + ((x >> 16) & 0x0000_FFFF_0000_FFFF) * 10_000;
    (x & 0xFFFF_FFFF) + (x >> 32) * 100_000_000
}

/// The prefix bits of `fields`, packed in byte order (the key [`radix_sorted`] sorts by).
#[inline]
fn fold_key(fields: &[Field], p: [u64; 2]) -> u64 {
    fields.iter().fold(0u64, |k, f| {
        (k << f.width) | ((p[f.word & 1] >> f.shift) & f.mask)
    })
}

/// [`fold_key`] in a few word operations, for the common shape of numbered ids: every
/// varying byte keeps its low four bits (decimal digits vary in those), and in each word
/// of the prefix the varying bytes are side by side. Each word's low nibbles are gathered
/// into 32 bits (byte order kept) and the run of varying ones taken out, so the key is
/// the same number the fold gives, at ~10 operations in place of ~7 a field.
struct Nibbles {
    /// Per word: the right shift of its gathered nibbles and the mask of its run.
    run: [(u32, u64); 2],
    /// How many bits the second word's run adds below the first's.
    low_bits: u32,
}

impl Nibbles {
    fn of(fields: &[Field]) -> Option<Nibbles> {
        let mut run = [(0u32, 0u64); 2];
        let mut widths = [0u32; 2];
        for w in 0..2 {
            let bytes: Vec<u32> = (fields.iter())
                .filter(|f| f.word == w)
                .map(|f| (56 - f.shift) / 8)
                .collect();
            let side_by_side = bytes.windows(2).all(|b| b[1] == b[0] + 1);
            let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
                continue;
            };
            if !side_by_side {
                return None;
            }
            widths[w] = 4 * (last - first + 1);
            run[w] = (4 * (7 - last), (1u64 << widths[w]) - 1);
        }
        let nibbles = fields.iter().all(|f| f.width == 4 && f.mask == 0xF);
        nibbles.then_some(Nibbles {
            run,
            low_bits: widths[1],
        })
    }

    /// The low nibble of each byte of `x`, the first byte's highest, in 32 bits.
    #[inline]
    fn gather(x: u64) -> u64 {
        let x = x & 0x0F0F_0F0F_0F0F_0F0F;
        let x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
        let x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
        (x | (x >> 16)) & 0xFFFF_FFFF
    }

    #[inline]
    fn key(&self, p: [u64; 2]) -> u64 {
        let part = |w: usize| (Nibbles::gather(p[w]) >> self.run[w].0) & self.run[w].1;
        (part(0) << self.low_bits) | part(1)
    }
}

/// [`radix_order`] for a list whose non-empty ids all have one length of at most 16 bytes
/// and vary in at most 32 bits (numbered ids of one stem, as catalogs name them): each
/// occurrence is one word, its packed bits above its position, so the passes move 8 bytes a
/// key in place of 16, and equal keys are equal ids (no run is ordered afterwards).
fn narrow_radix_order(occ: &[&str], shape: &Shape) -> Option<Vec<u64>> {
    if shape.same_len().is_none_or(|l| l > 16) {
        return None;
    }
    radix_sorted(
        occ,
        shape,
        32,
        |key, _, at| key << 32 | at as u64,
        |k| k >> 32,
    )
}

/// The LSD passes of [`radix_sorted`]: `keys` stably ordered by `key`, one pass per count
/// table in `count` (each `1 << digit` entries: how many keys have each digit value of
/// that pass, lowest digit first). A pass whose digit is the same in every key is skipped.
fn radix_passes<T: Copy>(
    mut keys: Vec<T>,
    count: &[u32],
    digit: u32,
    key: impl Fn(&T) -> u64,
) -> Vec<T> {
    let mask = (1u64 << digit) - 1;
    let radix = 1usize << digit;
    let mut buf: Vec<T> = Vec::new();
    let mut start = vec![0u32; radix];
    for (pass, c) in count.chunks_exact(radix).enumerate() {
        let shift = digit as usize * pass;
        if keys
            .first()
            .is_none_or(|k| c[((key(k) >> shift) & mask) as usize] as usize == keys.len())
        {
            continue;
        }
        if buf.is_empty() {
            buf = keys.clone();
        }
        let mut sum = 0;
        for (st, &n) in start.iter_mut().zip(c) {
            *st = sum;
            sum += n;
        }
        for k in &keys {
            let d = ((key(k) >> shift) & mask) as usize;
            buf[start[d] as usize] = *k;
            start[d] += 1;
        }
        std::mem::swap(&mut keys, &mut buf);
    }
    keys
}

/// Merges sorted lists of distinct ids (each in byte order) into one: the union in byte
/// order, and per list, the index of each of its ids in the union. An id named by several
/// lists is taken from a `prefer`red list when one names it (a list whose strings are
/// stored in byte order, so the union's strings are then read in order too).
///
/// The ids are split at the middle id of the longest list: the ids below it and the rest
/// are merged side by side ([`in_parallel`]: on two threads at a cold start), then put
/// end to end. An id is on the same side in every list, so the result is the one-piece
/// merge's. Every array the halves fill is allocated here, on the calling thread (filled on
/// a second thread, it stays in this thread's allocator arena).
pub(crate) fn merge<'a>(lists: &[&[&'a str]], prefer: &[bool]) -> (Vec<&'a str>, Vec<Vec<u32>>) {
    let mut remap: Vec<Vec<u32>> = lists.iter().map(|l| vec![0; l.len()]).collect();
    let longest = lists
        .iter()
        .copied()
        .max_by_key(|l| l.len())
        .unwrap_or_default();
    let cut: Vec<usize> = match longest.get(longest.len() / 2) {
        Some(pivot) => lists
            .iter()
            .map(|l| l.partition_point(|s| s < pivot))
            .collect(),
        None => vec![0; lists.len()],
    };
    let mut halves: [Half<'a, '_>; 2] = [Half::default(), Half::default()];
    for ((l, r), &c) in lists.iter().zip(&mut remap).zip(&cut) {
        let (lo, hi) = l.split_at(c);
        let (rlo, rhi) = r.split_at_mut(c);
        halves[0].lists.push(lo);
        halves[0].remap.push(rlo);
        halves[1].lists.push(hi);
        halves[1].remap.push(rhi);
    }
    // The lower side's union takes the upper side's after it: room for both.
    let room = |ls: &[&[&str]]| ls.iter().map(|l| l.len()).max().unwrap_or(0);
    halves[0].names = Vec::with_capacity(room(lists));
    halves[1].names = Vec::with_capacity(room(&halves[1].lists));
    let weights = halves
        .each_ref()
        .map(|h| h.lists.iter().map(|l| l.len()).sum());
    let jobs = halves.map(|h| Mutex::new(Some(h)));
    let mut done = in_parallel(&weights, |i| {
        let mut half = jobs[i].lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = &mut half {
            merge_into(&h.lists, prefer, &mut h.names, &mut h.remap);
        }
        half.map(|h| h.names).unwrap_or_default()
    })
    .into_iter();
    let mut names = done.next().unwrap_or_default();
    let below = names.len() as u32;
    names.extend(done.flatten());
    for (r, &c) in remap.iter_mut().zip(&cut) {
        r.iter_mut().skip(c).for_each(|x| *x += below);
    }
    (names, remap)
}

/// One side of [`merge`]: the lists' ids on that side, where their indexes go, and the
/// side's union (indexes count from the side's first id).
#[derive(Default)]
struct Half<'a, 'r> {
    lists: Vec<&'r [&'a str]>,
    remap: Vec<&'r mut [u32]>,
    names: Vec<&'a str>,
}

/// The merge itself (see [`merge`]): appends the union of `lists` to `names` and writes
/// each id's index in it (counted from 0) to `remap`. Heads are compared by their 16-byte
/// prefixes first ([`str_order`]), so the text is read only past them.
fn merge_into<'a>(
    lists: &[&[&'a str]],
    prefer: &[bool],
    names: &mut Vec<&'a str>,
    remap: &mut [&mut [u32]],
) {
    let mut pos = vec![0usize; lists.len()];
    // The order heads are compared in: preferred lists first, so that between equal heads
    // (the first least one wins) a preferred list's string is taken, at no cost per id.
    let mut scan: Vec<usize> = (0..lists.len()).collect();
    scan.sort_by_key(|&j| !prefer.get(j).copied().unwrap_or(false));
    // The head of each list, with its prefix (compared first).
    let mut ahead: Vec<Ahead<'a, '_>> = lists.iter().map(|l| Ahead::new(l)).collect();
    let mut heads: Vec<Option<([u64; 2], &str)>> = ahead.iter_mut().map(|a| a.head(0)).collect();
    loop {
        let mut best: Option<([u64; 2], &str)> = None;
        for h in scan.iter().filter_map(|&j| heads[j].as_ref()) {
            if best.is_none_or(|b| str_order(&h.0, h.1, &b.0, b.1) == Ordering::Less) {
                best = Some(*h);
            }
        }
        let Some((p, s)) = best else {
            return;
        };
        let id = names.len() as u32;
        names.push(s);
        for j in 0..lists.len() {
            if heads[j].is_some_and(|h| str_order(&h.0, h.1, &p, s) == Ordering::Equal) {
                remap[j][pos[j]] = id;
                pos[j] += 1;
                heads[j] = ahead[j].head(pos[j]);
            }
        }
    }
}

/// How many ids of a list [`merge_into`] reads the prefixes of at a time (and how many
/// strings [`sort_list`] reads side by side on the one-word radix path).
const MERGE_AHEAD: usize = 32;

/// One list of [`merge_into`] with the prefixes of its next ids, read [`MERGE_AHEAD`] at a
/// time: popularity's and co-occurrence's ids are stored in no particular order, so each
/// id's prefix is a read out of order, and read one at a time each waited for the merge to
/// choose the previous id; read side by side, the batch's misses overlap (as the tag
/// index's postings read their items' rows ahead).
struct Ahead<'a, 'r> {
    list: &'r [&'a str],
    /// The position of `pre[0]` in `list`.
    base: usize,
    pre: [[u64; 2]; MERGE_AHEAD],
}

impl<'a, 'r> Ahead<'a, 'r> {
    fn new(list: &'r [&'a str]) -> Ahead<'a, 'r> {
        let mut a = Ahead {
            list,
            base: 0,
            pre: [[0; 2]; MERGE_AHEAD],
        };
        a.fill(0);
        a
    }

    /// The id at `pos` with its prefix; `pos` never goes back.
    #[inline]
    fn head(&mut self, pos: usize) -> Option<([u64; 2], &'a str)> {
        let s = *self.list.get(pos)?;
        let k = match pos.checked_sub(self.base) {
            Some(k) if k < MERGE_AHEAD => k,
            _ => {
                self.fill(pos);
                0
            }
        };
        Some((self.pre[k], s))
    }

    /// Reads the prefixes of the ids from `pos` on.
    fn fill(&mut self, pos: usize) {
        self.base = pos;
        let next = self.list.get(pos..).unwrap_or_default();
        for (p, s) in self.pre.iter_mut().zip(next) {
            *p = prefix_words(s);
        }
    }
}

#[cfg(test)]
mod id_merge_tests {
    use super::{merge, sort_list, NONE};
    use std::collections::BTreeSet;

    use crate::tests::rng::Rng;

    /// Ids that stress the order: empty, blanks, shared 16-byte prefixes, prefixes of each
    /// other, NUL bytes, multi-byte characters.
    fn random_id(state: &mut Rng) -> String {
        let stems = [
            "",
            " x",
            "sku-",
            "a-long-shared-prefix-",
            "a-long-shared-pre",
            "é",
            "a\0",
            "a",
        ];
        let stem = *state.pick(&stems);
        match state.below(4) {
            0 => stem.to_string(),
            1 => format!("{stem}{}", state.below(50)),
            2 => format!("{stem}{:07}", state.below(500)),
            _ => format!("{stem}{} ", state.below(20)),
        }
    }

    /// `sorted` (the sorted `occ`) holds the distinct non-empty ids in byte order, and each
    /// occurrence resolves to its own id ([`NONE`] for an empty one).
    fn assert_sorted_like_a_plain_sort(occ: &[&str], sorted: super::SortedList<'_>, round: usize) {
        let want: Vec<&str> = occ
            .iter()
            .copied()
            .filter(|s| !s.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(sorted.distinct, want, "round {round}");
        let distinct = sorted.distinct.clone();
        let local = sorted.local();
        assert_eq!(local.len(), occ.len(), "round {round}");
        for (i, s) in occ.iter().enumerate() {
            match s.is_empty() {
                true => assert_eq!(local[i], NONE, "round {round}"),
                false => assert_eq!(distinct[local[i] as usize], *s, "round {round}"),
            }
        }
    }

    /// Catalog-style ids (one stem, numbered) take the radix path, including ids longer
    /// than the prefix that share it, blanks, empties and shorter numbers; the result is the
    /// byte order of a plain sort.
    #[test]
    fn ids_sharing_a_stem_are_radix_sorted_into_byte_order() {
        let mut state = Rng::new(0x2545_F491_4F6C_DD1D);
        for round in 0..200 {
            let stem = ["sku-", "a-long-shared-prefix-", "", "item\0", "ü-ид-"][round % 5];
            let len = state.index(400);
            let list: Vec<String> = (0..len)
                .map(|_| match state.below(5) {
                    0 => String::new(),
                    1 => format!("{stem}{}", state.below(60)),
                    2 => format!("{stem}{} ", state.below(60)),
                    _ => format!("{stem}{:07}", state.below(300)),
                })
                .collect();
            let occ: Vec<&str> = list.iter().map(String::as_str).collect();
            let shape = super::Shape::of(&occ);
            let given: Vec<&str> = occ.iter().copied().filter(|s| !s.is_empty()).collect();
            let in_order = given.windows(2).all(|w| w[0] <= w[1]);
            if !in_order && !stem.is_empty() {
                assert!(super::radix_order(&occ, &shape).is_some(), "round {round}");
            }
            let sorted = sort_list(occ.clone());
            assert_eq!(sorted.in_order, in_order, "round {round}");
            assert_sorted_like_a_plain_sort(&occ, sorted, round);
        }
    }

    /// The nibble path packs every key into the same number the field-by-field fold
    /// gives, on lists of numbered ids of one length (its shape: decimal digits side by
    /// side, in one word of the prefix or across both); lists it does not fit (varying
    /// bytes apart, a byte varying above its low four bits, fewer than four) are left to
    /// the fold.
    /// Four-bit groups of decimal digits read as a number: every width up to 16 digits.
    #[test]
    fn decimal_digit_groups_read_as_their_number() {
        let mut rng = Rng::new(0xBB67_AE85_84CA_A73B);
        for digits in 0..=16u32 {
            for _ in 0..200 {
                let n = rng.below(10u64.pow(digits).max(1));
                let bcd = n
                    .to_string()
                    .bytes()
                    .fold(0u64, |b, c| b << 4 | u64::from(c - b'0'));
                assert_eq!(super::decimal(bcd), n, "{n}");
            }
        }
    }

    #[test]
    fn nibble_keys_equal_the_fields_fold() {
        use super::{fold_key, Field, Nibbles, Shape};
        use crate::snapshot::intern::prefix_words;
        let fields_of = |occ: &[&str]| -> Vec<Field> {
            (Shape::of(occ).fields().into_iter())
                .map(|(b, w)| Field {
                    word: b / 8,
                    shift: 56 - 8 * (b % 8) as u32,
                    mask: (1 << w) - 1,
                    width: w,
                })
                .collect()
        };
        let mut state = Rng::new(0x9E37_79B9_7F4A_7C15);
        let mut taken = 0;
        for round in 0..300 {
            let stem = ["sku-", "item-", "", "a-b-c-d-e-f-", "p"][round % 5];
            let digits = 1 + state.index(12);
            let list: Vec<String> = (0..1 + state.index(300))
                .map(|_| {
                    let n = state.below(10u64.pow(digits.min(12) as u32));
                    format!("{stem}{n:0digits$}")
                })
                .collect();
            let occ: Vec<&str> = list.iter().map(String::as_str).collect();
            let fields = fields_of(&occ);
            if let Some(n) = Nibbles::of(&fields) {
                taken += 1;
                for s in &occ {
                    let p = prefix_words(s);
                    assert_eq!(n.key(p), fold_key(&fields, p), "round {round}: {s:?}");
                }
            }
        }
        assert!(taken > 150, "numbered ids take the nibble path: {taken}");
        // Not its shape: bytes that vary apart, above the low nibble, or in fewer bits.
        for list in [
            vec!["a0b0", "a1b1", "a0b1"],
            vec!["sku-a", "sku-z", "sku-q"],
            vec!["x0", "x1", "x3"],
        ] {
            assert!(Nibbles::of(&fields_of(&list)).is_none(), "{list:?}");
        }
    }

    /// A list given in byte order (duplicates side by side, empties anywhere, ids around
    /// the 16-byte prefix, multi-byte characters) is read once into its groups, at lengths
    /// around the probe's; the same list with one pair out of order, before, at or after
    /// the probe, is not taken as in order and is sorted like a plain sort.
    #[test]
    fn lists_in_order_are_grouped_in_one_read_and_others_sorted() {
        let mut state = Rng::new(0xA076_1D64_78BD_642F);
        let probe = super::IN_ORDER_PROBE;
        for (round, n) in [0, 1, 2, probe - 1, probe, probe + 1, 3 * probe, 3000]
            .into_iter()
            .cycle()
            .take(80)
            .enumerate()
        {
            let mut ids: Vec<String> = (0..n).map(|_| random_id(&mut state)).collect();
            ids.sort();
            // Empty ids anywhere do not break the order.
            for _ in 0..n / 10 {
                let at = state.index(n + 1);
                ids.insert(at, String::new());
            }
            let occ: Vec<&str> = ids.iter().map(String::as_str).collect();
            let sorted = super::in_order_list(&occ).expect("given in order");
            assert!(sorted.in_order);
            assert_sorted_like_a_plain_sort(&occ, sorted, round);
            assert_sorted_like_a_plain_sort(&occ, sort_list(occ.clone()), round);
            // Swap two different non-empty ids: out of order wherever the pair is.
            let full: Vec<usize> = (0..occ.len()).filter(|&i| !occ[i].is_empty()).collect();
            if full.is_empty() {
                continue;
            }
            let k = state.index(full.len());
            let Some(&j) = full[k..].iter().find(|&&j| occ[j] != occ[full[k]]) else {
                continue;
            };
            let mut swapped = occ.clone();
            swapped.swap(full[k], j);
            assert!(super::in_order_list(&swapped).is_none(), "round {round}");
            let sorted = sort_list(swapped.clone());
            assert!(!sorted.in_order, "round {round}");
            assert_sorted_like_a_plain_sort(&swapped, sorted, round);
        }
    }

    /// Numbered ids of a million-item catalog (six varying decimal digits, 24 bits) take
    /// two 12-bit passes; the order is a plain sort's, duplicates and empties included.
    #[test]
    fn six_digit_ids_take_two_passes_into_byte_order() {
        assert_eq!(super::digits_for(24), (2, 12));
        assert_eq!(super::digits_for(20), (2, 10));
        assert_eq!(super::digits_for(28), (3, 10));
        assert_eq!(super::digits_for(12), (1, 12));
        assert_eq!(super::digits_for(64), (6, 11));
        assert_eq!(super::digits_for(0).0, 0);
        let mut state = Rng::new(0x9E37_79B9_7F4A_7C15);
        for round in 0..20 {
            let list: Vec<String> = (0..3000)
                .map(|_| match state.below(20) {
                    0 => String::new(),
                    _ => format!("sku-{:07}", state.below(1_000_000)),
                })
                .collect();
            let occ: Vec<&str> = list.iter().map(String::as_str).collect();
            let shape = super::Shape::of(&occ);
            let bits: u32 = shape.fields().iter().map(|f| f.1).sum();
            assert!(bits > 22 && bits <= 24, "round {round}: {bits} bits");
            assert_sorted_like_a_plain_sort(&occ, sort_list(occ.clone()), round);
        }
    }

    /// Ids of one length up to 16 bytes that vary in at most 32 bits take the one-word
    /// path; its order (positions included) is the 16-byte path's, and the list sorts like
    /// a plain sort. Mixed lengths, longer ids or more varying bits do not take it.
    #[test]
    fn one_length_ids_take_the_one_word_path_in_the_same_order() {
        let mut state = Rng::new(0x94D0_49BB_1331_11EB);
        for round in 0..60 {
            let stem = ["sku-", "", "ü-", "a\0"][round % 4];
            let n = [1, 2, 64, 1000, 5000][round % 5];
            let list: Vec<String> = (0..n)
                .map(|_| match state.below(10) {
                    0 => String::new(),
                    _ => format!("{stem}{:07}", state.below(2_000_000)),
                })
                .collect();
            let occ: Vec<&str> = list.iter().map(String::as_str).collect();
            if occ.iter().all(|s| s.is_empty()) {
                continue; // in order: no sort is asked for
            }
            let shape = super::Shape::of(&occ);
            let narrow = super::narrow_radix_order(&occ, &shape);
            let wide = super::radix_order(&occ, &shape).expect("under 64 bits");
            let narrow = narrow.expect("one length, under 32 bits");
            let at: Vec<u32> = narrow.iter().map(|&k| k as u32).collect();
            assert_eq!(
                at,
                wide.iter().map(|k| k.at).collect::<Vec<_>>(),
                "round {round}"
            );
            assert_sorted_like_a_plain_sort(&occ, sort_list(occ.clone()), round);
        }
        for list in [
            vec!["sku-1", "sku-22", "sku-1"],
            vec!["a-long-shared-prefix-2", "a-long-shared-prefix-1"],
            vec!["zzzzzzzz", "aaaaaaaa"],
        ] {
            let shape = super::Shape::of(&list);
            assert!(
                super::narrow_radix_order(&list, &shape).is_none(),
                "{list:?}"
            );
            assert_sorted_like_a_plain_sort(&list, sort_list(list.clone()), 0);
        }
    }

    /// The LSD passes order keys stably by key whichever digits are the same in every key
    /// (those passes are skipped): none, the lowest, a middle one, the highest, all.
    #[test]
    fn radix_passes_skip_constant_digits_and_stay_stable() {
        let mut state = Rng::new(0xD1B5_4A32_D192_ED03);
        for (round, digit) in [(0, 4u32), (1, 7), (2, 11), (3, 12)]
            .into_iter()
            .cycle()
            .take(40)
        {
            let passes = 3usize;
            let radix = 1usize << digit;
            let constant = state.below(1 << passes);
            let fixed = state.next_u64();
            let n = state.index(600);
            let keys: Vec<super::Packed> = (0..n)
                .map(|at| {
                    let mut key = 0u64;
                    for p in 0..passes {
                        let d = match constant >> p & 1 {
                            1 => fixed >> (digit as usize * p),
                            _ => state.next_u64() % (1 + state.below(1 << digit)),
                        } & ((1 << digit) - 1);
                        key |= d << (digit as usize * p);
                    }
                    super::Packed {
                        key,
                        len: 11,
                        at: at as u32,
                    }
                })
                .collect();
            let mut count = vec![0u32; passes * radix];
            for k in &keys {
                for (p, c) in count.chunks_exact_mut(radix).enumerate() {
                    c[((k.key >> (digit as usize * p)) & ((1 << digit) - 1)) as usize] += 1;
                }
            }
            let mut want: Vec<(u64, u32)> = keys.iter().map(|k| (k.key, k.at)).collect();
            want.sort_by_key(|k| k.0);
            let got: Vec<(u64, u32)> = super::radix_passes(keys, &count, digit, |k| k.key)
                .iter()
                .map(|k| (k.key, k.at))
                .collect();
            assert_eq!(
                got, want,
                "round {round}, digit {digit}, constant {constant:b}"
            );
        }
    }

    /// Merging lists of ids around the 16-byte prefix (every length near it, shared
    /// prefixes, NUL bytes, blanks, multi-byte characters), split at random between lists
    /// that overlap, gives their union in byte order and each list's ids in it.
    #[test]
    fn merging_ids_that_share_their_prefix_gives_byte_order() {
        let p = "abcdefghijklmnop";
        let mut ids: Vec<String> = ["", " ", "a", "a\0", "é", "éé", "ü-ид-0000001"]
            .map(String::from)
            .to_vec();
        for tail in ["", "\0", " ", "q", "r", "qq", "qr", "é", "\0\0"] {
            ids.push(format!("{p}{tail}"));
            ids.push(format!("{}{tail}", &p[..15]));
        }
        let mut state = Rng::new(0xD1B5_4A32_D192_ED03);
        for round in 0..100 {
            let n_lists = 1 + state.index(5);
            let lists: Vec<Vec<&str>> = (0..n_lists)
                .map(|_| {
                    let set: BTreeSet<&str> = ids
                        .iter()
                        .map(String::as_str)
                        .filter(|s| !s.is_empty() && state.chance(400))
                        .collect();
                    set.into_iter().collect()
                })
                .collect();
            let slices: Vec<&[&str]> = lists.iter().map(Vec::as_slice).collect();
            let (names, remap) = merge(&slices, &[]);
            let want: Vec<&str> = lists
                .iter()
                .flatten()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(names, want, "round {round}");
            for (j, l) in lists.iter().enumerate() {
                for (k, s) in l.iter().enumerate() {
                    assert_eq!(names[remap[j][k] as usize], *s, "round {round}");
                }
            }
        }
    }

    /// Split at the longest list's middle id and merged on two threads (lists over the size
    /// where a second thread starts), the union and every index are the one-piece merge's,
    /// strings chosen from the preferred list included; so are lists split at their ends
    /// (every id of a list below or above the middle id) and empty lists.
    #[test]
    fn a_merge_split_in_two_equals_the_one_piece_merge() {
        let mut state = Rng::new(0x0DDB_A11C_0FFE_E000);
        let stems = ["sku-", "a-long-shared-prefix-", "item-"];
        let mut lists: Vec<Vec<String>> = [500_000usize, 300_000, 400_000, 0, 30]
            .iter()
            .enumerate()
            .map(|(j, &len)| {
                let set: BTreeSet<String> = (0..len)
                    .map(|_| {
                        let stem = match j {
                            4 => "zz-",
                            _ => *state.pick(&stems),
                        };
                        format!("{stem}{:07}", state.below(900_000))
                    })
                    .collect();
                set.into_iter().collect()
            })
            .collect();
        lists.push(vec!["a".into(), "b".into()]);
        let slices: Vec<Vec<&str>> = lists
            .iter()
            .map(|l| l.iter().map(String::as_str).collect())
            .collect();
        let distinct: Vec<&[&str]> = slices.iter().map(Vec::as_slice).collect();
        let prefer = [false, true, false, false, true, false];
        let (names, remap) =
            crate::snapshot::parallel::with_threads(2, || merge(&distinct, &prefer));
        let mut want_names = Vec::new();
        let mut want_remap: Vec<Vec<u32>> = distinct.iter().map(|l| vec![0; l.len()]).collect();
        let mut parts: Vec<&mut [u32]> = want_remap.iter_mut().map(Vec::as_mut_slice).collect();
        super::merge_into(&distinct, &prefer, &mut want_names, &mut parts);
        assert_eq!(names, want_names);
        assert_eq!(remap, want_remap);
        for (a, b) in names.iter().zip(&want_names) {
            assert!(std::ptr::eq(a.as_ptr(), b.as_ptr()), "{a}: the same string");
        }
    }

    /// The 16-byte prefix key reads like the zero-padded first 16 bytes, at every length.
    #[test]
    fn prefix_words_are_the_zero_padded_first_sixteen_bytes() {
        let text = "abcdefghijklmnopqrstuvwxyz";
        for n in 0..=text.len() {
            let mut b = [0u8; 16];
            let k = n.min(16);
            b[..k].copy_from_slice(&text.as_bytes()[..k]);
            let want = u128::from_be_bytes(b);
            let got = super::prefix_words(&text[..n]);
            assert_eq!(((got[0] as u128) << 64) | got[1] as u128, want, "{n}");
        }
    }

    /// Sorting each list and merging gives exactly the byte-order ranks of one table over
    /// every list (the one-table path), for every occurrence, on random lists.
    /// Two halves of a list in byte order, each grouped in one read and joined, are the
    /// whole list's sort (positions, groups, the same strings in memory), split anywhere:
    /// at either end, inside a run of one id, between empty ids; halves whose edge is out
    /// of order are given back.
    #[test]
    fn halves_in_order_join_into_the_whole_lists_sort() {
        let mut state = Rng::new(0xBB67_AE85_84CA_A73B);
        for round in 0..300 {
            let n = [0, 1, 2, 7, 64, 65, 500][round % 7];
            let mut ids: Vec<String> = (0..n).map(|_| random_id(&mut state)).collect();
            ids.sort();
            let occ: Vec<&str> = ids.iter().map(String::as_str).collect();
            let cut = match round % 3 {
                0 => [0, n][state.index(2)],
                _ => state.index(n + 1),
            };
            let (a, b) = occ.split_at(cut);
            let lo = super::in_order_list(a).expect("in order");
            let hi = super::in_order_list(b).expect("in order");
            let Some(joined) = super::join_in_order(lo, hi) else {
                panic!("round {round}: halves of a list in order");
            };
            let whole = sort_list(occ.clone());
            assert!(joined.in_order && whole.in_order, "round {round}");
            assert_eq!(joined.distinct, whole.distinct, "round {round}");
            assert!((joined.distinct.iter().zip(&whole.distinct))
                .all(|(x, y)| std::ptr::eq(x.as_ptr(), y.as_ptr())));
            assert_eq!(
                (&joined.at, &joined.ends, joined.len),
                (&whole.at, &whole.ends, whole.len),
                "round {round}"
            );
            assert_sorted_like_a_plain_sort(&occ, joined, round);
            // The halves the other way round: out of order at the edge, unless one side
            // has no id or both name one id only.
            let lo = super::in_order_list(b).expect("in order");
            let hi = super::in_order_list(a).expect("in order");
            let edge_ok = match (lo.distinct.last(), hi.distinct.first()) {
                (Some(x), Some(y)) => x <= y,
                _ => true,
            };
            assert_eq!(
                super::join_in_order(lo, hi).is_some(),
                edge_ok,
                "round {round}"
            );
        }
    }

    /// The merge's read-ahead gives each id with its own prefix at every position around
    /// its batch edges (lists of 0 to three batches and one), and nothing past the end.
    #[test]
    fn merge_read_ahead_gives_every_head_with_its_prefix() {
        let mut state = Rng::new(0x6A09_E667_F3BC_C908);
        let b = super::MERGE_AHEAD;
        for len in [0, 1, b - 1, b, b + 1, 2 * b, 3 * b + 1] {
            let ids: Vec<String> = (0..len).map(|_| random_id(&mut state)).collect();
            let list: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut ahead = super::Ahead::new(&list);
            for (pos, &s) in list.iter().enumerate() {
                let (p, got) = ahead.head(pos).expect("in the list");
                assert_eq!((p, got), (super::prefix_words(s), s), "{len}: {pos}");
                assert!(std::ptr::eq(got, s));
            }
            assert_eq!(ahead.head(len), None, "{len}");
        }
    }

    #[test]
    fn sorted_lists_merge_to_the_byte_order_of_one_table() {
        let mut state = Rng::new(0x9E37_79B9_7F4A_7C15);
        for round in 0..200 {
            let n_lists = 1 + state.index(6);
            let lists: Vec<Vec<String>> = (0..n_lists)
                .map(|_| {
                    let len = state.index(300);
                    let mut l: Vec<String> = (0..len).map(|_| random_id(&mut state)).collect();
                    if state.next_u64().is_multiple_of(3) {
                        l.sort();
                    }
                    l
                })
                .collect();
            let all: BTreeSet<&str> = lists
                .iter()
                .flatten()
                .map(String::as_str)
                .filter(|s| !s.is_empty())
                .collect();
            let ranked: Vec<&str> = all.iter().copied().collect();
            let sorted: Vec<_> = lists
                .iter()
                .map(|l| sort_list(l.iter().map(String::as_str).collect()))
                .collect();
            let prefer: Vec<bool> = (0..n_lists).map(|_| state.chance(500)).collect();
            let distinct: Vec<&[&str]> = sorted.iter().map(|s| s.distinct.as_slice()).collect();
            let (names, remap) = merge(&distinct, &prefer);
            assert_eq!(names, ranked, "round {round}");
            // An id a preferred list names is that list's string (the same bytes in memory).
            for name in &names {
                let prefer = &prefer;
                let from_preferred = |p: bool| {
                    (0..n_lists).filter(|&j| prefer[j] == p).any(|j| {
                        distinct[j]
                            .iter()
                            .any(|d| d == name && std::ptr::eq(d.as_ptr(), name.as_ptr()))
                    })
                };
                let named_by_preferred =
                    (0..n_lists).any(|j| prefer[j] && distinct[j].contains(name));
                assert_eq!(from_preferred(true), named_by_preferred, "round {round}");
                assert!(
                    from_preferred(true) || from_preferred(false),
                    "round {round}"
                );
            }
            drop(distinct);
            for ((j, l), s) in lists.iter().enumerate().zip(sorted) {
                let resolved = s.resolve(&remap[j]);
                assert_eq!(resolved.len(), l.len(), "round {round}");
                for (i, s) in l.iter().enumerate() {
                    match s.is_empty() {
                        true => assert_eq!(resolved[i], NONE, "round {round}"),
                        false => assert_eq!(
                            names[resolved[i] as usize], s,
                            "round {round} list {j} at {i}"
                        ),
                    }
                }
            }
        }
    }
}
