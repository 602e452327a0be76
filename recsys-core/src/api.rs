//! The JSON call/answer surface. Every binding (Python, Node, WASM, C, CLI) and the
//! conformance runner go through [`Engine::call`] and [`call_static`]: a named operation,
//! a JSON input, a JSON answer or an [`ApiError`]. Typed Rust callers can use the modules
//! directly; this layer only converts.

use crate::compile::{report_value, Documents};
pub use crate::engine::{Engine, EngineOptions};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{self, Map, Value};
use crate::request::CallContext;

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
    ApiError::new(ErrorCode::InvalidCase, message)
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
    /// Control-plane operations: `{"request": {...op input...}, "ctx": {"now", "request_id"?,
    /// "principal": {"subject", "tenant", "roles"}}}`. Successful writes are applied to the
    /// tenant's snapshots at once; invalidating `artifacts` schedules a manifest refresh.
    fn admin(&self, op: &str, v: &Value) -> Result<Value, ApiError> {
        use crate::control::{DocKind, OpContext, Principal};
        let m = object(v)?;
        for (k, _) in m.iter() {
            if k != "request" && k != "ctx" {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("unknown member {k:?}: input is {{\"request\": ..., \"ctx\": ...}}"),
                ));
            }
        }
        if op == "admin.sync" {
            return self.sync_op(m);
        }
        let ctx = m
            .get("ctx")
            .and_then(Value::as_object)
            .ok_or_else(|| missing("ctx"))?;
        let now = now_member(ctx)?;
        let request_id = ctx.get("request_id").and_then(Value::as_str).unwrap_or("");
        let principal =
            Principal::from_value(ctx.get("principal").ok_or_else(|| missing("principal"))?)
                .map_err(ApiError::from)?;
        let req = m.get("request").unwrap_or(&Value::Null);
        if ARTIFACT_ADMIN_OPS.contains(&op) {
            return self.artifact_admin(op, req, OpContext::new(now, request_id, principal));
        }
        if op == "admin.preview" {
            return self.preview_op(req, &OpContext::new(now, request_id, principal));
        }
        if crate::release::RELEASE_OPS.contains(&op) {
            return self.release_op(op, req, &OpContext::new(now, request_id, principal));
        }
        let findings =
            self.lint_write(op, req, &OpContext::new(now, request_id, principal.clone()))?;
        let mut answer =
            crate::control::api::call(&self.control, op, req, now, request_id, &principal)
                .unwrap_or_else(|| Err(unknown_op(op)))?;
        if let (Some(f), Value::Object(a)) = (&findings, &mut answer) {
            a.insert("lint", crate::lint::findings_value(f));
        }
        let tenant = req
            .as_object()
            .and_then(|r| r.get("tenant"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim();
        // Apply what changed to the serving snapshots through the fleet reconcile
        // (crate::sync): the current pointer is read and installed only when its revision is
        // newer than what serves, so concurrent writers and syncs never move serving back.
        let sync = |kind: DocKind| -> Result<usize, ApiError> {
            let kinds = crate::sync::SyncKinds {
                config: kind == DocKind::Config,
                rules: kind == DocKind::Rules,
                feed: false,
            };
            let reports = self.sync_entered(Some(tenant), kinds, None, now)?;
            Ok(reports.iter().map(|r| r.recompiled).sum())
        };
        let changed = answer
            .as_object()
            .and_then(|a| a.get("changed"))
            .and_then(Value::as_bool)
            == Some(true);
        let mut recompiled = 0;
        match op {
            "admin.put_config" if changed => recompiled += sync(DocKind::Config)?,
            "admin.put_rules" if changed => recompiled += sync(DocKind::Rules)?,
            "admin.rollback" if changed => {
                let kind = req
                    .as_object()
                    .and_then(|r| r.get("kind"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                recompiled += sync(if kind.trim().eq_ignore_ascii_case("rules") {
                    DocKind::Rules
                } else {
                    DocKind::Config
                })?;
            }
            "admin.invalidate" => {
                let targets: Vec<String> = answer
                    .as_object()
                    .and_then(|a| a.get("targets"))
                    .and_then(Value::as_array)
                    .map(|t| {
                        t.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                let surface = answer
                    .as_object()
                    .and_then(|a| a.get("surface"))
                    .and_then(Value::as_str);
                let mut counts = Map::new();
                for t in &targets {
                    let n = match t.as_str() {
                        "config" => self.sync_forced(tenant, DocKind::Config, now)?,
                        "rules" => self.sync_forced(tenant, DocKind::Rules, now)?,
                        _ => self.loader_invalidate(tenant, surface),
                    };
                    counts.push(t.clone(), Value::u64(n as u64));
                }
                if let Value::Object(a) = &mut answer {
                    a.insert("invalidated", Value::Object(counts));
                }
            }
            _ => {}
        }
        if recompiled > 0 {
            if let Value::Object(a) = &mut answer {
                a.insert("recompiled", Value::u64(recompiled as u64));
            }
        }
        Ok(answer)
    }
}

impl Engine {
    /// Lints the document an `admin.put_config` / `admin.put_rules` is about to write against
    /// the tenant's loaded catalog. `None` for other ops, and when the document does not parse
    /// (the write itself reports that). With `lint_strict`, error-level findings refuse the
    /// write before anything is stored.
    fn lint_write(
        &self,
        op: &str,
        req: &Value,
        ctx: &crate::control::OpContext,
    ) -> Result<Option<Vec<crate::lint::Finding>>, ApiError> {
        let member = match op {
            "admin.put_config" => "config",
            "admin.put_rules" => "rules",
            _ => return Ok(None),
        };
        let Some(r) = req.as_object() else {
            return Ok(None);
        };
        let mut m = Map::new();
        if let Some(t) = r.get("tenant") {
            m.push("tenant", t.clone());
        }
        m.push(member, r.get("document").cloned().unwrap_or(Value::Null));
        let Ok(p) = crate::change::Proposal::from_input(self, &m) else {
            return Ok(None);
        };
        // Findings describe the tenant's catalog: only a caller allowed to write sees them.
        if self.control.authorize_write(ctx, &p.tenant).is_err() {
            return Ok(None);
        }
        let findings = p.lint(ctx.now);
        if self.options.lint_strict {
            if let Some(e) = crate::lint::strict_error(&findings) {
                return Err(e);
            }
        }
        Ok(Some(findings))
    }
}

/// Artifact rollback operations, access-checked and audited through the control plane.
pub const ARTIFACT_ADMIN_OPS: &[&str] = &[
    "admin.pin_artifacts",
    "admin.unpin_artifacts",
    "admin.release_held",
];

impl Engine {
    /// `admin.pin_artifacts` `{"tenant","surface","manifest"|"current"}` pins a surface to a
    /// manifest (artifact rollback; the answer is like `loader_pin`: fetch these URIs, then
    /// call `loader_apply_artifacts`); `admin.unpin_artifacts` `{"tenant","surface"}` releases
    /// it; `admin.release_held` `{"tenant","surface"}` applies held empty publishes. Each is
    /// audited (`artifacts.pin`, `artifacts.unpin`, `artifacts.release`) with the surface's
    /// manifest and artifact versions before and after.
    fn artifact_admin(
        &self,
        op: &str,
        req: &Value,
        ctx: crate::control::OpContext,
    ) -> Result<Value, ApiError> {
        let m = object(req)?;
        let (tenant, surface) = (str_member(m, "tenant")?, str_member(m, "surface")?);
        self.control
            .authorize_write(&ctx, tenant)
            .map_err(ApiError::from)?;
        let state = |e: &Engine| -> Value {
            let st = e.lock_state();
            let mut v = Map::new();
            v.push("surface", Value::str(surface));
            if let Some(s) = st.surfaces.get(&(tenant.to_string(), surface.to_string())) {
                if let Some(mi) = &s.set.manifest {
                    v.push("manifest_version", Value::str(&mi.version));
                }
                let mut a = Map::new();
                for (k, x) in &s.set.artifacts {
                    a.push(k.as_str(), Value::str(x.version()));
                }
                v.push("artifact_versions", Value::Object(a));
                v.push("pinned", Value::Bool(s.pinned.is_some()));
                v.push("held", Value::u64(s.held.len() as u64));
            }
            Value::Object(v)
        };
        let before = state(self);
        let mut pinned: Option<String> = None;
        let (action, answer) = match op {
            "admin.pin_artifacts" => {
                let text = match (m.get("manifest"), m.get("current")) {
                    (Some(Value::String(x)), _) => x.clone(),
                    (Some(other), _) => json::to_string(other),
                    (None, Some(cur)) => {
                        let mut mm = Map::new();
                        mm.push("v", Value::i64(1));
                        mm.push("tenant", Value::str(tenant));
                        mm.push("surface", Value::str(surface));
                        mm.push("current", cur.clone());
                        json::to_string(&Value::Object(mm))
                    }
                    (None, None) => return Err(missing("manifest")),
                };
                let step = self.loader_pin(tenant, surface, ctx.now, text.clone().into_bytes())?;
                pinned = Some(text);
                ("artifacts.pin", step_value(step))
            }
            "admin.unpin_artifacts" => {
                let was = self.loader_unpin(tenant, surface)?;
                let mut a = Map::new();
                a.push("was_pinned", Value::Bool(was));
                ("artifacts.unpin", Value::Object(a))
            }
            _ => (
                "artifacts.release",
                self.loader_release(tenant, surface, ctx.now)?,
            ),
        };
        let after = state(self);
        // The pinned manifest travels in the entry, so every process of a fleet can apply
        // the same pin from the change feed (crate::sync).
        let extra = pinned.map(|text| {
            let mut x = Map::new();
            x.push("manifest", Value::String(text));
            Value::Object(x)
        });
        let entity = crate::control::Entity {
            entity_type: "artifacts".into(),
            id: Some(surface.to_string()),
        };
        let entry = self
            .control
            .record_action_with_extra(
                &ctx,
                tenant,
                action,
                entity,
                [Some(before), Some(after)],
                extra,
            )
            .map_err(ApiError::from)?;
        match action {
            "artifacts.pin" => self.note_pin(tenant, surface, Some(entry.id)),
            "artifacts.unpin" => self.note_pin(tenant, surface, None),
            _ => {}
        }
        let mut out = match answer {
            Value::Object(o) => o,
            other => {
                let mut o = Map::new();
                o.push("result", other);
                o
            }
        };
        out.insert("audit_id", Value::u64(entry.id));
        out.insert(
            "audit_head",
            crate::control::AuditHead::of(&entry).to_value(),
        );
        Ok(Value::Object(out))
    }
}

impl Engine {
    /// `admin.sync`: `{"request": {"tenant"?, "kinds"?, "revision"?}, "ctx": {"now"}}` →
    /// `{"tenants": [report...]}` (see [`crate::sync`]). It takes no principal: it only
    /// makes this process serve what the store already holds, and changes nothing there.
    /// (The envelope's members are checked by the caller, [`Engine::admin`].)
    fn sync_op(&self, m: &Map) -> Result<Value, ApiError> {
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
                    ErrorCode::InvalidRequest,
                    format!("unknown member {k:?}; expected one of tenant, kinds, revision"),
                ));
            }
        }
        let tenant = match req.get("tenant") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) if crate::control::valid_tenant(t.trim()) => Some(t.trim()),
            Some(t) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
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
                        ErrorCode::InvalidRequest,
                        "kinds must be an array of strings",
                    )
                })?;
                crate::sync::SyncKinds::parse(names)?
            }
            Some(_) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "kinds must be an array of strings",
                ))
            }
        };
        let revision = match req.get("revision") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.as_i64().filter(|i| *i >= 0).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "revision must be a non-negative integer, got {}",
                        json::to_string(&Value::Number(n.clone()))
                    ),
                )
            })? as u64),
            Some(other) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "revision must be an integer, got {}",
                        json::to_string(other)
                    ),
                ))
            }
        };
        let reports = self.sync_entered(tenant, kinds, revision, now)?;
        let mut out = Map::new();
        out.push(
            "tenants",
            Value::Array(reports.iter().map(|r| r.to_value()).collect()),
        );
        Ok(Value::Object(out))
    }
}

fn missing(k: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, format!("missing member {k:?}"))
}

fn object(v: &Value) -> Result<&Map, ApiError> {
    v.as_object()
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidRequest, "input must be a json object"))
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
        ErrorCode::InvalidRequest,
        "a fetch result is {\"found\": text}, {\"not_found\": true} or {\"error\": message}",
    ))
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
        ErrorCode::UnknownOperation,
        format!("unknown operation {op:?}"),
    )
}

impl Engine {
    /// An engine with options given as a JSON object (see [`EngineOptions::from_value`]).
    pub fn with_options_json(options: &str) -> Result<Engine, ApiError> {
        Ok(Engine::with_options(EngineOptions::from_value(
            &parse_input(options)?,
        )?))
    }

    /// Runs a named operation with a JSON input and returns the JSON answer.
    ///
    /// * `load_snapshot`: documents → compile report (see [`crate::compile::Documents`]).
    /// * `recommend`, `validate`, `similar`: `{"request": {...}, "ctx": {...}}` → answer.
    /// * `snapshots`: `{}` → the loaded (tenant, surface) pairs.
    /// * any [`STATIC_OPS`] operation.
    pub fn call(&self, op: &str, input: &str) -> Result<String, ApiError> {
        if STATIC_OPS.contains(&op) {
            return call_static(op, input);
        }
        let v = if op == "load_snapshot" {
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
        self.call_value(op, &v).map(|a| json::to_string(&a))
    }

    /// [`Engine::call`] on an already decoded input, answering a value: for hosts that
    /// convert their own data structures (the Python binding's dicts) without a JSON text
    /// round trip. Same operations, same answers (`to_string` of this is `call`'s text).
    pub fn call_value(&self, op: &str, v: &Value) -> Result<Value, ApiError> {
        if STATIC_OPS.contains(&op) {
            let answer = call_static(op, &json::to_string(v))?;
            return Ok(json::parse(answer.as_bytes())?);
        }
        // Refuses a call made by one of this engine's adapters from inside an operation.
        let _busy = self.enter()?;
        if crate::control::api::OPS.contains(&op)
            || ARTIFACT_ADMIN_OPS.contains(&op)
            || op == "admin.sync"
            || op == "admin.preview"
            || crate::release::RELEASE_OPS.contains(&op)
        {
            return self.admin(op, v);
        }
        let answer = match op {
            "load_snapshot" => {
                let docs = Documents::from_value(v)?;
                let (snap, report) = self.load_documents(&docs)?;
                report_value(&snap, &report)
            }
            "set_config" | "set_rules" => {
                let m = object(v)?;
                let tenant = str_member(m, "tenant")?;
                let doc = m.get("document").filter(|d| !d.is_null());
                let n = if op == "set_config" {
                    self.set_config(tenant, doc)?
                } else {
                    self.set_rules(tenant, doc)?
                };
                let mut a = Map::new();
                a.push("tenant", Value::str(tenant));
                a.push("recompiled", Value::u64(n as u64));
                Value::Object(a)
            }
            "lint" => {
                let m = object(v)?;
                for (k, _) in m.iter() {
                    if !matches!(k, "tenant" | "surface" | "config" | "rules" | "now") {
                        return Err(ApiError::new(ErrorCode::InvalidRequest,
                            format!("unknown member {k:?}: input is {{\"tenant\", \"now\", \"surface\"?, \"config\"?, \"rules\"?}}"),
                        ));
                    }
                }
                let p = crate::change::Proposal::from_input(self, m)?;
                crate::change::lint_answer(&p, &p.lint(now_member(m)?))
            }
            "liveness" => self.liveness(),
            "metrics" => {
                self.export_gate_gauges();
                if self.options().rule_telemetry {
                    self.rule_stats.export(
                        self.metrics_registry(),
                        crate::ops::rule_stats::DEFAULT_TOP_N,
                    );
                }
                let mut a = Map::new();
                a.push(
                    "prometheus",
                    Value::String(self.metrics_registry().render_prometheus()),
                );
                Value::Object(a)
            }
            "exposure_drain" => {
                let max = object(v)?
                    .get("max")
                    .and_then(Value::as_number)
                    .and_then(|n| n.as_i64())
                    .unwrap_or(1000);
                let (events, dropped) = self.drain_exposures(max.max(0) as usize);
                let mut a = Map::new();
                a.push("events", Value::Array(events));
                a.push("dropped", Value::u64(dropped));
                Value::Object(a)
            }
            "readiness" => self.readiness(now_member(object(v)?)?),
            "sync_status" => self.sync_status(now_member(object(v)?)?),
            op if op.starts_with("loader_") => self.loader_op(op, v)?,
            "recommend" | "validate" | "similar" => {
                let m = object(v)?;
                for (k, _) in m.iter() {
                    if !matches!(k, "request" | "ctx" | "signals") {
                        return Err(ApiError::new(ErrorCode::InvalidRequest,
                            format!("unknown member {k:?}: input is {{\"request\": ..., \"ctx\": ..., \"signals\"?: ...}}"),
                        ));
                    }
                }
                let ctx = CallContext::from_value(m.get("ctx").unwrap_or(&Value::Null))?;
                let req = m.get("request").unwrap_or(&Value::Null);
                match (op, m.get("signals").filter(|s| !s.is_null())) {
                    ("recommend", Some(sig)) => self.recommend_with_signals(req, &ctx, sig)?,
                    ("similar", Some(sig)) => self.similar_with_signals(req, &ctx, sig)?,
                    ("recommend", None) => self.recommend(req, &ctx)?,
                    ("similar", None) => self.similar(req, &ctx)?,
                    _ => self.validate(req, &ctx)?,
                }
            }
            "snapshots" => Value::Array(
                self.loaded()
                    .into_iter()
                    .map(|(t, s)| {
                        let mut m = Map::new();
                        m.push("tenant", Value::String(t));
                        m.push("surface", Value::String(s));
                        Value::Object(m)
                    })
                    .collect(),
            ),
            _ => return Err(unknown_op(op)),
        };
        Ok(answer)
    }

    /// The artifact lifecycle operations (`loader_*`) of [`Engine::call_value`].
    fn loader_op(&self, op: &str, v: &Value) -> Result<Value, ApiError> {
        Ok(match op {
            "loader_track" => {
                let m = object(v)?;
                let uri = self.loader_track(str_member(m, "tenant")?, str_member(m, "surface")?)?;
                let mut a = Map::new();
                a.push("manifest_uri", Value::String(uri));
                Value::Object(a)
            }
            "loader_due" => Value::Array(
                self.loader_due(now_member(object(v)?)?)
                    .into_iter()
                    .map(|(t, s, u)| {
                        let mut a = Map::new();
                        a.push("tenant", Value::String(t));
                        a.push("surface", Value::String(s));
                        a.push("manifest_uri", Value::String(u));
                        Value::Object(a)
                    })
                    .collect(),
            ),
            "loader_invalidate" => {
                let m = object(v)?;
                let surface = m.get("surface").and_then(Value::as_str);
                let n = self.loader_invalidate(str_member(m, "tenant")?, surface);
                let mut a = Map::new();
                a.push("invalidated", Value::u64(n as u64));
                Value::Object(a)
            }
            "loader_apply_manifest" | "loader_pin" => {
                let m = object(v)?;
                let (t, s, now) = (
                    str_member(m, "tenant")?,
                    str_member(m, "surface")?,
                    now_member(m)?,
                );
                let step = if op == "loader_pin" {
                    // Either the manifest content, or a version list {"current": {kind: uri}}.
                    let text = match (m.get("manifest"), m.get("current")) {
                        (Some(Value::String(x)), _) => x.clone(),
                        (Some(other), _) => json::to_string(other),
                        (None, Some(cur)) => {
                            let mut mm = Map::new();
                            mm.push("v", Value::i64(1));
                            mm.push("tenant", Value::str(t));
                            mm.push("surface", Value::str(s));
                            mm.push("current", cur.clone());
                            json::to_string(&Value::Object(mm))
                        }
                        (None, None) => return Err(missing("manifest")),
                    };
                    self.loader_pin(t, s, now, text.into_bytes())?
                } else {
                    self.loader_apply_manifest(t, s, now, fetch_member(m.get("result"))?)?
                };
                step_value(step)
            }
            "loader_apply_artifacts" => {
                let m = object(v)?;
                let mut fetched = std::collections::BTreeMap::new();
                if let Some(r) = m.get("results").and_then(Value::as_object) {
                    for (uri, f) in r.iter() {
                        fetched.insert(uri.to_string(), fetch_member(Some(f))?);
                    }
                }
                self.loader_apply_artifacts(
                    str_member(m, "tenant")?,
                    str_member(m, "surface")?,
                    now_member(m)?,
                    fetched,
                )?
            }
            "loader_release" => {
                let m = object(v)?;
                self.loader_release(
                    str_member(m, "tenant")?,
                    str_member(m, "surface")?,
                    now_member(m)?,
                )?
            }
            "loader_unpin" => {
                let m = object(v)?;
                let was = self.loader_unpin(str_member(m, "tenant")?, str_member(m, "surface")?)?;
                let mut a = Map::new();
                a.push("was_pinned", Value::Bool(was));
                Value::Object(a)
            }
            _ => return Err(unknown_op(op)),
        })
    }
}
