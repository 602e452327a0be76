//! The typed Rust API: the builder, `Documents` + `load_snapshot`, `Context`, the `admin()`
//! handle (a write reaches the store *and* what serves), the `loader()` handle, named results
//! and the `Op` enum behind `Engine::call`.

use crate::control::{AuditQuery, RollbackTarget};
use crate::json::{self, Value};
use crate::{Context, DocKind, Documents, Engine, MemoryStore, Op, Principal, Timestamp};
use std::sync::Arc;

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap()
}

fn admin_ctx() -> Context {
    Context::new(now(), "demo")
        .request_id("req-1")
        .actor(Principal::new("alice", "demo", ["admin"]))
}

/// An engine serving demo/home from DB-mode signals (two items).
fn serving() -> Engine {
    let e = Engine::builder()
        .store(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    e.load_snapshot(
        Documents::new("demo", "home")
            .config(r#"{"weights": {"pop": 1}}"#)
            .signals(
                r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#,
            ),
    )
    .unwrap();
    e
}

fn serving_config_version(e: &Engine) -> Option<String> {
    e.snapshot("demo", "home")
        .and_then(|s| s.snapshot.versions.config_version.clone())
}

fn recommend_meta(e: &Engine, member: &str) -> Value {
    let answer = e
        .call(
            "recommend",
            r#"{"request": {"surface": "home", "k": 2, "user": {"user_id": "u"}},
                "ctx": {"now": "2026-01-02T00:00:00Z", "tenant": "demo"}}"#,
        )
        .unwrap();
    let v = json::parse(answer.as_bytes()).unwrap();
    let meta = v
        .as_object()
        .unwrap()
        .get("meta")
        .unwrap()
        .as_object()
        .unwrap();
    meta.get(member).cloned().unwrap_or(Value::Null)
}

#[test]
fn a_typed_admin_write_is_served_before_it_returns() {
    let e = serving();
    let before = serving_config_version(&e);
    let w = e
        .admin()
        .put_config(&admin_ctx(), r#"{"weights": {"pop": 2}}"#, None)
        .unwrap();
    assert!(w.outcome.changed);
    assert_eq!(w.recompiled, 1, "demo/home is recompiled");
    assert!(
        w.lint.is_some(),
        "the write is linted against the loaded catalog"
    );
    assert_ne!(serving_config_version(&e), before);
    assert_eq!(
        serving_config_version(&e).as_deref(),
        Some(w.outcome.etag.as_str())
    );
    assert_eq!(
        recommend_meta(&e, "config_version"),
        Value::str(&w.outcome.etag)
    );
    // Stored and audited too.
    let stored = e.admin().get(&admin_ctx(), DocKind::Config).unwrap();
    assert_eq!(stored.etag, w.outcome.etag);
    let audit = e
        .admin()
        .audit(&admin_ctx(), &AuditQuery::default())
        .unwrap();
    assert_eq!(audit.entries[0].action, "config.update");
    assert_eq!(audit.entries[0].request_id.as_deref(), Some("req-1"));
}

#[test]
fn the_raw_control_plane_stores_without_serving_and_admin_serves() {
    // What `engine.control()` does (the store only) vs what `engine.admin()` does.
    let e = serving();
    let before = serving_config_version(&e);
    let op = crate::control::OpContext::new(now(), "r", admin_ctx().actor.unwrap());
    let raw = e
        .control()
        .put_config(&op, "demo", br#"{"weights": {"pop": 3}}"#, None)
        .unwrap();
    assert_eq!(
        serving_config_version(&e),
        before,
        "control() alone does not serve"
    );
    // The admin handle serves what the store holds on its next write or sync.
    let synced = e
        .admin()
        .sync(Some("demo"), crate::SyncKinds::ALL, None, now())
        .unwrap();
    assert!(synced.iter().any(|t| t.tenant == "demo"));
    assert_eq!(
        serving_config_version(&e).as_deref(),
        Some(raw.etag.as_str())
    );
}

#[test]
fn a_typed_rollback_is_served() {
    let e = serving();
    let admin = e.admin();
    let first = admin
        .put_config(&admin_ctx(), r#"{"weights": {"pop": 2}}"#, None)
        .unwrap();
    admin
        .put_config(&admin_ctx(), r#"{"weights": {"pop": 5}}"#, None)
        .unwrap();
    let back = admin
        .rollback(
            &admin_ctx(),
            DocKind::Config,
            RollbackTarget::Previous,
            None,
            None,
        )
        .unwrap();
    assert_eq!(back.outcome.etag, first.outcome.etag);
    assert_eq!(back.recompiled, 1);
    assert_eq!(
        serving_config_version(&e).as_deref(),
        Some(first.outcome.etag.as_str())
    );
}

#[test]
fn admin_needs_an_actor_and_checks_its_access() {
    let e = serving();
    let anonymous = Context::new(now(), "demo");
    let err = e
        .admin()
        .put_config(&anonymous, r#"{"weights": {"pop": 2}}"#, None)
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_INVALID_CONTEXT");
    let viewer = Context::new(now(), "demo").actor(Principal::new("bob", "demo", ["viewer"]));
    let err = e
        .admin()
        .put_config(&viewer, r#"{"weights": {"pop": 2}}"#, None)
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_FORBIDDEN");
    let other = Context::new(now(), "demo").actor(Principal::new("eve", "acme", ["admin"]));
    assert_eq!(
        e.admin()
            .put_config(&other, r#"{"weights": {"pop": 2}}"#, None)
            .unwrap_err()
            .code,
        "RECSYS_FORBIDDEN"
    );
    // Nothing was stored or served.
    assert!(e.admin().get(&admin_ctx(), DocKind::Config).is_err());
}

#[test]
fn a_typed_invalidation_recompiles_from_the_store() {
    let e = serving();
    e.admin()
        .put_config(&admin_ctx(), r#"{"weights": {"pop": 2}}"#, None)
        .unwrap();
    let out = e
        .admin()
        .invalidate(&admin_ctx(), &["config", "artifacts"], None)
        .unwrap();
    let counts: Vec<(&str, usize)> = out
        .served
        .iter()
        .map(|t| (t.target.as_str(), t.count))
        .collect();
    assert_eq!(counts, [("config", 1), ("artifacts", 0)]);
    assert!(out.outcome.audit_id > 0);
}

#[test]
fn documents_report_bad_parts_and_change_nothing() {
    let e = serving();
    let before = serving_config_version(&e);
    let err = e
        .load_snapshot(Documents::new("demo", "home").config("{not json"))
        .unwrap_err();
    assert!(err.code.starts_with("RECSYS_JSON"), "{err:?}");
    let err = e
        .load_snapshot(
            Documents::new("demo", "home")
                .manifest(r#"{"v": 1, "tenant": "demo", "surface": "home", "current": {"popularity": "mem://p"}}"#)
                .artifact("mem://p", vec![0xff, 0xfe]),
        )
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_JSON_INVALID_UTF8");
    assert!(err.message.contains("mem://p"), "{}", err.message);
    let err = e
        .load_snapshot(Documents::new("demo", "home").config(r#"{"weights": {"pop": "x"}}"#))
        .unwrap_err();
    assert_eq!(err.status, 422, "{err:?}");
    assert_eq!(serving_config_version(&e), before);
}

#[test]
fn load_snapshot_typed_and_json_answer_the_same() {
    let docs = r#"{"tenant": "demo", "surface": "home", "config": {"weights": {"pop": 1}},
        "signals": {"popularity": [{"item_id": "a", "score": 2}]}}"#;
    let by_json = Engine::builder()
        .build()
        .unwrap()
        .call("load_snapshot", docs)
        .unwrap();
    let typed = Engine::builder()
        .build()
        .unwrap()
        .load_snapshot(
            Documents::new("demo", "home")
                .config(r#"{"weights": {"pop": 1}}"#)
                .signals(r#"{"popularity": [{"item_id": "a", "score": 2}]}"#),
        )
        .unwrap();
    assert_eq!(json::to_string(&typed.to_value()), by_json);
    assert_eq!(typed.tenant(), "demo");
    assert_eq!(typed.items(), 1);
}

#[test]
fn every_op_round_trips_and_reaches_a_handler() {
    let e = Engine::builder().build().unwrap();
    for op in Op::ALL {
        assert_eq!(op.name().parse::<Op>().unwrap(), *op);
        // An empty input is wrong for most operations, but never an unknown operation.
        if let Err(err) = e.call(op.name(), "{}") {
            assert_ne!(err.code, "RECSYS_UNKNOWN_OPERATION", "{}", op.name());
        }
    }
    assert_eq!(Op::ALL.iter().filter(|o| o.is_static()).count(), 9);
    let err = e.call("admin.nope", "{}").unwrap_err();
    assert_eq!(err.code, "RECSYS_UNKNOWN_OPERATION");
    assert!(err.message.contains("admin.nope"), "{}", err.message);
}

#[test]
fn named_results_replace_tuples() {
    let e = serving();
    assert!(e.snapshot("demo", "pdp").is_none());
    e.load_snapshot(Documents::new("demo", "default").signals(r#"{"popularity": []}"#))
        .unwrap();
    let served = e.snapshot("demo", "pdp").unwrap();
    assert!(served.fallback);
    assert_eq!(served.snapshot.surface, "default");
    let home = e.snapshot("demo", "home").unwrap();
    assert!(!home.fallback);
    let ids: Vec<(String, String)> = e
        .loaded()
        .into_iter()
        .map(|i| (i.tenant, i.surface))
        .collect();
    let want = [("demo", "default"), ("demo", "home")].map(|(t, s)| (t.to_string(), s.to_string()));
    assert_eq!(ids, want, "sorted");
    let batch = e.drain_exposures(10);
    assert!(batch.events.is_empty());
    assert_eq!(batch.dropped, 0);
}
