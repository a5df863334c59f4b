"""The HTTP shell: landing page, health, OpenAPI, problem+json, API-Version header."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tweeling.api.app import create_app
from tweeling.services.settings import load_settings


@pytest.fixture(scope="module")
def client(demo_store_url: str) -> Iterator[TestClient]:
    """A client whose app closes its read-only store connection afterwards (lifespan)."""
    with TestClient(create_app(load_settings(store_url=demo_store_url))) as test_client:
        yield test_client


def test_landing_page_links_and_version_header(client: TestClient) -> None:
    response = client.get("/v1")
    assert response.status_code == 200
    assert response.headers["API-Version"] == "1.0.0"
    rels = {link["rel"]: link["href"] for link in response.json()["links"]}
    assert rels["service-desc"].endswith("/v1/openapi.json")
    assert rels["status"].endswith("/v1/health")


def test_root_redirects_to_the_viewer(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/viewer/"


def test_health_reports_store_and_demo_size(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/health+json")
    body = response.json()
    assert body["status"] == "pass" and body["store"] == "duckdb"
    assert body["layers"] == 11
    assert body["features"] > 65_796 + 130


def test_openapi_has_contact(client: TestClient) -> None:
    spec = client.get("/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["contact"]["name"]


def test_unknown_path_is_problem_json(client: TestClient) -> None:
    response = client.get("/v1/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404 and response.json()["title"] == "Not found"


def test_health_fails_cleanly_without_store(tmp_path: Path) -> None:
    app = create_app(load_settings(store_url=f"duckdb://{tmp_path / 'absent.duckdb'}"))
    response = TestClient(app).get("/v1/health")
    assert response.status_code == 503
    assert response.json()["status"] == "fail" and "tweeling demo" in response.json()["detail"]
