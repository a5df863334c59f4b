"""The dataset catalogue API: open metadata as JSON and HTML, lineage graphs, the describedby link
of every collection, and the lineage of a real scenario run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.services.settings import Settings, load_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def settings(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(store_url=demo_store_url, data_dir=tmp_path_factory.mktemp("catalogue"))


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def test_the_catalogue_lists_every_dataset_for_anyone(client: TestClient) -> None:
    response = client.get("/v1/catalogue")
    assert response.status_code == 200, response.text
    datasets = {item["id"]: item for item in response.json()["datasets"]}
    assert {"buildings", "weather", "sensor_observations", "scenario_results", "audit_trail"} <= set(datasets)
    assert {"user_accounts", "ethics_reviews", "residents"} <= set(datasets)
    residents = datasets["residents"]
    assert residents["classification"] == "personal" and residents["personal_data"] is True
    assert "Wet BRP" in residents["legal_basis"] and residents["purpose"] and residents["retention"]
    assert datasets["audit_trail"]["classification"] == "confidential"
    buildings = datasets["buildings"]
    assert buildings["fields"]["residents_est"]["classification"] == "personal"
    assert buildings["licence"] == "ODbL-1.0 AND CC0-1.0 AND CC-BY-4.0"
    assert buildings["endpoints"][0] == "http://testserver/v1/collections/buildings"
    rels = {link["rel"]: link["href"] for link in buildings["links"]}
    assert rels["self"] == "http://testserver/v1/catalogue/buildings"
    assert rels["describes"] == "http://testserver/v1/collections/buildings"


def test_an_entry_resolves_its_inputs_and_sources(client: TestClient) -> None:
    entry = client.get("/v1/catalogue/buildings").json()
    inputs = {item["file"]: item for item in entry["lineage"]["inputs"]}
    assert inputs["osm_buildings.parquet"]["rows"] == 65_796
    assert inputs["osm_buildings.parquet"]["raw"] == "osm_openmaptiles_2021_dordrecht.gpkg"
    assert inputs["bag_verblijfsobjecten_2021.parquet"]["source"] == "bag_verblijfsobjecten_2021"
    assert re.fullmatch(r"[0-9a-f]{64}", inputs["osm_poi.parquet"]["sha256"])
    assert entry["lineage"]["derived_from"] == ["buurten"]
    assert entry["lineage"]["steps"][0]["code"] == "tweeling.citymodel.buildings:estimate_buildings"
    observations = client.get("/v1/catalogue/sensor_observations").json()
    assert observations["synthetic"] is True
    assert {source["id"] for source in observations["lineage"]["sources"]} == {
        "luchtmeetnet_api",
        "samenmeten_api",
    }


def test_html_pages_show_the_legal_basis_of_personal_data(client: TestClient) -> None:
    listing = client.get("/v1/catalogue", params={"f": "html"})
    assert listing.status_code == 200 and listing.headers["content-type"].startswith("text/html")
    assert (
        "Dataset catalogue" in listing.text
        and 'href="http://testserver/v1/catalogue/residents?f=html"' in listing.text
    )
    page = client.get("/v1/catalogue/residents", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h2>Personal data</h2>" in page.text and "Legal basis" in page.text and "Wet BRP" in page.text
    assert "small-cell suppression" in page.text
    buildings = client.get("/v1/catalogue/buildings?f=html").text
    assert "<code>residents_est</code>" in buildings and "docs/buildings-method.md" in buildings
    assert "osm_buildings.parquet" in buildings and "estimate_buildings" in buildings
    assert client.get("/v1/catalogue/roads?f=html").text.count("<h2>Personal data</h2>") == 0


def test_lineage_route_gives_the_graph(client: TestClient) -> None:
    graph = client.get("/v1/catalogue/wijken/lineage").json()
    assert graph["root"] == "dataset:wijken"
    ids = {node["id"] for node in graph["nodes"]}
    assert {"dataset:buurten", "raw:cbs_kwb_2024_wijken_gemeente_dordrecht.csv", "source:cbs_kwb_2024"} <= ids
    assert {"from": "dataset:buurten", "to": "step:wijken", "relation": "used"} in graph["edges"]


def test_unknown_datasets_and_jobs_are_404(client: TestClient) -> None:
    assert "no dataset 'nope'" in problem(client.get("/v1/catalogue/nope"), 404)["detail"]
    problem(client.get("/v1/catalogue/nope/lineage"), 404)
    assert "no job" in problem(client.get("/v1/catalogue/runs/0123abcd/lineage"), 404)["detail"]
    problem(client.get("/v1/catalogue/runs/NOT%20AN%20ID/lineage"), 400)


def test_every_catalogued_collection_links_to_its_entry(client: TestClient) -> None:
    collections = client.get("/v1/collections").json()["collections"]
    assert len(collections) == 11
    for collection in collections:
        links = [link for link in collection["links"] if link["rel"] == "describedby"]
        assert links == [
            {
                "rel": "describedby",
                "type": "application/json",
                "title": "Catalogue entry",
                "href": f"http://testserver/v1/catalogue/{collection['id']}",
            }
        ]
    entry = client.get(links[0]["href"].removeprefix("http://testserver"))
    assert entry.status_code == 200 and entry.json()["id"] == collections[-1]["id"]
    one = client.get("/v1/collections/buildings").json()
    assert "http://testserver/v1/catalogue/buildings" in [link["href"] for link in one["links"]]


def test_lineage_of_a_real_scenario_run(client: TestClient, settings: Settings) -> None:
    analyst = bearer(settings, "analyst")
    scenario = yaml.safe_load((EXAMPLES / "e-greening-statenplein.yaml").read_text())
    stored = client.post("/v1/scenarios", json=scenario, headers=analyst)
    assert stored.status_code == 201, stored.text
    scenario_id = stored.json()["id"]
    second = client.put(
        f"/v1/scenarios/{scenario_id}", json={**scenario, "description": "second version"}, headers=analyst
    )
    assert second.json()["version"] == 2
    response = client.post(
        "/v1/processes/run-scenario/execution",
        json={"inputs": {"scenario_id": scenario_id, "version": 1}},
        headers=analyst,
    )
    assert response.status_code == 200, response.text
    job_id = re.search(r"/jobs/([0-9a-f]+)>", response.headers["Link"]).group(1)
    lineage = client.get(f"/v1/catalogue/runs/{job_id}/lineage", headers=analyst)
    assert lineage.status_code == 200, lineage.text
    graph = lineage.json()
    nodes = {node["id"]: node for node in graph["nodes"]}
    assert graph["root"] == f"run:{job_id}" and nodes[f"run:{job_id}"]["status"] == "successful"
    assert f"scenario:{scenario_id}@v1" in nodes, "the run used version 1, not the latest"
    assert {"from": f"run:{job_id}", "to": f"results:{job_id}", "relation": "generated"} in graph["edges"]
    models = {node["model_id"]: node for node in nodes.values() if node["kind"] == "model"}
    described = {model["id"]: model["version"] for model in client.get("/v1/models").json()["models"]}
    assert {model_id: node["version"] for model_id, node in models.items()} == described
    assert models["heat_pet"]["recomputed"] is True and models["traffic"]["recomputed"] is False
    assert (
        "raw:osm_openmaptiles_2021_dordrecht.gpkg" in nodes
        and "raw:knmi_daily_etmgeg_348_cabauw.txt" in nodes
    )
    heat = f"model:heat_pet@{models['heat_pet']['version']}"
    assert {"from": "dataset:weather", "to": heat, "relation": "used"} in graph["edges"]
    assert {"from": f"scenario:{scenario_id}@v1", "to": heat, "relation": "used"} in graph["edges"]
    problem(client.get(f"/v1/catalogue/runs/{job_id}/lineage"), 404)
    problem(client.get(f"/v1/catalogue/runs/{job_id}/lineage", headers=bearer(settings, "resident")), 404)
