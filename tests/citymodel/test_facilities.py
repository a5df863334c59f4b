"""Facilities from the OSM POI layer: mapping, exact counts on the shipped Dordrecht data, schema."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tweeling.citymodel.facilities import (
    FACILITIES_SCHEMA,
    FACILITY_TYPE_NAMES,
    FACILITY_TYPES,
    build_facilities,
    facility_counts,
)
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import is_identifier

EXPECTED_COUNTS = {
    "gp": 16,
    "dentist": 5,
    "pharmacy": 14,
    "hospital": 4,
    "clinic": 1,
    "care_home": 4,
    "supermarket": 27,
    "convenience": 7,
    "greengrocer": 4,
    "marketplace": 1,
    "kindergarten": 3,
    "school": 89,
    "college": 9,
    "university": 2,
    "library": 5,
    "community_centre": 6,
    "town_hall": 2,
    "post_office": 6,
    "police": 5,
    "fire_station": 3,
    "place_of_worship": 37,
    "sports_centre": 12,
    "swimming": 4,
    "playground": 72,
    "museum": 9,
    "theatre": 5,
    "cinema": 2,
    "bus_station": 1,
    "ferry_terminal": 11,
}


@pytest.fixture(scope="module")
def poi(demo_dir: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(demo_dir / "osm_poi.parquet")


@pytest.fixture(scope="module")
def facilities(poi: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return build_facilities(poi)


def test_counts_per_type_on_dordrecht(facilities: gpd.GeoDataFrame) -> None:
    assert facility_counts(facilities) == EXPECTED_COUNTS
    assert len(facilities) == 366 == sum(EXPECTED_COUNTS.values())


def test_every_mapped_pair_exists_in_the_data(poi: gpd.GeoDataFrame) -> None:
    present = set(zip(poi["class"], poi["subclass"], strict=True))
    assert set(FACILITY_TYPES) <= present
    assert set(FACILITY_TYPE_NAMES) == set(EXPECTED_COUNTS)


def test_bookshops_and_shops_are_not_facilities(facilities: gpd.GeoDataFrame) -> None:
    assert not ((facilities["osm_class"] == "library") & (facilities["osm_subclass"] == "books")).any()
    assert "restaurant" not in set(facilities["osm_class"])
    assert "parking" not in set(facilities["osm_class"])


def test_known_facilities(facilities: gpd.GeoDataFrame) -> None:
    by_name = facilities.set_index("name", drop=False)
    assert by_name.loc["Albert Schweitzer Ziekenhuis, loc. Dordwijk", "facility_type"] == "hospital"
    assert by_name.loc["Stadsbibliotheek Dordrecht", "facility_type"] == "library"
    assert by_name.loc["Verpleeghuis Crabbehoff", "facility_type"] == "care_home"
    assert by_name.loc["Centraal Station", "facility_type"] == "bus_station"
    assert (facilities["osm_subclass"] == "kindergarten").sum() == 3


def test_columns_ids_and_geometry(facilities: gpd.GeoDataFrame) -> None:
    assert list(facilities.columns) == [*FACILITIES_SCHEMA.field_names, "geometry"]
    assert facilities.crs.to_epsg() == 28992
    assert facilities["facility_id"].tolist() == list(range(1, len(facilities) + 1))
    assert (facilities.geom_type == "Point").all()
    assert facilities.geometry.is_valid.all()
    assert facilities["capacity"].isna().all()
    assert facilities["capacity_source"].isna().all()
    assert facilities["name"].notna().sum() == 259  # playgrounds, post offices, ... are often unnamed
    # inside the Dordrecht bbox (RD)
    minx, miny, maxx, maxy = facilities.total_bounds
    assert minx >= 102000 and maxx <= 120400
    assert miny >= 414200 and maxy <= 426400


def test_schema_is_complete() -> None:
    assert FACILITIES_SCHEMA.primary_key == "facility_id"
    assert all(is_identifier(name) for name in FACILITIES_SCHEMA.field_names)
    assert FACILITIES_SCHEMA.field("capacity").unit == "persons"
    assert any("school" in note and "level" in note for note in FACILITIES_SCHEMA.notes)


def test_small_frame_and_reprojection() -> None:
    frame = gpd.GeoDataFrame(
        {
            "class": ["doctors", "shop", None, "school"],
            "subclass": ["doctors", "yes", None, "school"],
            "name:latin": ["Huisarts", "Winkel", None, float("nan")],
        },
        geometry=[shapely.Point(4.67, 51.81)] * 4,
        crs=4326,
    )
    out = build_facilities(frame)
    assert out["facility_type"].tolist() == ["gp", "school"]
    assert out["name"].tolist() == ["Huisarts", None]
    assert out["facility_id"].tolist() == [1, 2]
    assert out.crs.to_epsg() == 28992
    assert 100000 < out.geometry.x.iloc[0] < 110000


def test_missing_columns_are_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="subclass"):
        build_facilities(gpd.GeoDataFrame({"class": ["x"]}, geometry=[shapely.Point(0, 0)], crs=28992))
    with pytest.raises(InvalidInputError, match="CRS"):
        build_facilities(
            gpd.GeoDataFrame({"class": ["x"], "subclass": ["y"]}, geometry=[shapely.Point(0, 0)])
        )
    with pytest.raises(InvalidInputError):
        build_facilities(pd.DataFrame({"class": ["x"], "subclass": ["y"]}))
