//! What a production service needs around the decision, as pure functions and small state
//! machines a host wires in:
//!
//! * [`experiments`]: experiment definitions (lifecycle, traffic, holdouts, weighted variants)
//!   and assignment, bit-compatible with the reference (service.md 6.2).
//! * [`exposure`]: exposure events in the reference's `service_v1` and `eval_v1` shapes with
//!   HMAC-hashed subjects (service.md 6.1), handed to a host [`exposure::ExposureSink`].
//! * [`apikeys`]: API-key hashing as the reference stores keys, constant-time verification and
//!   secret rotation (service.md 6.3).
//! * [`profile`]: the engine-wide [`profile::EngineProfile`] with the reference's production
//!   fail-fast checks (service.md 8).
//! * [`backpressure`]: an admission gate (max in flight, bounded queue, wait timeout) answering
//!   `RECSYS_OVERLOADED` (service.md 7.1).
//! * [`metrics`]: a [`metrics::Metrics`] adapter trait, the reference's series (service.md 7.5)
//!   and an in-memory registry with a Prometheus text renderer.
//! * [`api`]: the JSON static operations over the above (`assign`, `exposure_event`,
//!   `api_key_hash`, `api_key_verify`, `validate_profile`).
//!
//! Everything here is I/O-free. Time comes in as [`Timestamp`](crate::time::Timestamp)s or
//! durations; the one place that blocks is the backpressure queue, which waits on a
//! `Condvar` with a timeout (see [`backpressure`]).

pub mod api;
pub mod apikeys;
pub mod backpressure;
mod decode;
pub(crate) mod digest;
pub mod experiments;
pub mod exposure;
pub mod metrics;
pub mod profile;
pub mod rule_stats;

#[cfg(test)]
pub use backpressure::GateStats;
pub use backpressure::{AdmissionGate, Permit};
pub use exposure::{ExposureSink, MemorySink};
#[cfg(test)]
pub use metrics::MetricsRegistry;
pub use metrics::{Metrics, NoopMetrics};

/// The serving endpoints that exposure logging and metrics tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    Recommend,
    Similar,
}

impl Endpoint {
    /// `recommend` / `similar` (the reference's `endpoint` label values).
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Recommend => "recommend",
            Endpoint::Similar => "similar",
        }
    }
    pub fn parse(s: &str) -> Option<Endpoint> {
        match s {
            "recommend" => Some(Endpoint::Recommend),
            "similar" => Some(Endpoint::Similar),
            _ => None,
        }
    }
}
