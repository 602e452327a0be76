//! Binding-overhead baseline: a small `recommend` (examples/data snapshot, k=10) through
//! `Engine::call` (JSON text in and out) and `Engine::recommend` (parsed request value in,
//! answer value out), timed call by call.
//!
//! cargo run --release -p recsys-benches --example binding-overhead-native -- DOCUMENTS_JSON [ANSWER_OUT]
//! (benches/bindings/run.sh writes DOCUMENTS_JSON and runs every binding's script.)

use recsys_core::json;
use recsys_core::Context as CallContext;
use recsys_core::Engine;
use std::hint::black_box;
use std::time::Instant;

const REQUEST: &str = r#"{"surface":"home","k":10,"user":{"user_id":"u_fitness"},"anchors":{"item_ids":["sku-running-shoe"]}}"#;
const CTX: &str = r#"{"now":"2026-01-02T00:00:00Z","request_id":"bench","tenant":"demo"}"#;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Times `calls` calls of `f` after `warmup` untimed ones; prints the median and p99 in µs.
fn measure(label: &str, warmup: usize, calls: usize, mut f: impl FnMut()) {
    for _ in 0..warmup {
        f();
    }
    let mut ns: Vec<u64> = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        f();
        ns.push(t.elapsed().as_nanos() as u64);
    }
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    println!(
        "{label}: median {:.2} us, p99 {:.2} us (n={calls})",
        at(0.5),
        at(0.99)
    );
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: binding-overhead-native DOCUMENTS_JSON [ANSWER_OUT]");
    let documents = std::fs::read_to_string(path).expect("documents file");
    let (warmup, calls) = (
        env_usize("BENCH_WARMUP", 2000),
        env_usize("BENCH_CALLS", 20000),
    );

    let engine = Engine::new();
    engine
        .call("load_snapshot", &documents)
        .expect("load_snapshot");
    let input = format!(r#"{{"request":{REQUEST},"ctx":{CTX}}}"#);
    let answer = engine.call("recommend", &input).expect("recommend");
    println!("native: answer {} bytes", answer.len());
    if let Some(out) = std::env::args().nth(2) {
        // The answer text, for run.sh's byte-for-byte comparison with the bindings.
        std::fs::write(out, &answer).expect("answer file");
    }

    measure("rust Engine::call", warmup, calls, || {
        black_box(engine.call("recommend", black_box(&input)).unwrap());
    });
    let request = recsys_benches::typed_request(&json::parse(REQUEST.as_bytes()).unwrap());
    let ctx = CallContext::from_value(&json::parse(CTX.as_bytes()).unwrap()).unwrap();
    measure("rust Engine::recommend", warmup, calls, || {
        black_box(engine.recommend(black_box(&request), &ctx).unwrap());
    });
}
