//! `conformance_split` and `conformance_compare`: the stateless helpers every binding's
//! conformance runner uses, so no runner re-serialises case data with its own JSON library.

use super::parse_input;
use crate::error::ApiError;
use crate::json::{self, Map, Value};

pub(super) fn invalid_case(message: impl Into<String>) -> ApiError {
    ApiError::new(crate::error::ErrorCode::InvalidCase, message)
}

/// Splits a conformance case file into the raw JSON texts a runner passes to the engine, so
/// that runners never re-serialise case data with their own JSON library (which would change
/// number literals such as `1e2` or 64-bit counts).
///
/// Answer: `{"name", "description", "call", "engine": text|null, "documents": text|null,
/// "input": text, "expect": text}`.
pub(super) fn conformance_split(input: &str) -> Result<String, ApiError> {
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
pub(super) fn conformance_compare(input: &str) -> Result<String, ApiError> {
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

pub(super) fn expect_error(expect: &Value) -> Option<&Map> {
    let m = expect.as_object()?;
    if m.len() == 1 {
        m.get("error").and_then(Value::as_object)
    } else {
        None
    }
}
