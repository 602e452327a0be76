//! Errors of the control plane, each with a stable code and HTTP status.

use super::store::{StoreError, StoreErrorKind};
use super::DocKind;
use crate::error::{ApiError, ErrorCode, Problem, Refusal};
use crate::json::Value;

/// Why a control-plane operation failed. Nothing was written unless stated otherwise.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// `RECSYS_INVALID_TENANT` (400): the tenant id is empty or not path-safe.
    #[error("tenant_id is required and must be a valid path segment")]
    InvalidTenant { tenant: String },
    /// `RECSYS_FORBIDDEN` (403): another tenant's data, or roles that do not allow it.
    #[error("{message}")]
    Forbidden { message: String },
    /// `RECSYS_INVALID_REQUEST` (400): a malformed op input, limit, comment or surface.
    #[error("{message}")]
    InvalidRequest { message: String },
    /// `RECSYS_INVALID_CONFIG` / `RECSYS_INVALID_RULES`: 400 for an empty or unparseable
    /// payload, 413 for an oversized one, 422 with every problem for an invalid document.
    #[error("{message}")]
    InvalidDocument {
        kind: DocKind,
        refusal: Refusal,
        message: String,
        problems: Vec<Problem>,
    },
    /// `RECSYS_VERSION_MISMATCH` (409): If-Match did not name the current version (or there
    /// is none), or the pointer moved during a conditional write. Carries the current
    /// version so the caller can retry.
    #[error("version mismatch")]
    VersionMismatch {
        kind: DocKind,
        current: Option<String>,
    },
    /// `RECSYS_WRITE_CONFLICT` (409): an unconditional write lost the pointer race more
    /// times than the retry budget allows.
    #[error("{} was changed concurrently {attempts} times; retry", .kind.as_str())]
    WriteConflict {
        kind: DocKind,
        attempts: u32,
        current: Option<String>,
    },
    /// `RECSYS_CONFIG_NOT_FOUND` / `RECSYS_RULES_NOT_FOUND` (404): no current document.
    #[error("tenant {} not found", .kind.as_str())]
    NotFound { kind: DocKind },
    /// `RECSYS_VERSION_NOT_FOUND` (404): a rollback target the tenant never stored.
    #[error("{} version {etag:?} not found", .kind.as_str())]
    VersionNotFound { kind: DocKind, etag: String },
    /// `RECSYS_NO_PREVIOUS_VERSION` (409): rollback to the previous version with only one
    /// version ever current.
    #[error("no previous {} version to roll back to", .kind.as_str())]
    NoPreviousVersion { kind: DocKind },
    /// `RECSYS_INVALID_TARGETS`: 400 when no target is given, 422 for unknown targets.
    #[error("{message}")]
    InvalidTargets {
        refusal: Refusal,
        message: String,
        problems: Vec<Problem>,
    },
    /// `RECSYS_INVALID_CURSOR` (400): a cursor this core did not issue.
    #[error("invalid audit cursor")]
    InvalidCursor,
    /// `RECSYS_STORE_UNAVAILABLE` (503), `RECSYS_STORE_CONFLICT` (409),
    /// `RECSYS_STORE_CORRUPT` (500), `RECSYS_STORE_ERROR` (500).
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl ControlError {
    pub(crate) fn invalid_request(message: impl Into<String>) -> ControlError {
        ControlError::InvalidRequest {
            message: message.into(),
        }
    }

    /// The stable code string.
    pub fn code(&self) -> &'static str {
        self.error_code().code()
    }

    /// The stable code.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ControlError::InvalidTenant { .. } => ErrorCode::InvalidTenant,
            ControlError::Forbidden { .. } => ErrorCode::Forbidden,
            ControlError::InvalidRequest { .. } => ErrorCode::InvalidRequest,
            ControlError::InvalidDocument { kind, .. } => match kind {
                DocKind::Config => ErrorCode::InvalidConfig,
                DocKind::Rules => ErrorCode::InvalidRules,
            },
            ControlError::VersionMismatch { .. } => ErrorCode::VersionMismatch,
            ControlError::WriteConflict { .. } => ErrorCode::WriteConflict,
            ControlError::NotFound { kind } => match kind {
                DocKind::Config => ErrorCode::ConfigNotFound,
                DocKind::Rules => ErrorCode::RulesNotFound,
            },
            ControlError::VersionNotFound { .. } => ErrorCode::VersionNotFound,
            ControlError::NoPreviousVersion { .. } => ErrorCode::NoPreviousVersion,
            ControlError::InvalidTargets { .. } => ErrorCode::InvalidTargets,
            ControlError::InvalidCursor => ErrorCode::InvalidCursor,
            ControlError::Store(e) => match e.kind {
                StoreErrorKind::Unavailable => ErrorCode::StoreUnavailable,
                StoreErrorKind::Conflict => ErrorCode::StoreConflict,
                StoreErrorKind::Corrupt => ErrorCode::StoreCorrupt,
                StoreErrorKind::Other => ErrorCode::StoreError,
            },
        }
    }

    /// How a refused payload failed, for the errors whose status depends on it.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            ControlError::InvalidDocument { refusal, .. }
            | ControlError::InvalidTargets { refusal, .. } => Some(*refusal),
            _ => None,
        }
    }

    /// The HTTP status a host should answer with.
    pub fn status(&self) -> u16 {
        match self.refusal() {
            Some(r) => r.status(),
            None => self.error_code().status(),
        }
    }

    /// The findings behind the error (documents and targets), possibly empty.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ControlError::InvalidDocument { problems, .. }
            | ControlError::InvalidTargets { problems, .. } => problems,
            _ => &[],
        }
    }

    /// The current version carried by version mismatches and write conflicts.
    pub fn current_version(&self) -> Option<Option<&str>> {
        match self {
            ControlError::VersionMismatch { current, .. }
            | ControlError::WriteConflict { current, .. } => Some(current.as_deref()),
            _ => None,
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        let mut api = match e.refusal() {
            Some(how) => ApiError::refused(e.error_code(), how, e.to_string()),
            None => ApiError::new(e.error_code(), e.to_string()),
        }
        .with_problems(e.problems().to_vec());
        if let Some(current) = e.current_version() {
            api = api.with_extra(
                "current_version",
                current.map(Value::str).unwrap_or(Value::Null),
            );
        }
        match &e {
            ControlError::VersionMismatch { kind, .. }
            | ControlError::WriteConflict { kind, .. }
            | ControlError::NoPreviousVersion { kind }
            | ControlError::NotFound { kind } => {
                api = api.with_extra("kind", Value::str(kind.as_str()));
            }
            ControlError::VersionNotFound { kind, etag } => {
                api = api
                    .with_extra("kind", Value::str(kind.as_str()))
                    .with_extra("version", Value::str(etag));
            }
            _ => {}
        }
        api
    }
}
