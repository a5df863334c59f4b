"""Liveability: a transparent, Leefbaarometer-like composite of the twin's own indicators.

Method (MODELS.md, "Liveability"):

1. Per dwelling building (residential or mixed with ``dwellings_est`` > 0, as in ``proximity``)
   the indicators are read from upstream models (NO2, road noise Lden, heat PET, distances to
   green and facilities) or computed here (green cover within 300 m, from the ``green`` layer).
2. Each indicator becomes a score from 0 (worst) to 100 (best) by a straight line between two
   FIXED thresholds, clipped: ``score = 100 * (worst - x) / (worst - best)``. The thresholds are
   parameters with sources, not the data's own minimum and maximum, so that a scenario's
   difference is meaningful and scores of two runs can be compared.
3. A dimension score is the weighted mean of its indicator scores, the total score the weighted
   mean of the dimension scores. A component that is missing (upstream model not run, column
   absent, or no value for that building) is left out and the remaining weights renormalised;
   ``data["components"]`` says which were used. A facility or green distance that is NaN in
   ``proximity`` output means none is reachable and scores 0.
4. Per buurt and citywide: dwelling-weighted means of the building scores.

Dimensions: physical environment (air, noise, heat, green) and facilities (proximity). Housing
and safety are part of the Leefbaarometer but the twin has no data for them: they are reported as
"not available" with weight 0. The score is a signal for comparing places and scenarios, not a
causal model of how people experience where they live.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.signal import fftconvolve

from tweeling.scenarios.city import CityState
from tweeling.scenarios.impacts.accessibility import dwelling_points
from tweeling.scenarios.model import (
    AlgorithmRegisterEntry,
    ImpactModel,
    Indicator,
    ModelInfo,
    ModelResult,
    param,
)

DIMENSIONS: tuple[str, ...] = ("physical", "facilities")
"""Dimensions with data, in output order."""

NOT_AVAILABLE: Mapping[str, str] = {
    "housing": "The twin has no measured housing data: residents per dwelling is the buurt average "
    "spread evenly over dwellings and floor areas are estimated from the same counts, so crowding "
    "or housing quality cannot be shown.",
    "safety": "The twin holds no crime, nuisance or perceived-safety data.",
}
"""Leefbaarometer dimensions the twin cannot fill, with the reason (weight 0)."""


@dataclass(frozen=True)
class Component:
    """One indicator of the composite: where its value comes from and how it is scored."""

    name: str
    dimension: str
    model: str
    column: str
    unit: str
    missing_is_worst: bool


GREEN_COVER = "green_cover"

COMPONENTS: tuple[Component, ...] = (
    Component("no2", "physical", "air_no2", "no2_ugm3", "ug/m3", False),
    Component("noise", "physical", "noise_road", "lden_db", "dB Lden", False),
    Component("heat", "physical", "heat_pet", "pet_c", "degC PET", False),
    Component("green_distance", "physical", "proximity", "dist_green_m", "m", True),
    Component(GREEN_COVER, "physical", "liveability", "green_cover_share", "fraction (0-1)", False),
    Component("gp", "facilities", "proximity", "dist_gp_m", "m", True),
    Component("pharmacy", "facilities", "proximity", "dist_pharmacy_m", "m", True),
    Component("supermarket", "facilities", "proximity", "dist_supermarket_m", "m", True),
    Component("school", "facilities", "proximity", "dist_school_m", "m", True),
    Component("care_home", "facilities", "proximity", "dist_care_home_m", "m", True),
    Component("public_transport", "facilities", "proximity", "dist_public_transport_m", "m", True),
)
"""The indicators, their dimension and their source (``liveability``: computed in this model)."""

FACILITY_COMPONENTS = tuple(c.name for c in COMPONENTS if c.dimension == "facilities")

SCORE_UNIT = "score (0-100, 100 = best)"

EQUAL = "assumed: equal weights, no empirical basis to prefer one"


@dataclass(frozen=True)
class LiveabilityParams:
    """Weights and fixed scoring thresholds of the liveability composite."""

    weight_physical: float = param(
        1.0,
        unit="relative weight",
        source="assumed: equal dimension weights (the Leefbaarometer's weights come from residents' "
        "judgements and house prices, which the twin cannot reproduce)",
        description="Weight of the physical-environment dimension in the total score.",
    )
    weight_facilities: float = param(
        1.0, unit="relative weight", source=EQUAL, description="Weight of the facilities dimension."
    )
    weight_no2: float = param(1.0, unit="relative weight", source=EQUAL, description="Weight of NO2.")
    weight_noise: float = param(
        1.0, unit="relative weight", source=EQUAL, description="Weight of road noise."
    )
    weight_heat: float = param(1.0, unit="relative weight", source=EQUAL, description="Weight of heat (PET).")
    weight_green_distance: float = param(
        0.5,
        unit="relative weight",
        source="assumed: green counts as one item, split over distance and cover",
        description="Weight of the walking distance to public green of at least 1 ha.",
    )
    weight_green_cover: float = param(
        0.5,
        unit="relative weight",
        source="assumed: green counts as one item, split over distance and cover",
        description="Weight of the green cover within green_cover_radius_m.",
    )
    weight_gp: float = param(1.0, unit="relative weight", source=EQUAL, description="Weight of GP distance.")
    weight_pharmacy: float = param(
        1.0, unit="relative weight", source=EQUAL, description="Weight of pharmacy distance."
    )
    weight_supermarket: float = param(
        1.0, unit="relative weight", source=EQUAL, description="Weight of supermarket distance."
    )
    weight_school: float = param(
        1.0, unit="relative weight", source=EQUAL, description="Weight of (primary) school distance."
    )
    weight_care_home: float = param(
        0.0,
        unit="relative weight",
        source="assumed: a care home serves its own residents, not every household's daily needs",
        description="Weight of care-home distance.",
    )
    weight_public_transport: float = param(
        0.0,
        unit="relative weight",
        source="assumed: the data holds no bus stops or railway station, only ferry terminals and one "
        "bus station, so the distance does not measure public transport access",
        description="Weight of public-transport distance.",
    )
    no2_best_ugm3: float = param(
        10.0,
        unit="ug/m3 (annual mean)",
        source="WHO Global Air Quality Guidelines 2021: annual NO2 guideline 10 ug/m3",
        description="NO2 at or below this scores 100.",
    )
    no2_worst_ugm3: float = param(
        40.0,
        unit="ug/m3 (annual mean)",
        source="EU limit value (Directive 2008/50/EC), annual mean NO2 40 ug/m3",
        description="NO2 at or above this scores 0.",
    )
    lden_best_db: float = param(
        45.0,
        unit="dB Lden",
        source="assumed: quiet, below the WHO 2018 road-traffic guideline (53 dB Lden) and the Dutch "
        "preferred value for road noise (48 dB, Wet geluidhinder)",
        description="Road noise at or below this scores 100.",
    )
    lden_worst_db: float = param(
        70.0,
        unit="dB Lden",
        source="assumed: the loudest façades along busy urban roads",
        description="Road noise at or above this scores 0.",
    )
    pet_best_c: float = param(
        29.0,
        unit="degC PET",
        source="Matzarakis & Mayer (1996) PET classes: above 29 degC moderate heat stress",
        description="PET at or below this on the hot afternoon scores 100.",
    )
    pet_worst_c: float = param(
        41.0,
        unit="degC PET",
        source="Matzarakis & Mayer (1996) PET classes: above 41 degC extreme heat stress",
        description="PET at or above this scores 0.",
    )
    green_distance_best_m: float = param(
        300.0,
        unit="m",
        source="WHO Regional Office for Europe (2016): green of at least 1 ha within 300 m; 3-30-300 "
        "rule (Konijnendijk 2023)",
        description="Distance to public green at or below this scores 100.",
    )
    green_distance_worst_m: float = param(
        1500.0,
        unit="m",
        source="assumed: about a 20-minute walk",
        description="Distance to public green at or above this scores 0.",
    )
    green_cover_best: float = param(
        0.30,
        unit="fraction (0-1)",
        source="assumed, after the 3-30-300 rule's 30 % canopy cover per neighbourhood (Konijnendijk "
        "2023), applied to all mapped green",
        description="Green cover at or above this share of the area within the radius scores 100.",
    )
    green_cover_worst: float = param(
        0.0, unit="fraction (0-1)", source="assumed: no green at all", description="Green cover scoring 0."
    )
    green_cover_radius_m: float = param(
        300.0,
        unit="m",
        source="assumed: the 300 m of the WHO (2016) indicator and the 3-30-300 rule",
        description="Radius around a dwelling within which green cover is measured (straight line).",
    )
    green_cover_cell_m: float = param(
        20.0,
        unit="m",
        source="assumed: fine enough for a 300 m radius (10 m gives the same quartiles on Dordrecht)",
        description="Cell size of the grid green is rasterised on.",
    )
    green_cover_types: tuple[str, ...] = param(
        (
            "grass",
            "wood",
            "park",
            "recreation_ground",
            "garden",
            "allotments",
            "cemetery",
            "sports_pitch",
            "playground",
            "wetland",
        ),
        unit="green_type values",
        source="assumed: vegetated land people see and use; farmland and the national_park / "
        "nature_reserve designations (which include water) are left out",
        description="Green types counted as green cover.",
    )
    facility_best_m: float = param(
        300.0,
        unit="m",
        source="assumed: about a 4-minute walk",
        description="Distance to a facility at or below this scores 100.",
    )
    facility_worst_m: float = param(
        1500.0,
        unit="m",
        source="assumed: about a 20-minute walk, above the Dutch mean distance to a GP practice (1.1 km, "
        "CBS Nabijheid voorzieningen 2023)",
        description="Distance to a facility at or above this scores 0.",
    )


def normalise(values: np.ndarray, best: float, worst: float) -> np.ndarray:
    """Score 0-100 on a straight line from ``worst`` (0) to ``best`` (100), clipped; NaN stays NaN.

    Works both ways: ``best < worst`` (lower is better, e.g. NO2) and ``best > worst`` (green cover).
    """
    if best == worst:
        raise ValueError("normalise: best and worst thresholds must differ")
    score = 100.0 * (worst - np.asarray(values, dtype=float)) / (worst - best)
    return np.clip(score, 0.0, 100.0)


def weighted_mean(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted mean of ``scores`` (rows x components), skipping NaN (weights renormalised).

    NaN where a row has no value with a positive weight.
    """
    usable = np.isfinite(scores) & (weights > 0)[None, :]
    weight = np.where(usable, weights[None, :], 0.0)
    total = weight.sum(axis=1)
    summed = (np.where(usable, scores, 0.0) * weight).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, summed / total, np.nan)


def green_cover_share(
    green: gpd.GeoDataFrame,
    x: np.ndarray,
    y: np.ndarray,
    *,
    types: tuple[str, ...],
    radius_m: float,
    cell_m: float,
) -> np.ndarray:
    """Share (0-1) of the disc of ``radius_m`` around each point (x, y; m RD) covered by green.

    Green polygons of ``types`` are rasterised on a ``cell_m`` grid (cell centre inside) and summed
    over a disc kernel (FFT convolution, rounded to 1e-6); overlapping polygons count once.
    """
    if x.shape[0] == 0:
        return np.zeros(0)
    pad = radius_m + cell_m
    x_min, y_max = float(x.min()) - pad, float(y.max()) + pad
    cols = int(np.ceil((float(x.max()) + pad - x_min) / cell_m))
    rows = int(np.ceil((y_max - (float(y.min()) - pad)) / cell_m))
    grid = np.zeros((rows, cols))
    chosen = green[green["green_type"].isin(list(types)).to_numpy()]
    polygons = shapely.get_parts(chosen.geometry.to_numpy())
    if polygons.shape[0]:
        bounds = shapely.bounds(polygons)
        col0 = np.clip(np.ceil((bounds[:, 0] - x_min) / cell_m - 0.5), 0, cols).astype(np.int64)
        col1 = np.clip(np.floor((bounds[:, 2] - x_min) / cell_m - 0.5) + 1, 0, cols).astype(np.int64)
        row0 = np.clip(np.ceil((y_max - bounds[:, 3]) / cell_m - 0.5), 0, rows).astype(np.int64)
        row1 = np.clip(np.floor((y_max - bounds[:, 1]) / cell_m - 0.5) + 1, 0, rows).astype(np.int64)
        width, height = np.maximum(col1 - col0, 0), np.maximum(row1 - row0, 0)
        count = width * height
        polygon = np.repeat(np.arange(polygons.shape[0]), count)
        rank = np.arange(polygon.shape[0]) - np.repeat(np.cumsum(count) - count, count)
        row = row0[polygon] + rank // np.maximum(width[polygon], 1)
        col = col0[polygon] + rank % np.maximum(width[polygon], 1)
        shapely.prepare(polygons)  # get_parts returns copies: the city's geometries stay untouched
        inside = shapely.contains_xy(
            polygons[polygon], x_min + (col + 0.5) * cell_m, y_max - (row + 0.5) * cell_m
        )
        grid[row[inside], col[inside]] = 1.0
    reach = int(np.floor(radius_m / cell_m))
    offsets = np.arange(-reach, reach + 1) * cell_m
    kernel = (np.add.outer(offsets**2, offsets**2) <= radius_m**2).astype(float)
    kernel /= kernel.sum()
    share = fftconvolve(grid, kernel, mode="same")
    col_of = ((x - x_min) // cell_m).astype(np.int64)
    row_of = ((y_max - y) // cell_m).astype(np.int64)
    return np.clip(np.round(share[row_of, col_of], 6), 0.0, 1.0) + 0.0


def _thresholds(params: LiveabilityParams, name: str) -> tuple[float, float]:
    if name in FACILITY_COMPONENTS:
        return params.facility_best_m, params.facility_worst_m
    pairs = {
        "no2": (params.no2_best_ugm3, params.no2_worst_ugm3),
        "noise": (params.lden_best_db, params.lden_worst_db),
        "heat": (params.pet_best_c, params.pet_worst_c),
        "green_distance": (params.green_distance_best_m, params.green_distance_worst_m),
        GREEN_COVER: (params.green_cover_best, params.green_cover_worst),
    }
    return pairs[name]


def _upstream_values(
    upstream: Mapping[str, ModelResult], component: Component, index: pd.Index
) -> tuple[np.ndarray | None, str]:
    result = upstream.get(component.model)
    if result is None:
        return None, f"left out: model {component.model!r} was not run"
    frame = result.objects.get("buildings")
    if frame is None or component.column not in frame.columns:
        return None, f"left out: {component.model!r} has no buildings column {component.column!r}"
    return frame[component.column].reindex(index).to_numpy(dtype=float), "used"


def _dwelling_weighted(codes: np.ndarray, size: int, weight: np.ndarray, values: np.ndarray) -> np.ndarray:
    known = np.isfinite(values)
    total = np.bincount(codes, weights=np.where(known, weight, 0.0), minlength=size)
    summed = np.bincount(codes, weights=np.where(known, weight * values, 0.0), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, summed / total, np.nan)


def _component_scores(
    city: CityState, upstream: Mapping[str, ModelResult], params: LiveabilityParams, homes: pd.DataFrame
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    """Raw values, scores (0-100) and a description of every component, per dwelling building."""
    raw: dict[str, np.ndarray] = {}
    scores: dict[str, np.ndarray] = {}
    described: dict[str, dict[str, Any]] = {}
    for component in COMPONENTS:
        weight = float(getattr(params, f"weight_{component.name}"))
        best, worst = _thresholds(params, component.name)
        values: np.ndarray | None
        if component.name == GREEN_COVER:
            values = green_cover_share(
                city.green,
                homes["x"].to_numpy(),
                homes["y"].to_numpy(),
                types=params.green_cover_types,
                radius_m=params.green_cover_radius_m,
                cell_m=params.green_cover_cell_m,
            )
            status = "used"
        else:
            values, status = _upstream_values(upstream, component, homes.index)
        coverage = 0.0
        if values is not None:
            score = normalise(values, best, worst)
            if component.missing_is_worst:
                score = np.where(np.isnan(values), 0.0, score)
            raw[component.name], scores[component.name] = values, score
            coverage = float(np.isfinite(score).mean()) if score.shape[0] else 0.0
            if weight <= 0:
                status = "left out: weight 0"
        described[component.name] = {
            "dimension": component.dimension,
            "source": f"{component.model}.{component.column}",
            "unit": component.unit,
            "best": best,
            "worst": worst,
            "weight": weight if values is not None else 0.0,
            "status": status,
            "coverage": coverage,
        }
    return raw, scores, described


def run(city: CityState, upstream: Mapping[str, ModelResult], params: LiveabilityParams) -> ModelResult:
    """Liveability scores per dwelling building, per buurt and citywide (see module docstring)."""
    homes = dwelling_points(city.buildings)
    size = len(homes.index)
    raw, scores, described = _component_scores(city, upstream, params, homes)

    dimension_scores: dict[str, np.ndarray] = {}
    dimensions: dict[str, dict[str, Any]] = {}
    for dimension in DIMENSIONS:
        names = [c.name for c in COMPONENTS if c.dimension == dimension]
        weights = np.array([described[name]["weight"] for name in names], dtype=float)
        matrix = np.column_stack([scores.get(name, np.full(size, np.nan)) for name in names])
        dimension_scores[dimension] = weighted_mean(matrix, weights)
        used = [name for name, w in zip(names, weights, strict=True) if w > 0]
        weight = float(getattr(params, f"weight_{dimension}"))
        dimensions[dimension] = {
            "weight": weight if used else 0.0,
            "status": "used" if used and weight > 0 else "left out",
            "components": used,
        }
    for dimension, reason in NOT_AVAILABLE.items():
        dimensions[dimension] = {"weight": 0.0, "status": "not available", "reason": reason, "components": []}
    dimension_weights = np.array([dimensions[d]["weight"] for d in DIMENSIONS], dtype=float)
    total = weighted_mean(np.column_stack([dimension_scores[d] for d in DIMENSIONS]), dimension_weights)

    dimension_sum = float(dimension_weights.sum())
    for name, item in described.items():
        group = dimensions[item["dimension"]]
        within = sum(described[other]["weight"] for other in group["components"])
        share = group["weight"] / dimension_sum if dimension_sum > 0 else 0.0
        item["effective_weight"] = share * item["weight"] / within if name in group["components"] else 0.0
    components = pd.DataFrame.from_dict(described, orient="index")
    components.index.name = "component"

    per_building = pd.DataFrame(
        {
            "liveability_score": total,
            "score_physical": dimension_scores["physical"],
            "score_facilities": dimension_scores["facilities"],
        },
        index=homes.index,
    )
    buurt_index = pd.Index(city.buurten.index)
    codes = buurt_index.get_indexer(homes["bu_code"].to_numpy())
    in_buurt = codes >= 0
    dwellings = homes["dwellings"].to_numpy(dtype=float)
    buurt = pd.DataFrame(
        {
            column: _dwelling_weighted(
                codes[in_buurt], len(buurt_index), dwellings[in_buurt], per_building[column].to_numpy()
            )
            for column in per_building.columns
        },
        index=buurt_index,
    )
    whole = np.zeros(size, dtype=np.int64)
    city_values = {
        column: float(_dwelling_weighted(whole, 1, dwellings, per_building[column].to_numpy())[0])
        for column in per_building.columns
    }
    return ModelResult(
        city=city_values,
        buurt=buurt,
        objects={"buildings": per_building.reindex(city.buildings.index)},
        data={
            "components": components,
            "used": [name for name, item in described.items() if item["effective_weight"] > 0],
            "dimensions": dimensions,
            "indicator_values": pd.DataFrame(raw, index=homes.index),
            "indicator_scores": pd.DataFrame(scores, index=homes.index),
        },
    )


def _indicators() -> tuple[Indicator, ...]:
    levels: tuple[Any, ...] = ("city", "buurt", "buildings")
    return (
        Indicator(
            id="liveability_score",
            title="Liveability score",
            unit=SCORE_UNIT,
            domain="liveability",
            better="higher",
            levels=levels,
            description="Weighted mean of the dimension scores (physical environment, facilities); per "
            "buurt and citywide the dwelling-weighted mean. A signal, not a causal model.",
        ),
        Indicator(
            id="score_physical",
            title="Liveability: physical environment",
            unit=SCORE_UNIT,
            domain="liveability",
            better="higher",
            levels=levels,
            description="Weighted mean of the NO2, road noise, heat (PET), distance-to-green and "
            "green-cover scores, each scored between fixed thresholds.",
        ),
        Indicator(
            id="score_facilities",
            title="Liveability: facilities",
            unit=SCORE_UNIT,
            domain="liveability",
            better="higher",
            levels=levels,
            description="Weighted mean of the walking-distance scores to GP, pharmacy, supermarket and "
            "school (care home and public transport have weight 0 by default).",
        ),
    )


INFO = ModelInfo(
    id="liveability",
    version="1.0.0",
    title="Liveability (Leefbaarometer-like composite)",
    description="A transparent composite score (0-100) per dwelling, buurt and city from the twin's own "
    "indicators: air (NO2), road noise, heat, green and walking distance to daily facilities, each "
    "scored between fixed, documented thresholds with adjustable weights.",
    requires=("air_no2", "noise_road", "heat_pet", "proximity"),
    reads=frozenset({"buildings", "green", "buurten"}),
    indicators=_indicators(),
    method="Each indicator is scored 0-100 on a straight line between fixed best and worst thresholds "
    "(clipped); dimension scores are weighted means of their indicator scores and the total score a "
    "weighted mean of the dimension scores. Missing components are left out and the weights "
    "renormalised per dwelling. Green cover: share of a 300 m disc covered by mapped green, from a "
    "20 m grid. Buurt and city: dwelling-weighted means.",
    sources=(
        "Leefbaarometer 3.0 (Ministerie van BZK): dimensions and its caution that it is a signalling "
        "instrument, not a causal model",
        "WHO Global Air Quality Guidelines (2021); EU Directive 2008/50/EC",
        "WHO Environmental Noise Guidelines for the European Region (2018)",
        "Matzarakis & Mayer (1996), PET thermal-perception classes",
        "WHO Regional Office for Europe (2016), Urban green spaces and health; Konijnendijk (2023), "
        "the 3-30-300 rule",
        "CBS Nabijheid voorzieningen (mean distance to a GP practice, the Netherlands)",
    ),
    limitations=(
        "A signal, not a causal model: a higher score does not mean residents experience their "
        "neighbourhood as better, and a measure that raises the score is not necessarily the best "
        "lever (as the Leefbaarometer itself warns).",
        "Thresholds and weights are assumptions made visible and adjustable, not fitted to residents' "
        "judgements or house prices as in the Leefbaarometer; scores are not comparable with it.",
        "Housing and safety dimensions are not available (no data in the twin) and have weight 0; "
        "the Leefbaarometer's social-cohesion dimension is not modelled either.",
        "Each input carries the limits of its own model (air_no2, noise_road, heat_pet, proximity); "
        "missing inputs are left out and the weights renormalised, so compare scores only between runs "
        "with the same components (data['components']).",
        "Green cover counts mapped OSM green only: private gardens are mostly missing.",
    ),
    register=AlgorithmRegisterEntry(
        name="Tweeling leefbaarheidsscore",
        description_short="Combineert luchtkwaliteit, geluid, hitte, groen en de loopafstand tot "
        "voorzieningen tot een score van 0 tot 100 per woning, buurt en stad, zodat zichtbaar wordt wat "
        "een scenario betekent voor de leefomgeving.",
        theme="Ruimtelijke ordening",
        purpose_and_impact="Geeft een samenvattend signaal van de fysieke leefomgeving en de nabijheid "
        "van voorzieningen, per dimensie zichtbaar, om scenario's te vergelijken. Het is geen causaal "
        "model en geen oordeel over bewoners; het neemt geen besluiten over personen.",
        considerations="Een eenvoudige, navolgbare samengestelde score met vaste, gedocumenteerde "
        "drempels en aanpasbare gewichten, in plaats van de Leefbaarometer zelf (die niet per scenario "
        "te herberekenen is). Veiligheid en woningvoorraad ontbreken omdat er geen gegevens zijn.",
        human_intervention="Beleidsmedewerkers bekijken de scores per dimensie en wegen ze af met "
        "andere informatie en met bewoners; er volgt geen automatische beslissing.",
        risk_management="Drempels, gewichten en bronnen zijn openbaar en instelbaar; ontbrekende "
        "onderdelen worden gemeld; tests controleren de berekening met de hand en de richting van "
        "effecten.",
        data="Uitkomsten van de andere modellen van de tweeling (NO2, geluid, hitte, afstand tot "
        "voorzieningen) en openbare gegevens over groen (OpenStreetMap) en buurten (CBS). Geen "
        "persoonsgegevens.",
        technical_operation="Elke indicator wordt met vaste drempels omgezet naar een score van 0 tot "
        "100; gewogen gemiddelden geven de score per dimensie en de totaalscore. Het algoritme is niet "
        "zelflerend.",
        legal_basis=(
            "Geen aparte wettelijke grondslag nodig: het model ondersteunt de voorbereiding van "
            "plannen, neemt geen besluiten en verwerkt geen persoonsgegevens. Kader: de "
            "omgevingsvisie en ruimtelijke plannen van de gemeente onder de Omgevingswet."
        ),
        legal_basis_title="Omgevingswet",
        legal_basis_link="https://wetten.overheid.nl/BWBR0037885",
        link="https://github.com/tweeling/tweeling/blob/main/docs/models/liveability.md",
        source_code_link="https://github.com/tweeling/tweeling/blob/main/src/tweeling/scenarios/impacts/liveability.py",
    ),
)

MODEL: ImpactModel[LiveabilityParams] = ImpactModel(info=INFO, params_type=LiveabilityParams, run=run)
