//! The catalog: the artifact-derived, config-independent part of a snapshot, compiled once per
//! artifact set and shared (`Arc`) by every policy (config + rules version) compiled against
//! it. Interned item ids, per-item normalised tags, popularity, co-occurrence rows and user
//! rows, in flat arrays. A config or rules change never rebuilds it.
//!
//! Each part is itself shared, so a changed artifact rebuilds only what depends on it
//! ([`Catalog::rebuild`]): when the new artifact names no item the catalog does not know and
//! every known item is still named by some signal, the interned ids are kept and only that
//! signal's part is compiled again; the tag indexes are kept too unless popularity or content
//! changed.

use super::id_keys;
use super::id_merge::{self, SortedList};
use super::intern::{Interner, InternerBuilder, StrMap};
use super::sources::{Pairs, Rows, Sources, Tagged};
use super::tags::{TagIndex, TagPrefixes};
use super::{Available, ItemIdx, TagIdx, MAX_NEIGHBOURS_PER_ROW};
use crate::artifacts::ArtifactKind;
use crate::error::Problem;
use crate::request::normalized_tag;
use std::sync::{Arc, Mutex};

/// Tag indexes kept per catalog (one per distinct set of brand/category prefixes in use).
const TAG_INDEXES_KEPT: usize = 4;

/// An immutable array shared between catalogs (a rebuild keeps the parts it does not
/// recompile). Reads like a slice: indexing, `get`, `iter`, `for x in &shared`.
#[derive(Debug)]
pub struct Shared<T>(Arc<Vec<T>>);

impl<T> Default for Shared<T> {
    fn default() -> Shared<T> {
        Shared(Arc::new(Vec::new()))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Shared<T> {
        Shared(self.0.clone())
    }
}

impl<T> Shared<T> {
    fn new(v: Vec<T>) -> Shared<T> {
        Shared(Arc::new(v))
    }
    /// Whether two catalogs share this array (not a copy of it).
    pub fn ptr_eq(&self, other: &Shared<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
    #[cfg(feature = "bench-internals")]
    fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<T>()
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'a, T> IntoIterator for &'a Shared<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// user key → items by score desc, id asc.
pub type UserRows = StrMap<Box<[(ItemIdx, f64)]>>;

/// The signals, as bits of [`Catalog::refs`] and indexes of `truncated`.
const SIGNALS: [ArtifactKind; 5] = ArtifactKind::ALL;

fn bit(kind: ArtifactKind) -> u8 {
    1 << (kind as u8)
}

/// A resolved id occurrence: an item, none (empty id), or "look the trimmed name up" (a
/// neighbour id with surrounding blanks resolves to the trimmed id, as the reference does).
const ABSENT: u32 = u32::MAX;
const BY_NAME: u32 = u32::MAX - 1;

/// The compiled, immutable artifact data of one tenant/surface.
#[derive(Debug, Default)]
pub struct Catalog {
    pub items: Arc<Interner>,
    /// No item id holds a byte JSON text escapes (quote, backslash, control character):
    /// answers copy ids without scanning them. Set where the ids are interned (false in a
    /// default catalog: every id is scanned).
    pub ids_plain: bool,
    /// Per item, which signals name it (bit `1 << kind`): lets a rebuild keep the ids.
    refs: Shared<u8>,
    /// Normalised tags as they appear in the content data, byte order.
    pub raw_tags: Arc<Interner>,
    /// Per item, its raw tag ids (sorted, distinct): `raw_ids[raw_off[i]..raw_off[i+1]]`.
    raw_off: Shared<u32>,
    raw_ids: Shared<TagIdx>,
    /// Raw popularity count per item (0 when absent).
    pub pop_count: Shared<f64>,
    /// Items with a popularity entry, by count desc then id asc.
    pub pop_order: Shared<ItemIdx>,
    /// Co-occurrence rows in CSR form: neighbours of item `i` are `cooc_nbrs[cooc_off[i]..cooc_off[i+1]]`.
    cooc_off: Shared<u32>,
    cooc_nbrs: Shared<(ItemIdx, f64)>,
    pub implicit: Arc<UserRows>,
    pub session: Arc<UserRows>,
    pub available: Available,
    /// Rows clamped to [`MAX_NEIGHBOURS_PER_ROW`] per signal (cooc, implicit, session).
    truncated: [usize; 3],
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
    // A total order on distinct ids: an unstable sort gives the same result, faster.
    v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

/// Every id occurrence of the sources, resolved to item ids, in source order.
#[derive(Default)]
struct Occurrences {
    pop: Vec<u32>,
    cooc_anchor: Vec<u32>,
    cooc: Vec<u32>,
    implicit: Vec<u32>,
    session: Vec<u32>,
    content: Vec<u32>,
}

impl Occurrences {
    /// The resolved occurrences of list `list` of [`LISTS`].
    fn list_mut(&mut self, list: usize) -> &mut Vec<u32> {
        match list {
            0 => &mut self.pop,
            1 => &mut self.cooc_anchor,
            2 => &mut self.cooc,
            3 => &mut self.implicit,
            4 => &mut self.session,
            _ => &mut self.content,
        }
    }

    fn rows_mut(&mut self, kind: ArtifactKind) -> &mut Vec<u32> {
        match kind {
            ArtifactKind::Cooc => &mut self.cooc,
            ArtifactKind::Implicit => &mut self.implicit,
            _ => &mut self.session,
        }
    }
}

fn rows_of<'a>(src: &Sources<'a>, kind: ArtifactKind) -> Option<Rows<'a>> {
    match kind {
        ArtifactKind::Cooc => src.cooc,
        ArtifactKind::Implicit => src.implicit,
        ArtifactKind::SessionSeq => src.session,
        _ => None,
    }
}

/// Calls `f(id, is_neighbour)` for every id occurrence of `kind` in `src`, in the order
/// [`Occurrences`] records them (co-occurrence: neighbours, then anchors).
fn each_id<'a>(src: &Sources<'a>, kind: ArtifactKind, mut f: impl FnMut(&'a str, bool)) {
    if kind == ArtifactKind::Cooc {
        each_in_list(src, (kind, true), |s| f(s, true));
        each_in_list(src, (kind, false), |s| f(s, false));
    } else {
        let neighbours = !matches!(kind, ArtifactKind::Popularity | ArtifactKind::ContentSim);
        each_in_list(src, (kind, neighbours), |s| f(s, neighbours));
    }
}

/// Calls `f(id)` for every id occurrence of one list of [`LISTS`], in source order.
fn each_in_list<'a>(
    src: &Sources<'a>,
    (kind, neighbours): (ArtifactKind, bool),
    mut f: impl FnMut(&'a str),
) {
    match (kind, neighbours) {
        (ArtifactKind::Popularity, false) => {
            if let Some(p) = src.popularity {
                p.each(|i, _| f(i));
            }
        }
        (ArtifactKind::ContentSim, false) => {
            if let Some(c) = src.content {
                c.each(|item, _| f(item));
            }
        }
        (ArtifactKind::Cooc, false) => {
            if let Some(c) = src.cooc {
                c.each(|a, _| f(a));
            }
        }
        (_, true) => {
            if let Some(rows) = rows_of(src, kind) {
                rows.each(|_, items| items.each(|i, _| f(i)));
            }
        }
        _ => {}
    }
}

/// How many id occurrences one list of [`LISTS`] has (read from lengths, not the ids).
fn list_len(src: &Sources<'_>, (kind, neighbours): (ArtifactKind, bool)) -> usize {
    match (kind, neighbours) {
        (ArtifactKind::Popularity, false) => src.popularity.map_or(0, |p| p.len()),
        (ArtifactKind::ContentSim, false) => src.content.map_or(0, |c| c.len()),
        (ArtifactKind::Cooc, false) => src.cooc.map_or(0, |c| c.len()),
        (_, true) => rows_of(src, kind).map_or(0, |r| r.pairs()),
        _ => 0,
    }
}

/// Where the occurrences of `kind` go: neighbours first, then (cooc) anchors.
fn push_occ(occ: &mut Occurrences, kind: ArtifactKind, neighbour: bool, id: u32) {
    match kind {
        ArtifactKind::Popularity => occ.pop.push(id),
        ArtifactKind::ContentSim => occ.content.push(id),
        ArtifactKind::Cooc if !neighbour => occ.cooc_anchor.push(id),
        k => occ.rows_mut(k).push(id),
    }
}

/// One signal's part of the catalog, compiled on its own (the parts are independent once the
/// ids are interned, so [`Catalog::build`] compiles them side by side).
enum Part {
    Popularity(Vec<f64>, Vec<ItemIdx>),
    Content(Interner, Vec<u32>, Vec<TagIdx>),
    /// Offsets, neighbours, rows truncated.
    Cooc(Vec<u32>, Vec<(ItemIdx, f64)>, usize),
    Implicit(UserRows, usize),
    Session(UserRows, usize),
}

impl Part {
    fn compile(items: &Interner, src: &Sources<'_>, kind: ArtifactKind, occ: &Occurrences) -> Part {
        let n = items.len();
        let mut t = 0;
        match kind {
            ArtifactKind::Popularity => {
                let (count, order) = popularity(n, src.popularity, &occ.pop);
                Part::Popularity(count, order)
            }
            ArtifactKind::ContentSim => {
                let (tags, off, ids) = content(n, src.content, &occ.content);
                Part::Content(tags, off, ids)
            }
            ArtifactKind::Cooc => {
                let (off, nbrs) = cooc_csr(items, src.cooc, &occ.cooc_anchor, &occ.cooc, &mut t);
                Part::Cooc(off, nbrs, t)
            }
            ArtifactKind::Implicit => {
                let rows = users(items, src.implicit, &occ.implicit, &mut t);
                Part::Implicit(rows, t)
            }
            ArtifactKind::SessionSeq => {
                let rows = users(items, src.session, &occ.session, &mut t);
                Part::Session(rows, t)
            }
        }
    }
}

/// The order [`Catalog::build`] starts its jobs in (heaviest weight first): the parts of
/// [`SIGNALS`], then the ids' lookup table, roughly in units of one content tag. By wall
/// time at 1M items on two threads, content costs ~6 units an item (about six tags), the
/// table ~4 an id (a cache miss per insert), co-occurrence ~2 an occurrence and popularity
/// ~1. The table is weighed between co-occurrence and popularity, not at its cost: the
/// content part goes first (to the calling thread), co-occurrence second, and the thread
/// that finishes co-occurrence takes the table, so the table is allocated where
/// co-occurrence's row buffers were just freed. With the table second, it went to the
/// second thread's allocator arena first, the row buffers after it, and RSS after the 1M
/// load read +299 MiB over the inputs against +285 (bound 300).
fn part_weights(interned: &Interned<'_>, items: usize) -> Vec<usize> {
    let mut weights = vec![0; SIGNALS.len() + 1];
    for (l, &(kind, _)) in LISTS.iter().enumerate() {
        let per_occurrence = match kind {
            ArtifactKind::ContentSim => 6,
            ArtifactKind::Cooc => 2,
            _ => 1,
        };
        if let Some(part) = SIGNALS.iter().position(|&k| k == kind) {
            weights[part] += per_occurrence * interned.len(l);
        }
    }
    weights[SIGNALS.len()] = items + items / 2;
    weights
}

/// What [`Catalog::build`] does side by side once the ids are interned.
enum Job {
    Part(Part),
    /// The lookup table of the interned ids.
    Table(hashbrown::HashTable<u32>),
}

/// The lists of id occurrences, in the order [`Occurrences`] keeps them: (signal, whether
/// the list holds neighbours; co-occurrence has both).
const LISTS: [(ArtifactKind, bool); 6] = [
    (ArtifactKind::Popularity, false),
    (ArtifactKind::Cooc, false),
    (ArtifactKind::Cooc, true),
    (ArtifactKind::Implicit, true),
    (ArtifactKind::SessionSeq, true),
    (ArtifactKind::ContentSim, false),
];

/// The id occurrences of one list of [`LISTS`], in source order.
fn list_ids<'a>(src: &Sources<'a>, list: (ArtifactKind, bool), n: usize) -> Vec<&'a str> {
    let mut v = Vec::with_capacity(n);
    each_in_list(src, list, |s| v.push(s));
    v
}

/// One list of occurrences interned on its own ([`id_merge::sort_list`]), and the
/// positions of its neighbour ids with surrounding blanks: those are interned as written but
/// resolved by their trimmed name later ([`BY_NAME`]).
fn sort_occurrences<'a>(
    src: &Sources<'a>,
    list: (ArtifactKind, bool),
    n: usize,
) -> (SortedList<'a>, Vec<usize>) {
    let ids = list_ids(src, list, n);
    let untrimmed: Vec<usize> = match list.1 {
        true => (0..ids.len()).filter(|&i| !is_trimmed(ids[i])).collect(),
        false => Vec::new(),
    };
    (id_merge::sort_list(ids), untrimmed)
}

/// The interned ids' occurrences, list by list ([`LISTS`]), until each part's job resolves
/// its own lists ([`Interned::occurrences`]): the sorted list, the positions of its
/// untrimmed neighbour ids, its ids' indexes in the catalog, and the array the resolved
/// occurrences go to (allocated on the calling thread, filled by the job).
struct Interned<'a> {
    lists: Vec<Mutex<Option<Unresolved<'a>>>>,
    /// The ids' keys, when they were interned by key.
    keys: Option<id_keys::Keys>,
}

/// One list of [`Interned`] (see there).
enum Unresolved<'a> {
    /// Interned by sorting ([`sorted_ids`]): the sorted list, the positions of its
    /// untrimmed neighbour ids and its ids' indexes in the catalog.
    Sorted {
        sorted: SortedList<'a>,
        untrimmed: Vec<usize>,
        remap: Vec<u32>,
        /// How many occurrences the list has, empty ids included.
        len: usize,
        out: Vec<u32>,
    },
    /// Interned by key ([`keyed_ids`]): each occurrence's key (or [`id_merge::NONE`], or
    /// [`BY_NAME`]), turned into its rank in place.
    Keyed { len: usize, out: Vec<u32> },
}

impl Interned<'_> {
    /// How many occurrences list `l` of [`LISTS`] has.
    fn len(&self, l: usize) -> usize {
        let list = self.lists[l].lock().unwrap_or_else(|p| p.into_inner());
        match list.as_ref() {
            Some(Unresolved::Sorted { len, .. } | Unresolved::Keyed { len, .. }) => *len,
            None => 0,
        }
    }

    /// The occurrences of `kind`'s lists resolved to item ids (the other lists empty); each
    /// list is taken, so only the first call for a kind sees them.
    fn occurrences(&self, kind: ArtifactKind) -> Occurrences {
        let mut occ = Occurrences::default();
        for (l, _) in LISTS.iter().enumerate().filter(|(_, list)| list.0 == kind) {
            let taken = self.lists[l]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            *occ.list_mut(l) = match taken {
                None => continue,
                Some(Unresolved::Sorted {
                    sorted,
                    untrimmed,
                    remap,
                    out,
                    ..
                }) => {
                    let mut ids = sorted.resolve_into(&remap, out);
                    for i in untrimmed {
                        if ids[i] != id_merge::NONE {
                            ids[i] = BY_NAME;
                        }
                    }
                    ids
                }
                Some(Unresolved::Keyed { mut out, .. }) => {
                    let Some(keys) = &self.keys else { continue };
                    for k in out.iter_mut().filter(|k| **k < BY_NAME) {
                        *k = keys.rank_of_key(*k);
                    }
                    out
                }
            };
        }
        occ
    }
}

/// Content's list in [`LISTS`] (ids of items with tags, as the pipeline writes them: in
/// byte order).
const CONTENT: usize = 5;
const _: () = assert!(matches!(LISTS[CONTENT].0, ArtifactKind::ContentSim) && !LISTS[CONTENT].1);
/// [`intern_ids`]' job that reads the upper half of content's list.
const UPPER: usize = LISTS.len();

/// What one job of [`intern_ids`]' sorts gives: a list sorted whole (with the positions of
/// its untrimmed neighbour ids), the lower half of content's list grouped in one read, or
/// the upper half (`None` when it is not in byte order).
enum Piece<'a> {
    Whole((SortedList<'a>, Vec<usize>)),
    Lower(SortedList<'a>),
    Upper(Option<SortedList<'a>>),
}

/// The item ids of content's rows at positions `range` (only those rows are read),
/// appended to `v`.
fn content_range<'a>(
    src: &Sources<'a>,
    range: std::ops::Range<usize>,
    mut v: Vec<&'a str>,
) -> Vec<&'a str> {
    if let Some(c) = src.content {
        v.reserve_exact(range.len());
        c.each_item_in(range, |s| v.push(s));
    }
    v
}

/// The lower `half` of content's list grouped in one read when it is in byte order; else
/// the whole list (`len` occurrences) sorted here, in this job, the lower half read once
/// (the upper half's job then finds its half out of order too, or its result is not used).
/// Content's list holds no neighbour ids, so no untrimmed positions.
fn content_lower_half<'a>(src: &Sources<'a>, half: usize, len: usize) -> Piece<'a> {
    let lower = content_range(src, 0..half, Vec::new());
    match id_merge::in_order_list(&lower) {
        Some(lo) => Piece::Lower(lo),
        None => {
            let whole = content_range(src, half..len, lower);
            Piece::Whole((id_merge::sort_list(whole), Vec::new()))
        }
    }
}

/// Interns every id occurrence of `src`: by key when the ids are numbered alike
/// ([`keyed_ids`]), else by sorting ([`sorted_ids`]); both give the same ids. Returns the
/// ids, per item the signals naming it, and the occurrences, to be resolved to item ids by
/// the parts' jobs.
fn intern_ids<'a>(src: &Sources<'a>) -> (Interner, Vec<u8>, Interned<'a>) {
    let weights = LISTS.map(|l| list_len(src, l));
    keyed_ids(src, &weights).unwrap_or_else(|| sorted_ids(src, weights))
}

/// Where content's list is cut for reading in two halves side by side: at its middle when
/// the work runs on two threads, else at its end (read whole; the upper half is empty).
fn content_half(weights: &[usize; LISTS.len()]) -> usize {
    match super::parallel::threads_for(weights) {
        1 => weights[CONTENT],
        _ => weights[CONTENT] / 2,
    }
}

/// Interns every id occurrence of `src`: each list sorted on its own (side by side), then
/// merged into byte order.
fn sorted_ids<'a>(
    src: &Sources<'a>,
    weights: [usize; LISTS.len()],
) -> (Interner, Vec<u8>, Interned<'a>) {
    // Content's list, in byte order as the pipeline writes it, is read in two halves side
    // by side (the last job, and `CONTENT`'s): at 1M it ran after both radix sorts while
    // the other thread idled. On one thread it is read whole (the upper job is empty).
    let half = content_half(&weights);
    let mut jobs = weights.to_vec();
    jobs[CONTENT] = half;
    jobs.push(weights[CONTENT] - half);
    let mut pieces = super::parallel::in_parallel(&jobs, |i| match i {
        CONTENT => content_lower_half(src, half, weights[CONTENT]),
        UPPER => Piece::Upper(id_merge::in_order_list(&content_range(
            src,
            half..weights[CONTENT],
            Vec::new(),
        ))),
        _ => Piece::Whole(sort_occurrences(src, LISTS[i], weights[i])),
    });
    let mut upper = match pieces.pop() {
        Some(Piece::Upper(hi)) => hi,
        _ => None,
    };
    let sorted: Vec<(SortedList<'a>, Vec<usize>)> = (pieces.into_iter().enumerate())
        .map(|(l, piece)| match piece {
            Piece::Whole(s) => s,
            Piece::Lower(lo) => match upper.take().and_then(|hi| id_merge::join_in_order(lo, hi)) {
                Some(s) => (s, Vec::new()),
                // In order in its lower half only, or not at the edge: sorted whole.
                _ => sort_occurrences(src, LISTS[l], weights[l]),
            },
            Piece::Upper(_) => sort_occurrences(src, LISTS[l], weights[l]),
        })
        .collect();
    let distinct: Vec<&[&str]> = sorted.iter().map(|s| s.0.distinct.as_slice()).collect();
    // Names come from a list stored in byte order where one names them (content, as the
    // pipeline writes it), so the interner copies them reading in order.
    let in_order: Vec<bool> = sorted.iter().map(|s| s.0.in_order).collect();
    let (names, remap) = id_merge::merge(&distinct, &in_order);
    let mut refs = vec![0u8; names.len()];
    for (l, map) in remap.iter().enumerate() {
        for &g in map {
            refs[g as usize] |= bit(LISTS[l].0);
        }
    }
    let items = Interner::sorted_unindexed(&names);
    drop(names);
    let lists = sorted
        .into_iter()
        .zip(remap)
        .zip(weights)
        .map(|(((mut sorted, untrimmed), remap), len)| {
            // Merged: its names are no longer needed (16 bytes an id, freed here rather
            // than when the part's job resolves the list).
            sorted.distinct = Vec::new();
            Mutex::new(Some(Unresolved::Sorted {
                sorted,
                untrimmed,
                remap,
                len,
                out: Vec::with_capacity(len),
            }))
        })
        .collect();
    (items, refs, Interned { lists, keys: None })
}

/// Calls `f(id)` for every id occurrence of piece `piece` of [`keyed_ids`], in source
/// order: list `piece` of [`LISTS`], content's only below `half`, and above it for piece
/// [`UPPER`].
fn each_in_piece<'a>(src: &Sources<'a>, piece: usize, half: usize, f: impl FnMut(&'a str)) {
    match (piece, src.content) {
        (CONTENT, Some(c)) => c.each_item_in(0..half, f),
        (UPPER, Some(c)) => c.each_item_in(half..c.len(), f),
        (CONTENT | UPPER, None) => {}
        _ => each_in_list(src, LISTS[piece], f),
    }
}

/// Interns every id occurrence of `src` by key ([`id_keys`]) when every non-empty id has
/// one length and they differ in few bits; `None` (having read at most the ids' lengths
/// past the first that differs, and their prefixes) otherwise. Side by side, each list
/// (content's in two halves) is read for its shape, then again to set its keys in a bitmap
/// of its own and to write each occurrence's key (or [`id_merge::NONE`], or [`BY_NAME`]
/// for an untrimmed neighbour id) into the array its ids go to; the union ranks the ids,
/// and the parts' jobs turn the keys into ranks in place. Every array is allocated here, on
/// the calling thread. The ids' names are taken from the lists, content's first (in byte
/// order as the pipeline writes it, so the interner copies them in order).
fn keyed_ids<'a>(
    src: &Sources<'a>,
    weights: &[usize; LISTS.len()],
) -> Option<(Interner, Vec<u8>, Interned<'a>)> {
    let half = content_half(weights);
    let mut pieces = weights.to_vec();
    pieces[CONTENT] = half;
    pieces.push(weights[CONTENT] - half);
    let shapes = super::parallel::in_parallel(&pieces, |i| {
        let (mut shape, mut len, mut fits) = (id_merge::Shape::new(), None, true);
        each_in_piece(src, i, half, |s| {
            if fits && !s.is_empty() {
                fits = s.len() <= 16 && *len.get_or_insert(s.len()) == s.len();
                shape.add(s);
            }
        });
        fits.then_some(shape)
    });
    let shapes: Vec<id_merge::Shape> = shapes.into_iter().collect::<Option<_>>()?;
    let layout = id_keys::layout(&shapes, pieces.iter().sum())?;
    let jobs: Vec<Mutex<(Vec<u64>, Vec<u32>)>> = (pieces.iter().enumerate())
        .map(|(i, &w)| {
            let map = if w > 0 {
                id_keys::bitmap(&layout)
            } else {
                Vec::new()
            };
            let room = if i == CONTENT { weights[CONTENT] } else { w };
            Mutex::new((map, Vec::with_capacity(room)))
        })
        .collect();
    let mut marked = super::parallel::in_parallel(&pieces, |i| {
        let (mut map, mut keys) =
            std::mem::take(&mut *jobs[i].lock().unwrap_or_else(|p| p.into_inner()));
        let neighbours = LISTS[i.min(CONTENT)].1;
        each_in_piece(src, i, half, |s| {
            keys.push(match s.is_empty() {
                true => id_merge::NONE,
                false => {
                    let k = id_keys::mark(&layout, &mut map, s);
                    if neighbours && !is_trimmed(s) {
                        BY_NAME
                    } else {
                        k
                    }
                }
            })
        });
        (bit(LISTS[i.min(CONTENT)].0), map, keys)
    });
    let (keys, refs) = id_keys::Keys::of(layout, marked.iter().map(|m| (m.0, &m.1[..])));
    let mut lists: Vec<Vec<u32>> = marked
        .iter_mut()
        .map(|m| std::mem::take(&mut m.2))
        .collect();
    drop(marked);
    // Content's upper half follows its lower half (room for it was reserved there).
    let upper = lists.pop().unwrap_or_default();
    lists[CONTENT].extend(upper);
    let names = keyed_names(src, &keys, &lists);
    let items = Interner::sorted_unindexed(&names);
    drop(names);
    let lists = (lists.into_iter().zip(weights))
        .map(|(out, &len)| Mutex::new(Some(Unresolved::Keyed { len, out })))
        .collect();
    let interned = Interned {
        lists,
        keys: Some(keys),
    };
    Some((items, refs, interned))
}

/// Each id of `keys` by rank, its name taken from the lists (`lists` holds their
/// occurrences' keys, as [`keyed_ids`] wrote them), content's first.
fn keyed_names<'a>(src: &Sources<'a>, keys: &id_keys::Keys, lists: &[Vec<u32>]) -> Vec<&'a str> {
    let mut names = vec![""; keys.len()];
    let mut left = keys.len();
    for l in std::iter::once(CONTENT).chain(0..CONTENT) {
        if left == 0 {
            break;
        }
        let mut at = lists[l].iter();
        each_in_list(src, LISTS[l], |s| {
            let rank = match at.next() {
                Some(&k) if k < BY_NAME => keys.rank_of_key(k),
                // An untrimmed neighbour id is interned as written.
                _ if !s.is_empty() => keys.rank(s),
                _ => return,
            };
            if let Some(name) = names.get_mut(rank as usize).filter(|n| n.is_empty()) {
                *name = s;
                left -= 1;
            }
        });
    }
    names
}

/// Whether `s` has no surrounding whitespace (`str::trim` would keep it whole). Ids that
/// start and end with an ASCII byte are answered from those two bytes (a multi-byte
/// whitespace character neither starts nor ends with one).
fn is_trimmed(s: &str) -> bool {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if a.is_ascii() && z.is_ascii() => {
            !char::from(a).is_whitespace() && !char::from(z).is_whitespace()
        }
        _ => s.trim().len() == s.len(),
    }
}

impl Catalog {
    /// Compiles the catalog from its sources. Item ids are interned in byte order.
    pub fn build(src: &Sources<'_>) -> Catalog {
        Catalog::build_from(src, intern_ids(src))
    }

    /// [`Catalog::build`] from the interned ids of `src` (by either path of [`intern_ids`]).
    fn build_from<'a>(
        src: &Sources<'a>,
        (mut items, refs, interned): (Interner, Vec<u8>, Interned<'a>),
    ) -> Catalog {
        // Side by side, the costliest first, and the ids' lookup table (until it is in
        // place, the parts look names up by binary search). Each part resolves its own
        // lists of occurrences first.
        let weights = part_weights(&interned, items.len());
        let jobs = super::parallel::in_parallel(&weights, |i| match SIGNALS.get(i) {
            Some(&kind) => {
                let occ = interned.occurrences(kind);
                Job::Part(Part::compile(&items, src, kind, &occ))
            }
            None => Job::Table(items.build_table()),
        });
        let mut parts = Vec::with_capacity(SIGNALS.len());
        for job in jobs {
            match job {
                Job::Part(p) => parts.push(p),
                Job::Table(t) => items.set_table(t),
            }
        }
        let mut cat = Catalog {
            ids_plain: crate::json::scan::is_plain(items.names_joined().as_bytes()),
            items: Arc::new(items),
            refs: Shared::new(refs),
            ..Catalog::default()
        };
        for part in parts {
            cat.put(part);
        }
        cat.finish(src)
    }

    /// Compiles the catalog of `src`, where only the signals of `changed` differ from the
    /// sources `prev` was compiled from. Keeps `prev`'s interned ids and every part that does
    /// not depend on a changed signal when the ids stay the same (see the module
    /// documentation); otherwise compiles everything.
    pub fn rebuild(prev: &Catalog, src: &Sources<'_>, changed: &[ArtifactKind]) -> Catalog {
        match Catalog::reuse_ids(prev, src, changed) {
            Some((refs, occ)) => {
                let mut cat = Catalog {
                    items: prev.items.clone(),
                    ids_plain: prev.ids_plain,
                    refs: Shared::new(refs),
                    raw_tags: prev.raw_tags.clone(),
                    raw_off: prev.raw_off.clone(),
                    raw_ids: prev.raw_ids.clone(),
                    pop_count: prev.pop_count.clone(),
                    pop_order: prev.pop_order.clone(),
                    cooc_off: prev.cooc_off.clone(),
                    cooc_nbrs: prev.cooc_nbrs.clone(),
                    implicit: prev.implicit.clone(),
                    session: prev.session.clone(),
                    truncated: prev.truncated,
                    ..Catalog::default()
                };
                for &kind in changed {
                    cat.compile_part(src, kind, &occ);
                }
                let tags_kept = !changed
                    .iter()
                    .any(|k| matches!(k, ArtifactKind::Popularity | ArtifactKind::ContentSim));
                if tags_kept {
                    let kept = prev.tag_indexes.lock().unwrap_or_else(|p| p.into_inner());
                    cat.tag_indexes = Mutex::new(kept.clone());
                }
                cat.finish(src)
            }
            None => Catalog::build(src),
        }
    }

    /// The item ids of `prev` serve `src` when every id the changed signals name is known and
    /// every known item is still named: returns the new `refs` and the changed signals'
    /// occurrences, resolved.
    fn reuse_ids(
        prev: &Catalog,
        src: &Sources<'_>,
        changed: &[ArtifactKind],
    ) -> Option<(Vec<u8>, Occurrences)> {
        let mask = changed.iter().fold(0u8, |m, &k| m | bit(k));
        let mut refs: Vec<u8> = prev.refs.iter().map(|r| r & !mask).collect();
        let mut occ = Occurrences::default();
        let mut unknown = false;
        for &kind in changed {
            each_id(src, kind, |s, neighbour| {
                if unknown || s.is_empty() {
                    push_occ(&mut occ, kind, neighbour, ABSENT);
                    return;
                }
                let Some(ix) = prev.items.get(s) else {
                    unknown = true;
                    return;
                };
                refs[ix as usize] |= bit(kind);
                let id = if neighbour && !is_trimmed(s) {
                    BY_NAME
                } else {
                    ix
                };
                push_occ(&mut occ, kind, neighbour, id);
            });
        }
        (!unknown && refs.iter().all(|&r| r != 0)).then_some((refs, occ))
    }

    /// Compiles the part of one signal from its resolved occurrences.
    fn compile_part(&mut self, src: &Sources<'_>, kind: ArtifactKind, occ: &Occurrences) {
        let part = Part::compile(&self.items, src, kind, occ);
        self.put(part);
    }

    /// Installs a compiled part.
    fn put(&mut self, part: Part) {
        match part {
            Part::Popularity(count, order) => {
                self.pop_count = Shared::new(count);
                self.pop_order = Shared::new(order);
            }
            Part::Content(tags, off, ids) => {
                self.raw_tags = Arc::new(tags);
                self.raw_off = Shared::new(off);
                self.raw_ids = Shared::new(ids);
            }
            Part::Cooc(off, nbrs, t) => {
                self.cooc_off = Shared::new(off);
                self.cooc_nbrs = Shared::new(nbrs);
                self.truncated[0] = t;
            }
            Part::Implicit(rows, t) => {
                self.implicit = Arc::new(rows);
                self.truncated[1] = t;
            }
            Part::Session(rows, t) => {
                self.session = Arc::new(rows);
                self.truncated[2] = t;
            }
        }
    }

    /// Availability and notes, once every part is in place.
    fn finish(mut self, src: &Sources<'_>) -> Catalog {
        self.available = Available {
            popularity: src.popularity.is_some(),
            cooc: src.cooc.is_some(),
            implicit: src.implicit.is_some(),
            content: src.content.is_some(),
            session: src.session.is_some(),
        };
        let truncated: usize = self.truncated.iter().sum();
        self.notes.clear();
        if truncated > 0 {
            self.notes.push(Problem::new(
                "$.artifacts",
                "RECSYS_SNAPSHOT_ROWS_CLAMPED",
                format!("{truncated} neighbour/user rows were longer than {MAX_NEIGHBOURS_PER_ROW} entries; only the top {MAX_NEIGHBOURS_PER_ROW} by score are kept"),
            ));
        }
        self
    }

    #[cfg(any(test, feature = "bench-internals"))]
    /// Whether `self` and `other` share their interned ids, content tags, popularity,
    /// co-occurrence and user rows (in that order): what a rebuild kept.
    pub fn shared_parts(&self, other: &Catalog) -> [bool; 5] {
        [
            Arc::ptr_eq(&self.items, &other.items),
            Arc::ptr_eq(&self.raw_tags, &other.raw_tags) && self.raw_ids.ptr_eq(&other.raw_ids),
            self.pop_count.ptr_eq(&other.pop_count),
            self.cooc_nbrs.ptr_eq(&other.cooc_nbrs),
            Arc::ptr_eq(&self.implicit, &other.implicit)
                && Arc::ptr_eq(&self.session, &other.session),
        ]
    }

    /// Co-occurrence neighbours of an item (count desc, id asc).
    pub fn cooc_row(&self, item: ItemIdx) -> &[(ItemIdx, f64)] {
        csr_row(&self.cooc_off, &self.cooc_nbrs, item)
    }

    /// An item's normalised tags as raw tag ids (sorted).
    pub fn raw_item_tags(&self, item: ItemIdx) -> &[TagIdx] {
        csr_row(&self.raw_off, &self.raw_ids, item)
    }

    /// How many raw tags the items below `item` carry in all.
    pub(crate) fn raw_tags_before(&self, item: ItemIdx) -> usize {
        self.raw_off.get(item as usize).map_or(0, |&o| o as usize)
    }

    /// Every item's raw tag ids, item after item (the lists [`Catalog::raw_item_tags`]
    /// slices): how many raw tags the items carry in all is its length.
    pub(crate) fn raw_tag_ids(&self) -> &[TagIdx] {
        &self.raw_ids
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

    #[cfg(feature = "bench-internals")]
    /// Heap bytes held by the catalog's own arrays (tag indexes excluded).
    pub fn heap_bytes(&self) -> usize {
        let users = |m: &StrMap<Box<[(ItemIdx, f64)]>>| {
            m.iter()
                .map(|(k, v)| k.len() + v.len() * 16 + 48)
                .sum::<usize>()
        };
        self.items.heap_bytes()
            + self.raw_tags.heap_bytes()
            + self.refs.heap_bytes()
            + self.raw_off.heap_bytes()
            + self.raw_ids.heap_bytes()
            + self.pop_count.heap_bytes()
            + self.pop_order.heap_bytes()
            + self.cooc_off.heap_bytes()
            + self.cooc_nbrs.heap_bytes()
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
    // Already strictly ascending (short lists, lists written in order): nothing to do.
    if v[start..].windows(2).all(|w| w[0] < w[1]) {
        return;
    }
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

/// Popularity counts per item (last duplicate wins) and the items with an entry by count
/// desc, id asc.
fn popularity(n: usize, pop: Option<Pairs<'_>>, occ: &[u32]) -> (Vec<f64>, Vec<ItemIdx>) {
    let mut count = vec![0.0; n];
    let mut has = vec![false; n];
    if let Some(p) = pop {
        let mut k = 0;
        p.each(|_, c| {
            if let Some(&ix) = occ.get(k).filter(|&&ix| ix < BY_NAME) {
                count[ix as usize] = clean(c);
                has[ix as usize] = true;
            }
            k += 1;
        });
    }
    // The items with an entry, in the artifact's order: the pipeline writes count desc, id
    // asc, so the sort below finds one ascending run and stops (a comparison sort of every
    // item from id order otherwise).
    let mut order: Vec<ItemIdx> = Vec::with_capacity(occ.len().min(n));
    for &ix in occ.iter().filter(|&&ix| ix < BY_NAME) {
        if std::mem::take(&mut has[ix as usize]) {
            order.push(ix);
        }
    }
    // Distinct ids, total order: unstable gives the same order.
    order.sort_unstable_by(|&a, &b| {
        count[b as usize]
            .total_cmp(&count[a as usize])
            .then(a.cmp(&b))
    });
    (count, order)
}

/// A raw tag that normalises to nothing (blank), in [`content`]'s ranks.
const NO_TAG: u32 = u32::MAX;

/// Rows of at most this many tags are put in order by [`push_row`] one tag at a time;
/// longer rows are sorted whole.
const SHORT_ROW: usize = 16;

/// The raw tags of the content rows, and per item its sorted, distinct raw tag ids (the last
/// row of an item wins).
///
/// Each row's tags are numbers into one table of ranks (their normalised tag's id in the
/// sorted raw tags, or [`NO_TAG`]). Columns already number their distinct raw tags: each is
/// normalised and ranked once, and an item's row is read straight from the columns (no
/// intermediate copy of every row's tags, 24 MB at a million items). Other sources number
/// their tags by first sight here.
fn content(
    n: usize,
    content: Option<Tagged<'_>>,
    occ: &[u32],
) -> (Interner, Vec<u32>, Vec<TagIdx>) {
    let mut tagb = InternerBuilder::with_capacity(1024);
    let (mut own_off, mut own_tags) = (vec![0u32], Vec::new());
    let mut by_dict: Option<Vec<Option<u32>>> = None;
    let (row_off, row_tags): (&[u32], &[u32]) = match content {
        Some(Tagged::Cols(t)) => {
            let dict = (0..t.dict.len()).map(|i| tagb.add(normalized_tag(t.dict.get(i))));
            by_dict = Some(dict.collect());
            (&t.off, &t.tags)
        }
        Some(c) => {
            c.each(|_, list| {
                list.each(|t| own_tags.extend(tagb.add(normalized_tag(t))));
                own_off.push(own_tags.len() as u32);
            });
            (&own_off, &own_tags)
        }
        None => (&own_off, &own_tags),
    };
    let (raw_tags, tag_rank) = tagb.finish();
    let rank: Vec<u32> = match by_dict {
        Some(d) => (d.iter())
            .map(|t| t.map_or(NO_TAG, |t| tag_rank[t as usize]))
            .collect(),
        None => tag_rank,
    };
    let mut last_row: Vec<u32> = vec![u32::MAX; n];
    for (r, &ix) in occ.iter().enumerate() {
        if ix < BY_NAME {
            last_row[ix as usize] = r as u32;
        }
    }
    let mut off = Vec::with_capacity(n + 1);
    let mut ids: Vec<TagIdx> = Vec::with_capacity(row_tags.len());
    off.push(0u32);
    for &r in &last_row {
        if r != u32::MAX {
            let r = r as usize;
            let row = (row_off.get(r..r + 2))
                .and_then(|o| row_tags.get(o[0] as usize..o[1] as usize))
                .unwrap_or_default();
            push_row(&mut ids, row, &rank);
        }
        off.push(ids.len() as u32);
    }
    (raw_tags, off, ids)
}

/// Appends the ranks of one row's tags (`rank[t]` for each tag `t` of `row`, [`NO_TAG`]s
/// left out) to `ids`, in ascending order and distinct. A short row (the common case: a
/// handful of tags) is kept in order as each tag is added, which costs a few compares a
/// tag, in place of a sort call and a pass to drop duplicates ([`sort_dedup_tail`], which
/// longer rows take: their cost stays O(n log n)).
fn push_row(ids: &mut Vec<TagIdx>, row: &[u32], rank: &[u32]) {
    let ranked =
        (row.iter()).filter_map(|&t| rank.get(t as usize).copied().filter(|&k| k != NO_TAG));
    if row.len() > SHORT_ROW {
        let start = ids.len();
        ids.extend(ranked);
        sort_dedup_tail(ids, start);
        return;
    }
    // Sorted as the tags come, in a buffer on the stack: each tag moves the greater ones
    // up one place on its way down (a repeat, rare, moves them back).
    let mut buf = [0u32; SHORT_ROW + 1];
    let mut len = 0;
    for k in ranked {
        let mut at = len;
        while at > 0 && buf[at - 1] > k {
            buf[at] = buf[at - 1];
            at -= 1;
        }
        if at > 0 && buf[at - 1] == k {
            buf.copy_within(at + 1..len + 1, at);
            continue;
        }
        buf[at] = k;
        len += 1;
    }
    ids.extend_from_slice(&buf[..len]);
}

/// The item a resolved neighbour occurrence names.
#[inline]
fn resolve(items: &Interner, occ: u32, name: &str) -> Option<ItemIdx> {
    match occ {
        ABSENT => None,
        BY_NAME => items.get(name.trim()),
        ix => Some(ix),
    }
}

fn cooc_csr(
    items: &Interner,
    cooc: Option<Rows<'_>>,
    anchors: &[u32],
    occ: &[u32],
    truncated: &mut usize,
) -> (Vec<u32>, Vec<(ItemIdx, f64)>) {
    let n = items.len();
    let mut row_of: Vec<Option<Vec<(ItemIdx, f64)>>> = Vec::new();
    let mut slot: Vec<u32> = vec![u32::MAX; n];
    if let Some(c) = cooc {
        let mut taken = Taken::new(n);
        let (mut r, mut k) = (0, 0);
        c.each(|_, nb| {
            let row_occ = occ.get(k..k + nb.len()).unwrap_or_default();
            k += nb.len();
            let anchor = anchors.get(r).copied().unwrap_or(ABSENT);
            r += 1;
            // First row per anchor wins, as the reference's lookup.
            if anchor >= BY_NAME || slot[anchor as usize] != u32::MAX {
                return;
            }
            slot[anchor as usize] = row_of.len() as u32;
            row_of.push(Some(scored_row(
                items,
                nb,
                row_occ,
                Some(anchor),
                truncated,
                &mut taken,
            )));
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

fn users(items: &Interner, rows: Option<Rows<'_>>, occ: &[u32], truncated: &mut usize) -> UserRows {
    let mut m: UserRows = StrMap::default();
    if let Some(rows) = rows {
        let mut taken = Taken::new(items.len());
        let mut k = 0;
        rows.each(|u, list| {
            let row_occ = occ.get(k..k + list.len()).unwrap_or_default();
            k += list.len();
            let key = u.trim();
            if key.is_empty() || m.contains_key(key) {
                return;
            }
            m.insert(
                key.into(),
                scored_row(items, list, row_occ, None, truncated, &mut taken).into(),
            );
        });
    }
    m
}

/// Which items the row being cleaned has taken (first occurrence wins): per item, the
/// number of the last row that took it. One array per part instead of a hash set per row.
struct Taken {
    row: u32,
    by: Vec<u32>,
}

impl Taken {
    fn new(n: usize) -> Taken {
        Taken {
            row: 0,
            by: vec![0; n],
        }
    }

    /// Starts the next row.
    fn next_row(&mut self) {
        self.row = self.row.wrapping_add(1);
        if self.row == 0 {
            self.by.iter_mut().for_each(|b| *b = 0);
            self.row = 1;
        }
    }

    /// Takes `ix` for the current row; false when the row already has it.
    fn take(&mut self, ix: ItemIdx) -> bool {
        match self.by.get_mut(ix as usize) {
            Some(b) if *b == self.row => false,
            Some(b) => {
                *b = self.row;
                true
            }
            None => false,
        }
    }
}

/// Cleans (positive finite scores, non-blank ids, first occurrence wins, no self pair),
/// sorts (score desc, id asc) and clamps one neighbour/user row; `occ` are its resolved ids
/// (a pair's id text is read only when it must be resolved by name).
fn scored_row(
    items: &Interner,
    list: Pairs<'_>,
    occ: &[u32],
    own: Option<ItemIdx>,
    truncated: &mut usize,
    taken: &mut Taken,
) -> Vec<(ItemIdx, f64)> {
    taken.next_row();
    let mut out: Vec<(ItemIdx, f64)> = Vec::with_capacity(list.len().min(MAX_NEIGHBOURS_PER_ROW));
    list.each_score(|k, s| {
        let o = occ.get(k).copied().unwrap_or(ABSENT);
        let s = clean(s);
        if s <= 0.0 {
            return;
        }
        let ix = match o {
            BY_NAME => resolve(items, o, list.id(k)),
            _ => resolve(items, o, ""),
        };
        let Some(ix) = ix else {
            return;
        };
        if Some(ix) == own || !taken.take(ix) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::SignalData;

    fn data() -> SignalData {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        SignalData {
            popularity: Some(vec![
                ("a".into(), 3.0),
                ("b".into(), 2.0),
                ("c".into(), 1.0),
            ]),
            cooc: Some(vec![(
                "a".into(),
                vec![("b".into(), 2.0), (" c ".into(), 1.0)],
            )]),
            implicit: Some(vec![("u".into(), vec![("c".into(), 1.0)])]),
            content: Some(vec![
                ("a".into(), s(&["brand:x", "t1"])),
                ("b".into(), s(&["t1"])),
            ]),
            session: None,
        }
    }

    /// Everything a catalog answers, for comparing a rebuild with a fresh build.
    fn dump(c: &Catalog) -> String {
        let mut out = format!("{:?} {:?} {:?}\n", c.available, c.pop_order, c.notes.len());
        for i in 0..c.catalog_len() as u32 {
            out += &format!(
                "{} {:?} {:?} {:?}\n",
                c.items.name(i),
                c.pop_count[i as usize],
                c.cooc_row(i),
                c.raw_item_tags(i)
                    .iter()
                    .map(|&t| c.raw_tags.name(t))
                    .collect::<Vec<_>>()
            );
        }
        let mut users: Vec<_> = c.implicit.iter().chain(c.session.iter()).collect();
        users.sort_by(|a, b| a.0.cmp(b.0));
        out + &format!("{users:?}")
    }

    use crate::snapshot::ScoredRows;
    use crate::tests::rng::Rng;

    /// Up to `n` (id, score) pairs, scores from -1 to 5.
    fn random_list(rng: &mut Rng, n: u64, id: &dyn Fn(&mut Rng) -> String) -> Vec<(String, f64)> {
        (0..rng.below(n + 1))
            .map(|_| (id(rng), rng.below(7) as f64 - 1.0))
            .collect()
    }

    /// `n` rows of up to `len` pairs, keyed by a user (`u0`..) or an anchor (`anchor(r)`).
    fn random_rows(
        rng: &mut Rng,
        (n, len, user): (u64, u64, bool),
        id: &dyn Fn(&mut Rng) -> String,
        anchor: &dyn Fn(&mut Rng, u64) -> String,
    ) -> ScoredRows {
        (0..n)
            .map(|r| match user {
                true => (format!("u{}", rng.below(n)), random_list(rng, len, id)),
                false => (anchor(rng, r), random_list(rng, len, id)),
            })
            .collect()
    }

    /// Random signals over `items` ids, every list with empty ids, blank-padded ids,
    /// duplicates, ids no other list names, non-positive and repeated scores; some rows and
    /// users empty.
    fn random_signals(rng: &mut Rng, items: u64) -> SignalData {
        let id = |rng: &mut Rng| match rng.below(100) {
            0 => String::new(),
            1 => format!(" i{:07} ", rng.below(items)),
            2 => format!("x{}", rng.below(items / 4 + 1)),
            _ => format!("i{:07}", rng.below(items)),
        };
        let list = |rng: &mut Rng, n: u64| random_list(rng, n, &id);
        let rows = |rng: &mut Rng, n: u64, len: u64, user: bool| {
            let anchor =
                |rng: &mut Rng, r: u64| format!("i{:07}", (r * 7919 + rng.below(3)) % items);
            random_rows(rng, (n, len, user), &id, &anchor)
        };
        let mut popularity = Vec::new();
        for i in 0..items {
            if rng.chance(50) {
                continue;
            }
            popularity.push((
                format!("i{:07}", (i * 104_729) % items),
                rng.below(9) as f64,
            ));
        }
        popularity.extend(list(rng, 100));
        let mut content = Vec::new();
        for i in 0..items {
            if rng.chance(30) {
                continue;
            }
            let tags = (0..rng.below(7)).map(|_| format!("t{}", rng.below(300)));
            content.push((format!("i{i:07}"), tags.collect()));
        }
        SignalData {
            popularity: Some(popularity),
            cooc: Some(rows(rng, items / 12, 100, false)),
            implicit: Some(rows(rng, 2_000, 20, true)),
            content: Some(content),
            session: Some(rows(rng, 1_000, 20, true)),
        }
    }

    /// The catalog built on two threads (over the sizes where the sorts and the parts take a
    /// second thread; the parts resolve their own occurrences there) is the one-thread
    /// build, on random signals with empty, blank-padded and duplicated ids in every list.
    #[test]
    fn a_two_thread_catalog_equals_the_one_thread_catalog() {
        use crate::snapshot::parallel::with_threads;
        let mut rng = Rng::new(0x0DD5_EED5);
        for (round, items) in [170_000, 230_000, 170_000, 170_000].into_iter().enumerate() {
            let mut d = random_signals(&mut rng, items);
            // Content's list (in item order) read in two halves on two threads, whole on
            // one: in order, in order in its lower half only, in order in each half apart.
            if let Some(c) = d.content.as_mut() {
                let half = c.len() / 2;
                match round {
                    2 => c[half..].reverse(),
                    3 => c.rotate_left(half),
                    _ => {}
                }
            }
            let src = Sources::of_signals(&d);
            let lists: usize = LISTS.iter().map(|&l| list_len(&src, l)).sum();
            assert!(lists > 1 << 20, "the sorts take two threads: {lists}");
            let one = with_threads(1, || Catalog::build(&src));
            let two = with_threads(2, || Catalog::build(&src));
            assert!(one.catalog_len() as u64 > items / 2);
            assert!(one.implicit.len() > 100 && one.cooc_nbrs.len() > 100_000);
            assert_eq!(dump(&one), dump(&two), "{items} items");
            assert_eq!(one.refs[..], two.refs[..]);
            assert_eq!(one.truncated, two.truncated);
        }
    }

    /// Content's tags read from columns (ranked once per distinct raw tag, rows read in
    /// place) and from rows of strings (numbered by first sight) give every item the tags
    /// of a plain reference: its last row's tags normalised, blanks dropped, distinct, in
    /// the sorted raw tags' order; and both give the same raw tags and arrays. Random rows
    /// of 0 to 40 tags (over [`SHORT_ROW`] and under it), with tags repeated in a row in
    /// other spellings (case, surrounding blanks), blank and empty tags, items named twice.
    #[test]
    fn content_tags_from_columns_and_rows_equal_a_plain_reference() {
        use crate::snapshot::TagColsBuilder;
        use std::borrow::Cow;
        use std::collections::{BTreeMap, BTreeSet};
        let mut rng = Rng::new(0x0DD5_EED7);
        for round in 0..40 {
            let items = 1 + rng.below(300);
            let mut content: Vec<(String, Vec<String>)> = Vec::new();
            for _ in 0..rng.below(400) {
                let len = match rng.below(4) {
                    0 => rng.below(41),
                    _ => rng.below(SHORT_ROW as u64 + 2),
                };
                let id = format!("i{}", rng.below(items));
                let tags = (0..len).map(|_| match rng.below(12) {
                    0 => String::new(),
                    1 => "  ".into(),
                    2 => format!(" T{} ", rng.below(30)),
                    3 => format!("Brand:X{}", rng.below(5)),
                    _ => format!("t{}", rng.below(60 + round)),
                });
                content.push((id, tags.collect()));
            }
            // The reference: an item's last row wins.
            let mut expect: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
            let mut all: BTreeSet<String> = BTreeSet::new();
            for (id, tags) in &content {
                let norm: BTreeSet<String> = (tags.iter())
                    .map(|t| normalized_tag(t).into_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
                all.extend(norm.iter().cloned());
                expect.insert(id, norm);
            }
            let mut b = TagColsBuilder::new(content.len());
            for (id, tags) in &content {
                tags.iter().for_each(|t| b.push_tag(Cow::Borrowed(t)));
                b.end_item(id);
            }
            let cols = b.finish();
            let data = SignalData {
                content: Some(content.clone()),
                ..SignalData::default()
            };
            let from_rows = Catalog::build(&Sources::of_signals(&data));
            let src = Sources {
                content: Some(Tagged::Cols(&cols)),
                ..Sources::default()
            };
            let from_cols = Catalog::build(&src);
            for c in [&from_rows, &from_cols] {
                let raw: Vec<&str> = (0..c.raw_tags.len() as u32)
                    .map(|t| c.raw_tags.name(t))
                    .collect();
                assert_eq!(raw, all.iter().map(String::as_str).collect::<Vec<_>>());
                assert_eq!(c.catalog_len(), expect.len());
                for (i, (id, tags)) in expect.iter().enumerate() {
                    assert_eq!(c.items.name(i as u32), *id);
                    let got: Vec<&str> = (c.raw_item_tags(i as u32).iter())
                        .map(|&t| c.raw_tags.name(t))
                        .collect();
                    assert_eq!(got, tags.iter().map(String::as_str).collect::<Vec<_>>());
                }
            }
            assert_eq!(from_rows.raw_off[..], from_cols.raw_off[..]);
            assert_eq!(from_rows.raw_ids[..], from_cols.raw_ids[..]);
        }
    }

    /// Content's rows read from a position ([`content_range`], from rows of strings, content
    /// items and columns) give the ids the whole list's read gives at those positions, ranges
    /// past the end clamped; and a lower half out of byte order, its read passed on
    /// ([`content_lower_half`]), is the whole list's sort ([`sort_occurrences`]).
    #[test]
    fn content_read_from_a_position_equals_the_whole_lists_read() {
        use crate::artifacts::ContentItem;
        use crate::snapshot::TagColsBuilder;
        use std::borrow::Cow;
        let mut rng = Rng::new(0x0DD5_EED8);
        for round in 0..60 {
            let rows: Vec<(String, Vec<String>)> = (0..rng.below(90))
                .map(|_| {
                    let id = match rng.below(8) {
                        0 => String::new(),
                        1 => format!(" i{} ", rng.below(40)),
                        _ => format!("i{:03}", rng.below(40)),
                    };
                    (id, (0..rng.below(3)).map(|t| format!("t{t}")).collect())
                })
                .collect();
            let items: Vec<ContentItem> = (rows.iter())
                .map(|(id, tags)| ContentItem {
                    item_id: id.clone(),
                    tags: Some(tags.clone()),
                })
                .collect();
            let mut b = TagColsBuilder::new(rows.len());
            for (id, tags) in &rows {
                tags.iter().for_each(|t| b.push_tag(Cow::Borrowed(t)));
                b.end_item(id);
            }
            let cols = b.finish();
            let n = rows.len();
            for tagged in [
                Tagged::Owned(&rows),
                Tagged::Content(&items),
                Tagged::Cols(&cols),
            ] {
                let src = Sources {
                    content: Some(tagged),
                    ..Sources::default()
                };
                let whole = list_ids(&src, LISTS[CONTENT], n);
                assert_eq!(whole.len(), n);
                for _ in 0..8 {
                    let a = rng.index(n + 3);
                    let z = a + rng.index(n + 3);
                    let want = &whole[a.min(n)..z.min(n)];
                    let got = content_range(&src, a..z, vec!["before"]);
                    assert_eq!(got[0], "before", "round {round}");
                    assert_eq!(&got[1..], want, "round {round}: {a}..{z}");
                }
                let half = rng.index(n + 1);
                let expect = sort_occurrences(&src, LISTS[CONTENT], n).0;
                match content_lower_half(&src, half, n) {
                    Piece::Lower(_) => {
                        assert!(id_merge::in_order_list(&whole[..half]).is_some());
                    }
                    Piece::Whole((got, untrimmed)) => {
                        assert!(id_merge::in_order_list(&whole[..half]).is_none());
                        assert!(untrimmed.is_empty());
                        assert_eq!(got.distinct, expect.distinct, "round {round}");
                        assert_eq!(got.in_order, expect.in_order);
                        assert_eq!(got.local(), expect.local(), "round {round}");
                    }
                    Piece::Upper(_) => panic!("the lower half's job gives no upper half"),
                }
            }
        }
    }

    /// The parts' weights count every occurrence (content six units an item, co-occurrence
    /// two, the others one), the id table weighs between co-occurrence and popularity (see
    /// [`part_weights`]), and each list is resolved once.
    #[test]
    fn part_weights_count_every_occurrence_and_put_the_table_after_cooc() {
        let mut rng = Rng::new(0x0DD5_EED6);
        let d = random_signals(&mut rng, 120_000);
        let src = Sources::of_signals(&d);
        let (items, _, interned) = intern_ids(&src);
        let w = part_weights(&interned, items.len());
        let at = |k: ArtifactKind| w[SIGNALS.iter().position(|&s| s == k).unwrap_or(0)];
        let table = w[SIGNALS.len()];
        assert_eq!(
            at(ArtifactKind::ContentSim),
            6 * d.content.as_ref().map_or(0, Vec::len)
        );
        let pairs = |r: &Option<ScoredRows>| r.iter().flatten().map(|x| x.1.len()).sum::<usize>();
        assert_eq!(
            at(ArtifactKind::Cooc),
            2 * (pairs(&d.cooc) + d.cooc.as_ref().map_or(0, Vec::len))
        );
        assert_eq!(at(ArtifactKind::Implicit), pairs(&d.implicit));
        assert_eq!(table, items.len() * 3 / 2);
        assert!(
            at(ArtifactKind::Cooc) > table && table > at(ArtifactKind::Popularity),
            "{w:?}"
        );
        // Each list is resolved once, by the first job that asks for its kind.
        let occ = interned.occurrences(ArtifactKind::Cooc);
        assert_eq!(occ.cooc.len(), pairs(&d.cooc));
        assert!(interned.occurrences(ArtifactKind::Cooc).cooc.is_empty());
    }

    #[test]
    fn a_rebuild_keeps_the_parts_the_change_does_not_feed_and_equals_a_fresh_build() {
        let d = data();
        let prev = Catalog::build(&Sources::of_signals(&d));
        let t = prev.tag_index(&TagPrefixes::default());
        // New co-occurrence counts over known items: only the cooc rows are compiled.
        let mut d2 = d.clone();
        d2.cooc = Some(vec![(
            "b".into(),
            vec![("a".into(), 5.0), (" c ".into(), 1.0)],
        )]);
        let next = Catalog::rebuild(&prev, &Sources::of_signals(&d2), &[ArtifactKind::Cooc]);
        assert_eq!(next.shared_parts(&prev), [true, true, true, false, true]);
        assert!(Arc::ptr_eq(&t, &next.tag_index(&TagPrefixes::default())));
        assert_eq!(
            dump(&next),
            dump(&Catalog::build(&Sources::of_signals(&d2)))
        );
        // New popularity: the tag index (postings by popularity) is built again.
        let mut d3 = d.clone();
        d3.popularity = Some(vec![
            ("c".into(), 9.0),
            ("a".into(), 1.0),
            ("b".into(), 1.0),
        ]);
        let next = Catalog::rebuild(
            &prev,
            &Sources::of_signals(&d3),
            &[ArtifactKind::Popularity],
        );
        assert_eq!(next.shared_parts(&prev), [true, true, false, true, true]);
        assert!(!Arc::ptr_eq(&t, &next.tag_index(&TagPrefixes::default())));
        assert_eq!(
            dump(&next),
            dump(&Catalog::build(&Sources::of_signals(&d3)))
        );
        // Content and users replaced, one user row gone.
        let mut d4 = d.clone();
        d4.content = Some(vec![("c".into(), vec!["t2".into()])]);
        d4.implicit = None;
        let changed = [ArtifactKind::ContentSim, ArtifactKind::Implicit];
        let next = Catalog::rebuild(&prev, &Sources::of_signals(&d4), &changed);
        assert_eq!(next.shared_parts(&prev), [true, false, true, true, false]);
        assert_eq!(
            dump(&next),
            dump(&Catalog::build(&Sources::of_signals(&d4)))
        );
    }

    #[test]
    fn a_rebuild_that_changes_the_item_ids_compiles_everything() {
        let d = data();
        let prev = Catalog::build(&Sources::of_signals(&d));
        // A new item: the ids change.
        let mut d2 = d.clone();
        d2.cooc = Some(vec![("a".into(), vec![("z".into(), 1.0)])]);
        let next = Catalog::rebuild(&prev, &Sources::of_signals(&d2), &[ArtifactKind::Cooc]);
        assert_eq!(next.shared_parts(&prev), [false; 5]);
        assert_eq!(
            dump(&next),
            dump(&Catalog::build(&Sources::of_signals(&d2)))
        );
        // An item no signal names any more (" c " was only in the cooc row): the ids change.
        let mut d3 = d.clone();
        d3.cooc = None;
        let next = Catalog::rebuild(&prev, &Sources::of_signals(&d3), &[ArtifactKind::Cooc]);
        assert!(!next.shared_parts(&prev)[0]);
        assert_eq!(next.catalog_len() + 1, prev.catalog_len());
        assert_eq!(
            dump(&next),
            dump(&Catalog::build(&Sources::of_signals(&d3)))
        );
    }

    /// A row takes an item once; the next row may take it again; the row counter wrapping
    /// around forgets every earlier row instead of mistaking one for the current row.
    #[test]
    fn taken_items_are_per_row_across_the_counters_wrap() {
        let mut t = Taken::new(3);
        t.next_row();
        assert!(t.take(1) && !t.take(1) && t.take(2) && !t.take(7));
        t.next_row();
        assert!(t.take(1));
        t.row = u32::MAX;
        t.by[0] = 1;
        t.next_row();
        assert_eq!(t.row, 1);
        assert!(t.take(0) && t.take(1) && !t.take(0));
    }

    /// A pair's id and score read alone give what reading the pairs in order gives.
    #[test]
    fn pairs_read_by_index_equal_pairs_read_in_order() {
        let d = data();
        let src = Sources::of_signals(&d);
        let rows = src.cooc.expect("cooc rows");
        rows.each(|_, list| {
            let mut seen = Vec::new();
            list.each(|i, s| seen.push((i, s)));
            let mut by_index = Vec::new();
            list.each_score(|k, s| by_index.push((list.id(k), s)));
            assert_eq!(seen, by_index);
            assert_eq!(list.id(list.len()), "");
        });
    }

    /// The two-byte shortcut gives what `str::trim` gives, at every kind of end.
    #[test]
    fn is_trimmed_answers_like_trim() {
        let ends = [
            "", "a", " ", "\t", "\u{b}", "\u{c}", "\r", "\n", "\u{a0}", "\u{3000}", "é", "\0",
        ];
        for x in ends {
            for y in ends {
                let s = format!("{x}sku-1{y}");
                assert_eq!(is_trimmed(&s), s.trim().len() == s.len(), "{s:?}");
                let t = format!("{x}{y}");
                assert_eq!(is_trimmed(&t), t.trim().len() == t.len(), "{t:?}");
            }
        }
    }

    /// Ids sorted per signal and merged give exactly what one table over every occurrence
    /// gives: every non-empty id (blanks kept) in byte order, per item the signals that name
    /// it, and popularity resolved by name (last duplicate wins), on random signals.
    #[test]
    fn interning_by_sorted_lists_equals_one_table_over_every_occurrence() {
        use std::collections::BTreeMap;
        let mut rng = crate::tests::rng::Rng::new(0x2545_F491_4F6C_DD1D);
        let mut next = move |m: u64| rng.below(m);
        let stems = ["", " ", "sku-", "a-long-shared-prefix-", "é", "a"];
        let id = |next: &mut dyn FnMut(u64) -> u64| {
            let stem = stems[next(stems.len() as u64) as usize];
            match next(3) {
                0 => stem.to_string(),
                1 => format!("{stem}{}", next(40)),
                _ => format!(" {stem}{:05} ", next(60)),
            }
        };
        for round in 0..50 {
            let list = |n: u64, next: &mut dyn FnMut(u64) -> u64| -> Vec<(String, f64)> {
                (0..next(n)).map(|_| (id(next), next(9) as f64)).collect()
            };
            let d = SignalData {
                popularity: Some(list(80, &mut next)),
                cooc: Some(
                    (0..next(6))
                        .map(|_| (id(&mut next), list(12, &mut next)))
                        .collect(),
                ),
                implicit: Some(
                    (0..next(4))
                        .map(|u| (format!("u{u}"), list(10, &mut next)))
                        .collect(),
                ),
                content: Some(
                    (0..next(30))
                        .map(|_| (id(&mut next), vec!["t".into()]))
                        .collect(),
                ),
                session: None,
            };
            // Content's list read in two halves (`intern_ids`): given in any order, in byte
            // order, in order in its lower half only, and in order in each half apart.
            let mut d = d;
            if let Some(c) = d.content.as_mut() {
                let half = c.len() / 2;
                match round % 4 {
                    1 => c.sort(),
                    2 => c[..half].sort(),
                    3 => {
                        c[..half].sort();
                        c[half..].sort();
                    }
                    _ => {}
                }
            }
            let cat = Catalog::build(&Sources::of_signals(&d));
            let name = |s: &str, kind: ArtifactKind, named: &mut BTreeMap<String, u8>| {
                if !s.is_empty() {
                    *named.entry(s.to_string()).or_default() |= bit(kind);
                }
            };
            let mut named_owned: BTreeMap<String, u8> = BTreeMap::new();
            for (s, _) in d.popularity.as_deref().unwrap_or_default() {
                name(s, ArtifactKind::Popularity, &mut named_owned);
            }
            for (a, row) in d.cooc.as_deref().unwrap_or_default() {
                name(a, ArtifactKind::Cooc, &mut named_owned);
                row.iter()
                    .for_each(|(s, _)| name(s, ArtifactKind::Cooc, &mut named_owned));
            }
            for (_, row) in d.implicit.as_deref().unwrap_or_default() {
                row.iter()
                    .for_each(|(s, _)| name(s, ArtifactKind::Implicit, &mut named_owned));
            }
            for (s, _) in d.content.as_deref().unwrap_or_default() {
                name(s, ArtifactKind::ContentSim, &mut named_owned);
            }
            let names: Vec<&String> = named_owned.keys().collect();
            assert_eq!(cat.catalog_len(), names.len(), "round {round}");
            for (i, (n, r)) in named_owned.iter().enumerate() {
                assert_eq!(cat.items.name(i as u32), n, "round {round}");
                assert_eq!(cat.refs[i], *r, "round {round}: {n:?}");
            }
            let mut pop: BTreeMap<&str, f64> = BTreeMap::new();
            for (s, c) in d.popularity.as_deref().unwrap_or_default() {
                pop.insert(s, clean(*c));
            }
            for (i, n) in names.iter().enumerate() {
                let want = pop.get(n.as_str()).copied().unwrap_or(0.0);
                assert_eq!(cat.pop_count[i], want, "round {round}: {n:?}");
            }
        }
    }

    /// Random signals whose item ids are numbered alike (one stem, digits of one width:
    /// the ids `keyed_ids` takes), over `items` numbers: empty ids in every list,
    /// duplicates, popularity out of order, content out of order in some rounds; in some
    /// rounds of at most 500 items, ids with a blank in place of their last digit
    /// (blank-padded neighbour ids resolve by their trimmed name) and hexadecimal digits
    /// (the key is not read as a decimal number then).
    fn numbered_signals(rng: &mut Rng, items: u64, round: usize) -> SignalData {
        let stems = ["sku-", "", "é-", "A", "item/00"];
        let stem = stems[round % stems.len()];
        // Small catalogs only: blanks and hexadecimal digits widen the keys.
        let (blanks, hex) = (
            items <= 500 && round % 2 == 1,
            items <= 500 && round % 3 == 2,
        );
        let pad = match blanks || hex || items > 5_000 {
            true => 0,
            false => rng.index(3),
        };
        let width = (items.max(2) - 1).to_string().len() + pad;
        let id = move |rng: &mut Rng, n: u64| -> String {
            let mut s = format!("{stem}{n:0width$}");
            if hex && rng.chance(100) {
                s.pop();
                s.push(*rng.pick(&['a', 'c', 'f']));
            }
            s
        };
        let any = move |rng: &mut Rng| match rng.below(100) {
            0 => String::new(),
            1 if blanks => {
                let n = rng.below(items);
                let mut s = id(rng, n);
                s.pop();
                s + " "
            }
            _ => {
                let n = rng.below(items);
                id(rng, n)
            }
        };
        let list = |rng: &mut Rng, n: u64| random_list(rng, n, &any);
        let rows = |rng: &mut Rng, n: u64, len: u64, user: bool| {
            let anchor = |rng: &mut Rng, r: u64| {
                let n = (r * 7919 + rng.below(3)) % items;
                id(rng, n)
            };
            random_rows(rng, (n, len, user), &any, &anchor)
        };
        let mut popularity: Vec<(String, f64)> = Vec::new();
        for i in (0..items).filter(|_| !rng.chance(300)).collect::<Vec<_>>() {
            popularity.push((id(rng, (i * 104_729) % items), rng.below(9) as f64));
        }
        popularity.extend(list(rng, 100));
        let mut content: Vec<(String, Vec<String>)> = Vec::new();
        for i in (0..items).filter(|_| !rng.chance(200)).collect::<Vec<_>>() {
            content.push((id(rng, i), vec![format!("t{}", rng.below(50))]));
        }
        if round % 4 == 1 {
            let n = content.len();
            for i in 0..n {
                content.swap(i, rng.index(n));
            }
        }
        content.push((String::new(), Vec::new()));
        SignalData {
            popularity: Some(popularity),
            cooc: Some(rows(rng, items / 12 + 1, 60, false)),
            implicit: Some(rows(rng, 300, 20, true)),
            content: Some(content),
            session: round.is_multiple_of(2).then(|| rows(rng, 200, 20, true)),
        }
    }

    /// What interning gave: the ids, the signals naming each, and every list's occurrences
    /// resolved (through the parts' own `Interned::occurrences`).
    fn interned(
        (items, refs, interned): (Interner, Vec<u8>, Interned<'_>),
    ) -> (Vec<String>, Vec<u8>, Vec<Vec<u32>>) {
        let names = (0..items.len() as u32).map(|i| items.name(i).to_string());
        let mut lists = vec![Vec::new(); LISTS.len()];
        for kind in SIGNALS {
            let mut occ = interned.occurrences(kind);
            for (l, list) in lists.iter_mut().enumerate() {
                list.append(occ.list_mut(l));
            }
        }
        (names.collect(), refs, lists)
    }

    /// Interning by key gives what interning by sorting gives (the ids, the signals naming
    /// each, every occurrence resolved, blank-padded neighbour ids by name), on one thread
    /// and, over the size where the lists are read side by side, on two; and the catalogs
    /// built from either are the same.
    #[test]
    fn keyed_interning_equals_sorted_interning() {
        let mut rng = Rng::new(0x6A09_E667_F3BC_C909);
        for round in 0..24 {
            let items = match round {
                0 => 1,
                r if r % 8 == 6 => 400_000,
                r if r % 4 == 1 => 51 + rng.below(450),
                _ => 1 + rng.below(3_000),
            };
            let d = numbered_signals(&mut rng, items, round);
            let src = Sources::of_signals(&d);
            let weights = LISTS.map(|l| list_len(&src, l));
            let threads = if round.is_multiple_of(2) { 2 } else { 1 };
            let (keyed, sorted) = super::super::parallel::with_threads(threads, || {
                let keyed = keyed_ids(&src, &weights).expect("numbered ids are keyed");
                (interned(keyed), interned(sorted_ids(&src, weights)))
            });
            assert_eq!(keyed.0, sorted.0, "round {round}: ids");
            assert_eq!(keyed.1, sorted.1, "round {round}: refs");
            for (l, (k, s)) in keyed.2.iter().zip(&sorted.2).enumerate() {
                assert!(k == s, "round {round}: list {l} resolves differently");
            }
            if items > 50 && items <= 500 && round % 2 == 1 {
                assert!(
                    keyed.2[2].contains(&BY_NAME),
                    "round {round}: no blank neighbour"
                );
            }
            if items < 5_000 {
                let by_key = Catalog::build(&src);
                let by_sort = Catalog::build_from(&src, sorted_ids(&src, weights));
                assert_eq!(dump(&by_key), dump(&by_sort), "round {round}");
                assert_eq!(by_key.refs[..], by_sort.refs[..], "round {round}");
            }
        }
    }

    /// Ids that are not numbered alike (lengths that differ, over 16 bytes, or too many
    /// varying bits for the input's size) are not keyed: they are sorted.
    #[test]
    fn ids_not_numbered_alike_are_not_keyed() {
        let one = |ids: &[&str]| SignalData {
            popularity: Some(ids.iter().map(|s| (s.to_string(), 1.0)).collect()),
            ..SignalData::default()
        };
        let keyed = |d: &SignalData| {
            let src = Sources::of_signals(d);
            keyed_ids(&src, &LISTS.map(|l| list_len(&src, l))).is_some()
        };
        assert!(keyed(&one(&["sku-01", "sku-02", "", "sku-01"])));
        assert!(!keyed(&one(&["sku-01", "sku-002"])));
        assert!(!keyed(&one(&[
            "sku-000000000000001",
            "sku-000000000000002"
        ])));
        assert!(!keyed(&one(&["", ""])));
        assert!(!keyed(&SignalData::default()));
        // Two ids differing in 40 bits: 2^40 keys for two occurrences.
        assert!(!keyed(&one(&["aaaaaaaa", "zzzzz\u{7f}\u{7f}\u{7f}"])));
    }
}
