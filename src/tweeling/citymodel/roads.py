"""The road network of the city as a routable graph (nodes and edges).

Input is the OpenStreetMap ``transportation`` layer as decoded from OpenMapTiles z14
vector tiles (``osm_transportation.parquet``: LineStrings in EPSG:28992, metres, with the
columns ``class``, ``service``, ``oneway``, ``brunnel``). The tiles clipped every way at
the tile borders, quantised coordinates to a grid of 4096 cells per tile (about 0.37 m in
Dordrecht) and merged ways with equal attributes into long lines, so one line may pass
through many junctions. A junction is a vertex that several lines share.

Method (:func:`build_road_graph`, a pure function, no I/O):

1. Keep the routable classes (the keys of ``road_classes``) and split multi-part lines.
   ``oneway`` ``1``/``yes``/``true`` makes the line one-way in its drawing direction,
   ``-1``/``reverse`` one-way against it (the geometry is then reversed so that a one-way
   edge always allows ``from_node -> to_node`` only).
2. *T-junctions*: a line end that lies within ``snap_tolerance_m`` of the interior of
   another line gets a vertex inserted into that line at its nearest point.
3. *Snapping*: vertices closer than ``snap_tolerance_m`` are put into one cluster
   (``scipy.spatial.cKDTree`` pairs, then connected components = union-find), but only if
   one of the two is a line end or an inserted T-junction vertex; two interior vertices
   join only when they coincide (within 1 mm, the precision of the stored coordinates).
   Crossing lines without a shared vertex thus stay unconnected, and a line does not
   collapse where two of its own vertices are one grid step apart.
   *Grade separation*: in steps 2 and 3 nothing joins the interior of a bridge or tunnel
   line from another level (``brunnel`` differs); roads meet bridges and tunnels at their
   ends, or where the data shares a vertex. Without this rule a junction of secondary and
   tertiary roads lying 0.1-0.3 m from a motorway tunnel line was snapped into the tunnel.
4. A cluster becomes a node when it holds a line end, is used by more than one line, or
   is visited twice by the same line. Lines are split at nodes; every piece is an edge
   whose end coordinates are moved onto its nodes (the mean of the cluster's vertices).
   Edges of zero length (at most 1 mm) are dropped.
5. Undirected connected components (``scipy.sparse.csgraph.connected_components``) are
   numbered by road length, 0 being the largest.

Snap tolerance: the default, 0.6 m, covers one step of the tile grid along an axis
(0.37 m) or the diagonal (0.52 m), the offsets measured between line ends that should meet
in the shipped data, and stays well below the usual spacing of distinct vertices (median
nearest-other-vertex distance about 8 m). Junctions in the shipped file nearly always share
an exact vertex: with exact matching only, 97.70 % of the routable length is in the largest
component (123 components); the 0.6 m tolerance and T-junctions join the few line ends the
tiles left apart (97.71 %, 120 components, 19,100 edges, 13,532 nodes, 1,119 km). Larger
tolerances barely help (2 m: 97.75 %), because the remaining components are separate in the
data itself: jetties of marinas without a mapped quay path, path networks in the Biesbosch
reached by water or by ways outside the extract, ferry lines whose landing has no mapped
way, tracks cut off at the edge of the extract, and a few gaps of several metres.

Parameters per road class (:class:`RoadClassParams`, all *assumed*, typical Dutch values,
configurable through ``road_classes``/:func:`road_classes_from_mapping`):

* ``free_speed_kmh`` (km/h): free-flow speed of the fastest mode allowed on the class:
  the legal limit for motor roads (motorway 100 since 2020, trunk/autoweg 80, primary 70,
  secondary and tertiary 50 in built-up areas, minor 30 for residential 30 km/h zones,
  service 15), cycling speed for cycle/foot paths and tracks (15), walking speed for piers
  and platforms (5), an assumed 10 km/h for ferries (waiting time is not modelled).
* ``capacity_veh_per_h`` (motor vehicles per hour and direction): order of magnitude of
  Dutch capacity handbooks, about 2000 veh/h per motorway lane and 1500-1800 per lane of
  an urban main road, less where junctions and parked cars slow traffic; 0 for classes
  closed to motor traffic. One value per class: lane counts are not in the tiles.
* ``car``/``bicycle``/``foot`` (bool): which modes may use the class. Tracks are taken as
  closed to cars (mostly agricultural and forestry access), ferries as foot and bicycle
  ferries (the Waterbus and the small ferries of Dordrecht), pedestrian streets as open to
  bicycles (many Dutch shopping streets allow cycling at least outside shop hours).

Not routable: ``rail`` and ``transit`` (no road traffic), ``*_construction`` and
``razed`` (not in use), ``services`` (service areas, not a way), and any other class not
in ``road_classes``.

Limitations: no turn restrictions, no access restrictions below the class level (e.g.
``oneway:bicycle``, ``motor_vehicle=no``, private roads: the tiles do not carry them);
``oneway`` applies to cars only; levels are known only from ``brunnel`` (no ``layer``), so
an at-grade line end within the tolerance of the *end* of a bridge or tunnel it does not
actually meet would be joined to it, and a stair ending a few cm beside the interior of a
pedestrian tunnel is not; snapping is transitive, so a cluster can be wider than the
tolerance where several vertices lie close together (at most 0.53 m from the node in the
shipped data); capacities and speeds are per class, not per street; ferry waiting times,
traffic lights and junction delays are not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from tweeling.citymodel.provenance import OSM_ATTRIBUTION, OSM_LICENCE, OSM_SOURCE
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, LayerSchema, is_identifier

__all__ = [
    "DEFAULT_ROAD_CLASSES",
    "DEFAULT_SNAP_TOLERANCE_M",
    "ROADS_SCHEMA",
    "ROAD_NODES_SCHEMA",
    "ConnectivityReport",
    "RoadClassParams",
    "RoadGraph",
    "build_road_graph",
    "road_classes_from_mapping",
    "to_sparse_graph",
]

DEFAULT_SNAP_TOLERANCE_M = 0.6
"""Vertices (and line ends on other lines) closer than this join one node, in metres."""

COINCIDENT_M = 1e-3
"""Vertices closer than this (m) are the same point: the stored coordinates have mm precision."""

Mode = Literal["car", "bicycle", "foot"]
MODES: tuple[Mode, ...] = ("car", "bicycle", "foot")

_ONEWAY_FORWARD = frozenset({"1", "1.0", "yes", "true"})
_ONEWAY_BACKWARD = frozenset({"-1", "-1.0", "reverse"})

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RoadClassParams:
    """Traffic parameters of one road class.

    ``free_speed_kmh`` in km/h (> 0), ``capacity_veh_per_h`` in motor vehicles per hour and
    direction (>= 0), and the modes allowed on the class.
    """

    free_speed_kmh: float
    capacity_veh_per_h: float
    car: bool
    bicycle: bool
    foot: bool

    def __post_init__(self) -> None:
        problems = _param_problems(
            {
                "free_speed_kmh": self.free_speed_kmh,
                "capacity_veh_per_h": self.capacity_veh_per_h,
                "car": self.car,
                "bicycle": self.bicycle,
                "foot": self.foot,
            }
        )
        if problems:
            raise InvalidInputError(
                "Invalid road class parameters: " + "; ".join(f"{k} {v}" for k, v in problems.items()),
                invalid_params=[{"name": k, "reason": v} for k, v in problems.items()],
            )


def _param_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with each field of a would-be :class:`RoadClassParams` (empty if fine)."""
    problems: dict[str, str] = {}
    for name in ("free_speed_kmh", "capacity_veh_per_h"):
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems[name] = f"must be a finite number, got {value!r}"
        elif name == "free_speed_kmh" and value <= 0:
            problems[name] = f"must be > 0 km/h, got {value!r}"
        elif name == "capacity_veh_per_h" and value < 0:
            problems[name] = f"must be >= 0 veh/h, got {value!r}"
    for name in MODES:
        if not isinstance(values[name], bool | np.bool_):
            problems[name] = f"must be true or false, got {values[name]!r}"
    if not problems and not any(values[name] for name in MODES):
        problems["car"] = "at least one of car, bicycle, foot must be true (or leave the class out)"
    return problems


DEFAULT_ROAD_CLASSES: dict[str, RoadClassParams] = {
    "motorway": RoadClassParams(100.0, 4000.0, car=True, bicycle=False, foot=False),
    "trunk": RoadClassParams(80.0, 3600.0, car=True, bicycle=False, foot=False),
    "primary": RoadClassParams(70.0, 1800.0, car=True, bicycle=True, foot=True),
    "secondary": RoadClassParams(50.0, 1500.0, car=True, bicycle=True, foot=True),
    "tertiary": RoadClassParams(50.0, 900.0, car=True, bicycle=True, foot=True),
    "minor": RoadClassParams(30.0, 600.0, car=True, bicycle=True, foot=True),
    "service": RoadClassParams(15.0, 300.0, car=True, bicycle=True, foot=True),
    "track": RoadClassParams(15.0, 0.0, car=False, bicycle=True, foot=True),
    "path": RoadClassParams(15.0, 0.0, car=False, bicycle=True, foot=True),
    "pedestrian": RoadClassParams(10.0, 0.0, car=False, bicycle=True, foot=True),
    "ferry": RoadClassParams(10.0, 0.0, car=False, bicycle=True, foot=True),
    "pier": RoadClassParams(5.0, 0.0, car=False, bicycle=False, foot=True),
    "platform": RoadClassParams(5.0, 0.0, car=False, bicycle=False, foot=True),
}
"""Routable OpenMapTiles classes and their assumed parameters (see the module docstring)."""


def road_classes_from_mapping(
    data: Mapping[str, Any], *, defaults: Mapping[str, RoadClassParams] = DEFAULT_ROAD_CLASSES
) -> dict[str, RoadClassParams]:
    """Validate plain road-class settings (e.g. loaded from YAML) into :class:`RoadClassParams`.

    ``data`` maps a class name to ``{free_speed_kmh, capacity_veh_per_h, car, bicycle,
    foot}`` (km/h, veh/h per direction, booleans). The result holds exactly the classes of
    ``data``; fields left out of a class that ``defaults`` knows are taken from it, a new
    class must give all of them. Raises :class:`InvalidInputError` listing every problem
    (unknown class name format, unknown or missing keys, bad values).
    """
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"Road classes must be a mapping of class name to parameters, got {data!r}.")
    names = [f.name for f in fields(RoadClassParams)]
    problems: list[dict[str, Any]] = []
    result: dict[str, RoadClassParams] = {}
    for cls, params in data.items():
        if not isinstance(cls, str) or not is_identifier(cls):
            problems.append({"name": str(cls), "reason": "class name must be a lower-case identifier"})
            continue
        if not isinstance(params, Mapping):
            problems.append({"name": cls, "reason": f"parameters must be a mapping, got {params!r}"})
            continue
        unknown = sorted(str(k) for k in params if k not in names)
        if unknown:
            problems.append(
                {"name": cls, "reason": f"unknown keys {unknown}; allowed keys are {', '.join(names)}"}
            )
            continue
        values: dict[str, Any] = asdict(defaults[cls]) if cls in defaults else {}
        values.update(params)
        missing = [k for k in names if k not in values]
        if missing:
            problems.append({"name": cls, "reason": f"missing keys {missing} (a new class needs all keys)"})
            continue
        for key, reason in _param_problems(values).items():
            problems.append({"name": f"{cls}.{key}", "reason": reason})
        if not problems:
            result[cls] = RoadClassParams(**values)
    if problems:
        raise InvalidInputError(
            "Invalid road classes: " + "; ".join(f"{p['name']}: {p['reason']}" for p in problems),
            invalid_params=problems,
        )
    return result


@dataclass(frozen=True)
class ConnectivityReport:
    """How connected the graph is; lengths in metres, share in 0..1."""

    n_nodes: int
    n_edges: int
    n_components: int
    total_length_m: float
    largest_component_length_m: float
    largest_component_length_share: float
    snap_tolerance_m: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of the report."""
        return asdict(self)


@dataclass
class RoadGraph:
    """The road network: ``edges`` (:data:`ROADS_SCHEMA`), ``nodes`` (:data:`ROAD_NODES_SCHEMA`)."""

    edges: gpd.GeoDataFrame
    nodes: gpd.GeoDataFrame
    report: ConnectivityReport


_SOURCE = OSM_SOURCE
_DEFAULT_METHOD = "default per road class, configurable"

ROADS_SCHEMA = LayerSchema(
    name="roads",
    title="Road network (edges)",
    description=(
        "Routable roads, paths and ferries of OpenStreetMap split at junctions: one row per "
        "edge between two nodes of road_nodes."
    ),
    geometry_type="LineString",
    fields=[
        FieldSpec(name="edge_id", type="integer", description="Edge number, 0..n-1.", nullable=False),
        FieldSpec(name="from_node", type="integer", description="node_id of the start.", nullable=False),
        FieldSpec(name="to_node", type="integer", description="node_id of the end.", nullable=False),
        FieldSpec(
            name="road_class",
            type="string",
            description="OpenMapTiles transportation class (motorway ... path, ferry).",
            source=_SOURCE,
            nullable=False,
        ),
        FieldSpec(
            name="service",
            type="string",
            description="Kind of service road (parking_aisle, driveway, ...), if any.",
            source=_SOURCE,
        ),
        FieldSpec(
            name="brunnel", type="string", description="bridge, tunnel or ford, if any.", source=_SOURCE
        ),
        FieldSpec(
            name="oneway",
            type="boolean",
            description="True: cars may only go from from_node to to_node.",
            source=_SOURCE,
            nullable=False,
        ),
        FieldSpec(
            name="length_m",
            type="number",
            description="Length of the geometry, planar in EPSG:28992 (computed, not estimated).",
            unit="m",
            nullable=False,
        ),
        FieldSpec(
            name="free_speed_kmh",
            type="number",
            description="Free-flow speed of the fastest mode allowed on the class.",
            unit="km/h",
            estimated=True,
            method=_DEFAULT_METHOD,
            nullable=False,
        ),
        FieldSpec(
            name="capacity_veh_per_h",
            type="number",
            description="Motor-vehicle capacity per direction (0: closed to motor traffic).",
            unit="veh/h",
            estimated=True,
            method=_DEFAULT_METHOD,
            nullable=False,
        ),
        FieldSpec(
            name="travel_time_s",
            type="number",
            description="Free-flow travel time, length_m / free_speed_kmh.",
            unit="s",
            estimated=True,
            method="length_m / (free_speed_kmh / 3.6)",
            nullable=False,
        ),
        FieldSpec(
            name="car",
            type="boolean",
            description="Cars may use the edge.",
            estimated=True,
            method=_DEFAULT_METHOD,
            nullable=False,
        ),
        FieldSpec(
            name="bicycle",
            type="boolean",
            description="Bicycles may use the edge.",
            estimated=True,
            method=_DEFAULT_METHOD,
            nullable=False,
        ),
        FieldSpec(
            name="foot",
            type="boolean",
            description="Pedestrians may use the edge.",
            estimated=True,
            method=_DEFAULT_METHOD,
            nullable=False,
        ),
        FieldSpec(
            name="component",
            type="integer",
            description="Undirected connected component, 0 = the one with the most road length.",
            nullable=False,
        ),
    ],
    source=_SOURCE,
    licence=OSM_LICENCE,
    attribution=OSM_ATTRIBUTION,
    primary_key="edge_id",
    notes=[
        "Nodes are vertices shared by several lines after snapping within the snap tolerance "
        f"(default {DEFAULT_SNAP_TOLERANCE_M} m); line ends near another line are joined to it.",
        "No turn restrictions; oneway applies to cars only; bridges and tunnels connect only "
        "where the data shares a vertex.",
    ],
)

ROAD_NODES_SCHEMA = LayerSchema(
    name="road_nodes",
    title="Road network (nodes)",
    description="Junctions and dead ends of the road network: the ends of the edges of roads.",
    geometry_type="Point",
    fields=[
        FieldSpec(name="node_id", type="integer", description="Node number, 0..n-1.", nullable=False),
        FieldSpec(
            name="degree",
            type="integer",
            description="Number of edge ends at the node (a self-loop counts twice).",
            nullable=False,
        ),
        FieldSpec(
            name="component",
            type="integer",
            description="Undirected connected component, 0 = the one with the most road length.",
            nullable=False,
        ),
    ],
    source=_SOURCE,
    licence=OSM_LICENCE,
    attribution=OSM_ATTRIBUTION,
    primary_key="node_id",
    notes=["The position is the mean of the line vertices snapped together."],
)


def build_road_graph(
    lines: gpd.GeoDataFrame,
    road_classes: Mapping[str, RoadClassParams] = DEFAULT_ROAD_CLASSES,
    snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M,
) -> RoadGraph:
    """Build the routable road graph from OpenMapTiles ``transportation`` lines.

    ``lines`` needs a ``class`` column and (Multi)LineStrings in a projected CRS in metres
    (EPSG:28992 for the shipped data); ``service``, ``oneway`` and ``brunnel`` are used
    when present. Only classes in ``road_classes`` are kept. ``snap_tolerance_m`` (m, >= 0)
    is the distance within which line ends join other vertices or lines. See the module
    docstring for the method. Raises :class:`InvalidInputError` on unusable input.
    """
    if not isinstance(lines, gpd.GeoDataFrame):
        raise InvalidInputError("Road lines must be a GeoDataFrame.")
    if "class" not in lines.columns:
        raise InvalidInputError("Road lines need a 'class' column (OpenMapTiles transportation class).")
    if not (isinstance(snap_tolerance_m, int | float) and math.isfinite(snap_tolerance_m)) or (
        snap_tolerance_m < 0
    ):
        raise InvalidInputError(f"snap_tolerance_m must be a finite number >= 0, got {snap_tolerance_m!r}.")
    for cls, params in road_classes.items():
        if not isinstance(params, RoadClassParams):
            raise InvalidInputError(f"Road class {cls!r}: parameters must be a RoadClassParams.")
    crs = lines.crs
    if crs is not None:
        crs = CRS.from_user_input(crs)
        if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
            raise InvalidInputError(
                f"Road lines must be in a projected CRS in metres (EPSG:28992), got {crs.to_string()}."
            )
    tol = float(snap_tolerance_m)

    geoms, attrs = _prepare_lines(lines, road_classes)
    if len(geoms) == 0:
        return _empty_graph(crs, tol)

    level = _grade_level(attrs["brunnel"])
    vx, vline, line_end, inserted = _vertices_with_t_junctions(geoms, level, tol)
    cluster = _snap_clusters(vx, line_end, inserted, level[vline], tol)
    n_clusters = int(cluster.max()) + 1
    # Node position: the mean of all vertices of its cluster (before de-duplication).
    csize = np.bincount(cluster, minlength=n_clusters).astype(np.float64)
    cxy = np.column_stack(
        [
            np.bincount(cluster, weights=vx[:, 0], minlength=n_clusters) / csize,
            np.bincount(cluster, weights=vx[:, 1], minlength=n_clusters) / csize,
        ]
    )

    # Drop repeated vertices of a line that fell into one cluster, then lines left with one vertex.
    keep = np.ones(len(vx), dtype=bool)
    keep[1:] = ~((cluster[1:] == cluster[:-1]) & (vline[1:] == vline[:-1]))
    vx, vline, cluster = vx[keep], vline[keep], cluster[keep]
    keep = np.bincount(vline, minlength=len(geoms))[vline] >= 2
    vx, vline, cluster = vx[keep], vline[keep], cluster[keep]
    if len(vx) == 0:
        return _empty_graph(crs, tol)

    first = np.ones(len(vx), dtype=bool)
    first[1:] = vline[1:] != vline[:-1]
    last = np.ones(len(vx), dtype=bool)
    last[:-1] = vline[:-1] != vline[1:]

    # A cluster is a node if it holds a line end, is used by several lines or twice by one line.
    line_pairs = np.unique(np.column_stack([cluster, vline]), axis=0)
    n_lines_at = np.bincount(line_pairs[:, 0], minlength=n_clusters)
    n_visits = np.bincount(cluster, minlength=n_clusters)
    is_node_cluster = (n_lines_at > 1) | (n_visits > n_lines_at)
    is_node_cluster[cluster[first | last]] = True
    is_node = is_node_cluster[cluster]

    # Pieces run from a node vertex to the next node vertex of the same line.
    node_pos = np.flatnonzero(is_node)
    starts = np.flatnonzero(is_node & ~last)
    ends = node_pos[np.searchsorted(node_pos, starts, side="right")]
    counts = ends - starts + 1
    piece_first = np.cumsum(counts) - counts
    piece_of = np.repeat(np.arange(len(starts)), counts)
    vidx = np.repeat(starts - piece_first, counts) + np.arange(int(counts.sum()))
    coords = vx[vidx].copy()
    coords[piece_first] = cxy[cluster[starts]]
    coords[piece_first + counts - 1] = cxy[cluster[ends]]
    piece_geoms = shapely.linestrings(coords, indices=piece_of)
    length = shapely.length(piece_geoms)

    ok = length > COINCIDENT_M
    piece_geoms, length = piece_geoms[ok], length[ok]
    from_c, to_c = cluster[starts][ok], cluster[ends][ok]
    src_line = vline[starts][ok]

    used, inv = np.unique(np.concatenate([from_c, to_c]), return_inverse=True)
    n_edges = len(piece_geoms)
    from_node = inv[:n_edges].astype(np.int64)
    to_node = inv[n_edges:].astype(np.int64)
    n_nodes = len(used)
    degree = np.bincount(from_node, minlength=n_nodes) + np.bincount(to_node, minlength=n_nodes)

    node_comp, edge_comp, comp_length = _components(from_node, to_node, length, n_nodes)

    line_attrs = attrs.iloc[src_line].reset_index(drop=True)
    classes = line_attrs["road_class"].to_numpy(dtype=object)
    speed = np.array([road_classes[c].free_speed_kmh for c in classes], dtype=np.float64)
    capacity = np.array([road_classes[c].capacity_veh_per_h for c in classes], dtype=np.float64)
    mode_flags: dict[str, BoolArray] = {
        m: np.array([getattr(road_classes[c], m) for c in classes], dtype=bool) for m in MODES
    }

    columns: dict[str, Any] = {
        "edge_id": np.arange(n_edges, dtype=np.int64),
        "from_node": from_node,
        "to_node": to_node,
        "road_class": line_attrs["road_class"].astype(str),
        "service": _text_or_none(line_attrs["service"]),
        "brunnel": _text_or_none(line_attrs["brunnel"]),
        "oneway": line_attrs["oneway"].to_numpy(dtype=bool),
        "length_m": length,
        "free_speed_kmh": speed,
        "capacity_veh_per_h": capacity,
        "travel_time_s": length / (speed / 3.6),
        **mode_flags,
        "component": edge_comp,
    }
    edges = gpd.GeoDataFrame(columns, geometry=piece_geoms, crs=crs)
    nodes = gpd.GeoDataFrame(
        {
            "node_id": np.arange(n_nodes, dtype=np.int64),
            "degree": degree.astype(np.int64),
            "component": node_comp,
        },
        geometry=shapely.points(cxy[used]),
        crs=crs,
    )
    total = float(length.sum())
    largest = float(comp_length[0]) if len(comp_length) else 0.0
    report = ConnectivityReport(
        n_nodes=n_nodes,
        n_edges=n_edges,
        n_components=len(comp_length),
        total_length_m=total,
        largest_component_length_m=largest,
        largest_component_length_share=largest / total if total > 0 else 0.0,
        snap_tolerance_m=tol,
    )
    return RoadGraph(edges=edges, nodes=nodes, report=report)


def to_sparse_graph(
    edges: pd.DataFrame,
    weight: str = "travel_time_s",
    mode: Mode = "car",
    *,
    n_nodes: int | None = None,
    max_speed_kmh: float | None = None,
) -> sparse.csr_matrix:
    """Directed adjacency matrix of the edges a ``mode`` may use, for ``scipy.sparse.csgraph``.

    Entry ``[i, j]`` is the smallest ``weight`` (e.g. ``travel_time_s`` in s or ``length_m``
    in m, must be > 0) of the edges from node ``i`` to node ``j``. One-way edges are
    one-directional for ``car`` only. ``n_nodes`` defaults to the largest node id + 1.
    ``max_speed_kmh`` (km/h, only with ``weight="travel_time_s"``) caps the speed of every
    edge, e.g. 15 km/h for cycling or 5 km/h for walking on car roads.
    """
    if mode not in MODES:
        raise InvalidInputError(f"Unknown mode {mode!r}; use one of {', '.join(MODES)}.")
    if weight not in edges.columns:
        raise InvalidInputError(f"Unknown weight column {weight!r}.")
    sel = edges[mode].to_numpy(dtype=bool)
    src = edges["from_node"].to_numpy(dtype=np.int64)
    dst = edges["to_node"].to_numpy(dtype=np.int64)
    size = n_nodes if n_nodes is not None else (int(max(src.max(), dst.max())) + 1 if len(src) else 0)
    if max_speed_kmh is not None:
        if weight != "travel_time_s":
            raise InvalidInputError("max_speed_kmh can only be used with weight='travel_time_s'.")
        if not (math.isfinite(max_speed_kmh) and max_speed_kmh > 0):
            raise InvalidInputError(f"max_speed_kmh must be > 0, got {max_speed_kmh!r}.")
        speed = np.minimum(edges["free_speed_kmh"].to_numpy(dtype=np.float64), max_speed_kmh)
        w = edges["length_m"].to_numpy(dtype=np.float64) / (speed / 3.6)
    else:
        w = edges[weight].to_numpy(dtype=np.float64)
    if np.any(~(w[sel] > 0)):
        raise InvalidInputError(f"Weight {weight!r} must be > 0 on every edge.")
    src, dst, w = src[sel], dst[sel], w[sel]
    both = ~edges["oneway"].to_numpy(dtype=bool)[sel] if mode == "car" else np.ones(len(src), dtype=bool)
    rows = np.concatenate([src, dst[both]])
    cols = np.concatenate([dst, src[both]])
    vals = np.concatenate([w, w[both]])
    loop = rows == cols
    rows, cols, vals = rows[~loop], cols[~loop], vals[~loop]
    # Parallel edges: keep the smallest weight (a sparse matrix would add them up).
    order = np.lexsort((vals, cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return sparse.csr_matrix((vals[first], (rows[first], cols[first])), shape=(size, size))


def _prepare_lines(
    lines: gpd.GeoDataFrame, road_classes: Mapping[str, RoadClassParams]
) -> tuple[npt.NDArray[np.object_], pd.DataFrame]:
    """Routable single LineStrings (reversed where oneway=-1) and their attributes."""
    cls = lines["class"].astype(object)
    sel = cls.isin(list(road_classes)).to_numpy(dtype=bool)
    data = pd.DataFrame({"road_class": cls[sel].to_numpy(dtype=object)})
    for column in ("service", "brunnel", "oneway"):
        if column in lines.columns:
            data[column] = _text_or_none(lines[column].astype(object)[sel])
        else:
            data[column] = pd.Series([None] * len(data), dtype=object)
    part = gpd.GeoDataFrame(data, geometry=lines.geometry.to_numpy()[sel], crs=lines.crs)
    part = part.explode(index_parts=False, ignore_index=True)
    geoms = part.geometry.to_numpy()
    ok = (
        (shapely.get_type_id(geoms) == shapely.GeometryType.LINESTRING)
        & ~shapely.is_empty(geoms)
        & (shapely.get_num_coordinates(geoms) >= 2)
    )
    part = part.loc[ok].reset_index(drop=True)
    geoms = np.asarray(part.geometry.to_numpy(), dtype=object)
    text = pd.Series(part["oneway"], dtype=object).map(
        lambda v: None if v is None else str(v).strip().lower()
    )
    forward = text.isin(_ONEWAY_FORWARD).to_numpy(dtype=bool)
    backward = text.isin(_ONEWAY_BACKWARD).to_numpy(dtype=bool)
    if backward.any():
        geoms[backward] = shapely.reverse(geoms[backward])
    attrs = pd.DataFrame(
        {
            "road_class": part["road_class"].to_numpy(dtype=object),
            "service": part["service"].to_numpy(dtype=object),
            "brunnel": part["brunnel"].to_numpy(dtype=object),
            "oneway": forward | backward,
        }
    )
    return geoms, attrs


def _grade_level(brunnel: pd.Series) -> npt.NDArray[np.int8]:
    """Per line: 0 at grade (no brunnel, ford), 1 bridge, 2 tunnel."""
    text = brunnel.to_numpy(dtype=object)
    return np.select([text == "bridge", text == "tunnel"], [1, 2], 0).astype(np.int8)


def _vertices_with_t_junctions(
    geoms: npt.NDArray[np.object_], level: npt.NDArray[np.int8], tol: float
) -> tuple[FloatArray, IntArray, BoolArray, BoolArray]:
    """All vertices, sorted by line and position along it, with T-junction vertices inserted.

    A line end gets a vertex inserted at its nearest point on another line within ``tol``
    (m), unless that line is a bridge or tunnel and the end's line is not on the same level
    (roads join a bridge or tunnel at its ends only). Returns the coordinates (n x 2, m),
    the line index of each vertex, whether it is a line end, whether it was inserted.
    """
    xy, line = shapely.get_coordinates(geoms, return_index=True)
    line = line.astype(np.int64)
    n_per_line = np.bincount(line, minlength=len(geoms))
    first_idx = np.cumsum(n_per_line) - n_per_line
    last_idx = first_idx + n_per_line - 1
    seg = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    along = cum - cum[first_idx][line]
    is_end = np.zeros(len(xy), dtype=bool)
    is_end[first_idx] = True
    is_end[last_idx] = True

    ins_xy = np.empty((0, 2))
    ins_line = np.empty(0, dtype=np.int64)
    ins_along = np.empty(0)
    if tol > 0:
        end_idx = np.concatenate([first_idx, last_idx])
        end_pts = shapely.points(xy[end_idx])
        pi, li = shapely.STRtree(geoms).query(end_pts, predicate="dwithin", distance=tol)
        li = li.astype(np.int64)
        own_line = line[end_idx[pi]]
        other = (own_line != li) & ((level[li] == 0) | (level[li] == level[own_line]))
        pi, li = pi[other], li[other]
        at = shapely.line_locate_point(geoms[li], end_pts[pi])
        # Projections onto the other line's own ends are handled by vertex snapping.
        inner = (at > COINCIDENT_M) & (at < shapely.length(geoms[li]) - COINCIDENT_M)
        li, at, pi = li[inner], at[inner], pi[inner]
        ins_xy = shapely.get_coordinates(shapely.line_interpolate_point(geoms[li], at))
        ins_line, ins_along = li, at

    all_xy = np.concatenate([xy, ins_xy])
    all_line = np.concatenate([line, ins_line])
    all_along = np.concatenate([along, ins_along])
    kind = np.concatenate([np.zeros(len(xy), dtype=np.int8), np.ones(len(ins_xy), dtype=np.int8)])
    is_end = np.concatenate([is_end, np.zeros(len(ins_xy), dtype=bool)])
    order = np.lexsort((kind, all_along, all_line))
    all_xy, all_line, is_end, kind = all_xy[order], all_line[order], is_end[order], kind[order]
    # Inserted vertices on top of an existing vertex of their line add nothing: drop them.
    ins = kind == 1
    close = (all_line[1:] == all_line[:-1]) & (
        np.hypot(np.diff(all_xy[:, 0]), np.diff(all_xy[:, 1])) <= COINCIDENT_M
    )
    redundant = np.zeros(len(all_xy), dtype=bool)
    redundant[1:] |= close & ins[1:] & ~ins[:-1]
    redundant[:-1] |= close & ins[:-1] & ~ins[1:]
    keep = ~redundant
    return all_xy[keep], all_line[keep], is_end[keep], ins[keep]


def _snap_clusters(
    xy: FloatArray, line_end: BoolArray, inserted: BoolArray, level: npt.NDArray[np.int8], tol: float
) -> IntArray:
    """Cluster label per vertex: union-find over close pairs (see the module docstring).

    Coincident vertices (within 1 mm) always join. Vertices up to ``tol`` (m) apart join
    when one of them is a line end or an inserted T-junction vertex, and neither is an
    interior vertex of a bridge or tunnel line while the other lies on another level.
    """
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(r=max(tol, COINCIDENT_M), output_type="ndarray")
    if len(pairs):
        i, j = pairs[:, 0], pairs[:, 1]
        dist = np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1])
        snappable = line_end | inserted
        other_level = level[i] != level[j]
        crosses_grade = other_level & (((level[i] != 0) & ~line_end[i]) | ((level[j] != 0) & ~line_end[j]))
        keep = (dist <= COINCIDENT_M) | ((snappable[i] | snappable[j]) & (dist <= tol) & ~crosses_grade)
        i, j = i[keep], j[keep]
    else:
        i = j = np.empty(0, dtype=np.int64)
    graph = sparse.coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def _components(
    from_node: IntArray, to_node: IntArray, length: FloatArray, n_nodes: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Undirected components numbered by decreasing road length (m): node and edge labels, lengths."""
    graph = sparse.coo_matrix(
        (np.ones(len(from_node), dtype=np.int8), (from_node, to_node)), shape=(n_nodes, n_nodes)
    )
    n_comp, found = connected_components(graph, directed=False)
    labels = np.asarray(found, dtype=np.int64)
    comp_len = np.bincount(labels[from_node], weights=length, minlength=n_comp)
    comp_size = np.bincount(labels, minlength=n_comp)
    order = np.lexsort((-comp_size, -comp_len))
    rank = np.empty(n_comp, dtype=np.int64)
    rank[order] = np.arange(n_comp)
    node_comp: IntArray = rank[labels]
    edge_comp: IntArray = node_comp[from_node]
    return node_comp, edge_comp, np.asarray(comp_len[order], dtype=np.float64)


def _text_or_none(values: pd.Series) -> pd.Series:
    """Object column of strings with ``None`` (not NaN) where the value is missing."""
    arr: npt.NDArray[np.object_] = np.array(values.to_numpy(dtype=object), dtype=object)
    arr[pd.isna(arr)] = None
    return pd.Series(arr, dtype=object)


def _empty_graph(crs: CRS | None, tol: float) -> RoadGraph:
    """A graph with no edges and no nodes, with the columns of the schemas."""
    edge_cols: dict[str, Any] = {
        "edge_id": "int64",
        "from_node": "int64",
        "to_node": "int64",
        "road_class": object,
        "service": object,
        "brunnel": object,
        "oneway": bool,
        "length_m": "float64",
        "free_speed_kmh": "float64",
        "capacity_veh_per_h": "float64",
        "travel_time_s": "float64",
        "car": bool,
        "bicycle": bool,
        "foot": bool,
        "component": "int64",
    }
    edges = gpd.GeoDataFrame(
        {k: pd.Series(dtype=v) for k, v in edge_cols.items()}, geometry=gpd.GeoSeries([]), crs=crs
    )
    nodes = gpd.GeoDataFrame(
        {k: pd.Series(dtype="int64") for k in ("node_id", "degree", "component")},
        geometry=gpd.GeoSeries([]),
        crs=crs,
    )
    report = ConnectivityReport(0, 0, 0, 0.0, 0.0, 0.0, tol)
    return RoadGraph(edges=edges, nodes=nodes, report=report)
