//! A small strict reader for the ops JSON inputs: optional members (`null` = absent), type
//! checks and unknown-member detection, collecting every finding as a [`Problem`].

use crate::error::Problem;
use crate::json::{Map, Value};

pub(crate) struct Reader {
    pub problems: Vec<Problem>,
    wrong_type: &'static str,
    unknown: &'static str,
}

impl Reader {
    pub fn new(wrong_type: &'static str, unknown: &'static str) -> Reader {
        Reader {
            problems: Vec::new(),
            wrong_type,
            unknown,
        }
    }

    pub fn problem(&mut self, path: impl Into<String>, code: &'static str, msg: impl Into<String>) {
        self.problems.push(Problem::new(path, code, msg));
    }

    pub fn wrong(&mut self, path: &str, want: &str, got: &Value) {
        let code = self.wrong_type;
        self.problem(
            path,
            code,
            format!("{path} must be {want}, got {}", got.type_name()),
        );
    }

    /// The value as an object (absent or `null` → `None`).
    pub fn object<'v>(&mut self, v: Option<&'v Value>, path: &str) -> Option<&'v Map> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                self.wrong(path, "an object", other);
                None
            }
        }
    }

    /// Reports members not in `known`.
    pub fn known(&mut self, m: &Map, known: &[&str], path: &str) {
        for (k, _) in m.deduped() {
            if !known.contains(&k) {
                let code = self.unknown;
                self.problem(format!("{path}.{k}"), code, format!("unknown field {k:?}"));
            }
        }
    }

    pub fn string(&mut self, m: &Map, key: &str, path: &str) -> Option<String> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.wrong(&format!("{path}.{key}"), "a string", other);
                None
            }
        }
    }

    pub fn boolean(&mut self, m: &Map, key: &str, path: &str) -> Option<bool> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.wrong(&format!("{path}.{key}"), "a boolean", other);
                None
            }
        }
    }

    pub fn number(&mut self, m: &Map, key: &str, path: &str) -> Option<f64> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) => Some(f),
                None => {
                    let code = self.wrong_type;
                    self.problem(
                        format!("{path}.{key}"),
                        code,
                        format!("{path}.{key} must be a finite number, got {}", n.literal()),
                    );
                    None
                }
            },
            Some(other) => {
                self.wrong(&format!("{path}.{key}"), "a number", other);
                None
            }
        }
    }

    /// A non-negative integer (`3`, `3.0` accepted).
    pub fn uint(&mut self, m: &Map, key: &str, path: &str) -> Option<u64> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_integral_i64() {
                Some(i) if i >= 0 => Some(i as u64),
                _ => {
                    let code = self.wrong_type;
                    self.problem(
                        format!("{path}.{key}"),
                        code,
                        format!(
                            "{path}.{key} must be a non-negative integer, got {}",
                            n.literal()
                        ),
                    );
                    None
                }
            },
            Some(other) => {
                self.wrong(&format!("{path}.{key}"), "a non-negative integer", other);
                None
            }
        }
    }
}
