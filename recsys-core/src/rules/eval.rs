//! Rule evaluation for one request: which compiled rules apply (surface and segment scope, and
//! the time window at `ctx.now`), what they block,
//! and the ordered pin and boost actions. Blocks always win: they are hard filters applied to
//! every candidate before pins and boosts are considered, so a block frees the pin slot a
//! blocked item would have taken, whatever the priorities.

use super::{Action, Rule, TargetType};
use crate::candidates::{Blocks, Keys};
use crate::request::normalize_tag;
use crate::snapshot::{ItemIdx, TagIdx, TenantSnapshot};
use crate::time::Timestamp;

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

/// The applicable rules of one request.
#[derive(Debug, Default)]
pub struct Applied<'s> {
    pub blocks: Blocks,
    /// The applicable block rules, in evaluation order.
    pub block_rules: Vec<&'s Rule>,
    /// Their targets (same order), for per-rule telemetry.
    pub block_targets: Vec<Target<'s>>,
    pub boosts: Vec<Action_<'s>>,
    pub pins: Vec<Action_<'s>>,
    pub applicable: usize,
}

/// Resolves the snapshot's rules for a request.
pub fn resolve<'s>(
    snap: &'s TenantSnapshot,
    keys: &mut Keys<'s>,
    surface: &str,
    segment: &str,
    now: Timestamp,
) -> Applied<'s> {
    // Capacities first (upper bounds over every rule, active or not): growing these vectors
    // one reallocation at a time costs more than the resolution itself once the allocator
    // has to consolidate freed chunks for each larger block.
    let (mut items, mut tags, mut brands, mut cats, mut blocks, mut boosts, mut pins) =
        (0, 0, 0, 0, 0, 0, 0);
    for (rule, target) in snap.rules.iter().zip(snap.rule_targets.iter()) {
        match rule.action {
            Action::Block => {
                blocks += 1;
                match target {
                    RuleTarget::Items(v) => items += v.len(),
                    RuleTarget::KnownItems(v) => items += v.len(),
                    RuleTarget::Tag(_) => tags += 1,
                    RuleTarget::Brand(_) => brands += 1,
                    RuleTarget::Category(_) => cats += 1,
                }
            }
            Action::Boost => boosts += 1,
            Action::Pin => pins += 1,
        }
    }
    let mut out = Applied {
        blocks: Blocks {
            items: Vec::with_capacity(items),
            tags: Vec::with_capacity(tags),
            brands: Vec::with_capacity(brands),
            categories: Vec::with_capacity(cats),
        },
        block_rules: Vec::with_capacity(blocks),
        block_targets: Vec::with_capacity(blocks),
        boosts: Vec::with_capacity(boosts),
        pins: Vec::with_capacity(pins),
        applicable: 0,
    };
    for (rule, target) in snap.rules.iter().zip(snap.rule_targets.iter()) {
        if !active(rule, surface, segment, now) {
            continue;
        }
        out.applicable += 1;
        let t = match target {
            RuleTarget::KnownItems(ids) => Target::Keys(std::borrow::Cow::Borrowed(ids)),
            RuleTarget::Items(ids) => Target::Keys(
                ids.iter()
                    .map(|r| match r {
                        Ok(i) => *i,
                        Err(s) => keys.key(snap, s),
                    })
                    .collect(),
            ),
            RuleTarget::Tag(Some(t)) => Target::Tagged(0, *t),
            RuleTarget::Brand(Some(t)) => Target::Tagged(1, *t),
            RuleTarget::Category(Some(t)) => Target::Tagged(2, *t),
            _ => Target::Nothing,
        };
        match rule.action {
            Action::Block => {
                match &t {
                    Target::Keys(k) => out.blocks.items.extend_from_slice(k),
                    Target::Tagged(0, x) => out.blocks.tags.push(*x),
                    Target::Tagged(1, x) => out.blocks.brands.push(*x),
                    Target::Tagged(_, x) => out.blocks.categories.push(*x),
                    Target::Nothing => {}
                }
                out.block_rules.push(rule);
                out.block_targets.push(t);
            }
            Action::Boost => {
                if rule.boost_value.is_some_and(|v| v != 0.0 && v.is_finite()) {
                    out.boosts.push(Action_ { rule, target: t });
                }
            }
            Action::Pin => out.pins.push(Action_ { rule, target: t }),
        }
    }
    out.blocks.finish();
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
