//! Fleet reconcile: several engines on one store converge with `admin.sync`, which is
//! idempotent, never moves serving backwards (late or duplicated notifications, stale
//! reads), and carries the artifact side (pins, unpins, releases, invalidations) too.

use crate::control::{
    AuditDraft, AuditEntry, AuditKey, ControlPlane, DocKind, DocumentStore, MemoryStore, Pointer,
    PointerSwap, StoreError, StoredVersion,
};
use crate::engine::EngineOptions;
use crate::json::{self, etag, parse, Value};
use crate::tests::progress::wait_for_more;
use crate::Engine;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const NOW: &str = "2026-11-23T00:05:00Z";

fn data(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/data")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

/// The example tenant's snapshot documents (manifest + artifacts from examples/data).
fn documents() -> String {
    let manifest = data("manifest.json");
    let m = parse(manifest.as_bytes()).unwrap();
    let cur = m
        .as_object()
        .unwrap()
        .get("current")
        .unwrap()
        .as_object()
        .unwrap();
    let arts: Vec<String> = cur
        .iter()
        .map(|(_, uri)| {
            let uri = uri.as_str().unwrap();
            let key = uri.split_once("://").unwrap().1.split_once('/').unwrap().1;
            format!(
                "{}:{}",
                json::to_string(&Value::str(uri)),
                data(&format!("objectstore/{key}"))
            )
        })
        .collect();
    format!(
        r#"{{"tenant":"demo","surface":"home","manifest":{manifest},"artifacts":{{{}}}}}"#,
        arts.join(",")
    )
}

fn engine(store: Arc<dyn DocumentStore>) -> Engine {
    let e = Engine::with_control(EngineOptions::default(), ControlPlane::new(store));
    e.call("load_snapshot", &documents()).unwrap();
    e
}

fn admin(e: &Engine, op: &str, request: &str) -> Result<Value, crate::ApiError> {
    let input = format!(
        r#"{{"request":{request},"ctx":{{"now":"{NOW}","request_id":"r","principal":{{"subject":"ops","tenant":"demo","roles":["admin"]}}}}}}"#
    );
    e.call(op, &input).map(|a| parse(a.as_bytes()).unwrap())
}

fn sync(e: &Engine, request: &str) -> Value {
    let a = e
        .call(
            "admin.sync",
            &format!(r#"{{"request":{request},"ctx":{{"now":"{NOW}"}}}}"#),
        )
        .unwrap();
    let v = parse(a.as_bytes()).unwrap();
    get(&v, "tenants").as_array().unwrap()[0].clone()
}

fn get<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.as_object()
        .unwrap()
        .get(k)
        .unwrap_or_else(|| panic!("no {k} in {}", json::to_string(v)))
}

/// (config_version, rules_version, manifest_version) served for demo/home.
fn served(e: &Engine) -> (String, String, String) {
    let snap = e.snapshot("demo", "home").unwrap().snapshot;
    let v = &snap.versions;
    let s = |x: &Option<String>| x.clone().unwrap_or_default();
    (
        s(&v.config_version),
        s(&v.rules_version),
        s(&v.manifest_version),
    )
}

fn put_config(e: &Engine, weight: u32) -> String {
    let doc = format!(r#"{{"weights":{{"pop":0.{weight}}}}}"#);
    admin(
        e,
        "admin.put_config",
        &format!(r#"{{"tenant":"demo","document":{doc}}}"#),
    )
    .unwrap();
    etag(doc.as_bytes()).unwrap()
}

#[test]
fn a_write_through_one_engine_is_served_by_another_after_sync() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let (a, b) = (engine(store.clone()), engine(store.clone()));
    let before = served(&b);
    let v1 = put_config(&a, 3);
    assert_eq!(served(&a).0, v1);
    assert_eq!(
        served(&b),
        before,
        "no sync yet: b still serves what it had"
    );
    let r = sync(&b, r#"{"tenant":"demo"}"#);
    assert_eq!(served(&b).0, v1);
    assert_eq!(get(&r, "recompiled"), &Value::u64(1));
    let rev = get(&r, "revision").as_f64().unwrap() as u64;
    assert!(rev > 0);
    // Idempotent: nothing new, nothing installed or recompiled.
    let again = sync(&b, r#"{"tenant":"demo"}"#);
    assert_eq!(get(&again, "recompiled"), &Value::u64(0));
    assert_eq!(json::to_string(get(&again, "installed")), "{}");
    assert_eq!(served(&b).0, v1);

    // Rules and a rollback converge the same way.
    let rules = r#"[{"action":"block","item_ids":["x"]}]"#;
    admin(
        &a,
        "admin.put_rules",
        &format!(r#"{{"tenant":"demo","document":{rules}}}"#),
    )
    .unwrap();
    let v2 = put_config(&a, 4);
    admin(&a, "admin.rollback", r#"{"tenant":"demo","kind":"config"}"#).unwrap();
    sync(&b, "{}");
    assert_eq!(served(&b).0, v1, "rolled back to v1");
    assert_eq!(served(&b).1, etag(rules.as_bytes()).unwrap());
    assert_ne!(v1, v2);
}

#[test]
fn a_late_or_duplicated_notification_never_moves_serving_backwards() {
    let inner = Arc::new(MemoryStore::new());
    let store = Arc::new(Lagging::new(inner.clone()));
    let (a, b) = (engine(inner.clone()), engine(store.clone()));
    let v1 = put_config(&a, 3);
    let r1 = get(&sync(&b, r#"{"tenant":"demo"}"#), "revision")
        .as_f64()
        .unwrap() as u64;
    let v2 = put_config(&a, 4);
    let r2 = get(&sync(&b, r#"{"tenant":"demo"}"#), "revision")
        .as_f64()
        .unwrap() as u64;
    assert!(r2 > r1);
    assert_eq!(served(&b).0, v2);

    // A late notification for the first change: answered without reading the store.
    let reads = store.reads.load(Ordering::SeqCst);
    let late = sync(
        &b,
        &format!(r#"{{"tenant":"demo","kinds":["config"],"revision":{r1}}}"#),
    );
    assert_eq!(get(&late, "up_to_date"), &Value::Bool(true));
    assert_eq!(store.reads.load(Ordering::SeqCst), reads, "no store read");
    // The same notification twice, once reconciled: still no read, still v2.
    let dup = sync(
        &b,
        &format!(r#"{{"tenant":"demo","kinds":["config"],"revision":{r2}}}"#),
    );
    assert_eq!(get(&dup, "up_to_date"), &Value::Bool(true));
    assert_eq!(served(&b).0, v2);

    // A stale read (a lagging replica answering with the v1 pointer): not installed.
    store.serve_stale(inner.current("demo", DocKind::Config).unwrap(), v1.clone());
    let stale = sync(&b, r#"{"tenant":"demo","kinds":["config"]}"#);
    assert_eq!(json::to_string(get(&stale, "installed")), "{}");
    assert_eq!(served(&b).0, v2, "serving never moves backwards");
}

#[test]
fn pins_unpins_and_invalidations_travel_through_the_feed() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let (a, b) = (engine(store.clone()), engine(store.clone()));
    sync(&b, "{}"); // start position: history before it is not replayed
    let base = served(&a).2;
    let pinned = data("manifest.json").replace("2026-11-22T23:28:39Z", "2026-11-20T00:00:00Z");
    let req = format!(
        r#"{{"tenant":"demo","surface":"home","manifest":{}}}"#,
        json::to_string(&Value::String(pinned.clone()))
    );
    admin(&a, "admin.pin_artifacts", &req).unwrap();
    let pinned_version = etag(pinned.as_bytes()).unwrap();
    assert_eq!(served(&a).2, pinned_version);
    assert_eq!(served(&b).2, base);
    let r = sync(&b, r#"{"tenant":"demo","kinds":["artifacts"]}"#);
    assert_eq!(served(&b).2, pinned_version, "{}", json::to_string(&r));
    assert!(json::to_string(get(&r, "applied")).contains("artifacts.pin"));
    // Applying the same pin again is a no-op.
    let again = sync(&b, r#"{"tenant":"demo"}"#);
    assert_eq!(get(&again, "changes"), &Value::u64(0));

    // a's own sync does not re-apply the pin it wrote.
    let own = sync(&a, r#"{"tenant":"demo"}"#);
    assert!(!json::to_string(get(&own, "applied")).contains("artifacts.pin"));

    admin(
        &a,
        "admin.unpin_artifacts",
        r#"{"tenant":"demo","surface":"home"}"#,
    )
    .unwrap();
    admin(
        &a,
        "admin.release_held",
        r#"{"tenant":"demo","surface":"home"}"#,
    )
    .unwrap();
    admin(
        &a,
        "admin.invalidate",
        r#"{"tenant":"demo","targets":["popularity","config"]}"#,
    )
    .unwrap();
    let r = sync(&b, r#"{"tenant":"demo"}"#);
    let applied = json::to_string(get(&r, "applied"));
    for action in ["artifacts.unpin", "artifacts.release", "cache.invalidate"] {
        assert!(applied.contains(action), "{action} in {applied}");
    }
    let status = parse(
        b.call("sync_status", &format!(r#"{{"now":"{NOW}"}}"#))
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let t = &get(&status, "tenants").as_array().unwrap()[0];
    assert_eq!(get(t, "behind"), &Value::u64(0));
    assert_eq!(
        get(&get(t, "surfaces").as_array().unwrap()[0], "pinned"),
        &Value::Bool(false)
    );
}

#[test]
fn a_new_engine_converges_on_its_first_sync_including_the_pin() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let a = engine(store.clone());
    let v1 = put_config(&a, 7);
    let pinned = data("manifest.json").replace("2026-11-22T23:28:39Z", "2026-11-21T00:00:00Z");
    let req = format!(
        r#"{{"tenant":"demo","surface":"home","manifest":{}}}"#,
        json::to_string(&Value::String(pinned.clone()))
    );
    admin(&a, "admin.pin_artifacts", &req).unwrap();
    admin(
        &a,
        "admin.invalidate",
        r#"{"tenant":"demo","targets":["config"]}"#,
    )
    .unwrap();
    let c = engine(store.clone());
    let r = sync(&c, "{}");
    assert_eq!(served(&c).0, v1);
    assert_eq!(served(&c).2, etag(pinned.as_bytes()).unwrap());
    assert!(
        !json::to_string(get(&r, "applied")).contains("cache.invalidate"),
        "history is not replayed at start"
    );
}

#[test]
fn sync_inputs_are_checked() {
    let e = engine(Arc::new(MemoryStore::new()));
    for (req, needle) in [
        (r#"{"kinds":["nope"]}"#, "unknown sync kind \"nope\""),
        (r#"{"kinds":"config"}"#, "kinds must be an array"),
        (
            r#"{"revision":-1}"#,
            "revision must be a non-negative integer",
        ),
        (r#"{"revision":"7"}"#, "revision must be an integer"),
        (r#"{"tenant":"../x"}"#, "tenant must be a valid tenant id"),
        (r#"{"what":1}"#, "unknown member \"what\""),
    ] {
        let err = e
            .call(
                "admin.sync",
                &format!(r#"{{"request":{req},"ctx":{{"now":"{NOW}"}}}}"#),
            )
            .unwrap_err();
        assert_eq!(err.code, "RECSYS_INVALID_REQUEST");
        assert!(err.message.contains(needle), "{needle} in {}", err.message);
    }
    let err = e.call("admin.sync", r#"{"request":{}}"#).unwrap_err();
    assert_eq!(err.code, "RECSYS_INVALID_REQUEST");
}

#[test]
fn a_store_failure_fails_the_sync_and_keeps_serving() {
    let inner = Arc::new(MemoryStore::new());
    let store = Arc::new(Lagging::new(inner.clone()));
    let (a, b) = (engine(inner.clone()), engine(store.clone()));
    let before = served(&b);
    put_config(&a, 3);
    store.down.store(true, Ordering::SeqCst);
    let err = b
        .call(
            "admin.sync",
            &format!(r#"{{"request":{{}},"ctx":{{"now":"{NOW}"}}}}"#),
        )
        .unwrap_err();
    assert_eq!(err.code, "RECSYS_STORE_UNAVAILABLE");
    assert_eq!(served(&b), before);
    store.down.store(false, Ordering::SeqCst);
    sync(&b, "{}");
    assert_eq!(served(&b).0, served(&a).0);
}

#[test]
fn memory_store_revisions_and_change_feed() {
    let s = MemoryStore::new();
    assert_eq!(s.revision("demo").unwrap(), 0);
    let e = Engine::with_control(
        EngineOptions::default(),
        ControlPlane::new(Arc::new(MemoryStore::new())),
    );
    drop(e);
    let a = engine(Arc::new(MemoryStore::new()));
    put_config(&a, 1);
    put_config(&a, 2);
    admin(
        &a,
        "admin.invalidate",
        r#"{"tenant":"demo","targets":["rules"]}"#,
    )
    .unwrap();
    let store = a.control().store();
    let all = store.changes_since("demo", 0, 100).unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(store.revision("demo").unwrap(), all[2].id);
    let p = store.current("demo", DocKind::Config).unwrap().unwrap();
    assert_eq!(
        p.revision, all[1].id,
        "a pointer carries the revision of its move"
    );
    assert_eq!(
        store.changes_since("demo", all[0].id, 1).unwrap()[0].id,
        all[1].id
    );
    assert!(store
        .changes_since("demo", all[2].id, 10)
        .unwrap()
        .is_empty());
    assert!(store.changes_since("other", 0, 10).unwrap().is_empty());
}

/// A store wrapper that counts reads, can be down, and can answer a stale pointer (a
/// lagging read replica).
struct Lagging {
    inner: Arc<MemoryStore>,
    reads: AtomicUsize,
    down: AtomicBool,
    stale: Mutex<Option<(Pointer, String)>>,
}

impl Lagging {
    fn new(inner: Arc<MemoryStore>) -> Lagging {
        Lagging {
            inner,
            reads: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            stale: Mutex::new(None),
        }
    }
    fn serve_stale(&self, current: Option<Pointer>, etag: String) {
        let mut p = current.unwrap();
        let old = self
            .inner
            .changes_since("demo", 0, 100)
            .unwrap()
            .into_iter()
            .find(|e| e.entity.id.as_deref() == Some(etag.as_str()))
            .unwrap();
        p.etag = etag.clone();
        p.revision = old.id;
        *self.stale.lock().unwrap() = Some((p, etag));
    }
    fn read(&self) -> Result<(), StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("connection refused"));
        }
        Ok(())
    }
}

impl DocumentStore for Lagging {
    fn current(&self, tenant: &str, kind: DocKind) -> Result<Option<Pointer>, StoreError> {
        self.read()?;
        if kind == DocKind::Config {
            if let Some((p, _)) = self.stale.lock().unwrap().clone() {
                return Ok(Some(p));
            }
        }
        self.inner.current(tenant, kind)
    }
    fn get_version(
        &self,
        t: &str,
        k: DocKind,
        e: &str,
    ) -> Result<Option<StoredVersion>, StoreError> {
        self.read()?;
        self.inner.get_version(t, k, e)
    }
    fn put_version(&self, t: &str, k: DocKind, v: &StoredVersion) -> Result<bool, StoreError> {
        self.inner.put_version(t, k, v)
    }
    fn list_versions(&self, t: &str, k: DocKind) -> Result<Vec<StoredVersion>, StoreError> {
        self.read()?;
        self.inner.list_versions(t, k)
    }
    fn compare_and_swap(
        &self,
        t: &str,
        s: &PointerSwap,
        a: AuditDraft,
    ) -> Result<Option<AuditEntry>, StoreError> {
        self.inner.compare_and_swap(t, s, a)
    }
    fn append_audit(&self, t: &str, a: AuditDraft) -> Result<AuditEntry, StoreError> {
        self.inner.append_audit(t, a)
    }
    fn list_audit(
        &self,
        t: &str,
        b: Option<AuditKey>,
        l: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read()?;
        self.inner.list_audit(t, b, l)
    }
    fn audit_chain(
        &self,
        t: &str,
        a: Option<u64>,
        l: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read()?;
        self.inner.audit_chain(t, a, l)
    }
    fn revision(&self, t: &str) -> Result<u64, StoreError> {
        self.read()?;
        self.inner.revision(t)
    }
    fn changes_since(&self, t: &str, s: u64, l: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.read()?;
        self.inner.changes_since(t, s, l)
    }
}

// ---- Releases across a fleet -------------------------------------------------------------

fn release(e: &Engine, body: &str) -> Result<Value, crate::ApiError> {
    admin(
        e,
        "admin.release",
        &format!(r#"{{"tenant":"demo",{body}}}"#),
    )
}

fn release_id(e: &Engine) -> String {
    let snap = e.snapshot("demo", "home").unwrap().snapshot;
    snap.versions.release_id.clone().unwrap_or_default()
}

fn pinned_manifest(day: u32) -> String {
    data("manifest.json").replace(
        "2026-11-22T23:28:39Z",
        &format!("2026-11-{day:02}T00:00:00Z"),
    )
}

/// Whether `e` reports demo/home pinned (`sync_status`).
fn is_pinned(e: &Engine) -> bool {
    let status = parse(
        e.call("sync_status", &format!(r#"{{"now":"{NOW}"}}"#))
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let t = &get(&status, "tenants").as_array().unwrap()[0];
    get(&get(t, "surfaces").as_array().unwrap()[0], "pinned") == &Value::Bool(true)
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    get(v, k).as_str().unwrap_or("")
}

#[test]
fn a_release_reaches_the_fleet_as_one_unit_and_rolls_back_in_one_call() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let (a, b) = (engine(store.clone()), engine(store.clone()));
    sync(&b, "{}");
    let pinned = pinned_manifest(19);
    let (c1, r1) = (
        r#"{"weights":{"pop":0.3}}"#,
        r#"[{"action":"block","item_ids":["sku-yoga-mat"]}]"#,
    );
    let one = release(
        &a,
        &format!(
            r#""config":{c1},"rules":{r1},"artifacts":{{"home":{}}}"#,
            json::to_string(&Value::String(pinned.clone()))
        ),
    )
    .unwrap();
    let id1 = str_of(&one, "release_id").to_string();
    let want1 = (
        etag(c1.as_bytes()).unwrap(),
        etag(r1.as_bytes()).unwrap(),
        etag(pinned.as_bytes()).unwrap(),
    );
    assert_eq!(served(&a), want1);
    assert_eq!(release_id(&a), id1);
    // The release names its pins: the id covers them.
    let pins = get(&one, "artifacts");
    assert_eq!(str_of(pins, "home"), want1.2);
    assert_ne!(served(&b), want1);

    // The follower installs config, rules and the pin from one sync: both documents in one
    // commit (one recompile of its one surface), named by the release.
    let r = sync(&b, r#"{"tenant":"demo"}"#);
    assert_eq!(served(&b), want1, "{}", json::to_string(&r));
    assert_eq!(release_id(&b), id1);
    assert_eq!(
        get(&r, "recompiled"),
        &Value::u64(1),
        "{}",
        json::to_string(&r)
    );
    let installed = get(&r, "installed");
    assert!(installed.as_object().unwrap().get("config").is_some());
    assert!(installed.as_object().unwrap().get("rules").is_some());
    assert!(json::to_string(get(&r, "applied")).contains("artifacts.pin"));

    // A second release changes both documents and unpins.
    let (c2, r2) = (
        r#"{"weights":{"pop":0.4}}"#,
        r#"[{"action":"block","item_ids":["sku-backpack"]}]"#,
    );
    let two = release(
        &a,
        &format!(r#""config":{c2},"rules":{r2},"artifacts":{{"home":null}},"if_match":"{id1}""#),
    )
    .unwrap();
    let id2 = str_of(&two, "release_id").to_string();
    sync(&b, r#"{"tenant":"demo"}"#);
    assert_eq!(release_id(&b), id2);
    assert_eq!(served(&b).0, etag(c2.as_bytes()).unwrap());
    assert_eq!(served(&b).1, etag(r2.as_bytes()).unwrap());
    assert!(!is_pinned(&b));

    // Roll back through a in one call: config, rules and the pin return, on b after a sync.
    let back = admin(&a, "admin.rollback_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(str_of(&back, "release_id"), id1);
    assert_eq!(served(&a), want1);
    let r = sync(&b, r#"{"tenant":"demo"}"#);
    assert_eq!(served(&b), want1, "{}", json::to_string(&r));
    assert_eq!(release_id(&b), id1);
    assert!(is_pinned(&b));
    // The change feed carries the releases; the audit chain verifies.
    let feed: Vec<String> = store
        .changes_since("demo", 0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        feed,
        vec!["release.publish", "release.publish", "release.rollback"]
    );
    let v = admin(&a, "admin.verify_audit", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(get(&v, "ok"), &Value::Bool(true), "{}", json::to_string(&v));
}

/// Two processes race releases with If-Match on the release they read: exactly one wins,
/// the other is refused and nothing of it is stored (no pointer moved, no entry), also when
/// the releases only change pins (every existing pointer is guarded by its revision).
#[test]
fn racing_releases_through_two_engines_conflict_and_store_nothing_partial() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let (a, b) = (engine(store.clone()), engine(store.clone()));
    let base = release(&a, r#""config":{"weights":{"pop":0.1}},"rules":[]"#).unwrap();
    let id0 = str_of(&base, "release_id").to_string();
    let pin = |day: u32| json::to_string(&Value::String(pinned_manifest(day)));
    let mine = release(
        &a,
        &format!(r#""rules":[{{"action":"block","item_ids":["sku-yoga-mat"]}}],"artifacts":{{"home":{}}},"if_match":"{id0}""#, pin(10)),
    )
    .unwrap();
    let theirs = release(
        &b,
        &format!(r#""config":{{"weights":{{"pop":0.9}}}},"rules":[{{"action":"block","item_ids":["sku-backpack"]}}],"if_match":"{id0}""#),
    )
    .unwrap_err();
    assert_eq!(theirs.code, "RECSYS_VERSION_MISMATCH");
    let cur = admin(&b, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(str_of(&cur, "release_id"), str_of(&mine, "release_id"));
    assert_eq!(
        str_of(&cur, "config_version"),
        str_of(&base, "config_version")
    );
    // Pin-only releases race the same way.
    let id1 = str_of(&cur, "release_id").to_string();
    let p1 = release(
        &a,
        &format!(r#""artifacts":{{"home":{}}},"if_match":"{id1}""#, pin(11)),
    )
    .unwrap();
    let p2 = release(
        &b,
        &format!(r#""artifacts":{{"home":{}}},"if_match":"{id1}""#, pin(12)),
    )
    .unwrap_err();
    assert_eq!(p2.code, "RECSYS_VERSION_MISMATCH");
    let cur = admin(&b, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(str_of(&cur, "release_id"), str_of(&p1, "release_id"));
    assert_eq!(
        str_of(get(&cur, "artifacts"), "home"),
        etag(pinned_manifest(11).as_bytes()).unwrap()
    );

    // Threads on both engines race: every win is one entry, every loss stores nothing, and
    // the store ends on the last winner's release exactly.
    let (a, b) = (Arc::new(a), Arc::new(b));
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let e = if t % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || {
                let mut won = 0;
                for i in 0..8u32 {
                    let cur = admin(&e, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
                    let body = format!(
                        r#""config":{{"weights":{{"pop":0.{t}{i}1}}}},"artifacts":{{"home":{}}},"if_match":"{}""#,
                        pin(1 + (t * 8 + i) % 28),
                        str_of(&cur, "release_id")
                    );
                    match release(&e, &body) {
                        Ok(_) => won += 1,
                        Err(err) => assert_eq!(err.code, "RECSYS_VERSION_MISMATCH"),
                    }
                }
                won
            })
        })
        .collect();
    let won: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(won > 0);
    let entries = store.changes_since("demo", 0, 1000).unwrap();
    assert_eq!(
        entries.len(),
        3 + won,
        "one entry per won release, none for a lost one"
    );
    let last = entries.last().unwrap();
    let after = last.after_state.as_ref().unwrap();
    let cur = admin(&a, "admin.get_release", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(str_of(&cur, "release_id"), str_of(after, "release_id"));
    assert_eq!(
        str_of(&cur, "config_version"),
        str_of(after, "config_version")
    );
    for e in [&a, &b] {
        sync(e, r#"{"tenant":"demo"}"#);
        assert_eq!(release_id(e), str_of(after, "release_id"));
        assert_eq!(served(e).0, str_of(after, "config_version"));
    }
    let v = admin(&a, "admin.verify_audit", r#"{"tenant":"demo"}"#).unwrap();
    assert_eq!(get(&v, "ok"), &Value::Bool(true), "{}", json::to_string(&v));
}

/// A follower syncing in a loop while the leader publishes releases never serves one
/// release's config with another's rules.
#[test]
fn a_follower_never_serves_a_mixed_release() {
    let store: Arc<dyn DocumentStore> = Arc::new(MemoryStore::new());
    let (a, b) = (engine(store.clone()), Arc::new(engine(store.clone())));
    let pairs: Vec<(String, String)> = (1..=4)
        .map(|i| {
            (
                format!(r#"{{"weights":{{"pop":0.{i}}}}}"#),
                format!(r#"[{{"action":"boost","tag":"margin:high","boost_value":0.{i}}}]"#),
            )
        })
        .collect();
    let allowed: std::collections::HashSet<(String, String)> = pairs
        .iter()
        .map(|(c, r)| (etag(c.as_bytes()).unwrap(), etag(r.as_bytes()).unwrap()))
        .collect();
    release(
        &a,
        &format!(r#""config":{},"rules":{}"#, pairs[0].0, pairs[0].1),
    )
    .unwrap();
    sync(&b, "{}");
    let stop = Arc::new(AtomicBool::new(false));
    let (syncs, reads) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let follower = {
        let (b, stop, syncs) = (b.clone(), stop.clone(), syncs.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                sync(&b, r#"{"tenant":"demo"}"#);
                syncs.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let reader = {
        let (b, stop, allowed, reads) = (b.clone(), stop.clone(), allowed.clone(), reads.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (c, r, _) = served(&b);
                assert!(allowed.contains(&(c.clone(), r.clone())), "mixed: {c} {r}");
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    for round in 0..40 {
        let (c, r) = &pairs[round % pairs.len()];
        release(&a, &format!(r#""config":{c},"rules":{r}"#)).unwrap();
        // Each release is followed by a sync and a read that start after it, so the loop
        // overlaps them however the scheduler runs the three threads (on a busy machine the
        // two others once had not run at all before the releases were done).
        wait_for_more(&syncs, 2, &follower);
        wait_for_more(&reads, 2, &reader);
    }
    stop.store(true, Ordering::Relaxed);
    follower.join().unwrap();
    reader.join().unwrap();
    sync(&b, r#"{"tenant":"demo"}"#);
    assert_eq!(release_id(&b), release_id(&a));
    assert_eq!(served(&b), served(&a));
}

/// A follower that reads one pointer from before a release and the other from after it (a
/// lagging replica, or a release landing between the two reads) still installs the release
/// whole: the newest move is the release entry, whose versions are the state at its id.
#[test]
fn a_torn_pointer_read_still_installs_the_whole_release() {
    let inner = Arc::new(MemoryStore::new());
    let store = Arc::new(Lagging::new(inner.clone()));
    let (a, b) = (engine(inner.clone()), engine(store.clone()));
    let (c1, r1) = (r#"{"weights":{"pop":0.5}}"#, r#"[]"#);
    release(&a, &format!(r#""config":{c1},"rules":{r1}"#)).unwrap();
    sync(&b, r#"{"tenant":"demo"}"#);
    let old_config = inner.current("demo", DocKind::Config).unwrap().unwrap();
    let (c2, r2) = (
        r#"{"weights":{"pop":0.6}}"#,
        r#"[{"action":"block","item_ids":["sku-yoga-mat"]}]"#,
    );
    let two = release(&a, &format!(r#""config":{c2},"rules":{r2}"#)).unwrap();
    // b's store answers the config pointer as it was before the second release.
    *store.stale.lock().unwrap() = Some((old_config.clone(), old_config.etag.clone()));
    let r = sync(&b, r#"{"tenant":"demo"}"#);
    let (config, rules, _) = served(&b);
    assert_eq!(
        config,
        etag(c2.as_bytes()).unwrap(),
        "{}",
        json::to_string(&r)
    );
    assert_eq!(rules, etag(r2.as_bytes()).unwrap());
    assert_eq!(release_id(&b), str_of(&two, "release_id"));
}
