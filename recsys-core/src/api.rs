//! The JSON call/answer surface. Every binding (Python, Node, WASM, C, CLI) and the
//! conformance runner go through [`Engine::call`] and [`call_static`]: a named operation,
//! a JSON input, a JSON answer or an [`ApiError`]. Typed Rust callers can use the modules
//! directly; this layer only converts.

use crate::error::ApiError;
use crate::json::{self, Map, Value};

/// Operations that need no engine state.
pub const STATIC_OPS: &[&str] = &["etag", "canonicalize"];

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
        _ => Err(unknown_op(op)),
    }
}

fn unknown_op(op: &str) -> ApiError {
    ApiError::new("RECSYS_UNKNOWN_OPERATION", 400, format!("unknown operation {op:?}"))
}

/// A serving engine: the current compiled snapshot per (tenant, surface) plus engine-wide
/// options. `Send + Sync`; share one per process.
#[derive(Default)]
pub struct Engine {
    _private: (),
}

impl Engine {
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Runs a named operation with a JSON input and returns the JSON answer.
    /// Stateless operations ([`STATIC_OPS`]) are accepted here too.
    pub fn call(&self, op: &str, input: &str) -> Result<String, ApiError> {
        if STATIC_OPS.contains(&op) {
            return call_static(op, input);
        }
        Err(unknown_op(op))
    }
}
