"""No deadlock from host adapters. A document store or metrics adapter written in Python that
calls back into the engine it serves gets ``RECSYS_ADAPTER_REENTRANT`` (the core's one guard,
shared by every binding) instead of blocking every writer of every tenant."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional

import recsys_core
from recsys_core import AdminContext, Engine, RecsysError
from recsys_core.adapters import MemoryStore, Pointer

NOW = "2026-03-01T10:00:00Z"


def ctx(tenant: str = "t1") -> AdminContext:
    return {"now": NOW, "request_id": "r", "principal": {"subject": "a", "tenant": tenant, "roles": ["admin"]}}


def finishes(f: Callable[[], Any], seconds: float = 30.0) -> Any:
    """Runs f on a daemon thread; fails the test instead of hanging when it deadlocks."""
    result: Dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = f()
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "deadlock: the engine call did not return"
    if "error" in result:
        raise result["error"]
    return result.get("value")


class CallingBackStore(MemoryStore):
    """A store whose current() uses the engine it serves (what a careless host might do)."""

    def __init__(self) -> None:
        super().__init__()
        self.engine: Optional[Engine] = None
        self.seen: List[str] = []

    def current(self, tenant: str, kind: str) -> Optional[Pointer]:
        if self.engine is not None:
            try:
                self.engine.readiness(NOW)
                self.seen.append("ok")
            except RecsysError as e:
                self.seen.append(e.code)
        return super().current(tenant, kind)


def test_a_store_calling_back_into_the_engine_is_refused_not_deadlocked() -> None:
    store = CallingBackStore()
    engine = Engine(store=store)
    store.engine = engine
    engine.load_snapshot({"tenant": "t1", "surface": "home", "signals": {"popularity": [{"item_id": "a", "score": 1}]}})
    put = finishes(lambda: engine.put_config("t1", '{"weights":{"pop":1}}', ctx=ctx()))
    assert put["changed"] is True
    assert store.seen and all(s == "RECSYS_ADAPTER_REENTRANT" for s in store.seen), store.seen
    # Other tenants' writers are not blocked, during or after.
    other = finishes(lambda: engine.put_config("t2", "{}", ctx=ctx("t2")))
    assert other["changed"] is True
    # Outside an operation, the engine serves the host normally.
    assert engine.readiness(NOW)["status"] in ("ready", "not_ready")


class CallingBackMetrics:
    def __init__(self) -> None:
        self.engine: Optional[Engine] = None
        self.seen: List[str] = []

    def _event(self) -> None:
        if self.engine is not None:
            try:
                self.engine.liveness()
                self.seen.append("ok")
            except RecsysError as e:
                self.seen.append(e.code)

    def counter(self, name: str, labels: Dict[str, str], delta: int) -> None:
        self._event()

    def histogram(self, name: str, labels: Dict[str, str], value: float) -> None:
        self._event()

    def gauge(self, name: str, labels: Dict[str, str], value: float) -> None:
        self._event()


def test_a_metrics_adapter_calling_back_is_refused_not_deadlocked() -> None:
    metrics = CallingBackMetrics()
    engine = Engine({"metrics": True}, metrics=metrics)
    metrics.engine = engine
    finishes(
        lambda: engine.load_snapshot(
            {"tenant": "t1", "surface": "home", "signals": {"popularity": [{"item_id": "a", "score": 1}]}}
        )
    )
    finishes(lambda: engine.set_config("t1", '{"algo":"popularity"}'))
    assert metrics.seen and set(metrics.seen) == {"RECSYS_ADAPTER_REENTRANT"}, metrics.seen
    assert recsys_core.__name__ == "recsys_core"


def test_a_python_store_keeps_a_keyed_audit_chain() -> None:
    """The ``audit_keys`` option reaches a Python store: drafts seal with the host's key
    (the secret never crosses to Python), writes return the head, verify checks it."""
    keys = {"active": "k1", "keys": {"k1": "a-host-secret-of-32-bytes-000000"}}
    store = MemoryStore()
    engine = Engine({"audit_keys": keys}, store=store)
    put = engine.put_config("t1", '{"weights":{"pop":1}}', ctx=ctx())
    head = put["audit_head"]
    assert head["hash"].startswith("hmac-sha256:k1:")
    assert "a-host-secret" not in repr(store.__dict__)
    assert engine.verify_audit("t1", ctx=ctx(), head=head)["ok"] is True
    # The same store read by an engine without that key cannot vouch for the chain.
    stranger = Engine({"audit_keys": {"active": "k2", "keys": {"k2": "another-secret-of-32-bytes-00000"}}}, store=store)
    v = stranger.verify_audit("t1", ctx=ctx())
    assert (v["ok"], v["reason"]) == (False, "unknown_key")
    # A head the chain does not reach is reported.
    gone = {"id": head["id"] + 1, "hash": head["hash"]}
    v = engine.verify_audit("t1", ctx=ctx(), head=gone)
    assert (v["ok"], v["reason"]) == (False, "truncated")
