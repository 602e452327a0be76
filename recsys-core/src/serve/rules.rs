//! Boosts and pins: resolves the rules that can act on the scored pool (rules indexed by
//! target: every applicable rule on items, and the applicable rules on tags some candidate
//! carries), then applies the boosts (priority order, compounding) and pins (priority
//! order, within the pin budget and the caps). Blocks were already applied as hard
//! filters, so a block always wins.

use super::filters::Filtered;
use super::sources::Pooled;
use super::Decision;
use crate::ranking::{self, CapCounts};
use crate::rules::eval::{self, Target};

/// What the rules did to the pool.
pub(crate) struct Ruled<'a> {
    /// The boosts and pins that could act on the pool (with per-rule telemetry, every
    /// applicable rule, blocks included).
    pub applied: eval::Applied<'a>,
    /// (pool position, boost action index, score delta), one per boosted candidate.
    pub boost_details: Vec<(usize, usize, f64)>,
    /// (pool position, pin action index), in answer order.
    pub pinned: Vec<(usize, usize)>,
    /// Brand/category/tag counts of the pinned items (selection continues from them).
    pub counts: CapCounts,
}

/// Resolves the rules acting on the pool and applies boosts, then pins.
#[inline(never)] // a stage of its own in profiles (called a few times per request)
pub(crate) fn apply<'a>(d: &Decision, f: &mut Filtered<'a>, p: &mut Pooled) -> Ruled<'a> {
    let applied = if f.rules_on {
        eval::resolve(f.scope, &mut f.keys, &p.pool, d.opts.rule_telemetry)
    } else {
        eval::Applied::default()
    };
    let boost_details = boosts(d, f, p, &applied);
    let (pinned, counts) = pins(d, f, p, &applied);
    Ruled {
        applied,
        boost_details,
        pinned,
        counts,
    }
}

/// Pool position of candidate `k`, offering it (scored) when the pool does not hold it;
/// `None` when the hard filters refuse it.
fn position(d: &Decision, f: &Filtered, p: &mut Pooled, k: u32) -> Option<usize> {
    match p.pool.lookup(k) {
        Ok(pos) => return Some(pos),
        Err(true) => return None,
        Err(false) => {}
    }
    if !p.pool.offer(d.snap, &f.keys, &f.filters, k) {
        return None;
    }
    p.pool.fill_signals(d.snap, &p.maps, &p.weights, false);
    Some(p.pool.len() - 1)
}

/// Boosts in priority order, compounding; returns (pos, action index, delta) per boost.
#[inline(never)] // a stage of its own in profiles (called a few times per request)
fn boosts(
    d: &Decision,
    f: &Filtered,
    p: &mut Pooled,
    applied: &eval::Applied,
) -> Vec<(usize, usize, f64)> {
    if applied.boosts.is_empty() {
        return Vec::new();
    }
    // One detail per boosted candidate: sized up front (a tag boost can touch much of the
    // pool, so the list can be large and would otherwise be copied as it grows).
    let most: usize = applied
        .boosts
        .iter()
        .map(|b| match &b.target {
            Target::Keys(ks) => ks.len(),
            _ => applied.positions(b).len(),
        })
        .sum();
    let mut details: Vec<(usize, usize, f64)> = Vec::with_capacity(most);
    inject(d, f, p, applied);
    // The boosts work on the pool's (score, boost) pairs copied side by side: a tag boost
    // reaches its positions in pool order but tens of thousands of boosts land all over
    // the pool, and 16 bytes a candidate stay in cache where whole candidates do not.
    let mut scored: Vec<(f64, f64)> = p.pool.cands.iter().map(|c| (c.score, c.boost)).collect();
    for (ai, b) in applied.boosts.iter().enumerate() {
        let v = b.value;
        let mut boost = |pos: usize| {
            let Some((score, sum)) = scored.get_mut(pos) else {
                return;
            };
            // Compounding boosts saturate instead of overflowing to infinity.
            let mut delta = ranking::finite(*score * v);
            if delta == 0.0 {
                delta = v;
            }
            *score = ranking::finite(*score + delta);
            *sum = ranking::finite(*sum + delta);
            details.push((pos, ai, delta));
        };
        // Each target is boosted as it is found: an injected item's score depends on its
        // own signals only, so the order of injections and boosts does not matter.
        match &b.target {
            Target::Keys(ks) => {
                // `inject` examined every key: each is pooled or refused (one probe).
                for &k in ks.iter() {
                    if let Ok(pos) = p.pool.lookup(k) {
                        boost(pos);
                    }
                }
            }
            Target::Tagged(..) => {
                for &pos in applied.positions(b) {
                    boost(pos as usize);
                }
            }
            Target::Nothing => {}
        }
    }
    for (c, &(score, sum)) in p.pool.cands.iter_mut().zip(&scored) {
        c.score = score;
        c.boost = sum;
    }
    details
}

/// Pools the items the boosts name (in boost order, then rule order: the order the boosts
/// reach them, so every position is what boosting them one by one gives), then reads their
/// signals together ([`crate::candidates::Pool::fill_signals`]: a chunk's catalog rows miss
/// the cache together instead of one injection after another) and scores them.
fn inject(d: &Decision, f: &Filtered, p: &mut Pooled, applied: &eval::Applied) {
    let before = p.pool.len();
    for b in &applied.boosts {
        if let Target::Keys(ks) = &b.target {
            for &k in ks.iter() {
                // A key already examined (most are: pooled by a source, refused, or named
                // by an earlier boost) costs one probe, not an offer.
                if p.pool.lookup(k) == Err(false) {
                    p.pool.offer(d.snap, &f.keys, &f.filters, k);
                }
            }
        }
    }
    if p.pool.len() == before {
        return;
    }
    p.pool.fill_signals(d.snap, &p.maps, &p.weights, false);
}

/// Pins in priority order (blocks already excluded), within the pin budget, each rule's
/// `max_pins` and the caps; returns (pos, pin action index) and the caps' counts.
#[inline(never)] // a stage of its own in profiles (called a few times per request)
fn pins(
    d: &Decision,
    f: &Filtered,
    p: &mut Pooled,
    applied: &eval::Applied,
) -> (Vec<(usize, usize)>, CapCounts) {
    let (snap, spec) = (d.snap, d.spec);
    let mut counts = CapCounts::default();
    let mut pinned: Vec<(usize, usize)> = Vec::new();
    let mut budget = (d.cfg.limits.max_pins as usize).min(spec.k as usize);
    for (ai, pa) in applied.pins.iter().enumerate() {
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
                let mut ps: Vec<usize> = applied
                    .matches(*space, *t)
                    .iter()
                    .map(|&pos| pos as usize)
                    .collect();
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
