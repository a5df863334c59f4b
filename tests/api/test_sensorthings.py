"""SensorThings API 1.1 over HTTP on both stores: CRUD, deep insert, dataArray, idempotency, live push,
aggregates and alerts, and bad input that must give 4xx with nothing half-written."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import bearer, fresh_postgres_schema, postgres_url_or_skip
from tweeling.api.app import create_app
from tweeling.services.settings import load_settings
from tweeling.store import open_store

STA = "/v1.1"
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"

CROWD_COUNTER: dict[str, Any] = {
    "name": "Crowd counter Grote Kerk",
    "description": "Passers-by on the Grotekerksplein",
    "properties": {"zone": "Grotekerksbuurt", "capacity": 400},
    "Locations": [
        {
            "name": "Grotekerksplein",
            "description": "At the Grote Kerk",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [4.6651, 51.8146]},
        }
    ],
    "Datastreams": [
        {
            "name": "People count Grote Kerk",
            "description": "People counted per 5 minutes",
            "observationType": MEASUREMENT,
            "unitOfMeasurement": {"name": "people", "symbol": "people", "definition": "ucum:{people}"},
            "properties": {"simulated": True},
            "Sensor": {
                "name": "Infrared beam counter",
                "description": "Counts passers-by crossing an infrared beam; no images, no identifiers",
                "encodingType": "text/plain",
                "metadata": "-",
            },
            "ObservedProperty": {
                "name": "crowd count",
                "definition": "https://example.org/crowd",
                "description": "people",
            },
        },
        {
            "name": "NO2 Grote Kerk",
            "description": "Low-cost NO2 sensor",
            "observationType": MEASUREMENT,
            "unitOfMeasurement": {
                "name": "microgram per cubic metre",
                "symbol": "µg/m³",
                "definition": "ucum:ug/m3",
            },
            "Sensor": {
                "name": "Electrochemical NO2",
                "description": "low-cost",
                "encodingType": "text/plain",
                "metadata": "-",
            },
            "ObservedProperty": {
                "name": "NO2",
                "definition": "http://vocab.nerc.ac.uk/collection/P01/current/NO2/",
                "description": "NO2",
            },
        },
    ],
}


@pytest.fixture(params=["duckdb", "postgis"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """A fresh app on an empty store of each kind."""
    if request.param == "duckdb":
        url = f"duckdb://{tmp_path / 'sensors.duckdb'}"
        open_store(url).close()
        settings = load_settings(store_url=url, data_dir=tmp_path)
        with TestClient(create_app(settings), headers=bearer(settings, "data_owner")) as test_client:
            yield test_client
        return
    with fresh_postgres_schema(postgres_url_or_skip()) as url:
        settings = load_settings(store_url=url, data_dir=tmp_path)
        with TestClient(create_app(settings), headers=bearer(settings, "data_owner")) as test_client:
            yield test_client


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    return body


def make_thing(client: TestClient) -> tuple[int, int, int]:
    """Create the crowd counter; return (thing id, crowd datastream id, NO2 datastream id)."""
    response = client.post(f"{STA}/Things", json=CROWD_COUNTER)
    assert response.status_code == 201, response.text
    thing = response.json()
    assert response.headers["location"].endswith(f"/v1.1/Things({thing['@iot.id']})")
    streams = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams", params={"$orderby": "name"}).json()[
        "value"
    ]
    by_name = {s["name"]: s["@iot.id"] for s in streams}
    return thing["@iot.id"], by_name["People count Grote Kerk"], by_name["NO2 Grote Kerk"]


def counts(client: TestClient) -> dict[str, int]:
    return {
        name: client.get(f"{STA}/{name}", params={"$count": "true", "$top": "0"}).json()["@iot.count"]
        for name in ("Things", "Locations", "Datastreams", "Sensors", "ObservedProperties", "Observations")
    }


def test_service_root_lists_entity_sets_and_conformance(client: TestClient) -> None:
    root = client.get(STA).json()
    assert {v["name"] for v in root["value"]} == {
        "Things",
        "Locations",
        "HistoricalLocations",
        "Datastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
        "FeaturesOfInterest",
    }
    assert (
        "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array"
        in root["serverSettings"]["conformance"]
    )


def test_deep_insert_and_navigation(client: TestClient) -> None:
    thing_id, crowd, _ = make_thing(client)
    thing = client.get(
        f"{STA}/Things({thing_id})", params={"$expand": "Locations,Datastreams($select=name;$orderby=name)"}
    ).json()
    assert thing["properties"] == {"zone": "Grotekerksbuurt", "capacity": 400}
    assert thing["Locations"][0]["location"]["coordinates"] == [4.6651, 51.8146]
    assert [d["name"] for d in thing["Datastreams"]] == ["NO2 Grote Kerk", "People count Grote Kerk"]
    assert (
        thing["Datastreams@iot.navigationLink"].endswith(f"/Things({thing_id})/Datastreams")
        or "Datastreams" in thing
    )
    history = client.get(f"{STA}/Things({thing_id})/HistoricalLocations").json()["value"]
    assert len(history) == 1
    sensor = client.get(f"{STA}/Datastreams({crowd})/Sensor").json()
    assert sensor["name"] == "Infrared beam counter"


def test_observation_create_read_update_delete(client: TestClient) -> None:
    _, crowd, _ = make_thing(client)
    created = client.post(
        f"{STA}/Datastreams({crowd})/Observations",
        json={"phenomenonTime": "2024-06-01T12:00:00+02:00", "result": 312},
    )
    assert created.status_code == 201, created.text
    observation = created.json()
    assert observation["phenomenonTime"] == "2024-06-01T10:00:00.000Z"
    assert observation["result"] == 312
    oid = observation["@iot.id"]
    feature = client.get(f"{STA}/Observations({oid})/FeatureOfInterest").json()
    assert feature["feature"]["coordinates"] == [4.6651, 51.8146]
    patched = client.patch(f"{STA}/Observations({oid})", json={"result": 298})
    assert patched.status_code == 200 and patched.json()["result"] == 298
    assert client.get(f"{STA}/Observations({oid})/result/$value").text == "298"
    assert client.delete(f"{STA}/Observations({oid})").status_code == 200
    problem(client.get(f"{STA}/Observations({oid})"), 404)


def test_data_array_with_idempotency_key(client: TestClient) -> None:
    _, crowd, no2 = make_thing(client)
    body = [
        {
            "Datastream": {"@iot.id": crowd},
            "components": ["phenomenonTime", "result"],
            "dataArray@iot.count": 3,
            "dataArray": [
                ["2024-06-01T10:00:00Z", 120],
                ["2024-06-01T10:05:00Z", 180],
                ["2024-06-01T10:10:00Z", "lots"],
            ],
        },
        {
            "Datastream": {"@iot.id": no2},
            "components": ["result", "phenomenonTime"],
            "dataArray": [[31.5, "2024-06-01T10:00:00Z"], [48.25, "2024-06-01T10:30:00Z"]],
        },
    ]
    headers = {"Idempotency-Key": "gateway-7-batch-1"}
    first = client.post(f"{STA}/CreateObservations", json=body, headers=headers)
    assert first.status_code == 201, first.text
    links = first.json()
    assert (
        len(links) == 5
        and links[2] == "error"
        and all("/Observations(" in x for i, x in enumerate(links) if i != 2)
    )
    again = client.post(f"{STA}/CreateObservations", json=body, headers=headers)
    assert again.json() == links
    assert counts(client)["Observations"] == 4
    hourly = client.get("/v1/sensors/aggregates", params={"datastream": no2, "period": "PT1H"}).json()
    assert hourly["values"] == [
        {"start": "2024-06-01T10:00:00.000Z", "count": 2, "mean": 39.875, "min": 31.5, "max": 48.25}
    ]


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("Things", "{not json", 400, "not valid JSON"),
        ("Things", {"description": "no name"}, 400, "name is required"),
        ("Datastreams(999)/Observations", {"result": 1.0}, 404, "no Datastream"),
        ("Observations", {"result": 1.0, "Datastream": {"@iot.id": "abc"}}, 400, "integer"),
        ("Things(1)/name", {"name": "x"}, 400, "collection"),
        ("Bananas", {"name": "x"}, 404, "Bananas"),
    ],
)
def test_bad_writes_give_4xx_and_store_nothing(
    client: TestClient, path: str, body: Any, status: int, fragment: str
) -> None:
    make_thing(client)
    before = counts(client)
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.post(f"{STA}/{path}", content=raw, headers={"content-type": "application/json"})
    assert response.status_code in (status, 404 if status == 404 else status), response.text
    assert fragment.lower() in problem(response, response.status_code)["detail"].lower()
    assert counts(client) == before


def test_wrong_result_type_in_a_deep_insert_leaves_nothing(client: TestClient) -> None:
    payload = copy.deepcopy(CROWD_COUNTER)
    payload["Datastreams"][0]["Observations"] = [{"result": 10}, {"result": "ten"}]
    assert "number" in problem(client.post(f"{STA}/Things", json=payload), 400)["detail"]
    assert counts(client) == dict.fromkeys(
        ("Things", "Locations", "Datastreams", "Sensors", "ObservedProperties", "Observations"), 0
    )


def test_huge_top_and_bad_filter_are_refused(client: TestClient) -> None:
    make_thing(client)
    problem(client.get(f"{STA}/Observations", params={"$top": "100000000"}), 400)
    problem(client.get(f"{STA}/Things", params={"$filter": "name eq"}), 400)
    problem(client.get(f"{STA}/Things", params={"$bogus": "1"}), 400)


def test_filter_on_related_entities(client: TestClient) -> None:
    make_thing(client)
    found = client.get(
        f"{STA}/Datastreams", params={"$filter": "ObservedProperty/name eq 'NO2'", "$select": "name"}
    ).json()
    assert [d["name"] for d in found["value"]] == ["NO2 Grote Kerk"]
    near = client.get(
        f"{STA}/Things",
        params={
            "$filter": "st_within(Locations/location, "
            "geography'POLYGON((4.66 51.81, 4.67 51.81, 4.67 51.82, 4.66 51.82, 4.66 51.81))')"
        },
    ).json()
    assert [t["name"] for t in near["value"]] == ["Crowd counter Grote Kerk"]


def test_alert_rule_raises_alert_and_live_push_delivers_it(client: TestClient) -> None:
    _, crowd, _ = make_thing(client)
    rule = client.post(
        "/v1/sensors/alert-rules",
        json={"name": "Too crowded at the Grote Kerk", "datastream_id": crowd, "threshold": 400},
    )
    assert rule.status_code == 201, rule.text
    hub = client.app.state.sensors  # type: ignore[attr-defined]
    received: list[tuple[str, dict[str, Any]]] = []
    got_alert = threading.Event()

    def listener(kind: str, document: dict[str, Any]) -> None:
        received.append((kind, document))
        if kind == "alert":
            got_alert.set()

    hub.add_listener(listener)
    try:
        client.post(
            f"{STA}/Datastreams({crowd})/Observations",
            json={"phenomenonTime": "2024-06-01T13:00:00Z", "result": 450},
        )
    finally:
        hub.remove_listener(listener)
    assert got_alert.wait(2)
    kinds = [k for k, _ in received]
    assert kinds == ["observation", "alert"]
    alerts = client.get("/v1/sensors/alerts", params={"datastream": crowd}).json()["alerts"]
    assert len(alerts) == 1 and alerts[0]["value"] == 450.0 and "crowded" in alerts[0]["message"]
    problem(
        client.post(
            "/v1/sensors/alert-rules", json={"name": "x", "threshold": "many", "datastream_id": crowd}
        ),
        400,
    )


FILTER_TOKENS = [
    "name",
    "result",
    "phenomenonTime",
    "Datastream/name",
    "eq",
    "ne",
    "gt",
    "and",
    "or",
    "not",
    "(",
    ")",
    "'x'",
    "''",
    "3",
    "-1.5",
    "2024-06-01T10:00:00Z",
    "geo.intersects(",
    "substringof(",
    "year(",
    ",",
    "/",
    "add",
    "mod",
    "null",
    "true",
    "geography'POINT(4.6 51.8)'",
    "duration'P1D'",
    "$",
    "%",
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FILTER_TOKENS), max_size=9).map(" ".join))
def test_no_filter_gives_a_server_error(client: TestClient, text: str) -> None:
    response = client.get(f"{STA}/Observations", params={"$filter": text})
    assert response.status_code in (200, 400), (text, response.status_code, response.text)
