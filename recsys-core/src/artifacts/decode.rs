//! Go-compatible decoding rules shared by the artifact decoders, the manifest decoder, and the
//! checks every artifact goes through after decoding.
//!
//! The reference decodes these documents with Go's `encoding/json` into typed structs, and the
//! version hash is computed over that decoded form, so the decoding rules decide which blobs
//! verify. We reproduce them (artifacts in `stream`, straight from the bytes; the same rules
//! over a parsed tree in the test-only `oracle`):
//!
//! * struct member names match case-insensitively (Go's folding: ASCII case, plus U+212A KELVIN
//!   SIGN for `k` and U+017F LATIN SMALL LETTER LONG S for `s`); unknown members are ignored;
//! * members are applied in document order, so the last duplicate wins; a duplicate object
//!   member merges into the earlier one, and a duplicate array decodes element-wise into the
//!   earlier elements before being cut to its own length;
//! * `null` leaves a string, number or object member untouched and sets an array to "missing";
//! * counts are `int64` and need an integer literal (`3.0` and `1e2` are refused), scores are
//!   any finite number; any other JSON type is refused with the member's path;
//! * row limits are ours (Go has none): an array is refused once it reaches element `limit`.
//!
//! Known differences (stricter than Go): invalid UTF-8 and lone surrogates are rejected instead
//! of becoming U+FFFD; nesting is bounded by [`ArtifactLimits::max_depth`]; a duplicate array
//! does not revive elements beyond the length of the array just before it (Go can, through
//! the spare capacity of its slice). Window and `updated_at` strings must be RFC 3339 with an
//! upper-case `T` and `Z` (what Go's `time.RFC3339` layout accepts); fractional seconds with a
//! comma are refused.

use super::error::ArtifactError;
use super::model::*;
use crate::json::{parse_with, Limits, Value};
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub(super) type R<T> = Result<T, ArtifactError>;

/// A JSON path under construction, rendered only when an error needs it.
#[derive(Clone, Copy)]
pub(super) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'static str),
    Idx(&'a Path<'a>, usize),
}

impl Path<'_> {
    pub(super) fn render(&self) -> String {
        let mut s = String::with_capacity(32);
        self.write(&mut s);
        s
    }
    fn write(&self, out: &mut String) {
        match self {
            Path::Root => out.push('$'),
            Path::Key(p, k) => {
                p.write(out);
                out.push('.');
                out.push_str(k);
            }
            Path::Idx(p, i) => {
                p.write(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

/// Go's `encoding/json` field matching for an ASCII field name (`name` is lower case).
#[inline]
pub(super) fn key_is(key: &str, name: &str) -> bool {
    if key.len() == name.len() {
        // Members are nearly always spelled as the pipeline writes them.
        if key == name {
            return true;
        }
        return key.eq_ignore_ascii_case(name);
    }
    if key.is_ascii() {
        return false;
    }
    let mut chars = key.chars();
    for nb in name.bytes() {
        let ok = match chars.next() {
            Some(c) if c.is_ascii() => (c as u8).eq_ignore_ascii_case(&nb),
            Some('\u{212A}') => nb == b'k',
            Some('\u{17F}') => nb == b's',
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    chars.next().is_none()
}

pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Number(n) => describe_number(n.literal()),
        other => other.type_name().to_string(),
    }
}

/// `number 3.0`, the literal cut to a readable length.
pub(super) fn describe_number(lit: &str) -> String {
    match lit.char_indices().nth(64) {
        Some((cut, _)) => format!("number {}...", lit.get(..cut).unwrap_or("")),
        None => format!("number {lit}"),
    }
}

/// Go `int64` decoding of a number literal: integer literals in range only.
pub(super) fn int64_of(lit: &str) -> Option<i64> {
    if lit.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        None
    } else {
        lit.parse().ok()
    }
}

/// Go `float64` decoding of a number literal: any literal that does not overflow.
pub(super) fn float64_of(lit: &str) -> Option<f64> {
    lit.parse::<f64>().ok().filter(|f| f.is_finite())
}

pub(super) fn wrong(p: &Path<'_>, expected: &'static str, v: &Value) -> ArtifactError {
    ArtifactError::WrongType {
        path: p.render(),
        expected,
        found: describe(v),
    }
}

pub(super) fn dec_str(slot: &mut String, v: Value, p: &Path<'_>) -> R<()> {
    match v {
        Value::String(s) => {
            *slot = s;
            Ok(())
        }
        Value::Null => Ok(()),
        other => Err(wrong(p, "a string", &other)),
    }
}

pub(super) fn dec_i64(slot: &mut i64, v: Value, p: &Path<'_>) -> R<()> {
    match v {
        Value::Number(n) => match int64_of(n.literal()) {
            Some(i) => {
                *slot = i;
                Ok(())
            }
            None => Err(wrong(p, "an int64", &Value::Number(n))),
        },
        Value::Null => Ok(()),
        other => Err(wrong(p, "an int64", &other)),
    }
}

pub(super) fn dec_opt_i64(slot: &mut Option<i64>, v: Value, p: &Path<'_>) -> R<()> {
    match v {
        Value::Null => Ok(()),
        v => dec_i64(slot.get_or_insert(0), v, p),
    }
}

/// Applies every member of an object in document order; `null` is a no-op.
pub(super) fn dec_obj(v: Value, p: &Path<'_>, mut f: impl FnMut(&str, Value) -> R<()>) -> R<()> {
    match v {
        Value::Object(m) => {
            for (k, x) in m.into_vec() {
                f(&k, x)?;
            }
            Ok(())
        }
        Value::Null => Ok(()),
        other => Err(wrong(p, "an object", &other)),
    }
}

/// The JSON parser bounds used for artifacts and manifests (`\u0000` allowed, as in Go).
pub(super) fn json_limits(limits: &ArtifactLimits) -> Limits {
    Limits {
        max_bytes: limits.max_bytes,
        max_depth: limits.max_depth,
        max_number_len: 1000,
        // Artifacts are bounded by rows, neighbours and tags instead (ArtifactLimits).
        max_members: usize::MAX,
        reject_nul: false,
    }
}

pub(super) fn parse_json(bytes: &[u8], limits: &ArtifactLimits) -> R<Value> {
    if bytes.len() > limits.max_bytes {
        return Err(ArtifactError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    Ok(parse_with(bytes, json_limits(limits))?)
}

/// RFC 3339 as Go's `time.RFC3339` layout accepts it: upper-case `T` and `Z`, seconds 00-59.
pub(super) fn parse_go_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.get(10) != Some(&b'T') || b.last() == Some(&b'z') || b.get(17..19) == Some(b"60") {
        return None;
    }
    Timestamp::parse_rfc3339(s)
}

// ---------------------------------------------------------------------------------------------
// Manifest

/// Parses and validates manifest v1: `v == 1`, non-empty tenant and surface, `updated_at`
/// empty or RFC 3339. `current` must map strings to strings (or `null`); keys are matched
/// exactly (it is a map, not a struct), unknown keys are ignored, URIs are trimmed and blank
/// ones mean "absent". Comparing tenant and surface with the request is
/// [`verify_manifest_scope`]'s job.
pub fn parse_manifest(bytes: &[u8], limits: &ArtifactLimits) -> Result<ManifestV1, ArtifactError> {
    let root = parse_json(bytes, limits)?;
    let mut v: Option<i64> = None;
    let mut tenant = String::new();
    let mut surface = String::new();
    let mut updated_at_raw = String::new();
    // Indexed like `ArtifactKind::ALL`.
    let mut current: Option<[String; 5]> = None;
    let rp = Path::Root;
    dec_obj(root, &rp, |k, x| {
        if key_is(k, "v") {
            dec_opt_i64(&mut v, x, &Path::Key(&rp, "v"))
        } else if key_is(k, "tenant") {
            dec_str(&mut tenant, x, &Path::Key(&rp, "tenant"))
        } else if key_is(k, "surface") {
            dec_str(&mut surface, x, &Path::Key(&rp, "surface"))
        } else if key_is(k, "updated_at") {
            dec_str(&mut updated_at_raw, x, &Path::Key(&rp, "updated_at"))
        } else if key_is(k, "current") {
            dec_current(&mut current, x)
        } else {
            Ok(())
        }
    })?;
    match v {
        None => return Err(ArtifactError::MissingField { path: "$.v".into() }),
        Some(1) => {}
        Some(other) => return Err(ArtifactError::UnsupportedVersion { v: other }),
    }
    if tenant.is_empty() {
        return Err(ArtifactError::MissingField {
            path: "$.tenant".into(),
        });
    }
    if surface.is_empty() {
        return Err(ArtifactError::MissingField {
            path: "$.surface".into(),
        });
    }
    let updated_at = if updated_at_raw.is_empty() {
        None
    } else {
        match parse_go_rfc3339(&updated_at_raw) {
            Some(t) => Some(t),
            None => {
                return Err(ArtifactError::InvalidTimestamp {
                    path: "$.updated_at".into(),
                    value: updated_at_raw,
                })
            }
        }
    };
    let mut map = BTreeMap::new();
    if let Some(uris) = current {
        for (kind, uri) in ArtifactKind::ALL.into_iter().zip(uris) {
            let t = uri.trim();
            if !t.is_empty() {
                let uri = if t.len() == uri.len() {
                    uri
                } else {
                    t.to_string()
                };
                map.insert(kind, uri);
            }
        }
    }
    Ok(ManifestV1 {
        v: 1,
        tenant,
        surface,
        current: map,
        updated_at,
        updated_at_raw,
    })
}

/// Go `map[string]string` decoding: `null` clears, an object merges key by key (exact keys,
/// last wins, a `null` value stores ""), every value must be a string.
fn dec_current(slot: &mut Option<[String; 5]>, v: Value) -> R<()> {
    match v {
        Value::Null => {
            *slot = None;
            Ok(())
        }
        Value::Object(m) => {
            let uris = slot.get_or_insert_with(Default::default);
            for (k, x) in m.into_vec() {
                let s = match x {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => {
                        let mut path = String::from("$.current");
                        push_key_segment(&mut path, &k);
                        return Err(ArtifactError::WrongType {
                            path,
                            expected: "a string",
                            found: describe(&other),
                        });
                    }
                };
                if let Some(kind) = ArtifactKind::parse(&k) {
                    if let Some(u) = uris.get_mut(kind as usize) {
                        *u = s;
                    }
                }
            }
            Ok(())
        }
        other => Err(wrong(
            &Path::Key(&Path::Root, "current"),
            "an object",
            &other,
        )),
    }
}

fn push_key_segment(out: &mut String, key: &str) {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        out.push('.');
        out.push_str(key);
    } else {
        out.push('[');
        crate::json::write_go_string(out, key);
        out.push(']');
    }
}

/// Checks that a manifest belongs to the requested tenant and surface (exact comparison).
pub fn verify_manifest_scope(
    m: &ManifestV1,
    tenant: &str,
    surface: &str,
) -> Result<(), ArtifactError> {
    if m.tenant != tenant {
        return Err(ArtifactError::TenantMismatch {
            expected: tenant.to_string(),
            found: m.tenant.clone(),
        });
    }
    if m.surface != surface {
        return Err(ArtifactError::SurfaceMismatch {
            expected: surface.to_string(),
            found: m.surface.clone(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Artifacts

/// Envelope members as decoded, before the checks.
#[derive(Default)]
pub(super) struct RawEnvelope {
    pub(super) v: Option<i64>,
    pub(super) artifact_type: String,
    pub(super) tenant: String,
    pub(super) surface: String,
    pub(super) segment: String,
    pub(super) start: String,
    pub(super) end: String,
    pub(super) build: Build,
}

/// The checks after decoding (shared by every decoder): version, type, scope, window, rows.
pub(super) fn finish(env: RawEnvelope, body: ArtifactBody, kind: ArtifactKind) -> R<Artifact> {
    match env.v {
        None => return Err(ArtifactError::MissingField { path: "$.v".into() }),
        Some(1) => {}
        Some(other) => return Err(ArtifactError::UnsupportedVersion { v: other }),
    }
    if env.artifact_type.is_empty() {
        return Err(ArtifactError::MissingField {
            path: "$.artifact_type".into(),
        });
    }
    if env.artifact_type != kind.as_str() {
        return Err(ArtifactError::KindMismatch {
            expected: kind,
            found: env.artifact_type,
        });
    }
    if env.tenant.is_empty() {
        return Err(ArtifactError::MissingField {
            path: "$.tenant".into(),
        });
    }
    if env.surface.is_empty() {
        return Err(ArtifactError::MissingField {
            path: "$.surface".into(),
        });
    }
    let window = check_window(env.start, env.end)?;
    check_body(&body)?;
    Ok(Artifact {
        envelope: Envelope {
            v: 1,
            kind,
            tenant: env.tenant,
            surface: env.surface,
            segment: env.segment,
            window,
            build: env.build,
        },
        body,
    })
}

fn check_window(start_raw: String, end_raw: String) -> R<Window> {
    let start = parse_bound(&start_raw, "$.window.start")?;
    let end = parse_bound(&end_raw, "$.window.end")?;
    if end <= start {
        return Err(ArtifactError::InvalidWindow {
            path: "$.window".into(),
            detail: format!(
                "end {} is not after start {}",
                super::error::quote(&end_raw),
                super::error::quote(&start_raw)
            ),
        });
    }
    Ok(Window {
        start,
        end,
        start_raw,
        end_raw,
    })
}

fn parse_bound(raw: &str, path: &str) -> R<Timestamp> {
    if raw.is_empty() {
        return Err(ArtifactError::MissingField { path: path.into() });
    }
    parse_go_rfc3339(raw).ok_or_else(|| ArtifactError::InvalidWindow {
        path: path.into(),
        detail: format!("{} is not an rfc 3339 timestamp", super::error::quote(raw)),
    })
}

// ---------------------------------------------------------------------------------------------
// Row checks (pipelines' builtin validator, section 7 step 8)

fn empty_id(p: &Path<'_>, field: &'static str) -> ArtifactError {
    ArtifactError::EmptyId {
        path: Path::Key(p, field).render(),
    }
}

fn check_body(body: &ArtifactBody) -> R<()> {
    match body {
        ArtifactBody::Popularity(b) => {
            let p = Path::Key(&Path::Root, "items");
            for (i, it) in b.items.iter().flatten().enumerate() {
                check_counted(&Path::Idx(&p, i), &it.item_id, it.count)?;
            }
        }
        ArtifactBody::Cooc(b) => {
            let p = Path::Key(&Path::Root, "neighbors");
            for (i, row) in b.neighbors.iter().flatten().enumerate() {
                let rp = Path::Idx(&p, i);
                if row.item_id.is_empty() {
                    return Err(empty_id(&rp, "item_id"));
                }
                let ip = Path::Key(&rp, "items");
                for (j, n) in row.items.iter().flatten().enumerate() {
                    check_counted(&Path::Idx(&ip, j), &n.item_id, n.count)?;
                }
            }
        }
        ArtifactBody::Implicit(ImplicitArtifact { users })
        | ArtifactBody::SessionSeq(SessionSeqArtifact { users }) => {
            let p = Path::Key(&Path::Root, "users");
            for (i, row) in users.iter().flatten().enumerate() {
                let rp = Path::Idx(&p, i);
                if row.user_id.is_empty() {
                    return Err(empty_id(&rp, "user_id"));
                }
                let ip = Path::Key(&rp, "items");
                for (j, it) in row.items.iter().flatten().enumerate() {
                    let ep = Path::Idx(&ip, j);
                    if it.item_id.is_empty() {
                        return Err(empty_id(&ep, "item_id"));
                    }
                    // `!(x >= 0)` would also catch NaN, which JSON cannot produce.
                    if it.score < 0.0 {
                        return Err(ArtifactError::NegativeScore {
                            path: Path::Key(&ep, "score").render(),
                            score: it.score,
                        });
                    }
                }
            }
        }
        ArtifactBody::ContentSim(b) => {
            let p = Path::Key(&Path::Root, "items");
            for (i, it) in b.items.iter().flatten().enumerate() {
                if it.item_id.is_empty() {
                    return Err(empty_id(&Path::Idx(&p, i), "item_id"));
                }
            }
        }
    }
    Ok(())
}

fn check_counted(p: &Path<'_>, item_id: &str, count: i64) -> R<()> {
    if item_id.is_empty() {
        return Err(empty_id(p, "item_id"));
    }
    if count < 0 {
        return Err(ArtifactError::NegativeCount {
            path: Path::Key(p, "count").render(),
            count,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::parse_artifact;

    fn lim() -> ArtifactLimits {
        ArtifactLimits::default()
    }

    const HEAD: &str = r#""v":1,"artifact_type":"popularity","tenant":"t","surface":"s","window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"}"#;

    fn pop(body: &str) -> R<Artifact> {
        parse_artifact(
            format!("{{{HEAD},{body}}}").as_bytes(),
            Some(ArtifactKind::Popularity),
            &lim(),
        )
    }

    fn items(a: &Artifact) -> &[PopItem] {
        a.as_popularity()
            .and_then(|p| p.items.as_deref())
            .unwrap_or(&[])
    }

    #[test]
    fn go_key_folding() {
        assert!(key_is("items", "items"));
        assert!(key_is("ITEMS", "items"));
        assert!(key_is("Item_Id", "item_id"));
        assert!(!key_is("itemid", "item_id"));
        assert!(!key_is("item-id", "item_id"));
        assert!(key_is("\u{17F}egment", "segment"));
        assert!(key_is("\u{212A}", "k"));
        assert!(!key_is("\u{131}tems", "items"));
        assert!(!key_is("itemsé", "items"));
        assert!(!key_is("", "v"));
    }

    #[test]
    fn last_duplicate_wins_and_null_is_a_no_op() {
        let a = pop(r#""items":[{"item_id":"a","count":1,"COUNT":2}]"#).unwrap();
        assert_eq!(items(&a)[0].count, 2);
        let a = pop(r#""items":[{"item_id":"a","count":5,"count":null}]"#).unwrap();
        assert_eq!(items(&a)[0].count, 5);
        let a = pop(r#""items":[{"item_id":"a"}],"items":null"#).unwrap();
        assert!(a.as_popularity().unwrap().items.is_none());
        let a = pop(r#""items":[{"item_id":"a","count":1},{"item_id":"b","count":2}],"Items":[{"count":7}]"#).unwrap();
        assert_eq!(
            items(&a),
            &[PopItem {
                item_id: "a".into(),
                count: 7
            }]
        );
        let a = pop(r#""items":[{"item_id":"a","count":1}],"items":[]"#).unwrap();
        assert_eq!(a.as_popularity().unwrap().items, Some(vec![]));
    }

    #[test]
    fn duplicate_objects_merge() {
        let src = r#"{"v":1,"artifact_type":"popularity","tenant":"t","surface":"s",
            "window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-03T00:00:00Z"},
            "window":{"end":"2026-01-02T00:00:00Z"},"items":[]}"#;
        let a = parse_artifact(src.as_bytes(), None, &lim()).unwrap();
        assert_eq!(a.envelope.window.start_raw, "2026-01-01T00:00:00Z");
        assert_eq!(a.envelope.window.end_raw, "2026-01-02T00:00:00Z");
    }

    #[test]
    fn wrong_types_name_the_path() {
        let e = pop(r#""items":[{"item_id":"a","count":3.0}]"#).unwrap_err();
        assert_eq!(e.path(), Some("$.items[0].count"));
        assert_eq!(e.code(), "RECSYS_ARTIFACT_WRONG_TYPE");
        assert_eq!(
            e.to_string(),
            "$.items[0].count: cannot decode number 3.0 as an int64"
        );
        let e = pop(r#""items":[{"item_id":"a","count":9223372036854775808}]"#).unwrap_err();
        assert_eq!(e.path(), Some("$.items[0].count"));
        let e = pop(r#""items":[{"item_id":"a","count":"3"}]"#).unwrap_err();
        assert!(matches!(e, ArtifactError::WrongType { ref found, .. } if found == "string"));
        let e = pop(r#""items":{"item_id":"a"}"#).unwrap_err();
        assert_eq!(e.path(), Some("$.items"));
        let e = pop(r#""items":[1]"#).unwrap_err();
        assert_eq!(e.path(), Some("$.items[0]"));
        let e = pop(r#""items":[],"tenant":5"#).unwrap_err();
        assert_eq!(e.path(), Some("$.tenant"));
        let e = pop(r#""items":[],"window":"x""#).unwrap_err();
        assert_eq!(e.path(), Some("$.window"));
        let e = parse_artifact(b"[]", None, &lim()).unwrap_err();
        assert_eq!(e.path(), Some("$"));
        let e = parse_artifact(b"[]", Some(ArtifactKind::Cooc), &lim()).unwrap_err();
        assert_eq!(e.path(), Some("$"));
    }

    #[test]
    fn int64_edges() {
        let a = pop(
            r#""items":[{"item_id":"a","count":9223372036854775807},{"item_id":"b","count":-0}]"#,
        )
        .unwrap();
        assert_eq!(items(&a)[0].count, i64::MAX);
        assert_eq!(items(&a)[1].count, 0);
        assert!(pop(r#""items":[{"item_id":"a","count":1e2}]"#).is_err());
    }

    #[test]
    fn envelope_checks() {
        let base = |s: &str| parse_artifact(s.as_bytes(), Some(ArtifactKind::Popularity), &lim());
        let w = r#""window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z"}"#;
        let e = base(&format!(
            r#"{{"artifact_type":"popularity","tenant":"t","surface":"s",{w}}}"#
        ))
        .unwrap_err();
        assert_eq!(e.path(), Some("$.v"));
        let e = base(&format!(
            r#"{{"v":2,"artifact_type":"popularity","tenant":"t","surface":"s",{w}}}"#
        ))
        .unwrap_err();
        assert_eq!(e, ArtifactError::UnsupportedVersion { v: 2 });
        let e = base(&format!(
            r#"{{"v":1,"artifact_type":"cooc","tenant":"t","surface":"s",{w}}}"#
        ))
        .unwrap_err();
        assert_eq!(e.code(), "RECSYS_ARTIFACT_KIND_MISMATCH");
        let e = base(&format!(
            r#"{{"v":1,"artifact_type":"popularity","tenant":"","surface":"s",{w}}}"#
        ))
        .unwrap_err();
        assert_eq!(e.path(), Some("$.tenant"));
        let e = base(&format!(
            r#"{{"v":1,"artifact_type":"popularity","tenant":"t",{w}}}"#
        ))
        .unwrap_err();
        assert_eq!(e.path(), Some("$.surface"));
        let e = parse_artifact(br#"{"v":1,"artifact_type":"nope"}"#, None, &lim()).unwrap_err();
        assert_eq!(e.code(), "RECSYS_ARTIFACT_UNKNOWN_KIND");
        let e = parse_artifact(br#"{"v":1}"#, None, &lim()).unwrap_err();
        assert_eq!(e.path(), Some("$.artifact_type"));
        let e = parse_artifact(br#"null"#, None, &lim()).unwrap_err();
        assert_eq!(e.path(), Some("$.artifact_type"));
        let e = parse_artifact(br#"null"#, Some(ArtifactKind::Cooc), &lim()).unwrap_err();
        assert_eq!(e.path(), Some("$.v"));
    }

    #[test]
    fn window_checks() {
        let mk = |s: &str, e: &str| {
            let src = format!(
                r#"{{"v":1,"artifact_type":"popularity","tenant":"t","surface":"s","window":{{"start":"{s}","end":"{e}"}}}}"#
            );
            parse_artifact(src.as_bytes(), None, &lim())
        };
        assert!(mk("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z").is_ok());
        assert!(mk("2026-01-01T02:00:00+02:00", "2026-01-02T00:00:00Z").is_ok());
        assert!(mk("2026-01-01T00:00:00.5Z", "2026-01-02T00:00:00Z").is_ok());
        let e = mk("2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z").unwrap_err();
        assert_eq!(e.path(), Some("$.window"));
        assert_eq!(e.code(), "RECSYS_ARTIFACT_INVALID_WINDOW");
        let e = mk("2026-01-01", "2026-01-02T00:00:00Z").unwrap_err();
        assert_eq!(e.path(), Some("$.window.start"));
        assert_eq!(
            e.to_string(),
            r#"$.window.start: "2026-01-01" is not an rfc 3339 timestamp"#
        );
        for bad in [
            "2026-01-01t00:00:00Z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00z",
            "2026-01-01T23:59:60Z",
        ] {
            let e = mk("2025-12-31T00:00:00Z", bad).unwrap_err();
            assert_eq!(e.path(), Some("$.window.end"), "{bad}");
        }
        let e = mk("", "2026-01-02T00:00:00Z").unwrap_err();
        assert_eq!(
            e,
            ArtifactError::MissingField {
                path: "$.window.start".into()
            }
        );
    }

    #[test]
    fn row_checks() {
        let e = pop(r#""items":[{"item_id":"a","count":1},{"item_id":"","count":1}]"#).unwrap_err();
        assert_eq!(
            e,
            ArtifactError::EmptyId {
                path: "$.items[1].item_id".into()
            }
        );
        let e = pop(r#""items":[{"item_id":"a","count":-1}]"#).unwrap_err();
        assert_eq!(
            e,
            ArtifactError::NegativeCount {
                path: "$.items[0].count".into(),
                count: -1
            }
        );
        let e = pop(r#""items":[null]"#).unwrap_err();
        assert_eq!(e.path(), Some("$.items[0].item_id"));
    }

    #[test]
    fn manifest_parsing() {
        let m = parse_manifest(
            br#"{"V":1,"tenant":"t","surface":"s","current":{"popularity":" s3://b/p.json ","cooc":"","Implicit":"x","other":"y","session_seq":null},"updated_at":"2026-01-02T03:04:05Z"}"#,
            &lim(),
        )
        .unwrap();
        assert_eq!(m.uri(ArtifactKind::Popularity), Some("s3://b/p.json"));
        assert_eq!(m.current.len(), 1);
        assert_eq!(m.updated_at.map(|t| t.secs), Some(1767323045));
        let m = parse_manifest(
            br#"{"v":1,"tenant":"t","surface":"s","current":null}"#,
            &lim(),
        )
        .unwrap();
        assert!(m.current.is_empty() && m.updated_at.is_none());
        let m = parse_manifest(
            br#"{"v":1,"tenant":"t","surface":"s","current":{"cooc":"a"},"current":{"popularity":"b"}}"#,
            &lim(),
        )
        .unwrap();
        assert_eq!(m.current.len(), 2);
        let e = parse_manifest(
            br#"{"v":1,"tenant":"t","surface":"s","current":{"x":1}}"#,
            &lim(),
        )
        .unwrap_err();
        assert_eq!(e.path(), Some("$.current.x"));
        let e = parse_manifest(
            br#"{"v":1,"tenant":"t","surface":"s","current":{"a b":[]}}"#,
            &lim(),
        )
        .unwrap_err();
        assert_eq!(e.path(), Some("$.current[\"a b\"]"));
        let e = parse_manifest(
            br#"{"v":1,"tenant":"t","surface":"s","updated_at":"yesterday"}"#,
            &lim(),
        )
        .unwrap_err();
        assert_eq!(e.code(), "RECSYS_ARTIFACT_INVALID_TIMESTAMP");
        let e = parse_manifest(br#"{"v":2,"tenant":"t","surface":"s"}"#, &lim()).unwrap_err();
        assert_eq!(e, ArtifactError::UnsupportedVersion { v: 2 });
        let e = parse_manifest(br#"{"v":1.0,"tenant":"t","surface":"s"}"#, &lim()).unwrap_err();
        assert_eq!(e.path(), Some("$.v"));
        let e = parse_manifest(br#"{"v":1,"surface":"s"}"#, &lim()).unwrap_err();
        assert_eq!(e.path(), Some("$.tenant"));
        let e = parse_manifest(
            br#"{"v":1,"tenant":"t","surface":"s","current":[]}"#,
            &lim(),
        )
        .unwrap_err();
        assert_eq!(e.path(), Some("$.current"));
        assert!(verify_manifest_scope(
            &parse_manifest(br#"{"v":1,"tenant":"t","surface":"s"}"#, &lim()).unwrap(),
            "t",
            "x"
        )
        .is_err());
    }
}
