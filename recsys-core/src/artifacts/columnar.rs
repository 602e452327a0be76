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
            self.hasher.update(self.out.as_bytes());
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
        let (limit, kind) = match self.kind {
            ArtifactKind::Implicit | ArtifactKind::SessionSeq => (self.lim.max_users, self.kind),
            k => (self.lim.max_items, k),
        };
        let mut cols = match kind {
            ArtifactKind::Popularity => Build::Pairs(ColStrs::default(), Vec::new()),
            ArtifactKind::ContentSim => Build::Tags(TagColsBuilder::new(0)),
            _ => Build::Rows(RowCols::new(0)),
        };
        let n = r.array(|r, i| {
            if i >= limit || r.peek() != Some(b'{') {
                return Err(bail());
            }
            if i > 0 {
                self.out.push(',');
            }
            match &mut cols {
                Build::Pairs(ids, scores) => self.pop_row(r, ids, scores),
                Build::Rows(rc) => self.keyed_row(r, rc),
                Build::Tags(t) => self.content_row(r, t),
            }?;
            self.flush();
            Ok(())
        })?;
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
    // One per row and neighbour: without the formatting machinery.
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
