//! The strict, bounded JSON parser: one [`Parser`] that builds either tree, the owned
//! [`Value`] ([`parse_with`]) or the borrowed [`super::node::Node`]
//! ([`super::node::parse_node`]), through a [`Build`] of each, so both see the same grammar,
//! limits and errors.

use super::value::{Map, Number, Value};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Bounds applied while parsing untrusted input. Every document and request goes through
/// these, so deep nesting or giant literals fail fast with a typed error instead of
/// exhausting the stack or memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum input size in bytes.
    pub max_bytes: usize,
    /// Maximum nesting depth of arrays and objects.
    pub max_depth: usize,
    /// Maximum length of one number literal.
    pub max_number_len: usize,
    /// Maximum number of members (array elements plus object members) in the whole document.
    pub max_members: usize,
    /// Reject `\u0000` in strings (PostgreSQL `jsonb` cannot store it).
    pub reject_nul: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 16 << 20,
            max_depth: 64,
            max_number_len: 1000,
            max_members: usize::MAX,
            reject_nul: true,
        }
    }
}

/// A bound of [`Limits`] a document crossed, worded once for the parser and for the size
/// walk of [`super::limits::check_value`] (which carries this one word, not an error, and
/// writes the error once, at the top).
#[derive(Clone, Copy)]
pub(crate) enum Crossed {
    /// `max_bytes`, as the size walk reports it (the parser names the document's length).
    Bytes,
    /// `max_members`.
    Members,
    /// `max_depth`.
    Depth,
    /// `max_number_len`.
    NumberLen,
}

impl Crossed {
    /// The error's kind and message for crossing this bound of `l`.
    #[cold]
    pub(crate) fn kind_and_message(self, l: &Limits) -> (JsonErrorKind, String) {
        match self {
            Crossed::Bytes => (
                JsonErrorKind::TooLarge,
                format!("document is more than the limit of {} bytes", l.max_bytes),
            ),
            Crossed::Members => (
                JsonErrorKind::TooManyMembers,
                format!("document has more than {} members", l.max_members),
            ),
            Crossed::Depth => (
                JsonErrorKind::TooDeep,
                format!("nesting deeper than {} levels", l.max_depth),
            ),
            Crossed::NumberLen => (
                JsonErrorKind::NumberTooLong,
                format!("number literal longer than {} characters", l.max_number_len),
            ),
        }
    }
}

/// What went wrong, with a stable code per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// Not JSON.
    Syntax,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A `\u0000` in a string (PostgreSQL text cannot hold it).
    NulCharacter,
    /// A `\ud800`-style escape without its pair.
    LoneSurrogate,
    /// Nesting deeper than the limit.
    TooDeep,
    /// More bytes than the limit.
    TooLarge,
    /// More object members or array elements than the limit.
    TooManyMembers,
    /// A number literal longer than the limit.
    NumberTooLong,
    /// Something after the value.
    TrailingData,
    /// No value at all.
    Empty,
}

impl JsonErrorKind {
    /// The stable code string.
    pub fn code(self) -> &'static str {
        self.error_code().code()
    }
    /// The stable code.
    pub fn error_code(self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            JsonErrorKind::Syntax => ErrorCode::JsonSyntax,
            JsonErrorKind::InvalidUtf8 => ErrorCode::JsonInvalidUtf8,
            JsonErrorKind::NulCharacter => ErrorCode::JsonNulCharacter,
            JsonErrorKind::LoneSurrogate => ErrorCode::JsonLoneSurrogate,
            JsonErrorKind::TooDeep => ErrorCode::JsonTooDeep,
            JsonErrorKind::TooLarge => ErrorCode::JsonTooLarge,
            JsonErrorKind::TooManyMembers => ErrorCode::JsonTooManyMembers,
            JsonErrorKind::NumberTooLong => ErrorCode::JsonNumberTooLong,
            JsonErrorKind::TrailingData => ErrorCode::JsonTrailingData,
            JsonErrorKind::Empty => ErrorCode::JsonEmpty,
        }
    }
}

/// A parse failure: kind, byte offset, the JSON path of the value being read, and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// What went wrong.
    pub kind: JsonErrorKind,
    /// Byte offset of the problem in the input.
    pub offset: usize,
    /// JSON path of the value being read (`$.a[0]`).
    pub path: String,
    /// Lower-case message.
    pub message: String,
}

impl JsonError {
    /// The stable error code of its kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)?;
        if !self.path.is_empty() {
            write!(f, " (path {})", self.path)?;
        }
        Ok(())
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON document with default limits.
pub fn parse(input: &[u8]) -> Result<Value, JsonError> {
    parse_with(input, Limits::default())
}

/// Parses one JSON document with the given limits.
pub fn parse_with(input: &[u8], limits: Limits) -> Result<Value, JsonError> {
    parse_as::<Owned>(input, limits)
}

/// What the parser builds: its scalars, arrays and objects. Both trees are built by the same
/// [`Parser`], so they differ only in what they keep.
pub(crate) trait Build<'a> {
    /// A value.
    type Out;
    /// An object being read.
    type Object;
    fn null() -> Self::Out;
    fn boolean(b: bool) -> Self::Out;
    /// A validated number literal (a slice of the input).
    fn number(literal: &'a str) -> Self::Out;
    fn string(s: Cow<'a, str>) -> Self::Out;
    /// A finished array.
    fn array(items: Vec<Self::Out>) -> Self::Out;
    fn new_object() -> Self::Object;
    fn member(o: &mut Self::Object, key: Cow<'a, str>, v: Self::Out);
    /// A finished object.
    fn object(o: Self::Object) -> Self::Out;
}

/// Builds [`Value`]s: strings owned, containers shrunk to what they hold (documents are
/// kept for as long as they are served).
pub(crate) struct Owned;

impl<'a> Build<'a> for Owned {
    type Out = Value;
    type Object = Map;
    fn null() -> Value {
        Value::Null
    }
    fn boolean(b: bool) -> Value {
        Value::Bool(b)
    }
    fn number(literal: &'a str) -> Value {
        Value::Number(Number::from_literal_unchecked(literal))
    }
    fn string(s: Cow<'a, str>) -> Value {
        Value::String(s.into_owned())
    }
    fn array(mut items: Vec<Value>) -> Value {
        // Growth left up to half the capacity unused; a parsed tree keeps only what it holds.
        items.shrink_to_fit();
        Value::Array(items)
    }
    fn new_object() -> Map {
        Map::new()
    }
    fn member(o: &mut Map, key: Cow<'a, str>, v: Value) {
        o.push(key.into_owned(), v);
    }
    fn object(mut o: Map) -> Value {
        o.shrink_to_fit();
        Value::Object(o)
    }
}

/// Parses one JSON document with the given limits into the tree `B` builds.
pub(crate) fn parse_as<'a, B: Build<'a>>(
    input: &'a [u8],
    limits: Limits,
) -> Result<B::Out, JsonError> {
    if input.len() > limits.max_bytes {
        return Err(JsonError {
            kind: JsonErrorKind::TooLarge,
            offset: limits.max_bytes,
            path: String::new(),
            message: format!(
                "document is {} bytes, more than the limit of {}",
                input.len(),
                limits.max_bytes
            ),
        });
    }
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(e) => {
            return Err(JsonError {
                kind: JsonErrorKind::InvalidUtf8,
                offset: e.valid_up_to(),
                path: String::new(),
                message: "invalid utf-8".into(),
            })
        }
    };
    let mut p = Parser::<B>::new(input, text, limits);
    p.skip_ws();
    if p.i >= p.s.len() {
        return Err(p.err(JsonErrorKind::Empty, "empty document".into()));
    }
    let v = p.value().map_err(|mut e| {
        e.path = finish_path(&e.path);
        e
    })?;
    p.skip_ws();
    if p.i < p.s.len() {
        return Err(p.err(
            JsonErrorKind::TrailingData,
            "unexpected trailing data after the document".into(),
        ));
    }
    Ok(v)
}

/// A member of an object read as raw text: its (unescaped) name and the byte range of its
/// value in the input, found by a structural scan that neither validates nor builds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMember {
    /// The member's name.
    pub name: String,
    /// Where its value is in the input.
    pub value: std::ops::Range<usize>,
}

/// Parses a top-level object like [`parse_with`], except the value of its member `name`: when
/// that is an object, each of its members is returned as a [`RawMember`] (its value neither
/// validated nor built) and the tree holds an empty object in its place.
///
/// `None` whenever the answer could differ from [`parse_with`]'s (any error, a top-level value
/// that is not an object, `name` appearing twice): the caller then parses the input whole. A
/// raw value is JSON only if the caller validates it (the call is valid JSON exactly when every
/// raw value is, at the depth it sits, `max_depth - 2` for its own nesting).
pub fn parse_with_raw_members(
    input: &[u8],
    limits: Limits,
    name: &str,
) -> Option<(Value, Vec<RawMember>)> {
    if input.len() > limits.max_bytes {
        return None;
    }
    let text = std::str::from_utf8(input).ok()?;
    let mut p = Parser::<Owned>::new(input, text, limits);
    p.skip_ws();
    if p.s.get(p.i) != Some(&b'{') {
        return None;
    }
    let mut map = Map::new();
    let mut raw: Option<Vec<RawMember>> = None;
    p.each_member(|p, key| {
        if key != name {
            map.push(key.into_owned(), p.value().ok()?);
        } else if raw.is_some() {
            return None;
        } else if p.s.get(p.i) == Some(&b'{') {
            let mut out = Vec::new();
            p.each_member(|p, name| {
                let start = p.i;
                p.i = super::scan::value_end(p.s, start)?;
                out.push(RawMember {
                    name: name.into_owned(),
                    value: start..p.i,
                });
                Some(())
            })?;
            raw = Some(out);
            map.push(key.into_owned(), Value::Object(Map::new()));
        } else {
            raw = Some(Vec::new());
            map.push(key.into_owned(), p.value().ok()?);
        }
        Some(())
    })?;
    p.skip_ws();
    if p.i < p.s.len() {
        return None;
    }
    Some((Value::Object(map), raw.unwrap_or_default()))
}

impl<'a, B: Build<'a>> Parser<'a, B> {
    /// Reads the object at the cursor as [`Parser::object`] does, handing each member's name
    /// to `f`, which must read its value; `None` on any error.
    fn each_member(
        &mut self,
        mut f: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>,
    ) -> Option<()> {
        self.enter().ok()?;
        self.i += 1;
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            self.skip_ws();
            if self.s.get(self.i) != Some(&b'"') {
                return None;
            }
            self.member().ok()?;
            let key = self.string().ok()?;
            self.skip_ws();
            if self.s.get(self.i) != Some(&b':') {
                return None;
            }
            self.i += 1;
            self.skip_ws();
            f(self, key)?;
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        self.depth -= 1;
        Some(())
    }
}

// Paths are accumulated innermost-first as reversed segments while unwinding; this turns
// them into `$.a[0].b` form.
fn finish_path(rev: &str) -> String {
    let mut segs: Vec<&str> = rev.split('\u{1}').filter(|s| !s.is_empty()).collect();
    segs.reverse();
    let mut out = String::from("$");
    for s in segs {
        out.push_str(s);
    }
    out
}

/// The parser's cursor over one input, building the tree `B` builds.
struct Parser<'a, B> {
    s: &'a [u8],
    /// `s` as text (validated as UTF-8 once, before parsing): strings and number literals are
    /// sliced from it between ASCII delimiters instead of being validated again.
    text: &'a str,
    i: usize,
    limits: Limits,
    depth: usize,
    members: usize,
    build: PhantomData<B>,
}

impl<'a, B: Build<'a>> Parser<'a, B> {
    fn new(s: &'a [u8], text: &'a str, limits: Limits) -> Self {
        Parser {
            s,
            text,
            i: 0,
            limits,
            depth: 0,
            members: 0,
            build: PhantomData,
        }
    }

    fn err(&self, kind: JsonErrorKind, message: String) -> JsonError {
        JsonError {
            kind,
            offset: self.i,
            path: String::new(),
            message,
        }
    }

    /// The input's text in `a..b`; both ends are next to ASCII delimiters, so on char
    /// boundaries (empty otherwise, which cannot happen).
    #[inline]
    fn slice(&self, a: usize, b: usize) -> &'a str {
        self.text.get(a..b).unwrap_or_default()
    }

    fn syntax(&self, what: &str) -> JsonError {
        let found = match self.s.get(self.i) {
            None => "end of input".to_string(),
            Some(&b) if b.is_ascii_graphic() => format!("'{}'", b as char),
            Some(&b) => format!("byte 0x{:02x}", b),
        };
        self.err(
            JsonErrorKind::Syntax,
            format!("expected {what}, found {found}"),
        )
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(&b) = self.s.get(self.i) {
            if b == b' ' || b == b'\n' || b == b'\r' || b == b'\t' {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn value(&mut self) -> Result<B::Out, JsonError> {
        match self.s.get(self.i) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(B::string(self.string()?)),
            Some(b't') => self.literal(b"true", B::boolean(true)),
            Some(b'f') => self.literal(b"false", B::boolean(false)),
            Some(b'n') => self.literal(b"null", B::null()),
            Some(b'-') | Some(b'0'..=b'9') => self.number(),
            _ => Err(self.syntax("a value")),
        }
    }

    fn literal(&mut self, word: &[u8], v: B::Out) -> Result<B::Out, JsonError> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.syntax("a value"))
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            let (kind, message) = Crossed::Depth.kind_and_message(&self.limits);
            return Err(self.err(kind, message));
        }
        Ok(())
    }

    /// Counts one array element or object member against `max_members`, before it is read.
    fn member(&mut self) -> Result<(), JsonError> {
        self.members += 1;
        if self.members > self.limits.max_members {
            let (kind, message) = Crossed::Members.kind_and_message(&self.limits);
            return Err(self.err(kind, message));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<B::Out, JsonError> {
        self.enter()?;
        self.i += 1;
        let mut map = B::new_object();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            self.depth -= 1;
            return Ok(B::object(map));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.syntax("a string key"));
            }
            self.member()?;
            let key = self.string()?;
            self.skip_ws();
            if self.s.get(self.i) != Some(&b':') {
                return Err(self.syntax("':'"));
            }
            self.i += 1;
            self.skip_ws();
            let v = match self.value() {
                Ok(v) => v,
                Err(mut e) => {
                    e.path.push('\u{1}');
                    e.path.push_str(&path_key(&key));
                    return Err(e);
                }
            };
            B::member(&mut map, key, v);
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.syntax("',' or '}'")),
            }
        }
        self.depth -= 1;
        Ok(B::object(map))
    }

    fn array(&mut self) -> Result<B::Out, JsonError> {
        self.enter()?;
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            self.depth -= 1;
            return Ok(B::array(items));
        }
        loop {
            self.skip_ws();
            self.member()?;
            let v = match self.value() {
                Ok(v) => v,
                Err(mut e) => {
                    e.path.push('\u{1}');
                    e.path.push_str(&format!("[{}]", items.len()));
                    return Err(e);
                }
            };
            items.push(v);
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.syntax("',' or ']'")),
            }
        }
        self.depth -= 1;
        Ok(B::array(items))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        match super::scan::hex4(self.s.get(self.i..).unwrap_or_default()) {
            Ok(v) => {
                self.i += 4;
                Ok(v)
            }
            Err(digits) => {
                self.i += digits;
                Err(self.syntax("4 hex digits in a \\u escape"))
            }
        }
    }

    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.i += 1; // opening quote
        let start = self.i;
        // Fast path: no escapes (the run found eight bytes a step).
        self.i += plain_run(&self.s[self.i..]);
        match self.s.get(self.i) {
            Some(b'"') => {
                // Input was validated as UTF-8 and we stopped at an ASCII quote.
                let s = self.slice(start, self.i);
                self.i += 1;
                return Ok(Cow::Borrowed(s));
            }
            Some(0..=0x1f) => {
                return Err(self.err(JsonErrorKind::Syntax, "control character in string".into()))
            }
            _ => {}
        }
        let mut out = String::from(self.slice(start, self.i));
        loop {
            let run_start = self.i;
            self.i += plain_run(&self.s[self.i..]);
            out.push_str(self.slice(run_start, self.i));
            match self.s.get(self.i) {
                None => return Err(self.syntax("'\"' to close the string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let esc_at = self.i - 2;
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if self.s.get(self.i) == Some(&b'\\')
                                    && self.s.get(self.i + 1) == Some(&b'u')
                                {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(JsonError {
                                            kind: JsonErrorKind::LoneSurrogate,
                                            offset: esc_at,
                                            path: String::new(),
                                            message: "lone surrogate in \\u escape".into(),
                                        });
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    return Err(JsonError {
                                        kind: JsonErrorKind::LoneSurrogate,
                                        offset: esc_at,
                                        path: String::new(),
                                        message: "lone surrogate in \\u escape".into(),
                                    });
                                }
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(JsonError {
                                    kind: JsonErrorKind::LoneSurrogate,
                                    offset: esc_at,
                                    path: String::new(),
                                    message: "lone surrogate in \\u escape".into(),
                                });
                            } else {
                                hi
                            };
                            if cp == 0 && self.limits.reject_nul {
                                return Err(JsonError {
                                    kind: JsonErrorKind::NulCharacter,
                                    offset: esc_at,
                                    path: String::new(),
                                    message: "\\u0000 is not allowed in strings".into(),
                                });
                            }
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                            continue;
                        }
                        _ => return Err(self.syntax("a valid escape character")),
                    };
                    self.i += 1;
                    out.push(c);
                }
                Some(_) => {
                    return Err(
                        self.err(JsonErrorKind::Syntax, "control character in string".into())
                    )
                }
            }
        }
    }

    fn number(&mut self) -> Result<B::Out, JsonError> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
            }
            _ => return Err(self.syntax("a digit")),
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.syntax("a digit after '.'"));
            }
            while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.s.get(self.i), Some(b'e') | Some(b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+') | Some(b'-')) {
                self.i += 1;
            }
            if !matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.syntax("a digit in the exponent"));
            }
            while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if self.i - start > self.limits.max_number_len {
            let (kind, message) = Crossed::NumberLen.kind_and_message(&self.limits);
            return Err(JsonError {
                kind,
                offset: start,
                path: String::new(),
                message,
            });
        }
        let lit = self.text.get(start..self.i).unwrap_or("0");
        Ok(B::number(lit))
    }
}

/// The length of the run of string bytes at the start of `b` that needs no attention: up to
/// the first quote, backslash or control character.
#[inline]
fn plain_run(b: &[u8]) -> usize {
    super::scan::special(b, true)
}

fn path_key(key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        format!(".{key}")
    } else {
        let mut s = String::from("[");
        super::write::write_std_string(&mut s, key);
        s.push(']');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> JsonErrorKind {
        parse(s.as_bytes()).unwrap_err().kind
    }

    #[test]
    fn strings_next_to_multibyte_text_are_sliced_whole() {
        // Strings and literals are sliced from the validated text (no second UTF-8 check):
        // multi-byte characters at either end of a string, around escapes and beside numbers.
        let text = r#"{"é": ["é", "aé", "éa", "\u00e9é\n", "€\"€", "😀"], "n": [-1.5e3, 0]}"#;
        let v = parse(text.as_bytes()).unwrap();
        let m = v.as_object().unwrap();
        let a: Vec<&str> = m
            .get("é")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(a, ["é", "aé", "éa", "éé\n", "€\"€", "😀"]);
        let n = m.get("n").unwrap().as_array().unwrap();
        assert_eq!(n[0].as_number().unwrap().literal(), "-1.5e3");
        assert_eq!(n[1].as_number().unwrap().literal(), "0");
    }

    /// A `\u` escape with fewer than four hex digits is refused at its first other byte.
    #[test]
    fn short_unicode_escapes_point_at_the_first_byte_that_is_not_a_digit() {
        for (text, offset) in [
            (r#"["\u12g4"]"#, 6),
            (r#"["\uzz"]"#, 4),
            (r#"["\ud83d\ude0x"]"#, 13),
            ("[\"\\u00", 6),
        ] {
            let err = parse(text.as_bytes()).unwrap_err();
            assert_eq!(
                (err.kind, err.offset),
                (JsonErrorKind::Syntax, offset),
                "{text}"
            );
        }
    }

    #[test]
    fn parses_all_value_kinds() {
        let v =
            parse(br#" {"a": [1, -2.5e3, true, false, null, "x\u00e9\ud83d\ude00\n"]} "#).unwrap();
        let arr = v.as_object().unwrap().get("a").unwrap().as_array().unwrap();
        assert_eq!(arr.len(), 6);
        assert_eq!(arr[1].as_number().unwrap().literal(), "-2.5e3");
        assert_eq!(arr[5].as_str().unwrap(), "x\u{e9}\u{1F600}\n");
    }

    #[test]
    fn keeps_duplicates_and_last_wins() {
        let v = parse(br#"{"a":1,"A":3,"a":2}"#).unwrap();
        let m = v.as_object().unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("a").unwrap().as_f64(), Some(2.0));
        assert_eq!(m.get_ci("a").unwrap().as_f64(), Some(2.0));
        assert_eq!(m.get_ci("A").unwrap().as_f64(), Some(2.0));
    }

    #[test]
    fn rejects_bad_input_with_kinds() {
        assert_eq!(kind(""), JsonErrorKind::Empty);
        assert_eq!(kind("{"), JsonErrorKind::Syntax);
        assert_eq!(kind("[1,]"), JsonErrorKind::Syntax);
        assert_eq!(kind("01"), JsonErrorKind::TrailingData);
        assert_eq!(kind("1."), JsonErrorKind::Syntax);
        assert_eq!(kind("{} {}"), JsonErrorKind::TrailingData);
        assert_eq!(kind(r#""\u0000""#), JsonErrorKind::NulCharacter);
        assert_eq!(kind(r#""\ud800""#), JsonErrorKind::LoneSurrogate);
        assert_eq!(kind(r#""\udc00x""#), JsonErrorKind::LoneSurrogate);
        assert_eq!(kind(r#""\ud800\u0041""#), JsonErrorKind::LoneSurrogate);
        assert_eq!(kind("\"a\x01\""), JsonErrorKind::Syntax);
        assert_eq!(
            parse(b"\"\xff\"").unwrap_err().kind,
            JsonErrorKind::InvalidUtf8
        );
        assert_eq!(kind(&"[".repeat(100)), JsonErrorKind::TooDeep);
        assert_eq!(kind(&"9".repeat(2000)), JsonErrorKind::NumberTooLong);
        let lim = Limits {
            max_bytes: 3,
            ..Limits::default()
        };
        assert_eq!(
            parse_with(b"[1,2]", lim).unwrap_err().kind,
            JsonErrorKind::TooLarge
        );
    }

    #[test]
    fn deep_nesting_never_overflows_the_stack() {
        let s = "[".repeat(1_000_000);
        assert_eq!(kind(&s), JsonErrorKind::TooDeep);
    }

    #[test]
    fn error_paths_name_the_offending_member() {
        let e = parse(br#"{"rules":[{"a":1},{"b":tru}]}"#).unwrap_err();
        assert_eq!(e.path, "$.rules[1].b");
        let e = parse(br#"{"we ird":[x]}"#).unwrap_err();
        assert_eq!(e.path, "$[\"we ird\"][0]");
    }

    #[test]
    fn nul_allowed_when_configured() {
        let lim = Limits {
            reject_nul: false,
            ..Limits::default()
        };
        assert_eq!(
            parse_with(br#""\u0000""#, lim).unwrap(),
            Value::String("\0".into())
        );
    }
}
