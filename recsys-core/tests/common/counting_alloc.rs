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

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, SeqCst);
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
            ALLOCS.fetch_add(1, SeqCst);
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
