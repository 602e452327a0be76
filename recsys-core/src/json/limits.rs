//! The one limits specification for documents (config and rules: bytes, nesting depth,
//! members) and its check on an already-built value, so a document is held to the same
//! bounds whether it arrives as text (`admin.put_config`, `recsys check`) or embedded in
//! another call (`load_snapshot`, `set_config`, a binding's native dict).

use super::parse::{Crossed, JsonError, JsonErrorKind, Limits};
use super::value::Value;

impl Limits {
    /// Limits of one config or rules document, at every entry point: 1 MiB (the reference's
    /// admin body limit), 64 levels, 200 000 members (array elements and object members,
    /// counted over the whole document), number literals of at most 1000 characters.
    pub const fn document() -> Limits {
        Limits {
            max_bytes: 1 << 20,
            max_depth: 64,
            max_number_len: 1000,
            max_members: 200_000,
            reject_nul: true,
        }
    }
}

/// Checks a value against `limits` as if it were the document's compact JSON text: its
/// size is the length of that text (`json::to_string`), its depth and member count as the
/// parser counts them. Stops at the first bound crossed, so the cost is bounded by the
/// limits, not by the value.
pub fn check_value(v: &Value, limits: &Limits) -> Result<(), JsonError> {
    let mut c = Counter {
        limits,
        bytes: 0,
        members: 0,
    };
    c.value(v, 1).map_err(|crossed| {
        let (kind, message) = crossed.kind_and_message(limits);
        too(kind, message)
    })
}

/// Running totals of the walk.
struct Counter<'a> {
    limits: &'a Limits,
    bytes: usize,
    members: usize,
}

impl Counter<'_> {
    #[inline]
    fn add_bytes(&mut self, n: usize) -> Result<(), Crossed> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > self.limits.max_bytes {
            return Err(Crossed::Bytes);
        }
        Ok(())
    }

    #[inline]
    fn add_member(&mut self) -> Result<(), Crossed> {
        self.members += 1;
        if self.members > self.limits.max_members {
            return Err(Crossed::Members);
        }
        Ok(())
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), Crossed> {
        match v {
            Value::Null => self.add_bytes(4),
            Value::Bool(b) => self.add_bytes(if *b { 4 } else { 5 }),
            Value::Number(n) => {
                if n.literal_len() > self.limits.max_number_len {
                    return Err(Crossed::NumberLen);
                }
                self.add_bytes(n.literal_len())
            }
            Value::String(s) => self.add_bytes(string_len(s)),
            Value::Array(a) => {
                self.enter(depth)?;
                self.add_bytes(2 + a.len().saturating_sub(1))?;
                for x in a {
                    self.add_member()?;
                    self.value(x, depth + 1)?;
                }
                Ok(())
            }
            Value::Object(m) => {
                self.enter(depth)?;
                self.add_bytes(2 + m.len().saturating_sub(1))?;
                for (k, x) in m.iter() {
                    self.add_member()?;
                    self.add_bytes(string_len(k) + 1)?;
                    self.value(x, depth + 1)?;
                }
                Ok(())
            }
        }
    }

    #[inline]
    fn enter(&self, depth: usize) -> Result<(), Crossed> {
        if depth > self.limits.max_depth {
            return Err(Crossed::Depth);
        }
        Ok(())
    }
}

/// Length of `s` as a compact JSON string (quotes and minimal escapes, as `to_string`).
/// Bytes that need an escape are rare: the string is first searched for one a word at a time
/// ([`needs_escape`]), and each escape is sized only when there is one.
fn string_len(s: &str) -> usize {
    let b = s.as_bytes();
    if !needs_escape(b) {
        return 2 + b.len();
    }
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

fn too(kind: JsonErrorKind, message: String) -> JsonError {
    JsonError {
        kind,
        offset: 0,
        path: "$".into(),
        message,
    }
}

/// True when `b` holds a quote, a backslash or a control byte. Eight bytes at a time, the last
/// word overlapping the one before it; four to eight bytes as two overlapping halves of one
/// word; shorter strings a byte at a time (a document's strings are mostly ids of 10 to 40
/// bytes, so no loop over single bytes and no copy).
fn needs_escape(b: &[u8]) -> bool {
    use super::scan::{bytes_equal, HIGHS, ONES};
    // Whether a flagged byte exists is exact (borrows only flag bytes above a true one).
    let flags = |x: u64| {
        bytes_equal(x, b'"') | bytes_equal(x, b'\\') | (x.wrapping_sub(ONES * 0x20) & !x & HIGHS)
    };
    let word = |w: &[u8]| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    let half = |w: &[u8]| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    match b.len() {
        0..4 => b.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20),
        4..=8 => flags(half(b) | half(&b[b.len() - 4..]) << 32) != 0,
        n => b.chunks_exact(8).any(|w| flags(word(w)) != 0) || flags(word(&b[n - 8..])) != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse, parse_with, to_string};

    /// A string's compact length, with and without escapes, is the length `to_string` writes.
    #[test]
    fn string_lengths_are_the_compact_text_lengths() {
        let pieces = [
            "", "a", "é", "\"", "\\", "\n", "\u{1}", "\u{1f}", "\u{7f}", "😀", " ",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let s = format!("{a}{b}{c}{a}");
                    let text = to_string(&Value::String(s.clone()));
                    assert_eq!(string_len(&s), text.len(), "{s:?}");
                }
            }
        }
    }

    /// The eight-bytes-at-a-time search finds an escape at every position of a longer string
    /// (in a whole word and in the tail), and multi-byte text beside it is one byte a byte.
    #[test]
    fn string_lengths_hold_at_every_position() {
        for special in ["\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "\u{7f}", " "] {
            for len in 0..26 {
                for at in 0..=len {
                    let s = format!("{}{special}{}", "x".repeat(at), "y".repeat(len - at));
                    let text = to_string(&Value::String(s.clone()));
                    assert_eq!(string_len(&s), text.len(), "{s:?}");
                }
            }
        }
    }

    /// The value check measures exactly what parsing the compact text measures.
    #[test]
    fn value_check_agrees_with_the_parser_on_compact_text() {
        let docs = [
            r#"{"a":[1,2,{"b":"x\"y\n\u0001"}],"c":null,"d":true,"e":false}"#,
            "[]",
            r#"[[[[1]]]]"#,
            r#"{"k":"é€"}"#,
        ];
        for d in docs {
            let v = parse(d.as_bytes()).unwrap();
            let text = to_string(&v);
            for max_bytes in [text.len() - 1, text.len()] {
                for max_depth in [1, 2, 3, 4, 5] {
                    for max_members in [0, 1, 3, 100] {
                        let lim = Limits {
                            max_bytes,
                            max_depth,
                            max_members,
                            ..Limits::document()
                        };
                        let by_value = check_value(&v, &lim).map_err(|e| e.kind);
                        let by_text = parse_with(text.as_bytes(), lim)
                            .map(|_| ())
                            .map_err(|e| e.kind);
                        assert_eq!(by_value.is_ok(), by_text.is_ok(), "{d} {lim:?}");
                    }
                }
            }
        }
    }
}
