"""Security headers on every kind of response, and CORS for the configured origins only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.core.errors import ConfigurationError
from tweeling.services.settings import Settings, load_settings

ALLOWED = "https://kaart.dordrecht.nl"
OTHER = "https://evil.example"


@pytest.fixture(scope="module")
def app_settings(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(
        store_url=demo_store_url, data_dir=tmp_path_factory.mktemp("cors"), cors_origins=[ALLOWED]
    )


@pytest.fixture(scope="module")
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as test_client:
        yield test_client


def _has_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1", 200),
        ("/v1/collections/buurten/items?limit=1", 200),
        ("/v1.1/Things", 200),
        ("/v1/nope", 404),
        ("/v1/collections/nope/items", 404),
        ("/v1/collections/buurten/items?filter=1%3D1", 400),
        ("/v1/audit", 401),
        ("/v1/users", 401),
    ],
)
def test_json_responses_carry_the_security_headers(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    _has_security_headers(response)
    assert "script-src 'self';" in response.headers["content-security-policy"]


def test_a_forbidden_response_carries_them(client: TestClient, app_settings: Settings) -> None:
    response = client.get("/v1/audit", headers=bearer(app_settings, "resident"))
    assert response.status_code == 403
    _has_security_headers(response)


def test_a_forged_token_response_carries_them(client: TestClient) -> None:
    response = client.get("/v1/auth/me", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
    _has_security_headers(response)


@pytest.mark.parametrize("path", ["/viewer/", "/viewer/no-such-file.js", "/"])
def test_the_viewer_and_the_redirect_carry_them(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    _has_security_headers(response)


def test_the_api_docs_work_with_their_own_policy(client: TestClient) -> None:
    response = client.get("/v1/docs")
    assert response.status_code == 200 and "swagger-ui" in response.text
    _has_security_headers(response)
    csp = response.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in csp
    assert client.get("/v1").headers["content-security-policy"].count("cdn.jsdelivr.net") == 0


def test_a_preflight_from_an_allowed_origin(client: TestClient) -> None:
    response = client.options(
        "/v1/scenarios",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert response.status_code == 200
    headers = response.headers
    assert headers["access-control-allow-origin"] == ALLOWED
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= {
        method.strip() for method in headers["access-control-allow-methods"].split(",")
    }
    allowed_headers = {name.strip().lower() for name in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "prefer", "idempotency-key"} <= allowed_headers
    assert headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in headers


def test_a_preflight_from_another_origin_gets_no_cors_headers(client: TestClient) -> None:
    """No Access-Control-Allow-Origin, so the browser refuses (the static list of allowed methods
    and headers that Starlette still sends is no secret)."""
    response = client.options(
        "/v1/scenarios",
        headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


def test_a_preflight_asking_for_a_cookie_header_is_refused(client: TestClient) -> None:
    response = client.options(
        "/v1/scenarios",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-Custom",
        },
    )
    assert response.status_code == 400


def test_a_request_from_an_allowed_origin_may_read_the_response(client: TestClient) -> None:
    response = client.get("/v1/collections/buurten/items?limit=1", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    exposed = {name.strip().lower() for name in response.headers["access-control-expose-headers"].split(",")}
    assert {"content-crs", "api-version", "location", "link", "retry-after"} <= exposed
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("origin", [OTHER, "null", None])
@pytest.mark.parametrize(
    "path", ["/v1", "/v1/collections", "/v1/collections/buurten/items?limit=1", "/v1.1/Things", "/v1/nope"]
)
def test_no_wildcard_origin_on_api_responses(client: TestClient, path: str, origin: str | None) -> None:
    response = client.get(path, headers={"Origin": origin} if origin else {})
    assert "access-control-allow-origin" not in response.headers


def test_without_configured_origins_there_is_no_cors(demo_store_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(load_settings(store_url=demo_store_url, data_dir=tmp_path))) as plain:
        response = plain.get("/v1", headers={"Origin": ALLOWED})
        preflight = plain.options(
            "/v1/scenarios", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
        )
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight.headers


def test_production_refuses_a_wildcard_origin(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cors_origins"):
        load_settings(
            environment="production", store_url=f"duckdb://{tmp_path / 'x.duckdb'}", cors_origins=["*"]
        )
