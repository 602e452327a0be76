//! Candidates: who may be recommended. Builds the hard filters (allow-list, exclusions, tag
//! constraints, rule blocks) *before* any selection, and gathers the candidate pool from the
//! snapshot's sources (popularity, co-occurrence, implicit, content, session) in a fixed,
//! hash-order-free order. Filtering first is what makes an allow-list of 20 items return 20
//! items instead of the reference's "top-k, then filter" 0–3.

use crate::snapshot::{ItemIdx, TagIdx, TenantSnapshot};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A cheap hasher for dense `u32` keys (request-local maps only; never exposed).
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// A request-local item key: ids below the catalog size are snapshot items; ids at or above
/// it name items the catalog does not know (from `include_ids` or rules), kept by string.
#[derive(Debug, Default)]
pub struct Keys<'a> {
    pub catalog: u32,
    pub external: Vec<&'a str>,
    external_index: HashMap<&'a str, u32>,
}

impl<'a> Keys<'a> {
    pub fn new(snap: &TenantSnapshot) -> Keys<'a> {
        Keys {
            catalog: snap.catalog_len() as u32,
            external: Vec::new(),
            external_index: HashMap::new(),
        }
    }
    /// The key of an item id, interning unknown ids.
    pub fn key(&mut self, snap: &TenantSnapshot, id: &'a str) -> u32 {
        if let Some(i) = snap.items.get(id) {
            return i;
        }
        if let Some(&k) = self.external_index.get(id) {
            return k;
        }
        let k = self.catalog + self.external.len() as u32;
        self.external.push(id);
        self.external_index.insert(id, k);
        k
    }
    /// The key of an id if it is already known (catalog or interned external).
    pub fn lookup(&self, snap: &TenantSnapshot, id: &str) -> Option<u32> {
        snap.items
            .get(id)
            .or_else(|| self.external_index.get(id).copied())
    }
    pub fn name<'s>(&'s self, snap: &'s TenantSnapshot, k: u32) -> &'s str {
        if k < self.catalog {
            snap.items.name(k)
        } else {
            self.external
                .get((k - self.catalog) as usize)
                .copied()
                .unwrap_or("")
        }
    }
    /// Orders two keys by their id strings (catalog keys are interned in byte order).
    pub fn cmp_ids(&self, snap: &TenantSnapshot, a: u32, b: u32) -> std::cmp::Ordering {
        if a < self.catalog && b < self.catalog {
            a.cmp(&b)
        } else {
            self.name(snap, a).cmp(self.name(snap, b))
        }
    }
    pub fn tags<'s>(
        &self,
        snap: &'s TenantSnapshot,
        k: u32,
    ) -> Option<crate::snapshot::ItemTags<'s>> {
        snap.item_tags(k)
    }
}

/// The pipeline stage that removed a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Include,
    Exclude,
    Constraints,
    Rules,
}

/// Counts per stage over the candidates examined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageCounts {
    pub candidates: u64,
    pub after_include: u64,
    pub after_exclude: u64,
    pub after_constraints: u64,
    pub after_rules: u64,
}

impl StageCounts {
    pub fn record(&mut self, r: Result<(), Stage>) {
        self.candidates += 1;
        match r {
            Err(Stage::Include) => {}
            Err(Stage::Exclude) => self.after_include += 1,
            Err(Stage::Constraints) => {
                self.after_include += 1;
                self.after_exclude += 1;
            }
            Err(Stage::Rules) => {
                self.after_include += 1;
                self.after_exclude += 1;
                self.after_constraints += 1;
            }
            Ok(()) => {
                self.after_include += 1;
                self.after_exclude += 1;
                self.after_constraints += 1;
                self.after_rules += 1;
            }
        }
    }
}

/// Blocks resolved from the applicable rules.
#[derive(Debug, Default)]
pub struct Blocks {
    pub items: Vec<u32>,
    pub tags: Vec<TagIdx>,
    pub brands: Vec<TagIdx>,
    pub categories: Vec<TagIdx>,
}

impl Blocks {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
            && self.tags.is_empty()
            && self.brands.is_empty()
            && self.categories.is_empty()
    }
    pub fn finish(&mut self) {
        for v in [
            &mut self.items,
            &mut self.tags,
            &mut self.brands,
            &mut self.categories,
        ] {
            v.sort_unstable();
            v.dedup();
        }
    }
}

fn intersects(a: &[u32], sorted: &[u32]) -> bool {
    !sorted.is_empty() && a.iter().any(|x| sorted.binary_search(x).is_ok())
}

/// Every hard filter of a request, resolved to keys and tag ids.
#[derive(Debug, Default)]
pub struct Filters {
    /// Sorted allow-list keys; `None` when the request has no `include_ids`.
    pub allow: Option<Vec<u32>>,
    /// Sorted excluded keys (only ids the request or catalog know).
    pub exclude: Vec<u32>,
    /// Required tags ("any of"); `Some(vec![])` when every required tag is unknown (nothing passes).
    pub required: Option<Vec<TagIdx>>,
    pub forbidden: Vec<TagIdx>,
    pub blocks: Blocks,
}

impl Filters {
    /// Checks one candidate against every hard filter, in pipeline order.
    pub fn check(&self, snap: &TenantSnapshot, keys: &Keys, k: u32) -> Result<(), Stage> {
        if let Some(allow) = &self.allow {
            if allow.binary_search(&k).is_err() {
                return Err(Stage::Include);
            }
        }
        if self.exclude.binary_search(&k).is_ok() {
            return Err(Stage::Exclude);
        }
        let tags = keys.tags(snap, k);
        if let Some(req) = &self.required {
            match tags {
                Some(t) if intersects(t.all, req) => {}
                _ => return Err(Stage::Constraints),
            }
        }
        if let Some(t) = tags {
            if intersects(t.all, &self.forbidden) {
                return Err(Stage::Constraints);
            }
        }
        let b = &self.blocks;
        if b.items.binary_search(&k).is_ok() {
            return Err(Stage::Rules);
        }
        if let Some(t) = tags {
            if intersects(t.all, &b.tags)
                || intersects(t.brands, &b.brands)
                || intersects(t.categories, &b.categories)
            {
                return Err(Stage::Rules);
            }
        }
        Ok(())
    }
}

/// Raw signal values of one candidate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Signals {
    pub pop: f64,
    pub cooc: f64,
    pub collab: f64,
    pub content: f64,
    pub session: f64,
}

/// One pooled candidate.
#[derive(Clone, Debug)]
pub struct Cand {
    pub key: u32,
    pub raw: Signals,
    pub score: f64,
    /// Sum of boost deltas applied.
    pub boost: f64,
}

/// Request-time signal lookups derived from anchors and the user.
#[derive(Debug, Default)]
pub struct SignalMaps {
    pub cooc: IdMap<f64>,
    pub collab: IdMap<f64>,
    pub session: IdMap<f64>,
    /// Union of the anchors' similarity tags, sorted.
    pub anchor_tags: Vec<TagIdx>,
    /// The anchors (an anchor's content similarity is measured against the *other* anchors).
    pub anchors: Vec<ItemIdx>,
}

impl SignalMaps {
    pub fn build(
        snap: &TenantSnapshot,
        anchors: &[ItemIdx],
        user_key: &str,
        use_cooc: bool,
        use_sim: bool,
    ) -> SignalMaps {
        let mut m = SignalMaps::default();
        if use_cooc {
            for &a in anchors {
                // Anchors may be neighbours of each other (included items co-occur); rows
                // never contain their own anchor.
                for &(n, c) in snap.cooc_row(a) {
                    let e = m.cooc.entry(n).or_insert(0.0);
                    if c > *e {
                        *e = c;
                    }
                }
            }
        }
        if use_sim {
            if !user_key.is_empty() {
                if let Some(row) = snap.implicit.get(user_key) {
                    m.collab.extend(row.iter().copied());
                }
                if let Some(row) = snap.session.get(user_key) {
                    m.session.extend(row.iter().copied());
                }
            }
            for &a in anchors {
                if let Some(t) = snap.item_tags(a) {
                    m.anchor_tags.extend_from_slice(t.sim);
                }
            }
            m.anchor_tags.sort_unstable();
            m.anchor_tags.dedup();
            m.anchors = anchors.to_vec();
        }
        m
    }

    /// Raw signals of an item.
    pub fn signals(&self, snap: &TenantSnapshot, k: u32) -> Signals {
        let idx = k as usize;
        let content = match snap.item_tags(idx as u32) {
            Some(t) if !self.anchor_tags.is_empty() => {
                if self.anchors.contains(&k) {
                    // An anchor is not similar to itself: compare with the other anchors only.
                    let mut others: Vec<TagIdx> = self
                        .anchors
                        .iter()
                        .filter(|&&a| a != k)
                        .filter_map(|&a| snap.item_tags(a))
                        .flat_map(|o| o.sim.iter().copied())
                        .collect();
                    others.sort_unstable();
                    others.dedup();
                    t.sim
                        .iter()
                        .filter(|x| others.binary_search(x).is_ok())
                        .count() as f64
                } else {
                    t.sim
                        .iter()
                        .filter(|x| self.anchor_tags.binary_search(x).is_ok())
                        .count() as f64
                }
            }
            _ => 0.0,
        };
        Signals {
            pop: snap.pop_count.get(idx).copied().unwrap_or(0.0),
            cooc: self.cooc.get(&k).copied().unwrap_or(0.0),
            collab: self.collab.get(&k).copied().unwrap_or(0.0),
            content,
            session: self.session.get(&k).copied().unwrap_or(0.0),
        }
    }
}

/// The candidate pool: candidates in insertion order plus a key index.
#[derive(Debug, Default)]
pub struct Pool {
    pub cands: Vec<Cand>,
    pub index: IdMap<u32>,
    pub counts: StageCounts,
    /// Keys examined and rejected, by stage (for include diagnostics).
    pub rejected_include_ids: u64,
    /// Keys examined and removed by rule blocks (per-rule telemetry).
    pub blocked: Vec<u32>,
    seen: HashSet<u32, BuildHasherDefault<IdHasher>>,
}

impl Pool {
    pub fn with_capacity(n: usize) -> Pool {
        Pool {
            cands: Vec::with_capacity(n),
            index: IdMap::with_capacity_and_hasher(n, Default::default()),
            seen: HashSet::with_capacity_and_hasher(n, Default::default()),
            ..Pool::default()
        }
    }
    /// Examines a candidate once: counts it, applies the filters, and pools it if it passes.
    /// Returns true when it was pooled.
    pub fn offer(
        &mut self,
        snap: &TenantSnapshot,
        keys: &Keys,
        f: &Filters,
        maps: &SignalMaps,
        k: u32,
    ) -> bool {
        if !self.seen.insert(k) {
            return false;
        }
        let r = f.check(snap, keys, k);
        self.counts.record(r);
        if r.is_err() {
            if r == Err(Stage::Rules) {
                self.blocked.push(k);
            }
            return false;
        }
        self.index.insert(k, self.cands.len() as u32);
        self.cands.push(Cand {
            key: k,
            raw: maps.signals(snap, k),
            score: 0.0,
            boost: 0.0,
        });
        true
    }
    pub fn get(&self, k: u32) -> Option<&Cand> {
        self.index.get(&k).map(|&i| &self.cands[i as usize])
    }
    pub fn len(&self) -> usize {
        self.cands.len()
    }
    pub fn is_empty(&self) -> bool {
        self.cands.is_empty()
    }
}
