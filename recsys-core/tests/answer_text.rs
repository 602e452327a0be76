//! `Engine::call`'s recommendation answer is written from the pipeline's stages, not from a
//! typed answer: its item ids and `meta`'s strings are copied once, into the text. Counted
//! with a counting allocator: the allocations of a call do not grow with the items returned
//! (a typed answer allocates a string per item), and the text is the typed answer's.

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations_on_this_thread;

use recsys_core::json::{parse, to_string};
use recsys_core::Engine;

const CTX: &str = r#"{"now":"2026-01-02T01:00:00Z","tenant":"demo","request_id":"r"}"#;

fn engine(items: usize, options: &str) -> Engine {
    let e = Engine::builder().options_json(options).build().unwrap();
    let pop: Vec<String> = (0..items)
        .map(|i| format!(r#"{{"item_id":"sku-{i:07}","score":{}}}"#, items - i))
        .collect();
    e.call(
        "load_snapshot",
        &format!(
            r#"{{"tenant":"demo","surface":"home","signals":{{"popularity":[{}]}}}}"#,
            pop.join(",")
        ),
    )
    .unwrap();
    e
}

fn input(k: usize) -> String {
    format!(r#"{{"request":{{"surface":"home","user":{{"user_id":"u"}},"k":{k}}},"ctx":{CTX}}}"#)
}

/// Allocations of the fifth of five identical calls (the first ones warm what is cached),
/// counted on this thread only: the tests of this file run in parallel.
fn allocations(e: &Engine, input: &str) -> usize {
    for _ in 0..4 {
        e.call("recommend", input).unwrap();
    }
    let before = allocations_on_this_thread();
    e.call("recommend", input).unwrap();
    allocations_on_this_thread() - before
}

#[test]
fn a_calls_allocations_do_not_grow_with_the_items_returned() {
    let e = engine(2_000, "{}");
    let (few, many) = (allocations(&e, &input(10)), allocations(&e, &input(200)));
    // A typed answer allocates a string per item: 190 more; the text path a handful more
    // (larger buffers for the pool and the text).
    assert!(
        many < few + 20,
        "k=10: {few} allocations, k=200: {many} allocations"
    );
    // And it answers what the typed path answers.
    let text = e.call("recommend", &input(200)).unwrap();
    let value = e
        .call_value("recommend", &parse(input(200).as_bytes()).unwrap())
        .unwrap();
    assert_eq!(text, to_string(&value));
    let parsed = parse(text.as_bytes()).unwrap();
    let items = parsed.as_object().unwrap().get("items").unwrap();
    assert_eq!(items.as_array().unwrap().len(), 200);
}

/// With exposure logging on, the call path builds the typed answer (the event is made from
/// it): the same count then grows with the items, which is what the test above rules out.
#[test]
fn the_typed_answer_allocates_per_item() {
    let options = r#"{"exposure": {"format": "service_v1", "salt": "s", "key_id": "k1"}}"#;
    let e = engine(2_000, options);
    let (few, many) = (allocations(&e, &input(10)), allocations(&e, &input(200)));
    assert!(
        many >= few + 190,
        "k=10: {few} allocations, k=200: {many} allocations"
    );
}
