//! Host glue: what every binding (C, Node, Python, WASM) needs around the engine and must
//! behave the same everywhere, written once here instead of once per binding.
//!
//! * [`guard`] runs a binding's entry point and turns a panic into the typed
//!   `RECSYS_INTERNAL` error (status 500), so no panic ever crosses an FFI boundary.
//! * [`serve`] runs `recommend`, `validate`, `similar` or an `admin.*` operation from the
//!   host's request and context texts: the core builds the `{"request": ..., "ctx": ...}`
//!   input ([`serving_value`], [`serving_input`]); no binding splices strings.
//! * [`records`] and [`store`]: the store records a host document store keeps (versions,
//!   pointers, pointer swaps, audit keys, drafts and entries) and a [`store::RecordStore`]
//!   that implements the core's `DocumentStore` on top of any host that can call a method
//!   with record arguments and hand back a record answer. A binding only moves values
//!   across its boundary.

pub mod records;
pub mod store;

use crate::api::Engine;
use crate::error::ApiError;
use crate::json::{self, Map, Value};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Stable code of the error a caught panic becomes.
pub const INTERNAL: &str = "RECSYS_INTERNAL";

/// Runs `body`, turning a panic into a `RECSYS_INTERNAL` (500) error whose message quotes
/// the panic's message. The engine holds immutable, atomically swapped snapshots, so a
/// caught panic leaves it usable. (Needs the default `panic = "unwind"`; on
/// `wasm32-unknown-unknown` a panic aborts the instance instead.)
pub fn guard<T>(body: impl FnOnce() -> Result<T, ApiError>) -> Result<T, ApiError> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| Err(panic_error(&*payload)))
}

/// The error a caught panic payload becomes (see [`guard`]).
pub fn panic_error(payload: &(dyn Any + Send)) -> ApiError {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic payload");
    ApiError::new(
        crate::error::ErrorCode::Internal,
        format!("internal error in recsys core (panic): {what}"),
    )
}

/// Runs a serving or admin operation (`recommend`, `validate`, `similar`, `admin.*`) whose
/// input is `{"request": <request>, "ctx": <ctx>}`, from the host's two JSON texts: the
/// envelope is built as a value ([`serving_value`]) and handed to the engine without a text
/// round trip, so each part is parsed once. Same answer as `engine.call(op, envelope text)`.
pub fn serve(engine: &Engine, op: &str, request: &str, ctx: &str) -> Result<String, ApiError> {
    let input = serving_value(request, ctx)?;
    engine.call_value(op, &input).map(|a| json::to_string(&a))
}

/// The input text of the serving and admin operations (see [`serving_value`]); without a
/// context, `request` already is the whole input and is returned as is.
pub fn serving_input(request: &str, ctx: Option<&str>) -> Result<String, ApiError> {
    match ctx {
        None => Ok(request.to_owned()),
        Some(ctx) => Ok(json::to_string(&serving_value(request, ctx)?)),
    }
}

/// `{"request": <request>, "ctx": <ctx>}` as a value, written by the core instead of spliced
/// by each binding. Each text must be exactly one JSON value, so a request text cannot
/// smuggle in its own `"ctx"` member or trailing data. The limits are those of the envelope
/// as one document (the engine's default call limits): its total size, and one level of
/// depth taken by the envelope itself. A malformed part fails with the parser's
/// `RECSYS_JSON_*` code, its message naming the part and its problem path under `$.request`
/// or `$.ctx`.
pub fn serving_value(request: &str, ctx: &str) -> Result<Value, ApiError> {
    let limits = json::Limits::default();
    let total = ENVELOPE_BYTES
        .saturating_add(request.len())
        .saturating_add(ctx.len());
    if total > limits.max_bytes {
        return Err(ApiError::from(json::JsonError {
            kind: json::JsonErrorKind::TooLarge,
            offset: limits.max_bytes,
            path: String::new(),
            message: format!(
                "document is {total} bytes, more than the limit of {}",
                limits.max_bytes
            ),
        }));
    }
    let part_limits = json::Limits {
        max_depth: limits.max_depth.saturating_sub(1),
        ..limits
    };
    let mut m = Map::with_capacity(2);
    m.push("request", part(request, "request", part_limits)?);
    m.push("ctx", part(ctx, "ctx", part_limits)?);
    Ok(Value::Object(m))
}

/// Bytes the envelope adds around its two parts: `{"request":` `,"ctx":` `}`.
const ENVELOPE_BYTES: usize = 19;

/// One part of the envelope, parsed; errors name the part.
fn part(text: &str, name: &'static str, limits: json::Limits) -> Result<Value, ApiError> {
    json::parse_with(text.as_bytes(), limits).map_err(|mut e| {
        e.path = format!("$.{name}{}", e.path.strip_prefix('$').unwrap_or(&e.path));
        let mut err = ApiError::from(e);
        err.message = format!("{name}: {}", err.message);
        err
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_a_panic_into_the_internal_error() {
        let e = guard(|| -> Result<(), ApiError> { panic!("boom {}", 7) }).unwrap_err();
        assert_eq!((e.code, e.status), (INTERNAL, 500));
        assert_eq!(e.message, "internal error in recsys core (panic): boom 7");
        let e = guard(|| -> Result<(), ApiError> { panic!("static") }).unwrap_err();
        assert!(e.message.ends_with(": static"), "{}", e.message);
        let e = guard(|| -> Result<(), ApiError> { std::panic::panic_any(42u8) }).unwrap_err();
        assert!(
            e.message.ends_with("unknown panic payload"),
            "{}",
            e.message
        );
        assert_eq!(guard(|| Ok(3)), Ok(3));
        let typed = guard(|| -> Result<(), ApiError> {
            Err(ApiError::new(crate::error::ErrorCode::InvalidRequest, "x"))
        });
        assert_eq!(typed.unwrap_err().code, "RECSYS_INVALID_REQUEST");
    }

    #[test]
    fn envelope_is_written_not_spliced() {
        let got = serving_input(r#" {"k": 1.50, "b":[1e3]} "#, Some(r#"{"now":"x"}"#)).unwrap();
        assert_eq!(got, r#"{"request":{"k":1.50,"b":[1e3]},"ctx":{"now":"x"}}"#);
        assert_eq!(serving_input("{\"a\":1}", None).unwrap(), "{\"a\":1}");
    }

    #[test]
    fn serve_answers_like_call_with_a_hand_built_input() {
        let engine = Engine::new();
        let request = r#"{"surface":"home","k":3,"user":{"user_id":"u"},"weights":{"pop":0.50}}"#;
        let ctx = r#"{"now":"2026-01-01T00:00:00Z","tenant":"demo","request_id":"r"}"#;
        let by_hand = engine
            .call(
                "validate",
                &format!(r#"{{"request":{request},"ctx":{ctx}}}"#),
            )
            .unwrap();
        assert_eq!(serve(&engine, "validate", request, ctx).unwrap(), by_hand);
        let e = serve(&engine, "validate", "{", ctx).unwrap_err();
        assert_eq!(e.code, "RECSYS_JSON_SYNTAX");
    }

    #[test]
    fn the_envelope_keeps_the_limits_of_one_document() {
        let d = json::Limits::default();
        // The envelope takes one level: a request at the parser's depth limit is too deep,
        // exactly as it is inside a hand-built envelope.
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let ok = deep(d.max_depth - 1);
        let spliced = format!(r#"{{"request":{ok},"ctx":{{}}}}"#);
        assert!(json::parse(spliced.as_bytes()).is_ok());
        assert!(serving_value(&ok, "{}").is_ok());
        let too_deep = deep(d.max_depth);
        let spliced = format!(r#"{{"request":{too_deep},"ctx":{{}}}}"#);
        let by_hand = ApiError::from(json::parse(spliced.as_bytes()).unwrap_err());
        let e = serving_value(&too_deep, "{}").unwrap_err();
        assert_eq!(
            (e.code, by_hand.code),
            ("RECSYS_JSON_TOO_DEEP", "RECSYS_JSON_TOO_DEEP")
        );
        // Size: the two parts plus the envelope's 19 bytes, checked before any parsing.
        let half = format!("\"{}\"", "x".repeat(d.max_bytes / 2));
        let e = serving_value(&half, &half).unwrap_err();
        assert_eq!(e.code, "RECSYS_JSON_TOO_LARGE");
        let fits = format!("\"{}\"", "x".repeat(d.max_bytes - ENVELOPE_BYTES - 2 - 2));
        assert!(serving_value(&fits, "{}").is_ok());
        let over = format!("\"{}\"", "x".repeat(d.max_bytes - ENVELOPE_BYTES - 2 - 1));
        assert!(serving_value(&over, "{}").is_err());
    }

    #[test]
    fn a_part_cannot_smuggle_members_or_trailing_data() {
        let e = serving_input(r#"{"k":1},"ctx":{"tenant":"evil"}"#, Some("{}")).unwrap_err();
        assert_eq!(e.code, "RECSYS_JSON_TRAILING_DATA");
        assert!(
            e.message.starts_with("request: invalid json"),
            "{}",
            e.message
        );
        let e = serving_input("{}", Some(r#"{"a":}"#)).unwrap_err();
        assert_eq!(e.code, "RECSYS_JSON_SYNTAX");
        assert!(e.problems[0].path.starts_with("$.ctx"), "{:?}", e.problems);
        let e = serving_input("", Some("{}")).unwrap_err();
        assert_eq!(e.code, "RECSYS_JSON_EMPTY");
    }
}
