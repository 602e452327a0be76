//! Python binding of `recsys-core`: the native part `recsys_core._native`.
//!
//! A thin layer: borrow the Python strings, release the GIL, call the core's JSON
//! call/answer API, and convert the answer or the error back. Typed conveniences (dict
//! conversion, exception classes per error code) live in the pure-Python package
//! `recsys_core`, so new operations and error codes need no change here.
//!
//! Every core call runs inside `Python::detach` (other Python threads keep running) and
//! inside the core's panic guard (`recsys_core::host::guard`), so a panic in the core
//! surfaces as a `RECSYS_INTERNAL` error and never unwinds into the interpreter. The
//! `{"request","ctx"}` input of the serving and admin operations is built by the core too
//! (`Engine.serve`).
//!
//! Host adapters (a document store for the control plane, a metrics adapter, an exposure
//! sink) can be Python objects; see `adapters.rs`.

mod adapters;
mod convert;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::sync::PyOnceLock;
use recsys_core::ApiError;
use recsys_core::ErrorCode;
use std::sync::Arc;

/// Builds the Python exception for a core error. The class is chosen by
/// `recsys_core._errors._from_native` (pure Python) from the error's JSON form; should that
/// module be unavailable, a `RuntimeError` carrying the JSON is raised instead.
fn to_py_err(py: Python<'_>, e: &ApiError) -> PyErr {
    static FACTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let json = e.to_json();
    FACTORY
        .import(py, "recsys_core._errors", "_from_native")
        .and_then(|factory| factory.call1((json.as_str(),)))
        .map(PyErr::from_value)
        .unwrap_or_else(|_| PyRuntimeError::new_err(json))
}

/// Releases the GIL around a core call under the core's panic guard
/// (`recsys_core::host::guard`: a panic becomes `RECSYS_INTERNAL`) and converts its error.
fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, ApiError> + Send) -> PyResult<T> {
    py.detach(|| recsys_core::host::guard(f))
        .map_err(|e| to_py_err(py, &e))
}

/// A JSON document given as `str` or `bytes` (bytes are checked as UTF-8 by the core).
#[derive(FromPyObject)]
enum Document {
    Text(PyBackedStr),
    Bytes(PyBackedBytes),
}

impl Document {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Document::Text(s) => s.as_bytes(),
            Document::Bytes(b) => b,
        }
    }
}

/// The serving engine. Immutable from Python's side and `Send + Sync`: share one instance
/// across threads; calls run without the GIL.
#[pyclass(frozen, subclass, module = "recsys_core._native", name = "Engine")]
struct PyEngine {
    inner: recsys_core::Engine,
    metrics_errors: Option<Arc<adapters::AdapterErrors>>,
    exposure_errors: Option<Arc<adapters::AdapterErrors>>,
}

fn invalid_adapter(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidAdapter, message)
}

#[pymethods]
impl PyEngine {
    /// `options`: engine options as a JSON object text, or `None` for the defaults.
    /// `store`: the control plane's document store (a Python object with the
    /// `DocumentStore` methods; `None` = in memory). `metrics`: a metrics adapter (an object
    /// with `counter`, `histogram`, `gauge`, or a callable `f(kind, name, labels, value)`).
    /// `exposure_sink`: an object with `emit(event)` or a callable `f(event)`.
    #[new]
    #[pyo3(signature = (options = None, store = None, metrics = None, exposure_sink = None))]
    fn new(
        py: Python<'_>,
        options: Option<PyBackedStr>,
        store: Option<Bound<'_, PyAny>>,
        metrics: Option<Bound<'_, PyAny>>,
        exposure_sink: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let store = store.filter(|s| !s.is_none());
        let metrics = metrics.filter(|s| !s.is_none());
        let exposure_sink = exposure_sink.filter(|s| !s.is_none());
        if let Some(s) = &store {
            let missing = adapters::missing_methods(s);
            if !missing.is_empty() {
                return Err(to_py_err(
                    py,
                    &invalid_adapter(format!(
                        "the document store lacks the method(s) {}",
                        missing.join(", ")
                    )),
                ));
            }
        }
        let metrics = match &metrics {
            Some(m) => Some(adapters::PyMetrics::new(m).ok_or_else(|| {
                to_py_err(
                    py,
                    &invalid_adapter(
                        "the metrics adapter needs counter, histogram and gauge methods, or must be callable"
                            .into(),
                    ),
                )
            })?),
            None => None,
        };
        let sink = match &exposure_sink {
            Some(s) => Some(adapters::PySink::new(s).ok_or_else(|| {
                to_py_err(
                    py,
                    &invalid_adapter(
                        "the exposure sink needs an emit method, or must be callable".into(),
                    ),
                )
            })?),
            None => None,
        };
        let store = store.map(|s| adapters::PyStore::new(s.unbind()));
        let metrics_errors = metrics.as_ref().map(|m| m.errors.clone());
        let exposure_errors = sink.as_ref().map(|s| s.errors.clone());
        let mut inner = run(py, || {
            let opts = match &options {
                Some(text) => recsys_core::engine::EngineOptions::from_value(
                    &recsys_core::json::parse(text.as_bytes())?,
                )?,
                None => recsys_core::engine::EngineOptions::default(),
            };
            let builder = recsys_core::Engine::builder().options(opts);
            match store {
                Some(s) => builder.store(Arc::new(recsys_core::host::store::RecordStore(s))),
                None => builder,
            }
            .build()
        })?;
        if let Some(m) = metrics {
            inner = inner.with_metrics_adapter(Arc::new(m));
        }
        if let Some(s) = sink {
            inner = inner.with_exposure_sink(Arc::new(s));
        }
        Ok(PyEngine {
            inner,
            metrics_errors,
            exposure_errors,
        })
    }

    /// Runs operation `op` with a JSON input text and returns the JSON answer text.
    fn call(&self, py: Python<'_>, op: PyBackedStr, input: PyBackedStr) -> PyResult<String> {
        run(py, || self.inner.call(&op, &input))
    }

    /// Runs a serving or admin operation whose input is `{"request": <request>, "ctx": <ctx>}`,
    /// built by the core from the two JSON texts (each must be one JSON value); returns the
    /// JSON answer text.
    fn serve(
        &self,
        py: Python<'_>,
        op: PyBackedStr,
        request: PyBackedStr,
        ctx: PyBackedStr,
    ) -> PyResult<String> {
        run(py, || {
            recsys_core::host::serve(&self.inner, &op, &request, &ctx)
        })
    }

    /// Hands over the bytes of one artifact the pending manifest names (loader step 2, one
    /// artifact at a time): `bytes` are read in place, never copied into a `str`; the GIL is
    /// released while they are verified. Returns `{"uri", "kind", "version", "rows"}` as
    /// JSON text; a verification failure raises here and is recorded when the artifacts are
    /// applied.
    fn loader_stage_artifact(
        &self,
        py: Python<'_>,
        tenant: PyBackedStr,
        surface: PyBackedStr,
        uri: PyBackedStr,
        data: PyBackedBytes,
    ) -> PyResult<String> {
        run(py, || {
            let v = self
                .inner
                .loader_stage_artifact(&tenant, &surface, &uri, &data)?;
            Ok(recsys_core::json::to_string(&v))
        })
    }

    /// Runs operation `op` with Python objects as input (a dict, or JSON text) and returns the
    /// answer as Python objects: no JSON text in between (see `convert.rs`). Conversion
    /// errors are `TypeError`/`ValueError` raised before the core runs.
    fn call_object<'py>(
        &self,
        py: Python<'py>,
        op: PyBackedStr,
        input: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let answer = if let Ok(text) = input.cast_exact::<pyo3::types::PyString>() {
            let text = text.to_cow()?.into_owned();
            run(py, || {
                let a = self.inner.call(&op, &text)?;
                Ok(recsys_core::json::parse(a.as_bytes())?)
            })?
        } else {
            let v = convert::to_value(input)?;
            run(py, || self.inner.call_value(&op, &v))?
        };
        convert::to_py(py, &answer)
    }

    /// Exceptions swallowed from the metrics adapter and the exposure sink:
    /// `{"metrics": {"errors": n, "last_error": str | None}, "exposure_sink": {...}}`, with
    /// an entry only for the adapters this engine has.
    fn adapter_errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let out = pyo3::types::PyDict::new(py);
        for (name, errors) in [
            ("metrics", &self.metrics_errors),
            ("exposure_sink", &self.exposure_errors),
        ] {
            if let Some(e) = errors {
                let d = pyo3::types::PyDict::new(py);
                d.set_item("errors", e.count())?;
                d.set_item("last_error", e.last())?;
                out.set_item(name, d)?;
            }
        }
        Ok(out)
    }
}

/// Lower-case hex SHA-256 of the document's canonical (PostgreSQL jsonb) text.
#[pyfunction]
fn etag(py: Python<'_>, doc: Document) -> PyResult<String> {
    run(py, || Ok(recsys_core::json::etag(doc.as_bytes())?))
}

/// The canonical (PostgreSQL jsonb) text of a document.
#[pyfunction]
fn canonicalize(py: Python<'_>, doc: Document) -> PyResult<String> {
    run(py, || {
        Ok(recsys_core::json::canonical_text(doc.as_bytes())?)
    })
}

/// Runs a stateless operation (`etag`, `canonicalize`, `conformance_split`, ...).
#[pyfunction]
fn call_static(py: Python<'_>, op: PyBackedStr, input: PyBackedStr) -> PyResult<String> {
    run(py, || recsys_core::call_static(&op, &input))
}

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEngine>()?;
    m.add_class::<adapters::PyAuditDraft>()?;
    m.add_function(wrap_pyfunction!(etag, m)?)?;
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(call_static, m)?)?;
    m.add("STATIC_OPS", recsys_core::api::STATIC_OPS.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
