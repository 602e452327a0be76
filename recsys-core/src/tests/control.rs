//! The control plane: versions and If-Match, no-op and re-put semantics, validation before
//! any write, audit listing / hash chain / redaction, rollback helpers, RBAC and tenant
//! isolation, cache invalidation, store failure paths, concurrency and a model-based test.

use crate::control::api::{call, OPS};
use crate::control::{
    actions, verify_audit_chain, AccessPolicy, AuditDraft, AuditEntry, AuditHead, AuditKey,
    AuditKeyring, AuditQuery, AuditSigner, CacheTarget, ControlError, ControlOptions, ControlPlane,
    DocKind, DocumentStore, Invalidation, InvalidationCounts, Invalidator, MemoryStore, OpContext,
    Pointer, PointerSwap, Principal, PutRequest, RollbackTarget, StoreError, StoreErrorKind,
    StoredVersion, TamperReason,
};
use crate::error::ApiError;
use crate::json::{self, Value};
use crate::time::Timestamp;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

const T: &str = "acme";
const CFG_A: &str = r#"{"weights":{"pop":0.7,"cooc":0.3}}"#;
const CFG_B: &str = r#"{"algo":"popularity"}"#;
const CFG_C: &str = r#"{"weights":{"pop":1,"cooc":0,"emb":0},"flags":{"beta":true}}"#;
const RULES_A: &str = r#"[{"action":"pin","target_type":"item","item_ids":["item_1"],"surface":"home","priority":10}]"#;
const RULES_B: &str = r#"{"rules":[{"action":"block","tag":"adult"}]}"#;

fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2026-03-01T10:00:00Z").unwrap()
}

fn who(subject: &str, roles: &[&str]) -> Principal {
    Principal::new(subject, T, roles.iter().copied())
}

fn ctx_as(p: Principal) -> OpContext {
    OpContext::new(t0(), "req-1", p)
}

fn admin() -> OpContext {
    ctx_as(who("alice", &["admin"]))
}

fn operator() -> OpContext {
    ctx_as(who("olga", &["operator"]))
}

fn viewer() -> OpContext {
    ctx_as(who("victor", &["viewer"]))
}

fn etag(doc: &str) -> String {
    json::etag(doc.as_bytes()).unwrap()
}

fn put(plane: &ControlPlane, ctx: &OpContext, doc: &str) -> Result<bool, ControlError> {
    plane
        .put_config(ctx, T, doc.as_bytes(), None)
        .map(|o| o.changed)
}

fn full_audit(store: &dyn DocumentStore, tenant: &str) -> Vec<AuditEntry> {
    store.audit_chain(tenant, None, usize::MAX).unwrap()
}

/// Everything a write could change: both pointers, both version lists, the audit log.
type State = (
    Option<Pointer>,
    Option<Pointer>,
    Vec<StoredVersion>,
    Vec<StoredVersion>,
    Vec<AuditEntry>,
);

/// Everything a write could change, for "nothing changed" assertions.
fn snapshot(store: &dyn DocumentStore) -> State {
    (
        store.current(T, DocKind::Config).unwrap(),
        store.current(T, DocKind::Rules).unwrap(),
        store.list_versions(T, DocKind::Config).unwrap(),
        store.list_versions(T, DocKind::Rules).unwrap(),
        full_audit(store, T),
    )
}

fn parse(s: &str) -> Value {
    json::parse(s.as_bytes()).unwrap()
}

fn op(plane: &ControlPlane, p: &Principal, name: &str, input: &str) -> Result<Value, ApiError> {
    call(plane, name, &parse(input), t0(), "req-op", p).expect("known op")
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| {
        v.as_object()
            .and_then(|m| m.get(k))
            .unwrap_or_else(|| panic!("missing {k} in {}", json::to_string(v)))
    })
}

// ---- 2. admin operations --------------------------------------------------------------------

#[test]
fn put_then_get_returns_document_and_version() {
    let plane = ControlPlane::in_memory();
    let out = plane
        .put_config(&admin(), T, CFG_A.as_bytes(), None)
        .unwrap();
    assert!(out.changed && out.new_version);
    assert_eq!(out.etag, etag(CFG_A));
    assert_eq!(out.from_version, None);
    let got = plane.get_config(&viewer(), T).unwrap();
    assert_eq!(got.etag, etag(CFG_A));
    assert_eq!(json::to_string(&got.document), CFG_A);
    assert_eq!(got.updated_by, "alice");
    assert_eq!(got.updated_at, t0());
    assert_eq!(
        plane.get_rules(&viewer(), T).unwrap_err().code(),
        "RECSYS_RULES_NOT_FOUND"
    );
    let r = plane
        .put_rules(&operator(), T, RULES_A.as_bytes(), None)
        .unwrap();
    assert_eq!(r.etag, etag(RULES_A));
    assert_eq!(plane.get_rules(&viewer(), T).unwrap().etag, etag(RULES_A));

    let fresh = ControlPlane::in_memory();
    let e = fresh.get_config(&viewer(), T).unwrap_err();
    assert_eq!((e.code(), e.status()), ("RECSYS_CONFIG_NOT_FOUND", 404));
}

#[test]
fn if_match_accepts_every_spelling_and_mismatch_carries_current() {
    let plane = ControlPlane::in_memory();
    let ctx = admin();
    // No current document: any If-Match fails, current_version is null.
    let e = plane
        .put_config(&ctx, T, CFG_A.as_bytes(), Some(&etag(CFG_B)))
        .unwrap_err();
    assert_eq!(
        e,
        ControlError::VersionMismatch {
            kind: DocKind::Config,
            current: None
        }
    );
    let api = ApiError::from(e);
    assert_eq!((api.code, api.status), ("RECSYS_VERSION_MISMATCH", 409));
    assert_eq!(
        api.extra.as_ref().unwrap().get("current_version"),
        Some(&Value::Null)
    );
    assert!(plane
        .put_config(&ctx, T, CFG_A.as_bytes(), Some("*"))
        .is_err());
    // Blank If-Match = unconditional.
    plane
        .put_config(&ctx, T, CFG_A.as_bytes(), Some("  "))
        .unwrap();

    let docs = [CFG_B, CFG_C, CFG_A, CFG_B, CFG_C, CFG_A];
    let mut current = etag(CFG_A);
    for (i, doc) in docs.iter().enumerate() {
        let spelled = match i {
            0 => current.clone(),
            1 => format!("\"{current}\""),
            2 => format!("W/\"{current}\""),
            3 => current.to_uppercase(),
            4 => format!("  w/\"{}\" ", current.to_uppercase()),
            _ => "*".to_string(),
        };
        let out = plane
            .put_config(&ctx, T, doc.as_bytes(), Some(&spelled))
            .unwrap_or_else(|e| panic!("{spelled}: {e}"));
        assert!(out.changed);
        current = out.etag;
    }
    // A stale version is refused and the answer names the current one.
    let e = plane
        .put_config(
            &ctx,
            T,
            CFG_B.as_bytes(),
            Some(&format!("\"{}\"", etag(CFG_C))),
        )
        .unwrap_err();
    let api = ApiError::from(e);
    assert_eq!(api.code, "RECSYS_VERSION_MISMATCH");
    assert_eq!(
        api.extra.as_ref().unwrap().get("current_version"),
        Some(&Value::str(etag(CFG_A)))
    );
    assert_eq!(
        plane.get_config(&ctx, T).unwrap().etag,
        etag(CFG_A),
        "a refused put changes nothing"
    );
}

#[test]
fn identical_put_is_a_noop_without_audit_entry() {
    let plane = ControlPlane::in_memory();
    let ctx = admin();
    assert!(put(&plane, &ctx, CFG_A).unwrap());
    let before = snapshot(plane.store().as_ref());
    // The same content, re-formatted and re-ordered, is the same version.
    for same in [
        CFG_A,
        r#"{ "weights" : { "cooc" : 0.3, "pop" : 0.7 } }"#,
        r#"{"weights":{"pop":0.1,"pop":0.7,"cooc":0.3}}"#,
    ] {
        let out = plane
            .put_config(&ctx, T, same.as_bytes(), Some(&etag(CFG_A)))
            .unwrap();
        assert!(!out.changed && out.audit_id.is_none() && out.invalidation.is_none());
        assert_eq!(out.etag, etag(CFG_A));
    }
    assert_eq!(snapshot(plane.store().as_ref()), before);
}

#[test]
fn reput_of_an_older_document_moves_the_pointer_and_is_audited() {
    let plane = ControlPlane::in_memory();
    let ctx = admin();
    for d in [CFG_A, CFG_B] {
        put(&plane, &ctx, d).unwrap();
    }
    let out = plane.put_config(&ctx, T, CFG_A.as_bytes(), None).unwrap();
    assert!(out.changed && !out.new_version);
    assert_eq!(out.from_version, Some(etag(CFG_B)));
    assert_eq!(plane.get_config(&ctx, T).unwrap().etag, etag(CFG_A));
    let versions = plane.list_versions(&ctx, T, DocKind::Config).unwrap();
    assert_eq!(versions.versions.len(), 2, "the old version is re-used");
    let audit = full_audit(plane.store().as_ref(), T);
    assert_eq!(audit.len(), 3);
    let last = &audit[2];
    assert_eq!(last.action, actions::CONFIG_UPDATE);
    assert_eq!(last.entity.id, Some(etag(CFG_A)));
    assert_eq!(json::to_string(last.before_state.as_ref().unwrap()), CFG_B);
    assert_eq!(json::to_string(last.after_state.as_ref().unwrap()), CFG_A);
    let extra = last.extra.as_ref().unwrap();
    assert_eq!(get(extra, &["from_version"]), &Value::str(etag(CFG_B)));
    assert_eq!(get(extra, &["new_version"]), &Value::Bool(false));
    assert_eq!(last.request_id.as_deref(), Some("req-1"));
    assert_eq!(last.actor.subject, "alice");
    assert_eq!(last.actor.actor_type, "user");
}

#[test]
fn decimal_spellings_are_different_versions() {
    let plane = ControlPlane::in_memory();
    let ctx = admin();
    let a = r#"{"weights":{"pop":0.3}}"#;
    let b = r#"{"weights":{"pop":0.30}}"#;
    assert!(put(&plane, &ctx, a).unwrap());
    assert!(put(&plane, &ctx, b).unwrap());
    assert_ne!(etag(a), etag(b));
    let got = plane.get_config(&ctx, T).unwrap();
    assert_eq!(got.etag, etag(b));
    assert_eq!(json::to_string(&got.document), b, "literal kept as written");
    assert_eq!(
        plane
            .list_versions(&ctx, T, DocKind::Config)
            .unwrap()
            .versions
            .len(),
        2
    );
}

#[test]
fn invalid_documents_change_nothing() {
    let plane = ControlPlane::in_memory().with_options(ControlOptions {
        max_document_bytes: 4096,
        ..ControlOptions::default()
    });
    let ctx = admin();
    put(&plane, &ctx, CFG_A).unwrap();
    plane.put_rules(&ctx, T, RULES_A.as_bytes(), None).unwrap();
    let before = snapshot(plane.store().as_ref());
    let big = format!(
        "{{\"flags\":{{\"x\":true}},\"pad\":\"{}\"}}",
        "x".repeat(5000)
    );
    let cases: Vec<(DocKind, String, u16, usize)> = vec![
        (DocKind::Config, r#"{"weights":{"pop":-1}}"#.into(), 422, 1),
        (
            DocKind::Config,
            r#"{"algo":5,"weights":{"pop":-1},"limits":{"max_k":-3}}"#.into(),
            422,
            3,
        ),
        (DocKind::Config, "[1,2]".into(), 422, 1),
        (DocKind::Config, "{\"weights\":".into(), 400, 1),
        (DocKind::Config, "   ".into(), 400, 0),
        (DocKind::Config, String::new(), 400, 0),
        (DocKind::Config, big, 413, 0),
        (
            DocKind::Rules,
            r#"[{"action":"explode","tag":"x"}]"#.into(),
            422,
            1,
        ),
        (DocKind::Rules, "5".into(), 422, 1),
        (DocKind::Rules, "null".into(), 422, 1),
        (DocKind::Rules, "[".into(), 400, 1),
        (
            DocKind::Rules,
            r#"[{"action":"boost","tag":"x"},{"action":"pin"}]"#.into(),
            422,
            2,
        ),
    ];
    for (kind, doc, status, min_problems) in cases {
        let e = plane
            .put(
                &ctx,
                T,
                kind,
                PutRequest {
                    document: doc.as_bytes(),
                    ..PutRequest::default()
                },
            )
            .unwrap_err();
        let want = match kind {
            DocKind::Config => "RECSYS_INVALID_CONFIG",
            DocKind::Rules => "RECSYS_INVALID_RULES",
        };
        assert_eq!((e.code(), e.status()), (want, status), "{doc}: {e}");
        assert!(
            e.problems().len() >= min_problems,
            "{doc}: {:?}",
            e.problems()
        );
        assert_eq!(snapshot(plane.store().as_ref()), before, "{doc}");
    }
}

// ---- 3. audit ------------------------------------------------------------------------------

/// 450 entries over 3 shared timestamps, in an order where id order and time order differ.
fn busy_plane() -> ControlPlane {
    let plane = ControlPlane::in_memory();
    let times = [t0(), t0().add_secs(-60), t0().add_secs(60)];
    for i in 0..450 {
        let ctx = OpContext::new(times[i % 3], format!("r{i}"), who("alice", &["admin"]));
        plane.invalidate(&ctx, T, &["config"], None).unwrap();
    }
    plane
}

fn page_through(plane: &ControlPlane, ctx: &OpContext, limit: Option<usize>) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = plane
            .audit(
                ctx,
                T,
                &AuditQuery {
                    limit,
                    cursor,
                    ..AuditQuery::default()
                },
            )
            .unwrap();
        let want = limit.unwrap_or(100).min(200);
        assert!(page.entries.len() <= want);
        out.extend(page.entries);
        pages += 1;
        assert!(pages < 1000);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out
}

#[test]
fn pagination_never_skips_or_repeats_entries_sharing_timestamps() {
    let plane = busy_plane();
    let all = plane.store().list_audit(T, None, usize::MAX).unwrap();
    assert_eq!(all.len(), 450);
    let keys: Vec<AuditKey> = all.iter().map(AuditEntry::key).collect();
    assert!(keys.windows(2).all(|w| w[0] > w[1]), "newest first");
    for limit in [
        Some(1),
        Some(7),
        Some(149),
        Some(150),
        Some(151),
        None,
        Some(200),
        Some(10_000),
    ] {
        let got = page_through(&plane, &admin(), limit);
        let got_keys: Vec<AuditKey> = got.iter().map(AuditEntry::key).collect();
        assert_eq!(got_keys, keys, "limit {limit:?}");
        let ids: HashSet<u64> = got.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 450);
    }
    // A page of exactly the remaining size has no next cursor.
    let p = plane
        .audit(
            &admin(),
            T,
            &AuditQuery {
                limit: Some(200),
                cursor: None,
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert_eq!(p.entries.len(), 200);
    let p2 = plane
        .audit(
            &admin(),
            T,
            &AuditQuery {
                limit: Some(200),
                cursor: p.next_cursor,
                ..AuditQuery::default()
            },
        )
        .unwrap();
    let p3 = plane
        .audit(
            &admin(),
            T,
            &AuditQuery {
                limit: Some(50),
                cursor: p2.next_cursor,
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert_eq!(p3.entries.len(), 50);
    assert_eq!(p3.next_cursor, None);

    let e = plane
        .audit(
            &admin(),
            T,
            &AuditQuery {
                limit: Some(0),
                cursor: None,
                ..AuditQuery::default()
            },
        )
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("RECSYS_INVALID_REQUEST", 400));
    let e = plane
        .audit(
            &admin(),
            T,
            &AuditQuery {
                limit: None,
                cursor: Some("not-a-cursor".into()),
                ..AuditQuery::default()
            },
        )
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("RECSYS_INVALID_CURSOR", 400));
    assert!(plane.verify_audit(&viewer(), T, None).unwrap().ok());
}

#[test]
fn audit_pagination_via_json_ops() {
    let plane = busy_plane();
    let p = who("alice", &["admin"]);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let input = match &cursor {
            Some(c) => format!(r#"{{"tenant":"{T}","limit":64,"cursor":"{c}"}}"#),
            None => format!(r#"{{"tenant":"{T}","limit":64}}"#),
        };
        let v = op(&plane, &p, "admin.audit", &input).unwrap();
        for e in get(&v, &["entries"]).as_array().unwrap() {
            seen.push(get(e, &["id"]).as_number().unwrap().as_i64().unwrap());
        }
        match v.as_object().unwrap().get("next_cursor") {
            Some(c) => cursor = Some(c.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 450);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 450);
    for bad in [
        r#"{"limit":0}"#,
        r#"{"limit":-1}"#,
        r#"{"limit":1.5}"#,
        r#"{"limit":"5x"}"#,
        r#"{"limit":"-5"}"#,
        r#"{"before_id":-1}"#,
        r#"{"before_id":"1e3"}"#,
        r#"{"before":"yesterday"}"#,
        r#"{"before":5}"#,
        r#"{"cursor":"a1.x","before_id":3}"#,
    ] {
        let mut m = parse(bad);
        if let Value::Object(o) = &mut m {
            o.push("tenant", Value::str(T));
        }
        let e = call(&plane, "admin.audit", &m, t0(), "r", &p)
            .unwrap()
            .unwrap_err();
        assert_eq!(e.code, "RECSYS_INVALID_REQUEST", "{bad}");
    }
}

/// Admin inputs are checked member by member in a fixed order (unknown members first, then
/// each field); the first problem found is the error's message, whatever else is wrong.
#[test]
fn admin_inputs_report_their_first_problem() {
    let plane = busy_plane();
    let p = who("alice", &["admin"]);
    for (op, input, message) in [
        (
            "admin.audit",
            r#"{"tenant":5,"limit":0,"bogus":1,"bogus2":2}"#,
            r#"unknown member "bogus"; expected one of tenant, limit, cursor, before, before_id"#,
        ),
        (
            "admin.audit",
            r#"{"tenant":5,"limit":0,"before":"x"}"#,
            "limit must be positive",
        ),
        (
            "admin.audit",
            r#"{"tenant":"t","limit":"5x","before":"x"}"#,
            r#"limit must be a non-negative integer, got "5x""#,
        ),
        (
            "admin.rollback",
            r#"{"tenant":"t","kind":7,"to":""}"#,
            "kind must be a string, got number",
        ),
        (
            "admin.rollback",
            r#"{"tenant":"t","kind":"docs","comment":1}"#,
            r#"kind must be "config" or "rules", got "docs""#,
        ),
        (
            "admin.rollback",
            r#"{"tenant":"t","kind":"rules","to":" ","comment":1}"#,
            r#"to must name a version (an etag), got " "; omit it for the previous version"#,
        ),
        (
            "admin.invalidate",
            r#"{"tenant":"t","targets":["rules",1],"surface":2}"#,
            "targets must be an array of strings",
        ),
        (
            "admin.verify_audit",
            r#"{"head":{"id":"x"},"tenant":3}"#,
            r#"head must be {"id": <entry id>, "hash": <entry hash>}"#,
        ),
    ] {
        let e = call(&plane, op, &parse(input), t0(), "r", &p)
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (e.code, e.status),
            ("RECSYS_INVALID_REQUEST", 400),
            "{input}"
        );
        assert_eq!(e.message, message, "{input}");
        assert!(
            e.problems.is_empty(),
            "admin input errors carry no list: {input}"
        );
    }
}

/// The reference's keyset paging (`before`, `before_id` in; `next_before`,
/// `next_before_id` out) over 450 entries sharing three timestamps: every entry exactly once
/// (the reference loses one per page boundary), query-string forms accepted, flat fields.
#[test]
fn audit_reference_keyset_paging_via_json_ops() {
    let plane = busy_plane();
    let p = who("alice", &["admin"]);
    for limit in [1, 7, 64, 200] {
        let mut seen = Vec::new();
        let mut bound: Option<(String, u64)> = None;
        let mut pages = 0;
        loop {
            let input = match &bound {
                // Strings, as an HTTP host passes query parameters through.
                Some((b, id)) => format!(
                    r#"{{"tenant":"{T}","limit":"{limit}","before":"{b}","before_id":"{id}"}}"#
                ),
                None => format!(r#"{{"tenant":"{T}","limit":{limit}}}"#),
            };
            let v = op(&plane, &p, "admin.audit", &input).unwrap();
            let entries = get(&v, &["entries"]).as_array().unwrap();
            assert!(entries.len() <= limit);
            for e in entries {
                seen.push(get(e, &["id"]).as_number().unwrap().as_i64().unwrap());
            }
            pages += 1;
            assert!(pages <= 451);
            let m = v.as_object().unwrap();
            match (m.get("next_before"), m.get("next_before_id")) {
                (Some(b), Some(id)) => {
                    let id = id.as_number().unwrap().as_i64().unwrap() as u64;
                    assert_eq!(Some(&Value::u64(id)), m.get("next_before_id"));
                    // The same key as the opaque cursor.
                    let c = m.get("next_cursor").unwrap().as_str().unwrap();
                    let key = crate::control::decode_cursor(c).unwrap();
                    assert_eq!(key.id, id);
                    assert_eq!(key.occurred_at.to_rfc3339_nanos(), b.as_str().unwrap());
                    bound = Some((b.as_str().unwrap().to_owned(), id));
                }
                (None, None) => break,
                other => panic!("next_before without next_before_id: {other:?}"),
            }
        }
        assert_eq!(seen.len(), 450, "limit {limit}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 450);
    }
    // `before` alone: everything strictly older than that instant, plus the entries at it
    // (any id); `before_id` 0 means any id, as in the reference.
    for (before, id, want) in [
        ("2026-03-01T09:59:00Z", "", 150),
        ("2026-03-01T09:59:00Z", "0", 150),
        ("2026-03-01T09:59:00.000000001Z", "", 150),
        ("2026-03-01T09:58:59Z", "", 0),
    ] {
        let input =
            format!(r#"{{"tenant":"{T}","limit":200,"before":"{before}","before_id":"{id}"}}"#);
        let v = op(&plane, &p, "admin.audit", &input).unwrap();
        let got = get(&v, &["entries"]).as_array().unwrap();
        assert_eq!(got.len(), want, "{input}");
        assert!(got
            .iter()
            .all(|e| get(e, &["occurred_at"]).as_str() == Some("2026-03-01T09:59:00Z")));
    }
    // Flat entry fields (the reference's names) plus the chain fields.
    let v = op(
        &plane,
        &p,
        "admin.audit",
        &format!(r#"{{"tenant":"{T}","limit":1}}"#),
    )
    .unwrap();
    let e = &get(&v, &["entries"]).as_array().unwrap()[0];
    let keys: Vec<&str> = e.as_object().unwrap().iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "id",
            "occurred_at",
            "tenant_id",
            "actor_sub",
            "actor_type",
            "action",
            "entity_type",
            "entity_id",
            "request_id",
            "before_state",
            "after_state",
            "extra",
            "prev_hash",
            "hash"
        ]
    );
    assert_eq!(get(e, &["actor_sub"]), &Value::str("alice"));
    assert_eq!(get(e, &["entity_type"]), &Value::str("cache_invalidation"));
}

#[test]
fn viewers_get_redacted_audit_entries() {
    let plane = ControlPlane::in_memory();
    put(&plane, &admin(), CFG_A).unwrap();
    put(&plane, &admin(), CFG_B).unwrap();
    let page = plane.audit(&viewer(), T, &AuditQuery::default()).unwrap();
    assert!(page.redacted);
    assert!(page
        .entries
        .iter()
        .all(|e| e.before_state.is_none() && e.after_state.is_none() && e.extra.is_none()));
    let full = plane.audit(&operator(), T, &AuditQuery::default()).unwrap();
    assert!(!full.redacted);
    assert!(full.entries[0].after_state.is_some() && full.entries[0].before_state.is_some());
    let v = op(
        &plane,
        &who("v", &["viewer"]),
        "admin.audit",
        &format!(r#"{{"tenant":"{T}"}}"#),
    )
    .unwrap();
    let e0 = &get(&v, &["entries"]).as_array().unwrap()[0];
    let m = e0.as_object().unwrap();
    assert!(m.get("after_state").is_none() && m.get("before_state").is_none());
    assert!(m.get("extra").is_none());
    assert_eq!(get(e0, &["action"]), &Value::str("config.update"));
    assert_eq!(get(e0, &["actor_sub"]), &Value::str("alice"));
}

#[test]
fn audit_entries_carry_every_field() {
    let plane = ControlPlane::in_memory();
    let ctx = OpContext::new(
        t0(),
        "7f1c0f36-5a8e-4c43-9d58-0c0b8e3f3a11",
        who("api-key:k1", &["operator"]).with_type("api_key"),
    );
    plane
        .put(
            &ctx,
            T,
            DocKind::Rules,
            PutRequest {
                document: RULES_B.as_bytes(),
                if_match: None,
                comment: Some("block adult content"),
            },
        )
        .unwrap();
    let e = &full_audit(plane.store().as_ref(), T)[0];
    assert_eq!(e.tenant, T);
    assert_eq!(e.occurred_at, t0());
    assert_eq!(e.action, "rules.update");
    assert_eq!(e.actor.subject, "api-key:k1");
    assert_eq!(e.actor.actor_type, "api_key");
    assert_eq!(e.entity.entity_type, "tenant_rules");
    assert_eq!(e.entity.id, Some(etag(RULES_B)));
    assert_eq!(
        e.request_id.as_deref(),
        Some("7f1c0f36-5a8e-4c43-9d58-0c0b8e3f3a11")
    );
    assert_eq!(e.before_state, None);
    let extra = e.extra.as_ref().unwrap();
    assert_eq!(get(extra, &["comment"]), &Value::str("block adult content"));
    assert_eq!(get(extra, &["from_version"]), &Value::Null);
    assert_eq!(e.prev_hash, None);
    let v = e.to_value(false);
    for k in [
        "id",
        "occurred_at",
        "tenant_id",
        "actor",
        "action",
        "entity",
        "request_id",
        "before_state",
        "after_state",
        "extra",
        "prev_hash",
        "hash",
    ] {
        assert!(v.as_object().unwrap().get(k).is_some(), "{k}");
    }
    // An empty subject is recorded as the system actor.
    plane
        .invalidate(&ctx_as(who("", &["admin"])), T, &["rules"], Some("home"))
        .unwrap();
    let e = full_audit(plane.store().as_ref(), T).pop().unwrap();
    assert_eq!(
        (e.actor.subject.as_str(), e.actor.actor_type.as_str()),
        ("system", "system")
    );
    assert_eq!(
        e.prev_hash.as_deref(),
        Some(full_audit(plane.store().as_ref(), T)[0].hash.as_str())
    );
}

// ---- tamper detection ----------------------------------------------------------------------

/// A store wrapper that injects faults and tampering into an inner [`MemoryStore`].
type ChainRewrite = Box<dyn Fn(Vec<AuditEntry>) -> Vec<AuditEntry> + Send>;

#[derive(Default)]
struct FaultyStore {
    inner: Arc<MemoryStore>,
    fail: Mutex<HashMap<&'static str, VecDeque<StoreError>>>,
    lose_cas: AtomicU32,
    before_cas: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    tamper_audit: Mutex<Option<(u64, Value)>>,
    /// An attacker with write access to the log: rewrites the whole chain as read.
    rewrite_chain: Mutex<Option<ChainRewrite>>,
    corrupt_version: Mutex<Option<String>>,
    fake_pointer: Mutex<Option<String>>,
}

impl FaultyStore {
    fn new(inner: Arc<MemoryStore>) -> FaultyStore {
        FaultyStore {
            inner,
            ..FaultyStore::default()
        }
    }
    fn fail_next(&self, method: &'static str, e: StoreError) {
        self.fail
            .lock()
            .unwrap()
            .entry(method)
            .or_default()
            .push_back(e);
    }
    fn fault(&self, method: &'static str) -> Result<(), StoreError> {
        match self
            .fail
            .lock()
            .unwrap()
            .get_mut(method)
            .and_then(VecDeque::pop_front)
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
    fn tamper(&self, mut entries: Vec<AuditEntry>) -> Vec<AuditEntry> {
        if let Some((id, v)) = self.tamper_audit.lock().unwrap().clone() {
            for e in &mut entries {
                if e.id == id {
                    e.after_state = Some(v.clone());
                }
            }
        }
        match &*self.rewrite_chain.lock().unwrap() {
            Some(f) => f(entries),
            None => entries,
        }
    }
}

impl DocumentStore for FaultyStore {
    fn current(&self, tenant: &str, kind: DocKind) -> Result<Option<Pointer>, StoreError> {
        self.fault("current")?;
        let mut p = self.inner.current(tenant, kind)?;
        if let (Some(p), Some(fake)) = (&mut p, self.fake_pointer.lock().unwrap().clone()) {
            p.etag = fake;
        }
        Ok(p)
    }
    fn get_version(
        &self,
        tenant: &str,
        kind: DocKind,
        etag: &str,
    ) -> Result<Option<StoredVersion>, StoreError> {
        self.fault("get_version")?;
        let mut v = self.inner.get_version(tenant, kind, etag)?;
        if let (Some(v), Some(doc)) = (&mut v, self.corrupt_version.lock().unwrap().clone()) {
            v.document = doc;
        }
        Ok(v)
    }
    fn put_version(
        &self,
        tenant: &str,
        kind: DocKind,
        version: &StoredVersion,
    ) -> Result<bool, StoreError> {
        self.fault("put_version")?;
        self.inner.put_version(tenant, kind, version)
    }
    fn list_versions(&self, tenant: &str, kind: DocKind) -> Result<Vec<StoredVersion>, StoreError> {
        self.fault("list_versions")?;
        self.inner.list_versions(tenant, kind)
    }
    fn compare_and_swap(
        &self,
        tenant: &str,
        swap: &PointerSwap,
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        self.fault("compare_and_swap")?;
        if let Some(hook) = self.before_cas.lock().unwrap().take() {
            hook();
        }
        if self
            .lose_cas
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Ok(None);
        }
        self.inner.compare_and_swap(tenant, swap, audit)
    }
    fn append_audit(&self, tenant: &str, audit: AuditDraft) -> Result<AuditEntry, StoreError> {
        self.fault("append_audit")?;
        self.inner.append_audit(tenant, audit)
    }
    fn list_audit(
        &self,
        tenant: &str,
        before: Option<AuditKey>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.fault("list_audit")?;
        Ok(self.tamper(self.inner.list_audit(tenant, before, limit)?))
    }
    fn audit_chain(
        &self,
        tenant: &str,
        after_id: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.fault("audit_chain")?;
        Ok(self.tamper(self.inner.audit_chain(tenant, after_id, limit)?))
    }
    fn revision(&self, tenant: &str) -> Result<u64, StoreError> {
        self.fault("revision")?;
        self.inner.revision(tenant)
    }
    fn changes_since(
        &self,
        tenant: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.fault("changes_since")?;
        self.inner.changes_since(tenant, since, limit)
    }
}

fn faulty() -> (Arc<FaultyStore>, ControlPlane) {
    let store = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let plane = ControlPlane::new(store.clone());
    (store, plane)
}

#[test]
fn tampering_with_a_stored_entry_is_detected_at_that_id() {
    let (store, plane) = faulty();
    for d in [CFG_A, CFG_B, CFG_C] {
        put(&plane, &admin(), d).unwrap();
    }
    plane.invalidate(&admin(), T, &["config"], None).unwrap();
    let entries = full_audit(store.as_ref(), T);
    verify_audit_chain(&entries).unwrap();
    let v = plane.verify_audit(&viewer(), T, None).unwrap();
    assert!(v.ok());
    assert_eq!(v.entries, 4);
    assert_eq!(v.head_hash.as_deref(), Some(entries[3].hash.as_str()));

    let target = entries[1].id;
    *store.tamper_audit.lock().unwrap() = Some((target, parse(r#"{"algo":"cooc"}"#)));
    let v = plane.verify_audit(&viewer(), T, None).unwrap();
    assert!(!v.ok());
    let t = v.tamper.unwrap();
    assert_eq!((t.at_id, t.reason), (target, TamperReason::HashMismatch));
    assert_eq!(v.entries, 1);
    let tampered = full_audit(store.as_ref(), T);
    assert_eq!(verify_audit_chain(&tampered).unwrap_err().at_id, target);
    let ans = op(
        &plane,
        &who("v", &["viewer"]),
        "admin.verify_audit",
        &format!(r#"{{"tenant":"{T}"}}"#),
    )
    .unwrap();
    assert_eq!(get(&ans, &["ok"]), &Value::Bool(false));
    assert_eq!(get(&ans, &["tampered_at"]), &Value::u64(target));
    assert_eq!(get(&ans, &["reason"]), &Value::str("hash_mismatch"));
}

#[test]
fn verify_reports_a_pointer_moved_behind_the_planes_back() {
    let (store, plane) = faulty();
    put(&plane, &admin(), CFG_A).unwrap();
    put(&plane, &admin(), CFG_B).unwrap();
    assert!(plane.verify_audit(&admin(), T, None).unwrap().ok());
    *store.fake_pointer.lock().unwrap() = Some(etag(CFG_A));
    let v = plane.verify_audit(&admin(), T, None).unwrap();
    assert!(v.tamper.is_none() && !v.ok());
    assert_eq!(v.pointer_mismatches.len(), 1);
    assert_eq!(v.pointer_mismatches[0].kind, DocKind::Config);
    assert_eq!(v.pointer_mismatches[0].audited, Some(etag(CFG_B)));
}

// ---- 4. rollback -----------------------------------------------------------------------------

#[test]
fn rollback_to_previous_and_to_a_named_version() {
    let plane = ControlPlane::in_memory();
    let ctx = operator();
    let e = plane
        .rollback_previous(&ctx, T, DocKind::Config)
        .unwrap_err();
    assert_eq!(e.code(), "RECSYS_CONFIG_NOT_FOUND");
    put(&plane, &ctx, CFG_A).unwrap();
    let e = plane
        .rollback_previous(&ctx, T, DocKind::Config)
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("RECSYS_NO_PREVIOUS_VERSION", 409));
    put(&plane, &ctx, CFG_B).unwrap();
    put(&plane, &ctx, CFG_C).unwrap();

    let out = plane.rollback_previous(&ctx, T, DocKind::Config).unwrap();
    assert!(out.changed && !out.new_version);
    assert_eq!(out.etag, etag(CFG_B));
    assert_eq!(out.from_version, Some(etag(CFG_C)));
    assert_eq!(plane.get_config(&ctx, T).unwrap().etag, etag(CFG_B));
    let last = full_audit(plane.store().as_ref(), T).pop().unwrap();
    assert_eq!(last.action, actions::CONFIG_ROLLBACK);
    assert_eq!(
        get(last.extra.as_ref().unwrap(), &["rollback"]),
        &Value::str("previous")
    );
    assert_eq!(json::to_string(last.before_state.as_ref().unwrap()), CFG_C);
    assert_eq!(json::to_string(last.after_state.as_ref().unwrap()), CFG_B);

    // "Previous" is the version current before the current one, so a second rollback undoes
    // the first.
    let out = plane.rollback_previous(&ctx, T, DocKind::Config).unwrap();
    assert_eq!(out.etag, etag(CFG_C));

    // A named version, in a quoted weak upper-case spelling.
    let named = format!("W/\"{}\"", etag(CFG_A).to_uppercase());
    let out = plane.rollback_to(&ctx, T, DocKind::Config, &named).unwrap();
    assert_eq!(out.etag, etag(CFG_A));
    assert_eq!(json::to_string(&out.document), CFG_A);
    let again = plane.rollback_to(&ctx, T, DocKind::Config, &named).unwrap();
    assert!(
        !again.changed,
        "rolling back to the current version is a no-op"
    );

    let e = plane
        .rollback_to(&ctx, T, DocKind::Config, &etag(RULES_A))
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("RECSYS_VERSION_NOT_FOUND", 404));
    let e = plane
        .rollback(
            &ctx,
            T,
            DocKind::Config,
            RollbackTarget::Previous,
            Some(&etag(CFG_B)),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), "RECSYS_VERSION_MISMATCH");

    let audit = full_audit(plane.store().as_ref(), T);
    assert_eq!(
        audit.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        [
            "config.update",
            "config.update",
            "config.update",
            "config.rollback",
            "config.rollback",
            "config.rollback"
        ]
    );
    assert!(plane.verify_audit(&ctx, T, None).unwrap().ok());
}

#[test]
fn rollback_via_json_op() {
    let plane = ControlPlane::in_memory();
    let p = who("olga", &["operator"]);
    op(
        &plane,
        &p,
        "admin.put_rules",
        &format!(r#"{{"tenant":"{T}","document":{RULES_A}}}"#),
    )
    .unwrap();
    op(
        &plane,
        &p,
        "admin.put_rules",
        &format!(r#"{{"tenant":"{T}","document":{RULES_B}}}"#),
    )
    .unwrap();
    let v = op(
        &plane,
        &p,
        "admin.rollback",
        &format!(r#"{{"tenant":"{T}","kind":"rules","comment":"incident 42"}}"#),
    )
    .unwrap();
    assert_eq!(get(&v, &["rules_version"]), &Value::str(etag(RULES_A)));
    assert_eq!(get(&v, &["from_version"]), &Value::str(etag(RULES_B)));
    assert_eq!(get(&v, &["changed"]), &Value::Bool(true));
    let v = op(
        &plane,
        &p,
        "admin.rollback",
        &format!(
            r#"{{"tenant":"{T}","kind":"rules","to":"\"{}\""}}"#,
            etag(RULES_B)
        ),
    )
    .unwrap();
    assert_eq!(get(&v, &["rules_version"]), &Value::str(etag(RULES_B)));
    let e = op(
        &plane,
        &p,
        "admin.rollback",
        &format!(r#"{{"tenant":"{T}","kind":"other"}}"#),
    )
    .unwrap_err();
    assert_eq!(e.code, "RECSYS_INVALID_REQUEST");
}

#[test]
fn list_versions_with_etags_and_authors() {
    let plane = ControlPlane::in_memory();
    let alice = admin();
    let olga = OpContext::new(t0().add_secs(5), "r2", who("olga", &["operator"]));
    plane
        .put(
            &alice,
            T,
            DocKind::Config,
            PutRequest {
                document: CFG_A.as_bytes(),
                if_match: None,
                comment: Some("initial"),
            },
        )
        .unwrap();
    put(&plane, &olga, CFG_B).unwrap();
    // Re-putting A keeps its first author.
    put(&plane, &olga, CFG_A).unwrap();
    let list = plane.list_versions(&viewer(), T, DocKind::Config).unwrap();
    assert_eq!(list.current, Some(etag(CFG_A)));
    assert_eq!(list.previous, Some(etag(CFG_B)));
    let rows: Vec<(String, &str, bool, Option<&str>)> = list
        .versions
        .iter()
        .map(|v| {
            (
                v.etag.clone(),
                v.created_by.as_str(),
                v.current,
                v.comment.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (etag(CFG_A), "alice", true, Some("initial")),
            (etag(CFG_B), "olga", false, None),
        ]
    );
    assert_eq!(list.versions[1].created_at, t0().add_secs(5));
    let v = op(
        &plane,
        &who("v", &["viewer"]),
        "admin.list_versions",
        &format!(r#"{{"tenant":"{T}","kind":"config"}}"#),
    )
    .unwrap();
    assert_eq!(get(&v, &["current_version"]), &Value::str(etag(CFG_A)));
    let versions = get(&v, &["versions"]).as_array().unwrap();
    assert_eq!(get(&versions[0], &["created_by"]), &Value::str("alice"));
    assert_eq!(get(&versions[0], &["comment"]), &Value::str("initial"));
    assert_eq!(get(&versions[1], &["version"]), &Value::str(etag(CFG_B)));
    assert_eq!(
        get(&versions[1], &["created_at"]),
        &Value::str("2026-03-01T10:00:05Z")
    );
}

// ---- 5. access control -----------------------------------------------------------------------

/// One input per op, valid for tenant `T`.
fn op_inputs() -> Vec<(&'static str, String, bool)> {
    vec![
        ("admin.get_config", format!(r#"{{"tenant":"{T}"}}"#), false),
        ("admin.get_rules", format!(r#"{{"tenant":"{T}"}}"#), false),
        (
            "admin.list_versions",
            format!(r#"{{"tenant":"{T}","kind":"config"}}"#),
            false,
        ),
        ("admin.audit", format!(r#"{{"tenant":"{T}"}}"#), false),
        (
            "admin.verify_audit",
            format!(r#"{{"tenant":"{T}"}}"#),
            false,
        ),
        (
            "admin.put_config",
            format!(r#"{{"tenant":"{T}","document":{CFG_C}}}"#),
            true,
        ),
        (
            "admin.put_rules",
            format!(r#"{{"tenant":"{T}","document":{RULES_B}}}"#),
            true,
        ),
        (
            "admin.rollback",
            format!(r#"{{"tenant":"{T}","kind":"config"}}"#),
            true,
        ),
        (
            "admin.invalidate",
            format!(r#"{{"tenant":"{T}","targets":["config"]}}"#),
            true,
        ),
    ]
}

fn seeded() -> ControlPlane {
    let plane = ControlPlane::in_memory();
    put(&plane, &admin(), CFG_A).unwrap();
    put(&plane, &admin(), CFG_B).unwrap();
    plane
        .put_rules(&admin(), T, RULES_A.as_bytes(), None)
        .unwrap();
    plane
}

#[test]
fn every_op_is_covered_by_the_access_tests() {
    let covered: HashSet<&str> = op_inputs().iter().map(|(o, _, _)| *o).collect();
    assert_eq!(covered, OPS.iter().copied().collect::<HashSet<_>>());
    let plane = ControlPlane::in_memory();
    assert!(call(
        &plane,
        "recommend",
        &parse("{}"),
        t0(),
        "r",
        &who("a", &["admin"])
    )
    .is_none());
}

#[test]
fn rbac_matrix() {
    let roles: [(&[&str], bool, bool); 6] = [
        (&["viewer"], true, false),
        (&["operator"], true, true),
        (&["admin"], true, true),
        (&["ADMIN"], true, true),
        (&[], false, false),
        (&["guest", "reader"], false, false),
    ];
    for (r, can_read, can_write) in roles {
        for (name, input, is_write) in op_inputs() {
            let plane = seeded();
            let before = snapshot(plane.store().as_ref());
            let res = op(&plane, &who("u", r), name, &input);
            let allowed = if is_write { can_write } else { can_read };
            match res {
                Ok(_) => assert!(allowed, "{r:?} {name} should be refused"),
                Err(e) => {
                    assert!(!allowed, "{r:?} {name}: {}", e.to_json());
                    assert_eq!(
                        (e.code, e.status),
                        ("RECSYS_FORBIDDEN", 403),
                        "{r:?} {name}"
                    );
                    assert_eq!(e.message, "insufficient scope");
                    assert_eq!(snapshot(plane.store().as_ref()), before);
                }
            }
        }
    }
}

#[test]
fn configurable_role_names() {
    let plane = seeded().with_policy(AccessPolicy::new(&["reader"], &["sre"], &["root"]));
    let input = format!(r#"{{"tenant":"{T}","targets":["rules"]}}"#);
    assert!(op(&plane, &who("u", &["SRE"]), "admin.invalidate", &input).is_ok());
    assert!(op(&plane, &who("u", &["root"]), "admin.invalidate", &input).is_ok());
    let e = op(&plane, &who("u", &["reader"]), "admin.invalidate", &input).unwrap_err();
    assert_eq!(e.code, "RECSYS_FORBIDDEN");
    let e = op(
        &plane,
        &who("u", &["admin"]),
        "admin.get_config",
        &format!(r#"{{"tenant":"{T}"}}"#),
    )
    .unwrap_err();
    assert_eq!(e.code, "RECSYS_FORBIDDEN", "default names no longer apply");
    assert!(op(
        &plane,
        &who("u", &["Reader"]),
        "admin.get_config",
        &format!(r#"{{"tenant":"{T}"}}"#)
    )
    .is_ok());
}

#[test]
fn cross_tenant_access_is_denied_on_every_op() {
    for (name, input, _) in op_inputs() {
        let plane = seeded();
        let before = snapshot(plane.store().as_ref());
        for roles in [
            &["admin"][..],
            &["operator"],
            &["viewer"],
            &["admin", "operator", "viewer"],
        ] {
            let intruder = Principal::new("mallory", "globex", roles.iter().copied());
            let e = op(&plane, &intruder, name, &input).unwrap_err();
            assert_eq!((e.code, e.status), ("RECSYS_FORBIDDEN", 403), "{name}");
            assert_eq!(e.message, "tenant scope mismatch");
            // Case or whitespace variants of the tenant are other tenants too.
            for near in ["ACME", "acme "] {
                let p = Principal::new("mallory", near, roles.iter().copied());
                let e = op(&plane, &p, name, &input).unwrap_err();
                assert_eq!(e.code, "RECSYS_FORBIDDEN", "{name} as {near:?}");
            }
        }
        assert_eq!(snapshot(plane.store().as_ref()), before, "{name}");
        // The intruder's own tenant is untouched as well.
        assert!(full_audit(plane.store().as_ref(), "globex").is_empty());
    }
    // Typed API, too.
    let plane = seeded();
    let intruder = ctx_as(Principal::new("mallory", "globex", ["admin"]));
    let forbidden =
        |r: Result<(), ControlError>| assert_eq!(r.unwrap_err().code(), "RECSYS_FORBIDDEN");
    forbidden(plane.get_config(&intruder, T).map(|_| ()));
    forbidden(
        plane
            .put_config(&intruder, T, CFG_C.as_bytes(), None)
            .map(|_| ()),
    );
    forbidden(
        plane
            .rollback_previous(&intruder, T, DocKind::Config)
            .map(|_| ()),
    );
    forbidden(
        plane
            .list_versions(&intruder, T, DocKind::Rules)
            .map(|_| ()),
    );
    forbidden(
        plane
            .audit(&intruder, T, &AuditQuery::default())
            .map(|_| ()),
    );
    forbidden(plane.verify_audit(&intruder, T, None).map(|_| ()));
    forbidden(
        plane
            .invalidate(&intruder, T, &["config"], None)
            .map(|_| ()),
    );
}

#[test]
fn tenants_are_isolated_in_the_store() {
    let plane = ControlPlane::in_memory();
    let a = admin();
    let g = ctx_as(Principal::new("gina", "globex", ["admin"]));
    put(&plane, &a, CFG_A).unwrap();
    plane
        .put_config(&g, "globex", CFG_A.as_bytes(), None)
        .unwrap();
    plane
        .put_config(&g, "globex", CFG_B.as_bytes(), None)
        .unwrap();
    assert_eq!(
        plane
            .list_versions(&a, T, DocKind::Config)
            .unwrap()
            .versions
            .len(),
        1
    );
    assert_eq!(
        plane
            .audit(&a, T, &AuditQuery::default())
            .unwrap()
            .entries
            .len(),
        1
    );
    assert_eq!(plane.get_config(&a, T).unwrap().etag, etag(CFG_A));
    let e = plane
        .rollback_to(&a, T, DocKind::Config, &etag(CFG_B))
        .unwrap_err();
    assert_eq!(
        e.code(),
        "RECSYS_VERSION_NOT_FOUND",
        "another tenant's version"
    );
    assert!(plane.verify_audit(&a, T, None).unwrap().ok());
    assert!(plane.verify_audit(&g, "globex", None).unwrap().ok());
}

#[test]
fn invalid_tenant_ids_are_rejected() {
    let plane = ControlPlane::in_memory();
    for bad in ["", "..", "a/b", " acme"] {
        let p = Principal::new("u", bad, ["admin"]);
        let e = plane.get_config(&ctx_as(p), bad).unwrap_err();
        assert_eq!(
            (e.code(), e.status()),
            ("RECSYS_INVALID_TENANT", 400),
            "{bad:?}"
        );
    }
    let e = op(&plane, &who("u", &["admin"]), "admin.get_config", "{}").unwrap_err();
    assert_eq!(e.code, "RECSYS_INVALID_TENANT");
}

// ---- 6. cache invalidation --------------------------------------------------------------------

#[derive(Default)]
struct CountingInvalidator {
    calls: Mutex<Vec<Invalidation>>,
}

impl Invalidator for CountingInvalidator {
    fn invalidate(&self, inv: &Invalidation) -> InvalidationCounts {
        self.calls.lock().unwrap().push(inv.clone());
        // Pretend only config and artifacts caches are wired.
        inv.targets
            .iter()
            .filter(|t| **t != CacheTarget::Rules)
            .map(|t| (*t, if *t == CacheTarget::Config { 2 } else { 7 }))
            .collect()
    }
}

#[test]
fn invalidation_validates_audits_and_reports_counts() {
    let inv = Arc::new(CountingInvalidator::default());
    let plane = ControlPlane::in_memory().with_invalidator(inv.clone());
    let out = plane
        .invalidate(
            &operator(),
            T,
            &[" Config", "POPULARITY", "rules", "config"],
            Some(" home "),
        )
        .unwrap();
    assert_eq!(
        out.invalidation,
        Invalidation {
            tenant: T.into(),
            targets: vec![
                CacheTarget::Config,
                CacheTarget::Artifacts,
                CacheTarget::Rules
            ],
            surface: Some("home".into()),
        }
    );
    assert_eq!(
        out.invalidated,
        [(CacheTarget::Config, 2), (CacheTarget::Artifacts, 7)]
            .into_iter()
            .collect()
    );
    let e = full_audit(plane.store().as_ref(), T).pop().unwrap();
    assert_eq!(e.id, out.audit_id);
    assert_eq!(e.action, actions::CACHE_INVALIDATE);
    assert_eq!(e.entity.entity_type, "cache_invalidation");
    assert_eq!(
        json::to_string(e.after_state.as_ref().unwrap()),
        r#"{"status":"applied","targets":["config","artifacts","rules"],"surface":"home","invalidated":{"config":2,"artifacts":7}}"#
    );

    let before = snapshot(plane.store().as_ref());
    let calls = inv.calls.lock().unwrap().len();
    let e = plane
        .invalidate(&operator(), T, &["", "  "], None)
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("RECSYS_INVALID_TARGETS", 400));
    assert_eq!(e.to_string(), "targets are required");
    let e = plane
        .invalidate(&operator(), T, &["config", "embeddings"], None)
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("RECSYS_INVALID_TARGETS", 422));
    assert_eq!(
        e.to_string(),
        "invalid cache invalidation target: embeddings"
    );
    let e = plane
        .invalidate(&operator(), T, &["config"], Some("../x"))
        .unwrap_err();
    assert_eq!(e.code(), "RECSYS_INVALID_REQUEST");
    assert_eq!(snapshot(plane.store().as_ref()), before);
    assert_eq!(inv.calls.lock().unwrap().len(), calls, "nothing applied");

    // Via the op layer.
    let v = op(
        &plane,
        &who("o", &["operator"]),
        "admin.invalidate",
        &format!(r#"{{"tenant":"{T}","targets":["popularity"]}}"#),
    )
    .unwrap();
    let head = AuditHead::of(full_audit(plane.store().as_ref(), T).last().unwrap());
    assert_eq!(
        json::to_string(&v),
        format!(
            r#"{{"tenant_id":"acme","targets":["artifacts"],"status":"applied","invalidated":{{"artifacts":7}},"audit_head":{}}}"#,
            json::to_string(&head.to_value())
        )
    );
    let e = op(
        &plane,
        &who("o", &["operator"]),
        "admin.invalidate",
        &format!(r#"{{"tenant":"{T}","targets":"config"}}"#),
    )
    .unwrap_err();
    assert_eq!(e.code, "RECSYS_INVALID_REQUEST");
}

#[test]
fn document_moves_invalidate_their_cache() {
    let inv = Arc::new(CountingInvalidator::default());
    let plane = ControlPlane::in_memory().with_invalidator(inv.clone());
    let out = plane
        .put_config(&admin(), T, CFG_A.as_bytes(), None)
        .unwrap();
    assert_eq!(out.invalidated.get(&CacheTarget::Config), Some(&2));
    plane
        .put_config(&admin(), T, CFG_A.as_bytes(), None)
        .unwrap();
    plane
        .put_rules(&admin(), T, RULES_A.as_bytes(), None)
        .unwrap();
    let calls = inv.calls.lock().unwrap().clone();
    assert_eq!(
        calls.iter().map(|c| c.targets.clone()).collect::<Vec<_>>(),
        vec![vec![CacheTarget::Config], vec![CacheTarget::Rules]],
        "a no-op put invalidates nothing"
    );
    // Without an invalidator the host gets the invalidation to apply.
    let plane = ControlPlane::in_memory();
    let out = plane
        .put_rules(&admin(), T, RULES_A.as_bytes(), None)
        .unwrap();
    assert_eq!(out.invalidation.unwrap().targets, vec![CacheTarget::Rules]);
    assert!(out.invalidated.is_empty());
}

// ---- JSON op layer -----------------------------------------------------------------------------

#[test]
fn json_ops_answer_like_the_reference() {
    let plane = ControlPlane::in_memory();
    let p = who("alice", &["admin"]);
    // A raw-text document keeps its literals exactly.
    let raw = r#"{"weights":{"pop":2.50,"cooc":1e2}}"#;
    let input = format!(
        r#"{{"tenant":"{T}","document":{},"comment":"tune"}}"#,
        json::to_string(&Value::str(raw))
    );
    let v = op(&plane, &p, "admin.put_config", &input).unwrap();
    let head = AuditHead::of(&full_audit(plane.store().as_ref(), T)[0]);
    assert_eq!(
        json::to_string(&v),
        format!(
            r#"{{"tenant_id":"acme","config_version":"{}","config":{raw},"changed":true,"audit_head":{{"id":1,"hash":"{}"}}}}"#,
            etag(raw),
            head.hash
        )
    );
    let v = op(
        &plane,
        &p,
        "admin.get_config",
        &format!(r#"{{"tenant":"{T}"}}"#),
    )
    .unwrap();
    assert_eq!(
        json::to_string(&v),
        format!(
            r#"{{"tenant_id":"acme","config_version":"{}","config":{raw}}}"#,
            etag(raw)
        )
    );
    // A JSON document value is taken as written.
    let v = op(
        &plane,
        &p,
        "admin.put_config",
        &format!(
            r#"{{"tenant":"{T}","document":{raw},"if_match":"W/\"{}\""}}"#,
            etag(raw)
        ),
    )
    .unwrap();
    assert_eq!(get(&v, &["changed"]), &Value::Bool(false));
    // `null` is a valid (empty) config.
    let v = op(
        &plane,
        &p,
        "admin.put_config",
        &format!(r#"{{"tenant":"{T}","document":null}}"#),
    )
    .unwrap();
    assert_eq!(get(&v, &["config"]), &Value::Null);
    let e = op(
        &plane,
        &p,
        "admin.put_config",
        &format!(r#"{{"tenant":"{T}"}}"#),
    )
    .unwrap_err();
    assert_eq!((e.code, e.status), ("RECSYS_INVALID_CONFIG", 400));
    let e = op(
        &plane,
        &p,
        "admin.put_rules",
        &format!(r#"{{"tenant":"{T}","document":"[{{\"action\":\"nope\"}}]"}}"#),
    )
    .unwrap_err();
    assert_eq!((e.code, e.status), ("RECSYS_INVALID_RULES", 422));
    assert!(!e.problems.is_empty());
    let e = op(
        &plane,
        &p,
        "admin.get_config",
        &format!(r#"{{"tenant":"{T}","x":1}}"#),
    )
    .unwrap_err();
    assert_eq!(e.code, "RECSYS_INVALID_REQUEST");
    let e = op(&plane, &p, "admin.get_config", "[]").unwrap_err();
    assert_eq!(e.code, "RECSYS_INVALID_REQUEST");
    let e = op(
        &plane,
        &p,
        "admin.put_config",
        &format!(
            r#"{{"tenant":"{T}","document":{CFG_B},"if_match":"{}"}}"#,
            etag(CFG_A)
        ),
    )
    .unwrap_err();
    assert_eq!(e.code, "RECSYS_VERSION_MISMATCH");
    let body = e.to_value();
    assert_eq!(get(&body, &["current_version"]), &Value::str(etag("null")));
    let v = op(
        &plane,
        &p,
        "admin.verify_audit",
        &format!(r#"{{"tenant":"{T}"}}"#),
    )
    .unwrap();
    assert_eq!(get(&v, &["ok"]), &Value::Bool(true));
    assert_eq!(get(&v, &["entries"]), &Value::u64(2));

    // Principal from a call context.
    let ctx =
        parse(r#"{"subject":"bob","tenant":"acme","roles":"viewer","now":"2026-03-01T10:00:00Z"}"#);
    let bob = Principal::from_value(&ctx).unwrap();
    assert!(op(
        &plane,
        &bob,
        "admin.get_config",
        &format!(r#"{{"tenant":"{T}"}}"#)
    )
    .is_ok());
    assert_eq!(
        op(
            &plane,
            &bob,
            "admin.put_config",
            &format!(r#"{{"tenant":"{T}","document":{{}}}}"#)
        )
        .unwrap_err()
        .code,
        "RECSYS_FORBIDDEN"
    );
}

// ---- store failure paths -------------------------------------------------------------------------

#[test]
fn store_failures_leave_pointer_and_audit_unchanged() {
    let methods = ["current", "get_version", "put_version", "compare_and_swap"];
    for method in methods {
        let (store, plane) = faulty();
        put(&plane, &admin(), CFG_A).unwrap();
        let before = snapshot(store.as_ref());
        store.fail_next(method, StoreError::unavailable("db down"));
        let e = plane
            .put_config(&admin(), T, CFG_B.as_bytes(), None)
            .unwrap_err();
        assert_eq!(
            (e.code(), e.status()),
            ("RECSYS_STORE_UNAVAILABLE", 503),
            "{method}"
        );
        let after = snapshot(store.as_ref());
        assert_eq!(after.0, before.0, "{method}: pointer unchanged");
        assert_eq!(after.4, before.4, "{method}: audit unchanged");
        // The only possible leftover is a stored version that never became current.
        let extra: Vec<_> = after.2.iter().filter(|v| !before.2.contains(v)).collect();
        if method == "compare_and_swap" {
            assert_eq!(extra.len(), 1);
            assert_eq!(extra[0].etag, etag(CFG_B));
        } else {
            assert!(extra.is_empty(), "{method}");
        }
        assert!(
            plane.verify_audit(&admin(), T, None).unwrap().ok(),
            "{method}"
        );
        // The same put succeeds once the store is back, re-using the leftover version.
        let out = plane
            .put_config(&admin(), T, CFG_B.as_bytes(), None)
            .unwrap();
        assert!(out.changed);
        assert_eq!(full_audit(store.as_ref(), T).len(), 2);
    }
    // Other kinds map to their own codes.
    for (kind, code, status) in [
        (StoreErrorKind::Corrupt, "RECSYS_STORE_CORRUPT", 500),
        (StoreErrorKind::Other, "RECSYS_STORE_ERROR", 500),
    ] {
        let (store, plane) = faulty();
        store.fail_next("current", StoreError::new(kind, "x"));
        let e = plane.get_config(&viewer(), T).unwrap_err();
        assert_eq!((e.code(), e.status()), (code, status));
    }
    for method in ["list_audit", "audit_chain", "list_versions"] {
        let (store, plane) = faulty();
        store.fail_next(method, StoreError::unavailable("down"));
        let r = match method {
            "list_audit" => plane
                .audit(&viewer(), T, &AuditQuery::default())
                .map(|_| ()),
            "audit_chain" => plane.verify_audit(&viewer(), T, None).map(|_| ()),
            _ => plane
                .list_versions(&viewer(), T, DocKind::Config)
                .map(|_| ()),
        };
        assert_eq!(
            r.unwrap_err().code(),
            "RECSYS_STORE_UNAVAILABLE",
            "{method}"
        );
    }
}

#[test]
fn invalidation_with_a_failing_audit_append_is_reported() {
    let inv = Arc::new(CountingInvalidator::default());
    let (store, plane) = faulty();
    let plane = plane.with_invalidator(inv.clone());
    store.fail_next("append_audit", StoreError::unavailable("down"));
    let e = plane
        .invalidate(&operator(), T, &["config"], None)
        .unwrap_err();
    assert_eq!(e.code(), "RECSYS_STORE_UNAVAILABLE");
    assert!(full_audit(store.as_ref(), T).is_empty());
    // Documented: the (idempotent) invalidation was applied before the append failed.
    assert_eq!(inv.calls.lock().unwrap().len(), 1);
}

#[test]
fn lost_races_retry_unconditional_and_refuse_conditional_writes() {
    // Unconditional: a few lost races (or store conflicts) are retried.
    let (store, plane) = faulty();
    store.lose_cas.store(3, Ordering::SeqCst);
    store.fail_next(
        "compare_and_swap",
        StoreError::conflict("serialization failure"),
    );
    let out = plane
        .put_config(&admin(), T, CFG_A.as_bytes(), None)
        .unwrap();
    assert!(out.changed);
    assert_eq!(
        full_audit(store.as_ref(), T).len(),
        1,
        "one entry for one move"
    );

    // ... but not forever.
    store.lose_cas.store(100, Ordering::SeqCst);
    let e = plane
        .put_config(&admin(), T, CFG_B.as_bytes(), None)
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("RECSYS_WRITE_CONFLICT", 409));
    assert_eq!(e.current_version(), Some(Some(etag(CFG_A).as_str())));
    assert_eq!(full_audit(store.as_ref(), T).len(), 1);
    store.lose_cas.store(0, Ordering::SeqCst);

    // Conditional: another writer gets in between the read and the swap; the caller is told
    // the version that won.
    let inner = store.inner.clone();
    *store.before_cas.lock().unwrap() = Some(Box::new(move || {
        let other = ControlPlane::new(inner);
        other
            .put_config(&ctx_as(who("bob", &["admin"])), T, CFG_C.as_bytes(), None)
            .unwrap();
    }));
    let e = plane
        .put_config(&admin(), T, CFG_B.as_bytes(), Some(&etag(CFG_A)))
        .unwrap_err();
    assert_eq!(
        e,
        ControlError::VersionMismatch {
            kind: DocKind::Config,
            current: Some(etag(CFG_C))
        }
    );
    let audit = full_audit(store.as_ref(), T);
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1].actor.subject, "bob");
    assert_eq!(plane.get_config(&admin(), T).unwrap().etag, etag(CFG_C));
    assert!(plane.verify_audit(&admin(), T, None).unwrap().ok());
}

#[test]
fn corrupt_versions_are_detected_on_read() {
    let (store, plane) = faulty();
    put(&plane, &admin(), CFG_A).unwrap();
    put(&plane, &admin(), CFG_B).unwrap();
    *store.corrupt_version.lock().unwrap() = Some(r#"{"algo":"cooc"}"#.into());
    let e = plane.get_config(&viewer(), T).unwrap_err();
    assert_eq!((e.code(), e.status()), ("RECSYS_STORE_CORRUPT", 500));
    let e = plane
        .rollback_previous(&admin(), T, DocKind::Config)
        .unwrap_err();
    assert_eq!(e.code(), "RECSYS_STORE_CORRUPT");
    let before = full_audit(store.as_ref(), T);
    assert!(plane
        .put_config(&admin(), T, CFG_C.as_bytes(), None)
        .is_err());
    assert_eq!(full_audit(store.as_ref(), T), before);
}

// ---- concurrency ------------------------------------------------------------------------------

#[test]
fn concurrent_puts_keep_pointer_and_audit_consistent() {
    let plane = ControlPlane::in_memory();
    let docs: Vec<String> = (0..5)
        .map(|i| format!(r#"{{"weights":{{"pop":{i},"cooc":1}}}}"#))
        .collect();
    let moved = AtomicU32::new(0);
    std::thread::scope(|s| {
        for th in 0..8u32 {
            let plane = plane.clone();
            let docs = &docs;
            let moved = &moved;
            s.spawn(move || {
                let ctx = ctx_as(who(&format!("w{th}"), &["operator"]));
                let mut rng = crate::tests::rng::Rng::new(u64::from(th) + 1);
                for i in 0..60u32 {
                    let doc = rng.pick(docs);
                    let if_match = if i % 3 == 0 {
                        plane.get_config(&ctx, T).ok().map(|d| d.etag)
                    } else {
                        None
                    };
                    match plane.put_config(&ctx, T, doc.as_bytes(), if_match.as_deref()) {
                        Ok(o) if o.changed => {
                            moved.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => {}
                        Err(
                            ControlError::VersionMismatch { .. }
                            | ControlError::WriteConflict { .. },
                        ) => {}
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            });
        }
    });
    let audit = full_audit(plane.store().as_ref(), T);
    verify_audit_chain(&audit).unwrap();
    let moves: Vec<&AuditEntry> = audit.iter().filter(|e| e.is_pointer_move()).collect();
    assert_eq!(
        moves.len(),
        moved.load(Ordering::SeqCst) as usize,
        "an entry per move"
    );
    assert!(moves.len() > 8);
    // Each move starts where the previous one ended.
    let mut at: Option<String> = None;
    for m in &moves {
        let extra = m.extra.as_ref().unwrap();
        let from = get(extra, &["from_version"]).as_str().map(str::to_owned);
        assert_eq!(from, at, "entry {}", m.id);
        let after = json::etag_of_value(m.after_state.as_ref().unwrap()).unwrap();
        assert_eq!(Some(&after), m.entity.id.as_ref());
        if let Some(b) = &m.before_state {
            assert_eq!(Some(json::etag_of_value(b).unwrap()), at);
        }
        at = Some(after);
    }
    let pointer = plane.store().current(T, DocKind::Config).unwrap().unwrap();
    assert_eq!(
        Some(pointer.etag),
        at,
        "the pointer is where the last entry put it"
    );
    assert!(plane.verify_audit(&admin(), T, None).unwrap().ok());
}

// ---- model-based ---------------------------------------------------------------------------------

const MODEL_DOCS: &[(&str, bool)] = &[
    (r#"{"weights":{"pop":0.3}}"#, true),
    (r#"{"weights":{"pop":0.30}}"#, true),
    (r#"{"algo":"cooc"}"#, true),
    (r#"{ "algo" : "cooc" }"#, true),
    (r#"{"flags":{"a":true},"limits":{"max_k":10}}"#, true),
    (r#"{"weights":{"pop":-1}}"#, false),
    (r#"{"algo":5}"#, false),
    ("{", false),
];

#[derive(Clone, Debug)]
enum ModelOp {
    /// doc index; if_match: 0 none, 1 the current version, 2 a wrong version.
    Put(usize, u8),
    RollbackPrevious,
    RollbackTo(usize),
    Invalidate(bool),
}

fn model_op() -> impl Strategy<Value = ModelOp> {
    prop_oneof![
        6 => (0..MODEL_DOCS.len(), 0u8..3).prop_map(|(d, m)| ModelOp::Put(d, m)),
        2 => Just(ModelOp::RollbackPrevious),
        2 => (0..MODEL_DOCS.len()).prop_map(ModelOp::RollbackTo),
        1 => any::<bool>().prop_map(ModelOp::Invalidate),
    ]
}

#[derive(Default, Debug)]
struct Model {
    pointer: Option<String>,
    previous: Option<String>,
    versions: Vec<String>,
    audit_len: usize,
}

impl Model {
    fn move_to(&mut self, etag: String) {
        if !self.versions.contains(&etag) {
            self.versions.push(etag.clone());
        }
        self.previous = self.pointer.replace(etag);
        self.audit_len += 1;
    }
}

fn model_etag(i: usize) -> Option<String> {
    json::etag(MODEL_DOCS[i].0.as_bytes()).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn control_plane_matches_a_simple_model(ops in prop::collection::vec(model_op(), 1..40)) {
        let plane = ControlPlane::in_memory();
        let ctx = operator();
        let mut m = Model::default();
        for op in &ops {
            let res: Result<(), String> = match op {
                ModelOp::Put(d, cond) => {
                    let (doc, valid) = MODEL_DOCS[*d];
                    let wrong = "0".repeat(64);
                    let if_match = match cond {
                        0 => None,
                        1 => Some(m.pointer.clone().unwrap_or_else(|| "*".into())),
                        _ => Some(wrong),
                    };
                    let r = plane.put_config(&ctx, T, doc.as_bytes(), if_match.as_deref());
                    let cond_ok = match cond {
                        0 => true,
                        1 => m.pointer.is_some(),
                        _ => false,
                    };
                    if !valid {
                        prop_assert_eq!(r.unwrap_err().code(), "RECSYS_INVALID_CONFIG");
                    } else if !cond_ok {
                        let e = r.unwrap_err();
                        prop_assert_eq!(e.current_version(), Some(m.pointer.as_deref()));
                    } else {
                        let e = model_etag(*d).unwrap();
                        let out = r.unwrap();
                        prop_assert_eq!(out.changed, m.pointer.as_ref() != Some(&e));
                        if out.changed {
                            m.move_to(e);
                        }
                    }
                    Ok(())
                }
                ModelOp::RollbackPrevious => {
                    let r = plane.rollback_previous(&ctx, T, DocKind::Config);
                    match (&m.pointer, &m.previous) {
                        (None, _) => prop_assert_eq!(r.unwrap_err().code(), "RECSYS_CONFIG_NOT_FOUND"),
                        (Some(_), None) => prop_assert_eq!(r.unwrap_err().code(), "RECSYS_NO_PREVIOUS_VERSION"),
                        (Some(_), Some(p)) => {
                            let p = p.clone();
                            let out = r.unwrap();
                            prop_assert!(out.changed);
                            prop_assert_eq!(&out.etag, &p);
                            m.move_to(p);
                        }
                    }
                    Ok(())
                }
                ModelOp::RollbackTo(d) => {
                    let target = model_etag(*d).unwrap_or_else(|| "f".repeat(64));
                    let r = plane.rollback_to(&ctx, T, DocKind::Config, &format!("\"{target}\""));
                    if !m.versions.contains(&target) {
                        prop_assert_eq!(r.unwrap_err().code(), "RECSYS_VERSION_NOT_FOUND");
                    } else {
                        let out = r.unwrap();
                        prop_assert_eq!(out.changed, m.pointer.as_ref() != Some(&target));
                        if out.changed {
                            m.move_to(target);
                        }
                    }
                    Ok(())
                }
                ModelOp::Invalidate(valid) => {
                    let targets: &[&str] = if *valid { &["config", "popularity"] } else { &["bogus"] };
                    let r = plane.invalidate(&ctx, T, targets, None);
                    prop_assert_eq!(r.is_ok(), *valid);
                    if *valid {
                        m.audit_len += 1;
                    }
                    Ok(())
                }
            };
            res.unwrap();
            let store = plane.store();
            let p = store.current(T, DocKind::Config).unwrap();
            prop_assert_eq!(p.as_ref().map(|p| p.etag.clone()), m.pointer.clone());
            prop_assert_eq!(p.and_then(|p| p.previous), m.previous.clone());
            let versions: Vec<String> = store
                .list_versions(T, DocKind::Config)
                .unwrap()
                .into_iter()
                .map(|v| v.etag)
                .collect();
            prop_assert_eq!(&versions, &m.versions);
            prop_assert_eq!(full_audit(store.as_ref(), T).len(), m.audit_len);
        }
        prop_assert!(plane.verify_audit(&ctx, T, None).unwrap().ok());
    }
}

#[test]
fn rollback_to_an_empty_version_is_refused_not_a_rollback() {
    let plane = ControlPlane::in_memory();
    put(&plane, &admin(), CFG_A).unwrap();
    put(&plane, &admin(), CFG_B).unwrap();
    let b = plane.store().current(T, DocKind::Config).unwrap().unwrap();
    let p = who("alice", &["admin"]);
    for to in [r#""""#, r#""  ""#, r#""\"\"""#] {
        let input = format!(r#"{{"tenant":"{T}","kind":"config","to":{to}}}"#);
        let e = op(&plane, &p, "admin.rollback", &input).unwrap_err();
        assert_eq!(
            (e.code, e.status),
            ("RECSYS_INVALID_REQUEST", 400),
            "{input}"
        );
        assert!(
            e.message.contains("to must name a version"),
            "{}",
            e.message
        );
    }
    // Nothing moved.
    let cur = plane.store().current(T, DocKind::Config).unwrap().unwrap();
    assert_eq!(cur.etag, b.etag);
    // Absent or null `to` is the previous version.
    let v = op(
        &plane,
        &p,
        "admin.rollback",
        &format!(r#"{{"tenant":"{T}","kind":"config","to":null}}"#),
    )
    .unwrap();
    assert_eq!(get(&v, &["changed"]), &Value::Bool(true));
}

// ---- keyed audit chain and chain heads ------------------------------------------------

fn keyring(active: &str, ids: &[&str]) -> Arc<AuditKeyring> {
    let keys = ids
        .iter()
        .map(|id| (id.to_string(), format!("host-secret-{id}-0123456789")));
    Arc::new(AuditKeyring::new(active, keys).unwrap())
}

/// The chain as an attacker with write access to the log would rebuild it: `edit` applied,
/// then every entry re-sealed (plain SHA-256 when `signer` is `None`) and re-linked.
fn resealed(
    entries: Vec<AuditEntry>,
    edit: impl Fn(&mut AuditEntry),
    signer: Option<AuditSigner>,
) -> Vec<AuditEntry> {
    let mut prev: Option<String> = None;
    let mut out = Vec::new();
    for mut e in entries {
        edit(&mut e);
        let id = e.id;
        let sealed = AuditDraft::from_entry(e, signer.clone()).seal(id, prev.as_deref());
        prev = Some(sealed.hash.clone());
        out.push(sealed);
    }
    out
}

/// Dropping the newest entry leaves a valid chain; the head the write returned catches it.
#[test]
fn a_dropped_newest_entry_is_reported_against_the_returned_head() {
    let (store, plane) = faulty();
    put(&plane, &admin(), CFG_A).unwrap();
    let put_head = plane
        .put_config(&admin(), T, CFG_B.as_bytes(), None)
        .unwrap()
        .audit_head
        .unwrap();
    let head = plane
        .invalidate(&admin(), T, &["config"], None)
        .unwrap()
        .audit_head;
    let entries = full_audit(store.as_ref(), T);
    assert_eq!(head, AuditHead::of(entries.last().unwrap()));
    assert_eq!(put_head, AuditHead::of(&entries[1]));
    assert!(plane
        .verify_audit(&viewer(), T, Some(head.clone()))
        .unwrap()
        .ok());
    // An older head is still contained in a longer chain.
    assert!(plane
        .verify_audit(&viewer(), T, Some(put_head))
        .unwrap()
        .ok());

    *store.rewrite_chain.lock().unwrap() = Some(Box::new(|mut es| {
        es.pop();
        es
    }));
    // What the reference (and an unanchored check) says: intact.
    assert!(plane.verify_audit(&viewer(), T, None).unwrap().ok());
    let v = plane
        .verify_audit(&viewer(), T, Some(head.clone()))
        .unwrap();
    let t = v.tamper.unwrap();
    assert_eq!((t.at_id, t.reason), (head.id, TamperReason::Truncated));
    let ans = op(
        &plane,
        &who("v", &["viewer"]),
        "admin.verify_audit",
        &format!(
            r#"{{"tenant":"{T}","head":{}}}"#,
            json::to_string(&head.to_value())
        ),
    )
    .unwrap();
    assert_eq!(get(&ans, &["ok"]), &Value::Bool(false));
    assert_eq!(get(&ans, &["reason"]), &Value::str("truncated"));
}

/// With audit keys, an edited log re-hashed with plain SHA-256, or with a guessed secret
/// under the right key id, fails verification; without keys the plain re-hash passes, and
/// only the returned head catches it.
#[test]
fn a_keyed_chain_cannot_be_recomputed_without_the_secret() {
    let store = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let plane = ControlPlane::new(store.clone()).with_audit_keys(Some(keyring("k1", &["k1"])));
    for d in [CFG_A, CFG_B, CFG_C] {
        put(&plane, &admin(), d).unwrap();
    }
    let entries = full_audit(store.as_ref(), T);
    assert!(entries
        .iter()
        .all(|e| e.hash.starts_with("hmac-sha256:k1:")));
    assert_eq!(
        entries[1].prev_hash.as_deref(),
        Some(entries[0].hash.as_str())
    );
    assert!(plane.verify_audit(&viewer(), T, None).unwrap().ok());
    let target = entries[1].id;
    let edit = move |e: &mut AuditEntry| {
        if e.id == target {
            e.after_state = Some(parse(r#"{"algo":"cooc"}"#));
        }
    };
    *store.rewrite_chain.lock().unwrap() = Some(Box::new(move |es| resealed(es, edit, None)));
    let t = plane
        .verify_audit(&viewer(), T, None)
        .unwrap()
        .tamper
        .unwrap();
    assert_eq!((t.at_id, t.reason), (entries[0].id, TamperReason::Unkeyed));
    let guessed = AuditKeyring::new("k1", [("k1", "a-guessed-secret-0000")]).unwrap();
    *store.rewrite_chain.lock().unwrap() = Some(Box::new(move |es| {
        resealed(es, edit, Some(guessed.signer()))
    }));
    let t = plane
        .verify_audit(&viewer(), T, None)
        .unwrap()
        .tamper
        .unwrap();
    assert_eq!(
        (t.at_id, t.reason),
        (entries[0].id, TamperReason::HashMismatch)
    );

    // The same attack on an unkeyed log.
    let (store, plane) = faulty();
    let mut head = None;
    for d in [CFG_A, CFG_B, CFG_C] {
        head = plane
            .put_config(&admin(), T, d.as_bytes(), None)
            .unwrap()
            .audit_head;
    }
    let target = full_audit(store.as_ref(), T)[1].id;
    let edit = move |e: &mut AuditEntry| {
        if e.id == target {
            e.after_state = Some(parse(r#"{"algo":"cooc"}"#));
        }
    };
    *store.rewrite_chain.lock().unwrap() = Some(Box::new(move |es| resealed(es, edit, None)));
    assert!(plane.verify_audit(&viewer(), T, None).unwrap().ok());
    let head = head.unwrap();
    let t = plane
        .verify_audit(&viewer(), T, Some(head.clone()))
        .unwrap()
        .tamper
        .unwrap();
    assert_eq!((t.at_id, t.reason), (head.id, TamperReason::HeadMismatch));
}

/// Keys rotate by id: entries keep verifying with the key they name; a keyring without
/// that key reports it.
#[test]
fn audit_keys_rotate_by_id() {
    let store = Arc::new(MemoryStore::new());
    let p1 = ControlPlane::new(store.clone()).with_audit_keys(Some(keyring("k1", &["k1"])));
    put(&p1, &admin(), CFG_A).unwrap();
    let p2 = ControlPlane::new(store.clone()).with_audit_keys(Some(keyring("k2", &["k1", "k2"])));
    put(&p2, &admin(), CFG_B).unwrap();
    let entries = full_audit(store.as_ref(), T);
    assert!(entries[0].hash.starts_with("hmac-sha256:k1:"));
    assert!(entries[1].hash.starts_with("hmac-sha256:k2:"));
    assert!(p2.verify_audit(&viewer(), T, None).unwrap().ok());
    let p3 = ControlPlane::new(store.clone()).with_audit_keys(Some(keyring("k2", &["k2"])));
    let t = p3.verify_audit(&viewer(), T, None).unwrap().tamper.unwrap();
    assert_eq!(
        (t.at_id, t.reason),
        (entries[0].id, TamperReason::UnknownKey)
    );
    // Keys are validated: short secrets and unknown active ids are refused.
    assert!(AuditKeyring::new("k1", [("k1", "short")]).is_err());
    assert!(AuditKeyring::new("k9", [("k1", "long-enough-secret-123")]).is_err());
    assert!(!format!("{:?}", keyring("k1", &["k1"])).contains("host-secret"));
}
