//! Static analysis of a tenant's config and rules against its loaded catalog: what a change
//! will do that its author probably did not mean (a pin a block removes, a rule that can never
//! fire, caps that make `k` unreachable), found *before* the change is published.
//!
//! Every finding has a stable code ([`codes`]), a severity, and the document indexes of the
//! rules involved. Error-level findings are refused at write time when the engine runs with
//! `lint_strict`; warnings are reported with every write and by the `lint` operation.
//!
//! Cost: every check is O(n log n) in the number of rules and rule targets (indexes by target,
//! never all pairs of rules), plus one O(total tags) pass over the catalog.

pub(crate) mod cache;
pub mod catalog;
mod config;
mod rules;

pub use catalog::{CatalogView, SnapshotCatalog, TagSpace};
pub(crate) use rules::space as rules_space;

use crate::config::TenantConfig;
use crate::error::ErrorCode;
use crate::error::Problem;
use crate::json::{Map, Value};
use crate::rules::Rule;
use crate::time::Timestamp;

pub mod codes {
    //! Stable lint finding codes.
    /// A pin whose target a block (of any priority) removes.
    pub const RULES_PIN_BLOCKED: &str = "RULES_PIN_BLOCKED";
    /// A rule that can never change an answer: a higher-priority rule always decides first.
    pub const RULES_SHADOWED: &str = "RULES_SHADOWED";
    /// The rule's validity window has ended.
    pub const RULES_EXPIRED: &str = "RULES_EXPIRED";
    /// The rule's validity window starts in the future.
    pub const RULES_NOT_YET_ACTIVE: &str = "RULES_NOT_YET_ACTIVE";
    /// No catalog item or tag matches the rule's target.
    pub const RULES_UNKNOWN_TARGET: &str = "RULES_UNKNOWN_TARGET";
    /// More pins can apply on a surface than its `max_pins`.
    pub const RULES_PIN_OVER_BUDGET: &str = "RULES_PIN_OVER_BUDGET";
    /// Identical rules (everything but id, name and description equal).
    pub const RULES_DUPLICATE: &str = "RULES_DUPLICATE";
    /// Brand/category caps make the default `k` unreachable for the catalog.
    pub const CONFIG_CAPS_UNSATISFIABLE: &str = "CONFIG_CAPS_UNSATISFIABLE";
    /// A weight for a signal the manifest has no artifact for.
    pub const CONFIG_WEIGHT_WITHOUT_SIGNAL: &str = "CONFIG_WEIGHT_WITHOUT_SIGNAL";
    /// Every code, for documentation and tests.
    pub const ALL: &[&str] = &[
        RULES_PIN_BLOCKED,
        RULES_SHADOWED,
        RULES_EXPIRED,
        RULES_NOT_YET_ACTIVE,
        RULES_UNKNOWN_TARGET,
        RULES_PIN_OVER_BUDGET,
        RULES_DUPLICATE,
        CONFIG_CAPS_UNSATISFIABLE,
        CONFIG_WEIGHT_WITHOUT_SIGNAL,
    ];
}

/// How serious a finding is. Strict mode refuses writes with any `Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// The document would be refused (or serve wrongly).
    Error,
    /// Worth a look; the document is accepted.
    Warning,
}

impl Severity {
    /// The severity's wire name (`error`, `warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One lint finding.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Finding {
    /// The finding's stable code.
    pub code: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// Document indexes of the rules involved (the rule reported first).
    pub rules: Vec<usize>,
    /// JSON path in the document concerned (`$[3]`, `$.diversity.brand_cap`).
    pub path: String,
    /// The surface the finding is about, when it depends on one.
    pub surface: Option<String>,
    /// For `RULES_NOT_YET_ACTIVE`: when the rule starts.
    pub starts_at: Option<Timestamp>,
    /// What was found, quoting the document.
    pub message: String,
}

impl Finding {
    fn new(code: &'static str, severity: Severity, path: String, message: String) -> Finding {
        Finding {
            code,
            severity,
            rules: Vec::new(),
            path,
            surface: None,
            starts_at: None,
            message,
        }
    }

    fn rule(code: &'static str, severity: Severity, rules: Vec<usize>, message: String) -> Finding {
        let path = format!("$[{}]", rules.first().copied().unwrap_or(0));
        Finding {
            rules,
            ..Finding::new(code, severity, path, message)
        }
    }

    /// `{"code", "severity", "rules", "path", "surface"?, "starts_at"?, "message"}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("code", Value::str(self.code));
        m.push("severity", Value::str(self.severity.as_str()));
        m.push(
            "rules",
            Value::Array(self.rules.iter().map(|&i| Value::u64(i as u64)).collect()),
        );
        m.push("path", Value::str(&self.path));
        if let Some(s) = &self.surface {
            m.push("surface", Value::str(s));
        }
        if let Some(t) = self.starts_at {
            m.push("starts_at", Value::str(t.to_rfc3339_nanos()));
        }
        m.push("message", Value::str(&self.message));
        Value::Object(m)
    }

    /// The finding as a validation problem (what a refused write lists).
    pub fn to_problem(&self) -> Problem {
        Problem::new(&self.path, self.code, &self.message)
    }
}

/// What to lint.
pub struct LintInput<'a> {
    pub config: &'a TenantConfig,
    /// Parsed rules (any order; `Rule::index` names them in findings).
    pub rules: &'a [Rule],
    /// The loaded catalog; `None` skips the checks that need one (unknown targets, pins
    /// blocked through tags, caps, signals).
    pub catalog: Option<&'a dyn CatalogView>,
    pub now: Timestamp,
}

/// Runs every check. Findings are ordered by severity, then code, then first rule index.
pub fn lint(input: &LintInput) -> Vec<Finding> {
    let mut out = rules::check(input);
    out.extend(config::check(input));
    sort(&mut out);
    out
}

/// The order findings are reported in (stable: equal keys keep the order they were found).
fn sort(out: &mut [Finding]) {
    out.sort_by(|a, b| {
        (a.severity, a.code, a.rules.first(), &a.path).cmp(&(
            b.severity,
            b.code,
            b.rules.first(),
            &b.path,
        ))
    });
}

/// The findings as a JSON array.
pub fn findings_value(findings: &[Finding]) -> Value {
    Value::Array(findings.iter().map(Finding::to_value).collect())
}

/// `RECSYS_LINT_FAILED` (422) listing the error-level findings, or `None` when there are none.
pub fn strict_error(findings: &[Finding]) -> Option<crate::ApiError> {
    let errors: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    let first = errors.first()?;
    Some(
        crate::ApiError::new(
            ErrorCode::LintFailed,
            format!(
                "lint refused the document: {} error-level finding(s), first {}: {}",
                errors.len(),
                first.code,
                first.message
            ),
        )
        .with_problems(errors.iter().map(|f| f.to_problem()).collect())
        .with_extra("lint", findings_value(findings)),
    )
}
