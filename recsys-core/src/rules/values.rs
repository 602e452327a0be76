//! Value coercions of the rules document, as the reference reads its loosely typed members:
//! strings (numbers accepted in Go's shortest form), booleans in Go's spellings, times
//! (RFC 3339, dates, Unix numbers), integers and floats from numbers or text, and item id
//! lists. Each reads one member at the decoder's path and notes what it could not use.

use super::error::codes;
use super::model::TargetType;
use crate::decode::{quote, Decoder, Got, Severity};
use crate::json::{format_go_float, Number, Value};
use crate::time::Timestamp;
use std::collections::HashSet;

/// A number where a string is expected: Go's shortest `float64` form (`10`, `1.5`, `1e+21`).
pub(super) fn number_text(n: &Number) -> String {
    match n.as_f64() {
        Some(x) => {
            let mut s = String::new();
            format_go_float(&mut s, x);
            s
        }
        None => n.literal().to_string(),
    }
}

pub(super) fn text_value(d: &mut Decoder, v: &Value, key: &str) -> Got<String> {
    match v {
        Value::Null => Got::Empty,
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                Got::Empty
            } else {
                Got::Val(t.to_string())
            }
        }
        Value::Number(n) => Got::Val(number_text(n)),
        other => {
            d.note(
                Severity::Ignore,
                codes::WRONG_TYPE,
                format!("{key} must be a string, got {}", other.type_name()),
            );
            Got::Wrong
        }
    }
}

pub(super) fn bool_value(d: &mut Decoder, v: &Value, key: &str) -> Got<bool> {
    match v {
        Value::Null => Got::Empty,
        Value::Bool(b) => Got::Val(*b),
        // Any number other than zero is true (an out-of-range literal is not zero).
        Value::Number(n) => Got::Val(n.as_f64() != Some(0.0)),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Got::Empty;
            }
            match parse_bool(t) {
                Some(b) => Got::Val(b),
                None => {
                    d.note(
                        Severity::Ignore,
                        codes::WRONG_TYPE,
                        format!(
                            "{key} must be a boolean, got {} (use true or false)",
                            quote(t)
                        ),
                    );
                    Got::Wrong
                }
            }
        }
        other => {
            d.note(
                Severity::Ignore,
                codes::WRONG_TYPE,
                format!("{key} must be a boolean, got {}", other.type_name()),
            );
            Got::Wrong
        }
    }
}

/// The spellings Go's `strconv.ParseBool` accepts (case-insensitively here).
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    if ["1", "t", "true"].iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if ["0", "f", "false"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(s))
    {
        Some(false)
    } else {
        None
    }
}

pub(super) fn time_value(d: &mut Decoder, v: &Value, key: &str) -> Got<Option<Timestamp>> {
    match v {
        Value::Null => Got::Empty,
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Got::Empty;
            }
            let parsed = Timestamp::parse_rfc3339(t)
                .or_else(|| Timestamp::parse_date(t))
                .filter(in_time_range);
            if parsed.is_none() {
                d.note(
                    Severity::Ignore,
                    codes::BAD_TIME,
                    format!(
                        "{key} {} is not an rfc 3339 time, a yyyy-mm-dd date or a unix number",
                        quote(t)
                    ),
                );
            }
            Got::Val(parsed)
        }
        Value::Number(n) => {
            let parsed = unix_time(n);
            if parsed.is_none() {
                d.note(
                    Severity::Ignore,
                    codes::BAD_TIME,
                    format!(
                        "{key} {} is out of range for a unix time",
                        quote(n.literal())
                    ),
                );
            }
            Got::Val(parsed)
        }
        other => {
            d.note(
                Severity::Ignore,
                codes::WRONG_TYPE,
                format!(
                    "{key} must be a time string or number, got {}",
                    other.type_name()
                ),
            );
            Got::Wrong
        }
    }
}

/// Years 0000 to 9999.
fn in_time_range(t: &Timestamp) -> bool {
    (-62_167_219_200..=253_402_300_799).contains(&t.secs)
}

/// A Unix number: seconds, or milliseconds above 1e12, or nanoseconds above 1e15.
pub(super) fn unix_time(n: &Number) -> Option<Timestamp> {
    let x = n.as_f64()?;
    // Nanoseconds per unit.
    let scale: i128 = if x > 1e15 {
        1
    } else if x > 1e12 {
        1_000_000
    } else {
        1_000_000_000
    };
    let nanos: i128 = match n.as_i64() {
        Some(i) => i as i128 * scale,
        None => {
            // Scale the whole and fractional parts separately so that `1700000000.25` keeps
            // its exact quarter second.
            let whole = x.floor();
            if whole.abs() > 1e20 {
                return None;
            }
            let frac = x - whole;
            whole as i128 * scale + (frac * scale as f64).round() as i128
        }
    };
    let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    let t = Timestamp {
        secs,
        nanos: nanos.rem_euclid(1_000_000_000) as u32,
    };
    in_time_range(&t).then_some(t)
}

/// `i64` range as `f64` bounds (the upper bound itself is out of range).
const I64_MIN_F: f64 = -9_223_372_036_854_775_808.0;
const I64_END_F: f64 = 9_223_372_036_854_775_808.0;

pub(super) fn int_value(d: &mut Decoder, v: &Value, key: &str) -> Got<Option<i64>> {
    let truncated =
        |x: f64| (x.is_finite() && (I64_MIN_F..I64_END_F).contains(&x)).then(|| x.trunc() as i64);
    let (parsed, shown) = match v {
        Value::Null => return Got::Empty,
        Value::Number(n) => (
            n.as_i64().or_else(|| n.as_f64().and_then(truncated)),
            n.literal().to_string(),
        ),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Got::Empty;
            }
            (
                t.parse::<i64>()
                    .ok()
                    .or_else(|| t.parse::<f64>().ok().and_then(truncated)),
                t.to_string(),
            )
        }
        other => {
            d.note(
                Severity::Ignore,
                codes::WRONG_TYPE,
                format!("{key} must be an integer, got {}", other.type_name()),
            );
            return Got::Wrong;
        }
    };
    if parsed.is_none() {
        d.note(
            Severity::Ignore,
            codes::BAD_NUMBER,
            format!("{key} {} is not an integer in range", quote(&shown)),
        );
    }
    Got::Val(parsed)
}

pub(super) fn float_value(d: &mut Decoder, v: &Value, key: &str) -> Got<Option<f64>> {
    let (parsed, shown) = match v {
        Value::Null => return Got::Empty,
        Value::Number(n) => (n.as_f64(), n.literal().to_string()),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Got::Empty;
            }
            (
                t.parse::<f64>().ok().filter(|x| x.is_finite()),
                t.to_string(),
            )
        }
        other => {
            d.note(
                Severity::Ignore,
                codes::WRONG_TYPE,
                format!("{key} must be a number, got {}", other.type_name()),
            );
            return Got::Wrong;
        }
    };
    if parsed.is_none() {
        d.note(
            Severity::Ignore,
            codes::BAD_NUMBER,
            format!("{key} {} is not a finite number", quote(&shown)),
        );
    }
    Got::Val(parsed)
}

/// An item id list: an array of strings (numbers stringified) or one comma-separated string
/// (or a single number). Trimmed, blanks dropped, de-duplicated in order; more than `max`
/// distinct ids drops the rule.
pub(super) fn id_list_value(d: &mut Decoder, v: &Value, key: &str, max: usize) -> Got<Vec<String>> {
    let mut ids = IdCollector {
        ids: Vec::new(),
        seen: HashSet::new(),
        over: false,
        max,
    };
    match v {
        Value::Null => return Got::Empty,
        Value::String(s) => s.split(',').for_each(|part| ids.add(part)),
        Value::Number(n) => ids.add(&number_text(n)),
        Value::Array(items) => {
            let mut bad = 0usize;
            let mut first_bad: Option<(usize, &'static str)> = None;
            for (j, e) in items.iter().enumerate() {
                match e {
                    Value::String(s) => ids.add(s),
                    Value::Number(n) => ids.add(&number_text(n)),
                    other => {
                        bad += 1;
                        first_bad.get_or_insert((j, other.type_name()));
                    }
                }
            }
            if let Some((j, ty)) = first_bad {
                let message = if bad == 1 {
                    format!("{key} must hold strings, got {ty}")
                } else {
                    format!("{key} must hold strings, got {bad} other values (the first is {ty})")
                };
                d.index(j, |d| d.note(Severity::Ignore, codes::WRONG_TYPE, message));
            }
        }
        other => {
            d.note(
                Severity::Ignore,
                codes::WRONG_TYPE,
                format!(
                    "{key} must be an array of strings or a comma-separated string, got {}",
                    other.type_name()
                ),
            );
            return Got::Wrong;
        }
    }
    if ids.over {
        d.note(
            Severity::Drop,
            codes::TOO_MANY_ITEM_IDS,
            format!("{key} lists more than {max} distinct item ids"),
        );
    }
    if ids.ids.is_empty() {
        Got::Empty
    } else {
        Got::Val(ids.ids)
    }
}

/// Trimmed, non-blank, distinct ids in first-seen order, at most `max` of them.
struct IdCollector {
    ids: Vec<String>,
    seen: HashSet<String>,
    over: bool,
    max: usize,
}

impl IdCollector {
    fn add(&mut self, raw: &str) {
        let t = raw.trim();
        if t.is_empty() || self.over || self.seen.contains(t) {
            return;
        }
        if self.ids.len() >= self.max {
            self.over = true;
            return;
        }
        self.seen.insert(t.to_string());
        self.ids.push(t.to_string());
    }
}

/// A target type; an unknown one (noted in `unknown`) drops the rule.
pub(super) fn parse_target_type(
    d: &mut Decoder,
    s: &str,
    unknown: &mut bool,
) -> Option<TargetType> {
    let t = TargetType::parse(s);
    if t.is_none() {
        *unknown = true;
        d.note(
            Severity::Drop,
            codes::UNKNOWN_TARGET_TYPE,
            format!(
                "unknown target type {}; expected item, tag, brand or category",
                quote(s)
            ),
        );
    }
    t
}
