use super::write::format_go_float;

/// A JSON value. Numbers keep their literal text so that canonical forms (PostgreSQL `numeric`,
/// Go `int64`) can be derived exactly; objects keep every member in document order, duplicates
/// included, so each consumer can apply its own "last one wins" rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

/// A number literal, validated against the JSON grammar.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Number(Box<str>);

impl Number {
    /// Wraps a literal that the parser has already validated.
    pub(crate) fn from_literal_unchecked(lit: &str) -> Number {
        Number(lit.into())
    }
    /// Builds a number from a finite float using Go's `encoding/json` rendering; `None` for NaN/inf.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        let mut s = String::new();
        format_go_float(&mut s, f);
        Some(Number(s.into()))
    }
    pub fn from_i64(i: i64) -> Number {
        Number(i.to_string().into())
    }
    pub fn from_u64(i: u64) -> Number {
        Number(i.to_string().into())
    }
    /// The literal as written.
    pub fn literal(&self) -> &str {
        &self.0
    }
    /// True when the literal has neither a fraction nor an exponent (what Go accepts for ints).
    pub fn is_integer_literal(&self) -> bool {
        !self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
    }
    /// The value as `i64` when the literal is an integer literal in range (Go `int64` decoding).
    pub fn as_i64(&self) -> Option<i64> {
        if self.is_integer_literal() {
            self.0.parse().ok()
        } else {
            None
        }
    }
    /// The value as `i64` when it is mathematically an integer in range (`3`, `3.0`, `3e0`).
    pub fn as_integral_i64(&self) -> Option<i64> {
        if let Some(i) = self.as_i64() {
            return Some(i);
        }
        let f = self.as_f64()?;
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            Some(f as i64)
        } else {
            None
        }
    }
    /// The value as a finite `f64` (correctly rounded); `None` if it overflows.
    pub fn as_f64(&self) -> Option<f64> {
        let f: f64 = self.0.parse().ok()?;
        if f.is_finite() {
            Some(f)
        } else {
            None
        }
    }
}

/// Object members in document order. Lookups return the *last* matching member, which is
/// what both PostgreSQL `jsonb` and Go's decoder keep for duplicate keys.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    pub fn new() -> Map {
        Map(Vec::new())
    }
    pub fn with_capacity(n: usize) -> Map {
        Map(Vec::with_capacity(n))
    }
    /// Appends a member without looking for an existing one (parser and builders use this).
    pub fn push(&mut self, key: impl Into<String>, value: Value) {
        self.0.push((key.into(), value));
    }
    /// Sets `key`, replacing the last existing member of that name.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if let Some(slot) = self.0.iter_mut().rev().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.0.push((key, value));
        }
    }
    /// Last member named exactly `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Mutable access to the last member named exactly `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0
            .iter_mut()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
    /// Last member whose name equals `key` ignoring ASCII case (Go decoder matching).
    pub fn get_ci(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// All members in document order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// Members with duplicates collapsed (last value wins, at the position of the last one).
    pub fn deduped(&self) -> Vec<(&str, &Value)> {
        let mut out: Vec<(&str, &Value)> = Vec::with_capacity(self.0.len());
        for (i, (k, v)) in self.0.iter().enumerate() {
            if !self.0[i + 1..].iter().any(|(k2, _)| k2 == k) {
                out.push((k.as_str(), v));
            }
        }
        out
    }
    pub fn into_vec(self) -> Vec<(String, Value)> {
        self.0
    }
}

impl From<Vec<(String, Value)>> for Map {
    fn from(v: Vec<(String, Value)>) -> Map {
        Map(v)
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(Number::as_f64)
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// A short name of the JSON type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
    /// Builds a string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    /// Builds a number from a float; non-finite values become `null` (they cannot occur in output).
    pub fn f64(f: f64) -> Value {
        Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
    pub fn i64(i: i64) -> Value {
        Value::Number(Number::from_i64(i))
    }
    pub fn u64(i: u64) -> Value {
        Value::Number(Number::from_u64(i))
    }
}
