//! The JSON call/answer surface: every binding (Python, Node, WASM, C, CLI) and the
//! conformance runner go through [`Engine::call`] and [`call_static`]: a named operation
//! ([`Op`]), a JSON input, a JSON answer or an [`ApiError`]. Each operation has one handler
//! here that converts its JSON input into a typed call on [`Engine`] (or its [`Engine::admin`]
//! and [`Engine::loader`] handles) and the result back into JSON; the behaviour lives there.

use crate::control::{DocKind, OpContext, Principal};
use crate::engine::{ArtifactChange, Context, Written};
pub use crate::engine::{Engine, EngineOptions};
use crate::error::ApiError;
use crate::json::{self, Map, Value};
use crate::request::CallContext;

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
    pub fn is_static(self) -> bool {
        STATIC_OPS.contains(&self.name())
    }

    /// True for control-plane operations (input `{"request", "ctx"}`).
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

fn invalid_case(message: impl Into<String>) -> ApiError {
    ApiError::new("RECSYS_INVALID_CASE", 400, message)
}

/// Splits a conformance case file into the raw JSON texts a runner passes to the engine, so
/// that runners never re-serialise case data with their own JSON library (which would change
/// number literals such as `1e2` or 64-bit counts).
///
/// Answer: `{"name", "description", "call", "engine": text|null, "documents": text|null,
/// "input": text, "expect": text}`.
fn conformance_split(input: &str) -> Result<String, ApiError> {
    let case = parse_input(input)?;
    let m = case
        .as_object()
        .ok_or_else(|| invalid_case("a case must be a json object"))?;
    let text = |k: &str| -> Value {
        match m.get(k) {
            None | Some(Value::Null) => Value::Null,
            Some(v) => Value::String(json::to_string(v)),
        }
    };
    let string = |k: &str| -> Result<String, ApiError> {
        m.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| invalid_case(format!("case member {k:?} must be a string")))
    };
    let mut out = Map::new();
    out.push("name", Value::String(string("name")?));
    out.push(
        "description",
        Value::String(
            m.get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        ),
    );
    out.push("call", Value::String(string("call")?));
    out.push("engine", text("engine"));
    out.push("documents", text("documents"));
    if m.get("input").is_none() || m.get("expect").is_none() {
        return Err(invalid_case("a case needs \"input\" and \"expect\""));
    }
    out.push("input", text("input"));
    out.push("expect", text("expect"));
    Ok(json::to_string(&Value::Object(out)))
}

/// Compares an answer with a case's expectation: `{"expect": <json>, "actual": <json>}`.
/// An expectation `{"error": {...}}` matches when every key it names equals the actual
/// error's; anything else must be equal in canonical form. Answer:
/// `{"pass": bool, "expected": canonical text, "actual": canonical text}`.
fn conformance_compare(input: &str) -> Result<String, ApiError> {
    let v = parse_input(input)?;
    let m = v
        .as_object()
        .ok_or_else(|| invalid_case("compare input must be an object"))?;
    let expect = m
        .get("expect")
        .ok_or_else(|| invalid_case("missing \"expect\""))?;
    let actual = m
        .get("actual")
        .ok_or_else(|| invalid_case("missing \"actual\""))?;
    let pass = match expect_error(expect) {
        Some(want) => match actual
            .as_object()
            .and_then(|a| a.get("error"))
            .and_then(Value::as_object)
        {
            Some(got) => want.deduped().iter().all(|(k, v)| got.get(k) == Some(*v)),
            None => false,
        },
        None => json::canonical_value_text(expect)? == json::canonical_value_text(actual)?,
    };
    let mut out = Map::new();
    out.push("pass", Value::Bool(pass));
    out.push(
        "expected",
        Value::String(json::canonical_value_text(expect)?),
    );
    out.push("actual", Value::String(json::canonical_value_text(actual)?));
    Ok(json::to_string(&Value::Object(out)))
}

impl Engine {
    /// An engine with options given as a JSON object (see [`EngineOptions::from_value`]).
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
        let v = if op == Op::LoadSnapshot {
            // Documents embed up to five artifacts, each bounded by the engine's artifact
            // limits: size the envelope from those, not from the generic 16 MiB call limit.
            let a = &self.options().artifact_limits;
            let d = json::Limits::default();
            json::parse_with(
                input.as_bytes(),
                json::Limits {
                    max_bytes: a.max_bytes.saturating_mul(5).saturating_add(d.max_bytes),
                    max_depth: a.max_depth.saturating_add(4).max(d.max_depth),
                    ..d
                },
            )?
        } else {
            parse_input(input)?
        };
        self.call_op(op, &v).map(|a| json::to_string(&a))
    }

    /// [`Engine::call`] on an already decoded input, answering a value: for hosts that
    /// convert their own data structures (the Python binding's dicts) without a JSON text
    /// round trip. Same operations, same answers (`to_string` of this is `call`'s text).
    pub fn call_value(&self, op: &str, v: &Value) -> Result<Value, ApiError> {
        self.call_op(op.parse()?, v)
    }

    /// [`Engine::call_value`] with the operation already parsed.
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
        Op::AdminPreview => |e, v| {
            let a = AdminInput::decode(v)?;
            e.preview_op(a.request, &a.op_context())
        },
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
                "RECSYS_UNKNOWN_OPERATION",
                400,
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

/// `recommend`, `similar`, `validate`: `{"request", "ctx", "signals"?}` → the answer.
fn serve(e: &Engine, v: &Value, op: Op) -> Result<Value, ApiError> {
    let m = object(v)?;
    only(
        m,
        &["request", "ctx", "signals"],
        "{\"request\": ..., \"ctx\": ..., \"signals\"?: ...}",
    )?;
    let ctx = CallContext::from_value(m.get("ctx").unwrap_or(&Value::Null))?;
    let req = m.get("request").unwrap_or(&Value::Null);
    match (op, m.get("signals").filter(|s| !s.is_null())) {
        (Op::Recommend, Some(sig)) => e.recommend_with_signals(req, &ctx, sig),
        (Op::Similar, Some(sig)) => e.similar_with_signals(req, &ctx, sig),
        (Op::Recommend, None) => e.recommend(req, &ctx),
        (Op::Similar, None) => e.similar(req, &ctx),
        _ => e.validate(req, &ctx),
    }
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

// ---- loader operations ---------------------------------------------------------------------

/// `loader_track`: `{"tenant", "surface"}` → `{"manifest_uri"}`.
fn loader_track(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let uri = e
        .loader()
        .track(str_member(m, "tenant")?, str_member(m, "surface")?)?;
    let mut a = Map::new();
    a.push("manifest_uri", Value::String(uri));
    Ok(Value::Object(a))
}

/// `loader_due`: `{"now"}` → `[{"tenant", "surface", "manifest_uri"}]`.
fn loader_due(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let due = e
        .loader()
        .due(now_member(object(v)?)?)
        .into_iter()
        .map(|d| {
            let mut a = Map::new();
            a.push("tenant", Value::String(d.tenant));
            a.push("surface", Value::String(d.surface));
            a.push("manifest_uri", Value::String(d.manifest_uri));
            Value::Object(a)
        });
    Ok(Value::Array(due.collect()))
}

/// `loader_invalidate`: `{"tenant", "surface"?}` → `{"invalidated"}`.
fn loader_invalidate(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let surface = m.get("surface").and_then(Value::as_str);
    let n = e.loader().invalidate(str_member(m, "tenant")?, surface);
    let mut a = Map::new();
    a.push("invalidated", Value::u64(n as u64));
    Ok(Value::Object(a))
}

/// `loader_apply_manifest`: `{"tenant", "surface", "now", "result"}` → the next step.
fn loader_apply_manifest(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let now = now_member(m)?;
    let step = e
        .loader()
        .apply_manifest(t, s, now, fetch_member(m.get("result"))?)?;
    Ok(step_value(step))
}

/// `loader_pin`: `{"tenant", "surface", "now", "manifest" | "current"}` → the next step.
fn loader_pin(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let now = now_member(m)?;
    let text = manifest_member(m, t, s)?;
    Ok(step_value(e.loader().pin(t, s, now, text.into_bytes())?))
}

/// `loader_apply_artifacts`: `{"tenant", "surface", "now", "results": {uri: fetch}}` → report.
fn loader_apply_artifacts(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let mut fetched = std::collections::BTreeMap::new();
    if let Some(r) = m.get("results").and_then(Value::as_object) {
        for (uri, f) in r.iter() {
            fetched.insert(uri.to_string(), fetch_member(Some(f))?);
        }
    }
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    e.loader().apply_artifacts(t, s, now_member(m)?, fetched)
}

/// `loader_release`: `{"tenant", "surface", "now"}` → report.
fn loader_release(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    e.loader().release(t, s, now_member(m)?)
}

/// `loader_unpin`: `{"tenant", "surface"}` → `{"was_pinned"}`.
fn loader_unpin(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let was = e
        .loader()
        .unpin(str_member(m, "tenant")?, str_member(m, "surface")?)?;
    let mut a = Map::new();
    a.push("was_pinned", Value::Bool(was));
    Ok(Value::Object(a))
}

// ---- control-plane operations --------------------------------------------------------------

/// The `{"request", "ctx"}` envelope of `admin.*` operations.
fn envelope(v: &Value) -> Result<&Map, ApiError> {
    let m = object(v)?;
    only(m, &["request", "ctx"], "{\"request\": ..., \"ctx\": ...}")?;
    Ok(m)
}

/// A decoded `admin.*` input: the caller (from `ctx`) and the operation's `request`.
struct AdminInput<'a> {
    now: crate::time::Timestamp,
    request_id: &'a str,
    principal: Principal,
    request: &'a Value,
}

impl<'a> AdminInput<'a> {
    /// Reads `{"request": ..., "ctx": {"now", "request_id"?, "principal"}}`.
    fn decode(v: &'a Value) -> Result<AdminInput<'a>, ApiError> {
        let m = envelope(v)?;
        let ctx = m
            .get("ctx")
            .and_then(Value::as_object)
            .ok_or_else(|| missing("ctx"))?;
        let now = now_member(ctx)?;
        let request_id = ctx.get("request_id").and_then(Value::as_str).unwrap_or("");
        let principal =
            Principal::from_value(ctx.get("principal").ok_or_else(|| missing("principal"))?)
                .map_err(ApiError::from)?;
        Ok(AdminInput {
            now,
            request_id,
            principal,
            request: m.get("request").unwrap_or(&Value::Null),
        })
    }

    /// The typed context for a call on `tenant`.
    fn context(&self, tenant: &str) -> Context {
        Context::new(self.now, tenant)
            .request_id(self.request_id)
            .actor(self.principal.clone())
    }

    fn op_context(&self) -> OpContext {
        OpContext::new(self.now, self.request_id, self.principal.clone())
    }
}

/// The reads (`admin.get_config`, `admin.get_rules`, `admin.list_versions`, `admin.audit`,
/// `admin.verify_audit`): the control plane's own conversions.
fn admin_read(e: &Engine, v: &Value, op: Op) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let (plane, name) = (e.control(), op.name());
    crate::control::api::call(plane, name, a.request, a.now, a.request_id, &a.principal)
        .unwrap_or_else(|| Err(unknown_op(name)))
}

/// `admin.put_config` / `admin.put_rules` → the stored version, plus `lint` and `recompiled`.
fn admin_put(e: &Engine, v: &Value, kind: DocKind) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let put = crate::control::api::PutInput::decode(a.request)?;
    let w = e
        .admin_entered()
        .put(&a.context(put.tenant), kind, put.request())?;
    let (lint, recompiled) = (w.lint.clone(), w.recompiled);
    let mut answer = crate::control::api::put_value(put.tenant, w.outcome);
    if let (Some(f), Value::Object(o)) = (&lint, &mut answer) {
        o.insert("lint", crate::lint::findings_value(f));
    }
    Ok(with_recompiled(answer, recompiled))
}

/// `admin.rollback` → the version now current, plus `recompiled`.
fn admin_rollback(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let r = crate::control::api::RollbackInput::decode(a.request)?;
    let Written {
        outcome,
        recompiled,
        ..
    } = e.admin_entered().rollback(
        &a.context(r.tenant),
        r.kind,
        r.target,
        r.if_match,
        r.comment,
    )?;
    let answer = crate::control::api::rollback_value(r.tenant, outcome);
    Ok(with_recompiled(answer, recompiled))
}

/// `admin.invalidate` → the recorded invalidation, `invalidated` counting this engine's
/// dropped entries per target.
fn admin_invalidate(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let i = crate::control::api::InvalidateInput::decode(a.request)?;
    let out = e
        .admin_entered()
        .invalidate(&a.context(i.tenant), &i.targets, i.surface)?;
    let mut answer = crate::control::api::invalidate_value(i.tenant, &out.outcome);
    let mut counts = Map::new();
    for t in &out.served {
        counts.push(t.target.as_str(), Value::u64(t.count as u64));
    }
    if let Value::Object(o) = &mut answer {
        o.insert("invalidated", Value::Object(counts));
    }
    Ok(answer)
}

/// `admin.pin_artifacts`: `{"tenant", "surface", "manifest" | "current"}` → the next step
/// (like `loader_pin`), `audit_id`, `audit_head`.
fn admin_pin_artifacts(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let m = object(a.request)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let text = manifest_member(m, t, s)?;
    let out = e.admin_entered().pin_artifacts(&a.context(t), s, text)?;
    Ok(artifact_answer(out, step_value))
}

/// `admin.unpin_artifacts`: `{"tenant", "surface"}` → `{"was_pinned", "audit_id", "audit_head"}`.
fn admin_unpin_artifacts(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let m = object(a.request)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let out = e.admin_entered().unpin_artifacts(&a.context(t), s)?;
    Ok(artifact_answer(out, |was| {
        let mut o = Map::new();
        o.push("was_pinned", Value::Bool(was));
        Value::Object(o)
    }))
}

/// `admin.release_held`: `{"tenant", "surface"}` → the release report, `audit_id`, `audit_head`.
fn admin_release_held(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let m = object(a.request)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let out = e.admin_entered().release_held(&a.context(t), s)?;
    Ok(artifact_answer(out, |r| r))
}

/// `admin.get_release`, `admin.release`, `admin.rollback_release` (see [`crate::release`]).
fn admin_release(e: &Engine, v: &Value, op: Op) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    e.release_op(op.name(), a.request, &a.op_context())
}

fn artifact_answer<T>(out: ArtifactChange<T>, result: impl FnOnce(T) -> Value) -> Value {
    let mut o = match result(out.result) {
        Value::Object(o) => o,
        other => {
            let mut o = Map::new();
            o.push("result", other);
            o
        }
    };
    o.insert("audit_id", Value::u64(out.audit_id));
    o.insert("audit_head", out.audit_head.to_value());
    Value::Object(o)
}

fn with_recompiled(mut answer: Value, recompiled: usize) -> Value {
    if recompiled > 0 {
        if let Value::Object(a) = &mut answer {
            a.insert("recompiled", Value::u64(recompiled as u64));
        }
    }
    answer
}

fn admin_sync(e: &Engine, m: &Map) -> Result<Value, ApiError> {
    let now = now_member(
        m.get("ctx")
            .and_then(Value::as_object)
            .ok_or_else(|| missing("ctx"))?,
    )?;
    let empty = Map::new();
    let req = match m.get("request") {
        None | Some(Value::Null) => &empty,
        Some(r) => object(r)?,
    };
    for (k, _) in req.iter() {
        if !matches!(k, "tenant" | "kinds" | "revision") {
            return Err(ApiError::new(
                "RECSYS_INVALID_REQUEST",
                400,
                format!("unknown member {k:?}; expected one of tenant, kinds, revision"),
            ));
        }
    }
    let tenant = match req.get("tenant") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if crate::control::valid_tenant(t.trim()) => Some(t.trim()),
        Some(t) => {
            return Err(ApiError::new(
                "RECSYS_INVALID_REQUEST",
                400,
                format!(
                    "tenant must be a valid tenant id, got {}",
                    json::to_string(t)
                ),
            ))
        }
    };
    let kinds = match req.get("kinds") {
        None | Some(Value::Null) => crate::sync::SyncKinds::ALL,
        Some(Value::Array(a)) => {
            let names: Option<Vec<&str>> = a.iter().map(Value::as_str).collect();
            let names = names.ok_or_else(|| {
                ApiError::new(
                    "RECSYS_INVALID_REQUEST",
                    400,
                    "kinds must be an array of strings",
                )
            })?;
            crate::sync::SyncKinds::parse(names)?
        }
        Some(_) => {
            return Err(ApiError::new(
                "RECSYS_INVALID_REQUEST",
                400,
                "kinds must be an array of strings",
            ))
        }
    };
    let revision = match req.get("revision") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_i64().filter(|i| *i >= 0).ok_or_else(|| {
            ApiError::new(
                "RECSYS_INVALID_REQUEST",
                400,
                format!(
                    "revision must be a non-negative integer, got {}",
                    json::to_string(&Value::Number(n.clone()))
                ),
            )
        })? as u64),
        Some(other) => {
            return Err(ApiError::new(
                "RECSYS_INVALID_REQUEST",
                400,
                format!(
                    "revision must be an integer, got {}",
                    json::to_string(other)
                ),
            ))
        }
    };
    let reports = e.admin_entered().sync(tenant, kinds, revision, now)?;
    let mut out = Map::new();
    out.push(
        "tenants",
        Value::Array(reports.iter().map(|r| r.to_value()).collect()),
    );
    Ok(Value::Object(out))
}

fn missing(k: &str) -> ApiError {
    ApiError::new(
        "RECSYS_INVALID_REQUEST",
        400,
        format!("missing member {k:?}"),
    )
}

fn object(v: &Value) -> Result<&Map, ApiError> {
    v.as_object()
        .ok_or_else(|| ApiError::new("RECSYS_INVALID_REQUEST", 400, "input must be a json object"))
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
            "RECSYS_INVALID_REQUEST",
            400,
            format!("now must be an RFC3339 timestamp, got {s:?}"),
        )
    })
}

/// `{"found": "<text>"}`, `{"not_found": true}` or `{"error": "<message>"}`.
fn fetch_member(v: Option<&Value>) -> Result<crate::loader::Fetch, ApiError> {
    use crate::loader::Fetch;
    let m = v
        .and_then(Value::as_object)
        .ok_or_else(|| missing("result"))?;
    if let Some(t) = m.get("found") {
        return Ok(Fetch::Found(match t {
            Value::String(s) => s.clone().into_bytes(),
            other => json::to_string(other).into_bytes(),
        }));
    }
    if m.get("not_found").and_then(Value::as_bool) == Some(true) {
        return Ok(Fetch::NotFound);
    }
    if let Some(e) = m.get("error").and_then(Value::as_str) {
        return Ok(Fetch::Error(e.to_string()));
    }
    Err(ApiError::new(
        "RECSYS_INVALID_REQUEST",
        400,
        "a fetch result is {\"found\": text}, {\"not_found\": true} or {\"error\": message}",
    ))
}

/// `"manifest"` (its text, or the manifest as JSON) or `"current"` (a version list, wrapped
/// into a v1 manifest for `tenant` / `surface`).
fn manifest_member(m: &Map, tenant: &str, surface: &str) -> Result<String, ApiError> {
    match (m.get("manifest"), m.get("current")) {
        (Some(Value::String(x)), _) => Ok(x.clone()),
        (Some(other), _) => Ok(json::to_string(other)),
        (None, Some(cur)) => {
            let mut mm = Map::new();
            mm.push("v", Value::i64(1));
            mm.push("tenant", Value::str(tenant));
            mm.push("surface", Value::str(surface));
            mm.push("current", cur.clone());
            Ok(json::to_string(&Value::Object(mm)))
        }
        (None, None) => Err(missing("manifest")),
    }
}

/// Refuses members other than `allowed`; `shape` is the input's shape for the message.
fn only(m: &Map, allowed: &[&str], shape: &str) -> Result<(), ApiError> {
    match m.iter().find(|(k, _)| !allowed.contains(k)) {
        Some((k, _)) => Err(ApiError::new(
            "RECSYS_INVALID_REQUEST",
            400,
            format!("unknown member {k:?}: input is {shape}"),
        )),
        None => Ok(()),
    }
}

fn step_value(step: crate::loader::Step) -> Value {
    match step {
        crate::loader::Step::Done(v) => v,
        crate::loader::Step::Fetch(uris) => {
            let mut a = Map::new();
            a.push(
                "fetch",
                Value::Array(uris.into_iter().map(Value::String).collect()),
            );
            Value::Object(a)
        }
    }
}

fn expect_error(expect: &Value) -> Option<&Map> {
    let m = expect.as_object()?;
    if m.len() == 1 {
        m.get("error").and_then(Value::as_object)
    } else {
        None
    }
}

fn unknown_op(op: &str) -> ApiError {
    ApiError::new(
        "RECSYS_UNKNOWN_OPERATION",
        400,
        format!("unknown operation {op:?}"),
    )
}
