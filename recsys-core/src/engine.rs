//! The serving entry points (`recommend`, `validate`, `similar`) and the engine that holds the
//! current compiled snapshot per (tenant, surface) behind an atomic pointer: readers never
//! lock, a new snapshot replaces the old one in one swap, and in-flight requests finish on the
//! snapshot they started with.

use crate::candidates::{Filters, Keys, Pool, SignalMaps, StageCounts};
use crate::compile::{assemble, ArtifactSet, TenantDocs};
use crate::config::{Algo, SurfaceConfig, Weights};
use crate::control::DocKind;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{Map, Value};
use crate::loader::{is_stale, SourceState};
use crate::ops::exposure::{ExposureEvent, ExposureSink};
use crate::ops::metrics::{self, Metrics, MetricsRegistry, Outcome};
use crate::ops::rule_stats::RuleOutcome;
use crate::ops::Endpoint;
use crate::ranking::{self, CapCounts, MmrInfo, SelectParams};
use crate::request::{
    warnings as w, CallContext, Constraints, Explain, Options, RecommendRequest, SimilarRequest,
    Warning,
};
use crate::rules::eval::{self, Target};
use crate::rules::Rule;
use crate::snapshot::{ItemIdx, TenantSnapshot};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::{Arc, Mutex};

pub use crate::options::{EngineOptions, ExposureOptions};

type SnapshotMap = HashMap<(String, String), Arc<TenantSnapshot>>;

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
    pub fn new() -> Engine {
        Engine::default()
    }

    pub fn with_options(options: EngineOptions) -> Engine {
        Engine::with_control(options, crate::control::ControlPlane::in_memory())
    }

    /// An engine whose control plane uses the host's document store.
    /// The `roles` option, when set, replaces the control plane's access policy.
    pub fn with_control(options: EngineOptions, control: crate::control::ControlPlane) -> Engine {
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

    /// The control plane (versioned documents, audit, rollback, access control).
    pub fn control(&self) -> &crate::control::ControlPlane {
        &self.control
    }

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

    /// Installs documents and artifacts for (tenant, surface) as one snapshot, remembers them
    /// for later recompiles, and recompiles the tenant's other surfaces when its config or
    /// rules changed. Returns the snapshot built for (tenant, surface).
    pub fn install_parts(
        &self,
        tenant: &str,
        surface: &str,
        docs: TenantDocs,
        set: ArtifactSet,
    ) -> Arc<TenantSnapshot> {
        let docs = Arc::new(docs);
        let plan = {
            let mut st = self.lock_state();
            st.commit_load(tenant, surface, docs.clone(), set.clone())
        };
        self.built_for(tenant, surface, self.rebuild(plan), &docs, &set)
    }

    /// `load_snapshot`: verifies the artifacts and validates the documents first (no lock
    /// held), then, under the write lock, merges the supplied config/rules with the tenant's
    /// *current* documents (a field copy) and records them; snapshots are assembled after the
    /// lock is released. Merging under the lock is what keeps a config or rules write that
    /// lands while the artifacts are being verified from being overwritten by the load.
    pub fn load_documents(
        &self,
        docs: &crate::compile::Documents,
    ) -> Result<(Arc<TenantSnapshot>, crate::compile::CompileReport), ApiError> {
        let set = crate::compile::artifact_set(docs, &self.options.artifact_limits)?;
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
    pub fn set_config(&self, tenant: &str, config: Option<&Value>) -> Result<usize, ApiError> {
        self.set_document_with(tenant, DocKind::Config, || Ok(config.cloned()))
    }

    /// Replaces a tenant's rules document (`None` removes it) and recompiles its surfaces.
    pub fn set_rules(&self, tenant: &str, rules: Option<&Value>) -> Result<usize, ApiError> {
        self.set_document_with(tenant, DocKind::Rules, || Ok(rules.cloned()))
    }

    /// Reads a document with `fetch` and applies it, with no lock held while `fetch` (a host
    /// adapter, for the admin ops) runs or while the document is validated. Writers are
    /// ordered optimistically: the tenant's document generation is read before `fetch`, and
    /// the result is applied only if no other document write landed in between; otherwise
    /// this one fetches again. So a writer can never apply an older fetch over a newer one,
    /// and each retry means another writer made progress.
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

    /// Applies a release: `fetch` reads config and rules (and names their release) with no
    /// lock held, like [`Engine::set_document_with`]; both documents are then installed in
    /// one commit and one rebuild, so no request sees one without the other.
    pub(crate) fn set_release_with(
        &self,
        tenant: &str,
        fetch: impl Fn() -> Result<(Option<Value>, Option<Value>, String), ApiError>,
    ) -> Result<usize, ApiError> {
        self.update_docs_with(tenant, || {
            let (config, rules, release_id) = fetch()?;
            crate::compile::DocsUpdate::release(tenant, config.as_ref(), rules.as_ref(), release_id)
        })
    }

    /// The optimistic write loop behind [`Engine::set_document_with`] and
    /// [`Engine::set_release_with`]: `update` fetches and validates with no lock held; the
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
        loop {
            let (seen, current) = {
                let st = self.lock_state();
                (
                    st.doc_gens.get(tenant).copied(),
                    st.docs.get(tenant).cloned(),
                )
            };
            let Some(doc) = decide(current.as_deref())? else {
                return Ok(None);
            };
            let update = match kind {
                DocKind::Config => crate::compile::DocsUpdate::config(Some(&doc))?,
                DocKind::Rules => crate::compile::DocsUpdate::rules(tenant, Some(&doc))?,
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
        for (s, gen, snap) in &built {
            let current = st
                .surfaces
                .get(&(plan.tenant.clone(), s.clone()))
                .is_some_and(|ss| ss.gen == *gen);
            if current {
                self.install_retiring(snap.clone());
            }
        }
        drop(st);
        built.into_iter().map(|(s, _, snap)| (s, snap)).collect()
    }

    /// Installs `snap` and retires the snapshot it replaces (see [`Engine::reap_retired`]).
    pub(crate) fn install_retiring(&self, snap: Arc<TenantSnapshot>) {
        let previous = self.install_arc(snap);
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        retired.extend(previous);
        // Free what no request holds any more, here on the write path.
        retired.retain(|s| Arc::strong_count(s) > 1);
    }

    /// Frees retired snapshots that no request holds any more; returns how many are still
    /// held. The engine's write paths and `loader_due` call it; a host that installs rarely
    /// can call it from its refresh tick.
    pub fn reap_retired(&self) -> usize {
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        retired.retain(|s| Arc::strong_count(s) > 1);
        retired.len()
    }

    /// Makes `snap` the current snapshot for its (tenant, surface); returns the previous one.
    pub fn install(&self, snap: TenantSnapshot) -> Option<Arc<TenantSnapshot>> {
        self.install_arc(Arc::new(snap))
    }

    /// [`Engine::install`] for a snapshot already in an `Arc`.
    pub fn install_arc(&self, snap: Arc<TenantSnapshot>) -> Option<Arc<TenantSnapshot>> {
        let key = (snap.tenant.clone(), snap.surface.clone());
        let mut previous = None;
        self.snapshots.rcu(|cur| {
            let mut next = SnapshotMap::clone(cur);
            previous = next.insert(key.clone(), snap.clone());
            next
        });
        // Every path that serves a new snapshot (load_snapshot, the loader, admin writes)
        // comes through here, so this is the one place swaps are counted.
        self.record(metrics::record_snapshot_swap);
        previous
    }

    /// Removes a snapshot; returns it if there was one.
    pub fn remove(&self, tenant: &str, surface: &str) -> Option<Arc<TenantSnapshot>> {
        let key = (tenant.to_string(), surface.to_string());
        let mut previous = None;
        self.snapshots.rcu(|cur| {
            let mut next = SnapshotMap::clone(cur);
            previous = next.remove(&key);
            next
        });
        previous
    }

    /// The snapshot serving (tenant, surface), falling back to the tenant's `default` surface
    /// as the reference does; the flag says whether the fallback was used.
    pub fn snapshot(&self, tenant: &str, surface: &str) -> Option<(Arc<TenantSnapshot>, bool)> {
        let map = self.snapshots.load();
        if let Some(s) = map.get(&(tenant.to_string(), surface.to_string())) {
            return Some((s.clone(), false));
        }
        map.get(&(tenant.to_string(), "default".to_string()))
            .map(|s| (s.clone(), true))
    }

    /// (tenant, surface) pairs with a snapshot, sorted.
    pub fn loaded(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self.snapshots.load().keys().cloned().collect();
        v.sort();
        v
    }

    fn snapshot_for(
        &self,
        ctx: &CallContext,
        surface: &str,
    ) -> Result<(Arc<TenantSnapshot>, bool), ApiError> {
        self.snapshot(&ctx.tenant, surface).ok_or_else(|| {
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
    pub fn recommend_with_signals(
        &self,
        request: &Value,
        ctx: &CallContext,
        signals: &Value,
    ) -> Result<Value, ApiError> {
        self.admitted(Endpoint::Recommend, || {
            self.ephemeral(request, ctx, signals)
                .and_then(|snap| self.serve(Call::Recommend, request, ctx, &snap, false))
        })
    }

    /// `similar` over host-supplied signals (DB-only mode).
    pub fn similar_with_signals(
        &self,
        request: &Value,
        ctx: &CallContext,
        signals: &Value,
    ) -> Result<Value, ApiError> {
        self.admitted(Endpoint::Similar, || {
            self.ephemeral(request, ctx, signals)
                .and_then(|snap| self.serve(Call::Similar, request, ctx, &snap, false))
        })
    }

    /// A snapshot compiled for one request from host-supplied signals and the tenant's documents.
    fn ephemeral(
        &self,
        request: &Value,
        ctx: &CallContext,
        signals: &Value,
    ) -> Result<TenantSnapshot, ApiError> {
        let surface = peek_surface(request);
        if !crate::request::is_path_safe(&surface) {
            // Let request validation produce the precise error.
            RecommendRequest::from_value(request, &Default::default())?;
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
    pub fn recommend(&self, request: &Value, ctx: &CallContext) -> Result<Value, ApiError> {
        self.admitted(Endpoint::Recommend, || {
            self.lookup(request, ctx, Call::Recommend)
                .and_then(|(snap, fell_back)| {
                    self.serve(Call::Recommend, request, ctx, &snap, fell_back)
                })
        })
    }

    /// `similar`: neighbours of one item, with constraints and rules applied.
    pub fn similar(&self, request: &Value, ctx: &CallContext) -> Result<Value, ApiError> {
        self.admitted(Endpoint::Similar, || {
            self.lookup(request, ctx, Call::Similar)
                .and_then(|(snap, fell_back)| {
                    self.serve(Call::Similar, request, ctx, &snap, fell_back)
                })
        })
    }

    /// Runs one `recommend` / `similar` under a slot of the admission gate and records it.
    /// The slot is held until the answer is built and observed (metrics, exposure event),
    /// so a slow host adapter counts as load; without a slot the answer is 503
    /// `RECSYS_OVERLOADED` (recorded with outcome `overload`).
    fn admitted(
        &self,
        endpoint: Endpoint,
        run: impl FnOnce() -> Result<(Value, Option<ExposureEvent>), ApiError>,
    ) -> Result<Value, ApiError> {
        let permit = self.admit();
        let r = match &permit {
            Ok(_) => run(),
            Err(e) => Err(e.clone()),
        };
        self.observe(endpoint, &r);
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

    /// The admission gate's counters (in flight, waiting, admitted, rejected).
    pub fn gate_stats(&self) -> crate::ops::GateStats {
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
    fn lookup(
        &self,
        request: &Value,
        ctx: &CallContext,
        call: Call,
    ) -> Result<(Arc<TenantSnapshot>, bool), ApiError> {
        let surface = peek_surface(request);
        self.snapshot_for(ctx, &surface).or_else(|e| {
            match call {
                Call::Recommend => {
                    RecommendRequest::from_value(request, &Default::default()).map(|_| ())?
                }
                Call::Similar => {
                    SimilarRequest::from_value(request, &Default::default()).map(|_| ())?
                }
            }
            Err(e)
        })
    }

    /// Decodes and runs one request on a snapshot. When the `default` surface serves another
    /// surface, the requested surface's config overrides and rule scopes apply.
    pub(crate) fn serve(
        &self,
        call: Call,
        request: &Value,
        ctx: &CallContext,
        snap: &TenantSnapshot,
        fell_back: bool,
    ) -> Result<(Value, Option<ExposureEvent>), ApiError> {
        let mut outcomes = Vec::new();
        let r = self.serve_with(call, request, ctx, snap, fell_back, &mut outcomes);
        self.rule_stats.record(&outcomes);
        r
    }

    /// [`Engine::serve`] without recording rule telemetry: the outcomes are handed back
    /// (preview serves requests that never reach users).
    pub(crate) fn serve_with(
        &self,
        call: Call,
        request: &Value,
        ctx: &CallContext,
        snap: &TenantSnapshot,
        fell_back: bool,
        outcomes: &mut Vec<(String, RuleOutcome)>,
    ) -> Result<(Value, Option<ExposureEvent>), ApiError> {
        let fallback_cfg;
        let base: &SurfaceConfig = if fell_back {
            fallback_cfg = snap.tenant_config.for_surface(&peek_surface(request));
            &fallback_cfg
        } else {
            &snap.config
        };
        let endpoint = match call {
            Call::Recommend => Endpoint::Recommend,
            Call::Similar => Endpoint::Similar,
        };
        match call {
            Call::Recommend => {
                let (req, warns) = RecommendRequest::from_value(request, &base.limits)?;
                self.guards(base, req.k, &req.options, ctx)?;
                // Experiment assignment: the variant's overrides (weights, algorithm, rules
                // switch) apply on top of the surface config; request weights still win.
                let assignment = self
                    .options
                    .experiments
                    .as_ref()
                    .and_then(|a| a.assign_request(&req, ctx.now));
                let over = assignment
                    .as_ref()
                    .and_then(|a| {
                        self.options
                            .experiments
                            .as_ref()
                            .and_then(|x| x.overrides(a))
                    })
                    .cloned();
                let variant_cfg;
                let cfg: &SurfaceConfig = match &over {
                    Some(o) => {
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
                        variant_cfg = c;
                        &variant_cfg
                    }
                    None => base,
                };
                let spec = Spec::for_recommend(snap, cfg, &req);
                let mut answer = run(
                    &self.options,
                    snap,
                    cfg,
                    fell_back,
                    &spec,
                    warns,
                    ctx,
                    outcomes,
                );
                if let (Some(a), Value::Object(m)) = (&assignment, &mut answer) {
                    if let Some(Value::Object(meta)) = m.get_mut("meta") {
                        meta.insert("experiment", a.to_meta_value());
                    }
                }
                let event = self.options.exposure.as_ref().map(|x| {
                    let mut ev =
                        ExposureEvent::from_answer(endpoint, &answer, ctx).with_request(&req);
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
            Call::Similar => {
                let (req, warns) = SimilarRequest::from_value(request, &base.limits)?;
                self.guards(base, req.k, &req.options, ctx)?;
                let spec = Spec::for_similar(snap, base, &req);
                let answer = run(
                    &self.options,
                    snap,
                    base,
                    fell_back,
                    &spec,
                    warns,
                    ctx,
                    outcomes,
                );
                let event = self
                    .options
                    .exposure
                    .as_ref()
                    .map(|_| ExposureEvent::from_answer(endpoint, &answer, ctx));
                Ok((answer, event))
            }
        }
    }

    /// Records metrics (when enabled) and delivers the exposure event (when configured) of a
    /// finished call.
    fn observe(
        &self,
        endpoint: Endpoint,
        result: &Result<(Value, Option<ExposureEvent>), ApiError>,
    ) {
        if self.options.metrics {
            let sinks: [Option<&dyn Metrics>; 2] =
                [Some(&*self.registry), self.metrics_adapter.as_deref()];
            for m in sinks.into_iter().flatten() {
                match result {
                    Ok((answer, _)) => {
                        metrics::record_response(m, endpoint, Outcome::Success, answer)
                    }
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
    /// the queue was full since the last drain.
    pub fn drain_exposures(&self, max: usize) -> (Vec<Value>, u64) {
        let mut q = self.exposures.lock().unwrap_or_else(|p| p.into_inner());
        let n = max.min(q.len());
        (
            q.drain(..n).collect(),
            self.exposures_dropped.swap(0, AtomicOrdering::Relaxed),
        )
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
    pub fn metrics_registry(&self) -> &MetricsRegistry {
        &self.registry
    }

    /// Also sends metrics to a host adapter.
    pub fn with_metrics_adapter(mut self, m: Arc<dyn Metrics>) -> Engine {
        self.metrics_adapter = Some(m);
        self
    }

    /// Sends exposure events to a host sink instead of the in-engine queue.
    pub fn with_exposure_sink(mut self, s: Arc<dyn ExposureSink>) -> Engine {
        self.exposure_sink = Some(s);
        self
    }

    /// `validate`: the normalised request and its warnings, without ranking.
    pub fn validate(&self, request: &Value, ctx: &CallContext) -> Result<Value, ApiError> {
        let surface = peek_surface(request);
        let snap = self.snapshot(&ctx.tenant, &surface);
        let limits = match &snap {
            Some((s, false)) => s.config.limits.clone(),
            Some((s, true)) => s.tenant_config.for_surface(&surface).limits,
            None => Default::default(),
        };
        let (req, warns) = RecommendRequest::from_value(request, &limits)?;
        let mut out = Map::new();
        out.push("normalized_request", req.to_value());
        if !warns.is_empty() {
            out.push(
                "warnings",
                Value::Array(warns.iter().map(Warning::to_value).collect()),
            );
        }
        let mut meta = Map::new();
        meta.push("tenant_id", Value::str(&ctx.tenant));
        meta.push("surface", Value::str(&req.surface));
        meta.push("segment", Value::str(&req.segment));
        meta.push(
            "algo_version",
            Value::str(match &snap {
                Some((s, _)) => algo_version(&self.options, s.algo_explicit, s.config.algo),
                None => self.options.algo_version.clone(),
            }),
        );
        if !ctx.request_id.is_empty() {
            meta.push("request_id", Value::str(&ctx.request_id));
        }
        out.push("meta", Value::Object(meta));
        Ok(Value::Object(out))
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

fn peek_surface(request: &Value) -> String {
    request
        .as_object()
        .and_then(|m| {
            m.iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("surface"))
                .last()
                .map(|(_, v)| v)
        })
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Which serving call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    Recommend,
    Similar,
}

fn algo_version(o: &EngineOptions, explicit: bool, algo: Algo) -> String {
    if explicit {
        format!("{}:{}", o.algo_version, algo.as_str())
    } else {
        o.algo_version.clone()
    }
}

/// Where candidates come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Algo(Algo),
    Similar,
}

/// One decision to make: everything the pipeline needs, from recommend or similar.
struct Spec<'r> {
    surface: &'r str,
    segment: &'r str,
    k: u32,
    source: Source,
    weights: Weights,
    weights_defaulted: bool,
    user_key: &'r str,
    anchors: Vec<ItemIdx>,
    /// The request's own `anchors.item_ids` (catalog items): seeds, never co-occurrence candidates.
    seeds: Vec<ItemIdx>,
    /// Whether the user key has an implicit or session row (history).
    has_history: bool,
    include: &'r [String],
    exclude: &'r [String],
    /// Extra keys excluded by the call itself (the anchor of `similar`).
    exclude_item: Option<&'r str>,
    constraints: Option<&'r Constraints>,
    options: &'r Options,
}

fn resolve_weights(req: Option<Weights>, cfg: &SurfaceConfig) -> (Weights, bool) {
    let mut w = match (req, cfg.weights) {
        (Some(r), _) => r,
        (None, Some(c)) => c,
        (None, None) => {
            return (
                match cfg.algo {
                    Algo::Cooc => Weights {
                        pop: 0.0,
                        cooc: 1.0,
                        emb: 0.0,
                    },
                    Algo::Implicit => Weights {
                        pop: 0.0,
                        cooc: 0.0,
                        emb: 1.0,
                    },
                    Algo::Blend | Algo::Popularity => Weights::POPULARITY_ONLY,
                },
                true,
            )
        }
    };
    for x in [&mut w.pop, &mut w.cooc, &mut w.emb] {
        if !(x.is_finite() && *x > 0.0) {
            *x = 0.0;
        }
    }
    if w.is_zero() {
        w = Weights::POPULARITY_ONLY;
    }
    (w, false)
}

impl<'r> Spec<'r> {
    fn for_recommend(
        snap: &TenantSnapshot,
        cfg: &SurfaceConfig,
        req: &'r RecommendRequest,
    ) -> Spec<'r> {
        let (weights, weights_defaulted) = resolve_weights(req.weights, cfg);
        // Anchors: request anchors, then include ids (catalog items only), capped; else the
        // user's strongest implicit items as history.
        let max = cfg.limits.max_anchors;
        let mut anchors: Vec<ItemIdx> = Vec::new();
        let explicit = req
            .anchors
            .as_ref()
            .map(|(ids, _)| ids.as_slice())
            .unwrap_or(&[]);
        for id in explicit.iter().chain(req.include_ids.iter()) {
            if anchors.len() >= max {
                break;
            }
            if let Some(i) = snap.items.get(id) {
                if !anchors.contains(&i) {
                    anchors.push(i);
                }
            }
        }
        let seeds: Vec<ItemIdx> = explicit
            .iter()
            .filter_map(|id| snap.items.get(id))
            .collect();
        let user_key = req.user.key();
        let has_history = !user_key.is_empty()
            && (snap.implicit.contains_key(user_key) || snap.session.contains_key(user_key));
        if anchors.is_empty() && !user_key.is_empty() {
            if let Some(row) = snap.implicit.get(user_key) {
                anchors.extend(row.iter().take(10).map(|(i, _)| *i));
            }
        }
        Spec {
            surface: &req.surface,
            segment: &req.segment,
            k: req.k,
            source: Source::Algo(cfg.algo),
            weights,
            weights_defaulted,
            user_key,
            anchors,
            seeds,
            has_history,
            include: &req.include_ids,
            exclude: &req.exclude_ids,
            exclude_item: None,
            constraints: req.constraints.as_ref(),
            options: &req.options,
        }
    }

    fn for_similar(
        snap: &TenantSnapshot,
        cfg: &SurfaceConfig,
        req: &'r SimilarRequest,
    ) -> Spec<'r> {
        let weights = match cfg.weights {
            Some(w) if w.cooc > 0.0 || w.emb > 0.0 => Weights {
                pop: 0.0,
                cooc: w.cooc,
                emb: w.emb,
            },
            _ => Weights {
                pop: 0.0,
                cooc: 1.0,
                emb: 1.0,
            },
        };
        Spec {
            surface: &req.surface,
            segment: &req.segment,
            k: req.k,
            source: Source::Similar,
            weights,
            weights_defaulted: false,
            user_key: "",
            anchors: snap.items.get(&req.item_id).into_iter().collect(),
            seeds: snap.items.get(&req.item_id).into_iter().collect(),
            has_history: false,
            include: &req.include_ids,
            exclude: &req.exclude_ids,
            exclude_item: Some(&req.item_id),
            constraints: req.constraints.as_ref(),
            options: &req.options,
        }
    }
}

/// Content candidates per anchor tag (most popular items sharing the tag).
const CONTENT_PER_TAG: usize = 200;

/// Per-result explain data.
struct Out {
    pos: usize,
    pinned_by: Option<usize>,
    mmr: Option<MmrInfo>,
}

/// The decision pipeline shared by recommend and similar.
#[allow(clippy::too_many_arguments)]
fn run(
    opts: &EngineOptions,
    snap: &TenantSnapshot,
    cfg: &SurfaceConfig,
    fell_back: bool,
    spec: &Spec,
    mut warnings: Vec<Warning>,
    ctx: &CallContext,
    outcomes: &mut Vec<(String, RuleOutcome)>,
) -> Value {
    let mut keys = Keys::new(snap);
    // --- hard filters, resolved first ---
    let mut f = Filters::default();
    if !spec.include.is_empty() {
        let mut allow: Vec<u32> = spec.include.iter().map(|id| keys.key(snap, id)).collect();
        allow.sort_unstable();
        allow.dedup();
        f.allow = Some(allow);
    }
    for id in spec
        .exclude
        .iter()
        .map(String::as_str)
        .chain(spec.exclude_item)
    {
        // Interned even when unknown, so a rule naming the same id maps to the same key and
        // the exclusion still wins over its pin or boost.
        f.exclude.push(keys.key(snap, id));
    }
    f.exclude.sort_unstable();
    f.exclude.dedup();
    let mut max_per_tag = Vec::new();
    if let Some(c) = spec.constraints {
        if !c.required_tags.is_empty() {
            let mut r: Vec<u32> = c
                .required_tags
                .iter()
                .filter_map(|t| snap.tags().get(t))
                .collect();
            r.sort_unstable();
            f.required = Some(r);
        }
        f.forbidden = c
            .forbidden_tags
            .iter()
            .filter_map(|t| snap.tags().get(t))
            .collect();
        f.forbidden.sort_unstable();
        max_per_tag = c
            .max_per_tag
            .iter()
            .filter(|(_, n)| *n > 0)
            .filter_map(|(t, n)| snap.tags().get(t).map(|i| (i, *n)))
            .collect();
        max_per_tag.sort_unstable();
    }
    let rules_on = opts.rules_enabled && cfg.rules_enabled;
    let mut applied = if rules_on {
        eval::resolve(snap, &mut keys, spec.surface, spec.segment, ctx.now)
    } else {
        eval::Applied::default()
    };
    f.blocks = std::mem::take(&mut applied.blocks);

    // --- candidate pool ---
    let use_cooc = spec.weights.cooc > 0.0 || spec.source == Source::Algo(Algo::Cooc);
    let use_sim = spec.weights.emb > 0.0 || spec.source == Source::Algo(Algo::Implicit);
    let maps = SignalMaps::build(snap, &spec.anchors, spec.user_key, use_cooc, use_sim);
    let params = SelectParams {
        n: 0,
        lambda: cfg.diversity.mmr_lambda,
        brand_cap: cfg.diversity.brand_cap,
        category_cap: cfg.diversity.category_cap,
        max_per_tag,
    };
    let need = spec.k as usize + cfg.limits.max_pins as usize;
    let exact_pop = spec.weights.cooc == 0.0
        && spec.weights.emb == 0.0
        && applied.boosts.is_empty()
        && applied.pins.is_empty()
        && !params.greedy();
    let fanout = if exact_pop {
        need
    } else {
        need.max(cfg.limits.popularity_fanout as usize)
    };
    let mut pool = Pool::with_capacity(fanout.min(4096));
    let mut fell_back_to_pop = false;
    let pop_source = |pool: &mut Pool, keys: &Keys| {
        let mut taken = 0usize;
        for &i in &snap.pop_order {
            if taken >= fanout {
                break;
            }
            if pool.offer(snap, keys, &f, &maps, i) {
                taken += 1;
            }
        }
    };
    let cooc_source = |pool: &mut Pool, keys: &Keys| {
        let mut v: Vec<(u32, f64)> = maps.cooc.iter().map(|(k, c)| (*k, *c)).collect();
        v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (k, _) in v {
            // Explicit request anchors are the seeds, not co-occurrence candidates.
            if !spec.seeds.contains(&k) {
                pool.offer(snap, keys, &f, &maps, k);
            }
        }
    };
    let sim_sources = |pool: &mut Pool, keys: &Keys| {
        if !spec.user_key.is_empty() {
            for row in [
                snap.implicit.get(spec.user_key),
                snap.session.get(spec.user_key),
            ]
            .into_iter()
            .flatten()
            {
                for &(k, _) in row.iter() {
                    pool.offer(snap, keys, &f, &maps, k);
                }
            }
        }
        for &t in &maps.anchor_tags {
            if let Some(p) = snap.tag_index.postings(t) {
                let mut taken = 0;
                for &k in p.iter() {
                    if taken >= CONTENT_PER_TAG {
                        break;
                    }
                    if spec.anchors.contains(&k) {
                        continue;
                    }
                    if pool.offer(snap, keys, &f, &maps, k) {
                        taken += 1;
                    }
                }
            }
        }
    };
    if f.allow.is_some() {
        for id in spec.include {
            if let Some(k) = keys.lookup(snap, id) {
                pool.offer(snap, &keys, &f, &maps, k);
            }
        }
    } else {
        match spec.source {
            Source::Algo(Algo::Popularity) => pop_source(&mut pool, &keys),
            Source::Algo(Algo::Cooc) => {
                cooc_source(&mut pool, &keys);
                if pool.is_empty() {
                    fell_back_to_pop = true;
                    pop_source(&mut pool, &keys);
                }
            }
            Source::Algo(Algo::Implicit) => {
                if let Some(row) = snap.implicit.get(spec.user_key) {
                    for &(k, _) in row.iter() {
                        pool.offer(snap, &keys, &f, &maps, k);
                    }
                }
                if pool.is_empty() {
                    fell_back_to_pop = true;
                    pop_source(&mut pool, &keys);
                }
            }
            Source::Algo(Algo::Blend) => {
                pop_source(&mut pool, &keys);
                if use_cooc {
                    cooc_source(&mut pool, &keys);
                }
                if use_sim {
                    sim_sources(&mut pool, &keys);
                }
            }
            Source::Similar => {
                cooc_source(&mut pool, &keys);
                sim_sources(&mut pool, &keys);
            }
        }
    }
    let weights = if fell_back_to_pop && spec.weights_defaulted {
        Weights::POPULARITY_ONLY
    } else {
        spec.weights
    };

    // --- scores ---
    for c in &mut pool.cands {
        c.score = ranking::blend(&weights, &c.raw).score;
    }
    // Tag index of the pool for tag/brand/category rule targets: (space << 30 | tag, pos),
    // holding only the tags some boost or pin targets (a bitset over the packed keys), so its
    // sort handles the handful of matching pairs, not every tag of every candidate.
    let targeted: Vec<u32> = {
        let mut v: Vec<u32> = applied
            .boosts
            .iter()
            .chain(applied.pins.iter())
            .filter_map(|a| match a.target {
                Target::Tagged(space, t) => Some(((space as u32) << 30) | t),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // Positions per targeted key, grouped by a counting sort (no comparison sort): the
    // positions of `targeted[i]` are `index_pos[index_off[i]..index_off[i + 1]]`, in pool order.
    let (index_off, index_pos) = if targeted.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let ntags = snap.tags().len();
        let mut bits = vec![0u64; (3 * ntags).div_ceil(64)];
        for &key in &targeted {
            let bit = (key >> 30) as usize * ntags + (key & ((1 << 30) - 1)) as usize;
            if let Some(w) = bits.get_mut(bit / 64) {
                *w |= 1 << (bit % 64);
            }
        }
        let hit = |space: usize, t: u32| {
            let bit = space * ntags + t as usize;
            bits.get(bit / 64)
                .is_some_and(|w| w & (1 << (bit % 64)) != 0)
        };
        // (slot, pos) for every candidate tag some rule targets, in pool order.
        let mut hits: Vec<(u32, u32)> = Vec::new();
        for (pos, c) in pool.cands.iter().enumerate() {
            if let Some(t) = snap.item_tags(c.key) {
                for (space, list) in [(0usize, &t.all), (1, &t.brands), (2, &t.categories)] {
                    for &x in list.iter() {
                        if hit(space, x) {
                            let key = ((space as u32) << 30) | x;
                            if let Ok(slot) = targeted.binary_search(&key) {
                                hits.push((slot as u32, pos as u32));
                            }
                        }
                    }
                }
            }
        }
        ranking::group_by_slot(targeted.len(), || hits.iter().copied())
    };
    let matches = |space: u8, t: u32| -> Vec<usize> {
        let key = ((space as u32) << 30) | t;
        match targeted.binary_search(&key) {
            Ok(slot) => index_pos[index_off[slot] as usize..index_off[slot + 1] as usize]
                .iter()
                .map(|&p| p as usize)
                .collect(),
            Err(_) => Vec::new(),
        }
    };

    // --- boosts (priority order, compounding) ---
    let mut boost_details: Vec<(usize, usize, f64)> = Vec::new(); // (pos, action index, delta)
    for (ai, b) in applied.boosts.iter().enumerate() {
        let v = b.rule.boost_value.unwrap_or(0.0);
        let targets: Vec<usize> = match &b.target {
            Target::Keys(ks) => {
                let mut out = Vec::new();
                for &k in ks.iter() {
                    match pool.index.get(&k) {
                        Some(&p) => out.push(p as usize),
                        None => {
                            if pool.offer(snap, &keys, &f, &maps, k) {
                                let p = pool.len() - 1;
                                pool.cands[p].score =
                                    ranking::blend(&weights, &pool.cands[p].raw).score;
                                out.push(p);
                            }
                        }
                    }
                }
                out
            }
            Target::Tagged(space, t) => matches(*space, *t),
            Target::Nothing => Vec::new(),
        };
        for p in targets {
            let c = &mut pool.cands[p];
            // Compounding boosts saturate instead of overflowing to infinity.
            let mut delta = ranking::finite(c.score * v);
            if delta == 0.0 {
                delta = v;
            }
            c.score = ranking::finite(c.score + delta);
            c.boost = ranking::finite(c.boost + delta);
            boost_details.push((p, ai, delta));
        }
    }

    // --- pins (priority order, blocks already excluded) ---
    let mut counts = CapCounts::default();
    let mut pinned: Vec<(usize, usize)> = Vec::new(); // (pos, pin action index)
    let mut budget = (cfg.limits.max_pins as usize).min(spec.k as usize);
    for (ai, pa) in applied.pins.iter().enumerate() {
        if budget == 0 {
            break;
        }
        let limit = match pa.rule.max_pins {
            Some(m) if m >= 0 && (m as usize) < budget => m as usize,
            _ => budget,
        };
        if limit == 0 {
            continue;
        }
        let targets: Vec<u32> = match &pa.target {
            Target::Keys(ks) => ks.to_vec(),
            Target::Tagged(space, t) => {
                let mut ps = matches(*space, *t);
                ps.sort_by(|a, b| ranking::by_score(snap, &keys, &pool.cands[*a], &pool.cands[*b]));
                ps.into_iter().map(|p| pool.cands[p].key).collect()
            }
            Target::Nothing => Vec::new(),
        };
        let mut by_rule = 0usize;
        for k in targets {
            if by_rule >= limit || budget == 0 {
                break;
            }
            let pos = match pool.index.get(&k) {
                Some(&p) => p as usize,
                None => {
                    if !pool.offer(snap, &keys, &f, &maps, k) {
                        continue;
                    }
                    let p = pool.len() - 1;
                    pool.cands[p].score = ranking::blend(&weights, &pool.cands[p].raw).score;
                    p
                }
            };
            if pinned.iter().any(|(p, _)| *p == pos) || !counts.fits(snap, k, &params, false) {
                continue;
            }
            counts.add(snap, k, &params);
            pinned.push((pos, ai));
            budget -= 1;
            by_rule += 1;
        }
    }

    // --- selection ---
    let is_pinned = |p: usize| pinned.iter().any(|(q, _)| *q == p);
    let eligible: Vec<usize> = (0..pool.len()).filter(|p| !is_pinned(*p)).collect();
    let params = SelectParams {
        n: (spec.k as usize).saturating_sub(pinned.len()),
        ..params
    };
    let sel = ranking::select(snap, &keys, &pool.cands, eligible, &params, &mut counts);
    let mut outs: Vec<Out> = pinned
        .iter()
        .map(|&(pos, ai)| Out {
            pos,
            pinned_by: Some(ai),
            mmr: None,
        })
        .collect();
    outs.extend(sel.picked.iter().map(|&(pos, mmr)| Out {
        pos,
        pinned_by: None,
        mmr,
    }));

    let rule_meta = if opts.rule_telemetry {
        let returned: Vec<usize> = outs.iter().map(|o| o.pos).collect();
        let list = rule_outcomes(
            snap,
            &keys,
            &applied,
            &pool,
            &pinned,
            &boost_details,
            &returned,
        );
        outcomes.extend(list.iter().map(|(r, o)| (r.id.to_string(), *o)));
        (spec.options.explain == Explain::Full).then(|| rule_outcomes_value(&list))
    } else {
        None
    };

    // --- warnings ---
    let a = snap.available;
    let mut signal_warn: Vec<&str> = Vec::new();
    let mut need_signal = |needed: bool, have: bool, name: &'static str| {
        if needed && !have {
            signal_warn.push(name);
        }
    };
    let algo_pop = matches!(spec.source, Source::Algo(_));
    need_signal(
        algo_pop
            && (weights.pop > 0.0
                || fell_back_to_pop
                || spec.source == Source::Algo(Algo::Popularity)),
        a.popularity,
        "popularity",
    );
    need_signal(use_cooc, a.cooc, "cooc");
    need_signal(
        use_sim && spec.source != Source::Similar,
        a.implicit,
        "collaborative",
    );
    need_signal(use_sim, a.content, "content");
    need_signal(
        use_sim && spec.source != Source::Similar,
        a.session,
        "session",
    );
    signal_warn.sort_unstable();
    let no_artifacts = !(a.popularity || a.cooc || a.implicit || a.content || a.session);
    if no_artifacts {
        warnings.push(Warning::new(
            w::NO_ARTIFACTS,
            "the snapshot has no artifacts; only candidates.include_ids and pins can be served",
        ));
    } else {
        for s in &signal_warn {
            warnings.push(Warning::new(
                w::SIGNAL_UNAVAILABLE,
                format!("{s} signal unavailable"),
            ));
        }
    }
    if is_stale(
        &snap.versions,
        ctx.now,
        opts.loader.max_artifact_age_seconds,
    ) {
        warnings.push(Warning::new(
            w::STALE_ARTIFACTS,
            format!(
                "artifacts are older than {} seconds",
                opts.loader.max_artifact_age_seconds
            ),
        ));
    }
    if fell_back {
        warnings.push(Warning::new(
            w::SURFACE_FALLBACK,
            format!(
                "no snapshot for surface {:?}; served from the \"default\" surface",
                spec.surface
            ),
        ));
    }
    let c = pool.counts;
    let removed_constraints = c.after_exclude - c.after_constraints;
    if removed_constraints > 0 {
        warnings.push(Warning::new(
            w::CONSTRAINTS_FILTERED,
            format!("{removed_constraints} items removed by tag constraints"),
        ));
    }
    if sel.capped_by_tag > 0 {
        warnings.push(Warning::new(
            w::CONSTRAINTS_FILTERED,
            format!(
                "{} items held back by constraints.max_per_tag",
                sel.capped_by_tag
            ),
        ));
    }
    if f.allow.is_some() {
        let served = outs.len();
        if served == 0 {
            warnings.push(Warning::new(
                w::CANDIDATES_INCLUDE_EMPTY,
                "no items matched candidates.include_ids",
            ));
        } else if (c.after_rules as usize) < spec.include.len() {
            let n = spec.include.len() - c.after_rules as usize;
            warnings.push(Warning::new(
                w::CANDIDATES_INCLUDE_FILTERED,
                format!("{n} items of candidates.include_ids removed by exclusions, constraints or rules"),
            ));
        }
    }
    if !rules_on && !snap.rules.is_empty() {
        warnings.push(Warning::new(
            w::RULES_DISABLED,
            "rules are disabled; merchandising rules were not applied",
        ));
    }

    // --- response ---
    // Rule tokens are only formatted when reasons or explain ask for them.
    let want_tokens = spec.options.include_reasons || spec.options.explain != Explain::None;
    if want_tokens {
        boost_details.sort_by_key(|&(p, ai, _)| (p, ai));
    }
    let tokens_for = |pos: usize, pin: Option<usize>| -> Vec<String> {
        if !want_tokens {
            return Vec::new();
        }
        let lo = boost_details.partition_point(|&(p, _, _)| p < pos);
        let mut t: Vec<String> = boost_details[lo..]
            .iter()
            .take_while(|(p, _, _)| *p == pos)
            .map(|(_, ai, d)| eval::boost_token(applied.boosts[*ai].rule, *d))
            .collect();
        if let Some(ai) = pin {
            t.push(eval::pin_token(applied.pins[ai].rule));
        }
        t.sort();
        t.dedup();
        t
    };
    // The `diversity` reason: MMR or brand/category caps ran (a request max_per_tag is a
    // constraint, not diversification).
    let diversity_on = params.lambda > 0.0 || params.brand_cap > 0 || params.category_cap > 0;
    let mut items = Vec::with_capacity(outs.len());
    for (rank, o) in outs.iter().enumerate() {
        let cand = &pool.cands[o.pos];
        let bl = ranking::blend(&weights, &cand.raw);
        let mut m = Map::with_capacity(5);
        m.push("item_id", Value::str(keys.name(snap, cand.key)));
        m.push("rank", Value::u64(rank as u64 + 1));
        m.push("score", Value::f64(cand.score));
        let tokens = tokens_for(o.pos, o.pinned_by);
        if spec.options.include_reasons {
            let mut r: Vec<String> = Vec::new();
            if weights.pop > 0.0 && cand.raw.pop > 0.0 {
                r.push("recent_popularity".into());
            }
            if weights.cooc > 0.0 && cand.raw.cooc > 0.0 {
                r.push("co_visitation".into());
            }
            if weights.emb > 0.0 && bl.sim > 0.0 {
                for (v, name) in [
                    (bl.collab, "collaborative"),
                    (bl.content, "content_similarity"),
                    (bl.session, "session_sequence"),
                ] {
                    if v > 0.0 && (bl.sim - v).abs() <= 1e-9 {
                        r.push(name.into());
                    }
                }
            }
            if diversity_on && o.pinned_by.is_none() {
                r.push("diversity".into());
            }
            r.extend(tokens.iter().cloned());
            if !r.is_empty() {
                m.push(
                    "reasons",
                    Value::Array(r.into_iter().map(Value::String).collect()),
                );
            }
        }
        if spec.options.explain != Explain::None {
            let mut e = Map::with_capacity(4);
            let contrib = [
                weights.pop * bl.pop,
                weights.cooc * bl.cooc,
                weights.emb * bl.sim,
            ];
            let vals = if contrib.iter().all(|x| *x == 0.0) {
                [bl.pop, bl.cooc, bl.sim]
            } else {
                contrib
            };
            let mut s = Map::new();
            for (k, v) in ["pop", "cooc", "emb"].iter().zip(vals) {
                s.push(*k, Value::f64(v));
            }
            e.push("signals", Value::Object(s));
            if !tokens.is_empty() {
                e.push(
                    "rules",
                    Value::Array(tokens.iter().cloned().map(Value::String).collect()),
                );
            }
            if spec.options.explain == Explain::Full {
                let mut raw = Map::new();
                for (k, v) in [
                    ("pop", cand.raw.pop),
                    ("cooc", cand.raw.cooc),
                    ("collab", cand.raw.collab),
                    ("content", cand.raw.content),
                    ("session", cand.raw.session),
                ] {
                    raw.push(k, Value::f64(v));
                }
                e.push("raw", Value::Object(raw));
                let mut wm = Map::new();
                wm.push("pop", Value::f64(weights.pop));
                wm.push("cooc", Value::f64(weights.cooc));
                wm.push("emb", Value::f64(weights.emb));
                e.push("weights", Value::Object(wm));
                if cand.boost != 0.0 {
                    e.push("boost", Value::f64(cand.boost));
                }
                if o.pinned_by.is_some() {
                    e.push("pinned", Value::Bool(true));
                }
                if let Some(mi) = o.mmr {
                    let mut mm = Map::new();
                    mm.push("lambda", Value::f64(params.lambda));
                    mm.push("relevance", Value::f64(mi.relevance));
                    mm.push("max_sim", Value::f64(mi.max_sim));
                    mm.push("penalty", Value::f64(mi.penalty));
                    mm.push("rank", Value::u64(mi.rank as u64));
                    e.push("mmr", Value::Object(mm));
                }
            }
            m.push("explain", Value::Object(e));
        }
        items.push(Value::Object(m));
    }
    let returned = items.len() as u64;
    let mut out = Map::with_capacity(3);
    out.push("items", Value::Array(items));
    let mut meta = Map::with_capacity(14);
    meta.push("tenant_id", Value::str(&snap.tenant));
    meta.push("surface", Value::str(spec.surface));
    meta.push("segment", Value::str(spec.segment));
    meta.push(
        "algo_version",
        Value::str(algo_version(opts, snap.algo_explicit, cfg.algo)),
    );
    let v = &snap.versions;
    if let Some(x) = &v.config_version {
        meta.push("config_version", Value::str(x));
    }
    if let Some(x) = &v.rules_version {
        meta.push("rules_version", Value::str(x));
    }
    if let Some(x) = &v.manifest_version {
        meta.push("manifest_version", Value::str(x));
    }
    if let Some(x) = &v.release_id {
        meta.push("release_id", Value::str(x));
    }
    if !v.artifacts.is_empty() {
        let mut am = Map::new();
        for (k, x) in &v.artifacts {
            am.push(k.clone(), Value::str(x));
        }
        meta.push("artifact_versions", Value::Object(am));
    }
    if fell_back {
        meta.push("snapshot_surface", Value::str(&snap.surface));
    }
    if !ctx.request_id.is_empty() {
        meta.push("request_id", Value::str(&ctx.request_id));
    }
    let mut cm = Map::with_capacity(7);
    for (k, x) in [
        ("candidates", c.candidates),
        ("after_include", c.after_include),
        ("after_exclude", c.after_exclude),
        ("after_constraints", c.after_constraints),
        ("after_rules", c.after_rules),
        ("pinned", pinned.len() as u64),
        ("returned", returned),
    ] {
        cm.push(k, Value::u64(x));
    }
    meta.push("counts", Value::Object(cm));
    if let Some(r) = rule_meta {
        meta.push("rules", r);
    }
    if returned < spec.k as u64 {
        meta.push(
            "diagnostics",
            diagnostics(
                snap,
                spec,
                &c,
                (sel.capped_by_tag, sel.capped - sel.capped_by_tag),
                no_artifacts,
                &signal_warn,
                applied.applicable,
                returned,
            ),
        );
    }
    out.push("meta", Value::Object(meta));
    if !warnings.is_empty() {
        out.push(
            "warnings",
            Value::Array(warnings.iter().map(Warning::to_value).collect()),
        );
    }
    Value::Object(out)
}

/// Whether candidate `k` is one of a rule target's items.
fn target_has(snap: &TenantSnapshot, keys: &Keys, t: &Target, k: u32) -> bool {
    match t {
        Target::Keys(ks) => ks.contains(&k),
        Target::Tagged(space, tag) => keys.tags(snap, k).is_some_and(|x| {
            let list = match space {
                0 => &x.all,
                1 => &x.brands,
                _ => &x.categories,
            };
            list.binary_search(tag).is_ok()
        }),
        Target::Nothing => false,
    }
}

/// What each applicable rule did for this request (see [`RuleOutcome`]), in evaluation
/// order: blocks, then boosts, then pins.
fn rule_outcomes<'s>(
    snap: &TenantSnapshot,
    keys: &Keys,
    applied: &eval::Applied<'s>,
    pool: &crate::candidates::Pool,
    pinned: &[(usize, usize)],
    boost_details: &[(usize, usize, f64)],
    returned: &[usize],
) -> Vec<(&'s Rule, RuleOutcome)> {
    let blocked_target = |t: &Target| pool.blocked.iter().any(|&k| target_has(snap, keys, t, k));
    let mut out = Vec::new();
    for (rule, t) in applied.block_rules.iter().zip(&applied.block_targets) {
        let hit = blocked_target(t);
        out.push((
            *rule,
            if hit {
                RuleOutcome::Fired
            } else {
                RuleOutcome::Noop
            },
        ));
    }
    for (ai, b) in applied.boosts.iter().enumerate() {
        let touched: Vec<usize> = boost_details
            .iter()
            .filter(|(_, a, _)| *a == ai)
            .map(|(p, _, _)| *p)
            .collect();
        let o = if touched.iter().any(|p| returned.contains(p)) {
            RuleOutcome::Displaced
        } else if !touched.is_empty() {
            RuleOutcome::Fired
        } else if blocked_target(&b.target) {
            RuleOutcome::Blocked
        } else {
            RuleOutcome::Noop
        };
        out.push((b.rule, o));
    }
    for (ai, p) in applied.pins.iter().enumerate() {
        let o = if pinned.iter().any(|(_, a)| *a == ai) {
            RuleOutcome::Displaced
        } else if blocked_target(&p.target) {
            RuleOutcome::Blocked
        } else {
            RuleOutcome::Noop
        };
        out.push((p.rule, o));
    }
    out
}

/// `[{"rule_id", "action", "outcome"}]` for `meta.rules`.
fn rule_outcomes_value(list: &[(&Rule, RuleOutcome)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(r, o)| {
                let mut m = Map::with_capacity(3);
                m.push("rule_id", Value::str(r.id.to_string()));
                m.push("action", Value::str(r.action.as_str()));
                m.push("outcome", Value::str(o.as_str()));
                Value::Object(m)
            })
            .collect(),
    )
}

/// Why a response is shorter than `k`, stage by stage (the "empty recommendations" runbook).
#[allow(clippy::too_many_arguments)]
fn diagnostics(
    snap: &TenantSnapshot,
    spec: &Spec,
    c: &StageCounts,
    (by_tag, by_diversity): (usize, usize),
    no_artifacts: bool,
    missing: &[&str],
    rules: usize,
    returned: u64,
) -> Value {
    let mut d: Vec<Value> = Vec::new();
    let mut add = |stage: &str, removed: Option<u64>, message: String| {
        let mut m = Map::new();
        m.push("stage", Value::str(stage));
        if let Some(r) = removed {
            m.push("removed", Value::u64(r));
        }
        m.push("message", Value::String(message));
        d.push(Value::Object(m));
    };
    if no_artifacts {
        add("artifacts", None, "the snapshot has no artifacts".into());
    } else if !missing.is_empty() {
        add(
            "artifacts",
            None,
            format!("signals unavailable: {}", missing.join(", ")),
        );
    }
    match (spec.source, spec.exclude_item) {
        (Source::Similar, Some(item)) if spec.anchors.is_empty() => {
            add(
                "anchors",
                None,
                format!("item {item:?} is not in the catalog"),
            );
        }
        (Source::Algo(algo), _)
            if (matches!(algo, Algo::Cooc | Algo::Implicit)
                || spec.weights.cooc > 0.0
                || spec.weights.emb > 0.0)
                && spec.include.is_empty()
                && spec.anchors.is_empty()
                && !spec.has_history =>
        {
            add(
                "anchors",
                None,
                "no anchors: the request has none and the user has no history".into(),
            );
        }
        _ => {}
    }
    if !spec.include.is_empty() {
        let known = spec
            .include
            .iter()
            .filter(|id| snap.items.get(id).is_some())
            .count();
        add(
            "include",
            None,
            format!(
                "candidates.include_ids limits the pool to {} ids ({known} known to the catalog)",
                spec.include.len()
            ),
        );
    }
    add(
        "candidates",
        None,
        format!("{} candidates were examined", c.candidates),
    );
    for (stage, before, after, what) in [
        (
            "include",
            c.candidates,
            c.after_include,
            "not in candidates.include_ids",
        ),
        (
            "exclude",
            c.after_include,
            c.after_exclude,
            "in candidates.exclude_ids",
        ),
        (
            "constraints",
            c.after_exclude,
            c.after_constraints,
            "removed by required or forbidden tags",
        ),
        (
            "rules",
            c.after_constraints,
            c.after_rules,
            "blocked by rules",
        ),
    ] {
        if before > after {
            add(
                stage,
                Some(before - after),
                format!("{} candidates {what}", before - after),
            );
        }
    }
    if rules > 0 && c.after_constraints == c.after_rules {
        add(
            "rules",
            Some(0),
            format!("{rules} rules applied; none blocked a candidate"),
        );
    }
    if by_tag > 0 {
        add(
            "max_per_tag",
            Some(by_tag as u64),
            format!("{by_tag} candidates held back by constraints.max_per_tag"),
        );
    }
    if by_diversity > 0 {
        add(
            "diversity",
            Some(by_diversity as u64),
            format!("{by_diversity} candidates held back by brand/category caps"),
        );
    }
    add(
        "result",
        None,
        format!("{returned} of {} requested items returned", spec.k),
    );
    Value::Array(d)
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
    fn commit_docs(&mut self, tenant: &str, docs: Arc<TenantDocs>) {
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
            .and_then(|(s, _)| s.versions.config_version.clone())
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
    /// snapshot they serve shares the catalog the load compiled; a release is applied with
    /// no lock held while its documents are fetched, and names itself in the versions.
    #[test]
    fn document_and_release_changes_share_the_loaded_catalog() {
        let e = loaded();
        let catalog = |e: &Engine| e.snapshot("demo", "home").unwrap().0.catalog.clone();
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
        let n = e
            .set_release_with("demo", || {
                assert!(e.state.try_lock().is_ok(), "fetch ran under the write lock");
                let config = parse(br#"{"algo":"blend"}"#).unwrap();
                Ok((Some(config), None, "r1".into()))
            })
            .unwrap();
        assert_eq!(n, 1);
        let (snap, _) = e.snapshot("demo", "home").unwrap();
        assert!(
            Arc::ptr_eq(&first, &snap.catalog),
            "a release rebuilt the catalog"
        );
        assert_eq!(snap.versions.release_id.as_deref(), Some("r1"));
        assert_eq!(snap.versions.rules_version, None);
        // A single-document change ends the release unit.
        e.set_config("demo", None).unwrap();
        assert_eq!(
            e.snapshot("demo", "home").unwrap().0.versions.release_id,
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
        assert_eq!(e.loaded(), vec![("t".to_string(), "s".to_string())]);
        assert!(e.snapshot("t", "s").is_some_and(|(_, fb)| !fb));
        assert!(e.snapshot("t", "other").is_none());
        assert!(e.remove("t", "s").is_some());
        assert!(e.loaded().is_empty());
    }
}
