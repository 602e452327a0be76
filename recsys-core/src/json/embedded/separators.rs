//! The separators of an embedded document's layout, remembered by the unescaper.
//!
//! A document in a layout (the pipeline's indented artifacts) spells the same few separators
//! between its values again and again: `\",\n          \"count\": ` between a neighbour's id
//! and its count, `\n        },\n        {\n          \"item_id\": \"` between two neighbours. A
//! separator here is a run of `\"` escapes, line breaks outside the document's strings,
//! spaces and the bytes `,:{}[]` that starts at a backslash. The first time one comes it is
//! read byte by byte ([`record`], the unescaper's own rules) and kept in a slot chosen by the
//! sixteen bytes it starts with; each later time the same bytes come (from the same string
//! state, and followed by a byte that ends a whitespace run), what it writes is copied at
//! once. Its text is a function of its bytes and the string state it starts in, so the
//! output is the one the unescaper writes byte by byte; `tests` checks it against the parser.

use super::{word_at, Lexer};

/// Separators remembered, one a slot.
const SLOTS: usize = 64;
/// The longest separator remembered, in literal bytes (a whole number of words).
const SEP_MAX: usize = 64;
/// The shortest one remembered (a word: a shorter one saves less than its lookup costs).
const SEP_MIN: usize = 8;

/// The separators met so far in one literal, by slot (allocated at the first one).
#[derive(Default)]
pub(super) struct Separators {
    slots: Vec<Separator>,
}

/// One remembered separator; `lit_len` 0 when no separator starts with the bytes of `key`
/// (so they are not read again).
#[derive(Clone, Copy)]
struct Separator {
    /// The sixteen bytes it starts with (which may go past its end).
    key: [u64; 2],
    /// Whether it starts inside one of the document's strings, and whether it ends inside one.
    from_string: bool,
    to_string: bool,
    /// Its length in the literal, and its bytes there, eight a word (zero after its end).
    lit_len: usize,
    lit: [u64; SEP_MAX / 8],
    /// What it writes, and how much of `text` that is.
    text_len: usize,
    text: [u8; SEP_MAX],
    /// Whitespace of the document's it leaves out.
    dropped: usize,
}

#[cfg(test)]
thread_local! {
    /// Separators this thread wrote from a slot (tests: the path was taken).
    pub(super) static REPLAYED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether `c` may follow a separator: a byte of the document's that is not whitespace, not a
/// backslash (an escape, which may go on with the separator) and not the literal's closing
/// quote. A whitespace run the separator ends in is then written as its one space, as the
/// next byte would write it, and nothing is read across its end.
#[inline]
fn ends_separator(c: u8) -> bool {
    c > 0x20 && c != b'"' && c != b'\\'
}

/// The slot of the separators that start with the sixteen bytes `key`.
#[inline]
fn slot_of(key: [u64; 2]) -> usize {
    let h = (key[0] ^ key[1].rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 58) as usize % SLOTS
}

impl Separator {
    /// None starts with `key`.
    fn none(key: [u64; 2], from_string: bool) -> Separator {
        Separator {
            key,
            from_string,
            to_string: false,
            lit_len: 0,
            lit: [0; SEP_MAX / 8],
            text_len: 0,
            text: [0; SEP_MAX],
            dropped: 0,
        }
    }

    /// Whether `b` holds this separator from `i` (whose sixteen bytes are its key) followed
    /// by a byte that may end it.
    #[inline(always)]
    fn at(&self, b: &[u8], i: usize) -> bool {
        let n = self.lit_len;
        let mut k = 2;
        while k * 8 < n {
            let Some(w) = word_at(b, i + k * 8) else {
                return false;
            };
            let mut x = u64::from_le_bytes(w) ^ self.lit[k];
            if n < (k + 1) * 8 {
                // The last word, cut to the separator's end.
                x &= (1u64 << ((n - k * 8) * 8)) - 1;
            }
            if x != 0 {
                return false;
            }
            k += 1;
        }
        b.get(i + n).is_some_and(|&c| ends_separator(c))
    }
}

impl Lexer {
    /// The separator at `b[i]` (a backslash, inside [`Lexer::quoted_run`]: no whitespace
    /// pending, no escape of the document's open), written at `out[o]` from its slot, or read
    /// and kept there; where the run goes on in `b` and `out`. `None` when none starts there
    /// (the caller reads the escape itself). Kept out of line: inlined, the run's loop ran
    /// short of registers.
    #[inline(never)]
    pub(super) fn separator(
        &mut self,
        i: usize,
        o: usize,
        b: &[u8],
        out: &mut [u8],
    ) -> Option<(usize, usize)> {
        let key = [
            u64::from_le_bytes(word_at(b, i)?),
            u64::from_le_bytes(word_at(b, i + 8)?),
        ];
        if self.seps.slots.is_empty() {
            self.seps.slots = vec![Separator::none([!0, !0], false); SLOTS];
        }
        let s = self.seps.slots.get_mut(slot_of(key))?;
        let kept = s.key == key && s.from_string == self.in_string;
        if !kept || (s.lit_len != 0 && !s.at(b, i)) {
            *s = record(b, i, key, self.in_string);
        } else {
            #[cfg(test)]
            REPLAYED.with(|n| n.set(n.get() + usize::from(s.lit_len != 0)));
        }
        if s.lit_len == 0 {
            return None;
        }
        // The text is written whole when there is room: what follows it is written over.
        match out.get_mut(o..o + SEP_MAX) {
            Some(w) => w.copy_from_slice(&s.text),
            None => out
                .get_mut(o..o + s.text_len)?
                .copy_from_slice(s.text.get(..s.text_len)?),
        }
        self.dropped += s.dropped;
        self.in_string = s.to_string;
        Some((i + s.lit_len, o + s.text_len))
    }
}

/// Reads the separator at `b[i]` (see the module's doc; `key` its first sixteen bytes) from
/// the string state `from_string`, byte by byte by the unescaper's rules: `\"` writes a quote
/// and flips the state; a line break outside strings and the spaces after it are one space,
/// written before the next byte that is not whitespace; any other byte of `,:{}[] ` is
/// written. None (a separator of length 0) when it is shorter than [`SEP_MIN`] or longer
/// than [`SEP_MAX`] - 2 bytes, holds another escape or a line break inside a string, or is
/// not followed by a byte that may end it.
fn record(b: &[u8], i: usize, key: [u64; 2], from_string: bool) -> Separator {
    let none = Separator::none(key, from_string);
    let mut s = none;
    let mut w = Written::default();
    let mut in_string = from_string;
    let mut j = i;
    loop {
        if j - i > SEP_MAX - 2 {
            return none;
        }
        let Some(&c) = b.get(j) else {
            return none;
        };
        match (c, b.get(j + 1)) {
            (b'\\', Some(b'"')) => {
                w.put(&mut s.text, b'"');
                in_string = !in_string;
                j += 2;
            }
            (b'\\', Some(b'n')) if !in_string => {
                w.pending = true;
                w.dropped += 1;
                j += 2;
            }
            (b'\\', _) => return none,
            (b' ', _) if w.pending => {
                w.dropped += 1;
                j += 1;
            }
            (b' ' | b',' | b':' | b'{' | b'}' | b'[' | b']', _) => {
                w.put(&mut s.text, c);
                j += 1;
            }
            _ => break,
        }
    }
    if j - i < SEP_MIN || !b.get(j).is_some_and(|&c| ends_separator(c)) {
        return none;
    }
    // A run left open is written before the byte that ends the separator.
    w.flush(&mut s.text);
    let Some(lit) = b.get(i..j) else {
        return none;
    };
    for (word, bytes) in s.lit.iter_mut().zip(lit.chunks(8)) {
        let mut x = [0u8; 8];
        x[..bytes.len()].copy_from_slice(bytes);
        *word = u64::from_le_bytes(x);
    }
    Separator {
        to_string: in_string,
        lit_len: j - i,
        text_len: w.len,
        dropped: w.dropped,
        ..s
    }
}

/// What [`record`] wrote so far: its length, a whitespace run not yet written, and the
/// whitespace left out.
#[derive(Default)]
struct Written {
    len: usize,
    pending: bool,
    dropped: usize,
}

impl Written {
    /// Writes the pending run as one space (a byte left out the less).
    fn flush(&mut self, text: &mut [u8; SEP_MAX]) {
        if self.pending {
            self.pending = false;
            self.dropped -= 1;
            self.push(text, b' ');
        }
    }

    /// Writes `c` after the pending run.
    fn put(&mut self, text: &mut [u8; SEP_MAX], c: u8) {
        self.flush(text);
        self.push(text, c);
    }

    /// Never past the text: each byte written stands for at least one read, and a separator
    /// is shorter than the text.
    fn push(&mut self, text: &mut [u8; SEP_MAX], c: u8) {
        if let Some(slot) = text.get_mut(self.len) {
            *slot = c;
            self.len += 1;
        }
    }
}
