use super::float::format_go_float;
use super::value::Value;
use std::fmt::Write as _;

/// Compact JSON as the core emits it in responses: members in insertion order, strings with
/// the minimal escapes (`"`, `\`, control characters), numbers as their literal.
pub fn to_string(v: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_value(&mut out, v, Escape::Std);
    out
}

/// Compact JSON exactly as Go's `encoding/json.Marshal` would render this value (HTML-safe
/// escapes, U+2028/U+2029 escaped). Used for artifact version hashes.
pub fn to_go_string(v: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, v, Escape::Go);
    out
}

#[derive(Clone, Copy)]
enum Escape {
    Std,
    Go,
}

fn write_value(out: &mut String, v: &Value, esc: Escape) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(n.literal()),
        Value::String(s) => match esc {
            Escape::Std => write_std_string(out, s),
            Escape::Go => write_go_string(out, s),
        },
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, x, esc);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match esc {
                    Escape::Std => write_std_string(out, k),
                    Escape::Go => write_go_string(out, k),
                }
                out.push(':');
                write_value(out, x, esc);
            }
            out.push('}');
        }
    }
}

/// Whether `s` holds a byte the minimal escapes rewrite (`"`, `\\`, a control character),
/// answered 32 bytes a branch ([`super::scan::is_plain`]; a per-byte scan cost ~8
/// instructions a byte on the answers' hashes, and finding the first such byte eight bytes
/// a branch ~2.5).
#[inline]
fn needs_std_escape(s: &[u8]) -> bool {
    !super::scan::is_plain(s)
}

/// A JSON string with the minimal escapes.
pub(crate) fn write_std_string(out: &mut String, s: &str) {
    // Most strings (member names, ids, versions) need no escape: one scan, one copy.
    if !needs_std_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    out.push('"');
    push_std_escaped(out, s);
    out.push('"');
}

/// The body of a JSON string holding `s` with the minimal escapes, without its quotes: for
/// writers that put the quotes into the literals around it (`{"item_id":"` … `","rank":`),
/// one push fewer a side. Consecutive bodies are the body of the concatenation (escapes are
/// per byte).
pub(crate) fn push_std_str(out: &mut String, s: &str) {
    if needs_std_escape(s.as_bytes()) {
        push_std_escaped(out, s);
    } else {
        out.push_str(s);
    }
}

/// The body of `s` with the minimal escapes, without quotes.
fn push_std_escaped(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match rep {
            Some(r) => out.push_str(r),
            None => {
                let _ = write!(out, "\\u{:04x}", b);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// A JSON string escaped the way Go's `encoding/json` does by default.
pub fn write_go_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let rep: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '<' => Some("\\u003c"),
            '>' => Some("\\u003e"),
            '&' => Some("\\u0026"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            '\0'..='\u{1f}' => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match rep {
            Some(r) => out.push_str(r),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends the decimal digits of `n` (no formatting machinery; ranks and counts, mostly one
/// or two digits, take a push a digit and no UTF-8 check).
pub(crate) fn write_u64(out: &mut String, mut n: u64) {
    if n < 10 {
        out.push(char::from(b'0' + n as u8));
        return;
    }
    if n < 100 {
        // Ranks past 9 and most counts: two pushes, no buffer.
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while n > 0 {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.reserve(buf.len() - i);
    for &d in &buf[i..] {
        out.push(char::from(d));
    }
}

/// Appends `n` in decimal.
pub(crate) fn write_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    write_u64(out, n.unsigned_abs());
}

/// Appends `f` as [`super::Value::f64`] renders it: `null` when not finite, integral values
/// below 2^53 as integers (cheaper than the shortest-float search, same text), otherwise
/// [`format_go_float`].
pub(crate) fn write_f64(out: &mut String, f: f64) {
    if !f.is_finite() {
        out.push_str("null");
    } else if let Some(i) = small_integral(f) {
        write_i64(out, i);
    } else {
        format_go_float(out, f);
    }
}

/// `f` as an integer when it is integral, below 2^53 in magnitude and not -0 (the values
/// written as integers). A round trip through `i64` (two instructions) instead of
/// `f64::fract`, a libm call (~25 instructions a score).
#[inline]
pub(crate) fn small_integral(f: f64) -> Option<i64> {
    // Below 2^53 the cast truncates exactly, so the round trip is `f` only when integral.
    let i = f as i64;
    (f.abs() < 9_007_199_254_740_992.0 && i as f64 == f && !(f == 0.0 && f.is_sign_negative()))
        .then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn go(f: f64) -> String {
        let mut s = String::new();
        format_go_float(&mut s, f);
        s
    }

    /// The round-trip test picks exactly the values the `fract` test picked.
    #[test]
    fn small_integral_is_the_fract_test() {
        let old = |f: f64| {
            (f.fract() == 0.0
                && f.abs() < 9_007_199_254_740_992.0
                && !(f == 0.0 && f.is_sign_negative()))
            .then_some(f as i64)
        };
        let mut state = 0x1e57u64;
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            -9_007_199_254_740_992.0,
            9_007_199_254_740_993.5,
            1e300,
            f64::MIN_POSITIVE,
            f64::MAX,
        ];
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let bits = state ^ (state >> 29);
            let f = f64::from_bits(bits);
            values.extend([f, f.trunc(), (bits % 2_000_001) as f64 - 1e6, f * 1e-300]);
        }
        for f in values.into_iter().filter(|f| f.is_finite()) {
            assert_eq!(small_integral(f), old(f), "{f:e}");
        }
    }

    #[test]
    fn go_float_vectors() {
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (2.5, "2.5"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (123456789.125, "123456789.125"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.25e22, "1.25e+22"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (1e-10, "1e-10"),
            (0.3333333333333333, "0.3333333333333333"),
            (-2.5, "-2.5"),
        ];
        for (f, want) in cases {
            assert_eq!(go(f), want, "{f}");
        }
    }

    #[test]
    fn escape_scan_finds_every_escaped_byte_at_every_position() {
        for len in 0..40 {
            let clean = "a".repeat(len);
            assert!(!needs_std_escape(clean.as_bytes()));
            for pos in 0..len {
                for b in (0u8..0x20).chain([b'"', b'\\']) {
                    let mut bytes = clean.clone().into_bytes();
                    bytes[pos] = b;
                    assert!(needs_std_escape(&bytes), "{len} {pos} {b}");
                }
                // Neighbours of the escaped bytes, and non-ASCII, need no escape.
                for b in [0x20u8, b'!', b'#', b'[', b']', 0x7f, 0x80, 0xff] {
                    let mut bytes = clean.clone().into_bytes();
                    bytes[pos] = b;
                    assert!(!needs_std_escape(&bytes), "{len} {pos} {b}");
                }
            }
        }
    }

    /// Integers written digit by digit are their decimal, at every length.
    #[test]
    fn integers_are_their_decimal() {
        let mut out = String::new();
        let mut p = 1u64;
        let mut values: Vec<u64> = (0..100_000).collect();
        while let Some(next) = p.checked_mul(10) {
            values.extend([p - 1, p, p + 1, next - 1]);
            p = next;
        }
        values.push(u64::MAX);
        for n in values {
            out.clear();
            write_u64(&mut out, n);
            assert_eq!(out, n.to_string());
            out.clear();
            let i = (n as i64).wrapping_neg();
            write_i64(&mut out, i);
            assert_eq!(out, i.to_string());
        }
    }

    /// Bodies written one after the other between quotes are the joined string written.
    #[test]
    fn string_bodies_are_the_joined_string() {
        let pieces = [
            "", "a", "sku-1", "\"", "\\", "\n", "\u{1}", "é", ":", "x\ty",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let (mut whole, mut parts) = (String::new(), String::new());
                    write_std_string(&mut whole, &[a, b, c].concat());
                    parts.push('"');
                    for p in [a, b, c] {
                        push_std_str(&mut parts, p);
                    }
                    parts.push('"');
                    assert_eq!(parts, whole);
                }
            }
        }
    }

    #[test]
    fn go_string_escapes() {
        let mut s = String::new();
        write_go_string(&mut s, "a<b>&c\u{2028}\u{1}\u{8}\u{c}\t\n\r\"\\/é😀");
        assert_eq!(
            s,
            r#""a\u003cb\u003e\u0026c\u2028\u0001\b\f\t\n\r\"\\/é😀""#
        );
    }

    #[test]
    fn std_roundtrip() {
        let src = r#"{"a":[1,2.50,"x\"\u0001y"],"b":{"c":null,"d":true}}"#;
        let v = parse(src.as_bytes()).unwrap();
        assert_eq!(to_string(&v), src);
        assert_eq!(parse(to_string(&v).as_bytes()).unwrap(), v);
    }
}
