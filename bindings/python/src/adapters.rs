//! Host adapters written in Python: the control plane's document store, the metrics adapter
//! and the exposure sink, each a wrapper around a Python object.
//!
//! Engine calls run with the GIL released (see `run` in `lib.rs`); every adapter method
//! re-acquires it with `Python::attach` for the duration of the Python call only.
//!
//! Values cross the boundary as plain dicts of `str`, `int`, `bool` and `None`. Audit
//! states (`before_state`, `after_state`, `extra`) travel as JSON **text**, so documents keep
//! their number literals exactly (the audit hash covers them). Timestamps are RFC 3339
//! strings; audit entries and keys also carry `seconds` and `nanos` (Unix time) so a store
//! can order them without parsing.
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
use recsys_core::control::{
    Actor, AuditDraft, AuditEntry, AuditKey, DocKind, DocumentStore, Entity, Pointer, PointerSwap,
    StoreError, StoreErrorKind, StoredVersion,
};
use recsys_core::json::{self, Value};
use recsys_core::ops::exposure::SinkError;
use recsys_core::ops::{ExposureSink, Metrics};
use recsys_core::time::Timestamp;
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

fn kind_text(k: DocKind) -> &'static str {
    k.as_str()
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

fn malformed(method: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(format!("{method} returned {what}"))
}

// ---- dict readers ----------------------------------------------------------------------

struct Reader<'a, 'py> {
    method: &'a str,
    what: &'a str,
    dict: &'a Bound<'py, PyDict>,
}

impl<'a, 'py> Reader<'a, 'py> {
    fn new(method: &'a str, what: &'a str, v: &'a Bound<'py, PyAny>) -> Result<Self, StoreError> {
        let dict = v
            .cast::<PyDict>()
            .map_err(|_| malformed(method, format_args!("a {what} that is not a dict")))?;
        Ok(Reader { method, what, dict })
    }

    fn bad(&self, key: &str, expected: &str) -> StoreError {
        malformed(
            self.method,
            format_args!("a {} whose {key:?} is not {expected}", self.what),
        )
    }

    fn get(&self, key: &str) -> Option<Bound<'py, PyAny>> {
        self.dict
            .get_item(key)
            .ok()
            .flatten()
            .filter(|v| !v.is_none())
    }

    fn string(&self, key: &str) -> Result<String, StoreError> {
        self.get(key)
            .and_then(|v| v.extract::<String>().ok())
            .ok_or_else(|| self.bad(key, "a string"))
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .extract::<String>()
                .map(Some)
                .map_err(|_| self.bad(key, "a string or None")),
        }
    }

    fn time(&self, key: &str) -> Result<Timestamp, StoreError> {
        Timestamp::parse_rfc3339(&self.string(key)?)
            .ok_or_else(|| self.bad(key, "an RFC 3339 timestamp"))
    }

    fn u64(&self, key: &str) -> Result<u64, StoreError> {
        self.get(key)
            .filter(|v| !v.is_instance_of::<pyo3::types::PyBool>())
            .and_then(|v| v.extract::<u64>().ok())
            .ok_or_else(|| self.bad(key, "a non-negative integer"))
    }

    fn json(&self, key: &str) -> Result<Option<Value>, StoreError> {
        match self.opt_string(key)? {
            None => Ok(None),
            Some(text) => json::parse(text.as_bytes())
                .map(Some)
                .map_err(|_| self.bad(key, "JSON text")),
        }
    }
}

fn version_from(method: &str, v: &Bound<'_, PyAny>) -> Result<StoredVersion, StoreError> {
    let r = Reader::new(method, "version", v)?;
    Ok(StoredVersion {
        etag: r.string("etag")?,
        canonical_text: r.string("canonical_text")?,
        document: r.string("document")?,
        created_at: r.time("created_at")?,
        created_by: r.string("created_by")?,
        comment: r.opt_string("comment")?,
    })
}

fn version_dict<'py>(py: Python<'py>, v: &StoredVersion) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("etag", &v.etag)?;
    d.set_item("canonical_text", &v.canonical_text)?;
    d.set_item("document", &v.document)?;
    d.set_item("created_at", ts_text(v.created_at))?;
    d.set_item("created_by", &v.created_by)?;
    d.set_item("comment", v.comment.as_deref())?;
    Ok(d)
}

fn pointer_from(method: &str, v: &Bound<'_, PyAny>) -> Result<Pointer, StoreError> {
    let r = Reader::new(method, "pointer", v)?;
    Ok(Pointer {
        etag: r.string("etag")?,
        previous: r.opt_string("previous")?,
        updated_at: r.time("updated_at")?,
        updated_by: r.string("updated_by")?,
        revision: r.u64("revision")?,
    })
}

fn swap_dict<'py>(py: Python<'py>, s: &PointerSwap) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("kind", kind_text(s.kind))?;
    d.set_item("expected", s.expected.as_deref())?;
    d.set_item("new_etag", &s.new_etag)?;
    d.set_item("expected_revision", s.expected_revision)?;
    d.set_item("by", &s.by)?;
    d.set_item("at", ts_text(s.at))?;
    Ok(d)
}

fn key_dict<'py>(py: Python<'py>, k: &AuditKey) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("occurred_at", ts_text(k.occurred_at))?;
    d.set_item("seconds", k.occurred_at.secs)?;
    d.set_item("nanos", k.occurred_at.nanos)?;
    d.set_item("id", k.id)?;
    Ok(d)
}

fn opt_json(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(json::to_string)
}

/// An audit entry as the dict stores keep.
pub fn entry_dict<'py>(py: Python<'py>, e: &AuditEntry) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", e.id)?;
    d.set_item("occurred_at", ts_text(e.occurred_at))?;
    d.set_item("seconds", e.occurred_at.secs)?;
    d.set_item("nanos", e.occurred_at.nanos)?;
    d.set_item("tenant_id", &e.tenant)?;
    let actor = PyDict::new(py);
    actor.set_item("subject", &e.actor.subject)?;
    actor.set_item("type", &e.actor.actor_type)?;
    d.set_item("actor", actor)?;
    d.set_item("action", &e.action)?;
    let entity = PyDict::new(py);
    entity.set_item("type", &e.entity.entity_type)?;
    entity.set_item("id", e.entity.id.as_deref())?;
    d.set_item("entity", entity)?;
    d.set_item("request_id", e.request_id.as_deref())?;
    d.set_item("before_state", opt_json(&e.before_state))?;
    d.set_item("after_state", opt_json(&e.after_state))?;
    d.set_item("extra", opt_json(&e.extra))?;
    d.set_item("prev_hash", e.prev_hash.as_deref())?;
    d.set_item("hash", &e.hash)?;
    Ok(d)
}

fn entry_from(method: &str, v: &Bound<'_, PyAny>) -> Result<AuditEntry, StoreError> {
    let r = Reader::new(method, "audit entry", v)?;
    let nested = |key: &str| -> Result<Bound<'_, PyDict>, StoreError> {
        r.get(key)
            .and_then(|x| x.cast_into::<PyDict>().ok())
            .ok_or_else(|| r.bad(key, "a dict"))
    };
    let actor = nested("actor")?;
    let entity = nested("entity")?;
    let actor_any = actor.as_any();
    let entity_any = entity.as_any();
    let ar = Reader::new(method, "audit entry actor", actor_any)?;
    let er = Reader::new(method, "audit entry entity", entity_any)?;
    Ok(AuditEntry {
        id: r.u64("id")?,
        occurred_at: r.time("occurred_at")?,
        tenant: r.string("tenant_id")?,
        actor: Actor {
            subject: ar.string("subject")?,
            actor_type: ar.string("type")?,
        },
        action: r.string("action")?,
        entity: Entity {
            entity_type: er.string("type")?,
            id: er.opt_string("id")?,
        },
        request_id: r.opt_string("request_id")?,
        before_state: r.json("before_state")?,
        after_state: r.json("after_state")?,
        extra: r.json("extra")?,
        prev_hash: r.opt_string("prev_hash")?,
        hash: r.string("hash")?,
    })
}

fn entries_from(method: &str, v: &Bound<'_, PyAny>) -> Result<Vec<AuditEntry>, StoreError> {
    let list = v
        .try_iter()
        .map_err(|_| malformed(method, "something that is not a list of audit entries"))?;
    let mut out = Vec::new();
    for item in list {
        let item = item.map_err(|_| malformed(method, "a list that cannot be iterated"))?;
        out.push(entry_from(method, &item)?);
    }
    Ok(out)
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
        entry_dict(py, &entry)
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

/// A [`DocumentStore`] backed by a Python object.
pub struct PyStore {
    obj: Py<PyAny>,
}

impl PyStore {
    pub fn new(obj: Py<PyAny>) -> PyStore {
        PyStore { obj }
    }

    /// Calls `method` with `args` and converts its answer, all under the GIL.
    fn call<T>(
        &self,
        method: &str,
        args: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, PyTuple>>,
        convert: impl FnOnce(&Bound<'_, PyAny>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        Python::attach(|py| {
            let args = args(py).map_err(|e| store_error(py, method, &e))?;
            let answer = self
                .obj
                .bind(py)
                .call_method1(method, args)
                .map_err(|e| store_error(py, method, &e))?;
            convert(&answer)
        })
    }
}

fn optional<T>(
    v: &Bound<'_, PyAny>,
    f: impl FnOnce(&Bound<'_, PyAny>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    if v.is_none() {
        Ok(None)
    } else {
        f(v).map(Some)
    }
}

impl DocumentStore for PyStore {
    fn current(&self, tenant: &str, kind: DocKind) -> Result<Option<Pointer>, StoreError> {
        self.call(
            "current",
            |py| PyTuple::new(py, [tenant, kind_text(kind)]),
            |v| optional(v, |v| pointer_from("current", v)),
        )
    }

    fn get_version(
        &self,
        tenant: &str,
        kind: DocKind,
        etag: &str,
    ) -> Result<Option<StoredVersion>, StoreError> {
        self.call(
            "get_version",
            |py| PyTuple::new(py, [tenant, kind_text(kind), etag]),
            |v| optional(v, |v| version_from("get_version", v)),
        )
    }

    fn put_version(
        &self,
        tenant: &str,
        kind: DocKind,
        version: &StoredVersion,
    ) -> Result<bool, StoreError> {
        self.call(
            "put_version",
            |py| {
                let items: [Bound<'_, PyAny>; 3] = [
                    tenant.into_pyobject(py)?.into_any(),
                    kind_text(kind).into_pyobject(py)?.into_any(),
                    version_dict(py, version)?.into_any(),
                ];
                PyTuple::new(py, items)
            },
            |v| {
                v.cast::<pyo3::types::PyBool>()
                    .map(|b| b.is_true())
                    .map_err(|_| malformed("put_version", "something that is not a bool"))
            },
        )
    }

    fn list_versions(&self, tenant: &str, kind: DocKind) -> Result<Vec<StoredVersion>, StoreError> {
        self.call(
            "list_versions",
            |py| PyTuple::new(py, [tenant, kind_text(kind)]),
            |v| {
                let it = v
                    .try_iter()
                    .map_err(|_| malformed("list_versions", "something that is not a list"))?;
                let mut out = Vec::new();
                for item in it {
                    let item = item.map_err(|_| {
                        malformed("list_versions", "a list that cannot be iterated")
                    })?;
                    out.push(version_from("list_versions", &item)?);
                }
                Ok(out)
            },
        )
    }

    fn compare_and_swap(
        &self,
        tenant: &str,
        swap: &PointerSwap,
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        self.call(
            "compare_and_swap",
            |py| {
                let items: [Bound<'_, PyAny>; 3] = [
                    tenant.into_pyobject(py)?.into_any(),
                    swap_dict(py, swap)?.into_any(),
                    Bound::new(py, PyAuditDraft { draft: audit })?.into_any(),
                ];
                PyTuple::new(py, items)
            },
            |v| optional(v, |v| entry_from("compare_and_swap", v)),
        )
    }

    /// Forwarded to the store's `compare_and_swap_all(tenant, swaps, draft)` when it has one
    /// (releases need it); without it, the core's refusal.
    fn compare_and_swap_all(
        &self,
        tenant: &str,
        swaps: &[PointerSwap],
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let has = Python::attach(|py| {
            self.obj
                .bind(py)
                .hasattr("compare_and_swap_all")
                .unwrap_or(false)
        });
        if !has {
            return Err(StoreError::other(
                "this document store has no compare_and_swap_all method; releases need it",
            ));
        }
        self.call(
            "compare_and_swap_all",
            |py| {
                let list = pyo3::types::PyList::new(
                    py,
                    swaps
                        .iter()
                        .map(|s| swap_dict(py, s))
                        .collect::<PyResult<Vec<_>>>()?,
                )?;
                let items: [Bound<'_, PyAny>; 3] = [
                    tenant.into_pyobject(py)?.into_any(),
                    list.into_any(),
                    Bound::new(py, PyAuditDraft { draft: audit })?.into_any(),
                ];
                PyTuple::new(py, items)
            },
            |v| optional(v, |v| entry_from("compare_and_swap_all", v)),
        )
    }

    fn append_audit(&self, tenant: &str, audit: AuditDraft) -> Result<AuditEntry, StoreError> {
        self.call(
            "append_audit",
            |py| {
                let items: [Bound<'_, PyAny>; 2] = [
                    tenant.into_pyobject(py)?.into_any(),
                    Bound::new(py, PyAuditDraft { draft: audit })?.into_any(),
                ];
                PyTuple::new(py, items)
            },
            |v| entry_from("append_audit", v),
        )
    }

    fn list_audit(
        &self,
        tenant: &str,
        before: Option<AuditKey>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.call(
            "list_audit",
            |py| {
                let before = match &before {
                    Some(k) => key_dict(py, k)?.into_any(),
                    None => py.None().into_bound(py),
                };
                let items: [Bound<'_, PyAny>; 3] = [
                    tenant.into_pyobject(py)?.into_any(),
                    before,
                    limit.into_pyobject(py)?.into_any(),
                ];
                PyTuple::new(py, items)
            },
            |v| entries_from("list_audit", v),
        )
    }

    fn audit_chain(
        &self,
        tenant: &str,
        after_id: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.call(
            "audit_chain",
            |py| {
                let after = match after_id {
                    Some(a) => a.into_pyobject(py)?.into_any(),
                    None => py.None().into_bound(py),
                };
                let items: [Bound<'_, PyAny>; 3] = [
                    tenant.into_pyobject(py)?.into_any(),
                    after,
                    limit.into_pyobject(py)?.into_any(),
                ];
                PyTuple::new(py, items)
            },
            |v| entries_from("audit_chain", v),
        )
    }

    fn revision(&self, tenant: &str) -> Result<u64, StoreError> {
        self.call(
            "revision",
            |py| PyTuple::new(py, [tenant]),
            |v| {
                if v.is_instance_of::<pyo3::types::PyBool>() {
                    return Err(malformed("revision", "a bool instead of an integer"));
                }
                v.extract::<u64>().map_err(|_| {
                    malformed("revision", "something that is not a non-negative integer")
                })
            },
        )
    }

    fn changes_since(
        &self,
        tenant: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.call(
            "changes_since",
            |py| {
                let items: [Bound<'_, PyAny>; 3] = [
                    tenant.into_pyobject(py)?.into_any(),
                    since.into_pyobject(py)?.into_any(),
                    limit.into_pyobject(py)?.into_any(),
                ];
                PyTuple::new(py, items)
            },
            |v| entries_from("changes_since", v),
        )
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
