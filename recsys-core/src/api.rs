//! The JSON call/answer surface. Every binding (Python, Node, WASM, C, CLI) and the
//! conformance runner go through [`Engine::call`] and [`call_static`]: a named operation,
//! a JSON input, a JSON answer or an [`ApiError`]. Typed Rust callers can use the modules
//! directly; this layer only converts.

use crate::compile::{compile, report_value, Documents};
pub use crate::engine::{Engine, EngineOptions};
use crate::error::ApiError;
use crate::json::{self, Map, Value};
use crate::request::CallContext;

/// Operations that need no engine state.
pub const STATIC_OPS: &[&str] = &[
    "etag",
    "canonicalize",
    "conformance_split",
    "conformance_compare",
];

/// Runs a stateless operation.
///
/// * `etag`: input = any JSON document; answer = `{"etag": "<hex>", "canonical": "<text>"}`.
/// * `canonicalize`: same answer (kept as an alias for readability).
pub fn call_static(op: &str, input: &str) -> Result<String, ApiError> {
    match op {
        "etag" | "canonicalize" => {
            let canonical = json::canonical_text(input.as_bytes())?;
            let mut m = Map::with_capacity(2);
            m.push("etag", Value::str(json::etag(input.as_bytes())?));
            m.push("canonical", Value::String(canonical));
            Ok(json::to_string(&Value::Object(m)))
        }
        "conformance_split" => conformance_split(input),
        "conformance_compare" => conformance_compare(input),
        _ => Err(unknown_op(op)),
    }
}

fn parse_input(input: &str) -> Result<Value, ApiError> {
    Ok(json::parse(input.as_bytes())?)
}

fn invalid_case(message: impl Into<String>) -> ApiError {
    ApiError::new("RECSYS_INVALID_CASE", 400, message)
}

/// Splits a conformance case file into the raw JSON texts a runner passes to the engine, so
/// that runners never re-serialise case data with their own JSON library (which would change
/// number literals such as `1e2` or 64-bit counts).
///
/// Answer: `{"name", "description", "call", "engine": text|null, "documents": text|null,
/// "input": text, "expect": text}`.
fn conformance_split(input: &str) -> Result<String, ApiError> {
    let case = parse_input(input)?;
    let m = case
        .as_object()
        .ok_or_else(|| invalid_case("a case must be a json object"))?;
    let text = |k: &str| -> Value {
        match m.get(k) {
            None | Some(Value::Null) => Value::Null,
            Some(v) => Value::String(json::to_string(v)),
        }
    };
    let string = |k: &str| -> Result<String, ApiError> {
        m.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| invalid_case(format!("case member {k:?} must be a string")))
    };
    let mut out = Map::new();
    out.push("name", Value::String(string("name")?));
    out.push(
        "description",
        Value::String(
            m.get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        ),
    );
    out.push("call", Value::String(string("call")?));
    out.push("engine", text("engine"));
    out.push("documents", text("documents"));
    if m.get("input").is_none() || m.get("expect").is_none() {
        return Err(invalid_case("a case needs \"input\" and \"expect\""));
    }
    out.push("input", text("input"));
    out.push("expect", text("expect"));
    Ok(json::to_string(&Value::Object(out)))
}

/// Compares an answer with a case's expectation: `{"expect": <json>, "actual": <json>}`.
/// An expectation `{"error": {...}}` matches when every key it names equals the actual
/// error's; anything else must be equal in canonical form. Answer:
/// `{"pass": bool, "expected": canonical text, "actual": canonical text}`.
fn conformance_compare(input: &str) -> Result<String, ApiError> {
    let v = parse_input(input)?;
    let m = v
        .as_object()
        .ok_or_else(|| invalid_case("compare input must be an object"))?;
    let expect = m
        .get("expect")
        .ok_or_else(|| invalid_case("missing \"expect\""))?;
    let actual = m
        .get("actual")
        .ok_or_else(|| invalid_case("missing \"actual\""))?;
    let pass = match expect_error(expect) {
        Some(want) => match actual
            .as_object()
            .and_then(|a| a.get("error"))
            .and_then(Value::as_object)
        {
            Some(got) => want.deduped().iter().all(|(k, v)| got.get(k) == Some(*v)),
            None => false,
        },
        None => json::canonical_value_text(expect)? == json::canonical_value_text(actual)?,
    };
    let mut out = Map::new();
    out.push("pass", Value::Bool(pass));
    out.push(
        "expected",
        Value::String(json::canonical_value_text(expect)?),
    );
    out.push("actual", Value::String(json::canonical_value_text(actual)?));
    Ok(json::to_string(&Value::Object(out)))
}

fn expect_error(expect: &Value) -> Option<&Map> {
    let m = expect.as_object()?;
    if m.len() == 1 {
        m.get("error").and_then(Value::as_object)
    } else {
        None
    }
}

fn unknown_op(op: &str) -> ApiError {
    ApiError::new(
        "RECSYS_UNKNOWN_OPERATION",
        400,
        format!("unknown operation {op:?}"),
    )
}

impl Engine {
    /// An engine with options given as a JSON object (see [`EngineOptions::from_value`]).
    pub fn with_options_json(options: &str) -> Result<Engine, ApiError> {
        Ok(Engine::with_options(EngineOptions::from_value(
            &parse_input(options)?,
        )?))
    }

    /// Runs a named operation with a JSON input and returns the JSON answer.
    ///
    /// * `load_snapshot`: documents → compile report (see [`crate::compile::Documents`]).
    /// * `recommend`, `validate`, `similar`: `{"request": {...}, "ctx": {...}}` → answer.
    /// * `snapshots`: `{}` → the loaded (tenant, surface) pairs.
    /// * any [`STATIC_OPS`] operation.
    pub fn call(&self, op: &str, input: &str) -> Result<String, ApiError> {
        if STATIC_OPS.contains(&op) {
            return call_static(op, input);
        }
        let v = parse_input(input)?;
        let answer = match op {
            "load_snapshot" => {
                let docs = Documents::from_value(&v)?;
                let (snap, report) = compile(&docs, &self.options().artifact_limits)?;
                let answer = report_value(&snap, &report);
                self.install(snap);
                answer
            }
            "recommend" | "validate" | "similar" => {
                let m = v.as_object().ok_or_else(|| {
                    ApiError::new(
                        "RECSYS_INVALID_REQUEST",
                        400,
                        "input must be {\"request\": ..., \"ctx\": ...}",
                    )
                })?;
                for (k, _) in m.iter() {
                    if k != "request" && k != "ctx" {
                        return Err(ApiError::new(
                            "RECSYS_INVALID_REQUEST",
                            400,
                            format!("unknown member {k:?}: input must be {{\"request\": ..., \"ctx\": ...}}"),
                        ));
                    }
                }
                let ctx = CallContext::from_value(m.get("ctx").unwrap_or(&Value::Null))?;
                let req = m.get("request").unwrap_or(&Value::Null);
                match op {
                    "recommend" => self.recommend(req, &ctx)?,
                    "similar" => self.similar(req, &ctx)?,
                    _ => self.validate(req, &ctx)?,
                }
            }
            "snapshots" => Value::Array(
                self.loaded()
                    .into_iter()
                    .map(|(t, s)| {
                        let mut m = Map::new();
                        m.push("tenant", Value::String(t));
                        m.push("surface", Value::String(s));
                        Value::Object(m)
                    })
                    .collect(),
            ),
            _ => return Err(unknown_op(op)),
        };
        Ok(json::to_string(&answer))
    }
}
