//! The request resolved against the surface config: one [`Spec`] saying what to decide
//! (k, weights, anchors, candidate source, filters as the request wrote them), built from
//! a `recommend` or a `similar` request.

use super::request::{IdList, Resolved};
use crate::candidates::KeyTable;
use crate::config::{Algo, SurfaceConfig, Weights};
use crate::request::{Constraints, Options, RecommendRequest, SimilarRequest};
use crate::snapshot::{ItemIdx, TenantSnapshot};

/// Where candidates come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Algo(Algo),
    Similar,
}

/// One decision to make: everything the pipeline needs, from recommend or similar.
pub(crate) struct Spec<'r> {
    pub surface: &'r str,
    pub segment: &'r str,
    pub k: u32,
    pub source: Source,
    pub weights: Weights,
    pub weights_defaulted: bool,
    pub user_key: &'r str,
    pub anchors: Vec<ItemIdx>,
    /// The request's own `anchors.item_ids` (catalog items): seeds, never co-occurrence candidates.
    pub seeds: Vec<ItemIdx>,
    /// Whether the user key has an implicit or session row (history).
    pub has_history: bool,
    pub include: IdList<'r>,
    /// `include` resolved against the catalog (request order; `None`: the catalog does not
    /// know the id), looked up together with [`Interner::get_many`](crate::snapshot::Interner::get_many).
    pub include_items: Vec<Option<ItemIdx>>,
    pub exclude: IdList<'r>,
    /// `exclude` resolved as `include` is.
    pub exclude_items: Vec<Option<ItemIdx>>,
    /// Extra keys excluded by the call itself (the anchor of `similar`).
    pub exclude_item: Option<&'r str>,
    pub constraints: Option<&'r Constraints>,
    pub options: &'r Options,
}

pub(crate) fn resolve_weights(req: Option<Weights>, cfg: &SurfaceConfig) -> (Weights, bool) {
    let mut w = match (req, cfg.weights) {
        (Some(r), _) => r,
        (None, Some(c)) => c,
        (None, None) => {
            return (
                match cfg.algo {
                    Algo::Cooc => Weights {
                        pop: 0.0,
                        cooc: 1.0,
                        emb: 0.0,
                    },
                    Algo::Implicit => Weights {
                        pop: 0.0,
                        cooc: 0.0,
                        emb: 1.0,
                    },
                    Algo::Blend | Algo::Popularity => Weights::POPULARITY_ONLY,
                },
                true,
            )
        }
    };
    for x in [&mut w.pop, &mut w.cooc, &mut w.emb] {
        if !(x.is_finite() && *x > 0.0) {
            *x = 0.0;
        }
    }
    if w.is_zero() {
        w = Weights::POPULARITY_ONLY;
    }
    (w, false)
}

/// The first `max` distinct items of `items` (`at_most` of them), in order (an anchor named
/// twice, or both as an anchor and in `include_ids`, counts once): a probe of a small key
/// table each, not a scan of the anchors kept so far; both sized once.
fn first_distinct(
    items: impl Iterator<Item = ItemIdx>,
    max: usize,
    at_most: usize,
) -> Vec<ItemIdx> {
    let cap = max.min(at_most);
    let mut out = Vec::with_capacity(cap);
    // An empty table allocates nothing (a request without anchors or include ids).
    let mut seen: KeyTable<()> = match cap {
        0 => KeyTable::default(),
        _ => KeyTable::with_capacity(cap),
    };
    for i in items {
        if out.len() >= max {
            break;
        }
        if seen.entry(i).1 {
            out.push(i);
        }
    }
    out
}

impl<'r> Spec<'r> {
    pub(crate) fn for_recommend(
        snap: &TenantSnapshot,
        cfg: &SurfaceConfig,
        req: &'r Resolved<'_, RecommendRequest>,
    ) -> Spec<'r> {
        let (weights, weights_defaulted) = resolve_weights(req.weights, cfg);
        // Anchors: request anchors, then include ids (catalog items only), capped; else the
        // user's strongest implicit items as history.
        let max = cfg.limits.max_anchors;
        let explicit = req
            .anchors
            .as_ref()
            .map(|(ids, _)| ids.as_slice())
            .unwrap_or(&[]);
        let seeds: Vec<ItemIdx> = IdList::Owned(explicit)
            .lookup(snap)
            .into_iter()
            .flatten()
            .collect();
        let (include, include_items) = req.include_ids().resolved(snap);
        let (exclude, exclude_items) = req.exclude_ids().resolved(snap);
        let mut anchors = first_distinct(
            seeds.iter().chain(include_items.iter().flatten()).copied(),
            max,
            seeds.len() + include_items.len(),
        );
        let user_key = req.user.key();
        let has_history = !user_key.is_empty()
            && (snap.implicit.contains_key(user_key) || snap.session.contains_key(user_key));
        if anchors.is_empty() && !user_key.is_empty() && cfg.signals.history_anchors {
            if let Some(row) = snap.implicit.get(user_key) {
                anchors.extend(row.iter().take(10).map(|(i, _)| *i));
            }
        }
        Spec {
            surface: &req.surface,
            segment: &req.segment,
            k: req.k,
            source: Source::Algo(cfg.algo),
            weights,
            weights_defaulted,
            user_key,
            anchors,
            seeds,
            has_history,
            include,
            include_items,
            exclude,
            exclude_items,
            exclude_item: None,
            constraints: req.constraints.as_ref(),
            options: &req.options,
        }
    }

    pub(crate) fn for_similar(
        snap: &TenantSnapshot,
        cfg: &SurfaceConfig,
        req: &'r Resolved<'_, SimilarRequest>,
    ) -> Spec<'r> {
        let (include, include_items) = req.include_ids().resolved(snap);
        let (exclude, exclude_items) = req.exclude_ids().resolved(snap);
        let weights = match cfg.weights {
            Some(w) if w.cooc > 0.0 || w.emb > 0.0 => Weights {
                pop: 0.0,
                cooc: w.cooc,
                emb: w.emb,
            },
            _ => Weights {
                pop: 0.0,
                cooc: 1.0,
                emb: 1.0,
            },
        };
        Spec {
            surface: &req.surface,
            segment: &req.segment,
            k: req.k,
            source: Source::Similar,
            weights,
            weights_defaulted: false,
            user_key: "",
            anchors: snap.items.get(&req.item_id).into_iter().collect(),
            seeds: snap.items.get(&req.item_id).into_iter().collect(),
            has_history: false,
            include,
            include_items,
            exclude,
            exclude_items,
            exclude_item: Some(&req.item_id),
            constraints: req.constraints.as_ref(),
            options: &req.options,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::first_distinct;
    use crate::tests::rng::Rng;

    /// The anchors kept are those a scan of the anchors so far keeps: each item's first
    /// occurrence, in order, at most `max` (random lists with many repeats, every cap).
    #[test]
    fn first_distinct_keeps_first_occurrences_in_order() {
        let mut rng = Rng::new(7);
        for round in 0..2000 {
            let len = rng.below(300) as usize;
            let span = 1 + rng.below(if round % 2 == 0 { 20 } else { 1 << 32 });
            let items: Vec<u32> = (0..len).map(|_| rng.below(span) as u32).collect();
            let max = rng.below(len as u64 + 5) as usize;
            let mut want: Vec<u32> = Vec::new();
            for &i in &items {
                if want.len() >= max {
                    break;
                }
                if !want.contains(&i) {
                    want.push(i);
                }
            }
            assert_eq!(
                first_distinct(items.iter().copied(), max, items.len()),
                want,
                "{items:?}"
            );
        }
    }
}
