//! One set of document limits (1 MiB, 64 levels, 200 000 members) at every entry point:
//! the same config or rules document is refused, with the same problem code, by
//! `load_snapshot`, `set_config` / `set_rules`, `admin.put_config` / `admin.put_rules` and
//! the validators `recsys check` uses. Problem lists are capped; canonical text is a fixed
//! point up to the limits.

use crate::config::TenantConfig;
use crate::json::{self, Limits, Value};
use crate::rules::{parse_rules, RulesParseOptions};
use crate::{ApiError, Engine};

fn deep(levels: usize) -> String {
    format!(
        r#"{{"flags":{}1{}}}"#,
        "[".repeat(levels),
        "]".repeat(levels)
    )
}

fn large() -> String {
    // 1.2 MB compact: one long string member.
    format!(
        r#"{{"flags":{{"x":true}},"pad":"{}"}}"#,
        "x".repeat(1_200_000)
    )
}

fn many_members() -> String {
    // 250 000 array elements in about 500 KB: under the byte limit, over the member limit.
    let zeros = vec!["0"; 250_000].join(",");
    format!(r#"{{"pad":[{zeros}]}}"#)
}

fn admin(e: &Engine, op: &str, doc: &str) -> Result<String, ApiError> {
    e.call(
        op,
        &format!(
            r#"{{"request":{{"tenant":"demo","document":{doc}}},"ctx":{{"now":"2026-01-01T00:00:00Z","principal":{{"subject":"a","tenant":"demo","roles":["admin"]}}}}}}"#
        ),
    )
}

fn problem_code(e: &ApiError) -> &'static str {
    e.problems.first().map(|p| p.code).unwrap_or(e.code)
}

/// Every entry point refuses `doc` with the problem code `code`.
fn refused_everywhere(doc: &str, code: &str) {
    let e = Engine::new();
    let load = e
        .call(
            "load_snapshot",
            &format!(r#"{{"tenant":"demo","surface":"home","config":{doc},"signals":{{}}}}"#),
        )
        .unwrap_err();
    assert_eq!(problem_code(&load), code, "load_snapshot: {load:?}");
    let set = e
        .call(
            "set_config",
            &format!(r#"{{"tenant":"demo","document":{doc}}}"#),
        )
        .unwrap_err();
    assert_eq!(problem_code(&set), code, "set_config: {set:?}");
    let put = admin(&e, "admin.put_config", doc).unwrap_err();
    assert_eq!(problem_code(&put), code, "admin.put_config: {put:?}");
    // What `recsys check config` runs.
    let roomy = Limits {
        max_depth: 1000,
        max_bytes: 64 << 20,
        ..Limits::default()
    };
    let v = json::parse_with(doc.as_bytes(), roomy).unwrap();
    let check = TenantConfig::from_value(&v).unwrap_err();
    assert_eq!(check[0].code, code, "check: {check:?}");
    // The same document as rules.
    let rules = format!(r#"{{"rules":[],"pad":{doc}}}"#);
    let strict = RulesParseOptions {
        strict: true,
        ..RulesParseOptions::default()
    };
    if let Err(err) = parse_rules(rules.as_bytes(), &strict) {
        assert_eq!(problem_code(&ApiError::from(err)), code, "check rules");
    } else {
        panic!("check rules accepted a document over the limits");
    }
    let set_rules = e
        .call(
            "set_rules",
            &format!(r#"{{"tenant":"demo","document":{rules}}}"#),
        )
        .unwrap_err();
    assert_eq!(problem_code(&set_rules), code, "set_rules: {set_rules:?}");
}

#[test]
fn a_config_too_deep_is_refused_everywhere() {
    // 63 levels of arrays under "flags" inside the config object: 64 levels, allowed.
    let e = Engine::new();
    e.call(
        "set_config",
        &format!(r#"{{"tenant":"demo","document":{}}}"#, deep(62)),
    )
    .map(|_| ())
    .or_else(|e| {
        if problem_code(&e) == "RECSYS_JSON_TOO_DEEP" {
            Err(e)
        } else {
            Ok(())
        }
    })
    .expect("64 levels are within the limit");
    refused_everywhere(&deep(66), "RECSYS_JSON_TOO_DEEP");
}

#[test]
fn a_config_too_large_is_refused_everywhere() {
    refused_everywhere(&large(), "RECSYS_JSON_TOO_LARGE");
}

#[test]
fn a_config_with_too_many_members_is_refused_everywhere() {
    refused_everywhere(&many_members(), "RECSYS_JSON_TOO_MANY_MEMBERS");
}

#[test]
fn the_parser_counts_members_before_reading_them() {
    let lim = Limits::document();
    let text = format!("[{}]", vec!["0"; lim.max_members + 1].join(","));
    let e = json::parse_with(text.as_bytes(), lim).unwrap_err();
    assert_eq!(e.code(), "RECSYS_JSON_TOO_MANY_MEMBERS");
    let ok = format!("[{}]", vec!["0"; lim.max_members].join(","));
    assert!(json::parse_with(ok.as_bytes(), lim).is_ok());
}

#[test]
fn problem_lists_are_capped() {
    let e = Engine::new();
    e.call(
        "load_snapshot",
        r#"{"tenant":"demo","surface":"home","signals":{"popularity":[{"item_id":"a","score":1}]}}"#,
    )
    .unwrap();
    // 20 000 unknown request members: one error, at most 101 problems.
    let junk: Vec<String> = (0..20_000).map(|i| format!("\"x{i}\":1")).collect();
    let err = e
        .call(
            "recommend",
            &format!(
                r#"{{"request":{{"surface":"home","user":{{"user_id":"u"}},{}}},"ctx":{{"now":"2026-01-01T00:00:00Z","tenant":"demo"}}}}"#,
                junk.join(",")
            ),
        )
        .unwrap_err();
    assert_eq!(err.problems.len(), 101);
    let last = err.problems.last().unwrap();
    assert_eq!(last.code, "RECSYS_PROBLEMS_TRUNCATED");
    assert_eq!(last.message, "19900 more problems are not listed");
    assert!(err.to_json().len() < 20_000);
    // A config with 50 000 unknown members: warnings in the load report are capped too.
    let unknown: Vec<String> = (0..50_000).map(|i| format!("\"u{i}\":1")).collect();
    let report = e
        .call(
            "load_snapshot",
            &format!(
                r#"{{"tenant":"demo","surface":"home","config":{{{}}},"signals":{{}}}}"#,
                unknown.join(",")
            ),
        )
        .unwrap();
    let v = json::parse(report.as_bytes()).unwrap();
    let warnings = v.as_object().unwrap().get("warnings").unwrap();
    assert_eq!(warnings.as_array().unwrap().len(), 101);
}

#[test]
fn canonical_text_is_a_fixed_point_up_to_the_limits() {
    let limit = Limits::document().max_bytes;
    // Compact text under the limit whose canonical form (", " separators) is over it.
    let grows = format!("[{}]", vec!["1234"; 190_000].join(","));
    assert!(grows.len() <= limit);
    let e = json::canonical_text(grows.as_bytes()).unwrap_err();
    assert_eq!(e.code(), "RECSYS_JSON_TOO_LARGE");
    // Anything canonical_text returns parses again, within the limits, to itself.
    let fits = format!("[{}]", vec!["1e2"; 150_000].join(","));
    let once = json::canonical_text(fits.as_bytes()).unwrap();
    assert!(once.len() <= limit);
    assert_eq!(json::canonical_text(once.as_bytes()).unwrap(), once);
    assert_eq!(
        json::etag(once.as_bytes()).unwrap(),
        json::etag(fits.as_bytes()).unwrap()
    );
    let answer = crate::call_static("etag", &once).unwrap();
    assert!(json::parse(answer.as_bytes()).is_ok());
    let _ = Value::Null;
}
