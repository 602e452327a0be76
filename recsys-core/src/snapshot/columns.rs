//! The signal data of one verified artifact in compact columns: every string of a column in
//! one buffer, scores in a flat array, rows as offsets, content tags as ids into a
//! per-artifact dictionary. A loaded artifact keeps only this (not its decoded rows), so a
//! catalog can be recompiled when another artifact of the set changes, at a fraction of the
//! memory of the decoded form.

use super::intern::InternerBuilder;
use crate::artifacts::ArtifactBody;
use std::borrow::Cow;

/// An end offset of [`Strs`]: `usize`, or `u32` where the strings come from one artifact
/// (never larger than 4 GiB, see `compile::MAX_ARTIFACT_BYTES`), which halves the offsets.
pub trait Offset: Copy + Default + std::fmt::Debug {
    fn of(n: usize) -> Self;
    fn get(self) -> usize;
}

impl Offset for usize {
    #[inline]
    fn of(n: usize) -> usize {
        n
    }
    #[inline]
    fn get(self) -> usize {
        self
    }
}

impl Offset for u32 {
    /// Saturates (unreachable: an artifact's strings fit in 4 GiB).
    #[inline]
    fn of(n: usize) -> u32 {
        u32::try_from(n).unwrap_or(u32::MAX)
    }
    #[inline]
    fn get(self) -> usize {
        self as usize
    }
}

/// Strings stored back to back (one buffer and an end offset per string).
#[derive(Clone, Debug, Default)]
pub struct Strs<O: Offset = usize> {
    bytes: String,
    ends: Vec<O>,
}

/// The strings of one artifact's column (32-bit offsets).
pub type ColStrs = Strs<u32>;

impl<O: Offset> Strs<O> {
    pub(crate) fn with_capacity(n: usize) -> Strs<O> {
        Strs {
            bytes: String::new(),
            ends: Vec::with_capacity(n),
        }
    }
    pub(crate) fn push(&mut self, s: &str) {
        self.bytes.push_str(s);
        self.ends.push(O::of(self.bytes.len()));
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    #[cfg(feature = "bench-internals")]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    #[inline]
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1].get() };
        self.bytes
            .get(start..self.ends[i].get())
            .unwrap_or_default()
    }
    /// Every string, one after the other with nothing between them.
    pub(crate) fn joined(&self) -> &str {
        &self.bytes
    }
    pub(crate) fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
    #[cfg(feature = "bench-internals")]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * std::mem::size_of::<O>()
    }
}

/// Rows of (item, score) pairs keyed by an id: `ids[off[r]..off[r+1]]` belong to row `r`.
#[derive(Clone, Debug, Default)]
pub struct RowCols {
    pub keys: ColStrs,
    pub off: Vec<u32>,
    pub ids: ColStrs,
    pub scores: Vec<f64>,
}

/// Items with their tags: the tags of item `r` are `tags[off[r]..off[r+1]]`, ids into `dict`.
#[derive(Clone, Debug, Default)]
pub struct TagCols {
    pub items: ColStrs,
    pub off: Vec<u32>,
    pub tags: Vec<u32>,
    pub dict: ColStrs,
}

/// One artifact's signal, in columns.
#[derive(Clone, Debug)]
pub enum Columns {
    /// Popularity: (item, count).
    Pairs { ids: ColStrs, scores: Vec<f64> },
    /// Co-occurrence (anchor rows, counts), implicit and session (user rows, scores).
    Rows(RowCols),
    /// Content similarity.
    Tags(TagCols),
}

impl Columns {
    /// Moves a decoded body into columns, freeing each decoded row as it goes.
    pub fn from_body(body: ArtifactBody) -> Columns {
        match body {
            ArtifactBody::Popularity(p) => {
                let items = p.items.unwrap_or_default();
                let mut ids = ColStrs::with_capacity(items.len());
                let mut scores = Vec::with_capacity(items.len());
                for it in items {
                    ids.push(&it.item_id);
                    scores.push(it.count as f64);
                }
                ids.shrink();
                Columns::Pairs { ids, scores }
            }
            ArtifactBody::Cooc(c) => {
                let rows = c.neighbors.unwrap_or_default();
                let mut r = RowCols::new(rows.len());
                for row in rows {
                    r.keys.push(&row.item_id);
                    for n in row.items.unwrap_or_default() {
                        r.ids.push(&n.item_id);
                        r.scores.push(n.count as f64);
                    }
                    r.end_row();
                }
                r.shrink();
                Columns::Rows(r)
            }
            ArtifactBody::Implicit(crate::artifacts::ImplicitArtifact { users })
            | ArtifactBody::SessionSeq(crate::artifacts::SessionSeqArtifact { users }) => {
                let users = users.unwrap_or_default();
                let mut r = RowCols::new(users.len());
                for u in users {
                    r.keys.push(&u.user_id);
                    for it in u.items.unwrap_or_default() {
                        r.ids.push(&it.item_id);
                        r.scores.push(it.score);
                    }
                    r.end_row();
                }
                r.shrink();
                Columns::Rows(r)
            }
            ArtifactBody::ContentSim(c) => {
                Columns::Tags(TagCols::from_items(c.items.unwrap_or_default()))
            }
        }
    }

    #[cfg(feature = "bench-internals")]
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Columns::Pairs { ids, scores } => ids.heap_bytes() + scores.capacity() * 8,
            Columns::Rows(r) => {
                r.keys.heap_bytes()
                    + r.ids.heap_bytes()
                    + r.off.capacity() * 4
                    + r.scores.capacity() * 8
            }
            Columns::Tags(t) => {
                t.items.heap_bytes()
                    + t.dict.heap_bytes()
                    + (t.off.capacity() + t.tags.capacity()) * 4
            }
        }
    }
}

impl RowCols {
    pub(crate) fn new(rows: usize) -> RowCols {
        let mut off = Vec::with_capacity(rows + 1);
        off.push(0);
        RowCols {
            keys: ColStrs::with_capacity(rows),
            off,
            ids: ColStrs::default(),
            scores: Vec::new(),
        }
    }
    pub(crate) fn end_row(&mut self) {
        self.off.push(self.ids.len() as u32);
    }
    pub(crate) fn shrink(&mut self) {
        self.keys.shrink();
        self.ids.shrink();
        self.scores.shrink_to_fit();
    }
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    #[cfg(feature = "bench-internals")]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl TagCols {
    fn from_items(items: Vec<crate::artifacts::ContentItem>) -> TagCols {
        let mut b = TagColsBuilder::new(items.len());
        for it in items {
            for tag in it.tags.unwrap_or_default() {
                b.push_tag(Cow::Owned(tag));
            }
            b.end_item(&it.item_id);
        }
        b.finish()
    }
}

/// Builds [`TagCols`] item by item: tags repeat across items, so each distinct tag string is
/// stored once; occurrences are looked up by reference in an [`InternerBuilder`] (no
/// allocation, and a tag of up to 16 bytes is decided without reading the stored string). An
/// empty tag names nothing (the catalog drops it after normalising) and is not kept.
pub(crate) struct TagColsBuilder<'a> {
    cols: TagCols,
    dict: InternerBuilder<'a>,
}

impl<'a> TagColsBuilder<'a> {
    pub(crate) fn new(items: usize) -> TagColsBuilder<'a> {
        let mut off = Vec::with_capacity(items + 1);
        off.push(0);
        TagColsBuilder {
            cols: TagCols {
                items: ColStrs::with_capacity(items),
                off,
                tags: Vec::new(),
                dict: ColStrs::default(),
            },
            dict: InternerBuilder::with_capacity(256),
        }
    }

    /// Adds a tag to the item being read.
    #[inline]
    pub(crate) fn push_tag(&mut self, tag: Cow<'a, str>) {
        if let Some(id) = self.dict.add(tag) {
            self.cols.tags.push(id);
        }
    }

    /// Adds the tag `src[start..end]` to the item being read: [`TagColsBuilder::push_tag`] of
    /// that text, looked up by its bytes (see [`InternerBuilder::add_in`]).
    #[inline]
    pub(crate) fn push_tag_in(&mut self, src: &'a str, start: usize, end: usize) {
        if let Some(id) = self.dict.add_in(src, start, end) {
            self.cols.tags.push(id);
        }
    }

    /// Ends the item being read (its tags are those pushed since the last call).
    pub(crate) fn end_item(&mut self, item_id: &str) {
        self.cols.items.push(item_id);
        self.cols.off.push(self.cols.tags.len() as u32);
    }

    /// Ends the item being read whose id another thread keeps (see [`TagColsBuilder::finish_with`]).
    #[inline]
    pub(crate) fn end_row(&mut self) {
        self.cols.off.push(self.cols.tags.len() as u32);
    }

    /// [`TagColsBuilder::finish`] of a builder whose items were ended by [`TagColsBuilder::end_row`]:
    /// `items` holds their ids, in order (a content artifact's pass keeps them on its thread).
    pub(crate) fn finish_with(mut self, items: ColStrs) -> TagCols {
        debug_assert_eq!(self.cols.items.len(), 0);
        debug_assert_eq!(items.len() + 1, self.cols.off.len());
        self.cols.items = items;
        self.finish()
    }

    pub(crate) fn finish(mut self) -> TagCols {
        for t in self.dict.into_first_seen() {
            self.cols.dict.push(&t);
        }
        self.cols.items.shrink();
        self.cols.dict.shrink();
        self.cols.tags.shrink_to_fit();
        self.cols
    }
}
