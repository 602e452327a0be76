//! # recsys-core
//!
//! The pure decision core of the recsys recommendation service. Given immutable snapshots of
//! a tenant's config, rules and artifacts, it answers `recommend`, `validate` and `similar`
//! requests, and it owns the formats, versions (ETags) and verification of those documents.
//!
//! The crate performs no I/O: it never reads a clock, a file, a socket or an environment
//! variable. Time, bytes and identities come in as arguments; effects go out as values.
//!
//! Start with [`api::Engine`] (the JSON call/answer surface every binding uses) or with the
//! typed modules below.

#![forbid(unsafe_code)]

pub mod adapters;
pub mod api;
pub mod candidates;
pub mod change;
pub mod compile;
pub mod config;
pub mod control;
pub(crate) mod decode;
pub mod engine;
pub mod error;
pub mod json;
pub mod lint;
pub mod loader;
pub mod ops;
pub mod options;
pub mod preview;
pub mod ranking;
pub mod release;
pub mod request;
pub mod snapshot;
pub mod sync;
pub mod time;

pub use api::{call_static, Engine};

/// The Rust blocks of the README run as doc tests (`.ci/snippets.py --coverage` checks that
/// every guide's blocks run somewhere in CI).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The Rust blocks of the Rust guide run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/bindings/rust.md")]
pub struct RustGuideDoctests;
pub use error::{ApiError, Problem};
pub mod artifacts;
pub mod rules;
