//! The row layouts the pipeline writes, recognised without the general reader: a content row
//! `{"item_id": "…", "tags": ["…", …]}`, a counted row `{"item_id": "…", "count": N}` and a
//! co-occurrence row `{"item_id": "…", "items": [counted, …]}`, with any JSON whitespace
//! between tokens. Between the strings, the separators are compared whole in the pipeline's
//! layout and in the compacted one `json::embedded` writes for a document embedded as a string
//! (each line break with its indentation as one space), chosen by the row's start.
//!
//! A row is taken only when its canonical text (Go's encoding, which the version hash covers)
//! is its tokens copied as they stand: members spelled exactly and in struct order, each once
//! and nothing else; strings of printable ASCII without `"`, `\`, `<`, `>` or `&` (Go writes
//! those escaped, so they never stand as written); counts as plain non-negative integers of
//! at most 18 digits without a leading zero (Go writes the same digits). Anything else (an
//! escape, non-ASCII text, another member, a case-folded or duplicate name, `null`, a sign, a
//! fraction, an exponent, a too-long number, the text ending) answers `None` before anything
//! is written, and the caller reads the row with the general reader from the same place.
//!
//! Scans are linear: every loop advances over the input and stops at its end.

use super::columnar::canon::copy;
use super::stream::skip_ws;
use crate::json::scan::{bytes_equal as equal, HIGHS, ONES};

/// A content row's start in the pipeline's layout (rows indented by four spaces, members by
/// six, tags by eight), through the id's opening quote.
const ROW_OPEN: &[u8] = b"{\n      \"item_id\": \"";
/// From after a content row's id through its first tag's opening quote.
const ROW_TAGS: &[u8] = b",\n      \"tags\": [\n        \"";
/// From after a tag through the next one's opening quote.
const TAG_NEXT: &[u8] = b",\n        \"";
/// From after the last tag through the row's `}`.
const ROW_CLOSE: &[u8] = b"\n      ]\n    }";
/// From after a popularity row's id through its count's first digit.
const POP_COUNT: &[u8] = b",\n      \"count\": ";
/// From after a popularity row's count through the row's `}`.
const POP_CLOSE: &[u8] = b"\n    }";
/// From after a co-occurrence row's id through its first neighbour's id's opening quote.
const COOC_ITEMS: &[u8] = b",\n      \"items\": [\n        {\n          \"item_id\": \"";
/// From after a neighbour's id through its count's first digit.
const NEIGHBOR_COUNT: &[u8] = b",\n          \"count\": ";
/// From after a neighbour's count through the next neighbour's id's opening quote.
const NEIGHBOR_NEXT: &[u8] = b"\n        },\n        {\n          \"item_id\": \"";
/// From after the last neighbour's count through the row's `}`.
const COOC_CLOSE: &[u8] = b"\n        }\n      ]\n    }";

// The same separators in the compacted layout of a document embedded as a string
// (`json::embedded`): each line break with its indentation written as one space.

/// [`ROW_OPEN`], compacted.
const ROW_OPEN_C: &[u8] = b"{ \"item_id\": \"";
/// [`ROW_TAGS`], compacted.
const ROW_TAGS_C: &[u8] = b", \"tags\": [ \"";
/// [`TAG_NEXT`], compacted.
const TAG_NEXT_C: &[u8] = b", \"";
/// [`ROW_CLOSE`], compacted.
const ROW_CLOSE_C: &[u8] = b" ] }";
/// [`POP_COUNT`] and [`NEIGHBOR_COUNT`], compacted.
const COUNT_C: &[u8] = b", \"count\": ";
/// [`POP_CLOSE`], compacted.
const POP_CLOSE_C: &[u8] = b" }";
/// [`COOC_ITEMS`], compacted.
const COOC_ITEMS_C: &[u8] = b", \"items\": [ { \"item_id\": \"";
/// [`NEIGHBOR_NEXT`], compacted.
const NEIGHBOR_NEXT_C: &[u8] = b" }, { \"item_id\": \"";
/// [`COOC_CLOSE`], compacted.
const COOC_CLOSE_C: &[u8] = b" } ] }";

#[cfg(test)]
thread_local! {
    /// Test only: how many general steps (between a row's strings) this thread's cursors took.
    static GENERAL_STEPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Test only: how many general steps this thread's cursors have taken so far.
#[cfg(test)]
pub(super) fn general_steps() -> usize {
    GENERAL_STEPS.with(|c| c.get())
}

/// Counts a general step (test builds only).
#[inline(always)]
fn general_step() {
    #[cfg(test)]
    GENERAL_STEPS.with(|c| c.set(c.get() + 1));
}

/// The high bit of each byte of `x` that ends a plain string or makes it not plain (exact up
/// to the first such byte): `"`, `&` (0x22 and 0x26 differ in bit 2), `<`, `>` (0x3c and
/// 0x3e differ in bit 1), `\`, control bytes, DEL and every byte at or above 0x80.
#[inline(always)]
fn stops(x: u64) -> u64 {
    let quote_amp = equal(x & !(ONES * 0x04), b'"');
    let angles = equal(x & !(ONES * 0x02), b'<');
    let backslash = equal(x, b'\\');
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    // Adding one to the low seven bits carries into the high bit only from DEL (0x7f).
    let high_or_del = (((x & !HIGHS) + ONES) | x) & HIGHS;
    quote_amp | angles | backslash | control | high_or_del
}

/// Whether Go writes byte `c` of a string as it stands.
#[inline]
fn plain_byte(c: u8) -> bool {
    (0x20..0x7f).contains(&c) && !matches!(c, b'"' | b'\\' | b'<' | b'>' | b'&')
}

/// The offset of the first byte of `b` that is not plain (see [`stops`]); `b.len()` if none.
///
/// The first 16 bytes (every id and tag the pipeline writes, with its closing quote) are
/// read as two words without a loop.
#[inline(always)]
pub(super) fn plain_len(b: &[u8]) -> usize {
    let Some(w) = b.first_chunk::<16>() else {
        return plain_len_words(b);
    };
    let lo = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    let m = stops(lo);
    if m != 0 {
        return (m.trailing_zeros() / 8) as usize;
    }
    let hi = u64::from_le_bytes([w[8], w[9], w[10], w[11], w[12], w[13], w[14], w[15]]);
    let m = stops(hi);
    if m != 0 {
        return 8 + (m.trailing_zeros() / 8) as usize;
    }
    16 + plain_len_words(&b[16..])
}

/// [`plain_len`] a word at a time, then a byte at a time.
#[inline(never)]
fn plain_len_words(b: &[u8]) -> usize {
    let mut i = 0;
    while let Some(w) = b.get(i..i + 8) {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let m = stops(x);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if !plain_byte(c) {
            return i;
        }
        i += 1;
    }
    b.len()
}

/// A string's text in the input, quotes excluded: `b[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
}

/// A counted row read by [`Cursor::counted`]: its id, its count and the count's digits.
#[derive(Clone, Copy, Debug)]
pub(super) struct Counted {
    pub(super) id: Span,
    pub(super) count: i64,
    pub(super) digits: Span,
}

/// A position in the input; rows are read forward from it.
pub(super) struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
    /// The row's start was taken by [`ROW_OPEN_C`]: its other separators are compared with
    /// the compacted ones.
    compact: bool,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(b: &'a [u8], i: usize) -> Cursor<'a> {
        Cursor {
            b,
            i,
            compact: false,
        }
    }

    /// Where the cursor is (after the last row read).
    pub(super) fn at(&self) -> usize {
        self.i
    }

    #[inline(always)]
    fn ws(&mut self) {
        self.i = skip_ws(self.b, self.i);
    }

    /// The next token is the byte `c`.
    #[inline(always)]
    fn byte(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// The next tokens are the member name `quoted` (quotes included) and `:`.
    #[inline(always)]
    fn key(&mut self, quoted: &[u8]) -> Option<()> {
        self.ws();
        if !self.b.get(self.i..)?.starts_with(quoted) {
            return None;
        }
        self.i += quoted.len();
        self.byte(b':')
    }

    /// The next bytes are exactly `s` (the pipeline's separator with its whitespace): moves
    /// past them and answers `true`; otherwise the cursor is unchanged.
    #[inline(always)]
    fn lit(&mut self, s: &[u8]) -> bool {
        let hit = self.b.get(self.i..self.i + s.len()) == Some(s);
        if hit {
            self.i += s.len();
        }
        hit
    }

    /// [`Cursor::lit`] with the separator `pipeline` or, when the row's start was compacted,
    /// `compacted`.
    #[inline(always)]
    fn sep(&mut self, pipeline: &[u8], compacted: &[u8]) -> bool {
        if self.compact {
            self.lit(compacted)
        } else {
            self.lit(pipeline)
        }
    }

    /// A plain string whose opening quote is read: its text and closing quote.
    #[inline(always)]
    fn plain_rest(&mut self) -> Option<Span> {
        let start = self.i;
        let end = start + plain_len(self.b.get(start..)?);
        if self.b.get(end) != Some(&b'"') {
            return None;
        }
        self.i = end + 1;
        Some(Span { start, end })
    }

    /// The next token is a plain non-negative integer of at most `max_len` (and 18) digits:
    /// its value and its digits (Go writes the same ones).
    #[inline]
    fn count(&mut self, max_len: usize) -> Option<(i64, Span)> {
        self.ws();
        let start = self.i;
        let mut v: i64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v * 10 + i64::from(c - b'0');
            self.i += 1;
            if self.i - start > 18 {
                return None;
            }
        }
        let len = self.i - start;
        let leading_zero = len > 1 && self.b.get(start) == Some(&b'0');
        let more = matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'));
        if len == 0 || len > max_len || leading_zero || more {
            return None;
        }
        Some((v, Span { start, end: self.i }))
    }

    /// The next tokens open a list: `[`, then `]` (answers `false`, the list is empty and
    /// read) or anything else (`true`: an element comes next).
    #[inline(always)]
    fn list_open(&mut self) -> Option<bool> {
        self.byte(b'[')?;
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(false);
        }
        Some(true)
    }

    /// After a list's element: `,` (answers `true`: another element comes) or `]` (`false`:
    /// the list is read).
    #[inline(always)]
    fn list_next(&mut self) -> Option<bool> {
        self.ws();
        let more = match self.b.get(self.i) {
            Some(b',') => true,
            Some(b']') => false,
            _ => return None,
        };
        self.i += 1;
        Some(more)
    }

    /// A content row at the cursor; its tags are appended to `tags` and its canonical text (its
    /// tokens as they stand) to `out`, both left as they were when the row is refused. Answers
    /// its id.
    #[inline(always)]
    pub(super) fn content_row(
        &mut self,
        max_tags: usize,
        tags: &mut Vec<Span>,
        out: &mut Vec<u8>,
    ) -> Option<Span> {
        let (mark, first) = (out.len(), tags.len());
        let got = self.content_row_canon(max_tags, tags, out);
        if got.is_none() {
            out.truncate(mark);
            tags.truncate(first);
        }
        got
    }

    /// [`Cursor::content_row`], leaving what it wrote on a refusal. The same grammar as
    /// `{"item_id": <id>, "tags": [...]}` with plain string elements, written out as one loop (no
    /// call per tag) that copies each tag as it is read. Between the strings, the pipeline's
    /// exact separators ([`ROW_OPEN`], [`ROW_TAGS`], [`TAG_NEXT`], [`ROW_CLOSE`]) are taken
    /// by one compare each; when the bytes differ, the general steps read the same tokens
    /// from the same place.
    #[inline(always)]
    fn content_row_canon(
        &mut self,
        max_tags: usize,
        tags: &mut Vec<Span>,
        out: &mut Vec<u8>,
    ) -> Option<Span> {
        let first = tags.len();
        let id = self.row_id()?;
        out.extend_from_slice(b"{\"item_id\":");
        copy(out, self.b, id.start - 1, id.end + 1);
        out.extend_from_slice(b",\"tags\":[");
        // `more`: a tag's opening quote is read and its text comes next.
        let mut more = self.sep(ROW_TAGS, ROW_TAGS_C) || self.tags_open()?;
        if !more {
            out.push(b']');
            self.byte(b'}')?;
        }
        while more {
            if tags.len() - first >= max_tags {
                return None;
            }
            let tag = self.plain_rest()?;
            copy(out, self.b, tag.start - 1, tag.end + 1);
            tags.push(tag);
            if self.sep(TAG_NEXT, TAG_NEXT_C) {
                out.push(b',');
                continue;
            }
            more = !self.sep(ROW_CLOSE, ROW_CLOSE_C) && self.tag_next()?;
            out.push(if more { b',' } else { b']' });
        }
        out.push(b'}');
        Some(id)
    }

    /// A row's `{` and its `item_id` member: its id (plain, non-empty), the row's start taken
    /// by one compare ([`ROW_OPEN`]) when it is in the pipeline's layout, or by a second
    /// ([`ROW_OPEN_C`]) when it is compacted, which sets the separators for the rest of the row.
    #[inline(always)]
    fn row_id(&mut self) -> Option<Span> {
        self.compact = false;
        if !self.lit(ROW_OPEN) {
            self.compact = self.lit(ROW_OPEN_C);
            if !self.compact {
                self.id_open()?;
            }
        }
        self.plain_rest().filter(|s| s.end > s.start)
    }

    /// By the general steps: an object's `{`, its `item_id` member's name and `:`, and the
    /// id's opening quote.
    #[inline(never)]
    fn id_open(&mut self) -> Option<()> {
        general_step();
        self.byte(b'{')?;
        self.key(b"\"item_id\"")?;
        self.byte(b'"')
    }

    /// After a counted row's id: the `count` member (its `,`, name and `:` taken by one
    /// compare with `sep` when they are laid out so) and its digits.
    #[inline(always)]
    fn count_member(&mut self, sep: &[u8], max_len: usize) -> Option<(i64, Span)> {
        if !self.sep(sep, COUNT_C) {
            self.count_key()?;
        }
        self.count(max_len)
    }

    /// By the general steps: `,`, the `count` member's name and `:`.
    #[inline(never)]
    fn count_key(&mut self) -> Option<()> {
        general_step();
        self.byte(b',')?;
        self.key(b"\"count\"")
    }

    /// `,`, the member name `quoted` and `:`, and the list's opening (see
    /// [`Cursor::list_open`]).
    #[inline(always)]
    fn list_member(&mut self, quoted: &[u8]) -> Option<bool> {
        self.byte(b',')?;
        self.key(quoted)?;
        self.list_open()
    }

    /// After a content row's id, by the general steps: `,`, the `tags` member and its list's
    /// `[`; answers `true` with the first tag's opening quote read, `false` with the empty
    /// list read.
    #[inline(never)]
    fn tags_open(&mut self) -> Option<bool> {
        general_step();
        if !self.list_member(b"\"tags\"")? {
            return Some(false);
        }
        self.byte(b'"')?;
        Some(true)
    }

    /// After a content row's tag, by the general steps: `,` and the next tag's opening quote
    /// (answers `true`), or `]` and the row's `}` (`false`).
    #[inline(never)]
    fn tag_next(&mut self) -> Option<bool> {
        general_step();
        if self.list_next()? {
            self.byte(b'"')?;
            return Some(true);
        }
        self.byte(b'}')?;
        Some(false)
    }

    /// A counted row (popularity) at the cursor; its separators in the pipeline's layout
    /// ([`ROW_OPEN`], [`POP_COUNT`], [`POP_CLOSE`]) are taken by one compare each, the general
    /// steps from the same place when a byte differs.
    #[inline(always)]
    pub(super) fn counted(&mut self, max_len: usize) -> Option<Counted> {
        let id = self.row_id()?;
        let (count, digits) = self.count_member(POP_COUNT, max_len)?;
        if !self.sep(POP_CLOSE, POP_CLOSE_C) {
            self.byte(b'}')?;
        }
        Some(Counted { id, count, digits })
    }

    /// A co-occurrence row at the cursor; its neighbours go to `items` (cleared first).
    /// Answers its anchor id. The grammar of a row `{"item_id": <id>, "items": [...]}` whose
    /// elements are counted rows, written out as one loop; between the tokens, the pipeline's
    /// exact separators ([`ROW_OPEN`], [`COOC_ITEMS`], [`NEIGHBOR_COUNT`], [`NEIGHBOR_NEXT`],
    /// [`COOC_CLOSE`]) are taken by one compare each, the general steps from the same place
    /// when a byte differs.
    pub(super) fn cooc_row(
        &mut self,
        max_neighbors: usize,
        max_len: usize,
        items: &mut Vec<Counted>,
    ) -> Option<Span> {
        items.clear();
        let key = self.row_id()?;
        // `more`: a neighbour's id's opening quote is read and its text comes next.
        let mut more = self.sep(COOC_ITEMS, COOC_ITEMS_C) || self.items_open()?;
        if !more {
            self.byte(b'}')?;
        }
        while more {
            if items.len() >= max_neighbors {
                return None;
            }
            let id = self.plain_rest().filter(|s| s.end > s.start)?;
            let (count, digits) = self.count_member(NEIGHBOR_COUNT, max_len)?;
            items.push(Counted { id, count, digits });
            if self.sep(NEIGHBOR_NEXT, NEIGHBOR_NEXT_C) {
                continue;
            }
            more = !self.sep(COOC_CLOSE, COOC_CLOSE_C) && self.neighbor_next()?;
        }
        Some(key)
    }

    /// After a co-occurrence row's id, by the general steps: `,`, the `items` member and its
    /// list's `[`; answers `true` with the first neighbour read through its id's opening
    /// quote, `false` with the empty list read.
    #[inline(never)]
    fn items_open(&mut self) -> Option<bool> {
        general_step();
        if !self.list_member(b"\"items\"")? {
            return Some(false);
        }
        self.id_open()?;
        Some(true)
    }

    /// After a neighbour's count, by the general steps: its `}`, then `,` and the next
    /// neighbour through its id's opening quote (answers `true`), or `]` and the row's `}`
    /// (`false`).
    #[inline(never)]
    fn neighbor_next(&mut self) -> Option<bool> {
        general_step();
        self.byte(b'}')?;
        if self.list_next()? {
            self.id_open()?;
            return Some(true);
        }
        self.byte(b'}')?;
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_len_finds_the_first_byte_go_would_not_write_as_it_stands() {
        let mut gen = crate::tests::rng::Rng::new(0x9e37_79b9_7f4a_7c15);
        let odd = b"\"\\<>&\x00\x1f\x7f\x80\xc3\xff !~;=?%'";
        for _ in 0..6000 {
            let len = gen.index(40);
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    if gen.chance(120) {
                        odd[gen.index(odd.len())]
                    } else if gen.chance(30) {
                        gen.below(256) as u8
                    } else {
                        b'a' + gen.below(26) as u8
                    }
                })
                .collect();
            for from in 0..b.len().min(9) {
                let rest = &b[from..];
                let want = rest
                    .iter()
                    .position(|&c| !plain_byte(c))
                    .unwrap_or(rest.len());
                assert_eq!(plain_len(rest), want, "{rest:?}");
            }
        }
        for c in 0..=255u8 {
            let want = (0x20..0x7f).contains(&c) && !b"\"\\<>&".contains(&c);
            assert_eq!(plain_byte(c), want, "{c}");
            for at in 0..8 {
                let mut w = [b'a'; 8];
                w[at] = c;
                assert_eq!(plain_len(&w), if want { 8 } else { at }, "{c} at {at}");
            }
        }
    }

    /// A content row read from `text`, with its canonical text checked: the row's tokens
    /// without the whitespace between them (none of these rows has a space in a string), or
    /// nothing written when it is refused.
    fn content(text: &str, max_tags: usize) -> Option<(String, Vec<String>, usize)> {
        // The tags of an earlier row: kept, and the row's own appended after them.
        let earlier = Span { start: 7, end: 9 };
        let mut tags = vec![earlier];
        let mut c = Cursor::new(text.as_bytes(), 0);
        let mut out = b"before".to_vec();
        let got = c.content_row(max_tags, &mut tags, &mut out);
        assert_eq!(tags.first(), Some(&earlier), "{text:?}");
        let tags = tags.split_off(1);
        let Some(id) = got else {
            assert_eq!(out, b"before", "{text:?}");
            assert_eq!(tags, [], "{text:?}");
            return None;
        };
        let tokens: Vec<u8> = text.as_bytes()[..c.at()]
            .iter()
            .copied()
            .filter(|b| !b" \t\r\n".contains(b))
            .collect();
        assert_eq!(out[6..], tokens[..], "{text:?}");
        let s = |sp: Span| text[sp.start..sp.end].to_string();
        Some((s(id), tags.into_iter().map(s).collect(), c.at()))
    }

    #[test]
    fn content_rows_in_the_pipeline_layout_are_read_and_anything_else_is_refused() {
        let row =
            "{\n  \"item_id\": \"sku-1\",\n  \"tags\": [\n    \"brand:b1\",\n    \"x\"\n  ]\n},";
        let (id, tags, at) = content(row, 10).unwrap();
        assert_eq!((id.as_str(), at), ("sku-1", row.len() - 1));
        assert_eq!(tags, ["brand:b1", "x"]);
        let compact = r#"{"item_id":"a","tags":[]}"#;
        assert_eq!(content(compact, 0).unwrap().1.len(), 0);
        assert!(content(" \t\r\n{\"item_id\" :\"a\" , \"tags\":[ \"\" ] }", 1).is_some());
        for refused in [
            r#"{"item_id":"a","tags":["x"]"#,
            r#"{"item_id":"a","tags":["x"],}"#,
            r#"{"item_id":"a","tags":["x",]}"#,
            r#"{"item_id":"a","tags":["x"],"tags":["y"]}"#,
            r#"{"tags":["x"],"item_id":"a"}"#,
            r#"{"Item_id":"a","tags":["x"]}"#,
            r#"{"item_id":"a","tags":null}"#,
            r#"{"item_id":null,"tags":[]}"#,
            r#"{"item_id":"","tags":[]}"#,
            r#"{"item_id":"a\"b","tags":[]}"#,
            r#"{"item_id":"a","tags":["x\u0041"]}"#,
            r#"{"item_id":"a<b","tags":[]}"#,
            r#"{"item_id":"a","tags":["&"]}"#,
            "{\"item_id\":\"é\",\"tags\":[]}",
            "{\"item_id\":\"a\",\"tags\":[\"\x7f\"]}",
            "{\"item_id\":\"a\",\"tags\":[\"\x01\"]}",
            r#"{"item_id":"a","tags":[1]}"#,
            r#"{"item_id":"a","x":1,"tags":[]}"#,
            r#"{"item_id":"a","tags":["x","y","z"]}"#,
            r#"{"item_id":"a","tags":["x""y"]}"#,
            "{\"item_id\":\"a\",\"tags\":[\"x\"]\u{a0}}",
            "{\"item_id\":\"a\",\"tags\":[\"x",
            "",
        ] {
            assert_eq!(content(refused, 2), None, "{refused:?}");
        }
    }

    fn counted(text: &str, max_len: usize) -> Option<(String, i64)> {
        let mut c = Cursor::new(text.as_bytes(), 0);
        let got = c.counted(max_len)?;
        let (id, digits) = (got.id, got.digits);
        assert_eq!(text[digits.start..digits.end], got.count.to_string());
        Some((text[id.start..id.end].to_string(), got.count))
    }

    #[test]
    fn counts_are_taken_only_as_go_writes_them() {
        let ok = |t: &str, n: i64| assert_eq!(counted(t, 100), Some(("a".into(), n)), "{t}");
        ok(r#"{"item_id":"a","count":0}"#, 0);
        ok("{ \"item_id\" : \"a\" ,\n \"count\" : 4948706 \n}", 4948706);
        ok(
            r#"{"item_id":"a","count":999999999999999999}"#,
            999_999_999_999_999_999,
        );
        for refused in [
            r#"{"item_id":"a","count":-1}"#,
            r#"{"item_id":"a","count":-0}"#,
            r#"{"item_id":"a","count":01}"#,
            r#"{"item_id":"a","count":1.0}"#,
            r#"{"item_id":"a","count":1e2}"#,
            r#"{"item_id":"a","count":1E2}"#,
            r#"{"item_id":"a","count":1000000000000000000}"#,
            r#"{"item_id":"a","count":9223372036854775808}"#,
            r#"{"item_id":"a","count":}"#,
            r#"{"item_id":"a","count":null}"#,
            r#"{"item_id":"a","count":"1"}"#,
            r#"{"count":1,"item_id":"a"}"#,
            r#"{"item_id":"","count":1}"#,
            r#"{"item_id":"a","count":1,"count":2}"#,
            r#"{"item_id":"a","count":12"#,
        ] {
            assert_eq!(counted(refused, 100), None, "{refused}");
        }
        assert_eq!(counted(r#"{"item_id":"a","count":123}"#, 2), None);
        assert!(counted(r#"{"item_id":"a","count":12}"#, 2).is_some());
    }

    #[test]
    fn cooc_rows_read_their_neighbours_up_to_the_limit() {
        let row = r#"{ "item_id": "a", "items": [ {"item_id":"b","count":3}, {"item_id":"c","count":0} ] }"#;
        let mut items = Vec::new();
        let mut c = Cursor::new(row.as_bytes(), 0);
        let id = c.cooc_row(2, 100, &mut items).unwrap();
        assert_eq!((id.start, id.end, c.at()), (14, 15, row.len()));
        let got: Vec<(&str, i64)> = items
            .iter()
            .map(|c| (&row[c.id.start..c.id.end], c.count))
            .collect();
        assert_eq!(got, [("b", 3), ("c", 0)]);
        assert!(Cursor::new(row.as_bytes(), 0)
            .cooc_row(1, 100, &mut items)
            .is_none());
        let bad = r#"{"item_id":"a","items":[{"item_id":"b","count":3,"x":1}]}"#;
        assert!(Cursor::new(bad.as_bytes(), 0)
            .cooc_row(9, 100, &mut items)
            .is_none());
    }

    #[test]
    fn long_rows_are_read_to_their_end() {
        for n in [1usize, 10, 10_000] {
            let tags: Vec<String> = (0..n).map(|i| format!("\"t{i}\"")).collect();
            let row = format!("{{\"item_id\":\"a\",\"tags\":[{}]}}", tags.join(",  "));
            let (mut got, mut out) = (Vec::new(), Vec::new());
            let mut c = Cursor::new(row.as_bytes(), 0);
            assert!(c.content_row(n, &mut got, &mut out).is_some());
            assert_eq!((got.len(), c.at()), (n, row.len()));
            assert_eq!(out, row.replace(",  ", ",").as_bytes());
        }
    }
}
