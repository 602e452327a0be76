//! The answer's items: id, rank and score of each selected position, with `reasons`
//! (`options.include_reasons`) and `explain` (`options.explain`: summary or full).

use super::filters::Filtered;
use super::rules::Ruled;
use super::select::{Out, Selected};
use super::sources::Pooled;
use super::Decision;
use crate::candidates::Cand;
use crate::json::{Map, Value};
use crate::ranking::{self, Blended};
use crate::request::Explain;
use crate::rules::eval;

/// Builds the items of the answer, in answer order.
pub(crate) fn build(
    d: &Decision,
    f: &Filtered,
    p: &Pooled,
    r: &mut Ruled,
    s: &Selected,
) -> Vec<Value> {
    let options = d.spec.options;
    // Rule tokens are only formatted when reasons or explain ask for them.
    let want_tokens = options.include_reasons || options.explain != Explain::None;
    if want_tokens {
        r.boost_details.sort_by_key(|&(p, ai, _)| (p, ai));
    }
    let tokens_for = |pos: usize, pin: Option<usize>| -> Vec<String> {
        if !want_tokens {
            return Vec::new();
        }
        let details = &r.boost_details;
        let lo = details.partition_point(|&(p, _, _)| p < pos);
        let mut t: Vec<String> = details[lo..]
            .iter()
            .take_while(|(p, _, _)| *p == pos)
            .map(|(_, ai, d)| eval::boost_token(f.applied.boosts[*ai].rule, *d))
            .collect();
        if let Some(ai) = pin {
            t.push(eval::pin_token(f.applied.pins[ai].rule));
        }
        t.sort();
        t.dedup();
        t
    };
    let mut items = Vec::with_capacity(s.outs.len());
    for (rank, o) in s.outs.iter().enumerate() {
        let cand = &p.pool.cands[o.pos];
        let bl = ranking::blend(&p.weights, &cand.raw);
        let mut m = Map::with_capacity(5);
        m.push("item_id", Value::str(f.keys.name(d.snap, cand.key)));
        m.push("rank", Value::u64(rank as u64 + 1));
        m.push("score", Value::f64(cand.score));
        let tokens = tokens_for(o.pos, o.pinned_by);
        if options.include_reasons {
            let r = reasons(f, p, cand, &bl, o, &tokens);
            if !r.is_empty() {
                m.push(
                    "reasons",
                    Value::Array(r.into_iter().map(Value::String).collect()),
                );
            }
        }
        if options.explain != Explain::None {
            m.push("explain", explain(d, f, p, cand, &bl, o, tokens));
        }
        items.push(Value::Object(m));
    }
    items
}

/// Why an item is in the answer: the signals that scored it, diversification, and the
/// rules that boosted or pinned it.
fn reasons(
    f: &Filtered,
    p: &Pooled,
    cand: &Cand,
    bl: &Blended,
    o: &Out,
    tokens: &[String],
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
    r.extend(tokens.iter().cloned());
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
    o: &Out,
    tokens: Vec<String>,
) -> Value {
    let weights = &p.weights;
    let mut e = Map::with_capacity(4);
    let contrib = [
        weights.pop * bl.pop,
        weights.cooc * bl.cooc,
        weights.emb * bl.sim,
    ];
    let vals = if contrib.iter().all(|x| *x == 0.0) {
        [bl.pop, bl.cooc, bl.sim]
    } else {
        contrib
    };
    let mut s = Map::new();
    for (k, v) in ["pop", "cooc", "emb"].iter().zip(vals) {
        s.push(*k, Value::f64(v));
    }
    e.push("signals", Value::Object(s));
    if !tokens.is_empty() {
        e.push(
            "rules",
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        );
    }
    if d.spec.options.explain == Explain::Full {
        let mut raw = Map::new();
        for (k, v) in [
            ("pop", cand.raw.pop),
            ("cooc", cand.raw.cooc),
            ("collab", cand.raw.collab),
            ("content", cand.raw.content),
            ("session", cand.raw.session),
        ] {
            raw.push(k, Value::f64(v));
        }
        e.push("raw", Value::Object(raw));
        let mut wm = Map::new();
        wm.push("pop", Value::f64(weights.pop));
        wm.push("cooc", Value::f64(weights.cooc));
        wm.push("emb", Value::f64(weights.emb));
        e.push("weights", Value::Object(wm));
        if cand.boost != 0.0 {
            e.push("boost", Value::f64(cand.boost));
        }
        if o.pinned_by.is_some() {
            e.push("pinned", Value::Bool(true));
        }
        if let Some(mi) = o.mmr {
            let mut mm = Map::new();
            mm.push("lambda", Value::f64(f.params.lambda));
            mm.push("relevance", Value::f64(mi.relevance));
            mm.push("max_sim", Value::f64(mi.max_sim));
            mm.push("penalty", Value::f64(mi.penalty));
            mm.push("rank", Value::u64(mi.rank as u64));
            e.push("mmr", Value::Object(mm));
        }
    }
    Value::Object(e)
}
