//! Errors of the rules document layer and the stable codes of its findings.

use crate::error::{ApiError, Problem};
use crate::json::{JsonError, JsonErrorKind};

/// Stable codes of the findings reported by [`parse_rules`](super::parse_rules), as
/// [`Problem::code`]. Whether a finding drops the rule, fails strict parsing or is only a
/// warning is stated per code.
pub mod codes {
    /// The payload (or the value of a `rules`/`items`/`data` envelope member) is neither an
    /// object nor an array. Strict: error (`rules payload must be a json object or array`).
    /// Lenient: no rules from it (a warning, except for a top-level `null`).
    pub const NOT_CONTAINER: &str = "RECSYS_RULES_NOT_CONTAINER";
    /// An object has a `rules`/`items`/`data` member and also rule keys such as `action`; it
    /// is read as an envelope, not as a rule. Strict: error. Lenient: warning.
    pub const AMBIGUOUS_ENVELOPE: &str = "RECSYS_RULES_AMBIGUOUS_ENVELOPE";
    /// An element of the rule list is not a JSON object. The element is dropped.
    pub const NOT_OBJECT: &str = "RECSYS_RULE_NOT_OBJECT";
    /// No `action`/`rule_action`/`operation`. The rule is dropped.
    pub const MISSING_ACTION: &str = "RECSYS_RULE_MISSING_ACTION";
    /// The action is not a known action or synonym. The rule is dropped.
    pub const UNKNOWN_ACTION: &str = "RECSYS_RULE_UNKNOWN_ACTION";
    /// The target type is not a known type or synonym. The rule is dropped (the reference
    /// evaluator never matches such a rule).
    pub const UNKNOWN_TARGET_TYPE: &str = "RECSYS_RULE_UNKNOWN_TARGET_TYPE";
    /// No usable target: no type and no item ids, an ITEM rule without ids or key, or a
    /// TAG/BRAND/CATEGORY rule with a blank key. The rule is dropped.
    pub const MISSING_TARGET: &str = "RECSYS_RULE_MISSING_TARGET";
    /// An ITEM rule lists more distinct ids than `max_item_ids_per_rule`. The rule is dropped.
    pub const TOO_MANY_ITEM_IDS: &str = "RECSYS_RULE_TOO_MANY_ITEM_IDS";
    /// A value has the wrong JSON type or is not a recognised boolean. Strict: error.
    /// Lenient: the value is ignored (warning).
    pub const WRONG_TYPE: &str = "RECSYS_RULE_WRONG_TYPE";
    /// A number is unparseable, out of range or not finite (`priority`, `boost_value`,
    /// `max_pins`). Strict: error. Lenient: the value is ignored (warning).
    pub const BAD_NUMBER: &str = "RECSYS_RULE_BAD_NUMBER";
    /// A time value is neither RFC 3339, `YYYY-MM-DD` nor a Unix number. Strict: error.
    /// Lenient: that bound is ignored (warning), as the reference does.
    pub const BAD_TIME: &str = "RECSYS_RULE_BAD_TIME";
    /// `valid_until <= valid_from`: the rule can never apply. Strict: error. Lenient: the rule
    /// is kept (it never applies) with a warning.
    pub const EMPTY_WINDOW: &str = "RECSYS_RULE_EMPTY_WINDOW";
    /// `manual_override_id` is not a UUID. Strict: error. Lenient: ignored (warning).
    pub const BAD_UUID: &str = "RECSYS_RULE_BAD_UUID";
    /// A BOOST rule has no boost value, so it would do nothing. Strict: error. Lenient: the
    /// rule is kept (a no-op) with a warning.
    pub const MISSING_BOOST_VALUE: &str = "RECSYS_RULE_MISSING_BOOST_VALUE";
    /// Warning: the rule is disabled; it is kept but never applies.
    pub const DISABLED: &str = "RECSYS_RULE_DISABLED";
    /// Warning: a key the rule format does not know (possibly a typo); it is ignored.
    pub const UNKNOWN_KEY: &str = "RECSYS_RULE_UNKNOWN_KEY";
    /// Warning: a known key that has no effect here (a later alias shadowed by an earlier
    /// one, `boost_value` on a non-BOOST rule, item ids on a TAG rule, `org_id`, ...).
    pub const IGNORED_FIELD: &str = "RECSYS_RULE_IGNORED_FIELD";
    /// Warning: a key appears more than once in a rule object; the last one is used.
    pub const DUPLICATE_KEY: &str = "RECSYS_RULE_DUPLICATE_KEY";
    /// Warning: the given rule id is not a UUID; a stable id was derived from the content.
    pub const ID_NOT_UUID: &str = "RECSYS_RULE_ID_NOT_UUID";
    /// Warning: two rules have the same id (given, or derived from identical content).
    pub const DUPLICATE_ID: &str = "RECSYS_RULE_DUPLICATE_ID";
}

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

/// Code of [`RulesError::Invalid`] and [`RulesError::Empty`] (the service's code for both).
pub const INVALID_RULES: &str = "RECSYS_INVALID_RULES";
/// Code of [`RulesError::TooMany`].
pub const RULES_TOO_MANY: &str = "RECSYS_RULES_TOO_MANY";

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
        match self {
            RulesError::Empty | RulesError::Invalid(_) => INVALID_RULES,
            RulesError::Json(e) => e.code(),
            RulesError::TooMany { .. } => RULES_TOO_MANY,
        }
    }

    /// The HTTP status a host should answer with.
    pub fn status(&self) -> u16 {
        match self {
            RulesError::Empty => 400,
            RulesError::Json(e) if e.kind == JsonErrorKind::TooLarge => 413,
            RulesError::Json(_) => 400,
            RulesError::TooMany { .. } | RulesError::Invalid(_) => 422,
        }
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
        let api = ApiError::new(e.code(), e.status(), e.to_string()).with_problems(e.problems());
        match e {
            RulesError::TooMany { count, max } => api
                .with_extra("count", crate::json::Value::u64(count as u64))
                .with_extra("max", crate::json::Value::u64(max as u64)),
            _ => api,
        }
    }
}
