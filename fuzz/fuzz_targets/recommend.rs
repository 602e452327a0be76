//! `Engine::call("recommend", ...)` with the fuzz input as the request, against the demo
//! snapshot of `examples/data/` (config, rules, manifest and the five artifacts), loaded once.
//!
//! The input is spliced verbatim into `{"request": <input>, "ctx": {...}}` when it is valid
//! UTF-8 JSON (so duplicate keys and number literals reach the request decoder as written);
//! any other input is passed as a JSON string (exercising the "not an object" path).
//!
//! Invariants on every Ok answer:
//! * the answer is valid JSON with an `items` array;
//! * `items.len() <= k` when `k` is an integer, `<= 20` when `k` is absent, and always `<= 200`;
//! * ranks are exactly 1..=n in order; no item id repeats;
//! * no id of `candidates.exclude_ids` appears; when `candidates.include_ids` is non-empty every
//!   item is one of them;
//! * every `score` is a finite number (never `null`: arithmetic saturates).
//!
//! On every error: at most `MAX_PROBLEMS + 1` problems (limits honoured), and a request beyond
//! the document size limit is refused with `RECSYS_JSON_TOO_LARGE` only when it is larger.
//!
//! The request fields are read the way the request decoder documents it: member names match
//! ASCII case-insensitively, the last duplicate wins, `null` means absent, ids are trimmed and
//! blank ones ignored.
//!
//! Until the engine serves `load_snapshot` (answer `RECSYS_UNKNOWN_OPERATION`) the target
//! reports that once on stderr and does nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::json::{self, Map, Value};
use recsys_core::Engine;
use std::collections::HashSet;
use std::sync::OnceLock;

const CTX: &str = r#"{"now":"2026-01-02T00:00:00Z","tenant":"demo","request_id":"f"}"#;

macro_rules! artifact {
    ($kind:literal, $version:literal) => {
        (
            concat!("s3://recsys-artifacts/demo/home/", $kind, "/", $version, ".json"),
            include_str!(concat!("../../examples/data/objectstore/demo/home/", $kind, "/", $version, ".json")),
        )
    };
}

const ARTIFACTS: [(&str, &str); 5] = [
    artifact!("content_sim", "a81df24dda26639a44a19b2eeefc3fb0be982d2deca36c4128221a5777560e3a"),
    artifact!("cooc", "d964fd4949770b5ad88ad26828568d428a834792718df35074530a2599a7e5e2"),
    artifact!("implicit", "4f76667b3f3ef09a8d394fccc7e39c94f6de13e7b0302cf9c3b5351db6044fcd"),
    artifact!("popularity", "64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c"),
    artifact!("session_seq", "0e5ab0958425e002acb616347a01950a0114e3fe7e728731f2d09c33ede83769"),
];
const CONFIG: &str = include_str!("../../examples/data/config.json");
const RULES: &str = include_str!("../../examples/data/rules.json");
const MANIFEST: &str = include_str!("../../examples/data/manifest.json");

/// The `load_snapshot` input: `{"tenant","surface","config","rules","manifest","artifacts"}`.
fn documents() -> String {
    let manifest = recsys_core::check::Manifest::parse(MANIFEST.as_bytes())
        .expect("examples/data/manifest.json does not parse");
    let mut artifacts = String::from("{");
    for (i, (uri, text)) in ARTIFACTS.iter().enumerate() {
        assert!(
            manifest.artifacts().any(|(_, u)| u == *uri),
            "examples/data/manifest.json no longer points at {uri}; update ARTIFACTS"
        );
        if i > 0 {
            artifacts.push(',');
        }
        artifacts.push_str(&json::to_string(&Value::str(*uri)));
        artifacts.push(':');
        artifacts.push_str(text);
    }
    artifacts.push('}');
    format!(
        r#"{{"tenant":"demo","surface":"home","config":{CONFIG},"rules":{RULES},"manifest":{MANIFEST},"artifacts":{artifacts}}}"#
    )
}

/// The engine with the demo snapshot, or `None` while `load_snapshot` is not implemented.
fn engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let engine = Engine::new();
            match engine.call("load_snapshot", &documents()) {
                Ok(report) => {
                    if verbose() {
                        eprintln!("load_snapshot: {report}");
                    }
                    Some(engine)
                }
                Err(e) if e.code == "RECSYS_UNKNOWN_OPERATION" => {
                    eprintln!("recommend target PENDING: the engine has no load_snapshot yet ({})", e.message);
                    None
                }
                Err(e) => panic!("load_snapshot of examples/data failed: {}", e.to_json()),
            }
        })
        .as_ref()
}

/// `RECSYS_FUZZ_VERBOSE=1`: print every answer (for replaying a corpus by hand).
fn verbose() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var("RECSYS_FUZZ_VERBOSE").is_ok_and(|v| v == "1"))
}

/// Last member named `key` ignoring ASCII case; `null` counts as absent.
fn member<'a>(m: &'a Map, key: &str) -> Option<&'a Value> {
    m.get_ci(key).filter(|v| !v.is_null())
}

/// The trimmed, non-blank string ids of an id list (non-strings skipped).
fn id_set(v: Option<&Value>) -> HashSet<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let Some(engine) = engine() else { return };
    let parsed = json::parse(data).ok();
    let request_text = match (&parsed, std::str::from_utf8(data)) {
        (Some(_), Ok(text)) => text.to_owned(),
        _ => json::to_string(&Value::String(String::from_utf8_lossy(data).into_owned())),
    };
    let input = format!(r#"{{"request":{request_text},"ctx":{CTX}}}"#);
    let answer = engine.call("recommend", &input);
    if verbose() {
        match &answer {
            Ok(a) => eprintln!("recommend OK: {a}"),
            Err(e) => eprintln!("recommend ERR: {}", e.to_json()),
        }
    }
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            assert!(
                e.problems.len() <= recsys_core::ApiError::MAX_PROBLEMS + 1,
                "{} problems, the cap is {}",
                e.problems.len(),
                recsys_core::ApiError::MAX_PROBLEMS
            );
            return;
        }
    };

    let answer = json::parse(answer.as_bytes()).unwrap_or_else(|e| panic!("recommend answer is not json: {e}\n{answer}"));
    let items = answer
        .as_object()
        .and_then(|m| m.get("items"))
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("recommend answer has no items array: {}", json::to_string(&answer)));

    // The request as the decoder reads it (an Ok answer implies it was an object).
    let empty = Map::new();
    let req = parsed.as_ref().and_then(Value::as_object).unwrap_or(&empty);
    match member(req, "k") {
        None => assert!(items.len() <= 20, "{} items for the default k=20", items.len()),
        Some(k) => {
            if let Some(k) = k.as_number().and_then(|n| n.as_i64()) {
                assert!(items.len() as i64 <= k, "{} items for k={k}", items.len());
            }
        }
    }
    assert!(items.len() <= 200, "{} items, more than 200", items.len());

    let cands = member(req, "candidates").and_then(Value::as_object);
    let include = id_set(cands.and_then(|c| member(c, "include_ids")));
    let exclude = id_set(cands.and_then(|c| member(c, "exclude_ids")));

    let mut seen = HashSet::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let m = item.as_object().unwrap_or_else(|| panic!("items[{i}] is not an object"));
        let rank = m.get("rank").and_then(Value::as_number).and_then(|n| n.as_i64());
        assert_eq!(rank, Some(i as i64 + 1), "items[{i}] has rank {rank:?}");
        let id = m.get("item_id").and_then(Value::as_str).unwrap_or_else(|| panic!("items[{i}] has no item_id"));
        assert!(seen.insert(id), "item {id:?} appears twice");
        assert!(!exclude.contains(id), "excluded item {id:?} returned at rank {}", i + 1);
        assert!(include.is_empty() || include.contains(id), "item {id:?} is not in include_ids");
        let score = m.get("score");
        assert!(
            score.and_then(Value::as_f64).is_some_and(f64::is_finite),
            "items[{i}] score is not a finite number: {score:?}"
        );
    }
});
