//! The one strict decoder behind every wire input (requests, call contexts, ops inputs,
//! documents): it walks a parsed [`Value`] tracking the JSON path, resolves object members
//! against a fixed field list (exactly, or Go-style case-insensitively where the reference
//! did), checks JSON types, and collects every finding with an explicit [`ProblemKind`]
//! instead of stopping at the first. [`Decoder::fail`] turns the findings into one
//! [`ApiError`] with the reference's precedence: decoding problems (unknown members, wrong
//! types) decide the code and message before validation problems, as in the reference, where
//! they stop its decoder before any value is checked. Problem lists are capped by
//! [`ApiError::with_problems`] (`RECSYS_PROBLEMS_TRUNCATED`).

use crate::error::{ApiError, ErrorCode, Problem};
use crate::json::{Map, Value};

/// A problem code: an [`ErrorCode`], or the string of one (the `codes` modules' constants).
pub trait Code {
    fn into_code(self) -> &'static str;
}

impl Code for ErrorCode {
    fn into_code(self) -> &'static str {
        self.code()
    }
}

impl Code for &'static str {
    fn into_code(self) -> &'static str {
        self
    }
}

/// How object keys are matched against field names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// Byte-for-byte; a repeated member counts once.
    Exact,
    /// ASCII case-insensitively, the last duplicate winning (Go's `encoding/json`).
    Fold,
}

/// What a finding is, which decides the error it leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProblemKind {
    /// The input does not have the expected shape: an unknown member, a wrong JSON type.
    Decode,
    /// A well-typed value that is not acceptable and makes the input malformed (400).
    Invalid,
    /// A well-formed input with an unacceptable value (422).
    Unprocessable,
}

/// How a family of inputs reports shape problems: key matching, the codes of unknown members
/// and wrong types, and the unknown-member message.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub keys: Keys,
    pub unknown_field: ErrorCode,
    pub wrong_type: ErrorCode,
    /// Message for an unknown member named `k` (given already quoted, `"k"`).
    pub unknown_message: fn(&str) -> String,
}

/// One finding and its kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: ProblemKind,
    pub problem: Problem,
}

/// Walks a value, tracking the path and collecting findings.
pub struct Decoder {
    style: Style,
    path: String,
    findings: Vec<Finding>,
}

impl Decoder {
    /// A decoder positioned at `root` (usually `$`).
    pub fn new(root: &str, style: Style) -> Decoder {
        Decoder {
            style,
            path: root.to_owned(),
            findings: Vec::new(),
        }
    }

    /// The JSON path of the value being decoded (`$.user.user_id`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Runs `f` one member deeper (`<path>.name`).
    pub fn field<R>(&mut self, name: &str, f: impl FnOnce(&mut Decoder) -> R) -> R {
        let len = self.path.len();
        self.path.push('.');
        self.path.push_str(name);
        let r = f(self);
        self.path.truncate(len);
        r
    }

    /// Runs `f` one element deeper (`<path>[i]`).
    pub fn index<R>(&mut self, i: usize, f: impl FnOnce(&mut Decoder) -> R) -> R {
        use std::fmt::Write;
        let len = self.path.len();
        let _ = write!(self.path, "[{i}]");
        let r = f(self);
        self.path.truncate(len);
        r
    }

    /// Moves the decoder to `path`, returning the path it was at (for callers that carry
    /// more state than the decoder, see [`Decoder::at`]).
    pub fn swap_path(&mut self, path: String) -> String {
        std::mem::replace(&mut self.path, path)
    }

    /// Runs `f` at `path` (an absolute path such as `$.items[3]`), then returns to where it was.
    pub fn at<R>(&mut self, path: &str, f: impl FnOnce(&mut Decoder) -> R) -> R {
        let saved = std::mem::replace(&mut self.path, path.to_owned());
        let r = f(self);
        self.path = saved;
        r
    }

    /// Records a finding at the current path.
    pub fn report(&mut self, kind: ProblemKind, code: impl Code, message: impl Into<String>) {
        let path = self.path.clone();
        self.report_at(kind, path, code, message);
    }

    /// Records a finding at `path`.
    pub fn report_at(
        &mut self,
        kind: ProblemKind,
        path: impl Into<String>,
        code: impl Code,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            kind,
            problem: Problem::new(path, code.into_code(), message),
        });
    }

    /// Adds findings made elsewhere (problems of a nested document), as `kind`.
    pub fn extend(&mut self, kind: ProblemKind, problems: impl IntoIterator<Item = Problem>) {
        self.findings.extend(
            problems
                .into_iter()
                .map(|problem| Finding { kind, problem }),
        );
    }

    /// A wrong-JSON-type finding at the current path: `<path> must be <want>, got <type>`.
    pub fn wrong_type(&mut self, want: &str, got: &Value) {
        let message = format!("{} must be {want}, got {}", self.path, got.type_name());
        let code = self.style.wrong_type;
        self.report(ProblemKind::Decode, code, message);
    }

    /// Resolves `m`'s members against `names` by the style's key matching; `null` members are
    /// absent and every unknown member is a [`ProblemKind::Decode`] finding at `<path>.<key>`.
    pub fn fields<'a, const N: usize>(
        &mut self,
        m: &'a Map,
        names: [&'static str; N],
    ) -> [Option<&'a Value>; N] {
        let mut out: [Option<&'a Value>; N] = [None; N];
        match self.style.keys {
            Keys::Fold => {
                for (k, v) in m.iter() {
                    match names.iter().position(|n| n.eq_ignore_ascii_case(k)) {
                        Some(i) => out[i] = (!v.is_null()).then_some(v),
                        None => self.unknown(k),
                    }
                }
            }
            Keys::Exact => {
                for (k, v) in m.deduped() {
                    match names.iter().position(|n| *n == k) {
                        Some(i) => out[i] = (!v.is_null()).then_some(v),
                        None => self.unknown(k),
                    }
                }
            }
        }
        out
    }

    /// Reports every member of `m` not in `names` (matched by the style), without reading any.
    pub fn known(&mut self, m: &Map, names: &[&str]) {
        for (k, _) in m.deduped() {
            let found = match self.style.keys {
                Keys::Fold => names.iter().any(|n| n.eq_ignore_ascii_case(k)),
                Keys::Exact => names.contains(&k),
            };
            if !found {
                self.unknown(k);
            }
        }
    }

    /// Reports the member `k` of the current object as unknown.
    pub fn unknown(&mut self, k: &str) {
        let message = (self.style.unknown_message)(&format!("{k:?}"));
        let code = self.style.unknown_field;
        let path = format!("{}.{k}", self.path);
        self.report_at(ProblemKind::Decode, path, code, message);
    }

    /// The value as an object; absent or `null` is `None`, another type a finding.
    pub fn object<'a>(&mut self, v: Option<&'a Value>) -> Option<&'a Map> {
        match v? {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => {
                self.wrong_type("an object", other);
                None
            }
        }
    }

    /// The value as a string; absent or `null` is `None`, another type a finding.
    pub fn string<'a>(&mut self, v: Option<&'a Value>) -> Option<&'a str> {
        match v? {
            Value::String(s) => Some(s),
            Value::Null => None,
            other => {
                self.wrong_type("a string", other);
                None
            }
        }
    }

    /// The value as a boolean; absent or `null` is `None`, another type a finding.
    pub fn boolean(&mut self, v: Option<&Value>) -> Option<bool> {
        match v? {
            Value::Bool(b) => Some(*b),
            Value::Null => None,
            other => {
                self.wrong_type("a boolean", other);
                None
            }
        }
    }

    /// An integer: an integer literal or an integral number written with a fraction or an
    /// exponent (`20.0`, `2e1`), as JSON Schema counts integers. Anything else is a
    /// [`ProblemKind::Decode`] finding quoting the literal or the type.
    pub fn integer(&mut self, v: Option<&Value>) -> Option<i64> {
        match v? {
            Value::Number(n) => match n.as_integral_i64() {
                Some(i) => Some(i),
                None => {
                    let message = format!("{} must be an integer, got {}", self.path, n.literal());
                    let code = self.style.wrong_type;
                    self.report(ProblemKind::Decode, code, message);
                    None
                }
            },
            Value::Null => None,
            other => {
                self.wrong_type("an integer", other);
                None
            }
        }
    }

    /// A finite number; absent or `null` is `None`, a literal out of range or another type a
    /// finding.
    pub fn finite(&mut self, v: Option<&Value>) -> Option<f64> {
        match v? {
            Value::Number(n) => match n.as_f64() {
                Some(f) => Some(f),
                None => {
                    let message =
                        format!("{} must be a finite number, got {}", self.path, n.literal());
                    let code = self.style.wrong_type;
                    self.report(ProblemKind::Decode, code, message);
                    None
                }
            },
            Value::Null => None,
            other => {
                self.wrong_type("a number", other);
                None
            }
        }
    }

    /// A non-negative integer (`3`, `3.0` accepted); absent or `null` is `None`.
    pub fn unsigned(&mut self, v: Option<&Value>) -> Option<u64> {
        match v? {
            Value::Number(n) => match n.as_integral_i64() {
                Some(i) if i >= 0 => Some(i as u64),
                _ => {
                    let message = format!(
                        "{} must be a non-negative integer, got {}",
                        self.path,
                        n.literal()
                    );
                    let code = self.style.wrong_type;
                    self.report(ProblemKind::Decode, code, message);
                    None
                }
            },
            Value::Null => None,
            other => {
                self.wrong_type("a non-negative integer", other);
                None
            }
        }
    }

    /// True when nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings so far, in the order they were found.
    #[cfg(test)]
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The problems found, in the order they were found (uncapped; errors cap them).
    pub fn into_problems(self) -> Vec<Problem> {
        self.findings.into_iter().map(|f| f.problem).collect()
    }

    /// `None` when nothing was found; otherwise the error: the first decoding finding, else
    /// the first finding, gives the message, and its kind picks `invalid` (decode, invalid)
    /// or `unprocessable`. Every problem is listed in the order found.
    pub fn fail(self, invalid: ErrorCode, unprocessable: ErrorCode) -> Option<ApiError> {
        let lead = self
            .findings
            .iter()
            .find(|f| f.kind == ProblemKind::Decode)
            .or(self.findings.first())?;
        let code = match lead.kind {
            ProblemKind::Unprocessable => unprocessable,
            ProblemKind::Decode | ProblemKind::Invalid => invalid,
        };
        let message = lead.problem.message.clone();
        Some(ApiError::new(code, message).with_problems(self.into_problems()))
    }
}

mod request;

#[cfg(test)]
mod tests;
