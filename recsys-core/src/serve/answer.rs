//! The typed answers of the serving calls: [`Recommendation`] (`recommend` and `similar`)
//! and [`Validation`] (`validate`). They derive `serde::Serialize` with exactly the shape of
//! the JSON answers (members in answer order, absent members skipped), and the JSON call
//! path writes them straight to text, no `Value` tree between: a [`Recommendation`] by
//! [`super::text`] (the same text, written by hand), a [`Validation`] by
//! [`crate::json::to_text`].

use crate::error::ApiError;
use crate::json::ser::{go_number, go_number_opt, ValueRef};
use crate::json::{to_text, to_value, Value};
use crate::ops::rule_stats::RuleOutcome;
use crate::request::{RecommendRequest, Warning};
use crate::rules::Action;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

/// The answer of `recommend` and `similar`: the ranked items, what served them, and the
/// warnings of the request and the decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Recommendation {
    /// The items, best first (pinned items lead).
    pub items: Vec<Item>,
    /// Tenant, surface, versions, counts and diagnostics.
    pub meta: Meta,
    /// Warnings, request decoding's first (absent from JSON when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// One recommended item.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Item {
    /// The item's id, as the catalog or the request wrote it.
    pub item_id: String,
    /// Position in the answer, from 1.
    pub rank: u32,
    /// The blended score after boosts.
    #[serde(serialize_with = "go_number")]
    pub score: f64,
    /// Why the item is here (`options.include_reasons`): signal names, `diversity`, and rule
    /// tokens (`rule.boost:+0.50[<id>]`, `rule.pin[<id>]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Score breakdown (`options.explain` summary or full).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<ItemExplain>,
}

/// Three blend components: popularity, co-occurrence and similarity (`emb`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BlendParts {
    /// Popularity.
    #[serde(serialize_with = "go_number")]
    pub pop: f64,
    /// Co-occurrence.
    #[serde(serialize_with = "go_number")]
    pub cooc: f64,
    /// Similarity (the strongest of collaborative, content and session).
    #[serde(serialize_with = "go_number")]
    pub emb: f64,
}

/// An item's raw signals, before weighting (`explain: full`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RawSignals {
    /// Popularity.
    #[serde(serialize_with = "go_number")]
    pub pop: f64,
    /// Co-occurrence with the anchors.
    #[serde(serialize_with = "go_number")]
    pub cooc: f64,
    /// Collaborative (implicit) similarity.
    #[serde(serialize_with = "go_number")]
    pub collab: f64,
    /// Content (tag) similarity.
    #[serde(serialize_with = "go_number")]
    pub content: f64,
    /// Session similarity.
    #[serde(serialize_with = "go_number")]
    pub session: f64,
}

/// MMR's figures for an item it picked (`explain: full`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MmrExplain {
    /// The surface's MMR λ.
    #[serde(serialize_with = "go_number")]
    pub lambda: f64,
    /// Normalised relevance.
    #[serde(serialize_with = "go_number")]
    pub relevance: f64,
    /// Highest similarity to an item picked before.
    #[serde(serialize_with = "go_number")]
    pub max_sim: f64,
    /// The penalty subtracted for that similarity.
    #[serde(serialize_with = "go_number")]
    pub penalty: f64,
    /// The MMR round that picked it.
    pub rank: u32,
}

/// An item's `explain` object.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ItemExplain {
    /// Weighted contribution per component (the raw components when all are zero).
    pub signals: BlendParts,
    /// Rule tokens that touched the item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Raw signals (`explain: full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawSignals>,
    /// The blend weights used (`explain: full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<BlendParts>,
    /// Total boost added by rules (`explain: full`, when non-zero).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "go_number_opt"
    )]
    pub boost: Option<f64>,
    /// Placed by a pin rule (`explain: full`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
    /// MMR's figures (`explain: full`, when MMR picked the item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmr: Option<MmrExplain>,
}

/// What served an answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Meta {
    /// The tenant.
    pub tenant_id: String,
    /// The requested surface.
    pub surface: String,
    /// The request's segment (`default` when it named none).
    pub segment: String,
    /// Algorithm build label (with `:<algo>` when the config names the algorithm).
    pub algo_version: String,
    /// ETag of the config document served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_version: Option<String>,
    /// ETag of the rules document served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_version: Option<String>,
    /// Version of the artifact manifest served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_version: Option<String>,
    /// The release the documents came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_id: Option<String>,
    /// (artifact kind, version) in publish order; a JSON object.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "pairs_as_object"
    )]
    pub artifact_versions: Vec<(String, String)>,
    /// The surface of the snapshot that served, when the `default` surface stood in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_surface: Option<String>,
    /// The host's request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Candidates per pipeline stage.
    pub counts: Counts,
    /// What each applicable rule did (`rule_telemetry` and `explain: full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RuleReport>>,
    /// Why the answer is shorter than `k`, stage by stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Vec<Diagnostic>>,
    /// The experiment assignment that shaped the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<ExperimentMeta>,
}

/// Candidates left after each stage, and what was returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Counts {
    /// Candidates examined.
    pub candidates: u64,
    /// Left after `candidates.include_ids`.
    pub after_include: u64,
    /// Left after exclusions.
    pub after_exclude: u64,
    /// Left after tag constraints.
    pub after_constraints: u64,
    /// Left after rule blocks.
    pub after_rules: u64,
    /// Items placed by pins.
    pub pinned: u64,
    /// Items returned.
    pub returned: u64,
}

/// One applicable rule's outcome for this request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RuleReport {
    /// The rule's id.
    pub rule_id: String,
    /// Its action (`BLOCK`, `PIN`, `BOOST`).
    pub action: Action,
    /// What it did.
    pub outcome: RuleOutcome,
}

/// One stage's note in the diagnostics of a short answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The stage (`artifacts`, `anchors`, `include`, `candidates`, `exclude`,
    /// `constraints`, `rules`, `max_per_tag`, `diversity`, `result`).
    pub stage: &'static str,
    /// Candidates the stage removed, when it removes any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<u64>,
    /// What happened, for a person.
    pub message: String,
}

/// The experiment assignment in `meta.experiment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExperimentMeta {
    /// The experiment.
    pub id: String,
    /// The variant assigned (absent for subjects outside the traffic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// The answer of `validate`: the normalised request and its warnings, without ranking.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Validation {
    /// The request as the engine would serve it (defaults applied).
    #[serde(serialize_with = "request_as_object")]
    pub normalized_request: RecommendRequest,
    /// Defaults applied and other notes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// Tenant, surface, segment, algorithm build and request id.
    pub meta: ValidationMeta,
    /// Lint findings of the documents serving the tenant, against the catalog loaded for the
    /// surface (present only when there are any, so a clean tenant's answer is unchanged).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "findings_as_array"
    )]
    pub lint: Vec<crate::lint::Finding>,
}

/// `meta` of a [`Validation`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ValidationMeta {
    /// The tenant.
    pub tenant_id: String,
    /// The request's surface.
    pub surface: String,
    /// The request's segment.
    pub segment: String,
    /// Algorithm build label of the snapshot that would serve.
    pub algo_version: String,
    /// The host's request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A serving call's answer, for the JSON layer.
pub(crate) enum Answer {
    Recommendation(Recommendation),
    Validation(Validation),
    /// A recommendation already written as text (`Engine::call`).
    Text(String),
}

/// The error of an answer the JSON writer refused.
pub(crate) fn unwritable(e: crate::json::SerError) -> ApiError {
    ApiError::internal(format!("answer not writable as json: {e}"))
}

impl Answer {
    /// The answer's JSON text.
    pub(crate) fn into_text(self) -> Result<String, ApiError> {
        match self {
            Answer::Recommendation(r) => super::text::recommendation(&r),
            Answer::Validation(v) => to_text(&v),
            Answer::Text(t) => Ok(t),
        }
        .map_err(unwritable)
    }
    /// The answer as a value (hosts that convert values themselves).
    pub(crate) fn to_value(&self) -> Result<Value, ApiError> {
        match self {
            Answer::Recommendation(r) => to_value(r).map_err(unwritable),
            Answer::Validation(v) => to_value(v).map_err(unwritable),
            Answer::Text(t) => crate::json::parse(t.as_bytes())
                .map_err(|e| ApiError::internal(format!("answer text not json: {e}"))),
        }
    }
}

fn pairs_as_object<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

fn findings_as_array<S: Serializer>(f: &[crate::lint::Finding], s: S) -> Result<S::Ok, S::Error> {
    ValueRef(&crate::lint::findings_value(f)).serialize(s)
}

fn request_as_object<S: Serializer>(r: &RecommendRequest, s: S) -> Result<S::Ok, S::Error> {
    ValueRef(&r.to_value()).serialize(s)
}

impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut w = s.serialize_struct("Warning", 2)?;
        w.serialize_field("code", self.code)?;
        w.serialize_field("detail", &self.detail)?;
        w.end()
    }
}

impl Serialize for RuleOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::{call_static, Engine};
    use crate::json::{parse, to_string};

    /// The conformance corpus's case files, in name order.
    pub(crate) fn corpus_case_files() -> Vec<std::path::PathBuf> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
    }

    fn member(v: &Value, k: &str) -> Option<String> {
        v.as_object()?.get(k)?.as_str().map(str::to_owned)
    }

    /// Every serving answer of the conformance corpus, written three ways, is the same JSON:
    /// the typed answer written by [`to_text`] is the text `Engine::call` answers; built as a
    /// value ([`to_value`], the `call_value` path) it writes the same text; and serde_json
    /// serialising the typed answer sees the same document.
    #[test]
    fn corpus_answers_serialise_identically() {
        let files = corpus_case_files();
        let (mut recommendations, mut validations) = (0, 0);
        for f in &files {
            let split =
                call_static("conformance_split", &std::fs::read_to_string(f).unwrap()).unwrap();
            let split = parse(split.as_bytes()).unwrap();
            let op = member(&split, "call").unwrap();
            if !matches!(op.as_str(), "recommend" | "similar" | "validate") {
                continue;
            }
            let engine = match member(&split, "engine") {
                Some(o) => Engine::with_options_json(&o).unwrap(),
                None => Engine::new(),
            };
            if let Some(docs) = member(&split, "documents") {
                if engine.call("load_snapshot", &docs).is_err() {
                    continue;
                }
            }
            let input = member(&split, "input").unwrap();
            let Ok(text) = engine.call(&op, &input) else {
                continue;
            };
            let answer = engine
                .serving_op(
                    op.parse().unwrap(),
                    &parse(input.as_bytes()).unwrap(),
                    false,
                )
                .unwrap();
            let name = f.display();
            let typed_text = match &answer {
                Answer::Recommendation(r) => super::super::text::recommendation(r).unwrap(),
                Answer::Validation(v) => to_text(v).unwrap(),
                Answer::Text(t) => t.clone(),
            };
            assert_eq!(typed_text, text, "{name}");
            assert_eq!(to_string(&answer.to_value().unwrap()), text, "{name}");
            let via_serde = match &answer {
                Answer::Recommendation(r) => {
                    recommendations += 1;
                    serde_json::to_value(r).unwrap()
                }
                Answer::Validation(v) => {
                    validations += 1;
                    serde_json::to_value(v).unwrap()
                }
                Answer::Text(_) => panic!("{name}: a typed answer was asked for"),
            };
            let ours: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(via_serde, ours, "{name}");
        }
        assert!(recommendations >= 50, "{recommendations} recommendations");
        assert!(validations >= 3, "{validations} validations");
    }
}
