//! Releases: a tenant's config and rules published together under one id, in one atomic
//! pointer move, audited as one entry with before and after, and rolled back in one call.
//!
//! A release id is the SHA-256 of the canonical `{"config_version", "rules_version"}` pair
//! (`null` for a kind without a document), so the current release is always derivable from
//! the current pointers and `if_match` works as it does for single documents. The audit
//! entries (`release.publish`, `release.rollback`) are the release history: their before and
//! after states name the versions, so a rollback needs nothing else stored.
//!
//! The store must implement [`super::DocumentStore::compare_and_swap_all`] (the in-memory
//! store does); others answer a store error.

use super::{
    Access, AuditHead, ControlError, ControlPlane, DocKind, Entity, OpContext, PointerSwap,
    StoreErrorKind, StoredVersion,
};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{self, Map, Value};

/// The versions a release names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub id: String,
    pub config_version: Option<String>,
    pub rules_version: Option<String>,
}

impl Release {
    pub fn new(config_version: Option<String>, rules_version: Option<String>) -> Release {
        let opt = |v: &Option<String>| v.as_deref().map_or(Value::Null, Value::str);
        let mut m = Map::new();
        m.push("config_version", opt(&config_version));
        m.push("rules_version", opt(&rules_version));
        let id = json::etag_of_value(&Value::Object(m)).unwrap_or_default();
        Release {
            id,
            config_version,
            rules_version,
        }
    }

    /// `{"release_id", "config_version", "rules_version"}`.
    pub fn to_value(&self) -> Value {
        let opt = |v: &Option<String>| v.as_deref().map_or(Value::Null, Value::str);
        let mut m = Map::new();
        m.push("release_id", Value::str(&self.id));
        m.push("config_version", opt(&self.config_version));
        m.push("rules_version", opt(&self.rules_version));
        Value::Object(m)
    }

    fn from_state(v: &Value) -> Option<Release> {
        let m = v.as_object()?;
        let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(Release::new(get("config_version"), get("rules_version")))
    }

    fn version(&self, kind: DocKind) -> Option<&String> {
        match kind {
            DocKind::Config => self.config_version.as_ref(),
            DocKind::Rules => self.rules_version.as_ref(),
        }
    }
}

/// What a publish or rollback did.
#[derive(Clone, Debug)]
pub struct ReleaseOutcome {
    pub release: Release,
    pub from: Release,
    pub changed: bool,
    pub audit_id: Option<u64>,
    /// The audit chain head after the release entry (when one was written).
    pub audit_head: Option<AuditHead>,
}

/// The pointer moves a release entry records (for `verify_audit`): each kind's version after.
pub(super) fn moves(e: &super::AuditEntry, last_move: &mut [Option<String>; 2]) {
    if e.entity.entity_type != "release" {
        return;
    }
    if let Some(after) = e.after_state.as_ref().and_then(Release::from_state) {
        for kind in [DocKind::Config, DocKind::Rules] {
            if let Some(v) = after.version(kind) {
                last_move[kind as usize] = Some(v.clone());
            }
        }
    }
}

/// Audit entries scanned for a rollback target (newest first).
const MAX_HISTORY: usize = 10_000;

fn mismatch(current: &Release) -> ApiError {
    ApiError::new(
        ErrorCode::VersionMismatch,
        format!(
            "release was changed concurrently; current release is {}",
            current.id
        ),
    )
    .with_extra("current_version", Value::str(&current.id))
}

impl ControlPlane {
    /// The release the current pointers make up (viewer access).
    pub fn current_release(&self, ctx: &OpContext, tenant: &str) -> Result<Release, ApiError> {
        self.authorize(ctx, tenant, Access::Read)?;
        self.release_now(tenant)
    }

    fn release_now(&self, tenant: &str) -> Result<Release, ApiError> {
        let etag = |k: DocKind| -> Result<Option<String>, ApiError> {
            Ok(self
                .store
                .current(tenant, k)
                .map_err(ControlError::from)?
                .map(|p| p.etag))
        };
        Ok(Release::new(etag(DocKind::Config)?, etag(DocKind::Rules)?))
    }

    /// Publishes the given documents (raw JSON text; a kind left out keeps its current
    /// version) as one release. `if_match` names the release the caller read.
    pub fn publish_release(
        &self,
        ctx: &OpContext,
        tenant: &str,
        config: Option<&[u8]>,
        rules: Option<&[u8]>,
        if_match: Option<&str>,
        comment: Option<&str>,
    ) -> Result<ReleaseOutcome, ApiError> {
        self.authorize(ctx, tenant, Access::Write)?;
        let comment = self.comment(comment)?;
        let current = self.release_now(tenant)?;
        let mut target = current.clone();
        for (kind, bytes) in [(DocKind::Config, config), (DocKind::Rules, rules)] {
            let Some(bytes) = bytes else { continue };
            let doc = self.validate(tenant, kind, bytes)?;
            let version = StoredVersion {
                etag: doc.etag.clone(),
                canonical_text: doc.canonical,
                document: doc.text,
                created_at: ctx.now,
                created_by: ctx.principal.actor().subject,
                comment: comment.clone(),
            };
            self.store
                .put_version(tenant, kind, &version)
                .map_err(ControlError::from)?;
            match kind {
                DocKind::Config => target.config_version = Some(doc.etag),
                DocKind::Rules => target.rules_version = Some(doc.etag),
            }
        }
        let target = Release::new(target.config_version, target.rules_version);
        self.move_release(ctx, tenant, target, if_match, comment, "release.publish")
    }

    /// Returns to an earlier release in one call: `to` (a release id) or, without it, the
    /// release before the latest publish or rollback.
    pub fn rollback_release(
        &self,
        ctx: &OpContext,
        tenant: &str,
        to: Option<&str>,
        if_match: Option<&str>,
        comment: Option<&str>,
    ) -> Result<ReleaseOutcome, ApiError> {
        self.authorize(ctx, tenant, Access::Write)?;
        let comment = self.comment(comment)?;
        let target = self.find_release(tenant, to)?;
        self.move_release(ctx, tenant, target, if_match, comment, "release.rollback")
    }

    /// The target of a rollback, from the release entries of the audit log.
    fn find_release(&self, tenant: &str, to: Option<&str>) -> Result<Release, ApiError> {
        let want = to.map(json::normalize_if_match);
        let mut before = None;
        let mut seen = 0usize;
        while seen < MAX_HISTORY {
            let page = self
                .store
                .list_audit(tenant, before, 500)
                .map_err(ControlError::from)?;
            let Some(last) = page.last() else { break };
            before = Some(last.key());
            seen += page.len();
            for e in page.iter().filter(|e| e.entity.entity_type == "release") {
                let states = [&e.after_state, &e.before_state];
                match &want {
                    None => {
                        if let Some(r) = e.before_state.as_ref().and_then(Release::from_state) {
                            return Ok(r);
                        }
                    }
                    Some(id) => {
                        for r in states.into_iter().flatten().filter_map(Release::from_state) {
                            if &r.id == id {
                                return Ok(r);
                            }
                        }
                    }
                }
            }
        }
        Err(match want {
            Some(id) => ApiError::new(
                ErrorCode::ReleaseNotFound,
                format!("no release {id:?} in the tenant's release history"),
            ),
            None => ApiError::new(
                ErrorCode::NoPreviousRelease,
                "the tenant has no earlier release to roll back to",
            ),
        })
    }

    /// Moves both pointers to `target` in one store step with one audit entry.
    fn move_release(
        &self,
        ctx: &OpContext,
        tenant: &str,
        target: Release,
        if_match: Option<&str>,
        comment: Option<String>,
        action: &str,
    ) -> Result<ReleaseOutcome, ApiError> {
        let actor = ctx.principal.actor();
        for _ in 0..self.options.max_write_attempts.max(1) {
            let current = self.release_now(tenant)?;
            if let Some(cond) = if_match {
                if !json::if_match_matches(cond, &current.id) {
                    return Err(mismatch(&current));
                }
            }
            let swaps: Vec<PointerSwap> = [DocKind::Config, DocKind::Rules]
                .into_iter()
                .filter(|k| target.version(*k) != current.version(*k))
                .filter_map(|k| {
                    target.version(k).map(|new| PointerSwap {
                        kind: k,
                        expected: current.version(k).cloned(),
                        new_etag: new.clone(),
                        by: actor.subject.clone(),
                        at: ctx.now,
                    })
                })
                .collect();
            if swaps.is_empty() {
                return Ok(ReleaseOutcome {
                    from: current,
                    release: target,
                    changed: false,
                    audit_id: None,
                    audit_head: None,
                });
            }
            let mut extra = Map::new();
            if let Some(c) = &comment {
                extra.push("comment", Value::str(c));
            }
            let entity = Entity {
                entity_type: "release".into(),
                id: Some(target.id.clone()),
            };
            let draft = self.draft(
                ctx,
                tenant,
                action,
                entity,
                [Some(current.to_value()), Some(target.to_value())],
                (!extra.is_empty()).then_some(Value::Object(extra)),
            );
            match self.store.compare_and_swap_all(tenant, &swaps, draft) {
                Ok(Some(entry)) => {
                    return Ok(ReleaseOutcome {
                        from: current,
                        release: target,
                        changed: true,
                        audit_id: Some(entry.id),
                        audit_head: Some(AuditHead::of(&entry)),
                    })
                }
                Ok(None) => {}
                Err(e) if e.kind == StoreErrorKind::Conflict => {}
                Err(e) => return Err(ControlError::from(e).into()),
            }
            if if_match.is_some() {
                return Err(mismatch(&self.release_now(tenant)?));
            }
        }
        Err(ApiError::new(
            ErrorCode::WriteConflict,
            "the release was changed concurrently too many times; retry",
        ))
    }
}
