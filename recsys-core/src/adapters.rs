//! How the engine calls host adapters (document store, metrics, exposure sink, artifact
//! reader) without ever deadlocking a host:
//!
//! * **One re-entrancy guard.** Every engine operation entered through [`crate::Engine::call`]
//!   / [`crate::Engine::call_value`] (what every binding uses) or [`crate::Engine::refresh_due`]
//!   marks the engine busy on the current thread. An adapter that calls back into the same
//!   engine from inside that operation gets `RECSYS_ADAPTER_REENTRANT` instead of waiting
//!   for a lock its own caller holds.
//! * **No adapter under the write lock.** Metric events raised while the engine's write
//!   lock is held go to the built-in registry at once and are handed to the host's metrics
//!   adapter only after the lock is released ([`StateGuard`]).

use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::loader::SourceState;
use crate::ops::Metrics;
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::MutexGuard;

thread_local! {
    /// Engines with an operation in progress on this thread.
    static BUSY: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Engines whose write lock this thread holds.
    static LOCKED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Metric events waiting for the write lock of their engine to be released.
    static DEFERRED: RefCell<Vec<(usize, Event)>> = const { RefCell::new(Vec::new()) };
}

/// A process-unique engine identity for the guards.
pub(crate) fn next_engine_id() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn remove_last(list: &RefCell<Vec<usize>>, id: usize) {
    let mut l = list.borrow_mut();
    if let Some(p) = l.iter().rposition(|&x| x == id) {
        l.remove(p);
    }
}

/// Marks an engine busy on this thread for the life of the value.
pub(crate) struct Busy(usize);

impl Busy {
    /// Fails with `RECSYS_ADAPTER_REENTRANT` when the engine is already busy on this thread,
    /// which only happens when one of its adapters calls back into it.
    pub(crate) fn enter(engine: usize) -> Result<Busy, ApiError> {
        BUSY.with(|b| {
            let mut b = b.borrow_mut();
            if b.contains(&engine) {
                return Err(ApiError::new(
                    ErrorCode::AdapterReentrant,
                    "a host adapter (document store, metrics, exposure sink or artifact reader) \
                     called back into the engine it serves; adapters must not use that engine",
                ));
            }
            b.push(engine);
            Ok(Busy(engine))
        })
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.with(|b| remove_last(b, self.0));
    }
}

/// The engine's write lock. While it is held on this thread, metric events for the host's
/// adapter are buffered; they are delivered when it is dropped, after the lock is released.
pub(crate) struct StateGuard<'a> {
    guard: Option<MutexGuard<'a, SourceState>>,
    engine: usize,
    adapter: Option<&'a dyn Metrics>,
}

impl<'a> StateGuard<'a> {
    pub(crate) fn new(
        guard: MutexGuard<'a, SourceState>,
        engine: usize,
        adapter: Option<&'a dyn Metrics>,
    ) -> StateGuard<'a> {
        LOCKED.with(|l| l.borrow_mut().push(engine));
        StateGuard {
            guard: Some(guard),
            engine,
            adapter,
        }
    }
}

impl Deref for StateGuard<'_> {
    type Target = SourceState;
    fn deref(&self) -> &SourceState {
        // Present until drop.
        self.guard.as_deref().expect("state guard is held")
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut SourceState {
        self.guard.as_deref_mut().expect("state guard is held")
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        self.guard.take();
        LOCKED.with(|l| remove_last(l, self.engine));
        let still_locked = LOCKED.with(|l| l.borrow().contains(&self.engine));
        if still_locked {
            return;
        }
        let mine: Vec<Event> = DEFERRED.with(|d| {
            let mut d = d.borrow_mut();
            let (mine, rest): (Vec<_>, Vec<_>) = d.drain(..).partition(|(e, _)| *e == self.engine);
            *d = rest;
            mine.into_iter().map(|(_, ev)| ev).collect()
        });
        if let Some(a) = self.adapter {
            for ev in mine {
                ev.replay(a);
            }
        }
    }
}

/// Hands metric events to the host's adapter: at once, or after the write lock is released
/// when this thread holds it.
pub(crate) fn to_adapter(engine: usize, adapter: &dyn Metrics, f: &dyn Fn(&dyn Metrics)) {
    if LOCKED.with(|l| l.borrow().contains(&engine)) {
        let buffer = Buffer::default();
        f(&buffer);
        DEFERRED.with(|d| {
            d.borrow_mut()
                .extend(buffer.into_events().into_iter().map(|ev| (engine, ev)))
        });
    } else {
        f(adapter);
    }
}

/// One metric event, owned.
enum Event {
    Counter(String, Vec<(String, String)>, u64),
    Histogram(String, Vec<(String, String)>, f64),
    Gauge(String, Vec<(String, String)>, f64),
}

impl Event {
    fn replay(self, m: &dyn Metrics) {
        fn labels(l: &[(String, String)]) -> Vec<(&str, &str)> {
            l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
        }
        match self {
            Event::Counter(n, l, d) => m.counter(&n, &labels(&l), d),
            Event::Histogram(n, l, v) => m.histogram(&n, &labels(&l), v),
            Event::Gauge(n, l, v) => m.gauge(&n, &labels(&l), v),
        }
    }
}

fn owned(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Records events instead of delivering them.
#[derive(Default)]
struct Buffer(std::sync::Mutex<Vec<Event>>);

impl Buffer {
    fn into_events(self) -> Vec<Event> {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner())
    }
    fn push(&self, ev: Event) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(ev);
    }
}

impl Metrics for Buffer {
    fn counter(&self, name: &str, labels: &[(&str, &str)], delta: u64) {
        self.push(Event::Counter(name.into(), owned(labels), delta));
    }
    fn histogram(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.push(Event::Histogram(name.into(), owned(labels), value));
    }
    fn gauge(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.push(Event::Gauge(name.into(), owned(labels), value));
    }
}
