//! [`Loader`]: the artifact lifecycle driven by the host (track a surface, find what is due,
//! hand over fetched manifests and artifacts, pin, release), and the named results of the
//! engine's read-side calls ([`Served`], [`SurfaceId`], [`DueSurface`], [`Refresh`],
//! [`ExposureBatch`]).

use super::Engine;
use crate::error::ApiError;
use crate::json::Value;
use crate::loader::{ArtifactReader, Fetch, Step};
use crate::snapshot::TenantSnapshot;
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The snapshot serving a (tenant, surface) ([`Engine::snapshot`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Served {
    /// The snapshot (internal).
    pub(crate) snapshot: Arc<TenantSnapshot>,
    /// True when the surface has no snapshot of its own and the tenant's `default` surface
    /// serves it (the reference's fallback).
    pub fallback: bool,
}

impl Served {
    /// The tenant served.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// # let served = engine.snapshot("demo", "home").unwrap();
    /// assert_eq!(served.tenant(), "demo");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn tenant(&self) -> &str {
        &self.snapshot.tenant
    }

    /// The surface whose snapshot serves (`default` when [`Served::fallback`]).
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// # let served = engine.snapshot("demo", "home").unwrap();
    /// assert_eq!(served.surface(), "home");
    /// assert_eq!(engine.snapshot("demo", "pdp").map(|s| s.surface().to_string()), None);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn surface(&self) -> &str {
        &self.snapshot.surface
    }

    /// Items in the catalog serving.
    ///
    /// ```
    /// # use recsys_core::{Documents, Engine};
    /// # let engine = Engine::builder().build()?;
    /// # let report = engine.load_snapshot(Documents::new("demo", "home")
    /// #     .config(r#"{"weights": {"pop": 1}}"#).rules(r#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#)
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// # let served = engine.snapshot("demo", "home").unwrap();
    /// assert_eq!(served.items(), report.items());
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
    /// # let served = engine.snapshot("demo", "home").unwrap();
    /// assert_eq!(served.config_version(), report.config_version());
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
    /// # let served = engine.snapshot("demo", "home").unwrap();
    /// assert_eq!(served.rules_version(), report.rules_version());
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
    /// # let served = engine.snapshot("demo", "home").unwrap();
    /// assert_eq!(served.manifest_version(), None);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn manifest_version(&self) -> Option<&str> {
        self.snapshot.versions.manifest_version.as_deref()
    }

    /// The id of the release serving, when the documents came from one (`meta.release_id`).
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRequest;
    /// use recsys_core::{Context, Documents, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// engine.load_snapshot(Documents::new("demo", "home").signals(r#"{"popularity": []}"#))?;
    /// assert_eq!(engine.snapshot("demo", "home").unwrap().release_id(), None);
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// let out = engine.admin().publish_release(&ctx, &ReleaseRequest::new().rules("[]"))?;
    /// assert_eq!(engine.snapshot("demo", "home").unwrap().release_id(), Some(out.release.id.as_str()));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn release_id(&self) -> Option<&str> {
        self.snapshot.versions.release_id.as_deref()
    }
}

/// A (tenant, surface) pair with a snapshot ([`Engine::loaded`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct SurfaceId {
    /// The tenant.
    pub tenant: String,
    /// The surface.
    pub surface: String,
}

impl SurfaceId {
    /// The pair (tenant, surface).
    ///
    /// ```
    /// use recsys_core::SurfaceId;
    ///
    /// let id = SurfaceId::new("demo", "home");
    /// assert_eq!((id.tenant.as_str(), id.surface.as_str()), ("demo", "home"));
    /// assert!(id < SurfaceId::new("demo", "pdp"));            // ordered by tenant, then surface
    /// ```
    pub fn new(tenant: impl Into<String>, surface: impl Into<String>) -> SurfaceId {
        SurfaceId {
            tenant: tenant.into(),
            surface: surface.into(),
        }
    }
}

/// A tracked surface whose manifest should be fetched now ([`Loader::due`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DueSurface {
    /// The tenant.
    pub tenant: String,
    /// The surface.
    pub surface: String,
    /// Where its manifest is (the engine's manifest template, rendered).
    pub manifest_uri: String,
}

/// What one surface's refresh did ([`Loader::refresh_due`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Refresh {
    /// The tenant.
    pub tenant: String,
    /// The surface.
    pub surface: String,
    /// The refresh report (`{"outcome", ...}`), or why the refresh failed.
    pub result: Result<Value, ApiError>,
}

/// Queued exposure events ([`Engine::drain_exposures`]).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ExposureBatch {
    /// The events, oldest first.
    pub events: Vec<Value>,
    /// Events dropped because the queue was full since the last drain.
    pub dropped: u64,
}

/// The artifact lifecycle of an engine (see [`Engine::loader`]). The host does the I/O:
/// the engine says what to read, the host reads it and hands the bytes back.
///
/// ```
/// use recsys_core::{Engine, Fetch, Timestamp};
///
/// let engine = Engine::builder()
///     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
///     .build()?;
/// let loader = engine.loader();
/// loader.track("demo", "home")?;
/// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
/// let due = loader.due(now);
/// assert_eq!(due[0].manifest_uri, "mem://demo/home/manifest.json");
/// // The host reads the manifest; here there is none yet.
/// loader.apply_manifest("demo", "home", now, Fetch::NotFound)?;
/// # Ok::<(), recsys_core::ApiError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Loader<'e> {
    engine: &'e Engine,
}

impl std::fmt::Debug for Loader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader").finish_non_exhaustive()
    }
}

impl Engine {
    /// The artifact lifecycle (see [`Loader`]).
    ///
    /// ```
    /// use recsys_core::{Engine, Fetch, Step, Timestamp};
    ///
    /// let engine = Engine::builder()
    ///     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    ///     .build()?;
    /// # let body = r#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "V"}}"#;
    /// # let v = recsys_core::check::Artifact::parse(body.as_bytes(), None)?.version();
    /// # let artifact = body.replace(r#""V""#, &format!("{v:?}"));
    /// # let manifest = format!(r#"{{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-02T00:00:00Z",
    /// #     "current": {{"popularity": "mem://demo/home/popularity/{v}.json"}}}}"#);
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let loader = engine.loader();
    /// loader.track("demo", "home")?;
    /// // Step 1: the host reads the manifest URI and hands over the bytes.
    /// let Step::Fetch(uris) = loader.apply_manifest("demo", "home", now, Fetch::Found(manifest.into_bytes()))? else {
    ///     panic!("the manifest names an artifact")
    /// };
    /// // Step 2: the host reads each artifact the manifest names.
    /// let fetched = uris.into_iter().map(|u| (u, Fetch::Found(artifact.clone().into_bytes()))).collect();
    /// loader.apply_artifacts("demo", "home", now, fetched)?;
    /// assert_eq!(engine.snapshot("demo", "home").map(|s| s.items()), Some(1));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loader(&self) -> Loader<'_> {
        Loader { engine: self }
    }
}

impl Loader<'_> {
    /// Starts refreshing (tenant, surface) from the manifest template; answers its URI.
    ///
    /// ```
    /// use recsys_core::{Engine, Timestamp};
    ///
    /// let engine = Engine::builder()
    ///     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    ///     .build()?;
    /// assert_eq!(engine.loader().track("demo", "home")?, "mem://demo/home/manifest.json");
    /// // Without a template there is nothing to track.
    /// let err = Engine::builder().build()?.loader().track("demo", "home").unwrap_err();
    /// assert_eq!(err.code, "RECSYS_LOADER_NOT_CONFIGURED");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn track(&self, tenant: &str, surface: &str) -> Result<String, ApiError> {
        self.engine.loader_track(tenant, surface)
    }

    /// Tracked, unpinned surfaces whose refresh is due at `now`.
    ///
    /// ```
    /// use recsys_core::{Engine, Timestamp};
    ///
    /// let engine = Engine::builder()
    ///     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    ///     .build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// assert!(engine.loader().due(now).is_empty());
    /// engine.loader().track("demo", "home")?;
    /// let due = engine.loader().due(now);
    /// assert_eq!((due[0].surface.as_str(), due[0].manifest_uri.as_str()), ("home", "mem://demo/home/manifest.json"));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn due(&self, now: Timestamp) -> Vec<DueSurface> {
        self.engine.loader_due(now)
    }

    /// Marks surfaces for an immediate refresh (all of the tenant's when `surface` is
    /// `None`); answers how many.
    ///
    /// ```
    /// use recsys_core::Fetch;
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
    /// let loader = engine.loader();
    /// loader.track("demo", "home")?;
    /// loader.apply_manifest("demo", "home", now, Fetch::NotFound)?;   // not due again until the TTL passes
    /// assert!(loader.due(now).is_empty());
    /// assert_eq!(loader.invalidate("demo", None), 1);
    /// assert_eq!(loader.due(now).len(), 1);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn invalidate(&self, tenant: &str, surface: Option<&str>) -> usize {
        self.engine.loader_invalidate(tenant, surface)
    }

    /// Step 1: what the host read at the surface's manifest URI.
    ///
    /// ```
    /// use recsys_core::{Fetch, Step};
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
    /// let loader = engine.loader();
    /// loader.track("demo", "home")?;
    /// let step = loader.apply_manifest("demo", "home", now, Fetch::Found(manifest.clone().into_bytes()))?;
    /// assert_eq!(step, Step::Fetch(vec![uri.clone()]));
    /// // A missing manifest keeps what serves and reports why.
    /// let Step::Done(report) = loader.apply_manifest("demo", "home", now, Fetch::NotFound)? else { panic!() };
    /// assert!(recsys_core::json::to_string(&report).contains("manifest not found"));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn apply_manifest(
        &self,
        tenant: &str,
        surface: &str,
        now: Timestamp,
        fetch: Fetch,
    ) -> Result<Step, ApiError> {
        self.engine
            .loader_apply_manifest(tenant, surface, now, fetch)
    }

    /// Step 2, one artifact at a time: verifies and keeps the bytes of one URI the pending
    /// manifest names (the host can free each buffer before reading the next).
    ///
    /// ```
    /// use recsys_core::Fetch;
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
    /// let loader = engine.loader();
    /// loader.track("demo", "home")?;
    /// loader.apply_manifest("demo", "home", now, Fetch::Found(manifest.into_bytes()))?;
    /// let staged = loader.stage("demo", "home", &uri, artifact.as_bytes())?;
    /// assert!(recsys_core::json::to_string(&staged).contains(r#""rows":1"#));
    /// // Staged artifacts need no bytes when the artifacts are applied.
    /// loader.apply_artifacts("demo", "home", now, Default::default())?;
    /// assert_eq!(engine.snapshot("demo", "home").map(|s| s.items()), Some(1));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn stage(
        &self,
        tenant: &str,
        surface: &str,
        uri: &str,
        bytes: &[u8],
    ) -> Result<Value, ApiError> {
        self.engine
            .loader_stage_artifact(tenant, surface, uri, bytes)
    }

    /// Step 2: installs the artifacts step 1 asked for (staged ones need no entry).
    ///
    /// ```
    /// use recsys_core::Fetch;
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
    /// let loader = engine.loader();
    /// loader.track("demo", "home")?;
    /// loader.apply_manifest("demo", "home", now, Fetch::Found(manifest.into_bytes()))?;
    /// let fetched = [(uri.clone(), Fetch::Found(artifact.into_bytes()))].into_iter().collect();
    /// let report = loader.apply_artifacts("demo", "home", now, fetched)?;
    /// assert!(recsys_core::json::to_string(&report).contains(r#""outcome":"swapped""#));
    /// assert_eq!(engine.snapshot("demo", "home").map(|s| s.items()), Some(1));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn apply_artifacts(
        &self,
        tenant: &str,
        surface: &str,
        now: Timestamp,
        fetched: BTreeMap<String, Fetch>,
    ) -> Result<Value, ApiError> {
        self.engine
            .loader_apply_artifacts(tenant, surface, now, fetched)
    }

    /// Applies publishes held because they were empty. Not audited: the audited form is
    /// [`crate::engine::Admin::release_held`].
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
    /// engine.loader().track("demo", "home")?;
    /// let report = engine.loader().release("demo", "home", now)?;
    /// assert!(recsys_core::json::to_string(&report).contains(r#""outcome":"nothing_held""#));
    /// assert!(engine.loader().release("demo", "pdp", now).is_err());   // not tracked
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn release(&self, tenant: &str, surface: &str, now: Timestamp) -> Result<Value, ApiError> {
        self.engine.loader_release(tenant, surface, now)
    }

    /// Pins a surface to a manifest (artifact rollback). Not audited: the audited form is
    /// [`crate::engine::Admin::pin_artifacts`].
    ///
    /// ```
    /// use recsys_core::Step;
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
    /// engine.loader().track("demo", "home")?;
    /// let step = engine.loader().pin("demo", "home", now, manifest.into_bytes())?;
    /// assert_eq!(step, Step::Fetch(vec![uri]));
    /// assert!(engine.loader().due(now).is_empty());            // pinned surfaces are not refreshed
    /// assert!(engine.loader().unpin("demo", "home")?);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn pin(
        &self,
        tenant: &str,
        surface: &str,
        now: Timestamp,
        manifest: Vec<u8>,
    ) -> Result<Step, ApiError> {
        self.engine.loader_pin(tenant, surface, now, manifest)
    }

    /// Releases a pin; answers whether there was one.
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
    /// engine.loader().track("demo", "home")?;
    /// assert!(!engine.loader().unpin("demo", "home")?);        // was not pinned
    /// engine.loader().pin("demo", "home", now, manifest.into_bytes())?;
    /// assert!(engine.loader().unpin("demo", "home")?);
    /// assert_eq!(engine.loader().due(now).len(), 1);           // refreshed again at once
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn unpin(&self, tenant: &str, surface: &str) -> Result<bool, ApiError> {
        self.engine.loader_unpin(tenant, surface)
    }

    /// Refreshes every due surface with the host's reader (steps 1 and 2 for each).
    ///
    /// ```
    /// use recsys_core::{ArtifactReader, Fetch};
    /// use std::collections::BTreeMap;
    ///
    /// /// A reader over an in-memory map of URIs to bytes.
    /// struct Blobs(BTreeMap<String, Vec<u8>>);
    /// impl ArtifactReader for Blobs {
    ///     fn read(&self, uri: &str, _max_bytes: usize) -> Fetch {
    ///         self.0.get(uri).cloned().map_or(Fetch::NotFound, Fetch::Found)
    ///     }
    /// }
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
    /// let reader = Blobs(BTreeMap::from([
    ///     ("mem://demo/home/manifest.json".to_string(), manifest.into_bytes()),
    ///     (uri, artifact.into_bytes()),
    /// ]));
    /// engine.loader().track("demo", "home")?;
    /// let done = engine.loader().refresh_due(now, &reader);
    /// assert!(done[0].result.is_ok());
    /// assert_eq!(engine.snapshot("demo", "home").map(|s| s.items()), Some(1));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn refresh_due(&self, now: Timestamp, reader: &dyn ArtifactReader) -> Vec<Refresh> {
        self.engine.refresh_due(now, reader)
    }
}
