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
    ///
    /// ```
    /// use recsys_core::check::Config;
    ///
    /// let config = Config::parse(br#"{"weights": {"pop": 2}}"#)?;
    /// assert_eq!(config.weights(), Some([2.0, 0.0, 0.0]));
    /// assert_eq!(Config::parse(b"{").unwrap_err().status, 400);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
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
    ///
    /// ```
    /// use recsys_core::check::Config;
    ///
    /// assert!(Config::parse(br#"{"weights": {"pop": 1}}"#)?.warnings().is_empty());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The surfaces the document configures beyond its tenant-wide values.
    ///
    /// ```
    /// use recsys_core::check::Config;
    ///
    /// let config = Config::parse(br#"{"surfaces": {"pdp": {"weights": {"cooc": 1}}}}"#)?;
    /// assert_eq!(config.surfaces().collect::<Vec<_>>(), ["pdp"]);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn surfaces(&self) -> impl Iterator<Item = &str> {
        self.config.surfaces()
    }

    /// The tenant-wide weights `[pop, cooc, emb]`, when the document sets any.
    ///
    /// ```
    /// use recsys_core::check::Config;
    ///
    /// assert_eq!(Config::parse(br#"{"weights": {"pop": 1, "emb": 0.5}}"#)?.weights(), Some([1.0, 0.0, 0.5]));
    /// assert_eq!(Config::parse(b"{}")?.weights(), None);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn weights(&self) -> Option<[f64; 3]> {
        self.config.base.weights.map(|w| [w.pop, w.cooc, w.emb])
    }

    /// The weights `[pop, cooc, emb]` a surface serves with (its overrides over the
    /// tenant-wide values), when any are set.
    ///
    /// ```
    /// use recsys_core::check::Config;
    ///
    /// let config = Config::parse(br#"{"weights": {"pop": 1}, "surfaces": {"pdp": {"weights": {"cooc": 1}}}}"#)?;
    /// assert_eq!(config.surface_weights("home"), Some([1.0, 0.0, 0.0]));
    /// assert_eq!(config.surface_weights("pdp"), Some([0.0, 1.0, 0.0]));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
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
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let text = br#"[{"action": "block", "item_ids": ["a"]}, {"action": "explode"}]"#;
    /// assert_eq!(Rules::parse(text, "demo", RulesMode::Strict).unwrap_err().code, "RECSYS_INVALID_RULES");
    /// let lenient = Rules::parse(text, "demo", RulesMode::Lenient)?;
    /// assert_eq!(lenient.len(), 1);
    /// assert!(!lenient.dropped().is_empty());          // why the second rule was dropped
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
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
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "pin", "item_ids": ["a"]}, {"action": "block", "item_ids": ["b"]}]"#, "demo", RulesMode::Strict)?;
    /// assert_eq!(rules.len(), 2);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.doc.rules.len()
    }

    /// True when the document has no rules.
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// assert!(Rules::parse(b"[]", "demo", RulesMode::Strict)?.is_empty());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.doc.rules.is_empty()
    }

    /// The rules understood, in document order.
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "pin", "item_ids": ["a"]}, {"action": "block", "item_ids": ["b"]}]"#, "demo", RulesMode::Strict)?;
    /// let actions: Vec<&str> = rules.iter().map(|r| r.action()).collect();
    /// assert_eq!(actions, ["PIN", "BLOCK"]);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = RuleView<'_>> {
        self.doc.rules.iter().map(RuleView)
    }

    /// Lenient mode: why each dropped rule was dropped (always empty in strict mode).
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "explode"}]"#, "demo", RulesMode::Lenient)?;
    /// assert!(rules.is_empty());
    /// assert!(rules.dropped().iter().all(|p| !p.message.is_empty()), "{:?}", rules.dropped());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn dropped(&self) -> &[Problem] {
        &self.doc.dropped
    }

    /// Findings that dropped nothing (disabled rules, ignored keys, derived ids, ...).
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "block", "item_ids": ["a"], "enabled": false}]"#, "demo", RulesMode::Strict)?;
    /// assert_eq!(rules.len(), 1);
    /// assert!(!rules.warnings().is_empty(), "a disabled rule is reported");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn warnings(&self) -> &[Problem] {
        &self.doc.warnings
    }
}

/// One rule of a [`Rules`] document, as understood.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RuleView<'a>(&'a Rule);

impl RuleView<'_> {
    /// The rule's id (given, or derived from the tenant and the rule's content).
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let text = br#"[{"action": "block", "item_ids": ["a"]}, {"action": "block", "item_ids": ["b"]}]"#;
    /// let ids = |t: &str| -> Result<Vec<String>, recsys_core::ApiError> {
    ///     Ok(Rules::parse(text, t, RulesMode::Strict)?.iter().map(|r| r.id()).collect())
    /// };
    /// assert_ne!(ids("demo")?[0], ids("demo")?[1]);     // derived from the content...
    /// assert_eq!(ids("demo")?, ids("demo")?);           // ...deterministically
    /// assert_ne!(ids("demo")?, ids("acme")?);           // and from the tenant
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn id(&self) -> String {
        self.0.id.to_string()
    }

    /// Its position in the document's rule list.
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "pin", "item_ids": ["a"]}, {"action": "block", "item_ids": ["b"]}]"#, "demo", RulesMode::Strict)?;
    /// assert_eq!(rules.iter().map(|r| r.index()).collect::<Vec<_>>(), [0, 1]);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn index(&self) -> usize {
        self.0.index
    }

    /// `PIN`, `BOOST` or `BLOCK`.
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "boost", "item_ids": ["a"], "boost_value": 0.5}]"#, "demo", RulesMode::Strict)?;
    /// assert_eq!(rules.iter().next().map(|r| r.action()), Some("BOOST"));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn action(&self) -> &'static str {
        self.0.action.as_str()
    }

    /// `ITEM`, `TAG`, `BRAND` or `CATEGORY`.
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "block", "target_type": "tag", "target_key": "sale"}]"#, "demo", RulesMode::Strict)?;
    /// let rule = rules.iter().next().unwrap();
    /// assert_eq!((rule.target_type(), rule.target_key()), ("TAG", "sale"));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn target_type(&self) -> &'static str {
        self.0.target_type.as_str()
    }

    /// The tag, brand or category targeted (empty for ITEM rules).
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "block", "target_type": "brand", "target_key": "acme"}]"#, "demo", RulesMode::Strict)?;
    /// let rule = rules.iter().next().unwrap();
    /// assert_eq!(rule.target_key(), "acme");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn target_key(&self) -> &str {
        &self.0.target_key
    }

    /// The items targeted (ITEM rules only).
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "pin", "item_ids": ["a", "b"]}]"#, "demo", RulesMode::Strict)?;
    /// assert_eq!(rules.iter().next().unwrap().item_ids(), ["a", "b"]);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn item_ids(&self) -> &[String] {
        &self.0.item_ids
    }

    /// The boost (BOOST rules only).
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "boost", "item_ids": ["a"], "boost_value": 0.5}]"#, "demo", RulesMode::Strict)?;
    /// assert_eq!(rules.iter().next().unwrap().boost_value(), Some(0.5));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn boost_value(&self) -> Option<f64> {
        self.0.boost_value
    }

    /// The pin cap (PIN rules only).
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "pin", "item_ids": ["a", "b"], "max_pins": 1}]"#, "demo", RulesMode::Strict)?;
    /// assert_eq!(rules.iter().next().unwrap().max_pins(), Some(1));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn max_pins(&self) -> Option<i64> {
        self.0.max_pins
    }

    /// False for a disabled rule.
    ///
    /// ```
    /// use recsys_core::check::{Rules, RulesMode};
    ///
    /// let rules = Rules::parse(br#"[{"action": "block", "item_ids": ["a"], "enabled": false}]"#, "demo", RulesMode::Strict)?;
    /// assert!(!rules.iter().next().unwrap().enabled());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
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
    ///
    /// ```
    /// use recsys_core::check::Manifest;
    /// # let text = br#"{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-01T00:00:00Z",
    /// #     "current": {"popularity": "s3://b/pop/1.json", "cooc": "s3://b/cooc/1.json"}}"#;
    /// assert_eq!(Manifest::parse(text)?.tenant(), "demo");
    /// assert!(Manifest::parse(br#"{"v": 2}"#).is_err());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn parse(text: &[u8]) -> Result<Manifest, ApiError> {
        Manifest::parse_with(text, &ArtifactLimits::default())
    }

    /// Parses a manifest with `limits`.
    ///
    /// ```
    /// use recsys_core::check::{ArtifactLimits, Manifest};
    /// # let text = br#"{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-01T00:00:00Z",
    /// #     "current": {"popularity": "s3://b/pop/1.json", "cooc": "s3://b/cooc/1.json"}}"#;
    /// let small = ArtifactLimits { max_bytes: 64, ..ArtifactLimits::default() };
    /// assert!(Manifest::parse_with(text, &small).is_err());   // larger than the limit
    /// assert!(Manifest::parse_with(text, &ArtifactLimits::default()).is_ok());
    /// ```
    pub fn parse_with(text: &[u8], limits: &ArtifactLimits) -> Result<Manifest, ApiError> {
        let manifest = artifacts::parse_manifest(text, limits)?;
        Ok(Manifest { manifest })
    }

    /// The manifest's tenant.
    ///
    /// ```
    /// use recsys_core::check::Manifest;
    /// # let text = br#"{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-01T00:00:00Z",
    /// #     "current": {"popularity": "s3://b/pop/1.json", "cooc": "s3://b/cooc/1.json"}}"#;
    /// assert_eq!(Manifest::parse(text)?.tenant(), "demo");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn tenant(&self) -> &str {
        &self.manifest.tenant
    }

    /// The manifest's surface.
    ///
    /// ```
    /// use recsys_core::check::Manifest;
    /// # let text = br#"{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-01T00:00:00Z",
    /// #     "current": {"popularity": "s3://b/pop/1.json", "cooc": "s3://b/cooc/1.json"}}"#;
    /// assert_eq!(Manifest::parse(text)?.surface(), "home");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn surface(&self) -> &str {
        &self.manifest.surface
    }

    /// The URI of the current artifact of `kind`, if any.
    ///
    /// ```
    /// use recsys_core::check::{ArtifactKind, Manifest};
    /// # let text = br#"{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-01T00:00:00Z",
    /// #     "current": {"popularity": "s3://b/pop/1.json", "cooc": "s3://b/cooc/1.json"}}"#;
    /// let m = Manifest::parse(text)?;
    /// assert_eq!(m.uri(ArtifactKind::Cooc), Some("s3://b/cooc/1.json"));
    /// assert_eq!(m.uri(ArtifactKind::Implicit), None);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn uri(&self, kind: ArtifactKind) -> Option<&str> {
        self.manifest.uri(kind)
    }

    /// Every (kind, URI) the manifest points at, in publish order.
    ///
    /// ```
    /// use recsys_core::check::{ArtifactKind, Manifest};
    /// # let text = br#"{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-01T00:00:00Z",
    /// #     "current": {"popularity": "s3://b/pop/1.json", "cooc": "s3://b/cooc/1.json"}}"#;
    /// let m = Manifest::parse(text)?;
    /// let kinds: Vec<ArtifactKind> = m.artifacts().map(|(k, _)| k).collect();
    /// assert_eq!(kinds.len(), 2);
    /// assert!(kinds.contains(&ArtifactKind::Popularity));
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn artifacts(&self) -> impl Iterator<Item = (ArtifactKind, &str)> {
        self.manifest.current.iter().map(|(k, u)| (*k, u.as_str()))
    }

    /// Fails unless the manifest belongs to `tenant` and `surface` (exact comparison), as a
    /// load requires.
    ///
    /// ```
    /// use recsys_core::check::Manifest;
    /// # let text = br#"{"v": 1, "tenant": "demo", "surface": "home", "updated_at": "2026-01-01T00:00:00Z",
    /// #     "current": {"popularity": "s3://b/pop/1.json", "cooc": "s3://b/cooc/1.json"}}"#;
    /// let m = Manifest::parse(text)?;
    /// assert!(m.check_scope("demo", "home").is_ok());
    /// assert!(m.check_scope("demo", "pdp").is_err());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
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
    ///
    /// ```
    /// use recsys_core::check::{Artifact, ArtifactKind};
    /// # let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "v1"}}"#;
    /// assert_eq!(Artifact::parse(text, None)?.kind(), ArtifactKind::Popularity);
    /// assert!(Artifact::parse(text, Some(ArtifactKind::Cooc)).is_err());     // not the kind asked for
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn parse(text: &[u8], kind: Option<ArtifactKind>) -> Result<Artifact, ApiError> {
        Artifact::parse_with(text, kind, &ArtifactLimits::default())
    }

    /// Parses an artifact with `limits`.
    ///
    /// ```
    /// use recsys_core::check::{Artifact, ArtifactLimits};
    /// # let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "v1"}}"#;
    /// let one_item = ArtifactLimits { max_items: 1, ..ArtifactLimits::default() };
    /// assert!(Artifact::parse_with(text, None, &one_item).is_ok());
    /// let tiny = ArtifactLimits { max_bytes: 16, ..ArtifactLimits::default() };
    /// assert!(Artifact::parse_with(text, None, &tiny).is_err());
    /// ```
    pub fn parse_with(
        text: &[u8],
        kind: Option<ArtifactKind>,
        limits: &ArtifactLimits,
    ) -> Result<Artifact, ApiError> {
        let artifact = artifacts::parse_artifact(text, kind, limits)?;
        Ok(Artifact { artifact })
    }

    /// The artifact's kind.
    ///
    /// ```
    /// use recsys_core::check::{Artifact, ArtifactKind};
    /// # let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "v1"}}"#;
    /// assert_eq!(Artifact::parse(text, None)?.kind(), ArtifactKind::Popularity);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn kind(&self) -> ArtifactKind {
        self.artifact.kind()
    }

    /// Its tenant.
    ///
    /// ```
    /// use recsys_core::check::Artifact;
    /// # let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "v1"}}"#;
    /// assert_eq!(Artifact::parse(text, None)?.tenant(), "demo");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn tenant(&self) -> &str {
        &self.artifact.envelope.tenant
    }

    /// Its surface.
    ///
    /// ```
    /// use recsys_core::check::Artifact;
    /// # let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "v1"}}"#;
    /// assert_eq!(Artifact::parse(text, None)?.surface(), "home");
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn surface(&self) -> &str {
        &self.artifact.envelope.surface
    }

    /// Its window `[start, end)`.
    ///
    /// ```
    /// use recsys_core::check::Artifact;
    /// # let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "v1"}}"#;
    /// let (start, end) = Artifact::parse(text, None)?.window();
    /// assert_eq!(end.seconds_since(start), 86_400.0);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn window(&self) -> (Timestamp, Timestamp) {
        let w = &self.artifact.envelope.window;
        (w.start, w.end)
    }

    /// The version the artifact declares (`build.version`).
    ///
    /// ```
    /// use recsys_core::check::Artifact;
    /// # let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "v1"}}"#;
    /// let a = Artifact::parse(text, None)?;
    /// assert_eq!(a.declared_version(), "v1");
    /// assert_ne!(a.declared_version(), a.version());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn declared_version(&self) -> &str {
        self.artifact.declared_version()
    }

    /// The version computed from the content (SHA-256 of its canonical form, 64 hex digits).
    ///
    /// ```
    /// use recsys_core::check::Artifact;
    /// # let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "v1"}}"#;
    /// let v = Artifact::parse(text, None)?.version();
    /// assert!(v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    /// // The declared version does not enter the hash.
    /// let same = std::str::from_utf8(text).unwrap().replace(r#""v1""#, r#""v2""#);
    /// assert_eq!(Artifact::parse(same.as_bytes(), None)?.version(), v);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn version(&self) -> String {
        artifacts::version_hash(&self.artifact)
    }

    /// Checks the declared version against the content, and against `expected` (the
    /// version a manifest's URI names) when given; returns the version.
    ///
    /// ```
    /// use recsys_core::check::Artifact;
    /// # let text = br#"{"v": 1, "artifact_type": "popularity", "tenant": "demo", "surface": "home",
    /// #     "segment": "default", "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
    /// #     "items": [{"item_id": "a", "count": 3}], "build": {"built_at": "2026-01-02T00:00:00Z", "version": "v1"}}"#;
    /// let v = Artifact::parse(text, None)?.version();
    /// let good = std::str::from_utf8(text).unwrap().replace(r#""v1""#, &format!("{v:?}"));
    /// let a = Artifact::parse(good.as_bytes(), None)?;
    /// assert_eq!(a.verify(Some(&v))?, v);
    /// assert!(a.verify(Some(&"0".repeat(64))).is_err());      // not what the manifest named
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn verify(&self, expected: Option<&str>) -> Result<String, ApiError> {
        Ok(artifacts::verify(&self.artifact, expected)?)
    }

    /// The version a blob URI names (`.../<64 hex>.json`), if it names one.
    ///
    /// ```
    /// use recsys_core::check::Artifact;
    ///
    /// let v = "ab".repeat(32);
    /// assert_eq!(Artifact::version_from_uri(&format!("s3://b/demo/home/popularity/{v}.json")), Some(v.as_str()));
    /// assert_eq!(Artifact::version_from_uri("s3://b/latest.json"), None);
    /// ```
    pub fn version_from_uri(uri: &str) -> Option<&str> {
        artifacts::version_from_uri(uri)
    }
}
