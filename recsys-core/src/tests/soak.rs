//! Soak: many threads serve `recommend`, `similar` and `validate` on the example data while
//! other threads keep replacing what is served: artifact reloads with alternating rules
//! (`load_snapshot`), config writes through the control plane (`admin.put_config`), and
//! typed installs of a precompiled snapshot. For a bounded time (`RECSYS_SOAK_SECONDS`,
//! default 3) it asserts:
//!
//! * no call fails;
//! * no torn read: every answer is byte-identical to the answer one of the possible whole
//!   states gives (computed up front on a quiet engine), never a mix of two;
//! * no lost update: once the writers stop, serving reflects the config the control plane
//!   holds as current (two writers race on it);
//! * bounded memory: every replaced snapshot is freed (weak references die), and resident
//!   memory does not grow beyond a fixed allowance.

use crate::json::{parse, to_string, Value};
use crate::snapshot::TenantSnapshot;
use crate::Engine;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `load_snapshot` documents for the example data with the given rules and no config (an
/// absent config keeps the tenant's current one, so config writes and reloads compose).
fn reload_docs(rules: &str) -> String {
    let dir = data_dir();
    let manifest = read(&dir.join("manifest.json"));
    let m = parse(manifest.as_bytes()).unwrap();
    let current = m.as_object().unwrap().get("current").unwrap();
    let mut arts = Vec::new();
    for (_, uri) in current.as_object().unwrap().iter() {
        let uri = uri.as_str().unwrap();
        let key = uri.strip_prefix("s3://recsys-artifacts/").unwrap();
        let text = read(&dir.join("objectstore").join(key));
        arts.push(format!("{}:{}", to_string(&Value::str(uri)), text));
    }
    format!(
        r#"{{"tenant":"demo","surface":"home","rules":{rules},"manifest":{manifest},"artifacts":{{{}}}}}"#,
        arts.join(",")
    )
}

const CTX: &str = r#"{"now":"2026-11-23T12:00:00Z","tenant":"demo","request_id":"soak"}"#;
const ADMIN_CTX: &str = r#"{"now":"2026-11-23T12:00:00Z","request_id":"soak","principal":{"subject":"ops","tenant":"demo","roles":["operator"]}}"#;

fn requests() -> Vec<(&'static str, String)> {
    let ex = read(&data_dir().join("request.json"));
    vec![
        ("recommend", format!(r#"{{"request":{ex},"ctx":{CTX}}}"#)),
        (
            "recommend",
            format!(
                r#"{{"request":{{"surface":"home","k":8,"user":{{"user_id":"u_fitness"}},"options":{{"explain":"summary","include_reasons":true}}}},"ctx":{CTX}}}"#
            ),
        ),
        (
            "similar",
            format!(
                r#"{{"request":{{"surface":"home","k":4,"item_id":"sku-running-shoe"}},"ctx":{CTX}}}"#
            ),
        ),
        ("validate", format!(r#"{{"request":{ex},"ctx":{CTX}}}"#)),
    ]
}

const RULES_A: &str = "[]";
const RULES_B: &str = r#"[{"id":"00000000-0000-4000-8000-0000000000b1","action":"boost","target_type":"item","item_ids":["sku-yoga-mat"],"boost_value":2.5}]"#;
const CONFIG_A: &str = r#"{"weights":{"pop":1,"cooc":0.5,"emb":0.2}}"#;
const CONFIG_B: &str =
    r#"{"weights":{"pop":0.2,"cooc":1,"emb":0.8},"diversity":{"mmr_lambda":0.6}}"#;

/// Config write pairs per writer thread.
const CONFIG_WRITE_PAIRS: u64 = 300;

fn put_config(e: &Engine, doc: &str) {
    let input = format!(r#"{{"request":{{"tenant":"demo","document":{doc}}},"ctx":{ADMIN_CTX}}}"#);
    e.call("admin.put_config", &input)
        .unwrap_or_else(|err| panic!("admin.put_config: {err:?}"));
}

/// The control plane's current config version.
fn current_config_version(e: &Engine) -> String {
    let input = format!(r#"{{"request":{{"tenant":"demo"}},"ctx":{ADMIN_CTX}}}"#);
    let a = parse(e.call("admin.get_config", &input).unwrap().as_bytes()).unwrap();
    let v = a
        .as_object()
        .unwrap()
        .get("config_version")
        .unwrap_or_else(|| panic!("{a:?}"));
    v.as_str().unwrap().to_string()
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Per request, every answer a whole state may give: {config A, B} x {rules A, B}, each
/// served by an engine of its own.
fn answers_of_every_whole_state(
    reqs: &[(&'static str, String)],
    rule_docs: [&String; 2],
) -> Vec<BTreeSet<String>> {
    let mut valid: Vec<BTreeSet<String>> = vec![BTreeSet::new(); reqs.len()];
    for config in [CONFIG_A, CONFIG_B] {
        for docs in rule_docs {
            let e = Engine::new();
            e.call("load_snapshot", docs).unwrap();
            put_config(&e, config);
            for (i, (op, input)) in reqs.iter().enumerate() {
                valid[i].insert(e.call(op, input).unwrap());
            }
        }
    }
    valid
}

#[test]
fn serving_under_continuous_swaps_stays_whole_and_bounded() {
    let seconds: u64 = std::env::var("RECSYS_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let (docs_a, docs_b) = (reload_docs(RULES_A), reload_docs(RULES_B));
    let reqs = requests();

    let valid = answers_of_every_whole_state(&reqs, [&docs_a, &docs_b]);
    // The states differ where they should (otherwise the torn-read check proves nothing).
    assert_eq!(valid[0].len(), 4, "four states, four recommend answers");

    let engine = Arc::new(Engine::new());
    engine.call("load_snapshot", &docs_a).unwrap();
    put_config(&engine, CONFIG_A);
    // Warm up before the memory baseline.
    for (op, input) in &reqs {
        engine.call(op, input).unwrap();
    }
    let rss_start = rss_kib();

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let replaced: Arc<Mutex<Vec<Weak<TenantSnapshot>>>> = Arc::default();
    let track = |e: &Engine, replaced: &Mutex<Vec<Weak<TenantSnapshot>>>| {
        if let Some(s) = e.snapshot("demo", "home").map(|x| x.snapshot) {
            replaced.lock().unwrap().push(Arc::downgrade(&s));
        }
    };
    let mut writers = Vec::new();
    // Artifact reloads alternating the rules.
    writers.push({
        let (e, stop, replaced) = (engine.clone(), stop.clone(), replaced.clone());
        let (a, b) = (docs_a.clone(), docs_b.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                track(&e, &replaced);
                e.call("load_snapshot", if n.is_multiple_of(2) { &b } else { &a })
                    .unwrap();
                n += 1;
            }
            n
        })
    });
    // Two config writers racing through the control plane (each writes its own document);
    // whichever write the store accepted last must be what serves.
    for doc in [CONFIG_A, CONFIG_B] {
        let (e, stop, replaced) = (engine.clone(), stop.clone(), replaced.clone());
        writers.push(std::thread::spawn(move || {
            // Bounded: every accepted write is an audit entry the store keeps for good, so
            // an unbounded writer would make the memory check measure the audit log.
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < CONFIG_WRITE_PAIRS {
                track(&e, &replaced);
                put_config(&e, doc);
                // Rewrite the other one next round, so every put changes something.
                put_config(&e, if doc == CONFIG_A { CONFIG_B } else { CONFIG_A });
                n += 1;
            }
            n
        }));
    }
    let readers: Vec<_> = (0..6)
        .map(|t| {
            let (e, stop, served) = (engine.clone(), stop.clone(), served.clone());
            let (reqs, valid) = (reqs.clone(), valid.clone());
            std::thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let k = i % reqs.len();
                    let (op, input) = &reqs[k];
                    let got = e
                        .call(op, input)
                        .unwrap_or_else(|err| panic!("{op} failed under swaps: {err:?}"));
                    assert!(
                        valid[k].contains(&got),
                        "{op}: answer from no whole state (torn read): {got}"
                    );
                    served.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();

    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("a reader panicked");
    }
    let writes: Vec<u64> = writers
        .into_iter()
        .map(|w| w.join().expect("a writer panicked"))
        .collect();
    let elapsed = started.elapsed();
    let served = served.load(Ordering::Relaxed);
    eprintln!(
        "soak: {served} answers, {} reloads, {} + {} config write pairs in {elapsed:?}",
        writes[0], writes[1], writes[2]
    );
    assert!(served > 100, "readers made progress ({served})");
    assert!(
        writes.iter().all(|&w| w > 3),
        "writers made progress ({writes:?})"
    );

    // No lost update: serving reflects the config the control plane holds as current.
    let want = current_config_version(&engine);
    let answer = parse(engine.call("recommend", &reqs[0].1).unwrap().as_bytes()).unwrap();
    let meta = answer.as_object().unwrap().get("meta").unwrap();
    assert_eq!(
        meta.as_object().unwrap().get("config_version"),
        Some(&Value::str(&want)),
        "serving lost the last config write"
    );

    // Bounded memory: snapshots that requests still held when they were replaced are
    // retired and freed on a write path (the next write, a loader tick, or `reap_retired`),
    // never on a request thread; after that every replaced snapshot is gone.
    engine.reap_retired();
    let live = replaced
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.strong_count() > 0)
        .count();
    assert!(
        live <= 1,
        "{live} replaced snapshots are still alive (the current one may be among them)"
    );
    if let (Some(a), Some(b)) = (rss_start, rss_kib()) {
        eprintln!("soak: rss {a} KiB -> {b} KiB");
        assert!(
            b < a + 64 * 1024,
            "resident memory grew from {a} KiB to {b} KiB"
        );
    }
}
