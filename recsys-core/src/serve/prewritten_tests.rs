//! The score memo held to [`write_f64`] on random sets of every kind of float, and the
//! installed snapshot's memo held to the scores popularity answers actually return.

use super::{ScoreTexts, MEMO_ITEMS};
use crate::json::write::write_f64;
use crate::tests::rng::Rng;
use std::collections::HashSet;

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
        let memo = ScoreTexts::popular(&snap, MEMO_ITEMS);
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
