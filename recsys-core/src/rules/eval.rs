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
use crate::snapshot::{ItemIdx, TagIdx, TenantSnapshot};
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

/// A bitset over packed (space, tag) keys.
#[derive(Debug, Default)]
struct TagBits {
    ntags: usize,
    bits: Vec<u64>,
}

impl TagBits {
    fn new(ntags: usize, keys: impl Iterator<Item = u32>) -> TagBits {
        let mut b = TagBits {
            ntags,
            bits: vec![0u64; (3 * ntags).div_ceil(64)],
        };
        for key in keys {
            let bit = b.bit(key);
            if let Some(w) = b.bits.get_mut(bit / 64) {
                *w |= 1 << (bit % 64);
            }
        }
        b
    }
    fn bit(&self, key: u32) -> usize {
        (key >> 30) as usize * self.ntags + (key & ((1 << 30) - 1)) as usize
    }
    fn has(&self, key: u32) -> bool {
        let bit = self.bit(key);
        self.bits
            .get(bit / 64)
            .is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }
}

/// A snapshot's rules indexed by target, built once at compile time (rule numbers are
/// positions in `TenantSnapshot::rules`, i.e. evaluation order).
#[derive(Debug, Default)]
pub struct RuleIndex {
    /// Block rules on catalog items: (item, rule), sorted.
    block_items: Vec<(ItemIdx, u32)>,
    /// Bitset over item ids: some block rule names the item.
    block_item_bits: Vec<u64>,
    /// Block rules on ids the catalog does not know: (id, rule), sorted.
    block_names: Vec<(Box<str>, u32)>,
    /// Block rules on tags, brands and categories: (packed tag, rule), sorted.
    block_tags: Vec<(u32, u32)>,
    block_tag_bits: TagBits,
    /// Boost and pin rules on items, in evaluation order.
    keyed_actions: Vec<u32>,
    /// Boost and pin rules on tags, brands and categories: (packed tag, rule), sorted.
    tagged_actions: Vec<(u32, u32)>,
    tagged_bits: TagBits,
    /// Every boost and pin rule that can act (any target), in evaluation order.
    actions: Vec<u32>,
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
    /// Indexes `rules` (with their compiled `targets`) over a tag space of `ntags` tags.
    pub fn build(rules: &[Rule], targets: &[RuleTarget], ntags: usize) -> RuleIndex {
        let mut ix = RuleIndex::default();
        for (r, (rule, target)) in rules.iter().zip(targets).enumerate() {
            let r = r as u32;
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
        let items = ix.block_items.last().map_or(0, |x| x.0 as usize + 1);
        ix.block_item_bits = vec![0u64; items.div_ceil(64)];
        for &(i, _) in &ix.block_items {
            ix.block_item_bits[i as usize / 64] |= 1 << (i % 64);
        }
        ix.tagged_bits = TagBits::new(ntags, ix.tagged_actions.iter().map(|x| x.0));
        ix
    }
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
        }
    }
    /// Whether rule number `r` applies to this request (counted).
    pub fn applies(&self, r: u32) -> bool {
        self.evaluated.set(self.evaluated.get() + 1);
        active(
            &self.snap.rules[r as usize],
            self.surface,
            self.segment,
            self.now,
        )
    }
    #[cfg(test)]
    /// How many rule evaluations this request has made so far.
    pub fn evaluated(&self) -> u64 {
        self.evaluated.get()
    }
    fn any(&self, list: &[(impl Sized, u32)]) -> bool {
        list.iter().any(|&(_, r)| self.applies(r))
    }
    /// Whether an applicable block rule removes candidate `k` (an item, its tags, brands or
    /// categories).
    pub fn blocks(&self, keys: &Keys, k: u32, tags: Option<crate::snapshot::ItemTags>) -> bool {
        let ix = &self.snap.rule_index;
        if k < keys.catalog {
            let named = ix
                .block_item_bits
                .get(k as usize / 64)
                .is_some_and(|w| w & (1 << (k % 64)) != 0);
            if named && self.any(rules_of(&ix.block_items, &k)) {
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
        for (space, list) in [(0u8, t.all), (1, t.brands), (2, t.categories)] {
            for &x in list {
                let key = pack(space, x);
                if ix.block_tag_bits.has(key) && self.any(rules_of(&ix.block_tags, &key)) {
                    return true;
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
    /// Packed tag keys some candidate carries and some tag rule targets, sorted.
    targeted: Vec<u32>,
    /// Pool positions per `targeted` key: `pos[off[i]..off[i + 1]]`, in pool order.
    off: Vec<u32>,
    pos: Vec<u32>,
}

impl Applied<'_> {
    /// Pool positions (pool order, as of resolution) of the candidates carrying a tag.
    pub fn matches(&self, space: u8, t: TagIdx) -> Vec<usize> {
        match self.targeted.binary_search(&pack(space, t)) {
            Ok(i) => self.pos[self.off[i] as usize..self.off[i + 1] as usize]
                .iter()
                .map(|&p| p as usize)
                .collect(),
            Err(_) => Vec::new(),
        }
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

/// Resolves the boosts and pins that can act on `pool` (its candidates, before any rule
/// acts): every applicable rule on items, and the applicable rules on tags some candidate
/// carries, in evaluation order. With `every_rule` (per-rule telemetry, which reports each
/// applicable rule) all rules are evaluated, and the applicable block rules listed too.
pub fn resolve<'s>(
    scope: &Scope<'s>,
    keys: &mut Keys<'s>,
    pool: &Pool,
    every_rule: bool,
) -> Applied<'s> {
    let snap = scope.snap;
    let ix = &snap.rule_index;
    // Tag targets the pool carries: (packed tag, pool position), in pool order.
    let mut hits: Vec<(u32, u32)> = Vec::new();
    if !ix.tagged_actions.is_empty() {
        for (pos, c) in pool.cands.iter().enumerate() {
            if let Some(t) = snap.item_tags(c.key) {
                for (space, list) in [(0u8, t.all), (1, t.brands), (2, t.categories)] {
                    for &x in list {
                        let key = pack(space, x);
                        if ix.tagged_bits.has(key) {
                            hits.push((key, pos as u32));
                        }
                    }
                }
            }
        }
    }
    let mut targeted: Vec<u32> = hits.iter().map(|h| h.0).collect();
    targeted.sort_unstable();
    targeted.dedup();
    let (off, pos) = crate::ranking::group_by_slot(targeted.len(), || {
        hits.iter()
            .map(|&(key, p)| (targeted.binary_search(&key).unwrap_or(0) as u32, p))
    });
    // The rules to evaluate, in evaluation order.
    let mut rules: Vec<u32> = if every_rule {
        (0..snap.rules.len() as u32).collect()
    } else {
        let mut v = ix.keyed_actions.clone();
        for &key in &targeted {
            v.extend(rules_of(&ix.tagged_actions, &key).iter().map(|x| x.1));
        }
        v.sort_unstable();
        v
    };
    rules.retain(|&r| scope.applies(r));
    let mut out = Applied {
        targeted,
        off,
        pos,
        ..Applied::default()
    };
    for r in rules {
        let rule = &snap.rules[r as usize];
        let t = target_of(keys, &snap.rule_targets[r as usize]);
        match rule.action {
            Action::Block => {
                out.block_rules.push(rule);
                out.block_targets.push(t);
            }
            _ if !acts(rule) => {}
            Action::Boost => out.boosts.push(Action_ { rule, target: t }),
            Action::Pin => out.pins.push(Action_ { rule, target: t }),
        }
    }
    out
}

/// `rule.boost:+0.50[<id>]`: signed, two decimals.
pub fn boost_token(rule: &Rule, delta: f64) -> String {
    format!(
        "rule.boost:{}{:.2}[{}]",
        if delta >= 0.0 { "+" } else { "-" },
        delta.abs(),
        rule.id
    )
}

/// `rule.pin[<id>]`.
pub fn pin_token(rule: &Rule) -> String {
    format!("rule.pin[{}]", rule.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::{Filters, SignalMaps};
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
        let maps = SignalMaps::default();
        let mut pool = Pool::with_capacity(50, usize::MAX);
        for k in 0..50u32 {
            pool.offer(snap, &keys, &f, &maps, k);
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
