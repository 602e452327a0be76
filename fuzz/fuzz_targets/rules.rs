//! `rules::parse_rules` in lenient and strict mode.
//!
//! Invariants:
//! * nothing panics;
//! * lenient mode fails only on JSON errors and the rule-count limit (never `Invalid`/`Empty`);
//! * strict Ok ⇒ lenient Ok with the same number of rules, the same rules (ids included) and
//!   nothing dropped;
//! * rule ids are stable: parsing the same bytes twice gives the same ids (both modes);
//! * every parsed rule is well formed as documented on `Rule`: ITEM rules have at least one
//!   item id (trimmed, non-blank, no duplicates), other targets a non-empty key and no ids;
//!   `boost_value` (finite) only on BOOST, `max_pins` only on PIN;
//! * the document's rules carry distinct list indices in increasing order;
//! * limits honoured: `boost_value` at most `MAX_BOOST` in magnitude; an accepted document is
//!   within the document limits (bytes, depth, members) as text and as a value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::rules::{parse_rules, Action, RulesDocument, RulesError, RulesParseOptions, TargetType};
use std::collections::HashSet;
use std::sync::OnceLock;

fn opts() -> &'static (RulesParseOptions, RulesParseOptions) {
    static O: OnceLock<(RulesParseOptions, RulesParseOptions)> = OnceLock::new();
    O.get_or_init(|| (RulesParseOptions::lenient("demo"), RulesParseOptions::strict("demo")))
}

fn ids(doc: &RulesDocument) -> Vec<String> {
    doc.rules.iter().map(|r| r.id.to_string()).collect()
}

fn check_well_formed(doc: &RulesDocument, mode: &str) {
    let mut last_index = None;
    for r in &doc.rules {
        if let Some(prev) = last_index {
            assert!(r.index > prev, "{mode}: rule indices not increasing: {} after {prev}", r.index);
        }
        last_index = Some(r.index);
        match r.target_type {
            TargetType::Item => {
                assert!(!r.item_ids.is_empty(), "{mode}: ITEM rule without item ids: {r:?}");
                let mut seen = HashSet::new();
                for id in &r.item_ids {
                    assert!(!id.trim().is_empty(), "{mode}: blank item id in {r:?}");
                    assert_eq!(id.trim(), id, "{mode}: untrimmed item id in {r:?}");
                    assert!(seen.insert(id), "{mode}: duplicate item id {id:?} in {r:?}");
                }
            }
            _ => {
                assert!(!r.target_key.is_empty(), "{mode}: {} rule with an empty key: {r:?}", r.target_type.as_str());
                assert!(r.item_ids.is_empty(), "{mode}: non-ITEM rule with item ids: {r:?}");
            }
        }
        match r.boost_value {
            Some(b) => {
                assert_eq!(r.action, Action::Boost, "{mode}: boost_value on a non-BOOST rule: {r:?}");
                assert!(b.is_finite(), "{mode}: non-finite boost_value: {r:?}");
                assert!(b.abs() <= recsys_core::rules::MAX_BOOST, "{mode}: boost_value over the limit: {r:?}");
            }
            None => {}
        }
        if r.max_pins.is_some() {
            assert_eq!(r.action, Action::Pin, "{mode}: max_pins on a non-PIN rule: {r:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (lenient_opts, strict_opts) = opts();
    let lenient = parse_rules(data, lenient_opts);
    let strict = parse_rules(data, strict_opts);

    match &lenient {
        Ok(doc) => {
            check_well_formed(doc, "lenient");
            let limits = recsys_core::json::Limits::document();
            assert!(data.len() <= limits.max_bytes, "a rules document over the size limit was accepted");
            if let Ok(v) = recsys_core::json::parse_with(data, limits) {
                recsys_core::json::check_value(&v, &limits)
                    .unwrap_or_else(|e| panic!("accepted rules fail the value check of the same limits: {e}"));
            }
            let again = parse_rules(data, lenient_opts).expect("lenient parse is not deterministic");
            assert_eq!(ids(doc), ids(&again), "lenient rule ids are not stable");
        }
        Err(e) => assert!(
            matches!(e, RulesError::Json(_) | RulesError::TooMany { .. }),
            "lenient parse failed with something other than a json or limit error: {e:?}"
        ),
    }

    if let Ok(sdoc) = &strict {
        check_well_formed(sdoc, "strict");
        assert!(sdoc.dropped.is_empty(), "strict document reports dropped rules");
        let again = parse_rules(data, strict_opts).expect("strict parse is not deterministic");
        assert_eq!(ids(sdoc), ids(&again), "strict rule ids are not stable");
        let ldoc = lenient.as_ref().unwrap_or_else(|e| panic!("strict Ok but lenient Err: {e:?}"));
        assert_eq!(sdoc.rules.len(), ldoc.rules.len(), "strict and lenient disagree on the rule count");
        assert_eq!(ids(sdoc), ids(ldoc), "strict and lenient derive different rule ids");
        assert_eq!(sdoc.rules, ldoc.rules, "strict and lenient produce different rules");
        assert!(ldoc.dropped.is_empty(), "strict Ok but lenient dropped {:?}", ldoc.dropped);
    }
});
