"""An HTTP recommendation service on recsys-core: the reference service's API (serving,
admin with ETag/If-Match, audit, cache invalidation, rollback, health, metrics, license) with
problem+json errors, API-key and JWT bearer auth, backpressure, structured JSON logs and a
PostgreSQL control plane.

The engine does the deciding; this module only moves bytes: it authenticates the caller,
passes request bodies to the engine as JSON text (so number literals stay exact), and turns
engine errors into problem+json with the engine's stable codes and statuses.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, List, Mapping, Optional

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
import anyio.to_thread

import recsys_core
from recsys_core import AdminContext, Principal, RecsysError

from . import logs, routes_extra
from .auth import ApiKey as ApiKey  # re-exported: settings and tests build keys from here
from .auth import Authenticator, error
from .auth import hash_api_key as hash_api_key
from .auth_jwt import JwtSettings, JwtVerifier
from .fleet import FleetSync
from .pgstore import PostgresStore, migrate

PROBLEM_BASE = "https://errors.recsys.example/problem/"
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Settings:
    dsn: str
    data_dir: Path = ROOT / "examples" / "data"
    tenant: str = "demo"
    surface: str = "home"
    api_key_secret: str = ""
    api_keys: List[ApiKey] = field(default_factory=list)
    api_key_header: str = "X-API-Key"
    tenant_header: str = "X-Org-Id"
    engine_options: Dict[str, Any] = field(default_factory=lambda: {"metrics": True})
    #: JWT bearer auth (``None`` = API keys only).
    jwt: Optional[JwtSettings] = None
    #: Extra keyword arguments for ``recsys_core.Engine`` (``metrics``, ``exposure_sink``).
    engine_adapters: Dict[str, Any] = field(default_factory=dict)
    #: seconds between full reconciles with the store (covers lost notifications)
    reconcile_seconds: float = 5.0
    #: /readyz fails once the change feed has been down longer than this
    feed_down_seconds: float = 30.0

    @staticmethod
    def from_env(env: Mapping[str, str] = os.environ) -> Settings:
        """`RECSYS_PG_DSN` (required), `RECSYS_DATA_DIR`, `RECSYS_API_KEY_SECRET`,
        `RECSYS_API_KEYS`: a JSON list of `{"id", "hash", "tenant", "roles"}` or a path to one;
        the JWT settings of :mod:`recsys_service.auth_jwt`; `RECSYS_BACKPRESSURE_MAX_INFLIGHT`,
        `_MAX_QUEUE`, `_WAIT_TIMEOUT`, `_RETRY_AFTER` (durations: `200ms`, `1s`);
        `RECSYS_RECONCILE_SECONDS` (default 5), `RECSYS_FEED_DOWN_SECONDS` (default 30),
        `RECSYS_ENGINE_OPTIONS` (a JSON object merged over `{"metrics": true}` and the
        backpressure settings)."""
        keys_text = env.get("RECSYS_API_KEYS", "[]")
        if not keys_text.lstrip().startswith("["):
            keys_text = Path(keys_text).read_text()
        options: Dict[str, Any] = {"metrics": True}
        backpressure = backpressure_from_env(env)
        if backpressure:
            options["backpressure"] = backpressure
        options.update(json.loads(env.get("RECSYS_ENGINE_OPTIONS", "{}")))
        return Settings(
            dsn=env["RECSYS_PG_DSN"],
            data_dir=Path(env.get("RECSYS_DATA_DIR", str(ROOT / "examples" / "data"))),
            api_key_secret=env.get("RECSYS_API_KEY_SECRET", ""),
            api_keys=[ApiKey(k["id"], k["hash"], k["tenant"], list(k.get("roles", []))) for k in json.loads(keys_text)],
            engine_options=options,
            jwt=JwtSettings.from_env(env),
            reconcile_seconds=float(env.get("RECSYS_RECONCILE_SECONDS", "5")),
            feed_down_seconds=float(env.get("RECSYS_FEED_DOWN_SECONDS", "30")),
        )


def duration_ms(text: str, name: str) -> int:
    """`250ms`, `2s`, `1m` or a bare number of milliseconds."""
    t = text.strip().lower()
    for suffix, scale in (("ms", 1), ("s", 1000), ("m", 60_000)):
        if t.endswith(suffix) and t[: -len(suffix)].strip().isdigit():
            return int(t[: -len(suffix)]) * scale
    if t.isdigit():
        return int(t)
    raise ValueError(f"{name} must be a duration such as 200ms or 1s, got {text!r}")


def backpressure_from_env(env: Mapping[str, str]) -> Optional[Dict[str, int]]:
    """The engine's `backpressure` option from the reference's variables; `None` when
    `RECSYS_BACKPRESSURE_MAX_INFLIGHT` is unset or 0. Unlike the reference, the queue is
    never unbounded: `_MAX_QUEUE` defaults to the in-flight cap."""
    inflight = int(env.get("RECSYS_BACKPRESSURE_MAX_INFLIGHT", "0") or "0")
    if inflight <= 0:
        return None
    return {
        "max_in_flight": inflight,
        "max_queue": int(env.get("RECSYS_BACKPRESSURE_MAX_QUEUE", "") or inflight),
        "queue_timeout_ms": duration_ms(env.get("RECSYS_BACKPRESSURE_WAIT_TIMEOUT", "200ms"), "RECSYS_BACKPRESSURE_WAIT_TIMEOUT"),
        "retry_after_ms": duration_ms(env.get("RECSYS_BACKPRESSURE_RETRY_AFTER", "1s"), "RECSYS_BACKPRESSURE_RETRY_AFTER"),
    }


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def problem(request: Request, e: RecsysError) -> JSONResponse:
    """problem+json for an error with a stable code (service.md 1.8)."""
    rid = getattr(request.state, "request_id", None)
    body: Dict[str, Any] = {
        "type": PROBLEM_BASE + e.code.lower().replace("_", "-"),
        "title": HTTPStatus(e.status).phrase,
        "status": e.status,
        "detail": e.message,
        "instance": request.url.path,
        "code": e.code,
    }
    if rid:
        body["request_id"] = rid
    if e.problems:
        body["problems"] = e.problems
    for extra in ("current_version", "kind", "version"):
        if extra in e.details:
            body[extra] = e.details[extra]
    headers = {"X-Request-Id": rid} if rid else {}
    retry_after = e.details.get("retry_after")
    if e.code == "RECSYS_OVERLOADED" and isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(body, status_code=e.status, media_type="application/problem+json", headers=headers)


def _text(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise error("RECSYS_INVALID_REQUEST", 400, f"{what} must be utf-8")


def _json_object(body: bytes, allowed: List[str]) -> Dict[str, Any]:
    """A small admin request body (strings and lists only): strict, unknown members rejected."""
    text = _text(body, "request body").strip()
    if not text:
        return {}
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise error("RECSYS_INVALID_REQUEST", 400, f"request body must be valid json: {e}")
    if not isinstance(obj, dict):
        raise error("RECSYS_INVALID_REQUEST", 400, "request body must be a json object")
    for k in obj:
        if k not in allowed:
            raise error("RECSYS_INVALID_REQUEST", 400, f"unknown member {k!r}; expected one of {', '.join(allowed)}")
    return obj


def create_app(settings: Settings, clock: Callable[[], str] = utc_now) -> FastAPI:
    """Migrates the database, seeds the example tenant's documents when it has none, loads
    the example snapshot (artifact mode) and returns the app."""
    verifier = JwtVerifier(settings.jwt) if settings.jwt is not None else None  # fails fast
    migrate(settings.dsn)
    store = PostgresStore(settings.dsn)
    engine = recsys_core.Engine(settings.engine_options, store=store, **settings.engine_adapters)
    _seed_and_load(engine, store, settings, clock())
    if not settings.api_keys and verifier is None:
        logs.event(
            logging.WARNING,
            "no api keys and no jwt auth configured: every /v1 request will get 401 RECSYS_AUTH_REQUIRED; "
            "set RECSYS_API_KEYS (make a hash with `recsys api-key hash`) or JWT_AUTH_ENABLED",
        )
    gate = settings.engine_options.get("backpressure") or {}
    # Engine calls wait in worker threads: give the pool room for every admitted and queued
    # request, so saturation is answered by the engine's gate (503), not by a hidden queue.
    threads_needed = int(gate.get("max_in_flight", 0)) + int(gate.get("max_queue", 0)) + 8
    # Every process converges from the store: a full reconcile now (so the process starts
    # ready), then the LISTEN/NOTIFY listener and the periodic reconcile in a thread of this
    # process (under gunicorn, of this worker: create the app after the fork, no --preload).
    fleet = FleetSync(
        engine, settings.dsn, clock, lambda uri: _read_object(settings.data_dir, uri), settings.reconcile_seconds
    )
    fleet.reconcile()
    fleet.start()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, threads_needed)
        yield
        fleet.stop()
        store.close()

    app = FastAPI(title="recsys python service", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.engine = engine
    app.state.store = store
    app.state.fleet = fleet

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Any]) -> Response:
        rid = request.headers.get("X-Request-Id", "").strip() or str(uuid.uuid4())
        request.state.request_id = rid
        started = time.perf_counter()
        try:
            response: Response = await call_next(request)
        except RecsysError as e:
            response = problem(request, e)
        response.headers["X-Request-Id"] = rid
        principal = getattr(request.state, "principal", None) or {}
        logs.event(
            logging.INFO,
            "request",
            request_id=rid,
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            tenant=principal.get("tenant"),
            auth=principal.get("type"),
            subject_hash=logs.subject_hash(settings.api_key_secret, principal["subject"]) if principal.get("subject") else None,
        )
        return response

    @app.exception_handler(RecsysError)
    async def recsys_error(request: Request, e: RecsysError) -> JSONResponse:
        return problem(request, e)

    auth = Authenticator(settings.api_keys, settings.api_key_secret, verifier, settings.api_key_header,
                         settings.tenant_header, require_tenant_claim=bool(settings.jwt and settings.jwt.require_tenant_claim))

    async def authenticate(request: Request) -> Principal:
        principal = await auth.principal(request)
        request.state.principal = principal
        return principal

    def admin_ctx(request: Request, principal: Principal) -> AdminContext:
        return {"now": clock(), "request_id": request.state.request_id, "principal": principal}

    async def call(op: str, input_text: str) -> str:
        return await run_in_threadpool(engine.call, op, input_text)

    async def admin(request: Request, op: str, req: Dict[str, Any]) -> str:
        principal = await authenticate(request)
        return await run_in_threadpool(engine.admin_json, op, req, admin_ctx(request, principal))

    def json_response(text: str, etag: Optional[str] = None, status: int = 200) -> Response:
        headers = {"Cache-Control": "no-store"}
        if etag:
            headers["ETag"] = f'"{etag}"'  # quoted (RFC 9110); If-Match takes both forms
        return Response(text, status_code=status, media_type="application/json", headers=headers)

    # ---- serving ------------------------------------------------------------------------

    async def serve(request: Request, op: str) -> Response:
        principal = await authenticate(request)
        body = _text(await request.body(), "request body")
        if not body.strip():
            raise error("RECSYS_INVALID_REQUEST", 400, "request body is required")
        recsys_core.canonicalize(body)  # exactly one JSON value, or a typed JSON error
        ctx = {
            "now": clock(),
            "request_id": request.state.request_id,
            "tenant": principal.get("tenant", ""),
            "roles": principal.get("roles", []),
        }
        envelope = '{"request":' + body + ',"ctx":' + json.dumps(ctx) + "}"
        return json_response(await call(op, envelope))

    @app.post("/v1/recommend")
    async def recommend(request: Request) -> Response:
        return await serve(request, "recommend")

    @app.post("/v1/recommend/validate")
    async def validate(request: Request) -> Response:
        return await serve(request, "validate")

    @app.post("/v1/similar")
    async def similar(request: Request) -> Response:
        return await serve(request, "similar")

    # ---- admin --------------------------------------------------------------------------

    def doc_routes(kind: str) -> None:
        version_field = f"{kind}_version"

        async def get_doc(request: Request, tenant_id: str) -> Response:
            text = await admin(request, f"admin.get_{kind}", {"tenant": tenant_id})
            return json_response(text, json.loads(text)[version_field])

        async def put_doc(request: Request, tenant_id: str) -> Response:
            document = _text(await request.body(), f"{kind} payload")
            req: Dict[str, Any] = {"tenant": tenant_id, "document": document}
            if_match = request.headers.get("If-Match")
            if if_match is not None and if_match.strip():
                req["if_match"] = if_match
            text = await admin(request, f"admin.put_{kind}", req)
            return json_response(text, json.loads(text)[version_field])

        async def versions(request: Request, tenant_id: str) -> Response:
            return json_response(await admin(request, "admin.list_versions", {"tenant": tenant_id, "kind": kind}))

        async def rollback(request: Request, tenant_id: str) -> Response:
            body = _json_object(await request.body(), ["to", "comment"])
            req: Dict[str, Any] = {"tenant": tenant_id, "kind": kind}
            for k in ("to", "comment"):
                if body.get(k) is not None:
                    if not isinstance(body[k], str):
                        raise error("RECSYS_INVALID_REQUEST", 400, f"{k} must be a string")
                    req[k] = body[k]
            if_match = request.headers.get("If-Match")
            if if_match is not None and if_match.strip():
                req["if_match"] = if_match
            text = await admin(request, "admin.rollback", req)
            return json_response(text, json.loads(text)[version_field])

        base = "/v1/admin/tenants/{tenant_id}/" + kind
        app.add_api_route(base, get_doc, methods=["GET"], name=f"get_{kind}")
        app.add_api_route(base, put_doc, methods=["PUT"], name=f"put_{kind}")
        app.add_api_route(base + "/versions", versions, methods=["GET"], name=f"{kind}_versions")
        app.add_api_route(base + "/rollback", rollback, methods=["POST"], name=f"rollback_{kind}")

    doc_routes("config")
    doc_routes("rules")

    @app.get("/v1/admin/tenants/{tenant_id}/audit")
    async def audit(request: Request, tenant_id: str) -> Response:
        # Query values go to the engine as text: it validates them (one set of rules).
        req: Dict[str, Any] = {"tenant": tenant_id}
        for name in ("limit", "before", "before_id", "cursor"):
            value = request.query_params.get(name)
            if value is not None:
                req[name] = value
        return json_response(await admin(request, "admin.audit", req))

    @app.get("/v1/admin/tenants/{tenant_id}/audit/verify")
    async def verify_audit(request: Request, tenant_id: str) -> Response:
        return json_response(await admin(request, "admin.verify_audit", {"tenant": tenant_id}))

    @app.post("/v1/admin/tenants/{tenant_id}/cache/invalidate")
    async def invalidate(request: Request, tenant_id: str) -> Response:
        body = _json_object(await request.body(), ["targets", "surface"])
        req: Dict[str, Any] = {"tenant": tenant_id, **body}
        return json_response(await admin(request, "admin.invalidate", req))

    # ---- health and metrics -------------------------------------------------------------

    def database_ok() -> bool:
        try:
            store.ping()
            return True
        except recsys_core.adapters.StoreException:
            return False

    @app.get("/livez")
    async def livez() -> Response:
        return json_response(await call("liveness", "{}"))

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        db = await run_in_threadpool(database_ok)
        engine_ok = json.loads(await call("liveness", "{}")).get("status") == "ok"
        healthy = db and engine_ok
        body = {
            "status": "healthy" if healthy else "unhealthy",
            "checks": {"engine": "ok" if engine_ok else "failed", "database": "ok" if db else "failed"},
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    def feed_report() -> Dict[str, Any]:
        f = fleet.snapshot()
        mono = time.monotonic()

        def ago(t: Optional[float]) -> Optional[float]:
            return None if t is None else round(mono - t, 3)

        return {
            "connected": f.connected,
            "down_seconds": round(f.down_for(mono), 3),
            "disconnects": f.disconnects,
            "notifications": f.notifications,
            "syncs": f.syncs,
            "sync_errors": f.sync_errors,
            "reconciled": f.reconciled,
            "last_notification_seconds": ago(f.last_notification_at),
            "last_full_sync_seconds": ago(f.last_full_sync_at),
            "last_error": f.last_error,
            "reconcile_seconds": settings.reconcile_seconds,
            "down_threshold_seconds": settings.feed_down_seconds,
        }

    async def standing() -> Dict[str, Any]:
        """Readiness with its reasons, the feed, and per tenant where this process stands."""
        db = await run_in_threadpool(database_ok)
        readiness = json.loads(await call("readiness", json.dumps({"now": clock()})))
        feed = feed_report()
        reasons = []
        if not db:
            reasons.append("database")
        if readiness.get("status") != "ready":
            reasons.append("engine")
        if not feed["reconciled"]:
            reasons.append("not_reconciled")
        if feed["down_seconds"] > settings.feed_down_seconds:
            reasons.append("feed_down")
        tenants = json.loads(await call("sync_status", json.dumps({"now": clock()})))["tenants"]
        return {
            "status": "not_ready" if reasons else "ready",
            "pid": os.getpid(),
            "reasons": reasons,
            "database": "ok" if db else "failed",
            "engine": readiness,
            "feed": feed,
            "tenants": tenants,
        }

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        body = await standing()
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)

    @app.get("/health/detailed")
    async def health_detailed() -> JSONResponse:
        return JSONResponse(await standing())

    routes_extra.install(app)

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        text = await run_in_threadpool(engine.metrics_text)
        tenants = json.loads(await call("sync_status", json.dumps({"now": clock()})))["tenants"]
        text += ("" if not text or text.endswith("\n") else "\n") + _fleet_metrics(fleet, tenants)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    # ---- artifact pins --------------------------------------------------------------------

    async def artifact_admin(request: Request, tenant_id: str, op: str, allowed: List[str]) -> Response:
        body = _json_object(await request.body(), allowed)
        if not isinstance(body.get("surface"), str):
            raise error("RECSYS_INVALID_REQUEST", 400, "surface must be a string")
        answer = json.loads(await admin(request, op, {"tenant": tenant_id, **body}))
        if "fetch" in answer:  # the pinned manifest names artifacts this process has not loaded
            await run_in_threadpool(fleet.apply_fetch, tenant_id, body["surface"], answer.pop("fetch"))
        return json_response(json.dumps(answer))

    @app.post("/v1/admin/tenants/{tenant_id}/artifacts/pin")
    async def pin_artifacts(request: Request, tenant_id: str) -> Response:
        return await artifact_admin(request, tenant_id, "admin.pin_artifacts", ["surface", "manifest", "current", "if_match"])

    @app.post("/v1/admin/tenants/{tenant_id}/artifacts/unpin")
    async def unpin_artifacts(request: Request, tenant_id: str) -> Response:
        return await artifact_admin(request, tenant_id, "admin.unpin_artifacts", ["surface", "if_match"])

    return app


def _seed_and_load(engine: recsys_core.Engine, store: PostgresStore, s: Settings, now: str) -> None:
    """Seeds the tenant's config and rules from the data directory when the database has
    none (audited as `system`), then loads the snapshot: the current documents from the
    database plus the manifest and its artifacts from the data directory."""
    system: AdminContext = {
        "now": now,
        "request_id": "startup",
        "principal": {"subject": "", "tenant": s.tenant, "roles": ["admin"], "type": "system"},
    }
    docs: Dict[str, str] = {}
    for kind in ("config", "rules"):
        if store.current(s.tenant, kind) is None:
            text = (s.data_dir / f"{kind}.json").read_text()
            if kind == "config":
                engine.put_config(s.tenant, text, ctx=system, comment="seeded from the data directory")
            else:
                engine.put_rules(s.tenant, text, ctx=system, comment="seeded from the data directory")
        pointer = store.current(s.tenant, kind)
        assert pointer is not None
        version = store.get_version(s.tenant, kind, pointer["etag"])
        assert version is not None
        docs[kind] = version["document"]
    manifest = (s.data_dir / "manifest.json").read_text()
    artifacts = []
    for uri in json.loads(manifest)["current"].values():
        key = uri.split("://", 1)[1].split("/", 1)[1]
        artifacts.append(json.dumps(uri) + ":" + (s.data_dir / "objectstore" / key).read_text())
    documents = (
        '{"tenant":' + json.dumps(s.tenant) + ',"surface":' + json.dumps(s.surface)
        + ',"config":' + docs["config"] + ',"rules":' + docs["rules"]
        + ',"manifest":' + manifest + ',"artifacts":{' + ",".join(artifacts) + "}}"
    )
    engine.load_snapshot_json(documents)


def _read_object(data_dir: Path, uri: str) -> Optional[str]:
    """An artifact from the data directory's object store (`<scheme>://<bucket>/<key>`)."""
    key = uri.split("://", 1)[-1].split("/", 1)[-1]
    path = (data_dir / "objectstore" / key).resolve()
    if not str(path).startswith(str((data_dir / "objectstore").resolve())) or not path.is_file():
        return None
    return path.read_text()


def _label(v: Any) -> str:
    return str(v if v is not None else "").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _fleet_metrics(fleet: FleetSync, tenants: List[Dict[str, Any]]) -> str:
    """The fleet series: what each tenant and surface serves (an info series, value 1), how
    far behind the store this process is, and the change feed's health."""
    f = fleet.snapshot()
    lines = [
        "# HELP recsys_served_version_info Versions this process serves, per tenant and surface.",
        "# TYPE recsys_served_version_info gauge",
    ]
    for t in tenants:
        for sf in t["surfaces"]:
            labels = ",".join(
                f'{k}="{_label(v)}"'
                for k, v in (
                    ("tenant", t["tenant"]),
                    ("surface", sf["surface"]),
                    ("config_version", sf["config_version"]),
                    ("rules_version", sf["rules_version"]),
                    ("manifest_version", sf["manifest_version"]),
                )
            )
            lines.append(f"recsys_served_version_info{{{labels}}} 1")
    lines += [
        "# HELP recsys_sync_revision_behind Store changes this process has not reconciled yet, per tenant.",
        "# TYPE recsys_sync_revision_behind gauge",
    ]
    lines += [f'recsys_sync_revision_behind{{tenant="{_label(t["tenant"])}"}} {t["behind"]}' for t in tenants]
    lines += [
        "# HELP recsys_sync_last_lag_seconds Write-to-served lag of the newest change this process applied, per tenant.",
        "# TYPE recsys_sync_last_lag_seconds gauge",
    ]
    lines += [
        f'recsys_sync_last_lag_seconds{{tenant="{_label(t["tenant"])}"}} {t["lag_seconds"]}'
        for t in tenants
        if t["lag_seconds"] is not None
    ]
    lines += [
        "# HELP recsys_feed_connected Whether the change feed (LISTEN) is connected and reconciled.",
        "# TYPE recsys_feed_connected gauge",
        f"recsys_feed_connected {1 if f.connected else 0}",
        "# HELP recsys_feed_disconnects_total Times the change feed connection was lost.",
        "# TYPE recsys_feed_disconnects_total counter",
        f"recsys_feed_disconnects_total {f.disconnects}",
        "# HELP recsys_feed_notifications_total Change notifications received.",
        "# TYPE recsys_feed_notifications_total counter",
        f"recsys_feed_notifications_total {f.notifications}",
        "# HELP recsys_sync_errors_total Syncs with the store that failed.",
        "# TYPE recsys_sync_errors_total counter",
        f"recsys_sync_errors_total {f.sync_errors}",
    ]
    return "\n".join(lines) + "\n"


def app_from_env() -> FastAPI:
    """For `uvicorn --factory recsys_service.app:app_from_env`."""
    return create_app(Settings.from_env())
