//! No deadlock from host adapters: an adapter that calls back into the engine it serves gets
//! `RECSYS_ADAPTER_REENTRANT` (one guard in the core, so every binding has it), and no
//! adapter runs while the engine's write lock is held, so even a Rust host that calls the
//! engine directly from its metrics adapter cannot deadlock it.

use recsys_core::time::Timestamp;
use recsys_core::Engine;
use recsys_core::Metrics;
use std::sync::{mpsc, Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

const LOAD: &str =
    r#"{"tenant":"demo","surface":"home","signals":{"popularity":[{"item_id":"a","score":1}]}}"#;

/// A metrics adapter that calls `back` on the engine for every event it receives.
struct CallsBack {
    engine: OnceLock<Weak<Engine>>,
    back: fn(&Engine) -> Result<(), String>,
    seen: Mutex<Vec<Result<(), String>>>,
}

impl CallsBack {
    fn event(&self) {
        if let Some(e) = self.engine.get().and_then(Weak::upgrade) {
            let r = (self.back)(&e);
            self.seen.lock().unwrap().push(r);
        }
    }
}

impl Metrics for CallsBack {
    fn counter(&self, _: &str, _: &[(&str, &str)], _: u64) {
        self.event()
    }
    fn histogram(&self, _: &str, _: &[(&str, &str)], _: f64) {
        self.event()
    }
    fn gauge(&self, _: &str, _: &[(&str, &str)], _: f64) {
        self.event()
    }
}

fn engine_with(back: fn(&Engine) -> Result<(), String>) -> (Arc<Engine>, Arc<CallsBack>) {
    let adapter = Arc::new(CallsBack {
        engine: OnceLock::new(),
        back,
        seen: Mutex::default(),
    });
    let e = Engine::with_options_json(r#"{"metrics":true}"#).unwrap();
    let e = Arc::new(e.with_metrics_adapter(adapter.clone()));
    adapter.engine.set(Arc::downgrade(&e)).ok();
    (e, adapter)
}

/// Runs `f` on another thread and fails (instead of hanging) if it does not finish.
fn finishes<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("deadlock: the call did not finish")
}

#[test]
fn an_adapter_calling_back_through_the_call_surface_is_refused() {
    let (e, adapter) = engine_with(|e| {
        e.call("readiness", r#"{"now":"2026-01-01T00:00:00Z"}"#)
            .map(|_| ())
            .map_err(|err| err.code.to_string())
    });
    let e2 = e.clone();
    let report = finishes(move || e2.call("load_snapshot", LOAD));
    assert!(report.is_ok(), "{report:?}");
    let seen = adapter.seen.lock().unwrap();
    assert!(!seen.is_empty(), "the adapter saw no event");
    assert!(
        seen.iter()
            .all(|r| r.as_ref().err().map(String::as_str) == Some("RECSYS_ADAPTER_REENTRANT")),
        "{seen:?}"
    );
    // Outside an operation the same call works.
    assert!(e
        .call("readiness", r#"{"now":"2026-01-01T00:00:00Z"}"#)
        .is_ok());
}

/// The typed handles take the same guard: a typed admin write whose metric events reach an
/// adapter that writes through `engine.admin()` again is not deadlocked, the nested write is
/// refused, and a typed write through the JSON layer (which already holds the guard) works.
#[test]
fn an_adapter_calling_back_through_the_typed_admin_handle_is_refused() {
    fn ctx() -> recsys_core::Context {
        let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
        recsys_core::Context::new(now, "demo").actor(recsys_core::Principal::new(
            "alice",
            "demo",
            ["admin"],
        ))
    }
    let (e, adapter) = engine_with(|e| {
        e.admin()
            .put_rules(&ctx(), "[]", None)
            .map(|_| ())
            .map_err(|err| err.code.to_string())
    });
    e.call("load_snapshot", LOAD).unwrap();
    adapter.seen.lock().unwrap().clear();
    let e2 = e.clone();
    let written = finishes(move || {
        e2.admin()
            .put_config(&ctx(), r#"{"weights":{"pop":2}}"#, None)
    });
    assert_eq!(written.unwrap().recompiled, 1);
    let seen = adapter.seen.lock().unwrap();
    assert!(!seen.is_empty(), "the adapter saw no event");
    assert!(
        seen.iter()
            .all(|r| r.as_ref().err().map(String::as_str) == Some("RECSYS_ADAPTER_REENTRANT")),
        "{seen:?}"
    );
}

#[test]
fn metric_events_reach_the_adapter_after_the_write_lock_is_released() {
    // The Rust API has no guard of its own here; the adapter takes the write lock itself
    // (readiness reads the loader state). Delivering events under the lock would deadlock.
    let (e, adapter) = engine_with(|e| {
        e.readiness(Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap());
        Ok(())
    });
    let e2 = e.clone();
    finishes(move || {
        let docs = recsys_core::json::parse(LOAD.as_bytes()).unwrap();
        e2.call_value("load_snapshot", &docs).unwrap();
        e2.set_config("demo", Some(&recsys_core::json::parse(b"{}").unwrap()))
            .unwrap();
    });
    let seen = adapter.seen.lock().unwrap();
    assert!(seen.iter().filter(|r| r.is_ok()).count() >= 1, "{seen:?}");
}
