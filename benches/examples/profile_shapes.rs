//! Runs one request shape (A-E) of a `gen_workload.py` workload in a loop, for profilers and
//! before/after checks on a busy machine: prints the minimum and median of per-batch means,
//! and with `--dump` writes the shape's `Engine::call` answer to stdout (byte comparisons of
//! the answers before and after a change).
//!
//! ```sh
//! cargo run --release -p recsys-benches --example profile_shapes -- target/wl/WL100k D 200
//! valgrind --tool=callgrind target/release/examples/profile_shapes target/wl/WL100k D 20
//! ```
//!
//! Shapes may be a comma-separated list; `call` as a fourth argument times `Engine::call`
//! (JSON in and out) instead of the typed `Engine::recommend`.

use recsys_benches::workload::*;
use recsys_benches::{counts, print_batch_means};
use std::hint::black_box;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dump = args.iter().any(|a| a == "--dump");
    let args: Vec<&String> = args.iter().filter(|a| *a != "--dump").collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: profile_shapes WORKLOAD_DIR [SHAPES] [ITERS] [call] [--dump]");
        std::process::exit(2);
    };
    let names = args.get(1).map_or("A,B,C,D,E", |s| s.as_str());
    let iters: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let via_call = args.get(3).is_some_and(|s| *s == "call");
    let wl = Workload::read(&dir).expect("workload");
    let engine = workload_engine();
    load_workload(&engine, &wl, workload_now());
    let (_, ctx) = wl.request(20);
    each_served_shape(&engine, &wl, &dir, names, |shape, req| {
        let answer = engine.recommend(req, &ctx).expect("recommend");
        eprintln!("{}: {:?}", shape.name, counts(&answer));
        if dump {
            let text = engine.call("recommend", &shape.input).expect("call");
            println!("{}", text);
        }
        print_batch_means(&shape.name, iters, 10, || {
            if via_call {
                black_box(engine.call("recommend", black_box(&shape.input)).unwrap());
            } else {
                black_box(engine.recommend(black_box(req), &ctx).unwrap());
            }
        });
    });
}
