//! A [`DocumentStore`] for host stores written in another language: the method calls, their
//! arguments and the decoding of their answers are here, once; a binding supplies only a
//! [`RecordTransport`], which moves record values across its boundary and reports a host
//! exception as a [`StoreError`].
//!
//! The host object has one method per `DocumentStore` method, named in the host's style
//! (`get_version` / `getVersion`), taking these arguments (records as in [`super::records`]):
//!
//! | method | arguments | answer |
//! |---|---|---|
//! | `current` | tenant, kind | pointer or null |
//! | `get_version` | tenant, kind, etag | version or null |
//! | `put_version` | tenant, kind, version | boolean (false: the ETag was stored already) |
//! | `list_versions` | tenant, kind | list of versions |
//! | `compare_and_swap` | tenant, swap, draft | entry or null (pointer not as expected) |
//! | `compare_and_swap_all` | tenant, list of swaps, draft | entry or null (any pointer not as expected; nothing moved) |
//! | `append_audit` | tenant, draft | entry |
//! | `list_audit` | tenant, key or null, limit | list of entries |
//! | `audit_chain` | tenant, id or null, limit | list of entries |
//! | `revision` | tenant | non-negative integer |
//! | `changes_since` | tenant, revision, limit | list of entries |
//!
//! An answer of the wrong shape is a `corrupt` store error naming the method, the record
//! and the member (`RECSYS_STORE_CORRUPT`, 500).

use super::records::{
    entry_from_record, key_record, list_from_record, pointer_from_record, swap_record,
    version_from_record, version_record, HostStyle, RecordError,
};
use crate::control::{
    AuditDraft, AuditEntry, AuditKey, DocKind, DocumentStore, Pointer, PointerSwap, StoreError,
    StoredVersion,
};
use crate::json::Value;

/// One argument of a host store method.
#[derive(Debug)]
pub enum StoreArg {
    /// A string, number, null or record.
    Value(Value),
    /// An audit draft, which the host store seals (`draft.seal(id, prev_hash)`) in the same
    /// atomic step in which it assigns the entry's id. How it crosses is the binding's
    /// choice (an object with a `seal` method, or [`super::records::draft_record`]).
    Draft(Box<AuditDraft>),
}

/// Moves one store call across a binding's boundary.
pub trait RecordTransport: Send + Sync {
    /// How records are spelled for this host.
    fn style(&self) -> HostStyle;
    /// Calls the host store's `method` (already in the host's style) with `args` and
    /// returns its answer as a value; a host failure becomes a [`StoreError`] of its kind.
    fn call(&self, method: &str, args: Vec<StoreArg>) -> Result<Value, StoreError>;
}

/// The core's [`DocumentStore`] over a host store reached through a [`RecordTransport`].
pub struct RecordStore<T>(pub T);

fn s(text: &str) -> StoreArg {
    StoreArg::Value(Value::str(text))
}

fn kind(k: DocKind) -> StoreArg {
    s(k.as_str())
}

fn n(x: u64) -> StoreArg {
    StoreArg::Value(Value::u64(x))
}

impl<T: RecordTransport> RecordStore<T> {
    /// Calls `method` and decodes its answer with `read`.
    fn call<R>(
        &self,
        method: &'static str,
        args: Vec<StoreArg>,
        read: impl FnOnce(&Value, HostStyle) -> Result<R, RecordError>,
    ) -> Result<R, StoreError> {
        let style = self.0.style();
        let name = style.name(method);
        let answer = self.0.call(&name, args)?;
        read(&answer, style).map_err(|e| StoreError::corrupt(format!("{name} returned {e}")))
    }
}

fn optional<R>(
    read: impl FnOnce(&Value, HostStyle) -> Result<R, RecordError>,
) -> impl FnOnce(&Value, HostStyle) -> Result<Option<R>, RecordError> {
    move |v, style| {
        if v.is_null() {
            Ok(None)
        } else {
            read(v, style).map(Some)
        }
    }
}

fn entries(v: &Value, style: HostStyle) -> Result<Vec<AuditEntry>, RecordError> {
    list_from_record(v, "entry list", style, entry_from_record)
}

fn scalar<R>(
    what: &'static str,
    read: impl FnOnce(&Value) -> Option<R>,
) -> impl FnOnce(&Value, HostStyle) -> Result<R, RecordError> {
    move |v, _| read(v).ok_or_else(|| RecordError(format!("something that is not {what}")))
}

fn non_negative(v: &Value) -> Option<u64> {
    let n = v.as_number()?;
    n.is_integer_literal()
        .then(|| n.literal().parse().ok())
        .flatten()
}

impl<T: RecordTransport> DocumentStore for RecordStore<T> {
    fn current(&self, tenant: &str, k: DocKind) -> Result<Option<Pointer>, StoreError> {
        self.call(
            "current",
            vec![s(tenant), kind(k)],
            optional(pointer_from_record),
        )
    }

    fn get_version(
        &self,
        tenant: &str,
        k: DocKind,
        etag: &str,
    ) -> Result<Option<StoredVersion>, StoreError> {
        self.call(
            "get_version",
            vec![s(tenant), kind(k), s(etag)],
            optional(version_from_record),
        )
    }

    fn put_version(
        &self,
        tenant: &str,
        k: DocKind,
        version: &StoredVersion,
    ) -> Result<bool, StoreError> {
        let record = StoreArg::Value(version_record(version, self.0.style()));
        self.call(
            "put_version",
            vec![s(tenant), kind(k), record],
            scalar("a boolean", Value::as_bool),
        )
    }

    fn list_versions(&self, tenant: &str, k: DocKind) -> Result<Vec<StoredVersion>, StoreError> {
        self.call("list_versions", vec![s(tenant), kind(k)], |v, style| {
            list_from_record(v, "version list", style, version_from_record)
        })
    }

    fn compare_and_swap(
        &self,
        tenant: &str,
        swap: &PointerSwap,
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let swap = StoreArg::Value(swap_record(swap, self.0.style()));
        self.call(
            "compare_and_swap",
            vec![s(tenant), swap, StoreArg::Draft(Box::new(audit))],
            optional(entry_from_record),
        )
    }

    fn compare_and_swap_all(
        &self,
        tenant: &str,
        swaps: &[PointerSwap],
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let style = self.0.style();
        let list = Value::Array(swaps.iter().map(|w| swap_record(w, style)).collect());
        self.call(
            "compare_and_swap_all",
            vec![
                s(tenant),
                StoreArg::Value(list),
                StoreArg::Draft(Box::new(audit)),
            ],
            optional(entry_from_record),
        )
    }

    fn append_audit(&self, tenant: &str, audit: AuditDraft) -> Result<AuditEntry, StoreError> {
        self.call(
            "append_audit",
            vec![s(tenant), StoreArg::Draft(Box::new(audit))],
            entry_from_record,
        )
    }

    fn list_audit(
        &self,
        tenant: &str,
        before: Option<AuditKey>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let before = before
            .map(|k| key_record(&k, self.0.style()))
            .unwrap_or(Value::Null);
        self.call(
            "list_audit",
            vec![s(tenant), StoreArg::Value(before), n(limit as u64)],
            entries,
        )
    }

    fn audit_chain(
        &self,
        tenant: &str,
        after_id: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let after = after_id.map(Value::u64).unwrap_or(Value::Null);
        self.call(
            "audit_chain",
            vec![s(tenant), StoreArg::Value(after), n(limit as u64)],
            entries,
        )
    }

    fn revision(&self, tenant: &str) -> Result<u64, StoreError> {
        self.call(
            "revision",
            vec![s(tenant)],
            scalar("a non-negative integer", non_negative),
        )
    }

    fn changes_since(
        &self,
        tenant: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.call(
            "changes_since",
            vec![s(tenant), n(since), n(limit as u64)],
            entries,
        )
    }
}

#[cfg(test)]
mod tests {
    //! A host store simulated in Rust: the records cross as JSON text (as they do to JS), so
    //! the whole control plane runs through the codec.
    use super::*;
    use crate::control::{MemoryStore, StoreErrorKind};
    use crate::host::records::{draft_record, entry_record, pointer_record, seal_draft_text};
    use crate::json;
    use std::sync::Mutex;

    /// Serves every call from a `MemoryStore`, with records crossing as text.
    struct TextHost {
        style: HostStyle,
        inner: MemoryStore,
        calls: Mutex<Vec<String>>,
        answer_override: Option<&'static str>,
    }

    impl TextHost {
        fn new(style: HostStyle) -> TextHost {
            TextHost {
                style,
                inner: MemoryStore::new(),
                calls: Mutex::default(),
                answer_override: None,
            }
        }
    }

    fn arg_text(a: &StoreArg, style: HostStyle) -> String {
        match a {
            StoreArg::Value(v) => json::to_string(v),
            StoreArg::Draft(d) => json::to_string(&draft_record(d, style)),
        }
    }

    impl RecordTransport for TextHost {
        fn style(&self) -> HostStyle {
            self.style
        }
        fn call(&self, method: &str, args: Vec<StoreArg>) -> Result<Value, StoreError> {
            let texts: Vec<String> = args.iter().map(|a| arg_text(a, self.style)).collect();
            self.calls
                .lock()
                .unwrap()
                .push(format!("{method}({})", texts.join(",")));
            if let Some(a) = self.answer_override {
                return Ok(json::parse(a.as_bytes()).unwrap());
            }
            let parsed: Vec<Value> = texts
                .iter()
                .map(|t| json::parse(t.as_bytes()).unwrap())
                .collect();
            let st = |i: usize| parsed[i].as_str().unwrap().to_owned();
            let k = |i: usize| DocKind::parse(parsed[i].as_str().unwrap()).unwrap();
            let draft = |i: usize| {
                let m = parsed[i].as_object().unwrap();
                m.get("draft").unwrap().as_str().unwrap().to_owned()
            };
            let style = self.style;
            let rec = |e: AuditEntry| entry_record(&e, style);
            // A host store seals drafts itself; here the in-memory store assigns ids.
            let sealed = |text: &str| {
                let e = seal_draft_text(text, 1, None, None).unwrap();
                AuditDraft::from_entry(e, None)
            };
            Ok(match method {
                "current" => self
                    .inner
                    .current(&st(0), k(1))?
                    .map(|p| pointer_record(&p, style))
                    .unwrap_or(Value::Null),
                "get_version" | "getVersion" => self
                    .inner
                    .get_version(&st(0), k(1), &st(2))?
                    .map(|v| version_record(&v, style))
                    .unwrap_or(Value::Null),
                "put_version" | "putVersion" => {
                    let v = version_from_record(&parsed[2], style).unwrap();
                    Value::Bool(self.inner.put_version(&st(0), k(1), &v)?)
                }
                "compare_and_swap" | "compareAndSwap" => self
                    .inner
                    .compare_and_swap(&st(0), &swap_of(&parsed[1], style), sealed(&draft(2)))?
                    .map(rec)
                    .unwrap_or(Value::Null),
                "compare_and_swap_all" | "compareAndSwapAll" => {
                    let swaps: Vec<PointerSwap> = parsed[1]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|w| swap_of(w, style))
                        .collect();
                    self.inner
                        .compare_and_swap_all(&st(0), &swaps, sealed(&draft(2)))?
                        .map(rec)
                        .unwrap_or(Value::Null)
                }
                "append_audit" | "appendAudit" => {
                    rec(self.inner.append_audit(&st(0), sealed(&draft(1)))?)
                }
                "list_audit" | "listAudit" => Value::Array(
                    self.inner
                        .list_audit(&st(0), None, 100)?
                        .into_iter()
                        .map(rec)
                        .collect(),
                ),
                "revision" => Value::u64(self.inner.revision(&st(0))?),
                other => panic!("unexpected {other}"),
            })
        }
    }

    /// A swap record read back the way a host store reads it.
    fn swap_of(v: &Value, style: HostStyle) -> PointerSwap {
        let m = v.as_object().unwrap();
        let get = |key: &'static str| m.get(&style.name(key)).cloned().unwrap();
        PointerSwap {
            kind: DocKind::parse(get("kind").as_str().unwrap()).unwrap(),
            expected: get("expected").as_str().map(str::to_owned),
            new_etag: get("new_etag").as_str().unwrap().to_owned(),
            expected_revision: get("expected_revision")
                .as_number()
                .map(|n| n.literal().parse().unwrap()),
            by: get("by").as_str().unwrap().to_owned(),
            at: crate::time::Timestamp::parse_rfc3339(get("at").as_str().unwrap()).unwrap(),
        }
    }

    fn swap(expected: Option<&str>, new: &str) -> PointerSwap {
        PointerSwap {
            kind: DocKind::Config,
            expected: expected.map(str::to_owned),
            new_etag: new.into(),
            expected_revision: None,
            by: "alice".into(),
            at: crate::time::Timestamp::from_secs(1_767_225_600),
        }
    }

    fn draft() -> AuditDraft {
        let e = crate::control::AuditEntry::from_value(
            &json::parse(
                br#"{"id":0,"occurred_at":"2026-01-01T00:00:00Z","tenant_id":"demo","actor":{"subject":"alice","type":"user"},"action":"config.update","entity":{"type":"tenant_config","id":"e1"},"request_id":"r","before_state":null,"after_state":{"a":1.50},"extra":null,"prev_hash":null,"hash":""}"#,
            )
            .unwrap(),
        )
        .unwrap();
        AuditDraft::from_entry(e, None)
    }

    #[test]
    fn a_host_store_behind_the_codec_behaves_like_the_memory_store() {
        for style in [HostStyle::Python, HostStyle::JavaScript] {
            let store = RecordStore(TextHost::new(style));
            let version = StoredVersion {
                etag: "e1".into(),
                canonical_text: "{}".into(),
                document: "{}".into(),
                created_at: crate::time::Timestamp::from_secs(1),
                created_by: "alice".into(),
                comment: Some("first".into()),
            };
            assert!(store
                .put_version("demo", DocKind::Config, &version)
                .unwrap());
            assert!(!store
                .put_version("demo", DocKind::Config, &version)
                .unwrap());
            assert_eq!(
                store.get_version("demo", DocKind::Config, "e1").unwrap(),
                Some(version.clone())
            );
            assert_eq!(store.current("demo", DocKind::Config).unwrap(), None);
            let entry = store
                .compare_and_swap("demo", &swap(None, "e1"), draft())
                .unwrap()
                .expect("swapped");
            assert_eq!(entry.after_state, draft().after_state);
            assert_eq!(
                store
                    .compare_and_swap("demo", &swap(None, "e1"), draft())
                    .unwrap(),
                None
            );
            let p = store.current("demo", DocKind::Config).unwrap().unwrap();
            assert_eq!((p.etag.as_str(), p.revision), ("e1", entry.id));
            assert_eq!(store.revision("demo").unwrap(), entry.id);
            assert_eq!(
                store.list_audit("demo", None, 10).unwrap(),
                vec![entry.clone()]
            );
            // Several pointers move in one step, or none does when one is not as expected.
            let rules = |expected: Option<&str>, new: &str| PointerSwap {
                kind: DocKind::Rules,
                ..swap(expected, new)
            };
            for (k, etag) in [(DocKind::Config, "e2"), (DocKind::Rules, "r1")] {
                let v = StoredVersion {
                    etag: etag.into(),
                    ..version.clone()
                };
                assert!(store.put_version("demo", k, &v).unwrap());
            }
            let stale = [swap(Some("e1"), "e2"), rules(Some("nope"), "r1")];
            assert_eq!(
                store.compare_and_swap_all("demo", &stale, draft()).unwrap(),
                None
            );
            assert_eq!(
                store
                    .current("demo", DocKind::Config)
                    .unwrap()
                    .unwrap()
                    .etag,
                "e1"
            );
            let both = [
                PointerSwap {
                    expected_revision: Some(entry.id),
                    ..swap(Some("e1"), "e2")
                },
                rules(None, "r1"),
            ];
            let release = store
                .compare_and_swap_all("demo", &both, draft())
                .unwrap()
                .expect("released");
            for (k, etag) in [(DocKind::Config, "e2"), (DocKind::Rules, "r1")] {
                let p = store.current("demo", k).unwrap().unwrap();
                assert_eq!((p.etag.as_str(), p.revision), (etag, release.id));
            }
            let calls = store.0.calls.lock().unwrap();
            let first = &calls[0];
            match style {
                HostStyle::Python => assert!(
                    first.starts_with(
                        "put_version(\"demo\",\"config\",{\"etag\":\"e1\",\"canonical_text\""
                    ),
                    "{first}"
                ),
                HostStyle::JavaScript => assert!(
                    first.starts_with(
                        "putVersion(\"demo\",\"config\",{\"etag\":\"e1\",\"canonicalText\""
                    ),
                    "{first}"
                ),
            }
        }
    }

    #[test]
    fn wrong_answers_are_corrupt_and_name_the_method() {
        let cases = [
            (
                r#"{"etag":42}"#,
                "current returned a malformed pointer (\"etag\" is not a string)",
            ),
            (
                "[]",
                "current returned a malformed pointer (not an object but an array)",
            ),
        ];
        for (answer, message) in cases {
            let mut host = TextHost::new(HostStyle::Python);
            host.answer_override = Some(answer);
            let e = RecordStore(host)
                .current("demo", DocKind::Config)
                .unwrap_err();
            assert_eq!(
                (e.kind, e.message.as_str()),
                (StoreErrorKind::Corrupt, message)
            );
        }
        let mut host = TextHost::new(HostStyle::JavaScript);
        host.answer_override = Some("true");
        let e = RecordStore(host).revision("demo").unwrap_err();
        assert_eq!(
            e.message,
            "revision returned something that is not a non-negative integer"
        );
        let mut host = TextHost::new(HostStyle::JavaScript);
        host.answer_override = Some("1");
        let e = RecordStore(host)
            .put_version(
                "demo",
                DocKind::Rules,
                &StoredVersion {
                    etag: "e".into(),
                    canonical_text: "[]".into(),
                    document: "[]".into(),
                    created_at: crate::time::Timestamp::from_secs(0),
                    created_by: "a".into(),
                    comment: None,
                },
            )
            .unwrap_err();
        assert_eq!(
            e.message,
            "putVersion returned something that is not a boolean"
        );
        let mut host = TextHost::new(HostStyle::JavaScript);
        host.answer_override = Some(r#"[{"json":"{}"}]"#);
        let e = RecordStore(host).list_audit("demo", None, 5).unwrap_err();
        assert!(
            e.message
                .starts_with("listAudit returned a malformed audit entry (\"json\""),
            "{}",
            e.message
        );
    }
}
