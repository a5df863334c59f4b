"""Clients nobody here wrote read every layer: GDAL/OGR's OAPIF driver (what QGIS uses) and OWSLib.

Counts, a bbox query and a CQL2 filter must give the same features as a direct store query.
"""

from __future__ import annotations

import pyogrio
import pytest
import shapely
from owslib.ogcapi.features import Features

from tweeling.citymodel.demo import DEMO_LAYER_NAMES
from tweeling.core.crs import output_crs
from tweeling.services.features import parse_bbox
from tweeling.store import open_store
from tweeling.store.cql2 import compile_cql2_text

CENTRE_CRS84 = (4.665, 51.810, 4.675, 51.815)
CENTRE_RD = (105_000.0, 423_000.0, 105_500.0, 423_500.0)
FILTER = "height_m > 15 AND main_use = 'residential'"


def store_ids(store_url: str, layer: str, *, bbox=None, rd_bbox=None, cql2: str | None = None) -> set:
    """Primary keys a direct store query returns (bbox in CRS84, or rd_bbox in EPSG:28992).

    A CRS84 bbox is a lon/lat rectangle: the store query uses its RD envelope, then geopandas keeps
    the features that meet the rectangle itself (independently of the API's own bbox code).
    """
    with open_store(store_url, read_only=True) as store:
        info = store.layer(layer)
        where = [compile_cql2_text(cql2, info.schema.fields, dialect=store.dialect)] if cql2 else []
        if bbox is None:
            _, rows = store.select_rows(
                layer, columns=[info.schema.primary_key], bbox=rd_bbox, where=where, geometry=False
            )
            return {row[0] for row in rows}
        envelope = parse_bbox(",".join(map(str, bbox)), output_crs(None))
        frame = store.read_layer(layer, columns=[info.schema.primary_key], bbox=envelope, where=where)
    inside = frame.to_crs(4326).intersects(shapely.box(*bbox))
    return set(frame.loc[inside, info.schema.primary_key])


@pytest.fixture(scope="module")
def gdal_source(server_url: str) -> str:
    return f"OAPIF:{server_url}"


def test_gdal_lists_every_layer(gdal_source: str) -> None:
    names = {str(row[0]) for row in pyogrio.list_layers(gdal_source)}
    assert set(DEMO_LAYER_NAMES) <= names


@pytest.mark.parametrize("layer", DEMO_LAYER_NAMES)
def test_gdal_reads_every_feature_of_every_layer(gdal_source: str, demo_store_url: str, layer: str) -> None:
    frame = pyogrio.read_dataframe(
        gdal_source, layer=layer, read_geometry=layer != "weather", PAGE_SIZE="10000"
    )
    with open_store(demo_store_url, read_only=True) as store:
        info = store.layer(layer)
    assert len(frame) == info.feature_count
    key = info.schema.primary_key
    if key and key in frame.columns and layer != "weather":
        assert set(frame[key]) == store_ids(demo_store_url, layer)


def test_gdal_uses_the_storage_crs_and_its_bbox_and_filter_match_the_store(
    gdal_source: str, demo_store_url: str
) -> None:
    info = pyogrio.read_info(gdal_source, layer="buildings")
    assert info["crs"] == "EPSG:28992"  # GDAL picks storageCrs (Part 2), as QGIS does
    in_box = pyogrio.read_dataframe(gdal_source, layer="buildings", bbox=CENTRE_RD, columns=["building_id"])
    expected = store_ids(demo_store_url, "buildings", rd_bbox=CENTRE_RD)
    assert 100 < len(expected) < 5000
    assert set(in_box["building_id"]) == expected
    filtered = pyogrio.read_dataframe(
        gdal_source, layer="buildings", where=FILTER, columns=["building_id"], read_geometry=False
    )
    assert set(filtered["building_id"]) == store_ids(demo_store_url, "buildings", cql2=FILTER)


def _all_items(client: Features, layer: str, **params) -> list[dict]:
    features, offset = [], 0
    while True:
        page = client.collection_items(layer, limit=10_000, offset=offset, **params)
        features.extend(page["features"])
        offset += page["numberReturned"]
        if page["numberReturned"] == 0 or offset >= page["numberMatched"]:
            return features


def test_owslib_reads_every_layer(server_url: str, demo_store_url: str) -> None:
    client = Features(server_url)
    ids = {c["id"] for c in client.collections()["collections"]}
    assert set(DEMO_LAYER_NAMES) <= ids
    with open_store(demo_store_url, read_only=True) as store:
        counts = {info.name: info.feature_count for info in store.list_layers()}
    for layer in DEMO_LAYER_NAMES:
        assert len(_all_items(client, layer)) == counts[layer], layer


def test_owslib_bbox_and_cql2_match_the_store(server_url: str, demo_store_url: str) -> None:
    client = Features(server_url)
    boxed = _all_items(client, "buildings", bbox=list(CENTRE_CRS84))
    assert {f["id"] for f in boxed} == store_ids(demo_store_url, "buildings", bbox=CENTRE_CRS84)
    filtered = _all_items(client, "buildings", filter=FILTER, **{"filter-lang": "cql2-text"})
    assert {f["id"] for f in filtered} == store_ids(demo_store_url, "buildings", cql2=FILTER)
    assert all(f["properties"]["height_m"] > 15 for f in filtered)
