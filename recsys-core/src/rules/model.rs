//! The typed rule model produced by the document parser, plus applicability (enabled flag,
//! validity window, scope) and the priority-ordered [`RuleSet`].

use super::uuid::RuleId;
use crate::time::Timestamp;
use std::fmt;

/// What a rule does to the items it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Remove the items from the results (always wins over pins and boosts).
    Block,
    /// Put the items at the top, within the pin budget.
    Pin,
    /// Multiply the items' scores by `1 + boost_value` (injecting missing items).
    Boost,
}

impl Action {
    /// Reads an action and its synonyms, ignoring case and surrounding whitespace:
    /// `block`/`blocklist`/`ban`/`exclude`/`suppress`, `pin`/`pinned`/`force`,
    /// `boost`/`promote`/`increase`.
    pub fn parse(s: &str) -> Option<Action> {
        let s = s.trim();
        const BLOCK: &[&str] = &["block", "blocklist", "ban", "exclude", "suppress"];
        const PIN: &[&str] = &["pin", "pinned", "force"];
        const BOOST: &[&str] = &["boost", "promote", "increase"];
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(s));
        if is(BLOCK) {
            Some(Action::Block)
        } else if is(PIN) {
            Some(Action::Pin)
        } else if is(BOOST) {
            Some(Action::Boost)
        } else {
            None
        }
    }

    /// The canonical upper-case name (`BLOCK`, `PIN`, `BOOST`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Block => "BLOCK",
            Action::Pin => "PIN",
            Action::Boost => "BOOST",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule's target designates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetType {
    /// Explicit item ids ([`Rule::item_ids`]).
    Item,
    /// Items carrying the tag [`Rule::target_key`].
    Tag,
    /// Items whose brand value is [`Rule::target_key`].
    Brand,
    /// Items whose category value is [`Rule::target_key`].
    Category,
}

impl TargetType {
    /// Reads a target type and its synonyms, ignoring case and surrounding whitespace:
    /// `item`/`items`/`product`, `tag`/`label`, `brand`, `category`/`cat`.
    pub fn parse(s: &str) -> Option<TargetType> {
        let s = s.trim();
        const ITEM: &[&str] = &["item", "items", "product"];
        const TAG: &[&str] = &["tag", "label"];
        const CATEGORY: &[&str] = &["category", "cat"];
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(s));
        if is(ITEM) {
            Some(TargetType::Item)
        } else if is(TAG) {
            Some(TargetType::Tag)
        } else if s.eq_ignore_ascii_case("brand") {
            Some(TargetType::Brand)
        } else if is(CATEGORY) {
            Some(TargetType::Category)
        } else {
            None
        }
    }

    /// The canonical upper-case name (`ITEM`, `TAG`, `BRAND`, `CATEGORY`).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Item => "ITEM",
            TargetType::Tag => "TAG",
            TargetType::Brand => "BRAND",
            TargetType::Category => "CATEGORY",
        }
    }
}

impl fmt::Display for TargetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One merchandising rule as the document defines it.
///
/// Rules from [`parse_rules`](super::parse_rules) are always well formed: an ITEM rule has at
/// least one item id; a TAG/BRAND/CATEGORY rule has a non-empty, normalised key.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The given UUID, or one derived from the tenant and the rule's content.
    pub id: RuleId,
    /// Position of the rule object in the document's rule list (after envelope unwrapping);
    /// dropped rules keep their positions, so indices can have gaps.
    pub index: usize,
    pub action: Action,
    pub target_type: TargetType,
    /// The target key: trimmed, and lower-cased for TAG/BRAND/CATEGORY. For ITEM rules it is
    /// the key as given (possibly empty); the ids are in `item_ids`.
    pub target_key: String,
    /// ITEM targets: trimmed, blanks dropped, de-duplicated in order, case preserved.
    /// Empty for the other target types.
    pub item_ids: Vec<String>,
    /// Scope (trimmed; `None` = any). Namespace and surface are both compared with the
    /// request surface (the service uses the surface as namespace).
    pub namespace: Option<String>,
    pub surface: Option<String>,
    pub segment: Option<String>,
    /// Disabled rules are kept in the model but never apply.
    pub enabled: bool,
    /// Validity window `[valid_from, valid_until)`; `None` = unbounded on that side.
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    /// Higher runs first; ties keep document order.
    pub priority: i64,
    /// BOOST only: the relative boost (finite). `None` for other actions.
    pub boost_value: Option<f64>,
    /// PIN only: per-rule pin limit (negative = no limit). `None` for other actions.
    pub max_pins: Option<i64>,
    pub manual_override_id: Option<RuleId>,
    pub name: String,
    pub description: String,
    /// Informational timestamps; `updated_at` defaults to `created_at`.
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

impl Rule {
    #[cfg(any(test, feature = "bench-internals"))]
    /// A rule with defaults around the essentials (nil id, index 0, enabled, unscoped,
    /// unbounded, priority 0); handy for building rule sets in code and tests. The key and
    /// ids are stored as given (no normalisation).
    pub fn new(
        action: Action,
        target_type: TargetType,
        target_key: impl Into<String>,
        item_ids: Vec<String>,
    ) -> Rule {
        Rule {
            id: RuleId::NIL,
            index: 0,
            action,
            target_type,
            target_key: target_key.into(),
            item_ids,
            namespace: None,
            surface: None,
            segment: None,
            enabled: true,
            valid_from: None,
            valid_until: None,
            priority: 0,
            boost_value: None,
            max_pins: None,
            manual_override_id: None,
            name: String::new(),
            description: String::new(),
            created_at: None,
            updated_at: None,
        }
    }

    /// True when the validity window contains `now` (`from <= now < until`).
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.valid_from.is_none_or(|from| from <= now)
            && self.valid_until.is_none_or(|until| now < until)
    }

    /// True when the rule's scope admits the request: a set namespace or surface must equal the
    /// request surface, and a set segment must equal a non-empty request segment, all ignoring
    /// case (Unicode simple folding) and surrounding whitespace.
    pub fn in_scope(&self, surface: &str, segment: &str) -> bool {
        let surface = surface.trim();
        let segment = segment.trim();
        let scope_ok = |s: &Option<String>, req: &str| s.as_deref().is_none_or(|s| eq_fold(s, req));
        scope_ok(&self.namespace, surface)
            && scope_ok(&self.surface, surface)
            && self
                .segment
                .as_deref()
                .is_none_or(|s| !segment.is_empty() && eq_fold(s, segment))
    }

    /// True when the rule should be evaluated for a request: enabled, active at `now` and in
    /// scope. (The reference store applies exactly these filters before evaluation.)
    pub fn applies(&self, surface: &str, segment: &str, now: Timestamp) -> bool {
        self.enabled && self.active_at(now) && self.in_scope(surface, segment)
    }
}

#[cfg(any(test, feature = "bench-internals"))]
/// Rules in evaluation order: priority descending, ties in document order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

#[cfg(any(test, feature = "bench-internals"))]
impl RuleSet {
    /// Sorts `rules` stably by priority, highest first (equal priorities keep their order).
    pub fn new(mut rules: Vec<Rule>) -> RuleSet {
        rules.sort_by_key(|r| std::cmp::Reverse(r.priority));
        RuleSet { rules }
    }

    /// All rules, in evaluation order (disabled and out-of-window ones included).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The rules that apply to a request (see [`Rule::applies`]), in evaluation order.
    pub fn applicable<'a>(
        &'a self,
        surface: &'a str,
        segment: &'a str,
        now: Timestamp,
    ) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules
            .iter()
            .filter(move |r| r.applies(surface, segment, now))
    }
}

#[cfg(any(test, feature = "bench-internals"))]
impl From<Vec<Rule>> for RuleSet {
    fn from(rules: Vec<Rule>) -> RuleSet {
        RuleSet::new(rules)
    }
}

/// Lower-cases one character the way Go's `unicode.ToLower` does: a single-character mapping
/// (Rust's multi-character lower-casing of `İ` becomes plain `i`, other multi-character
/// results keep the character).
pub(crate) fn lower_char(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ if c == '\u{130}' => 'i',
        _ => c,
    }
}

fn upper_char(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Per-character lower-casing (no context-sensitive rules such as final sigma).
pub(crate) fn lower_simple(s: &str) -> String {
    s.chars().map(lower_char).collect()
}

/// Case-insensitive equality close to Go's `strings.EqualFold`.
pub(crate) fn eq_fold(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let mut x = a.chars();
    let mut y = b.chars();
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(c), Some(d)) => {
                if c != d && lower_char(c) != lower_char(d) && upper_char(c) != upper_char(d) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        assert!(eq_fold("Home", "hOME"));
        assert!(eq_fold("ÉTÉ", "été"));
        assert!(eq_fold("ſ", "S"));
        assert!(!eq_fold("home", "homes"));
        assert!(!eq_fold("a", "b"));
        assert_eq!(lower_simple("ΣΑΣ İ Straße"), "σασ i straße");
    }

    #[test]
    fn synonyms() {
        assert_eq!(Action::parse(" Suppress "), Some(Action::Block));
        assert_eq!(Action::parse("FORCE"), Some(Action::Pin));
        assert_eq!(Action::parse("increase"), Some(Action::Boost));
        assert_eq!(Action::parse("boosts"), None);
        assert_eq!(TargetType::parse("Product"), Some(TargetType::Item));
        assert_eq!(TargetType::parse("cat"), Some(TargetType::Category));
        assert_eq!(TargetType::parse("brands"), None);
    }
}
