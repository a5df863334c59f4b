"""Traffic: a light four-step car model of Dordrecht (trip generation, gravity, equilibrium assignment).

Method (details, parameters and validation in docs/models/traffic.md):

1. **Zones.** Every CBS buurt with trips is a zone. Each building's daily car trip ends
   (``dwellings_est`` x trip ends per dwelling, scaled by ``parking_per_dwelling`` / reference norm
   for new housing with a parking norm, plus ``nonresidential_floor_m2`` / 100 x trip ends per
   100 m2) are snapped to the nearest car node of an access road class in the largest strongly
   connected car network; the ``access_nodes_per_zone`` nodes that collect the most trip ends are
   the zone's connectors, each costing the straight-line distance from the zone's trip-weighted
   centroid at ``connector_speed_kmh``. **Gateways**: ends of motorway / trunk / primary /
   secondary links on (or outside) the municipal boundary, merged per class within
   ``gateway_merge_distance_m``, carry an assumed daily volume per class, split into through
   traffic (gateway to gateway) and traffic to and from the city zones.
2. **Distribution.** Each city zone produces and attracts half of its trip ends. A doubly
   constrained gravity model (Furness / iterative proportional fitting) with deterrence
   ``exp(-beta * t)`` of the free-flow network time ``t`` (minutes) distributes them over the city
   zones and the gateways; intrazonal time is half the time to the nearest other zone. Through
   traffic is spread over the other gateways (at least ``gateway_through_min_distance_m`` away) by a
   Furness balance of their volumes. ``trip_reduction`` r scales trips between zones i and j by
   (1 - r_i)(1 - r_j).
3. **Assignment.** The peak-hour matrix (daily x ``peak_hour_share``) is assigned as a user
   equilibrium (:func:`assign`: bi-conjugate Frank-Wolfe by default, or Frank-Wolfe) with BPR link
   times ``t = t0 * (1 + alpha * (V/C)^beta)``; one-way links are respected. Daily volumes are peak
   volumes / ``peak_hour_share``.
4. **Vehicle classes.** Medium and heavy truck shares per road class split the daily volume.

Each source and each assumption is on its parameter. The model reads the city state and returns
new frames; it does no I/O and changes nothing it reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numba import get_num_threads, njit, prange
from scipy.optimize import brentq, minimize_scalar
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from tweeling.scenarios.city import CityState, building_centroids
from tweeling.scenarios.impacts._network import (
    RoadGraph,
    largest_strong_component,
    node_coordinates,
    road_graph,
)
from tweeling.scenarios.model import (
    AlgorithmRegisterEntry,
    Better,
    ImpactModel,
    Indicator,
    Level,
    ModelInfo,
    ModelResult,
    param,
)

CROW_381 = "CROW publicatie 381 'Toekomstbestendig parkeren' (2018), kencijfers parkeren en verkeersgeneratie"
CONNECTOR_CAPACITY_VEH_H = 1e9
"""Capacity of zone connectors: large enough that the BPR delay on them is nil."""


@dataclass(frozen=True)
class TrafficParams:
    """Parameters of the traffic model; each has a unit and a source (or says "assumed")."""

    trip_ends_per_dwelling: float = param(
        5.0,
        unit="car trip ends / dwelling / weekday",
        source=f"assumed, within the range of {CROW_381} for dwellings in a 'sterk stedelijk' municipality",
        description="Car movements to and from a dwelling (residents and visitors) on an average weekday.",
    )
    trip_ends_per_100m2_nonresidential: float = param(
        4.0,
        unit="car trip ends / 100 m2 floor area / weekday",
        source=f"assumed: between offices/industry and retail in {CROW_381}",
        description="Car movements to and from non-residential floor area (jobs, shops, services).",
    )
    reference_parking_per_dwelling: float = param(
        1.2,
        unit="parking places / dwelling",
        source="assumed: typical Dutch municipal parking norm for a mid-priced urban dwelling (cf. CROW 381)",
        description="Norm at which a new dwelling generates the standard rate; a building's "
        "parking_per_dwelling scales its rate by parking_per_dwelling / this value.",
    )
    deterrence_per_minute: float = param(
        0.10,
        unit="1/min",
        source="assumed: within 0.05-0.15 /min used for urban car trips (Ortúzar & Willumsen, "
        "Modelling Transport, 4th ed., 2011, ch. 6); not calibrated on Dordrecht",
        description="beta of the gravity deterrence exp(-beta * t), t = free-flow network time.",
    )
    access_nodes_per_zone: int = param(
        3,
        unit="nodes",
        source="assumed",
        description="Connectors per buurt: the car nodes that collect the most of its trip ends.",
    )
    access_road_classes: tuple[str, ...] = param(
        ("tertiary", "minor"),
        unit="road classes",
        source="assumed",
        description="Classes of the links whose nodes may connect a buurt to the network.",
    )
    connector_speed_kmh: float = param(
        20.0,
        unit="km/h",
        source="assumed",
        description="Speed on a zone connector (straight line from the zone centroid to the node).",
    )
    gateway_road_classes: tuple[str, ...] = param(
        ("motorway", "trunk", "primary", "secondary"),
        unit="road classes",
        source="assumed",
        description="Classes whose link ends on the municipal boundary are gateways for external traffic.",
    )
    gateway_boundary_tolerance_m: float = param(
        50.0,
        unit="m",
        source="assumed",
        description="A link end this close to the municipal boundary (or outside it) is a gateway.",
    )
    gateway_merge_distance_m: float = param(
        300.0,
        unit="m",
        source="assumed",
        description="Gateway link ends of one class this close together form one gateway "
        "(the carriageways of one road).",
    )
    gateway_volume_veh_day: dict[str, float] = param(
        {"motorway": 110_000.0, "trunk": 40_000.0, "primary": 25_000.0, "secondary": 12_000.0},
        unit="vehicles / weekday, both directions",
        source="assumed: order of magnitude of Rijkswaterstaat/NDW counts on the A16 near Dordrecht "
        "(100,000+ vehicles a day); the other classes are rough guesses",
        description="Daily traffic crossing the boundary at a gateway of each class.",
    )
    gateway_through_share: dict[str, float] = param(
        {"motorway": 0.8, "trunk": 0.5, "primary": 0.3, "secondary": 0.2},
        unit="share 0-1",
        source="assumed",
        description="Share of a gateway's traffic that only passes through (to another gateway).",
    )
    gateway_through_min_distance_m: float = param(
        2000.0,
        unit="m",
        source="assumed",
        description="Through traffic only runs between gateways at least this far apart.",
    )
    peak_hour_share: float = param(
        0.09,
        unit="share of daily traffic",
        source="assumed: typical 8-10 % of weekday traffic in the busiest hour on Dutch roads",
        description="Peak-hour traffic as a share of the day; daily volumes = peak volumes / this.",
    )
    peak_hours_per_day: float = param(
        4.0,
        unit="h",
        source="assumed: two morning and two evening rush hours",
        description="Hours a day loaded like the peak hour (for speed and congestion share).",
    )
    congestion_vc_onset: float = param(
        0.8,
        unit="V/C",
        source="assumed",
        description="Peak V/C at which part of the peak traffic starts to drive in congestion.",
    )
    congestion_vc_full: float = param(
        1.0,
        unit="V/C",
        source="assumed",
        description="Peak V/C at which all peak-hour traffic drives in congestion.",
    )
    bpr_alpha: float = param(
        0.15,
        unit="-",
        source="Bureau of Public Roads, Traffic Assignment Manual (1964)",
        description="alpha of the BPR link time t = t0 * (1 + alpha * (V/C)^beta).",
    )
    bpr_beta: float = param(
        4.0,
        unit="-",
        source="Bureau of Public Roads, Traffic Assignment Manual (1964)",
        description="beta of the BPR link time.",
    )
    assignment_algorithm: str = param(
        "bfw",
        unit="name: frank-wolfe or bfw",
        source="Mitradjieva & Lindberg (2013), Transportation Science 47(2) (bi-conjugate Frank-Wolfe)",
        description="Equilibrium algorithm: plain Frank-Wolfe or bi-conjugate Frank-Wolfe.",
    )
    assignment_iterations: int = param(
        20,
        unit="iterations",
        source="assumed: a relative gap of 2.2e-5 on Dordrecht with bfw (docs/models/traffic.md)",
        description="All-or-nothing loads of the equilibrium (the first at free flow).",
    )
    assignment_gap_target: float = param(
        1e-5,
        unit="relative gap",
        source="assumed",
        description="Stop earlier once the relative gap is this small.",
    )
    fallback_capacity_veh_per_h: float = param(
        300.0,
        unit="veh/h per direction",
        source="assumed (the service-road capacity of the road layer)",
        description="Capacity used for a car link whose capacity is missing or zero.",
    )
    medium_truck_share: dict[str, float] = param(
        {
            "motorway": 0.06,
            "trunk": 0.05,
            "primary": 0.05,
            "secondary": 0.04,
            "tertiary": 0.03,
            "minor": 0.02,
            "service": 0.02,
        },
        unit="share of daily vehicles",
        source="assumed: order of magnitude of Dutch traffic counts (NDW/INWEVA on motorways, "
        "municipal counts on urban roads)",
        description="Medium trucks (SRM categorie middelzwaar) per road class.",
    )
    heavy_truck_share: dict[str, float] = param(
        {
            "motorway": 0.12,
            "trunk": 0.06,
            "primary": 0.04,
            "secondary": 0.02,
            "tertiary": 0.01,
            "minor": 0.005,
            "service": 0.005,
        },
        unit="share of daily vehicles",
        source="assumed: order of magnitude of Dutch traffic counts (the A16 is a freight corridor)",
        description="Heavy trucks (SRM categorie zwaar) per road class.",
    )


# ---------------------------------------------------------------------------------------------
# Assignment: a reusable, pure Frank-Wolfe user equilibrium on arrays
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentNetwork:
    """A directed network with zones attached, in arrays.

    Arcs run ``arc_from`` → ``arc_to`` between nodes 0..n_nodes-1 with free-flow time
    ``free_time_s`` (s) and capacity ``capacity_veh_h`` (veh/h). Row i of an OD matrix starts at node
    ``origin_nodes[i]``; column j ends at node ``destination_nodes[j]``.
    """

    arc_from: np.ndarray
    arc_to: np.ndarray
    free_time_s: np.ndarray
    capacity_veh_h: np.ndarray
    n_nodes: int
    origin_nodes: np.ndarray
    destination_nodes: np.ndarray


@dataclass(frozen=True)
class Assignment:
    """An equilibrium: flow (veh/h) and loaded time (s) per arc, and the convergence record.

    ``relative_gaps[k]`` is the relative gap of the flows reached after iteration k+1, measured with
    the all-or-nothing load of iteration k+2 (so the last entry is one step behind the result).
    """

    flow_veh_h: np.ndarray
    time_s: np.ndarray
    relative_gaps: tuple[float, ...]
    iterations: int
    unassigned_veh_h: float


def bpr_time(
    free_time_s: np.ndarray, flow_veh_h: np.ndarray, capacity_veh_h: np.ndarray, alpha: float, beta: float
) -> np.ndarray:
    """BPR link time (s): ``t0 * (1 + alpha * (V/C)^beta)``."""
    return free_time_s * (1.0 + alpha * (flow_veh_h / capacity_veh_h) ** beta)


@dataclass(frozen=True)
class _PathSearch:
    """The arcs grouped by (tail, head) node pair in CSR order, for :func:`_dijkstra_trees`."""

    arc_pair: np.ndarray
    pair_start: np.ndarray
    pair_head: np.ndarray
    n_nodes: int


def _path_search(network: AssignmentNetwork) -> _PathSearch:
    keys = network.arc_from.astype(np.int64) * network.n_nodes + network.arc_to
    pair_keys, arc_pair = np.unique(keys, return_inverse=True)
    pair_tail = pair_keys // network.n_nodes
    pair_start = np.zeros(network.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_tail, minlength=network.n_nodes), out=pair_start[1:])
    return _PathSearch(
        arc_pair=arc_pair.astype(np.int64),
        pair_start=pair_start,
        pair_head=(pair_keys % network.n_nodes).astype(np.int64),
        n_nodes=network.n_nodes,
    )


@njit(cache=True)
def _cheapest_arc_per_pair(
    arc_pair: np.ndarray, cost: np.ndarray, n_pairs: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each node pair, the arc between them with the lowest cost, and that cost."""
    best_arc = np.full(n_pairs, -1, dtype=np.int64)
    best_cost = np.full(n_pairs, np.inf)
    for arc in range(arc_pair.size):
        pair = arc_pair[arc]
        if cost[arc] < best_cost[pair]:
            best_cost[pair] = cost[arc]
            best_arc[pair] = arc
    return best_arc, best_cost


@njit(cache=True)
def _load_rows(
    first_row: int,
    last_row: int,
    predecessors: np.ndarray,
    origin_nodes: np.ndarray,
    destination_nodes: np.ndarray,
    demand: np.ndarray,
    pair_start: np.ndarray,
    pair_head: np.ndarray,
    pair_arc: np.ndarray,
    flow: np.ndarray,
) -> float:
    """Add the OD cells of origin rows ``first_row`` to ``last_row`` (exclusive) to ``flow``
    along their shortest-path trees; return the demand with no path.

    Walks back from each destination to the origin along the predecessors; each step's arc is the
    cheapest arc of the (predecessor, node) pair.
    """
    unreached = 0.0
    for row in range(first_row, last_row):
        origin = origin_nodes[row]
        for col in range(destination_nodes.size):
            volume = demand[row, col]
            node = destination_nodes[col]
            if volume <= 0.0 or node == origin:
                continue
            if predecessors[row, node] < 0:
                unreached += volume
                continue
            while node != origin:
                tail = predecessors[row, node]
                pair = pair_start[tail]
                while pair_head[pair] != node:
                    pair += 1
                flow[pair_arc[pair]] += volume
                node = tail
    return unreached


@njit(cache=True, parallel=True)
def _load_paths(
    predecessors: np.ndarray,
    origin_nodes: np.ndarray,
    destination_nodes: np.ndarray,
    demand: np.ndarray,
    pair_start: np.ndarray,
    pair_head: np.ndarray,
    pair_arc: np.ndarray,
    n_arcs: int,
    blocks: int,
) -> tuple[np.ndarray, float]:
    """Flow per arc from loading every OD cell on its shortest-path tree, and the demand with no path.

    The origins are split in ``blocks`` (one per thread), each loading its own flow vector.
    """
    flows = np.zeros((blocks, n_arcs))
    unreached = np.zeros(blocks)
    bounds = np.linspace(0, origin_nodes.size, blocks + 1).astype(np.int64)
    for block in prange(blocks):
        unreached[block] = _load_rows(
            bounds[block],
            bounds[block + 1],
            predecessors,
            origin_nodes,
            destination_nodes,
            demand,
            pair_start,
            pair_head,
            pair_arc,
            flows[block],
        )
    return flows.sum(axis=0), unreached.sum()


@njit(cache=True)
def _tree_from(
    origin: int,
    indptr: np.ndarray,
    heads: np.ndarray,
    weights: np.ndarray,
    times: np.ndarray,
    predecessors: np.ndarray,
    heap_key: np.ndarray,
    heap_node: np.ndarray,
) -> None:
    """Dijkstra from ``origin`` over a CSR graph with a binary heap (lazy deletion): fills ``times``
    (s) and ``predecessors`` (-9999 where none, as scipy)."""
    times[origin] = 0.0
    size = 1
    heap_key[0] = 0.0
    heap_node[0] = origin
    while size > 0:
        key, node = heap_key[0], heap_node[0]
        size -= 1
        last_key, last_node = heap_key[size], heap_node[size]
        hole = 0
        while True:
            child = 2 * hole + 1
            if child >= size:
                break
            if child + 1 < size and heap_key[child + 1] < heap_key[child]:
                child += 1
            if heap_key[child] >= last_key:
                break
            heap_key[hole], heap_node[hole] = heap_key[child], heap_node[child]
            hole = child
        heap_key[hole], heap_node[hole] = last_key, last_node
        if key > times[node]:
            continue
        for position in range(indptr[node], indptr[node + 1]):
            head = heads[position]
            candidate = key + weights[position]
            if candidate < times[head]:
                times[head] = candidate
                predecessors[head] = node
                hole = size
                size += 1
                while hole > 0:
                    parent = (hole - 1) // 2
                    if heap_key[parent] <= candidate:
                        break
                    heap_key[hole], heap_node[hole] = heap_key[parent], heap_node[parent]
                    hole = parent
                heap_key[hole], heap_node[hole] = candidate, head


@njit(cache=True, parallel=True)
def _dijkstra_trees(
    indptr: np.ndarray, heads: np.ndarray, weights: np.ndarray, origins: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shortest-path trees from every origin, in parallel over the origins: (times, predecessors)."""
    n_nodes = indptr.size - 1
    times = np.full((origins.size, n_nodes), np.inf)
    predecessors = np.full((origins.size, n_nodes), -9999, dtype=np.int32)
    for row in prange(origins.size):
        heap_key = np.empty(heads.size + 1)
        heap_node = np.empty(heads.size + 1, dtype=np.int64)
        _tree_from(origins[row], indptr, heads, weights, times[row], predecessors[row], heap_key, heap_node)
    return times, predecessors


def _shortest_trees(
    search: _PathSearch, network: AssignmentNetwork, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dijkstra from every origin: (times to all nodes, predecessors, cheapest arc per node pair)."""
    pair_arc, pair_cost = _cheapest_arc_per_pair(search.arc_pair, cost, search.pair_head.size)
    origins = network.origin_nodes.astype(np.int64)
    weights = np.maximum(pair_cost, 1e-9)
    times, predecessors = _dijkstra_trees(search.pair_start, search.pair_head, weights, origins)
    return times, predecessors, pair_arc


def _all_or_nothing(
    search: _PathSearch, network: AssignmentNetwork, cost: np.ndarray, od: np.ndarray
) -> tuple[np.ndarray, float]:
    _, predecessors, pair_arc = _shortest_trees(search, network, cost)
    return _load_paths(
        predecessors,
        network.origin_nodes,
        network.destination_nodes,
        od,
        search.pair_start,
        search.pair_head,
        pair_arc,
        network.arc_from.size,
        get_num_threads(),
    )


def shortest_path_times(network: AssignmentNetwork, cost_s: np.ndarray, reduce: bool = True) -> np.ndarray:
    """Shortest-path time (s) from every origin to every destination (inf where unreachable)."""
    costed = dataclasses.replace(network, free_time_s=np.asarray(cost_s, dtype=float))
    solved = reduce_network(costed, 1.0).network if reduce else costed
    times, _, _ = _shortest_trees(_path_search(solved), solved, solved.free_time_s)
    return np.asarray(times[:, solved.destination_nodes])


def all_or_nothing(network: AssignmentNetwork, cost_s: np.ndarray, od_veh_h: np.ndarray) -> np.ndarray:
    """Flow per arc (veh/h) when every OD cell takes its shortest path at the given arc costs."""
    flow, _ = _all_or_nothing(_path_search(network), network, cost_s, np.asarray(od_veh_h, dtype=float))
    return flow


def relative_gap(
    network: AssignmentNetwork, od_veh_h: np.ndarray, flow_veh_h: np.ndarray, alpha: float, beta: float
) -> float:
    """Relative gap of a flow: (sum x*t(x) - sum y*t(x)) / sum x*t(x), y = all-or-nothing at t(x)."""
    cost = bpr_time(network.free_time_s, flow_veh_h, network.capacity_veh_h, alpha, beta)
    shortest = all_or_nothing(network, cost, od_veh_h)
    total = float(np.dot(flow_veh_h, cost))
    return (total - float(np.dot(shortest, cost))) / total if total > 0 else 0.0


@njit(cache=True)
def _objective_slope(
    step: float,
    flow: np.ndarray,
    direction: np.ndarray,
    free_time_s: np.ndarray,
    capacity_veh_h: np.ndarray,
    alpha: float,
    beta: float,
) -> float:
    """Derivative of the Beckmann objective along ``direction`` at ``flow + step * direction``."""
    total = 0.0
    for arc in range(flow.size):
        moved = flow[arc] + step * direction[arc]
        total += direction[arc] * free_time_s[arc] * (1.0 + alpha * (moved / capacity_veh_h[arc]) ** beta)
    return total


def _line_search(
    flow: np.ndarray, target: np.ndarray, network: AssignmentNetwork, alpha: float, beta: float
) -> float:
    """Frank-Wolfe step in [0, 1]: the root of the Beckmann objective's derivative from ``flow``
    towards ``target`` (exact line search, as AequilibraE's Frank-Wolfe)."""
    moving = np.flatnonzero(target != flow)
    arrays = (
        flow[moving],
        target[moving] - flow[moving],
        network.free_time_s[moving],
        network.capacity_veh_h[moving],
        alpha,
        beta,
    )
    if _objective_slope(1.0, *arrays) <= 0.0:
        return 1.0
    if _objective_slope(0.0, *arrays) >= 0.0:
        return 0.0
    return float(brentq(_objective_slope, 0.0, 1.0, args=arrays, xtol=1e-10))


@njit(cache=True)
def _trapezoid_change(
    step: float,
    flow: np.ndarray,
    direction: np.ndarray,
    cost: np.ndarray,
    free_time_s: np.ndarray,
    capacity_veh_h: np.ndarray,
    alpha: float,
    beta: float,
) -> float:
    """Trapezoidal estimate of the Beckmann objective change from ``flow`` to
    ``flow + step * direction``: step/2 * sum((t(x) + t(x + step d)) * d)."""
    total = 0.0
    for arc in range(flow.size):
        moved = flow[arc] + step * direction[arc]
        moved_cost = free_time_s[arc] * (1.0 + alpha * (moved / capacity_veh_h[arc]) ** beta)
        total += (cost[arc] + moved_cost) * direction[arc]
    return 0.5 * step * total


def _bfw_line_search(
    flow: np.ndarray,
    target: np.ndarray,
    cost: np.ndarray,
    network: AssignmentNetwork,
    alpha: float,
    beta: float,
    largest: float,
) -> float | None:
    """Bi-conjugate step as AequilibraE 1.7.2 takes it: the minimum of the trapezoidal objective
    change on [0, largest] (bounded Brent, 1e-4 tolerance, 10 evaluations), or ``largest`` when that
    is lower; None when no step lowers the objective."""
    moving = np.flatnonzero(target != flow)
    arrays = (
        flow[moving],
        target[moving] - flow[moving],
        cost[moving],
        network.free_time_s[moving],
        network.capacity_veh_h[moving],
        alpha,
        beta,
    )
    found = minimize_scalar(
        _trapezoid_change,
        bounds=(0.0, largest),
        args=arrays,
        method="bounded",
        options={"xatol": 1e-4, "maxiter": 10},
    )
    at_largest = _trapezoid_change(largest, *arrays)
    if at_largest < found.fun and at_largest < 0.0:
        return largest
    if found.fun < 0.0:
        return float(found.x)
    return None


def _bpr_slope(network: AssignmentNetwork, flow: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """dt/dV of the BPR time per arc (s per veh/h)."""
    return network.free_time_s * alpha * beta * flow ** (beta - 1) / network.capacity_veh_h**beta


def _weighted(hessian: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    return float(np.sum(hessian * first * second))


def _conjugate_direction(
    flow: np.ndarray, target: np.ndarray, last: np.ndarray, hessian: np.ndarray
) -> np.ndarray:
    """Conjugate Frank-Wolfe direction: the mix of the last direction and the all-or-nothing target
    that is conjugate to the last direction under the BPR slopes."""
    denominator = _weighted(hessian, last - flow, target - last)
    mix = _weighted(hessian, last - flow, target - flow) / denominator if denominator != 0 else 0.0
    mix = min(max(mix, 0.0), 0.99999)
    return mix * last + (1.0 - mix) * target


def _biconjugate_direction(
    flow: np.ndarray,
    target: np.ndarray,
    last: np.ndarray,
    before_last: np.ndarray,
    last_step: float,
    hessian: np.ndarray,
) -> np.ndarray:
    """Bi-conjugate Frank-Wolfe direction (Mitradjieva & Lindberg 2013, as in AequilibraE 1.7.2)."""
    towards_last_point = last_step * last + (1.0 - last_step) * before_last - flow
    towards_target = target - flow
    towards_last = last - flow
    mu_denominator = _weighted(hessian, towards_last_point, before_last - last)
    mu = 0.0
    if mu_denominator != 0:
        mu = max(0.0, -_weighted(hessian, towards_last_point, towards_target) / mu_denominator)
    nu_denominator = _weighted(hessian, towards_last, towards_last)
    nu = 0.0
    if nu_denominator != 0:
        history_term = mu * last_step / (1.0 - last_step)
        nu = max(0.0, -_weighted(hessian, towards_last, towards_target) / nu_denominator + history_term)
    weight = 1.0 / (1.0 + mu + nu)
    return weight * target + nu * weight * last + mu * weight * before_last


@dataclass(frozen=True)
class Reduction:
    """A smaller network with the same equilibrium, and where each original arc went.

    ``arc_index[a]`` is the reduced arc that carries original arc a's flow, or -1 when no shortest
    path can use arc a (dead ends, arcs from nodes nothing reaches or to nodes that reach nothing).
    """

    network: AssignmentNetwork
    arc_index: np.ndarray

    def expand(self, reduced_values: np.ndarray) -> np.ndarray:
        """Values per reduced arc (flows) as values per original arc (0 for pruned arcs)."""
        return np.where(self.arc_index >= 0, reduced_values[np.maximum(self.arc_index, 0)], 0.0)


def _prune_useless_arcs(network: AssignmentNetwork, protected: np.ndarray) -> np.ndarray:
    """Mask of arcs that a shortest path between zones may use; repeatedly drops the arcs of nodes
    (other than zone nodes) with no way in, no way out, or a single neighbour, and self-loops."""
    n = network.n_nodes
    tail, head = network.arc_from, network.arc_to
    alive = tail != head
    while True:
        live_tail, live_head = tail[alive], head[alive]
        pair_keys = np.unique(np.minimum(live_tail, live_head) * n + np.maximum(live_tail, live_head))
        neighbours = np.bincount(np.concatenate([pair_keys // n, pair_keys % n]), minlength=n)
        useless = ~protected & (
            (np.bincount(live_head, minlength=n) == 0)
            | (np.bincount(live_tail, minlength=n) == 0)
            | (neighbours == 1)
        )
        dropped = alive & (useless[tail] | useless[head])
        if not dropped.any():
            return alive
        alive &= ~dropped


def reduce_network(network: AssignmentNetwork, beta: float) -> Reduction:
    """Prune arcs no path uses, then contract chains of nodes with one way in and one way out
    (or one two-way neighbour on each side) into single arcs.

    A chain of BPR arcs is exactly one BPR arc when alpha and beta are shared:
    sum t0_i (1 + alpha (V/C_i)^beta) = T0 (1 + alpha (V/C)^beta) with T0 = sum t0_i and
    C = (T0 / sum t0_i C_i^-beta)^(1/beta).
    """
    n = network.n_nodes
    protected = np.zeros(n, dtype=bool)
    protected[network.origin_nodes] = True
    protected[network.destination_nodes] = True
    alive = _prune_useless_arcs(network, protected)
    tail, head = network.arc_from.tolist(), network.arc_to.tolist()
    free_time = network.free_time_s.tolist()
    weight = (network.free_time_s * network.capacity_veh_h**-beta).tolist()
    owner = list(range(len(tail)))
    in_arcs: list[set[int]] = [set() for _ in range(n)]
    out_arcs: list[set[int]] = [set() for _ in range(n)]
    for arc in np.flatnonzero(alive).tolist():
        out_arcs[tail[arc]].add(arc)
        in_arcs[head[arc]].add(arc)

    def merge(first: int, second: int) -> None:
        new = len(tail)
        tail.append(tail[first])
        head.append(head[second])
        free_time.append(free_time[first] + free_time[second])
        weight.append(weight[first] + weight[second])
        owner.append(new)
        owner[first] = owner[second] = new
        out_arcs[tail[first]].discard(first)
        out_arcs[tail[first]].add(new)
        in_arcs[head[second]].discard(second)
        in_arcs[head[second]].add(new)

    for node in np.flatnonzero(~protected).tolist():
        ins, outs = in_arcs[node], out_arcs[node]
        if len(ins) == 1 and len(outs) == 1:
            (first,), (second,) = ins, outs
            if tail[first] == head[second]:
                continue
            merge(first, second)
        elif len(ins) == 2 and len(outs) == 2:
            in_a, in_b = ins
            out_a, out_b = outs
            if tail[in_a] == tail[in_b] or {tail[in_a], tail[in_b]} != {head[out_a], head[out_b]}:
                continue
            if head[out_a] == tail[in_a]:
                out_a, out_b = out_b, out_a
            merge(in_a, out_a)
            merge(in_b, out_b)
        else:
            continue
        in_arcs[node], out_arcs[node] = set(), set()

    final_owner = np.array(owner)
    while True:
        jumped = final_owner[final_owner]
        if np.array_equal(jumped, final_owner):
            break
        final_owner = jumped
    merged_alive = np.r_[alive, np.ones(len(tail) - alive.size, dtype=bool)]
    kept = np.flatnonzero(merged_alive & (final_owner == np.arange(len(tail))))
    position = np.full(len(tail), -1, dtype=np.int64)
    position[kept] = np.arange(kept.size)
    arc_index = position[final_owner[: alive.size]]
    arc_index[~alive] = -1

    kept_tail, kept_head = np.array(tail)[kept], np.array(head)[kept]
    nodes, renumbered = np.unique(
        np.concatenate([kept_tail, kept_head, network.origin_nodes, network.destination_nodes]),
        return_inverse=True,
    )
    n_kept = kept.size
    n_zones_out = network.origin_nodes.size
    kept_weight, kept_time = np.array(weight)[kept], np.array(free_time)[kept]
    original = kept < alive.size
    capacity = np.empty(n_kept)
    capacity[original] = network.capacity_veh_h[kept[original]]
    chained = ~original
    capacity[chained] = np.where(
        kept_weight[chained] > 0,
        (kept_time[chained] / np.where(kept_weight[chained] > 0, kept_weight[chained], 1.0)) ** (1.0 / beta),
        np.inf,
    )
    reduced = AssignmentNetwork(
        arc_from=renumbered[:n_kept],
        arc_to=renumbered[n_kept : 2 * n_kept],
        free_time_s=kept_time,
        capacity_veh_h=capacity,
        n_nodes=int(nodes.size),
        origin_nodes=renumbered[2 * n_kept : 2 * n_kept + n_zones_out],
        destination_nodes=renumbered[2 * n_kept + n_zones_out :],
    )
    return Reduction(reduced, arc_index)


ALGORITHMS = ("frank-wolfe", "bfw")


def _bfw_step(
    network: AssignmentNetwork,
    flow: np.ndarray,
    target: np.ndarray,
    cost: np.ndarray,
    history: tuple[np.ndarray, np.ndarray, float, str],
    iteration: int,
    alpha: float,
    beta: float,
) -> tuple[np.ndarray, str, float]:
    """Direction, its kind ("fw", "cfw", "bfw") and step of one bi-conjugate Frank-Wolfe iteration.

    ``history``: the last two directions, the last step and the kind this iteration should take
    (a Frank-Wolfe step is followed by a conjugate one, then bi-conjugate ones). A direction that
    does not lower the objective is replaced by the all-or-nothing target; when that does not
    either, a step of 0.01 / iteration is taken (as AequilibraE does).
    """
    last, before_last, last_step, kind = history
    direction = target
    if kind == "cfw" and last_step < 1.0:
        direction = _conjugate_direction(flow, target, last, _bpr_slope(network, flow, alpha, beta))
    elif kind == "bfw" and last_step < 1.0:
        hessian = _bpr_slope(network, flow, alpha, beta)
        direction = _biconjugate_direction(flow, target, last, before_last, last_step, hessian)
    else:
        kind = "fw"
    largest = min(1.0, iteration**-0.5)
    step = _bfw_line_search(flow, direction, cost, network, alpha, beta, largest)
    if step is None and kind != "fw":
        direction, kind = target, "fw"
        step = _bfw_line_search(flow, direction, cost, network, alpha, beta, largest)
    return direction, kind, step if step is not None else 0.01 / iteration


def assign(
    network: AssignmentNetwork,
    od_veh_h: np.ndarray,
    iterations: int = 30,
    alpha: float = 0.15,
    beta: float = 4.0,
    gap_target: float = 0.0,
    algorithm: str = "frank-wolfe",
    reduce: bool = True,
) -> Assignment:
    """User equilibrium with BPR link times by Frank-Wolfe or bi-conjugate Frank-Wolfe ("bfw").

    ``od_veh_h`` has one row per ``network.origin_nodes`` and one column per
    ``network.destination_nodes`` (veh/h). ``iterations`` counts all-or-nothing loads as
    AequilibraE's ``max_iter`` does: the first at free flow, then one per line-search step. Stops
    early when the relative gap is at most ``gap_target``. Frank-Wolfe moves towards the
    all-or-nothing load with an exact line search; "bfw" moves along a direction conjugate to the
    last two (Mitradjieva & Lindberg 2013) with AequilibraE 1.7.2's step rule (trapezoidal
    objective, step at most 1/sqrt(iteration)) and falls back to a Frank-Wolfe direction when that
    direction does not lower the objective. With ``reduce`` the equilibrium is solved on an
    equivalent smaller network (dead ends pruned, chains contracted) and mapped back. Shortest
    paths and loading along the trees: numba, in parallel over the origins.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown assignment algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}")
    od = np.asarray(od_veh_h, dtype=float)
    reduction = reduce_network(network, beta) if reduce else None
    solved = reduction.network if reduction is not None else network
    search = _path_search(solved)
    flow, unreached = _all_or_nothing(search, solved, solved.free_time_s, od)
    gaps: list[float] = []
    last = before_last = flow
    last_step, next_kind, done = 1.0, "fw", 1
    while done < iterations:
        cost = bpr_time(solved.free_time_s, flow, solved.capacity_veh_h, alpha, beta)
        target, unreached = _all_or_nothing(search, solved, cost, od)
        done += 1
        total = float(np.dot(flow, cost))
        gaps.append((total - float(np.dot(target, cost))) / total if total > 0 else 0.0)
        if gaps[-1] <= gap_target:
            break
        if algorithm == "frank-wolfe":
            direction, kind = target, "fw"
            last_step = _line_search(flow, target, solved, alpha, beta)
        else:
            history = (last, before_last, last_step, next_kind)
            direction, kind, last_step = _bfw_step(solved, flow, target, cost, history, done, alpha, beta)
        flow = flow + last_step * (direction - flow)
        before_last, last = last, direction
        next_kind = "cfw" if kind == "fw" else "bfw"
    if reduction is not None:
        flow = reduction.expand(flow)
    time = bpr_time(network.free_time_s, flow, network.capacity_veh_h, alpha, beta)
    return Assignment(flow, time, tuple(gaps), done, float(unreached))


# ---------------------------------------------------------------------------------------------
# Gravity distribution
# ---------------------------------------------------------------------------------------------


def furness(
    productions: np.ndarray,
    attractions: np.ndarray,
    seed: np.ndarray,
    tolerance: float = 1e-9,
    max_iterations: int = 500,
) -> np.ndarray:
    """Doubly constrained matrix: ``seed`` scaled by row and column factors (iterative proportional
    fitting) until its row sums are ``productions`` and its column sums ``attractions``.

    Attractions are first scaled to the productions' total. Rows or columns whose seed is all zero
    stay zero.
    """
    rows_target = np.asarray(productions, dtype=float)
    cols_target = np.asarray(attractions, dtype=float)
    if cols_target.sum() > 0:
        cols_target = cols_target * rows_target.sum() / cols_target.sum()
    matrix = np.array(seed, dtype=float)
    for _ in range(max_iterations):
        row_sums = matrix.sum(axis=1)
        matrix *= np.divide(rows_target, row_sums, out=np.zeros_like(row_sums), where=row_sums > 0)[:, None]
        col_sums = matrix.sum(axis=0)
        matrix *= np.divide(cols_target, col_sums, out=np.zeros_like(col_sums), where=col_sums > 0)[None, :]
        if np.abs(matrix.sum(axis=1) - rows_target).max() <= tolerance * max(1.0, rows_target.max()):
            break
    return matrix


def gravity(
    productions: np.ndarray, attractions: np.ndarray, time_min: np.ndarray, beta_per_min: float
) -> np.ndarray:
    """Doubly constrained gravity model with deterrence exp(-beta * t); t in minutes (inf = no trips)."""
    reachable = np.isfinite(time_min)
    deterrence = np.zeros(time_min.shape)
    deterrence[reachable] = np.exp(-beta_per_min * time_min[reachable])
    return furness(productions, attractions, deterrence)


# ---------------------------------------------------------------------------------------------
# Zones, gateways and the assignment network of a city state
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Zones:
    """City zones (buurten) then gateways; daily trip totals; connectors to graph nodes."""

    labels: list[str]
    is_gateway: np.ndarray
    road_class: list[str]
    x: np.ndarray
    y: np.ndarray
    productions_day: np.ndarray
    attractions_day: np.ndarray
    through_in_day: np.ndarray
    through_out_day: np.ndarray
    source_zone: np.ndarray
    source_node: np.ndarray
    sink_zone: np.ndarray
    sink_node: np.ndarray
    connector_time_s: tuple[np.ndarray, np.ndarray]


def building_trip_ends(buildings: pd.DataFrame, params: TrafficParams) -> pd.Series:
    """Daily car trip ends (produced + attracted) of each building (index ``building_id``)."""
    dwellings = buildings["dwellings_est"].fillna(0.0).to_numpy(dtype=float)
    floor = buildings["nonresidential_floor_m2"].fillna(0.0).to_numpy(dtype=float)
    parking_factor = np.ones(len(buildings))
    if "parking_per_dwelling" in buildings.columns:
        norm = pd.to_numeric(buildings["parking_per_dwelling"], errors="coerce").to_numpy(dtype=float)
        has_norm = np.isfinite(norm)
        parking_factor[has_norm] = norm[has_norm] / params.reference_parking_per_dwelling
    trip_ends = (
        dwellings * params.trip_ends_per_dwelling * parking_factor
        + floor / 100.0 * params.trip_ends_per_100m2_nonresidential
    )
    return pd.Series(trip_ends, index=buildings.index, name="car_trip_ends_day")


def _access_node_mask(
    graph: RoadGraph, roads: pd.DataFrame, in_main: np.ndarray, classes: tuple[str, ...]
) -> np.ndarray:
    """Mask of the graph nodes in ``in_main`` that touch a link of one of ``classes``."""
    is_access = roads["road_class"].isin(list(classes)).to_numpy()[graph.arc_link]
    mask = np.zeros(graph.n_nodes, dtype=bool)
    mask[graph.arc_from[is_access]] = True
    mask[graph.arc_to[is_access]] = True
    return mask & in_main


def _city_zones(
    city: CityState, graph: RoadGraph, node_xy: np.ndarray, in_main: np.ndarray, params: TrafficParams
) -> pd.DataFrame:
    """Per buurt with trips: trip ends, weighted centroid; and its connectors (zone, node, weight)."""
    buildings = city.buildings
    trip_ends = building_trip_ends(buildings, params).to_numpy()
    active = trip_ends > 0
    x, y = building_centroids(buildings)
    bx, by = x[active], y[active]
    weight = trip_ends[active]
    bu_code = buildings["bu_code"].to_numpy()[active]
    candidates = np.flatnonzero(_access_node_mask(graph, city.roads, in_main, params.access_road_classes))
    _, nearest = cKDTree(node_xy[candidates]).query(np.column_stack([bx, by]))
    frame = pd.DataFrame({"bu_code": bu_code, "node": candidates[nearest], "w": weight, "wx": weight * bx})
    frame["wy"] = weight * by
    return frame


def _gateways(
    graph: RoadGraph,
    roads: pd.DataFrame,
    node_xy: np.ndarray,
    boundary: shapely.Geometry,
    params: TrafficParams,
) -> pd.DataFrame:
    """Gateway link ends: one row per (gateway, node) with class, entry/exit flags."""
    link_class = roads["road_class"].to_numpy()[graph.arc_link]
    in_degree = np.bincount(graph.arc_to, minlength=graph.n_nodes)
    out_degree = np.bincount(graph.arc_from, minlength=graph.n_nodes)
    low, high = np.minimum(graph.arc_from, graph.arc_to), np.maximum(graph.arc_from, graph.arc_to)
    pairs = np.unique(low * graph.n_nodes + high)
    neighbours = np.bincount(
        np.concatenate([pairs // graph.n_nodes, pairs % graph.n_nodes]), minlength=graph.n_nodes
    )
    is_end = (in_degree == 0) | (out_degree == 0) | (neighbours == 1)
    rows = []
    outline = shapely.boundary(boundary)
    for rank, road_class in enumerate(params.gateway_road_classes):
        arcs = link_class == road_class
        nodes = np.unique(np.concatenate([graph.arc_from[arcs], graph.arc_to[arcs]]))
        nodes = nodes[is_end[nodes]]
        if nodes.size == 0:
            continue
        points = shapely.points(node_xy[nodes])
        near = (shapely.distance(outline, points) <= params.gateway_boundary_tolerance_m) | ~shapely.contains(
            boundary, points
        )
        nodes = nodes[near]
        if nodes.size == 0:
            continue
        close = cKDTree(node_xy[nodes]).query_pairs(params.gateway_merge_distance_m, output_type="ndarray")
        adjacency = sp.coo_matrix((np.ones(len(close)), (close[:, 0], close[:, 1])), shape=(nodes.size,) * 2)
        _, group = connected_components(adjacency, directed=False)
        for node, member in zip(nodes, group, strict=True):
            rows.append(
                (
                    f"gateway-{rank}{member:02d}-{road_class}",
                    road_class,
                    node,
                    out_degree[node] > 0,
                    in_degree[node] > 0,
                )
            )
    return pd.DataFrame(rows, columns=["gateway", "road_class", "node", "entry", "exit"])


def _zone_system(
    city: CityState, graph: RoadGraph, node_xy: np.ndarray, in_main: np.ndarray, params: TrafficParams
) -> _Zones:
    snapped = _city_zones(city, graph, node_xy, in_main, params)
    per_zone = snapped.groupby("bu_code", sort=True)[["w", "wx", "wy"]].sum()
    per_zone = per_zone[per_zone["w"] > 0]
    zone_x = (per_zone["wx"] / per_zone["w"]).to_numpy()
    zone_y = (per_zone["wy"] / per_zone["w"]).to_numpy()
    zone_of_code = pd.Series(np.arange(len(per_zone)), index=per_zone.index)
    by_node = snapped.groupby(["bu_code", "node"], sort=False)["w"].sum().reset_index()
    by_node = by_node.sort_values(["bu_code", "w"], ascending=[True, False])
    by_node = by_node.groupby("bu_code", sort=False).head(params.access_nodes_per_zone)
    city_zone = zone_of_code.loc[by_node["bu_code"]].to_numpy()
    city_node = by_node["node"].to_numpy(dtype=np.int64)
    distance = np.hypot(node_xy[city_node, 0] - zone_x[city_zone], node_xy[city_node, 1] - zone_y[city_zone])
    city_time = np.maximum(distance, 1.0) / (params.connector_speed_kmh / 3.6)

    gateway_nodes = _gateways(graph, city.roads, node_xy, city.municipality, params)
    names = list(dict.fromkeys(gateway_nodes["gateway"]))
    n_city = len(per_zone)
    gateway_index = {name: n_city + k for k, name in enumerate(names)}
    gateway_zone = gateway_nodes["gateway"].map(gateway_index).to_numpy(dtype=np.int64)
    gateway_class = gateway_nodes.groupby("gateway", sort=False)["road_class"].first().loc[names].to_list()
    has_entry = gateway_nodes.groupby("gateway", sort=False)["entry"].any().loc[names].to_numpy()
    has_exit = gateway_nodes.groupby("gateway", sort=False)["exit"].any().loc[names].to_numpy()
    gateway_node = gateway_nodes["node"].to_numpy(dtype=np.int64)
    gateway_xy = gateway_nodes.assign(x=node_xy[gateway_node, 0], y=node_xy[gateway_node, 1])
    gateway_xy = gateway_xy.groupby("gateway", sort=False)[["x", "y"]].mean().loc[names]

    volume = np.array([params.gateway_volume_veh_day.get(c, 0.0) for c in gateway_class])
    through = np.array([params.gateway_through_share.get(c, 0.0) for c in gateway_class])
    inbound, outbound = volume / 2 * has_entry, volume / 2 * has_exit
    half_ends = per_zone["w"].to_numpy() / 2
    is_entry, is_exit = gateway_nodes["entry"].to_numpy(), gateway_nodes["exit"].to_numpy()
    gateway_time = np.ones(len(gateway_nodes))
    return _Zones(
        labels=[*per_zone.index, *names],
        is_gateway=np.r_[np.zeros(n_city, bool), np.ones(len(names), bool)],
        road_class=[""] * n_city + gateway_class,
        x=np.r_[zone_x, gateway_xy["x"].to_numpy()],
        y=np.r_[zone_y, gateway_xy["y"].to_numpy()],
        productions_day=np.r_[half_ends, inbound * (1 - through)],
        attractions_day=np.r_[half_ends, outbound * (1 - through)],
        through_in_day=np.r_[np.zeros(n_city), inbound * through],
        through_out_day=np.r_[np.zeros(n_city), outbound * through],
        source_zone=np.r_[city_zone, gateway_zone[is_entry]],
        source_node=np.r_[city_node, gateway_node[is_entry]],
        sink_zone=np.r_[city_zone, gateway_zone[is_exit]],
        sink_node=np.r_[city_node, gateway_node[is_exit]],
        connector_time_s=(np.r_[city_time, gateway_time[is_entry]], np.r_[city_time, gateway_time[is_exit]]),
    )


def _assignment_network(
    graph: RoadGraph, roads: pd.DataFrame, zones: _Zones, params: TrafficParams
) -> AssignmentNetwork:
    """Road arcs first (same order as ``graph``), then connectors; zone z has a source node
    n + z (connectors out) and a sink node n + Z + z (connectors in), so no path runs through a zone."""
    n, n_zones = graph.n_nodes, len(zones.labels)
    free_time = graph.link_values(roads, "travel_time_s")
    fallback = (
        graph.link_values(roads, "length_m") / np.maximum(graph.link_values(roads, "free_speed_kmh"), 1) * 3.6
    )
    free_time = np.where(np.isfinite(free_time) & (free_time > 0), free_time, fallback)
    capacity = graph.link_values(roads, "capacity_veh_per_h")
    capacity = np.where(np.isfinite(capacity) & (capacity > 0), capacity, params.fallback_capacity_veh_per_h)
    out_time, in_time = zones.connector_time_s
    n_connectors = zones.source_zone.size + zones.sink_zone.size
    return AssignmentNetwork(
        arc_from=np.r_[graph.arc_from, n + zones.source_zone, zones.sink_node].astype(np.int64),
        arc_to=np.r_[graph.arc_to, zones.source_node, n + n_zones + zones.sink_zone].astype(np.int64),
        free_time_s=np.r_[free_time, out_time, in_time],
        capacity_veh_h=np.r_[capacity, np.full(n_connectors, CONNECTOR_CAPACITY_VEH_H)],
        n_nodes=n + 2 * n_zones,
        origin_nodes=n + np.arange(n_zones, dtype=np.int64),
        destination_nodes=n + n_zones + np.arange(n_zones, dtype=np.int64),
    )


def _daily_od(
    zones: _Zones, free_time_s: np.ndarray, trip_reduction: pd.Series, params: TrafficParams
) -> np.ndarray:
    """Daily OD matrix (trips/day): gravity over city zones and gateways plus through traffic."""
    time_min = free_time_s / 60.0
    city = ~zones.is_gateway
    city_block = np.where(city[:, None] & city[None, :], time_min, np.inf)
    np.fill_diagonal(city_block, np.inf)
    nearest = city_block.min(axis=1)
    intrazonal = np.where(city & np.isfinite(nearest), nearest / 2, np.inf)
    time_min = time_min.copy()
    np.fill_diagonal(time_min, intrazonal)
    both_gateways = zones.is_gateway[:, None] & zones.is_gateway[None, :]
    time_min[both_gateways] = np.inf
    od = gravity(zones.productions_day, zones.attractions_day, time_min, params.deterrence_per_minute)

    spacing = np.hypot(zones.x[:, None] - zones.x[None, :], zones.y[:, None] - zones.y[None, :])
    through_pair = (
        both_gateways & (spacing >= params.gateway_through_min_distance_m) & np.isfinite(free_time_s)
    )
    od += furness(zones.through_in_day, zones.through_out_day, through_pair.astype(float))

    reduction = trip_reduction.reindex(zones.labels).fillna(0.0).clip(0.0, 1.0).to_numpy(dtype=float)
    keep = 1.0 - reduction
    return od * keep[:, None] * keep[None, :]


# ---------------------------------------------------------------------------------------------
# From arc flows to link and buurt indicators
# ---------------------------------------------------------------------------------------------


def _per_link(values: np.ndarray, graph: RoadGraph, forward: bool, n_links: int) -> np.ndarray:
    arcs = graph.arc_forward == forward
    return np.bincount(graph.arc_link[arcs], weights=values[arcs], minlength=n_links)


def _link_buurt_shares(roads: pd.DataFrame, rows: np.ndarray, buurten: pd.DataFrame) -> pd.DataFrame:
    """Share of each link's length in each buurt it crosses (rows = positions in ``roads``)."""
    lines = roads.geometry.to_numpy()[rows]
    polygons = buurten.geometry.to_numpy()
    line_index, buurt_index = shapely.STRtree(polygons).query(lines, predicate="intersects")
    crossings = np.bincount(line_index, minlength=rows.size)
    share = np.ones(line_index.size)
    split = crossings[line_index] > 1
    lengths = shapely.length(lines[line_index[split]])
    inside = shapely.length(shapely.intersection(lines[line_index[split]], polygons[buurt_index[split]]))
    share[split] = np.divide(inside, lengths, out=np.zeros_like(inside), where=lengths > 0)
    return pd.DataFrame(
        {"row": rows[line_index], "bu_code": buurten.index.to_numpy()[buurt_index], "share": share}
    )


def _class_share(road_class: pd.Series, shares: Mapping[str, float]) -> np.ndarray:
    return road_class.map(dict(shares)).fillna(0.0).to_numpy(dtype=float)


def _link_indicators(
    roads: pd.DataFrame,
    graph: RoadGraph,
    network: AssignmentNetwork,
    peak_flow: np.ndarray,
    params: TrafficParams,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indicators per road link from the peak-hour flow per road arc; and volumes and vehicle-hours
    per link direction.

    Daily volume = peak / peak_hour_share. A share ``w`` = peak_hours_per_day x peak_hour_share of
    the day's vehicles drive at the loaded (BPR) time, the rest at free flow; of those ``w``, the
    part (V/C - onset) / (full - onset), clipped to 0-1, drives in congestion.
    """
    free_time = network.free_time_s[: graph.n_arcs]
    capacity = network.capacity_veh_h[: graph.n_arcs]
    daily = peak_flow / params.peak_hour_share
    peak_weight = min(1.0, params.peak_hours_per_day * params.peak_hour_share)
    loaded_time = bpr_time(free_time, peak_flow, capacity, params.bpr_alpha, params.bpr_beta)
    mean_time = peak_weight * loaded_time + (1.0 - peak_weight) * free_time
    vc = peak_flow / capacity
    onset, full = params.congestion_vc_onset, params.congestion_vc_full
    jammed = peak_weight * np.clip((vc - onset) / max(full - onset, 1e-9), 0.0, 1.0)

    n_links = len(roads)

    def both_directions(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _per_link(values, graph, True, n_links), _per_link(values, graph, False, n_links)

    forward, backward = both_directions(daily)
    total = forward + backward
    hours_s = sum(both_directions(daily * mean_time))
    jam_volume = sum(both_directions(daily * jammed))
    vc_peak = np.zeros(n_links)
    np.maximum.at(vc_peak, graph.arc_link, vc)
    free_link_time = np.zeros(n_links)
    free_link_time[graph.arc_link] = free_time
    link_time = np.divide(hours_s, total, out=free_link_time, where=total > 0)
    length_m = roads["length_m"].to_numpy(dtype=float)
    medium = total * _class_share(roads["road_class"], params.medium_truck_share)
    heavy = total * _class_share(roads["road_class"], params.heavy_truck_share)
    links = pd.DataFrame(
        {
            "light_veh_day": total - medium - heavy,
            "medium_veh_day": medium,
            "heavy_veh_day": heavy,
            "total_veh_day": total,
            "vc_peak": vc_peak,
            "speed_kmh": np.divide(length_m * 3.6, link_time, out=np.zeros(n_links), where=link_time > 0),
            "congestion_share": np.divide(jam_volume, total, out=np.zeros(n_links), where=total > 0),
        },
        index=roads.index,
    )
    directions = pd.DataFrame(
        {"forward_veh_day": forward, "backward_veh_day": backward, "vehicle_hours_day": hours_s / 3600.0},
        index=roads.index,
    )
    return links, directions


def _buurt_indicators(
    city: CityState, links: pd.DataFrame, zones: _Zones, od_day: np.ndarray
) -> pd.DataFrame:
    """Car trips (produced + attracted) and vehicle-km on the links inside each buurt."""
    vehicle_km = links["total_veh_day"].to_numpy() * city.roads["length_m"].to_numpy(dtype=float) / 1000.0
    shares = _link_buurt_shares(city.roads, np.flatnonzero(vehicle_km > 0), city.buurten)
    buurt_vkm = (shares["share"] * vehicle_km[shares["row"]]).groupby(shares["bu_code"]).sum()
    is_city = ~zones.is_gateway
    trips = od_day.sum(axis=1) + od_day.sum(axis=0)
    zone_trips = pd.Series(trips[is_city], index=np.array(zones.labels, dtype=object)[is_city])
    return pd.DataFrame(
        {
            "car_trips_day": zone_trips.reindex(city.buurten.index).fillna(0.0),
            "vehicle_km_day": buurt_vkm.reindex(city.buurten.index).fillna(0.0),
        },
        index=city.buurten.index,
    )


def _city_indicators(
    roads: pd.DataFrame, links: pd.DataFrame, directions: pd.DataFrame, zones: _Zones, od_day: np.ndarray
) -> dict[str, float]:
    length_km = roads["length_m"].to_numpy(dtype=float) / 1000.0
    vehicle_km = float((links["total_veh_day"] * length_km).sum())
    vehicle_hours = float(directions["vehicle_hours_day"].sum())
    is_city = ~zones.is_gateway
    touches_city = is_city[:, None] | is_city[None, :]
    congested_km = float((links["congestion_share"] * links["total_veh_day"] * length_km).sum())
    return {
        "car_trips_day": float(od_day[touches_city].sum()),
        "through_trips_day": float(od_day[~touches_city].sum()),
        "vehicle_km_day": vehicle_km,
        "vehicle_hours_day": vehicle_hours,
        "mean_speed_kmh": vehicle_km / vehicle_hours if vehicle_hours > 0 else 0.0,
        "congested_vehicle_km_share": congested_km / vehicle_km if vehicle_km > 0 else 0.0,
        "heavy_vehicle_km_day": float((links["heavy_veh_day"] * length_km).sum()),
    }


def _zone_frame(zones: _Zones) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": np.where(zones.is_gateway, "gateway", "buurt"),
            "road_class": zones.road_class,
            "x": zones.x,
            "y": zones.y,
            "productions_day": zones.productions_day,
            "attractions_day": zones.attractions_day,
            "through_in_day": zones.through_in_day,
            "through_out_day": zones.through_out_day,
        },
        index=pd.Index(zones.labels, name="zone"),
    )


def run(city: CityState, upstream: Mapping[str, ModelResult], params: TrafficParams) -> ModelResult:
    """Car traffic of one city state: daily volumes per link, trips and vehicle-km per buurt.

    ``data`` holds what downstream models and the benchmark may need: the daily OD matrix
    (``od_day``, trips/day, zones x zones), the zones and their connectors, per-direction
    volumes (``link_directions``), the assignment network with its peak OD matrix (veh/h) and arc
    flows, and the convergence record.
    """
    roads = city.roads
    graph = road_graph(roads, "car")
    node_xy = node_coordinates(graph, city.road_nodes)
    zones = _zone_system(city, graph, node_xy, largest_strong_component(graph), params)
    network = _assignment_network(graph, roads, zones, params)
    reduction = reduce_network(network, params.bpr_beta)
    free_times = shortest_path_times(reduction.network, reduction.network.free_time_s, reduce=False)
    od_day = _daily_od(zones, free_times, city.trip_reduction, params)
    peak_od = od_day * params.peak_hour_share
    result = assign(
        reduction.network,
        peak_od,
        iterations=params.assignment_iterations,
        alpha=params.bpr_alpha,
        beta=params.bpr_beta,
        gap_target=params.assignment_gap_target,
        algorithm=params.assignment_algorithm,
        reduce=False,
    )
    arc_flow = reduction.expand(result.flow_veh_h)
    links, directions = _link_indicators(roads, graph, network, arc_flow[: graph.n_arcs], params)
    zone_frame = _zone_frame(zones)
    connector_zone = np.r_[zones.source_zone, zones.sink_zone]
    data = {
        "od_day": pd.DataFrame(od_day, index=zone_frame.index, columns=zone_frame.index),
        "zones": zone_frame,
        "zone_connectors": pd.DataFrame(
            {
                "zone": zone_frame.index.to_numpy()[connector_zone],
                "node_id": graph.node_ids[np.r_[zones.source_node, zones.sink_node]],
                "direction": ["out"] * zones.source_zone.size + ["in"] * zones.sink_zone.size,
            }
        ),
        "link_directions": directions,
        "network": network,
        "peak_od_veh_h": peak_od,
        "peak_arc_flow_veh_h": arc_flow,
        "assignment_relative_gaps": result.relative_gaps,
        "assignment_iterations": result.iterations,
        "unassigned_veh_h": result.unassigned_veh_h,
    }
    return ModelResult(
        city=_city_indicators(roads, links, directions, zones, od_day),
        buurt=_buurt_indicators(city, links, zones, od_day),
        objects={"roads": links},
        data=data,
    )


# ---------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------

_ROADS: tuple[Level, ...] = ("roads",)
_CITY: tuple[Level, ...] = ("city",)
_CITY_BUURT: tuple[Level, ...] = ("city", "buurt")
_INDICATOR_ROWS: tuple[tuple[str, str, str, Better, tuple[Level, ...], str], ...] = (
    ("total_veh_day", "Motor vehicles per day", "veh/day", "lower", _ROADS,
     "Average-weekday motor vehicles on the link, both directions summed."),
    ("light_veh_day", "Light vehicles per day", "veh/day", "lower", _ROADS,
     "Cars and vans (SRM light category), both directions."),
    ("medium_veh_day", "Medium trucks per day", "veh/day", "lower", _ROADS,
     "Medium trucks (SRM middelzwaar), both directions."),
    ("heavy_veh_day", "Heavy trucks per day", "veh/day", "lower", _ROADS,
     "Heavy trucks (SRM zwaar), both directions."),
    ("vc_peak", "Peak-hour volume / capacity", "-", "lower", _ROADS,
     "Peak-hour V/C of the busier direction."),
    ("speed_kmh", "Mean loaded speed", "km/h", "neutral", _ROADS,
     "Vehicle-weighted daily mean speed: peak hours at the BPR time, other hours at free flow."),
    ("congestion_share", "Share of traffic in congestion", "share 0-1", "lower", _ROADS,
     "Share of the day's vehicles driving in congestion (SRM1 stagnation factor)."),
    ("car_trips_day", "Car trips per day", "trips/day", "neutral", _CITY_BUURT,
     "Buurt: car trips produced plus attracted. City: trips with at least one end in the city."),
    ("vehicle_km_day", "Vehicle-kilometres per day", "veh-km/day", "lower", _CITY_BUURT,
     "Motor-vehicle kilometres driven on the links inside the area."),
    ("vehicle_hours_day", "Vehicle-hours per day", "veh-h/day", "lower", _CITY,
     "Time spent driving on the municipal network."),
    ("through_trips_day", "Through trips per day", "trips/day", "neutral", _CITY,
     "Trips between two gateways (no end in the city)."),
    ("mean_speed_kmh", "Mean network speed", "km/h", "neutral", _CITY,
     "Vehicle-kilometres divided by vehicle-hours."),
    ("congested_vehicle_km_share", "Vehicle-km in congestion", "share 0-1", "lower", _CITY,
     "Share of the vehicle-kilometres driven in congestion."),
    ("heavy_vehicle_km_day", "Heavy-truck kilometres per day", "veh-km/day", "lower", _CITY,
     "Heavy-truck vehicle-kilometres on the municipal network."),
)  # fmt: skip
INDICATORS = tuple(
    Indicator(name, title, unit, "traffic", better, levels, text)
    for name, title, unit, better, levels, text in _INDICATOR_ROWS
)

INFO = ModelInfo(
    id="traffic",
    version="1.0.0",
    title="Car traffic (four-step light)",
    description="Daily car and truck volumes per road link from dwellings, non-residential floor area "
    "and external traffic at the municipal boundary: gravity distribution and Frank-Wolfe equilibrium.",
    requires=(),
    reads=frozenset({"buildings", "roads", "road_nodes", "buurten", "trip_reduction"}),
    indicators=INDICATORS,
    method="Trip generation per buurt (dwellings, non-residential floor area) and gateways; doubly "
    "constrained gravity with exp(-beta t) on free-flow network times; peak-hour user equilibrium "
    "(bi-conjugate Frank-Wolfe) with BPR link times (alpha 0.15, beta 4); daily = peak / peak-hour "
    "share; truck shares per road class. See docs/models/traffic.md.",
    sources=(
        CROW_381,
        "Bureau of Public Roads (1964), Traffic Assignment Manual (BPR link time)",
        "Ortúzar & Willumsen (2011), Modelling Transport, 4th ed. (gravity model, Furness, equilibrium)",
        "LeBlanc, Morlok & Pierskalla (1975), An efficient approach to solving the road network "
        "equilibrium traffic assignment problem (Frank-Wolfe)",
        "AequilibraE 1.7.2 (reference implementation the assignment is compared with)",
    ),
    limitations=(
        "Trip rates, gateway volumes, through shares and truck shares are assumed, not calibrated "
        "against Dordrecht counts.",
        "One average weekday; the peak hour is the daily matrix times a fixed share (no time-of-day "
        "matrices, no directional peak).",
        "Car trips only: no mode choice, so measures change car trips only through trip_reduction.",
        "Distribution uses free-flow times (no feedback of congestion to destination choice).",
        "Capacities and speeds per road class from the road layer; no junction delays or turn "
        "restrictions; trucks count as one vehicle in the assignment.",
        "Buurten are zones with at most a few connectors: traffic on local streets is coarse.",
    ),
    register=AlgorithmRegisterEntry(
        name="Verkeersmodel auto (Tweeling)",
        description_short="Rekent uit hoeveel auto's en vrachtwagens er op een gemiddelde werkdag over "
        "elke weg in Dordrecht rijden, en hoe dat verandert door nieuwe woningen, afgesloten wegen, "
        "autovrije gebieden of maatregelen die autoritten verminderen.",
        theme="Verkeer",
        purpose_and_impact="Het model geeft een schatting van verkeersdrukte per weg en per buurt, "
        "zodat de gemeente de gevolgen van plannen (woningbouw, afsluitingen, snelheidsverlaging) kan "
        "verkennen. De uitkomsten zijn ook invoer voor de modellen voor luchtkwaliteit en geluid. Het "
        "is een verkennend hulpmiddel: het vervangt geen officieel verkeersmodel of tellingen.",
        considerations="Een eenvoudig, open model is uitlegbaar en snel genoeg om varianten te vergelijken. "
        "De kengetallen (ritten per woning, verkeer op de snelweg) zijn aannames; daardoor zijn de "
        "absolute aantallen onzeker en zijn verschillen tussen varianten betrouwbaarder dan de "
        "getallen zelf.",
        human_intervention="Verkeerskundigen beoordelen de uitkomsten en vergelijken ze met tellingen "
        "voordat ze in een besluit worden gebruikt. Het model neemt zelf geen besluiten.",
        risk_management="Alle kengetallen staan met bron of als 'aanname' in de documentatie en zijn "
        "aan te passen. De toedeling is vergeleken met AequilibraE op hetzelfde netwerk; tests bewaken "
        "de uitkomsten op Dordrecht.",
        data="Gebouwen (BAG, geschatte woningen en bedrijfsvloeroppervlak), wegennet (OpenStreetMap), "
        "CBS-buurtgrenzen. Geen persoonsgegevens.",
        technical_operation="Vier-stappenmodel: ritten per buurt uit woningen en bedrijfsvloeroppervlak, "
        "plus doorgaand en in- en uitgaand verkeer op de gemeentegrens; verdeling over bestemmingen met "
        "een zwaartekrachtmodel naar reistijd; toedeling aan het wegennet met een evenwichtsmethode "
        "(bi-geconjugeerde Frank-Wolfe) waarin drukke wegen trager worden (BPR-functie); verdeling "
        "over licht, middelzwaar en zwaar verkeer per wegtype. Het model is niet zelflerend.",
        legal_basis=(
            "Geen aparte wettelijke grondslag nodig: het model ondersteunt de voorbereiding van "
            "plannen, neemt geen besluiten en verwerkt geen persoonsgegevens. Kader: de taken van de "
            "gemeente als wegbeheerder en onder de Omgevingswet."
        ),
        legal_basis_title="Omgevingswet",
        legal_basis_link="https://wetten.overheid.nl/BWBR0037885",
        link="https://github.com/tweeling/tweeling/blob/main/docs/models/traffic.md",
        source_code_link="https://github.com/tweeling/tweeling/blob/main/src/tweeling/scenarios/impacts/traffic.py",
    ),
)

MODEL = ImpactModel(info=INFO, params_type=TrafficParams, run=run)
