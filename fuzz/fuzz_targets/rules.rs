//! `check::Rules::parse` in lenient and strict mode.
//!
//! Invariants:
//! * nothing panics;
//! * lenient mode fails only on JSON errors and the rule-count limit (never
//!   `RECSYS_INVALID_RULES`, which strict mode gives for empty or invalid documents);
//! * strict Ok ⇒ lenient Ok with the same rules (ids included) and nothing dropped;
//! * rule ids are stable: parsing the same bytes twice gives the same ids (both modes);
//! * every parsed rule is well formed: ITEM rules have at least one item id (trimmed,
//!   non-blank, no duplicates), other targets a non-empty key and no ids; `boost_value`
//!   (finite) only on BOOST, `max_pins` only on PIN;
//! * the document's rules carry distinct list indices in increasing order;
//! * limits honoured: `boost_value` at most `Rules::MAX_BOOST` in magnitude; an accepted
//!   document is within the document limits (bytes, depth, members) as text and as a value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::check::{Rules, RulesMode};
use recsys_core::json;
use std::collections::HashSet;

fn ids(doc: &Rules) -> Vec<String> {
    doc.iter().map(|r| r.id()).collect()
}

fn check_well_formed(doc: &Rules, mode: &str) {
    let mut last_index = None;
    for r in doc.iter() {
        if let Some(prev) = last_index {
            assert!(r.index() > prev, "{mode}: rule indices not increasing: {} after {prev}", r.index());
        }
        last_index = Some(r.index());
        if r.target_type() == "ITEM" {
            assert!(!r.item_ids().is_empty(), "{mode}: ITEM rule without item ids: {r:?}");
            let mut seen = HashSet::new();
            for id in r.item_ids() {
                assert!(!id.trim().is_empty(), "{mode}: blank item id in {r:?}");
                assert_eq!(id.trim(), id, "{mode}: untrimmed item id in {r:?}");
                assert!(seen.insert(id), "{mode}: duplicate item id {id:?} in {r:?}");
            }
        } else {
            assert!(!r.target_key().is_empty(), "{mode}: {} rule with an empty key: {r:?}", r.target_type());
            assert!(r.item_ids().is_empty(), "{mode}: non-ITEM rule with item ids: {r:?}");
        }
        if let Some(b) = r.boost_value() {
            assert_eq!(r.action(), "BOOST", "{mode}: boost_value on a non-BOOST rule: {r:?}");
            assert!(b.is_finite(), "{mode}: non-finite boost_value: {r:?}");
            assert!(b.abs() <= Rules::MAX_BOOST, "{mode}: boost_value over the limit: {r:?}");
        }
        if r.max_pins().is_some() {
            assert_eq!(r.action(), "PIN", "{mode}: max_pins on a non-PIN rule: {r:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let lenient = Rules::parse(data, "demo", RulesMode::Lenient);
    let strict = Rules::parse(data, "demo", RulesMode::Strict);

    match &lenient {
        Ok(doc) => {
            check_well_formed(doc, "lenient");
            let limits = json::Limits::document();
            assert!(data.len() <= limits.max_bytes, "a rules document over the size limit was accepted");
            if let Ok(v) = json::parse_with(data, limits) {
                json::check_value(&v, &limits)
                    .unwrap_or_else(|e| panic!("accepted rules fail the value check of the same limits: {e}"));
            }
            let again = Rules::parse(data, "demo", RulesMode::Lenient).expect("lenient parse is not deterministic");
            assert_eq!(ids(doc), ids(&again), "lenient rule ids are not stable");
        }
        Err(e) => assert_ne!(
            e.code, "RECSYS_INVALID_RULES",
            "lenient parse failed with something other than a json or limit error: {e:?}"
        ),
    }

    if let Ok(sdoc) = &strict {
        check_well_formed(sdoc, "strict");
        assert!(sdoc.dropped().is_empty(), "strict document reports dropped rules");
        let again = Rules::parse(data, "demo", RulesMode::Strict).expect("strict parse is not deterministic");
        assert_eq!(ids(sdoc), ids(&again), "strict rule ids are not stable");
        let ldoc = lenient.as_ref().unwrap_or_else(|e| panic!("strict Ok but lenient Err: {e:?}"));
        assert_eq!(sdoc.len(), ldoc.len(), "strict and lenient disagree on the rule count");
        assert_eq!(ids(sdoc), ids(ldoc), "strict and lenient derive different rule ids");
        assert!(sdoc.iter().eq(ldoc.iter()), "strict and lenient produce different rules");
        assert!(ldoc.dropped().is_empty(), "strict Ok but lenient dropped {:?}", ldoc.dropped());
    }
});
