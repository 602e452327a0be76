//! Node.js binding of `recsys-core` (napi-rs): the native part loaded by `recsys.js`.
//!
//! A thin layer over the core's JSON call/answer API: strings in, strings out. A core error
//! is thrown as a JS `Error` whose message is the error's JSON form
//! (`{"code","status","message","problems"?,...}`); the hand-written wrapper `recsys.js`
//! turns it into the matching `RecsysError` subclass. Every core call runs inside
//! `catch_unwind`, so a panic surfaces as a `RECSYS_INTERNAL` error instead of aborting the
//! process. The `*Async` variants run on libuv's thread pool (`AsyncTask`), off the event loop.

use napi::bindgen_prelude::{AbortSignal, AsyncTask, Either, Uint8Array};
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;
use recsys_core::ApiError;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Runs a core call, turning a panic into a `RECSYS_INTERNAL` error and the error into a
/// JS error carrying its JSON form.
fn guarded<T>(f: impl FnOnce() -> std::result::Result<T, ApiError>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(panic_error(payload.as_ref())))
        .map_err(|e| Error::new(Status::GenericFailure, e.to_json()))
}

fn panic_error(payload: &(dyn Any + Send)) -> ApiError {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic");
    ApiError::new(
        "RECSYS_INTERNAL",
        500,
        format!("internal error in recsys core: {what}"),
    )
}

fn doc_bytes(doc: &Either<String, Uint8Array>) -> &[u8] {
    match doc {
        Either::A(text) => text.as_bytes(),
        Either::B(bytes) => bytes,
    }
}

/// The serving engine (`Send + Sync`); share one per process.
#[napi(js_name = "Engine")]
pub struct NativeEngine {
    inner: Arc<recsys_core::Engine>,
}

#[napi]
impl NativeEngine {
    /// `options`: engine options as a JSON object text; omitted for the defaults.
    #[napi(constructor)]
    pub fn new(options: Option<String>) -> Result<Self> {
        let inner = guarded(|| match &options {
            Some(text) => recsys_core::Engine::with_options_json(text),
            None => Ok(recsys_core::Engine::new()),
        })?;
        Ok(NativeEngine {
            inner: Arc::new(inner),
        })
    }

    /// Runs operation `op` with a JSON input text and returns the JSON answer text.
    #[napi]
    pub fn call(&self, op: String, input: String) -> Result<String> {
        guarded(|| self.inner.call(&op, &input))
    }

    /// Like `call`, on libuv's thread pool; the promise resolves to the JSON answer text.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn call_async(
        &self,
        op: String,
        input: String,
        signal: Option<AbortSignal>,
    ) -> AsyncTask<CallTask> {
        let task = CallTask {
            engine: Arc::clone(&self.inner),
            op,
            input,
        };
        AsyncTask::with_optional_signal(task, signal)
    }
}

/// One `Engine.call` run off the event loop.
pub struct CallTask {
    engine: Arc<recsys_core::Engine>,
    op: String,
    input: String,
}

impl Task for CallTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        guarded(|| self.engine.call(&self.op, &self.input))
    }

    fn resolve(&mut self, _env: Env, output: String) -> Result<String> {
        Ok(output)
    }
}

/// Lower-case hex SHA-256 of the document's canonical (PostgreSQL jsonb) text.
#[napi]
pub fn etag(doc: Either<String, Uint8Array>) -> Result<String> {
    guarded(|| Ok(recsys_core::json::etag(doc_bytes(&doc))?))
}

/// The canonical (PostgreSQL jsonb) text of a document.
#[napi]
pub fn canonicalize(doc: Either<String, Uint8Array>) -> Result<String> {
    guarded(|| Ok(recsys_core::json::canonical_text(doc_bytes(&doc))?))
}

/// Runs a stateless operation (`etag`, `canonicalize`, `conformance_split`, ...).
#[napi]
pub fn call_static(op: String, input: String) -> Result<String> {
    guarded(|| recsys_core::call_static(&op, &input))
}

/// Names of the stateless operations.
#[napi]
pub fn static_ops() -> Vec<&'static str> {
    recsys_core::api::STATIC_OPS.to_vec()
}
