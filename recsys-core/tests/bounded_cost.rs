//! Bounded cost: inputs that grow 10x cost about 10x, on every path that used to be
//! quadratic (duplicate-key collapsing behind ETags, config validation and request
//! decoding). Ratios, not absolute costs: each size runs five times and the cheapest run
//! counts; the bound (50x for 10x the input, plus a small floor for clock noise) fails the
//! old O(n^2) code (100x and more) yet leaves room for cache effects and the sort's log
//! factor (seen up to 44x). Cost is the calling thread's CPU time on Linux (see
//! `src/tests/scaling.rs`), so other processes' load does not count.

use recsys_core::json;
use recsys_core::Engine;

#[path = "../src/tests/scaling.rs"]
mod scaling;
use scaling::assert_scales_linearly;

/// `{"k0":0,"k1":1,...}` with every key also repeated once (duplicates to collapse).
fn object_with_keys(n: usize, prefix: &str) -> String {
    let mut s = String::from("{");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("\"{prefix}{i}\":{i}"));
    }
    s.push_str(&format!(",\"{prefix}0\":1}}"));
    s
}

#[test]
fn etag_of_a_wide_object_is_linear() {
    assert_scales_linearly("etag", 4_000, |n| {
        let doc = object_with_keys(n, "k");
        json::etag(doc.as_bytes()).expect("etag");
    });
}

#[test]
fn duplicate_collapsing_keeps_the_last_member_in_place() {
    let doc = object_with_keys(40, "k");
    let v = json::parse(doc.as_bytes()).unwrap();
    let m = v.as_object().unwrap();
    let d = m.deduped();
    assert_eq!(d.len(), 40);
    // k0 moved to the end (its last occurrence) with the last value.
    assert_eq!(d[39].0, "k0");
    assert_eq!(d[39].1, &json::Value::i64(1));
    assert_eq!(d[0].0, "k1");
}

fn loaded_engine() -> Engine {
    let e = Engine::new();
    e.call(
        "load_snapshot",
        r#"{"tenant":"demo","surface":"home","signals":{"popularity":[{"item_id":"a","score":3},{"item_id":"b","score":2}]}}"#,
    )
    .unwrap();
    e
}

#[test]
fn request_max_per_tag_is_refused_in_linear_time() {
    let e = loaded_engine();
    assert_scales_linearly("max_per_tag", 8_000, |n| {
        let caps = object_with_keys(n, "tag");
        let input = format!(
            r#"{{"request":{{"surface":"home","k":2,"user":{{"user_id":"u"}},"constraints":{{"max_per_tag":{caps}}}}},"ctx":{{"now":"2026-01-01T00:00:00Z","tenant":"demo"}}}}"#
        );
        let err = e.call("recommend", &input).unwrap_err();
        assert!(err.message.contains("the limit is 200"), "{}", err.message);
    });
}

#[test]
fn admin_put_config_with_many_members_is_linear() {
    let e = Engine::new();
    assert_scales_linearly("admin.put_config", 7_000, |n| {
        let doc = object_with_keys(n, "k");
        let input = format!(
            r#"{{"request":{{"tenant":"demo","document":{doc}}},"ctx":{{"now":"2026-01-01T00:00:00Z","principal":{{"subject":"a","tenant":"demo","roles":["admin"]}}}}}}"#
        );
        // Unknown members are refused or warned about; either way the cost is what counts.
        let _ = e.call("admin.put_config", &input);
    });
}

#[test]
fn set_config_with_many_members_is_linear() {
    let e = loaded_engine();
    assert_scales_linearly("set_config", 7_000, |n| {
        let doc = object_with_keys(n, "k");
        let _ = e.call(
            "set_config",
            &format!(r#"{{"tenant":"demo","document":{doc}}}"#),
        );
    });
}

/// A catalog's ids are interned by radix-sorting each signal's id list (and co-occurrence
/// rows cleaned with one array per part): a load with 10x the items, named out of order by
/// popularity and by co-occurrence neighbours, costs about 10x.
#[test]
fn loading_many_ids_out_of_order_is_linear() {
    assert_scales_linearly("load_snapshot ids", 3_000, |n| {
        // Popularity names the items in a scrambled order (no sorted run to find).
        let id = |i: usize| format!("sku-{:07}", (i * 7_919) % n);
        let pop: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"item_id":"{}","score":{}}}"#, id(i), n - i))
            .collect();
        let cooc: Vec<String> = (0..n / 10)
            .map(|i| {
                let nbrs: Vec<String> = (1..=10)
                    .map(|j| format!(r#"{{"item_id":"{}","score":{j}}}"#, id(i * 10 + j)))
                    .collect();
                format!(r#"{{"item_id":"{}","items":[{}]}}"#, id(i), nbrs.join(","))
            })
            .collect();
        let input = format!(
            r#"{{"tenant":"demo","surface":"home","signals":{{"popularity":[{}],"cooc":[{}]}}}}"#,
            pop.join(","),
            cooc.join(",")
        );
        Engine::new().call("load_snapshot", &input).unwrap();
    });
}

/// The check itself tells the two apart: work quadratic in `n` misses the bound in every
/// round (so the tests above would catch a path that became quadratic), linear work of the
/// same size meets it.
#[test]
fn the_check_tells_quadratic_from_linear_work() {
    let spin = |iterations: usize| {
        let mut x = 0u64;
        for i in 0..iterations {
            x = std::hint::black_box(x.wrapping_add(i as u64));
        }
        std::hint::black_box(x);
    };
    // 9M -> 90M iterations.
    assert_eq!(scaling::scales_linearly(3_000, |n| spin(n * 3_000)), Ok(()));
    // 9M -> 900M iterations (sizes that leave the 20 ms floor far behind).
    assert!(scaling::scales_linearly(3_000, |n| spin(n * n)).is_err());
}
