//! Host adapters written in Python: the control plane's document store, the metrics adapter
//! and the exposure sink, each a wrapper around a Python object.
//!
//! Engine calls run with the GIL released (see `run` in `lib.rs`); every adapter method
//! re-acquires it with `Python::attach` for the duration of the Python call only.
//!
//! The store's records cross the boundary as plain dicts of `str`, `int`, `bool` and `None`,
//! encoded and decoded by the core (`recsys_core::host::records`, Python style; the same
//! codec serves the Node binding): audit states (`before_state`, `after_state`, `extra`)
//! travel as JSON **text**, so documents keep their number literals exactly (the audit hash
//! covers them); timestamps are RFC 3339 strings, and audit entries and keys also carry
//! `seconds` and `nanos` (Unix time) so a store can order them without parsing. The method
//! calls themselves are the core's `RecordStore`; [`PyStore`] only moves values.
//!
//! A Python exception raised by the store becomes a [`StoreError`]: its kind is the
//! exception's `kind` attribute when that is one of `unavailable`, `conflict`, `corrupt`,
//! `other` (the `recsys_core.adapters.Store*` exceptions set it), `unavailable` for
//! `ConnectionError`, `TimeoutError` and other `OSError`s, and `other` for anything else. A
//! value of the wrong shape returned by the store is `corrupt`. The core maps the kinds to
//! the stable codes `RECSYS_STORE_UNAVAILABLE` (503), `RECSYS_STORE_CONFLICT` (409),
//! `RECSYS_STORE_CORRUPT` (500) and `RECSYS_STORE_ERROR` (500).
//!
//! Metrics and exposure adapters never fail a request: an exception raised by them is
//! swallowed and counted ([`AdapterErrors`]), and a failed exposure emit is also reported to
//! the engine as a sink error (counted in `recsys_exposure_events_total{result="error"}`).

use pyo3::exceptions::{PyConnectionError, PyOSError, PyTimeoutError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use recsys_core::host::records::{self, HostStyle};
use recsys_core::host::store::{RecordTransport, StoreArg};
use recsys_core::json::Value;
use recsys_core::time::Timestamp;
use recsys_core::SinkError;
use recsys_core::{AuditDraft, StoreError, StoreErrorKind};
use recsys_core::{ExposureSink, Metrics};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The methods a document store object must have.
pub const STORE_METHODS: &[&str] = &[
    "current",
    "get_version",
    "put_version",
    "list_versions",
    "compare_and_swap",
    "append_audit",
    "list_audit",
    "audit_chain",
];

fn ts_text(t: Timestamp) -> String {
    t.to_rfc3339_nanos()
}

/// Describes a Python exception as `Type: message`.
fn describe(py: Python<'_>, e: &PyErr) -> String {
    let ty = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let msg = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    if msg.is_empty() {
        ty
    } else {
        format!("{ty}: {msg}")
    }
}

/// The store error for an exception raised by the store's `method`.
fn store_error(py: Python<'_>, method: &str, e: &PyErr) -> StoreError {
    let declared = e
        .value(py)
        .getattr("kind")
        .ok()
        .and_then(|k| k.extract::<String>().ok());
    let kind = match declared.as_deref() {
        Some("unavailable") => StoreErrorKind::Unavailable,
        Some("conflict") => StoreErrorKind::Conflict,
        Some("corrupt") => StoreErrorKind::Corrupt,
        Some("other") => StoreErrorKind::Other,
        _ if e.is_instance_of::<PyConnectionError>(py)
            || e.is_instance_of::<PyTimeoutError>(py)
            || e.is_instance_of::<PyOSError>(py) =>
        {
            StoreErrorKind::Unavailable
        }
        _ => StoreErrorKind::Other,
    };
    StoreError::new(kind, format!("{method}: {}", describe(py, e)))
}

// ---- the audit draft ---------------------------------------------------------------------

/// An audit entry before the store has assigned its id and chained it. A store seals it
/// with `draft.seal(id, prev_hash)` inside the atomic step that assigns the id, and stores
/// the dict that returns.
#[pyclass(frozen, module = "recsys_core._native", name = "AuditDraft")]
pub struct PyAuditDraft {
    draft: AuditDraft,
}

#[pymethods]
impl PyAuditDraft {
    /// The tenant the entry belongs to.
    #[getter]
    fn tenant(&self) -> &str {
        &self.draft.tenant
    }
    /// `config.update`, `rules.rollback`, `cache.invalidate`, `artifacts.pin`, ...
    #[getter]
    fn action(&self) -> &str {
        &self.draft.action
    }
    /// RFC 3339 time of the entry.
    #[getter]
    fn occurred_at(&self) -> String {
        ts_text(self.draft.occurred_at)
    }
    /// Unix seconds of `occurred_at`.
    #[getter]
    fn seconds(&self) -> i64 {
        self.draft.occurred_at.secs
    }
    /// Nanoseconds of `occurred_at`.
    #[getter]
    fn nanos(&self) -> u32 {
        self.draft.occurred_at.nanos
    }
    /// The chained entry with this `id` after the tenant's last entry (`prev_hash` is that
    /// entry's `hash`, `None` for the tenant's first entry), as a dict.
    #[pyo3(signature = (id, prev_hash))]
    fn seal<'py>(
        &self,
        py: Python<'py>,
        id: u64,
        prev_hash: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let entry = self.draft.clone().seal(id, prev_hash);
        let record = records::entry_record(&entry, HostStyle::Python);
        crate::convert::to_py(py, &record)?
            .cast_into::<PyDict>()
            .map_err(PyErr::from)
    }
    fn __repr__(&self) -> String {
        format!(
            "AuditDraft(tenant={:?}, action={:?}, occurred_at={:?})",
            self.draft.tenant,
            self.draft.action,
            ts_text(self.draft.occurred_at)
        )
    }
}

// ---- the document store ------------------------------------------------------------------

/// The transport of a document store implemented by a Python object: the core's
/// `RecordStore` over it is the engine's `DocumentStore`. Records are encoded and decoded by
/// the core (`recsys_core::host::records`, Python style); this only converts them to and
/// from Python objects, under the GIL.
pub struct PyStore {
    obj: Py<PyAny>,
}

impl PyStore {
    pub fn new(obj: Py<PyAny>) -> PyStore {
        PyStore { obj }
    }
}

impl RecordTransport for PyStore {
    fn style(&self) -> HostStyle {
        HostStyle::Python
    }

    fn call(&self, method: &str, args: Vec<StoreArg>) -> Result<Value, StoreError> {
        Python::attach(|py| {
            let args = args
                .into_iter()
                .map(|a| match a {
                    StoreArg::Value(v) => crate::convert::to_py(py, &v),
                    StoreArg::Draft(d) => {
                        Bound::new(py, PyAuditDraft { draft: *d }).map(Bound::into_any)
                    }
                })
                .collect::<PyResult<Vec<_>>>()
                .and_then(|items| PyTuple::new(py, items))
                .map_err(|e| store_error(py, method, &e))?;
            let answer = self
                .obj
                .bind(py)
                .call_method1(method, args)
                .map_err(|e| store_error(py, method, &e))?;
            crate::convert::answer_to_value(&answer).map_err(|e| {
                StoreError::corrupt(format!(
                    "{method} returned a value the binding cannot read: {}",
                    describe(py, &e)
                ))
            })
        })
    }
}

// ---- metrics and exposure ----------------------------------------------------------------

/// Swallowed adapter failures: how many, and the last one's description.
#[derive(Default)]
pub struct AdapterErrors {
    count: AtomicU64,
    last: Mutex<Option<String>>,
}

impl AdapterErrors {
    fn record(&self, what: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(what);
    }
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
    pub fn last(&self) -> Option<String> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// How a Python adapter is called: methods of an object, or one callable.
enum Shape {
    /// `counter(name, labels, delta)` / `histogram(...)` / `gauge(...)`, or `emit(event)`.
    Methods,
    /// `f("counter", name, labels, value)`, or `f(event)`.
    Callable,
}

/// A [`Metrics`] adapter backed by a Python object.
pub struct PyMetrics {
    obj: Py<PyAny>,
    shape: Shape,
    pub errors: Arc<AdapterErrors>,
}

impl PyMetrics {
    /// `None` when `obj` has neither the three methods nor is callable.
    pub fn new(obj: &Bound<'_, PyAny>) -> Option<PyMetrics> {
        let has = |m: &str| obj.getattr(m).is_ok_and(|a| a.is_callable());
        let shape = if has("counter") && has("histogram") && has("gauge") {
            Shape::Methods
        } else if obj.is_callable() {
            Shape::Callable
        } else {
            return None;
        };
        Some(PyMetrics {
            obj: obj.clone().unbind(),
            shape,
            errors: Arc::default(),
        })
    }

    fn emit(&self, kind: &str, name: &str, labels: &[(&str, &str)], value: Num) {
        Python::attach(|py| {
            let result = (|| -> PyResult<()> {
                let d = PyDict::new(py);
                for (k, v) in labels {
                    d.set_item(*k, *v)?;
                }
                let value = match value {
                    Num::Int(n) => n.into_pyobject(py)?.into_any(),
                    Num::Float(f) => f.into_pyobject(py)?.into_any(),
                };
                let o = self.obj.bind(py);
                match self.shape {
                    Shape::Methods => o.call_method1(kind, (name, d, value))?,
                    Shape::Callable => o.call1((kind, name, d, value))?,
                };
                Ok(())
            })();
            if let Err(e) = result {
                self.errors
                    .record(format!("{kind} {name}: {}", describe(py, &e)));
            }
        })
    }
}

#[derive(Clone, Copy)]
enum Num {
    Int(u64),
    Float(f64),
}

impl Metrics for PyMetrics {
    fn counter(&self, name: &str, labels: &[(&str, &str)], delta: u64) {
        self.emit("counter", name, labels, Num::Int(delta))
    }
    fn histogram(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.emit("histogram", name, labels, Num::Float(value))
    }
    fn gauge(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.emit("gauge", name, labels, Num::Float(value))
    }
}

/// An [`ExposureSink`] backed by a Python object (`emit(event)`) or callable (`f(event)`).
/// The event is a dict (decoded with the `json` module).
pub struct PySink {
    obj: Py<PyAny>,
    shape: Shape,
    pub errors: Arc<AdapterErrors>,
}

impl PySink {
    pub fn new(obj: &Bound<'_, PyAny>) -> Option<PySink> {
        let shape = if obj.getattr("emit").is_ok_and(|a| a.is_callable()) {
            Shape::Methods
        } else if obj.is_callable() {
            Shape::Callable
        } else {
            return None;
        };
        Some(PySink {
            obj: obj.clone().unbind(),
            shape,
            errors: Arc::default(),
        })
    }
}

impl ExposureSink for PySink {
    fn emit(&self, event: &Value) -> Result<(), SinkError> {
        Python::attach(|py| {
            let result = (|| -> PyResult<()> {
                // The same dict `json.loads` of the event's text would give (convert.rs).
                let ev = crate::convert::to_py(py, event)?;
                let o = self.obj.bind(py);
                match self.shape {
                    Shape::Methods => o.call_method1("emit", (ev,))?,
                    Shape::Callable => o.call1((ev,))?,
                };
                Ok(())
            })();
            result.map_err(|e| {
                let what = describe(py, &e);
                self.errors.record(what.clone());
                SinkError(what)
            })
        })
    }
}

/// The store methods `obj` lacks (for the error raised at construction).
pub fn missing_methods(obj: &Bound<'_, PyAny>) -> Vec<&'static str> {
    STORE_METHODS
        .iter()
        .copied()
        .filter(|m| !obj.getattr(*m).is_ok_and(|a| a.is_callable()))
        .collect()
}
