//! Artifact JSON throughput (MB/s, criterion `Throughput::Bytes`).
//!
//! * `parse_artifact`: the production streaming decoder on large popularity and cooc
//!   artifacts (plus content_sim and implicit for breadth); bytes = the JSON text.
//! * `load_artifact`: decode + version-hash verification + tenant/surface check (what the
//!   loader does per blob); bytes = the JSON text.
//! * `version_hash`: the hash alone on a parsed artifact; bytes = the canonical hash input.
//! * `json_tree`: the generic tree parser (`json::parse_with`) on the same text, the parse a
//!   `load_snapshot` call pays for its whole input before any artifact is decoded.
//!
//! Outputs are dropped outside the timed region.

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use recsys_benches::*;
use recsys_core::bench_internals::artifacts::{self, ArtifactKind, ArtifactLimits};
use recsys_core::json;
use std::hint::black_box;
use std::time::Duration;

fn benches(c: &mut Criterion) {
    log_load("parse");
    let items = scaled(1_000_000, 20_000);
    let rows = scaled(100_000, 2_000);
    let big = Catalog::generate(CatalogSpec::pop_cooc(items, rows));
    let mut arts: Vec<(String, ArtifactText)> = vec![
        (
            format!("popularity/{}_items", size_label(items)),
            big.artifact(ArtifactKind::Popularity),
        ),
        (
            format!("cooc/{}_rows", size_label(rows)),
            big.artifact(ArtifactKind::Cooc),
        ),
    ];
    drop(big);
    let mid_n = scaled(100_000, 5_000);
    let mid = Catalog::generate(CatalogSpec::new(mid_n));
    arts.push((
        format!("content_sim/{}_items", size_label(mid_n)),
        mid.artifact(ArtifactKind::ContentSim),
    ));
    arts.push((
        format!("implicit/{}_users", size_label(mid.implicit.len())),
        mid.artifact(ArtifactKind::Implicit),
    ));
    drop(mid);
    let limits = ArtifactLimits::unlimited();

    let mut g = c.benchmark_group("parse");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(if smoke() { 1 } else { 3 }));
    for (id, a) in &arts {
        eprintln!("[data] parse/{id}: {} bytes", a.text.len());
        g.throughput(Throughput::Bytes(a.text.len() as u64));
        g.bench_function(BenchmarkId::new("parse_artifact", id), |b| {
            b.iter_with_large_drop(|| {
                artifacts::parse_artifact(black_box(a.text.as_bytes()), Some(a.kind), &limits)
                    .unwrap()
            })
        });
    }
    log_load("parse/load_artifact");
    for (id, a) in arts.iter().take(2) {
        g.throughput(Throughput::Bytes(a.text.len() as u64));
        g.bench_function(BenchmarkId::new("load_artifact", id), |b| {
            b.iter_with_large_drop(|| {
                artifacts::load_artifact(
                    black_box(a.text.as_bytes()),
                    a.kind,
                    &a.uri,
                    TENANT,
                    SURFACE,
                    &limits,
                )
                .unwrap()
            })
        });
        let jl = json::Limits {
            max_bytes: 1 << 30,
            ..json::Limits::default()
        };
        g.bench_function(BenchmarkId::new("json_tree", id), |b| {
            b.iter_with_large_drop(|| json::parse_with(black_box(a.text.as_bytes()), jl).unwrap())
        });
    }
    log_load("parse/version_hash");
    for (id, a) in arts.iter().take(2) {
        let parsed = artifacts::parse_artifact(a.text.as_bytes(), Some(a.kind), &limits).unwrap();
        let hashed = artifacts::canonical_hash_input(&parsed).len();
        assert_eq!(artifacts::version_hash(&parsed), a.version);
        g.throughput(Throughput::Bytes(hashed as u64));
        g.bench_function(BenchmarkId::new("version_hash", id), |b| {
            b.iter(|| artifacts::version_hash(black_box(&parsed)))
        });
    }
    g.finish();
}

criterion_group!(parse, benches);
criterion_main!(parse);
