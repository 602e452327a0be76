//! The score memo held to [`write_f64`] on random sets of every kind of float, and the
//! installed snapshot's memo held to the scores popularity answers actually return.

use super::{popularity_weights, Prewritten, ScoreTexts, MEMO_ITEMS};
use crate::json::write::write_f64;
use crate::tests::rng::Rng;
use std::collections::HashSet;
use std::sync::Arc;

/// A float of any kind: scores in [0, 1], integers, tiny and huge values, signed zeros,
/// non-finite values and any bit pattern.
fn float(g: &mut Rng) -> f64 {
    let unit = (g.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    match g.below(8) {
        0..=2 => unit,
        3 => g.below(1000) as f64,
        4 => *g.pick(&[0.0, -0.0, 1.0, f64::NAN, f64::INFINITY, -f64::INFINITY]),
        5 => unit * 1e-9,
        6 => unit * 1e22,
        _ => f64::from_bits(g.next_u64()),
    }
}

fn text(f: f64) -> String {
    let mut s = String::new();
    write_f64(&mut s, f);
    s
}

/// Every score taken into the memo reads back as the text `write_f64` writes for its bits,
/// and a score not taken (its neighbours, other values, the ones past `n`) is not found.
#[test]
fn score_texts_are_what_write_f64_writes() {
    let mut g = Rng::new(0x5c0e_7e87);
    let (mut hits, mut misses, mut repeats) = (0, 0, 0);
    for round in 0..3_000 {
        let most = if g.chance(100) { 700 } else { 40 };
        let len = g.index(most);
        let mut scores: Vec<f64> = (0..len).map(|_| float(&mut g)).collect();
        // Repeated scores (equal popularity counts give equal scores).
        for i in 0..len / 4 {
            scores.push(scores[i]);
        }
        let n = if g.chance(300) {
            g.index(scores.len() + 1)
        } else {
            scores.len()
        };
        let memo = ScoreTexts::of(scores.iter().copied(), n);
        let taken: HashSet<u64> = scores[..n].iter().map(|f| f.to_bits()).collect();
        repeats += n - taken.len();
        assert_eq!(memo.len(), taken.len(), "round {round}");
        let mut probes = scores.clone();
        for &f in &scores {
            probes.extend([f.next_up(), f.next_down(), -f, float(&mut g)]);
        }
        for f in probes {
            match memo.get(f) {
                Some(t) => {
                    assert!(taken.contains(&f.to_bits()), "round {round}: {f:e} found");
                    assert_eq!(t, text(f), "round {round}: bits {:#x}", f.to_bits());
                    hits += 1;
                }
                None => {
                    assert!(!taken.contains(&f.to_bits()), "round {round}: {f:e} lost");
                    misses += 1;
                }
            }
        }
    }
    assert!(
        hits > 50_000 && misses > 50_000,
        "{hits} hits, {misses} misses"
    );
    assert!(repeats > 5_000, "{repeats} repeats");
}

/// An empty memo (a catalog without popularity) finds nothing.
#[test]
fn an_empty_memo_finds_nothing() {
    let memo = ScoreTexts::of([], MEMO_ITEMS);
    assert_eq!(memo.len(), 0);
    for f in [0.0, -0.0, 1.0, f64::NAN] {
        assert!(memo.get(f).is_none());
    }
    let memo = ScoreTexts::of([0.5, 0.25], 0);
    assert!(memo.get(0.5).is_none());
}

/// The memo an installed snapshot holds has the text of every score a popularity answer of
/// its most popular items returns, under the config's weights (none, popularity scaled,
/// blended, weights that fall back to popularity only), and the call's text is the typed
/// answer's.
#[test]
fn popular_score_texts_hold_a_popularity_answers_scores() {
    use crate::{Context, Documents, Engine, RecommendRequest, Timestamp, User};
    let mut g = Rng::new(0x9095_5c02);
    let now = Timestamp::parse_rfc3339("2026-03-01T12:00:00Z").unwrap();
    let configs = [
        None,
        Some(r#"{"algo":"popularity","weights":{"pop":2.5}}"#),
        Some(r#"{"algo":"blend","weights":{"pop":0.3,"cooc":1,"emb":0.5}}"#),
        Some(r#"{"weights":{"pop":0,"cooc":0,"emb":0}}"#),
        Some(r#"{"algo":"popularity","weights":{"pop":1e-3}}"#),
    ];
    let mut checked = 0;
    for case in 0..60 {
        let most = if g.chance(500) { 600 } else { 60 };
        let n = 1 + g.index(most);
        let pop: Vec<String> = (0..n)
            .map(|i| {
                let score = match g.below(3) {
                    0 => g.below(50) as f64,
                    1 => (g.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 1e4,
                    _ => g.below(1_000_000) as f64 / 7.0,
                };
                format!(r#"{{"item_id":"item-{i}","score":{score:e}}}"#)
            })
            .collect();
        let signals = format!(r#"{{"popularity":[{}]}}"#, pop.join(","));
        let config = configs[case % configs.len()];
        let mut docs = Documents::new("demo", "home").signals(signals.as_str());
        if let Some(c) = config {
            docs = docs.config(c);
        }
        let engine = Engine::new();
        engine.load_snapshot(docs).unwrap();
        let snap = engine.snapshot("demo", "home").unwrap().snapshot;
        let memo = ScoreTexts::popular(&snap, popularity_weights(&snap), MEMO_ITEMS);
        let k = 1 + g.index(n.min(60));
        let typed = engine
            .recommend(
                &RecommendRequest::new("home", User::id("u1")).k(k as u32),
                &Context::new(now, "demo"),
            )
            .unwrap();
        for item in &typed.items {
            let got = memo.get(item.score);
            assert_eq!(
                got,
                Some(text(item.score).as_str()),
                "case {case} {config:?}"
            );
            checked += 1;
        }
        let call = format!(
            r#"{{"request":{{"surface":"home","segment":"default","k":{k},"user":{{"user_id":"u1"}},"options":{{}}}},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":"demo"}}}}"#
        );
        let text = engine.call("recommend", &call).unwrap();
        assert_eq!(text, crate::json::to_text(&typed).unwrap(), "case {case}");
    }
    assert!(checked > 500, "{checked} scores checked");
}

/// A snapshot installed in place of another keeps the other's score texts only when both
/// share their popularity arrays and weights (a rules change); a config with other weights
/// or new popularity rows makes new ones, which hold the new answers' scores.
#[test]
fn score_texts_are_kept_across_a_rules_change_only() {
    use crate::json::parse;
    use crate::{Context, Documents, Engine, RecommendRequest, Timestamp, User};
    let now = Timestamp::parse_rfc3339("2026-03-01T12:00:00Z").unwrap();
    let signals = |scale: f64| {
        let rows: Vec<String> = (0..40)
            .map(|i| {
                format!(
                    r#"{{"item_id":"i{i}","score":{}}}"#,
                    (i * 7 % 40 + 1) as f64 * scale
                )
            })
            .collect();
        format!(r#"{{"popularity":[{}]}}"#, rows.join(","))
    };
    let engine = Engine::new();
    let docs = Documents::new("demo", "home").signals(signals(1.5).as_str());
    engine.load_snapshot(docs).unwrap();
    let current = || engine.snapshot("demo", "home").unwrap().snapshot;
    let answer_hits = |pre: &Prewritten| {
        let typed = engine
            .recommend(
                &RecommendRequest::new("home", User::id("u1")).k(10),
                &Context::new(now, "demo"),
            )
            .unwrap();
        typed
            .items
            .iter()
            .all(|i| pre.scores.get(i.score) == Some(&text(i.score)[..]))
    };
    let s1 = current();
    let p1 = Prewritten::of(&s1, None);
    assert!(answer_hits(&p1));
    // Rules: the catalog is kept, so are the texts.
    let rules = parse(br#"[{"action":"block","item_ids":["i3"]}]"#).unwrap();
    engine.set_rules("demo", Some(&rules)).unwrap();
    let s2 = current();
    assert!(!Arc::ptr_eq(&s1, &s2));
    let p2 = Prewritten::of(&s2, Some((&s1, &p1)));
    assert!(Arc::ptr_eq(&p1.scores, &p2.scores));
    // Other weights: new texts, and the old ones would miss.
    let config = parse(br#"{"weights":{"pop":3}}"#).unwrap();
    engine.set_config("demo", Some(&config)).unwrap();
    let s3 = current();
    let p3 = Prewritten::of(&s3, Some((&s2, &p2)));
    assert!(!Arc::ptr_eq(&p2.scores, &p3.scores));
    assert!(answer_hits(&p3) && !answer_hits(&p2));
    // The same weights again, but new popularity rows: new texts.
    let docs = Documents::new("demo", "home")
        .config(r#"{"weights":{"pop":3}}"#)
        .signals(signals(2.5).as_str());
    engine.load_snapshot(docs).unwrap();
    let s4 = current();
    let p4 = Prewritten::of(&s4, Some((&s3, &p3)));
    assert_eq!(p4.scores.weights, p3.scores.weights);
    assert!(!Arc::ptr_eq(&p3.scores, &p4.scores));
    assert!(answer_hits(&p4));
}
