//! [`Admin`]: the control plane as the engine runs it. Every write goes to the host's store
//! (versioned, conditional, audited) *and* reaches what this engine serves before the call
//! returns; artifact pins and releases of held publishes are access-checked and audited the
//! same way. The JSON operations (`admin.*`) are conversions over these methods.

mod release;

use super::{Context, Engine};
use crate::adapters::Busy;
use crate::control::{
    AuditEntry, AuditHead, AuditPage, AuditQuery, AuditVerification, CacheTarget, CurrentDocument,
    DocKind, Entity, InvalidationOutcome, OpContext, PutRequest, RollbackTarget, VersionList,
    WriteOutcome,
};
use crate::error::ApiError;
use crate::json::{Map, Value};
use crate::lint::Finding;
use crate::loader::Step;
use crate::sync::{SyncKinds, TenantReport};

/// The loader-style step of a pin published as a release: the URIs the host must fetch
/// (the release waits for them), or what was installed.
fn pin_step(report: &TenantReport, surface: &str) -> Step {
    if let Some((_, uris)) = report.fetch.iter().find(|(s, _)| s == surface) {
        return Step::Fetch(uris.clone());
    }
    let mut m = Map::new();
    m.push("tenant", Value::str(&report.tenant));
    m.push("surface", Value::str(surface));
    let installed = report.installed.first().map(|(_, rev, _)| *rev);
    m.push(
        "outcome",
        Value::str(if installed.is_some() {
            "swapped"
        } else {
            "unchanged"
        }),
    );
    m.push("recompiled", Value::u64(report.recompiled as u64));
    Step::Done(Value::Object(m))
}
use crate::time::Timestamp;

/// The control plane of an engine (see [`Engine::admin`]). Methods take a [`Context`] whose
/// `tenant` is the tenant written and whose `actor` is the authenticated caller.
///
/// ```
/// use recsys_core::{Context, Engine, Principal, Timestamp};
///
/// let engine = Engine::builder().build()?;
/// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
/// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
/// let written = engine
///     .admin()
///     .put_config(&ctx, r#"{"surfaces": {"home": {"algo": "popularity"}}}"#, None)?;
/// assert!(written.outcome.changed);
/// // Served at once: the engine's documents now carry the stored version.
/// let current = engine.admin().get(&ctx, recsys_core::DocKind::Config)?;
/// assert_eq!(current.etag, written.outcome.etag);
/// # Ok::<(), recsys_core::ApiError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Admin<'e> {
    engine: &'e Engine,
    /// True when the caller (the JSON layer) already holds the engine's adapter guard.
    entered: bool,
}

impl std::fmt::Debug for Admin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

/// What a config or rules write (or rollback) did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Written {
    /// What the store recorded.
    pub outcome: WriteOutcome,
    /// Lint findings against the tenant's loaded catalog: of the written document for a
    /// put (when it parses), of the restored documents for a rollback.
    pub lint: Option<Vec<Finding>>,
    /// Surfaces of this engine recompiled to serve the write.
    pub recompiled: usize,
}

/// How many of this engine's entries one invalidated cache dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidatedTarget {
    /// The cache.
    pub target: CacheTarget,
    /// Surfaces recompiled (`config`, `rules`) or marked for a refresh (`artifacts`).
    pub count: usize,
}

/// What an invalidation did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invalidated {
    /// What the control plane recorded (and the host's invalidator reported).
    pub outcome: InvalidationOutcome,
    /// What this engine dropped, per target, in the order asked.
    pub served: Vec<InvalidatedTarget>,
}

/// What an audited artifact action did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ArtifactChange<T> {
    /// The loader's result (a pin's next step, whether a pin was released, a release report).
    pub result: T,
    /// The audit entry recording the action.
    pub audit_id: u64,
    /// The tenant's audit chain head after it.
    pub audit_head: AuditHead,
}

impl Engine {
    /// The control plane, writing through the store and into serving (see [`Admin`]).
    ///
    /// ```
    /// use recsys_core::{Context, DocKind, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// let admin = engine.admin();
    /// admin.put_config(&ctx, r#"{"weights": {"pop": 1}}"#, None)?;
    /// assert_eq!(admin.get(&ctx, DocKind::Config)?.tenant, "demo");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn admin(&self) -> Admin<'_> {
        Admin {
            engine: self,
            entered: false,
        }
    }

    /// [`Engine::admin`] for the JSON layer, which already holds the adapter guard.
    pub(crate) fn admin_entered(&self) -> Admin<'_> {
        Admin {
            engine: self,
            entered: true,
        }
    }
}

fn op_context(ctx: &Context) -> Result<OpContext, ApiError> {
    let principal = ctx.actor.clone().ok_or_else(|| {
        ApiError::new(
            crate::error::ErrorCode::InvalidContext,
            "a control-plane operation needs the caller: set the context's actor",
        )
    })?;
    Ok(OpContext::new(ctx.now, ctx.request_id.clone(), principal))
}

/// A put of `document` without a comment.
fn plain_put<'a>(document: &'a str, if_match: Option<&'a str>) -> PutRequest<'a> {
    PutRequest {
        document: document.as_bytes(),
        if_match,
        comment: None,
    }
}

impl Admin<'_> {
    /// Refuses a call made by one of the engine's adapters from inside an operation.
    fn enter(&self) -> Result<Option<Busy>, ApiError> {
        if self.entered {
            Ok(None)
        } else {
            self.engine.enter().map(Some)
        }
    }

    /// The current config or rules document (viewer, operator or admin of the tenant).
    ///
    /// ```
    /// use recsys_core::{Context, DocKind, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// let written = engine.admin().put_rules(&ctx, r#"[{"action": "block", "item_ids": ["a"]}]"#, None)?;
    /// let current = engine.admin().get(&ctx, DocKind::Rules)?;
    /// assert_eq!(current.etag, written.outcome.etag);
    /// assert!(current.canonical_text.contains("block"));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn get(&self, ctx: &Context, kind: DocKind) -> Result<CurrentDocument, ApiError> {
        let _busy = self.enter()?;
        Ok(self
            .engine
            .control
            .get(&op_context(ctx)?, &ctx.tenant, kind)?)
    }

    /// The stored versions of a document, newest first.
    ///
    /// ```
    /// use recsys_core::{Context, DocKind, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// let first = engine.admin().put_config(&ctx, r#"{"weights": {"pop": 1}}"#, None)?;
    /// let second = engine.admin().put_config(&ctx, r#"{"weights": {"pop": 2}}"#, None)?;
    /// let list = engine.admin().list_versions(&ctx, DocKind::Config)?;
    /// assert_eq!(list.current.as_deref(), Some(second.outcome.etag.as_str()));
    /// assert_eq!(list.previous.as_deref(), Some(first.outcome.etag.as_str()));
    /// assert_eq!(list.versions.len(), 2);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn list_versions(&self, ctx: &Context, kind: DocKind) -> Result<VersionList, ApiError> {
        let _busy = self.enter()?;
        let plane = &self.engine.control;
        Ok(plane.list_versions(&op_context(ctx)?, &ctx.tenant, kind)?)
    }

    /// One page of the tenant's audit log.
    ///
    /// ```
    /// use recsys_core::{AuditQuery, Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// engine.admin().put_config(&ctx, r#"{"weights": {"pop": 1}}"#, None)?;
    /// let page = engine.admin().audit(&ctx, &AuditQuery { limit: Some(10), ..AuditQuery::default() })?;
    /// assert_eq!(page.entries.len(), 1);
    /// assert_eq!(page.entries[0].action, "config.update");
    /// assert!(page.next_cursor.is_none());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn audit(&self, ctx: &Context, query: &AuditQuery) -> Result<AuditPage, ApiError> {
        let _busy = self.enter()?;
        Ok(self
            .engine
            .control
            .audit(&op_context(ctx)?, &ctx.tenant, query)?)
    }

    /// Verifies the tenant's audit chain (up to `head`, when the caller kept one).
    ///
    /// ```
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// engine.admin().put_config(&ctx, r#"{"weights": {"pop": 1}}"#, None)?;
    /// engine.admin().put_rules(&ctx, "[]", None)?;
    /// let check = engine.admin().verify_audit(&ctx, None)?;
    /// assert_eq!(check.entries, 2);
    /// assert!(check.tamper.is_none() && check.pointer_mismatches.is_empty());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn verify_audit(
        &self,
        ctx: &Context,
        head: Option<AuditHead>,
    ) -> Result<AuditVerification, ApiError> {
        let _busy = self.enter()?;
        let plane = &self.engine.control;
        Ok(plane.verify_audit(&op_context(ctx)?, &ctx.tenant, head)?)
    }

    /// Writes the tenant's config (see [`Admin::put`]).
    ///
    /// ```
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// let first = engine.admin().put_config(&ctx, r#"{"weights": {"pop": 1}}"#, None)?;
    /// assert!(first.outcome.changed);
    /// // If-Match: a write based on a stale version is refused.
    /// let next = engine.admin().put_config(&ctx, r#"{"weights": {"pop": 2}}"#, Some(&first.outcome.etag))?;
    /// let stale = engine.admin().put_config(&ctx, "{}", Some(&first.outcome.etag)).unwrap_err();
    /// assert_eq!(stale.code, "RECSYS_VERSION_MISMATCH");
    /// assert_eq!(next.outcome.from_version.as_deref(), Some(first.outcome.etag.as_str()));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn put_config(
        &self,
        ctx: &Context,
        document: &str,
        if_match: Option<&str>,
    ) -> Result<Written, ApiError> {
        self.put(ctx, DocKind::Config, plain_put(document, if_match))
    }

    /// Writes the tenant's rules (see [`Admin::put`]).
    ///
    /// ```
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// let w = engine.admin().put_rules(&ctx, r#"[{"action": "block", "item_ids": ["sku-1"]}]"#, None)?;
    /// assert!(w.outcome.changed);
    /// let err = engine.admin().put_rules(&ctx, r#"[{"action": "explode"}]"#, None).unwrap_err();
    /// assert_eq!(err.status, 422);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn put_rules(
        &self,
        ctx: &Context,
        document: &str,
        if_match: Option<&str>,
    ) -> Result<Written, ApiError> {
        self.put(ctx, DocKind::Rules, plain_put(document, if_match))
    }

    /// Validates, lints (refusing error-level findings with the `lint_strict` option),
    /// stores and audits a config or rules document, then serves it: the tenant's surfaces
    /// are recompiled from the store's current pointer before this returns.
    ///
    /// ```
    /// use recsys_core::{Context, DocKind, Engine, Principal, PutRequest, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// let put = PutRequest::new(br#"{"algo": "popularity"}"#).comment("first config");
    /// let w = engine.admin().put(&ctx, DocKind::Config, put)?;
    /// assert!(w.outcome.changed);
    /// // A put conditional on a version that is not current is refused, and stores nothing.
    /// let stale = PutRequest::new(br#"{"algo": "blend"}"#).if_match("W/\"stale\"");
    /// let err = engine.admin().put(&ctx, DocKind::Config, stale).unwrap_err();
    /// assert_eq!(err.status, 409);
    /// // An empty put (no document bytes) is refused with a typed error.
    /// let err = engine.admin().put(&ctx, DocKind::Config, Default::default()).unwrap_err();
    /// assert_eq!(err.status, 400);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn put(
        &self,
        ctx: &Context,
        kind: DocKind,
        req: PutRequest<'_>,
    ) -> Result<Written, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        let lint = self.lint_write(&op, &ctx.tenant, kind, req.document)?;
        let outcome = self.engine.control.put(&op, &ctx.tenant, kind, req)?;
        let recompiled = self.serve_if_changed(&outcome, ctx)?;
        Ok(Written {
            outcome,
            lint,
            recompiled,
        })
    }

    /// Makes an earlier version current again (audited), then serves it.
    ///
    /// ```
    /// use recsys_core::{Context, DocKind, Engine, Principal, RollbackTarget, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// let admin = engine.admin();
    /// let first = admin.put_config(&ctx, r#"{"weights": {"pop": 1}}"#, None)?;
    /// admin.put_config(&ctx, r#"{"weights": {"pop": 2}}"#, None)?;
    /// let back = admin.rollback(&ctx, DocKind::Config, RollbackTarget::Previous, None, None)?;
    /// assert_eq!(back.outcome.etag, first.outcome.etag);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn rollback(
        &self,
        ctx: &Context,
        kind: DocKind,
        target: RollbackTarget<'_>,
        if_match: Option<&str>,
        comment: Option<&str>,
    ) -> Result<Written, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        let plane = &self.engine.control;
        let outcome = plane.rollback(&op, &ctx.tenant, kind, target, if_match, comment)?;
        let recompiled = self.serve_if_changed(&outcome, ctx)?;
        // What the rollback restored is linted like a put of it would be.
        let lint = self.engine.lint_now_serving(&ctx.tenant, ctx.now);
        Ok(Written {
            outcome,
            lint,
            recompiled,
        })
    }

    /// Drops the tenant's caches (audited as `cache.invalidate`): `config` and `rules`
    /// are re-read from the store and recompiled, `artifacts` marks the tenant's tracked
    /// surfaces (or `surface`) for an immediate refresh.
    ///
    /// ```
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// let out = engine.admin().invalidate(&ctx, &["rules"], None)?;
    /// assert_eq!(out.served[0].target.as_str(), "rules");
    /// assert!(out.outcome.audit_id > 0);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn invalidate<S: AsRef<str>>(
        &self,
        ctx: &Context,
        targets: &[S],
        surface: Option<&str>,
    ) -> Result<Invalidated, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        let outcome = self
            .engine
            .control
            .invalidate(&op, &ctx.tenant, targets, surface)?;
        let tenant = ctx.tenant.trim();
        let e = self.engine;
        let mut served = Vec::with_capacity(outcome.invalidation.targets.len());
        for &target in &outcome.invalidation.targets {
            let count = match target {
                CacheTarget::Config => e.sync_forced(tenant, DocKind::Config, ctx.now)?,
                CacheTarget::Rules => e.sync_forced(tenant, DocKind::Rules, ctx.now)?,
                CacheTarget::Artifacts => {
                    e.loader_invalidate(tenant, outcome.invalidation.surface.as_deref())
                }
            };
            served.push(InvalidatedTarget { target, count });
        }
        Ok(Invalidated { outcome, served })
    }

    /// Pins a surface to a manifest (artifact rollback), audited as `artifacts.pin` with the
    /// manifest's text so every process of a fleet applies the same pin from the change
    /// feed. The result is the loader's next step: fetch these URIs, then hand them to
    /// [`crate::engine::Loader::apply_artifacts`].
    ///
    /// While a release is current (the newest pointer move was a release entry) a pin
    /// changes that release, so it must name it: `if_match` is the current `release_id`
    /// (`RECSYS_RELEASE_IF_MATCH_REQUIRED`, 428, without it; `RECSYS_VERSION_MISMATCH`, 409,
    /// when another one is current). The pin is then published as a release of that one
    /// change (`release.publish`, one store step conditioned on the release, served as one
    /// unit with a new `release_id`). Without a current release, `if_match` (when given)
    /// must name the tenant's current release id as `admin.get_release` reads it.
    ///
    /// ```
    /// use recsys_core::{Context, Engine, Principal, Step, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// let manifest = r#"{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-01T00:00:00Z",
    ///     "current": {"popularity": "mem://demo/home/popularity/1.json"}}"#;
    /// let pinned = engine.admin().pin_artifacts(&ctx, "home", manifest.to_string(), None)?;
    /// assert_eq!(pinned.result, Step::Fetch(vec!["mem://demo/home/popularity/1.json".into()]));
    /// assert!(engine.admin().unpin_artifacts(&ctx, "home", None)?.result);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn pin_artifacts(
        &self,
        ctx: &Context,
        surface: &str,
        manifest: String,
        if_match: Option<&str>,
    ) -> Result<ArtifactChange<Step>, ApiError> {
        {
            let _busy = self.enter()?;
            if let Some((report, id, head)) =
                self.pin_as_release(ctx, surface, Some(manifest.clone()), if_match)?
            {
                return Ok(ArtifactChange {
                    result: pin_step(&report, surface.trim()),
                    audit_id: id,
                    audit_head: head,
                });
            }
        }
        self.artifact_action(ctx, surface, "artifacts.pin", |e, op, tenant| {
            let step = e.loader_pin(tenant, surface, op.now, manifest.clone().into_bytes())?;
            let mut x = Map::new();
            x.push("manifest", Value::String(manifest.clone()));
            Ok((step, Some(Value::Object(x))))
        })
    }

    /// Releases a surface's pin (audited as `artifacts.unpin`); the result says whether it
    /// was pinned. Conditional on the current release like [`Admin::pin_artifacts`].
    ///
    /// ```
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// # let manifest = r#"{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-01T00:00:00Z",
    /// #     "current": {"popularity": "mem://demo/home/popularity/1.json"}}"#;
    /// engine.admin().pin_artifacts(&ctx, "home", manifest.to_string(), None)?;
    /// let unpinned = engine.admin().unpin_artifacts(&ctx, "home", None)?;
    /// assert!(unpinned.result);                                  // it was pinned
    /// assert!(unpinned.audit_id > 0);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn unpin_artifacts(
        &self,
        ctx: &Context,
        surface: &str,
        if_match: Option<&str>,
    ) -> Result<ArtifactChange<bool>, ApiError> {
        {
            let _busy = self.enter()?;
            let was = self.engine.is_pinned(ctx.tenant.trim(), surface.trim());
            if let Some((_, id, head)) = self.pin_as_release(ctx, surface, None, if_match)? {
                return Ok(ArtifactChange {
                    result: was,
                    audit_id: id,
                    audit_head: head,
                });
            }
        }
        self.artifact_action(ctx, surface, "artifacts.unpin", |e, _, tenant| {
            Ok((e.loader_unpin(tenant, surface)?, None))
        })
    }

    /// A manual pin (`Some(manifest)`) or unpin while a release is current: published as a
    /// release of that one change, conditioned on `if_match`, and served as one unit.
    /// `None` when no release is current (the caller pins as a plain artifact action).
    fn pin_as_release(
        &self,
        ctx: &Context,
        surface: &str,
        manifest: Option<String>,
        if_match: Option<&str>,
    ) -> Result<Option<(TenantReport, u64, AuditHead)>, ApiError> {
        let op = op_context(ctx)?;
        let (tenant, surface) = (ctx.tenant.trim(), surface.trim());
        let e = self.engine;
        e.control.authorize_write(&op, tenant)?;
        let Some(current) = e.control.release_unit(tenant)? else {
            if let Some(cond) = if_match {
                let now = e.control.current_release(&op, tenant)?;
                if !crate::json::if_match_matches(cond, &now.id) {
                    return Err(crate::control::release_mismatch(&now));
                }
            }
            return Ok(None);
        };
        let Some(cond) = if_match else {
            return Err(ApiError::new(
                crate::error::ErrorCode::ReleaseIfMatchRequired,
                format!(
                    "release {} is current: a manual pin or unpin of surface {surface:?} changes it, so send its id as if_match",
                    current.id
                ),
            )
            .with_extra("current_version", Value::str(&current.id)));
        };
        if let Some(text) = &manifest {
            let limits = &e.options.artifact_limits;
            crate::compile::parse_manifest_doc(tenant, surface, text, limits)?;
        }
        let pins = [(surface.to_owned(), manifest)];
        let out = e
            .control
            .publish_release(&op, tenant, None, None, &pins, Some(cond), None)?;
        let report = match out.changed {
            true => e.serve_release(tenant, ctx.now)?,
            false => TenantReport::default(),
        };
        let head = match (out.audit_id, out.audit_head) {
            (Some(id), Some(head)) => Some((id, head)),
            _ => e.control.audit_head_now(tenant)?.map(|h| (h.id, h)),
        };
        Ok(head.map(|(id, h)| (report, id, h)))
    }

    /// Applies publishes held because they were empty (audited as `artifacts.release`).
    ///
    /// ```
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder()
    ///     .options_json(r#"{"manifest_template": "mem://{tenant}/{surface}/manifest.json"}"#)
    ///     .build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// engine.loader().track("demo", "home")?;
    /// let out = engine.admin().release_held(&ctx, "home")?;
    /// let text = recsys_core::json::to_string(&out.result);
    /// assert!(text.contains(r#""outcome":"nothing_held""#), "{text}");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn release_held(
        &self,
        ctx: &Context,
        surface: &str,
    ) -> Result<ArtifactChange<Value>, ApiError> {
        self.artifact_action(ctx, surface, "artifacts.release", |e, op, tenant| {
            Ok((e.loader_release(tenant, surface, op.now)?, None))
        })
    }

    /// Reconciles this engine with its store (see [`Engine::sync`]). It changes nothing in
    /// the store, so it needs no actor.
    ///
    /// ```
    /// use recsys_core::{Engine, SyncKinds, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let reports = engine.admin().sync(Some("demo"), SyncKinds::ALL, None, now)?;
    /// assert_eq!(reports[0].tenant, "demo");
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
        self.engine.sync_entered(tenant, kinds, revision, now)
    }

    /// Serves a changed write: the store's current pointer is read and installed only when
    /// its revision is newer than what serves, so concurrent writers and syncs never move
    /// serving back. Answers how many surfaces were recompiled.
    fn serve_if_changed(&self, outcome: &WriteOutcome, ctx: &Context) -> Result<usize, ApiError> {
        if !outcome.changed {
            return Ok(0);
        }
        let kinds = SyncKinds {
            config: outcome.kind == DocKind::Config,
            rules: outcome.kind == DocKind::Rules,
            feed: false,
        };
        let tenant = ctx.tenant.trim();
        let reports = self
            .engine
            .sync_entered(Some(tenant), kinds, None, ctx.now)?;
        Ok(reports.iter().map(|r| r.recompiled).sum())
    }

    /// Lints a document about to be written against the tenant's loaded catalog. `None`
    /// when it does not parse (the write reports that) or the caller may not write (the
    /// findings describe the tenant's catalog). With `lint_strict`, error-level findings
    /// refuse the write before anything is stored.
    fn lint_write(
        &self,
        op: &OpContext,
        tenant: &str,
        kind: DocKind,
        document: &[u8],
    ) -> Result<Option<Vec<Finding>>, ApiError> {
        let Ok(text) = std::str::from_utf8(document) else {
            return Ok(None);
        };
        let mut m = Map::new();
        m.push("tenant", Value::str(tenant));
        m.push(kind.as_str(), Value::str(text));
        let Ok(p) = crate::change::Proposal::from_input(self.engine, &m) else {
            return Ok(None);
        };
        if self.engine.control.authorize_write(op, &p.tenant).is_err() {
            return Ok(None);
        }
        let findings = p.lint(op.now);
        if self.engine.options.lint_strict {
            if let Some(e) = crate::lint::strict_error(&findings) {
                return Err(e);
            }
        }
        Ok(Some(findings))
    }

    /// Runs an artifact action for (ctx.tenant, surface) and audits it with the surface's
    /// manifest and artifact versions before and after.
    fn artifact_action<T>(
        &self,
        ctx: &Context,
        surface: &str,
        action: &str,
        run: impl FnOnce(&Engine, &OpContext, &str) -> Result<(T, Option<Value>), ApiError>,
    ) -> Result<ArtifactChange<T>, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        let (tenant, surface) = (ctx.tenant.trim(), surface.trim());
        let e = self.engine;
        e.control.authorize_write(&op, tenant)?;
        let before = e.artifact_state(tenant, surface);
        let (result, extra) = run(e, &op, tenant)?;
        let after = e.artifact_state(tenant, surface);
        let entity = Entity {
            entity_type: "artifacts".into(),
            id: Some(surface.to_string()),
        };
        let entry: AuditEntry = e.control.record_action_with_extra(
            &op,
            tenant,
            action,
            entity,
            [Some(before), Some(after)],
            extra,
        )?;
        match action {
            "artifacts.pin" | "artifacts.unpin" => e.note_pin(tenant, surface, entry.id),
            _ => {}
        }
        Ok(ArtifactChange {
            result,
            audit_id: entry.id,
            audit_head: AuditHead::of(&entry),
        })
    }
}

impl Engine {
    /// A surface's artifact state for the audit log: manifest and artifact versions, pin
    /// and held publishes.
    fn artifact_state(&self, tenant: &str, surface: &str) -> Value {
        let st = self.lock_state();
        let mut v = Map::new();
        v.push("surface", Value::str(surface));
        if let Some(s) = st.surfaces.get(&(tenant.to_string(), surface.to_string())) {
            if let Some(mi) = &s.set.manifest {
                v.push("manifest_version", Value::str(&mi.version));
            }
            let mut a = Map::new();
            for (k, x) in &s.set.artifacts {
                a.push(k.as_str(), Value::str(x.version()));
            }
            v.push("artifact_versions", Value::Object(a));
            v.push("pinned", Value::Bool(s.pinned.is_some()));
            v.push("held", Value::u64(s.held.len() as u64));
        }
        Value::Object(v)
    }
}
