//! Borrowed JSON trees and the read-only view the decoders share.
//!
//! A [`Node`] is what the parser builds for an input that is decoded once and dropped (a
//! `recommend` / `similar` / `validate` call): its strings and number literals are slices of
//! the input text, so reading a request allocates nothing per string; only a string with
//! escapes is unescaped into its own buffer. It is parsed by the same [`Parser`] code as a
//! [`Value`], under the same [`Limits`], so every error (kind, offset, path, message) is the
//! same as [`parse_with`]'s.
//!
//! [`Tree`] is what both trees offer a decoder: a [`View`] of one value (its type, its
//! scalar, its elements or members). The strict decoder (`crate::decode`) is written against
//! it, so requests decode the same whether they arrive as text (a borrowed tree) or as an
//! already built [`Value`] (a binding's native data, a preview's requests).
//!
//! [`Parser`]: super::parse
//! [`parse_with`]: super::parse_with

use super::parse::{parse_as, Build, JsonError, Limits};
use super::value::{Map, Number, Value};
use std::borrow::Cow;

/// A JSON value borrowing its strings from the parsed text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number literal as written.
    Number(&'a str),
    /// A string: a slice of the input, or unescaped when it had escapes.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Node<'a>>),
    /// An object, members in document order (duplicates included).
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// Parses `input` into a borrowed tree under `limits`: the same checks, errors and limits
/// as [`super::parse_with`].
pub(crate) fn parse_node(input: &[u8], limits: Limits) -> Result<Node<'_>, JsonError> {
    parse_as::<Borrowed>(input, limits)
}

/// Builds [`Node`]s: strings borrowed, containers left as grown (the tree is short-lived).
pub(crate) struct Borrowed;

impl<'a> Build<'a> for Borrowed {
    type Out = Node<'a>;
    type Object = Vec<(Cow<'a, str>, Node<'a>)>;
    fn null() -> Node<'a> {
        Node::Null
    }
    fn boolean(b: bool) -> Node<'a> {
        Node::Bool(b)
    }
    fn number(literal: &'a str) -> Node<'a> {
        Node::Number(literal)
    }
    fn string(s: Cow<'a, str>) -> Node<'a> {
        Node::String(s)
    }
    fn array(items: Vec<Node<'a>>) -> Node<'a> {
        Node::Array(items)
    }
    fn new_object() -> Self::Object {
        Vec::new()
    }
    fn member(o: &mut Self::Object, key: Cow<'a, str>, v: Node<'a>) {
        o.push((key, v));
    }
    fn object(o: Self::Object) -> Node<'a> {
        Node::Object(o)
    }
}

impl Node<'_> {
    /// The same value as an owned [`Value`] (what [`super::parse_with`] builds from the text).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(Number::from_literal_unchecked(n)),
            Node::String(s) => Value::String(s.to_string()),
            Node::Array(a) => Value::Array(a.iter().map(Node::to_value).collect()),
            Node::Object(m) => {
                let mut out = Map::with_capacity(m.len());
                for (k, v) in m {
                    out.push(k.to_string(), v.to_value());
                }
                Value::Object(out)
            }
        }
    }
}

/// One value of a [`Tree`], as a decoder reads it.
pub(crate) enum View<'v, T: Tree> {
    Null,
    Bool(bool),
    /// The number literal as written.
    Number(&'v str),
    String(&'v str),
    Array(&'v [T]),
    Object(&'v T::Obj),
}

/// A JSON tree a decoder can read: [`Value`] (owned) or [`Node`] (borrowed).
pub(crate) trait Tree: Sized {
    /// How the tree holds an object's members.
    type Obj: Members<Node = Self> + ?Sized;
    /// This value.
    fn view(&self) -> View<'_, Self>;
    /// This value as a [`Value`]: itself, or an owned copy of a borrowed tree (host-supplied
    /// signals are compiled from a [`Value`]).
    fn as_value(&self) -> Cow<'_, Value>;
    /// True for `null`.
    fn is_null(&self) -> bool {
        matches!(self.view(), View::Null)
    }
    /// A short name of the JSON type, for error messages (as [`Value::type_name`]).
    fn type_name(&self) -> &'static str {
        match self.view() {
            View::Null => "null",
            View::Bool(_) => "boolean",
            View::Number(_) => "number",
            View::String(_) => "string",
            View::Array(_) => "array",
            View::Object(_) => "object",
        }
    }
    /// The string, if this is one.
    fn as_str(&self) -> Option<&str> {
        match self.view() {
            View::String(s) => Some(s),
            _ => None,
        }
    }
    /// The object, if this is one.
    fn as_obj(&self) -> Option<&Self::Obj> {
        match self.view() {
            View::Object(m) => Some(m),
            _ => None,
        }
    }
}

/// An object's members in document order, duplicates included.
pub(crate) trait Members {
    /// The tree the member values belong to.
    type Node: Tree;
    /// The members.
    fn members(&self) -> &[(Cow<'_, str>, Self::Node)];
    /// All members in document order, duplicates included.
    fn iter(&self) -> impl Iterator<Item = (&str, &Self::Node)> {
        self.members().iter().map(|(k, v)| (&**k, v))
    }
    /// Last member named exactly `key`.
    fn get(&self, key: &str) -> Option<&Self::Node> {
        let m = self.members();
        m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Members with duplicates collapsed, as [`Map::deduped`].
    fn deduped(&self) -> Vec<(&str, &Self::Node)> {
        super::value::deduped(self.members())
    }
}

impl Tree for Value {
    type Obj = Map;
    #[inline]
    fn view(&self) -> View<'_, Value> {
        match self {
            Value::Null => View::Null,
            Value::Bool(b) => View::Bool(*b),
            Value::Number(n) => View::Number(n.literal()),
            Value::String(s) => View::String(s),
            Value::Array(a) => View::Array(a),
            Value::Object(m) => View::Object(m),
        }
    }
    fn as_value(&self) -> Cow<'_, Value> {
        Cow::Borrowed(self)
    }
}

impl Members for Map {
    type Node = Value;
    fn members(&self) -> &[(Cow<'_, str>, Value)] {
        self.as_slice()
    }
}

impl<'a> Tree for Node<'a> {
    type Obj = [(Cow<'a, str>, Node<'a>)];
    #[inline]
    fn view(&self) -> View<'_, Node<'a>> {
        match self {
            Node::Null => View::Null,
            Node::Bool(b) => View::Bool(*b),
            Node::Number(n) => View::Number(n),
            Node::String(s) => View::String(s),
            Node::Array(a) => View::Array(a),
            Node::Object(m) => View::Object(m.as_slice()),
        }
    }
    fn as_value(&self) -> Cow<'_, Value> {
        Cow::Owned(self.to_value())
    }
}

impl<'a> Members for [(Cow<'a, str>, Node<'a>)] {
    type Node = Node<'a>;
    fn members(&self) -> &[(Cow<'_, str>, Node<'a>)] {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse_with, to_string};

    /// The borrowed tree is the owned tree, and fails exactly where and how it fails.
    #[test]
    fn borrowed_trees_parse_as_values_do() {
        let docs = [
            r#"{"a": [1, -2.5e3, true, false, null, "x\u00e9\ud83d\ude00\n"], "a": {}}"#,
            r#"  ["plain", "é€", "with \"escapes\"", "\/", {"k": [[], {}]}]  "#,
            "",
            "{",
            "[1,]",
            "01",
            r#""\u0000""#,
            r#""\ud800""#,
            "\"a\x01\"",
            r#"{"rules":[{"a":1},{"b":tru}]}"#,
            r#"{"we ird":[x]}"#,
            "[[[[[[1]]]]]]",
            "{} {}",
        ];
        let limits = Limits {
            max_depth: 5,
            max_members: 12,
            max_number_len: 4,
            ..Limits::default()
        };
        for d in docs {
            for lim in [Limits::default(), limits] {
                let owned = parse_with(d.as_bytes(), lim);
                let borrowed = parse_node(d.as_bytes(), lim);
                match (owned, borrowed) {
                    (Ok(v), Ok(n)) => {
                        assert_eq!(n.to_value(), v, "{d}");
                        assert_eq!(to_string(&n.as_value()), to_string(&v));
                    }
                    (Err(a), Err(b)) => assert_eq!(a, b, "{d}"),
                    (a, b) => panic!("{d}: {a:?} vs {b:?}"),
                }
            }
        }
    }

    #[test]
    fn plain_strings_borrow_the_input() {
        let text = br#"{"k": ["abc", "a\nb"]}"#;
        let n = parse_node(text, Limits::default()).unwrap();
        let Node::Object(m) = &n else { panic!() };
        assert!(matches!(m[0].0, Cow::Borrowed("k")));
        let Node::Array(a) = &m[0].1 else { panic!() };
        assert!(matches!(&a[0], Node::String(Cow::Borrowed("abc"))));
        assert!(matches!(&a[1], Node::String(Cow::Owned(s)) if s == "a\nb"));
    }
}
