"""Logging in, one's own token and the administration of users over HTTP (``/v1/auth``, ``/v1/users``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.governance.roles import Principal, Role
from tweeling.services.settings import Settings, load_settings

PASSWORD = "kade-en-kerk-2030"
CLI = Principal("cli:test", frozenset({Role.ADMIN}), token_id="cli")
NON_ADMIN_ROLES = ["public", "resident", "analyst", "data_owner", "ethics"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("auth")
    return load_settings(
        store_url=f"duckdb://{data_dir / 'empty.duckdb'}",
        data_dir=data_dir,
        login_max_failures=5,
        login_lockout_s=600,
    )


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=("198.51.100.10", 50000)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(app: FastAPI, client: TestClient) -> dict[str, str]:
    """The header of a logged-in administrator (a user, not a service token)."""
    app.state.governance.identity.create_user("beheer", PASSWORD, ["admin"], actor=CLI)
    return {"Authorization": f"Bearer {login(client, 'beheer').json()['access_token']}"}


def add_user(app: FastAPI, name: str, *roles: str) -> None:
    app.state.governance.identity.create_user(name, PASSWORD, list(roles), actor=CLI)


def login(client: TestClient, name: str, password: str = PASSWORD) -> object:
    return client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": name, "password": password}
    )


def token_of(client: TestClient, name: str) -> dict[str, str]:
    response = login(client, name)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def problem(response: object, status: int) -> dict:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined]


def test_login_answers_an_oauth2_token(app: FastAPI, client: TestClient) -> None:
    add_user(app, "anna", "analyst")
    response = login(client, "anna")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["roles"] == ["analyst", "public"]
    assert 3590 <= body["expires_in"] <= 3600
    assert response.headers["cache-control"] == "no-store"
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.headers["cache-control"] == "no-store"
    assert me.json()["subject"] == "anna" and me.json()["clearance"] == "personal"
    assert me.json()["roles"] == ["analyst", "public"]
    assert abs(me.json()["expires_at"] - time.time() - 3600) < 10
    anonymous = client.get("/v1/auth/me").json()
    assert anonymous["subject"] == "anonymous" and anonymous["clearance"] == "open"


def test_bad_credentials_are_one_401(app: FastAPI, client: TestClient) -> None:
    add_user(app, "bert", "resident")
    wrong = problem(login(client, "bert", "not the password"), 401)
    unknown = problem(login(client, "nobody-here"), 401)
    assert wrong["detail"] == unknown["detail"] == "wrong user name or password"
    missing_grant = client.post("/v1/auth/token", data={"username": "bert", "password": PASSWORD})
    problem(missing_grant, 400)
    form_of_another_grant = {"grant_type": "client_credentials", "username": "bert", "password": PASSWORD}
    problem(client.post("/v1/auth/token", data=form_of_another_grant), 400)


def test_the_docs_login_form_works_with_its_basic_client_header(app: FastAPI, client: TestClient) -> None:
    """Swagger UI sends ``Authorization: Basic`` (empty client id and secret) with the password form."""
    add_user(app, "docs.user", "resident")
    response = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "docs.user", "password": PASSWORD},
        headers={"Authorization": "Basic Og=="},
    )
    assert response.status_code == 200, response.text
    schemes = client.get("/v1/openapi.json").json()["components"]["securitySchemes"]
    flow = next(iter(schemes.values()))
    assert flow["type"] == "oauth2" and flow["flows"]["password"]["tokenUrl"] == "/v1/auth/token"


def test_expired_forged_and_revoked_tokens_get_401(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    add_user(app, "carla", "analyst")
    headers = token_of(client, "carla")
    identity = app.state.governance.identity
    expired = identity.tokens.issue("carla", [Role.ANALYST], ttl_s=-5).token
    assert (
        "expired"
        in problem(client.get("/v1/auth/me", headers={"Authorization": f"Bearer {expired}"}), 401)["detail"]
    )
    header, payload, signature = headers["Authorization"].removeprefix("Bearer ").split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    edited = jwt.utils.base64url_encode(json.dumps({**claims, "roles": ["admin"]}).encode()).decode()
    forged = {
        "edited": f"{header}.{edited}.{signature}",
        "none": jwt.encode({**claims, "roles": ["admin"]}, key=None, algorithm="none"),
        "other key": jwt.encode({**claims, "roles": ["admin"]}, "x" * 32, algorithm="HS256"),
    }
    for token in forged.values():
        response = client.get("/v1/users", headers={"Authorization": f"Bearer {token}"})
        problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    assert client.post("/v1/auth/revoke", headers=headers).status_code == 204
    assert "revoked" in problem(client.get("/v1/auth/me", headers=headers), 401)["detail"]
    problem(client.post("/v1/auth/revoke"), 401)  # the public has no token to revoke


def test_disabled_user_and_role_change_end_old_tokens(
    app: FastAPI, client: TestClient, admin: dict[str, str]
) -> None:
    add_user(app, "dirk", "analyst")
    old = token_of(client, "dirk")
    changed = client.patch("/v1/users/dirk", json={"roles": ["resident"]}, headers=admin)
    assert changed.status_code == 200 and changed.json()["roles"] == ["resident"]
    problem(client.get("/v1/auth/me", headers=old), 401)
    new = token_of(client, "dirk")
    assert client.get("/v1/auth/me", headers=new).json()["roles"] == ["public", "resident"]

    revoked = client.post("/v1/users/dirk/revoke-tokens", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["tokens_not_before"] > time.time() - 10
    problem(client.get("/v1/auth/me", headers=new), 401)

    latest = token_of(client, "dirk")
    disabled = client.patch("/v1/users/dirk", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    problem(client.get("/v1/auth/me", headers=latest), 401)
    assert problem(login(client, "dirk"), 401)["detail"] == "wrong user name or password"

    audit = app.state.governance.audit
    changes = [e for e in audit.entries(limit=1000, action="roles-changed") if e["target"] == "user:dirk"]
    assert changes[-1]["actor"] == "beheer"
    assert changes[-1]["details"] == {"old": ["analyst"], "new": ["resident"]}
    assert any(e["target"] == "user:dirk" for e in audit.entries(limit=1000, action="user-disabled"))


def test_throttling_refuses_the_right_password_with_retry_after(app: FastAPI, client: TestClient) -> None:
    add_user(app, "eva", "resident")
    for _ in range(5):
        problem(login(client, "eva", "guess-guess-guess"), 401)
    refused = login(client, "eva")
    body = problem(refused, 429)
    assert 0 < int(refused.headers["retry-after"]) <= 600 and "try again" in body["detail"]
    # another client address is not blocked by these failures (decided: per address and user name)
    with TestClient(app, client=("203.0.113.20", 40000)) as elsewhere:
        assert login(elsewhere, "eva").status_code == 200

    audit = app.state.governance.audit
    failed = [e for e in audit.entries(limit=1000, action="login-failed") if e["actor"] == "eva"]
    assert len(failed) == 5 and failed[0]["details"]["client"] == "198.51.100.10"
    throttled = [e for e in audit.entries(limit=1000, action="login-throttled") if e["actor"] == "eva"]
    assert len(throttled) == 1 and throttled[0]["outcome"] == "denied"
    logins = [e for e in audit.entries(limit=1000, action="login") if e["actor"] == "eva"]
    assert [e["details"]["client"] for e in logins] == ["203.0.113.20"]


def test_admin_manages_users_and_never_sees_hashes(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post(
        "/v1/users", json={"username": "fleur.b", "password": PASSWORD, "roles": ["ethics"]}, headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith("/v1/users/fleur.b")
    assert created.json()["roles"] == ["ethics"] and "password_hash" not in created.json()
    listing = client.get("/v1/users", headers=admin)
    assert "fleur.b" in [u["username"] for u in listing.json()["users"]]
    assert "argon2" not in listing.text and PASSWORD not in listing.text
    assert client.get("/v1/users/fleur.b", headers=admin).json()["username"] == "fleur.b"
    assert token_of(client, "fleur.b")

    problem(client.post("/v1/users", json={"username": "fleur.b", "password": PASSWORD}, headers=admin), 409)
    short = client.post("/v1/users", json={"username": "gijs", "password": "kort-7"}, headers=admin)
    assert "at least 12" in problem(short, 400)["detail"] and "kort-7" not in short.text
    bad_name = client.post("/v1/users", json={"username": "Gijs!", "password": PASSWORD}, headers=admin)
    problem(bad_name, 400)
    bad_role = client.post(
        "/v1/users", json={"username": "gijs", "password": PASSWORD, "roles": ["root"]}, headers=admin
    )
    assert PASSWORD not in problem(bad_role, 400)["detail"]
    problem(client.get("/v1/users/nobody-here", headers=admin), 404)
    problem(client.get("/v1/users/x'%20OR%20'1'='1", headers=admin), 400)
    problem(client.get("/v1/users/..%2F..%2Fsecrets", headers=admin), 404)  # no route: '/' splits it
    problem(client.patch("/v1/users/fleur.b", json={}, headers=admin), 400)
    problem(client.patch("/v1/users/fleur.b", json={"roles": ["admin"], "extra": 1}, headers=admin), 400)


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_admin_endpoints_refuse_every_other_role(client: TestClient, settings: Settings, role: str) -> None:
    headers = bearer(settings, *([] if role == "public" else [role]))
    requests = [
        ("GET", "/v1/users", None),
        ("POST", "/v1/users", {"username": "intruder", "password": PASSWORD, "roles": ["admin"]}),
        ("GET", "/v1/users/beheer", None),
        ("PATCH", "/v1/users/beheer", {"disabled": True}),
        ("POST", "/v1/users/beheer/revoke-tokens", None),
    ]
    for method, path, body in requests:
        problem(client.request(method, path, json=body, headers=headers), 403)
        problem(client.request(method, path, json=body), 401)


@pytest.mark.parametrize("role", ["resident", "analyst", "data_owner", "ethics"])
def test_no_user_can_give_themselves_admin(app: FastAPI, client: TestClient, role: str) -> None:
    name = f"climber-{role.replace('_', '-')}"
    add_user(app, name, role)
    headers = token_of(client, name)
    problem(client.patch(f"/v1/users/{name}", json={"roles": [role, "admin"]}, headers=headers), 403)
    problem(
        client.post(
            "/v1/users",
            json={"username": f"{name}-2", "password": PASSWORD, "roles": ["admin"]},
            headers=headers,
        ),
        403,
    )
    assert app.state.governance.identity.user(name).roles == {Role(role)}
    denied = [
        e
        for e in app.state.governance.audit.entries(limit=1000, action="access-denied")
        if e["actor"] == name
    ]
    assert len(denied) == 2


def test_the_last_enabled_admin_cannot_be_demoted(tmp_path: Path) -> None:
    settings = load_settings(store_url=f"duckdb://{tmp_path / 'empty.duckdb'}", data_dir=tmp_path)
    app = create_app(settings)
    add_user(app, "enige.beheerder", "admin")
    with TestClient(app) as client:
        headers = token_of(client, "enige.beheerder")
        problem(client.patch("/v1/users/enige.beheerder", json={"roles": ["analyst"]}, headers=headers), 409)
        problem(client.patch("/v1/users/enige.beheerder", json={"disabled": True}, headers=headers), 409)
        add_user(app, "tweede.beheerder", "admin")
        demoted = client.patch("/v1/users/enige.beheerder", json={"roles": ["analyst"]}, headers=headers)
        assert demoted.status_code == 200
        problem(client.get("/v1/users", headers=headers), 401)  # the admin token ended with the role


def write_jwks(path: Path, key: rsa.RSAPrivateKey) -> Path:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    return path


def test_oidc_tokens_over_http(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = "https://login.example.org/realms/dordrecht"
    settings = load_settings(
        store_url=f"duckdb://{tmp_path / 'empty.duckdb'}",
        data_dir=tmp_path,
        oidc_issuer=issuer,
        oidc_audience="tweeling",
        oidc_jwks=str(write_jwks(tmp_path / "jwks.json", key)),
        oidc_roles_claim="groups",
        oidc_role_map={"ict-beheer": "admin"},
    )
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": "tweeling",
        "sub": "u-1",
        "preferred_username": "jan",
        "iat": now,
        "exp": now + 300,
    }

    def token(**extra: object) -> dict[str, str]:
        signed = jwt.encode({**claims, **extra}, key, algorithm="RS256", headers={"kid": "k1"})
        return {"Authorization": f"Bearer {signed}"}

    with TestClient(create_app(settings)) as client:
        me = client.get("/v1/auth/me", headers=token(groups=["ict-beheer", "onbekend"]))
        assert me.status_code == 200, me.text
        assert me.json()["subject"] == "jan" and me.json()["roles"] == ["admin", "public"]
        assert me.json()["issuer"] == issuer
        assert client.get("/v1/users", headers=token(groups=["ict-beheer"])).status_code == 200
        problem(client.get("/v1/users", headers=token(groups=["analyst"])), 403)
        problem(client.get("/v1/auth/me", headers=token(aud="other-client")), 401)
        problem(client.get("/v1/auth/me", headers=token(exp=now - 600, iat=now - 900)), 401)
        problem(client.get("/v1/auth/me", headers=token(iss="https://login.example.org/realms/other")), 401)
