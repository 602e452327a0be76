//! Checking one document without an engine: a config, a rules document, an artifact manifest
//! or an artifact, parsed and verified the way [`crate::Engine::load_snapshot`] does, into an
//! opaque value to inspect, or the [`ApiError`] (with every problem) a load would fail with.
//! The CLI's `check` and `verify-artifact` commands and the fuzzers use these; a host can run
//! them before it publishes a document.
//!
//! ```
//! use recsys_core::check::{Config, Rules, RulesMode};
//!
//! let config = Config::parse(br#"{"weights": {"pop": 1, "cooc": 0.5}}"#)?;
//! assert_eq!(config.weights(), Some([1.0, 0.5, 0.0]));
//!
//! let rules = Rules::parse(br#"[{"action": "BLOCK", "target_type": "ITEM",
//!     "item_ids": ["a"]}]"#, "demo", RulesMode::Strict)?;
//! assert_eq!(rules.len(), 1);
//! assert_eq!(rules.iter().next().map(|r| r.action()), Some("BLOCK"));
//!
//! let err = Config::parse(br#"{"weights": {"pop": -1}}"#).unwrap_err();
//! assert_eq!(err.code, "RECSYS_INVALID_CONFIG");
//! # Ok::<(), recsys_core::ApiError>(())
//! ```

use crate::artifacts::{self, ManifestV1};
use crate::config::TenantConfig;
use crate::error::{ApiError, ErrorCode, Problem};
use crate::json;
use crate::rules::{Rule, RulesDocument, RulesParseOptions};
use crate::time::Timestamp;

pub use crate::artifacts::{ArtifactKind, ArtifactLimits};

/// A valid config document (see docs/formats.md), with the warnings it raised.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    config: TenantConfig,
    warnings: Vec<Problem>,
}

impl Config {
    /// The largest weight a config accepts.
    pub const MAX_WEIGHT: f64 = crate::config::MAX_WEIGHT;

    /// Parses and validates a config document (JSON text, within the document limits).
    /// Fails with the JSON error, or `RECSYS_INVALID_CONFIG` listing every problem.
    pub fn parse(text: &[u8]) -> Result<Config, ApiError> {
        let v = json::parse_with(text, json::Limits::document())?;
        let (config, warnings) = TenantConfig::from_value(&v).map_err(|problems| {
            let first = problems.first().map(|p| p.message.clone());
            ApiError::new(
                ErrorCode::InvalidConfig,
                format!("invalid config: {}", first.unwrap_or_default()),
            )
            .with_problems(problems)
        })?;
        Ok(Config { config, warnings })
    }

    /// Findings that did not make the document invalid.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The surfaces the document configures beyond its tenant-wide values.
    pub fn surfaces(&self) -> impl Iterator<Item = &str> {
        self.config.surfaces()
    }

    /// The tenant-wide weights `[pop, cooc, emb]`, when the document sets any.
    pub fn weights(&self) -> Option<[f64; 3]> {
        self.config.base.weights.map(|w| [w.pop, w.cooc, w.emb])
    }

    /// The weights `[pop, cooc, emb]` a surface serves with (its overrides over the
    /// tenant-wide values), when any are set.
    pub fn surface_weights(&self, surface: &str) -> Option<[f64; 3]> {
        let w = self.config.for_surface(surface).weights?;
        Some([w.pop, w.cooc, w.emb])
    }
}

/// How a rules document is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulesMode {
    /// As a write does: every problem fails the document.
    Strict,
    /// As serving does: what cannot be understood is dropped and reported.
    Lenient,
}

/// A rules document that parsed (see docs/formats.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Rules {
    doc: RulesDocument,
}

impl Rules {
    /// The largest boost a rule may carry, in magnitude.
    pub const MAX_BOOST: f64 = crate::rules::MAX_BOOST;

    /// Parses a rules document of `tenant` (rule ids derive from it). Fails with the JSON
    /// error, `RECSYS_RULES_TOO_MANY`, or (strict mode) `RECSYS_INVALID_RULES` listing every
    /// problem.
    pub fn parse(text: &[u8], tenant: &str, mode: RulesMode) -> Result<Rules, ApiError> {
        let opts = match mode {
            RulesMode::Strict => RulesParseOptions::strict(tenant),
            RulesMode::Lenient => RulesParseOptions::lenient(tenant),
        };
        Ok(Rules {
            doc: crate::rules::parse_rules(text, &opts)?,
        })
    }

    /// The number of rules understood (disabled ones included).
    pub fn len(&self) -> usize {
        self.doc.rules.len()
    }

    /// True when the document has no rules.
    pub fn is_empty(&self) -> bool {
        self.doc.rules.is_empty()
    }

    /// The rules understood, in document order.
    pub fn iter(&self) -> impl Iterator<Item = RuleView<'_>> {
        self.doc.rules.iter().map(RuleView)
    }

    /// Lenient mode: why each dropped rule was dropped (always empty in strict mode).
    pub fn dropped(&self) -> &[Problem] {
        &self.doc.dropped
    }

    /// Findings that dropped nothing (disabled rules, ignored keys, derived ids, ...).
    pub fn warnings(&self) -> &[Problem] {
        &self.doc.warnings
    }
}

/// One rule of a [`Rules`] document, as understood.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RuleView<'a>(&'a Rule);

impl RuleView<'_> {
    /// The rule's id (given, or derived from the tenant and the rule's content).
    pub fn id(&self) -> String {
        self.0.id.to_string()
    }

    /// Its position in the document's rule list.
    pub fn index(&self) -> usize {
        self.0.index
    }

    /// `PIN`, `BOOST` or `BLOCK`.
    pub fn action(&self) -> &'static str {
        self.0.action.as_str()
    }

    /// `ITEM`, `TAG`, `BRAND` or `CATEGORY`.
    pub fn target_type(&self) -> &'static str {
        self.0.target_type.as_str()
    }

    /// The tag, brand or category targeted (empty for ITEM rules).
    pub fn target_key(&self) -> &str {
        &self.0.target_key
    }

    /// The items targeted (ITEM rules only).
    pub fn item_ids(&self) -> &[String] {
        &self.0.item_ids
    }

    /// The boost (BOOST rules only).
    pub fn boost_value(&self) -> Option<f64> {
        self.0.boost_value
    }

    /// The pin cap (PIN rules only).
    pub fn max_pins(&self) -> Option<i64> {
        self.0.max_pins
    }

    /// False for a disabled rule.
    pub fn enabled(&self) -> bool {
        self.0.enabled
    }
}

/// A valid artifact manifest (v1): the current artifact of each kind for one
/// (tenant, surface).
///
/// ```
/// use recsys_core::check::{ArtifactKind, Manifest};
///
/// let m = Manifest::parse(br#"{"v": 1, "tenant": "demo", "surface": "home",
///     "current": {"popularity": "s3://bucket/demo/home/popularity/1.json"},
///     "updated_at": "2026-01-01T00:00:00Z"}"#)?;
/// assert_eq!(m.uri(ArtifactKind::Popularity), Some("s3://bucket/demo/home/popularity/1.json"));
/// assert!(m.check_scope("demo", "home").is_ok());
/// assert!(m.check_scope("acme", "home").is_err());
/// # Ok::<(), recsys_core::ApiError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    manifest: ManifestV1,
}

impl Manifest {
    /// Parses a manifest with the default limits.
    pub fn parse(text: &[u8]) -> Result<Manifest, ApiError> {
        Manifest::parse_with(text, &ArtifactLimits::default())
    }

    /// Parses a manifest with `limits`.
    pub fn parse_with(text: &[u8], limits: &ArtifactLimits) -> Result<Manifest, ApiError> {
        let manifest = artifacts::parse_manifest(text, limits)?;
        Ok(Manifest { manifest })
    }

    /// The manifest's tenant.
    pub fn tenant(&self) -> &str {
        &self.manifest.tenant
    }

    /// The manifest's surface.
    pub fn surface(&self) -> &str {
        &self.manifest.surface
    }

    /// The URI of the current artifact of `kind`, if any.
    pub fn uri(&self, kind: ArtifactKind) -> Option<&str> {
        self.manifest.uri(kind)
    }

    /// Every (kind, URI) the manifest points at, in publish order.
    pub fn artifacts(&self) -> impl Iterator<Item = (ArtifactKind, &str)> {
        self.manifest.current.iter().map(|(k, u)| (*k, u.as_str()))
    }

    /// Fails unless the manifest belongs to `tenant` and `surface` (exact comparison), as a
    /// load requires.
    pub fn check_scope(&self, tenant: &str, surface: &str) -> Result<(), ApiError> {
        Ok(artifacts::verify_manifest_scope(
            &self.manifest,
            tenant,
            surface,
        )?)
    }
}

/// An artifact that parsed (its version not yet checked: see [`Artifact::verify`]).
///
/// ```
/// use recsys_core::check::{Artifact, ArtifactKind};
///
/// let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
///     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
///     "items": [{"item_id": "a", "count": 3}],
///     "build": {"built_at": "2026-01-02T00:00:00Z", "version": "not-the-hash"}}"#;
/// let a = Artifact::parse(text, Some(ArtifactKind::Popularity))?;
/// assert_eq!(a.kind(), ArtifactKind::Popularity);
/// assert_eq!(a.version().len(), 64);
/// let err = a.verify(None).unwrap_err();             // the declared version is not the hash
/// assert_eq!(err.code, "RECSYS_ARTIFACT_INCOMPATIBLE");
/// # Ok::<(), recsys_core::ApiError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Artifact {
    artifact: artifacts::Artifact,
}

impl Artifact {
    /// Parses an artifact with the default limits; `kind`, when given, is the kind it must be.
    pub fn parse(text: &[u8], kind: Option<ArtifactKind>) -> Result<Artifact, ApiError> {
        Artifact::parse_with(text, kind, &ArtifactLimits::default())
    }

    /// Parses an artifact with `limits`.
    pub fn parse_with(
        text: &[u8],
        kind: Option<ArtifactKind>,
        limits: &ArtifactLimits,
    ) -> Result<Artifact, ApiError> {
        let artifact = artifacts::parse_artifact(text, kind, limits)?;
        Ok(Artifact { artifact })
    }

    /// The artifact's kind.
    pub fn kind(&self) -> ArtifactKind {
        self.artifact.kind()
    }

    /// Its tenant.
    pub fn tenant(&self) -> &str {
        &self.artifact.envelope.tenant
    }

    /// Its surface.
    pub fn surface(&self) -> &str {
        &self.artifact.envelope.surface
    }

    /// Its window `[start, end)`.
    pub fn window(&self) -> (Timestamp, Timestamp) {
        let w = &self.artifact.envelope.window;
        (w.start, w.end)
    }

    /// The version the artifact declares (`build.version`).
    pub fn declared_version(&self) -> &str {
        self.artifact.declared_version()
    }

    /// The version computed from the content (SHA-256 of its canonical form, 64 hex digits).
    pub fn version(&self) -> String {
        artifacts::version_hash(&self.artifact)
    }

    /// Checks the declared version against the content, and against `expected` (the
    /// version a manifest's URI names) when given; returns the version.
    pub fn verify(&self, expected: Option<&str>) -> Result<String, ApiError> {
        Ok(artifacts::verify(&self.artifact, expected)?)
    }

    /// The version a blob URI names (`.../<64 hex>.json`), if it names one.
    pub fn version_from_uri(uri: &str) -> Option<&str> {
        artifacts::version_from_uri(uri)
    }
}
