//! The candidate pool: which signal sources feed it (popularity, co-occurrence neighbours
//! of the anchors, the user's implicit and session rows, content neighbours per anchor tag,
//! or only `candidates.include_ids`; each source switchable in `signals.*`), how many each
//! may offer (the `limits` budgets, and `limits.max_pool` over all sources), and the blended
//! score of every candidate that passed the hard filters.

use super::filters::Filtered;
use super::spec::{Source, Spec};
use super::Decision;
use crate::candidates::{Budgets, Filters, Keys, Pool, SignalMaps, SignalUse};
use crate::config::{Algo, SignalSwitches, Weights};
use crate::snapshot::TenantSnapshot;

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
    /// The signal sources actually used (the weights' needs and the `signals` switches).
    pub used: SignalUse,
}

impl Drop for Pooled {
    /// A small pool's buffer goes to the thread's next popularity walk.
    fn drop(&mut self) {
        self.pool.give_back();
    }
}

/// Offers candidates from one source to the pool through the hard filters.
struct Offer<'x, 'a> {
    snap: &'x TenantSnapshot,
    keys: &'x Keys<'a>,
    filters: &'x Filters<'x>,
    maps: &'x SignalMaps,
    spec: &'x Spec<'x>,
    switches: SignalSwitches,
    used: SignalUse,
    budgets: Budgets,
}

impl Offer<'_, '_> {
    #[inline(always)]
    fn one(&self, pool: &mut Pool, k: u32) -> bool {
        pool.offer_inlined(self.snap, self.keys, self.filters, k)
    }

    /// Most popular first, until `fanout` candidates were taken.
    #[inline(never)] // a stage of its own in profiles (called a few times per request)
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

    /// The anchors' co-occurrence neighbours (`limits.cooc_per_anchor` of each), strongest
    /// first; none when `signals.cooc_candidates` is off.
    #[inline(never)] // a stage of its own in profiles (called a few times per request)
    fn cooc(&self, pool: &mut Pool) {
        if !self.switches.cooc_candidates {
            return;
        }
        let (spec, per_anchor) = (self.spec, self.budgets.cooc_per_anchor);
        for k in self
            .maps
            .cooc_candidates(self.snap, &spec.anchors, &spec.seeds, per_anchor)
        {
            self.one(pool, k);
        }
    }

    /// The user's implicit and session rows, then content neighbours per anchor tag.
    #[inline(never)] // a stage of its own in profiles (called a few times per request)
    fn similarity(&self, pool: &mut Pool) {
        let (snap, spec) = (self.snap, self.spec);
        if !spec.user_key.is_empty() {
            for row in [
                snap.implicit
                    .get(spec.user_key)
                    .filter(|_| self.used.collaborative),
                snap.session
                    .get(spec.user_key)
                    .filter(|_| self.used.session),
            ]
            .into_iter()
            .flatten()
            {
                for &(k, _) in row.iter() {
                    self.one(pool, k);
                }
            }
        }
        pool.offer_content(snap, self.keys, self.filters, self.maps, &self.budgets);
    }

    /// The user's implicit row (the `implicit` algorithm), unless `signals.collaborative`
    /// is off.
    fn implicit(&self, pool: &mut Pool) {
        let row = self.snap.implicit.get(self.spec.user_key);
        if let Some(row) = row.filter(|_| self.switches.collaborative) {
            for &(k, _) in row.iter() {
                self.one(pool, k);
            }
        }
    }
}

/// Fills and scores the candidate pool of a decision.
#[inline(never)] // a stage of its own in profiles (called a few times per request)
pub(crate) fn gather(d: &Decision, f: &Filtered) -> Pooled {
    let (snap, spec, cfg) = (d.snap, d.spec, d.cfg);
    let use_cooc = spec.weights.cooc > 0.0 || spec.source == Source::Algo(Algo::Cooc);
    let use_sim = spec.weights.emb > 0.0 || spec.source == Source::Algo(Algo::Implicit);
    let sw = cfg.signals;
    let used = SignalUse {
        cooc: use_cooc,
        collaborative: use_sim && sw.collaborative,
        content: use_sim && sw.content,
        session: use_sim && sw.session,
    };
    let maps = SignalMaps::build(
        snap,
        &spec.anchors,
        spec.user_key,
        used,
        f.filters.allow.as_ref(),
    );
    let need = spec.k as usize + cfg.limits.max_pins as usize;
    let pop_weights = spec.weights.cooc == 0.0 && spec.weights.emb == 0.0;
    // Some boost or pin applies (asked of popularity-only weights alone: it counts the
    // rules it evaluates).
    let rules_act = pop_weights && f.rules_on && f.scope.any_action();
    let exact_pop = pop_weights && !rules_act && !f.params.greedy();
    let fanout = if exact_pop {
        need
    } else {
        need.max(cfg.limits.popularity_fanout as usize)
    };
    // Sized for what the sources may offer (bounded by the pool cap), so the pool is not
    // copied as it grows; rule injections may still add to it.
    let budgets = Budgets::of(&cfg.limits);
    let mut expect = fanout;
    if use_cooc {
        expect += spec.anchors.len().saturating_mul(budgets.cooc_per_anchor);
    }
    if use_sim {
        expect = expect.saturating_add(budgets.content_total);
    }
    if let Some(allow) = &f.filters.allow {
        // An allow-list is the whole offer: a pool sized for the sources would only be
        // zeroed (a 200-id allow-list zeroed a table for 8,192 keys per request).
        expect = allow.len();
    }
    // The popularity walk alone makes the pool and no rule injects into it or looks it up:
    // the pool needs no index ([`Pool::for_walk`]).
    let alone = spec.source == Source::Algo(Algo::Popularity)
        && f.filters.allow.is_none()
        && pop_weights
        && !rules_act
        && super::popwalk::enabled();
    let mut pool = if alone {
        Pool::for_walk(expect.min(8192), cfg.limits.max_pool as usize)
    } else {
        Pool::with_capacity(expect.min(8192), cfg.limits.max_pool as usize)
    };
    let mut fell_back_to_pop = false;
    let offer = Offer {
        snap,
        keys: &f.keys,
        filters: &f.filters,
        maps: &maps,
        spec,
        switches: sw,
        used,
        budgets,
    };
    // With tag rules on, the candidates' targeted tags are read from the tag rows the
    // signals read (the rules' resolution scans the pool's tags next).
    let tag_rules = f.rules_on && snap.rule_index.targets_tags();
    // The popularity source first, scored as walked when nothing but popularity is read
    // (the sources that do not fall back: their weights are the request's).
    let walk =
        |pool: &mut Pool| super::popwalk::pool(d, f, pool, &maps, &spec.weights, fanout, tag_rules);
    if f.filters.allow.is_some() {
        // The list's own keys: the allow check would only find each in the set.
        for &k in &f.include_keys {
            pool.offer_listed(snap, &f.keys, &f.filters, k);
        }
    } else {
        match spec.source {
            Source::Algo(Algo::Popularity) => {
                if !walk(&mut pool) {
                    offer.popularity(&mut pool, fanout);
                }
            }
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
                if !walk(&mut pool) {
                    offer.popularity(&mut pool, fanout);
                }
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
    // Whatever the sources pooled unscored (none after a walk alone).
    pool.fill_signals(snap, &maps, &weights, tag_rules);
    // Rule injections (pins, boosted items) come on top of the sources' cap (none into a
    // walk alone).
    if !alone {
        pool.lift_cap();
    }
    Pooled {
        pool,
        maps,
        weights,
        fell_back_to_pop,
        use_cooc,
        used,
    }
}
