//! Request models for `recommend`, `validate` and `similar` and the host's call context, with
//! their normalised `to_value` shapes. Wire decoding (strict, every problem listed, the
//! reference's precedence) lives in `crate::decode` and is exposed as `from_value`,
//! `FromStr` and `TryFrom<&str>` on these types.

use crate::config::Weights;
use crate::error::ErrorCode;
use crate::json::{Map, Number, Value};
use crate::probe::{Probe, Slot};
use crate::time::Timestamp;

/// A warning in a response: stable code and a human detail.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Warning {
    /// The warning's stable code.
    pub code: &'static str,
    /// What it is about.
    pub detail: String,
}

impl Warning {
    /// A warning with `code` and `detail`.
    pub fn new(code: &'static str, detail: impl Into<String>) -> Warning {
        Warning {
            code,
            detail: detail.into(),
        }
    }
    /// The warning as JSON (`{"code", "detail"}`).
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
    pub const CONSTRAINTS_FILTERED: &str = "CONSTRAINTS_FILTERED";
    pub const CANDIDATES_INCLUDE_FILTERED: &str = "CANDIDATES_INCLUDE_FILTERED";
    pub const CANDIDATES_INCLUDE_EMPTY: &str = "CANDIDATES_INCLUDE_EMPTY";
    pub const RULES_DISABLED: &str = "RULES_DISABLED";
    pub const NO_ARTIFACTS: &str = "NO_ARTIFACTS";
    pub const SURFACE_FALLBACK: &str = "SURFACE_FALLBACK";
    pub const STALE_ARTIFACTS: &str = "STALE_ARTIFACTS";
}

/// Explain level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Explain {
    /// No explanation.
    None,
    /// Per item: the signal contributions and the rules that touched it.
    Summary,
    /// Also raw signals, weights, boosts, pins and MMR details.
    Full,
}

impl Explain {
    /// The level's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Explain::None => "none",
            Explain::Summary => "summary",
            Explain::Full => "full",
        }
    }
}

/// Who the request is for.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct User {
    /// The signed-in user's id (empty when anonymous).
    pub user_id: String,
    /// The anonymous visitor's id.
    pub anonymous_id: String,
    /// The session's id.
    pub session_id: String,
}

impl User {
    /// The key used to look a user up in implicit / session artifacts: user id, else session
    /// id, else anonymous id (reference order).
    pub fn key(&self) -> &str {
        user_key(&self.user_id, &self.anonymous_id, &self.session_id)
    }
}

/// [`User::key`] of a user's three ids (in the member order: user, anonymous, session).
pub(crate) fn user_key<'a>(
    user_id: &'a str,
    anonymous_id: &'a str,
    session_id: &'a str,
) -> &'a str {
    if !user_id.is_empty() {
        user_id
    } else if !session_id.is_empty() {
        session_id
    } else {
        anonymous_id
    }
}

/// Where and how the request is made.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Context {
    /// The caller's locale.
    pub locale: String,
    /// The caller's device.
    pub device: String,
    /// The caller's country.
    pub country: String,
    /// Re-rendered in UTC with second precision; not used by ranking (`ctx.now` is).
    pub now: String,
}

/// Tag constraints on the answer.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Constraints {
    /// An item must carry every one of these tags.
    pub required_tags: Vec<String>,
    /// An item must carry none of these tags.
    pub forbidden_tags: Vec<String>,
    /// Tag → cap (0 = no cap, as in the reference); sorted by tag.
    pub max_per_tag: Vec<(String, u32)>,
}

impl Constraints {
    /// True when nothing is constrained.
    pub fn is_empty(&self) -> bool {
        self.required_tags.is_empty()
            && self.forbidden_tags.is_empty()
            && self.max_per_tag.is_empty()
    }
}

/// How the answer is built and explained.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Options {
    /// Adds reasons to items.
    pub include_reasons: bool,
    /// How much of the scoring is explained.
    pub explain: Explain,
    /// Adds a trace of the pipeline.
    pub include_trace: bool,
    /// Echoed by `validate`; ranking does not use it (answers are deterministic).
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

/// A forced experiment variant.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Experiment {
    /// The experiment's id.
    pub id: String,
    /// The variant's name.
    pub variant: String,
}

/// A normalised `recommend` / `validate` request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RecommendRequest {
    /// The surface to serve.
    pub surface: String,
    /// The caller's segment (rules may target it).
    pub segment: String,
    /// How many items to return.
    pub k: u32,
    /// Who the request is for.
    pub user: User,
    /// Where and how the request is made.
    pub context: Option<Context>,
    /// `Some` when the request had an `anchors` object (ids may be empty).
    pub anchors: Option<(Vec<String>, u32)>,
    /// Items that must be candidates.
    pub include_ids: Vec<String>,
    /// Items that must not be returned.
    pub exclude_ids: Vec<String>,
    /// Tag constraints.
    pub constraints: Option<Constraints>,
    /// `Some` when the request carried a `weights` object (even `{}`): it overrides config.
    pub weights: Option<Weights>,
    /// How the answer is built and explained.
    pub options: Options,
    /// A forced experiment variant.
    pub experiment: Option<Experiment>,
}

/// A normalised `similar` request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SimilarRequest {
    /// The surface to serve.
    pub surface: String,
    /// The caller's segment (rules may target it).
    pub segment: String,
    /// The anchor item.
    pub item_id: String,
    /// How many items to return.
    pub k: u32,
    /// Items that must be candidates.
    pub include_ids: Vec<String>,
    /// Items that must not be returned.
    pub exclude_ids: Vec<String>,
    /// Tag constraints.
    pub constraints: Option<Constraints>,
    /// How the answer is built and explained.
    pub options: Options,
}

/// Request-level validation codes: 400 for malformed input, 422 for well-formed but
/// unacceptable values (the reference's split).
pub const INVALID_REQUEST: &str = ErrorCode::InvalidRequest.code();
pub const UNPROCESSABLE: &str = ErrorCode::UnprocessableEntity.code();

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

impl RecommendRequest {
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
    /// The authenticated caller, for control-plane operations ([`crate::engine::Admin`]);
    /// serving does not use it.
    pub actor: Option<crate::control::Principal>,
}

impl CallContext {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }
}

/// Collects the distinct strings of a request's id list, first occurrence wins (the decoder's
/// and the builders' normalisation): a [`Probe`] table of `(hash, position)` slots over the
/// ids kept so far, with the snapshot's seeded string hasher (ids crafted to collide under
/// one seed do not under another). A repeat is found by its hash and one string compare; no
/// id is copied for the check.
pub(crate) struct DistinctIds {
    table: Probe<IdSlot>,
    hasher: crate::snapshot::StrHashState,
    /// Slots read, growth included (the cost test's count).
    #[cfg(test)]
    probes: usize,
}

/// A [`DistinctIds`] slot: the low bits of the id's hash, and its position in the kept ids
/// plus one (0 marks a free slot).
#[derive(Clone, Copy, Default)]
struct IdSlot {
    tag: u32,
    position: u32,
}

impl Slot for IdSlot {
    #[inline]
    fn is_free(&self) -> bool {
        self.position == 0
    }
}

impl DistinctIds {
    /// A table for about `n` ids (it grows past that).
    pub(crate) fn with_capacity(n: usize) -> DistinctIds {
        DistinctIds {
            table: Probe::with_slots((n.saturating_mul(2)).max(8).next_power_of_two()),
            hasher: Default::default(),
            #[cfg(test)]
            probes: 0,
        }
    }

    /// Pushes `id` onto `out` unless `out` (the ids kept through this table) already has it;
    /// `make` turns the id into what `out` holds.
    pub(crate) fn push<'s, T: AsRef<str>>(
        &mut self,
        out: &mut Vec<T>,
        id: &'s str,
        make: impl FnOnce(&'s str) -> T,
    ) {
        use std::hash::BuildHasher;
        debug_assert_eq!(out.len(), self.table.taken());
        let h = self.hasher.hash_one(id);
        let tag = h as u32;
        #[cfg(test)]
        let probes = &mut self.probes;
        let (i, found) = self.table.find(h, |s| {
            #[cfg(test)]
            {
                *probes += 1;
            }
            s.tag == tag && out[s.position as usize - 1].as_ref() == id
        });
        if found {
            return;
        }
        out.push(make(id));
        let position = out.len() as u32;
        self.table.take(i, IdSlot { tag, position });
        if self.table.taken() * 2 > self.table.slots() {
            self.grow(out);
        }
    }

    /// Doubles the table, placing the kept ids again by their hashes.
    fn grow<T: AsRef<str>>(&mut self, out: &[T]) {
        use std::hash::BuildHasher;
        let hasher = &self.hasher;
        #[cfg(test)]
        let probes = &mut self.probes;
        self.table.resize(self.table.slots() * 2, |s| {
            #[cfg(test)]
            {
                *probes += 1;
            }
            hasher.hash_one(out[s.position as usize - 1].as_ref())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::error::ApiError;
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

    /// `options.explain` is matched without regard to ASCII case or padding; an unknown level
    /// is quoted lower-cased, and absent or blank is `none`.
    #[test]
    fn explain_levels_ignore_case() {
        let explain = |e: &str| {
            rec(&format!(
                r#"{{"surface":"h","user":{{"user_id":"u"}},"options":{{"explain":{e}}}}}"#
            ))
            .map(|(r, _)| r.options.explain)
        };
        for (e, want) in [
            (r#""SuMMary""#, Explain::Summary),
            (r#"" FULL ""#, Explain::Full),
            (r#""none""#, Explain::None),
            (r#""""#, Explain::None),
            (r#"" ""#, Explain::None),
            ("null", Explain::None),
        ] {
            assert_eq!(explain(e).unwrap(), want, "{e}");
        }
        let e = explain(r#"" LoUD ""#).unwrap_err();
        assert_eq!(
            e.message,
            "options.explain must be one of none, summary, full, got \"loud\""
        );
        assert_eq!(e.problems[0].path, "$.options.explain");
        let e = explain("1").unwrap_err();
        assert_eq!(e.problems[0].path, "$.options.explain");
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

    /// `DistinctIds` keeps what a hash set of the ids seen keeps: each id's first
    /// occurrence, in order, through the table's growth from its smallest size (lists with
    /// many repeats, long shared prefixes, multi-byte text, up to 5,000 ids).
    #[test]
    fn distinct_ids_keep_first_occurrences_in_order() {
        use crate::tests::rng::Rng;
        let mut rng = Rng::new(42);
        for round in 0..300 {
            let len = rng.below(if round % 10 == 0 { 5000 } else { 300 }) as usize;
            let span = 1 + rng.below(if round % 2 == 0 { 40 } else { 100_000 });
            let ids: Vec<String> = (0..len)
                .map(|_| match rng.below(3) {
                    0 => format!("sku-{:07}", rng.below(span)),
                    1 => format!("a-long-shared-prefix-of-an-id-é-{}", rng.below(span)),
                    _ => format!("{}", rng.below(span)),
                })
                .collect();
            let mut seen = std::collections::HashSet::new();
            let want: Vec<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|id| seen.insert(*id))
                .collect();
            let mut table = DistinctIds::with_capacity(if round % 3 == 0 { 0 } else { len });
            let mut got: Vec<String> = Vec::new();
            for id in &ids {
                table.push(&mut got, id, str::to_string);
            }
            assert_eq!(got, want, "round {round}");
        }
    }

    /// Ten times the ids cost about ten times the slots read, whether the ids are distinct,
    /// all the same, or the table grows from its smallest size.
    #[test]
    fn distinct_ids_cost_grows_with_the_list() {
        let probes = |n: usize, repeat: bool, presized: bool| {
            let mut t = DistinctIds::with_capacity(if presized { n } else { 0 });
            let mut out: Vec<String> = Vec::new();
            for i in 0..n {
                let id = format!("sku-{:07}", if repeat { 7 } else { i });
                t.push(&mut out, &id, str::to_string);
            }
            // Each id reads at least its own slot's neighbourhood once.
            t.probes + n
        };
        for (repeat, presized) in [(false, true), (false, false), (true, true)] {
            let (small, large) = (
                probes(500, repeat, presized),
                probes(5000, repeat, presized),
            );
            assert!(
                large <= small * 14,
                "{small} -> {large} (repeat {repeat}, presized {presized})"
            );
        }
    }
}
