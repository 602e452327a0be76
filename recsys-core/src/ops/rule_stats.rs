//! Per-rule telemetry: for each merchandising rule, how many requests it fired on, put an
//! item into the answer (displaced one), was blocked, or did nothing. Counts are kept in the
//! engine per rule id and exported at scrape time with bounded label cardinality: the `top_n`
//! rules by total count get their own `rule` label, every other rule is summed under
//! `rule="other"`.

use super::metrics::Metrics;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

/// The gauge family the counts are exported as (`rule`, `outcome` labels).
pub const RULE_OUTCOMES: &str = "recsys_rule_outcomes";
/// Rules exported with their own label.
pub const DEFAULT_TOP_N: usize = 20;
/// Distinct rule ids tracked; beyond it, new ids are counted under `other` at once.
pub const MAX_TRACKED_RULES: usize = 10_000;

/// What one rule did for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RuleOutcome {
    /// Applied and acted (a boost scored candidates, a block removed candidates), without
    /// putting an item into the answer.
    Fired,
    /// Put an item into the answer: a pin placed one, or a boosted item was returned.
    Displaced,
    /// Its targets were removed by a block (pins and boosts).
    Blocked,
    /// Applied but found nothing to act on.
    Noop,
}

impl RuleOutcome {
    /// Every outcome.
    pub const ALL: [RuleOutcome; 4] = [
        RuleOutcome::Fired,
        RuleOutcome::Displaced,
        RuleOutcome::Blocked,
        RuleOutcome::Noop,
    ];
    /// The outcome's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleOutcome::Fired => "fired",
            RuleOutcome::Displaced => "displaced",
            RuleOutcome::Blocked => "blocked",
            RuleOutcome::Noop => "noop",
        }
    }
    fn slot(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default)]
struct Inner {
    counts: HashMap<String, [u64; 4]>,
    other: [u64; 4],
    /// Rule labels exported last time (zeroed when they leave the top N).
    exported: BTreeSet<String>,
}

/// Per-rule outcome counts of one engine.
#[derive(Debug, Default)]
pub struct RuleStats {
    inner: Mutex<Inner>,
}

impl RuleStats {
    /// Adds one request's outcomes (rule id, outcome).
    pub fn record(&self, outcomes: &[(String, RuleOutcome)]) {
        if outcomes.is_empty() {
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for (id, o) in outcomes {
            let full = g.counts.len() >= MAX_TRACKED_RULES;
            match g.counts.get_mut(id) {
                Some(c) => c[o.slot()] += 1,
                None if full => g.other[o.slot()] += 1,
                None => {
                    let mut c = [0; 4];
                    c[o.slot()] = 1;
                    g.counts.insert(id.clone(), c);
                }
            }
        }
    }

    /// Sets the [`RULE_OUTCOMES`] gauges: the `top_n` rules by total count (ties by id),
    /// the rest summed as `other`; rules that left the top N are set to 0.
    pub fn export(&self, metrics: &dyn Metrics, top_n: usize) {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ranked: Vec<(&String, &[u64; 4])> = g.counts.iter().collect();
        ranked.sort_by(|a, b| {
            let t = |c: &[u64; 4]| c.iter().sum::<u64>();
            t(b.1).cmp(&t(a.1)).then(a.0.cmp(b.0))
        });
        let mut other = g.other;
        let mut shown: BTreeMap<String, [u64; 4]> = BTreeMap::new();
        for (i, (id, c)) in ranked.into_iter().enumerate() {
            if i < top_n {
                shown.insert(id.clone(), *c);
            } else {
                for (o, x) in other.iter_mut().zip(c.iter()) {
                    *o += x;
                }
            }
        }
        let stale: Vec<String> = g
            .exported
            .iter()
            .filter(|id| !shown.contains_key(*id))
            .cloned()
            .collect();
        for id in &stale {
            for o in RuleOutcome::ALL {
                metrics.gauge(RULE_OUTCOMES, &[("rule", id), ("outcome", o.as_str())], 0.0);
            }
        }
        shown.insert("other".into(), other);
        for (id, c) in &shown {
            for o in RuleOutcome::ALL {
                metrics.gauge(
                    RULE_OUTCOMES,
                    &[("rule", id), ("outcome", o.as_str())],
                    c[o.slot()] as f64,
                );
            }
        }
        g.exported = shown.into_keys().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::MetricsRegistry;

    #[test]
    fn top_n_plus_other_bounds_the_labels() {
        let s = RuleStats::default();
        for i in 0..50u64 {
            for _ in 0..=i {
                s.record(&[(format!("r{i:02}"), RuleOutcome::Fired)]);
            }
        }
        s.record(&[("r49".into(), RuleOutcome::Blocked)]);
        let m = MetricsRegistry::new();
        s.export(&m, 3);
        let g = |r: &str, o: &str| m.gauge_value(RULE_OUTCOMES, &[("rule", r), ("outcome", o)]);
        assert_eq!(g("r49", "fired"), Some(50.0));
        assert_eq!(g("r49", "blocked"), Some(1.0));
        assert_eq!(g("r47", "fired"), Some(48.0));
        assert_eq!(g("r46", "fired"), None);
        // 1 + 2 + ... + 47 for the 47 rules outside the top 3.
        assert_eq!(g("other", "fired"), Some((1..=47).sum::<u64>() as f64));
        let text = m.render_prometheus();
        let series = text
            .lines()
            .filter(|l| l.starts_with(RULE_OUTCOMES))
            .count();
        assert_eq!(series, 4 * 4, "{text}");
        // A rule leaving the top N is zeroed, not left stale.
        for _ in 0..100 {
            s.record(&[("r00".into(), RuleOutcome::Noop)]);
        }
        s.export(&m, 3);
        assert_eq!(g("r00", "noop"), Some(100.0));
        assert_eq!(g("r47", "fired"), Some(0.0));
    }

    #[test]
    fn tracking_is_bounded() {
        let s = RuleStats::default();
        for i in 0..MAX_TRACKED_RULES + 5 {
            s.record(&[(format!("r{i}"), RuleOutcome::Noop)]);
        }
        let g = s.inner.lock().unwrap();
        assert_eq!(g.counts.len(), MAX_TRACKED_RULES);
        assert_eq!(g.other[RuleOutcome::Noop.slot()], 5);
    }
}
