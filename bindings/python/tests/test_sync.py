"""Fleet reconcile through the binding: two engines on one Python store converge with
``Engine.sync``; the Python MemoryStore's revisions and change feed match the built-in
store's; a late notification never moves serving backwards."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import recsys_core
from recsys_core import AdminContext, Engine
from recsys_core.adapters import CHANGE_ACTIONS, MemoryStore

NOW = "2026-03-01T10:00:00Z"
ADMIN: AdminContext = {"now": NOW, "request_id": "r", "principal": {"subject": "ops", "tenant": "t1", "roles": ["admin"]}}


def engine(store: Optional[MemoryStore]) -> Engine:
    e = Engine({}, store=store) if store is not None else Engine({})
    e.load_snapshot({"tenant": "t1", "surface": "home", "signals": {"popularity": [{"item_id": "a", "score": 1}]}})
    return e


def served_config(e: Engine) -> Any:
    answer = e.recommend({"surface": "home", "k": 1, "user": {"user_id": "u"}}, {"now": NOW, "tenant": "t1", "request_id": "q"})
    return answer["meta"].get("config_version")


def test_two_engines_on_one_python_store_converge_and_never_move_back() -> None:
    store = MemoryStore()
    a, b = engine(store), engine(store)
    v1 = a.put_config("t1", '{"weights":{"pop":0.5}}', ctx=ADMIN)["config_version"]
    assert served_config(b) != v1
    first = b.sync(NOW, tenant="t1")["tenants"][0]
    assert first["installed"]["config"]["version"] == v1
    assert served_config(b) == v1
    r1 = first["revision"]
    v2 = a.put_config("t1", '{"weights":{"pop":0.6}}', ctx=ADMIN)["config_version"]
    second = b.sync(NOW, tenant="t1", kinds=["config"], revision=store.revision("t1"))["tenants"][0]
    assert second["installed"]["config"]["version"] == v2 and second["revision"] > r1
    # The first change's notification arrives late: nothing is read, v2 keeps serving.
    late = b.sync(NOW, tenant="t1", kinds=["config"], revision=r1)["tenants"][0]
    assert late["up_to_date"] is True and served_config(b) == v2
    # Idempotent.
    again = b.sync(NOW)["tenants"][0]
    assert again["installed"] == {} and again["recompiled"] == 0
    status = b.sync_status(NOW)["tenants"][0]
    assert status["behind"] == 0 and status["pointers"]["config"]["version"] == v2


def test_python_memory_store_feed_matches_the_builtin_store() -> None:
    def run(e: Engine, store_of: Any) -> Dict[str, Any]:
        e.put_config("t1", '{"weights":{"pop":0.5}}', ctx=ADMIN)
        e.put_config("t1", '{"weights":{"pop":0.7}}', ctx=ADMIN)
        e.put_rules("t1", '[{"action":"block","item_ids":["x"]}]', ctx=ADMIN)
        e.rollback("t1", "config", ctx=ADMIN)
        e.invalidate("t1", ["popularity"], ctx=ADMIN)
        fresh = Engine({}, store=store_of) if store_of is not None else None
        return {
            "audit": [x["action"] for x in e.audit("t1", ctx=ADMIN)["entries"]],
            "sync": fresh.sync(NOW, tenant="t1")["tenants"][0] if fresh is not None else None,
        }

    py_store = MemoryStore()
    py = run(engine(py_store), py_store)
    builtin = run(engine(None), None)
    assert py["audit"] == builtin["audit"]
    changes = py_store.changes_since("t1", 0, 100)
    assert [c["action"] for c in changes] == ["config.update", "config.update", "rules.update", "config.rollback", "cache.invalidate"]
    assert all(c["action"] in CHANGE_ACTIONS for c in changes)
    ids = [c["id"] for c in changes]
    assert ids == sorted(ids) and py_store.revision("t1") == ids[-1]
    assert py_store.current("t1", "config")["revision"] == ids[3]  # type: ignore[index]
    assert py_store.changes_since("t1", ids[1], 1) == [changes[2]]
    assert py_store.changes_since("nobody", 0, 10) == [] and py_store.revision("nobody") == 0
    assert py["sync"]["installed"]["config"]["revision"] == ids[3]


def test_a_store_without_revisions_is_a_typed_error() -> None:
    class Old(MemoryStore):
        def revision(self, tenant: str) -> int:
            return "seven"  # type: ignore[return-value]

    e = Engine({}, store=Old())
    try:
        e.sync(NOW, tenant="t1")
    except recsys_core.RecsysError as err:
        assert err.code == "RECSYS_STORE_CORRUPT" or err.code == "RECSYS_STORE_ERROR", err.code
        assert "revision" in err.message
    else:
        raise AssertionError("expected a store error")
    assert json.loads(e.call("liveness", "{}"))["status"] == "ok"
