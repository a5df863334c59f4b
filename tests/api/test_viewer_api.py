"""The viewer's server side: offline basemap, buildings and scenario layers as Arrow, the layer
catalogue, and the built web app at /viewer/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import yaml
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.services.basemap import BASEMAP_DIR
from tweeling.services.sensor_feeds import load_demo_sensors
from tweeling.services.sensors import SensorHub
from tweeling.services.settings import load_settings
from tweeling.store import open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ARROW = "application/vnd.apache.arrow.stream"
TILE = "/v1/basemap/tiles/14/8405/5428.pbf"
"""A z14 tile over the centre of Dordrecht (Oude Maas, Wantij, the old town)."""


@pytest.fixture(scope="module")
def viewer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A viewer folder without a build (the static test builds a fake one into it)."""
    return tmp_path_factory.mktemp("viewer")


@pytest.fixture(scope="module")
def client(
    demo_store_url: str, viewer_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("viewer-api")
    sensors_url = f"duckdb://{folder / 'sensors.duckdb'}"
    hub = SensorHub(open_store(sensors_url))
    try:
        load_demo_sensors(hub, history_days=0.05)
    finally:
        hub.close()
    settings = load_settings(
        store_url=demo_store_url, sensors_store_url=sensors_url, data_dir=folder, viewer_dir=viewer_dir
    )
    with TestClient(create_app(settings), headers=bearer(settings, "analyst")) as test_client:
        yield test_client


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def arrow(response: Any) -> pa.Table:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ARROW
    return pa.ipc.open_stream(response.content).read_all()


# -- basemap ---------------------------------------------------------------------------------


def test_tile_is_served_gzip_encoded_or_plain(client: TestClient) -> None:
    manifest = json.loads((BASEMAP_DIR.parent / "manifest.json").read_text())
    entry = manifest["files"]["basemap/tiles/14/8405/5428.pbf"]
    packed = client.get(TILE, headers={"Accept-Encoding": "gzip"})
    assert packed.status_code == 200
    assert packed.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) == entry["bytes"]
    assert "max-age" in packed.headers["cache-control"]
    plain = client.get(TILE, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == packed.content
    assert len(plain.content) == entry["source_bytes"] == 132_886
    for layer in (b"water", b"waterway", b"transportation", b"landuse", b"landcover", b"building"):
        assert layer in plain.content, layer


def test_tiles_outside_the_shipped_set_are_204_and_impossible_ones_400(client: TestClient) -> None:
    for path in ("/v1/basemap/tiles/14/0/0.pbf", "/v1/basemap/tiles/16/33620/21700.pbf"):
        response = client.get(path)
        assert response.status_code == 204 and response.content == b"", path
    assert "0..2^zoom-1" in problem(client.get("/v1/basemap/tiles/3/9/1.pbf"), 400)["detail"]
    problem(client.get("/v1/basemap/tiles/3/x/1.pbf"), 400)


def test_tilejson_describes_the_shipped_tiles(client: TestClient) -> None:
    document = client.get("/v1/basemap/tiles.json").json()
    assert document["tilejson"] == "3.0.0"
    assert document["tiles"] == ["http://testserver/v1/basemap/tiles/{z}/{x}/{y}.pbf"]
    assert (document["minzoom"], document["maxzoom"]) == (0, 14)
    west, south, east, north = document["bounds"]
    assert west < 4.62 and east > 4.88 and south < 51.71 and north > 51.82  # the municipality
    assert document["attribution"] == "© OpenStreetMap contributors, OpenMapTiles"
    layers = {layer["id"] for layer in document["vector_layers"]}
    assert {"water", "waterway", "transportation", "landuse", "landcover", "park", "building"} <= layers


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_style_draws_water_green_and_roads_from_the_local_tiles(client: TestClient, theme: str) -> None:
    response = client.get("/v1/basemap/style.json", params={"theme": theme})
    style = response.json()
    assert style["version"] == 8
    source = style["sources"]["openmaptiles"]
    assert source["type"] == "vector"
    assert source["tiles"] == ["http://testserver/v1/basemap/tiles/{z}/{x}/{y}.pbf"]
    assert "glyphs" not in style and "sprite" not in style
    layers = style["layers"]
    assert layers[0]["type"] == "background"
    ids = {layer["id"] for layer in layers}
    assert {"water", "waterway-river", "landcover-grass", "landcover-wood", "park"} <= ids
    roads = {f"road-{part}" for part in ("motorway", "trunk", "primary", "secondary", "tertiary")}
    assert roads | {"road-minor", "road-service", "road-path", "rail"} <= ids
    vector_layers = {layer["id"] for layer in client.get("/v1/basemap/tiles.json").json()["vector_layers"]}
    for layer in layers[1:]:
        assert layer["source"] == "openmaptiles"
        assert layer["source-layer"] in vector_layers
        assert layer["type"] in ("fill", "line")  # no labels (glyphs), no buildings (deck.gl)
        assert layer["source-layer"] != "building"


def test_themes_differ_and_an_unknown_theme_is_400(client: TestClient) -> None:
    def background(theme: str) -> str:
        style = client.get("/v1/basemap/style.json", params={"theme": theme}).json()
        return str(style["layers"][0]["paint"]["background-color"])

    assert background("light") != background("dark")
    assert client.get("/v1/basemap/style.json").json()["metadata"]["tweeling:theme"] == "light"
    problem(client.get("/v1/basemap/style.json", params={"theme": "pink"}), 400)


# -- buildings -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def buildings_response(client: TestClient) -> Any:
    return client.get("/v1/viewer/buildings.arrow", headers={"Accept-Encoding": "gzip"})


@pytest.fixture(scope="module")
def buildings(buildings_response: Any) -> pa.Table:
    return arrow(buildings_response)


def test_buildings_arrow_is_small_cached_and_revalidated(client: TestClient, buildings_response: Any) -> None:
    headers = buildings_response.headers
    assert headers["content-encoding"] == "gzip"
    assert int(headers["content-length"]) < 6_000_000  # the goal of the issue, on the wire
    assert headers["cache-control"] == "private, no-cache" and headers["etag"].startswith('"')
    again = client.get("/v1/viewer/buildings.arrow", headers={"If-None-Match": headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    plain = client.get("/v1/viewer/buildings.arrow", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == buildings_response.content


def test_buildings_arrow_has_every_building_in_store_order(demo_store_url: str, buildings: pa.Table) -> None:
    assert buildings.num_rows == 65_796
    with open_store(demo_store_url, read_only=True) as store:
        stored = store.read_layer("buildings", columns=["building_id", "height_source", "floors_source"])
    assert buildings["id"].to_pylist() == [str(i) for i in stored["building_id"]]
    estimated = buildings["height_estimated"].to_numpy(zero_copy_only=False)
    assert np.array_equal(estimated, (stored["height_source"] == "estimated").to_numpy())
    assert int((~estimated).sum()) == 67  # OSM heights; all others are estimated
    floors_estimated = buildings["floors_estimated"].to_numpy(zero_copy_only=False)
    assert np.array_equal(floors_estimated, (stored["floors_source"] != "osm_height").to_numpy())


def test_buildings_fields_say_where_values_come_from(buildings: pa.Table) -> None:
    schema = buildings.schema
    rings = schema.field("polygon").type.value_type
    vertex = rings.value_type
    assert pa.types.is_list(rings) and pa.types.is_fixed_size_list(vertex)
    assert vertex.list_size == 2 and vertex.value_type == pa.float32()
    assert schema.field("height_m").type == pa.float32()
    assert pa.types.is_dictionary(schema.field("main_use").type)
    height = schema.field("height_m").metadata
    assert height[b"estimated"] == b"true" and b"floors x storey height" in height[b"method"]
    assert height[b"unit"] == b"m" and height[b"title_nl"] == b"Hoogte"
    assert schema.field("footprint_area_m2").metadata[b"estimated"] == b"false"
    assert schema.field("height_estimated").metadata[b"describes"] == b"height_m"
    assert b"OpenStreetMap" in schema.field("polygon").metadata[b"source"]
    lon0, lat0 = json.loads(schema.metadata[b"tweeling:origin"])
    assert 4.6 < lon0 < 4.9 and 51.7 < lat0 < 51.85


@pytest.mark.parametrize("building_id", [1, 528, 5286])
def test_polygons_rebuild_the_footprint_within_a_micro_degree(
    client: TestClient, buildings: pa.Table, building_id: int
) -> None:
    """Building 528 has a courtyard (a hole); 5286 has an OSM height."""
    feature = client.get(f"/v1/collections/buildings/items/{building_id}").json()
    expected = feature["geometry"]["coordinates"]  # CRS84 rings, closed
    row = buildings["id"].to_pylist().index(str(building_id))
    origin = np.array(json.loads(buildings.schema.metadata[b"tweeling:origin"]))
    rings = buildings["polygon"][row].as_py()
    assert len(rings) == len(expected)
    for ring, reference in zip(rings, expected, strict=True):
        assert ring[0] != ring[-1]  # no repeated closing vertex
        assert np.abs(np.array(ring) + origin - np.array(reference[:-1])).max() < 1e-6
    assert buildings["height_m"][row].as_py() == pytest.approx(feature["properties"]["height_m"], abs=1e-4)
    height_from_osm = feature["properties"]["height_source"] == "osm"
    assert buildings["height_estimated"][row].as_py() is not height_from_osm


# -- layer catalogue -------------------------------------------------------------------------


def test_layer_catalogue_lists_basemap_city_indicators_and_sensors(client: TestClient) -> None:
    layers = {layer["id"]: layer for layer in client.get("/v1/viewer/layers").json()["layers"]}
    for layer in layers.values():
        assert {"id", "title", "group", "kind", "source", "attributes", "default_visible"} <= set(layer)
        assert set(layer["title"]) == {"nl", "en"}
        assert layer["group"] in ("city", "indicators", "sensors", "basemap")
        assert layer["kind"] in ("buildings", "polygons", "lines", "points", "grid", "sensors")
        assert 0 <= layer["default_opacity"] <= 1
    assert layers["basemap"]["source"] == "http://testserver/v1/basemap/style.json?theme=light"
    buildings = layers["buildings"]
    assert (buildings["kind"], buildings["group"]) == ("buildings", "city")
    assert buildings["source"] == "http://testserver/v1/viewer/buildings.arrow"
    assert buildings["default_visible"] and buildings["title"] == {"nl": "Gebouwen", "en": "Buildings"}
    height = next(a for a in buildings["attributes"] if a["name"] == "height_m")
    assert height["estimated"] and height["unit"] == "m" and height["method"]
    assert layers["buurten"]["kind"] == "polygons" and layers["roads"]["kind"] == "lines"
    assert layers["roads"]["paged"] and layers["roads"]["feature_count"] == 19_100
    assert "weather" not in layers  # a table, not a map layer
    no2 = layers["indicator:no2_ugm3"]
    assert (no2["group"], no2["kind"]) == ("indicators", "grid")
    assert no2["source"] == "http://testserver/v1/viewer/indicators/grid.arrow"
    assert no2["column"] == "no2_ugm3_baseline" and no2["better"] == "lower"
    assert no2["attributes"][0]["unit"] == "ug/m3" and no2["attributes"][0]["estimated"]
    sensors = {layer["observed_property"]: layer for layer in layers.values() if layer["kind"] == "sensors"}
    assert {"NO2", "PM10", "LAeq", "People count", "Traffic flow"} <= set(sensors)
    assert len(sensors["NO2"]["datastreams"]) == 7
    assert sensors["NO2"]["attributes"][0]["estimated"]  # simulated observations are flagged
    assert sensors["NO2"]["attributes"][0]["method"].startswith("simulated")
    assert sensors["LAeq"]["title"]["nl"] == "Geluid (LAeq)"
    feed = client.get(sensors["NO2"]["source"].removeprefix("http://testserver")).json()["value"]
    assert sorted(stream["@iot.id"] for stream in feed) == sensors["NO2"]["datastreams"]
    assert all(stream["Thing"]["Locations"] for stream in feed)


# -- scenario results ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def greening_job(client: TestClient) -> dict[str, Any]:
    """A synchronous run of example (e): trees on Statenplein."""
    scenario = yaml.safe_load((EXAMPLES / "e-greening-statenplein.yaml").read_text())
    response = client.post("/v1/processes/run-scenario/execution", json={"inputs": {"scenario": scenario}})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_sync_run_is_kept_as_a_job_with_viewer_layers(client: TestClient, greening_job: dict) -> None:
    job_id = greening_job["jobID"]
    assert greening_job["comparison"]["city"] and greening_job["files"] == []
    rels = {link["href"].rsplit("/", 1)[-1] for link in greening_job["links"]}
    assert {"buildings.arrow", "grid.arrow", "roads.arrow", "buurt.arrow"} <= rels
    status = client.get(f"/v1/jobs/{job_id}").json()
    assert status["status"] == "successful" and "synchronous" in status["message"]
    assert client.get(f"/v1/jobs/{job_id}/results").json()["comparison"]["city"]


def test_job_layers_hold_baseline_scenario_and_difference(
    client: TestClient, greening_job: dict, buildings: pa.Table
) -> None:
    job_id = greening_job["jobID"]
    changed = arrow(client.get(f"/v1/jobs/{job_id}/layers/buildings.arrow"))
    indicators = json.loads(changed.schema.metadata[b"tweeling:indicators"])
    assert {item["better"] for item in indicators} <= {"lower", "higher", None}
    assert 0 < changed.num_rows < 65_796
    assert set(changed["id"].to_pylist()) <= set(buildings["id"].to_pylist())
    assert set(changed["change"].to_pylist()) == {"changed"}
    differences = []
    for item in indicators:
        names = [f"{item['id']}_{part}" for part in ("baseline", "scenario", "difference")]
        assert all(changed.schema.field(name).type == pa.float32() for name in names)
        base, scen, diff = (changed[name].to_numpy(zero_copy_only=False) for name in names)
        assert np.allclose(np.nan_to_num(scen - base), np.nan_to_num(diff), atol=1e-3)
        differences.append(np.abs(np.nan_to_num(diff)))
    assert (np.max(differences, axis=0) > 0).all()  # only buildings that changed
    grid = arrow(client.get(f"/v1/jobs/{job_id}/layers/grid.arrow"))
    assert float(grid.schema.metadata[b"tweeling:cell_size_m"]) == 100.0
    assert grid.schema.field("lon").type == pa.float64()
    lon, lat = grid["lon"].to_numpy(), grid["lat"].to_numpy()
    near = np.argmin(np.hypot(lon - 4.66833, lat - 51.81452))  # the centre of Statenplein
    assert grid["pet_c_difference"][int(near)].as_py() < 0  # trees cool the square
    coolest = int(np.nanargmin(grid["pet_c_difference"].to_numpy(zero_copy_only=False)))
    assert abs(lon[coolest] - 4.66833) < 0.003 and abs(lat[coolest] - 51.81452) < 0.002
    buurt = arrow(client.get(f"/v1/jobs/{job_id}/layers/buurt.arrow"))
    assert buurt.num_rows == 130 and buurt["code"][0].as_py().startswith("BU0505")
    roads = arrow(client.get(f"/v1/jobs/{job_id}/layers/roads.arrow"))
    assert roads.num_rows == 0  # greening does not change traffic
    assert {"id", "path", "total_veh_day_difference"} <= set(roads.column_names)


def test_job_layers_can_be_cut_to_the_indicators_shown(client: TestClient, greening_job: dict) -> None:
    path = f"/v1/jobs/{greening_job['jobID']}/layers/grid.arrow"
    grid = arrow(client.get(path, params={"indicators": "pet_c,no2_ugm3"}))
    assert grid.column_names == [
        "lon",
        "lat",
        "no2_ugm3_baseline",
        "no2_ugm3_scenario",
        "no2_ugm3_difference",
        "pet_c_baseline",
        "pet_c_scenario",
        "pet_c_difference",
    ]
    listed = json.loads(grid.schema.metadata[b"tweeling:indicators"])
    assert [item["id"] for item in listed] == ["no2_ugm3", "pet_c"]
    assert grid.schema.metadata[b"tweeling:cell_size_m"] == b"100.0"
    detail = problem(client.get(path, params={"indicators": "pet_c,nope"}), 400)["detail"]
    assert "nope" in detail and "pet_c" in detail


def test_job_layer_errors_are_problems(client: TestClient, greening_job: dict) -> None:
    job_id = greening_job["jobID"]
    assert "levels: buildings" in problem(client.get(f"/v1/jobs/{job_id}/layers/city.arrow"), 400)["detail"]
    problem(client.get("/v1/jobs/0123456789abcdef/layers/grid.arrow"), 404)
    problem(client.get("/v1/jobs/NOT%20A%20JOB/layers/grid.arrow"), 400)


def test_baseline_indicators_per_level(client: TestClient, greening_job: dict) -> None:
    buurt = arrow(client.get("/v1/viewer/indicators/buurt.arrow"))
    assert buurt.num_rows == 130
    assert "share_65_plus_baseline" in buurt.column_names
    assert not [name for name in buurt.column_names if name.endswith(("_scenario", "_difference"))]
    problem(client.get("/v1/viewer/indicators/city.arrow"), 400)


# -- the web app -----------------------------------------------------------------------------


def test_root_and_landing_page_lead_to_the_viewer(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/viewer/"
    links = {link["href"] for link in client.get("/v1").json()["links"]}
    assert {"http://testserver/viewer/", "http://testserver/v1/viewer/layers"} <= links
    assert "http://testserver/v1/basemap/style.json" in links


def test_viewer_is_503_until_built_then_served(client: TestClient, viewer_dir: Path) -> None:
    body = problem(client.get("/viewer/"), 503)
    assert "tweeling viewer build" in body["detail"] and body["code"] == "viewer-not-built"
    dist = viewer_dir / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<!doctype html><div data-testid="map"></div>')
    (dist / "assets" / "main.js").write_text("console.log('tweeling');" * 100)
    page = client.get("/viewer/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-testid="map"' in page.text
    script = client.get("/viewer/assets/main.js", headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200 and script.headers["content-encoding"] == "gzip"
    problem(client.get("/viewer/assets/missing.js"), 404)
