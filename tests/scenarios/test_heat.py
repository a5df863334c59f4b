"""Heat stress (PET): formulas by hand, a toy city, and the Dordrecht demo city."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.city import CRS, CityChange, CityState
from tweeling.scenarios.impacts import heat
from tweeling.scenarios.impacts._raster import Grid, rasterize_mask, rasterize_values
from tweeling.scenarios.model import ModelResult

STATENPLEIN = (105432.0, 425346.0)
"""RD position of the Statenplein POI in the shipped OSM data (the square in the town centre)."""

HOT_DAY_ROW = {
    "date": pd.Timestamp("2015-07-01"),
    "temp_max_c": 32.9,
    "temp_min_c": 17.2,
    "temp_mean_c": 26.0,
    "wind_speed_mean_ms": 3.8,
    "global_radiation_jcm2": 2915.0,
    "humidity_min_pct": 33.0,
    "humidity_mean_pct": 52.0,
    "pressure_mean_hpa": 1016.4,
}
"""KNMI Cabauw, 1 July 2015 (the shipped series)."""


# --- formulas, checked against hand calculations -------------------------------------------------


def test_wet_bulb_stull_matches_the_paper() -> None:
    # Stull (2011): T = 20 °C, RH = 50 % gives Tw = 13.7 °C.
    assert float(heat.wet_bulb_stull(20.0, 50.0)) == pytest.approx(13.7, abs=0.05)
    # Saturated air: the wet bulb is (nearly) the air temperature (Stull's error < 0.65 K).
    assert float(heat.wet_bulb_stull(25.0, 99.0)) == pytest.approx(25.0, abs=0.65)


def test_pet_sun_by_hand() -> None:
    # Ta 30, Qgl 800, u 2, Tw 20, phi 60°, Bb 1, Svf 0.8; ln 2 = 0.693147, sin 60° = 0.866025:
    # -13.26 + 37.5 + 8.8 - 2.335906 + 1.56 + 3.049847 + 4.815101 - 4.946332 + 0.546 + 1.552
    assert float(heat.pet_sun(30.0, 800.0, 2.0, 20.0, 60.0, 1.0, 0.8)) == pytest.approx(37.2807, abs=1e-3)


def test_pet_shade_by_hand() -> None:
    # Ta 30, u 2, Tw 20, Svf 0.5, Qd 150; sigma * 303.15^4 = 478.897 W/m2:
    # -12.14 + 37.5 - 1.018926 + 1.2 + 1.125 + 0.003 * 478.897
    assert float(heat.pet_shade(30.0, 2.0, 20.0, 0.5, 150.0)) == pytest.approx(28.1027, abs=1e-3)


def test_pet_falls_with_wind_and_shade() -> None:
    sun_calm = heat.pet_sun(30.0, 800.0, 0.5, 20.0, 60.0, 1.0, 0.8)
    sun_windy = heat.pet_sun(30.0, 800.0, 4.0, 20.0, 60.0, 1.0, 0.8)
    shade = heat.pet_shade(30.0, 0.5, 20.0, 0.8, 150.0)
    assert sun_windy < sun_calm
    assert shade < sun_calm - 8


def test_solar_altitude_at_solstice_noon() -> None:
    # 21 June (day 172) at 51.8° N: 90 - 51.8 + 23.44 = 61.6° at solar noon, due south.
    hours = np.linspace(10.0, 14.0, 4001)
    altitude, azimuth = heat.solar_position(172, hours, 51.8, 0.0)
    noon = int(np.argmax(altitude))
    assert altitude[noon] == pytest.approx(61.6, abs=0.1)
    assert azimuth[noon] == pytest.approx(180.0, abs=1.0)
    assert azimuth[0] < 180 < azimuth[-1]


def test_daily_extraterrestrial_and_erbs() -> None:
    # Duffie & Beckman eq. 1.10.3 at 51.8° N on 21 June: about 41.6 MJ/m2.
    assert heat.daily_extraterrestrial_jm2(172, 51.8) == pytest.approx(41.6e6, rel=0.01)
    assert float(heat.diffuse_fraction_erbs(0.1)) == pytest.approx(0.991)
    assert float(heat.diffuse_fraction_erbs(0.9)) == pytest.approx(0.165)
    # The pieces of the Erbs correlation meet at kt = 0.22 and 0.80.
    assert float(heat.diffuse_fraction_erbs(0.2201)) == pytest.approx(1 - 0.09 * 0.22, abs=0.002)
    assert float(heat.diffuse_fraction_erbs(0.7999)) == pytest.approx(0.165, abs=0.002)


def test_afternoon_weather_of_1_july_2015() -> None:
    params = heat.MODEL.make_params()
    weather = heat.afternoon_weather(pd.DataFrame([HOT_DAY_ROW]), params)
    assert weather.day.date == pd.Timestamp("2015-07-01")
    assert weather.temp_c.max() == pytest.approx(32.9)
    assert (weather.temp_c > 30).all()
    assert (weather.humidity_pct >= 33.0 - 1e-9).all()
    assert ((weather.global_wm2 > 500) & (weather.global_wm2 < 900)).all()
    assert ((weather.diffuse_wm2 / weather.global_wm2) < 0.35).all()
    assert (np.diff(weather.sun_azimuth_deg) > 0).all()
    # Theeuwes et al. (2017): S = 337 W/m2 / (rho cp), DTR 15.7 K, U 3.8 m/s -> (S DTR^3 / U)^(1/4) ~ 4.1 K
    assert weather.uhi_effect_k == pytest.approx(4.1, abs=0.1)


def test_hot_day_choice() -> None:
    rows = pd.DataFrame(
        [
            HOT_DAY_ROW,
            {**HOT_DAY_ROW, "date": pd.Timestamp("2019-07-25"), "temp_max_c": 36.9},
            {**HOT_DAY_ROW, "date": pd.Timestamp("2019-07-26"), "temp_max_c": 38.0, "humidity_min_pct": None},
        ]
    )
    make = heat.MODEL.make_params
    assert heat.hot_day(rows, make()).date == pd.Timestamp("2015-07-01")
    assert heat.hot_day(rows, make({"day": "hottest"})).date == pd.Timestamp("2019-07-25")
    reference = heat.hot_day(rows.iloc[0:0], make({"day": "reference"}))
    assert reference.temp_max_c == 30.0 and reference.wind_ms == 2.0
    with pytest.raises(InvalidInputError, match="no complete data for 2019-07-26"):
        heat.hot_day(rows, make({"day": "2019-07-26"}))
    with pytest.raises(InvalidInputError, match="not a date"):
        heat.hot_day(rows, make({"day": "yesterday"}))


# --- raster helpers and the toy city -------------------------------------------------------------


def test_rasterize_matches_cell_centre_test() -> None:
    grid = Grid.covering((0.0, 0.0, 100.0, 80.0), 10.0)
    ring = box(2.0, 2.0, 72.0, 52.0).difference(box(22.0, 22.0, 48.0, 48.0))
    shapes = np.array([ring, Point(90, 70).buffer(9)], dtype=object)
    mask = rasterize_mask(shapes, grid)
    xs, ys = grid.centres()
    x, y = np.meshgrid(xs, ys)
    expected = np.zeros_like(mask)
    for shape in shapes:
        expected |= np.vectorize(lambda px, py, s=shape: s.contains(Point(px, py)))(x, y)
    assert (mask == expected).all()
    labels = rasterize_values(shapes, np.array([1, 2], dtype=np.int32), grid, 0)
    assert set(np.unique(labels)) == {0, 1, 2}
    window = grid.window(2, 3, 4, 5)
    assert (rasterize_mask(shapes, window) == mask[grid.slices(window)]).all()


def _toy_height() -> np.ndarray:
    height = np.zeros((21, 21), dtype=np.float32)
    height[9:11, 9:11] = 20.0
    return height


def test_toy_building_shadow_falls_away_from_the_sun() -> None:
    height = _toy_height()
    # Sun due south at 45°: the shadow of a 20 m building reaches (20 - 1.2) / tan 45° = 18.8 m north.
    shade = heat.shadow_mask(height, 10.0, 45.0, 180.0)
    assert shade[8, 9:11].all() and shade[7, 9:11].all()
    assert not shade[6, 9:11].any()
    assert not shade[11:, :].any()
    assert not shade[:, :8].any() and not shade[:, 12:].any()
    # Sun in the west at 30°: the shadow falls east.
    shade_west = heat.shadow_mask(height, 10.0, 30.0, 270.0)
    assert shade_west[9:11, 11].all() and not shade_west[9:11, 8].any()
    assert heat.shadow_mask(height, 10.0, -5.0, 180.0).all()


def test_toy_building_lowers_the_sky_view_next_to_it() -> None:
    svf = heat.sky_view_factor(_toy_height(), 10.0, radius_m=50.0)
    assert svf[8, 9] < 0.9
    assert svf[8, 9] < svf[5, 9] < 1.0
    assert svf[0, 0] == pytest.approx(1.0)
    assert ((svf > 0) & (svf <= 1)).all()


def _frame(rows: list[dict], geometry: list, index_name: str, start: int = 1) -> gpd.GeoDataFrame:
    index = pd.Index(range(start, start + len(geometry)), name=index_name)
    return gpd.GeoDataFrame(rows or None, geometry=geometry, crs=CRS, index=index)


def _toy_city() -> CityState:
    """400 x 400 m buurt: a 20 m building in the middle, grass in the west, a pond in the east."""
    empty_lines = gpd.GeoDataFrame(geometry=[], crs=CRS)
    buurten = gpd.GeoDataFrame(
        {"h2o": ["NEE"]}, geometry=[box(0, 0, 400, 400)], crs=CRS, index=pd.Index(["BU0"], name="bu_code")
    )
    buildings = _frame(
        [{"height_m": 20.0, "dwellings_est": 40.0, "bu_code": "BU0", "main_use": "residential"}],
        [box(180, 180, 220, 220)],
        "building_id",
    )
    green = _frame([{"green_type": "grass"}], [box(0, 0, 100, 400)], "green_id")
    water = _frame([{"water_type": "lake"}], [box(320, 150, 400, 250)], "water_id")
    return CityState(
        year=2021,
        buurten=buurten,
        buildings=buildings,
        roads=empty_lines,
        road_nodes=empty_lines,
        facilities=empty_lines,
        green=green,
        water=water,
        weather=pd.DataFrame([HOT_DAY_ROW]),
    )


def _at(result: ModelResult, name: str, x: float, y: float) -> float:
    raster = result.raster
    assert raster is not None
    col = int((x - raster.x_min) // raster.cell_m)
    row = int((raster.y_max - y) // raster.cell_m)
    return float(raster.values[name][row, col])


def test_toy_city_run() -> None:
    city = _toy_city()
    result = heat.run(city, {}, heat.MODEL.make_params())
    assert result.raster is not None and result.raster.shape == (40, 40)
    pet = result.raster.values["pet_c"]
    assert pet.dtype == np.float32
    assert math.isnan(_at(result, "pet_c", 200, 200))
    assert math.isnan(_at(result, "pet_c", 360, 200))
    assert _at(result, "shade_share", 205, 225) > _at(result, "shade_share", 205, 175)
    assert _at(result, "sky_view_factor", 205, 225) < 0.9
    assert _at(result, "pet_c", 205, 225) < _at(result, "pet_c", 205, 105) - 2
    assert result.buurt.loc["BU0", "pet_mean_c"] == pytest.approx(float(np.nanmean(pet)))
    assert result.objects["buildings"].index.equals(city.buildings.index)
    assert result.city["dwellings_pet_above_41"] in (0.0, 40.0)


def test_toy_city_trees_lower_pet_and_update_equals_run() -> None:
    city = _toy_city()
    params = heat.MODEL.make_params()
    base = heat.run(city, {}, params)
    trees = _frame([{"crown_diameter_m": 8.0}] * 3, [Point(60 + 10 * k, 300) for k in range(3)], "tree_id")
    depaved = _frame([{"surface": "trees"}], [box(250, 300, 290, 340)], "depaved_id")
    scenario = city.replace(trees=trees, depaved=depaved)
    change = CityChange(frozenset({"trees", "depaved"}), (55.0, 295.0, 290.0, 340.0))
    updated = heat.update(scenario, {}, params, base, change)
    full = heat.run(scenario, {}, params)
    assert updated.raster is not None and full.raster is not None
    for name in heat.RASTER_VALUES:
        np.testing.assert_allclose(updated.raster.values[name], full.raster.values[name], atol=1e-4)
    assert _at(full, "pet_c", 265, 315) < _at(base, "pet_c", 265, 315) - 5
    assert full.city["pet_mean_c"] < base.city["pet_mean_c"]
    weather = heat.afternoon_weather(city.weather, params)
    assert heat.reach_m(params, weather, 20.0) == pytest.approx(620.0)
    # Without a bbox, or when the weather changed, update falls back to a full run.
    rerun = heat.update(scenario, {}, params, base, CityChange(frozenset({"trees"}), None))
    assert rerun.city == pytest.approx(full.city)
    far_away = CityChange(frozenset({"trees"}), (5000.0, 5000.0, 5100.0, 5100.0))
    assert heat.update(city, {}, params, base, far_away).city == pytest.approx(base.city)


def test_inputs_are_not_modified() -> None:
    city = _toy_city()
    names = ("buildings", "green", "water", "buurten", "weather")
    before = {name: getattr(city, name).copy() for name in names}
    heat.run(city, {}, heat.MODEL.make_params())
    for name, frame in before.items():
        pd.testing.assert_frame_equal(getattr(city, name), frame)


def test_metadata_is_complete() -> None:
    info = heat.MODEL.info
    assert info.id == "heat_pet" and info.requires == ()
    assert info.reads == frozenset({"buildings", "green", "water", "trees", "depaved", "weather", "buurten"})
    ids = {ind.id for ind in info.indicators}
    assert {"pet_c", "pet_mean_c", "area_pet_above_41_share", "dwellings_pet_above_41_share"} <= ids
    for indicator in info.indicators:
        assert indicator.domain == "heat" and indicator.unit in {"°C", "share", "dwellings"}
    for parameter in heat.MODEL.parameters():
        assert parameter.unit and parameter.source and parameter.description
    for value in info.register.as_dict().values():
        assert value


# --- the Dordrecht demo city ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(demo_city: CityState) -> ModelResult:
    return heat.run(demo_city, {}, heat.MODEL.make_params())


def test_dordrecht_baseline_in_documented_band(demo_city: CityState, baseline: ModelResult) -> None:
    # docs/models/heat.md: 1 July 2015, 10 m grid.
    assert 37.5 < baseline.city["pet_mean_c"] < 40.0
    assert 0.05 < baseline.city["area_pet_above_41_share"] < 0.20
    assert 0.2 < baseline.city["dwellings_pet_above_41_share"] < 0.6
    assert baseline.buurt.index.equals(demo_city.buurten.index)
    assert baseline.objects["buildings"].index.equals(demo_city.buildings.index)
    pet = baseline.raster.values["pet_c"] if baseline.raster is not None else np.zeros(0)
    assert np.nanmin(pet) > 25 and np.nanmax(pet) < 50


def test_dordrecht_water_and_buildings_have_no_pet(demo_city: CityState, baseline: ModelResult) -> None:
    raster = baseline.raster
    assert raster is not None
    grid = Grid(raster.x_min, raster.y_max, raster.cell_m, *raster.shape)
    inside = rasterize_mask(np.asarray(demo_city.buurten.geometry.values), grid)
    water = rasterize_mask(np.asarray(demo_city.water.geometry.values), grid)
    buildings = rasterize_mask(np.asarray(demo_city.buildings.geometry.values), grid)
    pet = raster.values["pet_c"]
    assert water.sum() > 100_000 and buildings.sum() > 50_000
    assert np.isnan(pet[water]).all() and np.isnan(pet[buildings]).all()
    assert np.isnan(pet[~inside]).all()
    assert np.isfinite(pet[inside & ~water & ~buildings]).mean() > 0.95


def test_dordrecht_centre_hotter_than_biesbosch_and_parks(baseline: ModelResult) -> None:
    pet = baseline.buurt["pet_mean_c"]
    centre = pet.loc["BU05050108"]  # Centrum (Binnenstad)
    assert centre > pet.loc["BU05059804"] + 3  # Dordtse Biesbosch
    assert centre > pet.loc["BU05050405"] + 2  # Weizigtpark
    assert centre > pet.loc["BU05050500"] + 3  # Wantijpark en omgeving
    share = baseline.buurt["area_pet_above_41_share"]
    assert share.loc["BU05050108"] > 0.5 > share.loc["BU05059804"]


def test_dordrecht_greening_statenplein_cools_and_update_equals_run(
    demo_city: CityState, baseline: ModelResult
) -> None:
    x, y = STATENPLEIN
    square = box(x - 50, y - 50, x + 50, y + 50)
    depaved = _frame([{"surface": "trees"}], [square], "depaved_id")
    scenario = demo_city.replace(depaved=depaved)
    change = CityChange(frozenset({"depaved"}), square.bounds)
    params = heat.MODEL.make_params()
    updated = heat.update(scenario, {}, params, baseline, change)
    full = heat.run(scenario, {}, params)
    assert updated.raster is not None and full.raster is not None and baseline.raster is not None
    for name in heat.RASTER_VALUES:
        np.testing.assert_allclose(updated.raster.values[name], full.raster.values[name], atol=1e-4)
    pd.testing.assert_frame_equal(updated.buurt, full.buurt, atol=1e-6)
    pd.testing.assert_frame_equal(updated.objects["buildings"], full.objects["buildings"], atol=1e-6)
    assert updated.city == pytest.approx(full.city)

    grid = Grid(full.raster.x_min, full.raster.y_max, full.raster.cell_m, *full.raster.shape)
    inside = grid.slices(grid.window_around(square.bounds, 0))
    near = grid.slices(grid.window_around(square.bounds, 50))
    before, after = baseline.raster.values["pet_c"], full.raster.values["pet_c"]
    assert np.nanmean(before[inside]) > 41
    assert np.nanmean(after[inside]) < np.nanmean(before[inside]) - 5
    assert np.nanmean(after[near]) < np.nanmean(before[near]) - 1
    far = grid.slices(grid.window_around(square.bounds, 2000))
    changed = np.abs(np.nan_to_num(after - before))
    changed[grid.slices(grid.window_around(square.bounds, 700))] = 0
    assert changed[far].max() < 1e-4
    assert full.city["pet_mean_c"] < baseline.city["pet_mean_c"]
