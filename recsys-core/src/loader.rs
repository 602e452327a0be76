//! Artifact lifecycle: manifest refresh on a TTL or on invalidation, fetching only artifacts
//! whose URI changed, verification, last-known-good, held empty publishes, pins (artifact
//! rollback), freshness and readiness.
//!
//! The core never does I/O or keeps time. The host drives the loop in steps — ask what is due
//! ([`Engine::loader_due`]), fetch the manifest, hand over the bytes
//! ([`Engine::loader_apply_manifest`]), fetch the artifacts it asks for, hand those over
//! ([`Engine::loader_apply_artifacts`]) — or calls the convenience driver
//! [`Engine::refresh_due`] with an [`ArtifactReader`] it implements.
//!
//! Last-known-good: a missing, unreadable, corrupt or hash-mismatched manifest or artifact
//! never replaces what is serving; the failure is recorded and surfaced in readiness. A
//! publish that would replace a non-empty artifact with an empty one is held (configurable)
//! until released.

use crate::artifacts::{ArtifactKind, ArtifactLimits};
use crate::compile::{
    load_blob, parse_manifest_doc, ArtifactSet, LoadedArtifact, ManifestInfo, TenantDocs,
};
use crate::engine::Engine;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{Map, Value};
use crate::ops::metrics;
use crate::request::is_path_safe;
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a host read of one URI produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// The bytes (at most `max_bytes`).
    Found(Vec<u8>),
    /// Nothing at that URI.
    NotFound,
    /// An I/O or transport failure (message for operators).
    Error(String),
}

/// Host adapter: read the bytes at a URI, at most `max_bytes` (return `Error` when larger).
pub trait ArtifactReader: Send + Sync {
    /// Reads `uri`, at most `max_bytes` of it.
    fn read(&self, uri: &str, max_bytes: usize) -> Fetch;
}

/// A validated manifest location template with `{tenant}` and `{surface}` placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestTemplate(String);

/// URI schemes a template may use.
pub const ALLOWED_SCHEMES: &[&str] = &["s3", "file", "gs", "https", "mem"];

impl ManifestTemplate {
    /// Validates a template: an allowed scheme (or a relative path), `{surface}` present, no
    /// `..` segment, no other `{...}` placeholder.
    pub fn parse(s: &str) -> Result<ManifestTemplate, ApiError> {
        let bad = |m: String| ApiError::new(ErrorCode::InvalidTemplate, m);
        let t = s.trim();
        if t.is_empty() {
            return Err(bad("manifest template is empty".into()));
        }
        if let Some((scheme, _)) = t.split_once("://") {
            if !ALLOWED_SCHEMES.contains(&scheme) {
                return Err(bad(format!(
                    "manifest template scheme {scheme:?} is not one of {ALLOWED_SCHEMES:?}"
                )));
            }
        } else if t.starts_with('/') || t.contains(':') {
            return Err(bad(format!(
                "manifest template {t:?} must be a relative path or use a scheme"
            )));
        }
        if !t.contains("{surface}") {
            return Err(bad(format!(
                "manifest template {t:?} must contain {{surface}}"
            )));
        }
        let stripped = t.replace("{tenant}", "").replace("{surface}", "");
        if stripped.contains('{') || stripped.contains('}') {
            return Err(bad(format!(
                "manifest template {t:?} has an unknown placeholder"
            )));
        }
        let path = t.split_once("://").map(|(_, p)| p).unwrap_or(t);
        if path.split('/').any(|seg| seg == "..") {
            return Err(bad(format!(
                "manifest template {t:?} contains a '..' segment"
            )));
        }
        Ok(ManifestTemplate(t.to_string()))
    }

    /// The manifest URI of (tenant, surface); both must be path-safe segments.
    pub fn render(&self, tenant: &str, surface: &str) -> Result<String, ApiError> {
        for (what, v) in [("tenant", tenant), ("surface", surface)] {
            if !is_path_safe(v) || v.trim() != v {
                return Err(ApiError::new(
                    ErrorCode::InvalidPathSegment,
                    format!("{what} {v:?} is not a safe path segment"),
                ));
            }
        }
        Ok(self
            .0
            .replace("{tenant}", tenant)
            .replace("{surface}", surface))
    }
}

/// One recorded load failure.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// `manifest` or an artifact kind.
    pub kind: String,
    pub uri: String,
    pub code: String,
    pub error: String,
    pub at: Timestamp,
}

impl Failure {
    pub(crate) fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("kind", Value::str(&self.kind));
        m.push("uri", Value::str(&self.uri));
        m.push("code", Value::str(&self.code));
        m.push("error", Value::str(&self.error));
        m.push("at", Value::str(self.at.to_rfc3339()));
        Value::Object(m)
    }
}

/// A publish that was not applied because it would replace a non-empty artifact with an
/// empty one.
#[derive(Clone, Debug)]
pub struct Held {
    pub artifact: Arc<LoadedArtifact>,
    pub at: Timestamp,
}

/// Loader state of one tenant/surface.
#[derive(Debug, Default)]
pub struct SurfaceState {
    /// What is serving (last known good).
    pub set: ArtifactSet,
    /// Whether a snapshot for this surface has been installed.
    pub loaded: bool,
    /// Refreshed by the loader (tracked) or only through `load_snapshot`.
    pub tracked: bool,
    /// When the next refresh is due; `None` = now.
    pub next_due: Option<Timestamp>,
    pub last_refresh: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    /// Most recent failures first, at most [`MAX_FAILURES`].
    pub failures: Vec<Failure>,
    pub held: BTreeMap<ArtifactKind, Held>,
    /// Pinned to a manifest given by an operator (artifact rollback): refreshes are skipped.
    pub pinned: Option<Timestamp>,
    /// A manifest waiting for its artifacts.
    pub(crate) pending: Option<ManifestInfo>,
    /// Generation of the last change that needs this surface's snapshot rebuilt.
    pub(crate) gen: u64,
    /// Artifacts of the pending manifest handed over one at a time
    /// ([`Engine::loader_stage_artifact`]), already verified, by URI.
    pub(crate) staged: BTreeMap<String, Result<Arc<LoadedArtifact>, ApiError>>,
}

/// Failures kept per surface.
pub const MAX_FAILURES: usize = 20;

impl SurfaceState {
    /// Artifact kinds the serving manifest names that are not serving (failed verification
    /// or could not be read, with nothing older to keep serving).
    pub fn missing(&self) -> Vec<&'static str> {
        let Some(m) = &self.set.manifest else {
            return Vec::new();
        };
        ArtifactKind::ALL
            .into_iter()
            .filter(|k| m.manifest.uri(*k).is_some() && !self.set.artifacts.contains_key(k))
            .map(|k| k.as_str())
            .collect()
    }

    pub(crate) fn fail(&mut self, kind: &str, uri: &str, code: &str, error: String, at: Timestamp) {
        self.failures.insert(
            0,
            Failure {
                kind: kind.into(),
                uri: uri.into(),
                code: code.into(),
                error,
                at,
            },
        );
        self.failures.truncate(MAX_FAILURES);
    }
}

/// Loader settings (part of the engine options).
#[derive(Clone, Debug, PartialEq)]
pub struct LoaderOptions {
    pub manifest_template: Option<ManifestTemplate>,
    /// Seconds between manifest refreshes (default 60).
    pub manifest_ttl_seconds: i64,
    /// Age beyond which artifacts are stale (0 = never stale; default 0).
    pub max_artifact_age_seconds: i64,
    /// Hold publishes that would replace a non-empty artifact with an empty one (default true).
    pub hold_empty_publishes: bool,
}

impl Default for LoaderOptions {
    fn default() -> LoaderOptions {
        LoaderOptions {
            manifest_template: None,
            manifest_ttl_seconds: 60,
            max_artifact_age_seconds: 0,
            hold_empty_publishes: true,
        }
    }
}

/// The outcome of one refresh step, as reported to the host.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Fetch these URIs and call `loader_apply_artifacts`.
    Fetch(Vec<String>),
    /// Nothing more to do; the report says what happened.
    Done(Value),
}

/// Engine-side state behind the write lock: tenants' documents and surfaces' artifacts.
///
/// Nothing expensive happens while it is locked: documents are validated and artifacts
/// verified before, snapshots assembled after (see `Engine::rebuild`). Generations order the
/// writers: every change to a tenant's documents or to a surface's artifacts takes a new one.
#[derive(Debug, Default)]
pub struct SourceState {
    pub docs: BTreeMap<String, Arc<TenantDocs>>,
    pub surfaces: BTreeMap<(String, String), SurfaceState>,
    /// Generation of each tenant's documents (absent = never written).
    pub(crate) doc_gens: BTreeMap<String, u64>,
    /// The last generation handed out.
    pub(crate) gen: u64,
    /// Per tenant, a release waiting for artifacts the host is fetching
    /// ([`crate::release::stage`]).
    pub(crate) releases: BTreeMap<String, crate::release::stage::PendingRelease>,
}

fn key(t: &str, s: &str) -> (String, String) {
    (t.to_string(), s.to_string())
}

fn report(
    tenant: &str,
    surface: &str,
    outcome: &str,
    detail: Option<String>,
    st: &SurfaceState,
) -> Value {
    let mut m = Map::new();
    m.push("tenant", Value::str(tenant));
    m.push("surface", Value::str(surface));
    m.push("outcome", Value::str(outcome));
    if let Some(d) = detail {
        m.push("detail", Value::String(d));
    }
    if let Some(mi) = &st.set.manifest {
        m.push("manifest_version", Value::str(&mi.version));
    }
    let mut held = Vec::new();
    for (k, h) in &st.held {
        let mut hm = Map::new();
        hm.push("kind", Value::str(k.as_str()));
        hm.push("uri", Value::str(&h.artifact.uri));
        hm.push("version", Value::str(h.artifact.version()));
        held.push(Value::Object(hm));
    }
    if !held.is_empty() {
        m.push("held", Value::Array(held));
    }
    if !st.failures.is_empty() && outcome != "swapped" {
        m.push(
            "failures",
            Value::Array(st.failures.iter().take(5).map(Failure::to_value).collect()),
        );
    }
    let missing = st.missing();
    if !missing.is_empty() {
        m.push(
            "missing",
            Value::Array(missing.into_iter().map(Value::str).collect()),
        );
    }
    Value::Object(m)
}

impl Engine {
    /// Starts refreshing (tenant, surface) from the manifest template.
    ///
    /// The engine-level form of [`Loader::track`](crate::engine::Loader::track) (fuller example there).
    ///
    /// ```
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// assert_eq!(engine.loader_track("demo", "home")?, engine.loader().track("demo", "home")?);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader_track(&self, tenant: &str, surface: &str) -> Result<String, ApiError> {
        let tpl = self
            .options
            .loader
            .manifest_template
            .as_ref()
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::LoaderNotConfigured,
                    "no manifest_template in the engine options",
                )
            })?;
        let uri = tpl.render(tenant, surface)?;
        let mut st = self.lock_state();
        let s = st.surfaces.entry(key(tenant, surface)).or_default();
        s.tracked = true;
        s.next_due = None;
        Ok(uri)
    }

    /// Tracked, unpinned surfaces whose refresh is due at `now`, with their manifest URI.
    ///
    /// The engine-level form of [`Loader::due`](crate::engine::Loader::due) (fuller example there).
    ///
    /// ```
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// engine.loader_track("demo", "home")?;
    /// assert_eq!(engine.loader_due(now), engine.loader().due(now));
    /// assert_eq!(engine.loader_due(now)[0].tenant, "demo");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader_due(&self, now: Timestamp) -> Vec<crate::engine::DueSurface> {
        self.reap_retired();
        let Some(tpl) = &self.options.loader.manifest_template else {
            return Vec::new();
        };
        let st = self.lock_state();
        st.surfaces
            .iter()
            .filter(|(_, s)| s.tracked && s.pinned.is_none() && s.next_due.is_none_or(|d| d <= now))
            .filter_map(|((t, sf), _)| {
                let manifest_uri = tpl.render(t, sf).ok()?;
                Some(crate::engine::DueSurface {
                    tenant: t.clone(),
                    surface: sf.clone(),
                    manifest_uri,
                })
            })
            .collect()
    }

    /// Marks surfaces for an immediate refresh (all of the tenant's when `surface` is `None`);
    /// returns how many.
    ///
    /// The engine-level form of [`Loader::invalidate`](crate::engine::Loader::invalidate) (fuller example there).
    ///
    /// ```
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// engine.loader_track("demo", "home")?;
    /// assert_eq!(engine.loader_invalidate("demo", Some("home")), 1);
    /// assert_eq!(engine.loader_invalidate("acme", None), 0);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader_invalidate(&self, tenant: &str, surface: Option<&str>) -> usize {
        let mut st = self.lock_state();
        let mut n = 0;
        for ((t, s), ss) in st.surfaces.iter_mut() {
            if t == tenant && surface.is_none_or(|x| x == s) && ss.tracked {
                ss.next_due = None;
                n += 1;
            }
        }
        n
    }

    /// Step 1: the manifest bytes (or why there are none) for a due surface.
    ///
    /// The engine-level form of [`Loader::apply_manifest`](crate::engine::Loader::apply_manifest) (fuller example there).
    ///
    /// ```
    /// # use recsys_core::{Fetch, Step};
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// engine.loader_track("demo", "home")?;
    /// let step = engine.loader_apply_manifest("demo", "home", now, Fetch::Found(manifest.into_bytes()))?;
    /// assert_eq!(step, Step::Fetch(vec![uri]));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader_apply_manifest(
        &self,
        tenant: &str,
        surface: &str,
        now: Timestamp,
        fetch: Fetch,
    ) -> Result<Step, ApiError> {
        let ttl = self.options.loader.manifest_ttl_seconds.max(1);
        let uri = match &self.options.loader.manifest_template {
            Some(t) => t.render(tenant, surface)?,
            None => String::new(),
        };
        // Parse and verify the manifest before taking the write lock.
        let parsed = match &fetch {
            Fetch::Found(bytes) => Some(std::str::from_utf8(bytes).ok().map(|text| {
                parse_manifest_doc(tenant, surface, text, &self.options.artifact_limits)
            })),
            _ => None,
        };
        let mut st = self.lock_state();
        let s = st.surfaces.entry(key(tenant, surface)).or_default();
        s.last_refresh = Some(now);
        s.next_due = Some(now.add_secs(ttl));
        match fetch {
            Fetch::NotFound => {
                self.record(|m| metrics::record_artifact_failure(m, "manifest"));
                s.fail(
                    "manifest",
                    &uri,
                    "RECSYS_MANIFEST_NOT_FOUND",
                    "manifest not found".into(),
                    now,
                );
                let outcome = if s.loaded { "kept" } else { "absent" };
                Ok(Step::Done(report(
                    tenant,
                    surface,
                    outcome,
                    Some("manifest not found".into()),
                    s,
                )))
            }
            Fetch::Error(e) => {
                self.record(|m| metrics::record_artifact_failure(m, "manifest"));
                s.fail(
                    "manifest",
                    &uri,
                    "RECSYS_MANIFEST_UNREADABLE",
                    e.clone(),
                    now,
                );
                Ok(Step::Done(report(
                    tenant,
                    surface,
                    "kept",
                    Some(format!("manifest unreadable: {e}")),
                    s,
                )))
            }
            Fetch::Found(_) => {
                let parsed = match parsed.flatten() {
                    Some(p) => p,
                    None => {
                        self.record(|m| metrics::record_artifact_failure(m, "manifest"));
                        s.fail(
                            "manifest",
                            &uri,
                            "RECSYS_JSON_INVALID_UTF8",
                            "manifest is not utf-8".into(),
                            now,
                        );
                        return Ok(Step::Done(report(
                            tenant,
                            surface,
                            "kept",
                            Some("manifest is not utf-8".into()),
                            s,
                        )));
                    }
                };
                match parsed {
                    Err(e) => {
                        let code = e.problems.first().map(|p| p.code).unwrap_or(e.code);
                        self.record(|m| metrics::record_artifact_failure(m, "manifest"));
                        s.fail("manifest", &uri, code, e.message.clone(), now);
                        Ok(Step::Done(report(
                            tenant,
                            surface,
                            "kept",
                            Some(format!("manifest rejected: {}", e.message)),
                            s,
                        )))
                    }
                    Ok(info) => {
                        if s.loaded
                            && s.set
                                .manifest
                                .as_ref()
                                .is_some_and(|m| m.version == info.version)
                            && s.held.is_empty()
                            // A partial load fetches what is missing again.
                            && s.missing().is_empty()
                        {
                            s.last_success = Some(now);
                            return Ok(Step::Done(report(tenant, surface, "unchanged", None, s)));
                        }
                        let need: Vec<String> = ArtifactKind::ALL
                            .iter()
                            .filter_map(|k| info.manifest.uri(*k).map(|u| (*k, u)))
                            .filter(|(k, u)| !self.have_artifact(s, *k, u))
                            .map(|(_, u)| u.to_string())
                            .collect();
                        s.pending = Some(info);
                        s.staged.clear();
                        if need.is_empty() {
                            drop(st);
                            return self
                                .loader_apply_artifacts(tenant, surface, now, BTreeMap::new())
                                .map(Step::Done);
                        }
                        Ok(Step::Fetch(need))
                    }
                }
            }
        }
    }

    fn have_artifact(&self, s: &SurfaceState, kind: ArtifactKind, uri: &str) -> bool {
        s.set.artifacts.get(&kind).is_some_and(|a| a.uri == uri)
            || s.held.get(&kind).is_some_and(|h| h.artifact.uri == uri)
    }

    /// Step 2, one artifact at a time: verifies the bytes of one URI the pending manifest
    /// names and keeps the result (in compact columns) for [`Engine::loader_apply_artifacts`],
    /// which then needs no bytes for it. Decoding and verifying run without the write lock,
    /// and the host can free each buffer before reading the next. A verification failure is
    /// returned here and recorded when the artifacts are applied (last known good applies).
    /// Answers `{"uri", "kind", "version", "rows"}`.
    ///
    /// The engine-level form of [`Loader::stage`](crate::engine::Loader::stage) (fuller example there).
    ///
    /// ```
    /// # use recsys_core::Fetch;
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// # engine.loader_track("demo", "home")?;
    /// engine.loader_apply_manifest("demo", "home", now, Fetch::Found(manifest.into_bytes()))?;
    /// let staged = engine.loader_stage_artifact("demo", "home", &uri, artifact.as_bytes())?;
    /// assert!(recsys_core::json::to_string(&staged).contains(r#""kind":"popularity""#));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader_stage_artifact(
        &self,
        tenant: &str,
        surface: &str,
        uri: &str,
        bytes: &[u8],
    ) -> Result<Value, ApiError> {
        let pending_kind = |st: &SourceState| -> Result<ArtifactKind, ApiError> {
            let info = st
                .surfaces
                .get(&key(tenant, surface))
                .and_then(|s| s.pending.as_ref())
                .ok_or_else(|| no_pending(tenant, surface))?;
            ArtifactKind::ALL
                .into_iter()
                .find(|k| info.manifest.uri(*k) == Some(uri))
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::LoaderUnknownArtifact,
                        format!("the pending manifest for tenant {tenant:?} surface {surface:?} does not name {uri:?}"),
                    )
                })
        };
        let kind = pending_kind(&self.lock_state())?;
        let limits = &self.options.artifact_limits;
        // A cold start may hash a large artifact on a second thread, like `loader_apply_artifacts`.
        let loaded = crate::snapshot::parallel::with_threads(self.load_threads(), || {
            load_blob(bytes, kind, uri, tenant, surface, limits).map(Arc::new)
        });
        let mut st = self.lock_state();
        // The manifest may have been replaced while this artifact was being verified.
        if pending_kind(&st)? != kind {
            return Err(no_pending(tenant, surface));
        }
        let answer = loaded.as_ref().map(|a| {
            let mut m = Map::new();
            m.push("uri", Value::str(uri));
            m.push("kind", Value::str(kind.as_str()));
            m.push("version", Value::str(a.version()));
            m.push("rows", Value::u64(a.rows() as u64));
            Value::Object(m)
        });
        let answer = answer.map_err(Clone::clone);
        if let Some(s) = st.surfaces.get_mut(&key(tenant, surface)) {
            s.staged.insert(uri.to_string(), loaded);
        }
        answer
    }

    /// Step 2: the artifacts asked for by step 1. Verifies them, applies last-known-good and
    /// empty-publish holds, compiles and swaps in the new snapshot.
    ///
    /// The engine-level form of [`Loader::apply_artifacts`](crate::engine::Loader::apply_artifacts) (fuller example there).
    ///
    /// ```
    /// # use recsys_core::Fetch;
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// # engine.loader_track("demo", "home")?;
    /// engine.loader_apply_manifest("demo", "home", now, Fetch::Found(manifest.into_bytes()))?;
    /// let fetched = [(uri, Fetch::Found(artifact.into_bytes()))].into_iter().collect();
    /// engine.loader_apply_artifacts("demo", "home", now, fetched)?;
    /// assert_eq!(engine.snapshot("demo", "home").map(|s| s.items()), Some(1));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader_apply_artifacts(
        &self,
        tenant: &str,
        surface: &str,
        now: Timestamp,
        fetched: BTreeMap<String, Fetch>,
    ) -> Result<Value, ApiError> {
        // Artifacts a waiting release asked for complete that release, not a refresh.
        if let Some(done) = self.release_artifacts(tenant, surface, now, &fetched) {
            return done;
        }
        crate::snapshot::parallel::with_threads(self.load_threads(), || {
            self.apply_artifacts(tenant, surface, now, fetched)
        })
    }

    /// [`Engine::loader_apply_artifacts`] within its thread budget.
    fn apply_artifacts(
        &self,
        tenant: &str,
        surface: &str,
        now: Timestamp,
        fetched: BTreeMap<String, Fetch>,
    ) -> Result<Value, ApiError> {
        let hold = self.options.loader.hold_empty_publishes;
        // Verify what was fetched before taking the write lock (the expensive part).
        let verified = self.verify_fetched(tenant, surface, &fetched);
        let mut guard = self.lock_state();
        let st = &mut *guard;
        let s = st.surfaces.entry(key(tenant, surface)).or_default();
        let mut source = Fetched {
            fetched: &fetched,
            verified,
            staged: std::mem::take(&mut s.staged),
            tenant,
            surface,
            limits: &self.options.artifact_limits,
        };
        let Some(info) = s.pending.take() else {
            return Err(no_pending(tenant, surface));
        };
        let mut next: BTreeMap<ArtifactKind, Arc<LoadedArtifact>> = BTreeMap::new();
        let mut failed = 0usize;
        let mut newly_held: Vec<ArtifactKind> = Vec::new();
        for kind in ArtifactKind::ALL {
            let Some(uri) = info.manifest.uri(kind) else {
                continue;
            };
            if let Some(a) = s.set.artifacts.get(&kind).filter(|a| a.uri == uri) {
                next.insert(kind, a.clone());
                continue;
            }
            if let Some(h) = s.held.get(&kind).filter(|h| h.artifact.uri == uri) {
                // Still held: keep serving the previous artifact.
                if let Some(a) = s.set.artifacts.get(&kind) {
                    next.insert(kind, a.clone());
                } else {
                    next.insert(kind, h.artifact.clone());
                }
                continue;
            }
            match source.take(kind, uri) {
                Err(e) => {
                    let code = e.problems.first().map(|p| p.code).unwrap_or(e.code);
                    self.record(|m| metrics::record_artifact_failure(m, kind.as_str()));
                    s.fail(kind.as_str(), uri, code, e.message.clone(), now);
                    failed += 1;
                }
                Ok(a) => {
                    let current_non_empty =
                        s.set.artifacts.get(&kind).is_some_and(|c| !c.is_empty());
                    if hold && a.is_empty() && current_non_empty {
                        s.held.insert(
                            kind,
                            Held {
                                artifact: a,
                                at: now,
                            },
                        );
                        newly_held.push(kind);
                        if let Some(c) = s.set.artifacts.get(&kind) {
                            next.insert(kind, c.clone());
                        }
                    } else {
                        s.held.remove(&kind);
                        next.insert(kind, a);
                    }
                }
            }
        }
        if failed > 0 && s.loaded {
            return Ok(report(
                tenant,
                surface,
                "kept",
                Some(format!("{failed} artifacts failed verification or could not be read; the last known good snapshot keeps serving")),
                s,
            ));
        }
        self.install_artifacts(s, info, next, failed, now);
        let detail = (!newly_held.is_empty()).then(|| {
            let kinds: Vec<&str> = newly_held.iter().map(|k| k.as_str()).collect();
            format!("empty publishes held for: {}", kinds.join(", "))
        });
        // A first load with failures serves what verified, but says so: "partial", with the
        // failures and the missing kinds (readiness reports them too).
        let outcome = if failed > 0 { "partial" } else { "swapped" };
        let answer = report(tenant, surface, outcome, detail, s);
        let plan = st.plan_rebuild(tenant, Some(surface));
        drop(guard);
        self.rebuild(plan);
        Ok(answer)
    }

    /// Verifies every fetched artifact the pending manifest names, outside the state lock.
    fn verify_fetched(
        &self,
        tenant: &str,
        surface: &str,
        fetched: &BTreeMap<String, Fetch>,
    ) -> Verified {
        let pending = {
            let st = self.lock_state();
            st.surfaces
                .get(&key(tenant, surface))
                .and_then(|s| s.pending.clone())
        };
        let limits = &self.options.artifact_limits;
        let jobs: Vec<(ArtifactKind, &str, &[u8])> = ArtifactKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let uri = pending.as_ref().and_then(|p| p.manifest.uri(kind))?;
                match fetched.get(uri) {
                    Some(Fetch::Found(bytes)) => Some((kind, uri, bytes.as_slice())),
                    _ => None,
                }
            })
            .collect();
        let sizes: Vec<usize> = jobs.iter().map(|j| j.2.len()).collect();
        // Side by side, largest first (see `in_parallel`).
        let loaded = crate::snapshot::parallel::in_parallel(&sizes, |i| {
            let (kind, uri, bytes) = jobs[i];
            load_blob(bytes, kind, uri, tenant, surface, limits).map(Arc::new)
        });
        jobs.iter()
            .zip(loaded)
            .map(|((kind, uri, _), l)| ((*kind, uri.to_string()), l))
            .collect()
    }

    /// Swaps in the artifact set of manifest `info` (kinds it no longer names are dropped,
    /// held entries for them too; unchanged artifacts keep their part of the catalog) and
    /// records the manifest and artifact age metrics.
    fn install_artifacts(
        &self,
        s: &mut SurfaceState,
        info: ManifestInfo,
        next: BTreeMap<ArtifactKind, Arc<LoadedArtifact>>,
        failed: usize,
        now: Timestamp,
    ) {
        s.held.retain(|k, _| info.manifest.uri(*k).is_some());
        let mut set = ArtifactSet {
            manifest: Some(info),
            artifacts: next,
            warnings: Vec::new(),
            signals: None,
            catalog: Default::default(),
            base: Default::default(),
        };
        set.follow(&s.set);
        if failed > 0 {
            set.warnings.push(crate::error::Problem::new(
                "$.manifest",
                "RECSYS_ARTIFACT_PARTIAL",
                format!("{failed} artifacts could not be loaded; their signals are unavailable"),
            ));
        }
        let updated = set.manifest.as_ref().and_then(|m| m.manifest.updated_at);
        s.set = set;
        s.loaded = true;
        s.last_success = Some(now);
        let count = s.set.artifacts.len();
        self.record(|m| {
            if let Some(u) = updated {
                metrics::record_manifest(m, now.seconds_since(u), count);
            }
            for (k, a) in &s.set.artifacts {
                metrics::record_artifact_age(
                    m,
                    k.as_str(),
                    now.seconds_since(a.envelope.window.end),
                );
            }
        });
    }

    /// Applies publishes that were held because they were empty (an operator's decision).
    ///
    /// The engine-level form of [`Loader::release`](crate::engine::Loader::release) (fuller example there).
    ///
    /// ```
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// engine.loader_track("demo", "home")?;
    /// let report = engine.loader_release("demo", "home", now)?;
    /// assert!(recsys_core::json::to_string(&report).contains(r#""outcome":"nothing_held""#));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader_release(
        &self,
        tenant: &str,
        surface: &str,
        now: Timestamp,
    ) -> Result<Value, ApiError> {
        let mut guard = self.lock_state();
        let st = &mut *guard;
        let s = st
            .surfaces
            .get_mut(&key(tenant, surface))
            .ok_or_else(|| not_tracked(tenant, surface))?;
        if s.held.is_empty() {
            return Ok(report(tenant, surface, "nothing_held", None, s));
        }
        let prev = s.set.clone();
        for (k, h) in std::mem::take(&mut s.held) {
            s.set.artifacts.insert(k, h.artifact);
        }
        s.set.invalidate_catalog();
        s.set.follow(&prev);
        s.last_success = Some(now);
        s.loaded = true;
        let answer = report(tenant, surface, "released", None, s);
        let plan = st.plan_rebuild(tenant, Some(surface));
        drop(guard);
        self.rebuild(plan);
        Ok(answer)
    }

    /// Pins (tenant, surface) to an operator-supplied manifest (artifact rollback): the manifest
    /// is applied like a refresh and the template is not consulted until [`Engine::loader_unpin`].
    ///
    /// The engine-level form of [`Loader::pin`](crate::engine::Loader::pin) (fuller example there).
    ///
    /// ```
    /// # use recsys_core::Step;
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let step = engine.loader_pin("demo", "home", now, manifest.into_bytes())?;
    /// assert_eq!(step, Step::Fetch(vec![uri]));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader_pin(
        &self,
        tenant: &str,
        surface: &str,
        now: Timestamp,
        manifest: Vec<u8>,
    ) -> Result<Step, ApiError> {
        let text = String::from_utf8(manifest)
            .map_err(|_| ApiError::new(ErrorCode::JsonInvalidUtf8, "manifest is not utf-8"))?;
        // Validate before pinning, so a bad manifest changes nothing.
        parse_manifest_doc(tenant, surface, &text, &self.options.artifact_limits)?;
        {
            let mut st = self.lock_state();
            let s = st.surfaces.entry(key(tenant, surface)).or_default();
            s.pinned = Some(now);
            s.held.clear();
        }
        self.loader_apply_manifest(tenant, surface, now, Fetch::Found(text.into_bytes()))
    }

    /// Releases a pin; the next refresh follows the manifest template again.
    ///
    /// The engine-level form of [`Loader::unpin`](crate::engine::Loader::unpin) (fuller example there).
    ///
    /// ```
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// engine.loader_pin("demo", "home", now, manifest.into_bytes())?;
    /// assert!(engine.loader_unpin("demo", "home")?);
    /// assert!(!engine.loader_unpin("demo", "home")?);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader_unpin(&self, tenant: &str, surface: &str) -> Result<bool, ApiError> {
        let mut st = self.lock_state();
        let s = st
            .surfaces
            .get_mut(&key(tenant, surface))
            .ok_or_else(|| not_tracked(tenant, surface))?;
        let was = s.pinned.take().is_some();
        s.next_due = None;
        Ok(was)
    }

    /// Convenience driver: refreshes every due surface with the host's reader.
    ///
    /// The engine-level form of [`Loader::refresh_due`](crate::engine::Loader::refresh_due) (fuller example there).
    ///
    /// ```
    /// # use recsys_core::{ArtifactReader, Fetch};
    /// # struct Nothing;
    /// # impl ArtifactReader for Nothing {
    /// #     fn read(&self, _uri: &str, _max_bytes: usize) -> Fetch { Fetch::NotFound }
    /// # }
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// engine.loader_track("demo", "home")?;
    /// // A reader that finds nothing: the surface reports why and serves nothing.
    /// let done = engine.refresh_due(now, &Nothing);
    /// assert_eq!((done.len(), done[0].surface.as_str()), (1, "home"));
    /// assert!(engine.snapshot("demo", "home").is_none());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn refresh_due(
        &self,
        now: Timestamp,
        reader: &dyn ArtifactReader,
    ) -> Vec<crate::engine::Refresh> {
        let max = self.options.artifact_limits.max_bytes;
        let _busy = match self.enter() {
            Ok(b) => b,
            Err(e) => {
                return vec![crate::engine::Refresh {
                    tenant: String::new(),
                    surface: String::new(),
                    result: Err(e),
                }]
            }
        };
        let mut out = Vec::new();
        for due in self.loader_due(now) {
            let (t, s) = (&due.tenant, &due.surface);
            let step = self.loader_apply_manifest(t, s, now, reader.read(&due.manifest_uri, max));
            let result = match step {
                Ok(Step::Done(v)) => Ok(v),
                Ok(Step::Fetch(uris)) => {
                    let fetched = uris
                        .into_iter()
                        .map(|u| (u.clone(), reader.read(&u, max)))
                        .collect();
                    self.loader_apply_artifacts(t, s, now, fetched)
                }
                Err(e) => Err(e),
            };
            out.push(crate::engine::Refresh {
                tenant: due.tenant,
                surface: due.surface,
                result,
            });
        }
        out
    }

    /// `{"status": "ok"}`: the engine is usable (it holds no resources that can go bad).
    ///
    /// ```
    /// let engine = recsys_core::Engine::new();
    /// assert_eq!(recsys_core::json::to_string(&engine.liveness()), r#"{"status":"ok"}"#);
    /// ```
    pub fn liveness(&self) -> Value {
        let mut m = Map::new();
        m.push("status", Value::str("ok"));
        Value::Object(m)
    }

    /// Readiness: ready when every tracked surface has a snapshot serving (last known good
    /// counts). Per surface: versions, artifact ages, staleness, last errors, held publishes.
    ///
    /// ```
    /// # let engine = recsys_core::Engine::builder()
    /// #     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    /// #     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let uri = format!("mem://demo/home/popularity/{v}.json");
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "{uri}"}}}}"#);
    /// # let now = recsys_core::Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// assert!(recsys_core::json::to_string(&engine.readiness(now)).starts_with(r#"{"status":"ready""#));
    /// // A tracked surface that serves nothing yet keeps the engine not ready.
    /// engine.loader_track("demo", "home")?;
    /// let ready = recsys_core::json::to_string(&engine.readiness(now));
    /// assert!(ready.starts_with(r#"{"status":"not_ready""#), "{ready}");
    /// assert!(ready.contains(r#""serving":false"#));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn readiness(&self, now: Timestamp) -> Value {
        let max_age = self.options.loader.max_artifact_age_seconds;
        let st = self.lock_state();
        let mut ready = true;
        let mut surfaces = Vec::new();
        for ((t, sf), s) in &st.surfaces {
            // A surface without a snapshot of its own is served by the tenant's `default`
            // surface when one is loaded (the reference's manifest fallback).
            let found = self.snapshot(t, sf).map(|s| (s.snapshot, s.fallback));
            let serving = found.is_some();
            let snap = found.as_ref().map(|(s, _)| s.clone());
            let missing = s.missing();
            if (s.tracked && !serving) || (serving && !missing.is_empty()) {
                ready = false;
            }
            let mut m = Map::new();
            m.push("tenant", Value::str(t));
            m.push("surface", Value::str(sf));
            m.push("serving", Value::Bool(serving));
            if let Some((snap, true)) = &found {
                m.push("serving_surface", Value::str(&snap.surface));
            }
            m.push("tracked", Value::Bool(s.tracked));
            m.push("pinned", Value::Bool(s.pinned.is_some()));
            m.push(
                "missing",
                Value::Array(missing.into_iter().map(Value::str).collect()),
            );
            if let Some(snap) = &snap {
                let v = &snap.versions;
                for (k, x) in [
                    ("config_version", &v.config_version),
                    ("rules_version", &v.rules_version),
                    ("manifest_version", &v.manifest_version),
                ] {
                    m.push(k, x.as_ref().map(Value::str).unwrap_or(Value::Null));
                }
                m.push("stale", Value::Bool(is_stale(v, now, max_age)));
                if let Some(u) = v.manifest_updated_at {
                    m.push("manifest_age_seconds", Value::f64(now.seconds_since(u)));
                }
            }
            let mut arts = Map::new();
            for (k, a) in &s.set.artifacts {
                let mut am = Map::new();
                am.push("uri", Value::str(&a.uri));
                am.push("version", Value::str(a.version()));
                am.push("rows", Value::u64(a.rows() as u64));
                am.push("window_end", Value::str(a.envelope.window.end.to_rfc3339()));
                am.push(
                    "age_seconds",
                    Value::f64(now.seconds_since(a.envelope.window.end)),
                );
                arts.push(k.as_str(), Value::Object(am));
            }
            m.push("artifacts", Value::Object(arts));
            if let Some(x) = s.last_success {
                m.push("last_success", Value::str(x.to_rfc3339()));
            }
            m.push(
                "last_errors",
                Value::Array(s.failures.iter().take(5).map(Failure::to_value).collect()),
            );
            let held: Vec<Value> = s
                .held
                .iter()
                .map(|(k, h)| {
                    let mut hm = Map::new();
                    hm.push("kind", Value::str(k.as_str()));
                    hm.push("uri", Value::str(&h.artifact.uri));
                    hm.push("version", Value::str(h.artifact.version()));
                    hm.push("since", Value::str(h.at.to_rfc3339()));
                    Value::Object(hm)
                })
                .collect();
            m.push("held", Value::Array(held));
            surfaces.push(Value::Object(m));
        }
        let mut out = Map::new();
        out.push(
            "status",
            Value::str(if ready { "ready" } else { "not_ready" }),
        );
        out.push("surfaces", Value::Array(surfaces));
        Value::Object(out)
    }
}

/// Whether artifacts are older than `max_age` seconds at `now` (manifest `updated_at` or the
/// earliest artifact window end). `max_age <= 0` disables the check.
pub fn is_stale(v: &crate::snapshot::Versions, now: Timestamp, max_age: i64) -> bool {
    if max_age <= 0 {
        return false;
    }
    let old = |t: Option<Timestamp>| t.is_some_and(|t| now.seconds_since(t) > max_age as f64);
    old(v.manifest_updated_at) || old(v.oldest_window_end)
}

fn no_pending(tenant: &str, surface: &str) -> ApiError {
    ApiError::new(ErrorCode::LoaderNoPendingManifest,
        format!("no manifest is pending for tenant {tenant:?} surface {surface:?}; apply a manifest first"),
    )
}

/// One artifact verified (or failed), by kind and URI.
type Loaded = Result<Arc<LoadedArtifact>, ApiError>;

/// Artifacts verified before the state lock was taken, by kind and URI.
type Verified = BTreeMap<(ArtifactKind, String), Loaded>;

/// Where the artifacts of a pending manifest come from while it is applied: what the host
/// fetched (verified ahead where possible) and what was staged one at a time.
struct Fetched<'a> {
    fetched: &'a BTreeMap<String, Fetch>,
    verified: Verified,
    staged: BTreeMap<String, Loaded>,
    tenant: &'a str,
    surface: &'a str,
    limits: &'a ArtifactLimits,
}

impl Fetched<'_> {
    /// The artifact of `kind` at `uri`: verified ahead, verified now (the pending manifest
    /// changed since), staged, or the read failure.
    fn take(&mut self, kind: ArtifactKind, uri: &str) -> Loaded {
        match self.fetched.get(uri) {
            Some(Fetch::Found(bytes)) => match self.verified.remove(&(kind, uri.to_string())) {
                Some(done) => done,
                None => load_blob(bytes, kind, uri, self.tenant, self.surface, self.limits)
                    .map(Arc::new),
            },
            None => self.staged.remove(uri).unwrap_or_else(|| Err(not_found())),
            Some(Fetch::NotFound) => Err(not_found()),
            Some(Fetch::Error(e)) => Err(ApiError::new(ErrorCode::ArtifactUnreadable, e.clone())),
        }
    }
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::ArtifactNotFound, "artifact not found")
}

fn not_tracked(tenant: &str, surface: &str) -> ApiError {
    ApiError::new(
        ErrorCode::SnapshotNotFound,
        format!("no loader state for tenant {tenant:?} surface {surface:?}"),
    )
}
