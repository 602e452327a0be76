//! The one limits specification for documents (config and rules: bytes, nesting depth,
//! members) and its check on an already-built value, so a document is held to the same
//! bounds whether it arrives as text (`admin.put_config`, `recsys check`) or embedded in
//! another call (`load_snapshot`, `set_config`, a binding's native dict).

use super::parse::{JsonError, JsonErrorKind, Limits};
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
    c.value(v, 1)
}

struct Counter<'a> {
    limits: &'a Limits,
    bytes: usize,
    members: usize,
}

impl Counter<'_> {
    fn add_bytes(&mut self, n: usize) -> Result<(), JsonError> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > self.limits.max_bytes {
            return Err(too(
                JsonErrorKind::TooLarge,
                format!(
                    "document is more than the limit of {} bytes",
                    self.limits.max_bytes
                ),
            ));
        }
        Ok(())
    }

    fn add_member(&mut self) -> Result<(), JsonError> {
        self.members += 1;
        if self.members > self.limits.max_members {
            return Err(too(
                JsonErrorKind::TooManyMembers,
                format!("document has more than {} members", self.limits.max_members),
            ));
        }
        Ok(())
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), JsonError> {
        match v {
            Value::Null => self.add_bytes(4),
            Value::Bool(b) => self.add_bytes(if *b { 4 } else { 5 }),
            Value::Number(n) => {
                if n.literal().len() > self.limits.max_number_len {
                    return Err(too(
                        JsonErrorKind::NumberTooLong,
                        format!(
                            "number literal longer than {} characters",
                            self.limits.max_number_len
                        ),
                    ));
                }
                self.add_bytes(n.literal().len())
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

    fn enter(&self, depth: usize) -> Result<(), JsonError> {
        if depth > self.limits.max_depth {
            return Err(too(
                JsonErrorKind::TooDeep,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        Ok(())
    }
}

/// Length of `s` as a compact JSON string (quotes and minimal escapes, as `to_string`).
/// Bytes that need an escape are rare: they are counted first by a loop with no branch per
/// byte (which the compiler vectorises), and each escape is sized only when there are some.
fn string_len(s: &str) -> usize {
    let b = s.as_bytes();
    let special = b
        .iter()
        .map(|&c| usize::from(c < 0x20 || c == b'"' || c == b'\\'))
        .sum::<usize>();
    if special == 0 {
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
