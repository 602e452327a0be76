"""The dict methods convert natively (no json.dumps / json.loads): prove the answers are
exactly what the JSON text path gives, value for value and type for type, over the whole
conformance corpus, and that values the native conversion refuses fall back to that path."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from recsys_core import Engine, RecsysError, call_static


def _same(a: Any, b: Any, path: str = "$") -> None:
    """Equal values of identical types (True is not 1, 1 is not 1.0), dict order included."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _outcome(f: Any) -> Tuple[str, Any]:
    try:
        return ("ok", f())
    except RecsysError as e:
        return ("error", (e.code, str(e)))


def _cases(repo_root: Path) -> List[Dict[str, Any]]:
    out = []
    for p in sorted((repo_root / "recsys-core/tests/conformance/cases").glob("*.json")):
        split: Dict[str, Any] = json.loads(call_static("conformance_split", p.read_text("utf-8")))
        out.append(split)
    return out


def test_native_objects_match_the_json_path_over_the_corpus(repo_root: Path) -> None:
    checked = 0
    for split in _cases(repo_root):
        engine = Engine(split["engine"]) if split["engine"] is not None else Engine()
        if split["documents"] is not None:
            try:
                engine.call("load_snapshot", split["documents"])
            except RecsysError:
                continue
        op = split["call"]
        if op in ("load_snapshot",):
            continue
        obj = json.loads(split["input"])
        # The JSON text path exactly as the dict methods used to run it.
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        want = _outcome(lambda: json.loads(engine.call(op, text)))
        got = _outcome(lambda: engine.call_object(op, obj))
        assert got[0] == want[0], f"{split['name']}: {got} != {want}"
        _same(got[1], want[1], split["name"])
        checked += 1
    assert checked > 150, checked


def test_dict_methods_use_objects_and_agree_with_the_json_methods(repo_root: Path) -> None:
    engine = Engine()
    data = repo_root / "examples/data"
    manifest = json.loads((data / "manifest.json").read_text())
    arts = ",".join(
        json.dumps(uri) + ":" + (data / "objectstore" / uri.removeprefix("s3://recsys-artifacts/")).read_text()
        for uri in manifest["current"].values()
    )
    engine.load_snapshot_json(
        '{"tenant":"demo","surface":"home","config":' + (data / "config.json").read_text()
        + ',"rules":' + (data / "rules.json").read_text()
        + ',"manifest":' + (data / "manifest.json").read_text() + ',"artifacts":{' + arts + "}}"
    )
    request = json.loads((data / "request.json").read_text())
    request["options"]["explain"] = "summary"
    ctx = {"now": "2026-11-23T00:00:00Z", "tenant": "demo", "request_id": "r-1"}
    for method, text_method in [
        (engine.recommend, engine.recommend_json),
        (engine.validate, engine.validate_json),
    ]:
        _same(method(request, ctx), json.loads(text_method(json.dumps(request), json.dumps(ctx))))
    similar = {"surface": "home", "k": 3, "item_id": "sku-running-shoe"}
    _same(engine.similar(similar, ctx), json.loads(engine.similar_json(json.dumps(similar), json.dumps(ctx))))
    # Floats keep json.dumps's literal: weights given as floats serve as with the text path.
    weighted = dict(request, weights={"pop": 0.1, "cooc": 1e-7, "emb": 2.5e5})
    _same(engine.recommend(weighted, ctx), json.loads(engine.recommend_json(json.dumps(weighted), json.dumps(ctx))))
    # Big integers: converted exactly, refused by the engine exactly as via text.
    big = dict(request, k=2**70)
    with pytest.raises(RecsysError) as native:
        engine.recommend(big, ctx)
    with pytest.raises(RecsysError) as via_text:
        engine.recommend_json(json.dumps(big), json.dumps(ctx))
    assert (native.value.code, str(native.value)) == (via_text.value.code, str(via_text.value))


def test_values_not_converted_natively_fall_back_to_the_json_path() -> None:
    engine = Engine()
    for bad in [{"request": {1: 2}}, {"request": (1, 2)}, {"request": {"k": float("nan")}}]:
        with pytest.raises((TypeError, ValueError)):
            engine.call_object("validate", bad)
    ctx = {"now": "2026-11-23T00:00:00Z", "tenant": "demo"}
    # A tuple is a list to json.dumps: the dict method still works through the fallback.
    user = {"user_id": "u1"}
    request = {"surface": "home", "k": 3, "user": user, "anchors": {"item_ids": ("a", "b")}}
    answer = engine.validate(request, ctx)
    as_list = dict(request, anchors={"item_ids": ["a", "b"]})
    _same(answer, json.loads(engine.validate_json(json.dumps(as_list), json.dumps(ctx))))
    # NaN is refused by json.dumps too: the same ValueError as before.
    with pytest.raises(ValueError):
        engine.validate({"surface": "home", "k": float("nan"), "user": {"user_id": "u1"}}, ctx)
    # Too deep for the native path and for the core alike: a typed error, not a crash.
    deep: Any = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises((RecsysError, ValueError)):
        engine.validate({"surface": "home", "user": {"user_id": "u1"}, "context": {"x": deep}}, ctx)
