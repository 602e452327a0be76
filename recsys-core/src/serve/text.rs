//! The JSON text of a [`Recommendation`], as `Engine::call` answers it: the members every
//! answer has (the items' ids, ranks and scores, `meta`'s strings, versions and counts) are
//! written by hand with their member names as pre-escaped literals, into one buffer reserved
//! from a size estimate; the members only some answers have (`reasons`, `explain`, rule
//! reports, diagnostics, the experiment, warnings) are handed to the serde writer
//! ([`crate::json::ser`]). The text is byte for byte what serialising the typed answer with
//! [`crate::json::to_text`] writes (the tests hold it to that on random answers); only the
//! cost differs (the serde path pays a call per member and grows its buffer twice).

use super::answer::{Counts, Item, Meta, Recommendation};
use crate::json::ser::{append_text, SerError};
use crate::json::write::{write_f64, write_std_string, write_u64};

/// Writes `r` as compact JSON text.
pub(crate) fn recommendation(r: &Recommendation) -> Result<String, SerError> {
    let Recommendation {
        items,
        meta,
        warnings,
    } = r;
    let mut out = String::with_capacity(estimate(r));
    out.push_str("{\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_item(&mut out, item)?;
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

/// Bytes the common members of `r` take (a little over, so that one allocation holds an
/// answer without reasons, explanations or diagnostics).
fn estimate(r: &Recommendation) -> usize {
    // `{"item_id":"…","rank":NN,"score":0.xxxxxxxxxxxxxxxx},`: 14 + 8 + 9 + 24 + 2 around the id.
    let items: usize = r.items.iter().map(|i| i.item_id.len() + 60).sum();
    let m = &r.meta;
    let opt = |s: &Option<String>| s.as_ref().map_or(0, |s| s.len() + 24);
    let strings = m.tenant_id.len()
        + m.surface.len()
        + m.segment.len()
        + m.algo_version.len()
        + opt(&m.config_version)
        + opt(&m.rules_version)
        + opt(&m.manifest_version)
        + opt(&m.release_id)
        + opt(&m.snapshot_surface)
        + opt(&m.request_id);
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
    out.push_str("{\"item_id\":");
    write_std_string(out, item_id);
    out.push_str(",\"rank\":");
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

/// `,"name":"value"` when the member is present.
fn opt_member(out: &mut String, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        out.push_str(name);
        write_std_string(out, v);
    }
}

/// The answer's `meta` object.
fn write_meta(out: &mut String, m: &Meta) -> Result<(), SerError> {
    let Meta {
        tenant_id,
        surface,
        segment,
        algo_version,
        config_version,
        rules_version,
        manifest_version,
        release_id,
        artifact_versions,
        snapshot_surface,
        request_id,
        counts,
        rules,
        diagnostics,
        experiment,
    } = m;
    out.push_str("{\"tenant_id\":");
    write_std_string(out, tenant_id);
    out.push_str(",\"surface\":");
    write_std_string(out, surface);
    out.push_str(",\"segment\":");
    write_std_string(out, segment);
    out.push_str(",\"algo_version\":");
    write_std_string(out, algo_version);
    opt_member(out, ",\"config_version\":", config_version);
    opt_member(out, ",\"rules_version\":", rules_version);
    opt_member(out, ",\"manifest_version\":", manifest_version);
    opt_member(out, ",\"release_id\":", release_id);
    if !artifact_versions.is_empty() {
        out.push_str(",\"artifact_versions\":{");
        for (i, (kind, version)) in artifact_versions.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_std_string(out, kind);
            out.push(':');
            write_std_string(out, version);
        }
        out.push('}');
    }
    opt_member(out, ",\"snapshot_surface\":", snapshot_surface);
    opt_member(out, ",\"request_id\":", request_id);
    out.push_str(",\"counts\":");
    write_counts(out, counts);
    if let Some(rules) = rules {
        out.push_str(",\"rules\":");
        append_text(out, rules)?;
    }
    if let Some(d) = diagnostics {
        out.push_str(",\"diagnostics\":");
        append_text(out, d)?;
    }
    if let Some(e) = experiment {
        out.push_str(",\"experiment\":");
        append_text(out, e)?;
    }
    out.push('}');
    Ok(())
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
