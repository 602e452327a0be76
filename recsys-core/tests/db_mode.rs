//! DB-only mode: the host supplies candidates with scores and tags instead of artifacts, per
//! snapshot (`load_snapshot` with `signals`) or per request; ranking, rules and meta are the same.

use recsys_core::json::{parse, Value};
use recsys_core::Engine;

#[allow(dead_code)] // db_mode uses only the answer reader of the shared helpers
mod common;

fn items(answer: &str) -> Vec<String> {
    common::item_ids(&parse(answer.as_bytes()).unwrap())
}

const SIGNALS: &str = r#"{
  "popularity": [{"item_id": "a", "score": 10}, {"item_id": "b", "score": 30}, {"item_id": "c", "score": 20}, {"item_id": "d", "score": 5}],
  "cooc": [{"item_id": "a", "items": [{"item_id": "d", "score": 9}]}],
  "tags": [{"item_id": "a", "tags": ["Red"]}, {"item_id": "b", "tags": ["blue"]}, {"item_id": "c", "tags": ["red"]}, {"item_id": "d", "tags": ["red"]}]
}"#;
const CTX: &str = r#"{"now": "2026-01-01T00:00:00Z", "tenant": "shop", "request_id": "r1"}"#;

#[test]
fn snapshot_signals_serve_like_artifacts() {
    let e = Engine::new();
    let docs = format!(
        r#"{{"tenant":"shop","surface":"home","config":{{"weights":{{"pop":1,"cooc":1}}}},"rules":[{{"action":"block","item_ids":["c"]}}],"signals":{SIGNALS}}}"#
    );
    let report = e.call("load_snapshot", &docs).unwrap();
    assert!(report.contains(r#""items":4"#), "{report}");
    let a = e
        .call(
            "recommend",
            &format!(
                r#"{{"request":{{"surface":"home","k":3,"user":{{"user_id":"u"}}}},"ctx":{CTX}}}"#
            ),
        )
        .unwrap();
    assert_eq!(
        items(&a),
        ["b", "a", "d"],
        "c is blocked; popularity order otherwise"
    );
    assert!(
        !a.contains("manifest_version")
            && a.contains("config_version")
            && a.contains("rules_version"),
        "{a}"
    );
    let a = e
        .call(
            "recommend",
            &format!(r#"{{"request":{{"surface":"home","k":3,"user":{{"user_id":"u"}},"anchors":{{"item_ids":["a"]}},"constraints":{{"required_tags":["red"]}}}},"ctx":{CTX}}}"#),
        )
        .unwrap();
    // d gets the co-occurrence signal from anchor a: sat(5)+sat(9) = 0.8333+0.9 beats a's sat(10) = 0.909.
    assert_eq!(items(&a), ["d", "a"]);
}

#[test]
fn per_request_signals_use_the_tenants_documents() {
    let e = Engine::new();
    e.set_rules(
        "shop",
        Some(&parse(br#"[{"action":"pin","item_ids":["d"]}]"#).unwrap()),
    )
    .unwrap();
    let input = format!(
        r#"{{"request":{{"surface":"pdp","k":2,"user":{{"session_id":"s"}}}},"ctx":{CTX},"signals":{SIGNALS}}}"#
    );
    let a = e.call("recommend", &input).unwrap();
    assert_eq!(
        items(&a),
        ["d", "b"],
        "the pin rule applies to request signals"
    );
    assert!(a.contains("rules_version"));
    assert_eq!(a, e.call("recommend", &input).unwrap(), "deterministic");
    // Nothing was installed: without signals the surface has no snapshot.
    let e2 = e
        .call(
            "recommend",
            &format!(
                r#"{{"request":{{"surface":"pdp","user":{{"session_id":"s"}}}},"ctx":{CTX}}}"#
            ),
        )
        .unwrap_err();
    assert_eq!(e2.code, "RECSYS_SNAPSHOT_NOT_FOUND");
    let s = e
        .call("similar", &format!(r#"{{"request":{{"surface":"pdp","item_id":"a","k":5}},"ctx":{CTX},"signals":{SIGNALS}}}"#))
        .unwrap();
    assert_eq!(items(&s)[0], "d");
}

#[test]
fn invalid_signals_are_rejected_with_paths() {
    let e = Engine::new();
    let bad = r#"{"popularity":[{"item_id":"","score":1},{"item_id":"x","score":"high"}],"cooc":{},"weather":[]}"#;
    let err = e
        .call("recommend", &format!(r#"{{"request":{{"surface":"h","user":{{"user_id":"u"}}}},"ctx":{CTX},"signals":{bad}}}"#))
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_INVALID_SIGNALS");
    let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "$.weather",
            "$.popularity[0].item_id",
            "$.popularity[1].score",
            "$.cooc"
        ]
    );
    let v: Value = parse(err.to_json().as_bytes()).unwrap();
    assert!(v.as_object().unwrap().get("problems").is_some());
}
