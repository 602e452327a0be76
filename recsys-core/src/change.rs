//! A proposed change to a tenant's documents, held next to what serves now: the current
//! config and rules, the candidate ones (current ones where the proposal leaves a document
//! out), and the artifacts of one loaded surface. Lint and preview both start here; nothing
//! is published.

use crate::compile::{assemble, ArtifactSet, TenantDocs};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{self, Map, Value};
use crate::lint::{self, Finding, LintInput, SnapshotCatalog};
use crate::snapshot::TenantSnapshot;
use crate::time::Timestamp;
use crate::Engine;
use std::sync::Arc;

/// Current and candidate documents of one tenant, on one loaded surface.
pub struct Proposal {
    pub tenant: String,
    pub surface: String,
    pub current: TenantDocs,
    pub candidate: TenantDocs,
    /// Whether the proposal replaces the config.
    pub config_changed: bool,
    /// The surface's artifacts and the snapshot serving it, when one is loaded.
    pub loaded: Option<(ArtifactSet, Arc<TenantSnapshot>)>,
}

fn bad(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

/// A document member: absent = keep, `null` = remove, a string = raw JSON text, else the value.
fn document(m: &Map, k: &str) -> Result<Option<Option<Value>>, ApiError> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(text)) => Ok(Some(Some(json::parse(text.as_bytes())?))),
        Some(v) => Ok(Some(Some(v.clone()))),
    }
}

impl Proposal {
    /// Reads `{"tenant", "surface"?, "config"?, "rules"?}` (other members are the caller's to
    /// check). Without `surface`, the tenant's first loaded surface (by name) is used.
    pub fn from_input(engine: &Engine, m: &Map) -> Result<Proposal, ApiError> {
        let tenant = m
            .get("tenant")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("missing member \"tenant\"".into()))?
            .to_string();
        let config = document(m, "config")?;
        let rules = document(m, "rules")?;
        let (current, loaded, surface) = {
            let st = engine.lock_state();
            let current = st
                .docs
                .get(&tenant)
                .map(|d| (**d).clone())
                .unwrap_or_default();
            let surface = match m.get("surface").and_then(Value::as_str).map(str::trim) {
                Some(s) if !s.is_empty() => s.to_string(),
                _ => st
                    .surfaces
                    .iter()
                    .find(|((t, _), ss)| *t == tenant && ss.loaded)
                    .map(|((_, s), _)| s.clone())
                    .unwrap_or_else(|| "default".into()),
            };
            let set = st
                .surfaces
                .get(&(tenant.clone(), surface.clone()))
                .filter(|ss| ss.loaded)
                .map(|ss| ss.set.clone());
            (current, set, surface)
        };
        let loaded = match loaded {
            Some(set) => engine
                .snapshot(&tenant, &surface)
                .filter(|s| !s.fallback)
                .map(|s| (set, s.snapshot)),
            None => None,
        };
        let mut candidate = current.clone();
        if let Some(c) = &config {
            candidate.set_config(c.as_ref())?;
        }
        if let Some(r) = &rules {
            candidate.set_rules(&tenant, r.as_ref())?;
        }
        Ok(Proposal {
            config_changed: candidate.config_version != current.config_version,
            tenant,
            surface,
            current,
            candidate,
            loaded,
        })
    }

    /// Lints the candidate documents against the loaded catalog (none loaded: the checks
    /// that need a catalog are skipped).
    pub fn lint(&self, now: Timestamp) -> Vec<Finding> {
        lint_docs(
            &self.candidate,
            self.loaded.as_ref().map(|(_, s)| &**s),
            now,
        )
    }

    /// The candidate snapshot of the surface (same artifacts, candidate documents).
    pub fn candidate_snapshot(&self) -> Option<TenantSnapshot> {
        self.loaded
            .as_ref()
            .map(|(set, _)| assemble(&self.tenant, &self.surface, &self.candidate, set))
    }
}

/// Lints documents against a snapshot's catalog.
pub fn lint_docs(docs: &TenantDocs, snap: Option<&TenantSnapshot>, now: Timestamp) -> Vec<Finding> {
    let catalog = snap.map(SnapshotCatalog::new);
    lint::lint(&LintInput {
        config: &docs.config,
        rules: &docs.rules,
        catalog: catalog.as_ref().map(|c| c as &dyn lint::CatalogView),
        now,
    })
}

/// `{"tenant", "surface", "config_version", "rules_version", "findings", "errors", "warnings"}`.
pub fn lint_answer(p: &Proposal, findings: &[Finding]) -> Value {
    let errors = findings
        .iter()
        .filter(|f| f.severity == lint::Severity::Error)
        .count();
    let mut a = Map::new();
    a.push("tenant", Value::str(&p.tenant));
    a.push("surface", Value::str(&p.surface));
    a.push("catalog_loaded", Value::Bool(p.loaded.is_some()));
    let opt = |v: &Option<String>| v.as_deref().map_or(Value::Null, Value::str);
    a.push("config_version", opt(&p.candidate.config_version));
    a.push("rules_version", opt(&p.candidate.rules_version));
    a.push("findings", lint::findings_value(findings));
    a.push("errors", Value::u64(errors as u64));
    a.push("warnings", Value::u64((findings.len() - errors) as u64));
    Value::Object(a)
}

impl Engine {
    /// Lint findings of the documents serving `tenant` against the catalog loaded for
    /// `surface` (the checks that need a catalog are skipped when none is loaded): what
    /// `validate` reports next to the request's warnings. Empty when the tenant has no
    /// documents. The findings are cached on the serving snapshot (see the `lint::cache`
    /// module): a repeated call costs O(log rules + findings), not a lint of the documents.
    ///
    /// ```
    /// use recsys_core::{lint_codes, Documents, Engine, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// engine.load_snapshot(Documents::new("demo", "home")
    ///     .rules(r#"[{"action": "pin", "item_ids": ["a"]}, {"action": "block", "item_ids": ["a"]}]"#)
    ///     .signals(r#"{"popularity": [{"item_id": "a", "score": 1}]}"#))?;
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let findings = engine.served_lint("demo", "home", now);
    /// assert!(findings.iter().any(|f| f.code == lint_codes::RULES_PIN_BLOCKED), "{findings:?}");
    /// assert!(engine.served_lint("acme", "home", now).is_empty());   // no documents
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn served_lint(&self, tenant: &str, surface: &str, now: Timestamp) -> Vec<Finding> {
        let docs = self.lock_state().docs.get(tenant).cloned();
        let Some(docs) = docs else {
            return Vec::new();
        };
        match self.snapshot(tenant, surface) {
            Some(s) => s.snapshot.lint.findings(&docs, &s.snapshot, now),
            None => lint_docs(&docs, None, now),
        }
    }
}

impl Engine {
    /// The findings of the documents serving `tenant` now, on the surface a proposal without
    /// one would use: what a write that restores documents (a rollback) reports as `lint`.
    pub(crate) fn lint_now_serving(&self, tenant: &str, now: Timestamp) -> Option<Vec<Finding>> {
        let mut m = Map::new();
        m.push("tenant", Value::str(tenant));
        Proposal::from_input(self, &m).ok().map(|p| p.lint(now))
    }
}
