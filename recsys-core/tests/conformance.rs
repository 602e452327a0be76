//! Runs the language-neutral conformance corpus (`tests/conformance/cases/*.json`) through the
//! JSON call/answer API, exactly as every binding's runner does.

use recsys_core::{call_static, Engine};
use std::path::PathBuf;

fn field(split: &recsys_core::json::Value, k: &str) -> Option<String> {
    split.as_object()?.get(k)?.as_str().map(str::to_owned)
}

#[test]
fn conformance_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    let (mut passed, mut failed) = (0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let split = call_static("conformance_split", &text)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let split = recsys_core::json::parse(split.as_bytes()).unwrap();
        let name = field(&split, "name").unwrap();
        let engine = match field(&split, "engine") {
            Some(o) => Engine::with_options_json(&o).unwrap(),
            None => Engine::new(),
        };
        if let Some(docs) = field(&split, "documents") {
            if let Err(e) = engine.call("load_snapshot", &docs) {
                failed.push(format!("{name}: load_snapshot failed: {}", e.to_json()));
                continue;
            }
        }
        let op = field(&split, "call").unwrap();
        let input = field(&split, "input").unwrap();
        let actual = match engine.call(&op, &input) {
            Ok(a) => a,
            Err(e) => format!("{{\"error\":{}}}", e.to_json()),
        };
        let expect = field(&split, "expect").unwrap();
        let cmp = call_static(
            "conformance_compare",
            &format!("{{\"expect\":{expect},\"actual\":{actual}}}"),
        )
        .unwrap();
        let cmp = recsys_core::json::parse(cmp.as_bytes()).unwrap();
        if cmp
            .as_object()
            .unwrap()
            .get("pass")
            .and_then(|v| v.as_bool())
            == Some(true)
        {
            passed += 1;
        } else {
            failed.push(format!(
                "{name}:\n  expected {}\n  actual   {}",
                field(&cmp, "expected").unwrap(),
                field(&cmp, "actual").unwrap()
            ));
        }
    }
    println!("{passed} passed, {} failed", failed.len());
    assert!(
        failed.is_empty(),
        "conformance failures:\n{}",
        failed.join("\n")
    );
    assert!(passed >= 3, "the corpus must not be empty");
}
