//! Snapshot compile time.
//!
//! * `snapshot_compile`: [`TenantSnapshot::compile`] from plain [`SignalData`] (the inputs
//!   are cloned outside the timed region; the compiled snapshot is dropped outside it too).
//! * `artifacts_json`: the JSON path with public pieces: every artifact parsed and verified
//!   (`artifacts::load_artifact`: decode, version hash, tenant/surface), converted to signal
//!   data, then compiled. This is the work `load_snapshot` does per artifact.
//! * `load_snapshot_call`: `Engine::call("load_snapshot", documents)` end to end at the 100k
//!   size (the 1M documents load too, once, in the setup: its input limit follows the artifact
//!   limits), with the artifacts embedded as JSON objects (what the CLI sends);
//!   `load_snapshot_call_strings` embeds them as JSON strings holding their text.
//!
//! Each 1M-scale iteration takes seconds, so this group uses criterion's minimum of 10 flat
//! samples of one iteration each.

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, BenchmarkId, Criterion,
    SamplingMode,
};
use recsys_benches::*;
use recsys_core::bench_internals::config::TenantConfig;
use recsys_core::bench_internals::snapshot::{SignalData, TenantSnapshot, Versions};
use std::hint::black_box;
use std::time::Duration;

fn benches(c: &mut Criterion) {
    log_load("compile");
    let items = scaled(1_000_000, 20_000);
    let rows = scaled(100_000, 2_000);
    let cat = Catalog::generate(CatalogSpec::pop_cooc(items, rows));
    let data = cat.signal_data(Signals::POP_COOC);
    let config = tenant_config(&ConfigSpec::popularity().to_json());
    let arts = cat.artifacts(Signals::POP_COOC);
    let label = format!("{}_pop+{}_cooc", size_label(items), size_label(rows));
    let json_bytes: usize = arts.iter().map(|a| a.text.len()).sum();
    eprintln!("[data] compile/{label}: artifact json {json_bytes} bytes");

    // The call surface parses its input with the default JSON limits (16 MiB).
    let docs = cat.documents_json(&ConfigSpec::popularity().to_json(), None, &arts, false);
    match engine().call("load_snapshot", &docs) {
        Ok(_) => eprintln!("[data] load_snapshot accepted the {label} documents"),
        Err(e) => eprintln!(
            "[data] load_snapshot refused the {label} documents ({} bytes): {} {}",
            docs.len(),
            e.code,
            e.message
        ),
    }
    drop(docs);

    let mut g = c.benchmark_group("compile");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(if smoke() { 1 } else { 30 }));
    log_load(&format!("compile/snapshot_compile/{label}"));
    bench_snapshot_compile(&mut g, &label, &data, &config);
    log_load(&format!("compile/artifacts_json/{label}"));
    g.bench_function(BenchmarkId::new("artifacts_json", &label), |b| {
        b.iter_with_large_drop(|| compile_from_json(black_box(&arts), &config))
    });
    drop((data, arts, cat));

    // The binding path end to end, at a size the call surface admits.
    let (items, rows) = (scaled(100_000, 10_000), scaled(10_000, 1_000));
    let small = Catalog::generate(CatalogSpec::pop_cooc(items, rows));
    let label = format!("{}_pop+{}_cooc", size_label(items), size_label(rows));
    let arts = small.artifacts(Signals::POP_COOC);
    let docs = small.documents_json(&ConfigSpec::popularity().to_json(), None, &arts, false);
    eprintln!("[data] compile/{label}: documents {} bytes", docs.len());
    let docs_strings = small.documents_json(&ConfigSpec::popularity().to_json(), None, &arts, true);
    let e = engine();
    e.call("load_snapshot", &docs).expect("load_snapshot");
    e.call("load_snapshot", &docs_strings)
        .expect("load_snapshot (strings)");
    let small_data = small.signal_data(Signals::POP_COOC);
    log_load(&format!("compile/load_snapshot_call/{label}"));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(if smoke() { 1 } else { 5 }));
    g.bench_function(BenchmarkId::new("load_snapshot_call", &label), |b| {
        b.iter(|| black_box(e.call("load_snapshot", black_box(&docs)).unwrap()))
    });
    g.bench_function(
        BenchmarkId::new("load_snapshot_call_strings", &label),
        |b| b.iter(|| black_box(e.call("load_snapshot", black_box(&docs_strings)).unwrap())),
    );
    log_load(&format!("compile/artifacts_json/{label}"));
    g.bench_function(BenchmarkId::new("artifacts_json", &label), |b| {
        b.iter_with_large_drop(|| compile_from_json(black_box(&arts), &config))
    });
    log_load(&format!("compile/snapshot_compile/{label}"));
    bench_snapshot_compile(&mut g, &label, &small_data, &config);
    g.finish();
}

/// `TenantSnapshot::compile` alone, on a fresh copy of the decoded signal data per iteration.
fn bench_snapshot_compile(
    g: &mut BenchmarkGroup<'_, WallTime>,
    label: &str,
    data: &SignalData,
    config: &TenantConfig,
) {
    g.bench_function(BenchmarkId::new("snapshot_compile", label), |b| {
        b.iter_batched(
            || data.clone(),
            |d| {
                TenantSnapshot::compile(TENANT, SURFACE, config, Vec::new(), d, Versions::default())
            },
            BatchSize::PerIteration,
        )
    });
}

criterion_group!(compile, benches);
criterion_main!(compile);
