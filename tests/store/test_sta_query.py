"""SensorThings reads on both stores, over a small Dordrecht sensor data set inserted with plain SQL.

Two Things: the Luchtmeetnet air station Dordrecht-Bamendaweg (NL10442; NO2 and PM10) and a
crowd counter in the Grotekerksbuurt. 50 Observations on 1 May 2024 (UTC): NO2 hourly 00-23 h
with result 10 + hour µg/m³ (ids 1-24), PM10 as hourly intervals 00-12 h with 15 + hour/2 µg/m³
(ids 25-36), and visitor counts 08-20 h of 50 × (hour - 7) (ids 37-49) plus a text result
"storing" at 22 h (id 50).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.helpers import fresh_postgres_schema, postgres_url_or_skip
from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.store import Store, open_store
from tweeling.store.sta_odata import parse_query_options, parse_resource_path
from tweeling.store.sta_query import read
from tweeling.store.sta_schema import sta_ddl

BASE = "http://localhost:8000/v1.1"
DAY = datetime(2024, 5, 1, tzinfo=UTC)
BAMENDAWEG = (4.70821381, 51.80065918)
GROTEKERKSBUURT = (4.66255, 51.81191)
AREA_RING = [[4.66, 51.81], [4.665, 51.81], [4.665, 51.8135], [4.66, 51.8135], [4.66, 51.81]]
GROTEKERKSBUURT_AREA = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in AREA_RING) + "))"
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
COUNT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation"
UG_M3 = {
    "name": "microgram per cubic meter",
    "symbol": "µg/m³",
    "definition": "http://qudt.org/vocab/unit/MicroGM-PER-M3",
}


def _point(lon_lat: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(lon_lat)}


def _insert(store: Store, table: str, row: dict[str, Any], geometry: dict[str, str] | None = None) -> None:
    """Insert one row; ``geometry`` maps a geometry column to WKT."""
    names = list(row)
    values = [json.dumps(v) if isinstance(v, dict | list) else v for v in row.values()]
    placeholders = [store.placeholder(1)] * len(names)
    for column, wkt in (geometry or {}).items():
        names.append(column)
        values.append(wkt)
        srid = "" if store.dialect == "duckdb" else ", 4326"
        placeholders.append(f"ST_GeomFromText({store.placeholder(1)}{srid})")
    store._execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(placeholders)})", values)


def _load_dordrecht(store: Store) -> None:
    for statement in sta_ddl(store.dialect):
        store._execute(statement)
    things = [
        (1, "Dordrecht-Bamendaweg", "Luchtmeetnet station NL10442", {"owner": "RIVM", "code": "NL10442"}),
        (2, "Telpunt Grotekerksbuurt", "Passantenteller bij de Grote Kerk", {"owner": "Gemeente Dordrecht"}),
    ]
    for thing_id, name, description, properties in things:
        _insert(
            store,
            "sta_things",
            {"id": thing_id, "name": name, "description": description, "properties": properties},
        )
    for location_id, name, lon_lat in [
        (1, "Bamendaweg", BAMENDAWEG),
        (2, "Grotekerksbuurt", GROTEKERKSBUURT),
    ]:
        _insert(
            store,
            "sta_locations",
            {
                "id": location_id,
                "name": name,
                "description": f"Meetpunt {name}",
                "encoding_type": "application/geo+json",
                "location": _point(lon_lat),
            },
            {"geom": f"POINT({lon_lat[0]} {lon_lat[1]})"},
        )
        _insert(store, "sta_thing_locations", {"thing_id": location_id, "location_id": location_id})
    _insert(store, "sta_historical_locations", {"id": 1, "time": DAY, "thing_id": 1})
    _insert(store, "sta_historical_location_locations", {"historical_location_id": 1, "location_id": 1})
    sensors = [
        (1, "Thermo 42i", "NOx-analysator"),
        (2, "TEOM 1400", "PM10-monitor"),
        (3, "Xovis PC2", "Telcamera"),
    ]
    for sensor_id, name, description in sensors:
        _insert(
            store,
            "sta_sensors",
            {
                "id": sensor_id,
                "name": name,
                "description": description,
                "encoding_type": "text/html",
                "metadata": f"https://example.org/sensors/{sensor_id}",
            },
        )
    observed = [
        (1, "NO2", "Stikstofdioxide"),
        (2, "PM10", "Fijnstof"),
        (3, "crowd count", "Aantal passanten"),
    ]
    for property_id, name, description in observed:
        _insert(
            store,
            "sta_observed_properties",
            {
                "id": property_id,
                "name": name,
                "description": description,
                "definition": f"urn:tweeling:{name}",
            },
        )
    datastreams = [
        (1, "NO2 Bamendaweg", 1, 1, 1, UG_M3, MEASUREMENT, (0, 23)),
        (2, "PM10 Bamendaweg", 1, 2, 2, UG_M3, MEASUREMENT, (0, 12)),
        (3, "Passanten Grotekerksbuurt", 2, 3, 3, {"name": "count", "symbol": "{count}"}, COUNT, (8, 22)),
    ]
    for ds_id, name, thing_id, sensor_id, op_id, unit, kind, (first, last) in datastreams:
        _insert(
            store,
            "sta_datastreams",
            {
                "id": ds_id,
                "name": name,
                "description": f"Uurwaarden {name}",
                "unit_of_measurement": unit,
                "observation_type": kind,
                "phenomenon_time_start": DAY + timedelta(hours=first),
                "phenomenon_time_end": DAY + timedelta(hours=last),
                "thing_id": thing_id,
                "sensor_id": sensor_id,
                "observed_property_id": op_id,
            },
            {"observed_area_geom": f"POINT({BAMENDAWEG[0]} {BAMENDAWEG[1]})"} if thing_id == 1 else None,
        )
    _insert(
        store,
        "sta_features_of_interest",
        {
            "id": 1,
            "name": "Bamendaweg",
            "description": "Luchtkwaliteit bij de Bamendaweg",
            "encoding_type": "application/geo+json",
            "feature": _point(BAMENDAWEG),
        },
        {"geom": f"POINT({BAMENDAWEG[0]} {BAMENDAWEG[1]})"},
    )
    _insert(
        store,
        "sta_features_of_interest",
        {
            "id": 2,
            "name": "Grotekerksbuurt",
            "description": "Voetgangersgebied rond de Grote Kerk",
            "encoding_type": "application/geo+json",
            "feature": {"type": "Polygon", "coordinates": [AREA_RING]},
        },
        {"geom": GROTEKERKSBUURT_AREA},
    )
    observation_id = 0
    for hour in range(24):
        observation_id += 1
        _insert(store, "sta_observations", _observation(observation_id, 1, 1, hour, None, 10 + hour))
    # sub-second times and a quality flag on the first two NO2 observations
    store._execute(
        f"UPDATE sta_observations SET valid_time_start = {store.placeholder(1)}, "
        f"valid_time_end = {store.placeholder(1)} WHERE id = 1",
        [DAY + timedelta(milliseconds=250), DAY + timedelta(hours=1, microseconds=123)],
    )
    store._execute(
        f"UPDATE sta_observations SET result_quality = {store.placeholder(1)} WHERE id = 2",
        [json.dumps({"DQ_Status": "valid"})],
    )
    for hour in range(12):
        observation_id += 1
        _insert(store, "sta_observations", _observation(observation_id, 2, 1, hour, hour + 1, 15 + hour / 2))
    for hour in [*range(8, 21), 22]:
        observation_id += 1
        result: Any = 50 * (hour - 7) if hour < 22 else "storing"
        _insert(store, "sta_observations", _observation(observation_id, 3, 2, hour, None, result))


def _observation(
    observation_id: int, datastream: int, feature: int, hour: int, end_hour: int | None, result: Any
) -> dict[str, Any]:
    start = DAY + timedelta(hours=hour)
    end = None if end_hour is None else DAY + timedelta(hours=end_hour)
    numeric = isinstance(result, int | float)
    return {
        "id": observation_id,
        "phenomenon_time_start": start,
        "phenomenon_time_end": end,
        "result_time": end or start,
        "result_number": result if numeric else None,
        "result_json": None if numeric else json.dumps(result),
        "parameters": {"direction": "in"} if datastream == 3 else None,
        "datastream_id": datastream,
        "feature_id": feature,
    }


@pytest.fixture(scope="module", params=["duckdb", "postgis"])
def sta_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store of each kind holding the Dordrecht sensor data set (read-only use)."""
    if request.param == "duckdb":
        path = Path(tmp_path_factory.mktemp("sta")) / "sta.duckdb"
        with open_store(f"duckdb://{path}") as store:
            _load_dordrecht(store)
            yield store
        return
    with fresh_postgres_schema(postgres_url_or_skip()) as url, open_store(url) as store:
        _load_dordrecht(store)
        yield store


def get(store: Store, path: str, **params: str) -> Any:
    """Run a GET like the HTTP layer does: parse the path and the options, then read."""
    resource = parse_resource_path(path)
    options = parse_query_options({f"${k}": v for k, v in params.items()}, resource.entity_type)
    return read(store, resource, options, BASE)


def ids(response: dict[str, Any]) -> list[int]:
    return [entity["@iot.id"] for entity in response["value"]]


def filtered(store: Store, path: str, text: str, **params: str) -> list[int]:
    """Ids of the entities a $filter selects (all pages of up to 100)."""
    return ids(get(store, path, filter=text, **params))


def _link(thing: str) -> str:
    return f"{BASE}/{thing}"


# -- entities, navigation, properties, links -----------------------------------------------------


def test_collection_of_things(sta_store: Store) -> None:
    response = get(sta_store, "Things")
    assert list(response) == ["value"]
    assert ids(response) == [1, 2]
    assert response["value"][0] == {
        "@iot.id": 1,
        "@iot.selfLink": _link("Things(1)"),
        "name": "Dordrecht-Bamendaweg",
        "description": "Luchtmeetnet station NL10442",
        "properties": {"owner": "RIVM", "code": "NL10442"},
        "Locations@iot.navigationLink": _link("Things(1)/Locations"),
        "HistoricalLocations@iot.navigationLink": _link("Things(1)/HistoricalLocations"),
        "Datastreams@iot.navigationLink": _link("Things(1)/Datastreams"),
    }


def test_one_entity_of_each_kind(sta_store: Store) -> None:
    location = get(sta_store, "Locations(1)")
    assert location["location"] == {"type": "Point", "coordinates": [4.70821381, 51.80065918]}
    assert location["encodingType"] == "application/geo+json"
    assert location["Things@iot.navigationLink"] == _link("Locations(1)/Things")
    datastream = get(sta_store, "Datastreams(2)")
    assert datastream["unitOfMeasurement"] == UG_M3
    assert datastream["phenomenonTime"] == "2024-05-01T00:00:00.000Z/2024-05-01T12:00:00.000Z"
    assert datastream["resultTime"] is None
    assert datastream["observedArea"] is None
    assert datastream["ObservedProperty@iot.navigationLink"] == _link("Datastreams(2)/ObservedProperty")
    interval = get(sta_store, "Observations(26)")
    assert interval["phenomenonTime"] == "2024-05-01T01:00:00.000Z/2024-05-01T02:00:00.000Z"
    assert interval["resultTime"] == "2024-05-01T02:00:00.000Z"
    assert interval["result"] == 15.5
    count = get(sta_store, "Observations(37)")
    assert (count["result"], count["parameters"], count["phenomenonTime"]) == (
        50,
        {"direction": "in"},
        "2024-05-01T08:00:00.000Z",
    )
    assert get(sta_store, "Observations(50)")["result"] == "storing"
    first = get(sta_store, "Observations(1)")
    assert first["validTime"] == "2024-05-01T00:00:00.250Z/2024-05-01T01:00:00.000123Z"
    assert (first["resultQuality"], get(sta_store, "Observations(2)")["resultQuality"]) == (
        None,
        {"DQ_Status": "valid"},
    )
    historical = get(sta_store, "HistoricalLocations(1)")
    assert historical["time"] == "2024-05-01T00:00:00.000Z"
    assert historical["Thing@iot.navigationLink"] == _link("HistoricalLocations(1)/Thing")


def test_navigation(sta_store: Store) -> None:
    assert ids(get(sta_store, "Things(1)/Datastreams")) == [1, 2]
    assert ids(get(sta_store, "Things(2)/Locations")) == [2]
    assert ids(get(sta_store, "Locations(1)/Things")) == [1]
    assert ids(get(sta_store, "Locations(1)/HistoricalLocations")) == [1]
    assert ids(get(sta_store, "Sensors(3)/Datastreams")) == [3]
    assert ids(get(sta_store, "FeaturesOfInterest(2)/Observations")) == list(range(37, 51))
    assert ids(get(sta_store, "Things(1)/Datastreams(2)/Observations", top="3")) == [25, 26, 27]
    assert get(sta_store, "Datastreams(3)/Thing")["name"] == "Telpunt Grotekerksbuurt"
    assert get(sta_store, "Observations(50)/Datastream/Thing")["@iot.id"] == 2
    assert get(sta_store, "Observations(25)/Datastream/ObservedProperty")["name"] == "PM10"
    assert get(sta_store, "Things(1)/Datastreams(2)")["name"] == "PM10 Bamendaweg"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("Things(99)", "no Thing with id 99"),
        ("Things(99)/Datastreams", "no Thing with id 99"),
        ("Things(2)/Datastreams(1)", r"no Datastream with id 1 among the Datastreams of Thing\(2\)"),
        ("Observations(999)/Datastream", "no Observation with id 999"),
        ("Things(99)/name", "no Thing with id 99"),
        ("Things(99)/$ref", "no Thing with id 99"),
    ],
)
def test_missing_entities_are_not_found(sta_store: Store, path: str, message: str) -> None:
    with pytest.raises(NotFoundError, match=message):
        get(sta_store, path)


def test_properties_values_and_refs(sta_store: Store) -> None:
    assert get(sta_store, "Things(1)/name") == {"name": "Dordrecht-Bamendaweg"}
    assert get(sta_store, "Things(1)/name/$value") == "Dordrecht-Bamendaweg"
    assert get(sta_store, "Things(2)/id") == {"@iot.id": 2}
    assert get(sta_store, "Things(1)/properties") == {"properties": {"owner": "RIVM", "code": "NL10442"}}
    assert get(sta_store, "Datastreams(3)/unitOfMeasurement/$value") == {"name": "count", "symbol": "{count}"}
    assert get(sta_store, "Observations(25)/phenomenonTime/$value") == (
        "2024-05-01T00:00:00.000Z/2024-05-01T01:00:00.000Z"
    )
    assert get(sta_store, "Observations(50)/result/$value") == "storing"
    assert get(sta_store, "Observations(24)/result") == {"result": 33}
    assert get(sta_store, "Observations(50)/Datastream/name/$value") == "Passanten Grotekerksbuurt"
    assert get(sta_store, "Locations(2)/location/$value") == {
        "type": "Point",
        "coordinates": [4.66255, 51.81191],
    }
    assert get(sta_store, "Things(1)/Locations/$ref") == {"value": [{"@iot.selfLink": _link("Locations(1)")}]}
    assert get(sta_store, "Datastreams(3)/Thing/$ref") == {"@iot.selfLink": _link("Things(2)")}
    refs = get(sta_store, "Observations/$ref", top="2", count="true", filter="Datastream/@iot.id eq 3")
    assert refs == {
        "@iot.count": 14,
        "value": [{"@iot.selfLink": _link("Observations(37)")}, {"@iot.selfLink": _link("Observations(38)")}],
        "@iot.nextLink": f"{BASE}/Observations/$ref"
        "?$top=2&$count=true&$filter=Datastream/@iot.id%20eq%203&$skip=2",
    }


# -- $filter -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Datastreams/ObservedProperty/name eq 'NO2'", [1]),
        ("Datastreams/ObservedProperty/name eq 'crowd count'", [2]),
        ("not (Datastreams/ObservedProperty/name eq 'NO2')", [2]),
        ("Datastreams/Observations/result eq 'storing'", [2]),
        ("Datastreams/Observations/result gt 600", [2]),
        ("Locations/name eq 'Bamendaweg' and HistoricalLocations/Locations/@iot.id eq 1", [1]),
        ("properties/owner eq 'RIVM'", [1]),
        ("properties/owner ne 'RIVM'", [2]),
        ("properties/code eq null", [2]),
        ("substringof('Bamendaweg', name)", [1]),
        ("startswith(name, 'Telpunt')", [2]),
        ("startswith(name, 'Dord') eq false", [2]),
        ("endswith(name, 'buurt')", [2]),
        ("length(name) eq 20", [1]),
        ("indexof(name, 'Bamendaweg') eq 10", [1]),
        ("indexof(name, 'nergens') eq -1", [1, 2]),
        ("substring(name, 10) eq 'Bamendaweg'", [1]),
        ("substring(name, 0, 9) eq 'Dordrecht'", [1]),
        ("tolower(name) eq 'telpunt grotekerksbuurt'", [2]),
        ("toupper(properties/owner) eq 'RIVM'", [1]),
        ("trim(concat('  ', name)) eq 'Dordrecht-Bamendaweg'", [1]),
        ("concat(name, concat(' / ', properties/code)) eq 'Dordrecht-Bamendaweg / NL10442'", [1]),
        ("name EQ 'x' OR id Eq 2", [2]),
        ("length('abc') eq 3 and concat('a', 'b') eq 'ab' and tolower('ABC') eq 'abc'", [1, 2]),
        ("substring('abc', 1) eq 'bc' and indexof('abc', 'c') eq 2 and endswith('abc', 'bc')", [1, 2]),
        ("length(null) eq null and year(null) eq null and st_within(null, null) eq null", [1, 2]),
        ("properties/code eq startswith(name, 'Dord')", []),
        ("@iot.id ge 1 and id le 1", [1]),
    ],
)
def test_filters_on_things(sta_store: Store, text: str, expected: list[int]) -> None:
    assert filtered(sta_store, "Things", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("result gt 30", [22, 23, 24]),
        ("result ge 31 and result lt 33", [22, 23]),
        ("result eq 20 or result eq 10", [1, 11]),
        ("result mul 2 eq 40", [11]),
        ("result div 4 eq 2.75", [2]),
        ("result mod 10 eq 3", [4, 14, 24]),
        ("result add 1 eq 12 or result sub 1 eq 9", [1, 2]),
        ("-result eq -10", [1]),
        ("round(result div 3) eq 4", [2, 3, 4]),
        ("result div 0 eq 1 or result mod 0 eq 1", []),
        ("phenomenonTime ge 2024-05-01T21:00:00Z", [22, 23, 24]),
        ("phenomenonTime ge 2024-05-01T23:00:00+02:00", [22, 23, 24]),
        ("phenomenonTime lt 2024-05-01T02:00:00Z", [1, 2]),
        ("phenomenonTime eq 2024-05-01T03:00:00Z", [4]),
        ("phenomenonTime ne 2024-05-01T03:00:00Z and phenomenonTime lt 2024-05-01T05:00:00Z", [1, 2, 3, 5]),
        ("phenomenonTime add duration'PT1H' eq 2024-05-01T01:00:00Z", [1]),
        ("phenomenonTime eq 2024-05-02T00:00:00Z sub duration'PT1H'", [24]),
        ("phenomenonTime ge 2024-05-01T00:00:00Z add duration'PT21H'", [22, 23, 24]),
        ("resultTime eq 2024-05-01T05:00:00Z", [6]),
        ("hour(phenomenonTime) eq 10", [11]),
        ("time(phenomenonTime) ge 22:00:00", [23, 24]),
    ],
)
def test_filters_on_one_datastream(sta_store: Store, text: str, expected: list[int]) -> None:
    assert filtered(sta_store, "Datastreams(1)/Observations", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # PM10 observations are hourly intervals [h, h+1): ids 25-36 for h = 0-11
        ("phenomenonTime ge 2024-05-01T10:00:00Z", [35, 36]),
        ("phenomenonTime gt 2024-05-01T10:30:00Z", [36]),
        ("phenomenonTime lt 2024-05-01T02:00:00Z", [25]),
        ("phenomenonTime le 2024-05-01T02:00:00Z", [25, 26]),
        ("phenomenonTime eq 2024-05-01T03:00:00Z", []),
        ("phenomenonTime ne 2024-05-01T03:00:00Z", list(range(25, 37))),
        ("2024-05-01T02:00:00Z ge phenomenonTime", [25, 26]),
        ("resultTime gt phenomenonTime", []),
        ("resultTime ge phenomenonTime", list(range(25, 37))),
        ("round(result) eq 16", [26, 27]),
        ("floor(result) eq 16", [27, 28]),
        ("ceiling(result) eq 16", [26, 27]),
        ("hour(phenomenonTime) eq 10", [35]),
    ],
)
def test_interval_filters(sta_store: Store, text: str, expected: list[int]) -> None:
    assert filtered(sta_store, "Datastreams(2)/Observations", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("result eq 'storing'", [50]),
        ("validTime ne null", [1]),
        ("fractionalseconds(validTime) eq 0.25 and validTime lt 2024-05-01T01:00:01Z", [1]),
        ("validTime lt 2024-05-01T01:00:00Z", []),
        ("resultQuality/DQ_Status eq 'valid'", [2]),
        ("result ge 600", [48, 49]),
        ("result eq null", []),
        ("substringof('tor', result)", [50]),
        ("Datastream/ObservedProperty/name eq 'crowd count' and result lt 120", [37, 38]),
        ("Datastream/@iot.id eq 2 and result gt 20", [36]),
        ("FeatureOfInterest/name eq 'Grotekerksbuurt' and hour(phenomenonTime) ge 20", [49, 50]),
        ("Datastream/Thing/properties/owner eq 'Gemeente Dordrecht' and result le 50", [37]),
        ("Datastream/unitOfMeasurement/symbol eq '{count}' and result gt 600", [49]),
        ("parameters/direction eq 'in' and result ge 650", [49]),
        ("hour(phenomenonTime) eq 10", [11, 35, 39]),
        ("result lt 11 or result gt 600 and Datastream/@iot.id eq 1", [1]),
        ("(result lt 11 or result gt 600) and Datastream/@iot.id eq 3", [49]),
        ("Datastream/phenomenonTime ge 2024-05-01T08:00:00Z and result le 100", [37, 38]),
    ],
)
def test_filters_on_observations(sta_store: Store, text: str, expected: list[int]) -> None:
    assert filtered(sta_store, "Observations", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "year(phenomenonTime) eq 2024 and month(phenomenonTime) eq 5 and day(phenomenonTime) eq 1",
        "minute(phenomenonTime) eq 0 and second(resultTime) eq 0 and fractionalseconds(phenomenonTime) eq 0",
        "date(phenomenonTime) eq 2024-05-01 and totaloffsetminutes(resultTime) eq 0",
        "phenomenonTime lt now() sub duration'P1D' and resultTime lt now()",
        "phenomenonTime gt mindatetime() and phenomenonTime lt maxdatetime()",
        "result ne null and parameters/unknown eq null",
        "phenomenonTime ge 2024-05-01 and phenomenonTime lt 2024-05-02",
        "Datastream/Sensor/@iot.id le 3",
    ],
)
def test_filters_true_for_every_observation(sta_store: Store, text: str) -> None:
    response = get(sta_store, "Observations", filter=text, count="true", top="0")
    assert response == {"@iot.count": 50, "value": []}


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("Locations", "geo.distance(location, geography'POINT(4.70821381 51.80065918)') lt 0.0001", [1]),
        # the two points lie 0.0470 degrees apart
        ("Locations", "geo.distance(location, geography'POINT(4.70821381 51.80065918)') lt 0.048", [1, 2]),
        ("Locations", "geo.distance(location, geography'POINT(4.70821381 51.80065918)') gt 0.046", [2]),
        ("Locations", "st_equals(location, geography'POINT(4.70821381 51.80065918)')", [1]),
        ("Locations", f"geo.intersects(location, geography'{GROTEKERKSBUURT_AREA}')", [2]),
        ("FeaturesOfInterest", "st_contains(feature, geography'POINT(4.6625 51.8119)')", [2]),
        ("FeaturesOfInterest", "st_touches(feature, geography'POINT(4.66 51.81)')", [2]),
        ("FeaturesOfInterest", "st_crosses(feature, geography'LINESTRING(4.659 51.812, 4.666 51.812)')", [2]),
        ("FeaturesOfInterest", "st_disjoint(feature, geography'POINT(4.6625 51.8119)')", [1]),
        (
            "FeaturesOfInterest",
            "st_overlaps(feature, geography'POLYGON((4.664 51.812, 4.67 51.812, 4.67 51.82, 4.664 51.82, "
            "4.664 51.812))')",
            [2],
        ),
        (
            "FeaturesOfInterest",
            "st_within(feature, geography'POLYGON((4.6 51.7, 4.8 51.7, 4.8 51.9, 4.6 51.9, 4.6 51.7))')",
            [1, 2],
        ),
        ("FeaturesOfInterest", "geo.length(geography'LINESTRING(0 0, 3 4)') eq 5", [1, 2]),
        ("Things", f"geo.intersects(Locations/location, geography'{GROTEKERKSBUURT_AREA}')", [2]),
        ("Datastreams", "geo.distance(observedArea, geography'POINT(4.70821381 51.80065918)') eq 0", [1, 2]),
        ("Datastreams", "observedArea eq null", [3]),
    ],
)
def test_geo_filters(sta_store: Store, path: str, text: str, expected: list[int]) -> None:
    assert filtered(sta_store, path, text) == expected


def test_geo_filter_over_a_relation(sta_store: Store) -> None:
    area = "POLYGON((4.6 51.8, 4.7 51.8, 4.7 51.82, 4.6 51.82, 4.6 51.8))"
    response = get(
        sta_store,
        "Observations",
        filter=f"st_within(FeatureOfInterest/feature, geography'{area}')",
        count="true",
        top="1",
    )
    assert response["@iot.count"] == 14
    assert ids(response) == [37]


def test_st_relate(sta_store: Store) -> None:
    text = "st_relate(feature, geography'POINT(4.6625 51.8119)', 'T*****FF*')"
    if sta_store.dialect == "duckdb":
        with pytest.raises(InvalidInputError, match="st_relate needs the PostgreSQL store"):
            filtered(sta_store, "FeaturesOfInterest", text)
    else:
        assert filtered(sta_store, "FeaturesOfInterest", text) == [2]


def test_values_the_database_cannot_compute_are_invalid_input(sta_store: Store) -> None:
    with pytest.raises(InvalidInputError, match="cannot be evaluated on the stored values"):
        filtered(sta_store, "Things", "id mul 9223372036854775807 mul 4 gt 0")


# -- ordering, paging, counts --------------------------------------------------------------------


def test_default_order_paging_and_next_links(sta_store: Store) -> None:
    first = get(sta_store, "Observations", top="20", count="true")
    assert ids(first) == list(range(1, 21))
    assert first["@iot.count"] == 50
    assert first["@iot.nextLink"] == f"{BASE}/Observations?$top=20&$count=true&$skip=20"
    last = get(sta_store, "Observations", top="20", skip="40")
    assert ids(last) == list(range(41, 51))
    assert "@iot.nextLink" not in last
    assert ids(get(sta_store, "Observations", skip="48")) == [49, 50]
    assert get(sta_store, "Observations", top="0") == {"value": []}


def _follow(store: Store, url: str) -> dict[str, Any]:
    path, _, query = url.removeprefix(BASE + "/").partition("?")
    resource = parse_resource_path(path)
    params = dict(parse_qsl(query, keep_blank_values=True))
    return read(store, resource, parse_query_options(params, resource.entity_type), BASE)


def test_following_next_links_visits_every_entity_once_in_order(sta_store: Store) -> None:
    page = get(sta_store, "Observations", top="7", orderby="result desc", filter="Datastream/@iot.id ne 2")
    seen = ids(page)
    while "@iot.nextLink" in page:
        page = _follow(sta_store, page["@iot.nextLink"])
        seen += ids(page)
    numbers = {**{i: 10 + i - 1 for i in range(1, 25)}, **{i: 50 * (i - 36) for i in range(37, 50)}}
    # 'storing' has no number: it sorts first descending; ties (50 twice …) by id
    expected = [50, *sorted(numbers, key=lambda i: (-numbers[i], i))]
    assert seen == expected


def test_orderby(sta_store: Store) -> None:
    assert ids(get(sta_store, "Datastreams(1)/Observations", orderby="result desc", top="3")) == [24, 23, 22]
    newest = get(sta_store, "Observations", orderby="phenomenonTime desc,id desc", top="4")
    assert ids(newest) == [24, 50, 23, 22]
    assert ids(get(sta_store, "Things", orderby="properties/owner")) == [2, 1]
    assert ids(get(sta_store, "Things", orderby="length(name) desc")) == [2, 1]
    assert ids(get(sta_store, "Things", orderby="name desc")) == [2, 1]
    by_hour = get(sta_store, "Observations", orderby="hour(phenomenonTime),result desc", top="3")
    assert ids(by_hour) == [25, 1, 26]


# -- $select, $expand, dataArray -----------------------------------------------------------------


def test_select(sta_store: Store) -> None:
    response = get(sta_store, "Datastreams(1)/Observations", select="result,phenomenonTime", top="1")
    assert response == {
        "value": [{"phenomenonTime": "2024-05-01T00:00:00.000Z", "result": 10}],
        "@iot.nextLink": f"{BASE}/Datastreams(1)/Observations?$select=result,phenomenonTime&$top=1&$skip=1",
    }
    assert get(sta_store, "Things(2)", select="id,Datastreams") == {
        "@iot.id": 2,
        "@iot.selfLink": _link("Things(2)"),
        "Datastreams@iot.navigationLink": _link("Things(2)/Datastreams"),
    }


def test_expand_with_nested_options(sta_store: Store) -> None:
    thing = get(
        sta_store,
        "Things(1)",
        select="name",
        expand="Datastreams($select=name;$orderby=name desc;$expand=ObservedProperty($select=name)),"
        "Locations($select=name)",
    )
    assert thing == {
        "name": "Dordrecht-Bamendaweg",
        "Datastreams": [
            {"name": "PM10 Bamendaweg", "ObservedProperty": {"name": "PM10"}},
            {"name": "NO2 Bamendaweg", "ObservedProperty": {"name": "NO2"}},
        ],
        "Locations": [{"name": "Bamendaweg"}],
    }


def test_expand_pages_per_parent_with_counts_and_next_links(sta_store: Store) -> None:
    datastreams = get(
        sta_store,
        "Datastreams",
        select="name",
        expand="Observations($top=2;$skip=1;$count=true;$orderby=result desc;$select=result)",
    )
    assert datastreams["value"] == [
        {
            "name": "NO2 Bamendaweg",
            "Observations@iot.count": 24,
            "Observations": [{"result": 32}, {"result": 31}],
            "Observations@iot.nextLink": f"{BASE}/Datastreams(1)/Observations"
            "?$top=2&$count=true&$orderby=result%20desc&$select=result&$skip=3",
        },
        {
            "name": "PM10 Bamendaweg",
            "Observations@iot.count": 12,
            "Observations": [{"result": 20}, {"result": 19.5}],
            "Observations@iot.nextLink": f"{BASE}/Datastreams(2)/Observations"
            "?$top=2&$count=true&$orderby=result%20desc&$select=result&$skip=3",
        },
        {
            "name": "Passanten Grotekerksbuurt",
            "Observations@iot.count": 14,
            "Observations": [{"result": 650}, {"result": 600}],
            "Observations@iot.nextLink": f"{BASE}/Datastreams(3)/Observations"
            "?$top=2&$count=true&$orderby=result%20desc&$select=result&$skip=3",
        },
    ]
    nested = _follow(sta_store, datastreams["value"][2]["Observations@iot.nextLink"])
    assert nested["value"] == [{"result": 550}, {"result": 500}]
    assert nested["@iot.count"] == 14


def test_expand_path_form_filters_and_to_one(sta_store: Store) -> None:
    observation = get(
        sta_store,
        "Observations(25)",
        select="result",
        expand="Datastream/ObservedProperty,FeatureOfInterest($select=name)",
    )
    assert observation["result"] == 15
    assert observation["Datastream"]["name"] == "PM10 Bamendaweg"
    assert observation["Datastream"]["ObservedProperty"]["definition"] == "urn:tweeling:PM10"
    assert observation["FeatureOfInterest"] == {"name": "Bamendaweg"}
    things = get(
        sta_store,
        "Things",
        select="id",
        expand="Datastreams($filter=ObservedProperty/name eq 'PM10';$select=id;"
        "$expand=Observations($filter=result gt 20;$select=result))",
    )
    assert [t["Datastreams"] for t in things["value"]] == [
        [
            {
                "@iot.id": 2,
                "@iot.selfLink": _link("Datastreams(2)"),
                "Observations": [{"result": 20.5}],
            }
        ],
        [],
    ]
    locations = get(
        sta_store, "Locations", select="name", expand="Things($select=name),HistoricalLocations($select=time)"
    )
    assert locations["value"] == [
        {
            "name": "Bamendaweg",
            "Things": [{"name": "Dordrecht-Bamendaweg"}],
            "HistoricalLocations": [{"time": "2024-05-01T00:00:00.000Z"}],
        },
        {
            "name": "Grotekerksbuurt",
            "Things": [{"name": "Telpunt Grotekerksbuurt"}],
            "HistoricalLocations": [],
        },
    ]


def test_expand_runs_one_query_per_relation_and_level(
    sta_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries: list[str] = []
    fetchall = sta_store._fetchall

    def counting(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        queries.append(sql)
        return fetchall(sql, params)

    monkeypatch.setattr(sta_store, "_fetchall", counting)
    response = get(
        sta_store,
        "Datastreams",
        expand="Observations($top=1;$expand=FeatureOfInterest),Thing($expand=Locations),Sensor,ObservedProperty",
    )
    assert len(response["value"]) == 3
    assert response["value"][2]["Observations"][0]["FeatureOfInterest"]["name"] == "Grotekerksbuurt"
    assert response["value"][2]["Thing"]["Locations"][0]["name"] == "Grotekerksbuurt"
    assert response["value"][0]["Sensor"]["name"] == "Thermo 42i"
    # the datastreams, then Observations, FeatureOfInterest, Thing, Locations, Sensor, ObservedProperty
    assert len(queries) == 7


def test_navigation_to_observations_filters_the_foreign_key_column(
    sta_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries: list[str] = []
    fetchall = sta_store._fetchall

    def recording(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        queries.append(sql)
        return fetchall(sql, params)

    monkeypatch.setattr(sta_store, "_fetchall", recording)
    get(sta_store, "Datastreams(1)/Observations", filter="phenomenonTime ge 2024-05-01T20:00:00Z")
    main = queries[-1]
    assert "FROM sta_observations a0 WHERE a0.datastream_id = " in main
    assert "a0.phenomenon_time_start >= " in main
    assert "JOIN" not in main and "EXISTS" not in main


def test_data_array(sta_store: Store) -> None:
    response = get(
        sta_store,
        "Datastreams(2)/Observations",
        resultFormat="dataArray",
        select="id,phenomenonTime,result",
        top="2",
        count="true",
    )
    assert response == {
        "@iot.count": 12,
        "value": [
            {
                "Datastream@iot.navigationLink": _link("Datastreams(2)"),
                "components": ["id", "phenomenonTime", "result"],
                "dataArray@iot.count": 2,
                "dataArray": [
                    [25, "2024-05-01T00:00:00.000Z/2024-05-01T01:00:00.000Z", 15],
                    [26, "2024-05-01T01:00:00.000Z/2024-05-01T02:00:00.000Z", 15.5],
                ],
            }
        ],
        "@iot.nextLink": f"{BASE}/Datastreams(2)/Observations"
        "?$resultFormat=dataArray&$select=id,phenomenonTime,result&$top=2&$count=true&$skip=2",
    }
    grouped = get(sta_store, "Observations", resultFormat="dataArray", filter="hour(phenomenonTime) eq 10")
    assert [(g["Datastream@iot.navigationLink"], g["dataArray"][0][0]) for g in grouped["value"]] == [
        (_link("Datastreams(1)"), 11),
        (_link("Datastreams(2)"), 35),
        (_link("Datastreams(3)"), 39),
    ]
    assert grouped["value"][0]["components"] == [
        "id",
        "phenomenonTime",
        "resultTime",
        "result",
        "resultQuality",
        "validTime",
        "parameters",
    ]
