"""JWT bearer auth: tokens signed with a key of the JWKS (a file, or a loopback URL on an
allowed host) are accepted; wrong issuer, audience, signature, expiry or algorithm are 401;
the tenant and roles come from the configured claims; API keys keep working beside tokens;
a malformed Authorization header is a 401 even next to a valid API key."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from conftest import Clock, Spec, auth, settings
from recsys_service.app import create_app
from recsys_service.auth_jwt import JwtConfigError, JwtSettings, roles_of, tenant_of
from test_service import CONFIG, REQUEST, problem_of

ISS = "https://id.example.test/"
AUD = "recsys"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def jwks() -> Dict[str, Any]:
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()))
    return {"keys": [{**rsa_jwk, "kid": "rsa-1", "use": "sig"}, {**ec_jwk, "kid": "ec-1", "use": "sig"}]}


def token(claims: Optional[Dict[str, Any]] = None, *, key: Any = KEY, kid: str = "rsa-1", alg: str = "RS256", drop: tuple = ()) -> str:
    now = int(time.time())
    body: Dict[str, Any] = {"iss": ISS, "aud": AUD, "sub": "user-42", "exp": now + 300, "iat": now,
                            "tenant_id": "demo", "roles": ["operator"]}
    body.update(claims or {})
    for k in drop:
        body.pop(k)
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def bearer(t: str, **extra: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {t}", **extra}


@pytest.fixture()
def jwks_file(tmp_path: Path) -> Path:
    p = tmp_path / "jwks.json"
    p.write_text(json.dumps(jwks()))
    return p


@pytest.fixture()
def jwt_client(clean_db: str, jwks_file: Path) -> Iterator[Callable[..., TestClient]]:
    made: List[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        s = settings(clean_db)
        s.jwt = JwtSettings(issuer=ISS, audience=AUD, jwks_file=jwks_file, **overrides)
        c = TestClient(create_app(s, clock=Clock()))
        made.append(c)
        return c

    yield make
    for c in made:
        c.app.state.fleet.stop()  # type: ignore[attr-defined]
        c.app.state.store.close()  # type: ignore[attr-defined]


def test_valid_tokens_serve_and_administer(jwt_client: Callable[..., TestClient], spec: Spec) -> None:
    c = jwt_client()
    r = spec.check(c.post("/v1/recommend", content=REQUEST, headers=bearer(token())))
    assert r.status_code == 200 and r.json()["meta"]["tenant_id"] == "demo"
    # Roles from the claim: an operator may write; the audit names the token's subject.
    put = spec.check(c.put(CONFIG, content='{"weights":{"pop":2}}', headers=bearer(token())))
    assert put.status_code == 200
    entry = c.get("/v1/admin/tenants/demo/audit?limit=1", headers=bearer(token())).json()["entries"][0]
    assert (entry["actor_sub"], entry["actor_type"]) == ("user-42", "user")
    # An EC key of the same JWKS works too; a viewer token may read but not write.
    ec_viewer = token({"roles": "viewer"}, key=EC_KEY, kid="ec-1", alg="ES256")
    assert c.get(CONFIG, headers=bearer(ec_viewer)).status_code == 200
    problem_of(spec.check(c.put(CONFIG, content="{}", headers=bearer(ec_viewer))), 403, "RECSYS_FORBIDDEN")


@pytest.mark.parametrize(
    "bad, why",
    [
        (lambda: token({"iss": "https://evil.test/"}), "wrong issuer"),
        (lambda: token({"aud": "someone-else"}), "wrong audience"),
        (lambda: token({"exp": int(time.time()) - 120}), "token expired"),
        (lambda: token(key=OTHER_KEY), "bad signature"),
        (lambda: token(kid="nope"), "no key 'nope'"),
        (lambda: token(drop=("exp",)), "exp"),
        (lambda: jwt.encode({"iss": ISS, "aud": AUD, "exp": int(time.time()) + 60}, "an-hmac-secret-of-at-least-32-bytes!", algorithm="HS256"), "algorithm 'HS256'"),
        (lambda: "not.a.jwt", "malformed token"),
    ],
)
def test_bad_tokens_are_401(jwt_client: Callable[..., TestClient], spec: Spec, bad: Callable[[], str], why: str) -> None:
    c = jwt_client()
    r = spec.check(c.post("/v1/recommend", content=REQUEST, headers=bearer(bad())))
    body = problem_of(r, 401, "RECSYS_AUTH_INVALID")
    assert why in body["detail"], body["detail"]


def test_malformed_authorization_next_to_a_valid_api_key_is_401(jwt_client: Callable[..., TestClient], spec: Spec) -> None:
    c = jwt_client()
    for header in ("Basic dXNlcjpwdw==", "Bearer", "Bearer ", "token", "Bearer a b"):
        r = c.post("/v1/recommend", content=REQUEST, headers=auth(Authorization=header))
        problem_of(spec.check(r), 401, "RECSYS_AUTH_INVALID")
    # The API key alone still works, and beside a valid token its roles are added.
    assert c.post("/v1/recommend", content=REQUEST, headers=auth()).status_code == 200
    viewer_token = token({"roles": ["viewer"]})
    assert c.put(CONFIG, content="{}", headers=bearer(viewer_token)).status_code == 403
    assert c.put(CONFIG, content="{}", headers=bearer(viewer_token, **auth("admin"))).status_code == 200
    # ...but the key's tenant must agree with the token's.
    r = c.post("/v1/recommend", content=REQUEST, headers=bearer(token(), **auth("other")))
    problem_of(spec.check(r), 403, "RECSYS_TENANT_SCOPE_MISMATCH")


def test_without_jwt_a_bearer_header_is_refused_not_ignored(client: TestClient, spec: Spec) -> None:
    r = client.post("/v1/recommend", content=REQUEST, headers=auth(Authorization="Bearer abc.def.ghi"))
    assert "not accepted" in problem_of(spec.check(r), 401, "RECSYS_AUTH_INVALID")["detail"]


def test_tenant_and_role_claims_are_configurable(jwt_client: Callable[..., TestClient], spec: Spec) -> None:
    c = jwt_client(tenant_claims=["org.external_id"], role_claims=["scope"], require_tenant_claim=True)
    t = token({"org": {"external_id": "demo"}, "scope": "viewer openid"}, drop=("tenant_id", "roles"))
    assert c.get(CONFIG, headers=bearer(t)).status_code == 200
    r = c.post("/v1/recommend", content=REQUEST, headers=bearer(token({}, drop=("tenant_id",)), **{"X-Org-Id": "demo"}))
    problem_of(spec.check(r), 403, "RECSYS_TENANT_SCOPE_REQUIRED")
    # Without the requirement, the tenant header fills in; it must agree with a claim.
    c2 = jwt_client()
    assert c2.post("/v1/recommend", content=REQUEST, headers=bearer(token({}, drop=("tenant_id",)), **{"X-Org-Id": "demo"})).status_code == 200
    r = c2.post("/v1/recommend", content=REQUEST, headers=bearer(token(), **{"X-Org-Id": "acme"}))
    problem_of(spec.check(r), 403, "RECSYS_TENANT_SCOPE_MISMATCH")


def test_claim_helpers() -> None:
    assert tenant_of({"org_id": 42}, ["tenant_id", "org_id"]) == "42"
    assert tenant_of({"tenant_id": " ", "orgId": "x"}, ["tenant_id", "orgId"]) == "x"
    assert roles_of({"roles": ["Admin", "admin"], "scope": "read write", "role": "a,b"}, ["roles", "role", "scope"]) == [
        "Admin", "a", "b", "read", "write"]


class _Jwks(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        body = json.dumps(jwks()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_jwks_from_a_url_on_an_allowed_host(clean_db: str, spec: Spec) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/jwks.json"
    try:
        s = settings(clean_db)
        s.jwt = JwtSettings(issuer=ISS, audience=AUD, jwks_url=url, allowed_hosts=["127.0.0.1"], allow_insecure_jwks=True)
        c = TestClient(create_app(s, clock=Clock()))
        for _ in range(3):
            assert c.post("/v1/recommend", content=REQUEST, headers=bearer(token())).status_code == 200
        assert _Jwks.hits == 1  # cached
        c.app.state.fleet.stop()  # type: ignore[attr-defined]
        c.app.state.store.close()  # type: ignore[attr-defined]
        for bad, needle in [
            (dict(allowed_hosts=["id.example.test"], allow_insecure_jwks=True), "not in AUTH_JWKS_ALLOWED_HOSTS"),
            (dict(allowed_hosts=[], allow_insecure_jwks=False), "must use https"),
        ]:
            s.jwt = JwtSettings(issuer=ISS, audience=AUD, jwks_url=url, **bad)  # type: ignore[arg-type]
            with pytest.raises(JwtConfigError, match=needle):
                create_app(s, clock=Clock())
        s.jwt = JwtSettings(issuer="", audience=AUD, jwks_url=url)
        with pytest.raises(JwtConfigError, match="JWT_ISSUER and JWT_AUDIENCE"):
            create_app(s, clock=Clock())
    finally:
        server.shutdown()
        server.server_close()


def test_jwt_settings_from_the_environment(tmp_path: Path) -> None:
    env = {"JWT_AUTH_ENABLED": "true", "JWT_JWKS_FILE": str(tmp_path / "k.json"), "JWT_ISSUER": ISS, "JWT_AUDIENCE": AUD,
           "AUTH_TENANT_CLAIMS": "org, tenant", "AUTH_ROLE_CLAIMS": "groups", "JWT_ALLOWED_ALGORITHMS": "ES256"}
    s = JwtSettings.from_env(env)
    assert s is not None and s.tenant_claims == ["org", "tenant"] and s.role_claims == ["groups"] and s.algorithms == ["ES256"]
    assert JwtSettings.from_env({}) is None
