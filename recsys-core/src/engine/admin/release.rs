//! Releases and previews on [`Admin`]: typed requests in, typed reports out; the
//! `admin.release`, `admin.rollback_release`, `admin.get_release` and `admin.preview`
//! operations convert their JSON to these calls and the reports back.

use super::{op_context, Admin};
use crate::control::Release;
use crate::engine::Context;
use crate::error::ApiError;
use crate::preview::{PreviewReport, PreviewRequest};
use crate::release::{ReleaseReport, ReleaseRequest, ReleaseRollback};

impl Admin<'_> {
    /// Publishes a release for `ctx.tenant` (write access): its config, rules and pins are
    /// linted and checked, stored and audited as one unit, then served before this returns.
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRequest;
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// let req = ReleaseRequest::new()
    ///     .config(r#"{"limits": {"max_pins": 2}}"#)
    ///     .rules(r#"[{"action": "block", "item_ids": ["sku-1"]}]"#);
    /// let report = engine.admin().publish_release(&ctx, &req)?;
    /// assert!(report.changed);
    /// assert_eq!(engine.admin().release(&ctx)?.id, report.release.id);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn publish_release(
        &self,
        ctx: &Context,
        req: &ReleaseRequest,
    ) -> Result<ReleaseReport, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        self.engine.publish_release(&op, ctx.tenant.trim(), req)
    }

    /// Rolls `ctx.tenant` back to the previous release (or the one named), audited, then
    /// serves it.
    ///
    /// ```
    /// use recsys_core::engine::{ReleaseRequest, ReleaseRollback};
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// let admin = engine.admin();
    /// let first = admin.publish_release(&ctx, &ReleaseRequest::new().rules("[]"))?;
    /// admin.publish_release(&ctx, &ReleaseRequest::new().rules(r#"[{"action": "block", "item_ids": ["a"]}]"#))?;
    /// let back = admin.rollback_release(&ctx, &ReleaseRollback::new())?;
    /// assert_eq!(back.release.rules_version, first.release.rules_version);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn rollback_release(
        &self,
        ctx: &Context,
        req: &ReleaseRollback,
    ) -> Result<ReleaseReport, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        self.engine.rollback_release(&op, ctx.tenant.trim(), req)
    }

    /// The release the store's state makes up for `ctx.tenant` (viewer access).
    ///
    /// ```
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("viewer", "demo", ["viewer"]));
    /// let release = engine.admin().release(&ctx)?;           // nothing stored yet
    /// assert!(release.config_version.is_none() && release.rules_version.is_none());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn release(&self, ctx: &Context) -> Result<Release, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        self.engine.control.current_release(&op, ctx.tenant.trim())
    }

    /// Serves requests against `ctx.tenant`'s current and proposed documents without
    /// publishing anything (write access: it is the step before a write), and reports what
    /// the change does (see [`PreviewReport`]).
    ///
    /// ```
    /// use recsys_core::engine::PreviewRequest;
    /// use recsys_core::{Context, Documents, Engine, Principal, RecommendRequest, Timestamp, User};
    ///
    /// let engine = Engine::builder().build()?;
    /// engine.load_snapshot(Documents::new("demo", "home")
    ///     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// let req = PreviewRequest::new()
    ///     .rules(r#"[{"action": "block", "item_ids": ["a"]}]"#)
    ///     .request(&RecommendRequest::new("home", User::id("u1")).k(2));
    /// let report = engine.admin().preview(&ctx, &req)?;
    /// assert_eq!((report.requests, report.served, report.changed), (1, 1, 1));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn preview(&self, ctx: &Context, req: &PreviewRequest) -> Result<PreviewReport, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        self.engine
            .control
            .authorize_write(&op, ctx.tenant.trim())?;
        self.engine.preview_typed(ctx.tenant.trim(), req, ctx.now)
    }
}
