//! The decoder's two-mode document features: severities weighed by the mode, elements that
//! are dropped, quoted odd-key paths, fields with several spellings, repeated and unknown
//! key warnings.

use super::members::MAX_KEY_FINDINGS;
use super::*;
use crate::json::{parse, Map, Value};

pub(super) const STYLE: Style = Style {
    keys: Keys::Exact,
    unknown_field: ErrorCode::RuleUnknownKey,
    wrong_type: ErrorCode::RuleWrongType,
    unknown_message: |k| format!("unknown {k}"),
};

pub(super) const NOTES: KeyNotes = KeyNotes {
    duplicate: "DUP",
    unknown: "UNKNOWN",
    unknown_what: "is not known",
    ignored: "IGNORED",
};

fn map(s: &str) -> Map {
    match parse(s.as_bytes()).unwrap() {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn codes(ps: &[Problem]) -> Vec<&str> {
    ps.iter().map(|p| p.code).collect()
}

/// One finding of each severity, in a decoder of `mode`.
fn one_of_each(mode: Mode) -> Outcome {
    let mut d = Decoder::new("$", STYLE).with_mode(mode);
    d.note(Severity::Error, "E", "error");
    d.note(Severity::Drop, "D", "drop");
    d.note(Severity::Ignore, "I", "ignore");
    d.note(Severity::Warn, "W", "warn");
    d.outcome()
}

#[test]
fn the_mode_decides_what_each_severity_means() {
    let strict = one_of_each(Mode::Strict);
    assert_eq!(codes(&strict.errors), ["E", "D", "I"]);
    assert_eq!(codes(&strict.warnings), ["W"]);
    assert!(strict.dropped.is_empty());

    let lenient = one_of_each(Mode::Lenient);
    assert_eq!(codes(&lenient.errors), ["E"]);
    assert_eq!(codes(&lenient.warnings), ["I", "W"]);
    assert_eq!(codes(&lenient.dropped), ["D"]);
}

#[test]
fn fail_lists_only_the_errors_of_the_mode() {
    let mut d = Decoder::new("$", STYLE).with_mode(Mode::Lenient);
    d.note(Severity::Ignore, "I", "ignored");
    d.note(Severity::Warn, "W", "warned");
    assert!(d
        .fail(ErrorCode::InvalidRules, ErrorCode::InvalidRules)
        .is_none());

    let mut d = Decoder::new("$", STYLE);
    d.note(Severity::Warn, "W", "warned");
    d.note(Severity::Ignore, "I", "ignored");
    let e = d
        .fail(ErrorCode::InvalidRules, ErrorCode::InvalidRules)
        .unwrap();
    assert_eq!(e.message, "ignored");
    assert_eq!(codes(&e.problems), ["I"]);
}

/// Reads three elements: the first clean with a warning, the second with an ignored value
/// and a drop, the third failing to build.
fn three_elements(mode: Mode) -> (Vec<Option<u32>>, Outcome) {
    let mut d = Decoder::new("$", STYLE).with_mode(mode);
    d.note(Severity::Ignore, "DOC", "document level");
    let mut got = Vec::new();
    for i in 0..3u32 {
        let r = d.index(i as usize, |d| {
            d.element(|d| {
                assert!(!d.dropped(), "a new element starts clean");
                match i {
                    0 => d.note(Severity::Warn, "W0", "kept"),
                    1 => {
                        d.note(Severity::Ignore, "I1", "ignored in a dropped element");
                        d.note(Severity::Drop, "D1", "why it is dropped");
                        assert!(d.dropped());
                    }
                    _ => {
                        d.note(Severity::Warn, "W2", "warned in an element that failed");
                        return None;
                    }
                }
                Some(i)
            })
        });
        got.push(r);
    }
    (got, d.outcome())
}

#[test]
fn a_dropped_element_keeps_only_why_it_was_dropped_when_lenient() {
    let (got, out) = three_elements(Mode::Lenient);
    assert_eq!(got, [Some(0), None, None]);
    assert_eq!(codes(&out.warnings), ["DOC", "W0"]);
    assert_eq!(codes(&out.dropped), ["D1"]);
    assert_eq!(out.dropped[0].path, "$[1]");
    assert!(out.errors.is_empty());

    let (got, out) = three_elements(Mode::Strict);
    assert_eq!(got, [Some(0), None, None]);
    assert_eq!(codes(&out.errors), ["DOC", "I1", "D1"]);
    assert_eq!(codes(&out.warnings), ["W0", "W2"]);
    assert!(out.dropped.is_empty());
}

#[test]
fn odd_keys_are_quoted_in_paths_when_asked() {
    let mut d = Decoder::new("$", STYLE).quoted_keys();
    for k in ["plain_key1", "weird key", "", "x.y", "é"] {
        d.field(k, |d| d.note(Severity::Warn, "W", "w"));
    }
    let long = "k".repeat(70) + " ";
    d.field(&long, |d| d.note(Severity::Warn, "W", "w"));
    let paths: Vec<String> = d.outcome().warnings.into_iter().map(|p| p.path).collect();
    let shortened = format!("$[\"{}\"…]", "k".repeat(64));
    assert_eq!(
        paths,
        [
            "$.plain_key1",
            "$[\"weird key\"]",
            "$[\"\"]",
            "$[\"x.y\"]",
            "$[\"é\"]",
            shortened.as_str(),
        ]
    );
    // Plain decoders keep `.key` whatever the key.
    let mut d = Decoder::new("$", STYLE);
    d.field("weird key", |d| assert_eq!(d.path(), "$.weird key"));
    assert_eq!(d.child_path("$", "x.y"), "$.x.y");
}

#[test]
fn unknown_members_use_the_path_style() {
    let m = map(r#"{"ok":1,"bad key":2}"#);
    let mut d = Decoder::new("$", STYLE).quoted_keys();
    d.known(&m, &["ok"]);
    let problems = d.into_problems();
    assert_eq!(problems[0].path, "$[\"bad key\"]");
}

#[test]
fn the_first_spelling_with_a_value_wins_and_later_ones_are_ignored() {
    let m = map(r#"{"a":"  ","b":7,"c":"x","d":null,"e":"y"}"#);
    let mut d = Decoder::new("$", STYLE);
    let obj = d.members(&m, |_| true, NOTES);
    let read = |d: &mut Decoder, v: &Value, key: &str| match v {
        Value::Null => Got::Empty,
        Value::String(s) if s.trim().is_empty() => Got::Empty,
        Value::String(s) => Got::Val(s.clone()),
        other => {
            let message = format!("{key} must be a string, got {}", other.type_name());
            d.note(Severity::Ignore, "TYPE", message);
            Got::Wrong
        }
    };
    let got = obj.first(&mut d, &["a", "b", "c", "d", "e"], read);
    assert_eq!(got, Some(("c", "x".to_string())));
    let none = obj.first(&mut d, &["a", "d", "zz"], read);
    assert_eq!(none, None);
    let out = d.outcome();
    let found: Vec<(&str, &str, &str)> = out
        .errors
        .iter()
        .chain(&out.warnings)
        .map(|p| (p.path.as_str(), p.code, p.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("$.b", "TYPE", "b must be a string, got number"),
            ("$.e", "IGNORED", "\"e\" is ignored because \"c\" is set"),
        ]
    );
}

#[test]
fn ignored_members_are_warned_about_only_when_given() {
    let m = map(r#"{"org_id":"o","orgId":"","x":[]}"#);
    let mut d = Decoder::new("$.r", STYLE);
    let obj = d.members(&m, |_| true, NOTES);
    obj.ignore(&mut d, &["org_id", "orgId", "x", "absent"], "not used");
    let out = d.outcome();
    assert_eq!(out.warnings.len(), 1);
    assert_eq!(out.warnings[0].path, "$.r.org_id");
    assert_eq!(out.warnings[0].message, "\"org_id\" is ignored: not used");
}

#[test]
fn repeated_and_unknown_keys_are_warnings_and_the_last_value_is_used() {
    let m = map(r#"{"a":1,"zz":2,"a":3,"yy":4,"a":5,"zz":6}"#);
    let mut d = Decoder::new("$", STYLE).quoted_keys();
    let obj = d.members(&m, |k| k == "a", NOTES);
    assert_eq!(obj.get("a"), Some(&Value::u64(5)));
    assert_eq!(obj.get("zz"), Some(&Value::u64(6)));
    let out = d.with_mode_check();
    let found: Vec<(&str, &str, &str)> = out
        .warnings
        .iter()
        .map(|p| (p.path.as_str(), p.code, p.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "$.a",
                "DUP",
                "key \"a\" appears more than once; the last value is used"
            ),
            (
                "$.zz",
                "DUP",
                "key \"zz\" appears more than once; the last value is used"
            ),
            ("$.zz", "UNKNOWN", "key \"zz\" is not known"),
            ("$.yy", "UNKNOWN", "key \"yy\" is not known"),
        ]
    );
}

impl Decoder {
    /// The outcome, checking key warnings are warnings in both modes.
    fn with_mode_check(self) -> Outcome {
        assert!(self.findings.iter().all(|f| f.severity == Severity::Warn));
        self.outcome()
    }
}

#[test]
fn key_warnings_are_capped_per_object_with_a_summary() {
    let body: Vec<String> = (0..25)
        .map(|i| format!("\"u{i}\":1,\"d{i}\":1,\"d{i}\":2"))
        .collect();
    let m = map(&format!("{{{}}}", body.join(",")));
    let mut d = Decoder::new("$[3]", STYLE);
    let obj = d.members(&m, |k| k.starts_with('d'), NOTES);
    assert_eq!(obj.get("d7"), Some(&Value::u64(2)));
    let out = d.outcome();
    let per_code = |c: &str| out.warnings.iter().filter(|p| p.code == c).count();
    assert_eq!(per_code("DUP"), MAX_KEY_FINDINGS + 1);
    assert_eq!(per_code("UNKNOWN"), MAX_KEY_FINDINGS + 1);
    let summary = &out.warnings[MAX_KEY_FINDINGS];
    assert_eq!(summary.path, "$[3]");
    assert_eq!(
        summary.message,
        "15 more keys appears more than once; the last value is used (only the first 10 are listed)"
    );
}

#[test]
fn members_cost_grows_n_log_n_with_the_member_count() {
    // Work is counted as the members the key check is asked about: each distinct key once,
    // however many times the object repeats it, so 10x the members is 10x the questions.
    use std::cell::Cell;
    let asked = |n: usize| {
        let body: Vec<String> = (0..n).map(|i| format!("\"k{}\":1", i % (n / 2))).collect();
        let m = map(&format!("{{{}}}", body.join(",")));
        let count = Cell::new(0usize);
        let mut d = Decoder::new("$", STYLE);
        d.members(
            &m,
            |_| {
                count.set(count.get() + 1);
                true
            },
            NOTES,
        );
        count.get()
    };
    assert_eq!(asked(1_000), 500);
    assert_eq!(asked(10_000), 5_000);
}

#[test]
fn quote_shortens_long_input() {
    assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    let s = "é".repeat(64);
    assert_eq!(quote(&s), format!("{s:?}"));
    let s = "é".repeat(65);
    assert_eq!(quote(&s), format!("{:?}…", "é".repeat(64)));
}

/// A member's path is the same whether the decoder is at its object's path (the key pushed
/// and popped, no new string) or somewhere else (the path built), plain and quoted, and the
/// decoder's own path is back as it was after either.
#[test]
fn members_run_at_the_same_member_path_from_anywhere() {
    let m = map(r#"{"plain": 1, "odd key": 2}"#);
    for quoted in [false, true] {
        let d0 = Decoder::new("$", STYLE);
        let mut d = if quoted { d0.quoted_keys() } else { d0 };
        d.field("rules", |d| {
            d.index(3, |d| {
                let obj = d.members(&m, |_| true, NOTES);
                for key in ["plain", "odd key"] {
                    let want = obj.child(d, key);
                    let here = obj.at(d, key, |d| d.path().to_owned());
                    let elsewhere = d.at("$.other", |d| obj.at(d, key, |d| d.path().to_owned()));
                    assert_eq!(here, want, "{key} {quoted}");
                    assert_eq!(elsewhere, want, "{key} {quoted}");
                    assert_eq!(d.path(), "$.rules[3]");
                }
                if quoted {
                    assert_eq!(obj.child(d, "odd key"), r#"$.rules[3]["odd key"]"#);
                }
            })
        });
    }
}
