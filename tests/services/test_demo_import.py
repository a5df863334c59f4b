"""The Dordrecht demo import: layers, counts and the figures the issue asks for, on both stores."""

from __future__ import annotations

import pytest

from tests.helpers import fresh_postgres_schema, postgres_url_or_skip
from tweeling.citymodel.demo import DEMO_LAYER_NAMES
from tweeling.services.citymodel import describe_store, import_demo
from tweeling.store import open_store


def check_demo_store(url: str) -> None:
    with open_store(url, read_only=True) as store:
        counts = {info.name: info.feature_count for info in store.list_layers()}
        assert set(DEMO_LAYER_NAMES) <= set(counts)
        assert counts["buurten"] == 130
        assert counts["wijken"] == 14
        assert counts["buildings"] == 65_796
        assert counts["sensor_sites"] == 32
        buurten = store.read_layer("buurten", columns=["bu_code", "aant_inw", "suppressed_fields"])
        assert int(buurten["aant_inw"].sum()) == 119_030
        assert (
            buurten.loc[buurten.bu_code == "BU05059997", "suppressed_fields"].str.contains("aant_inw").all()
        )
        roads = store.layer("roads")
        assert roads.report["largest_component_length_share"] >= 0.95
        buildings = store.read_layer("buildings", columns=["height_source", "residents_est"])
        assert (buildings["height_source"] == "osm").sum() == 67  # 68 OSM-tagged, one without a usable value
        assert buildings["residents_est"].sum() == pytest.approx(119_030, abs=1)
        assert "height_m" in store.layer("buildings").schema.estimated_fields
        assert store.count("buildings", bbox=(105_000, 423_000, 106_000, 424_000)) > 1000


def test_demo_import_on_duckdb_is_complete(demo_store_url: str) -> None:
    check_demo_store(demo_store_url)


def test_demo_import_is_idempotent(demo_store_url: str) -> None:
    with open_store(demo_store_url) as store:
        before = {i.name: i.imported_at for i in store.list_layers()}
        result = import_demo(store)
        assert result.imported is False
        assert {i.name: i.imported_at for i in store.list_layers()} == before


def test_describe_store_gives_crs_extent_and_flags(demo_store_url: str) -> None:
    with open_store(demo_store_url, read_only=True) as store:
        summaries = {s.name: s for s in describe_store(store)}
    buildings = summaries["buildings"]
    assert buildings.crs == "EPSG:28992"
    minx, miny, maxx, maxy = buildings.extent  # type: ignore[misc]
    assert 102_000 < minx < maxx < 121_000 and 414_000 < miny < maxy < 427_000
    lon_min, lat_min, lon_max, lat_max = buildings.extent_wgs84  # type: ignore[misc]
    assert 4.6 < lon_min < lon_max < 4.9 and 51.7 < lat_min < lat_max < 51.83
    assert summaries["weather"].geometry_type is None and summaries["weather"].crs is None


def test_demo_import_on_postgis_matches(tmp_path) -> None:
    with fresh_postgres_schema(postgres_url_or_skip()) as url:
        with open_store(url) as store:
            assert import_demo(store).imported
        check_demo_store(url)
