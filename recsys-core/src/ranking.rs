//! Ranking: signal normalisation and blending, boosts and pins from rules, and the final
//! selection (top-k by score, or greedy MMR with brand/category caps and `max_per_tag`).
//! Final order: pins by pin rank, then the selection order (score desc / item id asc, or the
//! MMR pick order when MMR is on).

use crate::candidates::{Cand, IdMap, Keys, Signals};
use crate::config::Weights;
use crate::snapshot::{ItemTags, TagIdx, TenantSnapshot};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Saturating normaliser `x / (x + 1)` for counts and scores (0 for non-positive and NaN,
/// 1 for +infinity).
///
/// Written as two float compares: `x > 0.0 && x.is_finite()` was compiled into a
/// floating-point class test done with integer bit masks (~25 instructions), and every
/// pooled candidate saturates five signals.
pub fn sat(x: f64) -> f64 {
    // NaN fails `x > 0.0`; past it, `x` is +infinity or positive and finite.
    if x > 0.0 {
        if x == f64::INFINITY {
            1.0
        } else {
            x / (x + 1.0)
        }
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
#[inline]
pub fn finite(x: f64) -> f64 {
    // One compare for the common case (a finite `x`; NaN fails it too), the rest rare: a
    // compounding boost runs three of these per boosted candidate.
    if x.abs() <= f64::MAX {
        x
    } else if x.is_nan() {
        0.0
    } else {
        f64::MAX.copysign(x)
    }
}

pub fn blend(w: &Weights, raw: &Signals) -> Blended {
    let pop = sat(raw.pop);
    let cooc = sat(raw.cooc);
    let collab = sat(raw.collab);
    let content = sat(raw.content);
    let session = sat(raw.session);
    // Saturated signals are never NaN, so compares find `f64::max`'s maximum without its
    // NaN handling (~12 instructions a pooled candidate).
    let sim = max_of_saturated(max_of_saturated(collab, content), session);
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

/// The blended score of a candidate whose only signal is its popularity count `pop` (every
/// other raw signal zero): `blend(w, &Signals { pop, ..zeros }).score` bit for bit (the
/// zero signals' saturations are their zeros, and their products with the weights are kept,
/// so a weight of any sign or value blends as there), without saturating four zeros.
#[inline]
pub fn popularity_score(w: &Weights, pop: f64) -> f64 {
    finite(w.pop * sat(pop) + w.cooc * 0.0 + w.emb * 0.0)
}

/// Whether `cands`, in pool order, are catalog items already in [`by_score`] order (score
/// descending, then item id ascending: the packed keys [`sort_by_score`] sorts, strictly
/// increasing). Then the best `n` by score are the first `n`, which is what [`select`]
/// picks without MMR or caps. A popularity walk's pool usually is (the popularity order is
/// by count, then id); ties the blend makes of different counts (saturated or scaled into
/// one float, a zero weight) are not, and are found here.
pub fn in_score_order(keys: &Keys, cands: &[Cand]) -> bool {
    let mut last: Option<&Cand> = None;
    // One pass that stops at the first key past the catalog or pair out of order (a
    // blended pool of hundreds is out of order within its first few candidates).
    for c in cands {
        if c.key >= keys.catalog {
            return false;
        }
        if let Some(l) = last {
            // A strictly greater float is earlier in `total_cmp` order too (the usual
            // case); equal floats (and ±0, NaN) are ordered by the packed keys.
            let before = l.score > c.score
                || (!ordered_bits(l.score), l.key) < (!ordered_bits(c.score), c.key);
            if !before {
                return false;
            }
        }
        last = Some(c);
    }
    true
}

/// The larger of two [`sat`] outputs (each in `[+0, 1]`, never NaN or −0), as
/// `f64::max` gives it.
#[inline(always)]
fn max_of_saturated(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
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
// Out of line, as it compiled before `blend` changed: inlined into the serving stage it
// cost D at 1M ~9 k instructions a request more.
#[inline(never)]
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
    // Lazy MMR over catalog items needs no score order: its heap breaks ties by (score desc,
    // key asc), which is the score order (catalog keys are interned in id order).
    let lazy = p.lambda > 0.0 && p.lambda <= 1.0;
    if lazy && eligible.iter().all(|&i| cands[i].key < keys.catalog) {
        mmr(
            snap,
            cands,
            &eligible,
            Ties::ScoreKey,
            p,
            counts,
            &mut sel,
            false,
        );
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
    mmr(
        snap,
        cands,
        &eligible,
        Ties::Position,
        p,
        counts,
        &mut sel,
        false,
    );
    sel
}

/// A float's bits as an unsigned integer in `f64::total_cmp` order (ascending), so packed
/// integer keys sort exactly like the floats.
pub(crate) fn ordered_bits(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
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

/// How MMR breaks ties between equal values: in favour of the better score order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ties {
    /// `order` is sorted by [`by_score`]: the earlier position wins.
    Position,
    /// `order` is in any order and holds catalog items only: the higher score, then the
    /// smaller key (the same order, without sorting the pool).
    ScoreKey,
}

/// A lazy-greedy heap entry: (value bound, tie-break high, tie-break low, position, the
/// candidate's similarity to the picks). The max-heap's top is the best bound, ties to the
/// better score order; positions are distinct, so the similarity never decides an order.
type HeapEntry = (u64, u64, Reverse<u32>, u32, Seen);

/// Greedy MMR: each round picks the eligible candidate maximising
/// `λ·score/max_score − (1−λ)·max Jaccard(similarity tags, picked)`; ties go to the better
/// score order ([`Ties`]). A candidate's similarity to the picks is brought up to date only
/// when it is looked at ([`Sims::catch_up`]: a merge of sorted tag ids per pick since its
/// last look), so a round costs the heap entries it pops, not the pool.
/// `full_scan` forces the plain O(pool) scan per round (needs `Ties::Position`; the
/// reference for the lazy heap, and the rule for λ > 1).
#[inline(never)] // a stage of its own in profiles (called a few times per request)
#[allow(clippy::too_many_arguments)]
fn mmr(
    snap: &TenantSnapshot,
    cands: &[Cand],
    order: &[usize],
    ties: Ties,
    p: &SelectParams,
    counts: &mut CapCounts,
    sel: &mut Selection,
    full_scan: bool,
) {
    let m = order.len();
    let lambda = p.lambda;
    // With λ ≤ 1 the penalty weight is not negative and `max_sim` only grows, so a
    // candidate's value never increases between rounds: a value computed in an earlier round
    // is an upper bound. Rounds use a max-heap of such bounds ("lazy greedy"): the top is
    // re-evaluated, and when its current value equals its bound it beats every other bound,
    // so it is exactly the candidate the full scan would choose (ties: the better score
    // order). Caps only fill up, so a candidate that does not fit now never will and leaves
    // the heap.
    let lazy = !full_scan && (0.0..=1.0).contains(&lambda);
    // The heap in two parts: the entries never popped, ordered by their tie-break alone
    // (before any pick a candidate's bound is its relevance, which follows its score: see
    // [`Fresh`]), and the re-evaluated ones; the top of the whole is the larger top.
    let mut fresh = if lazy {
        Fresh::new(cands, order, ties, p.n)
    } else {
        Fresh::empty(cands, order, ties)
    };
    // Scores are finite (no NaN for `f64::max` to skip), so a compare finds the same maximum
    // (only its sign when every score is zero could differ, and then none is positive).
    // Entries by score and key put the largest score (by `total_cmp`, the order of `>` on
    // finite scores but for ±0) on the heap's top: no pass over the pool (~10 instructions
    // a candidate) for it.
    let max_score = match (ties, fresh.peek()) {
        (Ties::ScoreKey, Some(&top)) => {
            let s = cands[order[top as u32 as usize]].score;
            if s > 0.0 {
                s
            } else {
                0.0
            }
        }
        _ => order
            .iter()
            .map(|&i| cands[i].score)
            .fold(0.0f64, |m, s| if s > m { s } else { m }),
    };
    let rel = |pos: usize| {
        let s = cands[order[pos]].score;
        lambda * if max_score > 0.0 { s / max_score } else { 0.0 }
    };
    let key = |pos: usize| cands[order[pos]].key;
    let sim_tags = |pos: usize| -> &[TagIdx] { snap.item_tags(key(pos)).map_or(&[], |t| t.sim) };
    let fits = |counts: &CapCounts, pos: usize| {
        counts
            .blocker_of(snap.item_tags(key(pos)), p, true)
            .is_none()
    };
    // At most `min(n, m)` picks: their lists are sized once (growing them cost ~6 k
    // instructions a request at 1M).
    let most = p.n.min(m);
    sel.picked.reserve(most);
    let mut sims = Sims {
        picks: Vec::with_capacity(most),
    };
    // Each candidate's similarity to the picks: the lazy heap carries it in the candidate's
    // entry (a candidate is in one entry at a time; never popped, it is 0 of 0 picks), so
    // only the full scan keeps it, and its picked marks, per position (three zeroed arrays
    // of the pool's length cost ~31 k instructions a request at 1M).
    let mut seen = vec![Seen::default(); if lazy { 0 } else { m }];
    let mut done = vec![false; seen.len()];
    let mut picked_pos: Vec<usize> = Vec::with_capacity(most);
    let value = |pos: usize, s: Seen| rel(pos) - (1.0 - lambda) * s.max_sim();
    // Sized once for a few re-evaluations a pick (D at 1M: ~14 a request; grown from empty
    // it was reallocated three times, ~1.6 k instructions).
    let mut stale: BinaryHeap<HeapEntry> =
        BinaryHeap::with_capacity(if lazy { 2 * most + 8 } else { 0 });
    // A never-popped entry in full: its bound is its relevance (its penalty `(1−λ)·0 = +0`
    // leaves the value's bits unchanged).
    let entry = |f: u128| -> HeapEntry {
        let pos = f as u32;
        let lo = !((f >> 32) as u32);
        (
            ordered_bits(rel(pos as usize)),
            (f >> 64) as u64,
            Reverse(lo),
            pos,
            Seen::default(),
        )
    };
    while sel.picked.len() < p.n {
        let mut best: Option<(usize, Seen)> = None;
        if lazy {
            while let Some((bound, hi, lo, pos, s)) = pop_lazy(&mut fresh, &mut stale, entry) {
                let s = sims.catch_up(s, sim_tags(pos as usize));
                let cur = ordered_bits(value(pos as usize, s));
                if cur != bound {
                    stale.push((cur, hi, lo, pos, s));
                    continue;
                }
                if fits(counts, pos as usize) {
                    best = Some((pos as usize, s));
                    break;
                }
            }
        } else {
            let mut best_v = f64::NEG_INFINITY;
            for pos in (0..m).filter(|&pos| !done[pos]) {
                seen[pos] = sims.catch_up(seen[pos], sim_tags(pos));
                let v = value(pos, seen[pos]);
                if (best.is_none() || v > best_v) && fits(counts, pos) {
                    best = Some((pos, seen[pos]));
                    best_v = v;
                }
            }
        }
        let Some((pos, s)) = best else {
            // The lazy path marks its picks only now (once, when nothing fits).
            done.resize(m, false);
            for &pos in &picked_pos {
                done[pos] = true;
            }
            for pos in (0..m).filter(|p| !done[*p]) {
                sel.capped += 1;
                if counts.blocker(snap, key(pos), p, true) == Some(CapHit::MaxPerTag) {
                    sel.capped_by_tag += 1;
                }
            }
            break;
        };
        if !lazy {
            done[pos] = true;
        }
        picked_pos.push(pos);
        counts.add(snap, key(pos), p);
        let max_sim = s.max_sim();
        sel.picked.push((
            order[pos],
            Some(MmrInfo {
                max_sim,
                relevance: rel(pos),
                penalty: (1.0 - lambda) * max_sim,
                rank: sel.picked.len() as u32 + 1,
            }),
        ));
        sims.picks.push(sim_tags(pos));
    }
}

/// The lazy MMR heap's never-popped entries, one per position of `order`, as one integer
/// each: the tie-break's high part, its low part inverted (the smaller wins), and the
/// position ([`Ties`]: the score's bits and the key, or nothing and the position). Their
/// bound, the relevance `λ·score/max_score` (with λ ≥ 0 and `max_score` > 0 or the
/// relevance 0), never decreases as the score rises and the positions of a sorted `order`
/// are in score order, so this order is the full entries' order, without a division and an
/// entry of 32 bytes per candidate (that cost ~40 instructions a candidate, and the heap's
/// tuple compares more than these).
///
/// A round pops a few entries (D at 1M: ~50 of a pool of ~2,260 over a request), so only
/// the largest are heaped: each entry has a rank (the score's bits, or the position
/// inverted) that orders it before every entry of a smaller rank, and the entries whose
/// rank is at least a threshold (an order statistic of every [`Fresh::STRIDE`]-th
/// position's rank, chosen so that about an eighth of the pool, and four times the picks,
/// is expected at or above it) are heaped; the others are made and heaped only if those
/// run out. Making and heaping every entry cost ~50 instructions a candidate (~114 k a D
/// request at 1M); a rank and a compare cost ~12.
#[derive(Debug)]
struct Fresh<'c> {
    /// The largest entries (every one of rank at least `below`'s); empty only when no
    /// entry is left.
    heap: BinaryHeap<u128>,
    /// The rank below which entries are not made yet (`None`: every entry was made).
    below: Option<u64>,
    cands: &'c [Cand],
    order: &'c [usize],
    ties: Ties,
}

impl<'c> Fresh<'c> {
    /// Pools of at most this many entries are heaped whole.
    const WHOLE: usize = 128;
    /// Every this many positions, one rank is sampled for the threshold.
    const STRIDE: usize = 16;

    /// No entries (the full scan's).
    fn empty(cands: &'c [Cand], order: &'c [usize], ties: Ties) -> Fresh<'c> {
        Fresh {
            heap: BinaryHeap::new(),
            below: None,
            cands,
            order,
            ties,
        }
    }

    /// The never-popped entries of `order`'s positions, for `picks` picks.
    fn new(cands: &'c [Cand], order: &'c [usize], ties: Ties, picks: usize) -> Fresh<'c> {
        let mut fresh = Fresh::empty(cands, order, ties);
        let m = order.len();
        if m <= Self::WHOLE {
            fresh.heap = fresh.entries(m, |_| true).into();
            return fresh;
        }
        // The sample's `k`-th largest rank: ~(k + 1) · STRIDE entries are at least it (the
        // sampled one among them, so the heap is never empty).
        let mut sample: Vec<u64> = (0..m)
            .step_by(Self::STRIDE)
            .map(|pos| fresh.rank(pos))
            .collect();
        let k = (sample.len() / 8)
            .max(picks.saturating_mul(4).div_ceil(Self::STRIDE))
            .min(sample.len() - 1);
        let (_, &mut threshold, _) = sample.select_nth_unstable_by(k, |a, b| b.cmp(a));
        let room = ((k + 1) * Self::STRIDE * 2).min(m);
        fresh.heap = fresh.entries(room, |r| r >= threshold).into();
        fresh.below = Some(threshold);
        fresh
    }

    /// Position `pos`'s rank: an entry of a larger rank is a larger entry.
    #[inline(always)]
    fn rank(&self, pos: usize) -> u64 {
        match self.ties {
            Ties::Position => !(pos as u64),
            Ties::ScoreKey => ordered_bits(self.cands[self.order[pos]].score),
        }
    }

    /// The entries of the positions whose rank `keep` accepts, in a list sized for `room`.
    fn entries(&self, room: usize, keep: impl Fn(u64) -> bool) -> Vec<u128> {
        let pack = |hi: u64, lo: u32, pos: u32| {
            (u128::from(hi) << 64) | (u128::from(!lo) << 32) | u128::from(pos)
        };
        let mut v = Vec::with_capacity(room);
        // One loop per kind of tie-break (a test of it per entry otherwise).
        match self.ties {
            Ties::Position => v.extend(
                (0..self.order.len() as u32)
                    .filter(|&pos| keep(!u64::from(pos)))
                    .map(|pos| pack(0, pos, pos)),
            ),
            Ties::ScoreKey => v.extend(self.order.iter().zip(0u32..).filter_map(|(&i, pos)| {
                let c = &self.cands[i];
                let r = ordered_bits(c.score);
                keep(r).then(|| pack(r, c.key, pos))
            })),
        }
        v
    }

    /// The largest entry.
    #[inline]
    fn peek(&self) -> Option<&u128> {
        self.heap.peek()
    }

    /// Removes the largest entry; heaps the rest when the largest run out.
    #[inline]
    fn pop(&mut self) {
        self.heap.pop();
        if self.heap.is_empty() && self.below.is_some() {
            self.refill();
        }
    }

    /// Makes and heaps the entries below the threshold (the largest ran out).
    #[cold]
    #[inline(never)]
    fn refill(&mut self) {
        if let Some(t) = self.below.take() {
            self.heap = self.entries(self.order.len(), |r| r < t).into();
        }
    }
}

/// Pops the lazy heap's top: the larger of the never-popped entries' top (`fresh`, made
/// whole by `entry`) and the re-evaluated entries' top (`stale`).
#[inline]
fn pop_lazy(
    fresh: &mut Fresh,
    stale: &mut BinaryHeap<HeapEntry>,
    entry: impl Fn(u128) -> HeapEntry,
) -> Option<HeapEntry> {
    let top = fresh.peek().map(|&f| entry(f));
    match (top, stale.peek()) {
        (Some(f), Some(s)) if *s > f => stale.pop(),
        (Some(f), _) => {
            fresh.pop();
            Some(f)
        }
        (None, _) => stale.pop(),
    }
}

/// One candidate's similarity to the MMR picks: the largest Jaccard similarity (its bits)
/// to the first `seen` picks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    max_sim: u64,
    seen: u32,
}

impl Seen {
    fn max_sim(self) -> f64 {
        f64::from_bits(self.max_sim)
    }
}

/// The items MMR picked so far, against which a candidate's [`Seen`] is brought up to date
/// lazily.
#[derive(Default)]
struct Sims<'t> {
    /// The similarity tags (sorted, distinct tag ids) of each pick, in pick order.
    picks: Vec<&'t [TagIdx]>,
}

impl<'t> Sims<'t> {
    /// `s` (of a candidate whose similarity tags are `tags`) raised to the Jaccard
    /// similarity with each pick it has not been compared with yet, when larger.
    fn catch_up(&self, s: Seen, tags: &[TagIdx]) -> Seen {
        let from = s.seen as usize;
        if from == self.picks.len() {
            return s;
        }
        let seen = self.picks.len() as u32;
        if tags.is_empty() {
            return Seen { seen, ..s };
        }
        let mut best = s.max_sim();
        for pt in &self.picks[from..] {
            let shared = shared_count(tags, pt);
            if shared == 0 {
                continue;
            }
            let i = shared as f64;
            let union = (tags.len() + pt.len()) as f64 - i;
            if union > 0.0 {
                let j = i / union;
                if j > best {
                    best = j;
                }
            }
        }
        Seen {
            max_sim: best.to_bits(),
            seen,
        }
    }
}

/// How many ids two sorted, distinct id lists share (a merge).
fn shared_count(a: &[u32], b: &[u32]) -> u32 {
    let (mut i, mut j, mut n) = (0, 0, 0u32);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    /// `sat` as first written (`x > 0 && finite`, then +infinity, else 0).
    fn reference_sat(x: f64) -> f64 {
        if x > 0.0 && x.is_finite() {
            x / (x + 1.0)
        } else if x == f64::INFINITY {
            1.0
        } else {
            0.0
        }
    }

    /// Edge values (NaNs, ±0, subnormals, ±infinity, `f64::MAX`) and 200,000 random ones:
    /// bit patterns, counts and ratios.
    fn probe_values(rng: &mut Rng) -> Vec<f64> {
        let edges = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::MAX,
            -f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
            1.0,
            1e-300,
        ];
        let random = (0..200_000).map(|i| match i % 3 {
            0 => f64::from_bits(rng.next_u64()),
            1 => rng.below(1_000_000) as f64,
            _ => rng.below(1 << 40) as f64 / (1 + rng.below(1 << 20)) as f64,
        });
        edges.into_iter().chain(random).collect()
    }

    /// `sat` equals its plain definition to the bit on every class of float: random bit
    /// patterns (NaNs, subnormals, negatives and infinities among them), random counts
    /// and scores, and the edge values.
    #[test]
    fn sat_equals_its_definition_bit_for_bit() {
        for x in probe_values(&mut Rng::new(29)) {
            assert_eq!(sat(x).to_bits(), reference_sat(x).to_bits(), "{x:e}");
        }
    }

    /// `blend`'s similarity (the largest of three saturated signals, by compares) and
    /// score equal `f64::max`'s and the weighted sum's to the bit, on triples of every class
    /// of float (saturation maps NaN, −0 and the negatives to +0).
    #[test]
    fn blend_equals_its_definition_bit_for_bit() {
        let mut rng = Rng::new(31);
        let values = probe_values(&mut rng);
        let w = Weights {
            pop: 1.0,
            cooc: 0.5,
            emb: 0.25,
        };
        for _ in 0..100_000 {
            let mut pick = || values[rng.index(values.len())];
            let raw = Signals {
                pop: pick(),
                cooc: pick(),
                collab: pick(),
                content: pick(),
                session: pick(),
            };
            let b = blend(&w, &raw);
            let sim = sat(raw.collab).max(sat(raw.content)).max(sat(raw.session));
            assert_eq!(b.sim.to_bits(), sim.to_bits(), "{raw:?}");
            let score = finite(w.pop * sat(raw.pop) + w.cooc * sat(raw.cooc) + w.emb * sim);
            assert_eq!(b.score.to_bits(), score.to_bits(), "{raw:?}");
        }
    }

    /// `finite` (one compare for a finite value) equals its first definition (NaN to 0,
    /// then a clamp into ±`f64::MAX`) bit for bit, signed zeros and NaNs included.
    #[test]
    fn finite_equals_its_definition_bit_for_bit() {
        let reference = |x: f64| {
            if x.is_nan() {
                0.0
            } else {
                x.clamp(-f64::MAX, f64::MAX)
            }
        };
        for x in probe_values(&mut Rng::new(31)) {
            assert_eq!(finite(x).to_bits(), reference(x).to_bits(), "{x:e}");
        }
    }

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

    /// A selection's picks with their MMR details as exact bit patterns.
    fn mmr_bits(sel: &Selection) -> Vec<(usize, Option<MmrBits>)> {
        let bits = |m: &MmrInfo| {
            let f = [m.max_sim, m.relevance, m.penalty].map(f64::to_bits);
            (f[0], f[1], f[2], m.rank)
        };
        sel.picked
            .iter()
            .map(|(i, m)| (*i, m.as_ref().map(bits)))
            .collect()
    }

    /// A random MMR world: items `i000..` with up to `max_tags` tags of `t0..t{tag_space}`,
    /// a brand of 4 and a category of 3 (about one in eight without tags at all when
    /// `untagged`), and one candidate per item scored from `scores` (so ties are common).
    fn random_world(
        rng: &mut Rng,
        n: usize,
        untagged: bool,
        (max_tags, tag_space): (u64, u64),
        scores: &[f64],
    ) -> (TenantSnapshot, Vec<Cand>) {
        use crate::snapshot::SignalData;
        let mut content: Vec<(String, Vec<String>)> = Vec::new();
        for i in 0..n {
            if untagged && rng.below(8) == 0 {
                continue;
            }
            let mut tags: Vec<String> = (0..rng.below(max_tags))
                .map(|_| format!("t{}", rng.below(tag_space)))
                .collect();
            tags.push(format!("brand:b{}", rng.below(4)));
            tags.push(format!("category:c{}", rng.below(3)));
            content.push((format!("i{i:03}"), tags));
        }
        let snap = snapshot(SignalData {
            content: Some(content),
            popularity: Some((0..n).map(|i| (format!("i{i:03}"), 1.0)).collect()),
            ..SignalData::default()
        });
        (snap, random_cands(rng, n, scores))
    }

    /// A snapshot of `data` under the default config and no rules.
    fn snapshot(data: crate::snapshot::SignalData) -> TenantSnapshot {
        use crate::config::TenantConfig;
        use crate::snapshot::Versions;
        let cfg = TenantConfig::default();
        TenantSnapshot::compile("t", "home", &cfg, Vec::new(), data, Versions::default())
    }

    /// Candidates for items `0..n`, each scored with one of `scores`.
    fn random_cands(rng: &mut Rng, n: usize, scores: &[f64]) -> Vec<Cand> {
        (0..n as u32)
            .map(|k| Cand {
                key: k,
                raw: Signals::default(),
                score: scores[rng.below(scores.len() as u64) as usize],
                boost: 0.0,
            })
            .collect()
    }

    /// Scores a ulp or two apart (whose relevances `λ·score/max` may round to one value,
    /// so the heap's tie-break decides), both zeros and negative scores: the never-popped
    /// entries, ordered by score and key alone, must still pop as the full entries do.
    const NEAR_TIES: [f64; 9] = [
        1.0,
        1.000_000_000_000_000_2,
        1.000_000_000_000_000_4,
        3.0,
        2.999_999_999_999_999_6,
        0.0,
        -0.0,
        -0.5,
        7.0,
    ];

    /// The lazy-greedy heap picks exactly what the full scan picks (items, order, MMR
    /// details, capped counts) on random pools with tied scores, shared tags and caps; a
    /// quarter of the pools are past [`Fresh::WHOLE`] (only their largest entries heaped
    /// at first).
    #[test]
    fn lazy_mmr_equals_the_full_scan() {
        let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
        for world in 0..300 {
            let n = if world % 4 == 1 {
                Fresh::WHOLE + 1 + rng.below(500) as usize
            } else {
                5 + rng.below(60) as usize
            };
            let scores = [0.0, 0.25, 0.5, 0.5, 1.0, 2.0];
            let scores = if world % 3 == 0 {
                &NEAR_TIES[..]
            } else {
                &scores[..]
            };
            let (snap, cands) = random_world(&mut rng, n, false, (5, 12), scores);
            let keys = Keys::new(&snap);
            let params = SelectParams {
                n: 1 + rng.below(n as u64) as usize,
                lambda: [0.0001, 0.3, 0.5, 0.7, 1.0][rng.below(5) as usize],
                brand_cap: rng.below(3) as u32,
                category_cap: rng.below(3) as u32,
                max_per_tag: Vec::new(),
            };
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|a, b| by_score(&snap, &keys, &cands[*a], &cands[*b]));
            let run = |full: bool| {
                let (mut counts, mut sel) = (CapCounts::default(), Selection::default());
                mmr(
                    &snap,
                    &cands,
                    &order,
                    Ties::Position,
                    &params,
                    &mut counts,
                    &mut sel,
                    full,
                );
                (mmr_bits(&sel), sel.capped, sel.capped_by_tag)
            };
            assert_eq!(
                run(false),
                run(true),
                "world {world}: lazy and full scan differ"
            );
        }
    }

    /// A plain reference MMR: every round scans the pool in score order and measures each
    /// candidate's Jaccard similarity to every pick from scratch.
    fn reference_mmr(
        snap: &TenantSnapshot,
        keys: &Keys,
        cands: &[Cand],
        eligible: &[usize],
        p: &SelectParams,
    ) -> (Vec<(usize, Option<MmrBits>)>, usize, usize) {
        let mut order = eligible.to_vec();
        order.sort_by(|a, b| by_score(snap, keys, &cands[*a], &cands[*b]));
        let max_score = order.iter().map(|&i| cands[i].score).fold(0.0f64, f64::max);
        let tags = |i: usize| {
            snap.item_tags(cands[i].key)
                .map_or(Vec::new(), |t| t.sim.to_vec())
        };
        let mut counts = CapCounts::default();
        let (mut picks, mut out) = (Vec::<usize>::new(), Vec::new());
        let mut done = vec![false; order.len()];
        while out.len() < p.n {
            let mut best: Option<(usize, f64, f64)> = None;
            for (pos, &i) in order.iter().enumerate().filter(|(pos, _)| !done[*pos]) {
                let mine = tags(i);
                let mut ms = 0.0f64;
                for &q in &picks {
                    let other = tags(q);
                    let shared = mine.iter().filter(|t| other.contains(t)).count();
                    if shared > 0 {
                        let s = shared as f64;
                        let j = s / ((mine.len() + other.len()) as f64 - s);
                        ms = if j > ms { j } else { ms };
                    }
                }
                let rel = p.lambda
                    * if max_score > 0.0 {
                        cands[i].score / max_score
                    } else {
                        0.0
                    };
                let v = rel - (1.0 - p.lambda) * ms;
                if best.is_none_or(|b| v > b.1) && counts.fits(snap, cands[i].key, p, true) {
                    best = Some((pos, v, ms));
                }
            }
            let Some((pos, _, ms)) = best else {
                let left = done.iter().filter(|d| !**d).count();
                return (out, left, 0);
            };
            done[pos] = true;
            let i = order[pos];
            counts.add(snap, cands[i].key, p);
            let rel = p.lambda
                * if max_score > 0.0 {
                    cands[i].score / max_score
                } else {
                    0.0
                };
            let bits = (
                ms.to_bits(),
                rel.to_bits(),
                ((1.0 - p.lambda) * ms).to_bits(),
                out.len() as u32 + 1,
            );
            out.push((i, Some(bits)));
            picks.push(i);
        }
        (out, 0, 0)
    }

    /// `select` with MMR (the lazy heap over an unsorted pool, ties by score then key; the
    /// full scan for λ > 1) picks exactly what the plain reference picks: items, order, MMR
    /// figures to the bit and capped counts, on random pools given in random order, with
    /// tied scores, shared tags, items without tags and brand/category caps.
    #[test]
    fn mmr_equals_a_reference_full_scan() {
        let mut rng = Rng::new(0x2545_F491_4F6C_DD1D);
        for world in 0..400 {
            // A fifth of the pools past `Fresh::WHOLE` (fewer picks: the reference is slow).
            let big = world % 5 == 2;
            let n = if big {
                Fresh::WHOLE + 20 + rng.below(400) as usize
            } else {
                2 + rng.below(80) as usize
            };
            let scores = [0.0, 0.25, 0.5, 0.5, 1.0, 2.0, 3.5];
            let scores = if world % 3 == 0 {
                &NEAR_TIES[..]
            } else {
                &scores[..]
            };
            let (snap, cands) = random_world(&mut rng, n, true, (6, 10), scores);
            let keys = Keys::new(&snap);
            let params = SelectParams {
                n: 1 + rng.below(if big { 40 } else { n as u64 + 3 }) as usize,
                lambda: [0.0001, 0.3, 0.5, 0.7, 0.7, 1.0, 1.5][rng.below(7) as usize],
                brand_cap: rng.below(3) as u32,
                category_cap: rng.below(3) as u32,
                max_per_tag: Vec::new(),
            };
            // Eligible positions in a random order (what `select` is given).
            let mut eligible: Vec<usize> = (0..n).filter(|_| rng.below(6) != 0).collect();
            for i in (1..eligible.len()).rev() {
                eligible.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let want = reference_mmr(&snap, &keys, &cands, &eligible, &params);
            let mut counts = CapCounts::default();
            let sel = select(&snap, &keys, &cands, eligible, &params, &mut counts);
            assert_eq!(mmr_bits(&sel), want.0, "world {world}: picks differ");
            assert_eq!(sel.capped, want.1, "world {world}: capped differs");
        }
    }

    /// The never-popped entries pop in the tie-break's order, each position once, through
    /// the threshold's split and the refill: by score (`total_cmp`, descending) then key
    /// with [`Ties::ScoreKey`], by position with [`Ties::Position`]; pools of every size
    /// around [`Fresh::WHOLE`] and far past it, few distinct scores (ties), any pick count.
    #[test]
    fn fresh_entries_pop_in_tie_break_order() {
        let mut rng = Rng::new(0x51F1_5EED);
        let mut refilled = 0;
        for round in 0..300 {
            let m = match round % 3 {
                0 => rng.below(2 * Fresh::WHOLE as u64) as usize,
                1 => Fresh::WHOLE + rng.below(40) as usize,
                _ => rng.below(5_000) as usize,
            };
            let scores = [&NEAR_TIES[..], &[0.5, 1.0, 2.0]][round % 2];
            let cands: Vec<Cand> = (0..m as u32)
                .map(|k| Cand {
                    key: k * 4096 + rng.below(4096) as u32,
                    raw: Signals::default(),
                    score: scores[rng.index(scores.len())],
                    boost: 0.0,
                })
                .collect();
            let mut order: Vec<usize> = (0..m).collect();
            for i in (1..m).rev() {
                order.swap(i, rng.index(i + 1));
            }
            let ties = [Ties::ScoreKey, Ties::Position][round % 4 / 3];
            let picks = rng.below(200) as usize;
            let mut fresh = Fresh::new(&cands, &order, ties, picks);
            let mut got = Vec::new();
            while let Some(&top) = fresh.peek() {
                if fresh.heap.len() == 1 && fresh.below.is_some() {
                    refilled += 1;
                }
                got.push(top as u32 as usize);
                fresh.pop();
            }
            let mut want: Vec<usize> = (0..m).collect();
            if ties == Ties::ScoreKey {
                want.sort_by(|&a, &b| {
                    let (a, b) = (&cands[order[a]], &cands[order[b]]);
                    b.score.total_cmp(&a.score).then(a.key.cmp(&b.key))
                });
            }
            assert_eq!(got, want, "round {round}: m {m}, picks {picks}");
        }
        assert!(refilled > 30, "only {refilled} refills");
    }

    /// Two sorted, distinct id lists share what a plain count says they share.
    #[test]
    fn shared_count_counts_common_ids() {
        let mut rng = Rng::new(5);
        for _ in 0..500 {
            let (la, lb) = (rng.below(13), rng.below(17));
            let mut list = |len: u64| {
                let mut v: Vec<u32> = (0..len).map(|_| rng.below(40) as u32).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let (a, b) = (list(la), list(lb));
            let want = a.iter().filter(|x| b.contains(x)).count() as u32;
            assert_eq!(shared_count(&a, &b), want);
            assert_eq!(shared_count(&b, &a), want);
        }
    }

    /// `popularity_score` is `blend`'s score of a candidate whose only signal is its
    /// popularity, bit for bit, for counts and weights of every kind (both zeros, negatives,
    /// NaNs, infinities, subnormals, huge); in many of them the zero signals' products
    /// decide the bits (an infinite or NaN weight, a negative zero).
    #[test]
    fn popularity_score_is_the_blend_of_popularity_alone() {
        let mut rng = Rng::new(0x70b5_c0de);
        let values = probe_values(&mut rng);
        let mut decided = 0;
        for &pop in &values {
            let mut weight = || {
                if rng.chance(700) {
                    *rng.pick(&[0.0, 1.0, 0.5, 2.5, 1e6])
                } else {
                    values[rng.index(values.len())]
                }
            };
            let w = Weights {
                pop: weight(),
                cooc: weight(),
                emb: weight(),
            };
            let raw = Signals {
                pop,
                ..Signals::default()
            };
            let want = blend(&w, &raw).score;
            assert_eq!(
                popularity_score(&w, pop).to_bits(),
                want.to_bits(),
                "{w:?} {pop:e}"
            );
            decided += usize::from(finite(w.pop * sat(pop)).to_bits() != want.to_bits());
        }
        assert!(decided > 1_000, "{decided}");
    }

    /// A catalog of `n` items `i0000..`, in id order, equally popular.
    fn ids_snapshot(n: usize) -> TenantSnapshot {
        use crate::snapshot::SignalData;
        snapshot(SignalData {
            popularity: Some((0..n).map(|i| (format!("i{i:04}"), 1.0)).collect()),
            ..SignalData::default()
        })
    }

    /// `in_score_order` is true exactly when the packed sort keeps the pool's order: random
    /// pools of distinct catalog keys with tied scores, both zeros and negatives, often
    /// sorted first and sometimes with one neighbouring pair swapped after; a key past the
    /// catalog is never in order.
    #[test]
    fn in_score_order_is_what_the_sort_keeps() {
        let n = 300usize;
        let snap = ids_snapshot(n);
        let keys = Keys::new(&snap);
        let values = [-2.5, -0.0, 0.0, 1e-300, 0.5, 0.5, 3.0, f64::MAX, -f64::MAX];
        let mut rng = Rng::new(0x5c0_11ed);
        let (mut kept, mut moved) = (0, 0);
        for round in 0..4_000 {
            let len = rng.index(30);
            let mut all: Vec<u32> = (0..n as u32).collect();
            for i in 0..len {
                all.swap(i, i + rng.index(n - i));
            }
            let mut cands: Vec<Cand> = all[..len]
                .iter()
                .map(|&key| Cand {
                    key,
                    raw: Signals::default(),
                    score: *rng.pick(&values),
                    boost: 0.0,
                })
                .collect();
            if rng.chance(600) {
                cands.sort_by(|a, b| by_score(&snap, &keys, a, b));
                if len > 1 && rng.chance(300) {
                    let i = rng.index(len - 1);
                    cands.swap(i, i + 1);
                }
            }
            let mut order: Vec<usize> = (0..len).collect();
            sort_by_score(&snap, &keys, &cands, &mut order, None);
            let want = order.iter().enumerate().all(|(i, &p)| i == p);
            assert_eq!(in_score_order(&keys, &cands), want, "round {round}");
            if want {
                kept += 1;
                if let Some(c) = cands.last_mut() {
                    c.key += keys.catalog;
                    assert!(!in_score_order(&keys, &cands), "round {round}");
                }
            } else {
                moved += 1;
            }
        }
        assert!(kept > 1_000 && moved > 1_000, "{kept} kept, {moved} moved");
    }

    /// The packed-key sort orders exactly like `by_score` (total order on floats, including
    /// -0.0, negatives and ties broken by id), with and without a top-n cut.
    #[test]
    fn packed_sort_equals_by_score() {
        let n = 300usize;
        let snap = ids_snapshot(n);
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
        let cands = random_cands(&mut Rng::new(7), n, &values);
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
