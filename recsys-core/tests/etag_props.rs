//! Property tests for canonical JSON and ETags: canonicalisation is idempotent, key order and
//! whitespace never change the ETag, and any value change does.

use proptest::prelude::*;
use recsys_core::json::{canonical_text, etag};

/// A small JSON value model we can render in several equivalent ways.
#[derive(Clone, Debug)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Dec(i32, u8),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

fn arb_json() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::Int),
        (any::<i32>(), 0u8..4).prop_map(|(m, s)| J::Dec(m, s)),
        "[a-zA-Z0-9 é😀\"\\\\/\n\t<>&]{0,8}".prop_map(J::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(J::Arr),
            prop::collection::btree_map("[a-zé]{1,6}", inner, 0..5)
                .prop_map(|m| J::Obj(m.into_iter().collect())),
        ]
    })
}

fn esc(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\u0009"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Renders `j`; `reverse` flips object member order, `ws` adds whitespace everywhere.
fn render(j: &J, reverse: bool, ws: bool) -> String {
    let sp = if ws { " \n\t " } else { "" };
    match j {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Int(i) => i.to_string(),
        J::Dec(m, s) => {
            let neg = *m < 0;
            let digits = format!("{:0>width$}", m.unsigned_abs(), width = *s as usize + 1);
            let (a, b) = digits.split_at(digits.len() - *s as usize);
            let body = if b.is_empty() {
                a.to_string()
            } else {
                format!("{a}.{b}")
            };
            if neg {
                format!("-{body}")
            } else {
                body
            }
        }
        J::Str(s) => esc(s),
        J::Arr(a) => {
            let parts: Vec<String> = a.iter().map(|x| render(x, reverse, ws)).collect();
            format!("[{sp}{}{sp}]", parts.join(&format!("{sp},{sp}")))
        }
        J::Obj(m) => {
            let mut parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}{sp}:{sp}{}", esc(k), render(v, reverse, ws)))
                .collect();
            if reverse {
                parts.reverse();
            }
            format!("{{{sp}{}{sp}}}", parts.join(&format!("{sp},{sp}")))
        }
    }
}

/// Changes one leaf value of `j` (returns false if `j` has no leaf to change).
fn mutate(j: &mut J) -> bool {
    match j {
        J::Null => {
            *j = J::Bool(true);
            true
        }
        J::Bool(b) => {
            *b = !*b;
            true
        }
        J::Int(i) => {
            *i = i.wrapping_add(1);
            true
        }
        J::Dec(m, _) => {
            *m = m.wrapping_add(1);
            true
        }
        J::Str(s) => {
            s.push('x');
            true
        }
        J::Arr(a) => {
            a.iter_mut().any(mutate) || {
                a.push(J::Null);
                true
            }
        }
        J::Obj(m) => {
            m.iter_mut().any(|(_, v)| mutate(v)) || {
                m.push(("zz".into(), J::Null));
                true
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonicalisation_is_idempotent(j in arb_json()) {
        let c = canonical_text(render(&j, false, false).as_bytes()).unwrap();
        prop_assert_eq!(canonical_text(c.as_bytes()).unwrap(), c);
    }

    #[test]
    fn key_order_and_whitespace_never_change_the_etag(j in arb_json()) {
        let a = etag(render(&j, false, false).as_bytes()).unwrap();
        prop_assert_eq!(&a, &etag(render(&j, true, false).as_bytes()).unwrap());
        prop_assert_eq!(&a, &etag(render(&j, true, true).as_bytes()).unwrap());
        prop_assert_eq!(a.len(), 64);
        prop_assert!(a.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn any_value_change_changes_the_etag(j in arb_json()) {
        let mut m = j.clone();
        prop_assume!(mutate(&mut m));
        prop_assert_ne!(
            etag(render(&j, false, false).as_bytes()).unwrap(),
            etag(render(&m, false, false).as_bytes()).unwrap()
        );
    }
}
