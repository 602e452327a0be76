//! The engine side of releases (see [`crate::control::Release`]): the `admin.release`,
//! `admin.rollback_release` and `admin.get_release` operations, lint of the released pair,
//! and serving both documents as one unit (one commit and one rebuild; answers name
//! the release in `meta.release_id`).

use crate::control::{DocKind, OpContext, Release, ReleaseOutcome};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{self, Map, Value};
use crate::Engine;

/// The release operations.
pub const RELEASE_OPS: &[&str] = &[
    "admin.get_release",
    "admin.release",
    "admin.rollback_release",
];

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
            "admin.release" => &["tenant", "config", "rules", "if_match", "comment"],
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
                if config.is_none() && rules.is_none() {
                    return Err(bad("a release needs \"config\", \"rules\" or both".into()));
                }
                plane.authorize_write(ctx, tenant)?;
                let lint = self.lint_release(tenant, m, ctx)?;
                let out = plane.publish_release(
                    ctx,
                    tenant,
                    config.as_deref().map(str::as_bytes),
                    rules.as_deref().map(str::as_bytes),
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
            let n = self.serve_release(tenant, ctx)?;
            a.push("recompiled", Value::u64(n as u64));
        }
        if let Some(f) = lint {
            a.push("lint", crate::lint::findings_value(&f));
        }
        Ok(Value::Object(a))
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

    /// Serves the store's current config and rules as one unit, named by their release.
    fn serve_release(&self, tenant: &str, ctx: &OpContext) -> Result<usize, ApiError> {
        self.set_release_with(tenant, || {
            let get = |kind: DocKind| match self.control().get(ctx, tenant, kind) {
                Ok(d) => Ok(Some((d.document, d.etag))),
                Err(e) if ApiError::from(e.clone()).status == 404 => Ok(None),
                Err(e) => Err(ApiError::from(e)),
            };
            let (config, rules) = (get(DocKind::Config)?, get(DocKind::Rules)?);
            let release = Release::new(
                config.as_ref().map(|c| c.1.clone()),
                rules.as_ref().map(|r| r.1.clone()),
            );
            Ok((config.map(|c| c.0), rules.map(|r| r.0), release.id))
        })
    }
}
