//! The candidate pool: which signal sources feed it (popularity, co-occurrence neighbours
//! of the anchors, the user's implicit and session rows, content neighbours per anchor tag,
//! or only `candidates.include_ids`), how many each may offer, and the blended score of
//! every candidate that passed the hard filters.

use super::filters::Filtered;
use super::spec::{Source, Spec};
use super::Decision;
use crate::candidates::{Filters, Keys, Pool, SignalMaps};
use crate::config::{Algo, Weights};
use crate::ranking;
use crate::snapshot::TenantSnapshot;

/// Content candidates per anchor tag (most popular items sharing the tag).
const CONTENT_PER_TAG: usize = 200;

/// The scored candidate pool of one decision.
pub(crate) struct Pooled {
    pub pool: Pool,
    pub maps: SignalMaps,
    /// The weights scores were blended with (popularity-only when a co-occurrence or
    /// implicit request fell back to popularity with default weights).
    pub weights: Weights,
    /// An empty co-occurrence or implicit pool fell back to popularity.
    pub fell_back_to_pop: bool,
    /// The co-occurrence signal takes part.
    pub use_cooc: bool,
    /// The similarity signals (implicit, content, session) take part.
    pub use_sim: bool,
}

/// Offers candidates from one source to the pool through the hard filters.
struct Offer<'x, 'a> {
    snap: &'x TenantSnapshot,
    keys: &'x Keys<'a>,
    filters: &'x Filters,
    maps: &'x SignalMaps,
    spec: &'x Spec<'x>,
}

impl Offer<'_, '_> {
    fn one(&self, pool: &mut Pool, k: u32) -> bool {
        pool.offer(self.snap, self.keys, self.filters, self.maps, k)
    }

    /// Most popular first, until `fanout` candidates were taken.
    fn popularity(&self, pool: &mut Pool, fanout: usize) {
        let mut taken = 0usize;
        for &i in &self.snap.pop_order {
            if taken >= fanout {
                break;
            }
            if self.one(pool, i) {
                taken += 1;
            }
        }
    }

    /// The anchors' co-occurrence neighbours, strongest first.
    fn cooc(&self, pool: &mut Pool) {
        let mut v: Vec<(u32, f64)> = self.maps.cooc.iter().map(|(k, c)| (*k, *c)).collect();
        v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (k, _) in v {
            // Explicit request anchors are the seeds, not co-occurrence candidates.
            if !self.spec.seeds.contains(&k) {
                self.one(pool, k);
            }
        }
    }

    /// The user's implicit and session rows, then content neighbours per anchor tag.
    fn similarity(&self, pool: &mut Pool) {
        let (snap, spec) = (self.snap, self.spec);
        if !spec.user_key.is_empty() {
            for row in [
                snap.implicit.get(spec.user_key),
                snap.session.get(spec.user_key),
            ]
            .into_iter()
            .flatten()
            {
                for &(k, _) in row.iter() {
                    self.one(pool, k);
                }
            }
        }
        for &t in &self.maps.anchor_tags {
            if let Some(p) = snap.tag_index.postings(t) {
                let mut taken = 0;
                for &k in p.iter() {
                    if taken >= CONTENT_PER_TAG {
                        break;
                    }
                    if spec.anchors.contains(&k) {
                        continue;
                    }
                    if self.one(pool, k) {
                        taken += 1;
                    }
                }
            }
        }
    }

    /// The user's implicit row (the `implicit` algorithm).
    fn implicit(&self, pool: &mut Pool) {
        if let Some(row) = self.snap.implicit.get(self.spec.user_key) {
            for &(k, _) in row.iter() {
                self.one(pool, k);
            }
        }
    }
}

/// Fills and scores the candidate pool of a decision.
pub(crate) fn gather(d: &Decision, f: &Filtered) -> Pooled {
    let (snap, spec, cfg) = (d.snap, d.spec, d.cfg);
    let use_cooc = spec.weights.cooc > 0.0 || spec.source == Source::Algo(Algo::Cooc);
    let use_sim = spec.weights.emb > 0.0 || spec.source == Source::Algo(Algo::Implicit);
    let maps = SignalMaps::build(snap, &spec.anchors, spec.user_key, use_cooc, use_sim);
    let need = spec.k as usize + cfg.limits.max_pins as usize;
    let exact_pop = spec.weights.cooc == 0.0
        && spec.weights.emb == 0.0
        && f.applied.boosts.is_empty()
        && f.applied.pins.is_empty()
        && !f.params.greedy();
    let fanout = if exact_pop {
        need
    } else {
        need.max(cfg.limits.popularity_fanout as usize)
    };
    let mut pool = Pool::with_capacity(fanout.min(4096));
    let mut fell_back_to_pop = false;
    let offer = Offer {
        snap,
        keys: &f.keys,
        filters: &f.filters,
        maps: &maps,
        spec,
    };
    if f.filters.allow.is_some() {
        for id in spec.include {
            if let Some(k) = f.keys.lookup(snap, id) {
                offer.one(&mut pool, k);
            }
        }
    } else {
        match spec.source {
            Source::Algo(Algo::Popularity) => offer.popularity(&mut pool, fanout),
            Source::Algo(Algo::Cooc) | Source::Algo(Algo::Implicit) => {
                if spec.source == Source::Algo(Algo::Cooc) {
                    offer.cooc(&mut pool);
                } else {
                    offer.implicit(&mut pool);
                }
                if pool.is_empty() {
                    fell_back_to_pop = true;
                    offer.popularity(&mut pool, fanout);
                }
            }
            Source::Algo(Algo::Blend) => {
                offer.popularity(&mut pool, fanout);
                if use_cooc {
                    offer.cooc(&mut pool);
                }
                if use_sim {
                    offer.similarity(&mut pool);
                }
            }
            Source::Similar => {
                offer.cooc(&mut pool);
                offer.similarity(&mut pool);
            }
        }
    }
    let weights = if fell_back_to_pop && spec.weights_defaulted {
        Weights::POPULARITY_ONLY
    } else {
        spec.weights
    };
    for c in &mut pool.cands {
        c.score = ranking::blend(&weights, &c.raw).score;
    }
    Pooled {
        pool,
        maps,
        weights,
        fell_back_to_pop,
        use_cooc,
        use_sim,
    }
}
