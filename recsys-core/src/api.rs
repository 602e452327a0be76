//! The JSON call/answer surface: every binding (Python, Node, WASM, C, CLI) and the
//! conformance runner go through [`Engine::call`] and [`call_static`]: a named operation
//! ([`Op`]), a JSON input, a JSON answer or an [`ApiError`]. Each operation has one handler
//! here that converts its JSON input into a typed call on [`Engine`] (or its [`Engine::admin`]
//! and [`Engine::loader`] handles) and the result back into JSON; the behaviour lives there.

mod admin;
mod conformance;
mod loader;

use admin::*;
use conformance::{conformance_compare, conformance_split};
use loader::*;

use crate::control::DocKind;
pub use crate::engine::{Engine, EngineOptions};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::node::{parse_node, Members};
use crate::json::{self, Map, Value};
use crate::request::CallContext;
use crate::serve::answer::Answer;
use crate::serve::request::{Input, JsonTree, Request};
use crate::serve::{Text, Typed};

macro_rules! ops {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// A named operation of [`Engine::call`] (`"recommend"`, `"admin.put_config"`, ...).
        /// Parse one with [`str::parse`]; [`Op::name`] is its wire name.
        ///
        /// ```
        /// use recsys_core::Op;
        ///
        /// let op: Op = "admin.put_config".parse()?;
        /// assert_eq!(op, Op::AdminPutConfig);
        /// assert_eq!(op.name(), "admin.put_config");
        /// assert!("no_such_op".parse::<Op>().is_err());
        /// # Ok::<(), recsys_core::ApiError>(())
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Op {
            $(#[doc = $doc] $variant,)*
        }

        impl Op {
            /// Every operation, in documentation order.
            pub const ALL: &'static [Op] = &[$(Op::$variant,)*];

            /// The operation's wire name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Op::$variant => $name,)*
                }
            }
        }

        impl std::str::FromStr for Op {
            type Err = ApiError;

            /// Fails with `RECSYS_UNKNOWN_OPERATION`.
            fn from_str(s: &str) -> Result<Op, ApiError> {
                match s {
                    $($name => Ok(Op::$variant),)*
                    _ => Err(unknown_op(s)),
                }
            }
        }
    };
}

ops! {
    Assign => "assign", "Experiment assignment (stateless).";
    ExposureEvent => "exposure_event", "An exposure event for an answer (stateless).";
    ApiKeyHash => "api_key_hash", "Hashes an API key (stateless).";
    ApiKeyVerify => "api_key_verify", "Verifies an API key against its hash (stateless).";
    ValidateProfile => "validate_profile", "Checks an engine profile (stateless).";
    Etag => "etag", "A document's ETag and canonical text (stateless).";
    Canonicalize => "canonicalize", "Alias of `etag` (stateless).";
    ConformanceSplit => "conformance_split", "Splits a conformance case into raw texts (stateless).";
    ConformanceCompare => "conformance_compare", "Compares an answer with a case's expectation (stateless).";
    LoadSnapshot => "load_snapshot", "Loads documents and artifacts ([`Engine::load_snapshot`]).";
    SetConfig => "set_config", "Replaces a tenant's served config without the store.";
    SetRules => "set_rules", "Replaces a tenant's served rules without the store.";
    Lint => "lint", "Lints proposed documents against the loaded catalog.";
    Liveness => "liveness", "Liveness probe.";
    Metrics => "metrics", "Prometheus text of the built-in registry.";
    ExposureDrain => "exposure_drain", "Takes queued exposure events ([`Engine::drain_exposures`]).";
    Readiness => "readiness", "Readiness probe.";
    SyncStatus => "sync_status", "Where each tenant stands relative to the store.";
    LoaderTrack => "loader_track", "[`crate::engine::Loader::track`].";
    LoaderDue => "loader_due", "[`crate::engine::Loader::due`].";
    LoaderInvalidate => "loader_invalidate", "[`crate::engine::Loader::invalidate`].";
    LoaderApplyManifest => "loader_apply_manifest", "[`crate::engine::Loader::apply_manifest`].";
    LoaderPin => "loader_pin", "[`crate::engine::Loader::pin`].";
    LoaderApplyArtifacts => "loader_apply_artifacts", "[`crate::engine::Loader::apply_artifacts`].";
    LoaderRelease => "loader_release", "[`crate::engine::Loader::release`].";
    LoaderUnpin => "loader_unpin", "[`crate::engine::Loader::unpin`].";
    Recommend => "recommend", "Ranks items for a user.";
    Validate => "validate", "Normalises a request and lists its warnings.";
    Similar => "similar", "Items similar to anchors.";
    Snapshots => "snapshots", "The loaded (tenant, surface) pairs ([`Engine::loaded`]).";
    AdminGetConfig => "admin.get_config", "The current config document.";
    AdminPutConfig => "admin.put_config", "[`crate::engine::Admin::put`] of a config.";
    AdminGetRules => "admin.get_rules", "The current rules document.";
    AdminPutRules => "admin.put_rules", "[`crate::engine::Admin::put`] of rules.";
    AdminListVersions => "admin.list_versions", "A document's stored versions.";
    AdminRollback => "admin.rollback", "[`crate::engine::Admin::rollback`].";
    AdminAudit => "admin.audit", "One page of the audit log.";
    AdminVerifyAudit => "admin.verify_audit", "Verifies the audit chain.";
    AdminInvalidate => "admin.invalidate", "[`crate::engine::Admin::invalidate`].";
    AdminPinArtifacts => "admin.pin_artifacts", "[`crate::engine::Admin::pin_artifacts`].";
    AdminUnpinArtifacts => "admin.unpin_artifacts", "[`crate::engine::Admin::unpin_artifacts`].";
    AdminReleaseHeld => "admin.release_held", "[`crate::engine::Admin::release_held`].";
    AdminSync => "admin.sync", "[`crate::engine::Admin::sync`].";
    AdminPreview => "admin.preview", "Replays requests against proposed documents.";
    AdminGetRelease => "admin.get_release", "The tenant's current release.";
    AdminRelease => "admin.release", "Publishes config and rules as one release.";
    AdminRollbackRelease => "admin.rollback_release", "Makes an earlier release current.";
}

impl Op {
    /// True for operations that need no engine state ([`call_static`]).
    ///
    /// ```
    /// use recsys_core::Op;
    ///
    /// assert!("etag".parse::<Op>()?.is_static());
    /// assert!(!"recommend".parse::<Op>()?.is_static());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn is_static(self) -> bool {
        STATIC_OPS.contains(&self.name())
    }

    /// True for control-plane operations (input `{"request", "ctx"}`).
    ///
    /// ```
    /// use recsys_core::Op;
    ///
    /// assert!("admin.put_config".parse::<Op>()?.is_admin());
    /// assert!(!"validate".parse::<Op>()?.is_admin());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn is_admin(self) -> bool {
        self.name().starts_with("admin.")
    }
}

/// Operations that need no engine state.
pub const STATIC_OPS: &[&str] = &[
    "assign",
    "exposure_event",
    "api_key_hash",
    "api_key_verify",
    "validate_profile",
    "etag",
    "canonicalize",
    "conformance_split",
    "conformance_compare",
];

/// Runs a stateless operation.
///
/// * `etag`: input = any JSON document; answer = `{"etag": "<hex>", "canonical": "<text>"}`.
/// * `canonicalize`: same answer (kept as an alias for readability).
///
/// ```
/// let answer = recsys_core::call_static("etag", r#"{"b": 1, "a": 2}"#)?;
/// assert!(answer.contains(r#""canonical":"{\"a\": 2, \"b\": 1}""#), "{answer}");
/// # Ok::<(), recsys_core::ApiError>(())
/// ```
pub fn call_static(op: &str, input: &str) -> Result<String, ApiError> {
    if let Some(answer) = crate::ops::api::call_static_json(op, input) {
        return answer;
    }
    match op {
        "etag" | "canonicalize" => {
            let canonical = json::canonical_text(input.as_bytes())?;
            let mut m = Map::with_capacity(2);
            m.push("etag", Value::str(json::etag(input.as_bytes())?));
            m.push("canonical", Value::String(canonical));
            Ok(json::to_string(&Value::Object(m)))
        }
        "conformance_split" => conformance_split(input),
        "conformance_compare" => conformance_compare(input),
        _ => Err(unknown_op(op)),
    }
}

fn parse_input(input: &str) -> Result<Value, ApiError> {
    Ok(json::parse(input.as_bytes())?)
}

impl Engine {
    /// An engine with options given as a JSON object (see [`EngineOptions::from_value`]).
    ///
    /// ```
    /// use recsys_core::Engine;
    ///
    /// let engine = Engine::with_options_json(r#"{"metrics": true}"#)?;
    /// assert!(engine.options().metrics);
    /// assert!(Engine::with_options_json("[]").is_err());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn with_options_json(options: &str) -> Result<Engine, ApiError> {
        Engine::builder().options_json(options).build()
    }

    /// Runs a named operation ([`Op`]) with a JSON input and returns the JSON answer.
    ///
    /// * `load_snapshot`: documents → compile report (see [`crate::engine::Documents`]).
    /// * `recommend`, `validate`, `similar`: `{"request": {...}, "ctx": {...}}` → answer.
    /// * `admin.*`: `{"request": {...}, "ctx": {"now", "request_id"?, "principal"}}`.
    /// * `snapshots`: `{}` → the loaded (tenant, surface) pairs.
    /// * any [`STATIC_OPS`] operation.
    ///
    /// ```
    /// let engine = recsys_core::Engine::builder().build()?;
    /// let answer = engine.call("liveness", "{}")?;
    /// assert_eq!(answer, r#"{"status":"ok"}"#);
    /// let err = engine.call("no_such_op", "{}").unwrap_err();
    /// assert_eq!(err.code, "RECSYS_UNKNOWN_OPERATION");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn call(&self, op: &str, input: &str) -> Result<String, ApiError> {
        let op: Op = op.parse()?;
        if op.is_static() {
            return call_static(op.name(), input);
        }
        if op == Op::LoadSnapshot {
            // Embedded artifacts are cut out of the text, never parsed into a tree.
            return self
                .load_text(input)
                .map(|r| json::to_string(&r.to_value()));
        }
        if op == Op::Recommend && self.text_form() {
            // The common request read straight from the text; anything else (and every
            // error) goes through the tree below.
            if let Some(call) = crate::decode::direct::read(input, &json::Limits::default()) {
                let _busy = self.enter()?;
                return self.serve_direct(&call);
            }
        }
        if matches!(op, Op::Recommend | Op::Similar | Op::Validate) {
            // The request is read from a tree borrowing the input's strings (same parser,
            // limits and errors as `parse_input`), and the answer is written straight from
            // the typed result, with no value tree either way.
            let v = parse_node(input.as_bytes(), json::Limits::default())?;
            let _busy = self.enter()?;
            return self.serving_op(op, &v, self.text_form())?.into_text();
        }
        let v = parse_input(input)?;
        self.call_op(op, &v).map(|a| json::to_string(&a))
    }

    /// [`Engine::call`] on an already decoded input, answering a value: for hosts that
    /// convert their own data structures (the Python binding's dicts) without a JSON text
    /// round trip. Same operations, same answers (`to_string` of this is `call`'s text).
    ///
    /// ```
    /// use recsys_core::json::{parse, to_string, Map, Value};
    ///
    /// let engine = recsys_core::Engine::builder().build()?;
    /// let answer = engine.call_value("liveness", &Value::Object(Map::new()))?;
    /// assert_eq!(to_string(&answer), engine.call("liveness", "{}")?);
    /// let input = parse(br#"{"tenant": "demo", "surface": "home", "signals": {"popularity": []}}"#).unwrap();
    /// engine.call_value("load_snapshot", &input)?;
    /// assert_eq!(engine.loaded().len(), 1);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn call_value(&self, op: &str, v: &Value) -> Result<Value, ApiError> {
        self.call_op(op.parse()?, v)
    }

    /// [`Engine::call_value`] with the operation already parsed.
    ///
    /// ```
    /// use recsys_core::json::{to_string, Map, Value};
    /// use recsys_core::Op;
    ///
    /// let engine = recsys_core::Engine::builder().build()?;
    /// let op: Op = "liveness".parse()?;
    /// let answer = engine.call_op(op, &Value::Object(Map::new()))?;
    /// assert_eq!(to_string(&answer), r#"{"status":"ok"}"#);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn call_op(&self, op: Op, v: &Value) -> Result<Value, ApiError> {
        if op.is_static() {
            let answer = call_static(op.name(), &json::to_string(v))?;
            return Ok(json::parse(answer.as_bytes())?);
        }
        // Refuses a call made by one of this engine's adapters from inside an operation.
        let _busy = self.enter()?;
        handler(op)(self, v)
    }
}

type Handler = fn(&Engine, &Value) -> Result<Value, ApiError>;

/// The handler of an engine operation (static operations are [`call_static`]'s).
fn handler(op: Op) -> Handler {
    match op {
        Op::LoadSnapshot => |e, v| Ok(e.load_value(v)?.to_value()),
        Op::SetConfig => |e, v| set_document(e, v, DocKind::Config),
        Op::SetRules => |e, v| set_document(e, v, DocKind::Rules),
        Op::Lint => lint,
        Op::Liveness => |e, _| Ok(e.liveness()),
        Op::Metrics => metrics,
        Op::ExposureDrain => exposure_drain,
        Op::Readiness => |e, v| Ok(e.readiness(now_member(object(v)?)?)),
        Op::SyncStatus => |e, v| Ok(e.sync_status(now_member(object(v)?)?)),
        Op::LoaderTrack => loader_track,
        Op::LoaderDue => loader_due,
        Op::LoaderInvalidate => loader_invalidate,
        Op::LoaderApplyManifest => loader_apply_manifest,
        Op::LoaderPin => loader_pin,
        Op::LoaderApplyArtifacts => loader_apply_artifacts,
        Op::LoaderRelease => loader_release,
        Op::LoaderUnpin => loader_unpin,
        Op::Recommend => |e, v| serve(e, v, Op::Recommend),
        Op::Similar => |e, v| serve(e, v, Op::Similar),
        Op::Validate => |e, v| serve(e, v, Op::Validate),
        Op::Snapshots => snapshots,
        Op::AdminSync => |e, v| admin_sync(e, envelope(v)?),
        Op::AdminPutConfig => |e, v| admin_put(e, v, DocKind::Config),
        Op::AdminPutRules => |e, v| admin_put(e, v, DocKind::Rules),
        Op::AdminRollback => admin_rollback,
        Op::AdminInvalidate => admin_invalidate,
        Op::AdminPinArtifacts => admin_pin_artifacts,
        Op::AdminUnpinArtifacts => admin_unpin_artifacts,
        Op::AdminReleaseHeld => admin_release_held,
        Op::AdminPreview => admin_preview,
        Op::AdminGetRelease => |e, v| admin_release(e, v, Op::AdminGetRelease),
        Op::AdminRelease => |e, v| admin_release(e, v, Op::AdminRelease),
        Op::AdminRollbackRelease => |e, v| admin_release(e, v, Op::AdminRollbackRelease),
        Op::AdminGetConfig => |e, v| admin_read(e, v, Op::AdminGetConfig),
        Op::AdminGetRules => |e, v| admin_read(e, v, Op::AdminGetRules),
        Op::AdminListVersions => |e, v| admin_read(e, v, Op::AdminListVersions),
        Op::AdminAudit => |e, v| admin_read(e, v, Op::AdminAudit),
        Op::AdminVerifyAudit => |e, v| admin_read(e, v, Op::AdminVerifyAudit),
        // Static operations never reach here (see `Engine::call_op`).
        _ => |_, _| {
            Err(ApiError::new(
                crate::error::ErrorCode::UnknownOperation,
                "not an engine operation",
            ))
        },
    }
}

// ---- engine operations ---------------------------------------------------------------------

/// `set_config` / `set_rules`: `{"tenant", "document"}` (null removes) → `{"tenant", "recompiled"}`.
fn set_document(e: &Engine, v: &Value, kind: DocKind) -> Result<Value, ApiError> {
    let m = object(v)?;
    let tenant = str_member(m, "tenant")?;
    let doc = m.get("document").filter(|d| !d.is_null());
    let n = match kind {
        DocKind::Config => e.set_config(tenant, doc)?,
        DocKind::Rules => e.set_rules(tenant, doc)?,
    };
    let mut a = Map::new();
    a.push("tenant", Value::str(tenant));
    a.push("recompiled", Value::u64(n as u64));
    Ok(Value::Object(a))
}

/// `lint`: `{"tenant", "now", "surface"?, "config"?, "rules"?}` → findings.
fn lint(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    only(
        m,
        &["tenant", "surface", "config", "rules", "now"],
        "{\"tenant\", \"now\", \"surface\"?, \"config\"?, \"rules\"?}",
    )?;
    let p = crate::change::Proposal::from_input(e, m)?;
    Ok(crate::change::lint_answer(&p, &p.lint(now_member(m)?)))
}

/// `metrics`: `{}` → `{"prometheus": text}`.
fn metrics(e: &Engine, _: &Value) -> Result<Value, ApiError> {
    e.export_gate_gauges();
    if e.options().rule_telemetry {
        e.rule_stats
            .export(e.metrics_registry(), crate::ops::rule_stats::DEFAULT_TOP_N);
    }
    let mut a = Map::new();
    a.push(
        "prometheus",
        Value::String(e.metrics_registry().render_prometheus()),
    );
    Ok(Value::Object(a))
}

/// `exposure_drain`: `{"max"?}` → `{"events", "dropped"}`.
fn exposure_drain(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let max = object(v)?
        .get("max")
        .and_then(Value::as_number)
        .and_then(|n| n.as_i64())
        .unwrap_or(1000);
    let batch = e.drain_exposures(max.max(0) as usize);
    let mut a = Map::new();
    a.push("events", Value::Array(batch.events));
    a.push("dropped", Value::u64(batch.dropped));
    Ok(Value::Object(a))
}

/// `recommend`, `similar`, `validate`: `{"request", "ctx", "signals"?}` → the answer (as a
/// value: [`Engine::call`] writes the typed answer straight to text instead).
fn serve(e: &Engine, v: &Value, op: Op) -> Result<Value, ApiError> {
    e.serving_op(op, v, false)?.to_value()
}

impl Engine {
    /// `recommend`, `similar` and `validate`: `{"request", "ctx", "signals"?}` decoded, the
    /// typed call made (over host-supplied signals when given), its answer handed back; with
    /// `text`, a recommendation is handed back already written as JSON text.
    pub(crate) fn serving_op<J: JsonTree>(
        &self,
        op: Op,
        v: &J,
        text: bool,
    ) -> Result<Answer, ApiError> {
        let m = v.as_obj().ok_or_else(not_an_object)?;
        only(
            m,
            &["request", "ctx", "signals"],
            "{\"request\": ..., \"ctx\": ..., \"signals\"?: ...}",
        )?;
        let ctx = match m.get("ctx") {
            Some(c) => CallContext::from_tree(c)?,
            None => CallContext::from_value(&Value::Null)?,
        };
        let req = m.get("request");
        let input = match op {
            Op::Recommend => Input::Recommend(request(req, text)),
            Op::Similar => Input::Similar(request(req, text)),
            _ => {
                let req = request(req, false);
                return Ok(Answer::Validation(self.validate_input(&req, &ctx)?));
            }
        };
        let signals = m.get("signals").filter(|s| !s.is_null());
        Ok(match (signals, text) {
            (Some(s), false) => {
                Answer::Recommendation(self.serve_signals::<Typed>(input, &ctx, &s.as_value())?)
            }
            (Some(s), true) => {
                Answer::Text(self.serve_signals::<Text>(input, &ctx, &s.as_value())?.text)
            }
            (None, false) => Answer::Recommendation(self.serve_input::<Typed>(input, &ctx)?),
            (None, true) => Answer::Text(self.serve_input::<Text>(input, &ctx)?.text),
        })
    }
}

/// The `request` member still to decode (absent: `null`); with `text` (a call answered as
/// text) its candidate id lists may stay slices of the input.
fn request<J: JsonTree, T>(v: Option<&J>, text: bool) -> Request<'_, T> {
    static NULL: Value = Value::Null;
    v.map_or(Request::Json(&NULL), |v| v.request(text))
}

/// `snapshots`: `{}` → `[{"tenant", "surface"}]`.
fn snapshots(e: &Engine, _: &Value) -> Result<Value, ApiError> {
    let list = e.loaded().into_iter().map(|s| {
        let mut m = Map::new();
        m.push("tenant", Value::String(s.tenant));
        m.push("surface", Value::String(s.surface));
        Value::Object(m)
    });
    Ok(Value::Array(list.collect()))
}

fn missing(k: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, format!("missing member {k:?}"))
}

fn object(v: &Value) -> Result<&Map, ApiError> {
    v.as_object().ok_or_else(not_an_object)
}

fn not_an_object() -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, "input must be a json object")
}

fn str_member<'a>(m: &'a Map, k: &str) -> Result<&'a str, ApiError> {
    m.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing(k))
}

fn now_member(m: &Map) -> Result<crate::time::Timestamp, ApiError> {
    let s = str_member(m, "now")?;
    crate::time::Timestamp::parse_rfc3339(s).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!("now must be an RFC3339 timestamp, got {s:?}"),
        )
    })
}

/// Refuses members other than `allowed`; `shape` is the input's shape for the message.
fn only(m: &(impl Members + ?Sized), allowed: &[&str], shape: &str) -> Result<(), ApiError> {
    match m.iter().find(|(k, _)| !allowed.contains(k)) {
        Some((k, _)) => Err(ApiError::new(
            crate::error::ErrorCode::InvalidRequest,
            format!("unknown member {k:?}: input is {shape}"),
        )),
        None => Ok(()),
    }
}

fn unknown_op(op: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownOperation,
        format!("unknown operation {op:?}"),
    )
}
