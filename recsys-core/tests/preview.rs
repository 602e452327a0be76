//! Preview on the shipped example (examples/data): a candidate rule set served next to the
//! current one, per-request diffs with the responsible rule, and the overall figures.

use recsys_core::json::{self, Value};
use recsys_core::Engine;

mod common;

fn parse(s: &str) -> Value {
    json::parse(s.as_bytes()).unwrap()
}

/// The example engine: its config and rules (pin sku-trail-jacket, boost margin:high,
/// block sku-denim-jacket).
fn engine() -> Engine {
    let e = Engine::new();
    e.call("load_snapshot", &common::example_documents(None, None, &[]))
        .unwrap();
    e
}

fn preview(e: &Engine, body: &str, roles: &str) -> Result<Value, recsys_core::ApiError> {
    e.call(
        "admin.preview",
        &format!(r#"{{"request":{{"tenant":"demo",{body}}},"ctx":{{"now":"2026-01-02T00:00:00Z","principal":{{"subject":"ops","tenant":"demo","roles":[{roles}]}}}}}}"#),
    )
    .map(|a| parse(&a))
}

fn get<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.as_object().unwrap().get(k).unwrap_or(&Value::Null)
}

fn request() -> String {
    common::read_example("request.json")
}

#[test]
fn blocking_the_pinned_item_is_attributed_to_the_block() {
    let e = engine();
    let rules = r#"[{"action":"pin","target_type":"item","item_ids":["sku-trail-jacket"],"surface":"home","priority":10},{"action":"block","item_ids":["sku-trail-jacket"],"name":"recall"},{"action":"boost","tag":"margin:none","boost_value":1}]"#;
    let a = preview(
        &e,
        &format!(r#""rules":{rules},"requests":[{}]"#, request()),
        r#""operator""#,
    )
    .unwrap();
    assert_eq!(get(&a, "served").as_f64(), Some(1.0));
    assert_eq!(get(&a, "changed").as_f64(), Some(1.0));
    let d = &get(&a, "details").as_array().unwrap()[0];
    let removed = get(d, "removed").as_array().unwrap();
    let jacket = removed
        .iter()
        .find(|x| get(x, "item_id").as_str() == Some("sku-trail-jacket"))
        .expect("the pinned jacket is removed");
    let because = &get(jacket, "because").as_array().unwrap()[0];
    assert_eq!(get(because, "rule").as_f64(), Some(1.0));
    assert_eq!(get(because, "action").as_str(), Some("BLOCK"));
    assert_eq!(get(jacket, "from_rank").as_f64(), Some(1.0));
    // The slot went to another item, added with a cause.
    assert!(!get(d, "added").as_array().unwrap().is_empty());
    // Versions on each side: same config, different rules.
    let (b, af) = (get(d, "before"), get(d, "after"));
    assert_eq!(get(b, "config_version"), get(af, "config_version"));
    assert_ne!(get(b, "rules_version"), get(af, "rules_version"));
    // The block fired; the boost of an unknown tag and the blocked pin never did.
    let fired: Vec<f64> = get(&a, "rules_fired")
        .as_array()
        .unwrap()
        .iter()
        .map(|x| get(x, "rule").as_f64().unwrap())
        .collect();
    assert_eq!(fired, vec![1.0]);
    let never: Vec<f64> = get(&a, "rules_never_fired")
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(never, vec![0.0, 2.0]);
    let overlap = get(&a, "overlap_at_k").as_f64().unwrap();
    assert!(overlap > 0.0 && overlap < 1.0, "{overlap}");
}

#[test]
fn the_same_documents_change_nothing() {
    let e = engine();
    let a = preview(
        &e,
        &format!(r#""requests":[{0},{0}]"#, request()),
        r#""operator""#,
    )
    .unwrap();
    assert_eq!(get(&a, "changed").as_f64(), Some(0.0));
    assert_eq!(get(&a, "overlap_at_k").as_f64(), Some(1.0));
    assert_eq!(get(&a, "empty_rate_before"), get(&a, "empty_rate_after"));
    assert!(get(&a, "details").as_array().unwrap().is_empty());
    // The pin and the boost fire on both requests.
    let fired = get(&a, "rules_fired").as_array().unwrap();
    assert!(
        fired
            .iter()
            .all(|x| get(x, "requests").as_f64() == Some(2.0)),
        "{fired:?}"
    );
}

#[test]
fn empty_rate_and_config_changes() {
    let e = engine();
    // Blocking every margin empties every answer.
    let rules =
        r#"[{"action":"block","tag":"margin:high"},{"action":"block","tag":"margin:medium"}]"#;
    let a = preview(
        &e,
        &format!(r#""rules":{rules},"requests":[{}]"#, request()),
        r#""operator""#,
    )
    .unwrap();
    assert_eq!(get(&a, "empty_rate_before").as_f64(), Some(0.0));
    assert_eq!(get(&a, "empty_rate_after").as_f64(), Some(1.0));
    assert_eq!(get(&a, "overlap_at_k").as_f64(), Some(0.0));
    // A config change (weights) is named as the setting responsible.
    let config = r#"{"algo":"blend","weights":{"pop":0,"cooc":1,"emb":0},"limits":{"max_k":100,"max_pins":2}}"#;
    let a = preview(
        &e,
        &format!(r#""config":{config},"requests":[{}]"#, request()),
        r#""operator""#,
    )
    .unwrap();
    let d = &get(&a, "details").as_array().unwrap()[0];
    let all: Vec<&Value> = ["added", "removed", "moved"]
        .iter()
        .flat_map(|k| get(d, k).as_array().unwrap().iter())
        .collect();
    assert!(!all.is_empty());
    assert!(all
        .iter()
        .any(|x| json::to_string(get(x, "because")).contains("\"setting\":\"config\"")));
}

#[test]
fn requests_from_exposure_events() {
    let e = engine();
    let rules = r#"[{"action":"block","item_ids":["sku-trail-jacket"]}]"#;
    let ev = format!(
        r#"{{"schema_version":"v1","timestamp":"2026-01-02T00:00:00Z","request_id":"abc","request":{}}}"#,
        request()
    );
    let a = preview(
        &e,
        &format!(r#""rules":{rules},"exposures":[{ev}]"#),
        r#""operator""#,
    )
    .unwrap();
    assert_eq!(get(&a, "changed").as_f64(), Some(1.0));
    let d = &get(&a, "details").as_array().unwrap()[0];
    assert_eq!(get(d, "request_id").as_str(), Some("abc"));
    // An event without its request is refused with a clear message.
    let err = preview(&e, r#""exposures":[{"request_id":"x"}]"#, r#""operator""#).unwrap_err();
    assert_eq!(err.code, "RECSYS_INVALID_REQUEST");
    assert!(
        err.message.contains("no \"request\" member"),
        "{}",
        err.message
    );
}

#[test]
fn preview_needs_write_access_and_valid_input() {
    let e = engine();
    let err = preview(&e, &format!(r#""requests":[{}]"#, request()), r#""viewer""#).unwrap_err();
    assert_eq!(err.code, "RECSYS_FORBIDDEN");
    let err = preview(&e, r#""requestz":[]"#, r#""operator""#).unwrap_err();
    assert!(err.message.contains("\"requestz\""), "{}", err.message);
    let err = preview(&e, r#""surface":"home""#, r#""operator""#).unwrap_err();
    assert_eq!(err.code, "RECSYS_INVALID_REQUEST");
    // A bad request is counted as failed, not fatal.
    let a = preview(
        &e,
        r#""requests":[{"surface":"home","k":0}]"#,
        r#""operator""#,
    )
    .unwrap();
    assert_eq!(get(&a, "failed").as_f64(), Some(1.0));
    // No snapshot for the tenant: 404.
    let fresh = Engine::new();
    let err = preview(&fresh, r#""requests":[]"#, r#""operator""#).unwrap_err();
    assert_eq!(err.code, "RECSYS_SNAPSHOT_NOT_FOUND");
}

fn drained(e: &Engine) -> Vec<Value> {
    let req = common::read_example("request.json");
    for id in ["r1", "r2"] {
        e.call(
            "recommend",
            &format!(r#"{{"request":{req},"ctx":{{"now":"2026-01-02T00:00:00Z","tenant":"demo","request_id":"{id}"}}}}"#),
        )
        .unwrap();
    }
    let d = json::parse(e.call("exposure_drain", "{}").unwrap().as_bytes()).unwrap();
    get(&d, "events").as_array().unwrap().to_vec()
}

#[test]
fn recorded_exposures_replay_through_preview() {
    let e =
        Engine::with_options_json(r#"{"exposure":{"hash_subjects":false,"include_request":true}}"#)
            .unwrap();
    e.call("load_snapshot", &common::example_documents(None, None, &[]))
        .unwrap();
    let events = drained(&e);
    assert_eq!(events.len(), 2);
    let recorded = get(&events[0], "request");
    assert_eq!(
        get(get(recorded, "user"), "user_id").as_str(),
        Some("u_fitness")
    );
    let body = format!(
        r#""rules":[{{"action":"block","item_ids":["sku-trail-jacket"]}}],"exposures":{}"#,
        json::to_string(&Value::Array(events))
    );
    let a = preview(&e, &body, r#""operator""#).unwrap();
    assert_eq!(get(&a, "served").as_f64(), Some(2.0));
    assert_eq!(get(&a, "changed").as_f64(), Some(2.0));
    let ids: Vec<&str> = get(&a, "details")
        .as_array()
        .unwrap()
        .iter()
        .map(|d| get(d, "request_id").as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["r1", "r2"]);

    // With hashed subjects the recorded request carries the hash, never the raw id; without
    // the option there is no request at all.
    let hashed =
        Engine::with_options_json(r#"{"exposure":{"salt":"s3cret","include_request":true}}"#)
            .unwrap();
    hashed
        .call("load_snapshot", &common::example_documents(None, None, &[]))
        .unwrap();
    let ev = drained(&hashed);
    let text = json::to_string(&ev[0]);
    assert!(!text.contains("u_fitness"), "{text}");
    let user = get(get(&ev[0], "request"), "user");
    assert_eq!(get(user, "user_id").as_str().map(str::len), Some(64));
    let plain = Engine::with_options_json(r#"{"exposure":{"hash_subjects":false}}"#).unwrap();
    plain
        .call("load_snapshot", &common::example_documents(None, None, &[]))
        .unwrap();
    assert!(get(&drained(&plain)[0], "request").is_null());
}

/// A preview larger than one chunk of work (`PREVIEW_CHUNK`) is served on several threads:
/// the answer is the one a single pass gives (every request counted once, details in request
/// order and cut at `max_details`), and the same input gives the same bytes every time.
#[test]
fn chunked_previews_count_every_request_once_and_keep_request_order() {
    // The chunk size of recsys-core/src/preview.rs (an internal constant).
    const PREVIEW_CHUNK: usize = 256;
    let e = engine();
    // The example's rules plus a block of the jacket they pin.
    let current = common::read_example("rules.json");
    let rules = format!(
        r#"{},{{"action":"block","item_ids":["sku-trail-jacket"]}}]"#,
        current.trim().trim_end_matches(']')
    );
    let unchanged = r#"{"surface":"home","k":5,"user":{"user_id":"nobody"},"candidates":{"exclude_ids":["sku-trail-jacket"]}}"#;
    // Every third request is one the block changes; the rest are answered the same.
    let n = PREVIEW_CHUNK * 2 + 7;
    let reqs: Vec<String> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                request()
            } else {
                unchanged.to_string()
            }
        })
        .collect();
    let body = format!(
        r#""rules":{rules},"max_details":300,"requests":[{}]"#,
        reqs.join(",")
    );
    let a = preview(&e, &body, r#""operator""#).unwrap();
    assert_eq!(get(&a, "served").as_f64(), Some(n as f64));
    let changed = n.div_ceil(3);
    assert_eq!(get(&a, "changed").as_f64(), Some(changed as f64));
    let details = get(&a, "details").as_array().unwrap();
    assert_eq!(details.len(), 300.min(changed));
    let indexes: Vec<f64> = details
        .iter()
        .map(|d| get(d, "index").as_f64().unwrap())
        .collect();
    let want: Vec<f64> = (0..n).step_by(3).take(300).map(|i| i as f64).collect();
    assert_eq!(indexes, want);
    let block = parse(&current).as_array().unwrap().len() as f64;
    let fired = get(&a, "rules_fired").as_array().unwrap();
    let by_block = fired
        .iter()
        .find(|f| get(f, "rule").as_f64() == Some(block))
        .expect("the block fired");
    assert_eq!(get(by_block, "requests").as_f64(), Some(changed as f64));
    let again = preview(&e, &body, r#""operator""#).unwrap();
    assert_eq!(json::to_string(&a), json::to_string(&again));
}
