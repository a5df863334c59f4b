"""Daily weather from a KNMI "daggegevens" (etmgeg) file, converted to SI-ish units.

The twin ships station 348 Cabauw (about 25 km north-east of Dordrecht; the closer
station 344 Rotterdam was not available). KNMI files have a free-text header, then one
column line starting with ``#`` (``# STN,YYYYMMDD,DDVEC,...``) and then one comma
separated line per day, most values in 0.1 units and blank where missing.

Conversions (see :data:`KNMI_COLUMNS`): 0.1 units are divided by 10; ``RH`` (and ``SQ``)
of -1 mean "less than 0.05 mm" ("less than 0.05 h"): they become 0.025, the middle of
[0, 0.05), and ``precipitation_trace`` marks those days so a caller can use 0 instead.
``DDVEC`` = 0 (calm or variable wind) and ``NG`` = 9 (sky invisible) have no value on
their scale and become missing. Blank fields become NaN. Days without any value (the
first days of the file) are dropped.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, LayerSchema

KNMI_COLUMNS: Mapping[str, tuple[str, float]] = MappingProxyType(
    {
        "DDVEC": ("wind_dir_deg", 1.0),
        "FG": ("wind_speed_mean_ms", 10.0),
        "FXX": ("wind_gust_max_ms", 10.0),
        "TG": ("temp_mean_c", 10.0),
        "TN": ("temp_min_c", 10.0),
        "TX": ("temp_max_c", 10.0),
        "SQ": ("sunshine_h", 10.0),
        "Q": ("global_radiation_jcm2", 1.0),
        "RH": ("precipitation_mm", 10.0),
        "DR": ("precip_duration_h", 10.0),
        "PG": ("pressure_mean_hpa", 10.0),
        "NG": ("cloud_cover_octa", 1.0),
        "UG": ("humidity_mean_pct", 1.0),
        "UN": ("humidity_min_pct", 1.0),
        "UX": ("humidity_max_pct", 1.0),
        "EV24": ("evaporation_mm", 10.0),
    }
)
"""KNMI column -> (twin column, divisor from the KNMI unit to the twin unit)."""

TRACE_VALUE = 0.025
"""Value given to KNMI's -1 ("< 0.05 mm" / "< 0.05 h"): the middle of [0, 0.05)."""

WEATHER_COLUMNS = ["station", "date", *(name for name, _ in KNMI_COLUMNS.values()), "precipitation_trace"]

_UNITS = {
    "wind_dir_deg": (
        "deg",
        "Vector mean wind direction (360 = north, 90 = east); missing when calm/variable.",
    ),
    "wind_speed_mean_ms": ("m/s", "Daily mean wind speed."),
    "wind_gust_max_ms": ("m/s", "Highest wind gust of the day."),
    "temp_mean_c": ("degC", "Daily mean air temperature (1.5 m)."),
    "temp_min_c": ("degC", "Minimum air temperature."),
    "temp_max_c": ("degC", "Maximum air temperature."),
    "sunshine_h": ("h", "Sunshine duration, computed from global radiation (0.025 for KNMI's '< 0.05 h')."),
    "global_radiation_jcm2": ("J/cm2", "Global radiation, daily sum."),
    "precipitation_mm": (
        "mm",
        "Daily precipitation amount (0.025 for KNMI's '< 0.05 mm', see precipitation_trace).",
    ),
    "precip_duration_h": ("h", "Duration of precipitation."),
    "pressure_mean_hpa": ("hPa", "Daily mean sea-level pressure."),
    "cloud_cover_octa": ("octa", "Mean cloud cover 0-8; missing when the sky was invisible (KNMI 9)."),
    "humidity_mean_pct": ("%", "Daily mean relative humidity."),
    "humidity_min_pct": ("%", "Minimum relative humidity."),
    "humidity_max_pct": ("%", "Maximum relative humidity."),
    "evaporation_mm": ("mm", "Reference crop evapotranspiration (Makkink)."),
}

WEATHER_SCHEMA = LayerSchema(
    name="weather",
    title="Daily weather (KNMI)",
    description="Daily observations of a KNMI station: temperature, wind, sun, rain, pressure, humidity.",
    geometry_type=None,
    fields=[
        FieldSpec(
            name="station", type="integer", description="KNMI station number (348 = Cabauw).", nullable=False
        ),
        FieldSpec(name="date", type="date", description="Day of observation (UT day).", nullable=False),
        *(
            FieldSpec(
                name=name,
                type="number",
                description=f"{_UNITS[name][1]} KNMI column {knmi}.",
                unit=_UNITS[name][0],
                source="KNMI",
            )
            for knmi, (name, _) in KNMI_COLUMNS.items()
        ),
        FieldSpec(
            name="precipitation_trace",
            type="boolean",
            description="True when KNMI reports RH = -1 (less than 0.05 mm); precipitation_mm is then 0.025.",
            source="KNMI",
        ),
    ],
    source="KNMI daggegevens station 348 Cabauw",
    licence="KNMI open data, attribution 'Bron: KNMI'",
    attribution="Bron: KNMI",
    primary_key="date",
    temporal_field="date",
    notes=[
        "Cabauw (station 348) is about 25 km north-east of Dordrecht; no station inside the municipality.",
        "KNMI: the series may be inhomogeneous (station and method changes); not meant for trend analysis.",
        "0.1 units converted; RH/SQ = -1 ('< 0.05') -> 0.025; DDVEC = 0 (calm/variable) and NG = 9 "
        "(sky invisible) -> missing; blank -> missing. Days without any value are dropped.",
        "Cabauw reports no cloud cover (NG): cloud_cover_octa is empty for every day.",
    ],
)

_FLOAT_COLUMNS = [name for name, _ in KNMI_COLUMNS.values()]


def _column_line(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            names = [part.strip() for part in stripped.lstrip("#").split(",")]
            if "STN" in names and "YYYYMMDD" in names:
                return index
    raise InvalidInputError(
        "not a KNMI daily weather file: no column line '# STN,YYYYMMDD,...' found in the header"
    )


def parse_knmi_daily(text: str) -> pd.DataFrame:
    """Parse the text of a KNMI daily (etmgeg) file into one row per day with data.

    Returns the columns of :data:`WEATHER_SCHEMA`: ``station`` (int64), ``date``
    (datetime64, midnight), the converted measurements (float64, NaN where missing)
    and ``precipitation_trace`` (nullable boolean). Raises InvalidInputError when the
    text is not a KNMI daily file or a value cannot be read.
    """
    lines = text.splitlines()
    header = _column_line(lines)
    names = [part.strip() for part in lines[header].strip().lstrip("#").split(",")]
    missing = [c for c in KNMI_COLUMNS if c not in names]
    if missing:
        raise InvalidInputError(
            f"not a KNMI daily weather file: the column line lacks {', '.join(missing)} "
            "(an hourly or other KNMI file?)"
        )
    body = "\n".join(line for line in lines[header + 1 :] if line.strip())
    if not body:
        raise InvalidInputError("KNMI daily weather file has a header but no data lines")
    try:
        raw = pd.read_csv(
            io.StringIO(body),
            header=None,
            names=names,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise InvalidInputError(f"KNMI daily weather file: cannot read the data lines ({exc})") from exc
    raw = raw.apply(lambda col: col.str.strip())
    values: dict[str, pd.Series] = {}
    for column in [*names]:
        if column in ("STN", "YYYYMMDD"):
            continue
        numbers = pd.to_numeric(raw[column].replace("", np.nan), errors="coerce")
        bad = numbers.isna() & raw[column].ne("") & raw[column].notna()
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise InvalidInputError(
                f"KNMI daily weather file: column {column} has a non-numeric value "
                f"{raw[column].iloc[row]!r} on data line {row + 1}"
            )
        values[column] = numbers.astype("float64")
    dates = pd.to_datetime(raw["YYYYMMDD"], format="%Y%m%d", errors="coerce")
    if dates.isna().any():
        row = int(np.argmax(dates.isna().to_numpy()))
        raise InvalidInputError(
            f"KNMI daily weather file: bad date {raw['YYYYMMDD'].iloc[row]!r} on data line {row + 1}"
        )
    stations = pd.to_numeric(raw["STN"], errors="coerce")
    if stations.isna().any():
        raise InvalidInputError("KNMI daily weather file: a data line has no station number (STN)")

    measured = pd.DataFrame(values)
    has_data = measured.notna().any(axis=1).to_numpy()

    out = pd.DataFrame({"station": stations.astype("int64"), "date": dates})
    for knmi, (name, divisor) in KNMI_COLUMNS.items():
        series = values[knmi]
        if knmi in ("RH", "SQ"):
            series = series.where(series != -1, TRACE_VALUE * divisor)
        elif knmi == "DDVEC":
            series = series.where(series != 0)
        elif knmi == "NG":
            series = series.where(series != 9)
        out[name] = (series / divisor).astype("float64")
    rh = values["RH"]
    out["precipitation_trace"] = pd.array(
        [pd.NA if np.isnan(v) else bool(v == -1) for v in rh.to_numpy()], dtype="boolean"
    )
    out = out[has_data].reset_index(drop=True)
    return out[WEATHER_COLUMNS]
