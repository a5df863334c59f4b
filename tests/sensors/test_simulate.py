"""The observation simulator on the shipped KNMI weather: rhythms, weather, determinism, speed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tweeling.core.errors import InvalidInputError
from tweeling.sensors.demo import read_demo_things, read_demo_weather
from tweeling.sensors.simulate import (
    REFERENCE_WIND_MS,
    SimulatedStream,
    Simulator,
    WeatherTable,
    dispersion_factor,
    prepare_weather,
    simulate_arrays,
    simulate_observations,
    simulate_period,
    streams_from_things,
    to_data_array,
    weather_note,
)

LOCAL = "Europe/Amsterdam"


@pytest.fixture(scope="module")
def weather(demo_dir: Path) -> pd.DataFrame:
    return read_demo_weather(demo_dir)


@pytest.fixture(scope="module")
def table(weather: pd.DataFrame) -> WeatherTable:
    return prepare_weather(weather)


@pytest.fixture(scope="module")
def streams(demo_dir: Path) -> dict[str, SimulatedStream]:
    return {stream.key: stream for stream in streams_from_things(read_demo_things(demo_dir))}


def _local_frame(values: dict[str, np.ndarray], times: pd.DatetimeIndex) -> pd.DataFrame:
    local = times.tz_convert(LOCAL)
    frame = pd.DataFrame(values, index=local)
    frame["hour"] = local.hour
    frame["weekday"] = local.day_of_week
    return frame


def _knmi_day(weather: pd.DataFrame, date: str) -> pd.Series:
    return weather.loc[weather["date"] == pd.Timestamp(date)].iloc[0]


def test_every_demo_stream_is_simulated(streams: dict[str, SimulatedStream]) -> None:
    assert len(streams) == 37
    assert streams["aq-NL00442-no2"].background == 17.0
    assert streams["crowd-visstraat-count"].pattern == "shopping"


def test_no2_peaks_at_rush_hour_and_drops_at_weekends(
    table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    times = pd.date_range("2019-01-01", "2020-01-01", freq="1h", tz="UTC", inclusive="left")
    stream = streams["aq-NL00442-no2"]
    frame = _local_frame(simulate_arrays([stream], times, table, seed=7), times)
    weekdays = frame[frame["weekday"] < 5].groupby("hour")[stream.key].mean()
    sundays = frame[frame["weekday"] == 6].groupby("hour")[stream.key].mean()
    assert weekdays.idxmax() in (7, 8, 16, 17)
    assert weekdays[8] > 1.3 * weekdays[3]  # an urban background station: a modest daily cycle
    assert weekdays[17] > 1.3 * weekdays[3]
    assert sundays[8] < 0.8 * weekdays[8]
    # annual mean close to a Dutch urban background station (assumed 17 + traffic increment)
    assert 18.0 < frame[stream.key].mean() < 30.0
    assert frame[stream.key].min() >= 0.0
    roadside = streams["air-laan-vn-no2"]
    street = _local_frame(simulate_arrays([roadside], times, table, seed=7), times)
    by_hour = street[street["weekday"] < 5].groupby("hour")[roadside.key].mean()
    assert by_hour[8] > 1.8 * by_hour[3]


def test_wind_lowers_no2(
    weather: pd.DataFrame, table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    assert dispersion_factor(np.array([REFERENCE_WIND_MS, 2.1, 8.4, 0.0])).tolist() == [1.0, 2.0, 0.5, 3.0]
    year = weather[(weather["date"].dt.year == 2019) & (weather["date"].dt.day_of_week < 5)]
    calm = year.nsmallest(10, "wind_speed_mean_ms")["date"]
    windy = year.nlargest(10, "wind_speed_mean_ms")["date"]
    stream = streams["air-spuiboulevard-no2"]

    def daily_mean(days: pd.Series) -> float:
        times = pd.DatetimeIndex(
            np.concatenate([pd.date_range(day, periods=144, freq="10min", tz="UTC") for day in days])
        )
        return float(simulate_arrays([stream], times, table, seed=1)[stream.key].mean())

    assert year.nsmallest(10, "wind_speed_mean_ms")["wind_speed_mean_ms"].max() < 2.5
    assert year.nlargest(10, "wind_speed_mean_ms")["wind_speed_mean_ms"].min() > 7.0
    assert daily_mean(calm) > 2.0 * daily_mean(windy)


def test_temperature_stays_within_the_knmi_day(
    weather: pd.DataFrame, table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    day = _knmi_day(weather, "2019-07-25")
    assert (day["temp_min_c"], day["temp_max_c"]) == (17.0, 36.9)
    times = pd.date_range("2019-07-25", periods=144, freq="10min", tz="UTC")
    stream = streams["weather-stadhuis-temperature"]
    values = simulate_arrays([stream], times, table, seed=3)[stream.key]
    assert values.min() >= 17.0 and values.max() <= 36.9
    assert values.max() > 36.0 and times[int(values.argmax())].hour in (13, 14, 15)
    assert values.min() < 17.6 and times[int(values.argmin())].hour in (2, 3, 4)
    humidity = streams["weather-stadhuis-humidity"]
    rh = simulate_arrays([humidity], times, table, seed=3)[humidity.key]
    assert rh.min() >= day["humidity_min_pct"] and rh.max() <= day["humidity_max_pct"]


def test_precipitation_follows_the_knmi_day(
    weather: pd.DataFrame, table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    stream = streams["weather-stadhuis-precipitation"]
    dry = weather[(weather["date"].dt.year == 2019) & (weather["precipitation_mm"] == 0.0)]["date"].iloc[0]
    dry_times = pd.date_range(dry, periods=144, freq="10min", tz="UTC")
    assert simulate_arrays([stream], dry_times, table)[stream.key].max() == 0.0
    wet = _knmi_day(weather, "2019-06-05")
    wet_times = pd.date_range("2019-06-05", periods=144, freq="10min", tz="UTC")
    rain = simulate_arrays([stream], wet_times, table)[stream.key]
    assert wet["precipitation_mm"] > 5.0 and rain.max() > 0.0
    assert (rain > 0).mean() <= wet["precip_duration_h"] / 24.0 + 0.15


def test_weather_after_the_series_end_takes_the_last_year(
    weather: pd.DataFrame, table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    assert str(table.last_date) == "2026-06-25"

    def source(date: str) -> str:
        day = (np.datetime64(date, "D") - np.datetime64("1970-01-01", "D")).astype("int64")
        return str(np.datetime64("1970-01-01", "D") + table.source_days(np.array([day]))[0])

    assert source("2026-06-25") == "2026-06-25"
    assert source("2026-07-01") == "2025-07-01"
    assert source("2027-03-10") == "2026-03-10"
    assert source("2028-02-29") == "2026-02-28"
    assert source("1980-05-01") == "1986-05-01"
    times = pd.date_range("2026-07-01", periods=144, freq="10min", tz="UTC")
    note = weather_note(times, table)
    assert note is not None and "2026-07-01 <- 2025-07-01" in note
    assert weather_note(pd.date_range("2019-07-25", periods=3, freq="1h", tz="UTC"), table) is None
    day = _knmi_day(weather, "2025-07-01")
    stream = streams["weather-stadhuis-temperature"]
    values = simulate_arrays([stream], times, table)[stream.key]
    assert values.min() >= day["temp_min_c"] and values.max() <= day["temp_max_c"]


def test_crowds_follow_shop_hours_and_stay_non_negative(
    table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    stream = streams["crowd-visstraat-count"]
    times = pd.date_range("2023-10-02", "2023-10-09", freq="5min", tz=LOCAL, inclusive="left").tz_convert(
        "UTC"
    )
    frame = _local_frame(simulate_arrays([stream], times, table, seed=11), times)
    counts = frame[stream.key]
    assert counts.min() >= 0 and (counts == counts.round()).all()
    by_day_hour = frame.groupby(["weekday", "hour"])[stream.key].mean()
    assert by_day_hour[(5, 14)] > 1.3 * by_day_hour[(1, 14)]  # Saturday busier than Tuesday
    assert by_day_hour[(1, 14)] > 20 * max(by_day_hour[(1, 3)], 1.0)  # shops open vs night
    assert by_day_hour[(0, 10)] < 0.5 * by_day_hour[(1, 10)]  # Monday morning closed
    assert by_day_hour[(3, 19)] > 2 * by_day_hour[(2, 19)]  # Thursday late shopping
    assert counts.max() <= 400  # an ordinary week stays within the zone's capacity


def test_kings_day_fills_the_shopping_streets(
    table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    stream = streams["crowd-visstraat-count"]

    def afternoon(date: str) -> np.ndarray:
        times = pd.date_range(f"{date} 12:00", f"{date} 16:00", freq="5min", tz=LOCAL).tz_convert("UTC")
        return simulate_arrays([stream], times, table, seed=5)[stream.key]

    kings_day, saturday_before = afternoon("2024-04-27"), afternoon("2024-04-20")
    assert kings_day.mean() > 2.0 * saturday_before.mean()
    assert kings_day.max() > 400  # above the Visstraat capacity: the crowd alert fires


def test_station_counter_has_commuter_peaks(table: WeatherTable, streams: dict[str, SimulatedStream]) -> None:
    stream = streams["crowd-centraal-station-count"]
    times = pd.date_range("2023-10-02", "2023-10-07", freq="5min", tz=LOCAL, inclusive="left").tz_convert(
        "UTC"
    )
    frame = _local_frame(simulate_arrays([stream], times, table, seed=2), times)
    by_hour = frame.groupby("hour")[stream.key].mean()
    assert by_hour[8] > 1.3 * by_hour[12] and by_hour[8] > 10 * by_hour[3]


def test_noise_and_traffic_follow_the_traffic_rhythm(
    table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    noise, traffic = streams["noise-rondweg-n3-laeq"], streams["traffic-rondweg-n3-flow"]
    times = pd.date_range("2023-10-02", "2023-10-07", freq="15min", tz=LOCAL, inclusive="left").tz_convert(
        "UTC"
    )
    frame = _local_frame(simulate_arrays([noise, traffic], times, table, seed=4), times)
    level = frame.groupby("hour")[noise.key].mean().to_dict()
    flow = frame.groupby("hour")[traffic.key].mean().to_dict()
    assert level[8] - level[3] > 10.0
    assert abs(level[8] - 74.0) < 1.5
    assert flow[8] == pytest.approx(4320 * 0.95, rel=0.1)
    flows = frame[traffic.key]
    assert flows.min() >= 0 and (flows % 4 == 0).all()


def test_new_year_fireworks_raise_pm(table: WeatherTable, streams: dict[str, SimulatedStream]) -> None:
    stream = streams["aq-NL00442-pm25"]
    new_year = pd.date_range("2024-01-01 00:00", periods=12, freq="5min", tz=LOCAL).tz_convert("UTC")
    next_night = pd.date_range("2024-01-02 00:00", periods=12, freq="5min", tz=LOCAL).tz_convert("UTC")
    first = simulate_arrays([stream], new_year, table)[stream.key].mean()
    second = simulate_arrays([stream], next_night, table)[stream.key].mean()
    assert first > second + 50.0


def test_same_seed_same_values(table: WeatherTable, streams: dict[str, SimulatedStream]) -> None:
    chosen = list(streams.values())
    times = pd.date_range("2024-05-01", periods=48, freq="1h", tz="UTC")
    first = simulate_observations(chosen, times, table, seed=42)
    again = simulate_observations(chosen, times, table, seed=42)
    other = simulate_observations(chosen, times, table, seed=43)
    assert first == again
    assert first["aq-NL00442-no2"] != other["aq-NL00442-no2"]
    moment, value = first["aq-NL00442-no2"][0]
    assert moment == datetime(2024, 5, 1, tzinfo=UTC) and isinstance(value, float)
    # a stream's values do not depend on which other streams are simulated with it
    alone = simulate_observations([streams["aq-NL00442-no2"]], times, table, seed=42)
    assert alone["aq-NL00442-no2"] == first["aq-NL00442-no2"]


def test_values_do_not_depend_on_batching(table: WeatherTable, streams: dict[str, SimulatedStream]) -> None:
    chosen = list(streams.values())
    times = pd.date_range("2024-05-01 12:00", periods=600, freq="250ms", tz="UTC")
    whole = simulate_arrays(chosen, times, table, seed=9)
    first, second = (simulate_arrays(chosen, part, table, seed=9) for part in (times[:250], times[250:]))
    for key, values in whole.items():
        assert np.array_equal(values, np.concatenate([first[key], second[key]])), key
    # observations a quarter second apart change smoothly, also across UTC midnight (a new KNMI
    # day) and local midnight from Friday to Saturday (another traffic rhythm):
    # no spurious PM2.5 rate-of-change alerts
    pm25 = streams["air-spuiboulevard-pm25"]
    for start in ("2024-05-01 12:00", "2019-02-03 23:59", "2024-05-03 21:59"):  # UTC and local midnight
        close = pd.date_range(start, periods=480, freq="250ms", tz="UTC")
        values = simulate_arrays([pm25], close, table, seed=9)[pm25.key]
        assert np.abs(np.diff(values)).max() * 4 * 3600 < 50.0, start


def test_hundred_thousand_observations_well_under_a_second(
    table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    chosen = list(streams.values())
    times = pd.date_range("2024-03-01", periods=2703, freq="5min", tz="UTC")
    started = time.perf_counter()
    result = simulate_observations(chosen, times, table, seed=1)
    elapsed = time.perf_counter() - started
    assert sum(len(values) for values in result.values()) == 2703 * 37 >= 100_000
    assert elapsed < 1.0


def test_simulate_period_uses_each_stream_interval(
    table: WeatherTable, streams: dict[str, SimulatedStream]
) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    result = simulate_period(list(streams.values()), start, start + timedelta(days=1, seconds=-1), table)
    assert len(result["aq-NL00442-no2"]) == 24
    assert len(result["air-spuiboulevard-no2"]) == 144
    assert len(result["crowd-visstraat-count"]) == 288
    assert len(result["traffic-laan-vn-flow"]) == 96
    assert result["noise-spuiboulevard-laeq"][1][0] - result["noise-spuiboulevard-laeq"][0][0] == timedelta(
        minutes=5
    )


def test_simulator_keeps_the_rate(table: WeatherTable, streams: dict[str, SimulatedStream]) -> None:
    chosen = list(streams.values())
    simulator = Simulator(chosen, table, rate=1000, seed=3, batch_seconds=0.5)
    assert [simulator.batch_size(i) for i in range(4)] == [500, 500, 500, 500]
    assert sum(Simulator(chosen, table, rate=7.3).batch_size(i) for i in range(10)) == 73
    start = datetime(2024, 5, 1, 12, tzinfo=UTC)
    batch = simulator.batch(0, start)
    assert batch.count == 500 and set(batch.observations) == set(streams)
    assert {len(values) for values in batch.observations.values()} == {13, 14}
    moments = [moment for values in batch.observations.values() for moment, _ in values]
    assert min(moments) >= start and max(moments) < batch.end
    totals = dict.fromkeys(streams, 0)
    for index in range(4):
        later = simulator.batch(index, start + timedelta(seconds=index * simulator.batch_seconds))
        for key, values in later.observations.items():
            totals[key] += len(values)
    # 2,000 observations over 37 streams: the extra ones rotate, so every stream gets 54 or 55
    assert sum(totals.values()) == 2000 and set(totals.values()) == {54, 55}


def test_simulator_runs_in_real_time(table: WeatherTable, streams: dict[str, SimulatedStream]) -> None:
    simulator = Simulator(list(streams.values()), table, rate=200, batch_seconds=0.05)
    started = time.monotonic()
    batches = list(simulator.run(max_batches=3))
    elapsed = time.monotonic() - started
    assert [b.count for b in batches] == [10, 10, 10]
    assert elapsed >= 0.15
    assert batches[-1].end <= datetime.now(UTC)
    assert simulator.weather_note(datetime(2024, 5, 1, tzinfo=UTC)) is None


def test_data_array_body(table: WeatherTable, streams: dict[str, SimulatedStream]) -> None:
    chosen = [streams["aq-NL00442-no2"], streams["crowd-visstraat-count"]]
    times = pd.date_range("2024-05-01 12:00", periods=2, freq="5min", tz="UTC")
    observations = simulate_observations(chosen, times, table)
    body = to_data_array(observations, {"aq-NL00442-no2": 7, "crowd-visstraat-count": 9})
    assert [entry["Datastream"] for entry in body] == [{"@iot.id": 7}, {"@iot.id": 9}]
    assert body[0]["components"] == ["phenomenonTime", "result"]
    assert body[0]["dataArray@iot.count"] == 2
    assert body[0]["dataArray"][0][0] == "2024-05-01T12:00:00.000Z"
    assert body[0]["dataArray"][1][1] == observations["aq-NL00442-no2"][1][1]
    with pytest.raises(InvalidInputError, match="crowd-visstraat-count"):
        to_data_array(observations, {"aq-NL00442-no2": 7})


def test_bad_streams_and_weather_are_refused(weather: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match="positive peak"):
        SimulatedStream("noise-x", "noise_laeq")
    with pytest.raises(InvalidInputError, match="quantity 'ozone'"):
        SimulatedStream("x", "ozone")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="unknown field"):
        SimulatedStream.from_properties("x", {"quantity": "no2", "colour": "red"})
    with pytest.raises(InvalidInputError, match="share key"):
        simulate_arrays([SimulatedStream("a", "no2"), SimulatedStream("a", "pm10")], [], weather)
    with pytest.raises(InvalidInputError, match="temp_min_c"):
        prepare_weather(weather.drop(columns=["temp_min_c"]))
    with pytest.raises(InvalidInputError, match="rate"):
        Simulator([SimulatedStream("a", "no2")], weather, rate=0)
