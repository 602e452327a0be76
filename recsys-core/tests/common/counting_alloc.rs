//! A global allocator that counts the bytes live and their peak, and the allocations made,
//! for the tests that bound memory and work by what is actually requested (`parse_memory`,
//! `embedded_load_memory`, `request_text`). Include it
//! with `#[path = "common/counting_alloc.rs"] mod counting_alloc;`: it installs itself as the
//! test binary's global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// Bytes allocated and not yet freed.
pub static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// The most [`CURRENT`] has been since it was last reset by a test.
pub static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Allocations made (a growing `realloc` counts as one).
#[allow(dead_code)]
pub static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations made by this thread (tests running in parallel do not add to it).
    static MINE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Allocations made so far by the calling thread (a growing `realloc` counts as one).
#[allow(dead_code)]
pub fn allocations_on_this_thread() -> usize {
    MINE.with(|c| c.get())
}

fn count_one() {
    ALLOCS.fetch_add(1, SeqCst);
    // `try_with`: an allocation during the thread's teardown is simply not counted.
    let _ = MINE.try_with(|c| c.set(c.get() + 1));
}

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count_one();
        let now = CURRENT.fetch_add(l.size(), SeqCst) + l.size();
        PEAK.fetch_max(now, SeqCst);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CURRENT.fetch_sub(l.size(), SeqCst);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() {
            count_one();
            let now = CURRENT.fetch_add(new - l.size(), SeqCst) + new - l.size();
            PEAK.fetch_max(now, SeqCst);
        } else {
            CURRENT.fetch_sub(l.size() - new, SeqCst);
        }
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;
