//! Tests that exercise the crate's internals (snapshots, parsers, the control plane, the ops
//! layer): moved here from `tests/` when those modules became crate-private. Tests that need
//! only the public API stay in `recsys-core/tests/`, where they prove that surface is enough.

/// The shipped example as `load_snapshot` documents (shared with `tests/`).
#[path = "../../tests/common/mod.rs"]
mod common;

mod artifacts;
mod catalog;
mod control;
mod invariants;
mod limits;
mod lint;
mod loader;
mod ops;
mod ops_engine;
mod overflow;
mod pool_budgets;
pub(crate) mod progress;
pub(crate) mod rng;
mod rules_doc;
pub(crate) mod scaling;
mod serving;
mod soak;
mod sync;
mod typed_engine;
