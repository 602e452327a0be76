//! The answer's `meta`: tenant, surface, segment, algorithm build, document and artifact
//! versions, the fallback surface, the request id, per-stage counts, and (when asked for or
//! when the answer is short) rule outcomes and diagnostics.

use super::answer::{Counts, Meta, RuleReport};
use super::diagnostics;
use super::filters::Filtered;
use super::select::Selected;
use super::warnings::Warned;
use super::Decision;
use crate::candidates::StageCounts;
use crate::config::Algo;
use crate::engine::EngineOptions;

/// The counts `meta.counts` reports.
pub(crate) struct Tally {
    pub stages: StageCounts,
    pub pinned: u64,
    pub returned: u64,
}

/// The `algo_version` of an answer: the build label, with the algorithm when the config
/// names one.
pub(crate) fn algo_version(o: &EngineOptions, explicit: bool, algo: Algo) -> String {
    if explicit {
        // Three appends into one allocation (`format!` cost ~1,000 instructions a request).
        let algo = algo.as_str();
        let mut s = String::with_capacity(o.algo_version.len() + 1 + algo.len());
        s.push_str(&o.algo_version);
        s.push(':');
        s.push_str(algo);
        s
    } else {
        o.algo_version.clone()
    }
}

/// Builds `meta`.
pub(crate) fn build(
    d: &Decision,
    f: &Filtered,
    s: &Selected,
    w: &Warned,
    t: Tally,
    rules: Option<Vec<RuleReport>>,
) -> Meta {
    let (snap, spec) = (d.snap, d.spec);
    let v = &snap.versions;
    let c = &t.stages;
    let counts = Counts {
        candidates: c.candidates,
        after_include: c.after_include,
        after_exclude: c.after_exclude,
        after_constraints: c.after_constraints,
        after_rules: c.after_rules,
        pinned: t.pinned,
        returned: t.returned,
    };
    Meta {
        tenant_id: snap.tenant.clone(),
        surface: spec.surface.to_string(),
        segment: spec.segment.to_string(),
        algo_version: algo_version(d.opts, snap.algo_explicit, d.cfg.algo),
        config_version: v.config_version.clone(),
        rules_version: v.rules_version.clone(),
        manifest_version: v.manifest_version.clone(),
        release_id: v.release_id.clone(),
        artifact_versions: v.artifacts.clone(),
        snapshot_surface: d.fell_back.then(|| snap.surface.clone()),
        request_id: (!d.ctx.request_id.is_empty()).then(|| d.ctx.request_id.clone()),
        counts,
        rules,
        diagnostics: (t.returned < spec.k as u64)
            .then(|| diagnostics::build(d, f, s, w, c, t.returned)),
        experiment: None,
    }
}
