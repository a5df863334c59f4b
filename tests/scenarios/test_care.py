"""Care model: 2SFCA by hand, demand = population x rate, and plausible numbers on Dordrecht."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from tweeling.scenarios.city import CRS, CityState
from tweeling.scenarios.impacts import care, demography
from tweeling.scenarios.impacts.care import MODEL, network_distances, two_step_fca
from tweeling.scenarios.impacts.demography import AGE_GROUPS, POP_COLUMNS
from tweeling.scenarios.model import ModelResult


def params(**overrides: object) -> care.CareParams:
    """Default care parameters with overrides."""
    return MODEL.make_params(overrides)


def upstream(city: CityState) -> dict[str, ModelResult]:
    """The demography result the care model needs."""
    return {"demography": demography.run(city, {}, demography.MODEL.make_params())}


def with_facility(city: CityState, kind: str, x: float, y: float, capacity: float | None) -> CityState:
    """The city with one facility added (as a scenario would)."""
    facility_id = int(city.facilities.index.max()) + 1
    row = gpd.GeoDataFrame(
        {
            "facility_type": [kind],
            "name": ["test"],
            "capacity": pd.array([capacity], dtype="Float64"),
            "scenario_added": [True],
        },
        geometry=[Point(x, y)],
        crs=CRS,
        index=pd.Index([facility_id], name="facility_id"),
    )
    return city.replace(facilities=pd.concat([city.facilities, row]))


def test_two_step_fca_by_hand() -> None:
    # Two facilities, three demand points: facility A reaches points 1 and 2, facility B points 2 and 3.
    demand = np.array([100.0, 200.0, 300.0])
    supply = np.array([150.0, 300.0])
    distance = np.array([[500.0, 900.0, 2500.0], [2000.0, 1000.0, 100.0]])
    ratio, within = two_step_fca(demand, supply, distance, catchment_m=1000.0)
    assert ratio == pytest.approx([150 / 300, 300 / 500])
    assert within == pytest.approx([100 * 0.5, 200 * (0.5 + 0.6), 300 * 0.6])
    assert within.sum() == pytest.approx(supply.sum())
    assert np.maximum(demand - within, 0) == pytest.approx([50.0, 0.0, 120.0])
    ratio, within = two_step_fca(demand, supply, distance + 5000.0, catchment_m=1000.0)
    assert ratio.tolist() == [0.0, 0.0] and within.tolist() == [0.0, 0.0, 0.0]


def test_network_distance_on_a_toy_street(demo_city: CityState) -> None:
    # Nodes at x = 0, 100, 200 on one street; a motorway link (no foot) would be a shortcut.
    nodes = gpd.GeoDataFrame(
        geometry=[Point(0, 0), Point(100, 0), Point(200, 0)],
        crs=CRS,
        index=pd.Index([7, 8, 9], name="node_id"),
    )
    roads = gpd.GeoDataFrame(
        {
            "from_node": [7, 8, 7],
            "to_node": [8, 9, 9],
            "length_m": [100.0, 100.0, 50.0],
            "foot": [True, True, False],
        },
        geometry=[
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (200, 0)]),
            LineString([(0, 0), (200, 0)]),
        ],
        crs=CRS,
        index=pd.Index([0, 1, 2], name="edge_id"),
    )
    city = demo_city.replace(roads=roads, road_nodes=nodes)
    distance = network_distances(
        city, np.array([[0.0, 10.0]]), np.array([[200.0, -5.0], [90.0, 0.0]]), 1000.0
    )
    assert distance is not None
    assert distance[0] == pytest.approx([10 + 200 + 5, 10 + 100 + 10])
    far = network_distances(city, np.array([[0.0, 10.0]]), np.array([[200.0, -5.0]]), 150.0)
    assert far is not None and np.isinf(far[0, 0])


def test_demand_is_population_times_rate(demo_city: CityState) -> None:
    city = demo_city.replace(horizon_years=5)
    needs = upstream(city)
    population = needs["demography"].data["population_by_age"]
    only_85 = dict.fromkeys(AGE_GROUPS, 0.0) | {"85_plus": 0.5}
    result = care.run(city, needs, params(nursing_home_rate=only_85))
    assert result.buurt["nursing_home_places_needed"].to_numpy() == pytest.approx(
        0.5 * population["pop_85_plus"].to_numpy()
    )
    rates = params().wmo_rate
    code = "BU05050909"
    by_hand = sum(population.loc[code, f"pop_{group}"] * rates[group] for group in AGE_GROUPS)
    assert result.buurt["wmo_clients"].loc[code] == pytest.approx(by_hand)
    assert result.buurt["gp_patients"].sum() == pytest.approx(population.to_numpy().sum())


def test_dordrecht_plausible_numbers(demo_city: CityState) -> None:
    result = care.run(demo_city, upstream(demo_city), params())
    buurt, city = result.buurt, result.city
    assert list(buurt.index) == list(demo_city.buurten.index)
    per_1000 = {
        name: 1000 * city[name] / city["gp_patients"] for name in ("home_care_clients", "wmo_clients")
    }
    assert 25 <= per_1000["home_care_clients"] <= 45  # Vektis 2018: 34 per 1,000 nationally
    assert 50 <= per_1000["wmo_clients"] <= 80  # CBS 2019: about 64 per 1,000 nationally
    assert 650 <= city["nursing_home_places_needed"] <= 900  # about 6.5 places per 1,000 nationally
    assert city["gp_patients"] == pytest.approx(119_030)
    assert city["gp_capacity"] == pytest.approx(16 * 2.5 * 2095)
    assert city["nursing_home_places"] == pytest.approx(4 * 80)
    assert city["gp_capacity_within_reach"] <= city["gp_capacity"] + 1e-6
    assert city["gp_shortfall"] >= city["gp_patients"] - city["gp_capacity"] - 1e-6
    assert (buurt.drop(columns=["gp_capacity_ratio", "nursing_home_capacity_ratio"]) >= -1e-9).all().all()
    assert (buurt["gp_shortfall"] <= buurt["gp_patients"] + 1e-6).all()
    assert buurt["gp_capacity_ratio"].isna().equals(buurt["gp_patients"] <= 0)
    assert result.data["distance_method"] == "network"
    facilities = result.data["facilities"]
    assert set(facilities["capacity_source"]) == {"assumed"} and len(facilities) == 20


def test_network_distances_are_never_shorter_than_straight_lines(demo_city: CityState) -> None:
    facilities = demo_city.facilities[demo_city.facilities["facility_type"] == "gp"]
    facility_xy = np.column_stack([facilities.geometry.x, facilities.geometry.y])
    homes = demo_city.buildings[demo_city.buildings["residents_est"] > 0].iloc[::500].geometry.centroid
    home_xy = np.column_stack([homes.x, homes.y])
    network = network_distances(demo_city, facility_xy, home_xy, 5000.0)
    assert network is not None
    straight = np.hypot(
        facility_xy[:, None, 0] - home_xy[None, :, 0], facility_xy[:, None, 1] - home_xy[None, :, 1]
    )
    assert (network >= straight - 1e-6).all()
    assert np.isfinite(network).mean() > 0.3


def test_ageing_raises_nursing_home_demand(demo_city: CityState) -> None:
    now = care.run(demo_city, upstream(demo_city), params())
    later_city = demo_city.replace(horizon_years=10)
    later = care.run(later_city, upstream(later_city), params())
    assert later.city["nursing_home_places_needed"] > now.city["nursing_home_places_needed"] * 1.25
    assert later.city["home_care_clients"] > now.city["home_care_clients"]
    assert later.city["nursing_home_shortfall"] > now.city["nursing_home_shortfall"]


def test_new_gp_lowers_the_shortfall_nearby(demo_city: CityState) -> None:
    before = care.run(demo_city, upstream(demo_city), params())
    code = str(before.buurt["gp_shortfall"].idxmax())
    homes = demo_city.buildings[
        (demo_city.buildings["bu_code"] == code) & (demo_city.buildings["residents_est"] > 0)
    ]
    site = homes.geometry.union_all().centroid
    city = with_facility(demo_city, "gp", site.x, site.y, capacity=5000.0)
    after = care.run(city, upstream(city), params())
    assert after.buurt["gp_shortfall"].loc[code] < before.buurt["gp_shortfall"].loc[code] - 500
    assert after.city["gp_shortfall"] < before.city["gp_shortfall"] - 2000
    assert after.city["gp_capacity"] == pytest.approx(before.city["gp_capacity"] + 5000.0)
    added = after.data["facilities"].loc[int(city.facilities.index.max())]
    assert added["capacity_source"] == "given" and added["capacity"] == 5000.0


def test_new_neighbourhood_needs_care_where_it_is_built(demo_city: CityState) -> None:
    code = "BU05051007"
    building = int(demo_city.buildings.index[demo_city.buildings["bu_code"] == code][0])
    project = pd.DataFrame(
        {
            "intervention": ["new district"],
            "bu_code": [code],
            "building_id": [building],
            "dwellings": [1000.0],
            "share_starters": [0.0],
            "share_families": [0.0],
            "share_seniors": [1.0],
        }
    )
    before = care.run(demo_city, upstream(demo_city), params())
    city = demo_city.replace(new_households=project)
    after = care.run(city, upstream(city), params())
    added = (after.buurt.loc[code] - before.buurt.loc[code]).astype(float)
    rates = params()
    assert added["gp_patients"] == pytest.approx(1500.0)
    assert added["nursing_home_places_needed"] == pytest.approx(
        1000 * (0.9 * rates.nursing_home_rate["65_74"] + 0.6 * rates.nursing_home_rate["75_84"])
    )
    assert added["gp_shortfall"] > 0
    others = after.buurt.drop(index=code)["gp_patients"] - before.buurt.drop(index=code)["gp_patients"]
    assert others.abs().max() == pytest.approx(0.0)


def test_euclidean_fallback_without_roads(demo_city: CityState) -> None:
    city = demo_city.replace(roads=demo_city.roads.iloc[:0], road_nodes=demo_city.road_nodes.iloc[:0])
    result = care.run(city, upstream(city), params())
    assert result.data["distance_method"] == "euclidean"
    euclidean = care.run(demo_city, upstream(demo_city), params(distance="euclidean"))
    assert result.city["gp_shortfall"] == pytest.approx(euclidean.city["gp_shortfall"])


def test_run_is_pure_and_checks_its_inputs(demo_city: CityState) -> None:
    needs = upstream(demo_city)
    before = (demo_city.facilities.copy(), demo_city.buildings.drop(columns="geometry").copy())
    care.run(demo_city, needs, params())
    pd.testing.assert_frame_equal(demo_city.facilities, before[0])
    pd.testing.assert_frame_equal(demo_city.buildings.drop(columns="geometry"), before[1])
    with pytest.raises(KeyError, match="demography"):
        care.run(demo_city, {}, params())
    with pytest.raises(ValueError, match="distance must be"):
        care.run(demo_city, needs, params(distance="crow"))


def test_model_metadata() -> None:
    info = MODEL.info
    assert info.id == "care" and info.requires == ("demography",)
    assert info.reads == frozenset({"facilities", "buildings", "buurten", "roads.active", "road_nodes"})
    for item in MODEL.parameters():
        assert item.source and item.unit
    better = {indicator.id: indicator.better for indicator in info.indicators}
    assert better["gp_shortfall"] == better["nursing_home_shortfall"] == "lower"
    assert set(care.OUTPUT_COLUMNS) <= set(better)
    assert set(POP_COLUMNS).isdisjoint(better)
