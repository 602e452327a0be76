//! A manual `admin.pin_artifacts` / `admin.unpin_artifacts` while a release is current is
//! conditional on that release: without its id it is refused with a typed conflict, with a
//! stale id it is refused as a version mismatch (nothing stored either way), and with the
//! current id it is published as a release of that one change (one audit entry, served as
//! one unit under the new release id, on every process of the fleet).

use recsys_core::json::{self, etag, Value};
use recsys_core::{ApiError, DocumentStore, Engine, MemoryStore};
use std::sync::Arc;

mod common;

const NOW: &str = "2026-11-23T00:05:00Z";

fn parse(s: &str) -> Value {
    json::parse(s.as_bytes()).unwrap()
}

fn get<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.as_object().and_then(|o| o.get(k)).unwrap_or(&Value::Null)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    get(v, k).as_str().unwrap_or("")
}

fn engine(store: Arc<dyn DocumentStore>) -> Engine {
    let e = Engine::builder().store(store).build().unwrap();
    e.call("load_snapshot", &common::example_documents(None, None, &[]))
        .unwrap();
    e
}

fn admin(e: &Engine, op: &str, request: &str) -> Result<Value, ApiError> {
    let input = format!(
        r#"{{"request":{request},"ctx":{{"now":"{NOW}","request_id":"r","principal":{{"subject":"ops","tenant":"demo","roles":["operator"]}}}}}}"#
    );
    e.call(op, &input).map(|a| parse(&a))
}

/// The example manifest with its own `updated_at` (same artifacts, another version).
fn manifest(day: u32) -> String {
    common::read_example("manifest.json").replace(
        "2026-11-22T23:28:39Z",
        &format!("2026-11-{day:02}T00:00:00Z"),
    )
}

fn pin(e: &Engine, day: u32, if_match: Option<&str>) -> Result<Value, ApiError> {
    let m = if_match
        .map(|x| format!(r#","if_match":"{x}""#))
        .unwrap_or_default();
    admin(
        e,
        "admin.pin_artifacts",
        &format!(
            r#"{{"tenant":"demo","surface":"home","manifest":{}{m}}}"#,
            json::to_string(&Value::str(manifest(day)))
        ),
    )
}

fn current(e: &Engine) -> Value {
    admin(e, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap()
}

/// (release id, manifest version) of what serves demo/home.
fn served(e: &Engine) -> (String, String) {
    let s = e.snapshot("demo", "home").unwrap();
    (
        s.release_id().unwrap_or_default().to_string(),
        s.manifest_version().unwrap_or_default().to_string(),
    )
}

fn entries(e: &Engine) -> Vec<Value> {
    let a = admin(e, "admin.audit", r#"{"tenant":"demo"}"#).unwrap();
    get(&a, "entries").as_array().unwrap().to_vec()
}

#[test]
fn a_manual_pin_while_a_release_is_current_must_name_it() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let (a, b) = (engine(store.clone()), engine(store.clone()));
    let rel = admin(
        &a,
        "admin.release",
        r#"{"tenant":"demo","config":{"weights":{"pop":0.5}},"rules":[]}"#,
    )
    .unwrap();
    let id = s(&rel, "release_id").to_string();
    let before = (served(&a), entries(&a).len());

    // No if_match: a typed conflict naming the current release; nothing stored or served.
    let err = pin(&a, 10, None).unwrap_err();
    assert_eq!(err.code, "RECSYS_RELEASE_IF_MATCH_REQUIRED");
    assert_eq!(err.status, 428);
    assert!(err.message.contains(&id), "{}", err.message);
    let err = admin(
        &a,
        "admin.unpin_artifacts",
        r#"{"tenant":"demo","surface":"home"}"#,
    )
    .unwrap_err();
    assert_eq!(err.code, "RECSYS_RELEASE_IF_MATCH_REQUIRED");
    // A stale id: a version mismatch with the current one.
    let err = pin(&a, 10, Some("0000")).unwrap_err();
    assert_eq!(err.code, "RECSYS_VERSION_MISMATCH");
    assert_eq!(err.status, 409);
    assert!(err.message.contains(&id));
    assert_eq!((served(&a), entries(&a).len()), before);
    assert_eq!(s(&current(&a), "release_id"), id);

    // The current id: published as a release of the pin, one entry, served as one unit.
    let out = pin(&a, 10, Some(&id)).unwrap();
    let log = entries(&a);
    assert_eq!(log.len(), before.1 + 1);
    let entry = &log[0];
    assert_eq!(s(entry, "action"), "release.publish");
    assert_eq!(get(&out, "audit_id"), get(entry, "id"));
    let pinned = etag(manifest(10).as_bytes()).unwrap();
    let after = get(entry, "after_state");
    assert_eq!(s(get(after, "artifacts"), "home"), pinned);
    assert_eq!(s(get(entry, "before_state"), "release_id"), id);
    let now = current(&a);
    let id2 = s(&now, "release_id").to_string();
    assert_ne!(id2, id);
    assert_eq!(s(after, "release_id"), id2);
    assert_eq!(served(&a), (id2.clone(), pinned.clone()));
    // The old id no longer matches.
    assert_eq!(
        pin(&a, 11, Some(&id)).unwrap_err().code,
        "RECSYS_VERSION_MISMATCH"
    );

    // A follower installs the pin with the release id from one sync.
    b.call(
        "admin.sync",
        &format!(r#"{{"request":{{"tenant":"demo"}},"ctx":{{"now":"{NOW}"}}}}"#),
    )
    .unwrap();
    assert_eq!(served(&b), (id2.clone(), pinned));

    // Unpin the same way: conditional, one release entry, the surface no longer pinned.
    let out = admin(
        &a,
        "admin.unpin_artifacts",
        &format!(r#"{{"tenant":"demo","surface":"home","if_match":"{id2}"}}"#),
    )
    .unwrap();
    assert_eq!(get(&out, "was_pinned"), &Value::Bool(true));
    let entry = &entries(&a)[0];
    assert_eq!(s(entry, "action"), "release.publish");
    assert!(get(get(get(entry, "after_state"), "artifacts"), "home").is_null());
    let id3 = s(&current(&a), "release_id").to_string();
    assert_eq!(served(&a).0, id3);

    // A single-document write ends the release unit: pins are plain artifact actions again.
    admin(
        &a,
        "admin.put_config",
        r#"{"tenant":"demo","document":{"weights":{"pop":0.7}}}"#,
    )
    .unwrap();
    let out = pin(&a, 12, None).unwrap();
    let entry = &entries(&a)[0];
    assert_eq!(s(entry, "action"), "artifacts.pin");
    assert_eq!(get(&out, "audit_id"), get(entry, "id"));
    // ... and an if_match, when given, still has to name the current release.
    assert_eq!(
        pin(&a, 13, Some("0000")).unwrap_err().code,
        "RECSYS_VERSION_MISMATCH"
    );
}

/// The typed admin method takes the same condition.
#[test]
fn the_typed_pin_takes_the_release_id() {
    use recsys_core::{Context, Principal, Timestamp};
    let e = engine(Arc::new(MemoryStore::new()));
    let rel = admin(
        &e,
        "admin.release",
        r#"{"tenant":"demo","config":{"weights":{"pop":0.5}}}"#,
    )
    .unwrap();
    let ctx = Context::new(Timestamp::parse_rfc3339(NOW).unwrap(), "demo").actor(Principal::new(
        "ops",
        "demo",
        ["operator"],
    ));
    let err = e
        .admin()
        .pin_artifacts(&ctx, "home", manifest(3), None)
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_RELEASE_IF_MATCH_REQUIRED");
    let done = e
        .admin()
        .pin_artifacts(&ctx, "home", manifest(3), Some(s(&rel, "release_id")))
        .unwrap();
    assert!(done.audit_id > 0);
    assert_eq!(
        served(&e).1,
        etag(manifest(3).as_bytes()).unwrap(),
        "the pin serves"
    );
}
