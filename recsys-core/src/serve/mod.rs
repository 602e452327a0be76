//! The serving pipeline behind `recommend` and `similar`: one decision, made in named stages,
//! each in its own file with a typed input and a typed output.
//!
//! 1. [`spec`]: the request and surface config resolved into one [`spec::Spec`] (weights,
//!    anchors, candidate source).
//! 2. [`filters`]: hard filters (include, exclude, tag constraints, rule blocks) and caps.
//! 3. [`sources`]: the candidate pool from the signal sources, scored.
//! 4. [`rules`]: boosts and pins applied to the pool.
//! 5. [`select`]: the answer's positions (pins first, then ranked and diversified picks).
//! 6. [`telemetry`]: what each applicable rule did (the `rule_telemetry` option).
//! 7. [`warnings`]: the answer's warnings.
//! 8. [`items`] and [`meta`]: the typed [`answer::Recommendation`] (with [`diagnostics`]
//!    when it is short).
//!
//! [`text`] writes a recommendation as the JSON call path answers it.

pub mod answer;
pub(crate) mod diagnostics;
pub(crate) mod filters;
pub(crate) mod items;
pub(crate) mod meta;
pub(crate) mod request;
pub(crate) mod rules;
pub(crate) mod select;
pub(crate) mod sources;
pub(crate) mod spec;
pub(crate) mod telemetry;
pub(crate) mod text;
pub(crate) mod warnings;

use crate::config::SurfaceConfig;
use crate::engine::EngineOptions;
use crate::ops::rule_stats::RuleOutcome;
use crate::request::{CallContext, Warning};
use crate::rules::eval;
use crate::snapshot::TenantSnapshot;
use answer::Recommendation;
use spec::Spec;

/// Everything one decision is made from: the engine's settings, the snapshot and the
/// effective surface config, and the resolved request.
pub(crate) struct Decision<'a> {
    pub opts: &'a EngineOptions,
    pub snap: &'a TenantSnapshot,
    pub cfg: &'a SurfaceConfig,
    /// The snapshot is the tenant's `default` surface serving another surface.
    pub fell_back: bool,
    pub spec: &'a Spec<'a>,
    pub ctx: &'a CallContext,
}

/// Runs the pipeline: `warnings` are the request decoder's; the applicable rules' outcomes
/// are appended to `outcomes` when rule telemetry is on.
pub(crate) fn run(
    d: &Decision,
    warnings: Vec<Warning>,
    outcomes: &mut Vec<(String, RuleOutcome)>,
) -> Recommendation {
    // The rule scope outlives every stage: the filters look blocks up through it.
    let scope = eval::Scope::new(d.snap, d.spec.surface, d.spec.segment, d.ctx.now);
    let mut filtered = filters::resolve(d, &scope);
    let mut pooled = sources::gather(d, &filtered);
    let mut ruled = rules::apply(d, &mut filtered, &mut pooled);
    let selected = select::select(d, &filtered, &pooled, &mut ruled);
    let rule_reports = telemetry::outcomes(d, &filtered, &pooled, &ruled, &selected, outcomes);
    let warned = warnings::collect(d, &filtered, &pooled, &selected, warnings);
    let items = items::build(d, &filtered, &pooled, &ruled, &selected);
    let tally = meta::Tally {
        stages: pooled.pool.counts,
        pinned: ruled.pinned.len() as u64,
        returned: items.len() as u64,
    };
    let meta = meta::build(d, &filtered, &selected, &warned, tally, rule_reports);
    Recommendation {
        items,
        meta,
        warnings: warned.warnings,
    }
}
