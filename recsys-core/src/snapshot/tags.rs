//! The tag index of a catalog under one set of brand/category prefixes (a config setting):
//! the tag id space (every normalised tag plus the brand and category values the prefixes
//! name, in byte order), each item's tags split into similarity tags, brands and categories,
//! and the similarity-tag postings by popularity. It depends on the catalog and on the
//! prefixes only, so the catalog memoises it and a config change that keeps the prefixes
//! reuses it.

use super::catalog::{csr_row, sort_dedup_tail, Catalog};
use super::intern::Interner;
use super::parallel::in_parallel;
use super::{ItemIdx, TagIdx};
use std::sync::{Mutex, OnceLock};

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
    /// A filling pass over the fused item rows (`rows` as [`TagIndex::build`] lays them
    /// out), reading them in order; `off` holds each key's item count at `key + 1`.
    fn build(rows: &Csr, ntags: usize, mut off: Vec<u32>) -> KeyPostings {
        prefix_sums(&mut off);
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
    ///
    /// The fused item rows and the similarity postings are built side by side (the
    /// postings read the catalog's raw tags, not the rows), then the brand and category
    /// lists from the rows. Every array a job fills is allocated here, on the calling
    /// thread, before the jobs start: a second thread only writes into them (built there,
    /// the index's lists stayed in that thread's allocator arena and RSS after a 1M load
    /// read up to +296 MiB over the inputs).
    pub fn build(cat: &Catalog, prefixes: TagPrefixes) -> TagIndex {
        let (tags, space) = tag_space(&cat.raw_tags, &prefixes);
        let (n, ntags) = (cat.catalog_len(), tags.len());
        let raw = cat.raw_tag_ids();
        // Items per raw tag: a raw tag is at most once in an item's list, and distinct raw
        // tags have distinct ids in the tag space, so these count the postings.
        let mut per_raw = vec![0u32; space.len()];
        for &t in raw {
            per_raw[t as usize] += 1;
        }
        let mut post_off = vec![0u32; ntags + 1];
        for (r, &c) in space.iter().zip(&per_raw) {
            if matches!(r.class, Class::Sim) {
                post_off[r.id as usize + 1] += c;
            }
        }
        drop(per_raw);
        prefix_sums(&mut post_off);
        let post = Postings {
            next: post_off.clone(),
            ids: vec![0u32; post_off[ntags] as usize],
        };
        // Every raw tag is in the all list and in exactly one of the other three, so twice
        // the raw tags bound an item's lists (brand and category values shrink only by
        // duplicates): the rows are sized without a counting pass over every item's tags.
        // Items below `half` are written from the buffer's start, the others from where
        // the lower items' bound ends; the upper rows are then moved down behind the lower.
        // The lower side and the postings take about as long as the upper side.
        let half = rows_split(n, raw.len());
        let lower = half as usize * ROW_HEAD + 2 * cat.raw_tags_before(half);
        let mut ids = vec![0u32; n * ROW_HEAD + 2 * raw.len()];
        let (lo, hi) = ids.split_at_mut(lower);
        let sides = [(0..half, lo), (half..n as u32, hi)].map(|(items, ids)| Rows {
            off: Vec::with_capacity(items.len() + 1),
            keys: vec![0u32; 2 * ntags + 1],
            items,
            ids,
        });
        let weights = sides.each_ref().map(|r| {
            let tags = cat.raw_tags_before(r.items.end) - cat.raw_tags_before(r.items.start);
            ROW_COST * r.items.len() + tags
        });
        let [lo, hi] = sides.map(|r| Mutex::new(Fill::Rows(r)));
        let jobs = [lo, hi, Mutex::new(Fill::Postings(post))];
        let done = in_parallel(&[weights[0], weights[1], raw.len()], |j| {
            let mut job = jobs[j].lock().unwrap_or_else(|p| p.into_inner());
            match std::mem::replace(&mut *job, Fill::Done) {
                Fill::Rows(r) => item_rows(cat, &space, r),
                Fill::Postings(post) => Filled::Postings(postings(cat, &space, post).ids),
                Fill::Done => Filled::Nothing,
            }
        });
        drop(jobs);
        let mut keys = vec![0u32; 2 * ntags + 1];
        let (mut off, mut post_ids, mut w) = (Vec::with_capacity(n + 1), Vec::new(), 0);
        off.push(0);
        for (filled, start) in done.into_iter().zip([0, lower, 0]) {
            match filled {
                Filled::Rows(r_off, r_keys, written) => {
                    keys.iter_mut().zip(&r_keys).for_each(|(k, &c)| *k += c);
                    off.extend(r_off.iter().map(|&o| o + w as u32));
                    if start != w {
                        ids.copy_within(start..start + written, w);
                    }
                    w += written;
                }
                Filled::Postings(p) => post_ids = p,
                Filled::Nothing => {}
            }
        }
        ids.truncate(w);
        let rows = Csr { off, ids };
        let values = KeyPostings::build(&rows, ntags, keys);
        TagIndex {
            prefixes,
            tags,
            rows,
            postings: Csr {
                off: post_off,
                ids: post_ids,
            },
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
        let (head, lists) = self.split_row(i)?;
        let [a, s, b] = head.map(|x| (x as usize).min(lists.len()));
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

    /// The lists of an item's tags that rules target, read straight from its row without
    /// building [`ItemTags`]: its similarity tags (`sim`) or all its tags, then its brands,
    /// then its categories (the key spaces 0, 1, 2 in order); empty outside the catalog.
    /// The rules' tag-hit scan of the rows the tag-target bitset lets through reads these
    /// three and nothing else (its row set-up was half its cost).
    #[inline]
    pub fn keyed_lists(&self, i: ItemIdx, sim: bool) -> [&[TagIdx]; 3] {
        let Some(([a, s, b], lists)) = self.split_row(i) else {
            return [&[]; 3];
        };
        // One length check per split (the row's offsets are ascending and within it).
        let Some((front, categories)) = lists.split_at_checked(b as usize) else {
            return [&[]; 3];
        };
        let Some((front, brands)) = front.split_at_checked(s as usize) else {
            return [&[]; 3];
        };
        let (all, sim_tags) = front.split_at_checked(a as usize).unwrap_or((front, &[]));
        [if sim { sim_tags } else { all }, brands, categories]
    }

    /// Items carrying `t` as a similarity tag, by popularity desc then id asc.
    /// An item's similarity tags alone (one row: cheaper than [`TagIndex::item`] when the
    /// other lists are not needed).
    #[inline]
    pub fn sim(&self, i: ItemIdx) -> &[TagIdx] {
        match self.split_row(i) {
            Some(([a, s, _], lists)) => lists
                .get(a as usize..(s as usize).min(lists.len()))
                .unwrap_or(&[]),
            None => &[],
        }
    }

    /// Item `i`'s row as its head (the end offsets of [`ROW_HEAD`]) and its lists: what
    /// [`TagIndex::item`], [`TagIndex::keyed_lists`] and [`TagIndex::sim`] read, each
    /// splitting the lists its own way. `None` outside the catalog (or for a row shorter
    /// than its head). One check of the offsets' pair and two of the row's bounds (the
    /// fill locates ~2,300 rows a C or D request at 1M through [`TagIndex::sim`]).
    #[inline(always)]
    fn split_row(&self, i: ItemIdx) -> Option<([u32; ROW_HEAD], &[u32])> {
        let i = i as usize;
        let &[from, to] = self.rows.off.get(i..i + 2)?.first_chunk::<2>()?;
        let row = self.rows.ids.get(from as usize..to as usize)?;
        let (head, lists) = row.split_first_chunk::<ROW_HEAD>()?;
        Some((*head, lists))
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

/// What writing an item's row costs besides its tags, in tags (callgrind at 1M: ~190
/// instructions an item and ~23 a tag for the rows; ~23 a tag for the postings).
const ROW_COST: usize = 8;

/// Where [`TagIndex::build`] splits the items' rows between two jobs: the lower items' rows
/// and the postings (a job of about one unit per raw tag) cost about what the upper items'
/// rows cost, `ROW_COST` units an item plus one a tag.
fn rows_split(n: usize, tags: usize) -> u32 {
    // lower + tags = upper, where lower + upper = ROW_COST * n + tags.
    let lower = ROW_COST * n / 2;
    let per_item = ROW_COST + tags / n.max(1);
    (lower / per_item).min(n) as u32
}

/// Turns per-row counts (row `k`'s at `k + 1`) into row offsets.
fn prefix_sums(off: &mut [u32]) {
    for k in 1..off.len() {
        off[k] += off[k - 1];
    }
}

/// What one raw tag is in a tag index: its id in the tag space and its class under the
/// prefixes.
#[derive(Clone, Copy)]
struct RawTag {
    id: TagIdx,
    class: Class,
}

/// The tag space of `raw` under `prefixes` (raw tags plus brand/category values, byte
/// order) and what each raw tag is in it. Raw tags are a sorted subset of the space, so
/// their ids keep every item's list sorted.
fn tag_space(raw: &Interner, prefixes: &TagPrefixes) -> (Interner, Vec<RawTag>) {
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
    let space = (0..raw.len() as u32)
        .map(|t| RawTag {
            id: id(raw.name(t)),
            class: match prefixes.split(raw.name(t)) {
                (Some(b), _) => Class::Brand(id(b)),
                (_, Some(c)) => Class::Category(id(c)),
                _ => Class::Sim,
            },
        })
        .collect();
    (tags, space)
}

/// A job of [`TagIndex::build`] with the arrays it fills (allocated by the caller).
enum Fill<'a> {
    Rows(Rows<'a>),
    Postings(Postings),
    /// A job already taken (never happens: each runs once).
    Done,
}

/// What a job of [`TagIndex::build`] gives back.
enum Filled {
    /// A side's row ends (from 0 at its first id), brand/category key counts, and how many
    /// ids it wrote.
    Rows(Vec<u32>, Vec<u32>, usize),
    Postings(Vec<u32>),
    Nothing,
}

/// The fused rows of a range of items being written: into `ids` (zeros, as many as the
/// rows may need), their ends into `off` (empty), and per brand value (key `value + 1`)
/// and category value (key `ntags + value + 1`) how many of the items carry it into `keys`
/// (`2 * ntags + 1` zeros).
struct Rows<'a> {
    items: std::ops::Range<u32>,
    ids: &'a mut [u32],
    off: Vec<u32>,
    keys: Vec<u32>,
}

/// The similarity postings being filled: where each tag's next item goes, and the items.
struct Postings {
    next: Vec<u32>,
    ids: Vec<u32>,
}

/// The fused row (see [`ROW_HEAD`]) of every item of `r.items`, one pass over each item's
/// raw tags, written by index from the start of `r.ids`.
fn item_rows(cat: &Catalog, space: &[RawTag], mut r: Rows<'_>) -> Filled {
    let ntags = r.keys.len() / 2;
    let (mut brands, mut cats) = (Vec::new(), Vec::new());
    let mut w = 0;
    for i in r.items.clone() {
        let tags = cat.raw_item_tags(i);
        // The all list, then at most as many similarity tags, brands and categories.
        let Some(row) = r.ids.get_mut(w..w + ROW_HEAD + 2 * tags.len()) else {
            break; // never: `r.ids` holds that much for every item
        };
        let (head, lists) = row.split_at_mut(ROW_HEAD);
        let (all, rest) = lists.split_at_mut(tags.len());
        brands.clear();
        cats.clear();
        let mut sim = 0;
        for (slot, &t) in all.iter_mut().zip(tags) {
            let raw = space[t as usize];
            *slot = raw.id;
            match raw.class {
                Class::Sim => {
                    rest[sim] = raw.id;
                    sim += 1;
                }
                Class::Brand(v) => brands.push(v),
                Class::Category(v) => cats.push(v),
            }
        }
        if brands.len() > 1 {
            sort_dedup_tail(&mut brands, 0);
        }
        if cats.len() > 1 {
            sort_dedup_tail(&mut cats, 0);
        }
        let values = rest[sim..].iter_mut().zip(brands.iter().chain(&cats));
        values.for_each(|(slot, &v)| *slot = v);
        let (a, s, b) = (
            tags.len(),
            tags.len() + sim,
            tags.len() + sim + brands.len(),
        );
        head.copy_from_slice(&[a as u32, s as u32, b as u32]);
        for &v in &brands {
            r.keys[v as usize + 1] += 1;
        }
        for &v in &cats {
            r.keys[ntags + v as usize + 1] += 1;
        }
        w += ROW_HEAD + b + cats.len();
        r.off.push(w as u32);
    }
    Filled::Rows(r.off, r.keys, w)
}

/// Items [`postings`] reads ahead of writing them: their row offsets, then their rows, are
/// loaded for the whole batch before the first item's postings are written. In popularity
/// order the items are scattered over the catalog, so each item's row is a cache miss; loads
/// that do not wait on each other overlap. By a standalone model of the 1M workload's rows
/// (four similarity tags of six an item, in random popularity order) the pass took 106-118
/// ms against 310-373 ms item after item (32 items: 109-149 ms; 128: 105-113 ms).
const READ_AHEAD: usize = 64;

/// Similarity-tag postings, each by popularity desc then id asc: items are visited in that
/// order (popular items as ranked, then every item with count 0 by id) and appended to their
/// tags' lists with a counting sort, so no list is sorted. Reads the catalog's raw tags,
/// [`READ_AHEAD`] items at a time.
fn postings(cat: &Catalog, space: &[RawTag], mut post: Postings) -> Postings {
    let n = cat.catalog_len();
    // Counts are never negative, so the items counted above 0 lead the popularity order.
    let counted = cat
        .pop_order
        .partition_point(|&i| cat.pop_count[i as usize] > 0.0);
    let popular = cat.pop_order[..counted].iter().copied();
    let mut visit = popular.chain((0..n as u32).filter(|&i| cat.pop_count[i as usize] <= 0.0));
    let mut batch = [0u32; READ_AHEAD];
    let mut rows: [&[TagIdx]; READ_AHEAD] = [&[]; READ_AHEAD];
    // The batch's raw tags, item after item, and where each item's end.
    let mut raw: Vec<TagIdx> = Vec::with_capacity(READ_AHEAD * 8);
    let mut ends = [0usize; READ_AHEAD];
    loop {
        let len = batch
            .iter_mut()
            .map_while(|b| visit.next().map(|i| *b = i))
            .count();
        if len == 0 {
            return post;
        }
        for (row, &i) in rows.iter_mut().zip(&batch[..len]) {
            *row = cat.raw_item_tags(i);
        }
        raw.clear();
        for (end, row) in ends.iter_mut().zip(&rows[..len]) {
            raw.extend_from_slice(row);
            *end = raw.len();
        }
        let mut from = 0;
        for (&end, &i) in ends.iter().zip(&batch[..len]) {
            for &t in &raw[from..end] {
                let r = space[t as usize];
                if let Class::Sim = r.class {
                    let slot = &mut post.next[r.id as usize];
                    post.ids[*slot as usize] = i;
                    *slot += 1;
                }
            }
            from = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{TagIndex, TagPrefixes};
    use crate::config::TenantConfig;
    use crate::snapshot::parallel::with_threads;
    use crate::snapshot::{Catalog, SignalData, Sources, TenantSnapshot, Versions};
    use crate::tests::rng::Rng;
    use std::collections::BTreeSet;

    /// Random content (brand, category and plain tags, repeats, values two spellings share,
    /// empty lists, items without content) and popularity (ties, zero and negative counts,
    /// items without an entry) for `items` items.
    fn random_signals(rng: &mut Rng, items: usize) -> SignalData {
        let tag = |rng: &mut Rng| match rng.below(6) {
            0 => format!("brand:b{}", rng.below(9)),
            1 => format!("brand: b{} ", rng.below(9)),
            2 => format!("cat:c{}", rng.below(9)),
            3 => "brand:".to_string(),
            _ => format!("t{}", rng.below(40)),
        };
        let mut content = Vec::new();
        let mut popularity = Vec::new();
        for i in 0..items {
            if !rng.chance(100) {
                let tags = (0..rng.below(8)).map(|_| tag(rng)).collect();
                content.push((format!("i{i:06}"), tags));
            }
            if rng.chance(700) {
                popularity.push((format!("i{i:06}"), rng.below(5) as f64 - 1.0));
            }
        }
        SignalData {
            popularity: Some(popularity),
            content: Some(content),
            ..SignalData::default()
        }
    }

    fn prefixes() -> TagPrefixes {
        TagPrefixes {
            brand: vec!["brand:".into()],
            category: vec!["cat:".into(), "brand:".into()],
        }
    }

    /// Every array of an index, for comparing two builds.
    fn arrays(t: &TagIndex) -> [&[u32]; 6] {
        [
            &t.rows.off,
            &t.rows.ids,
            &t.postings.off,
            &t.postings.ids,
            &t.values.lists.off,
            &t.values.lists.ids,
        ]
    }

    /// The similarity postings are each tag's items by popularity desc then id asc, and the
    /// brand and category lists each value's items ascending, as a plain scan of every
    /// item's lists gives them, on random catalogs.
    #[test]
    fn postings_and_value_lists_match_a_plain_scan_of_the_items() {
        let mut rng = Rng::new(0x5EED_7A65);
        for round in 0..40 {
            let d = random_signals(&mut rng, 1 + round * 7);
            lists_match_a_plain_scan(&d, round);
        }
    }

    /// The postings read items [`super::READ_AHEAD`] at a time: catalogs of a batch's size
    /// and one either side, one and two batches, with every item popular, none, or some.
    #[test]
    fn postings_read_ahead_match_a_plain_scan_at_every_batch_edge() {
        let mut rng = Rng::new(0x5EED_7A66);
        let b = super::READ_AHEAD;
        for (round, items) in [1, b - 1, b, b + 1, 2 * b, 2 * b + 1]
            .into_iter()
            .enumerate()
        {
            for popular in [0, 500, 1000] {
                let mut d = random_signals(&mut rng, items);
                d.popularity = Some(
                    (0..items)
                        .filter_map(|i| {
                            let count = 1.0 + rng.below(4) as f64;
                            rng.chance(popular).then(|| (format!("i{i:06}"), count))
                        })
                        .collect(),
                );
                lists_match_a_plain_scan(&d, round);
            }
        }
    }

    /// Asserts what [`postings_and_value_lists_match_a_plain_scan_of_the_items`] says of
    /// the index of `d`'s catalog.
    fn lists_match_a_plain_scan(d: &SignalData, round: usize) {
        {
            let cat = Catalog::build(&Sources::of_signals(d));
            let t = TagIndex::build(&cat, prefixes());
            let n = cat.catalog_len() as u32;
            for tag in 0..t.tags.len() as u32 {
                let mut want: Vec<u32> = (0..n)
                    .filter(|&i| t.item(i).is_some_and(|x| x.sim.contains(&tag)))
                    .collect();
                want.sort_by(|&a, &b| {
                    let count = |i: u32| cat.pop_count[i as usize];
                    count(b).total_cmp(&count(a)).then(a.cmp(&b))
                });
                assert_eq!(
                    t.postings(tag).unwrap_or(&[]),
                    want,
                    "round {round} tag {tag}"
                );
                for space in 0..2 {
                    let want: Vec<u32> = (0..n)
                        .filter(|&i| {
                            let x = t.item(i).unwrap_or_default();
                            [x.brands, x.categories][space].contains(&tag)
                        })
                        .collect();
                    assert_eq!(t.values.row(space, tag), want, "round {round} {space}");
                }
            }
        }
    }

    /// Built on two threads (a catalog over the size where a second thread starts), the
    /// index is the one-thread build, array for array.
    #[test]
    fn a_two_thread_build_equals_the_one_thread_build() {
        let mut rng = Rng::new(0xC0FF_EE11);
        let d = random_signals(&mut rng, 200_000);
        let cat = Catalog::build(&Sources::of_signals(&d));
        let weight = cat.catalog_len() * super::ROW_HEAD + 3 * cat.raw_tag_ids().len();
        assert!(weight > 1 << 20, "large enough for two threads");
        let one = with_threads(1, || TagIndex::build(&cat, prefixes()));
        let two = with_threads(2, || TagIndex::build(&cat, prefixes()));
        assert_eq!(arrays(&one), arrays(&two));
        assert_eq!(one.tags.len(), two.tags.len());
        assert!(one.postings.ids.len() > 100_000 && one.values.lists.ids.len() > 100_000);
    }

    /// The three readers of an item's row agree, item by item and past the catalog, on
    /// random catalogs (whose brand prefix is a category prefix too, and with items
    /// without content): [`TagIndex::sim`] is [`TagIndex::item`]'s similarity tags and
    /// [`TagIndex::keyed_lists`] its similarity (or all) tags, brands and categories; and
    /// rows shorter than their head (a hand-cut index) read as outside the catalog.
    #[test]
    fn row_readers_agree_item_by_item() {
        let (mut rng, mut tagged) = (Rng::new(0x0E1D_11E5), 0);
        for round in 0..30 {
            let d = random_signals(&mut rng, 1 + round * 11);
            let cat = Catalog::build(&Sources::of_signals(&d));
            let mut t = TagIndex::build(&cat, prefixes());
            if round % 5 == 4 {
                // Every other row cut to two ids: shorter than its head.
                let mut ids = Vec::new();
                let mut off = vec![0u32];
                for i in 0..t.rows.off.len().saturating_sub(1) as u32 {
                    let row = t.rows.row(i);
                    ids.extend_from_slice(if i % 2 == 0 {
                        row
                    } else {
                        &row[..row.len().min(2)]
                    });
                    off.push(ids.len() as u32);
                }
                t.rows = super::Csr { off, ids };
            }
            let n = cat.catalog_len() as u32;
            for i in 0..n + 3 {
                let item = t.item(i);
                assert_eq!(
                    item.is_none(),
                    i >= n || (round % 5 == 4 && i % 2 == 1),
                    "round {round} item {i}"
                );
                let x = item.unwrap_or_default();
                assert_eq!(t.sim(i), x.sim, "round {round} item {i}");
                assert_eq!(t.keyed_lists(i, true), [x.sim, x.brands, x.categories]);
                assert_eq!(t.keyed_lists(i, false), [x.all, x.brands, x.categories]);
                tagged += usize::from(!x.sim.is_empty() && !x.brands.is_empty());
            }
        }
        assert!(tagged > 100, "only {tagged} items with tags and brands");
    }

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
