//! Hard filters, resolved before any candidate is looked at: `candidates.include_ids` as an
//! allow-list, exclusions (the request's and the call's own anchor), required and forbidden
//! tags, rule blocks (looked up by target per candidate through the request's rule
//! [`eval::Scope`]), and the caps selection honours.

use super::Decision;
use crate::candidates::{AllowSet, Filters, Keys};
use crate::ranking::SelectParams;
use crate::rules::eval;

/// The filters of one decision, with the request's ids interned as keys. The rule scope is
/// borrowed from [`super::run`], which owns it for the whole decision.
pub(crate) struct Filtered<'a> {
    pub keys: Keys<'a>,
    pub filters: Filters<'a>,
    /// The `candidates.include_ids` keys, in request order (the allow-list's source).
    pub include_keys: Vec<u32>,
    /// The request's rule scope (surface, segment, now), counting the rules it evaluates.
    pub scope: &'a eval::Scope<'a>,
    /// Rules are on for this request (engine switch and surface config).
    pub rules_on: bool,
    /// MMR, brand/category caps and `max_per_tag` (`n` is set by selection).
    pub params: SelectParams,
}

/// Resolves the filters and caps of a decision; rule blocks go through `scope` when rules
/// are on.
pub(crate) fn resolve<'a>(d: &Decision<'a>, scope: &'a eval::Scope<'a>) -> Filtered<'a> {
    let (snap, spec, cfg) = (d.snap, d.spec, d.cfg);
    let mut keys = Keys::new(snap);
    let mut f = Filters::default();
    f.exclude
        .reserve_exact(spec.exclude.len() + usize::from(spec.exclude_item.is_some()));
    // The spec looked the ids up in the catalog together; unknown ids get request-local keys.
    let mut include_keys = Vec::new();
    if !spec.include.is_empty() {
        include_keys = (spec.include.iter().zip(&spec.include_items))
            .map(|(id, &item)| keys.resolved(id, item))
            .collect();
        f.allow = Some(AllowSet::new(&include_keys));
    }
    // Interned even when unknown, so a rule naming the same id maps to the same key and the
    // exclusion still wins over its pin or boost.
    for (id, &item) in spec.exclude.iter().zip(&spec.exclude_items) {
        f.exclude.push(keys.resolved(id, item));
    }
    if let Some(id) = spec.exclude_item {
        f.exclude.push(keys.resolved(id, snap.items.get(id)));
    }
    f.exclude.sort_unstable();
    f.exclude.dedup();
    f.index_exclusions();
    let mut max_per_tag = Vec::new();
    if let Some(c) = spec.constraints {
        if !c.required_tags.is_empty() {
            let mut r: Vec<u32> = c
                .required_tags
                .iter()
                .filter_map(|t| snap.tags().get(t))
                .collect();
            r.sort_unstable();
            f.required = Some(r);
        }
        f.forbidden = c
            .forbidden_tags
            .iter()
            .filter_map(|t| snap.tags().get(t))
            .collect();
        f.forbidden.sort_unstable();
        max_per_tag = c
            .max_per_tag
            .iter()
            .filter(|(_, n)| *n > 0)
            .filter_map(|(t, n)| snap.tags().get(t).map(|i| (i, *n)))
            .collect();
        max_per_tag.sort_unstable();
    }
    let rules_on = d.opts.rules_enabled && cfg.rules_enabled;
    if rules_on {
        f.blocks = Some(scope);
    }
    let params = SelectParams {
        n: 0,
        lambda: cfg.diversity.mmr_lambda,
        brand_cap: cfg.diversity.brand_cap,
        category_cap: cfg.diversity.category_cap,
        max_per_tag,
    };
    Filtered {
        keys,
        filters: f,
        include_keys,
        scope,
        rules_on,
        params,
    }
}
