//! Cache invalidation requests. The control plane owns no cache: it validates the request,
//! asks an [`Invalidator`] (the engine) to apply it, audits it and returns the
//! [`Invalidation`] so a host without an invalidator can apply it itself.

use super::error::ControlError;
use crate::error::ErrorCode;
use crate::error::{Problem, Refusal};
use crate::json::{Map, Value};
use std::collections::BTreeMap;

/// A cache the engine keeps per tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CacheTarget {
    /// Compiled config.
    Config,
    /// Compiled rules.
    Rules,
    /// Manifests and artifact blobs (`popularity` is accepted as an alias, the reference's
    /// name).
    Artifacts,
}

impl CacheTarget {
    /// The target's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheTarget::Config => "config",
            CacheTarget::Rules => "rules",
            CacheTarget::Artifacts => "artifacts",
        }
    }
    /// Parses a normalised (trimmed, lower-case) target name.
    pub fn parse(s: &str) -> Option<CacheTarget> {
        match s {
            "config" => Some(CacheTarget::Config),
            "rules" => Some(CacheTarget::Rules),
            "artifacts" | "popularity" => Some(CacheTarget::Artifacts),
            _ => None,
        }
    }
}

/// Problem code for an unknown target.
pub const INVALID_TARGET: &str = ErrorCode::InvalidTarget.code();

/// Validates targets: each is trimmed and lower-cased; blanks are dropped; aliases resolve;
/// duplicates collapse keeping first-seen order. No target left → 400; any unknown target →
/// 422 listing every unknown one.
pub fn parse_targets<S: AsRef<str>>(targets: &[S]) -> Result<Vec<CacheTarget>, ControlError> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut any = false;
    for (i, raw) in targets.iter().enumerate() {
        let t = raw.as_ref().trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        any = true;
        match CacheTarget::parse(&t) {
            Some(ct) => {
                if !out.contains(&ct) {
                    out.push(ct);
                }
            }
            None => problems.push(Problem::new(
                format!("$.targets[{i}]"),
                INVALID_TARGET,
                format!("invalid cache invalidation target: {t}"),
            )),
        }
    }
    if !any {
        return Err(ControlError::InvalidTargets {
            refusal: Refusal::Malformed,
            message: "targets are required".into(),
            problems: Vec::new(),
        });
    }
    if let Some(first) = problems.first() {
        return Err(ControlError::InvalidTargets {
            refusal: Refusal::Invalid,
            message: first.message.clone(),
            problems,
        });
    }
    Ok(out)
}

/// Trims an optional surface; blank means "all surfaces". A surface must be path-safe.
pub fn parse_surface(surface: Option<&str>) -> Result<Option<String>, ControlError> {
    match surface.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if crate::request::is_path_safe(s) => Ok(Some(s.to_owned())),
        Some(s) => Err(ControlError::invalid_request(format!(
            "surface {s:?} is not a valid path segment"
        ))),
    }
}

/// What to drop: the tenant's caches for `targets`, on one surface or (`None`) on all.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invalidation {
    /// The tenant whose caches are invalidated.
    pub tenant: String,
    /// Which caches.
    pub targets: Vec<CacheTarget>,
    /// Only this surface, when set (all of the tenant's otherwise).
    pub surface: Option<String>,
}

impl Invalidation {
    /// `{"tenant_id", "targets": [...], "surface"?}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(3);
        m.push("tenant_id", Value::str(&self.tenant));
        m.push("targets", targets_value(&self.targets));
        if let Some(s) = &self.surface {
            m.push("surface", Value::str(s));
        }
        Value::Object(m)
    }
}

pub(crate) fn targets_value(targets: &[CacheTarget]) -> Value {
    Value::Array(targets.iter().map(|t| Value::str(t.as_str())).collect())
}

/// Entries dropped per target; a target has a key only if its cache is wired.
pub type InvalidationCounts = BTreeMap<CacheTarget, u64>;

pub(crate) fn counts_value(counts: &InvalidationCounts) -> Value {
    let mut m = Map::with_capacity(counts.len());
    for (t, n) in counts {
        m.push(t.as_str(), Value::u64(*n));
    }
    Value::Object(m)
}

/// Applies invalidations to the engine's caches (implemented by the engine). It must only
/// touch `invalidation.tenant`'s entries and must be idempotent: dropping a cache entry
/// changes no document, only forces a reload.
pub trait Invalidator: Send + Sync {
    fn invalidate(&self, invalidation: &Invalidation) -> InvalidationCounts;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_normalise() {
        assert_eq!(
            parse_targets(&[" Config", "POPULARITY", "artifacts", "", "rules", "config"]).unwrap(),
            vec![
                CacheTarget::Config,
                CacheTarget::Artifacts,
                CacheTarget::Rules
            ]
        );
        let e = parse_targets::<&str>(&[]).unwrap_err();
        assert_eq!((e.code(), e.status()), ("RECSYS_INVALID_TARGETS", 400));
        let e = parse_targets(&["  ", ""]).unwrap_err();
        assert_eq!(e.status(), 400);
        let e = parse_targets(&["config", "Bogus", "x"]).unwrap_err();
        assert_eq!((e.code(), e.status()), ("RECSYS_INVALID_TARGETS", 422));
        assert_eq!(e.to_string(), "invalid cache invalidation target: bogus");
        assert_eq!(e.problems().len(), 2);
        assert_eq!(e.problems()[1].path, "$.targets[2]");
    }

    #[test]
    fn surfaces() {
        assert_eq!(parse_surface(None).unwrap(), None);
        assert_eq!(parse_surface(Some("  ")).unwrap(), None);
        assert_eq!(
            parse_surface(Some(" home ")).unwrap().as_deref(),
            Some("home")
        );
        assert!(parse_surface(Some("a/b")).is_err());
    }
}
