//! Independent parts of a load run side by side: artifacts verified in parallel, catalog
//! parts compiled in parallel. Deterministic: each job's answer is returned by its index,
//! whatever thread ran it and in whatever order.
//!
//! Only when the caller allows it ([`with_threads`]): the engine does for a load while it
//! serves nothing yet (a cold start, where load time is all that matters). A reload of a
//! serving engine stays on its one thread, so on a two-core machine it never takes the core
//! requests are served on.

use std::cell::Cell;

thread_local! {
    /// Threads [`in_parallel`] may use on this thread (1 unless [`with_threads`] says more).
    static BUDGET: Cell<usize> = const { Cell::new(1) };
}

/// Runs `f` with [`in_parallel`] allowed up to `threads` threads on this thread.
pub(crate) fn with_threads<T>(threads: usize, f: impl FnOnce() -> T) -> T {
    /// Puts the previous budget back, also when `f` panics.
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUDGET.with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(BUDGET.with(|b| b.replace(threads)));
    f()
}

/// Whether work on this thread may start one more thread beside itself: the budget
/// [`with_threads`] set allows two, and not on WASM. Inside [`in_parallel`]'s jobs, when they
/// run side by side, it does not (they already take both threads).
pub(crate) fn second_thread_allowed() -> bool {
    !cfg!(target_arch = "wasm32") && BUDGET.with(Cell::get) >= 2
}

/// Threads that work side by side: two (the work is memory-bound, and a load rarely has more
/// than two large artifacts or catalog parts); one on WASM, which has no threads, and for
/// work weighing under a million (bytes, occurrences).
const THREADS: usize = 2;

/// How many threads [`in_parallel`] runs jobs of these weights on: one on WASM and for
/// work weighing under a million (below that a thread costs more than it saves), else up
/// to [`THREADS`], the budget and the jobs allow. Lets a caller split work only when the
/// pieces will run side by side.
pub(crate) fn threads_for(weights: &[usize]) -> usize {
    if cfg!(target_arch = "wasm32") || weights.iter().sum::<usize>() < 1 << 20 {
        1
    } else {
        THREADS.min(BUDGET.with(Cell::get)).min(weights.len())
    }
}

/// `f(i)` for every job `i`, on up to [`THREADS`] threads (and the budget [`with_threads`]
/// set, 1 by default), heaviest `weights` first
/// (each thread takes the next job when it is done with one); answers by job. A thread that
/// cannot be started leaves its share to the calling thread.
pub(crate) fn in_parallel<T: Send>(weights: &[usize], f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weights[i]));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = order.get(j) else {
                return done;
            };
            done.push((i, f(i)));
        }
    };
    let threads = threads_for(weights);
    // One thread: no scope at all (no thread machinery, which WASM lacks).
    let mut done: Vec<(usize, T)> = if threads <= 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
                .collect();
            // The helpers' budget is 1 (each thread starts with it); so is the caller's now.
            let mut done = with_threads(1, work);
            for h in helpers {
                done.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            }
            done
        })
    };
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod parallel_tests {
    use super::{in_parallel, second_thread_allowed, threads_for, with_threads};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_job_runs_once_and_answers_in_job_order() {
        for weights in [vec![], vec![5], vec![1, 1 << 22, 3, 1 << 21, 0]] {
            let runs = AtomicUsize::new(0);
            let out = with_threads(2, || {
                in_parallel(&weights, |i| {
                    runs.fetch_add(1, Ordering::Relaxed);
                    i * 10
                })
            });
            assert_eq!(runs.load(Ordering::Relaxed), weights.len());
            assert_eq!(out, (0..weights.len()).map(|i| i * 10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn without_a_budget_everything_runs_on_the_calling_thread() {
        let main = std::thread::current().id();
        let ids = in_parallel(&[1 << 22, 1 << 22, 1 << 22], |_| {
            std::thread::current().id()
        });
        assert!(ids.iter().all(|id| *id == main), "{ids:?}");
        let inner = with_threads(2, || {
            with_threads(1, || {
                in_parallel(&[1 << 22; 2], |_| std::thread::current().id())
            })
        });
        assert!(inner.iter().all(|id| *id == main), "{inner:?}");
    }

    /// What `threads_for` answers is what `in_parallel` does: two threads for a million
    /// units of work under a budget of two (not on WASM), one otherwise.
    #[test]
    fn threads_for_answers_what_in_parallel_does() {
        let two = if cfg!(target_arch = "wasm32") { 1 } else { 2 };
        assert_eq!(with_threads(2, || threads_for(&[1 << 19, 1 << 19])), two);
        assert_eq!(
            with_threads(2, || threads_for(&[1 << 19, (1 << 19) - 1])),
            1
        );
        assert_eq!(with_threads(2, || threads_for(&[1 << 22])), 1);
        assert_eq!(threads_for(&[1 << 22, 1 << 22]), 1);
        let ids = with_threads(2, || {
            in_parallel(&[1 << 19, (1 << 19) - 1], |_| std::thread::current().id())
        });
        assert!(ids.iter().all(|id| *id == std::thread::current().id()));
    }

    #[test]
    fn large_loads_use_a_second_thread() {
        let main = std::thread::current().id();
        let started = AtomicUsize::new(0);
        let ids = with_threads(2, || {
            in_parallel(&[1 << 22, 1 << 22], |_| {
                // Each job waits (up to 10 s) for the other to start: on one thread they could not.
                started.fetch_add(1, Ordering::SeqCst);
                let t = std::time::Instant::now();
                while started.load(Ordering::SeqCst) < 2 && t.elapsed().as_secs() < 10 {
                    std::thread::yield_now();
                }
                std::thread::current().id()
            })
        });
        assert!(ids.contains(&main), "the calling thread works too");
        assert!(cfg!(target_arch = "wasm32") || ids[0] != ids[1], "{ids:?}");
    }

    #[test]
    fn a_second_thread_only_with_the_budget_and_not_inside_jobs_side_by_side() {
        assert!(!second_thread_allowed());
        let two = !cfg!(target_arch = "wasm32");
        assert_eq!(with_threads(2, second_thread_allowed), two);
        assert!(!with_threads(2, || with_threads(1, second_thread_allowed)));
        // One job: it may split itself. Two large ones side by side: neither may.
        let alone = with_threads(2, || in_parallel(&[1 << 22], |_| second_thread_allowed()));
        assert_eq!(alone, vec![two]);
        let both = with_threads(2, || {
            in_parallel(&[1 << 22; 2], |_| second_thread_allowed())
        });
        assert_eq!(both, vec![false, false]);
        // Side by side only when there is enough work: small jobs run as one job would.
        let small = with_threads(2, || in_parallel(&[10, 10], |_| second_thread_allowed()));
        assert_eq!(small, vec![two, two]);
    }
}
