//! Diagnostics of a short answer (fewer than `k` items): why, stage by stage, in the order
//! of the "empty recommendations" runbook (artifacts, anchors, allow-list, candidates,
//! filters, rules, caps, result).

use super::answer::Diagnostic;
use super::filters::Filtered;
use super::select::Selected;
use super::spec::Source;
use super::warnings::Warned;
use super::Decision;
use crate::candidates::StageCounts;
use crate::config::Algo;

/// Why the answer holds `returned` of the `k` items asked for.
pub(crate) fn build(
    d: &Decision,
    f: &Filtered,
    s: &Selected,
    w: &Warned,
    c: &StageCounts,
    returned: u64,
) -> Vec<Diagnostic> {
    let (snap, spec) = (d.snap, d.spec);
    let (by_tag, by_diversity) = (s.capped_by_tag, s.capped - s.capped_by_tag);
    let (no_artifacts, missing, rules) = (
        w.no_artifacts,
        &w.missing,
        if f.rules_on { f.scope.applicable() } else { 0 },
    );
    let mut out: Vec<Diagnostic> = Vec::new();
    let mut add = |stage: &'static str, removed: Option<u64>, message: String| {
        out.push(Diagnostic {
            stage,
            removed,
            message,
        });
    };
    if no_artifacts {
        add("artifacts", None, "the snapshot has no artifacts".into());
    } else if !missing.is_empty() {
        add(
            "artifacts",
            None,
            format!("signals unavailable: {}", missing.join(", ")),
        );
    }
    match (spec.source, spec.exclude_item) {
        (Source::Similar, Some(item)) if spec.anchors.is_empty() => {
            add(
                "anchors",
                None,
                format!("item {item:?} is not in the catalog"),
            );
        }
        (Source::Algo(algo), _)
            if (matches!(algo, Algo::Cooc | Algo::Implicit)
                || spec.weights.cooc > 0.0
                || spec.weights.emb > 0.0)
                && spec.include.is_empty()
                && spec.anchors.is_empty()
                && !spec.has_history =>
        {
            add(
                "anchors",
                None,
                "no anchors: the request has none and the user has no history".into(),
            );
        }
        _ => {}
    }
    if !spec.include.is_empty() {
        let known = spec
            .include
            .iter()
            .filter(|id| snap.items.get(id).is_some())
            .count();
        add(
            "include",
            None,
            format!(
                "candidates.include_ids limits the pool to {} ids ({known} known to the catalog)",
                spec.include.len()
            ),
        );
    }
    add(
        "candidates",
        None,
        format!("{} candidates were examined", c.candidates),
    );
    for (stage, before, after, what) in [
        (
            "include",
            c.candidates,
            c.after_include,
            "not in candidates.include_ids",
        ),
        (
            "exclude",
            c.after_include,
            c.after_exclude,
            "in candidates.exclude_ids",
        ),
        (
            "constraints",
            c.after_exclude,
            c.after_constraints,
            "removed by required or forbidden tags",
        ),
        (
            "rules",
            c.after_constraints,
            c.after_rules,
            "blocked by rules",
        ),
    ] {
        if before > after {
            add(
                stage,
                Some(before - after),
                format!("{} candidates {what}", before - after),
            );
        }
    }
    if rules > 0 && c.after_constraints == c.after_rules {
        add(
            "rules",
            Some(0),
            format!("{rules} rules applied; none blocked a candidate"),
        );
    }
    if by_tag > 0 {
        add(
            "max_per_tag",
            Some(by_tag as u64),
            format!("{by_tag} candidates held back by constraints.max_per_tag"),
        );
    }
    if by_diversity > 0 {
        add(
            "diversity",
            Some(by_diversity as u64),
            format!("{by_diversity} candidates held back by brand/category caps"),
        );
    }
    add(
        "result",
        None,
        format!("{returned} of {} requested items returned", spec.k),
    );
    out
}
