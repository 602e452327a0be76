//! Errors of manifest / artifact parsing and verification.

use super::model::ArtifactKind;
use crate::error::{ApiError, ErrorCode, Problem};
use crate::json::JsonError;

#[cfg(test)]
/// Top-level code of every parse, validation or hash failure (HTTP 422).
pub const CODE_INCOMPATIBLE: &str = ErrorCode::ArtifactIncompatible.code();
/// Top-level code of size failures (HTTP 413).
pub const CODE_TOO_LARGE: &str = ErrorCode::ArtifactTooLarge.code();

/// Why a manifest or artifact was refused. Every variant has a stable [`code()`](Self::code)
/// and, where one exists, the JSON [`path()`](Self::path) of the offending member.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ArtifactError {
    /// The bytes are not one well-formed JSON document (or break the depth bound).
    #[error("invalid json: {0}")]
    Json(JsonError),
    /// The document is bigger than `ArtifactLimits::max_bytes`.
    #[error("document is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    /// `v` is not 1.
    #[error("unsupported version {v} at $.v, expected 1")]
    UnsupportedVersion { v: i64 },
    /// `artifact_type` differs from the kind the caller expects.
    #[error("artifact_type {} does not match the expected {}", quote(found), quote(expected.as_str()))]
    KindMismatch {
        expected: ArtifactKind,
        found: String,
    },
    /// `artifact_type` is not one of the five types (and no kind was expected).
    #[error("unknown artifact_type {}", quote(found))]
    UnknownKind { found: String },
    /// A required member is missing, `null` or empty.
    #[error("missing or empty required member {path}")]
    MissingField { path: String },
    /// A member has the wrong JSON type (or a number that does not fit the Go field type).
    #[error("{path}: cannot decode {found} as {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: String,
    },
    /// A window bound does not parse as RFC 3339, or `end <= start`.
    #[error("{path}: {detail}")]
    InvalidWindow { path: String, detail: String },
    /// A timestamp (manifest `updated_at`) does not parse as RFC 3339.
    #[error("{path}: {} is not an rfc 3339 timestamp", quote(value))]
    InvalidTimestamp { path: String, value: String },
    /// An item or user id is empty.
    #[error("{path}: id is empty")]
    EmptyId { path: String },
    /// A count is negative.
    #[error("{path}: count {count} is negative")]
    NegativeCount { path: String, count: i64 },
    /// A score is negative.
    #[error("{path}: score {score} is negative")]
    NegativeScore { path: String, score: f64 },
    /// An array has more entries than the configured limit.
    #[error("{path}: {found} entries, more than the limit of {limit} {what}")]
    LimitExceeded {
        path: String,
        what: &'static str,
        limit: usize,
        found: usize,
    },
    /// The recomputed version hash differs from `build.version`.
    #[error(
        "version hash mismatch: computed {computed}, declared {}",
        quote(declared)
    )]
    HashMismatch { computed: String, declared: String },
    /// The verified version differs from the expected one (e.g. the URI file stem).
    #[error(
        "version {} does not match the expected {}",
        quote(found),
        quote(expected)
    )]
    VersionMismatch { expected: String, found: String },
    /// The document's tenant differs from the requested one.
    #[error(
        "tenant {} does not match the expected {}",
        quote(found),
        quote(expected)
    )]
    TenantMismatch { expected: String, found: String },
    /// The document's surface differs from the requested one.
    #[error(
        "surface {} does not match the expected {}",
        quote(found),
        quote(expected)
    )]
    SurfaceMismatch { expected: String, found: String },
}

impl ArtifactError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ArtifactError::Json(_) => "RECSYS_ARTIFACT_INVALID_JSON",
            ArtifactError::TooLarge { .. } => CODE_TOO_LARGE,
            ArtifactError::UnsupportedVersion { .. } => "RECSYS_ARTIFACT_UNSUPPORTED_VERSION",
            ArtifactError::KindMismatch { .. } => "RECSYS_ARTIFACT_KIND_MISMATCH",
            ArtifactError::UnknownKind { .. } => "RECSYS_ARTIFACT_UNKNOWN_KIND",
            ArtifactError::MissingField { .. } => "RECSYS_ARTIFACT_MISSING_FIELD",
            ArtifactError::WrongType { .. } => "RECSYS_ARTIFACT_WRONG_TYPE",
            ArtifactError::InvalidWindow { .. } => "RECSYS_ARTIFACT_INVALID_WINDOW",
            ArtifactError::InvalidTimestamp { .. } => "RECSYS_ARTIFACT_INVALID_TIMESTAMP",
            ArtifactError::EmptyId { .. } => "RECSYS_ARTIFACT_EMPTY_ID",
            ArtifactError::NegativeCount { .. } => "RECSYS_ARTIFACT_NEGATIVE_COUNT",
            ArtifactError::NegativeScore { .. } => "RECSYS_ARTIFACT_NEGATIVE_SCORE",
            ArtifactError::LimitExceeded { .. } => "RECSYS_ARTIFACT_LIMIT_EXCEEDED",
            ArtifactError::HashMismatch { .. } => "RECSYS_ARTIFACT_HASH_MISMATCH",
            ArtifactError::VersionMismatch { .. } => "RECSYS_ARTIFACT_VERSION_MISMATCH",
            ArtifactError::TenantMismatch { .. } => "RECSYS_ARTIFACT_TENANT_MISMATCH",
            ArtifactError::SurfaceMismatch { .. } => "RECSYS_ARTIFACT_SURFACE_MISMATCH",
        }
    }

    /// JSON path of the offending member (`$.items[3].count`), when there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ArtifactError::Json(e) => Some(if e.path.is_empty() {
                "$"
            } else {
                e.path.as_str()
            }),
            ArtifactError::TooLarge { .. } => None,
            ArtifactError::UnsupportedVersion { .. } => Some("$.v"),
            ArtifactError::KindMismatch { .. } | ArtifactError::UnknownKind { .. } => {
                Some("$.artifact_type")
            }
            ArtifactError::MissingField { path }
            | ArtifactError::WrongType { path, .. }
            | ArtifactError::InvalidWindow { path, .. }
            | ArtifactError::InvalidTimestamp { path, .. }
            | ArtifactError::EmptyId { path }
            | ArtifactError::NegativeCount { path, .. }
            | ArtifactError::NegativeScore { path, .. }
            | ArtifactError::LimitExceeded { path, .. } => Some(path),
            ArtifactError::HashMismatch { .. } => Some("$.build.version"),
            ArtifactError::VersionMismatch { .. } => Some("$.build.version"),
            ArtifactError::TenantMismatch { .. } => Some("$.tenant"),
            ArtifactError::SurfaceMismatch { .. } => Some("$.surface"),
        }
    }

    /// True for size failures (`TooLarge`, `LimitExceeded`), which map to HTTP 413.
    pub fn is_size_error(&self) -> bool {
        matches!(
            self,
            ArtifactError::TooLarge { .. } | ArtifactError::LimitExceeded { .. }
        )
    }

    /// The top-level code: `RECSYS_ARTIFACT_TOO_LARGE` for size failures,
    /// `RECSYS_ARTIFACT_INCOMPATIBLE` otherwise.
    pub fn top_code(&self) -> ErrorCode {
        if self.is_size_error() {
            ErrorCode::ArtifactTooLarge
        } else {
            ErrorCode::ArtifactIncompatible
        }
    }

    /// HTTP status a host should answer with: 413 for size failures, 422 otherwise.
    pub fn status(&self) -> u16 {
        self.top_code().status()
    }
}

impl From<JsonError> for ArtifactError {
    fn from(e: JsonError) -> ArtifactError {
        ArtifactError::Json(e)
    }
}

/// `RECSYS_ARTIFACT_INCOMPATIBLE` (422) for parse, validation and hash failures,
/// `RECSYS_ARTIFACT_TOO_LARGE` (413) for size failures. The specific code and the path go into
/// `problems[0]`.
impl From<ArtifactError> for ApiError {
    fn from(e: ArtifactError) -> ApiError {
        let detail = e.to_string();
        let problem = Problem::new(e.path().unwrap_or("$"), e.code(), detail.clone());
        let message = if e.is_size_error() {
            format!("artifact too large: {detail}")
        } else {
            format!("artifact incompatible: {detail}")
        };
        ApiError::new(e.top_code(), message).with_problems(vec![problem])
    }
}

/// JSON-quotes user input for messages, cut to a readable length.
pub(crate) fn quote(s: &str) -> String {
    const MAX_CHARS: usize = 120;
    let mut out = String::with_capacity(s.len().min(MAX_CHARS * 4) + 5);
    match s.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => {
            crate::json::write_go_string(&mut out, s.get(..cut).unwrap_or(""));
            out.push_str("...");
        }
        None => crate::json::write_go_string(&mut out, s),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_and_truncates() {
        assert_eq!(quote("a\"b<"), r#""a\"b\u003c""#);
        let long = "x".repeat(500);
        let q = quote(&long);
        assert!(q.ends_with("\"..."));
        assert_eq!(q.len(), 120 + 2 + 3);
    }

    #[test]
    fn api_error_mapping() {
        let e = ArtifactError::NegativeCount {
            path: "$.items[0].count".into(),
            count: -1,
        };
        let api: ApiError = e.into();
        assert_eq!(api.code, CODE_INCOMPATIBLE);
        assert_eq!(api.status, 422);
        assert_eq!(api.problems[0].code, "RECSYS_ARTIFACT_NEGATIVE_COUNT");
        assert_eq!(api.problems[0].path, "$.items[0].count");

        let api: ApiError = ArtifactError::TooLarge {
            size: 11,
            limit: 10,
        }
        .into();
        assert_eq!((api.code, api.status), (CODE_TOO_LARGE, 413));
        assert_eq!(api.problems[0].code, CODE_TOO_LARGE);
        assert_eq!(api.problems[0].path, "$");

        let e = ArtifactError::LimitExceeded {
            path: "$.users".into(),
            what: "users",
            limit: 1,
            found: 2,
        };
        let api: ApiError = e.into();
        assert_eq!((api.code, api.status), (CODE_TOO_LARGE, 413));
        assert_eq!(api.problems[0].code, "RECSYS_ARTIFACT_LIMIT_EXCEEDED");

        let api: ApiError = ArtifactError::HashMismatch {
            computed: "a".into(),
            declared: "b".into(),
        }
        .into();
        assert_eq!(api.problems[0].code, "RECSYS_ARTIFACT_HASH_MISMATCH");
        assert_eq!(api.problems[0].path, "$.build.version");
        assert!(api.message.starts_with("artifact incompatible: "));
    }

    #[test]
    fn messages_are_lowercase_and_quote_input() {
        let e = ArtifactError::KindMismatch {
            expected: ArtifactKind::Popularity,
            found: "Cooc".into(),
        };
        assert_eq!(
            e.to_string(),
            r#"artifact_type "Cooc" does not match the expected "popularity""#
        );
        let e = ArtifactError::TenantMismatch {
            expected: "demo".into(),
            found: "other".into(),
        };
        assert_eq!(
            e.to_string(),
            r#"tenant "other" does not match the expected "demo""#
        );
    }
}
