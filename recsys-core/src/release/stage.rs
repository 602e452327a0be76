//! Installing a release as one unit: the artifact sets of the surfaces it pins are staged
//! off to the side first (manifest parsed, artifacts reused from what serves or fetched by
//! the host and verified, catalog compiled), and only when every one of them is ready are
//! the sets, the pin flags, both documents and the release id committed under one write lock
//! and swapped in with one snapshot swap. Until then the previous release keeps serving
//! whole; an artifact that cannot be fetched or verified installs nothing (the failure is
//! recorded on its surface, as the loader's last-known-good does).
//!
//! A release that needs artifacts this process has not loaded waits in the engine's state
//! ([`PendingRelease`]): the host fetches the URIs it is told and hands them over with
//! `loader_apply_artifacts` (or `loader_stage_artifact` one at a time), as for any refresh;
//! the hand-over that completes the last surface commits the release.

use crate::artifacts::ArtifactKind;
use crate::compile::ManifestInfo;
use crate::compile::{load_blob, parse_manifest_doc, ArtifactSet, DocsUpdate, LoadedArtifact};
use crate::control::Release;
use crate::engine::Engine;
use crate::error::{ApiError, ErrorCode};
use crate::json::{Map, Value};
use crate::loader::{Fetch, SurfaceState};
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What installing a release changes on one surface.
#[derive(Debug)]
pub(crate) enum Staged {
    /// Pinned to a manifest whose artifacts are all verified: the set to serve.
    Ready(ArtifactSet),
    /// Pinned to a manifest some of whose artifacts the host must fetch first.
    Wait(Waiting),
    /// A surface with no snapshot yet: pinned, its manifest left pending for the host's
    /// fetch (nothing serves it, so nothing needs to wait for it).
    Unserved(ManifestInfo),
    /// The release unpins it: its manifest template applies again.
    Unpin,
}

/// A pinned manifest waiting for artifacts.
#[derive(Debug)]
pub(crate) struct Waiting {
    info: ManifestInfo,
    /// Artifacts already verified (reused from what serves, or handed over).
    have: BTreeMap<ArtifactKind, Arc<LoadedArtifact>>,
    /// What the host must fetch: (kind, URI).
    need: Vec<(ArtifactKind, String)>,
    /// The set it replaces (its compiled catalog is the base of the new one).
    base: ArtifactSet,
}

/// A release (or a release's pins alone) staged for one commit.
pub(crate) struct PendingRelease {
    /// The release id (also the documents' `release_id`).
    pub id: String,
    /// The tenant's document generation the release was staged against: a write that lands
    /// in between supersedes it.
    pub doc_gen: Option<u64>,
    /// Both documents and the release id; `None` installs the pins alone.
    pub update: Option<DocsUpdate>,
    pub surfaces: BTreeMap<String, Staged>,
    pub now: Timestamp,
}

/// What committing a staged release did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Commit {
    /// Installed in one swap; how many surfaces were recompiled.
    Installed(usize),
    /// Waiting for the host's fetch: (surface, URIs) per surface.
    Waiting(Vec<(String, Vec<String>)>),
    /// Another write changed the tenant's documents since staging: nothing was installed.
    Superseded,
}

/// One surface's change, as the release answers and the sync report it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PinApplied {
    pub surface: String,
    /// `artifacts.pin` or `artifacts.unpin`.
    pub action: &'static str,
    /// URIs the host must fetch (a pin waiting for artifacts, or a surface not served yet).
    pub fetch: Vec<String>,
}

impl std::fmt::Debug for PendingRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRelease")
            .field("id", &self.id)
            .field("doc_gen", &self.doc_gen)
            .field("surfaces", &self.surfaces)
            .finish_non_exhaustive()
    }
}

impl PendingRelease {
    /// The changes it makes, by surface (fetch lists included).
    pub fn applied(&self) -> Vec<PinApplied> {
        self.surfaces
            .iter()
            .map(|(s, st)| PinApplied {
                surface: s.clone(),
                action: match st {
                    Staged::Unpin => crate::control::actions::ARTIFACTS_UNPIN,
                    _ => crate::control::actions::ARTIFACTS_PIN,
                },
                fetch: match st {
                    Staged::Wait(w) => w.need.iter().map(|(_, u)| u.clone()).collect(),
                    Staged::Unserved(info) => ArtifactKind::ALL
                        .iter()
                        .filter_map(|k| info.manifest.uri(*k).map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect()
    }

    fn waiting(&self) -> Vec<(String, Vec<String>)> {
        self.surfaces
            .iter()
            .filter_map(|(s, st)| match st {
                Staged::Wait(w) => {
                    Some((s.clone(), w.need.iter().map(|(_, u)| u.clone()).collect()))
                }
                _ => None,
            })
            .collect()
    }
}

/// One artifact a waiting release needs: its kind, URI, and what the host handed over
/// (verified), `None` when it was staged one at a time or not handed over.
type HandedOver = (
    ArtifactKind,
    String,
    Option<Result<LoadedArtifact, ApiError>>,
);

/// A failure to stage a surface's pin (the release installs nothing).
fn pin_error(surface: &str, e: ApiError) -> ApiError {
    let mut e = e;
    e.message = format!("artifacts[{surface:?}]: {}", e.message);
    e
}

impl Engine {
    /// Stages the pins of `target` that change what this engine serves: a surface it pins
    /// to a manifest other than the one serving (or not pinned yet), a surface it unpins
    /// that is pinned. Surfaces this engine has no state for, and those `skip` names (a
    /// later pin or unpin of the surface was applied), are left alone. Runs with no lock
    /// held while manifests are parsed and catalogs compiled.
    pub(crate) fn stage_pins(
        &self,
        tenant: &str,
        target: &Release,
        skip: impl Fn(&str) -> bool,
    ) -> Result<BTreeMap<String, Staged>, ApiError> {
        let mut out = BTreeMap::new();
        for (surface, version) in &target.artifacts {
            if skip(surface) {
                continue;
            }
            let current = {
                let st = self.lock_state();
                let Some(s) = st.surfaces.get(&(tenant.to_owned(), surface.clone())) else {
                    continue;
                };
                let serving = s.set.manifest.as_ref().map(|m| m.version.clone());
                (
                    s.pinned.is_some(),
                    serving,
                    s.loaded,
                    s.set.clone(),
                    held(s),
                )
            };
            let (pinned, serving, loaded, set, held) = current;
            let Some(v) = version else {
                if pinned {
                    out.insert(surface.clone(), Staged::Unpin);
                }
                continue;
            };
            if pinned && serving.as_deref() == Some(v.as_str()) {
                continue;
            }
            let text = target.manifests.get(v).ok_or_else(|| {
                pin_error(
                    surface,
                    ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!("the release names manifest {v:?} but does not carry its text"),
                    ),
                )
            })?;
            let limits = &self.options.artifact_limits;
            let info = parse_manifest_doc(tenant, surface, text, limits)
                .map_err(|e| pin_error(surface, e))?;
            let staged = if loaded {
                stage_set(info, set, &held)
            } else {
                Staged::Unserved(info)
            };
            out.insert(surface.clone(), staged);
        }
        Ok(out)
    }

    /// Commits a staged release under one write lock: every surface's set and pin flag,
    /// both documents and the release id, then one rebuild swapped in at once. A release
    /// still waiting for artifacts is kept in the state (replacing any other waiting release
    /// of the tenant) and its fetch lists answered.
    pub(crate) fn commit_release(&self, tenant: &str, mut pending: PendingRelease) -> Commit {
        let plan = {
            let mut guard = self.lock_state();
            let st = &mut *guard;
            if st.doc_gens.get(tenant).copied() != pending.doc_gen {
                return Commit::Superseded;
            }
            // A release staged earlier is superseded by this one, whatever it becomes.
            drop_waiting(st, tenant);
            let waiting = pending.waiting();
            if !waiting.is_empty() {
                for (surface, staged) in &pending.surfaces {
                    if let (Staged::Wait(w), Some(s)) = (
                        staged,
                        st.surfaces.get_mut(&(tenant.to_owned(), surface.clone())),
                    ) {
                        // The loader's hand-over steps find the manifest they serve.
                        s.pending = Some(w.info.clone());
                        s.staged.clear();
                    }
                }
                st.releases.insert(tenant.to_owned(), pending);
                return Commit::Waiting(waiting);
            }
            let now = pending.now;
            for (surface, staged) in std::mem::take(&mut pending.surfaces) {
                let s = st.surfaces.entry((tenant.to_owned(), surface)).or_default();
                apply_staged(s, staged, now);
            }
            if let Some(update) = &pending.update {
                let docs = Arc::new(update.apply(st.docs.get(tenant).map(|d| &**d)));
                st.commit_docs(tenant, docs);
            }
            st.plan_rebuild(tenant, None)
        };
        Commit::Installed(self.rebuild(plan).len())
    }

    /// The hand-over of artifacts a waiting release asked for (`loader_apply_artifacts` of
    /// a surface the tenant's waiting release pins): `None` when no release waits on
    /// (tenant, surface). Verified with no lock held; a failure drops the waiting release
    /// (what serves is untouched, the failures are recorded on the surface); the hand-over
    /// that completes the last surface installs the release.
    pub(crate) fn release_artifacts(
        &self,
        tenant: &str,
        surface: &str,
        now: Timestamp,
        fetched: &BTreeMap<String, Fetch>,
    ) -> Option<Result<Value, ApiError>> {
        let key = (tenant.to_owned(), surface.to_owned());
        let (id, need) = {
            let st = self.lock_state();
            let r = st.releases.get(tenant)?;
            let Some(Staged::Wait(w)) = r.surfaces.get(surface) else {
                return None;
            };
            // A refresh or manual pin that replaced the pending manifest is not ours.
            let ours = st.surfaces.get(&key).and_then(|s| s.pending.as_ref());
            if ours.map(|p| &p.version) != Some(&w.info.version) {
                return None;
            }
            (r.id.clone(), w.need.clone())
        };
        let limits = &self.options.artifact_limits;
        let verified: Vec<HandedOver> = need
            .into_iter()
            .map(|(kind, uri)| {
                let got = match fetched.get(&uri) {
                    Some(Fetch::Found(b)) => {
                        Some(load_blob(b, kind, &uri, tenant, surface, limits))
                    }
                    Some(Fetch::NotFound) => Some(Err(ApiError::new(
                        ErrorCode::ArtifactNotFound,
                        "artifact not found",
                    ))),
                    Some(Fetch::Error(e)) => {
                        Some(Err(ApiError::new(ErrorCode::ArtifactUnreadable, e.clone())))
                    }
                    None => None, // staged one at a time, or missing
                };
                (kind, uri, got)
            })
            .collect();
        Some(self.finish_release_surface(tenant, surface, &id, now, verified))
    }

    /// The locked half of [`Engine::release_artifacts`].
    fn finish_release_surface(
        &self,
        tenant: &str,
        surface: &str,
        id: &str,
        now: Timestamp,
        verified: Vec<HandedOver>,
    ) -> Result<Value, ApiError> {
        let key = (tenant.to_owned(), surface.to_owned());
        let mut guard = self.lock_state();
        let st = &mut *guard;
        let still = st.releases.get(tenant).is_some_and(|r| r.id == id);
        let (Some(s), true) = (st.surfaces.get_mut(&key), still) else {
            return Err(no_release(tenant, surface));
        };
        let mut staged = std::mem::take(&mut s.staged);
        let mut got = BTreeMap::new();
        let mut failed = 0usize;
        for (kind, uri, v) in verified {
            let v = match v {
                Some(v) => v.map(Arc::new),
                None => staged.remove(&uri).unwrap_or_else(|| {
                    Err(ApiError::new(
                        ErrorCode::ArtifactNotFound,
                        "artifact not found",
                    ))
                }),
            };
            match v {
                Ok(a) => {
                    got.insert(kind, a);
                }
                Err(e) => {
                    let code = e.problems.first().map(|p| p.code).unwrap_or(e.code);
                    self.record(|m| crate::ops::metrics::record_artifact_failure(m, kind.as_str()));
                    s.fail(kind.as_str(), &uri, code, e.message.clone(), now);
                    failed += 1;
                }
            }
        }
        s.pending = None;
        if failed > 0 {
            // Nothing of the release is installed: the previous one keeps serving whole.
            drop_waiting(st, tenant);
            let detail = format!("{failed} artifacts of release {id} failed verification or could not be read; the release was not installed and the previous one keeps serving");
            return Ok(outcome(
                tenant,
                surface,
                "kept",
                Some(id),
                detail,
                st.surfaces.get(&key),
            ));
        }
        let Some(r) = st.releases.get_mut(tenant) else {
            return Err(no_release(tenant, surface));
        };
        if let Some(Staged::Wait(w)) = r.surfaces.remove(surface) {
            let mut have = w.have;
            have.extend(got);
            let mut set = ready_set(w.info, have);
            set.follow(&w.base);
            r.surfaces.insert(surface.to_owned(), Staged::Ready(set));
        }
        let waiting = r.waiting();
        if !waiting.is_empty() {
            let names: Vec<&str> = waiting.iter().map(|(s, _)| s.as_str()).collect();
            let detail = format!(
                "release {id} waits for the artifacts of {}",
                names.join(", ")
            );
            return Ok(outcome(
                tenant,
                surface,
                "staged",
                Some(id),
                detail,
                st.surfaces.get(&key),
            ));
        }
        let Some(pending) = st.releases.remove(tenant) else {
            return Err(no_release(tenant, surface));
        };
        drop(guard);
        // Compile the new catalogs off to the side, before the commit swaps them in.
        for staged in pending.surfaces.values() {
            if let Staged::Ready(set) = staged {
                set.catalog();
            }
        }
        let result = match self.commit_release(tenant, pending) {
            Commit::Installed(_) => ("swapped", format!("release {id} installed")),
            _ => (
                "superseded",
                format!("the tenant's documents changed while release {id} waited for its artifacts; it was not installed (sync installs the current release)"),
            ),
        };
        let st = self.lock_state();
        Ok(outcome(
            tenant,
            surface,
            result.0,
            Some(id),
            result.1,
            st.surfaces.get(&key),
        ))
    }
}

/// Drops the tenant's waiting release, and the manifests its surfaces were waiting on (a
/// late hand-over for it is refused rather than applied as a refresh).
fn drop_waiting(st: &mut crate::loader::SourceState, tenant: &str) {
    let Some(r) = st.releases.remove(tenant) else {
        return;
    };
    for (surface, staged) in &r.surfaces {
        let Staged::Wait(w) = staged else { continue };
        if let Some(s) = st.surfaces.get_mut(&(tenant.to_owned(), surface.clone())) {
            if s.pending
                .as_ref()
                .is_some_and(|p| p.version == w.info.version)
            {
                s.pending = None;
                s.staged.clear();
            }
        }
    }
}

/// Verified artifacts a pin can reuse: what serves and what is held, by URI.
fn held(s: &SurfaceState) -> Vec<Arc<LoadedArtifact>> {
    s.held.values().map(|h| h.artifact.clone()).collect()
}

/// The set a pinned manifest will serve: artifacts it names at a URI already verified are
/// reused, the rest are listed for the host to fetch.
fn stage_set(info: ManifestInfo, base: ArtifactSet, held: &[Arc<LoadedArtifact>]) -> Staged {
    let mut have = BTreeMap::new();
    let mut need = Vec::new();
    for kind in ArtifactKind::ALL {
        let Some(uri) = info.manifest.uri(kind) else {
            continue;
        };
        let known = base
            .artifacts
            .get(&kind)
            .filter(|a| a.uri == uri)
            .or_else(|| held.iter().find(|a| a.kind == kind && a.uri == uri));
        match known {
            Some(a) => {
                have.insert(kind, a.clone());
            }
            None => need.push((kind, uri.to_owned())),
        }
    }
    if need.is_empty() {
        let mut set = ready_set(info, have);
        set.follow(&base);
        // Compiled here, off to the side: the commit only swaps it in.
        set.catalog();
        Staged::Ready(set)
    } else {
        Staged::Wait(Waiting {
            info,
            have,
            need,
            base,
        })
    }
}

fn ready_set(
    info: ManifestInfo,
    artifacts: BTreeMap<ArtifactKind, Arc<LoadedArtifact>>,
) -> ArtifactSet {
    ArtifactSet {
        manifest: Some(info),
        artifacts,
        ..ArtifactSet::default()
    }
}

/// Applies one surface's staged change to its loader state (under the write lock).
fn apply_staged(s: &mut SurfaceState, staged: Staged, now: Timestamp) {
    match staged {
        Staged::Ready(set) => {
            s.set = set;
            s.loaded = true;
            s.pinned = Some(now);
            s.held.clear();
            s.pending = None;
            s.staged.clear();
            s.last_success = Some(now);
        }
        Staged::Unserved(info) => {
            s.pinned = Some(now);
            s.held.clear();
            s.pending = Some(info);
            s.staged.clear();
        }
        Staged::Wait(_) => {}
        Staged::Unpin => {
            s.pinned = None;
            s.next_due = None;
        }
    }
}

/// A loader-style report of a release hand-over.
fn outcome(
    tenant: &str,
    surface: &str,
    outcome: &str,
    release: Option<&str>,
    detail: String,
    s: Option<&SurfaceState>,
) -> Value {
    let mut m = Map::new();
    m.push("tenant", Value::str(tenant));
    m.push("surface", Value::str(surface));
    m.push("outcome", Value::str(outcome));
    m.push("detail", Value::String(detail));
    if let Some(id) = release {
        m.push("release_id", Value::str(id));
    }
    if let Some(mi) = s.and_then(|s| s.set.manifest.as_ref()) {
        m.push("manifest_version", Value::str(&mi.version));
    }
    if let Some(s) = s.filter(|s| !s.failures.is_empty() && outcome == "kept") {
        let f: Vec<Value> = s.failures.iter().take(5).map(|f| f.to_value()).collect();
        m.push("failures", Value::Array(f));
    }
    Value::Object(m)
}

fn no_release(tenant: &str, surface: &str) -> ApiError {
    ApiError::new(
        ErrorCode::LoaderNoPendingManifest,
        format!("no release is waiting for artifacts of tenant {tenant:?} surface {surface:?}"),
    )
}
