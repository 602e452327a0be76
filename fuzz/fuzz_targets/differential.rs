//! Differential target: `recommend` against a small, obviously correct model of the documented
//! precedence — exclude > allow-list > block > pin > boost — on random small catalogs, rule
//! sets and requests built from the fuzz input.
//!
//! The engine serves DB-mode signals (popularity counts and tags) with `{"algo":"popularity"}`,
//! so an item's score is `sat(pop) = pop / (pop + 1)` and each matching boost rule, in rule
//! order (priority descending, ties in document order), does `score += score * boost`. The
//! model ([`expected`]) computes the answer directly from those definitions:
//!
//! 1. the universe is the catalog, or exactly the `include_ids` when any are given, minus
//!    `exclude_ids`, minus every item a block rule matches (by id or by tag). An id the
//!    catalog does not know has no signal (score 0, no tags); it is rankable when
//!    allow-listed, or, without an allow-list, when an item rule pins or boosts it (an
//!    "external" item, injected as the reference does);
//! 2. pin rules, in rule order, place their item first while it is in the universe, not
//!    pinned yet, and fewer than `min(3, k)` items are pinned;
//! 3. the other items follow by boosted score descending, ties by item id ascending, up to
//!    `k` items in all. A boost on a score of 0 adds the boost value instead of scaling.
//!
//! Oracles: the engine's item ids equal the model's, in order; every score is a finite
//! number; unpinned scores never increase down the list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recsys_core::json::{self, Map, Value};
use recsys_core::Engine;

const CTX: &str = r#"{"now":"2026-01-02T00:00:00Z","tenant":"demo","request_id":"d"}"#;
const TAGS: [&str; 3] = ["t0", "t1", "t2"];
const BOOSTS: [f64; 3] = [-0.5, 1.0, 3.0];

/// Reads the fuzz input as a stream of small choices (0 when exhausted).
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n.max(1)
    }
}

#[derive(Debug)]
struct Item {
    id: String,
    pop: u32,
    tags: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Block,
    Pin,
    Boost(f64),
}

#[derive(Debug)]
enum Target {
    Item(String),
    Tag(&'static str),
}

#[derive(Debug)]
struct Rule {
    action: Action,
    target: Target,
    priority: i64,
}

#[derive(Debug)]
struct Case {
    items: Vec<Item>,
    rules: Vec<Rule>,
    include: Vec<String>,
    exclude: Vec<String>,
    k: usize,
}

/// An id of the catalog, or now and then one it does not know.
fn some_id(c: &mut Choices, n: usize) -> String {
    let i = c.below(n + 1);
    if i == n {
        "unknown".to_string()
    } else {
        format!("i{i}")
    }
}

fn case(data: &[u8]) -> Case {
    let mut c = Choices(data);
    let n = 1 + c.below(8);
    let items: Vec<Item> = (0..n)
        .map(|i| {
            let bits = c.byte();
            Item {
                id: format!("i{i}"),
                pop: 1 + (bits as u32 % 16),
                tags: TAGS
                    .iter()
                    .enumerate()
                    .filter(|(t, _)| bits & (0x10 << t) != 0)
                    .map(|(_, t)| *t)
                    .collect(),
            }
        })
        .collect();
    let rules = (0..c.below(7))
        .map(|_| {
            let action = match c.below(3) {
                0 => Action::Block,
                1 => Action::Pin,
                _ => Action::Boost(BOOSTS[c.below(BOOSTS.len())]),
            };
            // Pins target items; blocks and boosts items or tags.
            let target = if action != Action::Pin && c.below(2) == 0 {
                Target::Tag(TAGS[c.below(TAGS.len())])
            } else {
                Target::Item(some_id(&mut c, n))
            };
            Rule {
                action,
                target,
                priority: c.below(4) as i64,
            }
        })
        .collect();
    let list = |c: &mut Choices| -> Vec<String> {
        match c.below(3) {
            0 => Vec::new(),
            _ => (0..1 + c.below(n + 1)).map(|_| some_id(c, n)).collect(),
        }
    };
    let include = list(&mut c);
    let exclude = if c.below(2) == 0 { Vec::new() } else { list(&mut c) };
    Case {
        items,
        rules,
        include,
        exclude,
        k: 1 + c.below(10),
    }
}

fn strs(v: &[String]) -> Value {
    Value::Array(v.iter().map(Value::str).collect())
}

fn documents(case: &Case) -> String {
    let mut pop = Vec::new();
    let mut tags = Vec::new();
    for it in &case.items {
        let mut p = Map::new();
        p.push("item_id", Value::str(&it.id));
        p.push("score", Value::u64(it.pop as u64));
        pop.push(Value::Object(p));
        let mut t = Map::new();
        t.push("item_id", Value::str(&it.id));
        t.push("tags", Value::Array(it.tags.iter().map(|s| Value::str(*s)).collect()));
        tags.push(Value::Object(t));
    }
    let mut signals = Map::new();
    signals.push("popularity", Value::Array(pop));
    signals.push("tags", Value::Array(tags));
    let rules: Vec<Value> = case
        .rules
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.push(
                "action",
                Value::str(match r.action {
                    Action::Block => "block",
                    Action::Pin => "pin",
                    Action::Boost(_) => "boost",
                }),
            );
            match &r.target {
                Target::Item(id) => {
                    m.push("target_type", Value::str("item"));
                    m.push("item_ids", strs(std::slice::from_ref(id)));
                }
                Target::Tag(t) => m.push("tag", Value::str(*t)),
            }
            if let Action::Boost(v) = r.action {
                m.push("boost_value", Value::f64(v));
            }
            m.push("priority", Value::i64(r.priority));
            Value::Object(m)
        })
        .collect();
    let mut config = Map::new();
    config.push("algo", Value::str("popularity"));
    let mut d = Map::new();
    d.push("tenant", Value::str("demo"));
    d.push("surface", Value::str("home"));
    d.push("config", Value::Object(config));
    d.push("rules", Value::Array(rules));
    d.push("signals", Value::Object(signals));
    json::to_string(&Value::Object(d))
}

fn request(case: &Case) -> String {
    let mut user = Map::new();
    user.push("user_id", Value::str("u"));
    let mut cands = Map::new();
    cands.push("include_ids", strs(&case.include));
    cands.push("exclude_ids", strs(&case.exclude));
    let mut r = Map::new();
    r.push("surface", Value::str("home"));
    r.push("k", Value::u64(case.k as u64));
    r.push("user", Value::Object(user));
    r.push("candidates", Value::Object(cands));
    let mut input = Map::new();
    input.push("request", Value::Object(r));
    input.push("ctx", json::parse(CTX.as_bytes()).expect("ctx"));
    json::to_string(&Value::Object(input))
}

fn matches(rule: &Rule, item: &Item) -> bool {
    match &rule.target {
        Target::Item(id) => *id == item.id,
        Target::Tag(t) => item.tags.contains(t),
    }
}

/// The model: item ids in answer order.
fn expected(case: &Case) -> Vec<String> {
    // Rule order: priority descending, ties in document order (a stable sort).
    let mut rules: Vec<&Rule> = case.rules.iter().collect();
    rules.sort_by_key(|r| std::cmp::Reverse(r.priority));
    // Items the catalog does not know: allow-listed ones, and (without an allow-list) those an
    // item rule pins or boosts ("external" items, injected as in the reference). No signal.
    let targeted = |action: fn(&Action) -> bool| -> Vec<String> {
        rules
            .iter()
            .filter(|r| action(&r.action))
            .filter_map(|r| match &r.target {
                Target::Item(id) => Some(id.clone()),
                Target::Tag(_) => None,
            })
            .collect()
    };
    let mut external_ids: Vec<String> = if case.include.is_empty() {
        let mut ids = targeted(|a| matches!(a, Action::Boost(_)));
        ids.extend(targeted(|a| *a == Action::Pin));
        ids
    } else {
        case.include.clone()
    };
    external_ids.retain(|id| !case.items.iter().any(|it| it.id == *id));
    external_ids.sort();
    external_ids.dedup();
    let external: Vec<Item> = external_ids
        .into_iter()
        .map(|id| Item {
            id,
            pop: 0,
            tags: Vec::new(),
        })
        .collect();
    let eligible = |it: &Item| {
        (case.include.is_empty() || case.include.contains(&it.id))
            && !case.exclude.contains(&it.id)
            && !rules.iter().any(|r| r.action == Action::Block && matches(r, it))
    };
    let boosted_externals = targeted(|a| matches!(a, Action::Boost(_)));
    // Ranked without a pin: catalog items, allow-listed externals, boosted externals.
    let universe: Vec<&Item> = case
        .items
        .iter()
        .chain(external.iter().filter(|it| {
            !case.include.is_empty() || boosted_externals.contains(&it.id)
        }))
        .filter(|it| eligible(it))
        .collect();
    let mut pinned: Vec<&Item> = Vec::new();
    let budget = case.k.min(3);
    for r in rules.iter().filter(|r| r.action == Action::Pin) {
        if pinned.len() >= budget {
            break;
        }
        let found = case
            .items
            .iter()
            .chain(external.iter())
            .find(|it| matches(r, it) && eligible(it));
        if let Some(it) = found {
            if !pinned.iter().any(|p| p.id == it.id) {
                pinned.push(it);
            }
        }
    }
    let mut rest: Vec<(f64, &Item)> = universe
        .iter()
        .filter(|it| !pinned.iter().any(|p| p.id == it.id))
        .map(|it| {
            let mut score = if it.pop > 0 {
                it.pop as f64 / (it.pop as f64 + 1.0)
            } else {
                0.0
            };
            for r in &rules {
                if let Action::Boost(v) = r.action {
                    if matches(r, it) {
                        // A boost of a zero score adds the boost value instead of scaling.
                        let delta = score * v;
                        score += if delta == 0.0 { v } else { delta };
                    }
                }
            }
            (score, *it)
        })
        .collect();
    rest.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    pinned
        .into_iter()
        .chain(rest.into_iter().map(|(_, it)| it))
        .take(case.k)
        .map(|it| it.id.clone())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let case = case(data);
    let engine = Engine::new();
    engine
        .call("load_snapshot", &documents(&case))
        .unwrap_or_else(|e| panic!("load_snapshot failed: {}\n{case:?}", e.to_json()));
    let answer = engine
        .call("recommend", &request(&case))
        .unwrap_or_else(|e| panic!("recommend failed: {}\n{case:?}", e.to_json()));
    let v = json::parse(answer.as_bytes()).expect("answer is json");
    let items = v
        .as_object()
        .and_then(|m| m.get("items"))
        .and_then(Value::as_array)
        .expect("answer has items");
    // Pins lead the list; `meta.counts.pinned` says how many.
    let pinned = v
        .as_object()
        .and_then(|m| m.get("meta"))
        .and_then(Value::as_object)
        .and_then(|m| m.get("counts"))
        .and_then(Value::as_object)
        .and_then(|c| c.get("pinned"))
        .and_then(Value::as_f64)
        .expect("meta.counts.pinned") as usize;
    let mut got = Vec::new();
    let mut last_unpinned: Option<f64> = None;
    for (i, it) in items.iter().enumerate() {
        let m = it.as_object().expect("item object");
        got.push(m.get("item_id").and_then(Value::as_str).expect("item_id").to_string());
        let score = m.get("score").and_then(Value::as_f64);
        let score = score.unwrap_or_else(|| panic!("score is not a finite number: {answer}"));
        if i >= pinned {
            if let Some(prev) = last_unpinned {
                assert!(score <= prev, "scores increase down the list: {answer}");
            }
            last_unpinned = Some(score);
        }
    }
    let want = expected(&case);
    assert_eq!(got, want, "engine vs model\ncase: {case:?}\nanswer: {answer}");
});
