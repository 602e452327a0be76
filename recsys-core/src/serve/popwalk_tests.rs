//! The popularity walk held to the general stages: random catalogs, configs, rules and
//! requests answered with the walk allowed and with it switched off ([`WALK`]) give the same
//! bytes, through the call path (the JSON text) and the typed path (`call_value`).

use super::WALK;
use crate::json;
use crate::tests::rng::Rng;
use crate::{Documents, Engine};

/// A popularity count: small integers (many ties), zeros, fractions, and counts so large
/// that different ones saturate to one score.
fn count(g: &mut Rng) -> String {
    match g.below(6) {
        0 | 1 => g.below(6).to_string(),
        2 => "0".into(),
        3 => format!("{}.5", g.below(40)),
        4 => format!("{}e17", 1 + g.below(9)),
        _ => (g.below(100_000) as f64 / 7.0).to_string(),
    }
}

/// Signals of a random catalog of `n` items `i0..`: popularity for most (in random order),
/// tags (plain, brand, category) for most, co-occurrence rows for some, and user `u1`'s
/// implicit row.
fn signals(g: &mut Rng, n: usize) -> String {
    fn scored(g: &mut Rng, n: usize) -> String {
        let len = g.below(6);
        let rows: Vec<String> = (0..len)
            .map(|_| {
                let i = g.below(n as u64);
                format!(r#"{{"item_id":"i{i}","score":{}}}"#, 1 + g.below(9))
            })
            .collect();
        rows.join(",")
    }
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, g.index(i + 1));
    }
    let (mut pop, mut tags, mut cooc) = (Vec::new(), Vec::new(), Vec::new());
    for i in order {
        if !g.chance(100) {
            pop.push(format!(r#"{{"item_id":"i{i}","score":{}}}"#, count(g)));
        }
    }
    for i in 0..n {
        if !g.chance(150) {
            let (t, b, c) = (g.below(6), g.below(4), g.below(3));
            tags.push(format!(
                r#"{{"item_id":"i{i}","tags":["t{t}","brand:b{b}","category:c{c}"]}}"#
            ));
        }
        if g.chance(400) {
            let row = scored(g, n);
            cooc.push(format!(r#"{{"item_id":"i{i}","items":[{row}]}}"#));
        }
    }
    let user = scored(g, n);
    format!(
        r#"{{"popularity":[{}],"tags":[{}],"cooc":[{}],"implicit":[{{"user_id":"u1","items":[{user}]}}]}}"#,
        pop.join(","),
        tags.join(","),
        cooc.join(","),
    )
}

/// A random config: the algorithm, weights (popularity alone, scaled, zero, tiny enough to
/// tie, blended), sometimes diversity or small limits, rules on or off.
fn config(g: &mut Rng) -> String {
    let algo = *g.pick(&["popularity", "popularity", "blend", "cooc", "implicit"]);
    let weights = *g.pick(&[
        r#"{"pop":1,"cooc":0,"emb":0}"#,
        r#"{"pop":2.5}"#,
        r#"{"pop":0,"cooc":0,"emb":0}"#,
        r#"{"pop":1e-300,"cooc":0,"emb":0}"#,
        r#"{"pop":1,"cooc":0.5,"emb":0.25}"#,
        r#"{"pop":1,"cooc":0,"emb":0.5}"#,
    ]);
    let mut c = format!(r#"{{"algo":"{algo}","weights":{weights}"#);
    if g.chance(200) {
        let lambda = *g.pick(&["0", "0.7"]);
        let cap = g.below(3);
        c += &format!(
            r#","diversity":{{"mmr_lambda":{lambda},"brand_cap":{cap},"brand_tag_prefixes":["brand"],"category_tag_prefixes":["category"]}}"#
        );
    }
    if g.chance(300) {
        c += &format!(
            r#","limits":{{"max_pool":{},"max_pins":{},"popularity_fanout":{}}}"#,
            1 + g.below(30),
            g.below(4),
            g.below(40)
        );
    }
    if g.chance(250) {
        c += r#","rules_enabled":false"#;
    }
    c + "}"
}

/// Random rules (or none): blocks, pins and boosts of items and tags, some scoped to
/// another surface or ended.
fn rules(g: &mut Rng, n: usize) -> Option<String> {
    if g.chance(400) {
        return None;
    }
    let rules: Vec<String> = (0..1 + g.below(4))
        .map(|_| {
            let action = *g.pick(&["block", "pin", "boost"]);
            let target = if g.chance(500) {
                format!(
                    r#""item_ids":["i{}","i{}"]"#,
                    g.below(n as u64),
                    g.below(n as u64)
                )
            } else {
                format!(r#""target_type":"tag","tag":"t{}""#, g.below(6))
            };
            let extra = match g.below(4) {
                0 => r#","surface":"other""#,
                1 => r#","valid_until":"2020-01-01T00:00:00Z""#,
                _ => "",
            };
            let value = if action == "boost" {
                r#","boost_value":0.5"#
            } else {
                ""
            };
            format!(r#"{{"action":"{action}",{target}{value}{extra}}}"#)
        })
        .collect();
    Some(format!("[{}]", rules.join(",")))
}

/// A random recommend request: k up to past the catalog, anonymous or known user, and
/// sometimes anchors, exclusions, an allow-list or tag constraints.
fn request(g: &mut Rng, n: usize) -> String {
    fn ids(g: &mut Rng, n: usize, most: u64) -> String {
        let len = g.below(most + 1);
        let ids: Vec<String> = (0..len)
            .map(|_| format!(r#""i{}""#, g.below(n as u64 + 3)))
            .collect();
        ids.join(",")
    }
    let k = 1 + g.below(n as u64 + 5);
    let user = if g.chance(500) {
        r#"{"anonymous_id":"anon-1"}"#
    } else {
        r#"{"user_id":"u1"}"#
    };
    let mut r = format!(r#"{{"surface":"home","segment":"default","k":{k},"user":{user}"#);
    if g.chance(200) {
        let anchors = ids(g, n, 3);
        r += &format!(r#","anchors":{{"item_ids":[{anchors}]}}"#);
    }
    let list = match g.below(8) {
        0 | 1 => Some(("exclude_ids", ids(g, n, 6))),
        2 => Some(("include_ids", ids(g, n, 9))),
        _ => None,
    };
    if let Some((name, list)) = list {
        r += &format!(r#","candidates":{{"{name}":[{list}]}}"#);
    }
    let t = g.below(6);
    match g.below(10) {
        0 => r += &format!(r#","constraints":{{"required_tags":["t{t}"]}}"#),
        1 => r += &format!(r#","constraints":{{"forbidden_tags":["t{t}"]}}"#),
        2 => r += &format!(r#","constraints":{{"max_per_tag":{{"t{t}":1}}}}"#),
        _ => {}
    }
    let reasons = g.chance(200);
    r + &format!(r#","options":{{"include_reasons":{reasons},"explain":"none"}}}}"#)
}

/// The call's text and the typed path's answer, with the walk allowed or not.
fn answers(engine: &Engine, call: &str, walk: bool) -> (String, String) {
    WALK.set((walk, WALK.get().1, WALK.get().2));
    let text = match engine.call("recommend", call) {
        Ok(t) => t,
        Err(e) => format!("error {e:?}"),
    };
    let input = json::parse(call.as_bytes()).unwrap();
    let typed = match engine.call_value("recommend", &input) {
        Ok(v) => json::to_string(&v),
        Err(e) => format!("error {e:?}"),
    };
    WALK.set((true, WALK.get().1, WALK.get().2));
    (text, typed)
}

/// Answers of random requests equal the general stages' (walk switched off) byte for byte,
/// on the call path and the typed path: popularity ties (equal counts, counts saturated
/// into one score, zero and tiny weights that tie every score), exclusions, allow-lists,
/// tag constraints, rule blocks, pins and boosts (items and tags, scoped or not), k past
/// the catalog, small pools and pin budgets, diversity, anchors and the algorithms that
/// fall back to popularity. Both parts of the walk are taken in many rounds and refused in
/// many (a pool not in score order, pins, MMR or caps), so loosening either condition
/// changes some answer here.
#[test]
fn walked_answers_equal_the_general_pipelines() {
    let mut g = Rng::new(0x9091_3a1c);
    let now = r#""ctx":{"now":"2026-03-01T12:00:00Z","tenant":"demo"}"#;
    let (mut compared, mut unsorted) = (0usize, 0usize);
    WALK.set((true, 0, 0));
    for case in 0..400 {
        let most = if g.chance(100) { 300 } else { 40 };
        let n = 1 + g.index(most);
        let signals = signals(&mut g, n);
        let config = config(&mut g);
        let mut docs = Documents::new("demo", "home")
            .signals(signals.as_str())
            .config(config.as_str());
        let rules = rules(&mut g, n);
        if let Some(r) = &rules {
            docs = docs.rules(r.as_str());
        }
        let engine = Engine::new();
        engine.load_snapshot(docs).unwrap();
        for _ in 0..6 {
            let call = format!(r#"{{"request":{},{now}}}"#, request(&mut g, n));
            let (walked_before, ranked_before) = (WALK.get().1, WALK.get().2);
            let (text, typed) = answers(&engine, &call, true);
            let (walks, ranks) = (WALK.get().1 - walked_before, WALK.get().2 - ranked_before);
            let general = answers(&engine, &call, false);
            assert_eq!(WALK.get().1 - walked_before, walks, "switched off, no walk");
            assert_eq!(
                (&text, &typed),
                (&general.0, &general.1),
                "case {case}: {config} {rules:?} {call}"
            );
            // Walked twice (text and typed), not ranked: the pool was not in score order
            // or selection was not plain.
            unsorted += usize::from(walks > 0 && ranks == 0);
            compared += 1;
        }
    }
    let (walks, ranks) = (WALK.get().1, WALK.get().2);
    assert!(compared == 2_400, "{compared}");
    assert!(
        walks > 1_000 && ranks > 1_000 && unsorted > 100,
        "{walks} walks, {ranks} ranked, {unsorted} walked unranked"
    );
}

/// MMR's figures, kept apart from the answer's positions ([`super::super::select::Selected::mmr`]),
/// stay with the positions MMR picked: with pins ahead of them (random catalogs, pin and
/// boost rules, MMR on, `explain: full`), a pinned item has no MMR figures and the others'
/// MMR ranks count 1, 2, 3… in answer order; pins came first in over 100 answers.
#[test]
fn mmr_figures_follow_their_positions_past_pins() {
    let mut g = Rng::new(0x5e1e_c7ed);
    let now = r#""ctx":{"now":"2026-03-01T12:00:00Z","tenant":"demo","roles":["admin"]}"#;
    let (mut with_pins, mut picked) = (0usize, 0usize);
    for _ in 0..150 {
        let n = 5 + g.index(40);
        let signals = signals(&mut g, n);
        let config = r#"{"algo":"popularity","diversity":{"mmr_lambda":0.7}}"#;
        let pins: Vec<String> = (0..1 + g.below(3))
            .map(|_| {
                format!(
                    r#"{{"action":"pin","item_ids":["i{}"]}}"#,
                    g.below(n as u64)
                )
            })
            .collect();
        let rules = format!("[{}]", pins.join(","));
        let docs = Documents::new("demo", "home")
            .signals(signals.as_str())
            .config(config)
            .rules(rules.as_str());
        let engine = Engine::new();
        engine.load_snapshot(docs).unwrap();
        let k = 1 + g.below(n as u64);
        let call = format!(
            r#"{{"request":{{"surface":"home","segment":"default","k":{k},"user":{{"user_id":"u1"}},"options":{{"explain":"full"}}}},{now}}}"#
        );
        let text = engine.call("recommend", &call).unwrap();
        let answer = json::parse(text.as_bytes()).unwrap();
        let member = |v: &json::Value, key: &str| v.as_object()?.get(key).cloned();
        let items = member(&answer, "items").expect("items");
        let items = items.as_array().expect("items");
        let (mut next_rank, mut pinned_first) = (1.0, false);
        for (at, item) in items.iter().enumerate() {
            let explain = member(item, "explain").expect("explain");
            let pinned = member(&explain, "pinned").and_then(|v| v.as_bool()) == Some(true);
            let mmr = member(&explain, "mmr").filter(|v| !matches!(v, json::Value::Null));
            if pinned {
                assert!(
                    mmr.is_none(),
                    "{call} {rules}: a pin with MMR figures: {text}"
                );
                pinned_first |= at == 0;
            } else {
                let rank = mmr
                    .and_then(|m| member(&m, "rank"))
                    .and_then(|r| r.as_f64());
                assert_eq!(rank, Some(next_rank), "{call} {rules}: {text}");
                next_rank += 1.0;
                picked += 1;
            }
        }
        with_pins += usize::from(pinned_first && next_rank > 1.0);
    }
    assert!(with_pins > 100 && picked > 1_000, "{with_pins} {picked}");
}

/// The quick order check ([`super::strictly_by_score`]) says true only of pools that
/// [`crate::ranking::in_score_order`] finds in order, and says it of every pool of catalog
/// items with strictly falling scores below +infinity: random pools over a catalog, with
/// ties, signed zeros, NaN and infinities, keys past the catalog, sorted or not.
#[test]
fn the_quick_order_check_implies_the_full_one() {
    use crate::candidates::{Cand, Keys, Signals};
    let mut g = Rng::new(0x0de2_5c07);
    let pop: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"item_id":"i{i}","score":{}}}"#, 50 - i))
        .collect();
    let signals = format!(r#"{{"popularity":[{}]}}"#, pop.join(","));
    let engine = Engine::new();
    engine
        .load_snapshot(Documents::new("demo", "home").signals(signals.as_str()))
        .unwrap();
    let snap = engine.snapshot("demo", "home").unwrap().snapshot;
    let keys = Keys::new(&snap);
    let values = [
        -1.0,
        -0.0,
        0.0,
        1e-300,
        0.25,
        0.5,
        0.5,
        0.75,
        1.0,
        f64::MAX,
        f64::INFINITY,
        f64::NAN,
    ];
    let (mut quick, mut full_only) = (0, 0);
    for round in 0..20_000 {
        let len = g.index(25);
        let mut cands: Vec<Cand> = (0..len)
            .map(|_| {
                let past = u64::from(g.chance(30));
                Cand {
                    key: g.below(u64::from(keys.catalog) + past) as u32,
                    raw: Signals::default(),
                    score: *g.pick(&values),
                    boost: 0.0,
                }
            })
            .collect();
        if g.chance(700) {
            cands.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
            if g.chance(500) {
                cands.dedup_by(|a, b| a.score == b.score);
            }
        }
        let plain = cands.iter().all(|c| c.key < keys.catalog)
            && cands.first().is_none_or(|c| c.score < f64::INFINITY)
            && cands.windows(2).all(|w| w[0].score > w[1].score);
        let got = super::strictly_by_score(&keys, &cands);
        assert_eq!(got, plain, "round {round}");
        let full = crate::ranking::in_score_order(&keys, &cands);
        assert!(!got || full, "round {round}");
        quick += usize::from(got && len > 1);
        full_only += usize::from(!got && full);
    }
    assert!(quick > 1_000 && full_only > 500, "{quick} {full_only}");
}
