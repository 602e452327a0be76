//! Experiment definitions and deterministic assignment (service.md 6.2).
//!
//! # Algorithm (bit-compatible with the reference)
//!
//! All hashes are `HMAC-SHA256(key = assignment salt bytes, message)`, and `u64_be(d)` is the
//! first eight bytes of a digest read as a big-endian unsigned integer.
//!
//! * **Subject**: `user_id`, else `session_id`, else `anonymous_id` (trimmed; see
//!   [`select_subject`]). No subject → no variant.
//! * **Client variant wins**: when the request already carries `experiment.variant`, it is
//!   kept as given (not validated) and nothing is computed.
//! * **Traffic bucket**: `u64_be(HMAC(salt, "traffic:" + id + ":" + subject)) mod 10000`; the
//!   subject is in traffic iff `bucket < traffic_percent × 100` (a percentage ≥ 100 admits
//!   everyone, ≤ 0 nobody). Fractional percentages compare exactly in `f64`.
//! * **Variant** (unweighted, the reference): one variant → it; otherwise
//!   `variants[u64_be(HMAC(salt, id + ":" + subject)) mod n]`.
//! * **Definition gates**, in order: enabled, surface (if set, equal to the request surface
//!   ignoring case), `starts_at ≤ now < ends_at`, traffic. Without a definition the default
//!   variants (`A`, `B`) are used with no gate at all, as in the reference.
//!
//! # Extensions (not in the reference; off unless a definition uses them)
//!
//! * **Holdout**: `holdout_percent` withholds part of the in-traffic population:
//!   `u64_be(HMAC(salt, "holdout:" + id + ":" + subject)) mod 10000 < holdout_percent × 100`
//!   → no variant, reason `holdout`. The holdout hash uses its own message prefix, so it is
//!   independent of both the traffic bucket and the variant choice.
//! * **Weighted variants**: when every variant has a `weight`, each weight becomes integer
//!   units `round(weight × 10^6)`, `total = Σ units`, and the same 64-bit variant value `v`
//!   is mapped to the point `p = (v × total) >> 64` (exact 128-bit integer arithmetic, so
//!   `0 ≤ p < total`); the variant is the first whose cumulative units exceed `p`. Variants of
//!   weight 0 are never chosen. Definitions without weights keep the reference's `mod n`
//!   mapping bit for bit (equal weights are *not* rewritten to `mod n`: they are uniform too,
//!   but map subjects differently).
//! * **Per-variant overrides**: a variant may carry `overrides` (blend `weights`, `algo`,
//!   `rules_enabled`) that the engine applies for subjects in that variant.

use crate::config::{read_weights, Algo, WeightCodes, Weights, WEIGHT_FIELDS};
use crate::decode::{Decoder, Keys, ProblemKind, Style};
use crate::error::ErrorCode;
use crate::error::{ApiError, Problem};
use crate::json::{Map, Value};
use crate::request::User;
use crate::time::Timestamp;

use super::digest::{hmac_sha256, u64_be_prefix};

/// Variants used when a request names an experiment that has no definition (the reference's
/// `EXPERIMENT_DEFAULT_VARIANTS` default).
pub const DEFAULT_VARIANTS: [&str; 2] = ["A", "B"];

/// Number of traffic / holdout buckets.
pub const BUCKETS: u64 = 10_000;

/// Largest accepted variant weight (weights are relative; this keeps the unit sums small).
pub const MAX_WEIGHT: f64 = 1_000_000.0;

/// Stable codes: the error code and the finding codes of definition parsing.
pub mod codes {
    use crate::error::ErrorCode;
    /// Error code of [`ExperimentError`](super::ExperimentError) (HTTP 422).
    pub const INVALID_EXPERIMENT: &str = ErrorCode::InvalidExperiment.code();
    /// `id` missing or blank.
    pub const MISSING_ID: &str = ErrorCode::ExperimentMissingId.code();
    /// Two definitions share an id.
    pub const DUPLICATE_ID: &str = ErrorCode::ExperimentDuplicateId.code();
}

/// Invalid experiment definitions; every finding is listed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExperimentError {
    #[error("invalid experiment definitions: {}", first_message(.0))]
    Invalid(Vec<Problem>),
}

fn first_message(p: &[Problem]) -> String {
    match p.first() {
        Some(f) if p.len() > 1 => format!("{} (and {} more)", f.message, p.len() - 1),
        Some(f) => f.message.clone(),
        None => "no details".to_string(),
    }
}

impl ExperimentError {
    pub fn code(&self) -> &'static str {
        codes::INVALID_EXPERIMENT
    }
    pub fn problems(&self) -> &[Problem] {
        match self {
            ExperimentError::Invalid(p) => p,
        }
    }
}

impl From<ExperimentError> for ApiError {
    fn from(e: ExperimentError) -> ApiError {
        let msg = e.to_string();
        let ExperimentError::Invalid(p) = e;
        ApiError::new(ErrorCode::InvalidExperiment, msg).with_problems(p)
    }
}

/// What a variant changes in the decision for its subjects. The core only carries these; the
/// engine applies them (request weights still win over variant weights).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VariantOverrides {
    /// Blend weights replacing the tenant config's.
    pub weights: Option<Weights>,
    /// Algorithm replacing the tenant config's.
    pub algo: Option<Algo>,
    /// Merchandising rules on/off for this variant.
    pub rules_enabled: Option<bool>,
}

impl VariantOverrides {
    pub fn is_empty(&self) -> bool {
        self.weights.is_none() && self.algo.is_none() && self.rules_enabled.is_none()
    }
    #[cfg(test)]
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(w) = &self.weights {
            let mut wm = Map::with_capacity(3);
            wm.push("pop", Value::f64(w.pop));
            wm.push("cooc", Value::f64(w.cooc));
            wm.push("emb", Value::f64(w.emb));
            m.push("weights", Value::Object(wm));
        }
        if let Some(a) = self.algo {
            m.push("algo", Value::str(a.as_str()));
        }
        if let Some(r) = self.rules_enabled {
            m.push("rules_enabled", Value::Bool(r));
        }
        Value::Object(m)
    }
}

/// One variant of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantDef {
    pub name: String,
    /// Relative allocation (see the module docs); `None` in unweighted experiments.
    pub weight: Option<f64>,
    pub overrides: VariantOverrides,
}

impl VariantDef {
    /// An unweighted variant without overrides.
    pub fn named(name: impl Into<String>) -> VariantDef {
        VariantDef {
            name: name.into(),
            weight: None,
            overrides: VariantOverrides::default(),
        }
    }
    #[cfg(test)]
    pub fn weighted(name: impl Into<String>, weight: f64) -> VariantDef {
        VariantDef {
            weight: Some(weight),
            ..VariantDef::named(name)
        }
    }
}

/// The reference's default variants (`A`, `B`).
pub fn default_variants() -> Vec<VariantDef> {
    DEFAULT_VARIANTS
        .iter()
        .map(|n| VariantDef::named(*n))
        .collect()
}

/// An experiment's lifecycle definition.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentDef {
    pub id: String,
    /// Absent in JSON → `false` (the reference's zero value): a definition must opt in.
    pub enabled: bool,
    /// When set, only requests for this surface (ignoring case) are assigned.
    pub surface: Option<String>,
    /// Share of subjects in the experiment, 0..=100 (absent → 100).
    pub traffic_percent: f64,
    /// Share of in-traffic subjects held out (no variant), 0..=100 (absent → 0).
    pub holdout_percent: f64,
    /// Empty → the assigner's default variants.
    pub variants: Vec<VariantDef>,
    /// Inclusive start.
    pub starts_at: Option<Timestamp>,
    /// Exclusive end.
    pub ends_at: Option<Timestamp>,
}

impl ExperimentDef {
    /// An enabled, full-traffic definition with the given variants and no window.
    pub fn new(id: impl Into<String>, variants: Vec<VariantDef>) -> ExperimentDef {
        ExperimentDef {
            id: id.into(),
            enabled: true,
            surface: None,
            traffic_percent: 100.0,
            holdout_percent: 0.0,
            variants,
            starts_at: None,
            ends_at: None,
        }
    }

    /// The variant of that name.
    pub fn variant(&self, name: &str) -> Option<&VariantDef> {
        self.variants.iter().find(|v| v.name == name)
    }

    #[cfg(test)]
    /// Parses one definition:
    /// `{"id", "enabled"?, "surface"?, "traffic_percent"?, "holdout_percent"?,
    ///   "variants"?: ["A" | {"name", "weight"?, "overrides"?: {"weights"?, "algo"?, "rules_enabled"?}}],
    ///   "starts_at"?, "ends_at"?}`. `null` means absent. Every finding is returned.
    pub fn from_value(v: &Value) -> Result<ExperimentDef, Vec<Problem>> {
        let mut problems = Vec::new();
        let def = decode_at("$", &mut problems, |d| parse_def(d, v));
        if problems.is_empty() {
            Ok(def)
        } else {
            Err(problems)
        }
    }

    #[cfg(test)]
    /// The definition as JSON (the shape [`ExperimentDef::from_value`] reads).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("id", Value::str(&self.id));
        m.push("enabled", Value::Bool(self.enabled));
        if let Some(s) = &self.surface {
            m.push("surface", Value::str(s));
        }
        m.push("traffic_percent", Value::f64(self.traffic_percent));
        if self.holdout_percent != 0.0 {
            m.push("holdout_percent", Value::f64(self.holdout_percent));
        }
        let vs = self
            .variants
            .iter()
            .map(|v| {
                let mut vm = Map::new();
                vm.push("name", Value::str(&v.name));
                if let Some(w) = v.weight {
                    vm.push("weight", Value::f64(w));
                }
                if !v.overrides.is_empty() {
                    vm.push("overrides", v.overrides.to_value());
                }
                Value::Object(vm)
            })
            .collect();
        m.push("variants", Value::Array(vs));
        if let Some(t) = self.starts_at {
            m.push("starts_at", Value::str(t.to_rfc3339_nanos()));
        }
        if let Some(t) = self.ends_at {
            m.push("ends_at", Value::str(t.to_rfc3339_nanos()));
        }
        Value::Object(m)
    }
}

/// Experiment documents decode with exact keys and the experiment codes.
const STYLE: Style = Style {
    keys: Keys::Exact,
    unknown_field: ErrorCode::ExperimentUnknownField,
    wrong_type: ErrorCode::ExperimentWrongType,
    unknown_message,
};

fn unknown_message(quoted: &str) -> String {
    format!("unknown field {quoted}")
}

/// A validation finding of an experiment document at the current path.
fn bad(d: &mut Decoder, code: ErrorCode, message: impl Into<String>) {
    d.report(ProblemKind::Invalid, code, message);
}

/// Runs `read` on a decoder rooted at `path`, appending its findings to `problems`.
fn decode_at<T>(
    path: &str,
    problems: &mut Vec<Problem>,
    read: impl FnOnce(&mut Decoder) -> T,
) -> T {
    let mut d = Decoder::new(path, STYLE);
    let out = read(&mut d);
    problems.extend(d.into_problems());
    out
}

/// Parses a JSON array of definitions (the reference's `EXPERIMENT_CONFIG_JSON`); ids must be
/// unique. Every finding of every definition is returned.
pub fn parse_definitions(v: &Value) -> Result<Vec<ExperimentDef>, Vec<Problem>> {
    let mut problems = Vec::new();
    let defs = parse_definitions_at(v, "$", &mut problems);
    if problems.is_empty() {
        Ok(defs)
    } else {
        Err(problems)
    }
}

pub(crate) fn parse_definitions_at(
    v: &Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Vec<ExperimentDef> {
    decode_at(path, problems, |d| definitions(d, v))
}

fn definitions(d: &mut Decoder, v: &Value) -> Vec<ExperimentDef> {
    let arr = match v {
        Value::Null => return Vec::new(),
        Value::Array(a) => a,
        other => {
            d.wrong_type("an array of definitions", other);
            return Vec::new();
        }
    };
    let mut defs: Vec<ExperimentDef> = Vec::with_capacity(arr.len());
    let mut ids = std::collections::HashSet::with_capacity(arr.len());
    for (i, x) in arr.iter().enumerate() {
        d.index(i, |d| {
            let def = parse_def(d, x);
            if !def.id.is_empty() && !ids.insert(def.id.clone()) {
                let message = format!("experiment id {:?} is defined more than once", def.id);
                d.field("id", |d| bad(d, ErrorCode::ExperimentDuplicateId, message));
            }
            defs.push(def);
        });
    }
    defs
}

/// Parses a list of variant names / objects (used for default variants too).
pub(crate) fn parse_variants_at(
    v: &Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Vec<VariantDef> {
    decode_at(path, problems, |d| variants(d, v))
}

fn variants(d: &mut Decoder, v: &Value) -> Vec<VariantDef> {
    let arr = match v {
        Value::Null => return Vec::new(),
        Value::Array(a) => a,
        other => {
            d.wrong_type("an array of variants", other);
            return Vec::new();
        }
    };
    let mut out: Vec<VariantDef> = Vec::with_capacity(arr.len());
    let mut names = std::collections::HashSet::with_capacity(arr.len());
    for (i, x) in arr.iter().enumerate() {
        d.index(i, |d| {
            let var = match x {
                Value::String(s) => VariantDef::named(s.trim()),
                Value::Object(m) => parse_variant_object(d, m),
                other => return d.wrong_type("a string or an object", other),
            };
            if var.name.is_empty() {
                bad(
                    d,
                    ErrorCode::ExperimentBadVariant,
                    "variant name must not be empty",
                );
            } else if !names.insert(var.name.clone()) {
                let message = format!("variant {:?} is listed more than once", var.name);
                bad(d, ErrorCode::ExperimentDuplicateVariant, message);
            } else {
                out.push(var);
            }
        });
    }
    let weighted = out.iter().filter(|v| v.weight.is_some()).count();
    if weighted > 0 && weighted < out.len() {
        let message = "either every variant has a weight or none has";
        bad(d, ErrorCode::ExperimentBadWeight, message);
    } else if weighted > 0 && out.iter().all(|v| weight_units(v.weight) == 0) {
        let message = "at least one variant weight must be positive";
        bad(d, ErrorCode::ExperimentBadWeight, message);
    }
    out
}

fn parse_variant_object(d: &mut Decoder, m: &Map) -> VariantDef {
    d.known(m, &["name", "weight", "overrides"]);
    let name = d.field("name", |d| {
        d.string(m.get("name")).map(|s| s.trim().to_string())
    });
    let weight = d.field("weight", |d| match m.get("weight") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(w) if (0.0..=MAX_WEIGHT).contains(&w) => Some(w),
            _ => {
                let message = format!(
                    "weight must be a number between 0 and {MAX_WEIGHT}, got {}",
                    n.literal()
                );
                bad(d, ErrorCode::ExperimentBadWeight, message);
                // Keep the variant weighted so the all-or-none check does not add noise.
                Some(0.0)
            }
        },
        Some(other) => {
            d.wrong_type("a number", other);
            Some(0.0)
        }
    });
    let overrides = d.field("overrides", |d| {
        d.object(m.get("overrides"))
            .map(|o| parse_overrides(d, o))
            .unwrap_or_default()
    });
    VariantDef {
        name: name.unwrap_or_default(),
        weight,
        overrides,
    }
}

/// A variant's `overrides.weights`: read and bounded like a config's weights
/// ([`read_weights`]: at most [`crate::config::MAX_WEIGHT`]); unknown members are refused.
fn override_weights(d: &mut Decoder, wm: &Map) -> Weights {
    d.known(wm, &WEIGHT_FIELDS);
    let codes = WeightCodes {
        too_large: ErrorCode::ExperimentBadOverride,
        negative: ErrorCode::ExperimentBadOverride,
    };
    read_weights(d, wm, codes)
}

fn parse_overrides(d: &mut Decoder, m: &Map) -> VariantOverrides {
    d.known(m, &["weights", "algo", "rules_enabled"]);
    let mut o = VariantOverrides::default();
    if let Some(wm) = d.field("weights", |d| d.object(m.get("weights"))) {
        o.weights = Some(d.field("weights", |d| override_weights(d, wm)));
    }
    d.field("algo", |d| {
        if let Some(s) = d.string(m.get("algo")) {
            match Algo::parse(s) {
                Some(a) => o.algo = Some(a),
                None => {
                    let message =
                        format!("algo {s:?} is not one of blend, popularity, cooc, implicit");
                    bad(d, ErrorCode::ExperimentBadOverride, message)
                }
            }
        }
    });
    o.rules_enabled = d.field("rules_enabled", |d| d.boolean(m.get("rules_enabled")));
    o
}

const DEF_FIELDS: &[&str] = &[
    "id",
    "enabled",
    "surface",
    "traffic_percent",
    "holdout_percent",
    "variants",
    "starts_at",
    "ends_at",
];

fn parse_def(d: &mut Decoder, v: &Value) -> ExperimentDef {
    let mut def = ExperimentDef::new("", Vec::new());
    def.enabled = false;
    let m = match v {
        Value::Object(m) => m,
        other => {
            d.wrong_type("an object", other);
            return def;
        }
    };
    d.known(m, DEF_FIELDS);
    d.field("id", |d| match m.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => def.id = s.trim().to_string(),
        None | Some(Value::Null) | Some(Value::String(_)) => bad(
            d,
            ErrorCode::ExperimentMissingId,
            "experiment id is required",
        ),
        Some(other) => d.wrong_type("a string", other),
    });
    if let Some(b) = d.field("enabled", |d| d.boolean(m.get("enabled"))) {
        def.enabled = b;
    }
    let surface = d.field("surface", |d| d.string(m.get("surface")).map(str::trim));
    def.surface = surface.filter(|s| !s.is_empty()).map(str::to_string);
    for (key, slot) in [
        ("traffic_percent", &mut def.traffic_percent),
        ("holdout_percent", &mut def.holdout_percent),
    ] {
        d.field(key, |d| match m.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if (0.0..=100.0).contains(&f) => *slot = f,
                _ => {
                    let message = format!("{key} must be between 0 and 100, got {}", n.literal());
                    bad(d, ErrorCode::ExperimentBadPercent, message)
                }
            },
            Some(other) => d.wrong_type("a number", other),
        });
    }
    if let Some(vs) = m.get("variants") {
        def.variants = d.field("variants", |d| variants(d, vs));
    }
    window(d, m, &mut def);
    def
}

/// `starts_at` / `ends_at`: RFC 3339 times, the end after the start.
fn window(d: &mut Decoder, m: &Map, def: &mut ExperimentDef) {
    for (key, slot) in [
        ("starts_at", &mut def.starts_at),
        ("ends_at", &mut def.ends_at),
    ] {
        d.field(key, |d| match m.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => match Timestamp::parse_rfc3339(s.trim()) {
                Some(t) => *slot = Some(t),
                None => {
                    let message = format!("{key} must be an RFC 3339 timestamp, got {s:?}");
                    bad(d, ErrorCode::ExperimentBadTime, message)
                }
            },
            Some(other) => d.wrong_type("an RFC 3339 string", other),
        });
    }
    if let (Some(s), Some(e)) = (def.starts_at, def.ends_at) {
        if e <= s {
            let message = "ends_at must be after starts_at";
            d.field("ends_at", |d| {
                bad(d, ErrorCode::ExperimentEmptyWindow, message)
            });
        }
    }
}

/// Why an assignment has (or lacks) a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssignReason {
    /// All gates of the definition passed; a variant was chosen.
    Assigned,
    /// No definition for this id: chosen from the default variants (reference behaviour).
    DefaultVariants,
    /// The request carried its own variant, which is kept as is.
    ClientVariant,
    /// Assignment is switched off; no variant.
    AssignmentDisabled,
    /// No user, session or anonymous id.
    NoSubject,
    /// The definition is disabled.
    Disabled,
    /// The definition is for another surface.
    SurfaceMismatch,
    /// `now < starts_at`.
    NotStarted,
    /// `now ≥ ends_at`.
    Ended,
    /// The traffic bucket is outside `traffic_percent`.
    NotInTraffic,
    /// In traffic but held out.
    Holdout,
}

impl AssignReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignReason::Assigned => "assigned",
            AssignReason::DefaultVariants => "default_variants",
            AssignReason::ClientVariant => "client_variant",
            AssignReason::AssignmentDisabled => "assignment_disabled",
            AssignReason::NoSubject => "no_subject",
            AssignReason::Disabled => "disabled",
            AssignReason::SurfaceMismatch => "surface_mismatch",
            AssignReason::NotStarted => "not_started",
            AssignReason::Ended => "ended",
            AssignReason::NotInTraffic => "not_in_traffic",
            AssignReason::Holdout => "holdout",
        }
    }
}

/// The outcome of assigning one subject to one experiment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub experiment_id: String,
    /// The variant, if the subject gets one.
    pub variant: Option<String>,
    /// The traffic bucket (0..10000), when a subject was hashed.
    pub bucket: Option<u32>,
    /// `u64_be(HMAC(salt, id + ":" + subject))`, when a variant was chosen by hashing.
    pub variant_hash: Option<u64>,
    /// Whether the subject passed the traffic gate (true without a definition, and for a
    /// client-supplied variant).
    pub in_traffic: bool,
    /// Whether the subject is in the holdout group.
    pub holdout: bool,
    pub reason: AssignReason,
}

impl Assignment {
    fn none(id: &str, reason: AssignReason) -> Assignment {
        Assignment {
            experiment_id: id.to_string(),
            variant: None,
            bucket: None,
            variant_hash: None,
            in_traffic: false,
            holdout: false,
            reason,
        }
    }

    /// `{"experiment_id", "variant"?, "bucket"?, "variant_hash"?, "in_traffic", "holdout",
    /// "reason"}` (the `assign` operation's answer). `variant_hash` is the u64 as a decimal
    /// string: JavaScript's JSON numbers lose precision above 2^53.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("experiment_id", Value::str(&self.experiment_id));
        if let Some(v) = &self.variant {
            m.push("variant", Value::str(v));
        }
        if let Some(b) = self.bucket {
            m.push("bucket", Value::u64(b as u64));
        }
        if let Some(h) = self.variant_hash {
            m.push("variant_hash", Value::String(h.to_string()));
        }
        m.push("in_traffic", Value::Bool(self.in_traffic));
        m.push("holdout", Value::Bool(self.holdout));
        m.push("reason", Value::str(self.reason.as_str()));
        Value::Object(m)
    }

    #[cfg(test)]
    /// `{"id", "variant"?}`: the shape of the request's `experiment` object, for
    /// `meta.experiment` and exposure events.
    pub fn to_meta_value(&self) -> Value {
        let mut m = Map::with_capacity(2);
        m.push("id", Value::str(&self.experiment_id));
        if let Some(v) = &self.variant {
            m.push("variant", Value::str(v));
        }
        Value::Object(m)
    }
}

/// The experiment subject: trimmed `user_id`, else `session_id`, else `anonymous_id`
/// (reference order; note that exposure's `eval_v1` prefers anonymous over session).
pub fn select_subject(user: &User) -> Option<&str> {
    [&user.user_id, &user.session_id, &user.anonymous_id]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
}

fn hash_u64(salt: &[u8], parts: &[&str]) -> u64 {
    let msg: String = parts.concat();
    u64_be_prefix(&hmac_sha256(salt, msg.as_bytes()))
}

/// The traffic bucket: `u64_be(HMAC(salt, "traffic:" + id + ":" + subject)) mod 10000`.
pub fn traffic_bucket(salt: &[u8], experiment_id: &str, subject: &str) -> u32 {
    (hash_u64(salt, &["traffic:", experiment_id, ":", subject]) % BUCKETS) as u32
}

/// The holdout bucket (extension): `u64_be(HMAC(salt, "holdout:" + id + ":" + subject)) mod 10000`.
pub fn holdout_bucket(salt: &[u8], experiment_id: &str, subject: &str) -> u32 {
    (hash_u64(salt, &["holdout:", experiment_id, ":", subject]) % BUCKETS) as u32
}

/// The 64-bit value behind the variant choice: `u64_be(HMAC(salt, id + ":" + subject))`.
pub fn variant_hash(salt: &[u8], experiment_id: &str, subject: &str) -> u64 {
    hash_u64(salt, &[experiment_id, ":", subject])
}

/// Whether a bucket is below `percent × 100` (≥ 100 → always, ≤ 0 → never).
pub fn bucket_within(bucket: u32, percent: f64) -> bool {
    if percent >= 100.0 {
        true
    } else if percent > 0.0 {
        (bucket as f64) < percent * 100.0
    } else {
        false
    }
}

fn weight_units(w: Option<f64>) -> u64 {
    match w {
        // Clamped so that programmatic definitions that skipped validation cannot overflow.
        Some(w) if w.is_finite() && w > 0.0 => (w.min(MAX_WEIGHT) * 1_000_000.0).round() as u64,
        _ => 0,
    }
}

/// Picks the variant for a 64-bit variant value: `mod n` when unweighted (the reference),
/// cumulative integer units when every variant is weighted (see the module docs). A weighted
/// list whose weights are all zero or invalid falls back to `mod n`. `None` for no variants.
pub fn pick_variant(variants: &[VariantDef], value: u64) -> Option<&VariantDef> {
    match variants.len() {
        0 => return None,
        1 => return variants.first(),
        _ => {}
    }
    if variants.iter().all(|v| v.weight.is_some()) {
        let total: u128 = variants
            .iter()
            .map(|v| weight_units(v.weight) as u128)
            .sum();
        if total > 0 {
            let point = (value as u128 * total) >> 64;
            let mut cum: u128 = 0;
            for v in variants {
                cum += weight_units(v.weight) as u128;
                if point < cum {
                    return Some(v);
                }
            }
        }
    }
    variants.get((value % variants.len() as u64) as usize)
}

#[cfg(test)]
/// Assigns `subject` to the experiment `def` on `surface` at `now` (service.md 6.2 with the
/// extensions above). `salt` is the assignment salt as raw bytes (not trimmed). A definition
/// without variants uses [`DEFAULT_VARIANTS`].
pub fn assign(
    def: &ExperimentDef,
    subject: &str,
    surface: &str,
    now: Timestamp,
    salt: &[u8],
) -> Assignment {
    let defaults = default_variants();
    assign_with_defaults(def, &defaults, subject, surface, now, salt)
}

fn eq_fold(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

fn assign_with_defaults(
    def: &ExperimentDef,
    defaults: &[VariantDef],
    subject: &str,
    surface: &str,
    now: Timestamp,
    salt: &[u8],
) -> Assignment {
    let id = def.id.as_str();
    let subject = subject.trim();
    if subject.is_empty() {
        return Assignment::none(id, AssignReason::NoSubject);
    }
    let bucket = traffic_bucket(salt, id, subject);
    let gated = |reason| Assignment {
        bucket: Some(bucket),
        ..Assignment::none(id, reason)
    };
    if !def.enabled {
        return gated(AssignReason::Disabled);
    }
    if let Some(s) = &def.surface {
        if !eq_fold(s, surface.trim()) {
            return gated(AssignReason::SurfaceMismatch);
        }
    }
    if def.starts_at.is_some_and(|s| now < s) {
        return gated(AssignReason::NotStarted);
    }
    if def.ends_at.is_some_and(|e| now >= e) {
        return gated(AssignReason::Ended);
    }
    if !bucket_within(bucket, def.traffic_percent) {
        return gated(AssignReason::NotInTraffic);
    }
    if def.holdout_percent > 0.0
        && bucket_within(holdout_bucket(salt, id, subject), def.holdout_percent)
    {
        return Assignment {
            in_traffic: true,
            holdout: true,
            ..gated(AssignReason::Holdout)
        };
    }
    let variants = if def.variants.is_empty() {
        defaults
    } else {
        &def.variants
    };
    choose(
        id,
        variants,
        subject,
        salt,
        Some(bucket),
        AssignReason::Assigned,
    )
}

fn choose(
    id: &str,
    variants: &[VariantDef],
    subject: &str,
    salt: &[u8],
    bucket: Option<u32>,
    reason: AssignReason,
) -> Assignment {
    let value = variant_hash(salt, id, subject);
    Assignment {
        experiment_id: id.to_string(),
        variant: pick_variant(variants, value).map(|v| v.name.clone()),
        bucket,
        variant_hash: Some(value),
        in_traffic: true,
        holdout: false,
        reason,
    }
}

/// The request-level assigner: definitions, default variants and the salt, applying the
/// reference's flow (client variant kept, subject selection, default variants without a
/// definition).
#[derive(Clone, Debug, PartialEq)]
pub struct Assigner {
    /// `false` → no assignment (a client-supplied variant is still passed through).
    pub enabled: bool,
    salt: Vec<u8>,
    default_variants: Vec<VariantDef>,
    definitions: Vec<ExperimentDef>,
}

impl Assigner {
    /// An enabled assigner with the reference's default variants. Definition ids must be
    /// unique and non-empty.
    pub fn new(
        salt: impl Into<Vec<u8>>,
        definitions: Vec<ExperimentDef>,
    ) -> Result<Assigner, ExperimentError> {
        let mut problems = Vec::new();
        let mut ids = std::collections::HashSet::with_capacity(definitions.len());
        for (i, d) in definitions.iter().enumerate() {
            let first_of_id = ids.insert(d.id.as_str());
            if d.id.trim().is_empty() {
                problems.push(Problem::new(
                    format!("$[{i}].id"),
                    codes::MISSING_ID,
                    "experiment id is required",
                ));
            } else if !first_of_id {
                problems.push(Problem::new(
                    format!("$[{i}].id"),
                    codes::DUPLICATE_ID,
                    format!("experiment id {:?} is defined more than once", d.id),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(ExperimentError::Invalid(problems));
        }
        Ok(Assigner {
            enabled: true,
            salt: salt.into(),
            default_variants: default_variants(),
            definitions,
        })
    }

    /// Replaces the default variants (ignored when empty).
    pub fn with_default_variants(mut self, variants: Vec<VariantDef>) -> Assigner {
        if !variants.is_empty() {
            self.default_variants = variants;
        }
        self
    }

    pub fn with_enabled(mut self, enabled: bool) -> Assigner {
        self.enabled = enabled;
        self
    }

    pub fn definition(&self, id: &str) -> Option<&ExperimentDef> {
        self.definitions.iter().find(|d| d.id == id)
    }

    /// The overrides of an assignment's variant, if its definition declares any.
    pub fn overrides(&self, a: &Assignment) -> Option<&VariantOverrides> {
        let name = a.variant.as_deref()?;
        let v = match self.definition(&a.experiment_id) {
            Some(d) if !d.variants.is_empty() => d.variant(name),
            _ => self.default_variants.iter().find(|v| v.name == name),
        }?;
        (!v.overrides.is_empty()).then_some(&v.overrides)
    }

    /// Assigns for a request: `experiment_id` and `client_variant` as in the request's
    /// `experiment` object, the request surface, its user ids and the host's `now`.
    /// `None` when the request names no experiment.
    pub fn assign(
        &self,
        experiment_id: &str,
        client_variant: &str,
        surface: &str,
        user: &User,
        now: Timestamp,
    ) -> Option<Assignment> {
        let id = experiment_id.trim();
        if id.is_empty() {
            return None;
        }
        let client = client_variant.trim();
        if !client.is_empty() {
            return Some(Assignment {
                variant: Some(client.to_string()),
                in_traffic: true,
                ..Assignment::none(id, AssignReason::ClientVariant)
            });
        }
        if !self.enabled {
            return Some(Assignment::none(id, AssignReason::AssignmentDisabled));
        }
        let Some(subject) = select_subject(user) else {
            return Some(Assignment::none(id, AssignReason::NoSubject));
        };
        Some(match self.definition(id) {
            Some(def) => assign_with_defaults(
                def,
                &self.default_variants,
                subject,
                surface,
                now,
                &self.salt,
            ),
            None => {
                let bucket = traffic_bucket(&self.salt, id, subject);
                choose(
                    id,
                    &self.default_variants,
                    subject,
                    &self.salt,
                    Some(bucket),
                    AssignReason::DefaultVariants,
                )
            }
        })
    }

    /// [`Assigner::assign`] for a normalised request's `experiment` object.
    pub fn assign_request(
        &self,
        req: &crate::request::RecommendRequest,
        now: Timestamp,
    ) -> Option<Assignment> {
        let e = req.experiment.as_ref()?;
        self.assign(&e.id, &e.variant, &req.surface, &req.user, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        assert_eq!(
            variant_hash(b"salt", "exp-1", "user-123"),
            4238060713167832805
        );
        assert_eq!(traffic_bucket(b"salt", "exp-1", "user-123"), 5868);
        assert_eq!(
            variant_hash(b"salt", "exp-home", "user-1"),
            15163657043209502297
        );
        assert_eq!(traffic_bucket(b"salt", "exp-home", "user-1"), 9926);
        let def = ExperimentDef::new("exp-1", default_variants());
        let a = assign(&def, "user-123", "home", Timestamp::default(), b"salt");
        assert_eq!(a.variant.as_deref(), Some("B"));
        assert_eq!(a.reason, AssignReason::Assigned);
    }

    #[test]
    fn bucket_edges() {
        assert!(bucket_within(9999, 100.0));
        assert!(!bucket_within(0, 0.0));
        assert!(bucket_within(0, 0.01));
        assert!(!bucket_within(1, 0.01));
        assert!(bucket_within(1234, 12.345));
        assert!(!bucket_within(1235, 12.345));
    }

    #[test]
    fn weighted_pick_is_exact() {
        let vs = vec![
            VariantDef::weighted("A", 1.0),
            VariantDef::weighted("B", 0.0),
        ];
        for v in [0, 1, u64::MAX / 2, u64::MAX] {
            assert_eq!(pick_variant(&vs, v).unwrap().name, "A");
        }
        let vs = vec![
            VariantDef::weighted("A", 1.0),
            VariantDef::weighted("B", 1.0),
        ];
        assert_eq!(pick_variant(&vs, u64::MAX / 2).unwrap().name, "A");
        assert_eq!(pick_variant(&vs, u64::MAX / 2 + 1).unwrap().name, "B");
        assert_eq!(pick_variant(&vs, u64::MAX).unwrap().name, "B");
    }

    /// A variant's override weights are read by the config's weights reader: the same
    /// literals are accepted and refused with the same messages at the same relative paths,
    /// including the upper bound (1e6), which overrides did not apply before.
    #[test]
    fn override_weights_share_the_config_reader_and_its_bound() {
        use crate::config::TenantConfig;
        use crate::json::parse;
        let cases = [
            ("1e6", true),
            ("1000000.0", true),
            ("0", true),
            ("0.25", true),
            ("1000000.5", false),
            ("2e6", false),
            ("1.7e308", false),
            ("1e400", false),
            ("-1", false),
            ("-0.0", true),
        ];
        for (lit, ok) in cases {
            let config = TenantConfig::from_value(
                &parse(format!(r#"{{"weights":{{"cooc":{lit}}}}}"#).as_bytes()).unwrap(),
            );
            let defs = parse_definitions(
                &parse(
                    format!(
                        r#"[{{"id":"e","variants":[{{"name":"A","overrides":{{"weights":{{"cooc":{lit}}}}}}}]}}]"#
                    )
                    .as_bytes(),
                )
                .unwrap(),
            );
            assert_eq!(config.is_ok(), ok, "config {lit}");
            assert_eq!(defs.is_ok(), ok, "experiment {lit}");
            if let (Err(c), Err(e)) = (config, defs) {
                assert_eq!(c.len(), 1, "{c:?}");
                assert_eq!(e.len(), 1, "{e:?}");
                assert_eq!(c[0].message, e[0].message, "{lit}");
                assert_eq!(c[0].path, "$.weights.cooc");
                assert_eq!(e[0].path, "$[0].variants[0].overrides.weights.cooc");
                assert_eq!(e[0].code, ErrorCode::ExperimentBadOverride.code());
            }
        }
        let too_large = parse_definitions(
            &parse(
                br#"[{"id":"e","variants":[{"name":"A","overrides":{"weights":{"pop":2e6}}}]}]"#,
            )
            .unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            too_large[0].message,
            "weight pop must be at most 1e6, got 2e6"
        );
    }
}
