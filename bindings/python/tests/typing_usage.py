"""Typed usage of the public API, checked by `mypy --strict` (and run by test_typing.py)."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Type

import recsys_core
from recsys_core import (
    STATIC_OPS,
    Engine,
    JsonInput,
    RecsysError,
    ValidationError,
    VersionMismatchError,
    call_static,
    canonicalize,
    error_class_for,
    etag,
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
    ctx: Dict[str, Any] = {"now": "2026-01-01T00:00:00Z", "request_id": "r1", "tenant": "t"}
    dict_calls: List[Callable[[], Dict[str, Any]]] = [
        lambda: engine.load_snapshot(docs),
        lambda: engine.recommend({"surface": "home", "k": 5}, ctx),
        lambda: engine.validate('{"surface":"home"}', ctx),
        lambda: engine.similar({"item_id": "i1"}, '{"now":"2026-01-01T00:00:00Z"}'),
    ]
    for call in dict_calls:
        try:
            result: Dict[str, Any] = call()
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
    return out


if __name__ == "__main__":
    print("\n".join(exercise()))
