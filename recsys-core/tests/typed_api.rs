//! The typed serving API: `Engine::recommend` / `similar` / `validate` with typed requests
//! answer what the JSON call answers for the same request, and refuse what it refuses, with
//! the same codes and messages.

use recsys_core::json::{parse, to_text};
use recsys_core::{ApiError, Engine};
use recsys_core::{Context, Explain, RecommendRequest, SimilarRequest, User};

const CTX: &str =
    r#"{"now":"2026-01-01T00:00:00Z","tenant":"demo","request_id":"r1","roles":["admin"]}"#;

fn ctx() -> Context {
    Context::from_value(&parse(CTX.as_bytes()).unwrap()).unwrap()
}

/// A snapshot with popularity, co-occurrence and tags, and a boost and a pin rule.
fn engine() -> Engine {
    let e = Engine::new();
    e.call(
        "load_snapshot",
        r#"{"tenant":"demo","surface":"home",
            "config":{"algo":"blend","weights":{"pop":1,"cooc":0.5,"emb":0}},
            "rules":[{"action":"pin","item_ids":["e"]},{"action":"boost","tag":"red","boost_value":0.5}],
            "signals":{
              "popularity":[{"item_id":"a","score":9},{"item_id":"b","score":7},{"item_id":"c","score":5},
                            {"item_id":"d","score":3},{"item_id":"e","score":1}],
              "cooc":[{"item_id":"a","items":[{"item_id":"c","score":4}]}],
              "tags":[{"item_id":"b","tags":["red"]},{"item_id":"c","tags":["Blue"]}]}}"#,
    )
    .unwrap();
    e
}

fn call(e: &Engine, op: &str, request: &str) -> Result<String, ApiError> {
    e.call(op, &format!(r#"{{"request":{request},"ctx":{CTX}}}"#))
}

/// With every default written out (so the decoder adds no DEFAULT_APPLIED warning), the
/// typed answer written as JSON is the JSON call's answer, byte for byte.
#[test]
fn typed_recommend_answers_what_the_json_call_answers() {
    let e = engine();
    let typed = RecommendRequest::new("home", User::id("u1"))
        .k(4)
        .anchors(["a"])
        .exclude_ids(["d", " d "])
        .include_reasons(true)
        .explain(Explain::Full);
    let json = r#"{"surface":"home","segment":"default","k":4,"user":{"user_id":"u1"},
        "anchors":{"item_ids":["a"],"max_anchors":1},"candidates":{"exclude_ids":["d"]},
        "options":{"include_reasons":true,"explain":"full"}}"#;
    let rec = e.recommend(&typed, &ctx()).unwrap();
    assert_eq!(to_text(&rec).unwrap(), call(&e, "recommend", json).unwrap());
    let ids: Vec<&str> = rec.items.iter().map(|i| i.item_id.as_str()).collect();
    assert_eq!(ids[0], "e", "the pin leads: {ids:?}");
    assert!(!ids.contains(&"d"), "{ids:?}");
    assert!(rec.items[0].explain.as_ref().unwrap().pinned);
    assert_eq!(rec.meta.counts.returned, 4);
    assert_eq!(rec.meta.request_id.as_deref(), Some("r1"));
}

#[test]
fn typed_similar_and_validate_answer_what_the_json_calls_answer() {
    let e = engine();
    let typed = SimilarRequest::new("home", "a").k(3).include_reasons(true);
    let json = r#"{"surface":"home","segment":"default","item_id":"a","k":3,"options":{"include_reasons":true}}"#;
    let rec = e.similar(&typed, &ctx()).unwrap();
    assert_eq!(to_text(&rec).unwrap(), call(&e, "similar", json).unwrap());
    let ids: Vec<&str> = rec.items.iter().map(|i| i.item_id.as_str()).collect();
    assert_eq!(ids[..2], ["e", "c"], "the pin, then the anchor's neighbour");

    let typed = RecommendRequest::new("home", User::anonymous("v9"))
        .k(7)
        .required_tags([" RED ", "red"]);
    let json = r#"{"surface":"home","segment":"default","k":7,"user":{"anonymous_id":"v9"},
        "constraints":{"required_tags":["red"]},"options":{}}"#;
    let v = e.validate(&typed, &ctx()).unwrap();
    assert_eq!(v.normalized_request, typed);
    assert_eq!(to_text(&v).unwrap(), call(&e, "validate", json).unwrap());
}

/// A typed request over the surface's limits fails as the same JSON request does: same
/// code, status and message.
#[test]
fn typed_requests_are_refused_like_json_ones() {
    let e = engine();
    let many: Vec<String> = (0..5001).map(|i| format!("x{i}")).collect();
    let quoted = many
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(",");
    let cases = [
        (
            RecommendRequest::new("home", User::id("u1")).k(0),
            r#"{"surface":"home","k":0,"user":{"user_id":"u1"}}"#.to_string(),
        ),
        (
            RecommendRequest::new("home", User::id("u1")).k(100_000),
            r#"{"surface":"home","k":100000,"user":{"user_id":"u1"}}"#.to_string(),
        ),
        (
            RecommendRequest::new("home", User::id("")),
            r#"{"surface":"home","k":3,"user":{"user_id":""}}"#.to_string(),
        ),
        (
            RecommendRequest::new("home", User::id("u1")).include_ids(&many),
            format!(
                r#"{{"surface":"home","k":3,"user":{{"user_id":"u1"}},"candidates":{{"include_ids":[{quoted}]}}}}"#
            ),
        ),
        (
            RecommendRequest::new("home/x", User::id("u1")),
            r#"{"surface":"home/x","k":3,"user":{"user_id":"u1"}}"#.to_string(),
        ),
    ];
    for (typed, json) in cases {
        let t = e.recommend(&typed, &ctx()).unwrap_err();
        let j = call(&e, "recommend", &json).unwrap_err();
        assert_eq!(
            (t.code, t.status, &t.message),
            (j.code, j.status, &j.message)
        );
    }
    let t = e
        .recommend(
            &RecommendRequest::new("home", User::id("u1")).weights(-1.0, 0.0, 0.0),
            &ctx(),
        )
        .unwrap_err();
    assert_eq!((t.code, t.status), ("RECSYS_UNPROCESSABLE_ENTITY", 422));
    let t = e
        .recommend(
            &RecommendRequest::new("home", User::id("u1")).weights(f64::NAN, 1.0, 0.0),
            &ctx(),
        )
        .unwrap_err();
    assert_eq!(t.status, 422, "{t:?}");
}

/// Without a snapshot, a bad request is reported first, then the missing snapshot.
#[test]
fn typed_requests_without_a_snapshot() {
    let e = engine();
    let r = RecommendRequest::new("other", User::id("u1"));
    assert_eq!(
        e.recommend(&r, &ctx()).unwrap_err().code,
        "RECSYS_SNAPSHOT_NOT_FOUND"
    );
    let r = r.k(0);
    assert_eq!(
        e.recommend(&r, &ctx()).unwrap_err().code,
        "RECSYS_INVALID_REQUEST"
    );
    let s = SimilarRequest::new("other", "");
    assert_eq!(
        e.similar(&s, &ctx()).unwrap_err().message,
        "item_id is required"
    );
}

/// The builders normalise ids and tags as the JSON decoder does.
#[test]
fn builders_normalise_like_the_decoder() {
    let r = RecommendRequest::new(" home ", User::session(" s1 "))
        .segment(" vip ")
        .include_ids(["a", " a", "", "b"])
        .forbidden_tags(["Red", "RED", " "])
        .max_per_tag("Brand:X", 2)
        .max_per_tag("brand:x", 1)
        .experiment("exp", "B");
    assert_eq!(r.surface, "home");
    assert_eq!(r.segment, "vip");
    assert_eq!(r.user.session_id, "s1");
    assert_eq!(r.include_ids, ["a", "b"]);
    let c = r.constraints.as_ref().unwrap();
    assert_eq!(c.forbidden_tags, ["red"]);
    assert_eq!(c.max_per_tag, [("brand:x".to_string(), 1)]);
    let json = r#"{"surface":"home","segment":"vip","k":20,"user":{"session_id":"s1"},
        "candidates":{"include_ids":["a","b"]},
        "constraints":{"forbidden_tags":["red"],"max_per_tag":{"brand:x":1}},
        "options":{},"experiment":{"id":"exp","variant":"B"}}"#;
    let decoded: RecommendRequest = json.parse().unwrap();
    assert_eq!(r, decoded);
}
