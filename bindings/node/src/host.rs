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
use recsys_core::control::{
    AuditDraft, AuditEntry, AuditKey, AuditSigner, DocKind, DocumentStore, Pointer, PointerSwap,
    StoreError, StoreErrorKind, StoredVersion,
};
use recsys_core::error::ErrorCode;
use recsys_core::json::{self, Map, Value};
use recsys_core::ops::exposure::SinkError;
use recsys_core::ops::{ExposureSink, Metrics};
use recsys_core::time::Timestamp;
use recsys_core::ApiError;
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

/// Runs `f` (a store call that seals `draft`) with the draft's audit key available to
/// [`seal_draft`].
fn with_signer<T>(draft: &AuditDraft, f: impl FnOnce() -> T) -> T {
    let previous = SIGNER.with(|s| s.replace(draft.signer.clone()));
    let out = f();
    SIGNER.with(|s| *s.borrow_mut() = previous);
    out
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
// JSON forms shared with recsys.js

fn opt_str(s: Option<&str>) -> Value {
    s.map(Value::str).unwrap_or(Value::Null)
}

/// A fixed-width decimal string ordered like the timestamp (for the JS store's sorting).
pub fn time_key(t: Timestamp) -> String {
    format!("{:020}{:09}", (t.secs as i128 - i64::MIN as i128), t.nanos)
}

fn version_value(v: &StoredVersion) -> Value {
    let mut m = Map::new();
    m.push("etag", Value::str(&v.etag));
    m.push("canonicalText", Value::str(&v.canonical_text));
    m.push("document", Value::str(&v.document));
    m.push("createdAt", Value::str(v.created_at.to_rfc3339_nanos()));
    m.push("createdBy", Value::str(&v.created_by));
    m.push("comment", opt_str(v.comment.as_deref()));
    Value::Object(m)
}

/// The draft as the JSON the JS side hands back to [`seal_draft`].
pub fn draft_value(d: &AuditDraft) -> Value {
    let mut m = Map::new();
    m.push("tenant", Value::str(&d.tenant));
    m.push("occurredAt", Value::str(d.occurred_at.to_rfc3339_nanos()));
    m.push("timeKey", Value::str(time_key(d.occurred_at)));
    m.push("action", Value::str(&d.action));
    let body = d.clone().seal(0, None).to_value(false);
    let mut draft = Map::new();
    if let Value::Object(b) = body {
        for (k, v) in b.into_vec() {
            if !matches!(k.as_str(), "id" | "prev_hash" | "hash") {
                draft.push(k, v);
            }
        }
    }
    m.push(
        "draft",
        Value::String(json::to_string(&Value::Object(draft))),
    );
    Value::Object(m)
}

/// The entry as handed to a JS store: index fields plus `json`, the exact entry text the
/// store must keep and return.
pub fn entry_value(e: &AuditEntry) -> Value {
    let mut m = Map::new();
    m.push("id", Value::u64(e.id));
    m.push("tenant", Value::str(&e.tenant));
    m.push("occurredAt", Value::str(e.occurred_at.to_rfc3339_nanos()));
    m.push("timeKey", Value::str(time_key(e.occurred_at)));
    m.push("action", Value::str(&e.action));
    m.push("prevHash", opt_str(e.prev_hash.as_deref()));
    m.push("hash", Value::str(&e.hash));
    m.push("json", Value::String(json::to_string(&e.to_value(false))));
    Value::Object(m)
}

/// Seals a draft (the `draft` text of [`draft_value`]) with a store-assigned id and the
/// tenant's previous hash: the hash chain is computed here, in the core.
pub fn seal_draft(draft: &str, id: u64, prev_hash: Option<&str>) -> Result<Value, ApiError> {
    let bad = |m: &str| {
        ApiError::new(
            ErrorCode::InvalidAdapter,
            format!("invalid audit draft: {m}"),
        )
    };
    if id == 0 {
        return Err(bad("ids start at 1"));
    }
    let v = json::parse(draft.as_bytes()).map_err(|e| bad(&e.to_string()))?;
    let Value::Object(mut m) = v else {
        return Err(bad("not an object"));
    };
    m.insert("id", Value::u64(0));
    m.insert("prev_hash", Value::Null);
    m.insert("hash", Value::str(""));
    let e = AuditEntry::from_value(&Value::Object(m)).ok_or_else(|| bad("missing fields"))?;
    let d = AuditDraft::from_entry(e, SIGNER.with(|s| s.borrow().clone()));
    Ok(entry_value(&d.seal(id, prev_hash)))
}

// ---------------------------------------------------------------------------------------
// The document store

/// A [`DocumentStore`] implemented by a JS object (see `recsys.js` for its interface).
pub struct JsStore(pub Arc<Host>);

fn malformed(what: &str) -> StoreError {
    StoreError::other(format!("the JS document store returned a malformed {what}"))
}

fn str_of(m: &Map, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn opt_str_of(m: &Map, k: &str) -> Option<Option<String>> {
    match m.get(k) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        _ => None,
    }
}

fn time_of(m: &Map, k: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(m.get(k)?.as_str()?)
}

fn pointer_of(v: &Value) -> Option<Pointer> {
    let m = v.as_object()?;
    Some(Pointer {
        etag: str_of(m, "etag")?,
        previous: opt_str_of(m, "previous")?,
        updated_at: time_of(m, "updatedAt")?,
        updated_by: str_of(m, "updatedBy")?,
        revision: m.get("revision")?.as_number()?.as_i64()?.try_into().ok()?,
    })
}

fn version_of(v: &Value) -> Option<StoredVersion> {
    let m = v.as_object()?;
    Some(StoredVersion {
        etag: str_of(m, "etag")?,
        canonical_text: str_of(m, "canonicalText")?,
        document: str_of(m, "document")?,
        created_at: time_of(m, "createdAt")?,
        created_by: str_of(m, "createdBy")?,
        comment: opt_str_of(m, "comment")?,
    })
}

fn entry_of(v: &Value) -> Option<AuditEntry> {
    let text = v.as_object()?.get("json")?.as_str()?;
    AuditEntry::from_value(&json::parse(text.as_bytes()).ok()?)
}

fn entries_of(v: &Value) -> Result<Vec<AuditEntry>, StoreError> {
    v.as_array()
        .ok_or_else(|| malformed("entry list"))?
        .iter()
        .map(|e| entry_of(e).ok_or_else(|| malformed("audit entry")))
        .collect()
}

impl JsStore {
    fn call(&self, method: &'static str, args: Vec<Value>) -> Result<Value, StoreError> {
        let text = json::to_string(&Value::Array(args));
        match self.0.call_now("store", method, &text) {
            Some(r) => r.map_err(|(kind, message)| StoreError::new(kind, message)),
            None => Err(StoreError::unavailable(
                "the JS document store can only be used by synchronous engine calls on the JS \
                 thread (not by *Async calls)",
            )),
        }
    }
}

fn kind_value(kind: DocKind) -> Value {
    Value::str(kind.as_str())
}

impl DocumentStore for JsStore {
    fn current(&self, tenant: &str, kind: DocKind) -> Result<Option<Pointer>, StoreError> {
        let v = self.call("current", vec![Value::str(tenant), kind_value(kind)])?;
        if v.is_null() {
            return Ok(None);
        }
        pointer_of(&v).map(Some).ok_or_else(|| malformed("pointer"))
    }

    fn get_version(
        &self,
        tenant: &str,
        kind: DocKind,
        etag: &str,
    ) -> Result<Option<StoredVersion>, StoreError> {
        let v = self.call(
            "getVersion",
            vec![Value::str(tenant), kind_value(kind), Value::str(etag)],
        )?;
        if v.is_null() {
            return Ok(None);
        }
        version_of(&v).map(Some).ok_or_else(|| malformed("version"))
    }

    fn put_version(
        &self,
        tenant: &str,
        kind: DocKind,
        version: &StoredVersion,
    ) -> Result<bool, StoreError> {
        self.call(
            "putVersion",
            vec![Value::str(tenant), kind_value(kind), version_value(version)],
        )?
        .as_bool()
        .ok_or_else(|| malformed("putVersion answer (expected a boolean)"))
    }

    fn list_versions(&self, tenant: &str, kind: DocKind) -> Result<Vec<StoredVersion>, StoreError> {
        self.call("listVersions", vec![Value::str(tenant), kind_value(kind)])?
            .as_array()
            .ok_or_else(|| malformed("version list"))?
            .iter()
            .map(|v| version_of(v).ok_or_else(|| malformed("version")))
            .collect()
    }

    fn compare_and_swap(
        &self,
        tenant: &str,
        swap: &PointerSwap,
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let mut s = Map::new();
        s.push("kind", kind_value(swap.kind));
        s.push("expected", opt_str(swap.expected.as_deref()));
        s.push("newEtag", Value::str(&swap.new_etag));
        s.push("by", Value::str(&swap.by));
        s.push("at", Value::str(swap.at.to_rfc3339_nanos()));
        let v = with_signer(&audit, || {
            self.call(
                "compareAndSwap",
                vec![Value::str(tenant), Value::Object(s), draft_value(&audit)],
            )
        })?;
        if v.is_null() {
            return Ok(None);
        }
        entry_of(&v)
            .map(Some)
            .ok_or_else(|| malformed("audit entry"))
    }

    fn append_audit(&self, tenant: &str, audit: AuditDraft) -> Result<AuditEntry, StoreError> {
        let v = with_signer(&audit, || {
            self.call("appendAudit", vec![Value::str(tenant), draft_value(&audit)])
        })?;
        entry_of(&v).ok_or_else(|| malformed("audit entry"))
    }

    fn list_audit(
        &self,
        tenant: &str,
        before: Option<AuditKey>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let before = match before {
            None => Value::Null,
            Some(k) => {
                let mut m = Map::new();
                m.push("occurredAt", Value::str(k.occurred_at.to_rfc3339_nanos()));
                m.push("timeKey", Value::str(time_key(k.occurred_at)));
                m.push("id", Value::u64(k.id));
                Value::Object(m)
            }
        };
        let v = self.call(
            "listAudit",
            vec![Value::str(tenant), before, Value::u64(limit as u64)],
        )?;
        entries_of(&v)
    }

    fn audit_chain(
        &self,
        tenant: &str,
        after_id: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let after = after_id.map(Value::u64).unwrap_or(Value::Null);
        let v = self.call(
            "auditChain",
            vec![Value::str(tenant), after, Value::u64(limit as u64)],
        )?;
        entries_of(&v)
    }

    fn revision(&self, tenant: &str) -> Result<u64, StoreError> {
        self.call("revision", vec![Value::str(tenant)])?
            .as_number()
            .and_then(|n| n.as_i64())
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| malformed("revision (expected a non-negative integer)"))
    }

    fn changes_since(
        &self,
        tenant: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let v = self.call(
            "changesSince",
            vec![
                Value::str(tenant),
                Value::u64(since),
                Value::u64(limit as u64),
            ],
        )?;
        entries_of(&v)
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
