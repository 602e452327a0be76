//! The engine side of releases (see [`crate::control::Release`]): the `admin.release`,
//! `admin.rollback_release` and `admin.get_release` operations, lint of the released
//! documents, validation of the released manifests, and serving a release as one unit: the
//! pins it changes are applied first, then both documents in one commit and one rebuild
//! (answers name the release in `meta.release_id`).

use crate::control::{OpContext, Release, ReleaseOutcome};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{self, Map, Value};
use crate::loader::Step;
use crate::time::Timestamp;
use crate::Engine;

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
            let pins =
                self.apply_release_pins(tenant, ctx.now, &out.from, &out.release, out.audit_id);
            let n = self.serve_release(tenant, ctx.now)?;
            a.push("recompiled", Value::u64(n as u64));
            if !pins.is_empty() {
                a.push("artifacts_applied", Value::Array(pins));
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

    /// Applies the pins a release changes (from `from` to `to`) on this engine's surfaces:
    /// a named manifest is pinned, a surface the release unpins (or that `from` named and `to`
    /// does not) is unpinned. Answers one entry per surface (`fetch` lists the URIs the host
    /// must fetch and hand to `loader_apply_artifacts`; a failure is reported, not raised:
    /// the release is stored and the documents are served regardless).
    pub(crate) fn apply_release_pins(
        &self,
        tenant: &str,
        now: Timestamp,
        from: &Release,
        to: &Release,
        revision: Option<u64>,
    ) -> Vec<Value> {
        let tracked = self.loaded();
        let mut out = Vec::new();
        for surface in changed_surfaces(from, to) {
            let mut e = Map::new();
            e.push("surface", Value::str(&surface));
            let known = tracked
                .iter()
                .any(|s| s.tenant == tenant && s.surface == surface);
            let pinned = to.artifacts.get(&surface).cloned().flatten().is_some();
            // A pin whose manifest text is missing fails as an empty manifest (reported).
            let text = to.pin(&surface).flatten().unwrap_or("");
            let result = match pinned.then_some(text) {
                Some(text) => {
                    e.push("action", Value::str("pin"));
                    self.loader_pin(tenant, &surface, now, text.as_bytes().to_vec())
                        .map(|step| {
                            self.note_pin(tenant, &surface, revision);
                            if let Step::Fetch(uris) = step {
                                e.push(
                                    "fetch",
                                    Value::Array(uris.iter().map(Value::str).collect()),
                                );
                            }
                        })
                }
                None => {
                    e.push("action", Value::str("unpin"));
                    self.note_pin(tenant, &surface, None);
                    if known {
                        self.loader_unpin(tenant, &surface).map(|_| ())
                    } else {
                        Ok(())
                    }
                }
            };
            if let Err(err) = result {
                e.push("error", err.to_value());
            }
            out.push(Value::Object(e));
        }
        out
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

    /// Serves the store's current config and rules through the fleet reconcile
    /// ([`crate::sync`]): pointers a release moved are installed together in one commit,
    /// named by the release, exactly as every other process of the fleet installs them.
    fn serve_release(&self, tenant: &str, now: Timestamp) -> Result<usize, ApiError> {
        let kinds = crate::sync::SyncKinds {
            config: true,
            rules: true,
            feed: false,
        };
        let reports = self.sync_entered(Some(tenant), kinds, None, now)?;
        Ok(reports.iter().map(|r| r.recompiled).sum())
    }
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
