//! The JSON text of a recommendation, as `Engine::call` answers it, written from a borrowed
//! view ([`View`]) of the answer: either of a typed [`Recommendation`] or, on the call path,
//! of the pipeline's own stage outputs, so that the items' ids and `meta`'s strings are
//! copied once, into the text, rather than cloned into a typed answer, written and freed.
//! The members every answer has (the items' ids, ranks and scores, `meta`'s strings,
//! versions and counts) are written by hand with their member names as pre-escaped
//! literals, into one buffer reserved from a size estimate; the members only some answers
//! have (`reasons`, `explain`, rule reports, diagnostics, the experiment, warnings) are
//! handed to the serde writer ([`crate::json::ser`]). The text is byte for byte what
//! serialising the typed answer with [`crate::json::to_text`] writes (the tests hold it to
//! that on random answers); only the cost differs.

use super::answer::{Counts, Diagnostic, ExperimentMeta, Item, Meta, Recommendation, RuleReport};
use super::prewritten::{write_score, ScoreTexts};
use crate::json::ser::{append_text, SerError};
use crate::json::write::{push_std_str, write_f64, write_u64};
use crate::request::Warning;
use std::borrow::Cow;
use std::cell::RefCell;

/// A recommendation as the text writer reads it: borrowed strings, owned only where the
/// pipeline made them for this answer (the rare members).
pub(crate) struct View<'a> {
    pub items: Items<'a>,
    pub meta: MetaView<'a>,
    pub warnings: &'a [Warning],
}

/// The items of a [`View`].
pub(crate) enum Items<'a> {
    /// Typed items (a typed answer's, or items with reasons or explanations).
    Typed(Cow<'a, [Item]>),
    /// Items without reasons or explanations, read from the pipeline's stages as they are
    /// written (the call path's; no list of them is made).
    Returned(super::items::PlainItems<'a>),
    /// Items without reasons or explanations listed: (id, score), ranked from 1 (the tests
    /// write random answers through it, as [`Items::Returned`] writes them).
    #[cfg(test)]
    Plain {
        /// (id, score) in answer order.
        items: Vec<(&'a str, f64)>,
        /// No id holds a byte the escapes rewrite (known from the catalog's
        /// [`crate::snapshot::Catalog::ids_plain`]): the ids are copied without a scan.
        ids_plain: bool,
        /// Score texts written beforehand (as an installed snapshot's).
        scores: Option<&'a super::prewritten::ScoreTexts>,
    },
}

impl Items<'_> {
    /// How many items there are.
    pub(crate) fn len(&self) -> usize {
        match self {
            Items::Typed(i) => i.len(),
            Items::Returned(r) => r.len(),
            #[cfg(test)]
            Items::Plain { items, .. } => items.len(),
        }
    }
}

/// [`Meta`] borrowed: the strings from the snapshot, the request and the engine's options.
pub(crate) struct MetaView<'a> {
    pub tenant_id: &'a str,
    pub surface: &'a str,
    pub segment: &'a str,
    /// The build label, and the algorithm appended after a `:` when the config names one.
    pub algo_version: (&'a str, Option<&'a str>),
    pub config_version: Option<&'a str>,
    pub rules_version: Option<&'a str>,
    pub manifest_version: Option<&'a str>,
    pub release_id: Option<&'a str>,
    pub artifact_versions: &'a [(String, String)],
    /// The text [`write_meta_head`] wrote of `meta`'s opening and the four members above
    /// when the snapshot was installed ([`super::prewritten::MetaHead`]), when it holds for
    /// them; `None`: they are written per answer.
    pub head: Option<&'a str>,
    /// The text [`versions_text`] wrote of the four versions and `artifact_versions` above
    /// when the snapshot was installed (the same members, no string scanned per answer);
    /// `None`: they are written per answer.
    pub versions_text: Option<&'a str>,
    pub snapshot_surface: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub counts: Counts,
    pub rules: Option<Cow<'a, [RuleReport]>>,
    pub diagnostics: Option<Cow<'a, [Diagnostic]>>,
    pub experiment: Option<Cow<'a, ExperimentMeta>>,
}

impl<'a> View<'a> {
    /// The view of a typed answer.
    pub(crate) fn of(r: &'a Recommendation) -> View<'a> {
        View {
            items: Items::Typed(Cow::Borrowed(&r.items)),
            meta: MetaView::of(&r.meta),
            warnings: &r.warnings,
        }
    }
}

impl<'a> MetaView<'a> {
    /// The view of a typed `meta`.
    pub(crate) fn of(m: &'a Meta) -> MetaView<'a> {
        // `into_meta` and `write_meta` name every member: a new one is a compile error there.
        MetaView {
            tenant_id: &m.tenant_id,
            surface: &m.surface,
            segment: &m.segment,
            algo_version: (&m.algo_version, None),
            config_version: m.config_version.as_deref(),
            rules_version: m.rules_version.as_deref(),
            manifest_version: m.manifest_version.as_deref(),
            release_id: m.release_id.as_deref(),
            artifact_versions: &m.artifact_versions,
            head: None,
            versions_text: None,
            snapshot_surface: m.snapshot_surface.as_deref(),
            request_id: m.request_id.as_deref(),
            counts: m.counts,
            rules: m.rules.as_deref().map(Cow::Borrowed),
            diagnostics: m.diagnostics.as_deref().map(Cow::Borrowed),
            experiment: m.experiment.as_ref().map(Cow::Borrowed),
        }
    }

    /// The typed `meta` (its strings copied).
    pub(crate) fn into_meta(self) -> Meta {
        let own = |s: Option<&str>| s.map(str::to_owned);
        Meta {
            tenant_id: self.tenant_id.to_owned(),
            surface: self.surface.to_owned(),
            segment: self.segment.to_owned(),
            algo_version: joined(self.algo_version),
            config_version: own(self.config_version),
            rules_version: own(self.rules_version),
            manifest_version: own(self.manifest_version),
            release_id: own(self.release_id),
            artifact_versions: self.artifact_versions.to_vec(),
            snapshot_surface: own(self.snapshot_surface),
            request_id: own(self.request_id),
            counts: self.counts,
            rules: self.rules.map(Cow::into_owned),
            diagnostics: self.diagnostics.map(Cow::into_owned),
            experiment: self.experiment.map(Cow::into_owned),
        }
    }
}

/// `label` or `label:algo` in one allocation (`format!` cost ~1,000 instructions).
pub(crate) fn joined((label, algo): (&str, Option<&str>)) -> String {
    match algo {
        Some(algo) => {
            let mut s = String::with_capacity(label.len() + 1 + algo.len());
            s.push_str(label);
            s.push(':');
            s.push_str(algo);
            s
        }
        None => label.to_owned(),
    }
}

/// The text of `meta`'s version members of a snapshot (`config_version`, `rules_version`,
/// `manifest_version`, `release_id`, `artifact_versions`, each when present, with their
/// leading commas), as every answer from that snapshot writes them: written once, when the
/// snapshot is installed ([`MetaView::versions_text`]).
pub(crate) fn versions_text(v: &crate::snapshot::Versions) -> String {
    let mut out = String::new();
    write_versions(
        &mut out,
        [
            v.config_version.as_deref(),
            v.rules_version.as_deref(),
            v.manifest_version.as_deref(),
            v.release_id.as_deref(),
        ],
        &v.artifacts,
    );
    out
}

/// Writes `r` as compact JSON text.
pub(crate) fn recommendation(r: &Recommendation) -> Result<String, SerError> {
    write(&View::of(r))
}

/// Writes a view of an answer as compact JSON text.
pub(crate) fn write(r: &View) -> Result<String, SerError> {
    let View {
        items,
        meta,
        warnings,
    } = r;
    let mut out = String::with_capacity(estimate(r));
    out.push_str("{\"items\":[");
    match items {
        Items::Typed(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_item(&mut out, item)?;
            }
        }
        Items::Returned(r) => write_returned(&mut out, r),
        #[cfg(test)]
        Items::Plain {
            items,
            ids_plain,
            scores,
        } => {
            let plain = items.iter().map(|&(id, s)| (id, s, *ids_plain));
            write_plain_items(&mut out, plain, *scores);
        }
    }
    out.push_str("],\"meta\":");
    write_meta(&mut out, meta)?;
    if !warnings.is_empty() {
        out.push_str(",\"warnings\":");
        append_text(&mut out, warnings)?;
    }
    out.push('}');
    Ok(out)
}

/// The bytes [`estimate`] counts for an id of [`Items::Returned`] (not looked up then).
const ID_GUESS: usize = 32;

/// Bytes the common members of `r` take (a little over, so that one allocation holds an
/// answer without reasons, explanations or diagnostics).
fn estimate(r: &View) -> usize {
    // `{"item_id":"…","rank":NN,"score":0.xxxxxxxxxxxxxxxx},`: 14 + 8 + 9 + 24 + 2 around the id.
    let items: usize = match &r.items {
        Items::Typed(i) => i.iter().map(|i| i.item_id.len() + 60).sum(),
        // The ids are not looked up twice: an id over the guess may grow the buffer once.
        Items::Returned(r) => r.len() * (ID_GUESS + 60),
        #[cfg(test)]
        Items::Plain { items, .. } => items.iter().map(|(id, _)| id.len() + 60).sum(),
    };
    let m = &r.meta;
    let opt = |s: Option<&str>| s.map_or(0, |s| s.len() + 24);
    let strings = m.tenant_id.len()
        + m.surface.len()
        + m.segment.len()
        + m.algo_version.0.len()
        + m.algo_version.1.map_or(0, |a| a.len() + 1)
        + opt(m.config_version)
        + opt(m.rules_version)
        + opt(m.manifest_version)
        + opt(m.release_id)
        + opt(m.snapshot_surface)
        + opt(m.request_id);
    let artifacts: usize = m
        .artifact_versions
        .iter()
        .map(|(k, v)| k.len() + v.len() + 6)
        .sum();
    // Brackets, the fixed member names and seven counts.
    64 + items + 320 + strings + artifacts
}

/// One item: `{"item_id":…,"rank":…,"score":…}` with `reasons` and `explain` when present.
fn write_item(out: &mut String, item: &Item) -> Result<(), SerError> {
    let Item {
        item_id,
        rank,
        score,
        reasons,
        explain,
    } = item;
    // The id's quotes are in the literals around it.
    out.push_str("{\"item_id\":\"");
    push_std_str(out, item_id);
    out.push_str("\",\"rank\":");
    write_u64(out, u64::from(*rank));
    // `go_number` (what the derive uses for scores) writes what `write_f64` writes.
    out.push_str(",\"score\":");
    write_f64(out, *score);
    if !reasons.is_empty() {
        out.push_str(",\"reasons\":");
        append_text(out, reasons)?;
    }
    if let Some(e) = explain {
        out.push_str(",\"explain\":");
        append_text(out, e)?;
    }
    out.push('}');
    Ok(())
}

/// Items without reasons or explanations: (id, score, whether the id needs no escape) in
/// answer order, ranked from 1; scores found in `scores` are copied from there (the tests'
/// [`Items::Plain`]; the call path's items go through [`write_returned`]).
#[cfg(test)]
fn write_plain_items<'b>(
    out: &mut String,
    items: impl Iterator<Item = (&'b str, f64, bool)>,
    scores: Option<&ScoreTexts>,
) {
    for (i, (id, score, plain)) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_plain_item(out, (id, plain), i as u64 + 1, (score, scores));
    }
}

/// The call path's items without reasons or explanations: each copied whole from the
/// installed snapshot's item texts when the item at its rank has the key and score they
/// were written for (the leading run of such items in one copy), otherwise written as
/// [`write_plain_items`] writes it.
#[inline]
fn write_returned(out: &mut String, r: &super::items::PlainItems) {
    let (run, text) = match (r.texts, r.in_pool_order()) {
        // The pool's first candidates read in place (no position to follow).
        (Some(t), Some(cands)) => t.leading(cands.iter().map(|c| (c.key, c.score))),
        (Some(t), None) => t.leading(r.iter()),
        (None, _) => (0, ""),
    };
    out.push_str(text);
    for ((key, score), i) in r.iter_from(run).zip(run..) {
        if let Some(text) = r.texts.and_then(|t| t.get(i, key, score)) {
            out.push_str(text);
            continue;
        }
        if i > 0 {
            out.push(',');
        }
        write_plain_item(out, r.id(key), i as u64 + 1, (score, r.scores));
    }
}

/// An item without reasons or explanation: `{"item_id":…,"rank":…,"score":…}` (`plain`:
/// the id is known to need no escape; the score's text is copied from `memo` when there).
pub(crate) fn write_plain_item(
    out: &mut String,
    (id, plain): (&str, bool),
    rank: u64,
    (score, memo): (f64, Option<&ScoreTexts>),
) {
    out.push_str("{\"item_id\":\"");
    if plain {
        out.push_str(id);
    } else {
        push_std_str(out, id);
    }
    out.push_str("\",\"rank\":");
    write_u64(out, rank);
    out.push_str(",\"score\":");
    write_score(out, memo, score);
    out.push('}');
}

/// `,"name":"value"` when the member is present (`name` ends with the opening quote).
fn opt_member(out: &mut String, name: &str, v: Option<&str>) {
    if let Some(v) = v {
        out.push_str(name);
        push_std_str(out, v);
        out.push('"');
    }
}

/// The answer's `meta` object.
fn write_meta(out: &mut String, m: &MetaView) -> Result<(), SerError> {
    let MetaView {
        tenant_id,
        surface,
        segment,
        algo_version,
        config_version,
        rules_version,
        manifest_version,
        release_id,
        artifact_versions,
        head,
        versions_text,
        snapshot_surface,
        request_id,
        counts,
        rules,
        diagnostics,
        experiment,
    } = m;
    match head {
        Some(text) => out.push_str(text),
        None => write_meta_head(out, [tenant_id, surface, segment], *algo_version),
    }
    match versions_text {
        Some(text) => out.push_str(text),
        None => write_versions(
            out,
            [
                *config_version,
                *rules_version,
                *manifest_version,
                *release_id,
            ],
            artifact_versions,
        ),
    }
    opt_member(out, ",\"snapshot_surface\":\"", *snapshot_surface);
    opt_member(out, ",\"request_id\":\"", *request_id);
    out.push_str(",\"counts\":");
    write_counts_memo(out, counts);
    if let Some(rules) = rules {
        out.push_str(",\"rules\":");
        append_text(out, &**rules)?;
    }
    if let Some(d) = diagnostics {
        out.push_str(",\"diagnostics\":");
        append_text(out, &**d)?;
    }
    if let Some(e) = experiment {
        out.push_str(",\"experiment\":");
        append_text(out, &**e)?;
    }
    out.push('}');
    Ok(())
}

/// `meta`'s opening and first members: `{"tenant_id":…,"surface":…,"segment":…,
/// "algo_version":…` (the build label, and `:` and the algorithm when there is one).
pub(crate) fn write_meta_head(
    out: &mut String,
    [tenant_id, surface, segment]: [&str; 3],
    algo_version: (&str, Option<&str>),
) {
    // The strings' quotes are in the literals around them.
    out.push_str("{\"tenant_id\":\"");
    push_std_str(out, tenant_id);
    out.push_str("\",\"surface\":\"");
    push_std_str(out, surface);
    out.push_str("\",\"segment\":\"");
    push_std_str(out, segment);
    out.push_str("\",\"algo_version\":\"");
    push_std_str(out, algo_version.0);
    if let Some(algo) = algo_version.1 {
        out.push(':');
        push_std_str(out, algo);
    }
    out.push('"');
}

/// `meta`'s `config_version`, `rules_version`, `manifest_version` and `release_id` (each
/// when present) and `artifact_versions` (when not empty).
fn write_versions(
    out: &mut String,
    versions: [Option<&str>; 4],
    artifact_versions: &[(String, String)],
) {
    const NAMES: [&str; 4] = [
        ",\"config_version\":\"",
        ",\"rules_version\":\"",
        ",\"manifest_version\":\"",
        ",\"release_id\":\"",
    ];
    for (name, v) in NAMES.into_iter().zip(versions) {
        opt_member(out, name, v);
    }
    if !artifact_versions.is_empty() {
        out.push_str(",\"artifact_versions\":{");
        for (i, (kind, version)) in artifact_versions.iter().enumerate() {
            out.push_str(if i > 0 { ",\"" } else { "\"" });
            push_std_str(out, kind);
            out.push_str("\":\"");
            push_std_str(out, version);
            out.push('"');
        }
        out.push('}');
    }
}

thread_local! {
    /// The `meta.counts` of the thread's last JSON answer and their text (empty: none
    /// yet): answers to the same kind of request report the same counts request after
    /// request, so the text is copied rather than written number by number.
    static LAST_COUNTS: RefCell<(Counts, String)> = const {
        let none = Counts {
            candidates: 0,
            after_include: 0,
            after_exclude: 0,
            after_constraints: 0,
            after_rules: 0,
            pinned: 0,
            returned: 0,
        };
        RefCell::new((none, String::new()))
    };
}

/// `meta.counts`, copied from the thread's last answer's text when its counts are these
/// (all seven compared), otherwise written ([`write_counts`]) and kept for the next.
fn write_counts_memo(out: &mut String, c: &Counts) {
    let copied = LAST_COUNTS.try_with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return false;
        };
        let (counts, text) = &mut *last;
        if text.is_empty() || counts != c {
            text.clear();
            write_counts(text, c);
            *counts = *c;
        }
        // At most ~260 bytes (seven 20-digit counts and their names).
        out.push_str(text);
        true
    });
    if copied != Ok(true) {
        write_counts(out, c);
    }
}

/// `meta.counts`.
fn write_counts(out: &mut String, c: &Counts) {
    let Counts {
        candidates,
        after_include,
        after_exclude,
        after_constraints,
        after_rules,
        pinned,
        returned,
    } = *c;
    out.push_str("{\"candidates\":");
    write_u64(out, candidates);
    out.push_str(",\"after_include\":");
    write_u64(out, after_include);
    out.push_str(",\"after_exclude\":");
    write_u64(out, after_exclude);
    out.push_str(",\"after_constraints\":");
    write_u64(out, after_constraints);
    out.push_str(",\"after_rules\":");
    write_u64(out, after_rules);
    out.push_str(",\"pinned\":");
    write_u64(out, pinned);
    out.push_str(",\"returned\":");
    write_u64(out, returned);
    out.push('}');
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
