//! Rule evaluation for one request: which compiled rules apply (surface and segment scope, and
//! the time window at `ctx.now`), what they block,
//! and the ordered pin and boost actions. Blocks always win: they are hard filters applied to
//! every candidate before pins and boosts are considered, so a block frees the pin slot a
//! blocked item would have taken, whatever the priorities.
//!
//! Rules are indexed by target when a snapshot is compiled ([`RuleIndex`]), so a request only
//! evaluates the rules that can touch it: blocks whose item or tag a candidate carries, boosts
//! and pins on tags the pool carries, and boosts and pins on items (which inject their items,
//! so each can always act). A rule on a tag no candidate carries, or on an item never offered,
//! costs nothing per request, however many there are.

use super::{Action, Rule, TargetType};
use crate::candidates::{Keys, Pool};
use crate::request::normalize_tag;
use crate::snapshot::{ItemIdx, ItemTags, TagIdx, TagIndex, TagKey, TenantSnapshot};
use crate::time::Timestamp;
use std::cell::Cell;

/// A rule target resolved against a snapshot's interned ids.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleTarget {
    /// Item ids in rule order: interned when the catalog knows them, else the raw id.
    Items(Vec<Result<ItemIdx, Box<str>>>),
    /// Item ids the catalog knows, every one of them, in rule order (the common case,
    /// borrowed per request without allocating).
    KnownItems(Box<[ItemIdx]>),
    /// A normalised tag (matched against all of an item's tags); `None` if no item has it.
    Tag(Option<TagIdx>),
    Brand(Option<TagIdx>),
    Category(Option<TagIdx>),
}

impl RuleTarget {
    /// Resolves a parsed rule's target against a snapshot's interners.
    pub fn compile(rule: &Rule, snap: &TenantSnapshot) -> RuleTarget {
        match rule.target_type {
            TargetType::Item => {
                let ids: Vec<Result<ItemIdx, Box<str>>> = rule
                    .item_ids
                    .iter()
                    .map(|id| {
                        snap.items
                            .get(id)
                            .ok_or_else(|| Box::<str>::from(id.as_str()))
                    })
                    .collect();
                if ids.iter().all(|r| r.is_ok()) {
                    RuleTarget::KnownItems(ids.into_iter().flatten().collect())
                } else {
                    RuleTarget::Items(ids)
                }
            }
            TargetType::Tag => RuleTarget::Tag(snap.tags().get(&normalize_tag(&rule.target_key))),
            TargetType::Brand => {
                RuleTarget::Brand(snap.tags().get(&normalize_tag(&rule.target_key)))
            }
            TargetType::Category => {
                RuleTarget::Category(snap.tags().get(&normalize_tag(&rule.target_key)))
            }
        }
    }
}

/// True when a rule's surface and segment scopes and its validity window admit this request.
pub fn active(rule: &Rule, surface: &str, segment: &str, now: Timestamp) -> bool {
    // Namespace and surface scopes both name the request surface (namespace = surface).
    let scoped = |s: &Option<String>| s.as_ref().is_some_and(|x| !x.eq_ignore_ascii_case(surface));
    if scoped(&rule.namespace) || scoped(&rule.surface) {
        return false;
    }
    if let Some(seg) = &rule.segment {
        if !seg.eq_ignore_ascii_case(segment) {
            return false;
        }
    }
    if rule.valid_from.is_some_and(|f| now < f) {
        return false;
    }
    if rule.valid_until.is_some_and(|u| now >= u) {
        return false;
    }
    true
}

/// Packs a tag-space target: space 0 = all tags, 1 = brands, 2 = categories.
fn pack(space: u8, t: TagIdx) -> u32 {
    ((space as u32) << 30) | t
}

/// The tag-space key a packed target names (the inverse of [`pack`]; order-preserving).
fn unpack(key: u32) -> TagKey {
    let t = key & ((1 << 30) - 1);
    match key >> 30 {
        0 => TagKey::Tag(t),
        1 => TagKey::Brand(t),
        _ => TagKey::Category(t),
    }
}

/// A bitset over packed (space, tag) keys, with the rank of each set key (its slot: how many
/// set keys come before it, in key order).
#[derive(Debug, Default)]
struct TagBits {
    ntags: usize,
    /// Per word of 64 keys: its bits, and how many keys the words before it set (one
    /// bounds check and one cache line for a key's bit and its rank).
    words: Vec<(u64, u32)>,
}

impl TagBits {
    fn new(ntags: usize, keys: impl Iterator<Item = u32>) -> TagBits {
        let mut bits = vec![0u64; (3 * ntags).div_ceil(64)];
        for key in keys {
            let bit = (key >> 30) as usize * ntags + (key & ((1 << 30) - 1)) as usize;
            if let Some(w) = bits.get_mut(bit / 64) {
                *w |= 1 << (bit % 64);
            }
        }
        let mut set = 0u32;
        let words = bits
            .iter()
            .map(|&w| {
                let before = set;
                set += w.count_ones();
                (w, before)
            })
            .collect();
        TagBits { ntags, words }
    }
    /// The slot of a set key (its rank among the set keys, which is key order), or `None`.
    fn slot(&self, key: u32) -> Option<usize> {
        self.slot_at((key >> 30) as usize * self.ntags + (key & ((1 << 30) - 1)) as usize)
    }
    /// The first bit of tag space `space` (0 = all tags, 1 = brands, 2 = categories): tag
    /// `t` of that space is bit `base + t`.
    fn base(&self, space: u8) -> usize {
        space as usize * self.ntags
    }
    /// The slot of bit `bit` when it is set: the key's bit and rank are one word's, so a
    /// miss costs a load and a test, and a hit a count of the bits below it.
    #[inline]
    fn slot_at(&self, bit: usize) -> Option<usize> {
        let &(w, rank) = self.words.get(bit / 64)?;
        // The key's bit moved to the top: set when the key is, and below it the set keys
        // that come before it in this word.
        let upto = w << (63 - bit % 64);
        (upto >> 63 != 0).then(|| rank as usize + upto.count_ones() as usize - 1)
    }
}

/// A snapshot's rules indexed by target, built once at compile time (rule numbers are
/// positions in `TenantSnapshot::rules`, i.e. evaluation order).
#[derive(Debug, Default)]
pub struct RuleIndex {
    /// Block rules on catalog items: (item, rule), sorted.
    block_items: Vec<(ItemIdx, u32)>,
    /// Block rules on ids the catalog does not know: (id, rule), sorted.
    block_names: Vec<(Box<str>, u32)>,
    /// Block rules on tags, brands and categories: (packed tag, rule), sorted.
    block_tags: Vec<(u32, u32)>,
    block_tag_bits: TagBits,
    /// The rules of blocked slot `s` (see [`TagBits::slot`]) are
    /// `block_tags[block_off[s]..block_off[s + 1]]` (no binary search per candidate tag).
    block_off: Vec<u32>,
    /// Bitset over catalog items: some block rule names the item itself (the per-candidate
    /// binary search of `block_items` runs only for these).
    block_item_bits: Vec<u64>,
    /// Boost and pin rules on items, in evaluation order.
    keyed_actions: Vec<u32>,
    /// Boost and pin rules on tags, brands and categories: (packed tag, rule), sorted.
    tagged_actions: Vec<(u32, u32)>,
    tagged_bits: TagBits,
    /// The rules of tagged slot `s` (see [`TagBits::slot`]) are
    /// `tagged_actions[tagged_off[s]..tagged_off[s + 1]]`.
    tagged_off: Vec<u32>,
    /// Every boost and pin rule that can act (any target), in evaluation order.
    actions: Vec<u32>,
    /// Bitset over catalog items: the item carries a tag, brand or category that some tag
    /// boost or pin targets (whatever its scope). An item outside it has no tag hit, so
    /// its tag row is neither read nor scanned for the rules ([`RuleIndex::may_hit`]).
    /// `None` when most items carry one ([`DENSE_TAG_TARGETS`]): a bit per candidate would
    /// cost more than the few rows it spares.
    tag_target_items: Option<Vec<u64>>,
    /// Every tag (space 0) a tag boost or pin targets is a similarity tag (some item carries
    /// it as one; a tag's kind is its text's, so no item carries it as a brand or category
    /// tag): an item's targeted tags are then among its similarity tags, and
    /// [`RuleIndex::tag_hits`] scans those instead of all its tags (the workloads' tag
    /// rules target attribute tags: 4 of 6 tags an item at 1M).
    targets_in_sim: bool,
    /// Bitset over catalog items: some block rule (whatever its scope or window) names the
    /// item or one of its tags, brands or categories. An item outside it is never blocked,
    /// so the per-candidate block lookup (and its tag rows) is skipped for it.
    may_block: Vec<u64>,
    /// Bitset over catalog items: some block rule without any scope or validity window
    /// (one that applies to every request) names the item or one of its tags, brands or
    /// categories. Such an item is refused by one bit test, without its tag row or the
    /// block lookup.
    always_blocked: Vec<u64>,
    /// Bitset over rules: rules with no namespace, surface or segment scope and no validity
    /// window, which apply to every request without comparing anything.
    unscoped: Vec<u64>,
    /// Per rule (evaluation order): what it does, its boost value and its tagged slot, so
    /// resolving a request reads one small record per rule instead of the rule itself.
    facts: Vec<RuleFacts>,
}

/// Past this fraction of the catalog's items carrying a targeted tag (numerator,
/// denominator), the tag-target bitset is not kept: nearly every candidate would pass its
/// test (the 100k workload's 10,000 rules reach 98% of the items, the 1M workload's 1,000
/// rules 17%).
const DENSE_TAG_TARGETS: (usize, usize) = (3, 4);

/// What a rule does to a request's pool, as resolution needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Block,
    /// A boost that can change a score ([`acts`]).
    Boost,
    Pin,
    /// A boost that cannot change a score (zero or not finite).
    Inert,
}

/// One rule's [`Kind`], boost value and tagged slot, precomputed per rules document.
#[derive(Clone, Copy, Debug, PartialEq)]
struct RuleFacts {
    kind: Kind,
    /// The slot of the tag, brand or category an acting boost or pin targets
    /// ([`TagBits::slot`] of the tagged keys), `u32::MAX` for none.
    slot: u32,
    /// The boost value (0 when none).
    value: f64,
}

impl RuleFacts {
    /// A rule's facts without its tagged slot.
    fn of(rule: &Rule) -> RuleFacts {
        let kind = match rule.action {
            Action::Block => Kind::Block,
            _ if !acts(rule) => Kind::Inert,
            Action::Boost => Kind::Boost,
            Action::Pin => Kind::Pin,
        };
        RuleFacts {
            kind,
            slot: u32::MAX,
            value: rule.boost_value.unwrap_or(0.0),
        }
    }
}

/// Whether bit `i` of `bits` is set (false past the end).
#[inline]
pub(crate) fn bit_set(bits: &[u64], i: u32) -> bool {
    bits.get(i as usize / 64)
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn set_bit(bits: &mut [u64], i: u32) {
    if let Some(w) = bits.get_mut(i as usize / 64) {
        *w |= 1 << (i % 64);
    }
}

/// A rule applies to every request: no scope, no validity window.
fn unscoped(rule: &Rule) -> bool {
    rule.namespace.is_none()
        && rule.surface.is_none()
        && rule.segment.is_none()
        && rule.valid_from.is_none()
        && rule.valid_until.is_none()
}

/// Whether a rule is a boost that can change a score or a pin.
fn acts(rule: &Rule) -> bool {
    match rule.action {
        Action::Boost => rule.boost_value.is_some_and(|v| v != 0.0 && v.is_finite()),
        Action::Pin => true,
        Action::Block => false,
    }
}

impl RuleIndex {
    /// Indexes `rules` (with their compiled `targets`) over the tag index `tags` (its tag
    /// space, and the item rows the block bitset is built from).
    pub fn build(rules: &[Rule], targets: &[RuleTarget], tags: &TagIndex) -> RuleIndex {
        let ntags = tags.tags.len();
        let mut ix = RuleIndex {
            unscoped: vec![0u64; rules.len().div_ceil(64)],
            ..RuleIndex::default()
        };
        for (r, (rule, target)) in rules.iter().zip(targets).enumerate() {
            let r = r as u32;
            if unscoped(rule) {
                set_bit(&mut ix.unscoped, r);
            }
            let tagged = match target {
                RuleTarget::Tag(Some(t)) => Some(pack(0, *t)),
                RuleTarget::Brand(Some(t)) => Some(pack(1, *t)),
                RuleTarget::Category(Some(t)) => Some(pack(2, *t)),
                _ => None,
            };
            let keyed = matches!(target, RuleTarget::Items(_) | RuleTarget::KnownItems(_));
            if rule.action == Action::Block {
                match target {
                    RuleTarget::KnownItems(ids) => {
                        ix.block_items.extend(ids.iter().map(|&i| (i, r)));
                    }
                    RuleTarget::Items(ids) => {
                        for id in ids {
                            match id {
                                Ok(i) => ix.block_items.push((*i, r)),
                                Err(name) => ix.block_names.push((name.clone(), r)),
                            }
                        }
                    }
                    _ => ix.block_tags.extend(tagged.map(|k| (k, r))),
                }
            } else if acts(rule) {
                ix.actions.push(r);
                if keyed {
                    ix.keyed_actions.push(r);
                }
                ix.tagged_actions.extend(tagged.map(|k| (k, r)));
            }
        }
        ix.block_items.sort_unstable();
        ix.block_names.sort_unstable();
        ix.block_tags.sort_unstable();
        ix.tagged_actions.sort_unstable();
        ix.block_tag_bits = TagBits::new(ntags, ix.block_tags.iter().map(|x| x.0));
        ix.tagged_bits = TagBits::new(ntags, ix.tagged_actions.iter().map(|x| x.0));
        ix.tagged_off = slot_offsets(&ix.tagged_actions);
        ix.facts = rules.iter().map(RuleFacts::of).collect();
        for &(key, r) in &ix.tagged_actions {
            if let (Some(s), Some(f)) = (ix.tagged_bits.slot(key), ix.facts.get_mut(r as usize)) {
                f.slot = s as u32;
            }
        }
        ix.block_off = slot_offsets(&ix.block_tags);
        ix.block_item_bits = vec![0u64; tags.items().div_ceil(64)];
        for &(i, _) in &ix.block_items {
            set_bit(&mut ix.block_item_bits, i);
        }
        (ix.may_block, ix.always_blocked) = ix.may_block_bits(tags);
        ix.tag_target_items = ix.tag_target_bits(tags);
        ix.targets_in_sim = ix.tagged_actions.iter().all(|&(k, _)| match unpack(k) {
            TagKey::Tag(t) => tags.postings(t).is_some_and(|p| !p.is_empty()),
            _ => true,
        });
        ix
    }

    /// The [`RuleIndex::tag_target_items`] bitset: the items of each key a tag boost or pin
    /// targets, from the tag index's item lists ([`TagIndex::tagged_items`], as the
    /// may-block bitset is built); all clear when no tag action exists, `None` when more
    /// than [`DENSE_TAG_TARGETS`] of the items are set.
    fn tag_target_bits(&self, tags: &TagIndex) -> Option<Vec<u64>> {
        let mut keys: Vec<TagKey> = self
            .tagged_actions
            .iter()
            .map(|&(k, _)| unpack(k))
            .collect();
        // Sorted by packed key, which unpacking keeps: one entry per key.
        keys.dedup();
        if keys.is_empty() {
            return Some(vec![0u64; tags.items().div_ceil(64)]);
        }
        let bits = tags.tagged_items(&keys);
        let set: usize = bits.iter().map(|w| w.count_ones() as usize).sum();
        let (num, den) = DENSE_TAG_TARGETS;
        (set * den <= tags.items() * num).then_some(bits)
    }

    /// The [`RuleIndex::may_block`] and [`RuleIndex::always_blocked`] bitsets: the items
    /// block rules name, plus (when some block rule targets a tag space) every item
    /// carrying a blocked tag, brand or category, found from the tag index's item lists per
    /// blocked key ([`TagIndex::tagged_items`]); the second from the unscoped rules only.
    /// Each blocked key's item list is read once (keys with an unscoped rule, then the
    /// others), as before the split.
    fn may_block_bits(&self, tags: &TagIndex) -> (Vec<u64>, Vec<u64>) {
        let words = tags.items().div_ceil(64);
        let is_unscoped = |r: u32| bit_set(&self.unscoped, r);
        // block_tags is sorted by key, and unpacking keeps the order.
        let (mut always_keys, mut other_keys): (Vec<TagKey>, Vec<TagKey>) = (vec![], vec![]);
        for run in self.block_tags.chunk_by(|a, b| a.0 == b.0) {
            let key = unpack(run[0].0);
            if run.iter().any(|&(_, r)| is_unscoped(r)) {
                always_keys.push(key);
            } else {
                other_keys.push(key);
            }
        }
        let of = |keys: &[TagKey]| {
            if keys.is_empty() {
                vec![0u64; words]
            } else {
                tags.tagged_items(keys)
            }
        };
        let mut always = of(&always_keys);
        let mut bits = of(&other_keys);
        for &(i, r) in &self.block_items {
            set_bit(&mut bits, i);
            if is_unscoped(r) {
                set_bit(&mut always, i);
            }
        }
        for (b, a) in bits.iter_mut().zip(&always) {
            *b |= a;
        }
        (bits, always)
    }
}

/// Where each distinct key's run starts in a sorted `(packed key, rule)` list, plus its
/// length: run `s` (the key's [`TagBits::slot`]) is `list[off[s]..off[s + 1]]`.
fn slot_offsets(list: &[(u32, u32)]) -> Vec<u32> {
    let mut off = Vec::new();
    for (i, &(key, _)) in list.iter().enumerate() {
        if i == 0 || list[i - 1].0 != key {
            off.push(i as u32);
        }
    }
    off.push(list.len() as u32);
    off
}

/// The rules of `list` whose key is `key` (a sorted `(key, rule)` list).
fn rules_of<'l, K, Q>(list: &'l [(K, u32)], key: &Q) -> &'l [(K, u32)]
where
    K: Ord + std::borrow::Borrow<Q>,
    Q: Ord + ?Sized,
{
    let lo = list.partition_point(|(k, _)| k.borrow() < key);
    let hi = lo + list[lo..].partition_point(|(k, _)| k.borrow() == key);
    &list[lo..hi]
}

/// The scope of one request (surface, segment, `now`), counting every rule it evaluates.
#[derive(Debug)]
pub struct Scope<'s> {
    pub snap: &'s TenantSnapshot,
    pub surface: &'s str,
    pub segment: &'s str,
    pub now: Timestamp,
    evaluated: Cell<u64>,
    block_checks: Cell<u64>,
}

impl<'s> Scope<'s> {
    pub fn new(
        snap: &'s TenantSnapshot,
        surface: &'s str,
        segment: &'s str,
        now: Timestamp,
    ) -> Self {
        Scope {
            snap,
            surface,
            segment,
            now,
            evaluated: Cell::new(0),
            block_checks: Cell::new(0),
        }
    }
    /// Whether rule number `r` applies to this request (counted).
    pub fn applies(&self, r: u32) -> bool {
        self.evaluated.set(self.evaluated.get() + 1);
        self.admits(r)
    }
    /// [`Scope::applies`] without the count: an unscoped rule by its bit, inline (most
    /// rules are unscoped), the others by comparing their scopes and window.
    #[inline]
    fn admits(&self, r: u32) -> bool {
        bit_set(&self.snap.rule_index.unscoped, r) || self.scoped_admits(r)
    }
    /// Whether a rule with a scope or window admits this request.
    #[inline(never)]
    fn scoped_admits(&self, r: u32) -> bool {
        self.snap
            .rules
            .get(r as usize)
            .is_some_and(|rule| active(rule, self.surface, self.segment, self.now))
    }
    #[cfg(test)]
    /// How many rule evaluations this request has made so far.
    pub fn evaluated(&self) -> u64 {
        self.evaluated.get()
    }
    /// How many candidates went through the full block lookup ([`Scope::blocks`]).
    #[cfg(test)]
    pub fn block_checks(&self) -> u64 {
        self.block_checks.get()
    }
    fn any(&self, list: &[(impl Sized, u32)]) -> bool {
        list.iter().any(|&(_, r)| self.applies(r))
    }
    /// Whether some block rule (in any scope) could remove candidate `k`: when false,
    /// [`Scope::blocks`] is false too and need not look at the item's tags.
    pub fn may_block(&self, keys: &Keys, k: u32) -> bool {
        let ix = &self.snap.rule_index;
        if k < keys.catalog {
            bit_set(&ix.may_block, k)
        } else {
            !ix.block_names.is_empty()
        }
    }
    /// Whether a block rule that applies to every request removes catalog item `k` (then
    /// [`Scope::blocks`] is true too, and need not be asked).
    pub fn always_blocks(&self, keys: &Keys, k: u32) -> bool {
        k < keys.catalog && bit_set(&self.snap.rule_index.always_blocked, k)
    }
    /// Whether an applicable block rule removes candidate `k` (an item, its tags, brands or
    /// categories).
    pub fn blocks(&self, keys: &Keys, k: u32, tags: Option<crate::snapshot::ItemTags>) -> bool {
        self.block_checks.set(self.block_checks.get() + 1);
        let ix = &self.snap.rule_index;
        if k < keys.catalog {
            if bit_set(&ix.block_item_bits, k) && self.any(rules_of(&ix.block_items, &k)) {
                return true;
            }
        } else if !ix.block_names.is_empty()
            && self.any(rules_of(&ix.block_names, keys.name(self.snap, k)))
        {
            return true;
        }
        let Some(t) = tags else {
            return false;
        };
        if ix.block_tags.is_empty() {
            return false;
        }
        let bits = &ix.block_tag_bits;
        for (space, list) in [(0u8, t.all), (1, t.brands), (2, t.categories)] {
            let base = bits.base(space);
            for &x in list {
                if let Some(s) = bits.slot_at(base + x as usize) {
                    let (lo, hi) = (ix.block_off[s] as usize, ix.block_off[s + 1] as usize);
                    if self.any(&ix.block_tags[lo..hi]) {
                        return true;
                    }
                }
            }
        }
        false
    }
    /// Whether any boost or pin applies (stops at the first that does).
    pub fn any_action(&self) -> bool {
        self.snap
            .rule_index
            .actions
            .iter()
            .any(|&r| self.applies(r))
    }
    /// Every rule that applies (diagnostics; evaluates them all).
    pub fn applicable(&self) -> usize {
        (0..self.snap.rules.len() as u32)
            .filter(|&r| self.applies(r))
            .count()
    }
}

/// A pin or boost action with its target resolved to request keys.
#[derive(Debug)]
pub struct Action_<'s> {
    pub rule: &'s Rule,
    pub target: Target<'s>,
    /// The rule's boost value (0 when it has none), read without the rule.
    pub value: f64,
    /// The tagged slot of a tag-space target (`u32::MAX` for none): where
    /// [`Applied::positions`] finds the pool positions carrying it.
    slot: u32,
}

/// Resolved targets: explicit keys or a tag-space match.
#[derive(Debug, Clone)]
pub enum Target<'s> {
    /// Item keys in rule order (borrowed from the snapshot when the catalog knows them all).
    Keys(std::borrow::Cow<'s, [u32]>),
    /// (space, tag): space 0 = all tags, 1 = brands, 2 = categories.
    Tagged(u8, TagIdx),
    Nothing,
}

/// The boosts and pins of one request, and where their tag targets sit in the pool.
#[derive(Debug, Default)]
pub struct Applied<'s> {
    /// The applicable block rules, in evaluation order (only with per-rule telemetry).
    pub block_rules: Vec<&'s Rule>,
    /// Their targets (same order).
    pub block_targets: Vec<Target<'s>>,
    pub boosts: Vec<Action_<'s>>,
    pub pins: Vec<Action_<'s>>,
    /// The rule index the pool's tag targets are slotted by.
    index: Option<&'s RuleIndex>,
    /// Where the tag rules' targets sit in the pool.
    targets: PoolTargets,
}

impl Applied<'_> {
    /// Pool positions (pool order, as of resolution) of the candidates carrying a tag.
    pub fn matches(&self, space: u8, t: TagIdx) -> &[u32] {
        self.index
            .map_or(&[], |ix| self.targets.of(ix, pack(space, t)))
    }
    /// Pool positions (pool order, as of resolution) of the candidates carrying the tag,
    /// brand or category of action `a` (none for item targets): [`Applied::matches`] of
    /// its target, found by the slot resolved with the rule.
    pub fn positions(&self, a: &Action_) -> &[u32] {
        self.targets.at(a.slot as usize)
    }
}

/// The pool positions carrying each tag a tag boost or pin targets: slot `s` of the rule
/// index's tagged keys ([`TagBits::slot`]) holds `pos[off[s]..off[s + 1]]`, in pool order.
#[derive(Debug, Default)]
struct PoolTargets {
    off: Vec<u32>,
    pos: Vec<u32>,
}

impl PoolTargets {
    /// The positions carrying packed key `key` (none when no tag rule targets it).
    fn of(&self, ix: &RuleIndex, key: u32) -> &[u32] {
        ix.tagged_bits.slot(key).map_or(&[], |s| self.at(s))
    }
    /// The positions carrying the key of slot `s` (none past the last slot).
    fn at(&self, s: usize) -> &[u32] {
        match (self.off.get(s), self.off.get(s.wrapping_add(1))) {
            (Some(&lo), Some(&hi)) => self.pos.get(lo as usize..hi as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
    /// Whether some candidate carries the key of slot `s`.
    fn hit(&self, s: usize) -> bool {
        s + 1 < self.off.len() && self.off[s + 1] > self.off[s]
    }
}

/// A rule's target resolved to request keys (interning ids the catalog does not know).
fn target_of<'s>(keys: &mut Keys<'s>, target: &'s RuleTarget) -> Target<'s> {
    match target {
        RuleTarget::KnownItems(ids) => Target::Keys(std::borrow::Cow::Borrowed(ids)),
        RuleTarget::Items(ids) => Target::Keys(
            ids.iter()
                .map(|r| match r {
                    Ok(i) => *i,
                    Err(s) => keys.external_key(s),
                })
                .collect(),
        ),
        RuleTarget::Tag(Some(t)) => Target::Tagged(0, *t),
        RuleTarget::Brand(Some(t)) => Target::Tagged(1, *t),
        RuleTarget::Category(Some(t)) => Target::Tagged(2, *t),
        _ => Target::Nothing,
    }
}

impl RuleIndex {
    /// Whether some tag boost or pin targets a tag, brand or category (a pool's tag rows are
    /// then scanned for the targeted keys).
    pub fn targets_tags(&self) -> bool {
        self.tagged_off.len() > 1
    }

    /// Whether candidate `k` may carry a tag, brand or category some tag boost or pin
    /// targets: when false, [`RuleIndex::tag_hits`] adds nothing for it (its tag row need
    /// not be read). False for keys outside the catalog (they carry no tags), true for
    /// every key when the targets are dense (see [`RuleIndex::filters_tag_rows`]).
    #[inline]
    pub fn may_hit(&self, k: u32) -> bool {
        self.tag_target_items
            .as_ref()
            .is_none_or(|bits| bit_set(bits, k))
    }

    /// The tag-target bitset over catalog items when [`RuleIndex::may_hit`] tells
    /// candidates apart (`may_hit(k)` is [`bit_set`] of it), `None` when it is true for
    /// every key: a loop over many candidates tests the bits without reloading them.
    #[inline]
    pub(crate) fn tag_target_set(&self) -> Option<&[u64]> {
        self.tag_target_items.as_deref()
    }

    /// Whether [`RuleIndex::may_hit`] tells candidates apart (the targeted tags are carried
    /// by at most [`DENSE_TAG_TARGETS`] of the items); when not, it is true for every key.
    pub fn filters_tag_rows(&self) -> bool {
        self.tag_target_items.is_some()
    }

    /// Adds `(slot, pos)` to `hits` for each of `t`'s tags, brands and categories that a tag
    /// boost or pin targets (`slot`: its rank among the targeted keys), in key-space order.
    #[inline]
    pub fn tag_hits(&self, t: ItemTags, pos: u32, hits: &mut Vec<(u32, u32)>) {
        // The targeted tags of `all` are those of `sim` (a sorted sub-list) when all are
        // similarity tags.
        let tags = if self.targets_in_sim { t.sim } else { t.all };
        self.list_hits([tags, t.brands, t.categories], pos, hits);
    }

    /// [`RuleIndex::tag_hits`] of item `i`, its lists read from its tag row
    /// ([`TagIndex::keyed_lists`]): the same hits in the same order, without building the
    /// item's [`ItemTags`] (D at 1M: ~380 rows a request, ~80 instructions of set-up each
    /// spared). Out of line: inlined in the fill's loop its set-up spilled registers.
    #[inline(never)]
    pub fn item_tag_hits(&self, tags: &TagIndex, i: ItemIdx, pos: u32, hits: &mut Vec<(u32, u32)>) {
        self.list_hits(tags.keyed_lists(i, self.targets_in_sim), pos, hits);
    }

    /// Pushes (slot, `pos`) for each targeted key among `lists`: the tags of key spaces 0
    /// (all tags), 1 (brands) and 2 (categories), each sorted.
    #[inline(always)]
    fn list_hits(&self, lists: [&[TagIdx]; 3], pos: u32, hits: &mut Vec<(u32, u32)>) {
        let bits = &self.tagged_bits;
        // A key's bit is its space's base plus its tag: no packing per tag.
        for (space, list) in lists.into_iter().enumerate() {
            let base = bits.base(space as u8);
            for &x in list {
                if let Some(s) = bits.slot_at(base + x as usize) {
                    hits.push((s as u32, pos));
                }
            }
        }
    }
}

/// The tag targets the pool carries: for each tagged slot of the rule index, the pool
/// positions carrying its key, in pool order. The first candidates' hits come recorded
/// with their signals ([`Pool::tag_hits`]); the rest are scanned here. Grouped with a
/// counting sort over the slots (ranks in the tagged-key bitset), so no comparison sort
/// and no search per hit.
fn pool_tag_targets(snap: &TenantSnapshot, pool: &Pool) -> PoolTargets {
    let ix = &snap.rule_index;
    let slots = ix.tagged_off.len().saturating_sub(1);
    if slots == 0 {
        return PoolTargets::default();
    }
    let recorded = pool.tag_hits();
    let rest = pool.cands.get(recorded.upto..).unwrap_or_default();
    // Sized for a few targeted keys per candidate (growing a list of thousands of hits
    // copied it a dozen times per request); not built when every candidate is recorded.
    let mut scanned = Vec::new();
    if !rest.is_empty() {
        scanned.reserve(recorded.hits.len() + rest.len() * 4);
        scanned.extend_from_slice(&recorded.hits);
    }
    // A chunk's tag rows are located in one short loop first (each is a catalog-scale
    // miss: they overlap instead of each waiting for the last), then scanned.
    const CHUNK: usize = 16;
    for (c, chunk) in rest.chunks(CHUNK).enumerate() {
        let mut rows: [Option<ItemTags>; CHUNK] = [None; CHUNK];
        for (j, cand) in chunk.iter().enumerate() {
            if ix.may_hit(cand.key) {
                rows[j] = snap.item_tags(cand.key);
            }
        }
        for (j, t) in rows.iter().enumerate() {
            if let Some(t) = t {
                let pos = (recorded.upto + c * CHUNK + j) as u32;
                ix.tag_hits(*t, pos, &mut scanned);
            }
        }
    }
    let hits: &[(u32, u32)] = if rest.is_empty() {
        &recorded.hits
    } else {
        &scanned
    };
    let mut off = vec![0u32; slots + 1];
    for &(s, _) in hits {
        off[s as usize + 1] += 1;
    }
    for s in 0..slots {
        off[s + 1] += off[s];
    }
    let mut fill = off.clone();
    let mut pos = vec![0u32; hits.len()];
    for &(s, p) in hits {
        pos[fill[s as usize] as usize] = p;
        fill[s as usize] += 1;
    }
    PoolTargets { off, pos }
}

/// The rules to evaluate for a pool, in evaluation order: the item boosts and pins, and the
/// tag boosts and pins of the slots some candidate carries (one bit per rule, read in order).
fn candidate_rules(ix: &RuleIndex, nrules: usize, targets: &PoolTargets) -> Vec<u32> {
    let mut bits = vec![0u64; nrules.div_ceil(64)];
    for &r in &ix.keyed_actions {
        set_bit(&mut bits, r);
    }
    for s in 0..ix.tagged_off.len().saturating_sub(1) {
        if targets.hit(s) {
            let (lo, hi) = (ix.tagged_off[s] as usize, ix.tagged_off[s + 1] as usize);
            for &(_, r) in &ix.tagged_actions[lo..hi] {
                set_bit(&mut bits, r);
            }
        }
    }
    let n = bits.iter().map(|w| w.count_ones() as usize).sum();
    let mut rules = Vec::with_capacity(n);
    for (w, &word) in bits.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            rules.push(w as u32 * 64 + word.trailing_zeros());
            word &= word - 1;
        }
    }
    rules
}

/// Resolves the boosts and pins that can act on `pool` (its candidates, before any rule
/// acts): every applicable rule on items, and the applicable rules on tags some candidate
/// carries, in evaluation order. With `every_rule` (per-rule telemetry, which reports each
/// applicable rule) all rules are evaluated, and the applicable block rules listed too.
#[inline(never)] // a stage of its own in profiles (called a few times per request)
pub fn resolve<'s>(
    scope: &Scope<'s>,
    keys: &mut Keys<'s>,
    pool: &Pool,
    every_rule: bool,
) -> Applied<'s> {
    let snap = scope.snap;
    let ix = &snap.rule_index;
    let targets = pool_tag_targets(snap, pool);
    let rules: Vec<u32> = if every_rule {
        (0..snap.rules.len() as u32).collect()
    } else {
        candidate_rules(ix, snap.rules.len(), &targets)
    };
    let mut out = Applied {
        index: Some(ix),
        targets,
        ..Applied::default()
    };
    // Most of the rules are boosts (or pins): sized once, not grown a dozen times.
    out.boosts.reserve(rules.len());
    // Each rule is evaluated once (counted together, the unscoped ones by a bit inline).
    scope
        .evaluated
        .set(scope.evaluated.get() + rules.len() as u64);
    for r in rules {
        if !scope.admits(r) {
            continue;
        }
        let (Some(rule), Some(target)) = (
            snap.rules.get(r as usize),
            snap.rule_targets.get(r as usize),
        ) else {
            continue;
        };
        // What the rule does comes from the index's small per-rule record: the rule itself
        // is only referenced (the boosts and the answer's tokens read it later).
        let f = ix
            .facts
            .get(r as usize)
            .copied()
            .unwrap_or_else(|| RuleFacts::of(rule));
        let t = target_of(keys, target);
        let action = |target| Action_ {
            rule,
            target,
            value: f.value,
            slot: f.slot,
        };
        match f.kind {
            Kind::Block => {
                out.block_rules.push(rule);
                out.block_targets.push(t);
            }
            Kind::Inert => {}
            Kind::Boost => out.boosts.push(action(t)),
            Kind::Pin => out.pins.push(action(t)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::Filters;
    use crate::config::TenantConfig;
    use crate::rules::{parse_rules, RulesParseOptions};
    use crate::snapshot::{SignalData, Versions};

    /// 200 items, `i000` most popular; each has tag `t<i % 20>` and brand `b<i % 10>`;
    /// items from `i050` on also carry a tag of their own, `x<i>`.
    fn snapshot(rules: &str) -> TenantSnapshot {
        let n = 200;
        let content = (0..n)
            .map(|i| {
                let mut tags = vec![format!("t{}", i % 20), format!("brand:b{}", i % 10)];
                if i >= 50 {
                    tags.push(format!("x{i}"));
                }
                (format!("i{i:03}"), tags)
            })
            .collect();
        let popularity = (0..n)
            .map(|i| (format!("i{i:03}"), (n - i) as f64))
            .collect();
        let doc = parse_rules(rules.as_bytes(), &RulesParseOptions::lenient("t")).unwrap();
        TenantSnapshot::compile(
            "t",
            "home",
            &TenantConfig::default(),
            doc.rules,
            SignalData {
                popularity: Some(popularity),
                content: Some(content),
                ..SignalData::default()
            },
            Versions::default(),
        )
    }

    /// Rules that cannot touch a pool of `i000`..`i049`: blocks and boosts on tags and
    /// brands only later items carry, blocks on items never offered, boosts on tags no item
    /// has, and pool-tag boosts scoped to another surface or ended.
    fn unreachable_rules(n: usize) -> Vec<String> {
        (0..n)
            .map(|j| {
                let i = 50 + j % 150;
                match j % 5 {
                    0 => format!(r#"{{"action":"block","target_type":"tag","target_key":"x{i}"}}"#),
                    1 => format!(
                        r#"{{"action":"boost","target_type":"tag","target_key":"x{i}","boost_value":0.5}}"#
                    ),
                    2 => format!(r#"{{"action":"block","target_type":"item","item_ids":["i{i:03}"]}}"#),
                    3 => format!(
                        r#"{{"action":"pin","target_type":"tag","target_key":"nowhere{j}"}}"#
                    ),
                    _ => format!(r#"{{"action":"block","target_type":"item","item_ids":["gone-{j}"]}}"#),
                }
            })
            .collect()
    }

    /// Pools `i000`..`i049` through the block filters, resolves boosts and pins; returns
    /// (rules evaluated, pool size, boosts, pins).
    fn run(snap: &TenantSnapshot) -> (u64, usize, usize, usize) {
        let scope = Scope::new(snap, "home", "default", Timestamp::from_secs(1_700_000_000));
        let mut keys = Keys::new(snap);
        let f = Filters {
            blocks: Some(&scope),
            ..Filters::default()
        };
        let mut pool = Pool::with_capacity(50, usize::MAX);
        for k in 0..50u32 {
            pool.offer(snap, &keys, &f, k);
        }
        assert!(scope.any_action());
        let applied = resolve(&scope, &mut keys, &pool, false);
        (
            scope.evaluated(),
            pool.len(),
            applied.boosts.len(),
            applied.pins.len(),
        )
    }

    /// What a request evaluates depends on the rules that can touch its pool, not on how
    /// many rules the document holds: 10x more unreachable rules, the same evaluations.
    #[test]
    fn evaluated_rules_do_not_grow_with_unreachable_rules() {
        let reachable = [
            r#"{"action":"boost","target_type":"tag","target_key":"t1","boost_value":0.5,"priority":5}"#,
            r#"{"action":"block","target_type":"item","item_ids":["i003"]}"#,
            r#"{"action":"block","target_type":"brand","target_key":"b7"}"#,
            r#"{"action":"pin","target_type":"item","item_ids":["i120"]}"#,
            r#"{"action":"boost","target_type":"tag","target_key":"t2","boost_value":1,"surface":"pdp"}"#,
        ];
        let doc = |extra: usize| {
            let mut all: Vec<String> = reachable.iter().map(|s| s.to_string()).collect();
            all.extend(unreachable_rules(extra));
            format!("[{}]", all.join(","))
        };
        let small = run(&snapshot(&doc(100)));
        let big = run(&snapshot(&doc(1000)));
        // 50 candidates offered: i003 and the five b7 items are blocked.
        assert_eq!(small.1, 44);
        // boost t1 (the t2 boost is scoped to another surface), pin i120.
        assert_eq!((small.2, small.3), (1, 1));
        assert_eq!(small, big, "evaluations grew with unreachable rules");
        // Each evaluation is one candidate hitting a block target, or one boost/pin whose
        // target the pool carries (or an item, which it can inject): no more than that.
        assert!(small.0 <= 6 + 1 + 3 + 1, "evaluated {}", small.0);
    }

    /// Telemetry reports every applicable rule, so it evaluates them all.
    #[test]
    fn every_rule_mode_lists_all_applicable_rules() {
        let rules: Vec<String> = unreachable_rules(50);
        let snap = snapshot(&format!("[{}]", rules.join(",")));
        let scope = Scope::new(&snap, "home", "default", Timestamp::from_secs(0));
        let mut keys = Keys::new(&snap);
        let pool = Pool::with_capacity(0, usize::MAX);
        let applied = resolve(&scope, &mut keys, &pool, true);
        assert_eq!(scope.evaluated(), 50);
        assert_eq!(applied.block_rules.len(), 30);
        assert_eq!(applied.boosts.len() + applied.pins.len(), 20);
        assert_eq!(scope.applicable(), 50);
    }
}

/// The structures precomputed at compile time (the may-block item bitset, the unscoped-rule
/// bitset, the grouped pool tag targets) against plain reference scans, on seeded random
/// catalogs and rule documents.
#[cfg(test)]
mod precomputed_tests {
    use super::*;
    use crate::config::TenantConfig;
    use crate::rules::{parse_rules, RulesParseOptions};
    use crate::snapshot::{SignalData, Versions};
    use std::collections::BTreeMap;

    use crate::tests::rng::Rng;

    const ITEMS: u64 = 120;

    /// `ITEMS` items with 1-3 random tags of `t0..t29`, a brand of `b0..b11`, some a plain
    /// tag named like a brand value, and (most) a category of `c0..c7`.
    fn catalog(rng: &mut Rng) -> SignalData {
        let content = (0..ITEMS)
            .map(|i| {
                let mut tags: Vec<String> = (0..1 + rng.below(3))
                    .map(|_| format!("t{}", rng.below(30)))
                    .collect();
                tags.push(format!("brand:b{}", rng.below(12)));
                if rng.below(5) == 0 {
                    tags.push(format!("b{}", rng.below(12)));
                }
                if rng.below(4) > 0 {
                    tags.push(format!("category:c{}", rng.below(8)));
                }
                (format!("i{i:03}"), tags)
            })
            .collect();
        let popularity = (0..ITEMS)
            .map(|i| (format!("i{i:03}"), (ITEMS - i) as f64))
            .collect();
        SignalData {
            popularity: Some(popularity),
            content: Some(content),
            ..SignalData::default()
        }
    }

    /// A random rule: any action and target type, on known or unknown keys, with random
    /// surface, segment and validity-window scopes.
    fn rule(rng: &mut Rng) -> String {
        let action = ["block", "boost", "pin"][rng.below(3) as usize];
        let target = match rng.below(4) {
            0 => format!(
                r#""target_type":"item","item_ids":["i{:03}","gone{}"]"#,
                rng.below(ITEMS + 20),
                rng.below(5)
            ),
            // Plain tags, prefixed (brand and category) tags, and a plain tag named like a
            // brand value: each tag space holds keys the others spell alike.
            1 => {
                let key = match rng.below(4) {
                    0 => format!("brand:b{}", rng.below(14)),
                    1 => format!("category:c{}", rng.below(9)),
                    2 => format!("b{}", rng.below(14)),
                    _ => format!("t{}", rng.below(34)),
                };
                format!(r#""target_type":"tag","target_key":"{key}""#)
            }
            2 => format!(r#""target_type":"brand","target_key":"b{}""#, rng.below(14)),
            _ => format!(
                r#""target_type":"category","target_key":"c{}""#,
                rng.below(9)
            ),
        };
        let mut extra = String::new();
        match rng.below(6) {
            0 => extra.push_str(r#","surface":"pdp""#),
            1 => extra.push_str(r#","surface":"HOME""#),
            2 => extra.push_str(r#","segment":"vip""#),
            3 => extra.push_str(r#","valid_until":"2024-01-01T00:00:00Z""#),
            4 => extra.push_str(r#","valid_from":"2025-01-01T00:00:00Z""#),
            _ => {}
        }
        format!(r#"{{"action":"{action}",{target},"boost_value":0.5{extra}}}"#)
    }

    fn snapshot(rng: &mut Rng, rules: usize) -> TenantSnapshot {
        snapshot_of(rng, rules, |_| true)
    }

    /// [`snapshot`] with only the random rules `keep` keeps (drawn until `rules` are kept).
    fn snapshot_of(rng: &mut Rng, rules: usize, keep: fn(&str) -> bool) -> TenantSnapshot {
        let data = catalog(rng);
        let mut doc: Vec<String> = Vec::new();
        while doc.len() < rules {
            let r = rule(rng);
            if keep(&r) {
                doc.push(r);
            }
        }
        let doc = format!("[{}]", doc.join(","));
        let rules = parse_rules(doc.as_bytes(), &RulesParseOptions::lenient("t"))
            .unwrap()
            .rules;
        let mut cfg = TenantConfig::default();
        cfg.base.diversity.brand_tag_prefixes = vec!["brand:".into()];
        cfg.base.diversity.category_tag_prefixes = vec!["category:".into()];
        TenantSnapshot::compile("t", "home", &cfg, rules, data, Versions::default())
    }

    /// Whether some block rule, whatever its scope, targets item `k` or a tag it carries.
    fn reference_may_block(snap: &TenantSnapshot, k: u32) -> bool {
        reference_blocked_by(snap, k, |_| true)
    }

    /// Whether some block rule with no scope and no validity window targets item `k` or a
    /// tag it carries.
    fn reference_always_blocked(snap: &TenantSnapshot, k: u32) -> bool {
        reference_blocked_by(snap, k, |r| {
            r.namespace.is_none()
                && r.surface.is_none()
                && r.segment.is_none()
                && r.valid_from.is_none()
                && r.valid_until.is_none()
        })
    }

    /// Whether some block rule that `pick` keeps targets item `k` or a tag it carries.
    fn reference_blocked_by(snap: &TenantSnapshot, k: u32, pick: impl Fn(&Rule) -> bool) -> bool {
        let t = snap.item_tags(k).unwrap();
        snap.rules
            .iter()
            .zip(snap.rule_targets.iter())
            .filter(|(r, _)| r.action == Action::Block && pick(r))
            .any(|(_, target)| match target {
                RuleTarget::KnownItems(ids) => ids.contains(&k),
                RuleTarget::Items(ids) => ids.contains(&Ok(k)),
                RuleTarget::Tag(Some(x)) => t.all.contains(x),
                RuleTarget::Brand(Some(x)) => t.brands.contains(x),
                RuleTarget::Category(Some(x)) => t.categories.contains(x),
                _ => false,
            })
    }

    /// The may-block bitset is exactly "some block rule targets the item", so skipping the
    /// block lookup outside it never lets a blocked item through; the always-blocked bitset
    /// is exactly "some unscoped block rule targets the item" (and the block lookup agrees
    /// for every request); and `applies` (with its unscoped fast path) agrees with `active`
    /// for every rule, scope and time.
    #[test]
    fn precomputed_block_and_scope_bits_match_reference_scans() {
        let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
        let mut always_items = 0;
        let scopes = [("home", "default"), ("pdp", "vip"), ("home", "vip")];
        let times = [1_600_000_000i64, 1_710_000_000, 1_800_000_000];
        for round in 0..20 {
            let snap = snapshot(&mut rng, 1 + round * 7);
            let keys = Keys::new(&snap);
            for k in 0..ITEMS as u32 {
                let want = reference_may_block(&snap, k);
                let always = reference_always_blocked(&snap, k);
                always_items += usize::from(always);
                for (surface, segment) in scopes {
                    for now in times {
                        let scope = Scope::new(&snap, surface, segment, Timestamp::from_secs(now));
                        assert_eq!(scope.may_block(&keys, k), want, "round {round} item {k}");
                        assert_eq!(scope.always_blocks(&keys, k), always, "round {round} {k}");
                        if !want {
                            assert!(!scope.blocks(&keys, k, snap.item_tags(k)));
                        }
                        if always {
                            assert!(scope.blocks(&keys, k, snap.item_tags(k)));
                        }
                        for r in 0..snap.rules.len() as u32 {
                            let rule = &snap.rules[r as usize];
                            let now = Timestamp::from_secs(now);
                            assert_eq!(scope.applies(r), active(rule, surface, segment, now));
                        }
                    }
                }
            }
        }
        assert!(
            always_items > 100,
            "too few always-blocked items: {always_items}"
        );
    }

    /// Policies compiled against one catalog (what every config or rules change does) each
    /// get the exact may-block bitset, the same again for the same document.
    #[test]
    fn policies_compiled_against_one_catalog_get_the_exact_may_block_bits() {
        let mut rng = Rng::new(0x2545_F491_4F6C_DD1D);
        let base = snapshot(&mut rng, 0);
        let mut cfg = TenantConfig::default();
        cfg.base.diversity.brand_tag_prefixes = vec!["brand:".into()];
        cfg.base.diversity.category_tag_prefixes = vec!["category:".into()];
        let compile = |doc: &str| {
            let rules = parse_rules(doc.as_bytes(), &RulesParseOptions::lenient("t"))
                .unwrap()
                .rules;
            let catalog = base.catalog.clone();
            let rules = crate::snapshot::ServingRules::of(&rules);
            TenantSnapshot::with_policy("t", "home", catalog, &cfg, &rules, Versions::default())
        };
        let mut tagged_docs = 0;
        for round in 0..12 {
            let doc: Vec<String> = (0..1 + round * 5).map(|_| rule(&mut rng)).collect();
            let doc = format!("[{}]", doc.join(","));
            let snap = compile(&doc);
            assert!(std::sync::Arc::ptr_eq(&snap.tag_index, &base.tag_index));
            let keys = Keys::new(&snap);
            let scope = Scope::new(&snap, "home", "default", Timestamp::from_secs(0));
            for k in 0..ITEMS as u32 {
                let want = reference_may_block(&snap, k);
                assert_eq!(scope.may_block(&keys, k), want, "round {round} item {k}");
            }
            tagged_docs += usize::from(!snap.rule_index.block_tags.is_empty());
            // The same document again (a config change, a rollback).
            let again = compile(&doc);
            assert_eq!(again.rule_index.may_block, snap.rule_index.may_block);
        }
        assert!(
            tagged_docs >= 6,
            "the documents exercise tag blocks ({tagged_docs})"
        );
    }

    /// A config change (same rules document, same catalog and brand/category prefixes)
    /// shares the document's compiled targets and index instead of compiling them again;
    /// other prefixes, another document or another catalog compile their own, each equal
    /// to a fresh compile against its snapshot.
    #[test]
    fn config_changes_share_the_documents_compiled_rules() {
        use std::sync::Arc;
        let mut rng = Rng::new(0x5eed_c0de_0007);
        let base = snapshot(&mut rng, 0);
        let other_catalog = snapshot(&mut rng, 0);
        let doc = |rng: &mut Rng| {
            let doc: Vec<String> = (0..30).map(|_| rule(rng)).collect();
            let doc = format!("[{}]", doc.join(","));
            let rules = parse_rules(doc.as_bytes(), &RulesParseOptions::lenient("t"));
            crate::snapshot::ServingRules::of(&rules.unwrap().rules)
        };
        let (serving, serving2) = (doc(&mut rng), doc(&mut rng));
        let mut cfg = TenantConfig::default();
        cfg.base.diversity.brand_tag_prefixes = vec!["brand:".into()];
        cfg.base.diversity.category_tag_prefixes = vec!["category:".into()];
        let mut changed = cfg.clone();
        changed.base.rules_enabled = !cfg.base.rules_enabled;
        let mut prefixes = cfg.clone();
        prefixes.base.diversity.brand_tag_prefixes = vec!["category:".into()];
        let with =
            |cfg: &TenantConfig, snap: &TenantSnapshot, rules: &crate::snapshot::ServingRules| {
                let catalog = snap.catalog.clone();
                TenantSnapshot::with_policy("t", "home", catalog, cfg, rules, Versions::default())
            };
        // What a compile of its own gives for `snap`.
        let fresh = |snap: &TenantSnapshot| {
            let targets: Vec<RuleTarget> = snap
                .rules
                .iter()
                .map(|r| RuleTarget::compile(r, snap))
                .collect();
            let index = RuleIndex::build(&snap.rules, &targets, &snap.tag_index);
            (format!("{targets:?}"), format!("{index:?}"))
        };
        let own = |snap: &TenantSnapshot| {
            (
                format!("{:?}", &snap.rule_targets[..]),
                format!("{:?}", snap.rule_index),
            )
        };
        let a = with(&cfg, &base, &serving);
        let b = with(&changed, &base, &serving);
        assert!(Arc::ptr_eq(&a.rule_index, &b.rule_index));
        assert!(Arc::ptr_eq(&a.rule_targets, &b.rule_targets));
        assert!(!a.rules.is_empty() && own(&b) == fresh(&b));
        for c in [
            with(&prefixes, &base, &serving),
            with(&cfg, &base, &serving2),
            with(&cfg, &other_catalog, &serving),
        ] {
            assert!(!Arc::ptr_eq(&a.rule_index, &c.rule_index));
            assert_eq!(own(&c), fresh(&c));
        }
        // Each of them is kept too: the prefixes' snapshot compiled again shares its own.
        let p1 = with(&prefixes, &base, &serving);
        let p2 = with(&changed, &base, &serving);
        assert!(Arc::ptr_eq(&a.rule_index, &p2.rule_index));
        assert!(!Arc::ptr_eq(&a.rule_index, &p1.rule_index));
    }

    /// Offers `offered` to an empty pool through the rule blocks of a `home` / `default`
    /// request; returns the pool and how many full block lookups the offers made.
    fn pool_of(snap: &TenantSnapshot, offered: Vec<u32>) -> (Pool, u64) {
        let scope = Scope::new(snap, "home", "default", Timestamp::from_secs(0));
        let keys = Keys::new(snap);
        let f = crate::candidates::Filters {
            blocks: Some(&scope),
            ..Default::default()
        };
        let mut pool = Pool::with_capacity(0, usize::MAX);
        for k in offered {
            pool.offer(snap, &keys, &f, k);
        }
        let checks = scope.block_checks();
        (pool, checks)
    }

    /// Offers `offered` as [`pool_of`] does, reading the signals of what the first `split`
    /// offers pooled with their targeted tags recorded and the rest's without; returns the
    /// pool and how many candidates have their tags recorded.
    fn recorded_pool_of(snap: &TenantSnapshot, offered: &[u32], split: usize) -> (Pool, usize) {
        let scope = Scope::new(snap, "home", "default", Timestamp::from_secs(0));
        let keys = Keys::new(snap);
        let f = crate::candidates::Filters {
            blocks: Some(&scope),
            ..Default::default()
        };
        let used = crate::candidates::SignalUse::default();
        let maps = crate::candidates::SignalMaps::build(snap, &[], "", used, None);
        let w = crate::config::Weights::POPULARITY_ONLY;
        let mut pool = Pool::with_capacity(0, usize::MAX);
        let (first, rest) = offered.split_at(split);
        for &k in first {
            pool.offer(snap, &keys, &f, k);
        }
        pool.fill_signals(snap, &maps, &w, true);
        let upto = pool.len();
        for &k in rest {
            pool.offer(snap, &keys, &f, k);
        }
        pool.fill_signals(snap, &maps, &w, false);
        (pool, upto)
    }

    /// Resolution through the index's per-rule records and tagged slots equals a plain
    /// reading of every rule: for random rule documents (boost values zero, negative and
    /// positive among them), pools and request scopes, the boosts and pins in evaluation
    /// order, with their values and the pool positions their tag targets reach, and, when
    /// every rule is asked for, the applicable blocks.
    #[test]
    fn resolve_equals_a_plain_reading_of_the_rules() {
        let mut rng = Rng::new(16);
        for round in 0..40 {
            let data = catalog(&mut rng);
            let doc: Vec<String> = (0..4 + round * 4)
                .map(|_| {
                    let v = ["0.5", "-0.25", "0", "2", "0.5"][rng.index(5)];
                    rule(&mut rng).replace("0.5", v)
                })
                .collect();
            let rules = parse_rules(
                format!("[{}]", doc.join(",")).as_bytes(),
                &RulesParseOptions::lenient("t"),
            )
            .unwrap()
            .rules;
            let mut cfg = TenantConfig::default();
            cfg.base.diversity.brand_tag_prefixes = vec!["brand:".into()];
            cfg.base.diversity.category_tag_prefixes = vec!["category:".into()];
            let snap = TenantSnapshot::compile("t", "home", &cfg, rules, data, Versions::default());
            let offered: Vec<u32> = (0..50).map(|_| rng.below(ITEMS) as u32).collect();
            let (pool, _) = pool_of(&snap, offered);
            let surface = ["home", "pdp"][rng.index(2)];
            let segment = ["default", "vip"][rng.index(2)];
            let now = Timestamp::from_secs([0, 1_800_000_000][rng.index(2)]);
            let scope = Scope::new(&snap, surface, segment, now);
            // The pool positions carrying a tag-space target, by a scan of the pool.
            let reach = |target: &RuleTarget| -> Vec<u32> {
                let (space, x) = match target {
                    RuleTarget::Tag(Some(x)) => (0, *x),
                    RuleTarget::Brand(Some(x)) => (1, *x),
                    RuleTarget::Category(Some(x)) => (2, *x),
                    _ => return Vec::new(),
                };
                (0..pool.cands.len() as u32)
                    .filter(|&pos| {
                        let t = snap.item_tags(pool.cands[pos as usize].key).unwrap();
                        [t.all, t.brands, t.categories][space].contains(&x)
                    })
                    .collect()
            };
            for every in [false, true] {
                let (mut boosts, mut pins, mut blocks) = (vec![], vec![], vec![]);
                for (r, (rule, target)) in
                    snap.rules.iter().zip(snap.rule_targets.iter()).enumerate()
                {
                    if !active(rule, surface, segment, now) {
                        continue;
                    }
                    let keyed = matches!(target, RuleTarget::Items(_) | RuleTarget::KnownItems(_));
                    let at = reach(target);
                    let value = rule.boost_value.unwrap_or(0.0);
                    match rule.action {
                        Action::Block if every => blocks.push(r),
                        Action::Block => {}
                        Action::Boost if value == 0.0 => {}
                        _ if !every && !keyed && at.is_empty() => {}
                        Action::Boost => boosts.push((r, value, at)),
                        Action::Pin => pins.push((r, value, at)),
                    }
                }
                let mut keys = Keys::new(&snap);
                let got = resolve(&scope, &mut keys, &pool, every);
                let number = |rule: &Rule| snap.rules.iter().position(|x| std::ptr::eq(x, rule));
                let read = |list: &[Action_]| -> Vec<(usize, f64, Vec<u32>)> {
                    list.iter()
                        .map(|a| (number(a.rule).unwrap(), a.value, got.positions(a).to_vec()))
                        .collect()
                };
                assert_eq!(read(&got.boosts), boosts, "round {round}, every {every}");
                assert_eq!(read(&got.pins), pins, "round {round}, every {every}");
                let got_blocks: Vec<usize> =
                    got.block_rules.iter().map(|r| number(r).unwrap()).collect();
                assert_eq!(got_blocks, blocks, "round {round}, every {every}");
                // The slot of each tag-space action finds what its target's key finds.
                for a in got.boosts.iter().chain(&got.pins) {
                    if let Target::Tagged(space, t) = a.target {
                        assert_eq!(got.positions(a), got.matches(space, t), "round {round}");
                    }
                }
            }
        }
    }

    /// The block lookups' precomputed tables equal binary searches of the sorted block
    /// lists: every packed key of the tag space finds its block rules through its slot, and
    /// an item's block bit is set exactly when some block rule names it.
    #[test]
    fn block_slots_match_a_binary_search() {
        let mut rng = Rng::new(7);
        let mut blocked_keys = 0;
        for round in 0..30 {
            let snap = snapshot(&mut rng, 5 + round * 5);
            let ix = &snap.rule_index;
            let ntags = snap.tags().len() as u32;
            for key in (0..3u8).flat_map(|space| (0..ntags).map(move |t| pack(space, t))) {
                let want = rules_of(&ix.block_tags, &key);
                let got = match ix.block_tag_bits.slot(key) {
                    Some(s) => {
                        &ix.block_tags[ix.block_off[s] as usize..ix.block_off[s + 1] as usize]
                    }
                    None => &[][..],
                };
                assert_eq!(got, want, "round {round} key {key}");
                blocked_keys += usize::from(!want.is_empty());
            }
            for i in 0..ITEMS as u32 {
                let named = !rules_of(&ix.block_items, &i).is_empty();
                assert_eq!(
                    bit_set(&ix.block_item_bits, i),
                    named,
                    "round {round} item {i}"
                );
            }
        }
        assert!(
            blocked_keys > 30,
            "too few blocked tag keys: {blocked_keys}"
        );
    }

    /// Round `round`'s snapshot of the tag-hit tests: a third of the rounds target no
    /// prefixed tag and no tag outside the items' similarity tags (`t0`..`t29`) in the tag
    /// space.
    fn round_snapshot(rng: &mut Rng, round: usize) -> TenantSnapshot {
        match round % 3 {
            0 => snapshot_of(rng, 5 + round * 5, |r| {
                !r.contains(r#""target_type":"tag""#)
                    || r.contains(r#""target_key":"t"#) && !r.contains(r#""target_key":"t3"#)
            }),
            _ => snapshot(rng, 5 + round * 5),
        }
    }

    /// An item's tag hits read from its row lists ([`RuleIndex::item_tag_hits`]) equal those of its [`ItemTags`] ([`RuleIndex::tag_hits`]),
    /// in the same order, for every item (and none outside the catalog); the row's lists
    /// are the matching [`ItemTags`] fields.
    #[test]
    fn item_tag_hits_match_the_item_tags_scan() {
        let mut rng = Rng::new(7);
        let (mut found, mut in_sim) = (0usize, [0usize; 2]);
        for round in 0..30 {
            let snap = round_snapshot(&mut rng, round);
            let ix = &snap.rule_index;
            let tags = &snap.tag_index;
            for i in 0..ITEMS as u32 + 3 {
                let (mut want, mut got) = (Vec::new(), Vec::new());
                match snap.item_tags(i) {
                    Some(t) => {
                        ix.tag_hits(t, i * 2, &mut want);
                        for (sim, tags_of) in [(true, t.sim), (false, t.all)] {
                            let lists = [tags_of, t.brands, t.categories];
                            assert_eq!(tags.keyed_lists(i, sim), lists, "round {round} item {i}");
                        }
                    }
                    None => assert_eq!(tags.keyed_lists(i, true), [&[] as &[u32]; 3]),
                }
                ix.item_tag_hits(tags, i, i * 2, &mut got);
                assert_eq!(got, want, "round {round} item {i}");
                found += got.len();
                in_sim[usize::from(ix.targets_in_sim)] += got.len();
            }
        }
        // Hits found, with the similarity tags scanned and with all tags scanned.
        assert!(
            found > 100 && in_sim.iter().all(|&n| n > 10),
            "{found} {in_sim:?}"
        );
    }

    /// The grouped tag targets of a pool equal a map built by scanning every candidate's
    /// tags against every tag boost and pin.
    #[test]
    fn pool_tag_targets_match_a_reference_scan() {
        let mut rng = Rng::new(42);
        // Rounds whose candidates are told apart by the tag-target bitset (the recorded
        // pools read only the rows it lets through) and rounds with dense targets.
        let mut filtered = [0usize; 2];
        // Rounds whose targeted tags are all similarity tags (scanned in `sim`), and rounds
        // with a prefixed tag targeted (scanned in `all`), both with tag actions.
        let mut in_sim = [0usize; 2];
        for round in 0..30 {
            let snap = round_snapshot(&mut rng, round);
            filtered[usize::from(snap.rule_index.filters_tag_rows())] += 1;
            if snap.rule_index.targets_tags() {
                in_sim[usize::from(snap.rule_index.targets_in_sim)] += 1;
            }
            let offered: Vec<u32> = (0..60).map(|_| rng.below(ITEMS) as u32).collect();
            let (pool, _) = pool_of(&snap, offered.clone());
            let mut keys = std::collections::BTreeSet::new();
            for (rule, target) in snap.rules.iter().zip(snap.rule_targets.iter()) {
                let key = match target {
                    RuleTarget::Tag(Some(t)) => pack(0, *t),
                    RuleTarget::Brand(Some(t)) => pack(1, *t),
                    RuleTarget::Category(Some(t)) => pack(2, *t),
                    _ => continue,
                };
                if acts(rule) {
                    keys.insert(key);
                }
            }
            let mut want: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
            for key in keys {
                for (pos, c) in pool.cands.iter().enumerate() {
                    let t = snap.item_tags(c.key).unwrap();
                    let list = [t.all, t.brands, t.categories][(key >> 30) as usize];
                    if list.contains(&(key & ((1 << 30) - 1))) {
                        want.entry(key).or_default().push(pos as u32);
                    }
                }
            }
            let targets = pool_tag_targets(&snap, &pool);
            // The same pool with its first candidates' hits recorded while their signals
            // were read (none, some or all of them) groups the same positions.
            let split = rng.below(offered.len() as u64 + 1) as usize;
            let (recorded, upto) = recorded_pool_of(&snap, &offered, split);
            assert_eq!(recorded.tag_hits().upto, upto, "round {round}");
            let again = pool_tag_targets(&snap, &recorded);
            assert_eq!(
                (&again.off, &again.pos),
                (&targets.off, &targets.pos),
                "round {round}"
            );
            let ix = &snap.rule_index;
            // Every packed key of the tag space: the targeted ones hold their positions,
            // the others none.
            let ntags = snap.tags().len() as u32;
            let got: BTreeMap<u32, Vec<u32>> = (0..3u8)
                .flat_map(|space| (0..ntags).map(move |t| pack(space, t)))
                .map(|key| (key, targets.of(ix, key).to_vec()))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            assert_eq!(got, want, "round {round}");
            // The rules to evaluate: item actions and the tag actions of carried tags, in
            // evaluation order.
            let carried: Vec<u32> = (0..snap.rules.len() as u32)
                .filter(|&r| {
                    let rule = &snap.rules[r as usize];
                    acts(rule)
                        && match &snap.rule_targets[r as usize] {
                            RuleTarget::Items(_) | RuleTarget::KnownItems(_) => true,
                            RuleTarget::Tag(Some(t)) => want.contains_key(&pack(0, *t)),
                            RuleTarget::Brand(Some(t)) => want.contains_key(&pack(1, *t)),
                            RuleTarget::Category(Some(t)) => want.contains_key(&pack(2, *t)),
                            _ => false,
                        }
                })
                .collect();
            assert_eq!(
                candidate_rules(ix, snap.rules.len(), &targets),
                carried,
                "round {round}"
            );
        }
        assert!(filtered[0] > 3 && filtered[1] > 3, "{filtered:?}");
        assert!(in_sim[0] > 3 && in_sim[1] > 3, "{in_sim:?}");
    }

    /// The tag-target bitset is exactly "the item carries a tag, brand or category some
    /// acting tag boost or pin targets" (whatever the rule's scope), so a candidate outside
    /// it has no tag hit; it is kept while at most 3/4 of the items are set, and without it
    /// every key may hit. For random rule documents (none to many tag actions, plain,
    /// prefixed and value-named tags): every catalog item against a scan of its tag row,
    /// and keys outside the catalog.
    #[test]
    fn tag_target_bits_equal_a_scan_of_the_tag_rows() {
        let mut rng = Rng::new(0x7461_6773);
        let (mut set, mut clear, mut dense) = (0usize, 0usize, 0usize);
        for round in 0..40 {
            let snap = snapshot(&mut rng, round * 3);
            let ix = &snap.rule_index;
            let targeted: Vec<(usize, u32)> = snap
                .rules
                .iter()
                .zip(snap.rule_targets.iter())
                .filter(|(rule, _)| acts(rule))
                .filter_map(|(_, target)| match target {
                    RuleTarget::Tag(Some(t)) => Some((0, *t)),
                    RuleTarget::Brand(Some(t)) => Some((1, *t)),
                    RuleTarget::Category(Some(t)) => Some((2, *t)),
                    _ => None,
                })
                .collect();
            let carries: Vec<bool> = (0..ITEMS as u32)
                .map(|k| {
                    let t = snap.item_tags(k).unwrap();
                    targeted
                        .iter()
                        .any(|&(space, x)| [t.all, t.brands, t.categories][space].contains(&x))
                })
                .collect();
            let carried = carries.iter().filter(|&&c| c).count();
            // Kept exactly while at most 3/4 of the items carry a targeted key.
            assert_eq!(
                ix.filters_tag_rows(),
                carried * 4 <= ITEMS as usize * 3,
                "round {round}: {carried} items carry a target"
            );
            if !ix.filters_tag_rows() {
                dense += 1;
                assert!(
                    (0..ITEMS as u32 + 70).all(|k| ix.may_hit(k)),
                    "round {round}"
                );
                continue;
            }
            for (k, &want) in carries.iter().enumerate() {
                let k = k as u32;
                assert_eq!(ix.may_hit(k), want, "round {round} item {k}");
                // Outside the bitset, the hits scan finds nothing.
                let mut hits = Vec::new();
                ix.tag_hits(snap.item_tags(k).unwrap(), 0, &mut hits);
                assert_eq!(hits.is_empty(), !want, "round {round} item {k}");
                if want {
                    set += 1;
                } else {
                    clear += 1;
                }
            }
            for k in ITEMS as u32..ITEMS as u32 + 70 {
                assert!(!ix.may_hit(k), "round {round} key {k}");
            }
        }
        assert!(
            set > 300 && clear > 300 && dense > 5,
            "set {set}, clear {clear}, dense {dense}"
        );
    }

    /// Block rules a pool cannot hit cost it nothing: the full block lookup runs only for
    /// candidates some block rule targets, with 100 or 1,000 unreachable block rules.
    #[test]
    fn block_lookups_do_not_grow_with_unreachable_blocks() {
        let checks = |extra: usize| {
            let mut rules = vec![
                r#"{"action":"block","target_type":"item","item_ids":["i003"]}"#.to_string(),
                r#"{"action":"block","target_type":"tag","target_key":"t7","surface":"pdp"}"#
                    .to_string(),
            ];
            // Blocks on items beyond the pool and on tags no pooled item carries.
            rules.extend((0..extra).map(|j| match j % 3 {
                0 => format!(
                    r#"{{"action":"block","target_type":"item","item_ids":["i{:03}"]}}"#,
                    60 + j % 60
                ),
                1 => format!(r#"{{"action":"block","target_type":"tag","target_key":"u{j}"}}"#),
                _ => format!(r#"{{"action":"block","target_type":"item","item_ids":["gone{j}"]}}"#),
            }));
            let doc = format!("[{}]", rules.join(","));
            let rules = parse_rules(doc.as_bytes(), &RulesParseOptions::lenient("t"))
                .unwrap()
                .rules;
            // i000..i059 carry t<i % 10>; i060.. carry u<i>, so the u-blocks reach none of
            // the pool.
            let content = (0..ITEMS)
                .map(|i| {
                    let tag = if i < 60 {
                        format!("t{}", i % 10)
                    } else {
                        format!("u{i}")
                    };
                    (format!("i{i:03}"), vec![tag])
                })
                .collect();
            let data = SignalData {
                content: Some(content),
                ..SignalData::default()
            };
            let cfg = TenantConfig::default();
            let snap = TenantSnapshot::compile("t", "home", &cfg, rules, data, Versions::default());
            let items = (0..60u32).map(|k| snap.items.get(&format!("i{k:03}")).unwrap());
            let (pool, checks) = pool_of(&snap, items.collect::<Vec<_>>());
            (checks, pool.len())
        };
        // i003 is blocked by a rule for every request (one bit, no lookup); the six t7 items
        // are looked up and kept (the rule is scoped to another surface); the rest of the
        // pool is never looked up.
        assert_eq!(checks(100), (6, 59));
        assert_eq!(checks(1000), checks(100));
    }
}
