//! The rules document layer: shapes, aliases, coercions, lenient vs strict, stable ids,
//! applicability and evaluation order.

use crate::error::{ApiError, Problem};
use crate::rules::{
    codes, derive_rule_id, go_map_json, parse_rules, Action, Rule, RuleId, RuleSet, RulesDocument,
    RulesError, RulesParseOptions, TargetType, Uuid, PROBLEM_CODES,
};
use crate::time::Timestamp;
use std::collections::HashSet;

const DEMO_ORG: &str = "32a83486-1530-507c-add7-d97f4316b28b";

fn lenient(src: &str) -> RulesDocument {
    parse_rules(src.as_bytes(), &RulesParseOptions::lenient("demo"))
        .unwrap_or_else(|e| panic!("lenient parse of {src} failed: {e}"))
}

fn strict(src: &str) -> Result<RulesDocument, RulesError> {
    parse_rules(src.as_bytes(), &RulesParseOptions::strict("demo"))
}

/// Parses in both modes, expecting exactly one rule and no problems.
fn one(src: &str) -> Rule {
    let doc = lenient(src);
    assert!(doc.dropped.is_empty(), "{src}: dropped {:?}", doc.dropped);
    assert_eq!(doc.rules.len(), 1, "{src}: {doc:?}");
    let sdoc = strict(src).unwrap_or_else(|e| panic!("strict parse of {src} failed: {e:?}"));
    assert_eq!(sdoc.rules, doc.rules, "{src}");
    doc.rules.into_iter().next().unwrap()
}

/// Strict problems of a document that must be rejected.
fn problems(src: &str) -> Vec<Problem> {
    match strict(src) {
        Err(RulesError::Invalid(p)) => {
            assert!(!p.is_empty());
            p
        }
        other => panic!("expected strict rejection of {src}, got {other:?}"),
    }
}

fn has(ps: &[Problem], path: &str, code: &str) -> bool {
    ps.iter().any(|p| p.path == path && p.code == code)
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// Actions and targets

#[test]
fn every_action_alias_and_synonym() {
    let synonyms = [
        ("block", Action::Block),
        ("BLOCKLIST", Action::Block),
        ("Ban", Action::Block),
        ("exclude", Action::Block),
        (" suppress ", Action::Block),
        ("pin", Action::Pin),
        ("Pinned", Action::Pin),
        ("FORCE", Action::Pin),
        ("boost", Action::Boost),
        ("promote", Action::Boost),
        ("Increase", Action::Boost),
    ];
    for key in ["action", "rule_action", "operation"] {
        for (word, want) in synonyms {
            let src = format!(r#"[{{"{key}":"{word}","item_ids":["a"],"boost_value":0.5}}]"#);
            let doc = lenient(&src);
            assert_eq!(doc.rules.len(), 1, "{src}");
            assert_eq!(doc.rules[0].action, want, "{src}");
        }
    }
}

#[test]
fn first_non_empty_action_alias_wins() {
    let r = one(r#"{"action":"  ","rule_action":null,"operation":"pin","item_ids":"a"}"#);
    assert_eq!(r.action, Action::Pin);
    // A later alias is reported as ignored when an earlier one wins.
    let doc = lenient(r#"[{"action":"block","operation":"pin","item_ids":"a"}]"#);
    assert_eq!(doc.rules[0].action, Action::Block);
    assert!(has(&doc.warnings, "$[0].operation", codes::IGNORED_FIELD));
}

#[test]
fn every_target_type_alias_and_synonym() {
    let synonyms = [
        ("item", TargetType::Item),
        ("ITEMS", TargetType::Item),
        ("Product", TargetType::Item),
        ("tag", TargetType::Tag),
        ("LABEL", TargetType::Tag),
        ("brand", TargetType::Brand),
        ("Category", TargetType::Category),
        ("cat", TargetType::Category),
    ];
    for key in ["target_type", "targetType"] {
        for (word, want) in synonyms {
            let src = format!(r#"{{"action":"block","{key}":"{word}","target_key":"K"}}"#);
            let r = one(&src);
            assert_eq!(r.target_type, want, "{src}");
            if want == TargetType::Item {
                assert_eq!(r.item_ids, strings(&["K"]), "ITEM with key only: {src}");
                assert_eq!(r.target_key, "K");
            } else {
                assert_eq!(r.target_key, "k", "non-item keys are lower-cased: {src}");
                assert!(r.item_ids.is_empty());
            }
        }
    }
}

#[test]
fn target_key_aliases_and_normalisation() {
    for key in ["target_key", "targetKey", "key"] {
        let r = one(&format!(
            r#"{{"action":"block","target_type":"tag","{key}":"  Summer SALE "}}"#
        ));
        assert_eq!(r.target_key, "summer sale", "{key}");
    }
    // Unicode lower-casing is per character.
    let r = one(r#"{"action":"block","target_type":"brand","key":"ÉTÉ İ"}"#);
    assert_eq!(r.target_key, "été i");
}

#[test]
fn tag_brand_category_imply_the_type() {
    let r = one(r#"{"action":"block","tag":" Adult "}"#);
    assert_eq!(
        (r.target_type, r.target_key.as_str()),
        (TargetType::Tag, "adult")
    );
    let r = one(r#"{"action":"block","brand":"Acme"}"#);
    assert_eq!(
        (r.target_type, r.target_key.as_str()),
        (TargetType::Brand, "acme")
    );
    let r = one(r#"{"action":"block","category":"Shoes"}"#);
    assert_eq!(
        (r.target_type, r.target_key.as_str()),
        (TargetType::Category, "shoes")
    );
    // tag before brand before category; the others are reported as ignored.
    let doc = lenient(r#"[{"action":"block","brand":"b","tag":"t","category":"c"}]"#);
    assert_eq!(doc.rules[0].target_type, TargetType::Tag);
    assert!(has(&doc.warnings, "$[0].brand", codes::IGNORED_FIELD));
    assert!(has(&doc.warnings, "$[0].category", codes::IGNORED_FIELD));
    // An explicit type is not overridden by the implication.
    let r = one(r#"{"action":"block","target_type":"brand","tag":"Acme"}"#);
    assert_eq!(
        (r.target_type, r.target_key.as_str()),
        (TargetType::Brand, "acme")
    );
    // target_key wins over tag (and no type is implied from an ignored tag).
    let doc =
        lenient(r#"[{"action":"block","target_type":"category","target_key":"X","tag":"y"}]"#);
    assert_eq!(doc.rules[0].target_key, "x");
    assert!(has(&doc.warnings, "$[0].tag", codes::IGNORED_FIELD));
}

#[test]
fn every_item_id_alias() {
    for key in [
        "item_ids",
        "item_id",
        "itemIds",
        "itemId",
        "items",
        "target_items",
        "targetItems",
    ] {
        let r = one(&format!(
            r#"[{{"action":"pin","{key}":["A"," b ","","A"]}}]"#
        ));
        assert_eq!(
            r.target_type,
            TargetType::Item,
            "{key}: type implied by ids"
        );
        assert_eq!(r.item_ids, strings(&["A", "b"]), "{key}");
    }
}

#[test]
fn item_id_values() {
    // Comma-separated string.
    let r = one(r#"{"action":"pin","item_ids":" a, b ,,a,C "}"#);
    assert_eq!(r.item_ids, strings(&["a", "b", "C"]));
    // Numbers stringified in Go's shortest form; case preserved; dedupe after trimming.
    let r = one(r#"{"action":"pin","item_ids":[12, 12.0, "12", 1.5, 1e21, "Ab", "ab"]}"#);
    assert_eq!(r.item_ids, strings(&["12", "1.5", "1e+21", "Ab", "ab"]));
    // A single number.
    let r = one(r#"{"action":"pin","item_id":42}"#);
    assert_eq!(r.item_ids, strings(&["42"]));
    // First non-empty alias wins: an empty list falls through.
    let r = one(r#"[{"action":"pin","item_ids":[],"itemIds":" , ","items":["x"]}]"#);
    assert_eq!(r.item_ids, strings(&["x"]));
}

#[test]
fn numbers_where_strings_are_expected() {
    let r = one(
        r#"{"action":"block","target_type":"tag","target_key":7,"surface":10,"segment":2.5,"name":1e2}"#,
    );
    assert_eq!(r.target_key, "7");
    assert_eq!(r.surface.as_deref(), Some("10"));
    assert_eq!(r.segment.as_deref(), Some("2.5"));
    assert_eq!(r.name, "100");
}

#[test]
fn item_rule_with_key_only_and_ids_win_over_key() {
    let r = one(r#"{"action":"pin","target_type":"item","key":" SKU-1 "}"#);
    assert_eq!(r.item_ids, strings(&["SKU-1"]));
    let r = one(r#"{"action":"pin","target_type":"item","key":"label","item_ids":["x","y"]}"#);
    assert_eq!(r.item_ids, strings(&["x", "y"]));
    assert_eq!(r.target_key, "label");
}

#[test]
fn item_ids_on_non_item_rules_are_ignored() {
    let doc = lenient(r#"[{"action":"block","tag":"t","item_ids":["a"]}]"#);
    assert!(doc.rules[0].item_ids.is_empty());
    assert!(has(&doc.warnings, "$[0].item_ids", codes::IGNORED_FIELD));
}

#[test]
fn nested_target_object() {
    let r = one(r#"{"action":"block","target":{"type":"Brand","key":"ACME"}}"#);
    assert_eq!(
        (r.target_type, r.target_key.as_str()),
        (TargetType::Brand, "acme")
    );
    for (tk, kk) in [
        ("type", "key"),
        ("target_type", "target_key"),
        ("targetType", "tag"),
        ("type", "value"),
    ] {
        let r = one(&format!(
            r#"{{"action":"block","target":{{"{tk}":"category","{kk}":"Shoes"}}}}"#
        ));
        assert_eq!(
            (r.target_type, r.target_key.as_str()),
            (TargetType::Category, "shoes"),
            "{tk}/{kk}"
        );
    }
    for ik in [
        "item_ids",
        "itemIds",
        "items",
        "target_items",
        "targetItems",
    ] {
        let r = one(&format!(r#"{{"action":"pin","target":{{"{ik}":"a,b"}}}}"#));
        assert_eq!(
            (r.target_type, r.item_ids.clone()),
            (TargetType::Item, strings(&["a", "b"])),
            "{ik}"
        );
    }
    // Only fills what is still unset.
    let doc = lenient(
        r#"[{"action":"block","target_type":"tag","key":"top","target":{"type":"brand","key":"inner"}}]"#,
    );
    let r = &doc.rules[0];
    assert_eq!(
        (r.target_type, r.target_key.as_str()),
        (TargetType::Tag, "top")
    );
    assert!(has(&doc.warnings, "$[0].target.type", codes::IGNORED_FIELD));
    assert!(has(&doc.warnings, "$[0].target.key", codes::IGNORED_FIELD));
    // A nested `tag` is only a key: without a type the rule has no target.
    let doc = lenient(r#"[{"action":"block","target":{"tag":"x"}}]"#);
    assert!(doc.rules.is_empty());
    assert!(has(&doc.dropped, "$[0]", codes::MISSING_TARGET));
    // Unknown keys inside the target are reported.
    let doc = lenient(r#"[{"action":"block","target":{"type":"tag","key":"x","colour":"red"}}]"#);
    assert!(has(&doc.warnings, "$[0].target.colour", codes::UNKNOWN_KEY));
}

#[test]
fn target_string_is_the_type() {
    let r = one(r#"{"action":"block","target":"tag","key":"X"}"#);
    assert_eq!(
        (r.target_type, r.target_key.as_str()),
        (TargetType::Tag, "x")
    );
    let r = one(r#"{"action":"pin","target":"item","key":"X"}"#);
    assert_eq!(r.item_ids, strings(&["X"]));
    let doc = lenient(r#"[{"action":"pin","target":"sku","key":"X"}]"#);
    assert!(has(&doc.dropped, "$[0].target", codes::UNKNOWN_TARGET_TYPE));
}

// ---------------------------------------------------------------------------------------------
// Other fields

#[test]
fn scope_aliases() {
    for (ns, sf, sg) in [
        ("namespace", "surface", "segment_id"),
        ("ns", "surf", "segment"),
        ("ns", "surf", "segmentId"),
    ] {
        let r = one(&format!(
            r#"{{"action":"block","tag":"t","{ns}":" Home ","{sf}":"PDP","{sg}":" vip "}}"#
        ));
        assert_eq!(r.namespace.as_deref(), Some("Home"));
        assert_eq!(r.surface.as_deref(), Some("PDP"));
        assert_eq!(r.segment.as_deref(), Some("vip"));
    }
    let r = one(r#"{"action":"block","tag":"t","surface":"  ","segment":null}"#);
    assert_eq!((r.namespace, r.surface, r.segment), (None, None, None));
}

#[test]
fn enabled_aliases_and_values() {
    let cases = [
        (r#""enabled":true"#, true),
        (r#""enabled":false"#, false),
        (r#""active":false"#, false),
        (r#""is_enabled":false"#, false),
        (r#""enabled":"0""#, false),
        (r#""enabled":"F""#, false),
        (r#""enabled":"False""#, false),
        (r#""enabled":" t ""#, true),
        (r#""enabled":"1""#, true),
        (r#""enabled":0"#, false),
        (r#""enabled":0.0"#, false),
        (r#""enabled":2"#, true),
        (r#""enabled":-1"#, true),
        (r#""enabled":null"#, true),
        (r#""enabled":"""#, true),
        (r#""enabled":"","active":false"#, false),
        (r#""x_unrelated":1"#, true),
    ];
    for (field, want) in cases {
        let src = format!(r#"[{{"action":"block","tag":"t",{field}}}]"#);
        let doc = lenient(&src);
        assert_eq!(doc.rules.len(), 1, "{src}");
        assert_eq!(doc.rules[0].enabled, want, "{src}");
        assert_eq!(
            doc.warnings.iter().any(|p| p.code == codes::DISABLED),
            !want,
            "{src}"
        );
    }
    // Disabled rules are valid in strict mode and kept.
    let doc = strict(r#"[{"action":"block","tag":"t","enabled":false}]"#).unwrap();
    assert!(!doc.rules[0].enabled);
    assert!(has(&doc.warnings, "$[0].enabled", codes::DISABLED));
    // Unrecognised spellings: ignored (default true) in lenient, rejected in strict.
    let src = r#"[{"action":"block","tag":"t","enabled":"no"}]"#;
    assert!(lenient(src).rules[0].enabled);
    assert!(has(&problems(src), "$[0].enabled", codes::WRONG_TYPE));
}

#[test]
fn time_formats_and_aliases() {
    let want = ts("2026-03-01T10:00:00Z");
    let forms = [
        r#""2026-03-01T10:00:00Z""#,
        r#""2026-03-01T12:00:00+02:00""#,
        r#"" 2026-03-01T10:00:00.000000000Z ""#,
        "1772359200",
        "1772359200000",
        "1772359200000000000",
        "1772359200.0",
    ];
    for from_key in ["valid_from", "starts_at", "start_at", "start"] {
        for form in forms {
            let r = one(&format!(
                r#"{{"action":"block","tag":"t","{from_key}":{form}}}"#
            ));
            assert_eq!(r.valid_from, Some(want), "{from_key} {form}");
        }
    }
    for until_key in ["valid_until", "ends_at", "end_at", "end"] {
        let r = one(&format!(
            r#"{{"action":"block","tag":"t","{until_key}":"2026-03-02"}}"#
        ));
        assert_eq!(
            r.valid_until,
            Some(ts("2026-03-02T00:00:00Z")),
            "{until_key}"
        );
    }
    let r = one(r#"{"action":"block","tag":"t","start":"2026-03-01T10:00:00.25Z"}"#);
    assert_eq!(
        r.valid_from,
        Some(Timestamp {
            secs: want.secs,
            nanos: 250_000_000
        })
    );
    // created/updated: updated defaults to created.
    let r = one(r#"{"action":"block","tag":"t","createdAt":"2026-01-01"}"#);
    assert_eq!(r.created_at, Some(ts("2026-01-01T00:00:00Z")));
    assert_eq!(r.updated_at, r.created_at);
    let r =
        one(r#"{"action":"block","tag":"t","created_at":"2026-01-01","updatedAt":"2026-01-02"}"#);
    assert_eq!(r.updated_at, Some(ts("2026-01-02T00:00:00Z")));
}

#[test]
fn bad_times_are_ignored_leniently_and_rejected_strictly() {
    for bad in [
        r#""tomorrow""#,
        r#""2026-02-30""#,
        r#""1772359200""#,
        r#""2026-03-01T10:00""#,
        "1e300",
        "true",
    ] {
        let src = format!(r#"[{{"action":"block","tag":"t","valid_until":{bad}}}]"#);
        let doc = lenient(&src);
        assert_eq!(doc.rules.len(), 1, "{src}");
        assert_eq!(doc.rules[0].valid_until, None, "{src}");
        let ps = problems(&src);
        assert!(
            has(&ps, "$[0].valid_until", codes::BAD_TIME)
                || has(&ps, "$[0].valid_until", codes::WRONG_TYPE),
            "{src}: {ps:?}"
        );
    }
}

#[test]
fn empty_window() {
    for (from, until) in [("2026-03-02", "2026-03-01"), ("2026-03-01", "2026-03-01")] {
        let src = format!(
            r#"[{{"action":"block","tag":"t","valid_from":"{from}","valid_until":"{until}"}}]"#
        );
        let doc = lenient(&src);
        assert_eq!(doc.rules.len(), 1, "kept leniently (it never applies)");
        assert!(!doc.rules[0].applies("home", "default", ts("2026-03-01T12:00:00Z")));
        assert!(has(&doc.warnings, "$[0].valid_until", codes::EMPTY_WINDOW));
        assert!(has(
            &problems(&src),
            "$[0].valid_until",
            codes::EMPTY_WINDOW
        ));
    }
}

#[test]
fn priority_aliases_and_coercions() {
    let cases = [
        (r#""priority":10"#, 10),
        (r#""order":-3"#, -3),
        (r#""rank":7"#, 7),
        (r#""priority":2.9"#, 2),
        (r#""priority":-2.9"#, -2),
        (r#""priority":" 15 ""#, 15),
        (r#""priority":"4.7""#, 4),
        (r#""priority":1e3"#, 1000),
        (r#""priority":null,"order":5"#, 5),
        (r#""x":1"#, 0),
    ];
    for (field, want) in cases {
        let r = one(&format!(r#"{{"action":"block","tag":"t",{field}}}"#));
        assert_eq!(r.priority, want, "{field}");
    }
    for bad in [r#""high""#, "1e300", "[1]"] {
        let src = format!(r#"[{{"action":"block","tag":"t","priority":{bad}}}]"#);
        assert_eq!(lenient(&src).rules[0].priority, 0, "{src}");
        let ps = problems(&src);
        assert!(ps.iter().all(|p| p.path == "$[0].priority"), "{ps:?}");
        assert!(ps
            .iter()
            .any(|p| p.code == codes::BAD_NUMBER || p.code == codes::WRONG_TYPE));
    }
}

#[test]
fn boost_value_aliases_and_rules() {
    for key in ["boost_value", "boost", "value", "boostValue"] {
        let r = one(&format!(r#"{{"action":"boost","tag":"t","{key}":0.25}}"#));
        assert_eq!(r.boost_value, Some(0.25), "{key}");
    }
    assert_eq!(
        one(r#"{"action":"boost","tag":"t","boost":" -0.5 "}"#).boost_value,
        Some(-0.5)
    );
    // Only for BOOST rules.
    let doc = lenient(r#"[{"action":"pin","item_ids":"a","boost_value":2}]"#);
    assert_eq!(doc.rules[0].boost_value, None);
    assert!(has(&doc.warnings, "$[0].boost_value", codes::IGNORED_FIELD));
    // Missing: a no-op rule, kept leniently, rejected strictly.
    let src = r#"[{"action":"boost","tag":"t"}]"#;
    assert_eq!(lenient(src).rules[0].boost_value, None);
    assert!(has(
        &lenient(src).warnings,
        "$[0]",
        codes::MISSING_BOOST_VALUE
    ));
    assert!(has(&problems(src), "$[0]", codes::MISSING_BOOST_VALUE));
    // Not finite.
    for bad in [r#""NaN""#, r#""inf""#, "1e400", r#""lots""#] {
        let src = format!(r#"[{{"action":"boost","tag":"t","boost_value":{bad}}}]"#);
        assert_eq!(lenient(&src).rules[0].boost_value, None, "{src}");
        assert!(
            has(&problems(&src), "$[0].boost_value", codes::BAD_NUMBER),
            "{src}"
        );
    }
}

#[test]
fn max_pins_aliases() {
    for key in ["max_pins", "maxPins", "max_pinned"] {
        let r = one(&format!(r#"{{"action":"pin","item_ids":"a","{key}":2}}"#));
        assert_eq!(r.max_pins, Some(2), "{key}");
    }
    assert_eq!(
        one(r#"{"action":"pin","item_ids":"a","max_pins":-1}"#).max_pins,
        Some(-1)
    );
    assert_eq!(
        one(r#"{"action":"pin","item_ids":"a","max_pins":"0"}"#).max_pins,
        Some(0)
    );
    let doc = lenient(r#"[{"action":"block","item_ids":"a","max_pins":2}]"#);
    assert_eq!(doc.rules[0].max_pins, None);
    assert!(has(&doc.warnings, "$[0].max_pins", codes::IGNORED_FIELD));
}

#[test]
fn override_name_description() {
    let oid = "6ba7b812-9dad-11d1-80b4-00c04fd430c8";
    for key in ["manual_override_id", "override_id", "manualOverrideId"] {
        let r = one(&format!(
            r#"{{"action":"block","tag":"t","{key}":"{oid}"}}"#
        ));
        assert_eq!(
            r.manual_override_id.map(|u| u.to_string()).as_deref(),
            Some(oid),
            "{key}"
        );
    }
    let src = r#"[{"action":"block","tag":"t","override_id":"not-a-uuid"}]"#;
    assert_eq!(lenient(src).rules[0].manual_override_id, None);
    assert!(has(&problems(src), "$[0].override_id", codes::BAD_UUID));
    let r = one(r#"{"action":"block","tag":"t","title":" Hide adult ","desc":"why"}"#);
    assert_eq!(
        (r.name.as_str(), r.description.as_str()),
        ("Hide adult", "why")
    );
    let r = one(r#"{"action":"block","tag":"t","name":"n","description":"d"}"#);
    assert_eq!((r.name.as_str(), r.description.as_str()), ("n", "d"));
}

#[test]
fn unknown_and_duplicate_keys_are_warnings() {
    let src =
        r#"[{"action":"block","tag":"t","valid_untill":"2026-01-01","tag":"u","org_id":"x"}]"#;
    let doc = strict(src).unwrap();
    assert_eq!(doc.rules[0].target_key, "u", "last duplicate wins");
    assert!(has(&doc.warnings, "$[0].valid_untill", codes::UNKNOWN_KEY));
    assert!(has(&doc.warnings, "$[0].tag", codes::DUPLICATE_KEY));
    assert!(has(&doc.warnings, "$[0].org_id", codes::IGNORED_FIELD));
    // Odd keys are quoted in paths.
    let doc = lenient(r#"[{"action":"block","tag":"t","a b":1}]"#);
    assert!(
        has(&doc.warnings, r#"$[0]["a b"]"#, codes::UNKNOWN_KEY),
        "{:?}",
        doc.warnings
    );
}

#[test]
fn openapi_example() {
    let doc = strict(r#"[{"action":"pin","target_type":"item","item_ids":["item_1","item_2"],"surface":"home","priority":10}]"#)
        .unwrap();
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    let r = &doc.rules[0];
    assert_eq!(
        (r.action, r.target_type, r.priority),
        (Action::Pin, TargetType::Item, 10)
    );
    assert_eq!(r.item_ids, strings(&["item_1", "item_2"]));
    assert_eq!(r.surface.as_deref(), Some("home"));
    assert!(r.enabled && r.valid_from.is_none() && r.valid_until.is_none());
    assert_eq!(r.id.version(), 5);
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[test]
fn envelope_shapes() {
    let rule = r#"{"action":"block","tag":"t"}"#;
    let shapes = [
        (format!("[{rule}]"), "$[0]"),
        (format!(r#"{{"rules":[{rule}]}}"#), "$.rules[0]"),
        (format!(r#"{{"items":[{rule}]}}"#), "$.items[0]"),
        (format!(r#"{{"data":[{rule}]}}"#), "$.data[0]"),
        (
            format!(r#"{{"data":{{"rules":[{rule}]}}}}"#),
            "$.data.rules[0]",
        ),
        (format!(r#"{{"rules":{rule}}}"#), "$.rules"),
        (rule.to_string(), "$"),
    ];
    for (src, path) in shapes {
        let doc = lenient(&src);
        assert_eq!(doc.rules.len(), 1, "{src}");
        assert_eq!(doc.rules[0].index, 0);
        let s = strict(&src).unwrap();
        assert_eq!(s.rules, doc.rules, "{src}");
        // Paths of findings follow the envelope.
        let bad = src.replacen(r#""action":"block""#, r#""action":"nuke""#, 1);
        let ps = problems(&bad);
        assert!(
            has(&ps, &format!("{path}.action"), codes::UNKNOWN_ACTION),
            "{bad}: {ps:?}"
        );
    }
    // `rules` before `items` before `data`; the first present member wins even when null.
    let doc = lenient(
        r#"{"data":[{"action":"pin","item_ids":"d"}],"items":[{"action":"pin","item_ids":"i"}]}"#,
    );
    assert_eq!(doc.rules[0].item_ids, strings(&["i"]));
    let doc = lenient(
        r#"{"items":[{"action":"pin","item_ids":"i"}],"rules":[{"action":"pin","item_ids":"r"}]}"#,
    );
    assert_eq!(doc.rules[0].item_ids, strings(&["r"]));
    assert!(
        lenient(r#"{"rules":null,"items":[{"action":"pin","item_ids":"i"}]}"#)
            .rules
            .is_empty()
    );
}

#[test]
fn empty_and_scalar_documents() {
    for src in [
        "",
        "  \n",
        "null",
        "{}",
        "[]",
        "5",
        "\"rules\"",
        "true",
        r#"{"rules":[]}"#,
        r#"{"rules":null}"#,
        r#"{"rules":"x"}"#,
    ] {
        let doc = lenient(src);
        assert!(
            doc.rules.is_empty() && doc.dropped.is_empty(),
            "{src}: {doc:?}"
        );
    }
    // Strict: empty is its own error; scalars and null are not containers.
    assert_eq!(strict("").unwrap_err(), RulesError::Empty);
    assert_eq!(strict(" ").unwrap_err().code(), "RECSYS_INVALID_RULES");
    for src in ["null", "5", "\"x\"", "false"] {
        let e = strict(src).unwrap_err();
        assert_eq!(
            e.to_string(),
            "rules payload must be a json object or array",
            "{src}"
        );
        let api = ApiError::from(e);
        assert_eq!((api.code, api.status), ("RECSYS_INVALID_RULES", 422));
        assert_eq!(api.problems[0].code, codes::NOT_CONTAINER);
    }
    assert!(has(
        &problems(r#"{"rules":"x"}"#),
        "$.rules",
        codes::NOT_CONTAINER
    ));
    assert!(has(
        &problems(r#"{"rules":null}"#),
        "$.rules",
        codes::NOT_CONTAINER
    ));
    for src in ["{}", "[]", r#"{"rules":[]}"#] {
        assert!(strict(src).unwrap().rules.is_empty(), "{src}");
    }
}

#[test]
fn ambiguous_envelope() {
    // A rule using `items` for its ids is read as an envelope (reference behaviour).
    let src = r#"{"action":"pin","items":["a","b"]}"#;
    let doc = lenient(src);
    assert!(doc.rules.is_empty());
    assert!(has(&doc.warnings, "$", codes::AMBIGUOUS_ENVELOPE));
    assert!(has(&doc.dropped, "$.items[0]", codes::NOT_OBJECT));
    let ps = problems(src);
    assert!(has(&ps, "$", codes::AMBIGUOUS_ENVELOPE));
    assert!(has(&ps, "$.items[1]", codes::NOT_OBJECT));
    // Inside an array the same object is a rule.
    assert_eq!(one(&format!("[{src}]")).item_ids, strings(&["a", "b"]));
}

#[test]
fn invalid_json() {
    for src in ["[", "{\"a\":}", "[1] x", "\"\\ud800\""] {
        let e = parse_rules(src.as_bytes(), &RulesParseOptions::lenient("demo")).unwrap_err();
        assert!(matches!(e, RulesError::Json(_)), "{src}");
        assert!(e.code().starts_with("RECSYS_JSON_"), "{src}: {}", e.code());
        assert!(e
            .to_string()
            .starts_with("rules payload must be valid json"));
        let api = ApiError::from(e);
        assert_eq!(api.status, 400);
        assert_eq!(api.problems.len(), 1);
        assert!(strict(src).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Dropped vs rejected

#[test]
fn lenient_reports_dropped_rules_with_index_and_reason() {
    let src = r#"{"rules":[
        {"action":"block","tag":"ok"},
        "not a rule",
        {"action":"explode","tag":"t"},
        {"tag":"t"},
        {"action":"pin"},
        {"action":"pin","target_type":"item"},
        {"action":"block","target_type":"tag","key":"  "},
        {"action":"block","target_type":"sku","key":"k"},
        {"action":"pin","item_ids":"late"}
    ]}"#;
    let doc = lenient(src);
    assert_eq!(
        doc.rules.iter().map(|r| r.index).collect::<Vec<_>>(),
        vec![0, 8]
    );
    let dropped: Vec<(&str, &str)> = doc
        .dropped
        .iter()
        .map(|p| (p.path.as_str(), p.code))
        .collect();
    assert_eq!(
        dropped,
        vec![
            ("$.rules[1]", codes::NOT_OBJECT),
            ("$.rules[2].action", codes::UNKNOWN_ACTION),
            ("$.rules[3]", codes::MISSING_ACTION),
            ("$.rules[4]", codes::MISSING_TARGET),
            ("$.rules[5]", codes::MISSING_TARGET),
            ("$.rules[6]", codes::MISSING_TARGET),
            ("$.rules[7].target_type", codes::UNKNOWN_TARGET_TYPE),
        ]
    );
    assert!(
        doc.dropped[1].message.contains("\"explode\""),
        "messages quote input: {}",
        doc.dropped[1].message
    );
    assert!(doc.dropped.iter().all(|p| p
        .message
        .chars()
        .next()
        .is_some_and(|c| !c.is_uppercase())));

    // Strict mode rejects the document and lists every problem at once.
    let ps = problems(src);
    for (path, code) in &dropped {
        assert!(has(&ps, path, code), "{path} {code}: {ps:?}");
    }
    let e = strict(src).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("rules payload has 7 problems; first at $.rules[1]"),
        "{e}"
    );
    let api = ApiError::from(e);
    assert_eq!(
        (api.code, api.status, api.problems.len()),
        ("RECSYS_INVALID_RULES", 422, 7)
    );
}

#[test]
fn strict_lists_every_problem_of_one_rule() {
    let src = r#"[{"action":["pin"],"target_type":"tag","enabled":"maybe","valid_from":"soon",
        "priority":"high","override_id":"x","name":{},"item_ids":[1,{"a":1},true]}]"#;
    let ps = problems(src);
    for (path, code) in [
        ("$[0].action", codes::WRONG_TYPE),
        ("$[0]", codes::MISSING_ACTION),
        ("$[0]", codes::MISSING_TARGET),
        ("$[0].enabled", codes::WRONG_TYPE),
        ("$[0].valid_from", codes::BAD_TIME),
        ("$[0].priority", codes::BAD_NUMBER),
        ("$[0].override_id", codes::BAD_UUID),
        ("$[0].name", codes::WRONG_TYPE),
        ("$[0].item_ids[1]", codes::WRONG_TYPE),
    ] {
        assert!(has(&ps, path, code), "{path} {code}: {ps:#?}");
    }
    // Leniently the rule is simply dropped for its action/target.
    let doc = lenient(src);
    assert!(doc.rules.is_empty());
    assert!(doc
        .dropped
        .iter()
        .all(|p| p.code == codes::MISSING_ACTION || p.code == codes::MISSING_TARGET));
}

#[test]
fn wrong_types_fall_through_to_the_next_alias() {
    let src = r#"[{"action":{"x":1},"operation":"block","tag":"t"}]"#;
    let doc = lenient(src);
    assert_eq!(doc.rules[0].action, Action::Block);
    assert!(has(&doc.warnings, "$[0].action", codes::WRONG_TYPE));
    assert!(has(&problems(src), "$[0].action", codes::WRONG_TYPE));
}

#[test]
fn limits() {
    let rule = r#"{"action":"block","tag":"t"}"#;
    let list = format!("[{}]", [rule; 4].join(","));
    let opts = RulesParseOptions {
        max_rules: 3,
        ..RulesParseOptions::lenient("demo")
    };
    let e = parse_rules(list.as_bytes(), &opts).unwrap_err();
    assert_eq!(e, RulesError::TooMany { count: 4, max: 3 });
    assert_eq!(e.code(), "RECSYS_RULES_TOO_MANY");
    let api = ApiError::from(e);
    assert_eq!(api.status, 422);
    let opts = RulesParseOptions {
        max_rules: 4,
        ..RulesParseOptions::strict("demo")
    };
    assert_eq!(parse_rules(list.as_bytes(), &opts).unwrap().rules.len(), 4);

    // Item ids per rule: the limit counts distinct ids.
    let ids = |n: usize| {
        (0..n)
            .map(|i| format!("\"i{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let at = format!(r#"[{{"action":"pin","item_ids":[{},"i0"]}}]"#, ids(5));
    let over = format!(r#"[{{"action":"pin","item_ids":[{}]}}]"#, ids(6));
    let lim = |strict| RulesParseOptions {
        max_item_ids_per_rule: 5,
        strict,
        ..RulesParseOptions::lenient("demo")
    };
    assert_eq!(
        parse_rules(at.as_bytes(), &lim(true)).unwrap().rules[0]
            .item_ids
            .len(),
        5
    );
    let doc = parse_rules(over.as_bytes(), &lim(false)).unwrap();
    assert!(doc.rules.is_empty());
    assert!(has(&doc.dropped, "$[0].item_ids", codes::TOO_MANY_ITEM_IDS));
    match parse_rules(over.as_bytes(), &lim(true)) {
        Err(RulesError::Invalid(ps)) => {
            assert!(has(&ps, "$[0].item_ids", codes::TOO_MANY_ITEM_IDS))
        }
        other => panic!("{other:?}"),
    }
    // A comma-separated string counts the same way.
    let csv = r#"[{"action":"pin","item_ids":"a,b,c,d,e,f"}]"#;
    assert!(parse_rules(csv.as_bytes(), &lim(false))
        .unwrap()
        .rules
        .is_empty());

    // JSON limits are applied.
    let opts = RulesParseOptions {
        json_limits: crate::json::Limits {
            max_bytes: 10,
            ..Default::default()
        },
        ..RulesParseOptions::lenient("demo")
    };
    let e = parse_rules(list.as_bytes(), &opts).unwrap_err();
    assert_eq!(e.code(), "RECSYS_JSON_TOO_LARGE");
    assert_eq!(ApiError::from(e).status, 413);
}

#[test]
fn many_unknown_keys_are_summarised() {
    let keys: Vec<String> = (0..50).map(|i| format!(r#""k{i}":1"#)).collect();
    let src = format!(r#"[{{"action":"block","tag":"t",{}}}]"#, keys.join(","));
    let doc = lenient(&src);
    let unknown: Vec<_> = doc
        .warnings
        .iter()
        .filter(|p| p.code == codes::UNKNOWN_KEY)
        .collect();
    assert_eq!(unknown.len(), 11);
    assert!(
        unknown[10].message.starts_with("40 more keys"),
        "{}",
        unknown[10].message
    );
}

// ---------------------------------------------------------------------------------------------
// Ids

#[test]
fn given_uuid_ids_are_kept() {
    let id = "0b275235-21ee-5428-ac95-263c0cc79d07";
    for key in ["rule_id", "id", "ruleId"] {
        let r = one(&format!(r#"{{"{key}":"{id}","action":"block","tag":"t"}}"#));
        assert_eq!(r.id.to_string(), id, "{key}");
    }
    let r = one(&format!(
        r#"{{"id":" {{{}}} ","action":"block","tag":"t"}}"#,
        id.to_uppercase()
    ));
    assert_eq!(r.id.to_string(), id, "braces, upper case, whitespace");
    // Not a UUID: derived, with a warning.
    let doc = strict(r#"[{"id":"summer-sale","action":"block","tag":"t"}]"#).unwrap();
    assert_eq!(doc.rules[0].id.version(), 5);
    assert!(has(&doc.warnings, "$[0].id", codes::ID_NOT_UUID));
}

#[test]
fn derived_ids_match_the_reference_scheme() {
    assert_eq!(Uuid::for_tenant("demo").to_string(), DEMO_ORG);
    // Vectors computed independently (Python uuid.uuid5 over "<org>|<go json>").
    let r = one(r#"{ "tag" : "Adult", "action" : "block" }"#);
    assert_eq!(r.id.to_string(), "a6a022e8-1246-58ad-b6d2-574aa8c6050c");
    let r = one(r#"{"priority":10.0,"item_ids":["a<b"],"action":"pin"}"#);
    assert_eq!(r.id.to_string(), "a0cc411e-2099-5778-aed0-a3271c56530a");
    // A tenant that is a UUID is the org; the nil org derives in the OID namespace.
    let rule = r#"[{"action":"block","tag":"x"}]"#;
    let with = |tenant: &str| {
        parse_rules(rule.as_bytes(), &RulesParseOptions::lenient(tenant))
            .unwrap()
            .rules[0]
            .id
    };
    assert_eq!(
        with("6ba7b812-9dad-11d1-80b4-00c04fd430c8").to_string(),
        "0b275235-21ee-5428-ac95-263c0cc79d07"
    );
    assert_eq!(
        with("00000000-0000-0000-0000-000000000000").to_string(),
        "ce4a0144-ac40-55bf-98c7-5efe50fb12fd"
    );
    assert_ne!(with("demo"), with("other"));
}

#[test]
fn derived_ids_are_stable_and_content_sensitive() {
    let a = one(
        r#"{"action":"pin","item_ids":["x","y"],"surface":"home","priority":10,"meta":{"b":1,"a":[2]}}"#,
    );
    let b = one(r#"
        {
            "meta" : { "a" : [ 2.0 ], "b" : 1e0 },
            "priority" : 10,   "surface" : "home",
            "item_ids" : [ "x", "y" ],
            "action" : "pin"
        }"#);
    assert_eq!(
        a.id, b.id,
        "key order, whitespace and number spelling do not matter"
    );
    let c = one(
        r#"{"action":"pin","item_ids":["x","y"],"surface":"home","priority":11,"meta":{"b":1,"a":[2]}}"#,
    );
    assert_ne!(a.id, c.id, "a changed value changes the id");
    let d = one(
        r#"{"action":"pin","item_ids":["y","x"],"surface":"home","priority":10,"meta":{"b":1,"a":[2]}}"#,
    );
    assert_ne!(a.id, d.id, "array order matters");
    // Position in the document does not matter.
    let doc = lenient(r#"[{"action":"block","tag":"z"},{"action":"block","tag":"Adult"}]"#);
    assert_eq!(
        doc.rules[1].id.to_string(),
        "a6a022e8-1246-58ad-b6d2-574aa8c6050c"
    );
    // Duplicates collapse last-wins, as a Go map would.
    let m = match crate::json::parse(br#"{"tag":"x","action":"block","tag":"Adult"}"#).unwrap() {
        crate::json::Value::Object(m) => m,
        _ => unreachable!(),
    };
    assert_eq!(go_map_json(&m), r#"{"action":"block","tag":"Adult"}"#);
    let org = Uuid::for_tenant("demo");
    assert_eq!(
        derive_rule_id(&org, &m).to_string(),
        "a6a022e8-1246-58ad-b6d2-574aa8c6050c"
    );
}

#[test]
fn duplicate_ids_are_reported() {
    let doc = strict(r#"[{"action":"block","tag":"t"},{"action":"pin","item_ids":"a"},{"action":"block","tag":"t"}]"#)
        .unwrap();
    assert_eq!(doc.rules[0].id, doc.rules[2].id);
    assert!(has(&doc.warnings, "$[2]", codes::DUPLICATE_ID));
    assert_eq!(doc.warnings.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Applicability and order

#[test]
fn scope_matching() {
    let r =
        one(r#"{"action":"block","tag":"t","namespace":"Home","surface":"HOME","segment":"VIP"}"#);
    let now = ts("2026-01-01T00:00:00Z");
    assert!(r.applies("home", "vip", now));
    assert!(r.applies(" Home ", " Vip ", now));
    assert!(!r.applies("pdp", "vip", now));
    assert!(!r.applies("home", "default", now));
    assert!(
        !r.applies("home", "", now),
        "a segment-scoped rule needs a request segment"
    );
    // Namespace is compared with the surface too.
    let r = one(r#"{"action":"block","tag":"t","ns":"home"}"#);
    assert!(r.applies("HOME", "", now));
    assert!(!r.applies("pdp", "", now));
    // Unscoped = wildcard.
    let r = one(r#"{"action":"block","tag":"t"}"#);
    assert!(r.applies("anything", "", now) && r.applies("x", "y", now));
}

#[test]
fn window_boundaries() {
    let r = one(
        r#"{"action":"block","tag":"t","valid_from":"2026-03-01T00:00:00Z","valid_until":"2026-03-02T00:00:00Z"}"#,
    );
    let at = |s: &str| r.applies("home", "default", ts(s));
    assert!(!at("2026-02-28T23:59:59Z"));
    assert!(at("2026-03-01T00:00:00Z"), "from is inclusive");
    assert!(at("2026-03-01T23:59:59Z"));
    assert!(!at("2026-03-02T00:00:00Z"), "until is exclusive");
    assert!(r.applies(
        "home",
        "default",
        Timestamp {
            secs: ts("2026-03-01T23:59:59Z").secs,
            nanos: 999_999_999
        }
    ));
    let open = one(r#"{"action":"block","tag":"t","valid_until":"2026-03-02"}"#);
    assert!(open.applies("home", "", Timestamp::from_secs(0)));
    let open = one(r#"{"action":"block","tag":"t","start":1772323200}"#);
    assert!(open.applies("home", "", ts("2100-01-01T00:00:00Z")));
    assert!(!open.applies("home", "", ts("2026-02-28T00:00:00Z")));
}

#[test]
fn disabled_rules_never_apply() {
    let doc =
        lenient(r#"[{"action":"block","tag":"a","enabled":false},{"action":"block","tag":"b"}]"#);
    let set = RuleSet::new(doc.rules);
    let now = ts("2026-01-01T00:00:00Z");
    let keys: Vec<&str> = set
        .applicable("home", "default", now)
        .map(|r| r.target_key.as_str())
        .collect();
    assert_eq!(keys, vec!["b"]);
    assert_eq!(set.len(), 2);
}

#[test]
fn rule_set_orders_by_priority_stably() {
    // 60 rules with equal priority keep document order.
    let rules: Vec<String> = (0..60)
        .map(|i| format!(r#"{{"action":"pin","item_ids":"i{i}","priority":5}}"#))
        .collect();
    let doc = lenient(&format!("[{}]", rules.join(",")));
    let set = doc.into_rule_set();
    let order: Vec<usize> = set.rules().iter().map(|r| r.index).collect();
    assert_eq!(order, (0..60).collect::<Vec<_>>());

    let doc = lenient(
        r#"[{"action":"pin","item_ids":"a","priority":1},
            {"action":"pin","item_ids":"b","priority":100},
            {"action":"pin","item_ids":"c"},
            {"action":"pin","item_ids":"d","priority":100},
            {"action":"pin","item_ids":"e","priority":-5},
            {"action":"pin","item_ids":"f","priority":1}]"#,
    );
    let set = doc.rule_set();
    let ids: Vec<&str> = set.rules().iter().map(|r| r.item_ids[0].as_str()).collect();
    assert_eq!(ids, vec!["b", "d", "a", "f", "c", "e"]);
    let now = ts("2026-01-01T00:00:00Z");
    let applicable: Vec<&str> = set
        .applicable("home", "", now)
        .map(|r| r.item_ids[0].as_str())
        .collect();
    assert_eq!(applicable, ids);
}

/// Serving order is a stable sort of the enabled rules by priority, descending (checked
/// against `sort_by_key` on random documents with many ties and disabled rules).
#[test]
fn serving_rules_are_the_enabled_rules_stably_by_priority() {
    let mut rng = crate::tests::rng::Rng::new(7);
    for _ in 0..200 {
        let n = rng.index(40);
        let rules: Vec<String> = (0..n)
            .map(|i| {
                let p = rng.index(5) as i64 - 2;
                let on = !rng.chance(300);
                format!(r#"{{"action":"pin","item_ids":"i{i}","priority":{p},"enabled":{on}}}"#)
            })
            .collect();
        let doc = lenient(&format!("[{}]", rules.join(",")));
        let mut want: Vec<&crate::rules::Rule> = doc.rules.iter().filter(|r| r.enabled).collect();
        want.sort_by_key(|r| std::cmp::Reverse(r.priority));
        let got = crate::snapshot::ServingRules::of(&doc.rules);
        let ids = |rs: &mut dyn Iterator<Item = &crate::rules::Rule>| {
            rs.map(|r| r.item_ids[0].clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&mut got.rules().iter()), ids(&mut want.into_iter()));
        let off = doc.rules.iter().filter(|r| !r.enabled).count();
        assert_eq!(got.disabled(), off);
    }
}

#[test]
fn rule_constructor() {
    let r = Rule::new(Action::Block, TargetType::Tag, "adult", vec![]);
    assert_eq!(r.id, RuleId::NIL);
    assert!(r.enabled && r.applies("home", "", Timestamp::from_secs(0)));
    assert_eq!(format!("{} {}", r.action, r.target_type), "BLOCK TAG");
}

// ---------------------------------------------------------------------------------------------
// Codes and robustness

#[test]
fn problem_codes_are_listed_and_unique() {
    let set: HashSet<&str> = PROBLEM_CODES.iter().copied().collect();
    assert_eq!(set.len(), PROBLEM_CODES.len());
    for code in PROBLEM_CODES {
        assert!(code.starts_with("RECSYS_RULE"), "{code}");
    }
    // Every finding produced by a grab-bag document uses a listed code.
    let src = r#"[{"action":"block","tag":"t","enabled":false,"zz":1,"tag":"u","id":"x","valid_from":"2026-02-01","valid_until":"2026-01-01"},
        {"action":"boost","brand":"b","boost":"NaN","max_pins":2,"override_id":"q","priority":"z","start":"?","target":[1]},
        {"action":"pin","item_ids":[{}]}, 3, {"action":"x"}, {"action":"pin","target_type":"nope"}]"#;
    let doc = lenient(src);
    let ps = problems(src);
    for p in doc.dropped.iter().chain(&doc.warnings).chain(&ps) {
        assert!(set.contains(p.code), "{p:?}");
    }
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    fn fragment() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            "\"action\"",
            "\"pin\"",
            "\"block\"",
            "\"boost\"",
            "\"tag\"",
            "\"items\"",
            "\"rules\"",
            "\"data\"",
            "\"target\"",
            "\"item_ids\"",
            "\"valid_from\"",
            "\"valid_until\"",
            "\"priority\"",
            "\"enabled\"",
            "\"boost_value\"",
            "\"max_pins\"",
            "\"id\"",
            "1e999",
            "-0",
            "1e15",
            "1.5",
            "null",
            "true",
            "\"2026-01-01\"",
            "\"a,b\"",
            "\"\"",
            "\" \"",
            "\"target_type\"",
            "\"item\"",
            "\"key\"",
            "\"type\"",
            "\"NaN\"",
            "1772359200000",
        ])
        .prop_map(str::to_string)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            for strict in [false, true] {
                let opts = RulesParseOptions { strict, ..RulesParseOptions::lenient("demo") };
                let _ = parse_rules(&bytes, &opts);
            }
        }

        #[test]
        fn never_panics_on_json_like_input(parts in prop::collection::vec(fragment(), 0..40)) {
            let src = parts.join("");
            let lenient_opts = RulesParseOptions::lenient("t");
            let strict_opts = RulesParseOptions::strict("t");
            if let Ok(doc) = parse_rules(src.as_bytes(), &lenient_opts) {
                for r in &doc.rules {
                    prop_assert!(r.target_type != TargetType::Item || !r.item_ids.is_empty());
                    prop_assert!(r.target_type == TargetType::Item || !r.target_key.is_empty());
                }
                // Strict success implies lenient success with the same rules and nothing dropped.
                if let Ok(sdoc) = parse_rules(src.as_bytes(), &strict_opts) {
                    prop_assert_eq!(&sdoc.rules, &doc.rules);
                    prop_assert!(doc.dropped.is_empty());
                }
            }
        }
    }
}
