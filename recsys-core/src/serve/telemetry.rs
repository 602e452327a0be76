//! Rule telemetry (the `rule_telemetry` option): what each applicable rule did for this
//! request (fired, displaced an item, was blocked, did nothing), counted by the engine and
//! listed in `meta.rules` of `explain: full`.

use super::answer::RuleReport;
use super::filters::Filtered;
use super::rules::Ruled;
use super::select::Selected;
use super::sources::Pooled;
use super::Decision;
use crate::candidates::Keys;
use crate::ops::rule_stats::RuleOutcome;
use crate::request::Explain;
use crate::rules::eval::{self, Target};
use crate::rules::Rule;
use crate::snapshot::TenantSnapshot;

/// Appends each applicable rule's outcome to `outcomes` when telemetry is on, and answers
/// the `meta.rules` list when the request asked for `explain: full`.
pub(crate) fn outcomes(
    d: &Decision,
    f: &Filtered,
    p: &Pooled,
    r: &Ruled,
    s: &Selected,
    outcomes: &mut Vec<(String, RuleOutcome)>,
) -> Option<Vec<RuleReport>> {
    if !d.opts.rule_telemetry {
        return None;
    }
    let returned: Vec<usize> = s.outs.iter().map(|o| o.pos).collect();
    let list = rule_outcomes(
        d.snap,
        &f.keys,
        &r.applied,
        &p.pool,
        &r.pinned,
        &r.boost_details,
        &returned,
    );
    outcomes.extend(list.iter().map(|(r, o)| (r.id.to_string(), *o)));
    (d.spec.options.explain == Explain::Full).then(|| reports(&list))
}

/// Whether candidate `k` is one of a rule target's items.
fn target_has(snap: &TenantSnapshot, keys: &Keys, t: &Target, k: u32) -> bool {
    match t {
        Target::Keys(ks) => ks.contains(&k),
        Target::Tagged(space, tag) => keys.tags(snap, k).is_some_and(|x| {
            let list = match space {
                0 => &x.all,
                1 => &x.brands,
                _ => &x.categories,
            };
            list.binary_search(tag).is_ok()
        }),
        Target::Nothing => false,
    }
}

/// What each applicable rule did for this request (see [`RuleOutcome`]), in evaluation
/// order: blocks, then boosts, then pins.
fn rule_outcomes<'s>(
    snap: &TenantSnapshot,
    keys: &Keys,
    applied: &eval::Applied<'s>,
    pool: &crate::candidates::Pool,
    pinned: &[(usize, usize)],
    boost_details: &[(usize, usize, f64)],
    returned: &[usize],
) -> Vec<(&'s Rule, RuleOutcome)> {
    let blocked_target = |t: &Target| pool.blocked.iter().any(|&k| target_has(snap, keys, t, k));
    let mut out = Vec::new();
    for (rule, t) in applied.block_rules.iter().zip(&applied.block_targets) {
        let hit = blocked_target(t);
        out.push((
            *rule,
            if hit {
                RuleOutcome::Fired
            } else {
                RuleOutcome::Noop
            },
        ));
    }
    for (ai, b) in applied.boosts.iter().enumerate() {
        let touched: Vec<usize> = boost_details
            .iter()
            .filter(|(_, a, _)| *a == ai)
            .map(|(p, _, _)| *p)
            .collect();
        let o = if touched.iter().any(|p| returned.contains(p)) {
            RuleOutcome::Displaced
        } else if !touched.is_empty() {
            RuleOutcome::Fired
        } else if blocked_target(&b.target) {
            RuleOutcome::Blocked
        } else {
            RuleOutcome::Noop
        };
        out.push((b.rule, o));
    }
    for (ai, p) in applied.pins.iter().enumerate() {
        let o = if pinned.iter().any(|(_, a)| *a == ai) {
            RuleOutcome::Displaced
        } else if blocked_target(&p.target) {
            RuleOutcome::Blocked
        } else {
            RuleOutcome::Noop
        };
        out.push((p.rule, o));
    }
    out
}

/// The `meta.rules` list.
fn reports(list: &[(&Rule, RuleOutcome)]) -> Vec<RuleReport> {
    list.iter()
        .map(|(r, o)| RuleReport {
            rule_id: r.id.to_string(),
            action: r.action,
            outcome: *o,
        })
        .collect()
}
