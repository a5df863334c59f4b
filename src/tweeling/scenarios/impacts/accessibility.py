"""Proximity of facilities: network distance from every dwelling to the nearest facility of each type.

Method (MODELS.md, "Accessibility / proximity of facilities"):

1. The mode's network (walk: links with ``foot``; bike: links with ``bicycle``) becomes a symmetric
   sparse graph of link lengths (m); parallel links keep the shortest, self-loops are dropped and,
   by default, only the largest connected component is kept (:func:`build_mode_graph`).
2. Every dwelling (a building with ``main_use`` residential or mixed and ``dwellings_est`` > 0) is
   represented by its footprint centroid, snapped to the nearest graph node; the straight snap
   distance is added to its network distance. Facilities are snapped the same way and their snap
   distance is added too (``add_facility_snap``).
3. One multi-source Dijkstra per facility kind (:func:`network_distance_to_nearest`) gives the
   distance from every node to the nearest source; a dwelling's distance is its snap distance plus
   the distance of its node.
4. Green space: public green polygons of the chosen types of at least ``green_min_area_m2``; their
   entrances are points sampled every ``green_spacing_m`` along the boundary (snapped to nodes
   within ``green_max_snap_m``, snap distance added) plus every network node inside the polygon.

Reported per dwelling building, per buurt (dwelling-weighted mean distance, share of dwellings
within 500 and 1000 m) and citywide. A dwelling with no reachable facility of a kind has a NaN
distance and counts as not within reach.

Reusable pieces for other models (care): :class:`ModeGraph`, :func:`build_mode_graph`,
:func:`network_distance_to_nearest`, :func:`point_distance_to_nearest`, :func:`dwelling_points`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.city import CityState, building_centroids
from tweeling.scenarios.impacts._network import ModeGraph, build_mode_graph
from tweeling.scenarios.model import (
    AlgorithmRegisterEntry,
    ImpactModel,
    Indicator,
    ModelInfo,
    ModelResult,
    param,
)

Mode = Literal["walk", "bike"]


KINDS: tuple[str, ...] = ("gp", "pharmacy", "supermarket", "school", "care_home", "green", "public_transport")
"""Facility kinds reported, in output order; ``green`` comes from the green layer, the others from
``facilities`` through :attr:`ProximityParams.facility_types`."""

KIND_TITLES: Mapping[str, str] = {
    "gp": "GP practice (huisarts)",
    "pharmacy": "pharmacy",
    "supermarket": "supermarket",
    "school": "school (primary school proxy)",
    "care_home": "care home",
    "green": "public green space of at least 1 ha",
    "public_transport": "public transport stop (bus station, ferry terminal)",
}

WITHIN_M: tuple[int, ...] = (500, 1000)
"""Distance bands (m) of the shares reported per buurt and citywide (MODELS.md)."""

DEFAULT_FACILITY_TYPES: dict[str, tuple[str, ...]] = {
    "gp": ("gp",),
    "pharmacy": ("pharmacy",),
    "supermarket": ("supermarket",),
    "school": ("school",),
    "care_home": ("care_home",),
    "public_transport": ("bus_station", "ferry_terminal"),
}


def dist_column(kind: str) -> str:
    """Name of the distance indicator of a facility kind (m)."""
    return f"dist_{kind}_m"


def share_column(kind: str, within_m: int) -> str:
    """Name of the share-of-dwellings-within indicator of a facility kind (0-1)."""
    return f"share_within_{within_m}m_{kind}"


@dataclass(frozen=True)
class ProximityParams:
    """Parameters of the proximity model."""

    mode: str = param(
        "walk",
        unit="walk | bike",
        source="assumed: MODELS.md asks for walking; cycling uses the bicycle links",
        description="Network to measure on: links open on foot (walk) or by bicycle (bike).",
    )
    facility_types: dict[str, tuple[str, ...]] = param(
        DEFAULT_FACILITY_TYPES,
        unit="kind -> facility_type values",
        source="assumed: OSM-derived facility types (citymodel.facilities); 'school' has no level "
        "in OSM and stands in for primary school",
        description="Which facility_type values count for each reported kind (keys: gp, pharmacy, "
        "supermarket, school, care_home, public_transport).",
    )
    add_facility_snap: bool = param(
        True,
        unit="bool",
        source="assumed: a facility point also lies off the network, like a dwelling",
        description="Add the straight distance from a facility to its nearest network node.",
    )
    largest_component_only: bool = param(
        True,
        unit="bool",
        source="assumed: 97.7 % of the road length is in the largest component (docs/roads.md); "
        "smaller components are jetties and data gaps",
        description="Snap dwellings and facilities to the largest connected part of the network only.",
    )
    green_types: tuple[str, ...] = param(
        ("park", "grass", "wood", "recreation_ground", "nature_reserve", "national_park"),
        unit="green_type values",
        source="assumed: green that people can enter and stay in; farmland, gardens, allotments, "
        "cemeteries, pitches and playgrounds left out",
        description="Green types that count as public green space.",
    )
    green_min_area_m2: float = param(
        10_000.0,
        unit="m2",
        source="WHO Regional Office for Europe (2016), Urban green spaces and health: green of at "
        "least 1 ha within 300 m; 3-30-300 rule (Konijnendijk 2023): 0.5-1 ha",
        description="Smallest polygon area that counts as a green space (per polygon, not merged).",
    )
    green_spacing_m: float = param(
        50.0,
        unit="m",
        source="assumed: about one entrance per block edge",
        description="Spacing of the entrance points sampled along a green polygon's boundary.",
    )
    green_max_snap_m: float = param(
        100.0,
        unit="m",
        source="assumed: boundary points further from any path (water, fields) are not entrances",
        description="Boundary points further than this from the network are not used as entrances.",
    )
    include_unknown_access: bool = param(
        True,
        unit="bool",
        source="assumed: public_access is unknown (NA) for every polygon in the OSM data",
        description="Count green with unknown public_access as public (False is always left out).",
    )


@overload
def network_distance_to_nearest(
    matrix: csr_matrix,
    sources: Sequence[int] | np.ndarray,
    offsets: Sequence[float] | np.ndarray | None = ...,
    *,
    limit: float = ...,
    return_sources: Literal[False] = ...,
) -> np.ndarray: ...


@overload
def network_distance_to_nearest(
    matrix: csr_matrix,
    sources: Sequence[int] | np.ndarray,
    offsets: Sequence[float] | np.ndarray | None = ...,
    *,
    limit: float = ...,
    return_sources: Literal[True],
) -> tuple[np.ndarray, np.ndarray]: ...


def network_distance_to_nearest(
    matrix: csr_matrix,
    sources: Sequence[int] | np.ndarray,
    offsets: Sequence[float] | np.ndarray | None = None,
    *,
    limit: float = np.inf,
    return_sources: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Distance (m) from every vertex to the nearest source along a symmetric graph.

    ``sources``: vertex indices; ``offsets``: a start distance per source (m, e.g. its snap
    distance; ``inf`` drops the source), so a vertex's distance is
    ``min over sources (offset + network distance)``.
    Unreachable vertices (or beyond ``limit``) get ``inf``. With ``return_sources`` also returns,
    per vertex, the position in ``sources`` of the nearest one (-1 where unreachable).
    Without offsets this is ``scipy.sparse.csgraph.dijkstra(..., indices=sources, min_only=True)``;
    with offsets the sources hang from one virtual vertex by edges of their offset.
    """
    size = matrix.shape[0]
    src = np.asarray(sources, dtype=np.int64).reshape(-1)
    off = np.zeros(src.shape[0]) if offsets is None else np.asarray(offsets, dtype=float).reshape(-1)
    if off.shape != src.shape:
        raise InvalidInputError("network_distance_to_nearest: offsets must have one value per source.")
    finite = np.isfinite(off)
    if (off < 0).any() or ((src[finite] < 0) | (src[finite] >= size)).any():
        raise InvalidInputError("network_distance_to_nearest: sources must be vertices, offsets >= 0.")
    order = np.lexsort((off, src))
    first = np.ones(src.shape[0], dtype=bool)
    first[1:] = src[order][1:] != src[order][:-1]
    position = order[first]
    position = position[np.isfinite(off[position])]
    if position.shape[0] == 0:
        dist = np.full(size, np.inf)
        return (dist, np.full(size, -1, dtype=np.int64)) if return_sources else dist
    unique_src, unique_off = src[position], off[position]
    nearest_vertex: np.ndarray
    if not (unique_off != 0).any():
        result = dijkstra(
            matrix, directed=True, indices=unique_src, limit=limit, min_only=True, return_predecessors=True
        )
        dist, nearest_vertex = np.asarray(result[0], dtype=float), np.asarray(result[2])
    else:
        augmented = csr_matrix(
            (
                np.concatenate([matrix.data, unique_off]),
                np.concatenate([matrix.indices, unique_src]),
                np.concatenate([matrix.indptr, [matrix.indptr[-1] + unique_src.shape[0]]]),
            ),
            shape=(size + 1, size + 1),
        )
        full, predecessors = dijkstra(
            augmented, directed=True, indices=size, limit=limit, return_predecessors=True
        )
        dist = np.asarray(full[:size], dtype=float)
        if not return_sources:
            return dist
        nearest_vertex = _root_below(np.asarray(predecessors[:size]), size)
    if not return_sources:
        return dist
    position_of_vertex = np.full(size, -1, dtype=np.int64)
    position_of_vertex[unique_src] = position
    reached = (nearest_vertex >= 0) & np.isfinite(dist)
    nearest = np.full(size, -1, dtype=np.int64)
    nearest[reached] = position_of_vertex[nearest_vertex[reached]]
    return dist, nearest


def _root_below(predecessors: np.ndarray, root: int) -> np.ndarray:
    """For each vertex of a shortest-path tree, its ancestor just below ``root`` (-1 if none)."""
    size = predecessors.shape[0]
    jump = np.arange(size)
    step = (predecessors >= 0) & (predecessors != root)
    jump[step] = predecessors[step]
    while True:
        nxt = jump[jump]
        if np.array_equal(nxt, jump):
            break
        jump = nxt
    return np.where(predecessors[jump] == root, jump, -1)


def point_distance_to_nearest(
    graph: ModeGraph,
    origin_x: np.ndarray,
    origin_y: np.ndarray,
    target_x: np.ndarray,
    target_y: np.ndarray,
    *,
    add_target_snap: bool = True,
) -> np.ndarray:
    """Network distance (m) from each origin point to the nearest target point.

    Origin snap distance + network distance + (with ``add_target_snap``) target snap distance;
    NaN where no target is reachable.
    """
    origin_vertex, origin_snap = graph.snap(origin_x, origin_y)
    target_vertex, target_snap = graph.snap(target_x, target_y)
    node_dist = network_distance_to_nearest(
        graph.matrix, target_vertex, target_snap if add_target_snap else None
    )
    return _finite_or_nan(origin_snap + node_dist[origin_vertex] if graph.size else origin_snap + np.inf)


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def dwelling_points(buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    """Dwellings: residential or mixed buildings with ``dwellings_est`` > 0.

    Index ``building_id``; columns ``x``, ``y`` (footprint centroid, m RD), ``dwellings``,
    ``bu_code``.
    """
    mask = buildings["main_use"].isin(["residential", "mixed"]).to_numpy() & (
        buildings["dwellings_est"].to_numpy(dtype=float) > 0
    )
    x, y = building_centroids(buildings)
    return pd.DataFrame(
        {
            "x": x[mask],
            "y": y[mask],
            "dwellings": buildings["dwellings_est"].to_numpy(dtype=float)[mask],
            "bu_code": buildings["bu_code"].to_numpy(dtype=object)[mask],
        },
        index=buildings.index[mask],
    )


def points_along(lines: np.ndarray, spacing_m: float) -> np.ndarray:
    """Points (n, 2; m) at equal steps of at most ``spacing_m`` along each non-empty line, from its
    first vertex; the same points as ``shapely.line_interpolate_point``, computed in numpy."""
    if lines.shape[0] == 0:
        return np.zeros((0, 2))
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    step = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    step[line_of[1:] != line_of[:-1]] = 0.0
    along = np.concatenate([[0.0], np.cumsum(step)])
    first = np.searchsorted(line_of, np.arange(lines.shape[0]))
    length = shapely.length(lines)
    count = np.maximum(1, np.ceil(length / spacing_m).astype(np.int64))
    line = np.repeat(np.arange(lines.shape[0]), count)
    rank = np.arange(line.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    target = along[first[line]] + rank * (length / count)[line]
    segment = np.clip(np.searchsorted(along, target, side="right") - 1, 0, coords.shape[0] - 2)
    fraction = np.clip((target - along[segment]) / np.maximum(step[segment], 1e-12), 0.0, 1.0)
    return coords[segment] + (coords[segment + 1] - coords[segment]) * fraction[:, None]


def green_entrances(
    green: gpd.GeoDataFrame,
    graph: ModeGraph,
    *,
    types: Sequence[str],
    min_area_m2: float,
    spacing_m: float,
    max_snap_m: float,
    include_unknown_access: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Entrance vertices of public green space and their offsets (m).

    Boundary points every ``spacing_m`` snapped to the graph (offset = snap distance, points
    further than ``max_snap_m`` dropped) and every vertex inside a polygon (offset 0).
    """
    access = (
        green["public_access"] if "public_access" in green.columns else pd.Series(pd.NA, index=green.index)
    )
    public = access.astype("boolean").fillna(include_unknown_access).to_numpy(dtype=bool)
    selected = (
        green["green_type"].isin(list(types)).to_numpy()
        & (green["area_m2"].to_numpy(dtype=float) >= min_area_m2)
        & public
    )
    polygons = green.geometry.to_numpy()[selected]
    if polygons.shape[0] == 0 or graph.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    lines = shapely.get_parts(shapely.boundary(shapely.get_parts(polygons)))
    points = points_along(lines[shapely.length(lines) > 0], spacing_m)
    vertex, snap = graph.snap(points[:, 0], points[:, 1])
    near = snap <= max_snap_m
    inner = np.unique(shapely.STRtree(graph.points).query(polygons, predicate="intersects")[1])
    return (
        np.concatenate([vertex[near], inner]).astype(np.int64),
        np.concatenate([snap[near], np.zeros(inner.shape[0])]),
    )


def _facility_sources(
    facilities: gpd.GeoDataFrame, types: Sequence[str], graph: ModeGraph, add_snap: bool
) -> tuple[np.ndarray, np.ndarray]:
    chosen = facilities["facility_type"].isin(list(types)).to_numpy()
    geometry = facilities.geometry.to_numpy()[chosen]
    vertex, snap = graph.snap(shapely.get_x(geometry), shapely.get_y(geometry))
    return vertex, snap if add_snap else np.zeros(snap.shape[0])


def _weighted_by_buurt(
    codes: np.ndarray, n_buurten: int, weight: np.ndarray, distance: np.ndarray
) -> dict[str, np.ndarray]:
    known = np.isfinite(distance)
    total = np.bincount(codes, weights=weight, minlength=n_buurten)
    known_weight = np.bincount(codes, weights=np.where(known, weight, 0.0), minlength=n_buurten)
    summed = np.bincount(codes, weights=np.where(known, weight * distance, 0.0), minlength=n_buurten)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"mean": np.where(known_weight > 0, summed / known_weight, np.nan)}
        for band in WITHIN_M:
            inside = known & (distance <= band)
            share = np.bincount(codes, weights=np.where(inside, weight, 0.0), minlength=n_buurten)
            out[str(band)] = np.where(total > 0, share / total, np.nan)
    return out


def run(city: CityState, upstream: Mapping[str, ModelResult], params: ProximityParams) -> ModelResult:
    """Distances from every dwelling to the nearest facility of each kind (see module docstring)."""
    unknown = set(params.facility_types) - set(KINDS)
    if unknown or "green" in params.facility_types:
        raise InvalidInputError(
            f"facility_types keys must be among {', '.join(k for k in KINDS if k != 'green')}.",
            invalid_params=[{"name": "facility_types", "reason": "unknown kind"}],
        )
    graph = build_mode_graph(
        city.roads, city.road_nodes, params.mode, largest_component=params.largest_component_only
    )
    homes = dwelling_points(city.buildings)
    vertex, snap = graph.snap(homes["x"].to_numpy(), homes["y"].to_numpy())
    node_distance: dict[str, np.ndarray] = {}
    sources_used: dict[str, int] = {}
    for kind in KINDS:
        if kind == "green":
            src, off = green_entrances(
                city.green,
                graph,
                types=params.green_types,
                min_area_m2=params.green_min_area_m2,
                spacing_m=params.green_spacing_m,
                max_snap_m=params.green_max_snap_m,
                include_unknown_access=params.include_unknown_access,
            )
        else:
            src, off = _facility_sources(
                city.facilities, params.facility_types.get(kind, ()), graph, params.add_facility_snap
            )
        sources_used[kind] = int(src.shape[0])
        node_distance[kind] = network_distance_to_nearest(graph.matrix, src, off)

    per_home = {
        dist_column(kind): _finite_or_nan(snap + node_distance[kind][vertex] if graph.size else snap + np.inf)
        for kind in KINDS
    }
    buildings = pd.DataFrame(per_home, index=homes.index).reindex(city.buildings.index)

    buurt_index = pd.Index(city.buurten.index)
    codes = buurt_index.get_indexer(homes["bu_code"].to_numpy())
    in_buurt = codes >= 0
    weight = homes["dwellings"].to_numpy(dtype=float)
    buurt_columns: dict[str, np.ndarray] = {}
    city_values: dict[str, float] = {}
    for kind in KINDS:
        distance = per_home[dist_column(kind)]
        by_buurt = _weighted_by_buurt(codes[in_buurt], len(buurt_index), weight[in_buurt], distance[in_buurt])
        whole = _weighted_by_buurt(np.zeros(weight.shape[0], dtype=np.int64), 1, weight, distance)
        buurt_columns[dist_column(kind)] = by_buurt["mean"]
        city_values[dist_column(kind)] = float(whole["mean"][0])
        for band in WITHIN_M:
            buurt_columns[share_column(kind, band)] = by_buurt[str(band)]
            city_values[share_column(kind, band)] = float(whole[str(band)][0])
    buurt = pd.DataFrame(buurt_columns, index=buurt_index)

    return ModelResult(
        city=city_values,
        buurt=buurt,
        objects={"buildings": buildings},
        data={
            "graph": graph,
            "dwelling_vertex": pd.Series(vertex, index=homes.index, name="vertex"),
            "dwelling_snap_m": pd.Series(snap, index=homes.index, name="snap_m"),
            "node_distance_m": node_distance,
            "sources": sources_used,
            "dwellings": float(weight.sum()),
            "dwellings_outside_buurten": float(weight[~in_buurt].sum()),
        },
    )


def _indicators() -> tuple[Indicator, ...]:
    items = []
    for kind in KINDS:
        title = KIND_TITLES[kind]
        items.append(
            Indicator(
                id=dist_column(kind),
                title=f"Distance to nearest {title}",
                unit="m",
                domain="proximity",
                better="lower",
                levels=("city", "buurt", "buildings"),
                description=f"Network distance from a dwelling to the nearest {title}, snap distances "
                "included; per buurt and citywide the dwelling-weighted mean. NaN: none reachable.",
            )
        )
        for band in WITHIN_M:
            items.append(
                Indicator(
                    id=share_column(kind, band),
                    title=f"Share of dwellings within {band} m of a {title}",
                    unit="fraction (0-1)",
                    domain="proximity",
                    better="higher",
                    levels=("city", "buurt"),
                    description=f"Dwellings whose network distance to the nearest {title} is at most "
                    f"{band} m, as a share of all dwellings (weighted by dwellings_est).",
                )
            )
    return tuple(items)


INFO = ModelInfo(
    id="proximity",
    version="1.0.0",
    title="Proximity of facilities",
    description="Walking (or cycling) distance over the road network from every dwelling to the nearest "
    "GP, pharmacy, supermarket, school, care home, public green space and public transport stop.",
    requires=(),
    reads=frozenset({"buildings", "roads.active", "road_nodes", "facilities", "green"}),
    indicators=_indicators(),
    method="Multi-source Dijkstra (scipy.sparse.csgraph) on the links open to the mode, one run per "
    "facility kind; dwellings (residential or mixed buildings with dwellings) and facilities are "
    "snapped to the nearest node of the largest connected network and their straight snap distances "
    "added. Green space: public green of at least 1 ha, entered at boundary points every 50 m or at "
    "any network node inside it. Per buurt and citywide: dwelling-weighted mean distance and share of "
    "dwellings within 500 and 1000 m.",
    sources=(
        "OpenStreetMap (2021) via OpenMapTiles: roads, points of interest, land cover",
        "CBS Nabijheidsstatistiek (methodology: distance from occupied address to nearest facility)",
        "WHO Regional Office for Europe (2016), Urban green spaces and health: a review of evidence",
    ),
    limitations=(
        "Facilities come from OSM points of interest (2021): 'gp' is OSM 'doctors' (also other "
        "practices), 'school' has no level (secondary schools included), care homes are few (4).",
        "Public transport: the data has no bus stops or railway station, only 1 bus station and 11 "
        "ferry terminals, so dist_public_transport_m is not a measure of public transport access.",
        "CBS publishes distances to facilities per buurt (Nabijheid voorzieningen), but they are not "
        "in the shipped data, so the model is not validated against them here; CBS also measures "
        "over the road network for cars, not over foot paths.",
        "Snapping is to the nearest node, not the nearest point on a link; footprint centroids stand "
        "in for entrances; no turn restrictions, crossings, barriers, slopes or opening hours.",
        "Green public_access is unknown in the data: all green of the chosen types counts as public; "
        "polygons are not merged, so adjacent small patches do not add up to 1 ha.",
        "Dwellings in buildings classed non-residential (about 215 estimated dwellings) are left out.",
    ),
    register=AlgorithmRegisterEntry(
        name="Tweeling nabijheid voorzieningen",
        description_short="Berekent voor elke woning in Dordrecht de loopafstand over het wegen- en "
        "padennet naar de dichtstbijzijnde huisarts, apotheek, supermarkt, school, zorginstelling, "
        "groengebied en ov-halte, en per buurt het aandeel woningen binnen 500 en 1000 meter.",
        theme="Ruimtelijke ordening",
        purpose_and_impact="Laat zien waar voorzieningen ver weg liggen en wat een scenario (een nieuwe "
        "huisarts, een nieuwe wijk, een afgesloten pad) daaraan verandert. Het helpt bij het "
        "voorbereiden van plannen; het neemt geen besluiten over personen.",
        considerations="Een eenvoudige, navolgbare afstandsmaat in plaats van een reistijd- of "
        "keuzemodel. De voorzieningen komen uit OpenStreetMap en zijn niet volledig; de uitkomst is "
        "een signaal dat ter plaatse gecontroleerd moet worden.",
        human_intervention="Beleidsmedewerkers bekijken de uitkomsten en wegen ze af met andere "
        "informatie; er volgt geen automatische beslissing.",
        risk_management="Bronnen, aannames en beperkingen zijn gedocumenteerd; tests controleren de "
        "berekening op een klein handgerekend netwerk en de richting van scenario-effecten.",
        data="Openbare gegevens: OpenStreetMap (wegen, paden, voorzieningen, groen), CBS-buurtgrenzen en "
        "geschatte aantallen woningen per gebouw. Geen persoonsgegevens.",
        technical_operation="Het wegennet wordt een graaf; per soort voorziening berekent het "
        "kortste-padalgoritme van Dijkstra de afstand van elke woning naar de dichtstbijzijnde. Het "
        "algoritme is niet zelflerend.",
        legal_basis=(
            "Geen aparte wettelijke grondslag nodig: het model ondersteunt de voorbereiding van "
            "plannen, neemt geen besluiten en verwerkt geen persoonsgegevens. Kader: de "
            "omgevingsvisie en ruimtelijke plannen van de gemeente onder de Omgevingswet."
        ),
        legal_basis_title="Omgevingswet",
        legal_basis_link="https://wetten.overheid.nl/BWBR0037885",
        link="https://github.com/tweeling/tweeling/blob/main/docs/models/accessibility.md",
        source_code_link="https://github.com/tweeling/tweeling/blob/main/src/tweeling/scenarios/impacts/accessibility.py",
    ),
)

MODEL: ImpactModel[ProximityParams] = ImpactModel(info=INFO, params_type=ProximityParams, run=run)
