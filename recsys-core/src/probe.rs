//! The open-addressed probe table the engine's own hash tables are built on: a power-of-two
//! array of slots, never full (each user grows it past its own load factor), where a key's
//! home slot is the high bits of its 64-bit hash and a lookup walks forward (linear probing)
//! to the slot holding it or to the first free one; a free slot is always `S::default()`
//! (tables start so, and freeing restores it). It owns the probing, the insertion count
//! and growth by re-placing; what a slot holds, how a key is hashed, when two keys are equal
//! and how full a table may get belong to its users, each a thin wrapper:
//! [`crate::candidates::KeyTable`] (item key → value, Fibonacci-hashed keys),
//! [`crate::request::DistinctIds`] (the distinct strings of a request's id list, by the
//! snapshot's seeded string hasher), the snapshot interner's builder (the distinct ids and
//! tags of a load, at most 2/3 full) and [`crate::decode::KeySet`] (a format's known member
//! names, at most 1/4 full).

/// A slot of a [`Probe`] table; `Default` is the free slot.
pub(crate) trait Slot: Copy + Default {
    /// True when the slot holds nothing.
    fn is_free(&self) -> bool;
}

/// Slots, a power-of-two count of them (or none), and how many are taken.
#[derive(Clone, Debug, Default)]
pub(crate) struct Probe<S> {
    slots: Vec<S>,
    /// `64 - log2(slots.len())`: a hash's high bits, shifted down, are its home slot.
    shift: u32,
    taken: usize,
}

impl<S: Slot> Probe<S> {
    /// A table of `size` free slots (`size` a power of two, at least 2).
    pub(crate) fn with_slots(size: usize) -> Probe<S> {
        debug_assert!(size.is_power_of_two() && size >= 2);
        Probe {
            slots: vec![S::default(); size],
            shift: 64 - size.trailing_zeros(),
            taken: 0,
        }
    }

    /// A table over `slots`, all free (a power-of-two count, at least 2): slots kept from
    /// an earlier table ([`Probe::into_free_slots`]), so they need no zeroing.
    pub(crate) fn over_free(slots: Vec<S>) -> Probe<S> {
        debug_assert!(slots.len().is_power_of_two() && slots.len() >= 2);
        debug_assert!(slots.iter().all(Slot::is_free));
        Probe {
            shift: 64 - slots.len().trailing_zeros(),
            slots,
            taken: 0,
        }
    }

    /// The slots, each of the taken ones freed by its number in `taken` (which must list
    /// every taken slot: what [`Probe::over_free`] needs; a number out of range is
    /// skipped).
    pub(crate) fn into_free_slots(mut self, taken: &[u32]) -> Vec<S> {
        for &i in taken {
            if let Some(s) = self.slots.get_mut(i as usize) {
                *s = S::default();
            }
        }
        debug_assert!(self.slots.iter().all(Slot::is_free));
        self.slots
    }

    /// The numbers of the taken slots, in slot order.
    pub(crate) fn taken_slots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.slots.len()).filter(|&i| !self.slots[i].is_free())
    }

    /// How many slots there are (0 for a table never sized).
    #[inline]
    pub(crate) fn slots(&self) -> usize {
        self.slots.len()
    }

    /// How many slots are taken.
    #[inline]
    pub(crate) fn taken(&self) -> usize {
        self.taken
    }

    /// True when one more entry would make the table more than half full (always for a
    /// table never sized).
    #[inline]
    pub(crate) fn full_for_one_more(&self) -> bool {
        (self.taken + 1) * 2 > self.slots.len()
    }

    /// The slot `hit` accepts on `hash`'s probe sequence (true), or the free slot that ends
    /// the sequence (false), where an entry for the key would go. The table must have slots.
    #[inline]
    pub(crate) fn find(&self, hash: u64, mut hit: impl FnMut(&S) -> bool) -> (usize, bool) {
        let mask = self.slots.len() - 1;
        let mut i = (hash >> self.shift) as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.is_free() {
                return (i, false);
            }
            if hit(s) {
                return (i, true);
            }
            i = (i + 1) & mask;
        }
    }

    /// [`Probe::find`], but the free slot that ends the sequence is taken: `fill` makes it
    /// hold the key (it starts as `S::default()`, as every free slot is). The slot's
    /// number, and true when `hit` accepted a slot (nothing was taken). One bounds check
    /// a probe: the slot is written where it was read.
    #[inline]
    pub(crate) fn find_or_take(
        &mut self,
        hash: u64,
        mut hit: impl FnMut(&S) -> bool,
        fill: impl FnOnce(&mut S),
    ) -> (usize, bool) {
        let mask = self.slots.len() - 1;
        let mut i = (hash >> self.shift) as usize & mask;
        loop {
            let s = &mut self.slots[i];
            if s.is_free() {
                fill(s);
                debug_assert!(!s.is_free());
                self.taken += 1;
                return (i, false);
            }
            if hit(s) {
                return (i, true);
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot at `i`.
    #[inline]
    pub(crate) fn at(&self, i: usize) -> &S {
        &self.slots[i]
    }

    /// The slot at `i`, to change what it holds (not to free it).
    #[inline]
    pub(crate) fn at_mut(&mut self, i: usize) -> &mut S {
        &mut self.slots[i]
    }

    /// Takes the free slot `i` (found by [`Probe::find`]) for `s`.
    #[inline]
    pub(crate) fn take(&mut self, i: usize, s: S) {
        debug_assert!(self.slots[i].is_free() && !s.is_free());
        self.slots[i] = s;
        self.taken += 1;
    }

    /// Moves every taken slot into a table of `size` slots (a power of two, larger than
    /// what is taken), placed again by `hash`; the old slots are freed. Out of line and
    /// cold: growth is rare, and inlined into a user's insertion it crowded the hot path.
    #[cold]
    #[inline(never)]
    pub(crate) fn resize(&mut self, size: usize, mut hash: impl FnMut(&S) -> u64) {
        let old = std::mem::replace(self, Probe::with_slots(size));
        for s in old.slots.into_iter().filter(|s| !s.is_free()) {
            let (i, _) = self.find(hash(&s), |_| false);
            self.take(i, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Probe, Slot};
    use crate::tests::rng::Rng;

    /// A slot holding a key (0 = free) that every test hashes the same way.
    #[derive(Clone, Copy, Default, Debug, PartialEq)]
    struct K(u64);

    impl Slot for K {
        fn is_free(&self) -> bool {
            self.0 == 0
        }
    }

    /// A deliberately weak hash (many keys share home slots), so probe runs are long.
    fn hash(k: u64) -> u64 {
        (k % 97).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// Inserting through `find`/`take`/`resize` keeps every key findable, finds nothing
    /// that was not inserted, and keeps the table at most half full, as a set does.
    #[test]
    fn probe_table_is_a_set() {
        let mut rng = Rng::new(11);
        for round in 0..40 {
            let mut t: Probe<K> = Probe::default();
            let mut want = std::collections::HashSet::new();
            for _ in 0..rng.below(2000) {
                let k = 1 + rng.below(if round % 2 == 0 { 300 } else { 1 << 40 });
                if t.full_for_one_more() {
                    let size = (t.slots() * 2).max(8);
                    t.resize(size, |s| hash(s.0));
                }
                let (i, found) = t.find(hash(k), |s| s.0 == k);
                assert_eq!(found, !want.insert(k), "round {round} key {k}");
                if !found {
                    t.take(i, K(k));
                }
                assert!(t.taken() * 2 <= t.slots());
            }
            assert_eq!(t.taken(), want.len());
            for &k in &want {
                let (i, found) = t.find(hash(k), |s| s.0 == k);
                assert!(found && *t.at(i) == K(k), "round {round} key {k}");
            }
            for k in (1u64 << 41)..(1u64 << 41) + 50 {
                assert!(t.slots() == 0 || !t.find(hash(k), |s| s.0 == k).1);
            }
        }
    }
}
