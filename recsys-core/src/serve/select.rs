//! Selection: the answer's positions, pinned items first, then up to `k` more picked from
//! the rest of the pool by score, MMR and the brand/category/tag caps.

use super::filters::Filtered;
use super::rules::Ruled;
use super::sources::Pooled;
use super::Decision;
use crate::ranking::{self, MmrInfo, SelectParams};

/// One answer position (24 bytes: a top-20 answer's positions stay within the allocator's
/// small-block cache, glibc's tcache up to ~1 KiB; MMR's figures are kept apart, in
/// [`Selected::mmr`]).
pub(crate) struct Out {
    /// Position in the pool.
    pub pos: usize,
    /// The pin action that placed it (an index of the applied pins).
    pub pinned_by: Option<usize>,
}

/// The selected positions, in answer order, and what the caps held back.
pub(crate) struct Selected {
    pub outs: Vec<Out>,
    /// MMR's figures of each position, in answer order; empty when MMR picked none.
    pub mmr: Vec<Option<MmrInfo>>,
    /// Candidates skipped because a cap was full.
    pub capped: usize,
    /// Of `capped`: held back by a request `max_per_tag` cap.
    pub capped_by_tag: usize,
}

impl Selected {
    /// MMR's figures of the answer's position `rank` (from 0), when MMR picked it.
    pub(crate) fn mmr_of(&self, rank: usize) -> Option<MmrInfo> {
        self.mmr.get(rank).copied().flatten()
    }
}

/// Selects the answer: pins, then the ranked (and diversified) rest.
#[inline(never)] // a stage of its own in profiles (called a few times per request)
pub(crate) fn select(d: &Decision, f: &Filtered, p: &Pooled, r: &mut Ruled) -> Selected {
    if let Some(sel) = super::popwalk::ranked(d, f, p, r) {
        return sel;
    }
    let pinned = &r.pinned;
    let is_pinned = |pos: usize| pinned.iter().any(|(q, _)| *q == pos);
    // Sized once: a filtered range collects through three or four reallocations.
    let mut eligible: Vec<usize> = Vec::with_capacity(p.pool.len());
    if pinned.is_empty() {
        // Every position (a range extends in one pass, not a push per position).
        eligible.extend(0..p.pool.len());
    } else {
        eligible.extend((0..p.pool.len()).filter(|pos| !is_pinned(*pos)));
    }
    let params = SelectParams {
        n: (d.spec.k as usize).saturating_sub(pinned.len()),
        lambda: f.params.lambda,
        brand_cap: f.params.brand_cap,
        category_cap: f.params.category_cap,
        max_per_tag: f.params.max_per_tag.clone(),
    };
    let sel = ranking::select(
        d.snap,
        &f.keys,
        &p.pool.cands,
        eligible,
        &params,
        &mut r.counts,
    );
    // One allocation for pins and picks.
    let mut outs: Vec<Out> = Vec::with_capacity(pinned.len() + sel.picked.len());
    outs.extend(pinned.iter().map(|&(pos, ai)| Out {
        pos,
        pinned_by: Some(ai),
    }));
    outs.extend(sel.picked.iter().map(|&(pos, _)| Out {
        pos,
        pinned_by: None,
    }));
    let mut mmr = Vec::new();
    if sel.picked.iter().any(|(_, mi)| mi.is_some()) {
        mmr.reserve_exact(outs.len());
        mmr.extend(pinned.iter().map(|_| None));
        mmr.extend(sel.picked.iter().map(|&(_, mi)| mi));
    }
    Selected {
        outs,
        mmr,
        capped: sel.capped,
        capped_by_tag: sel.capped_by_tag,
    }
}

#[cfg(test)]
mod tests {
    /// A top-20 answer's positions (20 × 24 bytes) stay within glibc's tcache (requests up to
    /// 1,032 bytes): positions past 24 bytes would put their malloc and free on the slow path.
    #[test]
    fn an_answer_position_is_24_bytes() {
        assert_eq!(std::mem::size_of::<super::Out>(), 24);
    }
}
