//! The one pass of a large artifact on two threads, when the thread budget allows a second
//! one (a cold start, see [`crate::snapshot::parallel`]).
//!
//! The rows array is cut at a row boundary guessed from the bytes ([`cut_near`]). The calling
//! thread reads the document as the one-thread pass does; a second thread reads the rows from
//! the cut to the end of the array ([`read_tail`]) into columns of its own, in the pipeline's
//! row layout only (`rows`). When the calling thread reaches a row that begins exactly at the
//! cut, it takes the second thread's rows: their canonical text is then their bytes with the
//! JSON whitespace between tokens left out, which it hashes straight from the input
//! ([`Pass::hash_stripped`]), so SHA-256 sees the same text in the same order; the columns
//! are joined when the body ends ([`append`]), content tags renumbered in first-seen order.
//!
//! Anything else leaves the calling thread to read the rest itself, exactly as on one thread:
//! a guess that is not a row start of the real parse (inside a string, between co-occurrence
//! neighbours), a second half with a row out of the layout, a syntax error or a limit. So the
//! outcome (columns, rows, envelope, hash verdict, or the answer `None`) is always the one
//! thread's.

use super::{load_pass, row_limit, Build, Pass, Scope};
use crate::artifacts::error::ArtifactError;
use crate::artifacts::model::{ArtifactKind, ArtifactLimits};
use crate::artifacts::rows::plain_len;
use crate::artifacts::stream::{skip_ws, Reader};
use crate::snapshot::{ColStrs, Columns, StrHashState};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;

/// Documents under this many bytes are read on one thread (a thread costs more than it saves).
const MIN_BYTES: usize = 1 << 20;

/// The cut is guessed at `CUT_SHARE / CUT_DIVISOR` of the bytes: the calling thread also
/// hashes the whole body, so it reads the smaller part.
pub(super) const CUT_SHARE: usize = 9;
pub(super) const CUT_DIVISOR: usize = 20;

/// How far past the guess a row boundary is looked for.
const SEARCH_BYTES: usize = 1 << 20;

/// The nesting of a body's rows: the document's object, then the body array.
const BODY_DEPTH: usize = 2;

/// The second thread checks whether it is still wanted every this many rows.
const STOP_EVERY: usize = 1024;

/// Whether a `len`-byte `kind` artifact is read on two threads: the budget allows a second
/// thread, the document is large, and it is popularity or co-occurrence.
///
/// Not content: joining its halves' columns raised the step API's peak at 1M by 26-36 MiB
/// (the peak is while content is staged, beside the host's copy of its bytes), past issue
/// 15's bound; popularity and co-occurrence are staged well under that peak. Not user rows:
/// `rows` has no layout for them.
pub(super) fn worth_it(len: usize, kind: ArtifactKind) -> bool {
    len >= MIN_BYTES
        && matches!(kind, ArtifactKind::Popularity | ArtifactKind::Cooc)
        && crate::snapshot::parallel::second_thread_allowed()
}

/// The first `{` at or after `from` (within [`SEARCH_BYTES`]) that looks like the start of a
/// row other than the first: `}` then `,` before it, whitespace aside (`]}` for co-occurrence,
/// whose neighbours are objects too). A guess: the calling thread confirms it.
pub(super) fn cut_near(b: &[u8], kind: ArtifactKind, from: usize) -> Option<usize> {
    let end = b.len().min(from.saturating_add(SEARCH_BYTES));
    let mut j = from;
    while let Some(k) = memchr::memchr(b'{', b.get(j..end)?) {
        let at = j + k;
        let before = |i: usize, want: u8| last_token(b, i).filter(|&p| b[p] == want);
        let ends_row = before(at, b',')
            .and_then(|p| before(p, b'}'))
            .filter(|&p| kind != ArtifactKind::Cooc || before(p, b']').is_some());
        if ends_row.is_some() {
            return Some(at);
        }
        j = at + 1;
    }
    None
}

/// The offset of the last byte before `i` that is not JSON whitespace.
fn last_token(b: &[u8], i: usize) -> Option<usize> {
    (0..i)
        .rev()
        .find(|&p| !matches!(b[p], b' ' | b'\n' | b'\r' | b'\t'))
}

/// The second half being read: where it begins, and its outcome once read.
pub(super) struct Pending {
    pub(super) cut: usize,
    done: Receiver<Option<Tail>>,
}

/// The rows the second thread read: how many, where the body array ends (its `]`), their
/// columns.
pub(super) struct Tail {
    pub(super) rows: usize,
    end: usize,
    pub(super) columns: Columns,
}

/// [`super::load`] with the rows from `cut` read on a second thread (see the module notes).
pub(super) fn load_split(
    src: &str,
    scope: &Scope<'_>,
    limits: &ArtifactLimits,
    cut: usize,
) -> (
    Option<Result<super::ColumnarArtifact, ArtifactError>>,
    usize,
) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (tx, done) = std::sync::mpsc::sync_channel(1);
        let (kind, stop) = (scope.kind, &stop);
        let second = std::thread::Builder::new().spawn_scoped(s, move || {
            // The calling thread may have stopped waiting (it reads on alone then).
            let _ = tx.send(read_tail(src, cut, kind, limits, stop));
        });
        let mut p = Pass::new(src, kind, limits);
        if second.is_ok() {
            p.split = Some(Pending { cut, done });
        }
        let out = load_pass(p, scope, true);
        stop.store(true, Ordering::Relaxed);
        out
    })
}

/// Reads the rows of a body array from `cut` to its end, every one in the pipeline's layout;
/// `None` at anything else (the calling thread then reads them itself) or once `stop` is set.
fn read_tail(
    src: &str,
    cut: usize,
    kind: ArtifactKind,
    lim: &ArtifactLimits,
    stop: &AtomicBool,
) -> Option<Tail> {
    let mut p = Pass::new(src, kind, lim);
    p.hashing = false;
    let mut r = Reader::resume(src, lim, cut, BODY_DEPTH);
    let limit = row_limit(kind, lim);
    let mut cols = Build::new(kind);
    let mut rows = 0;
    loop {
        if rows >= limit
            || r.peek() != Some(b'{')
            || (rows % STOP_EVERY == 0 && stop.load(Ordering::Relaxed))
        {
            return None;
        }
        let read = match &mut cols {
            Build::Pairs(ids, scores) => p.fast_pop_row(&mut r, ids, scores),
            Build::Rows(rc) => p.fast_cooc_row(&mut r, rc, lim.max_neighbors_per_row),
            Build::Tags(t) => p.fast_content_row(&mut r, t),
        };
        if !read {
            return None;
        }
        rows += 1;
        p.flush();
        match r.peek() {
            Some(b',') => r.jump(r.pos() + 1),
            Some(b']') => break,
            _ => return None,
        }
    }
    Some(Tail {
        rows,
        end: r.pos(),
        columns: cols.finish(),
    })
}

impl<'a> Pass<'a, '_> {
    /// At the cut, row `i` of the body (`r` at its `{`): takes the second thread's rows when
    /// it read them all and the row limit holds, hashes their text and moves `r` to the
    /// body's `]`. `false` (nothing done) otherwise.
    pub(super) fn join_tail(&mut self, r: &mut Reader<'a>, i: usize) -> bool {
        let Some(pending) = self.split.take() else {
            return false;
        };
        let Ok(Some(tail)) = pending.done.recv() else {
            return false;
        };
        if i == 0 || i + tail.rows > row_limit(self.kind, self.lim) {
            return false;
        }
        self.out.push(',');
        self.hash_stripped(r.text(pending.cut, tail.end));
        r.jump(tail.end);
        self.fast_rows += tail.rows;
        self.tail = Some(tail);
        #[cfg(test)]
        tests::JOINED.with(|j| j.set(j.get() + 1));
        true
    }

    /// Writes `text` (rows in the pipeline's layout and the commas between them) without the
    /// whitespace between its tokens, hashing as it goes: their canonical text. Its strings
    /// are plain (no escape, no quote), so each ends at the first `"`. Runs of other bytes
    /// are crossed eight at a time ([`stop_at`]).
    fn hash_stripped(&mut self, text: &str) {
        let b = text.as_bytes();
        let (mut i, mut from) = (0, 0);
        loop {
            i += stop_at(b.get(i..).unwrap_or_default());
            match b.get(i) {
                None => break,
                Some(b'"') => i += 2 + plain_len(b.get(i + 1..).unwrap_or_default()),
                Some(_) => {
                    self.out.push_str(text.get(from..i).unwrap_or_default());
                    i = skip_ws(b, i);
                    from = i;
                    self.flush();
                }
            }
        }
        self.out.push_str(text.get(from..).unwrap_or_default());
    }
}

/// The offset of the first quote or JSON whitespace byte of `b` (`b.len()` if none), found
/// eight bytes at a time.
#[inline]
fn stop_at(b: &[u8]) -> usize {
    /// The bytes of `w` equal to `c`, as their high bits (exact: no borrow crosses a byte).
    #[inline]
    fn eq(w: u64, c: u8) -> u64 {
        const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        let x = w ^ (u64::from(c) * 0x0101_0101_0101_0101);
        !(((x & LOW) + LOW) | x | LOW)
    }
    let mut i = 0;
    while let Some(c) = b.get(i..i + 8) {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let m = eq(w, b'"') | eq(w, b' ') | eq(w, b'\n') | eq(w, b'\r') | eq(w, b'\t');
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + b
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| !matches!(c, b'"' | b' ' | b'\n' | b'\r' | b'\t'))
        .count()
}

/// Appends the second half's columns to the first half's, as one thread would have filled
/// them: content tags the first half did not see are numbered after its own, in the order
/// the second half first saw them. Each column of the second half is freed as soon as it is
/// copied; the caller trims `head` then.
pub(super) fn append(head: &mut Columns, tail: Columns) {
    match (head, tail) {
        (
            Columns::Pairs { ids, scores },
            Columns::Pairs {
                ids: t_ids,
                scores: t_scores,
            },
        ) => {
            append_strs(ids, t_ids);
            append_vec(scores, t_scores, |s| s);
        }
        (Columns::Rows(h), Columns::Rows(t)) => {
            let base = h.ids.len();
            append_strs(&mut h.keys, t.keys);
            append_strs(&mut h.ids, t.ids);
            append_vec(&mut h.scores, t.scores, |s| s);
            append_offsets(&mut h.off, t.off, base);
        }
        (Columns::Tags(h), Columns::Tags(t)) => {
            let known = h.dict.len();
            let remap: Vec<u32> = {
                let mut ids: HashMap<&str, u32, StrHashState> = HashMap::with_capacity_and_hasher(
                    known + t.dict.len(),
                    StrHashState::default(),
                );
                for i in 0..known {
                    ids.insert(h.dict.get(i), i as u32);
                }
                (0..t.dict.len())
                    .map(|j| {
                        let next = ids.len() as u32;
                        *ids.entry(t.dict.get(j)).or_insert(next)
                    })
                    .collect()
            };
            for (j, &id) in remap.iter().enumerate() {
                if id as usize >= known {
                    h.dict.push(t.dict.get(j));
                }
            }
            let base = h.tags.len();
            append_vec(&mut h.tags, t.tags, |x| {
                remap.get(x as usize).copied().unwrap_or(0)
            });
            append_offsets(&mut h.off, t.off, base);
            append_strs(&mut h.items, t.items);
        }
        // Both halves are read as the same kind.
        _ => {}
    }
}

/// Frees the spare capacity the blocks' [`append`]s left.
pub(super) fn shrink(columns: &mut Columns) {
    match columns {
        Columns::Pairs { ids, scores } => {
            ids.shrink();
            scores.shrink_to_fit();
        }
        Columns::Rows(rc) => {
            rc.shrink();
            rc.off.shrink_to_fit();
        }
        Columns::Tags(t) => {
            t.items.shrink();
            t.dict.shrink();
            t.off.shrink_to_fit();
            t.tags.shrink_to_fit();
        }
    }
}

/// Appends every string of `tail` to `head`, then frees `tail`.
fn append_strs(head: &mut ColStrs, tail: ColStrs) {
    for i in 0..tail.len() {
        head.push(tail.get(i));
    }
}

/// Appends `tail` mapped by `f` to `head`, then frees it.
fn append_vec<T: Copy>(head: &mut Vec<T>, tail: Vec<T>, f: impl Fn(T) -> T) {
    head.extend(tail.iter().map(|&x| f(x)));
}

/// Appends row ends `tail` (its first, 0, left out) to `head`, shifted by `base`.
fn append_offsets(head: &mut Vec<u32>, tail: Vec<u32>, base: usize) {
    head.extend(tail.iter().skip(1).map(|&o| (base + o as usize) as u32));
}

#[cfg(test)]
mod tests {
    use super::super::tests::{outcome, versioned, Gen, Outcome, KINDS};
    use super::*;
    use crate::artifacts::load_columns;
    use crate::snapshot::parallel::with_threads;
    use crate::tests::rng::Rng;
    use std::cell::Cell;

    thread_local! {
        /// How many second halves this thread joined.
        pub(super) static JOINED: Cell<usize> = const { Cell::new(0) };
    }

    fn joined() -> usize {
        JOINED.with(Cell::get)
    }

    /// Loads `doc` on one thread and on two with the second half from `cut`, asserts the same
    /// outcome (columns, rows, envelope, hash verdict, or `None`) and the same rows read by
    /// `rows`; answers whether the second half was joined.
    fn agree_split(doc: &[u8], kind: ArtifactKind, lim: &ArtifactLimits, cut: usize) -> bool {
        let Ok(src) = std::str::from_utf8(doc) else {
            return false;
        };
        let scope = Scope {
            kind,
            expected_version: None,
            tenant: "demo",
            surface: "home",
        };
        let (one, n) = load_pass(Pass::new(src, kind, lim), &scope, true);
        let before = joined();
        let (two, m) = load_split(src, &scope, lim, cut);
        let (one, two): (Outcome, Outcome) = (outcome(one), outcome(two));
        assert_eq!(one, two, "cut at {cut}: {src}");
        assert_eq!(n, m, "cut at {cut}: {src}");
        joined() > before
    }

    /// Every row start [`cut_near`] finds from every byte of `doc`.
    fn cuts(doc: &[u8], kind: ArtifactKind) -> Vec<usize> {
        let mut at: Vec<usize> = (0..doc.len())
            .filter_map(|i| cut_near(doc, kind, i))
            .collect();
        at.dedup();
        at
    }

    #[test]
    fn stop_at_finds_the_first_quote_or_whitespace_at_every_position() {
        let mut rng = Rng::new(0x5917_3000);
        for _ in 0..20_000 {
            let n = rng.index(24);
            let b: Vec<u8> = (0..n)
                .map(|_| match rng.index(6) {
                    0 => *rng.pick(b"\" \n\r\t"),
                    1 => rng.below(256) as u8,
                    _ => *rng.pick(b"az09{}[],:-_\\"),
                })
                .collect();
            let want = b
                .iter()
                .position(|c| matches!(c, b'"' | b' ' | b'\n' | b'\r' | b'\t'))
                .unwrap_or(n);
            assert_eq!(stop_at(&b), want, "{b:?}");
        }
    }

    fn gen(seed: u64, vocab: u64) -> Gen {
        Gen {
            rng: Rng::new(seed),
            odd: 0,
            vocab,
        }
    }

    #[test]
    fn pipeline_documents_joined_at_every_row_equal_one_thread() {
        let lim = ArtifactLimits::default();
        let mut joins = 0;
        for round in 0..300 {
            // A small vocabulary: the second half sees tags the first half saw, and new ones.
            let mut g = gen(0x5917_0000 + round, [3, 20, 100_000][round as usize % 3]);
            let kind = KINDS[(round as usize / 3) % 3];
            let doc = versioned(&mut g, kind);
            for cut in cuts(doc.as_bytes(), kind) {
                assert!(agree_split(doc.as_bytes(), kind, &lim, cut), "{cut}: {doc}");
                joins += 1;
            }
        }
        assert!(joins > 1000, "{joins}");
    }

    #[test]
    fn odd_documents_cuts_at_any_byte_and_small_limits_equal_one_thread() {
        let mut g = gen(0x5917_1000, 5);
        let (mut joins, mut refused) = (0, 0);
        for round in 0..2000 {
            g.odd = [10, 40, 150, 0][round % 4];
            let kind = KINDS[(round / 4) % 3];
            let mut doc = versioned(&mut g, kind);
            let lim = g.limits();
            if g.rng.chance(200) {
                doc.truncate(g.rng.index(doc.len() + 1));
            }
            let bytes = doc.as_bytes();
            // A cut at any byte (inside strings, between neighbours, in the envelope), and
            // at each row start found.
            let any = g.rng.index(bytes.len() + 1);
            for cut in std::iter::once(any).chain(cuts(bytes, kind)) {
                let took = agree_split(bytes, kind, &lim, cut);
                joins += usize::from(took);
                refused += usize::from(!took);
            }
        }
        assert!(joins > 500 && refused > 500, "{joins} {refused}");
    }

    #[test]
    fn a_bad_row_in_the_second_half_leaves_it_to_the_calling_thread() {
        let lim = ArtifactLimits::default();
        let row = |i: usize, tags: &str| format!("{{\"item_id\": \"i{i}\", \"tags\": [{tags}]}}");
        // Tags the general reader takes (an escape, `<`, non-ASCII) and one it refuses.
        for (bad, taken) in [
            (r#""a\u0041""#, true),
            (r#""<b>""#, true),
            ("\"\u{e9}\"", true),
            (r#""a", 7"#, false),
        ] {
            let rows: Vec<String> = (0..8)
                .map(|i| row(i, if i == 6 { bad } else { r#""x", "y""# }))
                .collect();
            let doc = format!(
                "{{\"v\": 1, \"artifact_type\": \"content_sim\", \"tenant\": \"demo\", \"surface\": \"home\", \"window\": {{\"start\": \"2026-01-01T00:00:00Z\", \"end\": \"2026-01-02T00:00:00Z\"}}, \"items\": [\n  {}\n], \"build\": {{\"version\": \"x\"}}}}",
                rows.join(",\n  ")
            );
            let kind = ArtifactKind::ContentSim;
            let cuts = cuts(doc.as_bytes(), kind);
            assert_eq!(cuts.len(), 7);
            for (k, &cut) in cuts.iter().enumerate() {
                // Rows 1..=6 start a second half holding the bad row 6: the calling thread
                // reads them itself. Row 7 starts one it joins, unless row 6 was refused.
                assert_eq!(
                    agree_split(doc.as_bytes(), kind, &lim, cut),
                    taken && k == 6,
                    "{bad} {k}"
                );
            }
        }
    }

    #[test]
    fn fixtures_agree_at_every_cut() {
        let root =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/artifacts");
        let (mut seen, mut joins) = (0, 0);
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let bytes = std::fs::read(&p).unwrap();
                for kind in KINDS {
                    for cut in cuts(&bytes, kind) {
                        joins +=
                            usize::from(agree_split(&bytes, kind, &ArtifactLimits::default(), cut));
                    }
                }
                seen += 1;
            }
        }
        assert!(seen >= 20 && joins > 0, "{seen} {joins}");
    }

    /// A `kind` document of `n` rows in the pipeline's layout, with its true version.
    fn large(kind: ArtifactKind, n: usize) -> String {
        let mut g = gen(0x5917_2000, 50);
        let row = |g: &mut Gen, i: usize| match kind {
            ArtifactKind::ContentSim => {
                let tags: Vec<String> = (0..6)
                    .map(|_| format!("\"attr:{}\"", g.rng.below(g.vocab)))
                    .collect();
                format!(
                    "{{\"item_id\": \"sku-{i}\", \"tags\": [\n        {}\n    ]}}",
                    tags.join(",\n        ")
                )
            }
            ArtifactKind::Cooc => {
                let items: Vec<String> = (0..6)
                    .map(|_| {
                        format!(
                            "{{\"item_id\": \"sku-{}\", \"count\": {}}}",
                            g.rng.below(9999),
                            g.rng.below(99)
                        )
                    })
                    .collect();
                format!(
                    "{{\"item_id\": \"sku-{i}\", \"items\": [\n        {}\n    ]}}",
                    items.join(",\n        ")
                )
            }
            _ => format!(
                "{{\n      \"item_id\": \"sku-{i}\",\n      \"count\": {}\n    }}",
                g.rng.below(99_999)
            ),
        };
        let rows: Vec<String> = (0..n).map(|i| row(&mut g, i)).collect();
        let draft = |version: &str| {
            format!(
                "{{\n  \"v\": 1,\n  \"artifact_type\": \"{}\",\n  \"tenant\": \"demo\",\n  \"surface\": \"home\",\n  \"window\": {{\"start\": \"2026-01-01T00:00:00Z\", \"end\": \"2026-01-02T00:00:00Z\"}},\n  \"{}\": [\n    {}\n  ],\n  \"build\": {{\"version\": \"{version}\"}}\n}}",
                kind.as_str(),
                kind.body_key(),
                rows.join(",\n    ")
            )
        };
        let lim = ArtifactLimits::default();
        let a = crate::artifacts::parse_artifact(draft("").as_bytes(), Some(kind), &lim).unwrap();
        draft(&crate::artifacts::version_hash(&a))
    }

    #[test]
    fn load_columns_takes_two_threads_only_with_the_budget() {
        let lim = ArtifactLimits::default();
        for (kind, n) in [
            (ArtifactKind::Popularity, 30_000),
            (ArtifactKind::Cooc, 8_000),
            (ArtifactKind::ContentSim, 12_000),
        ] {
            let doc = large(kind, n);
            assert!(doc.len() > MIN_BYTES, "{kind:?} {}", doc.len());
            let load = |threads| {
                let before = joined();
                let got = with_threads(threads, || {
                    load_columns(doc.as_bytes(), kind, None, "demo", "home", &lim)
                });
                (outcome(got), joined() - before)
            };
            let (one, none) = load(1);
            let (two, joins) = load(2);
            let split = kind != ArtifactKind::ContentSim && !cfg!(target_arch = "wasm32");
            assert_eq!((none, joins), (0, usize::from(split)), "{kind:?}");
            assert_eq!(one, two);
            let (_, rows, _) = two.unwrap().unwrap();
            assert_eq!(rows, n);
            // And with the cut anywhere in the rows: the same columns.
            for at in [1, 2, 3, 5, 7].map(|k| doc.len() * k / 8) {
                let cut = cut_near(doc.as_bytes(), kind, at).unwrap();
                assert!(
                    agree_split(doc.as_bytes(), kind, &lim, cut),
                    "{kind:?} {at}"
                );
            }
        }
    }
}
