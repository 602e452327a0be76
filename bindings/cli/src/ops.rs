//! The static operator commands: `api-key hash` (the stored form of an API key),
//! `assign` (an experiment assignment, as serving computes it) and `validate-profile` (the
//! engine profile's fail-fast checks). Each is one `call_static` of the core; this module
//! only turns flags into its JSON input and its answer into output and an exit status.

use recsys_core::json::{self, Map, Value};
use recsys_core::{call_static, ApiError};
use std::process::ExitCode;

use super::{read, report_error, Flags};

/// `recsys api-key hash KEY [--secret S | --secret-env VAR] [--json]`: prints the hash to
/// store for KEY (`-` reads the key from stdin). A secret on the command line lands in shell
/// history, so `--secret-env` names an environment variable holding it instead.
pub fn api_key(sub: &str, f: &Flags) -> Result<ExitCode, String> {
    if sub != "hash" {
        return Err(format!(
            "unknown api-key command {sub:?}; expected \"hash\""
        ));
    }
    let key = match f.positional.get(1).map(String::as_str) {
        None => {
            return Err("usage: recsys api-key hash KEY [--secret S | --secret-env VAR]".into())
        }
        Some("-") => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| format!("cannot read the key from stdin: {e}"))?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        Some(k) => k.to_string(),
    };
    let secret = value_or_env(f, "secret")?;
    let mut input = Map::new();
    input.push("secret", Value::String(secret));
    input.push("key", Value::String(key));
    print_answer("api_key_hash", &Value::Object(input), f, "hash")
}

/// `recsys assign --experiment ID (--subject S | --user-id U | --session-id S |
/// --anonymous-id A) [--salt S | --salt-env VAR] [--surface S] [--now RFC3339]
/// [--definitions FILE] [--json]`: the variant serving would assign.
pub fn assign(f: &Flags) -> Result<ExitCode, String> {
    let id = f.opt("experiment").ok_or(
        "usage: recsys assign --experiment ID --subject S [--salt S] [--definitions FILE]",
    )?;
    let mut input = Map::new();
    input.push("experiment_id", Value::str(id));
    let salt = value_or_env(f, "salt")?;
    input.push("salt", Value::String(salt));
    if let Some(s) = f.opt("subject") {
        input.push("subject", Value::str(s));
    } else {
        let mut user = Map::new();
        for (flag, member) in [
            ("user-id", "user_id"),
            ("anonymous-id", "anonymous_id"),
            ("session-id", "session_id"),
        ] {
            if let Some(v) = f.opt(flag) {
                user.push(member, Value::str(v));
            }
        }
        input.push("user", Value::Object(user));
    }
    for (flag, member) in [("surface", "surface"), ("now", "now")] {
        if let Some(v) = f.opt(flag) {
            input.push(member, Value::str(v));
        }
    }
    if let Some(path) = f.opt("definitions") {
        let text = read(std::path::Path::new(path))?.map_err(|e| e.message)?;
        let defs = json::parse(text.as_bytes()).map_err(|e| format!("{path}: {e}"))?;
        input.push("definitions", defs);
    }
    print_answer("assign", &Value::Object(input), f, "variant")
}

/// `recsys validate-profile FILE [--json]`: exit 0 and the summary when the engine profile
/// passes the fail-fast checks, exit 1 with every problem otherwise.
pub fn validate_profile(path: &str, f: &Flags) -> Result<ExitCode, String> {
    let text = match read(std::path::Path::new(path))? {
        Ok(t) => t,
        Err(e) => return Ok(report_error(&e, f.json)),
    };
    let v = match json::parse(text.as_bytes()) {
        Ok(v) => v,
        Err(e) => return Ok(report_error(&ApiError::from(e), f.json)),
    };
    match call_static("validate_profile", &json::to_string(&v)) {
        Ok(a) => {
            println!("{a}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_error(&e, f.json)),
    }
}

/// `--NAME VALUE`, or `--NAME-env VAR` (the value of that environment variable, kept out
/// of argv and shell history), or empty.
fn value_or_env(f: &Flags, name: &str) -> Result<String, String> {
    match (f.opt(name), f.opt(&format!("{name}-env"))) {
        (Some(_), Some(_)) => Err(format!("give --{name} or --{name}-env, not both")),
        (Some(s), None) => Ok(s.to_string()),
        (None, Some(var)) => {
            std::env::var(var).map_err(|_| format!("environment variable {var:?} is not set"))
        }
        (None, None) => Ok(String::new()),
    }
}

/// Runs `op`; prints the whole answer with `--json`, else the `field` member (or
/// `(none)` when it is absent, e.g. no variant outside the traffic).
fn print_answer(op: &str, input: &Value, f: &Flags, field: &str) -> Result<ExitCode, String> {
    match call_static(op, &json::to_string(input)) {
        Ok(a) if f.json => println!("{a}"),
        Ok(a) => {
            let v = json::parse(a.as_bytes()).map_err(|e| e.to_string())?;
            let shown = v
                .as_object()
                .and_then(|m| m.get(field))
                .and_then(Value::as_str)
                .unwrap_or("(none)");
            println!("{shown}");
        }
        Err(e) => return Ok(report_error(&e, f.json)),
    }
    Ok(ExitCode::SUCCESS)
}
