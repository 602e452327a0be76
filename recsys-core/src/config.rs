//! Tenant config document: typed model, documented defaults, per-surface overrides and
//! validation that reports every problem at once. Validation runs when a document is written
//! *and* when a snapshot is compiled, so a bad `algo` or a negative weight can never reach
//! serving (the reference accepted `{"algo": 5}` and then failed every request).

use crate::decode::{Decoder, Keys, ProblemKind, Style};
use crate::error::{ErrorCode, Problem};
use crate::json::{Map, Value};
use std::collections::BTreeMap;

/// Which candidate strategy a surface uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algo {
    Blend,
    Popularity,
    Cooc,
    Implicit,
}

impl Algo {
    pub fn as_str(self) -> &'static str {
        match self {
            Algo::Blend => "blend",
            Algo::Popularity => "popularity",
            Algo::Cooc => "cooc",
            Algo::Implicit => "implicit",
        }
    }
    /// Parses a configured algorithm name (trimmed, case-insensitive).
    pub fn parse(s: &str) -> Option<Algo> {
        match s.trim().to_ascii_lowercase().as_str() {
            "blend" => Some(Algo::Blend),
            "popularity" => Some(Algo::Popularity),
            "cooc" => Some(Algo::Cooc),
            "implicit" => Some(Algo::Implicit),
            _ => None,
        }
    }
}

/// Blend weights: `pop` (popularity), `cooc` (co-occurrence), `emb` (similarity: implicit,
/// content, session).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Weight of the popularity signal.
    pub pop: f64,
    /// Weight of the co-occurrence signal.
    pub cooc: f64,
    /// Weight of the embedding (content / collaborative) signal.
    pub emb: f64,
}

/// The largest blend weight a config or request may set. With every signal normalised into
/// [0, 1], blended scores stay below 3 × this, far from overflow.
pub const MAX_WEIGHT: f64 = 1e6;

impl Weights {
    /// Popularity only (`pop` 1, the others 0).
    pub const POPULARITY_ONLY: Weights = Weights {
        pop: 1.0,
        cooc: 0.0,
        emb: 0.0,
    };
    /// True when every weight is zero.
    pub fn is_zero(&self) -> bool {
        self.pop == 0.0 && self.cooc == 0.0 && self.emb == 0.0
    }
}

/// Request and result limits of a tenant. Exceeding one is an error, never a silent cut.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Largest `k` a request may ask for (default 200).
    pub max_k: u32,
    /// Largest `candidates.include_ids` list (default 5000).
    pub max_include_ids: usize,
    /// Largest `candidates.exclude_ids` list (default 5000; the reference silently used only 200).
    pub max_exclude_ids: usize,
    /// Largest `anchors.item_ids` list (default 50).
    pub max_anchors: usize,
    /// Largest `required_tags` / `forbidden_tags` list (default 200).
    pub max_tags: usize,
    /// Pin slots per response (default 3).
    pub max_pins: u32,
    /// Popularity candidates examined for the pool beyond `k` (default 200).
    pub popularity_fanout: u32,
    /// Largest `k` for which `explain` is allowed (default 50; 0 = no limit).
    pub explain_max_items: u32,
    /// Co-occurrence neighbours of each anchor that join the pool, strongest first (default
    /// 200, the reference's neighbours per anchor).
    pub cooc_per_anchor: u32,
    /// Content candidates per anchor similarity tag, most popular first (default 200).
    pub content_per_tag: u32,
    /// Content candidates over all anchor tags together (default 1000); each tag gets an
    /// equal share when this binds.
    pub content_candidates: u32,
    /// Candidates gathered from every signal source together (default 5000); rule
    /// injections (item boosts and pins) come on top.
    pub max_pool: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_k: 200,
            max_include_ids: 5000,
            max_exclude_ids: 5000,
            max_anchors: 50,
            max_tags: 200,
            max_pins: 3,
            popularity_fanout: 200,
            explain_max_items: 50,
            cooc_per_anchor: 200,
            content_per_tag: 200,
            content_candidates: 1000,
            max_pool: 5000,
        }
    }
}

/// Diversity settings: MMR and brand/category caps.
#[derive(Clone, Debug, PartialEq)]
pub struct Diversity {
    /// MMR trade-off in [0, 1]; 0 disables MMR (caps still apply).
    pub mmr_lambda: f64,
    /// Max items per brand value (0 = no cap).
    pub brand_cap: u32,
    /// Max items per category value (0 = no cap).
    pub category_cap: u32,
    /// Tag prefixes whose remainder is a brand (normalised to end with `:`).
    pub brand_tag_prefixes: Vec<String>,
    /// Tag prefixes whose remainder is a category.
    pub category_tag_prefixes: Vec<String>,
}

impl Default for Diversity {
    fn default() -> Diversity {
        Diversity {
            mmr_lambda: 0.0,
            brand_cap: 0,
            category_cap: 0,
            brand_tag_prefixes: vec!["brand:".into()],
            category_tag_prefixes: vec!["category:".into(), "cat:".into()],
        }
    }
}

/// One switch per signal source (all on by default). Turning one off removes both its
/// candidates and its contribution to scores; the blend weights are untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalSwitches {
    /// The anchors' co-occurrence neighbours join the candidate pool (the co-occurrence
    /// score of candidates from other sources is kept).
    pub cooc_candidates: bool,
    /// Content similarity from `content_sim` tags: the similarity score and the content
    /// candidates per anchor tag.
    pub content: bool,
    /// The user's implicit (collaborative) row: similarity score and candidates.
    pub collaborative: bool,
    /// The user's session row: similarity score and candidates.
    pub session: bool,
    /// A user's strongest implicit items act as anchors when the request names none.
    pub history_anchors: bool,
}

impl Default for SignalSwitches {
    fn default() -> SignalSwitches {
        SignalSwitches {
            cooc_candidates: true,
            content: true,
            collaborative: true,
            session: true,
            history_anchors: true,
        }
    }
}

const SIGNAL_FIELDS: &[&str] = &[
    "cooc_candidates",
    "content",
    "collaborative",
    "session",
    "history_anchors",
];

/// Settings that apply to one surface (the tenant-wide values with that surface's overrides).
#[derive(Clone, Debug, PartialEq)]
pub struct SurfaceConfig {
    pub algo: Algo,
    /// Configured weights; `None` when neither the tenant nor the surface sets any.
    pub weights: Option<Weights>,
    pub limits: Limits,
    pub diversity: Diversity,
    pub rules_enabled: bool,
    /// Which signal sources serve (`signals` in the document).
    pub signals: SignalSwitches,
}

impl Default for SurfaceConfig {
    fn default() -> SurfaceConfig {
        SurfaceConfig {
            algo: Algo::Blend,
            weights: None,
            limits: Limits::default(),
            diversity: Diversity::default(),
            rules_enabled: true,
            signals: SignalSwitches::default(),
        }
    }
}

/// A validated tenant config document.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TenantConfig {
    /// Tenant-wide settings (what a surface without overrides gets).
    pub base: SurfaceConfig,
    /// Whether `algo` was set explicitly (changes `algo_version` as the reference does).
    pub algo_explicit: bool,
    pub flags: BTreeMap<String, bool>,
    /// Raw per-surface override objects, applied by [`TenantConfig::for_surface`].
    surfaces: BTreeMap<String, Map>,
}

/// What validating a config document found: errors on the strict decoder (path tracking,
/// every problem in order), and unknown members as warnings (kept in the stored document,
/// ignored by serving).
struct ConfigReport {
    d: Decoder,
    warnings: Vec<Problem>,
}

impl Default for ConfigReport {
    fn default() -> ConfigReport {
        ConfigReport {
            d: Decoder::new("$", STYLE),
            warnings: Vec::new(),
        }
    }
}

/// Config documents decode with exact keys; unknown members are warnings, not errors.
const STYLE: Style = Style {
    keys: Keys::Exact,
    unknown_field: ErrorCode::ConfigUnknownField,
    wrong_type: ErrorCode::ConfigWrongType,
    unknown_message: |k| format!("unknown member {k} is kept but ignored"),
};

impl ConfigReport {
    /// Runs `f` one member deeper (`<path>.name`), with the warnings at hand.
    fn field<R>(&mut self, name: &str, f: impl FnOnce(&mut ConfigReport) -> R) -> R {
        let inner = format!("{}.{name}", self.d.path());
        let outer = self.d.swap_path(inner);
        let r = f(self);
        self.d.swap_path(outer);
        r
    }

    /// An error at the current path.
    fn error(&mut self, code: ErrorCode, message: impl Into<String>) {
        self.d.report(ProblemKind::Invalid, code, message);
    }

    /// A warning for each member of `m` that `known` does not accept:
    /// `unknown <what> "k" is kept but ignored`.
    fn ignored(&mut self, m: &Map, known: impl Fn(&str) -> bool, what: &str) {
        for (k, _) in m.deduped() {
            if !known(k) {
                self.warnings.push(Problem::new(
                    format!("{}.{k}", self.d.path()),
                    codes::UNKNOWN_FIELD,
                    format!("unknown {what} {k:?} is kept but ignored"),
                ));
            }
        }
    }
}

pub mod codes {
    //! Problem codes reported by config validation.
    use crate::error::ErrorCode;
    #[cfg(test)]
    /// The document is not a JSON object (`null` is accepted as "empty").
    pub const NOT_OBJECT: &str = ErrorCode::ConfigNotObject.code();
    #[cfg(test)]
    /// A member has the wrong JSON type.
    pub const WRONG_TYPE: &str = ErrorCode::ConfigWrongType.code();
    #[cfg(test)]
    /// `algo` is not one of blend, popularity, cooc, implicit.
    pub const UNKNOWN_ALGO: &str = ErrorCode::ConfigUnknownAlgo.code();
    #[cfg(test)]
    /// A weight is negative or not finite.
    pub const NEGATIVE_WEIGHT: &str = ErrorCode::ConfigNegativeWeight.code();
    #[cfg(test)]
    /// A limit is negative, fractional or out of its allowed range.
    pub const BAD_LIMIT: &str = ErrorCode::ConfigBadLimit.code();
    #[cfg(test)]
    /// A diversity value is out of range (`mmr_lambda` outside [0, 1], negative caps).
    pub const BAD_DIVERSITY: &str = ErrorCode::ConfigBadDiversity.code();
    /// Warning: a member the core does not know; it is kept and ignored.
    pub const UNKNOWN_FIELD: &str = ErrorCode::ConfigUnknownField.code();
}

const TOP_FIELDS: &[&str] = &[
    "algo",
    "weights",
    "flags",
    "limits",
    "diversity",
    "rules_enabled",
    "signals",
    "surfaces",
];
const SURFACE_FIELDS: &[&str] = &[
    "algo",
    "weights",
    "limits",
    "diversity",
    "rules_enabled",
    "signals",
];
const LIMIT_FIELDS: &[(&str, u64, u64)] = &[
    ("max_k", 0, 1000),
    ("max_include_ids", 0, 100_000),
    ("max_exclude_ids", 0, 100_000),
    ("max_anchors", 0, 1000),
    ("max_tags", 0, 10_000),
    ("max_pins", 0, 1000),
    ("popularity_fanout", 0, 100_000),
    ("explain_max_items", 0, 100_000),
    ("cooc_per_anchor", 0, 100_000),
    ("content_per_tag", 0, 100_000),
    ("content_candidates", 0, 100_000),
    ("max_pool", 1, 1_000_000),
];
/// Limits where 0 is a value (no candidates from that source), not "keep the default".
const ZERO_MEANS_NONE: &[&str] = &[
    "explain_max_items",
    "popularity_fanout",
    "cooc_per_anchor",
    "content_per_tag",
    "content_candidates",
];

impl TenantConfig {
    /// Validates a parsed config document. `Err` carries every error; `Ok` carries the typed
    /// config and the warnings (unknown members).
    ///
    /// The document is first held to the document limits ([`crate::json::Limits::document`]),
    /// whichever way it arrived; crossing one is a problem with the parser's code
    /// (`RECSYS_JSON_TOO_LARGE`, `RECSYS_JSON_TOO_DEEP`, `RECSYS_JSON_TOO_MANY_MEMBERS`).
    pub fn from_value(v: &Value) -> Result<(TenantConfig, Vec<Problem>), Vec<Problem>> {
        if let Err(e) = crate::json::check_value(v, &crate::json::Limits::document()) {
            return Err(vec![Problem::new("$", e.code(), e.message)]);
        }
        let mut rep = ConfigReport::default();
        let cfg = build(v, &mut rep);
        if rep.d.is_clean() {
            Ok((cfg, rep.warnings))
        } else {
            Err(rep.d.into_problems())
        }
    }

    /// The settings for one surface: tenant-wide values with that surface's overrides.
    pub fn for_surface(&self, surface: &str) -> SurfaceConfig {
        let mut sc = self.base.clone();
        if let Some(over) = self.surfaces.get(surface) {
            let mut rep = ConfigReport::default();
            apply_section(&mut sc, over, &mut rep, SURFACE_FIELDS, &mut false);
        }
        sc
    }

    /// Surface names that have overrides.
    pub fn surfaces(&self) -> impl Iterator<Item = &str> {
        self.surfaces.keys().map(String::as_str)
    }
}

fn build(v: &Value, rep: &mut ConfigReport) -> TenantConfig {
    let mut cfg = TenantConfig::default();
    let m = match v {
        Value::Null => return cfg,
        Value::Object(m) => m,
        other => {
            let message = format!("config must be a json object, got {}", other.type_name());
            rep.error(ErrorCode::ConfigNotObject, message);
            return cfg;
        }
    };
    let mut algo_explicit = false;
    apply_section(&mut cfg.base, m, rep, TOP_FIELDS, &mut algo_explicit);
    cfg.algo_explicit = algo_explicit;
    if let Some(fm) = rep.d.field("flags", |d| d.object(m.get("flags"))) {
        rep.field("flags", |rep| {
            for (k, fv) in fm.deduped() {
                match fv {
                    Value::Bool(b) => {
                        cfg.flags.insert(k.to_string(), *b);
                    }
                    other => {
                        let message =
                            format!("flag {k:?} must be a boolean, got {}", other.type_name());
                        rep.field(k, |rep| rep.error(ErrorCode::ConfigWrongType, message));
                    }
                }
            }
        });
    }
    if let Some(sm) = rep.d.field("surfaces", |d| d.object(m.get("surfaces"))) {
        rep.field("surfaces", |rep| {
            for (name, sv) in sm.deduped() {
                rep.field(name, |rep| surface(rep, &mut cfg, name, sv));
            }
        });
    }
    cfg
}

/// One `surfaces` member: a path-safe name and an override object, validated now against a
/// throwaway target and kept raw for [`TenantConfig::for_surface`].
fn surface(rep: &mut ConfigReport, cfg: &mut TenantConfig, name: &str, sv: &Value) {
    if !crate::request::is_path_safe(name) {
        let message = format!("surface name {name:?} contains an invalid path segment");
        rep.error(ErrorCode::ConfigBadSurface, message);
        return;
    }
    match sv {
        Value::Object(om) => {
            let mut probe = cfg.base.clone();
            apply_section(&mut probe, om, rep, SURFACE_FIELDS, &mut false);
            cfg.surfaces.insert(name.trim().to_string(), om.clone());
        }
        other => rep.d.wrong_type("an object", other),
    }
}

/// Applies the members of one config object (tenant level or a surface override, at the
/// report's current path) onto `sc`.
fn apply_section(
    sc: &mut SurfaceConfig,
    m: &Map,
    rep: &mut ConfigReport,
    known: &[&str],
    algo_explicit: &mut bool,
) {
    rep.ignored(m, |k| known.contains(&k), "member");
    rep.field("algo", |rep| match rep.d.string(m.get("algo")) {
        None => {}
        Some(s) if s.trim().is_empty() => {}
        Some(s) => match Algo::parse(s) {
            Some(a) => {
                sc.algo = a;
                *algo_explicit = true;
            }
            None => {
                let message = format!("algo {s:?} is not one of blend, popularity, cooc, implicit");
                rep.error(ErrorCode::ConfigUnknownAlgo, message)
            }
        },
    });
    if let Some(wm) = rep.d.field("weights", |d| d.object(m.get("weights"))) {
        sc.weights = Some(rep.field("weights", |rep| weights(rep, wm)));
    }
    if let Some(lm) = rep.d.field("limits", |d| d.object(m.get("limits"))) {
        rep.field("limits", |rep| limits(rep, &mut sc.limits, lm));
    }
    if let Some(dm) = rep.d.field("diversity", |d| d.object(m.get("diversity"))) {
        rep.field("diversity", |rep| {
            apply_diversity(&mut sc.diversity, dm, rep)
        });
    }
    if let Some(b) = rep
        .d
        .field("rules_enabled", |d| d.boolean(m.get("rules_enabled")))
    {
        sc.rules_enabled = b;
    }
    if let Some(sm) = rep.d.field("signals", |d| d.object(m.get("signals"))) {
        rep.field("signals", |rep| apply_signals(&mut sc.signals, sm, rep));
    }
}

/// `signals`: one boolean switch per signal source ([`SIGNAL_FIELDS`]).
fn apply_signals(s: &mut SignalSwitches, m: &Map, rep: &mut ConfigReport) {
    for (k, v) in m.deduped() {
        let slot = match k {
            "cooc_candidates" => &mut s.cooc_candidates,
            "content" => &mut s.content,
            "collaborative" => &mut s.collaborative,
            "session" => &mut s.session,
            "history_anchors" => &mut s.history_anchors,
            _ => {
                rep.warnings.push(Problem::new(
                    format!("{}.{k}", rep.d.path()),
                    codes::UNKNOWN_FIELD,
                    format!(
                        "unknown signal switch {k:?} is kept but ignored (known: {})",
                        SIGNAL_FIELDS.join(", ")
                    ),
                ));
                continue;
            }
        };
        if let Some(b) = rep.d.field(k, |d| d.boolean(Some(v))) {
            *slot = b;
        }
    }
}

/// `weights`: `pop`, `cooc`, `emb` ([`read_weights`]); other members are warnings.
fn weights(rep: &mut ConfigReport, wm: &Map) -> Weights {
    let codes = WeightCodes {
        too_large: ErrorCode::ConfigWeightTooLarge,
        negative: ErrorCode::ConfigNegativeWeight,
    };
    let w = read_weights(&mut rep.d, wm, codes);
    rep.ignored(wm, |k| WEIGHT_FIELDS.contains(&k), "weight");
    w
}

/// The members of a `weights` object.
pub(crate) const WEIGHT_FIELDS: [&str; 3] = ["pop", "cooc", "emb"];

/// The codes a weight that cannot be used is reported with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WeightCodes {
    /// A weight above [`MAX_WEIGHT`].
    pub too_large: ErrorCode,
    /// A negative weight, or a literal out of the `f64` range.
    pub negative: ErrorCode,
}

/// The one reader of blend weights written in documents (a config's `weights`, an
/// experiment variant's `overrides.weights`), the decoder at the `weights` object: `pop`,
/// `cooc` and `emb` each a number, finite, non-negative and at most [`MAX_WEIGHT`]; absent
/// or `null` is 0. Every unusable weight is a finding (other members are the caller's).
pub(crate) fn read_weights(d: &mut Decoder, wm: &Map, codes: WeightCodes) -> Weights {
    let mut w = Weights {
        pop: 0.0,
        cooc: 0.0,
        emb: 0.0,
    };
    for (k, slot) in WEIGHT_FIELDS
        .into_iter()
        .zip([&mut w.pop, &mut w.cooc, &mut w.emb])
    {
        d.field(k, |d| match wm.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f > MAX_WEIGHT => {
                    let message = format!(
                        "weight {k} must be at most {MAX_WEIGHT:e}, got {}",
                        n.literal()
                    );
                    d.report(ProblemKind::Invalid, codes.too_large, message)
                }
                Some(f) if f >= 0.0 => *slot = f,
                _ => {
                    let message = format!(
                        "weight {k} must be a non-negative finite number, got {}",
                        n.literal()
                    );
                    d.report(ProblemKind::Invalid, codes.negative, message)
                }
            },
            Some(other) => d.wrong_type("a number", other),
        });
    }
    w
}

/// `limits`: each an integer in its range; 0 keeps the default except where 0 means "none".
fn limits(rep: &mut ConfigReport, l: &mut Limits, lm: &Map) {
    rep.ignored(
        lm,
        |k| LIMIT_FIELDS.iter().any(|(n, _, _)| *n == k),
        "limit",
    );
    for (k, lo, hi) in LIMIT_FIELDS {
        let v = rep.field(k, |rep| match lm.get(k) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_integral_i64() {
                Some(i) if i >= *lo as i64 && i <= *hi as i64 => Some(i as u64),
                _ => {
                    let message = format!(
                        "limit {k} must be an integer between {lo} and {hi}, got {}",
                        n.literal()
                    );
                    rep.error(ErrorCode::ConfigBadLimit, message);
                    None
                }
            },
            Some(other) => {
                rep.d.wrong_type("an integer", other);
                None
            }
        });
        let Some(v) = v else { continue };
        // 0 keeps the default (the reference accepted 0 for "unset").
        if v == 0 && !ZERO_MEANS_NONE.contains(k) {
            continue;
        }
        match *k {
            "max_k" => l.max_k = v as u32,
            "max_include_ids" => l.max_include_ids = v as usize,
            "max_exclude_ids" => l.max_exclude_ids = v as usize,
            "max_anchors" => l.max_anchors = v as usize,
            "max_tags" => l.max_tags = v as usize,
            "max_pins" => l.max_pins = v as u32,
            "popularity_fanout" => l.popularity_fanout = v as u32,
            "cooc_per_anchor" => l.cooc_per_anchor = v as u32,
            "content_per_tag" => l.content_per_tag = v as u32,
            "content_candidates" => l.content_candidates = v as u32,
            "max_pool" => l.max_pool = v as u32,
            _ => l.explain_max_items = v as u32,
        }
    }
}

const DIVERSITY_FIELDS: &[&str] = &[
    "mmr_lambda",
    "brand_cap",
    "category_cap",
    "brand_tag_prefixes",
    "category_tag_prefixes",
];

fn apply_diversity(d: &mut Diversity, m: &Map, rep: &mut ConfigReport) {
    rep.ignored(m, |k| DIVERSITY_FIELDS.contains(&k), "member");
    rep.field("mmr_lambda", |rep| match m.get("mmr_lambda") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if (0.0..=1.0).contains(&f) => d.mmr_lambda = f,
            _ => {
                let message = format!("mmr_lambda must be between 0 and 1, got {}", n.literal());
                rep.error(ErrorCode::ConfigBadDiversity, message)
            }
        },
        Some(other) => rep.d.wrong_type("a number", other),
    });
    for (k, slot) in [
        ("brand_cap", &mut d.brand_cap),
        ("category_cap", &mut d.category_cap),
    ] {
        rep.field(k, |rep| match m.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => match n.as_integral_i64() {
                Some(i) if (0..=100_000).contains(&i) => *slot = i as u32,
                _ => {
                    let message =
                        format!("{k} must be a non-negative integer, got {}", n.literal());
                    rep.error(ErrorCode::ConfigBadDiversity, message)
                }
            },
            Some(other) => rep.d.wrong_type("an integer", other),
        });
    }
    for (k, slot) in [
        ("brand_tag_prefixes", &mut d.brand_tag_prefixes),
        ("category_tag_prefixes", &mut d.category_tag_prefixes),
    ] {
        rep.field(k, |rep| match m.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => *slot = prefixes(rep, a),
            Some(other) => rep.d.wrong_type("an array of strings", other),
        });
    }
}

/// A tag-prefix list: normalised, blanks dropped, de-duplicated; non-strings are errors.
fn prefixes(rep: &mut ConfigReport, a: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, x) in a.iter().enumerate() {
        match x.as_str() {
            Some(s) => {
                let p = normalize_prefix(s);
                if !p.is_empty() && seen.insert(p.clone()) {
                    out.push(p);
                }
            }
            None => rep.d.index(i, |d| d.wrong_type("a string", x)),
        }
    }
    out
}

/// `"Brand"`, `"brand:"` and `" BRAND: "` all become `brand:`; blank stays empty.
pub fn normalize_prefix(s: &str) -> String {
    let t = crate::request::normalize_tag(s);
    let t = t.strip_suffix(':').unwrap_or(&t).trim().to_string();
    if t.is_empty() {
        t
    } else {
        format!("{t}:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn cfg(s: &str) -> Result<(TenantConfig, Vec<Problem>), Vec<Problem>> {
        TenantConfig::from_value(&parse(s.as_bytes()).unwrap())
    }

    #[test]
    fn defaults_for_empty_and_null() {
        for s in ["{}", "null"] {
            let (c, w) = cfg(s).unwrap();
            assert!(w.is_empty());
            assert_eq!(c.base, SurfaceConfig::default());
            assert!(!c.algo_explicit);
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errs = cfg(r#"{"algo":"foo","weights":{"pop":-1,"cooc":"x"},"limits":{"max_k":-2,"max_pins":1.5},
            "diversity":{"mmr_lambda":2,"brand_cap":-1,"brand_tag_prefixes":[3]},"flags":{"a":1},"rules_enabled":"yes"}"#)
        .unwrap_err();
        let codes: Vec<(&str, &str)> = errs.iter().map(|p| (p.path.as_str(), p.code)).collect();
        for want in [
            ("$.algo", codes::UNKNOWN_ALGO),
            ("$.weights.pop", codes::NEGATIVE_WEIGHT),
            ("$.weights.cooc", codes::WRONG_TYPE),
            ("$.limits.max_k", codes::BAD_LIMIT),
            ("$.limits.max_pins", codes::BAD_LIMIT),
            ("$.diversity.mmr_lambda", codes::BAD_DIVERSITY),
            ("$.diversity.brand_cap", codes::BAD_DIVERSITY),
            ("$.diversity.brand_tag_prefixes[0]", codes::WRONG_TYPE),
            ("$.flags.a", codes::WRONG_TYPE),
            ("$.rules_enabled", codes::WRONG_TYPE),
        ] {
            assert!(codes.contains(&want), "missing {want:?} in {codes:?}");
        }
        assert_eq!(errs.len(), 10);
    }

    #[test]
    fn algo_must_be_a_known_string() {
        assert_eq!(cfg(r#"{"algo":5}"#).unwrap_err()[0].code, codes::WRONG_TYPE);
        let (c, _) = cfg(r#"{"algo":" Popularity "}"#).unwrap();
        assert_eq!(c.base.algo, Algo::Popularity);
        assert!(c.algo_explicit);
    }

    #[test]
    fn unknown_fields_are_warnings() {
        let (_, w) =
            cfg(r#"{"colour":"red","weights":{"pop":1,"x":2},"limits":{"max_q":1}}"#).unwrap();
        let paths: Vec<&str> = w.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["$.colour", "$.weights.x", "$.limits.max_q"]);
        assert!(w.iter().all(|p| p.code == codes::UNKNOWN_FIELD));
    }

    #[test]
    fn surface_overrides_apply_on_top_of_tenant_values() {
        let (c, _) = cfg(r#"{"algo":"blend","weights":{"pop":1,"cooc":0.5},"limits":{"max_k":100},
            "surfaces":{"pdp":{"algo":"cooc","weights":{"cooc":1},"diversity":{"mmr_lambda":0.5,"brand_tag_prefixes":["Maker"]}}}}"#)
        .unwrap();
        let home = c.for_surface("home");
        assert_eq!(home.algo, Algo::Blend);
        assert_eq!(
            home.weights,
            Some(Weights {
                pop: 1.0,
                cooc: 0.5,
                emb: 0.0
            })
        );
        let pdp = c.for_surface("pdp");
        assert_eq!(pdp.algo, Algo::Cooc);
        assert_eq!(
            pdp.weights,
            Some(Weights {
                pop: 0.0,
                cooc: 1.0,
                emb: 0.0
            })
        );
        assert_eq!(pdp.limits.max_k, 100);
        assert_eq!(pdp.diversity.mmr_lambda, 0.5);
        assert_eq!(pdp.diversity.brand_tag_prefixes, vec!["maker:".to_string()]);
        let bad = cfg(r#"{"surfaces":{"a/b":{}, "x":{"algo":"nope"}}}"#).unwrap_err();
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[1].path, "$.surfaces.x.algo");
    }

    #[test]
    fn non_objects_are_rejected() {
        for s in ["[]", "3", "\"x\"", "true"] {
            assert_eq!(cfg(s).unwrap_err()[0].code, codes::NOT_OBJECT, "{s}");
        }
    }

    #[test]
    fn zero_limits_keep_defaults() {
        let (c, _) = cfg(r#"{"limits":{"max_k":0,"max_exclude_ids":0}}"#).unwrap();
        assert_eq!(c.base.limits, Limits::default());
    }

    #[test]
    fn candidate_budgets_take_zero_and_the_pool_cap_does_not() {
        let (c, w) = cfg(r#"{"limits":{"cooc_per_anchor":0,"content_per_tag":7,
            "content_candidates":0,"max_pool":300}}"#)
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        let l = &c.base.limits;
        assert_eq!(
            (
                l.cooc_per_anchor,
                l.content_per_tag,
                l.content_candidates,
                l.max_pool
            ),
            (0, 7, 0, 300)
        );
        let errs = cfg(r#"{"limits":{"max_pool":0,"content_per_tag":-1}}"#).unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["$.limits.content_per_tag", "$.limits.max_pool"],
            "{errs:?}"
        );
    }

    #[test]
    fn signal_switches_default_on_and_turn_off_one_by_one() {
        let (c, _) = cfg("{}").unwrap();
        assert_eq!(c.base.signals, SignalSwitches::default());
        assert!(c.base.signals.content && c.base.signals.history_anchors);
        let (c, w) = cfg(r#"{"signals":{"content":false,"colour":true},
            "surfaces":{"pdp":{"signals":{"session":false}}}}"#)
        .unwrap();
        assert!(!c.base.signals.content && c.base.signals.collaborative);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].path, "$.signals.colour");
        let pdp = c.for_surface("pdp").signals;
        assert!(!pdp.content && !pdp.session && pdp.cooc_candidates);
        let errs = cfg(r#"{"signals":{"content":"no"}}"#).unwrap_err();
        assert_eq!(errs[0].path, "$.signals.content");
        assert_eq!(errs[0].code, codes::WRONG_TYPE);
        let errs = cfg(r#"{"signals":[]}"#).unwrap_err();
        assert_eq!(errs[0].path, "$.signals");
    }
}
