//! Cost that grows linearly, checked by time: `work(n)` and `work(10 * n)` are timed and the
//! larger must cost at most ~50x the smaller (old O(n^2) code costs 100x and more). Ratios, not
//! absolute times, and each size's fastest run counts, because load from other processes
//! only ever adds time. Shared by the library's tests and the integration tests (which
//! include this file by path).

use std::time::{Duration, Instant};

fn fastest_of_five(f: &dyn Fn()) -> Duration {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Runs `work(n)` and `work(10 * n)` and checks the larger costs at most ~50x the smaller.
/// Each size keeps the fastest time it has shown over all rounds (load from another process
/// only ever adds time, so the minima approach the true costs), and a comparison that misses
/// the bound is taken again with both minima refined, up to five rounds in all. Quadratic
/// code misses every round: its fastest large run still costs 100x and more.
pub fn assert_scales_linearly(what: &str, n: usize, work: impl Fn(usize)) {
    let (mut small, mut big) = (Duration::MAX, Duration::MAX);
    let mut seen = Vec::new();
    for _ in 0..5 {
        small = small.min(fastest_of_five(&|| work(n)));
        big = big.min(fastest_of_five(&|| work(10 * n)));
        if big <= small * 50 + Duration::from_millis(20) {
            return;
        }
        seen.push(format!("{n} -> {small:?}, {} -> {big:?}", 10 * n));
    }
    panic!(
        "{what}: more than 50x in all five rounds (fastest so far): {}",
        seen.join("; ")
    );
}
