//! Engine-wide options: the host's deployment settings (not tenant documents), their
//! defaults, and their strict decoding. Every member is checked; a misspelt or mistyped member
//! is a `RECSYS_INVALID_OPTIONS` problem at `$.<member>` (all of them listed, the first giving
//! the message), because a typo in a deployment setting should not pass. A member holding a
//! document of its own (a manifest template, experiment definitions) that is refused with its
//! own code stops decoding there, as before.

use crate::decode::{Decoder, Keys, ProblemKind, Style};
use crate::error::{ApiError, ErrorCode};
use crate::json::Value;
use crate::ops::experiments::Assigner;
use crate::ops::exposure::{ExposureEncoder, ExposureFormat, SubjectHasher};
use crate::ops::profile::BackpressureSettings;
use std::sync::Arc;

/// Engine-wide options (the host's deployment settings, not tenant documents).
#[derive(Clone, Debug, PartialEq)]
pub struct EngineOptions {
    /// Global rules switch (the reference's `RECSYS_ALGO_RULES_ENABLED`); default on.
    pub rules_enabled: bool,
    /// Algorithm build label reported in `meta.algo_version`.
    pub algo_version: String,
    /// `explain: full` and `include_trace` need the admin role.
    pub explain_require_admin: bool,
    /// Name of the admin role (case-insensitive).
    pub admin_role: String,
    /// Size and row limits applied to manifests and artifacts when compiling snapshots.
    pub artifact_limits: crate::artifacts::ArtifactLimits,
    /// Manifest refresh, freshness and hold settings.
    pub(crate) loader: crate::loader::LoaderOptions,
    /// Experiment assignment (salt and definitions); `None` = no assignment.
    pub(crate) experiments: Option<Assigner>,
    /// Exposure logging; `None` = off.
    pub exposure: Option<ExposureOptions>,
    /// Record request metrics in the built-in registry (and the host adapter). Off by
    /// default: the registry takes a short mutex per request.
    pub metrics: bool,
    /// Role names of the control plane's access levels (`roles` option:
    /// `{"viewer":[..],"operator":[..],"admin":[..]}`, each list optional); `None` keeps the
    /// defaults `viewer` / `operator` / `admin`.
    pub(crate) roles: Option<crate::control::AccessPolicy>,
    /// Admission gate in front of `recommend` and `similar` (`backpressure` option:
    /// `{"max_in_flight", "max_queue"?, "queue_timeout_ms"?, "retry_after_ms"?}`); the
    /// default (`max_in_flight` 0) admits everyone. Rejections are 503 `RECSYS_OVERLOADED`.
    pub(crate) backpressure: crate::ops::profile::BackpressureSettings,
    /// Host secrets keying the audit chain (`audit_keys` option: `{"active": "<id>",
    /// "keys": {"<id>": "<secret>"}}`); `None` = plain SHA-256 chain.
    pub(crate) audit_keys: Option<Arc<crate::control::AuditKeyring>>,
    /// `lint_strict`: config and rules writes with error-level lint findings are refused
    /// (`RECSYS_LINT_FAILED`); off by default (findings are reported as warnings).
    pub lint_strict: bool,
    /// `rule_telemetry`: count per rule whether it fired, displaced an item, was blocked or
    /// did nothing (exported by the `metrics` op as `recsys_rule_outcomes`, top 20 rules plus
    /// `other`), and list each applicable rule's outcome in `meta.rules` of `explain: full`.
    pub rule_telemetry: bool,
}

/// Exposure logging settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ExposureOptions {
    /// The event encoding (`service_v1` or `eval_v1`).
    pub format: ExposureFormat,
    /// HMAC key for subject hashing; `None` = raw subjects (development only).
    pub salt: Option<Vec<u8>>,
    /// Names the salt in each event, so consumers know which key hashed the subject.
    pub key_id: String,
    /// Events kept for `exposure_drain` when no sink is set (oldest dropped first).
    pub queue_limit: usize,
    /// `include_request`: `service_v1` events of `recommend` carry the normalised request
    /// (`request`, subject ids hashed like the event's), so `admin.preview` can replay them.
    pub include_request: bool,
}

impl ExposureOptions {
    pub(crate) fn encoder(&self) -> ExposureEncoder {
        match &self.salt {
            Some(s) => ExposureEncoder::new(
                self.format,
                SubjectHasher::with_key_id(self.key_id.clone(), s.clone()),
            ),
            None => ExposureEncoder::raw(self.format),
        }
    }

    fn from_value(v: &Value) -> Result<ExposureOptions, String> {
        let m = v
            .as_object()
            .ok_or_else(|| "exposure options must be an object".to_string())?;
        let mut o = ExposureOptions {
            format: ExposureFormat::ServiceV1,
            salt: None,
            key_id: String::new(),
            queue_limit: 10_000,
            include_request: false,
        };
        let mut hash = true;
        for (k, x) in m.iter() {
            match (k, x) {
                ("format", Value::String(f)) => {
                    o.format = ExposureFormat::parse(f)
                        .ok_or_else(|| format!("unknown exposure format {f:?}"))?
                }
                ("salt", Value::String(s)) => o.salt = Some(s.clone().into_bytes()),
                ("key_id", Value::String(s)) => o.key_id = s.clone(),
                ("hash_subjects", Value::Bool(b)) => hash = *b,
                ("include_request", Value::Bool(b)) => o.include_request = *b,
                ("queue_limit", Value::Number(n)) if n.as_i64().is_some_and(|x| x > 0) => {
                    o.queue_limit = n.as_i64().unwrap_or(1) as usize
                }
                _ => return Err(format!("invalid exposure option {k:?}")),
            }
        }
        if !hash {
            o.salt = None;
        } else if o.salt.as_ref().is_none_or(|s| s.is_empty()) {
            return Err("exposure.salt is required when hash_subjects is on".into());
        }
        Ok(o)
    }
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            rules_enabled: true,
            algo_version: "recsys-algo@local".into(),
            explain_require_admin: true,
            admin_role: "admin".into(),
            artifact_limits: crate::artifacts::ArtifactLimits::default(),
            loader: crate::loader::LoaderOptions::default(),
            experiments: None,
            exposure: None,
            metrics: false,
            roles: None,
            backpressure: Default::default(),
            audit_keys: None,
            lint_strict: false,
            rule_telemetry: false,
        }
    }
}

/// Why one option member was refused: a problem to list, or a nested document's own error.
enum Refused {
    Problem(String),
    Error(ApiError),
}

impl From<String> for Refused {
    fn from(message: String) -> Refused {
        Refused::Problem(message)
    }
}

/// Options decode with exact keys; unknown members are `unknown engine option "k"`.
const STYLE: Style = Style {
    keys: Keys::Exact,
    unknown_field: ErrorCode::InvalidOptions,
    wrong_type: ErrorCode::InvalidOptions,
    unknown_message: unknown_option,
};

fn unknown_option(quoted: &str) -> String {
    format!("unknown engine option {quoted}")
}

/// Every member name [`EngineOptions::from_value`] reads.
const MEMBERS: &[&str] = &[
    "rules_enabled",
    "explain_require_admin",
    "algo_version",
    "admin_role",
    "manifest_template",
    "hold_empty_publishes",
    "metrics",
    "audit_keys",
    "lint_strict",
    "rule_telemetry",
    "roles",
    "exposure",
    "backpressure",
    "experiments",
    "manifest_ttl_seconds",
    "max_artifact_age_seconds",
    "artifact_max_bytes",
    "artifact_max_items",
    "artifact_max_neighbors_per_row",
    "artifact_max_users",
    "artifact_max_items_per_user",
];

impl EngineOptions {
    /// Reads `{"rules_enabled", "algo_version", "explain_require_admin", "admin_role",
    /// "artifact_max_bytes", "artifact_max_items", "artifact_max_neighbors_per_row",
    /// "artifact_max_users", "artifact_max_items_per_user", ...}`; unknown or mistyped members
    /// are listed as problems of one `RECSYS_INVALID_OPTIONS` error.
    pub fn from_value(v: &Value) -> Result<EngineOptions, ApiError> {
        let mut d = Decoder::new("$", STYLE);
        let Some(m) = v.as_object() else {
            return Err(ApiError::new(
                ErrorCode::InvalidOptions,
                "engine options must be a json object",
            ));
        };
        let mut o = EngineOptions::default();
        for (k, val) in m.iter() {
            if !MEMBERS.contains(&k) {
                d.unknown(k);
                continue;
            }
            match o.member(k, val) {
                Ok(()) => {}
                Err(Refused::Problem(message)) => d.field(k, |d| {
                    d.report(ProblemKind::Invalid, ErrorCode::InvalidOptions, message)
                }),
                Err(Refused::Error(e)) if d.is_clean() => return Err(e),
                Err(Refused::Error(_)) => break,
            }
        }
        match d.fail(ErrorCode::InvalidOptions, ErrorCode::InvalidOptions) {
            Some(e) => Err(e),
            None => Ok(o),
        }
    }

    /// Applies one known member.
    fn member(&mut self, k: &str, val: &Value) -> Result<(), Refused> {
        let o = self;
        match (k, val) {
            ("rules_enabled", Value::Bool(b)) => o.rules_enabled = *b,
            ("explain_require_admin", Value::Bool(b)) => o.explain_require_admin = *b,
            ("algo_version", Value::String(s)) if !s.trim().is_empty() => {
                o.algo_version = s.trim().into()
            }
            ("admin_role", Value::String(s)) => o.admin_role = s.trim().into(),
            ("manifest_template", Value::String(s)) => {
                let t = crate::loader::ManifestTemplate::parse(s).map_err(Refused::Error)?;
                o.loader.manifest_template = Some(t)
            }
            ("hold_empty_publishes", Value::Bool(b)) => o.loader.hold_empty_publishes = *b,
            ("metrics", Value::Bool(b)) => o.metrics = *b,
            ("audit_keys", keys) => {
                let ring = crate::control::AuditKeyring::from_value(keys)?;
                o.audit_keys = Some(Arc::new(ring))
            }
            ("lint_strict", Value::Bool(b)) => o.lint_strict = *b,
            ("rule_telemetry", Value::Bool(b)) => o.rule_telemetry = *b,
            ("roles", Value::Object(r)) => o.roles = Some(roles_from_map(r)?),
            ("exposure", x) => o.exposure = Some(ExposureOptions::from_value(x)?),
            ("backpressure", x) => o.backpressure = backpressure_from_value(x)?,
            ("experiments", Value::Object(x)) => o.experiments = Some(experiments_from_map(x)?),
            ("manifest_ttl_seconds", Value::Number(n)) if n.as_i64().is_some_and(|x| x >= 0) => {
                o.loader.manifest_ttl_seconds = n.as_i64().unwrap_or(0)
            }
            ("max_artifact_age_seconds", Value::Number(n))
                if n.as_i64().is_some_and(|x| x >= 0) =>
            {
                o.loader.max_artifact_age_seconds = n.as_i64().unwrap_or(0)
            }
            (
                "artifact_max_bytes"
                | "artifact_max_items"
                | "artifact_max_neighbors_per_row"
                | "artifact_max_users"
                | "artifact_max_items_per_user",
                Value::Number(n),
            ) if n.as_i64().is_some_and(|x| x > 0) => {
                let x = n.as_i64().unwrap_or(1) as usize;
                let l = &mut o.artifact_limits;
                match k {
                    "artifact_max_bytes" => l.max_bytes = x,
                    "artifact_max_items" => l.max_items = x,
                    "artifact_max_neighbors_per_row" => l.max_neighbors_per_row = x,
                    "artifact_max_users" => l.max_users = x,
                    _ => l.max_items_per_user = x,
                }
            }
            (_, other) => {
                return Err(Refused::Problem(format!(
                    "engine option {k:?} has the wrong type ({})",
                    other.type_name()
                )))
            }
        }
        Ok(())
    }
}

/// The `roles` option: `{"viewer":[..],"operator":[..],"admin":[..]}`, each list optional
/// and non-empty.
fn roles_from_map(r: &crate::json::Map) -> Result<crate::control::AccessPolicy, String> {
    let mut p = crate::control::AccessPolicy::default();
    for (level, names) in r.iter() {
        let list: Option<Vec<String>> = names.as_array().and_then(|a| {
            a.iter()
                .map(|x| {
                    x.as_str()
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                })
                .collect()
        });
        let Some(list) = list.filter(|l| !l.is_empty()) else {
            return Err(format!(
                "engine option roles.{level} must be a non-empty array of role names"
            ));
        };
        match level {
            "viewer" => p.viewer_roles = list,
            "operator" => p.operator_roles = list,
            "admin" => p.admin_roles = list,
            _ => {
                return Err(format!(
                "unknown access level {level:?} in engine option roles (viewer, operator, admin)"
            ))
            }
        }
    }
    Ok(p)
}

/// The `experiments` option: `{"salt", "definitions", "enabled"}`.
fn experiments_from_map(x: &crate::json::Map) -> Result<Assigner, Refused> {
    if let Some((k, _)) = x
        .iter()
        .find(|(k, _)| !matches!(&**k, "salt" | "definitions" | "enabled"))
    {
        return Err(Refused::Problem(format!(
            "unknown member {k:?} in engine option experiments (salt, definitions, enabled)"
        )));
    }
    let salt = x.get("salt").and_then(Value::as_str).unwrap_or("");
    let defs = match x.get("definitions") {
        Some(d) => crate::ops::experiments::parse_definitions(d).map_err(|p| {
            Refused::Error(
                ApiError::new(ErrorCode::InvalidOptions, "invalid experiment definitions")
                    .with_problems(p),
            )
        })?,
        None => Vec::new(),
    };
    let enabled = x.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    let a = Assigner::new(salt.as_bytes().to_vec(), defs)
        .map_err(|e| Refused::Error(ApiError::from(e)))?;
    Ok(a.with_enabled(enabled))
}

/// The `backpressure` engine option: `{"max_in_flight", "max_queue"?, "queue_timeout_ms"?,
/// "retry_after_ms"?}`, non-negative integers (service.md 7.1; the same names as the
/// profile's `backpressure` section).
fn backpressure_from_value(v: &Value) -> Result<BackpressureSettings, String> {
    let m = v.as_object().ok_or_else(|| {
        format!(
            "engine option backpressure must be a json object, got {}",
            v.type_name()
        )
    })?;
    let mut b = BackpressureSettings::default();
    for (k, val) in m.iter() {
        let n = match val {
            Value::Number(n) => n.as_i64().and_then(|x| u64::try_from(x).ok()),
            _ => None,
        };
        let Some(n) = n else {
            return Err(format!(
                "engine option backpressure.{k} must be a non-negative integer, got {}",
                crate::json::to_string(val)
            ));
        };
        match k {
            "max_in_flight" => b.max_in_flight = n,
            "max_queue" => b.max_queue = n,
            "queue_timeout_ms" => b.queue_timeout = std::time::Duration::from_millis(n),
            "retry_after_ms" => b.retry_after = std::time::Duration::from_millis(n),
            _ => {
                return Err(format!(
                "unknown member {k:?} in engine option backpressure (max_in_flight, max_queue, queue_timeout_ms, retry_after_ms)"
            ))
            }
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn options(s: &str) -> Result<EngineOptions, ApiError> {
        EngineOptions::from_value(&parse(s.as_bytes()).unwrap())
    }

    #[test]
    fn every_bad_member_is_listed_and_the_first_gives_the_message() {
        let e = options(r#"{"rules_enabld":false,"metrics":"yes","artifact_max_items":0}"#)
            .unwrap_err();
        assert_eq!((e.code, e.status), ("RECSYS_INVALID_OPTIONS", 400));
        assert_eq!(e.message, r#"unknown engine option "rules_enabld""#);
        let got: Vec<(&str, &str)> = e
            .problems
            .iter()
            .map(|p| (p.path.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("$.rules_enabld", r#"unknown engine option "rules_enabld""#),
                (
                    "$.metrics",
                    r#"engine option "metrics" has the wrong type (string)"#
                ),
                (
                    "$.artifact_max_items",
                    r#"engine option "artifact_max_items" has the wrong type (number)"#
                ),
            ]
        );
    }

    #[test]
    fn a_nested_document_keeps_its_own_error_when_it_comes_first() {
        let e = options(r#"{"manifest_template":"no-placeholders"}"#).unwrap_err();
        assert_eq!(e.code, "RECSYS_INVALID_TEMPLATE");
        let e = options(r#"{"metrics":1,"manifest_template":"no-placeholders"}"#).unwrap_err();
        assert_eq!(e.code, "RECSYS_INVALID_OPTIONS");
        assert_eq!(e.problems.len(), 1);
    }

    #[test]
    fn nested_option_messages_are_kept() {
        let e = options(r#"{"backpressure":{"max_inflight":1}}"#).unwrap_err();
        assert!(e.message.contains("max_inflight"), "{}", e.message);
        assert_eq!(e.problems[0].path, "$.backpressure");
        let o = options(r#"{"backpressure":{"max_in_flight":3},"rules_enabled":false}"#).unwrap();
        assert_eq!(o.backpressure.max_in_flight, 3);
        assert!(!o.rules_enabled);
    }
}
