"""docs/openapi.yaml describes exactly what the app serves: the same (method, path) pairs,
documented parameters for every path parameter, and real responses that validate against
the documented schemas (the other tests validate every response they make, too)."""

from __future__ import annotations

import json
import re
from typing import Set, Tuple

import jsonschema
import openapi_spec_validator
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from conftest import REPO, Spec, auth

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def app_routes(client: TestClient) -> Set[Tuple[str, str]]:
    out: Set[Tuple[str, str]] = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        assert isinstance(route, APIRoute), f"unexpected route {route!r}"
        for method in route.methods:
            out.add((method.lower(), route.path))
    return out


def test_routes_match_the_document(client: TestClient, spec: Spec) -> None:
    documented = {(m, p) for p, item in spec.doc["paths"].items() for m in item if m in METHODS}
    served = app_routes(client)
    assert served == documented, f"only served: {served - documented}; only documented: {documented - served}"
    for path, item in spec.doc["paths"].items():
        params = {spec.resolve(p)["name"] for p in item.get("parameters", []) if spec.resolve(p)["in"] == "path"}
        assert params == set(re.findall(r"\{([^}]+)\}", path)), path
        for method, op in item.items():
            if method not in METHODS:
                continue
            assert op["operationId"] and op["responses"], (method, path)
            for status in op["responses"]:
                assert re.fullmatch(r"[1-5]\d\d", status), (method, path, status)


def test_the_document_is_valid_openapi_3_1_and_its_schemas_are_valid(spec: Spec) -> None:
    assert spec.doc["openapi"].startswith("3.1")
    openapi_spec_validator.validate(spec.doc)
    for name, schema in spec.doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(spec.schema(schema))
    text = (REPO / "docs" / "openapi.yaml").read_text()
    for ref in set(re.findall(r'\$ref: "#/([^"]+)"', text)):
        node = spec.doc
        for part in ref.split("/"):
            assert part in node, f"dangling $ref #/{ref}"
            node = node[part]


def test_request_examples_match_the_request_schemas(spec: Spec) -> None:
    request = (REPO / "examples" / "data" / "request.json").read_text()
    schema = spec.schema({"$ref": "#/components/schemas/RecommendRequest"})
    jsonschema.Draft202012Validator(schema).validate(json.loads(request))
    bad = jsonschema.Draft202012Validator(schema)
    assert not bad.is_valid({"k": 5})  # surface is required


def test_every_operation_answers_as_documented(client: TestClient, spec: Spec) -> None:
    """One real call per documented operation, validated against the document."""
    seen: Set[Tuple[str, str]] = set()

    def call(method: str, path: str, **kw: object) -> None:
        r = spec.check(client.request(method, path, **kw))  # type: ignore[arg-type]
        seen.add((method.lower(), spec.template(path.split("?")[0]) or path))
        assert r.status_code < 500, r.text

    body = (REPO / "examples" / "data" / "request.json").read_text()
    call("POST", "/v1/recommend", content=body, headers=auth())
    call("POST", "/v1/recommend/validate", content=body, headers=auth())
    call("POST", "/v1/similar", json={"surface": "home", "item_id": "sku-running-shoe"}, headers=auth())
    for kind in ("config", "rules"):
        base = f"/v1/admin/tenants/demo/{kind}"
        current = client.get(base, headers=auth()).text
        call("GET", base, headers=auth())
        doc = '{"weights":{"pop":1}}' if kind == "config" else "[]"
        call("PUT", base, content=doc, headers=auth())
        call("GET", base + "/versions", headers=auth())
        call("POST", base + "/rollback", headers=auth())
        assert client.get(base, headers=auth()).text == current
    call("GET", "/v1/admin/tenants/demo/audit?limit=2", headers=auth())
    call("GET", "/v1/admin/tenants/demo/audit/verify", headers=auth())
    call("POST", "/v1/admin/tenants/demo/cache/invalidate", json={"targets": ["artifacts"]}, headers=auth())
    manifest = (REPO / "examples" / "data" / "manifest.json").read_text()
    call("POST", "/v1/admin/tenants/demo/artifacts/pin", json={"surface": "home", "manifest": manifest}, headers=auth())
    call("POST", "/v1/admin/tenants/demo/artifacts/unpin", json={"surface": "home"}, headers=auth())
    for path in ("/livez", "/healthz", "/readyz", "/health/detailed", "/metrics", "/v1/license"):
        call("GET", path)
    documented = {(m, p) for p, item in spec.doc["paths"].items() for m in item if m in METHODS}
    assert seen == documented
