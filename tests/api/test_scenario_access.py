"""Who sees, changes and runs which stored scenarios and jobs: owners, residents, analysts,
administrators, the ethics committee and the public; and the audit of scenario runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.services.settings import Settings, load_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def settings(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(store_url=demo_store_url, data_dir=tmp_path_factory.mktemp("scenario-access"))


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return document


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def listed(client: TestClient, headers: dict[str, str] | None = None) -> set[str]:
    return {item["id"] for item in client.get("/v1/scenarios", headers=headers).json()["scenarios"]}


def test_scenarios_are_private_to_their_author_until_published(
    client: TestClient, settings: Settings
) -> None:
    alice = bearer(settings, "resident", subject="alice")
    bob = bearer(settings, "resident", subject="bob")
    ann = bearer(settings, "analyst", subject="ann")
    admin = bearer(settings, "admin", subject="root")
    spoofed = {**example("b-ageing-10-years.yaml"), "author": "bob"}
    mine = client.post("/v1/scenarios", json=spoofed, headers=alice).json()
    assert mine["author"] == "alice", "the owner comes from the token, not the body"
    theirs = client.post("/v1/scenarios", json=example("c-car-free-centre.yaml"), headers=ann).json()

    assert not {mine["id"], theirs["id"]} & listed(client)
    assert mine["id"] in listed(client, alice) and theirs["id"] not in listed(client, alice)
    assert not {mine["id"], theirs["id"]} & listed(client, bob)
    assert {mine["id"], theirs["id"]} <= listed(client, ann)
    assert {mine["id"], theirs["id"]} <= listed(client, bearer(settings, "ethics"))

    # a scenario one may not see does not exist for them
    for response in (
        client.get(f"/v1/scenarios/{mine['id']}", headers=bob),
        client.get(f"/v1/scenarios/{mine['id']}/versions", headers=bob),
        client.put(f"/v1/scenarios/{mine['id']}", json=mine["scenario"], headers=bob),
        client.delete(f"/v1/scenarios/{mine['id']}", headers=bob),
        client.post(f"/v1/scenarios/{mine['id']}/copy", headers=bob),
        client.get(f"/v1/scenarios/{theirs['id']}", headers=alice),
    ):
        problem(response, 404)

    # analysts read every scenario but change only their own; administrators change any
    assert client.get(f"/v1/scenarios/{mine['id']}", headers=ann).json()["author"] == "alice"
    denied = problem(client.put(f"/v1/scenarios/{mine['id']}", json=mine["scenario"], headers=ann), 403)
    assert "copy it" in denied["detail"]
    problem(client.delete(f"/v1/scenarios/{mine['id']}", headers=ann), 403)
    by_admin = client.put(f"/v1/scenarios/{mine['id']}", json=mine["scenario"], headers=admin).json()
    assert by_admin["version"] == 2 and by_admin["author"] == "alice", "an edit does not change the owner"
    copy = client.post(f"/v1/scenarios/{mine['id']}/copy", headers=ann).json()
    assert copy["author"] == "ann"

    # roles without RUN_MODEL keep no scenarios
    problem(client.post("/v1/scenarios", json=example("b-ageing-10-years.yaml")), 401)
    problem(
        client.post(
            "/v1/scenarios", json=example("b-ageing-10-years.yaml"), headers=bearer(settings, "ethics")
        ),
        403,
    )
    problem(client.get("/v1/scenarios/compare", params={"first": mine["id"], "second": copy["id"]}), 404)

    assert client.delete(f"/v1/scenarios/{mine['id']}", headers=alice).status_code == 204
    problem(client.get(f"/v1/scenarios/{mine['id']}", headers=ann), 404)


def test_jobs_are_seen_by_their_owner_the_public_when_published_and_staff(
    client: TestClient, settings: Settings
) -> None:
    alice = bearer(settings, "resident", subject="alice")
    bob = bearer(settings, "resident", subject="bob")
    ann = bearer(settings, "analyst", subject="ann")
    stored = client.post("/v1/scenarios", json=example("e-greening-statenplein.yaml"), headers=ann).json()
    problem(
        client.post(
            "/v1/processes/run-scenario/execution",
            json={"inputs": {"scenario_id": stored["id"]}},
            headers=alice,
        ),
        404,
    )
    run = client.post(
        "/v1/processes/run-scenario/execution",
        json={"inputs": {"scenario": example("e-greening-statenplein.yaml")}},
        headers=alice,
    )
    assert run.status_code == 200, run.text
    job_id = run.json()["jobID"]

    assert client.get(f"/v1/jobs/{job_id}", headers=alice).json()["owner"] == "alice"
    assert client.get(f"/v1/jobs/{job_id}", headers=ann).json()["public"] is False
    for headers in (None, bob):
        problem(client.get(f"/v1/jobs/{job_id}", headers=headers), 404)
        problem(client.get(f"/v1/jobs/{job_id}/results", headers=headers), 404)
        problem(client.get(f"/v1/jobs/{job_id}/layers/buurt.arrow", headers=headers), 404)
        assert job_id not in [job["jobID"] for job in client.get("/v1/jobs", headers=headers).json()["jobs"]]
    assert client.get(f"/v1/jobs/{job_id}/layers/buurt.arrow", headers=alice).status_code == 200
    assert job_id in [job["jobID"] for job in client.get("/v1/jobs", headers=ann).json()["jobs"]]
    assert client.get(f"/v1/jobs/{job_id}/results", headers=bearer(settings, "ethics")).status_code == 200

    problem(client.delete(f"/v1/jobs/{job_id}", headers=bob), 404)
    problem(client.delete(f"/v1/jobs/{job_id}", headers=ann), 403)
    assert client.delete(f"/v1/jobs/{job_id}", headers=alice).json()["status"] == "dismissed"

    audit = client.app.state.governance.audit  # type: ignore[attr-defined]
    runs = [entry for entry in audit.entries(limit=1000, action="scenario-run") if entry["actor"] == "alice"]
    assert len(runs) == 1, "one entry per run, listing the models it ran"
    details = runs[0]["details"]
    assert "resident" in runs[0]["roles"] and runs[0]["target"] == "process run-scenario"
    assert details["scenario"] == "Greening Statenplein" and details["job_id"] == job_id
    assert (
        details["mode"] == "sync" and "heat_pet" in details["models"] and "heat_pet" in details["recomputed"]
    )
