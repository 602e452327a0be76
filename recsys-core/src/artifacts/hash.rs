//! Version hashes (pipelines.md section 4) and verification.
//!
//! The version is the lowercase hex SHA-256 of the artifact rendered exactly as Go's
//! `encoding/json.Marshal` renders the typed struct with the build block blanked. Members come
//! in struct order (`v`, `artifact_type`, `tenant`, `surface`, `segment`, `window` with `start`
//! and `end`, the body, then `"build":{"built_at":"","version":""}`); `segment` is left out
//! when empty; missing arrays are `null` and empty ones `[]`; strings use Go's escapes and
//! scores Go's float format. Window strings are hashed verbatim.

use super::error::ArtifactError;
use super::model::*;
use crate::json::{format_go_float, write_go_string};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

#[cfg(any(test, feature = "bench-internals"))]
/// The exact bytes the version hash is taken over.
pub fn canonical_hash_input(a: &Artifact) -> String {
    let mut out = String::with_capacity(256 + 48 * a.body.row_count());
    write_canonical(a, &mut out, &mut |_| {});
    out
}

/// Bytes of canonical text handed to the hasher at a time.
pub(super) const HASH_CHUNK: usize = 64 * 1024;

/// The envelope members of an artifact's canonical text, in Go's struct order.
pub(crate) struct EnvelopeHead<'a> {
    pub v: u32,
    pub kind: ArtifactKind,
    pub tenant: &'a str,
    pub surface: &'a str,
    pub segment: &'a str,
    pub start: &'a str,
    pub end: &'a str,
}

impl EnvelopeHead<'_> {
    /// Writes the canonical text up to the value of `body`'s member: `{"v":..,
    /// "artifact_type":..,"tenant":..,"surface":..,"segment"?:..,"window":{..},"<body>":`.
    /// The decode-then-hash path and the one-pass loader both write it here, so their
    /// versions cannot drift apart.
    pub(crate) fn write(&self, out: &mut String, body: ArtifactKind) {
        let _ = write!(out, "{{\"v\":{}", self.v);
        out.push_str(",\"artifact_type\":");
        write_go_string(out, self.kind.as_str());
        out.push_str(",\"tenant\":");
        write_go_string(out, self.tenant);
        out.push_str(",\"surface\":");
        write_go_string(out, self.surface);
        if !self.segment.is_empty() {
            out.push_str(",\"segment\":");
            write_go_string(out, self.segment);
        }
        out.push_str(",\"window\":{\"start\":");
        write_go_string(out, self.start);
        out.push_str(",\"end\":");
        write_go_string(out, self.end);
        out.push_str("},\"");
        out.push_str(body.body_key());
        out.push_str("\":");
    }
}

/// Writes the canonical text of `a` into `out`, calling `flush(out)` after every row, which
/// may consume and clear what was written so far (the version hash streams it into SHA-256
/// instead of holding the whole text).
fn write_canonical(a: &Artifact, out: &mut String, flush: &mut dyn FnMut(&mut String)) {
    let env = &a.envelope;
    // Go writes the struct's `artifact_type` string; after parsing it equals the body's kind.
    let head = EnvelopeHead {
        v: env.v,
        kind: env.kind,
        tenant: &env.tenant,
        surface: &env.surface,
        segment: &env.segment,
        start: &env.window.start_raw,
        end: &env.window.end_raw,
    };
    head.write(out, a.body.kind());
    match &a.body {
        ArtifactBody::Popularity(b) => write_list(out, &b.items, |out, it| {
            write_counted(out, &it.item_id, it.count);
            flush(out);
        }),
        ArtifactBody::Cooc(b) => write_list(out, &b.neighbors, |out, row| {
            out.push_str("{\"item_id\":");
            write_go_string(out, &row.item_id);
            out.push_str(",\"items\":");
            write_list(out, &row.items, |out, n| {
                write_counted(out, &n.item_id, n.count)
            });
            out.push('}');
            flush(out);
        }),
        ArtifactBody::Implicit(ImplicitArtifact { users })
        | ArtifactBody::SessionSeq(SessionSeqArtifact { users }) => {
            write_list(out, users, |out, row| {
                out.push_str("{\"user_id\":");
                write_go_string(out, &row.user_id);
                out.push_str(",\"items\":");
                write_list(out, &row.items, |out, it| {
                    out.push_str("{\"item_id\":");
                    write_go_string(out, &it.item_id);
                    out.push_str(",\"score\":");
                    write_float(out, it.score);
                    out.push('}');
                });
                out.push('}');
                flush(out);
            })
        }
        ArtifactBody::ContentSim(b) => write_list(out, &b.items, |out, it| {
            out.push_str("{\"item_id\":");
            write_go_string(out, &it.item_id);
            out.push_str(",\"tags\":");
            write_list(out, &it.tags, |out, t| write_go_string(out, t));
            out.push('}');
            flush(out);
        }),
    }
    out.push_str(",\"build\":{\"built_at\":\"\",\"version\":\"\"}}");
}

fn write_list<T>(out: &mut String, list: &Option<Vec<T>>, mut each: impl FnMut(&mut String, &T)) {
    match list {
        None => out.push_str("null"),
        Some(v) => {
            out.push('[');
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                each(out, x);
            }
            out.push(']');
        }
    }
}

fn write_counted(out: &mut String, item_id: &str, count: i64) {
    out.push_str("{\"item_id\":");
    write_go_string(out, item_id);
    let _ = write!(out, ",\"count\":{count}}}");
}

/// Go float rendering; parsing never yields a non-finite score, a hand-built one renders as
/// `null` (Go's encoder would refuse it).
fn write_float(out: &mut String, f: f64) {
    if f.is_finite() {
        format_go_float(out, f);
    } else {
        out.push_str("null");
    }
}

/// The version the artifact should declare: SHA-256 of [`canonical_hash_input`], streamed
/// through the hasher in chunks (the canonical text is never held whole).
pub fn version_hash(a: &Artifact) -> String {
    let mut hasher = Sha256::new();
    let mut out = String::with_capacity(HASH_CHUNK + 4096);
    write_canonical(a, &mut out, &mut |out: &mut String| {
        if out.len() >= HASH_CHUNK {
            hasher.update(out.as_bytes());
            out.clear();
        }
    });
    hasher.update(out.as_bytes());
    hex(&hasher.finalize())
}

pub(super) fn hex(digest: &[u8]) -> String {
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Recomputes the version hash and checks it against `build.version` and, when given, against
/// `expected_version` (typically [`version_from_uri`] of the blob's URI). Returns the version.
/// `built_at` and `source_hash` are not checked (they are not covered by the hash).
pub fn verify(a: &Artifact, expected_version: Option<&str>) -> Result<String, ArtifactError> {
    if a.envelope.build.version.is_empty() {
        return Err(missing_version());
    }
    check_version(&a.envelope.build, version_hash(a), expected_version)
}

fn missing_version() -> ArtifactError {
    ArtifactError::MissingField {
        path: "$.build.version".into(),
    }
}

/// Compares a computed version with the declared one and the expected one (see [`verify`]).
pub(super) fn check_version(
    build: &Build,
    computed: String,
    expected_version: Option<&str>,
) -> Result<String, ArtifactError> {
    let declared = &build.version;
    if declared.is_empty() {
        return Err(missing_version());
    }
    if computed != *declared {
        return Err(ArtifactError::HashMismatch {
            computed,
            declared: declared.clone(),
        });
    }
    if let Some(expected) = expected_version {
        if expected != computed {
            return Err(ArtifactError::VersionMismatch {
                expected: expected.to_string(),
                found: computed,
            });
        }
    }
    Ok(computed)
}

/// Checks that the artifact belongs to `tenant` and `surface` (exact comparison). The reference
/// service never does this; we do.
pub fn verify_against(a: &Artifact, tenant: &str, surface: &str) -> Result<(), ArtifactError> {
    verify_scope(&a.envelope, tenant, surface)
}

pub(super) fn verify_scope(
    env: &Envelope,
    tenant: &str,
    surface: &str,
) -> Result<(), ArtifactError> {
    if env.tenant != tenant {
        return Err(ArtifactError::TenantMismatch {
            expected: tenant.to_string(),
            found: env.tenant.clone(),
        });
    }
    if env.surface != surface {
        return Err(ArtifactError::SurfaceMismatch {
            expected: surface.to_string(),
            found: env.surface.clone(),
        });
    }
    Ok(())
}

/// The version named by a blob URI: the file stem of its last path segment, if that is 64
/// lowercase hex digits (`s3://bucket/demo/home/cooc/<version>.json`).
pub fn version_from_uri(uri: &str) -> Option<&str> {
    let name = uri.trim().rsplit('/').next()?;
    let stem = match name.rsplit_once('.') {
        Some((stem, _ext)) => stem,
        None => name,
    };
    if stem.len() == 64
        && stem
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Some(stem)
    } else {
        None
    }
}

/// Everything the loader needs for one blob: parse as `kind`, verify the hash (and the URI
/// stem when the URI names a version), and check tenant and surface.
pub fn load_artifact(
    bytes: &[u8],
    kind: ArtifactKind,
    uri: &str,
    tenant: &str,
    surface: &str,
    limits: &ArtifactLimits,
) -> Result<Artifact, ArtifactError> {
    let a = super::parse_artifact(bytes, Some(kind), limits)?;
    verify(&a, version_from_uri(uri))?;
    verify_against(&a, tenant, surface)?;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn artifact(body: ArtifactBody, segment: &str) -> Artifact {
        Artifact {
            envelope: Envelope {
                v: 1,
                kind: body.kind(),
                tenant: "demo".into(),
                surface: "home".into(),
                segment: segment.into(),
                window: Window {
                    start: Timestamp::from_secs(0),
                    end: Timestamp::from_secs(86400),
                    start_raw: "1970-01-01T00:00:00Z".into(),
                    end_raw: "1970-01-02T00:00:00Z".into(),
                },
                build: Build::default(),
            },
            body,
        }
    }

    #[test]
    fn hash_input_shape() {
        let a = artifact(ArtifactBody::absent(ArtifactKind::Cooc), "");
        assert_eq!(
            canonical_hash_input(&a),
            r#"{"v":1,"artifact_type":"cooc","tenant":"demo","surface":"home","window":{"start":"1970-01-01T00:00:00Z","end":"1970-01-02T00:00:00Z"},"neighbors":null,"build":{"built_at":"","version":""}}"#
        );
        let a = artifact(
            ArtifactBody::SessionSeq(SessionSeqArtifact {
                users: Some(vec![UserRow {
                    user_id: "u<".into(),
                    items: Some(vec![ScoredItem {
                        item_id: "x".into(),
                        score: 1e21,
                    }]),
                }]),
            }),
            "seg",
        );
        assert_eq!(
            canonical_hash_input(&a),
            r#"{"v":1,"artifact_type":"session_seq","tenant":"demo","surface":"home","segment":"seg","window":{"start":"1970-01-01T00:00:00Z","end":"1970-01-02T00:00:00Z"},"users":[{"user_id":"u\u003c","items":[{"item_id":"x","score":1e+21}]}],"build":{"built_at":"","version":""}}"#
        );
    }

    #[test]
    fn verify_reports_mismatches() {
        let mut a = artifact(
            ArtifactBody::Popularity(PopularityArtifact {
                items: Some(vec![]),
            }),
            "d",
        );
        assert_eq!(
            verify(&a, None).unwrap_err().path(),
            Some("$.build.version")
        );
        a.envelope.build.version = "0".repeat(64);
        assert_eq!(
            verify(&a, None).unwrap_err().code(),
            "RECSYS_ARTIFACT_HASH_MISMATCH"
        );
        let v = version_hash(&a);
        a.envelope.build.version = v.clone();
        assert_eq!(verify(&a, None).unwrap(), v);
        assert_eq!(verify(&a, Some(&v)).unwrap(), v);
        let e = verify(&a, Some("abc")).unwrap_err();
        assert_eq!(e.code(), "RECSYS_ARTIFACT_VERSION_MISMATCH");
        assert!(verify_against(&a, "demo", "home").is_ok());
        assert_eq!(
            verify_against(&a, "x", "home").unwrap_err().code(),
            "RECSYS_ARTIFACT_TENANT_MISMATCH"
        );
        assert_eq!(
            verify_against(&a, "demo", "x").unwrap_err().code(),
            "RECSYS_ARTIFACT_SURFACE_MISMATCH"
        );
    }

    #[test]
    fn non_finite_scores_do_not_panic() {
        let a = artifact(
            ArtifactBody::Implicit(ImplicitArtifact {
                users: Some(vec![UserRow {
                    user_id: "u".into(),
                    items: Some(vec![ScoredItem {
                        item_id: "x".into(),
                        score: f64::NAN,
                    }]),
                }]),
            }),
            "",
        );
        assert!(canonical_hash_input(&a).contains(r#""score":null"#));
    }

    #[test]
    fn versions_from_uris() {
        let v = "64c20045f5f4c79e2a84778d165077eea4af2c3c0f63d46794103759c566922c";
        assert_eq!(
            version_from_uri(&format!("s3://b/demo/home/popularity/{v}.json")),
            Some(v)
        );
        assert_eq!(
            version_from_uri(&format!(" file:///abs/x/{v}.json ")),
            Some(v)
        );
        assert_eq!(version_from_uri(v), Some(v));
        assert_eq!(
            version_from_uri(&format!("s3://b/{}.json", v.to_uppercase())),
            None
        );
        assert_eq!(version_from_uri("s3://b/k1"), None);
        assert_eq!(version_from_uri(&format!("s3://b/{v}/")), None);
        assert_eq!(version_from_uri(""), None);
    }
}
