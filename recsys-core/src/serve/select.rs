//! Selection: the answer's positions, pinned items first, then up to `k` more picked from
//! the rest of the pool by score, MMR and the brand/category/tag caps.

use super::filters::Filtered;
use super::rules::Ruled;
use super::sources::Pooled;
use super::Decision;
use crate::ranking::{self, MmrInfo, SelectParams};
use std::cell::Cell;

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
    /// The positions are the pool's first ones in pool order, `0..outs.len()`
    /// ([`Selected::first`]): readers may walk the pool's candidates directly.
    pub first: bool,
}

/// The largest positions buffer a thread keeps for its next plain answer ([`Selected::first`]).
const SPARE_OUTS: usize = 64;

thread_local! {
    /// An emptied positions buffer of the thread's last answer, for the next
    /// [`Selected::first`] ([`Selected`]'s drop hands it back; at most [`SPARE_OUTS`]).
    static SPARE: Cell<Vec<Out>> = const { Cell::new(Vec::new()) };
}

impl Selected {
    /// The pool's first `n` positions in pool order, none pinned, no MMR figures or caps (a
    /// pool already in score order, plain top-k), in the thread's spare buffer when it has
    /// one: a malloc and a free fewer a request.
    pub(crate) fn first(n: usize) -> Selected {
        let mut outs = crate::spare::take(&SPARE);
        outs.extend((0..n).map(|pos| Out {
            pos,
            pinned_by: None,
        }));
        Selected {
            outs,
            mmr: Vec::new(),
            capped: 0,
            capped_by_tag: 0,
            first: true,
        }
    }

    /// MMR's figures of the answer's position `rank` (from 0), when MMR picked it.
    pub(crate) fn mmr_of(&self, rank: usize) -> Option<MmrInfo> {
        self.mmr.get(rank).copied().flatten()
    }
}

impl Drop for Selected {
    /// A small positions buffer, emptied, goes to the thread's next [`Selected::first`].
    fn drop(&mut self) {
        crate::spare::keep_small(&SPARE, std::mem::take(&mut self.outs), SPARE_OUTS);
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
        first: false,
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

    /// [`super::Selected::first`] holds positions 0..n, none pinned, and takes the buffer
    /// the thread's last dropped answer left when it held at most `SPARE_OUTS` positions
    /// (the same allocation, refilled from empty, grown when short); a larger one is freed.
    #[test]
    fn a_plain_answer_takes_the_last_small_positions_buffer() {
        use super::{Out, Selected, SPARE_OUTS};
        let plain = |s: &Selected, n: usize| {
            s.outs.len() == n
                && s.outs
                    .iter()
                    .enumerate()
                    .all(|(i, o)| o.pos == i && o.pinned_by.is_none())
                && s.mmr.is_empty()
                && (s.capped, s.capped_by_tag) == (0, 0)
        };
        let mut g = crate::tests::rng::Rng::new(0x5e1_ec7);
        let mut reused = 0;
        let mut last: Option<(*const Out, usize)> = None;
        for round in 0..2_000 {
            let most = if g.chance(100) { 200 } else { 40 };
            let n = g.index(most);
            let mut s = Selected::first(n);
            assert!(plain(&s, n) && s.first, "round {round}");
            if let Some((ptr, cap)) = last {
                if n <= cap {
                    assert_eq!(s.outs.as_ptr(), ptr, "round {round}");
                    reused += 1;
                }
            }
            if g.chance(100) {
                // An answer with a pin ahead: its buffer goes back as any other.
                s.outs.insert(
                    0,
                    Out {
                        pos: 7,
                        pinned_by: Some(0),
                    },
                );
                s.first = false;
            }
            let cap = s.outs.capacity();
            last = (1..=SPARE_OUTS)
                .contains(&cap)
                .then_some((s.outs.as_ptr(), cap));
            drop(s);
        }
        assert!(reused > 1_000, "{reused}");
    }
}
