//! The tag index of a catalog under one set of brand/category prefixes (a config setting):
//! the tag id space (every normalised tag plus the brand and category values the prefixes
//! name, in byte order), each item's tags split into similarity tags, brands and categories,
//! and the similarity-tag postings by popularity. It depends on the catalog and on the
//! prefixes only, so the catalog memoises it and a config change that keeps the prefixes
//! reuses it.

use super::catalog::{csr_row, sort_dedup_tail, Catalog};
use super::intern::Interner;
use super::{ItemIdx, TagIdx};
use std::sync::OnceLock;

/// The diversity prefixes a tag index is built for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagPrefixes {
    pub brand: Vec<String>,
    pub category: Vec<String>,
}

impl TagPrefixes {
    /// Splits a normalised tag into (brand value, category value); brand prefixes first.
    fn split<'t>(&self, t: &'t str) -> (Option<&'t str>, Option<&'t str>) {
        for p in &self.brand {
            if let Some(rest) = t.strip_prefix(p.as_str()) {
                let r = rest.trim();
                if !r.is_empty() {
                    return (Some(r), None);
                }
            }
        }
        for p in &self.category {
            if let Some(rest) = t.strip_prefix(p.as_str()) {
                let r = rest.trim();
                if !r.is_empty() {
                    return (None, Some(r));
                }
            }
        }
        (None, None)
    }
}

/// One item's tags, split the way rules and diversity need them (all sorted tag ids).
#[derive(Clone, Copy, Debug, Default)]
pub struct ItemTags<'a> {
    /// All normalised tags (constraints, `max_per_tag`, TAG rules on prefixed tags).
    pub all: &'a [TagIdx],
    /// Tags that are neither brand nor category (MMR similarity, TAG rules).
    pub sim: &'a [TagIdx],
    /// Brand values (after the prefix).
    pub brands: &'a [TagIdx],
    /// Category values.
    pub categories: &'a [TagIdx],
}

/// A flat list of per-key sorted id lists.
#[derive(Debug, Default)]
struct Csr {
    off: Vec<u32>,
    ids: Vec<u32>,
}

impl Csr {
    fn with_capacity(rows: usize, ids: usize) -> Csr {
        let mut off = Vec::with_capacity(rows + 1);
        off.push(0);
        Csr {
            off,
            ids: Vec::with_capacity(ids),
        }
    }
    fn end_row(&mut self) {
        self.off.push(self.ids.len() as u32);
    }
    /// Sorts and dedups the row being built (from `start`), then ends it.
    fn end_row_sorted(&mut self) {
        let start = *self.off.last().unwrap_or(&0) as usize;
        sort_dedup_tail(&mut self.ids, start);
        self.end_row();
    }
    fn row(&self, i: u32) -> &[u32] {
        csr_row(&self.off, &self.ids, i)
    }
    #[cfg(feature = "bench-internals")]
    fn heap_bytes(&self) -> usize {
        (self.off.capacity() + self.ids.capacity()) * 4
    }
}

/// What one raw tag is under the prefixes.
#[derive(Clone, Copy)]
enum Class {
    Sim,
    Brand(TagIdx),
    Category(TagIdx),
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct TagIndex {
    prefixes: TagPrefixes,
    pub tags: Interner,
    all: Csr,
    sim: Csr,
    brands: Csr,
    categories: Csr,
    /// tag → items carrying it as a similarity tag, by popularity desc then id asc.
    postings: Csr,
    /// Per-tag item counts, computed on first use and shared by every policy compiled
    /// against this index (see [`TagIndex::counts`]).
    counts: OnceLock<TagCounts>,
}

/// How many items carry each tag, and how items spread over brands and categories: what
/// lint's catalog checks ask. Computed once per tag index (O(total tags)), so a config or
/// rules write that lints against the loaded catalog costs what its documents cost.
#[derive(Debug, Default)]
pub struct TagCounts {
    /// Per tag id: items carrying it as a tag, as a brand value, as a category value.
    pub per_tag: Vec<[u32; 3]>,
    /// Item counts of each brand value with at least one item, in tag id order.
    pub brand_sizes: Vec<usize>,
    /// Item counts of each category value with at least one item, in tag id order.
    pub category_sizes: Vec<usize>,
    /// Items without a brand / without a category.
    pub no_brand: usize,
    pub no_category: usize,
}

impl TagCounts {
    fn build(index: &TagIndex) -> TagCounts {
        let mut per_tag = vec![[0u32; 3]; index.tags.len()];
        let (mut no_brand, mut no_category) = (0, 0);
        let rows = index.all.off.len().saturating_sub(1) as u32;
        for t in (0..rows).filter_map(|i| index.item(i)) {
            for (space, list) in [(0, t.all), (1, t.brands), (2, t.categories)] {
                for &x in list {
                    if let Some(c) = per_tag.get_mut(x as usize) {
                        c[space] = c[space].saturating_add(1);
                    }
                }
            }
            no_brand += usize::from(t.brands.is_empty());
            no_category += usize::from(t.categories.is_empty());
        }
        let sizes = |slot: usize| -> Vec<usize> {
            per_tag
                .iter()
                .map(|c| c[slot] as usize)
                .filter(|&n| n > 0)
                .collect()
        };
        TagCounts {
            brand_sizes: sizes(1),
            category_sizes: sizes(2),
            per_tag,
            no_brand,
            no_category,
        }
    }
}

impl TagIndex {
    /// Builds the index of `cat` under `prefixes`.
    pub fn build(cat: &Catalog, prefixes: TagPrefixes) -> TagIndex {
        // Tag space: raw tags plus brand/category values, byte order. Raw tags are a sorted
        // subset of it, so remapping keeps every item's list sorted.
        let raw = &cat.raw_tags;
        let mut names: Vec<&str> = (0..raw.len() as u32).map(|t| raw.name(t)).collect();
        for t in 0..raw.len() as u32 {
            let (b, c) = prefixes.split(raw.name(t));
            names.extend(b.or(c));
        }
        names.sort_unstable();
        names.dedup();
        let tags = Interner::from_sorted(&names);
        drop(names);
        let id = |s: &str| tags.get(s).unwrap_or(0);
        let remap: Vec<TagIdx> = (0..raw.len() as u32).map(|t| id(raw.name(t))).collect();
        let class: Vec<Class> = (0..raw.len() as u32)
            .map(|t| match prefixes.split(raw.name(t)) {
                (Some(b), _) => Class::Brand(id(b)),
                (_, Some(c)) => Class::Category(id(c)),
                _ => Class::Sim,
            })
            .collect();
        let n = cat.catalog_len();
        // Exact sizes (every list is read once to count it), so nothing is over-allocated.
        let mut occ = [0usize; 4];
        for i in 0..n as u32 {
            for &t in cat.raw_item_tags(i) {
                occ[0] += 1;
                occ[match class[t as usize] {
                    Class::Sim => 1,
                    Class::Brand(_) => 2,
                    Class::Category(_) => 3,
                }] += 1;
            }
        }
        let mut all = Csr::with_capacity(n, occ[0]);
        let mut sim = Csr::with_capacity(n, occ[1]);
        let mut brands = Csr::with_capacity(n, occ[2]);
        let mut categories = Csr::with_capacity(n, occ[3]);
        for i in 0..n as u32 {
            for &t in cat.raw_item_tags(i) {
                all.ids.push(remap[t as usize]);
                match class[t as usize] {
                    Class::Sim => sim.ids.push(remap[t as usize]),
                    Class::Brand(v) => brands.ids.push(v),
                    Class::Category(v) => categories.ids.push(v),
                }
            }
            all.end_row();
            sim.end_row();
            brands.end_row_sorted();
            categories.end_row_sorted();
        }
        let postings = postings(cat, &sim, tags.len());
        TagIndex {
            prefixes,
            tags,
            all,
            sim,
            brands,
            categories,
            postings,
            counts: OnceLock::new(),
        }
    }

    /// The per-tag item counts, built on the first call and kept with the index.
    pub fn counts(&self) -> &TagCounts {
        self.counts.get_or_init(|| TagCounts::build(self))
    }

    #[cfg(any(test, feature = "bench-internals"))]
    /// Whether [`TagIndex::counts`] has been built (for tests of the cache).
    pub fn counts_built(&self) -> bool {
        self.counts.get().is_some()
    }

    pub fn prefixes(&self) -> &TagPrefixes {
        &self.prefixes
    }

    /// The tags of an item; `None` outside the catalog.
    pub fn item(&self, i: ItemIdx) -> Option<ItemTags<'_>> {
        if (i as usize) + 1 >= self.all.off.len() {
            return None;
        }
        Some(ItemTags {
            all: self.all.row(i),
            sim: self.sim.row(i),
            brands: self.brands.row(i),
            categories: self.categories.row(i),
        })
    }

    /// Items carrying `t` as a similarity tag, by popularity desc then id asc.
    /// An item's similarity tags alone (one row: cheaper than [`TagIndex::item`] when the
    /// other lists are not needed).
    pub fn sim(&self, i: ItemIdx) -> &[TagIdx] {
        self.sim.row(i)
    }

    pub fn postings(&self, t: TagIdx) -> Option<&[ItemIdx]> {
        ((t as usize) + 1 < self.postings.off.len()).then(|| self.postings.row(t))
    }

    #[cfg(feature = "bench-internals")]
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.tags.heap_bytes()
            + [
                &self.all,
                &self.sim,
                &self.brands,
                &self.categories,
                &self.postings,
            ]
            .iter()
            .map(|c| c.heap_bytes())
            .sum::<usize>()
    }
}

/// Similarity-tag postings, each by popularity desc then id asc: items are visited in that
/// order (popular items as ranked, then every item with count 0 by id) and appended to their
/// tags' lists with a counting sort, so no list is sorted.
fn postings(cat: &Catalog, sim: &Csr, ntags: usize) -> Csr {
    let n = cat.catalog_len();
    let mut counts = vec![0u32; ntags + 1];
    for &t in &sim.ids {
        counts[t as usize + 1] += 1;
    }
    for k in 1..counts.len() {
        counts[k] += counts[k - 1];
    }
    let off = counts.clone();
    let mut ids = vec![0u32; sim.ids.len()];
    let popular = cat
        .pop_order
        .iter()
        .copied()
        .filter(|&i| cat.pop_count[i as usize] > 0.0);
    let rest = (0..n as u32).filter(|&i| cat.pop_count[i as usize] <= 0.0);
    for i in popular.chain(rest) {
        for &t in sim.row(i) {
            let slot = &mut counts[t as usize];
            ids[*slot as usize] = i;
            *slot += 1;
        }
    }
    Csr { off, ids }
}
