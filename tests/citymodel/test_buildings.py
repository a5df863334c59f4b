"""Tests of the buildings layer: pure pieces on synthetic data, the whole method on the shipped city."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from tweeling.citymodel.buildings import (
    BUILDINGS_SCHEMA,
    BuildingEstimate,
    BuildingParams,
    assign_points_to_smallest,
    bag_buurt_statistics,
    bag_unit_table,
    classify_main_use,
    dwelling_errors,
    dwelling_unit_areas,
    estimate_buildings,
    estimate_floors,
    estimate_height,
    minimum_width,
)
from tweeling.core.errors import InvalidInputError

RD = "EPSG:28992"
DORDRECHT_POPULATION = 119_030


# --------------------------------------------------------------------------- synthetic: pure pieces


def test_two_address_footprint_gives_expected_floors_and_height() -> None:
    params = BuildingParams(gross_to_usable_factor=1.25, storey_height_residential_m=3.0)
    # 2 flats of 80 m2 usable -> 200 m2 gross on a 100 m2 footprint -> 2 storeys -> 6 m.
    floors = estimate_floors(
        np.array([2]),
        np.array([2]),
        np.array([100.0]),
        np.array([80.0]),
        150.0,
        np.array(["addresses"]),
        params,
    )
    assert floors.tolist() == [2]
    height = estimate_height(
        floors, np.array(["residential"]), np.array(["addresses"]), np.array([100.0]), params
    )
    assert height.tolist() == [6.0]


def test_floors_round_half_up_clip_and_single_storey_cases() -> None:
    params = BuildingParams(gross_to_usable_factor=1.0, max_floors=20, max_floors_house=4)
    n = np.array([5, 100, 1, 0, 10, 1, 3])
    dwellings = np.array([5, 100, 1, 0, 0, 0, 0])
    footprint = np.array([200.0, 100.0, 20.0, 50.0, 100.0, 500.0, 1000.0])
    unit = np.array([100.0] * 7)
    source = np.array(
        ["addresses", "addresses", "addresses", "no_address", "garage_row", "bag_buurt_mix", "osm_landuse"]
    )
    floors = estimate_floors(n, dwellings, footprint, unit, 500.0, source, params)
    # 2.5 -> 3 (half-up); 100 -> clipped to 20; one house 5 -> 4; no address, garage row and a
    # single non-residential unit -> 1; 3 non-residential units x 500 m2 on 1000 m2 -> 1.5 -> 2.
    assert floors.tolist() == [3, 20, 4, 1, 1, 1, 2]


def test_height_rules_for_mixed_annex_and_hall() -> None:
    params = BuildingParams()
    floors = np.array([3, 1, 1, 1, 2])
    use = np.array(["mixed", "non-residential", "non-residential", "non-residential", "non-residential"])
    source = np.array(["osm_poi", "no_address", "no_address", "small_footprint", "osm_landuse"])
    area = np.array([100.0, 20.0, 2000.0, 25.0, 800.0])
    height = estimate_height(floors, use, source, area, params)
    assert height.tolist() == [
        params.storey_height_non_residential_m + 2 * params.storey_height_residential_m,
        params.annex_height_m,
        params.hall_height_m,
        params.annex_height_m,
        2 * params.storey_height_non_residential_m,
    ]


def test_main_use_rules_in_order() -> None:
    params = BuildingParams()
    cases = [
        # n, poi, area, width, nonres landuse, buurt share -> expected use, source, raw
        (0, 0, 50.0, 6.0, False, 0.9, "non-residential", "no_address", 0),
        (3, 0, 300.0, 10.0, False, 0.1, "non-residential", "bag_buurt_mix", 0),
        (3, 0, 300.0, 10.0, True, 0.9, "non-residential", "osm_landuse", 0),
        (1, 0, 900.0, 20.0, False, 0.9, "non-residential", "large_footprint", 0),
        (1, 0, 18.0, 3.0, False, 0.9, "non-residential", "small_footprint", 0),
        (8, 0, 140.0, 5.5, False, 0.9, "non-residential", "garage_row", 0),
        (8, 0, 140.0, 10.0, False, 0.9, "residential", "addresses", 8),
        (4, 1, 200.0, 10.0, False, 0.9, "mixed", "osm_poi", 3),
        (1, 1, 120.0, 8.0, False, 0.9, "non-residential", "osm_poi", 0),
        (1, 0, 55.0, 5.5, False, float("nan"), "residential", "addresses", 1),
    ]
    cols = list(zip(*cases, strict=True))
    use, source, raw = classify_main_use(
        np.array(cols[0]),
        np.array(cols[1]),
        np.array(cols[2]),
        np.array(cols[3]),
        np.array(cols[4]),
        np.array(cols[5]),
        params,
    )
    assert use.tolist() == list(cols[6])
    assert source.tolist() == list(cols[7])
    assert raw.tolist() == list(cols[8])


def test_points_go_to_the_smallest_containing_polygon_once() -> None:
    polygons = gpd.GeoSeries([box(0, 0, 10, 10), box(0, 0, 5, 5), box(20, 20, 30, 30)], crs=RD)
    points = gpd.GeoDataFrame(
        geometry=[Point(1, 1), Point(8, 8), Point(5, 5), Point(50, 50), Point(25, 25)], crs=RD
    )
    owner = assign_points_to_smallest(points, polygons, polygons.area.to_numpy())
    # (1,1) and the boundary point (5,5) lie in both: the small square wins; (50,50) lies nowhere.
    assert owner.to_dict() == {0: 1, 1: 0, 2: 1, 4: 2}


def test_minimum_width_is_the_short_side() -> None:
    widths = minimum_width(gpd.GeoSeries([box(0, 0, 4, 10), box(0, 0, 30, 6)], crs=RD))
    assert widths == pytest.approx([4.0, 6.0])


def _bag(rows: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["bu_code", "identificatie", "oppervlakteverblijfsobject", "gebruiksdoelverblijfsobject"],
    )


def test_bag_units_are_counted_once_and_dwelling_if_any_use_is_woonfunctie() -> None:
    bag = _bag(
        [
            ("B1", "1", 80, "woonfunctie"),
            ("B1", "2", 120, "woonfunctie"),
            ("B1", "2", 120, "winkelfunctie"),
            ("B1", "3", 15, "overige gebruiksfunctie"),
            ("B2", "4", 500, "industriefunctie"),
        ]
    )
    units = bag_unit_table(bag)
    assert len(units) == 4
    stats = bag_buurt_statistics(units)
    assert stats.loc["B1", "units"] == 3
    assert stats.loc["B1", "dwellings"] == 2
    assert stats.loc["B2", "dwellings"] == 0
    assert stats.loc["B1", "residential_share"] == pytest.approx(2 / 3)


def test_dwelling_unit_areas_by_quantile_matching() -> None:
    bag = _bag([("B1", str(i), area, "woonfunctie") for i, area in enumerate(range(10, 101, 10))])
    units = bag_unit_table(bag)
    # Half the dwellings are apartments: they are the smallest half (10..50, typical 30),
    # houses the largest half (60..100, typical 80).
    areas = dwelling_unit_areas(units, pd.Series({"B1": 0.5}), min_units=1)
    assert areas.loc["B1", "apartment_area_m2"] == 30
    assert areas.loc["B1", "house_area_m2"] == 80
    # A buurt below min_units uses the whole city's areas (here the same ten).
    small = dwelling_unit_areas(units, pd.Series({"B9": 0.0}), min_units=20)
    assert small.loc["B9", "house_area_m2"] == 60


def test_dwelling_errors() -> None:
    errors = dwelling_errors(
        pd.Series({"A": 110.0, "B": 50.0, "C": 3.0}), pd.Series({"A": 100, "B": 100, "C": 0})
    )
    assert errors.n_buurten == 2
    assert errors.total_bag == 200
    assert errors.mae == pytest.approx(30.0)
    assert errors.median_abs_pct_error == pytest.approx(30.0)
    assert errors.within_10pct == 1


def test_params_are_validated() -> None:
    with pytest.raises(InvalidInputError):
        BuildingParams(storey_height_residential_m=0)
    with pytest.raises(InvalidInputError):
        BuildingParams(business_buurt_max_residential_share=1.5)


def _synthetic_city() -> tuple[gpd.GeoDataFrame, ...]:
    """Two buurten: A with houses and a flat, B with a business hall; C (no buildings) has dwellings."""
    buildings = gpd.GeoDataFrame(
        {
            "render_height": [3.66, 3.66, 3.66, 3.66, 12.0, 3.66],
            "render_min_height": [0.0] * 6,
            "height_from_osm_tags": [False, False, False, False, True, False],
        },
        geometry=[
            box(0, 0, 6, 10),  # house, 1 address
            box(6, 0, 12, 10),  # house, 1 address
            box(0, 20, 20, 30),  # flat, 6 addresses
            box(30, 0, 33, 3),  # shed, no address
            box(40, 0, 50, 10),  # tagged 12 m, 2 addresses
            box(200, 0, 240, 40),  # hall in buurt B, 1 address
        ],
        crs=RD,
    )
    address_points = [Point(3, 5), Point(9, 5)] + [Point(2 + 3 * i, 25) for i in range(6)]
    address_points += [Point(45, 5), Point(46, 6), Point(220, 20)]
    addresses = gpd.GeoDataFrame(
        {"housenumber": [str(i) for i in range(11)]}, geometry=address_points, crs=RD
    )
    buurten = gpd.GeoDataFrame(
        {"bu_code": ["A", "B", "C"], "wk_code": ["W1", "W1", "W2"], "aant_inw": [30, 0, -99999999]},
        geometry=[box(-10, -10, 100, 100), box(150, -10, 300, 100), box(500, 500, 600, 600)],
        crs=RD,
    )
    bag_rows = [("A", f"a{i}", 100, "woonfunctie") for i in range(12)]
    bag_rows += [("B", "b1", 1600, "industriefunctie"), ("C", "c1", 90, "woonfunctie")]
    bag = _bag(bag_rows)
    landuse = gpd.GeoDataFrame({"class": ["industrial"]}, geometry=[box(150, -10, 300, 100)], crs=RD)
    poi = gpd.GeoDataFrame({"class": ["shop"], "subclass": ["bakery"]}, geometry=[Point(500, 0)], crs=RD)
    return buildings, addresses, buurten, bag, landuse, poi


def test_synthetic_city_end_to_end() -> None:
    buildings, addresses, buurten, bag, landuse, poi = _synthetic_city()
    est = estimate_buildings(buildings, addresses, buurten, bag, landuse, poi)
    frame, report = est.frame, est.report
    assert frame["building_id"].tolist() == [1, 2, 3, 4, 5, 6]
    assert frame["bu_code"].tolist() == ["A", "A", "A", "A", "A", "B"]
    assert frame["address_count"].tolist() == [1, 1, 6, 0, 2, 1]
    assert frame["main_use"].tolist() == [
        "residential",
        "residential",
        "residential",
        "non-residential",
        "residential",
        "non-residential",
    ]
    assert frame["main_use_source"].iloc[5] == "bag_buurt_mix"
    assert frame["height_source"].tolist() == ["estimated"] * 4 + ["osm", "estimated"]
    assert frame.loc[4, "height_m"] == 12.0
    assert frame.loc[3, "height_m"] == BuildingParams().annex_height_m
    # Buurt A: raw 1 + 1 + 6 + 2 = 10 dwellings, BAG says 12 -> factor 1.2.
    assert frame["dwellings_raw"].tolist() == [1, 1, 6, 0, 2, 0]
    assert frame["dwellings_est"].tolist() == pytest.approx([1.2, 1.2, 7.2, 0.0, 2.4, 0.0])
    # Buurt C has one BAG dwelling and no building: unallocated.
    assert report.dwellings_unallocated == 1
    assert report.unallocated_buurten == ["C"]
    # 30 residents of A over its 12 dwellings; C's population is suppressed.
    assert frame["residents_est"].sum() == pytest.approx(30.0)
    assert frame.loc[2, "residents_est"] == pytest.approx(30 * 7.2 / 12)
    assert report.population_suppressed_buurten == ["C"]
    assert report.residents_total == 30
    assert report.residents_unallocated == 0
    # The 6-flat block: 6 x 100 m2 x 1.25 / 200 m2 = 3.75 -> 4 storeys -> 12 m.
    assert frame.loc[2, "floors"] == 4
    assert frame.loc[2, "height_m"] == 12.0
    assert report.height_validation.n == 1
    assert report.to_dict()["height_validation"]["n"] == 1


def test_buurt_without_raw_dwellings_falls_back_to_addresses() -> None:
    buildings, addresses, buurten, bag, landuse, poi = _synthetic_city()
    bag = pd.concat([bag, _bag([("B", "b2", 80, "woonfunctie")])])
    est = estimate_buildings(buildings, addresses, buurten, bag, landuse, poi)
    assert est.report.fallback_buurten == ["B"]
    assert est.frame.loc[5, "dwellings_est"] == pytest.approx(1.0)
    assert est.frame.loc[5, "dwellings_source"] == "calibration_fallback"


def test_input_order_and_index_are_kept_for_any_index() -> None:
    buildings, addresses, buurten, bag, landuse, poi = _synthetic_city()
    shuffled = buildings.iloc[::-1].set_index(pd.Index([10, 20, 30, 40, 50, 60]))
    est = estimate_buildings(shuffled, addresses, buurten, bag, landuse, poi)
    assert est.frame["address_count"].tolist() == [1, 2, 0, 6, 1, 1]
    assert est.frame.geometry.equals(gpd.GeoSeries(shuffled.geometry.values, crs=RD))


def test_missing_column_is_an_invalid_input() -> None:
    buildings, addresses, buurten, bag, landuse, poi = _synthetic_city()
    with pytest.raises(InvalidInputError):
        estimate_buildings(buildings, addresses, buurten.drop(columns="aant_inw"), bag, landuse, poi)


def test_schema_describes_every_column() -> None:
    buildings, addresses, buurten, bag, landuse, poi = _synthetic_city()
    frame = estimate_buildings(buildings, addresses, buurten, bag, landuse, poi).frame
    assert BUILDINGS_SCHEMA.name == "buildings"
    assert BUILDINGS_SCHEMA.primary_key == "building_id"
    assert BUILDINGS_SCHEMA.field_names == [c for c in frame.columns if c != "geometry"]
    for name in ["height_m", "floors", "main_use", "dwellings_est", "residents_est", "dwellings_raw"]:
        spec = BUILDINGS_SCHEMA.field(name)
        assert spec.estimated
        assert spec.method
    assert not BUILDINGS_SCHEMA.field("address_count").estimated
    assert "ODbL" in BUILDINGS_SCHEMA.licence
    assert "CC0" in BUILDINGS_SCHEMA.licence
    assert "CC-BY-4.0" in BUILDINGS_SCHEMA.licence
    assert "OpenStreetMap contributors" in BUILDINGS_SCHEMA.attribution
    kinds = {"integer": "i", "number": "f", "string": "O", "boolean": "b"}
    for spec in BUILDINGS_SCHEMA.fields:
        kind = frame[spec.name].dtype.kind
        assert kind == kinds[spec.type] or (spec.type == "string" and kind in {"O", "U", "T"}), spec.name


# --------------------------------------------------------------------------- the shipped city


@pytest.fixture(scope="module")
def inputs(demo_dir: Path) -> dict[str, pd.DataFrame]:
    return {
        "buildings": gpd.read_parquet(demo_dir / "osm_buildings.parquet"),
        "addresses": gpd.read_parquet(demo_dir / "osm_addresses.parquet"),
        "buurten": gpd.read_parquet(demo_dir / "cbs_buurten_2020.parquet"),
        "bag_units": pd.read_parquet(demo_dir / "bag_verblijfsobjecten_2021.parquet"),
        "landuse": gpd.read_parquet(demo_dir / "osm_landuse.parquet"),
        "poi": gpd.read_parquet(demo_dir / "osm_poi.parquet"),
    }


@pytest.fixture(scope="module")
def city(inputs: dict[str, pd.DataFrame]) -> BuildingEstimate:
    return estimate_buildings(**inputs)  # type: ignore[arg-type]


def test_city_rows_order_and_crs(city: BuildingEstimate, inputs: dict[str, pd.DataFrame]) -> None:
    frame = city.frame
    assert len(frame) == 65_796
    assert frame["building_id"].tolist() == list(range(1, 65_797))
    assert frame.crs.to_epsg() == 28992
    assert frame.geometry.geom_equals(inputs["buildings"].geometry.reset_index(drop=True)).all()
    assert frame["bu_code"].notna().all()
    assert set(frame["wk_code"]) <= set(inputs["buurten"]["wk_code"])


def test_city_osm_heights_are_kept(city: BuildingEstimate, inputs: dict[str, pd.DataFrame]) -> None:
    frame, report = city.frame, city.report
    tagged = inputs["buildings"]["height_from_osm_tags"].to_numpy()
    assert tagged.sum() == 68
    # One of the 68 tagged buildings has no height value: it is estimated and reported.
    assert (frame["height_source"] == "osm").sum() == 67
    assert report.n_osm_height == 67
    assert report.n_osm_height_flag_without_value == 1
    osm = frame["height_source"] == "osm"
    assert np.allclose(
        frame.loc[osm, "height_m"], inputs["buildings"].loc[osm.to_numpy(), "render_height"], atol=0.01
    )
    assert (frame.loc[osm, "floors_source"] == "osm_height").all()


def test_city_heights_are_plausible(city: BuildingEstimate) -> None:
    frame = city.frame
    assert (frame["height_m"] > 0).all()
    assert (frame["floors"] >= 1).all()
    est = frame[frame["height_source"] == "estimated"]
    params = BuildingParams()
    assert est["height_m"].max() <= params.max_floors * params.storey_height_residential_m + 1e-9
    assert est["floors"].max() <= params.max_floors
    # Measured: median 6.0 m for all estimated buildings (sheds included), 9.0 m for addressed ones.
    assert 5.0 <= est["height_m"].median() <= 7.0
    assert 6.0 <= est.loc[est["address_count"] > 0, "height_m"].median() <= 10.0
    assert (est.loc[est["address_count"] == 0, "floors"] == 1).all()
    # Measured: 1-3 storeys for about 95 % of the estimated buildings.
    assert (est["floors"] <= 3).mean() > 0.9


def test_city_height_validation_against_osm(city: BuildingEstimate) -> None:
    hv = city.report.height_validation
    assert hv.n == 67
    # Measured: MAE 1.50 m, median 1.68 m, bias -0.56 m, floors MAE 0.79.
    assert hv.mae_m is not None and hv.mae_m < 2.5
    assert hv.median_abs_error_m is not None and hv.median_abs_error_m < 2.5
    assert hv.bias_m is not None and abs(hv.bias_m) < 1.5
    assert hv.floors_mae is not None and hv.floors_mae < 1.2


def test_city_address_count_is_a_spatial_join(
    city: BuildingEstimate, inputs: dict[str, pd.DataFrame]
) -> None:
    joined = gpd.sjoin(inputs["addresses"], inputs["buildings"][["geometry"]], predicate="intersects")
    inside = joined.index.nunique()
    assert inside == 65_581  # measured: 80 of the 65,661 address points lie in no footprint
    assert city.frame["address_count"].sum() == inside
    assert city.report.n_addresses_in_buildings == inside


def test_city_dwellings_calibrated_to_bag(city: BuildingEstimate, inputs: dict[str, pd.DataFrame]) -> None:
    frame, report = city.frame, city.report
    bag = inputs["bag_units"]
    woon = (
        bag[bag["gebruiksdoelverblijfsobject"] == "woonfunctie"].groupby("bu_code")["identificatie"].nunique()
    )
    assert woon.sum() == 57_107
    per_buurt = frame.groupby("bu_code")["dwellings_est"].sum()
    assert report.unallocated_buurten == []
    assert report.dwellings_unallocated == 0
    assert np.allclose(per_buurt.reindex(woon.index).fillna(0), woon, atol=1e-6)
    assert frame["dwellings_est"].sum() == pytest.approx(57_107)
    assert (frame.loc[frame["dwellings_source"] == "none", "dwellings_est"] == 0).all()
    post = report.dwellings_post_calibration
    assert post.mae == pytest.approx(0.0, abs=1e-6)
    assert post.within_10pct == post.n_buurten == 121


def test_city_pre_calibration_dwelling_errors(city: BuildingEstimate) -> None:
    """Regression guard on the independent raw estimate (measured values in the comments)."""
    report = city.report
    pre = report.dwellings_pre_calibration
    assert pre.n_buurten == 121
    assert 56_000 <= pre.total_estimated <= 62_000  # 58,976
    assert 15 <= pre.mae <= 32  # 23.6
    assert 3.0 <= pre.median_abs_pct_error <= 7.5  # 5.1 %
    assert pre.correlation >= 0.99  # 0.9975
    assert 68 <= pre.within_10pct <= 90  # 78 of 121
    assert report.dwellings_raw_total == pytest.approx(pre.total_estimated)


def test_city_residents(city: BuildingEstimate) -> None:
    frame, report = city.frame, city.report
    assert report.residents_total == DORDRECHT_POPULATION
    assert report.residents_unallocated == 0
    assert frame["residents_est"].sum() == pytest.approx(
        DORDRECHT_POPULATION - report.residents_unallocated, abs=1
    )
    assert report.residents_allocated == pytest.approx(DORDRECHT_POPULATION, abs=1)
    assert (frame["residents_est"] >= 0).all()
    # Residents follow dwellings, except in the one buurt with people but no BAG dwelling.
    assert report.residents_fallback_buurten == ["BU05051009"]
    with_dwellings = frame["residents_source"] == "dwellings"
    assert (frame.loc[with_dwellings, "dwellings_est"] > 0).all()


def test_city_main_use_shares(city: BuildingEstimate) -> None:
    share = city.report.main_use_share
    # Measured: residential 0.529, mixed 0.0026, non-residential 0.469 (sheds and annexes included).
    assert 0.50 <= share["residential"] <= 0.56
    assert 0.001 <= share["mixed"] <= 0.01
    assert 0.44 <= share["non-residential"] <= 0.50
    assert sum(share.values()) == pytest.approx(1.0, abs=1e-3)
    addressed = city.report.main_use_share_addressed
    assert 0.84 <= addressed["residential"] <= 0.91  # 0.875
    counts = city.frame["main_use"].value_counts()
    assert set(counts.index) <= {"residential", "mixed", "non-residential"}


def test_city_is_fast(inputs: dict[str, pd.DataFrame]) -> None:
    start = time.perf_counter()
    estimate_buildings(**inputs)  # type: ignore[arg-type]
    assert time.perf_counter() - start < 20  # measured: about 1-2 s
