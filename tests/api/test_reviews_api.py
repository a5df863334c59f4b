"""The ethics review workflow through the API, per kind: submit, comment, respond, decide; what an
approval does (a public scenario and its public run, a model in use, a registered sensor), what a
rejection does not, who may do which step, and the audit trail of every step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.services.settings import Settings, load_settings
from tweeling.store import open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STA = "/v1.1"

ANSWERS = {
    "purpose": "Show residents what planting trees on the Statenplein does to heat stress in summer.",
    "data": "Buildings, land cover and KNMI weather; residents only as totals per buurt, no personal data.",
    "affected": "Residents and visitors of the city centre; no group is singled out.",
    "risks": "Results read as a promise; the page says they are model estimates with stated limits.",
    "oversight": "An analyst checks the results; the committee can take the publication back.",
}
SENSOR_ANSWERS = {
    **ANSWERS,
    "legal_basis": "AVG art. 6(1)(e): public task, crowd safety on market days.",
    "retention": "MAC addresses are hashed with a daily salt on the device; hashes deleted after 24 hours.",
    "proportionality": "A camera would capture faces; wifi probes give counts with less data.",
}
WIFI_COUNTER: dict[str, Any] = {
    "name": "Wifi counter Voorstraat",
    "description": "Counts passers-by from wifi probe requests",
    "properties": {
        "register": {
            "purpose": "Crowd safety on market days",
            "owner": "Gemeente Dordrecht, Stadsbeheer",
            "personal_data": True,
            "personal_data_kinds": ["hashed MAC addresses of phones"],
            "legal_basis": "AVG art. 6(1)(e)",
            "retention_days": 1,
            "status": "pending-review",
        }
    },
    "Locations": [
        {
            "name": "Voorstraat 200",
            "description": "Shop front",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [4.6676, 51.8143]},
        }
    ],
}


def make_settings(demo_store_url: str, data_dir: Path, quorum: int) -> Settings:
    sensors = f"duckdb://{data_dir / 'sensors.duckdb'}"
    open_store(sensors).close()
    return load_settings(
        store_url=demo_store_url, sensors_store_url=sensors, data_dir=data_dir, review_quorum=quorum
    )


@pytest.fixture(scope="module")
def settings(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(demo_store_url, tmp_path_factory.mktemp("reviews"), 1)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def quorum_two(
    demo_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Settings]]:
    settings = make_settings(demo_store_url, tmp_path_factory.mktemp("reviews-quorum"), 2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client, settings


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return document


def review_body(kind: str, subject: dict[str, Any], answers: dict[str, str] = ANSWERS) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject": subject,
        "title": f"Please review: {kind}",
        "description": "What we ask and why, in plain words.",
        "impact_assessment": answers,
    }


def audit_actions(client: TestClient, target: str) -> list[tuple[str, str, str]]:
    audit = client.app.state.governance.audit  # type: ignore[attr-defined]
    return [
        (e["action"], e["actor"], e["outcome"]) for e in audit.entries(limit=1000) if e["target"] == target
    ]


def test_scenario_publication_from_submission_to_public_results(
    client: TestClient, settings: Settings
) -> None:
    alice = bearer(settings, "resident", subject="alice")
    bob = bearer(settings, "resident", subject="bob")
    eva = bearer(settings, "ethics", subject="eva")
    created = client.post("/v1/scenarios", json=example("e-greening-statenplein.yaml"), headers=alice)
    assert created.status_code == 201, created.text
    scenario_id = created.json()["id"]
    assert created.json()["author"] == "alice"

    # nothing public before approval
    assert scenario_id not in [s["id"] for s in client.get("/v1/scenarios").json()["scenarios"]]
    problem(client.get(f"/v1/scenarios/{scenario_id}"), 404)
    problem(client.get(f"/v1/scenarios/{scenario_id}", headers=bob), 404)

    problem(
        client.post(
            "/v1/reviews", json=review_body("scenario-publication", {"scenario_id": scenario_id}), headers=bob
        ),
        404,
    )
    answers = {**ANSWERS, "oversight": ""}
    bad = problem(
        client.post(
            "/v1/reviews",
            json=review_body("scenario-publication", {"scenario_id": scenario_id}, answers),
            headers=alice,
        ),
        400,
    )
    assert bad["invalid-params"] == [{"name": "impact_assessment.oversight", "reason": "required"}]
    submitted = client.post(
        "/v1/reviews", json=review_body("scenario-publication", {"scenario_id": scenario_id}), headers=alice
    )
    assert submitted.status_code == 201, submitted.text
    review = submitted.json()
    review_id = review["id"]
    assert review["status"] == "submitted" and review["subject"] == {"scenario_id": scenario_id, "version": 1}
    assert review["subject_title"] == "Greening Statenplein" and review["submitter"] == "alice"
    assert submitted.headers["location"].endswith(f"/v1/reviews/{review_id}")
    problem(
        client.post(
            "/v1/reviews",
            json=review_body("scenario-publication", {"scenario_id": scenario_id}),
            headers=alice,
        ),
        409,
    )

    # the public and other residents see nothing of an open review
    problem(client.get(f"/v1/reviews/{review_id}"), 404)
    problem(client.get(f"/v1/reviews/{review_id}", headers=bob), 404)
    assert review_id not in [r["id"] for r in client.get("/v1/reviews").json()["reviews"]]

    commented = client.post(
        f"/v1/reviews/{review_id}/comments", json={"text": "Which trees, and who waters them?"}, headers=eva
    )
    assert commented.status_code == 200, commented.text
    problem(client.post(f"/v1/reviews/{review_id}/comments", json={"text": "Me too"}, headers=alice), 403)
    problem(client.post(f"/v1/reviews/{review_id}/responses", json={"text": "Not mine"}, headers=bob), 403)
    responded = client.post(
        f"/v1/reviews/{review_id}/responses",
        json={"text": "Plane trees; Stadsbeheer waters them."},
        headers=alice,
    )
    assert [e["type"] for e in responded.json()["events"]] == ["submitted", "comment", "response"]
    problem(
        client.post(
            f"/v1/reviews/{review_id}/decisions",
            json={"decision": "approve", "reasoning": "ok"},
            headers=alice,
        ),
        403,
    )
    problem(client.post(f"/v1/reviews/{review_id}/decisions", json={"decision": "approve"}, headers=eva), 400)
    problem(
        client.post(
            f"/v1/reviews/{review_id}/decisions", json={"decision": "maybe", "reasoning": "?"}, headers=eva
        ),
        400,
    )
    assert client.get("/v1/jobs").json()["jobs"] == []

    approved = client.post(
        f"/v1/reviews/{review_id}/decisions",
        json={"decision": "approve", "reasoning": "Clear purpose, no personal data, limits stated."},
        headers=eva,
    )
    assert approved.status_code == 200, approved.text
    decided = approved.json()
    assert decided["status"] == "approved" and decided["effect"]["status"] == "applied"
    job_id = decided["effect"]["job_id"]
    assert job_id

    # now public: the published version, without the owner's account name
    public = {s["id"]: s for s in client.get("/v1/scenarios").json()["scenarios"]}
    assert public[scenario_id]["version"] == 1 and public[scenario_id]["published"] is True
    assert "author" not in public[scenario_id]
    assert client.get(f"/v1/scenarios/{scenario_id}").json()["scenario"]["name"] == "Greening Statenplein"

    # a new version is not public until it is reviewed again
    changed = {**created.json()["scenario"], "description": "With a fountain too"}
    assert client.put(f"/v1/scenarios/{scenario_id}", json=changed, headers=alice).json()["version"] == 2
    assert client.get(f"/v1/scenarios/{scenario_id}").json()["version"] == 1
    assert client.get(f"/v1/scenarios/{scenario_id}", headers=alice).json()["version"] == 2
    problem(client.get(f"/v1/scenarios/{scenario_id}", params={"version": 2}), 404)
    assert client.get(f"/v1/scenarios/{scenario_id}/versions").json()["versions"] == [1]
    problem(client.put(f"/v1/scenarios/{scenario_id}", json=changed, headers=bob), 403)
    problem(client.delete(f"/v1/scenarios/{scenario_id}", headers=bob), 403)
    copied = client.post(f"/v1/scenarios/{scenario_id}/copy", headers=bob)
    assert copied.status_code == 201 and copied.json()["author"] == "bob"
    assert copied.json()["scenario"]["description"] != "With a fountain too", (
        "the copy is of the public version"
    )

    # the public run: visible to everyone, its viewer layers too
    deadline = time.monotonic() + 300
    while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] not in ("successful", "failed"):
        assert time.monotonic() < deadline, "the publication run did not finish"
        time.sleep(0.5)
    assert job["status"] == "successful", job
    assert job["public"] is True and "owner" not in job
    assert [j["jobID"] for j in client.get("/v1/jobs").json()["jobs"]] == [job_id]
    layer = client.get(f"/v1/jobs/{job_id}/layers/buurt.arrow")
    assert layer.status_code == 200 and layer.headers["content-type"] == "application/vnd.apache.arrow.stream"
    problem(client.delete(f"/v1/jobs/{job_id}", headers=alice), 403)

    # the transparency summary: decision and reasoning, no names, no comments
    summary = client.get(f"/v1/reviews/{review_id}").json()
    assert summary["decision"] == "approved" and summary["view"] == "summary"
    assert summary["reasoning"] == [
        {"verdict": "approve", "text": "Clear purpose, no personal data, limits stated."}
    ]
    assert "alice" not in str(summary) and "eva" not in str(summary) and "waters" not in str(summary)
    assert client.get(f"/v1/reviews/{review_id}", headers=alice).json()["view"] == "full"

    assert audit_actions(client, f"review {review_id}") == [
        ("review-submitted", "alice", "ok"),
        ("review-comment", "eva", "ok"),
        ("review-response", "alice", "ok"),
        ("review-decision", "eva", "ok"),
    ]
    # deleting a published scenario takes it and its public run back from the public
    assert client.delete(f"/v1/scenarios/{scenario_id}", headers=alice).status_code == 204
    assert scenario_id not in [s["id"] for s in client.get("/v1/scenarios").json()["scenarios"]]
    problem(client.get(f"/v1/jobs/{job_id}"), 404)
    assert client.get(f"/v1/jobs/{job_id}", headers=alice).json()["public"] is False
    assert audit_actions(client, f"scenario {scenario_id}") == [
        ("scenario-published", "eva", "ok"),
        ("scenario-run", "eva", "ok"),
        ("scenario-published", "alice", "retracted"),
    ]


def test_a_rejected_publication_changes_nothing(client: TestClient, settings: Settings) -> None:
    carol = bearer(settings, "resident", subject="carol")
    eva = bearer(settings, "ethics", subject="eva")
    scenario_id = client.post("/v1/scenarios", json=example("b-ageing-10-years.yaml"), headers=carol).json()[
        "id"
    ]
    review_id = client.post(
        "/v1/reviews", json=review_body("scenario-publication", {"scenario_id": scenario_id}), headers=carol
    ).json()["id"]
    rejected = client.post(
        f"/v1/reviews/{review_id}/decisions",
        json={"decision": "reject", "reasoning": "The description names a care home's residents."},
        headers=eva,
    ).json()
    assert rejected["status"] == "rejected" and rejected["effect"] is None
    problem(client.get(f"/v1/scenarios/{scenario_id}"), 404)
    assert client.get(f"/v1/scenarios/{scenario_id}/versions", headers=carol).json()["published"] == []
    problem(
        client.post(
            f"/v1/reviews/{review_id}/decisions",
            json={"decision": "approve", "reasoning": "Changed my mind"},
            headers=bearer(settings, "ethics", subject="frank"),
        ),
        409,
    )
    problem(client.post(f"/v1/reviews/{review_id}/withdraw", headers=carol), 409)
    public = {r["id"]: r for r in client.get("/v1/reviews").json()["reviews"]}
    assert public[review_id]["decision"] == "rejected"
    assert "scenario-published" not in [a for a, _, _ in audit_actions(client, f"scenario {scenario_id}")]


def test_withdrawn_reviews_stay_private(client: TestClient, settings: Settings) -> None:
    dave = bearer(settings, "resident", subject="dave")
    scenario_id = client.post("/v1/scenarios", json=example("c-car-free-centre.yaml"), headers=dave).json()[
        "id"
    ]
    review_id = client.post(
        "/v1/reviews", json=review_body("scenario-publication", {"scenario_id": scenario_id}), headers=dave
    ).json()["id"]
    problem(
        client.post(
            f"/v1/reviews/{review_id}/withdraw", headers=bearer(settings, "resident", subject="erin")
        ),
        403,
    )
    assert client.post(f"/v1/reviews/{review_id}/withdraw", headers=dave).json()["status"] == "withdrawn"
    problem(client.get(f"/v1/reviews/{review_id}"), 404)
    problem(
        client.post(
            f"/v1/reviews/{review_id}/decisions",
            json={"decision": "approve", "reasoning": "late"},
            headers=bearer(settings, "ethics", subject="eva"),
        ),
        409,
    )


def test_who_may_submit_and_decide(client: TestClient, settings: Settings) -> None:
    resident = bearer(settings, "resident", subject="alice")
    problem(
        client.post(
            "/v1/reviews", json=review_body("model-in-use", {"model_id": "heat_pet"}), headers=resident
        ),
        403,
    )
    problem(
        client.post(
            "/v1/reviews",
            json=review_body("personal-data-sensor", {"thing": WIFI_COUNTER}, SENSOR_ANSWERS),
            headers=resident,
        ),
        403,
    )
    problem(client.post("/v1/reviews", json=review_body("model-in-use", {"model_id": "heat_pet"})), 401)
    problem(
        client.post(
            "/v1/reviews",
            json=review_body("model-in-use", {"model_id": "heat_pet"}),
            headers=bearer(settings, "ethics"),
        ),
        403,
    )
    problem(
        client.post(
            "/v1/reviews",
            json=review_body("model-in-use", {"model_id": "no_such_model"}),
            headers=bearer(settings, "analyst"),
        ),
        404,
    )
    problem(
        client.post(
            "/v1/reviews",
            json=review_body("algorithm", {"model_id": "heat_pet"}),
            headers=bearer(settings, "analyst"),
        ),
        400,
    )
    # an ethics member who also submits may never decide their own review
    both = bearer(settings, "analyst", "ethics", subject="hanna")
    review_id = client.post(
        "/v1/reviews", json=review_body("model-in-use", {"model_id": "noise_road"}), headers=both
    ).json()["id"]
    own = problem(
        client.post(
            f"/v1/reviews/{review_id}/decisions",
            json={"decision": "approve", "reasoning": "mine"},
            headers=both,
        ),
        403,
    )
    assert "another member" in own["detail"]
    problem(
        client.post(
            f"/v1/reviews/{review_id}/decisions",
            json={"decision": "approve", "reasoning": "I run this"},
            headers=bearer(settings, "admin"),
        ),
        403,
    )
    problem(client.get("/v1/reviews/rev-0000000000000000", headers=bearer(settings, "ethics")), 404)
    problem(client.get("/v1/reviews/Not%20An%20Id", headers=bearer(settings, "ethics")), 400)
    questions = client.get("/v1/reviews/questions").json()["questionnaires"]
    assert [q["kind"] for q in questions] == ["scenario-publication", "model-in-use", "personal-data-sensor"]


def test_model_in_use_needs_two_members_with_quorum_two(quorum_two: tuple[TestClient, Settings]) -> None:
    client, settings = quorum_two
    analyst = bearer(settings, "analyst", subject="ali")
    eva, frank = bearer(settings, "ethics", subject="eva"), bearer(settings, "ethics", subject="frank")
    register = client.app.state.governance.algorithms  # type: ignore[attr-defined]
    assert register.entry("heat_pet").status == "In ontwikkeling"
    review_id = client.post(
        "/v1/reviews", json=review_body("model-in-use", {"model_id": "heat_pet"}), headers=analyst
    ).json()["id"]
    client.post(
        f"/v1/reviews/{review_id}/comments",
        json={"text": "Is the model validated on Dordrecht data?"},
        headers=eva,
    )
    client.post(
        f"/v1/reviews/{review_id}/responses",
        json={"text": "Against the 2019 heat map, see docs/models/heat.md."},
        headers=analyst,
    )
    first = client.post(
        f"/v1/reviews/{review_id}/decisions",
        json={"decision": "approve", "reasoning": "Validated."},
        headers=eva,
    ).json()
    assert first["status"] == "submitted" and first["approvals"] == 1
    assert register.entry("heat_pet").status == "In ontwikkeling", "one approval is not enough"
    problem(
        client.post(
            f"/v1/reviews/{review_id}/decisions",
            json={"decision": "approve", "reasoning": "Twice."},
            headers=eva,
        ),
        409,
    )
    second = client.post(
        f"/v1/reviews/{review_id}/decisions",
        json={"decision": "approve", "reasoning": "Advisory use only."},
        headers=frank,
    ).json()
    assert second["status"] == "approved" and second["effect"]["status"] == "applied", second
    assert register.entry("heat_pet").status == "In gebruik"
    assert client.get("/v1/algorithms/heat_pet").json()["status"] == "In gebruik"
    assert register.approved_review(review_id, "model-in-use", "heat_pet")
    assert not register.approved_review(review_id, "model-in-use", "traffic")
    assert audit_actions(client, f"review {review_id}") == [
        ("review-submitted", "ali", "ok"),
        ("review-comment", "eva", "ok"),
        ("review-response", "ali", "ok"),
        ("review-decision", "eva", "ok"),
        ("review-decision", "frank", "ok"),
    ]
    assert ("algorithm-status", "frank", "ok") in audit_actions(client, "algorithm heat_pet")


def test_personal_data_sensor_is_created_only_through_an_approved_review(
    quorum_two: tuple[TestClient, Settings],
) -> None:
    client, settings = quorum_two
    owner = bearer(settings, "data_owner", subject="otto")
    refused = problem(client.post(f"{STA}/Things", json=WIFI_COUNTER, headers=owner), 409)
    assert "approved ethics review" in refused["detail"] and "/v1/reviews" in refused["detail"]
    deep = {
        "name": "Counter",
        "description": "people",
        "observationType": "x",
        "unitOfMeasurement": {},
        "Thing": WIFI_COUNTER,
    }
    problem(client.post(f"{STA}/Datastreams", json=deep, headers=owner), 409)
    plain = {
        "name": "Rain gauge Wantij",
        "description": "Tipping-bucket rain gauge",
        "properties": {"kind": "rain"},
    }
    assert client.post(f"{STA}/Things", json=plain, headers=owner).status_code == 201

    review_id = client.post(
        "/v1/reviews",
        json=review_body("personal-data-sensor", {"thing": WIFI_COUNTER}, SENSOR_ANSWERS),
        headers=owner,
    ).json()["id"]
    faked = {
        **WIFI_COUNTER,
        "properties": {"register": {**WIFI_COUNTER["properties"]["register"], "review": review_id}},
    }
    problem(client.post(f"{STA}/Things", json=faked, headers=owner), 409)  # not approved yet
    for member in ("eva", "frank"):
        decided = client.post(
            f"/v1/reviews/{review_id}/decisions",
            json={"decision": "approve", "reasoning": "Hashed on the device, kept a day: proportionate."},
            headers=bearer(settings, "ethics", subject=member),
        ).json()
    assert decided["status"] == "approved" and decided["effect"]["status"] == "applied", decided
    thing_id = decided["effect"]["thing_id"]
    thing = client.get(f"{STA}/Things({thing_id})").json()
    assert thing["name"] == "Wifi counter Voorstraat"
    assert thing["properties"]["register"]["review"] == review_id
    assert thing["properties"]["register"]["status"] == "public"
    names = [t["name"] for t in client.get(f"{STA}/Things").json()["value"]]
    assert names.count("Wifi counter Voorstraat") == 1
    # the approved review lets its own Thing be created again (e.g. after a reinstall), nothing else
    assert client.post(f"{STA}/Things", json=faked, headers=owner).status_code == 201
    other = {**faked, "name": "Camera Grote Kerk"}
    problem(client.post(f"{STA}/Things", json=other, headers=owner), 409)
    assert ("sensor-registered", "frank", "ok") in audit_actions(client, f"Things({thing_id})")
