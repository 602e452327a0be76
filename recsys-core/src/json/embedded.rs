//! JSON documents embedded in a JSON string literal (an artifact handed over as a string in a
//! call's text): the literal unescaped in one pass, with each run of whitespace outside the
//! document's own strings written as one space from its first line break, tab or carriage
//! return on (spaces before it are kept as they are: a single space between tokens costs
//! nothing to copy). The document reads as the same tokens, so it parses to the same values
//! and hashes the same, in less memory and fewer bytes for its reader (an indented artifact
//! is 35-50% indentation).
//!
//! The separators of a layout (`\",\n          \"count\": ` between two values of a row)
//! are read once and then written whole each time they come again ([`separators`]).
//!
//! What the literal holds is exactly what [`super::parse_with`] reads from it (with `\u0000`
//! refused): the same escapes, surrogate pairs and refusals; `tests` checks it against the
//! parser on random and adversarial literals.

use super::scan::{bytes_equal, hex4, space_run, HIGHS, ONES};

mod separators;

/// The document held by the string literal `lit` (its quotes included), with each run of JSON
/// whitespace outside the document's strings written as one space from its first line
/// break, tab or carriage return on (see the module's doc). `None` when the parser
/// refuses the literal (a bad escape, a lone surrogate, `\u0000`, a control byte, no closing
/// quote), when anything follows the closing quote, or when the document as written (before
/// its whitespace runs are shortened) is longer than `max_len` bytes.
#[inline(never)] // one call per literal; inlined into its caller it ran ~11% more instructions
pub(crate) fn embedded_document(lit: &str, max_len: usize) -> Option<Vec<u8>> {
    let b = lit.as_bytes();
    if b.first() != Some(&b'"') {
        return None;
    }
    // The document is never longer than the literal (every escape is longer than what it
    // stands for, and a whitespace run's space stands for at least one byte read): written
    // into one buffer of the literal's length (zeroed pages are not touched until written),
    // eight bytes at a time, then cut to what was written. `o` stays behind `i`.
    let mut out = vec![0u8; b.len()];
    let mut o = 0;
    let mut doc = Lexer::default();
    let mut i = 1;
    loop {
        let c = *b.get(i)?;
        let quote = c == b'\\' && b.get(i + 1) == Some(&b'"');
        if (quote && !doc.escaped) || (c >= 0x20 && c != b'"' && c != b'\\') {
            // Plain bytes and the document's own quotes (`\"`), the bulk of an embedded
            // document, a word at a time (a plain byte ends a document escape).
            o = doc.flush(&mut out, o)?;
            doc.escaped = false;
            (i, o) = doc.quoted_run(b, i, &mut out, o)?;
            continue;
        }
        match c {
            b'"' => break,
            // A quote the document escaped itself (`\\\"` in the literal) does not toggle.
            b'\\' if quote => {
                i += 2;
                o = doc.flush(&mut out, o)?;
                doc.escaped_char(u32::from(b'"'));
                *out.get_mut(o)? = b'"';
                o += 1;
            }
            // A line break with the indentation after it.
            b'\\' if !doc.in_string && b.get(i + 1) == Some(&b'n') => {
                i += 2;
                let n = space_run(b.get(i..)?);
                i += n;
                doc.gap(n + 1);
            }
            b'\\' => {
                let (cp, len) = escape(b, i)?;
                i += len;
                let gap = matches!(cp, 0x09 | 0x0a | 0x0d) || (cp == 0x20 && doc.pending);
                if gap && !doc.in_string {
                    // The gap takes the spaces after it too.
                    let n = space_run(b.get(i..)?);
                    i += n;
                    doc.gap(n + 1);
                    continue;
                }
                o = doc.flush(&mut out, o)?;
                doc.escaped_char(cp);
                o = put_char(&mut out, o, cp)?;
            }
            _ => return None,
        }
    }
    if i + 1 != b.len() {
        return None;
    }
    o = doc.flush(&mut out, o)?;
    if o + doc.dropped > max_len {
        return None;
    }
    out.truncate(o);
    out.shrink_to_fit();
    Some(out)
}

/// Where the document's own lexer stands, and the whitespace it left out.
#[derive(Default)]
struct Lexer {
    /// Inside one of the document's strings.
    in_string: bool,
    /// Inside a string, right after the document's own backslash.
    escaped: bool,
    /// A line break, tab or carriage return outside strings read, and the whitespace after
    /// it: not yet written (as one space).
    pending: bool,
    /// Whitespace bytes left out so far (the document as written is the output plus these).
    dropped: usize,
    /// The layout's separators met so far (see [`separators`]).
    seps: separators::Separators,
}

impl Lexer {
    /// `n` bytes of whitespace outside strings, left out.
    #[inline]
    fn gap(&mut self, n: usize) {
        self.pending = true;
        self.dropped += n;
    }

    /// Writes the pending whitespace run as one space at `out[o]`; the new end.
    #[inline]
    fn flush(&mut self, out: &mut [u8], o: usize) -> Option<usize> {
        if !self.pending {
            return Some(o);
        }
        self.pending = false;
        self.dropped -= 1;
        *out.get_mut(o)? = b' ';
        Some(o + 1)
    }

    /// Follows a character the literal spells as an escape (not whitespace outside strings):
    /// the document's quotes and backslashes open and close its strings.
    #[inline]
    fn escaped_char(&mut self, cp: u32) {
        if !self.in_string {
            self.in_string = cp == u32::from(b'"');
        } else if self.escaped {
            self.escaped = false;
        } else if cp == u32::from(b'\\') {
            self.escaped = true;
        } else if cp == u32::from(b'"') {
            self.in_string = false;
        }
    }
}

/// Writes `cp` as UTF-8 at `out[o]`; the new end.
#[inline]
fn put_char(out: &mut [u8], o: usize, cp: u32) -> Option<usize> {
    if cp < 0x80 {
        *out.get_mut(o)? = cp as u8;
        return Some(o + 1);
    }
    let mut utf8 = [0u8; 4];
    let s = char::from_u32(cp)?.encode_utf8(&mut utf8);
    out.get_mut(o..o + s.len())?.copy_from_slice(s.as_bytes());
    Some(o + s.len())
}

/// Eight bytes of `b` from `i`, if there are eight.
#[inline]
fn word_at(b: &[u8], i: usize) -> Option<[u8; 8]> {
    b.get(i..i + 8).and_then(|w| w.try_into().ok())
}

impl Lexer {
    /// Unescapes from `b[i]` (a byte the literal holds as it is, or the backslash of a `\"`)
    /// into `out` from `o` a stretch of such bytes, `\"` escapes, and line breaks outside the
    /// document's strings whose indentation is followed by more of the same (the pending
    /// space written at once), up to anything else (another escape, the closing quote, a
    /// control byte, the literal's end): where it stopped in `b` and `out`. Eight bytes at a
    /// time: a word whose only backslashes are those of `\"` escapes (no control byte, no
    /// quote of its own; a backslash in its last byte is left for the next word) is written
    /// with each backslash taken out, without leaving the loop; any other word is written up
    /// to its first such byte, and the escape there is read alone. No pending whitespace and
    /// no escape of the document's are open on entry or on return. `o` is behind `i` (`out`
    /// is at least as long as `b`).
    #[inline]
    fn quoted_run(
        &mut self,
        b: &[u8],
        mut i: usize,
        out: &mut [u8],
        mut o: usize,
    ) -> Option<(usize, usize)> {
        while let Some(w) = word_at(b, i) {
            let x = u64::from_le_bytes(w);
            // Each mask is exact up to its lowest flag; above it, a borrow flags a byte one
            // above the searched one (`]` over a backslash, `#` over a quote, a space over a
            // control byte). When `quote == slash << 8`, neither mask has such a flag: a `]`
            // flagged over a backslash would need a quote flagged under it, and a `#` over
            // a quote a backslash flagged under it. Otherwise the lowest flag of the three
            // is a true one.
            let slash = bytes_equal(x, b'\\');
            let quote = bytes_equal(x, b'"');
            let control = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
            if control == 0 && quote == slash << 8 {
                // Each backslash is followed by its quote (a backslash in the last byte, by
                // a byte of the next word: left for it). Taken out lowest first, the bytes
                // above (and the backslashes left) moving down by one.
                let last = (slash >> 63) as usize;
                let (mut y, mut left, mut n) = (x, slash & !(1 << 63), 8 - last);
                while left != 0 {
                    let below = ((left & left.wrapping_neg()) >> 7) - 1;
                    y = (y & below) | ((y >> 8) & !below);
                    left = (left >> 8) & !below;
                    n -= 1;
                    self.in_string = !self.in_string;
                }
                // The whole word is written; what follows the `n` bytes is written over later.
                out.get_mut(o..o + 8)?.copy_from_slice(&y.to_le_bytes());
                (i, o) = (i + 8 - last, o + n);
                continue;
            }
            let first = ((slash | quote | control).trailing_zeros() / 8) as usize;
            out.get_mut(o..o + 8)?.copy_from_slice(&w);
            (i, o) = (i + first, o + first);
            if (slash >> (first * 8)) & 0x80 == 0 {
                return Some((i, o));
            }
            if let Some((next, written)) = self.separator(i, o, b, out) {
                (i, o) = (next, written);
                continue;
            }
            let (next, written) = self.escape_in_run(b, i, out, o)?;
            if next == i {
                return Some((i, o));
            }
            (i, o) = (next, written);
        }
        while let Some(&c) = b.get(i) {
            if c == b'\\' {
                let (next, written) = self.escape_in_run(b, i, out, o)?;
                if next == i {
                    break;
                }
                (i, o) = (next, written);
                continue;
            }
            if c == b'"' || c < 0x20 {
                break;
            }
            *out.get_mut(o)? = c;
            (i, o) = (i + 1, o + 1);
        }
        Some((i, o))
    }

    /// The escape at `b[i]` (a backslash) inside [`Lexer::quoted_run`], when it is one the run
    /// takes: a `\"`, or a line break outside strings followed by spaces and then a byte the
    /// run takes (written as its one space at once). Where the run goes on in `b` and `out`;
    /// `(i, o)` unchanged when the escape is left to the caller.
    #[inline(always)]
    fn escape_in_run(
        &mut self,
        b: &[u8],
        i: usize,
        out: &mut [u8],
        o: usize,
    ) -> Option<(usize, usize)> {
        match b.get(i + 1) {
            Some(&b'"') => {
                *out.get_mut(o)? = b'"';
                self.in_string = !self.in_string;
                Some((i + 2, o + 1))
            }
            Some(&b'n') if !self.in_string => {
                let n = space_run(b.get(i + 2..)?);
                let j = i + 2 + n;
                let Some(&next) = b.get(j) else {
                    return Some((i, o));
                };
                let goes_on = if next == b'\\' {
                    b.get(j + 1) == Some(&b'"')
                } else {
                    next >= 0x20 && next != b'"'
                };
                if !goes_on {
                    return Some((i, o));
                }
                // `n + 1` bytes of whitespace stand as one space.
                *out.get_mut(o)? = b' ';
                self.dropped += n;
                Some((j, o + 1))
            }
            _ => Some((i, o)),
        }
    }
}

/// The character of the escape at `b[i]` (a backslash) and the escape's length, as the
/// parser reads it; `None` where the parser refuses it.
#[inline]
fn escape(b: &[u8], i: usize) -> Option<(u32, usize)> {
    let c = match *b.get(i + 1)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => return unicode_escape(b, i),
        _ => return None,
    };
    Some((u32::from(c), 2))
}

/// A `\uXXXX` escape at `b[i]`, or a surrogate pair of two; no lone surrogate, no `\u0000`.
fn unicode_escape(b: &[u8], i: usize) -> Option<(u32, usize)> {
    let hi = hex4(b.get(i + 2..i + 6)?).ok()?;
    match hi {
        0 | 0xDC00..=0xDFFF => None,
        0xD800..=0xDBFF => {
            if b.get(i + 6..i + 8)? != b"\\u" {
                return None;
            }
            let lo = hex4(b.get(i + 8..i + 12)?).ok()?;
            (0xDC00..=0xDFFF)
                .contains(&lo)
                .then(|| (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), 12))
        }
        _ => Some((hi, 6)),
    }
}

#[cfg(test)]
mod tests;
