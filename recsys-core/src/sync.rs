//! Fleet reconcile: brings one engine's serving state in line with its [`DocumentStore`].
//!
//! Every process of a fleet holds its own [`Engine`]; the store is the only shared state.
//! When a host learns (a `LISTEN/NOTIFY` message, a poll) or suspects (a reconnect, a
//! timer) that the store changed, it calls [`Engine::sync`] (`admin.sync` in the JSON
//! surface). The engine then
//!
//! 1. reads the tenant's revision ([`DocumentStore::revision`]), then the config and rules
//!    pointers, and installs a pointer only when its revision is higher than the one it
//!    serves: a late or duplicated notification, or two syncs racing, can never move
//!    serving backwards. Pointers last moved together by one release entry (a release moves
//!    or guards every pointer, all at the entry's id) are installed together, in one commit
//!    named by the release, so no process serves one release's config with another's rules;
//! 2. reads the change feed after the position it has applied
//!    ([`DocumentStore::changes_since`]) and applies the artifact side: the last pin or
//!    unpin of each surface (the pinned manifest travels in the audit entry's `extra`; a
//!    release's pin changes count as pins and unpins at the release's revision),
//!    releases of held publishes, and cache invalidations (artifact refresh due now;
//!    config/rules targets re-read their pointer).
//!
//! It is idempotent: a second sync with nothing new reads the revision and the pointers and
//! installs nothing. A sync given the notification's `revision` answers at once, without
//! touching the store, when every kind it names has already been reconciled at or past it.
//! Syncs of one engine are serialised by one mutex, taken before the engine's write lock.

use crate::control::{actions, AuditEntry, ControlError, DocKind, Pointer, Release};
use crate::engine::Engine;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{Map, Value};
use crate::loader::Step;
use crate::release::stage::{Commit, PendingRelease, PinApplied};
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::sync::MutexGuard;

/// Changes read from the store per call while following the feed.
pub const FEED_PAGE: usize = 500;

/// What a sync reconciles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncKinds {
    /// The config pointer.
    pub config: bool,
    /// The rules pointer.
    pub rules: bool,
    /// Pins, unpins, releases and cache invalidations: reading the change feed applies all
    /// of them, so `artifacts` and `cache` name the same step.
    pub feed: bool,
}

impl SyncKinds {
    /// Everything: both pointers and the change feed.
    pub const ALL: SyncKinds = SyncKinds {
        config: true,
        rules: true,
        feed: true,
    };

    /// From kind names: `config`, `rules`, `artifacts`, `cache` (an empty list = all).
    ///
    /// ```
    /// use recsys_core::SyncKinds;
    ///
    /// assert_eq!(SyncKinds::parse([])?, SyncKinds::ALL);
    /// assert_ne!(SyncKinds::parse(["config"])?, SyncKinds::ALL);
    /// assert_eq!(SyncKinds::parse(["everything"]).unwrap_err().status, 400);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<SyncKinds, ApiError> {
        let mut k = SyncKinds {
            config: false,
            rules: false,
            feed: false,
        };
        let mut any = false;
        for n in names {
            any = true;
            match n.trim().to_ascii_lowercase().as_str() {
                "config" => k.config = true,
                "rules" => k.rules = true,
                "artifacts" | "cache" => k.feed = true,
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!(
                            "unknown sync kind {n:?}; expected config, rules, artifacts or cache"
                        ),
                    ))
                }
            }
        }
        Ok(if any { k } else { SyncKinds::ALL })
    }

    fn has(&self, kind: DocKind) -> bool {
        match kind {
            DocKind::Config => self.config,
            DocKind::Rules => self.rules,
        }
    }
}

/// Where one tenant of this engine stands relative to the store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TenantSync {
    /// (revision, etag) of the config and rules pointers being served, as read from the store.
    pointers: [Option<(u64, String)>; 2],
    /// Store revision known to be reflected by the last read of each pointer.
    seen: [u64; 2],
    /// Revision up to which the change feed has been applied.
    feed: u64,
    /// Whether the feed has been read once (the first read skips historical invalidations).
    fed: bool,
    /// The store's revision at the last sync.
    pub store_revision: u64,
    pub last_sync: Option<Timestamp>,
    /// Seconds from the write of the newest change applied to the sync that applied it.
    pub last_lag_seconds: Option<f64>,
    /// Surface → revision of the last pin or unpin applied (by the feed, a release or this
    /// engine's own admin calls), so nothing is applied twice or over a later action.
    pins: BTreeMap<String, u64>,
}

impl TenantSync {
    /// The lowest revision every kind has been reconciled to.
    pub fn revision(&self) -> u64 {
        self.seen[0].min(self.seen[1]).min(self.feed)
    }

    fn up_to(&self, kinds: SyncKinds, revision: u64) -> bool {
        (!kinds.config || self.seen[0] >= revision)
            && (!kinds.rules || self.seen[1] >= revision)
            && (!kinds.feed || (self.fed && self.feed >= revision))
    }
}

/// Per-tenant sync state of an engine.
#[derive(Debug, Default)]
pub struct SyncState {
    pub tenants: BTreeMap<String, TenantSync>,
}

/// What one tenant's sync did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TenantReport {
    /// The tenant synced.
    pub tenant: String,
    /// The store's revision read at the start.
    pub revision: u64,
    /// Nothing was read: the notification's revision was already reconciled.
    pub up_to_date: bool,
    /// Kinds whose pointer was installed: (kind, revision, etag).
    pub installed: Vec<(DocKind, u64, String)>,
    /// Surfaces recompiled by the installs.
    pub recompiled: usize,
    /// Changes read from the feed.
    pub changes: usize,
    /// Artifact-side actions applied: (action, surface).
    pub applied: Vec<(String, String)>,
    /// Surfaces whose pin needs artifacts the host must fetch, then hand to
    /// `loader_apply_artifacts`: (surface, URIs).
    pub fetch: Vec<(String, Vec<String>)>,
    /// Artifact-side actions that failed (surface, message); the feed still moves on.
    pub errors: Vec<(String, String)>,
    /// A release whose pinned artifacts the host must fetch (`fetch`) before this engine
    /// installs it, whole; until then the previous release keeps serving.
    pub release_waiting: Option<String>,
}

impl TenantReport {
    /// The report as `admin.sync` answers it.
    ///
    /// ```
    /// use recsys_core::{Engine, SyncKinds, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let reports = engine.sync(Some("demo"), SyncKinds::ALL, None, now)?;
    /// let text = recsys_core::json::to_string(&reports[0].to_value());
    /// assert!(text.starts_with(r#"{"tenant":"demo""#), "{text}");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("tenant", Value::str(&self.tenant));
        m.push("revision", Value::u64(self.revision));
        m.push("up_to_date", Value::Bool(self.up_to_date));
        let mut inst = Map::new();
        for (k, r, e) in &self.installed {
            let mut x = Map::new();
            x.push("version", Value::str(e));
            x.push("revision", Value::u64(*r));
            inst.push(k.as_str(), Value::Object(x));
        }
        m.push("installed", Value::Object(inst));
        m.push("recompiled", Value::u64(self.recompiled as u64));
        m.push("changes", Value::u64(self.changes as u64));
        let pairs = |v: &[(String, String)], a: &'static str, b: &'static str| -> Value {
            Value::Array(
                v.iter()
                    .map(|(x, y)| {
                        let mut o = Map::new();
                        o.push(a, Value::str(x));
                        o.push(b, Value::str(y));
                        Value::Object(o)
                    })
                    .collect(),
            )
        };
        m.push("applied", pairs(&self.applied, "action", "surface"));
        let fetch = self
            .fetch
            .iter()
            .map(|(s, uris)| {
                let mut o = Map::new();
                o.push("surface", Value::str(s));
                o.push("uris", Value::Array(uris.iter().map(Value::str).collect()));
                Value::Object(o)
            })
            .collect();
        m.push("fetch", Value::Array(fetch));
        m.push("errors", pairs(&self.errors, "surface", "error"));
        if let Some(id) = &self.release_waiting {
            m.push("release_waiting", Value::str(id));
        }
        Value::Object(m)
    }
}

/// The artifact-side outcome of a stretch of the feed, per surface.
#[derive(Default)]
struct FeedPlan {
    /// Surface → last pin (revision, manifest text) or unpin (revision, None).
    pin: BTreeMap<String, (u64, Option<String>)>,
    /// Surfaces with a release after their last pin.
    release: BTreeMap<String, u64>,
    /// (surface or None for all, re-read config, re-read rules, other targets).
    invalidations: Vec<(Option<String>, bool, bool, bool)>,
    /// The newest release entry read (revision, release): its pins are installed with it
    /// as one unit, not as separate pins.
    last_release: Option<(u64, Release)>,
}

impl FeedPlan {
    fn add(&mut self, e: &AuditEntry) {
        let surface = e.entity.id.clone().unwrap_or_default();
        match e.action.as_str() {
            actions::ARTIFACTS_PIN => {
                let manifest = e
                    .extra
                    .as_ref()
                    .and_then(|x| x.as_object())
                    .and_then(|x| x.get("manifest"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.release.remove(&surface);
                // A pin without its manifest (written before manifests were recorded)
                // cannot be replayed; it is reported as an error when applied.
                self.pin
                    .insert(surface, (e.id, Some(manifest.unwrap_or_default())));
            }
            actions::ARTIFACTS_UNPIN => {
                self.pin.insert(surface, (e.id, None));
            }
            actions::RELEASE_PUBLISH | actions::RELEASE_ROLLBACK => {
                // The pins a release changes, as pins and unpins at its revision (applied as
                // such only when a later release does not name the surface: the newest
                // release installs its own pins together with its documents).
                let (Some(from), Some(to)) =
                    (Release::of_entry(e, false), Release::of_entry(e, true))
                else {
                    return;
                };
                for s in crate::release::changed_surfaces(&from, &to) {
                    let text = to.pin(&s).flatten().map(str::to_owned);
                    let pinned = to.artifacts.get(&s).cloned().flatten().is_some();
                    if pinned {
                        self.release.remove(&s);
                    }
                    // A pin whose manifest text is missing is reported when applied.
                    let manifest = pinned.then(|| text.unwrap_or_default());
                    self.pin.insert(s, (e.id, manifest));
                }
                self.last_release = Some((e.id, to));
            }
            actions::ARTIFACTS_RELEASE => {
                self.release.insert(surface, e.id);
            }
            actions::CACHE_INVALIDATE => {
                let after = e.after_state.as_ref().and_then(|a| a.as_object());
                let targets: Vec<&str> = after
                    .and_then(|a| a.get("targets"))
                    .and_then(Value::as_array)
                    .map(|t| t.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let surface = after
                    .and_then(|a| a.get("surface"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.invalidations.push((
                    surface,
                    targets.contains(&"config"),
                    targets.contains(&"rules"),
                    targets.iter().any(|t| *t != "config" && *t != "rules"),
                ));
            }
            _ => {}
        }
    }
}

impl FeedPlan {
    /// Whether the newest release read names `surface` and is at or after `rev`: its pin
    /// is installed with the release, not on its own.
    fn covered(&self, surface: &str, rev: u64) -> bool {
        self.last_release
            .as_ref()
            .is_some_and(|(r, to)| rev <= *r && to.artifacts.contains_key(surface))
    }
}

/// What reading the feed found: the write time of the newest change (not on the first
/// read) and the newest release entry, whose pins are installed with it.
type FeedRead = (Option<Timestamp>, Option<(u64, Release)>);

/// Where a sync stands while it reconciles the pointers.
#[derive(Clone, Copy)]
struct Reconcile {
    /// The store's revision read at the start.
    head: u64,
    /// Kinds a cache invalidation asked to re-apply.
    force: [bool; 2],
    now: Timestamp,
}

/// The release entry behind the newest pointer move.
struct ReleaseRead {
    rev: u64,
    /// Config and rules versions at the entry (a kind it guards keeps its pointer).
    versions: [Option<String>; 2],
    at: Timestamp,
    release: Release,
}

/// Records the pins a release installed (so they are not applied twice) and reports them.
fn note_applied(ts: &mut TenantSync, rev: u64, applied: &[PinApplied], report: &mut TenantReport) {
    for a in applied {
        ts.pins.insert(a.surface.clone(), rev);
        report
            .applied
            .push((a.action.to_string(), a.surface.clone()));
        if !a.fetch.is_empty() {
            report.fetch.push((a.surface.clone(), a.fetch.clone()));
        }
    }
}

fn doc_version(kind: DocKind, docs: &crate::compile::TenantDocs) -> Option<&str> {
    match kind {
        DocKind::Config => docs.config_version.as_deref(),
        DocKind::Rules => docs.rules_version.as_deref(),
    }
}

impl Engine {
    fn lock_sync(&self) -> MutexGuard<'_, SyncState> {
        // Every update of the sync state is one assignment after the work succeeded.
        self.sync.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tenants this engine serves or has synced: the sync's default scope.
    fn known_tenants(&self, sync: &SyncState) -> Vec<String> {
        let st = self.lock_state();
        let mut t: Vec<String> = st.docs.keys().cloned().collect();
        t.extend(st.surfaces.keys().map(|(t, _)| t.clone()));
        t.extend(sync.tenants.keys().cloned());
        t.sort();
        t.dedup();
        t
    }

    /// Reconciles this engine with its store: `tenant` (all known tenants when `None`),
    /// the given kinds. `revision` is the revision a notification carried: when every kind
    /// has already been reconciled at or past it, nothing is read.
    /// Fails with `RECSYS_ADAPTER_REENTRANT` when called by one of this engine's adapters.
    ///
    /// ```
    /// use recsys_core::{Context, DocumentStore, Engine, MemoryStore, Principal, SyncKinds, Timestamp};
    /// use std::sync::Arc;
    ///
    /// let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    /// let writer = Engine::builder().store(store.clone()).build()?;
    /// let follower = Engine::builder().store(store).build()?;     // another process of the fleet
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// writer.admin().put_rules(&ctx, r#"[{"action": "block", "item_ids": ["a"]}]"#, None)?;
    /// let reports = follower.sync(Some("demo"), SyncKinds::ALL, None, now)?;
    /// assert_eq!(reports[0].installed.len(), 1);                 // the rules, at their revision
    /// // A notification of a revision already reconciled reads nothing.
    /// let again = follower.sync(Some("demo"), SyncKinds::ALL, Some(reports[0].revision), now)?;
    /// assert!(again[0].up_to_date && again[0].installed.is_empty());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn sync(
        &self,
        tenant: Option<&str>,
        kinds: SyncKinds,
        revision: Option<u64>,
        now: Timestamp,
    ) -> Result<Vec<TenantReport>, ApiError> {
        let _busy = self.enter()?;
        self.sync_entered(tenant, kinds, revision, now)
    }

    /// [`Engine::sync`] inside an operation that already holds the adapter guard.
    pub(crate) fn sync_entered(
        &self,
        tenant: Option<&str>,
        kinds: SyncKinds,
        revision: Option<u64>,
        now: Timestamp,
    ) -> Result<Vec<TenantReport>, ApiError> {
        let mut sync = self.lock_sync();
        let tenants = match tenant {
            Some(t) => vec![t.to_owned()],
            None => self.known_tenants(&sync),
        };
        let mut out = Vec::with_capacity(tenants.len());
        for t in tenants {
            let mut ts = sync.tenants.get(&t).cloned().unwrap_or_default();
            let report = self.sync_tenant(&mut ts, &t, kinds, revision, now);
            // The state is stored even when a later step failed: what was installed is
            // served, and its revision must be remembered.
            sync.tenants.insert(t, ts);
            out.push(report?);
        }
        Ok(out)
    }

    fn sync_tenant(
        &self,
        ts: &mut TenantSync,
        tenant: &str,
        kinds: SyncKinds,
        revision: Option<u64>,
        now: Timestamp,
    ) -> Result<TenantReport, ApiError> {
        let mut report = TenantReport {
            tenant: tenant.to_owned(),
            ..TenantReport::default()
        };
        if let Some(r) = revision {
            if ts.up_to(kinds, r) {
                report.up_to_date = true;
                report.revision = ts.store_revision;
                return Ok(report);
            }
        }
        let head = self
            .control
            .store()
            .revision(tenant)
            .map_err(|e| ApiError::from(ControlError::from(e)))?;
        report.revision = head;
        ts.store_revision = ts.store_revision.max(head);
        let mut newest: Option<Timestamp> = None;
        let mut force = [false, false];
        let mut last_release = None;
        if kinds.feed {
            (newest, last_release) = self.follow_feed(ts, tenant, now, &mut force, &mut report)?;
        }
        // Pointers last moved together by a release are installed together with its pins,
        // as one unit.
        let wanted = DocKind::ALL.map(|k| kinds.has(k) || force[k as usize]);
        let mut handled = None;
        let joint = if wanted.iter().any(|w| *w) {
            let at = Reconcile { head, force, now };
            self.reconcile_release(ts, tenant, at, &mut report, &mut handled)?
        } else {
            None
        };
        if let Some(Some(at)) = joint {
            newest = Some(newest.map_or(at, |n| n.max(at)));
        }
        for kind in DocKind::ALL.into_iter().filter(|_| joint.is_none()) {
            if wanted[kind as usize] {
                if let Some(at) = self.reconcile_pointer(
                    ts,
                    tenant,
                    kind,
                    head,
                    force[kind as usize],
                    &mut report,
                )? {
                    newest = Some(newest.map_or(at, |n| n.max(at)));
                }
            }
        }
        // The pins of a release that is not the newest pointer move (a single-document write
        // came after it) are installed on their own, still all in one swap.
        if let Some((rev, to)) = last_release.filter(|(rev, _)| handled != Some(*rev)) {
            self.install_release_pins(ts, tenant, rev, &to, now, &mut report)?;
        }
        ts.last_sync = Some(now);
        if let Some(at) = newest {
            let lag = now.seconds_since(at).max(0.0);
            ts.last_lag_seconds = Some(lag);
            self.record(|r| crate::ops::metrics::record_sync_lag(r, lag));
        }
        Ok(report)
    }

    /// When the newest pointer move was a release entry, installs the release's documents
    /// and pins in one commit named by the release (see [`crate::release::stage`]), when it
    /// is newer than what is served. A release moves or guards every pointer at its entry's
    /// id, so a pointer read below that id was read before the release landed: the
    /// release's own versions are the state at its id. `None` when the newest move was not a
    /// release (the caller reconciles each kind); else the time of the release when a later
    /// move than the one served was read. A release waiting for artifacts (or whose pinned
    /// manifest cannot be read) is not recorded as served, so the next sync tries again.
    fn reconcile_release(
        &self,
        ts: &mut TenantSync,
        tenant: &str,
        at: Reconcile,
        report: &mut TenantReport,
        handled: &mut Option<u64>,
    ) -> Result<Option<Option<Timestamp>>, ApiError> {
        loop {
            let (seen, docs) = {
                let st = self.lock_state();
                let gen = st.doc_gens.get(tenant).copied();
                (gen, st.docs.get(tenant).cloned())
            };
            let Some(read) = self.read_release(tenant)? else {
                return Ok(None);
            };
            *handled = Some(read.rev);
            let rev = read.rev;
            let newer = (0..2).any(|i| match (&read.versions[i], &ts.pointers[i]) {
                (Some(_), None) => true,
                (Some(_), Some((seen, _))) => rev > *seen || (at.force[i] && rev >= *seen),
                (None, _) => false,
            });
            let serving = docs.as_deref().is_some_and(|d| {
                d.release_id.as_deref() == Some(read.release.id.as_str())
                    && DocKind::ALL
                        .iter()
                        .all(|k| doc_version(*k, d) == read.versions[*k as usize].as_deref())
            });
            let later = |s: &str| ts.pins.get(s).is_some_and(|r| *r > rev);
            let staged = match newer.then(|| self.stage_pins(tenant, &read.release, later)) {
                None => Default::default(),
                Some(Ok(staged)) => staged,
                Some(Err(e)) => {
                    report.errors.push((String::new(), e.message.clone()));
                    return Ok(Some(None));
                }
            };
            if !newer || (serving && staged.is_empty() && !at.force.iter().any(|f| *f)) {
                return Ok(Some(self.note_release_read(ts, &read, at.head, report)));
            }
            let doc = |k: DocKind| -> Result<Option<Value>, ApiError> {
                read.versions[k as usize]
                    .as_deref()
                    .map(|v| self.control.version_for_serving(tenant, k, v))
                    .transpose()
                    .map_err(ApiError::from)
            };
            let update = crate::compile::DocsUpdate::release(
                tenant,
                doc(DocKind::Config)?.as_ref(),
                doc(DocKind::Rules)?.as_ref(),
                read.release.id.clone(),
            )?;
            let pending = PendingRelease {
                id: read.release.id.clone(),
                doc_gen: seen,
                update: Some(update),
                surfaces: staged,
                now: at.now,
            };
            let applied = pending.applied();
            match self.commit_release(tenant, pending) {
                Commit::Superseded => continue,
                Commit::Waiting(fetch) => {
                    report.fetch.extend(fetch);
                    report.release_waiting = Some(read.release.id.clone());
                    return Ok(Some(None));
                }
                Commit::Installed(n) => {
                    report.recompiled += n;
                    note_applied(ts, rev, &applied, report);
                    return Ok(Some(self.note_release_read(ts, &read, at.head, report)));
                }
            }
        }
    }

    /// The release entry that made the newest pointer move, if the newest move was one.
    fn read_release(&self, tenant: &str) -> Result<Option<ReleaseRead>, ApiError> {
        let store = self.control.store();
        let store_err = |e| ApiError::from(ControlError::from(e));
        let mut rev = None;
        let mut current: [Option<String>; 2] = [None, None];
        for kind in DocKind::ALL {
            if let Some(p) = store.current(tenant, kind).map_err(store_err)? {
                rev = rev.max(Some(p.revision));
                current[kind as usize] = Some(p.etag);
            }
        }
        let Some(rev) = rev else {
            return Ok(None);
        };
        let entry = store
            .audit_chain(tenant, Some(rev.saturating_sub(1)), 1)
            .map_err(store_err)?;
        let Some((e, release)) = entry
            .first()
            .filter(|e| e.id == rev)
            .and_then(|e| Release::of_entry(e, true).map(|r| (e, r)))
        else {
            return Ok(None);
        };
        // A kind the release has no version for keeps its pointer (a guard).
        let versions = [
            release.config_version.clone().or(current[0].take()),
            release.rules_version.clone().or(current[1].take()),
        ];
        Ok(Some(ReleaseRead {
            rev,
            versions,
            at: e.occurred_at,
            release,
        }))
    }

    /// Records a release read as what serves (it is, or was just installed); answers the
    /// time of the release when a later move than the one served was read.
    fn note_release_read(
        &self,
        ts: &mut TenantSync,
        read: &ReleaseRead,
        head: u64,
        report: &mut TenantReport,
    ) -> Option<Timestamp> {
        let mut newest = None;
        for kind in DocKind::ALL {
            let i = kind as usize;
            ts.seen[i] = ts.seen[i].max(head);
            let Some(v) = &read.versions[i] else { continue };
            if ts.pointers[i]
                .as_ref()
                .is_some_and(|(seen, _)| read.rev <= *seen)
            {
                continue;
            }
            report.installed.push((kind, read.rev, v.clone()));
            if ts.pointers[i].is_some() {
                newest = Some(read.at);
            }
            ts.pointers[i] = Some((read.rev, v.clone()));
        }
        newest
    }

    /// Installs the pins of release `to` (read from the feed at `rev`) without its
    /// documents: every surface it changes, in one swap.
    fn install_release_pins(
        &self,
        ts: &mut TenantSync,
        tenant: &str,
        rev: u64,
        to: &Release,
        now: Timestamp,
        report: &mut TenantReport,
    ) -> Result<(), ApiError> {
        loop {
            let seen = self.lock_state().doc_gens.get(tenant).copied();
            let later = |s: &str| ts.pins.get(s).is_some_and(|r| *r > rev);
            let staged = match self.stage_pins(tenant, to, later) {
                Ok(s) if s.is_empty() => return Ok(()),
                Ok(s) => s,
                Err(e) => {
                    report.errors.push((String::new(), e.message.clone()));
                    return Ok(());
                }
            };
            let pending = PendingRelease {
                id: to.id.clone(),
                doc_gen: seen,
                update: None,
                surfaces: staged,
                now,
            };
            let applied = pending.applied();
            match self.commit_release(tenant, pending) {
                Commit::Superseded => continue,
                Commit::Waiting(fetch) => {
                    report.fetch.extend(fetch);
                    report.release_waiting = Some(to.id.clone());
                }
                Commit::Installed(n) => {
                    report.recompiled += n;
                    note_applied(ts, rev, &applied, report);
                }
            }
            return Ok(());
        }
    }

    /// Reads one pointer and installs it when it is newer than what is served. Returns the
    /// time of the move when something was installed.
    fn reconcile_pointer(
        &self,
        ts: &mut TenantSync,
        tenant: &str,
        kind: DocKind,
        head: u64,
        force: bool,
        report: &mut TenantReport,
    ) -> Result<Option<Timestamp>, ApiError> {
        let i = kind as usize;
        let mut read: Option<(Pointer, Value)> = None;
        let n = self.set_document_if(tenant, kind, |docs| {
            let Some((p, doc)) = self.control.current_for_serving(tenant, kind)? else {
                return Ok(None);
            };
            let newer = match &ts.pointers[i] {
                None => true,
                // A forced re-read (a cache invalidation) re-applies the current version,
                // but still never an older one.
                Some((rev, _)) => p.revision > *rev || (force && p.revision >= *rev),
            };
            let serving = docs.and_then(|d| doc_version(kind, d)) == Some(p.etag.as_str());
            let apply = newer && (!serving || force);
            read = Some((p, doc.clone()));
            Ok(apply.then_some(doc))
        })?;
        ts.seen[i] = ts.seen[i].max(head);
        let Some((p, _)) = read else {
            return Ok(None);
        };
        report.recompiled += n.unwrap_or(0);
        let moved = ts.pointers[i]
            .as_ref()
            .is_none_or(|(rev, _)| p.revision > *rev);
        if !moved {
            return Ok(None);
        }
        report.installed.push((kind, p.revision, p.etag.clone()));
        // The first pointer a process reads is its starting state, not a change it was late
        // for: only later moves count towards the lag.
        let had = ts.pointers[i].is_some();
        ts.pointers[i] = Some((p.revision, p.etag));
        Ok(had.then_some(p.updated_at))
    }

    /// Reads the change feed from the applied position to its end and applies its artifact
    /// side. Returns the write time of the newest change read.
    fn follow_feed(
        &self,
        ts: &mut TenantSync,
        tenant: &str,
        now: Timestamp,
        force: &mut [bool; 2],
        report: &mut TenantReport,
    ) -> Result<FeedRead, ApiError> {
        let store = self.control.store();
        let mut plan = FeedPlan::default();
        let mut pos = ts.feed;
        let mut newest = None;
        loop {
            let page = store
                .changes_since(tenant, pos, FEED_PAGE)
                .map_err(|e| ApiError::from(ControlError::from(e)))?;
            for e in &page {
                if e.id <= pos || e.tenant != tenant {
                    continue; // a store answering out of contract: never step backwards
                }
                plan.add(e);
                pos = e.id;
                newest = Some(e.occurred_at);
                report.changes += 1;
            }
            if page.len() < FEED_PAGE {
                break;
            }
        }
        let first = !ts.fed;
        ts.feed = pos;
        ts.fed = true;
        let last_release = plan.last_release.clone();
        self.apply_plan(ts, tenant, now, plan, first, force, report);
        Ok((if first { None } else { newest }, last_release))
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_plan(
        &self,
        ts: &mut TenantSync,
        tenant: &str,
        now: Timestamp,
        plan: FeedPlan,
        first: bool,
        force: &mut [bool; 2],
        report: &mut TenantReport,
    ) {
        let local: Vec<String> = {
            let st = self.lock_state();
            st.surfaces
                .keys()
                .filter(|(t, _)| t == tenant)
                .map(|(_, s)| s.clone())
                .collect()
        };
        let known = |s: &str| local.iter().any(|x| x == s);
        for (surface, (rev, manifest)) in &plan.pin {
            let done = ts.pins.get(surface).is_some_and(|r| r >= rev);
            if !known(surface) || done || plan.covered(surface, *rev) {
                continue;
            }
            ts.pins.insert(surface.clone(), *rev);
            let surface = surface.clone();
            let result = match manifest {
                Some(text) => self
                    .loader_pin(tenant, &surface, now, text.clone().into_bytes())
                    .map(|step| (actions::ARTIFACTS_PIN, Some(step))),
                None if self.is_pinned(tenant, &surface) => self
                    .loader_unpin(tenant, &surface)
                    .map(|_| (actions::ARTIFACTS_UNPIN, None)),
                None => continue,
            };
            match result {
                Ok((action, step)) => {
                    report.applied.push((action.into(), surface.clone()));
                    if let Some(Step::Fetch(uris)) = step {
                        report.fetch.push((surface, uris));
                    }
                }
                Err(e) => report.errors.push((surface, e.message.clone())),
            }
        }
        for (surface, _) in plan.release {
            if !known(&surface) {
                continue;
            }
            match self.loader_release(tenant, &surface, now) {
                Ok(_) => report
                    .applied
                    .push((actions::ARTIFACTS_RELEASE.into(), surface)),
                Err(e) => report.errors.push((surface, e.message.clone())),
            }
        }
        // A process that starts fresh has no caches to drop: historical invalidations are
        // skipped on the first read of the feed.
        if first {
            return;
        }
        for (surface, config, rules, other) in plan.invalidations {
            force[0] |= config;
            force[1] |= rules;
            if other {
                self.loader_invalidate(tenant, surface.as_deref());
            }
            report.applied.push((
                actions::CACHE_INVALIDATE.into(),
                surface.unwrap_or_default(),
            ));
        }
    }

    /// Re-reads one pointer and re-applies its document even when it is the one serving
    /// (cache invalidation of `config` / `rules`); never installs an older revision.
    /// Returns how many surfaces were recompiled.
    ///
    /// ```
    /// use recsys_core::{Context, DocKind, Documents, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// engine.load_snapshot(Documents::new("demo", "home").signals(r#"{"popularity": []}"#))?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// engine.admin().put_config(&ctx, r#"{"weights": {"pop": 1}}"#, None)?;
    /// // Re-applied even though it already serves: the one surface is recompiled.
    /// assert_eq!(engine.sync_forced("demo", DocKind::Config, now)?, 1);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn sync_forced(
        &self,
        tenant: &str,
        kind: DocKind,
        now: Timestamp,
    ) -> Result<usize, ApiError> {
        let mut sync = self.lock_sync();
        let mut ts = sync.tenants.get(tenant).cloned().unwrap_or_default();
        let mut report = TenantReport::default();
        let head = self
            .control
            .store()
            .revision(tenant)
            .map_err(|e| ApiError::from(ControlError::from(e)))?;
        let r = self.reconcile_pointer(&mut ts, tenant, kind, head, true, &mut report);
        ts.last_sync = Some(now);
        sync.tenants.insert(tenant.to_owned(), ts);
        r.map(|_| report.recompiled)
    }

    /// Records that this engine applied a pin or unpin written through it (audit entry
    /// `revision`), so its own sync does not apply it a second time, nor a release's older
    /// pin over it.
    pub(crate) fn note_pin(&self, tenant: &str, surface: &str, revision: u64) {
        let mut sync = self.lock_sync();
        let ts = sync.tenants.entry(tenant.to_owned()).or_default();
        ts.pins.insert(surface.to_owned(), revision);
    }

    /// Whether (tenant, surface) is pinned to a manifest.
    pub(crate) fn is_pinned(&self, tenant: &str, surface: &str) -> bool {
        let st = self.lock_state();
        let key = (tenant.to_owned(), surface.to_owned());
        st.surfaces.get(&key).is_some_and(|s| s.pinned.is_some())
    }

    /// Per tenant: the revisions reconciled, the store revision last seen, the last sync and
    /// its lag, and per surface the versions being served.
    ///
    /// ```
    /// use recsys_core::{Context, Documents, Engine, Principal, SyncKinds, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// engine.load_snapshot(Documents::new("demo", "home").signals(r#"{"popularity": []}"#))?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// engine.admin().put_config(&ctx, r#"{"weights": {"pop": 1}}"#, None)?;
    /// engine.sync(None, SyncKinds::ALL, None, now)?;
    /// let status = recsys_core::json::to_string(&engine.sync_status(now));
    /// assert!(status.contains(r#""tenant":"demo","revision":1,"store_revision":1,"behind":0"#), "{status}");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn sync_status(&self, now: Timestamp) -> Value {
        let sync = self.lock_sync();
        let tenants = self.known_tenants(&sync);
        let served = self.loaded();
        let mut list = Vec::new();
        for t in tenants {
            let ts = sync.tenants.get(&t).cloned().unwrap_or_default();
            let mut m = Map::new();
            m.push("tenant", Value::str(&t));
            m.push("revision", Value::u64(ts.revision()));
            m.push("store_revision", Value::u64(ts.store_revision));
            m.push(
                "behind",
                Value::u64(ts.store_revision.saturating_sub(ts.revision())),
            );
            match ts.last_sync {
                Some(x) => {
                    m.push("last_sync", Value::str(x.to_rfc3339_nanos()));
                    m.push(
                        "since_last_sync_seconds",
                        Value::f64(now.seconds_since(x).max(0.0)),
                    );
                }
                None => m.push("last_sync", Value::Null),
            }
            m.push(
                "lag_seconds",
                ts.last_lag_seconds.map(Value::f64).unwrap_or(Value::Null),
            );
            let mut ptrs = Map::new();
            for kind in DocKind::ALL {
                let v = match &ts.pointers[kind as usize] {
                    Some((r, e)) => {
                        let mut x = Map::new();
                        x.push("version", Value::str(e));
                        x.push("revision", Value::u64(*r));
                        Value::Object(x)
                    }
                    None => Value::Null,
                };
                ptrs.push(kind.as_str(), v);
            }
            m.push("pointers", Value::Object(ptrs));
            let mut surfaces = Vec::new();
            for id in served.iter().filter(|id| id.tenant == *t) {
                let sf = &id.surface;
                if let Some(crate::engine::Served { snapshot: snap, .. }) =
                    self.snapshot(&id.tenant, sf)
                {
                    let v = &snap.versions;
                    let mut s = Map::new();
                    s.push("surface", Value::str(sf));
                    for (k, x) in [
                        ("config_version", &v.config_version),
                        ("rules_version", &v.rules_version),
                        ("manifest_version", &v.manifest_version),
                    ] {
                        s.push(k, x.as_ref().map(Value::str).unwrap_or(Value::Null));
                    }
                    s.push("pinned", Value::Bool(self.is_pinned(&t, sf)));
                    surfaces.push(Value::Object(s));
                }
            }
            m.push("surfaces", Value::Array(surfaces));
            list.push(Value::Object(m));
        }
        let mut out = Map::new();
        out.push("tenants", Value::Array(list));
        Value::Object(out)
    }
}
