//! Host adapters written in JavaScript: a document store, a metrics adapter and an
//! exposure sink, plugged into the core's Rust traits.
//!
//! # Threading model
//!
//! The core calls the adapters synchronously from inside an engine call. JavaScript can
//! only run on the thread that owns the `napi_env`, so:
//!
//! * Synchronous engine methods run on the JS thread. They install the call's `napi_env` in
//!   a thread-local ([`EnvScope`]) for the duration of the core call, and the adapters call
//!   the JS bridge function directly through it.
//! * The `*Async` methods run the core on libuv's thread pool, where no `napi_env` exists.
//!   Metrics and exposure events produced there are buffered per task ([`DeferScope`]) and
//!   delivered on the JS thread when the promise resolves, in the order they were produced.
//!   A document store cannot be deferred (the core needs its answer), so an async call of
//!   an operation that reaches the store is refused up front with `RECSYS_ADAPTER_SYNC_ONLY`,
//!   and a store call that still happens off the JS thread fails as a
//!   `RECSYS_STORE_UNAVAILABLE` store error. Nothing blocks waiting for the JS thread, so
//!   nothing can deadlock.
//! * An adapter must not call back into the engine: such a call fails with
//!   `RECSYS_ADAPTER_REENTRANT` instead of re-entering the core while it is mid-operation.
//!
//! # Bridge protocol
//!
//! Every adapter call goes through one JS function per engine (built by `recsys.js`):
//! `bridge(adapter, method, argsJson) -> answerJson`, where the answer is
//! `{"ok": value}` or `{"error": {"kind", "message"}}`; the bridge never throws (a throw
//! anyway is caught and cleared here). Values cross as JSON text so that documents and audit
//! entries keep their exact literals.

use napi::sys;
use recsys_core::host::records::{self, HostStyle};
use recsys_core::host::store::{RecordTransport, StoreArg};
use recsys_core::json::{self, Map, Value};
use recsys_core::ApiError;
use recsys_core::ErrorCode;
use recsys_core::SinkError;
use recsys_core::{AuditSigner, StoreError, StoreErrorKind};
use recsys_core::{ExposureSink, Metrics};
use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::{Arc, Mutex};

thread_local! {
    /// The env of the synchronous call running on this (JS) thread, or null.
    static CURRENT_ENV: Cell<sys::napi_env> = const { Cell::new(ptr::null_mut()) };
    /// True while a JS adapter runs on this thread.
    static IN_ADAPTER: Cell<bool> = const { Cell::new(false) };
    /// Adapter calls buffered by the async task running on this worker thread.
    static DEFERRED: RefCell<Option<Vec<Deferred>>> = const { RefCell::new(None) };
    /// The audit key of the draft a JS store is sealing on this thread (the draft crosses
    /// to JS as text; its secret never does).
    static SIGNER: RefCell<Option<AuditSigner>> = const { RefCell::new(None) };
}

/// One adapter call to deliver on the JS thread later.
pub struct Deferred {
    host: Arc<Host>,
    adapter: &'static str,
    method: &'static str,
    args: String,
}

/// Installs `env` as the current env for the scope of a synchronous call.
pub struct EnvScope {
    previous: sys::napi_env,
}

impl EnvScope {
    /// Fails with `RECSYS_ADAPTER_REENTRANT` when called from inside a JS adapter.
    pub fn enter(env: sys::napi_env) -> Result<EnvScope, ApiError> {
        if IN_ADAPTER.with(Cell::get) {
            return Err(ApiError::new(
                ErrorCode::AdapterReentrant,
                "a host adapter (store, metrics or exposure sink) called back into the engine; \
                 adapters must not use the engine they serve",
            ));
        }
        Ok(EnvScope {
            previous: CURRENT_ENV.with(|c| c.replace(env)),
        })
    }
}

impl Drop for EnvScope {
    fn drop(&mut self) {
        CURRENT_ENV.with(|c| c.set(self.previous));
    }
}

/// Collects the adapter calls made by an async task's core call on a worker thread.
pub struct DeferScope(());

impl DeferScope {
    pub fn enter() -> DeferScope {
        DEFERRED.with(|d| *d.borrow_mut() = Some(Vec::new()));
        DeferScope(())
    }
    /// The calls collected so far, in order.
    pub fn take(self) -> Vec<Deferred> {
        DEFERRED.with(|d| d.borrow_mut().take()).unwrap_or_default()
    }
}

impl Drop for DeferScope {
    fn drop(&mut self) {
        DEFERRED.with(|d| d.borrow_mut().take());
    }
}

/// Delivers deferred calls on the JS thread (answers and failures are dropped: metrics and
/// exposure sinks have nothing to return, and the promise has already settled).
pub fn replay(env: sys::napi_env, calls: Vec<Deferred>) {
    for c in calls {
        let _ = c.host.call(env, c.adapter, c.method, &c.args);
    }
}

struct RawRef(sys::napi_ref);
// SAFETY: the reference is only dereferenced or deleted on the JS thread (with that
// thread's env); other threads only move the pointer around.
unsafe impl Send for RawRef {}

/// The JS bridge function of one engine.
pub struct Host {
    bridge: Mutex<Option<RawRef>>,
}

impl Host {
    /// Keeps a strong reference to `bridge` (a JS function) until [`Host::release`].
    ///
    /// # Safety
    /// `env` must be the current call's env and `bridge` a value of it.
    pub unsafe fn new(env: sys::napi_env, bridge: sys::napi_value) -> napi::Result<Arc<Host>> {
        let mut r = ptr::null_mut();
        let status = sys::napi_create_reference(env, bridge, 1, &mut r);
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason(
                "cannot reference the adapter bridge",
            ));
        }
        Ok(Arc::new(Host {
            bridge: Mutex::new(Some(RawRef(r))),
        }))
    }

    /// Drops the reference (the engine object was garbage-collected); later calls fail.
    pub fn release(&self, env: sys::napi_env) {
        let taken = self.bridge.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(RawRef(r)) = taken {
            // SAFETY: called from the engine's finalizer, on the JS thread.
            unsafe {
                sys::napi_delete_reference(env, r);
            }
        }
    }

    /// Calls the bridge on the JS thread; `Err` carries (kind, message).
    fn call(
        &self,
        env: sys::napi_env,
        adapter: &str,
        method: &str,
        args: &str,
    ) -> Result<Value, (StoreErrorKind, String)> {
        let bridge = match &*self.bridge.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(r) => r.0,
            None => {
                return Err((
                    StoreErrorKind::Unavailable,
                    "the engine's host adapters were released".into(),
                ))
            }
        };
        IN_ADAPTER.with(|c| c.set(true));
        // SAFETY: on the JS thread with its env (callers check CURRENT_ENV or run in resolve).
        let out = unsafe { call_bridge(env, bridge, [adapter, method, args]) };
        IN_ADAPTER.with(|c| c.set(false));
        let text = out.map_err(|m| (StoreErrorKind::Other, m))?;
        let v = json::parse(text.as_bytes()).map_err(|e| {
            (
                StoreErrorKind::Other,
                format!("adapter bridge answered malformed json: {e}"),
            )
        })?;
        let m = v.as_object().ok_or((
            StoreErrorKind::Other,
            "adapter bridge answer is not an object".to_string(),
        ))?;
        if let Some(e) = m.get("error").and_then(Value::as_object) {
            let kind = match e.get("kind").and_then(Value::as_str) {
                Some("unavailable") => StoreErrorKind::Unavailable,
                Some("conflict") => StoreErrorKind::Conflict,
                Some("corrupt") => StoreErrorKind::Corrupt,
                _ => StoreErrorKind::Other,
            };
            let message = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("adapter failed")
                .to_string();
            return Err((kind, message));
        }
        Ok(m.get("ok").cloned().unwrap_or(Value::Null))
    }

    /// A call now when on the JS thread inside a sync call; otherwise `None`.
    fn call_now(
        &self,
        adapter: &str,
        method: &str,
        args: &str,
    ) -> Option<Result<Value, (StoreErrorKind, String)>> {
        let env = CURRENT_ENV.with(Cell::get);
        if env.is_null() {
            None
        } else {
            Some(self.call(env, adapter, method, args))
        }
    }

    /// Fire-and-forget call: now on the JS thread, deferred to the task's resolve on a worker.
    /// `false` when it could be neither.
    fn notify(self: &Arc<Self>, adapter: &'static str, method: &'static str, args: String) -> bool {
        if let Some(r) = self.call_now(adapter, method, &args) {
            return r.is_ok();
        }
        DEFERRED.with(|d| match &mut *d.borrow_mut() {
            Some(list) => {
                list.push(Deferred {
                    host: Arc::clone(self),
                    adapter,
                    method,
                    args,
                });
                true
            }
            None => false,
        })
    }
}

/// Calls `bridge(a, b, c)` with three strings; the string answer or an error message.
unsafe fn call_bridge(
    env: sys::napi_env,
    bridge: sys::napi_ref,
    args: [&str; 3],
) -> Result<String, String> {
    let mut func = ptr::null_mut();
    if sys::napi_get_reference_value(env, bridge, &mut func) != sys::Status::napi_ok
        || func.is_null()
    {
        return Err("the adapter bridge is gone".into());
    }
    let mut recv = ptr::null_mut();
    sys::napi_get_undefined(env, &mut recv);
    let mut argv = [ptr::null_mut(); 3];
    for (slot, s) in argv.iter_mut().zip(args) {
        if sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, slot)
            != sys::Status::napi_ok
        {
            return Err("cannot pass arguments to the adapter bridge".into());
        }
    }
    let mut result = ptr::null_mut();
    let status = sys::napi_call_function(env, recv, func, 3, argv.as_ptr(), &mut result);
    if status != sys::Status::napi_ok {
        let mut pending = false;
        sys::napi_is_exception_pending(env, &mut pending);
        if pending {
            let mut exc = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut exc);
            return Err(format!(
                "adapter threw: {}",
                coerce_string(env, exc).unwrap_or_else(|| "unknown exception".into())
            ));
        }
        return Err(format!(
            "calling the adapter bridge failed (napi status {status})"
        ));
    }
    read_string(env, result).ok_or_else(|| "adapter bridge answered a non-string".into())
}

unsafe fn read_string(env: sys::napi_env, v: sys::napi_value) -> Option<String> {
    let mut len = 0usize;
    if sys::napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len) != sys::Status::napi_ok
    {
        return None;
    }
    let mut buf = vec![0u8; len + 1];
    let mut written = 0usize;
    if sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast(), buf.len(), &mut written)
        != sys::Status::napi_ok
    {
        return None;
    }
    buf.truncate(written);
    String::from_utf8(buf).ok()
}

unsafe fn coerce_string(env: sys::napi_env, v: sys::napi_value) -> Option<String> {
    let mut s = ptr::null_mut();
    if sys::napi_coerce_to_string(env, v, &mut s) != sys::Status::napi_ok {
        let mut pending = false;
        sys::napi_is_exception_pending(env, &mut pending);
        if pending {
            let mut exc = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut exc);
        }
        return None;
    }
    read_string(env, s)
}

// ---------------------------------------------------------------------------------------
// The document store: records are encoded and decoded by the core (`recsys_core::host`);
// this only moves them across the bridge as JSON text.

/// Seals a draft (the `draft` text of the core's draft record) with a store-assigned id and
/// the tenant's previous hash, keyed with the audit key of the store call in progress on this
/// thread: the hash chain is computed in the core.
pub fn seal_draft(draft: &str, id: u64, prev_hash: Option<&str>) -> Result<Value, ApiError> {
    let signer = SIGNER.with(|s| s.borrow().clone());
    let entry = records::seal_draft_text(draft, id, prev_hash, signer)?;
    Ok(records::entry_record(&entry, HostStyle::JavaScript))
}

/// The transport of a document store implemented by a JS object (see `recsys.js` for its
/// interface); the core's `RecordStore` over it is the engine's `DocumentStore`.
pub struct JsStore(pub Arc<Host>);

impl RecordTransport for JsStore {
    fn style(&self) -> HostStyle {
        HostStyle::JavaScript
    }

    fn call(&self, method: &str, args: Vec<StoreArg>) -> Result<Value, StoreError> {
        let mut signer = None;
        let args: Vec<Value> = args
            .into_iter()
            .map(|a| match a {
                StoreArg::Value(v) => v,
                StoreArg::Draft(d) => {
                    signer = Some(d.signer.clone());
                    records::draft_record(&d, HostStyle::JavaScript)
                }
            })
            .collect();
        let text = json::to_string(&Value::Array(args));
        let previous = SIGNER.with(|s| s.replace(signer.flatten()));
        let answer = self.0.call_now("store", method, &text);
        SIGNER.with(|s| *s.borrow_mut() = previous);
        match answer {
            Some(r) => r.map_err(|(kind, message)| StoreError::new(kind, message)),
            None => Err(StoreError::unavailable(
                "the JS document store can only be used by synchronous engine calls on the JS \
                 thread (not by *Async calls)",
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Metrics and exposure

/// A [`Metrics`] adapter implemented by a JS object `{counter, histogram, gauge}`.
pub struct JsMetrics(pub Arc<Host>);

fn labels_value(labels: &[(&str, &str)]) -> Value {
    let mut m = Map::new();
    for (k, v) in labels {
        m.insert(k.to_string(), Value::str(*v));
    }
    Value::Object(m)
}

impl JsMetrics {
    fn send(&self, method: &'static str, name: &str, labels: &[(&str, &str)], value: Value) {
        let args = Value::Array(vec![Value::str(name), labels_value(labels), value]);
        self.0.notify("metrics", method, json::to_string(&args));
    }
}

impl Metrics for JsMetrics {
    fn counter(&self, name: &str, labels: &[(&str, &str)], delta: u64) {
        self.send("counter", name, labels, Value::u64(delta));
    }
    fn histogram(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.send("histogram", name, labels, Value::f64(value));
    }
    fn gauge(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.send("gauge", name, labels, Value::f64(value));
    }
}

/// An [`ExposureSink`] implemented by a JS object `{emit(event)}`.
pub struct JsExposureSink(pub Arc<Host>);

impl ExposureSink for JsExposureSink {
    fn emit(&self, event: &Value) -> Result<(), SinkError> {
        let args = json::to_string(&Value::Array(vec![event.clone()]));
        match self.0.call_now("exposure", "emit", &args) {
            Some(Ok(_)) => Ok(()),
            Some(Err((_, message))) => Err(SinkError(message)),
            None => {
                if self.0.notify("exposure", "emit", args) {
                    Ok(())
                } else {
                    Err(SinkError(
                        "the JS exposure sink was called outside an engine call".into(),
                    ))
                }
            }
        }
    }
}
