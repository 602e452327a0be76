//! `admin.preview` cost: N requests served against the current and a candidate rule set on a
//! 100k-item catalog with every signal (the target: 10k requests in seconds). The
//! candidate replaces 100 rules by 100 others, so both sides run rules on every request.
//! Groups: `preview/requests_N` (N = 1k, 10k); criterion's `elem/s` is requests/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use recsys_benches::*;
use recsys_core::json::{self, Map, Value};
use recsys_core::time::Timestamp;
use recsys_core::Engine;
use std::hint::black_box;
use std::time::Duration;

fn setup() -> (Engine, String) {
    let cat = Catalog::generate(CatalogSpec::new(scaled(100_000, 5_000)));
    let config = ConfigSpec::blended(200).to_json();
    let rules = rules_json(&cat, &RulesSpec::active(100, 200));
    let docs = cat.documents_json(&config, Some(&rules), &cat.artifacts(Signals::ALL), false);
    let engine = engine();
    engine
        .call("load_snapshot", &docs)
        .expect("bench documents load");
    let candidate = rules_json(
        &cat,
        &RulesSpec {
            seed: 77,
            ..RulesSpec::active(100, 200)
        },
    );
    (engine, candidate)
}

fn input(candidate: &str, n: usize) -> Map {
    let mut m = Map::new();
    m.push("tenant", Value::str(TENANT));
    m.push("surface", Value::str(SURFACE));
    m.push("rules", Value::String(candidate.to_string()));
    let reqs: Vec<Value> = (0..n)
        .map(|i| {
            RequestSpec::new(20)
                .user(format!("u{:06}", i % 5000))
                .value()
        })
        .collect();
    m.push("requests", Value::Array(reqs));
    m.push("max_details", Value::u64(100));
    m
}

fn bench(c: &mut Criterion) {
    let (engine, candidate) = setup();
    let now = Timestamp::parse_rfc3339(NOW).expect("bench now");
    let mut g = c.benchmark_group("preview");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(5));
    for n in [scaled(1_000, 100), scaled(10_000, 200)] {
        let id = format!("requests_{}", size_label(n));
        if !wanted(&format!("preview/{id}")) {
            continue;
        }
        let m = input(&candidate, n);
        let once = engine.preview(&m, now).expect("preview runs");
        let served = once
            .as_object()
            .and_then(|a| a.get("served"))
            .and_then(Value::as_f64);
        assert_eq!(served, Some(n as f64), "{}", json::to_string(&once));
        eprintln!(
            "[case] preview/{id}: changed={}",
            once.as_object()
                .and_then(|a| a.get("changed"))
                .map(json::to_string)
                .unwrap_or_default()
        );
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(&id), |b| {
            b.iter(|| black_box(engine.preview(black_box(&m), now).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
