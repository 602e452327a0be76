//! [`Documents`]: the typed input of [`Engine::load_snapshot`] (a tenant's config, rules,
//! manifest and artifact bytes for one surface), and [`LoadReport`], what a load produced.

use super::Engine;
use crate::compile::{self, CompileReport};
use crate::error::{ApiError, Problem};
use crate::json::{Map, Value};
use crate::snapshot::TenantSnapshot;
use std::sync::Arc;

/// A document given to [`Documents`]: a parsed [`Value`], or JSON text (parsed with the
/// engine's bounded parser; number literals are kept as written).
pub trait IntoDocument {
    /// The document as a value, or why the text is not JSON.
    fn into_document(self) -> Result<Value, ApiError>;
}

impl IntoDocument for Value {
    fn into_document(self) -> Result<Value, ApiError> {
        Ok(self)
    }
}

impl IntoDocument for &Value {
    fn into_document(self) -> Result<Value, ApiError> {
        Ok(self.clone())
    }
}

impl IntoDocument for &str {
    fn into_document(self) -> Result<Value, ApiError> {
        Ok(crate::json::parse_with(
            self.as_bytes(),
            crate::json::Limits::document(),
        )?)
    }
}

impl IntoDocument for String {
    fn into_document(self) -> Result<Value, ApiError> {
        self.as_str().into_document()
    }
}

impl IntoDocument for &String {
    fn into_document(self) -> Result<Value, ApiError> {
        self.as_str().into_document()
    }
}

/// What to load for one (tenant, surface). A member left out keeps what the tenant already
/// has (loading artifacts never undoes a config or rules write).
///
/// ```
/// use recsys_core::{Documents, Engine};
///
/// // The example tenant of `examples/data` (doc tests run from `recsys-core/`).
/// let data = std::path::Path::new("../examples/data");
/// let key = "demo/home/popularity/64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c.json";
/// let uri = format!("s3://recsys-artifacts/{key}");
/// let manifest = format!(
///     r#"{{"v": 1, "tenant": "demo", "surface": "home", "current": {{"popularity": "{uri}"}}}}"#
/// );
/// let engine = Engine::builder().build()?;
/// let report = engine.load_snapshot(
///     Documents::new("demo", "home")
///         .config(r#"{"weights": {"pop": 1}}"#)
///         .rules("[]")
///         .manifest(manifest)
///         .artifact(uri, std::fs::read(data.join("objectstore").join(key)).unwrap()),
/// )?;
/// assert!(report.items() > 0);
/// assert!(report.config_version().is_some());
/// assert_eq!(report.rules_loaded(), 0);
/// # Ok::<(), recsys_core::ApiError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Documents {
    /// The first document that was not JSON (reported by [`Engine::load_snapshot`]).
    error: Option<ApiError>,
    tenant: String,
    surface: String,
    config: Option<Value>,
    rules: Option<Value>,
    manifest: Option<Value>,
    artifacts: Vec<(String, Vec<u8>)>,
    signals: Option<Value>,
}

impl Documents {
    /// Documents for `surface` of `tenant` (both must be path-safe names).
    pub fn new(tenant: impl Into<String>, surface: impl Into<String>) -> Documents {
        Documents {
            tenant: tenant.into(),
            surface: surface.into(),
            ..Documents::default()
        }
    }

    /// The tenant's config document (validated strictly; it replaces the current one).
    pub fn config(mut self, config: impl IntoDocument) -> Documents {
        self.config = self.take(config.into_document());
        self
    }

    /// The tenant's rules document (parsed leniently: a rule serving cannot understand is
    /// dropped and reported).
    pub fn rules(mut self, rules: impl IntoDocument) -> Documents {
        self.rules = self.take(rules.into_document());
        self
    }

    /// The surface's artifact manifest (v1: `{"v", "tenant", "surface", "current": {kind: uri}}`).
    pub fn manifest(mut self, manifest: impl IntoDocument) -> Documents {
        self.manifest = self.take(manifest.into_document());
        self
    }

    /// The bytes of an artifact the manifest names, by its URI (JSON text; verified against
    /// its version hash and the engine's artifact limits).
    pub fn artifact(mut self, uri: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Documents {
        self.artifacts.push((uri.into(), bytes.into()));
        self
    }

    /// DB-only mode: signals the host supplies instead of (or besides) artifacts. Every
    /// member is optional and makes that signal available:
    ///
    /// ```json
    /// { "popularity": [{"item_id": "a", "score": 2}],
    ///   "cooc":       [{"item_id": "a", "items": [{"item_id": "b", "score": 3}]}],
    ///   "implicit":   [{"user_id": "u", "items": [{"item_id": "b", "score": 1}]}],
    ///   "session":    [{"user_id": "u", "items": [{"item_id": "c", "score": 1}]}],
    ///   "tags":       [{"item_id": "a", "tags": ["brand:acme", "red"]}] }
    /// ```
    pub fn signals(mut self, signals: impl IntoDocument) -> Documents {
        self.signals = self.take(signals.into_document());
        self
    }

    /// Keeps a document, or its error (the first one) for [`Engine::load_snapshot`].
    fn take(&mut self, doc: Result<Value, ApiError>) -> Option<Value> {
        match doc {
            Ok(v) => Some(v),
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    /// Converts to the `load_snapshot` input the JSON call takes (artifact bytes become JSON
    /// strings holding their text).
    fn to_value(&self) -> Result<Value, ApiError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut m = Map::new();
        m.push("tenant", Value::str(&self.tenant));
        m.push("surface", Value::str(&self.surface));
        for (k, v) in [
            ("config", &self.config),
            ("rules", &self.rules),
            ("manifest", &self.manifest),
            ("signals", &self.signals),
        ] {
            if let Some(v) = v {
                m.push(k, v.clone());
            }
        }
        if !self.artifacts.is_empty() {
            let mut a = Map::with_capacity(self.artifacts.len());
            for (uri, bytes) in &self.artifacts {
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    ApiError::new(
                        crate::error::ErrorCode::JsonInvalidUtf8,
                        format!("artifact {uri:?} is not utf-8"),
                    )
                })?;
                a.push(uri.clone(), Value::str(text));
            }
            m.push("artifacts", Value::Object(a));
        }
        Ok(Value::Object(m))
    }
}

/// What [`Engine::load_snapshot`] installed: the snapshot now serving the surface, and the
/// compile report (warnings, rules loaded and dropped).
#[derive(Clone)]
pub struct LoadReport {
    snapshot: Arc<TenantSnapshot>,
    report: Arc<CompileReport>,
}

impl std::fmt::Debug for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadReport")
            .field("tenant", &self.tenant())
            .field("surface", &self.surface())
            .field("items", &self.items())
            .field("warnings", &self.warnings().len())
            .finish_non_exhaustive()
    }
}

impl LoadReport {
    /// The tenant loaded.
    pub fn tenant(&self) -> &str {
        &self.snapshot.tenant
    }

    /// The surface loaded.
    pub fn surface(&self) -> &str {
        &self.snapshot.surface
    }

    /// Items in the surface's catalog.
    pub fn items(&self) -> usize {
        self.snapshot.catalog_len()
    }

    /// The ETag of the config serving, if any.
    pub fn config_version(&self) -> Option<&str> {
        self.snapshot.versions.config_version.as_deref()
    }

    /// The ETag of the rules serving, if any.
    pub fn rules_version(&self) -> Option<&str> {
        self.snapshot.versions.rules_version.as_deref()
    }

    /// The version of the manifest serving, if any.
    pub fn manifest_version(&self) -> Option<&str> {
        self.snapshot.versions.manifest_version.as_deref()
    }

    /// Rules parsed from the rules document.
    pub fn rules_loaded(&self) -> usize {
        self.report.rules_loaded
    }

    /// Rules serving could not understand, with index and reason.
    pub fn rules_dropped(&self) -> &[Problem] {
        &self.report.rules_dropped
    }

    /// Warnings: unknown config members, artifact and catalog notes.
    pub fn warnings(&self) -> &[Problem] {
        &self.report.warnings
    }

    /// The `load_snapshot` JSON answer.
    pub fn to_value(&self) -> Value {
        compile::report_value(&self.snapshot, &self.report)
    }
}

impl Engine {
    /// Verifies the artifacts, validates the documents, compiles the surface's snapshot and
    /// serves it (the tenant's other surfaces are recompiled when its config or rules
    /// changed). Nothing changes when any part is invalid.
    pub fn load_snapshot(&self, documents: Documents) -> Result<LoadReport, ApiError> {
        let v = documents.to_value()?;
        let _busy = self.enter()?;
        self.load_value(&v)
    }

    /// `load_snapshot` on the JSON input (the caller holds the adapter guard).
    pub(crate) fn load_value(&self, v: &Value) -> Result<LoadReport, ApiError> {
        let docs = compile::Documents::from_value(v)?;
        let (snapshot, report) = self.load_documents(&docs)?;
        Ok(LoadReport {
            snapshot,
            report: Arc::new(report),
        })
    }
}
