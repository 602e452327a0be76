//! Wire decoding of `recommend` / `validate` / `similar` requests and the call context, on the
//! strict [`Decoder`]: members matched case-insensitively (Go-style, as the reference),
//! unknown members rejected, `null` = absent; normalisation with a `DEFAULT_APPLIED` warning
//! per default; every problem listed, decoding problems first for the code and message.
//! Limits come from the tenant config; input is never truncated silently.

use super::{Decoder, Keys, ProblemKind, Style};
use crate::config::{Limits, Weights};
use crate::error::{ApiError, ErrorCode};
use crate::json::node::{Members as _, Tree, View};
use crate::json::{literal_f64, Value};
use crate::request::{
    is_path_safe, normalize_tag, normalized_tag, warnings, CallContext, Constraints, Context,
    DistinctIds, Experiment, Explain, Options, RecommendRequest, SimilarRequest, User, Warning,
};
use crate::serve::request::{CandidateIds, ListId, Servable};
use crate::time::Timestamp;

/// The members a `recommend` request may have, in the order its decoder reads them.
pub(crate) const RECOMMEND_FIELDS: [&str; 11] = [
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
];

/// The members a `similar` request may have, in the order its decoder reads them.
pub(crate) const SIMILAR_FIELDS: [&str; 7] = [
    "surface",
    "segment",
    "item_id",
    "k",
    "candidates",
    "constraints",
    "options",
];

/// Requests and contexts: Go-style keys, the reference's `json: unknown field` message.
const STYLE: Style = Style {
    keys: Keys::Fold,
    unknown_field: ErrorCode::InvalidRequest,
    wrong_type: ErrorCode::InvalidRequest,
    unknown_message,
};

fn unknown_message(quoted: &str) -> String {
    format!("json: unknown field {quoted}")
}

/// The decoder and the warnings of the defaults it applied.
struct Req {
    d: Decoder,
    warnings: Vec<Warning>,
}

/// A request decoder at `root` whose path has room for the members it enters
/// (`$.options.include_reasons`), so that entering one does not grow it (each growth a
/// reallocation, ~270 instructions; five in a small request and its context).
fn decoder(root: &str) -> Decoder {
    let mut d = Decoder::new(root, STYLE);
    let mut path = String::with_capacity(64);
    path.push_str(root);
    d.swap_path(path);
    d
}

impl Req {
    fn new() -> Req {
        Req {
            d: decoder("$"),
            warnings: Vec::new(),
        }
    }
    fn warn(&mut self, detail: impl Into<String>) {
        self.warnings
            .push(Warning::new(warnings::DEFAULT_APPLIED, detail));
    }
    fn finish<T>(self, v: T) -> Result<(T, Vec<Warning>), ApiError> {
        match self
            .d
            .fail(ErrorCode::InvalidRequest, ErrorCode::UnprocessableEntity)
        {
            None => Ok((v, self.warnings)),
            Some(e) => Err(e),
        }
    }
}

/// A malformed value (400) at the current path.
fn bad(d: &mut Decoder, message: impl Into<String>) {
    d.report(ProblemKind::Invalid, ErrorCode::InvalidRequest, message);
}

/// A well-formed but unacceptable value (422) at the current path.
fn unprocessable(d: &mut Decoder, message: impl Into<String>) {
    d.report(
        ProblemKind::Unprocessable,
        ErrorCode::UnprocessableEntity,
        message,
    );
}

/// A trimmed string member (absent → empty).
fn string<T: Tree>(d: &mut Decoder, name: &str, v: Option<&T>) -> String {
    str_member(d, name, v).to_string()
}

/// A trimmed string member as a slice of the tree (absent → empty). An absent member is not
/// entered (no path to report at), so it costs nothing.
fn str_member<'t, T: Tree>(d: &mut Decoder, name: &str, v: Option<&'t T>) -> &'t str {
    if v.is_none() {
        return "";
    }
    d.field(name, |d| d.string(v).map(str::trim)).unwrap_or("")
}

/// Trimmed, blank-free, de-duplicated (first occurrence wins) id list; case preserved. The
/// ids are `S`: owned copies (`String`), or slices of the tree itself (`&str`, the call
/// path's candidate lists, see [`CandidateIds`]).
fn id_list<'t, T: Tree, S: From<&'t str> + AsRef<str>>(
    d: &mut Decoder,
    v: Option<&'t T>,
) -> Vec<S> {
    ids(d, v, true)
}

/// A candidate id list ([`id_list`]), its repeats left in when `S` leaves them to the
/// catalog lookup ([`ListId`]) and the list is within `limit` (a longer one is made
/// distinct here, as the limit counts distinct ids).
fn candidate_list<'t, T: Tree, S: ListId<'t>>(
    d: &mut Decoder,
    v: Option<&'t T>,
    limit: usize,
) -> Vec<S> {
    let ids: Vec<S> = ids(d, v, !S::REPEATS_LEFT);
    match ids.len() > limit && S::REPEATS_LEFT {
        true => S::distinct(ids),
        false => ids,
    }
}

/// The trimmed, non-blank ids of an id list, de-duplicated when `distinct`.
fn ids<'t, T: Tree, S: From<&'t str> + AsRef<str>>(
    d: &mut Decoder,
    v: Option<&'t T>,
    distinct: bool,
) -> Vec<S> {
    let Some(v) = v else {
        return Vec::new();
    };
    let View::Array(a) = v.view() else {
        d.wrong_type("an array of strings", v);
        return Vec::new();
    };
    let mut out: Vec<S> = Vec::with_capacity(a.len());
    let mut seen = distinct.then(|| DistinctIds::with_capacity(a.len()));
    for (i, x) in a.iter().enumerate() {
        match x.view() {
            View::String(s) => {
                let t = trimmed(s);
                match (&mut seen, t.is_empty()) {
                    (_, true) => {}
                    (Some(seen), false) => seen.push(&mut out, t, S::from),
                    (None, false) => out.push(S::from(t)),
                }
            }
            View::Null => {}
            _ => d.index(i, |d| d.wrong_type("a string", x)),
        }
    }
    out
}

/// `s.trim()`, without scanning when both ends are printable ASCII (ids almost always are;
/// no byte of a Unicode space is one).
pub(super) fn trimmed(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Lower-cased tag list (trimmed, blanks dropped, de-duplicated).
fn tag_list<T: Tree>(d: &mut Decoder, v: Option<&T>) -> Vec<String> {
    let ids: Vec<&str> = id_list(d, v);
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    let mut seen = DistinctIds::with_capacity(ids.len());
    for t in ids {
        let n = normalized_tag(t);
        if !n.is_empty() {
            seen.push(&mut out, &n, str::to_string);
        }
    }
    out
}

fn root<'a, T: Tree>(d: &mut Decoder, v: &'a T) -> Option<&'a T::Obj> {
    match v.view() {
        View::Object(m) => Some(m),
        View::Null => None,
        _ => {
            let message = format!("request must be a json object, got {}", v.type_name());
            d.report(ProblemKind::Decode, ErrorCode::InvalidRequest, message);
            None
        }
    }
}

/// The root object's members resolved against `names` (none when it is not an object: `root`
/// reported why).
fn root_fields<'a, T: Tree, const N: usize>(
    d: &mut Decoder,
    v: &'a T,
    names: [&'static str; N],
) -> [Option<&'a T>; N] {
    match root(d, v) {
        Some(m) => d.fields(m, names),
        None => [None; N],
    }
}

fn surface_segment<T: Tree>(
    r: &mut Req,
    surface: Option<&T>,
    segment: Option<&T>,
) -> (String, String) {
    let d = &mut r.d;
    let surface_s = string(d, "surface", surface);
    if surface_s.is_empty() || !is_path_safe(&surface_s) {
        d.field("surface", |d| {
            if surface_s.is_empty() {
                bad(d, "surface is required");
            } else {
                bad(
                    d,
                    format!("surface contains invalid path segment: {surface_s:?}"),
                );
            }
        });
    }
    let mut segment_s = string(d, "segment", segment);
    if segment_s.is_empty() {
        segment_s = "default".into();
        r.warn("segment defaulted to 'default'");
    } else if !is_path_safe(&segment_s) {
        d.field("segment", |d| {
            bad(
                d,
                format!("segment contains invalid path segment: {segment_s:?}"),
            )
        });
    }
    (surface_s, segment_s)
}

fn k_value<T: Tree>(r: &mut Req, v: Option<&T>, limits: &Limits) -> u32 {
    if v.is_none() {
        let k = 20.min(limits.max_k);
        r.warn(format!("k defaulted to {k}"));
        return k;
    }
    r.d.field("k", |d| match d.integer(v) {
        Some(k) if k >= 1 && k <= limits.max_k as i64 => k as u32,
        Some(k) => {
            bad(
                d,
                format!("k must be between 1 and {}, got {k}", limits.max_k),
            );
            1
        }
        None => 1,
    })
}

fn over_limit(d: &mut Decoder, name: &str, what: &str, len: usize, limit: usize) {
    if len > limit {
        d.field(name, |d| {
            bad(
                d,
                format!("{what} exceeds limit: {len} ids, the limit is {limit}"),
            )
        });
    }
}

/// `candidates.include_ids` and `exclude_ids`, decoded apart from the rest of the request so
/// that the call path can keep them as slices of its input (`S = &str`) while the typed
/// request is built with owned ones (`S = String`).
fn candidates<'t, T: Tree, S: ListId<'t>>(
    d: &mut Decoder,
    v: Option<&'t T>,
    limits: &Limits,
) -> CandidateIds<S> {
    if v.is_none() {
        return (Vec::new(), Vec::new());
    }
    d.field("candidates", |d| {
        let Some(m) = d.object(v) else {
            return (Vec::new(), Vec::new());
        };
        let [inc, exc] = d.fields(m, ["include_ids", "exclude_ids"]);
        let include = d.field("include_ids", |d| {
            candidate_list(d, inc, limits.max_include_ids)
        });
        let exclude = d.field("exclude_ids", |d| {
            candidate_list(d, exc, limits.max_exclude_ids)
        });
        let what = "candidates.include_ids";
        over_limit(
            d,
            "include_ids",
            what,
            include.len(),
            limits.max_include_ids,
        );
        let what = "candidates.exclude_ids";
        over_limit(
            d,
            "exclude_ids",
            what,
            exclude.len(),
            limits.max_exclude_ids,
        );
        (include, exclude)
    })
}

/// `max_per_tag`: tag → cap, sorted by tag; keys that collide after lower-casing keep the
/// strictest cap (0 = no cap). The tag limit is checked before any value is read: an object
/// with more keys than the limit has its distinct tags (trimmed, lower-cased, non-empty)
/// counted in one hashed pass, and is refused there when they are too many.
fn max_per_tag<T: Tree>(d: &mut Decoder, mv: &T, limits: &Limits) -> Vec<(String, u32)> {
    let View::Object(mm) = mv.view() else {
        d.wrong_type("an object", mv);
        return Vec::new();
    };
    if mm.members().len() > limits.max_tags {
        let tags: std::collections::HashSet<_> = (mm.iter())
            .map(|(k, _)| crate::request::normalized_tag(k))
            .filter(|t| !t.is_empty())
            .collect();
        if tags.len() > limits.max_tags {
            bad(d, max_per_tag_limit(tags.len(), limits.max_tags));
            return Vec::new();
        }
    }
    let mut caps: std::collections::BTreeMap<String, u32> = Default::default();
    for (k, x) in mm.deduped() {
        let Some(n) = d.field(k, |d| d.integer(Some(x))) else {
            continue;
        };
        if n < 0 {
            let message = "constraints.max_per_tag values must be non-negative";
            d.field(k, |d| unprocessable(d, message));
            continue;
        }
        let tag = normalize_tag(k);
        if tag.is_empty() {
            continue;
        }
        let n = n.min(u32::MAX as i64) as u32;
        let slot = caps.entry(tag).or_insert(n);
        if n != 0 && (*slot == 0 || n < *slot) {
            *slot = n;
        }
    }
    caps.into_iter().collect()
}

/// The message of a `max_per_tag` object with too many tags.
fn max_per_tag_limit(tags: usize, limit: usize) -> String {
    format!("constraints.max_per_tag exceeds limit: {tags} tags, the limit is {limit}")
}

fn constraints<T: Tree>(d: &mut Decoder, v: Option<&T>, limits: &Limits) -> Option<Constraints> {
    v?;
    d.field("constraints", |d| {
        let m = d.object(v)?;
        let [req, forb, mpt] = d.fields(m, ["required_tags", "forbidden_tags", "max_per_tag"]);
        let required_tags = d.field("required_tags", |d| tag_list(d, req));
        let forbidden_tags = d.field("forbidden_tags", |d| tag_list(d, forb));
        for (name, l) in [
            ("required_tags", &required_tags),
            ("forbidden_tags", &forbidden_tags),
        ] {
            if l.len() > limits.max_tags {
                let message = format!(
                    "constraints tags exceed limit: {} {name}, the limit is {}",
                    l.len(),
                    limits.max_tags
                );
                d.field(name, |d| bad(d, message));
            }
        }
        let max_per_tag = match mpt {
            Some(mv) => d.field("max_per_tag", |d| max_per_tag(d, mv, limits)),
            None => Vec::new(),
        };
        let c = Constraints {
            required_tags,
            forbidden_tags,
            max_per_tag,
        };
        (!c.is_empty()).then_some(c)
    })
}

fn options<T: Tree>(r: &mut Req, v: Option<&T>) -> Options {
    let Some(m) = r.d.field("options", |d| d.object(v)) else {
        if v.is_none() {
            r.warn("options defaulted");
        }
        return Options::default();
    };
    r.d.field("options", |d| {
        let [reasons, explain, trace, seed] =
            d.fields(m, ["include_reasons", "explain", "include_trace", "seed"]);
        let include_reasons =
            reasons.and_then(|v| d.field("include_reasons", |d| d.boolean(Some(v))));
        let include_trace = trace.and_then(|v| d.field("include_trace", |d| d.boolean(Some(v))));
        let explain_s = str_member(d, "explain", explain);
        let level = [Explain::None, Explain::Summary, Explain::Full]
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(explain_s));
        let explain = match level {
            _ if explain_s.is_empty() => Explain::None,
            Some(level) => level,
            None => {
                let other = explain_s.to_ascii_lowercase();
                let message =
                    format!("options.explain must be one of none, summary, full, got {other:?}");
                d.field("explain", |d| unprocessable(d, message));
                Explain::None
            }
        };
        let seed = seed
            .and_then(|v| d.field("seed", |d| d.integer(Some(v))))
            .unwrap_or(0);
        Options {
            include_reasons: include_reasons.unwrap_or(false),
            explain,
            include_trace: include_trace.unwrap_or(false),
            seed,
        }
    })
}

fn user<T: Tree>(d: &mut Decoder, v: Option<&T>) -> User {
    let mut u = User::default();
    d.field("user", |d| {
        if let Some(um) = d.object(v) {
            let [uid, aid, sid] = d.fields(um, ["user_id", "anonymous_id", "session_id"]);
            u.user_id = string(d, "user_id", uid);
            u.anonymous_id = string(d, "anonymous_id", aid);
            u.session_id = string(d, "session_id", sid);
        }
        if u.user_id.is_empty() && u.anonymous_id.is_empty() && u.session_id.is_empty() {
            unprocessable(d, "user_id or anonymous_id or session_id is required");
        }
    });
    u
}

fn context<T: Tree>(d: &mut Decoder, v: Option<&T>) -> Option<Context> {
    v?;
    d.field("context", |d| {
        let cm = d.object(v)?;
        let [locale, device, country, now] = d.fields(cm, ["locale", "device", "country", "now"]);
        let mut c = Context {
            locale: string(d, "locale", locale),
            device: string(d, "device", device),
            country: string(d, "country", country),
            now: string(d, "now", now),
        };
        if !c.now.is_empty() {
            match Timestamp::parse_rfc3339(&c.now) {
                Some(t) => c.now = t.to_rfc3339(),
                None => {
                    let message = format!("context.now must be RFC3339, got {:?}", c.now);
                    d.field("now", |d| bad(d, message));
                }
            }
        }
        Some(c)
    })
}

fn anchors<T: Tree>(r: &mut Req, v: Option<&T>, limits: &Limits) -> Option<(Vec<String>, u32)> {
    v?;
    let am = r.d.field("anchors", |d| d.object(v))?;
    let (ids, max) = r.d.field("anchors", |d| {
        let [ids, max] = d.fields(am, ["item_ids", "max_anchors"]);
        let ids = d.field("item_ids", |d| id_list(d, ids));
        (ids, max)
    });
    // A limit beyond i64 (usize::MAX: "no limit") saturates instead of wrapping to -1.
    let limit = i64::try_from(limits.max_anchors).unwrap_or(i64::MAX);
    let max = match max {
        None => {
            r.warn(format!(
                "anchors.max_anchors defaulted to {}",
                limits.max_anchors
            ));
            limit
        }
        Some(v) => {
            r.d.field("anchors", |d| {
                d.field("max_anchors", |d| d.integer(Some(v)))
            })
            .unwrap_or(limit)
        }
    };
    r.d.field("anchors", |d| {
        let what = "anchors.item_ids";
        over_limit(d, "item_ids", what, ids.len(), limits.max_anchors);
        d.field("max_anchors", |d| {
            if max < ids.len() as i64 {
                unprocessable(d, "anchors.max_anchors must be >= number of anchor items");
            } else if max <= 0 {
                bad(d, "anchors.max_anchors must be positive");
            }
        });
    });
    Some((ids, max.clamp(0, u32::MAX as i64) as u32))
}

fn weights<T: Tree>(d: &mut Decoder, v: Option<&T>) -> Option<Weights> {
    v?;
    d.field("weights", |d| {
        let wm = d.object(v)?;
        let [pop, cooc, emb] = d.fields(wm, ["pop", "cooc", "emb"]);
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
            d.field(name, |d| match v.map(|v| (v, v.view())) {
                None => {}
                Some((_, View::Number(lit))) => match literal_f64(lit) {
                    Some(f) if f > crate::config::MAX_WEIGHT => unprocessable(
                        d,
                        format!(
                            "weights.{name} must be at most {:e}, got {lit}",
                            crate::config::MAX_WEIGHT,
                        ),
                    ),
                    Some(f) if f >= 0.0 => *slot = f,
                    Some(_) => negative = true,
                    None => bad(d, format!("weights.{name} is out of range: {lit}")),
                },
                Some((other, _)) => d.wrong_type("a number", other),
            });
        }
        if negative {
            unprocessable(d, "weights must be non-negative");
        }
        Some(w)
    })
}

fn experiment<T: Tree>(d: &mut Decoder, v: Option<&T>) -> Option<Experiment> {
    v?;
    d.field("experiment", |d| {
        let em = d.object(v)?;
        let [id, variant] = d.fields(em, ["id", "variant"]);
        let e = Experiment {
            id: string(d, "id", id),
            variant: string(d, "variant", variant),
        };
        (!e.id.is_empty() || !e.variant.is_empty()).then_some(e)
    })
}

/// A request decoded apart with its candidate lists put back in.
fn with_lists<R: Servable>(
    decoded: Result<(R, CandidateIds<String>, Vec<Warning>), ApiError>,
) -> Result<(R, Vec<Warning>), ApiError> {
    let (mut req, (include, exclude), warnings) = decoded?;
    req.set_candidate_ids(include, exclude);
    Ok((req, warnings))
}

impl RecommendRequest {
    /// Decodes, normalises and validates a recommend request against the tenant's limits.
    pub(crate) fn from_value<T: Tree>(
        v: &T,
        limits: &Limits,
    ) -> Result<(RecommendRequest, Vec<Warning>), ApiError> {
        with_lists(RecommendRequest::decode_apart(v, limits))
    }

    /// [`RecommendRequest::from_value`] with the candidate id lists handed back apart, as
    /// `S` (the request's own lists are left empty).
    pub(crate) fn decode_apart<'t, T: Tree, S: ListId<'t>>(
        v: &'t T,
        limits: &Limits,
    ) -> Result<(RecommendRequest, CandidateIds<S>, Vec<Warning>), ApiError> {
        let mut r = Req::new();
        let [surface, segment, k, user_v, context_v, anchors_v, cands, cons, weights_v, opts, exp] =
            root_fields(&mut r.d, v, RECOMMEND_FIELDS);
        let (surface, segment) = surface_segment(&mut r, surface, segment);
        let k = k_value(&mut r, k, limits);
        let user = user(&mut r.d, user_v);
        let context = context(&mut r.d, context_v);
        let anchors = anchors(&mut r, anchors_v, limits);
        let ids = candidates(&mut r.d, cands, limits);
        let constraints = constraints(&mut r.d, cons, limits);
        let weights = weights(&mut r.d, weights_v);
        let options = options(&mut r, opts);
        let experiment = experiment(&mut r.d, exp);
        let req = RecommendRequest {
            surface,
            segment,
            k,
            user,
            context,
            anchors,
            include_ids: Vec::new(),
            exclude_ids: Vec::new(),
            constraints,
            weights,
            options,
            experiment,
        };
        r.finish((req, ids))
            .map(|((req, ids), warnings)| (req, ids, warnings))
    }
}

impl SimilarRequest {
    /// Decodes, normalises and validates a similar request. Besides the reference's fields
    /// it accepts `candidates` (include/exclude), which similar honours as recommend does.
    pub(crate) fn from_value<T: Tree>(
        v: &T,
        limits: &Limits,
    ) -> Result<(SimilarRequest, Vec<Warning>), ApiError> {
        with_lists(SimilarRequest::decode_apart(v, limits))
    }

    /// [`SimilarRequest::from_value`] with the candidate id lists handed back apart, as `S`
    /// (the request's own lists are left empty).
    pub(crate) fn decode_apart<'t, T: Tree, S: ListId<'t>>(
        v: &'t T,
        limits: &Limits,
    ) -> Result<(SimilarRequest, CandidateIds<S>, Vec<Warning>), ApiError> {
        let mut r = Req::new();
        let [surface, segment, item_id, k, cands, cons, opts] =
            root_fields(&mut r.d, v, SIMILAR_FIELDS);
        let (surface, segment) = surface_segment(&mut r, surface, segment);
        let item_id = string(&mut r.d, "item_id", item_id);
        if item_id.is_empty() {
            r.d.field("item_id", |d| bad(d, "item_id is required"));
        }
        let k = k_value(&mut r, k, limits);
        let ids = candidates(&mut r.d, cands, limits);
        let constraints = constraints(&mut r.d, cons, limits);
        let options = options(&mut r, opts);
        let req = SimilarRequest {
            surface,
            segment,
            item_id,
            k,
            include_ids: Vec::new(),
            exclude_ids: Vec::new(),
            constraints,
            options,
        };
        r.finish((req, ids))
            .map(|((req, ids), warnings)| (req, ids, warnings))
    }
}

impl CallContext {
    /// Decodes `{"now": RFC3339, "request_id"?, "tenant", "roles"?}`.
    pub fn from_value(v: &Value) -> Result<CallContext, ApiError> {
        CallContext::from_tree(v)
    }

    /// [`CallContext::from_value`] on either tree.
    pub(crate) fn from_tree<T: Tree>(v: &T) -> Result<CallContext, ApiError> {
        let mut d = decoder("$.ctx");
        let names = ["now", "request_id", "tenant", "roles"];
        let [now, rid, tenant, roles] = match v.view() {
            View::Object(m) => d.fields(m, names),
            _ => {
                bad(&mut d, "ctx must be a json object");
                [None; 4]
            }
        };
        let now_s = str_member(&mut d, "now", now);
        let now = Timestamp::parse_rfc3339(now_s).unwrap_or_else(|| {
            // A decoding problem, as the reference's time.Time decoding fails there.
            let message = format!("ctx.now must be an RFC3339 timestamp, got {now_s:?}");
            d.field("now", |d| {
                d.report(ProblemKind::Decode, ErrorCode::InvalidRequest, message)
            });
            Timestamp::default()
        });
        let request_id = string(&mut d, "request_id", rid);
        let tenant = string(&mut d, "tenant", tenant);
        if tenant.is_empty() {
            d.field("tenant", |d| bad(d, "ctx.tenant is required"));
        }
        let roles = match roles {
            Some(_) => d
                .field("roles", |d| id_list::<_, &str>(d, roles))
                .into_iter()
                .map(|r| r.to_ascii_lowercase())
                .collect(),
            None => Vec::new(),
        };
        match d.fail(ErrorCode::InvalidContext, ErrorCode::InvalidContext) {
            Some(e) => Err(e),
            None => Ok(CallContext {
                now,
                request_id,
                tenant,
                roles,
                actor: None,
            }),
        }
    }
}

/// `FromStr` and `TryFrom<&str>` for a wire type: the text is parsed with the default JSON
/// limits, then decoded by `$decode` (every problem listed in the error).
macro_rules! from_wire_text {
    ($t:ty, $decode:expr) => {
        impl std::str::FromStr for $t {
            type Err = ApiError;
            fn from_str(s: &str) -> Result<$t, ApiError> {
                let v = crate::json::parse(s.as_bytes())?;
                $decode(&v)
            }
        }

        impl TryFrom<&str> for $t {
            type Error = ApiError;
            fn try_from(s: &str) -> Result<$t, ApiError> {
                s.parse()
            }
        }
    };
}

// Requests decode under the default limits; their default warnings are dropped.
from_wire_text!(RecommendRequest, |v| RecommendRequest::from_value(
    v,
    &Limits::default()
)
.map(|(r, _)| r));
from_wire_text!(SimilarRequest, |v| SimilarRequest::from_value(
    v,
    &Limits::default()
)
.map(|(r, _)| r));
from_wire_text!(CallContext, CallContext::from_value);

#[cfg(test)]
mod trim_tests {
    use super::trimmed;

    #[test]
    fn trimmed_is_trim() {
        let ends = [
            "", " ", "\t", "\n", "\u{a0}", "\u{3000}", "\u{2028}", "a", "é", "-", "\u{7f}", "~",
        ];
        for a in ends {
            for mid in ["", "x", " y ", "\u{a0}z"] {
                for b in ends {
                    let s = format!("{a}{mid}{b}");
                    assert_eq!(trimmed(&s), s.trim(), "{s:?}");
                }
            }
        }
    }
}
