//! Progress of the background threads of a concurrency test: a counter each thread bumps per
//! operation, and a wait for more of it, so a test's main loop overlaps its readers and
//! followers however the scheduler runs them. On a busy machine a spawned thread may not run
//! at all before the main thread is done; tests that only counted afterwards failed there.
//! Shared with the integration tests, which include this file by path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Waits until `counter` has grown by `by` from now, or `thread` (the one bumping it) has
/// ended, whose panic its join then reports. Fails the test after 60 s instead of hanging.
pub fn wait_for_more<T>(counter: &AtomicUsize, by: usize, thread: &JoinHandle<T>) {
    let (from, start) = (counter.load(Ordering::Relaxed), Instant::now());
    while counter.load(Ordering::Relaxed) < from + by && !thread.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no progress in 60 s"
        );
        std::thread::yield_now();
    }
}
