//! Artifact lifecycle: refresh, verification, last-known-good, held empty publishes, pins,
//! freshness and readiness, driven through the real fixtures of the reference pipeline.

use super::common::item_ids as items;
use crate::json::{parse, Value};
use crate::loader::{ArtifactReader, Fetch, ManifestTemplate};
use crate::request::{CallContext, RecommendRequest, User};
use crate::time::Timestamp;
use crate::Engine;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

const TEMPLATE: &str = "s3://recsys-artifacts/registry/current/{tenant}/{surface}/manifest.json";
const MANIFEST_URI: &str = "s3://recsys-artifacts/registry/current/demo/home/manifest.json";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/artifacts")
}

/// An object store over a fixture dataset, with a replaceable manifest and per-URI overrides.
struct Store {
    dataset: &'static str,
    manifest: Mutex<Option<Vec<u8>>>,
    overrides: Mutex<HashMap<String, Fetch>>,
    reads: Mutex<Vec<String>>,
}

impl Store {
    fn new(dataset: &'static str, manifest_from: &str) -> Store {
        let m = std::fs::read(
            fixtures()
                .join(manifest_from)
                .join("registry/current/demo/home/manifest.json"),
        )
        .unwrap();
        Store {
            dataset,
            manifest: Mutex::new(Some(m)),
            overrides: Mutex::default(),
            reads: Mutex::default(),
        }
    }
    fn set_manifest(&self, m: Option<Vec<u8>>) {
        *self.manifest.lock().unwrap() = m;
    }
    fn reads(&self) -> Vec<String> {
        std::mem::take(&mut *self.reads.lock().unwrap())
    }
}

impl ArtifactReader for Store {
    fn read(&self, uri: &str, _max: usize) -> Fetch {
        self.reads.lock().unwrap().push(uri.to_string());
        if let Some(f) = self.overrides.lock().unwrap().get(uri) {
            return f.clone();
        }
        if uri == MANIFEST_URI {
            return match &*self.manifest.lock().unwrap() {
                Some(m) => Fetch::Found(m.clone()),
                None => Fetch::NotFound,
            };
        }
        let key = uri.strip_prefix("s3://recsys-artifacts/").unwrap_or(uri);
        match std::fs::read(fixtures().join(self.dataset).join("objectstore").join(key)) {
            Ok(b) => Fetch::Found(b),
            Err(_) => Fetch::NotFound,
        }
    }
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn engine(extra: &str) -> Engine {
    let e = Engine::with_options_json(&format!(
        r#"{{"manifest_template":"{TEMPLATE}","manifest_ttl_seconds":60{extra}}}"#
    ))
    .unwrap();
    e.loader_track("demo", "home").unwrap();
    e
}

fn recommend(e: &Engine, now: &str) -> Value {
    let ctx = CallContext::from_value(
        &parse(format!(r#"{{"now":"{now}","tenant":"demo"}}"#).as_bytes()).unwrap(),
    )
    .unwrap();
    let r = RecommendRequest::new("home", User::id("u_fitness")).k(10);
    crate::json::to_value(&e.recommend(&r, &ctx).unwrap()).unwrap()
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| {
        v.as_object()
            .unwrap()
            .get(k)
            .unwrap_or_else(|| panic!("no {k} in {v:?}"))
    })
}

fn outcome(r: &Result<Value, crate::ApiError>) -> String {
    get(r.as_ref().unwrap(), &["outcome"])
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn first_refresh_loads_and_serves() {
    let e = engine("");
    let store = Store::new("ecommerce-mini", "ecommerce-mini");
    let now = t("2026-11-23T00:00:00Z");
    let out = e.refresh_due(now, &store);
    assert_eq!(out.len(), 1);
    assert_eq!(outcome(&out[0].result), "swapped");
    assert_eq!(store.reads().len(), 6, "manifest + five artifacts");
    assert_eq!(items(&recommend(&e, "2026-11-23T00:00:00Z")).len(), 8);
    let r = e.readiness(now);
    assert_eq!(get(&r, &["status"]).as_str(), Some("ready"));
}

#[test]
fn refresh_waits_for_the_ttl_and_fetches_only_changed_artifacts() {
    let e = engine("");
    let store = Store::new("ecommerce-mini-2day", "ecommerce-mini");
    e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    store.reads();
    assert!(e.loader_due(t("2026-11-23T00:00:59Z")).is_empty());
    assert_eq!(e.loader_due(t("2026-11-23T00:01:00Z")).len(), 1);
    // Same manifest: nothing but the manifest is read.
    let out = e.refresh_due(t("2026-11-23T00:01:00Z"), &store);
    assert_eq!(outcome(&out[0].result), "unchanged");
    assert_eq!(store.reads(), vec![MANIFEST_URI.to_string()]);
    // Invalidation makes it due at once.
    assert_eq!(e.loader_invalidate("demo", Some("home")), 1);
    assert_eq!(e.loader_due(t("2026-11-23T00:01:01Z")).len(), 1);
    // A manifest that changes one artifact: exactly that one is fetched.
    let day1 = std::fs::read_to_string(
        fixtures().join("ecommerce-mini/registry/current/demo/home/manifest.json"),
    )
    .unwrap();
    let changed = day1.replace(
        "content_sim/a81df24dda26639a44a19b2eeefc3fb0be982d2deca36c4128221a5777560e3a.json",
        "content_sim/5434f0b4a14aa33943e51fed64327b70784c367dc8febfd15d769032b38c9956.json",
    );
    store.set_manifest(Some(changed.into_bytes()));
    let out = e.refresh_due(t("2026-11-23T00:01:01Z"), &store);
    assert_eq!(outcome(&out[0].result), "swapped");
    let reads = store.reads();
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads[1].contains("5434f0b4"));
}

#[test]
fn empty_publish_is_held_then_released_when_forced() {
    let e = engine("");
    let store = Store::new("ecommerce-mini-2day", "ecommerce-mini");
    e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    let before = recommend(&e, "2026-11-23T00:00:00Z");
    assert_eq!(items(&before).len(), 8);
    // Day two: the pipeline publishes empty popularity/cooc/implicit/session over good ones.
    store.set_manifest(Some(
        std::fs::read(
            fixtures().join("ecommerce-mini-2day/registry/current/demo/home/manifest.json"),
        )
        .unwrap(),
    ));
    let out = e.refresh_due(t("2026-11-23T00:02:00Z"), &store);
    let rep = out[0].result.as_ref().unwrap();
    assert_eq!(get(rep, &["outcome"]).as_str(), Some("swapped"));
    let held = get(rep, &["held"]).as_array().unwrap();
    let kinds: Vec<&str> = held
        .iter()
        .map(|h| get(h, &["kind"]).as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["popularity", "cooc", "implicit", "session_seq"]);
    // Still serving yesterday's popularity.
    let during = recommend(&e, "2026-11-23T00:02:00Z");
    assert_eq!(items(&during), items(&before));
    let versions = get(&during, &["meta", "artifact_versions"]);
    assert_eq!(
        get(versions, &["popularity"]).as_str(),
        Some("64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c")
    );
    assert_eq!(
        get(versions, &["content_sim"]).as_str(),
        Some("5434f0b4a14aa33943e51fed64327b70784c367dc8febfd15d769032b38c9956"),
        "the non-empty content_sim publish was applied"
    );
    let r = e.readiness(t("2026-11-23T00:02:00Z"));
    let s = &get(&r, &["surfaces"]).as_array().unwrap()[0];
    assert_eq!(get(s, &["held"]).as_array().unwrap().len(), 4);
    // Refreshing again keeps holding without refetching the held blobs.
    e.loader_invalidate("demo", None);
    store.reads();
    let out = e.refresh_due(t("2026-11-23T00:03:00Z"), &store);
    assert_eq!(store.reads(), vec![MANIFEST_URI.to_string()]);
    assert_eq!(
        get(out[0].result.as_ref().unwrap(), &["held"])
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // The operator forces the release: the empty artifacts now serve.
    let rel = e
        .loader_release("demo", "home", t("2026-11-23T00:04:00Z"))
        .unwrap();
    assert_eq!(get(&rel, &["outcome"]).as_str(), Some("released"));
    let after = recommend(&e, "2026-11-23T00:04:00Z");
    assert!(items(&after).is_empty(), "{:?}", items(&after));
    assert!(get(&after, &["meta"])
        .as_object()
        .unwrap()
        .get("diagnostics")
        .is_some());
}

#[test]
fn holding_can_be_disabled() {
    let e = engine(r#","hold_empty_publishes":false"#);
    let store = Store::new("ecommerce-mini-2day", "ecommerce-mini");
    e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    store.set_manifest(Some(
        std::fs::read(
            fixtures().join("ecommerce-mini-2day/registry/current/demo/home/manifest.json"),
        )
        .unwrap(),
    ));
    let out = e.refresh_due(t("2026-11-23T00:02:00Z"), &store);
    assert!(get(out[0].result.as_ref().unwrap(), &["outcome"]).as_str() == Some("swapped"));
    assert!(out[0]
        .result
        .as_ref()
        .unwrap()
        .as_object()
        .unwrap()
        .get("held")
        .is_none());
    assert!(items(&recommend(&e, "2026-11-23T00:02:00Z")).is_empty());
}

#[test]
fn corrupt_unreadable_or_missing_inputs_never_replace_what_serves() {
    let e = engine("");
    let store = Store::new("ecommerce-mini-2day", "ecommerce-mini");
    e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    let good = recommend(&e, "2026-11-23T00:00:00Z");
    let pop2 = "s3://recsys-artifacts/demo/home/popularity/c4c010b3c48a8eca11433bc6f8a5038d60934ebe678cdf734ca6282baedcacce.json";
    let day2 = std::fs::read(
        fixtures().join("ecommerce-mini-2day/registry/current/demo/home/manifest.json"),
    )
    .unwrap();
    type Setup = Box<dyn Fn(&Store)>;
    let cases: Vec<(&str, Setup, &str)> = vec![
        (
            "manifest missing",
            Box::new(|s: &Store| s.set_manifest(None)),
            "RECSYS_MANIFEST_NOT_FOUND",
        ),
        (
            "manifest corrupt",
            Box::new(|s: &Store| s.set_manifest(Some(b"{not json".to_vec()))),
            "RECSYS_ARTIFACT_INVALID_JSON",
        ),
        (
            "manifest for another tenant",
            Box::new(|s: &Store| {
                let m = std::fs::read_to_string(
                    fixtures().join("ecommerce-mini/registry/current/demo/home/manifest.json"),
                )
                .unwrap();
                s.set_manifest(Some(
                    m.replace("\"tenant\": \"demo\"", "\"tenant\": \"acme\"")
                        .into_bytes(),
                ))
            }),
            "RECSYS_ARTIFACT_TENANT_MISMATCH",
        ),
        (
            "manifest store down",
            Box::new(|s: &Store| {
                s.overrides.lock().unwrap().insert(
                    MANIFEST_URI.into(),
                    Fetch::Error("connection refused".into()),
                );
            }),
            "RECSYS_MANIFEST_UNREADABLE",
        ),
        (
            "artifact tampered",
            Box::new(move |s: &Store| {
                s.overrides.lock().unwrap().clear();
                s.set_manifest(Some(day2.clone()));
                let text = std::fs::read_to_string(fixtures().join("ecommerce-mini-2day/objectstore/demo/home/content_sim/5434f0b4a14aa33943e51fed64327b70784c367dc8febfd15d769032b38c9956.json")).unwrap();
                s.overrides.lock().unwrap().insert(
                    "s3://recsys-artifacts/demo/home/content_sim/5434f0b4a14aa33943e51fed64327b70784c367dc8febfd15d769032b38c9956.json".into(),
                    Fetch::Found(text.replacen("\"margin:high\"", "\"margin:low\"", 1).into_bytes()),
                );
            }),
            "RECSYS_ARTIFACT_HASH_MISMATCH",
        ),
        (
            "artifact missing",
            Box::new(move |s: &Store| {
                s.overrides.lock().unwrap().clear();
                s.overrides
                    .lock()
                    .unwrap()
                    .insert(pop2.into(), Fetch::NotFound);
                s.overrides.lock().unwrap().insert(
                    "s3://recsys-artifacts/demo/home/content_sim/5434f0b4a14aa33943e51fed64327b70784c367dc8febfd15d769032b38c9956.json".into(),
                    Fetch::NotFound,
                );
            }),
            "RECSYS_ARTIFACT_NOT_FOUND",
        ),
    ];
    let mut now = t("2026-11-23T00:10:00Z");
    for (name, setup, code) in cases {
        setup(&store);
        e.loader_invalidate("demo", None);
        let out = e.refresh_due(now, &store);
        assert_eq!(outcome(&out[0].result), "kept", "{name}");
        assert_eq!(
            items(&recommend(&e, "2026-11-23T00:10:00Z")),
            items(&good),
            "{name}"
        );
        let r = e.readiness(now);
        let s = &get(&r, &["surfaces"]).as_array().unwrap()[0];
        assert_eq!(
            get(&r, &["status"]).as_str(),
            Some("ready"),
            "{name}: last known good still serves"
        );
        let last = &get(s, &["last_errors"]).as_array().unwrap()[0];
        assert_eq!(
            get(last, &["code"]).as_str(),
            Some(code),
            "{name}: {last:?}"
        );
        assert_eq!(get(last, &["at"]).as_str(), Some(now.to_rfc3339().as_str()));
        now = now.add_secs(60);
    }
}

#[test]
fn never_loaded_surface_is_not_ready() {
    let e = engine("");
    let store = Store::new("ecommerce-mini", "ecommerce-mini");
    store.set_manifest(None);
    let out = e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    assert_eq!(outcome(&out[0].result), "absent");
    assert_eq!(
        get(&e.readiness(t("2026-11-23T00:00:00Z")), &["status"]).as_str(),
        Some("not_ready")
    );
}

#[test]
fn pinning_rolls_artifacts_back_until_unpinned() {
    let e = engine(r#","hold_empty_publishes":false"#);
    let store = Store::new("ecommerce-mini-2day", "ecommerce-mini-2day");
    e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    assert!(
        items(&recommend(&e, "2026-11-23T00:00:00Z")).is_empty(),
        "day two serves empty artifacts"
    );
    // Roll back to day one's manifest content.
    let day1 =
        std::fs::read(fixtures().join("ecommerce-mini/registry/current/demo/home/manifest.json"))
            .unwrap();
    let step = e
        .loader_pin("demo", "home", t("2026-11-23T00:01:00Z"), day1)
        .unwrap();
    let uris = match step {
        crate::loader::Step::Fetch(u) => u,
        other => panic!("{other:?}"),
    };
    let fetched = uris
        .iter()
        .map(|u| (u.clone(), store.read(u, usize::MAX)))
        .collect();
    let rep = e
        .loader_apply_artifacts("demo", "home", t("2026-11-23T00:01:00Z"), fetched)
        .unwrap();
    assert_eq!(get(&rep, &["outcome"]).as_str(), Some("swapped"));
    assert_eq!(items(&recommend(&e, "2026-11-23T00:01:00Z")).len(), 8);
    assert!(
        e.loader_due(t("2026-11-24T00:00:00Z")).is_empty(),
        "a pinned surface is not refreshed"
    );
    assert!(e.loader_unpin("demo", "home").unwrap());
    let out = e.refresh_due(t("2026-11-24T00:00:00Z"), &store);
    assert_eq!(outcome(&out[0].result), "swapped");
    assert!(items(&recommend(&e, "2026-11-24T00:00:00Z")).is_empty());
    // A bad manifest cannot be pinned.
    assert!(e
        .loader_pin("demo", "home", t("2026-11-24T00:00:00Z"), b"[]".to_vec())
        .is_err());
}

#[test]
fn stale_artifacts_are_served_with_a_warning() {
    let e = engine(r#","max_artifact_age_seconds":86400"#);
    let store = Store::new("ecommerce-mini", "ecommerce-mini");
    e.refresh_due(t("2026-01-02T12:00:00Z"), &store);
    let fresh = recommend(&e, "2026-01-02T12:00:00Z");
    let codes = |v: &Value| -> Vec<String> {
        v.as_object()
            .unwrap()
            .get("warnings")
            .and_then(|w| w.as_array())
            .unwrap_or(&[])
            .iter()
            .map(|w| get(w, &["code"]).as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        !codes(&fresh).contains(&"STALE_ARTIFACTS".to_string()),
        "{:?}",
        codes(&fresh)
    );
    // The artifact windows end 2026-01-02; a month later they are stale but still serve.
    let stale = recommend(&e, "2026-02-02T00:00:00Z");
    assert!(codes(&stale).contains(&"STALE_ARTIFACTS".to_string()));
    assert_eq!(items(&stale).len(), 8);
    let r = e.readiness(t("2026-02-02T00:00:00Z"));
    assert_eq!(
        get(&get(&r, &["surfaces"]).as_array().unwrap()[0], &["stale"]),
        &Value::Bool(true)
    );
}

#[test]
fn templates_are_validated() {
    assert!(ManifestTemplate::parse(TEMPLATE).is_ok());
    for bad in [
        "",
        "ftp://x/{surface}",
        "/abs/{surface}",
        "s3://b/../{surface}",
        "s3://b/{tenant}/m.json",
        "s3://b/{x}/{surface}",
    ] {
        assert!(ManifestTemplate::parse(bad).is_err(), "{bad}");
    }
    let tpl = ManifestTemplate::parse(TEMPLATE).unwrap();
    for (tn, sf) in [
        ("a/b", "home"),
        ("demo", ".."),
        ("demo", "ho\u{1}me"),
        (" demo", "home"),
    ] {
        assert_eq!(
            tpl.render(tn, sf).unwrap_err().code,
            "RECSYS_INVALID_PATH_SEGMENT",
            "{tn:?} {sf:?}"
        );
    }
    assert!(Engine::with_options_json(r#"{"manifest_template":"s3://b/../{surface}"}"#).is_err());
}

#[test]
fn document_changes_recompile_every_surface_of_the_tenant() {
    let e = engine("");
    let store = Store::new("ecommerce-mini", "ecommerce-mini");
    e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    let before = recommend(&e, "2026-11-23T00:00:00Z");
    assert!(get(&before, &["meta"])
        .as_object()
        .unwrap()
        .get("config_version")
        .is_none());
    let cfg = parse(br#"{"weights":{"pop":1},"limits":{"max_pins":1}}"#).unwrap();
    assert_eq!(e.set_config("demo", Some(&cfg)).unwrap(), 1);
    let after = recommend(&e, "2026-11-23T00:00:00Z");
    assert_eq!(
        get(&after, &["meta", "config_version"]).as_str().unwrap(),
        crate::json::etag_of_value(&cfg).unwrap()
    );
    let bad = parse(br#"{"algo":"nope"}"#).unwrap();
    assert_eq!(
        e.set_config("demo", Some(&bad)).unwrap_err().code,
        "RECSYS_INVALID_CONFIG"
    );
    let still = recommend(&e, "2026-11-23T00:00:00Z");
    assert_eq!(
        get(&still, &["meta", "config_version"]),
        get(&after, &["meta", "config_version"])
    );
    let rules = parse(br#"[{"action":"block","item_ids":["sku-backpack"]}]"#).unwrap();
    e.set_rules("demo", Some(&rules)).unwrap();
    assert!(!items(&recommend(&e, "2026-11-23T00:00:00Z")).contains(&"sku-backpack".to_string()));
}

#[test]
fn json_ops_drive_the_loader_step_by_step_and_pin_by_version_list() {
    let e = engine(r#","hold_empty_publishes":false"#);
    let store = Store::new("ecommerce-mini-2day", "ecommerce-mini-2day");
    let due = e
        .call("loader_due", r#"{"now":"2026-11-23T00:00:00Z"}"#)
        .unwrap();
    assert_eq!(
        due,
        format!(r#"[{{"tenant":"demo","surface":"home","manifest_uri":"{MANIFEST_URI}"}}]"#)
    );
    let Fetch::Found(m) = store.read(MANIFEST_URI, usize::MAX) else {
        panic!()
    };
    let m = String::from_utf8(m).unwrap();
    let step = e
        .call(
            "loader_apply_manifest",
            &format!(
                r#"{{"tenant":"demo","surface":"home","now":"2026-11-23T00:00:00Z","result":{{"found":{}}}}}"#,
                crate::json::to_string(&Value::String(m))
            ),
        )
        .unwrap();
    let uris: Vec<String> = get(&parse(step.as_bytes()).unwrap(), &["fetch"])
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert_eq!(uris.len(), 5);
    let mut results = String::from("{");
    for (i, u) in uris.iter().enumerate() {
        let Fetch::Found(b) = store.read(u, usize::MAX) else {
            panic!()
        };
        if i > 0 {
            results.push(',');
        }
        results.push_str(&format!(
            "{}:{{\"found\":{}}}",
            crate::json::to_string(&Value::str(u)),
            crate::json::to_string(&Value::String(String::from_utf8(b).unwrap()))
        ));
    }
    results.push('}');
    let done = e
        .call(
            "loader_apply_artifacts",
            &format!(r#"{{"tenant":"demo","surface":"home","now":"2026-11-23T00:00:00Z","results":{results}}}"#),
        )
        .unwrap();
    assert!(done.contains(r#""outcome":"swapped""#), "{done}");
    // Pin by version list: day one's popularity only.
    let pin = e
        .call(
            "loader_pin",
            r#"{"tenant":"demo","surface":"home","now":"2026-11-23T00:01:00Z","current":{"popularity":"s3://recsys-artifacts/demo/home/popularity/64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c.json"}}"#,
        )
        .unwrap();
    assert!(pin.contains("64c20045"), "{pin}");
    let Fetch::Found(b) = store.read(
        "s3://recsys-artifacts/demo/home/popularity/64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c.json",
        usize::MAX,
    ) else {
        panic!()
    };
    let mut fetched = std::collections::BTreeMap::new();
    fetched.insert(
        "s3://recsys-artifacts/demo/home/popularity/64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c.json".to_string(),
        Fetch::Found(b),
    );
    e.loader_apply_artifacts("demo", "home", t("2026-11-23T00:01:00Z"), fetched)
        .unwrap();
    assert_eq!(items(&recommend(&e, "2026-11-23T00:01:00Z")).len(), 8);
    let r = e
        .call("readiness", r#"{"now":"2026-11-23T00:01:00Z"}"#)
        .unwrap();
    assert!(r.contains(r#""pinned":true"#), "{r}");
    assert_eq!(e.call("liveness", "{}").unwrap(), r#"{"status":"ok"}"#);
}

#[test]
fn a_surface_without_a_manifest_is_served_by_the_default_surface() {
    let e = Engine::with_options_json(&format!(r#"{{"manifest_template":"{TEMPLATE}"}}"#)).unwrap();
    e.loader_track("demo", "pdp").unwrap();
    let docs = r#"{"tenant":"demo","surface":"default","signals":{"popularity":[{"item_id":"x","score":1}]}}"#;
    e.call("load_snapshot", docs).unwrap();
    let store = Store::new("ecommerce-mini", "ecommerce-mini");
    let out = e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    assert_eq!(
        outcome(&out[0].result),
        "absent",
        "no manifest at registry/current/demo/pdp"
    );
    let r = e.readiness(t("2026-11-23T00:00:00Z"));
    assert_eq!(get(&r, &["status"]).as_str(), Some("ready"), "{r:?}");
    let ctx = CallContext::from_value(
        &parse(br#"{"now":"2026-11-23T00:00:00Z","tenant":"demo"}"#).unwrap(),
    )
    .unwrap();
    let r = RecommendRequest::new("pdp", User::id("u"));
    let a = crate::json::to_value(&e.recommend(&r, &ctx).unwrap()).unwrap();
    assert_eq!(items(&a), ["x"]);
    assert_eq!(
        get(&a, &["meta", "snapshot_surface"]).as_str(),
        Some("default")
    );
    assert!(crate::json::to_string(&a).contains("SURFACE_FALLBACK"));
}

#[test]
fn artifact_pins_are_access_checked_and_audited() {
    let e = engine(r#","hold_empty_publishes":false"#);
    let store = Store::new("ecommerce-mini-2day", "ecommerce-mini-2day");
    e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    let ctx = |roles: &str, tenant: &str| {
        format!(
            r#"{{"now":"2026-11-23T00:05:00Z","request_id":"op-1","principal":{{"subject":"oncall","tenant":"{tenant}","roles":[{roles}]}}}}"#
        )
    };
    let day1 = std::fs::read_to_string(
        fixtures().join("ecommerce-mini/registry/current/demo/home/manifest.json"),
    )
    .unwrap();
    let req = format!(
        r#"{{"tenant":"demo","surface":"home","manifest":{}}}"#,
        crate::json::to_string(&Value::String(day1))
    );
    // A viewer, or another tenant's admin, cannot pin.
    for c in [ctx(r#""viewer""#, "demo"), ctx(r#""admin""#, "acme")] {
        let err = e
            .call(
                "admin.pin_artifacts",
                &format!(r#"{{"request":{req},"ctx":{c}}}"#),
            )
            .unwrap_err();
        assert_eq!(err.code, "RECSYS_FORBIDDEN");
    }
    let pinned = e
        .call(
            "admin.pin_artifacts",
            &format!(
                r#"{{"request":{req},"ctx":{}}}"#,
                ctx(r#""operator""#, "demo")
            ),
        )
        .unwrap();
    assert!(
        pinned.contains("\"fetch\"") && pinned.contains("\"audit_id\""),
        "{pinned}"
    );
    let audit = e
        .call(
            "admin.audit",
            &format!(
                r#"{{"request":{{"tenant":"demo"}},"ctx":{}}}"#,
                ctx(r#""operator""#, "demo")
            ),
        )
        .unwrap();
    assert!(audit.contains(r#""action":"artifacts.pin""#), "{audit}");
    assert!(
        audit.contains(r#""pinned":false"#) && audit.contains(r#""pinned":true"#),
        "before and after states: {audit}"
    );
    let unpinned = e
        .call(
            "admin.unpin_artifacts",
            &format!(
                r#"{{"request":{{"tenant":"demo","surface":"home"}},"ctx":{}}}"#,
                ctx(r#""admin""#, "demo")
            ),
        )
        .unwrap();
    assert!(unpinned.contains(r#""was_pinned":true"#));
    let verify = e
        .call(
            "admin.verify_audit",
            &format!(
                r#"{{"request":{{"tenant":"demo"}},"ctx":{}}}"#,
                ctx(r#""admin""#, "demo")
            ),
        )
        .unwrap();
    assert!(verify.contains(r#""ok":true"#), "{verify}");
}

/// A first load where one artifact fails verification serves what verified, but says so:
/// outcome `partial` with the failure and the missing kind, and readiness is `not_ready`
/// naming what is missing until a good artifact arrives.
#[test]
fn a_first_load_with_a_failed_artifact_is_partial_and_not_ready() {
    let s = Store::new("ecommerce-mini", "ecommerce-mini");
    let pop = "s3://recsys-artifacts/demo/home/popularity/64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c.json";
    let good = std::fs::read(
        fixtures().join("ecommerce-mini/objectstore/demo/home/popularity/64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c.json"),
    )
    .unwrap();
    let tampered =
        String::from_utf8(good.clone())
            .unwrap()
            .replacen("\"count\": 3", "\"count\": 4", 1);
    assert_ne!(tampered.as_bytes(), &good[..]);
    s.overrides
        .lock()
        .unwrap()
        .insert(pop.into(), Fetch::Found(tampered.into_bytes()));
    let e = engine("");
    let now = "2026-11-23T00:00:00Z";
    let r = e.refresh_due(t(now), &s);
    let report = r[0].result.as_ref().unwrap();
    assert_eq!(
        get(report, &["outcome"]).as_str(),
        Some("partial"),
        "{report:?}"
    );
    let failures = get(report, &["failures"]).as_array().unwrap();
    assert_eq!(
        get(&failures[0], &["kind"]).as_str(),
        Some("popularity"),
        "{failures:?}"
    );
    assert_eq!(
        get(report, &["missing"]),
        &Value::Array(vec![Value::str("popularity")])
    );
    let ready = e.readiness(t(now));
    assert_eq!(
        get(&ready, &["status"]).as_str(),
        Some("not_ready"),
        "{ready:?}"
    );
    let surface = &get(&ready, &["surfaces"]).as_array().unwrap()[0];
    assert_eq!(get(surface, &["serving"]), &Value::Bool(true));
    assert_eq!(
        get(surface, &["missing"]),
        &Value::Array(vec![Value::str("popularity")])
    );
    // The good artifact arrives: swapped, nothing missing, ready.
    s.overrides.lock().unwrap().clear();
    e.loader_invalidate("demo", None);
    let r = e.refresh_due(t("2026-11-23T00:05:00Z"), &s);
    let report = r[0].result.as_ref().unwrap();
    assert_eq!(
        get(report, &["outcome"]).as_str(),
        Some("swapped"),
        "{report:?}"
    );
    let ready = e.readiness(t("2026-11-23T00:05:00Z"));
    assert_eq!(
        get(&ready, &["status"]).as_str(),
        Some("ready"),
        "{ready:?}"
    );
}

/// Drives one refresh handing each artifact over on its own with `loader_stage_artifact`.
fn refresh_staged(e: &Engine, store: &Store, now: Timestamp) -> Value {
    let step = e
        .loader_apply_manifest("demo", "home", now, store.read(MANIFEST_URI, usize::MAX))
        .unwrap();
    let uris = match step {
        crate::loader::Step::Fetch(u) => u,
        crate::loader::Step::Done(v) => return v,
    };
    for uri in &uris {
        let Fetch::Found(bytes) = store.read(uri, usize::MAX) else {
            continue;
        };
        let staged = e.loader_stage_artifact("demo", "home", uri, &bytes);
        if let Ok(v) = staged {
            assert_eq!(get(&v, &["uri"]).as_str(), Some(uri.as_str()));
        }
    }
    e.loader_apply_artifacts("demo", "home", now, Default::default())
        .unwrap()
}

#[test]
fn artifacts_staged_one_at_a_time_load_like_a_batch() {
    let now = t("2026-11-23T00:00:00Z");
    let batch = engine("");
    batch.refresh_due(now, &Store::new("ecommerce-mini", "ecommerce-mini"));
    let staged = engine("");
    let report = refresh_staged(
        &staged,
        &Store::new("ecommerce-mini", "ecommerce-mini"),
        now,
    );
    assert_eq!(get(&report, &["outcome"]).as_str(), Some("swapped"));
    assert_eq!(
        crate::json::to_string(&recommend(&staged, "2026-11-23T00:00:00Z")),
        crate::json::to_string(&recommend(&batch, "2026-11-23T00:00:00Z")),
    );
    // Staging needs a pending manifest that names the URI.
    let err = staged
        .loader_stage_artifact("demo", "home", "s3://recsys-artifacts/x.json", b"{}")
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_LOADER_NO_PENDING_MANIFEST");
}

#[test]
fn a_staged_artifact_that_fails_verification_keeps_the_last_known_good() {
    let now = t("2026-11-23T00:00:00Z");
    let e = engine("");
    let store = Store::new("ecommerce-mini-2day", "ecommerce-mini");
    assert_eq!(outcome(&e.refresh_due(now, &store)[0].result), "swapped");
    let before = crate::json::to_string(&recommend(&e, "2026-11-23T00:00:00Z"));
    let day1 = std::fs::read_to_string(
        fixtures().join("ecommerce-mini/registry/current/demo/home/manifest.json"),
    )
    .unwrap();
    let new_uri = "s3://recsys-artifacts/demo/home/content_sim/5434f0b4a14aa33943e51fed64327b70784c367dc8febfd15d769032b38c9956.json";
    store.set_manifest(Some(
        day1.replace(
            "content_sim/a81df24dda26639a44a19b2eeefc3fb0be982d2deca36c4128221a5777560e3a.json",
            "content_sim/5434f0b4a14aa33943e51fed64327b70784c367dc8febfd15d769032b38c9956.json",
        )
        .into_bytes(),
    ));
    let later = t("2026-11-23T00:01:00Z");
    let step = e
        .loader_apply_manifest("demo", "home", later, store.read(MANIFEST_URI, usize::MAX))
        .unwrap();
    assert_eq!(step, crate::loader::Step::Fetch(vec![new_uri.to_string()]));
    // A URI the manifest does not name is refused.
    let err = e
        .loader_stage_artifact("demo", "home", "s3://recsys-artifacts/other.json", b"{}")
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_LOADER_UNKNOWN_ARTIFACT");
    // Tampered bytes: refused when staged, recorded when applied, nothing replaced.
    let Fetch::Found(bytes) = store.read(new_uri, usize::MAX) else {
        panic!("fixture missing")
    };
    let tampered = String::from_utf8(bytes)
        .unwrap()
        .replacen("brand:", "brand:x", 1);
    let err = e
        .loader_stage_artifact("demo", "home", new_uri, tampered.as_bytes())
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_ARTIFACT_INCOMPATIBLE");
    let r = e
        .loader_apply_artifacts("demo", "home", later, Default::default())
        .unwrap();
    assert_eq!(get(&r, &["outcome"]).as_str(), Some("kept"));
    assert_eq!(
        crate::json::to_string(&recommend(&e, "2026-11-23T00:01:00Z")),
        before
    );
}

#[test]
fn document_changes_share_the_catalog_and_prefix_changes_rebuild_only_the_tag_index() {
    let e = engine("");
    e.refresh_due(
        t("2026-11-23T00:00:00Z"),
        &Store::new("ecommerce-mini", "ecommerce-mini"),
    );
    let first = e.snapshot("demo", "home").unwrap().snapshot;
    e.set_rules(
        "demo",
        Some(&parse(br#"[{"action":"block","target_type":"item","item_ids":["x"]}]"#).unwrap()),
    )
    .unwrap();
    e.set_config("demo", Some(&parse(br#"{"algo":"blend"}"#).unwrap()))
        .unwrap();
    let second = e.snapshot("demo", "home").unwrap().snapshot;
    assert!(
        !std::sync::Arc::ptr_eq(&first, &second),
        "a new policy is served"
    );
    assert!(std::sync::Arc::ptr_eq(&first.catalog, &second.catalog));
    assert!(std::sync::Arc::ptr_eq(&first.tag_index, &second.tag_index));
    assert_eq!(second.rules.len(), 1);
    // New brand prefixes: same catalog, a tag index built for them.
    e.set_config(
        "demo",
        Some(&parse(br#"{"diversity":{"brand_tag_prefixes":["maker:"]}}"#).unwrap()),
    )
    .unwrap();
    let third = e.snapshot("demo", "home").unwrap().snapshot;
    assert!(std::sync::Arc::ptr_eq(&first.catalog, &third.catalog));
    assert!(!std::sync::Arc::ptr_eq(&first.tag_index, &third.tag_index));
    assert_eq!(third.tag_index.prefixes().brand, vec!["maker:".to_string()]);
}

#[test]
fn a_snapshot_replaced_while_a_request_holds_it_is_freed_on_a_write_path() {
    let e = engine("");
    e.refresh_due(
        t("2026-11-23T00:00:00Z"),
        &Store::new("ecommerce-mini", "ecommerce-mini"),
    );
    // A request holds the serving snapshot while a config change replaces it.
    let held = e.snapshot("demo", "home").unwrap().snapshot;
    let weak = std::sync::Arc::downgrade(&held);
    e.set_config("demo", Some(&parse(br#"{"algo":"blend"}"#).unwrap()))
        .unwrap();
    // The request ends: its reference is not the last one, so it frees nothing.
    drop(held);
    assert!(
        weak.upgrade().is_some(),
        "retired, not freed by the request"
    );
    // The next write path (or loader tick) frees it.
    assert_eq!(e.reap_retired(), 0);
    assert!(weak.upgrade().is_none());
    // A snapshot no request holds is freed at once by the change that replaces it.
    let current = e.snapshot("demo", "home").unwrap().snapshot;
    let weak = std::sync::Arc::downgrade(&current);
    drop(current);
    e.set_config("demo", None).unwrap();
    assert!(weak.upgrade().is_none());
}

#[test]
fn a_changed_artifact_rebuilds_only_what_depends_on_it() {
    let e = engine("");
    let store = Store::new("ecommerce-mini-2day", "ecommerce-mini");
    e.refresh_due(t("2026-11-23T00:00:00Z"), &store);
    let first = e.snapshot("demo", "home").unwrap().snapshot;
    // A new co-occurrence artifact over the same items (one count raised), the rest unchanged.
    let old_version = "d964fd4949770b5ad88ad26828568d428a834792718df35074530a2599a7e5e2";
    let text = std::fs::read_to_string(fixtures().join(format!(
        "ecommerce-mini/objectstore/demo/home/cooc/{old_version}.json"
    )))
    .unwrap()
    .replacen("\"count\": 1\n", "\"count\": 5\n", 1);
    let limits = crate::artifacts::ArtifactLimits::default();
    let parsed = crate::artifacts::parse_artifact(text.as_bytes(), None, &limits).unwrap();
    let version = crate::artifacts::version_hash(&parsed);
    assert_ne!(version, old_version);
    let uri = format!("s3://recsys-artifacts/demo/home/cooc/{version}.json");
    store.overrides.lock().unwrap().insert(
        uri.clone(),
        Fetch::Found(text.replace(old_version, &version).into_bytes()),
    );
    let day1 = std::fs::read_to_string(
        fixtures().join("ecommerce-mini/registry/current/demo/home/manifest.json"),
    )
    .unwrap();
    let changed = day1.replace(
        &format!("s3://recsys-artifacts/demo/home/cooc/{old_version}.json"),
        &uri,
    );
    store.set_manifest(Some(changed.clone().into_bytes()));
    e.loader_invalidate("demo", Some("home"));
    let out = e.refresh_due(t("2026-11-23T00:00:01Z"), &store);
    assert_eq!(outcome(&out[0].result), "swapped");
    let second = e.snapshot("demo", "home").unwrap().snapshot;
    assert!(!std::sync::Arc::ptr_eq(&first.catalog, &second.catalog));
    // Ids, content tags, popularity and user rows are the same arrays, not copies; the
    // co-occurrence rows are new; the tag index is kept.
    assert_eq!(
        second.catalog.shared_parts(&first.catalog),
        [true, true, true, false, true]
    );
    assert!(std::sync::Arc::ptr_eq(&first.tag_index, &second.tag_index));
    // And the result is what a fresh load of the same manifest compiles.
    let fresh = engine("");
    let store2 = Store::new("ecommerce-mini-2day", "ecommerce-mini");
    store2.set_manifest(Some(changed.into_bytes()));
    *store2.overrides.lock().unwrap() = store.overrides.lock().unwrap().clone();
    fresh.refresh_due(t("2026-11-23T00:00:01Z"), &store2);
    let want = fresh.snapshot("demo", "home").unwrap().snapshot;
    assert_eq!(want.catalog_len(), second.catalog_len());
    let mut differs = 0;
    for i in 0..want.catalog_len() as u32 {
        assert_eq!(want.items.name(i), second.items.name(i));
        assert_eq!(want.cooc_row(i), second.cooc_row(i));
        assert_eq!(want.raw_item_tags(i), second.raw_item_tags(i));
        differs += usize::from(first.cooc_row(i) != second.cooc_row(i));
    }
    assert!(
        differs > 0,
        "the new co-occurrence rows differ from the old ones"
    );
    assert_eq!(
        crate::json::to_string(&recommend(&fresh, "2026-11-23T00:01:00Z")),
        crate::json::to_string(&recommend(&e, "2026-11-23T00:01:00Z"))
    );
}
