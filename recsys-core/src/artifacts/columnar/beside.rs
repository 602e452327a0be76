//! The version hash of a large artifact's one pass taken on a second thread, when the thread
//! budget allows one (a cold start, see [`crate::snapshot::parallel`]).
//!
//! The pass writes the canonical text in chunks of 64 KiB as on one thread;
//! each full chunk is handed to the second thread, which feeds it to SHA-256 and hands the
//! emptied buffer back. Chunks go through one queue in the order they were written, so the
//! hash input is the same bytes in the same order: the outcome is the one thread's. At most
//! [`IN_FLIGHT`] chunks wait, so the memory this takes is a few chunks.
//!
//! A content artifact's chunks also carry their rows' tags (see `queued`): the second thread
//! builds the tag columns from them after hashing each chunk; the pass keeps the items column.

use super::queued::{Queue, Replay};
use super::{finish_pass, run_pass, ColumnarArtifact, Pass, Scope};
use crate::artifacts::error::ArtifactError;
use crate::snapshot::{Columns, TagColsBuilder};
#[cfg(test)]
use std::sync::mpsc::TrySendError;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// Documents under this many bytes are hashed on the calling thread (a thread costs more
/// than it saves).
const MIN_BYTES: usize = 1 << 20;

/// Whether a document of `len` bytes is worth a second thread.
pub(super) fn worth_a_thread(len: usize) -> bool {
    #[cfg(test)]
    if tests::ALWAYS.with(std::cell::Cell::get) {
        return true;
    }
    len >= MIN_BYTES
}

/// Full chunks that may wait for the hashing thread before the pass waits for it.
const IN_FLIGHT: usize = 4;

/// A chunk handed over: canonical text, and the content rows queued with it (see `queued`).
struct Batch<'a> {
    text: Vec<u8>,
    queue: Queue<'a>,
}

/// The pass's ends of the two queues: full chunks out, emptied buffers back.
pub(super) struct Pipe<'a> {
    full: SyncSender<Batch<'a>>,
    empty: Receiver<Batch<'a>>,
}

impl<'a> Pipe<'a> {
    /// Hands the full chunk `out` over with the rows `queue` holds (if any), and leaves empty buffers
    /// (ones handed back, or new) in their place.
    pub(super) fn hand_over(&self, out: &mut Vec<u8>, queue: Option<&mut Queue<'a>>) {
        let next = self.empty.try_recv().unwrap_or_else(|_| Batch {
            text: Vec::with_capacity(out.capacity()),
            queue: Queue::default(),
        });
        let full = Batch {
            text: std::mem::replace(out, next.text),
            queue: match queue {
                Some(q) => std::mem::replace(q, next.queue),
                None => Queue::default(),
            },
        };
        #[cfg(test)]
        tests::HANDED.with(|n| n.set(n.get() + 1));
        #[cfg(test)]
        let full = match self.full.try_send(full) {
            Err(TrySendError::Full(b)) => {
                tests::BLOCKED.with(|n| n.set(n.get() + 1));
                b
            }
            _ => return,
        };
        // The hashing thread stops only once this end is dropped.
        let _ = self.full.send(full);
    }
}

/// Takes every chunk received (hashes it, and writes and hashes the rows queued with it),
/// handing each buffer back emptied; answers the hasher and the queued rows' columns once the
/// pass drops its end.
fn take_chunks<'a>(
    src: &'a str,
    full: Receiver<Batch<'a>>,
    empty: Sender<Batch<'a>>,
    slow: bool,
) -> (sha2::Sha256, Option<TagColsBuilder<'a>>) {
    let mut replay = Replay::new(src);
    for mut chunk in full {
        if slow {
            // Tests only: the pass finds the queue full.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        replay.chunk(&chunk.text, &mut chunk.queue);
        chunk.text.clear();
        // The pass may be done with buffers already.
        let _ = empty.send(chunk);
    }
    replay.finish()
}

/// [`run_pass`] with the hash (and a content artifact's columns) taken on a second thread (on
/// the calling thread if none can be started).
pub(super) fn run<'a>(
    src: &'a str,
    mut p: Pass<'a, '_>,
    scope: &Scope<'_>,
) -> (Option<Result<ColumnarArtifact, ArtifactError>>, usize) {
    std::thread::scope(|s| {
        let (full, full_rx) = sync_channel(IN_FLIGHT);
        let (empty_tx, empty) = channel();
        #[cfg(not(test))]
        let slow = false;
        #[cfg(test)]
        let slow = tests::SLOW.with(std::cell::Cell::get);
        let Ok(hashing) = std::thread::Builder::new()
            .spawn_scoped(s, move || take_chunks(src, full_rx, empty_tx, slow))
        else {
            return run_pass(p, scope);
        };
        p.beside = Some(Pipe { full, empty });
        let done = p.document();
        // Every chunk handed over is taken once the thread sees the end of the queue.
        p.beside = None;
        let (hasher, cols) = hashing
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        p.hasher = hasher;
        if p.queued {
            // The tags were taken on the hashing thread, the items on this one.
            let tags = cols.unwrap_or_else(|| TagColsBuilder::new(0));
            p.columns = Some(Columns::Tags(
                tags.finish_with(std::mem::take(&mut p.items)),
            ));
        }
        let fast_rows = p.fast_rows;
        if done.is_err() {
            return (None, fast_rows);
        }
        (finish_pass(p, scope), fast_rows)
    })
}

#[cfg(test)]
pub(in crate::artifacts) mod tests {
    use super::super::tests::{outcome, Outcome};
    use super::IN_FLIGHT;
    use crate::artifacts::{
        load_columns, parse_artifact, version_hash, ArtifactKind, ArtifactLimits,
    };
    use crate::snapshot::parallel::with_threads;
    use crate::tests::rng::Rng;
    use std::cell::Cell;

    thread_local! {
        /// Chunks this thread handed to a hashing thread.
        pub(super) static HANDED: Cell<usize> = const { Cell::new(0) };
        /// Whether this thread's loads take a second thread whatever their size.
        pub(in crate::artifacts) static ALWAYS: Cell<bool> = const { Cell::new(false) };
        /// Whether this thread's hashing threads are slowed (the pass finds the queue full).
        pub(super) static SLOW: Cell<bool> = const { Cell::new(false) };
        /// Chunks this thread found the queue full for (and waited).
        pub(super) static BLOCKED: Cell<usize> = const { Cell::new(0) };
    }

    /// A `kind` document of `n` rows in the pipeline's layout (co-occurrence rows on one
    /// line, which the layout reads too), every `odd`-th row spelled
    /// another way (an escape, members reordered) that the general reader takes; with its
    /// true version when `versioned`.
    fn document(kind: ArtifactKind, n: usize, odd: usize, versioned: bool) -> String {
        let mut rng = Rng::new(0xbe51_de00 + n as u64);
        let mut row = |i: usize| {
            let id = if odd > 0 && i.is_multiple_of(odd) {
                format!("sku-\\u0041{i}")
            } else {
                format!("sku-{i}")
            };
            match kind {
                ArtifactKind::ContentSim => {
                    let tags: Vec<String> = (0..6)
                        .map(|_| format!("\"attr:{}\"", rng.below(300)))
                        .collect();
                    format!("{{\n      \"item_id\": \"{id}\",\n      \"tags\": [\n        {}\n      ]\n    }}", tags.join(",\n        "))
                }
                ArtifactKind::Cooc => {
                    let items: Vec<String> = (0..6)
                        .map(|_| {
                            format!(
                                "{{\"item_id\": \"sku-{}\", \"count\": {}}}",
                                rng.below(9999),
                                rng.below(99)
                            )
                        })
                        .collect();
                    // The pipeline's member order (the layout reads it), but on one line.
                    format!(
                        "{{\"item_id\": \"{id}\", \"items\": [{}]}}",
                        items.join(", ")
                    )
                }
                ArtifactKind::Implicit | ArtifactKind::SessionSeq => {
                    format!("{{\"user_id\": \"{id}\", \"items\": [{{\"item_id\": \"a\", \"score\": {}.5}}]}}", rng.below(99))
                }
                ArtifactKind::Popularity => format!(
                    "{{\n      \"item_id\": \"{id}\",\n      \"count\": {}\n    }}",
                    rng.below(99_999)
                ),
            }
        };
        let rows: Vec<String> = (0..n).map(&mut row).collect();
        let draft = |version: &str| {
            format!(
                "{{\n  \"v\": 1,\n  \"artifact_type\": \"{}\",\n  \"tenant\": \"demo\",\n  \"surface\": \"home\",\n  \"window\": {{\"start\": \"2026-01-01T00:00:00Z\", \"end\": \"2026-01-02T00:00:00Z\"}},\n  \"{}\": [\n    {}\n  ],\n  \"build\": {{\"version\": \"{version}\"}}\n}}",
                kind.as_str(),
                kind.body_key(),
                rows.join(",\n    ")
            )
        };
        if !versioned {
            return draft("not-the-version");
        }
        let lim = ArtifactLimits::default();
        let a = parse_artifact(draft("").as_bytes(), Some(kind), &lim).unwrap();
        draft(&version_hash(&a))
    }

    /// Loads `doc` with a thread budget of 1 and of 2; asserts the same outcome, answers it
    /// with the chunks handed to a hashing thread under each budget.
    fn both(doc: &[u8], kind: ArtifactKind) -> (Outcome, usize, usize) {
        let lim = ArtifactLimits::default();
        let load = |threads| {
            let before = HANDED.with(Cell::get);
            let got = with_threads(threads, || {
                load_columns(doc, kind, None, "demo", "home", &lim)
            });
            (outcome(got), HANDED.with(Cell::get) - before)
        };
        let ((one, none), (two, handed)) = (load(1), load(2));
        assert_eq!(one, two, "{kind:?}");
        (two, none, handed)
    }

    #[test]
    fn large_documents_hashed_beside_the_pass_load_as_on_one_thread() {
        let threads = !cfg!(target_arch = "wasm32");
        for kind in ArtifactKind::ALL {
            for odd in [0, 7] {
                let doc = document(kind, 20_000, odd, true);
                assert!(doc.len() > super::MIN_BYTES, "{kind:?} {}", doc.len());
                let (got, none, handed) = both(doc.as_bytes(), kind);
                assert_eq!(none, 0);
                // Chunks of 64 KiB of text, or of 2,048 pairs whose text the thread writes.
                assert_eq!(handed > 5, threads, "{kind:?} {handed}");
                // Verified against the version the two-step path computes: the same hash.
                let (_, rows, _) = got.unwrap().unwrap();
                assert_eq!(rows, 20_000);
            }
        }
    }

    /// Popularity and co-occurrence rows read by the layout leave their text to the hashing
    /// thread (`queued::Queue::written`): documents of random lengths around the chunk's cut
    /// by pairs, mixed with rows the general reader takes (written by the pass), load as on
    /// one thread and verify (their version is the two-step path's).
    #[test]
    fn rows_whose_text_the_hashing_thread_writes_hash_as_on_one_thread() {
        let mut rng = Rng::new(0xbe51_de02);
        ALWAYS.with(|a| a.set(true));
        for kind in [ArtifactKind::Popularity, ArtifactKind::Cooc] {
            let mut sizes = vec![0, 1, 2, 341, 342, 343, 2047, 2048, 2049, 4097];
            sizes.extend((0..6).map(|_| 1 + rng.index(5000)));
            for n in sizes {
                let odd = [0, 1, 2, 5, 97][rng.index(5)];
                let doc = document(kind, n, odd, true);
                let (got, none, handed) = both(doc.as_bytes(), kind);
                assert_eq!(none, 0);
                // A row read by the layout leaves its text to the thread: the chunk goes over.
                let layout = (0..n).any(|i| odd == 0 || !i.is_multiple_of(odd));
                assert!(
                    handed > 0 || !layout || cfg!(target_arch = "wasm32"),
                    "{kind:?} {n} {odd}"
                );
                let (_, rows, _) = got.unwrap().unwrap();
                assert_eq!(rows, n, "{kind:?} {n} {odd}");
            }
        }
        ALWAYS.with(|a| a.set(false));
    }

    /// Content rows' items column is built by the pass, their tag columns by the hashing
    /// thread: the columns (items, tags, dictionary) are the one thread's when the pass runs
    /// ahead, when it waits on a full queue, and with rows of both readers mixed at random.
    #[test]
    fn content_columns_split_between_the_threads_are_the_one_threads() {
        let mut rng = Rng::new(0xbe51_de03);
        ALWAYS.with(|a| a.set(true));
        for slow in [false, true] {
            SLOW.with(|s| s.set(slow));
            let mut sizes = vec![0, 1, 2, 1365, 1366, 12_000];
            sizes.extend((0..3).map(|_| 1 + rng.index(9000)));
            for n in sizes {
                let odd = [0, 1, 2, 5, 97][rng.index(5)];
                let doc = document(ArtifactKind::ContentSim, n, odd, true);
                let blocked = BLOCKED.with(Cell::get);
                let (got, none, handed) = both(doc.as_bytes(), ArtifactKind::ContentSim);
                assert_eq!(none, 0);
                // Verified (the two-step path's version), with the one thread's columns.
                let (_, rows, _) = got.unwrap().unwrap();
                assert_eq!(rows, n);
                if slow && handed > IN_FLIGHT + 2 && !cfg!(target_arch = "wasm32") {
                    assert!(BLOCKED.with(Cell::get) > blocked, "{n} {handed}");
                }
            }
        }
        SLOW.with(|s| s.set(false));
        ALWAYS.with(|a| a.set(false));
    }

    #[test]
    fn a_wrong_version_or_a_cut_document_answers_as_on_one_thread() {
        let doc = document(ArtifactKind::Popularity, 30_000, 0, false);
        let (got, _, handed) = both(doc.as_bytes(), ArtifactKind::Popularity);
        assert!(matches!(got, Some(Err(_))), "{got:?}");
        assert!(handed > 0 || cfg!(target_arch = "wasm32"));
        let mut rng = Rng::new(0xbe51_de01);
        for _ in 0..8 {
            let cut = doc.len() / 2 + rng.index(doc.len() / 2);
            let (got, _, _) = both(&doc.as_bytes()[..cut], ArtifactKind::Popularity);
            assert_eq!(got, None);
        }
    }

    #[test]
    fn small_documents_and_a_budget_of_one_stay_on_the_calling_thread() {
        let doc = document(ArtifactKind::ContentSim, 200, 0, true);
        assert!(doc.len() < super::MIN_BYTES);
        let (got, none, handed) = both(doc.as_bytes(), ArtifactKind::ContentSim);
        assert!(matches!(got, Some(Ok(_))));
        assert_eq!((none, handed), (0, 0));
    }
}
