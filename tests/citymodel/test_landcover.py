"""Green space, water and waterways from the OSM layers: counts, areas, overlaps, repairs, schemas."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tweeling.citymodel.landcover import (
    DESIGNATION_TYPES,
    GREEN_SCHEMA,
    WATER_SCHEMA,
    WATERWAYS_SCHEMA,
    build_green,
    build_water,
    build_waterways,
    dissolved_green_area_m2,
    green_area_by_type,
    green_type_of,
    repair_polygons,
)
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import LayerSchema, is_identifier

KM2 = 1_000_000.0


@pytest.fixture(scope="module")
def green(demo_dir: Path) -> gpd.GeoDataFrame:
    return build_green(
        gpd.read_parquet(demo_dir / "osm_landcover.parquet"),
        gpd.read_parquet(demo_dir / "osm_landuse.parquet"),
        gpd.read_parquet(demo_dir / "osm_park.parquet"),
    )


@pytest.fixture(scope="module")
def water(demo_dir: Path) -> gpd.GeoDataFrame:
    return build_water(gpd.read_parquet(demo_dir / "osm_water.parquet"))


@pytest.fixture(scope="module")
def waterways(demo_dir: Path) -> gpd.GeoDataFrame:
    return build_waterways(gpd.read_parquet(demo_dir / "osm_waterway.parquet"))


def _check_layer(frame: gpd.GeoDataFrame, schema: LayerSchema) -> None:
    assert list(frame.columns) == [*schema.field_names, "geometry"]
    assert all(is_identifier(name) for name in schema.field_names)
    assert frame.crs.to_epsg() == 28992
    assert schema.primary_key is not None
    assert frame[schema.primary_key].tolist() == list(range(1, len(frame) + 1))
    assert frame.geometry.is_valid.all()
    assert not frame.geometry.is_empty.any()


# -- green -------------------------------------------------------------------------------
def test_green_rows_per_source_layer(green: gpd.GeoDataFrame) -> None:
    _check_layer(green, GREEN_SCHEMA)
    assert len(green) == 3488
    assert green["source_layer"].value_counts().to_dict() == {"landcover": 3256, "landuse": 217, "park": 15}
    # sand/beach is not green space
    assert "sand" not in set(green["osm_class"])
    assert (green.geom_type == "MultiPolygon").all()
    assert not green["geometry_repaired"].any()  # the 2021 extract has no invalid polygon
    assert green["public_access"].isna().all()


def test_green_counts_per_type(green: gpd.GeoDataFrame) -> None:
    assert green["green_type"].value_counts().to_dict() == {
        "grass": 1876,
        "wood": 1182,
        "sports_pitch": 141,
        "playground": 72,
        "farmland": 66,
        "wetland": 55,
        "garden": 46,
        "park": 18,
        "nature_reserve": 10,
        "allotments": 10,
        "national_park": 5,
        "cemetery": 4,
        "recreation_ground": 3,
    }
    biesbosch = green[green["green_type"] == "national_park"]
    assert set(biesbosch["name"]) == {"Nationaal Park De Biesbosch"}


def test_green_areas_and_overlaps(green: gpd.GeoDataFrame) -> None:
    total_sum = green["area_m2"].sum()
    assert total_sum / KM2 == pytest.approx(98.11, abs=0.05)
    dissolved = dissolved_green_area_m2(green)
    assert dissolved / KM2 == pytest.approx(60.36, abs=0.05)
    assert dissolved <= total_sum
    cover_types = [t for t in green["green_type"].unique() if t not in DESIGNATION_TYPES]
    cover = dissolved_green_area_m2(green, cover_types)
    assert cover / KM2 == pytest.approx(46.82, abs=0.05)
    assert cover <= dissolved
    # the municipality (incl. water) is 99.47 km²: the union must fit in it, the plain sum nearly does not
    assert dissolved / KM2 < 99.47
    assert dissolved_green_area_m2(green, ["no_such_type"]) == 0.0


def test_green_area_by_type(green: gpd.GeoDataFrame) -> None:
    table = green_area_by_type(green).set_index("green_type")
    assert table["polygons"].sum() == len(green)
    assert (table["area_m2_dissolved"] <= table["area_m2_sum"] + 1e-3).all()
    assert table.loc["grass", "area_m2_sum"] / KM2 == pytest.approx(19.69, abs=0.01)
    assert table.loc["wood", "area_m2_sum"] / KM2 == pytest.approx(8.78, abs=0.01)
    assert table.loc["park", "area_m2_sum"] / KM2 == pytest.approx(5.84, abs=0.01)
    assert table.loc["farmland", "area_m2_sum"] / KM2 == pytest.approx(13.98, abs=0.01)
    assert table.loc["national_park", "area_m2_sum"] / KM2 == pytest.approx(21.73, abs=0.01)


def test_green_type_lookup() -> None:
    assert green_type_of("landcover", "grass", "park") == "park"
    assert green_type_of("landcover", "grass", "village_green") == "grass"
    assert green_type_of("landcover", "wetland", None) == "wetland"
    assert green_type_of("landcover", "sand", "beach") is None
    assert green_type_of("landuse", "residential", None) is None
    assert green_type_of("landuse", "pitch", None) == "sports_pitch"


def test_invalid_polygons_are_repaired_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    square = shapely.box(20, 0, 30, 10)
    assert not bowtie.is_valid
    geoms, repaired = repair_polygons([bowtie, square])
    assert repaired.tolist() == [True, False]
    assert all(g.is_valid and g.geom_type == "MultiPolygon" for g in geoms)
    assert shapely.area(geoms[0]) == pytest.approx(50.0)

    landcover = gpd.GeoDataFrame(
        {"class": ["grass", "sand"], "subclass": ["grass", "beach"]}, geometry=[bowtie, square], crs=28992
    )
    empty = gpd.GeoDataFrame({"class": []}, geometry=[], crs=28992)
    with caplog.at_level(logging.WARNING, logger="tweeling.citymodel.landcover"):
        out = build_green(landcover, empty, empty)
    assert out["geometry_repaired"].tolist() == [True]
    assert out["area_m2"].iloc[0] == pytest.approx(50.0)
    assert "repaired 1 invalid polygon" in caplog.text


def test_green_needs_columns_and_crs() -> None:
    empty = gpd.GeoDataFrame({"class": []}, geometry=[], crs=28992)
    no_subclass = gpd.GeoDataFrame({"class": ["grass"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=28992)
    with pytest.raises(InvalidInputError, match="subclass"):
        build_green(no_subclass, empty, empty)
    no_crs = gpd.GeoDataFrame({"class": ["water"]}, geometry=[shapely.box(0, 0, 1, 1)])
    with pytest.raises(InvalidInputError, match="CRS"):
        build_water(no_crs)


# -- water -------------------------------------------------------------------------------
def test_water(water: gpd.GeoDataFrame) -> None:
    _check_layer(water, WATER_SCHEMA)
    assert len(water) == 687
    assert water["water_type"].value_counts().to_dict() == {"lake": 686, "river": 1}
    assert water["area_m2"].sum() / KM2 == pytest.approx(14.32, abs=0.01)
    assert not water["geometry_repaired"].any()
    assert (water.geom_type == "MultiPolygon").all()
    # water polygons do not overlap: union area equals the sum
    assert shapely.union_all(water.geometry.to_numpy()).area == pytest.approx(
        water["area_m2"].sum(), rel=1e-6
    )


# -- waterways ---------------------------------------------------------------------------
def test_waterways(waterways: gpd.GeoDataFrame) -> None:
    _check_layer(waterways, WATERWAYS_SCHEMA)
    assert len(waterways) == 767
    assert waterways["waterway_type"].value_counts().to_dict() == {
        "drain": 317,
        "ditch": 267,
        "river": 80,
        "canal": 69,
        "stream": 34,
    }
    assert waterways["length_m"].sum() / 1000 == pytest.approx(251.6, abs=0.1)
    by_type = waterways.groupby("waterway_type")["length_m"].sum() / 1000
    assert by_type["river"] == pytest.approx(60.96, abs=0.01)
    assert int(waterways["intermittent"].sum()) == 1
    assert waterways["brunnel"].dropna().tolist() == ["tunnel"]
    assert (waterways["name"] == "Beneden-Merwede").sum() == 12
    assert waterways["name"].notna().sum() == 116


def test_schemas_have_units() -> None:
    assert GREEN_SCHEMA.field("area_m2").unit == "m2"
    assert WATER_SCHEMA.field("area_m2").unit == "m2"
    assert WATERWAYS_SCHEMA.field("length_m").unit == "m"
    assert GREEN_SCHEMA.geometry_type == WATER_SCHEMA.geometry_type == "MultiPolygon"
    assert WATERWAYS_SCHEMA.geometry_type == "LineString"
