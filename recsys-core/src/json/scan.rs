//! Structural scans over JSON text that build nothing: where a value ends, found by jumping
//! from one string quote or bracket to the next (`memchr`), without validating what lies
//! between. A caller that needs the value validated hands the range to a validating reader.

use memchr::memchr3;

/// The end (exclusive) of the value starting at `b[start]`; `None` when the text ends first.
///
/// Strings are skipped from quote to quote (a backslash skips the byte after it); objects and
/// arrays by counting brackets outside strings; anything else runs to the next delimiter.
/// Mismatched brackets are not noticed: the range is only as good as the text is JSON.
pub fn value_end(b: &[u8], start: usize) -> Option<usize> {
    match b.get(start)? {
        b'"' => string_end(b, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                // The next quote or bracket (one scan for the quote and the two closers, and
                // openers counted in between).
                let rest = b.get(i..)?;
                let k = i + next_structural(rest)?;
                match b[k] {
                    b'"' => {
                        i = string_end(b, k)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(k + 1);
                        }
                    }
                }
                i = k + 1;
            }
        }
        _ => {
            let mut i = start;
            while let Some(&c) = b.get(i) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                    break;
                }
                i += 1;
            }
            Some(i)
        }
    }
}

/// The offset in `b` of the next `"`, `{`, `}`, `[` or `]`.
#[inline]
fn next_structural(b: &[u8]) -> Option<usize> {
    // `[`/`]` and `{`/`}` differ in one bit (0x5b/0x5d, 0x7b/0x7d): look for the quote and
    // both closers with one scan, and for openers in what the scan passed over.
    let k = memchr3(b'"', b']', b'}', b).unwrap_or(b.len());
    match b[..k].iter().position(|&c| c == b'[' || c == b'{') {
        Some(o) => Some(o),
        None if k < b.len() => Some(k),
        None => None,
    }
}

/// The end (exclusive) of the string whose opening quote is at `b[start]`.
///
/// Eight bytes at a time in one loop with no call per escape: the first quote or backslash
/// of a word is exact; a quote ends the string, a backslash skips the byte after it and the
/// scan resumes past both. `None` when the text ends first (including on a trailing
/// backslash).
#[inline]
pub fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while let Some(w) = b.get(i..i + 8) {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let m = special_word(x, false);
        if m == 0 {
            i += 8;
            continue;
        }
        // The lowest flagged byte is a true match (borrows only run upwards).
        let k = (m.trailing_zeros() / 8) as usize;
        if w[k] == b'"' {
            return Some(i + k + 1);
        }
        i += k + 2;
    }
    // Fewer than eight bytes left: one at a time.
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// A one in each byte of a word.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of each byte of a word.
pub(crate) const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` equal to `c` (exact up to the first such byte; borrows
/// may flag bytes after it).
#[inline]
pub(crate) fn bytes_equal(x: u64, c: u8) -> u64 {
    let y = x ^ (ONES * c as u64);
    y.wrapping_sub(ONES) & !y & HIGHS
}

/// The high bit of each byte of `x` that is a quote or a backslash, or (with `control`) a
/// control character: exact up to the first such byte (borrows may flag bytes after it, so
/// the lowest flag is a true match, and the word is clean exactly when this is zero). The
/// word test of [`special`], [`string_end`] and [`is_plain`].
#[inline(always)]
fn special_word(x: u64, control: bool) -> u64 {
    let mut m = bytes_equal(x, b'"') | bytes_equal(x, b'\\');
    if control {
        // Bytes below 0x20.
        m |= x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    }
    m
}

/// The offset of the first byte of `b` that is a quote or a backslash, or (with `control`) a
/// control character; `b.len()` if none. Eight bytes at a time (no call per run, so cheap on
/// text dense with escapes, such as a document embedded as a string).
#[inline]
pub fn special(b: &[u8], control: bool) -> usize {
    // The high bit of each special byte of the word at `w` (exact up to the first one).
    let flags = |w: &[u8]| {
        special_word(
            u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
            control,
        )
    };
    let mut i = 0;
    while let Some(w) = b.get(i..i + 8) {
        let m = flags(w);
        if m != 0 {
            // The lowest flagged byte is a true match (borrows only run upwards).
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    if i < b.len() && b.len() >= 8 {
        // The tail as the last eight bytes: those before `i` were read clean, so the lowest
        // flagged byte is the first special one at or after `i` (no loop a byte).
        let j = b.len() - 8;
        let m = flags(&b[j..]);
        return if m != 0 {
            j + (m.trailing_zeros() / 8) as usize
        } else {
            b.len()
        };
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || (control && c < 0x20) {
            return i;
        }
        i += 1;
    }
    b.len()
}

/// Whether no byte of `b` is a quote, a backslash or a control character (nothing the
/// minimal escapes rewrite). [`special`] finds where the first such byte is, one branch per
/// eight bytes; this only answers whether there is one: 32 bytes a step with no branch
/// inside (the compiler makes each step a few vector compares; the answers' 64-byte
/// version hashes take two), the last step overlapping the one before; a text under 32
/// bytes is two overlapping blocks of 16 or words of 8.
#[inline]
pub(crate) fn is_plain(b: &[u8]) -> bool {
    if b.len() >= 32 {
        let (blocks, rest) = b.as_chunks::<32>();
        // The last 32 bytes, when the blocks left some (read again in part).
        let tail = if rest.is_empty() {
            0
        } else {
            b.last_chunk::<32>().map_or(1, block)
        };
        return tail == 0 && blocks.iter().all(|c| block(c) == 0);
    }
    if b.len() >= 16 {
        let first = b.first_chunk::<16>().map_or(1, block);
        return first | b.last_chunk::<16>().map_or(1, block) == 0;
    }
    if b.len() >= 8 {
        let word =
            |w: Option<&[u8; 8]>| w.map_or(HIGHS, |w| special_word(u64::from_le_bytes(*w), true));
        return word(b.first_chunk()) | word(b.last_chunk()) == 0;
    }
    b.iter().all(|&c| c >= 0x20 && c != b'"' && c != b'\\')
}

/// Nonzero when a byte of `c` is special (see [`is_plain`]); no branch, so the compiler
/// compares the block's bytes side by side.
#[inline(always)]
fn block<const N: usize>(c: &[u8; N]) -> u8 {
    c.iter().fold(0, |m, &x| {
        m | u8::from(x < 0x20) | u8::from(x == b'"') | u8::from(x == b'\\')
    })
}

/// The number of spaces `b` starts with, eight bytes at a time (indentation, in the artifact
/// reader and in the unescaper of embedded documents).
#[inline]
pub(crate) fn space_run(b: &[u8]) -> usize {
    const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
    let mut n = 0;
    while let Some(w) = b.get(n..n + 8) {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ SPACES;
        if x != 0 {
            return n + (x.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + b
        .get(n..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&c| c == b' ')
        .count()
}

/// The value of the four hex digits (either case) `b` starts with, as in a `\u` escape;
/// when fewer than four lead `b`, how many do (the offset of the first byte that is not
/// one, where the parser and the artifact reader point their error).
#[inline]
pub(crate) fn hex4(b: &[u8]) -> Result<u32, usize> {
    let mut v = 0u32;
    for k in 0..4 {
        match b.get(k).and_then(|&c| char::from(c).to_digit(16)) {
            Some(d) => v = v * 16 + d,
            None => return Err(k),
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex4_reads_four_digits_or_counts_the_leading_ones() {
        assert_eq!(hex4(b"00e9"), Ok(0xe9));
        assert_eq!(hex4(b"D83Dx"), Ok(0xd83d));
        assert_eq!(hex4(b"aBcD"), Ok(0xabcd));
        assert_eq!(hex4(b"12g4"), Err(2));
        assert_eq!(hex4(b"12"), Err(2));
        assert_eq!(hex4(b""), Err(0));
        assert_eq!(hex4(b"\xb5123"), Err(0));
        for v in 0..=0xffffu32 {
            for text in [format!("{v:04x}"), format!("{v:04X}")] {
                assert_eq!(hex4(text.as_bytes()), Ok(v));
            }
        }
    }

    #[test]
    fn finds_the_end_of_every_kind_of_value() {
        let cases: &[(&str, usize)] = &[
            (r#""abc" ,"#, 5),
            (r#""a\"b\\" x"#, 8),
            (r#"{"a": [1, {"b": "}]"}], "c": "\""} tail"#, 34),
            ("[[], {}, [[]]],", 14),
            ("123.5e3, 4", 7),
            ("true}", 4),
            ("null", 4),
        ];
        for (text, end) in cases {
            assert_eq!(value_end(text.as_bytes(), 0), Some(*end), "{text}");
        }
    }

    #[test]
    fn special_finds_the_first_quote_backslash_or_control_byte() {
        let mut gen = crate::tests::rng::Rng::new(0x2545_f491_4f6c_dd1d);
        let alphabet = b"ab\"\\\x01\x1f \x7f\x80\xff\xe9~";
        for _ in 0..4000 {
            let rng = gen.next_u64();
            let len = (rng % 40) as usize;
            let b: Vec<u8> = (0..len)
                .map(|i| {
                    let r = rng.rotate_left(i as u32 * 5);
                    // Mostly plain bytes, so runs are long enough for the word loop.
                    if r.is_multiple_of(5) {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    } else {
                        b'a' + (r >> 8) as u8 % 26
                    }
                })
                .collect();
            for control in [false, true] {
                let want = b
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\' || (control && c < 0x20))
                    .unwrap_or(b.len());
                assert_eq!(special(&b, control), want, "{b:?} {control}");
            }
        }
    }

    /// Every length and position, so that each special byte is met by the word loop, by the
    /// overlapping last word and by the byte loop of short texts; a second special byte
    /// after the first (borrows may flag it) must not be reported instead.
    #[test]
    fn special_finds_a_byte_at_every_position_of_every_length() {
        for len in 0..41usize {
            let clean: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for control in [false, true] {
                assert_eq!(special(&clean, control), len);
            }
            for pos in 0..len {
                for c in [b'"', b'\\', 0x00, 0x01, 0x1f, 0x20, 0x7f, 0xff] {
                    for second in [None, Some(0x00), Some(b'"')] {
                        let mut b = clean.clone();
                        b[pos] = c;
                        if let (Some(x), true) = (second, pos + 1 < len) {
                            b[pos + 1] = x;
                        }
                        for control in [false, true] {
                            let want = b
                                .iter()
                                .position(|&c| c == b'"' || c == b'\\' || (control && c < 0x20))
                                .unwrap_or(len);
                            assert_eq!(special(&b, control), want, "{b:?} {control}");
                        }
                    }
                }
            }
        }
    }

    /// `is_plain` answers whether `special` finds a byte, at every length (short texts, the
    /// two-word texts, whole and partial 16-byte blocks) and with a special byte at every
    /// position, alone or followed by another.
    #[test]
    fn is_plain_is_whether_special_finds_a_byte() {
        for len in 0..70usize {
            let clean: Vec<u8> = (0..len).map(|i| b"az~ \x7f\x80\xe9\xff"[i % 8]).collect();
            assert!(is_plain(&clean), "{clean:?}");
            for pos in 0..len {
                for c in [b'"', b'\\', 0x00, 0x01, 0x1f, 0x20, 0x21, 0x5b, 0x7f, 0xff] {
                    for second in [None, Some(0x00), Some(b'"')] {
                        let mut b = clean.clone();
                        b[pos] = c;
                        if let (Some(x), true) = (second, pos + 1 < len) {
                            b[pos + 1] = x;
                        }
                        assert_eq!(is_plain(&b), special(&b, true) == len, "{b:?}");
                    }
                }
            }
        }
    }

    /// The literal-end scan as it was (one `special` call per escape): the reference the
    /// word scan must agree with on every input.
    fn string_end_reference(b: &[u8], start: usize) -> Option<usize> {
        let mut j = start + 1;
        loop {
            let rest = b.get(j..)?;
            let k = j + special(rest, false);
            match b.get(k)? {
                b'"' => return Some(k + 1),
                _ => j = k + 2,
            }
        }
    }

    /// `string_end` against the reference at every start and every cut of `b`.
    fn agrees_everywhere(b: &[u8]) {
        for cut in 0..=b.len() {
            let t = &b[..cut];
            for start in 0..=cut + 1 {
                assert_eq!(
                    string_end(t, start),
                    string_end_reference(t, start),
                    "{t:?} {start}"
                );
            }
        }
    }

    #[test]
    fn string_end_agrees_with_the_reference_on_random_mixes() {
        let mut gen = crate::tests::rng::Rng::new(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"\"\\\\\\\x00\x01\x1f \x7f\x80\xff\xe9\xc3u";
        for _ in 0..1500 {
            let len = gen.index(48);
            let dense = gen.chance(500);
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    if dense || gen.chance(250) {
                        *gen.pick(alphabet)
                    } else {
                        b'a' + gen.below(26) as u8
                    }
                })
                .collect();
            agrees_everywhere(&b);
        }
    }

    /// Backslash runs of every length before a quote, at every offset in a word, with long
    /// escape-free runs around them (the word loop, the carry into the next word, the tail).
    #[test]
    fn string_end_agrees_on_backslash_runs_and_long_plain_runs() {
        for lead in 0..17usize {
            for run in 0..12usize {
                for trail in [0usize, 1, 7, 8, 9, 40] {
                    let mut b = vec![b'"'];
                    b.extend(std::iter::repeat_n(b'x', lead));
                    b.extend(std::iter::repeat_n(b'\\', run));
                    b.push(b'"');
                    b.extend(std::iter::repeat_n(b'y', trail));
                    b.push(b'"');
                    agrees_everywhere(&b);
                    let end = string_end(&b, 0);
                    let want = if run % 2 == 0 {
                        lead + run + 2
                    } else {
                        b.len()
                    };
                    assert_eq!(end, Some(want), "{lead} {run} {trail}");
                }
            }
        }
        let long: Vec<u8> = std::iter::once(b'"')
            .chain((0..5000).map(|i| b'a' + (i % 26) as u8))
            .chain(*b"\\\\\\\"\"tail")
            .collect();
        assert_eq!(string_end(&long, 0), Some(5006));
        assert_eq!(string_end(&long[..5005], 0), None);
        assert_eq!(string_end(&long[..5006], 0), Some(5006));
    }

    #[test]
    fn unterminated_values_have_no_end() {
        for text in [r#""abc"#, r#""ab\"#, "{", r#"{"a": "}"#, "[[]", r#"["\"]"#] {
            assert_eq!(value_end(text.as_bytes(), 0), None, "{text}");
        }
    }
}
