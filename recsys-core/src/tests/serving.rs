//! Serving behaviours that are easier to state in Rust than as conformance cases: snapshot
//! swaps under concurrent load, failed loads keeping the serving snapshot, several snapshots
//! side by side (surface fallback, tenants), engine options, and the example fixture
//! (`examples/data`, tenant demo, surface home) end to end.

use crate::artifacts::{parse_artifact, version_hash, ArtifactLimits};
use crate::config::TenantConfig;
use crate::json::{self, Value};
use crate::snapshot::{SignalData, TenantSnapshot, Versions};
use crate::Engine;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const CTX: &str = r#"{"now":"2026-03-01T12:00:00Z","tenant":"demo","request_id":"r1"}"#;

/// One artifact as JSON text with a correct `build.version`, and its manifest URI.
fn artifact(
    tenant: &str,
    surface: &str,
    kind: &str,
    body_key: &str,
    body: &str,
) -> (String, String) {
    let text = |version: &str| {
        format!(
            r#"{{"v":1,"artifact_type":"{kind}","tenant":"{tenant}","surface":"{surface}","segment":"default","window":{{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"}},"{body_key}":{body},"build":{{"built_at":"2026-01-02T00:00:00Z","version":"{version}"}}}}"#
        )
    };
    let parsed = parse_artifact(text("").as_bytes(), None, &ArtifactLimits::default())
        .expect("test artifact parses");
    let v = version_hash(&parsed);
    (
        format!("s3://test/{tenant}/{surface}/{kind}/{v}.json"),
        text(&v),
    )
}

/// Documents for `load_snapshot` with one popularity artifact and optional rules.
fn docs(tenant: &str, surface: &str, pop: &[(&str, u32)], rules: Option<&str>) -> String {
    let items: Vec<String> = pop
        .iter()
        .map(|(i, c)| format!(r#"{{"item_id":"{i}","count":{c}}}"#))
        .collect();
    let (uri, text) = artifact(
        tenant,
        surface,
        "popularity",
        "items",
        &format!("[{}]", items.join(",")),
    );
    let rules = rules
        .map(|r| format!(r#","rules":{r}"#))
        .unwrap_or_default();
    format!(
        r#"{{"tenant":"{tenant}","surface":"{surface}"{rules},"manifest":{{"v":1,"tenant":"{tenant}","surface":"{surface}","current":{{"popularity":"{uri}"}}}},"artifacts":{{"{uri}":{text}}}}}"#
    )
}

fn input(surface: &str, k: u32, tenant: &str) -> String {
    format!(
        r#"{{"request":{{"surface":"{surface}","segment":"default","k":{k},"user":{{"user_id":"u1"}},"options":{{}}}},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":"{tenant}","request_id":"r1"}}}}"#
    )
}

fn parse(s: &str) -> Value {
    json::parse(s.as_bytes()).unwrap()
}

fn ids(answer: &str) -> Vec<String> {
    super::common::item_ids(&parse(answer))
}

fn warning_codes(answer: &str) -> Vec<String> {
    match parse(answer).as_object().unwrap().get("warnings") {
        None => Vec::new(),
        Some(w) => w
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                x.as_object()
                    .unwrap()
                    .get("code")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect(),
    }
}

const POP_A: &[(&str, u32)] = &[("a", 9), ("b", 4), ("c", 2)];
const POP_B: &[(&str, u32)] = &[("x", 7), ("y", 5), ("z", 1)];

/// A snapshot built directly from typed signal data (no documents): items p (3) and q (8).
fn typed_snapshot() -> TenantSnapshot {
    let data = SignalData {
        popularity: Some(vec![("p".to_string(), 3.0), ("q".to_string(), 8.0)]),
        ..SignalData::default()
    };
    TenantSnapshot::compile(
        "demo",
        "home",
        &TenantConfig::default(),
        Vec::new(),
        data,
        Versions::default(),
    )
}

#[test]
fn concurrent_recommend_during_snapshot_swaps_sees_one_whole_snapshot() {
    // Explicit empty rules: an absent `rules` member would keep the tenant's current rules.
    let docs_a = docs("demo", "home", POP_A, Some("[]"));
    let docs_b = docs(
        "demo",
        "home",
        POP_B,
        Some(
            r#"[{"id":"00000000-0000-4000-8000-000000000001","action":"pin","target_type":"item","item_ids":["z"]}]"#,
        ),
    );
    let req = input("home", 3, "demo");
    let answer_of = |d: &str| {
        let e = Engine::new();
        e.call("load_snapshot", d).unwrap();
        e.call("recommend", &req).unwrap()
    };
    let (answer_a, answer_b) = (answer_of(&docs_a), answer_of(&docs_b));
    assert_ne!(answer_a, answer_b);
    assert_eq!(ids(&answer_b), ["z", "x", "y"]);

    // The typed path: a snapshot compiled in Rust and installed with `Engine::install`.
    let answer_c = {
        let e = Engine::new();
        e.install(typed_snapshot());
        e.call("recommend", &req).unwrap()
    };
    assert_eq!(ids(&answer_c), ["q", "p"]);

    let engine = Arc::new(Engine::new());
    engine.call("load_snapshot", &docs_a).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (engine, stop, docs_a, docs_b) =
            (engine.clone(), stop.clone(), docs_a.clone(), docs_b.clone());
        std::thread::spawn(move || {
            let mut swaps = 0u32;
            while !stop.load(Ordering::Relaxed) || swaps < 30 {
                engine.call("load_snapshot", &docs_b).unwrap();
                engine.install(typed_snapshot());
                engine.call("load_snapshot", &docs_a).unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (engine, req) = (engine.clone(), req.clone());
            let valid = [answer_a.clone(), answer_b.clone(), answer_c.clone()];
            std::thread::spawn(move || {
                let mut seen = [0u32; 3];
                for _ in 0..300 {
                    let got = engine.call("recommend", &req).unwrap();
                    match valid.iter().position(|v| *v == got) {
                        Some(i) => seen[i] += 1,
                        None => panic!("answer from a mixed snapshot: {got}"),
                    }
                }
                seen
            })
        })
        .collect();
    let mut total = 0;
    for r in readers {
        total += r.join().unwrap().iter().sum::<u32>();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(writer.join().unwrap() >= 30);
    assert_eq!(total, 8 * 300);
    // The writer finished with snapshot A.
    assert_eq!(engine.call("recommend", &req).unwrap(), answer_a);
}

#[test]
fn failed_load_keeps_the_serving_snapshot() {
    let engine = Engine::new();
    let good = docs("demo", "home", POP_A, None);
    engine.call("load_snapshot", &good).unwrap();
    let before = engine.call("recommend", &input("home", 3, "demo")).unwrap();

    // Same documents with an invalid config, then with a tampered artifact.
    let bad_config = good.replacen(
        r#""surface":"home","#,
        r#""surface":"home","config":{"algo":"foo"},"#,
        1,
    );
    let e = engine.call("load_snapshot", &bad_config).unwrap_err();
    assert_eq!((e.code, e.status), ("RECSYS_INVALID_CONFIG", 422));
    let tampered = good.replacen(r#""count":9"#, r#""count":10"#, 1);
    let e = engine.call("load_snapshot", &tampered).unwrap_err();
    assert_eq!(e.code, "RECSYS_ARTIFACT_INCOMPATIBLE");

    assert_eq!(
        engine.call("recommend", &input("home", 3, "demo")).unwrap(),
        before
    );
}

#[test]
fn reload_replaces_and_remove_unloads() {
    let engine = Engine::new();
    engine
        .call("load_snapshot", &docs("demo", "home", POP_A, None))
        .unwrap();
    assert_eq!(
        ids(&engine.call("recommend", &input("home", 3, "demo")).unwrap()),
        ["a", "b", "c"]
    );
    engine
        .call("load_snapshot", &docs("demo", "home", POP_B, None))
        .unwrap();
    assert_eq!(
        ids(&engine.call("recommend", &input("home", 3, "demo")).unwrap()),
        ["x", "y", "z"]
    );
    assert!(engine.remove("demo", "home").is_some());
    let e = engine
        .call("recommend", &input("home", 3, "demo"))
        .unwrap_err();
    assert_eq!((e.code, e.status), ("RECSYS_SNAPSHOT_NOT_FOUND", 404));
    assert!(engine.remove("demo", "home").is_none());
}

#[test]
fn exact_surface_wins_over_default_and_fallback_follows_removal() {
    let engine = Engine::new();
    engine
        .call("load_snapshot", &docs("demo", "default", POP_A, None))
        .unwrap();
    engine
        .call("load_snapshot", &docs("demo", "home", POP_B, None))
        .unwrap();
    assert_eq!(
        engine.call("snapshots", "{}").unwrap(),
        r#"[{"tenant":"demo","surface":"default"},{"tenant":"demo","surface":"home"}]"#
    );
    let home = engine.call("recommend", &input("home", 2, "demo")).unwrap();
    assert_eq!(ids(&home), ["x", "y"]);
    assert!(warning_codes(&home).is_empty());
    let pdp = engine.call("recommend", &input("pdp", 2, "demo")).unwrap();
    assert_eq!(ids(&pdp), ["a", "b"]);
    assert_eq!(warning_codes(&pdp), ["SURFACE_FALLBACK"]);
    engine.remove("demo", "home");
    let home = engine.call("recommend", &input("home", 2, "demo")).unwrap();
    assert_eq!(ids(&home), ["a", "b"]);
    assert_eq!(warning_codes(&home), ["SURFACE_FALLBACK"]);
}

#[test]
fn tenants_with_the_same_surface_are_isolated() {
    let engine = Engine::new();
    engine
        .call("load_snapshot", &docs("demo", "home", POP_A, None))
        .unwrap();
    engine
        .call("load_snapshot", &docs("other", "home", POP_B, None))
        .unwrap();
    assert_eq!(
        ids(&engine.call("recommend", &input("home", 3, "demo")).unwrap()),
        ["a", "b", "c"]
    );
    let other = engine
        .call("recommend", &input("home", 3, "other"))
        .unwrap();
    assert_eq!(ids(&other), ["x", "y", "z"]);
    assert!(other.contains(r#""tenant_id":"other""#));
    let e = engine
        .call("recommend", &input("home", 3, "third"))
        .unwrap_err();
    assert_eq!(e.code, "RECSYS_SNAPSHOT_NOT_FOUND");
}

#[test]
fn engine_options_are_strict() {
    for (opts, ok) in [
        (r#"{}"#, true),
        (
            r#"{"rules_enabled":false,"algo_version":"v2","explain_require_admin":true,"admin_role":"ops"}"#,
            true,
        ),
        (r#"{"rules_enabled":"no"}"#, false),
        (r#"{"rule_enabled":false}"#, false),
        (r#"[]"#, false),
    ] {
        match Engine::with_options_json(opts) {
            Ok(_) => assert!(ok, "{opts} should be refused"),
            Err(e) => {
                assert!(!ok, "{opts}: {e}");
                assert_eq!(
                    (e.code, e.status),
                    ("RECSYS_INVALID_OPTIONS", 400),
                    "{opts}"
                );
            }
        }
    }
}

#[test]
fn custom_admin_role_gates_explain_full() {
    let engine = Engine::with_options_json(r#"{"admin_role":"Ops"}"#).unwrap();
    engine
        .call("load_snapshot", &docs("demo", "home", POP_A, None))
        .unwrap();
    let req = |roles: &str| {
        format!(
            r#"{{"request":{{"surface":"home","k":1,"user":{{"user_id":"u"}},"options":{{"explain":"full"}}}},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":"demo","roles":{roles}}}}}"#
        )
    };
    let e = engine.call("recommend", &req(r#"["admin"]"#)).unwrap_err();
    assert_eq!((e.code, e.status), ("RECSYS_FORBIDDEN", 403));
    let ok = engine.call("recommend", &req(r#"["ops"]"#)).unwrap();
    assert!(ok.contains(r#""weights""#), "{ok}");
}

#[test]
fn call_envelope_and_context_are_checked() {
    let engine = Engine::new();
    engine
        .call("load_snapshot", &docs("demo", "home", POP_A, None))
        .unwrap();
    let req = r#"{"surface":"home","user":{"user_id":"u"}}"#;
    for (input, code) in [
        ("[]".to_string(), "RECSYS_INVALID_REQUEST"),
        (
            format!(r#"{{"request":{req},"ctx":{CTX},"extra":1}}"#),
            "RECSYS_INVALID_REQUEST",
        ),
        (format!(r#"{{"request":{req}}}"#), "RECSYS_INVALID_CONTEXT"),
        (
            format!(r#"{{"request":{req},"ctx":{{"tenant":"demo","now":"soon"}}}}"#),
            "RECSYS_INVALID_CONTEXT",
        ),
        (
            format!(r#"{{"request":{req},"ctx":{{"now":"2026-03-01T12:00:00Z"}}}}"#),
            "RECSYS_INVALID_CONTEXT",
        ),
        ("{".to_string(), ""),
    ] {
        let e = engine.call("recommend", &input).unwrap_err();
        assert_eq!(e.status, 400, "{input}");
        if !code.is_empty() {
            assert_eq!(e.code, code, "{input}");
        }
    }
}

/// The shipped example (examples/data): config, rules, manifest and the object store.
fn example_documents() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    let manifest = read(&root.join("manifest.json"));
    let m = parse(&manifest);
    let current = m.as_object().unwrap().get("current").unwrap();
    let mut blobs = Vec::new();
    for (_, uri) in current.as_object().unwrap().iter() {
        let uri = uri.as_str().unwrap();
        let rel = uri.strip_prefix("s3://recsys-artifacts/").unwrap();
        let text = read(&root.join("objectstore").join(rel));
        blobs.push(format!("{}:{}", json::to_string(&Value::str(uri)), text));
    }
    format!(
        r#"{{"tenant":"demo","surface":"home","config":{},"rules":{},"manifest":{},"artifacts":{{{}}}}}"#,
        read(&root.join("config.json")),
        read(&root.join("rules.json")),
        manifest,
        blobs.join(",")
    )
}

#[test]
fn example_fixture_serves_with_rules_and_all_signals() {
    let docs = example_documents();
    let engine = Engine::new();
    let report = engine.call("load_snapshot", &docs).unwrap();
    let report = parse(&report);
    let r = report.as_object().unwrap();
    assert_eq!(r.get("items").unwrap().as_f64(), Some(8.0));
    assert_eq!(
        r.get("artifact_versions")
            .unwrap()
            .as_object()
            .unwrap()
            .len(),
        5
    );
    let request = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data/request.json"),
    )
    .unwrap();
    let input = format!(
        r#"{{"request":{request},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":"demo","request_id":"r1"}}}}"#
    );
    let answer = engine.call("recommend", &input).unwrap();
    let got = ids(&answer);
    // The pin rule puts the trail jacket first; the block rule removes the denim jacket.
    assert_eq!(got.first().map(String::as_str), Some("sku-trail-jacket"));
    assert!(!got.iter().any(|i| i == "sku-denim-jacket"), "{answer}");
    assert_eq!(got.len(), 5);
    let v = parse(&answer);
    let meta = v
        .as_object()
        .unwrap()
        .get("meta")
        .unwrap()
        .as_object()
        .unwrap();
    assert_eq!(
        meta.get("algo_version").unwrap().as_str(),
        Some("recsys-algo@local:blend")
    );
    assert_eq!(
        meta.get("config_version").unwrap().as_str(),
        Some(
            json::etag(
                std::fs::read(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/data/config.json")
                )
                .unwrap()
                .as_slice()
            )
            .unwrap()
            .as_str()
        )
    );
    // Same documents, second engine: byte-identical answer.
    let second = Engine::new();
    second.call("load_snapshot", &docs).unwrap();
    assert_eq!(second.call("recommend", &input).unwrap(), answer);
    // Similar for the running shoe never returns the shoe itself.
    let sim = engine
        .call(
            "similar",
            r#"{"request":{"surface":"home","item_id":"sku-running-shoe","k":5},"ctx":{"now":"2026-03-01T12:00:00Z","tenant":"demo"}}"#,
        )
        .unwrap();
    assert!(!ids(&sim).iter().any(|i| i == "sku-running-shoe"), "{sim}");
}
