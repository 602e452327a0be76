//! Requests decode the same from a borrowed tree (what `Engine::call` reads) as from an owned
//! [`Value`] (what `call_value`, bindings and previews read): the same request, warnings and
//! error (code, message, every problem) on generated requests, valid and broken, and the same
//! JSON error when the text is not JSON.

use crate::config::Limits;
use crate::json::node::parse_node;
use crate::json::{self, Value};
use crate::request::{CallContext, RecommendRequest, SimilarRequest};
use crate::tests::rng::Rng;

/// Strings as a request may spell them: plain, padded, blank, escaped, non-ASCII.
const STRINGS: &[&str] = &[
    r#""home""#,
    r#"" home ""#,
    r#""""#,
    r#""   ""#,
    r#""h\u006fme""#,
    r#""a\nb""#,
    r#""sku-1""#,
    r#""SKU-1""#,
    r#""é€""#,
    r#""\u00a0x\u3000""#,
    r#""../x""#,
    r#""summary""#,
    r#""FULL""#,
    r#""2026-01-02T01:00:00Z""#,
    r#""2026-13-02""#,
    r#""\"q\"""#,
];

/// Anything else a member could be.
const OTHERS: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "-1",
    "3",
    "20",
    "20.0",
    "2e1",
    "2.5",
    "1e400",
    "-0",
    "99999999999999999999",
    "[]",
    "{}",
];

fn scalar(r: &mut Rng) -> String {
    if r.index(2) == 0 {
        r.pick(STRINGS).to_string()
    } else {
        r.pick(OTHERS).to_string()
    }
}

fn id_list(r: &mut Rng) -> String {
    let n = r.index(8);
    let items: Vec<String> = (0..n)
        .map(|_| match r.index(10) {
            0 => r.pick(OTHERS).to_string(),
            1..=3 => format!("\"sku-{}\"", r.index(4)),
            _ => r.pick(STRINGS).to_string(),
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// A member value for `name`: usually the right type, sometimes anything.
fn member(r: &mut Rng, name: &str, depth: usize) -> String {
    if r.index(6) == 0 || depth > 2 {
        return scalar(r);
    }
    let keys: &[&str] = match name {
        "user" => &["user_id", "anonymous_id", "session_id"],
        "context" => &["locale", "device", "country", "now"],
        "anchors" => &["item_ids", "max_anchors"],
        "candidates" => &["include_ids", "exclude_ids"],
        "constraints" => &["required_tags", "forbidden_tags", "max_per_tag"],
        "weights" => &["pop", "cooc", "emb"],
        "options" => &["include_reasons", "explain", "include_trace", "seed"],
        "experiment" => &["id", "variant"],
        "max_per_tag" => &["brand", "Brand", " cat ", "", "x"],
        _ => &[],
    };
    if keys.is_empty() {
        return match name {
            "item_ids" | "include_ids" | "exclude_ids" | "required_tags" | "forbidden_tags"
            | "roles" => id_list(r),
            _ => scalar(r),
        };
    }
    object(r, keys, depth + 1)
}

/// An object with some of `keys` (case changed, repeated, or unknown now and then).
fn object(r: &mut Rng, keys: &[&str], depth: usize) -> String {
    let n = r.index(keys.len() + 2);
    let mut parts = Vec::new();
    for _ in 0..n {
        let k = keys[r.index(keys.len())];
        let spelled = match r.index(12) {
            0 => k.to_uppercase(),
            1 => format!("{k}_unknown"),
            2 => "we ird".to_string(),
            _ => k.to_string(),
        };
        let v = member(r, k, depth);
        parts.push(format!("{}:{v}", json::to_string(&Value::str(spelled))));
    }
    format!("{{{}}}", parts.join(","))
}

const RECOMMEND: &[&str] = &super::request::RECOMMEND_FIELDS;

const SIMILAR: &[&str] = &super::request::SIMILAR_FIELDS;

/// Small limits, so that the limit checks are met too.
fn limits() -> Limits {
    Limits {
        max_k: 20,
        max_include_ids: 4,
        max_exclude_ids: 3,
        max_anchors: 2,
        max_tags: 2,
        ..Limits::default()
    }
}

fn same_from_both_trees(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let owned = json::parse(bytes);
    let borrowed = parse_node(bytes, json::Limits::default());
    let (v, n) = match (owned, borrowed) {
        (Ok(v), Ok(n)) => (v, n),
        (Err(a), Err(b)) => return assert_eq!(a, b, "{text}"),
        (a, b) => panic!("{text}: {a:?} / {b:?}"),
    };
    for lim in [limits(), Limits::default()] {
        assert_eq!(
            RecommendRequest::from_value(&v, &lim),
            RecommendRequest::from_value(&n, &lim),
            "{text}"
        );
        assert_eq!(
            SimilarRequest::from_value(&v, &lim),
            SimilarRequest::from_value(&n, &lim),
            "{text}"
        );
    }
    assert_eq!(
        CallContext::from_value(&v),
        CallContext::from_tree(&n),
        "{text}"
    );
}

#[test]
fn generated_requests_decode_the_same_from_both_trees() {
    let mut r = Rng::new(0x9e37_79b9_7f4a_7c15);
    let cases = if cfg!(debug_assertions) {
        3_000
    } else {
        20_000
    };
    let (mut ok, mut errors, mut not_json) = (0, 0, 0);
    for i in 0..cases {
        let fields = if i % 2 == 0 { RECOMMEND } else { SIMILAR };
        let mut text = if i % 3 == 0 {
            // Mostly valid: what a well-behaved client sends, ids and tags generated.
            format!(
                r#"{{"surface":" home ",{},"k":{},"candidates":{{"include_ids":{},"exclude_ids":{}}},"constraints":{{"required_tags":{}}},"options":{{"explain":"summary"}}}}"#,
                if i % 2 == 0 {
                    r#""user":{"user_id":"u"}"#
                } else {
                    r#""item_id":"a""#
                },
                1 + r.index(3),
                id_list(&mut r),
                id_list(&mut r),
                id_list(&mut r)
            )
        } else {
            object(&mut r, fields, 0)
        };
        if r.index(20) == 2 {
            // Not an object.
            text = format!("[{text}]");
        }
        let mut bytes = text.into_bytes();
        match r.index(20) {
            // Not JSON: cut short (perhaps inside a character), or a stray byte.
            0 => bytes.truncate(r.index(bytes.len() + 1)),
            1 => bytes.insert(r.index(bytes.len() + 1), b','),
            _ => {}
        }
        same_from_both_trees(&bytes);
        let v = json::parse(&bytes);
        match v.map(|v| RecommendRequest::from_value(&v, &limits()).is_ok()) {
            Ok(true) => ok += 1,
            Ok(false) => errors += 1,
            Err(_) => not_json += 1,
        }
    }
    // Every outcome is exercised in numbers.
    assert!(
        ok > 50 && errors > 1_000 && not_json > 50,
        "{ok} ok, {errors} errors, {not_json} not json"
    );
}

#[test]
fn hand_written_requests_decode_the_same_from_both_trees() {
    for text in [
        r#"{"surface":"home","user":{"user_id":"u"},"candidates":{"include_ids":["a"," a ","b",null,"","A"],"exclude_ids":["\u0061"]}}"#,
        r#"{"Surface":"x","surface":"home","SURFACE":"pdp","user":{"user_id":"u"},"k":"20"}"#,
        r#"{"surface":"home","user":{},"weights":{"pop":-1,"cooc":1e400,"emb":"x"},"options":{"explain":"loud"}}"#,
        r#"{"surface":"home","user":{"user_id":"u"},"constraints":{"max_per_tag":{"Brand":2,"brand":1,"x":-1,"y":1.5}}}"#,
        r#"{"surface":"home","user":{"user_id":"u"},"anchors":{"item_ids":["a","b","c"],"max_anchors":1}}"#,
        r#"{"surface":"home","user":{"user_id":"u"},"context":{"now":"2026-01-02T01:00:00+02:00"}}"#,
        r#"null"#,
        r#"[]"#,
        r#""text""#,
        r#"{"surface":"home","user":{"user_id":"u"},"x":1,"y":{"z":[1,2]}}"#,
        r#"{"now":"2026-01-02T01:00:00Z","tenant":" demo ","roles":["Admin","admin",1]}"#,
        r#"{"surface":"home","user":{"user_id":"u"},"k":1e3}"#,
    ] {
        same_from_both_trees(text.as_bytes());
    }
}

/// `max_per_tag`'s limit counts distinct tags (trimmed, lower-cased, non-empty) and is met
/// before any value is read: a negative cap in an object with too many tags is a 400 for the
/// limit, not a 422 for the value.
#[test]
fn max_per_tag_limit_counts_distinct_tags_before_values() {
    let lim = limits(); // at most 2 tags
    let decode = |caps: &str| {
        let text = format!(
            r#"{{"surface":"home","user":{{"user_id":"u"}},"constraints":{{"max_per_tag":{caps}}}}}"#
        );
        let v = json::parse(text.as_bytes()).unwrap();
        let n = parse_node(text.as_bytes(), json::Limits::default()).unwrap();
        let by_value = RecommendRequest::from_value(&v, &lim);
        assert_eq!(by_value, RecommendRequest::from_value(&n, &lim), "{caps}");
        by_value
    };
    for ok in [
        r#"{"a":1,"b":2}"#,
        r#"{"A":1," a ":2,"b":3}"#,
        r#"{"a":1,"b":2,"":3,"  ":4}"#,
        r#"{"a":1,"a":2,"a":3}"#,
    ] {
        let r = decode(ok).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
        let caps = &r.0.constraints.as_ref().expect("constraints").max_per_tag;
        assert!(caps.len() <= 2, "{ok}: {caps:?}");
    }
    for (refused, tags) in [
        (r#"{"a":1,"b":2,"c":3}"#, 3),
        (r#"{"a":-1,"B":1," c":2,"d":"x"}"#, 4),
    ] {
        let e = decode(refused).unwrap_err();
        assert_eq!(e.status, 400, "{refused}: {e:?}");
        let want = format!("constraints.max_per_tag exceeds limit: {tags} tags, the limit is 2");
        assert_eq!(e.message, want, "{refused}");
    }
}
