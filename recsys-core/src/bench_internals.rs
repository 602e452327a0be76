//! The internal stages the workspace's criterion benches time, for them only: snapshot
//! compiles from plain signal data, artifact decoding and hashing, catalog and snapshot
//! memory, and the atomic install of a compiled snapshot. No user calls these; the supported
//! way to the same work is [`crate::Engine::load_snapshot`], `set_config` and `set_rules`.
//!
//! Compiled only with the cargo feature `bench-internals` (off by default; `recsys-benches`
//! turns it on) and hidden from the docs. Not a supported API: it changes without notice.

use crate::snapshot::TenantSnapshot;
use crate::{ApiError, Engine, Served};
use std::sync::Arc;

/// Artifact decoding, hashing and the columnar loader.
pub mod artifacts {
    pub use crate::artifacts::{
        canonical_hash_input, load_artifact, load_columns, parse_artifact, version_from_uri,
        version_hash, Artifact, ArtifactBody, UserRow,
    };
    pub use crate::check::{ArtifactKind, ArtifactLimits};
}

/// Parsed `load_snapshot` documents.
pub mod compile {
    pub use crate::compile::{CompileReport, Documents};
}

/// The config document's model.
pub mod config {
    pub use crate::config::{Limits, TenantConfig};
}

/// The rules document's parser and model.
pub mod rules {
    pub use crate::rules::{parse_rules, Rule, RulesParseOptions};
}

/// Compiled snapshots and their parts.
pub mod snapshot {
    pub use crate::snapshot::{
        Catalog, ScoredRows, ServingRules, SignalData, Sources, TagPrefixes, TenantSnapshot,
        Versions,
    };
}

/// Decodes a recommend request under `limits` (the benches lift them for generated requests).
pub fn request_from_value(
    v: &crate::json::Value,
    limits: &config::Limits,
) -> Result<(crate::RecommendRequest, Vec<crate::Warning>), ApiError> {
    crate::RecommendRequest::from_value(v, limits)
}

/// [`Engine`]'s atomic install of a compiled snapshot; returns the one it replaced.
pub fn install(engine: &Engine, snap: TenantSnapshot) -> Option<Arc<TenantSnapshot>> {
    engine.install(snap)
}

/// The compiled snapshot behind [`Engine::snapshot`].
pub fn snapshot_of(served: &Served) -> Arc<TenantSnapshot> {
    served.snapshot.clone()
}

/// Reloads parsed documents (the load without the JSON call surface).
pub fn load_documents(
    engine: &Engine,
    docs: &compile::Documents,
) -> Result<(Arc<TenantSnapshot>, compile::CompileReport), ApiError> {
    engine.load_documents(docs)
}
