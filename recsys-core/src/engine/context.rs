//! [`Context`]: what the host tells the engine about one call (the time, the request id, the
//! tenant the caller was resolved to, its roles and, for control-plane writes, the caller),
//! and the context of a `recommend` call read straight from its text ([`with_direct`]).

use crate::control::Principal;
use crate::decode::direct::DirectContext;
use crate::request::CallContext;
use crate::time::Timestamp;
use std::cell::RefCell;

/// The host-supplied context of one call. The engine reads no clock and authenticates
/// nobody: `now`, the tenant and the caller come from here.
///
/// ```
/// use recsys_core::{Context, Principal, Timestamp};
///
/// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
/// let ctx = Context::new(now, "demo")
///     .request_id("req-1")
///     .roles(["editor"])
///     .actor(Principal::new("alice", "demo", ["admin"]));
/// assert_eq!(ctx.tenant, "demo");
/// assert!(ctx.has_role("EDITOR"));
/// assert_eq!(ctx.actor.as_ref().map(|p| p.subject.as_str()), Some("alice"));
/// ```
pub type Context = CallContext;

impl CallContext {
    /// A context at `now` for `tenant`, with no request id, no roles and no actor.
    ///
    /// ```
    /// use recsys_core::{Context, Timestamp};
    ///
    /// let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo");
    /// assert_eq!((ctx.tenant.as_str(), ctx.request_id.as_str()), ("demo", ""));
    /// assert!(ctx.actor.is_none());
    /// ```
    pub fn new(now: Timestamp, tenant: impl Into<String>) -> CallContext {
        CallContext {
            now,
            request_id: String::new(),
            tenant: tenant.into(),
            roles: Vec::new(),
            actor: None,
        }
    }

    /// Sets the request id echoed in answers, metrics and audit entries.
    ///
    /// ```
    /// use recsys_core::{Context, Timestamp};
    ///
    /// let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo").request_id("r-7");
    /// assert_eq!(ctx.request_id, "r-7");
    /// ```
    pub fn request_id(mut self, id: impl Into<String>) -> CallContext {
        self.request_id = id.into();
        self
    }

    /// Sets the caller's roles (lower-cased, as the JSON context's `roles` are).
    ///
    /// ```
    /// use recsys_core::{Context, Timestamp};
    ///
    /// let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo").roles(["Admin"]);
    /// assert_eq!(ctx.roles, ["admin"]);
    /// ```
    pub fn roles<R: Into<String>>(mut self, roles: impl IntoIterator<Item = R>) -> CallContext {
        self.roles = roles
            .into_iter()
            .map(|r| r.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// Sets the authenticated caller of a control-plane operation ([`crate::engine::Admin`]
    /// checks its access and names it in the audit log).
    ///
    /// ```
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let ctx = Context::new(Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(), "demo");
    /// let err = engine.admin().put_rules(&ctx, "[]", None).unwrap_err();    // writes need an actor
    /// assert_eq!(err.code, "RECSYS_INVALID_CONTEXT");
    /// let ctx = ctx.actor(Principal::new("alice", "demo", ["admin"]));
    /// assert!(engine.admin().put_rules(&ctx, "[]", None).is_ok());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn actor(mut self, principal: Principal) -> CallContext {
        self.actor = Some(principal);
        self
    }
}

thread_local! {
    /// The context of this thread's calls read directly ([`with_direct`]), kept between calls
    /// so that its strings' buffers are reused.
    static DIRECT: RefCell<Option<CallContext>> = const { RefCell::new(None) };
}

/// Buffers of the kept context past this many bytes are dropped after the call (a long
/// request id is not kept for the thread's life).
const DIRECT_KEPT_BYTES: usize = 256;

/// Runs `f` with the [`CallContext`] of a context read directly (the tree decoder's context
/// for the same `ctx` member): the thread's kept context, its strings overwritten, so that a
/// call allocates none; a call made from inside `f` (none is: the engine refuses nested
/// calls) gets a context of its own.
pub(crate) fn with_direct<R>(d: &DirectContext<'_>, f: impl FnOnce(&CallContext) -> R) -> R {
    DIRECT.with(|kept| match kept.try_borrow_mut() {
        Ok(mut kept) => {
            let ctx = kept.get_or_insert_with(|| d.to_context());
            d.fill(ctx);
            let r = f(ctx);
            if ctx.request_id.capacity() + ctx.tenant.capacity() > DIRECT_KEPT_BYTES {
                *kept = None;
            }
            r
        }
        Err(_) => f(&d.to_context()),
    })
}
