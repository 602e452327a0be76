//! A content artifact's rows queued for the hashing thread (see `beside`): the pass reads and
//! checks each row and writes its canonical text as on one thread, pushes the row's id to the
//! items column (built on the pass's thread, which the hash leaves idle more often) and records
//! its tags; the second thread hashes the text and builds the tag columns from those records
//! (the offsets, the tag ids and the dictionary); the two halves are joined once both are done.
//!
//! A row read by the layout is recorded as the spans of its strings in the input ([`Op::Fast`]),
//! a row the general reader took as its strings ([`Op::General`]). The thread takes the rows in
//! order, so the tags are interned in the same order as on one thread (ids are first-seen
//! positions): the columns are the one thread's.
//!
//! Popularity rows and co-occurrence rows read by the layout are queued the other way round:
//! the pass builds their columns and leaves their canonical text out of the chunk, recording
//! where it goes and the spans it is written from ([`Queue::written`]); the second thread writes
//! it there from the input before hashing, the same bytes in the same order.

use crate::artifacts::rows::{Counted, Span};
use crate::snapshot::{ColStrs, TagColsBuilder};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// Tags queued before the pass hands its chunk over (bounds a chunk of long rows).
const TAGS: usize = 8192;

/// Counted pairs whose text is left to the second thread before the pass hands its chunk
/// over (~70 KiB of text, about a chunk).
const PAIRS: usize = 2048;

/// Where a content row's tags and id go: the columns themselves, or a [`Queue`].
pub(super) trait TagSink<'a> {
    /// A tag of the row being read.
    fn tag(&mut self, tag: Cow<'a, str>);
    /// Ends the row being read: its id (its tags are those given since the last row).
    fn item(&mut self, id: Cow<'a, str>);
}

impl<'a> TagSink<'a> for TagColsBuilder<'a> {
    #[inline]
    fn tag(&mut self, tag: Cow<'a, str>) {
        self.push_tag(tag);
    }
    #[inline]
    fn item(&mut self, id: Cow<'a, str>) {
        self.end_item(&id);
    }
}

/// One queued row (its id stays on the pass's thread, which builds the items column).
enum Op {
    /// A row read by the layout: its tags are the next `tags` spans.
    Fast { tags: usize },
    /// A row the general reader took: its tags are the next `tags` strings.
    General { tags: usize },
}

/// A row whose canonical text the second thread writes (see [`Queue::written`]).
struct Written {
    /// Where in the chunk's text it goes.
    at: usize,
    /// A co-occurrence row's key (the anchor id); `None` for a popularity row.
    key: Option<Span>,
    /// Its pairs: the next this many of [`Queue::pairs`].
    pairs: usize,
}

/// The rows of one chunk, in order.
#[derive(Default)]
pub(super) struct Queue<'a> {
    /// Rows whose text is left out of the chunk, by position.
    written: Vec<Written>,
    /// Their pairs, in order.
    pairs: Vec<Counted>,
    ops: Vec<Op>,
    /// The tags of the rows read by the layout, in order.
    pub(super) spans: Vec<Span>,
    /// The tags of the rows the general reader took, in order.
    strs: Vec<Cow<'a, str>>,
    /// `strs.len()` when the row being read began.
    row_from: usize,
}

impl<'a> Queue<'a> {
    /// Queues a row read by the layout whose tags are the spans from `first` on.
    #[inline]
    pub(super) fn fast(&mut self, first: usize) {
        let tags = self.spans.len() - first;
        self.ops.push(Op::Fast { tags });
    }

    /// Leaves a popularity row's text (`pairs` holds its one pair) or a co-occurrence row's
    /// (`key` and its neighbours) to the second thread, at `at` in the chunk's text.
    #[inline]
    pub(super) fn written(&mut self, at: usize, key: Option<Span>, pairs: &[Counted]) {
        self.written.push(Written {
            at,
            key,
            pairs: pairs.len(),
        });
        self.pairs.extend_from_slice(pairs);
    }

    /// Whether rows were left to the second thread to write.
    #[inline]
    pub(super) fn leaves_text(&self) -> bool {
        !self.written.is_empty()
    }

    /// Whether the chunk should be handed over before its text is full.
    #[inline]
    pub(super) fn full(&self) -> bool {
        self.spans.len() >= TAGS || self.strs.len() >= TAGS || self.pairs.len() >= PAIRS
    }

    fn clear(&mut self) {
        self.written.clear();
        self.pairs.clear();
        self.ops.clear();
        self.spans.clear();
        self.strs.clear();
        self.row_from = 0;
    }
}

/// A content row's sink with a second thread: its tags go to the [`Queue`] (that thread
/// builds the tag columns), its id to the items column the pass builds.
pub(super) struct Queued<'q, 'a> {
    pub(super) queue: &'q mut Queue<'a>,
    pub(super) items: &'q mut ColStrs,
}

impl<'a> TagSink<'a> for Queued<'_, 'a> {
    fn tag(&mut self, tag: Cow<'a, str>) {
        self.queue.strs.push(tag);
    }
    fn item(&mut self, id: Cow<'a, str>) {
        let q = &mut *self.queue;
        let tags = q.strs.len() - q.row_from;
        q.row_from = q.strs.len();
        q.ops.push(Op::General { tags });
        self.items.push(&id);
    }
}

/// The second thread's side: the hash and the columns of the rows queued.
pub(super) struct Replay<'a> {
    src: &'a str,
    hasher: Sha256,
    /// The tag columns, once a chunk came with rows.
    cols: Option<TagColsBuilder<'a>>,
    /// A chunk's text with the rows left to this thread written in.
    text: Vec<u8>,
}

impl<'a> Replay<'a> {
    /// A replay of the pass over `src`.
    pub(super) fn new(src: &'a str) -> Replay<'a> {
        Replay {
            src,
            hasher: Sha256::new(),
            cols: None,
            text: Vec::new(),
        }
    }

    /// Takes one chunk: hashes its `text` (with the rows whose text was left to this thread
    /// written in), and adds the content rows queued with it to the columns (`q` is left
    /// empty).
    pub(super) fn chunk(&mut self, text: &[u8], q: &mut Queue<'a>) {
        self.hasher
            .update(write_in(self.src.as_bytes(), &mut self.text, text, q));
        if q.ops.is_empty() {
            q.clear();
            return;
        }
        let cols = self.cols.get_or_insert_with(|| TagColsBuilder::new(0));
        let src = self.src;
        let mut spans = q.spans.iter();
        let mut strs = q.strs.drain(..);
        for op in q.ops.drain(..) {
            match op {
                Op::Fast { tags } => {
                    for s in spans.by_ref().take(tags) {
                        cols.push_tag_in(src, s.start, s.end);
                    }
                    cols.end_row();
                }
                Op::General { tags } => {
                    for tag in strs.by_ref().take(tags) {
                        cols.push_tag(tag);
                    }
                    cols.end_row();
                }
            }
        }
        drop(strs);
        q.clear();
    }

    /// The hash of every chunk taken, and the tag columns of the rows queued without their
    /// items (`None` when there were none; see [`TagColsBuilder::finish_with`]).
    pub(super) fn finish(self) -> (Sha256, Option<TagColsBuilder<'a>>) {
        (self.hasher, self.cols)
    }
}

/// The chunk's `text` with the rows [`Queue::written`] left out of it written in at their
/// places from the input `b`'s spans (as the pass writes them on one thread), in `out`; `text`
/// itself when there are none.
fn write_in<'t>(b: &[u8], out: &'t mut Vec<u8>, text: &'t [u8], q: &Queue<'_>) -> &'t [u8] {
    if q.written.is_empty() {
        return text;
    }
    out.clear();
    let mut from = 0;
    let mut pairs = q.pairs.iter();
    for w in &q.written {
        out.extend_from_slice(&text[from..w.at]);
        from = w.at;
        match w.key {
            None => {
                for c in pairs.by_ref().take(w.pairs) {
                    super::write_counted_plain(out, b, c);
                }
            }
            Some(key) => super::write_cooc_plain(out, b, key, pairs.by_ref().take(w.pairs)),
        }
    }
    out.extend_from_slice(&text[from..]);
    out
}
