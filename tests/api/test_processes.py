"""OGC API – Processes: scenario runs (sync and async jobs), stored scenarios, the model catalogue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.services.settings import load_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("processes")


@pytest.fixture(scope="module")
def client(demo_store_url: str, data_dir: Path) -> Iterator[TestClient]:
    settings = load_settings(store_url=demo_store_url, data_dir=data_dir)
    with TestClient(create_app(settings), headers=bearer(settings, "analyst")) as test_client:
        yield test_client


def example(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name).read_text())


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def test_process_list_and_description(client: TestClient) -> None:
    listing = client.get("/v1/processes").json()
    assert [p["id"] for p in listing["processes"]] == ["run-scenario"]
    description = client.get("/v1/processes/run-scenario").json()
    assert set(description["inputs"]) == {"scenario", "scenario_id", "version"}
    schema = description["inputs"]["scenario"]["schema"]
    assert "interventions" in schema["properties"]
    assert "async-execute" in description["jobControlOptions"]
    conformance = client.get("/v1/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core" in conformance
    problem(client.get("/v1/processes/nope"), 404)


def test_sync_execution_returns_the_comparison(client: TestClient) -> None:
    response = client.post(
        "/v1/processes/run-scenario/execution",
        json={"inputs": {"scenario": example("e-greening-statenplein.yaml")}},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    rows = {row["indicator"]: row for row in result["comparison"]["city"]}
    heat = [row for row in rows.values() if row["domain"] == "heat"]
    assert heat and any(row["difference"] < 0 for row in heat), "greening a square lowers heat stress"
    assert rows[next(iter(rows))]["baseline"] is not None
    assert "heat_pet" in result["comparison"]["recomputed"]
    assert "traffic" not in result["comparison"]["recomputed"]
    assert "Greening Statenplein" in result["summary"]


def test_async_job_lifecycle_and_result_files(client: TestClient) -> None:
    response = client.post(
        "/v1/processes/run-scenario/execution",
        json={"inputs": {"scenario": example("e-greening-statenplein.yaml")}},
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert response.headers["Location"].endswith(f"/v1/jobs/{job['jobID']}")
    assert job["status"] in ("accepted", "running", "successful")
    deadline = time.monotonic() + 240
    while job["status"] not in ("successful", "failed"):
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.5)
        job = client.get(f"/v1/jobs/{job['jobID']}").json()
    assert job["status"] == "successful", job
    results = client.get(f"/v1/jobs/{job['jobID']}/results").json()
    assert results["comparison"]["effects"]["rows"]
    buurten = client.get(f"/v1/jobs/{job['jobID']}/files/buurten.geojson")
    assert buurten.status_code == 200
    assert len(buurten.json()["features"]) == 130
    assert job["jobID"] in [j["jobID"] for j in client.get("/v1/jobs").json()["jobs"]]
    problem(client.get(f"/v1/jobs/{job['jobID']}/files/..%2Fresult.json"), 404)
    dismissed = client.delete(f"/v1/jobs/{job['jobID']}").json()
    assert dismissed["status"] == "dismissed"
    problem(client.get(f"/v1/jobs/{job['jobID']}/results"), 404)


def test_failed_job_says_why(client: TestClient) -> None:
    scenario = example("a-spoorzone-housing.yaml")
    scenario["crs"] = "EPSG:4326"  # RD coordinates read as lon/lat: outside the municipality
    response = client.post(
        "/v1/processes/run-scenario/execution",
        json={"inputs": {"scenario": scenario}},
        headers={"Prefer": "respond-async"},
    )
    job_id = response.json()["jobID"]
    deadline = time.monotonic() + 60
    while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] not in ("successful", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["status"] == "failed"
    assert "outside the municipality" in job["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"inputs": {}}', "inputs need scenario"),
        (
            b'{"inputs": {"scenario": {"name": "x", "interventions": '
            b'[{"type": "facility", "action": "add"}]}}}',
            "facility_type and location",
        ),
    ],
)
def test_bad_execution_requests_are_400(client: TestClient, body: bytes, words: str) -> None:
    response = client.post(
        "/v1/processes/run-scenario/execution", content=body, headers={"Content-Type": "application/json"}
    )
    assert words in problem(response, 400)["detail"]


def test_intervention_errors_name_the_field(client: TestClient) -> None:
    scenario = {
        "name": "bad",
        "crs": "EPSG:28992",
        "interventions": [{"type": "traffic_measure", "measure": "close_roads", "roads": [424242424]}],
    }
    body = problem(
        client.post("/v1/processes/run-scenario/execution", json={"inputs": {"scenario": scenario}}), 400
    )
    assert body["invalid-params"][0]["name"] == "interventions[0].roads"


def test_stored_scenarios_are_versioned_copied_and_compared(client: TestClient) -> None:
    created = client.post("/v1/scenarios", json=example("e-greening-statenplein.yaml"))
    assert created.status_code == 201, created.text
    stored = created.json()
    scenario_id = stored["id"]
    assert stored["version"] == 1 and stored["author"] == "test-analyst", "the author is who stored it"
    assert stored["scenario"]["author"] == "Tweeling examples"
    changed = {**stored["scenario"], "description": "second version"}
    second = client.put(f"/v1/scenarios/{scenario_id}", json=changed).json()
    assert second["version"] == 2 and second["created"] == stored["created"]
    assert client.get(f"/v1/scenarios/{scenario_id}/versions").json()["versions"] == [1, 2]
    assert (
        client.get(f"/v1/scenarios/{scenario_id}", params={"version": 1}).json()["scenario"]["description"]
        != "second version"
    )
    copied = client.post(f"/v1/scenarios/{scenario_id}/copy", params={"name": "Statenplein variant"})
    assert copied.status_code == 201
    copy_id = copied.json()["id"]
    assert copy_id != scenario_id
    ids = [item["id"] for item in client.get("/v1/scenarios").json()["scenarios"]]
    assert {scenario_id, copy_id} <= set(ids)
    comparison = client.get("/v1/scenarios/compare", params={"first": scenario_id, "second": copy_id}).json()
    assert all(abs(row["second_minus_first"]) < 1e-9 for row in comparison["indicators"])
    run = client.post("/v1/processes/run-scenario/execution", json={"inputs": {"scenario_id": copy_id}})
    assert run.status_code == 200
    assert client.delete(f"/v1/scenarios/{copy_id}").status_code == 204
    problem(client.get(f"/v1/scenarios/{copy_id}"), 404)


def test_a_rejected_new_version_leaves_the_stored_scenario_intact(client: TestClient) -> None:
    stored = client.post("/v1/scenarios", json=example("b-ageing-10-years.yaml")).json()
    broken = {**stored["scenario"], "interventions": [{"type": "time_horizon", "years": -3}]}
    problem(client.put(f"/v1/scenarios/{stored['id']}", json=broken), 400)
    assert client.get(f"/v1/scenarios/{stored['id']}/versions").json()["versions"] == [1]
    assert client.get(f"/v1/scenarios/{stored['id']}").json()["scenario"] == stored["scenario"]
    problem(client.put("/v1/scenarios/not-there", json=stored["scenario"]), 404)
    problem(client.get("/v1/scenarios/Bad%20Id"), 400)


def test_model_catalogue_has_register_entries(client: TestClient) -> None:
    models = client.get("/v1/models").json()
    ids = {model["id"] for model in models["models"]}
    assert {
        "traffic",
        "air_no2",
        "noise_road",
        "heat_pet",
        "proximity",
        "demography",
        "care",
        "liveability",
    } <= ids
    assert models["unavailable"] == {}
    for model in models["models"]:
        register = model["algorithm_register"]
        assert register["language"] == "nld" and register["schema"] == "1.0.0"
        for required in (
            "name",
            "description_short",
            "organization",
            "theme",
            "status",
            "contact",
            "purpose_and_impact",
            "considerations",
            "human_intervention",
            "risk_management",
            "impact_assessments",
            "data",
            "technical_operation",
            "supplier",
        ):
            assert register[required], (model["id"], required)
        assert len(register["name"]) < 100 and len(register["description_short"]) < 350
        for parameter in model["parameters"]:
            assert parameter["source"], (
                model["id"],
                parameter["name"],
                "every default cites a source or says assumed",
            )
            assert parameter["unit"] is not None
        for indicator in model["indicators"]:
            assert indicator["unit"], (model["id"], indicator["id"])
    problem(client.get("/v1/models/unknown"), 404)
