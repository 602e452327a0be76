//! Errors of the rules document layer and the stable codes of its findings.

use crate::error::{ApiError, ErrorCode, Problem, Refusal};
use crate::json::{JsonError, JsonErrorKind};

/// Stable codes of the findings reported by [`parse_rules`](super::parse_rules), as
/// [`Problem::code`]. Whether a finding drops the rule, fails strict parsing or is only a
/// warning is stated per code.
pub mod codes {
    use crate::error::ErrorCode;
    /// The payload (or the value of a `rules`/`items`/`data` envelope member) is neither an
    /// object nor an array. Strict: error (`rules payload must be a json object or array`).
    /// Lenient: no rules from it (a warning, except for a top-level `null`).
    pub const NOT_CONTAINER: &str = ErrorCode::RulesNotContainer.code();
    /// An object has a `rules`/`items`/`data` member and also rule keys such as `action`; it
    /// is read as an envelope, not as a rule. Strict: error. Lenient: warning.
    pub const AMBIGUOUS_ENVELOPE: &str = ErrorCode::RulesAmbiguousEnvelope.code();
    /// An element of the rule list is not a JSON object. The element is dropped.
    pub const NOT_OBJECT: &str = ErrorCode::RuleNotObject.code();
    /// No `action`/`rule_action`/`operation`. The rule is dropped.
    pub const MISSING_ACTION: &str = ErrorCode::RuleMissingAction.code();
    /// The action is not a known action or synonym. The rule is dropped.
    pub const UNKNOWN_ACTION: &str = ErrorCode::RuleUnknownAction.code();
    /// The target type is not a known type or synonym. The rule is dropped (the reference
    /// evaluator never matches such a rule).
    pub const UNKNOWN_TARGET_TYPE: &str = ErrorCode::RuleUnknownTargetType.code();
    /// No usable target: no type and no item ids, an ITEM rule without ids or key, or a
    /// TAG/BRAND/CATEGORY rule with a blank key. The rule is dropped.
    pub const MISSING_TARGET: &str = ErrorCode::RuleMissingTarget.code();
    /// An ITEM rule lists more distinct ids than `max_item_ids_per_rule`. The rule is dropped.
    pub const TOO_MANY_ITEM_IDS: &str = ErrorCode::RuleTooManyItemIds.code();
    /// A value has the wrong JSON type or is not a recognised boolean. Strict: error.
    /// Lenient: the value is ignored (warning).
    pub const WRONG_TYPE: &str = ErrorCode::RuleWrongType.code();
    /// A number is unparseable, out of range or not finite (`priority`, `boost_value`,
    /// `max_pins`). Strict: error. Lenient: the value is ignored (warning).
    pub const BAD_NUMBER: &str = ErrorCode::RuleBadNumber.code();
    /// A time value is neither RFC 3339, `YYYY-MM-DD` nor a Unix number. Strict: error.
    /// Lenient: that bound is ignored (warning), as the reference does.
    pub const BAD_TIME: &str = ErrorCode::RuleBadTime.code();
    /// `valid_until <= valid_from`: the rule can never apply. Strict: error. Lenient: the rule
    /// is kept (it never applies) with a warning.
    pub const EMPTY_WINDOW: &str = ErrorCode::RuleEmptyWindow.code();
    /// `manual_override_id` is not a UUID. Strict: error. Lenient: ignored (warning).
    pub const BAD_UUID: &str = ErrorCode::RuleBadUuid.code();
    /// A BOOST rule has no boost value, so it would do nothing. Strict: error. Lenient: the
    /// rule is kept (a no-op) with a warning.
    pub const MISSING_BOOST_VALUE: &str = ErrorCode::RuleMissingBoostValue.code();
    /// Warning: the rule is disabled; it is kept but never applies.
    pub const DISABLED: &str = ErrorCode::RuleDisabled.code();
    /// Warning: a key the rule format does not know (possibly a typo); it is ignored.
    pub const UNKNOWN_KEY: &str = ErrorCode::RuleUnknownKey.code();
    /// Warning: a known key that has no effect here (a later alias shadowed by an earlier
    /// one, `boost_value` on a non-BOOST rule, item ids on a TAG rule, `org_id`, ...).
    pub const IGNORED_FIELD: &str = ErrorCode::RuleIgnoredField.code();
    /// Warning: a key appears more than once in a rule object; the last one is used.
    pub const DUPLICATE_KEY: &str = ErrorCode::RuleDuplicateKey.code();
    /// Warning: the given rule id is not a UUID; a stable id was derived from the content.
    pub const ID_NOT_UUID: &str = ErrorCode::RuleIdNotUuid.code();
    /// Warning: two rules have the same id (given, or derived from identical content).
    pub const DUPLICATE_ID: &str = ErrorCode::RuleDuplicateId.code();
}

#[cfg(test)]
/// Every finding code [`parse_rules`](super::parse_rules) can report (see [`codes`]).
pub const PROBLEM_CODES: &[&str] = &[
    codes::NOT_CONTAINER,
    codes::AMBIGUOUS_ENVELOPE,
    codes::NOT_OBJECT,
    codes::MISSING_ACTION,
    codes::UNKNOWN_ACTION,
    codes::UNKNOWN_TARGET_TYPE,
    codes::MISSING_TARGET,
    codes::TOO_MANY_ITEM_IDS,
    codes::WRONG_TYPE,
    codes::BAD_NUMBER,
    codes::BAD_TIME,
    codes::EMPTY_WINDOW,
    codes::BAD_UUID,
    codes::MISSING_BOOST_VALUE,
    codes::DISABLED,
    codes::UNKNOWN_KEY,
    codes::IGNORED_FIELD,
    codes::DUPLICATE_KEY,
    codes::ID_NOT_UUID,
    codes::DUPLICATE_ID,
];

/// Code of [`RulesError::TooMany`].
pub const RULES_TOO_MANY: &str = ErrorCode::RulesTooMany.code();

/// Why a rules document was rejected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// Strict mode: the payload is empty or only whitespace.
    #[error("rules payload is required")]
    Empty,
    /// The payload is not valid JSON or exceeds the JSON limits (both modes).
    #[error("rules payload must be valid json: {0}")]
    Json(JsonError),
    /// The rule list is longer than `max_rules` (both modes).
    #[error("rules payload has {count} rules, more than the limit of {max}")]
    TooMany { count: usize, max: usize },
    /// Strict mode: every problem found in the document.
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<Problem>),
}

fn invalid_message(problems: &[Problem]) -> String {
    match problems {
        [] => "rules payload is invalid".to_string(),
        [p] => p.message.clone(),
        [p, rest @ ..] => format!(
            "rules payload has {} problems; first at {}: {}",
            rest.len() + 1,
            p.path,
            p.message
        ),
    }
}

impl RulesError {
    /// The stable code: [`INVALID_RULES`] for validation failures and empty payloads, the JSON
    /// layer's code for JSON errors, [`RULES_TOO_MANY`] for the rule-count limit.
    pub fn code(&self) -> &'static str {
        self.error_code().code()
    }

    /// The stable code (see [`RulesError::code`]).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            RulesError::Empty | RulesError::Invalid(_) => ErrorCode::InvalidRules,
            RulesError::Json(e) => e.kind.error_code(),
            RulesError::TooMany { .. } => ErrorCode::RulesTooMany,
        }
    }

    /// How the payload was refused: empty or unparseable, too large, or invalid.
    pub fn refusal(&self) -> Refusal {
        match self {
            RulesError::Empty => Refusal::Malformed,
            RulesError::Json(e) if e.kind == JsonErrorKind::TooLarge => Refusal::TooLarge,
            RulesError::Json(_) => Refusal::Malformed,
            RulesError::TooMany { .. } | RulesError::Invalid(_) => Refusal::Invalid,
        }
    }

    /// The HTTP status a host should answer with.
    pub fn status(&self) -> u16 {
        self.refusal().status()
    }

    /// The findings behind the error (empty for [`RulesError::Empty`] and
    /// [`RulesError::TooMany`]).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            RulesError::Invalid(p) => p.clone(),
            RulesError::Json(e) => {
                let path = if e.path.is_empty() {
                    "$".to_string()
                } else {
                    e.path.clone()
                };
                vec![Problem::new(path, e.code(), e.message.clone())]
            }
            RulesError::Empty | RulesError::TooMany { .. } => Vec::new(),
        }
    }
}

impl From<JsonError> for RulesError {
    fn from(e: JsonError) -> RulesError {
        RulesError::Json(e)
    }
}

impl From<RulesError> for ApiError {
    fn from(e: RulesError) -> ApiError {
        let api = ApiError::refused(e.error_code(), e.refusal(), e.to_string())
            .with_problems(e.problems());
        match e {
            RulesError::TooMany { count, max } => api
                .with_extra("count", crate::json::Value::u64(count as u64))
                .with_extra("max", crate::json::Value::u64(max as u64)),
            _ => api,
        }
    }
}
