//! The score memo held to [`write_f64`] on random sets of every kind of float, and the
//! installed snapshot's memo held to the scores popularity answers actually return.

use super::{
    popularity_weights, ItemTexts, MetaHead, Prewritten, ScoreTexts, ITEM_TEXT_BYTES, MEMO_ITEMS,
};
use crate::config::Weights;
use crate::json::write::write_f64;
use crate::request::warnings;
use crate::tests::rng::Rng;
use crate::{Context, Documents, Engine, EngineOptions, RecommendRequest, Timestamp, User};
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
        let w = popularity_weights(&snap);
        let memo = ScoreTexts::popular(&snap, w, MEMO_ITEMS);
        // The scores themselves, in popularity order, as the walk's pool scores them, under
        // these weights only: another bit of any weight (a zero's sign too) knows none.
        let known = memo.popular_under(&w);
        assert_eq!(known.len(), snap.pop_order.len().min(MEMO_ITEMS));
        for (&key, &score) in snap.pop_order.iter().zip(known) {
            let pop = snap.pop_count.get(key as usize).copied().unwrap_or(0.0);
            let want = crate::ranking::popularity_score(&w, pop);
            assert_eq!(score.to_bits(), want.to_bits(), "case {case}");
        }
        let flip = |x: f64| f64::from_bits(x.to_bits() ^ 1);
        let others = [
            Weights {
                pop: flip(w.pop),
                ..w
            },
            Weights {
                cooc: flip(w.cooc),
                ..w
            },
            Weights { emb: -w.emb, ..w },
            Weights { pop: -w.pop, ..w },
        ];
        for other in others {
            assert!(memo.popular_under(&other).is_empty(), "case {case}");
        }
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

/// A snapshot installed in place of another keeps the other's score and item texts only
/// when both share their popularity arrays and weights (a rules change); a config with
/// other weights or new popularity rows makes new ones, which hold the new answers' scores.
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
    let p1 = Prewritten::of(&s1, None, "x");
    assert!(answer_hits(&p1));
    // Rules: the catalog is kept, so are the texts.
    let rules = parse(br#"[{"action":"block","item_ids":["i3"]}]"#).unwrap();
    engine.set_rules("demo", Some(&rules)).unwrap();
    let s2 = current();
    assert!(!Arc::ptr_eq(&s1, &s2));
    let p2 = Prewritten::of(&s2, Some((&s1, &p1)), "x");
    assert!(Arc::ptr_eq(&p1.scores, &p2.scores));
    assert!(Arc::ptr_eq(&p1.items, &p2.items));
    // Other weights: new texts, and the old ones would miss.
    let config = parse(br#"{"weights":{"pop":3}}"#).unwrap();
    engine.set_config("demo", Some(&config)).unwrap();
    let s3 = current();
    let p3 = Prewritten::of(&s3, Some((&s2, &p2)), "x");
    assert!(!Arc::ptr_eq(&p2.scores, &p3.scores));
    assert!(!Arc::ptr_eq(&p2.items, &p3.items));
    assert!(answer_hits(&p3) && !answer_hits(&p2));
    // The same weights again, but new popularity rows: new texts.
    let docs = Documents::new("demo", "home")
        .config(r#"{"weights":{"pop":3}}"#)
        .signals(signals(2.5).as_str());
    engine.load_snapshot(docs).unwrap();
    let s4 = current();
    let p4 = Prewritten::of(&s4, Some((&s3, &p3)), "x");
    assert_eq!(p4.scores.weights, p3.scores.weights);
    assert!(!Arc::ptr_eq(&p3.scores, &p4.scores));
    assert!(!Arc::ptr_eq(&p3.items, &p4.items));
    assert!(answer_hits(&p4));
}

/// The time the engine-level tests serve at.
fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-03-01T12:00:00Z").unwrap()
}

/// An id of any kind: short or long, sometimes with a byte the answer escapes.
fn id(g: &mut Rng, long: bool) -> String {
    let len = match long || g.chance(10) {
        true => 300 + g.index(300),
        false => 1 + g.index(16),
    };
    (0..len)
        .map(|_| match g.below(40) {
            0 => *g.pick(&['"', '\\', '\t', '\u{1}', 'é', '\u{2028}']),
            _ => char::from(b'a' + g.below(26) as u8),
        })
        .collect()
}

/// What the writer writes for the item at answer position `i` (its comma included).
fn item_text(i: usize, id: &str, score: f64) -> String {
    let mut s = String::from(if i > 0 { "," } else { "" });
    crate::serve::text::write_plain_item(&mut s, (id, false), i as u64 + 1, (score, None));
    s
}

/// The leading run an answer shares with the item memo is the longest prefix whose every
/// item [`ItemTexts::get`] finds at its rank, and its text is those items' texts side by
/// side: answers that follow the memo for a while, then differ by key or score bits (or
/// run past the memo's ranks), sometimes from the first item.
#[test]
fn the_leading_run_is_the_ranks_get_finds_in_a_row() {
    let mut g = Rng::new(0x1ead_2026);
    let (mut whole, mut cut, mut none) = (0, 0, 0);
    for round in 0..2_000 {
        let long = g.chance(30);
        let n = g.index(if long { 300 } else { 40 });
        let items: Vec<(u32, String, f64)> = (0..n)
            .map(|_| (g.below(1 << 20) as u32, id(&mut g, long), float(&mut g)))
            .collect();
        let scores = ScoreTexts::of(items.iter().map(|i| i.2), n);
        let memo = ItemTexts::of(
            items.iter().map(|(k, id, s)| (*k, id.as_str(), *s)),
            &scores,
        );
        // The answer: the memo's items, one changed somewhere (or none), a few past its end.
        let mut answer: Vec<(u32, f64)> = items.iter().map(|(k, _, s)| (*k, *s)).collect();
        answer.truncate(g.index(n + 1));
        if !answer.is_empty() && g.chance(700) {
            let at = g.index(answer.len());
            match g.below(3) {
                0 => answer[at].0 ^= 1 << g.below(20),
                1 => answer[at].1 = f64::from_bits(answer[at].1.to_bits() ^ 1),
                _ => {
                    let other = g.index(answer.len());
                    answer.swap(at, other);
                }
            }
        }
        for _ in 0..g.index(3) {
            answer.push((g.below(1 << 20) as u32, float(&mut g)));
        }
        let want = answer
            .iter()
            .enumerate()
            .take_while(|&(i, &(k, s))| memo.get(i, k, s).is_some())
            .count();
        let text: String = (0..want)
            .map(|i| memo.get(i, answer[i].0, answer[i].1).unwrap_or_default())
            .collect();
        let (run, got) = memo.leading(answer.iter().copied());
        assert_eq!((run, got), (want, text.as_str()), "round {round}");
        match want {
            0 => none += 1,
            w if w == answer.len() => whole += 1,
            _ => cut += 1,
        }
    }
    assert!(
        whole > 100 && cut > 500 && none > 100,
        "{whole} {cut} {none}"
    );
}

/// Every rank of the item memo reads back as the text the writer writes for its item, rank
/// and score; another key, other score bits or a rank past the memo miss; ranks stop at the
/// memo's byte budget.
#[test]
fn item_texts_are_what_the_writer_writes() {
    let mut g = Rng::new(0x17e4_7e87);
    let (mut hits, mut short) = (0, 0);
    for round in 0..1_500 {
        let long = g.chance(50);
        let most = if long { 300 } else { 30 };
        let n = g.index(most);
        let items: Vec<(u32, String, f64)> = (0..n)
            .map(|_| (g.below(1 << 20) as u32, id(&mut g, long), float(&mut g)))
            .collect();
        let scores = ScoreTexts::of(items.iter().map(|i| i.2).step_by(2), n);
        let memo = ItemTexts::of(
            items.iter().map(|(k, id, s)| (*k, id.as_str(), *s)),
            &scores,
        );
        let mut written = 0;
        for (i, (key, id, score)) in items.iter().enumerate() {
            let want = item_text(i, id, *score);
            if i >= memo.len() {
                assert!(
                    written >= ITEM_TEXT_BYTES,
                    "round {round}: rank {i} dropped"
                );
                assert_eq!(memo.get(i, *key, *score), None, "round {round}");
                continue;
            }
            written += want.len();
            assert_eq!(
                memo.get(i, *key, *score),
                Some(want.as_str()),
                "round {round} {i}"
            );
            hits += 1;
            assert_eq!(memo.get(i, key ^ 1, *score), None, "round {round}");
            let other = f64::from_bits(score.to_bits() ^ 1);
            assert_eq!(memo.get(i, *key, other), None, "round {round}");
            if let Some((k, _, s)) = items.get(i + 1).filter(|(k, _, _)| k != key) {
                assert_eq!(memo.get(i, *k, *s), None, "round {round}");
            }
        }
        short += usize::from(memo.len() < n);
        assert_eq!(memo.get(n, 0, 0.0), None);
    }
    assert!(hits > 20_000 && short > 3, "{hits} hits, {short} cut short");
}

/// The item memo of an installed snapshot writes popularity answers as the typed answer's
/// text: with ids to escape, ties, excluded ids and blocked, pinned or boosted items moving
/// the ranks and scores (misses), k past the memo; and it holds the ranks such answers keep.
#[test]
fn item_texts_write_popularity_answers_as_the_typed_answers() {
    let mut g = Rng::new(0x1e75_a115);
    let (mut hits, mut misses) = (0, 0);
    for case in 0..80 {
        let most = if g.chance(300) { 320 } else { 40 };
        let n = 1 + g.index(most);
        let ids: Vec<String> = (0..n)
            .map(|i| format!("{i}-{}-z", id(&mut g, false)))
            .collect();
        let rows: Vec<String> = ids
            .iter()
            .map(|id| {
                let mut row = String::from(r#"{"item_id":"#);
                crate::json::write::write_std_string(&mut row, id);
                row.push_str(&format!(r#","score":{}}}"#, 1 + g.below(30)));
                row
            })
            .collect();
        let signals = format!(r#"{{"popularity":[{}]}}"#, rows.join(","));
        let weights = *g.pick(&["1", "2.5", "0.37"]);
        let config = format!(r#"{{"weights":{{"pop":{weights}}},"limits":{{"max_k":400}}}}"#);
        let engine = Engine::new();
        let docs = Documents::new("demo", "home").config(config.as_str());
        engine
            .load_snapshot(docs.signals(signals.as_str()))
            .unwrap();
        let quoted = |id: &String| {
            let mut s = String::new();
            crate::json::write::write_std_string(&mut s, id);
            s
        };
        if g.chance(400) {
            let action = match g.below(3) {
                0 => r#""action":"block""#,
                1 => r#""action":"pin""#,
                _ => r#""action":"boost","boost_value":0.25"#,
            };
            let target = quoted(g.pick(&ids));
            let rules = format!(r#"[{{{action},"item_ids":[{target}]}}]"#);
            let rules = crate::json::parse(rules.as_bytes()).unwrap();
            engine.set_rules("demo", Some(&rules)).unwrap();
        }
        let snap = engine.snapshot("demo", "home").unwrap().snapshot;
        let pre = Prewritten::of(&snap, None, "x");
        for _ in 0..3 {
            let k = 1 + g.index(n.min(300) + 2);
            let excluded: Vec<String> = match g.chance(300) {
                true => (0..1 + g.index(3)).map(|_| g.pick(&ids).clone()).collect(),
                false => Vec::new(),
            };
            let list: Vec<String> = excluded.iter().map(quoted).collect();
            let call = format!(
                r#"{{"request":{{"surface":"home","segment":"default","k":{k},"user":{{"anonymous_id":"a1"}},"options":{{}},"candidates":{{"exclude_ids":[{}]}}}},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":"demo","request_id":"r"}}}}"#,
                list.join(",")
            );
            let text = engine.call("recommend", &call).unwrap();
            let mut req = RecommendRequest::new("home", User::anonymous("a1")).k(k as u32);
            req.segment = "default".into();
            req.exclude_ids = excluded;
            let typed = engine
                .recommend(&req, &Context::new(now(), "demo").request_id("r"))
                .unwrap();
            assert_eq!(
                text,
                crate::json::to_text(&typed).unwrap(),
                "case {case} k {k}"
            );
            for (i, item) in typed.items.iter().enumerate() {
                let key = snap.items.get(&item.item_id).unwrap();
                match pre.items.get(i, key, item.score) {
                    Some(t) => {
                        assert_eq!(t, item_text(i, &item.item_id, item.score));
                        hits += 1;
                    }
                    None => misses += 1,
                }
            }
        }
    }
    assert!(hits > 2_000 && misses > 200, "{hits} hits, {misses} misses");
}

/// A string for a tenant (`path`: path-safe) or a label: sometimes with a byte the answer
/// escapes.
fn name(g: &mut Rng, prefix: &str, path: bool) -> String {
    let odd: &[char] = match path {
        true => &['"', 'é', '\u{2028}'],
        false => &['"', '\\', '\t', 'é', '\u{2028}'],
    };
    let mut s = String::from(prefix);
    for _ in 0..g.index(6) {
        s.push(match g.below(12) {
            0 => *g.pick(odd),
            _ => char::from(b'a' + g.below(26) as u8),
        });
    }
    s.push('z');
    s
}

/// `meta`'s head, written once an install, is the typed answer's text for requests of the
/// snapshot's surface in the default segment (segment named or defaulted), and misses for
/// another segment, another surface the `default` surface serves, another algorithm or
/// label; tenants, surfaces and labels hold bytes to escape now and then.
#[test]
fn meta_heads_write_what_the_typed_answer_writes() {
    let mut g = Rng::new(0x3e7a_4ead);
    let (mut hits, mut misses) = (0, 0);
    for case in 0..150 {
        let label = name(&mut g, "v", false);
        let engine = Engine::with_options(EngineOptions {
            algo_version: label.clone(),
            ..EngineOptions::default()
        });
        let tenant = name(&mut g, "t", true);
        let own = if g.chance(300) {
            "default".to_string()
        } else {
            format!("s{}", g.below(1000))
        };
        let config = *g.pick(&["", r#"{"algo":"popularity"}"#, r#"{"algo":"blend"}"#]);
        let signals = r#"{"popularity":[{"item_id":"a","score":2},{"item_id":"b","score":1}]}"#;
        let mut docs = Documents::new(tenant.as_str(), own.as_str()).signals(signals);
        if !config.is_empty() {
            docs = docs.config(config);
        }
        engine.load_snapshot(docs).unwrap();
        let snap = engine.snapshot(&tenant, &own).unwrap().snapshot;
        let head = MetaHead::of(&snap, &label);
        for _ in 0..4 {
            let surface = match own == "default" && g.chance(400) {
                true => "other".to_string(),
                false => own.clone(),
            };
            let segment = *g.pick(&["", "default", "vip"]);
            let member = match segment {
                "" => String::new(),
                s => format!(r#""segment":"{s}","#),
            };
            let mut tenant_text = String::new();
            crate::json::write::write_std_string(&mut tenant_text, &tenant);
            let call = format!(
                r#"{{"request":{{"surface":"{surface}",{member}"k":2,"user":{{"user_id":"u"}},"options":{{}}}},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":{tenant_text}}}}}"#
            );
            let text = engine.call("recommend", &call).unwrap();
            let mut req = RecommendRequest::new(surface.as_str(), User::id("u")).k(2);
            req.segment = match segment {
                "" => "default".into(),
                s => s.into(),
            };
            let mut typed = engine
                .recommend(&req, &Context::new(now(), tenant.as_str()))
                .unwrap();
            if segment.is_empty() {
                // The typed request names its segment: only the call's answer warns.
                let detail = "segment defaulted to 'default'".to_string();
                let w = crate::request::Warning::new(warnings::DEFAULT_APPLIED, detail);
                typed.warnings.insert(0, w);
            }
            assert_eq!(text, crate::json::to_text(&typed).unwrap(), "case {case}");
            let algo = snap.algo_explicit.then(|| snap.config.algo.as_str());
            let m = &typed.meta;
            match head.get(&m.surface, &m.segment, (&label, algo)) {
                Some(t) => {
                    let mut w = String::new();
                    let strings = [m.tenant_id.as_str(), &m.surface, &m.segment];
                    crate::serve::text::write_meta_head(&mut w, strings, (&label, algo));
                    assert_eq!(t, w, "case {case}");
                    assert!(text.contains(t), "case {case}");
                    hits += 1;
                }
                None => misses += 1,
            }
            let other = if algo == Some("blend") {
                "popularity"
            } else {
                "blend"
            };
            assert_eq!(
                head.get(&m.surface, &m.segment, (&label, Some(other))),
                None
            );
            assert_eq!(head.get(&m.surface, &m.segment, ("w", algo)), None);
            assert_eq!(head.get(&m.surface, "vip", (&label, algo)), None);
            assert_eq!(head.get("other-surface", &m.segment, (&label, algo)), None);
        }
    }
    assert!(hits > 150 && misses > 150, "{hits} hits, {misses} misses");
}
