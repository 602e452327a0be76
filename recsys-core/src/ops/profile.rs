//! The engine-wide profile: salts, secrets, auth, limits, cache TTLs, rules switch,
//! backpressure, exposure and experiments — parsed from JSON and validated with the
//! reference's fail-fast checks (service.md 8) so that a misconfigured production service
//! refuses to start with **every** problem listed.
//!
//! ```json
//! {
//!   "mode": "production",                       // or "development" (default); "prod"/"dev" accepted
//!   "dev_auth_allowed": false,
//!   "salts": {
//!     "exposure": "…" | {"key_id": "2026-01", "value": "…"},
//!     "experiments": "…" | {"key_id", "value"}  // absent → the exposure salt (reference)
//!   },
//!   "secrets": {
//!     "api_keys": "…" | {"key_id", "value"} | [ up to two, primary first ]
//!   },
//!   "api_keys": {"enabled": false},
//!   "exposure": {"enabled": false, "format": "service_v1", "hash_subjects": true},
//!   "experiments": {"enabled": true, "default_variants": ["A", "B"], "definitions": [ … ]},
//!   "rules_enabled": false,
//!   "limits": {"max_body_bytes": 1048576, "max_k": 200, "explain_max_items": 50,
//!              "artifact_max_bytes": 10000000},
//!   "ttls": {"config_cache_ms": 300000, "rules_cache_ms": 300000,
//!            "manifest_cache_ms": 60000, "artifact_cache_ms": 60000},
//!   "backpressure": {"max_in_flight": 0, "max_queue": 0, "queue_timeout_ms": 200,
//!                    "retry_after_ms": 1000},
//!   "rate_limit": {"enabled": true, "capacity": 60, "refill_per_second": 30,
//!                  "retry_after_ms": 1000}
//! }
//! ```
//!
//! Defaults are the reference's. Production checks (any failing one is listed):
//!
//! * exposure logging enabled without an exposure salt (`EXPOSURE_HASH_SALT`);
//! * experiment assignment enabled without an assignment salt (`EXPERIMENT_ASSIGNMENT_SALT`,
//!   defaulting to the exposure salt) — assignment is on by default, as in the reference;
//! * API keys enabled without a hash secret (`API_KEY_HASH_SECRET`);
//! * dev header auth allowed (the reference only makes it exclusive with JWT; we refuse it);
//! * exposure logging with subject hashing off (ours: raw ids must not reach logs).
//!
//! In every mode: invalid experiment definitions, unknown members, wrong types, more than two
//! API-key secrets or duplicate key ids, zero limits. Messages name the field but never
//! echo a secret value.

use crate::error::ErrorCode;
use std::time::Duration;

use crate::error::{ApiError, Problem};
use crate::json::{Map, Value};

use super::apikeys::ApiKeyVerifier;
#[cfg(test)]
use super::backpressure::AdmissionGate;
use super::decode::Reader;
#[cfg(test)]
use super::experiments::Assigner;
use super::experiments::{self, ExperimentDef, VariantDef};
use super::exposure::ExposureFormat;
#[cfg(test)]
use super::exposure::{ExposureEncoder, SubjectHasher};

/// Stable codes.
pub mod codes {
    use crate::error::ErrorCode;
    /// Error code of [`ProfileError`](super::ProfileError) (HTTP 422).
    pub const INVALID_PROFILE: &str = ErrorCode::InvalidProfile.code();
    /// A value outside its allowed set or range.
    pub const BAD_VALUE: &str = ErrorCode::ProfileBadValue.code();
    /// Production: a feature that needs a salt is on and the salt is missing.
    pub const MISSING_SALT: &str = ErrorCode::ProfileMissingSalt.code();
    /// Production: a feature that needs a secret is on and the secret is missing.
    pub const MISSING_SECRET: &str = ErrorCode::ProfileMissingSecret.code();
    /// Production: dev header auth is allowed.
    pub const DEV_AUTH: &str = ErrorCode::ProfileDevAuth.code();
    /// Production: exposure logging would write raw subject ids.
    pub const HASHING_OFF: &str = ErrorCode::ProfileHashingOff.code();
}

/// An invalid profile, with every problem.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProfileError {
    #[error("invalid engine profile: {} problem(s), first: {}", .0.len(), .0.first().map_or("", |p| p.message.as_str()))]
    Invalid(Vec<Problem>),
}

impl ProfileError {
    pub fn code(&self) -> &'static str {
        codes::INVALID_PROFILE
    }
    pub fn problems(&self) -> &[Problem] {
        match self {
            ProfileError::Invalid(p) => p,
        }
    }
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> ApiError {
        let msg = e.to_string();
        let ProfileError::Invalid(p) = e;
        ApiError::new(ErrorCode::InvalidProfile, msg).with_problems(p)
    }
}

/// Production or development.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    Production,
    #[default]
    Development,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Production => "production",
            Mode::Development => "development",
        }
    }
    /// `production`/`prod`, `development`/`dev` (trimmed, ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "production" | "prod" => Some(Mode::Production),
            "development" | "dev" => Some(Mode::Development),
            _ => None,
        }
    }
}

/// A salt or secret with a key id (for rotation). `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret {
    pub key_id: String,
    pub value: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("key_id", &self.key_id)
            .field("set", &!self.is_blank())
            .finish()
    }
}

impl Secret {
    pub fn new(key_id: impl Into<String>, value: impl Into<String>) -> Secret {
        Secret {
            key_id: key_id.into(),
            value: value.into(),
        }
    }
    /// Empty or whitespace only: counts as missing.
    pub fn is_blank(&self) -> bool {
        self.value.trim().is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposureSettings {
    pub enabled: bool,
    pub format: ExposureFormat,
    pub hash_subjects: bool,
}

impl Default for ExposureSettings {
    fn default() -> Self {
        ExposureSettings {
            enabled: false,
            format: ExposureFormat::ServiceV1,
            hash_subjects: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentSettings {
    pub enabled: bool,
    pub default_variants: Vec<VariantDef>,
    pub definitions: Vec<ExperimentDef>,
}

impl Default for ExperimentSettings {
    fn default() -> Self {
        ExperimentSettings {
            enabled: true,
            default_variants: experiments::default_variants(),
            definitions: Vec::new(),
        }
    }
}

/// Engine-wide limits (tenant configs may be stricter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineLimits {
    pub max_body_bytes: u64,
    pub max_k: u64,
    /// 0 = no explain cap.
    pub explain_max_items: u64,
    pub artifact_max_bytes: u64,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            max_body_bytes: 1 << 20,
            max_k: 200,
            explain_max_items: 50,
            artifact_max_bytes: 10_000_000,
        }
    }
}

/// Cache lifetimes; zero disables a cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ttls {
    pub config_cache: Duration,
    pub rules_cache: Duration,
    pub manifest_cache: Duration,
    pub artifact_cache: Duration,
}

impl Default for Ttls {
    fn default() -> Self {
        Ttls {
            config_cache: Duration::from_secs(300),
            rules_cache: Duration::from_secs(300),
            manifest_cache: Duration::from_secs(60),
            artifact_cache: Duration::from_secs(60),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackpressureSettings {
    /// 0 = off.
    pub max_in_flight: u64,
    pub max_queue: u64,
    pub queue_timeout: Duration,
    pub retry_after: Duration,
}

impl Default for BackpressureSettings {
    fn default() -> Self {
        BackpressureSettings {
            max_in_flight: 0,
            max_queue: 0,
            queue_timeout: Duration::from_millis(200),
            retry_after: Duration::from_secs(1),
        }
    }
}

/// Per tenant(+user) token bucket settings (enforced by the host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub capacity: u64,
    pub refill_per_second: u64,
    pub retry_after: Duration,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            enabled: true,
            capacity: 60,
            refill_per_second: 30,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// The engine-wide profile. See the module docs for the JSON shape.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EngineProfile {
    pub mode: Mode,
    pub dev_auth_allowed: bool,
    pub exposure_salt: Option<Secret>,
    pub experiment_salt: Option<Secret>,
    /// Primary first; at most two.
    pub api_key_secrets: Vec<Secret>,
    pub api_keys_enabled: bool,
    pub exposure: ExposureSettings,
    pub experiments: ExperimentSettings,
    pub rules_enabled: bool,
    pub limits: EngineLimits,
    pub ttls: Ttls,
    pub backpressure: BackpressureSettings,
    pub rate_limit: RateLimitSettings,
}

impl EngineProfile {
    /// Parses and validates; the error lists every structural and mode problem.
    pub fn from_value(v: &Value) -> Result<EngineProfile, ProfileError> {
        let (p, mut problems) = EngineProfile::parse(v);
        if let Err(more) = p.validate() {
            for x in more {
                // Parsing already reports some findings (duplicate experiment ids).
                if !problems.contains(&x) {
                    problems.push(x);
                }
            }
        }
        if problems.is_empty() {
            Ok(p)
        } else {
            Err(ProfileError::Invalid(problems))
        }
    }

    /// Parses leniently: the profile read so far (defaults where a value was bad) and the
    /// structural problems found. Run [`EngineProfile::validate`] for the semantic checks.
    pub fn parse(v: &Value) -> (EngineProfile, Vec<Problem>) {
        let mut r = Reader::new(ErrorCode::ProfileWrongType, ErrorCode::ProfileUnknownField);
        let mut p = EngineProfile::default();
        let Some(m) = r.object(Some(v), "$") else {
            if !v.is_null() || r.is_clean() {
                r.wrong("$", "an object", v);
            }
            return (p, r.into_problems());
        };
        r.known(
            m,
            &[
                "mode",
                "dev_auth_allowed",
                "salts",
                "secrets",
                "api_keys",
                "exposure",
                "experiments",
                "rules_enabled",
                "limits",
                "ttls",
                "backpressure",
                "rate_limit",
            ],
            "$",
        );
        read::read_mode_and_secrets(&mut r, m, &mut p);
        read::read_exposure_and_experiments(&mut r, m, &mut p);
        read::read_limits_and_ttls(&mut r, m, &mut p);
        read::read_admission(&mut r, m, &mut p);
        (p, r.into_problems())
    }

    pub fn is_production(&self) -> bool {
        self.mode == Mode::Production
    }

    /// The assignment salt: the experiments salt, else the exposure salt (reference).
    pub fn effective_experiment_salt(&self) -> Option<&Secret> {
        self.experiment_salt
            .as_ref()
            .filter(|s| !s.is_blank())
            .or(self.exposure_salt.as_ref())
    }

    /// Semantic checks, every mode, plus the production fail-fast checks; every problem.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        let mut out = Vec::new();
        let mut bad = |path: &str, code: &'static str, msg: String| {
            out.push(Problem::new(path, code, msg));
        };
        // Any mode.
        if self.api_key_secrets.len() > ApiKeyVerifier::MAX_SECRETS {
            bad(
                "$.secrets.api_keys",
                codes::BAD_VALUE,
                format!(
                    "at most {} api key secrets may be active, got {}",
                    ApiKeyVerifier::MAX_SECRETS,
                    self.api_key_secrets.len()
                ),
            );
        }
        for (i, s) in self.api_key_secrets.iter().enumerate() {
            if self.api_key_secrets[..i]
                .iter()
                .any(|o| o.key_id == s.key_id)
            {
                bad(
                    &format!("$.secrets.api_keys[{i}].key_id"),
                    codes::BAD_VALUE,
                    format!("api key secret id {:?} is used twice", s.key_id),
                );
            }
        }
        for (path, v) in [
            ("$.limits.max_body_bytes", self.limits.max_body_bytes),
            ("$.limits.max_k", self.limits.max_k),
            (
                "$.limits.artifact_max_bytes",
                self.limits.artifact_max_bytes,
            ),
        ] {
            if v == 0 {
                bad(path, codes::BAD_VALUE, format!("{path} must be positive"));
            }
        }
        if self.backpressure.max_queue > 0 && self.backpressure.max_in_flight == 0 {
            bad(
                "$.backpressure.max_queue",
                codes::BAD_VALUE,
                "a backpressure queue needs max_in_flight > 0".to_string(),
            );
        }
        if self.rate_limit.enabled
            && (self.rate_limit.capacity == 0 || self.rate_limit.refill_per_second == 0)
        {
            bad(
                "$.rate_limit",
                codes::BAD_VALUE,
                "an enabled rate limit needs a positive capacity and refill rate".to_string(),
            );
        }
        if self.experiments.default_variants.is_empty() {
            bad(
                "$.experiments.default_variants",
                codes::BAD_VALUE,
                "default variants must not be empty".to_string(),
            );
        }
        for (i, d) in self.experiments.definitions.iter().enumerate() {
            if self.experiments.definitions[..i]
                .iter()
                .any(|o| !d.id.is_empty() && o.id == d.id)
            {
                bad(
                    &format!("$.experiments.definitions[{i}].id"),
                    experiments::codes::DUPLICATE_ID,
                    format!("experiment id {:?} is defined more than once", d.id),
                );
            }
        }
        // Production fail-fast.
        if self.is_production() {
            let blank = |s: Option<&Secret>| s.is_none_or(Secret::is_blank);
            if self.exposure.enabled && blank(self.exposure_salt.as_ref()) {
                bad(
                    "$.salts.exposure",
                    codes::MISSING_SALT,
                    "salts.exposure is required in production when exposure logging is enabled"
                        .to_string(),
                );
            }
            if self.experiments.enabled && blank(self.effective_experiment_salt()) {
                bad(
                    "$.salts.experiments",
                    codes::MISSING_SALT,
                    "salts.experiments (or salts.exposure) is required in production when experiment assignment is enabled"
                        .to_string(),
                );
            }
            if self.api_keys_enabled && self.api_key_secrets.iter().all(Secret::is_blank) {
                bad(
                    "$.secrets.api_keys",
                    codes::MISSING_SECRET,
                    "secrets.api_keys is required in production when api keys are enabled"
                        .to_string(),
                );
            } else if self.api_keys_enabled {
                for (i, s) in self.api_key_secrets.iter().enumerate() {
                    if s.is_blank() {
                        bad(
                            &format!("$.secrets.api_keys[{i}]"),
                            codes::MISSING_SECRET,
                            "api key secrets must not be empty in production".to_string(),
                        );
                    }
                }
            }
            if self.dev_auth_allowed {
                bad(
                    "$.dev_auth_allowed",
                    codes::DEV_AUTH,
                    "dev header auth is not allowed in production".to_string(),
                );
            }
            if self.exposure.enabled && !self.exposure.hash_subjects {
                bad(
                    "$.exposure.hash_subjects",
                    codes::HASHING_OFF,
                    "exposure subjects must be hashed in production".to_string(),
                );
            }
        }
        if out.is_empty() {
            Ok(())
        } else {
            Err(out)
        }
    }

    #[cfg(test)]
    /// The exposure encoder, when exposure logging is enabled.
    pub fn exposure_encoder(&self) -> Option<ExposureEncoder> {
        if !self.exposure.enabled {
            return None;
        }
        if !self.exposure.hash_subjects {
            return Some(ExposureEncoder::raw(self.exposure.format));
        }
        let s = self.exposure_salt.clone().unwrap_or_default();
        Some(ExposureEncoder::new(
            self.exposure.format,
            SubjectHasher::with_key_id(s.key_id, s.value.into_bytes()),
        ))
    }

    #[cfg(test)]
    /// The experiment assigner (disabled when assignment is off; definitions are unique
    /// after a successful validation).
    pub fn assigner(&self) -> Result<Assigner, ApiError> {
        let salt = self
            .effective_experiment_salt()
            .map(|s| s.value.clone().into_bytes())
            .unwrap_or_default();
        Ok(Assigner::new(salt, self.experiments.definitions.clone())?
            .with_default_variants(self.experiments.default_variants.clone())
            .with_enabled(self.experiments.enabled))
    }

    #[cfg(test)]
    /// The API-key verifier, when API keys are enabled.
    pub fn api_key_verifier(&self) -> Result<Option<ApiKeyVerifier>, ApiError> {
        if !self.api_keys_enabled {
            return Ok(None);
        }
        let secrets: Vec<(String, String)> = if self.api_key_secrets.is_empty() {
            vec![(String::new(), String::new())]
        } else {
            self.api_key_secrets
                .iter()
                .map(|s| (s.key_id.clone(), s.value.clone()))
                .collect()
        };
        Ok(Some(ApiKeyVerifier::new(secrets)?))
    }

    #[cfg(test)]
    /// The admission gate (disabled when `max_in_flight` is 0).
    pub fn admission_gate(&self) -> AdmissionGate {
        let b = &self.backpressure;
        AdmissionGate::new(
            usize::try_from(b.max_in_flight).unwrap_or(usize::MAX),
            usize::try_from(b.max_queue).unwrap_or(usize::MAX),
            b.queue_timeout,
        )
        .with_retry_after(b.retry_after)
    }

    /// A redacted summary (no secret values): mode and which features are on.
    pub fn summary(&self) -> Value {
        let mut m = Map::new();
        m.push("mode", Value::str(self.mode.as_str()));
        let mut f = Map::new();
        f.push("exposure", Value::Bool(self.exposure.enabled));
        f.push("experiments", Value::Bool(self.experiments.enabled));
        f.push("api_keys", Value::Bool(self.api_keys_enabled));
        f.push("dev_auth", Value::Bool(self.dev_auth_allowed));
        f.push("rules", Value::Bool(self.rules_enabled));
        f.push(
            "backpressure",
            Value::Bool(self.backpressure.max_in_flight > 0),
        );
        f.push("rate_limit", Value::Bool(self.rate_limit.enabled));
        m.push("features", Value::Object(f));
        if self.exposure.enabled {
            m.push("exposure_format", Value::str(self.exposure.format.as_str()));
        }
        m.push(
            "experiment_definitions",
            Value::u64(self.experiments.definitions.len() as u64),
        );
        let ids: Vec<Value> = self
            .api_key_secrets
            .iter()
            .map(|s| Value::str(&s.key_id))
            .collect();
        m.push("api_key_ids", Value::Array(ids));
        Value::Object(m)
    }
}

/// A salt/secret: a string (key id "") or `{"key_id", "value"}`.
pub(crate) fn secret(r: &mut Reader, v: Option<&Value>, path: &str) -> Option<Secret> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Secret::new("", s.clone())),
        Some(Value::Object(m)) => {
            r.known(m, &["key_id", "value"], path);
            let key_id = r.string(m, "key_id", path).unwrap_or_default();
            let value = r.string(m, "value", path).unwrap_or_default();
            Some(Secret::new(key_id.trim(), value))
        }
        Some(other) => {
            r.wrong(path, "a string or {\"key_id\", \"value\"}", other);
            None
        }
    }
}

/// The sections of [`EngineProfile::parse`], in document order.
mod read {
    use super::*;

    /// `mode`, `dev_auth_allowed`, `rules_enabled`, `salts`, `secrets`, `api_keys`.
    pub(super) fn read_mode_and_secrets(r: &mut Reader, m: &Map, p: &mut EngineProfile) {
        if let Some(s) = r.string(m, "mode", "$") {
            match Mode::parse(&s) {
                Some(mode) => p.mode = mode,
                None => r.problem(
                    "$.mode",
                    codes::BAD_VALUE,
                    format!("mode must be production or development, got {s:?}"),
                ),
            }
        }
        if let Some(b) = r.boolean(m, "dev_auth_allowed", "$") {
            p.dev_auth_allowed = b;
        }
        if let Some(b) = r.boolean(m, "rules_enabled", "$") {
            p.rules_enabled = b;
        }
        if let Some(sm) = r.object(m.get("salts"), "$.salts") {
            r.known(sm, &["exposure", "experiments"], "$.salts");
            p.exposure_salt = secret(r, sm.get("exposure"), "$.salts.exposure");
            p.experiment_salt = secret(r, sm.get("experiments"), "$.salts.experiments");
        }
        if let Some(sm) = r.object(m.get("secrets"), "$.secrets") {
            r.known(sm, &["api_keys"], "$.secrets");
            match sm.get("api_keys") {
                None | Some(Value::Null) => {}
                Some(Value::Array(a)) => {
                    for (i, x) in a.iter().enumerate() {
                        let path = format!("$.secrets.api_keys[{i}]");
                        if let Some(s) = secret(r, Some(x), &path) {
                            p.api_key_secrets.push(s);
                        } else if x.is_null() {
                            r.wrong(&path, "a string or {\"key_id\", \"value\"}", x);
                        }
                    }
                }
                Some(x) => {
                    if let Some(s) = secret(r, Some(x), "$.secrets.api_keys") {
                        p.api_key_secrets.push(s);
                    }
                }
            }
        }
        if let Some(am) = r.object(m.get("api_keys"), "$.api_keys") {
            r.known(am, &["enabled"], "$.api_keys");
            if let Some(b) = r.boolean(am, "enabled", "$.api_keys") {
                p.api_keys_enabled = b;
            }
        }
    }

    /// `exposure` and `experiments`.
    pub(super) fn read_exposure_and_experiments(r: &mut Reader, m: &Map, p: &mut EngineProfile) {
        if let Some(em) = r.object(m.get("exposure"), "$.exposure") {
            let path = "$.exposure";
            r.known(em, &["enabled", "format", "hash_subjects"], path);
            if let Some(b) = r.boolean(em, "enabled", path) {
                p.exposure.enabled = b;
            }
            if let Some(b) = r.boolean(em, "hash_subjects", path) {
                p.exposure.hash_subjects = b;
            }
            if let Some(f) = r.string(em, "format", path) {
                match ExposureFormat::parse(&f) {
                    Some(x) => p.exposure.format = x,
                    None => r.problem(
                        "$.exposure.format",
                        codes::BAD_VALUE,
                        format!("exposure format must be service_v1 or eval_v1, got {f:?}"),
                    ),
                }
            }
        }
        if let Some(xm) = r.object(m.get("experiments"), "$.experiments") {
            let path = "$.experiments";
            r.known(xm, &["enabled", "default_variants", "definitions"], path);
            if let Some(b) = r.boolean(xm, "enabled", path) {
                p.experiments.enabled = b;
            }
            if let Some(v) = xm.get("default_variants") {
                let mut found = Vec::new();
                let vs =
                    experiments::parse_variants_at(v, "$.experiments.default_variants", &mut found);
                r.extend(found);
                if !vs.is_empty() {
                    p.experiments.default_variants = vs;
                }
            }
            if let Some(v) = xm.get("definitions") {
                let mut found = Vec::new();
                p.experiments.definitions =
                    experiments::parse_definitions_at(v, "$.experiments.definitions", &mut found);
                r.extend(found);
            }
        }
    }

    /// `limits` and `ttls`.
    pub(super) fn read_limits_and_ttls(r: &mut Reader, m: &Map, p: &mut EngineProfile) {
        if let Some(lm) = r.object(m.get("limits"), "$.limits") {
            let path = "$.limits";
            let l = &mut p.limits;
            r.known(
                lm,
                &[
                    "max_body_bytes",
                    "max_k",
                    "explain_max_items",
                    "artifact_max_bytes",
                ],
                path,
            );
            for (k, slot) in [
                ("max_body_bytes", &mut l.max_body_bytes),
                ("max_k", &mut l.max_k),
                ("explain_max_items", &mut l.explain_max_items),
                ("artifact_max_bytes", &mut l.artifact_max_bytes),
            ] {
                if let Some(x) = r.uint(lm, k, path) {
                    *slot = x;
                }
            }
        }
        if let Some(tm) = r.object(m.get("ttls"), "$.ttls") {
            let path = "$.ttls";
            let t = &mut p.ttls;
            r.known(
                tm,
                &[
                    "config_cache_ms",
                    "rules_cache_ms",
                    "manifest_cache_ms",
                    "artifact_cache_ms",
                ],
                path,
            );
            for (k, slot) in [
                ("config_cache_ms", &mut t.config_cache),
                ("rules_cache_ms", &mut t.rules_cache),
                ("manifest_cache_ms", &mut t.manifest_cache),
                ("artifact_cache_ms", &mut t.artifact_cache),
            ] {
                if let Some(x) = r.uint(tm, k, path) {
                    *slot = Duration::from_millis(x);
                }
            }
        }
    }

    /// `backpressure` and `rate_limit`.
    pub(super) fn read_admission(r: &mut Reader, m: &Map, p: &mut EngineProfile) {
        if let Some(bm) = r.object(m.get("backpressure"), "$.backpressure") {
            let path = "$.backpressure";
            let b = &mut p.backpressure;
            r.known(
                bm,
                &[
                    "max_in_flight",
                    "max_queue",
                    "queue_timeout_ms",
                    "retry_after_ms",
                ],
                path,
            );
            if let Some(x) = r.uint(bm, "max_in_flight", path) {
                b.max_in_flight = x;
            }
            if let Some(x) = r.uint(bm, "max_queue", path) {
                b.max_queue = x;
            }
            if let Some(x) = r.uint(bm, "queue_timeout_ms", path) {
                b.queue_timeout = Duration::from_millis(x);
            }
            if let Some(x) = r.uint(bm, "retry_after_ms", path) {
                b.retry_after = Duration::from_millis(x);
            }
        }
        if let Some(rm) = r.object(m.get("rate_limit"), "$.rate_limit") {
            let path = "$.rate_limit";
            let rl = &mut p.rate_limit;
            r.known(
                rm,
                &["enabled", "capacity", "refill_per_second", "retry_after_ms"],
                path,
            );
            if let Some(x) = r.boolean(rm, "enabled", path) {
                rl.enabled = x;
            }
            if let Some(x) = r.uint(rm, "capacity", path) {
                rl.capacity = x;
            }
            if let Some(x) = r.uint(rm, "refill_per_second", path) {
                rl.refill_per_second = x;
            }
            if let Some(x) = r.uint(rm, "retry_after_ms", path) {
                rl.retry_after = Duration::from_millis(x);
            }
        }
    }
}
