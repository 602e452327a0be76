//! Candidates: who may be recommended. Builds the hard filters (allow-list, exclusions, tag
//! constraints, rule blocks) *before* any selection, and gathers the candidate pool from the
//! snapshot's sources (popularity, co-occurrence, implicit, content, session) in a fixed,
//! hash-order-free order. Filtering first is what makes an allow-list of 20 items return 20
//! items instead of the reference's "top-k, then filter" 0–3.

use crate::config::Weights;
use crate::probe::{Probe, Slot};
use crate::ranking::blend;
use crate::snapshot::{ItemIdx, ItemTags, TagIdx, TenantSnapshot};
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A cheap hasher for dense `u32` keys (request-local maps only; never exposed).
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// A small open-addressing hash table from item key to a value, for request-local lookups
/// that every candidate makes (the pool's index, the anchors' and user's signal rows): a
/// [`Probe`] table (at most half full, linear probing) over Fibonacci-hashed keys, so a
/// lookup is a probe or two; grows by re-placing.
#[derive(Debug, Clone)]
pub struct KeyTable<V: Copy + Default> {
    table: Probe<KeySlot<V>>,
    /// The value of key `u32::MAX` (which `key + 1` cannot hold).
    max_key: Option<V>,
}

/// A [`KeyTable`] slot: `key + 1` (0 marks a free slot) and the key's value.
#[derive(Debug, Clone, Copy, Default)]
struct KeySlot<V> {
    tag: u32,
    value: V,
}

impl<V: Copy + Default> Slot for KeySlot<V> {
    #[inline]
    fn is_free(&self) -> bool {
        self.tag == 0
    }
}

/// The hash of a slot's tag (`key + 1`): Fibonacci hashing, whose high bits pick the slot.
#[inline]
fn key_hash(tag: u32) -> u64 {
    (tag as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl<V: Copy + Default> Default for KeyTable<V> {
    fn default() -> Self {
        KeyTable {
            table: Probe::default(),
            max_key: None,
        }
    }
}

impl<V: Copy + Default> KeyTable<V> {
    /// An empty table for about `n` keys.
    pub fn with_capacity(n: usize) -> Self {
        KeyTable {
            table: Probe::with_slots(Self::slots_for(n)),
            max_key: None,
        }
    }
    /// The slot count of a table for about `n` keys (at most half full).
    fn slots_for(n: usize) -> usize {
        (n.max(4) * 2).next_power_of_two()
    }
    /// How many keys the table holds.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.taken() + usize::from(self.max_key.is_some())
    }
    /// True when the table holds no key.
    pub fn is_empty(&self) -> bool {
        self.table.taken() == 0 && self.max_key.is_none()
    }
    /// True when the table has no slots yet (never sized, nothing inserted).
    fn never_sized(&self) -> bool {
        self.table.slots() == 0 && self.max_key.is_none()
    }
    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: u32) -> Option<V> {
        if key == u32::MAX {
            return self.max_key;
        }
        if self.table.slots() == 0 {
            return None;
        }
        let tag = key + 1;
        let (i, found) = self.table.find(key_hash(tag), |s| s.tag == tag);
        found.then(|| self.table.at(i).value)
    }
    /// The value of `key`, inserting `V::default()` when absent; true when it was inserted.
    #[inline(always)]
    pub fn entry(&mut self, key: u32) -> (&mut V, bool) {
        self.entry_noting(key, &mut ())
    }
    /// [`KeyTable::entry`], telling `notes` which slot a key takes and when the table
    /// grows.
    #[inline(always)]
    fn entry_noting(&mut self, key: u32, notes: &mut impl SlotNotes) -> (&mut V, bool) {
        if key == u32::MAX {
            let inserted = self.max_key.is_none();
            return (self.max_key.get_or_insert_with(V::default), inserted);
        }
        if self.table.full_for_one_more() {
            self.grow(notes);
        }
        let tag = key + 1;
        // A free slot's value is `V::default()` already: only the tag is written.
        let (i, found) = self
            .table
            .find_or_take(key_hash(tag), |s| s.tag == tag, |s| s.tag = tag);
        if !found {
            notes.took(i);
        }
        (&mut self.table.at_mut(i).value, !found)
    }
    /// Doubles the table (an unsized one starts at 16 slots), placing the keys again.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, notes: &mut impl SlotNotes) {
        let size = self.table.slots().max(8) * 2;
        self.table.resize(size, |s| key_hash(s.tag));
        notes.resized(&self.table);
    }
}

/// What a [`KeyTable`]'s user keeps track of as keys take slots: nothing (`()`), or the
/// pool index's list of taken slots ([`TakenSlots`]).
trait SlotNotes {
    /// Slot `i` was taken by a new key.
    fn took(&mut self, i: usize);
    /// The table was resized (its keys placed again).
    fn resized<V: Copy + Default>(&mut self, table: &Probe<KeySlot<V>>);
}

impl SlotNotes for () {
    #[inline(always)]
    fn took(&mut self, _: usize) {}
    #[inline(always)]
    fn resized<V: Copy + Default>(&mut self, _: &Probe<KeySlot<V>>) {}
}

/// The pool's index ([`Pool::lookup`]): every key the pool examined, with its position or
/// [`Pool::REFUSED`]. A [`KeyTable`], but a large table's slots outlive the request: they
/// come from the thread's spare table ([`SPARE_INDEX`]) and are handed back on drop with
/// only the slots this pool took cleared, by the list of their numbers. C and D at 1M
/// examine ~2,300-3,300 keys into 8,192 slots: a fresh 64 KB table was zeroed whole per
/// request (~65 k instructions of `memset` by callgrind's count).
#[derive(Debug, Default)]
struct PoolIndex {
    table: KeyTable<u32>,
    /// Which slots the table took, when it is handed back on drop.
    taken: TakenSlots,
}

/// The numbers of a kept pool index's taken slots (what its drop clears).
#[derive(Debug, Default)]
struct TakenSlots {
    /// The table is handed back on drop ([`PoolIndex::kept`]), so `list` lists its slots.
    keep: bool,
    /// Empty unless `keep` (a popularity-only request's table of 64 slots is not worth a
    /// list).
    list: Vec<u32>,
}

impl SlotNotes for TakenSlots {
    #[inline(always)]
    fn took(&mut self, i: usize) {
        if self.keep {
            self.list.push(i as u32);
        }
    }
    fn resized<V: Copy + Default>(&mut self, table: &Probe<KeySlot<V>>) {
        self.keep = PoolIndex::kept(table.slots());
        self.list.clear();
        if self.keep {
            self.list.reserve(table.slots() / 2);
            self.list.extend(table.taken_slots().map(|i| i as u32));
        }
    }
}

/// A [`PoolIndex`]'s slots, all free, and its emptied list of taken slots, kept for their
/// allocations.
type SpareIndex = (Vec<KeySlot<u32>>, Vec<u32>);

thread_local! {
    /// The slots of the last large pool index dropped on this thread.
    static SPARE_INDEX: Cell<SpareIndex> = const { Cell::new((Vec::new(), Vec::new())) };
}

impl PoolIndex {
    /// Smaller tables are allocated and zeroed per pool, as [`KeyTable`]'s are.
    const SPARE_MIN: usize = 1 << 10;
    /// Larger tables are not kept (512 KB).
    const SPARE_MAX: usize = 1 << 16;

    /// Whether a table of `slots` slots is kept across pools.
    fn kept(slots: usize) -> bool {
        (Self::SPARE_MIN..=Self::SPARE_MAX).contains(&slots)
    }

    /// An empty index for about `n` keys: the thread's spare slots when they are enough
    /// and at most four times what is needed, else a fresh table.
    fn with_capacity(n: usize) -> PoolIndex {
        let size = KeyTable::<u32>::slots_for(n);
        let (slots, mut list) = if Self::kept(size) {
            crate::spare::take(&SPARE_INDEX)
        } else {
            Default::default()
        };
        let table = if slots.len() < size || slots.len() > size * 4 {
            Probe::with_slots(size)
        } else {
            Probe::over_free(slots)
        };
        let keep = Self::kept(table.slots());
        if keep {
            list.clear();
            list.reserve(table.slots() / 2);
        }
        PoolIndex {
            table: KeyTable {
                table,
                max_key: None,
            },
            taken: TakenSlots { keep, list },
        }
    }

    /// True when the table has no slots yet (never sized, nothing inserted).
    fn never_sized(&self) -> bool {
        self.table.never_sized()
    }

    /// The value of `key`.
    #[inline]
    fn get(&self, key: u32) -> Option<u32> {
        self.table.get(key)
    }

    /// The value of `key`, inserting 0 when absent; true when it was inserted.
    #[inline(always)]
    fn entry(&mut self, key: u32) -> (&mut u32, bool) {
        self.table.entry_noting(key, &mut self.taken)
    }
}

impl Drop for PoolIndex {
    /// Hands a kept table back to the thread with its taken slots freed.
    fn drop(&mut self) {
        if !self.taken.keep {
            return;
        }
        let mut list = std::mem::take(&mut self.taken.list);
        let slots = std::mem::take(&mut self.table.table).into_free_slots(&list);
        list.clear();
        crate::spare::keep(&SPARE_INDEX, (slots, list));
    }
}

/// A request-local item key: ids below the catalog size are snapshot items; ids at or above
/// it name items the catalog does not know (from `include_ids` or rules), kept by string.
#[derive(Debug, Default)]
pub struct Keys<'a> {
    pub catalog: u32,
    pub external: Vec<&'a str>,
    external_index: HashMap<&'a str, u32>,
}

impl<'a> Keys<'a> {
    pub fn new(snap: &TenantSnapshot) -> Keys<'a> {
        Keys {
            catalog: snap.catalog_len() as u32,
            external: Vec::new(),
            external_index: HashMap::new(),
        }
    }
    /// The key of an item id already looked up in the catalog (`item`, one of a batched
    /// lookup's answers): the catalog item, or a request-local key for an id the catalog does
    /// not know (interned, so the same id named twice, or by a rule, gets the same key).
    pub fn resolved(&mut self, id: &'a str, item: Option<ItemIdx>) -> u32 {
        item.unwrap_or_else(|| self.external_key(id))
    }
    /// The key of an id the catalog is known not to have (a rule's stale id), interning it.
    pub fn external_key(&mut self, id: &'a str) -> u32 {
        if let Some(&k) = self.external_index.get(id) {
            return k;
        }
        let k = self.catalog + self.external.len() as u32;
        self.external.push(id);
        self.external_index.insert(id, k);
        k
    }
    pub fn name<'s>(&'s self, snap: &'s TenantSnapshot, k: u32) -> &'s str {
        if k < self.catalog {
            snap.items.name(k)
        } else {
            self.external
                .get((k - self.catalog) as usize)
                .copied()
                .unwrap_or("")
        }
    }
    /// Orders two keys by their id strings (catalog keys are interned in byte order).
    pub fn cmp_ids(&self, snap: &TenantSnapshot, a: u32, b: u32) -> std::cmp::Ordering {
        if a < self.catalog && b < self.catalog {
            a.cmp(&b)
        } else {
            self.name(snap, a).cmp(self.name(snap, b))
        }
    }
    pub fn tags<'s>(
        &self,
        snap: &'s TenantSnapshot,
        k: u32,
    ) -> Option<crate::snapshot::ItemTags<'s>> {
        snap.item_tags(k)
    }
}

/// The pipeline stage that removed a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Include,
    Exclude,
    Constraints,
    Rules,
}

/// Counts per stage over the candidates examined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageCounts {
    pub candidates: u64,
    pub after_include: u64,
    pub after_exclude: u64,
    pub after_constraints: u64,
    pub after_rules: u64,
}

impl StageCounts {
    /// Records `n` candidates that passed every stage ([`StageCounts::record`] of `Ok`
    /// `n` times).
    pub fn passed(&mut self, n: usize) {
        let n = n as u64;
        self.candidates += n;
        self.after_include += n;
        self.after_exclude += n;
        self.after_constraints += n;
        self.after_rules += n;
    }
    pub fn record(&mut self, r: Result<(), Stage>) {
        self.candidates += 1;
        match r {
            Err(Stage::Include) => {}
            Err(Stage::Exclude) => self.after_include += 1,
            Err(Stage::Constraints) => {
                self.after_include += 1;
                self.after_exclude += 1;
            }
            Err(Stage::Rules) => {
                self.after_include += 1;
                self.after_exclude += 1;
                self.after_constraints += 1;
            }
            Ok(()) => {
                self.after_include += 1;
                self.after_exclude += 1;
                self.after_constraints += 1;
                self.after_rules += 1;
            }
        }
    }
}

/// A request's allow-list (`candidates.include_ids`) as a set of keys: one probe table, built
/// once per request and asked by the hard filters (every offer, rule injections included)
/// and by the signal rows (the anchors' and user's rows keep only allowed keys). No sort:
/// the list's order and repeats do not matter to a set.
#[derive(Debug, Default)]
pub struct AllowSet {
    table: KeyTable<()>,
    /// The distinct keys, first occurrences in list order.
    keys: Vec<u32>,
}

impl AllowSet {
    /// The set of `keys` (repeats counted once).
    pub fn new(keys: &[u32]) -> AllowSet {
        let mut table = KeyTable::with_capacity(keys.len());
        let mut distinct = Vec::with_capacity(keys.len());
        for &k in keys {
            if table.entry(k).1 {
                distinct.push(k);
            }
        }
        AllowSet {
            table,
            keys: distinct,
        }
    }
    /// Whether `k` is allowed (one probe).
    #[inline]
    pub fn contains(&self, k: u32) -> bool {
        self.table.get(k).is_some()
    }
    /// How many distinct keys are allowed.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// A one-hash bit filter of a key set: a key whose bit is clear is not in the set; a set
/// bit says only "maybe" (the set itself answers). Empty (never built) it says "maybe" to
/// every key.
#[derive(Debug, Default)]
pub(crate) struct KeyBits {
    /// One bit per hash value (a power of two of them); empty when not built.
    words: Vec<u64>,
    /// `64 - log2(bits)`: a key's hash, shifted down, is its bit.
    shift: u32,
}

impl KeyBits {
    /// The filter of `keys`, 32 bits a key (about 3% of the keys outside the set find their
    /// bit set) within `min_bits..=max_bits` (powers of two); empty for no keys.
    fn of(keys: &[u32], min_bits: usize, max_bits: usize) -> KeyBits {
        let mut f = KeyBits::sized(keys.len(), min_bits, max_bits);
        for &k in keys {
            f.insert(k);
        }
        f
    }
    /// An empty filter sized for `keys` keys as [`KeyBits::of`] sizes it (none for none).
    fn sized(keys: usize, min_bits: usize, max_bits: usize) -> KeyBits {
        let mut f = KeyBits::default();
        if keys == 0 {
            return f;
        }
        let bits = (keys * 32).next_power_of_two().clamp(min_bits, max_bits);
        f.words = vec![0; bits / 64];
        f.shift = 64 - bits.trailing_zeros();
        f
    }
    /// Adds key `k` (the filter must be sized).
    #[inline]
    fn insert(&mut self, k: u32) {
        let b = self.bit(k);
        self.words[b / 64] |= 1 << (b % 64);
    }
    /// The bit of key `k`.
    #[inline]
    fn bit(&self, k: u32) -> usize {
        ((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }
    /// False when `k` is surely not in the set; true when it may be (or nothing was built).
    #[inline]
    fn may_hold(&self, k: u32) -> bool {
        if self.words.is_empty() {
            return true;
        }
        let b = self.bit(k);
        self.words[b / 64] & (1 << (b % 64)) != 0
    }
}

/// A [`KeyBits`] filter in front of an [`AllowSet`], for walks over many more keys than
/// the set holds (the anchors' neighbour rows against a short allow-list): a key whose bit
/// is clear is not allowed, which most neighbours are not, so the set's table is probed
/// only for the rest (a load and a bit test instead of a probe sequence).
#[derive(Debug)]
struct AllowFilter<'s> {
    set: &'s AllowSet,
    /// The set's bits; empty when not worth building (the walk is short against the list).
    bits: KeyBits,
    /// Probes of the set's table made through the filter (the size tests count them).
    #[cfg(test)]
    probes: std::cell::Cell<usize>,
}

impl<'s> AllowFilter<'s> {
    /// Fewest bits (and their most: 2^18 bits, 32 KB, for lists past 8,192 keys, where
    /// the walk it serves is at least as long as the list).
    const MIN_BITS: usize = 1 << 10;
    const MAX_BITS: usize = 1 << 18;

    /// A filter of `set` for a walk over `walk` keys: built when the walk is at least as
    /// long as the set (the build costs a few instructions a key and a byte of zeroing per
    /// 8 bits); else every key asks the set.
    fn new(set: &'s AllowSet, walk: usize) -> AllowFilter<'s> {
        let keys = &set.keys;
        let bits = if walk >= keys.len() {
            KeyBits::of(keys, Self::MIN_BITS, Self::MAX_BITS)
        } else {
            KeyBits::default()
        };
        AllowFilter {
            set,
            bits,
            #[cfg(test)]
            probes: std::cell::Cell::new(0),
        }
    }
    /// Whether `k` is in the set: its bit first, then the set's table.
    #[inline]
    fn contains(&self, k: u32) -> bool {
        if !self.bits.may_hold(k) {
            return false;
        }
        #[cfg(test)]
        self.probes.set(self.probes.get() + 1);
        self.set.contains(k)
    }
}

fn intersects(a: &[u32], sorted: &[u32]) -> bool {
    !sorted.is_empty() && a.iter().any(|x| sorted.binary_search(x).is_ok())
}

/// Every hard filter of a request, resolved to keys and tag ids.
#[derive(Debug, Default)]
pub struct Filters<'s> {
    /// The allow-list's keys; `None` when the request has no `include_ids`.
    pub allow: Option<AllowSet>,
    /// Sorted excluded keys (only ids the request or catalog know).
    pub exclude: Vec<u32>,
    /// A bit filter of `exclude` ([`Filters::index_exclusions`]), asked before its binary
    /// search; empty (every key searched) until built.
    pub(crate) exclude_bits: KeyBits,
    /// Required tags ("any of"); `Some(vec![])` when every required tag is unknown (nothing passes).
    pub required: Option<Vec<TagIdx>>,
    pub forbidden: Vec<TagIdx>,
    /// Rule blocks, looked up by target per candidate (`None` when rules are off).
    pub blocks: Option<&'s crate::rules::eval::Scope<'s>>,
}

impl Filters<'_> {
    /// Fewest and most bits of the exclusions' filter (1,024 bits for up to 32 keys, 64 KB
    /// past 16,384 keys).
    const EXCLUDE_BITS: (usize, usize) = (1 << 10, 1 << 19);

    /// Builds the bit filter of `exclude` (sorted by then) that [`Filters::check`] asks
    /// before searching the list: most candidates are not excluded, and their bit is clear.
    pub(crate) fn index_exclusions(&mut self) {
        let (min, max) = Self::EXCLUDE_BITS;
        self.exclude_bits = KeyBits::of(&self.exclude, min, max);
    }
    /// True when every item passes every filter: no allow-list, exclusion or tag filter,
    /// and no rule that could block (rules off, or the snapshot has none at all).
    pub fn pass_every_item(&self) -> bool {
        self.allow.is_none()
            && self.exclude.is_empty()
            && self.required.is_none()
            && self.forbidden.is_empty()
            && self.blocks.is_none_or(|b| b.snap.rules.is_empty())
    }
    /// Checks one candidate against every hard filter, in pipeline order.
    #[inline]
    pub fn check(&self, snap: &TenantSnapshot, keys: &Keys, k: u32) -> Result<(), Stage> {
        if let Some(allow) = &self.allow {
            if !allow.contains(k) {
                return Err(Stage::Include);
            }
        }
        self.check_allowed(snap, keys, k)
    }
    /// Checks a candidate known to pass the allow-list (one of its own keys) against every
    /// other hard filter, in pipeline order. Inlined into [`Pool::offer`] as the whole check
    /// was before it was split (called out of line, with the pool's index entry, C's offers
    /// cost ~300 instructions more a request per 1,000 offers).
    #[inline(always)]
    pub(crate) fn check_allowed(
        &self,
        snap: &TenantSnapshot,
        keys: &Keys,
        k: u32,
    ) -> Result<(), Stage> {
        if self.exclude_bits.may_hold(k) && self.exclude.binary_search(&k).is_ok() {
            return Err(Stage::Exclude);
        }
        // Tags only when a filter needs them (each lookup is a few cache misses at scale);
        // rule blocks need them only for items some block rule could remove.
        let may_block = self.blocks.is_some_and(|b| b.may_block(keys, k));
        // Blocked by a rule for every request: one bit, no tag row for the block lookup.
        let always = may_block && self.blocks.is_some_and(|b| b.always_blocks(keys, k));
        let needs_tags =
            self.required.is_some() || !self.forbidden.is_empty() || (may_block && !always);
        let tags = if needs_tags { keys.tags(snap, k) } else { None };
        if let Some(req) = &self.required {
            match tags {
                Some(t) if intersects(t.all, req) => {}
                _ => return Err(Stage::Constraints),
            }
        }
        if let Some(t) = tags {
            if intersects(t.all, &self.forbidden) {
                return Err(Stage::Constraints);
            }
        }
        if always || (may_block && self.blocks.is_some_and(|b| b.blocks(keys, k, tags))) {
            return Err(Stage::Rules);
        }
        Ok(())
    }
}

/// Raw signal values of one candidate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Signals {
    pub pop: f64,
    pub cooc: f64,
    pub collab: f64,
    pub content: f64,
    pub session: f64,
}

/// One pooled candidate.
#[derive(Clone, Debug)]
pub struct Cand {
    pub key: u32,
    pub raw: Signals,
    pub score: f64,
    /// Sum of boost deltas applied.
    pub boost: f64,
}

/// Request-time signal lookups derived from anchors and the user.
#[derive(Debug, Default)]
pub struct SignalMaps {
    /// The anchors' co-occurrence rows were read (`rows` holds their scores).
    has_cooc: bool,
    /// Union of the anchors' similarity tags, sorted, with how many anchors carry each (an
    /// anchor's content similarity is measured against the *other* anchors: a tag counts
    /// for it when another anchor carries it too); the content candidates' order. Not built
    /// for an allow-listed request (no content candidates), whose counts are only in
    /// `anchor_table`.
    pub anchor_tags: Vec<(TagIdx, u32)>,
    /// Some anchor carries a similarity tag (content similarity is read per candidate).
    any_anchor_tag: bool,
    /// `anchor_tags` as an open-addressing table (what every candidate's content similarity
    /// looks its tags up in: a probe or two instead of a binary search per tag).
    anchor_table: TagTable,
    /// A 1,024-bit filter of `anchor_tags` (bit `tag % 1024`): a candidate's tag whose bit
    /// is clear is no anchor tag, which most tags of most candidates are not, so the table
    /// is probed only for the rest.
    anchor_mask: [u64; 16],
    /// The anchors, sorted.
    pub anchors: Vec<ItemIdx>,
    /// A 1,024-bit filter of `anchors` (bit `key % 1024`): a key whose bit is clear is no
    /// anchor, so the anchors are searched only for the rest (every content offer asks).
    anchor_keys: [u64; 16],
    /// The co-occurrence score (the max over the anchors' rows), the user's implicit and
    /// session scores in one table: (cooc, collab, session) per item, what every
    /// candidate's signals are looked up in (one probe instead of three).
    rows: KeyTable<[f64; 3]>,
    /// A bit filter of the keys `rows` holds, asked before its probe: most candidates are
    /// in no signal row (D at 1M: ~2,000 of ~2,300), and a clear bit costs a few
    /// instructions where a probe that finds nothing costs ~25. Empty (every key probed)
    /// when not built.
    row_keys: KeyBits,
}

/// Fewest and most bits of [`SignalMaps`]' row-key filter: 1,024 bits for up to 32 row
/// entries, 512 bytes past 128 (C and D at 1M: ~300 entries, ~7% of the bits set; 2 KB
/// spared a few probes and cost more to allocate and zero).
const ROW_KEY_BITS: (usize, usize) = (1 << 10, 1 << 12);

/// Candidates whose catalog rows [`SignalMaps::fill`] locates in one loop before reading them.
const FILL_CHUNK: usize = 16;

/// A small open-addressing hash table from tag to count, built per request from the anchors'
/// tags (a power-of-two table at most a quarter full, linear probing).
#[derive(Debug, Default)]
struct TagTable {
    /// `(tag + 1, count)`; 0 marks an empty slot.
    slots: Vec<(u32, u32)>,
    shift: u32,
}

impl TagTable {
    /// An empty table of `size` slots (a power of two).
    fn with_slots(size: usize) -> TagTable {
        TagTable {
            slots: vec![(0, 0); size],
            shift: 64 - size.trailing_zeros(),
        }
    }
    fn build(tags: &[(TagIdx, u32)]) -> TagTable {
        let size = (tags.len() * 4).next_power_of_two().max(8);
        let mut t = TagTable::with_slots(size);
        for &(tag, n) in tags {
            let mut i = t.slot(tag);
            while t.slots[i].0 != 0 {
                i = (i + 1) & (size - 1);
            }
            t.slots[i] = (tag.wrapping_add(1), n);
        }
        t
    }
    fn slot(&self, tag: TagIdx) -> usize {
        ((tag as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }
    /// Adds one to the count of `tag` (the table must have a free slot left; as in
    /// [`TagTable::build`], tag `u32::MAX` cannot be held and reads 0).
    fn bump(&mut self, tag: TagIdx) {
        let (key, mask) = (tag.wrapping_add(1), self.slots.len() - 1);
        if key == 0 {
            return;
        }
        let mut i = self.slot(tag);
        loop {
            let slot = &mut self.slots[i];
            if slot.0 == 0 || slot.0 == key {
                *slot = (key, slot.1 + 1);
                return;
            }
            i = (i + 1) & mask;
        }
    }
    /// The count of `tag` (0 when absent).
    fn get(&self, tag: TagIdx) -> u32 {
        if self.slots.is_empty() {
            return 0;
        }
        let (key, mask) = (tag.wrapping_add(1), self.slots.len() - 1);
        let mut i = self.slot(tag);
        loop {
            match self.slots[i] {
                (0, _) => return 0,
                (k, n) if k == key => return n,
                _ => i = (i + 1) & mask,
            }
        }
    }
}

/// Which signal sources one request uses: the weights' needs and the config switches.
#[derive(Clone, Copy, Debug, Default)]
pub struct SignalUse {
    /// Co-occurrence scores from the anchors' rows.
    pub cooc: bool,
    /// The user's implicit row (similarity score).
    pub collaborative: bool,
    /// Content similarity against the anchors' tags.
    pub content: bool,
    /// The user's session row (similarity score).
    pub session: bool,
}

impl SignalMaps {
    #[inline]
    pub fn build(
        snap: &TenantSnapshot,
        anchors: &[ItemIdx],
        user_key: &str,
        used: SignalUse,
        only: Option<&AllowSet>,
    ) -> SignalMaps {
        let mut m = SignalMaps::default();
        let cooc_rows: Vec<&[(ItemIdx, f64)]> = if used.cooc {
            anchors.iter().map(|&a| snap.cooc_row(a)).collect()
        } else {
            Vec::new()
        };
        warm(&cooc_rows, |e| e.0);
        let user_rows: [Option<&[(ItemIdx, f64)]>; 2] = if user_key.is_empty() {
            [None, None]
        } else {
            // Looked up only when used (an anonymous popularity request has a user key).
            [
                used.collaborative
                    .then(|| snap.implicit.get(user_key))
                    .flatten()
                    .map(|r| &r[..]),
                used.session
                    .then(|| snap.session.get(user_key))
                    .flatten()
                    .map(|r| &r[..]),
            ]
        };
        let n: usize = cooc_rows.iter().map(|r| r.len()).sum::<usize>()
            + user_rows.iter().flatten().map(|r| r.len()).sum::<usize>();
        m.has_cooc = used.cooc;
        // Anchors may be neighbours of each other (included items co-occur); rows never
        // contain their own anchor.
        match only {
            // No rows at all (a popularity-only request): no table to allocate and zero.
            None if n == 0 => {}
            None => {
                m.rows = KeyTable::with_capacity(n);
                m.row_keys = KeyBits::sized(n, ROW_KEY_BITS.0, ROW_KEY_BITS.1);
                each_row_entry(&cooc_rows, user_rows, |k, field, v| {
                    m.row_keys.insert(k);
                    put_row(&mut m.rows, k, field, v)
                });
            }
            // With an allow-list no other item can be a candidate, so the rows keep just its
            // keys (200 allowed anchors' rows hold thousands of neighbours, of which a few
            // are allowed): each neighbour is asked of the allow-list (through its bit
            // filter when the rows are long against the list), the few kept are gathered
            // first, and the table is sized for them, not for the list.
            Some(set) => {
                let filter = AllowFilter::new(set, n);
                let mut kept: Vec<(u32, usize, f64)> = Vec::new();
                each_row_entry(&cooc_rows, user_rows, |k, field, v| {
                    if filter.contains(k) {
                        kept.push((k, field, v));
                    }
                });
                if !kept.is_empty() {
                    m.rows = KeyTable::with_capacity(kept.len());
                }
                for (k, field, v) in kept {
                    put_row(&mut m.rows, k, field, v);
                }
            }
        }
        if used.content {
            m.anchors = anchors.to_vec();
            m.anchors.sort_unstable();
            m.anchors.dedup();
            for &a in &m.anchors {
                m.anchor_keys[(a as usize / 64) % 16] |= 1 << (a % 64);
            }
            // Every anchor's row first (independent loads, which overlap), then their tags.
            let sims: Vec<&[TagIdx]> = m.anchors.iter().map(|&a| snap.tag_index.sim(a)).collect();
            if only.is_some() {
                m.count_anchor_tags(&sims);
            } else {
                let mut tags: Vec<TagIdx> = sims.concat();
                tags.sort_unstable();
                for t in tags {
                    match m.anchor_tags.last_mut() {
                        Some((last, n)) if *last == t => *n += 1,
                        _ => m.anchor_tags.push((t, 1)),
                    }
                }
                m.anchor_table = TagTable::build(&m.anchor_tags);
                for &(t, _) in &m.anchor_tags {
                    m.anchor_mask[(t as usize / 64) % 16] |= 1 << (t % 64);
                }
                m.any_anchor_tag = !m.anchor_tags.is_empty();
            }
        }
        m
    }

    /// The anchors' tag table and filter counted straight from their similarity-tag rows
    /// (`sims`), for an allow-listed request: it offers no content candidates, so the tags
    /// are not needed in order (50 anchors' ~300 tags were sorted for nothing), and a table
    /// at most half full of every tag occurrence is half the size [`TagTable::build`] gives
    /// the distinct tags. The counts are those of the sorted list's runs.
    fn count_anchor_tags(&mut self, sims: &[&[TagIdx]]) {
        let total: usize = sims.iter().map(|r| r.len()).sum();
        if total == 0 {
            return;
        }
        self.anchor_table = TagTable::with_slots((total * 2).next_power_of_two().max(8));
        for row in sims {
            for &t in row.iter() {
                self.anchor_table.bump(t);
                self.anchor_mask[(t as usize / 64) % 16] |= 1 << (t % 64);
            }
        }
        self.any_anchor_tag = true;
    }

    /// Content similarity of item `k`, whose similarity tags are `sim`: how many of them the
    /// anchors carry (for an anchor, the *other* anchors), each looked up in the anchors'
    /// tag table.
    #[inline(always)]
    fn content_of(&self, k: u32, sim: &[TagIdx]) -> f64 {
        // Tags one anchor carries (`once`) and tags two or more carry (`more`).
        let (mut once, mut more) = (0u32, 0u32);
        for &x in sim {
            if self.anchor_mask[(x as usize / 64) % 16] & (1 << (x % 64)) != 0 {
                match self.anchor_table.get(x) {
                    0 => {}
                    1 => once += 1,
                    _ => more += 1,
                }
            }
        }
        // An anchor's own tags count once in `anchor_tags`; they must come from another,
        // so an anchor's `once` tags are its own. Whether `k` is an anchor is searched only
        // when that matters (most candidates carry no anchor tag at all).
        if once > 0 && self.is_anchor(k) {
            once = 0;
        }
        (once + more) as f64
    }

    /// True when no signal but popularity is read for any item: no co-occurrence or user
    /// row holds a score and no anchor carries a similarity tag, so every other raw signal
    /// of every candidate is zero ([`SignalMaps::signals`]).
    pub fn reads_popularity_only(&self) -> bool {
        self.rows.is_empty() && !self.any_anchor_tag
    }

    /// Whether `k` is one of the anchors (known when content similarity is used).
    pub fn is_anchor(&self, k: u32) -> bool {
        self.anchor_keys[(k as usize / 64) % 16] & (1 << (k % 64)) != 0
            && self.anchors.binary_search(&k).is_ok()
    }

    /// Raw signals of one item, read on their own (what [`SignalMaps::fill`] computes for a
    /// chunk of candidates at a time).
    pub fn signals(&self, snap: &TenantSnapshot, k: u32) -> Signals {
        let pop = snap.pop_count.get(k as usize).copied().unwrap_or(0.0);
        let content = if self.any_anchor_tag {
            self.content_of(k, snap.tag_index.sim(k))
        } else {
            0.0
        };
        self.signals_of(k, pop, content)
    }

    /// Raw signals of item `k` with popularity count `pop` and content similarity `content`.
    fn signals_of(&self, k: u32, pop: f64, content: f64) -> Signals {
        let [cooc, collab, session] = if self.row_keys.may_hold(k) {
            self.rows.get(k).unwrap_or_default()
        } else {
            [0.0; 3]
        };
        Signals {
            pop,
            cooc,
            collab,
            content,
            session,
        }
    }

    /// The raw signals and blended score (weights `w`) of each of `cands` (an item's catalog
    /// rows are a few cache misses at catalog scale: a chunk's popularity counts and tag rows
    /// are read in one short loop first, so their misses overlap, then its signals are
    /// computed and blended while the candidate is at hand). Out of line: with one caller
    /// left it was inlined into [`Pool::fill_signals`], which then was not inlined into the
    /// popularity walk's path (A's call +~50 instructions).
    #[inline(never)]
    fn fill(&self, snap: &TenantSnapshot, cands: &mut [Cand], w: &Weights) {
        self.fill_chunks(snap, cands, w, |_, _| {});
    }

    /// [`SignalMaps::fill`], calling `after(start, chunk)` once each chunk (`cands[start..]`'s
    /// first [`FILL_CHUNK`]) is scored. One loop for every chunk: the recording fill called
    /// the plain fill per chunk, and each call's set-up (the maps' fields, the chunk's
    /// arrays) cost ~190 instructions (~27 k a D request at 1M).
    #[inline(always)]
    fn fill_chunks(
        &self,
        snap: &TenantSnapshot,
        cands: &mut [Cand],
        w: &Weights,
        mut after: impl FnMut(usize, &[Cand]),
    ) {
        // A's calls fill nothing (the walk scored its pool): no arrays to set up.
        if cands.is_empty() {
            return;
        }
        let content = self.any_anchor_tag;
        // Written before read in each chunk (entries past a short last chunk are not read).
        let mut pop = [0.0f64; FILL_CHUNK];
        let mut sim: [&[TagIdx]; FILL_CHUNK] = [&[]; FILL_CHUNK];
        for (ci, chunk) in cands.chunks_mut(FILL_CHUNK).enumerate() {
            for (j, c) in chunk.iter().enumerate() {
                pop[j] = snap.pop_count.get(c.key as usize).copied().unwrap_or(0.0);
                if content {
                    sim[j] = snap.tag_index.sim(c.key);
                }
            }
            for (j, c) in chunk.iter_mut().enumerate() {
                self.score(c, pop[j], sim[j], content, w);
            }
            after(ci * FILL_CHUNK, chunk);
        }
    }

    /// [`SignalMaps::fill`] that reads each candidate's whole tag row and records its
    /// targeted tags in `hits` (see [`TagHits`]), so the rules' tag scan does not read the
    /// rows again. Out of line: inlined beside [`SignalMaps::fill`] it cost the plain path
    /// ~14 k instructions per C request.
    #[inline(never)]
    fn fill_recording(
        &self,
        snap: &TenantSnapshot,
        cands: &mut [Cand],
        w: &Weights,
        hits: &mut TagHits,
    ) {
        // Two loops: with the candidates told apart by the tag-target bitset, or (dense
        // targets) every row read and scanned without a test.
        if snap.rule_index.filters_tag_rows() {
            self.fill_then_record(snap, cands, w, hits);
        } else {
            self.fill_recording_dense(snap, cands, w, hits);
        }
    }

    /// [`SignalMaps::fill_recording`] when the tag-target bitset tells candidates apart
    /// ([`crate::rules::eval::RuleIndex::may_hit`]; at 1M most candidates are outside it):
    /// each chunk is filled as [`SignalMaps::fill`] fills it, then the chunk's candidates
    /// inside the bitset have their tag rows read (the fill just read their similarity
    /// tags from the same rows) and their targeted tags recorded. The candidates outside
    /// it cost one bit test (the bitset's words held for the loop): no 64-byte tag row
    /// is carried through the scoring loop per candidate, and nothing is recorded for
    /// those outside (D at 1M: the recording fill 705 k → 685 k instructions a request).
    #[inline(always)]
    fn fill_then_record(
        &self,
        snap: &TenantSnapshot,
        cands: &mut [Cand],
        w: &Weights,
        hits: &mut TagHits,
    ) {
        let ix = &snap.rule_index;
        let targets = ix.tag_target_set().unwrap_or_default();
        // Sized for a targeted key per candidate (most carry none).
        hits.hits.reserve(cands.len());
        let (upto, list) = (hits.upto, &mut hits.hits);
        self.fill_chunks(snap, cands, w, |start, chunk| {
            for (j, c) in chunk.iter().enumerate() {
                if crate::rules::eval::bit_set(targets, c.key) {
                    let pos = (upto + start + j) as u32;
                    ix.item_tag_hits(&snap.tag_index, c.key, pos, list);
                }
            }
        });
        hits.upto += cands.len();
    }

    /// [`SignalMaps::fill_recording`] when the tag targets are dense (nearly every
    /// candidate carries one): every candidate's whole tag row is read once, for its
    /// similarity tags and its targeted tags.
    #[inline(always)]
    fn fill_recording_dense(
        &self,
        snap: &TenantSnapshot,
        cands: &mut [Cand],
        w: &Weights,
        hits: &mut TagHits,
    ) {
        let content = self.any_anchor_tag;
        // Sized for a few targeted keys per candidate, as the rules' own scan is.
        hits.hits.reserve(cands.len() * 4);
        for chunk in cands.chunks_mut(FILL_CHUNK) {
            let mut pop = [0.0f64; FILL_CHUNK];
            let mut rows = [ItemTags::default(); FILL_CHUNK];
            for (j, c) in chunk.iter().enumerate() {
                pop[j] = snap.pop_count.get(c.key as usize).copied().unwrap_or(0.0);
                rows[j] = snap.item_tags(c.key).unwrap_or_default();
            }
            for (j, c) in chunk.iter_mut().enumerate() {
                self.score(c, pop[j], rows[j].sim, content, w);
                hits.record(snap, rows[j]);
            }
        }
    }

    /// Candidate `c`'s raw signals (popularity count `pop`, similarity tags `sim` when
    /// `content`) and its blended score.
    // In each fill loop, as the loop body it was: a call per candidate (and `content_of`
    // out of line) cost C ~70 k instructions a request.
    #[inline(always)]
    fn score(&self, c: &mut Cand, pop: f64, sim: &[TagIdx], content: bool, w: &Weights) {
        let cs = if content {
            self.content_of(c.key, sim)
        } else {
            0.0
        };
        c.raw = self.signals_of(c.key, pop, cs);
        c.score = blend(w, &c.raw).score;
    }

    /// The anchors' co-occurrence candidates: the first `per_anchor` neighbours of each
    /// anchor's row (strongest first), minus `seeds`, ordered by their co-occurrence score
    /// (the max over anchors) descending, then key.
    pub fn cooc_candidates(
        &self,
        snap: &TenantSnapshot,
        anchors: &[ItemIdx],
        seeds: &[ItemIdx],
        per_anchor: usize,
    ) -> Vec<u32> {
        if !self.has_cooc {
            return Vec::new();
        }
        let windows = anchors.iter().map(|&a| snap.cooc_row(a));
        let mut v: Vec<u128> =
            Vec::with_capacity(windows.clone().map(|r| r.len().min(per_anchor)).sum());
        for row in windows {
            for &(n, _) in row.iter().take(per_anchor) {
                // Every neighbour the rows kept has its co-occurrence score there.
                if let Some([c, _, _]) = self.rows.get(n) {
                    v.push(score_key(c, n));
                }
            }
        }
        // Each anchor's row is in this order already (score desc, key asc; a neighbour's
        // score is the max over the rows, which is its own row's value unless another
        // anchor's row holds it higher): a few runs to merge, not a sort of the whole.
        sort_runs(&mut v);
        // A key has one score, so its repeats are equal and adjacent.
        v.dedup();
        v.into_iter()
            .map(|x| x as u32)
            // Explicit request anchors are the seeds, not co-occurrence candidates.
            .filter(|k| !seeds.contains(k))
            .collect()
    }
}

/// `(score, key)` as one integer whose ascending order is score descending
/// ([`f64::total_cmp`]), then key ascending: the co-occurrence candidates' order.
#[inline]
fn score_key(score: f64, key: u32) -> u128 {
    ((!crate::ranking::ordered_bits(score) as u128) << 32) | key as u128
}

/// Sorts `v` ascending by merging its ascending runs pairwise (bottom up, through one
/// scratch buffer): O(n log r) for r runs, and with more than [`MERGED_RUNS`] runs a plain
/// sort. The co-occurrence candidates arrive as one sorted run per anchor; an unstable sort
/// of C's 250 by a float comparator cost ~50 k instructions a request.
fn sort_runs(v: &mut Vec<u128>) {
    // The run bounds of this pass and the next, sized once (growing them and a new list a
    // pass cost ~5 reallocations a request at 1M, ~2.7 k instructions).
    let mut bounds: Vec<usize> = Vec::with_capacity(MERGED_RUNS + 2);
    bounds.push(0);
    for i in 1..v.len() {
        if v[i] < v[i - 1] {
            if bounds.len() > MERGED_RUNS {
                v.sort_unstable();
                return;
            }
            bounds.push(i);
        }
    }
    if bounds.len() == 1 {
        return;
    }
    bounds.push(v.len());
    let mut src = std::mem::take(v);
    let mut dst: Vec<u128> = Vec::with_capacity(src.len());
    let mut next: Vec<usize> = Vec::with_capacity(bounds.len() / 2 + 2);
    while bounds.len() > 2 {
        dst.clear();
        next.clear();
        next.push(0);
        for pair in bounds.windows(3).step_by(2) {
            merge_into(&src[pair[0]..pair[1]], &src[pair[1]..pair[2]], &mut dst);
            next.push(dst.len());
        }
        if bounds.len().is_multiple_of(2) {
            // An odd run count: the last run is carried over as it is.
            let last = bounds[bounds.len() - 2];
            dst.extend_from_slice(&src[last..]);
            next.push(dst.len());
        }
        std::mem::swap(&mut src, &mut dst);
        std::mem::swap(&mut bounds, &mut next);
    }
    *v = src;
}

/// More runs than this and [`sort_runs`] sorts instead of merging.
const MERGED_RUNS: usize = 64;

/// Appends the merge of the ascending `a` and `b` to `out`.
fn merge_into(a: &[u128], b: &[u128], out: &mut Vec<u128>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if b[j] < a[i] {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// Calls `f` with every entry of the signal rows as (key, field, value), in the order they
/// are applied: the anchors' co-occurrence rows (field 0), then the user's implicit (1) and
/// session (2) rows. Plain loops: an iterator chain of the same walk was not inlined
/// (~35 instructions a neighbour more).
#[inline(always)]
fn each_row_entry(
    cooc_rows: &[&[(ItemIdx, f64)]],
    user_rows: [Option<&[(ItemIdx, f64)]>; 2],
    mut f: impl FnMut(u32, usize, f64),
) {
    for row in cooc_rows {
        for &(k, c) in row.iter() {
            f(k, 0, c);
        }
    }
    for (field, row) in [(1, user_rows[0]), (2, user_rows[1])] {
        for &(k, v) in row.unwrap_or_default() {
            f(k, field, v);
        }
    }
}

/// Applies one row entry to the signal table: a co-occurrence count raises the key's
/// (the max over the anchors' rows, from 0), a user row's score replaces it (the last wins).
#[inline]
fn put_row(rows: &mut KeyTable<[f64; 3]>, k: u32, field: usize, v: f64) {
    let e = &mut rows.entry(k).0[field];
    if field > 0 || v > *e {
        *e = v;
    }
}

/// Reads the first entry of each row in one short loop (`key` of it), so the rows' first
/// cache misses overlap instead of each waiting for the last (rows of a catalog-sized
/// index are far apart); what reads the rows next finds them cached.
fn warm<T>(rows: &[&[T]], key: impl Fn(&T) -> u32) {
    let sum = rows
        .iter()
        .filter_map(|r| r.first())
        .fold(0u32, |acc, e| acc.wrapping_add(key(e)));
    std::hint::black_box(sum);
}

/// Per-source candidate budgets of one request (`limits` of the surface config).
#[derive(Clone, Copy, Debug)]
pub struct Budgets {
    /// Co-occurrence neighbours per anchor.
    pub cooc_per_anchor: usize,
    /// Content candidates per anchor similarity tag.
    pub content_per_tag: usize,
    /// Content candidates over all anchor tags.
    pub content_total: usize,
}

impl Budgets {
    pub fn of(l: &crate::config::Limits) -> Budgets {
        Budgets {
            cooc_per_anchor: l.cooc_per_anchor as usize,
            content_per_tag: l.content_per_tag as usize,
            content_total: l.content_candidates as usize,
        }
    }
    /// Content candidates each of `tags` anchor tags may add: `content_per_tag`, or an equal
    /// share of `content_total` when that is smaller (at least one while any is left).
    pub fn per_tag(&self, tags: usize) -> usize {
        let share = self
            .content_total
            .checked_div(tags)
            .map_or(0, |share| share.max(1));
        self.content_per_tag.min(share)
    }
}

/// The largest candidate buffer a thread keeps for its next popularity walk (4 KiB).
pub const SPARE_MAX: usize = 64;

thread_local! {
    /// An emptied candidate buffer of the thread's last pool, for the next popularity walk
    /// ([`Pool::give_back`], [`Pool::for_walk`]); at most [`SPARE_MAX`] candidates.
    static SPARE_CANDS: Cell<Vec<Cand>> = const { Cell::new(Vec::new()) };
}

/// The candidate pool: candidates in insertion order plus a key index.
#[derive(Debug, Default)]
pub struct Pool {
    pub cands: Vec<Cand>,
    /// Every key examined: its position in `cands`, or [`Pool::REFUSED`] when a hard filter
    /// refused it (one map, so an offer costs one hash insert).
    index: PoolIndex,
    pub counts: StageCounts,
    /// Keys examined and removed by rule blocks (per-rule telemetry).
    pub blocked: Vec<u32>,
    /// At most this many candidates are pooled (`limits.max_pool` while sources are
    /// gathered; lifted for rule injections, see [`Pool::lift_cap`]).
    cap: usize,
    /// `cands[..scored]` hold their raw signals ([`Pool::fill_signals`]).
    scored: usize,
    /// The targeted tags of the first candidates, recorded while their signals were read.
    tag_hits: TagHits,
}

/// The tags of the pool's first candidates (`cands[..upto]`) that some tag boost or pin
/// targets: (tagged slot of the rule index, pool position) in pool order, recorded by
/// [`Pool::fill_signals`] from the tag rows it reads for the signals anyway; the rules'
/// resolution scans only the candidates after `upto`.
#[derive(Debug, Default)]
pub struct TagHits {
    /// (slot, pool position) per targeted tag of each recorded candidate, in pool order.
    pub hits: Vec<(u32, u32)>,
    /// How many of the pool's first candidates are recorded.
    pub upto: usize,
}

impl TagHits {
    /// Records the next candidate's targeted tags (`tags`: its tag row, empty outside the
    /// catalog).
    #[inline]
    fn record(&mut self, snap: &TenantSnapshot, tags: ItemTags) {
        snap.rule_index
            .tag_hits(tags, self.upto as u32, &mut self.hits);
        self.upto += 1;
    }
}

impl Pool {
    /// [`Pool::index`] value of a key examined and refused by the hard filters.
    const REFUSED: u32 = u32::MAX;
    /// The first room of [`Pool::blocked`].
    const BLOCKED_FIRST: usize = 32;

    /// An empty pool for about `n` candidates that takes at most `cap`.
    #[inline]
    pub fn with_capacity(n: usize, cap: usize) -> Pool {
        Pool {
            cands: Vec::with_capacity(n.min(cap)),
            index: PoolIndex::with_capacity(n.min(cap)),
            cap,
            ..Pool::default()
        }
    }
    /// Where candidate `k` stands: its pool position (`Ok`), or whether the hard filters
    /// examined and refused it (`Err(true)`) or it was never offered (`Err(false)`); one
    /// probe.
    pub fn lookup(&self, k: u32) -> Result<usize, bool> {
        match self.index.get(k) {
            Some(Pool::REFUSED) => Err(true),
            Some(i) => Ok(i as usize),
            None => Err(false),
        }
    }
    /// An empty pool for about `n` candidates that takes at most `cap`, without an index
    /// table: for a popularity walk that is its only source and that nothing looks up or
    /// adds to after (no rule acts on it), which then may index no key
    /// ([`Pool::walk_popular`]). Other offers index as usual (the table grows from empty).
    /// The buffer is the thread's spare one when it has one ([`Pool::give_back`]): a walk's
    /// pool of ~20 candidates (64 bytes each) is past glibc's small-block cache, and its
    /// malloc and free cost ~600 instructions of a ~4k decision.
    #[inline]
    pub fn for_walk(n: usize, cap: usize) -> Pool {
        let n = n.min(cap);
        let mut cands = crate::spare::take(&SPARE_CANDS);
        cands.reserve_exact(n);
        Pool {
            cands,
            cap,
            ..Pool::default()
        }
    }
    /// Hands the pool's candidate buffer, emptied, to the thread's next [`Pool::for_walk`]
    /// when it holds at most [`SPARE_MAX`] candidates (a larger one is freed with the pool).
    pub fn give_back(&mut self) {
        if self.cands.capacity() <= SPARE_MAX {
            crate::spare::keep_small(&SPARE_CANDS, std::mem::take(&mut self.cands), SPARE_MAX);
        }
    }
    /// Whether the pool has reached its cap (sources stop offering).
    pub fn full(&self) -> bool {
        self.cands.len() >= self.cap
    }
    /// Lifts the cap once the sources are gathered: rule injections come on top.
    /// An unindexed walk's candidates are indexed first, so the injections' offers and
    /// lookups find them.
    pub fn lift_cap(&mut self) {
        if self.index.never_sized() && !self.cands.is_empty() {
            self.index_walk();
        }
        self.cap = usize::MAX;
    }
    /// Indexes the candidates of an unindexed walk at their positions (it refused none).
    #[cold]
    fn index_walk(&mut self) {
        for (pos, c) in self.cands.iter().enumerate() {
            *self.index.entry(c.key).0 = pos as u32;
        }
    }
    /// Examines a candidate once: counts it, applies the filters, and pools it if it passes
    /// (its signals are read later, for many candidates at once: [`Pool::fill_signals`]).
    /// Returns true when it was pooled.
    pub fn offer(&mut self, snap: &TenantSnapshot, keys: &Keys, f: &Filters, k: u32) -> bool {
        self.offer_checked(snap, keys, f, k, false)
    }
    /// [`Pool::offer`] inlined into a source's loop: the popularity and co-occurrence
    /// sources offer ~1,300 candidates a C or D request at 1M, each paying a call's
    /// prologue and epilogue otherwise.
    #[inline(always)]
    pub(crate) fn offer_inlined(
        &mut self,
        snap: &TenantSnapshot,
        keys: &Keys,
        f: &Filters,
        k: u32,
    ) -> bool {
        self.offer_checked(snap, keys, f, k, false)
    }
    /// [`Pool::offer`] for a key of the request's own allow-list (`include_ids`): counted
    /// and filtered alike, but not asked of the allow-list it comes from.
    pub(crate) fn offer_listed(
        &mut self,
        snap: &TenantSnapshot,
        keys: &Keys,
        f: &Filters,
        k: u32,
    ) -> bool {
        self.offer_checked(snap, keys, f, k, true)
    }
    /// [`Pool::offer`], with the allow-list check skipped when `listed`.
    #[inline(always)]
    fn offer_checked(
        &mut self,
        snap: &TenantSnapshot,
        keys: &Keys,
        f: &Filters,
        k: u32,
        listed: bool,
    ) -> bool {
        if self.full() {
            return false;
        }
        let (slot, new) = self.index.entry(k);
        if !new {
            return false;
        }
        let r = if listed {
            f.check_allowed(snap, keys, k)
        } else {
            f.check(snap, keys, k)
        };
        self.counts.record(r);
        if r.is_err() {
            *slot = Pool::REFUSED;
            if r == Err(Stage::Rules) {
                self.note_blocked(k);
            }
            return false;
        }
        *slot = self.cands.len() as u32;
        self.cands.push(Cand {
            key: k,
            raw: Signals::default(),
            score: 0.0,
            boost: 0.0,
        });
        true
    }
    /// Notes a key a rule block refused; the list starts at [`Pool::BLOCKED_FIRST`] keys
    /// (D at 1M blocks some tens of keys a request: grown from empty the list was
    /// reallocated four times, ~2 k instructions).
    #[inline]
    fn note_blocked(&mut self, k: u32) {
        if self.blocked.capacity() == 0 {
            self.blocked.reserve(Self::BLOCKED_FIRST);
        }
        self.blocked.push(k);
    }
    /// Reads the raw signals of the candidates pooled since the last call and blends their
    /// scores with weights `w`; with `tag_rules` (some tag boost or pin may act on the pool)
    /// also records their targeted tags ([`Pool::tag_hits`]) from the same tag rows.
    pub fn fill_signals(
        &mut self,
        snap: &TenantSnapshot,
        maps: &SignalMaps,
        w: &Weights,
        tag_rules: bool,
    ) {
        // Tag hits are recorded for the pool's first candidates only, without a gap.
        let record = tag_rules && self.tag_hits.upto == self.scored;
        match &mut self.cands[self.scored..] {
            // A rule injection: one candidate, no chunk to overlap.
            [c] if !record => {
                c.raw = maps.signals(snap, c.key);
                c.score = blend(w, &c.raw).score;
            }
            pending if record => maps.fill_recording(snap, pending, w, &mut self.tag_hits),
            pending => maps.fill(snap, pending, w),
        }
        self.scored = self.cands.len();
    }
    /// The popularity walk: offers the snapshot's most popular items in popularity order
    /// until `fanout` were pooled (or the pool is full), reading each pooled candidate's
    /// popularity and blending its score (weights `w`) as it is pooled. It pools, counts
    /// and scores exactly what offering each of them ([`Pool::offer`]) and then
    /// [`Pool::fill_signals`] give, when that fill reads no signal but popularity
    /// ([`SignalMaps::reads_popularity_only`]), records no tags (`tag_rules` false) and
    /// every pooled candidate is scored already. Otherwise it pools nothing and returns
    /// false (the caller offers and fills as usual).
    ///
    /// On an empty pool without an index table ([`Pool::for_walk`]) through filters every
    /// item passes ([`Filters::pass_every_item`]) it indexes no key (the popularity order
    /// holds each item once, and none is refused): the pool then takes no other offer, and
    /// [`Pool::lookup`] finds none of its candidates, until [`Pool::lift_cap`] indexes
    /// them. There the candidates' scores are copied from `known` when it holds the first
    /// ones under `w` (see [`Pool::take_most_popular`]; pass `&[]` when none are known).
    #[allow(clippy::too_many_arguments)]
    pub fn walk_popular(
        &mut self,
        snap: &TenantSnapshot,
        keys: &Keys,
        f: &Filters,
        maps: &SignalMaps,
        w: &Weights,
        fanout: usize,
        tag_rules: bool,
        known: &[f64],
    ) -> bool {
        if tag_rules || !maps.reads_popularity_only() || self.scored != self.cands.len() {
            return false;
        }
        if self.cands.is_empty() && self.index.never_sized() && f.pass_every_item() {
            self.take_most_popular(snap, w, fanout, known);
            return true;
        }
        let mut taken = 0usize;
        for &k in snap.pop_order.iter() {
            // A full pool refuses every later offer unchanged: the walk may stop there.
            if taken >= fanout || self.full() {
                break;
            }
            if self.offer_checked(snap, keys, f, k, false) {
                let pop = snap.pop_count.get(k as usize).copied().unwrap_or(0.0);
                if let Some(c) = self.cands.last_mut() {
                    c.raw.pop = pop;
                    c.score = crate::ranking::popularity_score(w, pop);
                }
                taken += 1;
            }
        }
        self.scored = self.cands.len();
        true
    }
    /// An unindexed walk through filters every item passes: the most popular items, up to
    /// `fanout` and the cap, each pooled, counted as passing and scored; the pool is closed
    /// (cap 0) until [`Pool::lift_cap`].
    /// `known`: the scores of the first items of the popularity order under `w`, when known
    /// (an installed snapshot's memo, [`crate::serve::prewritten::ScoreTexts::popular_under`]);
    /// copied instead of blended when they cover the walk (a saturation's division, the
    /// blend and its finiteness check, ~20 instructions a candidate).
    fn take_most_popular(
        &mut self,
        snap: &TenantSnapshot,
        w: &Weights,
        fanout: usize,
        known: &[f64],
    ) {
        let n = fanout.min(self.cap).min(snap.pop_order.len());
        let order = &snap.pop_order[..n];
        let cand = |k: u32, score: Option<f64>| {
            let pop = snap.pop_count.get(k as usize).copied().unwrap_or(0.0);
            Cand {
                key: k,
                raw: Signals {
                    pop,
                    ..Signals::default()
                },
                score: score.unwrap_or_else(|| crate::ranking::popularity_score(w, pop)),
                boost: 0.0,
            }
        };
        match known.get(..n) {
            Some(scores) => {
                let pooled = order.iter().zip(scores).map(|(&k, &s)| cand(k, Some(s)));
                self.cands.extend(pooled);
            }
            None => self.cands.extend(order.iter().map(|&k| cand(k, None))),
        }
        self.counts.passed(n);
        self.scored = n;
        self.cap = 0;
    }
    /// Content candidates: for each anchor similarity tag in tag order, its most popular
    /// items (the tag's postings order) that are not anchors, up to [`Budgets::per_tag`]
    /// pooled per tag and `content_total` in all.
    pub fn offer_content(
        &mut self,
        snap: &TenantSnapshot,
        keys: &Keys,
        f: &Filters,
        maps: &SignalMaps,
        b: &Budgets,
    ) {
        let per_tag = b.per_tag(maps.anchor_tags.len());
        let mut total = 0usize;
        for &(t, _) in &maps.anchor_tags {
            let Some(p) = snap.tag_index.postings(t) else {
                continue;
            };
            let mut taken = 0;
            for &k in p.iter() {
                if taken >= per_tag || total >= b.content_total || self.full() {
                    break;
                }
                if maps.is_anchor(k) {
                    continue;
                }
                // The offer inlined: ~1,700 content offers a C or D request at 1M each paid
                // a call's prologue and epilogue (~15 instructions).
                if self.offer_checked(snap, keys, f, k, false) {
                    taken += 1;
                    total += 1;
                }
            }
        }
    }
    pub fn len(&self) -> usize {
        self.cands.len()
    }
    /// The targeted tags recorded for the pool's first candidates.
    pub fn tag_hits(&self) -> &TagHits {
        &self.tag_hits
    }
    pub fn is_empty(&self) -> bool {
        self.cands.is_empty()
    }
}

#[cfg(test)]
mod tag_table_tests {
    use super::TagTable;
    use crate::tests::rng::Rng;

    /// The anchors' tag table answers every tag's count exactly as a binary search of the
    /// sorted `(tag, count)` list does (0 for absent tags), on seeded random lists of every
    /// size up to 200, including tag 0 and `u32::MAX - 1`.
    #[test]
    fn tag_table_matches_a_binary_search() {
        let mut rng = Rng::new(11);
        let mut next = |n: u64| rng.below(n) as u32;
        for len in 0..200usize {
            let mut tags: Vec<(u32, u32)> = (0..len).map(|_| (next(500), 1 + next(5))).collect();
            if len % 7 == 3 {
                tags.push((0, 2));
                tags.push((u32::MAX - 1, 3));
            }
            tags.sort_unstable();
            tags.dedup_by_key(|t| t.0);
            let table = TagTable::build(&tags);
            for probe in (0..520).chain([u32::MAX - 1, u32::MAX - 2]) {
                let want = tags
                    .binary_search_by_key(&probe, |t| t.0)
                    .map_or(0, |i| tags[i].1);
                assert_eq!(table.get(probe), want, "len {len} tag {probe}");
            }
        }
        assert_eq!(TagTable::default().get(3), 0);
    }
}

#[cfg(test)]
mod key_table_tests {
    use super::{KeyTable, PoolIndex};
    use crate::tests::rng::Rng;
    use std::collections::HashMap;

    /// A key → `u32` table under test against a `HashMap` model.
    pub(super) trait KeyMap {
        fn get(&self, key: u32) -> Option<u32>;
        fn entry(&mut self, key: u32) -> (&mut u32, bool);
    }

    impl KeyMap for KeyTable<u32> {
        fn get(&self, key: u32) -> Option<u32> {
            KeyTable::get(self, key)
        }
        fn entry(&mut self, key: u32) -> (&mut u32, bool) {
            KeyTable::entry(self, key)
        }
    }

    impl KeyMap for PoolIndex {
        fn get(&self, key: u32) -> Option<u32> {
            PoolIndex::get(self, key)
        }
        fn entry(&mut self, key: u32) -> (&mut u32, bool) {
            PoolIndex::entry(self, key)
        }
    }

    /// One step on `table` and its model `want`: a lookup of `key` (both answer alike), or
    /// an entry that adds `step` to its value (inserted exactly when the model lacks it).
    pub(super) fn model_step(
        table: &mut impl KeyMap,
        want: &mut HashMap<u32, u32>,
        key: u32,
        step: u32,
        lookup: bool,
        round: usize,
    ) {
        if lookup {
            assert_eq!(table.get(key), want.get(&key).copied(), "round {round}");
            return;
        }
        let (v, inserted) = table.entry(key);
        assert_eq!(
            inserted,
            !want.contains_key(&key),
            "round {round} key {key}"
        );
        *v = v.wrapping_add(step);
        let w = want.entry(key).or_insert(0);
        *w = w.wrapping_add(step);
    }

    /// The key table answers every lookup and insertion as a `HashMap` does, through growth
    /// from an empty and from a sized table, with clustered, spread and extreme keys.
    #[test]
    fn key_table_matches_a_hash_map() {
        let mut rng = Rng::new(3);
        let mut next = |n: u64| rng.below(n);
        for round in 0..60 {
            let mut table: KeyTable<u32> = if round % 2 == 0 {
                KeyTable::default()
            } else {
                KeyTable::with_capacity(next(50) as usize)
            };
            let mut want: HashMap<u32, u32> = HashMap::new();
            for step in 0..(1 + next(3000)) {
                let key = match next(4) {
                    0 => next(64) as u32,
                    1 => u32::MAX - next(3) as u32,
                    2 => (next(1 << 20) as u32) << 11,
                    _ => next(1 << 31) as u32,
                };
                let lookup = next(3) == 0;
                model_step(&mut table, &mut want, key, step as u32, lookup, round);
            }
            for (&k, &v) in &want {
                assert_eq!(table.get(k), Some(v), "round {round} key {k}");
            }
        }
    }
}

#[cfg(test)]
mod pool_index_tests {
    use super::key_table_tests::model_step;
    use super::{PoolIndex, SPARE_INDEX};
    use crate::tests::rng::Rng;
    use std::collections::HashMap;

    /// Pool indexes made one after another on this thread (so most reuse the slots the last
    /// one handed back) answer every lookup and insertion as a `HashMap` does, through
    /// growth, from small, spare-sized and oversized requests, with clustered, spread and
    /// extreme keys; a dropped index hands back only free slots.
    #[test]
    fn pool_indexes_in_turn_match_a_hash_map() {
        let mut rng = Rng::new(17);
        let mut reused = 0;
        for round in 0..80 {
            let spare_len = SPARE_INDEX.with(|c| {
                let spare = c.take();
                let len = spare.0.len();
                let free = |s: &super::KeySlot<u32>| s.tag == 0 && s.value == 0;
                assert!(spare.0.iter().all(free), "round {round}");
                assert!(spare.1.is_empty(), "round {round}");
                c.set(spare);
                len
            });
            let n = match rng.below(4) {
                0 => rng.below(40) as usize,
                1 => 512 + rng.below(600) as usize,
                2 => 3000,
                _ => rng.below(40_000) as usize,
            };
            let mut index = PoolIndex::with_capacity(n);
            let slots = |index: &PoolIndex| index.table.table.slots();
            if spare_len > 0 && slots(&index) == spare_len {
                reused += 1;
            }
            let mut want: HashMap<u32, u32> = HashMap::new();
            let span = [64u64, 5_000, 1 << 31][rng.index(3)];
            for step in 0..rng.below(3 * n as u64 + 50) {
                let key = match rng.below(8) {
                    0 => u32::MAX - rng.below(3) as u32,
                    1 => (rng.below(1 << 20) as u32) << 11,
                    _ => rng.below(span) as u32,
                };
                let lookup = rng.below(3) == 0;
                model_step(&mut index, &mut want, key, step as u32, lookup, round);
                assert!(
                    index.table.table.taken() * 2 <= slots(&index),
                    "round {round}"
                );
            }
            for (&k, &v) in &want {
                assert_eq!(index.get(k), Some(v), "round {round} key {k}");
            }
            let in_table = want.keys().filter(|&&k| k != u32::MAX).count();
            assert_eq!(index.table.table.taken(), in_table, "round {round}");
            assert_eq!(
                index.taken.keep,
                PoolIndex::kept(slots(&index)),
                "round {round}"
            );
            if index.taken.keep {
                let mut taken = index.taken.list.clone();
                taken.sort_unstable();
                let free = |i: usize| index.table.table.at(i).tag == 0;
                let listed: Vec<u32> = (0..slots(&index) as u32)
                    .filter(|&i| !free(i as usize))
                    .collect();
                assert_eq!(taken, listed, "round {round}");
            }
        }
        assert!(reused > 20, "only {reused} indexes reused the spare slots");
    }
}

#[cfg(test)]
mod allow_set_tests {
    use super::{AllowFilter, AllowSet};
    use crate::tests::rng::Rng;

    /// A random list of `len` keys below `span` (repeats likely when `span` is small).
    fn list(rng: &mut Rng, len: usize, span: u64) -> Vec<u32> {
        (0..len).map(|_| rng.below(span) as u32).collect()
    }

    /// The set, and the set behind its bit filter (built or not), answer as a search of the
    /// list: lists from empty to past the filter's largest size (2^18 bits from 8,192
    /// keys), keys crowded in a narrow range or spread over a million, keys 0 and
    /// `u32::MAX`.
    #[test]
    fn allow_set_and_filter_answer_as_the_list() {
        let mut rng = Rng::new(5);
        for round in 0..60 {
            let len = match round % 4 {
                0 => rng.below(5) as usize,
                1 => rng.below(300) as usize,
                2 => rng.below(3_000) as usize,
                _ => 8_000 + rng.below(12_000) as usize,
            };
            let span = *rng.pick(&[len as u64 + 10, 1 << 20, 1 << 32]);
            let mut keys = list(&mut rng, len, span);
            if rng.chance(300) {
                keys.extend([0, u32::MAX]);
            }
            let set = AllowSet::new(&keys);
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(set.len(), sorted.len());
            let walk = [0, set.len() / 2, set.len(), 10 * set.len() + 1][(round / 4) % 4];
            let filter = AllowFilter::new(&set, walk);
            assert_eq!(
                filter.bits.words.is_empty(),
                walk < set.len() || set.len() == 0
            );
            let asked = keys
                .iter()
                .copied()
                .chain(list(&mut rng, 2_000, span))
                .chain([0, 1, u32::MAX - 1, u32::MAX]);
            for k in asked {
                let want = sorted.binary_search(&k).is_ok();
                assert_eq!(set.contains(k), want, "round {round} key {k}");
                assert_eq!(filter.contains(k), want, "round {round} key {k}");
            }
        }
    }

    /// What a walk over the anchors' neighbours costs against the list (instruction counts
    /// are the benches' evidence; this is the bound): each neighbour asks the set's table
    /// at most once, as every neighbour did before the filter, and behind the filter only
    /// the allowed ones and ~3% of the rest (E's 200 allowed keys against 2,500 neighbours;
    /// 10,000 allowed against 200,000 neighbours, 1,000 anchors of 200 each, with the filter
    /// at its largest, 32 KB); a walk shorter than the list builds no filter.
    #[test]
    fn filtered_walks_probe_the_table_for_few_keys() {
        let mut rng = Rng::new(9);
        for (len, walk, at_most_outside) in [
            (200, 2_500, 0.06),
            (10_000, 200_000, 0.08),
            (100_000, 200_000, 0.45),
            (10_000, 5_000, 1.0),
        ] {
            let keys = list(&mut rng, len, 1 << 20);
            let set = AllowSet::new(&keys);
            let filter = AllowFilter::new(&set, walk);
            // A quarter of the walk is allowed keys, the rest any key of the catalog.
            let walked: Vec<u32> = (0..walk)
                .map(|i| match i % 4 {
                    0 => *rng.pick(&keys),
                    _ => rng.below(1 << 20) as u32,
                })
                .collect();
            let allowed = walked.iter().filter(|&&k| set.contains(k)).count();
            let passed = walked.iter().filter(|&&k| filter.contains(k)).count();
            assert_eq!(passed, allowed);
            let probes = filter.probes.get();
            assert!(probes <= walk, "{len} {walk}: {probes} probes");
            let outside = (walk - allowed) as f64;
            assert!(
                (probes - allowed) as f64 <= at_most_outside * outside,
                "{len} {walk}: {probes} probes, {allowed} allowed"
            );
            assert!(filter.bits.words.len() * 8 <= 32 << 10);
            if walk < set.len() {
                assert!(filter.bits.words.is_empty() && probes == walk);
            }
        }
    }
}

#[cfg(test)]
mod allow_list_signal_tests {
    use super::{AllowSet, SignalMaps, SignalUse};
    use crate::config::TenantConfig;
    use crate::snapshot::{SignalData, TenantSnapshot, Versions};

    /// With an allow-list the signal rows hold only allowed keys, and every allowed key gets
    /// exactly the signals the unfiltered maps give it (so answers cannot change).
    #[test]
    fn allow_listed_signal_rows_keep_only_allowed_keys_with_the_same_signals() {
        let id = |i: usize| format!("i{i:03}");
        let row = |a: usize| {
            (0..40)
                .map(|j| (id((a * 7 + j * 3) % 200), (j + 1) as f64))
                .collect()
        };
        let data = SignalData {
            popularity: Some((0..200).map(|i| (id(i), i as f64)).collect()),
            cooc: Some((0..200).map(|a| (id(a), row(a))).collect()),
            implicit: Some(vec![("u".into(), row(5))]),
            session: Some(vec![("u".into(), row(9))]),
            content: None,
        };
        let cfg = TenantConfig::default();
        let snap = TenantSnapshot::compile("t", "home", &cfg, vec![], data, Versions::default());
        let key = |i: usize| snap.items.get(&id(i)).unwrap();
        let anchors: Vec<u32> = (0..20).map(|i| key(i * 3)).collect();
        let mut allow: Vec<u32> = (0..30).map(|i| key(i * 5 + 1)).collect();
        allow.sort_unstable();
        let used = SignalUse {
            cooc: true,
            collaborative: true,
            content: false,
            session: true,
        };
        let all = SignalMaps::build(&snap, &anchors, "u", used, None);
        let only = SignalMaps::build(&snap, &anchors, "u", used, Some(&AllowSet::new(&allow)));
        assert!(only.rows.len() <= allow.len(), "{} rows", only.rows.len());
        assert!(all.rows.len() > 3 * allow.len(), "{} rows", all.rows.len());
        for &k in &allow {
            let (a, b) = (all.signals(&snap, k), only.signals(&snap, k));
            assert_eq!((a.cooc, a.collab, a.session), (b.cooc, b.collab, b.session));
        }
    }
}

#[cfg(test)]
mod batched_signal_tests {
    use super::{AllowSet, Filters, Keys, Pool, SignalMaps, SignalUse};
    use crate::config::TenantConfig;
    use crate::snapshot::{SignalData, TenantSnapshot, Versions};
    use crate::tests::rng::Rng;

    /// A random catalog of `n` items: popularity, co-occurrence rows, a user's implicit and
    /// session rows, and 0-5 tags of `t0..t14` per item.
    fn world(rng: &mut Rng, n: usize) -> TenantSnapshot {
        let id = |i: u64| format!("i{i:03}");
        let row = |rng: &mut Rng| -> Vec<(String, f64)> {
            (0..rng.below(12))
                .map(|_| (id(rng.below(n as u64)), 1.0 + rng.below(9) as f64))
                .collect()
        };
        let data = SignalData {
            popularity: Some(
                (0..n as u64)
                    .map(|i| (id(i), rng.below(50) as f64))
                    .collect(),
            ),
            cooc: Some((0..n as u64).map(|a| (id(a), row(rng))).collect()),
            implicit: Some(vec![("u".into(), row(rng))]),
            session: Some(vec![("u".into(), row(rng))]),
            content: Some(
                (0..n as u64)
                    .map(|i| {
                        let tags = (0..rng.below(6)).map(|_| format!("t{}", rng.below(15)));
                        (id(i), tags.collect())
                    })
                    .collect(),
            ),
        };
        let cfg = TenantConfig::default();
        TenantSnapshot::compile("t", "home", &cfg, vec![], data, Versions::default())
    }

    /// A random sorted, distinct list of up to `n` values below `below`.
    /// Fewer than `most` anchors drawn from the `n` items (repeats possible).
    fn some_anchors(rng: &mut Rng, n: usize, most: u64) -> Vec<u32> {
        (0..rng.below(most))
            .map(|_| rng.below(n as u64) as u32)
            .collect()
    }

    fn sorted(rng: &mut Rng, n: u64, below: u64) -> Vec<u32> {
        let mut v: Vec<u32> = (0..rng.below(n + 1))
            .map(|_| rng.below(below) as u32)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The pool takes exactly the candidates a plain reading of the hard filters passes
    /// (allow-list, exclusions, "any of" required tags, forbidden tags), each key once, with
    /// the stage counts to match; each filter is set on its own in some rounds and none in
    /// others (the unfiltered path), unknown keys and repeats included; through
    /// [`Pool::offer`] and the sources' inlined [`Pool::offer_inlined`] in turn.
    #[test]
    fn offers_pass_exactly_what_the_filters_allow() {
        let mut rng = Rng::new(23);
        for round in 0..300 {
            let n = 5 + rng.below(60) as usize;
            let snap = world(&mut rng, n);
            let span = n as u64 + 4;
            let mut f = Filters::default();
            let only = rng.below(6);
            let set = |rng: &mut Rng, which: u64| only == which || (only == 5 && rng.below(2) == 0);
            let mut allow: Option<Vec<u32>> = None;
            if set(&mut rng, 0) {
                // Unsorted, with repeats: the set does not care.
                let mut list = sorted(&mut rng, 30, span);
                list.extend(list.clone().iter().rev().step_by(2));
                f.allow = Some(AllowSet::new(&list));
                allow = Some(list);
            }
            if set(&mut rng, 1) {
                f.exclude = sorted(&mut rng, 10, span);
            }
            if set(&mut rng, 2) {
                f.required = Some(sorted(&mut rng, 3, 20));
            }
            if set(&mut rng, 3) {
                f.forbidden = sorted(&mut rng, 3, 20);
            }
            let keys = Keys::new(&snap);
            let tags = |k: u32| snap.item_tags(k).map(|t| t.all);
            let passes = |k: u32| {
                let any_in =
                    |list: &[u32]| tags(k).is_some_and(|t| t.iter().any(|x| list.contains(x)));
                allow.as_ref().is_none_or(|a| a.contains(&k))
                    && !f.exclude.contains(&k)
                    && f.required.as_ref().is_none_or(|r| any_in(r))
                    && !any_in(&f.forbidden)
            };
            let mut pool = Pool::with_capacity(4, usize::MAX);
            let (mut seen, mut want) = (Vec::new(), Vec::new());
            for _ in 0..rng.below(3 * span) {
                let k = rng.below(span) as u32;
                let first = !seen.contains(&k);
                let pooled = first && passes(k);
                seen.push(k);
                if pooled {
                    want.push(k);
                }
                let got = if rng.chance(500) {
                    pool.offer_inlined(&snap, &keys, &f, k)
                } else {
                    pool.offer(&snap, &keys, &f, k)
                };
                assert_eq!(got, pooled, "round {round} key {k}");
            }
            let got: Vec<u32> = pool.cands.iter().map(|c| c.key).collect();
            assert_eq!(got, want, "round {round}");
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(pool.counts.candidates, seen.len() as u64, "round {round}");
            assert_eq!(pool.counts.after_rules, want.len() as u64, "round {round}");
        }
    }

    /// `is_anchor` (a key filter, then a search) answers exactly as a search of the
    /// anchors, for every key of catalogs up to ~5,000 items (keys that share a filter bit
    /// with an anchor among them) and for keys past the catalog.
    #[test]
    fn anchor_filter_answers_as_a_search() {
        let mut rng = Rng::new(31);
        let used = SignalUse {
            content: true,
            ..SignalUse::default()
        };
        for round in 0..20 {
            let n = 5 + rng.below(5_000) as usize;
            let snap = world(&mut rng, n);
            let anchors = some_anchors(&mut rng, n, 40);
            let maps = SignalMaps::build(&snap, &anchors, "", used, None);
            for k in (0..n as u32 + 3000).chain([u32::MAX - 1, u32::MAX]) {
                assert_eq!(
                    maps.is_anchor(k),
                    anchors.contains(&k),
                    "round {round} key {k}"
                );
            }
        }
    }

    /// The allow-listed gather equals the unfiltered one: the same requests (random
    /// allow-lists with repeats and unknown keys, empty lists, exclusions, anchors with
    /// their rows, a user with history or none, every signal switch, rule injections
    /// offered after the sources) pool the same candidates, in the same order, with
    /// bit-identical raw signals and scores, whether the signal rows were built for the
    /// allow-list (walked through its bit filter or, for walks shorter than the list,
    /// probed key by key) or unfiltered, as they were before allow-lists had a path of their
    /// own. The rows keep no key outside the list.
    #[test]
    fn allow_listed_gather_equals_the_unfiltered_gather() {
        let mut rng = Rng::new(41);
        let (mut filtered, mut probed, mut empty) = (0, 0, 0);
        let (mut with_content, mut with_cooc, mut with_user) = (0, 0, 0);
        let mut refused = 0;
        for round in 0..400 {
            let n = 5 + rng.below(120) as usize;
            let snap = world(&mut rng, n);
            let span = n as u64 + 6;
            let anchors: Vec<u32> = (0..rng.below(30))
                .map(|_| rng.below(n as u64) as u32)
                .collect();
            let mut list: Vec<u32> = (0..rng.below(if round % 2 == 0 { 12 } else { 2 * span }))
                .map(|_| rng.below(span) as u32)
                .collect();
            if rng.chance(100) {
                list.clear();
            }
            // Exclusions few or many (past the bit filter's 32 keys a 1,024-bit word set),
            // often among the list's own keys.
            let mut exclude = sorted(&mut rng, if round % 3 == 0 { 60 } else { 8 }, span);
            exclude.extend(list.iter().filter(|_| rng.chance(150)));
            exclude.sort_unstable();
            exclude.dedup();
            // The request's filters (exclusions indexed), and the reference: every key asks
            // the allow set and searches the exclusions, as before.
            let mut f = Filters {
                allow: Some(AllowSet::new(&list)),
                exclude: exclude.clone(),
                ..Filters::default()
            };
            f.index_exclusions();
            let plain = Filters {
                allow: Some(AllowSet::new(&list)),
                exclude,
                ..Filters::default()
            };
            let user = *rng.pick(&["u", "", "nobody"]);
            let used = SignalUse {
                cooc: rng.below(4) != 0,
                collaborative: rng.below(4) != 0,
                content: rng.below(4) != 0,
                session: rng.below(4) != 0,
            };
            let w = crate::config::Weights {
                pop: 0.5,
                cooc: 1.0,
                emb: [0.0, 0.25][rng.below(2) as usize],
            };
            let walk: usize = anchors.iter().map(|&a| snap.cooc_row(a).len()).sum();
            let distinct = {
                let mut d = list.clone();
                d.sort_unstable();
                d.dedup();
                d.len()
            };
            match distinct {
                0 => empty += 1,
                d if used.cooc && walk >= d => filtered += 1,
                _ => probed += 1,
            }
            let set = f.allow.as_ref();
            let only = SignalMaps::build(&snap, &anchors, user, used, set);
            let all = SignalMaps::build(&snap, &anchors, user, used, None);
            let keys = Keys::new(&snap);
            let injected: Vec<u32> = (0..rng.below(6)).map(|_| rng.below(span) as u32).collect();
            // The request's gather offers the list's own keys unasked (`offer_listed`); the
            // reference offers every key through every filter. Rule injections (any key)
            // ask the allow set in both.
            let gather = |maps: &SignalMaps, f: &Filters, listed: bool| {
                let mut pool = Pool::with_capacity(list.len(), usize::MAX);
                for &k in &list {
                    if listed {
                        pool.offer_listed(&snap, &keys, f, k);
                    } else {
                        pool.offer(&snap, &keys, f, k);
                    }
                }
                pool.fill_signals(&snap, maps, &w, false);
                for &k in &injected {
                    pool.offer(&snap, &keys, f, k);
                    pool.fill_signals(&snap, maps, &w, false);
                }
                let cands = pool.cands.iter().map(|c| {
                    let r = c.raw;
                    let bits = [r.pop, r.cooc, r.collab, r.content, r.session, c.score];
                    (c.key, bits.map(f64::to_bits))
                });
                (cands.collect::<Vec<_>>(), pool.counts)
            };
            let (want, want_counts) = gather(&all, &plain, false);
            let (got, counts) = gather(&only, &f, true);
            assert_eq!((&got, counts), (&want, want_counts), "round {round}");
            for (k, _) in &got {
                assert!(f.exclude.binary_search(k).is_err(), "round {round}");
            }
            refused += counts.after_include - counts.after_exclude;
            let nonzero = |j: usize| got.iter().any(|c| c.1[j] != 0);
            with_content += usize::from(nonzero(3));
            with_cooc += usize::from(nonzero(1));
            with_user += usize::from(nonzero(2) || nonzero(4));
            assert!(only.rows.len() <= distinct, "round {round}");
            for k in 0..span as u32 {
                if !list.contains(&k) {
                    assert_eq!(only.rows.get(k), None, "round {round} key {k}");
                }
            }
        }
        assert!(
            filtered > 50 && probed > 50 && empty > 2,
            "{filtered} {probed} {empty}"
        );
        // The rounds read every signal somewhere (not all zeros compared with zeros).
        let read = [with_content, with_cooc, with_user];
        assert!(read.iter().all(|&r| r > 30), "{read:?}");
        // Many listed keys were excluded (the exclusions are asked of the list's keys).
        assert!(refused > 200, "{refused}");
    }

    /// A pool's candidates (key, raw signals' and score's bits, boost), stage counts and
    /// rule-blocked keys, and where each key of `0..span` stands (none for `span` 0).
    fn pool_state(pool: &Pool, span: u32) -> String {
        let cands: Vec<(u32, [u64; 7])> = pool
            .cands
            .iter()
            .map(|c| {
                let r = c.raw;
                let v = [
                    r.pop, r.cooc, r.collab, r.content, r.session, c.score, c.boost,
                ];
                (c.key, v.map(f64::to_bits))
            })
            .collect();
        let lookups: Vec<Result<usize, bool>> = (0..span).map(|k| pool.lookup(k)).collect();
        format!("{cands:?} {:?} {:?} {lookups:?}", pool.counts, pool.blocked)
    }

    /// The popularity walk ([`Pool::walk_popular`]) leaves the pool exactly as offering the
    /// popularity order key by key until `fanout` are pooled, then filling the signals,
    /// does (candidates, raw signals and scores bit for bit, counts, where every key
    /// stands), into a pool with an index table or one without ([`Pool::for_walk`]: through
    /// exclusions or tag filters its table grows, through none it stays unindexed and
    /// closed until the cap is lifted), under weights of every sign, small caps and fanouts
    /// past the catalog; and so do both after the cap is lifted and rule injections are
    /// offered and filled, with the first scores known beforehand (copied) or not. It refuses
    /// (pooling nothing) when the signal maps read more than popularity (anchors' rows,
    /// anchor tags, a user's rows) or tags are recorded.
    #[test]
    fn popularity_walk_equals_offers_then_fill() {
        let mut rng = Rng::new(53);
        let (mut indexed, mut grown, mut unindexed, mut refused) = (0, 0, 0, 0);
        // Closed walks whose scores were all copied from the known ones.
        let mut copied = 0;
        for round in 0..500 {
            let n = 1 + rng.below(80) as usize;
            let snap = world(&mut rng, n);
            let span = n as u64 + 4;
            let mut f = Filters::default();
            match rng.below(5) {
                0 => f.exclude = sorted(&mut rng, 12, span),
                1 => f.required = Some(sorted(&mut rng, 3, 20)),
                2 => f.forbidden = sorted(&mut rng, 3, 20),
                _ => {}
            }
            f.index_exclusions();
            let w = crate::config::Weights {
                pop: *rng.pick(&[1.0, 0.0, 2.5, -1.0, 1e-300]),
                cooc: *rng.pick(&[0.0, 0.0, 0.5, f64::INFINITY]),
                emb: *rng.pick(&[0.0, 0.0, 0.25]),
            };
            let fanout = rng.index(n + 10);
            let cap = if rng.chance(300) {
                1 + rng.index(20)
            } else {
                usize::MAX
            };
            let used = if rng.chance(200) {
                SignalUse {
                    cooc: rng.chance(500),
                    collaborative: rng.chance(500),
                    content: rng.chance(500),
                    session: rng.chance(500),
                }
            } else {
                SignalUse::default()
            };
            let anchors: Vec<u32> = (0..rng.below(3)).map(|_| rng.below(span) as u32).collect();
            let maps = SignalMaps::build(&snap, &anchors, "u", used, None);
            let keys = Keys::new(&snap);
            let mut want = Pool::with_capacity(fanout, cap);
            let mut taken = 0;
            for &k in snap.pop_order.iter() {
                if taken >= fanout {
                    break;
                }
                taken += usize::from(want.offer(&snap, &keys, &f, k));
            }
            want.fill_signals(&snap, &maps, &w, false);
            let plain = rng.chance(500);
            let new = || {
                if plain {
                    Pool::for_walk(fanout, cap)
                } else {
                    Pool::with_capacity(fanout, cap)
                }
            };
            // The first scores known (an installed snapshot's memo, blended as it blends
            // them), sometimes fewer than the walk takes, or none.
            let known: Vec<f64> = snap
                .pop_order
                .iter()
                .take(match rng.below(4) {
                    0 => 0,
                    1 => rng.index(n + 2),
                    _ => n,
                })
                .map(|&k| {
                    let pop = snap.pop_count.get(k as usize).copied().unwrap_or(0.0);
                    let raw = super::Signals {
                        pop,
                        ..super::Signals::default()
                    };
                    crate::ranking::blend(&w, &raw).score
                })
                .collect();
            let mut got = new();
            assert!(!got.walk_popular(&snap, &keys, &f, &maps, &w, fanout, true, &known));
            assert!(got.is_empty() && got.counts.candidates == 0);
            if !got.walk_popular(&snap, &keys, &f, &maps, &w, fanout, false, &known) {
                assert!(!maps.reads_popularity_only(), "round {round}");
                assert!(got.is_empty() && got.counts.candidates == 0);
                refused += 1;
                continue;
            }
            assert!(maps.reads_popularity_only(), "round {round}");
            let span = span as u32;
            let closed = plain && f.pass_every_item();
            if !plain {
                indexed += 1;
            } else if closed {
                unindexed += 1;
                copied += usize::from(!got.is_empty() && known.len() >= got.len());
                // Closed until the cap is lifted: nothing found, nothing taken.
                for k in 0..span {
                    assert_eq!(got.lookup(k), Err(false), "round {round}");
                }
                assert!(!got.offer(&snap, &keys, &f, 0), "round {round}");
            } else {
                grown += 1;
            }
            let lookups = if closed { 0 } else { span };
            assert_eq!(
                pool_state(&got, lookups),
                pool_state(&want, lookups),
                "round {round}"
            );
            want.lift_cap();
            got.lift_cap();
            for _ in 0..rng.below(4) {
                let k = rng.below(span as u64) as u32;
                want.offer(&snap, &keys, &f, k);
                got.offer(&snap, &keys, &f, k);
                want.fill_signals(&snap, &maps, &w, false);
                got.fill_signals(&snap, &maps, &w, false);
            }
            assert_eq!(
                pool_state(&got, span),
                pool_state(&want, span),
                "round {round}"
            );
        }
        let counts = [indexed, grown, unindexed, refused, copied];
        assert!(counts.iter().all(|&c| c > 40), "{counts:?}");
    }

    /// Every pooled candidate's signals, read a chunk at a time ([`Pool::fill_signals`],
    /// called again after later offers as rule injections do), and its blended score, equal
    /// a plain recomputation from the snapshot: popularity, the max co-occurrence count over
    /// the anchors' rows, the user's rows, and the similarity tags some *other* anchor
    /// carries; with and without an allow-list, for unknown keys too.
    #[test]
    fn signals_read_by_chunk_equal_a_plain_recomputation() {
        let mut rng = Rng::new(17);
        for round in 0..120 {
            let n = 5 + rng.below(90) as usize;
            let snap = world(&mut rng, n);
            let catalog = snap.catalog_len() as u32;
            let anchors = some_anchors(&mut rng, n, 6);
            let mut allow: Option<Vec<u32>> = (round % 3 == 0).then(|| {
                (0..1 + rng.below(n as u64))
                    .map(|_| rng.below(n as u64 + 3) as u32)
                    .collect()
            });
            if let Some(a) = &mut allow {
                a.sort_unstable();
                a.dedup();
            }
            let used = SignalUse {
                cooc: rng.below(4) != 0,
                collaborative: rng.below(4) != 0,
                content: rng.below(4) != 0,
                session: rng.below(4) != 0,
            };
            let set = allow.as_deref().map(AllowSet::new);
            let maps = SignalMaps::build(&snap, &anchors, "u", used, set.as_ref());
            let mut weight = || [0.0, 0.25, 1.0, -0.5][rng.below(4) as usize];
            let w = crate::config::Weights {
                pop: weight(),
                cooc: weight(),
                emb: weight(),
            };
            let (keys, f) = (Keys::new(&snap), Filters::default());
            let mut pool = Pool::with_capacity(4, usize::MAX);
            for step in 0..rng.below(80) {
                pool.offer(&snap, &keys, &f, rng.below(n as u64 + 3) as u32);
                if step % 23 == 22 {
                    pool.fill_signals(&snap, &maps, &w, round % 2 == 0);
                }
            }
            pool.fill_signals(&snap, &maps, &w, round % 4 < 2);
            let kept = |k: u32| allow.as_ref().is_none_or(|a| a.contains(&k));
            let user = |row: Option<&[(u32, f64)]>, on: bool, k: u32| {
                let row = row.filter(|_| on && kept(k));
                row.and_then(|r| r.iter().rev().find(|e| e.0 == k))
                    .map_or(0.0, |e| e.1)
            };
            let (implicit, session) = (snap.implicit.get("u"), snap.session.get("u"));
            let (implicit, session) = (implicit.map(|r| &r[..]), session.map(|r| &r[..]));
            for c in &pool.cands {
                let k = c.key;
                let cooc = anchors
                    .iter()
                    .filter(|_| used.cooc && kept(k))
                    .flat_map(|&a| snap.cooc_row(a).iter().filter(|e| e.0 == k))
                    .fold(0.0f64, |m, e| m.max(e.1));
                let tags = |i: u32| snap.item_tags(i).map_or(&[][..], |t| t.sim);
                let content = tags(k)
                    .iter()
                    .filter(|t| {
                        anchors
                            .iter()
                            .any(|&a| used.content && a != k && tags(a).contains(t))
                    })
                    .count() as f64;
                let pop = if k < catalog {
                    snap.pop_count[k as usize]
                } else {
                    0.0
                };
                let want = [
                    pop,
                    cooc,
                    user(implicit, used.collaborative, k),
                    content,
                    user(session, used.session, k),
                ];
                let r = c.raw;
                let got = [r.pop, r.cooc, r.collab, r.content, r.session];
                assert_eq!(got, want, "round {round} key {k}");
                let score = crate::ranking::blend(&w, &r).score;
                assert_eq!(c.score.to_bits(), score.to_bits(), "round {round} key {k}");
            }
        }
    }

    /// The signal rows' key filter never turns away a key the rows hold (a clear bit skips
    /// the probe, so that would zero its signals), is built whenever rows are, and turns
    /// away keys outside them: every key of 200 random catalogs (rows from up to 40
    /// anchors, so some filters are at their most bits), and keys past the catalog.
    #[test]
    fn row_key_filter_holds_every_row_key() {
        let mut rng = Rng::new(71);
        let (mut built, mut turned_away) = (0, 0);
        for round in 0..200 {
            let n = 5 + rng.below(400) as usize;
            let snap = world(&mut rng, n);
            let anchors = some_anchors(&mut rng, n, 40);
            let used = SignalUse {
                cooc: rng.below(4) != 0,
                collaborative: rng.below(2) != 0,
                content: false,
                session: rng.below(2) != 0,
            };
            let maps = SignalMaps::build(&snap, &anchors, "u", used, None);
            let held = (0..n as u32 + 50).filter(|&k| maps.rows.get(k).is_some());
            if held.clone().count() > 0 {
                assert!(!maps.row_keys.words.is_empty(), "round {round}");
                built += 1;
            }
            for k in held {
                assert!(maps.row_keys.may_hold(k), "round {round} key {k}");
            }
            turned_away += (0..n as u32 + 50)
                .filter(|&k| !maps.row_keys.may_hold(k))
                .count();
        }
        assert!(built > 100, "only {built} rounds had rows");
        assert!(turned_away > 10_000, "only {turned_away} keys turned away");
    }

    /// The co-occurrence candidates, from the anchors' rows merged as runs of packed keys,
    /// equal the first definition: every neighbour in the first `per_anchor` of each anchor's
    /// row with its score (the max over the rows), sorted by a float comparator (score desc,
    /// key asc), deduplicated by key, seeds removed. Anchors repeat, rows share neighbours
    /// (so a neighbour's score is often another row's), scores tie often (1-9), and some
    /// rounds have more than `MERGED_RUNS` anchors (the plain sort).
    #[test]
    fn cooc_candidates_equal_the_float_sort() {
        let mut rng = Rng::new(61);
        let (mut merged, mut sorted_plainly, mut lifted) = (0, 0, 0);
        for round in 0..300 {
            let n = 5 + rng.below(60) as usize;
            let snap = world(&mut rng, n);
            let many = if round % 10 == 0 { 150 } else { 8 };
            let anchors: Vec<u32> = (0..rng.below(many))
                .map(|_| rng.below(n as u64 + 2) as u32)
                .collect();
            let mut seeds: Vec<u32> = anchors
                .iter()
                .copied()
                .filter(|_| rng.chance(300))
                .collect();
            for _ in 0..rng.below(3) {
                seeds.push(rng.below(n as u64) as u32);
            }
            let per_anchor = rng.below(14) as usize;
            let used = SignalUse {
                cooc: round % 7 != 0,
                ..SignalUse::default()
            };
            let maps = SignalMaps::build(&snap, &anchors, "", used, None);
            let got = maps.cooc_candidates(&snap, &anchors, &seeds, per_anchor);
            let mut want: Vec<(u32, f64)> = Vec::new();
            for &a in anchors.iter().filter(|_| used.cooc) {
                for &(k, own) in snap.cooc_row(a).iter().take(per_anchor) {
                    let best = anchors
                        .iter()
                        .flat_map(|&b| snap.cooc_row(b).iter().filter(|e| e.0 == k))
                        .fold(0.0f64, |m, e| m.max(e.1));
                    lifted += usize::from(best > own);
                    want.push((k, best));
                }
            }
            let runs = 1 + want.windows(2).filter(|w| w[1].1 > w[0].1).count();
            if runs > super::MERGED_RUNS {
                sorted_plainly += 1;
            } else if runs > 2 {
                merged += 1;
            }
            want.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            want.dedup_by_key(|x| x.0);
            let want: Vec<u32> = want
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| !seeds.contains(k))
                .collect();
            assert_eq!(got, want, "round {round}");
        }
        assert!(
            merged > 100 && sorted_plainly > 5 && lifted > 100,
            "{merged} {sorted_plainly} {lifted}"
        );
    }

    /// [`super::sort_runs`] sorts like a plain sort whatever the runs: none, one, a few
    /// (odd and even counts), past `MERGED_RUNS`, repeats and the extreme values.
    #[test]
    fn merged_runs_equal_a_sort() {
        let mut rng = Rng::new(67);
        for round in 0..2_000 {
            let mut v: Vec<u128> = Vec::new();
            for _ in 0..rng.below(if round % 5 == 0 { 90 } else { 9 }) {
                let len = rng.below(30);
                let mut run: Vec<u128> = (0..len)
                    .map(|_| match rng.below(20) {
                        0 => 0,
                        1 => u128::MAX,
                        _ => (u128::from(rng.below(40)) << 64) | u128::from(rng.next_u64() % 7),
                    })
                    .collect();
                if !rng.chance(100) {
                    run.sort_unstable();
                }
                v.extend(run);
            }
            let mut want = v.clone();
            want.sort_unstable();
            super::sort_runs(&mut v);
            assert_eq!(v, want, "round {round}");
        }
    }
}

#[cfg(test)]
mod spare_tests {
    use super::{Cand, Pool, SPARE_MAX};

    fn cand(key: u32) -> Cand {
        Cand {
            key,
            raw: Default::default(),
            score: 1.0,
            boost: 0.0,
        }
    }

    /// A small pool's buffer is handed back emptied and taken by the thread's next walk (the
    /// same allocation, large enough for the walk); a buffer past [`SPARE_MAX`] is not kept.
    #[test]
    fn a_walk_takes_the_last_small_pool_buffer_emptied() {
        std::thread::spawn(|| {
            let mut pool = Pool::for_walk(23, usize::MAX);
            pool.cands.extend((0..23).map(cand));
            let buffer = pool.cands.as_ptr();
            pool.give_back();
            assert_eq!(pool.cands.capacity(), 0);
            let next = Pool::for_walk(10, usize::MAX);
            assert!(next.cands.is_empty());
            assert_eq!(next.cands.as_ptr(), buffer);
            assert!(next.cands.capacity() >= 23);
            // A walk needing more than the spare holds gets the room it needs.
            let mut pool = next;
            pool.give_back();
            let wide = Pool::for_walk(SPARE_MAX, usize::MAX);
            assert!(wide.is_empty() && wide.cands.capacity() >= SPARE_MAX);
            let mut large = Pool::for_walk(SPARE_MAX + 1, usize::MAX);
            large.cands.push(cand(7));
            large.give_back();
            assert_eq!(large.cands.len(), 1, "a large buffer stays with its pool");
            let fresh = Pool::for_walk(5, usize::MAX);
            assert!(fresh.cands.capacity() < SPARE_MAX + 1);
        })
        .join()
        .unwrap();
    }
}
