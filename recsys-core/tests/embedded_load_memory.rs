//! `load_snapshot` builds no tree of the artifacts embedded in its call: loading them as
//! objects or strings in the call's text holds about what loading their bytes through the
//! typed `Documents` holds (the snapshot's columns), plus, for strings, one artifact's
//! unescaped text at a time. A parsed tree would hold many times the input (the JSON parser
//! allows up to 32 bytes per input byte at its peak). Measured with a counting allocator over
//! the bytes actually requested; the growth is checked at two sizes, 4x apart.

use recsys_core::json::{self, Value};
use recsys_core::{Documents, Engine};
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Mutex;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{CURRENT, PEAK};
/// One measurement at a time (the test harness runs tests on several threads).
static SERIAL: Mutex<()> = Mutex::new(());

const HEAD: &str = r#"{"v":1,"artifact_type":"KIND","tenant":"t","surface":"s","window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"},"items":["#;

/// An artifact in its canonical form with its version hash: `rows` rows written by `row`.
fn artifact(kind: &str, rows: usize, row: impl Fn(usize) -> String) -> (String, String) {
    let mut text = HEAD.replace("KIND", kind);
    for i in 0..rows {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&row(i));
    }
    text.push_str("],\"build\":{\"built_at\":\"\",\"version\":\"\"}}");
    let version: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let text = text.replace(
        "\"version\":\"\"}}",
        &format!("\"version\":\"{version}\"}}}}"),
    );
    (format!("s3://b/t/s/{kind}/{version}.json"), text)
}

/// Popularity and content tags (six per item) for `n` items.
fn artifacts(n: usize) -> Vec<(String, String)> {
    vec![
        artifact("popularity", n, |i| {
            format!("{{\"item_id\":\"sku-{i:07}\",\"count\":{}}}", n - i)
        }),
        artifact("content_sim", n, |i| {
            let tags: Vec<String> = (0..6)
                .map(|t| format!("\"tag:{}-{}\"", t, (i * 7 + t) % 500))
                .collect();
            format!(
                "{{\"item_id\":\"sku-{i:07}\",\"tags\":[{}]}}",
                tags.join(",")
            )
        }),
    ]
}

fn manifest(arts: &[(String, String)]) -> String {
    let cur: Vec<String> = ["popularity", "content_sim"]
        .iter()
        .zip(arts)
        .map(|(k, (uri, _))| format!("\"{k}\":\"{uri}\""))
        .collect();
    format!(
        r#"{{"v":1,"tenant":"t","surface":"s","current":{{{}}}}}"#,
        cur.join(",")
    )
}

fn call_text(arts: &[(String, String)], strings: bool) -> String {
    let members: Vec<String> = arts
        .iter()
        .map(|(uri, text)| {
            let value = if strings {
                json::to_string(&Value::str(text))
            } else {
                text.clone()
            };
            format!("\"{uri}\":{value}")
        })
        .collect();
    format!(
        r#"{{"tenant":"t","surface":"s","manifest":{},"artifacts":{{{}}}}}"#,
        manifest(arts),
        members.join(",")
    )
}

/// Peak bytes allocated by `f` over what was allocated when it started, and its answer.
fn peak<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let base = CURRENT.load(SeqCst);
    PEAK.store(base, SeqCst);
    let out = f();
    (PEAK.load(SeqCst) - base, out)
}

/// Peak bytes of loading `n` items as bytes, as objects and as strings; and the input size.
fn peaks(n: usize) -> ([usize; 3], usize) {
    let arts = artifacts(n);
    let input: usize = arts.iter().map(|(_, t)| t.len()).sum();
    let objects = call_text(&arts, false);
    let strings = call_text(&arts, true);
    let mut out = [0; 3];
    let mut answers = Vec::new();
    for (i, slot) in out.iter_mut().enumerate() {
        let e = Engine::builder().build().unwrap();
        let mut docs = Documents::new("t", "s").manifest(manifest(&arts).as_str());
        for (uri, text) in &arts {
            docs = docs.artifact(uri.clone(), text.as_bytes());
        }
        let (p, answer) = peak(|| match i {
            0 => json::to_string(&e.load_snapshot(docs).unwrap().to_value()),
            1 => e.call("load_snapshot", &objects).unwrap(),
            _ => e.call("load_snapshot", &strings).unwrap(),
        });
        *slot = p;
        answers.push(answer);
    }
    assert!(
        answers[0].contains(&format!("\"items\":{n}")),
        "{}",
        answers[0]
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    (out, input)
}

#[test]
fn embedded_artifacts_cost_what_their_bytes_cost() {
    let _one = SERIAL.lock().unwrap();
    let mut per_byte = Vec::new();
    for n in [10_000, 40_000] {
        let ([bytes, objects, strings], input) = peaks(n);
        let largest = artifacts(n).iter().map(|(_, t)| t.len()).max().unwrap();
        eprintln!(
            "{n} items, {input} bytes of artifacts: peak bytes {bytes}, objects {objects}, \
             strings {strings}"
        );
        // Bytes handed over: the snapshot's columns, catalog and their transients.
        assert!(bytes < 2 * input, "{bytes} vs {input}");
        // Objects cut out of the text cost what their bytes cost (a tree would be many times
        // the input).
        assert!(
            objects <= bytes + input / 10,
            "objects {objects} vs bytes {bytes}"
        );
        // A string costs its unescaped text, once, besides.
        assert!(
            strings <= bytes + largest + input / 10,
            "strings {strings} vs bytes {bytes} + {largest}"
        );
        per_byte.push([bytes, objects, strings].map(|p| p as f64 / input as f64));
    }
    // Proportional to the input: 4x the items, about the same bytes per input byte.
    for (shape, (small, large)) in per_byte[0].iter().zip(&per_byte[1]).enumerate() {
        assert!(*large < small * 1.5, "shape {shape}: {small} then {large}");
    }
}
