//! The request resolved against the surface config: one [`Spec`] saying what to decide
//! (k, weights, anchors, candidate source, filters as the request wrote them), built from
//! a `recommend` or a `similar` request.

use super::request::{IdList, Resolved};
use crate::candidates::KeyTable;
use crate::config::{Algo, SurfaceConfig, Weights};
use crate::request::{Constraints, Options, RecommendRequest, SimilarRequest};
use crate::snapshot::{ItemIdx, TenantSnapshot};
use std::collections::HashMap;
use std::hash::BuildHasher;

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

/// What [`Spec::recommend`] reads of a `recommend` request, borrowed: from a resolved request
/// ([`RecommendParts::of`]) or from one read straight from the call's text
/// (`DirectRequest::parts`), which then needs no `RecommendRequest` at all.
pub(crate) struct RecommendParts<'r> {
    pub surface: &'r str,
    pub segment: &'r str,
    pub k: u32,
    /// [`crate::request::User::key`].
    pub user_key: &'r str,
    /// The request's own weights (they override the config's).
    pub weights: Option<Weights>,
    /// `anchors.item_ids`.
    pub anchors: &'r [String],
    pub include: IdList<'r>,
    pub exclude: IdList<'r>,
    pub constraints: Option<&'r Constraints>,
    pub options: &'r Options,
}

impl<'r> RecommendParts<'r> {
    /// The parts of a resolved request.
    pub(crate) fn of(req: &'r Resolved<'_, RecommendRequest>) -> RecommendParts<'r> {
        RecommendParts {
            surface: &req.surface,
            segment: &req.segment,
            k: req.k,
            user_key: req.user.key(),
            weights: req.weights,
            anchors: req.anchors.as_ref().map_or(&[], |(ids, _)| ids.as_slice()),
            include: req.include_ids(),
            exclude: req.exclude_ids(),
            constraints: req.constraints.as_ref(),
            options: &req.options,
        }
    }
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
        Spec::recommend(snap, cfg, RecommendParts::of(req))
    }

    /// The spec of a `recommend` request's parts (typed, decoded or read directly).
    pub(crate) fn recommend(
        snap: &TenantSnapshot,
        cfg: &SurfaceConfig,
        req: RecommendParts<'r>,
    ) -> Spec<'r> {
        let (weights, weights_defaulted) = resolve_weights(req.weights, cfg);
        // Anchors: request anchors, then include ids (catalog items only), capped; else the
        // user's strongest implicit items as history.
        let max = cfg.limits.max_anchors;
        let seeds: Vec<ItemIdx> = match req.anchors {
            // No lookup (and no allocation) for a request without anchors.
            [] => Vec::new(),
            explicit => IdList::Owned(explicit)
                .lookup(snap)
                .into_iter()
                .flatten()
                .collect(),
        };
        let (include, include_items) = req.include.resolved(snap);
        let (exclude, exclude_items) = req.exclude.resolved(snap);
        let mut anchors = first_distinct(
            seeds.iter().chain(include_items.iter().flatten()).copied(),
            max,
            seeds.len() + include_items.len(),
        );
        let user_key = req.user_key;
        let (implicit, has_history) = history(&snap.implicit, &snap.session, user_key);
        if anchors.is_empty() && cfg.signals.history_anchors {
            if let Some(row) = implicit {
                anchors.extend(row.iter().take(10).map(|(i, _)| *i));
            }
        }
        Spec {
            surface: req.surface,
            segment: req.segment,
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
            constraints: req.constraints,
            options: req.options,
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

/// A snapshot's rows by user key (`UserRows`), over any hasher (tests use the standard one).
type UserRows<S> = HashMap<Box<str>, Box<[(ItemIdx, f64)]>, S>;

/// The user's implicit row and whether the user has history (an implicit or a session row;
/// an empty key has none): the implicit rows probed once, since their row is also where
/// history anchors come from (a probe hashes the key: ~100 instructions a call).
fn history<'s, S: BuildHasher>(
    implicit: &'s UserRows<S>,
    session: &UserRows<S>,
    user_key: &str,
) -> (Option<&'s [(ItemIdx, f64)]>, bool) {
    if user_key.is_empty() {
        return (None, false);
    }
    let row = implicit.get(user_key).map(|r| &**r);
    let has_history = row.is_some() || session.contains_key(user_key);
    (row, has_history)
}

#[cfg(test)]
mod tests {
    use super::{first_distinct, history};
    use crate::tests::rng::Rng;
    use std::collections::HashMap;

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

    /// The implicit row and the history flag are those of a probe of each map apart: the
    /// row the user's implicit one, history when either map holds the user, none for an
    /// empty key (random maps over a few keys, some in one map only, some in both).
    #[test]
    fn history_is_each_map_probed_apart() {
        let mut rng = Rng::new(11);
        let keys = ["", "u1", "u2", "anon-1", "s-9", "x"];
        for _ in 0..500 {
            let (mut implicit, mut session) = (HashMap::new(), HashMap::new());
            for (n, k) in keys.iter().enumerate() {
                let row: Box<[(u32, f64)]> = vec![(n as u32, 1.0); 1 + n].into();
                if rng.chance(500) {
                    implicit.insert(Box::<str>::from(*k), row.clone());
                }
                if rng.chance(500) {
                    session.insert(Box::<str>::from(*k), row);
                }
            }
            for k in keys {
                let (row, has) = history(&implicit, &session, k);
                let want_row = (!k.is_empty()).then(|| implicit.get(k)).flatten();
                assert_eq!(row, want_row.map(|r| &**r), "{k:?}");
                let want_has =
                    !k.is_empty() && (implicit.contains_key(k) || session.contains_key(k));
                assert_eq!(has, want_has, "{k:?}");
            }
        }
    }
}
