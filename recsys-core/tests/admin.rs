//! The control plane through the engine's JSON surface: writes are versioned, audited and
//! applied to serving at once; rollback restores the previous version; access is scoped.

use recsys_core::json::{etag, parse, Value};
use recsys_core::Engine;

const CTX: &str = r#"{"now":"2026-01-01T00:00:00Z","tenant":"demo","request_id":"r"}"#;

fn admin(
    e: &Engine,
    op: &str,
    request: &str,
    roles: &str,
    tenant: &str,
) -> Result<Value, recsys_core::ApiError> {
    let input = format!(
        r#"{{"request":{request},"ctx":{{"now":"2026-01-01T00:00:00Z","request_id":"req-1","principal":{{"subject":"alice","tenant":"{tenant}","roles":[{roles}]}}}}}}"#
    );
    e.call(op, &input).map(|a| parse(a.as_bytes()).unwrap())
}

fn get<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.as_object()
        .unwrap()
        .get(k)
        .unwrap_or_else(|| panic!("no {k} in {v:?}"))
}

fn serve(e: &Engine) -> Value {
    let a = e.call(
        "recommend",
        &format!(
            r#"{{"request":{{"surface":"home","k":3,"user":{{"user_id":"u"}}}},"ctx":{CTX}}}"#
        ),
    );
    parse(a.unwrap().as_bytes()).unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    get(v, "items")
        .as_array()
        .unwrap()
        .iter()
        .map(|i| get(i, "item_id").as_str().unwrap().to_string())
        .collect()
}

fn engine() -> Engine {
    let e = Engine::new();
    e.call(
        "load_snapshot",
        r#"{"tenant":"demo","surface":"home","signals":{"popularity":[{"item_id":"a","score":3},{"item_id":"b","score":2},{"item_id":"c","score":1}]}}"#,
    )
    .unwrap();
    e
}

#[test]
fn writes_apply_to_serving_and_rollback_restores() {
    let e = engine();
    assert_eq!(ids(&serve(&e)), ["a", "b", "c"]);
    let v1 = r#"[{"action":"block","item_ids":["a"]}]"#;
    let put = admin(
        &e,
        "admin.put_rules",
        &format!(r#"{{"tenant":"demo","document":{v1}}}"#),
        r#""operator""#,
        "demo",
    )
    .unwrap();
    let tag1 = etag(v1.as_bytes()).unwrap();
    assert_eq!(get(&put, "rules_version").as_str(), Some(tag1.as_str()));
    assert_eq!(get(&put, "recompiled"), &Value::u64(1));
    let s = serve(&e);
    assert_eq!(ids(&s), ["b", "c"]);
    assert_eq!(
        get(get(&s, "meta"), "rules_version").as_str(),
        Some(tag1.as_str())
    );
    // Conditional write against a stale version: 409 with the current version.
    let v2 = r#"[{"action":"pin","item_ids":["c"]}]"#;
    let err = admin(
        &e,
        "admin.put_rules",
        &format!(
            r#"{{"tenant":"demo","document":{v2},"if_match":"W/\"{}\""}}"#,
            "0".repeat(64)
        ),
        r#""admin""#,
        "demo",
    )
    .unwrap_err();
    assert_eq!((err.code, err.status), ("RECSYS_VERSION_MISMATCH", 409));
    assert!(err.to_json().contains(&tag1), "{}", err.to_json());
    admin(
        &e,
        "admin.put_rules",
        &format!(r#"{{"tenant":"demo","document":{v2},"if_match":"\"{tag1}\""}}"#),
        r#""admin""#,
        "demo",
    )
    .unwrap();
    assert_eq!(ids(&serve(&e)), ["c", "a", "b"]);
    // One-call rollback to the previous version.
    let rb = admin(
        &e,
        "admin.rollback",
        r#"{"tenant":"demo","kind":"rules"}"#,
        r#""operator""#,
        "demo",
    )
    .unwrap();
    assert_eq!(get(&rb, "rules_version").as_str(), Some(tag1.as_str()));
    assert_eq!(ids(&serve(&e)), ["b", "c"]);
    // Loading artifacts again does not undo control-plane documents.
    e.call(
        "load_snapshot",
        r#"{"tenant":"demo","surface":"home","signals":{"popularity":[{"item_id":"a","score":3},{"item_id":"b","score":2},{"item_id":"c","score":1}]}}"#,
    )
    .unwrap();
    assert_eq!(ids(&serve(&e)), ["b", "c"]);
    // The audit trail has every move and verifies.
    let audit = admin(
        &e,
        "admin.audit",
        r#"{"tenant":"demo"}"#,
        r#""viewer""#,
        "demo",
    )
    .unwrap();
    assert_eq!(get(&audit, "entries").as_array().unwrap().len(), 3);
    let verify = admin(
        &e,
        "admin.verify_audit",
        r#"{"tenant":"demo"}"#,
        r#""admin""#,
        "demo",
    )
    .unwrap();
    assert_eq!(get(&verify, "ok"), &Value::Bool(true));
}

#[test]
fn config_writes_are_validated_and_scoped() {
    let e = engine();
    let bad = admin(
        &e,
        "admin.put_config",
        r#"{"tenant":"demo","document":{"algo":"nope","weights":{"pop":-1}}}"#,
        r#""admin""#,
        "demo",
    )
    .unwrap_err();
    assert_eq!(bad.code, "RECSYS_INVALID_CONFIG");
    assert_eq!(bad.problems.len(), 2);
    assert!(serve(&e)
        .as_object()
        .unwrap()
        .get("meta")
        .unwrap()
        .as_object()
        .unwrap()
        .get("config_version")
        .is_none());
    // A viewer cannot write; another tenant's operator cannot read or write.
    let doc = r#"{"tenant":"demo","document":{"weights":{"pop":1}}}"#;
    assert_eq!(
        admin(&e, "admin.put_config", doc, r#""viewer""#, "demo")
            .unwrap_err()
            .code,
        "RECSYS_FORBIDDEN"
    );
    assert_eq!(
        admin(&e, "admin.put_config", doc, r#""admin""#, "acme")
            .unwrap_err()
            .code,
        "RECSYS_FORBIDDEN"
    );
    assert_eq!(
        admin(
            &e,
            "admin.get_config",
            r#"{"tenant":"demo"}"#,
            r#""admin""#,
            "acme"
        )
        .unwrap_err()
        .code,
        "RECSYS_FORBIDDEN"
    );
    let ok = admin(&e, "admin.put_config", doc, r#""operator""#, "demo").unwrap();
    let tag = get(&ok, "config_version").as_str().unwrap().to_string();
    assert_eq!(
        get(get(&serve(&e), "meta"), "config_version").as_str(),
        Some(tag.as_str())
    );
    // Invalidation re-reads the current documents and reports what it touched.
    let inv = admin(
        &e,
        "admin.invalidate",
        r#"{"tenant":"demo","targets":["config","popularity"]}"#,
        r#""operator""#,
        "demo",
    )
    .unwrap();
    assert_eq!(
        recsys_core::json::to_string(get(&inv, "invalidated")),
        r#"{"config":1,"artifacts":0}"#
    );
    assert_eq!(
        admin(
            &e,
            "admin.invalidate",
            r#"{"tenant":"demo","targets":["weather"]}"#,
            r#""operator""#,
            "demo"
        )
        .unwrap_err()
        .code,
        "RECSYS_INVALID_TARGETS"
    );
}

/// The `roles` engine option renames the access levels (the reference's configurable role
/// names); bad role lists are refused at start.
#[test]
fn role_names_are_configurable() {
    let e = Engine::with_options_json(
        r#"{"roles":{"viewer":["reader"],"operator":["merchandiser","ops"]}}"#,
    )
    .unwrap();
    let doc = r#"{"tenant":"demo","document":{"weights":{"pop":1}}}"#;
    assert!(admin(&e, "admin.put_config", doc, r#""merchandiser""#, "demo").is_ok());
    assert_eq!(
        admin(&e, "admin.put_config", doc, r#""operator""#, "demo")
            .unwrap_err()
            .code,
        "RECSYS_FORBIDDEN",
        "the default name no longer grants operator"
    );
    assert!(admin(
        &e,
        "admin.get_config",
        r#"{"tenant":"demo"}"#,
        r#""reader""#,
        "demo"
    )
    .is_ok());
    // Unchanged levels keep their default names.
    assert!(admin(&e, "admin.put_config", doc, r#""admin""#, "demo").is_ok());
    for bad in [
        r#"{"roles":{"viewer":[]}}"#,
        r#"{"roles":{"superuser":["x"]}}"#,
        r#"{"roles":{"admin":"root"}}"#,
        r#"{"roles":[]}"#,
    ] {
        assert_eq!(
            Engine::with_options_json(bad).err().map(|e| e.code),
            Some("RECSYS_INVALID_OPTIONS"),
            "{bad}"
        );
    }
}
