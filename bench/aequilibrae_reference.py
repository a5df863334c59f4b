"""The same assignment problem solved by AequilibraE 1.7.2, the reference the traffic model is checked
against (tests/scenarios/test_traffic.py and bench/traffic_benchmark.py both use this module).

:func:`aequilibrae_assign` takes a :class:`tweeling.scenarios.impacts.traffic.AssignmentNetwork`
and an OD matrix exactly as :func:`tweeling.scenarios.impacts.traffic.assign` does and builds
AequilibraE's inputs from them: one network link per arc (``direction`` 1, so one-way as given),
``capacity`` and ``free_flow_time`` per arc, centroids = the network's origin and destination
nodes, BPR with the same alpha and beta. Everything stays in memory (no project folder).
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tweeling.scenarios.impacts.traffic import AssignmentNetwork

os.environ.setdefault("AEQ_SHOW_PROGRESS", "FALSE")


@dataclass(frozen=True)
class ReferenceAssignment:
    """AequilibraE's flow per arc (veh/h), its convergence report and its wall times (s)."""

    flow_veh_h: np.ndarray
    convergence: pd.DataFrame
    prepare_s: float
    assign_s: float


def aequilibrae_assign(
    network: AssignmentNetwork,
    od_veh_h: np.ndarray,
    iterations: int,
    algorithm: str = "frank-wolfe",
    alpha: float = 0.15,
    beta: float = 4.0,
    cores: int = 1,
) -> ReferenceAssignment:
    """Assign ``od_veh_h`` (rows: ``network.origin_nodes``, columns: ``network.destination_nodes``)
    with AequilibraE's ``TrafficAssignment`` for exactly ``iterations`` iterations (one core by
    default, as our assignment uses one)."""
    import aequilibrae.paths  # noqa: F401  (configures its logger on import; quieted below)

    logger = logging.getLogger("aequilibrae")
    level = logger.level
    # It logs an error when the (unreachable) gap target is not met after max_iter: expected here.
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            # AequilibraE 1.7.2 uses pandas APIs that newer pandas deprecates; not ours to fix.
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            return _assign(network, od_veh_h, iterations, algorithm, alpha, beta, cores)
    finally:
        logger.setLevel(level)


def _assign(
    network: AssignmentNetwork,
    od_veh_h: np.ndarray,
    iterations: int,
    algorithm: str,
    alpha: float,
    beta: float,
    cores: int,
) -> ReferenceAssignment:
    from aequilibrae.matrix import AequilibraeMatrix
    from aequilibrae.paths import Graph, TrafficAssignment, TrafficClass

    started = time.perf_counter()
    n_arcs = network.arc_from.size
    links = pd.DataFrame(
        {
            "link_id": np.arange(1, n_arcs + 1, dtype=np.int64),
            "a_node": network.arc_from.astype(np.int64) + 1,
            "b_node": network.arc_to.astype(np.int64) + 1,
            "direction": np.ones(n_arcs, dtype=np.int8),
            "capacity": network.capacity_veh_h.astype(float),
            "free_flow_time": network.free_time_s.astype(float),
        }
    )
    centroids = (
        np.unique(np.concatenate([network.origin_nodes, network.destination_nodes])).astype(np.int64) + 1
    )
    graph = Graph()
    graph.network = links
    graph.prepare_graph(centroids)
    graph.set_graph("free_flow_time")
    graph.set_skimming([])
    graph.set_blocked_centroid_flows(False)

    position = {node: k for k, node in enumerate(centroids.tolist())}
    rows = np.array([position[node + 1] for node in network.origin_nodes.tolist()])
    cols = np.array([position[node + 1] for node in network.destination_nodes.tolist()])
    demand = np.zeros((centroids.size, centroids.size))
    np.add.at(demand, (rows[:, None], cols[None, :]), np.asarray(od_veh_h, dtype=float))
    matrix = AequilibraeMatrix()
    matrix.create_empty(zones=centroids.size, matrix_names=["demand"], memory_only=True)
    matrix.index[:] = centroids
    matrix.matrices[:, :, 0] = demand
    matrix.computational_view(["demand"])

    assignment = TrafficAssignment()
    assignment.set_classes([TrafficClass("car", graph, matrix)])
    assignment.set_vdf("BPR")
    assignment.set_vdf_parameters({"alpha": alpha, "beta": beta})
    assignment.set_capacity_field("capacity")
    assignment.set_time_field("free_flow_time")
    assignment.set_algorithm(algorithm)
    assignment.set_cores(cores)
    assignment.max_iter = iterations
    assignment.rgap_target = 1e-12
    prepared = time.perf_counter()
    assignment.execute(log_specification=False)
    finished = time.perf_counter()

    loads = assignment.results()["PCE_AB"].reindex(links["link_id"]).fillna(0.0).to_numpy(dtype=float)
    return ReferenceAssignment(
        flow_veh_h=loads,
        convergence=pd.DataFrame(assignment.assignment.convergence_report),
        prepare_s=prepared - started,
        assign_s=finished - prepared,
    )


def r_squared(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Coefficient of determination of ``candidate`` against ``reference`` (1 = identical)."""
    residual = float(np.sum((reference - candidate) ** 2))
    spread = float(np.sum((reference - reference.mean()) ** 2))
    return 1.0 - residual / spread if spread > 0 else float(residual == 0)
