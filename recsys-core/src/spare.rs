//! Buffers a thread keeps between requests: a request takes the thread's spare buffer (or a
//! new, empty one) and hands it back when done, so a small allocation that every request of
//! a kind makes is made once a thread. It owns only the taking and the keeping; which
//! buffers are kept, and up to what size, belongs to each user: the popularity walk's
//! candidates ([`crate::candidates::Pool::for_walk`]), a plain answer's positions
//! (`serve::select::Selected::first`) and a large pool index's slots (`candidates`).

use std::cell::Cell;
use std::thread::LocalKey;

/// The thread's spare value in `key`, left empty (`T::default()`); the default when the
/// thread keeps none or is being torn down.
#[inline]
pub(crate) fn take<T: Default>(key: &'static LocalKey<Cell<T>>) -> T {
    key.try_with(Cell::take).unwrap_or_default()
}

/// Keeps `v` in `key` for the thread's next [`take`] (the value kept before is dropped);
/// during the thread's teardown `v` is simply dropped.
#[inline]
pub(crate) fn keep<T>(key: &'static LocalKey<Cell<T>>, v: T) {
    let _ = key.try_with(|spare| spare.set(v));
}

/// Keeps `v`, emptied, when it holds room for 1 to `max` elements; a larger (or unallocated)
/// buffer is dropped.
#[inline]
pub(crate) fn keep_small<T>(key: &'static LocalKey<Cell<Vec<T>>>, mut v: Vec<T>, max: usize) {
    if (1..=max).contains(&v.capacity()) {
        v.clear();
        keep(key, v);
    }
}

#[cfg(test)]
mod tests {
    use super::{keep_small, take};
    use std::cell::Cell;

    thread_local! {
        static KEPT: Cell<Vec<u64>> = const { Cell::new(Vec::new()) };
    }

    /// A buffer of 1 to `max` elements' room comes back, emptied, from the next `take` (the
    /// same allocation); an unallocated or larger one is not kept, and a second `take`
    /// finds nothing.
    #[test]
    fn small_buffers_are_kept_emptied_and_taken_once() {
        let mut rng = crate::tests::rng::Rng::new(0x5ba2e);
        for round in 0..2_000 {
            let max = 1 + rng.index(64);
            let mut v: Vec<u64> = Vec::with_capacity(rng.index(2 * max));
            v.extend(0..rng.index(v.capacity() + 1) as u64);
            let (ptr, cap) = (v.as_ptr(), v.capacity());
            keep_small(&KEPT, v, max);
            let back = take(&KEPT);
            if (1..=max).contains(&cap) {
                assert!(back.is_empty(), "round {round}");
                assert_eq!(
                    (back.as_ptr(), back.capacity()),
                    (ptr, cap),
                    "round {round}"
                );
            } else {
                assert_eq!(back.capacity(), 0, "round {round}");
            }
            assert_eq!(take(&KEPT).capacity(), 0, "round {round}");
        }
    }
}
