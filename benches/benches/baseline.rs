//! The floor under `recommend`: ranking the same pools of (item, score) pairs with nothing
//! else — no filters, no signal lookups, no rules, no JSON. Two orders of input:
//!
//! * `pop_order`: the pool as a popularity-ranked request builds it (already sorted by
//!   score, which is what the engine sees on its popularity-only path);
//! * `shuffled`: the same pairs in random order (what a blended pool looks like).
//!
//! Two algorithms: a full `sort_unstable_by` and `select_nth_unstable_by` for the top 20
//! followed by a sort of those 20 (what the engine does for plain top-k). The comparator is
//! the engine's: score descending, then item id ascending.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use recsys_benches::*;
use std::cmp::Ordering;
use std::hint::black_box;
use std::time::Duration;

fn by_score(a: &(u32, f64), b: &(u32, f64)) -> Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

fn top_k(mut v: Vec<(u32, f64)>, k: usize) -> Vec<(u32, f64)> {
    if v.len() > k {
        v.select_nth_unstable_by(k - 1, by_score);
        v.truncate(k);
    }
    v.sort_unstable_by(by_score);
    v
}

fn benches(c: &mut Criterion) {
    log_load("baseline");
    let cat = Catalog::generate(CatalogSpec::pop_cooc(scaled(100_000, 20_000), 0));
    let mut g = c.benchmark_group("baseline");
    g.sample_size(40)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for n in [23usize, 100, 1_000, 10_000] {
        let pop_order = cat.score_pool(n);
        let mut shuffled = pop_order.clone();
        let mut rng = SplitMix64::new(n as u64);
        for i in (1..shuffled.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            shuffled.swap(i, j);
        }
        // Same answer as the engine's popularity-only top 20.
        assert_eq!(top_k(shuffled.clone(), 20), top_k(pop_order.clone(), 20));
        let label = size_label(n);
        for (order, pool) in [("pop_order", &pop_order), ("shuffled", &shuffled)] {
            g.bench_function(BenchmarkId::new(format!("sort/{order}"), &label), |b| {
                b.iter_batched(
                    || pool.clone(),
                    |mut v| {
                        v.sort_unstable_by(by_score);
                        black_box(v)
                    },
                    BatchSize::SmallInput,
                )
            });
            g.bench_function(BenchmarkId::new(format!("top20/{order}"), &label), |b| {
                b.iter_batched(
                    || pool.clone(),
                    |v| black_box(top_k(v, 20)),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

criterion_group!(baseline, benches);
criterion_main!(baseline);
