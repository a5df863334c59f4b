"""`GET /v1/audit` and `/v1/audit/verify`: for administrators and the ethics committee only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.services.settings import Settings, load_settings


@pytest.fixture(scope="module")
def settings(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(store_url=demo_store_url, data_dir=tmp_path_factory.mktemp("audit-api"))


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        audit = test_client.app.state.governance.audit  # type: ignore[attr-defined]
        for number in range(1, 6):
            audit.append(
                actor="cli:operator",
                roles=["admin"],
                action="roles-changed" if number % 2 else "user-created",
                target=f"user u{number}",
                details={"roles": ["analyst"]},
            )
        yield test_client


@pytest.mark.parametrize("role", ["admin", "ethics"])
def test_admin_and_ethics_read_the_trail(client: TestClient, settings: Settings, role: str) -> None:
    response = client.get("/v1/audit", params={"limit": 3}, headers=bearer(settings, role))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert [entry["seq"] for entry in body["entries"]] == [1, 2, 3]
    assert body["numberReturned"] == 3
    assert body["entries"][0]["actor"] == "cli:operator" and len(body["entries"][0]["mac"]) == 64
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert links["next"].endswith("/v1/audit?after=3&limit=3")


def test_filter_by_action_and_page(client: TestClient, settings: Settings) -> None:
    headers = bearer(settings, "admin")
    body = client.get("/v1/audit", params={"action": "roles-changed"}, headers=headers).json()
    assert [entry["seq"] for entry in body["entries"]] == [1, 3, 5]
    assert "next" not in {link["rel"] for link in body["links"]}
    page = client.get("/v1/audit", params={"after": 3, "limit": 2}, headers=headers).json()
    assert [entry["seq"] for entry in page["entries"]] == [4, 5]


def test_reading_the_trail_is_itself_audited(client: TestClient, settings: Settings) -> None:
    headers = bearer(settings, "ethics", subject="eva")
    client.get("/v1/audit/verify", headers=headers)
    newest = client.app.state.governance.audit.last(1)[0]  # type: ignore[attr-defined]
    assert newest["actor"] == "eva" and newest["action"] == "data-access"
    assert newest["target"] == "GET /v1/audit/verify"


def test_verify_over_the_api(client: TestClient, settings: Settings) -> None:
    response = client.get("/v1/audit/verify", headers=bearer(settings, "ethics"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["entries"] >= 5
    assert body["first_bad_seq"] is None and body["problem"] is None


@pytest.mark.parametrize("role", ["analyst", "resident", "data_owner"])
@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/verify"])
def test_other_roles_are_forbidden(client: TestClient, settings: Settings, role: str, path: str) -> None:
    response = client.get(path, headers=bearer(settings, role))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/verify"])
def test_anonymous_must_log_in(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 1001}, {"after": -1}, {"action": "login' OR 1=1"}]
)
def test_bad_parameters_are_400(client: TestClient, settings: Settings, params: dict[str, object]) -> None:
    response = client.get("/v1/audit", params=params, headers=bearer(settings, "admin"))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_a_broken_trail_is_reported(demo_store_url: str, tmp_path: Path) -> None:
    settings = load_settings(store_url=demo_store_url, data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        audit = client.app.state.governance.audit  # type: ignore[attr-defined]
        for number in range(3):
            audit.append(actor="a", roles=[], action="login", target=f"#{number}")
        audit.path.write_text(audit.path.read_text().replace("#1", "#9"))
        body = client.get("/v1/audit/verify", headers=bearer(settings, "admin")).json()
    assert body["ok"] is False and body["first_bad_seq"] == 2 and "MAC" in body["problem"]
