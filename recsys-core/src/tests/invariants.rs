//! Property tests of the serving decision path: random small catalogs (popularity, cooc,
//! content and implicit artifacts with correct version hashes), random rules, config and
//! requests, checked against invariants that must hold for every answer.

use crate::artifacts::{parse_artifact, version_hash, ArtifactLimits};
use crate::json::{self, Map, Value};
use crate::Engine;
use proptest::prelude::*;
use std::collections::BTreeSet;

const ITEMS: usize = 8;
const TAGS: &[&str] = &[
    "red",
    "blue",
    "green",
    "brand:x",
    "brand:y",
    "category:p",
    "category:q",
];
const EXTERNAL: &[&str] = &["x0", "x1"];

fn item(i: usize) -> String {
    format!("i{i}")
}

/// An id a rule or request may name: a catalog item or an id the catalog does not know.
fn any_id(i: usize) -> String {
    if i < ITEMS {
        item(i)
    } else {
        EXTERNAL[(i - ITEMS) % EXTERNAL.len()].to_string()
    }
}

#[derive(Clone, Debug)]
enum RuleTarget {
    Items(Vec<usize>),
    Tag(usize),
    Brand(bool),
}

#[derive(Clone, Debug)]
struct RuleSpec {
    action: u8, // 0 pin, 1 boost, 2 block
    target: RuleTarget,
    priority: i8,
    max_pins: Option<i8>,
    boost: f64,
}

#[derive(Clone, Debug)]
struct World {
    pop: Vec<(usize, u32)>,
    cooc: Vec<(usize, Vec<(usize, u32)>)>,
    tags: Vec<Vec<usize>>,
    implicit: Vec<(usize, u32)>,
    rules: Vec<RuleSpec>,
    max_pins: u32,
    mmr: bool,
    brand_cap: u32,
    weights: Option<(u8, u8, u8)>,
}

#[derive(Clone, Debug)]
struct Req {
    k: u32,
    include: Vec<usize>,
    exclude: Vec<usize>,
    anchors: Vec<usize>,
    forbidden: Vec<usize>,
    required: Vec<usize>,
    max_per_tag: Option<(usize, u32)>,
    weights: Option<(u8, u8, u8)>,
    user: bool,
}

fn rule_strategy() -> impl Strategy<Value = RuleSpec> {
    let target = prop_oneof![
        prop::collection::vec(0..ITEMS + EXTERNAL.len(), 1..4).prop_map(RuleTarget::Items),
        (0..TAGS.len()).prop_map(RuleTarget::Tag),
        any::<bool>().prop_map(RuleTarget::Brand),
    ];
    (
        0u8..3,
        target,
        -2i8..3,
        prop::option::of(-1i8..3),
        prop::sample::select(vec![0.5, 1.0, -0.5, 2.0]),
    )
        .prop_map(|(action, target, priority, max_pins, boost)| RuleSpec {
            action,
            target,
            priority,
            max_pins,
            boost,
        })
}

fn weights_strategy() -> impl Strategy<Value = Option<(u8, u8, u8)>> {
    prop::option::of((0u8..3, 0u8..3, 0u8..3))
}

fn world_strategy() -> impl Strategy<Value = World> {
    (
        prop::collection::btree_map(0..ITEMS, 1u32..20, 0..ITEMS),
        prop::collection::btree_map(
            0..ITEMS,
            prop::collection::btree_map(0..ITEMS, 1u32..6, 0..4),
            0..4,
        ),
        prop::collection::vec(prop::collection::btree_set(0..TAGS.len(), 0..4), ITEMS),
        prop::collection::btree_map(0..ITEMS, 1u32..5, 0..4),
        prop::collection::vec(rule_strategy(), 0..5),
        1u32..4,
        any::<bool>(),
        0u32..3,
        weights_strategy(),
    )
        .prop_map(
            |(pop, cooc, tags, implicit, rules, max_pins, mmr, brand_cap, weights)| World {
                pop: pop.into_iter().collect(),
                cooc: cooc
                    .into_iter()
                    .map(|(a, n)| (a, n.into_iter().collect()))
                    .collect(),
                tags: tags.into_iter().map(|t| t.into_iter().collect()).collect(),
                implicit: implicit.into_iter().collect(),
                rules,
                max_pins,
                mmr,
                brand_cap,
                weights,
            },
        )
}

fn req_strategy() -> impl Strategy<Value = Req> {
    let ids = || prop::collection::vec(0..ITEMS + EXTERNAL.len(), 0..4);
    (
        1u32..9,
        prop_oneof![Just(Vec::new()), ids()],
        // Only catalog ids are excluded here: see `known_bug_excluded_unknown_id_pinned`.
        prop::collection::vec(0..ITEMS, 0..3),
        prop::collection::vec(0..ITEMS, 0..3),
        prop::collection::vec(0..TAGS.len(), 0..2),
        prop_oneof![Just(Vec::new()), prop::collection::vec(0..TAGS.len(), 1..3)],
        prop::option::of((0..TAGS.len(), 0u32..3)),
        weights_strategy(),
        any::<bool>(),
    )
        .prop_map(
            |(k, include, exclude, anchors, forbidden, required, max_per_tag, weights, user)| Req {
                k,
                include,
                exclude,
                anchors,
                forbidden,
                required,
                max_per_tag,
                weights,
                user,
            },
        )
}

fn quoted(ids: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = ids.into_iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", v.join(","))
}

/// An artifact as JSON text with a correct version hash, and its URI.
fn artifact(kind: &str, body_key: &str, body: &str) -> (String, String) {
    let text = |version: &str| {
        format!(
            r#"{{"v":1,"artifact_type":"{kind}","tenant":"demo","surface":"home","segment":"default","window":{{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"}},"{body_key}":{body},"build":{{"built_at":"2026-01-02T00:00:00Z","version":"{version}"}}}}"#
        )
    };
    let a = parse_artifact(text("").as_bytes(), None, &ArtifactLimits::default()).unwrap();
    let v = version_hash(&a);
    (format!("mem://demo/home/{kind}/{v}.json"), text(&v))
}

fn weights_json(w: (u8, u8, u8)) -> String {
    format!(
        r#"{{"pop":{},"cooc":{},"emb":{}}}"#,
        w.0 as f64 / 2.0,
        w.1 as f64 / 2.0,
        w.2 as f64 / 2.0
    )
}

fn rule_json(i: usize, r: &RuleSpec) -> String {
    let action = ["pin", "boost", "block"][r.action as usize];
    let target = match &r.target {
        RuleTarget::Items(ids) => format!(
            r#""target_type":"item","item_ids":{}"#,
            quoted(ids.iter().map(|&i| any_id(i)))
        ),
        RuleTarget::Tag(t) => format!(r#""target_type":"tag","key":"{}""#, TAGS[*t]),
        RuleTarget::Brand(x) => {
            format!(
                r#""target_type":"brand","key":"{}""#,
                if *x { "x" } else { "y" }
            )
        }
    };
    let mut extra = String::new();
    if let Some(m) = r.max_pins {
        extra.push_str(&format!(r#","max_pins":{m}"#));
    }
    if r.action == 1 {
        extra.push_str(&format!(r#","boost_value":{}"#, r.boost));
    }
    format!(
        r#"{{"id":"00000000-0000-4000-8000-{i:012}","action":"{action}",{target},"priority":{}{extra}}}"#,
        r.priority
    )
}

/// The documents of a world, with `limits.max_pins` no larger than `k`.
fn documents(w: &World, k: u32) -> String {
    let pop: Vec<String> = w
        .pop
        .iter()
        .map(|(i, c)| format!(r#"{{"item_id":"{}","count":{c}}}"#, item(*i)))
        .collect();
    let cooc: Vec<String> = w
        .cooc
        .iter()
        .map(|(a, n)| {
            let n: Vec<String> = n
                .iter()
                .map(|(i, c)| format!(r#"{{"item_id":"{}","count":{c}}}"#, item(*i)))
                .collect();
            format!(r#"{{"item_id":"{}","items":[{}]}}"#, item(*a), n.join(","))
        })
        .collect();
    let content: Vec<String> = (0..ITEMS)
        .map(|i| {
            format!(
                r#"{{"item_id":"{}","tags":{}}}"#,
                item(i),
                quoted(w.tags[i].iter().map(|&t| TAGS[t].to_string()))
            )
        })
        .collect();
    let implicit: Vec<String> = w
        .implicit
        .iter()
        .map(|(i, s)| format!(r#"{{"item_id":"{}","score":{s}}}"#, item(*i)))
        .collect();
    let arts = [
        artifact("popularity", "items", &format!("[{}]", pop.join(","))),
        artifact("cooc", "neighbors", &format!("[{}]", cooc.join(","))),
        artifact("content_sim", "items", &format!("[{}]", content.join(","))),
        artifact(
            "implicit",
            "users",
            &format!(r#"[{{"user_id":"u1","items":[{}]}}]"#, implicit.join(",")),
        ),
    ];
    let kinds = ["popularity", "cooc", "content_sim", "implicit"];
    let current: Vec<String> = kinds
        .iter()
        .zip(&arts)
        .map(|(k, (uri, _))| format!(r#""{k}":"{uri}""#))
        .collect();
    let blobs: Vec<String> = arts
        .iter()
        .map(|(uri, text)| format!(r#""{uri}":{text}"#))
        .collect();
    let rules: Vec<String> = w
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| rule_json(i + 1, r))
        .collect();
    let mut config = format!(
        r#"{{"limits":{{"max_pins":{}}},"diversity":{{"mmr_lambda":{},"brand_cap":{}}}"#,
        w.max_pins.min(k),
        if w.mmr { 0.5 } else { 0.0 },
        w.brand_cap
    );
    if let Some(ws) = w.weights {
        config.push_str(&format!(r#","weights":{}"#, weights_json(ws)));
    }
    config.push('}');
    format!(
        r#"{{"tenant":"demo","surface":"home","config":{config},"rules":[{}],"manifest":{{"v":1,"tenant":"demo","surface":"home","current":{{{}}}}},"artifacts":{{{}}}}}"#,
        rules.join(","),
        current.join(","),
        blobs.join(",")
    )
}

fn request(r: &Req) -> String {
    let mut m = vec![
        r#""surface":"home""#.to_string(),
        r#""segment":"default""#.to_string(),
        format!(r#""k":{}"#, r.k),
        format!(
            r#""user":{{"user_id":"{}"}}"#,
            if r.user { "u1" } else { "u0" }
        ),
        r#""options":{"include_reasons":true,"explain":"full"}"#.to_string(),
        format!(
            r#""candidates":{{"include_ids":{},"exclude_ids":{}}}"#,
            quoted(r.include.iter().map(|&i| any_id(i))),
            quoted(r.exclude.iter().map(|&i| item(i)))
        ),
    ];
    if !r.anchors.is_empty() {
        m.push(format!(
            r#""anchors":{{"item_ids":{},"max_anchors":5}}"#,
            quoted(r.anchors.iter().map(|&i| item(i)))
        ));
    }
    let mut c = vec![
        format!(
            r#""forbidden_tags":{}"#,
            quoted(r.forbidden.iter().map(|&t| TAGS[t].to_string()))
        ),
        format!(
            r#""required_tags":{}"#,
            quoted(r.required.iter().map(|&t| TAGS[t].to_string()))
        ),
    ];
    if let Some((t, n)) = r.max_per_tag {
        c.push(format!(r#""max_per_tag":{{"{}":{n}}}"#, TAGS[t]));
    }
    m.push(format!(r#""constraints":{{{}}}"#, c.join(",")));
    if let Some(w) = r.weights {
        m.push(format!(r#""weights":{}"#, weights_json(w)));
    }
    format!(
        r#"{{"request":{{{}}},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":"demo","request_id":"p","roles":["admin"]}}}}"#,
        m.join(",")
    )
}

/// Catalog item ids that carry a tag.
fn tagged(w: &World, tag: &str) -> BTreeSet<String> {
    (0..ITEMS)
        .filter(|&i| w.tags[i].iter().any(|&t| TAGS[t] == tag))
        .map(item)
        .collect()
}

/// Every id a block rule removes (all rules are active: no scopes or windows are generated).
fn blocked(w: &World) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in w.rules.iter().filter(|r| r.action == 2) {
        match &r.target {
            RuleTarget::Items(ids) => out.extend(ids.iter().map(|&i| any_id(i))),
            RuleTarget::Tag(t) => out.extend(tagged(w, TAGS[*t])),
            RuleTarget::Brand(x) => out.extend(tagged(w, if *x { "brand:x" } else { "brand:y" })),
        }
    }
    out
}

struct Served {
    id: String,
    score: f64,
    pinned: bool,
}

fn obj(v: &Value) -> &Map {
    v.as_object().expect("object")
}

fn served(answer: &str) -> (Vec<Served>, Vec<u64>, u64) {
    let v = json::parse(answer.as_bytes()).unwrap();
    let items = obj(&v).get("items").unwrap().as_array().unwrap();
    let mut out = Vec::new();
    let mut ranks = Vec::new();
    for it in items {
        let m = obj(it);
        let explain = obj(m.get("explain").expect("explain full is on"));
        out.push(Served {
            id: m.get("item_id").unwrap().as_str().unwrap().to_string(),
            score: m.get("score").unwrap().as_f64().unwrap(),
            pinned: explain.get("pinned").and_then(Value::as_bool) == Some(true),
        });
        ranks.push(m.get("rank").unwrap().as_f64().unwrap() as u64);
    }
    let meta = obj(obj(&v).get("meta").unwrap());
    let pinned = obj(meta.get("counts").unwrap())
        .get("pinned")
        .unwrap()
        .as_f64()
        .unwrap() as u64;
    (out, ranks, pinned)
}

fn check(w: &World, r: &Req) -> Result<(), TestCaseError> {
    let docs = documents(w, r.k);
    let input = request(r);
    let engine = Engine::new();
    engine
        .call("load_snapshot", &docs)
        .map_err(|e| TestCaseError::fail(format!("load failed: {}", e.to_json())))?;
    let answer = engine
        .call("recommend", &input)
        .map_err(|e| TestCaseError::fail(format!("recommend failed: {}", e.to_json())))?;

    // Deterministic: same engine twice, and a second engine from the same documents.
    prop_assert_eq!(&engine.call("recommend", &input).unwrap(), &answer);
    let other = Engine::new();
    other.call("load_snapshot", &docs).unwrap();
    prop_assert_eq!(&other.call("recommend", &input).unwrap(), &answer);

    let (items, ranks, pinned_count) = served(&answer);
    prop_assert!(items.len() <= r.k as usize, "more than k items: {}", answer);
    let want: Vec<u64> = (1..=items.len() as u64).collect();
    prop_assert_eq!(ranks, want, "ranks are not 1..n");
    let ids: BTreeSet<&str> = items.iter().map(|s| s.id.as_str()).collect();
    prop_assert_eq!(ids.len(), items.len(), "duplicate ids: {}", answer);

    let excluded: BTreeSet<String> = r.exclude.iter().map(|&i| item(i)).collect();
    let blocked = blocked(w);
    let allow: BTreeSet<String> = r.include.iter().map(|&i| any_id(i)).collect();
    let forbidden: BTreeSet<String> = r
        .forbidden
        .iter()
        .flat_map(|&t| tagged(w, TAGS[t]))
        .collect();
    let required: Option<BTreeSet<String>> = (!r.required.is_empty()).then(|| {
        r.required
            .iter()
            .flat_map(|&t| tagged(w, TAGS[t]))
            .collect()
    });
    for s in &items {
        prop_assert!(
            !excluded.contains(&s.id),
            "excluded {} served: {}",
            s.id,
            answer
        );
        prop_assert!(
            !blocked.contains(&s.id),
            "blocked {} served: {}",
            s.id,
            answer
        );
        prop_assert!(
            !forbidden.contains(&s.id),
            "forbidden {} served: {}",
            s.id,
            answer
        );
        if let Some(req) = &required {
            prop_assert!(
                req.contains(&s.id),
                "{} lacks the required tags: {}",
                s.id,
                answer
            );
        }
        if !allow.is_empty() {
            prop_assert!(
                allow.contains(&s.id),
                "{} not in include_ids: {}",
                s.id,
                answer
            );
        }
    }

    // Pinned items come first and are counted.
    let n_pinned = items.iter().take_while(|s| s.pinned).count();
    prop_assert!(
        items[n_pinned..].iter().all(|s| !s.pinned),
        "pins are not a prefix: {}",
        answer
    );
    prop_assert_eq!(n_pinned as u64, pinned_count);

    // Without MMR the rest is in score order, ties by item id.
    if !w.mmr {
        for pair in items[n_pinned..].windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            prop_assert!(
                a.score > b.score || (a.score == b.score && a.id < b.id),
                "{} ({}) before {} ({}): {}",
                a.id,
                a.score,
                b.id,
                b.score,
                answer
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn recommend_invariants(w in world_strategy(), r in req_strategy()) {
        check(&w, &r)?;
    }

    #[test]
    fn similar_never_returns_the_anchor_nor_excluded_items(
        w in world_strategy(),
        anchor in 0..ITEMS,
        k in 1u32..9,
        exclude in prop::collection::vec(0..ITEMS, 0..3),
    ) {
        let docs = documents(&w, k);
        let engine = Engine::new();
        engine.call("load_snapshot", &docs).unwrap();
        let input = format!(
            r#"{{"request":{{"surface":"home","segment":"default","item_id":"{}","k":{k},"options":{{"explain":"full"}},"candidates":{{"exclude_ids":{}}}}},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":"demo","roles":["admin"]}}}}"#,
            item(anchor),
            quoted(exclude.iter().map(|&i| item(i)))
        );
        let answer = engine.call("similar", &input).unwrap();
        prop_assert_eq!(&engine.call("similar", &input).unwrap(), &answer);
        let (items, ranks, _) = served(&answer);
        prop_assert!(items.len() <= k as usize);
        prop_assert_eq!(ranks, (1..=items.len() as u64).collect::<Vec<_>>());
        let blocked = blocked(&w);
        for s in &items {
            prop_assert!(s.id != item(anchor), "anchor served: {}", answer);
            prop_assert!(!exclude.iter().any(|&i| item(i) == s.id), "excluded served: {}", answer);
            prop_assert!(!blocked.contains(&s.id), "blocked served: {}", answer);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions for three engine bugs found while building the corpus (pins beyond k, excluded
// unknown ids still pinned, tag pins depending on unrelated rules).

fn simple_docs(rules: &str) -> String {
    let w = World {
        pop: vec![(0, 9), (1, 4), (2, 3)],
        cooc: Vec::new(),
        tags: vec![Vec::new(); ITEMS],
        implicit: Vec::new(),
        rules: Vec::new(),
        max_pins: 3,
        mmr: false,
        brand_cap: 0,
        weights: None,
    };
    documents(&w, 3).replacen(r#""rules":[]"#, &format!(r#""rules":{rules}"#), 1)
}

fn recommend_ids(docs: &str, request: &str) -> Vec<String> {
    let engine = Engine::new();
    engine.call("load_snapshot", docs).unwrap();
    let input = format!(
        r#"{{"request":{request},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":"demo","roles":["admin"]}}}}"#
    );
    let answer = engine.call("recommend", &input).unwrap();
    let v = json::parse(answer.as_bytes()).unwrap();
    obj(&v)
        .get("items")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| obj(i).get("item_id").unwrap().as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pins_never_exceed_k() {
    let docs = simple_docs(
        r#"[{"id":"00000000-0000-4000-8000-000000000001","action":"pin","target_type":"item","item_ids":["i2","i1","i0"]}]"#,
    );
    let got = recommend_ids(
        &docs,
        r#"{"surface":"home","segment":"default","k":2,"user":{"user_id":"u"},"options":{}}"#,
    );
    assert_eq!(got, ["i2", "i1"]);
}

#[test]
fn excluded_unknown_id_is_never_pinned() {
    let docs = simple_docs(
        r#"[{"id":"00000000-0000-4000-8000-000000000001","action":"pin","target_type":"item","item_ids":["x0"]}]"#,
    );
    let got = recommend_ids(
        &docs,
        r#"{"surface":"home","segment":"default","k":2,"user":{"user_id":"u"},"options":{},"candidates":{"exclude_ids":["x0"]}}"#,
    );
    assert_eq!(got, ["i0", "i1"]);
}

#[test]
fn tag_pins_do_not_depend_on_unrelated_rules() {
    let pop: Vec<String> = (0..12)
        .map(|n| format!(r#"{{"item_id":"p{n:02}","count":{}}}"#, 100 - n))
        .collect();
    let (pop_uri, pop_text) = artifact("popularity", "items", &format!("[{}]", pop.join(",")));
    let (tag_uri, tag_text) = artifact(
        "content_sim",
        "items",
        r#"[{"item_id":"p10","tags":["promo"]}]"#,
    );
    let docs = |rules: &str| {
        format!(
            r#"{{"tenant":"demo","surface":"home","rules":{rules},"manifest":{{"v":1,"tenant":"demo","surface":"home","current":{{"popularity":"{pop_uri}","content_sim":"{tag_uri}"}}}},"artifacts":{{"{pop_uri}":{pop_text},"{tag_uri}":{tag_text}}}}}"#
        )
    };
    let pin = r#"{"id":"00000000-0000-4000-8000-000000000001","action":"pin","target_type":"tag","key":"promo"}"#;
    let boost = r#"{"id":"00000000-0000-4000-8000-000000000002","action":"boost","target_type":"item","item_ids":["p00"],"boost_value":0.1}"#;
    let request =
        r#"{"surface":"home","segment":"default","k":2,"user":{"user_id":"u"},"options":{}}"#;
    let with_boost = recommend_ids(&docs(&format!("[{pin},{boost}]")), request);
    assert_eq!(with_boost.first().map(String::as_str), Some("p10"));
    let without = recommend_ids(&docs(&format!("[{pin}]")), request);
    assert_eq!(
        without.first().map(String::as_str),
        Some("p10"),
        "{without:?}"
    );
}
