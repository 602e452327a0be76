//! Operations wired into serving: experiment variants in meta and applied per variant,
//! exposure events drained from the engine, request and loader metrics in Prometheus text.

use crate::json::{parse, to_string, Value};
use crate::Engine;

const DOCS: &str = r#"{"tenant":"demo","surface":"home",
  "rules":[{"action":"pin","item_ids":["c"]}],
  "signals":{"popularity":[{"item_id":"a","score":3},{"item_id":"b","score":2},{"item_id":"c","score":1}]}}"#;

fn call(e: &Engine, user: &str, experiment: &str) -> Value {
    let rid = user.len();
    let input = format!(
        r#"{{"request":{{"surface":"home","k":3,"user":{{"user_id":"{user}"}}{experiment}}},"ctx":{{"now":"2026-01-01T00:00:00Z","tenant":"demo","request_id":"req-{rid}"}}}}"#
    );
    parse(e.call("recommend", &input).unwrap().as_bytes()).unwrap()
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| {
        v.as_object()
            .unwrap()
            .get(k)
            .unwrap_or_else(|| panic!("no {k} in {}", to_string(v)))
    })
}

fn first(v: &Value) -> String {
    get(v, &["items"]).as_array().unwrap()[0]
        .as_object()
        .unwrap()
        .get("item_id")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn experiment_variant_is_in_meta_and_its_overrides_apply() {
    // Variant B turns merchandising rules off for its subjects.
    let e = Engine::with_options_json(
        r#"{"experiments":{"salt":"salt","definitions":[{"id":"exp-1","enabled":true,"traffic_percent":100,
            "variants":["A",{"name":"B","overrides":{"rules_enabled":false}}]}]}}"#,
    )
    .unwrap();
    e.call("load_snapshot", DOCS).unwrap();
    // user-123 falls in B (reference vector: variant hash 4238060713167832805 mod 2 = 1).
    let b = call(&e, "user-123", r#","experiment":{"id":"exp-1"}"#);
    assert_eq!(
        to_string(get(&b, &["meta", "experiment"])),
        r#"{"id":"exp-1","variant":"B"}"#
    );
    assert_eq!(
        first(&b),
        "a",
        "rules are off for variant B, so the pin on c does not apply"
    );
    // Find a subject in A: the pin applies.
    let a = (0..50)
        .map(|i| call(&e, &format!("u{i}"), r#","experiment":{"id":"exp-1"}"#))
        .find(|v| get(v, &["meta", "experiment", "variant"]).as_str() == Some("A"))
        .expect("some subject lands in A");
    assert_eq!(first(&a), "c");
    // A client-chosen variant wins; no experiment in the request means no assignment.
    let forced = call(
        &e,
        "user-123",
        r#","experiment":{"id":"exp-1","variant":"A"}"#,
    );
    assert_eq!(first(&forced), "c");
    assert!(get(&call(&e, "user-123", ""), &["meta"])
        .as_object()
        .unwrap()
        .get("experiment")
        .is_none());
}

#[test]
fn exposure_events_are_queued_hashed_and_drained() {
    let e = Engine::with_options_json(
        r#"{"exposure":{"format":"eval_v1","salt":"pepper","key_id":"k2"}}"#,
    )
    .unwrap();
    e.call("load_snapshot", DOCS).unwrap();
    call(&e, "secret-user-42", "");
    call(&e, "secret-user-43", "");
    let drained = parse(e.call("exposure_drain", r#"{"max":1}"#).unwrap().as_bytes()).unwrap();
    let events = get(&drained, &["events"]).as_array().unwrap();
    assert_eq!(events.len(), 1);
    let text = to_string(&events[0]);
    assert!(
        !text.contains("secret-user"),
        "raw ids never appear when hashing is on: {text}"
    );
    assert!(
        text.contains(r#""request_id":"req-14""#) && text.contains(r#""subject_key_id":"k2""#),
        "{text}"
    );
    let rest = parse(e.call("exposure_drain", "{}").unwrap().as_bytes()).unwrap();
    assert_eq!(get(&rest, &["events"]).as_array().unwrap().len(), 1);
    assert_eq!(get(&rest, &["dropped"]), &Value::u64(0));
    // Hashing is required unless explicitly turned off.
    assert_eq!(
        Engine::with_options_json(r#"{"exposure":{"format":"eval_v1"}}"#)
            .err()
            .map(|e| e.code),
        Some("RECSYS_INVALID_OPTIONS")
    );
}

#[test]
fn metrics_count_requests_and_empty_results() {
    let e = Engine::with_options_json(r#"{"metrics":true}"#).unwrap();
    e.call("load_snapshot", DOCS).unwrap();
    call(&e, "u1", "");
    let empty = r#"{"request":{"surface":"home","user":{"user_id":"u"},"candidates":{"include_ids":["zz"]},"constraints":{"required_tags":["x"]}},"ctx":{"now":"2026-01-01T00:00:00Z","tenant":"demo"}}"#;
    e.call("recommend", empty).unwrap();
    assert!(e
        .call(
            "recommend",
            r#"{"request":{},"ctx":{"now":"2026-01-01T00:00:00Z","tenant":"demo"}}"#
        )
        .is_err());
    let text = parse(e.call("metrics", "{}").unwrap().as_bytes()).unwrap();
    let prom = get(&text, &["prometheus"]).as_str().unwrap().to_string();
    assert!(
        prom.contains("# TYPE recsys_recommendation_requests_total counter"),
        "{prom}"
    );
    assert!(
        prom.contains(r#"empty="true""#) && prom.contains(r#"empty="false""#),
        "{prom}"
    );
    assert!(
        prom.contains("recsys_recommendation_warning_codes_total"),
        "{prom}"
    );
    // Off by default: nothing is recorded.
    let quiet = Engine::new();
    quiet.call("load_snapshot", DOCS).unwrap();
    call(&quiet, "u1", "");
    assert!(!quiet
        .metrics_registry()
        .render_prometheus()
        .contains("requests_total{"));
}

/// Snapshot swaps are counted on every install path, and a host metrics adapter sees the
/// same series as the built-in registry (exposure outcomes included).
#[test]
fn swaps_and_exposures_reach_the_registry_and_the_host_adapter() {
    use crate::ops::metrics::{names, MetricsRegistry};
    use std::sync::Arc;
    let host = Arc::new(MetricsRegistry::new());
    let e = Engine::with_options_json(
        r#"{"metrics":true,"exposure":{"format":"eval_v1","salt":"pepper","key_id":"k1"}}"#,
    )
    .unwrap()
    .with_metrics_adapter(host.clone());
    e.call("load_snapshot", DOCS).unwrap();
    e.call("load_snapshot", DOCS).unwrap();
    call(&e, "u1", "");
    for r in [e.metrics_registry(), &*host] {
        assert_eq!(r.counter_value(names::SNAPSHOT_SWAPS_TOTAL, &[]), 2);
        assert_eq!(
            r.counter_sum(names::EXPOSURE_EVENTS_TOTAL, &[("result", "ok")]),
            1
        );
    }
}

/// Unknown members of the `experiments` option are refused like every other option.
#[test]
fn experiment_options_are_strict() {
    assert!(Engine::with_options_json(r#"{"experiments":{"salt":"s","enabled":true}}"#).is_ok());
    let e = Engine::with_options_json(r#"{"experiments":{"salt":"s","default_variants":["A"]}}"#)
        .expect_err("refused");
    assert_eq!(e.code, "RECSYS_INVALID_OPTIONS");
    assert!(e.message.contains("default_variants"), "{}", e.message);
}

/// A metrics adapter whose first success record blocks until released: it holds the
/// request's admission slot (the slot is held until the answer has been observed).
struct Gatekeeper {
    entered: std::sync::mpsc::SyncSender<()>,
    release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    blocked: std::sync::atomic::AtomicBool,
}

impl crate::ops::Metrics for Gatekeeper {
    fn counter(&self, name: &str, labels: &[(&str, &str)], _: u64) {
        let success = labels.contains(&("outcome", "success"));
        if name == "recsys_recommendation_requests_total"
            && success
            && !self.blocked.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.entered.send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
    }
    fn histogram(&self, _: &str, _: &[(&str, &str)], _: f64) {}
    fn gauge(&self, _: &str, _: &[(&str, &str)], _: f64) {}
}

#[test]
fn backpressure_option_rejects_past_max_in_flight_with_retry_after() {
    let (entered_tx, entered_rx) = std::sync::mpsc::sync_channel(1);
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let gk = std::sync::Arc::new(Gatekeeper {
        entered: entered_tx,
        release: std::sync::Mutex::new(release_rx),
        blocked: Default::default(),
    });
    let e = Engine::with_options_json(
        r#"{"metrics":true,"backpressure":{"max_in_flight":1,"max_queue":0,"queue_timeout_ms":0,"retry_after_ms":2500}}"#,
    )
    .unwrap()
    .with_metrics_adapter(gk);
    e.call("load_snapshot", DOCS).unwrap();
    let e = std::sync::Arc::new(e);
    let holder = {
        let e = e.clone();
        std::thread::spawn(move || call(&e, "u-1", ""))
    };
    entered_rx.recv().unwrap(); // the first request holds the only slot
    let input = r#"{"request":{"surface":"home","k":3,"user":{"user_id":"u-2"}},"ctx":{"now":"2026-01-01T00:00:00Z","tenant":"demo"}}"#;
    for op in ["recommend", "similar"] {
        let err = e.call(op, input).unwrap_err();
        assert_eq!((err.code, err.status), ("RECSYS_OVERLOADED", 503));
        assert_eq!(err.message, "service overloaded");
        let extra = to_string(&err.to_value());
        assert!(extra.contains(r#""retry_after":2"#), "{extra}");
    }
    // validate is not gated (reference: recommend and similar only).
    e.call("validate", input).unwrap();
    let stats = e.gate_stats();
    assert_eq!((stats.in_flight, stats.rejected), (1, 2));
    release_tx.send(()).unwrap();
    assert_eq!(first(&holder.join().unwrap()), "c");
    // The slot is free again, and the rejections were counted.
    call(&e, "u-3", "");
    let prom = get(
        &parse(e.call("metrics", "{}").unwrap().as_bytes()).unwrap(),
        &["prometheus"],
    )
    .as_str()
    .unwrap()
    .to_owned();
    assert!(
        prom.contains("recsys_backpressure_rejections_total 2"),
        "{prom}"
    );
    assert!(prom.contains(r#"outcome="overload""#), "{prom}");
    assert!(prom.contains("recsys_backpressure_in_flight 0"), "{prom}");
}

#[test]
fn backpressure_option_is_strict_and_off_by_default() {
    let e = Engine::with_options_json(r#"{"backpressure":{"max_in_flight":0}}"#).unwrap();
    e.call("load_snapshot", DOCS).unwrap();
    for i in 0..5 {
        call(&e, &format!("u{i}"), "");
    }
    assert_eq!(e.gate_stats().rejected, 0);
    for (bad, needle) in [
        (r#"{"backpressure":5}"#, "must be a json object"),
        (
            r#"{"backpressure":{"max_in_flight":-1}}"#,
            "max_in_flight must be a non-negative integer, got -1",
        ),
        (
            r#"{"backpressure":{"max_queue":1.5}}"#,
            "max_queue must be a non-negative integer, got 1.5",
        ),
        (
            r#"{"backpressure":{"max_inflight":1}}"#,
            r#"unknown member "max_inflight""#,
        ),
    ] {
        let err = Engine::with_options_json(bad).expect_err(bad);
        assert_eq!(err.code, "RECSYS_INVALID_OPTIONS", "{bad}");
        assert!(err.message.contains(needle), "{bad}: {}", err.message);
    }
}
