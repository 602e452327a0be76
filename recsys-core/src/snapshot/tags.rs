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

/// Every item's tag lists in one row, so reading an item's tags touches one offset pair and
/// one contiguous run of memory (at catalog scale each separate list was a cache miss): row
/// `i` is `rows.ids[rows.off[i]..rows.off[i + 1]]`, laid out as three end offsets (of the
/// all, similarity and brand lists, relative to the lists' start) followed by the all,
/// similarity, brand and category lists. The same memory as four separate lists with their
/// own offsets.
const ROW_HEAD: usize = 3;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct TagIndex {
    prefixes: TagPrefixes,
    pub tags: Interner,
    /// Per item: the fused row of its tag lists (see [`ROW_HEAD`]).
    rows: Csr,
    /// tag → items carrying it as a similarity tag, by popularity desc then id asc.
    postings: Csr,
    /// Per-tag item counts, computed on first use and shared by every policy compiled
    /// against this index (see [`TagIndex::counts`]).
    counts: OnceLock<TagCounts>,
    /// Items by brand value and by category value (see [`KeyPostings`]).
    values: KeyPostings,
}

/// A tag-space key: which list of an item's tags (`all`, brands or categories) holds `tag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TagKey {
    /// `tag` is one of the item's tags (its `all` list).
    Tag(TagIdx),
    /// `tag` is one of the item's brand values.
    Brand(TagIdx),
    /// `tag` is one of the item's category values.
    Category(TagIdx),
}

/// Item lists by brand value (row `value`) and by category value (row `ntags + value`),
/// items ascending: with the similarity postings, the items carrying a set of keys cost
/// the lengths of their lists, not a pass over every item's tags. One entry per brand and
/// category value of an item: 8 MB at 1M items with a brand and a category each.
#[derive(Debug, Default)]
struct KeyPostings {
    ntags: usize,
    lists: Csr,
}

impl KeyPostings {
    /// A counting pass and a filling pass over the fused item rows (`rows` as
    /// [`TagIndex::build`] lays them out), each reading the rows in order.
    fn build(rows: &Csr, ntags: usize) -> KeyPostings {
        let mut off = vec![0u32; 2 * ntags + 1];
        for_each_key(rows, ntags, |key, _| off[key + 1] += 1);
        for k in 1..off.len() {
            off[k] += off[k - 1];
        }
        let mut next = off.clone();
        let mut ids = vec![0u32; off[2 * ntags] as usize];
        for_each_key(rows, ntags, |key, i| {
            ids[next[key] as usize] = i;
            next[key] += 1;
        });
        KeyPostings {
            ntags,
            lists: Csr { off, ids },
        }
    }

    fn row(&self, space: usize, tag: TagIdx) -> &[ItemIdx] {
        let key = space * self.ntags + tag as usize;
        if (tag as usize) < self.ntags && key + 1 < self.lists.off.len() {
            self.lists.row(key as u32)
        } else {
            &[]
        }
    }
}

/// Calls `f(space * ntags + value, item)` for every brand value (space 0) and category
/// value (space 1) of every item's row, items in order.
fn for_each_key(rows: &Csr, ntags: usize, mut f: impl FnMut(usize, u32)) {
    for i in 0..rows.off.len().saturating_sub(1) as u32 {
        let row = rows.row(i);
        let (head, lists) = row.split_at(ROW_HEAD.min(row.len()));
        let [s, b] = match head {
            [_, s, b] => [*s, *b].map(|x| (x as usize).min(lists.len())),
            _ => continue,
        };
        for &x in &lists[s.min(b)..b] {
            f(x as usize, i);
        }
        for &x in &lists[b..] {
            f(ntags + x as usize, i);
        }
    }
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
        let rows = index.items() as u32;
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
        // Every raw tag is in the all list and in exactly one of the other three, so twice
        // the raw tags bound the lists (brand and category values shrink only by
        // duplicates): sized without a counting pass over every item's tags.
        let mut rows = Csr::with_capacity(n, n * ROW_HEAD + 2 * cat.raw_tag_count());
        for i in 0..n as u32 {
            let head = rows.ids.len();
            rows.ids.extend_from_slice(&[0; ROW_HEAD]);
            let lists = head + ROW_HEAD;
            let tags = cat.raw_item_tags(i);
            rows.ids.extend(tags.iter().map(|&t| remap[t as usize]));
            rows.ids[head] = (rows.ids.len() - lists) as u32;
            let sim = tags
                .iter()
                .filter(|&&t| matches!(class[t as usize], Class::Sim));
            rows.ids.extend(sim.map(|&t| remap[t as usize]));
            rows.ids[head + 1] = (rows.ids.len() - lists) as u32;
            rows.ids
                .extend(tags.iter().filter_map(|&t| match class[t as usize] {
                    Class::Brand(v) => Some(v),
                    _ => None,
                }));
            let brands_from = lists + rows.ids[head + 1] as usize;
            sort_dedup_tail(&mut rows.ids, brands_from);
            rows.ids[head + 2] = (rows.ids.len() - lists) as u32;
            let cats_from = rows.ids.len();
            rows.ids
                .extend(tags.iter().filter_map(|&t| match class[t as usize] {
                    Class::Category(v) => Some(v),
                    _ => None,
                }));
            sort_dedup_tail(&mut rows.ids, cats_from);
            rows.end_row();
        }
        // One thread: built on a second one, the index's lists stayed in that thread's
        // allocator arena and RSS after a 1M load read up to +296 MiB over the inputs.
        let postings = postings(cat, &rows, tags.len());
        let values = KeyPostings::build(&rows, tags.len());
        TagIndex {
            prefixes,
            tags,
            rows,
            postings,
            counts: OnceLock::new(),
            values,
        }
    }

    /// The bitset over items of those carrying any of `keys` (sorted, deduplicated): the
    /// union of the keys' postings, so it costs the items the keys name (a block rule's
    /// targets), not a pass over every item's tags (~60 us against ~14 ms for the 56 block
    /// targets of the 1M workload's 1,000 rules). Not remembered: a policy compile pays the
    /// union each time, which is under 1% of a 1,000-rule change at 1M items.
    pub fn tagged_items(&self, keys: &[TagKey]) -> Vec<u64> {
        let values = &self.values;
        let mut bits = vec![0u64; self.items().div_ceil(64)];
        let mut set = |i: ItemIdx| {
            if let Some(w) = bits.get_mut(i as usize / 64) {
                *w |= 1 << (i % 64);
            }
        };
        for &key in keys {
            match key {
                TagKey::Brand(v) => values.row(0, v).iter().for_each(|&i| set(i)),
                TagKey::Category(v) => values.row(1, v).iter().for_each(|&i| set(i)),
                TagKey::Tag(t) => {
                    self.postings(t).unwrap_or(&[]).iter().for_each(|&i| set(i));
                    // A brand or category tag (`brand:acme`): among the items with its
                    // value, those whose tags hold it (another spelling may give the value).
                    let name = self.tags.name(t);
                    let value = match self.prefixes.split(name) {
                        (Some(b), _) => self.tags.get(b).map(|v| values.row(0, v)),
                        (_, Some(c)) => self.tags.get(c).map(|v| values.row(1, v)),
                        _ => None,
                    };
                    for &i in value.unwrap_or(&[]) {
                        if self
                            .item(i)
                            .is_some_and(|it| it.all.binary_search(&t).is_ok())
                        {
                            set(i);
                        }
                    }
                }
            }
        }
        bits
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

    /// How many items have tag rows (the catalog's size).
    pub fn items(&self) -> usize {
        self.rows.off.len().saturating_sub(1)
    }

    /// The tags of an item; `None` outside the catalog.
    pub fn item(&self, i: ItemIdx) -> Option<ItemTags<'_>> {
        let row = self
            .rows
            .off
            .get(i as usize + 1)
            .map(|_| self.rows.row(i))?;
        let (head, lists) = row.split_at_checked(ROW_HEAD)?;
        let [a, s, b] = [head[0], head[1], head[2]].map(|x| (x as usize).min(lists.len()));
        let (all, rest) = lists.split_at(a);
        let (sim, rest) = rest.split_at(s.saturating_sub(a).min(rest.len()));
        let (brands, categories) = rest.split_at(b.saturating_sub(s).min(rest.len()));
        Some(ItemTags {
            all,
            sim,
            brands,
            categories,
        })
    }

    /// Items carrying `t` as a similarity tag, by popularity desc then id asc.
    /// An item's similarity tags alone (one row: cheaper than [`TagIndex::item`] when the
    /// other lists are not needed).
    pub fn sim(&self, i: ItemIdx) -> &[TagIdx] {
        let row = self.rows.row(i);
        match row {
            [a, s, _, lists @ ..] => lists
                .get(*a as usize..(*s as usize).min(lists.len()))
                .unwrap_or(&[]),
            _ => &[],
        }
    }

    pub fn postings(&self, t: TagIdx) -> Option<&[ItemIdx]> {
        ((t as usize) + 1 < self.postings.off.len()).then(|| self.postings.row(t))
    }

    #[cfg(feature = "bench-internals")]
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.tags.heap_bytes()
            + [&self.rows, &self.postings, &self.values.lists]
                .iter()
                .map(|c| c.heap_bytes())
                .sum::<usize>()
    }
}

/// Similarity-tag postings, each by popularity desc then id asc: items are visited in that
/// order (popular items as ranked, then every item with count 0 by id) and appended to their
/// tags' lists with a counting sort, so no list is sorted.
fn postings(cat: &Catalog, rows: &Csr, ntags: usize) -> Csr {
    let n = cat.catalog_len();
    let sim = |i: u32| {
        let row = rows.row(i);
        let lists = &row[ROW_HEAD.min(row.len())..];
        match row {
            [a, s, ..] => &lists[*a as usize..*s as usize],
            _ => &[],
        }
    };
    let mut counts = vec![0u32; ntags + 1];
    for i in 0..n as u32 {
        for &t in sim(i) {
            counts[t as usize + 1] += 1;
        }
    }
    for k in 1..counts.len() {
        counts[k] += counts[k - 1];
    }
    let off = counts.clone();
    let mut ids = vec![0u32; counts[ntags] as usize];
    let popular = cat
        .pop_order
        .iter()
        .copied()
        .filter(|&i| cat.pop_count[i as usize] > 0.0);
    let rest = (0..n as u32).filter(|&i| cat.pop_count[i as usize] <= 0.0);
    for i in popular.chain(rest) {
        for &t in sim(i) {
            let slot = &mut counts[t as usize];
            ids[*slot as usize] = i;
            *slot += 1;
        }
    }
    Csr { off, ids }
}

#[cfg(test)]
mod tests {
    use crate::config::TenantConfig;
    use crate::snapshot::{SignalData, TenantSnapshot, Versions};
    use std::collections::BTreeSet;

    /// The fused per-item rows read back exactly the lists a plain split of each item's
    /// tags gives (all tags, similarity tags, brand values, category values; sorted, no
    /// duplicates), on seeded random catalogs with repeated, prefixed and empty tag lists.
    #[test]
    fn fused_rows_match_a_plain_split_of_each_items_tags() {
        let mut seed = 7u64;
        let mut below = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for round in 0..10 {
            let items = 50 + round * 13;
            let content: Vec<(String, Vec<String>)> = (0..items)
                .map(|i| {
                    let tags = (0..below(7))
                        .map(|_| match below(4) {
                            0 => format!("brand:b{}", below(5)),
                            1 => format!("cat:c{}", below(5)),
                            2 => format!("b{}", below(5)),
                            _ => format!("t{}", below(20)),
                        })
                        .collect();
                    (format!("i{i:03}"), tags)
                })
                .collect();
            let mut cfg = TenantConfig::default();
            cfg.base.diversity.brand_tag_prefixes = vec!["brand:".into()];
            cfg.base.diversity.category_tag_prefixes = vec!["cat:".into()];
            let data = SignalData {
                content: Some(content.clone()),
                ..SignalData::default()
            };
            let snap =
                TenantSnapshot::compile("t", "home", &cfg, vec![], data, Versions::default());
            assert_eq!(snap.tag_index.items(), items as usize);
            for (id, tags) in &content {
                let k = snap.items.get(id).unwrap();
                let t = snap.item_tags(k).unwrap();
                let ids = |it: &mut dyn Iterator<Item = &str>| -> Vec<u32> {
                    let set: BTreeSet<u32> = it.map(|s| snap.tags().get(s).unwrap()).collect();
                    set.into_iter().collect()
                };
                let names = || tags.iter().map(String::as_str);
                assert_eq!(t.all, ids(&mut names()), "{id} all");
                let plain = |s: &&str| !s.starts_with("brand:") && !s.starts_with("cat:");
                assert_eq!(t.sim, ids(&mut names().filter(plain)), "{id} sim");
                let values = |p: &'static str| names().filter_map(move |s| s.strip_prefix(p));
                assert_eq!(t.brands, ids(&mut values("brand:")), "{id} brands");
                assert_eq!(t.categories, ids(&mut values("cat:")), "{id} categories");
                assert_eq!(snap.tag_index.sim(k), t.sim);
            }
            assert!(snap.item_tags(items as u32).is_none());
        }
    }
}
