//! Lint: every finding code on the shipped example catalog (examples/data), the `lint`
//! operation, findings on admin writes, strict mode refusing error-level findings, and cost
//! that grows linearly with the rule count.

use crate::json::{self, Value};
use crate::lint::codes;
use crate::Engine;

use super::common;

fn parse(s: &str) -> Value {
    json::parse(s.as_bytes()).unwrap()
}

fn engine_with(options: &str, config: &str, drop: &[&str]) -> Engine {
    let e = Engine::with_options_json(options).unwrap();
    e.call(
        "load_snapshot",
        &common::example_documents(Some(config), Some("[]"), drop),
    )
    .unwrap();
    e
}

const CONFIG: &str = r#"{"limits":{"max_pins":2}}"#;

/// Lints `rules` (and optionally a config) for tenant demo; returns the findings.
fn lint_on(e: &Engine, config: Option<&str>, rules: &str) -> Vec<Value> {
    let cfg = config
        .map(|c| format!(",\"config\":{c}"))
        .unwrap_or_default();
    let a = e
        .call(
            "lint",
            &format!(r#"{{"tenant":"demo","now":"2026-01-02T00:00:00Z","rules":{rules}{cfg}}}"#),
        )
        .unwrap();
    let a = parse(&a);
    a.as_object()
        .unwrap()
        .get("findings")
        .unwrap()
        .as_array()
        .unwrap()
        .to_vec()
}

fn lint(rules: &str) -> Vec<Value> {
    lint_on(&engine_with("{}", CONFIG, &[]), None, rules)
}

fn get<'a>(f: &'a Value, k: &str) -> &'a Value {
    f.as_object().unwrap().get(k).unwrap_or(&Value::Null)
}

/// The findings with `code`, as (severity, rule indexes).
fn with_code(findings: &[Value], code: &str) -> Vec<(String, Vec<u64>)> {
    findings
        .iter()
        .filter(|f| get(f, "code").as_str() == Some(code))
        .map(|f| {
            (
                get(f, "severity").as_str().unwrap().to_string(),
                get(f, "rules")
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as u64)
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn clean_rules_have_no_findings() {
    let f = lint(
        r#"[{"action":"pin","item_ids":["sku-trail-jacket"]},{"action":"block","target_type":"brand","key":"roastlab"},{"action":"boost","tag":"margin:high","boost_value":0.5}]"#,
    );
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn pin_blocked_by_item_and_through_a_brand() {
    let f = lint(
        r#"[{"action":"pin","item_ids":["sku-trail-jacket"],"priority":10},{"action":"block","target_type":"brand","key":"northline","priority":-5}]"#,
    );
    assert_eq!(
        with_code(&f, codes::RULES_PIN_BLOCKED),
        vec![("error".into(), vec![0, 1])]
    );
    // One of two pinned items blocked: a warning naming both rules.
    let f = lint(
        r#"[{"action":"block","item_ids":["sku-yoga-mat"]},{"action":"pin","item_ids":["sku-yoga-mat","sku-backpack"]}]"#,
    );
    assert_eq!(
        with_code(&f, codes::RULES_PIN_BLOCKED),
        vec![("warning".into(), vec![1, 0])]
    );
    // Disjoint scopes never meet: no finding.
    let f = lint(
        r#"[{"action":"pin","item_ids":["sku-yoga-mat"],"surface":"home"},{"action":"block","item_ids":["sku-yoga-mat"],"surface":"pdp"}]"#,
    );
    assert!(with_code(&f, codes::RULES_PIN_BLOCKED).is_empty());
}

#[test]
fn shadowed_boosts_blocks_and_pins() {
    // A boost whose only target an unscoped block always removes.
    let f = lint(
        r#"[{"action":"boost","tag":"margin:high","boost_value":1},{"action":"block","tag":"margin:high"}]"#,
    );
    assert_eq!(
        with_code(&f, codes::RULES_SHADOWED),
        vec![("warning".into(), vec![0, 1])]
    );
    // A scoped block inside an unscoped block of the same target.
    let f = lint(
        r#"[{"action":"block","item_ids":["sku-yoga-mat","sku-backpack"],"priority":3},{"action":"block","item_ids":["sku-yoga-mat"],"surface":"home"}]"#,
    );
    assert_eq!(
        with_code(&f, codes::RULES_SHADOWED),
        vec![("warning".into(), vec![1, 0])]
    );
    // Two higher-priority pins fill max_pins 2; the third never pins.
    let f = lint(
        r#"[{"action":"pin","item_ids":["sku-yoga-mat","sku-backpack"],"priority":9},{"action":"pin","item_ids":["sku-coffee-beans"],"priority":1}]"#,
    );
    assert_eq!(
        with_code(&f, codes::RULES_SHADOWED),
        vec![("warning".into(), vec![1, 0])]
    );
    // A boost of an item the block does not name is not shadowed.
    let f = lint(
        r#"[{"action":"boost","item_ids":["sku-backpack"],"boost_value":1},{"action":"block","item_ids":["sku-yoga-mat"]}]"#,
    );
    assert!(with_code(&f, codes::RULES_SHADOWED).is_empty());
}

#[test]
fn expired_and_not_yet_active_windows() {
    let f = lint(
        r#"[{"action":"block","item_ids":["sku-yoga-mat"],"valid_until":"2025-06-01T00:00:00Z"},{"action":"block","item_ids":["sku-backpack"],"valid_from":"2027-03-01T00:00:00Z"}]"#,
    );
    assert_eq!(
        with_code(&f, codes::RULES_EXPIRED),
        vec![("warning".into(), vec![0])]
    );
    assert_eq!(
        with_code(&f, codes::RULES_NOT_YET_ACTIVE),
        vec![("warning".into(), vec![1])]
    );
    let later = f
        .iter()
        .find(|x| get(x, "code").as_str() == Some(codes::RULES_NOT_YET_ACTIVE))
        .unwrap();
    assert_eq!(
        get(later, "starts_at").as_str(),
        Some("2027-03-01T00:00:00Z")
    );
}

#[test]
fn unknown_targets() {
    let f = lint(
        r#"[{"action":"pin","item_ids":["sku-nope"]},{"action":"boost","tag":"margin:none","boost_value":1},{"action":"block","target_type":"brand","key":"acme"},{"action":"block","item_ids":["sku-nope","sku-backpack"]}]"#,
    );
    assert_eq!(
        with_code(&f, codes::RULES_UNKNOWN_TARGET),
        vec![
            ("error".into(), vec![0]),
            ("error".into(), vec![1]),
            ("error".into(), vec![2]),
            ("warning".into(), vec![3]),
        ]
    );
}

#[test]
fn pins_over_budget() {
    let f = lint(
        r#"[{"action":"pin","item_ids":["sku-yoga-mat"],"priority":3},{"action":"pin","item_ids":["sku-backpack"],"priority":2},{"action":"pin","item_ids":["sku-coffee-beans"],"priority":1}]"#,
    );
    assert_eq!(
        with_code(&f, codes::RULES_PIN_OVER_BUDGET),
        vec![("warning".into(), vec![0, 1, 2])]
    );
    // Rule-level max_pins counts: 1 + 1 fits a budget of 2.
    let f = lint(
        r#"[{"action":"pin","item_ids":["sku-yoga-mat","sku-backpack"],"max_pins":1},{"action":"pin","item_ids":["sku-coffee-beans"]}]"#,
    );
    assert!(
        with_code(&f, codes::RULES_PIN_OVER_BUDGET).is_empty(),
        "{f:?}"
    );
}

#[test]
fn duplicates() {
    let f = lint(
        r#"[{"action":"block","item_ids":["sku-yoga-mat"],"name":"a"},{"action":"boost","tag":"margin:high","boost_value":1},{"action":"block","item_ids":["sku-yoga-mat"],"name":"b"}]"#,
    );
    assert_eq!(
        with_code(&f, codes::RULES_DUPLICATE),
        vec![("warning".into(), vec![2, 0])]
    );
}

#[test]
fn caps_unsatisfiable_and_satisfiable() {
    let e = engine_with("{}", CONFIG, &[]);
    // 6 categories: a cap of 1 lets 6 of 8 items through, below the default k of 20.
    let f = lint_on(&e, Some(r#"{"diversity":{"category_cap":1}}"#), "[]");
    let c = with_code(&f, codes::CONFIG_CAPS_UNSATISFIABLE);
    assert_eq!(c, vec![("error".into(), vec![])]);
    // A cap of 2 admits every item: the catalog, not the cap, is the limit.
    let f = lint_on(
        &e,
        Some(r#"{"diversity":{"category_cap":2,"brand_cap":2}}"#),
        "[]",
    );
    assert!(
        with_code(&f, codes::CONFIG_CAPS_UNSATISFIABLE).is_empty(),
        "{f:?}"
    );
    // Per-surface overrides are checked with their own path.
    let f = lint_on(
        &e,
        Some(r#"{"surfaces":{"pdp":{"diversity":{"brand_cap":1}}}}"#),
        "[]",
    );
    let one = f
        .iter()
        .find(|x| get(x, "code").as_str() == Some(codes::CONFIG_CAPS_UNSATISFIABLE))
        .unwrap();
    assert_eq!(
        get(one, "path").as_str(),
        Some("$.surfaces.pdp.diversity.brand_cap")
    );
    assert_eq!(get(one, "surface").as_str(), Some("pdp"));
}

#[test]
fn weight_without_signal() {
    let e = engine_with("{}", CONFIG, &["cooc"]);
    let f = lint_on(
        &e,
        Some(r#"{"weights":{"pop":1,"cooc":0.5,"emb":0}}"#),
        "[]",
    );
    let w: Vec<&str> = f
        .iter()
        .filter(|x| get(x, "code").as_str() == Some(codes::CONFIG_WEIGHT_WITHOUT_SIGNAL))
        .map(|x| get(x, "path").as_str().unwrap())
        .collect();
    assert_eq!(w, vec!["$.weights.cooc"]);
    // With the artifact present there is nothing to say.
    let e = engine_with("{}", CONFIG, &[]);
    let f = lint_on(
        &e,
        Some(r#"{"weights":{"pop":1,"cooc":0.5,"emb":0}}"#),
        "[]",
    );
    assert!(with_code(&f, codes::CONFIG_WEIGHT_WITHOUT_SIGNAL).is_empty());
}

#[test]
fn every_code_is_tested_here() {
    let src = include_str!("lint.rs");
    for code in codes::ALL {
        let name = code
            .trim_start_matches("RULES_")
            .trim_start_matches("CONFIG_");
        assert!(
            src.contains(&format!("codes::{code}")),
            "{name} has no test"
        );
    }
}

fn admin(e: &Engine, op: &str, request: &str) -> Result<Value, crate::ApiError> {
    e.call(
        op,
        &format!(r#"{{"request":{request},"ctx":{{"now":"2026-01-02T00:00:00Z","request_id":"r1","principal":{{"subject":"ops","tenant":"demo","roles":["admin"]}}}}}}"#),
    )
    .map(|a| parse(&a))
}

const BAD_RULES: &str = r#"[{"action":"pin","item_ids":["sku-trail-jacket"]},{"action":"block","target_type":"brand","key":"northline"}]"#;

#[test]
fn writes_report_findings_and_strict_mode_refuses_errors() {
    let e = engine_with("{}", CONFIG, &[]);
    let a = admin(
        &e,
        "admin.put_rules",
        &format!(r#"{{"tenant":"demo","document":{BAD_RULES}}}"#),
    )
    .unwrap();
    let lint = get(&a, "lint").as_array().unwrap();
    assert_eq!(with_code(lint, codes::RULES_PIN_BLOCKED).len(), 1);
    assert_eq!(get(&a, "changed").as_bool(), Some(true));

    let strict = engine_with(r#"{"lint_strict":true}"#, CONFIG, &[]);
    let err = admin(
        &strict,
        "admin.put_rules",
        &format!(r#"{{"tenant":"demo","document":{BAD_RULES}}}"#),
    )
    .unwrap_err();
    assert_eq!(err.code, "RECSYS_LINT_FAILED");
    assert_eq!(err.status, 422);
    assert_eq!(err.problems[0].code, codes::RULES_PIN_BLOCKED);
    // Nothing was stored.
    let got = admin(&strict, "admin.get_rules", r#"{"tenant":"demo"}"#);
    assert!(got.is_err(), "{got:?}");
    // Warnings alone pass in strict mode and are reported.
    let ok = admin(&strict, "admin.put_rules", r#"{"tenant":"demo","document":[{"action":"block","item_ids":["sku-yoga-mat"],"valid_from":"2027-01-01T00:00:00Z"}]}"#).unwrap();
    assert_eq!(
        with_code(
            get(&ok, "lint").as_array().unwrap(),
            codes::RULES_NOT_YET_ACTIVE
        )
        .len(),
        1
    );
    // Config writes are linted too.
    let err = admin(
        &strict,
        "admin.put_config",
        r#"{"tenant":"demo","document":{"diversity":{"brand_cap":1}}}"#,
    )
    .unwrap_err();
    assert_eq!(err.problems[0].code, codes::CONFIG_CAPS_UNSATISFIABLE);
}

#[test]
fn strict_lint_does_not_leak_findings_to_callers_without_write_access() {
    let strict = engine_with(r#"{"lint_strict":true}"#, CONFIG, &[]);
    let err = strict
        .call(
            "admin.put_rules",
            &format!(r#"{{"request":{{"tenant":"demo","document":{BAD_RULES}}},"ctx":{{"now":"2026-01-02T00:00:00Z","principal":{{"subject":"v","tenant":"demo","roles":["viewer"]}}}}}}"#),
        )
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_FORBIDDEN");
}

#[test]
fn lint_without_a_catalog_still_checks_windows_and_duplicates() {
    let e = Engine::new();
    let f = lint_on(
        &e,
        None,
        r#"[{"action":"block","item_ids":["x"],"valid_until":"2020-01-01"},{"action":"block","item_ids":["x"],"valid_until":"2020-01-01"}]"#,
    );
    assert_eq!(with_code(&f, codes::RULES_EXPIRED).len(), 2);
    assert_eq!(with_code(&f, codes::RULES_DUPLICATE).len(), 1);
    assert!(with_code(&f, codes::RULES_UNKNOWN_TARGET).is_empty());
}

#[test]
fn lint_rejects_unknown_members_and_bad_documents() {
    let e = Engine::new();
    let err = e
        .call(
            "lint",
            r#"{"tenant":"demo","now":"2026-01-02T00:00:00Z","rulez":[]}"#,
        )
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_INVALID_REQUEST");
    assert!(err.message.contains("\"rulez\""));
    let err = e
        .call(
            "lint",
            r#"{"tenant":"demo","now":"2026-01-02T00:00:00Z","config":{"algo":"nope"}}"#,
        )
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_INVALID_CONFIG");
}

/// Lint work grows linearly with the rule count: 10x the rules (pins, blocks of the same
/// items, boosts) costs about 10x, not 100x (`tests::scaling`: fastest runs, generous bound).
#[test]
fn cost_grows_linearly_with_rules() {
    let e = engine_with("{}", CONFIG, &[]);
    let rules = |n: usize| -> String {
        let v: Vec<String> = (0..n)
            .map(|i| match i % 3 {
                0 => format!(r#"{{"action":"pin","item_ids":["sku-{i}"],"priority":{i}}}"#),
                1 => format!(r#"{{"action":"block","item_ids":["sku-{}"]}}"#, i - 1),
                _ => format!(
                    r#"{{"action":"boost","tag":"margin:high","boost_value":0.{}}}"#,
                    i % 9 + 1
                ),
            })
            .collect();
        format!("[{}]", v.join(","))
    };
    let findings = |n: usize| lint_on(&e, None, &rules(n)).len();
    let (fs, fl) = (findings(600), findings(6000));
    assert!(fl >= fs * 9, "findings {fs} -> {fl}");
    crate::tests::scaling::assert_scales_linearly("lint", 600, |n| {
        std::hint::black_box(findings(n));
    });
}

/// The catalog statistics lint needs (per-tag item counts, brand/category sizes) are built
/// once per shared tag index, not on every write: two rules writes lint against the same
/// counts, and the snapshots they compile share the tag index that holds them.
#[test]
fn writes_reuse_the_catalog_counts_kept_with_the_shared_tag_index() {
    let e = engine_with("{}", CONFIG, &[]);
    let before = e.snapshot("demo", "home").unwrap().snapshot;
    assert!(
        !before.tag_index.counts_built(),
        "nothing has linted against the catalog yet"
    );
    let put = |rules: &str| {
        let a = admin(
            &e,
            "admin.put_rules",
            &format!(r#"{{"tenant":"demo","document":{rules}}}"#),
        )
        .unwrap();
        assert!(get(&a, "lint").as_array().is_some(), "{a:?}");
    };
    put(r#"[{"action":"block","target_type":"brand","key":"roastlab"}]"#);
    assert!(
        before.tag_index.counts_built(),
        "the write's lint used the tag index's cached counts"
    );
    let first = before.tag_index.counts() as *const _;
    put(r#"[{"action":"block","target_type":"brand","key":"nosuchbrand"}]"#);
    let after = e.snapshot("demo", "home").unwrap().snapshot;
    assert!(std::sync::Arc::ptr_eq(&before.tag_index, &after.tag_index));
    assert_eq!(after.tag_index.counts() as *const _, first);
    // The counts are right: the example catalog's brands add up to the items with a brand.
    let c = after.tag_index.counts();
    let branded: usize = c.brand_sizes.iter().sum();
    assert_eq!(branded + c.no_brand, after.catalog_len());
    assert!(!c.brand_sizes.is_empty());
}

/// `validate` reports the lint findings of the documents serving the tenant (against the
/// surface's catalog) next to the request's warnings; clean documents add nothing, so an
/// answer without findings is byte-for-byte what it was.
#[test]
fn validate_reports_the_served_documents_findings() {
    let validate = |e: &Engine| {
        let a = e
            .call(
                "validate",
                r#"{"request":{"surface":"home","k":5,"user":{"user_id":"u1"}},"ctx":{"now":"2026-01-02T00:00:00Z","tenant":"demo"}}"#,
            )
            .unwrap();
        parse(&a)
    };
    let clean = engine_with("{}", CONFIG, &[]);
    let a = validate(&clean);
    assert!(get(&a, "lint").is_null(), "{a:?}");
    assert!(get(&a, "normalized_request").as_object().is_some());

    let e = engine_with("{}", CONFIG, &[]);
    let rules = r#"[{"action":"block","item_ids":["sku-yoga-mat"],"valid_until":"2025-06-01T00:00:00Z"},{"action":"boost","item_ids":["sku-no-such-item"],"boost_value":0.5}]"#;
    admin(
        &e,
        "admin.put_rules",
        &format!(r#"{{"tenant":"demo","document":{rules}}}"#),
    )
    .unwrap();
    let a = validate(&e);
    let f = get(&a, "lint").as_array().expect("lint findings").to_vec();
    assert_eq!(
        with_code(&f, codes::RULES_EXPIRED),
        vec![("warning".into(), vec![0])]
    );
    assert_eq!(with_code(&f, codes::RULES_UNKNOWN_TARGET).len(), 1, "{f:?}");
    // A write that fixes the documents clears them.
    let put = admin(&e, "admin.put_rules", r#"{"tenant":"demo","document":[]}"#).unwrap();
    assert_eq!(get(&put, "lint").as_array().map(|l| l.len()), Some(0));
    assert!(get(&validate(&e), "lint").is_null());
    // A rollback is a write too: it reports the findings of what it restored.
    let back = admin(&e, "admin.rollback", r#"{"tenant":"demo","kind":"rules"}"#).unwrap();
    let f = get(&back, "lint")
        .as_array()
        .expect("rollback lint")
        .to_vec();
    assert_eq!(with_code(&f, codes::RULES_EXPIRED).len(), 1, "{back:?}");
    let again = get(&validate(&e), "lint").as_array().unwrap().to_vec();
    assert_eq!(with_code(&again, codes::RULES_EXPIRED).len(), 1);
}
