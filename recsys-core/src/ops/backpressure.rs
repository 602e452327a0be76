//! Backpressure (service.md 7.1): an admission gate in front of the decision with a cap on
//! requests in flight, an optional bounded queue and a wait timeout. Rejections are
//! [`Overloaded`] → 503 `RECSYS_OVERLOADED` "service overloaded" with `Retry-After`.
//!
//! Shapes, as in the reference:
//!
//! * `max_in_flight == 0`: disabled, every request is admitted (and still counted).
//! * no queue, no wait: take a free slot immediately or reject.
//! * `max_queue > 0`: take a queue place without waiting (none left → reject), then wait for a
//!   slot up to the timeout. A zero timeout with a queue waits until the request's own
//!   deadline in the reference; the core has no request deadline, so pass the remaining
//!   budget to [`AdmissionGate::try_acquire_for`] (zero → reject at once).
//! * no queue but a wait (the reference default when only max in flight is set): any number
//!   of waiters, each waiting up to the timeout.
//!
//! **Time**: the gate never reads a clock. Waiting is `Condvar::wait_timeout_while` with the
//! configured (or given) duration, which bounds the wait using the standard library's
//! monotonic timer internally; no decision depends on the current time, only on whether a
//! slot was freed before the timeout elapsed. The gate spawns no threads. It is `Send + Sync`
//! and cheap to clone (clones share state); a [`Permit`] releases its slot on drop, from any
//! thread.
//!
//! Waiters are not strictly FIFO: a newcomer may take a slot freed while a waiter is being
//! woken (as with the reference's channel semaphore).

use crate::error::ErrorCode;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::error::ApiError;
use crate::json::Value;

use super::metrics::{names, Metrics};

/// Error code of [`Overloaded`].
pub const OVERLOADED: &str = ErrorCode::Overloaded.code();

/// Why a request was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// No slot free and waiting not allowed.
    NoSlot,
    /// Every queue place was taken.
    QueueFull,
    /// No slot was freed before the wait timed out.
    Timeout,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NoSlot => "no_slot",
            RejectReason::QueueFull => "queue_full",
            RejectReason::Timeout => "timeout",
        }
    }
}

/// The request was not admitted. `retry_after` is the `Retry-After` header in whole seconds
/// (`None` → no header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("service overloaded")]
pub struct Overloaded {
    pub retry_after: Option<u64>,
    pub reason: RejectReason,
}

impl Overloaded {
    pub fn code(&self) -> &'static str {
        OVERLOADED
    }
}

impl From<Overloaded> for ApiError {
    /// 503 `RECSYS_OVERLOADED` "service overloaded"; `extra.retry_after` (seconds) when the
    /// header should be sent.
    fn from(o: Overloaded) -> ApiError {
        let e = ApiError::new(ErrorCode::Overloaded, "service overloaded");
        match o.retry_after {
            Some(s) => e.with_extra("retry_after", Value::u64(s)),
            None => e,
        }
    }
}

/// `Retry-After` seconds from a configured duration, as the reference computes it:
/// truncated to whole seconds, a positive value below one second gives 1, zero gives none.
pub fn retry_after_header(d: Duration) -> Option<u64> {
    if d.is_zero() {
        None
    } else {
        Some(d.as_secs().max(1))
    }
}

/// Counters of a gate, read atomically together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GateStats {
    pub max_in_flight: usize,
    pub max_queue: usize,
    /// Requests holding a permit now.
    pub in_flight: usize,
    /// Requests waiting now.
    pub waiting: usize,
    /// Highest `in_flight` seen.
    pub peak_in_flight: usize,
    /// Permits granted (immediately or after waiting).
    pub admitted: u64,
    /// Permits granted after waiting.
    pub admitted_after_wait: u64,
    /// Rejections, all reasons.
    pub rejected: u64,
    pub rejected_no_slot: u64,
    pub rejected_queue_full: u64,
    pub rejected_timeout: u64,
}

#[derive(Debug)]
struct Config {
    max_in_flight: usize,
    max_queue: usize,
    queue_timeout: Duration,
    retry_after: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    stats: GateStats,
}

struct Inner {
    cfg: Config,
    state: Mutex<State>,
    freed: Condvar,
    metrics: Option<Arc<dyn Metrics>>,
}

/// The admission gate. See the module docs.
#[derive(Clone)]
pub struct AdmissionGate {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AdmissionGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionGate")
            .field("config", &self.inner.cfg)
            .field("stats", &self.stats())
            .finish()
    }
}

/// A slot in the gate; dropping it frees the slot and wakes one waiter.
#[must_use = "dropping a permit releases the slot at once"]
pub struct Permit {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Permit")
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut s = lock(&self.inner.state);
        s.stats.in_flight = s.stats.in_flight.saturating_sub(1);
        drop(s);
        self.inner.freed.notify_one();
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // No code holding this lock can panic, but never let poisoning disable admission.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AdmissionGate {
    /// A gate admitting `max_in_flight` requests at once (0 = disabled), with `max_queue`
    /// waiting places (0 = unbounded waiters when `queue_timeout` > 0) and the wait timeout.
    /// `Retry-After` defaults to 1 second.
    pub fn new(max_in_flight: usize, max_queue: usize, queue_timeout: Duration) -> AdmissionGate {
        AdmissionGate {
            inner: Arc::new(Inner {
                cfg: Config {
                    max_in_flight,
                    max_queue,
                    queue_timeout,
                    retry_after: Some(1),
                },
                state: Mutex::new(State {
                    stats: GateStats {
                        max_in_flight,
                        max_queue,
                        ..GateStats::default()
                    },
                }),
                freed: Condvar::new(),
                metrics: None,
            }),
        }
    }

    /// Sets the `Retry-After` duration (see [`retry_after_header`]). Call before sharing.
    pub fn with_retry_after(self, d: Duration) -> AdmissionGate {
        self.rebuild(|cfg, _| cfg.retry_after = retry_after_header(d))
    }

    #[cfg(test)]
    /// Counts rejections in `recsys_backpressure_rejections_total`. Call before sharing.
    pub fn with_metrics(self, metrics: Arc<dyn Metrics>) -> AdmissionGate {
        self.rebuild(|_, m| *m = Some(metrics))
    }

    fn rebuild(self, f: impl FnOnce(&mut Config, &mut Option<Arc<dyn Metrics>>)) -> AdmissionGate {
        let (mut cfg, stats, mut metrics) = {
            let i = &self.inner;
            (
                Config {
                    max_in_flight: i.cfg.max_in_flight,
                    max_queue: i.cfg.max_queue,
                    queue_timeout: i.cfg.queue_timeout,
                    retry_after: i.cfg.retry_after,
                },
                lock(&i.state).stats,
                i.metrics.clone(),
            )
        };
        f(&mut cfg, &mut metrics);
        AdmissionGate {
            inner: Arc::new(Inner {
                cfg,
                state: Mutex::new(State { stats }),
                freed: Condvar::new(),
                metrics,
            }),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.cfg.max_in_flight > 0
    }

    /// Admits with the configured wait.
    pub fn try_acquire(&self) -> Result<Permit, Overloaded> {
        self.try_acquire_for(self.inner.cfg.queue_timeout)
    }

    /// Admits, waiting at most `wait` (pass `min(configured, remaining request budget)` to
    /// honour a request deadline).
    pub fn try_acquire_for(&self, wait: Duration) -> Result<Permit, Overloaded> {
        let cfg = &self.inner.cfg;
        let mut s = lock(&self.inner.state);
        if cfg.max_in_flight == 0 || s.stats.in_flight < cfg.max_in_flight {
            return Ok(self.admit(s, false));
        }
        if wait.is_zero() {
            return Err(self.reject(s, RejectReason::NoSlot));
        }
        if cfg.max_queue > 0 && s.stats.waiting >= cfg.max_queue {
            return Err(self.reject(s, RejectReason::QueueFull));
        }
        s.stats.waiting += 1;
        let max = cfg.max_in_flight;
        let (mut s, _) = self
            .inner
            .freed
            .wait_timeout_while(s, wait, |st| st.stats.in_flight >= max)
            .unwrap_or_else(PoisonError::into_inner);
        s.stats.waiting -= 1;
        if s.stats.in_flight < max {
            Ok(self.admit(s, true))
        } else {
            Err(self.reject(s, RejectReason::Timeout))
        }
    }

    fn admit(&self, mut s: MutexGuard<'_, State>, waited: bool) -> Permit {
        let st = &mut s.stats;
        st.in_flight += 1;
        st.peak_in_flight = st.peak_in_flight.max(st.in_flight);
        st.admitted += 1;
        if waited {
            st.admitted_after_wait += 1;
        }
        Permit {
            inner: Arc::clone(&self.inner),
        }
    }

    fn reject(&self, mut s: MutexGuard<'_, State>, reason: RejectReason) -> Overloaded {
        let st = &mut s.stats;
        st.rejected += 1;
        match reason {
            RejectReason::NoSlot => st.rejected_no_slot += 1,
            RejectReason::QueueFull => st.rejected_queue_full += 1,
            RejectReason::Timeout => st.rejected_timeout += 1,
        }
        drop(s);
        // Outside the lock: a metrics adapter may take its own locks.
        if let Some(m) = &self.inner.metrics {
            m.counter(names::BACKPRESSURE_REJECTIONS_TOTAL, &[], 1);
        }
        Overloaded {
            retry_after: self.inner.cfg.retry_after,
            reason,
        }
    }

    /// A consistent snapshot of the counters.
    pub fn stats(&self) -> GateStats {
        lock(&self.inner.state).stats
    }

    /// Publishes the in-flight and waiting gauges (call at scrape time).
    pub fn export(&self, metrics: &dyn Metrics) {
        let s = self.stats();
        metrics.gauge(names::BACKPRESSURE_IN_FLIGHT, &[], s.in_flight as f64);
        metrics.gauge(names::BACKPRESSURE_WAITING, &[], s.waiting as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_truncates() {
        assert_eq!(retry_after_header(Duration::ZERO), None);
        assert_eq!(retry_after_header(Duration::from_millis(1)), Some(1));
        assert_eq!(retry_after_header(Duration::from_millis(1900)), Some(1));
        assert_eq!(retry_after_header(Duration::from_secs(3)), Some(3));
    }

    #[test]
    fn disabled_gate_admits_everyone() {
        let g = AdmissionGate::new(0, 0, Duration::ZERO);
        let ps: Vec<_> = (0..10).map(|_| g.try_acquire().unwrap()).collect();
        assert_eq!(g.stats().in_flight, 10);
        drop(ps);
        assert_eq!(g.stats().in_flight, 0);
        assert!(!g.is_enabled());
    }
}
