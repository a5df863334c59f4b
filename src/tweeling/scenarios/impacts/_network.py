"""The road layer as a directed graph for one mode: arrays that shortest-path and assignment code share.

``road_graph(roads, "car")`` keeps the links open to that mode (``roads[mode]`` is True) and turns
each into one arc (one-way links, when ``oneway`` applies to the mode) or two arcs (from_node→to_node
and back). Graph nodes are numbered 0..n_nodes-1; ``node_ids`` maps them back to ``road_nodes``
ids and ``arc_link`` maps arcs back to row positions of the roads frame, so that any link column
(``travel_time_s``, ``capacity_veh_per_h``, ...) can be read per arc with ``column[arc_link]``.
Pure functions over frames; nothing is modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

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
