//! The ways `load_snapshot` takes artifacts give the same answers, versions and errors as the
//! exact path (the call parsed whole into a tree, [`Engine::call_value`]): bytes through the
//! typed [`Documents`], and objects (as published, or compacted) and strings embedded in the
//! call's text ([`Engine::call`], whose artifacts are cut out of the text).

use crate::compile::call_limits;
use crate::engine::{Documents, Engine};
use crate::error::ApiError;
use crate::json::{self, Map, Value};
use proptest::prelude::*;
use std::cell::Cell;
use std::path::PathBuf;

thread_local! {
    /// `load_snapshot` calls of this thread that took the exact path (parsed whole).
    pub(super) static EXACT_LOADS: Cell<usize> = const { Cell::new(0) };
}

fn exact_loads() -> usize {
    EXACT_LOADS.with(Cell::get)
}

/// One load: tenant, surface, manifest text and the artifacts (URI, text) it names.
struct Load {
    tenant: String,
    surface: String,
    manifest: String,
    artifacts: Vec<(String, String)>,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/artifacts")
}

/// Every artifact file of the fixtures, with its kind and its file stem.
fn blobs() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (kind, p) in crate::artifacts::oracle::tests::fixture_files() {
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&p).unwrap();
        out.push((kind.as_str().to_string(), stem, text));
    }
    let gv = fixtures().join("golden-vectors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&gv)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let Ok(Value::Object(m)) = json::parse(text.as_bytes()) else {
            continue;
        };
        let Some(kind) = m.get("artifact_type").and_then(Value::as_str) else {
            continue;
        };
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        out.push((kind.to_string(), stem, text));
    }
    out
}

/// A load of each fixture artifact alone, and of each dataset's published manifests.
fn loads() -> Vec<Load> {
    let mut out = Vec::new();
    for (kind, stem, text) in blobs() {
        let Ok(Value::Object(m)) = json::parse(text.as_bytes()) else {
            continue;
        };
        let name = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("x").to_string();
        let (tenant, surface) = (name("tenant"), name("surface"));
        if !crate::request::is_path_safe(&tenant) || !crate::request::is_path_safe(&surface) {
            continue;
        }
        let uri = format!("s3://b/{tenant}/{surface}/{kind}/{stem}.json");
        out.push(Load {
            manifest: manifest(&tenant, &surface, &[(&kind, &uri)]),
            tenant,
            surface,
            artifacts: vec![(uri, text)],
        });
    }
    for ds in ["tiny", "ecommerce-mini", "ecommerce-mini-2day"] {
        let path = fixtures()
            .join(ds)
            .join("registry/current/demo/home/manifest.json");
        let manifest = std::fs::read_to_string(path).unwrap();
        let v = json::parse(manifest.as_bytes()).unwrap();
        let cur = v
            .as_object()
            .unwrap()
            .get("current")
            .unwrap()
            .as_object()
            .unwrap();
        let artifacts = cur
            .iter()
            .map(|(_, uri)| {
                let uri = uri.as_str().unwrap().to_string();
                let rel = uri.strip_prefix("s3://recsys-artifacts/").unwrap();
                let text =
                    std::fs::read_to_string(fixtures().join(ds).join("objectstore").join(rel));
                (uri, text.unwrap())
            })
            .collect();
        out.push(Load {
            tenant: "demo".into(),
            surface: "home".into(),
            manifest,
            artifacts,
        });
    }
    out
}

fn manifest(tenant: &str, surface: &str, current: &[(&str, &str)]) -> String {
    let mut cur = Map::new();
    for (k, uri) in current {
        cur.push(k.to_string(), Value::str(*uri));
    }
    let mut m = Map::new();
    m.push("v", Value::u64(1));
    m.push("tenant", Value::str(tenant));
    m.push("surface", Value::str(surface));
    m.push("current", Value::Object(cur));
    json::to_string(&Value::Object(m))
}

/// The call text with each artifact embedded by `embed`.
fn call_text(l: &Load, embed: impl Fn(&str) -> String) -> String {
    let arts: Vec<String> = l
        .artifacts
        .iter()
        .map(|(uri, text)| format!("{}: {}", json::to_string(&Value::str(uri)), embed(text)))
        .collect();
    format!(
        r#"{{"tenant": {}, "surface": {}, "config": {{"weights": {{"pop": 1, "cooc": 1}}}},
            "manifest": {}, "artifacts": {{{}}}}}"#,
        json::to_string(&Value::str(&l.tenant)),
        json::to_string(&Value::str(&l.surface)),
        l.manifest,
        arts.join(", ")
    )
}

fn compact(text: &str) -> String {
    json::parse(text.as_bytes()).map_or_else(|_| text.to_string(), |v| json::to_string(&v))
}

fn string_of(text: &str) -> String {
    json::to_string(&Value::str(text))
}

/// What an engine answers after the load: the load's answer (or error), readiness and a
/// recommendation.
fn outcome(e: &Engine, l: &Load, load: Result<String, ApiError>) -> String {
    let ready = e.call("readiness", r#"{"now": "2026-01-03T00:00:00Z"}"#);
    let rec = e.call(
        "recommend",
        &format!(
            r#"{{"request": {{"surface": {}, "k": 5, "user": {{"user_id": "u1"}}}},
                "ctx": {{"now": "2026-01-03T00:00:00Z", "tenant": {}, "request_id": "r"}}}}"#,
            string_of(&l.surface),
            string_of(&l.tenant)
        ),
    );
    let show = |r: Result<String, ApiError>| match r {
        Ok(t) => t,
        Err(e) => format!("error {} {}", e.code, e.message),
    };
    format!("{}\n{}\n{}", show(load), show(ready), show(rec))
}

/// The exact path: the call's text parsed whole, then loaded from the tree.
fn exact(e: &Engine, text: &str) -> Result<String, ApiError> {
    let v = json::parse_with(text.as_bytes(), call_limits(&e.options().artifact_limits))?;
    e.call_value("load_snapshot", &v)
        .map(|a| json::to_string(&a))
}

fn engine() -> Engine {
    Engine::builder().build().unwrap()
}

#[test]
fn every_shape_loads_every_fixture_as_the_exact_path_does() {
    let loads = loads();
    assert!(loads.len() >= 28, "{} loads", loads.len());
    for l in &loads {
        let objects = call_text(l, str::to_string);
        let e = engine();
        let want = outcome(&e, l, exact(&e, &objects));
        assert!(want.contains("artifact_versions"), "{want}");
        for (shape, text) in [
            ("objects", objects.clone()),
            ("compact objects", call_text(l, compact)),
            ("strings", call_text(l, string_of)),
        ] {
            let e = engine();
            let before = exact_loads();
            let got = outcome(&e, l, e.call("load_snapshot", &text));
            assert_eq!(got, want, "{shape} of {}", l.artifacts[0].0);
            // Every published artifact is cut out of the text, never parsed into a tree
            // (the golden vectors include documents that fail verification on purpose).
            if got.starts_with('{') {
                assert_eq!(exact_loads(), before, "{shape} of {}", l.artifacts[0].0);
            }
        }
        let mut docs = Documents::new(&l.tenant, &l.surface)
            .config(r#"{"weights": {"pop": 1, "cooc": 1}}"#)
            .manifest(l.manifest.as_str());
        for (uri, text) in &l.artifacts {
            docs = docs.artifact(uri.clone(), text.as_bytes().to_vec());
        }
        let e = engine();
        let typed = e
            .load_snapshot(docs)
            .map(|r| json::to_string(&r.to_value()));
        assert_eq!(outcome(&e, l, typed), want, "bytes of {}", l.artifacts[0].0);
    }
}

/// Calls the cut-out path must refuse or load exactly as the parsed call does.
#[test]
fn odd_calls_answer_as_the_exact_path_does() {
    let l = loads().pop().unwrap();
    let (uri, text) = l.artifacts[0].clone();
    let key = string_of(&uri);
    let objects = call_text(&l, str::to_string);
    let nul = text.replacen("\"demo\"", "\"de\\u0000mo\"", 1);
    let envelope_last = {
        let v = json::parse(text.as_bytes()).unwrap();
        let mut m = Map::new();
        let mut tail = Vec::new();
        for (k, x) in v.as_object().unwrap().iter() {
            if ["tenant", "surface"].contains(&k) {
                tail.push((k.to_string(), x.clone()));
            } else {
                m.push(k.to_string(), x.clone());
            }
        }
        for (k, x) in tail {
            m.push(k, x);
        }
        json::to_string(&Value::Object(m))
    };
    let cases = vec![
        objects.replacen(&text, &nul, 1),
        objects.replacen(&text, &text.replacen("\"demo\"", "\"other\"", 1), 1),
        objects.replacen(&text, &envelope_last, 1),
        objects.replacen(&text, &text[..text.len() / 2], 1),
        objects.replacen(&text, "[1, 2]", 1),
        objects.replacen(&text, "\"not json\"", 1),
        objects.replacen(&text, &string_of(&nul), 1),
        objects.replacen(
            &format!("{key}: "),
            &format!("{key}: {{\"a\": [}}, {key}: "),
            1,
        ),
        objects.replacen(
            &format!("{key}: "),
            &format!("{key}: \"\\u0000\", {key}: "),
            1,
        ),
        objects.replacen(
            &format!("{key}: "),
            &format!("\"s3://b/unused.json\": [nul], {key}: "),
            1,
        ),
        objects.replacen(
            &format!("{key}: "),
            &format!("\"s3://b/unused.json\": {{\"a\": \"\\u0000\"}}, {key}: "),
            1,
        ),
        objects.replacen(
            &format!("{key}: "),
            &format!("\"s3://b/unused.json\": {{\"a\": 1}}, {key}: "),
            1,
        ),
        objects.replacen("\"artifacts\"", "\"artifacts\": null, \"artifacts\"", 1),
        objects.replacen("\"artifacts\"", "\"artifacts\": {}, \"artifacts\"", 1),
        objects.replacen("\"artifacts\"", "\"artifacts\": 3, \"x\"", 1),
        objects.replacen("\"tenant\": \"demo\"", "\"tenant\": \"../x\"", 1),
        objects.replacen("\"weights\"", "\"weightz\"", 1),
        objects.replacen("\"config\"", "\"surplus\"", 1),
        format!("{objects} x"),
        format!("[{objects}]"),
        "{}".to_string(),
        objects.replacen("\"pop\": 1", "\"pop\": \"x\"", 1),
    ];
    // The cases the cut-out path answers itself (the rest are errors or need the exact path).
    // An invalid config found once every artifact verified is that error either way (21).
    let cut_out = [11, 16, 21];
    for (i, text) in cases.iter().enumerate() {
        let e = engine();
        let want = outcome(&e, &l, exact(&e, text));
        let e = engine();
        let before = exact_loads();
        let got = outcome(&e, &l, e.call("load_snapshot", text));
        assert_eq!(got, want, "case {i}");
        assert_eq!(
            exact_loads() == before,
            cut_out.contains(&i),
            "case {i}: {got}"
        );
    }
}

/// An object over the artifact byte limit as written (indented) but not once compacted loads
/// as the exact path (which compacts) loads it.
#[test]
fn an_indented_object_is_held_to_the_limit_as_the_exact_path_holds_it() {
    let l = loads().pop().unwrap();
    let (_, text) = &l.artifacts[0];
    let max = compact(text).len() + 10;
    assert!(text.len() > max, "the fixture is indented");
    let objects = call_text(&l, str::to_string);
    let e = || {
        Engine::builder()
            .options_json(format!(r#"{{"artifact_max_bytes": {max}}}"#))
            .build()
            .unwrap()
    };
    let x = e();
    let want = outcome(&x, &l, exact(&x, &objects));
    let y = e();
    assert_eq!(outcome(&y, &l, y.call("load_snapshot", &objects)), want);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random byte edits anywhere in a call (the envelope, an embedded object or string).
    #[test]
    fn mutated_calls_answer_as_the_exact_path_does(
        pick in 0usize..64,
        strings in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let loads = loads();
        let l = &loads[pick % loads.len()];
        let text = if strings { call_text(l, string_of) } else { call_text(l, str::to_string) };
        let mut b = text.into_bytes();
        for (at, byte) in edits {
            let i = at.index(b.len());
            b[i] = if byte.is_ascii() { byte } else { b"{}[]\",:\\ 0u"[byte as usize % 11] };
        }
        let text = String::from_utf8_lossy(&b).into_owned();
        let e = engine();
        let want = outcome(&e, l, exact(&e, &text));
        let e = engine();
        let got = outcome(&e, l, e.call("load_snapshot", &text));
        prop_assert_eq!(got, want);
    }
}

/// Strings embedded in a call are unescaped into copies of their own: a cold load verifies
/// artifacts on two threads, and a copy is never held back behind the other (at most one a
/// thread, two at once), with the same answer as objects.
#[test]
fn a_cold_load_unescapes_strings_on_its_two_threads_without_waiting() {
    let version = |body: &str| {
        crate::check::Artifact::parse(body.as_bytes(), None)
            .unwrap()
            .version()
            .to_string()
    };
    let artifact = |kind: &str, rows: Vec<String>| {
        let body = format!(
            r#"{{"v":1,"artifact_type":"{kind}","tenant":"t","surface":"s","window":{{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"}},"items":[{}],"build":{{"built_at":"","version":"V"}}}}"#,
            rows.join(",")
        );
        let v = version(&body);
        (
            format!("s3://b/t/s/{kind}/{v}.json"),
            body.replace("\"V\"", &format!("\"{v}\"")),
        )
    };
    let n = 40_000;
    let pop = artifact(
        "popularity",
        (0..n)
            .map(|i| format!(r#"{{"item_id":"sku-{i:07}","count":{}}}"#, n - i))
            .collect(),
    );
    let content = artifact(
        "content_sim",
        (0..n)
            .map(|i| {
                format!(
                    r#"{{"item_id":"sku-{i:07}","tags":["a:{}","b:{}"]}}"#,
                    i % 7,
                    i % 11
                )
            })
            .collect(),
    );
    let l = Load {
        tenant: "t".into(),
        surface: "s".into(),
        manifest: manifest(
            "t",
            "s",
            &[("popularity", &pop.0), ("content_sim", &content.0)],
        ),
        artifacts: vec![pop, content],
    };
    assert!(l.artifacts.iter().map(|a| a.1.len()).sum::<usize>() > 1 << 21);
    let strings = engine()
        .call("load_snapshot", &call_text(&l, string_of))
        .unwrap();
    let most = crate::compile::string_copies::most();
    assert!((1..=2).contains(&most), "{most}");
    let both: usize = l.artifacts.iter().map(|a| string_of(&a.1).len()).sum();
    assert!(crate::compile::string_copies::most_bytes() <= both);
    let objects = engine()
        .call("load_snapshot", &call_text(&l, str::to_string))
        .unwrap();
    assert_eq!(strings, objects);
    assert!(strings.contains(&format!("\"items\":{n}")), "{strings}");
}
