//! `recsys`: the operator CLI over recsys-core. No I/O happens in the core; this binary reads
//! files, supplies the clock, and prints answers.

use recsys_core::check::{
    Artifact, ArtifactKind, ArtifactLimits, Config, Manifest, Rules, RulesMode,
};
use recsys_core::json::{self, Map, Value};
use recsys_core::{call_static, ApiError, Engine, ErrorCode, Problem};
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
                                               rules.json, manifest.json; artifacts only
                                               from DIR/objectstore)
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

/// A file's bytes; an I/O failure is a usage-level error (exit 2).
fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A document file as text: invalid UTF-8 is the parser's typed error
/// (`RECSYS_JSON_INVALID_UTF8`), like every other bad document.
fn read(path: &Path) -> Result<Result<String, ApiError>, String> {
    Ok(String::from_utf8(read_bytes(path)?).map_err(|e| {
        let err = json::JsonError {
            kind: json::JsonErrorKind::InvalidUtf8,
            offset: e.utf8_error().valid_up_to(),
            path: String::new(),
            message: "invalid utf-8".into(),
        };
        in_file(path, err.into())
    }))
}

/// `e` with the file it came from named in its message.
fn in_file(path: &Path, mut e: ApiError) -> ApiError {
    e.message = format!("{}: {}", path.display(), e.message);
    e
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
            let text = match read(Path::new(arg(0)?))? {
                Ok(t) => t,
                Err(e) => return Ok(report_error(&e, f.json)),
            };
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
    let one = |e: ApiError| -> Vec<Problem> {
        if e.problems.is_empty() {
            vec![Problem::new("$", e.code, e.message.clone())]
        } else {
            e.problems.clone()
        }
    };
    let text = match read(path)? {
        Ok(t) => t,
        Err(e) => return Ok(print_problems(kind, &one(e), &[], f.json)),
    };
    let (errors, warnings) = match kind {
        "config" => match Config::parse(text.as_bytes()) {
            Ok(c) => (vec![], c.warnings().to_vec()),
            Err(e) => (one(e), vec![]),
        },
        "rules" => {
            let tenant = f.opt("tenant").unwrap_or("default");
            match Rules::parse(text.as_bytes(), tenant, RulesMode::Strict) {
                Ok(doc) => (vec![], doc.warnings().to_vec()),
                Err(e) => (one(e), vec![]),
            }
        }
        "manifest" => match Manifest::parse(text.as_bytes()) {
            Ok(_) => (vec![], vec![]),
            Err(e) => (one(e), vec![]),
        },
        "artifact" => match Artifact::parse(text.as_bytes(), None).and_then(|a| a.verify(None)) {
            Ok(_) => (vec![], vec![]),
            Err(e) => (one(e), vec![]),
        },
        other => {
            return Err(format!(
                "unknown document kind {other:?}: use config, rules, manifest or artifact"
            ))
        }
    };
    let mut warnings = warnings;
    if let (Some(dir), true, "config" | "rules") = (f.opt("catalog"), errors.is_empty(), kind) {
        warnings.extend(change::catalog_findings(Path::new(dir), kind, &text, f)?);
    }
    Ok(print_problems(kind, &errors, &warnings, f.json))
}

fn verify_artifact(path: &Path, f: &Flags) -> Result<ExitCode, String> {
    let text = match read(path)? {
        Ok(t) => t,
        Err(e) => return Ok(report_error(&e, f.json)),
    };
    let uri = f
        .opt("uri")
        .map(str::to_string)
        .unwrap_or_else(|| path.display().to_string());
    let a = match Artifact::parse(text.as_bytes(), None) {
        Ok(a) => a,
        Err(e) => return Ok(report_error(&e, f.json)),
    };
    let computed = a.version();
    let result = a.verify(Artifact::version_from_uri(&uri));
    if f.json {
        let mut m = Map::new();
        m.push("artifact_type", Value::str(a.kind().as_str()));
        m.push("computed_version", Value::str(&computed));
        m.push("declared_version", Value::str(a.declared_version()));
        m.push("valid", Value::Bool(result.is_ok()));
        if let Err(e) = &result {
            m.push("error", Value::str(detail(e)));
        }
        println!("{}", json::to_string(&Value::Object(m)));
    } else {
        println!("artifact_type    {}", a.kind().as_str());
        println!("computed version {computed}");
        println!("declared version {}", a.declared_version());
        match &result {
            Ok(_) => println!("ok: the version hash matches"),
            Err(e) => println!("MISMATCH: {}", detail(e)),
        }
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What a version check found (the artifact error's own text, without the load's prefix).
fn detail(e: &ApiError) -> &str {
    e.problems.first().map_or(&e.message, |p| &p.message)
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
        let case = read(path)?.map_err(|e| e.to_json());
        match case.and_then(|text| run_case(&text)) {
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

/// Resolves a manifest URI to a file under DIR/objectstore: `s3://bucket/key` →
/// DIR/objectstore/key; `file://path` and bare paths → the path (relative ones under DIR),
/// accepted only when it resolves (symlinks and `..` included) inside DIR/objectstore.
/// `Ok(None)`: no such file (load_snapshot then reports the artifact missing).
fn uri_path(dir: &Path, uri: &str) -> Result<Option<PathBuf>, ApiError> {
    let store = dir.join("objectstore");
    let candidate = match uri.strip_prefix("s3://") {
        Some(rest) => store.join(rest.split_once('/').map(|(_, k)| k).unwrap_or("")),
        None => {
            let p = Path::new(uri.strip_prefix("file://").unwrap_or(uri));
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            }
        }
    };
    let outside = || {
        ApiError::new(
            ErrorCode::ArtifactUriOutsideStore,
            format!(
                "artifact uri {uri:?} resolves outside {}; the cli reads artifacts only from there",
                store.display()
            ),
        )
    };
    // Lexically first (a missing file outside is still refused), then with symlinks resolved.
    if !lexical(&candidate).starts_with(lexical(&store)) {
        return Err(outside());
    }
    let (Ok(real), Ok(root)) = (candidate.canonicalize(), store.canonicalize()) else {
        return Ok(None);
    };
    if !real.starts_with(&root) || !real.is_file() {
        return Err(outside());
    }
    Ok(Some(real))
}

/// `p` with `.` and `..` components resolved without touching the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A JSON document file parsed with `limits`; errors name the file.
fn parse_file(path: &Path, limits: json::Limits) -> Result<Option<Value>, ApiError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = read(path)
        .map_err(|e| ApiError::new(ErrorCode::FileUnreadable, e))?
        .map_err(|e| in_file(path, e))?;
    json::parse_with(text.as_bytes(), limits)
        .map(Some)
        .map_err(|e| in_file(path, e.into()))
}

/// Builds the `load_snapshot` documents for a directory with the JSON writer: config and
/// rules are parsed (document limits) and inserted as values, artifacts as their raw text
/// (a JSON string, verified byte for byte by the core), so no file can splice members into
/// the load.
fn documents_from_dir(dir: &Path, tenant: Option<&str>) -> Result<String, ApiError> {
    let alimits = ArtifactLimits::default();
    let manifest_limits = json::Limits {
        max_bytes: alimits.max_bytes,
        max_depth: alimits.max_depth,
        ..json::Limits::default()
    };
    let manifest = parse_file(&dir.join("manifest.json"), manifest_limits)?;
    let config = parse_file(&dir.join("config.json"), json::Limits::document())?;
    let rules = parse_file(&dir.join("rules.json"), json::Limits::document())?;
    let Some(mv) = manifest else {
        let tenant = tenant.unwrap_or("default");
        return Ok(load_input(tenant, "default", config, rules, None));
    };
    let m = Manifest::parse_with(json::to_string(&mv).as_bytes(), &alimits)
        .map_err(|e| in_file(&dir.join("manifest.json"), e))?;
    let mut arts = Vec::new();
    for kind in ArtifactKind::ALL {
        let Some(uri) = m.uri(kind) else { continue };
        let Some(p) = uri_path(dir, uri)? else {
            continue; // reported by load_snapshot as a missing artifact
        };
        let text = read(&p)
            .map_err(|e| ApiError::new(ErrorCode::FileUnreadable, e))?
            .map_err(|e| in_file(&p, e))?;
        arts.push((uri.to_string(), text));
    }
    Ok(load_input(
        m.tenant(),
        m.surface(),
        config,
        rules,
        Some((mv, arts)),
    ))
}

/// The `load_snapshot` input, written with the JSON writer: artifacts are (URI, raw text).
fn load_input(
    tenant: &str,
    surface: &str,
    config: Option<Value>,
    rules: Option<Value>,
    manifest: Option<(Value, Vec<(String, String)>)>,
) -> String {
    let mut out = Map::new();
    out.push("tenant", Value::str(tenant));
    out.push("surface", Value::str(surface));
    if let Some(c) = config {
        out.push("config", c);
    }
    if let Some(r) = rules {
        out.push("rules", r);
    }
    if let Some((mv, arts)) = manifest {
        out.push("manifest", mv);
        let mut am = Map::new();
        for (uri, text) in arts {
            am.push(uri, Value::String(text));
        }
        out.push("artifacts", Value::Object(am));
    }
    json::to_string(&Value::Object(out))
}

fn ctx_value(f: &Flags, tenant: &str) -> Value {
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
    Value::Object(m)
}

/// Loads DIR into a fresh engine: the engine and the tenant, or the exit code of a load
/// error already reported.
fn load_dir(dir: &Path, f: &Flags) -> Result<Result<(Engine, String), ExitCode>, String> {
    let docs = match documents_from_dir(dir, f.opt("tenant")) {
        Ok(d) => d,
        Err(e) => return Ok(Err(report_error(&e, f.json))),
    };
    let engine = Engine::new();
    let report = match engine.call("load_snapshot", &docs) {
        Ok(r) => r,
        Err(e) => return Ok(Err(report_error(&e, f.json))),
    };
    let tenant = field(
        &json::parse(report.as_bytes()).map_err(|e| e.to_string())?,
        "tenant",
    )
    .unwrap_or_default();
    Ok(Ok((engine, tenant)))
}

fn serve(op: &str, dir: &Path, f: &Flags) -> Result<ExitCode, String> {
    let (engine, tenant) = match load_dir(dir, f)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let request = match (f.opt("request"), f.opt("request-json")) {
        (Some(p), _) => match read(Path::new(p))? {
            Ok(t) => t,
            Err(e) => return Ok(report_error(&e, f.json)),
        },
        (None, Some(j)) => j.to_string(),
        (None, None) => return Err("give --request FILE or --request-json JSON".into()),
    };
    // The call input is built by the core (the same envelope every binding uses).
    let ctx = json::to_string(&ctx_value(f, &tenant));
    match recsys_core::host::serve(&engine, op, &request, &ctx) {
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
    let m = Manifest::parse(DEMO_MANIFEST.as_bytes()).map_err(|e| e.to_string())?;
    let mut arts = Vec::new();
    for (i, kind) in ArtifactKind::ALL.iter().enumerate() {
        let uri = m.uri(*kind).ok_or("the demo manifest lacks an artifact")?;
        arts.push((uri.to_string(), DEMO_ARTIFACTS[i].to_string()));
    }
    let parse = |t: &str| json::parse(t.as_bytes()).map_err(|e| e.to_string());
    let docs = load_input(
        "demo",
        "home",
        Some(parse(DEMO_CONFIG)?),
        Some(parse(DEMO_RULES)?),
        Some((parse(DEMO_MANIFEST)?, arts)),
    );
    let engine = Engine::new();
    let report = engine
        .call("load_snapshot", &docs)
        .map_err(|e| e.to_json())?;
    let ctx = r#"{"now":"2026-01-02T00:00:00Z","request_id":"demo-1","tenant":"demo"}"#;
    let answer = recsys_core::host::serve(&engine, "recommend", DEMO_REQUEST, ctx)
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
