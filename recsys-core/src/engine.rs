//! The serving entry points (`recommend`, `validate`, `similar`) and the engine that holds the
//! current compiled snapshot per (tenant, surface) behind an atomic pointer: readers never
//! lock, a new snapshot replaces the old one in one swap, and in-flight requests finish on the
//! snapshot they started with.

mod admin;
mod builder;
mod context;
mod documents;
mod lifecycle;

pub use crate::preview::{
    ChangeCause, ChangedRequest, FailedRequest, ItemChange, PreviewDetail, PreviewReport,
    PreviewRequest, PreviewVersions, RuleFired, ServedVersions,
};
pub use crate::release::{ReleaseReport, ReleaseRequest, ReleaseRollback};
pub use admin::{Admin, ArtifactChange, Invalidated, InvalidatedTarget, Written};
pub use builder::EngineBuilder;
pub use context::Context;
pub use documents::{Documents, IntoDocument, LoadReport};
pub use lifecycle::{DueSurface, ExposureBatch, Loader, Refresh, Served, SurfaceId};

use crate::compile::{assemble, ArtifactSet, TenantDocs};
use crate::config::SurfaceConfig;
use crate::control::DocKind;
use crate::decode::direct::DirectCall;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::Value;
use crate::loader::SourceState;
use crate::ops::exposure::{ExposureEvent, ExposureSink};
use crate::ops::metrics::{self, Metrics, MetricsRegistry, Outcome};
use crate::ops::rule_stats::RuleOutcome;
use crate::ops::Endpoint;
use crate::request::{CallContext, Explain, Options, RecommendRequest, SimilarRequest};
use crate::serve::answer::{ExperimentMeta, Recommendation, Validation, ValidationMeta};
use crate::serve::prewritten::Prewritten;
use crate::serve::request::{Input, Request};
use crate::serve::spec::Spec;
use crate::serve::{Decision, Form, Text, TextAnswer, Typed};
use crate::snapshot::{StrHashState, TenantSnapshot};
use arc_swap::ArcSwap;
use std::borrow::Cow;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::{Arc, Mutex};

pub use crate::options::{EngineOptions, ExposureOptions};

#[cfg(test)]
thread_local! {
    /// Requests [`Engine::serve_direct`] decided as read, with no `RecommendRequest` (tests
    /// count them).
    pub(crate) static DIRECT_SERVED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The current snapshot per (tenant, surface). Hashed with the snapshots' seeded string
/// hasher (a request's tenant and surface are hashed on every call: SipHash cost ~290
/// instructions there) and looked up by borrowed strings ([`SurfaceKey`]), so that a call
/// allocates no owned key.
type SnapshotMap = hashbrown::HashMap<(String, String), Arc<Installed>, StrHashState>;

/// A snapshot as installed: the snapshot, and what every JSON answer from it writes the
/// same (`meta`'s version members, the most popular items' score texts:
/// [`crate::serve::prewritten`]), written once here rather than per answer.
struct Installed {
    snap: Arc<TenantSnapshot>,
    pre: Prewritten,
}

impl Installed {
    /// `snap` as installed in place of `previous` (whose pre-written parts it may share),
    /// its answers labelled `label` ([`EngineOptions::algo_version`]).
    fn new(
        snap: &Arc<TenantSnapshot>,
        previous: Option<&Arc<Installed>>,
        label: &str,
    ) -> Arc<Installed> {
        let previous = previous.map(|p| (&*p.snap, &p.pre));
        Arc::new(Installed {
            pre: Prewritten::of(snap, previous, label),
            snap: snap.clone(),
        })
    }
}

/// A (tenant, surface) key borrowed from a request: hashes and compares as the owned
/// `(String, String)` key of [`SnapshotMap`] (a tuple hashes its fields in order, and a
/// `String` hashes as its `str`).
#[derive(Hash)]
struct SurfaceKey<'a>(&'a str, &'a str);

impl hashbrown::Equivalent<(String, String)> for SurfaceKey<'_> {
    fn equivalent(&self, key: &(String, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// A serving engine. `Send + Sync`; share one per process.
pub struct Engine {
    pub(crate) options: EngineOptions,
    snapshots: ArcSwap<SnapshotMap>,
    /// Write side only (loads, refreshes, document changes); requests never take it.
    state: Mutex<SourceState>,
    /// Versioned config/rules documents, audit and access control (in memory unless the
    /// host supplies its own store).
    pub(crate) control: crate::control::ControlPlane,
    registry: Arc<MetricsRegistry>,
    metrics_adapter: Option<Arc<dyn Metrics>>,
    exposure_sink: Option<Arc<dyn ExposureSink>>,
    exposures: Mutex<std::collections::VecDeque<Value>>,
    exposures_dropped: std::sync::atomic::AtomicU64,
    /// Admission gate of `recommend` / `similar` (disabled unless the `backpressure` option
    /// sets `max_in_flight`).
    gate: crate::ops::AdmissionGate,
    /// Identity for the adapter guards ([`crate::adapters`]).
    id: usize,
    /// Snapshots replaced by the engine's own write paths, kept until no request holds
    /// them, so the last reference is dropped on a write path, not on a request thread
    /// (freeing a 1M-item catalog takes ~0.1 s).
    retired: Mutex<Vec<Arc<TenantSnapshot>>>,
    /// Where each tenant stands relative to the store (see [`crate::sync`]).
    pub(crate) sync: Mutex<crate::sync::SyncState>,
    /// Per-rule outcome counts (`rule_telemetry` option).
    pub(crate) rule_stats: crate::ops::rule_stats::RuleStats,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::with_options(EngineOptions::default())
    }
}

impl Engine {
    /// An engine with default options and an in-memory store (see [`Engine::builder`]).
    ///
    /// ```
    /// use recsys_core::Engine;
    ///
    /// let engine = Engine::new();
    /// assert!(engine.loaded().is_empty());
    /// assert!(engine.options().rules_enabled);
    /// ```
    pub fn new() -> Engine {
        Engine::default()
    }

    /// An engine with `options` and an in-memory store (see [`Engine::builder`]).
    ///
    /// ```
    /// use recsys_core::{Engine, EngineOptions};
    ///
    /// let mut options = EngineOptions::default();
    /// options.algo_version = "blend-v2".into();
    /// let engine = Engine::with_options(options);
    /// assert_eq!(engine.options().algo_version, "blend-v2");
    /// ```
    pub fn with_options(options: EngineOptions) -> Engine {
        Engine::with_control(options, crate::control::ControlPlane::in_memory())
    }

    /// An engine whose control plane uses the host's document store.
    /// The `roles` option, when set, replaces the control plane's access policy.
    pub(crate) fn with_control(
        options: EngineOptions,
        control: crate::control::ControlPlane,
    ) -> Engine {
        let control = match &options.roles {
            Some(p) => control.with_policy(p.clone()),
            None => control,
        };
        let b = &options.backpressure;
        let gate = crate::ops::AdmissionGate::new(
            usize::try_from(b.max_in_flight).unwrap_or(usize::MAX),
            usize::try_from(b.max_queue).unwrap_or(usize::MAX),
            b.queue_timeout,
        )
        .with_retry_after(b.retry_after);
        let control = match &options.audit_keys {
            Some(k) => control.with_audit_keys(Some(k.clone())),
            None => control,
        };
        Engine {
            gate,
            options,
            snapshots: ArcSwap::default(),
            state: Mutex::default(),
            control,
            registry: Arc::default(),
            metrics_adapter: None,
            exposure_sink: None,
            exposures: Mutex::default(),
            exposures_dropped: Default::default(),
            id: crate::adapters::next_engine_id(),
            retired: Mutex::default(),
            sync: Mutex::default(),
            rule_stats: Default::default(),
        }
    }

    /// The raw control plane over the store (versioned documents, audit, access control).
    /// Writes through it reach the store only; [`Engine::admin`] is the same plane with
    /// every write also served (and artifact actions audited).
    pub(crate) fn control(&self) -> &crate::control::ControlPlane {
        &self.control
    }

    /// The options the engine was built with.
    ///
    /// ```
    /// let engine = recsys_core::Engine::builder().options_json(r#"{"metrics": true}"#).build()?;
    /// assert!(engine.options().metrics);
    /// assert!(engine.options().exposure.is_none());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Marks this engine busy on the current thread for one operation; fails with
    /// `RECSYS_ADAPTER_REENTRANT` when one of its adapters is calling back into it.
    pub(crate) fn enter(&self) -> Result<crate::adapters::Busy, ApiError> {
        crate::adapters::Busy::enter(self.id)
    }

    /// The write-side state. Every update to it is computed first and stored in one
    /// assignment, so a poisoned lock (a panic elsewhere while held) is safe to reuse.
    /// Metric events for the host's adapter raised while it is held are delivered after
    /// it is released (see [`crate::adapters`]).
    pub(crate) fn lock_state(&self) -> crate::adapters::StateGuard<'_> {
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let adapter = if self.options.metrics {
            self.metrics_adapter.as_deref()
        } else {
            None
        };
        crate::adapters::StateGuard::new(guard, self.id, adapter)
    }

    /// `load_snapshot`: verifies the artifacts and validates the documents first (no lock
    /// held), then, under the write lock, merges the supplied config/rules with the tenant's
    /// *current* documents (a field copy) and records them; snapshots are assembled after the
    /// lock is released. Merging under the lock is what keeps a config or rules write that
    /// lands while the artifacts are being verified from being overwritten by the load.
    /// The lifecycle bench reloads pre-parsed documents through it; users call
    /// [`Engine::load_snapshot`].
    pub(crate) fn load_documents(
        &self,
        docs: &crate::compile::Documents,
    ) -> Result<(Arc<TenantSnapshot>, crate::compile::CompileReport), ApiError> {
        crate::snapshot::parallel::with_threads(self.load_threads(), || {
            let set = crate::compile::artifact_set(docs, &self.options.artifact_limits)?;
            self.install_documents(docs, set)
        })
    }

    /// Threads a load may use: two while the engine serves nothing yet (a cold start, where
    /// load time is all that matters), one once it serves, so a reload never takes the core
    /// requests are served on (see [`crate::snapshot::parallel`]).
    pub(crate) fn load_threads(&self) -> usize {
        if self.snapshots.load().is_empty() {
            2
        } else {
            1
        }
    }

    /// The rest of [`Engine::load_documents`] once the artifacts are verified: validates the
    /// documents, then commits and assembles as it says.
    pub(crate) fn install_documents(
        &self,
        docs: &crate::compile::Documents,
        set: ArtifactSet,
    ) -> Result<(Arc<TenantSnapshot>, crate::compile::CompileReport), ApiError> {
        let update = crate::compile::DocsUpdate::of_documents(docs)?;
        let (td, plan) = {
            let mut st = self.lock_state();
            let td = Arc::new(update.apply(st.docs.get(docs.tenant).map(|d| &**d)));
            let plan = st.commit_load(docs.tenant, docs.surface, td.clone(), set.clone());
            (td, plan)
        };
        let snap = self.built_for(docs.tenant, docs.surface, self.rebuild(plan), &td, &set);
        let report = crate::compile::report_for(&td, &set, &snap);
        Ok((snap, report))
    }

    /// The snapshot a write built for `surface` (assembled here if a racing writer's plan
    /// left it out, which cannot happen for the surface the write itself changed).
    fn built_for(
        &self,
        tenant: &str,
        surface: &str,
        built: Vec<(String, Arc<TenantSnapshot>)>,
        docs: &TenantDocs,
        set: &ArtifactSet,
    ) -> Arc<TenantSnapshot> {
        match built.into_iter().find(|(s, _)| s == surface) {
            Some((_, snap)) => snap,
            None => Arc::new(assemble(tenant, surface, docs, set)),
        }
    }

    /// Replaces a tenant's config document (`None` removes it) and recompiles its surfaces.
    /// An invalid document changes nothing. Returns how many surfaces were recompiled.
    ///
    /// ```
    /// # use recsys_core::{Context, Documents, Engine, Timestamp};
    /// # let engine = Engine::builder().build()?;
    /// # engine.load_snapshot(Documents::new("demo", "home")
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// # let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo");
    /// use recsys_core::json::parse;
    ///
    /// let config = parse(br#"{"weights": {"pop": 1}}"#).unwrap();
    /// assert_eq!(engine.set_config("demo", Some(&config))?, 1);   // one surface recompiled
    /// let version = |e: &Engine| e.snapshot("demo", "home").unwrap().config_version().map(String::from);
    /// let before = version(&engine).expect("the config serves");
    /// let bad = parse(br#"{"weights": "heavy"}"#).unwrap();
    /// assert!(engine.set_config("demo", Some(&bad)).is_err());
    /// assert_eq!(version(&engine), Some(before));                 // nothing changed
    /// assert_eq!(engine.set_config("demo", None)?, 1);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn set_config(&self, tenant: &str, config: Option<&Value>) -> Result<usize, ApiError> {
        // The caller's document is validated in place: no copy of it is made (a copy of a
        // 1,000-rule document and its drop were over half of a `set_rules`' instructions).
        self.update_docs_with(tenant, || crate::compile::DocsUpdate::config(config))
    }

    /// Replaces a tenant's rules document (`None` removes it) and recompiles its surfaces.
    ///
    /// ```
    /// # use recsys_core::{Context, Documents, Engine, Timestamp};
    /// # let engine = Engine::builder().build()?;
    /// # engine.load_snapshot(Documents::new("demo", "home")
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// # let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo");
    /// # use recsys_core::{RecommendRequest, User};
    /// let rules = recsys_core::json::parse(br#"[{"action": "block", "item_ids": ["a"]}]"#).unwrap();
    /// assert_eq!(engine.set_rules("demo", Some(&rules))?, 1);
    /// let rec = engine.recommend(&RecommendRequest::new("home", User::id("u1")), &ctx)?;
    /// assert_eq!(rec.items.iter().map(|i| i.item_id.as_str()).collect::<Vec<_>>(), ["b"]);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn set_rules(&self, tenant: &str, rules: Option<&Value>) -> Result<usize, ApiError> {
        self.update_docs_with(tenant, || crate::compile::DocsUpdate::rules(tenant, rules))
    }

    /// Reads a document with `fetch` and applies it, with no lock held while `fetch` (a host
    /// adapter, for the admin ops) runs or while the document is validated. Writers are
    /// ordered optimistically: the tenant's document generation is read before `fetch`, and
    /// the result is applied only if no other document write landed in between; otherwise
    /// this one fetches again. So a writer can never apply an older fetch over a newer one,
    /// and each retry means another writer made progress. (The tests' way of racing
    /// writers; `set_config` and `set_rules` validate the caller's document in place.)
    #[cfg(test)]
    pub(crate) fn set_document_with(
        &self,
        tenant: &str,
        kind: DocKind,
        fetch: impl Fn() -> Result<Option<Value>, ApiError>,
    ) -> Result<usize, ApiError> {
        self.update_docs_with(tenant, || {
            let doc = fetch()?;
            match kind {
                DocKind::Config => crate::compile::DocsUpdate::config(doc.as_ref()),
                DocKind::Rules => crate::compile::DocsUpdate::rules(tenant, doc.as_ref()),
            }
        })
    }

    /// The optimistic write loop behind [`Engine::set_document_with`]: `update` fetches and validates with no lock held; the
    /// result is committed only if no other document write landed since it started.
    fn update_docs_with(
        &self,
        tenant: &str,
        update: impl Fn() -> Result<crate::compile::DocsUpdate, ApiError>,
    ) -> Result<usize, ApiError> {
        loop {
            let seen = self.lock_state().doc_gens.get(tenant).copied();
            let update = update()?;
            if let Some(n) = self.commit_update(tenant, seen, &update) {
                return Ok(n);
            }
        }
    }

    /// Applies a validated update to `tenant`'s documents unless another write changed them
    /// since generation `seen` was read (then `None`: the caller re-reads and retries), and
    /// rebuilds the tenant's snapshots; answers how many were rebuilt.
    fn commit_update(
        &self,
        tenant: &str,
        seen: Option<u64>,
        update: &crate::compile::DocsUpdate,
    ) -> Option<usize> {
        let plan = {
            let mut st = self.lock_state();
            if st.doc_gens.get(tenant).copied() != seen {
                return None;
            }
            let td = Arc::new(update.apply(st.docs.get(tenant).map(|d| &**d)));
            st.commit_docs(tenant, td);
            st.plan_rebuild(tenant, None)
        };
        Some(self.rebuild(plan).len())
    }

    /// Like [`Engine::set_document_with`], but `decide` sees the tenant's current documents
    /// and returns `None` to change nothing; answers how many surfaces were recompiled,
    /// `None` when nothing changed. `decide` runs with no lock held (it may read the store)
    /// and again when another write changed the tenant's documents in the meantime, so
    /// what it decided from is what is replaced.
    pub(crate) fn set_document_if(
        &self,
        tenant: &str,
        kind: DocKind,
        mut decide: impl FnMut(Option<&TenantDocs>) -> Result<Option<Value>, ApiError>,
    ) -> Result<Option<usize>, ApiError> {
        self.update_docs_if(tenant, |docs| {
            decide(docs)?
                .map(|doc| match kind {
                    DocKind::Config => crate::compile::DocsUpdate::config(Some(&doc)),
                    DocKind::Rules => crate::compile::DocsUpdate::rules(tenant, Some(&doc)),
                })
                .transpose()
        })
    }

    /// The loop behind [`Engine::set_document_if`]: `decide`
    /// runs with no lock held, again whenever another write changed the tenant's documents
    /// before its update could be committed.
    fn update_docs_if(
        &self,
        tenant: &str,
        mut decide: impl FnMut(
            Option<&TenantDocs>,
        ) -> Result<Option<crate::compile::DocsUpdate>, ApiError>,
    ) -> Result<Option<usize>, ApiError> {
        loop {
            let (seen, current) = {
                let st = self.lock_state();
                (
                    st.doc_gens.get(tenant).copied(),
                    st.docs.get(tenant).cloned(),
                )
            };
            let Some(update) = decide(current.as_deref())? else {
                return Ok(None);
            };
            if let Some(n) = self.commit_update(tenant, seen, &update) {
                return Ok(Some(n));
            }
        }
    }

    /// Assembles the snapshots of a plan with no lock held, then installs each one whose
    /// surface has not changed since the plan was made (a later writer's plan covers it and
    /// installs its own build). Returns every snapshot built, by surface.
    pub(crate) fn rebuild(&self, plan: Rebuild) -> Vec<(String, Arc<TenantSnapshot>)> {
        let built: Vec<(String, u64, Arc<TenantSnapshot>)> = plan
            .surfaces
            .into_iter()
            .map(|(s, set, gen)| {
                let snap = Arc::new(assemble(&plan.tenant, &s, &plan.docs, &set));
                (s, gen, snap)
            })
            .collect();
        let st = self.lock_state();
        let current: Vec<Arc<TenantSnapshot>> = built
            .iter()
            .filter(|(s, gen, _)| {
                st.surfaces
                    .get(&(plan.tenant.clone(), s.clone()))
                    .is_some_and(|ss| ss.gen == *gen)
            })
            .map(|(_, _, snap)| snap.clone())
            .collect();
        // Every surface of the plan in one swap: a request on any of them sees the write
        // whole or not at all.
        self.install_all_retiring(current);
        drop(st);
        built.into_iter().map(|(s, _, snap)| (s, snap)).collect()
    }

    /// Installs `snaps` in one swap and retires the snapshots they replace (see
    /// [`Engine::reap_retired`]).
    pub(crate) fn install_all_retiring(&self, snaps: Vec<Arc<TenantSnapshot>>) {
        if snaps.is_empty() {
            return;
        }
        let mut previous = Vec::new();
        let current = self.snapshots.load();
        let installed: Vec<Arc<Installed>> = snaps
            .iter()
            .map(|s| {
                let previous = current.get(&SurfaceKey(&s.tenant, &s.surface));
                Installed::new(s, previous, &self.options.algo_version)
            })
            .collect();
        drop(current);
        self.snapshots.rcu(|cur| {
            let mut next = SnapshotMap::clone(cur);
            previous.clear();
            for i in &installed {
                let key = (i.snap.tenant.clone(), i.snap.surface.clone());
                previous.extend(next.insert(key, i.clone()).map(|p| p.snap.clone()));
            }
            next
        });
        for _ in &snaps {
            self.record(metrics::record_snapshot_swap);
        }
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        retired.extend(previous);
        // Free what no request holds any more, here on the write path.
        retired.retain(|s| Arc::strong_count(s) > 1);
    }

    /// Frees retired snapshots that no request holds any more; returns how many are still
    /// held. The engine's write paths and `loader_due` call it; a host that installs rarely
    /// can call it from its refresh tick.
    pub(crate) fn reap_retired(&self) -> usize {
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        retired.retain(|s| Arc::strong_count(s) > 1);
        retired.len()
    }

    #[cfg(any(test, feature = "bench-internals"))]
    /// Makes `snap` the current snapshot for its (tenant, surface); returns the previous one.
    pub(crate) fn install(&self, snap: TenantSnapshot) -> Option<Arc<TenantSnapshot>> {
        self.install_arc(Arc::new(snap))
    }

    #[cfg(any(test, feature = "bench-internals"))]
    /// [`Engine::install`] for a snapshot already in an `Arc`.
    pub(crate) fn install_arc(&self, snap: Arc<TenantSnapshot>) -> Option<Arc<TenantSnapshot>> {
        let key = (snap.tenant.clone(), snap.surface.clone());
        let current = self.snapshots.load();
        let previous = current.get(&SurfaceKey(&snap.tenant, &snap.surface));
        let installed = Installed::new(&snap, previous, &self.options.algo_version);
        drop(current);
        let mut previous = None;
        self.snapshots.rcu(|cur| {
            let mut next = SnapshotMap::clone(cur);
            previous = next
                .insert(key.clone(), installed.clone())
                .map(|p| p.snap.clone());
            next
        });
        // Every path that serves a new snapshot (load_snapshot, the loader, admin writes)
        // comes through here, so this is the one place swaps are counted.
        self.record(metrics::record_snapshot_swap);
        previous
    }

    #[cfg(test)]
    /// Removes a snapshot; returns it if there was one.
    pub(crate) fn remove(&self, tenant: &str, surface: &str) -> Option<Arc<TenantSnapshot>> {
        let key = (tenant.to_string(), surface.to_string());
        let mut previous = None;
        self.snapshots.rcu(|cur| {
            let mut next = SnapshotMap::clone(cur);
            previous = next.remove(&key).map(|p| p.snap.clone());
            next
        });
        previous
    }

    /// The snapshot serving (tenant, surface), falling back to the tenant's `default` surface
    /// as the reference does ([`Served::fallback`] says whether the fallback was used).
    ///
    /// ```
    /// use recsys_core::{Documents, Engine};
    ///
    /// let engine = Engine::builder().build()?;
    /// engine.load_snapshot(Documents::new("demo", "default").signals(r#"{"popularity": []}"#))?;
    /// let served = engine.snapshot("demo", "checkout").expect("the default surface serves");
    /// assert!(served.fallback);
    /// assert_eq!(served.surface(), "default");
    /// assert!(engine.snapshot("acme", "home").is_none());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn snapshot(&self, tenant: &str, surface: &str) -> Option<Served> {
        self.installed(tenant, surface).map(|(i, fallback)| Served {
            snapshot: i.snap.clone(),
            fallback,
        })
    }

    /// [`Engine::snapshot`] as installed, and whether the `default` surface serves.
    fn installed(&self, tenant: &str, surface: &str) -> Option<(Arc<Installed>, bool)> {
        let map = self.snapshots.load();
        if let Some(s) = map.get(&SurfaceKey(tenant, surface)) {
            return Some((s.clone(), false));
        }
        map.get(&SurfaceKey(tenant, "default"))
            .map(|s| (s.clone(), true))
    }

    /// The (tenant, surface) pairs with a snapshot, sorted.
    ///
    /// ```
    /// use recsys_core::{Documents, Engine, SurfaceId};
    ///
    /// let engine = Engine::builder().build()?;
    /// for surface in ["pdp", "home"] {
    ///     engine.load_snapshot(Documents::new("demo", surface).signals(r#"{"popularity": []}"#))?;
    /// }
    /// assert_eq!(engine.loaded(), [SurfaceId::new("demo", "home"), SurfaceId::new("demo", "pdp")]);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn loaded(&self) -> Vec<SurfaceId> {
        let mut v: Vec<SurfaceId> = self
            .snapshots
            .load()
            .keys()
            .map(|(t, s)| SurfaceId::new(t.as_str(), s.as_str()))
            .collect();
        v.sort();
        v
    }

    fn snapshot_for(
        &self,
        ctx: &CallContext,
        surface: &str,
    ) -> Result<(Arc<Installed>, bool), ApiError> {
        self.installed(&ctx.tenant, surface).ok_or_else(|| {
            ApiError::new(
                ErrorCode::SnapshotNotFound,
                format!(
                    "no snapshot is loaded for tenant {:?} surface {surface:?}",
                    ctx.tenant
                ),
            )
        })
    }

    /// DB-only mode per request: serves `request` from `signals` supplied by the host (same
    /// ranking, rules and meta as artifact mode; the tenant's config and rules apply).
    ///
    /// ```
    /// use recsys_core::{Context, Engine, RecommendRequest, Timestamp, User};
    ///
    /// let engine = Engine::new();                      // nothing loaded: the host brings the signals
    /// let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo");
    /// let signals = recsys_core::json::parse(br#"{"popularity": [{"item_id": "x", "score": 1},
    ///     {"item_id": "y", "score": 5}]}"#).unwrap();
    /// let request = RecommendRequest::new("home", User::id("u1")).k(1);
    /// let rec = engine.recommend_with_signals(&request, &ctx, &signals)?;
    /// assert_eq!(rec.items[0].item_id, "y");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn recommend_with_signals(
        &self,
        request: &RecommendRequest,
        ctx: &CallContext,
        signals: &Value,
    ) -> Result<Recommendation, ApiError> {
        self.serve_signals::<Typed>(Input::recommend(request), ctx, signals)
    }

    /// `similar` over host-supplied signals (DB-only mode).
    ///
    /// ```
    /// use recsys_core::{Context, Engine, SimilarRequest, Timestamp};
    ///
    /// let engine = Engine::new();
    /// let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo");
    /// let signals = recsys_core::json::parse(br#"{"popularity": [{"item_id": "a", "score": 1},
    ///     {"item_id": "b", "score": 1}, {"item_id": "c", "score": 1}],
    ///     "cooc": [{"item_id": "a", "items": [{"item_id": "c", "score": 3}]}]}"#).unwrap();
    /// let rec = engine.similar_with_signals(&SimilarRequest::new("pdp", "a"), &ctx, &signals)?;
    /// assert_eq!(rec.items[0].item_id, "c");
    /// assert!(rec.items.iter().all(|i| i.item_id != "a"));   // never the anchor itself
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn similar_with_signals(
        &self,
        request: &SimilarRequest,
        ctx: &CallContext,
        signals: &Value,
    ) -> Result<Recommendation, ApiError> {
        self.serve_signals::<Typed>(Input::similar(request), ctx, signals)
    }

    /// DB-only mode for a typed or JSON request, answered in form `F`.
    pub(crate) fn serve_signals<F: Form>(
        &self,
        input: Input,
        ctx: &CallContext,
        signals: &Value,
    ) -> Result<F::Out, ApiError> {
        self.admitted::<F>(input.endpoint(), || {
            self.ephemeral(&input, ctx, signals)
                .and_then(|snap| self.serve::<F>(&input, ctx, &snap, None, false))
        })
    }

    /// A snapshot compiled for one request from host-supplied signals and the tenant's documents.
    fn ephemeral(
        &self,
        input: &Input,
        ctx: &CallContext,
        signals: &Value,
    ) -> Result<TenantSnapshot, ApiError> {
        let surface = input.surface();
        if !crate::request::is_path_safe(&surface) {
            // Let request validation produce the precise error.
            input.precheck()?;
        }
        let data = crate::compile::signals_from_value(signals, &self.options.artifact_limits)?;
        let docs = self
            .lock_state()
            .docs
            .get(&ctx.tenant)
            .cloned()
            .unwrap_or_default();
        let set = ArtifactSet {
            signals: Some(Arc::new(data)),
            ..ArtifactSet::default()
        };
        Ok(assemble(&ctx.tenant, &surface, &docs, &set))
    }

    /// `recommend`: a ranked list for a request.
    ///
    /// ```
    /// use recsys_core::{Context, Engine, RecommendRequest, Timestamp, User};
    ///
    /// let engine = Engine::new();
    /// engine.call(
    ///     "load_snapshot",
    ///     r#"{"tenant":"demo","surface":"home","signals":{"popularity":[
    ///         {"item_id":"a","score":3},{"item_id":"b","score":2}]}}"#,
    /// )?;
    /// let now = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").ok_or("bad time")?;
    /// let ctx = Context::new(now, "demo");
    /// let rec = engine.recommend(&RecommendRequest::new("home", User::id("u1")).k(5), &ctx)?;
    /// let ids: Vec<&str> = rec.items.iter().map(|i| i.item_id.as_str()).collect();
    /// assert_eq!(ids, ["a", "b"]);
    /// assert_eq!(rec.meta.counts.returned, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recommend(
        &self,
        request: &RecommendRequest,
        ctx: &CallContext,
    ) -> Result<Recommendation, ApiError> {
        self.serve_input::<Typed>(Input::recommend(request), ctx)
    }

    /// `similar`: neighbours of one item, with constraints and rules applied. The answer has
    /// the shape of `recommend`'s (`meta.experiment` is never set).
    ///
    /// ```
    /// use recsys_core::{Context, Documents, Engine, SimilarRequest, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// engine.load_snapshot(Documents::new("demo", "pdp").signals(r#"{
    ///     "popularity": [{"item_id": "a", "score": 1}, {"item_id": "b", "score": 1}, {"item_id": "c", "score": 1}],
    ///     "cooc": [{"item_id": "a", "items": [{"item_id": "c", "score": 3}]}]}"#))?;
    /// let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo");
    /// let rec = engine.similar(&SimilarRequest::new("pdp", "a").k(5), &ctx)?;
    /// assert_eq!(rec.items[0].item_id, "c");
    /// assert!(rec.meta.experiment.is_none());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn similar(
        &self,
        request: &SimilarRequest,
        ctx: &CallContext,
    ) -> Result<Recommendation, ApiError> {
        self.serve_input::<Typed>(Input::similar(request), ctx)
    }

    /// Serves a typed or JSON request on the snapshot of its surface, answered in form `F`.
    pub(crate) fn serve_input<F: Form>(
        &self,
        input: Input,
        ctx: &CallContext,
    ) -> Result<F::Out, ApiError> {
        self.admitted::<F>(input.endpoint(), || {
            self.lookup(&input, ctx).and_then(|(i, fell_back)| {
                self.serve::<F>(&input, ctx, &i.snap, Some(&i.pre), fell_back)
            })
        })
    }

    /// Whether the call path may answer in the [`crate::serve::Text`] form: an exposure event
    /// is made from the typed answer, so with exposure logging on the call path builds one.
    pub(crate) fn text_form(&self) -> bool {
        self.options.exposure.is_none()
    }

    /// Runs one `recommend` / `similar` under a slot of the admission gate and records it.
    /// The slot is held until the answer is built and observed (metrics, exposure event),
    /// so a slow host adapter counts as load; without a slot the answer is 503
    /// `RECSYS_OVERLOADED` (recorded with outcome `overload`).
    fn admitted<F: Form>(
        &self,
        endpoint: Endpoint,
        run: impl FnOnce() -> Result<(F::Out, Option<ExposureEvent>), ApiError>,
    ) -> Result<F::Out, ApiError> {
        let permit = self.admit();
        let r = match &permit {
            Ok(_) => run(),
            Err(e) => Err(e.clone()),
        };
        self.observe::<F>(endpoint, &r);
        drop(permit);
        r.map(|(v, _)| v)
    }

    /// A slot of the admission gate, or 503 `RECSYS_OVERLOADED` with `retry_after`.
    /// Rejections are counted in `recsys_backpressure_rejections_total` when metrics are on.
    fn admit(&self) -> Result<crate::ops::Permit, ApiError> {
        self.gate.try_acquire().map_err(|o| {
            if self.options.metrics {
                let sinks: [Option<&dyn Metrics>; 2] =
                    [Some(&*self.registry), self.metrics_adapter.as_deref()];
                for m in sinks.into_iter().flatten() {
                    m.counter(metrics::names::BACKPRESSURE_REJECTIONS_TOTAL, &[], 1);
                }
            }
            ApiError::from(o)
        })
    }

    #[cfg(test)]
    /// The admission gate's counters (in flight, waiting, admitted, rejected).
    pub(crate) fn gate_stats(&self) -> crate::ops::GateStats {
        self.gate.stats()
    }

    /// Publishes the gate's in-flight and waiting gauges into the built-in registry (at
    /// scrape time, when the gate is enabled).
    pub(crate) fn export_gate_gauges(&self) {
        if self.gate.is_enabled() {
            self.gate.export(&*self.registry);
        }
    }

    /// The snapshot for a request; without one, request errors are reported first.
    fn lookup(&self, input: &Input, ctx: &CallContext) -> Result<(Arc<Installed>, bool), ApiError> {
        self.snapshot_for(ctx, &input.surface()).or_else(|e| {
            input.precheck()?;
            Err(e)
        })
    }

    /// Decodes (or checks) and runs one request on a snapshot (`pre`: its
    /// [`Installed::pre`], when installed). When the `default` surface serves
    /// another surface, the requested surface's config overrides and rule scopes apply.
    pub(crate) fn serve<F: Form>(
        &self,
        input: &Input,
        ctx: &CallContext,
        snap: &TenantSnapshot,
        pre: Option<&Prewritten>,
        fell_back: bool,
    ) -> Result<(F::Out, Option<ExposureEvent>), ApiError> {
        // Recorded when dropped, after the answer is made in its caller's place.
        let mut outcomes = Outcomes(&self.rule_stats, Vec::new());
        self.serve_on::<F>(input, ctx, (snap, pre, fell_back), &mut outcomes.1)
    }

    /// [`Engine::serve`] without recording rule telemetry: the outcomes are handed back
    /// (preview serves requests that never reach users).
    pub(crate) fn serve_with<F: Form>(
        &self,
        input: &Input,
        ctx: &CallContext,
        snap: &TenantSnapshot,
        fell_back: bool,
        outcomes: &mut Vec<(String, RuleOutcome)>,
    ) -> Result<(F::Out, Option<ExposureEvent>), ApiError> {
        self.serve_on::<F>(input, ctx, (snap, None, fell_back), outcomes)
    }

    /// [`Engine::serve_with`] on (snapshot, its versions' text when installed, whether the
    /// `default` surface serves).
    fn serve_on<F: Form>(
        &self,
        input: &Input,
        ctx: &CallContext,
        (snap, pre, fell_back): (&TenantSnapshot, Option<&Prewritten>, bool),
        outcomes: &mut Vec<(String, RuleOutcome)>,
    ) -> Result<(F::Out, Option<ExposureEvent>), ApiError> {
        let base = served_config(snap, &input.surface(), fell_back);
        let base: &SurfaceConfig = &base;
        let endpoint = input.endpoint();
        match input {
            Input::Recommend(r) => {
                let (req, warns) = r.resolve(&base.limits)?;
                self.guards(base, req.k, &req.options, ctx)?;
                // Experiment assignment: the variant's overrides (weights, algorithm, rules
                // switch) apply on top of the surface config; request weights still win.
                let experiments = self.options.experiments.as_ref();
                let assignment = experiments.and_then(|a| a.assign_request(&req, ctx.now));
                let over = assignment
                    .as_ref()
                    .and_then(|a| experiments.and_then(|x| x.overrides(a)));
                let variant_cfg;
                let cfg: &SurfaceConfig = match over {
                    Some(o) => {
                        variant_cfg = with_overrides(base, o);
                        &variant_cfg
                    }
                    None => base,
                };
                let spec = Spec::for_recommend(snap, cfg, &req);
                let decision = self.decision((snap, pre, fell_back), cfg, &spec, ctx);
                let experiment = assignment.as_ref().map(|a| ExperimentMeta {
                    id: a.experiment_id.clone(),
                    variant: a.variant.clone(),
                });
                let answer = crate::serve::run::<F>(&decision, warns, outcomes, experiment)?;
                let typed = F::typed(&answer);
                let event = self
                    .options
                    .exposure
                    .as_ref()
                    .zip(typed)
                    .map(|(x, answer)| {
                        let mut ev = ExposureEvent::from_recommendation(endpoint, answer, ctx)
                            .with_request(&req);
                        if x.include_request {
                            ev.request = Some(req.to_value());
                        }
                        match &assignment {
                            Some(a) => ev.with_assignment(a),
                            None => ev,
                        }
                    });
                Ok((answer, event))
            }
            Input::Similar(r) => {
                let (req, warns) = r.resolve(&base.limits)?;
                self.guards(base, req.k, &req.options, ctx)?;
                let spec = Spec::for_similar(snap, base, &req);
                let decision = self.decision((snap, pre, fell_back), base, &spec, ctx);
                let answer = crate::serve::run::<F>(&decision, warns, outcomes, None)?;
                let event = self
                    .options
                    .exposure
                    .as_ref()
                    .zip(F::typed(&answer))
                    .map(|(_, answer)| ExposureEvent::from_recommendation(endpoint, answer, ctx));
                Ok((answer, event))
            }
        }
    }

    /// The decision of `spec` under `cfg` on (snapshot, its versions' text when installed,
    /// whether the `default` surface serves).
    fn decision<'a>(
        &'a self,
        (snap, pre, fell_back): (&'a TenantSnapshot, Option<&'a Prewritten>, bool),
        cfg: &'a SurfaceConfig,
        spec: &'a Spec<'a>,
        ctx: &'a CallContext,
    ) -> Decision<'a> {
        Decision {
            opts: &self.options,
            snap,
            cfg,
            fell_back,
            spec,
            ctx,
            pre,
        }
    }

    /// A `recommend` call read straight from its text ([`crate::decode::direct`]), answered
    /// as text: [`Engine::serve_input`]'s answer (and error, metrics, rule telemetry) for
    /// the same request and context. Served as the request was read, with no
    /// `RecommendRequest` made and no string of it copied, when its surface has a snapshot,
    /// it passes the serving surface's limits and no experiment can assign it; otherwise
    /// through [`Engine::serve_on`] (a missing snapshot, the limits' errors and what the
    /// tree decoder makes of a list over its limit are that path's).
    pub(crate) fn serve_direct(&self, call: &DirectCall<'_>) -> Result<String, ApiError> {
        context::with_direct(&call.ctx, |ctx| {
            self.admitted::<Text>(Endpoint::Recommend, || {
                // Recorded when dropped, after the answer is made in its caller's place.
                let mut outcomes = Outcomes(&self.rule_stats, Vec::new());
                self.direct_on(call, ctx, &mut outcomes.1)
            })
        })
        .map(|answer| answer.text)
    }

    /// [`Engine::serve_direct`] under its admission slot.
    fn direct_on(
        &self,
        call: &DirectCall<'_>,
        ctx: &CallContext,
        outcomes: &mut Vec<(String, RuleOutcome)>,
    ) -> Result<(TextAnswer, Option<ExposureEvent>), ApiError> {
        let d = &call.request;
        let input = Input::Recommend(Request::Direct(d));
        let found = self.installed(call.ctx.tenant, d.surface());
        let plain = self.options.experiments.is_none() && self.options.exposure.is_none();
        let Some((i, fell_back)) = found.filter(|_| plain) else {
            let (i, fell_back) = self.lookup(&input, ctx)?;
            return self.serve_on::<Text>(
                &input,
                ctx,
                (&i.snap, Some(&i.pre), fell_back),
                outcomes,
            );
        };
        let on: (&TenantSnapshot, _, _) = (&i.snap, Some(&i.pre), fell_back);
        let cfg = served_config(&i.snap, d.surface(), fell_back);
        let cfg: &SurfaceConfig = &cfg;
        let Some((checked, warns)) = d.check(&cfg.limits) else {
            return self.serve_on::<Text>(&input, ctx, on, outcomes);
        };
        self.guards(cfg, checked.k, &checked.options, ctx)?;
        #[cfg(test)]
        DIRECT_SERVED.set(DIRECT_SERVED.get() + 1);
        let spec = Spec::recommend(&i.snap, cfg, d.parts(&checked));
        let decision = self.decision(on, cfg, &spec, ctx);
        let answer = crate::serve::run::<Text>(&decision, warns, outcomes, None)?;
        Ok((answer, None))
    }

    /// Records metrics (when enabled) and delivers the exposure event (when configured) of a
    /// finished call.
    fn observe<F: Form>(
        &self,
        endpoint: Endpoint,
        result: &Result<(F::Out, Option<ExposureEvent>), ApiError>,
    ) {
        if self.options.metrics {
            let sinks: [Option<&dyn Metrics>; 2] =
                [Some(&*self.registry), self.metrics_adapter.as_deref()];
            for m in sinks.into_iter().flatten() {
                match result {
                    Ok((answer, _)) => metrics::record_counts(
                        m,
                        endpoint,
                        Outcome::Success,
                        F::returned(answer),
                        F::warnings(answer).iter().map(|w| w.code),
                    ),
                    Err(e) => {
                        metrics::record_error(m, endpoint, e);
                    }
                }
            }
        }
        if let (Ok((_, Some(ev))), Some(x)) = (result, &self.options.exposure) {
            let ok = match x.encoder().encode(ev) {
                Ok(v) => match &self.exposure_sink {
                    Some(sink) => sink.emit(&v).is_ok(),
                    None => {
                        let mut q = self.exposures.lock().unwrap_or_else(|p| p.into_inner());
                        if q.len() >= x.queue_limit {
                            q.pop_front();
                            self.exposures_dropped.fetch_add(1, AtomicOrdering::Relaxed);
                        }
                        q.push_back(v);
                        true
                    }
                },
                Err(_) => false,
            };
            self.record(|m| metrics::record_exposure(m, x.format.as_str(), ok));
        }
    }

    /// Takes up to `max` queued exposure events (oldest first) and the count dropped because
    /// the queue was full since the last drain. Events queue when the `exposure` option is
    /// set and no [`EngineBuilder::exposure_sink`] is.
    ///
    /// ```
    /// let engine = recsys_core::Engine::builder()
    ///     .options_json(r#"{"exposure": {"format": "service_v1", "salt": "s", "key_id": "k1"}}"#)
    ///     .build()?;
    /// let batch = engine.drain_exposures(100);
    /// assert!(batch.events.is_empty());
    /// assert_eq!(batch.dropped, 0);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn drain_exposures(&self, max: usize) -> ExposureBatch {
        let mut q = self.exposures.lock().unwrap_or_else(|p| p.into_inner());
        let n = max.min(q.len());
        ExposureBatch {
            events: q.drain(..n).collect(),
            dropped: self.exposures_dropped.swap(0, AtomicOrdering::Relaxed),
        }
    }

    /// Runs `f` on every metrics destination when the `metrics` option is on.
    pub(crate) fn record(&self, f: impl Fn(&dyn Metrics)) {
        if self.options.metrics {
            f(&*self.registry);
            if let Some(a) = &self.metrics_adapter {
                crate::adapters::to_adapter(self.id, &**a, &f);
            }
        }
    }

    /// The built-in metrics registry (filled when the `metrics` option is on).
    pub(crate) fn metrics_registry(&self) -> &MetricsRegistry {
        &self.registry
    }

    /// Also sends metrics to a host adapter.
    ///
    /// ```
    /// use recsys_core::{Engine, Metrics};
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    ///
    /// #[derive(Default)]
    /// struct Counted(AtomicU64);
    /// impl Metrics for Counted {
    ///     fn counter(&self, _: &str, _: &[(&str, &str)], delta: u64) { self.0.fetch_add(delta, Ordering::Relaxed); }
    ///     fn histogram(&self, _: &str, _: &[(&str, &str)], _: f64) {}
    ///     fn gauge(&self, _: &str, _: &[(&str, &str)], _: f64) {}
    /// }
    /// let counted = Arc::new(Counted::default());
    /// let engine = Engine::builder().options_json(r#"{"metrics": true}"#).build()?
    ///     .with_metrics_adapter(counted.clone());
    /// let _ = engine.call("recommend", r#"{"request": {"surface": "home", "user": {"user_id": "u"}},
    ///     "ctx": {"now": "2026-01-02T00:00:00Z", "tenant": "demo"}}"#);   // fails: nothing loaded
    /// assert!(counted.0.load(Ordering::Relaxed) > 0);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn with_metrics_adapter(mut self, m: Arc<dyn Metrics>) -> Engine {
        self.metrics_adapter = Some(m);
        self
    }

    /// Sends exposure events to a host sink instead of the in-engine queue.
    ///
    /// ```
    /// use recsys_core::{Documents, Engine, MemorySink};
    /// use std::sync::Arc;
    ///
    /// let sink = Arc::new(MemorySink::new());
    /// let engine = Engine::builder()
    ///     .options_json(r#"{"exposure": {"format": "service_v1", "salt": "s", "key_id": "k1"}}"#)
    ///     .build()?
    ///     .with_exposure_sink(sink.clone());
    /// engine.load_snapshot(Documents::new("demo", "home").signals(r#"{"popularity": [{"item_id": "a", "score": 1}]}"#))?;
    /// engine.call("recommend", r#"{"request": {"surface": "home", "user": {"user_id": "u"}},
    ///     "ctx": {"now": "2026-01-02T00:00:00Z", "tenant": "demo"}}"#)?;
    /// assert_eq!(sink.len(), 1);
    /// assert!(engine.drain_exposures(10).events.is_empty());     // the sink got it instead
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn with_exposure_sink(mut self, s: Arc<dyn ExposureSink>) -> Engine {
        self.exposure_sink = Some(s);
        self
    }

    /// `validate`: the request checked against the limits of the surface that would serve
    /// it, without ranking; answers it with the `meta` a `recommend` would carry.
    ///
    /// ```
    /// # use recsys_core::{Context, Documents, Engine, Timestamp};
    /// # let engine = Engine::builder().build()?;
    /// # engine.load_snapshot(Documents::new("demo", "home")
    /// #     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// # let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo");
    /// # use recsys_core::{RecommendRequest, User};
    /// let v = engine.validate(&RecommendRequest::new(" home ", User::id("u1")).k(5), &ctx)?;
    /// assert_eq!(v.normalized_request.surface, "home");
    /// assert_eq!((v.meta.tenant_id.as_str(), v.meta.surface.as_str()), ("demo", "home"));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn validate(
        &self,
        request: &RecommendRequest,
        ctx: &CallContext,
    ) -> Result<Validation, ApiError> {
        self.validate_input(&Request::Typed(request), ctx)
    }

    /// `validate` for a typed or JSON request: checked against the limits of the surface
    /// that would serve it.
    pub(crate) fn validate_input(
        &self,
        request: &Request<RecommendRequest>,
        ctx: &CallContext,
    ) -> Result<Validation, ApiError> {
        let surface = request.surface();
        let snap = self
            .snapshot(&ctx.tenant, &surface)
            .map(|s| (s.snapshot, s.fallback));
        let limits = match &snap {
            Some((s, fell_back)) => served_config(s, &surface, *fell_back).limits.clone(),
            None => Default::default(),
        };
        let (req, warnings) = request.resolve(&limits)?;
        let meta = ValidationMeta {
            tenant_id: ctx.tenant.clone(),
            surface: req.surface.clone(),
            segment: req.segment.clone(),
            algo_version: match &snap {
                Some((s, _)) => {
                    crate::serve::meta::algo_version(&self.options, s.algo_explicit, s.config.algo)
                }
                None => self.options.algo_version.clone(),
            },
            request_id: (!ctx.request_id.is_empty()).then(|| ctx.request_id.clone()),
        };
        let lint = self.served_lint(&ctx.tenant, &meta.surface, ctx.now);
        Ok(Validation {
            normalized_request: req.into_owned(),
            warnings,
            meta,
            lint,
        })
    }

    fn guards(
        &self,
        cfg: &SurfaceConfig,
        k: u32,
        o: &Options,
        ctx: &CallContext,
    ) -> Result<(), ApiError> {
        let max = cfg.limits.explain_max_items;
        if o.explain != Explain::None && max > 0 && k > max {
            return Err(ApiError::new(
                ErrorCode::ExplainTooLarge,
                format!("explain payload too large: k is {k}, explain allows at most {max}"),
            ));
        }
        if self.options.explain_require_admin
            && !self.options.admin_role.is_empty()
            && (o.include_trace || o.explain == Explain::Full)
            && !ctx.has_role(&self.options.admin_role)
        {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "insufficient scope: explain full and include_trace need the admin role",
            ));
        }
        Ok(())
    }
}

/// The config `surface` is served with on `snap`: the snapshot's own, or, when the `default`
/// surface serves it (`fell_back`), the tenant's config with that surface's overrides.
fn served_config<'s>(
    snap: &'s TenantSnapshot,
    surface: &str,
    fell_back: bool,
) -> Cow<'s, SurfaceConfig> {
    if fell_back {
        Cow::Owned(snap.tenant_config.for_surface(surface))
    } else {
        Cow::Borrowed(&snap.config)
    }
}

/// Rule outcomes of one served request, recorded into the engine's rule telemetry when
/// dropped.
struct Outcomes<'a>(
    &'a crate::ops::rule_stats::RuleStats,
    Vec<(String, RuleOutcome)>,
);

impl Drop for Outcomes<'_> {
    fn drop(&mut self) {
        self.0.record(&self.1);
    }
}

/// A surface config with an experiment variant's overrides applied.
fn with_overrides(
    base: &SurfaceConfig,
    o: &crate::ops::experiments::VariantOverrides,
) -> SurfaceConfig {
    let mut c = base.clone();
    if let Some(w) = o.weights {
        c.weights = Some(w);
    }
    if let Some(a) = o.algo {
        c.algo = a;
    }
    if let Some(r) = o.rules_enabled {
        c.rules_enabled = r;
    }
    c
}

/// Snapshots to build after a write: the tenant's documents and, per surface, the artifacts
/// and the generation they were taken at.
pub(crate) struct Rebuild {
    tenant: String,
    docs: Arc<TenantDocs>,
    surfaces: Vec<(String, ArtifactSet, u64)>,
}

impl SourceState {
    fn next_gen(&mut self) -> u64 {
        self.gen += 1;
        self.gen
    }

    /// Records new documents for `tenant` (a new document generation).
    pub(crate) fn commit_docs(&mut self, tenant: &str, docs: Arc<TenantDocs>) {
        let g = self.next_gen();
        self.doc_gens.insert(tenant.to_string(), g);
        self.docs.insert(tenant.to_string(), docs);
    }

    /// Records a load of (tenant, surface) and plans the rebuild: that surface, and every
    /// other loaded surface of the tenant when its config or rules changed.
    fn commit_load(
        &mut self,
        tenant: &str,
        surface: &str,
        docs: Arc<TenantDocs>,
        set: ArtifactSet,
    ) -> Rebuild {
        let changed = self.docs.get(tenant).is_none_or(|d| {
            d.config_version != docs.config_version || d.rules_version != docs.rules_version
        });
        self.commit_docs(tenant, docs);
        let s = self
            .surfaces
            .entry((tenant.to_string(), surface.to_string()))
            .or_default();
        s.set = set;
        s.loaded = true;
        self.plan_rebuild(tenant, (!changed).then_some(surface))
    }

    /// Gives `tenant`'s loaded surfaces (only `only`, when given) a new generation and
    /// returns what their snapshots are built from.
    pub(crate) fn plan_rebuild(&mut self, tenant: &str, only: Option<&str>) -> Rebuild {
        let g = self.next_gen();
        let docs = self.docs.get(tenant).cloned().unwrap_or_default();
        let mut surfaces = Vec::new();
        for ((t, s), ss) in self.surfaces.iter_mut() {
            if t == tenant && ss.loaded && only.is_none_or(|o| o == s) {
                ss.gen = g;
                surfaces.push((s.clone(), ss.set.clone(), g));
            }
        }
        Rebuild {
            tenant: tenant.to_string(),
            docs,
            surfaces,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn loaded() -> Engine {
        let e = Engine::new();
        e.call(
            "load_snapshot",
            r#"{"tenant":"demo","surface":"home","signals":{"popularity":[{"item_id":"a","score":1}]}}"#,
        )
        .unwrap();
        e
    }

    fn serving_config_version(e: &Engine) -> Option<String> {
        e.snapshot("demo", "home")
            .and_then(|s| s.snapshot.versions.config_version.clone())
    }

    /// The host adapter behind a document write runs with no engine lock held, so it may
    /// call back into the engine (here: read the state, and load another tenant).
    #[test]
    fn document_fetch_runs_without_the_write_lock() {
        let e = loaded();
        let n = e
            .set_document_with("demo", DocKind::Config, || {
                assert!(e.state.try_lock().is_ok(), "fetch ran under the write lock");
                e.call(
                    "load_snapshot",
                    r#"{"tenant":"other","surface":"home","signals":{"popularity":[]}}"#,
                )?;
                Ok(Some(parse(br#"{"algo":"popularity"}"#).unwrap()))
            })
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            serving_config_version(&e),
            Some(crate::json::etag(br#"{"algo":"popularity"}"#).unwrap())
        );
    }

    /// After `load_snapshot`, config, rules and release changes compile only policy: every
    /// snapshot they serve shares the catalog the load compiled; a release names itself in
    /// the versions.
    #[test]
    fn document_and_release_changes_share_the_loaded_catalog() {
        let e = loaded();
        let catalog = |e: &Engine| e.snapshot("demo", "home").unwrap().snapshot.catalog.clone();
        let first = catalog(&e);
        e.set_config("demo", Some(&parse(br#"{"algo":"popularity"}"#).unwrap()))
            .unwrap();
        assert!(
            Arc::ptr_eq(&first, &catalog(&e)),
            "a config change rebuilt the catalog"
        );
        e.set_rules("demo", Some(&parse(b"[]").unwrap())).unwrap();
        assert!(
            Arc::ptr_eq(&first, &catalog(&e)),
            "a rules change rebuilt the catalog"
        );
        let config = parse(br#"{"algo":"blend"}"#).unwrap();
        let update =
            crate::compile::DocsUpdate::release("demo", Some(&config), None, "r1".into()).unwrap();
        let pending = crate::release::stage::PendingRelease {
            id: "r1".into(),
            doc_gen: e.lock_state().doc_gens.get("demo").copied(),
            update: Some(update),
            surfaces: Default::default(),
            now: crate::time::Timestamp::default(),
        };
        assert_eq!(
            e.commit_release("demo", pending),
            crate::release::stage::Commit::Installed(1)
        );
        let snap = e.snapshot("demo", "home").unwrap().snapshot;
        assert!(
            Arc::ptr_eq(&first, &snap.catalog),
            "a release rebuilt the catalog"
        );
        assert_eq!(snap.versions.release_id.as_deref(), Some("r1"));
        assert_eq!(snap.versions.rules_version, None);
        // A single-document change ends the release unit.
        e.set_config("demo", None).unwrap();
        assert_eq!(
            e.snapshot("demo", "home")
                .unwrap()
                .snapshot
                .versions
                .release_id,
            None
        );
    }

    /// A document write that lands while another writer's fetch is in flight makes that
    /// writer fetch again: the stale read is never applied over the newer write.
    #[test]
    fn a_write_during_a_fetch_makes_the_fetch_retry() {
        let e = loaded();
        let store = Mutex::new(r#"{"algo":"cooc"}"#.to_string());
        let fetches = std::sync::atomic::AtomicUsize::new(0);
        e.set_document_with("demo", DocKind::Config, || {
            let read = store.lock().unwrap().clone();
            if fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                // A racing writer stores and applies a newer document after our read.
                let newer = r#"{"algo":"popularity"}"#;
                *store.lock().unwrap() = newer.to_string();
                e.set_config("demo", Some(&parse(newer.as_bytes()).unwrap()))?;
            }
            Ok(Some(parse(read.as_bytes()).unwrap()))
        })
        .unwrap();
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(
            serving_config_version(&e),
            Some(crate::json::etag(br#"{"algo":"popularity"}"#).unwrap())
        );
    }

    /// The sync's conditional write decides with no engine lock held (it reads the store),
    /// and decides again from the new documents when another write lands in between, so
    /// it never replaces a document it did not see.
    #[test]
    fn a_conditional_write_decides_without_the_lock_and_again_after_a_race() {
        let e = loaded();
        let mut seen = Vec::new();
        let n = e
            .set_document_if("demo", DocKind::Config, |docs| {
                assert!(
                    e.state.try_lock().is_ok(),
                    "decide ran under the write lock"
                );
                seen.push(docs.and_then(|d| d.config_version.clone()));
                if seen.len() == 1 {
                    e.set_config("demo", Some(&parse(br#"{"algo":"cooc"}"#).unwrap()))?;
                }
                Ok(Some(parse(br#"{"algo":"popularity"}"#).unwrap()))
            })
            .unwrap();
        assert_eq!(n, Some(1));
        let cooc = crate::json::etag(br#"{"algo":"cooc"}"#).unwrap();
        assert_eq!(seen, vec![None, Some(cooc)]);
        assert_eq!(
            serving_config_version(&e),
            Some(crate::json::etag(br#"{"algo":"popularity"}"#).unwrap())
        );
        let unchanged = e.set_document_if("demo", DocKind::Config, |_| Ok(None));
        assert_eq!(unchanged.unwrap(), None);
    }

    /// Concurrent loads and config writes of one tenant: whatever the interleaving, what
    /// serves at the end is built from the documents the engine recorded last.
    #[test]
    fn concurrent_writers_converge_on_the_recorded_documents() {
        let e = loaded();
        std::thread::scope(|s| {
            for t in 0..4 {
                let e = &e;
                s.spawn(move || {
                    for i in 0..25 {
                        let doc = format!(r#"{{"weights":{{"pop":{}}}}}"#, t * 100 + i + 1);
                        e.set_config("demo", Some(&parse(doc.as_bytes()).unwrap()))
                            .unwrap();
                        e.call(
                            "load_snapshot",
                            r#"{"tenant":"demo","surface":"home","signals":{"popularity":[{"item_id":"a","score":1}]}}"#,
                        )
                        .unwrap();
                    }
                });
            }
        });
        let recorded = e.lock_state().docs["demo"].config_version.clone();
        assert!(recorded.is_some());
        assert_eq!(serving_config_version(&e), recorded);
    }

    #[test]
    fn options_parse_and_reject_typos() {
        let o = EngineOptions::from_value(
            &parse(br#"{"rules_enabled":false,"algo_version":"v2","admin_role":"boss","artifact_max_bytes":50000000}"#)
                .unwrap(),
        )
        .unwrap();
        assert!(!o.rules_enabled);
        assert_eq!(o.algo_version, "v2");
        assert_eq!(o.admin_role, "boss");
        assert_eq!(o.artifact_limits.max_bytes, 50_000_000);
        for bad in [
            r#"{"rules_enabld":false}"#,
            r#"{"rules_enabled":"no"}"#,
            r#"{"artifact_max_bytes":-1}"#,
            "[]",
        ] {
            let e = EngineOptions::from_value(&parse(bad.as_bytes()).unwrap()).unwrap_err();
            assert_eq!(e.code, "RECSYS_INVALID_OPTIONS", "{bad}");
        }
    }

    #[test]
    fn install_swaps_and_remove_drops() {
        let e = Engine::new();
        let cfg = crate::config::TenantConfig::default();
        let mk = || {
            TenantSnapshot::compile(
                "t",
                "s",
                &cfg,
                Vec::new(),
                Default::default(),
                Default::default(),
            )
        };
        assert!(e.install(mk()).is_none());
        assert!(e.install(mk()).is_some());
        assert_eq!(e.loaded(), vec![SurfaceId::new("t", "s")]);
        assert!(e.snapshot("t", "s").is_some_and(|s| !s.fallback));
        assert!(e.snapshot("t", "other").is_none());
        assert!(e.remove("t", "s").is_some());
        assert!(e.loaded().is_empty());
    }
}
