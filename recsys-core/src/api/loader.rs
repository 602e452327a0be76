//! The `loader_*` operations: JSON in, a typed call on [`crate::engine::Loader`], JSON out.

use super::admin::manifest_member;
use super::{missing, now_member, object, str_member};
use crate::engine::Engine;
use crate::error::ApiError;
use crate::json::{self, Map, Value};

/// `loader_track`: `{"tenant", "surface"}` → `{"manifest_uri"}`.
pub(super) fn loader_track(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let uri = e
        .loader()
        .track(str_member(m, "tenant")?, str_member(m, "surface")?)?;
    let mut a = Map::new();
    a.push("manifest_uri", Value::String(uri));
    Ok(Value::Object(a))
}

/// `loader_due`: `{"now"}` → `[{"tenant", "surface", "manifest_uri"}]`.
pub(super) fn loader_due(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let due = e
        .loader()
        .due(now_member(object(v)?)?)
        .into_iter()
        .map(|d| {
            let mut a = Map::new();
            a.push("tenant", Value::String(d.tenant));
            a.push("surface", Value::String(d.surface));
            a.push("manifest_uri", Value::String(d.manifest_uri));
            Value::Object(a)
        });
    Ok(Value::Array(due.collect()))
}

/// `loader_invalidate`: `{"tenant", "surface"?}` → `{"invalidated"}`.
pub(super) fn loader_invalidate(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let surface = m.get("surface").and_then(Value::as_str);
    let n = e.loader().invalidate(str_member(m, "tenant")?, surface);
    let mut a = Map::new();
    a.push("invalidated", Value::u64(n as u64));
    Ok(Value::Object(a))
}

/// `loader_apply_manifest`: `{"tenant", "surface", "now", "result"}` → the next step.
pub(super) fn loader_apply_manifest(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let now = now_member(m)?;
    let step = e
        .loader()
        .apply_manifest(t, s, now, fetch_member(m.get("result"))?)?;
    Ok(step_value(step))
}

/// `loader_pin`: `{"tenant", "surface", "now", "manifest" | "current"}` → the next step.
pub(super) fn loader_pin(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    let now = now_member(m)?;
    let text = manifest_member(m, t, s)?;
    Ok(step_value(e.loader().pin(t, s, now, text.into_bytes())?))
}

/// `loader_apply_artifacts`: `{"tenant", "surface", "now", "results": {uri: fetch}}` → report.
pub(super) fn loader_apply_artifacts(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let mut fetched = std::collections::BTreeMap::new();
    if let Some(r) = m.get("results").and_then(Value::as_object) {
        for (uri, f) in r.iter() {
            fetched.insert(uri.to_string(), fetch_member(Some(f))?);
        }
    }
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    e.loader().apply_artifacts(t, s, now_member(m)?, fetched)
}

/// `loader_release`: `{"tenant", "surface", "now"}` → report.
pub(super) fn loader_release(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let (t, s) = (str_member(m, "tenant")?, str_member(m, "surface")?);
    e.loader().release(t, s, now_member(m)?)
}

/// `loader_unpin`: `{"tenant", "surface"}` → `{"was_pinned"}`.
pub(super) fn loader_unpin(e: &Engine, v: &Value) -> Result<Value, ApiError> {
    let m = object(v)?;
    let was = e
        .loader()
        .unpin(str_member(m, "tenant")?, str_member(m, "surface")?)?;
    let mut a = Map::new();
    a.push("was_pinned", Value::Bool(was));
    Ok(Value::Object(a))
}

/// `{"found": "<text>"}`, `{"not_found": true}` or `{"error": "<message>"}`.
pub(super) fn fetch_member(v: Option<&Value>) -> Result<crate::loader::Fetch, ApiError> {
    use crate::loader::Fetch;
    let m = v
        .and_then(Value::as_object)
        .ok_or_else(|| missing("result"))?;
    if let Some(t) = m.get("found") {
        return Ok(Fetch::Found(match t {
            Value::String(s) => s.clone().into_bytes(),
            other => json::to_string(other).into_bytes(),
        }));
    }
    if m.get("not_found").and_then(Value::as_bool) == Some(true) {
        return Ok(Fetch::NotFound);
    }
    if let Some(e) = m.get("error").and_then(Value::as_str) {
        return Ok(Fetch::Error(e.to_string()));
    }
    Err(ApiError::new(
        crate::error::ErrorCode::InvalidRequest,
        "a fetch result is {\"found\": text}, {\"not_found\": true} or {\"error\": message}",
    ))
}

pub(super) fn step_value(step: crate::loader::Step) -> Value {
    match step {
        crate::loader::Step::Done(v) => v,
        crate::loader::Step::Fetch(uris) => {
            let mut a = Map::new();
            a.push(
                "fetch",
                Value::Array(uris.into_iter().map(Value::String).collect()),
            );
            Value::Object(a)
        }
    }
}
