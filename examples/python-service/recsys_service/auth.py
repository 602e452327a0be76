"""Who is calling: API keys (stored as the core's hashes) and JWT bearer tokens
(:mod:`recsys_service.auth_jwt`), combined as the reference does, plus the tenant header.

* A token gives subject, tenant and roles; an API key beside it adds its roles and must
  agree on the tenant; a key alone gives `api-key:<id>`, its tenant and roles.
* A malformed `Authorization` header is a 401 even next to a valid key (a bearer header
  when JWT auth is off, too: a credential the service cannot check is never ignored).
* The tenant header (`X-Org-Id`), when present, must name the same tenant; with a token that
  has no tenant claim it supplies the tenant unless a claim is required.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from fastapi import Request
from starlette.concurrency import run_in_threadpool

import recsys_core
from recsys_core import Principal, RecsysError

from .auth_jwt import JwtInvalid, JwtVerifier, bearer_token


@dataclass(frozen=True)
class ApiKey:
    """A configured API key: its id, the stored hash (never the key), tenant and roles."""

    id: str
    hash: str
    tenant: str
    roles: List[str]


def hash_api_key(secret: str, key: str) -> str:
    """The stored form of an API key (the core's reference-compatible hash)."""
    return str(json.loads(recsys_core.call_static("api_key_hash", json.dumps({"secret": secret, "key": key})))["hash"])


def error(code: str, status: int, message: str) -> RecsysError:
    return recsys_core.error_class_for(code)(code, status, message)


class Authenticator:
    """Resolves a request's principal; raises typed 401/403 errors."""

    def __init__(
        self,
        keys: Sequence[ApiKey],
        secret: str,
        verifier: Optional[JwtVerifier],
        key_header: str = "X-API-Key",
        tenant_header: str = "X-Org-Id",
        require_tenant_claim: bool = False,
    ) -> None:
        self.by_hash = {k.hash: k for k in keys}
        self.secret = secret
        self.verifier = verifier
        self.key_header = key_header
        self.tenant_header = tenant_header
        self.require_tenant_claim = require_tenant_claim

    def api_key(self, key: str) -> Dict[str, Any]:
        found = self.by_hash.get(hash_api_key(self.secret, key))
        if found is None:
            raise error("RECSYS_AUTH_INVALID", 401, "invalid api key")
        # Constant-time check of the key against the stored hash (the core's verifier).
        recsys_core.call_static("api_key_verify", json.dumps({"secret": self.secret, "key": key, "hash": found.hash}))
        return {"subject": f"api-key:{found.id}", "tenant": found.tenant, "roles": list(found.roles), "type": "api_key"}

    async def bearer(self, header: str) -> Dict[str, Any]:
        try:
            token = bearer_token(header)
            if self.verifier is None:
                raise JwtInvalid("bearer tokens are not accepted by this service (JWT auth is off)")
            if self.verifier.fetches:  # the first use of a key may fetch the JWKS
                return await run_in_threadpool(self.verifier.principal, token)
            return self.verifier.principal(token)
        except JwtInvalid as e:
            raise error("RECSYS_AUTH_INVALID", 401, f"invalid bearer token: {e.reason}")

    async def principal(self, request: Request) -> Principal:
        header = request.headers.get("Authorization")
        key = request.headers.get(self.key_header, "").strip()
        if header is None and not key:
            raise error("RECSYS_AUTH_REQUIRED", 401, "authentication required")
        p: Dict[str, Any] = await self.bearer(header) if header is not None else {}
        if key:
            k = self.api_key(key)
            if p.get("tenant") and p["tenant"] != k["tenant"]:
                raise error("RECSYS_TENANT_SCOPE_MISMATCH", 403, "tenant scope mismatch")
            if p:
                have = {x.lower() for x in p["roles"]}
                p["tenant"], p["roles"] = k["tenant"], p["roles"] + [r for r in k["roles"] if r.lower() not in have]
            else:
                p = k
        values = request.headers.getlist(self.tenant_header)
        if len(values) > 1 or any(c in v for v in values for c in ", \t"):
            raise error("RECSYS_TENANT_SCOPE_INVALID", 403, "tenant scope invalid")
        header_tenant = values[0].strip() if values else ""
        if header_tenant and p["tenant"] and header_tenant != p["tenant"]:
            raise error("RECSYS_TENANT_SCOPE_MISMATCH", 403, "tenant scope mismatch")
        if not p["tenant"]:
            if not header_tenant or self.require_tenant_claim:
                raise error("RECSYS_TENANT_SCOPE_REQUIRED", 403, "tenant scope required")
            p["tenant"] = header_tenant
        return {"subject": p["subject"], "tenant": p["tenant"], "roles": p["roles"], "type": p["type"]}
