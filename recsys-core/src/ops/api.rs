//! Static JSON operations over the ops modules, for bindings and the conformance corpus.
//!
//! * `assign` — `{"experiment_id", "salt"?: "" , "variant"?, "subject"? | "user"?: {"user_id"?,
//!   "anonymous_id"?, "session_id"?}, "surface"?, "now"?: RFC 3339, "definitions"?: [def],
//!   "default_variants"?: [variant], "enabled"?: true}` → `{"experiment_id", "variant"?,
//!   "bucket"?, "variant_hash"?, "in_traffic", "holdout", "reason"}`; with no experiment id
//!   the answer is `null`. `subject` is used as is (trimmed); `user` picks the subject as the
//!   reference does. `now` is required when the applicable definition has a time window.
//! * `exposure_event` — `{"format"?: "service_v1", "salt"?: "", "key_id"?: "",
//!   "hash_subjects"?: true, "event": {...}}` (see
//!   [`ExposureEvent::from_value`](super::exposure::ExposureEvent::from_value)) → the event.
//! * `api_key_hash` — `{"secret"?: "", "key"}` → `{"hash"}`.
//! * `api_key_verify` — `{"secrets": [secret, secret?] | "secret": secret, "key", "hash"}`
//!   where a secret is a string or `{"key_id", "value"}` → `{"valid": true, "key_id",
//!   "rotated"}`, or the error `RECSYS_AUTH_INVALID` (401).
//! * `validate_profile` — an [`EngineProfile`] document →
//!   `{"valid": true, "summary": {...}}`, or `RECSYS_INVALID_PROFILE` (422) listing every
//!   problem.
//!
//! Malformed inputs answer `RECSYS_INVALID_REQUEST` (400) with every problem.

use crate::error::ErrorCode;
use crate::error::{ApiError, Problem};
use crate::json::{self, Map, Value};
use crate::request::User;
use crate::time::Timestamp;

use super::apikeys::{hash_api_key, ApiKeyVerifier};
use super::decode::Reader;
use super::experiments::{self, Assigner};
use super::exposure::{ExposureEvent, ExposureFormat, SubjectHasher, SubjectMode};
use super::profile::{secret, EngineProfile};

/// The operations [`call_static`] answers.
pub const OPS: &[&str] = &[
    "assign",
    "exposure_event",
    "api_key_hash",
    "api_key_verify",
    "validate_profile",
];

const INVALID_REQUEST: &str = ErrorCode::InvalidRequest.code();

/// Runs an ops operation; `None` when `op` is not one of [`OPS`].
pub fn call_static(op: &str, input: &Value) -> Option<Result<Value, ApiError>> {
    Some(match op {
        "assign" => assign_op(input),
        "exposure_event" => exposure_op(input),
        "api_key_hash" => api_key_hash_op(input),
        "api_key_verify" => api_key_verify_op(input),
        "validate_profile" => EngineProfile::from_value(input)
            .map(|p| {
                let mut m = Map::with_capacity(2);
                m.push("valid", Value::Bool(true));
                m.push("summary", p.summary());
                Value::Object(m)
            })
            .map_err(ApiError::from),
        _ => return None,
    })
}

/// [`call_static`] over JSON text.
pub fn call_static_json(op: &str, input: &str) -> Option<Result<String, ApiError>> {
    if !OPS.contains(&op) {
        return None;
    }
    let v = match json::parse(input.as_bytes()) {
        Ok(v) => v,
        Err(e) => return Some(Err(e.into())),
    };
    call_static(op, &v).map(|r| r.map(|a| json::to_string(&a)))
}

fn invalid(problems: Vec<Problem>) -> ApiError {
    let msg = problems
        .first()
        .map_or_else(|| "invalid input".to_string(), |p| p.message.clone());
    ApiError::new(ErrorCode::InvalidRequest, msg).with_problems(problems)
}

fn root<'v>(r: &mut Reader, input: &'v Value) -> Option<&'v Map> {
    let m = r.object(Some(input), "$");
    if m.is_none() && r.is_clean() {
        r.wrong("$", "an object", input);
    }
    m
}

fn assign_op(input: &Value) -> Result<Value, ApiError> {
    let mut r = Reader::new(ErrorCode::InvalidRequest, ErrorCode::InvalidRequest);
    let Some(m) = root(&mut r, input) else {
        return Err(invalid(r.into_problems()));
    };
    r.known(
        m,
        &[
            "experiment_id",
            "salt",
            "variant",
            "subject",
            "user",
            "surface",
            "now",
            "definitions",
            "default_variants",
            "enabled",
        ],
        "$",
    );
    let id = r.string(m, "experiment_id", "$").unwrap_or_default();
    let salt = r.string(m, "salt", "$").unwrap_or_default();
    let variant = r.string(m, "variant", "$").unwrap_or_default();
    let surface = r.string(m, "surface", "$").unwrap_or_default();
    let enabled = r.boolean(m, "enabled", "$").unwrap_or(true);
    let mut user = User::default();
    let subject = r.string(m, "subject", "$");
    if let Some(um) = r.object(m.get("user"), "$.user") {
        if subject.is_some() {
            r.problem(
                "$.user",
                INVALID_REQUEST,
                "give either subject or user, not both",
            );
        }
        r.known(um, &["user_id", "anonymous_id", "session_id"], "$.user");
        user.user_id = r.string(um, "user_id", "$.user").unwrap_or_default();
        user.anonymous_id = r.string(um, "anonymous_id", "$.user").unwrap_or_default();
        user.session_id = r.string(um, "session_id", "$.user").unwrap_or_default();
    }
    if let Some(s) = subject {
        user.user_id = s;
    }
    let now = match r.string(m, "now", "$") {
        Some(s) => match Timestamp::parse_rfc3339(s.trim()) {
            Some(t) => Some(t),
            None => {
                r.problem(
                    "$.now",
                    INVALID_REQUEST,
                    format!("now must be an RFC 3339 timestamp, got {s:?}"),
                );
                None
            }
        },
        None => None,
    };
    let mut domain = Vec::new();
    let defs = match m.get("definitions") {
        Some(v) => experiments::parse_definitions_at(v, "$.definitions", &mut domain),
        None => Vec::new(),
    };
    let defaults = match m.get("default_variants") {
        Some(v) => experiments::parse_variants_at(v, "$.default_variants", &mut domain),
        None => Vec::new(),
    };
    if !domain.is_empty() {
        return Err(experiments::ExperimentError::Invalid(domain).into());
    }
    let assigner = Assigner::new(salt.into_bytes(), defs)?
        .with_default_variants(defaults)
        .with_enabled(enabled);
    let windowed = assigner
        .definition(id.trim())
        .is_some_and(|d| d.starts_at.is_some() || d.ends_at.is_some());
    if windowed && now.is_none() {
        r.problem(
            "$.now",
            INVALID_REQUEST,
            "now is required: the experiment has a time window (the core has no clock)",
        );
    }
    if !r.is_clean() {
        return Err(invalid(r.into_problems()));
    }
    Ok(assigner
        .assign(&id, &variant, &surface, &user, now.unwrap_or_default())
        .map_or(Value::Null, |a| a.to_value()))
}

fn exposure_op(input: &Value) -> Result<Value, ApiError> {
    let mut r = Reader::new(ErrorCode::InvalidRequest, ErrorCode::InvalidRequest);
    let Some(m) = root(&mut r, input) else {
        return Err(invalid(r.into_problems()));
    };
    r.known(
        m,
        &["format", "salt", "key_id", "hash_subjects", "event"],
        "$",
    );
    let format = match r.string(m, "format", "$") {
        None => ExposureFormat::ServiceV1,
        Some(f) => ExposureFormat::parse(&f).unwrap_or_else(|| {
            r.problem(
                "$.format",
                INVALID_REQUEST,
                format!("format must be service_v1 or eval_v1, got {f:?}"),
            );
            ExposureFormat::ServiceV1
        }),
    };
    let salt = r.string(m, "salt", "$").unwrap_or_default();
    let key_id = r.string(m, "key_id", "$").unwrap_or_default();
    let hashed = r.boolean(m, "hash_subjects", "$").unwrap_or(true);
    let event = match m.get("event") {
        Some(v) => match ExposureEvent::from_value(v) {
            Ok(e) => Some(e),
            Err(p) => {
                r.extend(p);
                None
            }
        },
        None => {
            r.problem("$.event", INVALID_REQUEST, "event is required");
            None
        }
    };
    let (Some(event), true) = (event, r.is_clean()) else {
        return Err(invalid(r.into_problems()));
    };
    let mode = if hashed {
        SubjectMode::Hashed(SubjectHasher::with_key_id(key_id, salt.into_bytes()))
    } else {
        SubjectMode::Raw
    };
    Ok(event.encode(format, &mode)?)
}

fn api_key_hash_op(input: &Value) -> Result<Value, ApiError> {
    let mut r = Reader::new(ErrorCode::InvalidRequest, ErrorCode::InvalidRequest);
    let Some(m) = root(&mut r, input) else {
        return Err(invalid(r.into_problems()));
    };
    r.known(m, &["secret", "key"], "$");
    let secret = r.string(m, "secret", "$").unwrap_or_default();
    let key = r.string(m, "key", "$");
    if key.is_none() {
        r.problem("$.key", INVALID_REQUEST, "key is required");
    }
    match key {
        Some(k) if r.is_clean() => {
            let mut out = Map::with_capacity(1);
            out.push("hash", Value::String(hash_api_key(&secret, &k)));
            Ok(Value::Object(out))
        }
        _ => Err(invalid(r.into_problems())),
    }
}

fn api_key_verify_op(input: &Value) -> Result<Value, ApiError> {
    let mut r = Reader::new(ErrorCode::InvalidRequest, ErrorCode::InvalidRequest);
    let Some(m) = root(&mut r, input) else {
        return Err(invalid(r.into_problems()));
    };
    r.known(m, &["secret", "secrets", "key", "hash"], "$");
    let mut secrets = Vec::new();
    match (m.get("secret"), m.get("secrets")) {
        (Some(_), Some(_)) => r.problem(
            "$.secrets",
            INVALID_REQUEST,
            "give either secret or secrets, not both",
        ),
        (Some(s), None) => secrets.extend(secret(&mut r, Some(s), "$.secret")),
        (None, Some(Value::Array(a))) => {
            for (i, s) in a.iter().enumerate() {
                secrets.extend(secret(&mut r, Some(s), &format!("$.secrets[{i}]")));
            }
        }
        (None, Some(other)) => r.wrong("$.secrets", "an array", other),
        (None, None) => r.problem("$.secrets", INVALID_REQUEST, "secrets are required"),
    }
    let key = r.string(m, "key", "$").unwrap_or_default();
    let hash = r.string(m, "hash", "$");
    if hash.is_none() {
        r.problem("$.hash", INVALID_REQUEST, "hash is required");
    }
    if !r.is_clean() {
        return Err(invalid(r.into_problems()));
    }
    let verifier = ApiKeyVerifier::new(
        secrets
            .into_iter()
            .map(|s| (s.key_id, s.value))
            .collect::<Vec<_>>(),
    )?;
    let found = verifier.verify(&key, hash.as_deref().unwrap_or(""))?;
    let mut out = Map::with_capacity(3);
    out.push("valid", Value::Bool(true));
    out.push("key_id", Value::String(found.key_id));
    out.push("rotated", Value::Bool(found.rotated));
    Ok(Value::Object(out))
}
