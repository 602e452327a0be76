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
//! A popularity-only decision takes [`popwalk`]'s shortcuts through stages 3 and 5 when
//! they give the same answer.
//!
//! The answer's form is the caller's ([`Form`]): the typed API gets a [`Recommendation`]
//! ([`Typed`]); `Engine::call` gets the JSON text ([`Text`]), which [`text`] writes from a
//! view borrowing the stages' outputs and the snapshot, with no typed answer between.

pub mod answer;
pub(crate) mod diagnostics;
pub(crate) mod filters;
pub(crate) mod items;
pub(crate) mod meta;
pub(crate) mod popwalk;
pub(crate) mod prewritten;
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
use crate::error::ApiError;
use crate::ops::rule_stats::RuleOutcome;
use crate::request::{CallContext, Warning};
use crate::rules::eval;
use crate::snapshot::TenantSnapshot;
use answer::{ExperimentMeta, Recommendation};
use spec::Spec;
use std::borrow::Cow;

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
    /// What answers from `snap` write the same, written when it was installed
    /// ([`prewritten`]: `meta`'s version members, the most popular items' score texts);
    /// `None` writes them per answer.
    pub pre: Option<&'a prewritten::Prewritten>,
}

/// How a decision's answer is handed back: [`Typed`] (a [`Recommendation`]) or [`Text`] (its
/// JSON text, written from the stages' outputs without a typed answer between: the ids and
/// `meta`'s strings are copied once, into the text).
pub(crate) trait Form {
    /// The answer.
    type Out;
    /// The answer from the stages' outputs.
    fn finish(st: Stages) -> Result<Self::Out, ApiError>;
    /// Items the answer returns (for metrics).
    fn returned(out: &Self::Out) -> usize;
    /// The answer's warnings (for metrics).
    fn warnings(out: &Self::Out) -> &[Warning];
    /// The typed answer, when this form has one (exposure events are made from it).
    fn typed(out: &Self::Out) -> Option<&Recommendation>;
}

/// Everything the answer is made from, once the stages ran.
pub(crate) struct Stages<'s, 'a> {
    d: &'s Decision<'a>,
    filtered: &'s filters::Filtered<'s>,
    pooled: &'s sources::Pooled,
    ruled: &'s rules::Ruled<'s>,
    selected: &'s select::Selected,
    warned: warnings::Warned,
    rule_reports: Option<Vec<answer::RuleReport>>,
    experiment: Option<ExperimentMeta>,
}

impl Stages<'_, '_> {
    /// The counts `meta.counts` reports, for `returned` items.
    fn tally(&self, returned: usize) -> meta::Tally {
        meta::Tally {
            stages: self.pooled.pool.counts,
            pinned: self.ruled.pinned.len() as u64,
            returned: returned as u64,
        }
    }
}

/// The typed answer.
pub(crate) struct Typed;

/// The JSON text (what `Engine::call` answers).
pub(crate) struct Text;

/// [`Text`]'s answer: the text, and what metrics read of the answer.
pub(crate) struct TextAnswer {
    pub text: String,
    pub returned: usize,
    pub warnings: Vec<Warning>,
}

impl Form for Typed {
    type Out = Recommendation;
    fn finish(st: Stages) -> Result<Recommendation, ApiError> {
        let items = items::build(st.d, st.filtered, st.pooled, st.ruled, st.selected);
        let tally = st.tally(items.len());
        let meta = meta::view(
            st.d,
            st.filtered,
            st.selected,
            &st.warned,
            tally,
            st.rule_reports,
            st.experiment,
        )
        .into_meta();
        Ok(Recommendation {
            items,
            meta,
            warnings: st.warned.warnings,
        })
    }
    fn returned(out: &Recommendation) -> usize {
        out.items.len()
    }
    fn warnings(out: &Recommendation) -> &[Warning] {
        &out.warnings
    }
    fn typed(out: &Recommendation) -> Option<&Recommendation> {
        Some(out)
    }
}

impl Form for Text {
    type Out = TextAnswer;
    fn finish(st: Stages) -> Result<TextAnswer, ApiError> {
        let (d, f) = (st.d, st.filtered);
        let items = if items::detailed(d) {
            text::Items::Typed(Cow::Owned(items::build(
                d,
                f,
                st.pooled,
                st.ruled,
                st.selected,
            )))
        } else {
            text::Items::Returned(items::PlainItems::new(d, f, st.pooled, st.selected))
        };
        let returned = items.len();
        let meta = meta::view(
            d,
            f,
            st.selected,
            &st.warned,
            st.tally(returned),
            st.rule_reports,
            st.experiment,
        );
        let view = text::View {
            items,
            meta,
            warnings: &st.warned.warnings,
        };
        let text = text::write(&view).map_err(answer::unwritable)?;
        drop(view);
        Ok(TextAnswer {
            text,
            returned,
            warnings: st.warned.warnings,
        })
    }
    fn returned(out: &TextAnswer) -> usize {
        out.returned
    }
    fn warnings(out: &TextAnswer) -> &[Warning] {
        &out.warnings
    }
    fn typed(_: &TextAnswer) -> Option<&Recommendation> {
        None
    }
}

/// Runs the pipeline: `warnings` are the request decoder's, `experiment` the assignment
/// that shaped the answer; the applicable rules' outcomes are appended to `outcomes` when
/// rule telemetry is on.
pub(crate) fn run<F: Form>(
    d: &Decision,
    warnings: Vec<Warning>,
    outcomes: &mut Vec<(String, RuleOutcome)>,
    experiment: Option<ExperimentMeta>,
) -> Result<F::Out, ApiError> {
    // The rule scope outlives every stage: the filters look blocks up through it.
    let scope = eval::Scope::new(d.snap, d.spec.surface, d.spec.segment, d.ctx.now);
    let mut filtered = filters::resolve(d, &scope);
    let mut pooled = sources::gather(d, &filtered);
    let mut ruled = rules::apply(d, &mut filtered, &mut pooled);
    let selected = select::select(d, &filtered, &pooled, &mut ruled);
    let rule_reports = telemetry::outcomes(d, &filtered, &pooled, &ruled, &selected, outcomes);
    let warned = warnings::collect(d, &filtered, &pooled, &selected, warnings);
    F::finish(Stages {
        d,
        filtered: &filtered,
        pooled: &pooled,
        ruled: &ruled,
        selected: &selected,
        warned,
        rule_reports,
        experiment,
    })
}
