"""Air-quality monitoring sites: reprojection, Luchtmeetnet codes, activity, in-municipality test."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from tweeling.citymodel.sensor_sites import SENSOR_SITES_SCHEMA, build_sensor_sites, luchtmeetnet_code
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import is_identifier

STATIONS_CSV = "rivm_lml_airquality_stations_near_dordrecht_2013.csv"


@pytest.fixture(scope="module")
def stations(demo_dir: Path) -> pd.DataFrame:
    return pd.read_csv(demo_dir / STATIONS_CSV)


@pytest.fixture(scope="module")
def dordrecht(demo_dir: Path) -> shapely.Geometry:
    return gpd.read_parquet(demo_dir / "cbs_buurten_2020.parquet").union_all()


@pytest.fixture(scope="module")
def sites(stations: pd.DataFrame, dordrecht: shapely.Geometry) -> gpd.GeoDataFrame:
    return build_sensor_sites(stations, dordrecht)


def test_all_sites_and_columns(sites: gpd.GeoDataFrame) -> None:
    assert len(sites) == 32
    assert list(sites.columns) == [*SENSOR_SITES_SCHEMA.field_names, "geometry"]
    assert all(is_identifier(name) for name in SENSOR_SITES_SCHEMA.field_names)
    assert sites.crs.to_epsg() == 28992
    assert sites["site_id"].is_unique
    assert (sites.geom_type == "Point").all()
    assert sites["observes"].isna().all()  # metadata only
    assert set(sites["area_classification"]) == {"urban", "suburban", "rural", "unknown"}
    assert int(sites["active"].sum()) == 28


def test_bamendaweg(sites: gpd.GeoDataFrame) -> None:
    site = sites.set_index("site_id").loc["NL00442"]
    assert site["name"] == "Dordrecht-Bamendaweg"
    assert site["national_code"] == "442"
    assert site["luchtmeetnet_code"] == "NL10442"
    assert site["municipality"] == "Dordrecht"
    assert site["area_classification"] == "urban"
    assert bool(site["active"]) is True
    assert site["activity_begin"] == pd.Timestamp("2010-10-01")
    assert pd.isna(site["activity_end"])
    assert bool(site["in_dordrecht"]) is True
    # independent pyproj transform of the source lat/lon (EPSG:4258 -> RD New)
    x, y = Transformer.from_crs(4258, 28992, always_xy=True).transform(4.70821381, 51.80065918)
    assert site.geometry.distance(shapely.Point(x, y)) < 5.0
    assert site.geometry.x == pytest.approx(108165.8, abs=5.0)
    assert site.geometry.y == pytest.approx(423776.3, abs=5.0)
    assert site["distance_to_centre_km"] == pytest.approx(2.18, abs=0.01)


def test_frisostraat_closed_but_in_dordrecht(sites: gpd.GeoDataFrame) -> None:
    site = sites.set_index("site_id").loc["NL00441"]
    assert bool(site["active"]) is False
    assert site["activity_end"] == pd.Timestamp("2010-11-16")
    assert bool(site["in_dordrecht"]) is True
    assert sorted(sites.loc[sites["in_dordrecht"].fillna(False).astype(bool), "site_id"]) == [
        "NL00441",
        "NL00442",
    ]


def test_distances_match_the_source_column(sites: gpd.GeoDataFrame, stations: pd.DataFrame) -> None:
    source = stations.set_index("EUStationCode")["dist_to_dordrecht_centre_km"]
    mine = sites.set_index("site_id")["distance_to_centre_km"]
    assert (mine - source.loc[mine.index]).abs().max() < 0.01
    assert mine.max() < 30.0


def test_luchtmeetnet_codes_only_for_rivm_numbers(sites: gpd.GeoDataFrame) -> None:
    by_id = sites.set_index("site_id")["luchtmeetnet_code"]
    assert pd.isna(by_id["NL00489"])  # Ridderkerk-Hogeweg, regional code RID
    assert by_id["NL00644"] == "NL10644"
    assert int(by_id.notna().sum()) == 14
    assert SENSOR_SITES_SCHEMA.field("luchtmeetnet_code").estimated
    assert luchtmeetnet_code("NL00442", "442") == "NL10442"
    assert luchtmeetnet_code("NL00489", "RID") is None
    assert luchtmeetnet_code("NL00442", "441") is None
    assert luchtmeetnet_code(None, "442") is None


def test_without_outline_in_dordrecht_is_unknown(stations: pd.DataFrame) -> None:
    sites = build_sensor_sites(stations)
    assert sites["in_dordrecht"].isna().all()


def test_bad_input_is_a_clear_error(stations: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match="Lat"):
        build_sensor_sites(stations.drop(columns=["Lat"]))
    broken = stations.copy()
    broken.loc[0, "Lon"] = float("nan")
    with pytest.raises(InvalidInputError, match="NL00441"):
        build_sensor_sites(broken)
    twice = pd.concat([stations.iloc[:2], stations.iloc[:1]])
    with pytest.raises(InvalidInputError, match="unique"):
        build_sensor_sites(twice)


def test_schema_units() -> None:
    assert SENSOR_SITES_SCHEMA.field("distance_to_centre_km").unit == "km"
    assert SENSOR_SITES_SCHEMA.field("altitude_m").unit == "m"
    assert SENSOR_SITES_SCHEMA.primary_key == "site_id"
