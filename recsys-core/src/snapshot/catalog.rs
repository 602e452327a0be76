//! The catalog: the artifact-derived, config-independent part of a snapshot, compiled once per
//! artifact set and shared (`Arc`) by every policy (config + rules version) compiled against
//! it. Interned item ids, per-item normalised tags, popularity, co-occurrence rows and user
//! rows, in flat arrays. A config or rules change never rebuilds it.

use super::intern::{Interner, InternerBuilder, StrMap};
use super::sources::{Pairs, Rows, Sources, TagList, Tagged};
use super::tags::{TagIndex, TagPrefixes};
use super::{Available, ItemIdx, TagIdx, MAX_NEIGHBOURS_PER_ROW};
use crate::candidates::IdHasher;
use crate::error::Problem;
use crate::request::normalized_tag;
use std::sync::{Arc, Mutex};

/// Tag indexes kept per catalog (one per distinct set of brand/category prefixes in use).
const TAG_INDEXES_KEPT: usize = 4;

/// The compiled, immutable artifact data of one tenant/surface.
#[derive(Debug, Default)]
pub struct Catalog {
    pub items: Interner,
    /// Normalised tags as they appear in the content data, byte order.
    pub raw_tags: Interner,
    /// Per item, its raw tag ids (sorted, distinct): `raw_ids[raw_off[i]..raw_off[i+1]]`.
    raw_off: Vec<u32>,
    raw_ids: Vec<TagIdx>,
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
    pub available: Available,
    /// What compiling clamped (never silent).
    pub notes: Vec<Problem>,
    /// Memoised tag indexes by brand/category prefixes (see [`Catalog::tag_index`]).
    tag_indexes: Mutex<Vec<Arc<TagIndex>>>,
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

/// Content rows as read in the first pass: item and tag first-seen ids, flat.
struct ContentCols {
    item: Vec<Option<u32>>,
    tag_off: Vec<u32>,
    tags: Vec<u32>,
}

impl Catalog {
    /// Compiles the catalog from its sources. Item ids are interned in byte order.
    pub fn build(src: &Sources<'_>) -> Catalog {
        // 1. One pass over every id occurrence: distinct ids and tags by hash, content rows
        //    kept as first-seen ids (no string is copied or looked up twice).
        let mut ids = InternerBuilder::with_capacity(src.popularity.map_or(0, |p| p.len()));
        let mut tagb = InternerBuilder::with_capacity(1024);
        let mut pop_fs: Vec<(Option<u32>, f64)> = Vec::new();
        if let Some(p) = src.popularity {
            pop_fs.reserve(p.len());
            p.each(|i, c| pop_fs.push((ids.add(i.into()), c)));
        }
        for rows in [src.cooc, src.implicit, src.session].into_iter().flatten() {
            rows.each(|_, items| {
                items.each(|i, _| {
                    ids.add(i.into());
                })
            });
        }
        if let Some(c) = src.cooc {
            c.each(|a, _| {
                ids.add(a.into());
            });
        }
        let mut content = ContentCols {
            item: Vec::new(),
            tag_off: vec![0],
            tags: Vec::new(),
        };
        if let Some(c) = src.content {
            // Columns already number their distinct raw tags: normalise each once.
            let dict: Vec<Option<u32>> = match c {
                Tagged::Cols(t) => (0..t.dict.len())
                    .map(|i| tagb.add(normalized_tag(t.dict.get(i))))
                    .collect(),
                _ => Vec::new(),
            };
            c.each(|item, tags| {
                content.item.push(ids.add(item.into()));
                match tags {
                    TagList::Cols(_, raw) => content
                        .tags
                        .extend(raw.iter().filter_map(|&r| dict[r as usize])),
                    _ => tags.each(|t| content.tags.extend(tagb.add(normalized_tag(t)))),
                }
                content.tag_off.push(content.tags.len() as u32);
            });
        }
        let (items, id_rank) = ids.finish();
        let (raw_tags, tag_rank) = tagb.finish();
        let n = items.len();
        let rank = |fs: Option<u32>| fs.map(|f| id_rank[f as usize]);

        // 2. Per-item raw tags (later rows for the same item replace earlier ones).
        let (raw_off, raw_ids) = item_tag_csr(n, &content, &rank, &tag_rank);
        drop(content);

        // 3. Popularity: last duplicate's count wins.
        let mut pop_count = vec![0.0; n];
        let mut has_pop = vec![false; n];
        for (fs, c) in pop_fs {
            if let Some(ix) = rank(fs) {
                pop_count[ix as usize] = clean(c);
                has_pop[ix as usize] = true;
            }
        }
        let mut pop_order: Vec<ItemIdx> = (0..n as u32).filter(|&i| has_pop[i as usize]).collect();
        pop_order.sort_by(|&a, &b| {
            pop_count[b as usize]
                .total_cmp(&pop_count[a as usize])
                .then(a.cmp(&b))
        });
        drop(has_pop);

        // 4. Co-occurrence CSR (first row per anchor wins, as the reference's lookup).
        let mut truncated = 0usize;
        let (cooc_off, cooc_nbrs) = cooc_csr(&items, src.cooc, &mut truncated);
        // 5. Users.
        let implicit = users(&items, src.implicit, &mut truncated);
        let session = users(&items, src.session, &mut truncated);
        let mut notes = Vec::new();
        if truncated > 0 {
            notes.push(Problem::new(
                "$.artifacts",
                "RECSYS_SNAPSHOT_ROWS_CLAMPED",
                format!("{truncated} neighbour/user rows were longer than {MAX_NEIGHBOURS_PER_ROW} entries; only the top {MAX_NEIGHBOURS_PER_ROW} by score are kept"),
            ));
        }
        Catalog {
            items,
            raw_tags,
            raw_off,
            raw_ids,
            pop_count,
            pop_order,
            cooc_off,
            cooc_nbrs,
            implicit,
            session,
            available: Available {
                popularity: src.popularity.is_some(),
                cooc: src.cooc.is_some(),
                implicit: src.implicit.is_some(),
                content: src.content.is_some(),
                session: src.session.is_some(),
            },
            notes,
            tag_indexes: Mutex::default(),
        }
    }

    /// Co-occurrence neighbours of an item (count desc, id asc).
    pub fn cooc_row(&self, item: ItemIdx) -> &[(ItemIdx, f64)] {
        csr_row(&self.cooc_off, &self.cooc_nbrs, item)
    }

    /// An item's normalised tags as raw tag ids (sorted).
    pub fn raw_item_tags(&self, item: ItemIdx) -> &[TagIdx] {
        csr_row(&self.raw_off, &self.raw_ids, item)
    }

    /// Number of items in the catalog (any artifact).
    pub fn catalog_len(&self) -> usize {
        self.items.len()
    }

    /// The tag index for these brand/category prefixes: built on first use, then shared by
    /// every policy that uses the same prefixes (a config change that keeps them costs
    /// nothing here).
    pub fn tag_index(&self, prefixes: &TagPrefixes) -> Arc<TagIndex> {
        let mut kept = self.tag_indexes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = kept.iter().find(|t| t.prefixes() == prefixes) {
            return t.clone();
        }
        let t = Arc::new(TagIndex::build(self, prefixes.clone()));
        if kept.len() >= TAG_INDEXES_KEPT {
            kept.remove(0);
        }
        kept.push(t.clone());
        t
    }

    /// Heap bytes held by the catalog's own arrays (tag indexes excluded).
    pub fn heap_bytes(&self) -> usize {
        let users = |m: &StrMap<Box<[(ItemIdx, f64)]>>| {
            m.iter()
                .map(|(k, v)| k.len() + v.len() * 16 + 48)
                .sum::<usize>()
        };
        self.items.heap_bytes()
            + self.raw_tags.heap_bytes()
            + (self.raw_off.capacity() + self.raw_ids.capacity()) * 4
            + self.pop_count.capacity() * 8
            + self.pop_order.capacity() * 4
            + self.cooc_off.capacity() * 4
            + self.cooc_nbrs.capacity() * 16
            + users(&self.implicit)
            + users(&self.session)
    }
}

pub(crate) fn csr_row<'a, T>(off: &[u32], vals: &'a [T], i: u32) -> &'a [T] {
    let i = i as usize;
    match (off.get(i), off.get(i + 1)) {
        (Some(&a), Some(&b)) => &vals[a as usize..b as usize],
        _ => &[],
    }
}

/// Sorts `v[start..]` and removes duplicates from it (one CSR row being built).
pub(crate) fn sort_dedup_tail(v: &mut Vec<u32>, start: usize) {
    v[start..].sort_unstable();
    let mut w = start;
    for k in start..v.len() {
        if k == start || v[k] != v[w - 1] {
            v[w] = v[k];
            w += 1;
        }
    }
    v.truncate(w);
}

/// Per-item sorted, distinct raw tag ids from the content rows (last row per item wins).
fn item_tag_csr(
    n: usize,
    c: &ContentCols,
    rank: &impl Fn(Option<u32>) -> Option<u32>,
    tag_rank: &[u32],
) -> (Vec<u32>, Vec<TagIdx>) {
    let mut last_row: Vec<u32> = vec![u32::MAX; n];
    for (r, fs) in c.item.iter().enumerate() {
        if let Some(ix) = rank(*fs) {
            last_row[ix as usize] = r as u32;
        }
    }
    let mut off = Vec::with_capacity(n + 1);
    let mut ids: Vec<TagIdx> = Vec::with_capacity(c.tags.len());
    off.push(0u32);
    for &r in &last_row {
        if r != u32::MAX {
            let (a, b) = (c.tag_off[r as usize], c.tag_off[r as usize + 1]);
            let start = ids.len();
            ids.extend(
                c.tags[a as usize..b as usize]
                    .iter()
                    .map(|&t| tag_rank[t as usize]),
            );
            sort_dedup_tail(&mut ids, start);
        }
        off.push(ids.len() as u32);
    }
    (off, ids)
}

fn cooc_csr(
    items: &Interner,
    cooc: Option<Rows<'_>>,
    truncated: &mut usize,
) -> (Vec<u32>, Vec<(ItemIdx, f64)>) {
    let n = items.len();
    let mut row_of: Vec<Option<Vec<(ItemIdx, f64)>>> = Vec::new();
    let mut slot: Vec<u32> = vec![u32::MAX; n];
    if let Some(c) = cooc {
        c.each(|anchor, nb| {
            let Some(a) = items.get(anchor) else { return };
            if slot[a as usize] != u32::MAX {
                return;
            }
            slot[a as usize] = row_of.len() as u32;
            row_of.push(Some(scored_row(items, nb, Some(a), truncated)));
        });
    }
    let mut off = Vec::with_capacity(n + 1);
    let mut nbrs = Vec::with_capacity(row_of.iter().flatten().map(Vec::len).sum());
    off.push(0u32);
    for s in slot {
        if let Some(r) = row_of.get_mut(s as usize).and_then(Option::take) {
            nbrs.extend(r);
        }
        off.push(nbrs.len() as u32);
    }
    (off, nbrs)
}

fn users(
    items: &Interner,
    rows: Option<Rows<'_>>,
    truncated: &mut usize,
) -> StrMap<Box<[(ItemIdx, f64)]>> {
    let mut m: StrMap<Box<[(ItemIdx, f64)]>> = StrMap::default();
    if let Some(rows) = rows {
        rows.each(|u, list| {
            let key = u.trim();
            if key.is_empty() || m.contains_key(key) {
                return;
            }
            m.insert(key.into(), scored_row(items, list, None, truncated).into());
        });
    }
    m
}

/// Interns, cleans (positive finite scores, non-blank ids, first occurrence wins, no self
/// pair), sorts (score desc, id asc) and clamps one neighbour/user row.
fn scored_row(
    items: &Interner,
    list: Pairs<'_>,
    own: Option<ItemIdx>,
    truncated: &mut usize,
) -> Vec<(ItemIdx, f64)> {
    let mut seen: std::collections::HashSet<ItemIdx, std::hash::BuildHasherDefault<IdHasher>> =
        std::collections::HashSet::with_capacity_and_hasher(list.len(), Default::default());
    let mut out: Vec<(ItemIdx, f64)> = Vec::with_capacity(list.len().min(MAX_NEIGHBOURS_PER_ROW));
    list.each(|i, s| {
        let s = clean(s);
        if s <= 0.0 {
            return;
        }
        let Some(ix) = items.get(i.trim()) else {
            return;
        };
        if Some(ix) == own || !seen.insert(ix) {
            return;
        }
        out.push((ix, s));
    });
    sort_scored(&mut out);
    if out.len() > MAX_NEIGHBOURS_PER_ROW {
        out.truncate(MAX_NEIGHBOURS_PER_ROW);
        *truncated += 1;
    }
    out
}
