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
    pub fn release(&self, ctx: &Context) -> Result<Release, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        self.engine.control.current_release(&op, ctx.tenant.trim())
    }

    /// Serves requests against `ctx.tenant`'s current and proposed documents without
    /// publishing anything (write access: it is the step before a write), and reports what
    /// the change does (see [`PreviewReport`]).
    pub fn preview(&self, ctx: &Context, req: &PreviewRequest) -> Result<PreviewReport, ApiError> {
        let _busy = self.enter()?;
        let op = op_context(ctx)?;
        self.engine
            .control
            .authorize_write(&op, ctx.tenant.trim())?;
        self.engine.preview_typed(ctx.tenant.trim(), req, ctx.now)
    }
}
