//! Rule checks: expired and future windows, unknown targets, duplicates, pins removed by
//! blocks, shadowed rules and pin budgets. Pairs of rules are found through indexes by
//! target (item id, tag key), never by comparing every pair.

use super::{codes, CatalogView, Finding, LintInput, Severity, TagSpace};
use crate::request::normalize_tag;
use crate::rules::{Action, Rule, TargetType};
use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap};

pub(super) fn check(input: &LintInput) -> Vec<Finding> {
    let mut out = Vec::new();
    windows(input, &mut out);
    let live: Vec<&Rule> = input
        .rules
        .iter()
        .filter(|r| r.enabled && r.valid_until.is_none_or(|u| u > input.now))
        .collect();
    if let Some(cat) = input.catalog {
        unknown_targets(&live, cat, &mut out);
    }
    duplicates(input.rules, &mut out);
    let mut order = live.clone();
    order.sort_by_key(|r| (std::cmp::Reverse(r.priority), r.index));
    let blocks = BlockIndex::new(&order);
    pins_blocked(&order, &blocks, input.catalog, &mut out);
    shadowed_by_blocks(&order, &blocks, input.catalog, &mut out);
    pin_budgets(&order, input, &mut out);
    out
}

fn windows(input: &LintInput, out: &mut Vec<Finding>) {
    for r in input.rules.iter().filter(|r| r.enabled) {
        if let Some(u) = r.valid_until.filter(|u| *u <= input.now) {
            out.push(expired(r, u));
        }
        if let Some(f) = r.valid_from.filter(|f| *f > input.now) {
            out.push(not_yet_active(r, f));
        }
    }
}

/// `RULES_EXPIRED` of rule `r`, whose window ended at `until`.
pub(super) fn expired(r: &Rule, until: Timestamp) -> Finding {
    Finding::rule(
        codes::RULES_EXPIRED,
        Severity::Warning,
        vec![r.index],
        format!(
            "rule {} ({}) expired at {}",
            r.index,
            describe(r),
            until.to_rfc3339_nanos()
        ),
    )
}

/// `RULES_NOT_YET_ACTIVE` of rule `r`, whose window starts at `from`.
pub(super) fn not_yet_active(r: &Rule, from: Timestamp) -> Finding {
    let mut x = Finding::rule(
        codes::RULES_NOT_YET_ACTIVE,
        Severity::Warning,
        vec![r.index],
        format!(
            "rule {} ({}) starts at {}",
            r.index,
            describe(r),
            from.to_rfc3339_nanos()
        ),
    );
    x.starts_at = Some(from);
    x
}

/// `PIN ITEM ["a","b"]`, `BLOCK TAG "sale"`: how findings name a rule's effect.
pub(crate) fn describe(r: &Rule) -> String {
    match r.target_type {
        TargetType::Item => {
            let shown: Vec<String> = r
                .item_ids
                .iter()
                .take(5)
                .map(|i| format!("{i:?}"))
                .collect();
            let more = if r.item_ids.len() > 5 {
                format!(" and {} more", r.item_ids.len() - 5)
            } else {
                String::new()
            };
            format!("{} ITEM [{}]{more}", r.action, shown.join(", "))
        }
        t => format!("{} {t} {:?}", r.action, r.target_key),
    }
}

pub(crate) fn space(t: TargetType) -> Option<TagSpace> {
    match t {
        TargetType::Item => None,
        TargetType::Tag => Some(TagSpace::Tag),
        TargetType::Brand => Some(TagSpace::Brand),
        TargetType::Category => Some(TagSpace::Category),
    }
}

fn unknown_targets(live: &[&Rule], cat: &dyn CatalogView, out: &mut Vec<Finding>) {
    if cat.item_count() == 0 {
        return; // no catalog loaded: nothing to compare with
    }
    for r in live {
        match space(r.target_type) {
            None => {
                let unknown: Vec<&String> =
                    r.item_ids.iter().filter(|i| !cat.has_item(i)).collect();
                if unknown.is_empty() {
                    continue;
                }
                let all = unknown.len() == r.item_ids.len();
                let shown: Vec<String> = unknown.iter().take(5).map(|i| format!("{i:?}")).collect();
                out.push(Finding::rule(
                    codes::RULES_UNKNOWN_TARGET,
                    if all {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    vec![r.index],
                    format!(
                        "rule {} ({}): {} of {} item ids are not in the catalog: {}",
                        r.index,
                        describe(r),
                        unknown.len(),
                        r.item_ids.len(),
                        shown.join(", ")
                    ),
                ));
            }
            Some(sp) => {
                if cat.items_matching(sp, &r.target_key) == 0 {
                    out.push(Finding::rule(
                        codes::RULES_UNKNOWN_TARGET,
                        Severity::Error,
                        vec![r.index],
                        format!(
                            "rule {} ({}): no catalog item has {} {:?}",
                            r.index,
                            describe(r),
                            r.target_type.as_str().to_ascii_lowercase(),
                            r.target_key
                        ),
                    ));
                }
            }
        }
    }
}

/// Everything that decides a rule's behaviour (not its id, name, description or timestamps).
fn fingerprint(r: &Rule) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
        r.action,
        r.target_type,
        r.target_key,
        r.item_ids,
        r.namespace.as_deref().map(str::to_lowercase),
        r.surface.as_deref().map(str::to_lowercase),
        r.segment.as_deref().map(str::to_lowercase),
        r.enabled,
        r.valid_from,
        r.valid_until,
        r.priority,
        r.boost_value.map(f64::to_bits),
        r.max_pins,
    )
}

fn duplicates(rules: &[Rule], out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in rules {
        groups.entry(fingerprint(r)).or_default().push(r.index);
    }
    let mut found: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    found.sort();
    for mut g in found {
        g.sort_unstable();
        let list: Vec<String> = g.iter().map(usize::to_string).collect();
        let first = g[0];
        // Name the later copies first: they are the ones to delete.
        g.rotate_left(1);
        out.push(Finding::rule(
            codes::RULES_DUPLICATE,
            Severity::Warning,
            g,
            format!(
                "rules {} are identical; only rule {first} is needed",
                list.join(", ")
            ),
        ));
    }
}

/// The surface values a rule's namespace and surface scopes require (folded).
fn surfaces(r: &Rule) -> Vec<String> {
    let mut v: Vec<String> = [&r.namespace, &r.surface]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_lowercase())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether some request can see both rules at once (scopes and windows overlap).
fn coapply(a: &Rule, b: &Rule) -> bool {
    let mut s = surfaces(a);
    s.extend(surfaces(b));
    s.sort();
    s.dedup();
    if s.len() > 1 {
        return false;
    }
    if let (Some(x), Some(y)) = (&a.segment, &b.segment) {
        if !x.trim().eq_ignore_ascii_case(y.trim()) {
            return false;
        }
    }
    let start = max_opt(a.valid_from, b.valid_from);
    let end = min_opt(a.valid_until, b.valid_until);
    !matches!((start, end), (Some(s), Some(e)) if s >= e)
}

/// Whether `a` applies to every request `b` applies to.
fn dominates(a: &Rule, b: &Rule) -> bool {
    let sb = surfaces(b);
    let scope = surfaces(a).iter().all(|s| sb.contains(s))
        && a.segment.as_ref().is_none_or(|x| {
            b.segment
                .as_ref()
                .is_some_and(|y| x.trim().eq_ignore_ascii_case(y.trim()))
        });
    let from = a
        .valid_from
        .is_none_or(|x| b.valid_from.is_some_and(|y| x <= y));
    let until = a
        .valid_until
        .is_none_or(|x| b.valid_until.is_some_and(|y| y <= x));
    scope && from && until
}

fn max_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) | (None, x) => x,
    }
}

fn min_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

/// Live block rules indexed by what they remove.
struct BlockIndex<'r> {
    by_item: HashMap<&'r str, Vec<&'r Rule>>,
    by_key: HashMap<(TagSpace, String), Vec<&'r Rule>>,
}

impl<'r> BlockIndex<'r> {
    fn new(order: &[&'r Rule]) -> BlockIndex<'r> {
        let mut by_item: HashMap<&str, Vec<&Rule>> = HashMap::new();
        let mut by_key: HashMap<(TagSpace, String), Vec<&Rule>> = HashMap::new();
        for r in order.iter().filter(|r| r.action == Action::Block) {
            match space(r.target_type) {
                None => {
                    for id in &r.item_ids {
                        by_item.entry(id.as_str()).or_default().push(r);
                    }
                }
                Some(sp) => by_key
                    .entry((sp, normalize_tag(&r.target_key)))
                    .or_default()
                    .push(r),
            }
        }
        BlockIndex { by_item, by_key }
    }

    /// Blocks (other than `except`) that remove item `id`: by id, or through a tag, brand or
    /// category the catalog gives it (one lookup per key of the item).
    fn blocking_item(
        &self,
        id: &str,
        cat: Option<&dyn CatalogView>,
        except: &Rule,
    ) -> Vec<&'r Rule> {
        let mut v: Vec<&Rule> = self.by_item.get(id).cloned().unwrap_or_default();
        if let Some(cat) = cat.filter(|_| !self.by_key.is_empty()) {
            for (sp, key) in cat.item_keys(id) {
                if let Some(bs) = self.by_key.get(&(sp, key)) {
                    v.extend(bs);
                }
            }
        }
        v.retain(|b| !std::ptr::eq(*b, except));
        v
    }

    /// Blocks (other than `except`) with exactly this tag-space target.
    fn blocking_key(&self, sp: TagSpace, key: &str, except: &Rule) -> Vec<&'r Rule> {
        let mut v = self
            .by_key
            .get(&(sp, normalize_tag(key)))
            .cloned()
            .unwrap_or_default();
        v.retain(|b| !std::ptr::eq(*b, except));
        v
    }
}

fn index_list(rules: &[&Rule]) -> Vec<usize> {
    let mut v: Vec<usize> = rules.iter().map(|r| r.index).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn pins_blocked(
    order: &[&Rule],
    blocks: &BlockIndex,
    cat: Option<&dyn CatalogView>,
    out: &mut Vec<Finding>,
) {
    for p in order.iter().filter(|r| r.action == Action::Pin) {
        let (blocked, total, by): (Vec<String>, usize, Vec<&Rule>) = match space(p.target_type) {
            None => {
                let mut ids = Vec::new();
                let mut by = Vec::new();
                for id in &p.item_ids {
                    let bs: Vec<&Rule> = blocks
                        .blocking_item(id, cat, p)
                        .into_iter()
                        .filter(|b| coapply(p, b))
                        .collect();
                    if !bs.is_empty() {
                        ids.push(id.clone());
                        by.extend(bs);
                    }
                }
                (ids, p.item_ids.len(), by)
            }
            Some(sp) => {
                let by: Vec<&Rule> = blocks
                    .blocking_key(sp, &p.target_key, p)
                    .into_iter()
                    .filter(|b| coapply(p, b))
                    .collect();
                let ids = if by.is_empty() {
                    vec![]
                } else {
                    vec![p.target_key.clone()]
                };
                (ids, 1, by)
            }
        };
        if blocked.is_empty() {
            continue;
        }
        let by = index_list(&by);
        let all = blocked.len() == total;
        let mut rules = vec![p.index];
        rules.extend(by.iter().copied());
        let shown: Vec<String> = blocked.iter().take(5).map(|i| format!("{i:?}")).collect();
        out.push(Finding::rule(
            codes::RULES_PIN_BLOCKED,
            if all {
                Severity::Error
            } else {
                Severity::Warning
            },
            rules,
            format!(
                "rule {} ({}) pins {} that block rule(s) {} remove (blocks always win): {}",
                p.index,
                describe(p),
                if all { "only targets" } else { "targets" },
                by.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                shown.join(", ")
            ),
        ));
    }
}

/// Boosts whose every target a block always removes, and blocks that an earlier block always
/// covers: they can never change an answer.
fn shadowed_by_blocks(
    order: &[&Rule],
    blocks: &BlockIndex,
    cat: Option<&dyn CatalogView>,
    out: &mut Vec<Finding>,
) {
    for (pos, r) in order.iter().enumerate() {
        if r.action == Action::Pin {
            continue;
        }
        // A block is shadowed only by a block evaluated before it (so of two blocks that
        // cover each other, the later one is reported).
        let earlier = |b: &&Rule| {
            dominates(b, r)
                && (r.action == Action::Boost || order[..pos].iter().any(|x| std::ptr::eq(*x, *b)))
        };
        let covering: Option<Vec<&Rule>> = match space(r.target_type) {
            None if !r.item_ids.is_empty() => {
                let mut all = Vec::new();
                let mut ok = true;
                for id in &r.item_ids {
                    let bs: Vec<&Rule> = blocks
                        .blocking_item(id, cat, r)
                        .into_iter()
                        .filter(earlier)
                        .collect();
                    if bs.is_empty() {
                        ok = false;
                        break;
                    }
                    all.extend(bs);
                }
                ok.then_some(all)
            }
            None => None,
            Some(sp) => {
                let bs: Vec<&Rule> = blocks
                    .blocking_key(sp, &r.target_key, r)
                    .into_iter()
                    .filter(earlier)
                    .collect();
                (!bs.is_empty()).then_some(bs)
            }
        };
        let Some(by) = covering else { continue };
        let by = index_list(&by);
        let mut rules = vec![r.index];
        rules.extend(by.iter().copied());
        out.push(Finding::rule(
            codes::RULES_SHADOWED,
            Severity::Warning,
            rules,
            format!(
                "rule {} ({}) never changes an answer: block rule(s) {} always remove every item it targets",
                r.index,
                describe(r),
                by.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
}

/// How many pin slots a pin rule can take (its targets, capped by its own `max_pins`).
fn pin_demand(r: &Rule, cat: Option<&dyn CatalogView>) -> usize {
    let n = match space(r.target_type) {
        None => match cat.filter(|c| c.item_count() > 0) {
            Some(c) => r.item_ids.iter().filter(|i| c.has_item(i)).count(),
            None => r.item_ids.len(),
        },
        Some(sp) => match cat.filter(|c| c.item_count() > 0) {
            Some(c) => c.items_matching(sp, &r.target_key),
            None => 1,
        },
    };
    match r.max_pins {
        Some(m) if m >= 0 => n.min(m as usize),
        _ => n,
    }
}

/// Pin budgets per surface: over-budget surfaces, and pins that always find the budget
/// already filled by higher-priority pins that apply whenever they do.
fn pin_budgets(order: &[&Rule], input: &LintInput, out: &mut Vec<Finding>) {
    let pins: Vec<&Rule> = order
        .iter()
        .copied()
        .filter(|r| r.action == Action::Pin)
        .collect();
    if pins.is_empty() {
        return;
    }
    // Surfaces to check: each surface a pin is scoped to, plus the unscoped case.
    let mut named: Vec<String> = pins.iter().flat_map(|r| surfaces(r)).collect();
    named.sort();
    named.dedup();
    let budget = |surface: Option<&str>| -> usize {
        match surface {
            Some(s) => input.config.for_surface(s).limits.max_pins as usize,
            None => input.config.base.limits.max_pins as usize,
        }
    };
    for surface in named.iter().map(|s| Some(s.as_str())).chain([None]) {
        let here: Vec<&Rule> = pins
            .iter()
            .copied()
            .filter(|r| {
                let s = surfaces(r);
                match surface {
                    Some(x) => s.is_empty() || (s.len() == 1 && s[0] == x),
                    None => s.is_empty(),
                }
            })
            .collect();
        let max = budget(surface);
        let demand: usize = here.iter().map(|r| pin_demand(r, input.catalog)).sum();
        if demand > max {
            let mut f = Finding::rule(
                codes::RULES_PIN_OVER_BUDGET,
                Severity::Warning,
                index_list(&here),
                format!(
                    "{} pin rules can pin {demand} items on {} but max_pins is {max}; the lowest-priority pins are dropped",
                    here.len(),
                    surface.map_or("unscoped surfaces".to_string(), |s| format!("surface {s:?}")),
                ),
            );
            f.surface = surface.map(str::to_string);
            out.push(f);
        }
        shadowed_pins(&here, max, surface, input, out);
    }
}

/// Pins after which the budget is always full: every earlier pin dominating them (applies
/// whenever they do) with its slots counted. Earlier pins are accumulated per scope, so this
/// stays linear in the pins of the surface.
fn shadowed_pins(
    here: &[&Rule],
    max: usize,
    surface: Option<&str>,
    input: &LintInput,
    out: &mut Vec<Finding>,
) {
    if max == 0 {
        return;
    }
    // Unbounded-window, unsegmented pins dominate every later pin of this surface group.
    let mut filled = 0usize;
    let mut fillers: Vec<&Rule> = Vec::new();
    for r in here {
        // An unscoped pin is reported once, in the unscoped group.
        let reportable = surface.is_none() || !surfaces(r).is_empty();
        if reportable && filled >= max && fillers.iter().all(|f| dominates(f, r)) {
            let mut rules = vec![r.index];
            rules.extend(index_list(&fillers));
            let mut f = Finding::rule(
                codes::RULES_SHADOWED,
                Severity::Warning,
                rules,
                format!(
                    "rule {} ({}) never pins: higher-priority pins {} always fill the {max} pin slots first",
                    r.index,
                    describe(r),
                    index_list(&fillers)
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            f.surface = surface.map(str::to_string);
            out.push(f);
            continue;
        }
        let general = r.segment.is_none() && r.valid_from.is_none() && r.valid_until.is_none();
        if general && filled < max {
            filled += pin_demand(r, input.catalog);
            fillers.push(r);
        }
    }
}
