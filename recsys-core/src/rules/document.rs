//! The rules document: envelope shapes, key aliases and rule groups of the reference format,
//! in a lenient mode (serving; reports what it could not use) and a strict mode (writing;
//! rejects anything it would have to drop or ignore). Read on the shared strict decoder
//! ([`crate::decode`]): each finding has a severity the mode weighs (drop the rule, error,
//! warning), rules are the decoder's elements, paths quote odd keys (`$["odd key"]`), and
//! rule objects are [`Members`] read by alias; the value coercions are in `values.rs`.

use super::error::{codes, RulesError};
#[cfg(any(test, feature = "bench-internals"))]
use super::model::RuleSet;
use super::model::{lower_simple, Action, Rule, TargetType};
use super::uuid::{RuleId, Uuid, NAMESPACE_OID};
use super::values::{
    bool_value, float_value, id_list_value, int_value, parse_target_type, text_value, time_value,
};
use crate::decode::{quote, Decoder, Got, KeyNotes, KeySet, Keys, Members, Mode, Severity, Style};
use crate::error::{ErrorCode, Problem};
use crate::json::{parse_with, to_go_string, Limits, Map, Number, Value};
use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

/// How to parse a rules document.
#[derive(Clone, Debug)]
pub struct RulesParseOptions {
    /// `false` (serving): accept every shape the reference accepts and report what was dropped
    /// or ignored. `true` (writing): fail with every problem when anything would be dropped or
    /// ignored because it is malformed.
    pub strict: bool,
    /// The tenant string; derived rule ids are rooted in its org UUID
    /// ([`Uuid::for_tenant`]).
    pub tenant: String,
    /// Maximum length of the rule list (both modes fail beyond it).
    pub max_rules: usize,
    /// Maximum distinct item ids of one rule (a longer rule is dropped / rejected).
    pub max_item_ids_per_rule: usize,
    /// Bounds for the JSON parser.
    pub json_limits: Limits,
}

impl Default for RulesParseOptions {
    fn default() -> RulesParseOptions {
        RulesParseOptions {
            strict: false,
            tenant: String::new(),
            max_rules: 10_000,
            max_item_ids_per_rule: 1_000,
            json_limits: Limits::document(),
        }
    }
}

impl RulesParseOptions {
    /// Lenient (serving) options for a tenant, with default limits.
    pub fn lenient(tenant: impl Into<String>) -> RulesParseOptions {
        RulesParseOptions {
            tenant: tenant.into(),
            ..RulesParseOptions::default()
        }
    }
    /// Strict (writing) options for a tenant, with default limits.
    pub fn strict(tenant: impl Into<String>) -> RulesParseOptions {
        RulesParseOptions {
            strict: true,
            tenant: tenant.into(),
            ..RulesParseOptions::default()
        }
    }
}

/// A parsed rules document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RulesDocument {
    /// The rules that were understood, in document order (disabled ones included).
    pub rules: Vec<Rule>,
    /// Lenient mode: one entry per reason a rule (or list element) was dropped, with its path
    /// (`$[i]`, `$.rules[i].action`, ...). Always empty in strict mode.
    pub dropped: Vec<Problem>,
    /// Findings that did not drop anything: disabled rules, unknown or ignored keys, derived
    /// ids, and (lenient mode only) values that were ignored because they were malformed.
    pub warnings: Vec<Problem>,
}

impl RulesDocument {
    #[cfg(any(test, feature = "bench-internals"))]
    /// The rules in evaluation order.
    pub fn rule_set(&self) -> RuleSet {
        RuleSet::new(self.rules.clone())
    }
    #[cfg(any(test, feature = "bench-internals"))]
    pub fn into_rule_set(self) -> RuleSet {
        RuleSet::new(self.rules)
    }
}

/// Parses a rules document (see the module documentation for the accepted format).
///
/// Lenient mode fails only on invalid JSON and on limits; empty input, `null` and scalars
/// yield no rules. Strict mode additionally fails with [`RulesError::Empty`] for empty input
/// and with [`RulesError::Invalid`] listing every problem.
pub fn parse_rules(bytes: &[u8], opts: &RulesParseOptions) -> Result<RulesDocument, RulesError> {
    if bytes
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return if opts.strict {
            Err(RulesError::Empty)
        } else {
            Ok(RulesDocument::default())
        };
    }
    let value = parse_with(bytes, opts.json_limits)?;
    parse_rules_value(&value, opts)
}

/// Same as [`parse_rules`] for an already parsed document.
pub fn parse_rules_value(
    value: &Value,
    opts: &RulesParseOptions,
) -> Result<RulesDocument, RulesError> {
    // The same limits whether the document came as text or embedded in another call.
    crate::json::check_value(value, &opts.json_limits)?;
    let mode = if opts.strict {
        Mode::Strict
    } else {
        Mode::Lenient
    };
    let mut d = Decoder::new("$", STYLE).with_mode(mode).quoted_keys();
    let (base, list) = unwrap_envelope(value, &mut d);
    if list.len() > opts.max_rules {
        return Err(RulesError::TooMany {
            count: list.len(),
            max: opts.max_rules,
        });
    }
    let org = Uuid::for_tenant(&opts.tenant);
    let single = matches!(list, Elements::Single(_));

    let mut rules: Vec<Rule> = Vec::new();
    // Element index of each kept rule, for the duplicate-id check.
    let mut kept: Vec<usize> = Vec::new();
    // The rules are read with the decoder at the list's path, each one element deeper.
    d.at(&base, |d| {
        for (index, elem) in list.iter().enumerate() {
            let read = |d: &mut Decoder| {
                d.element(|d| match elem {
                    Value::Object(map) => read_rule(d, map, index, &org, opts),
                    other => {
                        let message =
                            format!("rule must be a json object, got {}", other.type_name());
                        d.note(Severity::Drop, codes::NOT_OBJECT, message);
                        None
                    }
                })
            };
            let rule = if single {
                read(d)
            } else {
                d.index(index, read)
            };
            if let Some(rule) = rule {
                rules.push(rule);
                kept.push(index);
            }
        }
    });
    let path_of = |index: usize| {
        if single {
            base.clone()
        } else {
            format!("{base}[{index}]")
        }
    };

    let mut first_by_id: HashMap<RuleId, usize> = HashMap::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        if let Some(&j) = first_by_id.get(&rule.id) {
            let message = format!(
                "rule id {} is also used by the rule at {}",
                rule.id,
                path_of(kept[j])
            );
            d.note_at(
                Severity::Warn,
                path_of(kept[i]),
                codes::DUPLICATE_ID,
                message,
            );
        } else {
            first_by_id.insert(rule.id, i);
        }
    }

    let outcome = d.outcome();
    if !outcome.errors.is_empty() {
        return Err(RulesError::Invalid(outcome.errors));
    }
    Ok(RulesDocument {
        rules,
        dropped: outcome.dropped,
        warnings: outcome.warnings,
    })
}

/// Rules documents on the shared decoder: wrong types are `RULE_WRONG_TYPE`, and objects
/// warn about unknown and repeated keys instead of refusing them ([`NOTES`]).
const STYLE: Style = Style {
    keys: Keys::Exact,
    unknown_field: ErrorCode::RuleUnknownKey,
    wrong_type: ErrorCode::RuleWrongType,
    unknown_message: |k| format!("key {k} is not a rule key and is ignored"),
};

/// The key warnings of rule objects (and of their nested `target`).
const NOTES: KeyNotes = KeyNotes {
    duplicate: codes::DUPLICATE_KEY,
    unknown: codes::UNKNOWN_KEY,
    unknown_what: "is not a rule key and is ignored",
    ignored: codes::IGNORED_FIELD,
};

// ---------------------------------------------------------------------------------------------
// Envelope

enum Elements<'a> {
    None,
    Single(&'a Value),
    List(&'a [Value]),
}

impl<'a> Elements<'a> {
    fn len(&self) -> usize {
        match self {
            Elements::None => 0,
            Elements::Single(_) => 1,
            Elements::List(l) => l.len(),
        }
    }
    fn iter(&self) -> impl Iterator<Item = &'a Value> + '_ {
        let (single, list): (Option<&'a Value>, &'a [Value]) = match self {
            Elements::None => (None, &[]),
            Elements::Single(v) => (Some(*v), &[]),
            Elements::List(l) => (None, l),
        };
        single.into_iter().chain(list.iter())
    }
}

const ENVELOPE_KEYS: &[&str] = &["rules", "items", "data"];

/// Follows `rules` / `items` / `data` members (first present wins, recursively) down to the
/// rule list. Returns the path of the list (or of the single rule object) and its elements.
fn unwrap_envelope<'a>(mut cur: &'a Value, d: &mut Decoder) -> (String, Elements<'a>) {
    let mut path = String::from("$");
    loop {
        match cur {
            Value::Array(list) => return (path, Elements::List(list)),
            Value::Object(map) => {
                let Some((key, inner)) = ENVELOPE_KEYS
                    .iter()
                    .find_map(|k| map.get(k).map(|v| (*k, v)))
                else {
                    if map.is_empty() {
                        return (path, Elements::None);
                    }
                    return (path, Elements::Single(cur));
                };
                if let Some(rule_key) = ACTION_KEYS.iter().find(|k| map.get(k).is_some()) {
                    d.note_at(
                        Severity::Ignore,
                        path.clone(),
                        codes::AMBIGUOUS_ENVELOPE,
                        format!(
                            "object has both {key:?} and the rule key {rule_key:?}; it is read as an envelope \
                             whose {key:?} member holds the rules, not as a rule (wrap a single rule in an array)"
                        ),
                    );
                }
                path = d.child_path(&path, key);
                cur = inner;
            }
            Value::Null if d.mode() == Mode::Lenient => return (path, Elements::None),
            scalar => {
                let message = if path == "$" {
                    "rules payload must be a json object or array".to_string()
                } else {
                    format!(
                        "{path} must be a json object or array, got {}",
                        scalar.type_name()
                    )
                };
                d.note_at(
                    Severity::Ignore,
                    path.clone(),
                    codes::NOT_CONTAINER,
                    message,
                );
                return (path, Elements::None);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

const ACTION_KEYS: &[&str] = &["action", "rule_action", "operation"];
/// The largest boost magnitude (a boost multiplies the score by `1 + boost_value`); larger
/// values are refused so that a finite document can never produce an infinite score.
pub const MAX_BOOST: f64 = 1e6;
const TYPE_KEYS: &[&str] = &["target_type", "targetType"];
const KEY_KEYS: &[&str] = &["target_key", "targetKey", "key"];
const IMPLIED_KEYS: [(&str, TargetType); 3] = [
    ("tag", TargetType::Tag),
    ("brand", TargetType::Brand),
    ("category", TargetType::Category),
];
const ID_LIST_KEYS: &[&str] = &[
    "item_ids",
    "item_id",
    "itemIds",
    "itemId",
    "items",
    "target_items",
    "targetItems",
];
const NAMESPACE_KEYS: &[&str] = &["namespace", "ns"];
const SURFACE_KEYS: &[&str] = &["surface", "surf"];
const SEGMENT_KEYS: &[&str] = &["segment_id", "segment", "segmentId"];
const ENABLED_KEYS: &[&str] = &["enabled", "active", "is_enabled"];
const FROM_KEYS: &[&str] = &["valid_from", "starts_at", "start_at", "start"];
const UNTIL_KEYS: &[&str] = &["valid_until", "ends_at", "end_at", "end"];
const RULE_ID_KEYS: &[&str] = &["rule_id", "id", "ruleId"];
const OVERRIDE_KEYS: &[&str] = &["manual_override_id", "override_id", "manualOverrideId"];
const PRIORITY_KEYS: &[&str] = &["priority", "order", "rank"];
const BOOST_KEYS: &[&str] = &["boost_value", "boost", "value", "boostValue"];
const MAX_PINS_KEYS: &[&str] = &["max_pins", "maxPins", "max_pinned"];
const CREATED_KEYS: &[&str] = &["created_at", "createdAt"];
const UPDATED_KEYS: &[&str] = &["updated_at", "updatedAt"];
const NAME_KEYS: &[&str] = &["name", "title"];
const DESCRIPTION_KEYS: &[&str] = &["description", "desc"];
/// Accepted and ignored: rules belong to the tenant whose document holds them.
const ORG_KEYS: &[&str] = &["org_id", "orgId"];
const TARGET_KEY: &str = "target";

const NESTED_TYPE_KEYS: &[&str] = &["type", "target_type", "targetType"];
const NESTED_KEY_KEYS: &[&str] = &["key", "target_key", "tag", "value"];
const NESTED_ID_LIST_KEYS: &[&str] = &[
    "item_ids",
    "itemIds",
    "items",
    "target_items",
    "targetItems",
];

/// Every member name a rule object may have (aliases, implied target keys, `target`).
static RULE_KEYS: LazyLock<KeySet> = LazyLock::new(|| {
    let lists = [
        ACTION_KEYS,
        TYPE_KEYS,
        KEY_KEYS,
        ID_LIST_KEYS,
        NAMESPACE_KEYS,
        SURFACE_KEYS,
        SEGMENT_KEYS,
        ENABLED_KEYS,
        FROM_KEYS,
        UNTIL_KEYS,
        RULE_ID_KEYS,
        OVERRIDE_KEYS,
        PRIORITY_KEYS,
        BOOST_KEYS,
        MAX_PINS_KEYS,
        CREATED_KEYS,
        UPDATED_KEYS,
        NAME_KEYS,
        DESCRIPTION_KEYS,
        ORG_KEYS,
    ];
    let implied = IMPLIED_KEYS.iter().map(|(k, _)| *k);
    KeySet::new(
        lists
            .into_iter()
            .flatten()
            .copied()
            .chain(implied)
            .chain([TARGET_KEY]),
    )
});

/// Every member name a nested `target` object may have.
static TARGET_KEYS: LazyLock<KeySet> = LazyLock::new(|| {
    let lists = [NESTED_TYPE_KEYS, NESTED_KEY_KEYS, NESTED_ID_LIST_KEYS];
    KeySet::new(lists.into_iter().flatten().copied())
});

fn is_known_rule_key(k: &str) -> bool {
    RULE_KEYS.contains(k)
}

fn is_known_target_key(k: &str) -> bool {
    TARGET_KEYS.contains(k)
}

// ---------------------------------------------------------------------------------------------
// One rule

/// The first of `keys` with a usable string value.
fn text(
    obj: &Members<'_>,
    d: &mut Decoder,
    keys: &[&'static str],
) -> Option<(&'static str, String)> {
    obj.first(d, keys, text_value)
}

/// A rule finding at member `k` of `obj`.
fn note_at(
    obj: &Members<'_>,
    d: &mut Decoder,
    k: &str,
    severity: Severity,
    code: &'static str,
    message: String,
) {
    let path = obj.child(d, k);
    d.note_at(severity, path, code, message);
}

/// One rule object (the decoder at its path), read member group by member group in the
/// order the findings are reported: action, target, scope and window, identity, action
/// values, metadata.
fn read_rule(
    d: &mut Decoder,
    map: &Map,
    index: usize,
    org: &Uuid,
    opts: &RulesParseOptions,
) -> Option<Rule> {
    let obj = d.members(map, is_known_rule_key, NOTES);
    let action = read_action(&obj, d);
    let target = read_target(&obj, d, opts.max_item_ids_per_rule);
    let scope = read_scope(&obj, d);
    let identity = read_identity(&obj, d);
    let (boost_value, max_pins) = read_action_values(&obj, d, action);
    let meta = read_metadata(&obj, d);

    let (action, target_type) = (action?, target.target_type?);
    if d.dropped() {
        return None;
    }
    let id = identity
        .given_id
        .unwrap_or_else(|| derive_rule_id(org, map));
    Some(Rule {
        id,
        index,
        action,
        target_type,
        target_key: target.target_key,
        item_ids: target.item_ids,
        namespace: scope.namespace,
        surface: scope.surface,
        segment: scope.segment,
        enabled: scope.enabled,
        valid_from: scope.valid_from,
        valid_until: scope.valid_until,
        priority: identity.priority,
        boost_value,
        max_pins,
        manual_override_id: identity.manual_override_id,
        name: meta.name,
        description: meta.description,
        created_at: meta.created_at,
        updated_at: meta.updated_at,
    })
}

/// The rule's action; a missing or unknown one drops the rule.
fn read_action(obj: &Members<'_>, d: &mut Decoder) -> Option<Action> {
    match text(obj, d, ACTION_KEYS) {
        None => {
            d.note(
                Severity::Drop,
                codes::MISSING_ACTION,
                "rule has no action (set action to block, pin or boost)",
            );
            None
        }
        Some((k, s)) => {
            let a = Action::parse(&s);
            if a.is_none() {
                let message = format!("unknown action {}; expected block, pin or boost", quote(&s));
                note_at(obj, d, k, Severity::Drop, codes::UNKNOWN_ACTION, message);
            }
            a
        }
    }
}

/// The target as written, before it is checked: the type (and whether an unknown one was
/// reported), the key, and the item ids with the path they came from.
#[derive(Default)]
struct TargetParts {
    target_type: Option<TargetType>,
    type_unknown: bool,
    key: Option<String>,
    ids: Option<(String, Vec<String>)>,
}

/// The resolved target of a rule.
struct Target {
    target_type: Option<TargetType>,
    target_key: String,
    item_ids: Vec<String>,
}

/// Target: explicit type, key (or tag/brand/category implying the type), item ids, then a
/// nested `target` filling whatever is still unset; then checked and normalised.
fn read_target(obj: &Members<'_>, d: &mut Decoder, max_ids: usize) -> Target {
    let mut parts = read_top_target(obj, d, max_ids);
    if let Some(target) = obj.get(TARGET_KEY) {
        obj.at(d, TARGET_KEY, |d| {
            read_nested_target(target, d, max_ids, &mut parts)
        });
    }
    resolve_target(parts, d)
}

/// The type named by member `k` of `obj` (an unknown one is reported there).
fn target_type_at(
    obj: &Members<'_>,
    d: &mut Decoder,
    k: &str,
    s: &str,
    unknown: &mut bool,
) -> Option<TargetType> {
    obj.at(d, k, |d| parse_target_type(d, s, unknown))
}

/// The item ids of the first of `keys` that has some, with their path.
fn ids(
    obj: &Members<'_>,
    d: &mut Decoder,
    keys: &[&'static str],
    max_ids: usize,
) -> Option<(String, Vec<String>)> {
    obj.first(d, keys, |d, v, key| id_list_value(d, v, key, max_ids))
        .map(|(k, v)| (obj.child(d, k), v))
}

/// The target members of the rule object itself.
fn read_top_target(obj: &Members<'_>, d: &mut Decoder, max_ids: usize) -> TargetParts {
    let mut parts = TargetParts::default();
    parts.target_type = text(obj, d, TYPE_KEYS)
        .and_then(|(k, s)| target_type_at(obj, d, k, &s, &mut parts.type_unknown));
    parts.key = text(obj, d, KEY_KEYS).map(|(_, s)| s);
    let implied: [&str; 3] = IMPLIED_KEYS.map(|(k, _)| k);
    if parts.key.is_some() {
        obj.ignore(d, &implied, "target_key is set");
    } else {
        for (i, (k, t)) in IMPLIED_KEYS.iter().enumerate() {
            if let Some((_, s)) = text(obj, d, &[*k]) {
                parts.key = Some(s);
                if parts.target_type.is_none() {
                    parts.target_type = Some(*t);
                }
                obj.shadowed(d, k, &implied[i + 1..]);
                break;
            }
        }
    }
    parts.ids = ids(obj, d, ID_LIST_KEYS, max_ids);
    parts
}

/// A nested `target` (an object, or a string naming the type; the decoder at its path),
/// filling whatever the rule object left unset and reporting the rest as ignored.
fn read_nested_target(target: &Value, d: &mut Decoder, max_ids: usize, parts: &mut TargetParts) {
    match target {
        Value::Object(m) => {
            let nested = d.members(m, is_known_target_key, NOTES);
            if parts.target_type.is_none() && !parts.type_unknown {
                parts.target_type = text(&nested, d, NESTED_TYPE_KEYS)
                    .and_then(|(k, s)| target_type_at(&nested, d, k, &s, &mut parts.type_unknown));
            } else {
                nested.ignore(d, NESTED_TYPE_KEYS, "the target type is already set");
            }
            if parts.key.is_none() {
                parts.key = text(&nested, d, NESTED_KEY_KEYS).map(|(_, s)| s);
            } else {
                nested.ignore(d, NESTED_KEY_KEYS, "the target key is already set");
            }
            if parts.ids.is_none() {
                parts.ids = ids(&nested, d, NESTED_ID_LIST_KEYS, max_ids);
            } else {
                nested.ignore(d, NESTED_ID_LIST_KEYS, "item ids are already set");
            }
        }
        other => {
            if let Got::Val(s) = text_value(d, other, TARGET_KEY) {
                if parts.target_type.is_none() && !parts.type_unknown {
                    parts.target_type = parse_target_type(d, &s, &mut parts.type_unknown);
                } else {
                    d.note(
                        Severity::Warn,
                        codes::IGNORED_FIELD,
                        "\"target\" is ignored: the target type is already set",
                    );
                }
            }
        }
    }
}

/// Checks the target as written (the decoder at the rule's path): a missing type is
/// inferred from item ids, an item rule needs ids (its key becomes one), other rules need a
/// key (lower-cased) and ignore ids.
fn resolve_target(parts: TargetParts, d: &mut Decoder) -> Target {
    let (ids_path, mut item_ids) = parts.ids.unwrap_or_default();
    let mut target_type = parts.target_type;
    if target_type.is_none() && !parts.type_unknown {
        if item_ids.is_empty() {
            d.note(
                Severity::Drop,
                codes::MISSING_TARGET,
                "rule has no target (set target_type and target_key, or item_ids, tag, brand or category)",
            );
        } else {
            target_type = Some(TargetType::Item);
        }
    }
    let mut target_key = parts.key.unwrap_or_default();
    match target_type {
        Some(TargetType::Item) if item_ids.is_empty() => {
            if target_key.is_empty() {
                d.note(
                    Severity::Drop,
                    codes::MISSING_TARGET,
                    "item rule has no item ids (set item_ids)",
                );
            } else {
                item_ids.push(target_key.clone());
            }
        }
        Some(TargetType::Item) => {}
        Some(t) => {
            let kind = t.as_str().to_ascii_lowercase();
            if target_key.is_empty() {
                d.note(
                    Severity::Drop,
                    codes::MISSING_TARGET,
                    format!("{kind} rule has no target key (set target_key)"),
                );
            }
            if !item_ids.is_empty() {
                d.note_at(
                    Severity::Warn,
                    ids_path,
                    codes::IGNORED_FIELD,
                    format!("item ids are ignored for {kind} rules"),
                );
                item_ids.clear();
            }
            target_key = lower_simple(&target_key);
        }
        None => {}
    }
    Target {
        target_type,
        target_key,
        item_ids,
    }
}

/// Where and when a rule applies.
struct Scope {
    namespace: Option<String>,
    surface: Option<String>,
    segment: Option<String>,
    enabled: bool,
    valid_from: Option<Timestamp>,
    valid_until: Option<Timestamp>,
}

/// Scope, state and validity window; a window that ends before it starts is an error.
fn read_scope(obj: &Members<'_>, d: &mut Decoder) -> Scope {
    let namespace = text(obj, d, NAMESPACE_KEYS).map(|(_, s)| s);
    let surface = text(obj, d, SURFACE_KEYS).map(|(_, s)| s);
    let segment = text(obj, d, SEGMENT_KEYS).map(|(_, s)| s);
    let enabled = obj.first(d, ENABLED_KEYS, bool_value);
    if let Some((k, false)) = enabled {
        let message = "rule is disabled; it is kept but never applies";
        obj.warn(d, k, codes::DISABLED, message);
    }
    let enabled = enabled.is_none_or(|(_, b)| b);
    let valid_from = obj.first(d, FROM_KEYS, time_value).and_then(|(_, t)| t);
    let valid_until = obj.first(d, UNTIL_KEYS, time_value);
    if let (Some(from), Some((k, Some(until)))) = (valid_from, valid_until) {
        if until <= from {
            let message = format!(
                "validity window is empty: {k} {} is not after the start {}",
                until.to_rfc3339_nanos(),
                from.to_rfc3339_nanos()
            );
            note_at(obj, d, k, Severity::Ignore, codes::EMPTY_WINDOW, message);
        }
    }
    Scope {
        namespace,
        surface,
        segment,
        enabled,
        valid_from,
        valid_until: valid_until.and_then(|(_, t)| t),
    }
}

/// A rule's given id, manual override id and priority.
struct Identity {
    given_id: Option<Uuid>,
    manual_override_id: Option<Uuid>,
    priority: i64,
}

/// Identity: a rule id that is not a uuid is replaced by a derived one (a warning); an
/// override id that is not a uuid is an error.
fn read_identity(obj: &Members<'_>, d: &mut Decoder) -> Identity {
    let given_id = text(obj, d, RULE_ID_KEYS).and_then(|(k, s)| {
        let id = Uuid::parse(&s);
        if id.is_none() {
            let message = format!(
                "rule id {} is not a uuid; a stable id is derived from the rule content",
                quote(&s)
            );
            obj.warn(d, k, codes::ID_NOT_UUID, message);
        }
        id
    });
    let manual_override_id = text(obj, d, OVERRIDE_KEYS).and_then(|(k, s)| {
        let id = Uuid::parse(&s);
        if id.is_none() {
            let message = format!("{k} {} is not a uuid", quote(&s));
            note_at(obj, d, k, Severity::Ignore, codes::BAD_UUID, message);
        }
        id
    });
    let priority = obj
        .first(d, PRIORITY_KEYS, int_value)
        .and_then(|(_, p)| p)
        .unwrap_or(0);
    Identity {
        given_id,
        manual_override_id,
        priority,
    }
}

/// The member `k` is ignored for rules of action `a` (a warning).
fn ignored_for_action(obj: &Members<'_>, d: &mut Decoder, k: &str, a: Action) {
    let message = format!(
        "{k:?} is ignored for {} rules",
        a.as_str().to_ascii_lowercase()
    );
    obj.warn(d, k, codes::IGNORED_FIELD, message);
}

/// The values only one action uses: a boost rule's boost value (required, bounded) and a pin
/// rule's max pins; either given to another action is ignored.
fn read_action_values(
    obj: &Members<'_>,
    d: &mut Decoder,
    action: Option<Action>,
) -> (Option<f64>, Option<i64>) {
    let boost = obj.first(d, BOOST_KEYS, float_value);
    let boost_value = match (action, boost) {
        (Some(Action::Boost), Some((k, Some(b)))) if b.abs() > MAX_BOOST => {
            let message =
                format!("{k} {b:e} is out of range: a boost is at most {MAX_BOOST:e} in magnitude");
            note_at(obj, d, k, Severity::Ignore, codes::BAD_NUMBER, message);
            None
        }
        (Some(Action::Boost), Some((_, b))) => b,
        (Some(Action::Boost), None) => {
            d.note(
                Severity::Ignore,
                codes::MISSING_BOOST_VALUE,
                "boost rule has no boost_value, so it would do nothing",
            );
            None
        }
        (Some(a), Some((k, _))) => {
            ignored_for_action(obj, d, k, a);
            None
        }
        _ => None,
    };
    let max_pins = match (action, obj.first(d, MAX_PINS_KEYS, int_value)) {
        (Some(Action::Pin), Some((_, m))) => m,
        (Some(a), Some((k, _))) if a != Action::Pin => {
            ignored_for_action(obj, d, k, a);
            None
        }
        _ => None,
    };
    (boost_value, max_pins)
}

/// A rule's name, description and timestamps.
struct Metadata {
    name: String,
    description: String,
    created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
}

/// Metadata; `updated_at` defaults to `created_at`, and an org id is ignored (rules belong to
/// the document's tenant).
fn read_metadata(obj: &Members<'_>, d: &mut Decoder) -> Metadata {
    let name = text(obj, d, NAME_KEYS).map(|(_, s)| s).unwrap_or_default();
    let description = text(obj, d, DESCRIPTION_KEYS)
        .map(|(_, s)| s)
        .unwrap_or_default();
    let created_at = obj.first(d, CREATED_KEYS, time_value).and_then(|(_, t)| t);
    let updated_at = obj
        .first(d, UPDATED_KEYS, time_value)
        .and_then(|(_, t)| t)
        .or(created_at);
    obj.ignore(
        d,
        ORG_KEYS,
        "rules belong to the tenant whose document holds them",
    );
    Metadata {
        name,
        description,
        created_at,
        updated_at,
    }
}

// ---------------------------------------------------------------------------------------------
// Rule ids

/// The id the reference derives for a rule object without a valid UUID id: UUIDv5 in the
/// namespace of the org UUID (the OID namespace when the org UUID is nil) over
/// `"<org uuid>|"` followed by the object as Go's `encoding/json` renders a decoded
/// `map[string]any` (sorted keys, duplicates collapsed last-wins, numbers through `float64`).
pub fn derive_rule_id(org: &Uuid, rule_object: &Map) -> RuleId {
    let namespace = if org.is_nil() { NAMESPACE_OID } else { *org };
    let mut name = org.to_string();
    name.push('|');
    name.push_str(&go_map_json(rule_object));
    Uuid::new_v5(&namespace, name.as_bytes())
}

/// The Go `encoding/json` text of a decoded `map[string]any` with these members.
pub fn go_map_json(map: &Map) -> String {
    to_go_string(&go_sorted_object(map))
}

fn go_sorted_object(map: &Map) -> Value {
    let mut sorted: BTreeMap<&str, &Value> = BTreeMap::new();
    for (k, v) in map.iter() {
        sorted.insert(k, v);
    }
    Value::Object(Map::from(
        sorted
            .into_iter()
            .map(|(k, v)| (k.to_string(), go_sorted(v)))
            .collect::<Vec<_>>(),
    ))
}

fn go_sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => go_sorted_object(m),
        Value::Array(a) => Value::Array(a.iter().map(go_sorted).collect()),
        // Out-of-range literals cannot come from Go (its decoder rejects them); keep them.
        Value::Number(n) => n
            .as_f64()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn obj(s: &str) -> Map {
        match parse(s.as_bytes()).unwrap() {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    /// Rules are read one element below the list's path: findings inside a rule, a dropped
    /// rule and a repeated id name the rule's own path, under any envelope, and a single rule
    /// object is read at the envelope's path.
    #[test]
    fn rule_findings_name_each_rule_under_its_envelope() {
        let dup =
            r#"{"action":"block","tag":"t","rule_id":"0b139f20-012b-4b14-ac9e-043c71408522"}"#;
        let text = format!(r#"{{"data":{{"rules":[{dup},{{"tag":"u","zz":1}},{dup}]}}}}"#);
        let v = parse(text.as_bytes()).unwrap();
        let doc = parse_rules_value(&v, &RulesParseOptions::lenient("demo")).unwrap();
        assert_eq!(doc.rules.len(), 2);
        assert_eq!(doc.rules[1].index, 2);
        let dropped: Vec<&str> = doc.dropped.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(dropped, ["$.data.rules[1]"]);
        let found: Vec<(&str, &str)> = doc
            .warnings
            .iter()
            .map(|p| (p.path.as_str(), p.code))
            .collect();
        assert_eq!(found, [("$.data.rules[2]", codes::DUPLICATE_ID)]);
        assert!(doc.warnings[0]
            .message
            .ends_with("is also used by the rule at $.data.rules[0]"));

        let v = parse(br#"{"rules":{"action":"block","tag":"t","zz":1}}"#).unwrap();
        let doc = parse_rules_value(&v, &RulesParseOptions::lenient("demo")).unwrap();
        assert_eq!(doc.rules.len(), 1);
        let found: Vec<(&str, &str)> = doc
            .warnings
            .iter()
            .map(|p| (p.path.as_str(), p.code))
            .collect();
        assert_eq!(found, [("$.rules.zz", codes::UNKNOWN_KEY)]);
    }

    #[test]
    fn go_json_of_rule_objects() {
        let m = obj(r#"{"b":1.50,"a":[1e2,"<x>"],"c":{"z":null,"y":true},"b":-0,"d":1e400}"#);
        assert_eq!(
            go_map_json(&m),
            r#"{"a":[100,"\u003cx\u003e"],"b":-0,"c":{"y":true,"z":null},"d":1e400}"#
        );
    }

    #[test]
    fn unix_numbers() {
        use super::super::values::unix_time;
        let n = |s: &str| Number::from_literal_unchecked(s);
        assert_eq!(
            unix_time(&n("1700000000")),
            Some(Timestamp::from_secs(1_700_000_000))
        );
        assert_eq!(
            unix_time(&n("1700000000000")),
            Some(Timestamp::from_secs(1_700_000_000))
        );
        assert_eq!(
            unix_time(&n("1700000000000000000")),
            Some(Timestamp::from_secs(1_700_000_000))
        );
        assert_eq!(
            unix_time(&n("1700000000.25")),
            Some(Timestamp {
                secs: 1_700_000_000,
                nanos: 250_000_000
            })
        );
        assert_eq!(
            unix_time(&n("-1.5")),
            Some(Timestamp {
                secs: -2,
                nanos: 500_000_000
            })
        );
        assert_eq!(unix_time(&n("1e300")), None);
        assert_eq!(unix_time(&n("1e400")), None);
        assert_eq!(unix_time(&n("-99999999999999")), None);
    }

    #[test]
    fn bool_spellings() {
        use super::super::values::parse_bool;
        for (s, b) in [
            ("1", true),
            ("T", true),
            ("True", true),
            ("0", false),
            ("f", false),
            ("FALSE", false),
        ] {
            assert_eq!(parse_bool(s), Some(b), "{s}");
        }
        assert_eq!(parse_bool("yes"), None);
    }
}
