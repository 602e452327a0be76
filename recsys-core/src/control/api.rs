//! The JSON call/answer surface of the control plane, for bindings and hosts that speak
//! JSON. Inputs are strict: unknown members are rejected.
//!
//! | op | input | answer |
//! |---|---|---|
//! | `admin.get_config` | `{"tenant"}` | `{"tenant_id", "config_version", "config"}` |
//! | `admin.put_config` | `{"tenant", "document", "if_match"?, "comment"?}` | `{"tenant_id", "config_version", "config", "changed"}` |
//! | `admin.get_rules` | `{"tenant"}` | `{"tenant_id", "rules_version", "rules"}` |
//! | `admin.put_rules` | `{"tenant", "document", "if_match"?, "comment"?}` | `{"tenant_id", "rules_version", "rules", "changed"}` |
//! | `admin.list_versions` | `{"tenant", "kind"}` | `{"tenant_id", "kind", "current_version", "previous_version", "versions": [{"version", "created_at", "created_by", "comment"?, "current"}]}` |
//! | `admin.rollback` | `{"tenant", "kind", "to"?, "if_match"?, "comment"?}` | `{"tenant_id", "kind", "<kind>_version", "from_version", "changed", "<kind>"}` |
//! | `admin.audit` | `{"tenant", "limit"?, "cursor"?}` | `{"entries": [...], "next_cursor"?}` |
//! | `admin.verify_audit` | `{"tenant", "head"?: {"id", "hash"}}` | `{"tenant_id", "ok", "entries", "head_hash", "tampered_at"?, "reason"?, "pointer_mismatches"?}` |
//! | `admin.invalidate` | `{"tenant", "targets": [...], "surface"?}` | `{"tenant_id", "targets", "surface"?, "status": "applied", "invalidated"}` |
//!
//! `document` is the document itself as JSON, or a string holding its raw JSON text (to keep
//! number literals exactly as written). `kind` is `config` or `rules`; `to` is an ETag in
//! any If-Match spelling (absent = the previous version). Put answers echo the request's
//! document; get answers the stored document as first written.

use super::{
    AuditQuery, ControlError, ControlPlane, CurrentDocument, DocKind, OpContext, Principal,
    PutRequest, RollbackTarget, WriteOutcome,
};
use crate::error::ApiError;
use crate::json::{self, Map, Value};
use crate::time::Timestamp;

/// The operations [`call`] answers.
pub const OPS: &[&str] = &[
    "admin.get_config",
    "admin.put_config",
    "admin.get_rules",
    "admin.put_rules",
    "admin.list_versions",
    "admin.rollback",
    "admin.audit",
    "admin.verify_audit",
    "admin.invalidate",
];

/// Runs a control-plane operation; `None` when `op` is not one of [`OPS`].
pub fn call(
    plane: &ControlPlane,
    op: &str,
    input: &Value,
    now: Timestamp,
    request_id: &str,
    principal: &Principal,
) -> Option<Result<Value, ApiError>> {
    if !OPS.contains(&op) {
        return None;
    }
    let ctx = OpContext::new(now, request_id, principal.clone());
    Some(run(plane, op, input, &ctx).map_err(ApiError::from))
}

fn run(
    plane: &ControlPlane,
    op: &str,
    input: &Value,
    ctx: &OpContext,
) -> Result<Value, ControlError> {
    match op {
        "admin.get_config" | "admin.get_rules" => {
            let kind = if op == "admin.get_config" {
                DocKind::Config
            } else {
                DocKind::Rules
            };
            let m = members(input, &["tenant"])?;
            let doc = plane.get(ctx, tenant(m)?, kind)?;
            Ok(current_value(&doc))
        }
        "admin.put_config" | "admin.put_rules" => {
            let kind = if op == "admin.put_config" {
                DocKind::Config
            } else {
                DocKind::Rules
            };
            let m = members(input, &["tenant", "document", "if_match", "comment"])?;
            let tenant = tenant(m)?;
            let text = match m.get("document") {
                None => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => json::to_string(v),
            };
            let req = PutRequest {
                document: text.as_bytes(),
                if_match: opt_str(m, "if_match")?,
                comment: opt_str(m, "comment")?,
            };
            let out = plane.put(ctx, tenant, kind, req)?;
            let mut v = Map::new();
            v.push("tenant_id", Value::str(tenant));
            v.push(kind.version_field(), Value::str(&out.etag));
            v.push(kind.as_str(), out.document);
            v.push("changed", Value::Bool(out.changed));
            if let Some(h) = &out.audit_head {
                v.push("audit_head", h.to_value());
            }
            Ok(Value::Object(v))
        }
        "admin.list_versions" => {
            let m = members(input, &["tenant", "kind"])?;
            let list = plane.list_versions(ctx, tenant(m)?, kind(m)?)?;
            let mut v = Map::new();
            v.push("tenant_id", Value::str(&list.tenant));
            v.push("kind", Value::str(list.kind.as_str()));
            v.push("current_version", opt(list.current.as_deref()));
            v.push("previous_version", opt(list.previous.as_deref()));
            let versions = list
                .versions
                .iter()
                .map(|x| {
                    let mut e = Map::new();
                    e.push("version", Value::str(&x.etag));
                    e.push("created_at", Value::str(x.created_at.to_rfc3339_nanos()));
                    e.push("created_by", Value::str(&x.created_by));
                    if let Some(c) = &x.comment {
                        e.push("comment", Value::str(c));
                    }
                    e.push("current", Value::Bool(x.current));
                    Value::Object(e)
                })
                .collect();
            v.push("versions", Value::Array(versions));
            Ok(Value::Object(v))
        }
        "admin.rollback" => {
            let m = members(input, &["tenant", "kind", "to", "if_match", "comment"])?;
            let tenant = tenant(m)?;
            let kind = kind(m)?;
            let target = match opt_str(m, "to")? {
                Some(t) if !t.trim().is_empty() => RollbackTarget::Version(t),
                _ => RollbackTarget::Previous,
            };
            let out = plane.rollback(
                ctx,
                tenant,
                kind,
                target,
                opt_str(m, "if_match")?,
                opt_str(m, "comment")?,
            )?;
            Ok(rollback_value(tenant, out))
        }
        "admin.audit" => {
            let m = members(input, &["tenant", "limit", "cursor"])?;
            let limit = match m.get("limit") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(i) if i > 0 => Some(usize::try_from(i).unwrap_or(usize::MAX)),
                    Some(_) => return Err(ControlError::invalid_request("limit must be positive")),
                    None => return Err(ControlError::invalid_request("limit must be an integer")),
                },
                Some(_) => return Err(ControlError::invalid_request("limit must be an integer")),
            };
            let query = AuditQuery {
                limit,
                cursor: opt_str(m, "cursor")?.map(str::to_owned),
            };
            let page = plane.audit(ctx, tenant(m)?, &query)?;
            let mut v = Map::new();
            v.push(
                "entries",
                Value::Array(
                    page.entries
                        .iter()
                        .map(|e| e.to_value(page.redacted))
                        .collect(),
                ),
            );
            if let Some(c) = page.next_cursor {
                v.push("next_cursor", Value::String(c));
            }
            Ok(Value::Object(v))
        }
        "admin.verify_audit" => {
            let m = members(input, &["tenant", "head"])?;
            let head = match m.get("head") {
                None | Some(Value::Null) => None,
                Some(h) => Some(super::AuditHead::from_value(h).ok_or_else(|| {
                    ControlError::invalid_request(
                        "head must be {\"id\": <entry id>, \"hash\": <entry hash>}",
                    )
                })?),
            };
            let r = plane.verify_audit(ctx, tenant(m)?, head)?;
            let mut v = Map::new();
            v.push("tenant_id", Value::str(&r.tenant));
            v.push("ok", Value::Bool(r.ok()));
            v.push("entries", Value::u64(r.entries));
            v.push("head_hash", opt(r.head_hash.as_deref()));
            if let Some(t) = r.tamper {
                v.push("tampered_at", Value::u64(t.at_id));
                v.push("reason", Value::str(t.reason.as_str()));
            }
            if !r.pointer_mismatches.is_empty() {
                let list = r
                    .pointer_mismatches
                    .iter()
                    .map(|p| {
                        let mut e = Map::new();
                        e.push("kind", Value::str(p.kind.as_str()));
                        e.push("pointer", opt(p.pointer.as_deref()));
                        e.push("audited", opt(p.audited.as_deref()));
                        Value::Object(e)
                    })
                    .collect();
                v.push("pointer_mismatches", Value::Array(list));
            }
            Ok(Value::Object(v))
        }
        "admin.invalidate" => {
            let m = members(input, &["tenant", "targets", "surface"])?;
            let tenant = tenant(m)?;
            let targets: Vec<&str> = match m.get("targets") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|t| {
                        t.as_str().ok_or_else(|| {
                            ControlError::invalid_request("targets must be an array of strings")
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => {
                    return Err(ControlError::invalid_request(
                        "targets must be an array of strings",
                    ))
                }
            };
            let out = plane.invalidate(ctx, tenant, &targets, opt_str(m, "surface")?)?;
            let mut v = Map::new();
            v.push("tenant_id", Value::str(tenant));
            v.push(
                "targets",
                super::invalidate::targets_value(&out.invalidation.targets),
            );
            if let Some(s) = &out.invalidation.surface {
                v.push("surface", Value::str(s));
            }
            v.push("status", Value::str("applied"));
            v.push(
                "invalidated",
                super::invalidate::counts_value(&out.invalidated),
            );
            v.push("audit_head", out.audit_head.to_value());
            Ok(Value::Object(v))
        }
        _ => Err(ControlError::invalid_request(format!(
            "unknown operation {op:?}"
        ))),
    }
}

fn members<'a>(input: &'a Value, allowed: &[&str]) -> Result<&'a Map, ControlError> {
    let m = input
        .as_object()
        .ok_or_else(|| ControlError::invalid_request("input must be a json object"))?;
    for (k, _) in m.iter() {
        if !allowed.contains(&k) {
            return Err(ControlError::invalid_request(format!(
                "unknown member {k:?}; expected one of {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(m)
}

fn opt_str<'a>(m: &'a Map, key: &str) -> Result<Option<&'a str>, ControlError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(ControlError::invalid_request(format!(
            "{key} must be a string, got {}",
            v.type_name()
        ))),
    }
}

fn tenant(m: &Map) -> Result<&str, ControlError> {
    Ok(opt_str(m, "tenant")?.unwrap_or(""))
}

fn kind(m: &Map) -> Result<DocKind, ControlError> {
    let k = opt_str(m, "kind")?.unwrap_or("");
    DocKind::parse(k).ok_or_else(|| {
        ControlError::invalid_request(format!("kind must be \"config\" or \"rules\", got {k:?}"))
    })
}

fn opt(s: Option<&str>) -> Value {
    s.map(Value::str).unwrap_or(Value::Null)
}

fn current_value(doc: &CurrentDocument) -> Value {
    let mut v = Map::new();
    v.push("tenant_id", Value::str(&doc.tenant));
    v.push(doc.kind.version_field(), Value::str(&doc.etag));
    v.push(doc.kind.as_str(), doc.document.clone());
    Value::Object(v)
}

fn rollback_value(tenant: &str, out: WriteOutcome) -> Value {
    let mut v = Map::new();
    v.push("tenant_id", Value::str(tenant));
    v.push("kind", Value::str(out.kind.as_str()));
    v.push(out.kind.version_field(), Value::str(&out.etag));
    v.push("from_version", opt(out.from_version.as_deref()));
    v.push("changed", Value::Bool(out.changed));
    if let Some(h) = &out.audit_head {
        v.push("audit_head", h.to_value());
    }
    v.push(out.kind.as_str(), out.document);
    Value::Object(v)
}
