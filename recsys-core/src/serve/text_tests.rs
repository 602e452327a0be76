//! The hand-written answer text held to the serde writer's on random answers: every member
//! present and absent, strings that need escapes, and scores of every kind.

use super::{recommendation, Items, MetaView, View};
use crate::json::to_text;
use crate::ops::rule_stats::RuleOutcome;
use crate::request::Warning;
use crate::rules::Action;
use crate::serve::answer::*;
use crate::serve::prewritten::ScoreTexts;
use std::borrow::Cow;

/// A small deterministic generator (splitmix64), so a failure names a reproducible case.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
    /// Ids as catalogs write them, and strings every escape rule applies to.
    fn string(&mut self) -> String {
        const PARTS: [&str; 12] = [
            "sku-", "0042", "a", "\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "😀", "\u{2028}", "<&>",
        ];
        let n = self.below(6);
        (0..n)
            .map(|_| PARTS[self.below(PARTS.len() as u64) as usize])
            .collect()
    }
    fn opt_string(&mut self) -> Option<String> {
        self.coin().then(|| self.string())
    }
    /// Scores: in [0, 1] (most answers), integral, signed zeros, tiny, huge, any bits.
    fn float(&mut self) -> f64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        match self.below(8) {
            0 | 1 => u,
            2 => (self.below(1000) as f64) - 500.0,
            3 => [0.0, -0.0, 1.0, f64::MAX, 9_007_199_254_740_992.0][self.below(5) as usize],
            4 => u * 1e-9,
            5 => u * 1e22,
            6 => -u,
            _ => f64::from_bits(self.next()),
        }
    }
    fn count(&mut self) -> u64 {
        match self.below(3) {
            0 => self.below(30),
            1 => self.below(1_000_000),
            _ => self.next(),
        }
    }
    fn strings(&mut self) -> Vec<String> {
        (0..self.below(3)).map(|_| self.string()).collect()
    }
}

fn parts(g: &mut Gen) -> BlendParts {
    BlendParts {
        pop: g.float(),
        cooc: g.float(),
        emb: g.float(),
    }
}

fn explain(g: &mut Gen) -> ItemExplain {
    ItemExplain {
        signals: parts(g),
        rules: g.strings(),
        raw: g.coin().then(|| RawSignals {
            pop: g.float(),
            cooc: g.float(),
            collab: g.float(),
            content: g.float(),
            session: g.float(),
        }),
        weights: g.coin().then(|| parts(g)),
        boost: g.coin().then(|| g.float()),
        pinned: g.coin(),
        mmr: g.coin().then(|| MmrExplain {
            lambda: g.float(),
            relevance: g.float(),
            max_sim: g.float(),
            penalty: g.float(),
            rank: g.next() as u32,
        }),
    }
}

fn item(g: &mut Gen) -> Item {
    Item {
        item_id: g.string(),
        rank: if g.coin() {
            g.below(100) as u32
        } else {
            g.next() as u32
        },
        score: g.float(),
        reasons: if g.below(4) == 0 { g.strings() } else { vec![] },
        explain: (g.below(4) == 0).then(|| explain(g)),
    }
}

fn meta(g: &mut Gen) -> Meta {
    const ACTIONS: [Action; 3] = [Action::Block, Action::Pin, Action::Boost];
    const OUTCOMES: [RuleOutcome; 4] = [
        RuleOutcome::Fired,
        RuleOutcome::Displaced,
        RuleOutcome::Blocked,
        RuleOutcome::Noop,
    ];
    Meta {
        tenant_id: g.string(),
        surface: g.string(),
        segment: g.string(),
        algo_version: g.string(),
        config_version: g.opt_string(),
        rules_version: g.opt_string(),
        manifest_version: g.opt_string(),
        release_id: g.opt_string(),
        artifact_versions: (0..g.below(6)).map(|_| (g.string(), g.string())).collect(),
        snapshot_surface: g.opt_string(),
        request_id: g.opt_string(),
        counts: Counts {
            candidates: g.count(),
            after_include: g.count(),
            after_exclude: g.count(),
            after_constraints: g.count(),
            after_rules: g.count(),
            pinned: g.count(),
            returned: g.count(),
        },
        rules: g.coin().then(|| {
            (0..g.below(3))
                .map(|_| RuleReport {
                    rule_id: g.string(),
                    action: ACTIONS[g.below(3) as usize],
                    outcome: OUTCOMES[g.below(4) as usize],
                })
                .collect()
        }),
        diagnostics: g.coin().then(|| {
            (0..g.below(3))
                .map(|_| Diagnostic {
                    stage: "rules",
                    removed: g.coin().then(|| g.count()),
                    message: g.string(),
                })
                .collect()
        }),
        experiment: g.coin().then(|| ExperimentMeta {
            id: g.string(),
            variant: g.opt_string(),
        }),
    }
}

fn answer(g: &mut Gen) -> Recommendation {
    Recommendation {
        items: (0..g.below(25)).map(|_| item(g)).collect(),
        meta: meta(g),
        warnings: (0..g.below(3))
            .map(|_| Warning::new("DEFAULT_APPLIED", g.string()))
            .collect(),
    }
}

/// The hand-written text is the serde writer's, byte for byte, on random answers (every
/// member of every struct is drawn, so a member the writer forgot or misnamed shows).
#[test]
fn writes_what_the_serde_writer_writes() {
    let mut g = Gen(0x0a25_3e21);
    for case in 0..20_000 {
        let r = answer(&mut g);
        let want = to_text(&r).unwrap();
        let got = recommendation(&r).unwrap();
        assert_eq!(got, want, "case {case}");
    }
}

/// A popularity answer (20 plain ids, scores in [0, 1), no optional members but versions)
/// fits the buffer reserved for it: the text is written with one allocation.
#[test]
fn a_plain_answer_fits_its_estimate() {
    let mut g = Gen(7);
    let r = Recommendation {
        items: (0..20)
            .map(|i| Item {
                item_id: format!("sku-{:07}", g.below(1_000_000)),
                rank: i + 1,
                score: (g.next() >> 11) as f64 / (1u64 << 53) as f64,
                reasons: vec![],
                explain: None,
            })
            .collect(),
        meta: Meta {
            tenant_id: "demo".into(),
            surface: "home".into(),
            segment: "default".into(),
            algo_version: "recsys-algo@local:popularity".into(),
            config_version: Some("c".repeat(64)),
            rules_version: Some("r".repeat(64)),
            manifest_version: Some("m".repeat(64)),
            release_id: Some("release-1".into()),
            artifact_versions: ["popularity", "cooc", "implicit", "content_sim"]
                .iter()
                .map(|k| (k.to_string(), "v".repeat(64)))
                .collect(),
            request_id: Some("req-123".into()),
            counts: Counts {
                candidates: 1_000_000,
                after_include: 1_000_000,
                after_exclude: 1_000_000,
                after_constraints: 1_000_000,
                after_rules: 1_000_000,
                pinned: 3,
                returned: 20,
            },
            snapshot_surface: None,
            rules: None,
            diagnostics: None,
            experiment: None,
        },
        warnings: vec![],
    };
    let text = recommendation(&r).unwrap();
    assert_eq!(text, to_text(&r).unwrap());
    let estimate = super::estimate(&View::of(&r));
    assert!(text.len() <= estimate, "{} > {estimate}", text.len());
}

/// The call path's view (plain items as (id, score), `algo_version` as label and
/// algorithm, the rare members owned) writes what the typed answer with the same contents
/// writes.
#[test]
fn the_call_paths_view_writes_what_the_typed_answer_writes() {
    let mut g = Gen(0x5eed_0f7e);
    let (mut plain, mut escaped, mut memo_hits) = (0, 0, 0);
    for case in 0..20_000 {
        let mut r = answer(&mut g);
        let simple = g.coin();
        if simple {
            for (i, item) in r.items.iter_mut().enumerate() {
                item.rank = i as u32 + 1;
                item.reasons.clear();
                item.explain = None;
            }
        }
        let (label, algo) = (g.string(), g.coin().then(|| g.string()));
        r.meta.algo_version = super::joined((&label, algo.as_deref()));
        let want_joined = to_text(&r).unwrap();
        let memo;
        let mut view = View::of(&r);
        if simple {
            plain += 1;
            let items = r.items.iter().map(|i| (i.item_id.as_str(), i.score));
            let items = items.collect::<Vec<_>>();
            // Scanned ids write the same text whether they need escapes or not.
            view.items = Items::Plain {
                items: items.clone(),
                ids_plain: false,
                scores: None,
            };
            assert_eq!(super::write(&view).unwrap(), want_joined, "case {case}");
            // Score texts written beforehand: some of the answer's scores and others; the
            // hits are copied, the misses written.
            let mut known: Vec<f64> = items.iter().map(|&(_, s)| s).collect();
            known.retain(|_| g.coin());
            known.extend([g.float(), g.float()]);
            memo = ScoreTexts::of(known, 64);
            memo_hits += items.iter().filter(|(_, s)| memo.get(*s).is_some()).count();
            view.items = Items::Plain {
                items: items.clone(),
                ids_plain: false,
                scores: Some(&memo),
            };
            assert_eq!(super::write(&view).unwrap(), want_joined, "case {case}");
            // Ids copied unscanned only when none needs an escape (as the catalog's flag
            // promises).
            let ids_plain = items
                .iter()
                .all(|(id, _)| crate::json::scan::is_plain(id.as_bytes()));
            escaped += usize::from(!ids_plain);
            view.items = Items::Plain {
                items,
                ids_plain,
                scores: None,
            };
        }
        assert_eq!(super::write(&view).unwrap(), want_joined, "case {case}");
        view.meta.algo_version = (&label, algo.as_deref());
        // The rare members owned, as the pipeline makes them.
        let owned = MetaView::of(&r.meta).into_meta();
        view.meta.rules = owned.rules.map(Cow::Owned);
        view.meta.diagnostics = owned.diagnostics.map(Cow::Owned);
        view.meta.experiment = owned.experiment.map(Cow::Owned);
        assert_eq!(super::write(&view).unwrap(), want_joined, "case {case}");
        // The versions' members as written once when the snapshot is installed.
        let versions = crate::snapshot::Versions {
            config_version: r.meta.config_version.clone(),
            rules_version: r.meta.rules_version.clone(),
            manifest_version: r.meta.manifest_version.clone(),
            release_id: r.meta.release_id.clone(),
            artifacts: r.meta.artifact_versions.clone(),
            ..Default::default()
        };
        let versions_text = super::versions_text(&versions);
        view.meta.versions_text = Some(&versions_text);
        assert_eq!(super::write(&view).unwrap(), want_joined, "case {case}");
        assert_eq!(MetaView::of(&r.meta).into_meta(), r.meta, "case {case}");
    }
    assert!(plain > 5_000, "{plain}");
    assert!(escaped > 500, "{escaped} answers with an id to escape");
    assert!(memo_hits > 10_000, "{memo_hits} scores copied from a memo");
}

/// The call path copies catalog ids unscanned only when the catalog holds none that needs an
/// escape: catalogs with and without such ids (quote, backslash, control bytes; non-ASCII,
/// `<>&` and U+2028 need none in answers) answer the text of the typed answer, and the ids
/// read back.
#[test]
fn catalog_ids_are_escaped_unless_the_catalog_holds_none_to_escape() {
    use crate::{Context, Engine, RecommendRequest, Timestamp, User};
    let odd = ["q\"uote", "back\\slash", "ctl\u{1}x", "tab\tx", "nl\nx"];
    let fine = ["plain", "é-ü", "<a&b>", "line\u{2028}sep", "sku-0042"];
    let mixed: Vec<&str> = fine.iter().chain(&odd[..1]).copied().collect();
    let mut cases: Vec<(Vec<&str>, bool)> = vec![(fine.to_vec(), true), (mixed, false)];
    cases.extend(odd.iter().map(|&o| (vec!["a", o, "b"], false)));
    for (ids, want_plain) in cases {
        let engine = Engine::new();
        let pop: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut s = String::from(r#"{"item_id":"#);
                crate::json::write::write_std_string(&mut s, id);
                s.push_str(&format!(r#","score":{}}}"#, i + 1));
                s
            })
            .collect();
        let load = format!(
            r#"{{"tenant":"demo","surface":"home","signals":{{"popularity":[{}]}}}}"#,
            pop.join(",")
        );
        engine.call("load_snapshot", &load).unwrap();
        let served = engine.snapshot("demo", "home").unwrap();
        assert_eq!(served.snapshot.ids_plain, want_plain, "{ids:?}");
        let text = engine
            .call(
                "recommend",
                r#"{"request":{"surface":"home","segment":"default","k":10,"user":{"user_id":"u1"},"options":{}},"ctx":{"now":"2026-03-01T12:00:00Z","tenant":"demo"}}"#,
            )
            .unwrap();
        let now = Timestamp::parse_rfc3339("2026-03-01T12:00:00Z").unwrap();
        let typed = engine
            .recommend(
                &RecommendRequest::new("home", User::id("u1")).k(10),
                &Context::new(now, "demo"),
            )
            .unwrap();
        assert_eq!(text, to_text(&typed).unwrap(), "{ids:?}");
        let mut got: Vec<String> = typed.items.iter().map(|i| i.item_id.clone()).collect();
        let parsed = crate::json::parse(text.as_bytes()).unwrap();
        let read: Vec<String> = parsed
            .as_object()
            .and_then(|o| o.get("items"))
            .and_then(|v| v.as_array())
            .unwrap()
            .iter()
            .map(|i| {
                let id = i.as_object().and_then(|o| o.get("item_id"));
                id.and_then(|v| v.as_str()).unwrap().to_owned()
            })
            .collect();
        assert_eq!(read, got, "{ids:?}");
        got.sort();
        let mut want: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want);
    }
}

/// A random popularity list for [`the_call_paths_items_are_the_typed_answers_on_random_catalogs`]:
/// ids short and over the writer's guess of their length (some needing escapes when `odd`),
/// scores integral, plain decimal and tiny or huge.
fn random_popularity(g: &mut crate::tests::rng::Rng, n: usize, odd: bool) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut id = format!("item-{i}-");
            let longest = if g.chance(300) { 120 } else { 12 };
            let extra = g.index(longest);
            for _ in 0..extra {
                id.push(char::from(b'a' + g.below(26) as u8));
            }
            if odd && g.chance(200) {
                id.push(*g.pick(&['"', '\\', '\t', '\u{1}', 'é', '\u{2028}']));
            }
            let unit = (g.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let score = match g.below(3) {
                0 => g.below(100_000) as f64,
                1 => unit * 1000.0,
                _ => unit * 10f64.powi(g.below(30) as i32 - 8),
            };
            let mut s = String::from(r#"{"item_id":"#);
            crate::json::write::write_std_string(&mut s, &id);
            s.push_str(&format!(r#","score":{score:e}}}"#));
            s
        })
        .collect()
}

/// The call path writes the returned items straight from the pipeline's stages (no list of
/// them, ids looked up as written, the buffer sized with a guess of their length): its text
/// is the typed answer's on random catalogs and every k, ids in and over the guess, with and
/// without ids to escape.
#[test]
fn the_call_paths_items_are_the_typed_answers_on_random_catalogs() {
    use crate::{Context, Engine, RecommendRequest, Timestamp, User};
    let mut g = crate::tests::rng::Rng::new(0x17e5_0a11);
    let now = Timestamp::parse_rfc3339("2026-03-01T12:00:00Z").unwrap();
    let (mut long, mut escaped) = (0, 0);
    for case in 0..80 {
        let engine = Engine::new();
        let n = 1 + g.index(40);
        let odd = g.chance(400);
        let pop = random_popularity(&mut g, n, odd);
        long += pop.iter().filter(|p| p.len() > 100).count();
        escaped += usize::from(pop.iter().any(|p| p.contains('\\')));
        let load = format!(
            r#"{{"tenant":"demo","surface":"home","signals":{{"popularity":[{}]}}}}"#,
            pop.join(",")
        );
        engine.call("load_snapshot", &load).unwrap();
        for k in [1, 1 + g.index(n + 3), n, n + 2] {
            let call = format!(
                r#"{{"request":{{"surface":"home","segment":"default","k":{k},"user":{{"user_id":"u1"}},"options":{{}}}},"ctx":{{"now":"2026-03-01T12:00:00Z","tenant":"demo"}}}}"#
            );
            let text = engine.call("recommend", &call).unwrap();
            let typed = engine
                .recommend(
                    &RecommendRequest::new("home", User::id("u1")).k(k as u32),
                    &Context::new(now, "demo"),
                )
                .unwrap();
            assert_eq!(typed.items.len(), k.min(n), "case {case} k {k}");
            assert_eq!(text, to_text(&typed).unwrap(), "case {case} k {k}");
        }
    }
    assert!(long > 50, "{long} ids over the guess");
    assert!(escaped > 10, "{escaped} catalogs with an id to escape");
}

/// Plain answers of every length up to past the memo's size (and empty ones), with and
/// without score texts written beforehand, are the typed answers' text.
#[test]
fn plain_items_of_every_length_are_the_typed_answers() {
    let mut g = Gen(0x4a2c);
    let n = crate::serve::prewritten::MEMO_ITEMS;
    let lengths = (0..30).chain([99, 100, 101, n - 1, n, n + 1, n + 40]);
    for len in lengths {
        let mut r = answer(&mut g);
        r.items = (0..len)
            .map(|i| Item {
                item_id: g.string(),
                rank: i as u32 + 1,
                score: g.float(),
                reasons: Vec::new(),
                explain: None,
            })
            .collect();
        let want = to_text(&r).unwrap();
        let items: Vec<(&str, f64)> = r
            .items
            .iter()
            .map(|i| (i.item_id.as_str(), i.score))
            .collect();
        let memo = ScoreTexts::of(items.iter().map(|&(_, s)| s).step_by(2), len);
        for scores in [None, Some(&memo)] {
            let mut view = View::of(&r);
            view.items = Items::Plain {
                items: items.clone(),
                ids_plain: false,
                scores,
            };
            assert_eq!(super::write(&view).unwrap(), want, "{len} items");
        }
    }
}

/// One of the seven counts, by number.
fn count_mut(c: &mut Counts, i: u64) -> &mut u64 {
    let Counts {
        candidates: a,
        after_include: b,
        after_exclude: e,
        after_constraints: x,
        after_rules: r,
        pinned: p,
        returned: n,
    } = c;
    [a, b, e, x, r, p, n]
        .into_iter()
        .nth(i as usize % 7)
        .unwrap()
}

/// `meta.counts` copied from the thread's last answer is the text written afresh: runs of
/// answers with the same counts, one count changed by one, one set large, or all new (a
/// copy when any of the seven differs would write another answer's counts).
#[test]
fn counts_copied_from_the_last_answer_are_the_counts_written() {
    let mut g = Gen(0xc0_0a75);
    let mut c = Counts::default();
    let (mut same, mut changed) = (0, 0);
    for round in 0..30_000 {
        match g.below(4) {
            0 => same += 1,
            1 => {
                let n = count_mut(&mut c, g.below(7));
                *n = if g.coin() {
                    n.wrapping_add(1)
                } else {
                    n.saturating_sub(1)
                };
                changed += 1;
            }
            2 => {
                let large = g.next() >> g.below(64);
                *count_mut(&mut c, g.below(7)) = large;
                changed += 1;
            }
            _ => {
                let most = if g.coin() { 30 } else { 1 << 20 };
                for i in 0..7 {
                    *count_mut(&mut c, i) = g.below(most);
                }
            }
        }
        let (mut copied, mut written) = (String::from("x"), String::from("x"));
        super::write_counts_memo(&mut copied, &c);
        super::write_counts(&mut written, &c);
        assert_eq!(copied, written, "round {round}");
        assert_eq!(&copied[1..], to_text(&c).unwrap(), "round {round}");
    }
    assert!(same > 5_000 && changed > 10_000, "{same} {changed}");
}
