"""The service over HTTP: serving, auth, admin with ETag/If-Match, the rollback runbook,
audit paging, tenant isolation, problem+json, health and metrics; every response is checked
against docs/openapi.yaml."""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List

import psycopg
from fastapi.testclient import TestClient

import recsys_core
from conftest import REPO, Clock, Spec, auth, settings

from recsys_service.app import create_app

DATA = REPO / "examples" / "data"
REQUEST = (DATA / "request.json").read_text()
CONFIG = "/v1/admin/tenants/demo/config"
RULES = "/v1/admin/tenants/demo/rules"


def problem_of(resp: Any, status: int, code: str) -> Dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: Dict[str, Any] = resp.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == "https://errors.recsys.example/problem/" + code.lower().replace("_", "-")
    assert body["instance"] == resp.request.url.path
    assert body["request_id"] == resp.headers["X-Request-Id"]
    return body


def test_recommend_validate_similar(client: TestClient, spec: Spec) -> None:
    r = spec.check(client.post("/v1/recommend", content=REQUEST, headers=auth(**{"X-Request-Id": "req-1"})))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Request-Id"] == "req-1"
    answer = r.json()
    assert 0 < len(answer["items"]) <= 5
    assert [i["rank"] for i in answer["items"]] == list(range(1, len(answer["items"]) + 1))
    meta = answer["meta"]
    assert meta["tenant_id"] == "demo" and meta["request_id"] == "req-1"
    # The versions serving are the ones in PostgreSQL (seeded from examples/data).
    config = spec.check(client.get(CONFIG, headers=auth()))
    assert meta["config_version"] == config.headers["ETag"].strip('"') == recsys_core.etag((DATA / "config.json").read_text())
    assert meta["rules_version"] == client.get(RULES, headers=auth()).headers["ETag"].strip('"')
    # The engine's answer passes through unchanged.
    direct = client.app.state.engine.recommend_json(  # type: ignore[attr-defined]
        REQUEST, json.dumps({"now": "2026-11-23T12:00:00Z", "request_id": "req-1", "tenant": "demo", "roles": ["admin"]})
    )
    assert [i["item_id"] for i in json.loads(direct)["items"]] == [i["item_id"] for i in answer["items"]]

    v = spec.check(client.post("/v1/recommend/validate", content=REQUEST, headers=auth()))
    assert v.status_code == 200 and v.json()["normalized_request"]["k"] == 5
    s = spec.check(
        client.post("/v1/similar", json={"surface": "home", "item_id": "sku-running-shoe", "k": 3}, headers=auth())
    )
    assert s.status_code == 200 and len(s.json()["items"]) <= 3
    assert "sku-running-shoe" not in [i["item_id"] for i in s.json()["items"]]


def test_problem_json_for_bad_requests(client: TestClient, spec: Spec) -> None:
    bad_k = spec.check(client.post("/v1/recommend", json={"surface": "home", "k": 0, "user": {"user_id": "u"}}, headers=auth()))
    body = problem_of(bad_k, 400, "RECSYS_INVALID_REQUEST")
    assert body["title"] == "Bad Request" and "k" in body["detail"]
    no_user = spec.check(client.post("/v1/recommend", json={"surface": "home"}, headers=auth()))
    problem_of(no_user, 422, "RECSYS_UNPROCESSABLE_ENTITY")
    for raw in (b"", b'{"surface":"home"} {}', b'{"surface":"home"},"ctx":{"tenant":"acme"}', b"\xff"):
        r = spec.check(client.post("/v1/recommend", content=raw, headers=auth()))
        assert r.status_code == 400 and r.json()["code"].startswith(("RECSYS_INVALID_REQUEST", "RECSYS_JSON_"))
    full = spec.check(client.post("/v1/recommend", json={**json.loads(REQUEST), "options": {"explain": "full"}}, headers=auth("viewer")))
    problem_of(full, 403, "RECSYS_FORBIDDEN")


def test_api_keys_and_tenant_header(client: TestClient, spec: Spec) -> None:
    problem_of(spec.check(client.post("/v1/recommend", content=REQUEST)), 401, "RECSYS_AUTH_REQUIRED")
    problem_of(spec.check(client.post("/v1/recommend", content=REQUEST, headers={"X-API-Key": "nope"})), 401, "RECSYS_AUTH_INVALID")
    mismatch = client.post("/v1/recommend", content=REQUEST, headers=auth(**{"X-Org-Id": "acme"}))
    problem_of(spec.check(mismatch), 403, "RECSYS_TENANT_SCOPE_MISMATCH")
    invalid = client.post("/v1/recommend", content=REQUEST, headers=auth(**{"X-Org-Id": "demo,acme"}))
    problem_of(spec.check(invalid), 403, "RECSYS_TENANT_SCOPE_INVALID")
    ok = client.post("/v1/recommend", content=REQUEST, headers=auth(**{"X-Org-Id": "demo"}))
    assert spec.check(ok).status_code == 200
    # The other tenant's key serves its own tenant (which has no snapshot here).
    other = spec.check(client.post("/v1/recommend", content=REQUEST, headers=auth("other")))
    assert other.status_code == 404 and other.json()["code"].endswith("_NOT_FOUND")


def test_admin_put_get_with_etag_and_if_match(client: TestClient, spec: Spec) -> None:
    first = spec.check(client.get(CONFIG, headers=auth()))
    assert first.headers["ETag"].startswith('"') and first.headers["ETag"].endswith('"')  # RFC 9110
    etag = first.headers["ETag"].strip('"')
    assert first.json()["config_version"] == etag
    doc = '{"weights":{"pop":0.50,"cooc":0.3,"emb":0.2}}'
    put = spec.check(client.put(CONFIG, content=doc, headers=auth(**{"If-Match": f'"{etag}"'})))
    assert put.status_code == 200 and put.json()["changed"] is True
    new = put.headers["ETag"].strip('"')
    assert new == recsys_core.etag(doc) != etag
    # The stored document keeps its literals (0.50), and serving switched at once.
    got = client.get(CONFIG, headers=auth())
    assert '"pop":0.50' in got.text and got.headers["ETag"].strip('"') == new
    served = client.post("/v1/recommend", content=REQUEST, headers=auth()).json()
    assert served["meta"]["config_version"] == new
    # A stale If-Match is a conflict carrying the current version; nothing changes.
    stale = spec.check(client.put(CONFIG, content='{"weights":{"pop":1}}', headers=auth(**{"If-Match": etag})))
    body = problem_of(stale, 409, "RECSYS_VERSION_MISMATCH")
    assert body["current_version"] == new
    assert client.get(CONFIG, headers=auth()).headers["ETag"].strip('"') == new
    # Weak and upper-case spellings name the same version; re-putting the current one is a no-op.
    weak = client.put(CONFIG, content=doc, headers=auth(**{"If-Match": f'W/"{new.upper()}"'}))
    assert spec.check(weak).status_code == 200 and weak.json()["changed"] is False
    # Invalid documents are typed errors with every problem listed.
    invalid = spec.check(client.put(CONFIG, content='{"algo":"nope","weights":{"pop":-1}}', headers=auth()))
    assert len(problem_of(invalid, 422, "RECSYS_INVALID_CONFIG")["problems"]) >= 2
    problem_of(spec.check(client.put(CONFIG, content="", headers=auth())), 400, "RECSYS_INVALID_CONFIG")
    # Rules too.
    rules = spec.check(client.get(RULES, headers=auth()))
    new_rules = '[{"action":"block","target_type":"item","item_ids":["sku-running-shoe"]}]'
    r = spec.check(client.put(RULES, content=new_rules, headers=auth(**{"If-Match": rules.headers["ETag"]})))
    assert r.status_code == 200 and r.headers["ETag"].strip('"') == recsys_core.etag(new_rules)
    items = client.post("/v1/recommend", json={"surface": "home", "k": 20, "user": {"user_id": "u_fitness"}}, headers=auth()).json()
    assert "sku-running-shoe" not in [i["item_id"] for i in items["items"]]
    assert items["meta"]["rules_version"] == r.headers["ETag"].strip('"')


def test_rollback_runbook(client: TestClient, spec: Spec) -> None:
    """docs/operations.md "Roll back config or rules": list versions, roll back to the
    previous one in one call, serving switches, audited; then back to a named version."""
    seeded = client.get(CONFIG, headers=auth()).headers["ETag"].strip('"')
    bad = '{"weights":{"pop":1,"cooc":0,"emb":0},"algo":"popularity"}'
    client.put(CONFIG, content=bad, headers=auth("operator", **{"If-Match": seeded}))
    versions = spec.check(client.get(CONFIG + "/versions", headers=auth("viewer"))).json()
    assert [v["version"] for v in versions["versions"]] == [seeded, recsys_core.etag(bad)]
    assert versions["current_version"] == recsys_core.etag(bad) and versions["previous_version"] == seeded
    back = spec.check(client.post(CONFIG + "/rollback", headers=auth("operator")))
    assert back.status_code == 200 and back.headers["ETag"].strip('"') == seeded
    assert back.json()["from_version"] == recsys_core.etag(bad) and back.json()["changed"] is True
    meta = client.post("/v1/recommend", content=REQUEST, headers=auth()).json()["meta"]
    assert meta["config_version"] == seeded
    entry = spec.check(client.get("/v1/admin/tenants/demo/audit?limit=1", headers=auth())).json()["entries"][0]
    assert entry["action"] == "config.rollback" and (entry["actor_sub"], entry["actor_type"]) == ("api-key:k-op", "api_key")
    assert entry["extra"]["rollback"] == "previous"
    # Rolling back twice returns to where it started; a named rollback goes anywhere.
    assert client.post(CONFIG + "/rollback", headers=auth()).headers["ETag"].strip('"') == recsys_core.etag(bad)
    named = spec.check(client.post(CONFIG + "/rollback", json={"to": seeded, "comment": "incident 42"}, headers=auth()))
    assert named.headers["ETag"].strip('"') == seeded
    # Concurrency-safe: a rollback conditioned on a version that is no longer current fails.
    stale = client.post(CONFIG + "/rollback", headers=auth(**{"If-Match": recsys_core.etag(bad)}))
    problem_of(spec.check(stale), 409, "RECSYS_VERSION_MISMATCH")
    missing = client.post(CONFIG + "/rollback", json={"to": "0" * 64}, headers=auth())
    problem_of(spec.check(missing), 404, "RECSYS_VERSION_NOT_FOUND")
    problem_of(spec.check(client.post(RULES + "/rollback", headers=auth())), 409, "RECSYS_NO_PREVIOUS_VERSION")
    problem_of(spec.check(client.post(CONFIG + "/rollback", json={"to": 5}, headers=auth())), 400, "RECSYS_INVALID_REQUEST")
    verify = spec.check(client.get("/v1/admin/tenants/demo/audit/verify", headers=auth())).json()
    assert verify["ok"] is True and verify["entries"] == 6


def test_audit_paging_and_verification(client: TestClient, spec: Spec, clean_db: str) -> None:
    for n in range(7):
        client.put(CONFIG, content='{"weights":{"pop":%d}}' % (n + 1), headers=auth())
    client.post("/v1/admin/tenants/demo/cache/invalidate", json={"targets": ["config"]}, headers=auth())
    everything = spec.check(client.get("/v1/admin/tenants/demo/audit?limit=200", headers=auth())).json()
    assert "next_cursor" not in everything
    all_ids = [e["id"] for e in everything["entries"]]
    assert len(all_ids) == 2 + 7 + 1  # seeded config and rules, 7 puts, 1 invalidation
    paged: List[int] = []
    cursor = ""
    pages = 0
    while True:
        url = "/v1/admin/tenants/demo/audit?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = spec.check(client.get(url, headers=auth())).json()
        paged += [e["id"] for e in page["entries"]]
        pages += 1
        cursor = page.get("next_cursor", "")
        if not cursor:
            break
    assert paged == all_ids == sorted(all_ids, reverse=True) and pages == 4
    # Viewers get entries without states.
    viewer = client.get("/v1/admin/tenants/demo/audit?limit=2", headers=auth("viewer")).json()
    assert all("after_state" not in e and "extra" not in e for e in viewer["entries"])
    assert "after_state" in everything["entries"][0]
    problem_of(spec.check(client.get("/v1/admin/tenants/demo/audit?cursor=zzz", headers=auth())), 400, "RECSYS_INVALID_CURSOR")
    problem_of(spec.check(client.get("/v1/admin/tenants/demo/audit?limit=x", headers=auth())), 400, "RECSYS_INVALID_REQUEST")
    problem_of(spec.check(client.get("/v1/admin/tenants/demo/audit?limit=0", headers=auth())), 400, "RECSYS_INVALID_REQUEST")
    assert client.get("/v1/admin/tenants/demo/audit/verify", headers=auth()).json()["ok"] is True
    # Tampering with a stored entry (behind the append-only trigger's back) is detected.
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.execute(
            "UPDATE audit_log SET entry = jsonb_set(entry, '{actor,subject}', '\"mallory\"') WHERE id = %s", (all_ids[3],)
        )
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        try:
            conn.execute("DELETE FROM audit_log")
            raise AssertionError("the audit log must be append-only")
        except psycopg.errors.RaiseException:
            pass
    report = spec.check(client.get("/v1/admin/tenants/demo/audit/verify", headers=auth())).json()
    assert report["ok"] is False and report["tampered_at"] == all_ids[3] and report["reason"] == "hash_mismatch"


def test_tenant_isolation_and_roles(client: TestClient, spec: Spec) -> None:
    # A key of tenant acme (even with the admin role) cannot read or change tenant demo.
    problem_of(spec.check(client.get(CONFIG, headers=auth("other"))), 403, "RECSYS_FORBIDDEN")
    problem_of(spec.check(client.put(CONFIG, content="{}", headers=auth("other"))), 403, "RECSYS_FORBIDDEN")
    problem_of(spec.check(client.get("/v1/admin/tenants/demo/audit", headers=auth("other"))), 403, "RECSYS_FORBIDDEN")
    # ...but manages its own tenant.
    own = spec.check(client.put("/v1/admin/tenants/acme/config", content="{}", headers=auth("other")))
    assert own.status_code == 200
    problem_of(spec.check(client.get("/v1/admin/tenants/acme/rules", headers=auth("other"))), 404, "RECSYS_RULES_NOT_FOUND")
    # Viewers read but do not write.
    assert client.get(CONFIG, headers=auth("viewer")).status_code == 200
    problem_of(spec.check(client.put(CONFIG, content="{}", headers=auth("viewer"))), 403, "RECSYS_FORBIDDEN")
    problem_of(spec.check(client.post(CONFIG + "/rollback", headers=auth("viewer"))), 403, "RECSYS_FORBIDDEN")
    # The chains are separate: demo's audit never shows acme's entries.
    demo_entries = client.get("/v1/admin/tenants/demo/audit", headers=auth()).json()["entries"]
    assert {e["tenant_id"] for e in demo_entries} == {"demo"}


def test_cache_invalidation(client: TestClient, spec: Spec) -> None:
    ok = spec.check(client.post("/v1/admin/tenants/demo/cache/invalidate", json={"targets": [" Config ", "rules"], "surface": "home"}, headers=auth()))
    body = ok.json()
    assert body["status"] == "applied" and body["targets"] == ["config", "rules"] and body["surface"] == "home"
    assert body["invalidated"] == {"config": 1, "rules": 1}
    unknown = client.post("/v1/admin/tenants/demo/cache/invalidate", json={"targets": ["bogus"]}, headers=auth())
    problem_of(spec.check(unknown), 422, "RECSYS_INVALID_TARGETS")
    none = client.post("/v1/admin/tenants/demo/cache/invalidate", json={"targets": []}, headers=auth())
    problem_of(spec.check(none), 400, "RECSYS_INVALID_TARGETS")
    extra = client.post("/v1/admin/tenants/demo/cache/invalidate", json={"targets": ["config"], "x": 1}, headers=auth())
    problem_of(spec.check(extra), 400, "RECSYS_INVALID_REQUEST")
    entry = client.get("/v1/admin/tenants/demo/audit?limit=1", headers=auth()).json()["entries"][0]
    assert entry["action"] == "cache.invalidate" and entry["after_state"]["targets"] == ["config", "rules"]


def test_health_and_metrics(client: TestClient, spec: Spec) -> None:
    assert spec.check(client.get("/livez")).json() == {"status": "ok"}
    health = spec.check(client.get("/healthz")).json()
    assert health == {"status": "healthy", "checks": {"engine": "ok", "database": "ok"}}
    ready = spec.check(client.get("/readyz"))
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    client.post("/v1/recommend", content=REQUEST, headers=auth())
    client.post("/v1/recommend", json={"surface": "home", "k": 0, "user": {"user_id": "u"}}, headers=auth())
    metrics = spec.check(client.get("/metrics"))
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'recsys_recommendation_requests_total{empty="false",endpoint="recommend",outcome="success"} 1' in text
    assert 'outcome="invalid_request"' in text or 'outcome="validation_failed"' in text
    assert 'recsys_recommendation_returned_items_count{endpoint="recommend"} 1' in text


def test_unhealthy_when_the_database_is_gone(make_client: Callable[[], TestClient], clean_db: str, spec: Spec) -> None:
    client = make_client()
    store = client.app.state.store  # type: ignore[attr-defined]
    store._dsn = clean_db.replace("dbname=", "dbname=missing_")  # the next connection fails
    store.close()
    health = spec.check(client.get("/healthz"))
    assert health.status_code == 503 and health.json()["checks"]["database"] == "failed"
    assert spec.check(client.get("/readyz")).status_code == 503
    # Serving continues from memory; the control plane answers a typed store error.
    assert client.post("/v1/recommend", content=REQUEST, headers=auth()).status_code == 200
    problem_of(spec.check(client.get(CONFIG, headers=auth())), 503, "RECSYS_STORE_UNAVAILABLE")


def test_state_survives_a_restart(make_client: Callable[[], TestClient]) -> None:
    first = make_client()
    doc = '{"weights":{"pop":0.9,"cooc":0.1}}'
    first.put(CONFIG, content=doc, headers=auth())
    second = make_client()  # a new engine over the same database: no re-seeding
    assert second.get(CONFIG, headers=auth()).headers["ETag"].strip('"') == recsys_core.etag(doc)
    meta = second.post("/v1/recommend", content=REQUEST, headers=auth()).json()["meta"]
    assert meta["config_version"] == recsys_core.etag(doc)
    entries = second.get("/v1/admin/tenants/demo/audit", headers=auth()).json()["entries"]
    assert [e["action"] for e in entries] == ["config.update", "rules.update", "config.update"]
    assert (entries[-1]["actor_sub"], entries[-1]["actor_type"]) == ("system", "system")
    assert second.get("/v1/admin/tenants/demo/audit/verify", headers=auth()).json()["ok"] is True


def test_concurrent_conditional_writes_have_one_winner(client: TestClient) -> None:
    """Row locks in compare-and-swap: eight writers with the same If-Match, one wins."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    etag = client.get(CONFIG, headers=auth()).headers["ETag"].strip('"')
    ctx: recsys_core.AdminContext = {
        "now": "2026-11-23T13:00:00Z",
        "principal": {"subject": "racer", "tenant": "demo", "roles": ["operator"]},
    }

    def write(n: int) -> str:
        try:
            engine.put_config("demo", '{"weights":{"pop":%d}}' % (n + 2), ctx=ctx, if_match=etag)
            return "won"
        except recsys_core.VersionMismatchError:
            return "lost"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(write, range(8)))
    assert results.count("won") == 1 and results.count("lost") == 7
    assert client.get("/v1/admin/tenants/demo/audit/verify", headers=auth()).json()["ok"] is True
    assert Path(__file__).exists()


def test_settings_from_the_environment(clean_db: str, tmp_path: Path) -> None:
    from recsys_service.app import Settings, create_app, hash_api_key

    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([{"id": "env", "hash": hash_api_key("s3cret", "env-key"), "tenant": "demo", "roles": ["viewer"]}]))
    settings = Settings.from_env({"RECSYS_PG_DSN": clean_db, "RECSYS_API_KEY_SECRET": "s3cret", "RECSYS_API_KEYS": str(keys)})
    assert settings.api_keys[0].roles == ["viewer"]
    app = create_app(settings)
    with TestClient(app) as client:  # runs the lifespan: the store is closed at shutdown
        assert client.get(CONFIG, headers={"X-API-Key": "env-key"}).status_code == 200
        # The same key under another secret is not valid.
        assert client.get(CONFIG, headers={"X-API-Key": "test-pepper"}).status_code == 401
        denied = client.put(CONFIG, content="{}", headers={"X-API-Key": "env-key"})
        assert denied.status_code == 403 and denied.json()["code"] == "RECSYS_FORBIDDEN"
    assert app.state.store._opened == []


def test_not_ready_when_the_change_feed_is_down_longer_than_the_threshold(clean_db: str, spec: Spec) -> None:
    app = create_app(dataclasses.replace(settings(clean_db), feed_down_seconds=0.3, reconcile_seconds=0.2), clock=Clock())
    client = TestClient(app)
    fleet = app.state.fleet
    try:
        deadline = time.monotonic() + 10
        while not client.get("/health/detailed").json()["feed"]["connected"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert spec.check(client.get("/readyz")).status_code == 200
        # The listener loses its database (the store itself still answers).
        good = fleet.dsn
        fleet.dsn = clean_db.replace("dbname=", "dbname=missing_")
        fleet._conn.close()
        while client.get("/health/detailed").json()["feed"]["connected"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.4)
        ready = spec.check(client.get("/readyz"))
        assert ready.status_code == 503 and "feed_down" in ready.json()["reasons"], ready.json()
        detailed = spec.check(client.get("/health/detailed")).json()
        assert detailed["feed"]["disconnects"] == 1 and detailed["feed"]["down_seconds"] > 0.3
        metrics = client.get("/metrics").text
        assert "recsys_feed_connected 0" in metrics and "recsys_feed_disconnects_total 1" in metrics
        assert 'recsys_served_version_info{tenant="demo",surface="home",config_version="' in metrics
        # The database comes back: reconnect with backoff, reconcile, ready again.
        fleet.dsn = good
        deadline = time.monotonic() + 15
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.05)
        assert client.get("/health/detailed").json()["feed"]["connected"] is True
    finally:
        fleet.stop()
        app.state.store.close()
