//! Snapshot swaps and concurrent reads.
//!
//! * `install/readers_N`: latency of `Engine::install` (one atomic swap of the snapshot map)
//!   while N reader threads call `recommend` in a loop. Only the `install` call is timed:
//!   the snapshot it installs was compiled beforehand, and the previous snapshot it returns is
//!   kept and recycled outside the timed region (a host drops it wherever the last reader
//!   releases it). Each timed call includes one `Instant::now()` pair (~25-50 ns).
//! * `read_throughput/threads_N`: `recommend` calls per second with N threads sharing one
//!   engine (criterion's `elem/s` is requests/s).
//!
//! Readers ask for popularity-only k=20 on a 100k-item catalog with every signal.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use recsys_benches::*;
use recsys_core::bench_internals::snapshot::TenantSnapshot;
use recsys_core::Engine;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Owned snapshots to install, recycled once no reader holds them any more.
struct Recycler {
    stock: Vec<TenantSnapshot>,
    pending: Vec<Arc<TenantSnapshot>>,
}

impl Recycler {
    fn next(&mut self) -> TenantSnapshot {
        loop {
            if let Some(s) = self.stock.pop() {
                return s;
            }
            for a in std::mem::take(&mut self.pending) {
                match Arc::try_unwrap(a) {
                    Ok(s) => self.stock.push(s),
                    Err(a) => self.pending.push(a),
                }
            }
            if self.stock.is_empty() {
                std::thread::yield_now();
            }
        }
    }

    fn give_back(&mut self, previous: Option<Arc<TenantSnapshot>>) {
        self.pending.extend(previous);
    }
}

fn reader(engine: &Engine, stop: &AtomicBool, reads: &AtomicU64) {
    let req = RequestSpec::new(20).typed();
    let ctx = ctx();
    let mut n = 0u64;
    while !stop.load(Relaxed) {
        black_box(engine.recommend(&req, &ctx).unwrap());
        n += 1;
    }
    reads.fetch_add(n, Relaxed);
}

fn benches(c: &mut Criterion) {
    log_load("swap");
    let cat = Catalog::generate(CatalogSpec::new(scaled(100_000, 5_000)));
    let cfg = ConfigSpec::popularity().to_json();
    let mut rec = Recycler {
        stock: (0..5)
            .map(|_| compile_snapshot(&cat, Signals::ALL, &cfg, None))
            .collect(),
        pending: Vec::new(),
    };
    drop(cat);
    let engine = engine();
    let first = rec.next();
    recsys_core::bench_internals::install(&engine, first);

    let mut g = c.benchmark_group("swap");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for readers in [0usize, 1, 2] {
        log_load(&format!("swap/install/readers_{readers}"));
        let stop = AtomicBool::new(false);
        let reads = AtomicU64::new(0);
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..readers {
                s.spawn(|| reader(&engine, &stop, &reads));
            }
            g.bench_function(
                BenchmarkId::new("install", format!("readers_{readers}")),
                |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let snap = rec.next();
                            let t = Instant::now();
                            let previous =
                                recsys_core::bench_internals::install(&engine, black_box(snap));
                            total += t.elapsed();
                            rec.give_back(previous);
                        }
                        total
                    })
                },
            );
            stop.store(true, Relaxed);
        });
        if readers > 0 {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "[data] swap/install/readers_{readers}: readers served {:.0} requests/s in total while the writer swapped",
                reads.load(Relaxed) as f64 / secs
            );
        }
    }

    let req = RequestSpec::new(20).typed();
    let ctx = ctx();
    g.throughput(Throughput::Elements(1));
    for threads in [1u64, 2] {
        log_load(&format!("swap/read_throughput/threads_{threads}"));
        g.bench_function(
            BenchmarkId::new("read_throughput", format!("threads_{threads}")),
            |b| {
                b.iter_custom(|iters| {
                    let per = iters.div_ceil(threads);
                    let t = Instant::now();
                    std::thread::scope(|s| {
                        for _ in 0..threads {
                            s.spawn(|| {
                                for _ in 0..per {
                                    black_box(engine.recommend(&req, &ctx).unwrap());
                                }
                            });
                        }
                    });
                    // Scale to exactly `iters` requests (per * threads may exceed it).
                    t.elapsed().mul_f64(iters as f64 / (per * threads) as f64)
                })
            },
        );
    }
    g.finish();
}

criterion_group!(swap, benches);
criterion_main!(swap);
