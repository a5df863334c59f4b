"""Road-traffic noise at dwelling facades: Lden and Lnight with SRM1 of the RMG 2012 (broadband).

Emission per road link and vehicle category in the form of Standaardrekenmethode 1 (Reken- en
meetvoorschrift geluid 2012, Bijlage III §1.5): ``E_m = a_m + b_m lg(v_m/v0_m) + 10 lg(Q_m/v_m) +
C_w``, summed energetically over light, medium and heavy vehicles, for day, evening and night. E is
the A-weighted level at 1 m from a long straight road in free field (dB(A)).

Propagation ``L = E + C_o + C_r - D_a - D_l - D_b - D_m - D_s`` (C_o = C_r = 0). Each road link is cut
into straight segments and every segment counts with the angle dtheta it subtends at the receptor,
``10 lg(dtheta/pi) - 10 lg r`` (the angle-of-view integral of an incoherent line source), so that a
long straight road gives SRM1's ``D_a = 10 lg r`` exactly; segments seen under more than
``view_step_deg`` are split into pieces, each with its own D_l, D_b, D_m and line of sight. D_s is a
fixed screening when the line of sight from the receptor to the piece crosses another building
(the first building row counts; traced on a building raster).

Receptors: the four sides of the smallest rectangle around each dwelling footprint (aligned with one
of its walls); each side receives the road in its front half-plane at its midpoint, 4 m above
ground; a building's level is that of its loudest side. Within 50 m of a building the sides are
computed one by one; farther away the roads are seen once from the rectangle's centre and count at
the sides facing them (``BANDS``). Each link counts up to the distance where it alone would give
``cutoff_db`` Lden. Method, coefficients and sources: ``docs/models/noise.md``.

:func:`facade_road_pairs` (buildings near road segments, with their distance) is a separate public
function so that other near-road models (SRM1 NO2) can share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numba
import numpy as np
import pandas as pd
import shapely

from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.city import CityChange, CityState
from tweeling.scenarios.impacts._parallel import block_bounds, in_threads
from tweeling.scenarios.impacts._raster import Grid, rasterize_mask
from tweeling.scenarios.model import (
    AlgorithmRegisterEntry,
    ImpactModel,
    Indicator,
    ModelInfo,
    ModelResult,
    param,
)

MODEL_ID = "noise_road"
CATEGORIES = ("light", "medium", "heavy")
PERIOD_HOURS = {"day": 12.0, "evening": 4.0, "night": 8.0}
"""Hours of the Lden periods (Directive 2002/49/EC Annex I): day 07-19, evening 19-23, night 23-07."""

EMISSION_COEFFICIENTS: Mapping[str, tuple[float, float, float]] = {
    "light": (69.3, 29.8, 80.0),
    "medium": (71.3, 18.1, 70.0),
    "heavy": (74.2, 18.1, 70.0),
}
"""(a_m dB(A), b_m dB(A) per decade of speed, v0_m km/h) per vehicle category for dense asphalt
concrete (DAB, C_w = 0). v0 is RMG 2012 Bijlage III §1.5. a and b are the broadband equivalent of
the octave-band emission table of the same Bijlage (§2.4.1, Tabel 2.1 and 2.2): the energetic sum
over the octaves, fitted linearly in lg(v/v0) over 30-130 km/h (light) and 30-100 km/h (medium,
heavy), residual <= 0.4 dB, minus 36.0 dB (30 dB for vehicles per km to per m, 10 lg 4 for an
incoherent line source at 1 m). The constants printed in SRM1 formulas 1.4-1.6 are to verify
against the official text; see docs/models/noise.md."""

SPEED_RANGE_KMH: Mapping[str, tuple[float, float]] = {
    "light": (30.0, 130.0),
    "medium": (30.0, 100.0),
    "heavy": (30.0, 100.0),
}
"""Speeds at which the emission formula is used (RMG 2012 Bijlage III §4.3.4 regression ranges);
speeds outside are clipped to the range."""

FACADES = 4
RECEPTOR_USES = ("residential", "mixed")
"""Building uses whose dwellings get a noise level (MODELS.md: dwellings' facades)."""


def _assumed(text: str) -> str:
    return f"assumed: {text}"


@dataclass(frozen=True)
class NoiseParams:
    """Parameters of the road-noise model (SI units; levels in dB(A))."""

    hourly_share: dict[str, tuple[float, float, float]] = param(
        {
            "light": (0.065, 0.035, 0.010),
            "medium": (0.070, 0.025, 0.0075),
            "heavy": (0.070, 0.020, 0.010),
        },
        unit="share of daily volume per hour (day, evening, night)",
        source=_assumed(
            "typical Dutch urban day/evening/night pattern; light 6.5/3.5/1.0 %/h as in the brief, "
            "medium and heavy more daytime; each category sums to 1 over 12+4+8 h"
        ),
        description="Share of the daily volume driving per hour in the day, evening and night period",
    )
    heavy_speed_max_kmh: float = param(
        80.0,
        unit="km/h",
        source="RVV 1990: lorries and buses drive at most 80 km/h on motorways",
        description="Upper speed of medium and heavy vehicles; they drive min(link speed, this)",
    )
    surface_correction_db: float = param(
        0.0,
        unit="dB(A)",
        source="RMG 2012 Bijlage III §1.5: C_w = 0 for the reference surface dense asphalt (DAB)",
        description="Road-surface correction C_w for all links (negative for quiet surfaces)",
    )
    max_distance_m: float = param(
        1000.0,
        unit="m",
        source=_assumed("motorways and trunk roads still give 50-60 dB Lden over open ground at 1 km"),
        description="Largest distance from a road to a dwelling building that is computed",
    )
    cutoff_db: float = param(
        47.0,
        unit="dB Lden",
        source=_assumed("8 dB below the 55 dB reporting threshold; docs/models/noise.md gives its effect"),
        description="A link is computed up to the distance where it alone, as a long unscreened "
        "road, would give this Lden (capped at max_distance_m)",
    )
    background_lden_db: float = param(
        35.0,
        unit="dB Lden",
        source=_assumed("a quiet residential background of distant traffic below the per-link cutoff"),
        description="Background level added (energetically) at every dwelling facade, so that a dwelling "
        "no road reaches (e.g. in a car-free zone) counts as quiet rather than unknown; Lnight 8 dB lower",
    )
    segment_length_m: float = param(
        25.0,
        unit="m",
        source=_assumed("10 m changes Lden by less than 0.3 dB (std) on Dordrecht; see docs/models/noise.md"),
        description="Within 50 m of a building, road links are split into straight segments of at most "
        "this length",
    )
    min_distance_m: float = param(
        4.0,
        unit="m",
        source=_assumed("half a two-lane carriageway plus a pavement; guards against mapping offsets"),
        description="Smallest horizontal distance between a facade and a road centreline",
    )
    receiver_height_m: float = param(
        4.0,
        unit="m",
        source="Directive 2002/49/EC Annex I: Lden and Lnight are assessed at 4 m above ground",
        description="Height of the facade receptor above ground",
    )
    source_height_m: float = param(
        0.75,
        unit="m",
        source="RMG 2012 Bijlage III §1.1: the rijlijn lies 0.75 m above the road surface",
        description="Height of the sound source above ground (road at ground level)",
    )
    soft_ground_share: float = param(
        0.3,
        unit="share (0-1)",
        source=_assumed("urban ground between road and facade: mostly paved, gardens and verges"),
        description="Share of acoustically soft (porous) ground on the propagation path, G",
    )
    screening_db: float = param(
        10.0,
        unit="dB",
        source=_assumed(
            "one building row; ISO 9613-2 caps barrier attenuation at 20 dB and housing attenuation "
            "at 10 dB; gaps and reflections (not modelled) keep real rear facades at 10-20 dB"
        ),
        description="Attenuation of a segment whose line of sight to the facade crosses another building",
    )
    screen_min_height_m: float = param(
        3.0,
        unit="m",
        source=_assumed("sheds and garages lower than this do not screen a receptor at 4 m"),
        description="Buildings at least this high screen",
    )
    screen_cell_m: float = param(
        2.0,
        unit="m",
        source=_assumed("keeps alleys of 2 m and more open; 47 MB of cells for Dordrecht"),
        description="Cell size of the building raster the lines of sight are traced over",
    )
    view_step_deg: float = param(
        15.0,
        unit="degree",
        source=_assumed(
            "SRM2 uses sectors of 2-5 degrees; 3 degrees changes Lden by 0.2 dB (std) on Dordrecht"
        ),
        description="A segment seen under a larger angle is split into pieces of at most this angle, "
        "each with its own distance terms and line of sight",
    )


INDICATORS = (
    Indicator(
        "lden_db",
        "Road-traffic noise Lden at the most exposed facade",
        "dB",
        "noise",
        "lower",
        ("buildings",),
        "Lden (dB(A), day-evening-night level with +5/+10 dB penalties) of road traffic at the "
        "loudest facade of each building with dwellings, 4 m above ground; NaN for other buildings.",
    ),
    Indicator(
        "lnight_db",
        "Road-traffic noise Lnight at the most exposed facade",
        "dB",
        "noise",
        "lower",
        ("buildings",),
        "Lnight (dB(A), 23-07 h) of road traffic at the loudest facade, 4 m above ground.",
    ),
    Indicator(
        "emission_lden_db",
        "Road noise emission number (Lden)",
        "dB",
        "noise",
        "lower",
        ("roads",),
        "SRM1 emission number E of the link combined over day, evening and night like Lden: the "
        "level at 1 m from the road as a long straight line in free field (at 10 m: 10 dB less). "
        "NaN for links without motor traffic.",
    ),
    Indicator(
        "dwellings_above_55db",
        "Dwellings above 55 dB Lden road noise",
        "dwellings",
        "noise",
        "lower",
        ("city", "buurt"),
        "Number of dwellings (buildings.dwellings_est) whose building has Lden > 55 dB.",
    ),
    Indicator(
        "dwellings_above_65db",
        "Dwellings above 65 dB Lden road noise",
        "dwellings",
        "noise",
        "lower",
        ("city", "buurt"),
        "Number of dwellings whose building has Lden > 65 dB.",
    ),
    Indicator(
        "dwellings_above_55db_share",
        "Share of dwellings above 55 dB Lden",
        "share",
        "noise",
        "lower",
        ("city", "buurt"),
        "Dwellings above 55 dB Lden divided by all dwellings (0-1).",
    ),
    Indicator(
        "dwellings_above_65db_share",
        "Share of dwellings above 65 dB Lden",
        "share",
        "noise",
        "lower",
        ("city", "buurt"),
        "Dwellings above 65 dB Lden divided by all dwellings (0-1).",
    ),
    Indicator(
        "lden_mean_db",
        "Mean Lden at dwellings",
        "dB",
        "noise",
        "lower",
        ("city", "buurt"),
        "Dwelling-weighted arithmetic mean of the building Lden (dB).",
    ),
)

REGISTER = AlgorithmRegisterEntry(
    name="Tweeling geluid wegverkeer (Lden bij woningen)",
    description_short=(
        "Berekent hoeveel geluid het wegverkeer veroorzaakt op de gevels van woningen in Dordrecht "
        "(Lden en Lnight), voor de huidige situatie en voor scenario's, en telt de woningen boven "
        "55 en 65 dB per buurt."
    ),
    theme="Natuur en milieu",
    purpose_and_impact=(
        "Het model laat zien hoe plannen (nieuwe wegen, woningen, verkeersmaatregelen, snelheden) het "
        "wegverkeersgeluid bij woningen veranderen. Het is een verkennend hulpmiddel voor beleid en "
        "gesprek met bewoners. Het vervangt geen wettelijk akoestisch onderzoek en er worden geen "
        "besluiten over personen of individuele woningen mee genomen."
    ),
    considerations=(
        "De rekenregels volgen Standaardrekenmethode 1 van het Reken- en meetvoorschrift geluid 2012 "
        "(eenvoudig en controleerbaar), met een vereenvoudigde afscherming door gebouwen en zonder "
        "reflecties. Uitkomsten zijn indicatief (enkele dB onzekerheid per woning), vooral achter de "
        "eerste bebouwingsrij en bij wegen met onzekere verkeersaantallen."
    ),
    human_intervention=(
        "Medewerkers milieu en verkeer beoordelen de uitkomsten en vergelijken ze met de wettelijke "
        "geluidkaarten voordat ze in beleid of communicatie worden gebruikt."
    ),
    risk_management=(
        "Aannames en parameters zijn openbaar en aanpasbaar; tests vergelijken uitkomsten met "
        "handberekeningen en landelijke cijfers; uitkomsten worden alleen per gebouw en per buurt "
        "getoond, niet per persoon."
    ),
    data=(
        "Verkeersintensiteiten en snelheden per wegvak uit het verkeersmodel van de tweeling; "
        "gebouwen (BAG/OSM-footprints, geschat aantal woningen) en wegennet (OpenStreetMap). Geen "
        "persoonsgegevens."
    ),
    technical_operation=(
        "Per wegvak wordt de geluidsemissie berekend uit aantallen lichte, middelzware en zware "
        "voertuigen en hun snelheid. Per woongebouw wordt per gevel het geluid van de wegen in de "
        "omgeving opgeteld (drukke wegen tot 1 kilometer, rustige straten alleen dichtbij), met "
        "verzwakking door afstand, lucht, bodem, weer en tussenliggende gebouwen. De luidste gevel "
        "telt. Het model is niet zelflerend en gebruikt vaste, gepubliceerde rekenregels."
    ),
    legal_basis="Geen: verkennend model; wettelijke berekeningen volgen het Omgevingsbesluit.",
    link="https://github.com/tweeling/tweeling/blob/main/docs/models/noise.md",
    source_code_link="https://github.com/tweeling/tweeling/blob/main/src/tweeling/scenarios/impacts/noise.py",
)

INFO = ModelInfo(
    id=MODEL_ID,
    version="1.0.0",
    title="Road-traffic noise (SRM1, Lden at dwelling facades)",
    description=(
        "Lden and Lnight of road traffic at the most exposed facade of every building with dwellings, "
        "from the traffic model's volumes and speeds, with SRM1 emission and propagation of the "
        "Dutch RMG 2012; dwellings above 55 and 65 dB per buurt and citywide."
    ),
    requires=("traffic",),
    reads=frozenset({"buildings", "roads"}),
    indicators=INDICATORS,
    method=(
        "Emission per link and vehicle category E_m = a_m + b_m lg(v_m/v0_m) + 10 lg(Q_m/v_m) + C_w "
        "(form of RMG 2012 Bijlage III §1.5, coefficients from its octave-band table 2.1/2.2) for day, "
        "evening and night hourly volumes. Propagation to the four sides of a rectangle around each "
        "dwelling footprint by an angle-of-view integral over straight road segments, "
        "L = E + 10 lg(dtheta/pi) - 10 lg r - D_l - D_b - D_m - D_s with D_l = 0.01 r^0.9, the "
        "ISO 9613-2 ground term, D_m = 3.5 (1 - exp(-0.04 d / (h_s + h_r))) and a fixed screening "
        "where the line of sight crosses another building. Lden from the periods with +5/+10 dB; "
        "the loudest side counts."
    ),
    sources=(
        "Reken- en meetvoorschrift geluid 2012 (Stcrt. 2012, BWBR0031722), Bijlage III hoofdstuk 1-2",
        "Directive 2002/49/EC Annex I (Lden, Lnight, 4 m assessment height)",
        "ISO 9613-2:1996 §7.3.2 (ground attenuation, alternative method) and Annex A.3",
    ),
    limitations=(
        "Screening is one fixed attenuation for any building in the line of sight (the first row), "
        "traced on a 2 m raster; no diffraction over roofs, building heights only as a 3 m threshold, "
        "no reflections (C_r = 0).",
        "No junction or obstacle corrections (C_o = 0), no gradients, one road surface for all links.",
        "Ground is one share of soft ground for all paths, not mapped per path.",
        "Facades are the sides of a rectangle around the footprint; for L- or U-shaped blocks the "
        "receptor points can lie off the real facade, and a long block gets one level for all its "
        "dwellings.",
        "Beyond 50 m a road counts at every side facing it as seen from the building's centre.",
        "Links count up to the distance where they alone give cutoff_db (47 dB Lden, at most 1 km): "
        "quiet streets only nearby. Against a reference with 25 dB and 1 km the mean Lden is 0.4 dB "
        "lower (docs/models/noise.md).",
        "Only road traffic: no rail, industry, aircraft or neighbours; no 110g-aftrek.",
    ),
    register=REGISTER,
)


def emission_number(
    volume_per_h: np.ndarray | float,
    speed_kmh: np.ndarray | float,
    category: str,
    surface_correction_db: float = 0.0,
) -> np.ndarray:
    """SRM1 emission number E_m (dB(A), level at 1 m) of one vehicle category.

    ``volume_per_h``: vehicles per hour (both directions); ``speed_kmh``: mean speed, clipped to the
    category's range. Zero volume gives -inf.
    """
    a, b, v0 = EMISSION_COEFFICIENTS[category]
    low, high = SPEED_RANGE_KMH[category]
    speed = np.clip(np.asarray(speed_kmh, dtype=float), low, high)
    volume = np.asarray(volume_per_h, dtype=float)
    with np.errstate(divide="ignore"):
        return a + b * np.log10(speed / v0) + 10.0 * np.log10(volume / speed) + surface_correction_db


def energetic_sum(*levels_db: np.ndarray | float) -> np.ndarray:
    """10 lg of the sum of 10^(L/10) (dB); -inf levels add nothing."""
    total = sum(np.power(10.0, np.asarray(level, dtype=float) / 10.0) for level in levels_db)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.asarray(total, dtype=float))


def lden(l_day: np.ndarray | float, l_evening: np.ndarray | float, l_night: np.ndarray | float) -> np.ndarray:
    """Lden (dB) from Lday (07-19), Levening (19-23, +5 dB) and Lnight (23-07, +10 dB)."""
    day = np.power(10.0, np.asarray(l_day, dtype=float) / 10.0)
    evening = np.power(10.0, (np.asarray(l_evening, dtype=float) + 5.0) / 10.0)
    night = np.power(10.0, (np.asarray(l_night, dtype=float) + 10.0) / 10.0)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10((12.0 * day + 4.0 * evening + 8.0 * night) / 24.0)


def distance_attenuation_db(r_m: np.ndarray | float) -> np.ndarray | float:
    """SRM1 D_a = 10 lg r (dB), r the shortest distance to a long straight road (m)."""
    return 10.0 * np.log10(r_m)


def air_absorption_db(r_m: np.ndarray | float) -> np.ndarray | float:
    """SRM1 D_l = 0.01 r^0.9 (dB), r the distance between source and receptor (m)."""
    return 0.01 * np.power(r_m, 0.9)


def meteo_correction_db(
    d_m: np.ndarray | float, source_height_m: float, receiver_height_m: float
) -> np.ndarray | float:
    """SRM1 D_m = 3.5 (1 - exp(-0.04 d / (h_s + h_r))) (dB, >= 0); d horizontal distance, heights (m)."""
    return np.maximum(0.0, 3.5 * (1.0 - np.exp(-0.04 * d_m / (source_height_m + receiver_height_m))))


def ground_attenuation_db(
    d_m: np.ndarray | float, source_height_m: float, receiver_height_m: float, soft_share: float
) -> np.ndarray | float:
    """Ground term D_b (dB; negative is a gain) after ISO 9613-2 eq. (10) and (11).

    ``D_b = G * A_gr - D_omega``: A_gr = max(0, 4.8 - (2 h_m / d)(17 + 300 / d)) over porous ground,
    h_m the mean path height, times the soft share G (0-1); D_omega = 10 lg(1 + (d^2 + (h_s - h_r)^2)
    / (d^2 + (h_s + h_r)^2)), the gain of the ground reflection (about 3 dB). ``d_m``: horizontal
    distance (m), at least 1 m.
    """
    d = np.maximum(d_m, 1.0)
    h_mean = 0.5 * (source_height_m + receiver_height_m)
    a_ground = np.maximum(0.0, 4.8 - (2.0 * h_mean / d) * (17.0 + 300.0 / d))
    low = (source_height_m - receiver_height_m) ** 2
    high = (source_height_m + receiver_height_m) ** 2
    d_omega = 10.0 * np.log10(1.0 + (d * d + low) / (d * d + high))
    return soft_share * a_ground - d_omega


@numba.njit(cache=True)
def _box_kernel(
    xy: np.ndarray, offsets: np.ndarray, centre: np.ndarray, axes: np.ndarray, half: np.ndarray
) -> None:
    """Smallest-area rectangle per ring aligned with one of the ring's own edges (see caller)."""
    for g in range(offsets.shape[0] - 1):
        first, last = offsets[g], offsets[g + 1]
        best = np.inf
        for e in range(first, last - 1):
            dx, dy = xy[e + 1, 0] - xy[e, 0], xy[e + 1, 1] - xy[e, 1]
            norm = np.sqrt(dx * dx + dy * dy)
            if norm < 1e-6:
                continue
            ux, uy = dx / norm, dy / norm
            low_u = low_v = np.inf
            high_u = high_v = -np.inf
            for v in range(first, last):
                pu = xy[v, 0] * ux + xy[v, 1] * uy
                pv = -xy[v, 0] * uy + xy[v, 1] * ux
                low_u, high_u = min(low_u, pu), max(high_u, pu)
                low_v, high_v = min(low_v, pv), max(high_v, pv)
            area = (high_u - low_u) * (high_v - low_v)
            if area < best - 1e-9:
                best = area
                mid_u, mid_v = 0.5 * (low_u + high_u), 0.5 * (low_v + high_v)
                centre[g, 0] = mid_u * ux - mid_v * uy
                centre[g, 1] = mid_u * uy + mid_v * ux
                axes[g, 0, 0], axes[g, 0, 1] = ux, uy
                axes[g, 1, 0], axes[g, 1, 1] = -uy, ux
                half[g, 0], half[g, 1] = 0.5 * (high_u - low_u), 0.5 * (high_v - low_v)


@dataclass(frozen=True)
class FacadeBoxes:
    """Facades of buildings as the sides of a rectangle around each footprint (RD metres).

    ``centre`` (n, 2); ``axes`` (n, 2, 2): unit vectors along the two sides; ``half`` (n, 2): half
    side lengths along them. Facade k = 0..3 has the outward normal +axes[0], -axes[0], +axes[1],
    -axes[1] and its midpoint at ``centre + normal * half``.
    """

    centre: np.ndarray
    axes: np.ndarray
    half: np.ndarray

    def receptors(self) -> tuple[np.ndarray, np.ndarray]:
        """Facade midpoints and outward unit normals, each (n, 4, 2)."""
        normals = np.stack([self.axes[:, 0], -self.axes[:, 0], self.axes[:, 1], -self.axes[:, 1]], axis=1)
        reach = np.stack([self.half[:, 0], self.half[:, 0], self.half[:, 1], self.half[:, 1]], axis=1)
        return self.centre[:, None, :] + normals * reach[:, :, None], normals


def facade_boxes(footprints: np.ndarray) -> FacadeBoxes:
    """The smallest rectangle around each footprint (shapely polygons) with a side along one of its walls.

    For a rectangular footprint that is the footprint itself; the facades are its four sides. A
    multipolygon counts with its convex hull.
    """
    n = len(footprints)
    polygons = np.where(shapely.get_type_id(footprints) == 3, footprints, shapely.convex_hull(footprints))
    xy, owner = shapely.get_coordinates(shapely.get_exterior_ring(polygons), return_index=True)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=offsets[1:])
    centre = np.zeros((n, 2))
    axes = np.zeros((n, 2, 2))
    axes[:, 0, 0] = axes[:, 1, 1] = 1.0
    half = np.zeros((n, 2))
    _box_kernel(np.ascontiguousarray(xy), offsets, centre, axes, half)
    return FacadeBoxes(centre=centre, axes=axes, half=half)


@dataclass(frozen=True)
class RoadSegments:
    """Straight pieces of road lines: ``start``, ``end`` (m, (n, 2)) and ``line`` (row of the input line)."""

    start: np.ndarray
    end: np.ndarray
    line: np.ndarray


def road_segments(lines: np.ndarray, max_length_m: float, simplify_m: float = 0.0) -> RoadSegments:
    """Split linestrings (shapely array, metres) into straight segments of at most ``max_length_m``,
    after simplifying them with tolerance ``simplify_m`` (0: not)."""
    shapes = shapely.simplify(lines, simplify_m) if simplify_m > 0 else lines
    dense = shapely.segmentize(shapes, max_length_m)
    coords, index = shapely.get_coordinates(dense, return_index=True)
    same = index[1:] == index[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    keep = np.hypot(end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]) > 1e-6
    return RoadSegments(
        start=np.ascontiguousarray(start[keep]),
        end=np.ascontiguousarray(end[keep]),
        line=index[:-1][same][keep].astype(np.int64),
    )


@dataclass(frozen=True)
class FacadeRoadPairs:
    """(building, road segment) pairs, one row per pair, ordered by building.

    ``building``: row in the :class:`FacadeBoxes`; ``segment``: row in the :class:`RoadSegments`;
    ``distance_m``: horizontal distance from the building's box to the segment (m; 0 when they meet).
    """

    building: np.ndarray
    segment: np.ndarray
    distance_m: np.ndarray


GRID_CELL_M = 100.0
"""Cell size of the uniform grid that indexes road segments by their midpoint (m)."""


@numba.njit(cache=True)
def _segment_distance(
    px: float, py: float, ax: float, ay: float, bx: float, by: float
) -> tuple[float, float, float]:
    """Distance from point p to segment a-b, and the nearest point on the segment."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0
    if length2 > 0.0:
        t = min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    qx, qy = ax + t * dx, ay + t * dy
    return np.sqrt((px - qx) ** 2 + (py - qy) ** 2), qx, qy


@numba.njit(cache=True)
def _box_distance(
    centre: np.ndarray, axes: np.ndarray, half: np.ndarray, b: int, ax: float, ay: float, bx: float, by: float
) -> float:
    """Distance from box b to segment a-b (0 when the segment touches or crosses the box)."""
    e0x, e0y, e1x, e1y = axes[b, 0, 0], axes[b, 0, 1], axes[b, 1, 0], axes[b, 1, 1]
    u0 = (ax - centre[b, 0]) * e0x + (ay - centre[b, 1]) * e0y
    v0 = (ax - centre[b, 0]) * e1x + (ay - centre[b, 1]) * e1y
    u1 = (bx - centre[b, 0]) * e0x + (by - centre[b, 1]) * e0y
    v1 = (bx - centre[b, 0]) * e1x + (by - centre[b, 1]) * e1y
    h0, h1 = half[b, 0], half[b, 1]
    t_low, t_high = 0.0, 1.0
    crosses = True
    for delta, start, limit in ((u1 - u0, u0, h0), (v1 - v0, v0, h1)):
        if abs(delta) < 1e-12:
            if abs(start) > limit:
                crosses = False
        else:
            t_a, t_b = (-limit - start) / delta, (limit - start) / delta
            t_low = max(t_low, min(t_a, t_b))
            t_high = min(t_high, max(t_a, t_b))
    if crosses and t_low <= t_high:
        return 0.0
    best = np.inf
    for u, v in ((u0, v0), (u1, v1)):
        du, dv = max(abs(u) - h0, 0.0), max(abs(v) - h1, 0.0)
        best = min(best, np.sqrt(du * du + dv * dv))
    for cu, cv in ((h0, h1), (h0, -h1), (-h0, h1), (-h0, -h1)):
        best = min(best, _segment_distance(cu, cv, u0, v0, u1, v1)[0])
    return best


@numba.njit(cache=True)
def _grown(values: np.ndarray, capacity: int) -> np.ndarray:
    """A copy of ``values`` with room for ``capacity`` items."""
    bigger = np.empty(capacity, values.dtype)
    bigger[: values.shape[0]] = values
    return bigger


@numba.njit(cache=True, nogil=True)
def _pair_kernel(
    centre: np.ndarray,
    axes: np.ndarray,
    half: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    radius: np.ndarray,
    reach: np.ndarray,
    inner: float,
    cell_start: np.ndarray,
    cell_items: np.ndarray,
    grid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of :func:`facade_road_pairs`: building rows, segment rows, distances.

    ``grid``: x0, y0, columns, rows of the segment grid and the search distance (m); the items of a
    cell are sorted by ``reach`` (radius plus half length), largest first, so a cell's scan stops at
    the first segment that cannot reach the building."""
    grid_x0, grid_y0, search = grid[0], grid[1], grid[4]
    grid_cols, grid_rows = int(grid[2]), int(grid[3])
    n = 0
    capacity = 1024
    out_building = np.empty(capacity, np.int32)
    out_segment = np.empty(capacity, np.int32)
    out_distance = np.empty(capacity)
    for b in range(centre.shape[0]):
        cx, cy = centre[b, 0], centre[b, 1]
        slack = np.sqrt(half[b, 0] ** 2 + half[b, 1] ** 2)
        c0 = max(0, int(np.floor((cx - search - slack - grid_x0) / GRID_CELL_M)))
        c1 = min(grid_cols - 1, int(np.floor((cx + search + slack - grid_x0) / GRID_CELL_M)))
        r0 = max(0, int(np.floor((cy - search - slack - grid_y0) / GRID_CELL_M)))
        r1 = min(grid_rows - 1, int(np.floor((cy + search + slack - grid_y0) / GRID_CELL_M)))
        for row in range(r0, r1 + 1):
            gap_y = max(0.0, grid_y0 + row * GRID_CELL_M - cy, cy - grid_y0 - (row + 1) * GRID_CELL_M)
            for col in range(c0, c1 + 1):
                cell = row * grid_cols + col
                gap_x = max(0.0, grid_x0 + col * GRID_CELL_M - cx, cx - grid_x0 - (col + 1) * GRID_CELL_M)
                gap = np.sqrt(gap_x * gap_x + gap_y * gap_y) - slack
                for item in range(cell_start[cell], cell_start[cell + 1]):
                    s = cell_items[item]
                    if reach[s] < gap:
                        break
                    ax, ay, bx, by = start[s, 0], start[s, 1], end[s, 0], end[s, 1]
                    if _segment_distance(cx, cy, ax, ay, bx, by)[0] > radius[s] + slack:
                        continue
                    far = max(
                        np.sqrt((ax - cx) ** 2 + (ay - cy) ** 2), np.sqrt((bx - cx) ** 2 + (by - cy) ** 2)
                    )
                    if far + slack < inner:
                        continue
                    dist = _box_distance(centre, axes, half, b, ax, ay, bx, by)
                    if dist > radius[s]:
                        continue
                    if n == capacity:
                        capacity *= 2
                        out_building = _grown(out_building, capacity)
                        out_segment = _grown(out_segment, capacity)
                        out_distance = _grown(out_distance, capacity)
                    out_building[n] = b
                    out_segment[n] = s
                    out_distance[n] = dist
                    n += 1
    return out_building[:n].copy(), out_segment[:n].copy(), out_distance[:n].copy()


def facade_road_pairs(
    boxes: FacadeBoxes, segments: RoadSegments, radius_m: np.ndarray | float, inner_radius_m: float = 0.0
) -> FacadeRoadPairs:
    """All (building, road segment) pairs with the segment within ``radius_m`` (m) of the building's box.

    Reusable receptor geometry for near-road models (road noise, SRM1 NO2). ``radius_m``: one value
    or one per segment; segments that stay within ``inner_radius_m`` of the box centre (less the
    box's half diagonal) are left out. Segments are indexed by midpoint on a 100 m grid, so the work
    grows with the pairs found, not with buildings x segments.
    """
    n_segments = segments.start.shape[0]
    radius = np.broadcast_to(np.asarray(radius_m, dtype=float), (n_segments,)).copy()
    out = FacadeRoadPairs(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    if n_segments == 0 or boxes.centre.shape[0] == 0:
        return out
    mid = 0.5 * (segments.start + segments.end)
    half_length = 0.5 * np.hypot(
        segments.end[:, 0] - segments.start[:, 0], segments.end[:, 1] - segments.start[:, 1]
    )
    x0, y0 = float(mid[:, 0].min()), float(mid[:, 1].min())
    col = ((mid[:, 0] - x0) // GRID_CELL_M).astype(np.int64)
    row = ((mid[:, 1] - y0) // GRID_CELL_M).astype(np.int64)
    cols, rows = int(col.max()) + 1, int(row.max()) + 1
    cell = row * cols + col
    cell_start = np.zeros(rows * cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=rows * cols), out=cell_start[1:])
    reach = radius + half_length
    grid = np.array([x0, y0, cols, rows, float(np.max(reach))])
    index = (cell_start, np.lexsort((-reach, cell)), grid)

    def block_pairs(first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        part = (boxes.centre[first:last], boxes.axes[first:last], boxes.half[first:last])
        building, segment, distance = _pair_kernel(
            *part, segments.start, segments.end, radius, reach, inner_radius_m, *index
        )
        return building + np.int32(first), segment, distance

    found = in_threads(block_pairs, block_bounds(np.arange(boxes.centre.shape[0])))
    return FacadeRoadPairs(*(np.concatenate(arrays) for arrays in zip(*found, strict=True)))


TABLE_STEP_M = 0.5
"""Spacing (m) of the table of distance-dependent terms the propagation kernel interpolates."""


def transfer_table(params: NoiseParams, max_distance_m: float) -> np.ndarray:
    """10^(-(D_l + D_b + D_m)/10) at horizontal distances 0, 0.5, 1, ... m up to ``max_distance_m``.

    D_l is taken at the slant distance between source and receiver heights.
    """
    distance = np.arange(0.0, max_distance_m + 2 * TABLE_STEP_M, TABLE_STEP_M)
    slant = np.hypot(distance, params.receiver_height_m - params.source_height_m)
    terms = (
        air_absorption_db(slant)
        + ground_attenuation_db(
            distance, params.source_height_m, params.receiver_height_m, params.soft_ground_share
        )
        + meteo_correction_db(distance, params.source_height_m, params.receiver_height_m)
    )
    return np.power(10.0, -np.asarray(terms) / 10.0)


@numba.njit(cache=True)
def _blocked(
    mask: np.ndarray,
    origin: np.ndarray,
    px: float,
    py: float,
    sx: float,
    sy: float,
    centre: np.ndarray,
    axes: np.ndarray,
    half: np.ndarray,
    b: int,
    stride: float,
) -> bool:
    """Whether the line p -> s crosses a building cell of ``mask``, ignoring building b's own box.

    ``origin``: x0, y0 and cell size of the mask. Samples every ``stride`` cells from where the line
    leaves b's box widened by one cell (p lies in or on that box), and stops one cell short of s
    (the road itself)."""
    cell = origin[2]
    dx, dy = sx - px, sy - py
    length = np.sqrt(dx * dx + dy * dy)
    n_steps = int((length - cell) / (stride * cell))
    if n_steps <= 0:
        return False
    ux, uy = dx / length, dy / length
    exit_t = np.inf
    for axis in range(2):
        ex, ey = axes[b, axis, 0], axes[b, axis, 1]
        offset = (px - centre[b, 0]) * ex + (py - centre[b, 1]) * ey
        rate = ux * ex + uy * ey
        if abs(rate) > 1e-12:
            bound = half[b, axis] + cell if rate > 0.0 else -half[b, axis] - cell
            exit_t = min(exit_t, (bound - offset) / rate)
    first = max(1, int(np.ceil(exit_t / (stride * cell))))
    gx, gy = (px - origin[0]) / cell, (py - origin[1]) / cell
    rows, cols = mask.shape
    step_x, step_y = ux * stride, uy * stride
    for i in range(first, n_steps + 1):
        col = int(gx + step_x * i)
        row = int(gy + step_y * i)
        if 0 <= row < rows and 0 <= col < cols and mask[row, col]:
            return True
    return False


@numba.njit(cache=True)
def _segment_weight(
    table: np.ndarray,
    mask: np.ndarray,
    origin: np.ndarray,
    settings: np.ndarray,
    centre: np.ndarray,
    axes: np.ndarray,
    half: np.ndarray,
    b: int,
    px: float,
    py: float,
    ax: float,
    ay: float,
    bx: float,
    by: float,
) -> float:
    """Sum over the pieces of segment a-b seen from point p of dtheta / (pi r) * table(d), times the
    screening factor for pieces whose line of sight crosses another building than b.

    ``settings``: height of receiver above source, screening factor 10^(-D_s/10), smallest
    horizontal distance, largest view angle of a piece (rad), inner and outer horizontal distance
    of the band counted, measured from the centre of box b (m), and the ray sampling stride (cells).
    r: slant distance from p to the
    segment's line (at least the smallest distance horizontally); d: horizontal distance from p to
    the middle of the piece."""
    height, screening, min_distance, max_view = settings[0], settings[1], settings[2], settings[3]
    inner, outer, stride = settings[4], settings[5], settings[6]
    length = np.sqrt((bx - ax) ** 2 + (by - ay) ** 2)
    if length <= 1e-9:
        return 0.0
    ux, uy = (bx - ax) / length, (by - ay) / length
    x_start = (ax - px) * ux + (ay - py) * uy
    foot_x, foot_y = ax - ux * x_start, ay - uy * x_start
    distance = abs((ax - px) * uy - (ay - py) * ux)
    cx, cy = centre[b, 0], centre[b, 1]
    centre_distance = abs((ax - cx) * uy - (ay - cy) * ux)
    if centre_distance >= outer:
        return 0.0
    centre_foot = (cx - px) * ux + (cy - py) * uy
    near = np.sqrt(max(inner * inner - centre_distance * centre_distance, 0.0))
    far = np.sqrt(outer * outer - centre_distance * centre_distance) if outer < np.inf else np.inf
    d = max(distance, min_distance)
    r_perp = np.sqrt(d * d + height * height)
    last = table.shape[0] - 2
    total = 0.0
    for part in range(2):
        if part == 0:
            low, high = max(x_start, centre_foot + near), min(x_start + length, centre_foot + far)
        else:
            low, high = max(x_start, centre_foot - far), min(x_start + length, centre_foot - near)
        if high <= low:
            continue
        view = np.arctan2(r_perp * (high - low), r_perp * r_perp + low * high)
        pieces = max(1, int(np.ceil(view / max_view)))
        step = view / pieces
        base = step / (np.pi * r_perp)
        theta0 = np.arctan2(low, r_perp) if pieces > 1 else 0.0
        for j in range(pieces):
            if pieces == 1:
                to_low, to_high = np.sqrt(r_perp * r_perp + low * low), np.sqrt(r_perp * r_perp + high * high)
                x = low + (high - low) * to_low / (to_low + to_high)
            else:
                x = r_perp * np.tan(theta0 + (j + 0.5) * step)
            position = np.sqrt(distance * distance + x * x) / TABLE_STEP_M
            i = min(int(position), last)
            weight = base * (table[i] + min(position - i, 1.0) * (table[i + 1] - table[i]))
            if screening < 1.0 and _blocked(
                mask, origin, px, py, foot_x + ux * x, foot_y + uy * x, centre, axes, half, b, stride
            ):
                weight *= screening
            total += weight
    return total


@numba.njit(cache=True, nogil=True)
def _propagate(
    first: int,
    last: int,
    building: np.ndarray,
    segment: np.ndarray,
    centre: np.ndarray,
    axes: np.ndarray,
    half: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    source: np.ndarray,
    energy: np.ndarray,
    table: np.ndarray,
    mask: np.ndarray,
    origin: np.ndarray,
    settings: np.ndarray,
    from_centre: bool,
    out: np.ndarray,
) -> None:
    """Add each pair's energy, ``10^(E/10) * _segment_weight``, to ``out[building, facade, :]`` for
    Lden and Lnight.

    Every facade receives the part of the segment in its front half-plane, seen from its midpoint.
    With ``from_centre`` (far field) the segment is seen once from the box centre and counts fully
    at each facade whose front half-plane holds its midpoint. Only pairs ``first`` to ``last``
    (exclusive)."""
    for p in range(first, last):
        b, s = building[p], segment[p]
        e_den, e_night = energy[source[s], 0], energy[source[s], 1]
        ax, ay, bx, by = start[s, 0], start[s, 1], end[s, 0], end[s, 1]
        weight = 0.0
        if from_centre:
            weight = _segment_weight(
                table,
                mask,
                origin,
                settings,
                centre,
                axes,
                half,
                b,
                centre[b, 0],
                centre[b, 1],
                ax,
                ay,
                bx,
                by,
            )
            if weight <= 0.0:
                continue
        for k in range(FACADES):
            axis, sign = k // 2, 1.0 - 2.0 * (k % 2)
            nx, ny = sign * axes[b, axis, 0], sign * axes[b, axis, 1]
            px, py = centre[b, 0] + nx * half[b, axis], centre[b, 1] + ny * half[b, axis]
            side_a = (ax - px) * nx + (ay - py) * ny
            side_b = (bx - px) * nx + (by - py) * ny
            if from_centre:
                if side_a + side_b > 0.0:
                    out[b, k, 0] += weight * e_den
                    out[b, k, 1] += weight * e_night
                continue
            if side_a <= 0.0 and side_b <= 0.0:
                continue
            cax, cay, cbx, cby = ax, ay, bx, by
            if side_a < 0.0:
                t = side_a / (side_a - side_b)
                cax, cay = ax + t * (bx - ax), ay + t * (by - ay)
            elif side_b < 0.0:
                t = side_b / (side_b - side_a)
                cbx, cby = bx + t * (ax - bx), by + t * (ay - by)
            w = _segment_weight(
                table, mask, origin, settings, centre, axes, half, b, px, py, cax, cay, cbx, cby
            )
            out[b, k, 0] += w * e_den
            out[b, k, 1] += w * e_night


def _propagate_block(arguments: tuple[Any, ...], first: int, last: int) -> None:
    """:func:`_propagate` over the pairs ``first`` to ``last`` (one thread's block)."""
    _propagate(first, last, *arguments)


@dataclass(frozen=True)
class BuildingMask:
    """Building cells on a grid: ``cells[row, col]``; ``origin``: x0, y0 of the south-west corner and
    the cell size (m); row 0 is the southern row."""

    cells: np.ndarray
    origin: np.ndarray


def building_mask(
    polygons: np.ndarray, bounds: tuple[float, float, float, float], cell_m: float
) -> BuildingMask:
    """Rasterise polygons (shapely array, with holes) by cell centres over ``bounds`` (m), row 0 south
    (the shared scanline rasteriser of ``_raster``, flipped)."""
    x0, y0 = bounds[0] - cell_m, bounds[1] - cell_m
    cols = int(np.ceil((bounds[2] - x0) / cell_m)) + 2
    rows = int(np.ceil((bounds[3] - y0) / cell_m)) + 2
    north_up = Grid(x0, y0 + rows * cell_m, cell_m, rows, cols)
    cells = np.ascontiguousarray(rasterize_mask(polygons, north_up)[::-1])
    origin = np.array([x0, y0, cell_m])
    return BuildingMask(cells=cells, origin=origin)


TRAFFIC_COLUMNS = ("light_veh_day", "medium_veh_day", "heavy_veh_day", "speed_kmh")
"""Columns of the traffic result's ``roads`` frame this model reads."""


def _daily_volumes(city: CityState, upstream: Mapping[str, ModelResult]) -> pd.DataFrame:
    """Light, medium and heavy vehicles per day and speed per link, aligned to ``city.roads``.

    Links missing from the traffic result have no traffic; a missing speed is the free speed."""
    traffic = upstream["traffic"].objects["roads"] if "traffic" in upstream else None
    missing = [column for column in TRAFFIC_COLUMNS if traffic is None or column not in traffic.columns]
    if traffic is None or missing:
        raise InvalidInputError(
            "Road noise needs the traffic model's result: objects['roads'] with "
            f"{', '.join(TRAFFIC_COLUMNS)} per edge_id (missing: {', '.join(missing) or 'the result'}).",
            invalid_params=[{"name": "traffic", "reason": "missing " + (", ".join(missing) or "result")}],
        )
    frame = traffic.reindex(city.roads.index).loc[:, list(TRAFFIC_COLUMNS)].astype(float)
    volumes = list(TRAFFIC_COLUMNS[:3])
    frame[volumes] = frame[volumes].fillna(0.0).clip(lower=0.0)
    frame["speed_kmh"] = frame["speed_kmh"].fillna(city.roads["free_speed_kmh"].astype(float))
    return frame


def _check_shares(params: NoiseParams) -> None:
    """Refuse hourly shares that do not cover one day per vehicle category."""
    for category in CATEGORIES:
        shares = params.hourly_share.get(category)
        if shares is None or len(shares) != 3:
            raise InvalidInputError(
                f"hourly_share needs (day, evening, night) shares per hour for '{category}'.",
                invalid_params=[{"name": "hourly_share", "reason": f"no three shares for {category}"}],
            )
        total = sum(share * hours for share, hours in zip(shares, PERIOD_HOURS.values(), strict=True))
        if not 0.98 <= total <= 1.02:
            raise InvalidInputError(
                f"hourly_share['{category}'] covers {total:.3f} of the daily volume; make "
                "12 * day + 4 * evening + 8 * night equal 1.",
                invalid_params=[{"name": "hourly_share", "reason": f"{category} sums to {total:.3f}"}],
            )


def link_emissions(volumes: pd.DataFrame, params: NoiseParams) -> pd.DataFrame:
    """Emission numbers E (dB(A) at 1 m) per link for day, evening and night, and their Lden.

    ``volumes``: light/medium/heavy vehicles per day and ``speed_kmh`` per link (index kept).
    """
    _check_shares(params)
    speed = volumes["speed_kmh"].to_numpy(float)
    heavy_speed = np.minimum(speed, params.heavy_speed_max_kmh)
    out = {}
    for period_index, period in enumerate(PERIOD_HOURS):
        levels = []
        for category in CATEGORIES:
            per_hour = (
                volumes[f"{category}_veh_day"].to_numpy(float) * params.hourly_share[category][period_index]
            )
            v = speed if category == "light" else heavy_speed
            levels.append(emission_number(per_hour, v, category, params.surface_correction_db))
        out[f"emission_{period}_db"] = energetic_sum(*levels)
    frame = pd.DataFrame(out, index=volumes.index)
    frame["emission_lden_db"] = lden(
        out["emission_day_db"], out["emission_evening_db"], out["emission_night_db"]
    )
    return frame


def cutoff_radius_m(emission_lden_db: np.ndarray, params: NoiseParams) -> np.ndarray:
    """Distance (m) at which a link, as a long straight unscreened road, drops to ``cutoff_db`` Lden.

    Counts D_a, D_l, D_b and D_m of the long line; capped at ``max_distance_m``; 0 for silent links.
    """
    distance = np.geomspace(1.0, params.max_distance_m, 512)
    height = params.receiver_height_m - params.source_height_m
    slant = np.hypot(distance, height)
    level = (
        -distance_attenuation_db(slant)
        - air_absorption_db(slant)
        - ground_attenuation_db(
            distance, params.source_height_m, params.receiver_height_m, params.soft_ground_share
        )
        - meteo_correction_db(distance, params.source_height_m, params.receiver_height_m)
    )
    drop = np.maximum.accumulate(-np.asarray(level))
    with np.errstate(invalid="ignore"):
        radius = np.interp(
            emission_lden_db - params.cutoff_db, drop, distance, left=0.0, right=params.max_distance_m
        )
    return np.where(np.isfinite(emission_lden_db), radius, 0.0)


def receptor_rows(buildings: pd.DataFrame) -> np.ndarray:
    """Rows of the buildings that get a level: residential or mixed use, dwellings_est > 0 and a footprint."""
    uses = buildings["main_use"].isin(RECEPTOR_USES).to_numpy()
    geometry = buildings.geometry.to_numpy()
    present = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    return np.flatnonzero(uses & present & (buildings["dwellings_est"].fillna(0.0).to_numpy(float) > 0.0))


def _aggregate(buildings: pd.DataFrame, level: np.ndarray) -> tuple[pd.DataFrame, dict[str, float]]:
    """Dwelling counts above 55/65 dB and the dwelling-weighted mean Lden, per buurt and citywide.

    A dwelling building without a level counts as below both thresholds and is left out of the mean
    (``run`` adds ``background_lden_db`` everywhere, so this applies to direct callers only).
    """
    dwellings = buildings["dwellings_est"].to_numpy(float)
    has = np.isfinite(level)
    frame = pd.DataFrame(
        {
            "bu_code": buildings["bu_code"].to_numpy(),
            "dwellings": dwellings,
            "with_level": np.where(has, dwellings, 0.0),
            "above_55": np.where(has & (level > 55.0), dwellings, 0.0),
            "above_65": np.where(has & (level > 65.0), dwellings, 0.0),
            "weighted": np.where(has, dwellings * np.nan_to_num(level), 0.0),
        }
    )
    sums = frame.groupby("bu_code").sum()
    total = sums["dwellings"].where(sums["dwellings"] > 0)
    buurt = pd.DataFrame(
        {
            "dwellings_above_55db": sums["above_55"],
            "dwellings_above_65db": sums["above_65"],
            "dwellings_above_55db_share": sums["above_55"] / total,
            "dwellings_above_65db_share": sums["above_65"] / total,
            "lden_mean_db": sums["weighted"] / sums["with_level"].where(sums["with_level"] > 0),
        }
    )
    all_dwellings = float(frame["dwellings"].sum())
    with_level = float(frame["with_level"].sum())
    above_55, above_65 = float(frame["above_55"].sum()), float(frame["above_65"].sum())
    city = {
        "dwellings_above_55db": above_55,
        "dwellings_above_65db": above_65,
        "dwellings_above_55db_share": above_55 / all_dwellings if all_dwellings else float("nan"),
        "dwellings_above_65db_share": above_65 / all_dwellings if all_dwellings else float("nan"),
        "lden_mean_db": float(frame["weighted"].sum()) / with_level if with_level else float("nan"),
    }
    return buurt, city


BANDS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 50.0, 0.0, 0.0),
    (50.0, 250.0, 100.0, 5.0),
    (250.0, np.inf, 400.0, 20.0),
)
"""Distance bands (inner, outer horizontal distance from a building's box centre, m) with the
segment length (0: ``segment_length_m``) and simplification tolerance (m) of the road lines used in
them. The near band is computed per facade with rays sampled every cell; the outer bands once per
building from its box centre, with rays sampled every second cell. Every metre of road counts in
exactly one band."""


@dataclass(frozen=True)
class Receptors:
    """What the propagation needs of the buildings, independent of traffic: the receptor ``rows``,
    their facade boxes and the screening mask over ``extent`` (x0, y0, x1, y1, m)."""

    rows: np.ndarray
    boxes: FacadeBoxes
    mask: BuildingMask
    extent: tuple[float, float, float, float]

    def covers(self, low: np.ndarray, high: np.ndarray) -> bool:
        """Whether the mask covers the box ``low``-``high`` (m)."""
        x0, y0, x1, y1 = self.extent
        return bool(low[0] >= x0 and low[1] >= y0 and high[0] <= x1 and high[1] <= y1)


def receptors(city: CityState, rows: np.ndarray, params: NoiseParams) -> Receptors:
    """Facade boxes of the buildings ``rows`` and the mask of screening buildings (at least
    ``screen_min_height_m`` high) over the boxes and the whole road network."""
    buildings = city.buildings
    boxes = facade_boxes(buildings.geometry.to_numpy()[rows])
    screens = shapely.get_parts(
        buildings.geometry.to_numpy()[
            buildings["height_m"].fillna(0.0).to_numpy(float) >= params.screen_min_height_m
        ]
    )
    reach = boxes.half.sum(axis=1, keepdims=True)
    road_x0, road_y0, road_x1, road_y1 = city.roads.total_bounds
    low = np.minimum((boxes.centre - reach).min(axis=0, initial=np.inf), [road_x0, road_y0])
    high = np.maximum((boxes.centre + reach).max(axis=0, initial=-np.inf), [road_x1, road_y1])
    extent = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
    return Receptors(rows, boxes, building_mask(screens, extent, params.screen_cell_m), extent)


def facade_energy(
    city: CityState,
    emissions: pd.DataFrame,
    rows: np.ndarray,
    params: NoiseParams,
    prepared: Receptors | None = None,
) -> np.ndarray:
    """Sum of 10^(L/10) per facade of the buildings ``rows``: shape (len(rows), 4, 2) for Lden, Lnight.

    ``emissions``: :func:`link_emissions` per row of ``city.roads``. Each link counts up to its
    :func:`cutoff_radius_m`, in the distance bands of ``BANDS``. ``prepared``: the
    :func:`receptors` of these rows, when already made (a scenario that leaves the buildings as
    they are reuses the baseline's).
    """
    out = np.zeros((rows.size, FACADES, 2))
    e_den = emissions["emission_lden_db"].to_numpy(float)
    links = np.flatnonzero(np.isfinite(e_den))
    radius = cutoff_radius_m(e_den[links], params)
    links, radius = links[radius > 0.0], radius[radius > 0.0]
    if rows.size == 0 or links.size == 0:
        return out
    energy = np.ascontiguousarray(
        np.stack(
            [
                np.power(10.0, e_den[links] / 10.0),
                np.power(10.0, emissions["emission_night_db"].to_numpy(float)[links] / 10.0),
            ],
            axis=1,
        )
    )
    lines = city.roads.geometry.to_numpy()[links]
    band_segments = []
    for inner, _, length, tolerance in BANDS:
        reaching = np.flatnonzero(radius > inner)
        pieces = road_segments(lines[reaching], length or params.segment_length_m, simplify_m=tolerance)
        band_segments.append(RoadSegments(pieces.start, pieces.end, reaching[pieces.line]))
    corners = np.vstack([np.vstack([segments.start, segments.end]) for segments in band_segments])
    if prepared is None or not prepared.covers(corners.min(axis=0), corners.max(axis=0)):
        prepared = receptors(city, rows, params)
    boxes, mask = prepared.boxes, prepared.mask
    extent = boxes.half.sum(axis=1, keepdims=True)
    table = transfer_table(params, float(np.max(radius)) + float(np.max(extent)) + 1.0)
    height = params.receiver_height_m - params.source_height_m
    screening = 10.0 ** (-params.screening_db / 10.0)
    view = float(np.radians(params.view_step_deg))
    for (inner, outer, _, _), segments in zip(BANDS, band_segments, strict=True):
        band_radius = np.minimum(radius, outer)[segments.line]
        pairs = facade_road_pairs(boxes, segments, band_radius, inner_radius_m=inner)
        stride = 1.0 if inner == 0.0 else 2.0
        settings = np.array([height, screening, params.min_distance_m, view, inner, outer, stride])
        arguments = (
            pairs.building,
            pairs.segment,
            boxes.centre,
            boxes.axes,
            boxes.half,
            segments.start,
            segments.end,
            segments.line,
            energy,
            table,
            mask.cells,
            mask.origin,
            settings,
            inner > 0.0,
            out,
        )
        in_threads(partial(_propagate_block, arguments), block_bounds(pairs.building))
    return out


LDEN_MINUS_LNIGHT_BACKGROUND_DB = 8.0
"""Lden minus Lnight of the background level (typical of road traffic with 1 %/h at night; assumed)."""


def run(city: CityState, upstream: Mapping[str, ModelResult], params: NoiseParams) -> ModelResult:
    """Lden and Lnight at dwelling facades from the traffic model's volumes (see module docstring)."""
    return _levels(city, upstream, params, receptors(city, receptor_rows(city.buildings), params))


def _levels(
    city: CityState, upstream: Mapping[str, ModelResult], params: NoiseParams, prepared: Receptors
) -> ModelResult:
    emissions = link_emissions(_daily_volumes(city, upstream), params)
    e_den = emissions["emission_lden_db"]
    roads_out = pd.DataFrame({"emission_lden_db": e_den.where(np.isfinite(e_den))}, index=city.roads.index)

    buildings = city.buildings
    rows = prepared.rows
    energy = facade_energy(city, emissions, rows, params, prepared)
    with np.errstate(divide="ignore"):
        levels = 10.0 * np.log10(energy.max(axis=1))
    background = np.array(
        [params.background_lden_db, params.background_lden_db - LDEN_MINUS_LNIGHT_BACKGROUND_DB]
    )
    levels = energetic_sum(np.nan_to_num(levels, nan=-np.inf), background)
    lden_out = np.full(len(buildings), np.nan)
    lnight_out = np.full(len(buildings), np.nan)
    lden_out[rows], lnight_out[rows] = levels[:, 0], levels[:, 1]
    buildings_out = pd.DataFrame({"lden_db": lden_out, "lnight_db": lnight_out}, index=buildings.index)

    buurt, city_values = _aggregate(buildings.iloc[rows], lden_out[rows])
    buurt = buurt.reindex(city.buurten.index)
    counts = ["dwellings_above_55db", "dwellings_above_65db"]
    buurt[counts] = buurt[counts].fillna(0.0)
    buurt.index.name = "bu_code"
    return ModelResult(
        city=city_values,
        buurt=buurt,
        objects={"buildings": buildings_out, "roads": roads_out},
        data={"emissions": emissions, "receptors": prepared},
    )


def update(
    city: CityState,
    upstream: Mapping[str, ModelResult],
    params: NoiseParams,
    previous: ModelResult,
    change: CityChange,
) -> ModelResult:
    """Levels after a change that leaves the buildings as they are (traffic measures): the same as
    :func:`run`, reusing the baseline's facade boxes and screening mask. Otherwise :func:`run`."""
    prepared = previous.data.get("receptors")
    if "buildings" in change.fields or not isinstance(prepared, Receptors):
        return run(city, upstream, params)
    return _levels(city, upstream, params, prepared)


MODEL: ImpactModel[NoiseParams] = ImpactModel(info=INFO, params_type=NoiseParams, run=run, update=update)
