//! The sorted member list of [`Members`] against the member map it replaced (a `BTreeMap` of
//! keys with a set of repeated ones): the same value for every key, the same absent keys, and
//! the same repeated / unknown key findings in the same order, on random objects with
//! repeats, escapes, case variants and keys that share their first eight bytes; and
//! [`KeySet`] against a linear search.

use super::members::MAX_KEY_FINDINGS;
use super::tests_document::{NOTES, STYLE};
use super::*;
use crate::json::{Map, Value};
use crate::tests::rng::Rng;
use std::collections::{BTreeMap, HashSet};

/// Keys that are close to each other: case variants, prefixes, one byte apart past the
/// eighth, a NUL where another key ends, escapes, multi-byte characters, the empty key.
const POOL: &[&str] = &[
    "",
    "a",
    "A",
    "a\0",
    "item_id",
    "item_ids",
    "Item_Ids",
    "ITEM_IDS",
    "itemIds",
    "target_t",
    "target_type",
    "target_typf",
    "Target_Type",
    "target_key",
    "abcdefgh",
    "abcdefgh\0",
    "abcdefghi",
    "abcdefgi",
    "abcdefg",
    "odd key",
    "k\"ey",
    "back\\slash",
    "tab\tkey",
    "é",
    "éé",
    "ÉÉ",
    "\u{1F600}",
    "zzzzzzzzzzzzzzzzzzzz1",
    "zzzzzzzzzzzzzzzzzzzz2",
];

/// A key from the pool, or a random one over a small alphabet (so that random keys repeat).
fn key(rng: &mut Rng) -> String {
    if rng.chance(600) {
        return rng.pick(POOL).to_string();
    }
    let alphabet = ['a', 'b', 'A', '_', 'é', '"', '\n'];
    let len = rng.index(12);
    (0..len).map(|_| *rng.pick(&alphabet)).collect()
}

fn random_object(rng: &mut Rng) -> Map {
    let n = match rng.index(4) {
        0 => rng.index(3),
        1 | 2 => rng.index(12),
        _ => rng.index(60),
    };
    let mut m = Map::new();
    for i in 0..n {
        m.push(key(rng), Value::u64(i as u64));
    }
    m
}

/// The member map `Decoder::members` built before the sorted list: keys in a `BTreeMap`
/// (a repeat replacing the value), repeats listed at their second appearance, unknown keys
/// at their first, each reported as [`Members`] reports them.
fn reference(map: &Map, known: &dyn Fn(&str) -> bool) -> (BTreeMap<String, Value>, Vec<Problem>) {
    let mut fields: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut repeated: HashSet<&str> = HashSet::new();
    let (mut duplicates, mut unknown) = (Vec::new(), Vec::new());
    for (k, v) in map.iter() {
        if fields.insert(k, v).is_some() {
            if repeated.insert(k) {
                duplicates.push(k);
            }
        } else if !known(k) {
            unknown.push(k);
        }
    }
    let d = Decoder::new("$[1]", STYLE).quoted_keys();
    let mut problems = Vec::new();
    let what = [
        (
            duplicates,
            "DUP",
            "appears more than once; the last value is used",
        ),
        (unknown, "UNKNOWN", "is not known"),
    ];
    for (keys, code, what) in what {
        for k in keys.iter().take(MAX_KEY_FINDINGS) {
            let message = format!("key {} {what}", quote(k));
            problems.push(Problem::new(d.child_path("$[1]", k), code, message));
        }
        if keys.len() > MAX_KEY_FINDINGS {
            let more = keys.len() - MAX_KEY_FINDINGS;
            let message =
                format!("{more} more keys {what} (only the first {MAX_KEY_FINDINGS} are listed)");
            problems.push(Problem::new("$[1]", code, message));
        }
    }
    let fields = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    (fields, problems)
}

#[test]
fn members_agree_with_the_member_map_on_random_objects() {
    let mut rng = Rng::new(0x005e_ed15);
    let known = |k: &str| k.len() % 3 != 1 && k != "item_ids";
    for case in 0..3_000 {
        let map = random_object(&mut rng);
        let (want, want_problems) = reference(&map, &known);
        let mut d = Decoder::new("$[1]", STYLE).quoted_keys();
        let obj = d.members(&map, known, NOTES);
        for (k, v) in &want {
            assert_eq!(obj.get(k), Some(v), "case {case}: key {k:?}");
        }
        let probes = (0..20)
            .map(|_| key(&mut rng))
            .chain(POOL.iter().map(|s| s.to_string()));
        for probe in probes {
            assert_eq!(
                obj.get(&probe),
                want.get(&probe),
                "case {case}: probe {probe:?}"
            );
        }
        let got: Vec<Problem> = d.outcome().warnings;
        assert_eq!(got, want_problems, "case {case}: {map:?}");
    }
}

#[test]
fn many_repeats_and_unknown_keys_are_capped_like_the_member_map() {
    // 40 keys each written three times, none known: both lists overflow the cap.
    let mut m = Map::new();
    for round in 0..3 {
        for i in 0..40 {
            m.push(format!("abcdefgh{i}"), Value::u64(round));
        }
    }
    let (want, want_problems) = reference(&m, &|_| false);
    let mut d = Decoder::new("$[1]", STYLE).quoted_keys();
    let obj = d.members(&m, |_| false, NOTES);
    assert_eq!(obj.get("abcdefgh7"), Some(&Value::u64(2)));
    assert_eq!(want.len(), 40);
    assert_eq!(d.outcome().warnings, want_problems);
}

#[test]
fn key_sets_answer_like_a_linear_search() {
    let set = KeySet::new(POOL.iter().copied().chain(["a", "item_id"]));
    let mut rng = Rng::new(11);
    let probes = (0..5_000)
        .map(|_| key(&mut rng))
        .chain(POOL.iter().map(|s| s.to_string()));
    for probe in probes {
        assert_eq!(
            set.contains(&probe),
            POOL.contains(&probe.as_str()),
            "{probe:?}"
        );
    }
    assert!(!KeySet::new([]).contains(""));
}
