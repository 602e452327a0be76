//! Manifest v1 and the five artifact types: typed models, parsing, version hashes, verification.
//!
//! * [`parse_manifest`] reads the per-(tenant, surface) pointer document; [`verify_manifest_scope`]
//!   checks it against the request.
//! * [`parse_artifact`] reads one blob with Go-compatible decoding (see the `decode` notes:
//!   case-insensitive members, last duplicate wins, unknown members ignored, `null` kept apart
//!   from `[]`) and applies the pipeline validator's structural checks and [`ArtifactLimits`].
//!   It decodes straight from the bytes (`stream`); a tree-based twin (`oracle`) is kept for
//!   differential tests.
//! * [`version_hash`] / [`canonical_hash_input`] reproduce the pipeline's version rule byte for
//!   byte; [`verify`] checks it against `build.version` and an expected version
//!   ([`version_from_uri`]); [`verify_against`] checks tenant and surface;
//!   [`load_artifact`] does all three.
//! * [`load_columns`] does all of that in one pass straight into the snapshot's columns
//!   (no decoded rows, hash fed as it goes) for every document it can take exactly, and
//!   says when the caller must use the steps above instead.
//!
//! Every failure is an [`ArtifactError`] with a stable code; it converts into
//! [`ApiError`](crate::error::ApiError) as `RECSYS_ARTIFACT_INCOMPATIBLE` (422) or
//! `RECSYS_ARTIFACT_TOO_LARGE` (413).
//!
//! Differences from the reference, on purpose: an empty `segment` is accepted (the hash then
//! leaves it out, as Go's `omitempty` does); the hash is always verified (the reference service
//! never does); tenant and surface can be checked; row counts are bounded.

mod columnar;
mod decode;
mod error;
mod hash;
mod model;
#[cfg(test)]
pub(crate) mod oracle;
mod rows;
mod stream;

pub use columnar::load_columns;
pub use decode::{parse_manifest, verify_manifest_scope};
pub use error::ArtifactError;
#[cfg(any(test, feature = "bench-internals"))]
pub use hash::canonical_hash_input;
#[cfg(test)]
pub use hash::verify_against;
pub use hash::{load_artifact, verify, version_from_uri, version_hash};
#[cfg(test)]
pub use model::{is_empty_body, row_count};
pub use model::{
    Artifact, ArtifactBody, ArtifactKind, ArtifactLimits, ContentItem, CoocNeighbor, CoocRow,
    Envelope, ImplicitArtifact, ManifestV1, PopItem, ScoredItem, SessionSeqArtifact, UserRow,
};
pub use stream::parse_artifact;
