//! `Engine::call` reads `recommend` / `similar` / `validate` requests from a tree borrowing the
//! call's text (no string of the request is copied out of the text until it is decoded). These
//! tests hold it to the owned-tree path (`call_value`, what bindings with native data use):
//! the same answers and the same errors, byte for byte; and count its work: no allocation per
//! request id (the candidate lists stay slices of the text), allocations and bytes growing
//! with the ids and no faster.

use recsys_core::json::{self, to_string};
use recsys_core::Engine;
use std::sync::atomic::Ordering::SeqCst;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allocations_on_this_thread, CURRENT, PEAK};

const CTX: &str = r#"{"now":"2026-01-02T01:00:00Z","tenant":"demo","request_id":"r"}"#;

fn engine(items: usize) -> Engine {
    let e = Engine::new();
    let pop: Vec<String> = (0..items)
        .map(|i| format!(r#"{{"item_id":"i{i}","score":{}}}"#, items - i))
        .collect();
    let cooc =
        r#"[{"item_id":"i1","items":[{"item_id":"i2","score":3},{"item_id":"i3","score":1}]}]"#;
    e.call(
        "load_snapshot",
        &format!(
            r#"{{"tenant":"demo","surface":"home","signals":{{"popularity":[{}],"cooc":{cooc}}}}}"#,
            pop.join(",")
        ),
    )
    .unwrap();
    e
}

fn call_input(request: &str) -> String {
    format!(r#"{{"request":{request},"ctx":{CTX}}}"#)
}

fn ids(n: usize, step: usize) -> String {
    let v: Vec<String> = (0..n).map(|i| format!("\"i{}\"", i * step)).collect();
    format!("[{}]", v.join(","))
}

/// `call` on the text and `call_value` on the parsed text answer the same (or fail the same).
fn same_answers(e: &Engine, op: &str, input: &str) {
    let by_text = e.call(op, input);
    let by_value = match json::parse(input.as_bytes()) {
        Ok(v) => e.call_value(op, &v).map(|a| to_string(&a)),
        Err(err) => Err(err.into()),
    };
    assert_eq!(by_text, by_value, "{op} {input}");
}

#[test]
fn text_and_value_calls_answer_alike() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = engine(60);
    let requests = [
        r#"{"surface":"home","user":{"user_id":"u"},"k":5}"#.to_string(),
        format!(
            r#"{{"surface":" home ","segment":"default","k":5,"user":{{"anonymous_id":"a\u0031"}},"candidates":{{"include_ids":{},"exclude_ids":["i2"," i4 ","i2"]}},"options":{{"include_reasons":true,"explain":"summary"}}}}"#,
            ids(20, 2)
        ),
        r#"{"surface":"home","item_id":"i1","k":3}"#.to_string(),
        r#"{"surface":"home","user":{"user_id":"u"},"anchors":{"item_ids":["i1"," i1","\u00e9"]},"constraints":{"required_tags":[" X "],"max_per_tag":{"Brand":1}}}"#.to_string(),
        r#"{"surface":"home","user":{"user_id":"u"},"k":"5","x":1}"#.to_string(),
        r#"{"surface":"../x","user":{},"k":0,"weights":{"pop":-1}}"#.to_string(),
        r#"{"surface":"nowhere","user":{"user_id":"u"}}"#.to_string(),
        r#"[1]"#.to_string(),
        r#"null"#.to_string(),
    ];
    for op in ["recommend", "similar", "validate"] {
        for r in &requests {
            same_answers(&e, op, &call_input(r));
        }
        let signals = r#"{"popularity":[{"item_id":"s1","score":2},{"item_id":"s2","score":1}]}"#;
        for input in [
            format!(
                r#"{{"request":{},"ctx":{CTX},"signals":{signals}}}"#,
                requests[0]
            ),
            format!(
                r#"{{"request":{},"ctx":{CTX},"signals":null}}"#,
                requests[0]
            ),
            format!(r#"{{"request":{},"ctx":{CTX},"other":1}}"#, requests[0]),
            format!(r#"{{"request":{}}}"#, requests[0]),
            format!(r#"{{"ctx":{CTX}}}"#),
            format!(r#"{{"request":{},"ctx":{{"tenant":1}}}}"#, requests[0]),
            "[]".to_string(),
            String::new(),
            "{\"request\":".to_string(),
            format!(r#"{{"request":{},"ctx":{CTX}}} x"#, requests[0]),
            format!(r#"{{"request":{{"surface":"\ud800"}},"ctx":{CTX}}}"#),
            format!("{}{}", "[".repeat(70), "]".repeat(70)),
        ] {
            same_answers(&e, op, &input);
        }
    }
}

/// Candidate lists (known, unknown, repeated, padded, blank and escaped ids; not strings;
/// over the limits) answer the same through `call` (lists read as slices of the text) as
/// through `call_value` (the typed request's own strings), for `recommend` and `similar`,
/// with and without reasons.
#[test]
fn candidate_lists_answer_alike_by_text_and_value() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = engine(80);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    fn list(n: u64, next: &mut dyn FnMut(u64) -> u64) -> String {
        // A long list is mostly distinct ids, over the 5,000 limit.
        let span = if n > 1_000 { 1 << 30 } else { 90 };
        let ids: Vec<String> = (0..next(n))
            .map(|_| match next(10) {
                0 => format!("\" i{} \"", next(90)),
                1 => "\"\"".to_string(),
                2 => "\"n\\u00e9w\"".to_string(),
                3 => "null".to_string(),
                4 if next(20) == 0 => "3".to_string(),
                _ => format!("\"i{}\"", next(span)),
            })
            .collect();
        format!("[{}]", ids.join(","))
    }
    for round in 0..300 {
        let big = if round % 50 == 0 { 5_200 } else { 40 };
        let include = list(big, &mut next);
        let exclude = list(12, &mut next);
        let reasons = round % 4 == 0;
        for (op, who) in [
            ("recommend", r#""user":{"user_id":"u"}"#),
            ("similar", r#""item_id":"i1""#),
        ] {
            let request = format!(
                r#"{{"surface":"home",{who},"k":{},"candidates":{{"include_ids":{include},"exclude_ids":{exclude}}},"options":{{"include_reasons":{reasons}}}}}"#,
                1 + round % 25
            );
            same_answers(&e, op, &call_input(&request));
        }
    }
}

/// Held by the tests of this file: the peak of live bytes is process-wide, so another test
/// allocating at the same time would be counted in it.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// (allocations, bytes allocated) by one `recommend` call allowing `n` ids.
fn cost(e: &Engine, n: usize) -> (usize, usize) {
    let input = call_input(&format!(
        r#"{{"surface":"home","k":20,"user":{{"anonymous_id":"a"}},"candidates":{{"include_ids":{},"exclude_ids":{}}}}}"#,
        ids(n, 2),
        ids(n / 4, 4)
    ));
    e.call("recommend", &input).unwrap(); // warm
    let (allocs, bytes) = (allocations_on_this_thread(), CURRENT.load(SeqCst));
    PEAK.store(bytes, SeqCst);
    let answer = e.call("recommend", &input).unwrap();
    let allocated = allocations_on_this_thread() - allocs;
    let peak = PEAK.load(SeqCst) - bytes;
    drop(answer);
    (allocated, peak)
}

#[test]
fn request_ids_cost_no_allocation_each_and_grow_linearly() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = engine(5_000);
    let (a1, b1) = cost(&e, 200);
    let (a10, b10) = cost(&e, 2_000);
    // 1,800 more allowed ids and 450 more excluded ones: the candidate lists are slices of
    // the call's text (one allocation per id when the typed request held its own strings),
    // and nothing per id for the tree the text was read into.
    let per_id = (a10 - a1) as f64 / 2_250.0;
    eprintln!("allocs {a1} -> {a10}, peak {b1} -> {b10}, {per_id:.3} per id");
    assert!(
        per_id < 0.1,
        "{per_id:.2} allocations per request id ({a1} -> {a10})"
    );
    assert!(a10 < 10 * a1 + 200, "allocations {a1} -> {a10}");
    assert!(b10 < 12 * b1, "peak bytes {b1} -> {b10}");
}
