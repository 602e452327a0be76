//! serde interop for [`Value`] (the `serde` feature): `Serialize`, `Deserialize` and
//! `From<serde_json::Value>`, so hosts can move documents between their serde types and the
//! engine. The engine's own parser and canonical writer stay the source of truth for ETags
//! and exact number literals; these conversions go through serde's data model, where a
//! number is an `i64`, a `u64` or a finite `f64`.

use super::value::{Map, Number, Value};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};
use std::fmt;

impl Serialize for Number {
    /// As an `i64` or `u64` when the literal is an integer that fits, else as an `f64`; a
    /// literal beyond `f64` range (`1e400`) is an error, not an infinity.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_integer_literal() {
            if let Some(i) = self.as_i64() {
                return s.serialize_i64(i);
            }
            if let Ok(u) = self.literal().parse::<u64>() {
                return s.serialize_u64(u);
            }
        }
        match self.as_f64() {
            Some(f) => s.serialize_f64(f),
            None => Err(ser::Error::custom(format!(
                "number {} is out of range for an f64",
                self.literal()
            ))),
        }
    }
}

impl Serialize for Value {
    /// Objects keep their members in document order, duplicates included.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(x) => s.serialize_str(x),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::i64(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::u64(u))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{f} is not a JSON number")))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::str(s))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // The size hint is the input's claim: cap the reservation, let pushes grow past it.
        let mut a = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element()? {
            a.push(v);
        }
        Ok(Value::Array(a))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut m = Map::with_capacity(access.size_hint().unwrap_or(0).min(4096));
        while let Some((k, v)) = access.next_entry::<String, Value>()? {
            m.push(k, v);
        }
        Ok(Value::Object(m))
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Any self-describing format; objects keep their members in input order. Nesting is
    /// bounded by the deserializer (serde_json stops at 128 levels).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

impl From<serde_json::Value> for Value {
    /// Numbers become their `i64`, `u64` or `f64` literal; object members keep serde_json's
    /// order (sorted by key unless serde_json's `preserve_order` feature is on).
    fn from(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Value::i64(i),
                (None, Some(u), _) => Value::u64(u),
                (None, None, Some(f)) => Value::f64(f),
                (None, None, None) => Value::Null,
            },
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                let mut m = Map::with_capacity(o.len());
                for (k, v) in o {
                    m.push(k, Value::from(v));
                }
                Value::Object(m)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn serde_json_round_trips_keep_order_duplicates_and_numbers() {
        let text = r#"{"b":1,"a":[true,null,-2,18446744073709551615,1.5,"x"],"b":{"c":2e3}}"#;
        let v = json::parse(text.as_bytes()).unwrap();
        let out = serde_json::to_string(&v).unwrap();
        assert_eq!(
            out,
            r#"{"b":1,"a":[true,null,-2,18446744073709551615,1.5,"x"],"b":{"c":2000.0}}"#
        );
        let back: Value = serde_json::from_str(&out).unwrap();
        // The same document (numbers compare by value in the canonical form).
        assert_eq!(
            json::canonical_value_text(&back).unwrap(),
            json::canonical_value_text(&v).unwrap()
        );
    }

    #[test]
    fn numbers_beyond_f64_are_an_error_not_infinity() {
        let v = json::parse(b"[1e400]").unwrap();
        let err = serde_json::to_string(&v).unwrap_err();
        assert!(err.to_string().contains("1e400"), "{err}");
    }

    #[test]
    fn from_serde_json_value() {
        let sj = serde_json::json!({"k": [1, -1, 0.25, "s", null, {"z": false}]});
        let v = Value::from(sj);
        assert_eq!(
            json::to_string(&v),
            r#"{"k":[1,-1,0.25,"s",null,{"z":false}]}"#
        );
        // The engine takes it like any parsed document.
        assert!(json::etag_of_value(&v).is_ok());
    }

    #[test]
    fn deserialize_is_bounded_by_serde_json_recursion_limit() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(serde_json::from_str::<Value>(&deep).is_err());
    }
}
