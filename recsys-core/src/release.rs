//! The engine side of releases (see [`crate::control::Release`]): the `admin.release`,
//! `admin.rollback_release` and `admin.get_release` operations, lint of the released
//! documents, validation of the released manifests, and serving a release as one unit: the
//! artifact sets of the pins it changes are staged off to the side, then they, both
//! documents and the release id are installed in one commit and one snapshot swap
//! ([`stage`]; answers name the release in `meta.release_id`).

pub(crate) mod stage;

use crate::control::{AuditHead, OpContext, Release, ReleaseOutcome};
use crate::decode::Input;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{self, Map, Value};
use crate::lint::Finding;
use crate::time::Timestamp;
use crate::Engine;
use std::collections::BTreeMap;

/// Most surfaces one release pins or unpins (checked before any manifest is parsed).
pub const MAX_RELEASE_SURFACES: usize = 64;

fn bad(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

/// A release to publish ([`crate::engine::Admin::publish_release`]): the documents it
/// changes and the surfaces it pins or unpins, published, audited and served as one unit.
///
/// ```
/// use recsys_core::engine::ReleaseRequest;
///
/// let r = ReleaseRequest::new()
///     .config(r#"{"limits": {"max_pins": 2}}"#)
///     .rules(r#"[{"action": "block", "item_ids": ["sku-1"]}]"#)
///     .unpin("home")
///     .comment("spring sale");
/// assert_eq!(r.artifacts.as_deref().map(<[_]>::len), Some(1));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReleaseRequest {
    /// The config document's JSON text, when the release changes the config.
    pub config: Option<String>,
    /// The rules document's JSON text, when the release changes the rules.
    pub rules: Option<String>,
    /// Surface → the manifest text to pin it to, or `None` to unpin it, in the order given
    /// (at most 64); `None` when the release names no surface.
    pub artifacts: Option<Vec<(String, Option<String>)>>,
    /// Publish only if this is the current release id.
    pub if_match: Option<String>,
    /// Recorded in the audit entry.
    pub comment: Option<String>,
}

impl ReleaseRequest {
    /// An empty release (give it documents or pins).
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRequest;
    ///
    /// let r = ReleaseRequest::new();
    /// assert!(r.config.is_none() && r.rules.is_none() && r.artifacts.is_none());
    /// ```
    pub fn new() -> ReleaseRequest {
        ReleaseRequest::default()
    }
    /// Releases this config document (its JSON text).
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRequest;
    ///
    /// assert_eq!(ReleaseRequest::new().config("{}").config.as_deref(), Some("{}"));
    /// ```
    pub fn config(mut self, text: impl Into<String>) -> ReleaseRequest {
        self.config = Some(text.into());
        self
    }
    /// Releases this rules document (its JSON text).
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRequest;
    ///
    /// assert_eq!(ReleaseRequest::new().rules("[]").rules.as_deref(), Some("[]"));
    /// ```
    pub fn rules(mut self, text: impl Into<String>) -> ReleaseRequest {
        self.rules = Some(text.into());
        self
    }
    /// Pins `surface` to the manifest (its JSON text).
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRequest;
    ///
    /// let r = ReleaseRequest::new().pin("home", r#"{"v": 1}"#).unpin("pdp");
    /// assert_eq!(r.artifacts, Some(vec![("home".into(), Some(r#"{"v": 1}"#.into())), ("pdp".into(), None)]));
    /// ```
    pub fn pin(
        mut self,
        surface: impl Into<String>,
        manifest: impl Into<String>,
    ) -> ReleaseRequest {
        let pins = self.artifacts.get_or_insert_with(Vec::new);
        pins.push((surface.into(), Some(manifest.into())));
        self
    }
    /// Unpins `surface` (it follows its manifest template again).
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRequest;
    ///
    /// assert_eq!(ReleaseRequest::new().unpin("home").artifacts, Some(vec![("home".into(), None)]));
    /// ```
    pub fn unpin(mut self, surface: impl Into<String>) -> ReleaseRequest {
        let pins = self.artifacts.get_or_insert_with(Vec::new);
        pins.push((surface.into(), None));
        self
    }
    /// Publishes only if `release_id` is the current release.
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRequest;
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// let stale = ReleaseRequest::new().rules("[]").if_match("not-the-current-release");
    /// assert_eq!(engine.admin().publish_release(&ctx, &stale).unwrap_err().status, 409);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn if_match(mut self, release_id: impl Into<String>) -> ReleaseRequest {
        self.if_match = Some(release_id.into());
        self
    }
    /// The audit comment.
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRequest;
    ///
    /// assert_eq!(ReleaseRequest::new().comment("spring sale").comment.as_deref(), Some("spring sale"));
    /// ```
    pub fn comment(mut self, comment: impl Into<String>) -> ReleaseRequest {
        self.comment = Some(comment.into());
        self
    }
}

/// A release rollback ([`crate::engine::Admin::rollback_release`]): back to the previous
/// release, or to a named one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReleaseRollback {
    /// The release id to restore (`None`: the previous release).
    pub to: Option<String>,
    /// Roll back only if this is the current release id.
    pub if_match: Option<String>,
    /// Recorded in the audit entry.
    pub comment: Option<String>,
}

impl ReleaseRollback {
    /// Back to the previous release.
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRollback;
    ///
    /// let r = ReleaseRollback::new();
    /// assert!(r.to.is_none() && r.if_match.is_none());      // the previous release, unconditionally
    /// ```
    pub fn new() -> ReleaseRollback {
        ReleaseRollback::default()
    }
    /// Back to the release `id`.
    ///
    /// ```
    /// use recsys_core::engine::{ReleaseRequest, ReleaseRollback};
    /// use recsys_core::{Context, Engine, Principal, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("ops", "demo", ["operator"]));
    /// let first = engine.admin().publish_release(&ctx, &ReleaseRequest::new().rules("[]"))?;
    /// engine.admin().publish_release(&ctx, &ReleaseRequest::new().config("{}"))?;
    /// engine.admin().publish_release(&ctx, &ReleaseRequest::new().config(r#"{"weights": {"pop": 1}}"#))?;
    /// let back = engine.admin().rollback_release(&ctx, &ReleaseRollback::new().to(&first.release.id))?;
    /// assert_eq!(back.release.config_version, first.release.config_version);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn to(mut self, id: impl Into<String>) -> ReleaseRollback {
        self.to = Some(id.into());
        self
    }
    /// Only if `release_id` is the current release.
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRollback;
    ///
    /// assert_eq!(ReleaseRollback::new().if_match("r-1").if_match.as_deref(), Some("r-1"));
    /// ```
    pub fn if_match(mut self, release_id: impl Into<String>) -> ReleaseRollback {
        self.if_match = Some(release_id.into());
        self
    }
    /// The audit comment.
    ///
    /// ```
    /// use recsys_core::engine::ReleaseRollback;
    ///
    /// assert_eq!(ReleaseRollback::new().comment("bad rules").comment.as_deref(), Some("bad rules"));
    /// ```
    pub fn comment(mut self, comment: impl Into<String>) -> ReleaseRollback {
        self.comment = Some(comment.into());
        self
    }
}

/// What a release or a release rollback did; serialises as the `admin.release` /
/// `admin.rollback_release` answer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReleaseReport {
    /// The tenant.
    pub tenant: String,
    /// The release now current.
    pub release: Release,
    /// The id of the release it replaced.
    pub from_release_id: String,
    /// Whether anything moved (an identical release changes nothing and writes no entry).
    pub changed: bool,
    /// The audit entry recording it, when one was written.
    pub audit_id: Option<u64>,
    /// The tenant's audit chain head after it, when an entry was written.
    pub audit_head: Option<AuditHead>,
    /// When it changed something: surfaces of this engine recompiled to serve it.
    pub recompiled: Option<usize>,
    /// When it changed pins: one entry per surface (`surface`, `action` `pin`/`unpin`,
    /// `fetch` URIs the host must fetch, or `error`).
    pub artifacts_applied: Vec<Value>,
    /// When its artifacts must be fetched first: the id of the release waiting for them
    /// (the previous release keeps serving, whole, until they are handed over).
    pub release_waiting: Option<String>,
    /// Lint findings: of the released documents, or of what a rollback restored.
    pub lint: Option<Vec<Finding>>,
}

impl ReleaseReport {
    /// The answer's JSON form.
    pub fn to_value(&self) -> Value {
        let mut a = with_tenant(&self.tenant, &self.release);
        a.push("from_release_id", Value::str(&self.from_release_id));
        a.push("changed", Value::Bool(self.changed));
        if let (Some(id), Some(head)) = (self.audit_id, &self.audit_head) {
            a.push("audit_id", Value::u64(id));
            a.push("audit_head", head.to_value());
        }
        if let Some(n) = self.recompiled {
            a.push("recompiled", Value::u64(n as u64));
        }
        if !self.artifacts_applied.is_empty() {
            a.push(
                "artifacts_applied",
                Value::Array(self.artifacts_applied.clone()),
            );
        }
        if let Some(id) = &self.release_waiting {
            a.push("release_waiting", Value::str(id));
        }
        if let Some(f) = &self.lint {
            a.push("lint", crate::lint::findings_value(f));
        }
        Value::Object(a)
    }
}

/// `{"tenant_id", <the release's members>}`: the `admin.get_release` answer.
pub(crate) fn with_tenant(tenant: &str, release: &Release) -> Map {
    let mut a = Map::new();
    a.push("tenant_id", Value::str(tenant));
    if let Value::Object(r) = release.to_value() {
        for (k, v) in r.iter() {
            a.push(k.to_string(), v.clone());
        }
    }
    a
}

/// The `tenant` member of a release op (trimmed; absent or blank is refused).
fn tenant<'a>(i: &mut Input<'a>) -> Result<&'a str, ApiError> {
    match i.str("tenant").map(str::trim) {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(bad("missing member \"tenant\"".into())),
    }
}

/// Reads `admin.get_release`'s `{"tenant"}`.
pub(crate) fn decode_get(v: &Value) -> Result<&str, ApiError> {
    let mut i = Input::new(v, &["tenant"])?;
    let t = tenant(&mut i)?;
    i.done()?;
    Ok(t)
}

/// Reads `admin.release`'s `{"tenant", "config"?, "rules"?, "artifacts"?, "if_match"?,
/// "comment"?}`: documents as JSON or as their text, `artifacts` an object of surface →
/// manifest (JSON or text) or `null` to unpin.
pub(crate) fn decode_release(v: &Value) -> Result<(&str, ReleaseRequest), ApiError> {
    let allowed = [
        "tenant",
        "config",
        "rules",
        "artifacts",
        "if_match",
        "comment",
    ];
    let mut i = Input::new(v, &allowed)?;
    let t = tenant(&mut i)?;
    let artifacts = match i.get("artifacts") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(Value::Object(m)) => Some(
            m.iter()
                .map(|(surface, manifest)| {
                    let text = match manifest {
                        Value::Null => None,
                        Value::String(t) => Some(t.clone()),
                        v => Some(json::to_string(v)),
                    };
                    (surface.to_string(), text)
                })
                .collect(),
        ),
        Some(_) => {
            let message = "artifacts must be an object of surface -> manifest (or null to unpin)";
            i.problem("artifacts", message.into());
            None
        }
    };
    let r = ReleaseRequest {
        config: i.document("config"),
        rules: i.document("rules"),
        artifacts,
        if_match: i.str("if_match").map(str::to_owned),
        comment: i.str("comment").map(str::to_owned),
    };
    i.done()?;
    Ok((t, r))
}

/// Reads `admin.rollback_release`'s `{"tenant", "to"?, "if_match"?, "comment"?}`.
pub(crate) fn decode_rollback(v: &Value) -> Result<(&str, ReleaseRollback), ApiError> {
    let mut i = Input::new(v, &["tenant", "to", "if_match", "comment"])?;
    let t = tenant(&mut i)?;
    let r = ReleaseRollback {
        to: i.str("to").map(str::to_owned),
        if_match: i.str("if_match").map(str::to_owned),
        comment: i.str("comment").map(str::to_owned),
    };
    i.done()?;
    Ok((t, r))
}

impl Engine {
    /// Publishes a release for `tenant` (write access): lints the documents (refusing
    /// error-level findings with `lint_strict`), checks every manifest, stores and audits
    /// the release, then serves it.
    pub(crate) fn publish_release(
        &self,
        ctx: &OpContext,
        tenant: &str,
        req: &ReleaseRequest,
    ) -> Result<ReleaseReport, ApiError> {
        if req.config.is_none() && req.rules.is_none() && req.artifacts.is_none() {
            return Err(bad(
                "a release needs \"config\", \"rules\", \"artifacts\" or several".into(),
            ));
        }
        let plane = self.control();
        plane.authorize_write(ctx, tenant)?;
        let artifacts = self.release_manifests(tenant, req.artifacts.as_deref())?;
        let lint = self.lint_release(tenant, req, ctx)?;
        let out = plane.publish_release(
            ctx,
            tenant,
            req.config.as_deref().map(str::as_bytes),
            req.rules.as_deref().map(str::as_bytes),
            &artifacts,
            req.if_match.as_deref(),
            req.comment.as_deref(),
        )?;
        self.serve_release_outcome(tenant, ctx, out, lint)
    }

    /// Rolls `tenant` back to an earlier release (write access), then serves it.
    pub(crate) fn rollback_release(
        &self,
        ctx: &OpContext,
        tenant: &str,
        req: &ReleaseRollback,
    ) -> Result<ReleaseReport, ApiError> {
        let out = self.control().rollback_release(
            ctx,
            tenant,
            req.to.as_deref(),
            req.if_match.as_deref(),
            req.comment.as_deref(),
        )?;
        self.serve_release_outcome(tenant, ctx, out, None)
    }

    /// Serves what a release (or rollback) stored, and reports it.
    fn serve_release_outcome(
        &self,
        tenant: &str,
        ctx: &OpContext,
        out: ReleaseOutcome,
        lint: Option<Vec<Finding>>,
    ) -> Result<ReleaseReport, ApiError> {
        let mut report = ReleaseReport {
            tenant: tenant.to_string(),
            release: out.release.clone(),
            from_release_id: out.from.id.clone(),
            changed: out.changed,
            audit_id: out.audit_id,
            audit_head: out.audit_head.clone(),
            recompiled: None,
            artifacts_applied: Vec::new(),
            release_waiting: None,
            lint: None,
        };
        if out.changed {
            let served = self.serve_release(tenant, ctx.now)?;
            report.recompiled = Some(served.recompiled);
            report.artifacts_applied = artifacts_applied(&served);
            report.release_waiting = served.release_waiting;
        }
        // A rollback reports the findings of what it restored (as served now).
        report.lint = lint.or_else(|| self.lint_now_serving(tenant, ctx.now));
        Ok(report)
    }

    /// A release's pins: surface → manifest text to pin, or `None` to unpin. Every manifest
    /// is parsed and scope-checked before anything is stored, so a bad one changes nothing.
    fn release_manifests(
        &self,
        tenant: &str,
        pins: Option<&[(String, Option<String>)]>,
    ) -> Result<Vec<(String, Option<String>)>, ApiError> {
        let m = pins.unwrap_or_default();
        if m.len() > MAX_RELEASE_SURFACES {
            return Err(bad(format!(
                "a release pins at most {MAX_RELEASE_SURFACES} surfaces, got {}",
                m.len()
            )));
        }
        let mut out = Vec::with_capacity(m.len());
        for (surface, text) in m {
            let surface = surface.trim();
            if surface.is_empty() {
                return Err(bad("artifacts names an empty surface".into()));
            }
            if let Some(t) = text {
                crate::compile::parse_manifest_doc(
                    tenant,
                    surface,
                    t,
                    &self.options().artifact_limits,
                )
                .map_err(|mut e| {
                    e.message = format!("artifacts[{surface:?}]: {}", e.message);
                    e
                })?;
            }
            out.push((surface.to_string(), text.clone()));
        }
        Ok(out)
    }

    /// Lints the released pair against the loaded catalog; strict mode refuses errors.
    fn lint_release(
        &self,
        tenant: &str,
        req: &ReleaseRequest,
        ctx: &OpContext,
    ) -> Result<Option<Vec<Finding>>, ApiError> {
        let mut input = Map::new();
        input.push("tenant", Value::str(tenant));
        for (k, text) in [("config", &req.config), ("rules", &req.rules)] {
            if let Some(t) = text {
                input.push(k, Value::str(t));
            }
        }
        let Ok(p) = crate::change::Proposal::from_input(self, &input) else {
            return Ok(None); // the publish reports the invalid document
        };
        let findings = p.lint(ctx.now);
        if self.options().lint_strict {
            if let Some(e) = crate::lint::strict_error(&findings) {
                return Err(e);
            }
        }
        Ok(Some(findings))
    }

    /// Serves the store's current release through the fleet reconcile ([`crate::sync`]):
    /// its pins and the pointers it moved are installed together in one commit, named by
    /// the release, exactly as every other process of the fleet installs them.
    pub(crate) fn serve_release(
        &self,
        tenant: &str,
        now: Timestamp,
    ) -> Result<crate::sync::TenantReport, ApiError> {
        let kinds = crate::sync::SyncKinds {
            config: true,
            rules: true,
            feed: false,
        };
        let reports = self.sync_entered(Some(tenant), kinds, None, now)?;
        Ok(reports.into_iter().next().unwrap_or_default())
    }
}

/// The `artifacts_applied` entries of a release answer: per surface whose pin it changed,
/// `{"surface", "action": "pin"|"unpin", "fetch"?}` (`fetch`: the URIs the host must fetch
/// and hand to `loader_apply_artifacts`; the release is installed, whole, once they
/// verify), and `{"surface", "error"}` for a pin that could not be staged.
fn artifacts_applied(r: &crate::sync::TenantReport) -> Vec<Value> {
    let mut out: BTreeMap<&str, Map> = BTreeMap::new();
    for (action, surface) in &r.applied {
        let e = out.entry(surface).or_default();
        e.push("surface", Value::str(surface));
        e.push(
            "action",
            Value::str(action.trim_start_matches("artifacts.")),
        );
    }
    for (surface, uris) in &r.fetch {
        let e = out.entry(surface).or_default();
        if e.is_empty() {
            e.push("surface", Value::str(surface));
            e.push("action", Value::str("pin"));
        }
        e.push("fetch", Value::Array(uris.iter().map(Value::str).collect()));
    }
    let mut v: Vec<Value> = out.into_values().map(Value::Object).collect();
    for (surface, message) in &r.errors {
        let mut e = Map::new();
        e.push("surface", Value::str(surface));
        e.push("error", Value::str(message));
        v.push(Value::Object(e));
    }
    v
}

/// Surfaces whose pin a move from `from` to `to` changes: named by either side with a
/// different manifest (a surface only `from` names goes back to its template).
pub(crate) fn changed_surfaces(from: &Release, to: &Release) -> Vec<String> {
    let mut all: Vec<&String> = from.artifacts.keys().chain(to.artifacts.keys()).collect();
    all.sort();
    all.dedup();
    all.into_iter()
        .filter(|s| {
            let v = |r: &Release| r.artifacts.get(*s).cloned().flatten();
            v(from) != v(to)
        })
        .cloned()
        .collect()
}
