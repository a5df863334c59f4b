"""Liveability composite: hand-computed scoring and weighting on synthetic upstream results."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tweeling.scenarios.city import CRS, CityState
from tweeling.scenarios.impacts import accessibility, liveability
from tweeling.scenarios.model import ModelResult

IDS = pd.Index([1, 2, 3, 4], name="building_id")


def small_city(green: list[tuple[str, shapely.Polygon]] | None = None) -> CityState:
    """Dwellings 1 (BU1, 2 dwellings) at (0, 0), 2 (BU1, 1) at (5000, 0) and 3 (BU2, 1) at (0, 5000);
    building 4 is non-residential. Only buildings, green and buurten matter to the model."""
    empty = gpd.GeoDataFrame(geometry=[], crs=CRS)
    buildings = gpd.GeoDataFrame(
        {
            "bu_code": ["BU1", "BU1", "BU2", "BU2"],
            "main_use": ["residential", "residential", "mixed", "non-residential"],
            "dwellings_est": [2.0, 1.0, 1.0, 0.0],
            "scenario_added": False,
        },
        geometry=[shapely.box(x - 5, y - 5, x + 5, y + 5) for x, y in [(0, 0), (5000, 0), (0, 5000), (9, 9)]],
        index=IDS,
        crs=CRS,
    )
    items = green or []
    green_frame = gpd.GeoDataFrame(
        {"green_type": [g[0] for g in items], "area_m2": [g[1].area for g in items]},
        geometry=[g[1] for g in items],
        crs=CRS,
    )
    buurten = gpd.GeoDataFrame(
        {"bu_naam": ["one", "two", "three"]},
        geometry=[shapely.box(0, 0, 1, 1)] * 3,
        index=pd.Index(["BU1", "BU2", "BU3"], name="bu_code"),
        crs=CRS,
    )
    return CityState(
        year=2021,
        buurten=buurten,
        buildings=buildings,
        roads=empty,
        road_nodes=empty,
        facilities=empty,
        green=green_frame,
        water=empty,
        weather=pd.DataFrame(),
    )


def upstream(
    no2: list[float] | None = None,
    lden: list[float] | None = None,
    pet: list[float] | None = None,
    distances: dict[str, list[float]] | None = None,
) -> dict[str, ModelResult]:
    """Fake upstream results with the exact column names of the real models (values per IDS)."""
    out: dict[str, ModelResult] = {}
    for model, column, values in [
        ("air_no2", "no2_ugm3", no2),
        ("noise_road", "lden_db", lden),
        ("heat_pet", "pet_c", pet),
    ]:
        if values is not None:
            out[model] = ModelResult(objects={"buildings": pd.DataFrame({column: values}, index=IDS)})
    if distances is not None:
        frame = pd.DataFrame({f"dist_{kind}_m": v for kind, v in distances.items()}, index=IDS)
        out["proximity"] = ModelResult(objects={"buildings": frame})
    return out


NAN = float("nan")
DISTANCES = {
    "green": [300.0, 1500.0, 900.0, NAN],
    "gp": [900.0, 300.0, 300.0, NAN],
    "pharmacy": [300.0, 300.0, 300.0, NAN],
    "supermarket": [1500.0, 300.0, 300.0, NAN],
    "school": [NAN, 300.0, 300.0, NAN],  # NaN for a dwelling: no school reachable -> scores 0
    "care_home": [5000.0, 5000.0, 5000.0, NAN],  # weight 0 by default
    "public_transport": [5000.0, 5000.0, 5000.0, NAN],  # weight 0 by default
}
FULL = upstream(no2=[16.0, 10.0, 40.0, 99.0], lden=[57.5, 45.0, 70.0, 99.0], pet=[35.0, 29.0, 41.0, 99.0])
FULL.update(upstream(distances=DISTANCES))


def test_normalise_fixed_thresholds_both_directions() -> None:
    np.testing.assert_allclose(
        liveability.normalise(np.array([5, 10, 25, 40, 60]), 10, 40), [100, 100, 50, 0, 0]
    )
    np.testing.assert_allclose(
        liveability.normalise(np.array([0.0, 0.15, 0.3, 0.6]), 0.3, 0.0), [0, 50, 100, 100]
    )
    assert np.isnan(liveability.normalise(np.array([np.nan]), 10, 40)).all()
    with pytest.raises(ValueError):
        liveability.normalise(np.array([1.0]), 5, 5)


def test_weighted_mean_renormalises_over_available_values() -> None:
    scores = np.array([[100.0, 0.0, 50.0], [100.0, np.nan, 50.0], [np.nan, np.nan, np.nan]])
    result = liveability.weighted_mean(scores, np.array([2.0, 1.0, 1.0]))
    np.testing.assert_allclose(result[:2], [(200 + 0 + 50) / 4, (200 + 50) / 3])
    assert np.isnan(result[2])


def test_hand_computed_scores() -> None:
    result = liveability.MODEL.run(small_city(), FULL, liveability.MODEL.make_params())
    frame = result.objects["buildings"]
    assert list(frame.index) == list(IDS)
    # Building 1: NO2 16 -> 80, Lden 57.5 -> 50, PET 35 -> 50, green 300 m -> 100 (weight 0.5), no green
    # cover -> 0 (weight 0.5): physical = (80 + 50 + 50 + 0.5*100 + 0.5*0) / 4 = 57.5.
    # Facilities: GP 900 -> 50, pharmacy 300 -> 100, supermarket 1500 -> 0, school unreachable -> 0:
    # 37.5. Total (equal dimension weights) = 47.5.
    assert frame.loc[1, "score_physical"] == pytest.approx(57.5)
    assert frame.loc[1, "score_facilities"] == pytest.approx(37.5)
    assert frame.loc[1, "liveability_score"] == pytest.approx(47.5)
    # Building 2: everything at its best threshold but green 1500 m (0) and cover 0.
    assert frame.loc[2, "score_physical"] == pytest.approx(300 / 4)
    assert frame.loc[2, "score_facilities"] == pytest.approx(100.0)
    # Building 3: NO2, Lden, PET at their worst; green 900 m -> 50.
    assert frame.loc[3, "score_physical"] == pytest.approx(25 / 4)
    assert frame.loc[4].isna().all()  # not a dwelling
    # Buurt and city: dwelling-weighted means (building 1 has 2 dwellings).
    assert result.buurt.loc["BU1", "score_physical"] == pytest.approx((2 * 57.5 + 75) / 3)
    assert result.buurt.loc["BU2", "score_facilities"] == pytest.approx(100.0)
    assert result.buurt["liveability_score"].isna().tolist() == [False, False, True]
    total = frame["liveability_score"]
    expected_city = (2 * 47.5 + total[2] + total[3]) / 4
    assert result.city["liveability_score"] == pytest.approx(expected_city)
    components = result.data["components"]
    assert components["effective_weight"].sum() == pytest.approx(1.0)
    assert components.loc["no2", "effective_weight"] == pytest.approx(0.5 * 1 / 4)
    assert set(result.data["used"]) == {"no2", "noise", "heat", "green_distance", "green_cover"} | {
        "gp",
        "pharmacy",
        "supermarket",
        "school",
    }
    assert result.data["dimensions"]["safety"]["status"] == "not available"
    assert result.data["dimensions"]["housing"]["status"] == "not available"


def test_weights_are_parameters() -> None:
    params = liveability.MODEL.make_params({"weight_facilities": 3.0, "weight_no2": 0.0})
    frame = liveability.MODEL.run(small_city(), FULL, params).objects["buildings"]
    physical = (50 + 50 + 0.5 * 100 + 0.5 * 0) / 3  # NO2 left out
    assert frame.loc[1, "score_physical"] == pytest.approx(physical)
    assert frame.loc[1, "liveability_score"] == pytest.approx((physical + 3 * 37.5) / 4)


def test_lower_no2_raises_the_score_of_that_building_only() -> None:
    params = liveability.MODEL.make_params()
    base = liveability.MODEL.run(small_city(), FULL, params).objects["buildings"]
    cleaner = dict(FULL)
    cleaner.update(upstream(no2=[12.0, 10.0, 40.0, 99.0]))
    after = liveability.MODEL.run(small_city(), cleaner, params).objects["buildings"]
    assert after["liveability_score"][1] > base["liveability_score"][1]
    assert after["score_physical"][1] > base["score_physical"][1]
    pd.testing.assert_series_equal(
        after.loc[[2, 3], "liveability_score"], base.loc[[2, 3], "liveability_score"]
    )


def test_missing_component_is_left_out_and_weights_renormalised() -> None:
    params = liveability.MODEL.make_params()
    without_air = {key: value for key, value in FULL.items() if key != "air_no2"}
    result = liveability.MODEL.run(small_city(), without_air, params)
    frame = result.objects["buildings"]
    assert frame.loc[1, "score_physical"] == pytest.approx((50 + 50 + 0.5 * 100 + 0.5 * 0) / 3)
    assert frame.loc[1, "liveability_score"] == pytest.approx((50 + 37.5) / 2)
    components = result.data["components"]
    assert components.loc["no2", "status"].startswith("left out")
    assert components.loc["no2", "effective_weight"] == 0.0
    assert components["effective_weight"].sum() == pytest.approx(1.0)
    assert "no2" not in result.data["used"]

    only_proximity = liveability.MODEL.run(small_city(), upstream(distances=DISTANCES), params)
    frame = only_proximity.objects["buildings"]
    assert frame.loc[1, "score_physical"] == pytest.approx((0.5 * 100 + 0.5 * 0) / 1)
    assert frame.loc[1, "liveability_score"] == pytest.approx((50 + 37.5) / 2)

    nothing = liveability.MODEL.run(small_city(), {}, params)
    frame = nothing.objects["buildings"]
    assert frame.loc[1, "score_physical"] == pytest.approx(0.0)  # green cover only
    assert frame["score_facilities"].isna().all()
    assert frame.loc[1, "liveability_score"] == pytest.approx(0.0)
    assert nothing.data["dimensions"]["facilities"]["status"] == "left out"


def test_missing_value_for_one_building_renormalises_for_that_building() -> None:
    partial = dict(FULL)
    partial.update(upstream(lden=[NAN, 45.0, 70.0, 99.0]))
    frame = liveability.MODEL.run(small_city(), partial, liveability.MODEL.make_params()).objects["buildings"]
    # NO2 80 (weight 1), PET 50 (1), green distance 100 (0.5), green cover 0 (0.5); noise left out
    assert frame.loc[1, "score_physical"] == pytest.approx((80 + 50 + 0.5 * 100 + 0.5 * 0) / 3)
    assert frame.loc[2, "score_physical"] == pytest.approx(300 / 4)


def test_green_cover_share() -> None:
    park = ("park", shapely.box(-1000, -1000, 1000, 1000))  # covers building 1's whole 300 m disc
    half = ("grass", shapely.box(5000, -1000, 6000, 1000))  # right half of building 2's disc
    city = small_city([park, half, ("farmland", shapely.box(-1000, 4000, 1000, 6000))])
    homes = accessibility.dwelling_points(city.buildings)
    share = liveability.green_cover_share(
        city.green,
        homes["x"].to_numpy(),
        homes["y"].to_numpy(),
        types=("park", "grass"),
        radius_m=300,
        cell_m=20,
    )
    assert share[0] == pytest.approx(1.0)
    assert share[1] == pytest.approx(0.5, abs=0.04)
    assert share[2] == 0.0  # farmland does not count
    result = liveability.MODEL.run(city, {}, liveability.MODEL.make_params())
    assert result.data["indicator_scores"].loc[1, "green_cover"] == pytest.approx(100.0)
    assert result.objects["buildings"].loc[1, "liveability_score"] == pytest.approx(100.0)


def test_inputs_are_not_modified() -> None:
    city = small_city([("park", shapely.box(-1000, -1000, 1000, 1000))])
    before = city.buildings.copy(), city.green.copy()
    liveability.MODEL.run(city, FULL, liveability.MODEL.make_params())
    pd.testing.assert_frame_equal(city.buildings, before[0])
    pd.testing.assert_frame_equal(city.green, before[1])


def test_metadata_is_complete() -> None:
    info = liveability.MODEL.info
    assert info.id == "liveability"
    assert info.requires == ("air_no2", "noise_road", "heat_pet", "proximity")
    assert info.reads == frozenset({"buildings", "green", "buurten"})
    assert {i.id for i in info.indicators} == {"liveability_score", "score_physical", "score_facilities"}
    assert any("causal" in text for text in info.limitations)
    for parameter in liveability.MODEL.parameters():
        assert parameter.source and parameter.unit and parameter.description
    register = info.register.as_dict()
    assert len(register["name"]) < 100 and len(register["description_short"]) < 350


def test_dordrecht_with_proximity_only(demo_city: CityState) -> None:
    proximity = accessibility.MODEL.run(demo_city, {}, accessibility.MODEL.make_params())
    result = liveability.MODEL.run(demo_city, {"proximity": proximity}, liveability.MODEL.make_params())
    frame = result.objects["buildings"]
    assert frame.index.equals(demo_city.buildings.index)
    homes = accessibility.dwelling_points(demo_city.buildings).index
    scores = frame.loc[homes]
    assert scores.notna().all().all()
    assert ((scores >= 0) & (scores <= 100)).all().all()
    assert result.buurt.index.equals(demo_city.buurten.index)
    # Measured on the demo data (proximity and green only): about 71 citywide.
    assert 55 <= result.city["liveability_score"] <= 85
    assert sorted(result.data["used"]) == sorted(
        ["green_distance", "green_cover", "gp", "pharmacy", "supermarket", "school"]
    )
