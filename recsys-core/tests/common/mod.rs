//! Shared by the lint, preview and rule telemetry tests: the shipped example
//! (examples/data: tenant demo, surface home, 8 items) as `load_snapshot` documents.

use recsys_core::json::{self, Map, Value};
use std::path::PathBuf;

pub fn example_path(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/data")
        .join(p)
}

pub fn read_example(p: &str) -> String {
    std::fs::read_to_string(example_path(p)).unwrap()
}

/// The example's documents, with `config` / `rules` replaced when given and the artifact
/// kinds in `drop` left out of the manifest.
pub fn example_documents(config: Option<&str>, rules: Option<&str>, drop: &[&str]) -> String {
    let mut manifest = json::parse(read_example("manifest.json").as_bytes()).unwrap();
    let mut blobs = Vec::new();
    if let Value::Object(m) = &mut manifest {
        if let Some(Value::Object(cur)) = m.get_mut("current") {
            let mut kept = Map::new();
            for (k, v) in cur.iter() {
                if !drop.contains(&k) {
                    kept.push(k.to_string(), v.clone());
                }
            }
            *cur = kept;
            for (_, uri) in cur.iter() {
                let uri = uri.as_str().unwrap();
                let rel = uri.strip_prefix("s3://recsys-artifacts/").unwrap();
                let text = read_example(&format!("objectstore/{rel}"));
                blobs.push(format!("{}:{}", json::to_string(&Value::str(uri)), text));
            }
        }
    }
    format!(
        r#"{{"tenant":"demo","surface":"home","config":{},"rules":{},"manifest":{},"artifacts":{{{}}}}}"#,
        config.map_or_else(|| read_example("config.json"), str::to_string),
        rules.map_or_else(|| read_example("rules.json"), str::to_string),
        json::to_string(&manifest),
        blobs.join(",")
    )
}

/// The `item_id`s of a recommend answer, in order.
#[allow(dead_code)] // not every test binary that includes this module reads answers
pub fn item_ids(answer: &Value) -> Vec<String> {
    answer
        .as_object()
        .unwrap()
        .get("items")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i.as_object()
                .unwrap()
                .get("item_id")
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}
