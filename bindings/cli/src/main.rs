//! `recsys`: the operator CLI over recsys-core. No I/O happens in the core; this binary reads
//! files, supplies the clock, and prints answers.

use recsys_core::artifacts::{self, ArtifactKind, ArtifactLimits};
use recsys_core::config::TenantConfig;
use recsys_core::json::{self, Map, Value};
use recsys_core::rules::{self, RulesParseOptions};
use recsys_core::{call_static, ApiError, Engine, Problem};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Prints to stdout, ignoring write errors: a closed pipe (`recsys ... | head`) must end the
/// program quietly, not panic as `std::println!` does.
macro_rules! println {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout());
    }};
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

mod change;
mod ops;

const USAGE: &str = "usage:
  recsys demo                                  recommend on the embedded example data
  recsys etag FILE [--json]                    config_version / rules_version of a document
  recsys check config|rules|manifest|artifact FILE [--json] [--tenant T] [--catalog DIR]
                                               validate a document; exit 1 when invalid;
                                               with --catalog, lint findings against DIR's
                                               catalog are listed as warnings
  recsys verify-artifact FILE [--uri URI] [--json]
                                               recompute an artifact's version hash
  recsys conformance DIR                       run a conformance corpus (cases/*.json)
  recsys recommend|validate|similar DIR (--request FILE | --request-json JSON)
        [--now RFC3339] [--tenant T] [--request-id ID] [--roles a,b]
                                               serve one request from DIR (config.json,
                                               rules.json, manifest.json, artifacts)
  recsys lint DIR [--config F] [--rules F] [--now RFC3339] [--json]
                                               lint DIR's (or candidate) config and rules
                                               against its catalog; exit 1 on errors
  recsys preview DIR [--config F] [--rules F] --requests F.jsonl [--now RFC3339]
        [--max-details N] [--json]             serve the requests against current and
                                               candidate documents; print what changes
  recsys api-key hash KEY [--secret S | --secret-env VAR] [--json]
                                               the hash to store for an API key (KEY - = stdin)
  recsys assign --experiment ID (--subject S | --user-id U | --session-id S | --anonymous-id A)
        [--salt S | --salt-env VAR] [--surface S] [--now RFC3339] [--definitions FILE] [--json]
                                               the experiment variant serving would assign
  recsys validate-profile FILE [--json]        check an engine profile; exit 1 when invalid";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

struct Flags {
    json: bool,
    opts: Vec<(String, String)>,
    positional: Vec<String>,
}

fn flags(args: &[String]) -> Result<Flags, String> {
    let mut f = Flags {
        json: false,
        opts: Vec::new(),
        positional: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--json" {
            f.json = true;
        } else if let Some(name) = a.strip_prefix("--") {
            let v = args
                .get(i + 1)
                .ok_or_else(|| format!("--{name} needs a value"))?;
            f.opts.push((name.to_string(), v.clone()));
            i += 1;
        } else {
            f.positional.push(a.clone());
        }
        i += 1;
    }
    Ok(f)
}

impl Flags {
    fn opt(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(cmd) = args.first() else {
        println!("{USAGE}");
        return Ok(ExitCode::from(2));
    };
    let f = flags(&args[1..])?;
    let arg = |i: usize| {
        f.positional
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| USAGE.to_string())
    };
    match cmd.as_str() {
        "demo" => demo(),
        "etag" => {
            let text = read(Path::new(arg(0)?))?;
            match call_static("etag", &text) {
                Ok(a) if f.json => println!("{a}"),
                Ok(a) => {
                    let v = json::parse(a.as_bytes()).map_err(|e| e.to_string())?;
                    println!(
                        "{}",
                        v.as_object()
                            .and_then(|m| m.get("etag"))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                    );
                }
                Err(e) => return Ok(report_error(&e, f.json)),
            }
            Ok(ExitCode::SUCCESS)
        }
        "check" => check(arg(0)?, Path::new(arg(1)?), &f),
        "verify-artifact" => verify_artifact(Path::new(arg(0)?), &f),
        "conformance" => conformance(Path::new(arg(0)?)),
        "recommend" | "validate" | "similar" => serve(cmd, Path::new(arg(0)?), &f),
        "lint" => change::lint(Path::new(arg(0)?), &f),
        "preview" => change::preview(Path::new(arg(0)?), &f),
        "api-key" => ops::api_key(arg(0)?, &f),
        "assign" => ops::assign(&f),
        "validate-profile" => ops::validate_profile(arg(0)?, &f),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn report_error(e: &ApiError, as_json: bool) -> ExitCode {
    if as_json {
        println!("{}", e.to_json());
    } else {
        eprintln!("{}: {}", e.code, e.message);
        for p in &e.problems {
            eprintln!("  {} {}: {}", p.code, p.path, p.message);
        }
    }
    ExitCode::FAILURE
}

fn print_problems(kind: &str, errors: &[Problem], warnings: &[Problem], as_json: bool) -> ExitCode {
    let ok = errors.is_empty();
    if as_json {
        let mut m = Map::new();
        m.push("kind", Value::str(kind));
        m.push("valid", Value::Bool(ok));
        m.push(
            "errors",
            Value::Array(errors.iter().map(Problem::to_value).collect()),
        );
        m.push(
            "warnings",
            Value::Array(warnings.iter().map(Problem::to_value).collect()),
        );
        println!("{}", json::to_string(&Value::Object(m)));
    } else {
        for p in errors {
            println!("error   {:<34} {:<28} {}", p.code, p.path, p.message);
        }
        for p in warnings {
            println!("warning {:<34} {:<28} {}", p.code, p.path, p.message);
        }
        println!("{kind}: {}", if ok { "valid" } else { "invalid" });
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn check(kind: &str, path: &Path, f: &Flags) -> Result<ExitCode, String> {
    let text = read(path)?;
    let limits = ArtifactLimits::default();
    let one = |e: ApiError| -> Vec<Problem> {
        if e.problems.is_empty() {
            vec![Problem::new("$", e.code, e.message.clone())]
        } else {
            e.problems.clone()
        }
    };
    let (errors, warnings) = match kind {
        "config" => match json::parse(text.as_bytes()) {
            Err(e) => (one(e.into()), vec![]),
            Ok(v) => match TenantConfig::from_value(&v) {
                Ok((_, w)) => (vec![], w),
                Err(errs) => (errs, vec![]),
            },
        },
        "rules" => {
            let opts = RulesParseOptions {
                strict: true,
                tenant: f.opt("tenant").unwrap_or("default").to_string(),
                ..RulesParseOptions::default()
            };
            match rules::parse_rules(text.as_bytes(), &opts) {
                Ok(doc) => (vec![], doc.warnings),
                Err(e) => (one(e.into()), vec![]),
            }
        }
        "manifest" => match artifacts::parse_manifest(text.as_bytes(), &limits) {
            Ok(_) => (vec![], vec![]),
            Err(e) => (one(e.into()), vec![]),
        },
        "artifact" => match artifacts::parse_artifact(text.as_bytes(), None, &limits)
            .and_then(|a| artifacts::verify(&a, None).map(|_| a))
        {
            Ok(_) => (vec![], vec![]),
            Err(e) => (one(e.into()), vec![]),
        },
        other => {
            return Err(format!(
                "unknown document kind {other:?}: use config, rules, manifest or artifact"
            ))
        }
    };
    let mut warnings = warnings;
    if let (Some(dir), true, "config" | "rules") = (f.opt("catalog"), errors.is_empty(), kind) {
        warnings.extend(change::catalog_findings(Path::new(dir), kind, path, f)?);
    }
    Ok(print_problems(kind, &errors, &warnings, f.json))
}

fn verify_artifact(path: &Path, f: &Flags) -> Result<ExitCode, String> {
    let text = read(path)?;
    let limits = ArtifactLimits::default();
    let uri = f
        .opt("uri")
        .map(str::to_string)
        .unwrap_or_else(|| path.display().to_string());
    let a = match artifacts::parse_artifact(text.as_bytes(), None, &limits) {
        Ok(a) => a,
        Err(e) => return Ok(report_error(&e.into(), f.json)),
    };
    let computed = artifacts::version_hash(&a);
    let result = artifacts::verify(&a, artifacts::version_from_uri(&uri));
    if f.json {
        let mut m = Map::new();
        m.push("artifact_type", Value::str(a.kind().as_str()));
        m.push("computed_version", Value::str(&computed));
        m.push("declared_version", Value::str(a.declared_version()));
        m.push("valid", Value::Bool(result.is_ok()));
        if let Err(e) = &result {
            m.push("error", Value::str(e.to_string()));
        }
        println!("{}", json::to_string(&Value::Object(m)));
    } else {
        println!("artifact_type    {}", a.kind().as_str());
        println!("computed version {computed}");
        println!("declared version {}", a.declared_version());
        match &result {
            Ok(_) => println!("ok: the version hash matches"),
            Err(e) => println!("MISMATCH: {e}"),
        }
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn field(v: &Value, k: &str) -> Option<String> {
    v.as_object()?.get(k)?.as_str().map(str::to_owned)
}

/// Runs every `*.json` case under DIR (or DIR/cases) and prints `N passed, N failed`.
fn conformance(dir: &Path) -> Result<ExitCode, String> {
    let cases = if dir.join("cases").is_dir() {
        dir.join("cases")
    } else {
        dir.to_path_buf()
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cases)
        .map_err(|e| format!("cannot read {}: {e}", cases.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in &files {
        match run_case(&read(path)?) {
            Ok(()) => passed += 1,
            Err(msg) => {
                failed += 1;
                println!("FAIL {}: {msg}", path.display());
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_case(text: &str) -> Result<(), String> {
    let split = call_static("conformance_split", text).map_err(|e| e.to_json())?;
    let split = json::parse(split.as_bytes()).map_err(|e| e.to_string())?;
    let engine = match field(&split, "engine") {
        Some(o) => Engine::with_options_json(&o).map_err(|e| e.to_json())?,
        None => Engine::new(),
    };
    if let Some(docs) = field(&split, "documents") {
        engine
            .call("load_snapshot", &docs)
            .map_err(|e| format!("load_snapshot failed: {}", e.to_json()))?;
    }
    let op = field(&split, "call").unwrap_or_default();
    let input = field(&split, "input").unwrap_or_default();
    let actual = engine
        .call(&op, &input)
        .unwrap_or_else(|e| format!("{{\"error\":{}}}", e.to_json()));
    let expect = field(&split, "expect").unwrap_or_default();
    let cmp = call_static(
        "conformance_compare",
        &format!("{{\"expect\":{expect},\"actual\":{actual}}}"),
    )
    .map_err(|e| e.to_json())?;
    let cmp = json::parse(cmp.as_bytes()).map_err(|e| e.to_string())?;
    if cmp
        .as_object()
        .and_then(|m| m.get("pass"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        Ok(())
    } else {
        Err(format!(
            "\n  expected {}\n  actual   {}",
            field(&cmp, "expected").unwrap_or_default(),
            field(&cmp, "actual").unwrap_or_default()
        ))
    }
}

/// Resolves a manifest URI to a file under DIR: `s3://bucket/key` → DIR/objectstore/key,
/// `file://path` and bare paths → the path (relative ones under DIR).
fn uri_path(dir: &Path, uri: &str) -> PathBuf {
    if let Some(rest) = uri.strip_prefix("s3://") {
        let key = rest.split_once('/').map(|(_, k)| k).unwrap_or("");
        return dir.join("objectstore").join(key);
    }
    let p = Path::new(uri.strip_prefix("file://").unwrap_or(uri));
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// Builds the `load_snapshot` documents for a directory, passing every file's text verbatim.
fn documents_from_dir(dir: &Path, tenant: Option<&str>) -> Result<String, String> {
    let opt = |name: &str| -> Result<Option<String>, String> {
        let p = dir.join(name);
        if p.exists() {
            read(&p).map(Some)
        } else {
            Ok(None)
        }
    };
    let manifest_text = opt("manifest.json")?;
    let mut out = String::from("{");
    let (t, s) = match &manifest_text {
        Some(mt) => {
            let m = artifacts::parse_manifest(mt.as_bytes(), &ArtifactLimits::default())
                .map_err(|e| format!("manifest.json: {e}"))?;
            (m.tenant.clone(), m.surface.clone())
        }
        None => (
            tenant.unwrap_or("default").to_string(),
            "default".to_string(),
        ),
    };
    out.push_str(&format!(
        "\"tenant\":{},\"surface\":{}",
        json::to_string(&Value::String(t)),
        json::to_string(&Value::String(s))
    ));
    for (k, file) in [("config", "config.json"), ("rules", "rules.json")] {
        if let Some(text) = opt(file)? {
            out.push_str(&format!(",\"{k}\":{text}"));
        }
    }
    if let Some(mt) = manifest_text {
        out.push_str(&format!(",\"manifest\":{mt},\"artifacts\":{{"));
        let m = artifacts::parse_manifest(mt.as_bytes(), &ArtifactLimits::default())
            .map_err(|e| e.to_string())?;
        let mut first = true;
        for kind in ArtifactKind::ALL {
            let Some(uri) = m.uri(kind) else { continue };
            let p = uri_path(dir, uri);
            if !p.exists() {
                continue; // reported by load_snapshot as a missing artifact
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&format!(
                "{}:{}",
                json::to_string(&Value::str(uri)),
                read(&p)?
            ));
        }
        out.push('}');
    }
    out.push('}');
    Ok(out)
}

fn ctx_json(f: &Flags, tenant: &str) -> String {
    let mut m = Map::new();
    m.push(
        "now",
        Value::str(f.opt("now").unwrap_or("2026-01-02T00:00:00Z")),
    );
    m.push(
        "request_id",
        Value::str(f.opt("request-id").unwrap_or("cli")),
    );
    m.push("tenant", Value::str(f.opt("tenant").unwrap_or(tenant)));
    let roles: Vec<Value> = f
        .opt("roles")
        .unwrap_or("")
        .split(',')
        .filter(|r| !r.is_empty())
        .map(Value::str)
        .collect();
    m.push("roles", Value::Array(roles));
    json::to_string(&Value::Object(m))
}

fn serve(op: &str, dir: &Path, f: &Flags) -> Result<ExitCode, String> {
    let docs = documents_from_dir(dir, f.opt("tenant"))?;
    let engine = Engine::new();
    let report = match engine.call("load_snapshot", &docs) {
        Ok(r) => r,
        Err(e) => return Ok(report_error(&e, f.json)),
    };
    let tenant = field(
        &json::parse(report.as_bytes()).map_err(|e| e.to_string())?,
        "tenant",
    )
    .unwrap_or_default();
    let request = match (f.opt("request"), f.opt("request-json")) {
        (Some(p), _) => read(Path::new(p))?,
        (None, Some(j)) => j.to_string(),
        (None, None) => return Err("give --request FILE or --request-json JSON".into()),
    };
    let input = format!("{{\"request\":{request},\"ctx\":{}}}", ctx_json(f, &tenant));
    match engine.call(op, &input) {
        Ok(a) => {
            println!("{a}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_error(&e, f.json)),
    }
}

// The embedded example data (examples/data, a copy of the reference pipeline's
// ecommerce-mini output) so `recsys demo` works from anywhere.
const DEMO_CONFIG: &str = include_str!("../../../examples/data/config.json");
const DEMO_RULES: &str = include_str!("../../../examples/data/rules.json");
const DEMO_MANIFEST: &str = include_str!("../../../examples/data/manifest.json");
const DEMO_REQUEST: &str = include_str!("../../../examples/data/request.json");
const DEMO_ARTIFACTS: [&str; 5] = [
    include_str!("../../../examples/data/objectstore/demo/home/popularity/64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c.json"),
    include_str!("../../../examples/data/objectstore/demo/home/cooc/d964fd4949770b5ad88ad26828568d428a834792718df35074530a2599a7e5e2.json"),
    include_str!("../../../examples/data/objectstore/demo/home/implicit/4f76667b3f3ef09a8d394fccc7e39c94f6de13e7b0302cf9c3b5351db6044fcd.json"),
    include_str!("../../../examples/data/objectstore/demo/home/content_sim/a81df24dda26639a44a19b2eeefc3fb0be982d2deca36c4128221a5777560e3a.json"),
    include_str!("../../../examples/data/objectstore/demo/home/session_seq/0e5ab0958425e002acb616347a01950a0114e3fe7e728731f2d09c33ede83769.json"),
];

fn demo() -> Result<ExitCode, String> {
    let m = artifacts::parse_manifest(DEMO_MANIFEST.as_bytes(), &ArtifactLimits::default())
        .map_err(|e| e.to_string())?;
    let mut arts = String::new();
    for (i, kind) in ArtifactKind::ALL.iter().enumerate() {
        let uri = m.uri(*kind).ok_or("the demo manifest lacks an artifact")?;
        if i > 0 {
            arts.push(',');
        }
        arts.push_str(&format!(
            "{}:{}",
            json::to_string(&Value::str(uri)),
            DEMO_ARTIFACTS[i]
        ));
    }
    let docs = format!(
        "{{\"tenant\":\"demo\",\"surface\":\"home\",\"config\":{DEMO_CONFIG},\"rules\":{DEMO_RULES},\"manifest\":{DEMO_MANIFEST},\"artifacts\":{{{arts}}}}}"
    );
    let engine = Engine::new();
    let report = engine
        .call("load_snapshot", &docs)
        .map_err(|e| e.to_json())?;
    let ctx = r#"{"now":"2026-01-02T00:00:00Z","request_id":"demo-1","tenant":"demo"}"#;
    let answer = engine
        .call(
            "recommend",
            &format!("{{\"request\":{DEMO_REQUEST},\"ctx\":{ctx}}}"),
        )
        .map_err(|e| e.to_json())?;
    let rep = json::parse(report.as_bytes()).map_err(|e| e.to_string())?;
    let v = json::parse(answer.as_bytes()).map_err(|e| e.to_string())?;
    println!("recsys demo: tenant \"demo\", surface \"home\" (examples/data: the ecommerce-mini fixture)");
    println!(
        "snapshot: {} items, {} rules serving",
        rep.as_object()
            .and_then(|m| m.get("items"))
            .map(json::to_string)
            .unwrap_or_default(),
        rep.as_object()
            .and_then(|m| m.get("rules"))
            .and_then(|r| r.as_object())
            .and_then(|r| r.get("serving"))
            .map(json::to_string)
            .unwrap_or_default()
    );
    println!(
        "request:  {}",
        DEMO_REQUEST
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!();
    println!("{:<5} {:<22} {:>9}  reasons", "rank", "item", "score");
    let obj = v.as_object().ok_or("bad answer")?;
    for item in obj.get("items").and_then(Value::as_array).unwrap_or(&[]) {
        let im = item.as_object().ok_or("bad item")?;
        let reasons: Vec<&str> = im
            .get("reasons")
            .and_then(Value::as_array)
            .unwrap_or(&[])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let score = im.get("score").and_then(Value::as_f64).unwrap_or(0.0);
        println!(
            "{:<5} {:<22} {:>9.4}  {}",
            im.get("rank").map(json::to_string).unwrap_or_default(),
            im.get("item_id").and_then(Value::as_str).unwrap_or(""),
            score,
            reasons.join(", ")
        );
    }
    println!();
    if let Some(meta) = obj.get("meta").and_then(Value::as_object) {
        for k in [
            "algo_version",
            "config_version",
            "rules_version",
            "manifest_version",
            "counts",
        ] {
            if let Some(x) = meta.get(k) {
                println!(
                    "{k:<17} {}",
                    x.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| json::to_string(x))
                );
            }
        }
    }
    for wv in obj.get("warnings").and_then(Value::as_array).unwrap_or(&[]) {
        println!("warning           {}", json::to_string(wv));
    }
    println!();
    println!("full answer (JSON): {answer}");
    Ok(ExitCode::SUCCESS)
}
