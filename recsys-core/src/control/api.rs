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
//! | `admin.audit` | `{"tenant", "limit"?, "cursor"?, "before"?, "before_id"?}` | `{"entries": [{"id", "occurred_at", "tenant_id", "actor_sub", "actor_type", "action", "entity_type", "entity_id", "request_id", "before_state"?, "after_state"?, "extra"?, "prev_hash", "hash"}], "next_cursor"?, "next_before"?, "next_before_id"?}` |
//! | `admin.verify_audit` | `{"tenant", "head"?: {"id", "hash"}}` | `{"tenant_id", "ok", "entries", "head_hash", "tampered_at"?, "reason"?, "pointer_mismatches"?}` |
//! | `admin.invalidate` | `{"tenant", "targets": [...], "surface"?}` | `{"tenant_id", "targets", "surface"?, "status": "applied", "invalidated"}` |
//!
//! `document` is the document itself as JSON, or a string holding its raw JSON text (to keep
//! number literals exactly as written). `kind` is `config` or `rules`; `to` is an ETag in
//! any If-Match spelling (absent = the previous version). Put answers echo the request's
//! document; get answers the stored document as first written.

use super::{
    AuditEntry, AuditQuery, ControlError, ControlPlane, CurrentDocument, DocKind, OpContext,
    Principal, PutRequest, RollbackTarget, WriteOutcome,
};
use crate::decode::Input;
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
            let mut i = Input::new(input, &["tenant"])?;
            let tenant = i.tenant();
            i.done()?;
            let doc = plane.get(ctx, tenant, kind)?;
            Ok(current_value(&doc))
        }
        "admin.put_config" | "admin.put_rules" => {
            let kind = if op == "admin.put_config" {
                DocKind::Config
            } else {
                DocKind::Rules
            };
            let put = PutInput::decode(input)?;
            let out = plane.put(ctx, put.tenant, kind, put.request())?;
            Ok(put_value(put.tenant, out))
        }
        "admin.list_versions" => {
            let mut i = Input::new(input, &["tenant", "kind"])?;
            let (tenant, kind) = (i.tenant(), kind(&mut i));
            i.done()?;
            let list = plane.list_versions(ctx, tenant, kind)?;
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
            let r = RollbackInput::decode(input)?;
            let out = plane.rollback(ctx, r.tenant, r.kind, r.target, r.if_match, r.comment)?;
            Ok(rollback_value(r.tenant, out))
        }
        "admin.audit" => audit_page(plane, ctx, input),
        "admin.verify_audit" => verify_audit(plane, ctx, input),
        "admin.invalidate" => invalidate(plane, ctx, input),
        _ => Err(ControlError::invalid_request(format!(
            "unknown operation {op:?}"
        ))),
    }
}

/// `kind`: `config` or `rules`.
fn kind(i: &mut Input<'_>) -> DocKind {
    let k = i.str("kind").unwrap_or("");
    DocKind::parse(k).unwrap_or_else(|| {
        i.problem(
            "kind",
            format!("kind must be \"config\" or \"rules\", got {k:?}"),
        );
        DocKind::Config
    })
}

/// `admin.verify_audit`: walks the chain (from a pinned `head` when given).
fn verify_audit(
    plane: &ControlPlane,
    ctx: &OpContext,
    input: &Value,
) -> Result<Value, ControlError> {
    let mut i = Input::new(input, &["tenant", "head"])?;
    let head = match i.get("head") {
        None | Some(Value::Null) => None,
        Some(h) => super::AuditHead::from_value(h).or_else(|| {
            let message = "head must be {\"id\": <entry id>, \"hash\": <entry hash>}";
            i.problem("head", message.to_string());
            None
        }),
    };
    let tenant = i.tenant();
    i.done()?;
    let r = plane.verify_audit(ctx, tenant, head)?;
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

/// `admin.invalidate`: drops the tenant's caches for the targets.
fn invalidate(plane: &ControlPlane, ctx: &OpContext, input: &Value) -> Result<Value, ControlError> {
    let i = InvalidateInput::decode(input)?;
    let out = plane.invalidate(ctx, i.tenant, &i.targets, i.surface)?;
    Ok(invalidate_value(i.tenant, &out))
}

/// The input of `admin.put_config` / `admin.put_rules`.
pub(crate) struct PutInput<'a> {
    pub tenant: &'a str,
    /// The document's JSON text (a string member is taken as the text itself).
    pub text: String,
    pub if_match: Option<&'a str>,
    pub comment: Option<&'a str>,
}

impl<'a> PutInput<'a> {
    /// Reads `{"tenant", "document", "if_match"?, "comment"?}`.
    pub fn decode(input: &'a Value) -> Result<PutInput<'a>, ControlError> {
        let mut i = Input::new(input, &["tenant", "document", "if_match", "comment"])?;
        let tenant = i.tenant();
        let text = i.document("document").unwrap_or_default();
        let (if_match, comment) = (i.str("if_match"), i.str("comment"));
        i.done()?;
        Ok(PutInput {
            tenant,
            text,
            if_match,
            comment,
        })
    }

    /// The typed request.
    pub fn request(&self) -> PutRequest<'_> {
        PutRequest {
            document: self.text.as_bytes(),
            if_match: self.if_match,
            comment: self.comment,
        }
    }
}

/// The input of `admin.rollback`.
pub(crate) struct RollbackInput<'a> {
    pub tenant: &'a str,
    pub kind: DocKind,
    pub target: RollbackTarget<'a>,
    pub if_match: Option<&'a str>,
    pub comment: Option<&'a str>,
}

impl<'a> RollbackInput<'a> {
    /// Reads `{"tenant", "kind", "to"?, "if_match"?, "comment"?}`.
    pub fn decode(input: &'a Value) -> Result<RollbackInput<'a>, ControlError> {
        let mut i = Input::new(input, &["tenant", "kind", "to", "if_match", "comment"])?;
        let (tenant, kind) = (i.tenant(), kind(&mut i));
        // Absent (or null) = the previous version; present = a version, so an empty
        // one is a mistake, not a request for the previous version.
        let target = match i.str("to") {
            Some(t) if json::normalize_if_match(t).is_empty() => {
                i.problem(
                    "to",
                    format!(
                    "to must name a version (an etag), got {t:?}; omit it for the previous version"
                ),
                );
                RollbackTarget::Previous
            }
            Some(t) => RollbackTarget::Version(t),
            None => RollbackTarget::Previous,
        };
        let (if_match, comment) = (i.str("if_match"), i.str("comment"));
        i.done()?;
        Ok(RollbackInput {
            tenant,
            kind,
            target,
            if_match,
            comment,
        })
    }
}

/// The input of `admin.invalidate`.
pub(crate) struct InvalidateInput<'a> {
    pub tenant: &'a str,
    pub targets: Vec<&'a str>,
    pub surface: Option<&'a str>,
}

impl<'a> InvalidateInput<'a> {
    /// Reads `{"tenant", "targets", "surface"?}`.
    pub fn decode(input: &'a Value) -> Result<InvalidateInput<'a>, ControlError> {
        let mut i = Input::new(input, &["tenant", "targets", "surface"])?;
        let tenant = i.tenant();
        let targets: Vec<&str> = match i.get("targets") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) if a.iter().all(|t| t.as_str().is_some()) => {
                a.iter().filter_map(Value::as_str).collect()
            }
            Some(_) => {
                let message = "targets must be an array of strings";
                i.problem("targets", message.to_string());
                Vec::new()
            }
        };
        let surface = i.str("surface");
        i.done()?;
        Ok(InvalidateInput {
            tenant,
            targets,
            surface,
        })
    }
}

/// The answer of a put.
pub(crate) fn put_value(tenant: &str, out: WriteOutcome) -> Value {
    let mut v = Map::new();
    v.push("tenant_id", Value::str(tenant));
    v.push(out.kind.version_field(), Value::str(&out.etag));
    v.push(out.kind.as_str(), out.document);
    v.push("changed", Value::Bool(out.changed));
    if let Some(h) = &out.audit_head {
        v.push("audit_head", h.to_value());
    }
    Value::Object(v)
}

/// The answer of an invalidation.
pub(crate) fn invalidate_value(tenant: &str, out: &super::InvalidationOutcome) -> Value {
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
    Value::Object(v)
}

/// `admin.audit`: one page, with the reference's keyset (`before`, `before_id` in;
/// `next_before`, `next_before_id` out) and the opaque cursor.
fn audit_page(plane: &ControlPlane, ctx: &OpContext, input: &Value) -> Result<Value, ControlError> {
    let mut i = Input::new(input, &["tenant", "limit", "cursor", "before", "before_id"])?;
    let limit = match i.int("limit") {
        None => None,
        Some(0) => {
            i.problem("limit", "limit must be positive".to_string());
            None
        }
        Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let before = match i.str("before").map(str::trim) {
        None | Some("") => None,
        Some(t) => Timestamp::parse_rfc3339(t).or_else(|| {
            i.problem(
                "before",
                format!("before must be an RFC 3339 timestamp, got {t:?}"),
            );
            None
        }),
    };
    let query = AuditQuery {
        limit,
        cursor: i.str("cursor").map(str::to_owned),
        before,
        before_id: i.int("before_id"),
    };
    let tenant = i.tenant();
    i.done()?;
    let page = plane.audit(ctx, tenant, &query)?;
    let mut v = Map::new();
    let entries = page.entries.iter();
    v.push(
        "entries",
        Value::Array(entries.map(|e| entry_value(e, page.redacted)).collect()),
    );
    if let Some(c) = page.next_cursor {
        v.push("next_cursor", Value::String(c));
    }
    if let Some(k) = page.next_before {
        v.push(
            "next_before",
            Value::String(k.occurred_at.to_rfc3339_nanos()),
        );
        v.push("next_before_id", Value::u64(k.id));
    }
    Ok(Value::Object(v))
}

/// An audit entry as the HTTP API shows it: the reference's flat fields (`actor_sub`,
/// `actor_type`, `entity_type`, `entity_id`, ...) plus this core's `prev_hash` and `hash`.
/// Redacted entries (viewers) have no `before_state`, `after_state` or `extra`.
fn entry_value(e: &AuditEntry, redacted: bool) -> Value {
    let mut m = Map::with_capacity(14);
    m.push("id", Value::u64(e.id));
    m.push("occurred_at", Value::str(e.occurred_at.to_rfc3339_nanos()));
    m.push("tenant_id", Value::str(&e.tenant));
    m.push("actor_sub", Value::str(&e.actor.subject));
    m.push("actor_type", Value::str(&e.actor.actor_type));
    m.push("action", Value::str(&e.action));
    m.push("entity_type", Value::str(&e.entity.entity_type));
    m.push("entity_id", opt(e.entity.id.as_deref()));
    m.push("request_id", opt(e.request_id.as_deref()));
    if !redacted {
        for (k, v) in [
            ("before_state", &e.before_state),
            ("after_state", &e.after_state),
            ("extra", &e.extra),
        ] {
            m.push(k, v.clone().unwrap_or(Value::Null));
        }
    }
    m.push("prev_hash", opt(e.prev_hash.as_deref()));
    m.push("hash", Value::str(&e.hash));
    Value::Object(m)
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

pub(crate) fn rollback_value(tenant: &str, out: WriteOutcome) -> Value {
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
