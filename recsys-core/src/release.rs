//! The engine side of releases (see [`crate::control::Release`]): the `admin.release`,
//! `admin.rollback_release` and `admin.get_release` operations, lint of the released
//! documents, validation of the released manifests, and serving a release as one unit: the
//! artifact sets of the pins it changes are staged off to the side, then they, both
//! documents and the release id are installed in one commit and one snapshot swap
//! ([`stage`]; answers name the release in `meta.release_id`).

pub(crate) mod stage;

use crate::control::{OpContext, Release, ReleaseOutcome};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{self, Map, Value};
use crate::time::Timestamp;
use crate::Engine;
use std::collections::BTreeMap;

/// Most surfaces one release pins or unpins (checked before any manifest is parsed).
pub const MAX_RELEASE_SURFACES: usize = 64;

fn bad(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

fn opt_str<'a>(m: &'a Map, k: &str) -> Result<Option<&'a str>, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("{k} must be a string"))),
    }
}

/// A document member as raw JSON text (a string holds the text itself).
fn text(m: &Map, k: &str) -> Option<String> {
    match m.get(k)? {
        Value::String(s) => Some(s.clone()),
        v => Some(json::to_string(v)),
    }
}

fn answer(tenant: &str, out: &ReleaseOutcome) -> Map {
    let mut a = Map::new();
    a.push("tenant_id", Value::str(tenant));
    if let Value::Object(r) = out.release.to_value() {
        for (k, v) in r.iter() {
            a.push(k.to_string(), v.clone());
        }
    }
    a.push("from_release_id", Value::str(&out.from.id));
    a.push("changed", Value::Bool(out.changed));
    if let (Some(id), Some(head)) = (out.audit_id, &out.audit_head) {
        a.push("audit_id", Value::u64(id));
        a.push("audit_head", head.to_value());
    }
    a
}

impl Engine {
    pub(crate) fn release_op(
        &self,
        op: &str,
        req: &Value,
        ctx: &OpContext,
    ) -> Result<Value, ApiError> {
        let m = req
            .as_object()
            .ok_or_else(|| bad("input must be a json object".into()))?;
        let allowed: &[&str] = match op {
            "admin.get_release" => &["tenant"],
            "admin.release" => &[
                "tenant",
                "config",
                "rules",
                "artifacts",
                "if_match",
                "comment",
            ],
            _ => &["tenant", "to", "if_match", "comment"],
        };
        if let Some((k, _)) = m.iter().find(|(k, _)| !allowed.contains(k)) {
            return Err(bad(format!("unknown member {k:?} in {op}")));
        }
        let tenant = opt_str(m, "tenant")?
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("missing member \"tenant\"".into()))?;
        let plane = self.control();
        let (out, lint) = match op {
            "admin.get_release" => {
                let r = plane.current_release(ctx, tenant)?;
                let mut a = Map::new();
                a.push("tenant_id", Value::str(tenant));
                if let Value::Object(x) = r.to_value() {
                    for (k, v) in x.iter() {
                        a.push(k.to_string(), v.clone());
                    }
                }
                return Ok(Value::Object(a));
            }
            "admin.release" => {
                let (config, rules) = (text(m, "config"), text(m, "rules"));
                if config.is_none() && rules.is_none() && m.get("artifacts").is_none() {
                    return Err(bad(
                        "a release needs \"config\", \"rules\", \"artifacts\" or several".into(),
                    ));
                }
                plane.authorize_write(ctx, tenant)?;
                let artifacts = self.release_manifests(tenant, m.get("artifacts"))?;
                let lint = self.lint_release(tenant, m, ctx)?;
                let out = plane.publish_release(
                    ctx,
                    tenant,
                    config.as_deref().map(str::as_bytes),
                    rules.as_deref().map(str::as_bytes),
                    &artifacts,
                    opt_str(m, "if_match")?,
                    opt_str(m, "comment")?,
                )?;
                (out, lint)
            }
            _ => {
                let out = plane.rollback_release(
                    ctx,
                    tenant,
                    opt_str(m, "to")?,
                    opt_str(m, "if_match")?,
                    opt_str(m, "comment")?,
                )?;
                (out, None)
            }
        };
        let mut a = answer(tenant, &out);
        if out.changed {
            let served = self.serve_release(tenant, ctx.now)?;
            a.push("recompiled", Value::u64(served.recompiled as u64));
            let pins = artifacts_applied(&served);
            if !pins.is_empty() {
                a.push("artifacts_applied", Value::Array(pins));
            }
            if let Some(id) = &served.release_waiting {
                a.push("release_waiting", Value::str(id));
            }
        }
        // A rollback reports the findings of what it restored (as served now).
        let lint = lint.or_else(|| self.lint_now_serving(tenant, ctx.now));
        if let Some(f) = lint {
            a.push("lint", crate::lint::findings_value(&f));
        }
        Ok(Value::Object(a))
    }

    /// The `artifacts` member of `admin.release`: surface → manifest (JSON text or object)
    /// to pin, or `null` to unpin. Every manifest is parsed and scope-checked before anything
    /// is stored, so a bad one changes nothing.
    fn release_manifests(
        &self,
        tenant: &str,
        v: Option<&Value>,
    ) -> Result<Vec<(String, Option<String>)>, ApiError> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(Vec::new());
        };
        let m = v.as_object().ok_or_else(|| {
            bad("artifacts must be an object of surface -> manifest (or null to unpin)".into())
        })?;
        if m.len() > MAX_RELEASE_SURFACES {
            return Err(bad(format!(
                "a release pins at most {MAX_RELEASE_SURFACES} surfaces, got {}",
                m.len()
            )));
        }
        let mut out = Vec::with_capacity(m.len());
        for (surface, manifest) in m.iter() {
            let surface = surface.trim();
            if surface.is_empty() {
                return Err(bad("artifacts names an empty surface".into()));
            }
            let text = match manifest {
                Value::Null => None,
                Value::String(t) => Some(t.clone()),
                v => Some(json::to_string(v)),
            };
            if let Some(t) = &text {
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
            out.push((surface.to_string(), text));
        }
        Ok(out)
    }

    /// Lints the released pair against the loaded catalog; strict mode refuses errors.
    fn lint_release(
        &self,
        tenant: &str,
        m: &Map,
        ctx: &OpContext,
    ) -> Result<Option<Vec<crate::lint::Finding>>, ApiError> {
        let mut input = Map::new();
        input.push("tenant", Value::str(tenant));
        for k in ["config", "rules"] {
            if let Some(v) = m.get(k) {
                input.push(k, v.clone());
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
