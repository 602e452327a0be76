//! Releases: config and rules published as one unit (one id, one ETag, one audit entry),
//! If-Match, rollback in one call, `meta.release_id`, and no request ever seeing the new
//! config with the old rules while writers race.

use recsys_core::json::{self, Value};
use recsys_core::{call_static, ApiError, Engine};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[path = "../src/tests/progress.rs"]
mod progress;
use progress::wait_for_more;

mod common;

fn parse(s: &str) -> Value {
    json::parse(s.as_bytes()).unwrap()
}

fn get<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.as_object().unwrap().get(k).unwrap_or(&Value::Null)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    get(v, k).as_str().unwrap_or("")
}

fn engine() -> Engine {
    let e = Engine::new();
    e.call("load_snapshot", &common::example_documents(None, None, &[]))
        .unwrap();
    e
}

fn admin(e: &Engine, op: &str, request: &str) -> Result<Value, ApiError> {
    e.call(
        op,
        &format!(r#"{{"request":{request},"ctx":{{"now":"2026-01-02T00:00:00Z","request_id":"r1","principal":{{"subject":"ops","tenant":"demo","roles":["operator"]}}}}}}"#),
    )
    .map(|a| parse(&a))
}

fn meta(e: &Engine) -> Value {
    let req = common::read_example("request.json");
    let a = e
        .call(
            "recommend",
            &format!(
                r#"{{"request":{req},"ctx":{{"now":"2026-01-02T00:00:00Z","tenant":"demo"}}}}"#
            ),
        )
        .unwrap();
    get(&parse(&a), "meta").clone()
}

fn etag(doc: &str) -> String {
    s(&parse(&call_static("etag", doc).unwrap()), "etag").to_string()
}

const CONFIG_A: &str = r#"{"limits":{"max_pins":1}}"#;
const RULES_A: &str = r#"[{"action":"block","item_ids":["sku-yoga-mat"]}]"#;
const CONFIG_B: &str = r#"{"limits":{"max_pins":2}}"#;
const RULES_B: &str = r#"[{"action":"block","item_ids":["sku-backpack"]}]"#;

fn release(
    e: &Engine,
    config: &str,
    rules: &str,
    if_match: Option<&str>,
) -> Result<Value, ApiError> {
    let m = if_match
        .map(|x| format!(r#","if_match":"{x}""#))
        .unwrap_or_default();
    admin(
        e,
        "admin.release",
        &format!(r#"{{"tenant":"demo","config":{config},"rules":{rules}{m}}}"#),
    )
}

#[test]
fn publish_audit_serve_and_roll_back_as_one() {
    let e = engine();
    let a = release(&e, CONFIG_A, RULES_A, None).unwrap();
    assert_eq!(get(&a, "changed").as_bool(), Some(true));
    assert_eq!(s(&a, "config_version"), etag(CONFIG_A));
    assert_eq!(s(&a, "rules_version"), etag(RULES_A));
    let id_a = s(&a, "release_id").to_string();
    assert_eq!(id_a.len(), 64);
    // Served as one unit, named in meta.
    let m = meta(&e);
    assert_eq!(s(&m, "release_id"), id_a);
    assert_eq!(s(&m, "config_version"), etag(CONFIG_A));
    assert_eq!(s(&m, "rules_version"), etag(RULES_A));
    // One audit entry with before and after.
    let audit = admin(&e, "admin.audit", r#"{"tenant":"demo"}"#).unwrap();
    let entries = get(&audit, "entries").as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(s(&entries[0], "action"), "release.publish");
    assert_eq!(s(get(&entries[0], "after_state"), "release_id"), id_a);
    assert!(get(get(&entries[0], "before_state"), "config_version").is_null());

    // A second release, then If-Match with the stale id is refused and changes nothing.
    let b = release(&e, CONFIG_B, RULES_B, Some(&id_a)).unwrap();
    let id_b = s(&b, "release_id").to_string();
    assert_eq!(s(&b, "from_release_id"), id_a);
    let err = release(&e, CONFIG_A, RULES_B, Some(&id_a)).unwrap_err();
    assert_eq!(err.code, "RECSYS_VERSION_MISMATCH");
    assert_eq!(err.status, 409);
    let cur = admin(&e, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(s(&cur, "release_id"), id_b);

    // Roll back in one call: both documents return, one entry, meta names the old release.
    let r = admin(&e, "admin.rollback_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(s(&r, "release_id"), id_a);
    assert_eq!(s(&meta(&e), "release_id"), id_a);
    assert_eq!(s(&meta(&e), "rules_version"), etag(RULES_A));
    let to_b = admin(
        &e,
        "admin.rollback_release",
        &format!(r#"{{"tenant":"demo","to":"\"{id_b}\""}}"#),
    )
    .unwrap();
    assert_eq!(s(&to_b, "release_id"), id_b);
    let audit = admin(&e, "admin.audit", r#"{"tenant":"demo"}"#).unwrap();
    let actions: Vec<&str> = get(&audit, "entries")
        .as_array()
        .unwrap()
        .iter()
        .map(|x| s(x, "action"))
        .collect();
    assert_eq!(
        actions,
        vec![
            "release.rollback",
            "release.rollback",
            "release.publish",
            "release.publish"
        ]
    );
    // The chain and the pointers agree.
    let v = admin(&e, "admin.verify_audit", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(
        get(&v, "ok").as_bool(),
        Some(true),
        "{}",
        json::to_string(&v)
    );

    // A single-document write ends the release unit.
    admin(
        &e,
        "admin.put_rules",
        &format!(r#"{{"tenant":"demo","document":{RULES_A}}}"#),
    )
    .unwrap();
    assert!(get(&meta(&e), "release_id").is_null());
    let err = admin(
        &e,
        "admin.rollback_release",
        r#"{"tenant":"demo","to":"nope"}"#,
    )
    .unwrap_err();
    assert_eq!(err.code, "RECSYS_RELEASE_NOT_FOUND");
}

#[test]
fn invalid_documents_and_access() {
    let e = engine();
    let err = release(&e, r#"{"algo":"nope"}"#, RULES_A, None).unwrap_err();
    assert_eq!(err.code, "RECSYS_INVALID_CONFIG");
    // Nothing was written.
    assert!(admin(&e, "admin.get_rules", r#"{"tenant":"demo"}"#).is_err());
    let err = admin(&e, "admin.release", r#"{"tenant":"demo"}"#).unwrap_err();
    assert!(err.message.contains("needs"), "{}", err.message);
    let err = e
        .call(
            "admin.release",
            &format!(r#"{{"request":{{"tenant":"demo","rules":{RULES_A}}},"ctx":{{"now":"2026-01-02T00:00:00Z","principal":{{"subject":"v","tenant":"demo","roles":["viewer"]}}}}}}"#),
        )
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_FORBIDDEN");
    let err = admin(&e, "admin.rollback_release", r#"{"tenant":"demo"}"#).unwrap_err();
    assert_eq!(err.code, "RECSYS_NO_PREVIOUS_RELEASE");
}

/// Writers race releases (each with If-Match of the release it read) while readers
/// recommend: every answer's (config_version, rules_version) is a pair some release
/// published, never the new config with the old rules.
#[test]
fn concurrent_writers_never_serve_a_mixed_pair() {
    let e = Arc::new(engine());
    let pairs: Vec<(String, String)> = (0..6)
        .map(|i| {
            (
                format!(r#"{{"limits":{{"max_pins":{}}}}}"#, i + 1),
                format!(
                    r#"[{{"action":"boost","tag":"margin:high","boost_value":0.{}}}]"#,
                    i + 1
                ),
            )
        })
        .collect();
    let mut allowed: HashSet<(String, String)> =
        pairs.iter().map(|(c, r)| (etag(c), etag(r))).collect();
    let m0 = meta(&e);
    allowed.insert((
        s(&m0, "config_version").into(),
        s(&m0, "rules_version").into(),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (e, stop, allowed, reads) =
                (e.clone(), stop.clone(), allowed.clone(), reads.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let m = meta(&e);
                    let pair = (
                        s(&m, "config_version").to_string(),
                        s(&m, "rules_version").to_string(),
                    );
                    assert!(allowed.contains(&pair), "mixed pair served: {pair:?}");
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Reads are under way before the first write (on a busy machine a reader thread may not
    // run at all before the writers are done).
    wait_for_more(&reads, 2, &readers[0]);
    let writers: Vec<_> = pairs
        .chunks(2)
        .map(|chunk| {
            let (e, chunk) = (e.clone(), chunk.to_vec());
            std::thread::spawn(move || {
                let mut won = 0;
                for _ in 0..10 {
                    for (c, r) in &chunk {
                        let cur = admin(&e, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
                        match release(&e, c, r, Some(s(&cur, "release_id"))) {
                            Ok(_) => won += 1,
                            Err(err) => assert_eq!(err.code, "RECSYS_VERSION_MISMATCH"),
                        }
                    }
                }
                won
            })
        })
        .collect();
    let won: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    wait_for_more(&reads, 2, &readers[0]);
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert!(won > 0);
    // The store and serving agree at the end, and the audit chain verifies.
    let cur = admin(&e, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(s(&meta(&e), "release_id"), s(&cur, "release_id"));
    let v = admin(&e, "admin.verify_audit", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(get(&v, "ok").as_bool(), Some(true));
}

/// A release guards the document it keeps (checked, re-stamped, not moved): the kept
/// document's own previous version stays what `admin.rollback` returns to. A release of
/// pins alone needs a document to guard; a bad manifest is refused before anything is
/// stored.
#[test]
fn kept_documents_are_guarded_not_moved_and_manifests_are_checked() {
    let e = engine();
    for r in [RULES_A, RULES_B] {
        admin(
            &e,
            "admin.put_rules",
            &format!(r#"{{"tenant":"demo","document":{r}}}"#),
        )
        .unwrap();
    }
    let only_config = admin(
        &e,
        "admin.release",
        &format!(r#"{{"tenant":"demo","config":{CONFIG_A}}}"#),
    )
    .unwrap();
    assert_eq!(s(&only_config, "rules_version"), etag(RULES_B));
    let back = admin(&e, "admin.rollback", r#"{"tenant":"demo","kind":"rules"}"#).unwrap();
    assert_eq!(s(&back, "rules_version"), etag(RULES_A), "{back:?}");

    let fresh = Engine::new();
    fresh
        .call("load_snapshot", &common::example_documents(None, None, &[]))
        .unwrap();
    let manifest = common::read_example("manifest.json");
    let before = admin(&e, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    let err = admin(
        &fresh,
        "admin.release",
        &format!(r#"{{"tenant":"demo","artifacts":{{"home":{manifest}}}}}"#),
    )
    .unwrap_err();
    assert!(
        err.message.contains("needs a config or rules"),
        "{}",
        err.message
    );
    let err = admin(
        &e,
        "admin.release",
        &format!(r#"{{"tenant":"demo","rules":{RULES_A},"artifacts":{{"other":{manifest}}}}}"#),
    )
    .unwrap_err();
    assert!(
        err.message.contains("artifacts[\"other\"]"),
        "{}",
        err.message
    );
    let cur = admin(&e, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(s(&cur, "release_id"), s(&before, "release_id"));
}
