"""Simulated observations for the demo sensors: traffic rhythm, shop hours and real KNMI weather.

Dordrecht has no open time series for most of the sensors a twin shows (noise, crowds, traffic
counts, low-cost air sensors), so the demo simulates them; every simulated Datastream says so
in its properties. The method in short (full text, parameters and sources in
``docs/sensors-simulation.md``):

- A **traffic index** (fraction of the weekday peak hour, local time Europe/Amsterdam) with
  morning and evening peaks on weekdays and lower, later traffic at weekends drives NO2,
  noise and traffic counts.
- **Crowds** follow shop opening hours (Monday morning closed, late shopping on Thursday,
  Sunday afternoon opening, Saturday busiest) or, for the station, the commuter rhythm.
- **Weather** comes from the shipped KNMI daily series of Cabauw: a diurnal temperature curve
  between the day's minimum (at sunrise) and maximum (2.5 h after solar noon), wind and
  humidity around the day's values, rain spells covering the day's rain duration.
- **Wind disperses** pollution: the traffic part of NO2 and PM scales with ``5/u`` as in SRM1
  (with the reference wind set to the shipped series' mean), the background with its square root.
- Measurement and counting error is a smooth noise field per stream, drawn from numpy
  Generators seeded by ``(seed, stream key)`` at knots one sampling interval apart: the same
  seed gives the same values, whatever the batching.

Units: concentrations µg/m³, noise LAeq dB(A), crowds people per 5 min, traffic vehicles/h,
temperature °C, wind m/s, precipitation mm/h, relative humidity %. Times are UTC.
Every parameter below is *assumed* unless a source is named.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import special

from tweeling.core.errors import InvalidInputError
from tweeling.core.times import format_instant

Quantity = Literal[
    "no2",
    "pm10",
    "pm25",
    "noise_laeq",
    "people_count",
    "traffic_flow",
    "air_temperature",
    "wind_speed",
    "precipitation_rate",
    "relative_humidity",
]
"""What a simulated Datastream observes (units in :data:`UNITS`)."""

Pattern = Literal["traffic", "shopping", "commuter"]
"""Daily rhythm of a people counter: shop hours, or the commuter (traffic) rhythm."""

Times = Sequence[datetime] | np.ndarray | pd.DatetimeIndex
"""Observation times: datetimes or datetime64 values (naive ones are UTC)."""

QUANTITIES: tuple[str, ...] = get_args(Quantity)
PATTERNS: tuple[str, ...] = get_args(Pattern)

UNITS: Mapping[str, str] = {
    "no2": "µg/m³",
    "pm10": "µg/m³",
    "pm25": "µg/m³",
    "noise_laeq": "dB(A)",
    "people_count": "people per 5 min",
    "traffic_flow": "vehicles/h",
    "air_temperature": "°C",
    "wind_speed": "m/s",
    "precipitation_rate": "mm/h",
    "relative_humidity": "%",
}

AIR_QUANTITIES = ("no2", "pm10", "pm25")
WEATHER_QUANTITIES = ("air_temperature", "wind_speed", "precipitation_rate", "relative_humidity")

LOCAL_TIMEZONE = "Europe/Amsterdam"
"""Daily rhythms (traffic, shops) follow local clock time, with summer time."""

DORDRECHT_LON_LAT = (4.67, 51.81)
"""Where sunrise and solar noon are computed for the temperature curve (degrees)."""

REFERENCE_WIND_MS = 4.2
"""Wind speed at which the dispersion factor is 1: the mean daily wind of the shipped KNMI
Cabauw series 2000-2026 (4.22 m/s)."""

DISPERSION_LIMITS = (0.4, 3.0)
"""Bounds of the dispersion factor ``REFERENCE_WIND_MS / u`` (assumed: keeps calm days finite)."""

SEASONAL_AMPLITUDE = {"no2": 0.25, "pm10": 0.15, "pm25": 0.15}
"""Relative winter excess of the background, largest mid-January (assumed; Dutch background
concentrations are higher in winter: lower mixing layer, heating)."""

RAIN_WASHOUT = 0.3
"""Share of the PM background removed on a day with 10 mm rain or more (assumed)."""

RAIN_CROWD_REDUCTION = 0.25
"""Share of shoppers who stay home on a day with 10 mm rain or more (assumed)."""

NOISE_BACKGROUND_DBA = 45.0
"""Ambient level without road traffic, combined energetically with the traffic part (assumed)."""

TEMPERATURE_PEAK_AFTER_NOON_H = 2.5
"""Hours between solar noon and the daily maximum temperature (assumed, typical lag)."""

WIND_DIURNAL_AMPLITUDE = 0.3
"""Relative afternoon excess of wind speed over the daily mean, peaking 13:00 UTC (assumed)."""

RAIN_INTENSITY_WITHOUT_DURATION = 1.0
"""Rain rate (mm/h) used to spread a day's rain when KNMI gives no rain duration (assumed)."""

FIREWORKS_EXCESS = {"pm25": 100.0, "pm10": 130.0}
"""Extra PM (µg/m³) at midnight of New Year, decaying with :data:`FIREWORKS_DECAY_H` (assumed
order of magnitude of the New Year's peaks in Dutch hourly measurements)."""

FIREWORKS_DECAY_H = 1.5
"""e-folding time (h) of the New Year's fireworks smoke (assumed)."""

KINGS_DAY_CROWD_FACTOR = 2.5
"""Crowd multiplier in shopping streets on King's Day, 10:00-20:00 local (assumed)."""

DEFAULT_MEASUREMENT_SD: Mapping[str, float] = {
    "no2": 0.15,
    "pm10": 0.15,
    "pm25": 0.15,
    "noise_laeq": 1.5,
    "people_count": 0.0,
    "traffic_flow": 0.0,
    "air_temperature": 0.3,
    "wind_speed": 0.25,
    "precipitation_rate": 0.5,
    "relative_humidity": 2.0,
}
"""Spread of the measurement error (assumed): log-normal sd for concentrations, wind and rain;
dB for noise; °C for temperature; %-points for humidity. Counts get counting noise instead
(the normal approximation of a Poisson count, variance equal to the mean)."""

DEFAULT_INTERVAL_S: Mapping[str, int] = {
    "no2": 3600,
    "pm10": 3600,
    "pm25": 3600,
    "noise_laeq": 300,
    "people_count": 300,
    "traffic_flow": 900,
    "air_temperature": 600,
    "wind_speed": 600,
    "precipitation_rate": 600,
    "relative_humidity": 600,
}
"""Default time between observations (s): hourly air quality, 5-min noise and crowd counts,
15-min traffic counts, 10-min weather (assumed, typical of such instruments)."""

# Hourly traffic as a fraction of the weekday peak hour, local hours 0-23 (assumed, shaped like
# typical Dutch urban count profiles: weekday peaks 07-09 and 16-18, weekend later and lower).
TRAFFIC_PROFILE_WEEKDAY = (
    0.12, 0.07, 0.05, 0.04, 0.06, 0.15, 0.45, 0.90, 1.00, 0.75, 0.62, 0.64,
    0.68, 0.68, 0.72, 0.85, 0.97, 1.00, 0.80, 0.55, 0.42, 0.35, 0.27, 0.18,
)  # fmt: skip
TRAFFIC_PROFILE_SATURDAY = (
    0.20, 0.13, 0.09, 0.06, 0.05, 0.07, 0.13, 0.22, 0.35, 0.52, 0.66, 0.75,
    0.78, 0.78, 0.78, 0.76, 0.72, 0.66, 0.55, 0.45, 0.38, 0.34, 0.30, 0.24,
)  # fmt: skip
TRAFFIC_PROFILE_SUNDAY = (
    0.20, 0.14, 0.10, 0.07, 0.05, 0.05, 0.07, 0.11, 0.17, 0.27, 0.40, 0.52,
    0.58, 0.60, 0.62, 0.63, 0.62, 0.58, 0.50, 0.42, 0.36, 0.30, 0.23, 0.15,
)  # fmt: skip

# Footfall in a shopping street as a fraction of that day's busiest hour, local hours 0-23
# (assumed: shops 09:30/10:00-18:00; Monday from 12:00; Thursday late shopping to 21:00;
# Sunday 12:00-17:00).
SHOPPING_PROFILE = (
    0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.04, 0.10, 0.25, 0.50, 0.72,
    0.88, 0.96, 1.00, 0.95, 0.80, 0.52, 0.22, 0.10, 0.07, 0.05, 0.04, 0.03,
)  # fmt: skip
SHOPPING_PROFILE_MONDAY_MORNING = {8: 0.03, 9: 0.05, 10: 0.08, 11: 0.18}
SHOPPING_PROFILE_THURSDAY_EVENING = {18: 0.45, 19: 0.40, 20: 0.30, 21: 0.12}
SHOPPING_PROFILE_SUNDAY = (
    0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.03, 0.05, 0.08, 0.20,
    0.55, 0.85, 1.00, 1.00, 0.85, 0.40, 0.12, 0.06, 0.04, 0.03, 0.03, 0.02,
)  # fmt: skip
SHOPPING_DAY_WEIGHTS = (0.45, 0.55, 0.60, 0.65, 0.70, 1.00, 0.50)
"""Busiest hour of each day (Monday..Sunday) relative to Saturday's (assumed)."""


@dataclass(frozen=True)
class SimulatedStream:
    """How one Datastream is simulated; stored in its ``properties.simulation``.

    ``background`` and ``traffic_increment`` (µg/m³) apply to NO2/PM10/PM2.5: the
    concentration at the reference wind is background plus the increment times the traffic
    index (1 at the weekday peak hour). ``peak`` is the level at the busiest hour: LAeq dB(A)
    for noise, people per 5 min for crowds, vehicles/h for traffic. ``pattern`` picks a
    crowd's rhythm. ``measurement_sd`` overrides :data:`DEFAULT_MEASUREMENT_SD`;
    ``interval_s`` overrides :data:`DEFAULT_INTERVAL_S` (used by :func:`simulate_period`).
    """

    key: str
    quantity: Quantity
    background: float = 0.0
    traffic_increment: float = 0.0
    peak: float = 0.0
    pattern: Pattern = "traffic"
    measurement_sd: float | None = None
    interval_s: int | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.key:
            problems.append("an empty key")
        if self.quantity not in QUANTITIES:
            problems.append(f"quantity {self.quantity!r} (expected one of {', '.join(QUANTITIES)})")
        if self.pattern not in PATTERNS:
            problems.append(f"pattern {self.pattern!r} (expected one of {', '.join(PATTERNS)})")
        if self.quantity in AIR_QUANTITIES and (self.background < 0 or self.traffic_increment < 0):
            problems.append("a negative background or traffic_increment")
        if self.quantity in ("noise_laeq", "people_count", "traffic_flow") and not self.peak > 0:
            problems.append(f"peak {self.peak} (a {self.quantity} stream needs a positive peak)")
        if self.measurement_sd is not None and self.measurement_sd < 0:
            problems.append("a negative measurement_sd")
        if self.interval_s is not None and self.interval_s <= 0:
            problems.append("a non-positive interval_s")
        if problems:
            raise InvalidInputError(f"simulated stream {self.key!r} has {'; '.join(problems)}")

    @property
    def unit(self) -> str:
        """Unit of the simulated values."""
        return UNITS[self.quantity]

    @property
    def sampling_interval_s(self) -> int:
        """Seconds between observations when simulating a period."""
        return self.interval_s if self.interval_s is not None else DEFAULT_INTERVAL_S[self.quantity]

    def to_properties(self) -> dict[str, Any]:
        """The parameters as a plain dict for ``Datastream.properties.simulation`` (key left out)."""
        out: dict[str, Any] = {"quantity": self.quantity}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name in ("key", "quantity") or value == spec.default:
                continue
            out[spec.name] = value
        return out

    @classmethod
    def from_properties(cls, key: str, simulation: Mapping[str, Any]) -> SimulatedStream:
        """Rebuild a stream from ``properties.simulation``; InvalidInputError on unknown fields."""
        known = {spec.name for spec in fields(cls)} - {"key"}
        unknown = sorted(set(simulation) - known)
        if unknown:
            raise InvalidInputError(f"simulation of {key!r} has unknown field(s) {', '.join(unknown)}")
        if "quantity" not in simulation:
            raise InvalidInputError(f"simulation of {key!r} lacks 'quantity'")
        return cls(key=key, **dict(simulation))


def stream_from_datastream(datastream: Mapping[str, Any]) -> SimulatedStream | None:
    """The simulated stream a Datastream (payload or server entity) describes, or None.

    Returns None for Datastreams that are not simulated (``properties.simulated`` false or
    absent) or carry no ``properties.simulation``.
    """
    properties = datastream.get("properties") or {}
    simulation = properties.get("simulation")
    if not properties.get("simulated") or not simulation:
        return None
    key = properties.get("tweeling_key")
    if not key:
        raise InvalidInputError(f"simulated Datastream {datastream.get('name')!r} has no tweeling_key")
    return SimulatedStream.from_properties(str(key), simulation)


def streams_from_things(things: Sequence[Mapping[str, Any]]) -> list[SimulatedStream]:
    """Every simulated stream of a list of Thing deep-insert payloads, in payload order."""
    streams = []
    for thing in things:
        for datastream in thing.get("Datastreams", []):
            stream = stream_from_datastream(datastream)
            if stream is not None:
                streams.append(stream)
    return streams


# --- weather -------------------------------------------------------------------------------

WEATHER_INPUT_COLUMNS = (
    "temp_mean_c",
    "temp_min_c",
    "temp_max_c",
    "wind_speed_mean_ms",
    "precipitation_mm",
    "precip_duration_h",
    "humidity_mean_pct",
    "humidity_min_pct",
    "humidity_max_pct",
)

_EPOCH_DAY = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class WeatherTable:
    """Daily weather without gaps, one row per UT day from ``first_day`` to ``last_day``.

    Days are counted from 1970-01-01. Missing values were filled with the mean of the same
    calendar day over all years (climatology); KNMI's "< 0.05 mm" rain counts as 0.
    """

    first_day: int
    last_day: int
    columns: Mapping[str, np.ndarray]

    @property
    def first_date(self) -> np.datetime64:
        """First day of the series."""
        return _EPOCH_DAY + self.first_day

    @property
    def last_date(self) -> np.datetime64:
        """Last day of the series."""
        return _EPOCH_DAY + self.last_day

    def source_days(self, days: np.ndarray) -> np.ndarray:
        """The day whose weather stands for each requested day (days since 1970-01-01).

        Days inside the series are their own source. A day after its end takes the same
        calendar day of the last year that has it; a day before its start the first such
        year. 29 February falls back to the 28th in a year without it.
        """
        days = np.asarray(days, dtype="int64")
        year, month, day = _ymd(days)
        month_day = month * 100 + day
        first_year, first_month, first_mday = (int(v[0]) for v in _ymd(np.array([self.first_day])))
        last_year, last_month, last_mday = (int(v[0]) for v in _ymd(np.array([self.last_day])))
        first_md, last_md = first_month * 100 + first_mday, last_month * 100 + last_mday
        after = days > self.last_day
        before = days < self.first_day
        target = year.copy()
        target[after] = np.where(month_day[after] <= last_md, last_year, last_year - 1)
        target[before] = np.where(month_day[before] >= first_md, first_year, first_year + 1)
        leap = (target % 4 == 0) & ((target % 100 != 0) | (target % 400 == 0))
        day = np.where((month == 2) & (day == 29) & ~leap, 28, day)
        months = (target - 1970) * 12 + (month - 1)
        dates = months.astype("datetime64[M]").astype("datetime64[D]") + (day - 1)
        return (dates - _EPOCH_DAY).astype("int64")

    def lookup(self, days: np.ndarray) -> dict[str, np.ndarray]:
        """The weather of each requested day (after :meth:`source_days`), one array a column."""
        offset = self.source_days(days) - self.first_day
        return {name: values[offset] for name, values in self.columns.items()}


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = _EPOCH_DAY + np.asarray(days, dtype="int64")
    years = dates.astype("datetime64[Y]")
    months = dates.astype("datetime64[M]")
    year = years.astype("int64") + 1970
    month = (months - years.astype("datetime64[M]")).astype("int64") + 1
    day = (dates - months.astype("datetime64[D]")).astype("int64") + 1
    return year, month, day


def prepare_weather(weather: pd.DataFrame) -> WeatherTable:
    """Turn ``parse_knmi_daily`` output into a gap-free :class:`WeatherTable`.

    Raises InvalidInputError when columns are missing or the frame has no days.
    """
    missing = [c for c in ("date", *WEATHER_INPUT_COLUMNS) if c not in weather.columns]
    if missing:
        raise InvalidInputError(
            f"weather lacks column(s) {', '.join(missing)}; pass the output of parse_knmi_daily"
        )
    if weather.empty:
        raise InvalidInputError("weather has no days; pass the output of parse_knmi_daily")
    frame = weather.assign(date=pd.to_datetime(weather["date"]).dt.normalize()).drop_duplicates("date")
    frame = frame.set_index("date").sort_index()
    values = frame[list(WEATHER_INPUT_COLUMNS)].astype("float64")
    if "precipitation_trace" in frame.columns:
        trace = frame["precipitation_trace"].fillna(False).astype(bool)
        values.loc[trace, "precipitation_mm"] = 0.0
    full = pd.date_range(values.index.min(), values.index.max(), freq="D")
    values = values.reindex(full)
    calendar_day = full.month * 100 + full.day
    climatology = values.groupby(calendar_day).transform("mean")
    values = values.fillna(climatology).fillna(values.mean())
    first = int((np.datetime64(full[0].date(), "D") - _EPOCH_DAY).astype("int64"))
    columns = {name: values[name].to_numpy(dtype="float64") for name in WEATHER_INPUT_COLUMNS}
    return WeatherTable(first_day=first, last_day=first + len(full) - 1, columns=columns)


def weather_note(times: Times, table: WeatherTable) -> str | None:
    """A sentence saying which days took another year's weather, or None when none did."""
    days = np.unique(_calendar(_utc_index(times)).day)
    substituted = days[(days < table.first_day) | (days > table.last_day)]
    if substituted.size == 0:
        return None
    sources = table.source_days(substituted)
    pairs = [
        f"{_EPOCH_DAY + int(day)} <- {_EPOCH_DAY + int(source)}"
        for day, source in zip(substituted[:3], sources[:3], strict=True)
    ]
    more = f" and {substituted.size - 3} more day(s)" if substituted.size > 3 else ""
    return (
        f"KNMI series covers {table.first_date} to {table.last_date}: weather of "
        f"{', '.join(pairs)}{more} taken from the same calendar day of the nearest available year"
    )


# --- calendar and daily rhythms ------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    """Per-time calendar features, all arrays of the same length."""

    local_hour: np.ndarray  # fractional local clock hour 0-24
    weekday: np.ndarray  # local day of week, Monday 0
    local_month: np.ndarray
    local_day: np.ndarray
    local_year: np.ndarray
    utc_hour: np.ndarray  # fractional UTC hour 0-24
    day_of_year: np.ndarray  # UTC day of year 1-366
    day: np.ndarray  # UTC day since 1970-01-01


def _utc_index(times: Times) -> pd.DatetimeIndex:
    """Times as a UTC DatetimeIndex; naive values are taken to be UTC already."""
    return pd.DatetimeIndex(
        pd.to_datetime(np.asarray(times) if not isinstance(times, pd.Index) else times, utc=True)
    )


def _calendar(index: pd.DatetimeIndex) -> _Calendar:
    local = index.tz_convert(LOCAL_TIMEZONE)
    utc_ns = index.as_unit("ns").asi8
    day = np.floor_divide(utc_ns, 86_400 * 10**9)
    utc_hour = (utc_ns - day * 86_400 * 10**9) / 3.6e12
    local_hour = local.hour.to_numpy() + local.minute.to_numpy() / 60.0 + local.second.to_numpy() / 3600.0
    return _Calendar(
        local_hour=local_hour.astype("float64"),
        weekday=local.day_of_week.to_numpy().astype("int64"),
        local_month=local.month.to_numpy().astype("int64"),
        local_day=local.day.to_numpy().astype("int64"),
        local_year=local.year.to_numpy().astype("int64"),
        utc_hour=utc_hour.astype("float64"),
        day_of_year=index.day_of_year.to_numpy().astype("int64"),
        day=day.astype("int64"),
    )


def _week_profile(profiles: np.ndarray, local_hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Interpolate hourly values (7 days x 24 hours, hour h's value at h + 0.5) at local times.

    Between 23:30 and 00:30 the interpolation runs from one day's last value to the next day's
    first, so the rhythm has no step at midnight where the day type changes.
    """
    extended = np.empty((7, 26), dtype="float64")
    extended[:, 1:25] = profiles
    extended[:, 0] = np.roll(profiles[:, 23], 1)  # the previous day's 23:30
    extended[:, 25] = np.roll(profiles[:, 0], -1)  # the next day's 00:30
    position = np.asarray(local_hour, dtype="float64") - 0.5
    left = np.floor(position).astype("int64")
    weight = position - left
    day = np.asarray(weekday, dtype="int64")
    return (1.0 - weight) * extended[day, left + 1] + weight * extended[day, left + 2]


def _traffic_profiles() -> np.ndarray:
    weekday = np.asarray(TRAFFIC_PROFILE_WEEKDAY, dtype="float64")
    return np.vstack(
        [weekday] * 5 + [np.asarray(TRAFFIC_PROFILE_SATURDAY), np.asarray(TRAFFIC_PROFILE_SUNDAY)]
    )


def _shopping_profiles() -> np.ndarray:
    profiles = np.tile(np.asarray(SHOPPING_PROFILE, dtype="float64"), (7, 1))
    for hour, value in SHOPPING_PROFILE_MONDAY_MORNING.items():
        profiles[0, hour] = value
    for hour, value in SHOPPING_PROFILE_THURSDAY_EVENING.items():
        profiles[3, hour] = value
    profiles[6] = SHOPPING_PROFILE_SUNDAY
    return profiles * np.asarray(SHOPPING_DAY_WEIGHTS)[:, None]


_TRAFFIC = _traffic_profiles()
_SHOPPING = _shopping_profiles()


def traffic_index(local_hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Road traffic as a fraction of the weekday peak hour (1.0 at 08:00-09:00 and 17:00-18:00).

    ``local_hour`` is the fractional local clock hour, ``weekday`` the local day (Monday 0).
    """
    return _week_profile(_TRAFFIC, local_hour, weekday)


def shopping_index(local_hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Shopping-street footfall as a fraction of Saturday's busiest hour."""
    return _week_profile(_SHOPPING, local_hour, weekday)


def dispersion_factor(wind_ms: np.ndarray) -> np.ndarray:
    """How much a traffic contribution is diluted by wind: ``REFERENCE_WIND_MS / u``, bounded.

    SRM1 (Rbl 2007) scales the street contribution with ``F_s = 5 / u``; here the reference
    is the mean wind of the shipped series so that an average day has factor 1.
    """
    wind = np.maximum(np.asarray(wind_ms, dtype="float64"), 0.1)
    return np.clip(REFERENCE_WIND_MS / wind, *DISPERSION_LIMITS)


def _seasonal(seconds: np.ndarray, amplitude: float) -> np.ndarray:
    """1 + amplitude at mid-January, 1 - amplitude at mid-July; continuous in time."""
    days = np.asarray(seconds, dtype="float64") / 86_400.0
    return 1.0 + amplitude * np.cos(2.0 * np.pi * (days - 14.0) / 365.2425)


def sun_times_utc(day_of_year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sunrise and solar noon (fractional UTC hours) at Dordrecht for each day of the year.

    Declination by the cosine approximation, no equation of time (error within ~20 min).
    """
    lon, lat = DORDRECHT_LON_LAT
    declination = -23.44 * np.cos(2.0 * np.pi * (np.asarray(day_of_year) + 10) / 365.0)
    cos_hour_angle = -np.tan(np.radians(lat)) * np.tan(np.radians(declination))
    hour_angle = np.degrees(np.arccos(np.clip(cos_hour_angle, -1.0, 1.0)))
    noon = 12.0 - lon / 15.0
    return noon - hour_angle / 15.0, np.full(np.shape(declination), noon)


def diurnal_fraction(utc_hour: np.ndarray, day_of_year: np.ndarray) -> np.ndarray:
    """Position between the day's minimum (0, at sunrise) and maximum (1) temperature.

    Half-cosine rise from sunrise to 2.5 h after solar noon, half-cosine fall to the next
    sunrise; the same curve drives relative humidity the other way round.
    """
    sunrise, noon = sun_times_utc(day_of_year)
    peak = noon + TEMPERATURE_PEAK_AFTER_NOON_H
    hour = np.asarray(utc_hour, dtype="float64")
    rising = (hour >= sunrise) & (hour < peak)
    rise = 0.5 - 0.5 * np.cos(np.pi * (hour - sunrise) / (peak - sunrise))
    since_peak = np.mod(hour - peak, 24.0)
    fall = 0.5 + 0.5 * np.cos(np.pi * since_peak / (24.0 - (peak - sunrise)))
    return np.where(rising, rise, fall)


def _fireworks(cal: _Calendar) -> np.ndarray:
    """Relative New Year's smoke: 1 at 00:00 local on 1 January, decaying; 0 otherwise."""
    on_new_year = (cal.local_month == 1) & (cal.local_day == 1) & (cal.local_hour < 8)
    return np.where(on_new_year, np.exp(-cal.local_hour / FIREWORKS_DECAY_H), 0.0)


def _kings_day(cal: _Calendar) -> np.ndarray:
    """True on King's Day (27 April, 26 April when the 27th is a Sunday) 10:00-20:00 local."""
    years, inverse = np.unique(cal.local_year, return_inverse=True)
    sunday = pd.to_datetime({"year": years, "month": 4, "day": 27}).dt.day_of_week.to_numpy() == 6
    kings_day = np.where(sunday, 26, 27)[inverse]
    in_hours = (cal.local_hour >= 10) & (cal.local_hour < 20)
    return (cal.local_month == 4) & (cal.local_day == kings_day) & in_hours


# --- the simulation ------------------------------------------------------------------------


KNOT_BLOCK = 4096
"""Knots whose noise values one Generator draw provides (a block is reproducible on its own)."""

RAIN_SPELL_S = 3600
"""Knot spacing (s) of the noise that decides whether it rains: rain comes in spells of hours."""

AIR_ERROR_CORRELATION_S = 3600
"""Knot spacing (s) of the error of air-quality sensors at least: their error is mostly slow
(humidity, temperature, drift) and changes over about an hour (assumed)."""


class _NoiseField:
    """Standard-normal noise of one stream as a smooth function of time.

    Values are drawn at knots every ``knot_s`` seconds since 1970 from a numpy Generator seeded
    with ``(seed, crc32(key), salt, block)`` per block of :data:`KNOT_BLOCK` knots, and joined by
    cosine interpolation rescaled to unit variance. A time gets the same value whatever other
    times are simulated with it, so batches of the real-time simulator join up seamlessly and
    observations a few milliseconds apart differ by little (no spurious rate-of-change alerts).
    """

    def __init__(self, seed: Sequence[int], key: str, seconds: np.ndarray) -> None:
        self.entropy = [*seed, zlib.crc32(key.encode("utf-8"))]
        self.seconds = seconds

    def _knots(self, salt: int, knots: np.ndarray) -> np.ndarray:
        blocks = np.floor_divide(knots, KNOT_BLOCK)
        values = np.empty(knots.shape, dtype="float64")
        for block in np.unique(blocks).tolist():
            rng = np.random.default_rng([*self.entropy, salt, block % 2**63])
            draws = rng.standard_normal(KNOT_BLOCK)
            in_block = blocks == block
            values[in_block] = draws[knots[in_block] - block * KNOT_BLOCK]
        return values

    def normal(self, knot_s: float, salt: int = 0) -> np.ndarray:
        """Unit-variance noise with knots every ``knot_s`` seconds (``salt`` picks another field)."""
        position = self.seconds / knot_s
        left = np.floor(position).astype("int64")
        weight = 0.5 - 0.5 * np.cos(np.pi * (position - left))
        both = self._knots(salt, np.concatenate([left, left + 1]))
        first, second = both[: left.size], both[left.size :]
        return ((1.0 - weight) * first + weight * second) / np.sqrt((1.0 - weight) ** 2 + weight**2)

    def lognormal(self, sd: float, knot_s: float, salt: int = 0) -> np.ndarray:
        """Multiplicative error with mean 1 and log-sd ``sd``."""
        if sd == 0:
            return np.ones(self.seconds.shape)
        return np.exp(sd * self.normal(knot_s, salt) - 0.5 * sd * sd)


class _Context:
    """Calendar, weather and rhythms shared by every stream of one call (computed on demand).

    ``weather`` holds the KNMI values of each time's own UT day (used where a value must stay
    within that day's range: temperature, humidity, rain). :meth:`blended` interpolates a daily
    value linearly between day centres (noon UTC) instead, so factors driven by daily weather
    (wind dispersion, rain washout, fewer shoppers on wet days) do not jump at midnight.
    """

    def __init__(self, index: pd.DatetimeIndex, table: WeatherTable) -> None:
        self.seconds = index.as_unit("ns").asi8 / 1e9
        self.cal = _calendar(index)
        self.table = table
        self.weather = table.lookup(self.cal.day)
        self._cache: dict[str, np.ndarray] = {}
        self._blend: tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray] | None = None

    def blended(self, column: str) -> np.ndarray:
        """A daily weather value interpolated between the centres of neighbouring days."""
        if self._blend is None:
            position = self.seconds / 86_400.0 - 0.5
            earlier = np.floor(position).astype("int64")
            self._blend = (
                self.table.lookup(earlier),
                self.table.lookup(earlier + 1),
                position - earlier,
            )
        before, after, weight = self._blend
        return (1.0 - weight) * before[column] + weight * after[column]

    def get(self, name: str) -> np.ndarray:
        if name not in self._cache:
            cal = self.cal
            if name == "traffic":
                value = traffic_index(cal.local_hour, cal.weekday)
            elif name == "shopping":
                value = shopping_index(cal.local_hour, cal.weekday)
            elif name == "dispersion":
                value = dispersion_factor(self.blended("wind_speed_mean_ms"))
            elif name == "wet_day":
                value = np.clip(self.blended("precipitation_mm") / 10.0, 0.0, 1.0)
            elif name == "diurnal":
                value = diurnal_fraction(cal.utc_hour, cal.day_of_year)
            elif name == "fireworks":
                value = _fireworks(cal)
            elif name == "kings_day":
                value = _kings_day(cal).astype("float64")
            else:
                raise KeyError(name)
            self._cache[name] = value
        return self._cache[name]


def _simulate_stream(stream: SimulatedStream, ctx: _Context, noise: _NoiseField) -> np.ndarray:
    sd = (
        stream.measurement_sd
        if stream.measurement_sd is not None
        else DEFAULT_MEASUREMENT_SD[stream.quantity]
    )
    knot = float(stream.sampling_interval_s)
    wx = ctx.weather
    quantity = stream.quantity
    if quantity in AIR_QUANTITIES:
        dispersion = ctx.get("dispersion")
        background = (
            stream.background * np.sqrt(dispersion) * _seasonal(ctx.seconds, SEASONAL_AMPLITUDE[quantity])
        )
        if quantity != "no2":
            background *= 1.0 - RAIN_WASHOUT * ctx.get("wet_day")
            background += FIREWORKS_EXCESS[quantity] * ctx.get("fireworks")
        traffic_part = stream.traffic_increment * ctx.get("traffic") * dispersion
        # not rounded: steps of a rounded value between observations milliseconds apart would
        # read as huge rates of change
        return (background + traffic_part) * noise.lognormal(sd, max(knot, AIR_ERROR_CORRELATION_S))
    if quantity == "noise_laeq":
        traffic_level = stream.peak + 10.0 * np.log10(np.maximum(ctx.get("traffic"), 1e-3))
        level = 10.0 * np.log10(10.0 ** (traffic_level / 10.0) + 10.0 ** (NOISE_BACKGROUND_DBA / 10.0))
        return np.round(level + sd * noise.normal(knot), 1)
    if quantity in ("people_count", "traffic_flow"):
        if quantity == "traffic_flow":
            # vehicles counted in 15 minutes, expressed per hour
            expected, scale = stream.peak * ctx.get("traffic") / 4.0, 4.0
        elif stream.pattern == "shopping":
            rain = 1.0 - RAIN_CROWD_REDUCTION * ctx.get("wet_day")
            event = 1.0 + (KINGS_DAY_CROWD_FACTOR - 1.0) * ctx.get("kings_day")
            expected, scale = stream.peak * ctx.get("shopping") * rain * event, 1.0
        else:
            expected, scale = stream.peak * ctx.get("traffic"), 1.0
        # counting noise: the normal approximation of a Poisson count (variance = mean)
        counts = np.maximum(np.round(expected + np.sqrt(expected) * noise.normal(knot)), 0.0)
        return scale * counts
    if quantity == "air_temperature":
        low = np.minimum(wx["temp_min_c"], wx["temp_max_c"])
        high = np.maximum(wx["temp_min_c"], wx["temp_max_c"])
        value = low + (high - low) * ctx.get("diurnal") + sd * noise.normal(knot)
        return np.round(np.clip(value, low, high), 1)
    if quantity == "wind_speed":
        diurnal = 1.0 + WIND_DIURNAL_AMPLITUDE * np.cos(2.0 * np.pi * (ctx.cal.utc_hour - 13.0) / 24.0)
        value = ctx.blended("wind_speed_mean_ms") * diurnal * noise.lognormal(sd, knot)
        return np.round(np.maximum(value, 0.0), 1)
    if quantity == "relative_humidity":
        low = np.minimum(wx["humidity_min_pct"], wx["humidity_max_pct"])
        high = np.maximum(wx["humidity_min_pct"], wx["humidity_max_pct"])
        value = high - (high - low) * ctx.get("diurnal") + sd * noise.normal(knot)
        return np.round(np.clip(value, np.maximum(low, 0.0), np.minimum(high, 100.0)), 0)
    # precipitation_rate: it rains in spells covering the day's rain duration on average,
    # at the intensity that gives the day's total
    total = wx["precipitation_mm"]
    duration = np.where(
        wx["precip_duration_h"] > 0,
        wx["precip_duration_h"],
        np.clip(total / RAIN_INTENSITY_WITHOUT_DURATION, 0.0, 24.0),
    )
    raining = (total > 0) & (special.ndtr(noise.normal(RAIN_SPELL_S, salt=1)) < duration / 24.0)
    intensity = total / np.maximum(duration, 0.1)
    return np.round(np.where(raining, intensity * noise.lognormal(sd, knot), 0.0), 1)


def _seed_parts(seed: int | Sequence[int]) -> list[int]:
    return [seed] if isinstance(seed, int) else [int(part) for part in seed]


def simulate_arrays(
    datastreams: Sequence[SimulatedStream],
    times: Times,
    weather: pd.DataFrame | WeatherTable,
    seed: int | Sequence[int] = 0,
) -> dict[str, np.ndarray]:
    """Simulated values of every stream at every time, as arrays keyed by ``tweeling_key``.

    ``times`` are UTC (naive datetime64 values are taken as UTC). Each stream has its own noise
    field from ``(seed, crc32(key))`` (see :class:`_NoiseField`): the same seed gives the same
    values, adding a stream does not change the others, and a time gets the same value in
    whatever call it is simulated.
    """
    keys = [stream.key for stream in datastreams]
    if len(set(keys)) != len(keys):
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        raise InvalidInputError(f"simulated streams share key(s) {', '.join(duplicates)}")
    table = weather if isinstance(weather, WeatherTable) else prepare_weather(weather)
    ctx = _Context(_utc_index(times), table)
    parts = _seed_parts(seed)
    return {
        stream.key: _simulate_stream(stream, ctx, _NoiseField(parts, stream.key, ctx.seconds))
        for stream in datastreams
    }


def simulate_observations(
    datastreams: Sequence[SimulatedStream],
    times: Times,
    weather: pd.DataFrame | WeatherTable,
    seed: int | Sequence[int] = 0,
) -> dict[str, list[tuple[datetime, float]]]:
    """Simulated ``(phenomenon time, result)`` pairs of every stream at every time.

    Keyed by ``tweeling_key``; times are timezone-aware UTC datetimes. See
    :func:`simulate_arrays` for the arguments.
    """
    index = _utc_index(times)
    values = simulate_arrays(datastreams, index, weather, seed)
    stamps = list(index.to_pydatetime())
    return {key: list(zip(stamps, array.tolist(), strict=True)) for key, array in values.items()}


def regular_times(start: datetime, end: datetime, interval_s: int) -> pd.DatetimeIndex:
    """UTC times from ``start`` (rounded up to a multiple of the interval) up to and including ``end``."""
    if interval_s <= 0:
        raise InvalidInputError(f"interval must be positive, got {interval_s} s")
    first = pd.Timestamp(start).tz_localize("UTC") if start.tzinfo is None else pd.Timestamp(start)
    last = pd.Timestamp(end).tz_localize("UTC") if end.tzinfo is None else pd.Timestamp(end)
    return pd.date_range(first.ceil(f"{interval_s}s"), last, freq=f"{interval_s}s").tz_convert("UTC")


def simulate_period(
    datastreams: Sequence[SimulatedStream],
    start: datetime,
    end: datetime,
    weather: pd.DataFrame | WeatherTable,
    seed: int = 0,
) -> dict[str, list[tuple[datetime, float]]]:
    """A history for each stream at its own sampling interval between ``start`` and ``end``.

    Useful to backfill the demo before the real-time simulator starts.
    """
    table = weather if isinstance(weather, WeatherTable) else prepare_weather(weather)
    by_interval: dict[int, list[SimulatedStream]] = {}
    for stream in datastreams:
        by_interval.setdefault(stream.sampling_interval_s, []).append(stream)
    out: dict[str, list[tuple[datetime, float]]] = {}
    for interval, streams in by_interval.items():
        out.update(simulate_observations(streams, regular_times(start, end, interval), table, seed))
    return {stream.key: out[stream.key] for stream in datastreams}


# --- real time -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedBatch:
    """Observations of one wall-clock interval ``[start, end)`` of the real-time simulator."""

    index: int
    start: datetime
    end: datetime
    observations: dict[str, list[tuple[datetime, float]]]

    @property
    def count(self) -> int:
        """Number of observations in the batch."""
        return sum(len(values) for values in self.observations.values())


class Simulator:
    """Yields batches of simulated observations at a target rate (observations/s), in real time.

    Each batch covers ``batch_seconds`` of wall-clock time and holds ``rate * batch_seconds``
    observations (rounded so that the total over time is exact), spread evenly over the
    streams, their phenomenon times evenly spaced inside the batch's interval. A batch is
    yielded once its interval has passed, so no observation lies in the future.
    """

    def __init__(
        self,
        streams: Sequence[SimulatedStream],
        weather: pd.DataFrame | WeatherTable,
        *,
        rate: float,
        seed: int = 0,
        batch_seconds: float = 1.0,
    ) -> None:
        if not streams:
            raise InvalidInputError("the simulator needs at least one simulated stream")
        if not rate > 0:
            raise InvalidInputError(f"rate must be a positive number of observations per second, got {rate}")
        if not batch_seconds > 0:
            raise InvalidInputError(f"batch_seconds must be positive, got {batch_seconds}")
        self.streams = list(streams)
        self.table = weather if isinstance(weather, WeatherTable) else prepare_weather(weather)
        self.rate = float(rate)
        self.seed = seed
        self.batch_seconds = float(batch_seconds)

    def batch_size(self, index: int) -> int:
        """Observations in batch ``index``: the cumulative target rounded down, differenced."""
        per_batch = self.rate * self.batch_seconds
        return int(np.floor(per_batch * (index + 1) + 1e-9) - np.floor(per_batch * index + 1e-9))

    def batch(self, index: int, start: datetime) -> SimulatedBatch:
        """Batch ``index`` for the interval beginning at ``start`` (UTC); no waiting."""
        start = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
        end = start + timedelta(seconds=self.batch_seconds)
        total = self.batch_size(index)
        streams = len(self.streams)
        base, extra = divmod(total, streams)
        slots = base + (1 if extra else 0)
        if slots == 0:
            return SimulatedBatch(index, start, end, {stream.key: [] for stream in self.streams})
        offsets = (np.arange(slots) + 0.5) / slots * self.batch_seconds
        times = pd.DatetimeIndex([pd.Timestamp(start)]).repeat(slots) + pd.to_timedelta(offsets, unit="s")
        values = simulate_observations(self.streams, times, self.table, seed=self.seed)
        first_extra = (index * extra) % streams
        observations = {}
        for position, stream in enumerate(self.streams):
            count = base + (1 if (position - first_extra) % streams < extra else 0)
            observations[stream.key] = values[stream.key][:count]
        return SimulatedBatch(index, start, end, observations)

    def weather_note(self, at: datetime) -> str | None:
        """Which weather day stands in for ``at`` when it lies outside the KNMI series."""
        return weather_note([at], self.table)

    def run(self, start: datetime | None = None, max_batches: int | None = None) -> Iterator[SimulatedBatch]:
        """Batches in real time from ``start`` (default now); each waits until its interval ends."""
        origin = start or datetime.now(UTC)
        clock = time.monotonic()
        index = 0
        while max_batches is None or index < max_batches:
            wait = clock + (index + 1) * self.batch_seconds - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            yield self.batch(index, origin + timedelta(seconds=index * self.batch_seconds))
            index += 1


def to_data_array(
    observations: Mapping[str, Sequence[tuple[datetime, float]]],
    datastream_ids: Mapping[str, int | str],
) -> list[dict[str, Any]]:
    """A SensorThings dataArray request body (``POST /CreateObservations``) for the observations.

    ``datastream_ids`` maps each ``tweeling_key`` to the stored Datastream's ``@iot.id``;
    streams without observations are left out. InvalidInputError names unknown keys.
    """
    unknown = sorted(key for key, values in observations.items() if values and key not in datastream_ids)
    if unknown:
        raise InvalidInputError(
            f"no Datastream id for key(s) {', '.join(unknown)}; store the demo Things first"
        )
    body = []
    for key, values in observations.items():
        if not values:
            continue
        body.append(
            {
                "Datastream": {"@iot.id": datastream_ids[key]},
                "components": ["phenomenonTime", "result"],
                "dataArray@iot.count": len(values),
                "dataArray": [[format_instant(moment), value] for moment, value in values],
            }
        )
    return body
