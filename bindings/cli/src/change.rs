//! The safe-change commands: `recsys lint DIR` (static analysis of the directory's config
//! and rules, or of candidate files, against its catalog) and `recsys preview DIR --config F
//! --rules F --requests F.jsonl` (serve recorded requests against the current and the
//! candidate documents and print what changes). Nothing is published.

use recsys_core::json::{self, Map, Value};
use recsys_core::time::Timestamp;
use recsys_core::{ApiError, Engine};
use std::path::Path;
use std::process::ExitCode;

use super::{field, load_dir, read, report_error, Flags};

const DEFAULT_NOW: &str = "2026-01-02T00:00:00Z";

/// `{"tenant", "config"?, "rules"?}` with the candidate files (`--config`, `--rules`) as raw
/// JSON text, so number literals reach the core as written; an unreadable file is a usage
/// error, invalid UTF-8 the parser's typed error.
fn proposal(tenant: &str, f: &Flags) -> Result<Result<Map, ApiError>, String> {
    let mut m = Map::new();
    m.push("tenant", Value::str(tenant));
    for k in ["config", "rules"] {
        if let Some(p) = f.opt(k) {
            match read(Path::new(p))? {
                Ok(text) => m.push(k, Value::String(text)),
                Err(e) => return Ok(Err(e)),
            }
        }
    }
    Ok(Ok(m))
}

/// DIR loaded into an engine, and the proposal input for its tenant; or the exit code of an
/// error already reported.
fn loaded_proposal(dir: &Path, f: &Flags) -> Result<Result<(Engine, Map), ExitCode>, String> {
    let (engine, tenant) = match load_dir(dir, f)? {
        Ok(x) => x,
        Err(code) => return Ok(Err(code)),
    };
    Ok(match proposal(&tenant, f)? {
        Ok(m) => Ok((engine, m)),
        Err(e) => Err(report_error(&e, f.json)),
    })
}

fn now(f: &Flags) -> Result<Timestamp, String> {
    let s = f.opt("now").unwrap_or(DEFAULT_NOW);
    Timestamp::parse_rfc3339(s)
        .ok_or_else(|| format!("--now must be an RFC3339 timestamp, got {s:?}"))
}

/// `recsys lint DIR [--config F] [--rules F] [--now T] [--json]`: exit 1 when there is an
/// error-level finding.
pub fn lint(dir: &Path, f: &Flags) -> Result<ExitCode, String> {
    let (engine, mut m) = match loaded_proposal(dir, f)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    m.push("now", Value::str(f.opt("now").unwrap_or(DEFAULT_NOW)));
    let answer = match engine.call_value("lint", &Value::Object(m)) {
        Ok(a) => a,
        Err(e) => return Ok(report_error(&e, f.json)),
    };
    let a = answer.as_object().ok_or("bad lint answer")?;
    let errors = a.get("errors").and_then(Value::as_f64).unwrap_or(0.0);
    if f.json {
        println!("{}", json::to_string(&answer));
    } else {
        for finding in a.get("findings").and_then(Value::as_array).unwrap_or(&[]) {
            let g = |k: &str| field(finding, k).unwrap_or_default();
            println!(
                "{:<7} {:<28} {:<10} {}",
                g("severity"),
                g("code"),
                g("path"),
                g("message")
            );
        }
        println!(
            "lint: {} error(s), {} warning(s)",
            errors,
            a.get("warnings").and_then(Value::as_f64).unwrap_or(0.0)
        );
    }
    Ok(if errors > 0.0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `recsys check config|rules FILE --catalog DIR`: the lint findings of FILE's `text` against
/// DIR's catalog, as problems (`check` lists them as warnings; its exit status stays about
/// validity).
pub fn catalog_findings(
    dir: &Path,
    kind: &str,
    text: &str,
    f: &Flags,
) -> Result<Vec<recsys_core::Problem>, String> {
    let (engine, tenant) = match load_dir(dir, f)? {
        Ok(x) => x,
        Err(_) => return Err(format!("cannot load the catalog in {}", dir.display())),
    };
    let mut m = Map::new();
    m.push("tenant", Value::str(&tenant));
    m.push(kind.to_string(), Value::str(text));
    m.push("now", Value::str(f.opt("now").unwrap_or(DEFAULT_NOW)));
    let answer = engine
        .call_value("lint", &Value::Object(m))
        .map_err(|e| e.to_string())?;
    let findings = answer
        .as_object()
        .and_then(|a| a.get("findings"))
        .and_then(Value::as_array)
        .unwrap_or(&[]);
    let code = |c: &str| {
        recsys_core::lint_codes::ALL
            .iter()
            .copied()
            .find(|x| *x == c)
            .unwrap_or("RECSYS_LINT")
    };
    Ok(findings
        .iter()
        .map(|x| {
            recsys_core::Problem::new(
                field(x, "path").unwrap_or_default(),
                code(&field(x, "code").unwrap_or_default()),
                format!(
                    "{}: {}",
                    field(x, "severity").unwrap_or_default(),
                    field(x, "message").unwrap_or_default()
                ),
            )
        })
        .collect())
}

/// Reads a JSON Lines file: each non-blank line is a request object, or an exposure event
/// carrying its request (a `request` member).
fn requests(path: &Path) -> Result<(Vec<Value>, Vec<Value>), String> {
    let text = read(path)?.map_err(|e| e.message)?;
    let (mut reqs, mut events) = (Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v = json::parse(line.as_bytes())
            .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        if v.as_object().is_some_and(|m| m.get("request").is_some()) {
            events.push(v);
        } else {
            reqs.push(v);
        }
    }
    Ok((reqs, events))
}

/// `recsys preview DIR [--config F] [--rules F] --requests F.jsonl [--now T] [--json]`.
pub fn preview(dir: &Path, f: &Flags) -> Result<ExitCode, String> {
    let path = f.opt("requests").ok_or("give --requests FILE.jsonl")?;
    let (reqs, events) = requests(Path::new(path))?;
    let (engine, mut m) = match loaded_proposal(dir, f)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    m.push("requests", Value::Array(reqs));
    m.push("exposures", Value::Array(events));
    if let Some(d) = f.opt("max-details") {
        let n: u64 = d
            .parse()
            .map_err(|_| format!("--max-details must be a count, got {d:?}"))?;
        m.push("max_details", Value::u64(n));
    }
    let answer = match engine.preview(&m, now(f)?) {
        Ok(a) => a,
        Err(e) => return Ok(report_error(&e, f.json)),
    };
    if f.json {
        println!("{}", json::to_string(&answer));
        return Ok(ExitCode::SUCCESS);
    }
    let g = |k: &str| {
        answer
            .as_object()
            .and_then(|a| a.get(k))
            .map(json::to_string)
            .unwrap_or_default()
    };
    for k in [
        "requests",
        "served",
        "failed",
        "changed",
        "empty_rate_before",
        "empty_rate_after",
        "overlap_at_k",
        "rules_fired",
        "rules_never_fired",
    ] {
        println!("{k:<18} {}", g(k));
    }
    let details = answer
        .as_object()
        .and_then(|a| a.get("details"))
        .and_then(Value::as_array);
    for d in details.unwrap_or(&[]) {
        println!("{}", json::to_string(d));
    }
    Ok(ExitCode::SUCCESS)
}
