//! Structural scans over JSON text that build nothing: where a value ends, found by jumping
//! from one string quote or bracket to the next (`memchr`), without validating what lies
//! between. A caller that needs the value validated hands the range to a validating reader.

use memchr::{memchr2, memchr3};

/// The end (exclusive) of the value starting at `b[start]`; `None` when the text ends first.
///
/// Strings are skipped from quote to quote (a backslash skips the byte after it); objects and
/// arrays by counting brackets outside strings; anything else runs to the next delimiter.
/// Mismatched brackets are not noticed: the range is only as good as the text is JSON.
pub fn value_end(b: &[u8], start: usize) -> Option<usize> {
    match b.get(start)? {
        b'"' => string_end(b, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                // The next quote or bracket (one scan for the quote and the two closers, and
                // openers counted in between).
                let rest = b.get(i..)?;
                let k = i + next_structural(rest)?;
                match b[k] {
                    b'"' => {
                        i = string_end(b, k)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(k + 1);
                        }
                    }
                }
                i = k + 1;
            }
        }
        _ => {
            let mut i = start;
            while let Some(&c) = b.get(i) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                    break;
                }
                i += 1;
            }
            Some(i)
        }
    }
}

/// The offset in `b` of the next `"`, `{`, `}`, `[` or `]`.
#[inline]
fn next_structural(b: &[u8]) -> Option<usize> {
    // `[`/`]` and `{`/`}` differ in one bit (0x5b/0x5d, 0x7b/0x7d): look for the quote and
    // both closers with one scan, and for openers in what the scan passed over.
    let k = memchr3(b'"', b']', b'}', b).unwrap_or(b.len());
    match b[..k].iter().position(|&c| c == b'[' || c == b'{') {
        Some(o) => Some(o),
        None if k < b.len() => Some(k),
        None => None,
    }
}

/// The end (exclusive) of the string whose opening quote is at `b[start]`.
#[inline]
pub fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut j = start + 1;
    loop {
        let k = j + memchr2(b'"', b'\\', b.get(j..)?)?;
        if b[k] == b'"' {
            return Some(k + 1);
        }
        j = k + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_of_every_kind_of_value() {
        let cases: &[(&str, usize)] = &[
            (r#""abc" ,"#, 5),
            (r#""a\"b\\" x"#, 8),
            (r#"{"a": [1, {"b": "}]"}], "c": "\""} tail"#, 34),
            ("[[], {}, [[]]],", 14),
            ("123.5e3, 4", 7),
            ("true}", 4),
            ("null", 4),
        ];
        for (text, end) in cases {
            assert_eq!(value_end(text.as_bytes(), 0), Some(*end), "{text}");
        }
    }

    #[test]
    fn unterminated_values_have_no_end() {
        for text in [r#""abc"#, r#""ab\"#, "{", r#"{"a": "}"#, "[[]", r#"["\"]"#] {
            assert_eq!(value_end(text.as_bytes(), 0), None, "{text}");
        }
    }
}
