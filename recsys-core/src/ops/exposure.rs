//! Exposure events (service.md 6.1): what was shown to whom, as JSON values in the reference's
//! `service_v1` or `eval_v1` line shapes, handed to a host [`ExposureSink`].
//!
//! The core builds and validates the event; writing, rotation, retention and fsync are the
//! host's. Timestamps come from the caller (`ctx.now`), never from a clock.
//!
//! # Subjects
//!
//! Each of `user_id`, `anonymous_id`, `session_id` is hashed independently as
//! `hex(HMAC-SHA256(key = exposure salt bytes (not trimmed), message = trimmed id))`; an empty
//! id has no hash, and with an empty salt it is still an HMAC with an empty key. With hashing
//! on (the only mode a production profile accepts) no raw id is ever put in an event.
//!
//! **Salt rotation**: a [`SubjectHasher`] carries a key id. When it is non-empty, events name
//! it (`subject.key_id` in `service_v1`, `context.subject_key_id` in `eval_v1`) so that
//! consumers know which salt produced the hashes; with an empty key id the output is
//! byte-for-byte the reference's. Both additions are optional members the reference's
//! readers ignore, and `context` is a free string map in the eval schema.
//!
//! # Shapes
//!
//! * `service_v1`: `{"schema_version":"v1","timestamp","request_id"?,"tenant_id"?,"surface"?,
//!   "segment"?,"algo_version"?,"config_version"?,"rules_version"?,"experiment"?:{"id"?,"variant"?},
//!   "subject"?:{"user_id_hash"?,"anonymous_id_hash"?,"session_id_hash"?,"key_id"?},
//!   "context"?:{"locale"?,"device"?,"country"?,"now"?},"items"?:[{"item_id","rank","score"?}]}`
//!   — members in the reference's order, empty ones omitted, `score` omitted when 0;
//!   `similar` events carry no experiment, subject or context.
//! * `eval_v1`: `{"request_id","user_id","ts","items":[{"item_id","rank"}],"context"?}` —
//!   `user_id` is the first of the user, anonymous and session hashes, else the request id;
//!   `items` is always present; `context` is a flat string map with sorted keys (as Go
//!   renders a `map[string]string`). Validates against `exposure.v1.json`.
//!
//! Both formats require every item to have a non-empty id and a rank ≥ 1; `eval_v1` also
//! requires a request id (the reference drops such lines).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::{ApiError, ErrorCode, Problem};
use crate::json::{Map, Value};
use crate::request::{CallContext, Context, Experiment, RecommendRequest, User};
use crate::time::Timestamp;

use super::decode::Reader;
use super::digest::{hex, hmac_sha256};
use super::experiments::Assignment;
use super::Endpoint;

/// Stable codes.
pub mod codes {
    use crate::error::ErrorCode;
    pub const BAD_VALUE: &str = ErrorCode::ExposureBadValue.code();
}

/// The line format (`EXPOSURE_LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ExposureFormat {
    /// The reference default.
    #[default]
    ServiceV1,
    /// The reference's `exposure.v1.json` schema (`eval_v1`).
    EvalV1,
}

impl ExposureFormat {
    /// The format's name (`service_v1`, `eval_v1`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExposureFormat::ServiceV1 => "service_v1",
            ExposureFormat::EvalV1 => "eval_v1",
        }
    }
    /// `service_v1` / `service` / `eval_v1` / `eval` (trimmed, ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<ExposureFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "service_v1" | "service" => Some(ExposureFormat::ServiceV1),
            "eval_v1" | "eval" => Some(ExposureFormat::EvalV1),
            _ => None,
        }
    }
}

/// Errors of building or emitting an exposure event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExposureError {
    #[error("exposure event needs a request id")]
    MissingRequestId,
    #[error("exposure item {index}: {reason}")]
    InvalidItem { index: usize, reason: &'static str },
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl ExposureError {
    /// The stable code.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ExposureError::Sink(_) => ErrorCode::ExposureSinkFailed,
            _ => ErrorCode::InvalidExposure,
        }
    }
    pub fn code(&self) -> &'static str {
        self.error_code().code()
    }
}

impl From<ExposureError> for ApiError {
    fn from(e: ExposureError) -> ApiError {
        ApiError::new(e.error_code(), e.to_string())
    }
}

/// A host sink failure (message only; the host logs it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("exposure sink failed: {0}")]
pub struct SinkError(pub String);

/// Where the host wants events to go (a file, a queue, ...). Implementations must not block
/// for long: the reference writes synchronously after the response.
pub trait ExposureSink: Send + Sync {
    /// Sends one exposure event; an error is counted, never retried by the engine.
    fn emit(&self, event: &Value) -> Result<(), SinkError>;
}

/// A sink that keeps events in memory (tests, small hosts, batching).
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Mutex<Vec<Value>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }
    /// A copy of the events so far.
    pub fn events(&self) -> Vec<Value> {
        self.lock().clone()
    }
    /// The events so far as JSON lines (compact, one per event).
    pub fn lines(&self) -> Vec<String> {
        self.lock().iter().map(crate::json::to_string).collect()
    }
    /// Removes and returns the events so far.
    pub fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.lock())
    }
    /// How many events it holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }
    /// True when it holds no event.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ExposureSink for MemorySink {
    fn emit(&self, event: &Value) -> Result<(), SinkError> {
        self.lock().push(event.clone());
        Ok(())
    }
}

/// `hex(HMAC-SHA256(salt, trimmed id))`; `None` for an empty (or blank) id.
pub fn hash_subject(salt: &[u8], id: &str) -> Option<String> {
    let id = id.trim();
    (!id.is_empty()).then(|| hex(&hmac_sha256(salt, id.as_bytes())))
}

/// The exposure salt with its key id. `Debug` never shows the salt.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectHasher {
    key_id: String,
    salt: Vec<u8>,
}

impl std::fmt::Debug for SubjectHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectHasher")
            .field("key_id", &self.key_id)
            .field("salt", &"<redacted>")
            .finish()
    }
}

impl SubjectHasher {
    #[cfg(test)]
    /// A hasher without key id (output identical to the reference).
    pub fn new(salt: impl Into<Vec<u8>>) -> SubjectHasher {
        SubjectHasher::with_key_id("", salt)
    }
    /// A hasher whose events name `key_id` (salt rotation).
    pub fn with_key_id(key_id: impl Into<String>, salt: impl Into<Vec<u8>>) -> SubjectHasher {
        SubjectHasher {
            key_id: key_id.into(),
            salt: salt.into(),
        }
    }
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
    pub fn hash(&self, id: &str) -> Option<String> {
        hash_subject(&self.salt, id)
    }
}

/// How subjects are written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectMode {
    /// HMAC-hashed (the reference; required by production profiles).
    Hashed(SubjectHasher),
    /// Raw ids under `user_id` / `anonymous_id` / `session_id` (development only).
    Raw,
}

/// A recorded request with its `user` ids in the event's subject form: hashed (empty ids
/// dropped) or raw.
fn request_with_subjects(r: &Value, subjects: &SubjectMode) -> Value {
    let mut r = r.clone();
    let SubjectMode::Hashed(h) = subjects else {
        return r;
    };
    if let Value::Object(m) = &mut r {
        if let Some(Value::Object(u)) = m.get("user") {
            let mut out = Map::new();
            for (k, v) in u.iter() {
                match (k, v.as_str()) {
                    ("user_id" | "anonymous_id" | "session_id", Some(id)) => {
                        if let Some(x) = h.hash(id) {
                            out.push(k.to_string(), Value::String(x));
                        }
                    }
                    _ => out.push(k.to_string(), v.clone()),
                }
            }
            m.insert("user", Value::Object(out));
        }
    }
    r
}

/// One shown item.
#[derive(Clone, Debug, PartialEq)]
pub struct ExposedItem {
    pub item_id: String,
    pub rank: u64,
    pub score: f64,
}

/// The facts of one exposure, with raw subject ids; hashing happens when it is encoded.
#[derive(Clone, Debug, PartialEq)]
pub struct ExposureEvent {
    pub endpoint: Endpoint,
    pub timestamp: Timestamp,
    pub request_id: String,
    pub tenant_id: String,
    pub surface: String,
    pub segment: String,
    pub algo_version: String,
    pub config_version: String,
    pub rules_version: String,
    pub experiment: Option<Experiment>,
    pub user: User,
    pub context: Option<Context>,
    pub items: Vec<ExposedItem>,
    /// The normalised request, recorded when the exposure option `include_request` is on
    /// (`service_v1` only), so `admin.preview` can replay it; subject ids in it are hashed
    /// like the event's own.
    pub request: Option<Value>,
}

#[cfg(test)]
fn meta_str(meta: Option<&Map>, key: &str) -> String {
    meta.and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

impl ExposureEvent {
    /// An empty event at `timestamp`.
    pub fn new(endpoint: Endpoint, timestamp: Timestamp) -> ExposureEvent {
        ExposureEvent {
            endpoint,
            timestamp,
            request_id: String::new(),
            tenant_id: String::new(),
            surface: String::new(),
            segment: String::new(),
            algo_version: String::new(),
            config_version: String::new(),
            rules_version: String::new(),
            experiment: None,
            user: User::default(),
            context: None,
            items: Vec::new(),
            request: None,
        }
    }

    #[cfg(test)]
    /// The event for a `recommend` / `similar` answer: items and `meta` (tenant, surface,
    /// segment, versions, request id) from the answer, the time and request id from `ctx`.
    pub fn from_answer(endpoint: Endpoint, answer: &Value, ctx: &CallContext) -> ExposureEvent {
        let mut ev = ExposureEvent::new(endpoint, ctx.now);
        let root = answer.as_object();
        let meta = root.and_then(|m| m.get("meta")).and_then(Value::as_object);
        ev.request_id = if ctx.request_id.is_empty() {
            meta_str(meta, "request_id")
        } else {
            ctx.request_id.clone()
        };
        ev.tenant_id = meta_str(meta, "tenant_id");
        ev.surface = meta_str(meta, "surface");
        ev.segment = meta_str(meta, "segment");
        ev.algo_version = meta_str(meta, "algo_version");
        ev.config_version = meta_str(meta, "config_version");
        ev.rules_version = meta_str(meta, "rules_version");
        if let Some(items) = root.and_then(|m| m.get("items")).and_then(Value::as_array) {
            for it in items {
                let Some(m) = it.as_object() else { continue };
                ev.items.push(ExposedItem {
                    item_id: m
                        .get("item_id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    rank: m
                        .get("rank")
                        .and_then(Value::as_number)
                        .and_then(|n| n.as_integral_i64())
                        .map_or(0, |r| r.max(0) as u64),
                    score: m.get("score").and_then(Value::as_f64).unwrap_or(0.0),
                });
            }
        }
        ev
    }

    /// The event for a typed `recommend` / `similar` answer (the same fields as
    /// [`ExposureEvent::from_answer`] reads from its JSON).
    pub fn from_recommendation(
        endpoint: Endpoint,
        answer: &crate::serve::answer::Recommendation,
        ctx: &CallContext,
    ) -> ExposureEvent {
        let mut ev = ExposureEvent::new(endpoint, ctx.now);
        let meta = &answer.meta;
        ev.request_id = if ctx.request_id.is_empty() {
            meta.request_id.clone().unwrap_or_default()
        } else {
            ctx.request_id.clone()
        };
        ev.tenant_id = meta.tenant_id.clone();
        ev.surface = meta.surface.clone();
        ev.segment = meta.segment.clone();
        ev.algo_version = meta.algo_version.clone();
        ev.config_version = meta.config_version.clone().unwrap_or_default();
        ev.rules_version = meta.rules_version.clone().unwrap_or_default();
        ev.items = answer
            .items
            .iter()
            .map(|it| ExposedItem {
                item_id: it.item_id.clone(),
                rank: it.rank.into(),
                score: it.score,
            })
            .collect();
        ev
    }

    /// Adds the subject ids, context and experiment of a normalised `recommend` request.
    pub fn with_request(mut self, req: &RecommendRequest) -> ExposureEvent {
        self.user = req.user.clone();
        self.context = req.context.clone();
        self.experiment = req.experiment.clone();
        self
    }

    /// Records an assignment's variant (the request's own variant is replaced only when the
    /// assignment has one).
    pub fn with_assignment(mut self, a: &Assignment) -> ExposureEvent {
        let e = self.experiment.get_or_insert_with(Experiment::default);
        e.id = a.experiment_id.clone();
        if let Some(v) = &a.variant {
            e.variant = v.clone();
        }
        self
    }

    fn check_items(&self) -> Result<(), ExposureError> {
        for (index, it) in self.items.iter().enumerate() {
            if it.item_id.trim().is_empty() {
                return Err(ExposureError::InvalidItem {
                    index,
                    reason: "item_id must not be empty",
                });
            }
            if it.rank == 0 {
                return Err(ExposureError::InvalidItem {
                    index,
                    reason: "rank must be at least 1",
                });
            }
        }
        Ok(())
    }

    fn with_subject(&self) -> bool {
        self.endpoint == Endpoint::Recommend
    }

    /// Subject members in reference order: `(raw name, hashed name, value)`.
    fn subject_ids(&self) -> [(&'static str, &'static str, &str); 3] {
        [
            ("user_id", "user_id_hash", &self.user.user_id),
            ("anonymous_id", "anonymous_id_hash", &self.user.anonymous_id),
            ("session_id", "session_id_hash", &self.user.session_id),
        ]
    }

    /// The `service_v1` line as a value.
    pub fn to_service_v1(&self, subjects: &SubjectMode) -> Result<Value, ExposureError> {
        self.check_items()?;
        let mut m = Map::new();
        m.push("schema_version", Value::str("v1"));
        m.push("timestamp", Value::str(self.timestamp.to_rfc3339_nanos()));
        for (k, v) in [
            ("request_id", &self.request_id),
            ("tenant_id", &self.tenant_id),
            ("surface", &self.surface),
            ("segment", &self.segment),
            ("algo_version", &self.algo_version),
            ("config_version", &self.config_version),
            ("rules_version", &self.rules_version),
        ] {
            if !v.is_empty() {
                m.push(k, Value::str(v));
            }
        }
        if self.with_subject() {
            if let Some(e) = &self.experiment {
                let mut em = Map::new();
                if !e.id.is_empty() {
                    em.push("id", Value::str(&e.id));
                }
                if !e.variant.is_empty() {
                    em.push("variant", Value::str(&e.variant));
                }
                if !em.is_empty() {
                    m.push("experiment", Value::Object(em));
                }
            }
            let mut sm = Map::new();
            for (raw, hashed, id) in self.subject_ids() {
                match subjects {
                    SubjectMode::Hashed(h) => {
                        if let Some(x) = h.hash(id) {
                            sm.push(hashed, Value::String(x));
                        }
                    }
                    SubjectMode::Raw => {
                        if !id.trim().is_empty() {
                            sm.push(raw, Value::str(id.trim()));
                        }
                    }
                }
            }
            if !sm.is_empty() {
                if let SubjectMode::Hashed(h) = subjects {
                    if !h.key_id().is_empty() {
                        sm.push("key_id", Value::str(h.key_id()));
                    }
                }
                m.push("subject", Value::Object(sm));
            }
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
                if !cm.is_empty() {
                    m.push("context", Value::Object(cm));
                }
            }
        }
        if !self.items.is_empty() {
            let items = self
                .items
                .iter()
                .map(|it| {
                    let mut im = Map::with_capacity(3);
                    im.push("item_id", Value::str(&it.item_id));
                    im.push("rank", Value::u64(it.rank));
                    if it.score != 0.0 && it.score.is_finite() {
                        im.push("score", Value::f64(it.score));
                    }
                    Value::Object(im)
                })
                .collect();
            m.push("items", Value::Array(items));
        }
        if let Some(r) = &self.request {
            m.push("request", request_with_subjects(r, subjects));
        }
        Ok(Value::Object(m))
    }

    /// The `eval_v1` line as a value.
    pub fn to_eval_v1(&self, subjects: &SubjectMode) -> Result<Value, ExposureError> {
        if self.request_id.trim().is_empty() {
            return Err(ExposureError::MissingRequestId);
        }
        self.check_items()?;
        // eval prefers user, then anonymous, then session (unlike experiment subjects).
        let mut user_id: Option<String> = None;
        if self.with_subject() {
            for (_, _, id) in self.subject_ids() {
                let v = match subjects {
                    SubjectMode::Hashed(h) => h.hash(id),
                    SubjectMode::Raw => Some(id.trim().to_string()).filter(|s| !s.is_empty()),
                };
                if v.is_some() {
                    user_id = v;
                    break;
                }
            }
        }
        let hashed_subject = user_id.is_some();
        let mut ctx: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in [
            ("tenant_id", &self.tenant_id),
            ("surface", &self.surface),
            ("segment", &self.segment),
            ("algo_version", &self.algo_version),
            ("config_version", &self.config_version),
            ("rules_version", &self.rules_version),
        ] {
            if !v.is_empty() {
                ctx.insert(k, v);
            }
        }
        if self.with_subject() {
            if let Some(e) = &self.experiment {
                if !e.id.is_empty() {
                    ctx.insert("experiment_id", &e.id);
                }
                if !e.variant.is_empty() {
                    ctx.insert("experiment_variant", &e.variant);
                }
            }
            if let Some(c) = &self.context {
                for (k, v) in [
                    ("locale", &c.locale),
                    ("device", &c.device),
                    ("country", &c.country),
                    ("now", &c.now),
                ] {
                    if !v.is_empty() {
                        ctx.insert(k, v);
                    }
                }
            }
            if let SubjectMode::Hashed(h) = subjects {
                if hashed_subject && !h.key_id().is_empty() {
                    ctx.insert("subject_key_id", h.key_id());
                }
            }
        }
        let mut m = Map::new();
        m.push("request_id", Value::str(&self.request_id));
        m.push(
            "user_id",
            Value::String(user_id.unwrap_or_else(|| self.request_id.clone())),
        );
        m.push("ts", Value::str(self.timestamp.to_rfc3339_nanos()));
        let items = self
            .items
            .iter()
            .map(|it| {
                let mut im = Map::with_capacity(2);
                im.push("item_id", Value::str(&it.item_id));
                im.push("rank", Value::u64(it.rank));
                Value::Object(im)
            })
            .collect();
        m.push("items", Value::Array(items));
        if !ctx.is_empty() {
            let mut cm = Map::with_capacity(ctx.len());
            for (k, v) in ctx {
                cm.push(k, Value::str(v));
            }
            m.push("context", Value::Object(cm));
        }
        Ok(Value::Object(m))
    }

    /// Encodes in `format`.
    pub fn encode(
        &self,
        format: ExposureFormat,
        subjects: &SubjectMode,
    ) -> Result<Value, ExposureError> {
        match format {
            ExposureFormat::ServiceV1 => self.to_service_v1(subjects),
            ExposureFormat::EvalV1 => self.to_eval_v1(subjects),
        }
    }

    /// Decodes the `exposure_event` operation's `event` member:
    /// `{"endpoint"?, "timestamp", "request_id"?, "tenant_id"?, "surface"?, "segment"?,
    ///   "algo_version"?, "config_version"?, "rules_version"?, "experiment"?: {"id"?, "variant"?},
    ///   "user"?: {"user_id"?, "anonymous_id"?, "session_id"?},
    ///   "context"?: {"locale"?, "device"?, "country"?, "now"?},
    ///   "items"?: [{"item_id", "rank", "score"?}]}`.
    pub fn from_value(v: &Value) -> Result<ExposureEvent, Vec<Problem>> {
        let mut r = Reader::new(
            ErrorCode::ExposureWrongType,
            ErrorCode::ExposureUnknownField,
        );
        let mut ev = ExposureEvent::new(Endpoint::Recommend, Timestamp::default());
        let p = "$.event";
        let Some(m) = r.object(Some(v), p) else {
            if r.is_clean() {
                r.wrong(p, "an object", v);
            }
            return Err(r.into_problems());
        };
        r.known(
            m,
            &[
                "endpoint",
                "timestamp",
                "request_id",
                "tenant_id",
                "surface",
                "segment",
                "algo_version",
                "config_version",
                "rules_version",
                "experiment",
                "user",
                "context",
                "items",
            ],
            p,
        );
        if let Some(e) = r.string(m, "endpoint", p) {
            match Endpoint::parse(&e) {
                Some(x) => ev.endpoint = x,
                None => r.problem(
                    format!("{p}.endpoint"),
                    codes::BAD_VALUE,
                    format!("endpoint must be recommend or similar, got {e:?}"),
                ),
            }
        }
        match r.string(m, "timestamp", p) {
            Some(t) => match Timestamp::parse_rfc3339(t.trim()) {
                Some(ts) => ev.timestamp = ts,
                None => r.problem(
                    format!("{p}.timestamp"),
                    codes::BAD_VALUE,
                    format!("timestamp must be RFC 3339, got {t:?}"),
                ),
            },
            None => r.problem(
                format!("{p}.timestamp"),
                codes::BAD_VALUE,
                "timestamp is required (the core has no clock)",
            ),
        }
        for (k, slot) in [
            ("request_id", &mut ev.request_id),
            ("tenant_id", &mut ev.tenant_id),
            ("surface", &mut ev.surface),
            ("segment", &mut ev.segment),
            ("algo_version", &mut ev.algo_version),
            ("config_version", &mut ev.config_version),
            ("rules_version", &mut ev.rules_version),
        ] {
            if let Some(s) = r.string(m, k, p) {
                *slot = s;
            }
        }
        let ep = format!("{p}.experiment");
        if let Some(em) = r.object(m.get("experiment"), &ep) {
            r.known(em, &["id", "variant"], &ep);
            let id = r.string(em, "id", &ep).unwrap_or_default();
            let variant = r.string(em, "variant", &ep).unwrap_or_default();
            ev.experiment = Some(Experiment {
                id: id.trim().to_string(),
                variant: variant.trim().to_string(),
            });
        }
        let up = format!("{p}.user");
        if let Some(um) = r.object(m.get("user"), &up) {
            r.known(um, &["user_id", "anonymous_id", "session_id"], &up);
            ev.user = User {
                user_id: r.string(um, "user_id", &up).unwrap_or_default(),
                anonymous_id: r.string(um, "anonymous_id", &up).unwrap_or_default(),
                session_id: r.string(um, "session_id", &up).unwrap_or_default(),
            };
        }
        let cp = format!("{p}.context");
        if let Some(cm) = r.object(m.get("context"), &cp) {
            r.known(cm, &["locale", "device", "country", "now"], &cp);
            ev.context = Some(Context {
                locale: r.string(cm, "locale", &cp).unwrap_or_default(),
                device: r.string(cm, "device", &cp).unwrap_or_default(),
                country: r.string(cm, "country", &cp).unwrap_or_default(),
                now: r.string(cm, "now", &cp).unwrap_or_default(),
            });
        }
        match m.get("items") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, it) in items.iter().enumerate() {
                    let ip = format!("{p}.items[{i}]");
                    let Some(im) = r.object(Some(it), &ip) else {
                        if it.is_null() {
                            r.wrong(&ip, "an object", it);
                        }
                        continue;
                    };
                    r.known(im, &["item_id", "rank", "score"], &ip);
                    ev.items.push(ExposedItem {
                        item_id: r.string(im, "item_id", &ip).unwrap_or_default(),
                        rank: r.uint(im, "rank", &ip).unwrap_or(0),
                        score: r.number(im, "score", &ip).unwrap_or(0.0),
                    });
                }
            }
            Some(other) => r.wrong(&format!("{p}.items"), "an array", other),
        }
        if r.is_clean() {
            Ok(ev)
        } else {
            Err(r.into_problems())
        }
    }
}

/// An encoder fixed at start-up: format plus subject mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposureEncoder {
    pub format: ExposureFormat,
    pub subjects: SubjectMode,
}

impl ExposureEncoder {
    /// Hashed subjects (the reference).
    pub fn new(format: ExposureFormat, hasher: SubjectHasher) -> ExposureEncoder {
        ExposureEncoder {
            format,
            subjects: SubjectMode::Hashed(hasher),
        }
    }
    /// Raw subject ids (development only; production profiles refuse it).
    pub fn raw(format: ExposureFormat) -> ExposureEncoder {
        ExposureEncoder {
            format,
            subjects: SubjectMode::Raw,
        }
    }
    pub fn encode(&self, ev: &ExposureEvent) -> Result<Value, ExposureError> {
        ev.encode(self.format, &self.subjects)
    }
    #[cfg(test)]
    /// Encodes and hands the event to `sink`.
    pub fn emit(&self, sink: &dyn ExposureSink, ev: &ExposureEvent) -> Result<(), ExposureError> {
        let v = self.encode(ev)?;
        sink.emit(&v)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_hash_vectors() {
        assert_eq!(
            hash_subject(b"salt", "user").unwrap(),
            "48cee8d8b352a2221a8993ac5fafd739ef877013a7576e582ac1363b92995782"
        );
        assert_eq!(
            hash_subject(b"", " user ").unwrap(),
            "5544e527c72aae51df22438f3eba7b8a545f2d2391e64c4cc706effaca99d3c1"
        );
        assert_eq!(hash_subject(b"salt", "  "), None);
        assert!(!format!("{:?}", SubjectHasher::new("s3cr3t")).contains("s3cr3t"));
    }
}
