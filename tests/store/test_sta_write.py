"""SensorThings write path on both stores: deep insert, integrity rules, aggregates, alerts."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.store import Store
from tweeling.store.sta_alerts import AlertStore
from tweeling.store.sta_write import StaWriter, ensure_sta_tables

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
COUNT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation"

BAMENDAWEG: dict[str, Any] = {
    "name": "Dordrecht-Bamendaweg",
    "description": "RIVM air-quality station NL00442",
    "properties": {"station": "NL00442"},
    "Locations": [
        {
            "name": "Bamendaweg",
            "description": "Station site",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [4.70821381, 51.80065918]},
        }
    ],
    "Datastreams": [
        {
            "name": "NO2 Bamendaweg",
            "description": "Nitrogen dioxide, hourly",
            "observationType": MEASUREMENT,
            "unitOfMeasurement": {
                "name": "microgram per cubic metre",
                "symbol": "µg/m³",
                "definition": "ucum:ug/m3",
            },
            "Sensor": {
                "name": "Chemiluminescence",
                "description": "NOx analyser",
                "encodingType": "text/html",
                "metadata": "-",
            },
            "ObservedProperty": {
                "name": "NO2",
                "definition": "http://vocab.nerc.ac.uk/collection/P01/current/NO2/",
                "description": "NO2",
            },
        }
    ],
}


@pytest.fixture
def sta(store: Store) -> Iterator[Store]:
    """A store with the sensor-hub tables."""
    ensure_sta_tables(store)
    yield store


def count(store: Store, table: str) -> int:
    return int(store._fetchall(f"SELECT count(*) FROM {table}")[0][0])


def create(store: Store, set_name: str, payload: Any) -> int:
    with store.transaction():
        return StaWriter(store).create(set_name, payload)


def datastream_id(store: Store) -> int:
    return int(store._fetchall("SELECT max(id) FROM sta_datastreams")[0][0])


def test_deep_insert_creates_everything_and_a_historical_location(sta: Store) -> None:
    thing_id = create(sta, "Things", BAMENDAWEG)
    assert thing_id == 1
    assert [count(sta, t) for t in ("sta_things", "sta_locations", "sta_datastreams", "sta_sensors")] == [
        1,
        1,
        1,
        1,
    ]
    assert count(sta, "sta_historical_locations") == 1
    assert count(sta, "sta_historical_location_locations") == 1
    lon, lat = sta._fetchall("SELECT ST_X(geom), ST_Y(geom) FROM sta_locations")[0]
    assert (round(lon, 6), round(lat, 6)) == (4.708214, 51.800659)


def test_linking_existing_entities_by_id(sta: Store) -> None:
    create(sta, "Things", BAMENDAWEG)
    sensor = sta._fetchall("SELECT id FROM sta_sensors")[0][0]
    second = {
        "name": "PM10 Bamendaweg",
        "description": "PM10",
        "observationType": MEASUREMENT,
        "unitOfMeasurement": {"name": "µg/m³", "symbol": "µg/m³", "definition": "-"},
        "Thing": {"@iot.id": 1},
        "Sensor": {"@iot.id": sensor},
        "ObservedProperty": {"name": "PM10", "definition": "-", "description": "PM10"},
    }
    create(sta, "Datastreams", second)
    assert count(sta, "sta_sensors") == 1
    assert sta._fetchall("SELECT count(*) FROM sta_datastreams WHERE thing_id = 1")[0][0] == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.pop("name"), "name is required"),
        (lambda p: p["Datastreams"][0].pop("Sensor"), "Sensor is required"),
        (lambda p: p["Datastreams"][0].update(observationType="OM_Banana"), "observationType"),
        (
            lambda p: p["Locations"][0].update(location={"type": "Point", "coordinates": [105000, 425000]}),
            "WGS84",
        ),
        (lambda p: p["Locations"][0].update(location={"type": "Pointy"}), "not a valid GeoJSON"),
        (lambda p: p.update(colour="red"), "unknown property 'colour'"),
        (lambda p: p["Datastreams"][0].update(Sensor={"@iot.id": 999}), None),
    ],
)
def test_bad_payload_is_refused_and_nothing_is_half_written(
    sta: Store, mutate: Any, message: str | None
) -> None:
    payload = copy.deepcopy(BAMENDAWEG)
    mutate(payload)
    with pytest.raises((InvalidInputError, NotFoundError)) as caught:
        create(sta, "Things", payload)
    if message:
        assert message in str(caught.value)
    for table in (
        "sta_things",
        "sta_locations",
        "sta_datastreams",
        "sta_sensors",
        "sta_historical_locations",
    ):
        assert count(sta, table) == 0, table


def test_observation_gets_feature_from_thing_location_once(sta: Store) -> None:
    create(sta, "Things", BAMENDAWEG)
    ds = datastream_id(sta)
    for minute in (0, 10):
        create(
            sta,
            "Observations",
            {
                "phenomenonTime": f"2024-05-01T10:{minute:02d}:00Z",
                "result": 20.0,
                "Datastream": {"@iot.id": ds},
            },
        )
    assert count(sta, "sta_features_of_interest") == 1
    assert sta._fetchall("SELECT count(DISTINCT feature_id) FROM sta_observations")[0][0] == 1


@pytest.mark.parametrize(
    ("result", "message"),
    [("high", "must be a number"), (None, "required"), (True, "must be a number")],
)
def test_result_of_the_wrong_type_is_refused(sta: Store, result: Any, message: str) -> None:
    create(sta, "Things", BAMENDAWEG)
    with pytest.raises(InvalidInputError, match=message):
        create(sta, "Observations", {"result": result, "Datastream": {"@iot.id": datastream_id(sta)}})
    assert count(sta, "sta_observations") == 0


def test_count_observation_needs_an_integer(sta: Store) -> None:
    payload = copy.deepcopy(BAMENDAWEG)
    payload["Datastreams"][0]["observationType"] = COUNT
    create(sta, "Things", payload)
    with pytest.raises(InvalidInputError, match="integer"):
        create(sta, "Observations", {"result": 2.5, "Datastream": {"@iot.id": datastream_id(sta)}})
    create(sta, "Observations", {"result": 3, "Datastream": {"@iot.id": datastream_id(sta)}})


def test_bulk_insert_keeps_aggregates_and_datastream_times(sta: Store) -> None:
    create(sta, "Things", BAMENDAWEG)
    ds = datastream_id(sta)
    start = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    with sta.transaction():
        writer = StaWriter(sta)
        kind, thing = writer.datastream_info(ds)
        feature = writer.feature_for_thing(thing)
        rows = [
            writer.observation_row(
                ds,
                kind,
                {"phenomenonTime": (start + timedelta(minutes=10 * i)).isoformat(), "result": float(i)},
                feature,
                "o",
            )
            for i in range(12)
        ]
        ids = writer.insert_observations(rows)
    assert ids == sorted(ids) and len(set(ids)) == 12
    hourly = sta._fetchall(
        "SELECT period_start, count, total, minimum, maximum FROM sta_aggregates "
        "WHERE period = 'PT1H' ORDER BY 1"
    )
    # 09:30..09:50 -> 0,1,2 ; 10:00..10:50 -> 3..8 ; 11:00..11:20 -> 9,10,11
    assert [(r[0].hour, r[1], r[2], r[3], r[4]) for r in hourly] == [
        (9, 3, 3.0, 0.0, 2.0),
        (10, 6, 33.0, 3.0, 8.0),
        (11, 3, 30.0, 9.0, 11.0),
    ]
    daily = sta._fetchall("SELECT count, total FROM sta_aggregates WHERE period = 'P1D'")
    assert daily == [(12, 66.0)]
    first, last = sta._fetchall("SELECT phenomenon_time_start, phenomenon_time_end FROM sta_datastreams")[0]
    assert first == start and last == start + timedelta(minutes=110)
    with sta.transaction():
        StaWriter(sta).delete("Observations", ids[0])
    assert sta._fetchall("SELECT count, total FROM sta_aggregates WHERE period = 'P1D'") == [(11, 66.0)]


def test_delete_thing_cascades_but_keeps_location(sta: Store) -> None:
    create(sta, "Things", BAMENDAWEG)
    create(sta, "Observations", {"result": 5.0, "Datastream": {"@iot.id": datastream_id(sta)}})
    with sta.transaction():
        StaWriter(sta).delete("Things", 1)
    assert [
        count(sta, t) for t in ("sta_things", "sta_datastreams", "sta_observations", "sta_aggregates")
    ] == [0] * 4
    assert count(sta, "sta_historical_locations") == 0
    assert count(sta, "sta_locations") == 1
    with pytest.raises(NotFoundError):
        StaWriter(sta).delete("Things", 1)


def test_patch_changes_given_properties_only(sta: Store) -> None:
    create(sta, "Things", BAMENDAWEG)
    with sta.transaction():
        StaWriter(sta).update(
            "Things", 1, {"description": "moved in 2010", "properties": {"station": "NL00442", "since": 2010}}
        )
    assert sta._fetchall("SELECT name, description FROM sta_things") == [
        ("Dordrecht-Bamendaweg", "moved in 2010")
    ]
    with pytest.raises(InvalidInputError, match="cannot be null"):
        StaWriter(sta).update("Things", 1, {"name": None})


def test_idempotency_key_is_remembered(sta: Store) -> None:
    with sta.transaction():
        writer = StaWriter(sta)
        assert writer.previous_batch("batch-1") is None
        writer.remember_batch("batch-1", [4, 5, None])
    assert StaWriter(sta).previous_batch("batch-1") == [4, 5, None]


def _ingest(sta: Store, alerts: AlertStore, values: list[tuple[int, float]]) -> list[dict[str, Any]]:
    """Store (minute offset, value) observations in one batch and evaluate the rules."""
    ds = datastream_id(sta)
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    with sta.transaction():
        writer = StaWriter(sta)
        kind, _ = writer.datastream_info(ds)
        rows = [
            writer.observation_row(
                ds,
                kind,
                {"phenomenonTime": (start + timedelta(minutes=m)).isoformat(), "result": v},
                None,
                "o",
            )
            for m, v in values
        ]
        ids = writer.insert_observations(rows)
        return alerts.evaluate(writer, list(zip(ids, rows, strict=True)))


def test_threshold_alert_on_crossing_only(sta: Store) -> None:
    create(sta, "Things", BAMENDAWEG)
    alerts = AlertStore(sta)
    alerts.create_rule({"name": "NO2 spike", "observed_property": "NO2", "threshold": 300})
    raised = _ingest(sta, alerts, [(0, 100.0), (1, 350.0), (2, 360.0), (3, 90.0), (4, 320.0)])
    assert [a["value"] for a in raised] == [350.0, 320.0]
    assert count(sta, "sta_alerts") == 2


def test_hourly_mean_alert_once_per_hour(sta: Store) -> None:
    create(sta, "Things", BAMENDAWEG)
    alerts = AlertStore(sta)
    alerts.create_rule(
        {
            "name": "NO2 hourly mean above EU limit",
            "datastream_id": datastream_id(sta),
            "statistic": "hourly_mean",
            "threshold": 200,
        }
    )
    assert _ingest(sta, alerts, [(0, 150.0), (10, 190.0)]) == []
    raised = _ingest(sta, alerts, [(20, 300.0)])  # mean of 150, 190, 300 = 213.3
    assert len(raised) == 1 and raised[0]["phenomenonTime"] == "2024-05-01T08:00:00.000Z"
    assert round(raised[0]["value"], 1) == 213.3
    assert _ingest(sta, alerts, [(30, 400.0)]) == []  # same hour: no second alert


def test_rate_of_change_alert_compares_with_the_value_a_window_earlier(sta: Store) -> None:
    create(sta, "Things", BAMENDAWEG)
    alerts = AlertStore(sta)
    alerts.create_rule(
        {
            "name": "jump",
            "observed_property": "NO2",
            "kind": "rate_of_change",
            "threshold": 50,
            "window_seconds": 600,
        }
    )
    # noise a minute apart has no reference 10 minutes earlier: no alert
    assert _ingest(sta, alerts, [(0, 10.0), (1, 20.0)]) == []
    # at 15 min: (30 - 11) per 10 min = 114/h crosses 50/h; at 20 min still above: no second alert
    raised = _ingest(sta, alerts, [(5, 11.0), (10, 12.0), (15, 30.0), (20, 31.0), (25, 31.5), (30, 32.0)])
    assert [round(a["value"]) for a in raised] == [114]
    assert raised[0]["phenomenonTime"] == "2024-05-01T08:15:00.000Z"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "x", "threshold": 1}, "exactly one of datastream_id and observed_property"),
        ({"name": "x", "observed_property": "NO2", "threshold": "high"}, "threshold must be a number"),
        (
            {"name": "x", "observed_property": "NO2", "threshold": 1, "kind": "rate_of_change"},
            "window_seconds",
        ),
        ({"name": "x", "datastream_id": 77, "threshold": 1}, "no Datastream"),
        ({"name": "x", "observed_property": "NO2", "threshold": 1, "operator": "=="}, "operator"),
    ],
)
def test_bad_alert_rules_are_refused(sta: Store, rule: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        AlertStore(sta).create_rule(rule)
    assert count(sta, "sta_alert_rules") == 0


def test_small_and_big_batches_sum_the_same_aggregates() -> None:
    """The plain-Python path (small batches) and the pandas path (big ones) agree exactly."""
    import pyarrow as pa

    from tweeling.store.sta_write import ObservationRow, _buckets_of, _buckets_with_pandas

    start = datetime(2024, 5, 1, 21, 17, tzinfo=UTC)
    rows = [
        ObservationRow(
            1 + i % 3,
            start + timedelta(minutes=7 * i),
            None,
            None,
            float(i % 11),
            None,
            None,
            None,
            None,
            None,
            None,
        )
        for i in range(600)
    ]
    table = pa.table(
        {
            "datastream_id": pa.array([r.datastream_id for r in rows], pa.int64()),
            "phenomenon_time_start": pa.array(
                [r.phenomenon_time_start for r in rows], pa.timestamp("us", tz="UTC")
            ),
            "result_number": pa.array([r.result_number for r in rows], pa.float64()),
        }
    )
    columns = ["datastream_id", "period", "period_start", "count", "sum", "min", "max"]
    small = _buckets_of(rows)[columns].sort_values(columns[:3]).reset_index(drop=True)
    big = _buckets_with_pandas(table)[columns].sort_values(columns[:3]).reset_index(drop=True)
    assert len(small) == len(big) > 100
    assert [tuple(r) for r in small.itertuples(index=False)] == [
        tuple(r) for r in big.itertuples(index=False)
    ]
