//! Node.js binding of `recsys-core` (napi-rs): the native part loaded by `recsys.js`.
//!
//! A thin layer over the core's JSON call/answer API: strings in, strings out. A core error
//! is thrown as a JS `Error` whose message is the error's JSON form
//! (`{"code","status","message","problems"?,...}`); the hand-written wrapper `recsys.js`
//! turns it into the matching `RecsysError` subclass. Every core call runs inside the core's
//! panic guard (`recsys_core::host::guard`), so a panic surfaces as a `RECSYS_INTERNAL` error
//! instead of aborting the process. The `{"request","ctx"}` input of the serving and admin
//! operations is built by the core too (`serve`, `serveAsync`). The `*Async` variants run on libuv's thread pool (`AsyncTask`), off the event loop.
//!
//! Host adapters written in JS (document store, metrics, exposure sink) are wired in
//! `host.rs`; see there for the threading model.

mod host;

use host::{DeferScope, Deferred, EnvScope, Host, JsExposureSink, JsMetrics, JsStore};
use napi::bindgen_prelude::{AbortSignal, AsyncTask, Either, Function, ObjectFinalize, Uint8Array};
use napi::{Env, Error, JsValue, Result, Status, Task};
use napi_derive::napi;
use recsys_core::host::store::RecordStore;
use recsys_core::ApiError;
use recsys_core::ErrorCode;
use std::sync::Arc;

/// Runs a core call under the core's panic guard (a panic becomes `RECSYS_INTERNAL`) and
/// turns its error into a JS error carrying the error's JSON form.
fn guarded<T>(f: impl FnOnce() -> std::result::Result<T, ApiError>) -> Result<T> {
    recsys_core::host::guard(f).map_err(|e| Error::new(Status::GenericFailure, e.to_json()))
}

fn doc_bytes(doc: &Either<String, Uint8Array>) -> &[u8] {
    match doc {
        Either::A(text) => text.as_bytes(),
        Either::B(bytes) => bytes,
    }
}

/// The serving engine (`Send + Sync`); share one per process.
#[napi(js_name = "Engine", custom_finalize)]
pub struct NativeEngine {
    inner: Arc<recsys_core::Engine>,
    /// The JS adapters' bridge, when any adapter is installed.
    host: Option<Arc<Host>>,
    /// True when the document store is a JS adapter (async admin calls are refused).
    js_store: bool,
}

impl ObjectFinalize for NativeEngine {
    fn finalize(self, env: Env) -> Result<()> {
        if let Some(h) = &self.host {
            h.release(env.raw());
        }
        Ok(())
    }
}

/// True for operations that reach the control plane's document store.
fn uses_store(op: &str) -> bool {
    op.starts_with("admin.")
}

#[napi]
impl NativeEngine {
    /// `options`: engine options as a JSON object text; omitted for the defaults.
    /// `bridge` and `adapters`: the JS host adapters (built by `recsys.js`): a function
    /// `(adapter, method, argsJson) => answerJson` and the names of the adapters it serves
    /// (`store`, `metrics`, `exposure`).
    #[napi(
        constructor,
        ts_args_type = "options?: string | null, bridge?: ((adapter: string, method: string, argsJson: string) => string) | null, adapters?: Array<string> | null"
    )]
    pub fn new(
        env: Env,
        options: Option<String>,
        bridge: Option<Function>,
        adapters: Option<Vec<String>>,
    ) -> Result<Self> {
        let adapters = adapters.unwrap_or_default();
        for a in &adapters {
            if !matches!(a.as_str(), "store" | "metrics" | "exposure") {
                return guarded(|| {
                    Err(ApiError::new(
                        ErrorCode::InvalidAdapter,
                        format!("unknown adapter {a:?}: expected store, metrics or exposure"),
                    ))
                });
            }
        }
        let host = match (&bridge, adapters.is_empty()) {
            // SAFETY: `env` is this call's env and `f` one of its values.
            (Some(f), false) => Some(unsafe { Host::new(env.raw(), f.raw()) }?),
            (None, false) => {
                return guarded(|| {
                    Err(ApiError::new(
                        ErrorCode::InvalidAdapter,
                        "adapters were named without a bridge function",
                    ))
                })
            }
            _ => None,
        };
        let has = |name: &str| adapters.iter().any(|a| a == name);
        let inner = guarded(|| {
            let opts = match &options {
                Some(text) => recsys_core::engine::EngineOptions::from_value(
                    &recsys_core::json::parse(text.as_bytes())?,
                )?,
                None => recsys_core::engine::EngineOptions::default(),
            };
            let builder = recsys_core::Engine::builder().options(opts);
            let mut engine = match (&host, has("store")) {
                (Some(h), true) => builder.store(Arc::new(RecordStore(JsStore(Arc::clone(h))))),
                _ => builder,
            }
            .build()?;
            if let (Some(h), true) = (&host, has("metrics")) {
                engine = engine.with_metrics_adapter(Arc::new(JsMetrics(Arc::clone(h))));
            }
            if let (Some(h), true) = (&host, has("exposure")) {
                engine = engine.with_exposure_sink(Arc::new(JsExposureSink(Arc::clone(h))));
            }
            Ok(engine)
        })?;
        Ok(NativeEngine {
            inner: Arc::new(inner),
            js_store: host.is_some() && has("store"),
            host,
        })
    }

    /// Runs operation `op` with a JSON input text and returns the JSON answer text. JS
    /// adapters are called on this thread during the call.
    #[napi]
    pub fn call(&self, env: Env, op: String, input: String) -> Result<String> {
        guarded(|| {
            let _scope = EnvScope::enter(env.raw())?;
            self.inner.call(&op, &input)
        })
    }

    /// Runs a serving or admin operation whose input is `{"request": <request>, "ctx": <ctx>}`,
    /// built by the core from the two JSON texts (each must be one JSON value).
    #[napi]
    pub fn serve(&self, env: Env, op: String, request: String, ctx: String) -> Result<String> {
        guarded(|| {
            let _scope = EnvScope::enter(env.raw())?;
            recsys_core::host::serve(&self.inner, &op, &request, &ctx)
        })
    }

    /// Like `serve`, on libuv's thread pool (same rules as `callAsync`).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn serve_async(
        &self,
        op: String,
        request: String,
        ctx: String,
        signal: Option<AbortSignal>,
    ) -> AsyncTask<CallTask> {
        self.task(op, request, Some(ctx), signal)
    }

    /// Hands over the bytes of one artifact the pending manifest names (loader step 2, one
    /// artifact at a time). The `Buffer`/`Uint8Array` is read in place (no string copy);
    /// answers `{"uri","kind","version","rows"}` as JSON text.
    #[napi]
    pub fn loader_stage_artifact(
        &self,
        env: Env,
        tenant: String,
        surface: String,
        uri: String,
        data: Uint8Array,
    ) -> Result<String> {
        guarded(|| {
            let _scope = EnvScope::enter(env.raw())?;
            let v = self
                .inner
                .loader_stage_artifact(&tenant, &surface, &uri, &data)?;
            Ok(recsys_core::json::to_string(&v))
        })
    }

    /// Like `loaderStageArtifact`, on libuv's thread pool (off the event loop). The bytes
    /// are copied once into native memory (a JS buffer cannot be read from another thread);
    /// still no string conversion or JSON escaping.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn loader_stage_artifact_async(
        &self,
        tenant: String,
        surface: String,
        uri: String,
        data: Uint8Array,
    ) -> AsyncTask<StageTask> {
        AsyncTask::new(StageTask {
            engine: self.inner.clone(),
            tenant,
            surface,
            uri,
            data: data.to_vec(),
        })
    }

    /// Like `call`, on libuv's thread pool; the promise resolves to the JSON answer text.
    /// Metrics and exposure events for JS adapters are delivered when it resolves; an
    /// operation that needs a JS document store is refused (`RECSYS_ADAPTER_SYNC_ONLY`).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn call_async(
        &self,
        op: String,
        input: String,
        signal: Option<AbortSignal>,
    ) -> AsyncTask<CallTask> {
        self.task(op, input, None, signal)
    }
}

impl NativeEngine {
    /// An async call of `op`; with `ctx`, `input` is the request and the core builds the
    /// envelope on the worker thread.
    fn task(
        &self,
        op: String,
        input: String,
        ctx: Option<String>,
        signal: Option<AbortSignal>,
    ) -> AsyncTask<CallTask> {
        let refused = (self.js_store && uses_store(&op)).then(|| {
            ApiError::new(
                ErrorCode::AdapterSyncOnly,
                format!(
                    "{op} needs the JS document store, which runs on the JS thread only; \
                     use the synchronous method"
                ),
            )
        });
        let task = CallTask {
            engine: Arc::clone(&self.inner),
            op,
            input,
            ctx,
            refused,
            deferred: Vec::new(),
        };
        AsyncTask::with_optional_signal(task, signal)
    }
}

/// One `Engine.call` run off the event loop.
pub struct CallTask {
    engine: Arc<recsys_core::Engine>,
    op: String,
    input: String,
    /// With a context, `input` is the request of a `{"request","ctx"}` input.
    ctx: Option<String>,
    refused: Option<ApiError>,
    deferred: Vec<Deferred>,
}

impl Task for CallTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        if let Some(e) = self.refused.take() {
            return guarded(|| Err(e));
        }
        let scope = DeferScope::enter();
        let out = guarded(|| match &self.ctx {
            Some(ctx) => recsys_core::host::serve(&self.engine, &self.op, &self.input, ctx),
            None => self.engine.call(&self.op, &self.input),
        });
        self.deferred = scope.take();
        out
    }

    fn resolve(&mut self, env: Env, output: String) -> Result<String> {
        self.deliver(env);
        Ok(output)
    }

    fn reject(&mut self, env: Env, err: Error) -> Result<String> {
        self.deliver(env);
        Err(err)
    }
}

impl CallTask {
    fn deliver(&mut self, env: Env) {
        let calls = std::mem::take(&mut self.deferred);
        if calls.is_empty() {
            return;
        }
        if let Ok(_scope) = EnvScope::enter(env.raw()) {
            host::replay(env.raw(), calls);
        }
    }
}

/// `loaderStageArtifactAsync`'s work: verifying one artifact off the event loop.
pub struct StageTask {
    engine: Arc<recsys_core::Engine>,
    tenant: String,
    surface: String,
    uri: String,
    data: Vec<u8>,
}

impl Task for StageTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        let data = std::mem::take(&mut self.data);
        guarded(|| {
            let v =
                self.engine
                    .loader_stage_artifact(&self.tenant, &self.surface, &self.uri, &data)?;
            Ok(recsys_core::json::to_string(&v))
        })
    }

    fn resolve(&mut self, _env: Env, output: String) -> Result<String> {
        Ok(output)
    }
}

/// Seals an audit draft handed to a JS document store: `draft` is the draft's JSON text,
/// `id` the store-assigned id, `prevHash` the hash of the tenant's last entry. Answers the
/// entry object as JSON text (the hash chain is computed here, in the core).
#[napi]
pub fn seal_audit_draft(draft: String, id: i64, prev_hash: Option<String>) -> Result<String> {
    guarded(|| {
        let id = u64::try_from(id).map_err(|_| {
            ApiError::new(ErrorCode::InvalidAdapter, "audit ids are positive integers")
        })?;
        Ok(recsys_core::json::to_string(&host::seal_draft(
            &draft,
            id,
            prev_hash.as_deref(),
        )?))
    })
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
