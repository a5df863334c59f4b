"""OGC API – Features on the demo store: resources, paging, CRS, filters, HTML and bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.services.settings import load_settings
from tweeling.store import open_store

ITEMS = "/v1/collections/buildings/items"


@pytest.fixture(scope="module")
def client(demo_store_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(store_url=demo_store_url))) as test_client:
        yield test_client


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_landing_and_conformance(client: TestClient) -> None:
    rels = {link["rel"] for link in client.get("/v1").json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    classes = client.get("/v1/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in classes


def test_collections_describe_every_layer_with_extent_and_crs(client: TestClient) -> None:
    collections = {c["id"]: c for c in client.get("/v1/collections").json()["collections"]}
    assert len(collections) == 11
    buildings = collections["buildings"]
    minx, miny, maxx, maxy = buildings["extent"]["spatial"]["bbox"][0]
    assert 4.6 < minx < maxx < 4.9 and 51.7 < miny < maxy < 51.83
    assert "http://www.opengis.net/def/crs/EPSG/0/28992" in buildings["crs"]
    assert "height_m" in buildings["x-estimated-fields"]
    weather = collections["weather"]
    assert weather["extent"]["temporal"]["interval"][0][0].startswith("1986-04-18")
    assert "spatial" not in weather["extent"]


def test_queryables_show_units_and_estimated_flags(client: TestClient) -> None:
    schema = client.get("/v1/collections/buildings/queryables").json()
    height = schema["properties"]["height_m"]
    assert height["type"] == "number" and height["x-unit"] == "m" and height["x-estimated"] is True
    assert height["x-method"]
    assert schema["properties"]["geometry"]["format"] == "geometry-polygon"
    assert schema["properties"]["height_source"]["x-estimated"] is False


def test_items_paging_with_next_and_prev(client: TestClient) -> None:
    first = client.get(ITEMS).json()
    assert first["numberReturned"] == 100 and first["numberMatched"] == 65_796
    links = {link["rel"]: link["href"] for link in first["links"]}
    assert "prev" not in links
    second = client.get(links["next"].replace("http://testserver", "")).json()
    assert second["features"][0]["id"] == first["features"][-1]["id"] + 1
    assert "prev" in {link["rel"] for link in second["links"]}
    last = client.get(ITEMS, params={"offset": 65_790, "limit": 10}).json()
    assert last["numberReturned"] == 6 and "next" not in {link["rel"] for link in last["links"]}


def test_feature_has_estimation_flags_in_properties(client: TestClient, demo_store_url: str) -> None:
    """Estimation flags for everyone; residents per building (personal data) only for analysts."""
    feature = client.get(f"{ITEMS}/1").json()
    assert feature["id"] == 1 and feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["height_source"] in ("osm", "estimated")
    assert "residents_est" not in feature["properties"]
    analyst = bearer(load_settings(store_url=demo_store_url), "analyst")
    detailed = client.get(f"{ITEMS}/1", headers=analyst).json()
    assert detailed["properties"]["residents_est"] >= 0


def test_crs_and_bbox_crs(client: TestClient, demo_store_url: str) -> None:
    response = client.get(ITEMS, params={"limit": 1, "crs": "http://www.opengis.net/def/crs/EPSG/0/28992"})
    assert response.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/28992>"
    x, y = response.json()["features"][0]["geometry"]["coordinates"][0][0]
    assert 100_000 < x < 125_000 and 410_000 < y < 430_000
    lon_lat = client.get(ITEMS, params={"limit": 1}).json()["features"][0]["geometry"]["coordinates"][0][0]
    lat_lon = client.get(
        ITEMS, params={"limit": 1, "crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}
    ).json()
    assert lat_lon["features"][0]["geometry"]["coordinates"][0][0] == [lon_lat[1], lon_lat[0]]
    rd_box = "105000,423000,105500,423500"
    boxed = client.get(ITEMS, params={"bbox": rd_box, "bbox-crs": "EPSG:28992", "limit": 1}).json()
    with open_store(demo_store_url, read_only=True) as store:
        assert boxed["numberMatched"] == store.count("buildings", bbox=(105_000, 423_000, 105_500, 423_500))


def test_datetime_on_a_temporal_layer(client: TestClient) -> None:
    july = client.get("/v1/collections/weather/items", params={"datetime": "2019-07-01/2019-07-31"}).json()
    assert july["numberMatched"] == 31
    hottest = max(july["features"], key=lambda f: f["properties"]["temp_max_c"])
    assert hottest["properties"]["temp_max_c"] == pytest.approx(36.9)
    day = client.get("/v1/collections/weather/items", params={"datetime": "2019-07-25T00:00:00Z"}).json()
    assert day["numberMatched"] == 1


def test_property_equality_sortby_and_cql2(client: TestClient) -> None:
    buurt = client.get("/v1/collections/buurten/items", params={"bu_code": "BU05050101"}).json()
    assert buurt["numberMatched"] == 1
    tallest = client.get(ITEMS, params={"sortby": "-height_m", "limit": 3}).json()["features"]
    heights = [f["properties"]["height_m"] for f in tallest]
    assert heights == sorted(heights, reverse=True) and heights[0] >= 40
    cql = client.get(
        ITEMS, params={"filter": "height_m > 15 AND main_use = 'residential'", "limit": 1}
    ).json()
    high = client.get(ITEMS, params={"filter": "height_m > 15", "limit": 1}).json()
    assert 0 < cql["numberMatched"] <= high["numberMatched"]
    spatial = client.get(
        ITEMS,
        params={
            "filter": "S_INTERSECTS(geometry, "
            "POLYGON((4.665 51.81, 4.675 51.81, 4.675 51.815, 4.665 51.815, 4.665 51.81)))",
            "limit": 1,
        },
    ).json()
    assert 100 < spatial["numberMatched"] < 5000


def test_html_pages(client: TestClient) -> None:
    for path in ("/v1", "/v1/collections", "/v1/collections/buildings", f"{ITEMS}", f"{ITEMS}/1"):
        response = client.get(path, params={"f": "html"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = client.get(ITEMS, params={"f": "html", "limit": 5}).text
    assert "65,796 matched" in page and "height_m" in page
    browser = client.get("/v1/collections", headers={"accept": "text/html,application/xhtml+xml"})
    assert browser.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        (ITEMS, {"bbox": "1,2,3"}, 400, "4 (or 6)"),
        (ITEMS, {"bbox": "5,52,4,51"}, 400, "min <= max"),
        ("/v1/collections/nope/items", {}, 404, "buildings"),
        (f"{ITEMS}/99999999", {}, 404, "no feature"),
        (f"{ITEMS}/abc", {}, 404, "no feature"),
        (ITEMS, {"limit": "0"}, 400, "limit"),
        (ITEMS, {"limit": "100001"}, 400, "limit"),
        (ITEMS, {"filter": "height_m >"}, 400, "CQL2"),
        (ITEMS, {"filter": "hieght_m > 3"}, 400, "height_m"),
        (ITEMS, {"hieght_m": "3"}, 400, "allowed"),
        (ITEMS, {"crs": "EPSG:3857"}, 400, "supported"),
        (ITEMS, {"bbox-crs": "EPSG:3857", "bbox": "1,2,3,4"}, 400, "supported"),
        (ITEMS, {"filter-lang": "cql2-json", "filter": "a=1"}, 400, "cql2-text"),
        (ITEMS, {"datetime": "2020-01-01"}, 400, "no time"),
        ("/v1/collections/weather/items", {"datetime": "yesterday"}, 400, "RFC 3339"),
        (ITEMS, {"sortby": "-nope"}, 400, "sortby"),
        (ITEMS, {"f": "xml"}, 400, "f"),
    ],
)
def test_bad_input_is_problem_json(
    client: TestClient, path: str, params: dict, status: int, says: str
) -> None:
    body = problem(client.get(path, params=params), status)
    assert says in body["detail"] or says in str(body.get("invalid-params"))


SQL_WORDS = ("SELECT", "syntax error", "Binder Error", "Parser Error", "psycopg", "duckdb", "Traceback")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    filter_text=st.one_of(
        st.text(max_size=60),
        st.from_regex(
            r"(height_m|bu_code|main_use|floors) (=|<|>|<>|LIKE) ('[a-z%']{0,5}'|-?[0-9]{1,4})",
            fullmatch=True,
        ),
    ),
    limit=st.one_of(st.none(), st.integers(-5, 20_000).map(str), st.text(max_size=5)),
    bbox=st.one_of(
        st.none(),
        st.lists(st.floats(allow_nan=True), min_size=0, max_size=6).map(lambda v: ",".join(map(str, v))),
    ),
    sortby=st.one_of(
        st.none(), st.sampled_from(["height_m", "-floors", "x", "+", "--a", "bu_code,-height_m"])
    ),
)
def test_random_parameters_never_cause_a_500_or_leak_sql(client, filter_text, limit, bbox, sortby) -> None:
    params = {"filter": filter_text}
    for name, value in (("limit", limit), ("bbox", bbox), ("sortby", sortby)):
        if value is not None:
            params[name] = value
    response = client.get(ITEMS, params=params)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert not any(word in response.text for word in SQL_WORDS), response.text
