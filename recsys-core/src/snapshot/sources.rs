//! Borrowed views of the signal data a catalog is compiled from: either the host's
//! [`SignalData`] (DB-only mode) or the decoded artifacts, read in place so compiling never
//! copies a string of its input.

use super::columns::{ColStrs, Columns, RowCols, TagCols};
use super::{ScoredRows, SignalData};
#[cfg(any(test, feature = "bench-internals"))]
use crate::artifacts::ArtifactBody;
use crate::artifacts::ArtifactKind;
use crate::artifacts::{ContentItem, CoocRow, PopItem, UserRow};

#[cfg_attr(not(any(test, feature = "bench-internals")), allow(dead_code))] // built by `put_artifact` (tests, benches)
/// (item, score) pairs: popularity.
#[derive(Clone, Copy, Debug)]
pub enum Pairs<'a> {
    Owned(&'a [(String, f64)]),
    Popularity(&'a [PopItem]),
    Cooc(&'a [crate::artifacts::CoocNeighbor]),
    Scored(&'a [crate::artifacts::ScoredItem]),
    /// Pairs `range` of a column (ids and scores side by side).
    Cols {
        ids: &'a ColStrs,
        scores: &'a [f64],
        start: usize,
        end: usize,
    },
}

impl<'a> Pairs<'a> {
    pub fn len(&self) -> usize {
        match self {
            Pairs::Owned(v) => v.len(),
            Pairs::Popularity(v) => v.len(),
            Pairs::Cooc(v) => v.len(),
            Pairs::Scored(v) => v.len(),
            Pairs::Cols { start, end, .. } => end - start,
        }
    }
    #[cfg(feature = "bench-internals")]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Calls `f(index, score)` for each pair, in order, without reading the ids (see
    /// [`Pairs::id`]).
    #[inline]
    pub fn each_score(&self, mut f: impl FnMut(usize, f64)) {
        match *self {
            Pairs::Cols {
                scores, start, end, ..
            } => scores
                .get(start..end)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .for_each(|(k, &s)| f(k, s)),
            _ => {
                let mut k = 0;
                self.each(|_, s| {
                    f(k, s);
                    k += 1;
                });
            }
        }
    }

    /// The id of pair `k` (empty past the end).
    pub fn id(&self, k: usize) -> &'a str {
        match *self {
            Pairs::Owned(v) => v.get(k).map_or("", |p| &p.0),
            Pairs::Popularity(v) => v.get(k).map_or("", |p| &p.item_id),
            Pairs::Cooc(v) => v.get(k).map_or("", |p| &p.item_id),
            Pairs::Scored(v) => v.get(k).map_or("", |p| &p.item_id),
            Pairs::Cols {
                ids, start, end, ..
            } => match start + k < end {
                true => ids.get(start + k),
                false => "",
            },
        }
    }

    /// Calls `f(id, score)` for each pair, in order.
    #[inline]
    pub fn each(&self, mut f: impl FnMut(&'a str, f64)) {
        match *self {
            Pairs::Owned(v) => v.iter().for_each(|(i, s)| f(i, *s)),
            Pairs::Popularity(v) => v.iter().for_each(|p| f(&p.item_id, p.count as f64)),
            Pairs::Cooc(v) => v.iter().for_each(|p| f(&p.item_id, p.count as f64)),
            Pairs::Scored(v) => v.iter().for_each(|p| f(&p.item_id, p.score)),
            Pairs::Cols {
                ids,
                scores,
                start,
                end,
            } => {
                for (i, &s) in scores.iter().enumerate().take(end).skip(start) {
                    f(ids.get(i), s);
                }
            }
        }
    }
}

#[cfg_attr(not(any(test, feature = "bench-internals")), allow(dead_code))] // built by `put_artifact` (tests, benches)
/// Rows keyed by an id (anchor item or user), each with (item, score) pairs.
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    Owned(&'a ScoredRows),
    Cooc(&'a [CoocRow]),
    Users(&'a [UserRow]),
    Cols(&'a RowCols),
}

impl<'a> Rows<'a> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Rows::Owned(v) => v.len(),
            Rows::Cooc(v) => v.len(),
            Rows::Users(v) => v.len(),
            Rows::Cols(c) => c.len(),
        }
    }
    /// Number of (item, score) pairs over every row.
    pub fn pairs(&self) -> usize {
        match self {
            Rows::Owned(v) => v.iter().map(|(_, r)| r.len()).sum(),
            Rows::Cooc(v) => v.iter().map(|r| r.items.as_ref().map_or(0, Vec::len)).sum(),
            Rows::Users(v) => v.iter().map(|r| r.items.as_ref().map_or(0, Vec::len)).sum(),
            Rows::Cols(c) => c.ids.len(),
        }
    }
    /// Calls `f(key, row)` for each row, in order.
    pub fn each(&self, mut f: impl FnMut(&'a str, Pairs<'a>)) {
        match *self {
            Rows::Owned(v) => v.iter().for_each(|(k, r)| f(k, Pairs::Owned(r))),
            Rows::Cooc(v) => v.iter().for_each(|r| {
                f(
                    &r.item_id,
                    Pairs::Cooc(r.items.as_deref().unwrap_or_default()),
                )
            }),
            Rows::Users(v) => v.iter().for_each(|r| {
                f(
                    &r.user_id,
                    Pairs::Scored(r.items.as_deref().unwrap_or_default()),
                )
            }),
            Rows::Cols(c) => {
                for r in 0..c.len() {
                    f(
                        c.keys.get(r),
                        Pairs::Cols {
                            ids: &c.ids,
                            scores: &c.scores,
                            start: c.off[r] as usize,
                            end: c.off[r + 1] as usize,
                        },
                    )
                }
            }
        }
    }
}

#[cfg_attr(not(any(test, feature = "bench-internals")), allow(dead_code))] // built by `put_artifact` (tests, benches)
/// item → tags rows: content similarity.
#[derive(Clone, Copy, Debug)]
pub enum Tagged<'a> {
    Owned(&'a [(String, Vec<String>)]),
    Content(&'a [ContentItem]),
    Cols(&'a TagCols),
}

/// The tags of one content row.
#[derive(Clone, Copy, Debug)]
pub enum TagList<'a> {
    Strings(&'a [String]),
    Cols(&'a ColStrs, &'a [u32]),
}

impl<'a> TagList<'a> {
    /// Calls `f(tag)` for each tag, in order.
    #[inline]
    pub fn each(&self, mut f: impl FnMut(&'a str)) {
        match *self {
            TagList::Strings(v) => v.iter().for_each(|t| f(t)),
            TagList::Cols(dict, ids) => ids.iter().for_each(|&t| f(dict.get(t as usize))),
        }
    }
}

impl<'a> Tagged<'a> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Tagged::Owned(v) => v.len(),
            Tagged::Content(v) => v.len(),
            Tagged::Cols(c) => c.items.len(),
        }
    }
    /// Calls `f(item)` for the rows at positions `range` (clamped to the rows), in order,
    /// reading only those rows.
    pub fn each_item_in(&self, range: std::ops::Range<usize>, mut f: impl FnMut(&'a str)) {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        match *self {
            Tagged::Owned(v) => v[start..end].iter().for_each(|(i, _)| f(i)),
            Tagged::Content(v) => v[start..end].iter().for_each(|c| f(&c.item_id)),
            Tagged::Cols(c) => (start..end).for_each(|r| f(c.items.get(r))),
        }
    }
    /// Calls `f(item, tags)` for each row, in order.
    pub fn each(&self, mut f: impl FnMut(&'a str, TagList<'a>)) {
        match *self {
            Tagged::Owned(v) => v.iter().for_each(|(i, t)| f(i, TagList::Strings(t))),
            Tagged::Content(v) => v.iter().for_each(|c| {
                f(
                    &c.item_id,
                    TagList::Strings(c.tags.as_deref().unwrap_or_default()),
                )
            }),
            Tagged::Cols(c) => {
                for r in 0..c.items.len() {
                    let tags = &c.tags[c.off[r] as usize..c.off[r + 1] as usize];
                    f(c.items.get(r), TagList::Cols(&c.dict, tags))
                }
            }
        }
    }
}

/// Everything a catalog is compiled from; a `None` signal is unavailable.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sources<'a> {
    pub popularity: Option<Pairs<'a>>,
    pub cooc: Option<Rows<'a>>,
    pub implicit: Option<Rows<'a>>,
    pub content: Option<Tagged<'a>>,
    pub session: Option<Rows<'a>>,
}

impl<'a> Sources<'a> {
    /// The signals of host-supplied data.
    pub fn of_signals(d: &'a SignalData) -> Sources<'a> {
        Sources {
            popularity: d.popularity.as_deref().map(Pairs::Owned),
            cooc: d.cooc.as_ref().map(Rows::Owned),
            implicit: d.implicit.as_ref().map(Rows::Owned),
            content: d.content.as_deref().map(Tagged::Owned),
            session: d.session.as_ref().map(Rows::Owned),
        }
    }

    /// Replaces the signal of `kind` with an artifact's columns.
    pub fn put_columns(&mut self, kind: ArtifactKind, cols: &'a Columns) {
        match (kind, cols) {
            (ArtifactKind::Popularity, Columns::Pairs { ids, scores }) => {
                self.popularity = Some(Pairs::Cols {
                    ids,
                    scores,
                    start: 0,
                    end: ids.len(),
                })
            }
            (ArtifactKind::Cooc, Columns::Rows(r)) => self.cooc = Some(Rows::Cols(r)),
            (ArtifactKind::Implicit, Columns::Rows(r)) => self.implicit = Some(Rows::Cols(r)),
            (ArtifactKind::SessionSeq, Columns::Rows(r)) => self.session = Some(Rows::Cols(r)),
            (ArtifactKind::ContentSim, Columns::Tags(t)) => self.content = Some(Tagged::Cols(t)),
            // Columns always match their artifact's kind (built from its body).
            _ => {}
        }
    }

    #[cfg(any(test, feature = "bench-internals"))]
    /// Replaces the signal `body` carries (an artifact overrides host signals of its kind).
    /// A body whose array is missing (`null`) still makes its signal available, empty.
    pub fn put_artifact(&mut self, body: &'a ArtifactBody) {
        match body {
            ArtifactBody::Popularity(p) => {
                self.popularity = Some(Pairs::Popularity(p.items.as_deref().unwrap_or_default()))
            }
            ArtifactBody::Cooc(c) => {
                self.cooc = Some(Rows::Cooc(c.neighbors.as_deref().unwrap_or_default()))
            }
            ArtifactBody::Implicit(i) => {
                self.implicit = Some(Rows::Users(i.users.as_deref().unwrap_or_default()))
            }
            ArtifactBody::SessionSeq(s) => {
                self.session = Some(Rows::Users(s.users.as_deref().unwrap_or_default()))
            }
            ArtifactBody::ContentSim(c) => {
                self.content = Some(Tagged::Content(c.items.as_deref().unwrap_or_default()))
            }
        }
    }
}
