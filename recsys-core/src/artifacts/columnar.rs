//! One-pass loading of an artifact: decoded from its bytes straight into the snapshot's
//! compact [`Columns`], with the version hash taken in the same pass. No decoded rows, no tree
//! and no canonical text of the whole document exist at any time: each row's canonical form is
//! written to a small buffer that is fed to SHA-256 every 64 KiB, and strings are pushed into
//! the columns from the input (a string without escapes is never copied on its own).
//!
//! The version hash covers the *decoded* form in struct order (envelope, body, blank build),
//! so one pass is exact only for documents whose envelope is complete before the body and
//! never changes after it, and whose rows need no Go merge rules across duplicate members.
//! That is every document the pipeline writes. Anything else (a duplicate body or nested
//! array, an envelope member after the body that changes it, a `null` row, a row that fails
//! a check, any syntax or type error) makes [`load_columns`] answer `None`, and the caller
//! runs the exact two-step path (`parse_artifact` then `verify`), which gives the same
//! result and every error with its code.

use super::decode::{finish, float64_of, int64_of, key_is, RawEnvelope, R};
use super::error::ArtifactError;
use super::hash::{check_version, hex, verify_scope, EnvelopeHead, HASH_CHUNK};
use super::model::*;
use super::rows::{Counted, Span};
use super::stream::{dec_envelope_member, Reader};
use crate::json::{format_go_float, write_go_string};
use crate::snapshot::TagColsBuilder;
use crate::snapshot::{ColStrs, Columns, RowCols};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

mod beside;
pub(super) mod canon;
mod queued;

use queued::{Queue, Queued, TagSink};

/// A verified artifact as columns: its envelope, its top-level row count and its signal.
pub struct ColumnarArtifact {
    pub envelope: Envelope,
    pub rows: usize,
    pub columns: Columns,
}

/// Loads one blob in a single pass (see the module documentation): decode into columns, hash,
/// check type, window, rows, version (declared and `expected_version`), tenant and surface.
///
/// `None` when the document needs the exact two-step path; `Some(Err)` only for verification
/// failures of a document that decoded completely (hash, version, tenant, surface), which the
/// two-step path reports identically.
pub fn load_columns(
    bytes: &[u8],
    kind: ArtifactKind,
    expected_version: Option<&str>,
    tenant: &str,
    surface: &str,
    limits: &ArtifactLimits,
) -> Option<Result<ColumnarArtifact, ArtifactError>> {
    let scope = Scope {
        kind,
        expected_version,
        tenant,
        surface,
    };
    load(bytes, &scope, limits, true).0
}

/// What a blob is loaded as and checked against.
struct Scope<'s> {
    kind: ArtifactKind,
    expected_version: Option<&'s str>,
    tenant: &'s str,
    surface: &'s str,
}

/// [`load_columns`], with the pipeline's row layouts read by `rows` or not (`fast`); also
/// answers how many rows were read that way.
fn load(
    bytes: &[u8],
    scope: &Scope<'_>,
    limits: &ArtifactLimits,
    fast: bool,
) -> (Option<Result<ColumnarArtifact, ArtifactError>>, usize) {
    if bytes.len() > limits.max_bytes {
        return (None, 0);
    }
    let Ok(src) = std::str::from_utf8(bytes) else {
        return (None, 0);
    };
    let mut p = Pass::new(src, scope.kind, limits);
    p.fast = fast;
    if !beside::worth_a_thread(bytes.len()) || !crate::snapshot::parallel::second_thread_allowed() {
        return run_pass(p, scope);
    }
    beside::run(src, p, scope)
}

/// Reads the document with pass `p`, then checks it.
fn run_pass(
    mut p: Pass<'_, '_>,
    scope: &Scope<'_>,
) -> (Option<Result<ColumnarArtifact, ArtifactError>>, usize) {
    let done = p.document();
    let fast_rows = p.fast_rows;
    if done.is_err() {
        return (None, fast_rows);
    }
    (finish_pass(p, scope), fast_rows)
}

/// The envelope's checks and the version hash once the whole document was read.
fn finish_pass(
    p: Pass<'_, '_>,
    scope: &Scope<'_>,
) -> Option<Result<ColumnarArtifact, ArtifactError>> {
    let Scope {
        kind,
        expected_version,
        tenant,
        surface,
    } = *scope;
    let Pass {
        env,
        at_body,
        columns,
        rows,
        mut out,
        mut hasher,
        ..
    } = p;
    // The hash was started with the envelope as it stood when the body began.
    if !at_body.as_ref().is_some_and(|b| b.same_as(&env)) {
        return None;
    }
    let envelope = finish(env, ArtifactBody::absent(kind), kind).ok()?.envelope;
    out.extend_from_slice(b",\"build\":{\"built_at\":\"\",\"version\":\"\"}}");
    hasher.update(&out);
    let computed = hex(&hasher.finalize());
    Some(
        check_version(&envelope.build, computed, expected_version)
            .and_then(|_| verify_scope(&envelope, tenant, surface))
            .map(|()| ColumnarArtifact {
                envelope,
                rows,
                columns: columns.unwrap_or_else(|| empty_columns(kind)),
            }),
    )
}

fn empty_columns(kind: ArtifactKind) -> Columns {
    Columns::from_body(ArtifactBody::absent(kind))
}

/// The envelope members the canonical prefix is written from.
#[derive(PartialEq, Eq)]
struct Prefix {
    tenant: String,
    surface: String,
    segment: String,
    start: String,
    end: String,
}

impl Prefix {
    fn of(env: &RawEnvelope) -> Prefix {
        Prefix {
            tenant: env.tenant.clone(),
            surface: env.surface.clone(),
            segment: env.segment.clone(),
            start: env.start.clone(),
            end: env.end.clone(),
        }
    }
    fn same_as(&self, env: &RawEnvelope) -> bool {
        self.tenant == env.tenant
            && self.surface == env.surface
            && self.segment == env.segment
            && self.start == env.start
            && self.end == env.end
    }
}

/// Any reason to leave the one-pass path (never surfaces: the caller takes the exact path).
fn bail() -> ArtifactError {
    ArtifactError::MissingField { path: "$".into() }
}

/// The state of one pass.
struct Pass<'a, 'l> {
    r: Reader<'a>,
    kind: ArtifactKind,
    lim: &'l ArtifactLimits,
    env: RawEnvelope,
    /// The envelope when the body began (the hash prefix was written from it).
    at_body: Option<Prefix>,
    columns: Option<Columns>,
    rows: usize,
    /// Canonical text not yet hashed (see `canon`).
    out: Vec<u8>,
    hasher: Sha256,
    /// The canonical text of the nested list of the row being read.
    sub: String,
    /// Whether rows in the pipeline's layout are read by `rows` (always, but in tests).
    fast: bool,
    /// How many rows were read that way.
    fast_rows: usize,
    /// The tags of the content row read by `rows`.
    spans: Vec<Span>,
    /// Where full chunks of canonical text go when a second thread hashes them.
    beside: Option<beside::Pipe<'a>>,
    /// Whether the body's rows were queued for that thread (see `queued`), which then
    /// builds the tag columns.
    queued: bool,
    /// The queued rows' ids, in order: their items column, built on this thread.
    items: ColStrs,
    /// The neighbours of the co-occurrence row read by `rows`.
    pairs: Vec<Counted>,
    /// With a second thread, the popularity and co-occurrence rows read by `rows` whose
    /// canonical text it writes (see `queued`): the pass reads the next row meanwhile.
    left: Queue<'a>,
}

impl<'a, 'l> Pass<'a, 'l> {
    fn new(src: &'a str, kind: ArtifactKind, lim: &'l ArtifactLimits) -> Pass<'a, 'l> {
        Pass {
            r: Reader::new(src, lim),
            kind,
            lim,
            env: RawEnvelope::default(),
            at_body: None,
            columns: None,
            rows: 0,
            out: Vec::with_capacity(HASH_CHUNK + 4096),
            hasher: Sha256::new(),
            sub: String::new(),
            fast: true,
            fast_rows: 0,
            spans: Vec::new(),
            pairs: Vec::new(),
            beside: None,
            queued: false,
            items: ColStrs::default(),
            left: Queue::default(),
        }
    }

    fn document(&mut self) -> R<()> {
        self.r.begin()?;
        if self.r.peek() != Some(b'{') {
            return Err(bail());
        }
        let body_key = self.kind.body_key();
        // `object` lends the reader to the callback; the rest of the state goes in by hand.
        let mut r = std::mem::replace(&mut self.r, Reader::new("", self.lim));
        let res = r.object(|r, k| {
            if key_is(k, body_key) {
                if self.at_body.is_some() {
                    return Err(bail());
                }
                self.start_body();
                self.body(r)
            } else {
                dec_envelope_member(r, k, &mut self.env)
            }
        });
        self.r = r;
        res?;
        self.r.end()?;
        if self.at_body.is_none() {
            // No body member: the array is missing (`null`), after the complete envelope.
            self.start_body();
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    /// Writes the canonical prefix up to the body member's value.
    fn start_body(&mut self) {
        let env = &self.env;
        // `v` must be 1 (checked with the envelope); the prefix may be written before it is read.
        let head = EnvelopeHead {
            v: 1,
            kind: self.kind,
            tenant: &env.tenant,
            surface: &env.surface,
            segment: &env.segment,
            start: &env.start,
            end: &env.end,
        };
        let mut text = String::new();
        head.write(&mut text, self.kind);
        self.out.extend_from_slice(text.as_bytes());
        self.at_body = Some(Prefix::of(env));
    }

    /// Hashes what was written once a chunk is full (with a second thread, also once the
    /// rows whose text is left to it, [`Pass::left`], make a chunk).
    #[inline]
    fn flush(&mut self) {
        if self.out.len() >= HASH_CHUNK || self.left.full() {
            match &self.beside {
                Some(pipe) => pipe.hand_over(&mut self.out, Some(&mut self.left)),
                None => {
                    self.hasher.update(&self.out);
                    self.out.clear();
                }
            }
        }
    }

    fn body(&mut self, r: &mut Reader<'a>) -> R<()> {
        match r.peek() {
            Some(b'n') => {
                r.null()?;
                self.out.extend_from_slice(b"null");
                return Ok(());
            }
            Some(b'[') => {}
            _ => return Err(bail()),
        }
        self.out.push(b'[');
        let (limit, kind) = match self.kind {
            ArtifactKind::Implicit | ArtifactKind::SessionSeq => (self.lim.max_users, self.kind),
            k => (self.lim.max_items, k),
        };
        let mut cols = match kind {
            ArtifactKind::Popularity => Build::Pairs(ColStrs::default(), Vec::new()),
            // With a second thread, it builds content rows' columns (see `queued`).
            ArtifactKind::ContentSim if self.beside.is_some() => {
                Build::Queued(Queue::default(), ColStrs::default())
            }
            ArtifactKind::ContentSim => Build::Tags(TagColsBuilder::new(0)),
            _ => Build::Rows(RowCols::new(0)),
        };
        let n = r.array(|r, i| {
            if i >= limit || r.peek() != Some(b'{') {
                return Err(bail());
            }
            if i > 0 {
                self.out.push(b',');
            }
            match &mut cols {
                Build::Pairs(ids, scores) => self.pop_row(r, ids, scores),
                Build::Rows(rc) => self.keyed_row(r, rc),
                Build::Tags(t) => self.content_row(r, t),
                Build::Queued(q, items) => {
                    self.queued_row(r, q, items)?;
                    if q.full() || self.out.len() >= HASH_CHUNK {
                        self.hand_over(q);
                    }
                    return Ok(());
                }
            }?;
            self.flush();
            Ok(())
        })?;
        self.out.push(b']');
        if self.left.leaves_text() {
            // Their text goes before what the pass writes next.
            if let Some(pipe) = &self.beside {
                pipe.hand_over(&mut self.out, Some(&mut self.left));
            }
        }
        self.rows = n;
        self.columns = Some(match cols {
            Build::Queued(mut q, items) => {
                // The rest goes over now: what the pass writes next must follow it.
                self.hand_over(&mut q);
                self.queued = true;
                self.items = items;
                return Ok(());
            }
            Build::Pairs(mut ids, mut scores) => {
                ids.shrink();
                scores.shrink_to_fit();
                Columns::Pairs { ids, scores }
            }
            Build::Rows(mut rc) => {
                rc.shrink();
                rc.off.shrink_to_fit();
                Columns::Rows(rc)
            }
            Build::Tags(t) => Columns::Tags(t.finish()),
        });
        Ok(())
    }

    /// `{"item_id":..,"count":..}`: a popularity row or a co-occurrence neighbour.
    fn counted(r: &mut Reader<'a>) -> R<(Cow<'a, str>, i64)> {
        let mut id: Cow<'a, str> = Cow::Borrowed("");
        let mut count = 0i64;
        r.object(|r, k| {
            if key_is(k, "item_id") {
                string_slot(r, &mut id)
            } else if key_is(k, "count") {
                number_slot(r, &mut count, int64_of)
            } else {
                r.skip()
            }
        })?;
        if id.is_empty() || count < 0 {
            return Err(bail());
        }
        Ok((id, count))
    }

    fn pop_row(&mut self, r: &mut Reader<'a>, ids: &mut ColStrs, scores: &mut Vec<f64>) -> R<()> {
        if self.fast {
            if let Some(c) = r.fast_row(1, |c, len| c.counted(len)) {
                if self.beside.is_some() {
                    self.left
                        .written(self.out.len(), None, std::slice::from_ref(&c));
                } else {
                    write_counted_plain(&mut self.out, r.bytes(), &c);
                }
                ids.push(r.text(c.id));
                scores.push(c.count as f64);
                self.fast_rows += 1;
                return Ok(());
            }
        }
        let (id, count) = Self::counted(r)?;
        let mut text = String::new();
        write_counted(&mut text, &id, count);
        self.out.extend_from_slice(text.as_bytes());
        ids.push(&id);
        scores.push(count as f64);
        Ok(())
    }

    /// A co-occurrence anchor row or a user row: a key and a nested list of scored items.
    fn keyed_row(&mut self, r: &mut Reader<'a>, rc: &mut RowCols) -> R<()> {
        let users = self.kind != ArtifactKind::Cooc;
        let (key_name, limit) = if users {
            ("user_id", self.lim.max_items_per_user)
        } else {
            ("item_id", self.lim.max_neighbors_per_row)
        };
        if self.fast && !users && self.fast_cooc_row(r, rc, limit) {
            return Ok(());
        }
        let mut key: Cow<'a, str> = Cow::Borrowed("");
        let mut seen_items = false;
        let sub = &mut self.sub;
        sub.clear();
        sub.push_str("null");
        r.object(|r, k| {
            if key_is(k, key_name) {
                string_slot(r, &mut key)
            } else if key_is(k, "items") {
                if seen_items {
                    return Err(bail());
                }
                seen_items = true;
                if r.peek() == Some(b'n') {
                    return r.null();
                }
                if r.peek() != Some(b'[') {
                    return Err(bail());
                }
                sub.clear();
                sub.push('[');
                r.array(|r, j| {
                    if j >= limit || r.peek() != Some(b'{') {
                        return Err(bail());
                    }
                    if j > 0 {
                        sub.push(',');
                    }
                    let (id, score) = if users {
                        let (id, s) = Self::scored(r)?;
                        sub.push_str("{\"item_id\":");
                        push_go_string(sub, &id);
                        sub.push_str(",\"score\":");
                        format_go_float(sub, s);
                        sub.push('}');
                        (id, s)
                    } else {
                        let (id, c) = Self::counted(r)?;
                        write_counted(sub, &id, c);
                        (id, c as f64)
                    };
                    rc.ids.push(&id);
                    rc.scores.push(score);
                    Ok(())
                })?;
                sub.push(']');
                Ok(())
            } else {
                r.skip()
            }
        })?;
        if key.is_empty() {
            return Err(bail());
        }
        let out = &mut self.out;
        out.extend_from_slice(if users {
            b"{\"user_id\":"
        } else {
            b"{\"item_id\":"
        });
        canon::go_string(out, &key);
        out.extend_from_slice(b",\"items\":");
        out.extend_from_slice(self.sub.as_bytes());
        out.push(b'}');
        rc.keys.push(&key);
        rc.end_row();
        Ok(())
    }

    /// A co-occurrence row in the pipeline's layout, read by `rows`; `false` (nothing read or
    /// written) for any other.
    fn fast_cooc_row(&mut self, r: &mut Reader<'a>, rc: &mut RowCols, limit: usize) -> bool {
        let pairs = &mut self.pairs;
        let Some(key) = r.fast_row(3, |c, len| c.cooc_row(limit, len, pairs)) else {
            return false;
        };
        if self.beside.is_some() {
            self.left.written(self.out.len(), Some(key), &self.pairs);
        } else {
            write_cooc_plain(&mut self.out, r.bytes(), key, self.pairs.iter());
        }
        for c in &self.pairs {
            rc.ids.push(r.text(c.id));
            rc.scores.push(c.count as f64);
        }
        rc.keys.push(r.text(key));
        rc.end_row();
        self.fast_rows += 1;
        true
    }

    /// Hands the chunk written so far over with the rows `q` holds.
    fn hand_over(&mut self, q: &mut Queue<'a>) {
        if let Some(pipe) = &self.beside {
            pipe.hand_over(&mut self.out, Some(q));
        }
    }

    /// A content row queued for the second thread: read by `rows` when it is in the
    /// pipeline's layout (its spans queued), else by the general reader; its canonical text
    /// written as on one thread, and its id to `items`.
    fn queued_row(&mut self, r: &mut Reader<'a>, q: &mut Queue<'a>, items: &mut ColStrs) -> R<()> {
        if self.fast {
            let (limit, first) = (self.lim.max_tags_per_item, q.spans.len());
            let (spans, out) = (&mut q.spans, &mut self.out);
            if let Some(id) = r.fast_row(2, |c, _| c.content_row(limit, spans, out)) {
                q.fast(first);
                items.push(r.text(id));
                self.fast_rows += 1;
                return Ok(());
            }
        }
        self.general_content_row(r, &mut Queued { queue: q, items })
    }

    /// A content row in the pipeline's layout, read by `rows`; `false` (nothing read or
    /// written) for any other.
    fn fast_content_row(&mut self, r: &mut Reader<'a>, t: &mut TagColsBuilder<'a>) -> bool {
        let limit = self.lim.max_tags_per_item;
        let (spans, out) = (&mut self.spans, &mut self.out);
        spans.clear();
        let Some(id) = r.fast_row(2, |c, _| c.content_row(limit, spans, out)) else {
            return false;
        };
        let src = r.text(Span {
            start: 0,
            end: r.bytes().len(),
        });
        for &s in &self.spans {
            t.push_tag_in(src, s.start, s.end);
        }
        t.end_item(r.text(id));
        self.fast_rows += 1;
        true
    }

    /// `{"item_id":..,"score":..}` of a user row (finite, `>= 0`).
    fn scored(r: &mut Reader<'a>) -> R<(Cow<'a, str>, f64)> {
        let mut id: Cow<'a, str> = Cow::Borrowed("");
        let mut score = 0f64;
        r.object(|r, k| {
            if key_is(k, "item_id") {
                string_slot(r, &mut id)
            } else if key_is(k, "score") {
                number_slot(r, &mut score, float64_of)
            } else {
                r.skip()
            }
        })?;
        if id.is_empty() || score < 0.0 {
            return Err(bail());
        }
        Ok((id, score))
    }

    fn content_row(&mut self, r: &mut Reader<'a>, t: &mut TagColsBuilder<'a>) -> R<()> {
        if self.fast && self.fast_content_row(r, t) {
            return Ok(());
        }
        self.general_content_row(r, t)
    }

    /// A content row read by the general reader; its tags and id go to `t`.
    fn general_content_row(&mut self, r: &mut Reader<'a>, t: &mut impl TagSink<'a>) -> R<()> {
        let limit = self.lim.max_tags_per_item;
        let mut id: Cow<'a, str> = Cow::Borrowed("");
        let mut seen_tags = false;
        let sub = &mut self.sub;
        sub.clear();
        sub.push_str("null");
        r.object(|r, k| {
            if key_is(k, "item_id") {
                string_slot(r, &mut id)
            } else if key_is(k, "tags") {
                if seen_tags {
                    return Err(bail());
                }
                seen_tags = true;
                if r.peek() == Some(b'n') {
                    return r.null();
                }
                if r.peek() != Some(b'[') {
                    return Err(bail());
                }
                sub.clear();
                sub.push('[');
                r.array(|r, j| {
                    if j >= limit || r.peek() != Some(b'"') {
                        return Err(bail());
                    }
                    if j > 0 {
                        sub.push(',');
                    }
                    let tag = r.string()?;
                    push_go_string(sub, &tag);
                    t.tag(tag);
                    Ok(())
                })?;
                sub.push(']');
                Ok(())
            } else {
                r.skip()
            }
        })?;
        if id.is_empty() {
            return Err(bail());
        }
        let out = &mut self.out;
        out.extend_from_slice(b"{\"item_id\":");
        canon::go_string(out, &id);
        out.extend_from_slice(b",\"tags\":");
        out.extend_from_slice(self.sub.as_bytes());
        out.push(b'}');
        t.item(id);
        Ok(())
    }
}

/// Columns being filled.
enum Build<'a> {
    Pairs(ColStrs, Vec<f64>),
    Rows(RowCols),
    Tags(TagColsBuilder<'a>),
    /// Content rows queued for the second thread, which builds their tag columns; their
    /// items column, built by the pass.
    Queued(Queue<'a>, ColStrs),
}

/// A string member (last one wins, `null` leaves it).
#[inline]
fn string_slot<'a>(r: &mut Reader<'a>, slot: &mut Cow<'a, str>) -> R<()> {
    match r.peek() {
        Some(b'"') => {
            *slot = r.string()?;
            Ok(())
        }
        Some(b'n') => r.null(),
        _ => Err(bail()),
    }
}

/// A number member read with `of` (`int64_of`, `float64_of`) into `slot`; `null` keeps it.
fn number_slot<T>(r: &mut Reader<'_>, slot: &mut T, of: fn(&str) -> Option<T>) -> R<()> {
    match r.peek() {
        Some(b'n') => r.null(),
        Some(b'-' | b'0'..=b'9') => {
            *slot = of(r.number()?).ok_or_else(bail)?;
            Ok(())
        }
        _ => Err(bail()),
    }
}

/// A counted row's Go encoding (in a nested list's text).
fn write_counted(out: &mut String, id: &str, count: i64) {
    out.push_str("{\"item_id\":");
    push_go_string(out, id);
    out.push_str(",\"count\":");
    crate::json::write_i64(out, count);
    out.push('}');
}

/// [`write_counted`] into the canonical text, of a row `c` of the input `b` whose Go
/// encoding is its tokens as they stand (see `rows`).
#[inline]
/// A co-occurrence row in the pipeline's layout (`key` and its neighbours `pairs`, spans of
/// `b`), its canonical text appended to `out`.
fn write_cooc_plain<'c>(
    out: &mut Vec<u8>,
    b: &[u8],
    key: Span,
    pairs: impl Iterator<Item = &'c Counted>,
) {
    out.extend_from_slice(b"{\"item_id\":");
    canon::copy(out, b, key.start - 1, key.end + 1);
    out.extend_from_slice(b",\"items\":[");
    for (j, c) in pairs.enumerate() {
        if j > 0 {
            out.push(b',');
        }
        write_counted_plain(out, b, c);
    }
    out.extend_from_slice(b"]}");
}

/// A counted row in the pipeline's layout (spans of `b`), its canonical text appended to
/// `out`. Inlined: the hashing thread writes one for every popularity row and neighbour.
#[inline(always)]
fn write_counted_plain(out: &mut Vec<u8>, b: &[u8], c: &Counted) {
    out.extend_from_slice(b"{\"item_id\":");
    canon::copy(out, b, c.id.start - 1, c.id.end + 1);
    out.extend_from_slice(b",\"count\":");
    canon::copy(out, b, c.digits.start, c.digits.end);
    out.push(b'}');
}

/// Go's string encoding; ids and tags are almost always plain ASCII, copied as they are.
#[inline]
fn push_go_string(out: &mut String, s: &str) {
    let plain = s
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&'));
    if plain {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        write_go_string(out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::{parse_artifact, version_hash};
    use crate::tests::rng::Rng;

    pub(super) type Outcome = Option<Result<(Envelope, usize, String), ArtifactError>>;

    pub(super) fn outcome(r: Option<Result<ColumnarArtifact, ArtifactError>>) -> Outcome {
        r.map(|r| r.map(|c| (c.envelope, c.rows, format!("{:?}", c.columns))))
    }

    /// Loads `bytes` with and without the row layouts of `rows`, asserts the same outcome
    /// (columns, envelope, hash verdict, or the same refusal), and answers it with the number
    /// of rows read by `rows`.
    fn agree(bytes: &[u8], kind: ArtifactKind, limits: &ArtifactLimits) -> (Outcome, usize) {
        let scope = Scope {
            kind,
            expected_version: None,
            tenant: "demo",
            surface: "home",
        };
        let (fast, n) = load(bytes, &scope, limits, true);
        let (general, m) = load(bytes, &scope, limits, false);
        assert_eq!(m, 0);
        let fast = outcome(fast);
        assert_eq!(fast, outcome(general), "{}", String::from_utf8_lossy(bytes));
        // With a second thread whatever the size: content rows queued for it (see `queued`).
        for layouts in [true, false] {
            let (beside, k) = beside_always(|| load(bytes, &scope, limits, layouts));
            assert_eq!(k, if layouts { n } else { 0 });
            let beside = outcome(beside);
            assert_eq!(fast, beside, "{}", String::from_utf8_lossy(bytes));
        }
        (fast, n)
    }

    /// `f` with a thread budget of two, every load taking a second thread whatever its size.
    pub(super) fn beside_always<T>(f: impl FnOnce() -> T) -> T {
        beside::tests::ALWAYS.with(|a| a.set(true));
        let got = crate::snapshot::parallel::with_threads(2, f);
        beside::tests::ALWAYS.with(|a| a.set(false));
        got
    }

    /// Generates documents in the pipeline's layout, some of their tokens replaced by odd ones
    /// (`odd` per mille) that the row layouts must leave to the general reader.
    struct Gen {
        rng: Rng,
        odd: u64,
    }

    impl Gen {
        fn ws(&mut self) -> &'static str {
            if !self.rng.chance(self.odd * 4) {
                return "\n      ";
            }
            ["", " ", "\n", "\t", "\r\n", "         ", "\n\n  \t "][self.rng.index(7)]
        }

        fn string(&mut self, stem: &str) -> String {
            if self.rng.chance(self.odd) {
                const ODD: [&str; 12] = [
                    r#""""#,
                    r#""a\u0041""#,
                    r#""a\"b""#,
                    r#""a\/b""#,
                    r#""<x>""#,
                    r#""a&b""#,
                    "\"\u{e9}\"",
                    "\"\u{7f}\"",
                    "\"a\u{2028}\"",
                    "null",
                    "7",
                    "[\"x\"]",
                ];
                return ODD[self.rng.index(ODD.len())].to_string();
            }
            format!("\"{stem}{}\"", self.rng.below(100_000))
        }

        fn count(&mut self) -> String {
            if self.rng.chance(self.odd) {
                const ODD: [&str; 14] = [
                    "-1",
                    "-0",
                    "01",
                    "1.0",
                    "1e2",
                    "1E2",
                    "0.5",
                    "999999999999999999",
                    "1000000000000000000",
                    "9223372036854775807",
                    "9223372036854775808",
                    "99999999999999999999999",
                    "null",
                    "\"3\"",
                ];
                return ODD[self.rng.index(ODD.len())].to_string();
            }
            self.rng.below(10_000_000).to_string()
        }

        fn key(&mut self, name: &str) -> String {
            if self.rng.chance(self.odd) {
                return match self.rng.index(4) {
                    0 => format!("\"{}\"", name.to_ascii_uppercase()),
                    1 => format!("\"{}\"", name.replacen('t', "\\u0074", 1)),
                    2 => format!("\"{}\"", name.replacen('s', "\u{17F}", 1)),
                    _ => format!("\"{name}_\""),
                };
            }
            format!("\"{name}\"")
        }

        /// An object of `members` (name, value), sometimes reordered, repeated or extended.
        fn object(&mut self, mut members: Vec<(String, String)>) -> String {
            if self.rng.chance(self.odd) && !members.is_empty() {
                match self.rng.index(4) {
                    0 => members.reverse(),
                    1 => {
                        let m = members[self.rng.index(members.len())].clone();
                        members.push(m);
                    }
                    2 => {
                        members.remove(self.rng.index(members.len()));
                    }
                    _ => members.insert(1, ("\"x\"".into(), "[1, {\"a\": null}]".into())),
                }
            }
            let body: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!("{}{k}{}:{}{v}", self.ws(), self.ws(), self.ws()))
                .collect();
            format!("{{{}{}}}", body.join(","), self.ws())
        }

        fn list(&mut self, n: usize, mut elem: impl FnMut(&mut Self) -> String) -> String {
            let items: Vec<String> = (0..n)
                .map(|_| format!("{}{}", self.ws(), elem(self)))
                .collect();
            format!("[{}{}]", items.join(","), self.ws())
        }

        fn counted(&mut self) -> String {
            let members = vec![
                (self.key("item_id"), self.string("sku-")),
                (self.key("count"), self.count()),
            ];
            self.object(members)
        }

        fn row(&mut self, kind: ArtifactKind) -> String {
            let n = self.rng.index(7);
            let members = match kind {
                ArtifactKind::ContentSim => vec![
                    (self.key("item_id"), self.string("sku-")),
                    (self.key("tags"), self.list(n, |g| g.string("attr:a"))),
                ],
                ArtifactKind::Cooc => vec![
                    (self.key("item_id"), self.string("sku-")),
                    (self.key("items"), self.list(n, Gen::counted)),
                ],
                _ => return self.counted(),
            };
            self.object(members)
        }

        fn document(&mut self, kind: ArtifactKind, version: &str) -> String {
            let n = self.rng.index(12);
            let rows = self.list(n, |g| g.row(kind));
            format!(
                "{{\n  \"v\": 1,\n  \"artifact_type\": \"{}\",\n  \"tenant\": \"demo\",\n  \"surface\": \"home\",\n  \"segment\": \"default\",\n  \"window\": {{\n    \"start\": \"2026-01-01T00:00:00Z\",\n    \"end\": \"2026-01-02T00:00:00Z\"\n  }},\n  \"{}\": {rows},\n  \"build\": {{\"version\": \"{version}\"}}\n}}\n",
                kind.as_str(),
                kind.body_key()
            )
        }
    }

    const KINDS: [ArtifactKind; 3] = [
        ArtifactKind::Popularity,
        ArtifactKind::Cooc,
        ArtifactKind::ContentSim,
    ];

    /// The document `g` makes next (the same draws with any version), with its true version.
    fn versioned(g: &mut Gen, kind: ArtifactKind) -> String {
        let seed = g.rng.next_u64();
        g.rng = Rng::new(seed);
        let draft = g.document(kind, "");
        let version = parse_artifact(draft.as_bytes(), Some(kind), &ArtifactLimits::default())
            .map(|a| version_hash(&a))
            .unwrap_or_default();
        g.rng = Rng::new(seed);
        g.document(kind, &version)
    }

    #[test]
    fn pipeline_rows_are_read_by_their_layout_with_the_general_readers_columns_and_hash() {
        let mut g = Gen {
            rng: Rng::new(0x5eed_0001),
            odd: 0,
        };
        let lim = ArtifactLimits::default();
        for round in 0..300 {
            let kind = KINDS[round % 3];
            let doc = versioned(&mut g, kind);
            let (got, fast_rows) = agree(doc.as_bytes(), kind, &lim);
            // The version computed by the two-step path verifies: the hash is the same.
            let (_, rows, _) = got.unwrap().unwrap();
            assert_eq!(fast_rows, rows, "{doc}");
        }
    }

    #[test]
    fn odd_tokens_whitespace_and_limits_fall_back_to_the_same_result() {
        let mut g = Gen {
            rng: Rng::new(0x5eed_0002),
            odd: 0,
        };
        let mut fell_back = 0;
        for round in 0..3000 {
            g.odd = [0, 10, 40, 150][round % 4];
            let kind = KINDS[(round / 4) % 3];
            let doc = versioned(&mut g, kind);
            let lim = if g.rng.chance(300) {
                ArtifactLimits {
                    max_items: g.rng.index(12),
                    max_neighbors_per_row: g.rng.index(7),
                    max_tags_per_item: g.rng.index(7),
                    max_depth: 2 + g.rng.index(4),
                    ..ArtifactLimits::default()
                }
            } else {
                ArtifactLimits::default()
            };
            let (got, fast_rows) = agree(doc.as_bytes(), kind, &lim);
            let rows = got
                .and_then(|r| r.ok())
                .map_or(usize::MAX, |(_, rows, _)| rows);
            fell_back += usize::from(fast_rows != rows);
            // Cut anywhere: the rows before the cut may be read fast, the result is the same.
            let cut = g.rng.index(doc.len() + 1);
            agree(&doc.as_bytes()[..cut], kind, &lim);
        }
        assert!(fell_back > 500, "{fell_back}");
    }

    /// A document of `kind` exactly as the pipeline indents it (rows by four spaces, members
    /// by six), its row list named `list_key` with `rows` (each row's text from its `{`), and
    /// its true version.
    fn pipeline_doc(kind: ArtifactKind, list_key: &str, rows: &[String]) -> String {
        let name = match kind {
            ArtifactKind::ContentSim => "content_sim",
            ArtifactKind::Popularity => "popularity",
            _ => "cooc",
        };
        let doc = |version: &str| {
            let rows: Vec<String> = rows.iter().map(|r| format!("\n    {r}")).collect();
            format!(
                "{{\n  \"v\": 1,\n  \"artifact_type\": \"{name}\",\n  \"tenant\": \"demo\",\n  \"surface\": \"home\",\n  \"segment\": \"default\",\n  \"window\": {{\n    \"start\": \"2026-01-01T00:00:00Z\",\n    \"end\": \"2026-01-02T00:00:00Z\"\n  }},\n  \"{list_key}\": [{}\n  ],\n  \"build\": {{\"version\": \"{version}\"}}\n}}\n",
                rows.join(",")
            )
        };
        let draft = doc("");
        let version = parse_artifact(draft.as_bytes(), Some(kind), &ArtifactLimits::default())
            .map(|a| version_hash(&a))
            .unwrap();
        doc(&version)
    }

    /// The rows of a document in the pipeline's layout: row `r` with its id and the list
    /// member `member` of `lens[r]` elements (indented by eight spaces), element `j` being
    /// `elem(r, j)`.
    fn pipeline_rows(
        lens: &[usize],
        member: &str,
        elem: impl Fn(usize, usize) -> String,
    ) -> Vec<String> {
        let row = |(r, &n): (usize, &usize)| {
            let list = if n == 0 {
                "[]".to_string()
            } else {
                let t: Vec<String> = (0..n)
                    .map(|j| format!("\n        {}", elem(r, j)))
                    .collect();
                format!("[{}\n      ]", t.join(","))
            };
            format!("{{\n      \"item_id\": \"sku-{r:07}\",\n      \"{member}\": {list}\n    }}")
        };
        lens.iter().enumerate().map(row).collect()
    }

    /// A content_sim document in the pipeline's layout, with `tags[r]` tags in row `r`.
    fn pipeline_content(tags: &[usize]) -> String {
        let tag = |r: usize, j: usize| format!("\"attr:a{:05}\"", (r * 7 + j * 3) % 11);
        let rows = pipeline_rows(tags, "tags", tag);
        pipeline_doc(ArtifactKind::ContentSim, "items", &rows)
    }

    /// A counted row `{"item_id": .., "count": ..}` as the pipeline writes it with its members
    /// indented by `indent` spaces (its `}` by two fewer).
    fn pipeline_counted(indent: usize, id: usize, count: u64) -> String {
        let (m, c) = (" ".repeat(indent), " ".repeat(indent - 2));
        format!("{{\n{m}\"item_id\": \"sku-{id:07}\",\n{m}\"count\": {count}\n{c}}}")
    }

    /// A popularity document in the pipeline's layout with `n` rows.
    fn pipeline_popularity(n: usize) -> String {
        let rows: Vec<String> = (0..n)
            .map(|r| pipeline_counted(6, r * 13 % 97, [4_948_706, 0, 17, 485][r % 4]))
            .collect();
        pipeline_doc(ArtifactKind::Popularity, "items", &rows)
    }

    /// A co-occurrence document in the pipeline's layout (neighbours' members by ten
    /// spaces), with `neighbours[r]` neighbours in row `r`.
    fn pipeline_cooc(neighbours: &[usize]) -> String {
        let neighbour =
            |r: usize, j: usize| pipeline_counted(10, (r * 7 + j * 3) % 11, 191 - j as u64);
        let rows = pipeline_rows(neighbours, "items", neighbour);
        pipeline_doc(ArtifactKind::Cooc, "neighbors", &rows)
    }

    /// Every byte of `doc`'s rows (from `"<list_key>": [` to the list's `]`) replaced,
    /// removed or preceded by another: the same outcome (columns, hash verdict or refusal)
    /// with and without the layouts, under `lim`. Answers how many replacements left some
    /// of the `rows` rows to the general reader.
    fn every_byte_off(
        doc: &str,
        kind: ArtifactKind,
        list_key: &str,
        rows: usize,
        lim: &ArtifactLimits,
    ) -> usize {
        let rows_at = doc.find(&format!("\"{list_key}\": [")).unwrap();
        let rows_end = match doc.find("\n  ],") {
            Some(e) => e + 4,
            None => doc.find(" ], \"build\"").unwrap() + 2,
        };
        let mut fell_back = 0;
        for p in rows_at..rows_end {
            for c in [
                b' ', b'\t', b'\n', b'\r', b'"', b'x', b'\\', b',', b':', b']', b'}', b'[', b'{',
                b'0', b'7', b'-', b'.', b'e',
            ] {
                let mut v = doc.to_string().into_bytes();
                v[p] = c;
                let (_, n) = agree(&v, kind, lim);
                fell_back += usize::from(n < rows);
                v.insert(p, c);
                agree(&v, kind, lim);
            }
            let mut v = doc.to_string().into_bytes();
            v.remove(p);
            agree(&v, kind, lim);
        }
        fell_back
    }

    /// `doc` as `json::embedded` writes it when it comes embedded as a string: each line break
    /// with its indentation as one space.
    fn compacted(doc: &str) -> String {
        let mut lit = String::new();
        crate::json::write_go_string(&mut lit, doc);
        let out = crate::json::embedded::embedded_document(&lit, usize::MAX).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains('\n') && out.len() < doc.len(), "{out}");
        out
    }

    /// `doc` read with the row layouts (see [`agree`]) and the general steps the rows took
    /// between their strings, for `doc` and for its compacted copy, which must take the same
    /// (the compacted separators taken by one compare each as the pipeline's are).
    fn compacted_takes_the_same_steps(doc: &str, kind: ArtifactKind) {
        let steps = |d: &str| {
            let before = super::super::rows::general_steps();
            agree(d.as_bytes(), kind, &ArtifactLimits::default());
            super::super::rows::general_steps() - before
        };
        let (pipeline, compact) = (steps(doc), steps(&compacted(doc)));
        assert_eq!(compact, pipeline, "{kind:?}");
    }

    #[test]
    fn compacted_rows_take_the_same_steps_as_the_pipelines() {
        compacted_takes_the_same_steps(&pipeline_content(&[2, 0, 1, 3]), ArtifactKind::ContentSim);
        compacted_takes_the_same_steps(&pipeline_popularity(4), ArtifactKind::Popularity);
        compacted_takes_the_same_steps(&pipeline_cooc(&[2, 0, 1, 3]), ArtifactKind::Cooc);
    }

    #[test]
    fn content_rows_one_byte_off_the_pipelines_separators_read_the_same() {
        let kind = ArtifactKind::ContentSim;
        let doc = pipeline_content(&[2, 0, 1, 3]);
        let lim = ArtifactLimits::default();
        // As the pipeline writes it, every row is read by the layout.
        let (got, fast_rows) = agree(doc.as_bytes(), kind, &lim);
        assert_eq!(fast_rows, 4);
        assert_eq!(got.unwrap().unwrap().1, 4);
        let limits = (0..4).map(|t| ArtifactLimits {
            max_tags_per_item: t,
            ..ArtifactLimits::default()
        });
        for lim in limits {
            agree(doc.as_bytes(), kind, &lim);
        }
        let fell_back = every_byte_off(&doc, kind, "items", 4, &lim);
        assert!(fell_back > 200, "{fell_back}");
        let doc = compacted(&doc);
        assert_eq!(agree(doc.as_bytes(), kind, &lim).1, 4);
        let fell_back = every_byte_off(&doc, kind, "items", 4, &lim);
        assert!(fell_back > 100, "{fell_back}");
    }

    /// `doc` (4 rows in the pipeline's layout, listed under `list_key`) is read by the
    /// layouts, agrees under the limits `lim(0..4)`, and with every byte of its rows off
    /// (see [`every_byte_off`]) at least `fell_back` times falls back.
    fn four_rows_read_the_same(
        kind: ArtifactKind,
        doc: &str,
        list_key: &str,
        lim: impl Fn(usize) -> ArtifactLimits,
        fell_back: usize,
    ) {
        let all = ArtifactLimits::default();
        let (got, fast_rows) = agree(doc.as_bytes(), kind, &all);
        assert_eq!(fast_rows, 4);
        assert_eq!(got.unwrap().unwrap().1, 4);
        for n in 0..4 {
            agree(doc.as_bytes(), kind, &lim(n));
        }
        let n = every_byte_off(doc, kind, list_key, 4, &all);
        assert!(n > fell_back, "{n}");
        let doc = compacted(doc);
        assert_eq!(agree(doc.as_bytes(), kind, &all).1, 4);
        let n = every_byte_off(&doc, kind, list_key, 4, &all);
        assert!(n > fell_back / 2, "{n}");
    }

    #[test]
    fn popularity_rows_one_byte_off_the_pipelines_separators_read_the_same() {
        let lim = |n| ArtifactLimits {
            max_items: n,
            max_depth: 2 + n,
            ..ArtifactLimits::default()
        };
        let doc = pipeline_popularity(4);
        four_rows_read_the_same(ArtifactKind::Popularity, &doc, "items", lim, 200);
    }

    #[test]
    fn cooc_rows_one_byte_off_the_pipelines_separators_read_the_same() {
        let lim = |n| ArtifactLimits {
            max_neighbors_per_row: n,
            max_depth: 2 + n,
            ..ArtifactLimits::default()
        };
        let doc = pipeline_cooc(&[2, 0, 1, 3]);
        four_rows_read_the_same(ArtifactKind::Cooc, &doc, "neighbors", lim, 300);
    }

    #[test]
    fn fixtures_agree_with_and_without_the_row_layouts() {
        let root =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/artifacts");
        let mut seen = 0;
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let bytes = std::fs::read(&p).unwrap();
                for kind in ArtifactKind::ALL {
                    agree(&bytes, kind, &ArtifactLimits::default());
                }
                seen += 1;
            }
        }
        assert!(seen >= 20, "{seen}");
    }
}
