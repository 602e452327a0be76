//! The control plane: how operators change a tenant's config and rules safely, see who
//! changed what, roll back in one step and drop caches, as a pure state machine over a
//! storage adapter the host implements ([`DocumentStore`]).
//!
//! Nothing here reads a clock or does I/O besides calling the store: every operation takes
//! an [`OpContext`] with the time, the request id and the authenticated [`Principal`].
//!
//! # Versions and writes
//!
//! A document's version is its ETag (see [`crate::json::etag`]); versions are immutable and
//! content-addressed per tenant and kind, so `0.3` and `0.30` are different versions while
//! re-formatting the same content is not. Each (tenant, kind) has a current pointer. A put:
//!
//! 1. checks the tenant scope and roles ([`AccessPolicy::authorize`]);
//! 2. validates the document (config: [`crate::config::TenantConfig::from_value`]; rules:
//!    strict [`crate::rules::parse_rules_value`]) and reports every problem; an invalid
//!    document writes nothing;
//! 3. reads the pointer; checks `If-Match` (raw, quoted, weak `W/"…"`, any case; `*` = any
//!    current version); a mismatch is `RECSYS_VERSION_MISMATCH` carrying the current version;
//! 4. if the document is the current version: no-op, no audit entry;
//! 5. reads the current document (the audit entry's `before_state`), then stores the version
//!    (a no-op when the ETag exists: re-putting an older document re-uses it, which is how a
//!    rollback by content works);
//! 6. calls [`DocumentStore::compare_and_swap`], which moves the pointer **and** appends the
//!    audit entry in one atomic step. If the pointer moved meanwhile, a conditional write
//!    fails with the version mismatch (current version re-read); an unconditional one starts
//!    again at 3, up to [`ControlOptions::max_write_attempts`] times
//!    (`RECSYS_WRITE_CONFLICT` after that);
//! 7. asks the [`Invalidator`], if any, to drop the kind's caches, and returns the
//!    [`Invalidation`] either way.
//!
//! # Failure ordering
//!
//! Reads come first; the only multi-step write is "store version, then swap + audit". A
//! failure before the version is stored leaves nothing; a failure of the swap leaves at most
//! a stored version that never became current (versions are immutable and
//! content-addressed, so it is harmless, listed by [`ControlPlane::list_versions`] and
//! re-used by a later put of the same content); the pointer and the audit log are unchanged.
//! Because the pointer move and its audit entry are one store step, there is no state in
//! which the pointer moved without an entry or an entry records a move that did not happen,
//! and the audit order of moves is the order in which they happened (a separate CAS
//! followed or preceded by a separate append cannot guarantee that when the same version
//! becomes current twice in a race). Cache invalidation calls the invalidator before it
//! appends its entry: if the append fails the operation fails although caches were dropped,
//! which changes no document (readers reload the same versions).
//!
//! # Audit
//!
//! Entries ([`AuditEntry`]) are hash-chained per tenant ([`verify_audit_chain`]), listed
//! newest first with an opaque keyset cursor that never skips or repeats an entry, and
//! redacted for viewers (no `before_state`, `after_state`, `extra`).

mod access;
pub mod api;
mod audit;
mod error;
mod invalidate;
mod release;
mod store;

pub use access::{valid_tenant, Access, AccessPolicy, Principal};
#[cfg(test)]
pub use audit::verify_audit_chain;
pub use audit::{
    actions, decode_cursor, encode_cursor, Actor, AuditDraft, AuditEntry, AuditHead, AuditKey,
    AuditKeyring, AuditSigner, ChainVerifier, Entity, TamperError, TamperReason,
};
pub use error::ControlError;
pub use invalidate::{
    parse_surface, parse_targets, CacheTarget, Invalidation, InvalidationCounts, Invalidator,
};
pub(crate) use release::mismatch as release_mismatch;
pub use release::{Release, ReleaseOutcome};
pub use store::{
    DocumentStore, MemoryStore, Pointer, PointerSwap, StoreError, StoreErrorKind, StoredVersion,
    CHANGE_ACTIONS,
};

use crate::config::TenantConfig;
use crate::error::{Problem, Refusal};
use crate::json::{self, JsonError, Map, Value};
use crate::rules::{parse_rules_value, RulesError, RulesParseOptions, RULES_TOO_MANY};
use crate::time::Timestamp;
use audit::sha256_hex;
use std::sync::Arc;

/// The two documents a tenant has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    /// The tenant's config document.
    Config,
    /// The tenant's rules document.
    Rules,
}

impl DocKind {
    /// Both kinds, config first.
    pub const ALL: [DocKind; 2] = [DocKind::Config, DocKind::Rules];

    /// `config` / `rules`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Config => "config",
            DocKind::Rules => "rules",
        }
    }
    /// Parses `config` / `rules` (trimmed, any case).
    pub fn parse(s: &str) -> Option<DocKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "config" => Some(DocKind::Config),
            "rules" => Some(DocKind::Rules),
            _ => None,
        }
    }
    /// The audit entity type: `tenant_config` / `tenant_rules`.
    pub fn entity_type(self) -> &'static str {
        match self {
            DocKind::Config => "tenant_config",
            DocKind::Rules => "tenant_rules",
        }
    }
    /// The answer member holding the version: `config_version` / `rules_version`.
    pub fn version_field(self) -> &'static str {
        match self {
            DocKind::Config => "config_version",
            DocKind::Rules => "rules_version",
        }
    }
    /// The audit action of a write of this kind (`config.update`, `rules.update`).
    pub fn update_action(self) -> &'static str {
        match self {
            DocKind::Config => actions::CONFIG_UPDATE,
            DocKind::Rules => actions::RULES_UPDATE,
        }
    }
    /// The audit action of a rollback of this kind.
    pub fn rollback_action(self) -> &'static str {
        match self {
            DocKind::Config => actions::CONFIG_ROLLBACK,
            DocKind::Rules => actions::RULES_ROLLBACK,
        }
    }
    /// The cache a change of this document invalidates.
    pub fn cache_target(self) -> CacheTarget {
        match self {
            DocKind::Config => CacheTarget::Config,
            DocKind::Rules => CacheTarget::Rules,
        }
    }
    /// The kind whose move an audit action records, if it records one.
    pub fn of_move_action(action: &str) -> Option<DocKind> {
        match action {
            actions::CONFIG_UPDATE | actions::CONFIG_ROLLBACK => Some(DocKind::Config),
            actions::RULES_UPDATE | actions::RULES_ROLLBACK => Some(DocKind::Rules),
            _ => None,
        }
    }
}

/// What every operation needs from the host: the time, the request id and the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpContext {
    pub now: Timestamp,
    pub request_id: String,
    pub principal: Principal,
}

impl OpContext {
    pub fn new(now: Timestamp, request_id: impl Into<String>, principal: Principal) -> OpContext {
        OpContext {
            now,
            request_id: request_id.into(),
            principal,
        }
    }
}

/// Limits of the control plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlOptions {
    /// Largest document accepted by a put (default 1 MiB, the reference's admin body limit).
    pub max_document_bytes: usize,
    /// Pointer races an unconditional write survives before `RECSYS_WRITE_CONFLICT`.
    pub max_write_attempts: u32,
    /// Audit page size when none is asked for (default 100).
    pub audit_default_limit: usize,
    /// Largest audit page; larger requests are clamped (default 200).
    pub audit_max_limit: usize,
    /// Longest comment in characters (default 1000).
    pub max_comment_chars: usize,
}

impl Default for ControlOptions {
    fn default() -> ControlOptions {
        ControlOptions {
            max_document_bytes: json::Limits::document().max_bytes,
            max_write_attempts: 8,
            audit_default_limit: 100,
            audit_max_limit: 200,
            max_comment_chars: 1000,
        }
    }
}

/// The current document of a tenant.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CurrentDocument {
    /// The tenant.
    pub tenant: String,
    /// Which document.
    pub kind: DocKind,
    /// The current version's ETag.
    pub etag: String,
    /// The document as its first writer sent it.
    pub document: Value,
    /// The canonical text the ETag is the hash of.
    pub canonical_text: String,
    /// The ETag the pointer held before this version.
    pub previous: Option<String>,
    /// When the pointer was last moved.
    pub updated_at: Timestamp,
    /// Who moved it.
    pub updated_by: String,
    /// Who stored this version.
    pub created_by: String,
    /// The comment stored with the version.
    pub comment: Option<String>,
}

/// A put ([`crate::Admin::put`]): the raw document bytes, an optional `If-Match` value and
/// an optional comment for the audit entry.
///
/// ```
/// use recsys_core::PutRequest;
///
/// let req = PutRequest::new(br#"{"algo": "popularity"}"#)
///     .if_match("W/\"abc\"")
///     .comment("switch to popularity");
/// assert_eq!(req.comment, Some("switch to popularity"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct PutRequest<'a> {
    /// The document's JSON text, as bytes.
    pub document: &'a [u8],
    /// The version the caller last read: the put is refused when another is current.
    pub if_match: Option<&'a str>,
    /// Why the change is made (kept in the audit entry).
    pub comment: Option<&'a str>,
}

impl<'a> PutRequest<'a> {
    /// A put of `document` (JSON text), unconditional and without a comment.
    pub fn new(document: &'a [u8]) -> PutRequest<'a> {
        PutRequest {
            document,
            if_match: None,
            comment: None,
        }
    }

    /// Makes the put conditional on `version` being current (`If-Match`).
    pub fn if_match(mut self, version: &'a str) -> PutRequest<'a> {
        self.if_match = Some(version);
        self
    }

    /// Records `comment` in the audit entry.
    pub fn comment(mut self, comment: &'a str) -> PutRequest<'a> {
        self.comment = Some(comment);
        self
    }
}

/// What a put or rollback did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WriteOutcome {
    /// The tenant.
    pub tenant: String,
    /// Which document.
    pub kind: DocKind,
    /// The version now current.
    pub etag: String,
    /// The written document (a put echoes the request's document).
    pub document: Value,
    /// False for a no-op (the document already was current).
    pub changed: bool,
    /// The version current before the operation.
    pub from_version: Option<String>,
    /// True when the content had never been stored for this tenant.
    pub new_version: bool,
    /// Id of the audit entry recording the move.
    pub audit_id: Option<u64>,
    /// The tenant's audit chain head after the write (the entry recording it).
    pub audit_head: Option<AuditHead>,
    /// The caches to drop because of the move (already applied when an invalidator is set).
    pub invalidation: Option<Invalidation>,
    /// What the invalidator reported.
    pub invalidated: InvalidationCounts,
}

/// Where a rollback goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollbackTarget<'a> {
    /// The version that was current before the current one ([`Pointer::previous`]).
    /// Rolling back twice therefore returns to where it started.
    Previous,
    /// A version by ETag (raw, quoted, weak or upper-case forms accepted).
    Version(&'a str),
}

/// One stored version.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionInfo {
    /// The version's ETag.
    pub etag: String,
    /// When it was stored.
    pub created_at: Timestamp,
    /// Who stored it.
    pub created_by: String,
    /// The comment stored with it.
    pub comment: Option<String>,
    /// True for the current version.
    pub current: bool,
}

/// The versions of one document, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionList {
    /// The tenant.
    pub tenant: String,
    /// Which document.
    pub kind: DocKind,
    /// The current version's ETag.
    pub current: Option<String>,
    /// The version current before it.
    pub previous: Option<String>,
    /// Every stored version, oldest first.
    pub versions: Vec<VersionInfo>,
}

/// An audit page request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Entries per page: 100 unless set, at most 200; 0 is rejected.
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Reference-style keyset paging: entries strictly older than (`before`, `before_id`)
    /// in (occurred_at, id) order. `before` defaults to now + 1 hour when only `before_id`
    /// is given; `before_id` absent or 0 means "any id" (`i64::MAX`). Not combinable with
    /// `cursor`.
    pub before: Option<Timestamp>,
    /// With `before`: entries with a smaller id at that time (see `before`).
    pub before_id: Option<u64>,
}

/// One page of a tenant's audit log, newest first.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AuditPage {
    /// The entries of this page, newest first.
    pub entries: Vec<AuditEntry>,
    /// Present when older entries exist: the key of the last entry of this page.
    pub next_cursor: Option<String>,
    /// The same key for reference clients (`next_before`, `next_before_id`).
    pub next_before: Option<AuditKey>,
    /// True when the caller is a viewer: states and extra were removed from the entries.
    pub redacted: bool,
}

/// A pointer that disagrees with the last move recorded in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PointerMismatch {
    /// Which document.
    pub kind: DocKind,
    /// The ETag the pointer holds.
    pub pointer: Option<String>,
    /// The ETag the last audited move set.
    pub audited: Option<String>,
}

/// The result of verifying a tenant's audit chain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditVerification {
    /// The tenant.
    pub tenant: String,
    /// Entries verified before the first failure (all of them when intact).
    pub entries: u64,
    /// Hash of the last verified entry.
    pub head_hash: Option<String>,
    /// The first broken link of the chain, if any.
    pub tamper: Option<TamperError>,
    /// Pointers that are not where the last recorded move put them (a pointer changed
    /// behind the control plane's back). Only checked when the chain is intact.
    pub pointer_mismatches: Vec<PointerMismatch>,
}

impl AuditVerification {
    /// True when the chain verified and every pointer matches its audit log.
    pub fn ok(&self) -> bool {
        self.tamper.is_none() && self.pointer_mismatches.is_empty()
    }
}

/// What an invalidation did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidationOutcome {
    /// What was invalidated.
    pub invalidation: Invalidation,
    /// How many caches were dropped.
    pub invalidated: InvalidationCounts,
    /// The id of the audit entry recording it.
    pub audit_id: u64,
    /// The tenant's audit chain head after the invalidation.
    pub audit_head: AuditHead,
}

/// A validated document ready to be stored.
struct Validated {
    value: Value,
    text: String,
    canonical: String,
    etag: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Put,
    RollbackPrevious,
    RollbackTo,
}

/// The control plane over one store. Cheap to share between threads (`&self` everywhere).
#[derive(Clone)]
pub struct ControlPlane {
    store: Arc<dyn DocumentStore>,
    policy: AccessPolicy,
    invalidator: Option<Arc<dyn Invalidator>>,
    options: ControlOptions,
    /// Host secrets keying the audit chain (`None`: plain SHA-256 chain).
    audit_keys: Option<Arc<AuditKeyring>>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("policy", &self.policy)
            .field("invalidator", &self.invalidator.is_some())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

const AUDIT_VERIFY_PAGE: usize = 500;
const MAX_REQUEST_ID_CHARS: usize = 256;

impl ControlPlane {
    pub fn new(store: Arc<dyn DocumentStore>) -> ControlPlane {
        ControlPlane {
            store,
            policy: AccessPolicy::default(),
            invalidator: None,
            options: ControlOptions::default(),
            audit_keys: None,
        }
    }

    /// A control plane over a fresh [`MemoryStore`].
    pub fn in_memory() -> ControlPlane {
        ControlPlane::new(Arc::new(MemoryStore::new()))
    }

    /// Keys the audit chain with the host's secrets (see [`AuditKeyring`]).
    pub fn with_audit_keys(mut self, keys: Option<Arc<AuditKeyring>>) -> ControlPlane {
        self.audit_keys = keys;
        self
    }

    /// The signer new audit entries are sealed with.
    fn signer(&self) -> Option<AuditSigner> {
        self.audit_keys.as_ref().map(|k| k.signer())
    }

    pub fn with_policy(mut self, policy: AccessPolicy) -> ControlPlane {
        self.policy = policy;
        self
    }

    #[cfg(test)]
    pub fn with_invalidator(mut self, invalidator: Arc<dyn Invalidator>) -> ControlPlane {
        self.invalidator = Some(invalidator);
        self
    }

    #[cfg(test)]
    pub fn with_options(mut self, options: ControlOptions) -> ControlPlane {
        self.options = options;
        self
    }

    pub fn store(&self) -> &Arc<dyn DocumentStore> {
        &self.store
    }

    fn authorize(&self, ctx: &OpContext, tenant: &str, access: Access) -> Result<(), ControlError> {
        self.policy.authorize(&ctx.principal, tenant, access)
    }

    // ---- reads ------------------------------------------------------------------------

    /// The current pointer of (tenant, kind) and its document, integrity-checked, without
    /// an access check: for the engine's own reconcile with the store ([`crate::sync`]),
    /// which reads what is already current and changes nothing in the store.
    pub fn current_for_serving(
        &self,
        tenant: &str,
        kind: DocKind,
    ) -> Result<Option<(Pointer, Value)>, ControlError> {
        let Some(p) = self.store.current(tenant, kind)? else {
            return Ok(None);
        };
        let (_, document) = self.load_pointed(tenant, kind, &p)?;
        Ok(Some((p, document)))
    }

    /// The current document (viewer, operator or admin of the tenant).
    pub fn get(
        &self,
        ctx: &OpContext,
        tenant: &str,
        kind: DocKind,
    ) -> Result<CurrentDocument, ControlError> {
        self.authorize(ctx, tenant, Access::Read)?;
        let p = self
            .store
            .current(tenant, kind)?
            .ok_or(ControlError::NotFound { kind })?;
        let (v, document) = self.load_pointed(tenant, kind, &p)?;
        Ok(CurrentDocument {
            tenant: tenant.to_owned(),
            kind,
            etag: p.etag,
            document,
            canonical_text: v.canonical_text,
            previous: p.previous,
            updated_at: p.updated_at,
            updated_by: p.updated_by,
            created_by: v.created_by,
            comment: v.comment,
        })
    }

    #[cfg(test)]
    pub fn get_config(
        &self,
        ctx: &OpContext,
        tenant: &str,
    ) -> Result<CurrentDocument, ControlError> {
        self.get(ctx, tenant, DocKind::Config)
    }

    #[cfg(test)]
    pub fn get_rules(
        &self,
        ctx: &OpContext,
        tenant: &str,
    ) -> Result<CurrentDocument, ControlError> {
        self.get(ctx, tenant, DocKind::Rules)
    }

    /// Every stored version, oldest first, with authors and which one is current.
    pub fn list_versions(
        &self,
        ctx: &OpContext,
        tenant: &str,
        kind: DocKind,
    ) -> Result<VersionList, ControlError> {
        self.authorize(ctx, tenant, Access::Read)?;
        let pointer = self.store.current(tenant, kind)?;
        let current = pointer.as_ref().map(|p| p.etag.clone());
        let versions = self
            .store
            .list_versions(tenant, kind)?
            .into_iter()
            .map(|v| VersionInfo {
                current: current.as_deref() == Some(v.etag.as_str()),
                etag: v.etag,
                created_at: v.created_at,
                created_by: v.created_by,
                comment: v.comment,
            })
            .collect();
        Ok(VersionList {
            tenant: tenant.to_owned(),
            kind,
            previous: pointer.and_then(|p| p.previous),
            current,
            versions,
        })
    }

    /// One page of the tenant's audit log, newest first. Viewers get redacted entries.
    pub fn audit(
        &self,
        ctx: &OpContext,
        tenant: &str,
        query: &AuditQuery,
    ) -> Result<AuditPage, ControlError> {
        self.authorize(ctx, tenant, Access::Read)?;
        let limit = match query.limit {
            None => self.options.audit_default_limit,
            Some(0) => return Err(ControlError::invalid_request("limit must be positive")),
            Some(n) => n.min(self.options.audit_max_limit),
        }
        .max(1);
        let before = audit_bound(query, ctx.now)?;
        let mut entries: Vec<AuditEntry> = self
            .store
            .list_audit(tenant, before, limit + 1)?
            .into_iter()
            .filter(|e| e.tenant == tenant && before.is_none_or(|b| e.key() < b))
            .collect();
        let more = entries.len() > limit;
        entries.truncate(limit);
        // The key of the last entry returned (not of the first one left out, as in the
        // reference): the next page's strict `<` then neither skips nor repeats an entry.
        let next_before = if more {
            entries.last().map(AuditEntry::key)
        } else {
            None
        };
        let next_cursor = next_before.map(encode_cursor);
        let redacted = !self.policy.sees_audit_details(&ctx.principal);
        if redacted {
            for e in &mut entries {
                e.before_state = None;
                e.after_state = None;
                e.extra = None;
            }
        }
        Ok(AuditPage {
            entries,
            next_cursor,
            next_before,
            redacted,
        })
    }

    /// Verifies the tenant's whole audit chain (keyed hashes with the audit keys), that it
    /// contains `head` when given (a head a write returned: its absence is truncation, another
    /// hash at its id a rewrite), and that each pointer is where the last recorded move put it.
    pub fn verify_audit(
        &self,
        ctx: &OpContext,
        tenant: &str,
        head: Option<AuditHead>,
    ) -> Result<AuditVerification, ControlError> {
        self.authorize(ctx, tenant, Access::Read)?;
        let mut verifier = ChainVerifier::new(Some(tenant))
            .with_keys(self.audit_keys.clone())
            .expecting_head(head);
        let mut last_move: [Option<String>; 2] = [None, None];
        let mut after = None;
        let mut tamper = None;
        'pages: loop {
            let page = self.store.audit_chain(tenant, after, AUDIT_VERIFY_PAGE)?;
            for e in &page {
                if let Err(t) = verifier.push(e) {
                    tamper = Some(t);
                    break 'pages;
                }
                if let Some(kind) = DocKind::of_move_action(&e.action) {
                    last_move[kind as usize] = e.entity.id.clone();
                }
                release::moves(e, &mut last_move);
            }
            match page.last() {
                Some(e) if page.len() >= AUDIT_VERIFY_PAGE => after = Some(e.id),
                _ => break,
            }
        }
        if tamper.is_none() {
            tamper = verifier.finish().err();
        }
        let mut pointer_mismatches = Vec::new();
        if tamper.is_none() {
            for kind in DocKind::ALL {
                let pointer = self.store.current(tenant, kind)?.map(|p| p.etag);
                let audited = last_move[kind as usize].clone();
                if pointer != audited {
                    pointer_mismatches.push(PointerMismatch {
                        kind,
                        pointer,
                        audited,
                    });
                }
            }
        }
        Ok(AuditVerification {
            tenant: tenant.to_owned(),
            entries: verifier.count(),
            head_hash: verifier.head().map(str::to_owned),
            tamper,
            pointer_mismatches,
        })
    }

    // ---- writes -----------------------------------------------------------------------

    /// Validates and writes a document (operator or admin of the tenant).
    pub fn put(
        &self,
        ctx: &OpContext,
        tenant: &str,
        kind: DocKind,
        req: PutRequest<'_>,
    ) -> Result<WriteOutcome, ControlError> {
        self.authorize(ctx, tenant, Access::Write)?;
        let comment = self.comment(req.comment)?;
        let doc = self.validate(tenant, kind, req.document)?;
        self.write(
            ctx,
            tenant,
            kind,
            doc,
            nonblank(req.if_match),
            comment,
            How::Put,
        )
    }

    #[cfg(test)]
    pub fn put_config(
        &self,
        ctx: &OpContext,
        tenant: &str,
        document: &[u8],
        if_match: Option<&str>,
    ) -> Result<WriteOutcome, ControlError> {
        let req = PutRequest {
            document,
            if_match,
            comment: None,
        };
        self.put(ctx, tenant, DocKind::Config, req)
    }

    #[cfg(test)]
    pub fn put_rules(
        &self,
        ctx: &OpContext,
        tenant: &str,
        document: &[u8],
        if_match: Option<&str>,
    ) -> Result<WriteOutcome, ControlError> {
        let req = PutRequest {
            document,
            if_match,
            comment: None,
        };
        self.put(ctx, tenant, DocKind::Rules, req)
    }

    /// Makes an earlier version current again in one audited step (`config.rollback` /
    /// `rules.rollback`). The target is validated again under today's rules. Rolling back to
    /// the previous version is conditional on the current version read (a concurrent change
    /// gives `RECSYS_VERSION_MISMATCH`); a named rollback is conditional only with `if_match`.
    pub fn rollback(
        &self,
        ctx: &OpContext,
        tenant: &str,
        kind: DocKind,
        target: RollbackTarget<'_>,
        if_match: Option<&str>,
        comment: Option<&str>,
    ) -> Result<WriteOutcome, ControlError> {
        self.authorize(ctx, tenant, Access::Write)?;
        let comment = self.comment(comment)?;
        let if_match = nonblank(if_match);
        let (etag, condition, how) = match target {
            RollbackTarget::Previous => {
                let cur = self
                    .store
                    .current(tenant, kind)?
                    .ok_or(ControlError::NotFound { kind })?;
                if let Some(im) = if_match {
                    if !json::if_match_matches(im, &cur.etag) {
                        return Err(ControlError::VersionMismatch {
                            kind,
                            current: Some(cur.etag),
                        });
                    }
                }
                let prev = cur
                    .previous
                    .clone()
                    .ok_or(ControlError::NoPreviousVersion { kind })?;
                (prev, Some(cur.etag), How::RollbackPrevious)
            }
            RollbackTarget::Version(raw) => (
                json::normalize_if_match(raw),
                if_match.map(str::to_owned),
                How::RollbackTo,
            ),
        };
        let (version, _) = self.load_version(tenant, kind, &etag)?.ok_or_else(|| {
            ControlError::VersionNotFound {
                kind,
                etag: etag.clone(),
            }
        })?;
        let doc = self.validate(tenant, kind, version.document.as_bytes())?;
        self.write(ctx, tenant, kind, doc, condition.as_deref(), comment, how)
    }

    #[cfg(test)]
    /// Rolls back to the version that was current before the current one.
    pub fn rollback_previous(
        &self,
        ctx: &OpContext,
        tenant: &str,
        kind: DocKind,
    ) -> Result<WriteOutcome, ControlError> {
        self.rollback(ctx, tenant, kind, RollbackTarget::Previous, None, None)
    }

    #[cfg(test)]
    /// Rolls back to a named version.
    pub fn rollback_to(
        &self,
        ctx: &OpContext,
        tenant: &str,
        kind: DocKind,
        etag: &str,
    ) -> Result<WriteOutcome, ControlError> {
        self.rollback(ctx, tenant, kind, RollbackTarget::Version(etag), None, None)
    }

    /// Validates an invalidation request, applies it through the invalidator (if any),
    /// audits it (`cache.invalidate`) and returns it (operator or admin of the tenant).
    pub fn invalidate<S: AsRef<str>>(
        &self,
        ctx: &OpContext,
        tenant: &str,
        targets: &[S],
        surface: Option<&str>,
    ) -> Result<InvalidationOutcome, ControlError> {
        self.authorize(ctx, tenant, Access::Write)?;
        let targets = parse_targets(targets)?;
        let surface = parse_surface(surface)?;
        let invalidation = Invalidation {
            tenant: tenant.to_owned(),
            targets,
            surface,
        };
        let mut invalidated = match &self.invalidator {
            Some(i) => i.invalidate(&invalidation),
            None => InvalidationCounts::new(),
        };
        invalidated.retain(|t, _| invalidation.targets.contains(t));
        let mut after = Map::new();
        after.push("status", Value::str("applied"));
        after.push("targets", invalidate::targets_value(&invalidation.targets));
        if let Some(s) = &invalidation.surface {
            after.push("surface", Value::str(s));
        }
        after.push("invalidated", invalidate::counts_value(&invalidated));
        let entity = Entity {
            entity_type: "cache_invalidation".into(),
            id: None,
        };
        let draft = self.draft(
            ctx,
            tenant,
            actions::CACHE_INVALIDATE,
            entity,
            [None, Some(Value::Object(after))],
            None,
        );
        let entry = self.store.append_audit(tenant, draft)?;
        Ok(InvalidationOutcome {
            invalidation,
            invalidated,
            audit_id: entry.id,
            audit_head: AuditHead::of(&entry),
        })
    }

    /// [`ControlPlane::record_action`] with an `extra` member: what other processes need
    /// to apply the same action (the pinned manifest's text for `artifacts.pin`).
    pub fn record_action_with_extra(
        &self,
        ctx: &OpContext,
        tenant: &str,
        action: &str,
        entity: Entity,
        [before, after]: [Option<Value>; 2],
        extra: Option<Value>,
    ) -> Result<AuditEntry, ControlError> {
        self.authorize(ctx, tenant, Access::Write)?;
        let draft = self.draft(ctx, tenant, action, entity, [before, after], extra);
        Ok(self.store.append_audit(tenant, draft)?)
    }

    /// The audit draft of an action by `ctx`'s principal on `tenant`, at `ctx.now`, sealed
    /// with this plane's audit key (if any): the one place entries are drafted.
    pub(crate) fn draft(
        &self,
        ctx: &OpContext,
        tenant: &str,
        action: &str,
        entity: Entity,
        [before, after]: [Option<Value>; 2],
        extra: Option<Value>,
    ) -> AuditDraft {
        AuditDraft {
            tenant: tenant.to_owned(),
            occurred_at: ctx.now,
            actor: ctx.principal.actor(),
            action: action.to_owned(),
            entity,
            request_id: request_id(ctx),
            before_state: before,
            after_state: after,
            extra,
            signer: self.signer(),
        }
    }

    /// Checks that the caller may write for `tenant` (used before actions that are audited
    /// afterwards with [`ControlPlane::record_action`]).
    pub fn authorize_write(&self, ctx: &OpContext, tenant: &str) -> Result<(), ControlError> {
        self.authorize(ctx, tenant, Access::Write)
    }

    // ---- internals --------------------------------------------------------------------

    fn comment(&self, comment: Option<&str>) -> Result<Option<String>, ControlError> {
        let Some(c) = nonblank(comment) else {
            return Ok(None);
        };
        if c.chars().count() > self.options.max_comment_chars {
            return Err(ControlError::invalid_request(format!(
                "comment is longer than {} characters",
                self.options.max_comment_chars
            )));
        }
        Ok(Some(access::clean(c)))
    }

    fn validate(
        &self,
        tenant: &str,
        kind: DocKind,
        bytes: &[u8],
    ) -> Result<Validated, ControlError> {
        let name = kind.as_str();
        let invalid = |refusal: Refusal, message: String, problems: Vec<Problem>| {
            ControlError::InvalidDocument {
                kind,
                refusal,
                message,
                problems,
            }
        };
        let json_invalid = |e: JsonError| {
            let path = if e.path.is_empty() {
                "$".to_string()
            } else {
                e.path.clone()
            };
            invalid(
                Refusal::Malformed,
                format!("{name} payload must be valid json: {e}"),
                vec![Problem::new(path, e.code(), e.message.clone())],
            )
        };
        if bytes.len() > self.options.max_document_bytes {
            return Err(invalid(
                Refusal::TooLarge,
                format!(
                    "{name} payload is {} bytes, more than the limit of {}",
                    bytes.len(),
                    self.options.max_document_bytes
                ),
                vec![Problem::new(
                    "$",
                    json::JsonErrorKind::TooLarge.code(),
                    format!(
                        "document is {} bytes, more than the limit of {}",
                        bytes.len(),
                        self.options.max_document_bytes
                    ),
                )],
            ));
        }
        if bytes
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            return Err(invalid(
                Refusal::Malformed,
                format!("{name} payload is required"),
                Vec::new(),
            ));
        }
        let value = match kind {
            DocKind::Config => {
                let v = json::parse_with(bytes, json::Limits::document()).map_err(json_invalid)?;
                if let Err(problems) = TenantConfig::from_value(&v) {
                    return Err(invalid(
                        Refusal::Invalid,
                        summary(name, &problems),
                        problems,
                    ));
                }
                v
            }
            DocKind::Rules => {
                let opts = RulesParseOptions::strict(tenant);
                let v = json::parse_with(bytes, opts.json_limits).map_err(json_invalid)?;
                match parse_rules_value(&v, &opts) {
                    Ok(_) => v,
                    Err(RulesError::Json(e)) => return Err(json_invalid(e)),
                    Err(e @ RulesError::TooMany { .. }) => {
                        let msg = e.to_string();
                        return Err(invalid(
                            Refusal::Invalid,
                            msg.clone(),
                            vec![Problem::new("$", RULES_TOO_MANY, msg)],
                        ));
                    }
                    Err(RulesError::Invalid(problems)) => {
                        return Err(invalid(
                            Refusal::Invalid,
                            summary(name, &problems),
                            problems,
                        ))
                    }
                    Err(e) => return Err(invalid(e.refusal(), e.to_string(), e.problems())),
                }
            }
        };
        let canonical =
            json::canonical_value_text_within(&value, json::Limits::document().max_bytes)
                .map_err(json_invalid)?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
            invalid(
                Refusal::Malformed,
                format!("{name} payload must be valid utf-8"),
                Vec::new(),
            )
        })?;
        Ok(Validated {
            etag: sha256_hex(canonical.as_bytes()),
            value,
            text,
            canonical,
        })
    }

    /// A stored version with its integrity checked: the store returned the version asked
    /// for, its canonical text hashes to its ETag, and its document canonicalises to it.
    fn load_version(
        &self,
        tenant: &str,
        kind: DocKind,
        etag: &str,
    ) -> Result<Option<(StoredVersion, Value)>, ControlError> {
        let Some(v) = self.store.get_version(tenant, kind, etag)? else {
            return Ok(None);
        };
        let corrupt = |what: &str| {
            ControlError::Store(StoreError::corrupt(format!(
                "{} version {etag}: {what}",
                kind.as_str()
            )))
        };
        if v.etag != etag {
            return Err(corrupt("the store returned another version"));
        }
        if sha256_hex(v.canonical_text.as_bytes()) != etag {
            return Err(corrupt("canonical text does not match the etag"));
        }
        let value = json::parse(v.document.as_bytes())
            .map_err(|_| corrupt("document is not valid json"))?;
        if json::etag_of_value(&value).ok().as_deref() != Some(etag) {
            return Err(corrupt("document does not match the etag"));
        }
        Ok(Some((v, value)))
    }

    /// A stored version's document, checked against its ETag (what serving installs);
    /// `Corrupt` when the version is missing.
    pub(crate) fn version_for_serving(
        &self,
        tenant: &str,
        kind: DocKind,
        etag: &str,
    ) -> Result<Value, ControlError> {
        let p = Pointer {
            etag: etag.to_owned(),
            previous: None,
            updated_at: Timestamp::default(),
            updated_by: String::new(),
            revision: 0,
        };
        Ok(self.load_pointed(tenant, kind, &p)?.1)
    }

    fn load_pointed(
        &self,
        tenant: &str,
        kind: DocKind,
        p: &Pointer,
    ) -> Result<(StoredVersion, Value), ControlError> {
        self.load_version(tenant, kind, &p.etag)?.ok_or_else(|| {
            ControlError::Store(StoreError::corrupt(format!(
                "the current {} pointer references missing version {}",
                kind.as_str(),
                p.etag
            )))
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        ctx: &OpContext,
        tenant: &str,
        kind: DocKind,
        doc: Validated,
        condition: Option<&str>,
        comment: Option<String>,
        how: How,
    ) -> Result<WriteOutcome, ControlError> {
        let actor = ctx.principal.actor();
        let mut inserted: Option<bool> = None;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let cur = self.store.current(tenant, kind)?;
            let cur_etag = cur.as_ref().map(|p| p.etag.clone());
            if let Some(cond) = condition {
                if !matches!(&cur_etag, Some(e) if json::if_match_matches(cond, e)) {
                    return Err(ControlError::VersionMismatch {
                        kind,
                        current: cur_etag,
                    });
                }
            }
            if cur_etag.as_deref() == Some(doc.etag.as_str()) {
                return Ok(WriteOutcome {
                    tenant: tenant.to_owned(),
                    kind,
                    etag: doc.etag,
                    document: doc.value,
                    changed: false,
                    from_version: cur_etag,
                    new_version: false,
                    audit_id: None,
                    audit_head: None,
                    invalidation: None,
                    invalidated: InvalidationCounts::new(),
                });
            }
            let before = match &cur {
                Some(p) => Some(self.load_pointed(tenant, kind, p)?.1),
                None => None,
            };
            let new_version = match inserted {
                Some(i) => i,
                None => {
                    let version = StoredVersion {
                        etag: doc.etag.clone(),
                        canonical_text: doc.canonical.clone(),
                        document: doc.text.clone(),
                        created_at: ctx.now,
                        created_by: actor.subject.clone(),
                        comment: comment.clone(),
                    };
                    let i = self.store.put_version(tenant, kind, &version)?;
                    inserted = Some(i);
                    i
                }
            };
            let mut extra = Map::new();
            extra.push(
                "from_version",
                cur_etag.as_deref().map(Value::str).unwrap_or(Value::Null),
            );
            extra.push("to_version", Value::str(&doc.etag));
            extra.push("new_version", Value::Bool(new_version));
            match how {
                How::Put => {
                    if let Some(c) = condition {
                        extra.push("if_match", Value::str(access::clean(c)));
                    }
                }
                How::RollbackPrevious => extra.push("rollback", Value::str("previous")),
                How::RollbackTo => extra.push("rollback", Value::str("version")),
            }
            if let Some(c) = &comment {
                extra.push("comment", Value::str(c));
            }
            let action = match how {
                How::Put => kind.update_action(),
                How::RollbackPrevious | How::RollbackTo => kind.rollback_action(),
            };
            let entity = Entity {
                entity_type: kind.entity_type().into(),
                id: Some(doc.etag.clone()),
            };
            let draft = self.draft(
                ctx,
                tenant,
                action,
                entity,
                [before, Some(doc.value.clone())],
                Some(Value::Object(extra)),
            );
            let swap = PointerSwap {
                kind,
                expected: cur_etag.clone(),
                new_etag: doc.etag.clone(),
                expected_revision: None,
                by: actor.subject.clone(),
                at: ctx.now,
            };
            let swapped = match self.store.compare_and_swap(tenant, &swap, draft) {
                Ok(r) => r,
                Err(e) if e.kind == StoreErrorKind::Conflict => None,
                Err(e) => return Err(e.into()),
            };
            match swapped {
                Some(entry) => {
                    let invalidation = Invalidation {
                        tenant: tenant.to_owned(),
                        targets: vec![kind.cache_target()],
                        surface: None,
                    };
                    let invalidated = match &self.invalidator {
                        Some(i) => i.invalidate(&invalidation),
                        None => InvalidationCounts::new(),
                    };
                    return Ok(WriteOutcome {
                        tenant: tenant.to_owned(),
                        kind,
                        etag: doc.etag,
                        document: doc.value,
                        changed: true,
                        from_version: cur_etag,
                        new_version,
                        audit_id: Some(entry.id),
                        audit_head: Some(AuditHead::of(&entry)),
                        invalidation: Some(invalidation),
                        invalidated,
                    });
                }
                None => {
                    if condition.is_some() || attempts >= self.options.max_write_attempts {
                        let current = self.store.current(tenant, kind)?.map(|p| p.etag);
                        return Err(if condition.is_some() {
                            ControlError::VersionMismatch { kind, current }
                        } else {
                            ControlError::WriteConflict {
                                kind,
                                attempts,
                                current,
                            }
                        });
                    }
                }
            }
        }
    }
}

/// The exclusive upper key of an audit page: from the opaque cursor, or from the
/// reference's `before` / `before_id`; `None` = from the newest entry.
fn audit_bound(query: &AuditQuery, now: Timestamp) -> Result<Option<AuditKey>, ControlError> {
    let cursor = query
        .cursor
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    match (cursor, query.before, query.before_id) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(ControlError::invalid_request(
            "use either cursor or before/before_id, not both",
        )),
        (Some(c), None, None) => Ok(Some(decode_cursor(c).ok_or(ControlError::InvalidCursor)?)),
        (None, None, None) => Ok(None),
        (None, before, before_id) => Ok(Some(AuditKey {
            occurred_at: before.unwrap_or_else(|| now.add_secs(3600)),
            id: match before_id {
                None | Some(0) => i64::MAX as u64,
                Some(id) => id,
            },
        })),
    }
}

fn nonblank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

fn request_id(ctx: &OpContext) -> Option<String> {
    let r = ctx.request_id.trim();
    if r.is_empty() {
        None
    } else {
        Some(access::clean(
            &r.chars().take(MAX_REQUEST_ID_CHARS).collect::<String>(),
        ))
    }
}

fn summary(name: &str, problems: &[Problem]) -> String {
    match problems {
        [] => format!("{name} payload is invalid"),
        [p] => p.message.clone(),
        [p, rest @ ..] => format!(
            "{name} payload has {} problems; first at {}: {}",
            rest.len() + 1,
            p.path,
            p.message
        ),
    }
}
