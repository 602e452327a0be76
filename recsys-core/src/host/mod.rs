//! Host glue: what every binding (C, Node, Python, WASM) needs around the engine and must
//! behave the same everywhere, written once here instead of once per binding.
//!
//! * [`guard`] runs a binding's entry point and turns a panic into the typed
//!   `RECSYS_INTERNAL` error (status 500), so no panic ever crosses an FFI boundary.
//! * [`serving_input`] builds the `{"request": ..., "ctx": ...}` input of `recommend`,
//!   `validate`, `similar` and the `admin.*` operations from the host's two JSON texts, with
//!   the JSON writer (never by splicing strings).
//! * [`records`] and [`store`]: the store records a host document store keeps (versions,
//!   pointers, pointer swaps, audit keys, drafts and entries) and a [`store::RecordStore`]
//!   that implements the core's `DocumentStore` on top of any host that can call a method
//!   with record arguments and hand back a record answer. A binding only moves values
//!   across its boundary.

pub mod records;
pub mod store;

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
        INTERNAL,
        500,
        format!("internal error in recsys core (panic): {what}"),
    )
}

/// The input of the serving and admin operations, `{"request": ..., "ctx": ...}`, from the
/// request's and the context's JSON texts; without a context, `request` already is the
/// whole input and is returned as is.
///
/// Each text must be exactly one JSON value (checked with the core's parser and its default
/// limits): a request text cannot smuggle in its own `"ctx"` member or trailing data. The
/// envelope is written by the JSON writer; number literals and member order are kept. A
/// malformed part fails with the parser's `RECSYS_JSON_*` code, its problem path under
/// `$.request` or `$.ctx`.
pub fn serving_input(request: &str, ctx: Option<&str>) -> Result<String, ApiError> {
    let Some(ctx) = ctx else {
        return Ok(request.to_owned());
    };
    let mut m = Map::with_capacity(2);
    m.push("request", part(request, "request")?);
    m.push("ctx", part(ctx, "ctx")?);
    Ok(json::to_string(&Value::Object(m)))
}

/// One part of the envelope, parsed; errors name the part.
fn part(text: &str, name: &'static str) -> Result<Value, ApiError> {
    json::parse(text.as_bytes()).map_err(|mut e| {
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
        let typed = guard(|| -> Result<(), ApiError> { Err(ApiError::new("X", 400, "x")) });
        assert_eq!(typed.unwrap_err().code, "X");
    }

    #[test]
    fn envelope_is_written_not_spliced() {
        let got = serving_input(r#" {"k": 1.50, "b":[1e3]} "#, Some(r#"{"now":"x"}"#)).unwrap();
        assert_eq!(got, r#"{"request":{"k":1.50,"b":[1e3]},"ctx":{"now":"x"}}"#);
        assert_eq!(serving_input("{\"a\":1}", None).unwrap(), "{\"a\":1}");
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
