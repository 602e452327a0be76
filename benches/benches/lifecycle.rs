//! Snapshot lifecycle at catalog scale: loading artifacts, changing config or rules on a
//! loaded tenant, and serving while another thread reloads.
//!
//! Workloads: one generated in memory by this crate, always (100k items with every signal;
//! 2k in `--test` mode, so CI can afford it), plus every `gen_workload.py` output named in
//! `RECSYS_BENCH_WORKLOAD` (comma-separated directories, e.g. the 1M/1000 and 100k/10000
//! workloads the Go figures come from). Without that variable the real workloads are skipped
//! with a note.
//!
//! * `load/<wl>`: manifest step, each artifact handed over on its own
//!   (`loader_stage_artifact`: decode, version hash, columns), then the catalog compile and
//!   swap (`loader_apply_artifacts`), into a fresh engine.
//! * `set_config/<wl>`, `set_rules/<wl>_<N>`: a document change on the loaded tenant
//!   (parse, validate, compile against the shared catalog, swap). Each iteration alternates
//!   between two documents, so every call really changes something.
//! * `recommend_idle/<wl>` and `recommend_during_reload/<wl>`: a k=20 request, alone and
//!   while another thread reloads the whole tenant in a loop (`load_snapshot` documents with
//!   the artifacts as strings: full decode, verify, compile and swap each time). The p50/p99
//!   of both are printed as `[data]` lines (criterion reports the mean and median).

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode};
use recsys_benches::workload::*;
use recsys_benches::*;
use recsys_core::bench_internals::compile::Documents;
use recsys_core::json::Value;
use recsys_core::Engine;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

fn workloads() -> Vec<Workload> {
    let items = scaled(100_000, 2_000);
    let mut spec = CatalogSpec::new(items);
    // Users as in the gen_workload.py data (1000), not a shop's 10k.
    spec.users = spec.users.min(1000);
    spec.session_users = spec.session_users.min(1000);
    let cat = recsys_benches::Catalog::generate(spec);
    let mut out = vec![Workload::generated(&cat, &[scaled(1000, 50)])];
    drop(cat);
    let dirs = workload_dirs("RECSYS_BENCH_WORKLOAD");
    if dirs.is_empty() {
        eprintln!(
            "[note] lifecycle: RECSYS_BENCH_WORKLOAD is not set; the gen_workload.py workloads \
             (1M/1000, 100k/10000) are skipped"
        );
    }
    for d in dirs {
        match Workload::read(&d) {
            Ok(w) => out.push(w),
            Err(e) => eprintln!("[note] lifecycle: workload {} unreadable: {e}", d.display()),
        }
    }
    out
}

fn loaded(wl: &Workload) -> Engine {
    let e = workload_engine();
    load_workload(&e, wl, workload_now());
    e
}

/// (p50, p99) in µs of `n` recommend calls.
fn percentiles(engine: &Engine, wl: &Workload, n: usize) -> (f64, f64) {
    let (req, ctx) = wl.request(20);
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let s = Instant::now();
            black_box(engine.recommend(&req, &ctx).expect("recommend"));
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[n / 2], t[(n * 99 / 100).min(n - 1)])
}

/// Runs `f` while another thread reloads `wl` into `engine` in a loop; returns `f`'s result
/// and how many reloads completed.
fn during_reload<T>(engine: &Engine, docs: &Value, f: impl FnOnce() -> T) -> (T, u64) {
    let stop = AtomicBool::new(false);
    let reloads = AtomicU64::new(0);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            let d = Documents::from_value(docs).expect("documents");
            while !stop.load(Relaxed) {
                recsys_core::bench_internals::load_documents(engine, &d).expect("reload");
                reloads.fetch_add(1, Relaxed);
            }
        });
        // Let the first reload get going before measuring.
        std::thread::sleep(Duration::from_millis(20));
        let out = f();
        stop.store(true, Relaxed);
        out
    });
    (out, reloads.load(Relaxed))
}

fn benches(c: &mut Criterion) {
    for wl in workloads() {
        let label = wl.label.clone();
        let big = wl.artifact_bytes() > 50_000_000;
        let mut g = c.benchmark_group("lifecycle");
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_secs(if smoke() {
                1
            } else if big {
                60
            } else {
                10
            }));
        log_load(&format!("lifecycle/load/{label}"));
        eprintln!(
            "[data] lifecycle/{label}: {} artifacts, {} bytes",
            wl.artifacts.len(),
            wl.artifact_bytes()
        );
        g.bench_function(BenchmarkId::new("load", &label), |b| {
            b.iter_batched(
                workload_engine,
                |e| {
                    black_box(load_workload(&e, &wl, workload_now()));
                    e
                },
                BatchSize::PerIteration,
            )
        });
        g.finish();

        let engine = loaded(&wl);
        let mut g = c.benchmark_group("lifecycle");
        g.sample_size(if smoke() { 10 } else { 50 })
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(if smoke() { 1 } else { 5 }));
        let other_config = {
            let mut m = wl.config.as_object().cloned().unwrap_or_default();
            m.insert("algo", Value::str("popularity"));
            Value::Object(m)
        };
        log_load(&format!("lifecycle/set_config/{label}"));
        let mut flip = false;
        g.bench_function(BenchmarkId::new("set_config", &label), |b| {
            b.iter(|| {
                flip = !flip;
                let doc = if flip { &other_config } else { &wl.config };
                black_box(engine.set_config(&wl.tenant, Some(doc)).expect("config"))
            })
        });
        for (n, rules) in &wl.rules {
            log_load(&format!("lifecycle/set_rules/{label}_{n}"));
            let mut flip = false;
            g.bench_function(BenchmarkId::new("set_rules", format!("{label}_{n}")), |b| {
                b.iter(|| {
                    flip = !flip;
                    let doc = if flip { Some(rules) } else { None };
                    black_box(engine.set_rules(&wl.tenant, doc).expect("rules"))
                })
            });
        }
        engine.set_rules(&wl.tenant, None).expect("rules");
        engine
            .set_config(&wl.tenant, Some(&wl.config))
            .expect("config");

        let (req, ctx) = wl.request(20);
        log_load(&format!("lifecycle/recommend_idle/{label}"));
        g.bench_function(BenchmarkId::new("recommend_idle", &label), |b| {
            b.iter(|| black_box(engine.recommend(&req, &ctx).expect("recommend")))
        });
        let docs = wl.documents();
        log_load(&format!("lifecycle/recommend_during_reload/{label}"));
        let ((), reloads) = during_reload(&engine, &docs, || {
            g.bench_function(BenchmarkId::new("recommend_during_reload", &label), |b| {
                b.iter(|| black_box(engine.recommend(&req, &ctx).expect("recommend")))
            });
        });
        g.finish();
        let n = if smoke() { 200 } else { 20_000 };
        let (p50, p99) = percentiles(&engine, &wl, n);
        let ((r50, r99), reloads2) = during_reload(&engine, &docs, || percentiles(&engine, &wl, n));
        eprintln!(
            "[data] lifecycle/{label}: recommend k=20 idle p50 {p50:.1} µs p99 {p99:.1} µs; \
             during reload p50 {r50:.1} µs p99 {r99:.1} µs ({:.2}x idle p99; {} + {} reloads \
             completed meanwhile)",
            r99 / p99,
            reloads,
            reloads2
        );
    }
}

criterion_group!(lifecycle, benches);
criterion_main!(lifecycle);
