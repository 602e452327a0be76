//! Preview: serves a set of requests against the current and the candidate documents of a
//! tenant (same artifacts), without publishing, and reports what the change does: per
//! request the items added, removed and moved with the rule or setting responsible, and
//! overall the empty-result rate before and after, overlap@k, and which rules fired.
//!
//! Requests come as request objects or as recorded exposure events that carry their request
//! (a `request` member). The candidate snapshot is compiled once; each request then costs two
//! ordinary `recommend` calls, so a preview is linear in the number of requests. Requests are
//! independent, so they are served in fixed-size chunks on up to four threads and the
//! chunks' totals added in request order (the answer does not depend on the thread count).

use crate::change::Proposal;
use crate::decode::Input as Members;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::json::{Map, Value};
use crate::lint::{SnapshotCatalog, TagSpace};
use crate::request::CallContext;
use crate::rules::{Action, Rule};
use crate::serve::answer::Recommendation;
use crate::serve::request::{Input, Request};
use crate::snapshot::TenantSnapshot;
use crate::time::Timestamp;
use crate::Engine;

mod report;
pub use report::{
    ChangeCause, ChangedRequest, FailedRequest, ItemChange, PreviewDetail, PreviewReport,
    PreviewVersions, RuleFired, ServedVersions,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Most requests one preview serves (checked before any is served).
pub const MAX_PREVIEW_REQUESTS: usize = 100_000;
/// Per-request diffs listed by default (every request is still counted in the summary).
pub const DEFAULT_MAX_DETAILS: usize = 1000;

fn bad(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

/// One served answer reduced to what a diff needs.
struct Served {
    /// (item id, ids of the rules its reasons name), in rank order.
    items: Vec<(String, BTreeSet<String>)>,
    config_version: Option<String>,
    rules_version: Option<String>,
}

/// Rule ids of one side, to turn reason tokens (`rule.pin[<id>]`) into document indexes.
struct RuleIds(HashMap<String, (usize, Action)>);

impl RuleIds {
    fn new(rules: &[Rule]) -> RuleIds {
        RuleIds(
            rules
                .iter()
                .map(|r| (r.id.to_string(), (r.index, r.action)))
                .collect(),
        )
    }
    fn of_reason(reason: &str) -> Option<String> {
        let rest = reason.strip_prefix("rule.")?;
        Some(rest.split_once('[')?.1.strip_suffix(']')?.to_string())
    }
    fn get(&self, id: &str) -> Option<(usize, Action)> {
        self.0.get(id).copied()
    }
}

fn served(answer: &Recommendation) -> Served {
    let items = answer
        .items
        .iter()
        .map(|it| {
            let rules = it
                .reasons
                .iter()
                .filter_map(|r| RuleIds::of_reason(r))
                .collect();
            (it.item_id.clone(), rules)
        })
        .collect();
    Served {
        items,
        config_version: answer.meta.config_version.clone(),
        rules_version: answer.meta.rules_version.clone(),
    }
}

/// The request with reasons on (attribution reads them; ranking does not change).
fn with_reasons(request: &Value) -> Value {
    let mut r = request.clone();
    if let Value::Object(m) = &mut r {
        let mut opts = match m.get("options") {
            Some(Value::Object(o)) => o.clone(),
            _ => Map::new(),
        };
        opts.insert("include_reasons", Value::Bool(true));
        m.insert("options", Value::Object(opts));
    }
    r
}

/// Everything one preview accumulates.
#[derive(Default)]
struct Totals {
    served: usize,
    failed: usize,
    empty_before: usize,
    empty_after: usize,
    overlap_sum: f64,
    changed: usize,
    /// Candidate rule index → requests it fired on (pin/boost in reasons, block removing an item).
    fired: BTreeMap<usize, u64>,
    details: Vec<PreviewDetail>,
    /// Most details this total keeps.
    detail_limit: usize,
}

struct Side<'a> {
    snap: &'a TenantSnapshot,
    ids: RuleIds,
}

struct Run<'a> {
    engine: &'a Engine,
    before: Side<'a>,
    after: Side<'a>,
    proposal: &'a Proposal,
    /// Candidate block rules, for removed items.
    blocks: Blocks<'a>,
    max_details: usize,
}

/// The candidate's block rules indexed by what they target (item id, or interned tag per
/// space), so the blocks that may remove an item are found from the item's id and tags, not
/// by checking every block for every removed item.
struct Blocks<'a> {
    /// Block rules in serving order (priority desc, stable).
    rules: Vec<&'a Rule>,
    by_item: HashMap<&'a str, Vec<usize>>,
    by_tag: HashMap<(TagSpace, u32), Vec<usize>>,
    catalog: SnapshotCatalog<'a>,
}

impl<'a> Blocks<'a> {
    fn new(candidate: &'a TenantSnapshot) -> Blocks<'a> {
        let catalog = SnapshotCatalog::new(candidate);
        let rules: Vec<&Rule> = candidate
            .rules
            .iter()
            .filter(|r| r.action == Action::Block)
            .collect();
        let (mut by_item, mut by_tag) = (HashMap::new(), HashMap::new());
        for (pos, b) in rules.iter().enumerate() {
            match crate::lint::rules_space(b.target_type) {
                None => {
                    for id in &b.item_ids {
                        by_item
                            .entry(id.as_str())
                            .or_insert_with(Vec::new)
                            .push(pos);
                    }
                }
                // A key no item carries matches nothing.
                Some(sp) => {
                    if let Some(t) = catalog.tag_of(&b.target_key) {
                        by_tag.entry((sp, t)).or_insert_with(Vec::new).push(pos);
                    }
                }
            }
        }
        Blocks {
            rules,
            by_item,
            by_tag,
            catalog,
        }
    }

    /// Document indexes of the blocks that apply to the request and target `item`, in
    /// serving order.
    fn removing(&self, item: &str, surface: &str, segment: &str, now: Timestamp) -> Vec<usize> {
        let mut hits: Vec<usize> = self.by_item.get(item).cloned().unwrap_or_default();
        if !self.by_tag.is_empty() {
            for (sp, tags) in self.catalog.item_tag_lists(item) {
                for t in tags {
                    hits.extend(self.by_tag.get(&(sp, *t)).into_iter().flatten());
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        hits.into_iter()
            .map(|p| self.rules[p])
            .filter(|b| b.applies(surface, segment, now))
            .map(|b| b.index)
            .collect()
    }
}

impl Run<'_> {
    fn serve(&self, side: &Side, req: &Value, ctx: &CallContext) -> Result<Served, ApiError> {
        let surface = req
            .as_object()
            .and_then(|m| m.get("surface"))
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("");
        let fell_back = !surface.is_empty() && surface != side.snap.surface;
        let (answer, _) = self.engine.serve_with::<crate::serve::Typed>(
            &Input::Recommend(Request::Json(req)),
            ctx,
            side.snap,
            fell_back,
            &mut Vec::new(),
        )?;
        Ok(served(&answer))
    }

    fn one(&self, i: usize, req: &Value, ctx: &CallContext, t: &mut Totals) {
        let req = with_reasons(req);
        let (before, after) = match (
            self.serve(&self.before, &req, ctx),
            self.serve(&self.after, &req, ctx),
        ) {
            (Ok(b), Ok(a)) => (b, a),
            (b, a) => {
                t.failed += 1;
                if t.details.len() < t.detail_limit {
                    t.details.push(PreviewDetail::Failed(FailedRequest {
                        index: i,
                        before_error: b.err(),
                        after_error: a.err(),
                    }));
                }
                return;
            }
        };
        t.served += 1;
        t.empty_before += usize::from(before.items.is_empty());
        t.empty_after += usize::from(after.items.is_empty());
        let k = before.items.len().max(after.items.len());
        let (pb, pa) = (positions(&before), positions(&after));
        let common = before
            .items
            .iter()
            .filter(|(id, _)| pa.contains_key(id.as_str()))
            .count();
        t.overlap_sum += if k == 0 {
            1.0
        } else {
            common as f64 / k as f64
        };
        let mut fired: BTreeSet<usize> = after
            .items
            .iter()
            .flat_map(|(_, r)| r.iter())
            .filter_map(|id| self.after.ids.get(id).map(|(i, _)| i))
            .collect();
        let (surface, segment) = surface_segment(&req);
        let fallback = |rb: &BTreeSet<String>, ra: &BTreeSet<String>| -> Vec<ChangeCause> {
            let mut c: Vec<ChangeCause> = ra
                .symmetric_difference(rb)
                .filter_map(|id| {
                    let candidate = ra.contains(id);
                    let ids = if candidate {
                        &self.after.ids
                    } else {
                        &self.before.ids
                    };
                    ids.get(id).map(|(rule, action)| ChangeCause::Rule {
                        rule,
                        action,
                        candidate,
                    })
                })
                .collect();
            if c.is_empty() {
                c.push(if self.proposal.config_changed {
                    ChangeCause::Setting("config")
                } else {
                    ChangeCause::Setting("displaced")
                });
            }
            c
        };
        // The diff: which items were added, removed (and by which candidate blocks: they
        // count as fired) or moved. The entries, with their causes, are built only for the
        // requests whose details are listed (for the others only whether the request
        // changed is counted).
        let keep = t.details.len() < t.detail_limit;
        let mut unlisted = false;
        let none = BTreeSet::new();
        let mut added = Vec::new();
        for (rank, (id, ra)) in after.items.iter().enumerate() {
            if !pb.contains_key(id.as_str()) {
                if !keep {
                    unlisted = true;
                    continue;
                }
                added.push(entry(id, None, Some(rank), fallback(&none, ra)));
            }
        }
        let mut removed = Vec::new();
        let mut moved = Vec::new();
        for (rank, (id, rb)) in before.items.iter().enumerate() {
            match pa.get(id.as_str()) {
                None => {
                    let blocks = self.blocks.removing(id, &surface, &segment, ctx.now);
                    fired.extend(blocks.iter().copied());
                    if !keep {
                        unlisted = true;
                        continue;
                    }
                    let cause = if blocks.is_empty() {
                        fallback(rb, &none)
                    } else {
                        blocks
                            .into_iter()
                            .map(|rule| ChangeCause::Rule {
                                rule,
                                action: Action::Block,
                                candidate: true,
                            })
                            .collect()
                    };
                    removed.push(entry(id, Some(rank), None, cause));
                }
                Some(&to) if to != rank => {
                    if !keep {
                        unlisted = true;
                        continue;
                    }
                    let ra = &after.items[to].1;
                    moved.push(entry(id, Some(rank), Some(to), fallback(rb, ra)));
                }
                _ => {}
            }
        }
        for r in fired {
            *t.fired.entry(r).or_insert(0) += 1;
        }
        if !unlisted && added.is_empty() && removed.is_empty() && moved.is_empty() {
            return;
        }
        t.changed += 1;
        if keep {
            t.details.push(PreviewDetail::Changed(ChangedRequest {
                index: i,
                request_id: (!ctx.request_id.is_empty()).then(|| ctx.request_id.clone()),
                before: versions(&before),
                after: versions(&after),
                added,
                removed,
                moved,
            }));
        }
    }
}

/// Rank of each item of an answer, by id.
fn positions(s: &Served) -> HashMap<&str, usize> {
    s.items
        .iter()
        .enumerate()
        .map(|(p, (id, _))| (id.as_str(), p))
        .collect()
}

fn surface_segment(req: &Value) -> (String, String) {
    let get = |k: &str| {
        req.as_object()
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    (get("surface"), get("segment"))
}

fn versions(s: &Served) -> ServedVersions {
    ServedVersions {
        config_version: s.config_version.clone(),
        rules_version: s.rules_version.clone(),
        items: s.items.len(),
    }
}

/// An item's change, ranks counted from 1.
fn entry(
    id: &str,
    from: Option<usize>,
    to: Option<usize>,
    because: Vec<ChangeCause>,
) -> ItemChange {
    ItemChange {
        item_id: id.to_string(),
        from_rank: from.map(|r| r + 1),
        to_rank: to.map(|r| r + 1),
        because,
    }
}

/// Proposed documents and recorded requests to preview ([`crate::engine::Admin::preview`]).
///
/// ```
/// use recsys_core::engine::PreviewRequest;
/// use recsys_core::{RecommendRequest, User};
///
/// let p = PreviewRequest::new()
///     .rules(r#"[{"action": "block", "item_ids": ["sku-1"]}]"#)
///     .request(&RecommendRequest::new("home", User::id("u1")).k(5))
///     .max_details(10);
/// assert_eq!(p.requests.as_ref().map(Vec::len), Some(1));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct PreviewRequest {
    /// The surface whose artifacts serve both sides (default: the tenant's first loaded one).
    pub surface: Option<String>,
    /// The candidate config: a string holds its JSON text, `null` removes it, another value
    /// is the document; `None` keeps the current one.
    pub config: Option<Value>,
    /// The candidate rules, as `config`.
    pub rules: Option<Value>,
    /// Request objects to serve.
    pub requests: Option<Vec<Value>>,
    /// Exposure events carrying their request (a `request` member; their `timestamp` is the
    /// request's `now`, their `request_id` the context's).
    pub exposures: Option<Vec<Value>>,
    /// Per-request diffs listed (default 1000).
    pub max_details: Option<usize>,
}

impl PreviewRequest {
    /// A preview that changes nothing yet (give it documents and requests).
    ///
    /// ```
    /// use recsys_core::engine::PreviewRequest;
    ///
    /// let p = PreviewRequest::new();
    /// assert!(p.config.is_none() && p.rules.is_none() && p.requests.is_none());
    /// ```
    pub fn new() -> PreviewRequest {
        PreviewRequest::default()
    }
    /// Previews this config document (its JSON text).
    ///
    /// ```
    /// use recsys_core::engine::PreviewRequest;
    /// use recsys_core::json::Value;
    ///
    /// assert_eq!(PreviewRequest::new().config("{}").config, Some(Value::str("{}")));
    /// ```
    pub fn config(mut self, text: impl Into<String>) -> PreviewRequest {
        self.config = Some(Value::String(text.into()));
        self
    }
    /// Previews this rules document (its JSON text).
    ///
    /// ```
    /// use recsys_core::engine::PreviewRequest;
    /// use recsys_core::json::Value;
    ///
    /// assert_eq!(PreviewRequest::new().rules("[]").rules, Some(Value::str("[]")));
    /// ```
    pub fn rules(mut self, text: impl Into<String>) -> PreviewRequest {
        self.rules = Some(Value::String(text.into()));
        self
    }
    /// Serves both sides on `surface`'s artifacts.
    ///
    /// ```
    /// use recsys_core::engine::PreviewRequest;
    ///
    /// assert_eq!(PreviewRequest::new().surface("pdp").surface.as_deref(), Some("pdp"));
    /// ```
    pub fn surface(mut self, surface: impl Into<String>) -> PreviewRequest {
        self.surface = Some(surface.into());
        self
    }
    /// Adds a request to serve.
    ///
    /// ```
    /// use recsys_core::engine::PreviewRequest;
    /// use recsys_core::{RecommendRequest, User};
    ///
    /// let p = PreviewRequest::new().request(&RecommendRequest::new("home", User::id("u1")));
    /// let text = recsys_core::json::to_string(&p.requests.unwrap()[0]);
    /// assert!(text.contains(r#""surface":"home""#), "{text}");
    /// ```
    pub fn request(self, request: &crate::request::RecommendRequest) -> PreviewRequest {
        self.request_json(request.to_value())
    }
    /// Adds a request given as JSON (served as `recommend` would serve it, errors counted).
    ///
    /// ```
    /// use recsys_core::engine::PreviewRequest;
    ///
    /// let req = recsys_core::json::parse(br#"{"surface": "home", "user": {"user_id": "u1"}}"#).unwrap();
    /// assert_eq!(PreviewRequest::new().request_json(req).requests.map(|r| r.len()), Some(1));
    /// ```
    pub fn request_json(mut self, request: Value) -> PreviewRequest {
        self.requests.get_or_insert_with(Vec::new).push(request);
        self
    }
    /// Adds a recorded exposure event that carries its request.
    ///
    /// ```
    /// use recsys_core::engine::PreviewRequest;
    ///
    /// let event = recsys_core::json::parse(br#"{"timestamp": "2026-01-02T00:00:00Z",
    ///     "request": {"surface": "home", "user": {"user_id": "u1"}}}"#).unwrap();
    /// assert_eq!(PreviewRequest::new().exposure(event).exposures.map(|e| e.len()), Some(1));
    /// ```
    pub fn exposure(mut self, event: Value) -> PreviewRequest {
        self.exposures.get_or_insert_with(Vec::new).push(event);
        self
    }
    /// Lists at most `n` per-request diffs.
    ///
    /// ```
    /// use recsys_core::engine::PreviewRequest;
    ///
    /// assert_eq!(PreviewRequest::new().max_details(5).max_details, Some(5));
    /// ```
    pub fn max_details(mut self, n: usize) -> PreviewRequest {
        self.max_details = Some(n);
        self
    }
}

/// Reads `admin.preview`'s `{"tenant", "surface"?, "config"?, "rules"?, "requests"?,
/// "exposures"?, "max_details"?}` (the tenant is returned untrimmed).
pub(crate) fn decode_preview(m: &Map) -> Result<(&str, PreviewRequest), ApiError> {
    let allowed = [
        "tenant",
        "surface",
        "config",
        "rules",
        "requests",
        "exposures",
        "max_details",
    ];
    let mut i = Members::of(m, &allowed);
    let tenant = i.tenant();
    let list = |i: &mut Members<'_>, k: &str| match i.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(a.clone()),
        Some(v) => {
            i.problem(k, format!("{k} must be an array, got {}", v.type_name()));
            None
        }
    };
    let r = PreviewRequest {
        surface: i.str("surface").map(str::to_owned),
        config: i.get("config").cloned(),
        rules: i.get("rules").cloned(),
        requests: list(&mut i, "requests"),
        exposures: list(&mut i, "exposures"),
        max_details: i
            .int("max_details")
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    };
    i.done()?;
    Ok((tenant, r))
}

/// The requests to preview, each with its `now` and request id: the `requests` entries,
/// then the exposure events' `request` members.
fn requests_of(
    r: &PreviewRequest,
    now: Timestamp,
) -> Result<Vec<(&Value, Timestamp, String)>, ApiError> {
    let (reqs, events) = (r.requests.as_deref(), r.exposures.as_deref());
    let n = reqs.map_or(0, <[Value]>::len) + events.map_or(0, <[Value]>::len);
    if n > MAX_PREVIEW_REQUESTS {
        return Err(bad(format!(
            "a preview serves at most {MAX_PREVIEW_REQUESTS} requests, got {n}"
        )));
    }
    if reqs.is_none() && events.is_none() {
        return Err(bad("give \"requests\" (request objects) or \"exposures\" (exposure events with a \"request\" member)".into()));
    }
    let mut out = Vec::with_capacity(n);
    for r in reqs.unwrap_or(&[]) {
        out.push((r, now, String::new()));
    }
    for (i, e) in events.unwrap_or(&[]).iter().enumerate() {
        let em = e.as_object();
        let req = em.and_then(|x| x.get("request")).ok_or_else(|| {
            bad(format!("exposure event {i} has no \"request\" member; record exposures with the request (exposure option include_request)"))
        })?;
        let at = em
            .and_then(|x| x.get("timestamp"))
            .and_then(Value::as_str)
            .and_then(Timestamp::parse_rfc3339)
            .unwrap_or(now);
        let id = em
            .and_then(|x| x.get("request_id"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        out.push((req, at, id));
    }
    Ok(out)
}

impl Engine {
    /// Runs a JSON preview input (`admin.preview`'s request) with no
    /// access check: for hosts and the CLI, which own their authorization.
    ///
    /// ```
    /// use recsys_core::json::parse;
    /// use recsys_core::{Documents, Engine, Timestamp};
    ///
    /// let engine = Engine::builder().build()?;
    /// engine.load_snapshot(Documents::new("demo", "home")
    ///     .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#))?;
    /// let input = parse(br#"{"tenant": "demo", "rules": "[{\"action\": \"block\", \"item_ids\": [\"a\"]}]",
    ///     "requests": [{"surface": "home", "k": 2, "user": {"user_id": "u1"}}]}"#).unwrap();
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let report = engine.preview(input.as_object().unwrap(), now)?;
    /// let text = recsys_core::json::to_string(&report);
    /// assert!(text.contains(r#""changed":1"#), "{text}");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn preview(&self, m: &Map, now: Timestamp) -> Result<Value, ApiError> {
        let (tenant, req) = decode_preview(m)?;
        Ok(self.preview_typed(tenant, &req, now)?.to_value())
    }

    /// Runs a preview for `tenant` (no access check; see the module documentation).
    pub(crate) fn preview_typed(
        &self,
        tenant: &str,
        req: &PreviewRequest,
        now: Timestamp,
    ) -> Result<PreviewReport, ApiError> {
        let mut input = Map::new();
        input.push("tenant", Value::str(tenant));
        if let Some(s) = &req.surface {
            input.push("surface", Value::str(s));
        }
        for (k, doc) in [("config", &req.config), ("rules", &req.rules)] {
            if let Some(v) = doc {
                input.push(k, v.clone());
            }
        }
        let p = Proposal::from_input(self, &input)?;
        let requests = requests_of(req, now)?;
        let max_details = req.max_details.unwrap_or(DEFAULT_MAX_DETAILS);
        let Some((_, current)) = &p.loaded else {
            return Err(ApiError::new(
                ErrorCode::SnapshotNotFound,
                format!(
                    "no snapshot is loaded for tenant {:?} surface {:?}",
                    p.tenant, p.surface
                ),
            ));
        };
        let candidate = p
            .candidate_snapshot()
            .ok_or_else(|| bad("no candidate".into()))?;
        let run = Run {
            engine: self,
            before: Side {
                snap: current,
                ids: RuleIds::new(&p.current.rules),
            },
            after: Side {
                snap: &candidate,
                ids: RuleIds::new(&p.candidate.rules),
            },
            proposal: &p,
            blocks: Blocks::new(&candidate),
            max_details,
        };
        let t = run.all(&requests, &p.tenant);
        Ok(report(&p, &candidate, t, requests.len()))
    }
}

/// Requests per unit of preview work. Fixed (not derived from the thread count), so the
/// summary's sums are added in the same order on every machine: same input, same bytes.
pub const PREVIEW_CHUNK: usize = 256;

/// Threads a preview serves on: the machine's parallelism, at most 4 (one on WASM, which has
/// no threads).
fn preview_threads(chunks: usize) -> usize {
    if cfg!(target_arch = "wasm32") {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(chunks)
}

impl Totals {
    /// Adds a later chunk's totals (details stay in request order, at most `max_details`).
    fn merge(&mut self, o: Totals, max_details: usize) {
        self.served += o.served;
        self.failed += o.failed;
        self.empty_before += o.empty_before;
        self.empty_after += o.empty_after;
        self.overlap_sum += o.overlap_sum;
        self.changed += o.changed;
        for (r, c) in o.fired {
            *self.fired.entry(r).or_insert(0) += c;
        }
        let room = max_details.saturating_sub(self.details.len());
        self.details.extend(o.details.into_iter().take(room));
    }
}

/// Chunks served but not yet added to the total (a later chunk can finish first), and the
/// total of every chunk before `next`.
struct Merge {
    next: usize,
    done: BTreeMap<usize, Totals>,
    total: Totals,
}

impl Run<'_> {
    /// Serves every request, in chunks of [`PREVIEW_CHUNK`] taken in order by
    /// [`preview_threads`] workers from one counter (each request is independent: two reads
    /// of immutable snapshots), and adds the chunks' totals up in request order as the
    /// prefix completes. No worker waits for another's chunk, and a chunk keeps only as
    /// many details as may still be listed when it starts.
    fn all(&self, requests: &[(&Value, Timestamp, String)], tenant: &str) -> Totals {
        let chunks: Vec<&[(&Value, Timestamp, String)]> = requests.chunks(PREVIEW_CHUNK).collect();
        let chunk = |c: usize, detail_limit: usize| -> Totals {
            let mut t = Totals {
                detail_limit,
                ..Totals::default()
            };
            for (j, (req, at, id)) in chunks[c].iter().enumerate() {
                let ctx = CallContext::new(*at, tenant).request_id(id.clone());
                self.one(c * PREVIEW_CHUNK + j, req, &ctx, &mut t);
            }
            t
        };
        let max = self.max_details;
        let merge = std::sync::Mutex::new(Merge {
            next: 0,
            done: BTreeMap::new(),
            total: Totals {
                detail_limit: max,
                ..Totals::default()
            },
        });
        let lock = || merge.lock().unwrap_or_else(|p| p.into_inner());
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || loop {
            let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if c >= chunks.len() {
                break;
            }
            // The room left now bounds the room left when this chunk is added (it only
            // shrinks), so the details listed do not depend on the timing.
            let limit = max.saturating_sub(lock().total.details.len());
            let t = chunk(c, limit);
            let mut m = lock();
            m.done.insert(c, t);
            loop {
                let at = m.next;
                let Some(t) = m.done.remove(&at) else { break };
                m.total.merge(t, max);
                m.next += 1;
            }
        };
        let threads = preview_threads(chunks.len());
        if threads <= 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 1..threads {
                    s.spawn(work);
                }
                work();
            });
        }
        merge.into_inner().unwrap_or_else(|p| p.into_inner()).total
    }
}

fn rate(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 / of as f64
    }
}

fn report(p: &Proposal, candidate: &TenantSnapshot, t: Totals, n: usize) -> PreviewReport {
    let mut never: Vec<usize> = candidate
        .rules
        .iter()
        .map(|r| r.index)
        .filter(|i| !t.fired.contains_key(i))
        .collect();
    never.sort_unstable();
    PreviewReport {
        tenant: p.tenant.clone(),
        surface: p.surface.clone(),
        before: PreviewVersions::of(&p.current),
        after: PreviewVersions::of(&p.candidate),
        requests: n,
        served: t.served,
        failed: t.failed,
        changed: t.changed,
        empty_rate_before: rate(t.empty_before, t.served),
        empty_rate_after: rate(t.empty_after, t.served),
        overlap_at_k: if t.served == 0 {
            1.0
        } else {
            t.overlap_sum / t.served as f64
        },
        rules_fired: t
            .fired
            .iter()
            .map(|(&rule, &requests)| RuleFired { rule, requests })
            .collect(),
        rules_never_fired: never,
        details: t.details,
    }
}

#[cfg(test)]
mod tests {
    use super::Blocks;
    use crate::compile::TenantDocs;
    use crate::lint::{CatalogView, SnapshotCatalog};
    use crate::snapshot::{SignalData, TenantSnapshot};
    use crate::time::Timestamp;

    /// The indexed lookup finds exactly the blocks a check of every block finds, in the
    /// same order, for every item, scope and time.
    #[test]
    fn indexed_blocks_equal_a_scan_of_every_block() {
        let tags = [
            "brand:acme",
            "brand:zeta",
            "category:shoes",
            "cat:bags",
            "sale",
            "new",
        ];
        let items: Vec<(String, Vec<String>)> = (0..60)
            .map(|i| {
                let t = (0..tags.len())
                    .filter(|j| (i + j) % 3 == 0 || (i * j) % 7 == 1)
                    .map(|j| tags[j].to_string())
                    .collect();
                (format!("i{i:02}"), t)
            })
            .collect();
        let mut rules = Vec::new();
        for i in 0..40 {
            let scope = match i % 4 {
                0 => String::new(),
                1 => r#","surface":"home""#.to_string(),
                2 => r#","segment":"vip""#.to_string(),
                _ => r#","valid_until":"2026-01-01T12:00:00Z""#.to_string(),
            };
            let target = match i % 5 {
                0 => format!(r#""item_ids":["i{:02}","i{:02}","nope"]"#, i, (i * 7) % 60),
                1 => format!(r#""tag":"{}""#, tags[i % tags.len()]),
                2 => r#""target_type":"brand","target_key":"acme""#.to_string(),
                3 => r#""target_type":"category","target_key":"SHOES""#.to_string(),
                _ => r#""tag":"unknown-tag""#.to_string(),
            };
            let action = if i % 6 == 5 {
                "boost\",\"boost_value\":\"1"
            } else {
                "block"
            };
            rules.push(format!(
                r#"{{"action":"{action}",{target},"priority":{}{scope}}}"#,
                i % 3
            ));
        }
        let doc = crate::json::parse(format!("[{}]", rules.join(",")).as_bytes()).unwrap();
        let docs = TenantDocs::new("t", None, Some(&doc)).unwrap();
        assert!(docs.rules_dropped.is_empty(), "{:?}", docs.rules_dropped);
        let data = SignalData {
            content: Some(items.clone()),
            ..SignalData::default()
        };
        let snap = TenantSnapshot::compile(
            "t",
            "home",
            &docs.config,
            docs.rules.to_vec(),
            data,
            Default::default(),
        );
        let blocks = Blocks::new(&snap);
        let catalog = SnapshotCatalog::new(&snap);
        let scan = |item: &str, surface: &str, segment: &str, now: Timestamp| -> Vec<usize> {
            blocks
                .rules
                .iter()
                .filter(|b| b.applies(surface, segment, now))
                .filter(|b| match crate::lint::rules_space(b.target_type) {
                    None => b.item_ids.iter().any(|i| i == item),
                    Some(sp) => catalog.item_matches(item, sp, &b.target_key),
                })
                .map(|b| b.index)
                .collect()
        };
        let mut found = 0;
        for now in ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"] {
            let now = Timestamp::parse_rfc3339(now).unwrap();
            for (surface, segment) in [("home", ""), ("pdp", "vip"), ("home", "vip")] {
                for item in items.iter().map(|(i, _)| i.as_str()).chain(["nope", "zz"]) {
                    let want = scan(item, surface, segment, now);
                    found += want.len();
                    assert_eq!(blocks.removing(item, surface, segment, now), want, "{item}");
                }
            }
        }
        assert!(found > 100, "the fixture exercises the blocks ({found})");
    }
}
