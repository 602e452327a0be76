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
    pub fn tenant(&self) -> &str {
        &self.snapshot.tenant
    }

    /// The surface whose snapshot serves (`default` when [`Served::fallback`]).
    pub fn surface(&self) -> &str {
        &self.snapshot.surface
    }

    /// Items in the catalog serving.
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

    /// The id of the release serving, when the documents came from one (`meta.release_id`).
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
    pub fn loader(&self) -> Loader<'_> {
        Loader { engine: self }
    }
}

impl Loader<'_> {
    /// Starts refreshing (tenant, surface) from the manifest template; answers its URI.
    pub fn track(&self, tenant: &str, surface: &str) -> Result<String, ApiError> {
        self.engine.loader_track(tenant, surface)
    }

    /// Tracked, unpinned surfaces whose refresh is due at `now`.
    pub fn due(&self, now: Timestamp) -> Vec<DueSurface> {
        self.engine.loader_due(now)
    }

    /// Marks surfaces for an immediate refresh (all of the tenant's when `surface` is
    /// `None`); answers how many.
    pub fn invalidate(&self, tenant: &str, surface: Option<&str>) -> usize {
        self.engine.loader_invalidate(tenant, surface)
    }

    /// Step 1: what the host read at the surface's manifest URI.
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
    pub fn release(&self, tenant: &str, surface: &str, now: Timestamp) -> Result<Value, ApiError> {
        self.engine.loader_release(tenant, surface, now)
    }

    /// Pins a surface to a manifest (artifact rollback). Not audited: the audited form is
    /// [`crate::engine::Admin::pin_artifacts`].
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
    pub fn unpin(&self, tenant: &str, surface: &str) -> Result<bool, ApiError> {
        self.engine.loader_unpin(tenant, surface)
    }

    /// Refreshes every due surface with the host's reader (steps 1 and 2 for each).
    pub fn refresh_due(&self, now: Timestamp, reader: &dyn ArtifactReader) -> Vec<Refresh> {
        self.engine.refresh_due(now, reader)
    }
}
