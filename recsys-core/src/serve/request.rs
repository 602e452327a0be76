//! Requests as they enter the pipeline. A typed request (built with the builders here) is
//! checked against the serving surface's limits; a JSON request is decoded against them by
//! the strict decoder in [`crate::request`]. Either way the pipeline gets a normalised
//! request and the warnings to answer with.

use crate::config::{Limits, Weights, MAX_WEIGHT};
use crate::decode::direct::DirectRequest;
use crate::error::{ApiError, Problem};
use crate::json::node::{Members as _, Node, Tree};
use crate::json::Value;
use crate::ops::Endpoint;
use crate::probe::{Probe, Slot};
use crate::request::{
    is_path_safe, normalize_tag, normalized_tag, Constraints, DistinctIds, Experiment, Explain,
    Options, RecommendRequest, SimilarRequest, User, Warning, INVALID_REQUEST, UNPROCESSABLE,
};
use crate::snapshot::ItemIdx;
use std::borrow::Cow;

/// The candidate id lists a request's decoder hands back apart from it.
pub(crate) type CandidateIds<S> = (Vec<S>, Vec<S>);

/// What a decoded candidate id list holds (`S` of [`CandidateIds`]): owned copies, made
/// distinct by the decoder, or slices of the call's text, whose repeats the decoder leaves
/// for [`IdList::resolved`] to drop by item after the catalog lookup (it drops them itself
/// only from a list longer than its limit, which counts distinct ids).
pub(crate) trait ListId<'t>: From<&'t str> + AsRef<str> + Sized {
    /// The decoder leaves repeats in.
    const REPEATS_LEFT: bool;
    /// `ids` without repeats, first occurrences in order.
    fn distinct(ids: Vec<Self>) -> Vec<Self>;
}

impl ListId<'_> for String {
    const REPEATS_LEFT: bool = false;
    fn distinct(ids: Vec<String>) -> Vec<String> {
        // Decoded distinct.
        ids
    }
}

impl<'t> ListId<'t> for &'t str {
    const REPEATS_LEFT: bool = true;
    fn distinct(ids: Vec<&'t str>) -> Vec<&'t str> {
        let mut out = Vec::with_capacity(ids.len());
        let mut seen = DistinctIds::with_capacity(ids.len());
        for id in ids {
            seen.push(&mut out, id, |s| s);
        }
        out
    }
}

/// A request of one kind: typed, or JSON still to decode (an owned tree, or a tree borrowing
/// the call's text).
pub(crate) enum Request<'r, T> {
    Typed(&'r T),
    Json(&'r Value),
    Text(&'r Node<'r>),
    /// A tree borrowing the call's text, decoded with its candidate id lists left as slices
    /// of the text ([`Resolved`]): for a call answered as text, where nothing after the
    /// decision reads the typed request's own lists (no exposure event is made from it).
    TextIds(&'r Node<'r>),
    /// A `recommend` request read straight from the call's text
    /// ([`crate::decode::direct`]), its candidate id lists slices of the text as with
    /// [`Request::TextIds`].
    Direct(&'r DirectRequest<'r>),
}

/// A request's `include_ids` or `exclude_ids` as the pipeline reads them: the typed
/// request's own strings, slices of the call's input text, or (after [`IdList::resolved`])
/// the distinct ones of those slices.
#[derive(Clone, Debug)]
pub(crate) enum IdList<'r> {
    Owned(&'r [String]),
    /// Slices of the call's text, as the decoder left them: repeats included unless the list
    /// was over its limit ([`ListId`]).
    Borrowed(&'r [&'r str]),
    /// The distinct ids of a borrowed list that had repeats, first occurrences in order.
    Kept(Vec<&'r str>),
}

impl<'r> IdList<'r> {
    /// How many ids there are.
    pub fn len(&self) -> usize {
        match self {
            IdList::Owned(ids) => ids.len(),
            IdList::Borrowed(ids) => ids.len(),
            IdList::Kept(ids) => ids.len(),
        }
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The ids, in request order (one slice walked, not a match an id).
    pub fn iter(&self) -> impl Iterator<Item = &'r str> + '_ {
        let (owned, borrowed): (&'r [String], &[&'r str]) = match self {
            IdList::Owned(ids) => (ids, &[]),
            IdList::Borrowed(ids) => (&[], ids),
            IdList::Kept(ids) => (&[], ids),
        };
        owned
            .iter()
            .map(String::as_str)
            .chain(borrowed.iter().copied())
    }
    /// The ids resolved against the catalog, in order (one batched lookup).
    pub fn lookup(&self, snap: &crate::snapshot::TenantSnapshot) -> Vec<Option<ItemIdx>> {
        let mut out = Vec::new();
        match self {
            IdList::Owned(ids) => snap.items.get_many(ids, &mut out),
            IdList::Borrowed(ids) => snap.items.get_many(ids, &mut out),
            IdList::Kept(ids) => snap.items.get_many(ids, &mut out),
        }
        out
    }
    /// The distinct ids (first occurrences, in order) and each one's item, from one batched
    /// lookup. Owned lists were made distinct by their decoder or builder; a borrowed list
    /// may still hold repeats, dropped here after the lookup: by item for the ids the
    /// catalog knows (a probe of a small table of item indexes, no string hashed), by string
    /// for the others. A list without repeats is not copied.
    pub fn resolved(
        self,
        snap: &crate::snapshot::TenantSnapshot,
    ) -> (IdList<'r>, Vec<Option<ItemIdx>>) {
        if self.is_empty() {
            // Most requests have no lists: nothing to look up.
            return (self, Vec::new());
        }
        let items = self.lookup(snap);
        let IdList::Borrowed(ids) = self else {
            return (self, items);
        };
        if ids.len() < 2 {
            // No repeats possible (most requests have no lists at all).
            return (self, items);
        }
        match first_occurrences(ids, &items) {
            None => (IdList::Borrowed(ids), items),
            Some(keep) => {
                let (ids, items) = keep.into_iter().map(|i| (ids[i], items[i])).unzip();
                (IdList::Kept(ids), items)
            }
        }
    }
}

/// A slot of the item set [`first_occurrences`] keeps: an item index plus one (0: free).
#[derive(Clone, Copy, Default)]
struct ItemSlot(u32);

impl Slot for ItemSlot {
    #[inline]
    fn is_free(&self) -> bool {
        self.0 == 0
    }
}

/// The positions of the first occurrences in `ids` (looked up as `items`), or `None` when
/// every id occurs once. Known ids are told apart by item (the interner gives equal ids one
/// item and distinct ids distinct items), unknown ones by string.
fn first_occurrences(ids: &[&str], items: &[Option<ItemIdx>]) -> Option<Vec<usize>> {
    // At most half full: sized once for every id.
    let mut known = Probe::<ItemSlot>::with_slots((ids.len() * 2).max(8).next_power_of_two());
    let (mut unknown, mut unknown_seen) = (Vec::new(), None::<DistinctIds>);
    let mut keep: Option<Vec<usize>> = None;
    for (i, (&id, &item)) in ids.iter().zip(items).enumerate() {
        let first = match item {
            Some(idx) => {
                let key = idx.wrapping_add(1);
                // Fibonacci hashing: the table's home slot is the product's high bits.
                let (slot, found) = known
                    .find(u64::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15), |s| {
                        s.0 == key
                    });
                if !found {
                    known.take(slot, ItemSlot(key));
                }
                !found
            }
            None => {
                let seen = unknown_seen.get_or_insert_with(|| DistinctIds::with_capacity(8));
                let before = unknown.len();
                seen.push(&mut unknown, id, |s| s);
                unknown.len() > before
            }
        };
        match (&mut keep, first) {
            (Some(keep), true) => keep.push(i),
            (None, false) => keep = Some((0..i).collect()),
            _ => {}
        }
    }
    keep
}

/// A request resolved for the pipeline: the normalised request (borrowed when it was typed),
/// and, when it was decoded from [`Request::TextIds`], its candidate id lists as slices of
/// the input text, the request's own lists then being empty. Read the lists through
/// [`Resolved::include_ids`] and [`Resolved::exclude_ids`]; [`Resolved::into_owned`] gives
/// the whole request back.
pub(crate) struct Resolved<'r, T: Clone> {
    req: Cow<'r, T>,
    ids: Option<CandidateIds<&'r str>>,
}

impl<T: Clone> std::ops::Deref for Resolved<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.req
    }
}

impl<'r, T: Servable> Resolved<'r, T> {
    /// `candidates.include_ids`.
    pub fn include_ids(&self) -> IdList<'_> {
        match &self.ids {
            Some((include, _)) => IdList::Borrowed(include),
            None => IdList::Owned(self.req.candidate_ids().0),
        }
    }
    /// `candidates.exclude_ids`.
    pub fn exclude_ids(&self) -> IdList<'_> {
        match &self.ids {
            Some((_, exclude)) => IdList::Borrowed(exclude),
            None => IdList::Owned(self.req.candidate_ids().1),
        }
    }
    /// The whole request, owned (borrowed id lists copied into it).
    pub fn into_owned(self) -> T {
        let mut req = self.req.into_owned();
        if let Some((include, exclude)) = self.ids {
            // The decoder left their repeats in.
            let own = |ids: Vec<&str>| {
                let ids = <&str as ListId>::distinct(ids);
                ids.into_iter().map(str::to_owned).collect()
            };
            req.set_candidate_ids(own(include), own(exclude));
        }
        req
    }
}

/// A JSON tree a request can arrive as.
pub(crate) trait JsonTree: Tree {
    /// This value as a request still to decode; `text`: the answer is written as text, so
    /// the request's candidate id lists may be read from the tree ([`Request::TextIds`]).
    fn request<T>(&self, text: bool) -> Request<'_, T>;
}

impl JsonTree for Value {
    fn request<T>(&self, _: bool) -> Request<'_, T> {
        Request::Json(self)
    }
}

impl JsonTree for Node<'_> {
    fn request<T>(&self, text: bool) -> Request<'_, T> {
        match text {
            true => Request::TextIds(self),
            false => Request::Text(self),
        }
    }
}

/// A serving request (`recommend` or `similar`).
pub(crate) enum Input<'r> {
    Recommend(Request<'r, RecommendRequest>),
    Similar(Request<'r, SimilarRequest>),
}

impl<'r> Input<'r> {
    pub fn recommend(r: &'r RecommendRequest) -> Input<'r> {
        Input::Recommend(Request::Typed(r))
    }
    pub fn similar(r: &'r SimilarRequest) -> Input<'r> {
        Input::Similar(Request::Typed(r))
    }
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Input::Recommend(_) => Endpoint::Recommend,
            Input::Similar(_) => Endpoint::Similar,
        }
    }
    /// The surface the request names (trimmed), before any validation (borrowed from the
    /// request).
    pub fn surface(&self) -> Cow<'_, str> {
        match self {
            Input::Recommend(r) => r.surface(),
            Input::Similar(r) => r.surface(),
        }
    }
    /// The request's own errors against the default limits (reported before a missing
    /// snapshot).
    pub fn precheck(&self) -> Result<(), ApiError> {
        match self {
            Input::Recommend(r) => r.resolve(&Limits::default()).map(|_| ()),
            Input::Similar(r) => r.resolve(&Limits::default()).map(|_| ()),
        }
    }
}

/// What both request kinds offer the pipeline's entry.
pub(crate) trait Servable: Clone {
    /// Strict decoding against the surface's limits (with `DEFAULT_APPLIED` warnings).
    fn decode<J: Tree>(v: &J, limits: &Limits) -> Result<(Self, Vec<Warning>), ApiError>;
    /// [`Servable::decode`] with the candidate id lists left in the tree (the request's own
    /// lists empty).
    fn decode_apart<'t, J: Tree>(
        v: &'t J,
        limits: &Limits,
    ) -> Result<(Self, CandidateIds<&'t str>, Vec<Warning>), ApiError>;
    /// A request read straight from the call's text, normalised against `limits` as
    /// [`Servable::decode_apart`] would; `None` when the tree decoder is to decode it (a
    /// check against `limits` failed, or the kind is not read directly).
    fn direct<'t>(
        d: &DirectRequest<'t>,
        limits: &Limits,
    ) -> Option<(Self, CandidateIds<&'t str>, Vec<Warning>)> {
        let _ = (d, limits);
        None
    }
    /// The request's own `include_ids` and `exclude_ids`.
    fn candidate_ids(&self) -> (&[String], &[String]);
    /// Sets the request's own `include_ids` and `exclude_ids`.
    fn set_candidate_ids(&mut self, include: Vec<String>, exclude: Vec<String>);
    /// Problems of a typed request against the surface's limits.
    fn problems(&self, limits: &Limits, p: &mut Problems);
    fn surface(&self) -> &str;
}

impl<'r, T: Servable> Request<'r, T> {
    /// The surface the request names (trimmed), before any validation (borrowed from the
    /// request).
    pub fn surface(&self) -> Cow<'r, str> {
        Cow::Borrowed(match self {
            Request::Typed(r) => r.surface().trim(),
            Request::Json(v) => peek_surface(*v),
            Request::Text(v) | Request::TextIds(v) => peek_surface(*v),
            Request::Direct(d) => d.surface(),
        })
    }
    /// The normalised request and its warnings, or every problem found.
    pub fn resolve(&self, limits: &Limits) -> Result<(Resolved<'r, T>, Vec<Warning>), ApiError> {
        let owned = |(req, w)| {
            let req = Resolved {
                req: Cow::Owned(req),
                ids: None,
            };
            (req, w)
        };
        let borrowed = |(req, ids, w)| {
            let req = Resolved {
                req: Cow::Owned(req),
                ids: Some(ids),
            };
            (req, w)
        };
        match self {
            Request::Typed(r) => {
                let mut p = Problems::default();
                r.problems(limits, &mut p);
                let req = Resolved {
                    req: Cow::Borrowed(*r),
                    ids: None,
                };
                p.finish().map(|_| (req, Vec::new()))
            }
            Request::Json(v) => T::decode(*v, limits).map(owned),
            Request::Text(v) => T::decode(*v, limits).map(owned),
            Request::TextIds(v) => T::decode_apart(*v, limits).map(borrowed),
            Request::Direct(d) => match T::direct(d, limits) {
                Some(decoded) => Ok(borrowed(decoded)),
                // A check against `limits` failed: the tree decoder says what (the request's
                // text was read as valid JSON within the parser's limits).
                None => {
                    let v = crate::json::node::parse_node(
                        d.text.as_bytes(),
                        crate::json::Limits::default(),
                    )?;
                    T::decode(&v, limits).map(owned)
                }
            },
        }
    }
}

fn peek_surface<J: Tree>(request: &J) -> &str {
    request
        .as_obj()
        .and_then(|m| {
            m.iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("surface"))
                .last()
                .map(|(_, v)| v)
        })
        .and_then(J::as_str)
        .map_or("", str::trim)
}

/// Problems found in a typed request: 400 for malformed values, 422 for unacceptable ones;
/// the first decides the answer's code, as in the JSON decoder.
#[derive(Default)]
pub(crate) struct Problems(Vec<(u16, Problem)>);

impl Problems {
    fn bad(&mut self, path: &str, message: String) {
        self.0
            .push((400, Problem::new(path, INVALID_REQUEST, message)));
    }
    fn unprocessable(&mut self, path: &str, message: String) {
        self.0
            .push((422, Problem::new(path, UNPROCESSABLE, message)));
    }
    fn finish(self) -> Result<(), ApiError> {
        let Some((status, first)) = self.0.first() else {
            return Ok(());
        };
        let code = if *status == 400 {
            crate::error::ErrorCode::InvalidRequest
        } else {
            crate::error::ErrorCode::UnprocessableEntity
        };
        Err(ApiError::new(code, first.message.clone())
            .with_problems(self.0.into_iter().map(|(_, p)| p).collect()))
    }
    fn surface_segment(&mut self, surface: &str, segment: &str) {
        if surface.trim().is_empty() {
            self.bad("$.surface", "surface is required".into());
        } else if !is_path_safe(surface) || surface.trim() != surface {
            self.bad(
                "$.surface",
                format!("surface contains invalid path segment: {surface:?}"),
            );
        }
        if !is_path_safe(segment) || segment.trim() != segment {
            self.bad(
                "$.segment",
                format!("segment contains invalid path segment: {segment:?}"),
            );
        }
    }
    fn k(&mut self, k: u32, limits: &Limits) {
        if k < 1 || k > limits.max_k {
            self.bad(
                "$.k",
                format!("k must be between 1 and {}, got {k}", limits.max_k),
            );
        }
    }
    fn candidates(&mut self, include: &[String], exclude: &[String], limits: &Limits) {
        for (name, ids, max) in [
            ("include_ids", include, limits.max_include_ids),
            ("exclude_ids", exclude, limits.max_exclude_ids),
        ] {
            if ids.len() > max {
                self.bad(
                    &format!("$.candidates.{name}"),
                    format!(
                        "candidates.{name} exceeds limit: {} ids, the limit is {max}",
                        ids.len()
                    ),
                );
            }
        }
    }
    fn constraints(&mut self, c: Option<&Constraints>, limits: &Limits) {
        let Some(c) = c else { return };
        for (name, l) in [
            ("required_tags", c.required_tags.len()),
            ("forbidden_tags", c.forbidden_tags.len()),
        ] {
            if l > limits.max_tags {
                self.bad(
                    &format!("$.constraints.{name}"),
                    format!(
                        "constraints tags exceed limit: {l} {name}, the limit is {}",
                        limits.max_tags
                    ),
                );
            }
        }
        if c.max_per_tag.len() > limits.max_tags {
            self.bad(
                "$.constraints.max_per_tag",
                format!(
                    "constraints.max_per_tag exceeds limit: {} tags, the limit is {}",
                    c.max_per_tag.len(),
                    limits.max_tags
                ),
            );
        }
    }
    fn weights(&mut self, w: Option<&Weights>) {
        let Some(w) = w else { return };
        for (name, x) in [("pop", w.pop), ("cooc", w.cooc), ("emb", w.emb)] {
            let path = format!("$.weights.{name}");
            if !x.is_finite() || x < 0.0 {
                self.unprocessable(
                    &path,
                    format!("weights.{name} must be a finite non-negative number, got {x}"),
                );
            } else if x > MAX_WEIGHT {
                self.unprocessable(
                    &path,
                    format!("weights.{name} must be at most {MAX_WEIGHT:e}, got {x}"),
                );
            }
        }
    }
}

/// The [`Servable`] methods both request kinds implement alike: decoding through the
/// type's own decoder, and its `include_ids` / `exclude_ids` members.
macro_rules! decoding {
    ($t:ty) => {
        fn decode<J: Tree>(v: &J, limits: &Limits) -> Result<(Self, Vec<Warning>), ApiError> {
            <$t>::from_value(v, limits)
        }
        fn decode_apart<'t, J: Tree>(
            v: &'t J,
            limits: &Limits,
        ) -> Result<(Self, CandidateIds<&'t str>, Vec<Warning>), ApiError> {
            <$t>::decode_apart(v, limits)
        }
        fn candidate_ids(&self) -> (&[String], &[String]) {
            (&self.include_ids, &self.exclude_ids)
        }
        fn set_candidate_ids(&mut self, include: Vec<String>, exclude: Vec<String>) {
            (self.include_ids, self.exclude_ids) = (include, exclude);
        }
    };
}

impl Servable for RecommendRequest {
    decoding!(RecommendRequest);
    fn direct<'t>(
        d: &DirectRequest<'t>,
        limits: &Limits,
    ) -> Option<(Self, CandidateIds<&'t str>, Vec<Warning>)> {
        d.resolve(limits)
    }
    fn surface(&self) -> &str {
        &self.surface
    }
    fn problems(&self, limits: &Limits, p: &mut Problems) {
        p.surface_segment(&self.surface, &self.segment);
        p.k(self.k, limits);
        let u = &self.user;
        if u.user_id.is_empty() && u.anonymous_id.is_empty() && u.session_id.is_empty() {
            p.unprocessable(
                "$.user",
                "user_id or anonymous_id or session_id is required".into(),
            );
        }
        if let Some((ids, max)) = &self.anchors {
            if ids.len() > limits.max_anchors {
                p.bad(
                    "$.anchors.item_ids",
                    format!(
                        "anchors.item_ids exceeds limit: {} ids, the limit is {}",
                        ids.len(),
                        limits.max_anchors
                    ),
                );
            }
            if (*max as usize) < ids.len() {
                p.unprocessable(
                    "$.anchors.max_anchors",
                    "anchors.max_anchors must be >= number of anchor items".into(),
                );
            } else if *max == 0 {
                p.bad(
                    "$.anchors.max_anchors",
                    "anchors.max_anchors must be positive".into(),
                );
            }
        }
        p.candidates(&self.include_ids, &self.exclude_ids, limits);
        p.constraints(self.constraints.as_ref(), limits);
        p.weights(self.weights.as_ref());
    }
}

impl Servable for SimilarRequest {
    decoding!(SimilarRequest);
    fn surface(&self) -> &str {
        &self.surface
    }
    fn problems(&self, limits: &Limits, p: &mut Problems) {
        p.surface_segment(&self.surface, &self.segment);
        if self.item_id.trim().is_empty() {
            p.bad("$.item_id", "item_id is required".into());
        }
        p.k(self.k, limits);
        p.candidates(&self.include_ids, &self.exclude_ids, limits);
        p.constraints(self.constraints.as_ref(), limits);
    }
}

/// Trimmed, blank-free, de-duplicated ids (first occurrence wins), as the decoder keeps them.
fn ids<I: IntoIterator<Item = S>, S: AsRef<str>>(ids: I) -> Vec<String> {
    let ids = ids.into_iter();
    let mut out: Vec<String> = Vec::with_capacity(ids.size_hint().0);
    let mut seen = DistinctIds::with_capacity(ids.size_hint().0);
    for id in ids {
        let t = id.as_ref().trim();
        if !t.is_empty() {
            seen.push(&mut out, t, str::to_string);
        }
    }
    out
}

/// Normalised, de-duplicated tags.
fn tags<I: IntoIterator<Item = S>, S: AsRef<str>>(tags: I) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = DistinctIds::with_capacity(0);
    for t in tags {
        let n = normalized_tag(t.as_ref());
        if !n.is_empty() {
            seen.push(&mut out, &n, str::to_string);
        }
    }
    out
}

/// The constraints of a request, created empty when it has none.
fn constraints(c: &mut Option<Constraints>) -> &mut Constraints {
    c.get_or_insert_with(Constraints::default)
}

/// Sets a tag's `max_per_tag` cap (tags sorted, the latest cap for a tag wins).
fn set_cap(c: &mut Constraints, tag: &str, cap: u32) {
    let tag = normalize_tag(tag);
    match c
        .max_per_tag
        .binary_search_by(|(t, _)| t.as_str().cmp(&tag))
    {
        Ok(i) => c.max_per_tag[i].1 = cap,
        Err(i) => c.max_per_tag.insert(i, (tag, cap)),
    }
}

/// The builder methods both request kinds share.
macro_rules! shared_builders {
    () => {
        /// How many items to return.
        pub fn k(mut self, k: u32) -> Self {
            self.k = k;
            self
        }
        /// The segment (rule scopes).
        pub fn segment(mut self, segment: impl Into<String>) -> Self {
            self.segment = segment.into().trim().to_string();
            self
        }
        /// Serve only these items (`candidates.include_ids`).
        pub fn include_ids<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, items: I) -> Self {
            self.include_ids = ids(items);
            self
        }
        /// Never serve these items (`candidates.exclude_ids`).
        pub fn exclude_ids<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, items: I) -> Self {
            self.exclude_ids = ids(items);
            self
        }
        /// Items must carry every one of these tags.
        pub fn required_tags<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, t: I) -> Self {
            constraints(&mut self.constraints).required_tags = tags(t);
            self
        }
        /// Items must carry none of these tags.
        pub fn forbidden_tags<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, t: I) -> Self {
            constraints(&mut self.constraints).forbidden_tags = tags(t);
            self
        }
        /// Add `reasons` to each item.
        pub fn include_reasons(mut self, on: bool) -> Self {
            self.options.include_reasons = on;
            self
        }
        /// Add `explain` to each item (`Full` needs the admin role by default).
        pub fn explain(mut self, level: Explain) -> Self {
            self.options.explain = level;
            self
        }
    };
}

impl User {
    /// A signed-in user.
    pub fn id(user_id: impl Into<String>) -> User {
        User {
            user_id: user_id.into().trim().to_string(),
            ..User::default()
        }
    }
    /// An anonymous visitor.
    pub fn anonymous(anonymous_id: impl Into<String>) -> User {
        User {
            anonymous_id: anonymous_id.into().trim().to_string(),
            ..User::default()
        }
    }
    /// A session.
    pub fn session(session_id: impl Into<String>) -> User {
        User {
            session_id: session_id.into().trim().to_string(),
            ..User::default()
        }
    }
}

impl RecommendRequest {
    /// A request for `surface` and `user` with the decoder's defaults: segment `default`,
    /// k 20, no anchors, candidates or constraints, the surface's weights, options off.
    /// Ids and tags given to the builder methods are normalised as the JSON decoder does
    /// (trimmed, blanks dropped, de-duplicated; tags lower-cased); the engine checks the
    /// result against the surface's limits.
    ///
    /// ```
    /// use recsys_core::{RecommendRequest, User};
    /// let r = RecommendRequest::new("home", User::id("u1")).k(5).exclude_ids(["a", " a ", "b"]);
    /// assert_eq!((r.k, r.exclude_ids.len()), (5, 2));
    /// ```
    pub fn new(surface: impl Into<String>, user: User) -> RecommendRequest {
        let surface = surface.into().trim().to_string();
        RecommendRequest::with_parts(surface, "default".into(), 20, user, Options::default())
    }

    /// A request of these members, the others absent.
    pub(crate) fn with_parts(
        surface: String,
        segment: String,
        k: u32,
        user: User,
        options: Options,
    ) -> RecommendRequest {
        RecommendRequest {
            surface,
            segment,
            k,
            user,
            context: None,
            anchors: None,
            include_ids: Vec::new(),
            exclude_ids: Vec::new(),
            constraints: None,
            weights: None,
            options,
            experiment: None,
        }
    }
    shared_builders!();
    /// Anchor items (`anchors.item_ids`).
    pub fn anchors<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, items: I) -> Self {
        let items = ids(items);
        let max = items.len().max(1) as u32;
        self.anchors = Some((items, max));
        self
    }
    /// At most `cap` items carrying `tag` (0 = no cap).
    pub fn max_per_tag(mut self, tag: &str, cap: u32) -> Self {
        set_cap(constraints(&mut self.constraints), tag, cap);
        self
    }
    /// Blend weights overriding the surface config's.
    pub fn weights(mut self, pop: f64, cooc: f64, emb: f64) -> Self {
        self.weights = Some(Weights { pop, cooc, emb });
        self
    }
    /// The experiment (and variant) the host already assigned.
    pub fn experiment(mut self, id: impl Into<String>, variant: impl Into<String>) -> Self {
        self.experiment = Some(Experiment {
            id: id.into().trim().to_string(),
            variant: variant.into().trim().to_string(),
        });
        self
    }
}

impl SimilarRequest {
    /// Neighbours of `item_id` on `surface`: segment `default`, k 20, options off (the
    /// builder methods normalise like [`RecommendRequest::new`]'s).
    pub fn new(surface: impl Into<String>, item_id: impl Into<String>) -> SimilarRequest {
        SimilarRequest {
            surface: surface.into().trim().to_string(),
            segment: "default".into(),
            item_id: item_id.into().trim().to_string(),
            k: 20,
            include_ids: Vec::new(),
            exclude_ids: Vec::new(),
            constraints: None,
            options: Options::default(),
        }
    }
    shared_builders!();
}

#[cfg(test)]
mod tests {
    use super::{IdList, ListId, Request, Servable};
    use crate::config::Limits;
    use crate::json::node::parse_node;
    use crate::json::{self, Value};
    use crate::request::{RecommendRequest, SimilarRequest};
    use crate::tests::rng::Rng;

    /// Ids as a request may spell them: repeated, padded, blank, escaped, non-ASCII, not
    /// strings at all.
    const IDS: &[&str] = &[
        r#""sku-1""#,
        r#""sku-2""#,
        r#"" sku-1 ""#,
        r#""""#,
        r#""  ""#,
        r#""sk\u0075-2""#,
        r#""a\nb""#,
        r#""é€""#,
        r#""\u00a0x\u3000""#,
        r#""\"q\"""#,
        "null",
        "7",
        "[]",
    ];

    fn list(r: &mut Rng) -> String {
        match r.index(12) {
            0 => "null".into(),
            1 => r#""sku-1""#.into(),
            2 => "{}".into(),
            _ => {
                let n = r.index(9);
                let ids: Vec<&str> = (0..n).map(|_| *r.pick(IDS)).collect();
                format!("[{}]", ids.join(","))
            }
        }
    }

    /// A request with candidate lists, sometimes malformed elsewhere too.
    fn request(r: &mut Rng, similar: bool) -> String {
        let mut members = vec![
            r#""surface":"home""#.to_string(),
            if similar {
                r#""item_id":"sku-1""#.to_string()
            } else {
                r#""user":{"user_id":"u"}"#.to_string()
            },
        ];
        let (inc, exc) = (list(r), list(r));
        members.push(match r.index(6) {
            0 => "\"candidates\":null".to_string(),
            1 => "\"candidates\":[1]".to_string(),
            2 => format!(r#""Candidates":{{"include_ids":{inc},"bogus":1}}"#),
            _ => format!(r#""candidates":{{"include_ids":{inc},"EXCLUDE_IDS":{exc}}}"#),
        });
        match r.index(5) {
            0 => members.push(r#""k":0"#.into()),
            1 => members.push(r#""options":{"explain":"Summary"}"#.into()),
            _ => {}
        }
        format!("{{{}}}", members.join(","))
    }

    /// The request `Request::TextIds` resolves to, with its borrowed lists copied back, and
    /// the lists as the pipeline reads them.
    fn via_text_ids<T: Servable + std::fmt::Debug + PartialEq>(
        n: &crate::json::node::Node,
        lim: &Limits,
    ) -> Result<(T, Vec<String>, Vec<String>), crate::error::ApiError> {
        let (req, warnings) = Request::<T>::TextIds(n).resolve(lim)?;
        // The lists as the pipeline reads them: their repeats dropped after the lookup (by
        // string here; `resolved_borrowed_lists_are_the_owned_lists_looked_up` holds the
        // lookup's dropping to this).
        let distinct = |ids: IdList| -> Vec<String> {
            let ids = <&str as ListId>::distinct(ids.iter().collect());
            ids.into_iter().map(str::to_owned).collect()
        };
        let (include, exclude) = (distinct(req.include_ids()), distinct(req.exclude_ids()));
        // Borrowed lists leave the request's own empty.
        assert!(req.candidate_ids().0.is_empty() && req.candidate_ids().1.is_empty());
        let _ = warnings;
        Ok((req.into_owned(), include, exclude))
    }

    fn via_value<T: Servable>(
        v: &Value,
        lim: &Limits,
    ) -> Result<(T, Vec<String>, Vec<String>), crate::error::ApiError> {
        let (req, _) = Request::<T>::Json(v).resolve(lim)?;
        let include: Vec<String> = req.include_ids().iter().map(str::to_owned).collect();
        let exclude: Vec<String> = req.exclude_ids().iter().map(str::to_owned).collect();
        Ok((req.into_owned(), include, exclude))
    }

    /// Candidate lists kept as slices of the call's text give the request, the lists, the
    /// warnings and the errors that decoding them into owned strings gives, for recommend
    /// and similar requests, under tight and default limits.
    #[test]
    fn borrowed_candidate_lists_resolve_as_owned_ones() {
        let mut r = Rng::new(0x05ee_d1d5);
        let tight = Limits {
            max_include_ids: 3,
            max_exclude_ids: 2,
            ..Limits::default()
        };
        let (mut with_ids, mut errors) = (0, 0);
        for i in 0..3_000 {
            let similar = i % 3 == 0;
            let text = request(&mut r, similar);
            let v = json::parse(text.as_bytes()).unwrap();
            let n = parse_node(text.as_bytes(), json::Limits::default()).unwrap();
            for lim in [&tight, &Limits::default()] {
                if similar {
                    let want = via_value::<SimilarRequest>(&v, lim);
                    assert_eq!(via_text_ids::<SimilarRequest>(&n, lim), want, "{text}");
                } else {
                    let want = via_value::<RecommendRequest>(&v, lim);
                    let got = via_text_ids::<RecommendRequest>(&n, lim);
                    assert_eq!(got, want, "{text}");
                    match &want {
                        Ok((req, inc, exc)) => {
                            assert_eq!((&req.include_ids, &req.exclude_ids), (inc, exc));
                            with_ids += usize::from(!inc.is_empty() && !exc.is_empty());
                        }
                        Err(_) => errors += 1,
                    }
                }
                // The warnings too.
                let warnings = |req: Request<RecommendRequest>| req.resolve(lim).map(|(_, w)| w);
                assert_eq!(
                    warnings(Request::TextIds(&n)),
                    warnings(Request::Json(&v)),
                    "{text}"
                );
            }
        }
        assert!(
            with_ids > 50 && errors > 300,
            "{with_ids} with ids, {errors} errors"
        );
    }

    /// The call path's decoder leaves a list's repeats for the lookup to drop (no string
    /// hashed an id), except from a list over its limit, which it makes distinct to count.
    #[test]
    fn text_lists_keep_their_repeats_within_the_limit() {
        let text = r#"{"surface":"home","user":{"user_id":"u"},"candidates":{"include_ids":["a","b","a"," b","c"],"exclude_ids":["x","x","y"]}}"#;
        let n = parse_node(text.as_bytes(), json::Limits::default()).unwrap();
        let lists = |lim: &Limits| {
            let (req, _) = Request::<RecommendRequest>::TextIds(&n)
                .resolve(lim)
                .unwrap();
            let inc: Vec<String> = req.include_ids().iter().map(str::to_owned).collect();
            let exc: Vec<String> = req.exclude_ids().iter().map(str::to_owned).collect();
            (inc, exc, req.into_owned())
        };
        let (inc, exc, owned) = lists(&Limits::default());
        assert_eq!(
            (inc, exc),
            (
                vec!["a", "b", "a", "b", "c"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
                vec!["x".to_string(), "x".into(), "y".into()]
            )
        );
        assert_eq!(
            (owned.include_ids, owned.exclude_ids),
            (
                vec!["a".to_string(), "b".into(), "c".into()],
                vec!["x".to_string(), "y".into()]
            )
        );
        let tight = Limits {
            max_include_ids: 4,
            max_exclude_ids: 2,
            ..Limits::default()
        };
        let (inc, exc, _) = lists(&tight);
        assert_eq!(
            (inc, exc),
            (
                vec!["a".to_string(), "b".into(), "c".into()],
                vec!["x".to_string(), "y".into()]
            )
        );
    }

    /// A catalog of `n` items `s0`, `s1`, ... (popularity only).
    fn catalog(n: usize) -> crate::snapshot::TenantSnapshot {
        use crate::snapshot::{SignalData, TenantSnapshot, Versions};
        let data = SignalData {
            popularity: Some((0..n).map(|i| (format!("s{i}"), i as f64)).collect()),
            content: None,
            cooc: None,
            implicit: None,
            session: None,
        };
        let cfg = crate::config::TenantConfig::default();
        TenantSnapshot::compile("t", "home", &cfg, vec![], data, Versions::default())
    }

    /// A borrowed list (repeats left in, as the call path's decoder leaves them) resolves to
    /// the distinct ids an owned list holds (first occurrences, in order) and to their
    /// items, known and unknown ids mixed; a list without repeats is not copied.
    #[test]
    fn resolved_borrowed_lists_are_the_owned_lists_looked_up() {
        let mut r = Rng::new(0x001d_50f1_1575);
        let snap = catalog(300);
        let (mut known_repeats, mut unknown_repeats, mut plain) = (0, 0, 0);
        for round in 0..3_000 {
            // Small pools of names, so that repeats are common; long lists now and then.
            let pool = 1 + r.index(if round % 10 == 0 { 400 } else { 12 });
            let len = r.index(if round % 10 == 0 { 600 } else { 20 });
            let raw: Vec<String> = (0..len)
                .map(|_| match r.chance(300) {
                    true => format!("u{}", r.index(pool)),
                    false => format!("s{}", r.index(pool)),
                })
                .collect();
            let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
            let mut seen = std::collections::HashSet::new();
            let owned: Vec<String> = raw
                .iter()
                .filter(|id| seen.insert(**id))
                .map(|id| id.to_string())
                .collect();
            let (want_ids, want_items) = IdList::Owned(&owned).resolved(&snap);
            let (got_ids, got_items) = IdList::Borrowed(&raw).resolved(&snap);
            let want_ids: Vec<&str> = want_ids.iter().collect();
            assert_eq!(got_ids.iter().collect::<Vec<_>>(), want_ids, "{raw:?}");
            assert_eq!(got_items, want_items, "{raw:?}");
            assert_eq!(got_items, snap_items(&snap, &want_ids));
            if owned.len() == raw.len() {
                assert!(
                    matches!(got_ids, IdList::Borrowed(_)),
                    "copied without repeats"
                );
                plain += 1;
            }
            let repeats = |unknown: bool| {
                let of = |ids: &[&str]| {
                    ids.iter()
                        .filter(|id| id.starts_with('u') == unknown)
                        .count()
                };
                of(&raw) > of(&want_ids)
            };
            known_repeats += usize::from(repeats(false));
            unknown_repeats += usize::from(repeats(true));
        }
        assert!(
            known_repeats > 500 && unknown_repeats > 500 && plain > 300,
            "{known_repeats} {unknown_repeats} {plain}"
        );
    }

    /// Each id looked up alone.
    fn snap_items(snap: &crate::snapshot::TenantSnapshot, ids: &[&str]) -> Vec<Option<u32>> {
        ids.iter().map(|id| snap.items.get(id)).collect()
    }
}
