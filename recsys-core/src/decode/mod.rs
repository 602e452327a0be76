//! The one strict decoder behind every wire input (requests, call contexts, ops inputs,
//! documents): it walks a parsed [`Value`] tracking the JSON path, resolves object members
//! against a fixed field list (exactly, or Go-style case-insensitively where the reference
//! did), checks JSON types, and collects every finding with an explicit [`ProblemKind`]
//! instead of stopping at the first. [`Decoder::fail`] turns the findings into one
//! [`ApiError`] with the reference's precedence: decoding problems (unknown members, wrong
//! types) decide the code and message before validation problems, as in the reference, where
//! they stop its decoder before any value is checked. Problem lists are capped by
//! [`ApiError::with_problems`] (`RECSYS_PROBLEMS_TRUNCATED`).
//!
//! Documents read in two modes (the rules document: lenient when serving, strict when
//! writing) give each finding a [`Severity`] whose weight the decoder's [`Mode`] decides: a
//! finding can drop the element it is in ([`Decoder::element`]), be an error, or be a
//! warning, and [`Decoder::outcome`] sorts them. Such documents also quote odd keys in paths
//! (`$["weird key"]`, [`Decoder::quoted_keys`]), accept several spellings of one field and
//! warn about repeated and unknown keys ([`Members`]).

use crate::error::{ApiError, ErrorCode, Problem};
use crate::json::node::{Members as Object, Tree, View};
use crate::json::{literal_f64, literal_integral_i64};

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

/// How much a finding weighs; all but [`Severity::Error`] depend on the decoder's [`Mode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// An error in both modes (every finding of a plain strict input).
    Error,
    /// The enclosing element ([`Decoder::element`]) cannot be used: an error in strict mode;
    /// in lenient mode the element is dropped and the finding says why.
    Drop,
    /// A malformed value: an error in strict mode; in lenient mode the value is ignored and
    /// the finding is a warning.
    Ignore,
    /// A warning in both modes.
    Warn,
}

/// How a document is read: strictly (writing: anything dropped or ignored is an error) or
/// leniently (serving: use what can be used and say what was not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// [`Severity::Drop`] and [`Severity::Ignore`] findings are errors.
    #[default]
    Strict,
    /// [`Severity::Drop`] findings drop their element, [`Severity::Ignore`] ones are warnings.
    Lenient,
}

impl Mode {
    /// Whether a finding of `severity` is an error in this mode.
    pub fn is_error(self, severity: Severity) -> bool {
        match severity {
            Severity::Error => true,
            Severity::Drop | Severity::Ignore => self == Mode::Strict,
            Severity::Warn => false,
        }
    }
}

/// One finding, its kind and its severity.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: ProblemKind,
    pub severity: Severity,
    pub problem: Problem,
}

/// The findings of a document sorted by what they mean in the decoder's mode, each list in
/// the order found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Findings that refuse the document.
    pub errors: Vec<Problem>,
    /// Findings that refuse nothing.
    pub warnings: Vec<Problem>,
    /// Lenient mode: why each dropped element was dropped.
    pub dropped: Vec<Problem>,
}

/// Walks a value, tracking the path and collecting findings.
pub struct Decoder {
    style: Style,
    path: String,
    findings: Vec<Finding>,
    mode: Mode,
    quote_keys: bool,
    /// Where the findings of the innermost open [`Decoder::element`] start.
    element_start: usize,
}

impl Decoder {
    /// A strict decoder positioned at `root` (usually `$`), with plain `.key` paths.
    pub fn new(root: &str, style: Style) -> Decoder {
        Decoder {
            style,
            path: root.to_owned(),
            findings: Vec::new(),
            mode: Mode::Strict,
            quote_keys: false,
            element_start: 0,
        }
    }

    /// The same decoder reading in `mode`.
    pub fn with_mode(mut self, mode: Mode) -> Decoder {
        self.mode = mode;
        self
    }

    /// The same decoder writing a key that is not an identifier (ASCII letters, digits, `_`)
    /// as `["key"]` in paths (`$["weird key"]`, quoted as [`quote`] does) instead of `.key`.
    pub fn quoted_keys(mut self) -> Decoder {
        self.quote_keys = true;
        self
    }

    /// The mode findings are weighed in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The path of member `key` of the object at `base`, in this decoder's path style.
    pub fn child_path(&self, base: &str, key: &str) -> String {
        let mut p = base.to_owned();
        push_key(&mut p, key, self.quote_keys);
        p
    }

    /// The JSON path of the value being decoded (`$.user.user_id`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Runs `f` one member deeper (`<path>.name`, or `<path>["odd name"]` with
    /// [`Decoder::quoted_keys`]).
    pub fn field<R>(&mut self, name: &str, f: impl FnOnce(&mut Decoder) -> R) -> R {
        let len = self.path.len();
        push_key(&mut self.path, name, self.quote_keys);
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
            severity: Severity::Error,
            problem: Problem::new(path, code.into_code(), message),
        });
    }

    /// Records a finding of a two-mode document at the current path (an invalid value when
    /// it is an error).
    pub fn note(&mut self, severity: Severity, code: impl Code, message: impl Into<String>) {
        let path = self.path.clone();
        self.note_at(severity, path, code, message);
    }

    /// Records a finding of a two-mode document at `path`.
    pub fn note_at(
        &mut self,
        severity: Severity,
        path: impl Into<String>,
        code: impl Code,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            kind: ProblemKind::Invalid,
            severity,
            problem: Problem::new(path, code.into_code(), message),
        });
    }

    /// Reads one element of a list (a rule of a rules document): `f` returns `None` when it
    /// cannot build the element. The element is dropped when that happens or when a
    /// [`Severity::Drop`] finding was made inside; in lenient mode only those findings are
    /// then kept (what else was wrong with a dropped element does not matter), in strict mode
    /// all of them.
    pub fn element<R>(&mut self, f: impl FnOnce(&mut Decoder) -> Option<R>) -> Option<R> {
        let start = self.findings.len();
        let outer = std::mem::replace(&mut self.element_start, start);
        let r = f(self);
        let dropped = r.is_none() || self.dropped();
        self.element_start = outer;
        if dropped && self.mode == Mode::Lenient {
            let mut i = 0;
            self.findings.retain(|f| {
                i += 1;
                i <= start || f.severity == Severity::Drop
            });
        }
        r.filter(|_| !dropped)
    }

    /// Whether the innermost open [`Decoder::element`] (else the whole input) has a
    /// [`Severity::Drop`] finding so far.
    pub fn dropped(&self) -> bool {
        self.findings[self.element_start..]
            .iter()
            .any(|f| f.severity == Severity::Drop)
    }

    /// Adds findings made elsewhere (problems of a nested document), as `kind`.
    pub fn extend(&mut self, kind: ProblemKind, problems: impl IntoIterator<Item = Problem>) {
        self.findings
            .extend(problems.into_iter().map(|problem| Finding {
                kind,
                severity: Severity::Error,
                problem,
            }));
    }

    /// A wrong-JSON-type finding at the current path: `<path> must be <want>, got <type>`.
    pub fn wrong_type(&mut self, want: &str, got: &impl Tree) {
        let message = format!("{} must be {want}, got {}", self.path, got.type_name());
        let code = self.style.wrong_type;
        self.report(ProblemKind::Decode, code, message);
    }

    /// Resolves `m`'s members against `names` by the style's key matching; `null` members are
    /// absent and every unknown member is a [`ProblemKind::Decode`] finding at `<path>.<key>`.
    pub fn fields<'a, O: Object + ?Sized, const N: usize>(
        &mut self,
        m: &'a O,
        names: [&'static str; N],
    ) -> [Option<&'a O::Node>; N] {
        let mut out: [Option<&'a O::Node>; N] = [None; N];
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
    pub fn known(&mut self, m: &(impl Object + ?Sized), names: &[&str]) {
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
        let path = self.child_path(&self.path, k);
        self.report_at(ProblemKind::Decode, path, code, message);
    }

    /// The value as an object; absent or `null` is `None`, another type a finding.
    pub fn object<'a, T: Tree>(&mut self, v: Option<&'a T>) -> Option<&'a T::Obj> {
        let v = v?;
        match v.view() {
            View::Object(m) => Some(m),
            View::Null => None,
            _ => {
                self.wrong_type("an object", v);
                None
            }
        }
    }

    /// The value as a string; absent or `null` is `None`, another type a finding.
    pub fn string<'a, T: Tree>(&mut self, v: Option<&'a T>) -> Option<&'a str> {
        let v = v?;
        match v.view() {
            View::String(s) => Some(s),
            View::Null => None,
            _ => {
                self.wrong_type("a string", v);
                None
            }
        }
    }

    /// The value as a boolean; absent or `null` is `None`, another type a finding.
    pub fn boolean<T: Tree>(&mut self, v: Option<&T>) -> Option<bool> {
        let v = v?;
        match v.view() {
            View::Bool(b) => Some(b),
            View::Null => None,
            _ => {
                self.wrong_type("a boolean", v);
                None
            }
        }
    }

    /// An integer: an integer literal or an integral number written with a fraction or an
    /// exponent (`20.0`, `2e1`), as JSON Schema counts integers. Anything else is a
    /// [`ProblemKind::Decode`] finding quoting the literal or the type.
    pub fn integer<T: Tree>(&mut self, v: Option<&T>) -> Option<i64> {
        let v = v?;
        match v.view() {
            View::Number(lit) => match literal_integral_i64(lit) {
                Some(i) => Some(i),
                None => {
                    let message = format!("{} must be an integer, got {lit}", self.path);
                    let code = self.style.wrong_type;
                    self.report(ProblemKind::Decode, code, message);
                    None
                }
            },
            View::Null => None,
            _ => {
                self.wrong_type("an integer", v);
                None
            }
        }
    }

    /// A finite number; absent or `null` is `None`, a literal out of range or another type a
    /// finding.
    pub fn finite<T: Tree>(&mut self, v: Option<&T>) -> Option<f64> {
        let v = v?;
        match v.view() {
            View::Number(lit) => match literal_f64(lit) {
                Some(f) => Some(f),
                None => {
                    let message = format!("{} must be a finite number, got {lit}", self.path);
                    let code = self.style.wrong_type;
                    self.report(ProblemKind::Decode, code, message);
                    None
                }
            },
            View::Null => None,
            _ => {
                self.wrong_type("a number", v);
                None
            }
        }
    }

    /// A non-negative integer (`3`, `3.0` accepted); absent or `null` is `None`.
    pub fn unsigned<T: Tree>(&mut self, v: Option<&T>) -> Option<u64> {
        let v = v?;
        match v.view() {
            View::Number(lit) => match literal_integral_i64(lit) {
                Some(i) if i >= 0 => Some(i as u64),
                _ => {
                    let message =
                        format!("{} must be a non-negative integer, got {lit}", self.path);
                    let code = self.style.wrong_type;
                    self.report(ProblemKind::Decode, code, message);
                    None
                }
            },
            View::Null => None,
            _ => {
                self.wrong_type("a non-negative integer", v);
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

    /// The findings sorted by the mode: errors, warnings and (lenient) drop reasons.
    pub fn outcome(self) -> Outcome {
        let mut out = Outcome::default();
        for f in self.findings {
            let list = if self.mode.is_error(f.severity) {
                &mut out.errors
            } else if f.severity == Severity::Drop {
                &mut out.dropped
            } else {
                &mut out.warnings
            };
            list.push(f.problem);
        }
        out
    }

    /// `None` when no finding is an error in the decoder's mode; otherwise the error: the
    /// first decoding finding, else the first finding, gives the message, and its kind picks
    /// `invalid` (decode, invalid) or `unprocessable`. Every error is listed in the order
    /// found (warnings are not).
    pub fn fail(self, invalid: ErrorCode, unprocessable: ErrorCode) -> Option<ApiError> {
        let mode = self.mode;
        let errors: Vec<Finding> = self
            .findings
            .into_iter()
            .filter(|f| mode.is_error(f.severity))
            .collect();
        let lead = errors
            .iter()
            .find(|f| f.kind == ProblemKind::Decode)
            .or(errors.first())?;
        let code = match lead.kind {
            ProblemKind::Unprocessable => unprocessable,
            ProblemKind::Decode | ProblemKind::Invalid => invalid,
        };
        let message = lead.problem.message.clone();
        let problems = errors.into_iter().map(|f| f.problem).collect();
        Some(ApiError::new(code, message).with_problems(problems))
    }
}

/// Quotes user input for a message or a path (`"k"`, Rust string escapes), shortened to 64
/// characters (`"…"…`) so a huge key or value cannot make a huge message.
pub fn quote(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
    }
}

/// Whether `key` can be written `.key` in a quoted-keys path.
fn is_identifier(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Appends member `key` to `path`: `.key`, or `["key"]` when quoting and `key` is odd.
fn push_key(path: &mut String, key: &str, quote_keys: bool) {
    if quote_keys && !is_identifier(key) {
        path.push('[');
        path.push_str(&quote(key));
        path.push(']');
    } else {
        path.push('.');
        path.push_str(key);
    }
}

pub(crate) mod direct;
mod input;
mod members;
pub use input::Input;
pub use members::{Got, KeyNotes, KeySet, Members};

mod request;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_direct;
#[cfg(test)]
mod tests_document;
#[cfg(test)]
mod tests_members;
#[cfg(test)]
mod tests_served;
#[cfg(test)]
mod tests_trees;
