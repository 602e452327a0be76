"""Fixtures: a fresh PostgreSQL database per test session (from RECSYS_PG_DSN, else a
throw-away server), a clean schema per test, and the app behind a TestClient."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import jsonschema
import psycopg
import pytest
import yaml
from fastapi.testclient import TestClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from recsys_service.app import ApiKey, Settings, create_app, hash_api_key  # noqa: E402
from recsys_service.pgtemp import TempPostgres  # noqa: E402

REPO = HERE.parents[2]
OPENAPI = REPO / "docs" / "openapi.yaml"
SECRET = "test-pepper"
KEYS = {
    "admin": ("k-admin", "demo", ["admin"]),
    "operator": ("k-op", "demo", ["operator"]),
    "viewer": ("k-view", "demo", ["viewer"]),
    "other": ("k-other", "acme", ["admin"]),
}


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    dsn = os.environ.get("RECSYS_PG_DSN")
    if dsn:
        yield dsn
        return
    pg = TempPostgres(port=54332)
    try:
        yield pg.start()
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def dsn(server_dsn: str) -> Iterator[str]:
    name = f"recsys_test_{os.getpid()}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    yield re.sub(r"dbname=\S+", f"dbname={name}", server_dsn)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture()
def clean_db(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('audit_log')").fetchone()
        if exists and exists[0]:
            conn.execute("TRUNCATE document_pointers, document_versions, audit_log, audit_heads RESTART IDENTITY")
            conn.execute("ALTER SEQUENCE audit_log_id_seq RESTART WITH 1")
    return dsn


class Clock:
    """A deterministic clock: each reading is one millisecond after the previous one."""

    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> str:
        self.ms += 1
        return f"2026-11-23T12:00:{self.ms // 1000:02d}.{self.ms % 1000:03d}Z"


def settings(dsn: str) -> Settings:
    keys = [ApiKey(kid, hash_api_key(SECRET, name + "-key"), tenant, roles) for name, (kid, tenant, roles) in KEYS.items()]
    return Settings(dsn=dsn, api_key_secret=SECRET, api_keys=keys)


@pytest.fixture()
def make_client(clean_db: str) -> Iterator[Callable[[], TestClient]]:
    clients: List[TestClient] = []

    def make() -> TestClient:
        client = TestClient(create_app(settings(clean_db), clock=Clock()), raise_server_exceptions=True)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.app.state.fleet.stop()  # type: ignore[attr-defined]
        c.app.state.store.close()  # type: ignore[attr-defined]
        c.close()


@pytest.fixture()
def client(make_client: Callable[[], TestClient]) -> TestClient:
    return make_client()


def auth(who: str = "admin", **extra: str) -> Dict[str, str]:
    return {"X-API-Key": who + "-key", **extra}


class Spec:
    """docs/openapi.yaml: finds the documented response schema of a real response and
    validates the response body against it."""

    def __init__(self) -> None:
        self.doc: Dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
        self.templates = []
        for path in self.doc["paths"]:
            pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"
            self.templates.append((re.compile(pattern), path))

    def template(self, path: str) -> Optional[str]:
        for pattern, template in self.templates:
            if pattern.match(path):
                return template
        return None

    def resolve(self, node: Dict[str, Any]) -> Dict[str, Any]:
        """Follows a local `$ref` (responses, headers, parameters)."""
        while "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def schema(self, ref_or_schema: Dict[str, Any]) -> Dict[str, Any]:
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": self.doc["components"], **ref_or_schema}

    def check(self, response: Any) -> Any:
        """Validates `response` against the document; returns it."""
        method = response.request.method.lower()
        template = self.template(response.request.url.path)
        assert template is not None, f"{response.request.url.path} is not in docs/openapi.yaml"
        operation = self.doc["paths"][template].get(method)
        assert operation is not None, f"{method.upper()} {template} is not in docs/openapi.yaml"
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, f"{method.upper()} {template} {response.status_code} is not documented"
        documented = self.resolve(documented)
        ctype = response.headers.get("content-type", "").split(";")[0].strip()
        content = documented.get("content", {})
        assert ctype in content, f"{method.upper()} {template} {response.status_code}: {ctype} not documented"
        schema = content[ctype].get("schema")
        if schema is not None and ctype.endswith("json"):
            jsonschema.Draft202012Validator(self.schema(schema)).validate(response.json())
        for header in documented.get("headers", {}):
            assert header in response.headers, f"{method.upper()} {template}: header {header} missing"
        return response


@pytest.fixture(scope="session")
def spec() -> Spec:
    return Spec()
