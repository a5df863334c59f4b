"""Tests of the road graph: synthetic cases, then the shipped Dordrecht transportation layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, MultiLineString

from tweeling.citymodel.roads import (
    DEFAULT_ROAD_CLASSES,
    DEFAULT_SNAP_TOLERANCE_M,
    ROAD_NODES_SCHEMA,
    ROADS_SCHEMA,
    RoadClassParams,
    RoadGraph,
    build_road_graph,
    road_classes_from_mapping,
    to_sparse_graph,
)
from tweeling.core.errors import InvalidInputError

CRS = "EPSG:28992"
X0, Y0 = 105_000.0, 424_000.0  # somewhere in Dordrecht


def _lines(*rows: dict[str, Any]) -> gpd.GeoDataFrame:
    """GeoDataFrame of lines given with coordinates relative to (X0, Y0)."""
    records = []
    for row in rows:
        geom = shapely.transform(row["geometry"], lambda xy: xy + np.array([X0, Y0]))
        records.append(
            {"class": "minor", "service": None, "oneway": None, "brunnel": None, **row, "geometry": geom}
        )
    return gpd.GeoDataFrame(records, geometry="geometry", crs=CRS)


def _node_at(graph: RoadGraph, x: float, y: float) -> Any:
    """The node row closest to (X0 + x, Y0 + y)."""
    d = graph.nodes.distance(shapely.Point(X0 + x, Y0 + y))
    return graph.nodes.loc[d.idxmin()]


# --- synthetic cases -------------------------------------------------------------------------


def test_crossing_with_shared_vertex_gives_four_edges_and_one_degree_four_node() -> None:
    graph = build_road_graph(
        _lines(
            {"geometry": LineString([(0, 0), (10, 0), (20, 0)])},
            {"geometry": LineString([(10, -10), (10, 0), (10, 10)])},
        )
    )
    assert graph.report.n_edges == 4
    assert graph.report.n_nodes == 5
    assert graph.report.n_components == 1
    centre = _node_at(graph, 10, 0)
    assert centre.geometry.distance(shapely.Point(X0 + 10, Y0)) < 1e-9
    assert centre.degree == 4
    assert sorted(graph.nodes["degree"]) == [1, 1, 1, 1, 4]
    assert graph.edges["length_m"].tolist() == pytest.approx([10.0] * 4)
    assert graph.report.total_length_m == pytest.approx(40.0)


def test_crossing_without_shared_vertex_is_not_connected() -> None:
    # A bridge over a road: no shared vertex, so no junction.
    graph = build_road_graph(
        _lines(
            {"geometry": LineString([(0, 0), (20, 0)])},
            {"geometry": LineString([(10, -10), (10, 10)]), "brunnel": "bridge"},
        )
    )
    assert graph.report.n_edges == 2
    assert graph.report.n_components == 2
    assert set(graph.edges["brunnel"]) == {None, "bridge"}


def test_interior_vertices_close_but_not_equal_are_not_joined() -> None:
    graph = build_road_graph(
        _lines(
            {"geometry": LineString([(0, 0), (10, 0), (20, 0)])},
            {"geometry": LineString([(10, -10), (10.0, 0.4), (10, 10)])},
        )
    )
    assert graph.report.n_components == 2


def test_line_ends_0_3_m_apart_are_joined() -> None:
    rows = (
        {"geometry": LineString([(0, 0), (10, 0)])},
        {"geometry": LineString([(10.3, 0), (20, 0)])},
    )
    graph = build_road_graph(_lines(*rows))
    assert graph.report.n_edges == 2
    assert graph.report.n_nodes == 3
    assert graph.report.n_components == 1
    joint = _node_at(graph, 10.15, 0)
    assert joint.degree == 2
    assert joint.geometry.x == pytest.approx(X0 + 10.15)
    # Edge ends are moved onto the node.
    for geom in graph.edges.geometry:
        ends = [shapely.Point(geom.coords[0]), shapely.Point(geom.coords[-1])]
        assert min(e.distance(joint.geometry) for e in ends) < 1e-9
    # With a smaller tolerance they stay apart.
    assert build_road_graph(_lines(*rows), snap_tolerance_m=0.2).report.n_components == 2


def test_t_junction_without_shared_vertex_is_joined_and_split() -> None:
    rows = (
        {"geometry": LineString([(0, 0), (20, 0)])},
        {"geometry": LineString([(10, 0.4), (10, 10)])},
    )
    graph = build_road_graph(_lines(*rows))
    assert graph.report.n_components == 1
    assert graph.report.n_edges == 3
    assert _node_at(graph, 10, 0.2).degree == 3
    # The node lies halfway between the line end and the inserted vertex, at (10, 0.2).
    assert graph.report.total_length_m == pytest.approx(2 * 100.04**0.5 + 9.8)
    apart = build_road_graph(_lines(*rows), snap_tolerance_m=0.2)
    assert apart.report.n_components == 2
    assert apart.report.n_edges == 2


def test_short_piece_between_close_line_ends_collapses_into_one_node() -> None:
    # A 0.4 m piece left between two tile borders: its ends snap together.
    graph = build_road_graph(
        _lines(
            {"geometry": LineString([(0, 0), (10, 0)])},
            {"geometry": LineString([(10, 0), (10.4, 0)])},
            {"geometry": LineString([(10.4, 0), (20, 0)])},
        )
    )
    assert graph.report.n_edges == 2
    assert graph.report.n_components == 1
    assert _node_at(graph, 10.2, 0).degree == 2


def test_close_interior_vertices_of_one_line_are_kept() -> None:
    graph = build_road_graph(_lines({"geometry": LineString([(0, 0), (5, 0), (5.37, 0), (10, 0)])}))
    assert graph.report.n_edges == 1
    assert len(graph.edges.geometry.iloc[0].coords) == 4
    assert graph.report.total_length_m == pytest.approx(10.0)


@pytest.mark.parametrize("brunnel", ["tunnel", "bridge"])
def test_line_end_does_not_join_the_interior_of_a_tunnel_or_bridge(brunnel: str) -> None:
    # A street ending 0.2 m beside a tunnel it passes over: no junction.
    rows = (
        {"geometry": LineString([(0, 0), (10, 0), (20, 0)]), "brunnel": brunnel, "class": "motorway"},
        {"geometry": LineString([(10.2, 0.2), (10.2, 10)])},
        {"geometry": LineString([(10.2, -0.2), (10.2, -10)])},
    )
    graph = build_road_graph(_lines(*rows))
    assert graph.report.n_components == 2
    motorway = graph.edges[graph.edges["road_class"] == "motorway"]
    assert len(motorway) == 1
    # On the same level, the same geometry is a junction.
    same_level = tuple({**row, "brunnel": brunnel} for row in rows)
    assert build_road_graph(_lines(*same_level)).report.n_components == 1


def test_line_end_joins_the_end_of_a_bridge() -> None:
    graph = build_road_graph(
        _lines(
            {"geometry": LineString([(0, 0), (10, 0)]), "brunnel": "bridge"},
            {"geometry": LineString([(10.3, 0.3), (20, 0)])},
        )
    )
    assert graph.report.n_components == 1


def test_vertex_visited_twice_by_one_line_is_a_node() -> None:
    # A lollipop: the line comes back to (10, 0).
    graph = build_road_graph(_lines({"geometry": LineString([(0, 0), (10, 0), (15, 5), (10, 10), (10, 0)])}))
    assert graph.report.n_edges == 2
    assert graph.report.n_nodes == 2
    assert _node_at(graph, 10, 0).degree == 3
    loop = graph.edges[graph.edges["from_node"] == graph.edges["to_node"]]
    assert len(loop) == 1
    assert loop["length_m"].iloc[0] > 0


def test_non_routable_classes_dropped_multilines_exploded_zero_length_dropped() -> None:
    graph = build_road_graph(
        _lines(
            {"geometry": MultiLineString([[(0, 0), (10, 0)], [(0, 5), (10, 5)]]), "class": "path"},
            {"geometry": LineString([(0, 10), (10, 10)]), "class": "rail"},
            {"geometry": LineString([(0, 20), (10, 20)]), "class": "minor_construction"},
            {"geometry": LineString([(0, 30), (0, 30)])},
        )
    )
    assert graph.report.n_edges == 2
    assert set(graph.edges["road_class"]) == {"path"}
    assert graph.edges.geometry.geom_type.eq("LineString").all()


def test_oneway_values_and_direction() -> None:
    graph = build_road_graph(
        _lines(
            {"geometry": LineString([(0, 0), (10, 0)]), "oneway": "1.0"},
            {"geometry": LineString([(10, 0), (20, 0)]), "oneway": "-1"},
            {"geometry": LineString([(20, 0), (30, 0)]), "oneway": "0"},
            {"geometry": LineString([(30, 0), (40, 0)]), "oneway": None},
        )
    )
    # Key each edge by the x (relative to X0) of its western end.
    rows = {
        round(min(g.coords[0][0], g.coords[-1][0]) - X0): (g.coords[0][0] - X0, g.coords[-1][0] - X0, ow)
        for g, ow in zip(graph.edges.geometry, graph.edges["oneway"], strict=True)
    }
    assert rows[0] == pytest.approx((0, 10, True))
    # oneway=-1 is reversed, so that from_node -> to_node is the allowed direction.
    assert rows[10] == pytest.approx((20, 10, True))
    assert not rows[20][2]
    assert not rows[30][2]
    assert graph.edges["oneway"].sum() == 2


def test_to_sparse_graph_respects_oneway_for_cars_only() -> None:
    graph = build_road_graph(
        _lines(
            {"geometry": LineString([(0, 0), (10, 0)]), "oneway": "1"},
            {"geometry": LineString([(10, 0), (10, 30)])},
        )
    )
    a = int(_node_at(graph, 0, 0).node_id)
    b = int(_node_at(graph, 10, 0).node_id)
    car = to_sparse_graph(graph.edges, mode="car")
    bike = to_sparse_graph(graph.edges, mode="bicycle", weight="length_m")
    assert car.shape == (graph.report.n_nodes, graph.report.n_nodes)
    assert car[a, b] == pytest.approx(10.0 / (30.0 / 3.6))
    assert car[b, a] == 0
    assert bike[a, b] == pytest.approx(10.0)
    assert bike[b, a] == pytest.approx(10.0)
    dist = dijkstra(car, directed=True, indices=b)
    assert np.isinf(dist[a])
    walk = to_sparse_graph(graph.edges, mode="foot", max_speed_kmh=5.0)
    assert walk[b, a] == pytest.approx(10.0 / (5.0 / 3.6))


def test_to_sparse_graph_filters_by_mode_and_keeps_shortest_parallel_edge() -> None:
    graph = build_road_graph(
        _lines(
            {"geometry": LineString([(0, 0), (10, 0)]), "class": "motorway"},
            {"geometry": LineString([(0, 0), (5, 5), (10, 0)]), "class": "path"},
        )
    )
    a = int(_node_at(graph, 0, 0).node_id)
    b = int(_node_at(graph, 10, 0).node_id)
    assert to_sparse_graph(graph.edges, mode="foot", weight="length_m")[a, b] == pytest.approx(2 * 50**0.5)
    assert to_sparse_graph(graph.edges, mode="car", weight="length_m")[a, b] == pytest.approx(10.0)
    with pytest.raises(InvalidInputError):
        to_sparse_graph(graph.edges, mode="plane")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        to_sparse_graph(graph.edges, weight="nope")


def test_custom_road_classes() -> None:
    rows = (
        {"geometry": LineString([(0, 0), (10, 0)]), "class": "path"},
        {"geometry": LineString([(10, 0), (20, 0)]), "class": "minor"},
    )
    classes = {"minor": RoadClassParams(36.0, 500.0, car=True, bicycle=True, foot=True)}
    graph = build_road_graph(_lines(*rows), road_classes=classes)
    assert graph.edges["road_class"].tolist() == ["minor"]
    assert graph.edges["travel_time_s"].iloc[0] == pytest.approx(1.0)
    assert graph.edges["capacity_veh_per_h"].iloc[0] == 500.0


def test_bad_input_is_rejected() -> None:
    lines = _lines({"geometry": LineString([(0, 0), (10, 0)])})
    with pytest.raises(InvalidInputError, match="class"):
        build_road_graph(lines.drop(columns="class"))
    with pytest.raises(InvalidInputError, match="projected"):
        build_road_graph(lines.to_crs("EPSG:4326"))
    with pytest.raises(InvalidInputError, match="snap_tolerance_m"):
        build_road_graph(lines, snap_tolerance_m=-1.0)


def test_empty_input_gives_empty_graph() -> None:
    graph = build_road_graph(_lines({"geometry": LineString([(0, 0), (10, 0)]), "class": "rail"}))
    assert graph.report.n_edges == 0 and graph.report.n_nodes == 0
    assert set(ROADS_SCHEMA.field_names) <= set(graph.edges.columns)


def test_road_classes_from_mapping() -> None:
    classes = road_classes_from_mapping(
        {
            "minor": {"free_speed_kmh": 50},
            "busway": {
                "free_speed_kmh": 50,
                "capacity_veh_per_h": 300,
                "car": True,
                "bicycle": False,
                "foot": False,
            },
        }
    )
    assert classes["minor"] == RoadClassParams(50, 600.0, car=True, bicycle=True, foot=True)
    assert classes["busway"].car
    assert set(classes) == {"minor", "busway"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"minor": {"speed": 30}}, "unknown keys"),
        ({"minor": {"free_speed_kmh": -5}}, "free_speed_kmh"),
        ({"minor": {"free_speed_kmh": "fast"}}, "free_speed_kmh"),
        ({"minor": {"capacity_veh_per_h": float("nan")}}, "capacity_veh_per_h"),
        ({"minor": {"car": "yes"}}, "car"),
        ({"minor": {"car": False, "bicycle": False, "foot": False}}, "at least one"),
        ({"busway": {"free_speed_kmh": 50}}, "missing keys"),
        ({"Bad Name": {}}, "identifier"),
        ({"minor": 30}, "mapping"),
        ([1, 2], "mapping"),
    ],
)
def test_road_classes_from_mapping_rejects_bad_input(data: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        road_classes_from_mapping(data)
    assert info.value.status == 400


def test_road_class_params_validate() -> None:
    with pytest.raises(InvalidInputError):
        RoadClassParams(0.0, 100.0, car=True, bicycle=True, foot=True)


def test_schemas_describe_every_column() -> None:
    graph = build_road_graph(_lines({"geometry": LineString([(0, 0), (10, 0)])}))
    assert ROADS_SCHEMA.field_names == [c for c in graph.edges.columns if c != "geometry"]
    assert ROAD_NODES_SCHEMA.field_names == [c for c in graph.nodes.columns if c != "geometry"]
    assert ROADS_SCHEMA.field("length_m").unit == "m"
    assert ROADS_SCHEMA.field("free_speed_kmh").estimated
    assert ROADS_SCHEMA.licence == "ODbL-1.0"


# --- the shipped Dordrecht data --------------------------------------------------------------


@pytest.fixture(scope="module")
def osm_lines(demo_dir: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(demo_dir / "osm_transportation.parquet")


@pytest.fixture(scope="module")
def dordrecht(osm_lines: gpd.GeoDataFrame) -> RoadGraph:
    return build_road_graph(osm_lines)


def test_build_does_not_change_its_input(osm_lines: gpd.GeoDataFrame) -> None:
    before = osm_lines.copy()
    build_road_graph(osm_lines)
    assert osm_lines.equals(before)


def test_dordrecht_size_and_connectivity(dordrecht: RoadGraph) -> None:
    # Measured on the shipped file (August 2021 tiles), default 0.6 m tolerance:
    # 19,100 edges, 13,532 nodes, 120 components, 1,119,239 m, 97.71 % in the largest.
    report = dordrecht.report
    assert 18_500 <= report.n_edges <= 19_700
    assert 13_000 <= report.n_nodes <= 14_000
    assert 100 <= report.n_components <= 140
    assert report.total_length_m == pytest.approx(1_119_239, rel=0.02)
    assert report.largest_component_length_share >= 0.95
    assert report.largest_component_length_share == pytest.approx(0.9771, abs=0.005)
    assert report.snap_tolerance_m == DEFAULT_SNAP_TOLERANCE_M
    assert report.to_dict()["n_edges"] == len(dordrecht.edges)
    assert report.n_nodes == len(dordrecht.nodes)
    comp_len = dordrecht.edges.groupby("component")["length_m"].sum()
    assert comp_len.idxmax() == 0
    assert comp_len[0] == pytest.approx(report.largest_component_length_m)


def test_dordrecht_length_is_that_of_the_routable_input(
    dordrecht: RoadGraph, osm_lines: gpd.GeoDataFrame
) -> None:
    routable = osm_lines[osm_lines["class"].isin(list(DEFAULT_ROAD_CLASSES))]
    assert dordrecht.report.total_length_m == pytest.approx(routable.length.sum(), rel=1e-3)


def test_dordrecht_edges_are_consistent(dordrecht: RoadGraph) -> None:
    edges, nodes = dordrecht.edges, dordrecht.nodes
    assert edges["edge_id"].tolist() == list(range(len(edges)))
    assert nodes["node_id"].tolist() == list(range(len(nodes)))
    assert edges["from_node"].isin(nodes["node_id"]).all()
    assert edges["to_node"].isin(nodes["node_id"]).all()
    assert (edges["length_m"] > 0).all()
    assert np.allclose(edges["length_m"], edges.length)
    assert np.allclose(edges["travel_time_s"], edges["length_m"] / (edges["free_speed_kmh"] / 3.6))
    assert edges.crs.to_epsg() == 28992
    assert edges.geom_type.eq("LineString").all()
    assert set(edges["road_class"]) <= set(DEFAULT_ROAD_CLASSES)
    assert not edges["road_class"].isin(["rail", "razed", "services", "minor_construction"]).any()
    # Both components columns agree, and every node is used with the degree it says.
    node_comp = nodes.set_index("node_id")["component"]
    assert (node_comp[edges["from_node"]].to_numpy() == edges["component"].to_numpy()).all()
    assert (node_comp[edges["to_node"]].to_numpy() == edges["component"].to_numpy()).all()
    degree = np.bincount(edges["from_node"], minlength=len(nodes)) + np.bincount(
        edges["to_node"], minlength=len(nodes)
    )
    assert (degree == nodes["degree"].to_numpy()).all()
    assert (nodes["degree"] >= 1).all()


def test_dordrecht_edge_ends_lie_on_their_nodes(dordrecht: RoadGraph, osm_lines: gpd.GeoDataFrame) -> None:
    edges, nodes = dordrecht.edges, dordrecht.nodes
    xy = shapely.get_coordinates(nodes.geometry.to_numpy())
    start = shapely.get_coordinates(shapely.get_point(edges.geometry.to_numpy(), 0))
    end = shapely.get_coordinates(shapely.get_point(edges.geometry.to_numpy(), -1))
    tol = DEFAULT_SNAP_TOLERANCE_M
    assert np.hypot(*(start - xy[edges["from_node"]]).T).max() <= tol
    assert np.hypot(*(end - xy[edges["to_node"]]).T).max() <= tol
    # Nodes stay on the input lines: snapping moves them by less than the tolerance.
    routable = osm_lines[osm_lines["class"].isin(list(DEFAULT_ROAD_CLASSES))]
    tree = shapely.STRtree(routable.geometry.to_numpy())
    _, dist = tree.query_nearest(nodes.geometry.to_numpy(), return_distance=True, all_matches=False)
    assert dist.max() <= tol


def test_dordrecht_oneway(dordrecht: RoadGraph, osm_lines: gpd.GeoDataFrame) -> None:
    edges = dordrecht.edges
    assert edges["oneway"].dtype == bool
    # 1,072 input lines are one-way; split at junctions they give a few thousand edges.
    assert 2_000 <= edges["oneway"].sum() <= 3_500
    assert edges.loc[edges["road_class"] == "motorway", "oneway"].all()
    car = to_sparse_graph(edges, mode="car")
    foot = to_sparse_graph(edges, mode="foot")
    assert car.shape == foot.shape == (len(dordrecht.nodes), len(dordrecht.nodes))
    one = edges[edges["oneway"] & edges["car"] & (edges["from_node"] != edges["to_node"])]
    forward = np.asarray(car[one["from_node"].to_numpy(), one["to_node"].to_numpy()]).ravel()
    assert (forward > 0).all()
    # Cars reach most of the network from a node of the main component.
    start = int(edges.loc[(edges["component"] == 0) & edges["car"], "from_node"].iloc[0])
    reached = np.isfinite(dijkstra(car, directed=True, indices=start)).sum()
    assert reached > 0.5 * len(dordrecht.nodes)
