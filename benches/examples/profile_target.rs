//! Runs one recommend case in a loop, for profilers and quick before/after checks on a busy
//! machine (prints the minimum and median of per-batch means; the minimum is the least
//! disturbed figure). Cases: `target` (blended, 1,000 active rules, MMR + caps, ~1k pool,
//! k=20, no history; the `recommend/target` bench case) and `pop` (popularity-only, k=20).
//!
//! ```sh
//! cargo run --release -p recsys-benches --example profile_target -- target 20000
//! valgrind --tool=callgrind target/release/examples/profile_target target 200
//! ```

use recsys_benches::*;
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "target".into());
    let iters: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let cat = Catalog::generate(CatalogSpec::new(100_000));
    let (config, rules) = match case.as_str() {
        "target" => (
            ConfigSpec::blended(1_000).with_mmr(),
            Some(rules_json(&cat, &RulesSpec::active(1_000, 1_000))),
        ),
        "pop" => (ConfigSpec::popularity(), None),
        other => {
            eprintln!("unknown case {other:?}: use target or pop");
            std::process::exit(2);
        }
    };
    let engine = engine_with(compile_snapshot(
        &cat,
        Signals::ALL,
        &config.to_json(),
        rules.as_deref(),
    ));
    let req = RequestSpec::new(20).typed();
    let ctx = ctx();
    let answer = engine.recommend(&req, &ctx).expect("recommend");
    eprintln!("counts: {:?}", counts(&answer));
    print_batch_means(&case, iters, 100, || {
        black_box(engine.recommend(black_box(&req), &ctx).unwrap());
    });
}
