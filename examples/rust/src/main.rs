//! A minimal Rust host for recsys-core: build an `Engine`, load the example tenant from
//! `examples/data` (or the directory given as the first argument), then run one `recommend`
//! and one `validate` and print the items and the versions that served them.
//!
//! The core does no I/O, so this program reads the files and passes their text in.

use recsys_core::json::{self, Value};
use recsys_core::{Context, Documents, Engine, RecommendRequest, Timestamp};
use std::error::Error;
use std::path::{Path, PathBuf};

/// `v[key]`, or `null` when `v` is not an object or has no such member.
fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.as_object().and_then(|m| m.get(key)).unwrap_or(&NULL)
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = match std::env::args().nth(1) {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"),
    };
    let read = |name: &str| std::fs::read_to_string(dir.join(name));

    // 1. The snapshot: config + rules + manifest, plus the bytes of every artifact the
    //    manifest names, by URI (the example stores s3://bucket/key at <dir>/objectstore/key).
    let manifest = read("manifest.json")?;
    let mut documents = Documents::new("demo", "home")
        .config(read("config.json")?)
        .rules(read("rules.json")?)
        .manifest(manifest.as_str());
    for (_kind, uri) in get(&json::parse(manifest.as_bytes())?, "current")
        .as_object()
        .ok_or("no current")?
        .iter()
    {
        let uri = uri.as_str().ok_or("a manifest URI is a string")?;
        let (_bucket, key) = uri
            .strip_prefix("s3://")
            .and_then(|r| r.split_once('/'))
            .ok_or("not s3://")?;
        documents = documents.artifact(uri, std::fs::read(dir.join("objectstore").join(key))?);
    }
    let engine = Engine::builder().build()?;
    engine.load_snapshot(documents)?;

    // 2. recommend, typed: the request file goes through the same strict decoder as the
    //    JSON call (`str::parse`); the host supplies the clock and the tenant.
    let request: RecommendRequest = read("request.json")?.parse()?;
    let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").ok_or("a valid time")?;
    let ctx = Context::new(now, "demo").request_id("example-1");
    let rec = engine.recommend(&request, &ctx)?;
    println!("items:");
    for item in &rec.items {
        println!("  {} {} {:.4}", item.rank, item.item_id, item.score);
    }
    println!("meta:");
    // The typed answer writes the same JSON every binding returns.
    let meta = json::parse(json::to_text(&rec.meta)?.as_bytes())?;
    for (key, value) in meta.as_object().ok_or("no meta")?.iter() {
        println!("  {key} {}", json::to_string(value));
    }

    // 3. validate, in the JSON form every other binding uses: the request text is decoded
    //    here, so its warnings (defaults the decoder applied) come back with the answer.
    let ctx_json = r#"{"now":"2026-01-02T00:00:00Z","request_id":"example-1","tenant":"demo"}"#;
    let input = format!(
        r#"{{"request":{},"ctx":{ctx_json}}}"#,
        read("request.json")?
    );
    let checked = json::parse(engine.call("validate", &input)?.as_bytes())?;
    let warnings = get(&checked, "warnings").as_array().unwrap_or_default();
    println!("validate: ok, {} warnings", warnings.len());
    Ok(())
}
