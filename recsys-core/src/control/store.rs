//! The storage adapter the host implements, and an in-memory implementation.
//!
//! The control plane never keeps state of its own: every version, pointer and audit entry
//! lives behind [`DocumentStore`], and the store decides races through
//! [`DocumentStore::compare_and_swap`].

use super::audit::{actions, AuditDraft, AuditEntry, AuditKey};
use super::DocKind;
use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

/// What kind of failure a store reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// The store cannot be reached or timed out; nothing was written. Retryable.
    Unavailable,
    /// The store detected a concurrent modification (e.g. a serialization failure) and
    /// wrote nothing. The control plane treats it like a lost compare-and-swap.
    Conflict,
    /// Stored data violates an invariant (a pointer to a missing version, a version whose
    /// content does not match its ETag).
    Corrupt,
    /// Anything else.
    Other,
}

impl StoreErrorKind {
    /// The kind's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Conflict => "conflict",
            StoreErrorKind::Corrupt => "corrupt",
            StoreErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error reported by a [`DocumentStore`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("store {kind}: {message}")]
pub struct StoreError {
    /// What went wrong.
    pub kind: StoreErrorKind,
    /// The store's message.
    pub message: String,
}

impl StoreError {
    /// An error of `kind`.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> StoreError {
        StoreError {
            kind,
            message: message.into(),
        }
    }
    /// The store cannot be reached; worth a retry.
    pub fn unavailable(message: impl Into<String>) -> StoreError {
        StoreError::new(StoreErrorKind::Unavailable, message)
    }
    /// A concurrent write won; re-read and retry.
    pub fn conflict(message: impl Into<String>) -> StoreError {
        StoreError::new(StoreErrorKind::Conflict, message)
    }
    /// The store holds something it should not.
    pub fn corrupt(message: impl Into<String>) -> StoreError {
        StoreError::new(StoreErrorKind::Corrupt, message)
    }
    /// Any other failure.
    pub fn other(message: impl Into<String>) -> StoreError {
        StoreError::new(StoreErrorKind::Other, message)
    }
}

/// One immutable, content-addressed version of a tenant document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredVersion {
    /// Lower-case hex SHA-256 of `canonical_text`; the version's key.
    pub etag: String,
    /// The PostgreSQL `jsonb` text form of the document.
    pub canonical_text: String,
    /// The document as its first writer sent it (number literals and key order kept).
    pub document: String,
    /// When it was stored.
    pub created_at: Timestamp,
    /// Subject of the principal that first wrote this content.
    pub created_by: String,
    /// The comment stored with it.
    pub comment: Option<String>,
}

/// The current pointer of one (tenant, document kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pointer {
    /// ETag of the current version.
    pub etag: String,
    /// ETag of the version that was current before the last move (`None` after the first
    /// write). "Roll back to the previous version" goes there.
    pub previous: Option<String>,
    /// When the pointer was moved.
    pub updated_at: Timestamp,
    /// Who moved it.
    pub updated_by: String,
    /// The tenant's revision at which the pointer last moved: the id of the audit entry that
    /// records the move (assigned by the store in [`DocumentStore::compare_and_swap`]).
    /// Revisions only grow, so of two reads of a pointer the one with the higher revision
    /// is the newer one, whatever order they arrive in.
    pub revision: u64,
}

/// The audit actions that change what a tenant's processes serve: releases (config, rules
/// and artifact pins as one unit), pointer moves, artifact pins, unpins and releases of held
/// publishes, and cache invalidations. Together they are the tenant's
/// change feed ([`DocumentStore::changes_since`]); every other action (none today) is
/// bookkeeping only.
pub const CHANGE_ACTIONS: &[&str] = &[
    actions::RELEASE_PUBLISH,
    actions::RELEASE_ROLLBACK,
    actions::CONFIG_UPDATE,
    actions::RULES_UPDATE,
    actions::CONFIG_ROLLBACK,
    actions::RULES_ROLLBACK,
    actions::CACHE_INVALIDATE,
    actions::ARTIFACTS_PIN,
    actions::ARTIFACTS_UNPIN,
    actions::ARTIFACTS_RELEASE,
];

/// Whether an audit action is part of the change feed (see [`CHANGE_ACTIONS`]).
pub fn is_change_action(action: &str) -> bool {
    CHANGE_ACTIONS.contains(&action)
}

/// A requested pointer move: from `expected` (`None` = no current version) to `new_etag`.
///
/// A swap whose `new_etag` equals its `expected` is a *guard* (releases use them for the
/// kinds they keep): the pointer must match as for a move, and is then re-stamped (revision,
/// `updated_at`, `updated_by`) with its ETag and `previous` left as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointerSwap {
    /// Which document's pointer.
    pub kind: DocKind,
    /// The ETag the pointer must hold (`None`: no pointer yet).
    pub expected: Option<String>,
    /// The ETag to move it to.
    pub new_etag: String,
    /// When set, the pointer's [`Pointer::revision`] must also equal it (releases set it, so
    /// two releases racing on the same pointers cannot both succeed even when they leave a
    /// document as it was).
    pub expected_revision: Option<u64>,
    /// Who moves it.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

impl PointerSwap {
    /// Whether this swap only guards the pointer (see the type's documentation).
    pub fn is_guard(&self) -> bool {
        self.expected.as_deref() == Some(self.new_etag.as_str())
    }

    /// Whether `current` is what this swap expects.
    pub fn matches(&self, current: Option<&Pointer>) -> bool {
        current.map(|p| &p.etag) == self.expected.as_ref()
            && self
                .expected_revision
                .is_none_or(|r| current.is_some_and(|p| p.revision == r))
    }
}

/// The host's storage adapter. Implementations must be safe to share between threads; each
/// method is one atomic step of the store (a transaction, a lock, a conditional write).
///
/// Contract, per tenant (tenants never see each other's data):
///
/// * Versions are immutable and keyed by ETag per (tenant, kind); storing an ETag that
///   exists is a no-op that keeps the existing version (author, comment, text).
/// * A pointer per (tenant, kind) references a stored version.
/// * The audit log is append-only; ids are assigned by the store, strictly increasing;
///   each appended entry is chained to the tenant's previous one with
///   [`AuditDraft::seal`].
/// * Change feed: the audit entries whose action is in [`CHANGE_ACTIONS`] are the tenant's
///   changes; an entry's id is the change's *revision*. A pointer carries the revision of
///   the move that set it ([`Pointer::revision`]). A fleet of engines on one store
///   converges by reading the changes after the revision it has applied
///   ([`DocumentStore::changes_since`]).
pub trait DocumentStore: Send + Sync {
    /// The current pointer, `None` when the tenant has never had a document of this kind.
    fn current(&self, tenant: &str, kind: DocKind) -> Result<Option<Pointer>, StoreError>;

    /// One version by ETag.
    fn get_version(
        &self,
        tenant: &str,
        kind: DocKind,
        etag: &str,
    ) -> Result<Option<StoredVersion>, StoreError>;

    /// Stores a version unless its ETag exists. `Ok(true)` when it was inserted.
    fn put_version(
        &self,
        tenant: &str,
        kind: DocKind,
        version: &StoredVersion,
    ) -> Result<bool, StoreError>;

    /// Every version of (tenant, kind), oldest first (insertion order).
    fn list_versions(&self, tenant: &str, kind: DocKind) -> Result<Vec<StoredVersion>, StoreError>;

    /// Compare-and-swap of the current pointer, atomic with the audit entry that records it.
    ///
    /// If the pointer's ETag equals `swap.expected` (both `None` = no pointer yet) and
    /// `swap.new_etag` is a stored version: set the pointer to
    /// `{etag: new_etag, previous: expected, updated_at: at, updated_by: by}`, append `audit`
    /// (sealed as in [`DocumentStore::append_audit`]) and return the entry. Otherwise change
    /// nothing and return `Ok(None)`. An `Err` means nothing was written.
    fn compare_and_swap(
        &self,
        tenant: &str,
        swap: &PointerSwap,
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError>;

    /// Several compare-and-swaps of one tenant's pointers (at most one per kind) as one atomic
    /// step recorded by one audit entry (a release): if every swap matches
    /// ([`PointerSwap::matches`]: `expected`, and `expected_revision` when set) and every
    /// `new_etag` is stored, move every pointer (a guard swap only re-stamps it, see
    /// [`PointerSwap`]), all with the new entry's id as revision, append `audit` and return
    /// it; else change nothing and return `Ok(None)`. The default refuses: a store must opt
    /// in to releases by implementing this in one transaction.
    fn compare_and_swap_all(
        &self,
        tenant: &str,
        swaps: &[PointerSwap],
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let _ = (tenant, swaps, audit);
        Err(StoreError::other(
            "this document store cannot move several pointers in one step; releases need compare_and_swap_all",
        ))
    }

    /// Appends an entry: assigns the next id, seals the draft with the hash of the tenant's
    /// last entry, stores it and returns it, all in one atomic step.
    fn append_audit(&self, tenant: &str, audit: AuditDraft) -> Result<AuditEntry, StoreError>;

    /// Up to `limit` entries with `(occurred_at, id) < before` (all when `before` is `None`),
    /// ordered by `(occurred_at, id)` descending.
    fn list_audit(
        &self,
        tenant: &str,
        before: Option<AuditKey>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Up to `limit` entries with `id > after_id` (all when `None`), ordered by id ascending:
    /// the chain order used for verification.
    fn audit_chain(
        &self,
        tenant: &str,
        after_id: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// The tenant's revision: the id of its last change (an entry whose action is in
    /// [`CHANGE_ACTIONS`]), 0 when it has none.
    fn revision(&self, tenant: &str) -> Result<u64, StoreError>;

    /// Up to `limit` changes of the tenant (entries whose action is in [`CHANGE_ACTIONS`])
    /// with `id > since`, ordered by id ascending.
    fn changes_since(
        &self,
        tenant: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

#[derive(Default)]
struct KindState {
    versions: Vec<StoredVersion>,
    by_etag: HashMap<String, usize>,
    pointer: Option<Pointer>,
}

#[derive(Default)]
struct TenantState {
    config: KindState,
    rules: KindState,
    /// In id order.
    audit: Vec<AuditEntry>,
    /// Listing key → position in `audit`.
    by_key: BTreeMap<AuditKey, usize>,
    /// Positions in `audit` of the change-feed entries, in id order.
    changes: Vec<usize>,
}

impl TenantState {
    fn kind(&self, kind: DocKind) -> &KindState {
        match kind {
            DocKind::Config => &self.config,
            DocKind::Rules => &self.rules,
        }
    }
    fn kind_mut(&mut self, kind: DocKind) -> &mut KindState {
        match kind {
            DocKind::Config => &mut self.config,
            DocKind::Rules => &mut self.rules,
        }
    }
    fn append(&mut self, id: u64, draft: AuditDraft) -> AuditEntry {
        let entry = draft.seal(id, self.audit.last().map(|e| e.hash.as_str()));
        self.by_key.insert(entry.key(), self.audit.len());
        if is_change_action(&entry.action) {
            self.changes.push(self.audit.len());
        }
        self.audit.push(entry.clone());
        entry
    }
}

#[derive(Default)]
struct Inner {
    last_audit_id: u64,
    tenants: HashMap<String, TenantState>,
}

impl Inner {
    fn next_id(&mut self) -> u64 {
        self.last_audit_id += 1;
        self.last_audit_id
    }
}

/// A [`DocumentStore`] in process memory, behind one mutex: for tests, examples and embedded
/// hosts that keep documents in memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied step: every mutation
        // below happens after all checks.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn check_tenant(tenant: &str, draft: &AuditDraft) -> Result<(), StoreError> {
    if draft.tenant == tenant {
        Ok(())
    } else {
        Err(StoreError::other(format!(
            "audit entry for tenant {:?} appended to tenant {tenant:?}",
            draft.tenant
        )))
    }
}

impl DocumentStore for MemoryStore {
    fn current(&self, tenant: &str, kind: DocKind) -> Result<Option<Pointer>, StoreError> {
        let g = self.lock();
        Ok(g.tenants
            .get(tenant)
            .and_then(|t| t.kind(kind).pointer.clone()))
    }

    fn get_version(
        &self,
        tenant: &str,
        kind: DocKind,
        etag: &str,
    ) -> Result<Option<StoredVersion>, StoreError> {
        let g = self.lock();
        Ok(g.tenants.get(tenant).and_then(|t| {
            let k = t.kind(kind);
            k.by_etag.get(etag).map(|&i| k.versions[i].clone())
        }))
    }

    fn put_version(
        &self,
        tenant: &str,
        kind: DocKind,
        version: &StoredVersion,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock();
        let k = g
            .tenants
            .entry(tenant.to_owned())
            .or_default()
            .kind_mut(kind);
        if k.by_etag.contains_key(&version.etag) {
            return Ok(false);
        }
        k.by_etag.insert(version.etag.clone(), k.versions.len());
        k.versions.push(version.clone());
        Ok(true)
    }

    fn list_versions(&self, tenant: &str, kind: DocKind) -> Result<Vec<StoredVersion>, StoreError> {
        let g = self.lock();
        Ok(g.tenants
            .get(tenant)
            .map(|t| t.kind(kind).versions.clone())
            .unwrap_or_default())
    }

    fn compare_and_swap(
        &self,
        tenant: &str,
        swap: &PointerSwap,
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        self.compare_and_swap_all(tenant, std::slice::from_ref(swap), audit)
    }

    fn compare_and_swap_all(
        &self,
        tenant: &str,
        swaps: &[PointerSwap],
        audit: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        check_tenant(tenant, &audit)?;
        let mut g = self.lock();
        let Some(t) = g.tenants.get(tenant) else {
            return Ok(None);
        };
        for swap in swaps {
            let k = t.kind(swap.kind);
            if !swap.matches(k.pointer.as_ref()) || !k.by_etag.contains_key(&swap.new_etag) {
                return Ok(None);
            }
        }
        let id = g.next_id();
        let t = g.tenants.entry(tenant.to_owned()).or_default();
        for swap in swaps {
            let pointer = &mut t.kind_mut(swap.kind).pointer;
            let previous = match (swap.is_guard(), pointer.as_ref()) {
                (true, Some(p)) => p.previous.clone(),
                _ => swap.expected.clone(),
            };
            *pointer = Some(Pointer {
                etag: swap.new_etag.clone(),
                previous,
                updated_at: swap.at,
                updated_by: swap.by.clone(),
                revision: id,
            });
        }
        Ok(Some(t.append(id, audit)))
    }

    fn append_audit(&self, tenant: &str, audit: AuditDraft) -> Result<AuditEntry, StoreError> {
        check_tenant(tenant, &audit)?;
        let mut g = self.lock();
        let id = g.next_id();
        Ok(g.tenants
            .entry(tenant.to_owned())
            .or_default()
            .append(id, audit))
    }

    fn list_audit(
        &self,
        tenant: &str,
        before: Option<AuditKey>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let g = self.lock();
        let Some(t) = g.tenants.get(tenant) else {
            return Ok(Vec::new());
        };
        let iter: Box<dyn DoubleEndedIterator<Item = (&AuditKey, &usize)>> = match before {
            Some(b) => Box::new(t.by_key.range(..b)),
            None => Box::new(t.by_key.iter()),
        };
        Ok(iter
            .rev()
            .take(limit)
            .map(|(_, &i)| t.audit[i].clone())
            .collect())
    }

    fn audit_chain(
        &self,
        tenant: &str,
        after_id: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let g = self.lock();
        let Some(t) = g.tenants.get(tenant) else {
            return Ok(Vec::new());
        };
        let start = match after_id {
            Some(a) => t.audit.partition_point(|e| e.id <= a),
            None => 0,
        };
        Ok(t.audit[start..].iter().take(limit).cloned().collect())
    }

    fn revision(&self, tenant: &str) -> Result<u64, StoreError> {
        let g = self.lock();
        Ok(g.tenants
            .get(tenant)
            .and_then(|t| t.changes.last().map(|&i| t.audit[i].id))
            .unwrap_or(0))
    }

    fn changes_since(
        &self,
        tenant: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let g = self.lock();
        let Some(t) = g.tenants.get(tenant) else {
            return Ok(Vec::new());
        };
        let start = t.changes.partition_point(|&i| t.audit[i].id <= since);
        Ok(t.changes[start..]
            .iter()
            .take(limit)
            .map(|&i| t.audit[i].clone())
            .collect())
    }
}
