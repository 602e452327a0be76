//! Boosts and pins: applies the request's applicable boost rules (priority order,
//! compounding) and pin rules (priority order, within the pin budget and the caps) to the
//! scored pool. Blocks were already applied as hard filters, so a block always wins.

use super::filters::Filtered;
use super::sources::Pooled;
use super::Decision;
use crate::candidates::Pool;
use crate::config::Weights;
use crate::ranking::{self, CapCounts};
use crate::rules::eval::{self, Target};
use crate::snapshot::TenantSnapshot;

/// What the rules did to the pool.
pub(crate) struct Ruled {
    /// (pool position, boost action index, score delta), one per boosted candidate.
    pub boost_details: Vec<(usize, usize, f64)>,
    /// (pool position, pin action index), in answer order.
    pub pinned: Vec<(usize, usize)>,
    /// Brand/category/tag counts of the pinned items (selection continues from them).
    pub counts: CapCounts,
}

/// Applies boosts, then pins, to the pool.
pub(crate) fn apply(d: &Decision, f: &Filtered, p: &mut Pooled) -> Ruled {
    let index = TagIndex::build(d.snap, &f.applied, &p.pool);
    let boost_details = boosts(d, f, p, &index);
    let (pinned, counts) = pins(d, f, p, &index);
    Ruled {
        boost_details,
        pinned,
        counts,
    }
}

/// Tag index of the pool for tag/brand/category rule targets: (space << 30 | tag, pos),
/// holding only the tags some boost or pin targets (a bitset over the packed keys), so its
/// sort handles the handful of matching pairs, not every tag of every candidate.
struct TagIndex {
    targeted: Vec<u32>,
    /// The positions of `targeted[i]` are `pos[off[i]..off[i + 1]]`, in pool order.
    off: Vec<u32>,
    pos: Vec<u32>,
}

impl TagIndex {
    fn build(snap: &TenantSnapshot, applied: &eval::Applied, pool: &Pool) -> TagIndex {
        let targeted: Vec<u32> = {
            let mut v: Vec<u32> = applied
                .boosts
                .iter()
                .chain(applied.pins.iter())
                .filter_map(|a| match a.target {
                    Target::Tagged(space, t) => Some(((space as u32) << 30) | t),
                    _ => None,
                })
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        // Positions per targeted key, grouped by a counting sort (no comparison sort).
        let (off, pos) = if targeted.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let ntags = snap.tags().len();
            let mut bits = vec![0u64; (3 * ntags).div_ceil(64)];
            for &key in &targeted {
                let bit = (key >> 30) as usize * ntags + (key & ((1 << 30) - 1)) as usize;
                if let Some(w) = bits.get_mut(bit / 64) {
                    *w |= 1 << (bit % 64);
                }
            }
            let hit = |space: usize, t: u32| {
                let bit = space * ntags + t as usize;
                bits.get(bit / 64)
                    .is_some_and(|w| w & (1 << (bit % 64)) != 0)
            };
            // (slot, pos) for every candidate tag some rule targets, in pool order.
            let mut hits: Vec<(u32, u32)> = Vec::new();
            for (pos, c) in pool.cands.iter().enumerate() {
                if let Some(t) = snap.item_tags(c.key) {
                    for (space, list) in [(0usize, &t.all), (1, &t.brands), (2, &t.categories)] {
                        for &x in list.iter() {
                            if hit(space, x) {
                                let key = ((space as u32) << 30) | x;
                                if let Ok(slot) = targeted.binary_search(&key) {
                                    hits.push((slot as u32, pos as u32));
                                }
                            }
                        }
                    }
                }
            }
            ranking::group_by_slot(targeted.len(), || hits.iter().copied())
        };
        TagIndex { targeted, off, pos }
    }

    /// Pool positions of the candidates carrying tag `t` in `space`, in pool order.
    fn matches(&self, space: u8, t: u32) -> Vec<usize> {
        let key = ((space as u32) << 30) | t;
        match self.targeted.binary_search(&key) {
            Ok(slot) => self.pos[self.off[slot] as usize..self.off[slot + 1] as usize]
                .iter()
                .map(|&p| p as usize)
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// Pool position of candidate `k`, offering it (scored) when the pool does not hold it;
/// `None` when the hard filters refuse it.
fn position(d: &Decision, f: &Filtered, p: &mut Pooled, k: u32) -> Option<usize> {
    if let Some(&pos) = p.pool.index.get(&k) {
        return Some(pos as usize);
    }
    if !p.pool.offer(d.snap, &f.keys, &f.filters, &p.maps, k) {
        return None;
    }
    let pos = p.pool.len() - 1;
    let w: Weights = p.weights;
    p.pool.cands[pos].score = ranking::blend(&w, &p.pool.cands[pos].raw).score;
    Some(pos)
}

/// Boosts in priority order, compounding; returns (pos, action index, delta) per boost.
fn boosts(
    d: &Decision,
    f: &Filtered,
    p: &mut Pooled,
    index: &TagIndex,
) -> Vec<(usize, usize, f64)> {
    let mut details: Vec<(usize, usize, f64)> = Vec::new();
    for (ai, b) in f.applied.boosts.iter().enumerate() {
        let v = b.rule.boost_value.unwrap_or(0.0);
        let targets: Vec<usize> = match &b.target {
            Target::Keys(ks) => ks.iter().filter_map(|&k| position(d, f, p, k)).collect(),
            Target::Tagged(space, t) => index.matches(*space, *t),
            Target::Nothing => Vec::new(),
        };
        for pos in targets {
            let c = &mut p.pool.cands[pos];
            // Compounding boosts saturate instead of overflowing to infinity.
            let mut delta = ranking::finite(c.score * v);
            if delta == 0.0 {
                delta = v;
            }
            c.score = ranking::finite(c.score + delta);
            c.boost = ranking::finite(c.boost + delta);
            details.push((pos, ai, delta));
        }
    }
    details
}

/// Pins in priority order (blocks already excluded), within the pin budget, each rule's
/// `max_pins` and the caps; returns (pos, pin action index) and the caps' counts.
fn pins(
    d: &Decision,
    f: &Filtered,
    p: &mut Pooled,
    index: &TagIndex,
) -> (Vec<(usize, usize)>, CapCounts) {
    let (snap, spec) = (d.snap, d.spec);
    let mut counts = CapCounts::default();
    let mut pinned: Vec<(usize, usize)> = Vec::new();
    let mut budget = (d.cfg.limits.max_pins as usize).min(spec.k as usize);
    for (ai, pa) in f.applied.pins.iter().enumerate() {
        if budget == 0 {
            break;
        }
        let limit = match pa.rule.max_pins {
            Some(m) if m >= 0 && (m as usize) < budget => m as usize,
            _ => budget,
        };
        if limit == 0 {
            continue;
        }
        let targets: Vec<u32> = match &pa.target {
            Target::Keys(ks) => ks.to_vec(),
            Target::Tagged(space, t) => {
                let mut ps = index.matches(*space, *t);
                let cands = &p.pool.cands;
                ps.sort_by(|a, b| ranking::by_score(snap, &f.keys, &cands[*a], &cands[*b]));
                ps.into_iter().map(|pos| cands[pos].key).collect()
            }
            Target::Nothing => Vec::new(),
        };
        let mut by_rule = 0usize;
        for k in targets {
            if by_rule >= limit || budget == 0 {
                break;
            }
            let Some(pos) = position(d, f, p, k) else {
                continue;
            };
            if pinned.iter().any(|(q, _)| *q == pos) || !counts.fits(snap, k, &f.params, false) {
                continue;
            }
            counts.add(snap, k, &f.params);
            pinned.push((pos, ai));
            budget -= 1;
            by_rule += 1;
        }
    }
    (pinned, counts)
}
