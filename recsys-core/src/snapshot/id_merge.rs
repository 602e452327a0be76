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

/// Byte order of the strings behind two keys: by prefix, then by length when either string
/// fits its prefix (then it is a prefix of the other, or they are equal), else by the text.
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
pub(crate) fn sort_list(occ: Vec<&str>) -> SortedList<'_> {
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
    // Already in order (a list written sorted): nothing to sort.
    if !keys
        .windows(2)
        .all(|w| key_order(&w[0], &w[1], &occ) != Ordering::Greater)
    {
        keys.sort_unstable_by(|a, b| key_order(a, b, &occ));
    }
    let mut local = vec![NONE; occ.len()];
    let mut distinct: Vec<&str> = Vec::new();
    let mut prev: Option<&Key> = None;
    for k in &keys {
        if prev.is_none_or(|p| key_order(p, k, &occ) != Ordering::Equal) {
            distinct.push(occ[k.at as usize]);
        }
        local[k.at as usize] = distinct.len() as u32 - 1;
        prev = Some(k);
    }
    SortedList { distinct, local }
}

/// Merges sorted lists of distinct ids (each in byte order) into one: the union in byte
/// order, and per list, the index of each of its ids in the union.
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
            if best.is_none_or(|b| (h.0, h.1) < (b.0, b.1)) {
                best = Some(*h);
            }
        }
        let Some((_, s)) = best else {
            return (names, remap);
        };
        let id = names.len() as u32;
        names.push(s);
        for j in 0..lists.len() {
            if heads[j].is_some_and(|h| h.1 == s) {
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
