//! Tenant config document: typed model, documented defaults, per-surface overrides and
//! validation that reports every problem at once. Validation runs when a document is written
//! *and* when a snapshot is compiled, so a bad `algo` or a negative weight can never reach
//! serving (the reference accepted `{"algo": 5}` and then failed every request).

use crate::error::Problem;
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
    pub pop: f64,
    pub cooc: f64,
    pub emb: f64,
}

/// The largest blend weight a config or request may set. With every signal normalised into
/// [0, 1], blended scores stay below 3 × this, far from overflow.
pub const MAX_WEIGHT: f64 = 1e6;

impl Weights {
    pub const POPULARITY_ONLY: Weights = Weights {
        pop: 1.0,
        cooc: 0.0,
        emb: 0.0,
    };
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

/// Settings that apply to one surface (the tenant-wide values with that surface's overrides).
#[derive(Clone, Debug, PartialEq)]
pub struct SurfaceConfig {
    pub algo: Algo,
    /// Configured weights; `None` when neither the tenant nor the surface sets any.
    pub weights: Option<Weights>,
    pub limits: Limits,
    pub diversity: Diversity,
    pub rules_enabled: bool,
}

impl Default for SurfaceConfig {
    fn default() -> SurfaceConfig {
        SurfaceConfig {
            algo: Algo::Blend,
            weights: None,
            limits: Limits::default(),
            diversity: Diversity::default(),
            rules_enabled: true,
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

/// The outcome of validating a config document.
#[derive(Clone, Debug, Default)]
pub struct ConfigReport {
    pub errors: Vec<Problem>,
    /// Unknown members (kept in the stored document, ignored by serving).
    pub warnings: Vec<Problem>,
}

pub mod codes {
    //! Problem codes reported by config validation.
    use crate::error::ErrorCode;
    /// The document is not a JSON object (`null` is accepted as "empty").
    pub const NOT_OBJECT: &str = ErrorCode::ConfigNotObject.code();
    /// A member has the wrong JSON type.
    pub const WRONG_TYPE: &str = ErrorCode::ConfigWrongType.code();
    /// `algo` is not one of blend, popularity, cooc, implicit.
    pub const UNKNOWN_ALGO: &str = ErrorCode::ConfigUnknownAlgo.code();
    /// A weight is negative or not finite.
    pub const NEGATIVE_WEIGHT: &str = ErrorCode::ConfigNegativeWeight.code();
    /// A weight is larger than [`super::MAX_WEIGHT`].
    pub const WEIGHT_TOO_LARGE: &str = ErrorCode::ConfigWeightTooLarge.code();
    /// A limit is negative, fractional or out of its allowed range.
    pub const BAD_LIMIT: &str = ErrorCode::ConfigBadLimit.code();
    /// A diversity value is out of range (`mmr_lambda` outside [0, 1], negative caps).
    pub const BAD_DIVERSITY: &str = ErrorCode::ConfigBadDiversity.code();
    /// A surface name is not path-safe.
    pub const BAD_SURFACE: &str = ErrorCode::ConfigBadSurface.code();
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
    "surfaces",
];
const SURFACE_FIELDS: &[&str] = &["algo", "weights", "limits", "diversity", "rules_enabled"];
const LIMIT_FIELDS: &[(&str, u64, u64)] = &[
    ("max_k", 0, 1000),
    ("max_include_ids", 0, 100_000),
    ("max_exclude_ids", 0, 100_000),
    ("max_anchors", 0, 1000),
    ("max_tags", 0, 10_000),
    ("max_pins", 0, 1000),
    ("popularity_fanout", 0, 100_000),
    ("explain_max_items", 0, 100_000),
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
        if rep.errors.is_empty() {
            Ok((cfg, rep.warnings))
        } else {
            Err(rep.errors)
        }
    }

    /// The settings for one surface: tenant-wide values with that surface's overrides.
    pub fn for_surface(&self, surface: &str) -> SurfaceConfig {
        let mut sc = self.base.clone();
        if let Some(over) = self.surfaces.get(surface) {
            let mut rep = ConfigReport::default();
            apply_section(&mut sc, over, "$", &mut rep, SURFACE_FIELDS, &mut false);
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
            rep.errors.push(Problem::new(
                "$",
                codes::NOT_OBJECT,
                format!("config must be a json object, got {}", other.type_name()),
            ));
            return cfg;
        }
    };
    let mut algo_explicit = false;
    apply_section(&mut cfg.base, m, "$", rep, TOP_FIELDS, &mut algo_explicit);
    cfg.algo_explicit = algo_explicit;
    if let Some(flags) = m.get("flags") {
        match flags {
            Value::Null => {}
            Value::Object(fm) => {
                for (k, fv) in fm.deduped() {
                    match fv {
                        Value::Bool(b) => {
                            cfg.flags.insert(k.to_string(), *b);
                        }
                        other => rep.errors.push(Problem::new(
                            format!("$.flags.{k}"),
                            codes::WRONG_TYPE,
                            format!("flag {k:?} must be a boolean, got {}", other.type_name()),
                        )),
                    }
                }
            }
            other => rep.errors.push(wrong_type("$.flags", "an object", other)),
        }
    }
    if let Some(s) = m.get("surfaces") {
        match s {
            Value::Null => {}
            Value::Object(sm) => {
                for (name, sv) in sm.deduped() {
                    let path = format!("$.surfaces.{name}");
                    if !crate::request::is_path_safe(name) {
                        rep.errors.push(Problem::new(
                            &path,
                            codes::BAD_SURFACE,
                            format!("surface name {name:?} contains an invalid path segment"),
                        ));
                        continue;
                    }
                    match sv {
                        Value::Object(om) => {
                            // Validate the override now, against a throwaway target.
                            let mut probe = cfg.base.clone();
                            apply_section(&mut probe, om, &path, rep, SURFACE_FIELDS, &mut false);
                            cfg.surfaces.insert(name.trim().to_string(), om.clone());
                        }
                        other => rep.errors.push(wrong_type(&path, "an object", other)),
                    }
                }
            }
            other => rep
                .errors
                .push(wrong_type("$.surfaces", "an object", other)),
        }
    }
    cfg
}

fn wrong_type(path: &str, want: &str, got: &Value) -> Problem {
    Problem::new(
        path,
        codes::WRONG_TYPE,
        format!("{path} must be {want}, got {}", got.type_name()),
    )
}

/// Applies the members of one config object (tenant level or a surface override) onto `sc`.
fn apply_section(
    sc: &mut SurfaceConfig,
    m: &Map,
    base: &str,
    rep: &mut ConfigReport,
    known: &[&str],
    algo_explicit: &mut bool,
) {
    for (k, _) in m.deduped() {
        if !known.contains(&k) {
            rep.warnings.push(Problem::new(
                format!("{base}.{k}"),
                codes::UNKNOWN_FIELD,
                format!("unknown member {k:?} is kept but ignored"),
            ));
        }
    }
    match m.get("algo") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => match Algo::parse(s) {
            Some(a) => {
                sc.algo = a;
                *algo_explicit = true;
            }
            None => rep.errors.push(Problem::new(
                format!("{base}.algo"),
                codes::UNKNOWN_ALGO,
                format!("algo {s:?} is not one of blend, popularity, cooc, implicit"),
            )),
        },
        Some(other) => rep
            .errors
            .push(wrong_type(&format!("{base}.algo"), "a string", other)),
    }
    match m.get("weights") {
        None | Some(Value::Null) => {}
        Some(Value::Object(wm)) => {
            let mut w = Weights {
                pop: 0.0,
                cooc: 0.0,
                emb: 0.0,
            };
            for (k, slot) in [
                ("pop", &mut w.pop),
                ("cooc", &mut w.cooc),
                ("emb", &mut w.emb),
            ] {
                let path = format!("{base}.weights.{k}");
                match wm.get(k) {
                    None | Some(Value::Null) => {}
                    Some(Value::Number(n)) => match n.as_f64() {
                        Some(f) if f > MAX_WEIGHT => rep.errors.push(Problem::new(
                            &path,
                            codes::WEIGHT_TOO_LARGE,
                            format!(
                                "weight {k} must be at most {MAX_WEIGHT:e}, got {}",
                                n.literal()
                            ),
                        )),
                        Some(f) if f >= 0.0 => *slot = f,
                        _ => rep.errors.push(Problem::new(
                            &path,
                            codes::NEGATIVE_WEIGHT,
                            format!(
                                "weight {k} must be a non-negative finite number, got {}",
                                n.literal()
                            ),
                        )),
                    },
                    Some(other) => rep.errors.push(wrong_type(&path, "a number", other)),
                }
            }
            for (k, _) in wm.deduped() {
                if !["pop", "cooc", "emb"].contains(&k) {
                    rep.warnings.push(Problem::new(
                        format!("{base}.weights.{k}"),
                        codes::UNKNOWN_FIELD,
                        format!("unknown weight {k:?} is kept but ignored"),
                    ));
                }
            }
            sc.weights = Some(w);
        }
        Some(other) => rep
            .errors
            .push(wrong_type(&format!("{base}.weights"), "an object", other)),
    }
    match m.get("limits") {
        None | Some(Value::Null) => {}
        Some(Value::Object(lm)) => {
            for (k, _) in lm.deduped() {
                if !LIMIT_FIELDS.iter().any(|(n, _, _)| *n == k) {
                    rep.warnings.push(Problem::new(
                        format!("{base}.limits.{k}"),
                        codes::UNKNOWN_FIELD,
                        format!("unknown limit {k:?} is kept but ignored"),
                    ));
                }
            }
            for (k, lo, hi) in LIMIT_FIELDS {
                let path = format!("{base}.limits.{k}");
                let v = match lm.get(k) {
                    None | Some(Value::Null) => continue,
                    Some(Value::Number(n)) => {
                        match n.as_integral_i64() {
                            Some(i) if i >= *lo as i64 && i <= *hi as i64 => i as u64,
                            _ => {
                                rep.errors.push(Problem::new(
                                &path,
                                codes::BAD_LIMIT,
                                format!("limit {k} must be an integer between {lo} and {hi}, got {}", n.literal()),
                            ));
                                continue;
                            }
                        }
                    }
                    Some(other) => {
                        rep.errors.push(wrong_type(&path, "an integer", other));
                        continue;
                    }
                };
                // 0 keeps the default (the reference accepted 0 for "unset").
                if v == 0 && *k != "explain_max_items" && *k != "popularity_fanout" {
                    continue;
                }
                let l = &mut sc.limits;
                match *k {
                    "max_k" => l.max_k = v as u32,
                    "max_include_ids" => l.max_include_ids = v as usize,
                    "max_exclude_ids" => l.max_exclude_ids = v as usize,
                    "max_anchors" => l.max_anchors = v as usize,
                    "max_tags" => l.max_tags = v as usize,
                    "max_pins" => l.max_pins = v as u32,
                    "popularity_fanout" => l.popularity_fanout = v as u32,
                    _ => l.explain_max_items = v as u32,
                }
            }
        }
        Some(other) => rep
            .errors
            .push(wrong_type(&format!("{base}.limits"), "an object", other)),
    }
    match m.get("diversity") {
        None | Some(Value::Null) => {}
        Some(Value::Object(dm)) => {
            apply_diversity(&mut sc.diversity, dm, &format!("{base}.diversity"), rep)
        }
        Some(other) => {
            rep.errors
                .push(wrong_type(&format!("{base}.diversity"), "an object", other))
        }
    }
    match m.get("rules_enabled") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => sc.rules_enabled = *b,
        Some(other) => rep.errors.push(wrong_type(
            &format!("{base}.rules_enabled"),
            "a boolean",
            other,
        )),
    }
}

fn apply_diversity(d: &mut Diversity, m: &Map, base: &str, rep: &mut ConfigReport) {
    for (k, _) in m.deduped() {
        if ![
            "mmr_lambda",
            "brand_cap",
            "category_cap",
            "brand_tag_prefixes",
            "category_tag_prefixes",
        ]
        .contains(&k)
        {
            rep.warnings.push(Problem::new(
                format!("{base}.{k}"),
                codes::UNKNOWN_FIELD,
                format!("unknown member {k:?} is kept but ignored"),
            ));
        }
    }
    match m.get("mmr_lambda") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if (0.0..=1.0).contains(&f) => d.mmr_lambda = f,
            _ => rep.errors.push(Problem::new(
                format!("{base}.mmr_lambda"),
                codes::BAD_DIVERSITY,
                format!("mmr_lambda must be between 0 and 1, got {}", n.literal()),
            )),
        },
        Some(other) => {
            rep.errors
                .push(wrong_type(&format!("{base}.mmr_lambda"), "a number", other))
        }
    }
    for (k, slot) in [
        ("brand_cap", &mut d.brand_cap),
        ("category_cap", &mut d.category_cap),
    ] {
        match m.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => match n.as_integral_i64() {
                Some(i) if (0..=100_000).contains(&i) => *slot = i as u32,
                _ => rep.errors.push(Problem::new(
                    format!("{base}.{k}"),
                    codes::BAD_DIVERSITY,
                    format!("{k} must be a non-negative integer, got {}", n.literal()),
                )),
            },
            Some(other) => rep
                .errors
                .push(wrong_type(&format!("{base}.{k}"), "an integer", other)),
        }
    }
    for (k, slot) in [
        ("brand_tag_prefixes", &mut d.brand_tag_prefixes),
        ("category_tag_prefixes", &mut d.category_tag_prefixes),
    ] {
        match m.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
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
                        None => {
                            rep.errors
                                .push(wrong_type(&format!("{base}.{k}[{i}]"), "a string", x))
                        }
                    }
                }
                *slot = out;
            }
            Some(other) => rep.errors.push(wrong_type(
                &format!("{base}.{k}"),
                "an array of strings",
                other,
            )),
        }
    }
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
}
