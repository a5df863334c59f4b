"""Statistics of personal data over HTTP (``/v1/statistics``): suppressed for the public, exact and
audited for analysts, custom areas apportioned from safe areas, bad input as problem+json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.core.crs import transformer
from tweeling.services.settings import Settings, load_settings
from tweeling.store import open_store

BASE = "/v1/statistics"
CLEARED = ["analyst", "data_owner", "admin"]
NOT_CLEARED = ["resident", "ethics", "public"]


@pytest.fixture(scope="module")
def settings(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(store_url=demo_store_url, data_dir=tmp_path_factory.mktemp("statistics"))


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def buurten(demo_store_url: str) -> Any:
    with open_store(demo_store_url, read_only=True) as store:
        return store.read_layer("buurten", columns=["bu_code", "wk_code"]).set_index("bu_code")


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    return body


def rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["code"]: row for row in document["rows"]}


def as_lonlat(geometry: Any) -> dict[str, Any]:
    """A geometry in EPSG:28992 as a GeoJSON dict in lon/lat."""
    moved = shapely.transform(
        geometry, lambda xy: np.column_stack(transformer(28992, 4326).transform(xy[:, 0], xy[:, 1]))
    )
    document: dict[str, Any] = json.loads(shapely.to_geojson(moved))
    return document


# -- datasets and tables ----------------------------------------------------------------------


def test_datasets_are_listed_with_their_threshold(client: TestClient) -> None:
    (dataset,) = client.get(BASE).json()["datasets"]
    assert dataset["id"] == "residents" and dataset["unit"] == "persons" and dataset["threshold"] == 10
    assert dataset["classification"] == "personal"
    assert dataset["levels"] == ["buurt", "wijk", "gemeente"]
    assert dataset["links"][0]["href"].endswith("/v1/statistics/residents?level=buurt")


def test_the_public_gets_suppressed_buurten(client: TestClient) -> None:
    response = client.get(f"{BASE}/residents", params={"level": "buurt"})
    assert response.status_code == 200
    assert "private" in response.headers["cache-control"] and "Authorization" in response.headers["vary"]
    document = response.json()
    control = document["disclosure_control"]
    assert control["applied"] is True and control["threshold"] == 10 and control["unit"] == "persons"
    assert control["safe_areas"] == 118 and "secondary suppression" in control["method"]
    table = rows(document)
    assert len(table) == 130
    small = table["BU05051000"]  # Vissersdijk-West: 5 residents
    assert small["values"] == {"residents": None} and small["suppressed"] == "primary"
    assert small["reason"] == "fewer than 10 persons in this buurt"
    neighbour = table["BU05051001"]  # merged with it to protect it
    assert neighbour["values"] == {"residents": None} and neighbour["suppressed"] == "secondary"
    assert neighbour["safe_area"] == small["safe_area"] == "BU05051000+1"
    assert table["BU05050100"]["values"] == {"residents": 815} and table["BU05050100"]["suppressed"] is None
    for row in table.values():
        assert (row["suppressed"] is None) == (row["values"]["residents"] is not None)
        assert row["estimated"] is False and "units" not in row


def test_wijk_totals_reveal_only_whole_safe_areas(client: TestClient, buurten: Any) -> None:
    buurt_rows = rows(client.get(f"{BASE}/residents").json())
    wijk_rows = rows(client.get(f"{BASE}/residents", params={"level": "wijk"}).json())
    assert all(row["suppressed"] is None for row in wijk_rows.values())
    hidden = {
        code: wijk_rows[code]["values"]["residents"]
        - sum(
            buurt_rows[b]["values"]["residents"] or 0
            for b in buurten.index[buurten["wk_code"] == code]
            if buurt_rows[b]["suppressed"] is None
        )
        for code in wijk_rows
    }
    # what a wijk total minus its published buurten gives is a whole safe area, never one small buurt
    assert hidden["WK050510"] == 210 and hidden["WK050506"] == 145 and hidden["WK050511"] == 1535
    assert all(value == 0 or value >= 10 for value in hidden.values())
    (gemeente,) = client.get(f"{BASE}/residents", params={"level": "gemeente"}).json()["rows"]
    assert gemeente["code"] == "GM0505" and gemeente["values"] == {"residents": 119_030}


@pytest.mark.parametrize("role", CLEARED)
def test_cleared_roles_get_exact_values_and_are_audited(
    client: TestClient, settings: Settings, role: str
) -> None:
    headers = bearer(settings, role, subject=f"stat-{role}")
    response = client.get(f"{BASE}/residents", params={"level": "buurt"}, headers=headers)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["disclosure_control"]["applied"] is False
    small = rows(document)["BU05051000"]
    assert small["values"] == {"residents": 5} and small["suppressed"] is None
    assert small["below_threshold"] is True and small["units"] == 5
    entries = client.app.state.governance.audit.entries(action="data-access", limit=10_000)  # type: ignore[attr-defined]
    mine = [
        e for e in entries if e["actor"] == f"stat-{role}" and e["target"] == "statistics/residents/buurt"
    ]
    assert mine and mine[-1]["details"]["level"] == "buurt" and role in mine[-1]["roles"]


@pytest.mark.parametrize("role", NOT_CLEARED)
def test_other_roles_get_the_suppressed_answer(client: TestClient, settings: Settings, role: str) -> None:
    headers = bearer(settings, role, subject=f"stat-{role}")
    document = client.get(f"{BASE}/residents", headers=headers).json()
    assert document["disclosure_control"]["applied"] is True
    assert rows(document)["BU05051000"]["values"] == {"residents": None}
    entries = client.app.state.governance.audit.entries(action="data-access", limit=10_000)  # type: ignore[attr-defined]
    assert not [e for e in entries if e["actor"] == f"stat-{role}"]


def test_bad_table_requests_are_problems(client: TestClient) -> None:
    body = problem(client.get(f"{BASE}/residents", params={"level": "postcode"}), 400)
    assert body["invalid-params"][0]["name"] == "level" and "buurt, wijk, gemeente" in body["detail"]
    assert "residents" in problem(client.get(f"{BASE}/households"), 404)["detail"]
    problem(client.get(f"{BASE}/residents", headers={"Authorization": "Bearer not-a-token"}), 401)


# -- custom areas -------------------------------------------------------------------------------

CENTRE = {
    "type": "Polygon",
    "coordinates": [[[4.66, 51.80], [4.70, 51.80], [4.70, 51.82], [4.66, 51.82], [4.66, 51.80]]],
}


def test_a_custom_area_is_apportioned_from_safe_areas(client: TestClient) -> None:
    response = client.post(f"{BASE}/residents/area", json=CENTRE)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["level"] == "area" and document["suppressed"] is None
    assert (
        document["estimated"] is True
        and "apportioned from safe area totals by dwellings" in document["method"]
    )
    assert document["values"]["residents"] == pytest.approx(34_780, abs=40)
    assert document["disclosure_control"]["applied"] is True
    assert all(0 <= area["share"] <= 1 for area in document["safe_areas"])
    assert document["area"]["vertices"] == 5


def test_the_same_area_in_rd_new_gives_the_same_answer(client: TestClient) -> None:
    lonlat = client.post(f"{BASE}/residents/area", json=CENTRE).json()
    polygon = shapely.geometry.shape(CENTRE)
    rd = shapely.transform(
        polygon, lambda xy: np.column_stack(transformer(4326, 28992).transform(xy[:, 0], xy[:, 1]))
    )
    body = json.loads(shapely.to_geojson(rd))
    in_rd = client.post(f"{BASE}/residents/area", params={"crs": "EPSG:28992"}, json=body).json()
    assert in_rd["values"] == lonlat["values"]
    feature = {"type": "Feature", "properties": {}, "geometry": body, "crs": "EPSG:28992"}
    assert client.post(f"{BASE}/residents/area", json=feature).json()["values"] == lonlat["values"]


def test_drawing_a_small_buurt_gives_an_estimate_not_its_count(
    client: TestClient, demo_store_url: str
) -> None:
    with open_store(demo_store_url, read_only=True) as store:
        buurt = store.read_layer("buurten", columns=["bu_code"]).set_index("bu_code").geometry["BU05051000"]
        buildings = store.read_layer("buildings", columns=["bu_code", "dwellings_est"])
    dwellings = buildings.groupby("bu_code")["dwellings_est"].sum()
    share = dwellings["BU05051000"] / (dwellings["BU05051000"] + dwellings["BU05051001"])
    public = client.post(f"{BASE}/residents/area", json=as_lonlat(buurt)).json()
    assert public["estimated"] is True
    assert public["values"]["residents"] == round(210 * share)  # the safe area's total, apportioned
    (area,) = [a for a in public["safe_areas"] if a["id"] == "BU05051000+1"]
    assert area["buurten"] == ["BU05051000", "BU05051001"] and area["partial"] is True


def test_analysts_get_the_exact_count_in_an_area_and_it_is_audited(
    client: TestClient, settings: Settings, demo_store_url: str
) -> None:
    with open_store(demo_store_url, read_only=True) as store:
        buurt = store.read_layer("buurten", columns=["bu_code"]).set_index("bu_code").geometry["BU05051000"]
    headers = bearer(settings, "analyst", subject="area-analyst")
    exact = client.post(f"{BASE}/residents/area", json=as_lonlat(buurt), headers=headers).json()
    assert exact["values"] == {"residents": 5} and exact["estimated"] is False
    assert exact["disclosure_control"]["applied"] is False
    entries = client.app.state.governance.audit.entries(action="data-access", limit=10_000)  # type: ignore[attr-defined]
    (entry,) = [
        e for e in entries if e["actor"] == "area-analyst" and e["target"] == "statistics/residents/area"
    ]
    assert entry["details"]["vertices"] >= 4 and len(entry["details"]["bbox_rd"]) == 4


def ring(count: int) -> list[list[float]]:
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    points = [[4.68 + 0.01 * np.cos(a), 51.81 + 0.01 * np.sin(a)] for a in angles]
    return [*points, points[0]]


@pytest.mark.parametrize(
    ("body", "params", "fragment"),
    [
        (
            {"type": "Polygon", "coordinates": [[[4.89, 52.37], [4.9, 52.37], [4.9, 52.38], [4.89, 52.37]]]},
            {},
            "outside the municipality",
        ),
        ({"type": "Point", "coordinates": [4.68, 51.81]}, {}, "Polygon or MultiPolygon"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[4.66, 51.80], [4.70, 51.82], [4.70, 51.80], [4.66, 51.82], [4.66, 51.80]]],
            },
            {},
            "not a valid polygon",
        ),
        ({"type": "Polygon", "coordinates": [ring(10_001)]}, {}, "at most 10000"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[104000, 423000], [105000, 423000], [105000, 424000], [104000, 423000]]],
            },
            {},
            "longitude, latitude",
        ),
        (CENTRE, {"crs": "EPSG:3857"}, "unsupported crs"),
        ({"type": "Polygon", "coordinates": [[["a", "b"]]]}, {}, "not a valid GeoJSON polygon"),
        (
            {"type": "Polygon", "coordinates": [[[4.66, 51.80], [4.70, 51.80], [4.66, 51.80]]]},
            {},
            "at least 4 positions",
        ),
    ],
)
def test_bad_areas_are_problems(client: TestClient, body: Any, params: dict[str, str], fragment: str) -> None:
    detail = problem(client.post(f"{BASE}/residents/area", params=params, json=body), 400)["detail"]
    assert fragment in detail


def test_unreadable_or_oversized_bodies_are_problems(client: TestClient) -> None:
    problem(client.post(f"{BASE}/residents/area", content=b"{not json"), 400)
    problem(client.post(f"{BASE}/residents/area", content=b"[1, 2]"), 400)
    huge = b'{"type": "Polygon", "coordinates": [[' + b"[4.68, 51.81], " * 200_000 + b"[4.68, 51.81]]]}"
    assert "MB" in problem(client.post(f"{BASE}/residents/area", content=huge), 400)["detail"]
    assert "residents" in problem(client.post(f"{BASE}/nobody/area", json=CENTRE), 404)["detail"]
