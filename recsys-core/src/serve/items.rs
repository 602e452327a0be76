//! The answer's items: id, rank and score of each selected position, with `reasons`
//! (`options.include_reasons`) and `explain` (`options.explain`: summary or full).

use super::answer::{BlendParts, Item, ItemExplain, MmrExplain, RawSignals};
use super::filters::Filtered;
use super::prewritten::{ItemTexts, ScoreTexts};
use super::rules::Ruled;
use super::select::{Out, Selected};
use super::sources::Pooled;
use super::Decision;
use crate::candidates::Cand;
use crate::ranking::{self, Blended, MmrInfo};
use crate::request::Explain;
use crate::rules::tokens;
use crate::snapshot::TenantSnapshot;

/// Whether the items carry reasons or explanations (rule tokens are only formatted then).
pub(crate) fn detailed(d: &Decision) -> bool {
    let options = d.spec.options;
    options.include_reasons || options.explain != Explain::None
}

/// The returned items without reasons or explanations, read from the pipeline's stages as
/// the call path's writer writes them ([`super::text::Items::Returned`]): no list of them is
/// made, each id is looked up once, when written.
#[derive(Clone, Copy)]
pub(crate) struct PlainItems<'a> {
    snap: &'a TenantSnapshot,
    f: &'a Filtered<'a>,
    p: &'a Pooled,
    s: &'a Selected,
    /// The installed snapshot's score texts ([`super::prewritten::ScoreTexts`]), if any.
    pub scores: Option<&'a ScoreTexts>,
    /// The installed snapshot's item texts ([`super::prewritten::ItemTexts`]), if any.
    pub texts: Option<&'a ItemTexts>,
}

impl<'a> PlainItems<'a> {
    /// The returned items of these stages.
    pub(crate) fn new(
        d: &Decision<'a>,
        f: &'a Filtered<'a>,
        p: &'a Pooled,
        s: &'a Selected,
    ) -> PlainItems<'a> {
        PlainItems {
            snap: d.snap,
            f,
            p,
            s,
            scores: d.pre.map(|pre| &*pre.scores),
            texts: d.pre.map(|pre| &*pre.items),
        }
    }

    /// How many items are returned.
    pub(crate) fn len(&self) -> usize {
        self.s.outs.len()
    }

    /// (key, score) in answer order, ranked from 1 (the id is [`PlainItems::id`]).
    #[inline]
    pub(crate) fn iter(self) -> impl Iterator<Item = (u32, f64)> + 'a {
        self.iter_from(0)
    }

    /// (key, score) of the items from answer position `start` on (as [`PlainItems::iter`]
    /// after skipping `start`; none when `start` is past the end).
    #[inline]
    pub(crate) fn iter_from(self, start: usize) -> impl Iterator<Item = (u32, f64)> + 'a {
        let PlainItems { p, s, .. } = self;
        let outs = s.outs.get(start..).unwrap_or_default();
        outs.iter().map(move |o| {
            let cand = &p.pool.cands[o.pos];
            (cand.key, cand.score)
        })
    }

    /// The returned candidates themselves, in answer order, when the answer's positions are
    /// the pool's first ones ([`Selected::first`]); `None` otherwise.
    #[inline]
    pub(crate) fn in_pool_order(&self) -> Option<&'a [Cand]> {
        let (p, s) = (self.p, self.s);
        s.first.then(|| p.pool.cands.get(..s.outs.len())).flatten()
    }

    /// The id of `key` and whether it needs no escape: it needs none when it is a catalog
    /// id and the catalog holds no id that does ([`crate::snapshot::Catalog::ids_plain`]);
    /// other ids are scanned.
    #[inline]
    pub(crate) fn id(&self, key: u32) -> (&'a str, bool) {
        let (snap, keys) = (self.snap, &self.f.keys);
        (keys.name(snap, key), key < keys.catalog && snap.ids_plain)
    }
}

/// Builds the items of the answer, in answer order.
#[inline(never)] // a stage of its own in profiles (called a few times per request)
pub(crate) fn build(d: &Decision, f: &Filtered, p: &Pooled, r: &Ruled, s: &Selected) -> Vec<Item> {
    let options = d.spec.options;
    // Rule tokens are only formatted when reasons or explain ask for them.
    let want_tokens = detailed(d);
    if !want_tokens {
        return plain(d, f, p, s);
    }
    // The boosts of the returned positions only, grouped by answer rank: one pass over
    // every boost detail (a tag boost touches many candidates), no sort.
    let details = returned_details(&r.boost_details, s);
    let tokens_for = |pos: usize, pin: Option<usize>| -> Vec<String> {
        let boosts = details.of(pos);
        let mut t: Vec<String> = Vec::with_capacity(boosts.len() + usize::from(pin.is_some()));
        t.extend(
            boosts
                .iter()
                .map(|&(ai, d)| tokens::boost_token(r.applied.boosts[ai].rule, d)),
        );
        if let Some(ai) = pin {
            t.push(tokens::pin_token(r.applied.pins[ai].rule));
        }
        t.sort_unstable();
        t.dedup();
        t
    };
    let mut items = Vec::with_capacity(s.outs.len());
    for (rank, o) in s.outs.iter().enumerate() {
        let cand = &p.pool.cands[o.pos];
        let bl = ranking::blend(&p.weights, &cand.raw);
        let tokens = tokens_for(o.pos, o.pinned_by);
        let explain_on = options.explain != Explain::None;
        // The tokens go to the reasons and the explanation: moved into the one that is
        // asked for alone, copied only when both are.
        let (reasons, tokens) = match (options.include_reasons, explain_on) {
            (true, true) => (reasons(f, p, cand, &bl, o, tokens.clone()), tokens),
            (true, false) => (reasons(f, p, cand, &bl, o, tokens), Vec::new()),
            (false, _) => (Vec::new(), tokens),
        };
        let placed = (o.pinned_by.is_some(), s.mmr_of(rank));
        let explain = explain_on.then(|| explain(d, f, p, cand, &bl, placed, tokens));
        items.push(Item {
            item_id: f.keys.name(d.snap, cand.key).to_string(),
            rank: rank as u32 + 1,
            score: cand.score,
            reasons,
            explain,
        });
    }
    items
}

/// The items without reasons or explanations (most requests): id, rank and score, each
/// built in place.
fn plain(d: &Decision, f: &Filtered, p: &Pooled, s: &Selected) -> Vec<Item> {
    s.outs
        .iter()
        .zip(1..)
        .map(|(o, rank)| {
            let cand = &p.pool.cands[o.pos];
            Item {
                item_id: f.keys.name(d.snap, cand.key).to_owned(),
                rank,
                score: cand.score,
                reasons: Vec::new(),
                explain: None,
            }
        })
        .collect()
}

/// The boost details of the selected positions: `(boost action, delta)` per position, in
/// the order of the details (boost order; the tokens are sorted anyway).
struct Returned {
    /// Pool position -> its group in `groups` (`u32::MAX`: not returned).
    group_of: Vec<u32>,
    groups: Vec<Vec<(usize, f64)>>,
}

impl Returned {
    /// The details of pool position `pos` (none when it is not returned or not boosted).
    fn of(&self, pos: usize) -> &[(usize, f64)] {
        self.group_of
            .get(pos)
            .and_then(|&g| self.groups.get(g as usize))
            .map_or(&[], Vec::as_slice)
    }
}

/// Groups the details `(position, boost action, delta)` of the selected positions: one pass
/// over every detail, no sort.
fn returned_details(all: &[(usize, usize, f64)], s: &Selected) -> Returned {
    let len = if all.is_empty() {
        0
    } else {
        s.outs.iter().map(|o| o.pos + 1).max().unwrap_or(0)
    };
    let mut group_of = vec![u32::MAX; len];
    let mut groups = Vec::new();
    for o in &s.outs {
        if let Some(g) = group_of.get_mut(o.pos).filter(|g| **g == u32::MAX) {
            *g = groups.len() as u32;
            groups.push(Vec::new());
        }
    }
    for &(pos, ai, delta) in all {
        if let Some(list) = group_of.get(pos).and_then(|&g| groups.get_mut(g as usize)) {
            list.push((ai, delta));
        }
    }
    Returned { group_of, groups }
}

/// Why an item is in the answer: the signals that scored it, diversification, and the
/// rules that boosted or pinned it.
fn reasons(
    f: &Filtered,
    p: &Pooled,
    cand: &Cand,
    bl: &Blended,
    o: &Out,
    tokens: Vec<String>,
) -> Vec<String> {
    let weights = &p.weights;
    let mut r: Vec<String> = Vec::new();
    if weights.pop > 0.0 && cand.raw.pop > 0.0 {
        r.push("recent_popularity".into());
    }
    if weights.cooc > 0.0 && cand.raw.cooc > 0.0 {
        r.push("co_visitation".into());
    }
    if weights.emb > 0.0 && bl.sim > 0.0 {
        for (v, name) in [
            (bl.collab, "collaborative"),
            (bl.content, "content_similarity"),
            (bl.session, "session_sequence"),
        ] {
            if v > 0.0 && (bl.sim - v).abs() <= 1e-9 {
                r.push(name.into());
            }
        }
    }
    // The `diversity` reason: MMR or brand/category caps ran (a request max_per_tag is a
    // constraint, not diversification).
    let params = &f.params;
    let diversity_on = params.lambda > 0.0 || params.brand_cap > 0 || params.category_cap > 0;
    if diversity_on && o.pinned_by.is_none() {
        r.push("diversity".into());
    }
    r.extend(tokens);
    r
}

/// An item's `explain` object: weighted signal contributions and rule tokens; with
/// `explain: full` also raw signals, weights, boost, pin and MMR figures.
fn explain(
    d: &Decision,
    f: &Filtered,
    p: &Pooled,
    cand: &Cand,
    bl: &Blended,
    (pinned, mmr): (bool, Option<MmrInfo>),
    tokens: Vec<String>,
) -> ItemExplain {
    let weights = &p.weights;
    let contrib = [
        weights.pop * bl.pop,
        weights.cooc * bl.cooc,
        weights.emb * bl.sim,
    ];
    let [pop, cooc, emb] = if contrib.iter().all(|x| *x == 0.0) {
        [bl.pop, bl.cooc, bl.sim]
    } else {
        contrib
    };
    let mut e = ItemExplain {
        signals: BlendParts { pop, cooc, emb },
        rules: tokens,
        raw: None,
        weights: None,
        boost: None,
        pinned: false,
        mmr: None,
    };
    if d.spec.options.explain == Explain::Full {
        let raw = &cand.raw;
        e.raw = Some(RawSignals {
            pop: raw.pop,
            cooc: raw.cooc,
            collab: raw.collab,
            content: raw.content,
            session: raw.session,
        });
        e.weights = Some(BlendParts {
            pop: weights.pop,
            cooc: weights.cooc,
            emb: weights.emb,
        });
        e.boost = (cand.boost != 0.0).then_some(cand.boost);
        e.pinned = pinned;
        e.mmr = mmr.map(|mi| MmrExplain {
            lambda: f.params.lambda,
            relevance: mi.relevance,
            max_sim: mi.max_sim,
            penalty: mi.penalty,
            rank: mi.rank,
        });
    }
    e
}
