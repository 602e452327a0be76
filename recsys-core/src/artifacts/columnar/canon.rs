//! The one pass's canonical text (what the version hash covers) as it is written: bytes in
//! one buffer, strings and counts copied from the input in fixed 16-byte moves.
//!
//! A string in the pipeline's layout stands in the input exactly as Go encodes it (quotes
//! included, see `rows`), so its canonical text is a slice of the input. Copying it as whole
//! 16-byte words, then cutting the buffer back to the string's end, is a few moves with no
//! call and no length-dependent loop for the ids and tags the pipeline writes (up to 14
//! bytes between their quotes). Anything else is written as its Go encoding, as before.

use crate::json::write_go_string;

/// The width of one move.
const MOVE: usize = 16;

/// Appends `b[start..end]` (bytes of the input) to `out`.
///
/// Whole 16-byte words are copied while the input has them, and `out` is cut back to what
/// the range holds: the bytes written past it are overwritten by what comes next. Always
/// inlined: a call costs about what a short id's moves do.
#[inline(always)]
pub(in crate::artifacts) fn copy(out: &mut Vec<u8>, b: &[u8], start: usize, end: usize) {
    let n = end - start;
    let at = out.len();
    let mut k = 0;
    while k < n {
        let Some(w) = b.get(start + k..start + k + MOVE) else {
            // Near the input's end: the rest as it is.
            out.truncate(at + k);
            out.extend_from_slice(&b[start + k..end]);
            return;
        };
        out.extend_from_slice(w);
        k += MOVE;
    }
    out.truncate(at + n);
}

/// Appends `s` as Go encodes a string (printable ASCII without `"`, `\`, `<`, `>` or `&`
/// stands as it is, between quotes).
pub(super) fn go_string(out: &mut Vec<u8>, s: &str) {
    let plain = s
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&'));
    if plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let mut text = String::with_capacity(s.len() + 8);
        write_go_string(&mut text, s);
        out.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;

    #[test]
    fn copies_every_range_of_every_length_at_every_distance_from_the_end() {
        let mut rng = Rng::new(0xc0c0_0016);
        let input: Vec<u8> = (0..80).map(|_| rng.below(256) as u8).collect();
        for start in 0..input.len() {
            for end in start..=input.len() {
                let mut out = b"head".to_vec();
                copy(&mut out, &input, start, end);
                assert_eq!(&out[..4], b"head");
                assert_eq!(&out[4..], &input[start..end], "{start}..{end}");
                // What follows lands right after the range.
                out.push(b'!');
                assert_eq!(out.len(), 4 + end - start + 1);
            }
        }
    }

    #[test]
    fn strings_are_written_as_go_writes_them() {
        let mut rng = Rng::new(0xc0c0_0017);
        let pieces = [
            "a", "sku-1", "<", "&", "\"", "\\", "\u{e9}", "\u{2028}", "\x01", " ", "~",
        ];
        for _ in 0..2000 {
            let s: String = (0..rng.index(6)).map(|_| *rng.pick(&pieces)).collect();
            let mut want = String::new();
            write_go_string(&mut want, &s);
            let mut got = Vec::new();
            go_string(&mut got, &s);
            assert_eq!(got, want.as_bytes(), "{s:?}");
        }
    }
}
