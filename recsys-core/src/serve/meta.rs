//! The answer's `meta`: tenant, surface, segment, algorithm build, document and artifact
//! versions, the fallback surface, the request id, per-stage counts, and (when asked for or
//! when the answer is short) rule outcomes and diagnostics.

use super::diagnostics;
use super::filters::Filtered;
use super::select::Selected;
use super::warnings::Warned;
use super::Decision;
use crate::candidates::StageCounts;
use crate::config::Algo;
use crate::engine::EngineOptions;
use crate::json::{Map, Value};

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
        format!("{}:{}", o.algo_version, algo.as_str())
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
    rule_meta: Option<Value>,
) -> Value {
    let (snap, spec) = (d.snap, d.spec);
    let mut meta = Map::with_capacity(14);
    meta.push("tenant_id", Value::str(&snap.tenant));
    meta.push("surface", Value::str(spec.surface));
    meta.push("segment", Value::str(spec.segment));
    meta.push(
        "algo_version",
        Value::str(algo_version(d.opts, snap.algo_explicit, d.cfg.algo)),
    );
    let v = &snap.versions;
    if let Some(x) = &v.config_version {
        meta.push("config_version", Value::str(x));
    }
    if let Some(x) = &v.rules_version {
        meta.push("rules_version", Value::str(x));
    }
    if let Some(x) = &v.manifest_version {
        meta.push("manifest_version", Value::str(x));
    }
    if let Some(x) = &v.release_id {
        meta.push("release_id", Value::str(x));
    }
    if !v.artifacts.is_empty() {
        let mut am = Map::new();
        for (k, x) in &v.artifacts {
            am.push(k.clone(), Value::str(x));
        }
        meta.push("artifact_versions", Value::Object(am));
    }
    if d.fell_back {
        meta.push("snapshot_surface", Value::str(&snap.surface));
    }
    if !d.ctx.request_id.is_empty() {
        meta.push("request_id", Value::str(&d.ctx.request_id));
    }
    let c = &t.stages;
    let mut cm = Map::with_capacity(7);
    for (k, x) in [
        ("candidates", c.candidates),
        ("after_include", c.after_include),
        ("after_exclude", c.after_exclude),
        ("after_constraints", c.after_constraints),
        ("after_rules", c.after_rules),
        ("pinned", t.pinned),
        ("returned", t.returned),
    ] {
        cm.push(k, Value::u64(x));
    }
    meta.push("counts", Value::Object(cm));
    if let Some(r) = rule_meta {
        meta.push("rules", r);
    }
    if t.returned < spec.k as u64 {
        meta.push("diagnostics", diagnostics::build(d, f, s, w, c, t.returned));
    }
    Value::Object(meta)
}
