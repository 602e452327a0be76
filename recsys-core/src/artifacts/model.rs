//! Typed models of manifest v1 and the five artifact types.

use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::fmt;

/// The five artifact types. The declaration order is the pipeline's publish order, which is
/// also the `Ord` order (so a `BTreeMap<ArtifactKind, _>` iterates in publish order).
/// The set is closed by the artifact format's version (`v: 1`), so it is exhaustive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArtifactKind {
    /// Item popularity counts (`popularity`).
    Popularity,
    /// Item-to-item co-occurrence neighbours (`cooc`).
    Cooc,
    /// Per-user implicit-feedback items (`implicit`).
    Implicit,
    /// Item tags for content similarity (`content_sim`).
    ContentSim,
    /// Per-user recent session items (`session_seq`).
    SessionSeq,
}

impl ArtifactKind {
    /// Every kind, in the pipeline's publish order.
    pub const ALL: [ArtifactKind; 5] = [
        ArtifactKind::Popularity,
        ArtifactKind::Cooc,
        ArtifactKind::Implicit,
        ArtifactKind::ContentSim,
        ArtifactKind::SessionSeq,
    ];

    /// The exact `artifact_type` string (also the manifest `current` key).
    pub const fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Popularity => "popularity",
            ArtifactKind::Cooc => "cooc",
            ArtifactKind::Implicit => "implicit",
            ArtifactKind::ContentSim => "content_sim",
            ArtifactKind::SessionSeq => "session_seq",
        }
    }

    /// Parses the exact (case-sensitive) type string.
    pub fn parse(s: &str) -> Option<ArtifactKind> {
        match s {
            "popularity" => Some(ArtifactKind::Popularity),
            "cooc" => Some(ArtifactKind::Cooc),
            "implicit" => Some(ArtifactKind::Implicit),
            "content_sim" => Some(ArtifactKind::ContentSim),
            "session_seq" => Some(ArtifactKind::SessionSeq),
            _ => None,
        }
    }

    /// The JSON member that holds the body of this kind.
    pub const fn body_key(self) -> &'static str {
        match self {
            ArtifactKind::Popularity | ArtifactKind::ContentSim => "items",
            ArtifactKind::Cooc => "neighbors",
            ArtifactKind::Implicit | ArtifactKind::SessionSeq => "users",
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Manifest v1: the current artifact pointers of one (tenant, surface).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestV1 {
    /// Always 1 after parsing.
    pub v: u32,
    pub tenant: String,
    pub surface: String,
    /// Artifact kind to blob URI (trimmed, non-empty). Unknown `current` keys are dropped; a
    /// missing, `null` or blank entry means the artifact is absent.
    pub current: BTreeMap<ArtifactKind, String>,
    /// `updated_at` as an instant; `None` when the manifest has an empty or missing value.
    pub updated_at: Option<Timestamp>,
    /// `updated_at` exactly as written (empty when missing).
    pub updated_at_raw: String,
}

impl ManifestV1 {
    /// The URI of `kind`, if the manifest points at one.
    pub fn uri(&self, kind: ArtifactKind) -> Option<&str> {
        self.current.get(&kind).map(String::as_str)
    }
}

/// The artifact window `[start, end)`. The raw strings are what the version hash covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
    /// `window.start` verbatim.
    pub start_raw: String,
    /// `window.end` verbatim.
    pub end_raw: String,
}

/// The build block. Only `version` matters for verification; `built_at` and `source_hash` are
/// informational and not covered by the version hash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Build {
    /// As written; the pipeline writes RFC 3339 UTC seconds but nothing checks it.
    pub built_at: String,
    /// The declared version (SHA-256 hex of the canonical form).
    pub version: String,
    /// Empty when missing (Go `omitempty`); the pipeline sets it equal to `version`.
    pub source_hash: String,
}

impl Build {
    #[cfg(feature = "bench-internals")]
    /// `built_at` as an instant, when it parses as RFC 3339.
    pub fn built_at_timestamp(&self) -> Option<Timestamp> {
        Timestamp::parse_rfc3339(&self.built_at)
    }
}

/// The members every artifact shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Always 1 after parsing.
    pub v: u32,
    pub kind: ArtifactKind,
    pub tenant: String,
    pub surface: String,
    /// Empty when missing; an empty segment is left out of the hash input.
    pub segment: String,
    pub window: Window,
    pub build: Build,
}

/// One popularity entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PopItem {
    pub item_id: String,
    pub count: i64,
}

/// `popularity` body. `None` is a missing or `null` member, which hashes differently from `[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PopularityArtifact {
    pub items: Option<Vec<PopItem>>,
}

/// One co-occurrence neighbour of an anchor item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoocNeighbor {
    pub item_id: String,
    pub count: i64,
}

/// One anchor row of a `cooc` artifact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoocRow {
    pub item_id: String,
    pub items: Option<Vec<CoocNeighbor>>,
}

/// `cooc` body (`neighbors`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoocArtifact {
    pub neighbors: Option<Vec<CoocRow>>,
}

/// A scored item of a user row (`implicit`, `session_seq`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScoredItem {
    pub item_id: String,
    /// Finite and `>= 0` after parsing.
    pub score: f64,
}

/// One user row of an `implicit` or `session_seq` artifact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserRow {
    pub user_id: String,
    pub items: Option<Vec<ScoredItem>>,
}

/// `implicit` body (`users`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImplicitArtifact {
    pub users: Option<Vec<UserRow>>,
}

/// `session_seq` body (`users`), same shape as `implicit`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionSeqArtifact {
    pub users: Option<Vec<UserRow>>,
}

/// One item of a `content_sim` artifact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentItem {
    pub item_id: String,
    pub tags: Option<Vec<String>>,
}

/// `content_sim` body (`items`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentSimArtifact {
    pub items: Option<Vec<ContentItem>>,
}

/// The type-specific body of an artifact.
#[derive(Clone, Debug, PartialEq)]
pub enum ArtifactBody {
    Popularity(PopularityArtifact),
    Cooc(CoocArtifact),
    Implicit(ImplicitArtifact),
    ContentSim(ContentSimArtifact),
    SessionSeq(SessionSeqArtifact),
}

impl ArtifactBody {
    /// A body of `kind` whose array is missing (`null`).
    pub fn absent(kind: ArtifactKind) -> ArtifactBody {
        match kind {
            ArtifactKind::Popularity => ArtifactBody::Popularity(PopularityArtifact::default()),
            ArtifactKind::Cooc => ArtifactBody::Cooc(CoocArtifact::default()),
            ArtifactKind::Implicit => ArtifactBody::Implicit(ImplicitArtifact::default()),
            ArtifactKind::ContentSim => ArtifactBody::ContentSim(ContentSimArtifact::default()),
            ArtifactKind::SessionSeq => ArtifactBody::SessionSeq(SessionSeqArtifact::default()),
        }
    }

    pub fn kind(&self) -> ArtifactKind {
        match self {
            ArtifactBody::Popularity(_) => ArtifactKind::Popularity,
            ArtifactBody::Cooc(_) => ArtifactKind::Cooc,
            ArtifactBody::Implicit(_) => ArtifactKind::Implicit,
            ArtifactBody::ContentSim(_) => ArtifactKind::ContentSim,
            ArtifactBody::SessionSeq(_) => ArtifactKind::SessionSeq,
        }
    }

    /// Number of top-level rows (items, anchor rows or users); 0 for a missing body.
    pub fn row_count(&self) -> usize {
        match self {
            ArtifactBody::Popularity(b) => b.items.as_ref().map_or(0, Vec::len),
            ArtifactBody::Cooc(b) => b.neighbors.as_ref().map_or(0, Vec::len),
            ArtifactBody::Implicit(b) => b.users.as_ref().map_or(0, Vec::len),
            ArtifactBody::ContentSim(b) => b.items.as_ref().map_or(0, Vec::len),
            ArtifactBody::SessionSeq(b) => b.users.as_ref().map_or(0, Vec::len),
        }
    }
}

/// A parsed artifact: envelope plus body. `envelope.kind == body.kind()` after parsing.
#[derive(Clone, Debug, PartialEq)]
pub struct Artifact {
    pub envelope: Envelope,
    pub body: ArtifactBody,
}

impl Artifact {
    pub fn kind(&self) -> ArtifactKind {
        self.envelope.kind
    }
    /// The declared version (`build.version`).
    pub fn declared_version(&self) -> &str {
        &self.envelope.build.version
    }
    #[cfg(test)]
    pub fn as_popularity(&self) -> Option<&PopularityArtifact> {
        match &self.body {
            ArtifactBody::Popularity(b) => Some(b),
            _ => None,
        }
    }
    #[cfg(test)]
    pub fn as_cooc(&self) -> Option<&CoocArtifact> {
        match &self.body {
            ArtifactBody::Cooc(b) => Some(b),
            _ => None,
        }
    }
    #[cfg(test)]
    pub fn as_content_sim(&self) -> Option<&ContentSimArtifact> {
        match &self.body {
            ArtifactBody::ContentSim(b) => Some(b),
            _ => None,
        }
    }
}

#[cfg(test)]
/// Number of top-level rows of the body (items, anchor rows or users).
pub fn row_count(a: &Artifact) -> usize {
    a.body.row_count()
}

#[cfg(test)]
/// True when the body has no rows (`[]`, `null` or missing). The pipeline publishes such
/// artifacts for empty windows over good ones; callers may want to hold them back.
pub fn is_empty_body(a: &Artifact) -> bool {
    a.body.row_count() == 0
}

/// Size bounds for manifests and artifacts. Exceeding one is a typed error; nothing is ever
/// truncated silently. Row limits apply to every array occurrence, including ones a later
/// duplicate member replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArtifactLimits {
    /// Maximum document size in bytes (manifest or artifact).
    pub max_bytes: usize,
    /// Rows per artifact: popularity `items`, cooc `neighbors`, content_sim `items`.
    pub max_items: usize,
    /// Neighbours per cooc row (`neighbors[i].items`).
    pub max_neighbors_per_row: usize,
    /// User rows of implicit / session_seq (`users`).
    pub max_users: usize,
    /// Items per user row (`users[i].items`).
    pub max_items_per_user: usize,
    /// Tags per content_sim item.
    pub max_tags_per_item: usize,
    /// Maximum JSON nesting depth (unknown members count too).
    pub max_depth: usize,
}

impl Default for ArtifactLimits {
    fn default() -> ArtifactLimits {
        ArtifactLimits {
            max_bytes: 10_000_000,
            max_items: 1_000_000,
            max_neighbors_per_row: 10_000,
            max_users: 1_000_000,
            max_items_per_user: 10_000,
            max_tags_per_item: 256,
            max_depth: 64,
        }
    }
}

impl ArtifactLimits {
    /// No row limits; size and depth keep generous bounds (1 GiB, 256 levels).
    pub fn unlimited() -> ArtifactLimits {
        ArtifactLimits {
            max_bytes: 1 << 30,
            max_items: usize::MAX,
            max_neighbors_per_row: usize::MAX,
            max_users: usize::MAX,
            max_items_per_user: usize::MAX,
            max_tags_per_item: usize::MAX,
            max_depth: 256,
        }
    }
}
