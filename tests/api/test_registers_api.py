"""The register routes: algorithm register (JSON, readable Dutch HTML, validated export, schema,
status changes by administrators only) and the sensor register (public and full view)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.scenarios.registry import BUILTIN_MODELS
from tweeling.sensors.demo import read_demo_things
from tweeling.services.settings import Settings, load_settings

PENDING_THING: dict[str, Any] = {
    "name": "Wifi counter Voorstraat",
    "description": "Counts phones passing by their wifi probe requests (hashed MAC addresses).",
    "properties": {
        "kind": "crowd",
        "register": {
            "purpose": "Crowd monitoring in the shopping street",
            "owner": "Gemeente Dordrecht",
            "personal_data": True,
            "personal_data_kinds": ["wifi MAC hashes"],
            "legal_basis": "Gemeentewet art. 160 / AVG art. 6(1)(e)",
            "retention_days": 1826,
            "retention": "Counts 5 years; hashes discarded after 15 minutes",
            "status": "pending-review",
        },
    },
}
UNREGISTERED_THING: dict[str, Any] = {"name": "Old rain gauge", "description": "Tipping-bucket rain gauge."}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("registers")
    return load_settings(
        store_url=f"duckdb://{folder / 'city.duckdb'}",
        sensors_store_url=f"duckdb://{folder / 'sensors.duckdb'}",
        data_dir=folder,
    )


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        hub = test_client.app.state.sensors  # type: ignore[attr-defined]
        for thing in [*read_demo_things(), PENDING_THING, UNREGISTERED_THING]:
            hub.create("Things", thing)
        yield test_client


def test_algorithm_list_has_every_builtin_model(client: TestClient) -> None:
    response = client.get("/v1/algorithms")
    assert response.status_code == 200
    rows = response.json()
    assert [row["id"] for row in rows] == list(BUILTIN_MODELS)
    traffic = rows[0]
    assert traffic["name"] == "Verkeersmodel auto (Tweeling)"
    assert traffic["status"] == "In ontwikkeling" and traffic["category"] == "Overige algoritmes"
    assert traffic["complete"] is True
    assert traffic["link"] == "http://testserver/v1/algorithms/traffic"
    page = client.get("/v1/algorithms?f=html")
    assert page.headers["content-type"].startswith("text/html")
    assert "Verkeersmodel auto (Tweeling)" in page.text and 'lang="nl"' in page.text


def test_export_validates_against_the_served_schema(client: TestClient) -> None:
    export = client.get("/v1/algorithms/export")
    assert export.status_code == 200 and export.headers["content-type"] == "application/json"
    schema = client.get("/v1/algorithms/schema")
    assert schema.status_code == 200 and schema.headers["content-type"] == "application/schema+json"
    Draft202012Validator(schema.json(), format_checker=FormatChecker()).validate(export.json())
    assert [entry["source_id"] for entry in export.json()] == list(BUILTIN_MODELS)


def test_one_algorithm_as_json(client: TestClient) -> None:
    document = client.get("/v1/algorithms/heat_pet").json()
    assert document["id"] == "heat_pet" and document["source"] == "impact-model"
    assert document["entry"]["name"] == "Hittestress (gevoelstemperatuur PET) op een hete zomermiddag"
    assert document["problems"] == [] and document["complete"] is True
    rels = {link["rel"]: link["href"] for link in document["links"]}
    assert rels["related"] == "http://testserver/v1/models/heat_pet"
    assert client.get("/v1/algorithms/flood").status_code == 404


def test_one_algorithm_as_a_readable_dutch_page(client: TestClient) -> None:
    for response in (
        client.get("/v1/algorithms/care?f=html"),
        client.get("/v1/algorithms/care", headers={"Accept": "text/html,application/xhtml+xml"}),
    ):
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        page = response.text
        assert "Tweeling zorgvraag en zorgaanbod in de buurt" in page
        for heading in (
            "Wat doet het?",
            "Waarom?",
            "Hoe werkt het?",
            "Menselijke tussenkomst",
            "Risico&#x27;s en hoe we ermee omgaan",
            "Welke data?",
            "Status en geschiedenis",
        ):
            assert f"<h2>{heading}</h2>" in page, heading
        assert "two-step floating catchment" in page
        assert "Wet maatschappelijke ondersteuning 2015" in page


def test_status_change_needs_an_administrator(client: TestClient, settings: Settings) -> None:
    body = {"status": "In gebruik", "review_id": "rev-1"}
    anonymous = client.put("/v1/algorithms/traffic/status", json=body)
    assert anonymous.status_code == 401
    for role in ("analyst", "ethics", "data_owner", "resident"):
        denied = client.put("/v1/algorithms/traffic/status", json=body, headers=bearer(settings, role))
        assert denied.status_code == 403, role
        assert denied.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/algorithms/traffic").json()["status"] == "In ontwikkeling"


def test_in_use_without_an_approved_review_is_a_conflict(client: TestClient, settings: Settings) -> None:
    admin = bearer(settings, "admin", subject="beheerder")
    missing = client.put("/v1/algorithms/traffic/status", json={"status": "In gebruik"}, headers=admin)
    assert missing.status_code == 409
    assert "approved ethics review" in missing.json()["detail"]
    unapproved = client.put(
        "/v1/algorithms/traffic/status", json={"status": "In gebruik", "review_id": "rev-404"}, headers=admin
    )
    assert unapproved.status_code == 409
    wrong = client.put("/v1/algorithms/traffic/status", json={"status": "Klaar"}, headers=admin)
    assert wrong.status_code == 400


def test_in_use_with_an_approved_review(client: TestClient, settings: Settings) -> None:
    governance = client.app.state.governance  # type: ignore[attr-defined]
    approved = {("rev-31", "model-in-use", "liveability")}
    governance.algorithms.approved_review = lambda review_id, kind, subject: (
        (review_id, kind, subject) in approved
    )
    admin = bearer(settings, "admin", subject="beheerder")
    response = client.put(
        "/v1/algorithms/liveability/status",
        json={"status": "In gebruik", "review_id": "rev-31"},
        headers=admin,
    )
    assert response.status_code == 200
    document = response.json()
    assert document["status"] == "In gebruik" and document["entry"]["status"] == "In gebruik"
    (change,) = document["status_history"]
    assert change["by"] == ["admin"] and change["review_id"] == "rev-31"
    assert "beheerder" not in response.text  # the public history names the role, not the person
    rows = {row["id"]: row["status"] for row in client.get("/v1/algorithms").json()}
    assert rows["liveability"] == "In gebruik" and rows["traffic"] == "In ontwikkeling"
    page = client.get("/v1/algorithms/liveability?f=html").text
    assert "rev-31" in page
    logged = governance.audit.entries(action="algorithm-status", limit=1000)
    assert any(e["target"] == "algorithm liveability" and e["outcome"] == "ok" for e in logged)
    assert any(e["target"] == "algorithm traffic" and e["outcome"] == "refused" for e in logged)


def _by_name(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in entries}


def test_public_sensor_register(client: TestClient) -> None:
    response = client.get("/v1/registers/sensors")
    assert response.status_code == 200
    entries = _by_name(response.json())
    assert "Wifi counter Voorstraat" not in entries  # pending review: not public
    station = entries["Dordrecht-Bamendaweg"]
    assert station["owner"] == "RIVM (Landelijk Meetnet Luchtkwaliteit)"
    assert station["personal_data"] is False and station["problems"] == []
    assert entries["Ridderkerk-Hogeweg"]["owner"].startswith("DCMR")
    crowd = entries["People counter Visstraat"]
    assert crowd["personal_data"] is True
    assert crowd["legal_basis"] == "Gemeentewet art. 160 / AVG art. 6(1)(e)"
    assert crowd["retention_days"] == 1826 and "camera" in crowd["personal_data_kinds"][0]
    assert entries["Noise meter Rondweg N3"]["personal_data"] is False
    assert entries["Weather station Stadhuis"]["personal_data"] is False
    assert entries["Old rain gauge"]["problems"] == ["register entry missing"]
    assert "status" not in crowd and "description" not in crowd
    assert len(entries) == 24 + 1


def test_full_sensor_register_for_cleared_roles(client: TestClient, settings: Settings) -> None:
    entries = _by_name(client.get("/v1/registers/sensors", headers=bearer(settings, "analyst")).json())
    pending = entries["Wifi counter Voorstraat"]
    assert pending["status"] == "pending-review" and pending["personal_data_kinds"] == ["wifi MAC hashes"]
    assert entries["People counter Visstraat"]["status"] == "public"
    page = client.get("/v1/registers/sensors?f=html", headers=bearer(settings, "ethics")).text
    assert "Wifi counter Voorstraat" in page and "pending-review" in page
    public_page = client.get("/v1/registers/sensors?f=html").text
    assert "People counter Visstraat" in public_page and "Wifi counter Voorstraat" not in public_page
    assert "register entry missing" in public_page
