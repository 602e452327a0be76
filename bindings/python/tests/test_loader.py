"""The artifact loader through the Python binding: the convenience driver over a host reader,
last-known-good on bad publishes, readiness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

import recsys_core

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "examples" / "data"
TEMPLATE = "s3://recsys-artifacts/registry/current/{tenant}/{surface}/manifest.json"
MANIFEST = "s3://recsys-artifacts/registry/current/demo/home/manifest.json"


class Bucket:
    """A fake object store over examples/data; objects can be replaced or broken."""

    def __init__(self) -> None:
        self.overrides: Dict[str, Optional[bytes]] = {}
        self.reads: list[str] = []
        self.fail = False

    def read(self, uri: str) -> Optional[bytes]:
        self.reads.append(uri)
        if self.fail:
            raise ConnectionError("object store unreachable")
        if uri in self.overrides:
            return self.overrides[uri]
        if uri == MANIFEST:
            return (DATA / "manifest.json").read_bytes()
        path = DATA / "objectstore" / uri.removeprefix("s3://recsys-artifacts/")
        return path.read_bytes() if path.exists() else None


def ctx(now: str) -> str:
    return json.dumps({"now": now, "tenant": "demo", "request_id": "t"})


def test_refresh_due_loads_and_keeps_last_known_good() -> None:
    engine = recsys_core.Engine({"manifest_template": TEMPLATE, "manifest_ttl_seconds": 60})
    assert engine.loader_track("demo", "home") == MANIFEST
    bucket = Bucket()
    [report] = engine.refresh_due("2026-11-23T00:00:00Z", bucket.read)
    assert report["outcome"] == "swapped"
    request = '{"surface":"home","k":3,"user":{"user_id":"u_fitness"}}'
    good = engine.recommend(request, ctx("2026-11-23T00:00:00Z"))
    assert len(good["items"]) == 3
    assert engine.readiness("2026-11-23T00:00:00Z")["status"] == "ready"
    assert engine.refresh_due("2026-11-23T00:00:30Z", bucket.read) == []  # TTL not elapsed
    # The store goes down: the failure is recorded, serving continues unchanged.
    bucket.fail = True
    [report] = engine.refresh_due("2026-11-23T00:01:00Z", bucket.read)
    assert report["outcome"] == "kept"
    assert engine.recommend(request, ctx("2026-11-23T00:01:00Z"))["items"] == good["items"]
    surface = engine.readiness("2026-11-23T00:01:00Z")["surfaces"][0]
    assert surface["last_errors"][0]["code"] == "RECSYS_MANIFEST_UNREADABLE"
    assert "object store unreachable" in surface["last_errors"][0]["error"]
    # A tampered artifact in a new manifest is rejected; still last known good.
    bucket.fail = False
    manifest = (DATA / "manifest.json").read_text()
    pop = json.loads(manifest)["current"]["popularity"]
    tampered_uri = pop.replace("64c20045", "00000000")
    bucket.overrides[MANIFEST] = manifest.replace(pop, tampered_uri).encode()
    bucket.overrides[tampered_uri] = (DATA / "objectstore" / pop.removeprefix("s3://recsys-artifacts/")).read_bytes()
    [report] = engine.refresh_due("2026-11-23T00:02:00Z", bucket.read)
    assert report["outcome"] == "kept"
    assert engine.recommend(request, ctx("2026-11-23T00:02:00Z"))["items"] == good["items"]
    assert engine.liveness() == {"status": "ok"}


def test_set_config_recompiles_and_rejects_invalid_documents() -> None:
    engine = recsys_core.Engine()
    docs = json.dumps({"tenant": "demo", "surface": "home", "signals": {"popularity": [{"item_id": "a", "score": 1}]}})
    engine.load_snapshot(docs)
    assert engine.set_config("demo", '{"weights":{"pop":1}}')["recompiled"] == 1
    try:
        engine.set_config("demo", '{"algo":"nope"}')
    except recsys_core.ValidationError as err:
        assert err.code == "RECSYS_INVALID_CONFIG"
        assert err.problems[0]["path"] == "$.algo"
    else:
        raise AssertionError("an invalid config must raise")


def test_artifacts_are_handed_over_as_bytes_one_at_a_time() -> None:
    engine = recsys_core.Engine({"manifest_template": TEMPLATE, "manifest_ttl_seconds": 60})
    engine.loader_track("demo", "home")
    bucket = Bucket()
    # Without a pending manifest there is nothing to stage.
    try:
        engine.loader_stage_artifact("demo", "home", "s3://recsys-artifacts/x.json", b"{}")
        raise AssertionError("staging without a pending manifest must fail")
    except recsys_core.RecsysError as e:
        assert e.code == "RECSYS_LOADER_NO_PENDING_MANIFEST"
    head = json.dumps({"tenant": "demo", "surface": "home", "now": "2026-11-23T00:00:00Z"})[:-1]
    manifest = bucket.read(MANIFEST)
    assert manifest is not None
    found = json.dumps({"found": manifest.decode()})
    step = json.loads(engine.call("loader_apply_manifest", head + ',"result":' + found + "}"))
    for uri in step["fetch"]:
        data = bucket.read(uri)
        assert data is not None
        staged = json.loads(engine.loader_stage_artifact("demo", "home", uri, data))
        assert staged["uri"] == uri and staged["rows"] > 0
    report = json.loads(engine.call("loader_apply_artifacts", head + ',"results":{}}'))
    assert report["outcome"] == "swapped"
    # refresh_due hands bytes over the same way: only the manifest and artifacts are read.
    other = recsys_core.Engine({"manifest_template": TEMPLATE, "manifest_ttl_seconds": 60})
    other.loader_track("demo", "home")
    [again] = other.refresh_due("2026-11-23T00:00:00Z", Bucket().read)
    assert again["outcome"] == "swapped"
    request = '{"surface":"home","k":3,"user":{"user_id":"u_fitness"}}'
    ctx_text = ctx("2026-11-23T00:00:00Z")
    assert engine.recommend(request, ctx_text)["items"] == other.recommend(request, ctx_text)["items"]
