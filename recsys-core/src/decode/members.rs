//! Objects of lenient documents read by alias: a member map with repeated keys collapsed
//! (the last one used, with a warning), unknown keys warned about, and fields that accept
//! several spellings, the first spelling with a usable value winning and the later ones
//! reported as ignored.
//!
//! An object's members are kept as one list sorted by key ([`KeyWord`] order: a word read
//! from the key's first bytes, then its length, then the rest), built by one sort and read
//! by binary search behind a 64-bit filter of the keys present, so most lookups of an absent
//! alias compare nothing and most comparisons are of two integers; the same words, hashed,
//! answer which keys a format knows ([`KeySet`]).

use super::{quote, Code, Decoder, Severity};
use crate::json::{Map, Value};
use crate::probe::{Probe, Slot as ProbeSlot};
use std::cmp::Ordering;

/// How many repeated / unknown keys of one object are reported one by one (the rest in one
/// summary finding).
pub const MAX_KEY_FINDINGS: usize = 10;

/// The codes and wording of an object's key warnings.
#[derive(Clone, Copy, Debug)]
pub struct KeyNotes {
    /// Code of a key that appears more than once.
    pub duplicate: &'static str,
    /// Code of a key the format does not know.
    pub unknown: &'static str,
    /// What is said of an unknown key (`key "k" <unknown_what>`).
    pub unknown_what: &'static str,
    /// Code of a known key that has no effect (a shadowed alias, an ignored member).
    pub ignored: &'static str,
}

/// One value read from an alias.
#[derive(Clone, Debug, PartialEq)]
pub enum Got<T> {
    /// Absent-like (`null`, a blank string, an empty list): the next alias is tried.
    Empty,
    /// Wrong JSON type (already reported): the next alias is tried.
    Wrong,
    /// The alias wins (the value may still have failed to parse: `Val(None)`).
    Val(T),
}

/// A key and a word read from its first bytes: the first eight, or, for a shorter key, its
/// bytes gathered by overlapping reads (the first and last four; the first, middle and last
/// one), so that with the key's length the word identifies a key of at most eight bytes.
/// Equal keys have equal words, so most keys are told apart without reading their text.
/// The order of words is arbitrary but fixed (lookups and runs of repeats need no more).
#[derive(Clone, Copy, Debug)]
struct KeyWord<'k> {
    word: u64,
    key: &'k str,
}

impl<'k> KeyWord<'k> {
    /// The word of `key`.
    #[inline]
    fn new(key: &'k str) -> KeyWord<'k> {
        let b = key.as_bytes();
        let word = match (
            b.first_chunk::<8>(),
            b.first_chunk::<4>(),
            b.last_chunk::<4>(),
        ) {
            (Some(head), _, _) => u64::from_le_bytes(*head),
            (None, Some(lo), Some(hi)) => {
                (u64::from(u32::from_le_bytes(*lo)) << 32) | u64::from(u32::from_le_bytes(*hi))
            }
            _ => match b {
                [] => 0,
                [first, ..] => {
                    let (mid, last) = (b[b.len() / 2], b[b.len() - 1]);
                    (u64::from(*first) << 16) | (u64::from(mid) << 8) | u64::from(last)
                }
            },
        };
        KeyWord { word, key }
    }

    /// A hash of the word and the length.
    #[inline]
    fn hash(&self) -> u64 {
        (self.word ^ self.key.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// One of 64 bits chosen by the hash (a member filter, [`Members::get`]).
    #[inline]
    fn bit(&self) -> u64 {
        1 << (self.hash() >> 58)
    }

    /// A total order consistent with key equality: the word, the length, then the bytes
    /// after the eighth (a key of at most eight bytes is decided by its word and length).
    #[inline]
    fn order(&self, other: &KeyWord<'_>) -> Ordering {
        let (a, b) = (self.key.as_bytes(), other.key.as_bytes());
        self.word
            .cmp(&other.word)
            .then(a.len().cmp(&b.len()))
            .then_with(|| match (a.get(8..), b.get(8..)) {
                (Some(x), Some(y)) if !x.is_empty() => x.cmp(y),
                _ => Ordering::Equal,
            })
    }
}

/// A fixed set of keys (a format's known member names): a [`Probe`] table of at least four
/// slots per key, probed from the key's hash, so a lookup compares about one key. A probe
/// run is never longer than the set, whatever is asked.
pub struct KeySet {
    slots: Probe<Option<KeyWord<'static>>>,
}

impl ProbeSlot for Option<KeyWord<'static>> {
    #[inline]
    fn is_free(&self) -> bool {
        self.is_none()
    }
}

impl KeySet {
    /// The set of `keys` (repeats allowed).
    pub fn new(keys: impl IntoIterator<Item = &'static str>) -> KeySet {
        let keys: Vec<KeyWord<'static>> = keys.into_iter().map(KeyWord::new).collect();
        let mut set = KeySet {
            slots: Probe::with_slots((keys.len() * 4).next_power_of_two().max(8)),
        };
        for k in keys {
            if let (i, false) = set.find(&k) {
                set.slots.take(i, Some(k));
            }
        }
        set
    }

    /// The slot holding `k` (true), else the free slot where its probe run ends (false).
    #[inline]
    fn find(&self, k: &KeyWord<'_>) -> (usize, bool) {
        self.slots.find(k.hash(), |s| {
            s.as_ref().is_some_and(|s| s.order(k) == Ordering::Equal)
        })
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: &str) -> bool {
        self.find(&KeyWord::new(key)).1
    }
}

/// One member of an object: its key and word, its value and its position.
#[derive(Clone, Copy)]
struct Slot<'a> {
    key: KeyWord<'a>,
    value: &'a Value,
    at: usize,
}

/// An object's members by key (a repeated key: the last value), at a fixed path.
pub struct Members<'a> {
    /// One slot per distinct key (the last member of that key), in [`KeyWord`] order.
    fields: Vec<Slot<'a>>,
    /// The [`KeyWord::bit`] of every key: a key whose bit is clear is absent.
    filter: u64,
    path: String,
    notes: KeyNotes,
}

impl Decoder {
    /// The members of `map` (the object at the current path), warning (in both modes) about
    /// every repeated key (in the order of each key's second appearance) and every key
    /// `known` rejects (asked once per distinct key; in the order of first appearance), at
    /// most [`MAX_KEY_FINDINGS`] of each listed one by one. O(n log n) in the member count:
    /// one sort of the members by key, the position breaking ties.
    pub fn members<'a>(
        &mut self,
        map: &'a Map,
        known: impl Fn(&str) -> bool,
        notes: KeyNotes,
    ) -> Members<'a> {
        let mut fields: Vec<Slot<'a>> = map
            .iter()
            .enumerate()
            .map(|(at, (k, value))| Slot {
                key: KeyWord::new(k),
                value,
                at,
            })
            .collect();
        fields.sort_unstable_by(|a, b| a.key.order(&b.key).then(a.at.cmp(&b.at)));
        let mut duplicates: Vec<(usize, &'a str)> = Vec::new();
        let mut unknown: Vec<(usize, &'a str)> = Vec::new();
        // Each run of one key is collapsed in place to its last member.
        let (mut read, mut kept) = (0, 0);
        while read < fields.len() {
            let first = fields[read];
            let mut end = read + 1;
            while end < fields.len() && fields[end].key.order(&first.key) == Ordering::Equal {
                end += 1;
            }
            if end - read > 1 {
                duplicates.push((fields[read + 1].at, first.key.key));
            }
            if !known(first.key.key) {
                unknown.push((first.at, first.key.key));
            }
            fields[kept] = fields[end - 1];
            kept += 1;
            read = end;
        }
        fields.truncate(kept);
        let filter = fields.iter().fold(0, |f, s| f | s.key.bit());
        duplicates.sort_unstable();
        unknown.sort_unstable();
        let members = Members {
            fields,
            filter,
            path: self.path().to_owned(),
            notes,
        };
        let what = "appears more than once; the last value is used";
        members.report_keys(self, &duplicates, notes.duplicate, what);
        members.report_keys(self, &unknown, notes.unknown, notes.unknown_what);
        members
    }
}

/// Whether a value counts as given: not `null`, a blank string or an empty list or object.
pub fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    }
}

impl<'a> Members<'a> {
    /// The value of `key` (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        let k = KeyWord::new(key);
        if self.filter & k.bit() == 0 {
            return None;
        }
        let i = self.fields.binary_search_by(|s| s.key.order(&k)).ok()?;
        Some(self.fields[i].value)
    }

    /// The path of member `key`.
    pub fn child(&self, d: &Decoder, key: &str) -> String {
        d.child_path(&self.path, key)
    }

    /// Runs `f` at member `key`'s path. When the decoder is at this object's path (the
    /// usual case) the key is pushed onto its path and popped after, with no new string;
    /// otherwise the path is built ([`Members::child`]).
    pub fn at<R>(&self, d: &mut Decoder, key: &str, f: impl FnOnce(&mut Decoder) -> R) -> R {
        if d.path() == self.path {
            d.field(key, f)
        } else {
            let path = self.child(d, key);
            d.at(&path, f)
        }
    }

    /// The field spelled by `aliases`: `read` runs on each present alias in turn (at its
    /// path, given the value and the alias) until one gives [`Got::Val`]; later aliases with
    /// a value are then warned about as ignored. `None` when no alias gives a value.
    pub fn first<T>(
        &self,
        d: &mut Decoder,
        aliases: &[&'static str],
        mut read: impl FnMut(&mut Decoder, &Value, &str) -> Got<T>,
    ) -> Option<(&'static str, T)> {
        for (i, &k) in aliases.iter().enumerate() {
            let Some(v) = self.get(k) else { continue };
            match self.at(d, k, |d| read(d, v, k)) {
                Got::Empty | Got::Wrong => continue,
                Got::Val(t) => {
                    self.shadowed(d, k, &aliases[i + 1..]);
                    return Some((k, t));
                }
            }
        }
        None
    }

    /// Warns that each of `later` that has a value is ignored because `winner` is set.
    pub fn shadowed(&self, d: &mut Decoder, winner: &str, later: &[&str]) {
        for &k in later {
            if self.get(k).is_some_and(non_empty) {
                let message = format!("{k:?} is ignored because {winner:?} is set");
                self.warn(d, k, self.notes.ignored, message);
            }
        }
    }

    /// Warns that each of `keys` that has a value is ignored, for `reason`.
    pub fn ignore(&self, d: &mut Decoder, keys: &[&str], reason: &str) {
        for &k in keys {
            if self.get(k).is_some_and(non_empty) {
                let message = format!("{k:?} is ignored: {reason}");
                self.warn(d, k, self.notes.ignored, message);
            }
        }
    }

    /// A warning at member `key`.
    pub fn warn(&self, d: &mut Decoder, key: &str, code: impl Code, message: impl Into<String>) {
        let path = self.child(d, key);
        d.note_at(Severity::Warn, path, code, message);
    }

    fn report_keys(&self, d: &mut Decoder, keys: &[(usize, &str)], code: &'static str, what: &str) {
        for (_, k) in keys.iter().take(MAX_KEY_FINDINGS) {
            self.warn(d, k, code, format!("key {} {what}", quote(k)));
        }
        if keys.len() > MAX_KEY_FINDINGS {
            let more = keys.len() - MAX_KEY_FINDINGS;
            let message =
                format!("{more} more keys {what} (only the first {MAX_KEY_FINDINGS} are listed)");
            d.note_at(Severity::Warn, self.path.clone(), code, message);
        }
    }
}
