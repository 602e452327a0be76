//! Ranking: signal normalisation and blending, boosts and pins from rules, and the final
//! selection (top-k by score, or greedy MMR with brand/category caps and `max_per_tag`).
//! Final order: pins by pin rank, then the selection order (score desc / item id asc, or the
//! MMR pick order when MMR is on).

use crate::candidates::{Cand, IdMap, Keys, Signals};
use crate::config::Weights;
use crate::snapshot::{ItemTags, TagIdx, TenantSnapshot};
use std::cmp::Ordering;

/// Saturating normaliser `x / (x + 1)` for counts and scores (0 for non-positive).
pub fn sat(x: f64) -> f64 {
    if x > 0.0 && x.is_finite() {
        x / (x + 1.0)
    } else if x == f64::INFINITY {
        1.0
    } else {
        0.0
    }
}

/// Normalised signals and their weighted contributions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Blended {
    pub pop: f64,
    pub cooc: f64,
    /// max(collab, content, session) normalised.
    pub sim: f64,
    pub collab: f64,
    pub content: f64,
    pub session: f64,
    pub score: f64,
}

/// `x` saturated into the finite range: ±infinity become ±`f64::MAX`, NaN becomes 0. Every
/// score the engine computes goes through this, so no answer ever carries a `null` score.
pub fn finite(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-f64::MAX, f64::MAX)
    }
}

pub fn blend(w: &Weights, raw: &Signals) -> Blended {
    let pop = sat(raw.pop);
    let cooc = sat(raw.cooc);
    let collab = sat(raw.collab);
    let content = sat(raw.content);
    let session = sat(raw.session);
    let sim = collab.max(content).max(session);
    Blended {
        pop,
        cooc,
        sim,
        collab,
        content,
        session,
        score: finite(w.pop * pop + w.cooc * cooc + w.emb * sim),
    }
}

/// Score order: score descending, then item id ascending.
pub fn by_score(snap: &TenantSnapshot, keys: &Keys, a: &Cand, b: &Cand) -> Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| keys.cmp_ids(snap, a.key, b.key))
}

/// Diversity and cap settings of one selection.
#[derive(Debug, Default)]
pub struct SelectParams {
    pub n: usize,
    pub lambda: f64,
    pub brand_cap: u32,
    pub category_cap: u32,
    /// (tag, cap > 0), sorted by tag.
    pub max_per_tag: Vec<(TagIdx, u32)>,
}

impl SelectParams {
    pub fn greedy(&self) -> bool {
        self.lambda > 0.0
            || self.brand_cap > 0
            || self.category_cap > 0
            || !self.max_per_tag.is_empty()
    }
}

/// Running counts for caps, seeded by pins.
#[derive(Debug, Default)]
pub struct CapCounts {
    pub brands: IdMap<u32>,
    pub categories: IdMap<u32>,
    pub tags: IdMap<u32>,
}

impl CapCounts {
    /// Whether an item fits the caps (brand/category only when `diversity`).
    pub fn fits(&self, snap: &TenantSnapshot, key: u32, p: &SelectParams, diversity: bool) -> bool {
        self.blocker(snap, key, p, diversity).is_none()
    }

    /// Which cap (if any) keeps an item out: brand/category caps only when `diversity`.
    pub fn blocker(
        &self,
        snap: &TenantSnapshot,
        key: u32,
        p: &SelectParams,
        diversity: bool,
    ) -> Option<CapHit> {
        self.blocker_of(snap.item_tags(key), p, diversity)
    }

    /// [`CapCounts::blocker`] for an item's tags (looked up once by the caller).
    fn blocker_of(
        &self,
        t: Option<ItemTags<'_>>,
        p: &SelectParams,
        diversity: bool,
    ) -> Option<CapHit> {
        let t = t?;
        if diversity
            && p.brand_cap > 0
            && t.brands
                .iter()
                .any(|b| self.brands.get(b).copied().unwrap_or(0) >= p.brand_cap)
        {
            return Some(CapHit::Diversity);
        }
        if diversity
            && p.category_cap > 0
            && t.categories
                .iter()
                .any(|c| self.categories.get(c).copied().unwrap_or(0) >= p.category_cap)
        {
            return Some(CapHit::Diversity);
        }
        for (tag, cap) in &p.max_per_tag {
            if t.all.binary_search(tag).is_ok() && self.tags.get(tag).copied().unwrap_or(0) >= *cap
            {
                return Some(CapHit::MaxPerTag);
            }
        }
        None
    }
    pub fn add(&mut self, snap: &TenantSnapshot, key: u32, p: &SelectParams) {
        let Some(t) = snap.item_tags(key) else {
            return;
        };
        for b in t.brands.iter() {
            *self.brands.entry(*b).or_insert(0) += 1;
        }
        for c in t.categories.iter() {
            *self.categories.entry(*c).or_insert(0) += 1;
        }
        for (tag, _) in &p.max_per_tag {
            if t.all.binary_search(tag).is_ok() {
                *self.tags.entry(*tag).or_insert(0) += 1;
            }
        }
    }
}

/// Which cap held an item back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapHit {
    /// A request `max_per_tag` cap.
    MaxPerTag,
    /// A brand or category cap from the diversity config.
    Diversity,
}

/// MMR details of a selected item (for explain).
#[derive(Clone, Copy, Debug, Default)]
pub struct MmrInfo {
    pub max_sim: f64,
    pub relevance: f64,
    pub penalty: f64,
    pub rank: u32,
}

/// What selection did.
#[derive(Debug, Default)]
pub struct Selection {
    /// (candidate position in `cands`, MMR info when MMR picked it), in output order.
    pub picked: Vec<(usize, Option<MmrInfo>)>,
    /// Candidates skipped because a cap was full.
    pub capped: usize,
    /// Of `capped`: held back by a request `max_per_tag` cap.
    pub capped_by_tag: usize,
}

/// Selects up to `p.n` candidates from `eligible` (positions into `cands`).
pub fn select(
    snap: &TenantSnapshot,
    keys: &Keys,
    cands: &[Cand],
    mut eligible: Vec<usize>,
    p: &SelectParams,
    counts: &mut CapCounts,
) -> Selection {
    let mut sel = Selection::default();
    if p.n == 0 || eligible.is_empty() {
        return sel;
    }
    if !p.greedy() {
        sort_by_score(snap, keys, cands, &mut eligible, Some(p.n));
        sel.picked = eligible.into_iter().map(|i| (i, None)).collect();
        return sel;
    }
    sort_by_score(snap, keys, cands, &mut eligible, None);
    if p.lambda <= 0.0 {
        // Caps only: walk in score order.
        for i in eligible {
            if sel.picked.len() >= p.n {
                break;
            }
            let key = cands[i].key;
            match counts.blocker(snap, key, p, true) {
                None => {
                    counts.add(snap, key, p);
                    sel.picked.push((i, None));
                }
                Some(hit) => {
                    sel.capped += 1;
                    if hit == CapHit::MaxPerTag {
                        sel.capped_by_tag += 1;
                    }
                }
            }
        }
        return sel;
    }
    mmr(snap, cands, &eligible, p, counts, &mut sel, false);
    sel
}

/// A float's bits as an unsigned integer in `f64::total_cmp` order (ascending), so packed
/// integer keys sort exactly like the floats.
fn ordered_bits(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// Groups `(slot, value)` pairs by slot with a counting sort (no comparison sort): the values
/// of slot `s` are `values[off[s]..off[s + 1]]`, in the order `pairs` yields them. `pairs` is
/// called twice (count, then fill) and must yield the same pairs, each slot below `slots`.
pub(crate) fn group_by_slot<I: Iterator<Item = (u32, u32)>>(
    slots: usize,
    pairs: impl Fn() -> I,
) -> (Vec<u32>, Vec<u32>) {
    let mut off = vec![0u32; slots + 1];
    for (slot, _) in pairs() {
        off[slot as usize + 1] += 1;
    }
    for i in 0..slots {
        off[i + 1] += off[i];
    }
    let mut fill = off.clone();
    let mut values = vec![0u32; off[slots] as usize];
    for (slot, v) in pairs() {
        values[fill[slot as usize] as usize] = v;
        fill[slot as usize] += 1;
    }
    (off, values)
}

/// Orders positions into `cands` by [`by_score`] (score desc, id asc), keeping only the first
/// `top` when given. Pools of catalog items (the usual case) sort packed integer keys, which
/// orders exactly like `by_score` because catalog keys are interned in id order; pools with
/// ids the catalog does not know fall back to comparing names.
#[inline(never)] // a stage of its own in profiles (called a few times per request)
fn sort_by_score(
    snap: &TenantSnapshot,
    keys: &Keys,
    cands: &[Cand],
    positions: &mut Vec<usize>,
    top: Option<usize>,
) {
    let n = top.unwrap_or(positions.len()).min(positions.len());
    if positions.iter().all(|&i| cands[i].key < keys.catalog) {
        // Descending `total_cmp` order as an unsigned integer.
        let mut packed: Vec<(u64, u32, u32)> = positions
            .iter()
            .map(|&i| (!ordered_bits(cands[i].score), cands[i].key, i as u32))
            .collect();
        if n < packed.len() && n > 0 {
            packed.select_nth_unstable(n - 1);
        }
        packed.truncate(n);
        packed.sort_unstable();
        positions.clear();
        positions.extend(packed.iter().map(|&(_, _, i)| i as usize));
        return;
    }
    let cmp = |a: &usize, b: &usize| by_score(snap, keys, &cands[*a], &cands[*b]);
    if n < positions.len() && n > 0 {
        positions.select_nth_unstable_by(n - 1, cmp);
    }
    positions.truncate(n);
    positions.sort_unstable_by(cmp);
}

/// Greedy MMR: each round picks the eligible candidate maximising
/// `λ·score/max_score − (1−λ)·max Jaccard(similarity tags, picked)`; ties go to the better
/// score-order position. Similarities are updated incrementally through pool-local tag
/// postings, so a round costs O(pool) plus the postings of the item just picked.
/// `full_scan` forces the plain O(pool) scan per round (the reference for the lazy heap,
/// used by the tests to prove both pick the same items in the same order).
#[inline(never)] // a stage of its own in profiles (called a few times per request)
fn mmr(
    snap: &TenantSnapshot,
    cands: &[Cand],
    order: &[usize],
    p: &SelectParams,
    counts: &mut CapCounts,
    sel: &mut Selection,
    full_scan: bool,
) {
    let m = order.len();
    let max_score = order.iter().map(|&i| cands[i].score).fold(0.0f64, f64::max);
    let lambda = p.lambda;
    // Relevance term per position, hoisted out of the rounds.
    let rel: Vec<f64> = order
        .iter()
        .map(|&i| {
            let s = cands[i].score;
            lambda * if max_score > 0.0 { s / max_score } else { 0.0 }
        })
        .collect();
    // Each candidate's tags, looked up once.
    let tags: Vec<Option<ItemTags>> = order
        .iter()
        .map(|&i| snap.item_tags(cands[i].key))
        .collect();
    let fits = |counts: &CapCounts, pos: usize| counts.blocker_of(tags[pos], p, true).is_none();
    let sim_tags = |pos: usize| -> &[TagIdx] { tags[pos].map(|t| t.sim).unwrap_or(&[]) };
    let mut postings = Postings::build(snap.tags().len(), m, &sim_tags);
    let mut max_sim = vec![0.0f64; m];
    let mut done = vec![false; m];
    // With λ ≤ 1 the penalty weight is not negative and `max_sim` only grows, so a
    // candidate's value never increases between rounds: a value computed in an earlier round
    // is an upper bound. Rounds use a max-heap of such bounds ("lazy greedy"): the top is
    // re-evaluated, and when its current value equals its bound it beats every other bound,
    // so it is exactly the candidate the full scan would choose (ties: the earlier position).
    // Caps only fill up, so a candidate that does not fit now never will and leaves the heap.
    let value = |pos: usize, max_sim: &[f64]| rel[pos] - (1.0 - lambda) * max_sim[pos];
    let lazy = !full_scan && (0.0..=1.0).contains(&lambda);
    let mut heap: std::collections::BinaryHeap<(u64, std::cmp::Reverse<u32>)> = if lazy {
        (0..m)
            .map(|pos| {
                (
                    ordered_bits(value(pos, &max_sim)),
                    std::cmp::Reverse(pos as u32),
                )
            })
            .collect()
    } else {
        std::collections::BinaryHeap::new()
    };
    while sel.picked.len() < p.n {
        let mut best: Option<usize> = None;
        if lazy {
            while let Some((bound, std::cmp::Reverse(pos))) = heap.pop() {
                let pos = pos as usize;
                let cur = ordered_bits(value(pos, &max_sim));
                if cur != bound {
                    heap.push((cur, std::cmp::Reverse(pos as u32)));
                    continue;
                }
                if fits(counts, pos) {
                    best = Some(pos);
                    break;
                }
            }
        } else {
            let mut best_v = f64::NEG_INFINITY;
            for (pos, _) in done.iter().enumerate().filter(|(_, d)| !**d) {
                let v = value(pos, &max_sim);
                if (best.is_none() || v > best_v) && fits(counts, pos) {
                    best = Some(pos);
                    best_v = v;
                }
            }
        }
        let Some(pos) = best else {
            for pos in (0..m).filter(|p| !done[*p]) {
                sel.capped += 1;
                if counts.blocker(snap, cands[order[pos]].key, p, true) == Some(CapHit::MaxPerTag) {
                    sel.capped_by_tag += 1;
                }
            }
            break;
        };
        done[pos] = true;
        let key = cands[order[pos]].key;
        counts.add(snap, key, p);
        let pen = (1.0 - lambda) * max_sim[pos];
        sel.picked.push((
            order[pos],
            Some(MmrInfo {
                max_sim: max_sim[pos],
                relevance: rel[pos],
                penalty: pen,
                rank: sel.picked.len() as u32 + 1,
            }),
        ));
        // Update similarities against the newly picked item.
        postings.raise_similarities(pos, &sim_tags, &mut max_sim);
    }
}

/// Pool-local postings for MMR: the positions (in selection order) of the candidates
/// carrying each similarity tag. Grouped by tag with a counting sort when the tag space is
/// not much larger than the postings (no comparison sort), else by sorting packed
/// `tag << 32 | position` pairs.
struct Postings {
    dense: bool,
    /// Positions of slot `s` are `pos[off[s]..off[s + 1]]`.
    off: Vec<u32>,
    pos: Vec<u32>,
    /// The tag of each slot when sparse.
    sparse_tags: Vec<TagIdx>,
    /// Per position: shared tags with the item just picked (scratch, zero between rounds).
    inter: Vec<u32>,
    touched: Vec<u32>,
}

impl Postings {
    fn build<'t>(ntags: usize, m: usize, sim_tags: &dyn Fn(usize) -> &'t [TagIdx]) -> Postings {
        let total: usize = (0..m).map(|pos| sim_tags(pos).len()).sum();
        let dense = ntags <= 8 * total.max(64);
        let mut p = Postings {
            dense,
            off: Vec::new(),
            pos: Vec::new(),
            sparse_tags: Vec::new(),
            inter: vec![0u32; m],
            touched: Vec::new(),
        };
        if dense {
            (p.off, p.pos) = group_by_slot(ntags, || {
                (0..m).flat_map(|pos| sim_tags(pos).iter().map(move |&t| (t, pos as u32)))
            });
            return p;
        }
        let mut packed: Vec<u64> = Vec::with_capacity(total);
        for pos in 0..m {
            packed.extend(
                sim_tags(pos)
                    .iter()
                    .map(|&t| ((t as u64) << 32) | pos as u64),
            );
        }
        packed.sort_unstable();
        p.off.push(0);
        p.pos.reserve(total);
        for (i, &x) in packed.iter().enumerate() {
            let t = (x >> 32) as TagIdx;
            if p.sparse_tags.last() != Some(&t) {
                if i > 0 {
                    p.off.push(i as u32);
                }
                p.sparse_tags.push(t);
            }
            p.pos.push(x as u32);
        }
        p.off.push(packed.len() as u32);
        p
    }

    fn of(&self, t: TagIdx) -> &[u32] {
        let slot = if self.dense {
            Some(t as usize)
        } else {
            self.sparse_tags.binary_search(&t).ok()
        };
        match slot {
            Some(s) if s + 1 < self.off.len() => {
                &self.pos[self.off[s] as usize..self.off[s + 1] as usize]
            }
            _ => &[],
        }
    }

    /// Raises `max_sim` of every candidate sharing a tag with the one at `picked` to their
    /// Jaccard similarity, when larger: the cost is the postings of the picked item's tags.
    fn raise_similarities<'t>(
        &mut self,
        picked: usize,
        sim_tags: &dyn Fn(usize) -> &'t [TagIdx],
        max_sim: &mut [f64],
    ) {
        let pt = sim_tags(picked);
        if pt.is_empty() {
            return;
        }
        let mut inter = std::mem::take(&mut self.inter);
        let mut touched = std::mem::take(&mut self.touched);
        for &t in pt {
            for &other in self.of(t) {
                if inter[other as usize] == 0 {
                    touched.push(other);
                }
                inter[other as usize] += 1;
            }
        }
        for &o in &touched {
            let o = o as usize;
            let i = inter[o] as f64;
            let union = (sim_tags(o).len() + pt.len()) as f64 - i;
            if union > 0.0 {
                let j = i / union;
                if j > max_sim[o] {
                    max_sim[o] = j;
                }
            }
            inter[o] = 0;
        }
        touched.clear();
        self.inter = inter;
        self.touched = touched;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sat_values() {
        assert_eq!(sat(9.0), 0.9);
        assert_eq!(sat(1.0), 0.5);
        assert_eq!(sat(0.0), 0.0);
        assert_eq!(sat(-2.0), 0.0);
        assert_eq!(sat(f64::NAN), 0.0);
        assert_eq!(sat(f64::INFINITY), 1.0);
        let mut prev = 0.0;
        for x in [0.1, 0.5, 1.0, 2.0, 10.0, 1e300] {
            let s = sat(x);
            assert!(s > prev && s <= 1.0);
            prev = s;
        }
    }

    /// MMR details as exact bit patterns (max_sim, relevance, penalty, rank).
    type MmrBits = (u64, u64, u64, u32);

    /// The lazy-greedy heap picks exactly what the full scan picks (items, order, MMR
    /// details, capped counts) on random pools with tied scores, shared tags and caps.
    #[test]
    fn lazy_mmr_equals_the_full_scan() {
        use crate::config::TenantConfig;
        use crate::snapshot::{SignalData, Versions};
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        for world in 0..300 {
            let n = 5 + next(60) as usize;
            let content: Vec<(String, Vec<String>)> = (0..n)
                .map(|i| {
                    let mut tags: Vec<String> =
                        (0..next(5)).map(|_| format!("t{}", next(12))).collect();
                    tags.push(format!("brand:b{}", next(4)));
                    tags.push(format!("category:c{}", next(3)));
                    (format!("i{i:03}"), tags)
                })
                .collect();
            let snap = TenantSnapshot::compile(
                "t",
                "home",
                &TenantConfig::default(),
                Vec::new(),
                SignalData {
                    content: Some(content),
                    ..SignalData::default()
                },
                Versions::default(),
            );
            let keys = Keys::new(&snap);
            // Scores from a small set, so ties are common.
            let cands: Vec<Cand> = (0..n as u32)
                .map(|k| Cand {
                    key: k,
                    raw: Signals::default(),
                    score: [0.0, 0.25, 0.5, 0.5, 1.0, 2.0][next(6) as usize],
                    boost: 0.0,
                })
                .collect();
            let params = SelectParams {
                n: 1 + next(n as u64) as usize,
                lambda: [0.0001, 0.3, 0.5, 0.7, 1.0][next(5) as usize],
                brand_cap: next(3) as u32,
                category_cap: next(3) as u32,
                max_per_tag: Vec::new(),
            };
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|a, b| by_score(&snap, &keys, &cands[*a], &cands[*b]));
            let run = |full: bool| {
                let (mut counts, mut sel) = (CapCounts::default(), Selection::default());
                mmr(&snap, &cands, &order, &params, &mut counts, &mut sel, full);
                let picked: Vec<(usize, Option<MmrBits>)> = sel
                    .picked
                    .iter()
                    .map(|(i, m)| {
                        let m = m.map(|m| {
                            (
                                m.max_sim.to_bits(),
                                m.relevance.to_bits(),
                                m.penalty.to_bits(),
                                m.rank,
                            )
                        });
                        (*i, m)
                    })
                    .collect();
                (picked, sel.capped, sel.capped_by_tag)
            };
            assert_eq!(
                run(false),
                run(true),
                "world {world}: lazy and full scan differ"
            );
        }
    }

    /// The packed-key sort orders exactly like `by_score` (total order on floats, including
    /// -0.0, negatives and ties broken by id), with and without a top-n cut.
    #[test]
    fn packed_sort_equals_by_score() {
        use crate::config::TenantConfig;
        use crate::snapshot::{SignalData, Versions};
        let n = 300usize;
        let snap = TenantSnapshot::compile(
            "t",
            "home",
            &TenantConfig::default(),
            Vec::new(),
            SignalData {
                popularity: Some((0..n).map(|i| (format!("i{i:04}"), 1.0)).collect()),
                ..SignalData::default()
            },
            Versions::default(),
        );
        let keys = Keys::new(&snap);
        let values = [
            -2.5,
            -0.0,
            0.0,
            0.0,
            1e-300,
            0.5,
            0.5,
            3.0,
            f64::MAX,
            -f64::MAX,
        ];
        let mut seed = 7u64;
        let cands: Vec<Cand> = (0..n as u32)
            .map(|k| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                Cand {
                    key: k,
                    raw: Signals::default(),
                    score: values[(seed >> 33) as usize % values.len()],
                    boost: 0.0,
                }
            })
            .collect();
        for top in [None, Some(1), Some(20), Some(n), Some(n + 5)] {
            let mut want: Vec<usize> = (0..n).rev().collect();
            want.sort_by(|a, b| by_score(&snap, &keys, &cands[*a], &cands[*b]));
            want.truncate(top.unwrap_or(n).min(n));
            let mut got: Vec<usize> = (0..n).rev().collect();
            sort_by_score(&snap, &keys, &cands, &mut got, top);
            assert_eq!(got, want, "top {top:?}");
        }
    }
}
