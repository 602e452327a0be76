//! `recommend` calls read directly ([`super::direct`]) and served as read
//! (`Engine::serve_direct`: no `RecommendRequest`, the request's strings borrowed from the
//! text, the context's in the thread's kept context) against the tree path and the typed
//! path: random calls near what clients send (the generator of `tests_direct`: every member
//! the reader takes, repeats, escapes, wrong types, unknown members) on engines with
//! snapshots for some tenants and surfaces (others fall back to `default` or have none),
//! configs with tight limits, rules, metrics, experiments and the admin guard, give the same
//! answer text or the same error as the tree decoder's path, and the typed path's answer
//! (`call_value`, written as JSON) is the same text.

use super::tests_direct::{by_tree, object};
use crate::json;
use crate::tests::rng::Rng;
use crate::{ApiError, Documents, Engine};

/// Popularity and tags for `sku-0..n` (the generator's ids are `sku-0..3`), with ties, and
/// implicit rows of the user ids.
fn signals(g: &mut Rng, n: usize) -> String {
    let pop: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"item_id":"sku-{i}","score":{}}}"#, g.below(5)))
        .collect();
    let tags: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"item_id":"sku-{i}","tags":["t{}"]}}"#, g.below(3)))
        .collect();
    format!(
        r#"{{"popularity":[{}],"tags":[{}],"implicit":[{}]}}"#,
        pop.join(","),
        tags.join(","),
        users(g, n)
    )
}

/// Implicit rows of the generator's user ids (so which id is the user's key matters).
fn users(g: &mut Rng, n: usize) -> String {
    let rows: Vec<String> = ["u1", "anon-1", "s1", "a"]
        .iter()
        .map(|u| {
            let (a, b) = (g.below(n as u64), g.below(n as u64));
            format!(r#"{{"user_id":"{u}","items":[{{"item_id":"sku-{a}","score":2}},{{"item_id":"sku-{b}","score":1}}]}}"#)
        })
        .collect();
    rows.join(",")
}

/// A config: popularity, blend or implicit, sometimes tight limits (k, lists, explain's items).
fn config(g: &mut Rng) -> String {
    let algo = *g.pick(&["popularity", "blend", "implicit"]);
    let limits = match g.below(8) {
        0 => {
            r#","limits":{"max_k":5,"max_include_ids":2,"max_exclude_ids":1,"explain_max_items":3}"#
        }
        1 => r#","limits":{"max_k":1}"#,
        _ => "",
    };
    format!(r#"{{"algo":"{algo}"{limits}}}"#)
}

/// Rules or none: a block and a pin of the generator's ids, one scoped to a segment.
fn rules(g: &mut Rng) -> Option<&'static str> {
    g.chance(500).then_some(
        r#"[{"action":"block","item_ids":["sku-1"]},{"action":"pin","item_ids":["sku-3"],"segment":"vip"},{"action":"boost","target_type":"tag","tag":"t1","boost_value":0.5}]"#,
    )
}

/// Engine options: defaults (the admin guard on), metrics and rule telemetry, experiments
/// (served through the general path), the guard off.
fn options(case: usize) -> &'static str {
    match case % 4 {
        0 => "{}",
        1 => r#"{"metrics":true,"rule_telemetry":true}"#,
        2 => {
            r#"{"experiments":{"salt":"s","definitions":[{"id":"e","enabled":true,"traffic_percent":100,"variants":["A",{"name":"B","overrides":{"rules_enabled":false}}]}]}}"#
        }
        _ => r#"{"explain_require_admin":false}"#,
    }
}

/// `members` in random order as a JSON object, each left out now and then (`keep` per mille).
fn members(g: &mut Rng, mut members: Vec<(&str, String)>, keep: u64) -> String {
    members.retain(|_| g.chance(keep));
    for i in (1..members.len()).rev() {
        members.swap(i, g.index(i + 1));
    }
    let m: Vec<String> = members
        .iter()
        .map(|(k, v)| format!(r#""{k}":{v}"#))
        .collect();
    format!("{{{}}}", m.join(","))
}

/// A list of the catalog's ids (and a few it does not know), with repeats and blanks.
fn id_list(g: &mut Rng, n: usize) -> String {
    let ids: Vec<String> = (0..g.below(5))
        .map(|_| match g.below(8) {
            0 => r#"" sku-1 ""#.to_string(),
            1 => r#""""#.to_string(),
            _ => format!(r#""sku-{}""#, g.below(n as u64 + 2)),
        })
        .collect();
    format!("[{}]", ids.join(","))
}

/// A call the reader takes most of the time, with every member it reads: surfaces served,
/// falling back to `default` or not loaded, segments given, blank or scoped by a rule, k
/// within, past or outside the limits, each user id, every option, both candidate lists.
fn call(g: &mut Rng, n: usize) -> String {
    let q = |g: &mut Rng, s: &[&str]| format!("\"{}\"", g.pick(s));
    let user = vec![
        ("user_id", q(g, &["u1", "", "u2"])),
        ("anonymous_id", q(g, &["anon-1", "", " a "])),
        ("session_id", q(g, &["s1", ""])),
    ];
    let options = vec![
        ("include_reasons", q(g, &["true", "false"]).replace('"', "")),
        (
            "explain",
            q(g, &["none", "none", "summary", "full", "", "SUMMARY"]),
        ),
        (
            "include_trace",
            q(g, &["false", "false", "true"]).replace('"', ""),
        ),
        ("seed", g.below(100).to_string()),
    ];
    let candidates = vec![
        ("include_ids", id_list(g, n)),
        ("exclude_ids", id_list(g, n)),
    ];
    let k = match g.below(12) {
        0 => 0,
        1 => 201,
        _ => 1 + g.below(25),
    };
    let request = vec![
        ("surface", q(g, &["home", "home", "pdp", " home ", "other"])),
        ("segment", q(g, &["default", "", "vip", " vip "])),
        ("k", k.to_string()),
        ("user", members(g, user, 700)),
        ("options", members(g, options, 700)),
        ("candidates", members(g, candidates, 600)),
    ];
    let request_id = match g.below(10) {
        0 => "r".repeat(300),
        1 => String::new(),
        _ => format!("req-{}", g.below(1000)),
    };
    let ctx = vec![
        (
            "now",
            q(g, &["2026-01-02T01:00:00Z", "2026-01-02T01:00:00.5+01:00"]),
        ),
        ("tenant", q(g, &["t1", "t1", "t1", "demo", "acme"])),
        ("request_id", format!("\"{request_id}\"")),
    ];
    let request = members(g, request, 900);
    let ctx = members(g, ctx, 950);
    members(g, vec![("request", request), ("ctx", ctx)], 990)
}

/// An answer text, or the error as text.
fn text(r: Result<String, ApiError>) -> String {
    r.unwrap_or_else(|e| format!("error {e:?}"))
}

#[test]
fn calls_served_as_read_answer_as_the_tree_and_typed_paths() {
    let mut g = Rng::new(0x5e7e_d12e_c7ed);
    let (mut read, mut served, mut answered) = (0usize, 0usize, 0usize);
    let before = crate::engine::DIRECT_SERVED.get();
    for case in 0..200 {
        let engine = Engine::with_options_json(options(case)).unwrap();
        let n = 1 + g.index(6);
        // `home` for `t1` and `demo`, and `t1`'s `default` (serving `pdp` and others).
        for (tenant, surface) in [("t1", "home"), ("t1", "default"), ("demo", "home")] {
            if g.chance(150) && surface != "home" {
                continue;
            }
            let config = config(&mut g);
            let mut docs = Documents::new(tenant, surface)
                .signals(signals(&mut g, n).as_str())
                .config(config.as_str());
            if let Some(r) = rules(&mut g) {
                docs = docs.rules(r);
            }
            engine.load_snapshot(docs).unwrap();
        }
        for _ in 0..60 {
            let call = match g.below(4) {
                0 => object(&mut g, &["request", "ctx"]),
                _ => call(&mut g, n),
            };
            let direct = super::direct::read(&call, &json::Limits::default()).is_some();
            read += usize::from(direct);
            let was = crate::engine::DIRECT_SERVED.get();
            let answer = text(engine.call("recommend", &call));
            served += crate::engine::DIRECT_SERVED.get() - was;
            let by_tree = text(by_tree(&engine, &call));
            assert_eq!(answer, by_tree, "case {case}: {call}");
            if let Ok(input) = json::parse(call.as_bytes()) {
                let typed = engine
                    .call_value("recommend", &input)
                    .map(|v| json::to_string(&v));
                assert_eq!(answer, text(typed), "case {case}: {call}");
                answered += usize::from(!answer.starts_with("error"));
            }
        }
    }
    assert_eq!(crate::engine::DIRECT_SERVED.get() - before, served);
    // Many calls served as read; others read directly but served through the general
    // path (no snapshot, a limit, experiments), and many left to the tree.
    assert!(
        served > 1_000 && read > served + 1_000 && answered > 1_500,
        "{read} read directly, {served} served as read, {answered} answered"
    );
}
