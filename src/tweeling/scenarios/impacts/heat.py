"""Heat stress: PET (physiological equivalent temperature) on a hot summer afternoon, 12:00-18:00.

The Dutch standard stress-test map (Klimaateffectatlas; method WUR, Koopmans et al. 2020) shows the
mean PET of 12:00-18:00 local time on a hot day; Tygron implements the same regression. This model
follows it on a regular grid over the municipality (default 10 m):

1. Surface (cell-centre sampling, :mod:`._raster`): buildings (height), water, trees (OSM ``wood``,
   planted tree crowns, de-paved ``trees``), low vegetation (every other green type, de-paved
   ``grass``) and paving (everything else inside the municipality). Buildings and water get no PET.
2. Hot day (:func:`hot_day`): default 1 July 2015, the reference day of the Dutch standard map, read
   from the shipped KNMI Cabauw series; ``"hottest"`` picks the hottest complete day, ``"reference"``
   a synthetic day. Hourly values (:func:`afternoon_weather`): temperature from a cosine between
   Tmin and Tmax peaking at ``temp_peak_hour``; relative humidity at constant vapour pressure from
   the daily minimum at Tmax; global radiation = daily clearness index x extraterrestrial radiation
   (Duffie & Beckman 2013); diffuse share after Erbs et al. (1982); sun position after NOAA/Spencer.
3. Shade (:func:`shadow_mask`): a cell is shaded when a building or tree crown towards the sun is
   higher than the sun ray from 1.2 m; cells under tree crowns are always shaded.
4. Sky-view factor (:func:`sky_view_factor`): 1 - mean sin^2(horizon angle) over ``svf_directions``
   directions within ``svf_radius_m`` (isotropic sky, horizontal surface; Oke 1988).
5. Air temperature: ``Ta = T_station + UHI_max * uhi_afternoon_factor`` with Theeuwes et al. (2017)
   ``UHI_max = (2 - SVF - f_veg) * (S * DTR^3 / U)^(1/4)``, SVF and f_veg (vegetation and water)
   averaged over ``uhi_radius_m``. Wind at 1.2 m: log profile from 10 m over open terrain, reduced
   by the building and tree cover within ``wind_radius_m``. Bowen ratio: land-use mean within
   ``bowen_radius_m``. Wet-bulb temperature: Stull (2011).
6. PET (:func:`pet_sun`, :func:`pet_shade`): Koopmans et al. (2020) regression as documented by
   Tygron, per hour in sun or shade, averaged over the hours.

Reported: the PET raster (plus shade share and sky-view factor), per building the mean PET of the
outdoor cells within ``surroundings_m`` of its footprint's bounding box, per buurt and citywide the
mean PET, the share of outdoor area above 41 °C (extreme heat stress, Matzarakis & Mayer 1996) and
the dwellings whose surroundings exceed 41 °C. :func:`update` recomputes a window around a change
and gives the same numbers as :func:`run` there (docs/models/heat.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.city import CityChange, CityState
from tweeling.scenarios.impacts._raster import (
    Grid,
    box_sums,
    intersecting,
    rasterize_mask,
    rasterize_values,
    window_mean,
)
from tweeling.scenarios.model import (
    AlgorithmRegisterEntry,
    ImpactModel,
    Indicator,
    ModelInfo,
    ModelResult,
    Raster,
    param,
)

STEFAN_BOLTZMANN = 5.670374419e-8
"""Stefan-Boltzmann constant (W m-2 K-4), CODATA 2018."""

SOLAR_CONSTANT = 1361.0
"""Total solar irradiance at 1 AU (W/m2), Kopp & Lean (2011)."""

CP_AIR = 1005.0
"""Specific heat of air at constant pressure (J kg-1 K-1)."""

R_DRY_AIR = 287.058
"""Gas constant of dry air (J kg-1 K-1)."""

PAVED, LOW_VEGETATION, TREES, WATER, BUILDING = 0, 1, 2, 3, 4
"""Surface classes of a cell."""

SURFACES = ("paved", "low_vegetation", "trees", "water", "building")
"""Names of the surface classes, in class order (keys of ``HeatParams.bowen_ratio``)."""

WEATHER_COLUMNS = (
    "temp_max_c",
    "temp_min_c",
    "temp_mean_c",
    "wind_speed_mean_ms",
    "global_radiation_jcm2",
    "humidity_min_pct",
)
"""KNMI daily columns a hot day needs (``pressure_mean_hpa`` is optional)."""

RASTER_VALUES = ("pet_c", "shade_share", "sky_view_factor")
"""Arrays of the result raster."""

Number = np.ndarray | float | np.floating
"""A scalar or an array of one (the formulas broadcast)."""


@dataclass(frozen=True)
class HeatParams:
    """Parameters of the heat-stress (PET) model."""

    cell_m: float = param(
        10.0,
        unit="m",
        source="assumed: the standard map is 1 m; 10 m resolves streets and squares and runs in ~1 s",
        description="Cell size of the PET grid.",
    )
    day: str = param(
        "2015-07-01",
        unit="YYYY-MM-DD | hottest | reference",
        source="Koopmans et al. (2020): 1 July 2015 is the 1:1000 hot day (summer half years "
        "2004-2018) of the Dutch standard PET map; here read from the KNMI Cabauw series",
        description="Hot day: a date in the KNMI series, 'hottest' (highest Tmax with complete data) "
        "or 'reference' (the ref_* values below).",
    )
    hours_local: tuple[float, ...] = param(
        (12.5, 13.5, 14.5, 15.5, 16.5, 17.5),
        unit="h (local time)",
        source="Klimaateffectatlas / Koopmans et al. (2020): mean of 12:00-18:00 local time; "
        "one sample in the middle of each hour",
        description="Times of day averaged.",
    )
    utc_offset_h: float = param(
        2.0, unit="h", source="CEST (summer time in the Netherlands)", description="Local time minus UTC."
    )
    latitude_deg: float = param(
        51.81, unit="degrees N", source="Dordrecht town centre", description="Latitude for the sun."
    )
    longitude_deg: float = param(
        4.67, unit="degrees E", source="Dordrecht town centre", description="Longitude for the sun."
    )
    temp_peak_hour: float = param(
        15.5,
        unit="h (local time)",
        source="assumed: daily maximum at Dutch inland stations in summer around 15-16 h CEST",
        description="Hour of the daily maximum of the cosine temperature course.",
    )
    ref_temp_max_c: float = param(
        30.0, unit="°C", source="assumed: a 'tropical day' (KNMI)", description="Reference day Tmax."
    )
    ref_temp_min_c: float = param(17.0, unit="°C", source="assumed", description="Reference day Tmin.")
    ref_humidity_min_pct: float = param(
        40.0, unit="%", source="assumed", description="Reference day minimum relative humidity."
    )
    ref_wind_ms: float = param(
        2.0, unit="m/s", source="assumed", description="Reference day mean wind speed at 10 m."
    )
    ref_radiation_jcm2: float = param(
        2800.0,
        unit="J/cm2 per day",
        source="assumed: clear July day at 52°N (clearness index ~0.68, peak ~800 W/m2)",
        description="Reference day global radiation.",
    )
    uhi_radius_m: float = param(
        500.0,
        unit="m",
        source="Theeuwes et al. (2017): vegetation fraction within 500 m",
        description="Radius (square window) of the SVF and vegetation means of the UHI.",
    )
    uhi_afternoon_factor: float = param(
        0.25,
        unit="-",
        source="assumed: the UHI of Dutch cities peaks at night and is small by day (Heusinkveld "
        "et al. 2014, Rotterdam); Tygron's 'sun daily motion factor' plays this role, its values "
        "are not published",
        description="Share of the daily maximum UHI present in the afternoon air temperature.",
    )
    svf_radius_m: float = param(
        100.0,
        unit="m",
        source="assumed: a 20 m building 100 m away rises 10° above the horizon; farther ones matter little",
        description="Search radius for the horizon angle.",
    )
    svf_directions: int = param(
        16, unit="directions", source="assumed", description="Azimuths sampled for the sky-view factor."
    )
    observer_height_m: float = param(
        1.2,
        unit="m",
        source="Koopmans et al. (2020): PET and wind at 1.2 m",
        description="Height of the person for shade, sky view and wind.",
    )
    tree_height_m: float = param(
        10.0,
        unit="m",
        source="assumed: the data holds no tree heights",
        description="Height of tree crowns (wood polygons, planted trees) as shade obstacles.",
    )
    tree_green_types: tuple[str, ...] = param(
        ("wood",),
        unit="green_type values",
        source="assumed: only OSM wood marks tree cover; other green is taken as low vegetation",
        description="Green types counted as tree cover.",
    )
    water_buurt_unmapped_as_water: bool = param(
        True,
        unit="bool",
        source="CBS marks a buurt with h2o = JA as water; OSM water polygons miss parts of the rivers",
        description="In water buurten, cells not mapped as building, green or water count as water.",
    )
    wind_z0_m: float = param(
        0.03,
        unit="m",
        source="WMO (2018) Guide No. 8, Davenport class 'open' (station surroundings)",
        description="Roughness length of the log profile from 10 m to 1.2 m.",
    )
    wind_radius_m: float = param(
        100.0, unit="m", source="assumed", description="Radius (square window) of the cover that slows wind."
    )
    wind_building_reduction: float = param(
        1.0,
        unit="per unit building cover",
        source="assumed: gives about 30 % of the open-terrain 10 m wind in the densest blocks",
        description="Relative wind reduction per unit building cover within wind_radius_m.",
    )
    wind_tree_reduction: float = param(
        0.5,
        unit="per unit tree cover",
        source="assumed",
        description="Relative wind reduction per tree cover.",
    )
    wind_min_ms: float = param(
        0.5,
        unit="m/s",
        source="assumed: lower limit of the PET regression's wind term (ln u)",
        description="Lowest wind speed at 1.2 m.",
    )
    bowen_ratio: dict[str, float] = param(
        {"paved": 2.0, "low_vegetation": 0.5, "trees": 0.4, "water": 0.1, "building": 2.0},
        unit="-",
        source="assumed, within the ranges in Oke (1987) Boundary Layer Climates: water ~0.1, grass "
        "and forest below 1, dry paved surfaces well above 1",
        description="Bowen ratio of each surface class.",
    )
    bowen_radius_m: float = param(
        50.0, unit="m", source="assumed", description="Radius (square window) of the Bowen-ratio mean."
    )
    surroundings_m: float = param(
        20.0,
        unit="m",
        source="assumed",
        description="Distance around a footprint's bounding box that counts as its surroundings.",
    )
    extreme_pet_c: float = param(
        41.0,
        unit="°C",
        source="Matzarakis & Mayer (1996): PET > 41 °C is extreme heat stress",
        description="Threshold of the 'above 41' indicators.",
    )


@dataclass(frozen=True)
class HotDay:
    """Daily weather of the hot day (KNMI daily values at 10 m / 1.5 m)."""

    date: pd.Timestamp
    temp_max_c: float
    temp_min_c: float
    temp_mean_c: float
    humidity_min_pct: float
    wind_ms: float
    radiation_jcm2: float
    pressure_hpa: float


@dataclass(frozen=True)
class AfternoonWeather:
    """Weather at each sampled hour of the hot afternoon, and the daily UHI temperature effect.

    ``uhi_effect_k`` = (S * DTR^3 / U)^(1/4) of Theeuwes et al. (2017), in K.
    """

    day: HotDay
    hours_local: np.ndarray
    temp_c: np.ndarray
    humidity_pct: np.ndarray
    global_wm2: np.ndarray
    diffuse_wm2: np.ndarray
    sun_altitude_deg: np.ndarray
    sun_azimuth_deg: np.ndarray
    uhi_effect_k: float


def wet_bulb_stull(temp_c: Number, humidity_pct: Number) -> np.ndarray:
    """Wet-bulb temperature (°C) from air temperature (°C) and relative humidity (%), Stull (2011)."""
    t = np.asarray(temp_c)
    rh = np.asarray(humidity_pct)
    return np.asarray(
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )


def pet_sun(
    temp_c: Number,
    global_wm2: Number,
    wind_ms: Number,
    wet_bulb_c: Number,
    sun_altitude_deg: Number,
    bowen: Number,
    svf: Number,
) -> np.ndarray:
    """PET (°C) of a sunlit person, Koopmans et al. (2020) regression as documented by Tygron.

    Global radiation in W/m2, wind at 1.2 m in m/s, sun altitude in degrees, Bowen ratio and
    sky-view factor dimensionless.
    """
    ln_u = np.log(wind_ms)
    q = np.asarray(global_wm2)
    sin_phi = np.sin(np.radians(sun_altitude_deg))
    return np.asarray(
        -13.26
        + 1.25 * np.asarray(temp_c)
        + 0.011 * q
        - 3.37 * ln_u
        + 0.078 * np.asarray(wet_bulb_c)
        + 0.0055 * q * ln_u
        + 5.56 * sin_phi
        - 0.0103 * q * ln_u * sin_phi
        + 0.546 * np.asarray(bowen)
        + 1.94 * np.asarray(svf)
    )


def pet_shade(
    temp_c: Number,
    wind_ms: Number,
    wet_bulb_c: Number,
    svf: Number,
    diffuse_wm2: Number,
) -> np.ndarray:
    """PET (°C) of a person in the shade, Koopmans et al. (2020) regression as documented by Tygron.

    Wind at 1.2 m in m/s, diffuse radiation in W/m2, sky-view factor dimensionless.
    """
    t = np.asarray(temp_c)
    s = np.asarray(svf)
    return np.asarray(
        -12.14
        + 1.25 * t
        - 1.47 * np.log(wind_ms)
        + 0.060 * np.asarray(wet_bulb_c)
        + 0.015 * s * np.asarray(diffuse_wm2)
        + 0.0060 * (1.0 - s) * STEFAN_BOLTZMANN * (t + 273.15) ** 4
    )


def _fractional_year(day_of_year: Number, hour_utc: Number) -> np.ndarray:
    return np.asarray(2.0 * np.pi / 365.0 * (np.asarray(day_of_year) - 1 + (np.asarray(hour_utc) - 12) / 24))


def _declination(gamma: np.ndarray) -> np.ndarray:
    """Solar declination (rad), Spencer (1971)."""
    return np.asarray(
        0.006918
        - 0.399912 * np.cos(gamma)
        + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma)
        + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma)
        + 0.00148 * np.sin(3 * gamma)
    )


def _earth_sun_factor(gamma: np.ndarray) -> np.ndarray:
    """(mean distance / distance)^2 of the Earth-Sun distance, Spencer (1971)."""
    return np.asarray(
        1.000110
        + 0.034221 * np.cos(gamma)
        + 0.001280 * np.sin(gamma)
        + 0.000719 * np.cos(2 * gamma)
        + 0.000077 * np.sin(2 * gamma)
    )


def solar_position(
    day_of_year: Number,
    hour_utc: Number,
    latitude_deg: float,
    longitude_deg: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Sun altitude and azimuth (degrees; azimuth clockwise from north) at a time (UTC, hours).

    NOAA Global Monitoring Laboratory "General solar position calculations" (Spencer 1971 series
    for declination and equation of time); accurate to about 0.1°, no refraction.
    """
    gamma = _fractional_year(day_of_year, hour_utc)
    eot_min = 229.18 * (
        0.000075
        + 0.001868 * np.cos(gamma)
        - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma)
        - 0.040849 * np.sin(2 * gamma)
    )
    decl = _declination(gamma)
    solar_time = np.asarray(hour_utc) + longitude_deg / 15.0 + eot_min / 60.0
    hour_angle = np.radians(15.0 * (solar_time - 12.0))
    lat = math.radians(latitude_deg)
    sin_alt = math.sin(lat) * np.sin(decl) + math.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    alt = np.arcsin(np.clip(sin_alt, -1.0, 1.0))
    cos_az = (np.sin(decl) - np.sin(alt) * math.sin(lat)) / (np.cos(alt) * math.cos(lat))
    az = np.degrees(np.arccos(np.clip(cos_az, -1.0, 1.0)))
    az = np.where(np.sin(hour_angle) > 0, 360.0 - az, az)
    return np.degrees(alt), np.asarray(az)


def daily_extraterrestrial_jm2(day_of_year: int, latitude_deg: float) -> float:
    """Daily extraterrestrial radiation on a horizontal surface (J/m2), Duffie & Beckman (2013) 1.10.3."""
    gamma = _fractional_year(day_of_year, 12.0)
    decl = float(_declination(gamma))
    lat = math.radians(latitude_deg)
    sunset = math.acos(max(-1.0, min(1.0, -math.tan(lat) * math.tan(decl))))
    return float(
        86400.0
        / math.pi
        * SOLAR_CONSTANT
        * float(_earth_sun_factor(gamma))
        * (math.cos(lat) * math.cos(decl) * math.sin(sunset) + sunset * math.sin(lat) * math.sin(decl))
    )


def diffuse_fraction_erbs(clearness: Number) -> np.ndarray:
    """Diffuse share of global radiation from the clearness index, Erbs, Klein & Duffie (1982)."""
    kt = np.asarray(clearness, dtype=float)
    middle = 0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3 + 12.336 * kt**4
    return np.asarray(np.where(kt <= 0.22, 1.0 - 0.09 * kt, np.where(kt <= 0.80, middle, 0.165)))


def saturation_vapour_pressure_hpa(temp_c: Number) -> np.ndarray:
    """Saturation vapour pressure over water (hPa), Magnus form of Alduchov & Eskridge (1996)."""
    t = np.asarray(temp_c, dtype=float)
    return np.asarray(6.1094 * np.exp(17.625 * t / (t + 243.04)))


def hot_day(weather: pd.DataFrame, params: HeatParams) -> HotDay:
    """The hot day chosen by ``params.day`` from the KNMI daily series (or the reference day)."""
    if params.day == "reference":
        return HotDay(
            date=pd.Timestamp("2015-07-01"),
            temp_max_c=params.ref_temp_max_c,
            temp_min_c=params.ref_temp_min_c,
            temp_mean_c=(params.ref_temp_max_c + params.ref_temp_min_c) / 2,
            humidity_min_pct=params.ref_humidity_min_pct,
            wind_ms=params.ref_wind_ms,
            radiation_jcm2=params.ref_radiation_jcm2,
            pressure_hpa=1013.25,
        )
    missing = [c for c in ("date", *WEATHER_COLUMNS) if c not in weather.columns]
    if missing:
        raise InvalidInputError(
            f"heat_pet: the weather series lacks {missing}; load the KNMI daily series or set day='reference'"
        )
    complete = weather.dropna(subset=list(WEATHER_COLUMNS))
    if params.day == "hottest":
        if complete.empty:
            raise InvalidInputError(
                "heat_pet: no day in the weather series has complete data; use day='reference'"
            )
        row = complete.sort_values(
            ["temp_max_c", "temp_mean_c", "date"], ascending=[False, False, True]
        ).iloc[0]
    else:
        try:
            wanted = pd.Timestamp(params.day)
        except ValueError:
            raise InvalidInputError(
                f"heat_pet: day '{params.day}' is not a date (YYYY-MM-DD), 'hottest' or 'reference'",
                invalid_params=[{"name": "day", "reason": "not a date"}],
            ) from None
        rows = complete[pd.to_datetime(complete["date"]) == wanted]
        if rows.empty:
            raise InvalidInputError(
                f"heat_pet: the weather series has no complete data for {wanted.date()}; choose another "
                "day, 'hottest' or 'reference'",
                invalid_params=[{"name": "day", "reason": "no complete weather data"}],
            )
        row = rows.iloc[0]
    pressure = row.get("pressure_mean_hpa", np.nan)
    return HotDay(
        date=pd.Timestamp(row["date"]),
        temp_max_c=float(row["temp_max_c"]),
        temp_min_c=float(row["temp_min_c"]),
        temp_mean_c=float(row["temp_mean_c"]),
        humidity_min_pct=float(row["humidity_min_pct"]),
        wind_ms=float(row["wind_speed_mean_ms"]),
        radiation_jcm2=float(row["global_radiation_jcm2"]),
        pressure_hpa=float(pressure) if pd.notna(pressure) else 1013.25,
    )


def afternoon_weather(weather: pd.DataFrame, params: HeatParams) -> AfternoonWeather:
    """Hourly weather of the hot afternoon from the daily KNMI values (see the module docstring)."""
    day = hot_day(weather, params)
    doy = int(day.date.day_of_year)
    hours = np.asarray(params.hours_local, dtype=float)
    amplitude = (day.temp_max_c - day.temp_min_c) / 2
    temp = (day.temp_max_c + day.temp_min_c) / 2 + amplitude * np.cos(
        2 * np.pi * (hours - params.temp_peak_hour) / 24
    )
    vapour = day.humidity_min_pct / 100 * saturation_vapour_pressure_hpa(day.temp_max_c)
    humidity = np.minimum(100.0, 100 * vapour / saturation_vapour_pressure_hpa(temp))
    hour_utc = hours - params.utc_offset_h
    altitude, azimuth = solar_position(doy, hour_utc, params.latitude_deg, params.longitude_deg)
    daily_j = day.radiation_jcm2 * 1e4
    clearness = min(1.0, daily_j / daily_extraterrestrial_jm2(doy, params.latitude_deg))
    top = SOLAR_CONSTANT * _earth_sun_factor(_fractional_year(doy, hour_utc)) * np.sin(np.radians(altitude))
    global_wm2 = clearness * np.maximum(top, 0.0)
    diffuse = diffuse_fraction_erbs(clearness) * global_wm2
    rho = day.pressure_hpa * 100 / (R_DRY_AIR * (day.temp_mean_c + 273.15))
    s = daily_j / 86400 / (rho * CP_AIR)
    dtr = max(day.temp_max_c - day.temp_min_c, 0.0)
    uhi_effect = (s * dtr**3 / max(day.wind_ms, 0.5)) ** 0.25
    return AfternoonWeather(
        day=day,
        hours_local=hours,
        temp_c=np.asarray(temp),
        humidity_pct=np.asarray(humidity),
        global_wm2=np.asarray(global_wm2),
        diffuse_wm2=np.asarray(diffuse),
        sun_altitude_deg=np.asarray(altitude),
        sun_azimuth_deg=np.asarray(azimuth),
        uhi_effect_k=float(uhi_effect),
    )


def _obstacles(height: np.ndarray, observer_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and height above the observer (m) of cells higher than the observer, highest first."""
    flat = np.flatnonzero(height.ravel() > observer_m)
    above = height.ravel()[flat].astype(np.float32) - np.float32(observer_m)
    order = np.argsort(-above, kind="stable")
    flat, above = flat[order], above[order]
    rows, cols = np.divmod(flat, height.shape[1])
    return rows, cols, above


def _ray_offsets(azimuth_deg: float, reach_cells: float, step: float) -> Iterator[tuple[int, int, float]]:
    """Distinct (row, col, distance in cells) offsets along a ray, nearest first (north = -row)."""
    d_row, d_col = -math.cos(math.radians(azimuth_deg)), math.sin(math.radians(azimuth_deg))
    seen: set[tuple[int, int]] = set()
    for k in range(1, math.ceil(reach_cells / step) + 1):
        offset = (round(k * step * d_row), round(k * step * d_col))
        distance = math.hypot(*offset)
        if offset in seen or distance == 0 or distance > reach_cells:
            continue
        seen.add(offset)
        yield offset[0], offset[1], distance


def _targets(
    rows: np.ndarray, cols: np.ndarray, d_row: int, d_col: int, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Flat index of the cells at ``-offset`` from each source that lie in the grid, and which sources."""
    tr, tc = rows - d_row, cols - d_col
    ok = np.flatnonzero((tr >= 0) & (tr < shape[0]) & (tc >= 0) & (tc < shape[1]))
    return tr[ok] * shape[1] + tc[ok], ok


def shadow_mask(
    height: np.ndarray,
    cell_m: float,
    sun_altitude_deg: float,
    sun_azimuth_deg: float,
    observer_m: float = 1.2,
) -> np.ndarray:
    """Cells (bool, shaped like ``height``) where a higher cell towards the sun blocks the sun.

    ``height``: obstacle height above ground (m; 0 = open). The ray from ``observer_m`` towards the
    sun is marched in half-cell steps and compared with each obstacle cell at the distance of its
    near edge (centre distance - half a cell); all cells are shaded when the sun is down.
    """
    shape = height.shape
    if sun_altitude_deg <= 0:
        return np.ones(shape, dtype=bool)
    shade = np.zeros(height.size, dtype=bool)
    rows, cols, above = _obstacles(height, observer_m)
    if len(above) == 0:
        return shade.reshape(shape)
    tan_alt = math.tan(math.radians(sun_altitude_deg))
    reach = float(above[0]) / tan_alt / cell_m + 1.0
    descending = -above
    for d_row, d_col, distance in _ray_offsets(sun_azimuth_deg, reach, 0.5):
        active = int(np.searchsorted(descending, -(distance - 0.5) * cell_m * tan_alt, side="left"))
        if active == 0:
            continue
        flat, _ = _targets(rows[:active], cols[:active], d_row, d_col, shape)
        shade[flat] = True
    return shade.reshape(shape)


def sky_view_factor(
    height: np.ndarray,
    cell_m: float,
    radius_m: float = 100.0,
    directions: int = 16,
    observer_m: float = 1.2,
    at: np.ndarray | None = None,
) -> np.ndarray:
    """Sky-view factor (0-1, float32) of a horizontal surface at ``observer_m`` for every cell.

    ``1 - mean over directions of sin^2(max horizon angle)`` within ``radius_m`` (isotropic sky;
    equals Oke's cos(beta) for a long canyon); the horizon angle of an obstacle cell is taken at its
    near edge (centre distance - half a cell). With ``at`` (flat cell indices) only those cells are
    computed and the others are NaN.
    """
    shape = height.shape
    directions = max(1, int(directions))
    at = np.arange(height.size) if at is None else np.asarray(at)
    rows, cols, above = _obstacles(height, observer_m)
    loss = np.zeros(len(at), dtype=np.float32)
    tan_horizon = np.zeros(height.size, dtype=np.float32)
    for k in range(directions):
        tan_horizon.fill(0.0)
        for d_row, d_col, distance in _ray_offsets(360.0 * k / directions, radius_m / cell_m, 1.0):
            flat, ok = _targets(rows, cols, d_row, d_col, shape)
            edge = np.float32((distance - 0.5) * cell_m)
            tan_horizon[flat] = np.maximum(tan_horizon[flat], above[ok] / edge)
        t2 = np.square(tan_horizon[at])
        loss += t2 / (1.0 + t2)
    out = np.full(height.size, np.nan, dtype=np.float32)
    out[at] = 1.0 - loss / directions
    return out.reshape(shape)


@dataclass(frozen=True)
class _Surface:
    """Rasterised city in a window: surface class, obstacle height (m), buurt label (-1 outside)."""

    surface: np.ndarray
    height: np.ndarray
    label: np.ndarray


def _geoms(frame: pd.DataFrame, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Geometries of ``frame`` meeting the window, and their positions in the frame."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    at = intersecting(geoms, grid)
    return geoms[at], at


def _surface(city: CityState, grid: Grid, params: HeatParams) -> _Surface:
    """Surface classes and obstacle heights of the window (priority: building > de-paved > rest)."""
    buurten, at = _geoms(city.buurten, grid)
    label = rasterize_values(buurten, at.astype(np.int32), grid, -1)
    surface = np.full(grid.shape, PAVED, dtype=np.uint8)
    green, at = _geoms(city.green, grid)
    is_tree = city.green["green_type"].isin(params.tree_green_types).to_numpy()[at]
    surface[rasterize_mask(green[~is_tree], grid)] = LOW_VEGETATION
    surface[rasterize_mask(green[is_tree], grid)] = TREES
    water, _ = _geoms(city.water, grid)
    surface[rasterize_mask(water, grid)] = WATER
    if params.water_buurt_unmapped_as_water and "h2o" in city.buurten.columns:
        water_buurt = (city.buurten["h2o"] == "JA").to_numpy()
        surface[(label >= 0) & water_buurt[np.maximum(label, 0)] & (surface == PAVED)] = WATER
    trees = city.trees
    if len(trees):
        radius = np.maximum(trees["crown_diameter_m"].fillna(0.0).to_numpy(float), 1.0) / 2
        crowns = shapely.buffer(np.asarray(trees.geometry.values, dtype=object), radius, quad_segs=4)
        crowns = crowns[intersecting(crowns, grid)]
        surface[rasterize_mask(crowns, grid) & (surface != WATER)] = TREES
    depaved, at = _geoms(city.depaved, grid)
    kinds = city.depaved["surface"].to_numpy()[at] if len(at) else np.zeros(0, dtype=object)
    for kind, code in (("grass", LOW_VEGETATION), ("trees", TREES), ("water", WATER)):
        surface[rasterize_mask(depaved[kinds == kind], grid)] = code
    buildings, at = _geoms(city.buildings, grid)
    heights = city.buildings["height_m"].to_numpy(float)[at]
    heights = np.where(np.isfinite(heights) & (heights > 0), heights, 3.0).astype(np.float32)
    building_height = rasterize_values(buildings, heights, grid, 0.0)
    surface[building_height > 0] = BUILDING
    height = np.where(surface == TREES, np.float32(params.tree_height_m), building_height).astype(np.float32)
    return _Surface(surface=surface, height=height, label=label)


def _cells(radius_m: float, cell_m: float) -> int:
    return max(0, math.ceil(radius_m / cell_m - 1e-9))


def _fields(
    city: CityState, params: HeatParams, weather: AfternoonWeather, grid: Grid
) -> dict[str, np.ndarray]:
    """PET, shade share and sky-view factor (float32, NaN off outdoor land) in a window, plus labels."""
    surf = _surface(city, grid, params)
    inside = surf.label >= 0
    open_ground = inside & (surf.surface != BUILDING)
    valid = inside & (surf.surface <= TREES)
    cell = params.cell_m
    z = params.observer_height_m
    svf = sky_view_factor(
        surf.height, cell, params.svf_radius_m, params.svf_directions, z, at=np.flatnonzero(open_ground)
    )
    r_uhi = _cells(params.uhi_radius_m, cell)
    cooling = np.isin(surf.surface, (LOW_VEGETATION, TREES, WATER))
    f_veg = window_mean(cooling, inside, r_uhi)
    svf_mean = window_mean(np.nan_to_num(svf, nan=0.0), open_ground, r_uhi)
    uhi = np.maximum(2.0 - svf_mean - f_veg, 0.0) * np.float32(weather.uhi_effect_k)
    r_wind = _cells(params.wind_radius_m, cell)
    building_cover = window_mean(surf.surface == BUILDING, inside, r_wind)
    tree_cover = window_mean(surf.surface == TREES, inside, r_wind)
    log_profile = math.log(z / params.wind_z0_m) / math.log(10.0 / params.wind_z0_m)
    slowing = np.clip(
        1.0 - params.wind_building_reduction * building_cover - params.wind_tree_reduction * tree_cover,
        0.0,
        1.0,
    )
    wind = np.maximum(np.float32(weather.day.wind_ms * log_profile) * slowing, np.float32(params.wind_min_ms))
    missing = [name for name in SURFACES if name not in params.bowen_ratio]
    if missing:
        raise InvalidInputError(
            f"heat_pet: bowen_ratio lacks {missing}; give a value for each of {list(SURFACES)}",
            invalid_params=[{"name": "bowen_ratio", "reason": f"missing {missing}"}],
        )
    bowen_by_class = np.array([params.bowen_ratio[name] for name in SURFACES], dtype=np.float32)
    bowen = window_mean(bowen_by_class[surf.surface], inside, _cells(params.bowen_radius_m, cell))

    at = np.flatnonzero(valid)
    svf_v, uhi_v, wind_v, bowen_v = (a.ravel()[at] for a in (svf, uhi, wind, bowen))
    under_trees = surf.surface.ravel()[at] == TREES
    pet = np.zeros(len(at), dtype=np.float32)
    shade_hours = np.zeros(len(at), dtype=np.float32)
    for h in range(len(weather.hours_local)):
        altitude = float(weather.sun_altitude_deg[h])
        shaded = shadow_mask(surf.height, cell, altitude, float(weather.sun_azimuth_deg[h]), z).ravel()[at]
        shaded |= under_trees
        ta = np.float32(weather.temp_c[h]) + uhi_v * np.float32(params.uhi_afternoon_factor)
        tw = wet_bulb_stull(ta, np.float32(weather.humidity_pct[h])).astype(np.float32)
        sun = pet_sun(ta, np.float32(weather.global_wm2[h]), wind_v, tw, np.float32(altitude), bowen_v, svf_v)
        shade = pet_shade(ta, wind_v, tw, svf_v, np.float32(weather.diffuse_wm2[h]))
        pet += np.where(shaded, shade, sun).astype(np.float32)
        shade_hours += shaded
    n_hours = np.float32(max(len(weather.hours_local), 1))
    out: dict[str, np.ndarray] = {}
    for name, values in (
        ("pet_c", pet / n_hours),
        ("shade_share", shade_hours / n_hours),
        ("sky_view_factor", svf_v),
    ):
        array = np.full(grid.rows * grid.cols, np.nan, dtype=np.float32)
        array[at] = values
        out[name] = array.reshape(grid.shape)
    out["label"] = surf.label
    return out


def _grid_of(raster: Raster) -> Grid:
    rows, cols = raster.shape
    return Grid(raster.x_min, raster.y_max, raster.cell_m, rows, cols)


def _building_pet(buildings: pd.DataFrame, grid: Grid, pet: np.ndarray, margin_m: float) -> pd.Series:
    """Mean PET of the outdoor cells whose centre lies within ``margin_m`` of each footprint's bbox."""
    b = shapely.bounds(np.asarray(buildings.geometry.values, dtype=object))
    cell = grid.cell_m
    c_lo = np.ceil((b[:, 0] - margin_m - grid.x0) / cell - 0.5)
    c_hi = np.floor((b[:, 2] + margin_m - grid.x0) / cell - 0.5) + 1
    r_lo = np.ceil((grid.y0 - b[:, 3] - margin_m) / cell - 0.5)
    r_hi = np.floor((grid.y0 - b[:, 1] + margin_m) / cell - 0.5) + 1
    r_lo, r_hi = (np.clip(np.nan_to_num(v), 0, grid.rows).astype(np.int64) for v in (r_lo, r_hi))
    c_lo, c_hi = (np.clip(np.nan_to_num(v), 0, grid.cols).astype(np.int64) for v in (c_lo, c_hi))
    r_hi, c_hi = np.maximum(r_hi, r_lo), np.maximum(c_hi, c_lo)
    valid = np.isfinite(pet)
    total = box_sums(np.where(valid, pet, 0.0), r_lo, r_hi, c_lo, c_hi)
    count = box_sums(valid, r_lo, r_hi, c_lo, c_hi)
    mean = np.full(len(b), np.nan)
    np.divide(total, count, out=mean, where=count > 0.5)
    return pd.Series(mean, index=buildings.index, name="pet_c")


def _result(
    city: CityState,
    params: HeatParams,
    weather: AfternoonWeather,
    grid: Grid,
    values: Mapping[str, np.ndarray],
    label: np.ndarray,
    max_height_m: float,
) -> ModelResult:
    """Aggregates (buildings, buurten, city) of a full PET raster."""
    pet = values["pet_c"]
    threshold = params.extreme_pet_c
    building_pet = _building_pet(city.buildings, grid, pet, params.surroundings_m)
    n = len(city.buurten)
    valid = np.isfinite(pet)
    cell_label = label[valid]
    cell_pet = pet[valid].astype(np.float64)
    cells = np.bincount(cell_label, minlength=n).astype(float)
    pet_sum = np.bincount(cell_label, weights=cell_pet, minlength=n)
    hot_cells = np.bincount(cell_label, weights=(cell_pet > threshold).astype(float), minlength=n)
    dwellings = city.buildings["dwellings_est"].fillna(0.0).astype(float)
    hot_dwellings = dwellings.where(building_pet > threshold, 0.0)
    by_buurt = pd.DataFrame({"all": dwellings, "hot": hot_dwellings, "bu_code": city.buildings["bu_code"]})
    by_buurt = by_buurt.groupby("bu_code")[["all", "hot"]].sum().reindex(city.buurten.index, fill_value=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        buurt = pd.DataFrame(
            {
                "pet_mean_c": np.where(cells > 0, pet_sum / cells, np.nan),
                "area_pet_above_41_share": np.where(cells > 0, hot_cells / cells, np.nan),
                "dwellings_pet_above_41_share": np.where(
                    by_buurt["all"] > 0, by_buurt["hot"] / by_buurt["all"], np.nan
                ),
            },
            index=city.buurten.index,
        )
    total_dwellings = float(dwellings.sum())
    city_values = {
        "pet_mean_c": float(cell_pet.mean()) if len(cell_pet) else float("nan"),
        "area_pet_above_41_share": float((cell_pet > threshold).mean()) if len(cell_pet) else float("nan"),
        "dwellings_pet_above_41": float(hot_dwellings.sum()),
        "dwellings_pet_above_41_share": float(hot_dwellings.sum()) / total_dwellings
        if total_dwellings > 0
        else float("nan"),
    }
    raster = Raster(x_min=grid.x0, y_max=grid.y0, cell_m=grid.cell_m, values=dict(values))
    day = weather.day
    data = {
        "buurt_label": label,
        "max_height_m": max_height_m,
        "hot_day": {
            "date": str(day.date.date()),
            "temp_max_c": day.temp_max_c,
            "temp_min_c": day.temp_min_c,
            "humidity_min_pct": day.humidity_min_pct,
            "wind_ms": day.wind_ms,
            "radiation_jcm2": day.radiation_jcm2,
            "uhi_effect_k": weather.uhi_effect_k,
        },
    }
    return ModelResult(
        city=city_values,
        buurt=buurt,
        objects={"buildings": building_pet.to_frame()},
        raster=raster,
        data=data,
    )


def _max_height(city: CityState, params: HeatParams) -> float:
    heights = city.buildings["height_m"].to_numpy(float)
    highest = float(np.nanmax(heights)) if len(heights) and np.isfinite(heights).any() else 0.0
    return max(highest, params.tree_height_m)


def run(city: CityState, upstream: Mapping[str, ModelResult], params: HeatParams) -> ModelResult:
    """PET on the hot afternoon over the whole municipality, with its aggregates."""
    weather = afternoon_weather(city.weather, params)
    grid = Grid.covering(city.buurten.total_bounds, params.cell_m)
    fields = _fields(city, params, weather, grid)
    label = fields.pop("label")
    return _result(city, params, weather, grid, fields, label, _max_height(city, params))


def reach_m(params: HeatParams, weather: AfternoonWeather, max_height_m: float) -> float:
    """How far (m) a change of the surface can change PET: UHI + SVF radius, wind, Bowen, shadows."""
    cell = params.cell_m
    lowest_sun = float(np.min(weather.sun_altitude_deg)) if len(weather.sun_altitude_deg) else 90.0
    shadow = 0.0
    if lowest_sun > 0:
        shadow = max(max_height_m - params.observer_height_m, 0.0) / math.tan(math.radians(lowest_sun))
    radii = (
        (_cells(params.uhi_radius_m, cell) + _cells(params.svf_radius_m, cell)) * cell,
        _cells(params.wind_radius_m, cell) * cell,
        _cells(params.bowen_radius_m, cell) * cell,
        _cells(params.svf_radius_m, cell) * cell,
        shadow,
    )
    return max(radii) + 2 * cell


def update(
    city: CityState,
    upstream: Mapping[str, ModelResult],
    params: HeatParams,
    previous: ModelResult,
    change: CityChange,
) -> ModelResult:
    """PET after a local change: recompute the cells within :func:`reach_m` of ``change.bbox``.

    The surface is rasterised over that area plus the reach again, so the pasted cells equal
    :func:`run`'s; aggregates are recomputed from the whole raster. Falls back to :func:`run` when
    the change has no bbox, changes the weather or buurten, or the previous raster does not match.
    """
    raster = previous.raster
    label = previous.data.get("buurt_label")
    if (
        change.bbox is None
        or change.fields & {"weather", "buurten"}
        or raster is None
        or raster.cell_m != params.cell_m
        or not isinstance(label, np.ndarray)
        or label.shape != raster.shape
    ):
        return run(city, upstream, params)
    weather = afternoon_weather(city.weather, params)
    grid = _grid_of(raster)
    max_height = max(_max_height(city, params), float(previous.data.get("max_height_m", 0.0)))
    reach = reach_m(params, weather, max_height)
    paste = grid.window_around(change.bbox, reach)
    compute = grid.window_around(change.bbox, 2 * reach)
    values = {name: np.array(raster.values[name], dtype=np.float32, copy=True) for name in RASTER_VALUES}
    if paste.rows > 0 and paste.cols > 0:
        fields = _fields(city, params, weather, compute)
        for name in RASTER_VALUES:
            values[name][grid.slices(paste)] = fields[name][compute.slices(paste)]
    return _result(city, params, weather, grid, values, label, _max_height(city, params))


INDICATORS = (
    Indicator(
        "pet_c",
        "PET on a hot afternoon (12-18 h)",
        "°C",
        "heat",
        "lower",
        ("grid", "buildings"),
        "Mean physiological equivalent temperature 12:00-18:00 on the hot day; per building the mean "
        "over outdoor cells within 20 m of its footprint.",
    ),
    Indicator(
        "shade_share",
        "Shade 12-18 h",
        "share",
        "heat",
        "higher",
        ("grid",),
        "Share of the afternoon hours a cell lies in the shade of buildings or trees.",
    ),
    Indicator(
        "sky_view_factor",
        "Sky-view factor",
        "share",
        "heat",
        "neutral",
        ("grid",),
        "Share of the sky seen from 1.2 m (1 = open field), from building and tree heights.",
    ),
    Indicator(
        "pet_mean_c",
        "Mean PET outdoors",
        "°C",
        "heat",
        "lower",
        ("city", "buurt"),
        "Mean PET over the outdoor land cells (not buildings, not water).",
    ),
    Indicator(
        "area_pet_above_41_share",
        "Outdoor area with extreme heat stress",
        "share",
        "heat",
        "lower",
        ("city", "buurt"),
        "Share of outdoor land with PET above 41 °C (extreme heat stress, Matzarakis & Mayer 1996).",
    ),
    Indicator(
        "dwellings_pet_above_41_share",
        "Dwellings with extreme heat stress outside",
        "share",
        "heat",
        "lower",
        ("city", "buurt"),
        "Share of dwellings whose surroundings (outdoor cells within 20 m) have a mean PET above 41 °C.",
    ),
    Indicator(
        "dwellings_pet_above_41",
        "Dwellings with extreme heat stress outside",
        "dwellings",
        "heat",
        "lower",
        ("city",),
        "Number of dwellings whose surroundings have a mean PET above 41 °C.",
    ),
)

INFO = ModelInfo(
    id="heat_pet",
    version="1.0.0",
    title="Heat stress (PET) on a hot summer afternoon",
    description="Mean PET 12:00-18:00 on a hot day on a 10 m grid, from buildings, green, water, "
    "trees and the KNMI weather, as the Dutch standard stress-test heat map.",
    requires=(),
    reads=frozenset({"buildings", "green", "water", "trees", "depaved", "weather", "buurten"}),
    indicators=INDICATORS,
    method=(
        "Cell-centre rasterisation of buildings (height), water, trees and other green; paving is the "
        "rest. Hourly weather of the hot day from KNMI daily values (cosine temperature course, "
        "constant vapour pressure, clearness index x extraterrestrial radiation, Erbs diffuse share, "
        "NOAA sun position). Building and tree shadows by ray marching towards the sun; sky-view "
        "factor from the horizon angle in 16 directions within 100 m. Ta = T_station + UHI_max x "
        "0.25 with UHI_max after Theeuwes et al. (2017); wind at 1.2 m from a log profile slowed by "
        "building and tree cover; Bowen ratio from land use; wet-bulb temperature after Stull (2011). "
        "PET in sun or shade per hour with the regression of Koopmans et al. (2020), averaged over "
        "12:00-18:00."
    ),
    sources=(
        "Koopmans, Heusinkveld & Steeneveld (2020), A standardized Physical Equivalent Temperature "
        "urban heat map at 1-m spatial resolution to facilitate climate stress tests in the "
        "Netherlands, Building and Environment 181",
        "Tygron Support wiki, Heat Overlay: PET formulas, Temperature formulas, UHI formula, Shade "
        "calculation model (2019-2021)",
        "Theeuwes, Steeneveld, Ronda & Holtslag (2017), A diagnostic equation for the daily maximum "
        "urban heat island effect for cities in northwestern Europe, Int. J. Climatol. 37: 443-454, "
        "doi:10.1002/joc.4717",
        "Stull (2011), Wet-bulb temperature from relative humidity and air temperature, J. Appl. "
        "Meteor. Climatol. 50: 2267-2269, doi:10.1175/JAMC-D-11-0143.1",
        "Matzarakis & Mayer (1996), Another kind of environmental stress: thermal stress, WHO "
        "Collaborating Centre for Air Quality Management Newsletter 18: 7-10",
        "NOAA Global Monitoring Laboratory, General solar position calculations (Spencer 1971)",
        "Erbs, Klein & Duffie (1982), Estimation of the diffuse radiation fraction for hourly, daily "
        "and monthly-average global radiation, Solar Energy 28: 293-302",
        "Duffie & Beckman (2013), Solar Engineering of Thermal Processes, 4th ed., eq. 1.10.3",
        "Oke (1987), Boundary Layer Climates, 2nd ed.; Oke (1988), Street design and urban canopy "
        "layer climate, Energy and Buildings 11: 103-113",
        "KNMI daily weather, station 348 Cabauw",
    ),
    limitations=(
        "Building heights are mostly estimated from storeys (OSM has few heights); shadows and sky "
        "view are only as good as those heights.",
        "Tree cover is OSM 'wood' plus planted trees: street trees and trees in parks and gardens are "
        "missing, so shade is underestimated and PET overestimated in streets and parks.",
        "Private gardens are not in OSM and count as paving.",
        "Cell-centre sampling at 10 m: buildings or trees narrower than a cell may be missed or widened.",
        "Wind reduction, Bowen ratios, tree height and the afternoon UHI share are assumed values.",
        "Hourly weather is reconstructed from daily KNMI values of Cabauw, 25 km from Dordrecht.",
        "The PET regression was fitted for Dutch summer conditions; it is a screening map, not a "
        "microclimate simulation.",
    ),
    register=AlgorithmRegisterEntry(
        name="Hittestress (gevoelstemperatuur PET) op een hete zomermiddag",
        description_short=(
            "Berekent per vak van 10 bij 10 meter hoe heet het buiten voelt op een hete zomermiddag "
            "(gevoelstemperatuur PET, gemiddeld 12-18 uur), zoals de landelijke hittekaart, en hoe "
            "groen, bomen, water en bebouwing in een scenario dat veranderen."
        ),
        theme="Ruimtelijke ordening; Klimaatadaptatie; Gezondheid",
        purpose_and_impact=(
            "Het model laat zien waar in Dordrecht op een hete dag hittestress buiten optreedt en wat "
            "maatregelen zoals bomen planten, ontharden of water toevoegen opleveren. Het ondersteunt "
            "de klimaatstresstest en het gesprek over hittemaatregelen. Het geeft een indicatie per "
            "plek, buurt en gebouw; het neemt geen besluiten over personen."
        ),
        considerations=(
            "Gekozen is voor de landelijke standaardmethode (PET 12-18 uur, WUR) zodat uitkomsten "
            "vergelijkbaar zijn met de Klimaateffectatlas. Door ontbrekende gegevens (boomhoogtes, "
            "straatbomen, tuinen, gebouwhoogtes) is de kaart grover dan de landelijke kaart van 1 "
            "meter; verschillen tussen scenario's zijn betrouwbaarder dan absolute waarden."
        ),
        human_intervention=(
            "Uitkomsten zijn advies voor ontwerpers en beleidsmakers; zij beoordelen de kaart en "
            "toetsen belangrijke conclusies met metingen of gedetailleerdere modellen."
        ),
        risk_management=(
            "Formules en aannames zijn openbaar en gedocumenteerd (docs/models/heat.md); tests "
            "controleren de formules en de richting van effecten; de uitkomst wordt vergeleken met de "
            "hittekaart van de Klimaateffectatlas."
        ),
        data=(
            "Openbare gegevens zonder persoonsgegevens: gebouwen, groen en water uit OpenStreetMap, "
            "CBS-buurtgrenzen, weergegevens van KNMI-station Cabauw en de maatregelen van het scenario."
        ),
        legal_basis=(
            "Geen aparte wettelijke grondslag nodig (beleidsondersteunend, geen besluiten); kader: "
            "Deltaplan Ruimtelijke Adaptatie (klimaatstresstest) en de Omgevingswet"
        ),
        technical_operation=(
            "Regelgebaseerd rekenmodel, niet zelflerend. Per vak worden schaduw, zichtbare hemel, "
            "luchttemperatuur (met stedelijk hitte-eiland), wind en vochtigheid bepaald en met de "
            "regressieformule van Koopmans e.a. (2020) omgerekend naar de gevoelstemperatuur in zon "
            "of schaduw, per uur tussen 12 en 18 uur, en daarna gemiddeld."
        ),
        legal_basis_title="Omgevingswet",
        legal_basis_link="https://wetten.overheid.nl/BWBR0037885",
        link="https://github.com/tweeling/tweeling/blob/main/docs/models/heat.md",
        source_code_link="https://github.com/tweeling/tweeling/blob/main/src/tweeling/scenarios/impacts/heat.py",
    ),
)

MODEL: ImpactModel[HeatParams] = ImpactModel(info=INFO, params_type=HeatParams, run=run, update=update)
