//! The lint findings of the documents a snapshot serves, cached on the snapshot, so that
//! `validate` (which reports them with every answer) does no lint work per request.
//!
//! Findings depend on the request's `now` in two ways only: `RULES_EXPIRED` and
//! `RULES_NOT_YET_ACTIVE` compare each rule's window with it, and every other check looks
//! at the *live* rules (enabled, window not ended). So the cache keeps
//!
//! * the window findings of every windowed rule, sorted by the time they apply from: the
//!   ones due at `now` are a prefix (expired) and a suffix (not yet active), found by binary
//!   search;
//! * the other findings per *span*: a stretch of time between two window ends, in which the
//!   live rules do not change. A span is linted once, when a request first falls in it (the
//!   two latest spans are kept, so requests whose clocks straddle a window end do not lint
//!   again and again).
//!
//! A hit costs O(log rules + findings). The cache belongs to one snapshot (one config, rules
//! and catalog) and also remembers which documents it linted: documents replaced under the
//! same snapshot (a write not rebuilt yet) are linted afresh.

use super::{codes, rules, Finding};
use crate::compile::TenantDocs;
use crate::snapshot::TenantSnapshot;
use crate::time::Timestamp;
use arc_swap::ArcSwapOption;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// Spans kept per snapshot.
const SPANS: usize = 2;

/// The cached findings of one snapshot (see the module docs).
#[derive(Default)]
pub(crate) struct LintCache {
    slot: ArcSwapOption<Cached>,
    /// Full lint runs, for the tests that show a hit does no lint work.
    runs: AtomicUsize,
}

impl std::fmt::Debug for LintCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LintCache")
            .field("runs", &self.runs.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

struct Cached {
    /// The documents linted (compared by identity; the weak reference keeps the address
    /// from being reused while it is cached).
    docs: Weak<TenantDocs>,
    windows: Arc<Windows>,
    /// The latest spans first.
    spans: Vec<Span>,
}

/// The window findings of a set of rules, and the ends of their windows.
struct Windows {
    /// `RULES_EXPIRED` findings by the time their window ends, ascending.
    expired: Vec<(Timestamp, Finding)>,
    /// `RULES_NOT_YET_ACTIVE` findings by the time their window starts, ascending.
    not_yet: Vec<(Timestamp, Finding)>,
    /// Distinct window ends of enabled rules, ascending: where the live rules change.
    ends: Vec<Timestamp>,
}

/// A stretch of time `[from, until)` with the same live rules, and their findings other
/// than the window ones.
struct Span {
    from: Option<Timestamp>,
    until: Option<Timestamp>,
    findings: Arc<Vec<Finding>>,
}

impl Span {
    fn contains(&self, now: Timestamp) -> bool {
        self.from.is_none_or(|f| f <= now) && self.until.is_none_or(|u| now < u)
    }
}

impl Windows {
    fn of(docs: &TenantDocs) -> Windows {
        let enabled = || docs.rules.iter().filter(|r| r.enabled);
        let mut expired: Vec<(Timestamp, Finding)> = enabled()
            .filter_map(|r| r.valid_until.map(|u| (u, rules::expired(r, u))))
            .collect();
        let mut not_yet: Vec<(Timestamp, Finding)> = enabled()
            .filter_map(|r| r.valid_from.map(|f| (f, rules::not_yet_active(r, f))))
            .collect();
        expired.sort_by_key(|(t, _)| *t);
        not_yet.sort_by_key(|(t, _)| *t);
        let mut ends: Vec<Timestamp> = expired.iter().map(|(t, _)| *t).collect();
        ends.dedup();
        Windows {
            expired,
            not_yet,
            ends,
        }
    }

    /// The span of `now`: from the last window end at or before it to the next one after.
    fn span(&self, now: Timestamp) -> (Option<Timestamp>, Option<Timestamp>) {
        let i = self.ends.partition_point(|e| *e <= now);
        let from = i.checked_sub(1).map(|j| self.ends[j]);
        (from, self.ends.get(i).copied())
    }

    /// The window findings due at `now`: ended at or before it, starting after it.
    fn due(&self, now: Timestamp) -> impl Iterator<Item = &Finding> {
        let ended = self.expired.partition_point(|(t, _)| *t <= now);
        let started = self.not_yet.partition_point(|(t, _)| *t <= now);
        let expired = self.expired[..ended].iter();
        expired
            .chain(self.not_yet[started..].iter())
            .map(|(_, f)| f)
    }
}

fn is_window(f: &Finding) -> bool {
    f.code == codes::RULES_EXPIRED || f.code == codes::RULES_NOT_YET_ACTIVE
}

impl LintCache {
    /// The findings of `docs` against `snap`'s catalog at `now`: exactly what
    /// [`crate::change::lint_docs`] answers, from the cache when it holds them.
    pub(crate) fn findings(
        &self,
        docs: &Arc<TenantDocs>,
        snap: &TenantSnapshot,
        now: Timestamp,
    ) -> Vec<Finding> {
        let cached = self
            .slot
            .load_full()
            .filter(|c| std::ptr::eq(c.docs.as_ptr(), Arc::as_ptr(docs)));
        let windows = match &cached {
            Some(c) => c.windows.clone(),
            None => Arc::new(Windows::of(docs)),
        };
        let hit = cached
            .as_ref()
            .and_then(|c| c.spans.iter().find(|s| s.contains(now)))
            .map(|s| s.findings.clone());
        let rest = match hit {
            Some(f) => f,
            None => {
                let f = self.lint_span(docs, snap, now);
                let (from, until) = windows.span(now);
                let span = Span {
                    from,
                    until,
                    findings: f.clone(),
                };
                let mut spans = vec![span];
                if let Some(c) = &cached {
                    spans.extend(c.spans.iter().take(SPANS - 1).map(|s| Span {
                        from: s.from,
                        until: s.until,
                        findings: s.findings.clone(),
                    }));
                }
                self.slot.store(Some(Arc::new(Cached {
                    docs: Arc::downgrade(docs),
                    windows: windows.clone(),
                    spans,
                })));
                f
            }
        };
        let mut out: Vec<Finding> = rest.iter().cloned().collect();
        out.extend(windows.due(now).cloned());
        super::sort(&mut out);
        out
    }

    /// Lints the documents at `now` and keeps what does not depend on the time within its
    /// span (every finding but the window ones).
    fn lint_span(
        &self,
        docs: &TenantDocs,
        snap: &TenantSnapshot,
        now: Timestamp,
    ) -> Arc<Vec<Finding>> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let mut f = crate::change::lint_docs(docs, Some(snap), now);
        f.retain(|x| !is_window(x));
        Arc::new(f)
    }

    /// How many times the documents were linted in full.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> usize {
        self.runs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use crate::json::parse;
    use crate::lint::Finding;
    use crate::time::Timestamp;
    use crate::Engine;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    /// An engine serving a small catalog with `rules`.
    fn engine(rules: &str) -> Engine {
        let e = Engine::new();
        let items: Vec<String> = (0..50)
            .map(|i| format!(r#"{{"item_id":"i{i:03}","score":{}}}"#, 50 - i))
            .collect();
        let docs = format!(
            r#"{{"tenant":"demo","surface":"home","rules":{rules},"signals":{{"popularity":[{}]}}}}"#,
            items.join(",")
        );
        e.call("load_snapshot", &docs).unwrap();
        e
    }

    /// What the uncached lint answers for the served documents at `now`.
    fn uncached(e: &Engine, now: Timestamp) -> Vec<Finding> {
        let docs = e.lock_state().docs.get("demo").cloned().unwrap();
        let snap = e.snapshot("demo", "home").unwrap().snapshot;
        crate::change::lint_docs(&docs, Some(&snap), now)
    }

    fn runs(e: &Engine) -> usize {
        e.snapshot("demo", "home").unwrap().snapshot.lint.runs()
    }

    fn codes(f: &[Finding]) -> Vec<(&'static str, Vec<usize>)> {
        f.iter().map(|x| (x.code, x.rules.clone())).collect()
    }

    /// `n` rules: a pin of an unknown item, duplicates, blocks, and one windowed rule per ten.
    fn rules(n: usize) -> String {
        let r: Vec<String> = (0..n)
            .map(|i| match i % 10 {
                0 => format!(
                    r#"{{"action":"boost","item_ids":["i{:03}"],"boost_value":0.1,"valid_from":"2026-02-{:02}T00:00:00Z","valid_until":"2026-03-{:02}T00:00:00Z"}}"#,
                    i % 50,
                    1 + i % 28,
                    1 + i % 28
                ),
                1 => r#"{"action":"pin","item_ids":["nope"]}"#.to_string(),
                2 | 3 => r#"{"action":"block","item_ids":["i001"]}"#.to_string(),
                _ => format!(
                    r#"{{"action":"boost","item_ids":["i{:03}"],"boost_value":0.{}}}"#,
                    i % 50,
                    1 + i % 9
                ),
            })
            .collect();
        format!("[{}]", r.join(","))
    }

    /// A second `validate` does no lint work, whatever the rules' size; the findings are
    /// the uncached lint's, also across window ends.
    #[test]
    fn a_second_validate_does_no_lint_work() {
        for n in [10, 100, 1000] {
            let e = engine(&rules(n));
            let now = t("2026-02-15T12:00:00Z");
            let first = e.served_lint("demo", "home", now);
            assert_eq!(runs(&e), 1);
            for _ in 0..5 {
                assert_eq!(e.served_lint("demo", "home", now), first);
            }
            assert_eq!(runs(&e), 1, "{n} rules: a repeated validate linted again");
            let validate = || {
                e.call(
                    "validate",
                    r#"{"request":{"surface":"home","k":5,"user":{"user_id":"u"}},"ctx":{"now":"2026-02-15T12:00:00Z","tenant":"demo"}}"#,
                )
                .unwrap()
            };
            let answer = validate();
            assert!(answer.contains("RULES_UNKNOWN_TARGET"), "{answer}");
            assert_eq!(validate(), answer);
            assert_eq!(runs(&e), 1, "{n} rules: validate linted again");
            assert_eq!(first, uncached(&e, now));
            // Another time in the same span (no window ends in between) is a hit too, and
            // its window findings are those of its own time.
            let later = t("2026-02-15T12:00:01Z");
            assert_eq!(e.served_lint("demo", "home", later), uncached(&e, later));
            assert_eq!(runs(&e), 1);
            // Times across window ends: each span linted once, every answer exact.
            let times = [
                "2026-01-01T00:00:00Z",
                "2026-02-20T00:00:00Z",
                "2026-04-01T00:00:00Z",
            ];
            for now in times.map(t) {
                assert_eq!(e.served_lint("demo", "home", now), uncached(&e, now), "{n}");
            }
            let spans = runs(&e);
            for now in times.map(t).iter().rev().take(2) {
                assert_eq!(e.served_lint("demo", "home", *now), uncached(&e, *now));
            }
            assert_eq!(runs(&e), spans, "the two latest spans are kept");
        }
    }

    /// A rule whose window starts and ends between validates flips from not yet active to
    /// active (no window finding) to expired; a rule the window end takes out of the live
    /// rules stops being reported by the other checks.
    #[test]
    fn a_rule_crossing_its_window_flips_to_expired() {
        let e = engine(
            r#"[{"action":"pin","item_ids":["nope"],"valid_from":"2026-03-01T00:00:00Z","valid_until":"2026-03-02T00:00:00Z"}]"#,
        );
        let at = |s: &str| codes(&e.served_lint("demo", "home", t(s)));
        assert_eq!(
            at("2026-02-28T00:00:00Z"),
            vec![
                ("RULES_UNKNOWN_TARGET", vec![0]),
                ("RULES_NOT_YET_ACTIVE", vec![0])
            ]
        );
        assert_eq!(
            at("2026-03-01T12:00:00Z"),
            vec![("RULES_UNKNOWN_TARGET", vec![0])]
        );
        assert_eq!(at("2026-03-02T00:00:00Z"), vec![("RULES_EXPIRED", vec![0])]);
        // Back before the end (a request with an older clock): the earlier span again.
        assert_eq!(
            at("2026-03-01T23:59:59Z"),
            vec![("RULES_UNKNOWN_TARGET", vec![0])]
        );
        for s in [
            "2026-02-28T00:00:00Z",
            "2026-03-01T12:00:00Z",
            "2026-03-02T00:00:00Z",
        ] {
            assert_eq!(e.served_lint("demo", "home", t(s)), uncached(&e, t(s)));
        }
    }

    /// New documents under the same snapshot are linted afresh (never the old findings).
    #[test]
    fn replaced_documents_are_linted_again() {
        let e = engine(r#"[{"action":"pin","item_ids":["nope"]}]"#);
        let now = t("2026-02-01T00:00:00Z");
        assert_eq!(e.served_lint("demo", "home", now).len(), 1);
        e.set_rules("demo", Some(&parse(b"[]").unwrap())).unwrap();
        assert!(e.served_lint("demo", "home", now).is_empty());
    }
}
