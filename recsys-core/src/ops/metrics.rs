//! Metrics (service.md 7.5): a [`Metrics`] adapter trait the host implements with its own
//! library, the series a dashboard needs (the reference's names where they exist, namespace
//! `recsys`), helpers that derive them from answers and errors, and an in-memory
//! [`MetricsRegistry`] with a Prometheus text renderer for hosts that want one.
//!
//! Series (labels never include tenant, user or request ids):
//!
//! | name | type | labels | source |
//! |---|---|---|---|
//! | `recsys_recommendation_requests_total` | counter | endpoint, outcome, empty | reference |
//! | `recsys_recommendation_latency_seconds` | histogram | endpoint, outcome | reference |
//! | `recsys_recommendation_returned_items` | histogram | endpoint | reference |
//! | `recsys_recommendation_warnings` | histogram | endpoint | reference |
//! | `recsys_recommendation_warning_codes_total` | counter | endpoint, code | ours |
//! | `recsys_cache_requests_total` | counter | cache, result | reference |
//! | `recsys_backpressure_rejections_total` | counter | — | reference |
//! | `recsys_backpressure_in_flight` / `_waiting` | gauge | — | ours |
//! | `recsys_artifact_load_failures_total` | counter | kind | reference |
//! | `recsys_artifact_manifest_age_seconds` | gauge | — | reference |
//! | `recsys_artifact_manifest_artifacts` | gauge | — | reference |
//! | `recsys_artifact_age_seconds` | gauge | kind | ours |
//! | `recsys_snapshot_swaps_total` | counter | — | ours |
//! | `recsys_exposure_events_total` | counter | format, result | ours |
//! | `recsys_sync_lag_seconds` | histogram | — | ours: write of a change to this process serving it |
//!
//! Empty-recommendation rate = `requests_total{empty="true"}` / `requests_total{outcome="success"}`
//! (see [`MetricsRegistry::empty_rate`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::ApiError;
use crate::json::Value;

use super::Endpoint;

/// The adapter a host implements (Prometheus client, StatsD, OpenTelemetry, ...). Label
/// order is not significant.
pub trait Metrics: Send + Sync {
    /// Adds `delta` to a counter.
    fn counter(&self, name: &str, labels: &[(&str, &str)], delta: u64);
    /// Records one observation of a histogram.
    fn histogram(&self, name: &str, labels: &[(&str, &str)], value: f64);
    /// Sets a gauge.
    fn gauge(&self, name: &str, labels: &[(&str, &str)], value: f64);
}

/// Discards everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopMetrics;

impl Metrics for NoopMetrics {
    fn counter(&self, _: &str, _: &[(&str, &str)], _: u64) {}
    fn histogram(&self, _: &str, _: &[(&str, &str)], _: f64) {}
    fn gauge(&self, _: &str, _: &[(&str, &str)], _: f64) {}
}

/// Metric names.
pub mod names {
    pub const REQUESTS_TOTAL: &str = "recsys_recommendation_requests_total";
    pub const LATENCY_SECONDS: &str = "recsys_recommendation_latency_seconds";
    pub const RETURNED_ITEMS: &str = "recsys_recommendation_returned_items";
    pub const WARNINGS: &str = "recsys_recommendation_warnings";
    pub const WARNING_CODES_TOTAL: &str = "recsys_recommendation_warning_codes_total";
    pub const CACHE_REQUESTS_TOTAL: &str = "recsys_cache_requests_total";
    pub const BACKPRESSURE_REJECTIONS_TOTAL: &str = "recsys_backpressure_rejections_total";
    pub const BACKPRESSURE_IN_FLIGHT: &str = "recsys_backpressure_in_flight";
    pub const BACKPRESSURE_WAITING: &str = "recsys_backpressure_waiting";
    pub const ARTIFACT_LOAD_FAILURES_TOTAL: &str = "recsys_artifact_load_failures_total";
    pub const ARTIFACT_MANIFEST_AGE_SECONDS: &str = "recsys_artifact_manifest_age_seconds";
    pub const ARTIFACT_MANIFEST_ARTIFACTS: &str = "recsys_artifact_manifest_artifacts";
    pub const ARTIFACT_AGE_SECONDS: &str = "recsys_artifact_age_seconds";
    pub const SNAPSHOT_SWAPS_TOTAL: &str = "recsys_snapshot_swaps_total";
    pub const EXPOSURE_EVENTS_TOTAL: &str = "recsys_exposure_events_total";
    pub const SYNC_LAG_SECONDS: &str = "recsys_sync_lag_seconds";
}

/// Kind of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// A known metric: help text, labels and (histograms) bucket upper bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: MetricKind,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    pub buckets: &'static [f64],
}

/// Prometheus client default buckets (the reference's latency histogram).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
pub const RETURNED_ITEMS_BUCKETS: &[f64] = &[0.0, 1.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0];
pub const WARNINGS_BUCKETS: &[f64] = &[0.0, 1.0, 2.0, 5.0, 10.0, 20.0];

const fn def(
    name: &'static str,
    kind: MetricKind,
    help: &'static str,
    labels: &'static [&'static str],
    buckets: &'static [f64],
) -> MetricDef {
    MetricDef {
        name,
        kind,
        help,
        labels,
        buckets,
    }
}

/// Every series this module knows, in name order.
pub const DEFINITIONS: &[MetricDef] = &[
    def(
        names::ARTIFACT_AGE_SECONDS,
        MetricKind::Gauge,
        "Age in seconds of the loaded artifact of each kind.",
        &["kind"],
        &[],
    ),
    def(
        names::ARTIFACT_LOAD_FAILURES_TOTAL,
        MetricKind::Counter,
        "Manifest and artifact load failures (not found, unreadable, invalid) by manifest or artifact kind.",
        &["kind"],
        &[],
    ),
    def(
        names::ARTIFACT_MANIFEST_AGE_SECONDS,
        MetricKind::Gauge,
        "Age in seconds of the last loaded manifest.",
        &[],
        &[],
    ),
    def(
        names::ARTIFACT_MANIFEST_ARTIFACTS,
        MetricKind::Gauge,
        "Number of artifacts in the last loaded manifest.",
        &[],
        &[],
    ),
    def(
        names::BACKPRESSURE_IN_FLIGHT,
        MetricKind::Gauge,
        "Requests holding a backpressure slot.",
        &[],
        &[],
    ),
    def(
        names::BACKPRESSURE_REJECTIONS_TOTAL,
        MetricKind::Counter,
        "Requests rejected by backpressure.",
        &[],
        &[],
    ),
    def(
        names::BACKPRESSURE_WAITING,
        MetricKind::Gauge,
        "Requests waiting for a backpressure slot.",
        &[],
        &[],
    ),
    def(
        names::CACHE_REQUESTS_TOTAL,
        MetricKind::Counter,
        "Cache lookups by cache and result.",
        &["cache", "result"],
        &[],
    ),
    def(
        names::EXPOSURE_EVENTS_TOTAL,
        MetricKind::Counter,
        "Exposure events by format and result.",
        &["format", "result"],
        &[],
    ),
    def(
        names::LATENCY_SECONDS,
        MetricKind::Histogram,
        "Recommendation handler latency in seconds.",
        &["endpoint", "outcome"],
        LATENCY_BUCKETS,
    ),
    def(
        names::REQUESTS_TOTAL,
        MetricKind::Counter,
        "Recommendation requests by endpoint, outcome and emptiness.",
        &["endpoint", "outcome", "empty"],
        &[],
    ),
    def(
        names::RETURNED_ITEMS,
        MetricKind::Histogram,
        "Items returned per successful request.",
        &["endpoint"],
        RETURNED_ITEMS_BUCKETS,
    ),
    def(
        names::WARNING_CODES_TOTAL,
        MetricKind::Counter,
        "Warnings returned by endpoint and code.",
        &["endpoint", "code"],
        &[],
    ),
    def(
        names::WARNINGS,
        MetricKind::Histogram,
        "Warnings per successful request.",
        &["endpoint"],
        WARNINGS_BUCKETS,
    ),
    def(
        names::SNAPSHOT_SWAPS_TOTAL,
        MetricKind::Counter,
        "Tenant snapshots installed (atomic swaps).",
        &[],
        &[],
    ),
    def(
        names::SYNC_LAG_SECONDS,
        MetricKind::Histogram,
        "Seconds from the write of a store change to this process serving it (fleet sync).",
        &[],
        LATENCY_BUCKETS,
    ),
];

/// The definition of a known metric.
pub fn definition(name: &str) -> Option<&'static MetricDef> {
    DEFINITIONS.iter().find(|d| d.name == name)
}

/// Request outcome (the reference's `outcome` label values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    /// The body is not valid JSON.
    InvalidRequest,
    /// The request is JSON but fails decoding or validation.
    ValidationFailed,
    /// Explain/trace guard, explain too large, or auth/scope refusal.
    Forbidden,
    Overload,
    ArtifactIncompatible,
    InternalError,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::InvalidRequest => "invalid_request",
            Outcome::ValidationFailed => "validation_failed",
            Outcome::Forbidden => "forbidden",
            Outcome::Overload => "overload",
            Outcome::ArtifactIncompatible => "artifact_incompatible",
            Outcome::InternalError => "internal_error",
        }
    }

    /// The outcome of an error: JSON syntax errors → `invalid_request`; request decoding and
    /// validation errors → `validation_failed`; `RECSYS_FORBIDDEN`, `RECSYS_EXPLAIN_TOO_LARGE`
    /// and auth/scope errors → `forbidden`; `RECSYS_OVERLOADED` → `overload`;
    /// `RECSYS_ARTIFACT_INCOMPATIBLE` → `artifact_incompatible`; other 4xx →
    /// `validation_failed`; everything else → `internal_error`.
    pub fn from_error(e: &ApiError) -> Outcome {
        let code = e.code();
        match code {
            "RECSYS_OVERLOADED" => Outcome::Overload,
            "RECSYS_ARTIFACT_INCOMPATIBLE" => Outcome::ArtifactIncompatible,
            "RECSYS_FORBIDDEN" | "RECSYS_EXPLAIN_TOO_LARGE" => Outcome::Forbidden,
            _ if code.starts_with("RECSYS_AUTH_") || code.starts_with("RECSYS_TENANT_SCOPE_") => {
                Outcome::Forbidden
            }
            _ if code.starts_with("RECSYS_JSON_") => Outcome::InvalidRequest,
            _ if (400..500).contains(&e.status) => Outcome::ValidationFailed,
            _ => Outcome::InternalError,
        }
    }
}

/// Records one finished `recommend` / `similar` request from its answer: the request counter
/// (`empty="true"` only for a success with no items) and, on success, the returned-items and
/// warnings histograms and one warning-code count per warning.
pub fn record_response(
    metrics: &dyn Metrics,
    endpoint: Endpoint,
    outcome: Outcome,
    response: &Value,
) {
    let root = response.as_object();
    let items = root
        .and_then(|m| m.get("items"))
        .and_then(Value::as_array)
        .map_or(0, <[Value]>::len);
    let warnings = root
        .and_then(|m| m.get("warnings"))
        .and_then(Value::as_array)
        .unwrap_or(&[]);
    let codes = warnings.iter().map(|w| {
        w.as_object()
            .and_then(|m| m.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN")
    });
    record_counts(metrics, endpoint, outcome, items, codes);
}

/// [`record_response`] from the answer's item count and warning codes (the typed answer's).
pub fn record_counts<'a>(
    metrics: &dyn Metrics,
    endpoint: Endpoint,
    outcome: Outcome,
    items: usize,
    warning_codes: impl ExactSizeIterator<Item = &'a str>,
) {
    let empty = outcome == Outcome::Success && items == 0;
    let ep = endpoint.as_str();
    metrics.counter(
        names::REQUESTS_TOTAL,
        &[
            ("endpoint", ep),
            ("outcome", outcome.as_str()),
            ("empty", if empty { "true" } else { "false" }),
        ],
        1,
    );
    if outcome != Outcome::Success {
        return;
    }
    metrics.histogram(names::RETURNED_ITEMS, &[("endpoint", ep)], items as f64);
    metrics.histogram(
        names::WARNINGS,
        &[("endpoint", ep)],
        warning_codes.len() as f64,
    );
    for code in warning_codes {
        metrics.counter(
            names::WARNING_CODES_TOTAL,
            &[("endpoint", ep), ("code", code)],
            1,
        );
    }
}

/// Records a failed request (outcome derived from the error).
pub fn record_error(metrics: &dyn Metrics, endpoint: Endpoint, error: &ApiError) -> Outcome {
    let outcome = Outcome::from_error(error);
    record_response(metrics, endpoint, outcome, &Value::Null);
    outcome
}

#[cfg(test)]
/// Records handler latency (measured by the host).
pub fn record_latency(metrics: &dyn Metrics, endpoint: Endpoint, outcome: Outcome, seconds: f64) {
    metrics.histogram(
        names::LATENCY_SECONDS,
        &[
            ("endpoint", endpoint.as_str()),
            ("outcome", outcome.as_str()),
        ],
        seconds,
    );
}

#[cfg(test)]
/// Records a cache lookup (`cache` = `tenant_config`, `tenant_rules`, ...).
pub fn record_cache(metrics: &dyn Metrics, cache: &str, hit: bool) {
    metrics.counter(
        names::CACHE_REQUESTS_TOTAL,
        &[
            ("cache", cache),
            ("result", if hit { "hit" } else { "miss" }),
        ],
        1,
    );
}

/// Records an artifact load failure (`kind` = `manifest`, `popularity`, `cooc`, ...).
pub fn record_artifact_failure(metrics: &dyn Metrics, kind: &str) {
    metrics.counter(names::ARTIFACT_LOAD_FAILURES_TOTAL, &[("kind", kind)], 1);
}

/// Records the last loaded manifest's age and number of artifacts.
pub fn record_manifest(metrics: &dyn Metrics, age_seconds: f64, artifacts: usize) {
    metrics.gauge(names::ARTIFACT_MANIFEST_AGE_SECONDS, &[], age_seconds);
    metrics.gauge(names::ARTIFACT_MANIFEST_ARTIFACTS, &[], artifacts as f64);
}

/// Records the age of the loaded artifact of one kind.
pub fn record_artifact_age(metrics: &dyn Metrics, kind: &str, age_seconds: f64) {
    metrics.gauge(names::ARTIFACT_AGE_SECONDS, &[("kind", kind)], age_seconds);
}

/// Records a snapshot swap.
pub fn record_snapshot_swap(metrics: &dyn Metrics) {
    metrics.counter(names::SNAPSHOT_SWAPS_TOTAL, &[], 1);
}

/// Records how long a store change took to be served by this process.
pub fn record_sync_lag(metrics: &dyn Metrics, seconds: f64) {
    metrics.histogram(names::SYNC_LAG_SECONDS, &[], seconds);
}

/// Records an exposure event handed (or not) to the sink.
pub fn record_exposure(metrics: &dyn Metrics, format: &str, ok: bool) {
    metrics.counter(
        names::EXPOSURE_EVENTS_TOTAL,
        &[
            ("format", format),
            ("result", if ok { "ok" } else { "error" }),
        ],
        1,
    );
}

type LabelSet = Vec<(String, String)>;

fn label_set(labels: &[(&str, &str)]) -> LabelSet {
    let mut v: LabelSet = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

#[derive(Clone, Debug, PartialEq)]
struct Hist {
    /// Non-cumulative counts per bucket (cumulated when rendered).
    counts: Vec<u64>,
    /// Observations above the last bound.
    overflow: u64,
    sum: f64,
}

#[derive(Clone, Debug, PartialEq)]
enum Family {
    Counter(BTreeMap<LabelSet, u64>),
    Gauge(BTreeMap<LabelSet, f64>),
    Histogram {
        buckets: Vec<f64>,
        series: BTreeMap<LabelSet, Hist>,
    },
}

impl Family {
    fn kind(&self) -> MetricKind {
        match self {
            Family::Counter(_) => MetricKind::Counter,
            Family::Gauge(_) => MetricKind::Gauge,
            Family::Histogram { .. } => MetricKind::Histogram,
        }
    }
}

/// An in-memory, deterministic (`BTreeMap`-ordered) [`Metrics`] implementation. A name keeps
/// the kind it was first recorded with (or its [`definition`]'s); calls of another kind for
/// that name are ignored. Histograms of unknown names use [`LATENCY_BUCKETS`].
#[derive(Debug, Default)]
pub struct MetricsRegistry {
    families: Mutex<BTreeMap<String, Family>>,
}

impl MetricsRegistry {
    #[cfg(test)]
    pub fn new() -> MetricsRegistry {
        MetricsRegistry::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Family>> {
        self.families.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn family<'a>(
        map: &'a mut BTreeMap<String, Family>,
        name: &str,
        kind: MetricKind,
    ) -> Option<&'a mut Family> {
        if let Some(d) = definition(name) {
            if d.kind != kind {
                return None;
            }
        }
        let fam = map.entry(name.to_string()).or_insert_with(|| match kind {
            MetricKind::Counter => Family::Counter(BTreeMap::new()),
            MetricKind::Gauge => Family::Gauge(BTreeMap::new()),
            MetricKind::Histogram => {
                let buckets = definition(name)
                    .map_or(LATENCY_BUCKETS, |d| d.buckets)
                    .to_vec();
                Family::Histogram {
                    buckets,
                    series: BTreeMap::new(),
                }
            }
        });
        (fam.kind() == kind).then_some(fam)
    }

    #[cfg(test)]
    /// The value of one counter series (0 when absent).
    pub fn counter_value(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.lock().get(name) {
            Some(Family::Counter(s)) => s.get(&label_set(labels)).copied().unwrap_or(0),
            _ => 0,
        }
    }

    #[cfg(test)]
    /// The sum of every series of a counter whose labels include all of `filter`.
    pub fn counter_sum(&self, name: &str, filter: &[(&str, &str)]) -> u64 {
        match self.lock().get(name) {
            Some(Family::Counter(s)) => s
                .iter()
                .filter(|(ls, _)| {
                    filter
                        .iter()
                        .all(|(k, v)| ls.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .map(|(_, v)| *v)
                .sum(),
            _ => 0,
        }
    }

    #[cfg(test)]
    pub fn gauge_value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.lock().get(name) {
            Some(Family::Gauge(s)) => s.get(&label_set(labels)).copied(),
            _ => None,
        }
    }

    #[cfg(test)]
    /// `(count, sum)` of one histogram series.
    pub fn histogram_value(&self, name: &str, labels: &[(&str, &str)]) -> Option<(u64, f64)> {
        match self.lock().get(name) {
            Some(Family::Histogram { series, .. }) => series
                .get(&label_set(labels))
                .map(|h| (h.counts.iter().sum::<u64>() + h.overflow, h.sum)),
            _ => None,
        }
    }

    #[cfg(test)]
    /// Empty-recommendation rate: successes with no items / successes (optionally for one
    /// endpoint); `None` before the first success.
    pub fn empty_rate(&self, endpoint: Option<Endpoint>) -> Option<f64> {
        let mut ok: Vec<(&str, &str)> = vec![("outcome", "success")];
        if let Some(e) = endpoint {
            ok.push(("endpoint", e.as_str()));
        }
        let successes = self.counter_sum(names::REQUESTS_TOTAL, &ok);
        if successes == 0 {
            return None;
        }
        ok.push(("empty", "true"));
        let empty = self.counter_sum(names::REQUESTS_TOTAL, &ok);
        Some(empty as f64 / successes as f64)
    }

    /// The Prometheus text exposition format (0.0.4): families by name, `# HELP` for known
    /// metrics, `# TYPE` always, series by label set, labels by name, histogram buckets
    /// cumulative with `le` last, then `_sum` and `_count`. Counters and counts are integers;
    /// other numbers use Go's shortest `%g` form (`0.005`, `1e+06`, `+Inf`, `NaN`).
    pub fn render_prometheus(&self) -> String {
        let map = self.lock();
        let mut out = String::new();
        for (name, fam) in map.iter() {
            if let Some(d) = definition(name) {
                let _ = writeln!(out, "# HELP {name} {}", escape_help(d.help));
            }
            let _ = writeln!(out, "# TYPE {name} {}", fam.kind().as_str());
            match fam {
                Family::Counter(series) => {
                    for (ls, v) in series {
                        let _ = writeln!(out, "{name}{} {v}", render_labels(ls, None));
                    }
                }
                Family::Gauge(series) => {
                    for (ls, v) in series {
                        let _ = writeln!(out, "{name}{} {}", render_labels(ls, None), go_float(*v));
                    }
                }
                Family::Histogram { buckets, series } => {
                    for (ls, h) in series {
                        let mut cum = 0u64;
                        for (b, c) in buckets.iter().zip(&h.counts) {
                            cum += c;
                            let le = go_float(*b);
                            let _ = writeln!(
                                out,
                                "{name}_bucket{} {cum}",
                                render_labels(ls, Some(&le))
                            );
                        }
                        let total = cum + h.overflow;
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {total}",
                            render_labels(ls, Some("+Inf"))
                        );
                        let _ = writeln!(
                            out,
                            "{name}_sum{} {}",
                            render_labels(ls, None),
                            go_float(h.sum)
                        );
                        let _ = writeln!(out, "{name}_count{} {total}", render_labels(ls, None));
                    }
                }
            }
        }
        out
    }
}

impl Metrics for MetricsRegistry {
    fn counter(&self, name: &str, labels: &[(&str, &str)], delta: u64) {
        let mut map = self.lock();
        if let Some(Family::Counter(s)) = Self::family(&mut map, name, MetricKind::Counter) {
            let slot = s.entry(label_set(labels)).or_insert(0);
            *slot = slot.saturating_add(delta);
        }
    }

    fn histogram(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        if !value.is_finite() {
            return;
        }
        let mut map = self.lock();
        if let Some(Family::Histogram { buckets, series }) =
            Self::family(&mut map, name, MetricKind::Histogram)
        {
            let h = series.entry(label_set(labels)).or_insert_with(|| Hist {
                counts: vec![0; buckets.len()],
                overflow: 0,
                sum: 0.0,
            });
            match buckets.iter().position(|b| value <= *b) {
                Some(i) => h.counts[i] += 1,
                None => h.overflow += 1,
            }
            h.sum += value;
        }
    }

    fn gauge(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        let mut map = self.lock();
        if let Some(Family::Gauge(s)) = Self::family(&mut map, name, MetricKind::Gauge) {
            s.insert(label_set(labels), value);
        }
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn render_labels(ls: &LabelSet, le: Option<&str>) -> String {
    if ls.is_empty() && le.is_none() {
        return String::new();
    }
    let mut out = String::from("{");
    let mut first = true;
    for (k, v) in ls
        .iter()
        .map(|(k, v)| (k.as_str(), escape_label_value(v)))
        .chain(le.map(|l| ("le", l.to_string())))
    {
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(out, "{k}=\"{v}\"");
    }
    out.push('}');
    out
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` with the Prometheus special values.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    // Shortest round-trip digits and the decimal exponent of the first digit.
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_g() {
        for (f, want) in [
            (0.005, "0.005"),
            (1.0, "1"),
            (2.5, "2.5"),
            (10.0, "10"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1e21, "1e+21"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    #[test]
    fn kinds_are_sticky() {
        let r = MetricsRegistry::new();
        r.counter("x_total", &[], 2);
        r.gauge("x_total", &[], 5.0);
        r.gauge(names::REQUESTS_TOTAL, &[], 1.0);
        assert_eq!(r.counter_value("x_total", &[]), 2);
        assert_eq!(r.gauge_value(names::REQUESTS_TOTAL, &[]), None);
    }
}
