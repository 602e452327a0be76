//! Issue 15's "swapping under load": recommend latency while another thread reloads the whole
//! tenant, against the same requests on an idle engine, on the real `gen_workload.py` data.
//!
//! For each request shape named (A-E of `requests.json`), it serves the shape's config, times
//! single `Engine::recommend` calls for a fixed stretch with nothing else running (idle), then
//! again for as long as a second thread takes to reload the whole tenant `RELOADS` times (the
//! `load_snapshot` documents with every artifact embedded: decoded, verified, compiled and
//! swapped each time, as the `lifecycle` bench's reload does; the replaced catalog freed on the
//! writer's side). Every call of both stretches counts: the reads cover whole reloads, parse
//! to swap, not a sample of them. The reload documents carry no config or rules, so the
//! shape's config and rules stay served through it (except a rules document over the 1 MiB
//! limit, like the 100k workload's 10,000 rules, which only the direct install serves).
//!
//! ```sh
//! python3 ../shared/bench/gen_workload.py --items 100000 --rules 1000 --out /tmp/wl
//! cargo run --release -p recsys-benches --example swap_under_load -- /tmp/wl A,C 2
//! ```
//!
//! Prints one line per shape: idle and during-reload p50 / p99 / p99.9 / max in µs, the p99
//! ratio (issue 15 asks for at most 2x on 2 cores), the number of calls and the reload times.

use recsys_benches::workload::*;
use recsys_core::bench_internals::{compile::Documents, load_documents};
use recsys_core::Engine;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Latencies in µs of back-to-back calls of `call` until `done()` says stop.
fn latencies(mut call: impl FnMut(), done: impl Fn() -> bool) -> Vec<f64> {
    let mut t = Vec::with_capacity(1 << 16);
    while !done() {
        let s = Instant::now();
        call();
        t.push(s.elapsed().as_secs_f64() * 1e6);
    }
    t.sort_by(f64::total_cmp);
    t
}

/// The `q`-quantile of sorted latencies (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn summary(t: &[f64]) -> String {
    format!(
        "p50 {:.1} p99 {:.1} p99.9 {:.1} max {:.0} ({} calls)",
        quantile(t, 0.5),
        quantile(t, 0.99),
        quantile(t, 0.999),
        t.last().copied().unwrap_or(f64::NAN),
        t.len()
    )
}

/// Calls during `reloads` full reloads of `wl` on another thread; returns the sorted
/// latencies and each reload's wall time in seconds.
fn during_reloads(
    engine: &Engine,
    docs: &Documents,
    reloads: usize,
    call: impl FnMut(),
) -> (Vec<f64>, Vec<f64>) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut walls = Vec::with_capacity(reloads);
            for _ in 0..reloads {
                let t = Instant::now();
                black_box(load_documents(engine, docs).expect("reload"));
                walls.push(t.elapsed().as_secs_f64());
            }
            stop.store(true, Relaxed);
            walls
        });
        let t = latencies(call, || stop.load(Relaxed));
        (t, writer.join().expect("reload thread"))
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(std::path::PathBuf::from) else {
        eprintln!("usage: swap_under_load WORKLOAD_DIR [SHAPES] [RELOADS]");
        std::process::exit(2);
    };
    let names = args.get(1).map_or("A,C", |s| s.as_str());
    let reloads: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let wl = Workload::read(&dir).expect("workload");
    let engine = workload_engine();
    let t = Instant::now();
    load_workload(&engine, &wl, workload_now());
    println!(
        "workload {}: first load {:.2} s",
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    let docs = wl.documents();
    let docs = Documents::from_value(&docs).expect("documents");
    let (_, ctx) = wl.request(20);
    each_served_shape(&engine, &wl, &dir, names, |shape, req| {
        let call = || {
            black_box(engine.recommend(req, &ctx).expect("recommend"));
        };
        let idle_for = Duration::from_secs(3);
        let start = Instant::now();
        let idle = latencies(call, || start.elapsed() >= idle_for);
        let (busy, walls) = during_reloads(&engine, &docs, reloads, call);
        let walls: Vec<String> = walls.iter().map(|w| format!("{w:.2} s")).collect();
        println!(
            "shape {}: idle {}; during {} reloads ({}) {}; p99 {:.2}x idle",
            shape.name,
            summary(&idle),
            reloads,
            walls.join(", "),
            summary(&busy),
            quantile(&busy, 0.99) / quantile(&idle, 0.99)
        );
    });
}
