"""Air quality: annual mean NO2 at every building facade from road traffic, by SRM1.

Method (Standaardrekenmethode 1, Regeling beoordeling luchtkwaliteit 2007 Bijlage 2; see
``docs/models/air_quality.md`` for sources, choices and the corrections to MODELS.md):

1. **Emission** per road link (ug/m/s, both directions):
   ``E = sum_x n_x * ((1 - j) * EF_x,drive + j * EF_x,jam) * 1000`` over the classes light, medium
   and heavy, with ``n_x`` vehicles per second (traffic result, vehicles/day / 86,400), ``j`` the
   congestion share and ``EF`` NOx emission factors in g/km per vehicle (1 g/km = 1000 ug/m). The
   drive factor's SRM1 speed type follows the link's loaded speed; the jam factor is "stad
   stagnerend".
2. **Receptors**: every (building, road) pair within 60 m; ``S`` is the distance from the road axis
   to the nearest point of the footprint (the facade), at least ``min_distance_m``. The reusable
   geometry step is :func:`facade_road_pairs`.
3. **Street type** (SRM1 types 1-4) of each link from the buildings along it: a side is "built" when
   buildings closer than 3 x their height (and within 30 m) line at least half of the link; both
   sides built: type 3 (canyon), one side: 4; otherwise 2 (basistype) unless buildings within 60 m
   line less than 20 % of both sides together: 1 (open terrain). Motorway and trunk links are type 1.
4. **Dilution** ``theta = a*S^2 + b*S + c`` (S <= 30 m) and ``theta = alpha * S^-0.747`` (30-60 m,
   only types with an alpha); **tree factor** ``F_b`` = 1, 1.25 or 1.5 from the share of the
   corridor within 15 m of the axis under tree crowns (wood and park polygons, planted trees).
5. ``C_street[NOx] = 0.62 * E * theta * F_b * F_s`` with ``F_s = 5 / u``; per building the largest
   contribution of its nearby links (SRM1 works per street segment), plus, for motorway and trunk
   links 60-300 m away, the same power law continued (a Gaussian line-source decay).
6. ``C_street[NO2] = f_NO2 * C[NOx] + B * O3 * C[NOx] * (1 - f_NO2) / (C[NOx] * (1 - f_NO2) + K)``,
   and ``NO2 = background + C_street[NO2]``.

Per buurt and citywide: resident-weighted mean NO2 and the residents above 10 (WHO 2021), 20 (EU
limit from 2030) and 40 ug/m3 (EU limit). Pure: no I/O; the city state is not modified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely

from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.city import CityState
from tweeling.scenarios.model import (
    AlgorithmRegisterEntry,
    ImpactModel,
    Indicator,
    Level,
    ModelInfo,
    ModelResult,
    param,
)

MODEL_ID = "air_no2"
TRAFFIC_MODEL_ID = "traffic"

VEHICLE_CLASSES = ("light", "medium", "heavy")
"""Vehicle classes of the traffic result (columns ``<class>_veh_day``) and of the emission factors."""

SECONDS_PER_DAY = 86_400.0
SECONDS_PER_YEAR = 365.0 * SECONDS_PER_DAY
UG_PER_M_PER_G_PER_KM = 1000.0
"""1 g/km = 1 mg/m = 1000 ug/m."""

STREET_TYPE_NAMES = {
    1: "open terrain",
    2: "basistype",
    3: "street canyon (buildings on both sides)",
    4: "buildings on one side",
}
"""SRM1 street types (wegtypen) as used here; SRM1's 3a and 3b are both type 3."""

WHO_GUIDELINE_UGM3 = 10.0
"""WHO global air quality guideline 2021, annual mean NO2 (ug/m3)."""

EU_LIMIT_2030_UGM3 = 20.0
"""EU limit value for annual mean NO2 from 2030, Directive (EU) 2024/2881 (ug/m3)."""

EU_LIMIT_UGM3 = 40.0
"""EU limit value for annual mean NO2, Directive 2008/50/EC (ug/m3); also the Dutch limit (Wm)."""

NO2 = "no2_ugm3"
NO2_STREET = "no2_street_ugm3"
NO2_MAX = "no2_max_ugm3"
NOX_EMISSION = "nox_emission_ug_m_s"
NOX_EMISSION_TOTAL = "nox_emission_t_year"
ABOVE_WHO_SHARE = "residents_above_who_share"
ABOVE_20_SHARE = "residents_above_20_share"
ABOVE_40 = "residents_above_40"

EMISSION_SOURCE = (
    "Ministerie van IenW, Emissiefactoren voor snelwegen en niet-snelwegen, published 15 March 2022 "
    "(peiljaar 2021), NOx per vehicle-km as tabulated by Mobiliteitsscan (mobiliteitsscan-info.nl, "
    "brondata emissiefactoren PM10/NOx): light ('auto') and freight ('vracht', medium and heavy "
    "mixed 2:1; used for both classes)"
)


@dataclass(frozen=True)
class AirParams:
    """SRM1 constants, emission factors and the choices of this implementation (units and sources)."""

    background_no2_ugm3: float = param(
        19.0,
        unit="ug/m3",
        source="assumed: within the 18-22 ug/m3 that the RIVM large-scale concentration maps (GCN) give "
        "for Dordrecht's urban area around 2021 (read approximately; to verify with the GCN grid)",
        description="Background annual mean NO2 (regional and urban background without the street)",
    )
    ozone_ugm3: float = param(
        42.0,
        unit="ug/m3",
        source="SRM1 default as implemented by Tygron (Traffic NO2 overlay, O3 = 42); GCN gives O3 maps",
        description="Background annual mean O3 for the NO -> NO2 conversion",
    )
    wind_speed_ms: float = param(
        5.0,
        unit="m/s",
        source="Rbl 2007 Bijlage 2 (F_s = 5/u with the regional wind speed); 5 m/s (F_s = 1) as Tygron's "
        "default; assumed for Dordrecht",
        description="Regional annual mean wind speed u in F_s = 5 / u",
    )
    calibration: float = param(
        0.62,
        unit="-",
        source="Rbl 2007 Bijlage 2, SRM1 (0.62 in C = 0.62 * E * theta * F_b * F_s)",
        description="SRM1 calibration constant",
    )
    f_no2: float = param(
        0.2,
        unit="share (0-1)",
        source="assumed: directly emitted NO2 share of NOx for Dutch urban traffic around 2021 "
        "(roughly 0.25-0.3 for light and 0.1 for heavy vehicles in the Dutch emission factors)",
        description="Directly emitted NO2 fraction f_NO2 of the traffic NOx",
    )
    ozone_b: float = param(
        0.6,
        unit="-",
        source="Rbl 2007 Bijlage 2, SRM1 (B = 0.6)",
        description="SRM1 NO2 conversion constant B",
    )
    ozone_k_ugm3: float = param(
        100.0,
        unit="ug/m3",
        source="Rbl 2007 Bijlage 2, SRM1 (K = 100 ug/m3)",
        description="SRM1 NO2 conversion constant K",
    )
    street_type_coefficients: tuple[tuple[float, float, float, float], ...] = param(
        (
            (0.000310, -0.0182, 0.33, 0.799),
            (0.000500, -0.0316, 0.57, 0.0),
            (0.000488, -0.0308, 0.59, 0.0),
            (0.000325, -0.0205, 0.39, 0.856),
        ),
        unit="a (1/m2), b (1/m), c (-), alpha (-) per street type 1-4",
        source="SRM1 (Rbl 2007 Bijlage 2): the four coefficient sets as in E. Barratt's SRM1 code (2016), "
        "alpha continuous at 30 m; alpha for types 1 and 4 only as in Tygron's SRM1 formula page (2022); "
        "the order of the sets over the type numbers is inferred (see docs) and to verify against the "
        "Rbl table. alpha 0: no 30-60 m range",
        description="Dilution theta = a*S^2 + b*S + c up to 30 m, alpha*S^p for 30-60 m, per street type",
    )
    far_power: float = param(
        -0.747, unit="-", source="Rbl 2007 Bijlage 2, SRM1", description="Exponent p of theta = alpha * S^p"
    )
    near_distance_m: float = param(
        30.0, unit="m", source="Rbl 2007 Bijlage 2, SRM1", description="Range of the quadratic theta"
    )
    max_distance_m: float = param(
        60.0, unit="m", source="Rbl 2007 Bijlage 2, SRM1", description="Range of SRM1 from the road axis"
    )
    min_distance_m: float = param(
        5.0,
        unit="m",
        source="assumed (footprints that touch the road axis would otherwise get S = 0)",
        description="Smallest distance S from the road axis used for a facade",
    )
    open_road_classes: tuple[str, ...] = param(
        ("motorway", "trunk"),
        unit="road_class",
        source="assumed: SRM1 covers urban streets, SRM2 motorways; these links are treated as SRM1 type 1",
        description="Road classes treated as open roads (type 1) with a far-field decay beyond 60 m",
    )
    far_field_m: float = param(
        300.0,
        unit="m",
        source="assumed: the SRM1 power law (theta ~ S^-0.747, the near-field Gaussian line-source form) "
        "continued from 60 m up to this distance for open-road classes; 0 switches it off",
        description="Largest distance of the far-field contribution of motorway and trunk links",
    )
    emission_factors_g_km: dict[str, dict[str, float]] = param(
        {
            "light": {"a": 0.234, "b": 0.205, "c": 0.272, "d": 0.377, "e": 0.255},
            "medium": {"a": 1.909, "b": 2.732, "c": 4.532, "d": 7.277, "e": 3.089},
            "heavy": {"a": 1.909, "b": 2.732, "c": 4.532, "d": 7.277, "e": 3.089},
        },
        unit="g NOx per vehicle-km",
        source=EMISSION_SOURCE + "; speed types a snelweg 100 km/h, b buitenweg, c stad normaal, "
        "d stad stagnerend, e stad doorstromend",
        description="NOx emission factor per vehicle class and SRM1 speed type",
    )
    drive_speed_types: tuple[tuple[float, str], ...] = param(
        ((0.0, "c"), (35.0, "e"), (60.0, "b"), (85.0, "a")),
        unit="(km/h, speed type)",
        source="assumed mapping of the traffic model's loaded link speed to the SRM1 speed types",
        description="Speed type of moving traffic: the last entry whose speed is at most the link speed",
    )
    jam_speed_type: str = param(
        "d",
        unit="speed type",
        source="Rbl 2007 SRM1 (stagnerend verkeer)",
        description="Speed type of jammed traffic",
    )
    canyon_height_ratio: float = param(
        3.0,
        unit="-",
        source="Rbl 2007 Bijlage 2 street types 3 and 4 (closer to the axis than 3 x the building height; "
        "definition as recalled, to verify)",
        description="A building lines a street when S < ratio x height_m",
    )
    built_side_share: float = param(
        0.5,
        unit="share (0-1)",
        source="assumed ('min of meer aaneengesloten bebouwing' read as at least half the link)",
        description="Share of a link's length lined by such buildings for that side to count as built",
    )
    open_terrain_share: float = param(
        0.2,
        unit="share (0-1)",
        source="assumed",
        description="Below this share of both sides lined by buildings within 60 m a link is type 1",
    )
    tree_corridor_m: float = param(
        15.0,
        unit="m",
        source="assumed: the street space either side of the axis, where SRM1 looks at tree crowns",
        description="Half-width of the corridor in which tree crown cover is measured",
    )
    tree_cover_by_green_type: dict[str, float] = param(
        {"wood": 1.0, "park": 0.3},
        unit="share of the polygon under tree crowns (0-1)",
        source="assumed (wood fully, parks 30 %); planted trees count with their crown disc",
        description="Tree crown cover of green polygons by green_type",
    )
    tree_factor_rule: str = param(
        "classes",
        unit="classes | continuous",
        source="classes: Rbl 2007 SRM1 F_b = 1 / 1.25 / 1.5; continuous: Tygron's 1 + cover / 2",
        description="How the corridor's crown cover sets the tree factor F_b",
    )
    tree_cover_some: float = param(
        0.05,
        unit="share (0-1)",
        source="assumed translation of SRM1 F_b = 1.25 (rows of trees < 15 m apart, gaps between crowns)",
        description="Crown cover of the corridor from which F_b = 1.25",
    )
    tree_cover_many: float = param(
        0.25,
        unit="share (0-1)",
        source="assumed translation of SRM1 F_b = 1.5 (crowns touching over >= 1/3 of the street width)",
        description="Crown cover of the corridor from which F_b = 1.5",
    )
    aggregation: str = param(
        "max",
        unit="max | sum",
        source="SRM1 practice: one street segment per receptor (max); sum adds every link within 60 m",
        description="How the contributions of a building's nearby links are combined",
    )


# -- emission -------------------------------------------------------------------------------------


def drive_speed_type(speed_kmh: np.ndarray, params: AirParams) -> np.ndarray:
    """SRM1 speed type (letter) of moving traffic at each loaded link speed (km/h)."""
    bounds = np.array([bound for bound, _ in params.drive_speed_types], dtype=float)
    letters = np.array([letter for _, letter in params.drive_speed_types], dtype=object)
    if bounds.size == 0 or np.any(np.diff(bounds) <= 0):
        raise InvalidInputError(
            "drive_speed_types must list (km/h, speed type) pairs with increasing speeds.",
            invalid_params=[{"name": "drive_speed_types", "reason": "empty or not increasing"}],
        )
    position = np.searchsorted(bounds, np.asarray(speed_kmh, dtype=float), side="right") - 1
    return np.asarray(letters[np.clip(position, 0, bounds.size - 1)])


def _factor(params: AirParams, vehicle: str, speed_type: np.ndarray) -> np.ndarray:
    table = params.emission_factors_g_km.get(vehicle)
    needed = set(speed_type.tolist()) | {params.jam_speed_type}
    if table is None or not needed <= set(table):
        raise InvalidInputError(
            f"emission_factors_g_km needs class '{vehicle}' with speed types {', '.join(sorted(needed))}.",
            invalid_params=[{"name": "emission_factors_g_km", "reason": f"missing {vehicle} factors"}],
        )
    letters, position = np.unique(speed_type.astype(str), return_inverse=True)
    return np.array([float(table[letter]) for letter in letters.tolist()], dtype=float)[position]


def nox_emission(traffic: pd.DataFrame, params: AirParams) -> pd.Series:
    """NOx emission E (ug/m/s, both directions) of each link: ``sum_x n_x ((1-j) EF_drive + j EF_jam)``.

    ``traffic`` has ``light_veh_day``, ``medium_veh_day``, ``heavy_veh_day`` (vehicles/day),
    ``speed_kmh`` (loaded speed, picks the drive speed type) and ``congestion_share`` (j, 0-1).
    """
    speed_type = drive_speed_type(traffic["speed_kmh"].to_numpy(dtype=float), params)
    jam = np.clip(np.nan_to_num(traffic["congestion_share"].to_numpy(dtype=float)), 0.0, 1.0)
    emission = np.zeros(len(traffic))
    for vehicle in VEHICLE_CLASSES:
        per_second = np.nan_to_num(traffic[f"{vehicle}_veh_day"].to_numpy(dtype=float)) / SECONDS_PER_DAY
        drive = _factor(params, vehicle, speed_type)
        jammed = float(params.emission_factors_g_km[vehicle][params.jam_speed_type])
        emission += per_second * ((1.0 - jam) * drive + jam * jammed) * UG_PER_M_PER_G_PER_KM
    return pd.Series(emission, index=traffic.index, name=NOX_EMISSION)


# -- dispersion -----------------------------------------------------------------------------------


def _coefficients(params: AirParams) -> np.ndarray:
    table = np.asarray(params.street_type_coefficients, dtype=float)
    if table.shape != (len(STREET_TYPE_NAMES), 4):
        raise InvalidInputError(
            "street_type_coefficients must give (a, b, c, alpha) for each of the 4 street types.",
            invalid_params=[{"name": "street_type_coefficients", "reason": f"shape {table.shape}"}],
        )
    return table


def srm1_dilution(distance_m: np.ndarray, street_type: np.ndarray, params: AirParams) -> np.ndarray:
    """SRM1 dilution factor theta (-) at distance S (m) from the axis of a street of type 1-4.

    ``a S^2 + b S + c`` up to ``near_distance_m``; ``alpha S^p`` up to ``max_distance_m`` for types with
    an alpha; 0 beyond. S below ``min_distance_m`` counts as ``min_distance_m``.
    """
    a, b, c, alpha = _coefficients(params)[np.asarray(street_type, dtype=np.int64) - 1].T
    s = np.maximum(np.asarray(distance_m, dtype=float), params.min_distance_m)
    near = a * s * s + b * s + c
    far = alpha * s**params.far_power
    return np.where(s <= params.near_distance_m, near, np.where(s <= params.max_distance_m, far, 0.0))


def far_field_dilution(distance_m: np.ndarray, params: AirParams) -> np.ndarray:
    """Dilution (-) of an open road (type 1) beyond SRM1's range: ``alpha_1 S^p`` up to ``far_field_m``."""
    alpha = _coefficients(params)[0, 3]
    s = np.asarray(distance_m, dtype=float)
    inside = (s > params.max_distance_m) & (s <= params.far_field_m)
    return np.where(inside, alpha * np.maximum(s, params.max_distance_m) ** params.far_power, 0.0)


def no2_from_nox(
    nox_ugm3: np.ndarray, *, f_no2: float, ozone_ugm3: float, b: float, k_ugm3: float
) -> np.ndarray:
    """SRM1 street NO2 (ug/m3) from street NOx (ug/m3): direct NO2 plus NO oxidised by ozone."""
    nox = np.maximum(np.asarray(nox_ugm3, dtype=float), 0.0)
    no_part = nox * (1.0 - f_no2)
    return f_no2 * nox + b * ozone_ugm3 * no_part / (no_part + k_ugm3)


def tree_factor(cover: np.ndarray, params: AirParams) -> np.ndarray:
    """SRM1 tree factor F_b (1-1.5) from the crown cover (0-1) of a street's corridor.

    Trees hinder the dispersion of exhaust in a street, so F_b >= 1 raises the street contribution.
    """
    cover = np.clip(np.asarray(cover, dtype=float), 0.0, 1.0)
    if params.tree_factor_rule == "classes":
        return np.select([cover >= params.tree_cover_many, cover >= params.tree_cover_some], [1.5, 1.25], 1.0)
    if params.tree_factor_rule == "continuous":
        return np.clip(1.0 + cover / 2.0, 1.0, 1.5)
    raise InvalidInputError(
        "tree_factor_rule must be 'classes' or 'continuous'.",
        invalid_params=[{"name": "tree_factor_rule", "reason": f"unknown rule {params.tree_factor_rule!r}"}],
    )


# -- receptor geometry ----------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True)
def _pair_kernel(
    pair_road: np.ndarray,
    pair_building: np.ndarray,
    b_xy: np.ndarray,
    b_off: np.ndarray,
    r_xy: np.ndarray,
    r_off: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest facade and road points of each (road, building) pair, side and frontage (see caller)."""
    n = pair_road.shape[0]
    dist = np.empty(n)
    fx = np.empty(n)
    fy = np.empty(n)
    rx = np.empty(n)
    ry = np.empty(n)
    side = np.zeros(n, dtype=np.int8)
    frontage = np.zeros(n)
    for k in numba.prange(n):
        j = pair_road[k]
        i = pair_building[k]
        b0, b1 = b_off[i], b_off[i + 1] - 1
        r0, r1 = r_off[j], r_off[j + 1]
        best = np.inf
        seg = r0
        bfx = bfy = brx = bry = 0.0
        xmin = ymin = np.inf
        xmax = ymax = -np.inf
        for v in range(b0, b1):
            px, py = b_xy[v, 0], b_xy[v, 1]
            xmin, xmax, ymin, ymax = min(xmin, px), max(xmax, px), min(ymin, py), max(ymax, py)
            for s in range(r0, r1 - 1):
                ax, ay = r_xy[s, 0], r_xy[s, 1]
                dx, dy = r_xy[s + 1, 0] - ax, r_xy[s + 1, 1] - ay
                l2 = dx * dx + dy * dy
                t = 0.0
                if l2 > 0.0:
                    t = min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / l2))
                qx, qy = ax + t * dx, ay + t * dy
                d2 = (px - qx) ** 2 + (py - qy) ** 2
                if d2 < best:
                    best, seg, bfx, bfy, brx, bry = d2, s, px, py, qx, qy
        for s in range(r0, r1):
            px, py = r_xy[s, 0], r_xy[s, 1]
            gap_x = max(xmin - px, 0.0, px - xmax)
            gap_y = max(ymin - py, 0.0, py - ymax)
            if gap_x * gap_x + gap_y * gap_y >= best:
                continue
            for v in range(b0, b1):
                ax, ay = b_xy[v, 0], b_xy[v, 1]
                dx, dy = b_xy[v + 1, 0] - ax, b_xy[v + 1, 1] - ay
                l2 = dx * dx + dy * dy
                t = 0.0
                if l2 > 0.0:
                    t = min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / l2))
                qx, qy = ax + t * dx, ay + t * dy
                d2 = (px - qx) ** 2 + (py - qy) ** 2
                if d2 < best:
                    best, seg, bfx, bfy, brx, bry = d2, min(s, r1 - 2), qx, qy, px, py
        dist[k] = np.sqrt(best)
        fx[k], fy[k], rx[k], ry[k] = bfx, bfy, brx, bry
        if b1 <= b0 or r1 - r0 < 2:
            continue
        ax, ay = r_xy[seg, 0], r_xy[seg, 1]
        dx, dy = r_xy[seg + 1, 0] - ax, r_xy[seg + 1, 1] - ay
        length = np.sqrt(dx * dx + dy * dy)
        if length == 0.0:
            continue
        ux, uy = dx / length, dy / length
        cx = cy = 0.0
        low, high = np.inf, -np.inf
        for v in range(b0, b1):
            cx += b_xy[v, 0]
            cy += b_xy[v, 1]
            along = (b_xy[v, 0] - ax) * ux + (b_xy[v, 1] - ay) * uy
            low, high = min(low, along), max(high, along)
        cx /= b1 - b0
        cy /= b1 - b0
        cross = ux * (cy - ay) - uy * (cx - ax)
        side[k] = 1 if cross > 0.0 else (-1 if cross < 0.0 else 0)
        frontage[k] = high - low
    return dist, fx, fy, rx, ry, side, frontage


def _flat_coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    offsets = np.zeros(len(geoms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(geoms)), out=offsets[1:])
    return np.ascontiguousarray(xy, dtype=float), offsets


@dataclass(frozen=True)
class Footprints:
    """Building footprints prepared for pair queries: an STRtree and the exterior rings' coordinates."""

    tree: shapely.STRtree
    xy: np.ndarray
    offsets: np.ndarray

    @classmethod
    def of(cls, building_geoms: np.ndarray) -> Footprints:
        """Prepare footprint polygons (row positions are kept)."""
        xy, offsets = _flat_coordinates(shapely.get_exterior_ring(building_geoms))
        return cls(shapely.STRtree(building_geoms), xy, offsets)


PAIR_KEYS = ("distance_m", "facade_x", "facade_y", "road_x", "road_y", "side", "frontage_m")
"""Per-pair geometry returned by :func:`pair_arrays` besides the ``road`` and ``building`` positions."""


def pair_arrays(
    footprints: Footprints | np.ndarray, road_geoms: np.ndarray, max_distance_m: float
) -> dict[str, np.ndarray]:
    """(road, building) pairs within ``max_distance_m`` (m) as arrays of row positions and geometry.

    ``footprints``: polygons, or :class:`Footprints` prepared once for several calls. Keys: ``road`` and
    ``building`` (positions in the inputs), ``distance_m`` (footprint exterior to road axis),
    ``facade_x/_y`` and ``road_x/_y`` (the nearest points), ``side`` (+1 left, -1 right of the road's
    digitised direction, by the footprint's vertex mean; 0 on the axis), ``frontage_m`` (extent of the
    footprint along the nearest road segment). A footprint crossing the axis between vertices gets the
    distance of its nearest vertex, not 0.
    """
    prepared = footprints if isinstance(footprints, Footprints) else Footprints.of(footprints)
    d = float(max_distance_m)
    if len(road_geoms):
        x0, y0, x1, y1 = shapely.bounds(road_geoms).T
        road, building = prepared.tree.query(shapely.box(x0 - d, y0 - d, x1 + d, y1 + d))
    else:
        road = building = np.zeros(0, dtype=np.int64)
    r_xy, r_off = _flat_coordinates(road_geoms)
    road, building = road.astype(np.int64), building.astype(np.int64)
    values = _pair_kernel(road, building, prepared.xy, prepared.offsets, r_xy, r_off)
    keep = values[0] <= d
    out = {"road": road[keep], "building": building[keep]}
    out.update({name: value[keep] for name, value in zip(PAIR_KEYS, values, strict=True)})
    return out


def facade_road_pairs(buildings: gpd.GeoSeries, roads: gpd.GeoSeries, max_distance_m: float) -> pd.DataFrame:
    """Every (building, road) pair whose footprint lies within ``max_distance_m`` (m) of the road axis.

    Reusable receptor geometry (air quality, road noise): one row per pair with the input index labels
    (columns named after the input index names, default ``building_id`` and ``edge_id``),
    ``distance_m`` (facade to road axis, m), ``facade_x``/``facade_y`` and ``road_x``/``road_y`` (the
    nearest points, CRS units), ``side`` (+1 left / -1 right of the road's digitised direction) and
    ``frontage_m`` (the footprint's extent along the road, m). Polygon footprints (exterior ring) and
    line roads in a projected CRS in metres.
    """
    arrays = pair_arrays(buildings.to_numpy(), roads.to_numpy(), max_distance_m)
    building_name = buildings.index.name or "building_id"
    road_name = roads.index.name or "edge_id"
    columns = {
        building_name: buildings.index.to_numpy()[arrays["building"]],
        road_name: roads.index.to_numpy()[arrays["road"]],
    }
    for name in PAIR_KEYS:
        columns[name] = arrays[name]
    return pd.DataFrame(columns)


# -- street types and trees -----------------------------------------------------------------------


def classify_street_types(
    pairs: Mapping[str, np.ndarray], height_m: np.ndarray, road_length_m: np.ndarray, params: AirParams
) -> np.ndarray:
    """SRM1 street type (1-4) of each road from its (road, building) pairs within 60 m.

    A side is built when buildings with ``S < canyon_height_ratio x height`` and ``S <= 30 m`` line at
    least ``built_side_share`` of the link (summed frontage / length); both sides: 3, one side: 4;
    else 1 when all buildings within 60 m line less than ``open_terrain_share`` of both sides
    together, otherwise 2. Missing heights do not line a street.
    """
    n = len(road_length_m)
    length = np.maximum(np.asarray(road_length_m, dtype=float), 1.0)
    road = pairs["road"]
    distance = pairs["distance_m"]
    frontage = pairs["frontage_m"]
    height = np.nan_to_num(np.asarray(height_m, dtype=float)[pairs["building"]], nan=0.0)
    lines = (distance < params.canyon_height_ratio * height) & (distance <= params.near_distance_m)
    left = pairs["side"] >= 0
    left_share = np.bincount(road[lines & left], weights=frontage[lines & left], minlength=n) / length
    right_share = np.bincount(road[lines & ~left], weights=frontage[lines & ~left], minlength=n) / length
    any_share = np.bincount(road, weights=frontage, minlength=n) / (2.0 * length)
    built_left = left_share >= params.built_side_share
    built_right = right_share >= params.built_side_share
    open_type = np.where(any_share < params.open_terrain_share, 1, 2)
    return np.select([built_left & built_right, built_left | built_right], [3, 4], open_type).astype(np.int64)


def road_tree_cover(
    road_geoms: np.ndarray, green: gpd.GeoDataFrame, trees: gpd.GeoDataFrame, params: AirParams
) -> np.ndarray:
    """Share (0-1) of the corridor within ``tree_corridor_m`` of each road axis under tree crowns.

    Green polygons count with ``tree_cover_by_green_type``; planted trees (points) with their crown
    disc (``crown_diameter_m``) when the point lies in the corridor. Overlaps are not removed.
    """
    n = len(road_geoms)
    covered = np.zeros(n)
    if n == 0:
        return covered
    width = float(params.tree_corridor_m)
    weight_of = {str(key): float(value) for key, value in params.tree_cover_by_green_type.items()}
    green_weight = green["green_type"].astype(str).map(weight_of).fillna(0.0).to_numpy(dtype=float)
    polygons = green.geometry.to_numpy()[green_weight > 0]
    green_weight = green_weight[green_weight > 0]
    points = trees.geometry.to_numpy()
    crown = np.pi * (np.nan_to_num(trees["crown_diameter_m"].to_numpy(dtype=float)) / 2.0) ** 2
    x0, y0, x1, y1 = shapely.bounds(road_geoms).T
    boxes = shapely.box(x0 - width, y0 - width, x1 + width, y1 + width)
    green_tree = shapely.STRtree(polygons)
    point_tree = shapely.STRtree(points)
    candidates = np.union1d(green_tree.query(boxes)[0], point_tree.query(boxes)[0])
    if candidates.size == 0:
        return covered
    corridor = shapely.buffer(road_geoms[candidates], width, cap_style="flat", quad_segs=2)
    corridor_area = shapely.area(corridor)
    road_at, poly_at = green_tree.query(corridor, predicate="intersects")
    area = shapely.area(shapely.intersection(corridor[road_at], polygons[poly_at])) * green_weight[poly_at]
    covered[candidates] += np.bincount(road_at, weights=area, minlength=candidates.size)
    road_at, tree_at = point_tree.query(corridor, predicate="intersects")
    covered[candidates] += np.bincount(road_at, weights=crown[tree_at], minlength=candidates.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(corridor_area > 0, covered[candidates] / corridor_area, 0.0)
    out = np.zeros(n)
    out[candidates] = np.clip(share, 0.0, 1.0)
    return out


# -- run ------------------------------------------------------------------------------------------


def _traffic_frame(city: CityState, upstream: Mapping[str, ModelResult]) -> pd.DataFrame:
    needed = [f"{vehicle}_veh_day" for vehicle in VEHICLE_CLASSES] + ["speed_kmh", "congestion_share"]
    result = upstream.get(TRAFFIC_MODEL_ID)
    frame = None if result is None else result.objects.get("roads")
    missing = needed if frame is None else [column for column in needed if column not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"{MODEL_ID} needs the traffic result (upstream['{TRAFFIC_MODEL_ID}'].objects['roads'], index "
            f"edge_id) with columns {', '.join(missing)}; run the traffic model first.",
            invalid_params=[{"name": TRAFFIC_MODEL_ID, "reason": "missing or incomplete"}],
        )
    assert frame is not None
    traffic = pd.DataFrame(frame[needed]).reindex(city.roads.index)
    volumes = [f"{vehicle}_veh_day" for vehicle in VEHICLE_CLASSES]
    traffic[volumes] = traffic[volumes].fillna(0.0)
    free_speed = city.roads["free_speed_kmh"] if "free_speed_kmh" in city.roads.columns else np.nan
    traffic["speed_kmh"] = traffic["speed_kmh"].fillna(free_speed).fillna(50.0)
    traffic["congestion_share"] = traffic["congestion_share"].fillna(0.0)
    return traffic


def _combine(values: np.ndarray, building: np.ndarray, n: int, how: str) -> np.ndarray:
    if how == "sum":
        return np.bincount(building, weights=values, minlength=n)
    if how == "max":
        out = np.zeros(n)
        np.maximum.at(out, building, values)
        return out
    raise InvalidInputError(
        "aggregation must be 'max' or 'sum'.",
        invalid_params=[{"name": "aggregation", "reason": f"unknown aggregation {how!r}"}],
    )


def _weighted_mean(values: np.ndarray, residents: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Resident-weighted mean per group; the plain mean over the group's buildings where nobody lives."""
    total = np.bincount(group, weights=residents, minlength=n_groups)
    count = np.bincount(group, minlength=n_groups)
    weighted = np.bincount(group, weights=residents * values, minlength=n_groups)
    plain = np.bincount(group, weights=values, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, weighted / total, np.where(count > 0, plain / count, np.nan))


def exposure(
    no2: np.ndarray, no2_street: np.ndarray, residents: np.ndarray, group: np.ndarray, n_groups: int
) -> dict[str, np.ndarray]:
    """Area indicators from facade NO2 (ug/m3) and residents per building, ``group`` 0..n_groups-1.

    Resident-weighted means of NO2 and of the street part, the highest facade NO2, the shares of
    residents above 10 and 20 ug/m3 (NaN where nobody lives) and the residents above 40 ug/m3.
    """
    total = np.bincount(group, weights=residents, minlength=n_groups)
    peak = np.full(n_groups, np.nan)
    if group.size:
        order = np.lexsort((no2, group))
        last = np.r_[group[order][1:] != group[order][:-1], True]
        peak[group[order][last]] = no2[order][last]

    def above(limit: float) -> np.ndarray:
        return np.bincount(group, weights=residents * (no2 > limit), minlength=n_groups)

    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            NO2: _weighted_mean(no2, residents, group, n_groups),
            NO2_STREET: _weighted_mean(no2_street, residents, group, n_groups),
            NO2_MAX: peak,
            ABOVE_WHO_SHARE: np.where(total > 0, above(WHO_GUIDELINE_UGM3) / total, np.nan),
            ABOVE_20_SHARE: np.where(total > 0, above(EU_LIMIT_2030_UGM3) / total, np.nan),
            ABOVE_40: above(EU_LIMIT_UGM3),
        }


def _check_params(params: AirParams) -> None:
    bad = [
        name
        for name, ok in (
            ("wind_speed_ms", params.wind_speed_ms > 0),
            ("min_distance_m", params.min_distance_m > 0),
            ("f_no2", 0.0 <= params.f_no2 <= 1.0),
            ("near_distance_m", 0 < params.near_distance_m <= params.max_distance_m),
        )
        if not ok
    ]
    if bad:
        raise InvalidInputError(
            f"Out of range: {', '.join(bad)} (wind speed and distances must be positive, "
            "f_no2 within 0-1, near_distance_m at most max_distance_m).",
            invalid_params=[{"name": name, "reason": "out of range"} for name in bad],
        )


def run(city: CityState, upstream: Mapping[str, ModelResult], params: AirParams) -> ModelResult:
    """Annual mean NO2 at every building facade by SRM1 on the traffic result (see module docstring)."""
    _check_params(params)
    traffic = _traffic_frame(city, upstream)
    emission = nox_emission(traffic, params)
    roads = city.roads
    tunnel = roads["brunnel"].astype(str).eq("tunnel").to_numpy() if "brunnel" in roads.columns else False
    source = np.flatnonzero((emission.to_numpy() > 0) & ~tunnel)
    road_geoms = roads.geometry.to_numpy()[source]
    buildings = city.buildings
    footprints = Footprints.of(buildings.geometry.to_numpy())
    n_buildings = len(buildings)

    near = pair_arrays(footprints, road_geoms, params.max_distance_m)
    street_type = classify_street_types(
        near, buildings["height_m"].to_numpy(dtype=float), shapely.length(road_geoms), params
    )
    open_road = roads["road_class"].astype(str).isin(params.open_road_classes).to_numpy()[source]
    street_type[open_road] = 1
    cover = road_tree_cover(road_geoms, city.green, city.trees, params)
    f_b = tree_factor(cover, params)
    strength = params.calibration * emission.to_numpy()[source] * f_b * (5.0 / params.wind_speed_ms)

    pair_nox = strength[near["road"]] * srm1_dilution(near["distance_m"], street_type[near["road"]], params)
    nox = _combine(pair_nox, near["building"], n_buildings, params.aggregation)
    far_pairs = 0
    if params.far_field_m > params.max_distance_m and open_road.any():
        far = pair_arrays(footprints, road_geoms[open_road], params.far_field_m)
        beyond = far["distance_m"] > params.max_distance_m
        far_road = np.flatnonzero(open_road)[far["road"][beyond]]
        far_nox = strength[far_road] * far_field_dilution(far["distance_m"][beyond], params)
        nox = nox + _combine(far_nox, far["building"][beyond], n_buildings, params.aggregation)
        far_pairs = int(beyond.sum())

    no2_street = no2_from_nox(
        nox, f_no2=params.f_no2, ozone_ugm3=params.ozone_ugm3, b=params.ozone_b, k_ugm3=params.ozone_k_ugm3
    )
    no2 = params.background_no2_ugm3 + no2_street
    building_frame = pd.DataFrame({NO2: no2, NO2_STREET: no2_street}, index=buildings.index)

    residents = np.nan_to_num(buildings["residents_est"].to_numpy(dtype=float))
    buurt_index = pd.Index(city.buurten.index)
    code = buurt_index.get_indexer(buildings["bu_code"].to_numpy())
    inside = code >= 0
    by_buurt = exposure(no2[inside], no2_street[inside], residents[inside], code[inside], len(buurt_index))
    whole = exposure(no2, no2_street, residents, np.zeros(n_buildings, dtype=np.int64), 1)
    city_values = {name: float(values[0]) for name, values in whole.items()}
    length = shapely.length(roads.geometry.to_numpy())
    city_values[NOX_EMISSION_TOTAL] = float(np.nansum(emission.to_numpy() * length) * SECONDS_PER_YEAR / 1e12)

    source_index = roads.index[source]
    return ModelResult(
        city=city_values,
        buurt=pd.DataFrame(by_buurt, index=buurt_index),
        objects={"buildings": building_frame, "roads": emission.to_frame()},
        data={
            "street_type": pd.Series(street_type, index=source_index, name="street_type"),
            "tree_cover": pd.Series(cover, index=source_index, name="tree_cover"),
            "tree_factor": pd.Series(f_b, index=source_index, name="tree_factor"),
            "speed_type": pd.Series(
                drive_speed_type(traffic["speed_kmh"].to_numpy(dtype=float), params), index=roads.index
            ),
            "nox_street_ugm3": pd.Series(nox, index=buildings.index, name="nox_street_ugm3"),
            "pairs": int(near["road"].size),
            "far_pairs": far_pairs,
            "residents_outside_buurten": float(residents[~inside].sum()),
        },
    )


def _indicator(id_: str, title: str, unit: str, levels: tuple[Level, ...], description: str) -> Indicator:
    return Indicator(
        id=id_, title=title, unit=unit, domain="air", better="lower", levels=levels, description=description
    )


INFO = ModelInfo(
    id=MODEL_ID,
    version="1.0.0",
    title="Air quality: NO2 from road traffic (SRM1)",
    description="Annual mean NO2 concentration at every building facade: the background plus the "
    "contribution of nearby streets by the Dutch standard method for urban streets (SRM1), from the "
    "traffic model's volumes, the buildings along each street and the trees in it.",
    requires=(TRAFFIC_MODEL_ID,),
    reads=frozenset({"buildings", "roads", "green", "trees"}),
    indicators=(
        _indicator(
            NO2,
            "NO2 annual mean",
            "ug/m3",
            ("city", "buurt", "buildings"),
            "Background plus street contribution at the facade; per buurt and citywide the "
            "resident-weighted mean (plain mean over buildings where nobody lives).",
        ),
        _indicator(
            NO2_STREET,
            "NO2 from nearby streets",
            "ug/m3",
            ("city", "buurt", "buildings"),
            "The SRM1 street contribution (without background) at the facade; per buurt and citywide "
            "the resident-weighted mean.",
        ),
        _indicator(
            NO2_MAX,
            "Highest NO2 at a facade",
            "ug/m3",
            ("city", "buurt"),
            "The largest facade NO2 of any building in the area.",
        ),
        _indicator(
            ABOVE_WHO_SHARE,
            "Residents above the WHO guideline",
            "fraction (0-1)",
            ("city", "buurt"),
            "Share of residents (residents_est) whose facade NO2 exceeds the WHO 2021 guideline of "
            "10 ug/m3. NaN where nobody lives.",
        ),
        _indicator(
            ABOVE_20_SHARE,
            "Residents above 20 ug/m3",
            "fraction (0-1)",
            ("city", "buurt"),
            "Share of residents whose facade NO2 exceeds 20 ug/m3, the EU limit value from 2030 "
            "(Directive (EU) 2024/2881). NaN where nobody lives.",
        ),
        _indicator(
            ABOVE_40,
            "Residents above the EU limit",
            "residents",
            ("city", "buurt"),
            "Residents whose facade NO2 exceeds the EU and Dutch limit value of 40 ug/m3.",
        ),
        _indicator(
            NOX_EMISSION,
            "NOx emission of a road",
            "ug/m/s",
            ("roads",),
            "SRM1 emission E of the link (both directions) from the traffic volumes per vehicle class, "
            "the speed type and the congestion share.",
        ),
        _indicator(
            NOX_EMISSION_TOTAL,
            "NOx emission of road traffic",
            "t/year",
            ("city",),
            "Sum over all links of E x length, per year (tunnels included).",
        ),
    ),
    method="SRM1 (Regeling beoordeling luchtkwaliteit 2007, Bijlage 2): NOx emission per link from the "
    "traffic result and IenW emission factors; street type per link from the buildings along it "
    "(distance versus 3 x height on each side); dilution theta(S) at each facade within 60 m; tree "
    "factor from crown cover in the street; C[NOx] = 0.62 E theta F_b F_s, the largest contribution "
    "per building, converted to NO2 with the ozone formula and added to a background. Motorway and "
    "trunk links add a far-field power-law decay up to 300 m.",
    sources=(
        "Regeling beoordeling luchtkwaliteit 2007 (Rbl 2007), Bijlage 2: Standaardrekenmethode 1",
        "RIVM briefrapport 2014-0127 (SRM1/SRM2 description and NO2 conversion)",
        "Tygron Support wiki, Traffic NO2 overlay and formula (SRM1 implementation, 2022)",
        EMISSION_SOURCE,
        "WHO global air quality guidelines (2021); Directive 2008/50/EC; Directive (EU) 2024/2881",
    ),
    limitations=(
        "One background value for the whole city instead of the RIVM GCN 1x1 km grid, which varies "
        "across Dordrecht (higher near the A16 and the port areas).",
        "The four SRM1 dilution coefficient sets come from secondary sources and their order over the "
        "street type numbers is inferred (continuity at 30 m, Tygron's types with a 30-60 m range, "
        "more enclosed streets dilute less); verify against the Rbl 2007 table.",
        "Street types and tree factors are derived from footprints, heights and green polygons by "
        "assumed rules, not surveyed; crown cover of parks is a guess (30 %).",
        "Per building only the largest street contribution counts (SRM1 works per street segment), so "
        "corners between two busy streets are underestimated; 'sum' overestimates along long streets.",
        "SRM1 is meant for urban streets; motorways (SRM2) are approximated as open SRM1 roads with a "
        "power-law decay, without road height, screens or the double-counting correction with GCN.",
        "Medium and heavy vehicles share one freight emission factor (the source mixes them 2:1); no "
        "buses, cold starts or emission factors for other years than 2021.",
        "Facade distance uses footprint vertices and road vertices; a footprint crossing a road axis "
        "between vertices gets the distance of its nearest vertex.",
        "Annual means only: no hourly exceedances, no PM10/PM2.5, no indoor exposure.",
    ),
    register=AlgorithmRegisterEntry(
        name="Tweeling luchtkwaliteit NO2 (SRM1)",
        description_short="Berekent voor elk gebouw in Dordrecht de jaargemiddelde concentratie "
        "stikstofdioxide (NO2) aan de gevel: de achtergrond plus de bijdrage van het verkeer in nabije "
        "straten volgens standaardrekenmethode 1, en per buurt hoeveel bewoners boven de WHO-advieswaarde "
        "en de Europese grenswaarden wonen.",
        theme="Natuur en milieu",
        purpose_and_impact="Laat zien waar de luchtkwaliteit door verkeer het slechtst is en wat een "
        "scenario (minder autoverkeer, een andere route, nieuwe woningen, bomen in een straat) daaraan "
        "verandert. Het ondersteunt de voorbereiding van plannen; het is geen wettelijke toetsing en "
        "neemt geen besluiten over personen.",
        considerations="Een eenvoudige, erkende rekenmethode (SRM1) in plaats van een uitgebreid "
        "verspreidingsmodel, zodat scenario's in seconden door te rekenen zijn. De verkeerscijfers komen "
        "uit een eigen verkeersmodel en de straattypen en bomen zijn afgeleid uit kaartgegevens; de "
        "uitkomst is een indicatie die bij besluitvorming met metingen en officiële berekeningen "
        "(Monitoringstool, AERIUS) vergeleken moet worden.",
        human_intervention="Beleidsmedewerkers bekijken de uitkomsten en wegen ze af met metingen en "
        "andere informatie; er volgt geen automatische beslissing.",
        risk_management="Formules, parameters, bronnen en aannames zijn gedocumenteerd; tests controleren "
        "de formules met handberekeningen, de uitkomsten voor Dordrecht binnen marges en de richting van "
        "scenario-effecten. Onzekere keuzes (straattypen, achtergrondwaarde) staan als beperking vermeld.",
        data="Openbare gegevens: gebouwen (BAG/3D BAG-hoogtes), wegen en groen (OpenStreetMap), "
        "CBS-buurtgrenzen, geschatte aantallen bewoners per gebouw, verkeersintensiteiten uit het "
        "verkeersmodel en emissiefactoren van het ministerie van IenW. Geen persoonsgegevens.",
        technical_operation="Per weg wordt de uitstoot van stikstofoxiden berekend uit het aantal "
        "voertuigen en emissiefactoren. Per gebouw binnen 60 meter van een weg wordt met de formules van "
        "standaardrekenmethode 1 de verdunning over de afstand tot de weg berekend, rekening houdend met "
        "bebouwing langs de straat en bomen, en omgerekend naar NO2 met de ozonformule. Het algoritme is "
        "niet zelflerend.",
        legal_basis=(
            "Geen aparte wettelijke grondslag nodig: het model ondersteunt de voorbereiding van "
            "plannen, neemt geen besluiten en verwerkt geen persoonsgegevens. Kader: de "
            "omgevingswaarden voor luchtkwaliteit van de Omgevingswet; wettelijke toetsing gebeurt "
            "met de officiële rekenmethoden."
        ),
        legal_basis_title="Omgevingswet",
        legal_basis_link="https://wetten.overheid.nl/BWBR0037885",
        link="https://github.com/tweeling/tweeling/blob/main/docs/models/air_quality.md",
        source_code_link="https://github.com/tweeling/tweeling/blob/main/src/tweeling/scenarios/impacts/air_quality.py",
    ),
)

MODEL: ImpactModel[AirParams] = ImpactModel(info=INFO, params_type=AirParams, run=run)
