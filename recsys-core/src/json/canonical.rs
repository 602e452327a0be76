use super::parse::{parse_with, JsonError, JsonErrorKind, Limits};
use super::value::{Number, Value};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// PostgreSQL 15 `jsonb` text rendering of a JSON document (see `docs/formats.md`).
/// Fails on input PostgreSQL would reject: invalid UTF-8, `\u0000`, lone surrogates,
/// and numbers outside the `numeric` range.
///
/// The input is held to the document limits ([`Limits::document`]) and so is the canonical
/// text: a document whose canonical form would exceed the size limit (`[0,0]` grows to
/// `[0, 0]`) is refused with `RECSYS_JSON_TOO_LARGE`, so canonical text is always a fixed
/// point: it parses again, within the limits, to itself.
pub fn canonical_text(input: &[u8]) -> Result<String, JsonError> {
    let limits = Limits::document();
    let v = parse_with(input, limits)?;
    canonical_value_text_within(&v, limits.max_bytes)
}

/// Canonical text of an already parsed value (no size limit: audit bodies, test answers).
pub fn canonical_value_text(v: &Value) -> Result<String, JsonError> {
    canonical_value_text_within(v, usize::MAX)
}

/// Canonical text of a value, refused with `RECSYS_JSON_TOO_LARGE` past `max_bytes`.
pub fn canonical_value_text_within(v: &Value, max_bytes: usize) -> Result<String, JsonError> {
    let mut out = String::with_capacity(64);
    write_canonical(&mut out, v, &mut Vec::new(), max_bytes)?;
    if out.len() > max_bytes {
        return Err(canonical_too_large(max_bytes));
    }
    Ok(out)
}

fn canonical_too_large(max_bytes: usize) -> JsonError {
    JsonError {
        kind: JsonErrorKind::TooLarge,
        offset: 0,
        path: "$".into(),
        message: format!("canonical text is more than the limit of {max_bytes} bytes"),
    }
}

/// The ETag of a document: lower-case hex SHA-256 of its canonical text.
pub fn etag(input: &[u8]) -> Result<String, JsonError> {
    Ok(sha256_hex(canonical_text(input)?.as_bytes()))
}

/// The ETag of an already parsed config or rules document (its canonical text is held to
/// the document size limit, as [`etag`] holds it).
pub fn etag_of_value(v: &Value) -> Result<String, JsonError> {
    let text = canonical_value_text_within(v, Limits::document().max_bytes)?;
    Ok(sha256_hex(text.as_bytes()))
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Normalises an `If-Match` value. The reference trims whitespace and strips surrounding
/// quotes; we additionally accept the weak form `W/"…"` and lower-case the hex, so that
/// every spelling a client might send for one version compares equal.
pub fn normalize_if_match(raw: &str) -> String {
    let mut s = raw.trim();
    if let Some(rest) = s.strip_prefix("W/").or_else(|| s.strip_prefix("w/")) {
        s = rest.trim();
    }
    let s = s.trim_matches('"').trim();
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        s.to_ascii_lowercase()
    } else {
        s.to_string()
    }
}

/// True when an `If-Match` header value names `current_etag`. An empty header is "no
/// condition" and is handled by the caller; `*` matches any existing version.
pub fn if_match_matches(raw: &str, current_etag: &str) -> bool {
    let n = normalize_if_match(raw);
    n == "*" || n == current_etag
}

/// One step of the path to the value being written; the path is rendered (`$.a[3]`) only
/// when a value is refused, so writing a document builds no path strings.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The JSON path of `steps` (`$`, `.key`, `[i]`).
fn render_path(steps: &[Step<'_>]) -> String {
    let mut path = String::from("$");
    for step in steps {
        match step {
            Step::Key(k) => {
                path.push('.');
                path.push_str(k);
            }
            Step::Index(i) => {
                let _ = write!(path, "[{i}]");
            }
        }
    }
    path
}

fn write_canonical<'a>(
    out: &mut String,
    v: &'a Value,
    path: &mut Vec<Step<'a>>,
    max: usize,
) -> Result<(), JsonError> {
    // Each value writes a bounded amount before the next check (strings at most 6x, numbers
    // at most MAX_CANONICAL_NUMBER_LEN), so a refused document costs about `max` work.
    if out.len() > max {
        return Err(canonical_too_large(max));
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => numeric_text(out, n).map_err(|(kind, message)| JsonError {
            kind,
            offset: 0,
            path: render_path(path),
            message,
        })?,
        Value::String(s) => pg_string(out, s, path)?,
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                path.push(Step::Index(i));
                write_canonical(out, x, path, max)?;
                path.pop();
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in jsonb_members(m).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                pg_string(out, k, path)?;
                out.push_str(": ");
                path.push(Step::Key(k));
                write_canonical(out, x, path, max)?;
                path.pop();
            }
            out.push('}');
        }
    }
    Ok(())
}

/// An object's members as `jsonb` keeps them: one per key (the last one written), shorter
/// keys first, then by bytes. One sort of the members (position breaking ties, so each key's
/// run ends with its last member) and one pass collapsing the runs: O(n log n).
fn jsonb_members(m: &super::value::Map) -> Vec<(&str, &Value)> {
    let mut members: Vec<(&str, &Value, usize)> = m
        .iter()
        .enumerate()
        .map(|(at, (k, v))| (k, v, at))
        .collect();
    members.sort_unstable_by(|a, b| {
        (a.0.len().cmp(&b.0.len()))
            .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
            .then(a.2.cmp(&b.2))
    });
    // `later` follows `kept` in the sorted run: the kept slot takes its value.
    members.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 = later.1;
        }
        same
    });
    members.into_iter().map(|(k, v, _)| (k, v)).collect()
}

/// What a byte of a string becomes in `jsonb` text: itself (0), a two-character escape, a
/// `\u00XX` escape (`u`), or a refusal (NUL, `!`).
const PG_ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 1;
    while c < 0x20 {
        t[c] = b'u';
        c += 1;
    }
    t[0] = b'!';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t
};

/// Writes `s` as a `jsonb` string literal: runs of bytes that need no escape are copied
/// whole (every byte of a multi-byte character is one of them).
fn pg_string(out: &mut String, s: &str, path: &[Step<'_>]) -> Result<(), JsonError> {
    out.push('"');
    let b = s.as_bytes();
    let mut run = 0;
    for (i, &c) in b.iter().enumerate() {
        let escape = PG_ESCAPES[c as usize];
        if escape == 0 {
            continue;
        }
        // `c` is ASCII, so `i` is a character boundary.
        out.push_str(&s[run..i]);
        run = i + 1;
        match escape {
            b'!' => {
                return Err(JsonError {
                    kind: JsonErrorKind::NulCharacter,
                    offset: 0,
                    path: render_path(path),
                    message: "\\u0000 cannot be stored".into(),
                })
            }
            b'u' => {
                let _ = write!(out, "\\u{:04x}", c);
            }
            e => {
                out.push('\\');
                out.push(e as char);
            }
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
    Ok(())
}

// PostgreSQL `numeric` limits: up to 131072 digits before the decimal point and 16383 after;
// exponents at or beyond INT_MAX / 2 in magnitude are refused before anything else.
const PG_MAX_INT_DIGITS: i64 = 131_072;
const PG_MAX_FRAC_DIGITS: i64 = 16_383;
const PG_MAX_EXPONENT: i64 = (i32::MAX / 2) as i64;

/// The longest canonical rendering of one number we produce: the parser's number-literal
/// limit, so that canonical text always parses again (canonicalisation is a fixed point) and
/// a short literal such as `1e131071` cannot expand into 131 072 characters. PostgreSQL would
/// render such numbers; we refuse them (a deliberate difference, `docs/differences.md`).
pub const MAX_CANONICAL_NUMBER_LEN: usize = 1000;

/// Renders a JSON number literal as PostgreSQL `numeric` text: exponent expanded, scale =
/// max(0, fraction digits − exponent), trailing zeros kept, negative zero unsigned.
///
/// Every bound is checked on lengths computed up front, before anything is allocated.
fn numeric_text(out: &mut String, n: &Number) -> Result<(), (JsonErrorKind, String)> {
    let lit = n.literal();
    if is_plain_integer(lit) {
        out.push_str(lit);
        return Ok(());
    }
    numeric_text_general(out, lit)
}

/// [`numeric_text`] for any literal.
fn numeric_text_general(out: &mut String, lit: &str) -> Result<(), (JsonErrorKind, String)> {
    let range_err = || {
        (
            JsonErrorKind::Syntax,
            format!("number {lit} is out of range for numeric"),
        )
    };
    let (neg, rest) = match lit.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, lit),
    };
    let (mant, exp_str) = match rest.find(['e', 'E']) {
        Some(p) => (&rest[..p], Some(&rest[p + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mant.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mant, ""),
    };
    let exp: i64 = match exp_str {
        None => 0,
        Some(e) => {
            let (sign, digits) = match e.as_bytes().first() {
                Some(b'-') => (-1i64, &e[1..]),
                Some(b'+') => (1, &e[1..]),
                _ => (1, e),
            };
            // Saturates long before i64 overflow: anything past the limit is refused below.
            let mut v: i64 = 0;
            for b in digits.bytes() {
                v = (v * 10 + (b - b'0') as i64).min(PG_MAX_EXPONENT);
            }
            sign * v
        }
    };
    if exp >= PG_MAX_EXPONENT || exp <= -PG_MAX_EXPONENT {
        return Err(range_err());
    }
    let digits = [int_part.as_bytes(), frac_part.as_bytes()].concat();
    let len = digits.len() as i64;
    let frac_len = frac_part.len() as i64;
    // |exp| < 2^30 and the lengths are bounded by the input size, so none of this overflows.
    let point = int_part.len() as i64 + exp; // position of the decimal point within `digits`
    let scale = (frac_len - exp).max(0);
    let first_nonzero = digits.iter().position(|&b| b != b'0');
    if scale > PG_MAX_FRAC_DIGITS {
        return Err((
            JsonErrorKind::Syntax,
            format!("number {lit} has too many fraction digits for numeric"),
        ));
    }
    // Significant integer digits (at least the single `0`).
    let int_digits = match first_nonzero {
        Some(fz) if point > fz as i64 => point - fz as i64,
        _ => 1,
    };
    if int_digits > PG_MAX_INT_DIGITS {
        return Err(range_err());
    }
    let is_zero = first_nonzero.is_none();
    let sign = (neg && !is_zero) as i64;
    let total = sign + int_digits + if scale > 0 { 1 + scale } else { 0 };
    if total > MAX_CANONICAL_NUMBER_LEN as i64 {
        return Err((
            JsonErrorKind::NumberTooLong,
            format!(
                "number {lit} expands to {total} characters in canonical form; at most {MAX_CANONICAL_NUMBER_LEN} are accepted"
            ),
        ));
    }
    if sign == 1 {
        out.push('-');
    }
    // Integer part: the significant digits up to the point, zero-padded when the point lies
    // beyond the last digit.
    match first_nonzero {
        Some(fz) if point > fz as i64 => {
            let end = point.min(len) as usize;
            out.extend(digits[fz..end].iter().map(|&b| b as char));
            if point > len {
                out.extend(std::iter::repeat_n('0', (point - len) as usize));
            }
        }
        _ => out.push('0'),
    }
    if scale > 0 {
        out.push('.');
        // Fraction digits: digits after the point, left-padded with zeros if the point is
        // before the first digit; exactly `scale` of them.
        let mut written = 0i64;
        if point < 0 {
            let pad = (-point).min(scale);
            out.extend(std::iter::repeat_n('0', pad as usize));
            written += pad;
        }
        let from = point.max(0) as usize;
        for &b in digits.iter().skip(from) {
            if written >= scale {
                break;
            }
            out.push(b as char);
            written += 1;
        }
        out.extend(std::iter::repeat_n('0', (scale - written).max(0) as usize));
    }
    Ok(())
}

/// Whether `numeric` writes the literal back unchanged: an integer without a leading zero
/// (or `0` itself, not `-0`), within [`MAX_CANONICAL_NUMBER_LEN`]. Such literals skip the
/// general rendering, which would write the same characters.
fn is_plain_integer(lit: &str) -> bool {
    let digits = lit.strip_prefix('-').unwrap_or(lit).as_bytes();
    match digits {
        [b'0'] => digits.len() == lit.len(),
        [b'1'..=b'9', rest @ ..] => {
            lit.len() <= MAX_CANONICAL_NUMBER_LEN && rest.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &[(&str, &str, &str)] = &[
        (
            r#"{"weights":{"pop":0.7,"cooc":0.3}}"#,
            r#"{"weights": {"pop": 0.7, "cooc": 0.3}}"#,
            "dfcdd8e7a983874ea92e6b4a1772c69b2f43d48eda1f4e5d5219966949d9bc73",
        ),
        (
            r#"{"weights":{"pop":1,"cooc":0,"emb":0},"algo":"popularity","flags":{"beta":true}}"#,
            r#"{"algo": "popularity", "flags": {"beta": true}, "weights": {"emb": 0, "pop": 1, "cooc": 0}}"#,
            "6544371c28a72fdcb30698deaab55840dfe8a6a59f979de0afb0485cfc55fe97",
        ),
        (
            r#"[{"action":"pin","target_type":"item","item_ids":["item_1","item_2"],"surface":"home","priority":10}]"#,
            r#"[{"action": "pin", "surface": "home", "item_ids": ["item_1", "item_2"], "priority": 10, "target_type": "item"}]"#,
            "db5729dd18989279309f040b154c8a28f561cdfba1a4258fee58791499fe77a3",
        ),
        (
            r#"{"rules":[{"action":"block","tag":"Adult"}]}"#,
            r#"{"rules": [{"tag": "Adult", "action": "block"}]}"#,
            "a415b557cd4e1fd5e562f9a152f20f6f413d587224c7667f1614ba5c19061eeb",
        ),
        (
            "{}",
            "{}",
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        ),
        (
            "[]",
            "[]",
            "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
        ),
        (
            r#"{"n":[1.0,1e2,-0.0,0.000001,1E-7,123456789012345678901234567890]}"#,
            r#"{"n": [1.0, 100, 0.0, 0.000001, 0.0000001, 123456789012345678901234567890]}"#,
            "59740d8d86609441e1562d48334ee7edaa806068e5256c1541cfebfba5103057",
        ),
        (r#"{"a":1,"a":2}"#, r#"{"a": 2}"#, ""),
        (
            r#"{"é":1,"z":2,"ab":3,"B":4}"#,
            r#"{"B": 4, "z": 2, "ab": 3, "é": 1}"#,
            "",
        ),
    ];

    #[test]
    fn reference_vectors() {
        for (input, canon, tag) in VECTORS {
            assert_eq!(canonical_text(input.as_bytes()).unwrap(), *canon, "{input}");
            if !tag.is_empty() {
                assert_eq!(etag(input.as_bytes()).unwrap(), *tag, "{input}");
            }
        }
    }

    fn num(lit: &str) -> String {
        let v = crate::json::parse(lit.as_bytes()).unwrap();
        canonical_value_text(&v).unwrap()
    }

    #[test]
    fn numeric_rendering() {
        for (lit, want) in [
            ("1e2", "100"),
            ("1.0", "1.0"),
            ("2.50", "2.50"),
            ("1E-2", "0.01"),
            ("1E-7", "0.0000001"),
            ("100.10e1", "1001.0"),
            ("-0.0", "0.0"),
            ("-0", "0"),
            ("-1.5", "-1.5"),
            ("0", "0"),
            ("0.0e5", "0"),
            ("12.345e-1", "1.2345"),
            ("5e-1", "0.5"),
            ("-12e+3", "-12000"),
            ("0.000e-2", "0.00000"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
        ] {
            assert_eq!(num(lit), want, "{lit}");
        }
    }

    #[test]
    fn numeric_range_is_enforced() {
        let v = crate::json::parse(b"1e1000000").unwrap();
        assert!(canonical_value_text(&v).is_err());
        let v = crate::json::parse(b"1e-100000").unwrap();
        assert!(canonical_value_text(&v).is_err());
        let v = crate::json::parse(b"0e1000000").unwrap();
        assert_eq!(canonical_value_text(&v).unwrap(), "0");
    }

    /// Fuzz findings F1-F3 (fuzz/regressions): huge exponents are refused or cheap, never a
    /// panic, a wrap-around or a giant allocation; canonical text always parses again.
    #[test]
    fn huge_exponents_are_refused_or_cheap() {
        for lit in [
            "1e9223372036854775807",
            "1.5e-9223372036854775807",
            "1e26701234567890123456",
            "0e1073741823",
            "0e-1073741823",
            "1e131073",
        ] {
            let v = crate::json::parse(lit.as_bytes()).unwrap();
            let e = canonical_value_text(&v).unwrap_err();
            assert_eq!(e.kind, JsonErrorKind::Syntax, "{lit}: {e:?}");
        }
        // A zero mantissa renders as 0 without materialising the exponent.
        for lit in ["0e99999999", "-0.0e1073741822", "0.000e+5"] {
            let v = crate::json::parse(lit.as_bytes()).unwrap();
            assert_eq!(canonical_value_text(&v).unwrap(), "0", "{lit}");
        }
        // Expansions past the number-literal limit are refused with NumberTooLong.
        let v = crate::json::parse(b"[1e1000]").unwrap();
        let e = canonical_value_text(&v).unwrap_err();
        assert_eq!(e.kind, JsonErrorKind::NumberTooLong);
        assert_eq!(e.path, "$[0]");
        assert!(e.message.contains("1e1000"), "{}", e.message);
        // The largest accepted expansion is a fixed point.
        for lit in ["1e999", "-1e998", "1e-998", "-5e-997", "0.5e-997"] {
            let c = canonical_text(lit.as_bytes()).unwrap();
            assert!(c.len() <= MAX_CANONICAL_NUMBER_LEN, "{lit}");
            assert_eq!(canonical_text(c.as_bytes()).unwrap(), c, "{lit}");
        }
        assert_eq!(canonical_text(b"1e999").unwrap().len(), 1000);
    }

    #[test]
    fn strings_are_reescaped() {
        let v =
            canonical_text("[\"a\\u0001\\/\\u2028😀\\ud83d\\ude00\\u007f\"]".as_bytes()).unwrap();
        assert_eq!(v, "[\"a\\u0001/\u{2028}😀😀\u{7f}\"]");
    }

    #[test]
    fn postgres_rejections() {
        assert_eq!(
            canonical_text(br#"["\u0000"]"#).unwrap_err().kind,
            JsonErrorKind::NulCharacter
        );
        assert_eq!(
            canonical_text(br#"["\ud800"]"#).unwrap_err().kind,
            JsonErrorKind::LoneSurrogate
        );
        assert_eq!(
            canonical_text(b"[\"\xc3\x28\"]").unwrap_err().kind,
            JsonErrorKind::InvalidUtf8
        );
    }

    #[test]
    fn if_match_forms() {
        let t = "dfcdd8e7a983874ea92e6b4a1772c69b2f43d48eda1f4e5d5219966949d9bc73";
        for raw in [
            t.to_string(),
            format!("\"{t}\""),
            format!("  \"{t}\"  "),
            format!("W/\"{t}\""),
            format!("w/\"{t}\""),
            t.to_uppercase(),
        ] {
            assert!(if_match_matches(&raw, t), "{raw}");
        }
        assert!(!if_match_matches("abc", t));
        assert!(if_match_matches("*", t));
    }

    /// The writer as it was before members were sorted once, paths rendered only on refusal,
    /// strings copied in runs and plain integers copied whole: the reference the current
    /// writer must agree with, text and errors.
    mod before {
        use super::super::{numeric_text_general, JsonError, JsonErrorKind, Value};
        use std::fmt::Write as _;

        pub fn text(v: &Value) -> Result<String, JsonError> {
            let mut out = String::new();
            write(&mut out, v, &mut String::from("$"))?;
            Ok(out)
        }

        fn write(out: &mut String, v: &Value, path: &mut String) -> Result<(), JsonError> {
            match v {
                Value::Null => out.push_str("null"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => {
                    numeric_text_general(out, n.literal()).map_err(|(kind, message)| JsonError {
                        kind,
                        offset: 0,
                        path: path.clone(),
                        message,
                    })?
                }
                Value::String(s) => string(out, s, path)?,
                Value::Array(a) => {
                    out.push('[');
                    for (i, x) in a.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        let len = path.len();
                        let _ = write!(path, "[{i}]");
                        write(out, x, path)?;
                        path.truncate(len);
                    }
                    out.push(']');
                }
                Value::Object(m) => {
                    let mut members = m.deduped();
                    members.sort_by(|a, b| {
                        a.0.len()
                            .cmp(&b.0.len())
                            .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
                    });
                    out.push('{');
                    for (i, (k, x)) in members.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        string(out, k, path)?;
                        out.push_str(": ");
                        let len = path.len();
                        path.push('.');
                        path.push_str(k);
                        write(out, x, path)?;
                        path.truncate(len);
                    }
                    out.push('}');
                }
            }
            Ok(())
        }

        fn string(out: &mut String, s: &str, path: &str) -> Result<(), JsonError> {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\0' => {
                        return Err(JsonError {
                            kind: JsonErrorKind::NulCharacter,
                            offset: 0,
                            path: path.to_string(),
                            message: "\\u0000 cannot be stored".into(),
                        })
                    }
                    c if (c as u32) < 0x20 => {
                        let _ = write!(out, "\\u{:04x}", c as u32);
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            Ok(())
        }
    }

    /// Keys and strings that are close to each other or need escapes.
    const TEXTS: &[&str] = &[
        "",
        "a",
        "A",
        "ab",
        "b",
        "é",
        "z",
        "aa",
        "a\"b",
        "back\\slash",
        "tab\t",
        "nl\n",
        "cr\r",
        "\u{8}\u{c}",
        "\u{1}\u{1f}",
        "\u{7f}",
        "😀",
        "\u{2028}",
        "nul\0",
        "item_ids",
    ];
    const NUMBERS: &[&str] = &[
        "0",
        "-0",
        "7",
        "-7",
        "10",
        "123456789012345678901234567890",
        "0.5",
        "-0.0",
        "1e2",
        "1E-7",
        "2.50",
        "-3e+2",
        "1e1000",
        "0e99",
        "00",
        "-01",
    ];

    fn random_value(rng: &mut crate::tests::rng::Rng, depth: usize) -> Value {
        use crate::json::{Map, Number};
        let kind = if depth >= 4 {
            rng.index(4)
        } else {
            rng.index(6)
        };
        match kind {
            0 => Value::Null,
            1 => Value::Bool(rng.chance(500)),
            2 => {
                let lit = *rng.pick(NUMBERS);
                Value::Number(Number::from_literal_unchecked(lit))
            }
            3 => {
                let mut s = rng.pick(TEXTS).to_string();
                let more = *rng.pick(TEXTS);
                s.push_str(more);
                Value::String(s)
            }
            4 => Value::Array(
                (0..rng.index(5))
                    .map(|_| random_value(rng, depth + 1))
                    .collect(),
            ),
            _ => {
                let mut m = Map::new();
                for _ in 0..rng.index(9) {
                    m.push(rng.pick(TEXTS).to_string(), random_value(rng, depth + 1));
                }
                Value::Object(m)
            }
        }
    }

    #[test]
    fn canonical_text_agrees_with_the_writer_it_replaced() {
        let mut rng = crate::tests::rng::Rng::new(0xca_901);
        let (mut ok, mut refused) = (0, 0);
        for case in 0..5_000 {
            let v = random_value(&mut rng, 0);
            let want = before::text(&v).map_err(|e| (e.kind, e.path, e.message));
            let got = canonical_value_text(&v).map_err(|e| (e.kind, e.path, e.message));
            assert_eq!(got, want, "case {case}: {v:?}");
            if want.is_ok() {
                ok += 1;
            } else {
                refused += 1;
            }
        }
        // Both outcomes are exercised.
        assert!(ok > 1_000 && refused > 500, "{ok} {refused}");
    }

    #[test]
    fn plain_integers_are_the_literals_the_general_rendering_writes() {
        for lit in NUMBERS
            .iter()
            .copied()
            .chain(["1", "-1", "999", "-1000000"])
        {
            let mut general = String::new();
            let slow = numeric_text_general(&mut general, lit).map(|_| general);
            if is_plain_integer(lit) {
                assert_eq!(slow.as_deref(), Ok(lit), "{lit}");
            }
        }
        assert!(is_plain_integer("0") && is_plain_integer("-12") && is_plain_integer("120"));
        for lit in ["-0", "00", "01", "-01", "1.0", "1e2", "", "-", "1a"] {
            assert!(!is_plain_integer(lit), "{lit}");
        }
        assert!(!is_plain_integer(&"9".repeat(MAX_CANONICAL_NUMBER_LEN + 1)));
    }
}
