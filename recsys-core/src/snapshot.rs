//! Compiled tenant snapshots: config + rules + artifacts of one tenant/surface, compiled once
//! into an immutable, `Send + Sync` structure with interned item ids and the indexes ranking
//! needs. Item ids are interned in byte order, so comparing two interned ids is the same as
//! comparing the strings: tie-breaks "by item id" cost one integer compare.

use crate::candidates::IdHasher;
use crate::config::{SurfaceConfig, TenantConfig};
use crate::request::normalize_tag;
use crate::rules::Rule;
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasher, Hasher};

/// Dense id of an item in a snapshot (rank of the id string in byte order).
pub type ItemIdx = u32;
/// Dense id of a normalised tag in a snapshot.
pub type TagIdx = u32;

/// Max neighbours kept per anchor row (cooc) and per user row (implicit, session).
pub const MAX_NEIGHBOURS_PER_ROW: usize = 200;

/// Builds [`StrHasher`]s from a per-process random seed, so ids crafted to collide under one
/// seed do not collide under another (a tenant's artifacts cannot degrade lookups on purpose).
#[derive(Clone, Copy, Debug)]
pub struct StrHashState {
    seed: u64,
}

impl Default for StrHashState {
    fn default() -> StrHashState {
        StrHashState {
            seed: std::collections::hash_map::RandomState::new().hash_one(0x5EED_u64),
        }
    }
}

impl BuildHasher for StrHashState {
    type Hasher = StrHasher;
    fn build_hasher(&self) -> StrHasher {
        StrHasher(self.seed)
    }
}

const FOLD_K: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = (a as u128) * (b as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A fast string hasher (a folded 64x64→128 multiply per 8-byte word), several times cheaper
/// than SipHash on short ids; interning a million ids is dominated by hashing otherwise.
#[derive(Clone, Copy, Debug)]
pub struct StrHasher(u64);

impl Hasher for StrHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = fold_mul(self.0 ^ bytes.len() as u64, FOLD_K);
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            h = fold_mul(h ^ u64::from_le_bytes(b), FOLD_K);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            h = fold_mul(h ^ u64::from_le_bytes(b), FOLD_K);
        }
        self.0 = h;
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = fold_mul(self.0 ^ i as u64, FOLD_K);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by strings with the fast seeded hasher (snapshot-owned lookups).
pub type StrMap<V> = HashMap<Box<str>, V, StrHashState>;

/// Interned strings with byte-order ids.
#[derive(Debug, Default)]
pub struct Interner {
    names: Vec<Box<str>>,
    index: StrMap<u32>,
}

impl Interner {
    fn from_sorted(names: Vec<Box<str>>) -> Interner {
        let mut index = StrMap::with_capacity_and_hasher(names.len(), StrHashState::default());
        index.extend(names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)));
        Interner { names, index }
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }
    pub fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map(|b| &**b).unwrap_or("")
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Which signals the snapshot has data for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Available {
    pub popularity: bool,
    pub cooc: bool,
    pub implicit: bool,
    pub content: bool,
    pub session: bool,
}

/// Per-item tag data, split the way rules and diversity need it.
#[derive(Debug, Default, Clone)]
pub struct ItemTags {
    /// All normalised tags, sorted (constraints, `max_per_tag`, TAG rules on prefixed tags).
    pub all: Box<[TagIdx]>,
    /// Tags that are neither brand nor category (MMR similarity, TAG rules), sorted.
    pub sim: Box<[TagIdx]>,
    /// Brand values (after the prefix), sorted.
    pub brands: Box<[TagIdx]>,
    /// Category values, sorted.
    pub categories: Box<[TagIdx]>,
}

/// Rows keyed by an id (anchor item or user), each with scored items.
pub type ScoredRows = Vec<(String, Vec<(String, f64)>)>;

/// Plain inputs a snapshot is compiled from; artifacts and DB-only hosts both produce this.
#[derive(Debug, Default, Clone)]
pub struct SignalData {
    /// (item, count) in any order.
    pub popularity: Option<Vec<(String, f64)>>,
    /// anchor → neighbours (item, count).
    pub cooc: Option<ScoredRows>,
    /// user → items (item, score).
    pub implicit: Option<ScoredRows>,
    /// item → tags.
    pub content: Option<Vec<(String, Vec<String>)>>,
    /// user → next items (item, score).
    pub session: Option<ScoredRows>,
}

/// Version information reported in response meta.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Versions {
    pub config_version: Option<String>,
    pub rules_version: Option<String>,
    pub manifest_version: Option<String>,
    /// The release serving config and rules came from, when they were published as one.
    pub release_id: Option<String>,
    /// (artifact kind, version) in publish order.
    pub artifacts: Vec<(String, String)>,
    pub manifest_updated_at: Option<Timestamp>,
    /// The earliest `window.end` among the artifacts (freshness).
    pub oldest_window_end: Option<Timestamp>,
}

/// What compiling dropped or clamped (never silent).
#[derive(Debug, Default, Clone)]
pub struct CompileNotes {
    pub notes: Vec<crate::error::Problem>,
}

/// An immutable compiled snapshot of one tenant/surface.
#[derive(Debug)]
pub struct TenantSnapshot {
    pub tenant: String,
    pub surface: String,
    pub config: SurfaceConfig,
    /// The whole tenant config (per-surface overrides for fallback requests).
    pub tenant_config: TenantConfig,
    pub algo_explicit: bool,
    pub versions: Versions,
    pub available: Available,
    pub items: Interner,
    pub tags: Interner,
    /// Per item (by `ItemIdx`).
    pub item_tags: Vec<ItemTags>,
    /// Raw popularity count per item (0 when absent).
    pub pop_count: Vec<f64>,
    /// Items with a popularity entry, by count desc then id asc.
    pub pop_order: Vec<ItemIdx>,
    /// Co-occurrence rows in CSR form: neighbours of item `i` are `cooc_nbrs[cooc_off[i]..cooc_off[i+1]]`.
    cooc_off: Vec<u32>,
    cooc_nbrs: Vec<(ItemIdx, f64)>,
    /// user key → items by score desc, id asc.
    pub implicit: StrMap<Box<[(ItemIdx, f64)]>>,
    pub session: StrMap<Box<[(ItemIdx, f64)]>>,
    /// tag → items carrying it as a similarity tag, by popularity desc then id asc.
    pub tag_postings: Vec<Box<[ItemIdx]>>,
    /// Enabled rules, priority desc (stable); scopes are checked per request.
    pub rules: Vec<Rule>,
    /// Targets of `rules`, resolved to interned ids (same order).
    pub rule_targets: Vec<crate::rules::eval::RuleTarget>,
    pub notes: CompileNotes,
}

fn clean(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        x
    } else {
        0.0
    }
}

fn sort_scored(v: &mut [(ItemIdx, f64)]) {
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

impl TenantSnapshot {
    /// Compiles a snapshot. `rules` must already be parsed; rules that cannot apply to this
    /// surface or are disabled are dropped here (their count is noted).
    pub fn compile(
        tenant: &str,
        surface: &str,
        config: &TenantConfig,
        rules: Vec<Rule>,
        data: SignalData,
        versions: Versions,
    ) -> TenantSnapshot {
        let sc = config.for_surface(surface);
        let mut notes = CompileNotes::default();
        // 1. Intern every item id, in byte order (one sort + dedup of all occurrences: far
        // cheaper than a tree insert per occurrence when most are duplicates).
        let mut ids: Vec<&str> = Vec::new();
        let mut tagset: BTreeSet<String> = BTreeSet::new();
        if let Some(p) = &data.popularity {
            ids.extend(p.iter().map(|(i, _)| i.as_str()));
        }
        for rows in [&data.cooc, &data.implicit, &data.session]
            .into_iter()
            .flatten()
        {
            for (_, items) in rows {
                ids.extend(items.iter().map(|(i, _)| i.as_str()));
            }
        }
        if let Some(c) = &data.cooc {
            ids.extend(c.iter().map(|(a, _)| a.as_str()));
        }
        if let Some(c) = &data.content {
            for (i, tags) in c {
                ids.push(i.as_str());
                for t in tags {
                    let n = normalize_tag(t);
                    if !n.is_empty() {
                        tagset.insert(n);
                    }
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|s| !s.is_empty());
        let items = Interner::from_sorted(ids.iter().map(|s| Box::<str>::from(*s)).collect());
        drop(ids);
        let n = items.len();

        // 2. Tags: intern full tags plus brand/category values (as "tags" too, so one id space).
        let brand_p = &sc.diversity.brand_tag_prefixes;
        let cat_p = &sc.diversity.category_tag_prefixes;
        let split = |t: &str| -> (Option<String>, Option<String>) {
            for p in brand_p {
                if let Some(rest) = t.strip_prefix(p.as_str()) {
                    let r = rest.trim();
                    if !r.is_empty() {
                        return (Some(r.to_string()), None);
                    }
                }
            }
            for p in cat_p {
                if let Some(rest) = t.strip_prefix(p.as_str()) {
                    let r = rest.trim();
                    if !r.is_empty() {
                        return (None, Some(r.to_string()));
                    }
                }
            }
            (None, None)
        };
        let mut all_names = tagset.clone();
        for t in &tagset {
            let (b, c) = split(t);
            all_names.extend(b);
            all_names.extend(c);
        }
        let tags = Interner::from_sorted(all_names.into_iter().map(Box::<str>::from).collect());
        let mut item_tags = vec![ItemTags::default(); n];
        if let Some(c) = &data.content {
            for (item, raw) in c {
                let Some(ix) = items.get(item) else { continue };
                let (mut all, mut sim, mut brands, mut cats) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for t in raw {
                    let nt = normalize_tag(t);
                    let Some(tid) = tags.get(&nt) else { continue };
                    all.push(tid);
                    match split(&nt) {
                        (Some(b), _) => brands.extend(tags.get(&b)),
                        (_, Some(c)) => cats.extend(tags.get(&c)),
                        _ => sim.push(tid),
                    }
                }
                for v in [&mut all, &mut sim, &mut brands, &mut cats] {
                    v.sort_unstable();
                    v.dedup();
                }
                // Later rows for the same item replace earlier ones (last wins).
                item_tags[ix as usize] = ItemTags {
                    all: all.into(),
                    sim: sim.into(),
                    brands: brands.into(),
                    categories: cats.into(),
                };
            }
        }

        // 3. Popularity: last duplicate's count wins.
        let mut pop_count = vec![0.0; n];
        let mut has_pop = vec![false; n];
        if let Some(p) = &data.popularity {
            for (i, c) in p {
                if let Some(ix) = items.get(i) {
                    pop_count[ix as usize] = clean(*c);
                    has_pop[ix as usize] = true;
                }
            }
        }
        let mut pop_order: Vec<ItemIdx> = (0..n as u32).filter(|&i| has_pop[i as usize]).collect();
        pop_order.sort_by(|&a, &b| {
            pop_count[b as usize]
                .total_cmp(&pop_count[a as usize])
                .then(a.cmp(&b))
        });

        // 4. Co-occurrence CSR (first row per anchor wins, as the reference's lookup).
        let mut rows: Vec<Option<Vec<(ItemIdx, f64)>>> = vec![None; n];
        let mut truncated_rows = 0usize;
        if let Some(c) = &data.cooc {
            for (anchor, nb) in c {
                let Some(a) = items.get(anchor) else { continue };
                if rows[a as usize].is_some() {
                    continue;
                }
                rows[a as usize] = Some(scored_row(&items, nb, Some(a), &mut truncated_rows));
            }
        }
        let mut cooc_off = Vec::with_capacity(n + 1);
        let mut cooc_nbrs = Vec::new();
        cooc_off.push(0u32);
        for r in rows {
            if let Some(r) = r {
                cooc_nbrs.extend(r);
            }
            cooc_off.push(cooc_nbrs.len() as u32);
        }
        // 5. Users.
        let users = |rows: &Option<ScoredRows>, truncated: &mut usize| {
            let mut m: StrMap<Box<[(ItemIdx, f64)]>> = StrMap::default();
            for (u, list) in rows.iter().flatten() {
                let key = u.trim();
                if key.is_empty() || m.contains_key(key) {
                    continue;
                }
                m.insert(key.into(), scored_row(&items, list, None, truncated).into());
            }
            m
        };
        let implicit = users(&data.implicit, &mut truncated_rows);
        let session = users(&data.session, &mut truncated_rows);
        if truncated_rows > 0 {
            notes.notes.push(crate::error::Problem::new(
                "$.artifacts",
                "RECSYS_SNAPSHOT_ROWS_CLAMPED",
                format!("{truncated_rows} neighbour/user rows were longer than {MAX_NEIGHBOURS_PER_ROW} entries; only the top {MAX_NEIGHBOURS_PER_ROW} by score are kept"),
            ));
        }
        // 6. Tag postings by popularity desc, id asc.
        let mut postings: Vec<Vec<ItemIdx>> = vec![Vec::new(); tags.len()];
        for (i, t) in item_tags.iter().enumerate() {
            for &tid in t.sim.iter() {
                postings[tid as usize].push(i as u32);
            }
        }
        for p in &mut postings {
            p.sort_by(|&a, &b| {
                pop_count[b as usize]
                    .total_cmp(&pop_count[a as usize])
                    .then(a.cmp(&b))
            });
        }
        // 7. Rules: keep enabled rules (priority desc, stable). Surface scopes are checked per
        // request, so a surface served by the `default` snapshot still gets its own rules.
        let total_rules = rules.len();
        let mut kept: Vec<Rule> = rules.into_iter().filter(|r| r.enabled).collect();
        kept.sort_by_key(|r| std::cmp::Reverse(r.priority)); // stable: ties keep document order
        if kept.len() < total_rules {
            notes.notes.push(crate::error::Problem::new(
                "$.rules",
                "RECSYS_SNAPSHOT_RULES_SKIPPED",
                format!(
                    "{} of {total_rules} rules are disabled",
                    total_rules - kept.len()
                ),
            ));
        }
        let available = Available {
            popularity: data.popularity.is_some(),
            cooc: data.cooc.is_some(),
            implicit: data.implicit.is_some(),
            content: data.content.is_some(),
            session: data.session.is_some(),
        };
        let mut snap = TenantSnapshot {
            tenant: tenant.to_string(),
            surface: surface.to_string(),
            config: sc,
            tenant_config: config.clone(),
            algo_explicit: config.algo_explicit,
            versions,
            available,
            items,
            tags,
            item_tags,
            pop_count,
            pop_order,
            cooc_off,
            cooc_nbrs,
            implicit,
            session,
            tag_postings: postings.into_iter().map(Into::into).collect(),
            rules: kept,
            rule_targets: Vec::new(),
            notes,
        };
        snap.rule_targets = snap
            .rules
            .iter()
            .map(|r| crate::rules::eval::RuleTarget::compile(r, &snap))
            .collect();
        snap
    }

    /// Co-occurrence neighbours of an item (count desc, id asc).
    pub fn cooc_row(&self, item: ItemIdx) -> &[(ItemIdx, f64)] {
        let i = item as usize;
        match (self.cooc_off.get(i), self.cooc_off.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.cooc_nbrs[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Number of items in the catalog (any artifact).
    pub fn catalog_len(&self) -> usize {
        self.items.len()
    }

    /// The versions map for meta / readiness.
    pub fn artifact_versions(&self) -> BTreeMap<&str, &str> {
        self.versions
            .artifacts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// Interns, cleans (positive finite scores, non-blank ids, first occurrence wins, no self
/// pair), sorts (score desc, id asc) and clamps one neighbour/user row.
fn scored_row(
    items: &Interner,
    list: &[(String, f64)],
    own: Option<ItemIdx>,
    truncated: &mut usize,
) -> Vec<(ItemIdx, f64)> {
    let mut seen: std::collections::HashSet<ItemIdx, std::hash::BuildHasherDefault<IdHasher>> =
        std::collections::HashSet::with_capacity_and_hasher(list.len(), Default::default());
    let mut out: Vec<(ItemIdx, f64)> = Vec::with_capacity(list.len().min(MAX_NEIGHBOURS_PER_ROW));
    for (i, s) in list {
        let s = clean(*s);
        if s <= 0.0 {
            continue;
        }
        let Some(ix) = items.get(i.trim()) else {
            continue;
        };
        if Some(ix) == own || !seen.insert(ix) {
            continue;
        }
        out.push((ix, s));
    }
    sort_scored(&mut out);
    if out.len() > MAX_NEIGHBOURS_PER_ROW {
        out.truncate(MAX_NEIGHBOURS_PER_ROW);
        *truncated += 1;
    }
    out
}
