//! The artifact decoder used in production: the Go decoding rules of `decode` applied straight
//! to the bytes, without building a JSON tree. Member names are compared in place, and the
//! only allocations are the decoded strings and row vectors.
//!
//! Error precedence matches the tree-based decoder (kept as a test oracle in `oracle`): Go
//! checks the syntax of the whole document before decoding, so whenever streaming fails, the
//! document is re-parsed with [`crate::json::parse_with`] and a syntax error found there wins.

use super::decode::{
    describe_number, finish, float64_of, int64_of, json_limits, key_is, Path, RawEnvelope, R,
};
use super::error::ArtifactError;
use super::model::*;
use super::rows::{Cursor, Span};
use crate::json::scan::{space_run, special};
use crate::json::{parse_with, JsonError, JsonErrorKind};
use std::borrow::Cow;

/// Parses and validates an artifact.
///
/// `expected` is the kind of the slot the blob was referenced from; the body is decoded as
/// that kind and `artifact_type` must equal it. With `None` the kind comes from
/// `artifact_type`.
///
/// Checks, in order (first failure wins): size, JSON syntax and depth, Go-compatible decoding
/// (member types; row limits as arrays are read), `v == 1`, `artifact_type`, non-empty tenant
/// and surface, window (RFC 3339, `end > start`), then per row: non-empty ids, `count >= 0`,
/// `score >= 0`.
///
/// An empty or missing `segment` is accepted (it is then left out of the hash input); the
/// pipeline's own validator refuses it only because its publish key always has a segment.
/// The version hash is checked by [`verify`](super::verify), not here.
pub fn parse_artifact(
    bytes: &[u8],
    expected: Option<ArtifactKind>,
    limits: &ArtifactLimits,
) -> Result<Artifact, ArtifactError> {
    if bytes.len() > limits.max_bytes {
        return Err(ArtifactError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let streamed = match std::str::from_utf8(bytes) {
        Ok(src) => decode(src, expected, limits),
        Err(e) => Err(ArtifactError::Json(JsonError {
            kind: JsonErrorKind::InvalidUtf8,
            offset: e.valid_up_to(),
            path: String::new(),
            message: "invalid utf-8".into(),
        })),
    };
    match streamed {
        Ok((env, body, kind)) => finish(env, body, kind),
        Err(e) => match parse_with(bytes, json_limits(limits)) {
            Err(j) => Err(ArtifactError::Json(j)),
            Ok(_) => Err(e),
        },
    }
}

type Decoded = (RawEnvelope, ArtifactBody, ArtifactKind);

fn decode(src: &str, expected: Option<ArtifactKind>, limits: &ArtifactLimits) -> R<Decoded> {
    if let Some(k) = expected {
        return decode_as(src, Some(k), limits)?.ok_or_else(internal);
    }
    // One speculative pass taking the kind from the first `artifact_type`; it gives up (and the
    // exact two-pass path runs) when a body member comes before it, when a later duplicate
    // changes it, or on any error, so that errors and results are those of the two-pass path.
    if let Ok(Some(done)) = decode_as(src, None, limits) {
        return Ok(done);
    }
    let kind = scan_kind(src, limits)?;
    decode_as(src, Some(kind), limits)?.ok_or_else(internal)
}

/// Never surfaces: `decode_as` with a fixed kind always answers.
fn internal() -> ArtifactError {
    ArtifactError::MissingField {
        path: "$.artifact_type".into(),
    }
}

/// Decodes the document as `fixed`, or speculatively (`None`, see [`decode`]); `Ok(None)` when
/// the speculation does not hold.
fn decode_as(
    src: &str,
    fixed: Option<ArtifactKind>,
    limits: &ArtifactLimits,
) -> R<Option<Decoded>> {
    let mut r = Reader::new(src, limits);
    let mut env = RawEnvelope::default();
    let mut kind = fixed;
    let mut body: Option<ArtifactBody> = None;
    let rp = Path::Root;
    let res = r.begin().and_then(|()| {
        r.dec_obj(&rp, |r, k| {
            match kind {
                Some(kind) if key_is(k, kind.body_key()) => {
                    let b = body.get_or_insert_with(|| ArtifactBody::absent(kind));
                    return dec_body(r, b, &Path::Key(&rp, kind.body_key()), limits);
                }
                None if ["items", "neighbors", "users"]
                    .iter()
                    .any(|bk| key_is(k, bk)) =>
                {
                    return Err(internal());
                }
                _ => {}
            }
            if key_is(k, "artifact_type") {
                r.dec_str(&mut env.artifact_type, &Path::Key(&rp, "artifact_type"))?;
                if kind.is_none() {
                    kind = ArtifactKind::parse(&env.artifact_type);
                }
                Ok(())
            } else {
                dec_envelope_member(r, k, &mut env)
            }
        })?;
        r.end()
    });
    match (res, fixed, kind) {
        (Err(e), Some(_), _) => Err(e),
        (Err(_), None, _) => Ok(None),
        (Ok(()), _, Some(k)) if fixed.is_some() || env.artifact_type == k.as_str() => {
            let body = body.unwrap_or_else(|| ArtifactBody::absent(k));
            Ok(Some((env, body, k)))
        }
        (Ok(()), _, _) => Ok(None),
    }
}

/// Decodes one top-level member of the envelope (`v`, `artifact_type`, `tenant`, `surface`,
/// `segment`, `window`, `build`) into `env`; any other member is skipped.
pub(super) fn dec_envelope_member(r: &mut Reader<'_>, k: &str, env: &mut RawEnvelope) -> R<()> {
    let rp = Path::Root;
    if key_is(k, "v") {
        match r.peek() {
            Some(b'n') => r.null(),
            _ => r.dec_i64(env.v.get_or_insert(0), &Path::Key(&rp, "v")),
        }
    } else if key_is(k, "artifact_type") {
        r.dec_str(&mut env.artifact_type, &Path::Key(&rp, "artifact_type"))
    } else if key_is(k, "tenant") {
        r.dec_str(&mut env.tenant, &Path::Key(&rp, "tenant"))
    } else if key_is(k, "surface") {
        r.dec_str(&mut env.surface, &Path::Key(&rp, "surface"))
    } else if key_is(k, "segment") {
        r.dec_str(&mut env.segment, &Path::Key(&rp, "segment"))
    } else if key_is(k, "window") {
        let wp = Path::Key(&rp, "window");
        r.dec_obj(&wp, |r, k| {
            if key_is(k, "start") {
                r.dec_str(&mut env.start, &Path::Key(&wp, "start"))
            } else if key_is(k, "end") {
                r.dec_str(&mut env.end, &Path::Key(&wp, "end"))
            } else {
                r.skip()
            }
        })
    } else if key_is(k, "build") {
        let bp = Path::Key(&rp, "build");
        let b = &mut env.build;
        r.dec_obj(&bp, |r, k| {
            if key_is(k, "built_at") {
                r.dec_str(&mut b.built_at, &Path::Key(&bp, "built_at"))
            } else if key_is(k, "version") {
                r.dec_str(&mut b.version, &Path::Key(&bp, "version"))
            } else if key_is(k, "source_hash") {
                r.dec_str(&mut b.source_hash, &Path::Key(&bp, "source_hash"))
            } else {
                r.skip()
            }
        })
    } else {
        r.skip()
    }
}

/// The kind named by `artifact_type` (last non-null matching member), for `expected == None`.
fn scan_kind(src: &str, limits: &ArtifactLimits) -> R<ArtifactKind> {
    let mut r = Reader::new(src, limits);
    r.begin()?;
    let mut found: Option<Cow<'_, str>> = None;
    let tp = Path::Key(&Path::Root, "artifact_type");
    match r.peek() {
        Some(b'{') => r.object(|r, k| {
            if key_is(k, "artifact_type") {
                match r.peek() {
                    Some(b'"') => {
                        found = Some(r.string()?);
                        Ok(())
                    }
                    Some(b'n') => r.null(),
                    _ => Err(r.wrong(&tp, "a string")),
                }
            } else {
                r.skip()
            }
        })?,
        Some(b'n') => r.null()?,
        _ => return Err(r.wrong(&Path::Root, "an object")),
    }
    r.end()?;
    match found.as_deref() {
        None | Some("") => Err(ArtifactError::MissingField {
            path: "$.artifact_type".into(),
        }),
        Some(s) => ArtifactKind::parse(s).ok_or_else(|| ArtifactError::UnknownKind {
            found: s.to_string(),
        }),
    }
}

fn dec_body(
    r: &mut Reader<'_>,
    body: &mut ArtifactBody,
    p: &Path<'_>,
    lim: &ArtifactLimits,
) -> R<()> {
    match body {
        ArtifactBody::Popularity(b) => r.dec_vec(
            &mut b.items,
            p,
            lim.max_items,
            "rows per artifact",
            dec_counted_pop,
        ),
        ArtifactBody::Cooc(b) => r.dec_vec(
            &mut b.neighbors,
            p,
            lim.max_items,
            "rows per artifact",
            |r, row, p| dec_cooc_row(r, row, p, lim),
        ),
        ArtifactBody::Implicit(ImplicitArtifact { users })
        | ArtifactBody::SessionSeq(SessionSeqArtifact { users }) => {
            r.dec_vec(users, p, lim.max_users, "users", |r, row, p| {
                dec_user_row(r, row, p, lim)
            })
        }
        ArtifactBody::ContentSim(b) => r.dec_vec(
            &mut b.items,
            p,
            lim.max_items,
            "rows per artifact",
            |r, it, p| dec_content_item(r, it, p, lim),
        ),
    }
}

fn dec_counted(r: &mut Reader<'_>, item_id: &mut String, count: &mut i64, p: &Path<'_>) -> R<()> {
    r.dec_obj(p, |r, k| {
        if key_is(k, "item_id") {
            r.dec_str(item_id, &Path::Key(p, "item_id"))
        } else if key_is(k, "count") {
            r.dec_i64(count, &Path::Key(p, "count"))
        } else {
            r.skip()
        }
    })
}

fn dec_counted_pop(r: &mut Reader<'_>, it: &mut PopItem, p: &Path<'_>) -> R<()> {
    dec_counted(r, &mut it.item_id, &mut it.count, p)
}

fn dec_counted_neighbor(r: &mut Reader<'_>, it: &mut CoocNeighbor, p: &Path<'_>) -> R<()> {
    dec_counted(r, &mut it.item_id, &mut it.count, p)
}

fn dec_cooc_row(
    r: &mut Reader<'_>,
    row: &mut CoocRow,
    p: &Path<'_>,
    lim: &ArtifactLimits,
) -> R<()> {
    r.dec_obj(p, |r, k| {
        if key_is(k, "item_id") {
            r.dec_str(&mut row.item_id, &Path::Key(p, "item_id"))
        } else if key_is(k, "items") {
            let ip = Path::Key(p, "items");
            r.dec_vec(
                &mut row.items,
                &ip,
                lim.max_neighbors_per_row,
                "neighbors per row",
                dec_counted_neighbor,
            )
        } else {
            r.skip()
        }
    })
}

fn dec_scored(r: &mut Reader<'_>, it: &mut ScoredItem, p: &Path<'_>) -> R<()> {
    r.dec_obj(p, |r, k| {
        if key_is(k, "item_id") {
            r.dec_str(&mut it.item_id, &Path::Key(p, "item_id"))
        } else if key_is(k, "score") {
            r.dec_f64(&mut it.score, &Path::Key(p, "score"))
        } else {
            r.skip()
        }
    })
}

fn dec_user_row(
    r: &mut Reader<'_>,
    row: &mut UserRow,
    p: &Path<'_>,
    lim: &ArtifactLimits,
) -> R<()> {
    r.dec_obj(p, |r, k| {
        if key_is(k, "user_id") {
            r.dec_str(&mut row.user_id, &Path::Key(p, "user_id"))
        } else if key_is(k, "items") {
            let ip = Path::Key(p, "items");
            r.dec_vec(
                &mut row.items,
                &ip,
                lim.max_items_per_user,
                "items per user",
                dec_scored,
            )
        } else {
            r.skip()
        }
    })
}

fn dec_content_item(
    r: &mut Reader<'_>,
    it: &mut ContentItem,
    p: &Path<'_>,
    lim: &ArtifactLimits,
) -> R<()> {
    r.dec_obj(p, |r, k| {
        if key_is(k, "item_id") {
            r.dec_str(&mut it.item_id, &Path::Key(p, "item_id"))
        } else if key_is(k, "tags") {
            let tp = Path::Key(p, "tags");
            r.dec_vec(
                &mut it.tags,
                &tp,
                lim.max_tags_per_item,
                "tags per item",
                |r, t, p| r.dec_str(t, p),
            )
        } else {
            r.skip()
        }
    })
}

/// The offset of the first byte at or after `i` that is not JSON whitespace.
///
/// A token right at `i`, one space before a token, and the pipeline's indentation (a line
/// break, then up to 15 spaces, then a token), are decided within one 17-byte window: the spaces are verified by comparing
/// two words, and the byte after them must be above the space (no whitespace). Anything else
/// goes to [`skip_ws_run`], from the first byte not yet known to be whitespace.
#[inline(always)]
pub(super) fn skip_ws(b: &[u8], i: usize) -> usize {
    const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
    let Some(w) = b.get(i..).and_then(|r| r.first_chunk::<17>()) else {
        return skip_ws_run(b, i);
    };
    if w[0] > b' ' {
        return i;
    }
    if w[0] != b'\n' {
        // One space before a token (after a member's `:`), or any other whitespace.
        return if w[0] == b' ' && w[1] > b' ' {
            i + 1
        } else {
            skip_ws_run(b, i)
        };
    }
    let lo = u64::from_le_bytes([w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]]) ^ SPACES;
    let hi = u64::from_le_bytes([w[9], w[10], w[11], w[12], w[13], w[14], w[15], w[16]]) ^ SPACES;
    // The spaces after the line break: whole bytes equal to a space, counted from the low end.
    let run = if lo != 0 {
        (lo.trailing_zeros() / 8) as usize
    } else if hi != 0 {
        8 + (hi.trailing_zeros() / 8) as usize
    } else {
        16
    };
    match w.get(1 + run) {
        Some(&c) if c > b' ' => i + 1 + run,
        _ => skip_ws_run(b, i + 1 + run),
    }
}

/// [`skip_ws`] for any whitespace: a byte at a time, runs of spaces eight at a time.
#[inline(never)]
fn skip_ws_run(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if c == b' ' {
            // Indentation: a run of spaces, eight at a time.
            i += 1 + space_run(b.get(i + 1..).unwrap_or_default());
        } else if c == b'\n' || c == b'\r' || c == b'\t' {
            i += 1;
        } else {
            break;
        }
    }
    i
}

// ---------------------------------------------------------------------------------------------
// The reader: a validating pull tokenizer with the grammar of `crate::json::parse`.

pub(super) struct Reader<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
    max_depth: usize,
    max_number_len: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(src: &'a str, limits: &ArtifactLimits) -> Reader<'a> {
        let j = json_limits(limits);
        Reader {
            src,
            b: src.as_bytes(),
            i: 0,
            depth: 0,
            max_depth: j.max_depth,
            max_number_len: j.max_number_len,
        }
    }

    /// Reads a row with `read` from the cursor's position when `levels` more levels of nesting
    /// are allowed, and moves past it when `read` answers; otherwise the reader is unchanged.
    #[inline]
    pub(super) fn fast_row<T>(
        &mut self,
        levels: usize,
        read: impl FnOnce(&mut Cursor<'a>, usize) -> Option<T>,
    ) -> Option<T> {
        if self.depth + levels > self.max_depth {
            return None;
        }
        let mut c = Cursor::new(self.b, self.i);
        let got = read(&mut c, self.max_number_len)?;
        self.i = c.at();
        Some(got)
    }

    /// The input's bytes.
    #[inline]
    pub(super) fn bytes(&self) -> &'a [u8] {
        self.b
    }

    /// The text of `s`, quotes excluded.
    #[inline]
    pub(super) fn text(&self, s: Span) -> &'a str {
        self.src.get(s.start..s.end).unwrap_or_default()
    }

    fn json_err(&self, kind: JsonErrorKind, message: &str) -> ArtifactError {
        ArtifactError::Json(JsonError {
            kind,
            offset: self.i,
            path: String::new(),
            message: message.into(),
        })
    }

    fn syntax(&self, message: &str) -> ArtifactError {
        self.json_err(JsonErrorKind::Syntax, message)
    }

    #[inline]
    fn ws(&mut self) {
        self.i = skip_ws(self.b, self.i);
    }

    #[inline]
    pub(super) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    pub(super) fn begin(&mut self) -> R<()> {
        if self.peek().is_none() {
            return Err(self.json_err(JsonErrorKind::Empty, "empty document"));
        }
        Ok(())
    }

    pub(super) fn end(&mut self) -> R<()> {
        if self.peek().is_some() {
            return Err(self.json_err(
                JsonErrorKind::TrailingData,
                "unexpected trailing data after the document",
            ));
        }
        Ok(())
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(self.json_err(JsonErrorKind::TooDeep, "nesting too deep"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn literal(&mut self, word: &[u8]) -> R<()> {
        if self
            .b
            .get(self.i..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.syntax("expected a value"))
        }
    }

    pub(super) fn null(&mut self) -> R<()> {
        self.literal(b"null")
    }

    /// Calls `f` with each member name; `f` must consume the member's value. The reader is at `{`.
    pub(super) fn object(&mut self, mut f: impl FnMut(&mut Self, &str) -> R<()>) -> R<()> {
        self.enter()?;
        self.i += 1;
        if self.peek() == Some(b'}') {
            self.i += 1;
            self.leave();
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected a string key"));
            }
            let key = self.string()?;
            if self.peek() != Some(b':') {
                return Err(self.syntax("expected ':'"));
            }
            self.i += 1;
            f(self, &key)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.syntax("expected ',' or '}'")),
            }
        }
        self.leave();
        Ok(())
    }

    /// Calls `f` with each element index; `f` must consume the element. The reader is at `[`.
    /// Returns the number of elements.
    pub(super) fn array(&mut self, mut f: impl FnMut(&mut Self, usize) -> R<()>) -> R<usize> {
        self.enter()?;
        self.i += 1;
        if self.peek() == Some(b']') {
            self.i += 1;
            self.leave();
            return Ok(0);
        }
        let mut n = 0;
        loop {
            f(self, n)?;
            n += 1;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.syntax("expected ',' or ']'")),
            }
        }
        self.leave();
        Ok(n)
    }

    /// A string token; borrowed from the input unless it has escapes. The reader is at `"`.
    pub(super) fn string(&mut self) -> R<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        self.i += special(self.b.get(self.i..).unwrap_or_default(), true);
        match self.b.get(self.i) {
            Some(b'"') => {
                // Both ends sit next to ASCII quotes, so they are char boundaries.
                let s = self.src.get(start..self.i).unwrap_or_default();
                self.i += 1;
                return Ok(Cow::Borrowed(s));
            }
            Some(b'\\') => {}
            Some(_) => return Err(self.syntax("control character in string")),
            None => return Err(self.syntax("unterminated string")),
        }
        let mut out = String::with_capacity(self.i - start + 16);
        out.push_str(self.src.get(start..self.i).unwrap_or_default());
        loop {
            let run = self.i;
            self.i += special(self.b.get(self.i..).unwrap_or_default(), true);
            out.push_str(self.src.get(run..self.i).unwrap_or_default());
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.syntax("control character in string")),
                None => return Err(self.syntax("unterminated string")),
            }
        }
    }

    /// One escape after the backslash.
    fn escape(&mut self, out: &mut String) -> R<()> {
        let c = match self.b.get(self.i) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.i += 1;
                let hi = self.hex4()?;
                let cp = if (0xD800..0xDC00).contains(&hi) {
                    if self.b.get(self.i) == Some(&b'\\') && self.b.get(self.i + 1) == Some(&b'u') {
                        self.i += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(self.json_err(
                                JsonErrorKind::LoneSurrogate,
                                "lone surrogate in \\u escape",
                            ));
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        return Err(self.json_err(
                            JsonErrorKind::LoneSurrogate,
                            "lone surrogate in \\u escape",
                        ));
                    }
                } else if (0xDC00..0xE000).contains(&hi) {
                    return Err(
                        self.json_err(JsonErrorKind::LoneSurrogate, "lone surrogate in \\u escape")
                    );
                } else {
                    hi
                };
                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                return Ok(());
            }
            _ => return Err(self.syntax("invalid escape")),
        };
        self.i += 1;
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> R<u32> {
        match crate::json::scan::hex4(self.b.get(self.i..).unwrap_or_default()) {
            Ok(v) => {
                self.i += 4;
                Ok(v)
            }
            Err(digits) => {
                self.i += digits;
                Err(self.syntax("expected 4 hex digits in a \\u escape"))
            }
        }
    }

    /// A number token, validated against the JSON grammar. The reader is at `-` or a digit.
    pub(super) fn number(&mut self) -> R<&'a str> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.syntax("expected a digit")),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.syntax("expected a digit after '.'"));
            }
            self.digits();
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.syntax("expected a digit in the exponent"));
            }
            self.digits();
        }
        if self.i - start > self.max_number_len {
            return Err(self.json_err(JsonErrorKind::NumberTooLong, "number literal too long"));
        }
        Ok(self.src.get(start..self.i).unwrap_or("0"))
    }

    #[inline]
    fn digits(&mut self) {
        while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    /// Skips one value, checking its syntax.
    pub(super) fn skip(&mut self) -> R<()> {
        match self.peek() {
            Some(b'{') => self.object(|r, _| r.skip()),
            Some(b'[') => self.array(|r, _| r.skip()).map(|_| ()),
            Some(b'"') => self.string().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            _ => Err(self.syntax("expected a value")),
        }
    }

    /// The type error for the value at the reader (a syntax error if there is no value).
    fn wrong(&mut self, p: &Path<'_>, expected: &'static str) -> ArtifactError {
        let found = match self.peek() {
            Some(b'{') => "object".to_string(),
            Some(b'[') => "array".to_string(),
            Some(b'"') => "string".to_string(),
            Some(b't' | b'f') => "boolean".to_string(),
            Some(b'n') => "null".to_string(),
            Some(b'-' | b'0'..=b'9') => match self.number() {
                Ok(lit) => describe_number(lit),
                Err(e) => return e,
            },
            _ => return self.syntax("expected a value"),
        };
        ArtifactError::WrongType {
            path: p.render(),
            expected,
            found,
        }
    }

    // Go decoding into typed slots: `null` leaves scalars and objects untouched.

    pub(super) fn dec_str(&mut self, slot: &mut String, p: &Path<'_>) -> R<()> {
        match self.peek() {
            Some(b'"') => {
                *slot = self.string()?.into_owned();
                Ok(())
            }
            Some(b'n') => self.null(),
            _ => Err(self.wrong(p, "a string")),
        }
    }

    pub(super) fn dec_i64(&mut self, slot: &mut i64, p: &Path<'_>) -> R<()> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {
                let lit = self.number()?;
                match int64_of(lit) {
                    Some(v) => {
                        *slot = v;
                        Ok(())
                    }
                    None => Err(ArtifactError::WrongType {
                        path: p.render(),
                        expected: "an int64",
                        found: describe_number(lit),
                    }),
                }
            }
            Some(b'n') => self.null(),
            _ => Err(self.wrong(p, "an int64")),
        }
    }

    pub(super) fn dec_f64(&mut self, slot: &mut f64, p: &Path<'_>) -> R<()> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {
                let lit = self.number()?;
                match float64_of(lit) {
                    Some(v) => {
                        *slot = v;
                        Ok(())
                    }
                    None => Err(ArtifactError::WrongType {
                        path: p.render(),
                        expected: "a float64",
                        found: describe_number(lit),
                    }),
                }
            }
            Some(b'n') => self.null(),
            _ => Err(self.wrong(p, "a float64")),
        }
    }

    pub(super) fn dec_obj(
        &mut self,
        p: &Path<'_>,
        f: impl FnMut(&mut Self, &str) -> R<()>,
    ) -> R<()> {
        match self.peek() {
            Some(b'{') => self.object(f),
            Some(b'n') => self.null(),
            _ => Err(self.wrong(p, "an object")),
        }
    }

    /// Go slice decoding: elements decode into the earlier elements of a duplicate member,
    /// the result is cut to this array's length, `null` sets `None`. Reaching element `limit`
    /// is a `LimitExceeded` (the rest is skipped to count it).
    pub(super) fn dec_vec<T: Default>(
        &mut self,
        slot: &mut Option<Vec<T>>,
        p: &Path<'_>,
        limit: usize,
        what: &'static str,
        mut elem: impl FnMut(&mut Self, &mut T, &Path<'_>) -> R<()>,
    ) -> R<()> {
        match self.peek() {
            Some(b'[') => {
                let mut out = slot.take().unwrap_or_default();
                let mut over = false;
                let n = self.array(|r, i| {
                    if over || i >= limit {
                        over = true;
                        return r.skip();
                    }
                    if out.len() <= i {
                        out.push(T::default());
                    }
                    match out.get_mut(i) {
                        Some(e) => elem(r, e, &Path::Idx(p, i)),
                        None => r.skip(),
                    }
                })?;
                if over {
                    return Err(ArtifactError::LimitExceeded {
                        path: p.render(),
                        what,
                        limit,
                        found: n,
                    });
                }
                out.truncate(n);
                *slot = Some(out);
                Ok(())
            }
            Some(b'n') => {
                self.null()?;
                *slot = None;
                Ok(())
            }
            _ => Err(self.wrong(p, "an array")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{skip_ws, Reader};
    use crate::artifacts::ArtifactLimits;
    use crate::json::scan::space_run;

    #[test]
    fn runs_of_spaces_are_counted_exactly_at_every_length_and_alignment() {
        for pre in 0..9 {
            for n in 0..40 {
                for tail in ["", "x", "\n ", "\t", "y        "] {
                    let s = format!("{}{}{tail}", "z".repeat(pre), " ".repeat(n));
                    let b = &s.as_bytes()[pre..];
                    assert_eq!(space_run(b), n, "{s:?}");
                }
            }
        }
    }

    /// `skip_ws` against a byte-at-a-time reference: random mixes of the four whitespace
    /// bytes and long space runs, then a token byte (or a control byte, or nothing), at
    /// every offset, with the text ending anywhere after.
    #[test]
    fn skip_ws_stops_where_a_byte_at_a_time_skip_stops() {
        let reference = |b: &[u8], i: usize| {
            i + b[i..]
                .iter()
                .take_while(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
                .count()
        };
        let mut rng = crate::tests::rng::Rng::new(0x5c1f_0017);
        let pieces: [&[u8]; 10] = [
            b" ",
            b"\n",
            b"\r",
            b"\t",
            b"\n        ",
            b"\n      ",
            b"\n                  ",
            b"\r\n  ",
            b"\n \t",
            b"\n               ",
        ];
        let ends: [&[u8]; 7] = [b"\"", b"}", b"]", b",", b"\x01", b"\x7f", b""];
        for _ in 0..20_000 {
            let mut b = b"xy".to_vec();
            for _ in 0..rng.index(4) {
                b.extend_from_slice(pieces[rng.index(pieces.len())]);
            }
            b.extend_from_slice(ends[rng.index(ends.len())]);
            let pad = rng.index(20);
            b.extend(std::iter::repeat_n(b'a', pad));
            for i in 0..=b.len() {
                let cut = &b[..b.len() - rng.index(b.len() - i + 1)];
                if i <= cut.len() {
                    assert_eq!(skip_ws(cut, i), reference(cut, i), "{cut:?} from {i}");
                }
            }
        }
    }

    /// A `\u` escape with fewer than four hex digits is refused at its first other byte.
    #[test]
    fn short_unicode_escapes_point_at_the_first_byte_that_is_not_a_digit() {
        let lim = ArtifactLimits::default();
        for (text, offset) in [
            (r#""\u12g4""#, 5),
            (r#""\ud83d\ude0x""#, 12),
            ("\"\\u00", 5),
        ] {
            let mut r = Reader::new(text, &lim);
            match r.string() {
                Err(crate::artifacts::ArtifactError::Json(e)) => {
                    assert_eq!(e.offset, offset, "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn whitespace_of_every_kind_is_skipped_between_tokens() {
        let lim = ArtifactLimits::default();
        for ws in [
            "",
            " ",
            "\n",
            " \t\r\n ",
            &" ".repeat(17),
            &"\n        ".repeat(3),
        ] {
            let text = format!("{ws}[{ws}1{ws},{ws}\"a\"{ws}]{ws}");
            let mut r = Reader::new(&text, &lim);
            assert_eq!(r.peek(), Some(b'['), "{text:?}");
            let n = r.array(|r, _| r.skip()).unwrap();
            assert_eq!(n, 2, "{text:?}");
            r.end().unwrap();
        }
    }
}
