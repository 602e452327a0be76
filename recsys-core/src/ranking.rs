//! Ranking: signal normalisation and blending, boosts and pins from rules, and the final
//! selection (top-k by score, or greedy MMR with brand/category caps and `max_per_tag`).
//! Final order: pins by pin rank, then the selection order (score desc / item id asc, or the
//! MMR pick order when MMR is on).

use crate::candidates::{Cand, IdMap, Keys, Signals};
use crate::config::Weights;
use crate::snapshot::{TagIdx, TenantSnapshot};
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
        score: w.pop * pop + w.cooc * cooc + w.emb * sim,
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
        let t = snap.item_tags.get(key as usize)?;
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
        let Some(t) = snap.item_tags.get(key as usize) else {
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
    let cmp = |a: &usize, b: &usize| by_score(snap, keys, &cands[*a], &cands[*b]);
    let mut sel = Selection::default();
    if p.n == 0 || eligible.is_empty() {
        return sel;
    }
    if !p.greedy() {
        if eligible.len() > p.n * 2 && eligible.len() > 64 {
            eligible.select_nth_unstable_by(p.n - 1, cmp);
            eligible.truncate(p.n);
        }
        eligible.sort_unstable_by(cmp);
        eligible.truncate(p.n);
        sel.picked = eligible.into_iter().map(|i| (i, None)).collect();
        return sel;
    }
    eligible.sort_unstable_by(cmp);
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
    mmr(snap, cands, &eligible, p, counts, &mut sel);
    sel
}

/// Greedy MMR: each round picks the eligible candidate maximising
/// `λ·score/max_score − (1−λ)·max Jaccard(similarity tags, picked)`; ties go to the better
/// score-order position. Similarities are updated incrementally through pool-local tag
/// postings, so a round costs O(pool) plus the postings of the item just picked.
fn mmr(
    snap: &TenantSnapshot,
    cands: &[Cand],
    order: &[usize],
    p: &SelectParams,
    counts: &mut CapCounts,
    sel: &mut Selection,
) {
    let m = order.len();
    let max_score = order.iter().map(|&i| cands[i].score).fold(0.0f64, f64::max);
    let norm = |s: f64| if max_score > 0.0 { s / max_score } else { 0.0 };
    let sim_tags = |pos: usize| -> &[TagIdx] {
        snap.item_tags
            .get(cands[order[pos]].key as usize)
            .map(|t| &*t.sim)
            .unwrap_or(&[])
    };
    // Pool-local postings: (tag, position in `order`), sorted.
    let mut postings: Vec<(TagIdx, u32)> = Vec::new();
    for pos in 0..m {
        postings.extend(sim_tags(pos).iter().map(|&t| (t, pos as u32)));
    }
    postings.sort_unstable();
    let mut max_sim = vec![0.0f64; m];
    let mut inter = vec![0u32; m];
    let mut touched: Vec<u32> = Vec::new();
    let mut done = vec![false; m];
    let lambda = p.lambda;
    while sel.picked.len() < p.n {
        let mut best: Option<(usize, f64)> = None;
        for pos in 0..m {
            if done[pos] {
                continue;
            }
            let v = lambda * norm(cands[order[pos]].score) - (1.0 - lambda) * max_sim[pos];
            if best.is_none_or(|(_, bv)| v > bv) {
                if !counts.fits(snap, cands[order[pos]].key, p, true) {
                    continue;
                }
                best = Some((pos, v));
            }
        }
        let Some((pos, _)) = best else {
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
        let rel = lambda * norm(cands[order[pos]].score);
        let pen = (1.0 - lambda) * max_sim[pos];
        sel.picked.push((
            order[pos],
            Some(MmrInfo {
                max_sim: max_sim[pos],
                relevance: rel,
                penalty: pen,
                rank: sel.picked.len() as u32 + 1,
            }),
        ));
        // Update similarities against the newly picked item.
        let pt = sim_tags(pos);
        if pt.is_empty() {
            continue;
        }
        for &t in pt {
            let lo = postings.partition_point(|&(x, _)| x < t);
            for &(x, other) in &postings[lo..] {
                if x != t {
                    break;
                }
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
}
