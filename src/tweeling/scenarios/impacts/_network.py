"""The road layer as a directed graph for one mode: arrays that shortest-path and assignment code share.

``road_graph(roads, "car")`` keeps the links open to that mode (``roads[mode]`` is True) and turns
each into one arc (one-way links, when ``oneway`` applies to the mode) or two arcs (from_node→to_node
and back). Graph nodes are numbered 0..n_nodes-1; ``node_ids`` maps them back to ``road_nodes``
ids and ``arc_link`` maps arcs back to row positions of the roads frame, so that any link column
(``travel_time_s``, ``capacity_veh_per_h``, ...) can be read per arc with ``column[arc_link]``.
Pure functions over frames; nothing is modified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from tweeling.core.errors import InvalidInputError

ONEWAY_MODES = frozenset({"car"})
"""Modes for which the roads' ``oneway`` flag holds (the road layer sets it for cars only)."""


@dataclass(frozen=True)
class RoadGraph:
    """Directed arcs of the road links open to one mode.

    ``node_ids``: road_nodes id of each graph node; ``arc_from`` / ``arc_to``: graph node of each
    arc's tail and head; ``arc_link``: row position (iloc) of the arc's link in the roads frame;
    ``arc_forward``: True when the arc runs from the link's ``from_node`` to its ``to_node``.
    """

    node_ids: np.ndarray
    arc_from: np.ndarray
    arc_to: np.ndarray
    arc_link: np.ndarray
    arc_forward: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return int(self.node_ids.size)

    @property
    def n_arcs(self) -> int:
        """Number of directed arcs."""
        return int(self.arc_from.size)

    def link_values(self, roads: pd.DataFrame, column: str) -> np.ndarray:
        """A column of the roads frame, one value per arc (float)."""
        return roads[column].to_numpy(dtype=float)[self.arc_link]


def road_graph(roads: pd.DataFrame, mode: str) -> RoadGraph:
    """The directed graph of the links that ``mode`` ("car", "bicycle", "foot") may use.

    One-way links (``oneway`` True, for cars) give one arc from_node→to_node; all others give two.
    """
    open_rows = np.flatnonzero(roads[mode].to_numpy(dtype=bool))
    from_node = roads["from_node"].to_numpy(dtype=np.int64)[open_rows]
    to_node = roads["to_node"].to_numpy(dtype=np.int64)[open_rows]
    if mode in ONEWAY_MODES:
        both_ways = ~roads["oneway"].to_numpy(dtype=bool)[open_rows]
    else:
        both_ways = np.ones(open_rows.size, dtype=bool)
    node_ids, position = np.unique(np.concatenate([from_node, to_node]), return_inverse=True)
    tail, head = position[: open_rows.size], position[open_rows.size :]
    return RoadGraph(
        node_ids=node_ids,
        arc_from=np.concatenate([tail, head[both_ways]]),
        arc_to=np.concatenate([head, tail[both_ways]]),
        arc_link=np.concatenate([open_rows, open_rows[both_ways]]),
        arc_forward=np.concatenate([np.ones(open_rows.size, bool), np.zeros(int(both_ways.sum()), bool)]),
    )


def largest_strong_component(graph: RoadGraph) -> np.ndarray:
    """Mask of the graph nodes in the largest strongly connected component (every node of it can
    reach every other one along the arcs)."""
    if graph.n_nodes == 0:
        return np.zeros(0, dtype=bool)
    adjacency = sp.csr_matrix(
        (np.ones(graph.n_arcs), (graph.arc_from, graph.arc_to)), shape=(graph.n_nodes, graph.n_nodes)
    )
    _, labels = connected_components(adjacency, directed=True, connection="strong")
    return labels == np.bincount(labels).argmax()


def node_coordinates(graph: RoadGraph, road_nodes: pd.DataFrame) -> np.ndarray:
    """x, y (m, RD) of every graph node, shape (n_nodes, 2), from the road_nodes point geometry."""
    points = road_nodes.geometry.loc[graph.node_ids]
    return np.column_stack([points.x.to_numpy(), points.y.to_numpy()])


# -- undirected graphs for walking and cycling (proximity, care) --------------------------

MODE_COLUMNS: Mapping[str, str] = {"walk": "foot", "bike": "bicycle"}
"""Travel mode -> the boolean column of ``roads`` that says whether a link is open to it."""


@dataclass(frozen=True, eq=False)
class ModeGraph:
    """A routable graph of one travel mode.

    ``matrix``: symmetric CSR matrix of link lengths (m) between graph vertices 0..n-1;
    ``node_ids``: the ``road_nodes`` id of each vertex; ``xy``: vertex coordinates (m, RD);
    ``points``: the vertices as shapely points.
    """

    mode: str
    matrix: csr_matrix
    node_ids: np.ndarray
    xy: np.ndarray
    points: np.ndarray = field(repr=False)
    tree: cKDTree = field(repr=False)

    @property
    def size(self) -> int:
        """Number of vertices."""
        return int(self.node_ids.shape[0])

    def snap(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest vertex of each point (x, y in m, RD) and the straight distance to it (m).

        A point without coordinates (or an empty graph) gets vertex 0 and distance ``inf``.
        """
        points = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        vertex = np.zeros(points.shape[0], dtype=np.int64)
        dist = np.full(points.shape[0], np.inf)
        valid = np.isfinite(points).all(axis=1)
        if valid.any() and self.size:
            found_dist, found_vertex = self.tree.query(points[valid])
            vertex[valid], dist[valid] = found_vertex, found_dist
        return vertex, dist


def build_mode_graph(
    roads: pd.DataFrame,
    road_nodes: gpd.GeoDataFrame,
    mode: str = "walk",
    *,
    largest_component: bool = True,
) -> ModeGraph:
    """The graph of the links open to ``mode`` ("walk" or "bike"), weighted by ``length_m`` (m).

    Links are two-way (``oneway`` applies to cars only); parallel links keep the shortest length.
    With ``largest_component`` only the largest connected component is kept.
    """
    if mode not in MODE_COLUMNS:
        raise InvalidInputError(
            f"Unknown mode {mode!r}: use one of {', '.join(MODE_COLUMNS)}.",
            invalid_params=[{"name": "mode", "reason": "unknown mode"}],
        )
    links = roads[roads[MODE_COLUMNS[mode]].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    node_index = pd.Index(road_nodes.index)
    start = node_index.get_indexer(links["from_node"].to_numpy())
    end = node_index.get_indexer(links["to_node"].to_numpy())
    if (start < 0).any() or (end < 0).any():
        raise InvalidInputError(
            "Some roads refer to nodes that are not in road_nodes: rebuild the road graph."
        )
    length = links["length_m"].to_numpy(dtype=float)
    if not np.isfinite(length).all() or (length < 0).any():
        raise InvalidInputError("Road lengths must be finite and non-negative (length_m).")
    keep = start != end
    low, high, length = np.minimum(start, end)[keep], np.maximum(start, end)[keep], length[keep]
    order = np.lexsort((length, high, low))
    low, high, length = low[order], high[order], length[order]
    first = np.ones(low.shape[0], dtype=bool)
    first[1:] = (low[1:] != low[:-1]) | (high[1:] != high[:-1])
    low, high, length = low[first], high[first], length[first]

    n_all = len(node_index)
    used = np.zeros(n_all, dtype=bool)
    used[low] = True
    used[high] = True
    if largest_component and low.shape[0] > 0:
        structure = csr_matrix((np.ones(low.shape[0]), (low, high)), shape=(n_all, n_all))
        _, labels = connected_components(structure, directed=False)
        sizes = np.bincount(labels[used])
        used &= labels == int(np.argmax(sizes))
    vertex_of = np.full(n_all, -1, dtype=np.int64)
    vertex_of[used] = np.arange(int(used.sum()))
    inside = used[low] & used[high]
    rows, cols, length = vertex_of[low[inside]], vertex_of[high[inside]], length[inside]
    size = int(used.sum())
    matrix = csr_matrix(
        (np.concatenate([length, length]), (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
        shape=(size, size),
    )
    geometry = road_nodes.geometry.to_numpy()[used]
    xy = np.column_stack([shapely.get_x(geometry), shapely.get_y(geometry)]).astype(float)
    return ModeGraph(
        mode=mode,
        matrix=matrix,
        node_ids=node_index.to_numpy()[used].astype(np.int64),
        xy=xy,
        points=geometry,
        tree=cKDTree(xy if size else np.zeros((0, 2))),
    )
