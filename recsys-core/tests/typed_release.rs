//! Releases and previews on the typed `Admin` API: the typed calls and the JSON operations
//! give the same bytes (the JSON handlers only convert), and their inputs are read by the
//! strict decoder (unknown members, wrong types, the pin bound).

mod common;

use recsys_core::engine::{
    ChangeCause, PreviewDetail, PreviewRequest, ReleaseRequest, ReleaseRollback,
};
use recsys_core::json::{self, to_text, Value};
use recsys_core::{ApiError, Context, Engine, Principal, RecommendRequest, Timestamp, User};

const CTX: &str = r#""ctx":{"now":"2026-01-02T00:00:00Z","request_id":"r1","principal":{"subject":"ops","tenant":"demo","roles":["operator"]}}"#;
const CONFIG: &str = r#"{"limits":{"max_pins":2}}"#;
const RULES: &str = r#"[{"action":"block","item_ids":["sku-backpack"]},{"action":"pin","item_ids":["sku-yoga-mat"]}]"#;

fn engine() -> Engine {
    let e = Engine::new();
    e.call("load_snapshot", &common::example_documents(None, None, &[]))
        .unwrap();
    e
}

fn ctx() -> Context {
    Context::new(
        Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap(),
        "demo",
    )
    .request_id("r1")
    .actor(Principal::new("ops", "demo", ["operator"]))
}

fn call(e: &Engine, op: &str, request: &str) -> Result<String, ApiError> {
    e.call(op, &format!(r#"{{"request":{request},{CTX}}}"#))
}

/// The example's manifest text.
fn manifest() -> String {
    common::read_example("manifest.json")
}

#[test]
fn typed_releases_answer_the_bytes_of_the_json_operations() {
    let (by_json, typed) = (engine(), engine());
    let admin = typed.admin();

    let request = format!(
        r#"{{"tenant":"demo","config":{CONFIG},"rules":{},"artifacts":{{"home":{}}},"comment":"c1"}}"#,
        json::to_string(&Value::str(RULES)),
        json::to_string(&Value::str(manifest()))
    );
    let a = call(&by_json, "admin.release", &request).unwrap();
    let req = ReleaseRequest::new()
        .config(CONFIG)
        .rules(RULES)
        .pin("home", manifest())
        .comment("c1");
    let report = admin.publish_release(&ctx(), &req).unwrap();
    assert_eq!(to_text(&report).unwrap(), a);
    assert!(report.changed && report.recompiled.is_some());
    assert_eq!(report.artifacts_applied.len(), 1, "{a}");

    let a = call(&by_json, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    let current = admin.release(&ctx()).unwrap();
    assert_eq!(current.id, report.release.id);
    // The JSON answer is the release's wire form behind the tenant.
    let typed_text = to_text(&current).unwrap();
    assert_eq!(a, format!(r#"{{"tenant_id":"demo",{}"#, &typed_text[1..]));

    // The same release again changes nothing: no entry, nothing recompiled.
    let a = call(&by_json, "admin.release", &request).unwrap();
    let again = admin.publish_release(&ctx(), &req).unwrap();
    assert_eq!(to_text(&again).unwrap(), a);
    assert!(!again.changed && again.recompiled.is_none() && again.audit_id.is_none());

    let a = call(
        &by_json,
        "admin.rollback_release",
        r#"{"tenant":"demo","comment":"back"}"#,
    )
    .unwrap();
    let back = admin
        .rollback_release(&ctx(), &ReleaseRollback::new().comment("back"))
        .unwrap();
    assert_eq!(to_text(&back).unwrap(), a);
    assert_eq!(back.from_release_id, report.release.id);
}

#[test]
fn a_typed_preview_answers_the_bytes_of_the_json_operation() {
    let (by_json, typed) = (engine(), engine());
    let request = common::read_example("request.json");
    let input = format!(
        r#"{{"tenant":"demo","rules":{RULES},"requests":[{request},{{"surface":"nope"}}],"max_details":5}}"#
    );
    let a = call(&by_json, "admin.preview", &input).unwrap();
    let req = PreviewRequest::new()
        .rules(RULES)
        .request_json(json::parse(request.as_bytes()).unwrap())
        .request_json(json::parse(br#"{"surface":"nope"}"#).unwrap())
        .max_details(5);
    let report = typed.admin().preview(&ctx(), &req).unwrap();
    assert_eq!(to_text(&report).unwrap(), a);
    // The second request names no user: both sides refuse it, it is counted and listed.
    assert_eq!(
        (report.requests, report.served, report.failed),
        (2, 1, 1),
        "{a}"
    );
    assert_eq!(report.changed, 1, "{a}");
    assert_eq!(report.rules_fired.len(), 2, "{a}");
    // The details are typed: the block removed the backpack, the refused request is listed.
    let PreviewDetail::Changed(changed) = &report.details[0] else {
        panic!("{a}")
    };
    let backpack = changed
        .removed
        .iter()
        .find(|c| c.item_id == "sku-backpack")
        .expect("the blocked item is removed");
    let [ChangeCause::Rule {
        rule: 0,
        action,
        candidate: true,
        ..
    }] = &backpack.because[..]
    else {
        panic!("{a}")
    };
    assert_eq!(action.to_string(), "BLOCK");
    let PreviewDetail::Failed(failed) = &report.details[1] else {
        panic!("{a}")
    };
    assert_eq!(failed.index, 1);
    let error = failed.after_error.as_ref().unwrap();
    assert_eq!(error.code, "RECSYS_UNPROCESSABLE_ENTITY");

    // A typed request is the wire request it stands for.
    let r = RecommendRequest::new("home", User::id("u1")).k(3);
    let typed_req = PreviewRequest::new().rules(RULES).request(&r);
    let wire = PreviewRequest::new().rules(RULES).request_json(
        json::parse(r#"{"surface":"home","user":{"user_id":"u1"},"k":3}"#.as_bytes()).unwrap(),
    );
    let (x, y) = (
        typed.admin().preview(&ctx(), &typed_req).unwrap(),
        typed.admin().preview(&ctx(), &wire).unwrap(),
    );
    assert_eq!(to_text(&x).unwrap(), to_text(&y).unwrap());
}

#[test]
fn release_inputs_are_read_by_the_strict_decoder() {
    let e = engine();
    let refused = |op: &str, input: &str| {
        let err = call(&e, op, input).unwrap_err();
        assert_eq!(
            (err.code, err.status),
            ("RECSYS_INVALID_REQUEST", 400),
            "{input}"
        );
        err.message
    };
    assert_eq!(
        refused("admin.release", r#"{"tenant":"demo","rulez":[]}"#),
        r#"unknown member "rulez"; expected one of tenant, config, rules, artifacts, if_match, comment"#
    );
    assert_eq!(
        refused(
            "admin.release",
            r#"{"tenant":"demo","rules":[],"if_match":7}"#
        ),
        "if_match must be a string, got number"
    );
    assert_eq!(
        refused("admin.release", r#"{"tenant":"demo","artifacts":[]}"#),
        "artifacts must be an object of surface -> manifest (or null to unpin)"
    );
    assert_eq!(
        refused("admin.rollback_release", r#"{"tenant":"demo","to":1}"#),
        "to must be a string, got number"
    );
    assert_eq!(
        refused("admin.get_release", r#"{"tenant":" "}"#),
        r#"missing member "tenant""#
    );
    assert_eq!(
        refused("admin.get_release", r#"{"tenant":"demo","x":1}"#),
        r#"unknown member "x"; expected one of tenant"#
    );
    assert_eq!(
        refused("admin.release", "[]"),
        "input must be a json object"
    );
    // Nothing was stored by any of them.
    assert!(call(&e, "admin.get_rules", r#"{"tenant":"demo"}"#).is_err());
}

#[test]
fn preview_inputs_are_read_by_the_strict_decoder() {
    let e = engine();
    let refused = |input: &str| {
        let err = call(&e, "admin.preview", input).unwrap_err();
        assert_eq!(err.code, "RECSYS_INVALID_REQUEST", "{input}");
        err.message
    };
    assert_eq!(
        refused(r#"{"tenant":"demo","requestz":[]}"#),
        r#"unknown member "requestz"; expected one of tenant, surface, config, rules, requests, exposures, max_details"#
    );
    assert_eq!(
        refused(r#"{"tenant":"demo","requests":{}}"#),
        "requests must be an array, got object"
    );
    assert_eq!(
        refused(r#"{"tenant":"demo","requests":[],"max_details":-1}"#),
        "max_details must be a non-negative integer, got -1"
    );
    assert_eq!(
        refused(r#"{"tenant":"demo","surface":3,"requests":[]}"#),
        "surface must be a string, got number"
    );
    // Decoding comes before access: a viewer's malformed input is told what is wrong.
    let viewer = r#""ctx":{"now":"2026-01-02T00:00:00Z","principal":{"subject":"v","tenant":"demo","roles":["viewer"]}}"#;
    let err = e
        .call(
            "admin.preview",
            &format!(r#"{{"request":{{"tenant":"demo","requests":[]}},{viewer}}}"#),
        )
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_FORBIDDEN");
}

#[test]
fn a_typed_release_over_the_pin_bound_is_refused_before_any_manifest_is_read() {
    let e = engine();
    let mut req = ReleaseRequest::new().rules(RULES);
    for i in 0..65 {
        // Not manifests at all: the bound is checked first.
        req = req.pin(format!("s{i}"), "not json");
    }
    let err = e.admin().publish_release(&ctx(), &req).unwrap_err();
    assert_eq!(err.code, "RECSYS_INVALID_REQUEST");
    assert_eq!(err.message, "a release pins at most 64 surfaces, got 65");
    let err = e
        .admin()
        .publish_release(&ctx(), &ReleaseRequest::new())
        .unwrap_err();
    assert!(err.message.contains("needs"), "{}", err.message);
    let err = e
        .admin()
        .publish_release(&ctx(), &ReleaseRequest::new().rules(RULES).pin(" ", "{}"))
        .unwrap_err();
    assert_eq!(err.message, "artifacts names an empty surface");
    // Nothing was stored.
    assert!(e.admin().release(&ctx()).unwrap().rules_version.is_none());
}
