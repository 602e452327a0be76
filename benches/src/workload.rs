//! Reading a `gen_workload.py` tenant (the same data the Go figures come from) from disk and
//! loading it into an engine through the loader's step API, one artifact at a time, as a host
//! does. Used by the `lifecycle` bench and the `load_workload` example.

use recsys_core::bench_internals::config::TenantConfig;
use recsys_core::bench_internals::rules::{parse_rules, RulesParseOptions};
use recsys_core::bench_internals::snapshot::{ServingRules, TenantSnapshot};
use recsys_core::json::{self, Map, Value};
use recsys_core::time::Timestamp;
use recsys_core::Engine;
use recsys_core::EngineOptions;
use recsys_core::{Fetch, Step};
use std::path::{Path, PathBuf};

/// `now` of every workload load (after the generated windows end).
pub fn workload_now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-01-02T01:00:00Z").expect("timestamp")
}

/// Tenant and surface of every `gen_workload.py` output.
pub const WL_TENANT: &str = "demo";
pub const WL_SURFACE: &str = "home";
const URI_PREFIX: &str = "s3://recsys-artifacts/";

/// The files of one generated workload, read into memory.
pub struct Workload {
    /// What the figures are labelled with (`100k`, `1M`, ...).
    pub label: String,
    pub tenant: String,
    pub surface: String,
    pub manifest: Vec<u8>,
    /// (URI, bytes) in manifest order.
    pub artifacts: Vec<(String, Vec<u8>)>,
    pub config: Value,
    /// `rules-<N>.json` documents found, by N.
    pub rules: Vec<(usize, Value)>,
}

impl Workload {
    /// Reads the workload at `dir` (the `--out` of `gen_workload.py`).
    pub fn read(dir: &Path) -> Result<Workload, String> {
        let rd = |p: PathBuf| std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()));
        let manifest = rd(dir.join(format!(
            "registry/current/{WL_TENANT}/{WL_SURFACE}/manifest.json"
        )))?;
        let mv = json::parse(&manifest).map_err(|e| format!("manifest: {}", e.message))?;
        let mut artifacts = Vec::new();
        if let Some(cur) = mv
            .as_object()
            .and_then(|m| m.get("current"))
            .and_then(Value::as_object)
        {
            for (_, uri) in cur.iter() {
                let uri = uri.as_str().ok_or("manifest uri is not a string")?;
                let key = uri
                    .strip_prefix(URI_PREFIX)
                    .ok_or("unexpected uri scheme")?;
                artifacts.push((uri.to_string(), rd(dir.join("objectstore").join(key))?));
            }
        }
        let parse = |b: Vec<u8>| json::parse(&b).map_err(|e| e.message);
        let config = parse(rd(dir.join("config.json"))?)?;
        let mut rules = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
            let name = e.map_err(|e| e.to_string())?.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name
                .strip_prefix("rules-")
                .and_then(|r| r.strip_suffix(".json"))
                .and_then(|n| n.parse::<usize>().ok())
            {
                rules.push((n, parse(rd(dir.join(&*name))?)?));
            }
        }
        rules.sort_by_key(|(n, _)| *n);
        let meta = std::fs::read(dir.join("workload.json"))
            .ok()
            .and_then(|b| json::parse(&b).ok());
        let items = meta
            .as_ref()
            .and_then(Value::as_object)
            .and_then(|m| m.get("items"))
            .and_then(Value::as_f64)
            .map_or(0, |n| n as usize);
        Ok(Workload {
            label: crate::size_label(items),
            tenant: WL_TENANT.into(),
            surface: WL_SURFACE.into(),
            manifest,
            artifacts,
            config,
            rules,
        })
    }

    /// A workload generated in memory by this crate (what CI can afford): every signal of
    /// `cat`, its default config and one rules document per entry of `rules`.
    pub fn generated(cat: &crate::Catalog, rules: &[usize]) -> Workload {
        let arts = cat.artifacts(crate::Signals::ALL);
        let manifest = crate::manifest_json(&arts).into_bytes();
        let config = json::parse(crate::ConfigSpec::blended(1000).to_json().as_bytes())
            .expect("generated config");
        let rules = rules
            .iter()
            .map(|&n| {
                let text = crate::rules_json(cat, &crate::RulesSpec::active(n, 1000));
                (n, json::parse(text.as_bytes()).expect("generated rules"))
            })
            .collect();
        Workload {
            label: format!("generated_{}", crate::size_label(cat.len())),
            tenant: crate::TENANT.into(),
            surface: crate::SURFACE.into(),
            manifest,
            artifacts: arts
                .into_iter()
                .map(|a| (a.uri, a.text.into_bytes()))
                .collect(),
            config,
            rules,
        }
    }

    /// `load_snapshot` documents for this workload, artifacts embedded as JSON strings
    /// (a full decode, verify and compile each time it is loaded).
    pub fn documents(&self) -> Value {
        let mut arts = json::Map::new();
        for (uri, b) in &self.artifacts {
            arts.push(
                uri.clone(),
                Value::String(String::from_utf8_lossy(b).into_owned()),
            );
        }
        let mut m = json::Map::new();
        m.push("tenant", Value::str(&self.tenant));
        m.push("surface", Value::str(&self.surface));
        m.push(
            "manifest",
            json::parse(&self.manifest).expect("manifest json"),
        );
        m.push("artifacts", Value::Object(arts));
        Value::Object(m)
    }

    /// A small request for this workload's surface, and the call context.
    pub fn request(&self, k: u32) -> (recsys_core::RecommendRequest, recsys_core::Context) {
        let req = recsys_core::RecommendRequest::new(
            self.surface.as_str(),
            recsys_core::User::anonymous("anon-0001"),
        )
        .k(k);
        let ctx = recsys_core::Context::from_value(
            &json::parse(
                format!(
                    r#"{{"now":"2026-01-02T01:00:00Z","tenant":"{}","request_id":"r"}}"#,
                    self.tenant
                )
                .as_bytes(),
            )
            .expect("ctx json"),
        )
        .expect("ctx");
        (req, ctx)
    }

    /// Total artifact bytes.
    pub fn artifact_bytes(&self) -> usize {
        self.artifacts.iter().map(|(_, b)| b.len()).sum()
    }
}

/// An engine whose artifact limits admit a 1M-item workload.
pub fn workload_engine() -> Engine {
    let opts = EngineOptions::from_value(
        &json::parse(
            br#"{"artifact_max_bytes": 1073741824, "artifact_max_items": 5000000,
                 "artifact_max_users": 5000000}"#,
        )
        .expect("options json"),
    )
    .expect("engine options");
    Engine::with_options(opts)
}

/// Loads `wl`'s manifest and artifacts into `engine` with the loader's step API, handing each
/// artifact over on its own (`loader_stage_artifact`, a copy of its bytes as a host would
/// read it), then applying them.
pub fn load_workload(engine: &Engine, wl: &Workload, now: Timestamp) -> Value {
    load_workload_with(engine, wl, now, true)
}

/// [`load_workload`], handing over a copy of each artifact's bytes (`copy`, a host that reads
/// each object into a buffer of its own) or the workload's own buffers (a host that holds
/// every object already: the buffers are the inputs, nothing is held twice).
pub fn load_workload_with(engine: &Engine, wl: &Workload, now: Timestamp, copy: bool) -> Value {
    let (t, s) = (wl.tenant.as_str(), wl.surface.as_str());
    let step = engine
        .loader_apply_manifest(t, s, now, Fetch::Found(wl.manifest.clone()))
        .expect("manifest step");
    let uris = match step {
        Step::Fetch(uris) => uris,
        Step::Done(v) => return v,
    };
    for uri in &uris {
        if let Some((_, bytes)) = wl.artifacts.iter().find(|(u, _)| u == uri) {
            // A host reads each object into its own buffer and hands it over on its own.
            let owned = copy.then(|| bytes.clone());
            engine
                .loader_stage_artifact(t, s, uri, owned.as_deref().unwrap_or(bytes))
                .expect("artifact verifies");
        }
    }
    engine
        .loader_apply_artifacts(t, s, now, Default::default())
        .expect("artifacts step")
}

/// The tenant config that gives a request shape of `requests.json` the reference settings
/// of its `env`: the workload's `config.json`, the shape's `tenant_config` members, then
/// `RECSYS_ALGO_POPULARITY_FANOUT` as `limits.popularity_fanout` (0 = k, the reference
/// default), MMR λ, brand/category caps and prefixes as `diversity`, and
/// `RECSYS_ALGO_RULES_ENABLED` as `rules_enabled` (off unless set, as in the reference).
pub fn shape_config(base: &Value, shape: &Map) -> Value {
    let mut cfg = base.as_object().cloned().unwrap_or_default();
    if let Some(Value::Object(over)) = shape.get("tenant_config") {
        for (k, v) in over.iter() {
            cfg.insert(k.to_string(), v.clone());
        }
    }
    let env = shape.get("env").and_then(Value::as_object);
    let get = |k: &str| env.and_then(|e| e.get(k)).and_then(Value::as_str);
    let num = |k: &str| get(k).map_or("0", |v| v).to_string();
    let prefixes = |k: &str, default: &str| {
        let list = get(k).unwrap_or(default);
        let v: Vec<String> = list
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| format!("\"{}:\"", p.trim().trim_end_matches(':')))
            .collect();
        format!("[{}]", v.join(","))
    };
    let mut limits = cfg
        .get("limits")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let fanout = num("RECSYS_ALGO_POPULARITY_FANOUT");
    limits.insert("popularity_fanout", json::parse(fanout.as_bytes()).unwrap());
    cfg.insert("limits", Value::Object(limits));
    let diversity = format!(
        r#"{{"mmr_lambda":{},"brand_cap":{},"category_cap":{},"brand_tag_prefixes":{},"category_tag_prefixes":{}}}"#,
        num("RECSYS_ALGO_MMR_LAMBDA"),
        num("RECSYS_ALGO_BRAND_CAP"),
        num("RECSYS_ALGO_CATEGORY_CAP"),
        prefixes("RECSYS_ALGO_BRAND_TAG_PREFIXES", "brand"),
        prefixes("RECSYS_ALGO_CATEGORY_TAG_PREFIXES", "category"),
    );
    cfg.insert("diversity", json::parse(diversity.as_bytes()).unwrap());
    let rules_on = get("RECSYS_ALGO_RULES_ENABLED") == Some("true");
    cfg.insert("rules_enabled", Value::Bool(rules_on));
    Value::Object(cfg)
}

/// Serves `rules` (or none) on the loaded workload tenant. A document larger than a rules
/// document may be (1 MiB, the 10,000-rule one) is parsed without that limit and compiled
/// against the loaded catalog directly.
pub fn serve_rules(engine: &Engine, wl: &Workload, config: &Value, rules: Option<&Value>) {
    let text = rules.map(json::to_string);
    if text.as_ref().is_none_or(|t| t.len() <= 1 << 20) {
        engine.set_rules(&wl.tenant, rules).expect("rules");
        return;
    }
    let snap = recsys_core::bench_internals::snapshot_of(
        &engine.snapshot(&wl.tenant, &wl.surface).expect("loaded"),
    );
    let mut opts = RulesParseOptions::lenient(&wl.tenant);
    opts.json_limits.max_bytes = 1 << 30;
    let doc = parse_rules(text.unwrap_or_default().as_bytes(), &opts).expect("rules parse");
    let cfg = TenantConfig::from_value(config).expect("config").0;
    recsys_core::bench_internals::install(
        engine,
        TenantSnapshot::with_policy(
            &wl.tenant,
            &wl.surface,
            snap.catalog.clone(),
            &cfg,
            &ServingRules::of(&doc.rules),
            snap.versions.clone(),
        ),
    );
}

/// One request shape of a workload's `requests.json`, ready to serve.
pub struct Shape {
    /// `A`..`E`.
    pub name: String,
    /// The tenant config that gives the shape its reference settings ([`shape_config`]).
    pub config: Value,
    /// The request body.
    pub body: Value,
    /// The `Engine::call("recommend", ...)` input for the body.
    pub input: String,
}

/// The request shapes of the workload at `dir` (its `requests.json`), in file order.
pub fn read_shapes(dir: &Path, wl: &Workload) -> Result<Vec<Shape>, String> {
    let p = dir.join("requests.json");
    let text = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let requests = json::parse(&text).map_err(|e| e.message)?;
    let list = requests
        .as_object()
        .and_then(|m| m.get("requests"))
        .and_then(Value::as_array)
        .unwrap_or(&[]);
    let mut out = Vec::new();
    for shape in list.iter().filter_map(Value::as_object) {
        let name = shape.get("name").and_then(Value::as_str).unwrap_or("?");
        let body = shape.get("body").cloned().unwrap_or(Value::Null);
        let input = format!(
            r#"{{"request":{},"ctx":{{"now":"2026-01-02T01:00:00Z","tenant":"{}","request_id":"r"}}}}"#,
            json::to_string(&body),
            wl.tenant
        );
        out.push(Shape {
            name: name.to_string(),
            config: shape_config(&wl.config, shape),
            body,
            input,
        });
    }
    Ok(out)
}

/// Serves `shape`'s config on the loaded workload tenant, and its rules: D the workload's
/// largest rules document, the others none. Returns the number of rules served.
pub fn serve_shape(engine: &Engine, wl: &Workload, shape: &Shape) -> usize {
    engine
        .set_config(&wl.tenant, Some(&shape.config))
        .expect("config");
    let rules = (shape.name == "D").then(|| wl.rules.last()).flatten();
    serve_rules(engine, wl, &shape.config, rules.map(|(_, r)| r));
    rules.map_or(0, |(n, _)| *n)
}

/// Serves each shape of `dir`'s `requests.json` whose name is in `names` (comma-separated,
/// e.g. `"A,C"`) on the loaded workload tenant, in the file's order, and hands it to `each`
/// with its typed request while its config (and D's rules) are the ones served.
pub fn each_served_shape(
    engine: &Engine,
    wl: &Workload,
    dir: &Path,
    names: &str,
    mut each: impl FnMut(&Shape, &recsys_core::RecommendRequest),
) {
    for shape in read_shapes(dir, wl).expect("requests.json") {
        if !names.split(',').any(|n| n == shape.name) {
            continue;
        }
        serve_shape(engine, wl, &shape);
        each(&shape, &crate::typed_request(&shape.body));
    }
}

/// The workload directories named by the environment variable `var` (comma-separated).
pub fn workload_dirs(var: &str) -> Vec<PathBuf> {
    std::env::var(var)
        .map(|v| {
            v.split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| PathBuf::from(p.trim()))
                .collect()
        })
        .unwrap_or_default()
}

/// Resident and peak resident memory of this process in KiB (`VmRSS`, `VmHWM`), Linux only.
pub fn rss_kib() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU seconds (user + system) this thread has used so far, from `/proc/thread-self/stat`
/// (Linux; 0 elsewhere). On a shared machine, CPU time is the steadier measure.
pub fn thread_cpu_secs() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
