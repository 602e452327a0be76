//! [`Documents`]: the typed input of [`Engine::load_snapshot`] (a tenant's config, rules,
//! manifest and artifact bytes for one surface), and [`LoadReport`], what a load produced.

use super::Engine;
use crate::compile::{self, ArtifactSet, BlobText, Blobs, CompileReport, RawBlob};
use crate::error::{ApiError, Problem};
use crate::json::{self, Map, Value};
use crate::snapshot::TenantSnapshot;
use std::collections::{BTreeMap, BTreeSet};
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
    ///
    /// ```
    /// use recsys_core::{Documents, Engine};
    ///
    /// let engine = Engine::builder().build()?;
    /// engine.load_snapshot(Documents::new("demo", "home").signals(r#"{"popularity": []}"#))?;
    /// assert!(engine.snapshot("demo", "home").is_some());
    /// let err = engine.load_snapshot(Documents::new("demo", "../etc").signals("{}")).unwrap_err();
    /// assert_eq!(err.status, 400);                          // not a path-safe name
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn new(tenant: impl Into<String>, surface: impl Into<String>) -> Documents {
        Documents {
            tenant: tenant.into(),
            surface: surface.into(),
            ..Documents::default()
        }
    }

    /// The tenant's config document (validated strictly; it replaces the current one).
    ///
    /// ```
    /// use recsys_core::{Documents, Engine};
    ///
    /// let engine = Engine::builder().build()?;
    /// let report = engine.load_snapshot(Documents::new("demo", "home")
    ///     .config(r#"{"weights": {"pop": 1}}"#).signals(r#"{"popularity": []}"#))?;
    /// assert!(report.config_version().is_some());
    /// let bad = Documents::new("demo", "home").config(r#"{"weights": {"pop": -1}}"#);
    /// assert_eq!(engine.load_snapshot(bad).unwrap_err().code, "RECSYS_INVALID_CONFIG");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn config(mut self, config: impl IntoDocument) -> Documents {
        self.config = self.take(config.into_document());
        self
    }

    /// The tenant's rules document (parsed leniently: a rule serving cannot understand is
    /// dropped and reported).
    ///
    /// ```
    /// use recsys_core::{Documents, Engine};
    ///
    /// let engine = Engine::builder().build()?;
    /// let report = engine.load_snapshot(Documents::new("demo", "home")
    ///     .rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    ///     .signals(r#"{"popularity": []}"#))?;
    /// assert_eq!(report.rules_loaded(), 1);
    /// assert!(!report.rules_dropped().is_empty());          // the rule serving cannot understand
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn rules(mut self, rules: impl IntoDocument) -> Documents {
        self.rules = self.take(rules.into_document());
        self
    }

    /// The surface's artifact manifest (v1: `{"v", "tenant", "surface", "current": {kind: uri}}`).
    ///
    /// ```
    /// use recsys_core::{Documents, Engine};
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}, {"item_id": "b", "count": 1}],
    /// #     "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// let engine = Engine::builder().build()?;
    /// let report = engine.load_snapshot(Documents::new("demo", "home").manifest(manifest).artifact(uri, artifact))?;
    /// assert_eq!(report.items(), 2);
    /// assert!(report.manifest_version().is_some());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn manifest(mut self, manifest: impl IntoDocument) -> Documents {
        self.manifest = self.take(manifest.into_document());
        self
    }

    /// The bytes of an artifact the manifest names, by its URI (JSON text; verified against
    /// its version hash and the engine's artifact limits).
    ///
    /// ```
    /// use recsys_core::{Documents, Engine};
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}, {"item_id": "b", "count": 1}],
    /// #     "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// let engine = Engine::builder().build()?;
    /// // Bytes that do not hash to the version the URI names are refused; nothing changes.
    /// let tampered = artifact.replace(r#""count": 3"#, r#""count": 30"#);
    /// let docs = Documents::new("demo", "home").manifest(manifest.as_str()).artifact(uri.as_str(), tampered);
    /// assert!(engine.load_snapshot(docs).is_err());
    /// engine.load_snapshot(Documents::new("demo", "home").manifest(manifest).artifact(uri, artifact))?;
    /// assert_eq!(engine.snapshot("demo", "home").map(|s| s.items()), Some(2));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
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

    /// The documents as the `load_snapshot` JSON call takes them, without the artifacts
    /// (handed over as bytes, see [`Engine::load_snapshot`]); fails on the first document that
    /// was not JSON, then on the first artifact that is not UTF-8.
    fn envelope_value(&self) -> Result<Value, ApiError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        for (uri, bytes) in &self.artifacts {
            if std::str::from_utf8(bytes).is_err() {
                return Err(ApiError::new(
                    crate::error::ErrorCode::JsonInvalidUtf8,
                    format!("artifact {uri:?} is not utf-8"),
                ));
            }
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
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// assert_eq!(report.tenant(), "demo");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn tenant(&self) -> &str {
        &self.snapshot.tenant
    }

    /// The surface loaded.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// assert_eq!(report.surface(), "home");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn surface(&self) -> &str {
        &self.snapshot.surface
    }

    /// Items in the surface's catalog.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// assert_eq!(report.items(), 2);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn items(&self) -> usize {
        self.snapshot.catalog_len()
    }

    /// The ETag of the config serving, if any.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// let etag = recsys_core::call_static("etag", r#"{"weights": {"pop": 1}}"#)?;
    /// assert!(etag.contains(report.config_version().unwrap()));   // the config's ETag
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn config_version(&self) -> Option<&str> {
        self.snapshot.versions.config_version.as_deref()
    }

    /// The ETag of the rules serving, if any.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// assert_eq!(report.rules_version().map(str::len), Some(64));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn rules_version(&self) -> Option<&str> {
        self.snapshot.versions.rules_version.as_deref()
    }

    /// The version of the manifest serving, if any.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// assert_eq!(report.manifest_version(), None);          // DB-only signals, no manifest
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn manifest_version(&self) -> Option<&str> {
        self.snapshot.versions.manifest_version.as_deref()
    }

    /// Rules parsed from the rules document.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// assert_eq!(report.rules_loaded(), 1);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn rules_loaded(&self) -> usize {
        self.report.rules_loaded
    }

    /// Rules serving could not understand, with index and reason.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// assert!(!report.rules_dropped().is_empty());          // the "explode" rule
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn rules_dropped(&self) -> &[Problem] {
        &self.report.rules_dropped
    }

    /// Warnings: unknown config members, artifact and catalog notes.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// assert!(report.warnings().is_empty());
    /// let disabled = r#"[{"action": "block", "item_ids": ["a"], "enabled": false}]"#;
    /// let report = engine.load_snapshot(Documents::new("demo", "home").rules(disabled))?;
    /// assert!(!report.warnings().is_empty(), "a disabled rule is reported");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn warnings(&self) -> &[Problem] {
        &self.report.warnings
    }

    /// The `load_snapshot` JSON answer.
    ///
    /// ```
    /// use recsys_core::{Documents, Engine};
    ///
    /// let engine = Engine::builder().build()?;
    /// let report = engine.load_snapshot(Documents::new("demo", "home").signals(r#"{"popularity": [{"item_id": "a", "score": 1}]}"#))?;
    /// let text = recsys_core::json::to_string(&report.to_value());
    /// assert!(text.contains(r#""tenant":"demo""#) && text.contains(r#""items":1"#), "{text}");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn to_value(&self) -> Value {
        compile::report_value(&self.snapshot, &self.report)
    }
}

impl Engine {
    /// Verifies the artifacts, validates the documents, compiles the surface's snapshot and
    /// serves it (the tenant's other surfaces are recompiled when its config or rules
    /// changed). Nothing changes when any part is invalid.
    ///
    /// Artifacts go from their bytes straight into the snapshot's columns (as through the
    /// loader's step API): they are never copied into a JSON value.
    ///
    /// ```
    /// use recsys_core::{Documents, Engine};
    ///
    /// let engine = Engine::builder().build()?;
    /// let report = engine.load_snapshot(
    ///     Documents::new("demo", "home")
    ///         .config(r#"{"weights": {"pop": 1}}"#)
    ///         .rules(r#"[{"action": "block", "item_ids": ["b"]}]"#)
    ///         .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#),
    /// )?;
    /// assert_eq!((report.items(), report.rules_loaded()), (2, 1));
    /// assert!(report.config_version().is_some());
    /// // An invalid part changes nothing.
    /// assert!(engine.load_snapshot(Documents::new("demo", "home").config("{")).is_err());
    /// assert_eq!(engine.snapshot("demo", "home").map(|s| s.items()), Some(2));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn load_snapshot(&self, documents: Documents) -> Result<LoadReport, ApiError> {
        let v = documents.envelope_value()?;
        let _busy = self.enter()?;
        let mut docs = compile::Documents::from_value(&v)?;
        let blobs: Vec<RawBlob> = documents
            .artifacts
            .iter()
            .map(|(uri, bytes)| RawBlob {
                uri,
                text: BlobText::Bytes(bytes),
            })
            .collect();
        if !blobs.is_empty() {
            docs.artifacts = Some(Blobs::Raw(&blobs));
        }
        self.report(self.load_documents(&docs)?)
    }

    /// `load_snapshot` on the JSON text of a call ([`Engine::call`]). The artifacts embedded in
    /// it are cut out of the text, never parsed into a tree: an object is loaded from its text
    /// in one pass, a string is unescaped once and loaded like bytes. Any error, and any
    /// document that path does not take, loads the call the exact way instead (parsed whole,
    /// as [`Engine::call_value`] does), so answers and errors are the same either way.
    pub(crate) fn load_text(&self, input: &str) -> Result<LoadReport, ApiError> {
        crate::snapshot::parallel::with_threads(self.load_threads(), || self.load_call(input))
    }

    /// [`Engine::load_text`] within its thread budget.
    fn load_call(&self, input: &str) -> Result<LoadReport, ApiError> {
        let limits = compile::call_limits(&self.options().artifact_limits);
        if let Some((v, raw)) = json::parse_with_raw_members(input.as_bytes(), limits, "artifacts")
        {
            let _busy = self.enter()?;
            if let Some(done) = self.load_spans(input, &v, &raw, limits) {
                return done;
            }
            #[cfg(test)]
            embedded_tests::EXACT_LOADS.with(|n| n.set(n.get() + 1));
            return self.load_value(&json::parse_with(input.as_bytes(), limits)?);
        }
        #[cfg(test)]
        embedded_tests::EXACT_LOADS.with(|n| n.set(n.get() + 1));
        let v = json::parse_with(input.as_bytes(), limits)?;
        let _busy = self.enter()?;
        self.load_value(&v)
    }

    /// The cut-out path of [`Engine::load_text`]; `None` when the exact path must answer.
    fn load_spans(
        &self,
        input: &str,
        v: &Value,
        raw: &[json::RawMember],
        limits: json::Limits,
    ) -> Option<Result<LoadReport, ApiError>> {
        let blobs: Vec<RawBlob> = raw
            .iter()
            .map(|m| {
                let text = input.get(m.value.clone()).unwrap_or_default();
                RawBlob {
                    uri: &m.name,
                    text: if text.starts_with('"') {
                        BlobText::String(text)
                    } else {
                        BlobText::Object(text)
                    },
                }
            })
            .collect();
        let mut docs = compile::Documents::from_value(v).ok()?;
        if docs.artifacts.is_some() {
            docs.artifacts = Some(Blobs::Raw(&blobs));
        }
        let set = compile::artifact_set(&docs, &self.options().artifact_limits).ok()?;
        // The call is JSON only if the artifacts nothing loaded are.
        if !unloaded_are_json(&blobs, &set, limits) {
            return None;
        }
        Some(
            self.install_documents(&docs, set)
                .and_then(|done| self.report(done)),
        )
    }

    fn report(
        &self,
        (snapshot, report): (Arc<TenantSnapshot>, CompileReport),
    ) -> Result<LoadReport, ApiError> {
        Ok(LoadReport {
            snapshot,
            report: Arc::new(report),
        })
    }

    /// `load_snapshot` on the JSON input (the caller holds the adapter guard).
    pub(crate) fn load_value(&self, v: &Value) -> Result<LoadReport, ApiError> {
        let docs = compile::Documents::from_value(v)?;
        self.report(self.load_documents(&docs)?)
    }
}

/// Whether every embedded artifact the load did not read (not named by the manifest, or an
/// earlier one of a repeated URI) is JSON, as a parsed call would have checked. Each sits two
/// levels deep in the call.
fn unloaded_are_json(blobs: &[RawBlob], set: &ArtifactSet, limits: json::Limits) -> bool {
    let loaded: BTreeSet<&str> = set.artifacts.values().map(|a| a.uri.as_str()).collect();
    let last: BTreeMap<&str, usize> = blobs.iter().enumerate().map(|(i, b)| (b.uri, i)).collect();
    let limits = json::Limits {
        max_bytes: usize::MAX,
        max_depth: limits.max_depth.saturating_sub(2),
        ..limits
    };
    blobs.iter().enumerate().all(|(i, b)| {
        let read = last.get(b.uri) == Some(&i) && loaded.contains(b.uri);
        match b.text {
            _ if read => true,
            BlobText::Object(t) | BlobText::String(t) => {
                json::parse_with(t.as_bytes(), limits).is_ok()
            }
            BlobText::Bytes(_) => true,
        }
    })
}

#[cfg(test)]
mod embedded_tests;
