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
use std::cmp::Ordering;

/// An occurrence that names nothing (the empty id) in [`SortedList::local`].
pub(crate) const NONE: u32 = u32::MAX;

/// One list of id occurrences, interned on its own.
pub(crate) struct SortedList<'a> {
    /// The list's distinct non-empty ids, in byte order.
    pub distinct: Vec<&'a str>,
    /// Per occurrence, the index of its id in `distinct` ([`NONE`] for an empty id).
    pub local: Vec<u32>,
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

/// Sorts one list of occurrences into its distinct ids and each occurrence's index among
/// them. Lists longer than `u32::MAX - 1` are not a concern: an artifact is at most 4 GiB.
///
/// A list already in order is not sorted; a list whose 16-byte prefixes differ in at most
/// eight byte positions (ids that share a stem, as catalogs name them) is radix-sorted on
/// those bytes ([`radix_order`]); any other list is sorted by comparison.
pub(crate) fn sort_list(occ: Vec<&str>) -> SortedList<'_> {
    let mut local = vec![NONE; occ.len()];
    let mut distinct: Vec<&str> = Vec::new();
    let mut rank = |at: usize, new: bool| {
        if new {
            distinct.push(occ[at]);
        }
        local[at] = distinct.len() as u32 - 1;
    };
    let shape = Shape::of(&occ);
    if shape.in_order {
        let mut prev: Option<&str> = None;
        for (at, &s) in occ.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
            rank(at, prev != Some(s));
            prev = Some(s);
        }
    } else if let Some(order) = radix_order(&occ, &shape) {
        for (j, p) in order.iter().enumerate() {
            let (at, new) = (p.at as usize, j == 0);
            // Equal packed bytes mean equal 16-byte prefixes: equal strings unless the
            // lengths differ or both go on past the prefix.
            let new = new || {
                let q = &order[j - 1];
                let (a, b) = (occ[q.at as usize], occ[at]);
                q.key != p.key || a.len() != b.len() || (a.len() > 16 && a != b)
            };
            rank(at, new);
        }
    } else {
        let mut keys: Vec<Key> = Vec::with_capacity(occ.len());
        keys.extend(
            occ.iter()
                .enumerate()
                .filter(|(_, s)| !s.is_empty())
                .map(|(i, s)| Key {
                    prefix: prefix_words(s),
                    len: s.len().min(u32::MAX as usize) as u32,
                    at: i as u32,
                }),
        );
        keys.sort_unstable_by(|a, b| key_order(a, b, &occ));
        let mut prev: Option<&Key> = None;
        for k in &keys {
            rank(
                k.at as usize,
                prev.is_none_or(|p| key_order(p, k, &occ) != Ordering::Equal),
            );
            prev = Some(k);
        }
    }
    SortedList { distinct, local }
}

/// What one read of a list tells: whether its non-empty ids are already in byte order, and
/// which bits of their 16-byte prefixes differ between them.
struct Shape {
    in_order: bool,
    /// The bits set in some prefix and clear in another (two words, as [`prefix_words`]).
    varies: [u64; 2],
}

impl Shape {
    fn of(occ: &[&str]) -> Shape {
        let mut in_order = true;
        let mut prev: Option<([u64; 2], &str)> = None;
        let (mut and, mut or) = ([u64::MAX; 2], [0u64; 2]);
        for &s in occ.iter().filter(|s| !s.is_empty()) {
            let p = prefix_words(s);
            for w in 0..2 {
                and[w] &= p[w];
                or[w] |= p[w];
            }
            if let Some((q, t)) = prev {
                in_order &= str_order(&q, t, &p, s) != Ordering::Greater;
            }
            prev = Some((p, s));
        }
        Shape {
            in_order,
            varies: [and[0] ^ or[0], and[1] ^ or[1]],
        }
    }

    /// Per prefix byte that varies: its position (0 = first) and how many of its low bits
    /// to keep (up to its highest varying bit; the bits above are the same in every id).
    fn fields(&self) -> Vec<(usize, u32)> {
        (0..16)
            .filter_map(|b| {
                let m = (self.varies[b / 8] >> (56 - 8 * (b % 8))) as u8;
                (m != 0).then(|| (b, 8 - m.leading_zeros()))
            })
            .collect()
    }
}

/// An occurrence in [`radix_order`]: the bits of its prefix that vary in the list, packed
/// in byte order (so they order like the prefixes), and where it is.
#[derive(Clone, Copy)]
struct Packed {
    key: u64,
    at: u32,
}

/// Bits per radix digit in [`radix_order`].
const DIGIT: u32 = 11;

/// The non-empty occurrences of `occ` in byte order, by an LSD radix sort over the prefix
/// bits that vary (ids sharing a stem vary in a few bits of a few bytes: 28 bits for
/// `sku-0000000`, three counting passes), then each run of equal prefixes ordered by
/// [`str_order`]. `None` when more than 64 bits vary (the comparison sort is used then).
/// Costs 16 bytes per occurrence beside the result while sorting.
fn radix_order(occ: &[&str], shape: &Shape) -> Option<Vec<Packed>> {
    let fields = shape.fields();
    let bits: u32 = fields.iter().map(|f| f.1).sum();
    if bits > 64 {
        return None;
    }
    let pack = |s: &str| {
        let p = prefix_words(s);
        fields.iter().fold(0u64, |k, &(b, w)| {
            let byte = (p[b / 8] >> (56 - 8 * (b % 8))) & 0xff;
            (k << w) | (byte & ((1 << w) - 1))
        })
    };
    let mut keys: Vec<Packed> = occ
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| Packed {
            key: pack(s),
            at: i as u32,
        })
        .collect();
    let mut buf = keys.clone();
    let mask = (1u64 << DIGIT) - 1;
    let mut start = vec![0usize; (1 << DIGIT) + 1];
    for pass in 0..bits.div_ceil(DIGIT) {
        let shift = DIGIT * pass;
        start.iter_mut().for_each(|c| *c = 0);
        for k in &keys {
            start[((k.key >> shift) & mask) as usize + 1] += 1;
        }
        for d in 1..start.len() {
            start[d] += start[d - 1];
        }
        for k in &keys {
            let d = ((k.key >> shift) & mask) as usize;
            buf[start[d]] = *k;
            start[d] += 1;
        }
        std::mem::swap(&mut keys, &mut buf);
    }
    drop(buf);
    // Runs of one prefix: shorter first when either fits the prefix, else by the text.
    let mut i = 0;
    while i < keys.len() {
        let mut j = i + 1;
        while j < keys.len() && keys[j].key == keys[i].key {
            j += 1;
        }
        let run = &mut keys[i..j];
        let len = |k: &Packed| occ[k.at as usize].len();
        if run.len() > 1 && !run.iter().all(|k| len(k) == len(&run[0]) && len(k) <= 16) {
            run.sort_unstable_by(|a, b| {
                let (s, t) = (occ[a.at as usize], occ[b.at as usize]);
                if s.len() > 16 && t.len() > 16 {
                    s.cmp(t)
                } else {
                    s.len().cmp(&t.len())
                }
            });
        }
        i = j;
    }
    Some(keys)
}

/// Merges sorted lists of distinct ids (each in byte order) into one: the union in byte
/// order, and per list, the index of each of its ids in the union. Heads are compared by
/// their 16-byte prefixes first ([`str_order`]), so the text is read only past them.
pub(crate) fn merge<'a>(lists: &[&[&'a str]]) -> (Vec<&'a str>, Vec<Vec<u32>>) {
    let mut pos = vec![0usize; lists.len()];
    let mut remap: Vec<Vec<u32>> = lists.iter().map(|l| vec![0; l.len()]).collect();
    let mut names: Vec<&'a str> =
        Vec::with_capacity(lists.iter().map(|l| l.len()).max().unwrap_or(0));
    // The head of each list, with its prefix (compared first).
    let head = |j: usize, pos: &[usize]| lists[j].get(pos[j]).map(|s| (prefix_words(s), *s));
    let mut heads: Vec<Option<([u64; 2], &str)>> =
        (0..lists.len()).map(|j| head(j, &pos)).collect();
    loop {
        let mut best: Option<([u64; 2], &str)> = None;
        for h in heads.iter().flatten() {
            if best.is_none_or(|b| str_order(&h.0, h.1, &b.0, b.1) == Ordering::Less) {
                best = Some(*h);
            }
        }
        let Some((p, s)) = best else {
            return (names, remap);
        };
        let id = names.len() as u32;
        names.push(s);
        for j in 0..lists.len() {
            if heads[j].is_some_and(|h| str_order(&h.0, h.1, &p, s) == Ordering::Equal) {
                remap[j][pos[j]] = id;
                pos[j] += 1;
                heads[j] = head(j, &pos);
            }
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

    /// Catalog-style ids (one stem, numbered) take the radix path, including ids longer
    /// than the prefix that share it, blanks, empties and shorter numbers; the result is the
    /// byte order of a plain sort.
    #[test]
    fn ids_sharing_a_stem_are_radix_sorted_into_byte_order() {
        let mut state = Rng::new(0x2545_F491_4F6C_DD1D);
        for round in 0..200 {
            let stem = ["sku-", "a-long-shared-prefix-", "", "item\0"][round % 4];
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
            if !shape.in_order && !stem.is_empty() {
                assert!(super::radix_order(&occ, &shape).is_some(), "round {round}");
            }
            let sorted = sort_list(occ.clone());
            let want: Vec<&str> = occ
                .iter()
                .copied()
                .filter(|s| !s.is_empty())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(sorted.distinct, want, "round {round}");
            for (i, s) in occ.iter().enumerate() {
                match s.is_empty() {
                    true => assert_eq!(sorted.local[i], NONE),
                    false => assert_eq!(sorted.distinct[sorted.local[i] as usize], *s),
                }
            }
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
            let distinct: Vec<&[&str]> = sorted.iter().map(|s| s.distinct.as_slice()).collect();
            let (names, remap) = merge(&distinct);
            assert_eq!(names, ranked, "round {round}");
            for (j, l) in lists.iter().enumerate() {
                for (i, s) in l.iter().enumerate() {
                    let local = sorted[j].local[i];
                    if s.is_empty() {
                        assert_eq!(local, NONE, "round {round}");
                    } else {
                        let global = remap[j][local as usize];
                        assert_eq!(names[global as usize], s, "round {round} list {j} at {i}");
                    }
                }
            }
        }
    }
}
