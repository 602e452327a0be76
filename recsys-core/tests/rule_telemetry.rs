//! Per-rule telemetry on the shipped example: outcomes in `meta.rules` of `explain: full`,
//! counts exported by the `metrics` op, nothing when the option is off, and previews never
//! counted.

use recsys_core::json::{self, Value};
use recsys_core::Engine;

mod common;

fn engine(options: &str, rules: &str) -> Engine {
    let e = Engine::with_options_json(options).unwrap();
    e.call(
        "load_snapshot",
        &common::example_documents(None, Some(rules), &[]),
    )
    .unwrap();
    e
}

const RULES: &str = r#"[
 {"rule_id":"00000000-0000-0000-0000-000000000001","action":"pin","item_ids":["sku-trail-jacket"],"priority":10},
 {"rule_id":"00000000-0000-0000-0000-000000000002","action":"boost","tag":"margin:high","boost_value":0.5},
 {"rule_id":"00000000-0000-0000-0000-000000000003","action":"block","item_ids":["sku-backpack"]},
 {"rule_id":"00000000-0000-0000-0000-000000000004","action":"pin","item_ids":["sku-backpack"]},
 {"rule_id":"00000000-0000-0000-0000-000000000005","action":"boost","brand":"acme","boost_value":1}
]"#;

fn recommend(e: &Engine, explain: &str) -> Value {
    let a = e
        .call(
            "recommend",
            &format!(r#"{{"request":{{"surface":"home","k":5,"user":{{"user_id":"u_fitness"}},"anchors":{{"item_ids":["sku-running-shoe"]}},"options":{{"explain":"{explain}"}}}},"ctx":{{"now":"2026-01-02T00:00:00Z","tenant":"demo","roles":["admin"]}}}}"#),
        )
        .unwrap();
    json::parse(a.as_bytes()).unwrap()
}

fn meta_rules(a: &Value) -> Vec<(String, String)> {
    let meta = a
        .as_object()
        .unwrap()
        .get("meta")
        .unwrap()
        .as_object()
        .unwrap();
    meta.get("rules")
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    let m = x.as_object().unwrap();
                    let s = |k: &str| m.get(k).unwrap().as_str().unwrap().to_string();
                    (s("rule_id")[35..].to_string(), s("outcome"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn explain_full_lists_each_rules_outcome() {
    let e = engine(r#"{"rule_telemetry":true,"metrics":true}"#, RULES);
    let a = recommend(&e, "full");
    let mut got = meta_rules(&a);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("1".into(), "displaced".into()),
            ("2".into(), "displaced".into()),
            ("3".into(), "fired".into()),
            ("4".into(), "blocked".into()),
            ("5".into(), "noop".into()),
        ]
    );
    // Summary explain carries no per-rule list.
    assert!(meta_rules(&recommend(&e, "summary")).is_empty());
    let m = e.call("metrics", "{}").unwrap();
    let text = json::parse(m.as_bytes()).unwrap();
    let text = text
        .as_object()
        .unwrap()
        .get("prometheus")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains(r#"recsys_rule_outcomes{outcome="displaced",rule="00000000-0000-0000-0000-000000000001"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"recsys_rule_outcomes{outcome="blocked",rule="00000000-0000-0000-0000-000000000004"} 2"#), "{text}");
    assert!(text.contains(r#"rule="other""#), "{text}");
}

#[test]
fn off_by_default_and_previews_are_not_counted() {
    let e = engine("{}", RULES);
    assert!(meta_rules(&recommend(&e, "full")).is_empty());
    let e = engine(r#"{"rule_telemetry":true,"metrics":true}"#, RULES);
    let req = r#"{"surface":"home","k":5,"user":{"user_id":"u_fitness"}}"#;
    e.call(
        "admin.preview",
        &format!(r#"{{"request":{{"tenant":"demo","rules":[],"requests":[{req},{req}]}},"ctx":{{"now":"2026-01-02T00:00:00Z","principal":{{"subject":"o","tenant":"demo","roles":["operator"]}}}}}}"#),
    )
    .unwrap();
    let m = e.call("metrics", "{}").unwrap();
    assert!(!m.contains("00000000-0000-0000-0000-000000000001"), "{m}");
}
