//! A large body read on two threads: the calling thread reads the rows from the start (the
//! head), and a second thread reads them from a row boundary found near the middle (the
//! tail) into columns of its own. SHA-256 cannot start in the middle of its input, so the
//! tail's canonical text is written again, from its columns, once the head has been hashed.
//!
//! The boundary is only a guess (`{` after `}` or `]}` and a comma; a string could hold the
//! same bytes). The head decides: the tail's rows stand in for the rest of the body only when
//! the head reaches a row starting at exactly the guessed offset, and the tail read every row
//! from there to the closing `]` with no error, within the per-row limits, and *losslessly*
//! (no `null` list, no empty tag, no count beyond 2^53: what its columns could not write
//! back). Reading a row depends on nothing before it, so the tail then holds exactly what the
//! head would have read. Otherwise the tail is dropped and the head reads on alone. Either
//! way the result is that of one thread.
//!
//! Only when the caller allows a second thread (a cold load, see `snapshot::parallel`) and the
//! body is at least [`MIN_SPLIT`] bytes.

use super::{bail, write_counted, Build, Pass, R};
use crate::artifacts::model::{ArtifactKind, ArtifactLimits};
use crate::artifacts::stream::Reader;
use crate::json::format_go_float;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ScopedJoinHandle;

/// Bodies smaller than this are read on one thread.
pub(super) const MIN_SPLIT: usize = 8 << 20;

#[cfg(test)]
thread_local! {
    /// Tests split small bodies ([`with_min_split`]) and count the tails taken.
    static TEST_MIN_SPLIT: std::cell::Cell<usize> = const { std::cell::Cell::new(MIN_SPLIT) };
    static ADOPTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `f` with bodies of `min` bytes and more split on this thread (budget permitting);
/// answers with how many tails were taken.
#[cfg(test)]
pub(crate) fn with_min_split<T>(min: usize, f: impl FnOnce() -> T) -> (T, usize) {
    let before = TEST_MIN_SPLIT.with(|m| m.replace(min));
    ADOPTED.with(|a| a.set(0));
    let out = f();
    TEST_MIN_SPLIT.with(|m| m.set(before));
    (out, ADOPTED.with(|a| a.get()))
}

fn min_split() -> usize {
    #[cfg(test)]
    return TEST_MIN_SPLIT.with(|m| m.get());
    #[cfg(not(test))]
    MIN_SPLIT
}

/// Rows read before the columns are sized for the rest (from the bytes those rows took).
pub(super) const SAMPLE_ROWS: usize = 1024;

/// The factor from what `read` bytes filled to what `total` bytes will, with 10% to spare
/// (rows vary in length; a column that still runs out grows as usual).
pub(super) fn scale(total: usize, read: usize) -> f64 {
    total as f64 / read.max(1) as f64 * 1.1
}

/// How far past the middle a row boundary is looked for.
const SEARCH: usize = 1 << 20;

/// The rows of a body from a guessed row boundary to its closing `]`, read on their own.
pub(super) struct Tail<'a> {
    cols: Build<'a>,
    pub(super) rows: usize,
    /// The offset just past the closing `]`.
    pub(super) end: usize,
}

/// A tail being read on the second thread.
pub(super) struct Pending<'s, 'a> {
    /// Where the tail's first row starts.
    pub(super) at: usize,
    handle: ScopedJoinHandle<'s, Option<Tail<'a>>>,
    stop: &'s AtomicBool,
}

impl<'s, 'a> Pending<'s, 'a> {
    pub(super) fn new(
        at: usize,
        handle: ScopedJoinHandle<'s, Option<Tail<'a>>>,
        stop: &'s AtomicBool,
    ) -> Self {
        Pending { at, handle, stop }
    }

    /// The tail, when the head's row at `pos` is the tail's first one and the tail holds.
    pub(super) fn take(self, pos: usize) -> Option<Tail<'a>> {
        if pos != self.at {
            self.stop.store(true, Ordering::Relaxed);
        }
        let tail = self
            .handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        tail.filter(|_| pos == self.at)
    }
}

/// Where a tail could start, for a body whose `[` is at the reader: the first row boundary
/// after the middle; `None` when the body stays on one thread.
pub(super) fn plan(r: &Reader<'_>, kind: ArtifactKind) -> Option<usize> {
    let b = r.src().as_bytes();
    let start = r.pos();
    let len = b.len().checked_sub(start)?;
    if len < min_split() || crate::snapshot::parallel::threads() < 2 || !splits(kind) {
        return None;
    }
    let from = start + len / 2;
    let window = b.get(from..b.len().min(from + SEARCH))?;
    // A popularity row closes with `}`; every other row with its list's `]` and then `}`.
    let closers: &[u8] = match kind {
        ArtifactKind::Popularity => b"}",
        _ => b"]}",
    };
    memchr::memchr_iter(b'{', window)
        .map(|k| from + k)
        .find(|&k| follows(&b[..k], closers))
}

/// Whether bodies of `kind` are split. Not content similarity: it is the largest artifact,
/// read while the host still holds its bytes, and the tail's columns beside the head's
/// (about 20 MiB at 1M items) put the step API's peak over issue 15's bound.
fn splits(kind: ArtifactKind) -> bool {
    cfg!(test) || !matches!(kind, ArtifactKind::ContentSim)
}

/// Whether `before` ends with `,` preceded by `closers`, with whitespace anywhere between.
fn follows(before: &[u8], closers: &[u8]) -> bool {
    let mut i = before.len();
    let mut back = |want: u8| {
        while i > 0 && matches!(before[i - 1], b' ' | b'\n' | b'\r' | b'\t') {
            i -= 1;
        }
        let ok = i > 0 && before[i - 1] == want;
        i = i.saturating_sub(1);
        ok
    };
    back(b',') && closers.iter().rev().all(|&c| back(c))
}

/// Reads the rows from `at` to the body's closing `]` (`depth`: containers open at a row),
/// as the head would; `None` on anything the head must read itself, or once told to `stop`.
pub(super) fn read_tail<'a>(
    src: &'a str,
    at: usize,
    depth: usize,
    kind: ArtifactKind,
    lim: &ArtifactLimits,
    stop: &AtomicBool,
) -> Option<Tail<'a>> {
    let mut p = Pass::new(src, kind, lim);
    p.discard = true;
    let mut r = Reader::at(src, lim, at, depth);
    let mut cols = Build::new(kind);
    let mut rows = 0;
    let end = src.len();
    loop {
        if stop.load(Ordering::Relaxed) || r.peek() != Some(b'{') {
            return None;
        }
        if rows == SAMPLE_ROWS {
            // Sized once, from the bytes the first rows took (the tail runs about to the end).
            cols.reserve_scaled(scale(end - at, r.pos() - at));
        }
        p.row(&mut r, &mut cols).ok()?;
        p.flush();
        rows += 1;
        match r.peek() {
            Some(b',') => r.bump(),
            Some(b']') => {
                r.bump();
                break;
            }
            _ => return None,
        }
    }
    p.lossless.then_some(Tail {
        cols,
        rows,
        end: r.pos(),
    })
}

impl<'a> Pass<'a, '_> {
    /// Takes the tail's rows after those read so far (`comma`: there were some): their
    /// canonical text, written from the tail's columns, and the columns themselves.
    pub(super) fn adopt(&mut self, cols: &mut Build<'a>, tail: Tail<'a>, comma: bool) -> R<()> {
        #[cfg(test)]
        ADOPTED.with(|a| a.set(a.get() + 1));
        let users = !matches!(self.kind, ArtifactKind::Cooc);
        match (cols, tail.cols) {
            (Build::Pairs(ids, scores), Build::Pairs(t_ids, t_scores)) => {
                for (j, &count) in t_scores.iter().enumerate() {
                    self.sep(comma || j > 0);
                    write_counted(&mut self.out, t_ids.get(j), count as i64);
                    self.flush();
                }
                ids.append(&t_ids);
                drop(t_ids);
                scores.reserve_exact(t_scores.len());
                scores.extend_from_slice(&t_scores);
            }
            (Build::Rows(rc), Build::Rows(t)) => {
                for row in 0..t.len() {
                    self.sep(comma || row > 0);
                    let out = &mut self.out;
                    out.push_str(if users {
                        "{\"user_id\":"
                    } else {
                        "{\"item_id\":"
                    });
                    super::push_go_string(out, t.keys.get(row));
                    out.push_str(",\"items\":[");
                    for (n, j) in t.row(row).enumerate() {
                        if n > 0 {
                            out.push(',');
                        }
                        if users {
                            out.push_str("{\"item_id\":");
                            super::push_go_string(out, t.ids.get(j));
                            out.push_str(",\"score\":");
                            format_go_float(out, t.scores[j]);
                            out.push('}');
                        } else {
                            write_counted(out, t.ids.get(j), t.scores[j] as i64);
                        }
                    }
                    out.push_str("]}");
                    self.flush();
                }
                rc.append(t);
            }
            (Build::Tags(b), Build::Tags(t)) => {
                for row in 0..t.items() {
                    self.sep(comma || row > 0);
                    let (id, tags) = t.item(row);
                    let out = &mut self.out;
                    out.push_str("{\"item_id\":");
                    super::push_go_string(out, id);
                    out.push_str(",\"tags\":[");
                    for (n, tag) in tags.enumerate() {
                        if n > 0 {
                            out.push(',');
                        }
                        super::push_go_string(out, tag);
                    }
                    out.push_str("]}");
                    self.flush();
                }
                b.append(t);
            }
            _ => return Err(bail()),
        }
        Ok(())
    }

    fn sep(&mut self, comma: bool) {
        if comma {
            self.out.push(',');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_min_split;
    use crate::artifacts::{
        load_columns, parse_artifact, version_hash, ArtifactKind, ArtifactLimits,
    };
    use crate::snapshot::parallel::with_threads;

    /// A pipeline-shaped document (indented, envelope first) with `rows` rows; `row(i)` writes
    /// row `i`. Its declared version is its own hash.
    fn document(kind: ArtifactKind, rows: usize, row: impl Fn(usize) -> String) -> Vec<u8> {
        let body: Vec<String> = (0..rows).map(row).collect();
        let text = format!(
            "{{\n  \"v\": 1,\n  \"artifact_type\": \"{}\",\n  \"tenant\": \"demo\",\n  \"surface\": \"home\",\n  \
             \"segment\": \"default\",\n  \"window\": {{\"start\": \"2026-01-01T00:00:00Z\", \"end\": \"2026-01-02T00:00:00Z\"}},\n  \
             \"{}\": [\n    {}\n  ],\n  \"build\": {{\"built_at\": \"2026-01-02T00:00:00Z\", \"version\": \"V\"}}\n}}\n",
            kind.as_str(),
            kind.body_key(),
            body.join(",\n    ")
        );
        let a = parse_artifact(text.as_bytes(), Some(kind), &ArtifactLimits::default());
        let v = a.map(|a| version_hash(&a)).unwrap_or_default();
        text.replace("\"V\"", &format!("{v:?}")).into_bytes()
    }

    fn counted(i: usize, count: u64) -> String {
        format!("{{\n      \"item_id\": \"sku-{i:07}\",\n      \"count\": {count}\n    }}")
    }

    fn content(i: usize, tags: &str) -> String {
        format!("{{\n      \"item_id\": \"sku-{i:07}\",\n      \"tags\": {tags}\n    }}")
    }

    fn rows(key: &str, i: usize, items: &str) -> String {
        format!("{{\n      \"{key}\": \"k-{i:05}\",\n      \"items\": {items}\n    }}")
    }

    fn neighbours(i: usize, n: usize, score: bool) -> String {
        let one = |j: usize| match score {
            true => format!(
                "{{\"item_id\": \"sku-{j:07}\", \"score\": {}.25}}",
                (i + j) % 7
            ),
            false => format!(
                "{{\"item_id\": \"sku-{j:07}\", \"count\": {}}}",
                (i * j) % 97
            ),
        };
        format!(
            "[{}]",
            (0..n).map(|j| one(i + j)).collect::<Vec<_>>().join(", ")
        )
    }

    /// The one-thread and the split pass of `bytes`, and how many tails the split took.
    fn both(bytes: &[u8], kind: ArtifactKind) -> (String, String, usize) {
        let lim = ArtifactLimits::default();
        let show = |r: Option<Result<super::super::ColumnarArtifact, _>>| {
            format!(
                "{:?}",
                r.map(|r| r.map(|c| (c.envelope, c.rows, c.columns)))
            )
        };
        let one = show(load_columns(bytes, kind, None, "demo", "home", &lim));
        let (two, taken) = with_threads(2, || {
            with_min_split(0, || load_columns(bytes, kind, None, "demo", "home", &lim))
        });
        (one, show(two), taken)
    }

    #[test]
    fn a_split_body_reads_like_one_thread_and_takes_the_tail() {
        let docs = [
            (
                ArtifactKind::Popularity,
                document(ArtifactKind::Popularity, 3000, |i| {
                    counted(i, (i * 31) as u64)
                }),
            ),
            (
                ArtifactKind::Cooc,
                document(ArtifactKind::Cooc, 800, |i| {
                    rows("item_id", i, &neighbours(i, 1 + i % 9, false))
                }),
            ),
            (
                ArtifactKind::Implicit,
                document(ArtifactKind::Implicit, 800, |i| {
                    rows("user_id", i, &neighbours(i, 1 + i % 5, true))
                }),
            ),
            (
                ArtifactKind::ContentSim,
                document(ArtifactKind::ContentSim, 3000, |i| {
                    let t = format!(
                        r#"["brand:b{}", "cat:\u00e9{}", "attr:<{}>"]"#,
                        i % 13,
                        i % 7,
                        i % 101
                    );
                    content(i, &t)
                }),
            ),
        ];
        for (kind, bytes) in docs {
            let (one, two, taken) = both(&bytes, kind);
            assert!(
                one.starts_with("Some(Ok("),
                "{kind:?}: {}",
                &one[..one.len().min(300)]
            );
            assert_eq!(taken, 1, "{kind:?}: the tail was not taken");
            assert_eq!(one, two, "{kind:?}");
        }
    }

    #[test]
    fn a_tail_its_columns_cannot_write_back_or_a_wrong_guess_is_read_again_on_one_thread() {
        let late = |i: usize| i == 2500;
        let cases = [
            // `null` tags, an empty tag, or a missing tags member in the second half.
            document(ArtifactKind::ContentSim, 3000, |i| {
                content(i, if late(i) { "null" } else { r#"["a", "b"]"# })
            }),
            document(ArtifactKind::ContentSim, 3000, |i| {
                content(
                    i,
                    if late(i) {
                        r#"["a", ""]"#
                    } else {
                        r#"["a", "b"]"#
                    },
                )
            }),
            document(ArtifactKind::ContentSim, 3000, |i| match late(i) {
                true => format!("{{\"item_id\": \"sku-{i:07}\"}}"),
                false => content(i, r#"["a"]"#),
            }),
            // Tags that look like a row boundary right after the middle.
            document(ArtifactKind::ContentSim, 3000, |i| {
                content(
                    i,
                    if i >= 1500 {
                        r#"["x]}, {", "]},{"]"#
                    } else {
                        r#"["a"]"#
                    },
                )
            }),
            // A syntax error in the second half (the pass refuses it either way).
            document(ArtifactKind::ContentSim, 3000, |i| {
                content(i, if late(i) { r#"["a",]"# } else { r#"["a"]"# })
            }),
        ];
        for bytes in cases {
            let (one, two, taken) = both(&bytes, ArtifactKind::ContentSim);
            assert_eq!(taken, 0);
            assert_eq!(one, two);
        }
        let counts = [
            document(ArtifactKind::Popularity, 3000, |i| {
                counted(i, if late(i) { (1 << 53) + 1 } else { 5 })
            }),
            document(ArtifactKind::Cooc, 3000, |i| {
                rows("item_id", i, if late(i) { "null" } else { "[]" })
            }),
            document(ArtifactKind::Cooc, 3000, |i| {
                let big = format!(r#"[{{"item_id": "a", "count": {}}}]"#, (1u64 << 53) + 1);
                rows("item_id", i, if late(i) { &big } else { "[]" })
            }),
        ];
        for (bytes, kind) in counts.iter().zip([
            ArtifactKind::Popularity,
            ArtifactKind::Cooc,
            ArtifactKind::Cooc,
        ]) {
            let (one, two, taken) = both(bytes, kind);
            assert_eq!(taken, 0, "{kind:?}");
            assert_eq!(one, two, "{kind:?}");
        }
    }

    #[test]
    fn without_a_thread_budget_or_below_the_size_nothing_is_split() {
        let bytes = document(ArtifactKind::Popularity, 3000, |i| counted(i, 1));
        let lim = ArtifactLimits::default();
        let (_, taken) = with_min_split(0, || {
            load_columns(&bytes, ArtifactKind::Popularity, None, "demo", "home", &lim)
        });
        assert_eq!(taken, 0);
        let (_, taken) = with_threads(2, || {
            with_min_split(bytes.len(), || {
                load_columns(&bytes, ArtifactKind::Popularity, None, "demo", "home", &lim)
            })
        });
        assert_eq!(taken, 0);
    }
}
