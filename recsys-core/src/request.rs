//! Request models for `recommend`, `validate` and `similar`: strict decoding (unknown members
//! rejected, keys matched case-insensitively, `null` = absent), normalisation with a
//! `DEFAULT_APPLIED` warning per default, and validation that reports every problem, with the
//! reference's status for the first one. Limits come from the tenant config; input is never
//! truncated silently.

use crate::config::{Limits, Weights};
use crate::error::{ApiError, ErrorCode, Problem};
use crate::json::{Map, Number, Value};
use crate::time::Timestamp;

/// A warning in a response: stable code and a human detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub code: &'static str,
    pub detail: String,
}

impl Warning {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Warning {
        Warning {
            code,
            detail: detail.into(),
        }
    }
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(2);
        m.push("code", Value::str(self.code));
        m.push("detail", Value::str(&self.detail));
        Value::Object(m)
    }
}

/// Warning codes (stable).
pub mod warnings {
    pub const DEFAULT_APPLIED: &str = "DEFAULT_APPLIED";
    pub const SIGNAL_UNAVAILABLE: &str = "SIGNAL_UNAVAILABLE";
    pub const SIGNAL_PARTIAL: &str = "SIGNAL_PARTIAL";
    pub const CONSTRAINTS_FILTERED: &str = "CONSTRAINTS_FILTERED";
    pub const CANDIDATES_INCLUDE_FILTERED: &str = "CANDIDATES_INCLUDE_FILTERED";
    pub const CANDIDATES_INCLUDE_EMPTY: &str = "CANDIDATES_INCLUDE_EMPTY";
    pub const RULES_DISABLED: &str = "RULES_DISABLED";
    pub const NO_ARTIFACTS: &str = "NO_ARTIFACTS";
    pub const SURFACE_FALLBACK: &str = "SURFACE_FALLBACK";
    pub const STALE_ARTIFACTS: &str = "STALE_ARTIFACTS";
    pub const RESULT_SHORT: &str = "RESULT_SHORT";
}

/// Explain level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Explain {
    None,
    Summary,
    Full,
}

impl Explain {
    pub fn as_str(self) -> &'static str {
        match self {
            Explain::None => "none",
            Explain::Summary => "summary",
            Explain::Full => "full",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct User {
    pub user_id: String,
    pub anonymous_id: String,
    pub session_id: String,
}

impl User {
    /// The key used to look a user up in implicit / session artifacts: user id, else session
    /// id, else anonymous id (reference order).
    pub fn key(&self) -> &str {
        if !self.user_id.is_empty() {
            &self.user_id
        } else if !self.session_id.is_empty() {
            &self.session_id
        } else {
            &self.anonymous_id
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    pub locale: String,
    pub device: String,
    pub country: String,
    /// Re-rendered in UTC with second precision; not used by ranking (`ctx.now` is).
    pub now: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Constraints {
    pub required_tags: Vec<String>,
    pub forbidden_tags: Vec<String>,
    /// Tag → cap (0 = no cap, as in the reference); sorted by tag.
    pub max_per_tag: Vec<(String, u32)>,
}

impl Constraints {
    pub fn is_empty(&self) -> bool {
        self.required_tags.is_empty()
            && self.forbidden_tags.is_empty()
            && self.max_per_tag.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub include_reasons: bool,
    pub explain: Explain,
    pub include_trace: bool,
    pub seed: i64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            include_reasons: false,
            explain: Explain::None,
            include_trace: false,
            seed: 0,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Experiment {
    pub id: String,
    pub variant: String,
}

/// A normalised `recommend` / `validate` request.
#[derive(Clone, Debug, PartialEq)]
pub struct RecommendRequest {
    pub surface: String,
    pub segment: String,
    pub k: u32,
    pub user: User,
    pub context: Option<Context>,
    /// `Some` when the request had an `anchors` object (ids may be empty).
    pub anchors: Option<(Vec<String>, u32)>,
    pub include_ids: Vec<String>,
    pub exclude_ids: Vec<String>,
    pub constraints: Option<Constraints>,
    /// `Some` when the request carried a `weights` object (even `{}`): it overrides config.
    pub weights: Option<Weights>,
    pub options: Options,
    pub experiment: Option<Experiment>,
}

/// A normalised `similar` request.
#[derive(Clone, Debug, PartialEq)]
pub struct SimilarRequest {
    pub surface: String,
    pub segment: String,
    pub item_id: String,
    pub k: u32,
    pub include_ids: Vec<String>,
    pub exclude_ids: Vec<String>,
    pub constraints: Option<Constraints>,
    pub options: Options,
}

/// Request-level validation codes: 400 for malformed input, 422 for well-formed but
/// unacceptable values (the reference's split).
pub const INVALID_REQUEST: &str = ErrorCode::InvalidRequest.code();
pub const UNPROCESSABLE: &str = ErrorCode::UnprocessableEntity.code();

/// Collects problems while decoding; the first one decides the error code.
struct Dec {
    problems: Vec<(u16, Problem)>,
    warnings: Vec<Warning>,
}

impl Dec {
    fn bad(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let message = message.into();
        // Decoding failures (unknown members, wrong JSON types) come before validation, as
        // in the reference, where they stop the decoder before any value is checked.
        let decode = message.starts_with("json: unknown field")
            || (message.contains(" must be a") && message.contains(", got "));
        self.problems.push((
            if decode { 0 } else { 400 },
            Problem::new(path, INVALID_REQUEST, message),
        ));
    }
    fn unprocessable(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems
            .push((422, Problem::new(path, UNPROCESSABLE, message)));
    }
    fn finish<T>(self, v: T) -> Result<(T, Vec<Warning>), ApiError> {
        let first = self
            .problems
            .iter()
            .find(|(s, _)| *s == 0)
            .or(self.problems.first());
        match first {
            None => Ok((v, self.warnings)),
            Some((status, first)) => {
                let code = if *status == 422 {
                    ErrorCode::UnprocessableEntity
                } else {
                    ErrorCode::InvalidRequest
                };
                Err(ApiError::new(code, first.message.clone())
                    .with_problems(self.problems.into_iter().map(|(_, p)| p).collect()))
            }
        }
    }
}

/// Resolves the members of an object against a fixed field list, Go-style: keys match
/// case-insensitively, the last duplicate wins, unknown keys are errors, `null` is absent.
fn fields<'a, const N: usize>(
    m: &'a Map,
    names: [&'static str; N],
    path: &str,
    d: &mut Dec,
) -> [Option<&'a Value>; N] {
    let mut out: [Option<&'a Value>; N] = [None; N];
    for (k, v) in m.iter() {
        match names.iter().position(|n| n.eq_ignore_ascii_case(k)) {
            Some(i) => out[i] = if v.is_null() { None } else { Some(v) },
            None => d.bad(format!("{path}.{k}"), format!("json: unknown field {k:?}")),
        }
    }
    out
}

fn object<'a>(v: Option<&'a Value>, path: &str, d: &mut Dec) -> Option<&'a Map> {
    match v {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            d.bad(
                path,
                format!("{path} must be an object, got {}", other.type_name()),
            );
            None
        }
    }
}

fn string(v: Option<&Value>, path: &str, d: &mut Dec) -> String {
    match v {
        None => String::new(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => {
            d.bad(
                path,
                format!("{path} must be a string, got {}", other.type_name()),
            );
            String::new()
        }
    }
}

fn boolean(v: Option<&Value>, path: &str, d: &mut Dec) -> bool {
    match v {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            d.bad(
                path,
                format!("{path} must be a boolean, got {}", other.type_name()),
            );
            false
        }
    }
}

/// An integer member: an integer literal, or an integral number written with a fraction or
/// an exponent (`20.0`, `2e1`), as JSON Schema counts integers (the reference refused those).
fn integer(v: &Value, path: &str, d: &mut Dec) -> Option<i64> {
    match v {
        Value::Number(n) => match n.as_integral_i64() {
            Some(i) => Some(i),
            None => {
                d.bad(
                    path,
                    format!("{path} must be an integer, got {}", n.literal()),
                );
                None
            }
        },
        other => {
            d.bad(
                path,
                format!("{path} must be an integer, got {}", other.type_name()),
            );
            None
        }
    }
}

/// Trimmed, blank-free, de-duplicated (first occurrence wins) id list; case preserved.
fn id_list(v: Option<&Value>, path: &str, d: &mut Dec) -> Vec<String> {
    let a = match v {
        None => return Vec::new(),
        Some(Value::Array(a)) => a,
        Some(other) => {
            d.bad(
                path,
                format!(
                    "{path} must be an array of strings, got {}",
                    other.type_name()
                ),
            );
            return Vec::new();
        }
    };
    let mut out: Vec<String> = Vec::with_capacity(a.len());
    let mut seen = std::collections::HashSet::with_capacity(a.len());
    for (i, x) in a.iter().enumerate() {
        match x {
            Value::String(s) => {
                let t = s.trim();
                if !t.is_empty() && seen.insert(t) {
                    out.push(t.to_string());
                }
            }
            Value::Null => {}
            other => d.bad(
                format!("{path}[{i}]"),
                format!("{path}[{i}] must be a string, got {}", other.type_name()),
            ),
        }
    }
    out
}

/// Lower-cased tag list (trimmed, blanks dropped, de-duplicated).
fn tag_list(v: Option<&Value>, path: &str, d: &mut Dec) -> Vec<String> {
    let ids = id_list(v, path, d);
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for t in ids {
        let n = normalize_tag(&t);
        if !n.is_empty() && seen.insert(n.clone()) {
            out.push(n);
        }
    }
    out
}

/// Tag normalisation used everywhere: trim, then simple per-character lower-casing.
pub fn normalize_tag(s: &str) -> String {
    normalized_tag(s).into_owned()
}

/// [`normalize_tag`] without allocating when the tag is already normalised.
pub fn normalized_tag(s: &str) -> std::borrow::Cow<'_, str> {
    let t = s.trim();
    if t.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(t)
    } else {
        std::borrow::Cow::Owned(t.chars().flat_map(char::to_lowercase).collect())
    }
}

/// The path-segment rule shared with the reference: trimmed, non-empty, not `.`/`..`, no
/// `/` or `\`, no control characters.
pub fn is_path_safe(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty()
        && t != "."
        && t != ".."
        && !t.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

fn surface_segment(
    surface: Option<&Value>,
    segment: Option<&Value>,
    d: &mut Dec,
) -> (String, String) {
    let surface = string(surface, "$.surface", d);
    if surface.is_empty() {
        d.bad("$.surface", "surface is required");
    } else if !is_path_safe(&surface) {
        d.bad(
            "$.surface",
            format!("surface contains invalid path segment: {surface:?}"),
        );
    }
    let mut segment = string(segment, "$.segment", d);
    if segment.is_empty() {
        segment = "default".into();
        d.warnings.push(Warning::new(
            warnings::DEFAULT_APPLIED,
            "segment defaulted to 'default'",
        ));
    } else if !is_path_safe(&segment) {
        d.bad(
            "$.segment",
            format!("segment contains invalid path segment: {segment:?}"),
        );
    }
    (surface, segment)
}

fn k_value(v: Option<&Value>, limits: &Limits, d: &mut Dec) -> u32 {
    match v {
        None => {
            let k = 20.min(limits.max_k);
            d.warnings.push(Warning::new(
                warnings::DEFAULT_APPLIED,
                format!("k defaulted to {k}"),
            ));
            k
        }
        Some(v) => match integer(v, "$.k", d) {
            Some(k) if k >= 1 && k <= limits.max_k as i64 => k as u32,
            Some(k) => {
                d.bad(
                    "$.k",
                    format!("k must be between 1 and {}, got {k}", limits.max_k),
                );
                1
            }
            None => 1,
        },
    }
}

fn candidates(v: Option<&Value>, limits: &Limits, d: &mut Dec) -> (Vec<String>, Vec<String>) {
    let Some(m) = object(v, "$.candidates", d) else {
        return (Vec::new(), Vec::new());
    };
    let [inc, exc] = fields(m, ["include_ids", "exclude_ids"], "$.candidates", d);
    let include = id_list(inc, "$.candidates.include_ids", d);
    let exclude = id_list(exc, "$.candidates.exclude_ids", d);
    if include.len() > limits.max_include_ids {
        d.bad(
            "$.candidates.include_ids",
            format!(
                "candidates.include_ids exceeds limit: {} ids, the limit is {}",
                include.len(),
                limits.max_include_ids
            ),
        );
    }
    if exclude.len() > limits.max_exclude_ids {
        d.bad(
            "$.candidates.exclude_ids",
            format!(
                "candidates.exclude_ids exceeds limit: {} ids, the limit is {}",
                exclude.len(),
                limits.max_exclude_ids
            ),
        );
    }
    (include, exclude)
}

fn constraints(v: Option<&Value>, limits: &Limits, d: &mut Dec) -> Option<Constraints> {
    let m = object(v, "$.constraints", d)?;
    let [req, forb, mpt] = fields(
        m,
        ["required_tags", "forbidden_tags", "max_per_tag"],
        "$.constraints",
        d,
    );
    let required_tags = tag_list(req, "$.constraints.required_tags", d);
    let forbidden_tags = tag_list(forb, "$.constraints.forbidden_tags", d);
    for (name, l) in [
        ("required_tags", &required_tags),
        ("forbidden_tags", &forbidden_tags),
    ] {
        if l.len() > limits.max_tags {
            d.bad(
                format!("$.constraints.{name}"),
                format!(
                    "constraints tags exceed limit: {} {name}, the limit is {}",
                    l.len(),
                    limits.max_tags
                ),
            );
        }
    }
    let mut max_per_tag: Vec<(String, u32)> = Vec::new();
    if let Some(mv) = mpt {
        match mv {
            Value::Object(mm) => {
                let mut caps: std::collections::BTreeMap<String, u32> = Default::default();
                for (k, x) in mm.deduped() {
                    let path = format!("$.constraints.max_per_tag.{k}");
                    let Some(n) = integer(x, &path, d) else {
                        continue;
                    };
                    if n < 0 {
                        d.unprocessable(
                            &path,
                            "constraints.max_per_tag values must be non-negative",
                        );
                        continue;
                    }
                    let tag = normalize_tag(k);
                    if tag.is_empty() {
                        continue;
                    }
                    let n = n.min(u32::MAX as i64) as u32;
                    // Keys that collide after lower-casing keep the strictest cap.
                    match caps.entry(tag) {
                        std::collections::btree_map::Entry::Occupied(mut slot) => {
                            let slot = slot.get_mut();
                            if n != 0 && (*slot == 0 || n < *slot) {
                                *slot = n;
                            }
                        }
                        std::collections::btree_map::Entry::Vacant(slot) => {
                            slot.insert(n);
                        }
                    }
                }
                max_per_tag = caps.into_iter().collect();
                if max_per_tag.len() > limits.max_tags {
                    d.bad(
                        "$.constraints.max_per_tag",
                        format!(
                            "constraints.max_per_tag exceeds limit: {} tags, the limit is {}",
                            max_per_tag.len(),
                            limits.max_tags
                        ),
                    );
                }
            }
            other => d.bad(
                "$.constraints.max_per_tag",
                format!(
                    "$.constraints.max_per_tag must be an object, got {}",
                    other.type_name()
                ),
            ),
        }
    }
    let c = Constraints {
        required_tags,
        forbidden_tags,
        max_per_tag,
    };
    if c.is_empty() {
        None
    } else {
        Some(c)
    }
}

fn options(v: Option<&Value>, d: &mut Dec) -> Options {
    let Some(m) = object(v, "$.options", d) else {
        if v.is_none() {
            d.warnings
                .push(Warning::new(warnings::DEFAULT_APPLIED, "options defaulted"));
        }
        return Options::default();
    };
    let [reasons, explain, trace, seed] = fields(
        m,
        ["include_reasons", "explain", "include_trace", "seed"],
        "$.options",
        d,
    );
    let include_reasons = boolean(reasons, "$.options.include_reasons", d);
    let include_trace = boolean(trace, "$.options.include_trace", d);
    let explain_s = string(explain, "$.options.explain", d).to_ascii_lowercase();
    let explain = match explain_s.as_str() {
        "" | "none" => Explain::None,
        "summary" => Explain::Summary,
        "full" => Explain::Full,
        other => {
            d.unprocessable(
                "$.options.explain",
                format!("options.explain must be one of none, summary, full, got {other:?}"),
            );
            Explain::None
        }
    };
    let seed = seed
        .and_then(|s| integer(s, "$.options.seed", d))
        .unwrap_or(0);
    Options {
        include_reasons,
        explain,
        include_trace,
        seed,
    }
}

fn root<'a>(v: &'a Value, d: &mut Dec) -> Option<&'a Map> {
    match v {
        Value::Object(m) => Some(m),
        Value::Null => None,
        other => {
            d.bad(
                "$",
                format!("request must be a json object, got {}", other.type_name()),
            );
            None
        }
    }
}

impl RecommendRequest {
    /// Decodes, normalises and validates a recommend request against the tenant's limits.
    pub fn from_value(
        v: &Value,
        limits: &Limits,
    ) -> Result<(RecommendRequest, Vec<Warning>), ApiError> {
        let mut d = Dec {
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        let empty = Map::new();
        let m = root(v, &mut d).unwrap_or(&empty);
        let [surface, segment, k, user, context, anchors, cands, cons, weights, opts, experiment] =
            fields(
                m,
                [
                    "surface",
                    "segment",
                    "k",
                    "user",
                    "context",
                    "anchors",
                    "candidates",
                    "constraints",
                    "weights",
                    "options",
                    "experiment",
                ],
                "$",
                &mut d,
            );
        let (surface, segment) = surface_segment(surface, segment, &mut d);
        let k = k_value(k, limits, &mut d);
        let mut u = User::default();
        if let Some(um) = object(user, "$.user", &mut d) {
            let [uid, aid, sid] = fields(
                um,
                ["user_id", "anonymous_id", "session_id"],
                "$.user",
                &mut d,
            );
            u.user_id = string(uid, "$.user.user_id", &mut d);
            u.anonymous_id = string(aid, "$.user.anonymous_id", &mut d);
            u.session_id = string(sid, "$.user.session_id", &mut d);
        }
        if u.user_id.is_empty() && u.anonymous_id.is_empty() && u.session_id.is_empty() {
            d.unprocessable(
                "$.user",
                "user_id or anonymous_id or session_id is required",
            );
        }
        let context = object(context, "$.context", &mut d).map(|cm| {
            let [locale, device, country, now] = fields(
                cm,
                ["locale", "device", "country", "now"],
                "$.context",
                &mut d,
            );
            let mut c = Context {
                locale: string(locale, "$.context.locale", &mut d),
                device: string(device, "$.context.device", &mut d),
                country: string(country, "$.context.country", &mut d),
                now: string(now, "$.context.now", &mut d),
            };
            if !c.now.is_empty() {
                match Timestamp::parse_rfc3339(&c.now) {
                    Some(t) => c.now = t.to_rfc3339(),
                    None => d.bad(
                        "$.context.now",
                        format!("context.now must be RFC3339, got {:?}", c.now),
                    ),
                }
            }
            c
        });
        let anchors = object(anchors, "$.anchors", &mut d).map(|am| {
            let [ids, max] = fields(am, ["item_ids", "max_anchors"], "$.anchors", &mut d);
            let ids = id_list(ids, "$.anchors.item_ids", &mut d);
            let max = match max {
                None => {
                    d.warnings.push(Warning::new(
                        warnings::DEFAULT_APPLIED,
                        format!("anchors.max_anchors defaulted to {}", limits.max_anchors),
                    ));
                    limits.max_anchors as i64
                }
                Some(v) => {
                    integer(v, "$.anchors.max_anchors", &mut d).unwrap_or(limits.max_anchors as i64)
                }
            };
            if ids.len() > limits.max_anchors {
                d.bad(
                    "$.anchors.item_ids",
                    format!(
                        "anchors.item_ids exceeds limit: {} ids, the limit is {}",
                        ids.len(),
                        limits.max_anchors
                    ),
                );
            }
            if max < ids.len() as i64 {
                d.unprocessable(
                    "$.anchors.max_anchors",
                    "anchors.max_anchors must be >= number of anchor items",
                );
            } else if max <= 0 {
                d.bad(
                    "$.anchors.max_anchors",
                    "anchors.max_anchors must be positive",
                );
            }
            (ids, max.clamp(0, u32::MAX as i64) as u32)
        });
        let (include_ids, exclude_ids) = candidates(cands, limits, &mut d);
        let constraints = constraints(cons, limits, &mut d);
        let weights = object(weights, "$.weights", &mut d).map(|wm| {
            let [pop, cooc, emb] = fields(wm, ["pop", "cooc", "emb"], "$.weights", &mut d);
            let mut w = Weights {
                pop: 0.0,
                cooc: 0.0,
                emb: 0.0,
            };
            let mut negative = false;
            for (name, v, slot) in [
                ("pop", pop, &mut w.pop),
                ("cooc", cooc, &mut w.cooc),
                ("emb", emb, &mut w.emb),
            ] {
                match v {
                    None => {}
                    Some(Value::Number(n)) => match n.as_f64() {
                        Some(f) if f > crate::config::MAX_WEIGHT => d.unprocessable(
                            format!("$.weights.{name}"),
                            format!(
                                "weights.{name} must be at most {:e}, got {}",
                                crate::config::MAX_WEIGHT,
                                n.literal()
                            ),
                        ),
                        Some(f) if f >= 0.0 => *slot = f,
                        Some(_) => negative = true,
                        None => d.bad(
                            format!("$.weights.{name}"),
                            format!("weights.{name} is out of range: {}", n.literal()),
                        ),
                    },
                    Some(other) => d.bad(
                        format!("$.weights.{name}"),
                        format!(
                            "$.weights.{name} must be a number, got {}",
                            other.type_name()
                        ),
                    ),
                }
            }
            if negative {
                d.unprocessable("$.weights", "weights must be non-negative");
            }
            w
        });
        let options = options(opts, &mut d);
        let experiment = object(experiment, "$.experiment", &mut d).and_then(|em| {
            let [id, variant] = fields(em, ["id", "variant"], "$.experiment", &mut d);
            let e = Experiment {
                id: string(id, "$.experiment.id", &mut d),
                variant: string(variant, "$.experiment.variant", &mut d),
            };
            if e.id.is_empty() && e.variant.is_empty() {
                None
            } else {
                Some(e)
            }
        });
        d.finish(RecommendRequest {
            surface,
            segment,
            k,
            user: u,
            context,
            anchors,
            include_ids,
            exclude_ids,
            constraints,
            weights,
            options,
            experiment,
        })
    }

    /// The `normalized_request` object of a validate answer (service.md 1.5 shape).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("surface", Value::str(&self.surface));
        m.push("segment", Value::str(&self.segment));
        m.push("k", Value::u64(self.k as u64));
        let mut u = Map::new();
        for (k, v) in [
            ("user_id", &self.user.user_id),
            ("anonymous_id", &self.user.anonymous_id),
            ("session_id", &self.user.session_id),
        ] {
            if !v.is_empty() {
                u.push(k, Value::str(v));
            }
        }
        m.push("user", Value::Object(u));
        if let Some(c) = &self.context {
            let mut cm = Map::new();
            for (k, v) in [
                ("locale", &c.locale),
                ("device", &c.device),
                ("country", &c.country),
                ("now", &c.now),
            ] {
                if !v.is_empty() {
                    cm.push(k, Value::str(v));
                }
            }
            m.push("context", Value::Object(cm));
        }
        if let Some((ids, max)) = &self.anchors {
            let mut am = Map::new();
            if !ids.is_empty() {
                am.push("item_ids", strings(ids));
            }
            am.push("max_anchors", Value::u64(*max as u64));
            m.push("anchors", Value::Object(am));
        }
        if let Some(c) = candidates_value(&self.include_ids, &self.exclude_ids) {
            m.push("candidates", c);
        }
        if let Some(c) = &self.constraints {
            m.push("constraints", constraints_value(c));
        }
        if let Some(w) = &self.weights {
            let mut wm = Map::new();
            for (k, v) in [("pop", w.pop), ("cooc", w.cooc), ("emb", w.emb)] {
                if v != 0.0 {
                    wm.push(k, Value::f64(v));
                }
            }
            m.push("weights", Value::Object(wm));
        }
        m.push("options", options_value(&self.options));
        if let Some(e) = &self.experiment {
            let mut em = Map::new();
            if !e.id.is_empty() {
                em.push("id", Value::str(&e.id));
            }
            if !e.variant.is_empty() {
                em.push("variant", Value::str(&e.variant));
            }
            m.push("experiment", Value::Object(em));
        }
        Value::Object(m)
    }
}

impl SimilarRequest {
    /// Decodes, normalises and validates a similar request. Besides the reference's fields
    /// it accepts `candidates` (include/exclude), which similar honours as recommend does.
    pub fn from_value(
        v: &Value,
        limits: &Limits,
    ) -> Result<(SimilarRequest, Vec<Warning>), ApiError> {
        let mut d = Dec {
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        let empty = Map::new();
        let m = root(v, &mut d).unwrap_or(&empty);
        let [surface, segment, item_id, k, cands, cons, opts] = fields(
            m,
            [
                "surface",
                "segment",
                "item_id",
                "k",
                "candidates",
                "constraints",
                "options",
            ],
            "$",
            &mut d,
        );
        let (surface, segment) = surface_segment(surface, segment, &mut d);
        let item_id = string(item_id, "$.item_id", &mut d);
        if item_id.is_empty() {
            d.bad("$.item_id", "item_id is required");
        }
        let k = k_value(k, limits, &mut d);
        let (include_ids, exclude_ids) = candidates(cands, limits, &mut d);
        let constraints = constraints(cons, limits, &mut d);
        let options = options(opts, &mut d);
        d.finish(SimilarRequest {
            surface,
            segment,
            item_id,
            k,
            include_ids,
            exclude_ids,
            constraints,
            options,
        })
    }
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(Value::str).collect())
}

fn candidates_value(include: &[String], exclude: &[String]) -> Option<Value> {
    if include.is_empty() && exclude.is_empty() {
        return None;
    }
    let mut cm = Map::new();
    if !include.is_empty() {
        cm.push("include_ids", strings(include));
    }
    if !exclude.is_empty() {
        cm.push("exclude_ids", strings(exclude));
    }
    Some(Value::Object(cm))
}

fn constraints_value(c: &Constraints) -> Value {
    let mut cm = Map::new();
    if !c.required_tags.is_empty() {
        cm.push("required_tags", strings(&c.required_tags));
    }
    if !c.forbidden_tags.is_empty() {
        cm.push("forbidden_tags", strings(&c.forbidden_tags));
    }
    if !c.max_per_tag.is_empty() {
        let mut mm = Map::new();
        for (t, n) in &c.max_per_tag {
            mm.push(t.clone(), Value::u64(*n as u64));
        }
        cm.push("max_per_tag", Value::Object(mm));
    }
    Value::Object(cm)
}

fn options_value(o: &Options) -> Value {
    let mut om = Map::new();
    om.push("include_reasons", Value::Bool(o.include_reasons));
    om.push("explain", Value::str(o.explain.as_str()));
    om.push("include_trace", Value::Bool(o.include_trace));
    om.push("seed", Value::Number(Number::from_i64(o.seed)));
    Value::Object(om)
}

/// The host-supplied call context: time, request id, the auth-resolved tenant and roles.
#[derive(Clone, Debug, PartialEq)]
pub struct CallContext {
    pub now: Timestamp,
    pub request_id: String,
    pub tenant: String,
    pub roles: Vec<String>,
}

impl CallContext {
    /// Decodes `{"now": RFC3339, "request_id"?, "tenant", "roles"?}`.
    pub fn from_value(v: &Value) -> Result<CallContext, ApiError> {
        let mut d = Dec {
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        let empty = Map::new();
        let m = match v {
            Value::Object(m) => m,
            _ => {
                d.bad("$.ctx", "ctx must be a json object");
                &empty
            }
        };
        let [now, rid, tenant, roles] =
            fields(m, ["now", "request_id", "tenant", "roles"], "$.ctx", &mut d);
        let now_s = string(now, "$.ctx.now", &mut d);
        let now = match Timestamp::parse_rfc3339(&now_s) {
            Some(t) => t,
            None => {
                d.bad(
                    "$.ctx.now",
                    format!("ctx.now must be an RFC3339 timestamp, got {now_s:?}"),
                );
                Timestamp::default()
            }
        };
        let request_id = string(rid, "$.ctx.request_id", &mut d);
        let tenant = string(tenant, "$.ctx.tenant", &mut d);
        if tenant.is_empty() {
            d.bad("$.ctx.tenant", "ctx.tenant is required");
        }
        let roles = id_list(roles, "$.ctx.roles", &mut d)
            .into_iter()
            .map(|r| r.to_ascii_lowercase())
            .collect();
        d.finish(CallContext {
            now,
            request_id,
            tenant,
            roles,
        })
        .map(|(c, _)| c)
        .map_err(|e| ApiError::new(ErrorCode::InvalidContext, e.message).with_problems(e.problems))
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse, to_string};

    fn rec(s: &str) -> Result<(RecommendRequest, Vec<Warning>), ApiError> {
        RecommendRequest::from_value(&parse(s.as_bytes()).unwrap(), &Limits::default())
    }

    #[test]
    fn integral_numbers_count_as_integers_fractions_do_not() {
        for k in ["7", "7.0", "7e0", "0.7e1"] {
            let (r, _) = rec(&format!(
                r#"{{"surface":"home","k":{k},"user":{{"user_id":"u"}}}}"#
            ))
            .unwrap();
            assert_eq!(r.k, 7, "{k}");
        }
        for k in ["7.5", "1e400", "-0.5"] {
            let e = rec(&format!(
                r#"{{"surface":"home","k":{k},"user":{{"user_id":"u"}}}}"#
            ))
            .unwrap_err();
            assert_eq!(e.code, INVALID_REQUEST, "{k}");
            assert!(e.message.contains(k), "{}", e.message);
        }
    }

    #[test]
    fn defaults_produce_warnings_in_order() {
        let (r, w) = rec(r#"{"surface":" home ","user":{"user_id":" u1 "}}"#).unwrap();
        assert_eq!(r.surface, "home");
        assert_eq!(r.segment, "default");
        assert_eq!(r.k, 20);
        assert_eq!(r.user.user_id, "u1");
        let details: Vec<&str> = w.iter().map(|w| w.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "segment defaulted to 'default'",
                "k defaulted to 20",
                "options defaulted"
            ]
        );
    }

    #[test]
    fn keys_are_case_insensitive_and_unknown_fields_rejected() {
        let (r, _) = rec(r#"{"SURFACE":"home","User":{"USER_ID":"u"},"k":5}"#).unwrap();
        assert_eq!((r.surface.as_str(), r.k), ("home", 5));
        let e = rec(r#"{"surface":"home","user":{"user_id":"u"},"bogus":1}"#).unwrap_err();
        assert_eq!((e.code, e.status), (INVALID_REQUEST, 400));
        assert_eq!(e.problems[0].path, "$.bogus");
    }

    #[test]
    fn validation_codes_match_the_reference() {
        let cases: &[(&str, &str, u16, &str)] = &[
            (r#"{}"#, INVALID_REQUEST, 400, "surface is required"),
            (r#"null"#, INVALID_REQUEST, 400, "surface is required"),
            (
                r#"{"surface":"a/b","user":{"user_id":"u"}}"#,
                INVALID_REQUEST,
                400,
                "surface contains invalid path segment: \"a/b\"",
            ),
            (
                r#"{"surface":"h","k":0,"user":{"user_id":"u"}}"#,
                INVALID_REQUEST,
                400,
                "k must be between 1 and 200, got 0",
            ),
            (
                r#"{"surface":"h","k":20.5,"user":{"user_id":"u"}}"#,
                INVALID_REQUEST,
                400,
                "$.k must be an integer, got 20.5",
            ),
            (
                r#"{"surface":"h"}"#,
                UNPROCESSABLE,
                422,
                "user_id or anonymous_id or session_id is required",
            ),
            (
                r#"{"surface":"h","user":{"session_id":"s"},"weights":{"pop":-1}}"#,
                UNPROCESSABLE,
                422,
                "weights must be non-negative",
            ),
            (
                r#"{"surface":"h","user":{"session_id":"s"},"options":{"explain":"x"}}"#,
                UNPROCESSABLE,
                422,
                "options.explain must be one of none, summary, full, got \"x\"",
            ),
            (
                r#"{"surface":"h","user":{"session_id":"s"},"anchors":{"item_ids":["a","b"],"max_anchors":1}}"#,
                UNPROCESSABLE,
                422,
                "anchors.max_anchors must be >= number of anchor items",
            ),
            (
                r#"{"surface":"h","user":{"session_id":"s"},"constraints":{"max_per_tag":{"x":-1}}}"#,
                UNPROCESSABLE,
                422,
                "constraints.max_per_tag values must be non-negative",
            ),
            (
                r#"{"surface":"h","user":{"session_id":"s"},"context":{"now":"yesterday"}}"#,
                INVALID_REQUEST,
                400,
                "context.now must be RFC3339, got \"yesterday\"",
            ),
        ];
        for (input, code, status, msg) in cases {
            let e = rec(input).unwrap_err();
            assert_eq!(
                (e.code, e.status, e.message.as_str()),
                (*code, *status, *msg),
                "{input}"
            );
        }
    }

    #[test]
    fn all_problems_are_listed() {
        let e = rec(r#"{"surface":"","k":500,"weights":{"pop":-1}}"#).unwrap_err();
        assert_eq!(e.code, INVALID_REQUEST);
        assert_eq!(e.problems.len(), 4);
    }

    #[test]
    fn lists_are_cleaned_and_limits_enforced_not_truncated() {
        let (r, _) = rec(r#"{"surface":"h","user":{"user_id":"u"},"candidates":{"include_ids":[" a","a","","B"],"exclude_ids":["x","x"]},
            "constraints":{"required_tags":["Red"," red ","BLUE"],"max_per_tag":{"Brand:A":2,"brand:a":1}}}"#)
        .unwrap();
        assert_eq!(r.include_ids, ["a", "B"]);
        assert_eq!(r.exclude_ids, ["x"]);
        let c = r.constraints.unwrap();
        assert_eq!(c.required_tags, ["red", "blue"]);
        assert_eq!(c.max_per_tag, [("brand:a".to_string(), 1)]);
        let many: Vec<String> = (0..5001).map(|i| format!("\"i{i}\"")).collect();
        let e = rec(&format!(
            r#"{{"surface":"h","user":{{"user_id":"u"}},"candidates":{{"exclude_ids":[{}]}}}}"#,
            many.join(",")
        ))
        .unwrap_err();
        assert_eq!(
            e.message,
            "candidates.exclude_ids exceeds limit: 5001 ids, the limit is 5000"
        );
    }

    #[test]
    fn normalized_request_shape() {
        let (r, _) = rec(r#"{"surface":"h","user":{"user_id":"u"},"weights":{},"context":{"now":"2026-01-02T05:04:05.9+02:00"},"anchors":{}}"#).unwrap();
        assert_eq!(
            to_string(&r.to_value()),
            r#"{"surface":"h","segment":"default","k":20,"user":{"user_id":"u"},"context":{"now":"2026-01-02T03:04:05Z"},"anchors":{"max_anchors":50},"weights":{},"options":{"include_reasons":false,"explain":"none","include_trace":false,"seed":0}}"#
        );
    }

    #[test]
    fn context_is_required_and_checked() {
        let c = CallContext::from_value(
            &parse(br#"{"now":"2026-01-01T00:00:00Z","tenant":"demo","roles":["Admin"]}"#).unwrap(),
        )
        .unwrap();
        assert!(c.has_role("admin"));
        let e = CallContext::from_value(&parse(br#"{"tenant":""}"#).unwrap()).unwrap_err();
        assert_eq!(e.code, "RECSYS_INVALID_CONTEXT");
        assert_eq!(e.problems.len(), 2);
    }

    #[test]
    fn decode_errors_win_over_validation_errors() {
        // The missing user (422) is found first, but an unknown member is a decode error (400).
        let e = rec(r#"{"surface":"home","options":{"bogus":1}}"#).unwrap_err();
        assert_eq!((e.code, e.status), (INVALID_REQUEST, 400));
        assert_eq!(e.message, "json: unknown field \"bogus\"");
        assert_eq!(e.problems.len(), 2);
        let e = rec(r#"{"surface":"home","user":{"user_id":"u"},"weights":{"pop":-1,"cooc":"x"}}"#)
            .unwrap_err();
        assert_eq!((e.code, e.status), (INVALID_REQUEST, 400));
    }

    #[test]
    fn default_k_respects_a_lower_tenant_limit() {
        let limits = Limits {
            max_k: 5,
            ..Limits::default()
        };
        let (r, w) = RecommendRequest::from_value(
            &parse(br#"{"surface":"h","user":{"user_id":"u"}}"#).unwrap(),
            &limits,
        )
        .unwrap();
        assert_eq!(r.k, 5);
        assert!(w.iter().any(|w| w.detail == "k defaulted to 5"));
    }
}
