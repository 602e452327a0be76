//! The typed report of a preview ([`PreviewReport`]) and its JSON form, the `admin.preview`
//! answer.

use crate::error::ApiError;
use crate::json::{Map, Value};
use crate::rules::Action;

/// Who changed an item.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeCause {
    /// A rule, by its index in the candidate rules (`candidate`) or the current ones.
    Rule {
        /// The rule's index in its document.
        rule: usize,
        /// Its action.
        action: Action,
        /// Whether the index is in the candidate rules (else in the current ones).
        candidate: bool,
    },
    /// A setting: `config` (the candidate config changed), `displaced` (other items moved
    /// it).
    Setting(&'static str),
}

impl ChangeCause {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        match self {
            ChangeCause::Rule {
                rule,
                action,
                candidate,
            } => {
                m.push("rule", Value::u64(*rule as u64));
                m.push("action", Value::str(action.as_str()));
                let side = if *candidate { "candidate" } else { "current" };
                m.push("rules", Value::str(side));
            }
            ChangeCause::Setting(s) => m.push("setting", Value::str(*s)),
        }
        Value::Object(m)
    }
}

/// One item a change added, removed or moved.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemChange {
    /// The item.
    pub item_id: String,
    /// Its rank before (from 1), when it was served before.
    pub from_rank: Option<usize>,
    /// Its rank after (from 1), when it is served after.
    pub to_rank: Option<usize>,
    /// Why.
    pub because: Vec<ChangeCause>,
}

impl ItemChange {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.push("item_id", Value::str(&self.item_id));
        if let Some(f) = self.from_rank {
            m.push("from_rank", Value::u64(f as u64));
        }
        if let Some(t) = self.to_rank {
            m.push("to_rank", Value::u64(t as u64));
        }
        let because = self.because.iter().map(ChangeCause::to_value).collect();
        m.push("because", Value::Array(because));
        Value::Object(m)
    }
}

/// The versions that served one side of a request, and how many items it answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServedVersions {
    /// The config's version.
    pub config_version: Option<String>,
    /// The rules' version.
    pub rules_version: Option<String>,
    /// Items answered.
    pub items: usize,
}

impl ServedVersions {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        let opt = |v: &Option<String>| v.as_deref().map_or(Value::Null, Value::str);
        m.push("config_version", opt(&self.config_version));
        m.push("rules_version", opt(&self.rules_version));
        m.push("items", Value::u64(self.items as u64));
        Value::Object(m)
    }
}

/// A request whose answer the change altered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangedRequest {
    /// Its position among the previewed requests.
    pub index: usize,
    /// The recorded request id (exposure events).
    pub request_id: Option<String>,
    /// What served it before.
    pub before: ServedVersions,
    /// What serves it after.
    pub after: ServedVersions,
    /// Items it gains, in their new rank order.
    pub added: Vec<ItemChange>,
    /// Items it loses, in their old rank order.
    pub removed: Vec<ItemChange>,
    /// Items served on both sides at another rank, in their old rank order.
    pub moved: Vec<ItemChange>,
}

/// A request one side (or both) refused.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FailedRequest {
    /// Its position among the previewed requests.
    pub index: usize,
    /// The current documents' error.
    pub before_error: Option<ApiError>,
    /// The candidate documents' error.
    pub after_error: Option<ApiError>,
}

/// One listed request of a preview.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PreviewDetail {
    /// Its answer changed.
    Changed(ChangedRequest),
    /// A side refused it.
    Failed(FailedRequest),
}

impl PreviewDetail {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        match self {
            PreviewDetail::Failed(f) => {
                m.push("index", Value::u64(f.index as u64));
                for (k, e) in [
                    ("before_error", &f.before_error),
                    ("after_error", &f.after_error),
                ] {
                    if let Some(e) = e {
                        m.push(k, e.to_value());
                    }
                }
            }
            PreviewDetail::Changed(c) => {
                m.push("index", Value::u64(c.index as u64));
                if let Some(id) = &c.request_id {
                    m.push("request_id", Value::str(id));
                }
                m.push("before", c.before.to_value());
                m.push("after", c.after.to_value());
                for (k, list) in [
                    ("added", &c.added),
                    ("removed", &c.removed),
                    ("moved", &c.moved),
                ] {
                    let list = list.iter().map(ItemChange::to_value).collect();
                    m.push(k, Value::Array(list));
                }
            }
        }
        Value::Object(m)
    }
}

/// The candidate documents' versions on one side of a preview.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreviewVersions {
    /// The config's version (ETag), when there is a config.
    pub config_version: Option<String>,
    /// The rules' version (ETag), when there are rules.
    pub rules_version: Option<String>,
}

impl PreviewVersions {
    pub(super) fn of(d: &crate::compile::TenantDocs) -> PreviewVersions {
        PreviewVersions {
            config_version: d.config_version.clone(),
            rules_version: d.rules_version.clone(),
        }
    }
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        let opt = |v: &Option<String>| v.as_deref().map_or(Value::Null, Value::str);
        m.push("config_version", opt(&self.config_version));
        m.push("rules_version", opt(&self.rules_version));
        Value::Object(m)
    }
}

/// How many previewed requests a candidate rule fired on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleFired {
    /// The rule's index in the candidate rules document.
    pub rule: usize,
    /// Requests it fired on (pin/boost in an item's reasons, a block removing an item).
    pub requests: u64,
}

/// What a proposed change does to recorded requests; serialises as the `admin.preview`
/// answer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PreviewReport {
    /// The tenant.
    pub tenant: String,
    /// The surface whose artifacts served both sides.
    pub surface: String,
    /// The documents serving now.
    pub before: PreviewVersions,
    /// The candidate documents.
    pub after: PreviewVersions,
    /// Requests given.
    pub requests: usize,
    /// Requests both sides answered.
    pub served: usize,
    /// Requests a side refused (each listed in `details` with its errors).
    pub failed: usize,
    /// Served requests whose items changed.
    pub changed: usize,
    /// Share of served requests with no items before the change.
    pub empty_rate_before: f64,
    /// Share of served requests with no items after the change.
    pub empty_rate_after: f64,
    /// Mean share of items both sides returned (1 for two empty answers).
    pub overlap_at_k: f64,
    /// Candidate rules that fired, by document index.
    pub rules_fired: Vec<RuleFired>,
    /// Candidate rules that fired on no request, by document index.
    pub rules_never_fired: Vec<usize>,
    /// Per changed or failed request (in request order, at most `max_details`): the items
    /// added, removed and moved with the rule or setting responsible, or the errors.
    pub details: Vec<PreviewDetail>,
}

impl PreviewReport {
    /// The answer's JSON form.
    pub fn to_value(&self) -> Value {
        let mut a = Map::new();
        a.push("tenant", Value::str(&self.tenant));
        a.push("surface", Value::str(&self.surface));
        a.push("before", self.before.to_value());
        a.push("after", self.after.to_value());
        a.push("requests", Value::u64(self.requests as u64));
        a.push("served", Value::u64(self.served as u64));
        a.push("failed", Value::u64(self.failed as u64));
        a.push("changed", Value::u64(self.changed as u64));
        a.push("empty_rate_before", Value::f64(self.empty_rate_before));
        a.push("empty_rate_after", Value::f64(self.empty_rate_after));
        a.push("overlap_at_k", Value::f64(self.overlap_at_k));
        let fired = self
            .rules_fired
            .iter()
            .map(|f| {
                let mut m = Map::new();
                m.push("rule", Value::u64(f.rule as u64));
                m.push("requests", Value::u64(f.requests));
                Value::Object(m)
            })
            .collect();
        a.push("rules_fired", Value::Array(fired));
        let never = self.rules_never_fired.iter();
        a.push(
            "rules_never_fired",
            Value::Array(never.map(|&i| Value::u64(i as u64)).collect()),
        );
        let details = self.details.iter().map(PreviewDetail::to_value).collect();
        a.push("details", Value::Array(details));
        Value::Object(a)
    }
}
