//! Compiling documents into a snapshot: validates the tenant config (strictly), parses the
//! rules (leniently, reporting every dropped rule), verifies the manifest and every artifact
//! it references (version hash, type, tenant and surface), and hands plain signal data to
//! [`TenantSnapshot::compile`]. Any invalid input fails the whole compile: the snapshot that
//! is serving stays in place.

use crate::artifacts::{self, ArtifactBody, ArtifactKind, ArtifactLimits};
use crate::config::TenantConfig;
use crate::error::{ApiError, Problem};
use crate::json::{self, Map, Value};
use crate::request::is_path_safe;
use crate::rules::{self, RulesParseOptions};
use crate::snapshot::{SignalData, TenantSnapshot, Versions};

/// The documents of one tenant/surface, as given to `load_snapshot`.
pub struct Documents<'a> {
    pub tenant: &'a str,
    pub surface: &'a str,
    pub config: Option<&'a Value>,
    pub rules: Option<&'a Value>,
    pub manifest: Option<&'a Value>,
    /// URI → artifact (a JSON document, or a string holding its raw text).
    pub artifacts: Option<&'a Map>,
}

impl<'a> Documents<'a> {
    /// Reads `{"tenant", "surface", "config"?, "rules"?, "manifest"?, "artifacts"?}`.
    pub fn from_value(v: &'a Value) -> Result<Documents<'a>, ApiError> {
        let bad = |m: String| ApiError::new("RECSYS_INVALID_DOCUMENTS", 400, m);
        let m = v
            .as_object()
            .ok_or_else(|| bad("documents must be a json object".into()))?;
        for (k, _) in m.iter() {
            if ![
                "tenant",
                "surface",
                "config",
                "rules",
                "manifest",
                "artifacts",
            ]
            .contains(&k)
            {
                return Err(bad(format!("unknown member {k:?} in documents")));
            }
        }
        let name = |k: &str| -> Result<&'a str, ApiError> {
            let s = m.get(k).and_then(Value::as_str).unwrap_or("").trim();
            if !is_path_safe(s) {
                return Err(bad(format!(
                    "documents.{k} must be a non-empty path-safe string, got {s:?}"
                )));
            }
            Ok(s)
        };
        let artifacts = match m.get("artifacts") {
            None | Some(Value::Null) => None,
            Some(Value::Object(a)) => Some(a),
            Some(other) => {
                return Err(bad(format!(
                    "documents.artifacts must be an object, got {}",
                    other.type_name()
                )))
            }
        };
        Ok(Documents {
            tenant: name("tenant")?,
            surface: name("surface")?,
            config: m.get("config"),
            rules: m.get("rules"),
            manifest: m.get("manifest").filter(|v| !v.is_null()),
            artifacts,
        })
    }
}

/// What a compile produced, for the caller and the audit trail.
pub struct CompileReport {
    pub warnings: Vec<Problem>,
    pub rules_loaded: usize,
    pub rules_dropped: Vec<Problem>,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => json::to_string(other),
    }
}

/// Compiles documents into a snapshot.
pub fn compile(
    docs: &Documents,
    limits: &ArtifactLimits,
) -> Result<(TenantSnapshot, CompileReport), ApiError> {
    let mut versions = Versions::default();
    let mut warnings = Vec::new();
    // Config: strict.
    let config = match docs.config {
        None => TenantConfig::default(),
        Some(v) => {
            let (c, w) = TenantConfig::from_value(v).map_err(|problems| {
                let first = problems
                    .first()
                    .map(|p| p.message.clone())
                    .unwrap_or_default();
                ApiError::new(
                    "RECSYS_INVALID_CONFIG",
                    422,
                    format!("invalid config: {first}"),
                )
                .with_problems(problems)
            })?;
            versions.config_version = Some(json::etag_of_value(v)?);
            warnings.extend(w);
            c
        }
    };
    // Rules: lenient (what serving does with a stored document), drops reported.
    let (rule_list, dropped) = match docs.rules {
        None => (Vec::new(), Vec::new()),
        Some(v) => {
            let opts = RulesParseOptions {
                strict: false,
                tenant: docs.tenant.to_string(),
                ..RulesParseOptions::default()
            };
            let doc =
                rules::parse_rules(json::to_string(v).as_bytes(), &opts).map_err(ApiError::from)?;
            versions.rules_version = Some(json::etag_of_value(v)?);
            warnings.extend(doc.warnings);
            (doc.rules, doc.dropped)
        }
    };
    // Manifest and artifacts.
    let mut data = SignalData::default();
    if let Some(mv) = docs.manifest {
        let manifest =
            artifacts::parse_manifest(text_of(mv).as_bytes(), limits).map_err(ApiError::from)?;
        artifacts::verify_manifest_scope(&manifest, docs.tenant, docs.surface)
            .map_err(ApiError::from)?;
        versions.manifest_version = Some(json::etag_of_value(mv)?);
        versions.manifest_updated_at = manifest.updated_at;
        for kind in ArtifactKind::ALL {
            let Some(uri) = manifest.uri(kind) else {
                continue;
            };
            let Some(blob) = docs.artifacts.and_then(|a| a.get(uri)) else {
                warnings.push(Problem::new(
                    format!("$.manifest.current.{}", kind.as_str()),
                    "RECSYS_ARTIFACT_NOT_FOUND",
                    format!(
                        "artifact {uri:?} referenced by the manifest was not supplied; the {} signal is unavailable",
                        kind.as_str()
                    ),
                ));
                continue;
            };
            let a = artifacts::load_artifact(
                text_of(blob).as_bytes(),
                kind,
                uri,
                docs.tenant,
                docs.surface,
                limits,
            )
            .map_err(|e| {
                let mut err = ApiError::from(e);
                err.message = format!("artifact {uri:?}: {}", err.message);
                err
            })?;
            versions
                .artifacts
                .push((kind.as_str().to_string(), a.envelope.build.version.clone()));
            put_signal(&mut data, a.body);
        }
    }
    let rules_loaded = rule_list.len();
    let snap = TenantSnapshot::compile(
        docs.tenant,
        docs.surface,
        &config,
        rule_list,
        data,
        versions,
    );
    warnings.extend(snap.notes.notes.iter().cloned());
    Ok((
        snap,
        CompileReport {
            warnings,
            rules_loaded,
            rules_dropped: dropped,
        },
    ))
}

fn put_signal(d: &mut SignalData, body: ArtifactBody) {
    let scored = |rows: Option<Vec<artifacts::UserRow>>| -> Vec<(String, Vec<(String, f64)>)> {
        rows.unwrap_or_default()
            .into_iter()
            .map(|u| {
                (
                    u.user_id,
                    u.items
                        .unwrap_or_default()
                        .into_iter()
                        .map(|i| (i.item_id, i.score))
                        .collect(),
                )
            })
            .collect()
    };
    match body {
        ArtifactBody::Popularity(p) => {
            d.popularity = Some(
                p.items
                    .unwrap_or_default()
                    .into_iter()
                    .map(|i| (i.item_id, i.count as f64))
                    .collect(),
            );
        }
        ArtifactBody::Cooc(c) => {
            d.cooc = Some(
                c.neighbors
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| {
                        (
                            r.item_id,
                            r.items
                                .unwrap_or_default()
                                .into_iter()
                                .map(|n| (n.item_id, n.count as f64))
                                .collect(),
                        )
                    })
                    .collect(),
            );
        }
        ArtifactBody::Implicit(i) => d.implicit = Some(scored(i.users)),
        ArtifactBody::SessionSeq(s) => d.session = Some(scored(s.users)),
        ArtifactBody::ContentSim(c) => {
            d.content = Some(
                c.items
                    .unwrap_or_default()
                    .into_iter()
                    .map(|i| (i.item_id, i.tags.unwrap_or_default()))
                    .collect(),
            );
        }
    }
}

/// The `load_snapshot` answer.
pub fn report_value(snap: &TenantSnapshot, rep: &CompileReport) -> Value {
    let mut m = Map::new();
    m.push("tenant", Value::str(&snap.tenant));
    m.push("surface", Value::str(&snap.surface));
    let v = &snap.versions;
    for (k, x) in [
        ("config_version", &v.config_version),
        ("rules_version", &v.rules_version),
        ("manifest_version", &v.manifest_version),
    ] {
        m.push(k, x.as_ref().map(Value::str).unwrap_or(Value::Null));
    }
    let mut am = Map::new();
    for (k, x) in &v.artifacts {
        am.push(k, Value::str(x));
    }
    m.push("artifact_versions", Value::Object(am));
    m.push("items", Value::u64(snap.catalog_len() as u64));
    let mut rm = Map::new();
    rm.push("loaded", Value::u64(rep.rules_loaded as u64));
    rm.push("serving", Value::u64(snap.rules.len() as u64));
    rm.push(
        "dropped",
        Value::Array(rep.rules_dropped.iter().map(Problem::to_value).collect()),
    );
    m.push("rules", Value::Object(rm));
    m.push(
        "warnings",
        Value::Array(rep.warnings.iter().map(Problem::to_value).collect()),
    );
    Value::Object(m)
}
