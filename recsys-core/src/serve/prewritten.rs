//! What every JSON answer from an installed snapshot writes the same, written once when the
//! snapshot is installed (`Engine`'s map of installed snapshots holds it beside the
//! snapshot): `meta`'s first members ([`MetaHead`]) and its version members
//! ([`super::text::versions_text`]), the text of the
//! scores the most popular items get under the snapshot's surface config ([`ScoreTexts`]),
//! and the whole item a popularity answer writes at each rank ([`ItemTexts`]).
//!
//! The score texts are a memo, not a rule: a popularity-only answer (no anchors, no rules
//! acting, the config's weights; every anonymous request of a popularity or blend surface)
//! returns the same few hundred most popular items with the same score bits request after
//! request, and writing a score's shortest digits costs ~370 instructions where copying its
//! text costs a few dozen. A score is looked up by its exact `f64` bits and the bits are
//! compared on lookup, so a hit writes exactly what [`write_f64`] writes for those bits,
//! whatever item or weights produced them; any other score (a boosted, blended or
//! personalised one, another config's, an experiment's) misses and is written as before.
//! The item texts are a memo of the same kind, one level up: the item at rank `r` of such
//! an answer is the `r`-th most popular one, so its whole text (id, rank and score) is
//! written at install and copied when the answer's item at that rank has that key and those
//! score bits; any other item at that rank (a filter or pin moved the order, a boost moved
//! the score) misses and is written piece by piece.

use crate::candidates::Signals;
use crate::config::Weights;
use crate::json::write::write_f64;
use crate::ranking::blend;
use crate::snapshot::TenantSnapshot;
use std::sync::Arc;

/// How many of the most popular items have their score's text written when a snapshot is
/// installed: a popularity answer's `k` plus its pins, with room for filters that skip a
/// few, and not more (the build is ~500 instructions an item, ~40 µs at this size, and
/// happens on every install: `set_rules`, `set_config`, loads).
pub(crate) const MEMO_ITEMS: usize = 256;

/// The parts of a snapshot's JSON answers written when it was installed.
pub(crate) struct Prewritten {
    /// `meta`'s opening members for requests of the snapshot's own surface ([`MetaHead`]).
    pub head: MetaHead,
    /// `meta`'s version members ([`super::text::versions_text`]).
    pub versions: String,
    /// The score texts of the [`MEMO_ITEMS`] most popular items (shared with the snapshot
    /// this one replaced when both score them alike).
    pub scores: Arc<ScoreTexts>,
    /// The item texts of a popularity answer's first [`MEMO_ITEMS`] ranks (shared with the
    /// snapshot this one replaced when the score texts are and both have the same ids).
    pub items: Arc<ItemTexts>,
}

impl Prewritten {
    /// The pre-written parts of `snap`'s answers under the engine's build label `label`
    /// ([`crate::EngineOptions::algo_version`]); `previous` is the snapshot it replaces
    /// and that one's parts, whose score texts are kept when both snapshots share their
    /// popularity arrays and score under the same weights (a rules change: `set_rules`
    /// rebuilds no catalog).
    pub(crate) fn of(
        snap: &TenantSnapshot,
        previous: Option<(&TenantSnapshot, &Prewritten)>,
        label: &str,
    ) -> Prewritten {
        let weights = popularity_weights(snap);
        let kept = previous.filter(|(p, pre)| {
            p.pop_order.ptr_eq(&snap.pop_order)
                && p.pop_count.ptr_eq(&snap.pop_count)
                && pre.scores.weights == weights
        });
        let (scores, items) = match kept {
            Some((p, pre)) if Arc::ptr_eq(&p.items, &snap.items) => {
                (pre.scores.clone(), pre.items.clone())
            }
            Some((_, pre)) => {
                let items = ItemTexts::popular(snap, &pre.scores, MEMO_ITEMS);
                (pre.scores.clone(), Arc::new(items))
            }
            None => {
                let scores = ScoreTexts::popular(snap, weights, MEMO_ITEMS);
                let items = ItemTexts::popular(snap, &scores, MEMO_ITEMS);
                (Arc::new(scores), Arc::new(items))
            }
        };
        Prewritten {
            head: MetaHead::of(snap, label),
            versions: super::text::versions_text(&snap.versions),
            scores,
            items,
        }
    }
}

/// The segment a request without one is served in.
const DEFAULT_SEGMENT: &str = "default";

/// The text of `meta`'s opening and first members (`tenant_id`, `surface`, `segment`,
/// `algo_version`: [`super::text::write_meta_head`]) as an answer from the snapshot writes
/// them for a request of the snapshot's own surface in the default segment, under the
/// engine's build label and the snapshot config's algorithm. The surface, segment and
/// algorithm parts an answer has are compared with the ones written for, so another
/// surface (the `default` surface serving), segment or algorithm (an experiment's, a
/// fallback config's) misses and is written per answer; the tenant is the snapshot's.
pub(crate) struct MetaHead {
    surface: String,
    label: String,
    algo: Option<&'static str>,
    text: String,
}

impl MetaHead {
    /// The head of `snap`'s answers under build label `label`.
    pub(crate) fn of(snap: &TenantSnapshot, label: &str) -> MetaHead {
        let algo = snap.algo_explicit.then(|| snap.config.algo.as_str());
        let mut text = String::new();
        let strings = [snap.tenant.as_str(), &snap.surface, DEFAULT_SEGMENT];
        super::text::write_meta_head(&mut text, strings, (label, algo));
        MetaHead {
            surface: snap.surface.clone(),
            label: label.to_owned(),
            algo,
            text,
        }
    }

    /// The head's text when an answer's `surface`, `segment` and `algo_version` parts are
    /// the ones it was written for.
    #[inline]
    pub(crate) fn get(
        &self,
        surface: &str,
        segment: &str,
        (label, algo): (&str, Option<&str>),
    ) -> Option<&str> {
        let same = surface == self.surface
            && segment == DEFAULT_SEGMENT
            && algo == self.algo
            && label == self.label;
        same.then_some(self.text.as_str())
    }
}

/// The weights a popularity answer of `snap` scores with: its surface config's
/// ([`crate::serve::spec::resolve_weights`] without request weights).
fn popularity_weights(snap: &TenantSnapshot) -> Weights {
    super::spec::resolve_weights(None, &snap.config).0
}

/// One slot of [`ScoreTexts`]: a score's bits and where its text is (`len` 0: empty).
#[derive(Clone, Copy, Default)]
struct Slot {
    bits: u64,
    start: u32,
    len: u32,
}

/// Score texts by the score's exact bits: an open-addressed table (linear probing, at most
/// half full, so a miss ends at an empty slot within a probe or two) over one string holding
/// the texts. Immutable once built.
pub(crate) struct ScoreTexts {
    /// The weights the scores were made with ([`ScoreTexts::popular`]; popularity only
    /// for [`ScoreTexts::of`]).
    weights: Weights,
    slots: Box<[Slot]>,
    /// `64 - log2(slots.len())`: the hash's top bits pick the slot.
    shift: u32,
    text: String,
    /// The scores themselves of [`ScoreTexts::popular`]'s items, in popularity order
    /// (empty for [`ScoreTexts::of`]): what a popularity walk's pool scores them
    /// ([`ScoreTexts::popular_under`]).
    popular: Box<[f64]>,
}

impl ScoreTexts {
    /// The texts of the scores the `n` most popular items of `snap` get in a popularity-only
    /// answer under its surface config's weights ([`crate::serve::spec::resolve_weights`]
    /// without request weights): the raw popularity saturated and blended with no other
    /// signal, exactly as the candidate pool scores them. `weights` is
    /// [`popularity_weights`] of `snap` (the caller has it already).
    pub(crate) fn popular(snap: &TenantSnapshot, weights: Weights, n: usize) -> ScoreTexts {
        let scores: Box<[f64]> = snap
            .pop_order
            .iter()
            .take(n)
            .map(|&k| {
                let pop = snap.pop_count.get(k as usize).copied().unwrap_or(0.0);
                popularity_score(&weights, pop)
            })
            .collect();
        let texts = ScoreTexts::of(scores.iter().copied(), n);
        ScoreTexts {
            weights,
            popular: scores,
            ..texts
        }
    }

    /// The scores of the snapshot's most popular items in popularity order (the first
    /// [`MEMO_ITEMS`]), as a popularity walk's pool scores them under weights `w`
    /// ([`crate::ranking::popularity_score`], bit for bit), when `w` are bit for bit the
    /// weights they were blended with; empty otherwise. The snapshot is the one this table
    /// was built for (a kept table has the same popularity arrays).
    #[inline]
    pub(crate) fn popular_under(&self, w: &Weights) -> &[f64] {
        let m = &self.weights;
        let same = w.pop.to_bits() == m.pop.to_bits()
            && w.cooc.to_bits() == m.cooc.to_bits()
            && w.emb.to_bits() == m.emb.to_bits();
        if same {
            &self.popular
        } else {
            &[]
        }
    }

    /// The texts of `scores` (at most `n` of them are taken; repeats are kept once).
    pub(crate) fn of(scores: impl IntoIterator<Item = f64>, n: usize) -> ScoreTexts {
        // At most half full: twice the entries, rounded up to a power of two (at least 2).
        let size = (2 * n).max(2).next_power_of_two();
        let mut memo = ScoreTexts {
            weights: Weights::POPULARITY_ONLY,
            slots: vec![Slot::default(); size].into_boxed_slice(),
            shift: 64 - size.trailing_zeros(),
            text: String::with_capacity(n * 20),
            popular: Box::default(),
        };
        for score in scores.into_iter().take(n) {
            memo.insert(score);
        }
        memo
    }

    /// The slot `bits` starts probing at.
    #[inline]
    fn home(&self, bits: u64) -> usize {
        // Fibonacci hashing: the multiply carries the low mantissa bits, where nearby
        // scores differ, into the top bits.
        (bits.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Adds the text of `score` unless its bits are there already.
    fn insert(&mut self, score: f64) {
        let bits = score.to_bits();
        let mask = self.slots.len() - 1;
        let mut i = self.home(bits);
        while self.slots[i].len != 0 {
            if self.slots[i].bits == bits {
                return;
            }
            i = (i + 1) & mask;
        }
        let start = self.text.len();
        write_f64(&mut self.text, score);
        self.slots[i] = Slot {
            bits,
            start: start as u32,
            len: (self.text.len() - start) as u32,
        };
    }

    /// The text [`write_f64`] writes for `score`, when it is in the table.
    #[inline]
    pub(crate) fn get(&self, score: f64) -> Option<&str> {
        let bits = score.to_bits();
        let mask = self.slots.len() - 1;
        let mut i = self.home(bits);
        loop {
            let s = self.slots[i];
            if s.len == 0 {
                return None;
            }
            if s.bits == bits {
                let start = s.start as usize;
                return self.text.get(start..start + s.len as usize);
            }
            i = (i + 1) & mask;
        }
    }

    /// How many score texts the table holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.len != 0).count()
    }
}

/// The most text [`ItemTexts`] holds: ranks after the one that crosses it get none (they
/// miss), so a catalog of very long ids costs at most this much more per snapshot.
pub(crate) const ITEM_TEXT_BYTES: usize = 64 * 1024;

/// One rank of [`ItemTexts`]: the item and score bits its text was written for, and where
/// the text ends (it starts where the previous rank's ends).
#[derive(Clone, Copy)]
struct Ranked {
    key: u32,
    end: u32,
    bits: u64,
}

/// The text of the item at each of the first ranks of a popularity answer, as the call
/// path's writer writes it (`{"item_id":…,"rank":…,"score":…}`, after a comma from the
/// second rank on): rank `r`'s is written for the `r`-th most popular item and its
/// popularity score ([`ScoreTexts::popular`]). Looked up by rank, the item's key and its
/// score's exact bits, all three compared. Immutable once built.
pub(crate) struct ItemTexts {
    ranks: Box<[Ranked]>,
    text: String,
}

impl ItemTexts {
    /// The texts of the first `n` ranks of a popularity answer of `snap`, scored as
    /// `scores` (the snapshot's [`ScoreTexts::popular`]) holds them.
    pub(crate) fn popular(snap: &TenantSnapshot, scores: &ScoreTexts, n: usize) -> ItemTexts {
        let order = snap.pop_order.iter().take(n).map(|&k| {
            let pop = snap.pop_count.get(k as usize).copied().unwrap_or(0.0);
            (
                k,
                snap.items.name(k),
                popularity_score(&scores.weights, pop),
            )
        });
        ItemTexts::of(order, scores)
    }

    /// The texts of `items` (key, id, score) at ranks 1, 2, … (score texts copied from
    /// `scores` when there, as the writer does), until [`ITEM_TEXT_BYTES`] are written.
    pub(crate) fn of<'a>(
        items: impl IntoIterator<Item = (u32, &'a str, f64)>,
        scores: &ScoreTexts,
    ) -> ItemTexts {
        let mut ranks = Vec::new();
        let mut text = String::new();
        for (i, (key, id, score)) in items.into_iter().enumerate() {
            if text.len() >= ITEM_TEXT_BYTES {
                break;
            }
            if i > 0 {
                text.push(',');
            }
            let rank = i as u64 + 1;
            super::text::write_plain_item(&mut text, (id, false), rank, (score, Some(scores)));
            ranks.push(Ranked {
                key,
                end: text.len() as u32,
                bits: score.to_bits(),
            });
        }
        ItemTexts {
            ranks: ranks.into_boxed_slice(),
            text,
        }
    }

    /// The text of the item at answer position `i` (rank `i + 1`, with its leading comma
    /// after the first), when it was written for item `key` scored `score` (exact bits).
    #[inline]
    pub(crate) fn get(&self, i: usize, key: u32, score: f64) -> Option<&str> {
        let r = self.ranks.get(i)?;
        if r.key != key || r.bits != score.to_bits() {
            return None;
        }
        let start = match i {
            0 => 0,
            _ => self.ranks[i - 1].end as usize,
        };
        self.text.get(start..r.end as usize)
    }

    /// The leading run of `items` (key, score) in answer order that this table was written
    /// for, each at its rank with the same key and exact score bits, and the text of that
    /// run: how many items it covers and their texts, which lie side by side, so the run is
    /// copied at once (a popularity answer's whole item list is one copy). `(0, "")` when
    /// the first item differs.
    #[inline]
    pub(crate) fn leading(&self, items: impl Iterator<Item = (u32, f64)>) -> (usize, &str) {
        let mut n = 0usize;
        for (r, (key, score)) in self.ranks.iter().zip(items) {
            if r.key != key || r.bits != score.to_bits() {
                break;
            }
            n += 1;
        }
        let Some(last) = n.checked_sub(1).and_then(|i| self.ranks.get(i)) else {
            return (0, "");
        };
        match self.text.get(..last.end as usize) {
            Some(text) => (n, text),
            None => (0, ""),
        }
    }

    /// How many ranks have a text.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ranks.len()
    }
}

/// The score of a candidate whose only signal is its raw popularity `pop` (the pool's
/// blend with every other signal zero).
fn popularity_score(w: &Weights, pop: f64) -> f64 {
    let raw = Signals {
        pop,
        ..Signals::default()
    };
    blend(w, &raw).score
}

/// Writes `score` as [`write_f64`] does, copying its text from `memo` when it is there.
#[inline]
pub(crate) fn write_score(out: &mut String, memo: Option<&ScoreTexts>, score: f64) {
    match memo.and_then(|m| m.get(score)) {
        Some(text) => out.push_str(text),
        None => write_f64(out, score),
    }
}

#[cfg(test)]
#[path = "prewritten_tests.rs"]
mod tests;
