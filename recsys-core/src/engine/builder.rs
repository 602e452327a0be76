//! [`EngineBuilder`]: how a host assembles an [`Engine`] from its options and adapters (the
//! document store, the metrics sink, the exposure sink).

use super::{Engine, EngineOptions};
use crate::control::{ControlPlane, DocumentStore};
use crate::error::ApiError;
use crate::ops::exposure::ExposureSink;
use crate::ops::metrics::Metrics;
use std::sync::Arc;

/// Builds an [`Engine`]. Every part is optional: the defaults are [`EngineOptions::default`],
/// an in-memory document store, the built-in metrics registry only, and the in-engine
/// exposure queue ([`Engine::drain_exposures`]).
///
/// ```
/// use recsys_core::{Engine, EngineOptions, MemoryStore};
/// use std::sync::Arc;
///
/// let engine = Engine::builder()
///     .options(EngineOptions::default())
///     .store(Arc::new(MemoryStore::new()))
///     .build()?;
/// assert!(engine.loaded().is_empty());
/// # Ok::<(), recsys_core::ApiError>(())
/// ```
#[derive(Default)]
#[must_use = "an EngineBuilder does nothing until build() is called"]
pub struct EngineBuilder {
    options: Option<EngineOptions>,
    options_json: Option<String>,
    store: Option<Arc<dyn DocumentStore>>,
    control: Option<ControlPlane>,
    metrics: Option<Arc<dyn Metrics>>,
    exposure_sink: Option<Arc<dyn ExposureSink>>,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("options", &self.options)
            .field("options_json", &self.options_json.is_some())
            .field("store", &self.store.is_some())
            .field("control", &self.control)
            .field("metrics", &self.metrics.is_some())
            .field("exposure_sink", &self.exposure_sink.is_some())
            .finish()
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("options", &self.options)
            .field("loaded", &self.loaded())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts building an engine (see [`EngineBuilder`]).
    ///
    /// ```
    /// let engine = recsys_core::Engine::builder().build()?;
    /// assert!(engine.loaded().is_empty());
    /// assert!(!engine.options().metrics);                 // the defaults
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }
}

impl EngineBuilder {
    /// The engine's options.
    ///
    /// ```
    /// use recsys_core::{Engine, EngineOptions};
    ///
    /// let mut options = EngineOptions::default();
    /// options.rules_enabled = false;
    /// let engine = Engine::builder().options(options).build()?;
    /// assert!(!engine.options().rules_enabled);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn options(mut self, options: EngineOptions) -> EngineBuilder {
        self.options = Some(options);
        self
    }

    /// The engine's options as a JSON object (the `engine` member of a conformance case, or
    /// a binding's options); decoded strictly by [`EngineBuilder::build`].
    ///
    /// ```
    /// use recsys_core::Engine;
    ///
    /// let engine = Engine::builder().options_json(r#"{"algo_version": "v9", "metrics": true}"#).build()?;
    /// assert_eq!(engine.options().algo_version, "v9");
    /// // Decoded strictly: an unknown option fails the build.
    /// let err = Engine::builder().options_json(r#"{"metric": true}"#).build().unwrap_err();
    /// assert_eq!(err.status, 400);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn options_json(mut self, options: impl Into<String>) -> EngineBuilder {
        self.options_json = Some(options.into());
        self
    }

    /// The host's document store: versioned config and rules, pointers, audit log.
    ///
    /// ```
    /// use recsys_core::{Context, DocKind, DocumentStore, Engine, MemoryStore, Principal, Timestamp};
    /// use std::sync::Arc;
    ///
    /// let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    /// let writer = Engine::builder().store(store.clone()).build()?;
    /// let reader = Engine::builder().store(store).build()?;          // a second process, same store
    /// let now = Timestamp::parse_rfc3339("2026-01-02T00:00:00Z").unwrap();
    /// let ctx = Context::new(now, "demo").actor(Principal::new("alice", "demo", ["admin"]));
    /// let w = writer.admin().put_config(&ctx, r#"{"weights": {"pop": 1}}"#, None)?;
    /// assert_eq!(reader.admin().get(&ctx, DocKind::Config)?.etag, w.outcome.etag);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn store(mut self, store: Arc<dyn DocumentStore>) -> EngineBuilder {
        self.store = Some(store);
        self
    }

    #[cfg(test)]
    /// A fully configured control plane (store, invalidator, control limits), for hosts
    /// that need more than [`EngineBuilder::store`]. The `roles` and `audit_keys` options
    /// still apply on top of it.
    pub(crate) fn control(mut self, control: ControlPlane) -> EngineBuilder {
        self.control = Some(control);
        self
    }

    /// Also sends metric events to the host's adapter (when the `metrics` option is on).
    ///
    /// ```
    /// use recsys_core::{Engine, Metrics};
    /// use std::sync::{Arc, Mutex};
    ///
    /// #[derive(Default)]
    /// struct Names(Mutex<Vec<String>>);
    /// impl Metrics for Names {
    ///     fn counter(&self, name: &str, _: &[(&str, &str)], _: u64) { self.0.lock().unwrap().push(name.into()); }
    ///     fn histogram(&self, _: &str, _: &[(&str, &str)], _: f64) {}
    ///     fn gauge(&self, _: &str, _: &[(&str, &str)], _: f64) {}
    /// }
    /// let names = Arc::new(Names::default());
    /// let engine = Engine::builder().options_json(r#"{"metrics": true}"#).metrics(names.clone()).build()?;
    /// let _ = engine.call("recommend", r#"{"request": {"surface": "home", "user": {"user_id": "u"}},
    ///     "ctx": {"now": "2026-01-02T00:00:00Z", "tenant": "demo"}}"#);   // fails: nothing loaded
    /// assert!(!names.0.lock().unwrap().is_empty());
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn metrics(mut self, metrics: Arc<dyn Metrics>) -> EngineBuilder {
        self.metrics = Some(metrics);
        self
    }

    /// Sends exposure events to the host's sink instead of the in-engine queue.
    ///
    /// ```
    /// use recsys_core::{Documents, Engine, MemorySink};
    /// use std::sync::Arc;
    ///
    /// let sink = Arc::new(MemorySink::new());
    /// let engine = Engine::builder()
    ///     .options_json(r#"{"exposure": {"format": "service_v1", "salt": "s", "key_id": "k1"}}"#)
    ///     .exposure_sink(sink.clone())
    ///     .build()?;
    /// engine.load_snapshot(Documents::new("demo", "home").signals(r#"{"popularity": [{"item_id": "a", "score": 1}]}"#))?;
    /// engine.call("recommend", r#"{"request": {"surface": "home", "user": {"user_id": "u"}},
    ///     "ctx": {"now": "2026-01-02T00:00:00Z", "tenant": "demo"}}"#)?;
    /// assert_eq!(sink.len(), 1);
    /// # Ok::<(), recsys_core::ApiError>(())
    /// ```
    pub fn exposure_sink(mut self, sink: Arc<dyn ExposureSink>) -> EngineBuilder {
        self.exposure_sink = Some(sink);
        self
    }

    /// The engine. Fails with `RECSYS_INVALID_OPTIONS` when the options are given twice
    /// (typed and as JSON) or a store and a control plane are both given, and with the
    /// options decoder's error when the JSON options are invalid.
    ///
    /// ```
    /// use recsys_core::{Engine, EngineOptions};
    ///
    /// assert!(Engine::builder().build().is_ok());
    /// let twice = Engine::builder().options(EngineOptions::default()).options_json("{}").build();
    /// assert_eq!(twice.unwrap_err().code, "RECSYS_INVALID_OPTIONS");
    /// ```
    pub fn build(self) -> Result<Engine, ApiError> {
        let options = match (self.options, self.options_json) {
            (Some(_), Some(_)) => {
                return Err(conflict("options were given both typed and as json"))
            }
            (Some(o), None) => o,
            (None, Some(text)) => EngineOptions::from_value(&crate::json::parse(text.as_bytes())?)?,
            (None, None) => EngineOptions::default(),
        };
        let control = match (self.store, self.control) {
            (Some(_), Some(_)) => {
                return Err(conflict(
                    "a store and a control plane were both given; give one",
                ))
            }
            (Some(store), None) => ControlPlane::new(store),
            (None, Some(c)) => c,
            (None, None) => ControlPlane::in_memory(),
        };
        let mut engine = Engine::with_control(options, control);
        if let Some(m) = self.metrics {
            engine = engine.with_metrics_adapter(m);
        }
        if let Some(s) = self.exposure_sink {
            engine = engine.with_exposure_sink(s);
        }
        Ok(engine)
    }
}

fn conflict(message: &str) -> ApiError {
    ApiError::new(crate::error::ErrorCode::InvalidOptions, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::MemoryStore;

    #[test]
    fn conflicting_parts_are_refused() {
        let e = Engine::builder()
            .options(EngineOptions::default())
            .options_json("{}")
            .build()
            .unwrap_err();
        assert_eq!(e.code, "RECSYS_INVALID_OPTIONS");
        let e = Engine::builder()
            .store(Arc::new(MemoryStore::new()))
            .control(ControlPlane::in_memory())
            .build()
            .unwrap_err();
        assert_eq!(e.code, "RECSYS_INVALID_OPTIONS");
    }

    #[test]
    fn json_options_are_decoded_strictly() {
        let e = Engine::builder()
            .options_json(r#"{"metrcs": true}"#)
            .build()
            .unwrap_err();
        assert!(e.message.contains("metrcs"), "{}", e.message);
        let e = Engine::builder()
            .options_json(r#"{"lint_strict": true}"#)
            .build()
            .unwrap();
        assert!(e.options().lint_strict);
    }

    #[test]
    fn the_store_given_is_the_one_written() {
        let store = Arc::new(MemoryStore::new());
        let e = Engine::builder().store(store.clone()).build().unwrap();
        assert!(Arc::ptr_eq(
            e.control().store(),
            &(store as Arc<dyn DocumentStore>)
        ));
    }
}
