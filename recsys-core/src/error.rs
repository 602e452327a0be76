//! Errors shared across operation families: the [`Problem`] list used by validation and the
//! [`ApiError`] every binding converts into its own exception type. Each operation family has
//! its own `thiserror` enum next to the code that raises it; all of them convert into
//! `ApiError` with a stable `code()`.

use crate::json::{Map, Value};
use std::fmt;

/// One validation finding: where, what (stable code), and a lower-case message quoting input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the offending field (`$.weights.pop`, `$[3].action`).
    pub path: String,
    /// Stable machine-readable code (`RECSYS_CONFIG_NEGATIVE_WEIGHT`, ...).
    pub code: &'static str,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(3);
        m.push("path", Value::str(&self.path));
        m.push("code", Value::str(self.code));
        m.push("message", Value::str(&self.message));
        Value::Object(m)
    }
}

/// The most problems any error or report lists; the rest are summarised in one final
/// `RECSYS_PROBLEMS_TRUNCATED` entry, so 160 000 unknown members cannot make a 10 MB error.
pub const MAX_PROBLEMS: usize = 100;

/// Code of the entry that stands for the problems left out of a capped list.
pub const PROBLEMS_TRUNCATED: &str = "RECSYS_PROBLEMS_TRUNCATED";

/// `problems` cut to [`MAX_PROBLEMS`], with one entry saying how many more there were.
pub fn capped(mut problems: Vec<Problem>) -> Vec<Problem> {
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
        problems.push(truncated_note(more));
    }
    problems
}

fn truncated_note(more: usize) -> Problem {
    Problem::new(
        "$",
        PROBLEMS_TRUNCATED,
        format!("{more} more problems are not listed"),
    )
}

/// A problem list as JSON, capped like [`capped`] (for reports that keep the full list).
pub fn problems_value(problems: &[Problem]) -> Value {
    let shown = problems.len().min(MAX_PROBLEMS);
    let mut out: Vec<Value> = problems[..shown].iter().map(Problem::to_value).collect();
    if problems.len() > shown {
        out.push(truncated_note(problems.len() - shown).to_value());
    }
    Value::Array(out)
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.code)
    }
}

/// The error every public call can return, already mapped to a stable code, the HTTP status a
/// host should answer with, a lower-case message and optional structured details.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
    /// Findings behind the error (validation problems), possibly empty.
    pub problems: Vec<Problem>,
    /// Extra machine-readable data (e.g. `current_version` for a version mismatch).
    pub extra: Option<Map>,
}

impl ApiError {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            status,
            message: message.into(),
            problems: Vec::new(),
            extra: None,
        }
    }
    /// Attaches the problems behind the error, at most [`MAX_PROBLEMS`] (see [`capped`]).
    pub fn with_problems(mut self, problems: Vec<Problem>) -> ApiError {
        self.problems = capped(problems);
        self
    }
    pub fn with_extra(mut self, key: &str, value: Value) -> ApiError {
        self.extra
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value);
        self
    }
    pub fn code(&self) -> &'static str {
        self.code
    }
    /// `{"code", "status", "message", "problems"?, ...extra}` — the error object every binding
    /// and the conformance corpus compare.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("code", Value::str(self.code));
        m.push("status", Value::u64(self.status as u64));
        m.push("message", Value::str(&self.message));
        if !self.problems.is_empty() {
            m.push(
                "problems",
                Value::Array(self.problems.iter().map(Problem::to_value).collect()),
            );
        }
        if let Some(extra) = &self.extra {
            for (k, v) in extra.iter() {
                m.push(k.to_owned(), v.clone());
            }
        }
        Value::Object(m)
    }
    pub fn to_json(&self) -> String {
        crate::json::to_string(&self.to_value())
    }
    /// An unexpected failure (status 500). Bindings use it for caught panics.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new("RECSYS_INTERNAL", 500, message)
    }
}

impl From<crate::json::JsonError> for ApiError {
    fn from(e: crate::json::JsonError) -> ApiError {
        ApiError::new(e.code(), 400, format!("invalid json: {e}")).with_problems(vec![
            Problem::new(
                if e.path.is_empty() {
                    "$".to_string()
                } else {
                    e.path.clone()
                },
                e.code(),
                e.message.clone(),
            ),
        ])
    }
}
