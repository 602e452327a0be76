"""JWT bearer authentication (the reference service's recommended production auth):
signatures verified against a JWKS (a file, or an https URL on an allowed host), issuer and
audience checked, the tenant and roles taken from configured claims.

The settings use the reference's environment variable names, so a deployment moves over
unchanged: ``JWT_AUTH_ENABLED``, ``JWT_JWKS_URL`` (or ``JWT_JWKS_FILE``, ours),
``AUTH_JWKS_ALLOWED_HOSTS``, ``AUTH_ALLOW_INSECURE_JWKS``, ``JWT_ISSUER``, ``JWT_AUDIENCE``,
``JWT_ALLOWED_ALGORITHMS``, ``JWT_ALLOWED_CLOCK_SKEW`` (seconds), ``JWT_JWKS_REFRESH_INTERVAL``
(seconds), ``AUTH_TENANT_CLAIMS``, ``AUTH_ROLE_CLAIMS``, ``AUTH_REQUIRE_TENANT_CLAIM``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

import jwt

DEFAULT_TENANT_CLAIMS = ["tenant_id", "org_id", "orgId", "organization_id"]
DEFAULT_ROLE_CLAIMS = ["roles", "role", "scope", "scopes"]
DEFAULT_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class JwtConfigError(ValueError):
    """A JWT setting that cannot work (raised at startup, never per request)."""


class JwtInvalid(Exception):
    """The bearer token was refused; ``reason`` is safe to show to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _csv(text: str) -> List[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


@dataclass
class JwtSettings:
    issuer: str
    audience: str
    jwks_file: Optional[Path] = None
    jwks_url: Optional[str] = None
    allowed_hosts: List[str] = field(default_factory=list)
    allow_insecure_jwks: bool = False
    algorithms: List[str] = field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    leeway_seconds: int = 30
    refresh_seconds: int = 600
    tenant_claims: List[str] = field(default_factory=lambda: list(DEFAULT_TENANT_CLAIMS))
    role_claims: List[str] = field(default_factory=lambda: list(DEFAULT_ROLE_CLAIMS))
    require_tenant_claim: bool = False

    @staticmethod
    def from_env(env: Mapping[str, str]) -> Optional[JwtSettings]:
        """``None`` unless ``JWT_AUTH_ENABLED`` is true."""
        if not _flag(env.get("JWT_AUTH_ENABLED", "")):
            return None
        file = env.get("JWT_JWKS_FILE", "").strip()
        return JwtSettings(
            issuer=env.get("JWT_ISSUER", "").strip(),
            audience=env.get("JWT_AUDIENCE", "").strip(),
            jwks_file=Path(file) if file else None,
            jwks_url=env.get("JWT_JWKS_URL", "").strip() or None,
            allowed_hosts=_csv(env.get("AUTH_JWKS_ALLOWED_HOSTS", "")),
            allow_insecure_jwks=_flag(env.get("AUTH_ALLOW_INSECURE_JWKS", "")),
            algorithms=_csv(env.get("JWT_ALLOWED_ALGORITHMS", "")) or list(DEFAULT_ALGORITHMS),
            leeway_seconds=int(env.get("JWT_ALLOWED_CLOCK_SKEW", "30")),
            refresh_seconds=int(env.get("JWT_JWKS_REFRESH_INTERVAL", "600")),
            tenant_claims=_csv(env.get("AUTH_TENANT_CLAIMS", "")) or list(DEFAULT_TENANT_CLAIMS),
            role_claims=_csv(env.get("AUTH_ROLE_CLAIMS", "")) or list(DEFAULT_ROLE_CLAIMS),
            require_tenant_claim=_flag(env.get("AUTH_REQUIRE_TENANT_CLAIM", "")),
        )


def check_jwks_url(url: str, allowed_hosts: List[str], allow_insecure: bool) -> None:
    """https only (unless explicitly allowed) and, with an allow-list, only its hosts
    (case-insensitive), as in the reference."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise JwtConfigError(f"jwks url must be an absolute https url, got {url!r}")
    if parts.scheme != "https" and not allow_insecure:
        raise JwtConfigError(f"jwks url must use https (AUTH_ALLOW_INSECURE_JWKS allows http), got {url!r}")
    if allowed_hosts and parts.hostname.lower() not in {h.lower() for h in allowed_hosts}:
        raise JwtConfigError(
            f"jwks url host {parts.hostname!r} is not in AUTH_JWKS_ALLOWED_HOSTS ({', '.join(allowed_hosts)})"
        )


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by name; dotted paths walk nested objects (``realm.tenant``)."""
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def tenant_of(claims: Mapping[str, Any], names: List[str]) -> str:
    """The first non-empty tenant claim; non-string values are stringified."""
    for name in names:
        value = claim(claims, name)
        if value is None or isinstance(value, (dict, list)):
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        if text.strip():
            return text.strip()
    return ""


def roles_of(claims: Mapping[str, Any], names: List[str]) -> List[str]:
    """The union of the role claims: strings split on whitespace when they hold several
    words, else on commas; arrays element-wise; duplicates (case-insensitive) dropped."""
    out: List[str] = []
    seen = set()
    for name in names:
        value = claim(claims, name)
        items: List[Any]
        if isinstance(value, str):
            items = value.split() if len(value.split()) > 1 else value.split(",")
        elif isinstance(value, list):
            items = value
        else:
            continue
        for item in items:
            if not isinstance(item, str) or not item.strip():
                continue
            role = item.strip()
            if role.lower() not in seen:
                seen.add(role.lower())
                out.append(role)
    return out


class JwtVerifier:
    """Verifies bearer tokens and turns their claims into a principal."""

    def __init__(self, s: JwtSettings) -> None:
        if not s.issuer or not s.audience:
            raise JwtConfigError("JWT_ISSUER and JWT_AUDIENCE are required when JWT auth is enabled")
        if bool(s.jwks_file) == bool(s.jwks_url):
            raise JwtConfigError("set exactly one of JWT_JWKS_FILE and JWT_JWKS_URL")
        self.settings = s
        self._keys: Optional[jwt.PyJWKSet] = None
        self._client: Optional[jwt.PyJWKClient] = None
        if s.jwks_file is not None:
            try:
                self._keys = jwt.PyJWKSet.from_json(s.jwks_file.read_text())
            except (OSError, jwt.PyJWTError, ValueError) as e:
                raise JwtConfigError(f"cannot read jwks file {str(s.jwks_file)!r}: {e}") from e
        else:
            assert s.jwks_url is not None
            check_jwks_url(s.jwks_url, s.allowed_hosts, s.allow_insecure_jwks)
            self._client = jwt.PyJWKClient(s.jwks_url, cache_keys=True, lifespan=max(1, s.refresh_seconds), timeout=5)

    @property
    def fetches(self) -> bool:
        """True when keys come from a URL (verification may block on a fetch)."""
        return self._client is not None

    def _key(self, token: str) -> Any:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise JwtInvalid("malformed token")
        if header.get("alg") not in self.settings.algorithms:
            raise JwtInvalid(f"algorithm {header.get('alg')!r} is not allowed")
        kid = header.get("kid")
        try:
            if self._client is not None:
                return self._client.get_signing_key_from_jwt(token).key
            assert self._keys is not None
            if kid is None:
                if len(self._keys.keys) == 1:
                    return self._keys.keys[0].key
                raise JwtInvalid("token has no kid and the jwks holds several keys")
            return self._keys[kid].key
        except KeyError:
            raise JwtInvalid(f"no key {kid!r} in the jwks")
        except jwt.PyJWKClientError as e:
            raise JwtInvalid(f"signing key unavailable: {e}")

    def claims(self, token: str) -> Dict[str, Any]:
        """The verified claims (signature, issuer, audience, expiry with the allowed skew)."""
        key = self._key(token)
        try:
            decoded: Dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.settings.algorithms,
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise JwtInvalid("token expired")
        except jwt.InvalidAudienceError:
            raise JwtInvalid("wrong audience")
        except jwt.InvalidIssuerError:
            raise JwtInvalid("wrong issuer")
        except jwt.InvalidSignatureError:
            raise JwtInvalid("bad signature")
        except jwt.PyJWTError as e:
            raise JwtInvalid(str(e).lower())
        return decoded

    def principal(self, token: str) -> Dict[str, Any]:
        """``{"subject", "tenant", "roles", "type": "user", "tenant_from_claim"}``."""
        c = self.claims(token)
        tenant = tenant_of(c, self.settings.tenant_claims)
        sub = c.get("sub")
        return {
            "subject": sub if isinstance(sub, str) else "",
            "tenant": tenant,
            "roles": roles_of(c, self.settings.role_claims),
            "type": "user",
            "tenant_from_claim": bool(tenant),
        }


def bearer_token(header: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; :class:`JwtInvalid` for any
    other shape (a malformed header is refused, never ignored)."""
    parts = header.strip().split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1].strip() or " " in parts[1].strip():
        raise JwtInvalid("authorization header must be 'Bearer <token>'")
    return parts[1].strip()
