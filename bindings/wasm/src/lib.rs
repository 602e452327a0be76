//! WebAssembly binding of `recsys-core` (wasm-bindgen).
//!
//! Thin by design: every function converts its JS strings, calls the core's JSON
//! call/answer API ([`recsys_core::Engine::call`], [`recsys_core::call_static`]) and hands
//! the answer text back unchanged. There is no ranking, validation or JSON logic here.
//!
//! JS surface (see `bindings/wasm/README.md`):
//!
//! * `new Engine(optionsJson?)`, `engine.call(op, inputJson)`, `engine.loadSnapshot(docsJson)`,
//!   `engine.recommend(requestJson, ctxJson)`, `engine.validate(requestJson, ctxJson)`,
//!   `engine.similar(requestJson, ctxJson)`: each returns the core's JSON answer as a string.
//! * `etag(docJson)`, `canonicalize(docJson)`, `callStatic(op, inputJson)`.
//! * Failures throw a JS `Error` whose `name` is `"RecsysError"` and which carries the core's
//!   error object as properties (`code`, `status`, `message`, `problems`, plus any extra
//!   members) and the exact error JSON text as `json`.
//!
//! Panics: `wasm32-unknown-unknown` aborts on panic (no `catch_unwind`), so a panic surfaces
//! in JS as a `RuntimeError` ("unreachable"). The core is written to be panic-free; as a last
//! line of defence a tiny dependency-free panic hook (installed at module start) reports the
//! panic message through `console.error` and marks the instance as poisoned, after which every
//! call throws `RECSYS_INTERNAL` instead of running on possibly inconsistent memory. Create a
//! new instance of the module to recover.

use recsys_core::ApiError;
use recsys_core::ErrorCode;
use std::sync::atomic::{AtomicBool, Ordering};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The host's global `Error` constructor.
    #[wasm_bindgen(js_name = Error)]
    type HostError;

    #[wasm_bindgen(constructor, js_class = "Error")]
    fn new(message: &str) -> HostError;

    #[wasm_bindgen(js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &str) -> JsValue;

    #[wasm_bindgen(js_namespace = Object, js_name = assign)]
    fn object_assign(target: &JsValue, source: &JsValue) -> JsValue;

    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn reflect_set(target: &JsValue, key: &str, value: &JsValue) -> bool;

    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// Set by the panic hook; once set, the instance refuses further calls.
static POISONED: AtomicBool = AtomicBool::new(false);

/// Runs when the module is instantiated (nodejs glue: on `require`; web glue: in
/// `initSync`/`init`). Installs the panic hook described in the crate docs.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        POISONED.store(true, Ordering::SeqCst);
        console_error(&format!("recsys-wasm: panic in recsys-core: {info}"));
    }));
}

/// Builds the JS `Error` thrown for a core error: `Object.assign(new Error(message),
/// errorObject)` plus `name`, `problems` (always an array) and `json` (the exact text).
fn to_js_error(e: ApiError) -> JsValue {
    let json = e.to_json();
    let err: JsValue = HostError::new(&e.message).into();
    object_assign(&err, &json_parse(&json));
    reflect_set(&err, "name", &JsValue::from_str("RecsysError"));
    if e.problems.is_empty() {
        reflect_set(&err, "problems", &json_parse("[]"));
    }
    reflect_set(&err, "json", &JsValue::from_str(&json));
    err
}

/// Fails with `RECSYS_INTERNAL` once a panic has poisoned the instance.
fn check_poison() -> Result<(), JsValue> {
    if POISONED.load(Ordering::SeqCst) {
        return Err(to_js_error(ApiError::new(
            ErrorCode::Internal,
            "the wasm instance panicked earlier and is poisoned; load a new instance",
        )));
    }
    Ok(())
}

fn guard(run: impl FnOnce() -> Result<String, ApiError>) -> Result<String, JsValue> {
    check_poison()?;
    run().map_err(to_js_error)
}

/// A serving engine (snapshots per tenant and surface plus options).
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    inner: recsys_core::Engine,
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// `new Engine()` or `new Engine(optionsJson)`; `null`/`undefined` mean default options.
    #[wasm_bindgen(constructor)]
    pub fn new(options_json: Option<String>) -> Result<WasmEngine, JsValue> {
        check_poison()?;
        let inner = match options_json {
            None => recsys_core::Engine::new(),
            Some(o) => recsys_core::Engine::with_options_json(&o).map_err(to_js_error)?,
        };
        Ok(WasmEngine { inner })
    }

    /// The generic call: any operation name, its JSON input; returns the JSON answer.
    pub fn call(&self, op: &str, input: &str) -> Result<String, JsValue> {
        guard(|| self.inner.call(op, input))
    }

    /// A serving operation: with a context, the core builds the input `{"request": ...,
    /// "ctx": ...}` from the two texts ([`recsys_core::host::serve`]; each must be one JSON
    /// value, so a request cannot smuggle in its own context); without one, the first
    /// argument already is the whole input.
    fn serve(
        &self,
        op: &str,
        request_json: &str,
        ctx_json: Option<String>,
    ) -> Result<String, JsValue> {
        match ctx_json {
            Some(ctx) => guard(|| recsys_core::host::serve(&self.inner, op, request_json, &ctx)),
            None => self.call(op, request_json),
        }
    }

    /// `call("load_snapshot", docsJson)`.
    #[wasm_bindgen(js_name = loadSnapshot)]
    pub fn load_snapshot(&self, docs_json: &str) -> Result<String, JsValue> {
        self.call("load_snapshot", docs_json)
    }

    /// `call("recommend", input)`; see `serve` for how the input is formed.
    pub fn recommend(
        &self,
        request_json: &str,
        ctx_json: Option<String>,
    ) -> Result<String, JsValue> {
        self.serve("recommend", request_json, ctx_json)
    }

    /// `call("validate", input)`; see `serve` for how the input is formed.
    pub fn validate(
        &self,
        request_json: &str,
        ctx_json: Option<String>,
    ) -> Result<String, JsValue> {
        self.serve("validate", request_json, ctx_json)
    }

    /// `call("similar", input)`; see `serve` for how the input is formed.
    pub fn similar(&self, request_json: &str, ctx_json: Option<String>) -> Result<String, JsValue> {
        self.serve("similar", request_json, ctx_json)
    }
}

/// `{"etag": "<hex>", "canonical": "<text>"}` for any JSON document.
#[wasm_bindgen]
pub fn etag(doc_json: &str) -> Result<String, JsValue> {
    guard(|| recsys_core::call_static("etag", doc_json))
}

/// Same answer as [`etag`] (alias kept for readability at call sites).
#[wasm_bindgen]
pub fn canonicalize(doc_json: &str) -> Result<String, JsValue> {
    guard(|| recsys_core::call_static("canonicalize", doc_json))
}

/// Any stateless operation (`etag`, `canonicalize`, `conformance_split`,
/// `conformance_compare`, ...).
#[wasm_bindgen(js_name = callStatic)]
pub fn call_static(op: &str, input_json: &str) -> Result<String, JsValue> {
    guard(|| recsys_core::call_static(op, input_json))
}
