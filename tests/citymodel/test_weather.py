"""KNMI daily weather (station 348 Cabauw): parsing, unit conversion, known values, bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tweeling.citymodel.weather import TRACE_VALUE, WEATHER_COLUMNS, WEATHER_SCHEMA, parse_knmi_daily
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import is_identifier

KNMI_FILE = "knmi_daily_etmgeg_348_cabauw.txt.gz"


@pytest.fixture(scope="module")
def knmi_text(demo_dir: Path) -> str:
    with gzip.open(demo_dir / KNMI_FILE, "rt", encoding="latin-1") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def weather(knmi_text: str) -> pd.DataFrame:
    return parse_knmi_daily(knmi_text)


def _day(weather: pd.DataFrame, date: str) -> pd.Series:
    rows = weather[weather["date"] == pd.Timestamp(date)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_rows_and_date_range(weather: pd.DataFrame) -> None:
    # 14,696 daily lines; the 58 empty ones (mostly before 1986-04-18) are dropped
    assert len(weather) == 14638
    assert weather["date"].min() == pd.Timestamp("1986-04-18")
    assert weather["date"].max() == pd.Timestamp("2026-06-25")
    assert weather["date"].is_unique and weather["date"].is_monotonic_increasing
    assert (weather["station"] == 348).all()
    assert list(weather.columns) == WEATHER_COLUMNS == WEATHER_SCHEMA.field_names


def test_known_days(weather: pd.DataFrame) -> None:
    day = _day(weather, "2019-07-25")
    assert day["temp_mean_c"] == pytest.approx(28.8)
    assert day["temp_min_c"] == pytest.approx(17.0)
    assert day["temp_max_c"] == pytest.approx(36.9)
    assert day["wind_dir_deg"] == pytest.approx(96.0)
    assert day["wind_speed_mean_ms"] == pytest.approx(2.4)
    assert day["pressure_mean_hpa"] == pytest.approx(1013.2)
    assert day["global_radiation_jcm2"] == pytest.approx(2451.0)
    assert day["sunshine_h"] == pytest.approx(14.0)
    assert day["precipitation_mm"] == 0.0
    assert day["humidity_min_pct"] == 36.0

    first = _day(weather, "1986-04-18")
    assert first["wind_speed_mean_ms"] == pytest.approx(3.1)
    assert first["temp_min_c"] == pytest.approx(1.9)
    assert first["temp_max_c"] == pytest.approx(9.7)
    assert np.isnan(first["temp_mean_c"])  # TG starts 1986-06-27

    new_year = _day(weather, "2018-01-01")
    assert new_year["temp_mean_c"] == pytest.approx(6.5)
    assert new_year["precipitation_mm"] == pytest.approx(2.9)


def test_extremes(weather: pd.DataFrame) -> None:
    hottest = weather.loc[weather["temp_max_c"] == weather["temp_max_c"].max(), "date"]
    assert weather["temp_max_c"].max() == pytest.approx(36.9)
    # Cabauw reports 36.9 °C on three days of the July 2019 heat wave
    assert hottest.dt.strftime("%Y-%m-%d").tolist() == ["2019-07-24", "2019-07-25", "2019-07-26"]
    coldest = weather.loc[weather["temp_min_c"].idxmin()]
    assert coldest["temp_min_c"] == pytest.approx(-20.0)
    assert coldest["date"] == pd.Timestamp("2012-02-04")
    wettest = weather.loc[weather["precipitation_mm"].idxmax()]
    assert wettest["precipitation_mm"] == pytest.approx(75.9)
    assert wettest["date"] == pd.Timestamp("2005-06-29")


def test_climate_is_plausible(weather: pd.DataFrame) -> None:
    years = weather["date"].dt.year
    complete = weather[(years >= 1988) & (years <= 2025)]
    assert complete.groupby(complete["date"].dt.year)["temp_mean_c"].count().min() >= 365
    annual_temp = complete.groupby(complete["date"].dt.year)["temp_mean_c"].mean()
    assert annual_temp.mean() == pytest.approx(10.58, abs=0.01)
    assert annual_temp.between(8.0, 12.5).all()
    annual_rain = complete.groupby(complete["date"].dt.year)["precipitation_mm"].sum()
    assert 600 < annual_rain.mean() < 950


def test_trace_precipitation_and_special_codes(weather: pd.DataFrame) -> None:
    trace = weather["precipitation_trace"].fillna(False).astype(bool)
    assert int(trace.sum()) == 1459
    assert (weather.loc[trace, "precipitation_mm"] == TRACE_VALUE).all()
    assert weather["cloud_cover_octa"].isna().all()  # Cabauw has no cloud observations (NG blank)
    assert (weather["wind_dir_deg"].dropna() > 0).all()
    assert weather["humidity_max_pct"].max() <= 100


MINI_COLUMNS = [
    "DDVEC",
    "FG",
    "FXX",
    "TG",
    "TN",
    "TX",
    "SQ",
    "Q",
    "DR",
    "RH",
    "PG",
    "NG",
    "UG",
    "UX",
    "UN",
    "EV24",
]


def _row(date: str, **values: int | str) -> str:
    """One data line in KNMI layout: fields right-aligned in 5 characters, blank when not given."""
    return f"  348,{date}," + ",".join(f"{values.get(c, '')!s:>5}" for c in MINI_COLUMNS)


def _mini(lines: list[str]) -> str:
    """A small KNMI daily file: free-text header, the '#' column line, data lines with CRLF endings."""
    column_line = "# STN,YYYYMMDD," + ",".join(f"{c:>5}" for c in MINI_COLUMNS)
    header = f"BRON: KONINKLIJK NEDERLANDS METEOROLOGISCH INSTITUUT (KNMI)\n\n{column_line}\n\n"
    return header + "\r\n".join(lines) + "\r\n"


def test_small_file_conversions() -> None:
    full = {"DDVEC": 0, "FG": 15, "FXX": 40, "TG": -12, "TN": -30, "TX": 5, "SQ": -1, "Q": 200, "DR": 0}
    full |= {"RH": -1, "PG": 10250, "NG": 9, "UG": 95, "UX": 100, "UN": 80, "EV24": 2}
    text = _mini([_row("20200101", **full), _row("20200102", DDVEC=270), _row("20200103")])
    out = parse_knmi_daily(text)
    assert len(out) == 2
    first = out.iloc[0]
    assert np.isnan(first["wind_dir_deg"])  # 0 = calm/variable
    assert first["wind_speed_mean_ms"] == pytest.approx(1.5)
    assert first["wind_gust_max_ms"] == pytest.approx(4.0)
    assert first["temp_mean_c"] == pytest.approx(-1.2)
    assert first["temp_min_c"] == pytest.approx(-3.0)
    assert first["sunshine_h"] == TRACE_VALUE
    assert first["precipitation_mm"] == TRACE_VALUE and bool(first["precipitation_trace"])
    assert first["pressure_mean_hpa"] == pytest.approx(1025.0)
    assert np.isnan(first["cloud_cover_octa"])  # 9 = sky invisible
    assert first["humidity_mean_pct"] == 95.0
    assert first["evaporation_mm"] == pytest.approx(0.2)
    second = out.iloc[1]
    assert second["date"] == pd.Timestamp("2020-01-02")
    assert second["wind_dir_deg"] == 270.0
    assert np.isnan(second["temp_mean_c"]) and pd.isna(second["precipitation_trace"])


def test_not_a_knmi_file() -> None:
    with pytest.raises(InvalidInputError, match="not a KNMI daily weather file"):
        parse_knmi_daily("date,temp\n2020-01-01,5\n")
    with pytest.raises(InvalidInputError, match="not a KNMI daily weather file"):
        parse_knmi_daily("")
    hourly = "# STN,YYYYMMDD,   HH,   DD,   FH,    T\n  348,20200101,    1,  200,   30,   50\n"
    with pytest.raises(InvalidInputError, match="lacks"):
        parse_knmi_daily(hourly)


def test_bad_values() -> None:
    with pytest.raises(InvalidInputError, match="TG"):
        parse_knmi_daily(_mini([_row("20200101", FG=15, TG="abc")]))
    with pytest.raises(InvalidInputError, match="date"):
        parse_knmi_daily(_mini([_row("20201341", FG=15, TG=12)]))
    with pytest.raises(InvalidInputError, match="no data lines"):
        parse_knmi_daily(_mini([]))


def test_schema() -> None:
    assert WEATHER_SCHEMA.geometry_type is None
    assert WEATHER_SCHEMA.temporal_field == "date"
    assert WEATHER_SCHEMA.source == "KNMI daggegevens station 348 Cabauw"
    assert "KNMI" in WEATHER_SCHEMA.licence
    assert all(is_identifier(name) for name in WEATHER_SCHEMA.field_names)
    for name in WEATHER_COLUMNS:
        if name not in ("station", "date", "precipitation_trace"):
            assert WEATHER_SCHEMA.field(name).unit, name
    assert WEATHER_SCHEMA.field("temp_mean_c").unit == "degC"
    assert WEATHER_SCHEMA.field("precipitation_mm").unit == "mm"
