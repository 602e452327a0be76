//! The rules document: envelope shapes, key aliases and value coercions of the reference
//! format, in a lenient mode (serving; reports what it could not use) and a strict mode
//! (writing; rejects anything it would have to drop or ignore).

use super::error::{codes, RulesError};
#[cfg(any(test, feature = "bench-internals"))]
use super::model::RuleSet;
use super::model::{lower_simple, Action, Rule, TargetType};
use super::uuid::{RuleId, Uuid, NAMESPACE_OID};
use crate::error::Problem;
use crate::json::{format_go_float, parse_with, to_go_string, Limits, Map, Number, Value};
use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap, HashSet};

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
    let mut doc_findings: Findings = Vec::new();
    let (base, list) = unwrap_envelope(value, opts.strict, &mut doc_findings);
    if list.len() > opts.max_rules {
        return Err(RulesError::TooMany {
            count: list.len(),
            max: opts.max_rules,
        });
    }
    let org = Uuid::for_tenant(&opts.tenant);
    let single = matches!(list, Elements::Single(_));

    let mut doc = RulesDocument::default();
    let mut problems: Vec<Problem> = Vec::new();
    // Path of each kept rule, for the duplicate-id check.
    let mut kept_paths: Vec<String> = Vec::new();
    for (sev, p) in doc_findings {
        route(sev, p, opts.strict, &mut problems, &mut doc.warnings);
    }

    for (index, elem) in list.iter().enumerate() {
        let path = if single {
            base.clone()
        } else {
            format!("{base}[{index}]")
        };
        let mut findings: Findings = Vec::new();
        let rule = match elem {
            Value::Object(map) => read_rule(map, index, &path, &org, opts, &mut findings),
            other => {
                findings.push(drop(
                    &path,
                    codes::NOT_OBJECT,
                    format!("rule must be a json object, got {}", other.type_name()),
                ));
                None
            }
        };
        let is_dropped = rule.is_none() || findings.iter().any(|(s, _)| *s == Sev::Drop);
        if opts.strict {
            for (sev, p) in findings {
                route(sev, p, true, &mut problems, &mut doc.warnings);
            }
        } else if is_dropped {
            doc.dropped.extend(
                findings
                    .into_iter()
                    .filter(|(s, _)| *s == Sev::Drop)
                    .map(|(_, p)| p),
            );
        } else {
            doc.warnings.extend(findings.into_iter().map(|(_, p)| p));
        }
        if let (Some(rule), false) = (rule, is_dropped) {
            doc.rules.push(rule);
            kept_paths.push(path);
        }
    }

    let mut first_by_id: HashMap<RuleId, usize> = HashMap::with_capacity(doc.rules.len());
    for (i, rule) in doc.rules.iter().enumerate() {
        if let Some(&j) = first_by_id.get(&rule.id) {
            doc.warnings.push(Problem::new(
                kept_paths[i].clone(),
                codes::DUPLICATE_ID,
                format!(
                    "rule id {} is also used by the rule at {}",
                    rule.id, kept_paths[j]
                ),
            ));
        } else {
            first_by_id.insert(rule.id, i);
        }
    }

    if opts.strict && !problems.is_empty() {
        return Err(RulesError::Invalid(problems));
    }
    Ok(doc)
}

// ---------------------------------------------------------------------------------------------
// Findings

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sev {
    /// The rule (or element) cannot be used: dropped (lenient) / error (strict).
    Drop,
    /// A value is malformed: ignored with a warning (lenient) / error (strict).
    Error,
    /// Informational in both modes.
    Warn,
}

type Findings = Vec<(Sev, Problem)>;

fn drop(path: &str, code: &'static str, message: String) -> (Sev, Problem) {
    (Sev::Drop, Problem::new(path, code, message))
}
fn error(path: &str, code: &'static str, message: String) -> (Sev, Problem) {
    (Sev::Error, Problem::new(path, code, message))
}
fn warn(path: &str, code: &'static str, message: String) -> (Sev, Problem) {
    (Sev::Warn, Problem::new(path, code, message))
}

fn route(
    sev: Sev,
    p: Problem,
    strict: bool,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) {
    if strict && sev != Sev::Warn {
        problems.push(p);
    } else {
        warnings.push(p);
    }
}

/// Quotes user input for a message, shortened to a sane length.
fn q(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let short: String = s.chars().take(MAX).collect();
        format!("{short:?}…")
    }
}

/// `$.key` for plain keys, `$["odd key"]` otherwise.
fn child_path(base: &str, key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        format!("{base}.{key}")
    } else {
        format!("{base}[{}]", q(key))
    }
}

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
fn unwrap_envelope<'a>(
    mut cur: &'a Value,
    strict: bool,
    f: &mut Findings,
) -> (String, Elements<'a>) {
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
                    f.push(error(
                        &path,
                        codes::AMBIGUOUS_ENVELOPE,
                        format!(
                            "object has both {key:?} and the rule key {rule_key:?}; it is read as an envelope \
                             whose {key:?} member holds the rules, not as a rule (wrap a single rule in an array)"
                        ),
                    ));
                }
                path = child_path(&path, key);
                cur = inner;
            }
            Value::Null if !strict => return (path, Elements::None),
            scalar => {
                let message = if path == "$" {
                    "rules payload must be a json object or array".to_string()
                } else {
                    format!(
                        "{path} must be a json object or array, got {}",
                        scalar.type_name()
                    )
                };
                f.push(error(&path, codes::NOT_CONTAINER, message));
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
const IMPLIED_KEYS: &[(&str, TargetType)] = &[
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

fn is_known_rule_key(k: &str) -> bool {
    k == TARGET_KEY
        || IMPLIED_KEYS.iter().any(|(key, _)| *key == k)
        || [
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
        ]
        .iter()
        .any(|keys| keys.contains(&k))
}

fn is_known_target_key(k: &str) -> bool {
    [NESTED_TYPE_KEYS, NESTED_KEY_KEYS, NESTED_ID_LIST_KEYS]
        .iter()
        .any(|keys| keys.contains(&k))
}

/// How many unknown / duplicate keys of one object are reported individually.
const MAX_KEY_FINDINGS: usize = 10;

// ---------------------------------------------------------------------------------------------
// Object access with alias resolution

/// One value read from a field.
enum Got<T> {
    /// Absent-like (`null`, blank string, empty list): the next alias is tried.
    Empty,
    /// Wrong JSON type (already reported): the next alias is tried.
    Wrong,
    /// The alias wins (the value may still have failed to parse: `Val(None)`).
    Val(T),
}

struct Obj<'a> {
    fields: BTreeMap<&'a str, &'a Value>,
    path: String,
}

impl<'a> Obj<'a> {
    /// Collapses duplicate keys (last wins) and reports duplicate and unknown keys.
    fn new(map: &'a Map, path: &str, known: fn(&str) -> bool, f: &mut Findings) -> Obj<'a> {
        let mut fields: BTreeMap<&'a str, &'a Value> = BTreeMap::new();
        let mut duplicate_set: HashSet<&str> = HashSet::new();
        let mut duplicates: Vec<&str> = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        for (k, v) in map.iter() {
            if fields.insert(k, v).is_some() {
                if duplicate_set.insert(k) {
                    duplicates.push(k);
                }
            } else if !known(k) {
                unknown.push(k);
            }
        }
        let obj = Obj {
            fields,
            path: path.to_string(),
        };
        report_keys(
            &obj,
            &duplicates,
            codes::DUPLICATE_KEY,
            "appears more than once; the last value is used",
            f,
        );
        report_keys(
            &obj,
            &unknown,
            codes::UNKNOWN_KEY,
            "is not a rule key and is ignored",
            f,
        );
        obj
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.fields.get(key).copied()
    }

    fn field(&self, key: &str) -> String {
        child_path(&self.path, key)
    }

    /// The first alias with a non-empty, well-typed value; later non-empty aliases are
    /// reported as ignored.
    fn first<T>(
        &self,
        keys: &[&'static str],
        f: &mut Findings,
        mut conv: impl FnMut(&Value, &str, &str, &mut Findings) -> Got<T>,
    ) -> Option<(&'static str, T)> {
        for (i, &k) in keys.iter().enumerate() {
            let Some(v) = self.get(k) else { continue };
            match conv(v, k, &self.field(k), f) {
                Got::Empty | Got::Wrong => continue,
                Got::Val(t) => {
                    self.report_shadowed(k, &keys[i + 1..], f);
                    return Some((k, t));
                }
            }
        }
        None
    }

    fn report_shadowed(&self, winner: &str, later: &[&str], f: &mut Findings) {
        for &k in later {
            if self.get(k).is_some_and(non_empty) {
                f.push(warn(
                    &self.field(k),
                    codes::IGNORED_FIELD,
                    format!("{k:?} is ignored because {winner:?} is set"),
                ));
            }
        }
    }

    fn text(&self, keys: &[&'static str], f: &mut Findings) -> Option<(&'static str, String)> {
        self.first(keys, f, text_value)
    }

    /// Reports every present, non-empty key of `keys` as ignored for `reason`.
    fn ignore(&self, keys: &[&str], reason: &str, f: &mut Findings) {
        for &k in keys {
            if self.get(k).is_some_and(non_empty) {
                f.push(warn(
                    &self.field(k),
                    codes::IGNORED_FIELD,
                    format!("{k:?} is ignored: {reason}"),
                ));
            }
        }
    }
}

fn report_keys(obj: &Obj<'_>, keys: &[&str], code: &'static str, what: &str, f: &mut Findings) {
    for k in keys.iter().take(MAX_KEY_FINDINGS) {
        f.push(warn(&obj.field(k), code, format!("key {} {what}", q(k))));
    }
    if keys.len() > MAX_KEY_FINDINGS {
        let more = keys.len() - MAX_KEY_FINDINGS;
        f.push(warn(
            &obj.path,
            code,
            format!("{more} more keys {what} (only the first {MAX_KEY_FINDINGS} are listed)"),
        ));
    }
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    }
}

/// A number where a string is expected: Go's shortest `float64` form (`10`, `1.5`, `1e+21`).
fn number_text(n: &Number) -> String {
    match n.as_f64() {
        Some(x) => {
            let mut s = String::new();
            format_go_float(&mut s, x);
            s
        }
        None => n.literal().to_string(),
    }
}

fn text_value(v: &Value, key: &str, path: &str, f: &mut Findings) -> Got<String> {
    match v {
        Value::Null => Got::Empty,
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                Got::Empty
            } else {
                Got::Val(t.to_string())
            }
        }
        Value::Number(n) => Got::Val(number_text(n)),
        other => {
            f.push(error(
                path,
                codes::WRONG_TYPE,
                format!("{key} must be a string, got {}", other.type_name()),
            ));
            Got::Wrong
        }
    }
}

fn bool_value(v: &Value, key: &str, path: &str, f: &mut Findings) -> Got<bool> {
    match v {
        Value::Null => Got::Empty,
        Value::Bool(b) => Got::Val(*b),
        // Any number other than zero is true (an out-of-range literal is not zero).
        Value::Number(n) => Got::Val(n.as_f64() != Some(0.0)),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Got::Empty;
            }
            match parse_bool(t) {
                Some(b) => Got::Val(b),
                None => {
                    f.push(error(
                        path,
                        codes::WRONG_TYPE,
                        format!("{key} must be a boolean, got {} (use true or false)", q(t)),
                    ));
                    Got::Wrong
                }
            }
        }
        other => {
            f.push(error(
                path,
                codes::WRONG_TYPE,
                format!("{key} must be a boolean, got {}", other.type_name()),
            ));
            Got::Wrong
        }
    }
}

/// The spellings Go's `strconv.ParseBool` accepts (case-insensitively here).
fn parse_bool(s: &str) -> Option<bool> {
    if ["1", "t", "true"].iter().any(|w| w.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if ["0", "f", "false"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(s))
    {
        Some(false)
    } else {
        None
    }
}

fn time_value(v: &Value, key: &str, path: &str, f: &mut Findings) -> Got<Option<Timestamp>> {
    match v {
        Value::Null => Got::Empty,
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Got::Empty;
            }
            let parsed = Timestamp::parse_rfc3339(t)
                .or_else(|| Timestamp::parse_date(t))
                .filter(in_time_range);
            if parsed.is_none() {
                f.push(error(
                    path,
                    codes::BAD_TIME,
                    format!(
                        "{key} {} is not an rfc 3339 time, a yyyy-mm-dd date or a unix number",
                        q(t)
                    ),
                ));
            }
            Got::Val(parsed)
        }
        Value::Number(n) => {
            let parsed = unix_time(n);
            if parsed.is_none() {
                f.push(error(
                    path,
                    codes::BAD_TIME,
                    format!("{key} {} is out of range for a unix time", q(n.literal())),
                ));
            }
            Got::Val(parsed)
        }
        other => {
            f.push(error(
                path,
                codes::WRONG_TYPE,
                format!(
                    "{key} must be a time string or number, got {}",
                    other.type_name()
                ),
            ));
            Got::Wrong
        }
    }
}

/// Years 0000 to 9999.
fn in_time_range(t: &Timestamp) -> bool {
    (-62_167_219_200..=253_402_300_799).contains(&t.secs)
}

/// A Unix number: seconds, or milliseconds above 1e12, or nanoseconds above 1e15.
fn unix_time(n: &Number) -> Option<Timestamp> {
    let x = n.as_f64()?;
    // Nanoseconds per unit.
    let scale: i128 = if x > 1e15 {
        1
    } else if x > 1e12 {
        1_000_000
    } else {
        1_000_000_000
    };
    let nanos: i128 = match n.as_i64() {
        Some(i) => i as i128 * scale,
        None => {
            // Scale the whole and fractional parts separately so that `1700000000.25` keeps
            // its exact quarter second.
            let whole = x.floor();
            if whole.abs() > 1e20 {
                return None;
            }
            let frac = x - whole;
            whole as i128 * scale + (frac * scale as f64).round() as i128
        }
    };
    let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    let t = Timestamp {
        secs,
        nanos: nanos.rem_euclid(1_000_000_000) as u32,
    };
    in_time_range(&t).then_some(t)
}

/// `i64` range as `f64` bounds (the upper bound itself is out of range).
const I64_MIN_F: f64 = -9_223_372_036_854_775_808.0;
const I64_END_F: f64 = 9_223_372_036_854_775_808.0;

fn int_value(v: &Value, key: &str, path: &str, f: &mut Findings) -> Got<Option<i64>> {
    let truncated =
        |x: f64| (x.is_finite() && (I64_MIN_F..I64_END_F).contains(&x)).then(|| x.trunc() as i64);
    let (parsed, shown) = match v {
        Value::Null => return Got::Empty,
        Value::Number(n) => (
            n.as_i64().or_else(|| n.as_f64().and_then(truncated)),
            n.literal().to_string(),
        ),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Got::Empty;
            }
            (
                t.parse::<i64>()
                    .ok()
                    .or_else(|| t.parse::<f64>().ok().and_then(truncated)),
                t.to_string(),
            )
        }
        other => {
            f.push(error(
                path,
                codes::WRONG_TYPE,
                format!("{key} must be an integer, got {}", other.type_name()),
            ));
            return Got::Wrong;
        }
    };
    if parsed.is_none() {
        f.push(error(
            path,
            codes::BAD_NUMBER,
            format!("{key} {} is not an integer in range", q(&shown)),
        ));
    }
    Got::Val(parsed)
}

fn float_value(v: &Value, key: &str, path: &str, f: &mut Findings) -> Got<Option<f64>> {
    let (parsed, shown) = match v {
        Value::Null => return Got::Empty,
        Value::Number(n) => (n.as_f64(), n.literal().to_string()),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Got::Empty;
            }
            (
                t.parse::<f64>().ok().filter(|x| x.is_finite()),
                t.to_string(),
            )
        }
        other => {
            f.push(error(
                path,
                codes::WRONG_TYPE,
                format!("{key} must be a number, got {}", other.type_name()),
            ));
            return Got::Wrong;
        }
    };
    if parsed.is_none() {
        f.push(error(
            path,
            codes::BAD_NUMBER,
            format!("{key} {} is not a finite number", q(&shown)),
        ));
    }
    Got::Val(parsed)
}

/// An item id list: an array of strings (numbers stringified) or one comma-separated string
/// (or a single number). Trimmed, blanks dropped, de-duplicated in order; more than `max`
/// distinct ids drops the rule.
fn id_list_value(
    v: &Value,
    key: &str,
    path: &str,
    max: usize,
    f: &mut Findings,
) -> Got<Vec<String>> {
    let mut ids = IdCollector {
        ids: Vec::new(),
        seen: HashSet::new(),
        over: false,
        max,
    };
    match v {
        Value::Null => return Got::Empty,
        Value::String(s) => s.split(',').for_each(|part| ids.add(part)),
        Value::Number(n) => ids.add(&number_text(n)),
        Value::Array(items) => {
            let mut bad = 0usize;
            let mut first_bad: Option<(usize, &'static str)> = None;
            for (j, e) in items.iter().enumerate() {
                match e {
                    Value::String(s) => ids.add(s),
                    Value::Number(n) => ids.add(&number_text(n)),
                    other => {
                        bad += 1;
                        first_bad.get_or_insert((j, other.type_name()));
                    }
                }
            }
            if let Some((j, ty)) = first_bad {
                let message = if bad == 1 {
                    format!("{key} must hold strings, got {ty}")
                } else {
                    format!("{key} must hold strings, got {bad} other values (the first is {ty})")
                };
                f.push(error(&format!("{path}[{j}]"), codes::WRONG_TYPE, message));
            }
        }
        other => {
            f.push(error(
                path,
                codes::WRONG_TYPE,
                format!(
                    "{key} must be an array of strings or a comma-separated string, got {}",
                    other.type_name()
                ),
            ));
            return Got::Wrong;
        }
    }
    if ids.over {
        f.push(drop(
            path,
            codes::TOO_MANY_ITEM_IDS,
            format!("{key} lists more than {max} distinct item ids"),
        ));
    }
    if ids.ids.is_empty() {
        Got::Empty
    } else {
        Got::Val(ids.ids)
    }
}

/// Trimmed, non-blank, distinct ids in first-seen order, at most `max` of them.
struct IdCollector {
    ids: Vec<String>,
    seen: HashSet<String>,
    over: bool,
    max: usize,
}

impl IdCollector {
    fn add(&mut self, raw: &str) {
        let t = raw.trim();
        if t.is_empty() || self.over || self.seen.contains(t) {
            return;
        }
        if self.ids.len() >= self.max {
            self.over = true;
            return;
        }
        self.seen.insert(t.to_string());
        self.ids.push(t.to_string());
    }
}

fn parse_target_type(
    s: &str,
    at: &str,
    unknown: &mut bool,
    f: &mut Findings,
) -> Option<TargetType> {
    let t = TargetType::parse(s);
    if t.is_none() {
        *unknown = true;
        f.push(drop(
            at,
            codes::UNKNOWN_TARGET_TYPE,
            format!(
                "unknown target type {}; expected item, tag, brand or category",
                q(s)
            ),
        ));
    }
    t
}

// ---------------------------------------------------------------------------------------------
// One rule

/// One rule object, read member group by member group in the order the findings are
/// reported: action, target, scope and window, identity, action values, metadata.
fn read_rule(
    map: &Map,
    index: usize,
    path: &str,
    org: &Uuid,
    opts: &RulesParseOptions,
    f: &mut Findings,
) -> Option<Rule> {
    let obj = Obj::new(map, path, is_known_rule_key, f);
    let action = read_action(&obj, path, f);
    let target = read_target(&obj, path, opts.max_item_ids_per_rule, f);
    let scope = read_scope(&obj, f);
    let identity = read_identity(&obj, f);
    let (boost_value, max_pins) = read_action_values(&obj, action, path, f);
    let meta = read_metadata(&obj, f);

    let (action, target_type) = (action?, target.target_type?);
    if f.iter().any(|(s, _)| *s == Sev::Drop) {
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
fn read_action(obj: &Obj<'_>, path: &str, f: &mut Findings) -> Option<Action> {
    match obj.text(ACTION_KEYS, f) {
        None => {
            f.push(drop(
                path,
                codes::MISSING_ACTION,
                "rule has no action (set action to block, pin or boost)".into(),
            ));
            None
        }
        Some((k, s)) => {
            let a = Action::parse(&s);
            if a.is_none() {
                f.push(drop(
                    &obj.field(k),
                    codes::UNKNOWN_ACTION,
                    format!("unknown action {}; expected block, pin or boost", q(&s)),
                ));
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
fn read_target(obj: &Obj<'_>, path: &str, max_ids: usize, f: &mut Findings) -> Target {
    let mut parts = read_top_target(obj, max_ids, f);
    if let Some(target) = obj.get(TARGET_KEY) {
        read_nested_target(target, &obj.field(TARGET_KEY), max_ids, &mut parts, f);
    }
    resolve_target(parts, path, f)
}

/// The target members of the rule object itself.
fn read_top_target(obj: &Obj<'_>, max_ids: usize, f: &mut Findings) -> TargetParts {
    let mut parts = TargetParts::default();
    parts.target_type = obj
        .text(TYPE_KEYS, f)
        .and_then(|(k, s)| parse_target_type(&s, &obj.field(k), &mut parts.type_unknown, f));
    parts.key = obj.text(KEY_KEYS, f).map(|(_, s)| s);
    let implied: Vec<&str> = IMPLIED_KEYS.iter().map(|(k, _)| *k).collect();
    if parts.key.is_some() {
        obj.ignore(&implied, "target_key is set", f);
    } else {
        for (i, (k, t)) in IMPLIED_KEYS.iter().enumerate() {
            if let Some((_, s)) = obj.text(&[*k], f) {
                parts.key = Some(s);
                if parts.target_type.is_none() {
                    parts.target_type = Some(*t);
                }
                obj.report_shadowed(k, &implied[i + 1..], f);
                break;
            }
        }
    }
    parts.ids = obj
        .first(ID_LIST_KEYS, f, |v, key, path, f| {
            id_list_value(v, key, path, max_ids, f)
        })
        .map(|(k, v)| (obj.field(k), v));
    parts
}

/// A nested `target` (an object, or a string naming the type) at `tpath`, filling whatever
/// the rule object left unset and reporting the rest as ignored.
fn read_nested_target(
    target: &Value,
    tpath: &str,
    max_ids: usize,
    parts: &mut TargetParts,
    f: &mut Findings,
) {
    match target {
        Value::Object(m) => {
            let nested = Obj::new(m, tpath, is_known_target_key, f);
            if parts.target_type.is_none() && !parts.type_unknown {
                parts.target_type = nested.text(NESTED_TYPE_KEYS, f).and_then(|(k, s)| {
                    parse_target_type(&s, &nested.field(k), &mut parts.type_unknown, f)
                });
            } else {
                nested.ignore(NESTED_TYPE_KEYS, "the target type is already set", f);
            }
            if parts.key.is_none() {
                parts.key = nested.text(NESTED_KEY_KEYS, f).map(|(_, s)| s);
            } else {
                nested.ignore(NESTED_KEY_KEYS, "the target key is already set", f);
            }
            if parts.ids.is_none() {
                parts.ids = nested
                    .first(NESTED_ID_LIST_KEYS, f, |v, key, path, f| {
                        id_list_value(v, key, path, max_ids, f)
                    })
                    .map(|(k, v)| (nested.field(k), v));
            } else {
                nested.ignore(NESTED_ID_LIST_KEYS, "item ids are already set", f);
            }
        }
        other => {
            if let Got::Val(s) = text_value(other, TARGET_KEY, tpath, f) {
                if parts.target_type.is_none() && !parts.type_unknown {
                    parts.target_type = parse_target_type(&s, tpath, &mut parts.type_unknown, f);
                } else {
                    f.push(warn(
                        tpath,
                        codes::IGNORED_FIELD,
                        "\"target\" is ignored: the target type is already set".into(),
                    ));
                }
            }
        }
    }
}

/// Checks the target as written: a missing type is inferred from item ids, an item rule
/// needs ids (its key becomes one), other rules need a key (lower-cased) and ignore ids.
fn resolve_target(parts: TargetParts, path: &str, f: &mut Findings) -> Target {
    let (ids_path, mut item_ids) = parts.ids.unwrap_or_default();
    let mut target_type = parts.target_type;
    if target_type.is_none() && !parts.type_unknown {
        if item_ids.is_empty() {
            f.push(drop(
                path,
                codes::MISSING_TARGET,
                "rule has no target (set target_type and target_key, or item_ids, tag, brand or category)".into(),
            ));
        } else {
            target_type = Some(TargetType::Item);
        }
    }
    let mut target_key = parts.key.unwrap_or_default();
    match target_type {
        Some(TargetType::Item) if item_ids.is_empty() => {
            if target_key.is_empty() {
                f.push(drop(
                    path,
                    codes::MISSING_TARGET,
                    "item rule has no item ids (set item_ids)".into(),
                ));
            } else {
                item_ids.push(target_key.clone());
            }
        }
        Some(TargetType::Item) => {}
        Some(t) => {
            let kind = t.as_str().to_ascii_lowercase();
            if target_key.is_empty() {
                f.push(drop(
                    path,
                    codes::MISSING_TARGET,
                    format!("{kind} rule has no target key (set target_key)"),
                ));
            }
            if !item_ids.is_empty() {
                f.push(warn(
                    &ids_path,
                    codes::IGNORED_FIELD,
                    format!("item ids are ignored for {kind} rules"),
                ));
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
fn read_scope(obj: &Obj<'_>, f: &mut Findings) -> Scope {
    let namespace = obj.text(NAMESPACE_KEYS, f).map(|(_, s)| s);
    let surface = obj.text(SURFACE_KEYS, f).map(|(_, s)| s);
    let segment = obj.text(SEGMENT_KEYS, f).map(|(_, s)| s);
    let enabled = obj.first(ENABLED_KEYS, f, bool_value);
    if let Some((k, false)) = enabled {
        f.push(warn(
            &obj.field(k),
            codes::DISABLED,
            "rule is disabled; it is kept but never applies".into(),
        ));
    }
    let enabled = enabled.is_none_or(|(_, b)| b);
    let valid_from = obj.first(FROM_KEYS, f, time_value).and_then(|(_, t)| t);
    let valid_until = obj.first(UNTIL_KEYS, f, time_value);
    if let (Some(from), Some((k, Some(until)))) = (valid_from, valid_until) {
        if until <= from {
            f.push(error(
                &obj.field(k),
                codes::EMPTY_WINDOW,
                format!(
                    "validity window is empty: {k} {} is not after the start {}",
                    until.to_rfc3339_nanos(),
                    from.to_rfc3339_nanos()
                ),
            ));
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
fn read_identity(obj: &Obj<'_>, f: &mut Findings) -> Identity {
    let given_id = obj.text(RULE_ID_KEYS, f).and_then(|(k, s)| {
        let id = Uuid::parse(&s);
        if id.is_none() {
            f.push(warn(
                &obj.field(k),
                codes::ID_NOT_UUID,
                format!(
                    "rule id {} is not a uuid; a stable id is derived from the rule content",
                    q(&s)
                ),
            ));
        }
        id
    });
    let manual_override_id = obj.text(OVERRIDE_KEYS, f).and_then(|(k, s)| {
        let id = Uuid::parse(&s);
        if id.is_none() {
            f.push(error(
                &obj.field(k),
                codes::BAD_UUID,
                format!("{k} {} is not a uuid", q(&s)),
            ));
        }
        id
    });
    let priority = obj
        .first(PRIORITY_KEYS, f, int_value)
        .and_then(|(_, p)| p)
        .unwrap_or(0);
    Identity {
        given_id,
        manual_override_id,
        priority,
    }
}

/// The member `k` is ignored for rules of action `a` (a warning).
fn ignored_for_action(obj: &Obj<'_>, k: &str, a: Action, f: &mut Findings) {
    f.push(warn(
        &obj.field(k),
        codes::IGNORED_FIELD,
        format!(
            "{k:?} is ignored for {} rules",
            a.as_str().to_ascii_lowercase()
        ),
    ));
}

/// The values only one action uses: a boost rule's boost value (required, bounded) and a pin
/// rule's max pins; either given to another action is ignored.
fn read_action_values(
    obj: &Obj<'_>,
    action: Option<Action>,
    path: &str,
    f: &mut Findings,
) -> (Option<f64>, Option<i64>) {
    let boost = obj.first(BOOST_KEYS, f, float_value);
    let boost_value = match (action, boost) {
        (Some(Action::Boost), Some((k, Some(b)))) if b.abs() > MAX_BOOST => {
            f.push(error(
                &obj.field(k),
                codes::BAD_NUMBER,
                format!("{k} {b:e} is out of range: a boost is at most {MAX_BOOST:e} in magnitude"),
            ));
            None
        }
        (Some(Action::Boost), Some((_, b))) => b,
        (Some(Action::Boost), None) => {
            f.push(error(
                path,
                codes::MISSING_BOOST_VALUE,
                "boost rule has no boost_value, so it would do nothing".into(),
            ));
            None
        }
        (Some(a), Some((k, _))) => {
            ignored_for_action(obj, k, a, f);
            None
        }
        _ => None,
    };
    let max_pins = match (action, obj.first(MAX_PINS_KEYS, f, int_value)) {
        (Some(Action::Pin), Some((_, m))) => m,
        (Some(a), Some((k, _))) if a != Action::Pin => {
            ignored_for_action(obj, k, a, f);
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
fn read_metadata(obj: &Obj<'_>, f: &mut Findings) -> Metadata {
    let name = obj.text(NAME_KEYS, f).map(|(_, s)| s).unwrap_or_default();
    let description = obj
        .text(DESCRIPTION_KEYS, f)
        .map(|(_, s)| s)
        .unwrap_or_default();
    let created_at = obj.first(CREATED_KEYS, f, time_value).and_then(|(_, t)| t);
    let updated_at = obj
        .first(UPDATED_KEYS, f, time_value)
        .and_then(|(_, t)| t)
        .or(created_at);
    obj.ignore(
        ORG_KEYS,
        "rules belong to the tenant whose document holds them",
        f,
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
