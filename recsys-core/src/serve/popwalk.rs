//! The popularity walk: the shortcut of a popularity-only decision (shapes A and B: no
//! anchors, no user signal, no rule acting on the pool, no MMR or caps), taken in two places
//! of the pipeline and each time only under an exact condition, otherwise the general stage
//! runs:
//!
//! - [`pool`] (from [`super::sources`]): the snapshot's popularity order is offered and each
//!   pooled candidate scored as it is pooled, when the request's signal maps read nothing
//!   but popularity (the general path offers every item, then reads every candidate's five
//!   signals a chunk at a time and blends them);
//! - [`ranked`] (from [`super::select`]): a pool born in score order (score descending, item
//!   id ascending, as the popularity order usually gives it) answers its first `k` positions
//!   without collecting, packing and sorting them, when no item is pinned and selection is
//!   plain top-k (no MMR, no caps).
//!
//! Both give what the general stages give, bit for bit (held to them by
//! `popwalk_tests::walked_answers_equal_the_general_pipelines`).

use super::filters::Filtered;
use super::rules::Ruled;
use super::select::Selected;
use super::sources::Pooled;
use super::Decision;
use crate::candidates::{Cand, Keys, Pool, SignalMaps};
use crate::config::Weights;
use crate::ranking;

#[cfg(test)]
thread_local! {
    /// Test switch: the walk is never taken on this thread (the general stages' answers,
    /// for the differential test), and how often each part was taken.
    pub(crate) static WALK: std::cell::Cell<(bool, usize, usize)> =
        const { std::cell::Cell::new((true, 0, 0)) };
}

/// Whether the walk may be taken (always outside tests).
#[inline(always)]
pub(crate) fn enabled() -> bool {
    #[cfg(test)]
    if !WALK.get().0 {
        return false;
    }
    true
}

/// Pools the popularity source's candidates by walking the popularity order, each scored
/// with `w` as it is pooled ([`Pool::walk_popular`]), when `maps` read no signal but
/// popularity and no tag is recorded (`tag_rules` false); false when it pooled nothing and
/// the caller must offer and fill as usual.
#[inline]
pub(crate) fn pool(
    d: &Decision,
    f: &Filtered,
    pool: &mut Pool,
    maps: &SignalMaps,
    w: &Weights,
    fanout: usize,
    tag_rules: bool,
) -> bool {
    if !enabled() {
        return false;
    }
    // The installed snapshot's memo of the first popular items' scores, when it blended
    // them under these weights.
    let known = d.pre.map_or(&[][..], |pre| pre.scores.popular_under(w));
    let walked = pool.walk_popular(
        d.snap, &f.keys, &f.filters, maps, w, fanout, tag_rules, known,
    );
    #[cfg(test)]
    if walked {
        WALK.set({
            let (on, p, r) = WALK.get();
            (on, p + 1, r)
        });
    }
    walked
}

/// The answer's positions when the pool is already in score order, nothing is pinned and
/// selection is plain top-`k` (no MMR, no caps): the first `k` positions, as
/// [`ranking::select`] would pick them after sorting; `None` otherwise.
#[inline]
pub(crate) fn ranked(d: &Decision, f: &Filtered, p: &Pooled, r: &Ruled) -> Option<Selected> {
    let cands = &p.pool.cands;
    if !enabled()
        || !r.pinned.is_empty()
        || f.params.greedy()
        || !(strictly_by_score(&f.keys, cands) || ranking::in_score_order(&f.keys, cands))
    {
        return None;
    }
    #[cfg(test)]
    WALK.set({
        let (on, p, r) = WALK.get();
        (on, p, r + 1)
    });
    Some(Selected::first((d.spec.k as usize).min(cands.len())))
}

/// Whether every candidate is a catalog item and each score is strictly below the one
/// before (the first below +infinity): then they are in [`ranking::in_score_order`]'s order
/// (a strictly greater float is earlier there), found with one compare a candidate where
/// that check also orders equal floats by key. False says nothing: the caller asks
/// [`ranking::in_score_order`] then.
#[inline]
fn strictly_by_score(keys: &Keys, cands: &[Cand]) -> bool {
    let catalog = keys.catalog;
    let mut above = f64::INFINITY;
    for c in cands {
        // NaN fails the compare.
        if c.key < catalog && c.score < above {
            above = c.score;
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
#[path = "popwalk_tests.rs"]
mod tests;
