//! Candidate budgets, the pool cap and the per-source signal switches (`limits.*`,
//! `signals.*` in the tenant config): each bounds or removes exactly its own source, and the
//! pool stops growing with the catalog once the budgets bind.

use crate::config::TenantConfig;
use crate::json::{self, Value};
use crate::snapshot::{SignalData, TenantSnapshot, Versions};
use crate::Engine;

const CTX: &str = r#"{"now":"2026-03-01T12:00:00Z","tenant":"t","request_id":"r"}"#;

fn id(i: usize) -> String {
    format!("p{i:05}")
}

/// `n` items, `p00000` most popular. Item i has tags `t<i % 50>`, `u<i % 7>` and a brand.
/// Anchor `p00500` has 300 co-occurrence neighbours (`p00600`...), user `u1` an implicit
/// row (`p00700`, `p00701`), and `p00700` ten neighbours of its own (`p00900`...).
fn engine(n: usize, config: &str) -> Engine {
    let popularity = (0..n).map(|i| (id(i), (n - i) as f64)).collect();
    let content = (0..n)
        .map(|i| {
            let tags = vec![
                format!("t{}", i % 50),
                format!("u{}", i % 7),
                format!("brand:b{}", i % 30),
            ];
            (id(i), tags)
        })
        .collect();
    let row =
        |from: usize, len: usize| (0..len).map(|j| (id(from + j), (len - j) as f64)).collect();
    let cooc = vec![(id(500), row(600, 300)), (id(700), row(900, 10))];
    let implicit = vec![("u1".to_string(), vec![(id(700), 5.0), (id(701), 4.0)])];
    serve(
        config,
        SignalData {
            popularity: Some(popularity),
            content: Some(content),
            cooc: Some(cooc),
            implicit: Some(implicit),
            session: None,
        },
    )
}

/// An engine serving `data` under `config` (tenant `t`, surface `home`).
fn serve(config: &str, data: SignalData) -> Engine {
    let cfg = TenantConfig::from_value(&json::parse(config.as_bytes()).unwrap())
        .expect("valid config")
        .0;
    let snap = TenantSnapshot::compile("t", "home", &cfg, Vec::new(), data, Versions::default());
    let e = Engine::new();
    e.install(snap);
    e
}

fn recommend(e: &Engine, request: &str) -> Value {
    let out = e
        .call(
            "recommend",
            &format!(r#"{{"request":{request},"ctx":{CTX}}}"#),
        )
        .expect("recommend");
    json::parse(out.as_bytes()).unwrap()
}

fn candidates(answer: &Value) -> u64 {
    let m = answer.as_object().unwrap().get("meta").unwrap();
    let c = m.as_object().unwrap().get("counts").unwrap();
    c.as_object()
        .unwrap()
        .get("candidates")
        .unwrap()
        .as_f64()
        .unwrap() as u64
}

/// Every reason of every returned item.
fn reasons(answer: &Value) -> Vec<String> {
    let items = answer.as_object().unwrap().get("items").unwrap();
    let mut out = Vec::new();
    for it in items.as_array().unwrap() {
        if let Some(r) = it.as_object().unwrap().get("reasons") {
            out.extend(
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string()),
            );
        }
    }
    out
}

/// A config with these weights, `popularity_fanout` 0 plus `limits` members, and `rest`.
fn config(weights: &str, limits: &str, rest: &str) -> String {
    format!(r#"{{"weights":{weights},"limits":{{"popularity_fanout":0{limits}}}{rest}}}"#)
}

const POP_COOC: &str = r#"{"pop":1,"cooc":1,"emb":0}"#;

const ANCHORED: &str =
    r#"{"surface":"home","k":20,"user":{"anonymous_id":"a"},"anchors":{"item_ids":["p00500"]}}"#;

/// With a co-occurrence weight and `popularity_fanout` 0 the pool is the 23 most popular
/// items (k + 3 pin slots) plus the anchor's neighbours, as many as `cooc_per_anchor`.
#[test]
fn cooc_per_anchor_bounds_the_neighbours_that_join_the_pool() {
    let cfg = |extra: &str| config(POP_COOC, extra, "");
    assert_eq!(
        candidates(&recommend(&engine(2000, &cfg("")), ANCHORED)),
        23 + 200
    );
    let c = cfg(r#","cooc_per_anchor":50"#);
    assert_eq!(candidates(&recommend(&engine(2000, &c), ANCHORED)), 23 + 50);
    let c = cfg(r#","cooc_per_anchor":0"#);
    assert_eq!(candidates(&recommend(&engine(2000, &c), ANCHORED)), 23);
    let off = config(POP_COOC, "", r#","signals":{"cooc_candidates":false}"#);
    assert_eq!(candidates(&recommend(&engine(2000, &off), ANCHORED)), 23);
}

/// Content candidates: `content_per_tag` per anchor similarity tag (the anchor has two,
/// `t0` and `u3`), `content_candidates` in all (equal shares), `max_pool` over everything.
#[test]
fn content_budgets_and_the_pool_cap_bound_the_pool() {
    let cfg = |limits: &str| config(r#"{"pop":0,"cooc":0,"emb":1}"#, limits, "");
    let pool = |limits: &str| candidates(&recommend(&engine(2000, &cfg(limits)), ANCHORED));
    assert_eq!(pool(r#","content_per_tag":10"#), 23 + 10 + 10);
    assert_eq!(
        pool(r#","content_per_tag":10,"content_candidates":12"#),
        23 + 6 + 6
    );
    assert_eq!(pool(r#","content_candidates":0"#), 23);
    assert_eq!(pool(r#","max_pool":30"#), 30);
    // Defaults: 200 per tag, 1000 in all; `t0` has only 40 items, the anchor excluded.
    assert_eq!(pool(""), 23 + (40 - 1 - 1) + 200);
}

/// Once the budgets bind, a 10x larger catalog gives the same pool.
#[test]
fn the_pool_does_not_grow_with_the_catalog() {
    let cfg = r#"{"weights":{"pop":1,"cooc":0.5,"emb":0.25},
        "limits":{"popularity_fanout":100,"content_per_tag":50}}"#;
    let small = candidates(&recommend(&engine(5_000, cfg), ANCHORED));
    let big = candidates(&recommend(&engine(50_000, cfg), ANCHORED));
    assert_eq!(small, big);
    assert!(small <= 5000, "{small}");
}

/// Turning content similarity off keeps user similarity (which `weights.emb: 0` would not).
#[test]
fn the_content_switch_keeps_user_similarity() {
    let req =
        r#"{"surface":"home","k":20,"user":{"user_id":"u1"},"options":{"include_reasons":true}}"#;
    let on = r#"{"weights":{"pop":0,"cooc":0,"emb":1}}"#;
    let r = reasons(&recommend(&engine(2000, on), req));
    assert!(r.iter().any(|x| x == "content_similarity"), "{r:?}");
    assert!(r.iter().any(|x| x == "collaborative"), "{r:?}");
    let off = r#"{"weights":{"pop":0,"cooc":0,"emb":1},"signals":{"content":false}}"#;
    let r = reasons(&recommend(&engine(2000, off), req));
    assert!(!r.iter().any(|x| x == "content_similarity"), "{r:?}");
    assert!(r.iter().any(|x| x == "collaborative"), "{r:?}");
    let no_user = r#"{"weights":{"pop":0,"cooc":0,"emb":1},"signals":{"collaborative":false}}"#;
    let r = reasons(&recommend(&engine(2000, no_user), req));
    assert!(!r.iter().any(|x| x == "collaborative"), "{r:?}");
    assert!(r.iter().any(|x| x == "content_similarity"), "{r:?}");
}

/// A known user's implicit items act as anchors unless `signals.history_anchors` is off.
#[test]
fn history_anchors_switch() {
    let req = r#"{"surface":"home","k":20,"user":{"user_id":"u1"}}"#;
    let cfg = |sw: &str| config(POP_COOC, "", sw);
    // p00700's ten neighbours join through the history anchor.
    assert_eq!(
        candidates(&recommend(&engine(2000, &cfg("")), req)),
        23 + 10
    );
    let off = cfg(r#","signals":{"history_anchors":false}"#);
    assert_eq!(candidates(&recommend(&engine(2000, &off), req)), 23);
}

/// A source switched off is not needed, so a missing artifact for it is no warning.
#[test]
fn a_switched_off_source_is_not_reported_unavailable() {
    let warns = |config: &str| {
        let e = serve(
            config,
            SignalData {
                popularity: Some((0..50).map(|i| (id(i), 1.0 + i as f64)).collect()),
                ..SignalData::default()
            },
        );
        let a = recommend(&e, r#"{"surface":"home","k":5,"user":{"user_id":"u1"}}"#);
        json::to_string(
            a.as_object()
                .unwrap()
                .get("warnings")
                .unwrap_or(&Value::Null),
        )
    };
    let on = warns(r#"{"weights":{"pop":1,"cooc":0,"emb":1}}"#);
    assert!(on.contains("content signal unavailable"), "{on}");
    assert!(on.contains("session signal unavailable"), "{on}");
    let off = warns(r#"{"weights":{"pop":1,"cooc":0,"emb":1},"signals":{"content":false}}"#);
    assert!(!off.contains("content signal unavailable"), "{off}");
    assert!(off.contains("session signal unavailable"), "{off}");
}
