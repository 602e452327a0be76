//! Releases: a tenant's config, rules and artifact pins published together under one id, in
//! one atomic store step, audited as one entry with before and after, and rolled back in one
//! call.
//!
//! A release id is the SHA-256 of the canonical `{"config_version", "rules_version"}` pair
//! (`null` for a kind without a document), plus `"artifacts": {surface: manifest version or
//! null}` when the release pins manifests, so the current release is always derivable from
//! the store and `if_match` works as it does for single documents. The audit entries
//! (`release.publish`, `release.rollback`, both in the change feed) are the release history:
//! their before and after states name the versions, and `extra.manifests` holds the text of
//! every manifest either side pins, so a rollback (and a process following the feed) needs
//! nothing else stored.
//!
//! A release moves every existing pointer in one [`super::DocumentStore::compare_and_swap_all`]
//! (a kind it keeps is a guard swap: checked, re-stamped, not moved), each swap conditioned on
//! the pointer's ETag and revision, so two releases racing on the same tenant cannot both
//! succeed even when they only change pins. The in-memory store implements it; a store that
//! does not answers a store error.

use super::{
    actions, Access, AuditEntry, AuditHead, ControlError, ControlPlane, DocKind, Entity, OpContext,
    Pointer, PointerSwap, StoreErrorKind, StoredVersion,
};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{self, Map, Value};
use std::collections::BTreeMap;

/// The versions a release names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub id: String,
    pub config_version: Option<String>,
    pub rules_version: Option<String>,
    /// Surface → the manifest version the release pins it to, or `None`: the release
    /// unpins it (it follows its manifest template). Surfaces not named are left alone.
    pub artifacts: BTreeMap<String, Option<String>>,
    /// Manifest version → text, for every version in `artifacts` (not part of the id).
    pub manifests: BTreeMap<String, String>,
}

fn opt(v: &Option<String>) -> Value {
    v.as_deref().map_or(Value::Null, Value::str)
}

impl Release {
    /// A release that also pins (or unpins) surfaces; see [`Release::artifacts`].
    pub fn with_artifacts(
        config_version: Option<String>,
        rules_version: Option<String>,
        artifacts: BTreeMap<String, Option<String>>,
    ) -> Release {
        let mut r = Release {
            id: String::new(),
            config_version,
            rules_version,
            artifacts,
            manifests: BTreeMap::new(),
        };
        let mut m = Map::new();
        m.push("config_version", opt(&r.config_version));
        m.push("rules_version", opt(&r.rules_version));
        if !r.artifacts.is_empty() {
            m.push("artifacts", r.artifacts_value());
        }
        r.id = json::etag_of_value(&Value::Object(m)).unwrap_or_default();
        r
    }

    fn artifacts_value(&self) -> Value {
        let mut a = Map::new();
        for (s, v) in &self.artifacts {
            a.push(s.clone(), opt(v));
        }
        Value::Object(a)
    }

    /// `{"release_id", "config_version", "rules_version", "artifacts"?}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("release_id", Value::str(&self.id));
        m.push("config_version", opt(&self.config_version));
        m.push("rules_version", opt(&self.rules_version));
        if !self.artifacts.is_empty() {
            m.push("artifacts", self.artifacts_value());
        }
        Value::Object(m)
    }

    /// A release from an audit state, with the manifest texts the entry's `extra` carries.
    pub fn from_state(v: &Value, extra: Option<&Value>) -> Option<Release> {
        let m = v.as_object()?;
        let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        let artifacts: BTreeMap<String, Option<String>> = m
            .get("artifacts")
            .and_then(Value::as_object)
            .map(|a| {
                a.iter()
                    .map(|(s, v)| (s.to_string(), v.as_str().map(str::to_owned)))
                    .collect()
            })
            .unwrap_or_default();
        let mut r = Release::with_artifacts(get("config_version"), get("rules_version"), artifacts);
        let texts = extra
            .and_then(Value::as_object)
            .and_then(|x| x.get("manifests"))
            .and_then(Value::as_object);
        for v in r.artifacts.values().flatten() {
            if let Some(t) = texts.and_then(|t| t.get(v)).and_then(Value::as_str) {
                r.manifests.insert(v.clone(), t.to_owned());
            }
        }
        Some(r)
    }

    /// The release of an audit entry's after (or before) state.
    pub fn of_entry(e: &AuditEntry, after: bool) -> Option<Release> {
        if e.entity.entity_type != "release" {
            return None;
        }
        let state = if after {
            &e.after_state
        } else {
            &e.before_state
        };
        Release::from_state(state.as_ref()?, e.extra.as_ref())
    }

    /// The manifest text a surface is pinned to (`Some(None)`: unpinned; `None`: not named).
    pub fn pin(&self, surface: &str) -> Option<Option<&str>> {
        let v = self.artifacts.get(surface)?;
        Some(
            v.as_ref()
                .and_then(|v| self.manifests.get(v))
                .map(String::as_str),
        )
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
pub(super) fn moves(e: &AuditEntry, last_move: &mut [Option<String>; 2]) {
    if let Some(after) = Release::of_entry(e, true) {
        for kind in [DocKind::Config, DocKind::Rules] {
            if let Some(v) = after.version(kind) {
                last_move[kind as usize] = Some(v.clone());
            }
        }
    }
}

/// Audit entries scanned for a rollback target or the current pins (newest first).
const MAX_HISTORY: usize = 10_000;
/// Audit entries read per page of that scan.
const HISTORY_PAGE: usize = 500;

pub(crate) fn mismatch(current: &Release) -> ApiError {
    ApiError::new(
        ErrorCode::VersionMismatch,
        format!(
            "release was changed concurrently; current release is {}",
            current.id
        ),
    )
    .with_extra("current_version", Value::str(&current.id))
}

/// The store's state a release is derived from: the release and both pointers.
struct Now {
    release: Release,
    pointers: [Option<Pointer>; 2],
}

/// `extra` of a release entry: the comment and the text of every manifest either side pins.
fn entry_extra(comment: &Option<String>, sides: [&Release; 2]) -> Value {
    let mut extra = Map::new();
    if let Some(c) = comment {
        extra.push("comment", Value::str(c));
    }
    let mut texts = BTreeMap::new();
    for r in sides {
        texts.extend(r.manifests.iter());
    }
    if !texts.is_empty() {
        let mut t = Map::new();
        for (v, text) in texts {
            t.push(v.clone(), Value::str(text));
        }
        extra.push("manifests", Value::Object(t));
    }
    Value::Object(extra)
}

impl ControlPlane {
    /// Visits the tenant's audit entries newest first (at most [`MAX_HISTORY`]) until
    /// `visit` answers something.
    fn scan_history<T>(
        &self,
        tenant: &str,
        mut visit: impl FnMut(&AuditEntry) -> Option<T>,
    ) -> Result<Option<T>, ApiError> {
        let mut before = None;
        let mut seen = 0usize;
        while seen < MAX_HISTORY {
            let page = self
                .store
                .list_audit(tenant, before, HISTORY_PAGE)
                .map_err(ControlError::from)?;
            let Some(last) = page.last() else { break };
            before = Some(last.key());
            seen += page.len();
            if let Some(t) = page.iter().find_map(&mut visit) {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// The release the store's state makes up (viewer access).
    pub fn current_release(&self, ctx: &OpContext, tenant: &str) -> Result<Release, ApiError> {
        self.authorize(ctx, tenant, Access::Read)?;
        Ok(self.release_now(tenant)?.release)
    }

    /// The current release when the tenant's documents are served as one (the newest
    /// pointer move was a release entry: a single-document write since ends the unit), else
    /// `None`. Manual pins and unpins need its id while it is current.
    pub fn release_unit(&self, tenant: &str) -> Result<Option<Release>, ApiError> {
        let mut rev = None;
        for kind in DocKind::ALL {
            let p = self
                .store
                .current(tenant, kind)
                .map_err(ControlError::from)?;
            rev = rev.max(p.map(|p| p.revision));
        }
        let Some(rev) = rev else { return Ok(None) };
        let entry = self
            .store
            .audit_chain(tenant, Some(rev.saturating_sub(1)), 1)
            .map_err(ControlError::from)?;
        let is_release = entry
            .first()
            .is_some_and(|e| e.id == rev && e.entity.entity_type == "release");
        if !is_release {
            return Ok(None);
        }
        Ok(Some(self.release_now(tenant)?.release))
    }

    /// The tenant's newest audit entry's chain head (what an unchanged write answers).
    pub(crate) fn audit_head_now(&self, tenant: &str) -> Result<Option<AuditHead>, ApiError> {
        let page = self
            .store
            .list_audit(tenant, None, 1)
            .map_err(ControlError::from)?;
        Ok(page.first().map(AuditHead::of))
    }

    fn release_now(&self, tenant: &str) -> Result<Now, ApiError> {
        let pointer = |k: DocKind| -> Result<Option<Pointer>, ApiError> {
            Ok(self.store.current(tenant, k).map_err(ControlError::from)?)
        };
        let pointers = [pointer(DocKind::Config)?, pointer(DocKind::Rules)?];
        let (artifacts, manifests) = self.pins_now(tenant)?;
        let etag = |i: usize| pointers[i].as_ref().map(|p| p.etag.clone());
        let mut release = Release::with_artifacts(etag(0), etag(1), artifacts);
        release.manifests = manifests;
        Ok(Now { release, pointers })
    }

    /// The pins of the latest release, each overridden by a later `artifacts.pin` /
    /// `artifacts.unpin` of its surface: read from the audit log, newest first, down to the
    /// latest release entry (at most [`MAX_HISTORY`] entries).
    #[allow(clippy::type_complexity)]
    fn pins_now(
        &self,
        tenant: &str,
    ) -> Result<(BTreeMap<String, Option<String>>, BTreeMap<String, String>), ApiError> {
        let mut later: BTreeMap<String, Option<(String, String)>> = BTreeMap::new();
        let found = self.scan_history(tenant, |e| {
            let surface = e.entity.id.clone().unwrap_or_default();
            match e.action.as_str() {
                actions::ARTIFACTS_PIN => {
                    let text = e
                        .extra
                        .as_ref()
                        .and_then(Value::as_object)
                        .and_then(|x| x.get("manifest"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let v = json::etag(text.as_bytes()).unwrap_or_default();
                    later.entry(surface).or_insert(Some((v, text.to_owned())));
                    None
                }
                actions::ARTIFACTS_UNPIN => {
                    later.entry(surface).or_insert(None);
                    None
                }
                _ => Release::of_entry(e, true),
            }
        })?;
        let (mut artifacts, mut manifests) = (BTreeMap::new(), BTreeMap::new());
        let Some(r) = found else {
            return Ok((artifacts, manifests));
        };
        for (s, v) in &r.artifacts {
            let pin = match later.get(s) {
                Some(Some((v, text))) => Some((v.clone(), text.clone())),
                Some(None) => None,
                None => v.clone().map(|v| {
                    let text = r.manifests.get(&v).cloned().unwrap_or_default();
                    (v, text)
                }),
            };
            if let Some((v, text)) = &pin {
                manifests.insert(v.clone(), text.clone());
            }
            artifacts.insert(s.clone(), pin.map(|p| p.0));
        }
        Ok((artifacts, manifests))
    }

    /// Publishes the given documents (raw JSON text; a kind left out keeps its current
    /// version) and artifact pins (surface → manifest text, or `None` to unpin; surfaces
    /// left out keep their state; the caller has validated each manifest) as one release.
    /// `if_match` names the release the caller read.
    #[allow(clippy::too_many_arguments)]
    pub fn publish_release(
        &self,
        ctx: &OpContext,
        tenant: &str,
        config: Option<&[u8]>,
        rules: Option<&[u8]>,
        artifacts: &[(String, Option<String>)],
        if_match: Option<&str>,
        comment: Option<&str>,
    ) -> Result<ReleaseOutcome, ApiError> {
        self.authorize(ctx, tenant, Access::Write)?;
        let comment = self.comment(comment)?;
        let current = self.release_now(tenant)?.release;
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
        for (surface, text) in artifacts {
            let v = match text {
                Some(t) => {
                    let v = json::etag(t.as_bytes())?;
                    target.manifests.insert(v.clone(), t.clone());
                    Some(v)
                }
                None => None,
            };
            target.artifacts.insert(surface.clone(), v);
        }
        let manifests = std::mem::take(&mut target.manifests);
        let mut target = Release::with_artifacts(
            target.config_version,
            target.rules_version,
            target.artifacts,
        );
        target.manifests = manifests;
        self.move_release(
            ctx,
            tenant,
            target,
            if_match,
            comment,
            actions::RELEASE_PUBLISH,
        )
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
        self.move_release(
            ctx,
            tenant,
            target,
            if_match,
            comment,
            actions::RELEASE_ROLLBACK,
        )
    }

    /// The target of a rollback, from the release entries of the audit log.
    fn find_release(&self, tenant: &str, to: Option<&str>) -> Result<Release, ApiError> {
        let want = to.map(json::normalize_if_match);
        let found = self.scan_history(tenant, |e| match &want {
            None => Release::of_entry(e, false),
            Some(id) => [true, false]
                .into_iter()
                .filter_map(|after| Release::of_entry(e, after))
                .find(|r| &r.id == id),
        })?;
        if let Some(r) = found {
            return Ok(r);
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

    /// The swaps that take the pointers to `target`: a move per kind whose version changes,
    /// a guard per kind it keeps; each conditioned on the pointer's ETag and revision.
    fn release_swaps(&self, ctx: &OpContext, now: &Now, target: &Release) -> Vec<PointerSwap> {
        let by = ctx.principal.actor().subject;
        DocKind::ALL
            .into_iter()
            .filter_map(|k| {
                let cur = now.pointers[k as usize].as_ref();
                let new = target.version(k).or(cur.map(|p| &p.etag))?;
                Some(PointerSwap {
                    kind: k,
                    expected: cur.map(|p| p.etag.clone()),
                    new_etag: new.clone(),
                    expected_revision: cur.map(|p| p.revision),
                    by: by.clone(),
                    at: ctx.now,
                })
            })
            .collect()
    }

    /// Moves the pointers to `target` in one store step with one audit entry.
    fn move_release(
        &self,
        ctx: &OpContext,
        tenant: &str,
        target: Release,
        if_match: Option<&str>,
        comment: Option<String>,
        action: &str,
    ) -> Result<ReleaseOutcome, ApiError> {
        for _ in 0..self.options.max_write_attempts.max(1) {
            let now = self.release_now(tenant)?;
            let current = &now.release;
            if let Some(cond) = if_match {
                if !json::if_match_matches(cond, &current.id) {
                    return Err(mismatch(current));
                }
            }
            if target.id == current.id {
                return Ok(ReleaseOutcome {
                    from: current.clone(),
                    release: target,
                    changed: false,
                    audit_id: None,
                    audit_head: None,
                });
            }
            let swaps = self.release_swaps(ctx, &now, &target);
            if swaps.is_empty() {
                return Err(ApiError::new(
                    crate::error::ErrorCode::InvalidRequest,
                    format!(
                        "a release needs a config or rules document; tenant {tenant:?} has neither"
                    ),
                ));
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
                Some(entry_extra(&comment, [current, &target])),
            );
            match self.store.compare_and_swap_all(tenant, &swaps, draft) {
                Ok(Some(entry)) => {
                    return Ok(ReleaseOutcome {
                        from: now.release,
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
                return Err(mismatch(&self.release_now(tenant)?.release));
            }
        }
        Err(ApiError::new(
            ErrorCode::WriteConflict,
            "the release was changed concurrently too many times; retry",
        ))
    }
}
