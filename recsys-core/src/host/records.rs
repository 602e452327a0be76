//! The records a host document store keeps, as JSON values: stored versions, pointers,
//! pointer swaps, audit keys, audit drafts and audit entries. Both directions live here, so
//! every host store (Python dicts, JS objects) reads and writes the same records and a
//! malformed answer is reported the same way everywhere.
//!
//! Two styles, one per host idiom ([`HostStyle`]):
//!
//! * [`HostStyle::Python`]: `snake_case` members. Timestamps are RFC 3339 text; the ones a
//!   store orders by (audit keys and entries) also carry `seconds` and `nanos` (Unix time).
//!   An audit entry is given as its fields, with `before_state`, `after_state` and `extra`
//!   as JSON **text**, so documents keep their number literals (the audit hash covers them).
//! * [`HostStyle::JavaScript`]: `camelCase` members. Ordered timestamps also carry
//!   `timeKey`, a fixed-width decimal string that sorts like the time. An audit entry is
//!   given as its index fields (`id`, `tenant`, `occurredAt`, `timeKey`, `action`,
//!   `prevHash`, `hash`) plus `json`, the exact entry text the store keeps and returns.
//!
//! Decoders ignore members they do not know (a database row may carry more) and fail with a
//! [`RecordError`] naming the record and the member that is wrong.

use crate::control::{
    Actor, AuditDraft, AuditEntry, AuditKey, AuditSigner, Entity, Pointer, PointerSwap,
    StoredVersion,
};
use crate::error::ApiError;
use crate::json::{self, Map, Value};
use crate::time::Timestamp;
use std::borrow::Cow;
use std::fmt;

/// How a host's store records are spelled (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostStyle {
    /// `snake_case` members, entries as fields (the Python binding).
    Python,
    /// `camelCase` members, entries as index fields plus their exact text (the Node binding).
    JavaScript,
}

impl HostStyle {
    /// A member or method name in this style, from its `snake_case` spelling.
    pub fn name(self, snake: &'static str) -> Cow<'static, str> {
        match self {
            HostStyle::Python => Cow::Borrowed(snake),
            HostStyle::JavaScript if !snake.contains('_') => Cow::Borrowed(snake),
            HostStyle::JavaScript => {
                let mut out = String::with_capacity(snake.len());
                let mut upper = false;
                for c in snake.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.push(c.to_ascii_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                Cow::Owned(out)
            }
        }
    }
}

/// A record that does not have the expected shape: `a pointer whose "etag" is not a string`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError(pub String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecordError {}

/// A fixed-width decimal string ordered like the timestamp (the JS style's `timeKey`).
pub fn time_key(t: Timestamp) -> String {
    format!("{:020}{:09}", (t.secs as i128 - i64::MIN as i128), t.nanos)
}

fn opt_str(s: Option<&str>) -> Value {
    s.map(Value::str).unwrap_or(Value::Null)
}

fn opt_text(v: &Option<Value>) -> Value {
    v.as_ref()
        .map(|v| Value::String(json::to_string(v)))
        .unwrap_or(Value::Null)
}

/// Record builder: members named in the record's style.
struct Out {
    style: HostStyle,
    m: Map,
}

impl Out {
    fn new(style: HostStyle) -> Out {
        Out {
            style,
            m: Map::with_capacity(16),
        }
    }
    fn put(&mut self, snake: &'static str, v: Value) -> &mut Out {
        self.m.push(self.style.name(snake), v);
        self
    }
    /// `name` as RFC 3339 text plus its sort form (`seconds`/`nanos` or `timeKey`).
    fn ordered_time(&mut self, snake: &'static str, t: Timestamp) -> &mut Out {
        self.put(snake, Value::str(t.to_rfc3339_nanos()));
        match self.style {
            HostStyle::Python => self
                .put("seconds", Value::i64(t.secs))
                .put("nanos", Value::u64(t.nanos.into())),
            HostStyle::JavaScript => self.put("time_key", Value::str(time_key(t))),
        }
    }
    fn done(&mut self) -> Value {
        Value::Object(std::mem::take(&mut self.m))
    }
}

/// A stored version: `etag`, `canonical_text`, `document`, `created_at`, `created_by`,
/// `comment`.
pub fn version_record(v: &StoredVersion, style: HostStyle) -> Value {
    Out::new(style)
        .put("etag", Value::str(&v.etag))
        .put("canonical_text", Value::str(&v.canonical_text))
        .put("document", Value::str(&v.document))
        .put("created_at", Value::str(v.created_at.to_rfc3339_nanos()))
        .put("created_by", Value::str(&v.created_by))
        .put("comment", opt_str(v.comment.as_deref()))
        .done()
}

/// A pointer: `etag`, `previous`, `updated_at`, `updated_by`, `revision`.
pub fn pointer_record(p: &Pointer, style: HostStyle) -> Value {
    Out::new(style)
        .put("etag", Value::str(&p.etag))
        .put("previous", opt_str(p.previous.as_deref()))
        .put("updated_at", Value::str(p.updated_at.to_rfc3339_nanos()))
        .put("updated_by", Value::str(&p.updated_by))
        .put("revision", Value::u64(p.revision))
        .done()
}

/// A pointer swap: `kind`, `expected`, `new_etag`, `expected_revision` (null unless a
/// release guards the pointer's revision too), `by`, `at`.
pub fn swap_record(s: &PointerSwap, style: HostStyle) -> Value {
    Out::new(style)
        .put("kind", Value::str(s.kind.as_str()))
        .put("expected", opt_str(s.expected.as_deref()))
        .put("new_etag", Value::str(&s.new_etag))
        .put(
            "expected_revision",
            s.expected_revision.map_or(Value::Null, Value::u64),
        )
        .put("by", Value::str(&s.by))
        .put("at", Value::str(s.at.to_rfc3339_nanos()))
        .done()
}

/// An audit listing key: `occurred_at` (with its sort form) and `id`.
pub fn key_record(k: &AuditKey, style: HostStyle) -> Value {
    Out::new(style)
        .ordered_time("occurred_at", k.occurred_at)
        .put("id", Value::u64(k.id))
        .done()
}

/// An audit draft handed to a store that carries drafts as data (the JS style): `tenant`,
/// `occurred_at` (with its sort form), `action`, and `draft`, the entry text without `id`,
/// `prev_hash` and `hash` that [`seal_draft_text`] seals. The signing key never leaves.
pub fn draft_record(d: &AuditDraft, style: HostStyle) -> Value {
    let mut body = Map::with_capacity(12);
    if let Value::Object(b) = d.clone().seal(0, None).to_value(false) {
        for (k, v) in b.into_vec() {
            if !matches!(k.as_ref(), "id" | "prev_hash" | "hash") {
                body.push(k, v);
            }
        }
    }
    Out::new(style)
        .put("tenant", Value::str(&d.tenant))
        .ordered_time("occurred_at", d.occurred_at)
        .put("action", Value::str(&d.action))
        .put(
            "draft",
            Value::String(json::to_string(&Value::Object(body))),
        )
        .done()
}

/// Seals the `draft` text of a [`draft_record`] with a store-assigned `id` (from 1) and the
/// tenant's previous hash, keyed with `signer` when the engine has audit keys. Fails with
/// `RECSYS_INVALID_ADAPTER` (400) when the text is not such a draft.
pub fn seal_draft_text(
    draft: &str,
    id: u64,
    prev_hash: Option<&str>,
    signer: Option<AuditSigner>,
) -> Result<AuditEntry, ApiError> {
    let bad = |m: &str| {
        ApiError::new(
            crate::error::ErrorCode::InvalidAdapter,
            format!("invalid audit draft: {m}"),
        )
    };
    if id == 0 {
        return Err(bad("ids start at 1"));
    }
    let v = json::parse(draft.as_bytes()).map_err(|e| bad(&e.to_string()))?;
    let Value::Object(mut m) = v else {
        return Err(bad("not an object"));
    };
    m.insert("id", Value::u64(0));
    m.insert("prev_hash", Value::Null);
    m.insert("hash", Value::str(""));
    let e = AuditEntry::from_value(&Value::Object(m)).ok_or_else(|| bad("missing fields"))?;
    Ok(AuditDraft::from_entry(e, signer).seal(id, prev_hash))
}

/// An audit entry in the style's form (see the module documentation).
pub fn entry_record(e: &AuditEntry, style: HostStyle) -> Value {
    let mut out = Out::new(style);
    out.put("id", Value::u64(e.id));
    match style {
        HostStyle::Python => {
            let mut actor = Map::with_capacity(2);
            actor.push("subject", Value::str(&e.actor.subject));
            actor.push("type", Value::str(&e.actor.actor_type));
            let mut entity = Map::with_capacity(2);
            entity.push("type", Value::str(&e.entity.entity_type));
            entity.push("id", opt_str(e.entity.id.as_deref()));
            out.ordered_time("occurred_at", e.occurred_at)
                .put("tenant_id", Value::str(&e.tenant))
                .put("actor", Value::Object(actor))
                .put("action", Value::str(&e.action))
                .put("entity", Value::Object(entity))
                .put("request_id", opt_str(e.request_id.as_deref()))
                .put("before_state", opt_text(&e.before_state))
                .put("after_state", opt_text(&e.after_state))
                .put("extra", opt_text(&e.extra))
                .put("prev_hash", opt_str(e.prev_hash.as_deref()))
                .put("hash", Value::str(&e.hash))
                .done()
        }
        HostStyle::JavaScript => out
            .put("tenant", Value::str(&e.tenant))
            .ordered_time("occurred_at", e.occurred_at)
            .put("action", Value::str(&e.action))
            .put("prev_hash", opt_str(e.prev_hash.as_deref()))
            .put("hash", Value::str(&e.hash))
            .put("json", Value::String(json::to_string(&e.to_value(false))))
            .done(),
    }
}

/// Reads the members of one record.
struct Fields<'a> {
    style: HostStyle,
    what: &'static str,
    m: &'a Map,
}

impl<'a> Fields<'a> {
    fn new(v: &'a Value, what: &'static str, style: HostStyle) -> Result<Self, RecordError> {
        let m = v.as_object().ok_or_else(|| {
            RecordError(format!(
                "a malformed {what} (not an object but {})",
                kind(v)
            ))
        })?;
        Ok(Fields { style, what, m })
    }
    fn bad(&self, snake: &'static str, expected: &str) -> RecordError {
        let name = self.style.name(snake);
        RecordError(format!(
            "a malformed {} ({name:?} is not {expected})",
            self.what
        ))
    }
    fn get(&self, snake: &'static str) -> Option<&'a Value> {
        self.m.get(&self.style.name(snake)).filter(|v| !v.is_null())
    }
    fn string(&self, snake: &'static str) -> Result<String, RecordError> {
        self.get(snake)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| self.bad(snake, "a string"))
    }
    fn opt_string(&self, snake: &'static str) -> Result<Option<String>, RecordError> {
        match self.get(snake) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.to_owned()))
                .ok_or_else(|| self.bad(snake, "a string or null")),
        }
    }
    fn time(&self, snake: &'static str) -> Result<Timestamp, RecordError> {
        Timestamp::parse_rfc3339(&self.string(snake)?)
            .ok_or_else(|| self.bad(snake, "an RFC 3339 timestamp"))
    }
    fn u64(&self, snake: &'static str) -> Result<u64, RecordError> {
        self.get(snake)
            .and_then(Value::as_number)
            .filter(|n| n.is_integer_literal())
            .and_then(|n| n.literal().parse::<u64>().ok())
            .ok_or_else(|| self.bad(snake, "a non-negative integer"))
    }
    fn json_text(&self, snake: &'static str) -> Result<Option<Value>, RecordError> {
        match self.opt_string(snake)? {
            None => Ok(None),
            Some(text) => json::parse(text.as_bytes())
                .map(Some)
                .map_err(|_| self.bad(snake, "JSON text")),
        }
    }
    fn object(&self, snake: &'static str, what: &'static str) -> Result<Fields<'a>, RecordError> {
        let v = self
            .get(snake)
            .ok_or_else(|| self.bad(snake, "an object"))?;
        Fields::new(v, what, HostStyle::Python)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a [`version_record`].
pub fn version_from_record(v: &Value, style: HostStyle) -> Result<StoredVersion, RecordError> {
    let f = Fields::new(v, "version", style)?;
    Ok(StoredVersion {
        etag: f.string("etag")?,
        canonical_text: f.string("canonical_text")?,
        document: f.string("document")?,
        created_at: f.time("created_at")?,
        created_by: f.string("created_by")?,
        comment: f.opt_string("comment")?,
    })
}

/// Reads a [`pointer_record`].
pub fn pointer_from_record(v: &Value, style: HostStyle) -> Result<Pointer, RecordError> {
    let f = Fields::new(v, "pointer", style)?;
    Ok(Pointer {
        etag: f.string("etag")?,
        previous: f.opt_string("previous")?,
        updated_at: f.time("updated_at")?,
        updated_by: f.string("updated_by")?,
        revision: f.u64("revision")?,
    })
}

/// Reads an [`entry_record`] (the JS style reads its `json` text; index fields are the
/// store's own and are not trusted).
pub fn entry_from_record(v: &Value, style: HostStyle) -> Result<AuditEntry, RecordError> {
    let f = Fields::new(v, "audit entry", style)?;
    if style == HostStyle::JavaScript {
        let text = f.string("json")?;
        return json::parse(text.as_bytes())
            .ok()
            .and_then(|v| AuditEntry::from_value(&v))
            .ok_or_else(|| f.bad("json", "the text of an audit entry"));
    }
    let actor = f.object("actor", "audit entry actor")?;
    let entity = f.object("entity", "audit entry entity")?;
    Ok(AuditEntry {
        id: f.u64("id")?,
        occurred_at: f.time("occurred_at")?,
        tenant: f.string("tenant_id")?,
        actor: Actor {
            subject: actor.string("subject")?,
            actor_type: actor.string("type")?,
        },
        action: f.string("action")?,
        entity: Entity {
            entity_type: entity.string("type")?,
            id: entity.opt_string("id")?,
        },
        request_id: f.opt_string("request_id")?,
        before_state: f.json_text("before_state")?,
        after_state: f.json_text("after_state")?,
        extra: f.json_text("extra")?,
        prev_hash: f.opt_string("prev_hash")?,
        hash: f.string("hash")?,
    })
}

/// Reads a list of records with `read`; `what` names the list in the error.
pub fn list_from_record<T>(
    v: &Value,
    what: &'static str,
    style: HostStyle,
    read: impl Fn(&Value, HostStyle) -> Result<T, RecordError>,
) -> Result<Vec<T>, RecordError> {
    v.as_array()
        .ok_or_else(|| RecordError(format!("a malformed {what} (not an array but {})", kind(v))))?
        .iter()
        .map(|x| read(x, style))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::DocKind;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn entry() -> AuditEntry {
        AuditDraft {
            tenant: "demo".into(),
            occurred_at: t("2026-01-02T03:04:05.5Z"),
            actor: Actor {
                subject: "alice".into(),
                actor_type: "user".into(),
            },
            action: "config.update".into(),
            entity: Entity {
                entity_type: "tenant_config".into(),
                id: Some("abc".into()),
            },
            request_id: None,
            before_state: None,
            after_state: Some(json::parse(br#"{"w":0.30}"#).unwrap()),
            extra: None,
            signer: None,
        }
        .seal(7, Some("prev"))
    }

    #[test]
    fn camel_case_names() {
        let js = HostStyle::JavaScript;
        assert_eq!(js.name("canonical_text"), "canonicalText");
        assert_eq!(js.name("compare_and_swap"), "compareAndSwap");
        assert_eq!(js.name("etag"), "etag");
        assert_eq!(HostStyle::Python.name("new_etag"), "new_etag");
    }

    #[test]
    fn records_round_trip_in_both_styles() {
        let version = StoredVersion {
            etag: "e".into(),
            canonical_text: "{}".into(),
            document: "{ }".into(),
            created_at: t("2026-01-01T00:00:00Z"),
            created_by: "bob".into(),
            comment: None,
        };
        let pointer = Pointer {
            etag: "e".into(),
            previous: Some("d".into()),
            updated_at: t("2026-01-01T00:00:01Z"),
            updated_by: "bob".into(),
            revision: 3,
        };
        for style in [HostStyle::Python, HostStyle::JavaScript] {
            let v = version_record(&version, style);
            assert_eq!(version_from_record(&v, style).unwrap(), version);
            let p = pointer_record(&pointer, style);
            assert_eq!(pointer_from_record(&p, style).unwrap(), pointer);
            let e = entry_record(&entry(), style);
            assert_eq!(entry_from_record(&e, style).unwrap(), entry());
            let list = Value::Array(vec![e.clone(), e]);
            let back = list_from_record(&list, "entry list", style, entry_from_record).unwrap();
            assert_eq!(back.len(), 2);
        }
    }

    #[test]
    fn the_exact_shapes_hosts_keep() {
        let py = json::to_string(&entry_record(&entry(), HostStyle::Python));
        assert_eq!(
            py,
            format!(
                r#"{{"id":7,"occurred_at":"2026-01-02T03:04:05.5Z","seconds":1767323045,"nanos":500000000,"tenant_id":"demo","actor":{{"subject":"alice","type":"user"}},"action":"config.update","entity":{{"type":"tenant_config","id":"abc"}},"request_id":null,"before_state":null,"after_state":"{{\"w\":0.30}}","extra":null,"prev_hash":"prev","hash":"{}"}}"#,
                entry().hash
            )
        );
        let js = entry_record(&entry(), HostStyle::JavaScript);
        let m = js.as_object().unwrap();
        let keys: Vec<&str> = m.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "id",
                "tenant",
                "occurredAt",
                "timeKey",
                "action",
                "prevHash",
                "hash",
                "json"
            ]
        );
        let key = AuditKey {
            occurred_at: t("1970-01-01T00:00:01Z"),
            id: 2,
        };
        assert_eq!(
            json::to_string(&key_record(&key, HostStyle::JavaScript)),
            r#"{"occurredAt":"1970-01-01T00:00:01Z","timeKey":"09223372036854775809000000000","id":2}"#
        );
        assert_eq!(
            json::to_string(&key_record(&key, HostStyle::Python)),
            r#"{"occurred_at":"1970-01-01T00:00:01Z","seconds":1,"nanos":0,"id":2}"#
        );
        let swap = PointerSwap {
            kind: DocKind::Rules,
            expected: None,
            new_etag: "n".into(),
            expected_revision: Some(7),
            by: "b".into(),
            at: t("2026-01-01T00:00:00Z"),
        };
        assert_eq!(
            json::to_string(&swap_record(&swap, HostStyle::JavaScript)),
            r#"{"kind":"rules","expected":null,"newEtag":"n","expectedRevision":7,"by":"b","at":"2026-01-01T00:00:00Z"}"#
        );
    }

    #[test]
    fn time_keys_sort_like_times() {
        let a = time_key(t("1969-12-31T23:59:59.9Z"));
        let b = time_key(t("1970-01-01T00:00:00Z"));
        let c = time_key(t("2026-01-01T00:00:00.000000001Z"));
        assert!(a < b && b < c, "{a} {b} {c}");
    }

    #[test]
    fn malformed_records_name_the_member() {
        let v = json::parse(br#"{"etag":42}"#).unwrap();
        let e = pointer_from_record(&v, HostStyle::Python).unwrap_err();
        assert_eq!(e.0, r#"a malformed pointer ("etag" is not a string)"#);
        let v = json::parse(br#"{"etag":"e","updatedAt":"x"}"#).unwrap();
        let e = pointer_from_record(&v, HostStyle::JavaScript).unwrap_err();
        assert_eq!(
            e.0,
            r#"a malformed pointer ("updatedAt" is not an RFC 3339 timestamp)"#
        );
        let e = version_from_record(&Value::Bool(true), HostStyle::Python).unwrap_err();
        assert_eq!(e.0, "a malformed version (not an object but a boolean)");
        let mut bad = entry_record(&entry(), HostStyle::Python);
        if let Value::Object(m) = &mut bad {
            m.insert("after_state", Value::str("{nope"));
        }
        let e = entry_from_record(&bad, HostStyle::Python).unwrap_err();
        assert!(e.0.contains("\"after_state\" is not JSON text"), "{e}");
        let e = list_from_record(
            &Value::Null,
            "entry list",
            HostStyle::Python,
            entry_from_record,
        );
        assert_eq!(
            e.unwrap_err().0,
            "a malformed entry list (not an array but null)"
        );
        let neg = json::parse(
            br#"{"etag":"e","updated_at":"2026-01-01T00:00:00Z","updated_by":"b","revision":-1}"#,
        )
        .unwrap();
        assert!(pointer_from_record(&neg, HostStyle::Python).is_err());
    }

    #[test]
    fn drafts_seal_to_the_same_entry_as_in_process() {
        let draft = AuditDraft::from_entry(entry(), None);
        let rec = draft_record(&draft, HostStyle::JavaScript);
        let text = rec
            .as_object()
            .unwrap()
            .get("draft")
            .unwrap()
            .as_str()
            .unwrap();
        let sealed = seal_draft_text(text, 7, Some("prev"), None).unwrap();
        assert_eq!(sealed, entry());
        let e = seal_draft_text(text, 0, None, None).unwrap_err();
        assert_eq!(e.code, "RECSYS_INVALID_ADAPTER");
        assert!(seal_draft_text("[]", 1, None, None).is_err());
        assert!(seal_draft_text("{}", 1, None, None).is_err());
    }
}
