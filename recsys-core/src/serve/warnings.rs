//! The answer's warnings, after the request decoder's own: signals the decision needed but
//! the snapshot lacks, stale artifacts, a surface served by the `default` snapshot, items
//! removed by constraints or caps, an allow-list that lost items, and rules switched off.

use super::filters::Filtered;
use super::select::Selected;
use super::sources::Pooled;
use super::spec::Source;
use super::Decision;
use crate::config::Algo;
use crate::loader::is_stale;
use crate::request::{warnings as w, Warning};

/// The warnings of one decision, and the signal facts diagnostics repeat.
pub(crate) struct Warned {
    pub warnings: Vec<Warning>,
    /// Signals the decision needed but the snapshot lacks, sorted.
    pub missing: Vec<&'static str>,
    /// The snapshot has no artifacts at all.
    pub no_artifacts: bool,
}

/// Appends the decision's warnings to the decoder's `warnings`.
pub(crate) fn collect(
    d: &Decision,
    f: &Filtered,
    p: &Pooled,
    s: &Selected,
    mut warnings: Vec<Warning>,
) -> Warned {
    let (snap, spec, opts) = (d.snap, d.spec, d.opts);
    let missing = missing_signals(d, p);
    let a = snap.available;
    let no_artifacts = !(a.popularity || a.cooc || a.implicit || a.content || a.session);
    if no_artifacts {
        warnings.push(Warning::new(
            w::NO_ARTIFACTS,
            "the snapshot has no artifacts; only candidates.include_ids and pins can be served",
        ));
    } else {
        for name in &missing {
            warnings.push(Warning::new(
                w::SIGNAL_UNAVAILABLE,
                format!("{name} signal unavailable"),
            ));
        }
    }
    if is_stale(
        &snap.versions,
        d.ctx.now,
        opts.loader.max_artifact_age_seconds,
    ) {
        warnings.push(Warning::new(
            w::STALE_ARTIFACTS,
            format!(
                "artifacts are older than {} seconds",
                opts.loader.max_artifact_age_seconds
            ),
        ));
    }
    if d.fell_back {
        warnings.push(Warning::new(
            w::SURFACE_FALLBACK,
            format!(
                "no snapshot for surface {:?}; served from the \"default\" surface",
                spec.surface
            ),
        ));
    }
    let c = p.pool.counts;
    let removed_constraints = c.after_exclude - c.after_constraints;
    if removed_constraints > 0 {
        warnings.push(Warning::new(
            w::CONSTRAINTS_FILTERED,
            format!("{removed_constraints} items removed by tag constraints"),
        ));
    }
    if s.capped_by_tag > 0 {
        warnings.push(Warning::new(
            w::CONSTRAINTS_FILTERED,
            format!(
                "{} items held back by constraints.max_per_tag",
                s.capped_by_tag
            ),
        ));
    }
    if f.filters.allow.is_some() {
        let served = s.outs.len();
        if served == 0 {
            warnings.push(Warning::new(
                w::CANDIDATES_INCLUDE_EMPTY,
                "no items matched candidates.include_ids",
            ));
        } else if (c.after_rules as usize) < spec.include.len() {
            let n = spec.include.len() - c.after_rules as usize;
            warnings.push(Warning::new(
                w::CANDIDATES_INCLUDE_FILTERED,
                format!("{n} items of candidates.include_ids removed by exclusions, constraints or rules"),
            ));
        }
    }
    if !f.rules_on && !snap.rules.is_empty() {
        warnings.push(Warning::new(
            w::RULES_DISABLED,
            "rules are disabled; merchandising rules were not applied",
        ));
    }

    Warned {
        warnings,
        missing,
        no_artifacts,
    }
}

/// The signals the decision needed that the snapshot lacks, sorted.
fn missing_signals(d: &Decision, p: &Pooled) -> Vec<&'static str> {
    let (spec, a, weights) = (d.spec, d.snap.available, &p.weights);
    let (use_cooc, used) = (p.use_cooc, p.used);
    let mut missing: Vec<&'static str> = Vec::new();
    let mut need_signal = |needed: bool, have: bool, name: &'static str| {
        if needed && !have {
            missing.push(name);
        }
    };
    let algo_pop = matches!(spec.source, Source::Algo(_));
    need_signal(
        algo_pop
            && (weights.pop > 0.0
                || p.fell_back_to_pop
                || spec.source == Source::Algo(Algo::Popularity)),
        a.popularity,
        "popularity",
    );
    need_signal(use_cooc, a.cooc, "cooc");
    // A source switched off in `signals` is not needed, so its absence is no warning.
    need_signal(
        used.collaborative && spec.source != Source::Similar,
        a.implicit,
        "collaborative",
    );
    need_signal(used.content, a.content, "content");
    need_signal(
        used.session && spec.source != Source::Similar,
        a.session,
        "session",
    );
    missing.sort_unstable();
    missing
}
