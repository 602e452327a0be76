//! `recommend` latency through the two entry points every host uses:
//!
//! * `value/...`: [`Engine::recommend`] with a typed request, answering a typed
//!   `Recommendation` (typed Rust hosts);
//! * `call/...`: [`Engine::call`]`("recommend", text)` (the binding path: JSON parse of the
//!   input, the same decision, JSON serialisation of the answer).
//!
//! Groups: catalog size (popularity-only), candidate-pool size, rule count, k, diversity,
//! the blended+rules+MMR target case, and each signal type. Every case is run once outside
//! the timed loop and its `meta.counts` checked and printed (`[case]` lines on stderr), so the
//! pool sizes quoted in `docs/performance.md` are the engine's own counts.
//!
//! `shapes/<wl>/...`: the request shapes A-E of `gen_workload.py` (`requests.json`, the same
//! bodies the Go figures in `../shared/bench/README.md` come from), on every workload named in
//! `RECSYS_BENCH_WORKLOAD` (comma-separated directories, as for the `lifecycle` bench). Each
//! shape's `env` (the reference's process settings) becomes the tenant config that means the
//! same here; D serves the workload's largest rules document.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use recsys_benches::workload::*;
use recsys_benches::*;
use recsys_core::Engine;
use recsys_core::{Context as CallContext, RecommendRequest};
use std::cell::OnceCell;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

struct Case {
    engine: Arc<Engine>,
    req: RecommendRequest,
    input: String,
    ctx: CallContext,
}

/// What a case's pool must look like (checked before timing).
enum Pool {
    /// Exactly this many candidates examined.
    Exactly(u64),
    /// At least this many (rules inject and blocks skip candidates).
    AtLeast(u64),
}

fn prepare(group: &str, id: &str, engine: Arc<Engine>, spec: &RequestSpec, pool: Pool) -> Case {
    let case = Case {
        engine,
        req: spec.typed(),
        input: spec.call_input(),
        ctx: ctx(),
    };
    let answer = case
        .engine
        .recommend(&case.req, &case.ctx)
        .unwrap_or_else(|e| panic!("{group}/{id}: recommend failed: {e:?}"));
    let c = counts(&answer);
    match pool {
        Pool::Exactly(n) => assert_eq!(c.candidates, n, "{group}/{id}: pool size {c:?}"),
        Pool::AtLeast(n) => assert!(c.candidates >= n, "{group}/{id}: pool size {c:?}"),
    }
    assert_eq!(
        c.returned, spec.k as u64,
        "{group}/{id}: short answer {c:?}"
    );
    let text = case
        .engine
        .call("recommend", &case.input)
        .unwrap_or_else(|e| panic!("{group}/{id}: call failed: {e:?}"));
    assert!(text.starts_with("{\"items\":["), "{group}/{id}: {text}");
    eprintln!(
        "[case] {group}/{id}: candidates={} after_rules={} pinned={} returned={} answer_bytes={}",
        c.candidates,
        c.after_rules,
        c.pinned,
        c.returned,
        text.len()
    );
    case
}

/// Whether either entry point of a case passes the command-line filter (cases that do not
/// are not even set up).
fn want(group: &str, id: &str) -> bool {
    wanted(&format!("recommend/{group}/value/{id}"))
        || wanted(&format!("recommend/{group}/call/{id}"))
}

fn run(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, id: &str, case: &Case) {
    g.bench_function(BenchmarkId::new("value", id), |b| {
        b.iter(|| {
            black_box(
                case.engine
                    .recommend(black_box(&case.req), &case.ctx)
                    .unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("call", id), |b| {
        b.iter(|| {
            black_box(
                case.engine
                    .call("recommend", black_box(&case.input))
                    .unwrap(),
            )
        })
    });
}

fn group<'c>(
    c: &'c mut Criterion,
    name: &str,
) -> BenchmarkGroup<'c, criterion::measurement::WallTime> {
    group_named(c, &format!("recommend/{name}"))
}

fn group_named<'c>(
    c: &'c mut Criterion,
    name: &str,
) -> BenchmarkGroup<'c, criterion::measurement::WallTime> {
    log_load(name);
    let mut g = c.benchmark_group(name);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    g
}

/// Items of the catalog most groups use (every signal).
fn main_items() -> usize {
    scaled(100_000, 5_000)
}

fn snapshot_engine(cat: &Catalog, config: &ConfigSpec, rules: Option<&RulesSpec>) -> Arc<Engine> {
    let rules = rules.map(|r| rules_json(cat, r));
    Arc::new(engine_with(compile_snapshot(
        cat,
        Signals::ALL,
        &config.to_json(),
        rules.as_deref(),
    )))
}

/// One benchmark case on the main catalog.
struct Spec {
    id: String,
    config: ConfigSpec,
    rules: Option<RulesSpec>,
    request: Box<dyn Fn(&Catalog) -> RequestSpec>,
    pool: Pool,
}

impl Spec {
    fn new(id: impl Into<String>, config: ConfigSpec, request: RequestSpec, pool: Pool) -> Spec {
        Spec {
            id: id.into(),
            config,
            rules: None,
            request: Box::new(move |_| request.clone()),
            pool,
        }
    }
    fn rules(self, rules: RulesSpec) -> Spec {
        Spec {
            rules: Some(rules),
            ..self
        }
    }
}

/// Sets up (compiles) and runs the wanted cases of a group on the main catalog, generating
/// the catalog on first use.
fn run_group(c: &mut Criterion, name: &str, cat: &OnceCell<Catalog>, specs: Vec<Spec>) {
    let specs: Vec<Spec> = specs.into_iter().filter(|s| want(name, &s.id)).collect();
    if specs.is_empty() {
        return;
    }
    let cat = cat.get_or_init(|| Catalog::generate(CatalogSpec::new(main_items())));
    let mut g = group(c, name);
    for s in specs {
        let e = snapshot_engine(cat, &s.config, s.rules.as_ref());
        let case = prepare(name, &s.id, e, &(s.request)(cat), s.pool);
        run(&mut g, &s.id, &case);
    }
    g.finish();
}

/// Popularity-only k=20 over catalogs of 10k, 100k and 1M items.
fn catalog_size(c: &mut Criterion) {
    let sizes = if smoke() {
        vec![2_000, 5_000]
    } else {
        vec![10_000, 100_000, 1_000_000]
    };
    let ids = sizes
        .into_iter()
        .map(|n| (n, format!("popularity_k20/{}", size_label(n))))
        .filter(|(_, id)| want("catalog", id))
        .collect::<Vec<_>>();
    if ids.is_empty() {
        return;
    }
    let mut g = group(c, "catalog");
    for (n, id) in ids {
        let cat = Catalog::generate(CatalogSpec::new(n));
        let e = snapshot_engine(&cat, &ConfigSpec::popularity(), None);
        drop(cat);
        let case = prepare("catalog", &id, e, &RequestSpec::new(20), Pool::Exactly(23));
        run(&mut g, &id, &case);
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    catalog_size(c);
    let cat = OnceCell::new();
    let n = main_items();
    let pool = 1_000.min(n);
    let blended = ConfigSpec::blended(pool as u32);
    pool_size(c, &cat, n);
    rule_count(c, &cat, pool, &blended);
    k_and_diversity(c, &cat, pool, &blended);
    target_case(c, &cat, pool, &blended);
    one_signal(c, &cat);
}

/// Group `pool`: the candidate-pool size.
fn pool_size(c: &mut Criterion, cat: &OnceCell<Catalog>, n: usize) {
    // Candidate-pool size: blended weights, no anchors or history, so the pool is exactly
    // the popularity fan-out.
    let specs = [100, 1_000, 10_000]
        .into_iter()
        .map(|p| {
            let p = p.min(n);
            Spec::new(
                format!("blended_k20/{}", size_label(p)),
                ConfigSpec::blended(p as u32),
                RequestSpec::new(20),
                Pool::Exactly(p as u64),
            )
        })
        .collect();
    run_group(c, "pool", cat, specs);
}

/// Group `rules`: the rule count.
fn rule_count(c: &mut Criterion, cat: &OnceCell<Catalog>, pool: usize, blended: &ConfigSpec) {
    // Rule count (all active), blended over a 1k pool. Smoke runs use a 5k catalog whose
    // brands 10k rules would all block.
    let sizes = if smoke() {
        vec![0usize, 20, 100]
    } else {
        vec![0, 100, 1_000, 10_000]
    };
    let mut specs: Vec<Spec> = sizes
        .into_iter()
        .map(|r| {
            let s = Spec::new(
                format!("pool1k_k20/{}_active", size_label(r)),
                blended.clone(),
                RequestSpec::new(20),
                Pool::AtLeast(pool as u64),
            );
            if r > 0 {
                s.rules(RulesSpec::active(r, pool))
            } else {
                s
            }
        })
        .collect();
    let half = scaled(1_000, 100);
    specs.push(
        Spec::new(
            format!("pool1k_k20/{}_half_active", size_label(half)),
            blended.clone(),
            RequestSpec::new(20),
            Pool::AtLeast(pool as u64),
        )
        .rules(RulesSpec {
            active_share: 0.5,
            ..RulesSpec::active(half, pool)
        }),
    );
    run_group(c, "rules", cat, specs);
}

/// Groups `k` and `diversity`.
fn k_and_diversity(c: &mut Criterion, cat: &OnceCell<Catalog>, pool: usize, blended: &ConfigSpec) {
    // k: popularity-only (exact top-k path) and blended + MMR over a 1k pool.
    let mut specs = Vec::new();
    for k in [20u32, 200] {
        specs.push(Spec::new(
            format!("popularity/k{k}"),
            ConfigSpec::popularity(),
            RequestSpec::new(k),
            Pool::Exactly(k as u64 + 3),
        ));
        specs.push(Spec::new(
            format!("blended_mmr_pool1k/k{k}"),
            blended.clone().with_mmr(),
            RequestSpec::new(k),
            Pool::Exactly(pool as u64),
        ));
    }
    run_group(c, "k", cat, specs);

    // Diversity: off, brand/category caps only, MMR (lambda 0.7) with caps.
    let specs = vec![
        Spec::new(
            "pool1k_k20/off",
            blended.clone(),
            RequestSpec::new(20),
            Pool::Exactly(pool as u64),
        ),
        Spec::new(
            "pool1k_k20/caps",
            blended.clone().with_caps(),
            RequestSpec::new(20),
            Pool::Exactly(pool as u64),
        ),
        Spec::new(
            "pool1k_k20/mmr_caps",
            blended.clone().with_mmr(),
            RequestSpec::new(20),
            Pool::Exactly(pool as u64),
        ),
    ];
    run_group(c, "diversity", cat, specs);
}

/// Group `target`: the target case.
fn target_case(c: &mut Criterion, cat: &OnceCell<Catalog>, pool: usize, blended: &ConfigSpec) {
    // The target case: blended, 1,000 active rules, MMR with brand/category caps, a ~1,000
    // item pool, k=20; without history, with history and pop+cooc weights, and with history
    // and every signal (whose content candidates grow the pool).
    let rules = RulesSpec::active(scaled(1_000, 100), pool);
    let target = blended.clone().with_mmr();
    let specs = [
        ("rules1k_mmr_caps/no_history", RequestSpec::new(20)),
        (
            "rules1k_mmr_caps/pop_cooc_history",
            RequestSpec::new(20)
                .user("u-000001")
                .weights([1.0, 0.5, 0.0]),
        ),
        (
            "rules1k_mmr_caps/all_signals_history",
            RequestSpec::new(20).user("u-000001"),
        ),
    ]
    .into_iter()
    .map(|(id, req)| {
        Spec::new(id, target.clone(), req, Pool::AtLeast(pool as u64)).rules(rules.clone())
    })
    .collect();
    run_group(c, "target", cat, specs);
}

/// Group `signals`: one signal at a time.
fn one_signal(c: &mut Criterion, cat: &OnceCell<Catalog>) {
    // One signal at a time. Anchors are popular items, which have co-occurrence rows.
    let anchors = |cat: &Catalog, n: usize| -> Vec<String> {
        (0..n)
            .map(|r| cat.ids[cat.by_pop[r * 7] as usize].clone())
            .collect()
    };
    let mut specs = vec![
        Spec::new(
            "implicit_user",
            ConfigSpec::popularity().with_algo("implicit"),
            RequestSpec::new(20).user("u-000002"),
            Pool::AtLeast(20),
        ),
        Spec::new(
            "session_user",
            ConfigSpec::popularity(),
            RequestSpec::new(20)
                .user("s-000003")
                .weights([0.0, 0.0, 1.0]),
            Pool::AtLeast(20),
        ),
        Spec::new(
            "all_signals_history",
            ConfigSpec::blended(200),
            RequestSpec::new(20).user("u-000004"),
            Pool::AtLeast(20),
        ),
    ];
    let mut cooc = Spec::new(
        "cooc_anchors5",
        ConfigSpec::popularity().with_algo("cooc"),
        RequestSpec::new(20),
        Pool::AtLeast(20),
    );
    cooc.request = Box::new(move |cat| RequestSpec::new(20).anchors(anchors(cat, 5)));
    let mut content = Spec::new(
        "content_anchor1",
        ConfigSpec::popularity(),
        RequestSpec::new(20),
        Pool::AtLeast(20),
    );
    content.request = Box::new(move |cat| {
        RequestSpec::new(20)
            .anchors(anchors(cat, 1))
            .weights([0.0, 0.0, 1.0])
    });
    specs.insert(0, cooc);
    specs.insert(2, content);
    run_group(c, "signals", cat, specs);
}

/// Request shapes A-E on every `gen_workload.py` output named in `RECSYS_BENCH_WORKLOAD`.
fn shapes(c: &mut Criterion) {
    let dirs = workload_dirs("RECSYS_BENCH_WORKLOAD");
    if dirs.is_empty() {
        eprintln!(
            "[note] recommend/shapes: RECSYS_BENCH_WORKLOAD is not set; request shapes A-E \
             on the gen_workload.py workloads are skipped"
        );
        return;
    }
    for dir in dirs {
        let wl = match Workload::read(&dir) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("[note] recommend/shapes: {} unreadable: {e}", dir.display());
                continue;
            }
        };
        let label = wl.label.clone();
        let group = format!("shapes/{label}");
        let names = ["A", "B", "C", "D", "E"];
        if !names.iter().any(|n| want(&group, n)) {
            continue;
        }
        let engine = Arc::new(workload_engine());
        load_workload(&engine, &wl, workload_now());
        let (_, ctx) = wl.request(20);
        let mut g = group_named(c, &format!("recommend/{group}"));
        for shape in read_shapes(&dir, &wl).expect("requests.json") {
            if !want(&group, &shape.name) {
                continue;
            }
            let rules_n = serve_shape(&engine, &wl, &shape);
            let case = Case {
                engine: engine.clone(),
                req: typed_request(&shape.body),
                input: shape.input.clone(),
                ctx: ctx.clone(),
            };
            let answer = case
                .engine
                .recommend(&case.req, &case.ctx)
                .expect("recommend");
            let n = counts(&answer);
            let name = &shape.name;
            eprintln!(
                "[case] {group}/{name}: rules={rules_n} candidates={} after_rules={} pinned={} returned={}",
                n.candidates, n.after_rules, n.pinned, n.returned
            );
            assert_eq!(n.returned, 20, "{group}/{name}: short answer {n:?}");
            run(&mut g, name, &case);
        }
        g.finish();
    }
}

criterion_group!(recommend, benches, shapes);
criterion_main!(recommend);
