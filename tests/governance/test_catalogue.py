"""The dataset catalogue: complete for the demo store, validated at load, hidden fields per role,
lineage down to the raw files, and the lineage of a scenario run."""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest
import yaml

from tweeling.citymodel.datadir import DEMO_DIR
from tweeling.core.errors import ConfigurationError, NotFoundError
from tweeling.governance.catalogue import (
    CATALOGUE_FILE,
    Catalogue,
    RunRecord,
    stored_scenario_version,
)
from tweeling.governance.roles import ANONYMOUS, Classification, Principal, Role
from tweeling.scenarios.registry import load_registry
from tweeling.store import open_store

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((DEMO_DIR / "manifest.json").read_text())["files"]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


def principal(*roles: Role) -> Principal:
    return Principal(subject="someone", roles=frozenset(roles), token_id="t1")


def upstream_of(graph: dict[str, Any], node: str) -> set[str]:
    """Every node from which ``node`` can be reached along the graph's edges."""
    parents: dict[str, list[str]] = {}
    for edge in graph["edges"]:
        parents.setdefault(edge["to"], []).append(edge["from"])
    seen: set[str] = set()
    queue = deque([node])
    while queue:
        for parent in parents.get(queue.popleft(), []):
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return seen


# -- completeness against the demo store -------------------------------------------------------


def test_every_layer_of_the_demo_store_has_an_entry(catalogue: Catalogue, demo_store_url: str) -> None:
    with open_store(demo_store_url, read_only=True) as store:
        layers = {info.name for info in store.list_layers()}
    assert len(layers) == 11
    missing = layers - set(catalogue.layer_ids())
    assert not missing, f"layers without a catalogue entry: {sorted(missing)}"
    assert set(catalogue.layer_ids()) == layers, "catalogue lists layers the demo import does not make"


def test_field_classifications_and_estimates_agree_with_the_store_schemas(
    catalogue: Catalogue, demo_store_url: str
) -> None:
    with open_store(demo_store_url, read_only=True) as store:
        schemas = {info.name: info.schema for info in store.list_layers()}
    for dataset_id in catalogue.layer_ids():
        entry, schema = catalogue.entry(dataset_id), schemas[dataset_id]
        assert set(entry.fields) <= set(schema.field_names), dataset_id
        assert set(entry.estimated_fields) == set(schema.estimated_fields), dataset_id
    assert catalogue.entry("buildings").fields["residents_est"].classification is Classification.PERSONAL


def test_every_shipped_file_is_an_input_of_a_dataset(catalogue: Catalogue) -> None:
    inputs = [name for entry in catalogue.entries() for name in entry.lineage.inputs]
    uncovered = [
        name
        for name in MANIFEST
        if name not in inputs and not any(item.endswith("/") and name.startswith(item) for item in inputs)
    ]
    assert not uncovered


def test_input_checksums_and_rows_are_those_of_the_manifest_and_the_files(catalogue: Catalogue) -> None:
    buildings = catalogue.input_file("osm_buildings.parquet")
    assert buildings.rows == 65_796
    assert buildings.raw == "osm_openmaptiles_2021_dordrecht.gpkg" and buildings.part == "buildings"
    assert buildings.source == "osm_openmaptiles_2021"
    for name in ("osm_buildings.parquet", "bag_verblijfsobjecten_2021.parquet", "cbs_buurten_2020.parquet"):
        shipped = catalogue.input_file(name)
        assert shipped.sha256 == MANIFEST[name]["sha256"]
        assert shipped.sha256 == hashlib.sha256((DEMO_DIR / name).read_bytes()).hexdigest()
    assert catalogue.input_file("bag_verblijfsobjecten_2021.parquet").rows == 67_097
    tiles = catalogue.input_file("basemap/tiles/")
    assert tiles.files == sum(1 for name in MANIFEST if name.startswith("basemap/tiles/"))
    assert tiles.raw == "osm_vector_tiles_2021_openmaptiles/" and tiles.rows is None


def test_every_processing_step_names_code_that_exists(catalogue: Catalogue) -> None:
    for entry in catalogue.entries():
        for step in entry.lineage.steps:
            if step.location.endswith(".py"):
                text = (ROOT / step.location).read_text()
                assert f"def {step.attribute}(" in text, step.code
                continue
            target: Any = importlib.import_module(step.location)
            for part in step.attribute.split("."):
                target = getattr(target, part)
            assert callable(target), step.code


# -- validation at load --------------------------------------------------------------------------


def shipped_document() -> dict[str, Any]:
    return yaml.safe_load(CATALOGUE_FILE.read_text())


def dataset(document: dict[str, Any], dataset_id: str) -> dict[str, Any]:
    return next(item for item in document["datasets"] if item["id"] == dataset_id)


def load_changed(tmp_path: Path, document: dict[str, Any]) -> Catalogue:
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return Catalogue(path)


def test_the_shipped_catalogue_loads_with_its_personal_datasets(catalogue: Catalogue) -> None:
    personal = {entry.id for entry in catalogue.entries() if entry.is_personal}
    assert personal == {"buildings", "scenarios", "residents", "user_accounts"}
    for dataset_id in personal:
        entry = catalogue.entry(dataset_id)
        assert entry.legal_basis and entry.purpose and entry.retention
    assert "BRP" in catalogue.entry("buildings").fields["residents_est"].reason


@pytest.mark.parametrize(
    ("dataset_id", "words"),
    [
        ("residents", "dataset is personal but names no legal_basis"),
        ("user_accounts", "dataset is personal but names no legal_basis"),
        ("buildings", "dataset has personal fields but names no legal_basis"),
    ],
)
def test_personal_data_without_a_legal_basis_fails_to_load(
    tmp_path: Path, dataset_id: str, words: str
) -> None:
    document = shipped_document()
    del dataset(document, dataset_id)["legal_basis"]
    with pytest.raises(ConfigurationError, match=f"dataset '{dataset_id}'.*{words}"):
        load_changed(tmp_path, document)


def test_personal_data_without_purpose_or_retention_fails_to_load(tmp_path: Path) -> None:
    document = shipped_document()
    entry = dataset(document, "residents")
    entry["purpose"] = ""
    del entry["retention"]
    with pytest.raises(ConfigurationError, match="names no purpose, retention"):
        load_changed(tmp_path, document)


def test_a_new_personal_field_needs_a_legal_basis(tmp_path: Path) -> None:
    document = shipped_document()
    dataset(document, "roads")["fields"] = {"length_m": {"classification": "personal", "reason": "test"}}
    with pytest.raises(ConfigurationError, match=r"dataset 'roads'.*personal fields"):
        load_changed(tmp_path, document)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda d: dataset(d, "wijken")["lineage"].update(inputs=["nope.csv"]),
            "not in the demo data's manifest",
        ),
        (
            lambda d: dataset(d, "buurten")["lineage"].update(derived_from=["wijken"]),
            "cycle: buurten -> wijken",
        ),
        (lambda d: dataset(d, "wijken")["lineage"].update(derived_from=["nope"]), "derives from 'nope'"),
        (lambda d: dataset(d, "wijken")["lineage"].update(sources=["nope"]), "unknown source 'nope'"),
        (
            lambda d: d["sources"]["brp"].update(raw_files=["cbs_buurten_2020_dordrecht.gpkg"]),
            "exactly one source",
        ),
        (lambda d: dataset(d, "audit_trail").update(classification="secret"), "audit_trail"),
        (
            lambda d: dataset(d, "buildings")["fields"].update(
                footprint_area_m2={"classification": "open", "reason": "x"}
            ),
            "not stricter than the dataset",
        ),
        (lambda d: d["datasets"].append(copy.deepcopy(dataset(d, "water"))), "ids listed twice: water"),
        (lambda d: dataset(d, "water").update(id="runs"), "'runs' is reserved"),
        (lambda d: dataset(d, "sensor_observations").pop("synthetic_method"), "synthetic_method"),
    ],
)
def test_an_inconsistent_catalogue_fails_to_load(tmp_path: Path, change: Any, words: str) -> None:
    document = shipped_document()
    change(document)
    with pytest.raises(ConfigurationError) as raised:
        load_changed(tmp_path, document)
    assert words in raised.value.message
    assert "\n" not in raised.value.message


def test_an_unreadable_catalogue_fails_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text("datasets: [\n  - id: x\n    title: a: b\n")
    with pytest.raises(ConfigurationError, match="cannot be read") as raised:
        Catalogue(path)
    assert "\n" not in raised.value.message


# -- classification and hidden fields ------------------------------------------------------------


def test_classifications(catalogue: Catalogue) -> None:
    assert catalogue.classification("buildings") is Classification.OPEN
    assert catalogue.classification("audit_trail") is Classification.CONFIDENTIAL
    assert catalogue.classification("user_accounts") is Classification.PERSONAL
    assert catalogue.classification("residents") is Classification.PERSONAL
    assert catalogue.classification("ethics_reviews") is Classification.INTERNAL
    assert catalogue.classification("no_such_layer") is Classification.OPEN
    with pytest.raises(NotFoundError, match="no dataset 'no_such_layer'"):
        catalogue.entry("no_such_layer")


@pytest.mark.parametrize(
    ("roles", "hidden"),
    [
        ((Role.PUBLIC,), {"residents_est"}),
        ((Role.RESIDENT,), {"residents_est"}),
        ((Role.ETHICS,), {"residents_est"}),
        ((Role.ANALYST,), set()),
        ((Role.DATA_OWNER,), set()),
        ((Role.ADMIN,), set()),
        ((Role.RESIDENT, Role.ANALYST), set()),
    ],
)
def test_hidden_fields_of_buildings_per_role(
    catalogue: Catalogue, roles: tuple[Role, ...], hidden: set[str]
) -> None:
    assert catalogue.hidden_fields("buildings", principal(*roles)) == hidden


def test_hidden_fields_elsewhere(catalogue: Catalogue) -> None:
    assert catalogue.hidden_fields("buildings", ANONYMOUS) == {"residents_est"}
    assert catalogue.hidden_fields("scenarios", ANONYMOUS) == {"author"}
    assert catalogue.hidden_fields("roads", ANONYMOUS) == frozenset()
    assert catalogue.hidden_fields("no_such_layer", ANONYMOUS) == frozenset()


# -- lineage -------------------------------------------------------------------------------------


def test_lineage_of_buildings_reaches_the_osm_bag_and_cbs_raw_files(catalogue: Catalogue) -> None:
    graph = catalogue.lineage("buildings")
    assert graph["root"] == "dataset:buildings"
    nodes = {node["id"]: node for node in graph["nodes"]}
    upstream = upstream_of(graph, "dataset:buildings")
    for raw, source in [
        ("raw:osm_openmaptiles_2021_dordrecht.gpkg", "source:osm_openmaptiles_2021"),
        ("raw:bag_verblijfsobjecten_2021_dordrecht.csv", "source:bag_verblijfsobjecten_2021"),
        ("raw:cbs_buurten_2020_dordrecht.gpkg", "source:cbs_wijkbuurtkaart_2020"),
    ]:
        assert raw in upstream and source in upstream
        assert source in upstream_of(graph, raw)
    assert "dataset:buurten" in upstream
    assert nodes["source:osm_openmaptiles_2021"]["licence"] == "ODbL-1.0 AND CC-BY-4.0"
    assert nodes["file:osm_buildings.parquet"]["sha256"] == MANIFEST["osm_buildings.parquet"]["sha256"]
    step = nodes["step:buildings"]["steps"][0]
    assert step["code"] == "tweeling.citymodel.buildings:estimate_buildings"
    assert nodes["step:file:osm_buildings.parquet"]["steps"][0]["code"] == "scripts/build_demo_data.py:build"


def test_every_lineage_is_a_graph_of_known_nodes_without_cycles(catalogue: Catalogue) -> None:
    for entry in catalogue.entries():
        graph = catalogue.lineage(entry.id)
        ids = [node["id"] for node in graph["nodes"]]
        assert len(ids) == len(set(ids))
        assert all(edge["from"] in ids and edge["to"] in ids for edge in graph["edges"])
        assert graph["root"] not in upstream_of(graph, graph["root"]), entry.id
        sinks = set(ids) - {edge["from"] for edge in graph["edges"]}
        assert sinks == {graph["root"]}, entry.id


def test_lineage_of_derived_datasets_forms_a_graph(catalogue: Catalogue) -> None:
    residents = upstream_of(catalogue.lineage("residents"), "dataset:residents")
    assert {
        "dataset:buildings",
        "dataset:buurten",
        "dataset:wijken",
        "raw:osm_openmaptiles_2021_dordrecht.gpkg",
    } <= (residents)
    observations = upstream_of(catalogue.lineage("sensor_observations"), "dataset:sensor_observations")
    assert {"source:luchtmeetnet_api", "source:samenmeten_api", "source:knmi_daggegevens_348"} <= observations


# -- lineage of a scenario run -------------------------------------------------------------------

RECORDED_JOB = {
    "record": {
        "jobID": "3f2b9c0e5d8a4b7c9e1f2a3b4c5d6e7f",
        "processID": "run-scenario",
        "type": "process",
        "created": "2026-11-23T15:04:07Z",
        "updated": "2026-11-23T15:04:31Z",
        "finished": "2026-11-23T15:04:31Z",
        "progress": 100,
        "status": "successful",
        "message": "done",
        "scenario": "Greening Statenplein",
        "scenario_id": "greening-statenplein",
    },
    "inputs": {
        "scenario": {
            "name": "Greening Statenplein",
            "interventions": [{"type": "greening"}],
            "parameters": {},
        },
        "scenario_id": "greening-statenplein",
    },
    "result": {"recomputed": ["heat_pet", "liveability"]},
}


def test_stored_scenario_version_is_the_latest_equal_version_before_the_job() -> None:
    scenario = RECORDED_JOB["inputs"]["scenario"]
    other = {**scenario, "name": "changed"}
    versions = {
        1: {"scenario": scenario, "updated": "2026-11-23T15:00:00Z"},
        2: {"scenario": other, "updated": "2026-11-23T15:01:00Z"},
        3: {"scenario": scenario, "updated": "2026-11-23T15:02:00Z"},
        4: {"scenario": scenario, "updated": "2026-11-23T15:09:00Z"},
    }
    assert stored_scenario_version(scenario, versions, "2026-11-23T15:04:07Z") == 3
    assert stored_scenario_version(other, versions, "2026-11-23T15:00:30Z") is None


def test_run_lineage_of_a_recorded_job(catalogue: Catalogue) -> None:
    registry = load_registry()
    models = [registry.models[model_id].info for model_id in registry.order()]
    run = RunRecord.from_job(
        RECORDED_JOB["record"], RECORDED_JOB["inputs"], RECORDED_JOB["result"], scenario_version=2
    )
    graph = catalogue.run_lineage(run, models)
    nodes = {node["id"]: node for node in graph["nodes"]}
    job = "3f2b9c0e5d8a4b7c9e1f2a3b4c5d6e7f"
    assert graph["root"] == f"run:{job}"
    assert {"from": f"run:{job}", "to": f"results:{job}", "relation": "generated"} in graph["edges"]
    upstream = upstream_of(graph, f"results:{job}")
    assert "scenario:greening-statenplein@v2" in upstream
    for info in models:
        node = nodes[f"model:{info.id}@{info.version}"]
        assert node["recomputed"] is (info.id in {"heat_pet", "liveability"})
        assert f"model:{info.id}@{info.version}" in upstream
    heat = next(info for info in models if info.id == "heat_pet")
    heat_inputs = upstream_of(graph, f"model:heat_pet@{heat.version}")
    assert {
        "dataset:buildings",
        "dataset:green",
        "dataset:water",
        "dataset:weather",
        "dataset:buurten",
    } <= heat_inputs
    assert "scenario:greening-statenplein@v2" in heat_inputs, "trees and depaved come from the scenario"
    traffic = next(info for info in models if info.id == "traffic")
    assert f"model:traffic@{traffic.version}" in upstream_of(
        graph, f"model:air_no2@{nodes_version(nodes, 'air_no2')}"
    )
    assert "raw:osm_openmaptiles_2021_dordrecht.gpkg" in upstream
    assert "raw:knmi_daily_etmgeg_348_cabauw.txt" in upstream


def nodes_version(nodes: dict[str, dict[str, Any]], model_id: str) -> str:
    return next(node["version"] for node in nodes.values() if node.get("model_id") == model_id)


def test_run_lineage_of_an_unfinished_inline_scenario_has_no_results(catalogue: Catalogue) -> None:
    record = {**RECORDED_JOB["record"], "status": "running", "finished": None, "scenario_id": None}
    run = RunRecord.from_job(record, {"scenario": {"name": "draft"}, "scenario_id": None})
    registry = load_registry()
    graph = catalogue.run_lineage(run, [registry.models["noise_road"].info])
    ids = {node["id"] for node in graph["nodes"]}
    assert not any(node_id.startswith("results:") for node_id in ids)
    assert f"scenario:{record['jobID']}" in ids
    noise = next(node for node in graph["nodes"] if node["kind"] == "model")
    assert noise["recomputed"] is None and noise["version_recorded_by_job"] is False
