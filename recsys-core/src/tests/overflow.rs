//! No silent overflow: finite inputs never turn into infinite or `null` scores. Weights and
//! boosts are bounded at validation (typed errors), and the ranking arithmetic saturates, so
//! even thousands of compounding boosts keep every score a finite number.

use crate::config::TenantConfig;
use crate::json::{parse, Value};
use crate::rules::{parse_rules, RulesParseOptions};
use crate::Engine;

const CTX: &str = r#"{"now":"2026-01-01T00:00:00Z","tenant":"demo"}"#;

fn engine(rules: &str) -> Engine {
    let e = Engine::new();
    e.call(
        "load_snapshot",
        &format!(
            r#"{{"tenant":"demo","surface":"home","rules":{rules},"signals":{{"popularity":[{{"item_id":"a","score":3}},{{"item_id":"b","score":2}},{{"item_id":"c","score":1}}]}}}}"#
        ),
    )
    .unwrap();
    e
}

fn scores(answer: &str) -> Vec<(String, Value)> {
    let v = parse(answer.as_bytes()).unwrap();
    v.as_object()
        .unwrap()
        .get("items")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let m = i.as_object().unwrap();
            (
                m.get("item_id").unwrap().as_str().unwrap().to_string(),
                m.get("score").unwrap().clone(),
            )
        })
        .collect()
}

#[test]
fn huge_request_weights_are_refused() {
    let e = engine("[]");
    let err = e
        .call(
            "recommend",
            &format!(
                r#"{{"request":{{"surface":"home","k":3,"user":{{"user_id":"u"}},"weights":{{"pop":1.7e308}}}},"ctx":{CTX}}}"#
            ),
        )
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_UNPROCESSABLE_ENTITY");
    assert!(err.message.contains("1.7e308"), "{}", err.message);
    // The largest allowed weight still gives finite scores.
    let ok = e
        .call(
            "recommend",
            &format!(
                r#"{{"request":{{"surface":"home","k":3,"user":{{"user_id":"u"}},"weights":{{"pop":1e6,"cooc":1e6,"emb":1e6}}}},"ctx":{CTX}}}"#
            ),
        )
        .unwrap();
    for (_, s) in scores(&ok) {
        assert!(s.as_f64().is_some_and(f64::is_finite), "{s:?}");
    }
}

#[test]
fn huge_config_weights_are_refused() {
    let v = parse(br#"{"weights":{"pop":1.7e308}}"#).unwrap();
    let errs = TenantConfig::from_value(&v).unwrap_err();
    assert_eq!(errs[0].code, "RECSYS_CONFIG_WEIGHT_TOO_LARGE");
    assert!(errs[0].message.contains("1.7e308"), "{}", errs[0].message);
}

#[test]
fn huge_boosts_are_refused_by_check_and_dropped_when_serving() {
    let doc = br#"[{"action":"boost","item_ids":["c"],"boost_value":1.7e308}]"#;
    let opts = RulesParseOptions {
        strict: true,
        ..RulesParseOptions::default()
    };
    let err = parse_rules(doc, &opts).unwrap_err();
    let text = format!("{err}");
    assert!(
        err.problems()
            .iter()
            .any(|p| p.code == "RECSYS_RULE_BAD_NUMBER"),
        "{text}"
    );
    // Serving parses leniently: the rule is dropped, nothing becomes infinite.
    let e = engine(std::str::from_utf8(doc).unwrap());
    let a = e
        .call(
            "recommend",
            &format!(
                r#"{{"request":{{"surface":"home","k":3,"user":{{"user_id":"u"}},"options":{{"include_reasons":true}}}},"ctx":{CTX}}}"#
            ),
        )
        .unwrap();
    assert!(!a.contains("inf"), "{a}");
    assert_eq!(scores(&a)[0].0, "a");
}

#[test]
fn compounding_boosts_saturate_to_finite_scores() {
    // 2000 boosts of the largest allowed value compound to (1e6)^2000 without saturation.
    let rules: Vec<String> = (0..2000)
        .map(|i| {
            format!(r#"{{"action":"boost","item_ids":["c"],"boost_value":1e6,"priority":{i}}}"#)
        })
        .collect();
    let e = engine(&format!("[{}]", rules.join(",")));
    let a = e
        .call(
            "recommend",
            &format!(
                r#"{{"request":{{"surface":"home","k":3,"user":{{"user_id":"u"}}}},"ctx":{CTX}}}"#
            ),
        )
        .unwrap();
    let s = scores(&a);
    assert_eq!(s[0].0, "c", "{a}");
    for (id, score) in s {
        let f = score.as_f64();
        assert!(f.is_some_and(f64::is_finite), "{id}: {score:?}");
    }
}

/// An unlimited anchor limit (`usize::MAX`) is the default for `max_anchors`; it once wrapped
/// to -1 in the decoder, so every request with anchors and no `max_anchors` was rejected.
#[test]
fn unlimited_anchor_limit_does_not_wrap() {
    let limits = crate::config::Limits {
        max_anchors: usize::MAX,
        ..Default::default()
    };
    let v = parse(
        br#"{"surface":"home","k":5,"user":{"anonymous_id":"u"},"anchors":{"item_ids":["a","b"]}}"#,
    )
    .unwrap();
    let (req, _) = crate::RecommendRequest::from_value(&v, &limits)
        .expect("anchors within an unlimited limit decode");
    assert_eq!(
        req.anchors,
        Some((vec!["a".to_string(), "b".to_string()], u32::MAX))
    );
}
