//! A release is served as one unit: its pinned artifacts, config, rules and id are installed
//! in one commit and one snapshot swap, on the engine that published it and on every
//! follower, so no answer ever names one release's documents with another's artifacts. A
//! pinned artifact that cannot be fetched or verified installs nothing.

use recsys_core::json::{self, Value};
use recsys_core::{ApiError, DocumentStore, Engine, Fetch, MemoryStore, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[path = "../src/tests/progress.rs"]
mod progress;
use progress::wait_for_more;

const NOW: &str = "2026-11-23T00:05:00Z";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/artifacts")
}

/// The manifest of day 1 (`ecommerce-mini`) or day 2 (`ecommerce-mini-2day`).
fn manifest(day: u32) -> String {
    let set = if day == 1 {
        "ecommerce-mini"
    } else {
        "ecommerce-mini-2day"
    };
    let p = fixtures()
        .join(set)
        .join("registry/current/demo/home/manifest.json");
    std::fs::read_to_string(p).unwrap()
}

/// The object store: both days' artifacts live in the 2-day dataset.
fn read(uri: &str) -> Vec<u8> {
    let key = uri.strip_prefix("s3://recsys-artifacts/").unwrap();
    std::fs::read(fixtures().join("ecommerce-mini-2day/objectstore").join(key)).unwrap()
}

fn parse(s: &str) -> Value {
    json::parse(s.as_bytes()).unwrap()
}

fn get<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.as_object().and_then(|o| o.get(k)).unwrap_or(&Value::Null)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    get(v, k).as_str().unwrap_or("")
}

/// The artifact URIs a manifest names, by kind.
fn uris(manifest: &str) -> Vec<(String, String)> {
    let m = parse(manifest);
    get(&m, "current")
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_str().unwrap().to_string()))
        .collect()
}

/// An engine on `store` serving day 1 (loaded with its artifacts embedded).
fn engine(store: Arc<dyn DocumentStore>) -> Engine {
    let e = Engine::builder().store(store).build().unwrap();
    let m = manifest(1);
    let arts: Vec<String> = uris(&m)
        .iter()
        .map(|(_, uri)| {
            let body = String::from_utf8(read(uri)).unwrap();
            format!("{}:{body}", json::to_string(&Value::str(uri)))
        })
        .collect();
    let docs = format!(
        r#"{{"tenant":"demo","surface":"home","manifest":{m},"artifacts":{{{}}}}}"#,
        arts.join(",")
    );
    e.call("load_snapshot", &docs).unwrap();
    e
}

fn admin(e: &Engine, op: &str, request: &str) -> Result<Value, ApiError> {
    let input = format!(
        r#"{{"request":{request},"ctx":{{"now":"{NOW}","request_id":"r","principal":{{"subject":"ops","tenant":"demo","roles":["admin"]}}}}}}"#
    );
    e.call(op, &input).map(|a| parse(&a))
}

/// The host's side of a pin: fetches what the engine asks for and hands it over. `bad`
/// corrupts one artifact.
fn host_fetch(e: &Engine, fetch: &[String], bad: bool) -> Value {
    try_host_fetch(e, fetch, bad).unwrap()
}

fn try_host_fetch(e: &Engine, fetch: &[String], bad: bool) -> Result<Value, ApiError> {
    let mut results = BTreeMap::new();
    for (i, uri) in fetch.iter().enumerate() {
        let mut bytes = read(uri);
        if bad && i == 0 {
            bytes.truncate(bytes.len() / 2);
        }
        results.insert(uri.clone(), Fetch::Found(bytes));
    }
    let now = Timestamp::parse_rfc3339(NOW).unwrap();
    e.loader().apply_artifacts("demo", "home", now, results)
}

/// The URIs a release answer (`artifacts_applied`) or a sync report (`fetch`) asks for.
fn wanted(answer: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for k in ["artifacts_applied", "fetch"] {
        for e in get(answer, k).as_array().into_iter().flatten() {
            let list = if k == "fetch" { "uris" } else { "fetch" };
            for u in get(e, list).as_array().into_iter().flatten() {
                out.push(u.as_str().unwrap().to_string());
            }
        }
    }
    out
}

fn sync(e: &Engine) -> Value {
    let a = e
        .call(
            "admin.sync",
            &format!(r#"{{"request":{{"tenant":"demo"}},"ctx":{{"now":"{NOW}"}}}}"#),
        )
        .unwrap();
    get(&parse(&a), "tenants").as_array().unwrap()[0].clone()
}

/// What one answer names: (release id, config, rules, manifest, artifact versions).
type Tuple = (String, String, String, String, Vec<(String, String)>);

fn served(e: &Engine) -> Tuple {
    let ctx = recsys_core::Context::new(Timestamp::parse_rfc3339(NOW).unwrap(), "demo");
    let req = recsys_core::RecommendRequest::new("home", recsys_core::User::id("u_fitness")).k(5);
    let m = e.recommend(&req, &ctx).unwrap().meta;
    let o = |x: Option<String>| x.unwrap_or_default();
    (
        o(m.release_id),
        o(m.config_version),
        o(m.rules_version),
        o(m.manifest_version),
        m.artifact_versions,
    )
}

/// Release `i`: its own config and rules, pinned to day 1 (even) or day 2 (odd) with a
/// manifest of its own (distinct `updated_at`).
fn body(i: usize) -> (String, String, String) {
    let day = 1 + (i % 2) as u32;
    let m = manifest(day).replace(
        "2026-11-22T23:28:",
        &format!("2026-11-22T23:{:02}:", 10 + i),
    );
    (
        format!(r#"{{"weights":{{"pop":0.{}}}}}"#, i + 1),
        format!(
            r#"[{{"action":"boost","tag":"margin:high","boost_value":0.{}}}]"#,
            i + 1
        ),
        m,
    )
}

/// The tuple release `i` must be served as (its id comes from the store).
fn expected(i: usize, id: &str) -> Tuple {
    let (c, r, m) = body(i);
    let etag = |t: &str| json::etag(t.as_bytes()).unwrap();
    let mut arts: Vec<(String, String)> = uris(&m)
        .into_iter()
        .map(|(k, u)| {
            let v = u
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".json")
                .to_string();
            (k, v)
        })
        .collect();
    arts.sort();
    (id.to_string(), etag(&c), etag(&r), etag(&m), arts)
}

fn normalised(mut t: Tuple) -> Tuple {
    t.4.sort();
    t
}

/// Publishes release `i` through `e` (If-Match on what it read), then plays the host: the
/// artifacts it asks for are fetched and handed over. Answers the release id, or `None`
/// when another writer won the race.
fn publish(e: &Engine, i: usize) -> Option<String> {
    let cur = admin(e, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    let (c, r, m) = body(i);
    let req = format!(
        r#"{{"tenant":"demo","config":{c},"rules":{r},"artifacts":{{"home":{}}},"if_match":"{}"}}"#,
        json::to_string(&Value::str(&m)),
        s(&cur, "release_id")
    );
    let a = match admin(e, "admin.release", &req) {
        Ok(a) => a,
        Err(err) => {
            assert_eq!(err.code, "RECSYS_VERSION_MISMATCH");
            return None;
        }
    };
    let fetch = wanted(&a);
    if !fetch.is_empty() {
        host_fetch(e, &fetch, false);
    }
    Some(s(&a, "release_id").to_string())
}

/// A follower's sync, with the host fetching what it asks for.
fn follow(e: &Engine) {
    let r = sync(e);
    let fetch = wanted(&r);
    if !fetch.is_empty() {
        host_fetch(e, &fetch, false);
    }
}

/// Readers on the leader and on a follower check every answer while releases, rollbacks and
/// syncs run: each names a release id with exactly that release's config, rules, manifest
/// and artifact versions (the artifacts differ between releases, so installing the pins and
/// the documents in two steps would be seen).
#[test]
fn every_answer_names_one_release_whole_on_the_leader_and_on_a_follower() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let (a, b) = (
        Arc::new(engine(store.clone())),
        Arc::new(engine(store.clone())),
    );
    let initial = normalised(served(&a));
    // Publish each release once to learn its id; each one serves whole on a right away.
    let mut allowed: HashMap<String, Tuple> = HashMap::new();
    for i in 0..4 {
        let id = publish(&a, i).unwrap();
        let want = expected(i, &id);
        assert_eq!(normalised(served(&a)), want, "release {i}");
        allowed.insert(id, want);
    }
    follow(&b);
    assert_eq!(normalised(served(&b)), normalised(served(&a)));
    let allowed = Arc::new(allowed);
    let check = move |t: Tuple, allowed: &HashMap<String, Tuple>| {
        let t = normalised(t);
        if t != initial {
            let want = allowed
                .get(&t.0)
                .unwrap_or_else(|| panic!("unknown release {t:?}"));
            assert_eq!(&t, want, "an answer mixed two releases");
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = [a.clone(), a.clone(), b.clone()]
        .into_iter()
        .map(|e| {
            let (stop, allowed, reads, check) =
                (stop.clone(), allowed.clone(), reads.clone(), check.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    check(served(&e), &allowed);
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let follows = Arc::new(AtomicUsize::new(0));
    let follower = {
        let (b, stop, follows) = (b.clone(), stop.clone(), follows.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                follow(&b);
                follows.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut published = 0;
    for round in 0..24 {
        if round % 3 == 2 {
            let back = admin(&a, "admin.rollback_release", r#"{"tenant":"demo"}"#).unwrap();
            let fetch = wanted(&back);
            if !fetch.is_empty() {
                host_fetch(&a, &fetch, false);
            }
        } else if publish(&a, round % 4).is_some() {
            published += 1;
        }
        let now = normalised(served(&a));
        assert_eq!(&now, allowed.get(&now.0).unwrap(), "round {round}");
        // A follow and reads that start after this round's change, whatever the scheduler
        // does (on a busy machine the other threads once had not run before the loop ended).
        wait_for_more(&follows, 2, &follower);
        wait_for_more(&reads, 2, &readers[round % readers.len()]);
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    follower.join().unwrap();
    assert!(published > 0);
    follow(&b);
    assert_eq!(normalised(served(&b)), normalised(served(&a)));
    let cur = admin(&a, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(served(&b).0, s(&cur, "release_id"));
}

/// A release whose pinned artifact fails verification installs nothing: the previous
/// release keeps serving whole, the failure is recorded (readiness), and the next sync asks
/// for the artifacts again and installs the release whole once they verify. A follower
/// behaves the same.
#[test]
fn a_pinned_artifact_that_fails_verification_installs_nothing() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let (a, b) = (engine(store.clone()), engine(store.clone()));
    let first = publish(&a, 0).unwrap();
    follow(&b);
    let before = normalised(served(&a));
    assert_eq!(before, expected(0, &first));

    let (c, r, m) = body(1);
    let req = format!(
        r#"{{"tenant":"demo","config":{c},"rules":{r},"artifacts":{{"home":{}}}}}"#,
        json::to_string(&Value::str(&m))
    );
    let rel = admin(&a, "admin.release", &req).unwrap();
    let id = s(&rel, "release_id").to_string();
    // Stored, but waiting for artifacts: nothing of it serves yet.
    assert_eq!(s(&rel, "release_waiting"), id, "{}", json::to_string(&rel));
    assert_eq!(get(&rel, "recompiled"), &Value::u64(0));
    let fetch = wanted(&rel);
    assert_eq!(fetch.len(), 5, "day 2 shares no artifact with day 1");
    assert_eq!(normalised(served(&a)), before);
    let report = host_fetch(&a, &fetch, true);
    assert_eq!(
        s(&report, "outcome"),
        "kept",
        "{}",
        json::to_string(&report)
    );
    assert_eq!(
        normalised(served(&a)),
        before,
        "a failed artifact installed part of it"
    );
    let ready = parse(
        &a.call("readiness", &format!(r#"{{"now":"{NOW}"}}"#))
            .unwrap(),
    );
    let surface = &get(&ready, "surfaces").as_array().unwrap()[0];
    assert!(!get(surface, "last_errors").as_array().unwrap().is_empty());
    // Handing the artifacts over again with nothing waiting is refused.
    let now = Timestamp::parse_rfc3339(NOW).unwrap();
    let again = a
        .loader()
        .apply_artifacts("demo", "home", now, BTreeMap::new());
    assert!(again.is_err());

    // The next sync stages the release again; good bytes install it whole.
    let r = sync(&a);
    assert_eq!(s(&r, "release_waiting"), id, "{}", json::to_string(&r));
    assert_eq!(normalised(served(&a)), before);
    let report = host_fetch(&a, &wanted(&r), false);
    assert_eq!(
        s(&report, "outcome"),
        "swapped",
        "{}",
        json::to_string(&report)
    );
    assert_eq!(normalised(served(&a)), expected(1, &id));

    // The follower: the same, from the change feed.
    let r = sync(&b);
    assert_eq!(s(&r, "release_waiting"), id);
    assert_eq!(normalised(served(&b)), before);
    host_fetch(&b, &wanted(&r), true);
    assert_eq!(normalised(served(&b)), before);
    follow(&b);
    assert_eq!(normalised(served(&b)), expected(1, &id));
    // A second sync finds nothing to do.
    let r = sync(&b);
    assert!(wanted(&r).is_empty() && get(&r, "recompiled") == &Value::u64(0));
}

/// Rolling back a release that pinned new artifacts is installed the same way: the previous
/// release's artifacts are fetched again and swapped in with its documents.
#[test]
fn a_rollback_restores_documents_and_artifacts_in_one_swap() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let a = engine(store);
    let first = publish(&a, 0).unwrap();
    let second = publish(&a, 1).unwrap();
    assert_eq!(normalised(served(&a)), expected(1, &second));
    let back = admin(&a, "admin.rollback_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(s(&back, "release_waiting"), first);
    assert_eq!(normalised(served(&a)), expected(1, &second));
    let report = host_fetch(&a, &wanted(&back), false);
    assert_eq!(s(&report, "outcome"), "swapped");
    assert_eq!(normalised(served(&a)), expected(0, &first));
}

/// A release still waiting for artifacts is superseded by the next one: the late hand-over
/// of its artifacts is refused, never applied as a refresh beside the newer release.
#[test]
fn a_waiting_release_superseded_by_the_next_one_is_never_installed() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let a = engine(store);
    publish(&a, 0).unwrap();
    let (c, r, m) = body(1);
    let req = format!(
        r#"{{"tenant":"demo","config":{c},"rules":{r},"artifacts":{{"home":{}}}}}"#,
        json::to_string(&Value::str(&m))
    );
    let waiting = admin(&a, "admin.release", &req).unwrap();
    let late = wanted(&waiting);
    assert_eq!(late.len(), 5);
    let third = publish(&a, 2).unwrap();
    assert_eq!(normalised(served(&a)), expected(2, &third));
    let err = try_host_fetch(&a, &late, false).unwrap_err();
    assert_eq!(err.code, "RECSYS_LOADER_NO_PENDING_MANIFEST");
    assert_eq!(normalised(served(&a)), expected(2, &third));
}

/// A waiting release's artifacts can be handed over one at a time (`loader_stage_artifact`,
/// each buffer freed before the next is read); the final hand-over with no bytes installs
/// the release whole.
#[test]
fn a_waiting_release_takes_its_artifacts_one_at_a_time() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let a = engine(store);
    let first = publish(&a, 0).unwrap();
    let (c, r, m) = body(1);
    let req = format!(
        r#"{{"tenant":"demo","config":{c},"rules":{r},"artifacts":{{"home":{}}}}}"#,
        json::to_string(&Value::str(&m))
    );
    let rel = admin(&a, "admin.release", &req).unwrap();
    let id = s(&rel, "release_id").to_string();
    for uri in wanted(&rel) {
        let staged = a.loader().stage("demo", "home", &uri, &read(&uri)).unwrap();
        assert_eq!(s(&staged, "uri"), uri);
        assert_eq!(
            normalised(served(&a)),
            expected(0, &first),
            "staged, not served"
        );
    }
    let report = try_host_fetch(&a, &[], false).unwrap();
    assert_eq!(
        s(&report, "outcome"),
        "swapped",
        "{}",
        json::to_string(&report)
    );
    assert_eq!(normalised(served(&a)), expected(1, &id));
}
