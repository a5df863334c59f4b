"""Injection in filters and identifiers: every attempt is a 4xx problem+json, never a 500, and the data
are still all there afterwards (CQL2 ``filter``, OData ``$filter``/``$orderby``/``$select``, feature,
collection, SensorThings, scenario and job identifiers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.services import sensor_feeds
from tweeling.services.settings import Settings, load_settings

BUILDINGS = 65_796
BUURTEN = 130

SQL_PAYLOADS = [
    "name' OR 1=1 --",
    "'; DROP TABLE buildings; --",
    "\"name\" = 'x') UNION SELECT * FROM buildings --",
    "bu_naam = 'x' UNION SELECT 1, 2, 3",
    "bu_naam = 'x'; DELETE FROM buurten",
    "bu_naam = 'x' OR pg_sleep(5)",
    "bu_naam IN (SELECT bu_naam FROM buurten)",
    "CASE WHEN 1=1 THEN 1 END = 1",
    "S_INTERSECTS(geometry, POINT(4.6 51.8)) OR read_csv('/etc/passwd') IS NOT NULL",
    'bu_naam = "x""; DROP TABLE buurten; --',
    "x" * 30_000,
    "(" * 10_000 + "bu_naam = 'x'" + ")" * 10_000,
    "bu_naam = 'a\x00b'",
    "\x00",
    "1=1",
]
"""Attempts at breaking out of the filter language into SQL, and inputs meant to exhaust the parser."""

ODATA_PAYLOADS = [
    *SQL_PAYLOADS,
    "name eq 'x'; DROP TABLE things",
    "id eq 1; DELETE FROM observations",
    "name eq 'x' or 1 eq 1) or (1 eq 1",
    "substringof('x', name) or 1 eq 1 --",
]


def _is_problem(response: httpx.Response, *statuses: int) -> None:
    """A client error of one of ``statuses``, as problem+json whose status matches."""
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == response.status_code


def _counts(client: TestClient) -> dict[str, int]:
    """What the twin holds: features per layer and SensorThings entities."""
    counts = {}
    for layer in ("buildings", "buurten"):
        page = client.get(f"/v1/collections/{layer}/items", params={"limit": 1})
        assert page.status_code == 200
        counts[layer] = int(page.json()["numberMatched"])
    for entity in ("Things", "Datastreams", "Observations"):
        page = client.get(f"/v1.1/{entity}", params={"$count": "true", "$top": 1})
        assert page.status_code == 200
        counts[entity] = int(page.json()["@iot.count"])
    return counts


@pytest.fixture(scope="module")
def app_settings(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder: Path = tmp_path_factory.mktemp("injection")
    return load_settings(
        store_url=demo_store_url, sensors_store_url=f"duckdb://{folder / 'sensors.duckdb'}", data_dir=folder
    )


@pytest.fixture(scope="module")
def client(app_settings: Settings) -> Iterator[TestClient]:
    """The demo city model, and the demo sensor network with six hours of observations."""
    with TestClient(create_app(app_settings)) as test_client:
        sensor_feeds.load_demo_sensors(test_client.app.state.sensors, history_days=0.25)  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture(scope="module")
def before(client: TestClient) -> dict[str, int]:
    counts = _counts(client)
    assert counts["buildings"] == BUILDINGS and counts["buurten"] == BUURTEN
    assert counts["Things"] > 0 and counts["Observations"] > 0
    return counts


@pytest.fixture(scope="module")
def admin(app_settings: Settings) -> dict[str, str]:
    return bearer(app_settings, "admin")


# -- CQL2 filters on the features API -----------------------------------------------------------


@pytest.mark.parametrize("payload", SQL_PAYLOADS, ids=range(len(SQL_PAYLOADS)))
def test_cql2_injection_is_refused(client: TestClient, before: dict[str, int], payload: str) -> None:
    response = client.get("/v1/collections/buurten/items", params={"filter": payload, "limit": 1})
    _is_problem(response, 400)


@pytest.mark.parametrize(
    "payload",
    [
        "bu_naam = 'x'' OR ''1''=''1'",
        "bu_naam LIKE '%'' OR 1=1 --'",
        "bu_naam = '; DROP TABLE buurten; --'",
        "bu_naam = 'Robert''); DROP TABLE buurten;--'",
    ],
)
def test_sql_inside_a_string_literal_is_only_text(
    client: TestClient, before: dict[str, int], payload: str
) -> None:
    """Valid CQL2 whose string holds SQL: it is compared as text (a bound parameter), matching nothing."""
    response = client.get("/v1/collections/buurten/items", params={"filter": payload, "limit": 1})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["numberMatched"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"sortby": "bu_naam; DROP TABLE buurten"},
        {"sortby": "-(SELECT 1)"},
        {"sortby": '"bu_naam" --'},
        {"bu_naam; DROP TABLE buurten": "x"},
        {"bbox": "1,2,3,4); DROP TABLE buurten; --"},
        {"datetime": "2020'; DROP TABLE buurten; --"},
        {"crs": "EPSG:4326' --"},
        {"filter-crs": "EPSG:4326'; DROP", "filter": "bu_naam = 'x'"},
        {"filter-lang": "sql", "filter": "1=1; DROP TABLE buurten"},
        {"limit": "1; DROP TABLE buurten"},
        {"offset": "0 OR 1=1"},
    ],
    ids=lambda params: next(iter(params)),
)
def test_other_item_parameters_are_refused(
    client: TestClient, before: dict[str, int], params: dict[str, str]
) -> None:
    _is_problem(client.get("/v1/collections/buurten/items", params=params), 400)


@pytest.mark.parametrize("value", ["x' OR '1'='1", "x' OR 1=1 --", "'; DROP TABLE buurten; --"])
def test_a_value_filter_with_sql_matches_nothing(
    client: TestClient, before: dict[str, int], value: str
) -> None:
    response = client.get("/v1/collections/buurten/items", params={"bu_naam": value})
    assert response.status_code == 200 and response.json()["numberMatched"] == 0


# -- OData on the SensorThings API --------------------------------------------------------------


@pytest.mark.parametrize("entity", ["Things", "Observations"])
@pytest.mark.parametrize("payload", ODATA_PAYLOADS, ids=range(len(ODATA_PAYLOADS)))
def test_odata_filter_injection_is_refused(
    client: TestClient, before: dict[str, int], entity: str, payload: str
) -> None:
    response = client.get(f"/v1.1/{entity}", params={"$filter": payload, "$top": 1})
    _is_problem(response, 400)


@pytest.mark.parametrize(
    "params",
    [
        {"$orderby": "name; DROP TABLE things"},
        {"$orderby": "id desc, (SELECT 1)"},
        {"$orderby": "name --"},
        {"$orderby": "x" * 10_000},
        {"$select": "id, (SELECT 1)"},
        {"$select": "name; DROP TABLE things"},
        {"$select": '"name"'},
        {"$select": "name FROM things --"},
        {"$expand": "Datastreams($filter=1 eq 1; DROP TABLE datastreams)"},
        {"$expand": "Datastreams; DROP TABLE things"},
        {"$top": "1; DROP TABLE things"},
        {"$skip": "0 OR 1=1"},
    ],
    ids=lambda params: f"{next(iter(params))}={next(iter(params.values()))[:24]}",
)
def test_odata_options_with_injected_names_are_refused(
    client: TestClient, before: dict[str, int], params: dict[str, str]
) -> None:
    _is_problem(client.get("/v1.1/Things", params=params), 400)


def test_sql_inside_an_odata_string_is_only_text(client: TestClient, before: dict[str, int]) -> None:
    response = client.get(
        "/v1.1/Things", params={"$filter": "name eq 'x'' or ''1'' eq ''1'", "$count": "true"}
    )
    assert response.status_code == 200 and response.json()["@iot.count"] == 0


# -- identifiers in paths -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "collection_id",
    [
        "buildings;DROP",
        "buildings;DROP TABLE buildings",
        "buildings' OR 1=1 --",
        '"buildings"',
        "..%2F..%2Fetc%2Fpasswd",
        "..%2F..%2F..%2Fsecrets%2Ftoken.key",
        "%2e%2e",
        "%00",
        "buildings%00",
        "BUILDINGS",
        "information_schema.tables",
        "x" * 5_000,
    ],
    ids=lambda value: value[:30],
)
@pytest.mark.parametrize("suffix", ["", "/items", "/queryables", "/items/1"])
def test_collection_ids_are_only_names(
    client: TestClient, before: dict[str, int], collection_id: str, suffix: str
) -> None:
    _is_problem(client.get(f"/v1/collections/{collection_id}{suffix}"), 404)


@pytest.mark.parametrize(
    "feature_id",
    [
        "1 OR 1=1",
        "1;DROP TABLE buildings",
        "1' OR '1'='1",
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "'",
        "-1",
        "1e999",
    ],
)
def test_feature_ids_are_only_values(client: TestClient, before: dict[str, int], feature_id: str) -> None:
    _is_problem(client.get(f"/v1/collections/buildings/items/{feature_id}"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "Things('1 OR 1=1')",
        "Things(1;DELETE)",
        "Things(1 OR 1=1)",
        "Things('1'')",
        "Things(%00)",
        "Things(99999999999999999999999)",
        "Things(-1)",
        "Observations(1e10)",
        "Things(1)/Datastreams;DROP",
        "Things;DROP TABLE things",
        "Datastreams(1)/Observations('1; DELETE FROM observations')",
    ],
)
def test_sensorthings_ids_are_only_integers(client: TestClient, before: dict[str, int], path: str) -> None:
    _is_problem(client.get(f"/v1.1/{path}"), 400, 404)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/scenarios/..%2F..%2Fetc%2Fpasswd",
        "/v1/scenarios/..%2F..%2Fsecrets%2Ftoken.key",
        "/v1/scenarios/%00",
        "/v1/scenarios/x%2F..%2F..%2Fy",
        "/v1/scenarios/..%2F..%2Fsecrets%2Ftoken.key/versions",
        "/v1/jobs/..%2F..%2Fetc%2Fpasswd",
        "/v1/jobs/%00",
        "/v1/jobs/..%2Fx/results",
        "/v1/jobs/x/files/..%2F..%2F..%2Fetc%2Fpasswd",
        "/v1/jobs/x/files/..",
        "/v1/jobs/x/layers/..%2F..%2Fetc.arrow",
        "/v1/models/..%2F..%2Fpyproject.toml",
        "/v1/processes/..%2Frun-scenario",
    ],
)
def test_scenario_and_job_ids_cannot_leave_their_folders(
    client: TestClient, before: dict[str, int], admin: dict[str, str], path: str
) -> None:
    response = client.get(path, headers=admin)
    _is_problem(response, 400, 404)
    assert "root:" not in response.text and "[project]" not in response.text


def test_dismissing_a_job_by_a_traversing_id_is_refused(
    client: TestClient, before: dict[str, int], admin: dict[str, str]
) -> None:
    _is_problem(client.delete("/v1/jobs/..%2F..%2Fscenarios", headers=admin), 400, 404)
    _is_problem(client.delete("/v1/scenarios/..%2F..%2Fsecrets", headers=admin), 400, 404)


# -- fuzzing ------------------------------------------------------------------------------------

FILTER_TOKENS = [
    "bu_naam", "aant_inw", "geometry", "=", "<>", "<", ">=", "AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL",
    "(", ")", ",", "'x'", "'", "''", '"', ";", "--", "/*", "*/", "1", "-1", "1e999", "DROP", "TABLE",
    "SELECT", "UNION", "S_INTERSECTS", "POINT(4.6 51.8)", "BBOX", "\x00", "\\", "%", "TRUE",
]  # fmt: skip


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FILTER_TOKENS), min_size=1, max_size=12).map(" ".join))
def test_fuzzed_cql2_filters_never_fail_the_server(client: TestClient, text: str) -> None:
    response = client.get("/v1/collections/buurten/items", params={"filter": text, "limit": 1})
    assert response.status_code in (200, 400), (text, response.status_code, response.text[:300])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=80).filter(lambda text: text not in (".", "..")))
def test_fuzzed_collection_ids_never_fail_the_server(client: TestClient, text: str) -> None:
    response = client.get(f"/v1/collections/{quote(text, safe='')}/items", params={"limit": 1})
    assert response.status_code < 500, (text, response.status_code, response.text[:300])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120))
def test_fuzzed_filter_text_never_fails_the_server(client: TestClient, text: str) -> None:
    for path, name in (("/v1/collections/buurten/items", "filter"), ("/v1.1/Observations", "$filter")):
        response = client.get(path, params={name: text})
        assert response.status_code in (200, 400), (path, text, response.status_code, response.text[:300])


# -- afterwards ---------------------------------------------------------------------------------


def test_the_data_are_intact_afterwards(client: TestClient, before: dict[str, int]) -> None:
    after = _counts(client)
    assert after == before
    assert after["buildings"] == BUILDINGS and after["buurten"] == BUURTEN
