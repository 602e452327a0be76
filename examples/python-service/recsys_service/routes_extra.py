"""Reference HTTP details around the API proper: `GET /v1/license` (unauthenticated,
`Cache-Control: no-store`), and router errors as problem+json, where a 405 lists in `Allow`
every method the path accepts (FastAPI's own 405 names only the first route it matched).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Dict, List, MutableMapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

import recsys_core

#: The license this build is under (no license file or key is needed to run it).
LICENSE: Dict[str, Any] = {
    "status": "valid",
    "license": "Apache-2.0",
    "commercial": False,
    "customer": None,
    "entitlements": [],
    "expires_at": None,
    "product": "recsys-core",
    "version": recsys_core.__version__,
}


def allowed_methods(app: FastAPI, scope: MutableMapping[str, Any]) -> List[str]:
    """Every method some route accepts for the request's path, sorted."""
    methods = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "GET"})
        if match == Match.NONE:
            continue
        route_methods = getattr(route, "methods", None)
        if route_methods:
            methods.update(route_methods)
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Adds the license route and the router-error handler to `app`."""

    @app.get("/v1/license")
    async def license() -> JSONResponse:
        return JSONResponse(LICENSE, headers={"Cache-Control": "no-store"})

    @app.exception_handler(StarletteHTTPException)
    async def router_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        """404/405 from the router as problem+json without `code` (as the reference's
        router errors); a 405 carries the full `Allow` list."""
        rid = getattr(request.state, "request_id", None)
        headers: Dict[str, str] = dict(e.headers or {})
        detail = e.detail if isinstance(e.detail, str) else HTTPStatus(e.status_code).phrase
        if e.status_code == 405:
            allow = allowed_methods(app, request.scope)
            headers["Allow"] = ", ".join(allow)
            detail = f"method {request.method} not allowed; allowed: {', '.join(allow)}"
        elif e.status_code == 404:
            detail = f"no route for {request.url.path!r}"
        body: Dict[str, Any] = {
            "type": "about:blank",
            "title": HTTPStatus(e.status_code).phrase,
            "status": e.status_code,
            "detail": detail,
            "instance": request.url.path,
        }
        if rid:
            body["request_id"] = rid
            headers["X-Request-Id"] = rid
        return JSONResponse(body, status_code=e.status_code, media_type="application/problem+json", headers=headers)
