//! The ops JSON inputs' view of the strict [`Decoder`]: members matched exactly, `null` =
//! absent, type checks and unknown members collected as [`Problem`]s with the family's codes.
//! Callers name absolute paths (`$.event.items[3]`); the decoder owns the messages.

use crate::decode::{Decoder, Keys, ProblemKind, Style};
use crate::error::{ErrorCode, Problem};
use crate::json::{Map, Value};

pub(crate) struct Reader {
    d: Decoder,
}

fn unknown_message(quoted: &str) -> String {
    format!("unknown field {quoted}")
}

impl Reader {
    /// A reader reporting wrong JSON types as `wrong_type` and unknown members as `unknown`.
    pub fn new(wrong_type: ErrorCode, unknown: ErrorCode) -> Reader {
        let style = Style {
            keys: Keys::Exact,
            unknown_field: unknown,
            wrong_type,
            unknown_message,
        };
        Reader {
            d: Decoder::new("$", style),
        }
    }

    /// True when nothing was found.
    pub fn is_clean(&self) -> bool {
        self.d.is_clean()
    }

    /// Every problem found, in order.
    pub fn into_problems(self) -> Vec<Problem> {
        self.d.into_problems()
    }

    /// Adds problems found by a nested decoder.
    pub fn extend(&mut self, problems: Vec<Problem>) {
        self.d.extend(ProblemKind::Invalid, problems);
    }

    pub fn problem(&mut self, path: impl Into<String>, code: &'static str, msg: impl Into<String>) {
        self.d.report_at(ProblemKind::Invalid, path, code, msg);
    }

    pub fn wrong(&mut self, path: &str, want: &str, got: &Value) {
        self.d.at(path, |d| d.wrong_type(want, got));
    }

    /// The value as an object (absent or `null` → `None`).
    pub fn object<'v>(&mut self, v: Option<&'v Value>, path: &str) -> Option<&'v Map> {
        self.d.at(path, |d| d.object(v))
    }

    /// Reports members not in `known`.
    pub fn known(&mut self, m: &Map, known: &[&str], path: &str) {
        self.d.at(path, |d| d.known(m, known));
    }

    pub fn string(&mut self, m: &Map, key: &str, path: &str) -> Option<String> {
        self.member(m, key, path, |d, v| d.string(v).map(str::to_owned))
    }

    pub fn boolean(&mut self, m: &Map, key: &str, path: &str) -> Option<bool> {
        self.member(m, key, path, Decoder::boolean)
    }

    pub fn number(&mut self, m: &Map, key: &str, path: &str) -> Option<f64> {
        self.member(m, key, path, Decoder::finite)
    }

    /// A non-negative integer (`3`, `3.0` accepted).
    pub fn uint(&mut self, m: &Map, key: &str, path: &str) -> Option<u64> {
        self.member(m, key, path, Decoder::unsigned)
    }

    fn member<R>(
        &mut self,
        m: &Map,
        key: &str,
        path: &str,
        read: impl FnOnce(&mut Decoder, Option<&Value>) -> Option<R>,
    ) -> Option<R> {
        let v = m.get(key);
        self.d.at(path, |d| d.field(key, |d| read(d, v)))
    }
}
