//! Cost that grows linearly, checked by measured cost: `work(n)` and `work(10 * n)` are run
//! and the larger must cost at most ~50x the smaller (old O(n^2) code costs 100x and more).
//! Ratios, not absolute times, and each size's cheapest run counts. Shared by the library's
//! tests and the integration tests (which include this file by path).
//!
//! Cost is the calling thread's CPU time where the platform reports it (Linux): time spent
//! waiting for a core held by another process is not counted, so a machine running ten other
//! jobs on two cores gives the same ratios as a quiet one (wall time did not: a run of a
//! second is preempted many times where a run of a few milliseconds often is not, which
//! once made linear paths look 79x). Elsewhere it is wall time. The work measured runs on
//! the calling thread (the engine's `call` loads and decodes on one thread).

use std::time::Duration;

/// The calling thread's CPU time so far.
#[cfg(target_os = "linux")]
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// What `f` cost: the calling thread's CPU time on Linux, else wall time.
fn cost_of(f: &dyn Fn()) -> Duration {
    #[cfg(target_os = "linux")]
    {
        let start = thread_cpu();
        f();
        thread_cpu().saturating_sub(start)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let start = std::time::Instant::now();
        f();
        start.elapsed()
    }
}

fn cheapest_of_five(f: &dyn Fn()) -> Duration {
    (0..5).map(|_| cost_of(f)).min().unwrap_or_default()
}

/// Runs `work(n)` and `work(10 * n)`; `Ok` when the larger costs at most ~50x the smaller
/// (plus 20 ms for the clock's and the caches' noise), else `Err` with the costs seen. Each
/// size keeps the cheapest cost it has shown over all rounds, and a comparison that misses
/// the bound is taken again with both minima refined, up to five rounds in all. Quadratic
/// code misses every round: its cheapest large run still costs 100x and more.
pub fn scales_linearly(n: usize, work: impl Fn(usize)) -> Result<(), String> {
    let (mut small, mut big) = (Duration::MAX, Duration::MAX);
    let mut seen = Vec::new();
    for _ in 0..5 {
        small = small.min(cheapest_of_five(&|| work(n)));
        big = big.min(cheapest_of_five(&|| work(10 * n)));
        if big <= small * 50 + Duration::from_millis(20) {
            return Ok(());
        }
        seen.push(format!("{n} -> {small:?}, {} -> {big:?}", 10 * n));
    }
    Err(seen.join("; "))
}

/// Panics unless [`scales_linearly`] holds for `work` from `n`.
pub fn assert_scales_linearly(what: &str, n: usize, work: impl Fn(usize)) {
    if let Err(seen) = scales_linearly(n, work) {
        panic!("{what}: more than 50x in all five rounds (cheapest so far): {seen}");
    }
}
