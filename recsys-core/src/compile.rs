//! Compiling documents into a snapshot: validates the tenant config (strictly), parses the
//! rules (leniently, reporting every dropped rule), verifies the manifest and every artifact
//! it references (version hash, type, tenant and surface), and hands plain signal data to
//! [`TenantSnapshot::compile`]. Any invalid input fails the whole compile: the snapshot that
//! is serving stays in place.

use crate::artifacts::{self, Artifact, ArtifactKind, ArtifactLimits, Envelope, ManifestV1};
use crate::config::TenantConfig;
use crate::error::ErrorCode;
use crate::error::{ApiError, Problem};
use crate::json::{self, Map, Value};
use crate::request::is_path_safe;
use crate::rules::{self, Rule, RulesParseOptions};
use crate::snapshot::{
    Catalog, Columns, ServingRules, SignalData, Sources, TenantSnapshot, Versions,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The documents of one tenant/surface, as given to `load_snapshot`.
pub struct Documents<'a> {
    pub tenant: &'a str,
    pub surface: &'a str,
    pub config: Option<&'a Value>,
    pub rules: Option<&'a Value>,
    pub manifest: Option<&'a Value>,
    /// URI → artifact (see [`Blobs`]).
    pub artifacts: Option<Blobs<'a>>,
    /// DB-only mode: signals instead of (or in addition to) artifacts.
    pub signals: Option<&'a Value>,
}

impl<'a> Documents<'a> {
    /// Reads `{"tenant", "surface", "config"?, "rules"?, "manifest"?, "artifacts"?}`.
    pub fn from_value(v: &'a Value) -> Result<Documents<'a>, ApiError> {
        let bad = |m: String| ApiError::new(ErrorCode::InvalidDocuments, m);
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
                "signals",
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
            artifacts: artifacts.map(Blobs::Tree),
            signals: m.get("signals").filter(|v| !v.is_null()),
        })
    }
}

/// The artifacts a load supplies, by URI (the last of a repeated URI counts).
#[derive(Clone, Copy)]
pub enum Blobs<'a> {
    /// The `artifacts` member of a parsed call: each a JSON document, or a string holding its
    /// text.
    Tree(&'a Map),
    /// Each artifact's text as it was handed over, never parsed into a tree.
    Raw(&'a [RawBlob<'a>]),
}

/// One artifact's text, by URI (see [`Blobs::Raw`]).
pub struct RawBlob<'a> {
    pub uri: &'a str,
    pub text: BlobText<'a>,
}

/// Where an artifact's text is.
#[derive(Clone, Copy)]
pub enum BlobText<'a> {
    /// Its bytes, as a host handed them over (loaded like the loader's step API).
    Bytes(&'a [u8]),
    /// A JSON object cut from a `load_snapshot` call's text, not yet validated. It is loaded
    /// in one pass only ([`load_object_span`]); a document that pass does not take fails, and
    /// the caller loads the call the exact way (a parsed tree).
    Object(&'a str),
    /// A JSON string literal (with its quotes) cut from a call's text, unescaped when loaded.
    String(&'a str),
}

impl Blobs<'_> {
    /// The length of the string literal holding the artifact at `uri` (0 when it is not one).
    fn string_len(&self, uri: &str) -> usize {
        match self {
            Blobs::Tree(_) => 0,
            Blobs::Raw(raw) => raw
                .iter()
                .rfind(|b| b.uri == uri)
                .map_or(0, |b| match b.text {
                    BlobText::String(lit) => lit.len(),
                    _ => 0,
                }),
        }
    }

    /// The size of the artifact at `uri` as handed over (0 for a parsed tree).
    fn size(&self, uri: &str) -> usize {
        match self {
            Blobs::Tree(_) => 0,
            Blobs::Raw(raw) => raw
                .iter()
                .rfind(|b| b.uri == uri)
                .map_or(0, |b| match b.text {
                    BlobText::Bytes(t) => t.len(),
                    BlobText::Object(t) | BlobText::String(t) => t.len(),
                }),
        }
    }

    /// The artifact at `uri` loaded as `kind`; `None` when there is none.
    fn load(
        &self,
        uri: &str,
        kind: ArtifactKind,
        scope: (&str, &str),
        limits: &ArtifactLimits,
        copies: &CopyBudget,
    ) -> Option<Result<LoadedArtifact, ApiError>> {
        let (tenant, surface) = scope;
        match self {
            Blobs::Tree(m) => {
                let blob = m.get(uri)?;
                let a = load_blob(text_of(blob).as_bytes(), kind, uri, tenant, surface, limits);
                Some(a)
            }
            Blobs::Raw(raw) => {
                let i = raw.iter().rposition(|b| b.uri == uri)?;
                let a = match raw[i].text {
                    BlobText::Bytes(b) => load_blob(b, kind, uri, tenant, surface, limits),
                    BlobText::Object(t) => load_object_span(t, kind, uri, scope, limits),
                    BlobText::String(lit) => load_string(lit, kind, uri, scope, limits, copies),
                };
                Some(a)
            }
        }
    }
}

/// Limits of a `load_snapshot` call's text: documents embed up to five artifacts, each bounded
/// by the engine's artifact limits, so the envelope is sized from those, not from the generic
/// 16 MiB call limit.
pub fn call_limits(a: &ArtifactLimits) -> json::Limits {
    let d = json::Limits::default();
    json::Limits {
        max_bytes: a.max_bytes.saturating_mul(5).saturating_add(d.max_bytes),
        max_depth: a.max_depth.saturating_add(4).max(d.max_depth),
        ..d
    }
}

/// A string literal cut from a call (see [`BlobText::String`]): the document it holds,
/// unescaped into a copy with its whitespace runs shortened (`json::embedded`, which reads the
/// literal as the call's parser does), loaded like bytes. A literal or document this path does
/// not take fails, and the caller loads the call the exact way. The copy is held within
/// `copies`.
fn load_string(
    lit: &str,
    kind: ArtifactKind,
    uri: &str,
    (tenant, surface): (&str, &str),
    limits: &ArtifactLimits,
    copies: &CopyBudget,
) -> Result<LoadedArtifact, ApiError> {
    // The byte limit is on the document as written (the exact path's check).
    let max = limits.max_bytes.min(MAX_ARTIFACT_BYTES);
    let mut held = copies.take(lit.len());
    let text = json::embedded::embedded_document(lit, max).ok_or_else(not_one_pass)?;
    held.keep(text.capacity());
    load_blob(&text, kind, uri, tenant, surface, limits)
}

/// The budget of a load's string copies (see [`CopyBudget`]) for literals of lengths `lens`:
/// the two largest together, what the load's two threads write at most at once. With the
/// largest alone, the second thread waited while the largest literal was unescaped (at 1M,
/// co-occurrence's copy waited 0.44-0.46 s behind content_sim's), for no lower peak: the
/// shortened copies of both live side by side once the largest is written anyway.
fn copy_limit(lens: impl Iterator<Item = usize>) -> usize {
    let (mut first, mut second) = (0usize, 0usize);
    for n in lens {
        if n > first {
            (first, second) = (n, first);
        } else if n > second {
            second = n;
        }
    }
    first.saturating_add(second)
}

/// The bytes of unescaped string artifacts one load holds at once (see [`load_string`]).
/// Each copy takes its literal's length while it is written, then what it kept (an indented
/// artifact loses its indentation); copies load side by side only while together they fit in
/// the budget ([`copy_limit`]: the two largest literals, so on two threads no copy waits).
pub(crate) struct CopyBudget {
    limit: usize,
    held: Mutex<usize>,
    freed: std::sync::Condvar,
    #[cfg(test)]
    seen: string_copies::Count,
}

/// Bytes taken from a [`CopyBudget`], given back when dropped.
pub(crate) struct HeldCopy<'b> {
    budget: &'b CopyBudget,
    bytes: usize,
}

impl CopyBudget {
    /// A budget of `limit` bytes.
    pub(crate) fn new(limit: usize) -> CopyBudget {
        CopyBudget {
            limit,
            held: Mutex::new(0),
            freed: std::sync::Condvar::new(),
            #[cfg(test)]
            seen: string_copies::Count::default(),
        }
    }

    /// Waits until `bytes` more fit (or nothing is held) and takes them. Never waits forever:
    /// what is held was taken by copies already loading, which wait for nothing.
    pub(crate) fn take(&self, bytes: usize) -> HeldCopy<'_> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held != 0 && held.saturating_add(bytes) > self.limit {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held += bytes;
        #[cfg(test)]
        self.seen.took(*held);
        HeldCopy {
            budget: self,
            bytes,
        }
    }

    /// Gives `bytes` back.
    fn give(&self, bytes: usize) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        *held -= bytes;
        self.freed.notify_all();
    }
}

impl HeldCopy<'_> {
    /// Keeps `bytes` of what was taken (the copy's final size), giving the rest back.
    pub(crate) fn keep(&mut self, bytes: usize) {
        let back = self.bytes.saturating_sub(bytes);
        self.bytes -= back;
        self.budget.give(back);
        #[cfg(test)]
        self.budget.seen.loading();
    }
}

impl Drop for HeldCopy<'_> {
    fn drop(&mut self) {
        #[cfg(test)]
        self.budget.seen.done();
        self.budget.give(self.bytes);
    }
}

/// An object cut from a call's text, loaded in one pass (see [`BlobText::Object`]). It stands
/// for the call's exact path only when the pass takes the whole document and verifies it, and
/// the text has no `\u0000` escape (which a call refuses anywhere, an artifact does not).
fn load_object_span(
    text: &str,
    kind: ArtifactKind,
    uri: &str,
    (tenant, surface): (&str, &str),
    limits: &ArtifactLimits,
) -> Result<LoadedArtifact, ApiError> {
    if has_nul_escape(text.as_bytes()) {
        return Err(not_one_pass());
    }
    let limits = &ArtifactLimits {
        max_bytes: limits.max_bytes.min(MAX_ARTIFACT_BYTES),
        ..*limits
    };
    let expected = artifacts::version_from_uri(uri);
    match artifacts::load_columns(text.as_bytes(), kind, expected, tenant, surface, limits) {
        Some(Ok(c)) => Ok(LoadedArtifact {
            uri: uri.to_string(),
            kind,
            envelope: c.envelope,
            rows: c.rows,
            columns: c.columns,
        }),
        _ => Err(not_one_pass()),
    }
}

/// Whether JSON text holds a `\u0000` escape (a `\` run of odd length before `u0000`).
fn has_nul_escape(b: &[u8]) -> bool {
    memchr::memmem::find_iter(b, b"u0000").any(|k| {
        let run = b[..k].iter().rev().take_while(|&&c| c == b'\\').count();
        run % 2 == 1
    })
}

/// A raw blob the one-pass path cannot stand for; never surfaces (see [`BlobText::Object`]).
fn not_one_pass() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidDocuments,
        "an embedded artifact needs the exact load path",
    )
}

/// A tenant's validated config and parsed rules (one set per tenant, shared by its surfaces).
#[derive(Debug, Clone, Default)]
pub struct TenantDocs {
    pub config: TenantConfig,
    pub config_version: Option<String>,
    /// The rules in document order (shared by the versions that keep them).
    pub rules: Arc<[Rule]>,
    /// The enabled ones in serving order, made once per rules document.
    pub serving_rules: ServingRules,
    pub rules_version: Option<String>,
    /// Config warnings (unknown members) and rule findings that did not drop a rule.
    pub warnings: Vec<Problem>,
    /// Rules serving could not understand (lenient parsing), with index and reason.
    pub rules_dropped: Vec<Problem>,
    /// The release these documents were published as (`admin.release`); a single-document
    /// change clears it.
    pub release_id: Option<String>,
}

impl TenantDocs {
    /// Validates a config document (strictly) and parses a rules document (leniently).
    #[cfg(test)]
    pub fn new(
        tenant: &str,
        config: Option<&Value>,
        rules: Option<&Value>,
    ) -> Result<TenantDocs, ApiError> {
        let mut d = TenantDocs::default();
        d.set_config(config)?;
        d.set_rules(tenant, rules)?;
        Ok(d)
    }

    /// Replaces the config (`None` = no config document: defaults, no version).
    pub fn set_config(&mut self, config: Option<&Value>) -> Result<(), ApiError> {
        self.release_id = None;
        self.warnings
            .retain(|p| !p.code.starts_with("RECSYS_CONFIG"));
        match config {
            None => {
                self.config = TenantConfig::default();
                self.config_version = None;
            }
            Some(v) => {
                let (c, w) = TenantConfig::from_value(v).map_err(|problems| {
                    let first = problems
                        .first()
                        .map(|p| p.message.clone())
                        .unwrap_or_default();
                    ApiError::new(ErrorCode::InvalidConfig, format!("invalid config: {first}"))
                        .with_problems(problems)
                })?;
                self.config = c;
                self.config_version = Some(json::etag_of_value(v)?);
                self.warnings.extend(w);
            }
        }
        Ok(())
    }

    /// Replaces the rules (`None` = no rules document).
    pub fn set_rules(&mut self, tenant: &str, rules: Option<&Value>) -> Result<(), ApiError> {
        self.release_id = None;
        self.warnings
            .retain(|p| p.code.starts_with("RECSYS_CONFIG"));
        match rules {
            None => {
                self.rules = Arc::default();
                self.serving_rules = ServingRules::default();
                self.rules_version = None;
                self.rules_dropped = Vec::new();
            }
            Some(v) => {
                let opts = RulesParseOptions::lenient(tenant);
                let doc = rules::parse_rules_value(v, &opts).map_err(ApiError::from)?;
                self.rules_version = Some(json::etag_of_value(v)?);
                self.warnings.extend(doc.warnings);
                self.serving_rules = ServingRules::of(&doc.rules);
                self.rules = doc.rules.into();
                self.rules_dropped = doc.dropped;
            }
        }
        Ok(())
    }
}

/// One verified artifact and where it came from: its envelope and its signal in compact
/// columns (the decoded rows are not kept).
#[derive(Debug)]
pub struct LoadedArtifact {
    pub uri: String,
    pub kind: ArtifactKind,
    pub envelope: Envelope,
    rows: usize,
    pub columns: Columns,
}

impl LoadedArtifact {
    /// Keeps what serving needs of a verified artifact; the decoded rows are freed as they
    /// are moved into columns.
    pub fn new(uri: &str, a: Artifact) -> LoadedArtifact {
        let rows = a.body.row_count();
        LoadedArtifact {
            uri: uri.to_string(),
            kind: a.kind(),
            envelope: a.envelope,
            rows,
            columns: Columns::from_body(a.body),
        }
    }
    pub fn version(&self) -> &str {
        &self.envelope.build.version
    }
    /// Top-level rows of the artifact (items, anchor rows or users).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// No rows (`[]`, `null` or missing body).
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}

/// The manifest a surface's artifacts came from.
#[derive(Debug, Clone)]
pub struct ManifestInfo {
    pub manifest: ManifestV1,
    /// ETag of the manifest document.
    pub version: String,
}

/// The verified artifacts of one tenant/surface.
#[derive(Debug, Clone, Default)]
pub struct ArtifactSet {
    pub manifest: Option<ManifestInfo>,
    pub artifacts: BTreeMap<ArtifactKind, Arc<LoadedArtifact>>,
    /// Artifacts the manifest names but that were not available.
    pub warnings: Vec<Problem>,
    /// DB-only mode: signals supplied directly instead of artifacts.
    pub signals: Option<Arc<SignalData>>,
    /// The catalog compiled from `signals` and `artifacts`, once (see [`ArtifactSet::catalog`]).
    /// The cell is shared by clones of the set, so a catalog compiled from a clone (a rebuild
    /// runs outside the write lock, on a copy of the engine's set) is cached for the engine's
    /// own set too, and the next config or rules change reuses it.
    pub(crate) catalog: Arc<OnceLock<Arc<Catalog>>>,
    /// The catalog of the set this one replaced, if it was compiled: the catalog is then
    /// rebuilt from it, recompiling only what the changed artifacts feed
    /// ([`Catalog::rebuild`]). Taken (and so released) when the catalog is compiled.
    pub(crate) base: Arc<Mutex<Option<CatalogBase>>>,
}

/// A compiled catalog and what it was compiled from.
#[derive(Debug)]
pub(crate) struct CatalogBase {
    catalog: Arc<Catalog>,
    artifacts: BTreeMap<ArtifactKind, Arc<LoadedArtifact>>,
    signals: Option<Arc<SignalData>>,
}

impl ArtifactSet {
    /// The catalog of this set: compiled on first use, then shared by every snapshot built
    /// from the set (config and rules changes reuse it).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .get_or_init(|| {
                let mut src = match &self.signals {
                    Some(s) => Sources::of_signals(s),
                    None => Sources::default(),
                };
                for a in self.artifacts.values() {
                    src.put_columns(a.kind, &a.columns);
                }
                let base = self.base.lock().unwrap_or_else(|p| p.into_inner()).take();
                match base {
                    Some(b) if same_signals(&b.signals, &self.signals) => {
                        let changed: Vec<ArtifactKind> = ArtifactKind::ALL
                            .into_iter()
                            .filter(|k| match (b.artifacts.get(k), self.artifacts.get(k)) {
                                (Some(x), Some(y)) => !Arc::ptr_eq(x, y),
                                (x, y) => x.is_some() != y.is_some(),
                            })
                            .collect();
                        if changed.is_empty() {
                            b.catalog
                        } else {
                            Arc::new(Catalog::rebuild(&b.catalog, &src, &changed))
                        }
                    }
                    _ => Arc::new(Catalog::build(&src)),
                }
            })
            .clone()
    }

    /// Makes this set (which replaces `prev`) rebuild its catalog from `prev`'s, when that one
    /// was compiled: only the parts fed by artifacts that changed are compiled again.
    pub(crate) fn follow(&mut self, prev: &ArtifactSet) {
        if let Some(c) = prev.catalog.get() {
            self.base = Arc::new(Mutex::new(Some(CatalogBase {
                catalog: c.clone(),
                artifacts: prev.artifacts.clone(),
                signals: prev.signals.clone(),
            })));
        }
    }

    /// Forgets the compiled catalog after `artifacts` or `signals` changed in place (clones
    /// taken earlier keep theirs).
    pub fn invalidate_catalog(&mut self) {
        self.catalog = Arc::default();
        self.base = Arc::default();
    }

    /// Parses and verifies a manifest and the artifacts it references (documents form).
    pub fn from_documents(
        tenant: &str,
        surface: &str,
        manifest: Option<&Value>,
        blobs: Option<Blobs<'_>>,
        limits: &ArtifactLimits,
    ) -> Result<ArtifactSet, ApiError> {
        let mut set = ArtifactSet::default();
        let Some(mv) = manifest else { return Ok(set) };
        let info = parse_manifest_doc(tenant, surface, &text_of(mv), limits)?;
        // Independent artifacts are verified side by side, largest first; the outcome is
        // taken in kind order, as one after the other would give it.
        let jobs: Vec<(ArtifactKind, &str)> = ArtifactKind::ALL
            .into_iter()
            .filter_map(|k| info.manifest.uri(k).map(|u| (k, u)))
            .collect();
        let sizes: Vec<usize> = jobs
            .iter()
            .map(|(_, uri)| blobs.map_or(0, |b| b.size(uri)))
            .collect();
        // A string is unescaped into a copy of its own while it loads: together the copies
        // never take more than the two largest literals (one copy a thread).
        let copies = CopyBudget::new(copy_limit(
            jobs.iter()
                .map(|(_, uri)| blobs.map_or(0, |b| b.string_len(uri))),
        ));
        let loaded = crate::snapshot::parallel::in_parallel(&sizes, |i| {
            let (kind, uri) = jobs[i];
            blobs.and_then(|b| b.load(uri, kind, (tenant, surface), limits, &copies))
        });
        #[cfg(test)]
        copies.seen.record();
        for ((kind, uri), loaded) in jobs.into_iter().zip(loaded) {
            let Some(a) = loaded else {
                set.warnings.push(Problem::new(
                    format!("$.manifest.current.{}", kind.as_str()),
                    "RECSYS_ARTIFACT_NOT_FOUND",
                    format!(
                        "artifact {uri:?} referenced by the manifest was not supplied; the {} signal is unavailable",
                        kind.as_str()
                    ),
                ));
                continue;
            };
            set.artifacts.insert(kind, Arc::new(a?));
        }
        set.manifest = Some(info);
        Ok(set)
    }
}

fn same_signals(a: &Option<Arc<SignalData>>, b: &Option<Arc<SignalData>>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => Arc::ptr_eq(x, y),
        (x, y) => x.is_none() && y.is_none(),
    }
}

/// Parses a manifest and checks it belongs to (tenant, surface).
pub fn parse_manifest_doc(
    tenant: &str,
    surface: &str,
    text: &str,
    limits: &ArtifactLimits,
) -> Result<ManifestInfo, ApiError> {
    let manifest = artifacts::parse_manifest(text.as_bytes(), limits).map_err(ApiError::from)?;
    artifacts::verify_manifest_scope(&manifest, tenant, surface).map_err(ApiError::from)?;
    let version = json::etag(text.as_bytes())?;
    Ok(ManifestInfo { manifest, version })
}

/// The largest artifact any engine option admits (see [`load_blob`]).
pub const MAX_ARTIFACT_BYTES: usize = u32::MAX as usize;

/// Parses and verifies one artifact blob (type, version hash, URI stem, tenant, surface).
pub fn load_blob(
    bytes: &[u8],
    kind: ArtifactKind,
    uri: &str,
    tenant: &str,
    surface: &str,
    limits: &ArtifactLimits,
) -> Result<LoadedArtifact, ApiError> {
    // Columns and catalog rows use 32-bit offsets: an artifact is never larger than 4 GiB
    // (every value occupies at least one byte, so no count can reach 2^32).
    let limits = &ArtifactLimits {
        max_bytes: limits.max_bytes.min(MAX_ARTIFACT_BYTES),
        ..*limits
    };
    let named = |e: artifacts::ArtifactError| {
        let mut err = ApiError::from(e);
        err.message = format!("artifact {uri:?}: {}", err.message);
        err
    };
    // One pass into columns with the hash fed as it goes; the exact two-step path for any
    // document that pass does not take (it gives the same result and every error code).
    let expected = artifacts::version_from_uri(uri);
    if let Some(done) = artifacts::load_columns(bytes, kind, expected, tenant, surface, limits) {
        let c = done.map_err(named)?;
        return Ok(LoadedArtifact {
            uri: uri.to_string(),
            kind,
            envelope: c.envelope,
            rows: c.rows,
            columns: c.columns,
        });
    }
    let a = artifacts::load_artifact(bytes, kind, uri, tenant, surface, limits).map_err(named)?;
    Ok(LoadedArtifact::new(uri, a))
}

/// Builds the snapshot of one surface from its tenant's documents and its artifacts: the
/// set's catalog (compiled once per artifact set) with the documents compiled against it.
pub fn assemble(
    tenant: &str,
    surface: &str,
    docs: &TenantDocs,
    set: &ArtifactSet,
) -> TenantSnapshot {
    let mut versions = Versions {
        config_version: docs.config_version.clone(),
        rules_version: docs.rules_version.clone(),
        release_id: docs.release_id.clone(),
        ..Versions::default()
    };
    if let Some(m) = &set.manifest {
        versions.manifest_version = Some(m.version.clone());
        versions.manifest_updated_at = m.manifest.updated_at;
    }
    for (kind, a) in &set.artifacts {
        versions
            .artifacts
            .push((kind.as_str().to_string(), a.version().to_string()));
        let end = a.envelope.window.end;
        versions.oldest_window_end = Some(versions.oldest_window_end.map_or(end, |e| e.min(end)));
    }
    TenantSnapshot::with_policy(
        tenant,
        surface,
        set.catalog(),
        &docs.config,
        &docs.serving_rules,
        versions,
    )
}

/// What a compile produced, for the caller and the audit trail.
pub struct CompileReport {
    pub warnings: Vec<Problem>,
    pub rules_loaded: usize,
    pub rules_dropped: Vec<Problem>,
}

/// The text of an embedded document: a string is used as it is (not copied); an object is
/// written back to text once, which the byte decoders then read.
fn text_of(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        other => std::borrow::Cow::Owned(json::to_string(other)),
    }
}

/// A change to a tenant's config and/or rules, validated (and versioned) up front, so that
/// applying it to the tenant's current documents, under the engine's write lock, is only a
/// field copy: no parsing, validation or canonicalisation happens there.
#[derive(Default)]
pub struct DocsUpdate {
    /// The new config part (`config`, `config_version`, config warnings), when it changes.
    config: Option<TenantDocs>,
    /// The new rules part (`rules`, `rules_version`, `rules_dropped`, rule warnings).
    rules: Option<TenantDocs>,
    /// The release naming both parts (`admin.release`); any other change clears it.
    release_id: Option<String>,
}

impl DocsUpdate {
    /// Validates a replacement config document (`None` removes it).
    pub fn config(config: Option<&Value>) -> Result<DocsUpdate, ApiError> {
        let mut d = TenantDocs::default();
        d.set_config(config)?;
        Ok(DocsUpdate {
            config: Some(d),
            ..DocsUpdate::default()
        })
    }

    /// Parses a replacement rules document (`None` removes it).
    pub fn rules(tenant: &str, rules: Option<&Value>) -> Result<DocsUpdate, ApiError> {
        let mut d = TenantDocs::default();
        d.set_rules(tenant, rules)?;
        Ok(DocsUpdate {
            rules: Some(d),
            ..DocsUpdate::default()
        })
    }

    /// A release: both documents replaced together (`None` removes one), named `release_id`.
    pub fn release(
        tenant: &str,
        config: Option<&Value>,
        rules: Option<&Value>,
        release_id: String,
    ) -> Result<DocsUpdate, ApiError> {
        Ok(DocsUpdate {
            config: DocsUpdate::config(config)?.config,
            rules: DocsUpdate::rules(tenant, rules)?.rules,
            release_id: Some(release_id),
        })
    }

    /// The config and rules a `load_snapshot` supplies (members it leaves out keep the current).
    pub fn of_documents(docs: &Documents) -> Result<DocsUpdate, ApiError> {
        let mut u = DocsUpdate::default();
        if let Some(c) = docs.config {
            u.config = DocsUpdate::config(Some(c))?.config;
        }
        if let Some(r) = docs.rules {
            u.rules = DocsUpdate::rules(docs.tenant, Some(r))?.rules;
        }
        Ok(u)
    }

    /// `base` (the tenant's current documents) with this update applied.
    pub fn apply(&self, base: Option<&TenantDocs>) -> TenantDocs {
        let mut td = base.cloned().unwrap_or_default();
        let is_config = |p: &Problem| p.code.starts_with("RECSYS_CONFIG");
        if let Some(c) = &self.config {
            td.warnings.retain(|p| !is_config(p));
            // A fresh document's warnings are all its own (what `set_config` appends).
            td.warnings.extend(c.warnings.iter().cloned());
            td.config = c.config.clone();
            td.config_version = c.config_version.clone();
            td.release_id = None;
        }
        if let Some(r) = &self.rules {
            td.warnings.retain(is_config);
            td.warnings.extend(r.warnings.iter().cloned());
            td.rules = Arc::clone(&r.rules);
            td.serving_rules = r.serving_rules.clone();
            td.rules_version = r.rules_version.clone();
            td.rules_dropped = r.rules_dropped.clone();
            td.release_id = None;
        }
        if self.release_id.is_some() {
            td.release_id = self.release_id.clone();
        }
        td
    }
}

/// The verified artifacts (and DB-mode signals) of a load: the expensive, document-independent
/// part, done before any lock is taken.
pub fn artifact_set(docs: &Documents, limits: &ArtifactLimits) -> Result<ArtifactSet, ApiError> {
    let mut set = ArtifactSet::from_documents(
        docs.tenant,
        docs.surface,
        docs.manifest,
        docs.artifacts,
        limits,
    )?;
    if let Some(sv) = docs.signals {
        set.signals = Some(Arc::new(signals_from_value(sv, limits)?));
    }
    Ok(set)
}

/// The report for a freshly assembled snapshot.
pub fn report_for(td: &TenantDocs, set: &ArtifactSet, snap: &TenantSnapshot) -> CompileReport {
    let mut warnings = td.warnings.clone();
    warnings.extend(set.warnings.iter().cloned());
    warnings.extend(snap.notes.notes.iter().cloned());
    CompileReport {
        warnings,
        rules_loaded: td.rules.len(),
        rules_dropped: td.rules_dropped.clone(),
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
        am.push(k.clone(), Value::str(x));
    }
    m.push("artifact_versions", Value::Object(am));
    m.push("items", Value::u64(snap.catalog_len() as u64));
    let mut rm = Map::new();
    rm.push("loaded", Value::u64(rep.rules_loaded as u64));
    rm.push("serving", Value::u64(snap.rules.len() as u64));
    rm.push("dropped", crate::error::problems_value(&rep.rules_dropped));
    m.push("rules", Value::Object(rm));
    m.push("warnings", crate::error::problems_value(&rep.warnings));
    Value::Object(m)
}

/// DB-only mode: signals supplied by the host instead of artifacts, either in
/// `load_snapshot` documents (`"signals"`) or per request. Shape:
///
/// ```json
/// { "popularity": [{"item_id": "a", "score": 12}],
///   "cooc":       [{"item_id": "a", "items": [{"item_id": "b", "score": 3}]}],
///   "implicit":   [{"user_id": "u", "items": [{"item_id": "b", "score": 1}]}],
///   "session":    [{"user_id": "u", "items": [{"item_id": "c", "score": 1}]}],
///   "tags":       [{"item_id": "a", "tags": ["brand:acme", "red"]}] }
/// ```
///
/// Every member is optional; a present member makes that signal available. Scores must be
/// finite numbers; ids non-empty strings.
pub fn signals_from_value(v: &Value, limits: &ArtifactLimits) -> Result<SignalData, ApiError> {
    let Some(m) = v.as_object() else {
        return Err(ApiError::new(
            ErrorCode::InvalidSignals,
            "signals must be a json object",
        ));
    };
    let mut problems: Vec<Problem> = Vec::new();
    for (k, _) in m.iter() {
        if !["popularity", "cooc", "implicit", "session", "tags"].contains(&k) {
            problems.push(Problem::new(
                format!("$.{k}"),
                "RECSYS_SIGNAL_UNKNOWN",
                format!("unknown signal {k:?}"),
            ));
        }
    }
    // Fields are evaluated in the order written, which is the order problems are reported.
    let d = SignalData {
        popularity: signal_rows(m, "popularity", limits, &mut problems)
            .map(|rows| popularity_rows(&rows, &mut problems)),
        cooc: signal_rows(m, "cooc", limits, &mut problems)
            .map(|rows| owned_lists("cooc", "item_id", &rows, &mut problems)),
        implicit: signal_rows(m, "implicit", limits, &mut problems)
            .map(|rows| owned_lists("implicit", "user_id", &rows, &mut problems)),
        session: signal_rows(m, "session", limits, &mut problems)
            .map(|rows| owned_lists("session", "user_id", &rows, &mut problems)),
        content: signal_rows(m, "tags", limits, &mut problems)
            .map(|rows| tag_rows(&rows, &mut problems)),
    };
    if let Some(first) = problems.first() {
        return Err(ApiError::new(
            ErrorCode::InvalidSignals,
            format!("invalid signals: {} {}", first.path, first.message),
        )
        .with_problems(problems));
    }
    Ok(d)
}

/// A signal id at `path`: a non-empty (trimmed) string, else a problem.
fn signal_id(x: Option<&Value>, path: String, problems: &mut Vec<Problem>) -> Option<String> {
    match x.and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => Some(s.to_string()),
        _ => {
            problems.push(Problem::new(
                path,
                "RECSYS_SIGNAL_BAD_ID",
                "must be a non-empty string",
            ));
            None
        }
    }
}

/// A signal score at `path`: a finite number, else a problem.
fn signal_score(x: Option<&Value>, path: String, problems: &mut Vec<Problem>) -> Option<f64> {
    match x.and_then(Value::as_f64) {
        Some(f) => Some(f),
        None => {
            problems.push(Problem::new(
                path,
                "RECSYS_SIGNAL_BAD_SCORE",
                "must be a finite number",
            ));
            None
        }
    }
}

/// The object rows of signal `k` with their indexes; `None` when it is absent, not an array
/// or longer than `limits.max_items` (checked before any row is read). Rows that are not
/// objects are problems.
fn signal_rows<'a>(
    m: &'a Map,
    k: &str,
    limits: &ArtifactLimits,
    problems: &mut Vec<Problem>,
) -> Option<Vec<(usize, &'a Map)>> {
    let a = m.get(k)?;
    let Some(a) = a.as_array() else {
        problems.push(Problem::new(
            format!("$.{k}"),
            "RECSYS_SIGNAL_WRONG_TYPE",
            "must be an array",
        ));
        return None;
    };
    if a.len() > limits.max_items {
        problems.push(Problem::new(
            format!("$.{k}"),
            "RECSYS_SIGNAL_TOO_MANY",
            format!("{} rows, the limit is {}", a.len(), limits.max_items),
        ));
        return None;
    }
    let mut out = Vec::with_capacity(a.len());
    for (i, r) in a.iter().enumerate() {
        match r.as_object() {
            Some(o) => out.push((i, o)),
            None => problems.push(Problem::new(
                format!("$.{k}[{i}]"),
                "RECSYS_SIGNAL_WRONG_TYPE",
                "must be an object",
            )),
        }
    }
    Some(out)
}

/// An `{item_id, score}` row at `p`, both checked.
fn scored_row(o: Option<&Map>, p: &str, problems: &mut Vec<Problem>) -> Option<(String, f64)> {
    let id = signal_id(
        o.and_then(|o| o.get("item_id")),
        format!("{p}.item_id"),
        problems,
    );
    let score = signal_score(
        o.and_then(|o| o.get("score")),
        format!("{p}.score"),
        problems,
    );
    Some((id?, score?))
}

/// `popularity`: one scored row per item.
fn popularity_rows(rows: &[(usize, &Map)], problems: &mut Vec<Problem>) -> Vec<(String, f64)> {
    rows.iter()
        .filter_map(|(i, o)| scored_row(Some(o), &format!("$.popularity[{i}]"), problems))
        .collect()
}

/// An array of scored rows at `path` (a non-array is a problem and yields nothing).
fn scored_list(x: Option<&Value>, path: &str, problems: &mut Vec<Problem>) -> Vec<(String, f64)> {
    let Some(items) = x.and_then(Value::as_array) else {
        problems.push(Problem::new(
            path.to_string(),
            "RECSYS_SIGNAL_WRONG_TYPE",
            "must be an array",
        ));
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(j, it)| scored_row(it.as_object(), &format!("{path}[{j}]"), problems))
        .collect()
}

/// `cooc`, `implicit`, `session`: rows of an owner id (`owner_key`) and its scored `items`.
fn owned_lists(
    k: &str,
    owner_key: &str,
    rows: &[(usize, &Map)],
    problems: &mut Vec<Problem>,
) -> Vec<(String, Vec<(String, f64)>)> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, o) in rows {
        let p = format!("$.{k}[{i}]");
        if let Some(owner) = signal_id(o.get(owner_key), format!("{p}.{owner_key}"), problems) {
            out.push((
                owner,
                scored_list(o.get("items"), &format!("{p}.items"), problems),
            ));
        }
    }
    out
}

/// `tags`: rows of an item id and its tag strings (non-strings in the list are skipped).
fn tag_rows(rows: &[(usize, &Map)], problems: &mut Vec<Problem>) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, o) in rows {
        let p = format!("$.tags[{i}]");
        let Some(item) = signal_id(o.get("item_id"), format!("{p}.item_id"), problems) else {
            continue;
        };
        let Some(a) = o.get("tags").and_then(Value::as_array) else {
            problems.push(Problem::new(
                format!("{p}.tags"),
                "RECSYS_SIGNAL_WRONG_TYPE",
                "must be an array of strings",
            ));
            continue;
        };
        let tags = a.iter().filter_map(Value::as_str).map(str::to_owned);
        out.push((item, tags.collect()));
    }
    out
}

/// Test-only counts of string artifacts being unescaped and loaded at once by the last
/// `ArtifactSet::from_documents` of this thread, and of the bytes their copies took.
#[cfg(test)]
pub(crate) mod string_copies {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    thread_local! {
        static MOST: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    }

    /// Live and most-at-once counts of one load.
    #[derive(Default)]
    pub(crate) struct Count {
        live: AtomicUsize,
        most: AtomicUsize,
        most_bytes: AtomicUsize,
    }

    impl Count {
        /// One copy taken; `held` bytes are taken in all.
        pub(crate) fn took(&self, held: usize) {
            let n = self.live.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(n, SeqCst);
            self.most_bytes.fetch_max(held, SeqCst);
        }
        /// A copy written, about to load.
        pub(crate) fn loading(&self) {
            // Long enough for a second thread to take its own, were it allowed to.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        /// A copy given back.
        pub(crate) fn done(&self) {
            self.live.fetch_sub(1, SeqCst);
        }
        /// Records the load's counts for [`most`] (on the thread that ran the load).
        pub(crate) fn record(&self) {
            MOST.with(|m| m.set((self.most.load(SeqCst), self.most_bytes.load(SeqCst))));
        }
    }

    /// The most string artifacts the last load of this thread had loading at once.
    pub(crate) fn most() -> usize {
        MOST.with(Cell::get).0
    }

    /// The most bytes the copies of the last load of this thread took at once.
    pub(crate) fn most_bytes() -> usize {
        MOST.with(Cell::get).1
    }
}

#[cfg(test)]
mod copy_budget_tests {
    use super::{ArtifactSet, BlobText, Blobs, CopyBudget, RawBlob};
    use crate::artifacts::ArtifactLimits;
    use crate::json::{self, Value};
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_copy_that_fits_beside_another_is_taken_while_it_loads() {
        let budget = CopyBudget::new(100);
        let mut first = budget.take(100);
        first.keep(40);
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let _second = budget.take(60);
                tx.send(()).unwrap();
            });
            // The first copy is held until the second is taken (or 10 s pass).
            assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok());
            drop(first);
        });
        assert_eq!(*budget.held.lock().unwrap(), 0);
    }

    #[test]
    fn a_copy_that_does_not_fit_waits_for_the_bytes_to_come_back() {
        let budget = CopyBudget::new(100);
        let mut first = budget.take(100);
        first.keep(50);
        let given_back = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _second = budget.take(60);
                assert!(
                    given_back.load(SeqCst),
                    "taken beside a copy it does not fit"
                );
            });
            // Time for the second to get through, were it allowed to.
            std::thread::sleep(Duration::from_millis(50));
            given_back.store(true, SeqCst);
            drop(first);
        });
        // A copy larger than the budget is taken when nothing is held.
        let big = budget.take(500);
        assert_eq!(*budget.held.lock().unwrap(), 500);
        drop(big);
        assert_eq!(*budget.held.lock().unwrap(), 0);
    }

    #[test]
    fn the_budget_is_the_two_largest_literals_and_both_are_taken_at_once() {
        assert_eq!(super::copy_limit([].into_iter()), 0);
        assert_eq!(super::copy_limit([7].into_iter()), 7);
        let mut rng = crate::tests::rng::Rng::new(0xb0d9_e7c0_91e5);
        for _ in 0..500 {
            let lens: Vec<usize> = (0..1 + rng.index(6)).map(|_| rng.index(1000)).collect();
            let mut sorted = lens.clone();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            let two: usize = sorted.iter().take(2).sum();
            assert_eq!(super::copy_limit(lens.iter().copied()), two, "{lens:?}");
            // The two largest are taken together: the second take does not wait for the
            // first to come back (a wait would hold the first here until the 10 s pass).
            let budget = CopyBudget::new(two);
            let first = budget.take(sorted[0]);
            let (tx, rx) = mpsc::channel();
            std::thread::scope(|s| {
                s.spawn(|| {
                    let _second = budget.take(sorted.get(1).copied().unwrap_or(0));
                    tx.send(()).unwrap();
                });
                let taken = rx.recv_timeout(Duration::from_secs(10)).is_ok();
                drop(first);
                assert!(taken, "{lens:?}: the second copy waited");
            });
        }
    }

    /// An indented artifact of `kind` with `n` rows written by `row`, and its URI.
    fn indented(kind: &str, n: usize, row: impl Fn(usize) -> Value) -> (String, String) {
        let items: Vec<Value> = (0..n).map(row).collect();
        let doc = |version: &str| {
            let mut m = json::Map::new();
            m.push("v", Value::u64(1));
            m.push("artifact_type", Value::str(kind));
            m.push("tenant", Value::str("t"));
            m.push("surface", Value::str("s"));
            let mut w = json::Map::new();
            w.push("start", Value::str("2026-01-01T00:00:00Z"));
            w.push("end", Value::str("2026-01-02T00:00:00Z"));
            m.push("window", Value::Object(w));
            m.push("items", Value::Array(items.clone()));
            let mut b = json::Map::new();
            b.push("built_at", Value::str(""));
            b.push("version", Value::str(version));
            m.push("build", Value::Object(b));
            // Indented as the pipeline writes it: two spaces a level.
            let compact = json::to_string(&Value::Object(m));
            indent(&compact)
        };
        let v = crate::check::Artifact::parse(doc("V").as_bytes(), None)
            .unwrap()
            .version()
            .to_string();
        (format!("s3://b/t/s/{kind}/{v}.json"), doc(&v))
    }

    /// Compact JSON (no strings holding brackets or commas) indented two spaces a level.
    fn indent(compact: &str) -> String {
        let (mut out, mut depth, mut in_string) = (String::new(), 0usize, false);
        for c in compact.chars() {
            if c == '"' {
                in_string = !in_string;
            }
            match c {
                '{' | '[' if !in_string => {
                    depth += 1;
                    out.push(c);
                    out.push('\n');
                    out.push_str(&"  ".repeat(depth));
                }
                '}' | ']' if !in_string => {
                    depth -= 1;
                    out.push('\n');
                    out.push_str(&"  ".repeat(depth));
                    out.push(c);
                }
                ',' if !in_string => {
                    out.push_str(",\n");
                    out.push_str(&"  ".repeat(depth));
                }
                ':' if !in_string => out.push_str(": "),
                _ => out.push(c),
            }
        }
        out
    }

    #[test]
    fn string_artifacts_load_as_their_bytes_do_with_their_copies_within_the_two_literals() {
        let n = 20_000;
        let id = |i: usize| Value::str(format!("sku-{i:07}"));
        let arts = [
            indented("popularity", n, |i| {
                let mut r = json::Map::new();
                r.push("item_id", id(i));
                r.push("count", Value::u64((n - i) as u64));
                Value::Object(r)
            }),
            indented("content_sim", n, |i| {
                let mut r = json::Map::new();
                r.push("item_id", id(i));
                let tags = (0..4).map(|t| Value::str(format!("t{t}:{}", (i * 7 + t) % 300)));
                r.push("tags", Value::Array(tags.collect()));
                Value::Object(r)
            }),
        ];
        let manifest = Value::Object({
            let mut cur = json::Map::new();
            cur.push("popularity", Value::str(&arts[0].0));
            cur.push("content_sim", Value::str(&arts[1].0));
            let mut m = json::Map::new();
            m.push("v", Value::u64(1));
            m.push("tenant", Value::str("t"));
            m.push("surface", Value::str("s"));
            m.push("current", Value::Object(cur));
            m
        });
        let lits: Vec<String> = arts
            .iter()
            .map(|(_, t)| json::to_string(&Value::str(t)))
            .collect();
        let blobs = |string: bool| -> Vec<RawBlob> {
            arts.iter()
                .zip(&lits)
                .map(|((uri, text), lit)| RawBlob {
                    uri,
                    text: if string {
                        BlobText::String(lit)
                    } else {
                        BlobText::Bytes(text.as_bytes())
                    },
                })
                .collect()
        };
        let limits = ArtifactLimits::default();
        let load = |raw: &[RawBlob]| {
            crate::snapshot::parallel::with_threads(2, || {
                ArtifactSet::from_documents(
                    "t",
                    "s",
                    Some(&manifest),
                    Some(Blobs::Raw(raw)),
                    &limits,
                )
                .unwrap()
            })
        };
        let (bytes, strings) = (load(&blobs(false)), load(&blobs(true)));
        let both: usize = lits.iter().map(String::len).sum();
        assert!(super::string_copies::most_bytes() <= both);
        assert!(super::string_copies::most() >= 1);
        assert_eq!(bytes.artifacts.len(), 2);
        for (kind, a) in &bytes.artifacts {
            let b = &strings.artifacts[kind];
            assert_eq!((&a.uri, &a.envelope, a.rows), (&b.uri, &b.envelope, b.rows));
            assert_eq!(format!("{:?}", a.columns), format!("{:?}", b.columns));
        }
    }
}
