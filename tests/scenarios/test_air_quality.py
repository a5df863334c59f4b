"""Air quality (SRM1 NO2): hand-computed formulas, a toy street, real numbers on Dordrecht, directions."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.city import CRS, CityState
from tweeling.scenarios.impacts import air_quality as aq
from tweeling.scenarios.model import ModelResult

PARAMS = aq.MODEL.make_params()


def traffic_result(
    roads: pd.DataFrame, volumes: dict[int, tuple[float, float, float, float, float]]
) -> ModelResult:
    """A traffic result: edge_id -> (light, medium, heavy vehicles/day, speed km/h, congestion share)."""
    rows = {edge: volumes.get(edge, (0.0, 0.0, 0.0, 30.0, 0.0)) for edge in roads.index}
    frame = pd.DataFrame.from_dict(
        rows,
        orient="index",
        columns=["light_veh_day", "medium_veh_day", "heavy_veh_day", "speed_kmh", "congestion_share"],
    )
    frame["total_veh_day"] = frame[["light_veh_day", "medium_veh_day", "heavy_veh_day"]].sum(axis=1)
    frame["vc_peak"] = 0.5
    frame.index.name = "edge_id"
    return ModelResult(objects={"roads": frame})


# -- hand-computed formulas -----------------------------------------------------------------------


def test_dilution_hand_values() -> None:
    # type 3 at 10 m: 0.000488*100 - 0.0308*10 + 0.59; type 1 at 10 m: 0.00031*100 - 0.0182*10 + 0.33
    theta = aq.srm1_dilution(
        np.array([10.0, 10.0, 45.0, 45.0, 2.0, 61.0]), np.array([3, 1, 1, 3, 3, 1]), PARAMS
    )
    assert theta[0] == pytest.approx(0.0488 - 0.308 + 0.59, abs=1e-12)
    assert theta[1] == pytest.approx(0.031 - 0.182 + 0.33, abs=1e-12)
    assert theta[2] == pytest.approx(0.799 * 45.0**-0.747, rel=1e-12)  # 0.04652
    assert theta[2] == pytest.approx(0.04652, abs=1e-5)
    assert theta[3] == 0.0  # canyons have no 30-60 m range
    assert theta[4] == pytest.approx(0.000488 * 25 - 0.0308 * 5 + 0.59)  # S below 5 m counts as 5 m
    assert theta[5] == 0.0
    far = aq.far_field_dilution(np.array([59.0, 90.0, 301.0]), PARAMS)
    np.testing.assert_allclose(far, [0.0, 0.799 * 90.0**-0.747, 0.0])


def test_dilution_sets_are_continuous_at_30_m_and_ordered_by_enclosure() -> None:
    for street_type in (1, 4):  # the types with a 30-60 m range
        below = aq.srm1_dilution(np.array([30.0]), np.array([street_type]), PARAMS)[0]
        above = aq.srm1_dilution(np.array([30.001]), np.array([street_type]), PARAMS)[0]
        assert above == pytest.approx(below, rel=0.01)
    for distance in np.arange(5.0, 30.5, 0.5):
        # open terrain < one side built < basistype < canyon
        theta = aq.srm1_dilution(np.full(4, distance), np.array([1, 4, 2, 3]), PARAMS)
        assert np.all(np.diff(theta) > 0), distance


def test_no2_from_nox_hand_values() -> None:
    convert = {"f_no2": 0.2, "ozone_ugm3": 42.0, "b": 0.6, "k_ugm3": 100.0}
    # 0.2*20 + 0.6*42*16/(16 + 100)
    assert aq.no2_from_nox(np.array([20.0]), **convert)[0] == pytest.approx(4.0 + 403.2 / 116.0, rel=1e-12)
    assert aq.no2_from_nox(np.array([20.0]), **convert)[0] == pytest.approx(7.4759, abs=1e-4)
    values = aq.no2_from_nox(np.array([0.0, 1.0, 10.0, 100.0, 1000.0]), **convert)
    assert values[0] == 0.0
    assert np.all(np.diff(values) > 0)
    assert np.all(values[1:] < np.array([1.0, 10.0, 100.0, 1000.0]))  # NO2 never above NOx


def test_emission_hand_value() -> None:
    traffic = pd.DataFrame(
        {
            "light_veh_day": [10_000.0, 0.0, 86_400.0],
            "medium_veh_day": [400.0, 0.0, 0.0],
            "heavy_veh_day": [200.0, 0.0, 0.0],
            "speed_kmh": [45.0, 45.0, 100.0],
            "congestion_share": [0.1, 0.0, 0.0],
        },
        index=pd.Index([7, 8, 9], name="edge_id"),
    )
    emission = aq.nox_emission(traffic, PARAMS)
    # speed 45 km/h: 'e' (stad doorstromend) drive, 'd' (stagnerend) jam; ug/m/s = veh/s * g/km * 1000
    light = 10_000 / 86_400 * (0.9 * 0.255 + 0.1 * 0.377) * 1000
    freight = 600 / 86_400 * (0.9 * 3.089 + 0.1 * 7.277) * 1000
    assert emission[7] == pytest.approx(light + freight, rel=1e-12)
    assert emission[7] == pytest.approx(55.29, abs=0.01)
    assert emission[8] == 0.0
    assert emission[9] == pytest.approx(234.0, rel=1e-12)  # 1 light veh/s at 0.234 g/km ('a')
    assert emission.index.equals(traffic.index)


def test_speed_types_and_tree_factor() -> None:
    assert aq.drive_speed_type(np.array([10.0, 30.0, 45.0, 70.0, 100.0]), PARAMS).tolist() == [
        "c",
        "c",
        "e",
        "b",
        "a",
    ]
    np.testing.assert_allclose(
        aq.tree_factor(np.array([0.0, 0.04, 0.05, 0.2, 0.25, 1.0]), PARAMS), [1, 1, 1.25, 1.25, 1.5, 1.5]
    )
    continuous = aq.MODEL.make_params({"tree_factor_rule": "continuous"})
    np.testing.assert_allclose(aq.tree_factor(np.array([0.0, 0.5, 2.0]), continuous), [1.0, 1.25, 1.5])
    with pytest.raises(InvalidInputError):
        aq.tree_factor(np.array([0.1]), aq.MODEL.make_params({"tree_factor_rule": "dense"}))


def test_street_type_rules() -> None:
    # road 0: buildings within 3 x height on both sides over 60 % of its 100 m -> canyon (3)
    # road 1: only the left side -> one-sided (4); road 2: buildings 40 m off both sides -> basistype (2)
    # road 3: no buildings -> open terrain (1); road 4: one small shed 10 m off -> open terrain (1)
    pairs = {
        "road": np.array([0, 0, 1, 2, 2, 4]),
        "building": np.array([0, 1, 0, 2, 2, 3]),
        "distance_m": np.array([8.0, 9.0, 8.0, 40.0, 40.0, 10.0]),
        "side": np.array([1, -1, 1, 1, -1, 1], dtype=np.int8),
        "frontage_m": np.array([60.0, 60.0, 60.0, 100.0, 100.0, 5.0]),
    }
    height = np.array([9.0, 6.0, 20.0, 3.0])
    types = aq.classify_street_types(pairs, height, np.full(5, 100.0), PARAMS)
    assert types.tolist() == [3, 4, 2, 1, 1]


# -- a toy street ---------------------------------------------------------------------------------


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def toy_city(trees: list[tuple[float, float, float]] | None = None) -> CityState:
    """Road 10 (0,0)-(200,0) tertiary; 11 (0,-500)-(200,-500) motorway; 12 a foot path at y = 50.

    Buildings: 101 north of road 10 (facade 10 m from its axis), 102 south (20 m), 103 100 m north
    (next to the path only), 104 90 m north of the motorway.
    """
    roads = gpd.GeoDataFrame(
        {
            "road_class": ["tertiary", "motorway", "path"],
            "car": [True, True, False],
            "brunnel": [None, None, None],
            "free_speed_kmh": [50.0, 100.0, 15.0],
            "length_m": [200.0, 200.0, 200.0],
        },
        geometry=[
            shapely.LineString([(0, 0), (200, 0)]),
            shapely.LineString([(0, -500), (200, -500)]),
            shapely.LineString([(0, 50), (200, 50)]),
        ],
        index=pd.Index([10, 11, 12], name="edge_id"),
        crs=CRS,
    )
    buildings = gpd.GeoDataFrame(
        {
            "bu_code": ["BU1", "BU1", "BU2", "BU2"],
            "height_m": [9.0, 6.0, 6.0, 6.0],
            "main_use": "residential",
            "residents_est": [10.0, 5.0, 3.0, 2.0],
            "scenario_added": False,
        },
        geometry=[
            _box(90, 10, 110, 20),
            _box(90, -30, 110, -20),
            _box(90, 100, 110, 110),
            _box(90, -410, 110, -400),
        ],
        index=pd.Index([101, 102, 103, 104], name="building_id"),
        crs=CRS,
    )
    tree_list = trees or []
    tree_frame = gpd.GeoDataFrame(
        {"crown_diameter_m": [t[2] for t in tree_list]},
        geometry=[shapely.Point(t[0], t[1]) for t in tree_list],
        index=pd.Index(range(len(tree_list)), name="tree_id"),
        crs=CRS,
    )
    green = gpd.GeoDataFrame({"green_type": pd.Series(dtype=str)}, geometry=[], crs=CRS)
    buurten = gpd.GeoDataFrame(
        geometry=[_box(-50, -50, 250, 50), _box(-50, -600, 250, -300), _box(1000, 1000, 1010, 1010)],
        index=pd.Index(["BU1", "BU2", "BU3"], name="bu_code"),
        crs=CRS,
    )
    empty = gpd.GeoDataFrame(geometry=[], crs=CRS)
    return CityState(
        year=2021,
        buurten=buurten,
        buildings=buildings,
        roads=roads,
        road_nodes=empty,
        facilities=empty,
        green=green,
        water=empty,
        weather=pd.DataFrame(),
        trees=tree_frame,
    )


TOY_TRAFFIC = {10: (8_640.0, 0.0, 0.0, 45.0, 0.0), 11: (86_400.0, 0.0, 0.0, 100.0, 0.0)}


def test_facade_road_pairs_on_toy_street() -> None:
    city = toy_city()
    pairs = aq.facade_road_pairs(city.buildings.geometry, city.roads.geometry, 60.0)
    assert set(pairs.columns) == {"building_id", "edge_id", *aq.PAIR_KEYS}
    by_pair = pairs.set_index(["building_id", "edge_id"])
    assert sorted(by_pair.index) == [(101, 10), (101, 12), (102, 10), (103, 12)]
    assert by_pair.loc[(101, 10), "distance_m"] == pytest.approx(10.0)
    assert by_pair.loc[(102, 10), "distance_m"] == pytest.approx(20.0)
    assert by_pair.loc[(103, 12), "distance_m"] == pytest.approx(50.0)
    assert by_pair.loc[(101, 10), "side"] == 1  # north = left of a road digitised eastwards
    assert by_pair.loc[(102, 10), "side"] == -1
    assert by_pair.loc[(101, 10), "frontage_m"] == pytest.approx(20.0)
    assert by_pair.loc[(101, 10), "facade_y"] == pytest.approx(10.0)
    assert by_pair.loc[(101, 10), "road_y"] == pytest.approx(0.0)
    # a road vertex nearer to a building edge than any building vertex is to the road
    corner = aq.facade_road_pairs(
        gpd.GeoSeries([_box(0, 5, 100, 15)]),
        gpd.GeoSeries([shapely.LineString([(40, -20), (50, 0), (60, -20)])]),
        60,
    )
    assert corner["distance_m"].iloc[0] == pytest.approx(5.0)


def test_toy_run_matches_hand_computation() -> None:
    city = toy_city()
    result = aq.run(city, {"traffic": traffic_result(city.roads, TOY_TRAFFIC)}, PARAMS)
    background = PARAMS.background_no2_ugm3

    def no2(nox: float) -> float:
        return 0.2 * nox + 0.6 * 42 * nox * 0.8 / (nox * 0.8 + 100)

    # road 10: E = 0.1 veh/s * 0.255 g/km * 1000 = 25.5 ug/m/s; few buildings -> open terrain (type 1)
    assert result.objects["roads"].loc[10, aq.NOX_EMISSION] == pytest.approx(25.5)
    assert result.objects["roads"].loc[12, aq.NOX_EMISSION] == 0.0
    assert result.data["street_type"].to_dict() == {10: 1, 11: 1}
    nox_101 = 0.62 * 25.5 * (0.00031 * 100 - 0.0182 * 10 + 0.33)
    nox_102 = 0.62 * 25.5 * (0.00031 * 400 - 0.0182 * 20 + 0.33)
    nox_104 = 0.62 * 234.0 * 0.799 * 90.0**-0.747  # motorway far field at 90 m
    street = result.objects["buildings"][aq.NO2_STREET]
    assert street[101] == pytest.approx(no2(nox_101), rel=1e-9)
    assert street[101] == pytest.approx(1.124, abs=1e-3)
    assert street[102] == pytest.approx(no2(nox_102), rel=1e-9)
    assert street[103] == 0.0
    assert street[104] == pytest.approx(no2(nox_104), rel=1e-9)
    total = result.objects["buildings"][aq.NO2]
    np.testing.assert_allclose(total, background + street)
    buurt = result.buurt
    assert list(buurt.index) == ["BU1", "BU2", "BU3"]
    expected = (10 * total[101] + 5 * total[102]) / 15
    assert buurt.loc["BU1", aq.NO2] == pytest.approx(expected)
    assert buurt.loc[["BU3"], [aq.NO2, aq.ABOVE_WHO_SHARE]].isna().all().all()
    assert buurt.loc["BU1", aq.ABOVE_WHO_SHARE] == 1.0
    assert result.city[aq.ABOVE_40] == 0.0
    assert result.city[aq.NO2_MAX] == pytest.approx(total.max())
    year = 365 * 86_400
    assert result.city[aq.NOX_EMISSION_TOTAL] == pytest.approx((25.5 + 234.0) * 200 * year / 1e12)


def test_toy_trees_raise_the_street_contribution() -> None:
    plain = toy_city()
    # two rows of 8 m crowns every 8 m along road 10, 6 m either side of its axis
    rows = [(float(x), y, 8.0) for x in range(4, 200, 8) for y in (-6.0, 6.0)]
    leafy = toy_city(rows)
    upstream = {"traffic": traffic_result(plain.roads, TOY_TRAFFIC)}
    before = aq.run(plain, upstream, PARAMS)
    after = aq.run(leafy, upstream, PARAMS)
    assert before.data["tree_factor"][10] == 1.0
    assert after.data["tree_factor"][10] == 1.5
    ratio = after.data["nox_street_ugm3"][101] / before.data["nox_street_ugm3"][101]
    assert ratio == pytest.approx(1.5)
    old, new = before.objects["buildings"][aq.NO2], after.objects["buildings"][aq.NO2]
    assert new[101] > old[101]
    assert new[104] == old[104]


def test_sum_aggregation_is_at_least_max() -> None:
    city = toy_city()
    upstream = {"traffic": traffic_result(city.roads, {**TOY_TRAFFIC, 12: (1000.0, 0.0, 0.0, 30.0, 0.0)})}
    largest = aq.run(city, upstream, PARAMS).objects["buildings"][aq.NO2_STREET]
    summed = aq.run(city, upstream, aq.MODEL.make_params({"aggregation": "sum"})).objects["buildings"][
        aq.NO2_STREET
    ]
    assert (summed >= largest - 1e-12).all()
    assert summed[101] > largest[101]  # near road 10 and the (now driven) road 12


def test_bad_input_is_a_clear_error() -> None:
    city = toy_city()
    with pytest.raises(InvalidInputError, match="traffic"):
        aq.run(city, {}, PARAMS)
    bad = ModelResult(objects={"roads": pd.DataFrame({"light_veh_day": [1.0]}, index=[10])})
    with pytest.raises(InvalidInputError, match="medium_veh_day"):
        aq.run(city, {"traffic": bad}, PARAMS)
    upstream = {"traffic": traffic_result(city.roads, TOY_TRAFFIC)}
    with pytest.raises(InvalidInputError, match="wind_speed_ms"):
        aq.run(city, upstream, aq.MODEL.make_params({"wind_speed_ms": 0.0}))
    with pytest.raises(InvalidInputError, match="aggregation"):
        aq.run(city, upstream, aq.MODEL.make_params({"aggregation": "mean"}))


def test_model_metadata() -> None:
    info = aq.MODEL.info
    assert info.id == "air_no2"
    assert info.requires == ("traffic",)
    assert info.reads == frozenset({"buildings", "roads", "green", "trees"})
    assert all(ind.domain == "air" and ind.better == "lower" for ind in info.indicators)
    city = toy_city()
    result = aq.run(city, {"traffic": traffic_result(city.roads, TOY_TRAFFIC)}, PARAMS)
    declared = {ind.id: set(ind.levels) for ind in info.indicators}
    for column in result.buurt.columns:
        assert "buurt" in declared[column]
    for key in result.city:
        assert "city" in declared[key]
    for level, frame in result.objects.items():
        assert all(level in declared[column] for column in frame.columns)
    for item in aq.MODEL.parameters():
        assert item.unit and item.source and item.description, item.name
    register = info.register.as_dict()
    required = ["name", "description_short", "theme", "purpose_and_impact", "considerations"]
    required += ["human_intervention", "risk_management", "data", "technical_operation"]
    assert all(register[key] for key in required)
    assert len(register["name"]) < 100 and len(register["description_short"]) < 350


# -- Dordrecht ------------------------------------------------------------------------------------

VOLUMES = {"motorway": 80_000, "trunk": 30_000, "primary": 20_000, "secondary": 12_000, "tertiary": 6_000}
VOLUMES |= {"minor": 800, "service": 150}
HEAVY_SHARE = {"motorway": 0.12, "trunk": 0.08, "primary": 0.06, "secondary": 0.05, "tertiary": 0.04}


def dordrecht_traffic(roads: pd.DataFrame) -> ModelResult:
    """A synthetic traffic result: daily volumes and heavy shares by road class, speed 90 % of free speed."""
    total = roads["road_class"].map(VOLUMES).fillna(0.0).where(roads["car"], 0.0).astype(float)
    heavy = roads["road_class"].map(HEAVY_SHARE).fillna(0.02).astype(float)
    frame = pd.DataFrame(
        {
            "light_veh_day": total * (1 - heavy),
            "medium_veh_day": total * heavy / 2,
            "heavy_veh_day": total * heavy / 2,
            "total_veh_day": total,
            "speed_kmh": roads["free_speed_kmh"] * 0.9,
            "congestion_share": np.where(total > 10_000, 0.1, 0.02),
            "vc_peak": 0.5,
        },
        index=roads.index,
    )
    return ModelResult(objects={"roads": frame})


@pytest.fixture(scope="module")
def dordrecht(demo_city: CityState) -> tuple[CityState, dict[str, ModelResult], ModelResult]:
    upstream = {"traffic": dordrecht_traffic(demo_city.roads)}
    return demo_city, upstream, aq.run(demo_city, upstream, PARAMS)


@pytest.mark.slow
def test_dordrecht_baseline_numbers(dordrecht: tuple[CityState, dict[str, ModelResult], ModelResult]) -> None:
    city, _, result = dordrecht
    buildings = result.objects["buildings"]
    assert buildings.index.equals(city.buildings.index)
    assert result.objects["roads"].index.equals(city.roads.index)
    assert result.buurt.index.equals(city.buurten.index)
    assert buildings.notna().all().all()
    assert (buildings[aq.NO2] >= PARAMS.background_no2_ugm3).all()
    # golden numbers for this synthetic traffic (street contribution ~0.8 ug/m3 on average)
    assert result.city[aq.NO2] == pytest.approx(19.81, abs=0.15)
    assert result.city[aq.NO2_STREET] == pytest.approx(0.81, abs=0.15)
    assert result.city[aq.NOX_EMISSION_TOTAL] == pytest.approx(774, rel=0.02)
    assert 0.2 < result.city[aq.ABOVE_20_SHARE] < 0.4
    assert result.city[aq.ABOVE_WHO_SHARE] == 1.0
    assert result.city[aq.ABOVE_40] < 50
    assert 35 < result.city[aq.NO2_MAX] < 60
    assert result.data["pairs"] == pytest.approx(573_500, rel=0.01)
    types = result.data["street_type"].value_counts(normalize=True)
    assert 0.35 < types[3] < 0.55 and 0.2 < types[4] < 0.35 and 0.1 < types[2] < 0.3 and types[1] < 0.1
    buurt_no2 = result.buurt[aq.NO2].dropna()
    assert len(buurt_no2) >= 120 and buurt_no2.between(19.0, 32.0).all()


@pytest.mark.slow
def test_dordrecht_busy_roads_have_higher_no2(
    dordrecht: tuple[CityState, dict[str, ModelResult], ModelResult],
) -> None:
    city, upstream, result = dordrecht
    total = upstream["traffic"].objects["roads"]["total_veh_day"]
    busy = city.roads.geometry[(total >= 12_000) & (city.roads["road_class"] != "motorway")]
    quiet = city.roads.geometry[(total > 0) & (total <= 800)]
    near_busy = aq.facade_road_pairs(city.buildings.geometry, busy, 15.0)["building_id"].unique()
    near_quiet = aq.facade_road_pairs(city.buildings.geometry, quiet, 15.0)["building_id"].unique()
    only_quiet = np.setdiff1d(near_quiet, near_busy)
    street = result.objects["buildings"][aq.NO2_STREET]
    assert street[near_busy].mean() > 3 * street[only_quiet].mean()
    assert street[near_busy].mean() > 2.0


@pytest.mark.slow
def test_dordrecht_pair_distances_match_shapely(demo_city: CityState) -> None:
    roads = demo_city.roads.geometry[demo_city.roads["car"]].iloc[::20]
    pairs = aq.facade_road_pairs(demo_city.buildings.geometry, roads, 60.0)
    reference = shapely.distance(
        demo_city.buildings.geometry.loc[pairs["building_id"]].to_numpy(),
        roads.loc[pairs["edge_id"]].to_numpy(),
    )
    apart = reference > 0  # footprints crossing the axis between vertices get their nearest vertex instead
    np.testing.assert_allclose(pairs["distance_m"].to_numpy()[apart], reference[apart], atol=1e-6)
    assert apart.mean() > 0.99
    everything = shapely.STRtree(roads.to_numpy()).query(
        demo_city.buildings.geometry.to_numpy(), "dwithin", 60.0
    )
    assert len(pairs) == everything.shape[1]


@pytest.mark.slow
def test_dordrecht_removing_a_road_lowers_no2_along_it_only(
    dordrecht: tuple[CityState, dict[str, ModelResult], ModelResult],
) -> None:
    city, upstream, before = dordrecht
    traffic = upstream["traffic"].objects["roads"]
    streets = city.roads[city.roads["road_class"].isin(["primary", "secondary"])]
    homes = city.buildings.geometry[city.buildings["residents_est"] > 0]
    lined = aq.facade_road_pairs(homes, streets.geometry, 20.0)["edge_id"].unique()
    edge = int(before.objects["roads"].loc[lined, aq.NOX_EMISSION].idxmax())  # busiest street lined by homes
    changed = traffic.copy()
    changed.loc[edge, ["light_veh_day", "medium_veh_day", "heavy_veh_day", "total_veh_day"]] = 0.0
    after = aq.run(city, {"traffic": ModelResult(objects={"roads": changed})}, PARAMS)
    old, new = before.objects["buildings"][aq.NO2], after.objects["buildings"][aq.NO2]
    along = aq.facade_road_pairs(city.buildings.geometry, city.roads.geometry.loc[[edge]], 20.0)[
        "building_id"
    ]
    assert len(along) > 0
    assert (new[along] < old[along]).any()
    assert (new <= old + 1e-12).all()
    near = aq.facade_road_pairs(city.buildings.geometry, city.roads.geometry.loc[[edge]], 60.0)["building_id"]
    far_away = ~old.index.isin(near)
    pd.testing.assert_series_equal(new[far_away], old[far_away])
    assert after.objects["roads"].loc[edge, aq.NOX_EMISSION] == 0.0
    assert after.city[aq.NO2] < before.city[aq.NO2]
    assert after.city[aq.NOX_EMISSION_TOTAL] < before.city[aq.NOX_EMISSION_TOTAL]


@pytest.mark.slow
def test_dordrecht_planting_trees_raises_street_no2(
    dordrecht: tuple[CityState, dict[str, ModelResult], ModelResult],
) -> None:
    city, upstream, before = dordrecht
    factor = before.data["tree_factor"]
    candidates = city.roads.loc[factor.index[factor == 1.0]]
    candidates = candidates[candidates["road_class"] == "secondary"]
    edge = int(candidates.index[np.argmax(candidates["length_m"].to_numpy())])
    line = city.roads.geometry[edge]
    points = []
    for distance in np.arange(4.0, line.length, 8.0):
        for offset in (-6.0, 6.0):
            points.append(shapely.offset_curve(line, offset).interpolate(distance, normalized=False))
    trees = gpd.GeoDataFrame(
        {"crown_diameter_m": 8.0},
        geometry=points,
        index=pd.Index(range(len(points)), name="tree_id"),
        crs=CRS,
    )
    buildings_before = city.buildings.copy()
    after = aq.run(city.replace(trees=trees), upstream, PARAMS)
    assert after.data["tree_factor"][edge] == 1.5
    old, new = before.objects["buildings"][aq.NO2], after.objects["buildings"][aq.NO2]
    assert (new >= old - 1e-12).all()
    assert (new > old).any()
    assert after.city[aq.NO2] > before.city[aq.NO2]
    pd.testing.assert_frame_equal(city.buildings, buildings_before)  # the city state is not modified
    assert math.isclose(after.city[aq.NOX_EMISSION_TOTAL], before.city[aq.NOX_EMISSION_TOTAL])
