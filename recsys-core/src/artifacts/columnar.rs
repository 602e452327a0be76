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
use super::stream::{dec_envelope_member, Reader};
use crate::json::{format_go_float, write_go_string};
use crate::snapshot::TagColsBuilder;
use crate::snapshot::{ColStrs, Columns, RowCols};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

mod split;
#[cfg(test)]
pub(crate) use split::with_min_split;

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
    if bytes.len() > limits.max_bytes {
        return None;
    }
    let src = std::str::from_utf8(bytes).ok()?;
    let mut p = Pass::new(src, kind, limits);
    p.document().ok()?;
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
    out.push_str(",\"build\":{\"built_at\":\"\",\"version\":\"\"}}");
    hasher.update(out.as_bytes());
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
    /// Canonical text not yet hashed.
    out: String,
    hasher: Sha256,
    /// The canonical text of the nested list of the row being read.
    sub: String,
    /// The tail of a split pass (`split`): canonical text is dropped, not hashed.
    discard: bool,
    /// Whether the columns hold every row read as written (no `null` list, no empty tag, no
    /// count beyond 2^53), so that their canonical text can be written from them.
    lossless: bool,
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
            out: String::with_capacity(HASH_CHUNK + 4096),
            hasher: Sha256::new(),
            sub: String::new(),
            discard: false,
            lossless: true,
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
            self.out.push_str("null");
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
        head.write(&mut self.out, self.kind);
        self.at_body = Some(Prefix::of(env));
    }

    /// Hashes what was written once a chunk is full.
    #[inline]
    fn flush(&mut self) {
        if self.out.len() >= HASH_CHUNK {
            if !self.discard {
                self.hasher.update(self.out.as_bytes());
            }
            self.out.clear();
        }
    }

    fn body(&mut self, r: &mut Reader<'a>) -> R<()> {
        match r.peek() {
            Some(b'n') => {
                r.null()?;
                self.out.push_str("null");
                return Ok(());
            }
            Some(b'[') => {}
            _ => return Err(bail()),
        }
        self.out.push('[');
        let limit = match self.kind {
            ArtifactKind::Implicit | ArtifactKind::SessionSeq => self.lim.max_users,
            _ => self.lim.max_items,
        };
        let mut cols = Build::new(self.kind);
        let n = match split::plan(r, self.kind) {
            None => self.rows(r, &mut cols, limit, None)?,
            Some(at) => {
                let (src, kind, lim, depth) = (r.src(), self.kind, self.lim, r.depth() + 1);
                let stop = std::sync::atomic::AtomicBool::new(false);
                std::thread::scope(|s| {
                    let tail = std::thread::Builder::new()
                        .spawn_scoped(s, || split::read_tail(src, at, depth, kind, lim, &stop))
                        .ok()
                        .map(|h| split::Pending::new(at, h, &stop));
                    let n = self.rows(r, &mut cols, limit, tail);
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    n
                })?
            }
        };
        self.out.push(']');
        self.rows = n;
        self.columns = Some(match cols {
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

    /// The rows of the body array (the reader is at its `[`), into `cols`; answers how many.
    /// With a `tail` (a split pass, see `split`), the rows from its offset on are the tail's,
    /// once the head reaches exactly that offset and the tail read them as written.
    fn rows(
        &mut self,
        r: &mut Reader<'a>,
        cols: &mut Build<'a>,
        limit: usize,
        mut tail: Option<split::Pending<'_, 'a>>,
    ) -> R<usize> {
        let mut adopted = 0;
        let start = r.pos();
        let n = r.array(|r, i| {
            if i >= limit || r.peek() != Some(b'{') {
                return Err(bail());
            }
            if i == split::SAMPLE_ROWS {
                if let Some(p) = &tail {
                    // The head ends where the tail starts, which holds about as much again.
                    cols.reserve_scaled(split::scale(p.at - start, r.pos() - start) * 2.0);
                }
            }
            if tail.as_ref().is_some_and(|p| r.pos() >= p.at) {
                if let Some(t) = tail.take().and_then(|p| p.take(r.pos())) {
                    if i + t.rows <= limit {
                        // The tail's rows stand in for the rest: the reader goes to its `]`.
                        adopted = t.rows - 1;
                        r.set_pos(t.end - 1);
                        return self.adopt(cols, t, i > 0);
                    }
                }
            }
            if i > 0 {
                self.out.push(',');
            }
            self.row(r, cols)?;
            self.flush();
            Ok(())
        })?;
        Ok(n + adopted)
    }

    /// One row of the body into `cols` (the reader is at its `{`).
    #[inline]
    fn row(&mut self, r: &mut Reader<'a>, cols: &mut Build<'a>) -> R<()> {
        match cols {
            Build::Pairs(ids, scores) => self.pop_row(r, ids, scores),
            Build::Rows(rc) => self.keyed_row(r, rc),
            Build::Tags(t) => self.content_row(r, t),
        }
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
        let (id, count) = Self::counted(r)?;
        self.lossless &= count <= EXACT_COUNT;
        write_counted(&mut self.out, &id, count);
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
        let mut key: Cow<'a, str> = Cow::Borrowed("");
        let mut seen_items = false;
        let mut exact = true;
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
                    exact = false;
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
                        exact &= c <= EXACT_COUNT;
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
        // A row without `items` is `null` too.
        self.lossless &= exact && seen_items;
        let out = &mut self.out;
        out.push_str(if users {
            "{\"user_id\":"
        } else {
            "{\"item_id\":"
        });
        push_go_string(out, &key);
        out.push_str(",\"items\":");
        out.push_str(&self.sub);
        out.push('}');
        rc.keys.push(&key);
        rc.end_row();
        Ok(())
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
        let limit = self.lim.max_tags_per_item;
        let mut id: Cow<'a, str> = Cow::Borrowed("");
        let mut seen_tags = false;
        let mut exact = true;
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
                    exact = false;
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
                    exact &= !tag.is_empty();
                    push_go_string(sub, &tag);
                    t.push_tag(tag);
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
        self.lossless &= exact && seen_tags;
        let out = &mut self.out;
        out.push_str("{\"item_id\":");
        push_go_string(out, &id);
        out.push_str(",\"tags\":");
        out.push_str(&self.sub);
        out.push('}');
        t.end_item(&id);
        Ok(())
    }
}

/// Columns being filled.
enum Build<'a> {
    Pairs(ColStrs, Vec<f64>),
    Rows(RowCols),
    Tags(TagColsBuilder<'a>),
}

impl Build<'_> {
    fn new(kind: ArtifactKind) -> Self {
        match kind {
            ArtifactKind::Popularity => Build::Pairs(ColStrs::default(), Vec::new()),
            ArtifactKind::ContentSim => Build::Tags(TagColsBuilder::new(0)),
            _ => Build::Rows(RowCols::new(0)),
        }
    }

    /// Makes room for `factor` times what the columns hold.
    fn reserve_scaled(&mut self, factor: f64) {
        match self {
            Build::Pairs(ids, scores) => {
                ids.reserve_scaled(factor);
                crate::snapshot::grow_to(scores, factor);
            }
            Build::Rows(rc) => rc.reserve_scaled(factor),
            Build::Tags(t) => t.reserve_scaled(factor),
        }
    }
}

/// The largest count a column's `f64` holds exactly (counts are written back from it).
const EXACT_COUNT: i64 = 1 << 53;

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

fn write_counted(out: &mut String, id: &str, count: i64) {
    out.push_str("{\"item_id\":");
    push_go_string(out, id);
    out.push_str(",\"count\":");
    crate::json::write_i64(out, count);
    out.push('}');
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
