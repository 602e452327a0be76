use super::float::format_go_float;
use std::borrow::Cow;

/// A JSON value. Numbers keep their literal text so that canonical forms (PostgreSQL `numeric`,
/// Go `int64`) can be derived exactly; objects keep every member in document order, duplicates
/// included, so each consumer can apply its own "last one wins" rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, with its literal text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in document order.
    Object(Map),
}

/// A number literal, validated against the JSON grammar. Literals of up to
/// `INLINE_NUMBER` bytes (nearly all) are stored inline, so an array of numbers costs one
/// value slot per element and no allocation.
#[derive(Clone)]
pub struct Number(Repr);

/// Longest literal stored inline (the `Value` stays 32 bytes).
const INLINE_NUMBER: usize = 22;

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE_NUMBER] },
    Heap(Box<str>),
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.literal() == other.literal()
    }
}

impl Eq for Number {}

impl std::hash::Hash for Number {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.literal().hash(h)
    }
}

impl std::fmt::Debug for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Number").field(&self.literal()).finish()
    }
}

impl Number {
    /// Wraps a literal that the parser has already validated.
    pub(crate) fn from_literal_unchecked(lit: &str) -> Number {
        if lit.len() <= INLINE_NUMBER {
            let mut bytes = [0u8; INLINE_NUMBER];
            bytes[..lit.len()].copy_from_slice(lit.as_bytes());
            Number(Repr::Inline {
                len: lit.len() as u8,
                bytes,
            })
        } else {
            Number(Repr::Heap(lit.into()))
        }
    }
    /// Builds a number from a finite float using Go's `encoding/json` rendering; `None` for NaN/inf.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        // Integral values below 2^53 (counts, ranks, whole scores) print as integers in Go
        // and here; integer formatting is far cheaper than the shortest-float search. -0.0
        // keeps its sign through the float path ("-0", as Go writes it).
        if f.fract() == 0.0
            && f.abs() < 9_007_199_254_740_992.0
            && !(f == 0.0 && f.is_sign_negative())
        {
            return Some(Number::from_i64(f as i64));
        }
        let mut s = String::with_capacity(24);
        format_go_float(&mut s, f);
        Some(Number::from_literal_unchecked(&s))
    }
    /// The number `i`.
    pub fn from_i64(i: i64) -> Number {
        let mut buf = [0u8; 20];
        let digits = decimal(i.unsigned_abs(), &mut buf);
        if i < 0 {
            let mut s = String::with_capacity(digits.len() + 1);
            s.push('-');
            s.push_str(digits);
            Number::from_literal_unchecked(&s)
        } else {
            Number::from_literal_unchecked(digits)
        }
    }
    /// The number `i`.
    pub fn from_u64(i: u64) -> Number {
        let mut buf = [0u8; 20];
        Number::from_literal_unchecked(decimal(i, &mut buf))
    }
    /// The literal as written.
    pub fn literal(&self) -> &str {
        match &self.0 {
            // Inline bytes are a copy of a valid literal (ASCII).
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..*len as usize]).unwrap_or("0")
            }
            Repr::Heap(s) => s,
        }
    }
    /// The literal's length in bytes (what [`Number::literal`]`().len()` gives, without
    /// reading the literal).
    pub fn literal_len(&self) -> usize {
        match &self.0 {
            Repr::Inline { len, .. } => usize::from(*len),
            Repr::Heap(s) => s.len(),
        }
    }
    /// True when the literal has neither a fraction nor an exponent (what Go accepts for ints).
    pub fn is_integer_literal(&self) -> bool {
        !self
            .literal()
            .bytes()
            .any(|b| matches!(b, b'.' | b'e' | b'E'))
    }
    /// The value as `i64` when the literal is an integer literal in range (Go `int64` decoding).
    pub fn as_i64(&self) -> Option<i64> {
        literal_i64(self.literal())
    }
    /// The value as `i64` when it is mathematically an integer in range (`3`, `3.0`, `3e0`).
    pub fn as_integral_i64(&self) -> Option<i64> {
        literal_integral_i64(self.literal())
    }
    /// The value as a finite `f64` (correctly rounded); `None` if it overflows.
    pub fn as_f64(&self) -> Option<f64> {
        literal_f64(self.literal())
    }
}

/// A valid number literal as `i64` when it is an integer literal in range ([`Number::as_i64`]).
pub(crate) fn literal_i64(lit: &str) -> Option<i64> {
    if lit.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        None
    } else {
        lit.parse().ok()
    }
}

/// A valid number literal as `i64` when it is mathematically an integer in range
/// ([`Number::as_integral_i64`]).
pub(crate) fn literal_integral_i64(lit: &str) -> Option<i64> {
    if let Some(i) = literal_i64(lit) {
        return Some(i);
    }
    let f = literal_f64(lit)?;
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Some(f as i64)
    } else {
        None
    }
}

/// A valid number literal as a finite `f64` ([`Number::as_f64`]).
pub(crate) fn literal_f64(lit: &str) -> Option<f64> {
    let f: f64 = lit.parse().ok()?;
    if f.is_finite() {
        Some(f)
    } else {
        None
    }
}

/// The decimal digits of `n` in `buf` (no formatting machinery, one exact allocation later).
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// Below this many members, duplicate detection scans pairwise.
const SMALL_MAP: usize = 16;

/// Object members in document order. Lookups return the *last* matching member, which is
/// what both PostgreSQL `jsonb` and Go's decoder keep for duplicate keys.
///
/// Member names are `Cow<'static, str>`: names the engine writes (`"item_id"`, `"rank"`, ...)
/// are borrowed statics, so building an answer allocates nothing per key; parsed names are
/// owned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map(Vec<(Cow<'static, str>, Value)>);

impl Map {
    /// An empty object.
    pub fn new() -> Map {
        Map(Vec::new())
    }
    /// An empty object with room for `n` members.
    pub fn with_capacity(n: usize) -> Map {
        Map(Vec::with_capacity(n))
    }
    /// Drops unused capacity (the parser calls it on every finished object).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
    /// Appends a member without looking for an existing one (parser and builders use this).
    pub fn push(&mut self, key: impl Into<Cow<'static, str>>, value: Value) {
        self.0.push((key.into(), value));
    }
    /// Sets `key`, replacing the last existing member of that name.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: Value) {
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
    /// Members, duplicates included.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// All members in document order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
    /// Members with duplicates collapsed (last value wins, at the position of the last one).
    ///
    /// O(n log n) in the member count (positions sorted by name; a handful of members are
    /// compared pairwise).
    pub fn deduped(&self) -> Vec<(&str, &Value)> {
        deduped(&self.0)
    }
    /// The members, duplicates included, in document order.
    pub(crate) fn as_slice(&self) -> &[(Cow<'_, str>, Value)] {
        &self.0
    }
    /// The members as owned (name, value) pairs, in document order.
    pub fn into_vec(self) -> Vec<(String, Value)> {
        self.0
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect()
    }
}

/// `members` with duplicates collapsed (last value wins, at the position of the last one).
///
/// O(n log n) in the member count: member positions are sorted by name (ties by position),
/// which puts the last member of each name at the end of its run.
pub(crate) fn deduped<'m, T>(members: &'m [(Cow<'_, str>, T)]) -> Vec<(&'m str, &'m T)> {
    let n = members.len();
    if n <= SMALL_MAP {
        // A handful of members: the pairwise scan is cheaper than sorting.
        let mut out: Vec<(&str, &T)> = Vec::with_capacity(n);
        for (i, (k, v)) in members.iter().enumerate() {
            if !members[i + 1..].iter().any(|(k2, _)| k2 == k) {
                out.push((&**k, v));
            }
        }
        return out;
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        members[a as usize]
            .0
            .cmp(&members[b as usize].0)
            .then(a.cmp(&b))
    });
    let mut keep = vec![false; n];
    for (j, &i) in order.iter().enumerate() {
        let last_of_name = order
            .get(j + 1)
            .is_none_or(|&next| members[next as usize].0 != members[i as usize].0);
        if last_of_name {
            keep[i as usize] = true;
        }
    }
    members
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|((k, v), _)| (&**k, v))
        .collect()
}

impl From<Vec<(String, Value)>> for Map {
    fn from(v: Vec<(String, Value)>) -> Map {
        Map(v.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
    }
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    /// The array's elements, if this is one.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
    /// The number as a float, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(Number::as_f64)
    }
    /// True for `null`.
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
    /// Builds a number from an integer.
    pub fn i64(i: i64) -> Value {
        Value::Number(Number::from_i64(i))
    }
    /// Builds a number from an unsigned integer.
    pub fn u64(i: u64) -> Value {
        Value::Number(Number::from_u64(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A number's length is its literal's, inline (up to 22 bytes) and on the heap.
    #[test]
    fn literal_len_is_the_literal_length() {
        for lit in [
            "0",
            "-1.5e-7",
            "1234567890123456789012",
            "12345678901234567890123",
            &"9".repeat(999),
        ] {
            let n = Number::from_literal_unchecked(lit);
            assert_eq!(n.literal(), lit);
            assert_eq!(n.literal_len(), lit.len(), "{lit}");
        }
    }

    /// The integer fast path of `from_f64` writes exactly what Go's float rendering does.
    #[test]
    fn from_f64_integers_match_the_float_rendering() {
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            3.0,
            1e15,
            -1e15,
            9_007_199_254_740_991.0,
        ];
        xs.extend((0..2000).map(|i| (i * 7919 - 5000) as f64));
        xs.extend([9_007_199_254_740_992.0, 1e20, 1e21, 0.5, -2.25, 1e-7]);
        for f in xs {
            let mut want = String::new();
            format_go_float(&mut want, f);
            assert_eq!(Number::from_f64(f).unwrap().literal(), want, "{f:?}");
        }
    }

    #[test]
    fn integer_literals_match_to_string() {
        for i in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            1234567890,
            i64::MIN,
            i64::MAX,
            -9_007_199_254_740_993,
        ] {
            assert_eq!(Number::from_i64(i).literal(), i.to_string());
        }
        for u in [
            0,
            1,
            99,
            100,
            18_446_744_073_709_551_615u64,
            10_000_000_000_000_000_000,
        ] {
            assert_eq!(Number::from_u64(u).literal(), u.to_string());
        }
    }
}
