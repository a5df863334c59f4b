"""Proximity model: hand-computed distances on a toy network, real numbers on Dordrecht, directions."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse import csr_matrix

from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.city import CRS, CityState
from tweeling.scenarios.impacts import accessibility as acc
from tweeling.scenarios.model import ModelResult

# Toy network (m): n0 (0,0) - n1 (100,0) - n2 (200,0) - n3 (300,0), foot links of 100 m; n3 - n4 (400,0)
# is car-only; the only foot way to n4 is a 450 m detour n2 - n4 (length_m, not geometry, counts).
# n5 - n6 is a separate component far away.
NODES = {0: (0, 0), 1: (100, 0), 2: (200, 0), 3: (300, 0), 4: (400, 0), 5: (1000, 1000), 6: (1100, 1000)}
LINKS = [  # edge_id, from, to, length_m, foot
    (10, 0, 1, 100.0, True),
    (11, 1, 2, 100.0, True),
    (12, 2, 3, 100.0, True),
    (13, 3, 4, 100.0, False),
    (14, 2, 4, 450.0, True),
    (15, 5, 6, 100.0, True),
]


def _square(x: float, y: float, half: float = 4.0) -> shapely.Polygon:
    return shapely.box(x - half, y - half, x + half, y + half)


def toy_city(
    facilities: list[tuple[int, str, float, float]], green: list[tuple[str, shapely.Polygon]]
) -> CityState:
    """A small city: dwellings A (0,30; 2 dwellings, BU1) and B (400,20; 1 dwelling, BU2); C is a shop,
    D a residential building without dwellings."""
    nodes = gpd.GeoDataFrame(
        {"degree": 1}, geometry=[shapely.Point(xy) for xy in NODES.values()], index=list(NODES), crs=CRS
    )
    nodes.index.name = "node_id"
    roads = gpd.GeoDataFrame(
        {
            "from_node": [link[1] for link in LINKS],
            "to_node": [link[2] for link in LINKS],
            "length_m": [link[3] for link in LINKS],
            "foot": [link[4] for link in LINKS],
            "bicycle": True,
            "car": True,
        },
        geometry=[shapely.LineString([NODES[link[1]], NODES[link[2]]]) for link in LINKS],
        index=[link[0] for link in LINKS],
        crs=CRS,
    )
    roads.index.name = "edge_id"
    buildings = gpd.GeoDataFrame(
        {
            "bu_code": ["BU1", "BU2", "BU1", "BU2"],
            "main_use": ["residential", "mixed", "non-residential", "residential"],
            "dwellings_est": [2.0, 1.0, 0.0, 0.0],
            "residents_est": [4.0, 2.0, 0.0, 0.0],
            "scenario_added": False,
        },
        geometry=[_square(0, 30), _square(400, 20), _square(200, 10), _square(300, 30)],
        index=pd.Index([101, 102, 103, 104], name="building_id"),
        crs=CRS,
    )
    facility_frame = gpd.GeoDataFrame(
        {
            "facility_type": [f[1] for f in facilities],
            "capacity": pd.array([pd.NA] * len(facilities), dtype="Float64"),
            "scenario_added": False,
        },
        geometry=[shapely.Point(f[2], f[3]) for f in facilities],
        index=pd.Index([f[0] for f in facilities], name="facility_id"),
        crs=CRS,
    )
    green_frame = gpd.GeoDataFrame(
        {
            "green_type": [g[0] for g in green],
            "area_m2": [g[1].area for g in green],
            "public_access": pd.array([pd.NA] * len(green), dtype="boolean"),
        },
        geometry=[shapely.MultiPolygon([g[1]]) for g in green],
        index=pd.Index(range(1, len(green) + 1), name="green_id"),
        crs=CRS,
    )
    buurten = gpd.GeoDataFrame(
        {"bu_naam": ["one", "two", "empty"]},
        geometry=[
            shapely.box(-100, -100, 150, 100),
            shapely.box(150, -100, 600, 100),
            shapely.box(0, 500, 10, 510),
        ],
        index=pd.Index(["BU1", "BU2", "BU3"], name="bu_code"),
        crs=CRS,
    )
    water = gpd.GeoDataFrame(geometry=[], crs=CRS)
    return CityState(
        year=2021,
        buurten=buurten,
        buildings=buildings,
        roads=roads,
        road_nodes=nodes,
        facilities=facility_frame,
        green=green_frame,
        water=water,
        weather=pd.DataFrame(),
    )


GPS = [(1, "gp", 300.0, -10.0), (2, "gp", 0.0, -40.0)]
BUS = [(3, "bus_station", 100.0, -5.0)]
# 1.1 ha whose boundary starts at n4: an entrance at n4 with offset 0.
PARK_AT_N4 = ("park", shapely.Polygon([(400, 0), (510, 0), (510, -100), (400, -100)]))


def test_graph_uses_foot_links_lengths_and_largest_component() -> None:
    city = toy_city(GPS, [])
    graph = acc.build_mode_graph(city.roads, city.road_nodes, "walk")
    assert list(graph.node_ids) == [0, 1, 2, 3, 4]
    assert graph.matrix.nnz == 8  # 4 foot links, both directions
    assert graph.matrix[graph.node_ids.tolist().index(2), graph.node_ids.tolist().index(4)] == 450.0
    everything = acc.build_mode_graph(city.roads, city.road_nodes, "bike", largest_component=False)
    assert everything.size == 7
    with pytest.raises(InvalidInputError):
        acc.build_mode_graph(city.roads, city.road_nodes, "car")


def test_network_distance_min_over_sources_with_offsets() -> None:
    # path 0 -1- 1 -2- 2 -4- 3, vertex 4 unreachable
    rows, cols, lengths = [0, 1, 2], [1, 2, 3], [1.0, 2.0, 4.0]
    matrix = csr_matrix((lengths + lengths, (rows + cols, cols + rows)), shape=(5, 5))
    plain = acc.network_distance_to_nearest(matrix, [0, 3])
    np.testing.assert_allclose(plain, [0, 1, 3, 0, np.inf])
    dist, nearest = acc.network_distance_to_nearest(matrix, [0, 3, 3], [10.0, 0.5, 0.2], return_sources=True)
    # vertex 0: min(10, 0.2 + 7); vertex 1: min(11, 0.2 + 6); vertex 2: min(13, 0.2 + 4)
    np.testing.assert_allclose(dist, [7.2, 6.2, 4.2, 0.2, np.inf])
    assert nearest.tolist() == [2, 2, 2, 2, -1]
    dist, nearest = acc.network_distance_to_nearest(matrix, [0, 3], return_sources=True)
    assert nearest.tolist() == [0, 0, 0, 1, -1]
    empty = acc.network_distance_to_nearest(matrix, [])
    assert np.isinf(empty).all()
    dropped = acc.network_distance_to_nearest(matrix, [0, 3], [np.inf, 1.0])
    np.testing.assert_allclose(dropped, [8, 7, 5, 1, np.inf])
    with pytest.raises(InvalidInputError):
        acc.network_distance_to_nearest(matrix, [7])


def test_toy_distances_hand_computed() -> None:
    city = toy_city(GPS + BUS, [PARK_AT_N4])
    result = acc.MODEL.run(city, {}, acc.MODEL.make_params())
    frame = result.objects["buildings"]
    assert list(frame.index) == [101, 102, 103, 104]
    # A snaps to n0 (30 m); GP 2 snaps to n0 (40 m): 30 + 0 + 40. B snaps to n4 (20 m); GP 1 snaps to
    # n3 (10 m); foot route n4-n2-n3 = 450 + 100 (the 100 m car-only link does not count).
    assert frame.loc[101, "dist_gp_m"] == pytest.approx(70.0)
    assert frame.loc[102, "dist_gp_m"] == pytest.approx(20 + 550 + 10)
    assert frame.loc[[103, 104]].isna().all().all()  # no dwellings
    # bus station at n1 (5 m): A 30 + 100 + 5; B 20 + 450 + 100 + 5
    assert frame.loc[101, "dist_public_transport_m"] == pytest.approx(135.0)
    assert frame.loc[102, "dist_public_transport_m"] == pytest.approx(575.0)
    # park entrance at n4 (offset 0): B 20; A 30 + 200 + 450
    assert frame.loc[102, "dist_green_m"] == pytest.approx(20.0)
    assert frame.loc[101, "dist_green_m"] == pytest.approx(680.0)
    assert frame["dist_pharmacy_m"].isna().all()  # no pharmacy at all

    buurt = result.buurt
    assert list(buurt.index) == ["BU1", "BU2", "BU3"]
    assert buurt.loc["BU1", "dist_gp_m"] == pytest.approx(70.0)
    assert buurt.loc["BU2", "share_within_500m_gp"] == 0.0
    assert buurt.loc["BU2", "share_within_1000m_gp"] == 1.0
    assert buurt["dist_gp_m"].isna().tolist() == [False, False, True]
    assert buurt.loc["BU1", "share_within_500m_pharmacy"] == 0.0
    # city: weighted by dwellings (A 2, B 1)
    assert result.city["dist_gp_m"] == pytest.approx((2 * 70 + 580) / 3)
    assert result.city["share_within_500m_gp"] == pytest.approx(2 / 3)
    assert result.city["share_within_500m_green"] == pytest.approx(1 / 3)
    assert result.city["share_within_1000m_green"] == pytest.approx(1.0)


def test_toy_without_facility_snap_and_bike_mode() -> None:
    city = toy_city(GPS, [])
    walk = acc.MODEL.run(city, {}, acc.MODEL.make_params({"add_facility_snap": False}))
    assert walk.objects["buildings"].loc[101, "dist_gp_m"] == pytest.approx(30.0)
    assert walk.objects["buildings"].loc[102, "dist_gp_m"] == pytest.approx(20 + 550)
    bike = acc.MODEL.run(city, {}, acc.MODEL.make_params({"mode": "bike"}))  # n3-n4 open to bikes
    assert bike.objects["buildings"].loc[102, "dist_gp_m"] == pytest.approx(20 + 100 + 10)


def test_green_entrances_size_type_and_inner_nodes() -> None:
    small_wood = ("wood", shapely.box(-50, 10, 40, 60))  # 0.45 ha: too small
    farmland = ("farmland", shapely.box(-200, -200, 0, 0))  # wrong type
    grass_round_n1 = ("grass", shapely.box(60, -60, 190, 60))  # 1.56 ha around n1
    city = toy_city(GPS, [small_wood, farmland, grass_round_n1])
    graph = acc.build_mode_graph(city.roads, city.road_nodes)
    params = acc.MODEL.make_params({"green_max_snap_m": 1.0})
    vertex, offset = acc.green_entrances(
        city.green,
        graph,
        types=params.green_types,
        min_area_m2=params.green_min_area_m2,
        spacing_m=params.green_spacing_m,
        max_snap_m=params.green_max_snap_m,
    )
    assert graph.node_ids[vertex].tolist() == [1]  # only the node inside the grass
    assert offset.tolist() == [0.0]
    result = acc.MODEL.run(city, {}, params)
    assert result.objects["buildings"].loc[101, "dist_green_m"] == pytest.approx(130.0)
    private = city.green.assign(public_access=pd.array([True, True, False], dtype="boolean"))
    closed = acc.MODEL.run(city.replace(green=private), {}, params)
    assert closed.objects["buildings"]["dist_green_m"].isna().all()


def test_points_along_matches_shapely_interpolation() -> None:
    lines = np.array(
        [
            shapely.LineString([(0, 0), (0, 0), (120, 0), (120, 35)]),
            shapely.box(0, 0, 100, 60).exterior,
            shapely.LineString([(5, 5), (5, 20)]),
        ]
    )
    points = acc.points_along(lines, 50.0)
    lengths = shapely.length(lines)
    count = np.ceil(lengths / 50.0).astype(int)
    expected = [
        shapely.line_interpolate_point(line, k * length / n)
        for line, length, n in zip(lines, lengths, count, strict=True)
        for k in range(n)
    ]
    np.testing.assert_allclose(points, shapely.get_coordinates(np.array(expected)), atol=1e-9)


def test_no_walk_network_gives_nan_not_an_error() -> None:
    city = toy_city(GPS, [PARK_AT_N4])
    closed = city.replace(roads=city.roads.assign(foot=False))
    result = acc.MODEL.run(closed, {}, acc.MODEL.make_params())
    assert result.objects["buildings"].isna().all().all()
    assert result.city["share_within_1000m_gp"] == 0.0


def test_unknown_facility_kind_is_refused() -> None:
    city = toy_city(GPS, [])
    with pytest.raises(InvalidInputError):
        acc.MODEL.run(city, {}, acc.MODEL.make_params({"facility_types": {"hospital": ("hospital",)}}))


def test_inputs_are_not_modified() -> None:
    city = toy_city(GPS + BUS, [PARK_AT_N4])
    before = {name: getattr(city, name).copy() for name in ("buildings", "roads", "facilities", "green")}
    acc.MODEL.run(city, {}, acc.MODEL.make_params())
    for name, frame in before.items():
        pd.testing.assert_frame_equal(getattr(city, name), frame)


REQUIRED_REGISTER_FIELDS = (
    "name",
    "description_short",
    "organization",
    "theme",
    "status",
    "start_date",
    "contact",
    "publication_category",
    "purpose_and_impact",
    "considerations",
    "human_intervention",
    "risk_management",
    "impact_assessments",
    "data",
    "technical_operation",
    "supplier",
    "language",
    "schema",
)


def test_metadata_is_complete() -> None:
    info = acc.MODEL.info
    assert info.id == "proximity" and info.requires == ()
    assert info.reads == frozenset({"buildings", "roads.active", "road_nodes", "facilities", "green"})
    ids = {indicator.id for indicator in info.indicators}
    assert {"dist_gp_m", "share_within_1000m_supermarket", "dist_public_transport_m"} <= ids
    for parameter in acc.MODEL.parameters():
        assert parameter.source and parameter.unit and parameter.description
    register = info.register.as_dict()
    for name in REQUIRED_REGISTER_FIELDS:
        assert register[name], name
    assert len(register["name"]) < 100 and len(register["description_short"]) < 350


# --- real data: the Dordrecht demo city ------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(demo_city: CityState) -> ModelResult:
    return acc.MODEL.run(demo_city, {}, acc.MODEL.make_params())


def test_dordrecht_every_dwelling_gets_a_distance(demo_city: CityState, baseline: ModelResult) -> None:
    frame = baseline.objects["buildings"]
    assert frame.index.equals(demo_city.buildings.index)
    homes = acc.dwelling_points(demo_city.buildings)
    assert len(homes) == 34_949
    for kind in acc.KINDS:
        assert frame.loc[homes.index, acc.dist_column(kind)].notna().all()
    assert baseline.buurt.index.equals(demo_city.buurten.index)


def test_dordrecht_distances_in_documented_band(baseline: ModelResult) -> None:
    # CBS Nabijheidsstatistiek (by road, from the address): the Netherlands 2023 mean distance to a GP
    # practice is about 1.1 km; to a large supermarket about 0.6-0.8 km in (very) strongly urban
    # municipalities, and about 8 in 10 Dutch people have one within 1 km. Our walking distances over
    # OSM (2021) data for Dordrecht (measured: GP 0.91 km, 66 % within 1 km; supermarket 0.60 km,
    # 90 % within 1 km) must stay within these bands.
    city = baseline.city
    assert 600 <= city["dist_gp_m"] <= 1300
    assert 0.50 <= city["share_within_1000m_gp"] <= 0.85
    assert 400 <= city["dist_supermarket_m"] <= 900
    assert 0.75 <= city["share_within_1000m_supermarket"] <= 0.97
    assert city["share_within_500m_gp"] < city["share_within_1000m_gp"]
    assert 0.6 <= city["share_within_500m_green"] <= 0.95


def test_adding_a_gp_far_from_any_gp_helps_that_buurt_and_hurts_no_one(
    demo_city: CityState, baseline: ModelResult
) -> None:
    homes = acc.dwelling_points(demo_city.buildings)
    per_buurt = homes.groupby("bu_code")["dwellings"].sum()
    buurt = baseline.buurt.loc[per_buurt[per_buurt >= 100].index]
    target = str(buurt["dist_gp_m"].idxmax())
    assert buurt["share_within_1000m_gp"][target] < 0.5
    inside = homes[homes["bu_code"] == target]
    centre = np.average(inside[["x", "y"]].to_numpy(), axis=0, weights=inside["dwellings"])
    site = inside.iloc[int(np.argmin(np.hypot(inside["x"] - centre[0], inside["y"] - centre[1])))]
    facilities = demo_city.facilities
    new = gpd.GeoDataFrame(
        {"facility_type": ["gp"], "capacity": pd.array([pd.NA], dtype="Float64"), "scenario_added": [True]},
        geometry=[shapely.Point(site["x"], site["y"])],
        index=pd.Index([int(facilities.index.max()) + 1], name="facility_id"),
        crs=facilities.crs,
    )
    scenario = demo_city.replace(facilities=pd.concat([facilities, new]))
    result = acc.MODEL.run(scenario, {}, acc.MODEL.make_params())
    share = "share_within_1000m_gp"
    assert result.buurt[share][target] > baseline.buurt[share][target]
    before = baseline.objects["buildings"].loc[homes.index, "dist_gp_m"]
    after = result.objects["buildings"].loc[homes.index, "dist_gp_m"]
    assert (after <= before + 1e-9).all()
    assert (after < before - 1.0).sum() > 100


def test_removing_a_gp_never_shortens_a_distance(demo_city: CityState, baseline: ModelResult) -> None:
    facilities = demo_city.facilities
    gp_ids = facilities.index[facilities["facility_type"] == "gp"]
    scenario = demo_city.replace(facilities=facilities.drop(index=gp_ids[0]))
    result = acc.MODEL.run(scenario, {}, acc.MODEL.make_params())
    homes = acc.dwelling_points(demo_city.buildings).index
    before = baseline.objects["buildings"].loc[homes]
    after = result.objects["buildings"].loc[homes]
    assert (after["dist_gp_m"] >= before["dist_gp_m"] - 1e-9).all()
    assert (after["dist_gp_m"] > before["dist_gp_m"] + 1.0).any()
    pd.testing.assert_series_equal(after["dist_supermarket_m"], before["dist_supermarket_m"])
