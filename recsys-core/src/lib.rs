//! # recsys-core
//!
//! The pure decision core of the recsys recommendation service. Given immutable snapshots of
//! a tenant's config, rules and artifacts, it answers `recommend`, `validate` and `similar`
//! requests, and it owns the formats, versions (ETags) and verification of those documents.
//!
//! The crate performs no I/O: it never reads a clock, a file, a socket or an environment
//! variable. Time, bytes and identities come in as arguments; effects go out as values or
//! through the adapter traits a host implements ([`DocumentStore`], [`ArtifactReader`],
//! [`Metrics`], [`ExposureSink`]).
//!
//! ## The supported API
//!
//! * [`Engine`], built with [`Engine::builder`]: [`Engine::load_snapshot`] takes typed
//!   [`Documents`]; [`Engine::admin`] is the control plane (every write reaches the store
//!   *and* what serves, audited); [`Engine::loader`] drives the artifact lifecycle.
//! * [`Context`]: what the host says about a call (time, tenant, request id, caller).
//! * [`Engine::call`] / [`call_static`]: every operation ([`Op`]) as JSON text in and out,
//!   the form every binding and the conformance corpus use.
//! * [`ApiError`]: every failure, with a stable code and an HTTP status.
//! * [`json`]: the canonical JSON values, ETags and If-Match rules the formats are defined
//!   in (with the `serde` feature: `Serialize` / `Deserialize` for [`json::Value`] and
//!   `From<serde_json::Value>`).
//! * [`check`]: a config, rules document, manifest or artifact checked without an engine.
//! * The adapter traits a host implements, with in-memory ones: [`MemoryStore`],
//!   [`MemorySink`], [`NoopMetrics`]; [`host`]: the glue the language bindings share.
//!
//! ```
//! use recsys_core::{Documents, Engine};
//!
//! let engine = Engine::builder().build()?;
//! engine.load_snapshot(
//!     Documents::new("demo", "home")
//!         .config(r#"{"weights": {"pop": 1}}"#)
//!         .signals(r#"{"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}"#),
//! )?;
//! let answer = engine.call("recommend", r#"{
//!     "request": {"surface": "home", "k": 2, "user": {"user_id": "u1"}},
//!     "ctx": {"now": "2026-01-02T00:00:00Z", "tenant": "demo"}}"#)?;
//! assert!(answer.starts_with(r#"{"items":[{"item_id":"a","rank":1"#), "{answer}");
//! # Ok::<(), recsys_core::ApiError>(())
//! ```
//!
//! Everything else (snapshots, parsers, the serving pipeline, the control plane's internals)
//! is private to the crate.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The bench-only re-exports (feature `bench-internals`, hidden) reach internal types whose
// fields are not documented as API; every other build enforces the lint.
#![cfg_attr(feature = "bench-internals", allow(missing_docs))]

pub mod api;
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_internals;
pub mod check;
pub(crate) mod decode;
pub mod engine;
pub mod host;
pub mod json;
pub mod time;

pub(crate) mod adapters;
pub(crate) mod candidates;
pub(crate) mod change;
pub(crate) mod options;
pub(crate) mod preview;
pub(crate) mod probe;
pub(crate) mod ranking;
pub(crate) mod release;
pub(crate) mod serve;
pub(crate) mod spare;
pub(crate) mod sync;
pub(crate) mod wire;

pub(crate) mod artifacts;
pub(crate) mod compile;
pub(crate) mod config;
pub(crate) mod control;
pub(crate) mod error;
pub(crate) mod lint;
pub(crate) mod loader;
pub(crate) mod ops;
pub(crate) mod request;
pub(crate) mod rules;
pub(crate) mod snapshot;

pub use api::{call_static, Op};
pub use config::Weights;
pub use control::{
    Actor, AuditDraft, AuditEntry, AuditHead, AuditKey, AuditPage, AuditQuery, AuditSigner,
    AuditVerification, CacheTarget, CurrentDocument, DocKind, DocumentStore, Entity, Invalidation,
    InvalidationCounts, InvalidationOutcome, MemoryStore, Pointer, PointerMismatch, PointerSwap,
    Principal, PutRequest, RollbackTarget, StoreError, StoreErrorKind, StoredVersion, TamperReason,
    VersionInfo, VersionList, WriteOutcome, CHANGE_ACTIONS,
};
pub use engine::{
    Admin, ArtifactChange, Context, Documents, DueSurface, Engine, EngineBuilder, EngineOptions,
    ExposureBatch, IntoDocument, Invalidated, InvalidatedTarget, LoadReport, Loader, Refresh,
    Served, SurfaceId, Written,
};
pub use error::{ApiError, ErrorCode, ErrorKind, Problem};
pub use lint::{codes as lint_codes, Finding as LintFinding, Severity as LintSeverity};
pub use loader::{ArtifactReader, Fetch, Step};
pub use ops::exposure::ExposureFormat;
pub use ops::exposure::SinkError;
pub use ops::rule_stats::RuleOutcome;
pub use ops::{ExposureSink, MemorySink, Metrics, NoopMetrics};
pub use request::{
    Constraints, Context as RequestContext, Experiment, Explain, Options as RequestOptions,
    RecommendRequest, SimilarRequest, User, Warning,
};
pub use rules::Action as RuleAction;
pub use serve::answer::{
    BlendParts, Counts, Diagnostic, ExperimentMeta, Item, ItemExplain, Meta, MmrExplain,
    RawSignals, Recommendation, RuleReport, Validation, ValidationMeta,
};
pub use sync::{SyncKinds, TenantReport};
pub use time::Timestamp;

// Tests of the internals (see src/tests/mod.rs); `recsys_core::` names this crate in the
// files they share with the integration tests.
#[cfg(test)]
extern crate self as recsys_core;
#[cfg(test)]
mod tests;

/// The Rust blocks of the README run as doc tests (`.ci/snippets.py --coverage` checks that
/// every guide's blocks run somewhere in CI).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The Rust blocks of the Rust guide run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/bindings/rust.md")]
pub struct RustGuideDoctests;
