"""Typed usage of the public API, checked by `mypy --strict` (and run by test_typing.py)."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Type

import recsys_core
from recsys_core import (
    STATIC_OPS,
    AdminContext,
    Engine,
    Principal,
    StoreError,
    JsonInput,
    LoadReport,
    RecommendedItem,
    Recommendation,
    RecommendRequest,
    RecsysError,
    ServingContext,
    SimilarAnswer,
    Validation,
    ValidationError,
    VersionMismatchError,
    call_static,
    canonicalize,
    error_class_for,
    etag,
)
from recsys_core.adapters import (
    AuditDraft,
    AuditEntry,
    DocumentStore,
    ExposureSinkFunction,
    MemoryStore,
    Metrics,
    PointerSwap,
)


def exercise() -> List[str]:
    out: List[str] = []
    version: str = recsys_core.__version__
    ops: List[str] = STATIC_OPS
    out.append(version)
    out.extend(ops)

    tag: str = etag('{"a":1}')
    tag_b: str = etag(b'{"a":1}')
    text: str = canonicalize(bytearray(b"[1.50]"))
    answer: str = call_static("etag", "{}")
    out += [tag, tag_b, text, answer]

    engine = Engine()
    engine_d: Engine = Engine({})
    raw: str = engine.call("etag", "[]")
    obj: Dict[str, Any] = engine_d.call_dict("canonicalize", {"k": [1, 2]})
    out += [raw, str(obj["canonical"])]

    docs: JsonInput = '{"tenant":"t","surface":"home"}'
    ctx: ServingContext = {"now": "2026-01-01T00:00:00Z", "request_id": "r1", "tenant": "t"}
    request: RecommendRequest = {"surface": "home", "k": 5, "options": {"explain": "summary"}}
    try:
        rec: Recommendation = engine.recommend(request, ctx)
        first: Optional[RecommendedItem] = rec["items"][0] if rec["items"] else None
        returned: int = rec["meta"]["counts"]["returned"]
        out.append(f"{first and first['item_id']} {returned} {len(rec.get('warnings', []))}")
    except RecsysError as e:
        out.append(e.code)
    dict_calls: List[Callable[[], Mapping[str, Any]]] = [
        lambda: engine.load_snapshot(docs),
        lambda: engine.recommend({"surface": "home", "k": 5}, ctx),
        lambda: engine.validate('{"surface":"home"}', ctx),
        lambda: engine.similar({"item_id": "i1"}, '{"now":"2026-01-01T00:00:00Z"}'),
    ]
    report: Callable[[], LoadReport] = lambda: engine.load_snapshot(docs)  # noqa: E731
    checked: Callable[[], Validation] = lambda: engine.validate(request, ctx)  # noqa: E731
    alike: Callable[[], SimilarAnswer] = lambda: engine.similar({"surface": "home", "item_id": "i1"}, ctx)  # noqa: E731
    dict_calls += [report, checked, alike]
    for call in dict_calls:
        try:
            result: Mapping[str, Any] = call()
            out.append(str(sorted(result)))
        except VersionMismatchError as e:
            current: Any = e.details.get("current_version")
            out.append(str(current))
        except ValidationError as e:
            out += [p["path"] for p in e.problems]
        except RecsysError as e:
            code: str = e.code
            status: int = e.status
            message: str = e.message
            exact: str = e.error_json
            out += [code, str(status), message, exact]
    json_calls: List[Callable[[], str]] = [
        lambda: engine.load_snapshot_json("{}"),
        lambda: engine.recommend_json("{}", "{}"),
        lambda: engine.validate_json("{}", "{}"),
        lambda: engine.similar_json("{}", "{}"),
    ]
    for call_json in json_calls:
        try:
            out.append(call_json())
        except RecsysError as e:
            out.append(e.code)
    cls: Type[RecsysError] = error_class_for("RECSYS_INVALID_REQUEST")
    out.append(cls.__name__)
    out += exercise_adapters()
    return out


class CountingMetrics:
    """Satisfies the Metrics protocol structurally."""

    def __init__(self) -> None:
        self.n = 0

    def counter(self, name: str, labels: Dict[str, str], delta: int) -> None:
        self.n += delta

    def histogram(self, name: str, labels: Dict[str, str], value: float) -> None:
        self.n += 1

    def gauge(self, name: str, labels: Dict[str, str], value: float) -> None:
        self.n += 1


class LoggingStore(MemoryStore):
    """A store subclass overriding one method with the protocol's signature."""

    def __init__(self) -> None:
        super().__init__()
        self.swaps: List[PointerSwap] = []

    def compare_and_swap(self, tenant: str, swap: PointerSwap, draft: AuditDraft) -> Optional[AuditEntry]:
        self.swaps.append(swap)
        return super().compare_and_swap(tenant, swap, draft)


def exercise_adapters() -> List[str]:
    out: List[str] = []
    store: DocumentStore = LoggingStore()
    metrics: Metrics = CountingMetrics()
    sink: ExposureSinkFunction = lambda event: out.append(str(event.get("request_id")))
    engine = Engine({"metrics": True}, store=store, metrics=metrics, exposure_sink=sink)
    principal: Principal = {"subject": "alice", "tenant": "t", "roles": ["admin"]}
    ctx: AdminContext = {"now": "2026-01-01T00:00:00Z", "principal": principal, "request_id": "r"}
    put: Dict[str, Any] = engine.put_config("t", '{"weights":{"pop":1}}', ctx=ctx, if_match=None, comment="c")
    version: str = put["config_version"]
    try:
        engine.put_config("t", {"weights": {"pop": 2}}, ctx=ctx, if_match="0" * 64)
    except VersionMismatchError as e:
        out.append(str(e.details.get("current_version")))
    except StoreError as e:
        out.append(e.code)
    results: List[Dict[str, Any]] = [
        engine.get_config("t", ctx=ctx),
        engine.put_rules("t", "[]", ctx=ctx),
        engine.get_rules("t", ctx=ctx),
        engine.list_versions("t", "config", ctx=ctx),
        engine.audit("t", ctx=ctx, limit=1, cursor=None),
        engine.verify_audit("t", ctx=ctx),
        engine.invalidate("t", ["config"], ctx=ctx, surface=None),
    ]
    try:
        engine.rollback("t", "config", ctx=ctx, to=None, if_match=version, comment=None)
    except RecsysError as e:
        out.append(e.code)
    artifact_calls: List[Callable[[], Dict[str, Any]]] = [
        lambda: engine.pin_artifacts("t", "home", ctx=ctx, current={"popularity": "s3://b/k.json"}),
        lambda: engine.unpin_artifacts("t", "home", ctx=ctx),
        lambda: engine.release_held("t", "home", ctx=ctx),
    ]
    for name, artifact_call in zip(["pin", "unpin", "release"], artifact_calls):
        try:
            results.append(artifact_call())
        except RecsysError as e:
            out.append(f"{name}: {e.code}")
    synced: Dict[str, Any] = engine.sync("2026-01-01T00:00:00Z", tenant="t", kinds=["config", "artifacts"], revision=3)
    standing: Dict[str, Any] = engine.sync_status("2026-01-01T00:00:00Z")
    results += [synced, standing]
    text: str = engine.admin_json("admin.get_config", {"tenant": "t"}, ctx)
    errors: Dict[str, Dict[str, Any]] = engine.adapter_errors()
    prometheus: str = engine.metrics_text()
    out += [str(sorted(r)) for r in results] + [text, str(errors), prometheus[:20]]
    return out


if __name__ == "__main__":
    print("\n".join(exercise()))
