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
use crate::decode::{Decoder, Keys, ProblemKind, Style};
use crate::error::{ApiError, ErrorCode};
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
            let (tenant, kind) = (i.tenant(), i.kind());
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

/// An admin op's input on the strict decoder: exact keys, every member checked in order; the
/// first problem found is the error (`RECSYS_INVALID_REQUEST` with its message).
struct Input<'a> {
    m: &'a Map,
    d: Decoder,
}

const STYLE: Style = Style {
    keys: Keys::Exact,
    unknown_field: ErrorCode::InvalidRequest,
    wrong_type: ErrorCode::InvalidRequest,
    unknown_message: |k| format!("unknown member {k}"),
};

impl<'a> Input<'a> {
    /// The input object, every member outside `allowed` a problem.
    fn new(input: &'a Value, allowed: &[&str]) -> Result<Input<'a>, ControlError> {
        let m = input
            .as_object()
            .ok_or_else(|| ControlError::invalid_request("input must be a json object"))?;
        let mut d = Decoder::new("$", STYLE);
        for (k, _) in m.iter() {
            if !allowed.contains(&k) {
                let message = format!(
                    "unknown member {k:?}; expected one of {}",
                    allowed.join(", ")
                );
                d.field(k, |d| {
                    d.report(ProblemKind::Decode, ErrorCode::InvalidRequest, message)
                });
            }
        }
        Ok(Input { m, d })
    }

    fn problem(&mut self, key: &str, message: String) {
        self.d.field(key, |d| {
            d.report(ProblemKind::Invalid, ErrorCode::InvalidRequest, message)
        });
    }

    /// An optional string member (`null` = absent).
    fn str(&mut self, key: &str) -> Option<&'a str> {
        match self.m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(v) => {
                self.problem(
                    key,
                    format!("{key} must be a string, got {}", v.type_name()),
                );
                None
            }
        }
    }

    /// `tenant` (absent = empty, refused by the control plane).
    fn tenant(&mut self) -> &'a str {
        self.str("tenant").unwrap_or("")
    }

    /// `kind`: `config` or `rules`.
    fn kind(&mut self) -> DocKind {
        let k = self.str("kind").unwrap_or("");
        DocKind::parse(k).unwrap_or_else(|| {
            self.problem(
                "kind",
                format!("kind must be \"config\" or \"rules\", got {k:?}"),
            );
            DocKind::Config
        })
    }

    /// A non-negative integer member, given as a JSON integer or as its decimal text (what an
    /// HTTP query parameter carries); `None` when absent, null or an empty string.
    fn int(&mut self, key: &str) -> Option<u64> {
        let shown = match self.m.get(key) {
            None | Some(Value::Null) => return None,
            Some(Value::Number(n)) => match n.as_integral_i64() {
                Some(i) => match u64::try_from(i) {
                    Ok(u) => return Some(u),
                    Err(_) => i.to_string(),
                },
                None => n.literal().to_string(),
            },
            Some(Value::String(s)) if s.trim().is_empty() => return None,
            Some(Value::String(s)) => {
                let t = s.trim();
                match t.parse::<u64>() {
                    Ok(i) if i <= i64::MAX as u64 && t.bytes().all(|b| b.is_ascii_digit()) => {
                        return Some(i)
                    }
                    _ => format!("{s:?}"),
                }
            }
            Some(v) => v.type_name().to_string(),
        };
        self.problem(
            key,
            format!("{key} must be a non-negative integer, got {shown}"),
        );
        None
    }

    /// Ok when nothing was found; otherwise the first problem's message.
    fn done(self) -> Result<(), ControlError> {
        match self.d.into_problems().into_iter().next() {
            None => Ok(()),
            Some(p) => Err(ControlError::invalid_request(p.message)),
        }
    }
}

/// `admin.verify_audit`: walks the chain (from a pinned `head` when given).
fn verify_audit(
    plane: &ControlPlane,
    ctx: &OpContext,
    input: &Value,
) -> Result<Value, ControlError> {
    let mut i = Input::new(input, &["tenant", "head"])?;
    let head = match i.m.get("head") {
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
        let text = match i.m.get("document") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => json::to_string(v),
        };
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
        let (tenant, kind) = (i.tenant(), i.kind());
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
        let targets: Vec<&str> = match i.m.get("targets") {
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
