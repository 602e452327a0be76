//! The `admin.*` operations: the `{"request", "ctx"}` envelope decoded into a typed
//! [`crate::engine::Context`], a call on [`crate::engine::Admin`] (or the control plane's own
//! read conversions), and the answer back as JSON.

use super::loader::step_value;
use super::{missing, now_member, object, only, str_member, unknown_op, Op};
use crate::control::{DocKind, Principal};
use crate::engine::{ArtifactChange, Context, Engine, Written};
use crate::error::ApiError;
use crate::json::{self, Map, Value};

/// The `{"request", "ctx"}` envelope of `admin.*` operations.
pub(super) fn envelope(v: &Value) -> Result<&Map, ApiError> {
    let m = object(v)?;
    only(m, &["request", "ctx"], "{\"request\": ..., \"ctx\": ...}")?;
    Ok(m)
}

/// A decoded `admin.*` input: the caller (from `ctx`) and the operation's `request`.
pub(super) struct AdminInput<'a> {
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
}

/// The reads (`admin.get_config`, `admin.get_rules`, `admin.list_versions`, `admin.audit`,
/// `admin.verify_audit`): the control plane's own conversions.
pub(super) fn admin_read(e: &Engine, v: &Value, op: Op) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let (plane, name) = (e.control(), op.name());
    crate::control::api::call(plane, name, a.request, a.now, a.request_id, &a.principal)
        .unwrap_or_else(|| Err(unknown_op(name)))
}

/// `admin.put_config` / `admin.put_rules` → the stored version, plus `lint` and `recompiled`.
pub(super) fn admin_put(e: &Engine, v: &Value, kind: DocKind) -> Result<Value, ApiError> {
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
pub(super) fn admin_rollback(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let r = crate::control::api::RollbackInput::decode(a.request)?;
    let Written {
        outcome,
        recompiled,
        lint,
    } = e.admin_entered().rollback(
        &a.context(r.tenant),
        r.kind,
        r.target,
        r.if_match,
        r.comment,
    )?;
    let mut answer = crate::control::api::rollback_value(r.tenant, outcome);
    if let (Some(f), Value::Object(o)) = (&lint, &mut answer) {
        o.insert("lint", crate::lint::findings_value(f));
    }
    Ok(with_recompiled(answer, recompiled))
}

/// `admin.invalidate` → the recorded invalidation, `invalidated` counting this engine's
/// dropped entries per target.
pub(super) fn admin_invalidate(e: &Engine, v: &Value) -> Result<Value, ApiError> {
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
pub(super) fn admin_pin_artifacts(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let m = object(a.request)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let text = manifest_member(m, t, s)?;
    let if_match = opt_str_member(m, "if_match")?;
    let out = e
        .admin_entered()
        .pin_artifacts(&a.context(t), s, text, if_match)?;
    Ok(artifact_answer(out, step_value))
}

/// `admin.unpin_artifacts`: `{"tenant", "surface"}` → `{"was_pinned", "audit_id", "audit_head"}`.
pub(super) fn admin_unpin_artifacts(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let m = object(a.request)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let if_match = opt_str_member(m, "if_match")?;
    let out = e
        .admin_entered()
        .unpin_artifacts(&a.context(t), s, if_match)?;
    Ok(artifact_answer(out, |was| {
        let mut o = Map::new();
        o.push("was_pinned", Value::Bool(was));
        Value::Object(o)
    }))
}

/// `admin.release_held`: `{"tenant", "surface"}` → the release report, `audit_id`, `audit_head`.
pub(super) fn admin_release_held(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let m = object(a.request)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let out = e.admin_entered().release_held(&a.context(t), s)?;
    Ok(artifact_answer(out, |r| r))
}

pub(super) fn artifact_answer<T>(out: ArtifactChange<T>, result: impl FnOnce(T) -> Value) -> Value {
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

pub(super) fn with_recompiled(mut answer: Value, recompiled: usize) -> Value {
    if recompiled > 0 {
        if let Value::Object(a) = &mut answer {
            a.insert("recompiled", Value::u64(recompiled as u64));
        }
    }
    answer
}

pub(super) fn admin_sync(e: &Engine, m: &Map) -> Result<Value, ApiError> {
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
                crate::error::ErrorCode::InvalidRequest,
                format!("unknown member {k:?}; expected one of tenant, kinds, revision"),
            ));
        }
    }
    let tenant = match req.get("tenant") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if crate::control::valid_tenant(t.trim()) => Some(t.trim()),
        Some(t) => {
            return Err(ApiError::new(
                crate::error::ErrorCode::InvalidRequest,
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
                    crate::error::ErrorCode::InvalidRequest,
                    "kinds must be an array of strings",
                )
            })?;
            crate::sync::SyncKinds::parse(names)?
        }
        Some(_) => {
            return Err(ApiError::new(
                crate::error::ErrorCode::InvalidRequest,
                "kinds must be an array of strings",
            ))
        }
    };
    let revision = match req.get("revision") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_i64().filter(|i| *i >= 0).ok_or_else(|| {
            ApiError::new(
                crate::error::ErrorCode::InvalidRequest,
                format!(
                    "revision must be a non-negative integer, got {}",
                    json::to_string(&Value::Number(n.clone()))
                ),
            )
        })? as u64),
        Some(other) => {
            return Err(ApiError::new(
                crate::error::ErrorCode::InvalidRequest,
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

/// `"manifest"` (its text, or the manifest as JSON) or `"current"` (a version list, wrapped
/// into a v1 manifest for `tenant` / `surface`).
/// An optional string member (`null` or absent: `None`); another type is refused.
fn opt_str_member<'a>(m: &'a Map, k: &str) -> Result<Option<&'a str>, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::new(
            crate::error::ErrorCode::InvalidRequest,
            format!("{k} must be a string, got {}", json::to_string(other)),
        )),
    }
}

pub(super) fn manifest_member(m: &Map, tenant: &str, surface: &str) -> Result<String, ApiError> {
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

/// `admin.get_release`, `admin.release`, `admin.rollback_release` (see [`crate::release`]):
/// the input decoded into a typed request, a call on [`crate::engine::Admin`], the report
/// as JSON.
pub(super) fn admin_release(e: &Engine, v: &Value, op: Op) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let admin = e.admin_entered();
    Ok(match op {
        Op::AdminGetRelease => {
            let tenant = crate::release::decode_get(a.request)?;
            let r = admin.release(&a.context(tenant))?;
            Value::Object(crate::release::with_tenant(tenant, &r))
        }
        Op::AdminRelease => {
            let (tenant, req) = crate::release::decode_release(a.request)?;
            admin.publish_release(&a.context(tenant), &req)?.to_value()
        }
        _ => {
            let (tenant, req) = crate::release::decode_rollback(a.request)?;
            admin.rollback_release(&a.context(tenant), &req)?.to_value()
        }
    })
}

/// `admin.preview`: replays requests against proposed documents (see [`crate::preview`]).
pub(super) fn admin_preview(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let a = AdminInput::decode(v)?;
    let m = object(a.request)?;
    let (tenant, req) = crate::preview::decode_preview(m)?;
    let report = e.admin_entered().preview(&a.context(tenant), &req)?;
    Ok(report.to_value())
}
