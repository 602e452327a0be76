//! Deterministic benchmark data for `recsys-core`.
//!
//! Everything here is generated from fixed seeds by a small SplitMix64 generator: catalogs of
//! `N` items (`item-000001`, ...), Zipf-like popularity counts, co-occurrence rows, content
//! tags (`brand:bX`, `category:cY` plus 3-5 similarity tags `tZ`), implicit and session rows
//! for users, and rules documents. Nothing is downloaded and nothing depends on the clock.
//!
//! Two ways to get a serving snapshot:
//!
//! * fast: [`Catalog::signal_data`] + [`compile_snapshot`] (calls
//!   [`TenantSnapshot::compile`] directly) and then [`Engine::install`];
//! * real documents: [`Catalog::artifact`] renders artifact JSON whose `build.version` is the
//!   true version hash, [`Catalog::documents_json`] wraps them (with a manifest, config and
//!   rules) into a `load_snapshot` input.
//!
//! The bench binaries in `benches/` use these helpers; [`smoke`] tells them whether they run
//! as a quick smoke test (`cargo bench -p recsys-benches -- --test`), in which case they use
//! small sizes.

use recsys_core::bench_internals::artifacts::{
    self, Artifact, ArtifactBody, ArtifactKind, ArtifactLimits, UserRow,
};
use recsys_core::bench_internals::config::TenantConfig;
use recsys_core::bench_internals::rules::{parse_rules, RulesParseOptions};
use recsys_core::bench_internals::snapshot::{ScoredRows, SignalData, TenantSnapshot, Versions};
use recsys_core::json::{self, Value};
use recsys_core::EngineOptions;
use recsys_core::{Context as CallContext, RecommendRequest};
use recsys_core::{Engine, Recommendation};
use std::fmt::Write as _;

pub mod workload;

/// Tenant of every generated document.
pub const TENANT: &str = "bench";
/// Surface of every generated document.
pub const SURFACE: &str = "home";
/// Segment of every generated request (segment-scoped rules use it when active).
pub const SEGMENT: &str = "vip";
/// `ctx.now` of every generated call.
pub const NOW: &str = "2026-06-01T12:00:00Z";
const WINDOW_START: &str = "2026-05-31T00:00:00Z";
const WINDOW_END: &str = "2026-06-01T00:00:00Z";
/// Stands in for `build.version` until the real hash is known (never a valid hash result of
/// the documents generated here, and found only in the build block).
const VERSION_PLACEHOLDER: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

// ---------------------------------------------------------------------------------------------
// PRNG

/// SplitMix64: tiny, fast, and good enough for synthetic data.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is far below anything a benchmark sees).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A rank in `0..n` skewed towards 0: `n * u^power` (power 1 = uniform).
    pub fn skewed(&mut self, n: usize, power: f64) -> usize {
        ((self.unit().powf(power) * n as f64) as usize).min(n.saturating_sub(1))
    }
}

// ---------------------------------------------------------------------------------------------
// Catalog

/// Sizes of a generated catalog.
#[derive(Clone, Debug)]
pub struct CatalogSpec {
    pub items: usize,
    /// Anchor rows of the co-occurrence data (the most popular items get rows).
    pub cooc_rows: usize,
    /// Neighbours per co-occurrence row.
    pub cooc_width: usize,
    /// Users with implicit rows (`u-000001`, ...).
    pub users: usize,
    pub user_items: usize,
    /// Users with session rows (`s-000001`, ...).
    pub session_users: usize,
    pub session_items: usize,
    pub brands: usize,
    pub categories: usize,
    /// Size of the similarity-tag vocabulary (`t0`, `t1`, ...).
    pub vocab: usize,
    /// Whether items get content tags at all.
    pub content: bool,
    pub seed: u64,
}

impl CatalogSpec {
    /// A catalog of `items` items with every signal, sized the way a mid-size shop looks.
    pub fn new(items: usize) -> CatalogSpec {
        CatalogSpec {
            items,
            cooc_rows: items.min(20_000),
            cooc_width: 20,
            users: 10_000.min(items),
            user_items: 30,
            session_users: 10_000.min(items),
            session_items: 10,
            brands: (items / 100).clamp(200, 5_000),
            categories: (items / 500).clamp(100, 300),
            vocab: 500,
            content: true,
            seed: 0x5EED_0000 ^ items as u64,
        }
    }

    /// Popularity and co-occurrence only (the compile target: `items` popularity entries and
    /// `cooc_rows` anchor rows).
    pub fn pop_cooc(items: usize, cooc_rows: usize) -> CatalogSpec {
        CatalogSpec {
            cooc_rows: cooc_rows.min(items),
            users: 0,
            session_users: 0,
            content: false,
            ..CatalogSpec::new(items)
        }
    }
}

/// Compact per-item tags (rendered to strings only when a document needs them).
#[derive(Clone, Debug, Default)]
pub struct GenTags {
    pub brand: u32,
    pub category: u32,
    pub sim: Vec<u16>,
}

/// Which signals a snapshot or document set carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signals {
    pub popularity: bool,
    pub cooc: bool,
    pub implicit: bool,
    pub content: bool,
    pub session: bool,
}

impl Signals {
    pub const ALL: Signals = Signals {
        popularity: true,
        cooc: true,
        implicit: true,
        content: true,
        session: true,
    };
    pub const POP_COOC: Signals = Signals {
        popularity: true,
        cooc: true,
        implicit: false,
        content: false,
        session: false,
    };

    fn has(&self, kind: ArtifactKind) -> bool {
        match kind {
            ArtifactKind::Popularity => self.popularity,
            ArtifactKind::Cooc => self.cooc,
            ArtifactKind::Implicit => self.implicit,
            ArtifactKind::ContentSim => self.content,
            ArtifactKind::SessionSeq => self.session,
        }
    }
}

/// A generated catalog with all its signal data. Item `i` (0-based) is `item-{i+1:06}`.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub spec: CatalogSpec,
    pub ids: Vec<String>,
    /// Popularity count per item.
    pub pop: Vec<u64>,
    /// Item indices by popularity rank (rank 0 = most popular).
    pub by_pop: Vec<u32>,
    /// (anchor, neighbours (item, count) by count desc).
    pub cooc: Vec<(u32, Vec<(u32, u64)>)>,
    pub tags: Vec<GenTags>,
    /// (user, items (item, score)).
    pub implicit: Vec<(String, Vec<(u32, f64)>)>,
    pub session: Vec<(String, Vec<(u32, f64)>)>,
}

/// The id of item index `i`.
pub fn item_id(i: u32) -> String {
    format!("item-{:06}", i as u64 + 1)
}

/// `k` distinct values drawn by `draw`, excluding `own`.
fn distinct(k: usize, own: Option<u32>, mut draw: impl FnMut() -> u32) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::with_capacity(k);
    let mut tries = 0;
    while out.len() < k && tries < k * 50 {
        tries += 1;
        let x = draw();
        if Some(x) != own && !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

impl Catalog {
    pub fn generate(spec: CatalogSpec) -> Catalog {
        let n = spec.items;
        assert!(n > 0 && n < u32::MAX as usize);
        let mut rng = SplitMix64::new(spec.seed);
        let ids: Vec<String> = (0..n as u32).map(item_id).collect();

        // Popularity: a random permutation gives each item a rank; count ~ C / rank.
        let mut by_pop: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            by_pop.swap(i, j);
        }
        let top = 50.0 * n as f64;
        let mut pop = vec![0u64; n];
        for (rank, &item) in by_pop.iter().enumerate() {
            pop[item as usize] = ((top / (rank as f64 + 1.0)) as u64).max(1);
        }
        // Ties (equal counts) keep id order in the engine; make `by_pop` say the same.
        by_pop.sort_by(|&a, &b| pop[b as usize].cmp(&pop[a as usize]).then(a.cmp(&b)));

        let popular = |rng: &mut SplitMix64, power: f64| by_pop[rng.skewed(n, power)];
        let cooc = (0..spec.cooc_rows.min(n))
            .map(|rank| {
                let anchor = by_pop[rank];
                let nb = distinct(spec.cooc_width.min(n - 1), Some(anchor), || {
                    popular(&mut rng, 3.0)
                });
                let mut row: Vec<(u32, u64)> =
                    nb.into_iter().map(|i| (i, 1 + rng.below(500))).collect();
                row.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                (anchor, row)
            })
            .collect();

        let tags = if spec.content {
            (0..n)
                .map(|_| {
                    let brand = rng.skewed(spec.brands, 2.0) as u32;
                    let category = rng.skewed(spec.categories, 1.5) as u32;
                    let count = 3 + rng.below(3) as usize;
                    let sim = distinct(count, None, || rng.skewed(spec.vocab, 1.5) as u32)
                        .into_iter()
                        .map(|t| t as u16)
                        .collect();
                    GenTags {
                        brand,
                        category,
                        sim,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };

        let users = |prefix: &str, count: usize, per: usize, rng: &mut SplitMix64| {
            (0..count)
                .map(|u| {
                    let items = distinct(per.min(n), None, || popular(rng, 3.0));
                    let row = items
                        .into_iter()
                        .map(|i| (i, (1 + rng.below(1000)) as f64 / 100.0))
                        .collect();
                    (format!("{prefix}-{:06}", u + 1), row)
                })
                .collect::<Vec<_>>()
        };
        let implicit = users("u", spec.users, spec.user_items, &mut rng);
        let session = users("s", spec.session_users, spec.session_items, &mut rng);
        Catalog {
            spec,
            ids,
            pop,
            by_pop,
            cooc,
            tags,
            implicit,
            session,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The signals this catalog has data for.
    pub fn signals(&self) -> Signals {
        Signals {
            popularity: true,
            cooc: !self.cooc.is_empty(),
            implicit: !self.implicit.is_empty(),
            content: !self.tags.is_empty(),
            session: !self.session.is_empty(),
        }
    }

    /// The content tags of item `i` as strings.
    pub fn tag_strings(&self, i: u32) -> Vec<String> {
        let t = &self.tags[i as usize];
        let mut v = Vec::with_capacity(2 + t.sim.len());
        v.push(format!("brand:b{}", t.brand));
        v.push(format!("category:c{}", t.category));
        v.extend(t.sim.iter().map(|s| format!("t{s}")));
        v
    }

    /// The plain inputs of [`TenantSnapshot::compile`].
    pub fn signal_data(&self, which: Signals) -> SignalData {
        let scored = |rows: &[(String, Vec<(u32, f64)>)]| -> ScoredRows {
            rows.iter()
                .map(|(u, items)| {
                    let v = items.iter().map(|&(i, s)| (item_id(i), s)).collect();
                    (u.clone(), v)
                })
                .collect()
        };
        let have = self.signals();
        SignalData {
            popularity: which.popularity.then(|| {
                self.ids
                    .iter()
                    .zip(&self.pop)
                    .map(|(id, &c)| (id.clone(), c as f64))
                    .collect()
            }),
            cooc: (which.cooc && have.cooc).then(|| {
                self.cooc
                    .iter()
                    .map(|(a, row)| {
                        let v = row.iter().map(|&(i, c)| (item_id(i), c as f64)).collect();
                        (item_id(*a), v)
                    })
                    .collect()
            }),
            implicit: (which.implicit && have.implicit).then(|| scored(&self.implicit)),
            content: (which.content && have.content).then(|| {
                (0..self.len() as u32)
                    .map(|i| (item_id(i), self.tag_strings(i)))
                    .collect()
            }),
            session: (which.session && have.session).then(|| scored(&self.session)),
        }
    }

    /// The `n` most popular items with the engine's popularity-only score `c / (c + 1)`, in
    /// popularity order: the same (id, score) pool a popularity-ranked request builds.
    pub fn score_pool(&self, n: usize) -> Vec<(u32, f64)> {
        self.by_pop
            .iter()
            .take(n)
            .map(|&i| {
                let c = self.pop[i as usize] as f64;
                (i, c / (c + 1.0))
            })
            .collect()
    }

    /// Renders the artifact of `kind` as compact JSON with the correct version hash.
    pub fn artifact(&self, kind: ArtifactKind) -> ArtifactText {
        let body_key = kind.body_key();
        let mut s = String::with_capacity(self.artifact_size_hint(kind));
        let _ = write!(
            s,
            "{{\"v\":1,\"artifact_type\":\"{}\",\"tenant\":\"{TENANT}\",\"surface\":\"{SURFACE}\",\
             \"segment\":\"default\",\"window\":{{\"start\":\"{WINDOW_START}\",\"end\":\"{WINDOW_END}\"}},\
             \"{body_key}\":[",
            kind.as_str()
        );
        let sep = |s: &mut String, first: &mut bool| {
            if !*first {
                s.push(',');
            }
            *first = false;
        };
        let mut first = true;
        match kind {
            ArtifactKind::Popularity => {
                for &i in &self.by_pop {
                    sep(&mut s, &mut first);
                    let _ = write!(
                        s,
                        "{{\"item_id\":\"{}\",\"count\":{}}}",
                        self.ids[i as usize], self.pop[i as usize]
                    );
                }
            }
            ArtifactKind::Cooc => {
                for (a, row) in &self.cooc {
                    sep(&mut s, &mut first);
                    let _ = write!(s, "{{\"item_id\":\"{}\",\"items\":[", self.ids[*a as usize]);
                    let mut f2 = true;
                    for &(i, c) in row {
                        sep(&mut s, &mut f2);
                        let _ = write!(
                            s,
                            "{{\"item_id\":\"{}\",\"count\":{c}}}",
                            self.ids[i as usize]
                        );
                    }
                    s.push_str("]}");
                }
            }
            ArtifactKind::Implicit | ArtifactKind::SessionSeq => {
                let rows = if kind == ArtifactKind::Implicit {
                    &self.implicit
                } else {
                    &self.session
                };
                for (u, items) in rows {
                    sep(&mut s, &mut first);
                    let _ = write!(s, "{{\"user_id\":\"{u}\",\"items\":[");
                    let mut f2 = true;
                    for &(i, score) in items {
                        sep(&mut s, &mut f2);
                        let _ = write!(
                            s,
                            "{{\"item_id\":\"{}\",\"score\":{score}}}",
                            self.ids[i as usize]
                        );
                    }
                    s.push_str("]}");
                }
            }
            ArtifactKind::ContentSim => {
                for i in 0..self.tags.len() as u32 {
                    sep(&mut s, &mut first);
                    let _ = write!(s, "{{\"item_id\":\"{}\",\"tags\":[", self.ids[i as usize]);
                    let mut f2 = true;
                    for t in self.tag_strings(i) {
                        sep(&mut s, &mut f2);
                        let _ = write!(s, "\"{t}\"");
                    }
                    s.push_str("]}");
                }
            }
        }
        let _ = write!(
            s,
            "],\"build\":{{\"built_at\":\"{WINDOW_END}\",\"version\":\"{VERSION_PLACEHOLDER}\",\
             \"source_hash\":\"{VERSION_PLACEHOLDER}\"}}}}"
        );
        // The hash leaves the build block out, so it can be computed on the placeholder text.
        let parsed =
            artifacts::parse_artifact(s.as_bytes(), Some(kind), &ArtifactLimits::unlimited())
                .unwrap_or_else(|e| {
                    panic!("generated {} artifact does not parse: {e}", kind.as_str())
                });
        let version = artifacts::version_hash(&parsed);
        drop(parsed);
        let tail = s.len().saturating_sub(300);
        let fixed = s[tail..].replace(VERSION_PLACEHOLDER, &version);
        s.truncate(tail);
        s.push_str(&fixed);
        ArtifactText {
            kind,
            uri: format!("mem://{TENANT}/{SURFACE}/{}/{version}.json", kind.as_str()),
            version,
            text: s,
        }
    }

    fn artifact_size_hint(&self, kind: ArtifactKind) -> usize {
        400 + match kind {
            ArtifactKind::Popularity => self.len() * 44,
            ArtifactKind::Cooc => self.cooc.len() * (40 + self.spec.cooc_width * 40),
            ArtifactKind::Implicit => self.implicit.len() * (40 + self.spec.user_items * 40),
            ArtifactKind::SessionSeq => self.session.len() * (40 + self.spec.session_items * 40),
            ArtifactKind::ContentSim => self.tags.len() * 90,
        }
    }

    /// Every artifact of `which` (that the catalog has data for), in publish order.
    pub fn artifacts(&self, which: Signals) -> Vec<ArtifactText> {
        let have = self.signals();
        ArtifactKind::ALL
            .into_iter()
            .filter(|k| which.has(*k) && have.has(*k))
            .map(|k| self.artifact(k))
            .collect()
    }

    /// A `load_snapshot` input: tenant, surface, config, rules, a manifest pointing at
    /// `arts` and the artifacts themselves, embedded as JSON objects (what the CLI sends) or,
    /// with `as_strings`, as JSON strings holding their raw text.
    pub fn documents_json(
        &self,
        config: &str,
        rules: Option<&str>,
        arts: &[ArtifactText],
        as_strings: bool,
    ) -> String {
        let total: usize = arts.iter().map(|a| a.text.len() + 200).sum();
        let mut s = String::with_capacity(total + config.len() + rules.map_or(0, str::len) + 1024);
        let _ = write!(
            s,
            "{{\"tenant\":\"{TENANT}\",\"surface\":\"{SURFACE}\",\"config\":{config}"
        );
        if let Some(r) = rules {
            let _ = write!(s, ",\"rules\":{r}");
        }
        let _ = write!(s, ",\"manifest\":{},\"artifacts\":{{", manifest_json(arts));
        for (i, a) in arts.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "\"{}\":", a.uri);
            if as_strings {
                s.push_str(&json::to_string(&Value::str(a.text.as_str())));
            } else {
                s.push_str(&a.text);
            }
        }
        s.push_str("}}");
        s
    }
}

/// One rendered artifact.
#[derive(Clone, Debug)]
pub struct ArtifactText {
    pub kind: ArtifactKind,
    pub version: String,
    /// `mem://tenant/surface/kind/<version>.json` (the loader checks the version in the name).
    pub uri: String,
    pub text: String,
}

/// Manifest v1 pointing at `arts`.
pub fn manifest_json(arts: &[ArtifactText]) -> String {
    let current: Vec<String> = arts
        .iter()
        .map(|a| format!("\"{}\":\"{}\"", a.kind.as_str(), a.uri))
        .collect();
    format!(
        "{{\"v\":1,\"tenant\":\"{TENANT}\",\"surface\":\"{SURFACE}\",\"current\":{{{}}},\"updated_at\":\"{WINDOW_END}\"}}",
        current.join(",")
    )
}

// ---------------------------------------------------------------------------------------------
// Config, rules, requests

/// A tenant config document.
#[derive(Clone, Debug)]
pub struct ConfigSpec {
    pub algo: &'static str,
    /// (pop, cooc, emb); `None` leaves weights unset (popularity-only for `blend`).
    pub weights: Option<[f64; 3]>,
    pub popularity_fanout: u32,
    pub max_k: u32,
    pub mmr_lambda: f64,
    pub brand_cap: u32,
    pub category_cap: u32,
}

impl ConfigSpec {
    /// `blend` with no weights: popularity-only ranking (the engine's exact top-k path).
    pub fn popularity() -> ConfigSpec {
        ConfigSpec {
            algo: "blend",
            weights: None,
            popularity_fanout: 200,
            max_k: 200,
            mmr_lambda: 0.0,
            brand_cap: 0,
            category_cap: 0,
        }
    }

    /// Blended weights (pop 1, cooc 0.5, emb 0.25) with a popularity fan-out of `pool`: the
    /// candidate pool of a request without anchors or history is exactly `pool` items.
    pub fn blended(pool: u32) -> ConfigSpec {
        ConfigSpec {
            weights: Some([1.0, 0.5, 0.25]),
            popularity_fanout: pool,
            ..ConfigSpec::popularity()
        }
    }

    /// MMR (lambda 0.7) with brand cap 2 and category cap 3.
    pub fn with_mmr(self) -> ConfigSpec {
        ConfigSpec {
            mmr_lambda: 0.7,
            brand_cap: 2,
            category_cap: 3,
            ..self
        }
    }

    /// Brand cap 2 and category cap 3 without MMR.
    pub fn with_caps(self) -> ConfigSpec {
        ConfigSpec {
            brand_cap: 2,
            category_cap: 3,
            ..self
        }
    }

    pub fn with_algo(self, algo: &'static str) -> ConfigSpec {
        ConfigSpec { algo, ..self }
    }

    pub fn to_json(&self) -> String {
        let mut s = format!("{{\"algo\":\"{}\"", self.algo);
        if let Some([p, c, e]) = self.weights {
            let _ = write!(s, ",\"weights\":{{\"pop\":{p},\"cooc\":{c},\"emb\":{e}}}");
        }
        let _ = write!(
            s,
            ",\"limits\":{{\"max_k\":{},\"popularity_fanout\":{}}}",
            self.max_k, self.popularity_fanout
        );
        let _ = write!(
            s,
            ",\"diversity\":{{\"mmr_lambda\":{},\"brand_cap\":{},\"category_cap\":{}}}}}",
            self.mmr_lambda, self.brand_cap, self.category_cap
        );
        s
    }
}

/// A rules document.
#[derive(Clone, Debug)]
pub struct RulesSpec {
    pub count: usize,
    /// Share of rules active for a request in segment [`SEGMENT`] at [`NOW`]; the others are
    /// expired, not yet started, or scoped to another segment.
    pub active_share: f64,
    /// Item targets are drawn half from the `pool_hint` most popular items (so they meet the
    /// candidate pool) and half from the whole catalog (so boosts inject candidates).
    pub pool_hint: usize,
    pub seed: u64,
}

impl RulesSpec {
    pub fn active(count: usize, pool_hint: usize) -> RulesSpec {
        RulesSpec {
            count,
            active_share: 1.0,
            pool_hint,
            seed: 0x2u64 << 32 | count as u64,
        }
    }
}

/// Renders a rules document: 10% pins, 25% blocks, 65% boosts. Pins and boosts target items
/// (45%, 1-3 ids), similarity tags (25%), brands (15%) or categories (15%); blocks name items
/// (90%) or a brand picked uniformly, so mostly a long-tail one (10%). Priorities
/// 0-99; a third of the rules carry a validity window and a tenth a segment scope; every rule
/// is scoped to [`SURFACE`].
pub fn rules_json(cat: &Catalog, spec: &RulesSpec) -> String {
    let mut rng = SplitMix64::new(spec.seed);
    let mut s = String::with_capacity(spec.count * 200 + 2);
    s.push('[');
    let pool = spec.pool_hint.clamp(1, cat.len());
    let brands = cat.spec.brands.max(1);
    let cats = cat.spec.categories.max(1);
    for r in 0..spec.count {
        if r > 0 {
            s.push(',');
        }
        let action = match rng.below(100) {
            0..=9 => "pin",
            10..=34 => "block",
            _ => "boost",
        };
        let roll = rng.below(100);
        let target = if action == "block" && roll >= 90 && !cat.tags.is_empty() {
            // A rare brand (uniform pick, so mostly from the long tail).
            format!(
                "\"target_type\":\"brand\",\"key\":\"b{}\"",
                rng.below(brands as u64)
            )
        } else if action == "block" || roll < 45 || cat.tags.is_empty() {
            let n = 1 + rng.below(3) as usize;
            let ids: Vec<String> = (0..n)
                .map(|_| {
                    let i = if rng.below(2) == 0 {
                        cat.by_pop[rng.below(pool as u64) as usize]
                    } else {
                        cat.by_pop[rng.skewed(cat.len(), 2.0)]
                    };
                    format!("\"{}\"", cat.ids[i as usize])
                })
                .collect();
            format!("\"target_type\":\"item\",\"item_ids\":[{}]", ids.join(","))
        } else if roll < 70 {
            format!(
                "\"target_type\":\"tag\",\"key\":\"t{}\"",
                rng.skewed(cat.spec.vocab, 1.5)
            )
        } else if roll < 85 {
            format!(
                "\"target_type\":\"brand\",\"key\":\"b{}\"",
                rng.skewed(brands, 2.0)
            )
        } else {
            format!(
                "\"target_type\":\"category\",\"key\":\"c{}\"",
                rng.skewed(cats, 1.5)
            )
        };
        let _ = write!(
            s,
            "{{\"action\":\"{action}\",{target},\"priority\":{},\"surface\":\"{SURFACE}\",\"name\":\"rule {r}\"",
            rng.below(100)
        );
        if action == "boost" {
            let v = if rng.below(5) == 0 {
                -0.3
            } else {
                (1 + rng.below(10)) as f64 / 10.0
            };
            let _ = write!(s, ",\"boost_value\":{v}");
        }
        if action == "pin" {
            let _ = write!(s, ",\"max_pins\":{}", 1 + rng.below(2));
        }
        let active = rng.unit() < spec.active_share;
        let windowed = rng.below(3) == 0;
        let scoped = rng.below(10) == 0;
        match (active, windowed, scoped) {
            (true, true, _) => s.push_str(
                ",\"valid_from\":\"2026-01-01T00:00:00Z\",\"valid_until\":\"2027-01-01T00:00:00Z\"",
            ),
            (false, true, _) | (false, false, false) => {
                if rng.below(2) == 0 {
                    s.push_str(",\"valid_until\":\"2026-03-01T00:00:00Z\"");
                } else {
                    s.push_str(",\"valid_from\":\"2026-09-01T00:00:00Z\"");
                }
            }
            _ => {}
        }
        if scoped {
            let seg = if active { SEGMENT } else { "other" };
            let _ = write!(s, ",\"segment\":\"{seg}\"");
        }
        s.push('}');
    }
    s.push(']');
    s
}

/// A recommend request.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    pub k: u32,
    pub user: String,
    pub anchors: Vec<String>,
    /// (pop, cooc, emb) request weights; `None` uses the config's.
    pub weights: Option<[f64; 3]>,
}

impl RequestSpec {
    /// k items for a user with no history (anchors none, weights from the config).
    pub fn new(k: u32) -> RequestSpec {
        RequestSpec {
            k,
            user: "anon-000001".into(),
            anchors: Vec::new(),
            weights: None,
        }
    }

    pub fn user(self, user: impl Into<String>) -> RequestSpec {
        RequestSpec {
            user: user.into(),
            ..self
        }
    }

    pub fn anchors(self, anchors: Vec<String>) -> RequestSpec {
        RequestSpec { anchors, ..self }
    }

    pub fn weights(self, w: [f64; 3]) -> RequestSpec {
        RequestSpec {
            weights: Some(w),
            ..self
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = format!(
            "{{\"surface\":\"{SURFACE}\",\"segment\":\"{SEGMENT}\",\"k\":{},\"user\":{{\"user_id\":\"{}\"}}",
            self.k, self.user
        );
        if !self.anchors.is_empty() {
            let ids: Vec<String> = self.anchors.iter().map(|a| format!("\"{a}\"")).collect();
            let _ = write!(s, ",\"anchors\":{{\"item_ids\":[{}]}}", ids.join(","));
        }
        if let Some([p, c, e]) = self.weights {
            let _ = write!(s, ",\"weights\":{{\"pop\":{p},\"cooc\":{c},\"emb\":{e}}}");
        }
        s.push('}');
        s
    }

    /// The request as a parsed JSON value (what [`Engine::recommend`] takes).
    pub fn value(&self) -> Value {
        json::parse(self.to_json().as_bytes()).expect("generated request parses")
    }

    /// The request typed (what [`Engine::recommend`] takes).
    pub fn typed(&self) -> RecommendRequest {
        typed_request(&self.value())
    }

    /// The `Engine::call("recommend", ...)` input text.
    pub fn call_input(&self) -> String {
        format!("{{\"request\":{},\"ctx\":{}}}", self.to_json(), ctx_json())
    }
}

/// A JSON request decoded into the typed request (with limits no generated request
/// reaches: the engine checks it against the surface's own).
pub fn typed_request(v: &Value) -> RecommendRequest {
    let limits = recsys_core::bench_internals::config::Limits {
        max_k: u32::MAX,
        max_include_ids: usize::MAX,
        max_exclude_ids: usize::MAX,
        max_anchors: usize::MAX,
        max_tags: usize::MAX,
        ..Default::default()
    };
    recsys_core::bench_internals::request_from_value(v, &limits)
        .expect("generated request decodes")
        .0
}

/// The call context of every generated call.
pub fn ctx_json() -> String {
    format!("{{\"now\":\"{NOW}\",\"tenant\":\"{TENANT}\",\"request_id\":\"bench-1\"}}")
}

pub fn ctx() -> CallContext {
    CallContext::from_value(&json::parse(ctx_json().as_bytes()).expect("ctx parses"))
        .expect("valid ctx")
}

// ---------------------------------------------------------------------------------------------
// Snapshots and engines

/// An engine whose artifact limits admit the large generated artifacts (the default limits
/// stop at 10 MB per artifact).
pub fn engine() -> Engine {
    let mut options = EngineOptions::default();
    options.artifact_limits = ArtifactLimits::unlimited();
    Engine::with_options(options)
}

/// Parses a config document (panics on an invalid one: generator bug).
pub fn tenant_config(config: &str) -> TenantConfig {
    let v = json::parse(config.as_bytes()).expect("config parses");
    TenantConfig::from_value(&v).expect("valid config").0
}

/// Parses a rules document leniently, as `load_snapshot` does.
pub fn parse_rule_list(rules: &str) -> Vec<recsys_core::bench_internals::rules::Rule> {
    let mut opts = RulesParseOptions::lenient(TENANT);
    opts.json_limits.max_bytes = 1 << 30;
    let doc = parse_rules(rules.as_bytes(), &opts).expect("rules parse");
    assert!(doc.dropped.is_empty(), "generated rules were dropped");
    doc.rules
}

/// Version strings a real load would report (so responses carry the same meta).
fn versions(config: &str, rules: Option<&str>, which: Signals) -> Versions {
    let etag = |s: &str| Some(json::etag(s.as_bytes()).expect("etag"));
    Versions {
        config_version: etag(config),
        rules_version: rules.and_then(etag),
        manifest_version: Some("f".repeat(40)),
        artifacts: ArtifactKind::ALL
            .into_iter()
            .filter(|k| which.has(*k))
            .map(|k| (k.as_str().to_string(), "a".repeat(64)))
            .collect(),
        ..Versions::default()
    }
}

/// Compiles a snapshot straight from generated data (no JSON artifacts).
pub fn compile_snapshot(
    cat: &Catalog,
    which: Signals,
    config: &str,
    rules: Option<&str>,
) -> TenantSnapshot {
    let rule_list = rules.map(parse_rule_list).unwrap_or_default();
    TenantSnapshot::compile(
        TENANT,
        SURFACE,
        &tenant_config(config),
        rule_list,
        cat.signal_data(which),
        versions(config, rules, which.intersect(cat.signals())),
    )
}

impl Signals {
    pub fn intersect(self, o: Signals) -> Signals {
        Signals {
            popularity: self.popularity && o.popularity,
            cooc: self.cooc && o.cooc,
            implicit: self.implicit && o.implicit,
            content: self.content && o.content,
            session: self.session && o.session,
        }
    }
}

/// Converts loaded artifacts into [`SignalData`] the way `load_snapshot` does (counts as
/// `f64`, rows in document order), so the JSON path can be timed with public pieces only:
/// [`artifacts::load_artifact`] per blob, this, then [`TenantSnapshot::compile`].
pub fn signal_data_from(loaded: Vec<Artifact>) -> SignalData {
    let users = |rows: Option<Vec<UserRow>>| -> ScoredRows {
        rows.unwrap_or_default()
            .into_iter()
            .map(|u| {
                let items = u.items.unwrap_or_default();
                (
                    u.user_id,
                    items.into_iter().map(|i| (i.item_id, i.score)).collect(),
                )
            })
            .collect()
    };
    let mut d = SignalData::default();
    for a in loaded {
        match a.body {
            ArtifactBody::Popularity(p) => {
                d.popularity = Some(
                    p.items
                        .unwrap_or_default()
                        .into_iter()
                        .map(|i| (i.item_id, i.count as f64))
                        .collect(),
                )
            }
            ArtifactBody::Cooc(c) => {
                d.cooc = Some(
                    c.neighbors
                        .unwrap_or_default()
                        .into_iter()
                        .map(|r| {
                            let nb = r.items.unwrap_or_default();
                            (
                                r.item_id,
                                nb.into_iter()
                                    .map(|n| (n.item_id, n.count as f64))
                                    .collect(),
                            )
                        })
                        .collect(),
                )
            }
            ArtifactBody::Implicit(i) => d.implicit = Some(users(i.users)),
            ArtifactBody::SessionSeq(s) => d.session = Some(users(s.users)),
            ArtifactBody::ContentSim(c) => {
                d.content = Some(
                    c.items
                        .unwrap_or_default()
                        .into_iter()
                        .map(|i| (i.item_id, i.tags.unwrap_or_default()))
                        .collect(),
                )
            }
        }
    }
    d
}

/// The JSON path without the call surface: every artifact parsed and verified
/// ([`artifacts::load_artifact`]), converted, and compiled with `config` and no rules.
pub fn compile_from_json(arts: &[ArtifactText], config: &TenantConfig) -> TenantSnapshot {
    let limits = ArtifactLimits::unlimited();
    let loaded: Vec<Artifact> = arts
        .iter()
        .map(|a| {
            artifacts::load_artifact(a.text.as_bytes(), a.kind, &a.uri, TENANT, SURFACE, &limits)
                .unwrap_or_else(|e| panic!("{}: {e}", a.uri))
        })
        .collect();
    let versions = Versions {
        artifacts: loaded
            .iter()
            .map(|a| {
                (
                    a.kind().as_str().to_string(),
                    a.envelope.build.version.clone(),
                )
            })
            .collect(),
        ..Versions::default()
    };
    TenantSnapshot::compile(
        TENANT,
        SURFACE,
        config,
        Vec::new(),
        signal_data_from(loaded),
        versions,
    )
}

/// An engine serving one compiled snapshot.
pub fn engine_with(snap: TenantSnapshot) -> Engine {
    let e = engine();
    recsys_core::bench_internals::install(&e, snap);
    e
}

/// `meta.counts` of a recommend answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub candidates: u64,
    pub after_rules: u64,
    pub pinned: u64,
    pub returned: u64,
}

pub fn counts(answer: &Recommendation) -> Counts {
    let c = &answer.meta.counts;
    Counts {
        candidates: c.candidates,
        after_rules: c.after_rules,
        pinned: c.pinned,
        returned: c.returned,
    }
}

// ---------------------------------------------------------------------------------------------
// Bench-run helpers

/// True when the bench binary runs as a smoke test (`-- --test`, or
/// `RECSYS_BENCH_SMOKE=1`): the benches then use small data.
pub fn smoke() -> bool {
    std::env::args().any(|a| a == "--test")
        || std::env::var("RECSYS_BENCH_SMOKE").is_ok_and(|v| v == "1")
}

/// `n`, or `small` in smoke mode.
pub fn scaled(n: usize, small: usize) -> usize {
    if smoke() {
        small.min(n)
    } else {
        n
    }
}

/// The benchmark filter given on the command line (`cargo bench -- FILTER`), if any.
pub fn bench_filter() -> Option<String> {
    // Criterion options that take a value (so the value is not mistaken for the filter).
    const WITH_VALUE: &[&str] = &[
        "-c",
        "--color",
        "-s",
        "--save-baseline",
        "-b",
        "--baseline",
        "--baseline-lenient",
        "--format",
        "--profile-time",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--plotting-backend",
        "--output-format",
    ];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if WITH_VALUE.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

/// Whether a benchmark id can match the command-line filter, so that benches can skip the
/// setup of cases that will not run. A filter with regex syntax matches everything here
/// (criterion still applies it).
pub fn wanted(id: &str) -> bool {
    match bench_filter() {
        None => true,
        Some(f) if f.chars().any(|c| "\\^$.|?*+()[]{}".contains(c)) => true,
        Some(f) => id.contains(&f),
    }
}

/// The 1, 5 and 15 minute load averages (from `/proc/loadavg`), for the bench logs.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

/// Prints a `[load]` line (stderr) so that each figure has the load it was taken under.
pub fn log_load(what: &str) {
    eprintln!("[load] {what}: loadavg {}", loadavg());
}

/// Human form of a size (`10k`, `1M`).
pub fn size_label(n: usize) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 && n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// Runs `call` at least `iters` times in batches of `batch` and prints `label: N calls, min
/// and median of the per-batch mean times` (the minimum is the least disturbed figure on a
/// busy machine). Used by the profiling examples.
pub fn print_batch_means(label: &str, iters: usize, batch: usize, mut call: impl FnMut()) {
    let batch = batch.clamp(1, iters.max(1));
    let mut means = Vec::new();
    let mut done = 0;
    while done < iters {
        let t = std::time::Instant::now();
        for _ in 0..batch {
            call();
        }
        means.push(t.elapsed().as_secs_f64() * 1e6 / batch as f64);
        done += batch;
    }
    means.sort_by(f64::total_cmp);
    println!(
        "{label}: {done} calls, min {:.1} µs, median {:.1} µs",
        means[0],
        means[means.len() / 2]
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Catalog {
        Catalog::generate(CatalogSpec {
            cooc_rows: 200,
            users: 50,
            session_users: 50,
            ..CatalogSpec::new(2_000)
        })
    }

    #[test]
    fn generation_is_deterministic() {
        let a = small();
        let b = small();
        assert_eq!(a.ids, b.ids);
        assert_eq!(a.pop, b.pop);
        assert_eq!(a.by_pop, b.by_pop);
        assert_eq!(a.cooc, b.cooc);
        assert_eq!(a.implicit, b.implicit);
        assert_eq!(
            rules_json(&a, &RulesSpec::active(50, 100)),
            rules_json(&b, &RulesSpec::active(50, 100))
        );
        assert_eq!(a.ids[0], "item-000001");
        assert!(a.pop[a.by_pop[0] as usize] >= a.pop[a.by_pop[1] as usize]);
    }

    #[test]
    fn documents_load_and_serve() {
        let cat = small();
        let arts = cat.artifacts(Signals::ALL);
        assert_eq!(arts.len(), 5);
        let rules = rules_json(&cat, &RulesSpec::active(40, 100));
        let cfg = ConfigSpec::blended(100).with_mmr().to_json();
        for as_strings in [false, true] {
            let docs = cat.documents_json(&cfg, Some(&rules), &arts, as_strings);
            let e = engine();
            let report = e.call("load_snapshot", &docs).expect("load_snapshot");
            assert!(report.contains("\"items\":2000"), "{report}");
            let out = e
                .call("recommend", &RequestSpec::new(20).call_input())
                .expect("recommend");
            assert!(out.contains("\"rank\":20"), "{out}");
        }
        let e = engine_with(compile_snapshot(&cat, Signals::ALL, &cfg, Some(&rules)));
        let a = e.recommend(&RequestSpec::new(20).typed(), &ctx()).unwrap();
        let c = counts(&a);
        assert_eq!(c.returned, 20);
        assert!(c.candidates >= 100, "{c:?}");
    }

    #[test]
    fn pool_size_follows_fanout() {
        let cat = small();
        let e = engine_with(compile_snapshot(
            &cat,
            Signals::ALL,
            &ConfigSpec::blended(500).to_json(),
            None,
        ));
        let a = e.recommend(&RequestSpec::new(20).typed(), &ctx()).unwrap();
        assert_eq!(counts(&a).candidates, 500);
        let e = engine_with(compile_snapshot(
            &cat,
            Signals::ALL,
            &ConfigSpec::popularity().to_json(),
            None,
        ));
        let a = e.recommend(&RequestSpec::new(20).typed(), &ctx()).unwrap();
        assert_eq!(counts(&a).candidates, 23);
    }
}
