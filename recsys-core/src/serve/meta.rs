//! The answer's `meta`: tenant, surface, segment, algorithm build, document and artifact
//! versions, the fallback surface, the request id, per-stage counts, and (when asked for or
//! when the answer is short) rule outcomes and diagnostics.

use super::answer::{Counts, ExperimentMeta, RuleReport};
use super::diagnostics;
use super::filters::Filtered;
use super::select::Selected;
use super::text::MetaView;
use super::warnings::Warned;
use super::Decision;
use crate::candidates::StageCounts;
use crate::config::Algo;
use crate::engine::EngineOptions;
use std::borrow::Cow;

/// The counts `meta.counts` reports.
pub(crate) struct Tally {
    pub stages: StageCounts,
    pub pinned: u64,
    pub returned: u64,
}

/// The `algo_version` of an answer: the build label, with the algorithm when the config
/// names one.
pub(crate) fn algo_version(o: &EngineOptions, explicit: bool, algo: Algo) -> String {
    super::text::joined(algo_parts(o, explicit, algo))
}

/// `algo_version`'s parts: the build label, and the algorithm when the config names one.
fn algo_parts(o: &EngineOptions, explicit: bool, algo: Algo) -> (&str, Option<&'static str>) {
    (&o.algo_version, explicit.then(|| algo.as_str()))
}

/// `meta` borrowed from the snapshot, the request and the engine's options: what the call
/// path writes without copying its strings first, and what the typed answer's `meta` is
/// copied from ([`MetaView::into_meta`]).
pub(crate) fn view<'a>(
    d: &'a Decision,
    f: &Filtered,
    s: &Selected,
    w: &Warned,
    t: Tally,
    rules: Option<Vec<RuleReport>>,
    experiment: Option<ExperimentMeta>,
) -> MetaView<'a> {
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
    let algo_version = algo_parts(d.opts, snap.algo_explicit, d.cfg.algo);
    MetaView {
        tenant_id: &snap.tenant,
        surface: spec.surface,
        segment: spec.segment,
        algo_version,
        config_version: v.config_version.as_deref(),
        rules_version: v.rules_version.as_deref(),
        manifest_version: v.manifest_version.as_deref(),
        release_id: v.release_id.as_deref(),
        artifact_versions: &v.artifacts,
        head: d
            .pre
            .and_then(|p| p.head.get(spec.surface, spec.segment, algo_version)),
        versions_text: d.pre.map(|p| p.versions.as_str()),
        snapshot_surface: d.fell_back.then_some(snap.surface.as_str()),
        request_id: (!d.ctx.request_id.is_empty()).then_some(d.ctx.request_id.as_str()),
        counts,
        rules: rules.map(Cow::Owned),
        diagnostics: (t.returned < spec.k as u64)
            .then(|| Cow::Owned(diagnostics::build(d, f, s, w, c, t.returned))),
        experiment: experiment.map(Cow::Owned),
    }
}
