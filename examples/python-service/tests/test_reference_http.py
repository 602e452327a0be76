"""Reference HTTP details: the license route, `Allow` on 405, quoted ETags with both
If-Match forms, rollback to an empty version, reference-style audit keyset paging with flat
entry fields, and structured JSON request logs without raw user ids."""

from __future__ import annotations

import io
import json
import logging
from typing import Any, Dict, List

from fastapi.testclient import TestClient

from conftest import Spec, auth
from recsys_service import logs
from test_service import CONFIG, REQUEST, problem_of

AUDIT = "/v1/admin/tenants/demo/audit"


def test_license_is_public_and_not_cached(client: TestClient, spec: Spec) -> None:
    r = spec.check(client.get("/v1/license"))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.json()["license"] == "Apache-2.0" and r.json()["status"] == "valid"


def test_405_lists_every_allowed_method(client: TestClient) -> None:
    r = client.post(CONFIG, headers=auth())
    assert r.status_code == 405 and r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["Allow"] == "GET, PUT"
    assert r.json()["status"] == 405 and "PUT" in r.json()["detail"]
    assert client.get("/v1/recommend").headers["Allow"] == "POST"
    assert client.delete("/v1/license").headers["Allow"] == "GET"
    missing = client.get("/v1/nope")
    assert missing.status_code == 404 and missing.json()["instance"] == "/v1/nope"


def test_etag_is_quoted_and_if_match_takes_both_forms(client: TestClient) -> None:
    header = client.get(CONFIG, headers=auth()).headers["ETag"]
    assert header[0] == header[-1] == '"' and len(header) == 66
    quoted = client.put(CONFIG, content='{"weights":{"pop":2}}', headers=auth(**{"If-Match": header}))
    assert quoted.status_code == 200, quoted.text
    assert quoted.headers["ETag"] == '"%s"' % quoted.json()["config_version"]
    bare = client.put(CONFIG, content='{"weights":{"pop":3}}', headers=auth(**{"If-Match": quoted.json()["config_version"]}))
    assert bare.status_code == 200, bare.text


def test_rollback_to_empty_is_a_400_not_a_rollback(client: TestClient, spec: Spec) -> None:
    client.put(CONFIG, content='{"weights":{"pop":2}}', headers=auth())
    before = client.get(CONFIG, headers=auth()).headers["ETag"]
    for body in ({"to": ""}, {"to": "  "}, {"to": '""'}):
        r = spec.check(client.post(CONFIG + "/rollback", json=body, headers=auth()))
        problem_of(r, 400, "RECSYS_INVALID_REQUEST")
    assert client.get(CONFIG, headers=auth()).headers["ETag"] == before


def test_audit_reference_keyset_paging_and_flat_fields(client: TestClient, spec: Spec) -> None:
    for n in range(9):
        client.put(CONFIG, content='{"weights":{"pop":%d}}' % (n + 1), headers=auth())
    everything = spec.check(client.get(AUDIT + "?limit=200", headers=auth())).json()
    all_ids = [e["id"] for e in everything["entries"]]
    assert len(all_ids) == 11
    entry = everything["entries"][0]
    for k in ("id", "occurred_at", "tenant_id", "actor_sub", "actor_type", "action", "entity_type", "entity_id",
              "request_id", "before_state", "after_state", "extra", "prev_hash", "hash"):
        assert k in entry, k
    assert "actor" not in entry and "entity" not in entry
    assert (entry["actor_sub"], entry["entity_type"], entry["tenant_id"]) == ("api-key:k-admin", "tenant_config", "demo")
    # A reference client pages with before/before_id and gets every entry exactly once.
    paged: List[int] = []
    query = "?limit=4"
    for _ in range(10):
        page = spec.check(client.get(AUDIT + query, headers=auth())).json()
        paged += [e["id"] for e in page["entries"]]
        if "next_before" not in page:
            assert "next_before_id" not in page and "next_cursor" not in page
            break
        last = page["entries"][-1]
        assert (page["next_before"], page["next_before_id"]) == (last["occurred_at"], last["id"])
        query = f"?limit=4&before={page['next_before']}&before_id={page['next_before_id']}"
    assert paged == all_ids
    for bad in ("before=yesterday", "before_id=-1", "before_id=x", "limit=x", "cursor=a1.x&before_id=3"):
        problem_of(spec.check(client.get(AUDIT + "?" + bad, headers=auth())), 400, "RECSYS_INVALID_REQUEST")


def test_request_logs_are_json_with_request_ids_and_no_user_ids(client: TestClient) -> None:
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logs.JsonFormatter())
    log = logs.logger()
    log.addHandler(handler)
    try:
        r = client.post("/v1/recommend", content=REQUEST, headers=auth(**{"X-Request-Id": "req-log-1"}))
        assert r.status_code == 200
        client.get("/v1/recommend")
    finally:
        log.removeHandler(handler)
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    first: Dict[str, Any] = next(x for x in lines if x.get("request_id") == "req-log-1")
    assert first["msg"] == "request" and first["status"] == 200 and first["path"] == "/v1/recommend"
    assert first["tenant"] == "demo" and first["auth"] == "api_key" and first["level"] == "info"
    assert isinstance(first["duration_ms"], float) and first["ts"].endswith("Z")
    assert len(first["subject_hash"]) == 16 and "k-admin" not in sink.getvalue()
    user_id = json.loads(REQUEST)["user"]["user_id"]
    assert user_id not in sink.getvalue()
    assert all("request_id" in x for x in lines if x["msg"] == "request")


def test_startup_warns_when_no_credentials_are_configured(clean_db: str) -> None:
    from recsys_service.app import Settings, create_app

    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logs.JsonFormatter())
    logs.logger().addHandler(handler)
    try:
        app = create_app(Settings(dsn=clean_db))
    finally:
        logs.logger().removeHandler(handler)
    warning = json.loads(sink.getvalue().splitlines()[0])
    assert warning["level"] == "warning" and "no api keys" in warning["msg"] and "recsys api-key hash" in warning["msg"]
    app.state.fleet.stop()
    app.state.store.close()
