"""Host adapters written in Python: the document store (the same control-plane scenarios
against the built-in store and the pure-Python MemoryStore must give byte-identical
answers), store failures as typed errors, metrics and exposure adapters whose failures are
swallowed and counted."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import recsys_core
from recsys_core import AdminContext, Engine, ForbiddenError, RecsysError, StoreError, ValidationError
from recsys_core.adapters import (
    AuditDraft,
    AuditEntry,
    MemoryStore,
    Pointer,
    PointerSwap,
    StoreConflict,
    StoreCorrupt,
    StoreUnavailable,
)

NOW = "2026-03-01T10:00:00Z"


def ctx(tenant: str = "t1", roles: Tuple[str, ...] = ("admin",), subject: str = "alice", now: str = NOW) -> AdminContext:
    return {"now": now, "request_id": "req-" + subject, "principal": {"subject": subject, "tenant": tenant, "roles": list(roles)}}


def outcome(f: Callable[[], str]) -> str:
    try:
        return f()
    except RecsysError as e:
        return "ERROR " + e.error_json


def scenario(engine: Engine) -> List[str]:
    """Every control-plane operation through the exact JSON surface; answers and errors."""
    out: List[str] = []

    def op(name: str, request: Dict[str, Any], c: Optional[AdminContext] = None) -> Dict[str, Any]:
        text = outcome(lambda: engine.admin_json(name, request, c or ctx()))
        out.append(f"{name} {text}")
        return json.loads(text) if not text.startswith("ERROR") else {}

    v1 = op("admin.put_config", {"tenant": "t1", "document": '{"weights":{"pop":0.30,"cooc":0.7}}'})["config_version"]
    op("admin.get_config", {"tenant": "t1"})
    v2 = op("admin.put_config", {"tenant": "t1", "document": '{"weights":{"pop":1}}', "if_match": v1})["config_version"]
    op("admin.put_config", {"tenant": "t1", "document": '{"weights":{"pop":2}}', "if_match": v1})  # stale: mismatch
    op("admin.put_config", {"tenant": "t1", "document": '{"weights":{"pop":2}}', "if_match": f'W/"{v2.upper()}"'})
    op("admin.put_config", {"tenant": "t1", "document": '{"weights":{"pop":2}}'})  # no-op: already current
    op("admin.put_config", {"tenant": "t1", "document": '{"algo":"nope"}'})  # invalid document
    op("admin.get_rules", {"tenant": "t1"})  # none yet
    op("admin.put_rules", {"tenant": "t1", "document": '[{"action":"block","target_type":"item","item_ids":["x"]}]'})
    op("admin.list_versions", {"tenant": "t1", "kind": "config"})
    op("admin.rollback", {"tenant": "t1", "kind": "config"})
    op("admin.rollback", {"tenant": "t1", "kind": "config", "to": v1})
    op("admin.rollback", {"tenant": "t1", "kind": "rules"})  # no previous
    op("admin.rollback", {"tenant": "t1", "kind": "config", "to": "0" * 64})  # unknown version
    op("admin.invalidate", {"tenant": "t1", "targets": ["config", "rules"]})
    op("admin.invalidate", {"tenant": "t1", "targets": ["bogus"]})
    op("admin.unpin_artifacts", {"tenant": "t1", "surface": "home"})
    # Another tenant writes in between: ids are global, chains are per tenant.
    op("admin.put_config", {"tenant": "t2", "document": "{}"}, ctx("t2", subject="bob"))
    op("admin.put_config", {"tenant": "t1", "document": '{"weights":{"pop":3}}'}, ctx(now="2026-03-01T10:00:00.5Z"))
    # Audit paging with a cursor: every entry exactly once, newest first.
    cursor: Optional[str] = None
    while True:
        request: Dict[str, Any] = {"tenant": "t1", "limit": 2}
        if cursor:
            request["cursor"] = cursor
        page = op("admin.audit", request)
        cursor = page.get("next_cursor")
        if not cursor:
            break
    op("admin.audit", {"tenant": "t1", "limit": 3}, ctx(roles=("viewer",), subject="vic"))  # redacted
    op("admin.audit", {"tenant": "t1", "cursor": "nope"})
    op("admin.audit", {"tenant": "t1", "limit": 0})
    op("admin.verify_audit", {"tenant": "t1"})
    op("admin.verify_audit", {"tenant": "t2"}, ctx("t2"))
    # Access control: cross-tenant and role denials.
    op("admin.get_config", {"tenant": "t1"}, ctx("t2"))
    op("admin.put_config", {"tenant": "t1", "document": "{}"}, ctx("t2"))
    op("admin.audit", {"tenant": "t1"}, ctx("t2"))
    op("admin.put_config", {"tenant": "t1", "document": "{}"}, ctx(roles=("viewer",)))
    op("admin.get_config", {"tenant": "../x"})
    return out


def test_python_memory_store_answers_exactly_like_the_builtin_store() -> None:
    native = scenario(Engine())
    python = scenario(Engine(store=MemoryStore()))
    assert len(native) == len(python) > 30
    for a, b in zip(native, python):
        assert a == b
    text = "\n".join(native)
    # The scenario really exercised what it claims.
    assert '"code":"RECSYS_VERSION_MISMATCH"' in text and '"current_version":' in text
    assert '"changed":false' in text
    assert '"code":"RECSYS_FORBIDDEN"' in text and '"code":"RECSYS_INVALID_CURSOR"' in text
    assert '"code":"RECSYS_NO_PREVIOUS_VERSION"' in text and '"code":"RECSYS_VERSION_NOT_FOUND"' in text
    assert "config.rollback" in text and '"ok":true' in text
    # Paging: the pages together list each t1 entry once, newest first.
    pages = [json.loads(line.split(" ", 1)[1]) for line in native if line.startswith("admin.audit {") and '"limit"' not in line]
    ids = [e["id"] for p in pages if "entries" in p and len(p["entries"]) <= 2 for e in p["entries"]]
    assert ids == sorted(set(ids), reverse=True) and len(ids) >= 7


def test_answers_keep_document_literals_through_the_python_store() -> None:
    engine = Engine(store=MemoryStore())
    doc = '{"weights":{"pop":0.30,"cooc":1e2}}'
    put = engine.admin_json("admin.put_config", {"tenant": "t1", "document": doc}, ctx())
    etag = json.loads(put)["config_version"]
    assert etag == recsys_core.etag(doc)
    got = engine.admin_json("admin.get_config", {"tenant": "t1"}, ctx())
    assert '"pop":0.30' in got and '"cooc":1e2' in got
    assert engine.verify_audit("t1", ctx=ctx())["ok"] is True


def test_typed_admin_methods() -> None:
    store = MemoryStore()
    engine = Engine(store=store)
    c = ctx()
    first = engine.put_config("t1", {"weights": {"pop": 1}}, ctx=c, comment="first")
    assert first["changed"] is True
    assert engine.get_config("t1", ctx=c)["config_version"] == first["config_version"]
    second = engine.put_config("t1", '{"weights":{"pop":2}}', ctx=c, if_match=first["config_version"])
    with pytest.raises(recsys_core.VersionMismatchError) as info:
        engine.put_config("t1", '{"weights":{"pop":3}}', ctx=c, if_match=first["config_version"])
    assert info.value.code == "RECSYS_VERSION_MISMATCH" and info.value.status == 409
    assert info.value.details["current_version"] == second["config_version"]
    versions = engine.list_versions("t1", "config", ctx=c)
    assert [v["version"] for v in versions["versions"]] == [first["config_version"], second["config_version"]]
    assert versions["versions"][0]["comment"] == "first"
    back = engine.rollback("t1", "config", ctx=c)
    assert back["config_version"] == first["config_version"] and back["changed"] is True
    engine.put_rules("t1", "[]", ctx=c)
    assert engine.get_rules("t1", ctx=c)["rules"] == []
    assert engine.invalidate("t1", ["config"], ctx=c)["status"] == "applied"
    page = engine.audit("t1", ctx=c, limit=2)
    assert len(page["entries"]) == 2 and page["next_cursor"]
    rest = engine.audit("t1", ctx=c, cursor=page["next_cursor"])
    assert [e["action"] for e in page["entries"] + rest["entries"]] == [
        "cache.invalidate",
        "rules.update",
        "config.rollback",
        "config.update",
        "config.update",
    ]
    assert engine.verify_audit("t1", ctx=c) == {
        "tenant_id": "t1",
        "ok": True,
        "entries": 5,
        "head_hash": page["entries"][0]["hash"],
    }
    with pytest.raises(ForbiddenError):
        engine.get_config("t1", ctx=ctx("t2"))
    with pytest.raises(recsys_core.NotFoundError) as unknown:
        engine.unpin_artifacts("t1", "home", ctx=c)
    assert unknown.value.code == "RECSYS_SNAPSHOT_NOT_FOUND"
    assert len(store.raw_audit("t1")) == 5  # a failed operation audits nothing


def test_artifact_pins_are_audited_in_the_python_store() -> None:
    from test_loader import DATA, MANIFEST, TEMPLATE, Bucket

    store = MemoryStore()
    engine = Engine({"manifest_template": TEMPLATE}, store=store)
    engine.loader_track("demo", "home")
    [report] = engine.refresh_due(NOW, Bucket().read)
    assert report["outcome"] == "swapped"
    c = ctx("demo", roles=("operator",))
    pinned = engine.pin_artifacts("demo", "home", ctx=c, manifest=(DATA / "manifest.json").read_text())
    assert isinstance(pinned["audit_id"], int)
    assert engine.unpin_artifacts("demo", "home", ctx=c)["was_pinned"] is True
    with pytest.raises(ForbiddenError):
        engine.release_held("demo", "home", ctx=ctx("demo", roles=("viewer",)))
    actions = [e["action"] for e in engine.audit("demo", ctx=c)["entries"]]
    assert actions == ["artifacts.unpin", "artifacts.pin"]
    assert [e["action"] for e in store.raw_audit("demo")] == ["artifacts.pin", "artifacts.unpin"]
    assert engine.verify_audit("demo", ctx=c)["ok"] is True
    assert MANIFEST.endswith("manifest.json")


def test_writes_apply_to_serving_through_the_python_store() -> None:
    engine = Engine(store=MemoryStore())
    docs = {"tenant": "t1", "surface": "home", "signals": {"popularity": [{"item_id": "a", "score": 2}, {"item_id": "b", "score": 1}]}}
    engine.load_snapshot(docs)
    put = engine.put_config("t1", '{"weights":{"pop":1}}', ctx=ctx())
    assert put["recompiled"] == 1
    served = engine.recommend({"surface": "home", "k": 2, "user": {"user_id": "u"}}, {"now": NOW, "request_id": "r", "tenant": "t1"})
    assert served["meta"]["config_version"] == put["config_version"]


def test_tampering_in_the_python_store_is_detected() -> None:
    store = MemoryStore()
    engine = Engine(store=store)
    for n in range(3):
        engine.put_config("t1", '{"weights":{"pop":%d}}' % (n + 1), ctx=ctx())
    assert engine.verify_audit("t1", ctx=ctx())["ok"] is True
    entry = store.raw_audit("t1")[1]
    entry["after_state"] = '{"weights":{"pop":99}}'
    report = engine.verify_audit("t1", ctx=ctx())
    assert report["ok"] is False and report["tampered_at"] == entry["id"] and report["reason"] == "hash_mismatch"


class FailingStore(MemoryStore):
    """A MemoryStore whose methods can be made to fail or answer garbage."""

    def __init__(self) -> None:
        super().__init__()
        self.fail: Dict[str, BaseException] = {}
        self.garbage: Dict[str, Any] = {}
        self.conflicts = 0

    def _check(self, method: str) -> None:
        if method in self.fail:
            raise self.fail[method]

    def current(self, tenant: str, kind: str) -> Optional[Pointer]:
        self._check("current")
        if "current" in self.garbage:
            return self.garbage["current"]  # type: ignore[no-any-return]
        return super().current(tenant, kind)

    def compare_and_swap(self, tenant: str, swap: PointerSwap, draft: AuditDraft) -> Optional[AuditEntry]:
        self._check("compare_and_swap")
        if self.conflicts > 0:
            self.conflicts -= 1
            raise StoreConflict("serialization failure")
        return super().compare_and_swap(tenant, swap, draft)


@pytest.mark.parametrize(
    "exc,code,status",
    [
        (StoreUnavailable("db down"), "RECSYS_STORE_UNAVAILABLE", 503),
        (ConnectionError("refused"), "RECSYS_STORE_UNAVAILABLE", 503),
        (TimeoutError("slow"), "RECSYS_STORE_UNAVAILABLE", 503),
        (StoreCorrupt("bad row"), "RECSYS_STORE_CORRUPT", 500),
        (StoreConflict("busy"), "RECSYS_STORE_CONFLICT", 409),
        (ValueError("bug"), "RECSYS_STORE_ERROR", 500),
    ],
)
def test_store_exceptions_become_typed_errors(exc: BaseException, code: str, status: int) -> None:
    store = FailingStore()
    engine = Engine(store=store)
    store.fail["current"] = exc
    with pytest.raises(StoreError) as info:
        engine.get_config("t1", ctx=ctx())
    assert (info.value.code, info.value.status) == (code, status)
    assert type(exc).__name__ in info.value.message


def test_failed_swap_writes_nothing_and_malformed_answers_are_corrupt() -> None:
    store = FailingStore()
    engine = Engine(store=store)
    engine.put_config("t1", '{"weights":{"pop":1}}', ctx=ctx())
    store.fail["compare_and_swap"] = ConnectionError("lost")
    with pytest.raises(StoreError) as info:
        engine.put_config("t1", '{"weights":{"pop":2}}', ctx=ctx())
    assert info.value.code == "RECSYS_STORE_UNAVAILABLE"
    del store.fail["compare_and_swap"]
    assert engine.get_config("t1", ctx=ctx())["config"] == {"weights": {"pop": 1}}
    assert len(store.raw_audit("t1")) == 1
    store.garbage["current"] = {"etag": 5}
    with pytest.raises(StoreError) as bad:
        engine.get_config("t1", ctx=ctx())
    assert bad.value.code == "RECSYS_STORE_CORRUPT" and "etag" in bad.value.message
    store.garbage["current"] = "not a dict"
    with pytest.raises(StoreError):
        engine.get_config("t1", ctx=ctx())


def test_conflicts_from_the_store_are_lost_races() -> None:
    store = FailingStore()
    engine = Engine(store=store)
    v1 = engine.put_config("t1", '{"weights":{"pop":1}}', ctx=ctx())["config_version"]
    store.conflicts = 2  # an unconditional write retries
    assert engine.put_config("t1", '{"weights":{"pop":2}}', ctx=ctx())["changed"] is True
    store.conflicts = 1  # a conditional one reports the mismatch
    with pytest.raises(recsys_core.VersionMismatchError):
        engine.put_config("t1", '{"weights":{"pop":3}}', ctx=ctx(), if_match="*")
    assert v1 != engine.get_config("t1", ctx=ctx())["config_version"]


def test_adapters_are_checked_at_construction() -> None:
    class Partial:
        def current(self, tenant: str, kind: str) -> None:
            return None

    for kwargs in ({"store": Partial()}, {"metrics": object()}, {"exposure_sink": 42}):
        with pytest.raises(ValidationError) as info:
            Engine(**kwargs)  # type: ignore[arg-type]
        assert info.value.code == "RECSYS_INVALID_ADAPTER"
    with pytest.raises(ValidationError) as partial:
        Engine(store=Partial())  # type: ignore[arg-type]
    assert "audit_chain" in partial.value.message


def test_python_store_from_many_threads() -> None:
    store = MemoryStore()
    engine = Engine(store=store)

    def work(n: int) -> str:
        tenant = f"t{n % 3}"
        return str(engine.put_config(tenant, '{"weights":{"pop":%d}}' % n, ctx=ctx(tenant))["changed"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert set(pool.map(work, range(30))) == {"True"}
    total = 0
    for t in ("t0", "t1", "t2"):
        report = engine.verify_audit(t, ctx=ctx(t))
        assert report["ok"] is True
        total += report["entries"]
    assert total == 30


SIGNALS = {"tenant": "demo", "surface": "home", "signals": {"popularity": [{"item_id": "a", "score": 3}, {"item_id": "b", "score": 1}]}}
REQUEST = {"surface": "home", "k": 2, "user": {"user_id": "u1"}}
CALL_CTX = {"now": NOW, "request_id": "r-1", "tenant": "demo"}


class Recorder:
    def __init__(self) -> None:
        self.calls: List[Tuple[str, str, Dict[str, str], float]] = []

    def counter(self, name: str, labels: Dict[str, str], delta: int) -> None:
        self.calls.append(("counter", name, labels, delta))

    def histogram(self, name: str, labels: Dict[str, str], value: float) -> None:
        self.calls.append(("histogram", name, labels, value))

    def gauge(self, name: str, labels: Dict[str, str], value: float) -> None:
        self.calls.append(("gauge", name, labels, value))


def test_metrics_adapter_object_and_function() -> None:
    rec = Recorder()
    engine = Engine({"metrics": True}, metrics=rec)
    engine.load_snapshot(SIGNALS)
    engine.recommend(REQUEST, CALL_CTX)
    assert (
        "counter",
        "recsys_recommendation_requests_total",
        {"endpoint": "recommend", "outcome": "success", "empty": "false"},
        1,
    ) in rec.calls
    assert any(c[0] == "histogram" and c[1] == "recsys_recommendation_returned_items" and c[3] == 2.0 for c in rec.calls)
    seen: List[Tuple[str, str]] = []
    fn_engine = Engine({"metrics": True}, metrics=lambda kind, name, labels, value: seen.append((kind, name)))
    fn_engine.load_snapshot(SIGNALS)
    with pytest.raises(ValidationError):
        fn_engine.recommend({"surface": "home", "k": 0, "user": {"user_id": "u"}}, CALL_CTX)
    assert ("counter", "recsys_recommendation_requests_total") in seen
    assert fn_engine.adapter_errors() == {"metrics": {"errors": 0, "last_error": None}}


def test_failing_metrics_adapter_is_swallowed_and_counted() -> None:
    def broken(kind: str, name: str, labels: Dict[str, str], value: float) -> None:
        raise RuntimeError("statsd down")

    engine = Engine({"metrics": True}, metrics=broken)
    engine.load_snapshot(SIGNALS)
    for _ in range(2):
        assert len(engine.recommend(REQUEST, CALL_CTX)["items"]) == 2
    errors = engine.adapter_errors()["metrics"]
    assert errors["errors"] >= 2 and "RuntimeError: statsd down" in str(errors["last_error"])
    text = engine.metrics_text()
    assert f'recsys_host_adapter_errors_total{{adapter="metrics"}} {errors["errors"]}' in text
    assert 'recsys_recommendation_requests_total{empty="false",endpoint="recommend",outcome="success"} 2' in text


def test_exposure_sink_receives_events_and_failures_are_counted() -> None:
    events: List[Dict[str, Any]] = []

    class Sink:
        def emit(self, event: Dict[str, Any]) -> None:
            events.append(event)

    options = {"metrics": True, "exposure": {"hash_subjects": False}}
    engine = Engine(options, exposure_sink=Sink())
    engine.load_snapshot(SIGNALS)
    engine.recommend(REQUEST, CALL_CTX)
    assert len(events) == 1 and events[0]["request_id"] == "r-1"
    assert [i["item_id"] for i in events[0]["items"]] == ["a", "b"]
    assert engine.call_dict("exposure_drain", {})["events"] == []  # the sink took it

    calls: List[int] = []

    def broken(event: Dict[str, Any]) -> None:
        calls.append(1)
        raise OSError("disk full")

    failing = Engine(options, exposure_sink=broken)
    failing.load_snapshot(SIGNALS)
    assert len(failing.recommend(REQUEST, CALL_CTX)["items"]) == 2  # serving does not fail
    assert calls == [1]
    assert failing.adapter_errors()["exposure_sink"]["errors"] == 1
    text = failing.metrics_text()
    assert 'recsys_exposure_events_total{format="service_v1",result="error"} 1' in text
    assert 'recsys_host_adapter_errors_total{adapter="exposure_sink"} 1' in text


class RowStore(MemoryStore):
    """A MemoryStore answering like a database driver: rows as dict subclasses, lists as
    tuples or generators, strings as str subclasses."""

    class Row(dict):  # type: ignore[type-arg]
        pass

    class Text(str):
        pass

    def current(self, tenant: str, kind: str) -> Optional[Pointer]:
        p = super().current(tenant, kind)
        if p is None:
            return None
        row = RowStore.Row(p)
        row["etag"] = RowStore.Text(p["etag"])
        row["row_id"] = 17  # a member the codec does not know is ignored
        return row  # type: ignore[return-value]

    def list_versions(self, tenant: str, kind: str) -> Any:
        return tuple(RowStore.Row(v) for v in super().list_versions(tenant, kind))

    def list_audit(self, tenant: str, before: Any, limit: int) -> Any:
        return (RowStore.Row(e) for e in super().list_audit(tenant, before, limit))


def test_database_shaped_answers_are_read_by_the_core_codec() -> None:
    """Records are decoded by the core (recsys_core::host::records): dict subclasses, tuples
    and generators are accepted; the answers equal the plain MemoryStore's."""
    plain, rows = Engine(store=MemoryStore()), Engine(store=RowStore())
    for engine in (plain, rows):
        engine.put_config("t1", '{"weights":{"pop":1}}', ctx=ctx())
        engine.put_config("t1", '{"weights":{"pop":2}}', ctx=ctx())
    for op, request in [
        ("admin.get_config", {"tenant": "t1"}),
        ("admin.list_versions", {"tenant": "t1", "kind": "config"}),
        ("admin.audit", {"tenant": "t1"}),
    ]:
        assert rows.admin_json(op, request, ctx()) == plain.admin_json(op, request, ctx())


def test_serving_envelope_is_built_by_the_core() -> None:
    engine = Engine()
    request = '{"surface":"home","k":10,"user":{"user_id":"u"}}'
    context = '{"now":"2026-01-01T00:00:00Z","tenant":"t1","request_id":"r"}'
    by_hand = engine.call("validate", '{"request":' + request + ',"ctx":' + context + "}")
    assert engine.validate_json(request, context) == by_hand
    assert engine.serve("validate", request, context) == by_hand
    smuggled = '{"surface":"home"},"ctx":{"now":"2026-01-01T00:00:00Z","tenant":"evil"}'
    with pytest.raises(recsys_core.JsonError) as info:
        engine.validate_json(smuggled, context)
    assert info.value.code == "RECSYS_JSON_TRAILING_DATA"
    assert info.value.message.startswith("request: invalid json")
    with pytest.raises(recsys_core.JsonError) as info:
        engine.validate({"surface": "home"}, '{"now":')
    assert info.value.problems[0]["path"].startswith("$.ctx")
