"""Traffic model: hand-computed BPR, Furness and equilibria; real numbers on Dordrecht; scenario
directions; the assignment against AequilibraE 1.7.2 on the same network and OD matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from bench.aequilibrae_reference import aequilibrae_assign, r_squared

from tweeling.scenarios.city import CityState
from tweeling.scenarios.impacts import traffic
from tweeling.scenarios.impacts.traffic import AssignmentNetwork, assign, bpr_time, furness, gravity
from tweeling.scenarios.model import ModelResult

PARAMS = traffic.MODEL.make_params()


def two_link_network(free_time_s: tuple[float, float], capacity: tuple[float, float]) -> AssignmentNetwork:
    """Two parallel arcs from node 0 to node 1."""
    return AssignmentNetwork(
        arc_from=np.array([0, 0]),
        arc_to=np.array([1, 1]),
        free_time_s=np.array(free_time_s, dtype=float),
        capacity_veh_h=np.array(capacity, dtype=float),
        n_nodes=2,
        origin_nodes=np.array([0]),
        destination_nodes=np.array([1]),
    )


# -- hand-computed formulas -----------------------------------------------------------------------


def test_bpr_time_hand_values() -> None:
    times = bpr_time(np.full(3, 60.0), np.array([0.0, 1000.0, 2000.0]), np.full(3, 1000.0), 0.15, 4.0)
    # 60 * (1 + 0.15 * 0^4), 60 * (1 + 0.15 * 1^4) = 69, 60 * (1 + 0.15 * 2^4) = 204
    np.testing.assert_allclose(times, [60.0, 69.0, 204.0])


def test_furness_with_uniform_seed_is_proportional() -> None:
    # With no deterrence every origin spreads its trips like the attractions: T_ij = P_i * A_j / sum(A).
    productions, attractions = np.array([100.0, 200.0, 300.0]), np.array([300.0, 200.0, 100.0])
    matrix = furness(productions, attractions, np.ones((3, 3)))
    expected = np.array([[50.0, 100 / 3, 50 / 3], [100.0, 200 / 3, 100 / 3], [150.0, 100.0, 50.0]])
    np.testing.assert_allclose(matrix, expected, rtol=1e-9)


def test_furness_recovers_a_known_three_zone_solution() -> None:
    # T_ij = a_i b_j F_ij is the unique doubly constrained matrix with T's row and column sums.
    deterrence = np.array([[1.0, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 1.0]])
    known = np.array([1.0, 2.0, 0.5])[:, None] * np.array([1.0, 0.5, 2.0])[None, :] * deterrence
    # rows: 1*(1 + .25 + .5), 2*(.5 + .5 + 1), .5*(.25 + .25 + 2); columns: 2.125, 1.375, 3.5
    np.testing.assert_allclose(known.sum(axis=1), [1.75, 4.0, 1.25])
    np.testing.assert_allclose(known.sum(axis=0), [2.125, 1.375, 3.5])
    matrix = furness(known.sum(axis=1), known.sum(axis=0), deterrence)
    np.testing.assert_allclose(matrix, known, rtol=1e-8)


def test_gravity_deterrence_and_unreachable_pairs() -> None:
    # Two destinations 0 and 10 minutes away at beta 0.1: the seed ratio is exp(-1) before balancing.
    time_min = np.array([[np.inf, 0.0, 10.0], [0.0, np.inf, np.inf], [10.0, np.inf, np.inf]])
    matrix = gravity(np.array([2.0, 1.0, 1.0]), np.array([2.0, 1.0, 1.0]), time_min, 0.1)
    assert matrix[0, 0] == 0.0 and matrix[1, 2] == 0.0
    np.testing.assert_allclose(matrix.sum(axis=1), [2.0, 1.0, 1.0], rtol=1e-8)
    np.testing.assert_allclose(matrix[0, 1:], [1.0, 1.0], rtol=1e-8)


@pytest.mark.parametrize("algorithm", ["frank-wolfe", "bfw"])
def test_two_parallel_links_equal_times_at_equilibrium(algorithm: str) -> None:
    # Same t0, capacities 100 and 200: equal times need x1/100 = x2/200, so 300 veh/h split 100/200
    # and both take 10 * (1 + 0.15 * 1^4) = 11.5 s.
    network = two_link_network((10.0, 10.0), (100.0, 200.0))
    result = assign(network, np.array([[300.0]]), iterations=50, algorithm=algorithm)
    np.testing.assert_allclose(result.flow_veh_h, [100.0, 200.0], rtol=2e-3)
    np.testing.assert_allclose(result.time_s, [11.5, 11.5], rtol=1e-3)


@pytest.mark.parametrize("algorithm", ["frank-wolfe", "bfw"])
def test_two_links_with_a_slower_uncongestible_alternative(algorithm: str) -> None:
    # Link 2 takes 11.5 s whatever its load; link 1 reaches 11.5 s at V = C = 100. With 150 veh/h,
    # link 1 carries 100 and link 2 the other 50; with 80 veh/h link 2 stays empty (t1(80) < 11.5).
    network = two_link_network((10.0, 11.5), (100.0, 1e9))
    busy = assign(network, np.array([[150.0]]), iterations=50, algorithm=algorithm)
    np.testing.assert_allclose(busy.flow_veh_h, [100.0, 50.0], rtol=5e-3)
    quiet = assign(network, np.array([[80.0]]), iterations=50, algorithm=algorithm)
    np.testing.assert_allclose(quiet.flow_veh_h, [80.0, 0.0], atol=1e-9)


def grid_network(size: int, seed: int) -> tuple[AssignmentNetwork, np.ndarray]:
    """A size x size grid of two-way streets, each street split by a middle node, with a dead-end
    branch on every corner and random times and capacities; four corner zones."""
    rng = np.random.default_rng(seed)
    arcs: list[tuple[int, int]] = []
    node_count = size * size

    def street(a: int, b: int) -> None:
        nonlocal node_count
        middle = node_count
        node_count += 1
        arcs.extend([(a, middle), (middle, b), (b, middle), (middle, a)])

    for row in range(size):
        for col in range(size):
            here = row * size + col
            if col + 1 < size:
                street(here, here + 1)
            if row + 1 < size:
                street(here, here + size)
    corners = [0, size - 1, size * (size - 1), size * size - 1]
    for corner in corners:
        street(corner, node_count)
        node_count += 1
    tails, heads = np.array(arcs).T
    network = AssignmentNetwork(
        arc_from=tails,
        arc_to=heads,
        free_time_s=rng.uniform(20.0, 60.0, tails.size),
        capacity_veh_h=rng.uniform(300.0, 900.0, tails.size),
        n_nodes=node_count,
        origin_nodes=np.array(corners),
        destination_nodes=np.array(corners),
    )
    od = rng.uniform(200.0, 600.0, (4, 4))
    np.fill_diagonal(od, 0.0)
    return network, od


@pytest.mark.parametrize("algorithm", ["frank-wolfe", "bfw"])
def test_reduced_network_gives_the_same_equilibrium(algorithm: str) -> None:
    network, od = grid_network(6, seed=3)
    full = assign(network, od, iterations=15, algorithm=algorithm, reduce=False)
    reduced = assign(network, od, iterations=15, algorithm=algorithm, reduce=True)
    assert traffic.reduce_network(network, 4.0).network.arc_from.size < network.arc_from.size / 2
    np.testing.assert_allclose(reduced.flow_veh_h, full.flow_veh_h, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(reduced.relative_gaps, full.relative_gaps, rtol=1e-6, atol=1e-12)


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="frank-wolfe, bfw"):
        assign(two_link_network((1.0, 1.0), (1.0, 1.0)), np.ones((1, 1)), algorithm="msa")


# -- real numbers on Dordrecht ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(demo_city: CityState) -> ModelResult:
    return traffic.run(demo_city, {}, PARAMS)


ROAD_COLUMNS = [
    "light_veh_day",
    "medium_veh_day",
    "heavy_veh_day",
    "total_veh_day",
    "vc_peak",
    "speed_kmh",
    "congestion_share",
]


@pytest.mark.slow
def test_outputs_cover_every_link_and_buurt(demo_city: CityState, baseline: ModelResult) -> None:
    roads = baseline.objects["roads"]
    assert list(roads.columns) == ROAD_COLUMNS
    assert roads.index.equals(demo_city.roads.index)
    assert np.isfinite(roads.to_numpy()).all() and (roads.to_numpy() >= 0).all()
    assert (roads.loc[~demo_city.roads["car"]] == 0).all().all()
    np.testing.assert_allclose(
        roads[["light_veh_day", "medium_veh_day", "heavy_veh_day"]].sum(axis=1), roads["total_veh_day"]
    )
    assert baseline.buurt.index.equals(demo_city.buurten.index)
    assert list(baseline.buurt.columns) == ["car_trips_day", "vehicle_km_day"]
    indicator_ids = {indicator.id for indicator in traffic.INFO.indicators}
    assert set(ROAD_COLUMNS) | set(baseline.buurt.columns) | set(baseline.city) <= indicator_ids


@pytest.mark.slow
def test_dordrecht_volumes_are_plausible(demo_city: CityState, baseline: ModelResult) -> None:
    roads = baseline.objects["roads"].join(demo_city.roads[["road_class"]])
    busiest = roads.groupby("road_class")["total_veh_day"].max()
    assert busiest["motorway"] == busiest.max()
    # The A16 crossing the island (both carriageways): about 100,000+ vehicles a day in reality.
    for northing in (416_000, 420_000, 424_000):
        cut = shapely.LineString([(100_000, northing), (125_000, northing)])
        crossing = roads[(roads["road_class"] == "motorway") & demo_city.roads.geometry.intersects(cut)]
        assert 80_000 <= crossing["total_veh_day"].sum() <= 160_000
    mean_by_class = roads.groupby("road_class")["total_veh_day"].mean()
    assert mean_by_class["motorway"] > mean_by_class["tertiary"] > mean_by_class["minor"]
    # Around 20 vehicle-km per inhabitant per day in the Netherlands (CBS); 119,000 inhabitants.
    assert 1.5e6 <= baseline.city["vehicle_km_day"] <= 3.5e6
    assert 150_000 <= baseline.city["car_trips_day"] <= 350_000
    assert 40 <= baseline.city["mean_speed_kmh"] <= 80
    assert 0.0 < baseline.city["congested_vehicle_km_share"] < 0.3
    heavy_share = roads["heavy_veh_day"] / roads["total_veh_day"]
    np.testing.assert_allclose(heavy_share[roads["road_class"] == "motorway"].dropna(), 0.12)
    assert baseline.buurt["vehicle_km_day"].sum() == pytest.approx(baseline.city["vehicle_km_day"], rel=0.02)


@pytest.mark.slow
def test_assignment_converged_and_flows_conserved(baseline: ModelResult) -> None:
    assert baseline.data["assignment_relative_gaps"][-1] < 1e-4
    assert baseline.data["unassigned_veh_h"] == 0.0
    network: AssignmentNetwork = baseline.data["network"]
    flow = baseline.data["peak_arc_flow_veh_h"]
    od = baseline.data["peak_od_veh_h"]
    net_outflow = np.bincount(network.arc_from, flow, network.n_nodes) - np.bincount(
        network.arc_to, flow, network.n_nodes
    )
    expected = np.zeros(network.n_nodes)
    expected[network.origin_nodes] = od.sum(axis=1)
    expected[network.destination_nodes] = -od.sum(axis=0)
    assert np.abs(net_outflow - expected).max() < 1e-6 * flow.max()


@pytest.mark.slow
def test_oneway_links_carry_traffic_one_way_only(demo_city: CityState, baseline: ModelResult) -> None:
    directions = baseline.data["link_directions"]
    oneway = demo_city.roads["oneway"] & demo_city.roads["car"]
    assert (directions.loc[oneway, "backward_veh_day"] == 0).all()
    assert directions.loc[oneway, "forward_veh_day"].sum() > 1e6
    two_way = demo_city.roads["car"] & ~demo_city.roads["oneway"]
    assert (directions.loc[two_way, "backward_veh_day"] > 0).sum() > 1000


# -- scenario directions ------------------------------------------------------------------------------


@pytest.mark.slow
def test_closing_a_busy_link_moves_its_traffic(demo_city: CityState, baseline: ModelResult) -> None:
    before = baseline.objects["roads"]
    roads = demo_city.roads
    candidates = before.loc[roads["road_class"].isin(["secondary", "tertiary"]) & ~roads["oneway"]]
    closed = candidates["total_veh_day"].idxmax()
    closed_volume = candidates.loc[closed, "total_veh_day"]
    assert closed_volume > 5000
    scenario_roads = roads.copy()
    scenario_roads.loc[closed, "car"] = False
    after = traffic.run(demo_city.replace(roads=scenario_roads), {}, PARAMS)
    volume = after.objects["roads"]["total_veh_day"]
    assert volume.loc[closed] == 0.0
    change = volume - before["total_veh_day"]
    nearby = roads.geometry.distance(roads.geometry.loc[closed]) < 1500
    assert change[nearby].max() > 0.3 * closed_volume
    assert change[nearby & (change > 0)].sum() > closed_volume
    assert after.city["vehicle_hours_day"] > baseline.city["vehicle_hours_day"]
    assert demo_city.roads.loc[closed, "car"]


def add_building(buildings: pd.DataFrame, bu_code: str, dwellings: float, **columns: float) -> pd.DataFrame:
    """A copy of ``buildings`` with one new residential building in ``bu_code``."""
    residential = buildings[(buildings["bu_code"] == bu_code) & (buildings["main_use"] == "residential")]
    new = residential.iloc[[0]].copy()
    new.index = pd.Index([buildings.index.max() + 1], name=buildings.index.name)
    new["dwellings_est"] = dwellings
    new["residents_est"] = dwellings * 2.0
    new["nonresidential_floor_m2"] = 0.0
    new["scenario_added"] = True
    for name, value in columns.items():
        new[name] = value
    return pd.concat([buildings, new])


@pytest.mark.slow
def test_new_dwellings_add_trips_and_vehicle_km(demo_city: CityState, baseline: ModelResult) -> None:
    plain, low_norm = "BU05050301", "BU05051101"
    buildings = add_building(demo_city.buildings, plain, 1000.0)
    buildings = add_building(buildings, low_norm, 1000.0, parking_per_dwelling=0.6)
    after = traffic.run(demo_city.replace(buildings=buildings), {}, PARAMS)
    gained = after.buurt["car_trips_day"] - baseline.buurt["car_trips_day"]
    # 1000 dwellings x 5 trip ends; with 0.6 parking places per dwelling against the 1.2 norm, half.
    assert gained[plain] == pytest.approx(1000 * PARAMS.trip_ends_per_dwelling, rel=1e-6)
    assert gained[low_norm] == pytest.approx(500 * PARAMS.trip_ends_per_dwelling, rel=1e-6)
    # Each trip has two ends: 7,500 more trip ends are 3,750 more trips.
    added_trips = after.city["car_trips_day"] - baseline.city["car_trips_day"]
    assert added_trips == pytest.approx(1500 * PARAMS.trip_ends_per_dwelling / 2, rel=1e-6)
    assert after.city["vehicle_km_day"] > baseline.city["vehicle_km_day"] + 5000
    assert len(demo_city.buildings) == 65_796


@pytest.mark.slow
def test_trip_reduction_scales_trips_touching_the_buurt(demo_city: CityState, baseline: ModelResult) -> None:
    bu_code = "BU05051006"
    reduction = pd.Series({bu_code: 0.5}, name="trip_reduction").rename_axis("bu_code")
    after = traffic.run(demo_city.replace(trip_reduction=reduction), {}, PARAMS)
    intrazonal = baseline.data["od_day"].loc[bu_code, bu_code]
    before_trips = baseline.buurt.loc[bu_code, "car_trips_day"]
    # Rows and columns x 0.5; the intrazonal cell is in both, so x 0.25 (counted twice).
    expected = 0.5 * (before_trips - 2 * intrazonal) + 2 * 0.25 * intrazonal
    assert after.buurt.loc[bu_code, "car_trips_day"] == pytest.approx(expected, rel=1e-9)
    assert after.city["car_trips_day"] < baseline.city["car_trips_day"]
    others = baseline.buurt.index.drop(bu_code)
    before_others = baseline.buurt.loc[others, "car_trips_day"]
    assert (after.buurt.loc[others, "car_trips_day"] <= before_others + 1e-6).all()


# -- against AequilibraE 1.7.2 ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["frank-wolfe", "bfw"])
def test_assignment_matches_aequilibrae(baseline: ModelResult, algorithm: str) -> None:
    network, od = baseline.data["network"], baseline.data["peak_od_veh_h"]
    ours = assign(network, od, iterations=10, algorithm=algorithm)
    reference = aequilibrae_assign(network, od, iterations=10, algorithm=algorithm)
    # The same algorithm on the same problem: the flows agree to rounding (up to shortest-path ties).
    assert r_squared(reference.flow_veh_h, ours.flow_veh_h) >= 0.99
    assert np.abs(reference.flow_veh_h - ours.flow_veh_h).max() < 0.01 * ours.flow_veh_h.max()
