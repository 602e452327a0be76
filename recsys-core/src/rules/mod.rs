//! Rules document: lenient and strict parsing, stable rule ids, applicability.
//!
//! A tenant's merchandising rules are one JSON document. [`parse_rules`] turns it into typed
//! [`Rule`]s; [`RuleSet`] orders them for evaluation (priority descending, ties in document
//! order) and filters the ones that apply to a request ([`Rule::applies`]).
//!
//! # Document shapes
//!
//! * an array of rule objects;
//! * an object with a `rules`, else `items`, else `data` member (the first present one wins),
//!   whose value is read again by these same rules (so envelopes can nest);
//! * a single rule object (`{}` = no rules);
//! * lenient mode only: `null`, empty input or a scalar = no rules.
//!
//! # Rule objects
//!
//! The first alias holding a non-empty value wins (a later non-empty alias is reported as
//! ignored). Strings are trimmed; numbers are accepted where strings are expected (Go's
//! shortest form: `10`, `1.5`).
//!
//! | concept | keys | values |
//! |---|---|---|
//! | action (required) | `action`, `rule_action`, `operation` | any case: `block`/`blocklist`/`ban`/`exclude`/`suppress`, `pin`/`pinned`/`force`, `boost`/`promote`/`increase` |
//! | target type | `target_type`, `targetType` | any case: `item`/`items`/`product`, `tag`/`label`, `brand`, `category`/`cat` |
//! | target key | `target_key`, `targetKey`, `key`; else `tag`, `brand`, `category` (each implying its type when none is set) | lower-cased for TAG/BRAND/CATEGORY |
//! | item ids | `item_ids`, `item_id`, `itemIds`, `itemId`, `items`, `target_items`, `targetItems` | array (numbers stringified) or one comma-separated string; trimmed, blanks dropped, de-duplicated, case kept |
//! | nested `target` | object: `type`/`target_type`/`targetType`, `key`/`target_key`/`tag`/`value`, `item_ids`/`itemIds`/`items`/`target_items`/`targetItems`, each used only if still unset; or a string = the target type | |
//! | scope | `namespace`/`ns`, `surface`/`surf`, `segment_id`/`segment`/`segmentId` | unset = any |
//! | enabled | `enabled`, `active`, `is_enabled` | bool, `1`/`t`/`true`/`0`/`f`/`false` (any case), number ≠ 0; default true |
//! | window | `valid_from`/`starts_at`/`start_at`/`start`, `valid_until`/`ends_at`/`end_at`/`end` | RFC 3339, `YYYY-MM-DD` (UTC midnight), or a Unix number (seconds; > 1e12 ms; > 1e15 ns) |
//! | id | `rule_id`, `id`, `ruleId` | a UUID, else derived ([`derive_rule_id`]) |
//! | manual override | `manual_override_id`, `override_id`, `manualOverrideId` | UUID |
//! | priority | `priority`, `order`, `rank` | integer (floats truncated, strings parsed), default 0 |
//! | boost value | `boost_value`, `boost`, `value`, `boostValue` | finite number (BOOST only) |
//! | max pins | `max_pins`, `maxPins`, `max_pinned` | integer (PIN only; negative = no limit) |
//! | metadata | `name`/`title`, `description`/`desc`, `created_at`/`createdAt`, `updated_at`/`updatedAt` | |
//!
//! Target resolution: no type but item ids ⇒ ITEM; ITEM without ids but with a key ⇒ the key is
//! the single id; no type at all, ITEM without ids, or a blank key for the other types ⇒ the
//! rule is dropped.
//!
//! # Lenient and strict
//!
//! Lenient parsing (serving) accepts every shape above, drops what it cannot use and says so
//! in [`RulesDocument::dropped`]; malformed optional values are ignored with a warning, as the
//! reference does. Strict parsing (writing rules) fails with [`RulesError::Invalid`] listing
//! every problem at once. Disabled rules are valid in both modes and kept with
//! `enabled = false`. The finding codes are in [`codes`] and [`PROBLEM_CODES`].
//!
//! Deliberate differences from the reference, all in lenient mode: a rule with an unknown
//! target type is dropped (the reference keeps it but never matches it); a non-finite boost
//! value is ignored instead of propagating NaN; time values outside the years 0000–9999 are
//! rejected.

mod document;
mod error;
pub mod eval;
mod model;
pub mod tokens;
mod uuid;
mod values;

#[cfg(test)]
pub use document::{derive_rule_id, go_map_json};
pub use document::{parse_rules, parse_rules_value, RulesDocument, RulesParseOptions, MAX_BOOST};
#[cfg(test)]
pub use error::{codes, PROBLEM_CODES};
pub use error::{RulesError, RULES_TOO_MANY};
#[cfg(test)]
pub use model::RuleSet;
pub use model::{Action, Rule, TargetType};
#[cfg(test)]
pub use uuid::{RuleId, Uuid};
