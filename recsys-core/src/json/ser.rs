//! serde interop for output: any `serde::Serialize` type written straight to the crate's
//! compact JSON text ([`to_text`]), byte for byte what [`super::to_string`] writes for the
//! equivalent [`Value`], or built into a [`Value`] ([`to_value`]) for hosts that convert
//! values themselves. Floats are written as Go's `encoding/json` writes a `float64`
//! (integral values as integers, non-finite values as `null`), strings with the minimal
//! escapes, struct members in declaration order.

use super::value::{Map, Number, Value};
use super::write::{write_f64, write_i64, write_std_string, write_u64};
use serde::ser::{self, Serialize};

/// Why a value could not be written as JSON (a map key that is not a string, or an error
/// raised by the value's own `Serialize` implementation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerError(String);

impl std::fmt::Display for SerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<T: std::fmt::Display>(msg: T) -> SerError {
        SerError(msg.to_string())
    }
}

fn key_error() -> SerError {
    SerError("json object keys must be strings".into())
}

/// Writes `v` as compact JSON text.
pub fn to_text<T: Serialize + ?Sized>(v: &T) -> Result<String, SerError> {
    let mut out = String::with_capacity(1024);
    append_text(&mut out, v)?;
    Ok(out)
}

/// Appends `v` as compact JSON text to `out` (what [`to_text`] writes): for writers that
/// write the common members of an answer themselves and hand the rare ones to serde.
pub(crate) fn append_text<T: Serialize + ?Sized>(out: &mut String, v: &T) -> Result<(), SerError> {
    v.serialize(&mut Text { out })
}

/// Builds `v` as a [`Value`].
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, SerError> {
    v.serialize(ValueSer)
}

/// The text serializer: appends to `out`.
struct Text<'o> {
    out: &'o mut String,
}

/// An array or object being written: whether a member was written yet.
pub struct TextCompound<'a, 'o> {
    ser: &'a mut Text<'o>,
    first: bool,
    close: char,
}

impl TextCompound<'_, '_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.ser.out.push(',');
        }
    }
    fn key(&mut self, key: &str) {
        self.comma();
        write_std_string(self.ser.out, key);
        self.ser.out.push(':');
    }
    fn end(self) {
        self.ser.out.push(self.close);
    }
}

impl<'a, 'o> Text<'o> {
    fn open(&'a mut self, open: char, close: char) -> TextCompound<'a, 'o> {
        self.out.push(open);
        TextCompound {
            ser: self,
            first: true,
            close,
        }
    }
}

impl<'a, 'o> ser::Serializer for &'a mut Text<'o> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = TextCompound<'a, 'o>;
    type SerializeTuple = TextCompound<'a, 'o>;
    type SerializeTupleStruct = TextCompound<'a, 'o>;
    type SerializeTupleVariant = TextCompound<'a, 'o>;
    type SerializeMap = TextCompound<'a, 'o>;
    type SerializeStruct = TextCompound<'a, 'o>;
    type SerializeStructVariant = TextCompound<'a, 'o>;

    fn serialize_bool(self, v: bool) -> Result<(), SerError> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), SerError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), SerError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), SerError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), SerError> {
        write_i64(self.out, v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), SerError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), SerError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), SerError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), SerError> {
        write_u64(self.out, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), SerError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), SerError> {
        write_f64(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), SerError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), SerError> {
        write_std_string(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), SerError> {
        ser::Serializer::collect_seq(self, v)
    }
    fn serialize_none(self) -> Result<(), SerError> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), SerError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), SerError> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), SerError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), SerError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        let mut c = self.open('{', '}');
        c.key(variant);
        v.serialize(&mut *c.ser)?;
        c.end();
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, SerError> {
        Ok(self.open('[', ']'))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, SerError> {
        Ok(self.open('[', ']'))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, SerError> {
        Ok(self.open('[', ']'))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, SerError> {
        self.out.push('{');
        write_std_string(self.out, variant);
        self.out.push(':');
        Ok(self.open('[', ']'))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, SerError> {
        Ok(self.open('{', '}'))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, SerError> {
        Ok(self.open('{', '}'))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, SerError> {
        self.out.push('{');
        write_std_string(self.out, variant);
        self.out.push(':');
        Ok(self.open('{', '}'))
    }
}

impl ser::SerializeSeq for TextCompound<'_, '_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.comma();
        v.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), SerError> {
        TextCompound::end(self);
        Ok(())
    }
}

/// `SerializeTuple`-like traits answered by the type's `SerializeSeq` implementation.
macro_rules! as_seq {
    ($ty:ty, $ok:ty, $($tr:ident::$method:ident),+) => {
        $(impl ser::$tr for $ty {
            type Ok = $ok;
            type Error = SerError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
                ser::SerializeSeq::serialize_element(self, v)
            }
            fn end(self) -> Result<$ok, SerError> {
                ser::SerializeSeq::end(self)
            }
        })+
    };
}

as_seq!(
    TextCompound<'_, '_>,
    (),
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);
as_seq!(
    SeqBuilder,
    Value,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeTupleVariant for TextCompound<'_, '_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), SerError> {
        self.ser.out.push_str("]}");
        Ok(())
    }
}

impl ser::SerializeMap for TextCompound<'_, '_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        self.comma();
        let start = self.ser.out.len();
        key.serialize(&mut *self.ser)?;
        if !self.ser.out[start..].starts_with('"') {
            return Err(key_error());
        }
        self.ser.out.push(':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        v.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), SerError> {
        TextCompound::end(self);
        Ok(())
    }
}

impl ser::SerializeStruct for TextCompound<'_, '_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        self.key(key);
        v.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), SerError> {
        TextCompound::end(self);
        Ok(())
    }
}

impl ser::SerializeStructVariant for TextCompound<'_, '_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        ser::SerializeStruct::serialize_field(self, key, v)
    }
    fn end(self) -> Result<(), SerError> {
        self.ser.out.push_str("}}");
        Ok(())
    }
}

/// The value serializer.
struct ValueSer;

/// An array being built.
pub struct SeqBuilder {
    items: Vec<Value>,
    /// For tuple variants: the variant name wrapping the array.
    variant: Option<&'static str>,
}

/// An object being built.
pub struct MapBuilder {
    map: Map,
    key: Option<String>,
    /// For struct variants: the variant name wrapping the object.
    variant: Option<&'static str>,
}

fn wrap(variant: Option<&'static str>, v: Value) -> Value {
    match variant {
        None => v,
        Some(name) => {
            let mut m = Map::with_capacity(1);
            m.push(name, v);
            Value::Object(m)
        }
    }
}

impl ser::Serializer for ValueSer {
    type Ok = Value;
    type Error = SerError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, SerError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, SerError> {
        Ok(Value::i64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, SerError> {
        Ok(Value::i64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, SerError> {
        Ok(Value::i64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, SerError> {
        Ok(Value::i64(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, SerError> {
        Ok(Value::u64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, SerError> {
        Ok(Value::u64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, SerError> {
        Ok(Value::u64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, SerError> {
        Ok(Value::u64(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, SerError> {
        Ok(Value::f64(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, SerError> {
        Ok(Value::f64(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, SerError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, SerError> {
        Ok(Value::str(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, SerError> {
        Ok(Value::Array(
            v.iter()
                .map(|b| Value::Number(Number::from_u64((*b).into())))
                .collect(),
        ))
    }
    fn serialize_none(self) -> Result<Value, SerError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, SerError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, SerError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, SerError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, SerError> {
        Ok(Value::str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Value, SerError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, SerError> {
        Ok(wrap(Some(variant), v.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, SerError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, SerError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, SerError> {
        Ok(MapBuilder {
            map: Map::with_capacity(len.unwrap_or(0)),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, SerError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapBuilder, SerError> {
        Ok(MapBuilder {
            map: Map::with_capacity(len),
            key: None,
            variant: Some(variant),
        })
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.items.push(v.serialize(ValueSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(wrap(self.variant, Value::Array(self.items)))
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        match key.serialize(ValueSer)? {
            Value::String(s) => {
                self.key = Some(s);
                Ok(())
            }
            _ => Err(key_error()),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        let key = self.key.take().ok_or_else(key_error)?;
        self.map.push(key, v.serialize(ValueSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(wrap(self.variant, Value::Object(self.map)))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        self.map.push(key, v.serialize(ValueSer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, SerError> {
        Ok(wrap(self.variant, Value::Object(self.map)))
    }
}

impl ser::SerializeStructVariant for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        ser::SerializeStruct::serialize_field(self, key, v)
    }
    fn end(self) -> Result<Value, SerError> {
        ser::SerializeStruct::end(self)
    }
}

/// `Serialize` for a borrowed [`Value`]: numbers keep their literal's value (integer
/// literals as integers, others as floats written in Go's shortest form, so a literal such
/// as `2.50` comes out as `2.5`), members their order. The engine's own values (answers'
/// normalised requests) hold only such shortest-form numbers.
pub(crate) struct ValueRef<'v>(pub &'v Value);

impl Serialize for ValueRef<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => {
                let lit = n.literal();
                if n.is_integer_literal() {
                    if let Ok(u) = lit.parse::<u64>() {
                        return s.serialize_u64(u);
                    }
                    if let Ok(i) = lit.parse::<i64>() {
                        return s.serialize_i64(i);
                    }
                }
                s.serialize_f64(n.as_f64().unwrap_or(0.0))
            }
            Value::String(x) => s.serialize_str(x),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&ValueRef(x))?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, x) in m.iter() {
                    map.serialize_entry(k, &ValueRef(x))?;
                }
                map.end()
            }
        }
    }
}

/// serde `serialize_with` for an `f64` member: integral values below 2^53 as integers (as
/// Go and [`to_text`] write them), others as floats, so serde_json users see `3`, not `3.0`.
pub fn go_number<S: ser::Serializer>(f: &f64, s: S) -> Result<S::Ok, S::Error> {
    if let Some(i) = super::write::small_integral(*f) {
        s.serialize_i64(i)
    } else {
        s.serialize_f64(*f)
    }
}

/// [`go_number`] for an optional member (use with `skip_serializing_if = "Option::is_none"`).
pub fn go_number_opt<S: ser::Serializer>(f: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match f {
        Some(f) => go_number(f, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse, to_string};

    /// Text written through serde equals the writer's text of the same value, and the value
    /// built through serde equals it, for numbers, escapes, nesting and duplicate keys.
    #[test]
    fn serde_output_matches_the_writer() {
        let src = r#"{"a":[1,-2,2.5,1e-7,1.25e+22,18446744073709551615,-9223372036854775808],"b":{"c":null,"d":true,"e":"x\"\\\u0001\n"},"a":{},"f":[]}"#;
        let v = parse(src.as_bytes()).unwrap();
        let want = to_string(&v);
        assert_eq!(to_text(&ValueRef(&v)).unwrap(), want);
        assert_eq!(to_string(&to_value(&ValueRef(&v)).unwrap()), want);
    }

    #[test]
    fn floats_are_written_as_go_writes_them() {
        for (f, want) in [
            (1.0, "1"),
            (-0.0, "-0"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (f64::NAN, "null"),
            (f64::INFINITY, "null"),
        ] {
            assert_eq!(to_text(&f).unwrap(), want, "{f}");
            assert_eq!(to_string(&to_value(&f).unwrap()), want, "{f}");
            assert_eq!(to_string(&Value::f64(f)), want, "{f}");
        }
    }

    #[test]
    fn integers_and_strings_are_written_as_the_writer_writes_them() {
        for i in [0, 1, -1, 10, -10, 1234567890, i64::MIN, i64::MAX] {
            assert_eq!(to_text(&i).unwrap(), i.to_string());
        }
        for u in [0, 9, 10, 99, 100, 1_000_000, u64::MAX] {
            assert_eq!(to_text(&u).unwrap(), u.to_string());
        }
        for s in [
            "",
            "plain",
            "q\"uote",
            "back\\slash",
            "tab\t",
            "\u{1}",
            "é😀",
        ] {
            assert_eq!(to_text(s).unwrap(), to_string(&Value::str(s)));
        }
    }

    #[test]
    fn non_string_keys_are_refused() {
        let m: std::collections::BTreeMap<u32, u32> = [(1, 2)].into_iter().collect();
        assert!(to_text(&m).is_err());
        assert!(to_value(&m).is_err());
        let ok: std::collections::BTreeMap<&str, u32> = [("k", 2)].into_iter().collect();
        assert_eq!(to_text(&ok).unwrap(), r#"{"k":2}"#);
    }
}
