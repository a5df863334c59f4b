"""Write path of the sensor hub: create (with deep insert), update, delete, and bulk observation ingest.

Payloads are SensorThings 1.1 JSON as clients send them. Every request runs in one transaction
that the caller opens (``store.transaction()``), so a request that fails half-way leaves nothing
behind. Rules of the standard that the write path keeps:

- deep insert: related entities may be given inline (created) or as ``{"@iot.id": n}`` (linked);
- a Thing that gets Locations gets a HistoricalLocation (time = now) linking them;
- an Observation without a FeatureOfInterest gets one made from its Thing's Location (reused for
  later observations of the same Location);
- deletes cascade as the standard's integrity constraints say (Thing → its Datastreams and
  HistoricalLocations; Datastream, Sensor, ObservedProperty → Datastreams → Observations; ...).

Observations are stored with rolling hourly and daily aggregates (count, sum, min, max) kept up to
date in the same transaction, so "hourly means of a week" never scans raw observations.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import shapely
import shapely.geometry

from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.core.times import parse_instant, parse_time_or_interval
from tweeling.store.base import Store
from tweeling.store.sta_schema import (
    AGGREGATES_TABLE,
    DATASTREAMS,
    ENTITY_TYPES,
    FEATURES_OF_INTEREST,
    HISTORICAL_LOCATION_LOCATIONS_TABLE,
    HISTORICAL_LOCATIONS,
    INGEST_KEYS_TABLE,
    LOCATIONS,
    OBSERVATION_TYPES,
    OBSERVATIONS,
    STA_EPSG,
    THING_LOCATIONS_TABLE,
    THINGS,
    EntityType,
    Relation,
    sta_ddl,
)

Json = dict[str, Any]

GEOJSON_ENCODINGS = ("application/geo+json", "application/vnd.geo+json")
AGGREGATE_PERIODS = {"PT1H": "hour", "P1D": "day"}
"""Aggregation periods (ISO 8601 durations) and the date_trunc unit of each."""


def ensure_sta_tables(store: Store) -> None:
    """Create the sensor-hub tables if they are missing (idempotent; nothing on a read-only store)."""
    if store.read_only:
        return
    with store.transaction():
        for statement in sta_ddl(store.dialect):
            store._execute(statement)


def _is_reference(payload: Json) -> bool:
    """A related entity given with its ``@iot.id`` links that entity; other properties sent along are
    ignored (clients such as FROST's send the whole related entity)."""
    return "@iot.id" in payload


def _reference_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInputError(f"{what}: @iot.id must be an integer")
    try:
        return int(value)
    except ValueError:
        raise InvalidInputError(f"{what}: @iot.id {value!r} is not an integer") from None


def inverse_relation(entity: EntityType, relation: Relation) -> Relation:
    """The relation of the target type that leads back (``Thing.Datastreams`` → ``Datastream.Thing``)."""
    target = ENTITY_TYPES[relation.to]
    for candidate in target.relations:
        if candidate.to != entity.set_name:
            continue
        if relation.link_table and candidate.link_table == relation.link_table:
            return candidate
        if relation.foreign_key and candidate.foreign_key == relation.foreign_key:
            return candidate
    raise AssertionError(f"no inverse of {entity.set_name}.{relation.name}")


@dataclass
class ObservationRow:
    """One validated observation, ready to store."""

    datastream_id: int
    phenomenon_time_start: datetime
    phenomenon_time_end: datetime | None
    result_time: datetime | None
    result_number: float | None
    result_json: str | None
    result_quality: str | None
    valid_time_start: datetime | None
    valid_time_end: datetime | None
    parameters: str | None
    feature_id: int | None

    @property
    def result(self) -> Any:
        """The result as the client sent it."""
        return self.result_number if self.result_json is None else json.loads(self.result_json)


def check_result(value: Any, observation_type: str, what: str = "result") -> tuple[float | None, str | None]:
    """``(result_number, result_json)`` for a result, refusing one of the wrong type for the Datastream.

    OM_Measurement needs a number, OM_CountObservation an integer, OM_TruthObservation a boolean;
    OM_Observation and OM_CategoryObservation take any JSON value.
    """
    if value is None:
        raise InvalidInputError(f"{what} is required")
    expected = OBSERVATION_TYPES.get(observation_type, "any")
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "number" and not is_number:
        raise InvalidInputError(f"{what} must be a number for an OM_Measurement datastream, got {value!r}")
    if expected == "integer" and not (is_number and float(value).is_integer()):
        raise InvalidInputError(
            f"{what} must be an integer for an OM_CountObservation datastream, got {value!r}"
        )
    if expected == "boolean" and not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be true or false for an OM_TruthObservation datastream")
    if is_number:
        number = float(value)
        if not math.isfinite(number):
            raise InvalidInputError(f"{what} must be a finite number")
        return number, None
    return None, json.dumps(value, separators=(",", ":"))


def _optional_json(payload: Json, key: str, what: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if key in ("properties", "parameters", "unitOfMeasurement") and not isinstance(value, dict):
        raise InvalidInputError(f"{what}.{key} must be a JSON object")
    return json.dumps(value, separators=(",", ":"))


def _geometry_wkb(value: Any, what: str) -> bytes:
    """WKB of a GeoJSON geometry or Feature (WGS84 lon/lat), refusing invalid input clearly."""
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be a GeoJSON object")
    geometry = value.get("geometry") if value.get("type") == "Feature" else value
    try:
        shape = shapely.geometry.shape(geometry)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InvalidInputError(f"{what} is not a valid GeoJSON geometry: {exc}") from None
    if shape.is_empty:
        raise InvalidInputError(f"{what} is an empty geometry")
    minx, miny, maxx, maxy = shape.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInputError(
            f"{what} must be WGS84 longitude/latitude (GeoJSON); got bounds {shape.bounds}"
        )
    return bytes(shapely.to_wkb(shape))


class StaWriter:
    """Creates, updates and deletes SensorThings entities in one store (call inside a transaction)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.now = datetime.now(UTC)
        self.created: list[tuple[str, int]] = []
        self.observations: list[tuple[int, ObservationRow]] = []

    # -- small SQL helpers ------------------------------------------------------------
    def _ph(self, count: int = 1) -> str:
        return self.store.placeholder(count)

    def exists(self, set_name: str, entity_id: int) -> bool:
        """Whether an entity with this id exists."""
        table = ENTITY_TYPES[set_name].table
        rows = self.store._fetchall(f"SELECT 1 FROM {table} WHERE id = {self._ph()}", [entity_id])
        return bool(rows)

    def require(self, set_name: str, entity_id: int) -> None:
        """NotFoundError (404) unless the entity exists."""
        if not self.exists(set_name, entity_id):
            singular = ENTITY_TYPES[set_name].singular
            raise NotFoundError(f"no {singular} with @iot.id {entity_id}")

    def _insert_row(self, entity: EntityType, values: Json, geometry: dict[str, bytes]) -> int:
        new_id = self.store.next_ids(entity.sequence, 1)[0]
        columns = ["id", *values]
        params: list[Any] = [new_id, *values.values()]
        placeholders = [self._ph()] * len(columns)
        for column, wkb in geometry.items():
            columns.append(column)
            placeholders.append(self.store.geometry_from_wkb_sql(STA_EPSG))
            params.append(wkb)
        self.store._execute(
            f"INSERT INTO {entity.table} ({', '.join(columns)}) VALUES ({', '.join(placeholders)})", params
        )
        self.created.append((entity.set_name, new_id))
        return new_id

    # -- property validation ---------------------------------------------------------
    def _columns(
        self, entity: EntityType, payload: Json, *, partial: bool, what: str
    ) -> tuple[Json, dict[str, bytes]]:
        """Column values (and geometries as WKB) from a payload's properties; checks required ones."""
        values: Json = {}
        geometry: dict[str, bytes] = {}
        for prop in entity.properties:
            if prop.kind == "id" or prop.kind == "result":
                continue
            present = prop.name in payload and payload[prop.name] is not None
            if not present:
                if prop.required and not partial:
                    raise InvalidInputError(
                        f"{what}: {prop.name} is required",
                        invalid_params=[{"name": prop.name, "reason": "required"}],
                    )
                if partial and prop.name not in payload:
                    continue
                if prop.kind == "interval":
                    values[f"{prop.column}_start"] = values[f"{prop.column}_end"] = None
                elif prop.kind == "geometry_json":
                    values[prop.column] = None
                else:
                    values[prop.column] = None
                continue
            value = payload[prop.name]
            field = f"{what}.{prop.name}"
            if prop.kind == "text":
                if not isinstance(value, str):
                    raise InvalidInputError(f"{field} must be a string")
                values[prop.column] = value
            elif prop.kind == "json":
                values[prop.column] = _optional_json(payload, prop.name, what)
            elif prop.kind == "geometry_json":
                geometry["observed_area_geom" if prop.column == "observed_area" else "geom"] = _geometry_wkb(
                    value, field
                )
                values[prop.column] = json.dumps(value, separators=(",", ":"))
            elif prop.kind == "time":
                values[prop.column] = parse_instant(value, field)
            elif prop.kind == "interval":
                start, end = parse_time_or_interval(value, field)
                values[f"{prop.column}_start"], values[f"{prop.column}_end"] = start, end
        encoding = payload.get("encodingType")
        if entity.set_name in (LOCATIONS, FEATURES_OF_INTEREST) and encoding not in (
            None,
            *GEOJSON_ENCODINGS,
        ):
            raise InvalidInputError(
                f"{what}.encodingType {encoding!r} is not supported; use application/geo+json"
            )
        observation_type = payload.get("observationType")
        if entity.set_name == DATASTREAMS and observation_type not in (None, *OBSERVATION_TYPES):
            raise InvalidInputError(
                f"{what}.observationType {observation_type!r} is not one of: "
                + ", ".join(t.rsplit("/", 1)[-1] for t in OBSERVATION_TYPES)
            )
        if entity.set_name == DATASTREAMS and "unitOfMeasurement" in payload:
            unit = payload["unitOfMeasurement"]
            if not isinstance(unit, dict):
                raise InvalidInputError(
                    f"{what}.unitOfMeasurement must be an object with name, symbol, definition"
                )
        return values, geometry

    def _check_keys(self, entity: EntityType, payload: Json, what: str) -> None:
        known = {p.name for p in entity.properties} | {r.name for r in entity.relations}
        unknown = [
            key
            for key in payload
            if key not in known and not key.startswith("@iot.") and "@iot." not in key and key != "@iot.id"
        ]
        if unknown:
            raise InvalidInputError(
                f"{what}: unknown propert{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(map(repr, unknown))} "
                f"of a {entity.singular}; known: {', '.join(sorted(known))}",
                invalid_params=[{"name": key, "reason": "unknown property"} for key in unknown],
            )

    # -- create ------------------------------------------------------------------------
    def create(self, set_name: str, payload: Any, *, what: str | None = None) -> int:
        """Create an entity (and everything inline in it); return its id. A bare reference is checked."""
        entity = ENTITY_TYPES[set_name]
        what = what or entity.singular
        if not isinstance(payload, dict):
            raise InvalidInputError(f"{what} must be a JSON object")
        if _is_reference(payload):
            entity_id = _reference_id(payload["@iot.id"], what)
            self.require(set_name, entity_id)
            return entity_id
        self._check_keys(entity, payload, what)
        if set_name == OBSERVATIONS:
            return self._create_observation(payload, what)
        values, geometry = self._columns(entity, payload, partial=False, what=what)
        # to-one relations first: their ids are columns of this row
        for relation in entity.relations:
            if relation.many or not relation.foreign_key:
                continue
            given = payload.get(relation.name)
            if given is None:
                if relation.required:
                    raise InvalidInputError(
                        f'{what}: {relation.name} is required (inline or as {{"@iot.id": n}})',
                        invalid_params=[{"name": relation.name, "reason": "required"}],
                    )
                continue
            values[relation.foreign_key] = self.create(relation.to, given, what=f"{what}.{relation.name}")
        new_id = self._insert_row(entity, values, geometry)
        for relation in entity.relations:
            if not relation.many or relation.name not in payload:
                continue
            children = payload[relation.name]
            if not isinstance(children, list):
                raise InvalidInputError(f"{what}.{relation.name} must be a JSON array")
            self.link_many(entity, new_id, relation, children, what=f"{what}.{relation.name}")
        return new_id

    def link_many(
        self, entity: EntityType, entity_id: int, relation: Relation, children: list[Any], *, what: str
    ) -> None:
        """Create or link the members of a to-many relation of an existing entity."""
        back = inverse_relation(entity, relation)
        location_ids: list[int] = []
        for index, child in enumerate(children):
            label = f"{what}[{index}]"
            if not isinstance(child, dict):
                raise InvalidInputError(f"{label} must be a JSON object")
            if relation.link_table and relation.link_columns:
                child_id = self.create(relation.to, child, what=label)
                mine, theirs = relation.link_columns
                duplicate = self.store._fetchall(
                    f"SELECT 1 FROM {relation.link_table} "
                    f"WHERE {mine} = {self._ph()} AND {theirs} = {self._ph()}",
                    [entity_id, child_id],
                )
                if not duplicate:
                    self.store._execute(
                        f"INSERT INTO {relation.link_table} ({mine}, {theirs}) VALUES ({self._ph(2)})",
                        [entity_id, child_id],
                    )
                if relation.link_table == THING_LOCATIONS_TABLE:
                    location_ids.append(child_id if entity.set_name == THINGS else entity_id)
                    if entity.set_name == LOCATIONS:
                        self._historical_location(child_id, [entity_id])
            else:
                if _is_reference(child):
                    child_id = _reference_id(child["@iot.id"], label)
                    self.require(relation.to, child_id)
                    assert relation.foreign_key is not None
                    self.store._execute(
                        f"UPDATE {ENTITY_TYPES[relation.to].table} SET {relation.foreign_key} = {self._ph()} "
                        f"WHERE id = {self._ph()}",
                        [entity_id, child_id],
                    )
                    continue
                self.create(relation.to, {**child, back.name: {"@iot.id": entity_id}}, what=label)
        if entity.set_name == THINGS and location_ids:
            self._historical_location(entity_id, location_ids)

    def _historical_location(self, thing_id: int, location_ids: Sequence[int]) -> None:
        entity = ENTITY_TYPES[HISTORICAL_LOCATIONS]
        history_id = self._insert_row(entity, {"time": self.now, "thing_id": thing_id}, {})
        for location_id in location_ids:
            self.store._execute(
                f"INSERT INTO {HISTORICAL_LOCATION_LOCATIONS_TABLE} (historical_location_id, location_id) "
                f"VALUES ({self._ph(2)})",
                [history_id, location_id],
            )

    # -- observations --------------------------------------------------------------------
    def datastream_info(self, datastream_id: int) -> tuple[str, int]:
        """``(observationType, thing_id)`` of a Datastream; NotFoundError if there is none."""
        rows = self.store._fetchall(
            f"SELECT observation_type, thing_id FROM {ENTITY_TYPES[DATASTREAMS].table} "
            f"WHERE id = {self._ph()}",
            [datastream_id],
        )
        if not rows:
            raise NotFoundError(f"no Datastream with @iot.id {datastream_id}")
        return str(rows[0][0]), int(rows[0][1])

    def feature_for_thing(self, thing_id: int) -> int | None:
        """The FeatureOfInterest made from the Thing's (first) Location, created on first use."""
        rows = self.store._fetchall(
            "SELECT l.id, l.name, l.description, l.encoding_type, l.location "
            f"FROM {THING_LOCATIONS_TABLE} tl JOIN sta_locations l ON l.id = tl.location_id "
            f"WHERE tl.thing_id = {self._ph()} ORDER BY l.id LIMIT 1",
            [thing_id],
        )
        if not rows:
            return None
        location_id, name, description, encoding, location = rows[0]
        foi_table = ENTITY_TYPES[FEATURES_OF_INTEREST].table
        found = self.store._fetchall(
            f"SELECT id FROM {foi_table} WHERE source_location_id = {self._ph()} ORDER BY id LIMIT 1",
            [location_id],
        )
        if found:
            return int(found[0][0])
        feature = location if isinstance(location, dict) else json.loads(location)
        values = {
            "name": name,
            "description": description,
            "encoding_type": encoding,
            "feature": json.dumps(feature, separators=(",", ":")),
            "properties": None,
            "source_location_id": location_id,
        }
        return self._insert_row(
            ENTITY_TYPES[FEATURES_OF_INTEREST], values, {"geom": _geometry_wkb(feature, "Location.location")}
        )

    def observation_row(
        self, datastream_id: int, observation_type: str, payload: Any, feature_id: int | None, what: str
    ) -> ObservationRow:
        """Validate one observation payload for a Datastream (its FeatureOfInterest already resolved)."""
        if not isinstance(payload, dict):
            raise InvalidInputError(f"{what} must be a JSON object")
        if "result" not in payload:
            raise InvalidInputError(
                f"{what}: result is required", invalid_params=[{"name": "result", "reason": "required"}]
            )
        number, as_json = check_result(payload["result"], observation_type, f"{what}.result")
        if payload.get("phenomenonTime") is None:
            start, end = self.now, None
        else:
            start, end = parse_time_or_interval(payload["phenomenonTime"], f"{what}.phenomenonTime")
        result_time = (
            parse_instant(payload["resultTime"], f"{what}.resultTime")
            if payload.get("resultTime") is not None
            else None
        )
        valid_start = valid_end = None
        if payload.get("validTime") is not None:
            valid_start, valid_end = parse_time_or_interval(payload["validTime"], f"{what}.validTime")
        return ObservationRow(
            datastream_id,
            start,
            end,
            result_time,
            number,
            as_json,
            _optional_json(payload, "resultQuality", what),
            valid_start,
            valid_end,
            _optional_json(payload, "parameters", what),
            feature_id,
        )

    def _create_observation(self, payload: Json, what: str) -> int:
        datastream = payload.get("Datastream")
        if not isinstance(datastream, dict) or not _is_reference(datastream):
            raise InvalidInputError(
                f'{what}: Datastream is required as {{"@iot.id": n}}',
                invalid_params=[{"name": "Datastream", "reason": "required"}],
            )
        datastream_id = _reference_id(datastream["@iot.id"], f"{what}.Datastream")
        observation_type, thing_id = self.datastream_info(datastream_id)
        if payload.get("FeatureOfInterest") is not None:
            feature_id: int | None = self.create(
                FEATURES_OF_INTEREST, payload["FeatureOfInterest"], what=f"{what}.FeatureOfInterest"
            )
        else:
            feature_id = self.feature_for_thing(thing_id)
        row = self.observation_row(datastream_id, observation_type, payload, feature_id, what)
        return self.insert_observations([row])[0]

    def insert_observations(self, rows: Sequence[ObservationRow]) -> list[int]:
        """Bulk-append validated observations; keep Datastream times and aggregates up to date."""
        if not rows:
            return []
        ids = self.store.next_ids(ENTITY_TYPES[OBSERVATIONS].sequence, len(rows))
        utc = pa.timestamp("us", tz="UTC")
        table = pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "phenomenon_time_start": pa.array([r.phenomenon_time_start for r in rows], utc),
                "phenomenon_time_end": pa.array([r.phenomenon_time_end for r in rows], utc),
                "result_time": pa.array([r.result_time for r in rows], utc),
                "result_number": pa.array([r.result_number for r in rows], pa.float64()),
                "result_json": pa.array([r.result_json for r in rows], pa.string()),
                "result_quality": pa.array([r.result_quality for r in rows], pa.string()),
                "valid_time_start": pa.array([r.valid_time_start for r in rows], utc),
                "valid_time_end": pa.array([r.valid_time_end for r in rows], utc),
                "parameters": pa.array([r.parameters for r in rows], pa.string()),
                "datastream_id": pa.array([r.datastream_id for r in rows], pa.int64()),
                "feature_id": pa.array([r.feature_id for r in rows], pa.int64()),
            }
        )
        self.store.bulk_insert(ENTITY_TYPES[OBSERVATIONS].table, table)
        self._update_datastream_times(rows)
        self._add_to_aggregates(table, rows)
        self.observations.extend(zip(ids, rows, strict=True))
        return ids

    def _update_datastream_times(self, rows: Sequence[ObservationRow]) -> None:
        phenomenon: dict[int, tuple[datetime, datetime]] = {}
        results: dict[int, tuple[datetime, datetime]] = {}
        for row in rows:
            first, last = row.phenomenon_time_start, row.phenomenon_time_end or row.phenomenon_time_start
            known = phenomenon.get(row.datastream_id)
            phenomenon[row.datastream_id] = (
                (min(known[0], first), max(known[1], last)) if known else (first, last)
            )
            if row.result_time is not None:
                seen = results.get(row.datastream_id)
                moment = row.result_time
                results[row.datastream_id] = (
                    (min(seen[0], moment), max(seen[1], moment)) if seen else (moment, moment)
                )
        utc = pa.timestamp("us", tz="UTC")
        ids = list(phenomenon)
        staged = pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "first_time": pa.array([phenomenon[i][0] for i in ids], utc),
                "last_time": pa.array([phenomenon[i][1] for i in ids], utc),
                "first_result": pa.array([results[i][0] if i in results else None for i in ids], utc),
                "last_result": pa.array([results[i][1] if i in results else None for i in ids], utc),
            }
        )
        table = ENTITY_TYPES[DATASTREAMS].table
        with self.store.staged("datastream_times", staged) as source:
            self.store._execute(
                f"UPDATE {table} SET "
                + ", ".join(
                    f"{column} = {pick}(coalesce({table}.{column}, s.{new}), "
                    f"coalesce(s.{new}, {table}.{column}))"
                    for column, pick, new in (
                        ("phenomenon_time_start", "least", "first_time"),
                        ("phenomenon_time_end", "greatest", "last_time"),
                        ("result_time_start", "least", "first_result"),
                        ("result_time_end", "greatest", "last_result"),
                    )
                )
                + f" FROM {source} s WHERE {table}.id = s.id"
            )

    def _add_to_aggregates(self, table: pa.Table, rows: Sequence[ObservationRow]) -> None:
        """Add a batch's numeric results to the hourly and daily aggregates (one bulk upsert).

        Small batches are summed in plain Python, big ones with pandas: a pandas group-by has a
        fixed cost of milliseconds that would dominate a single observation.
        """
        buckets = _buckets_of(rows) if len(rows) < PANDAS_BATCH else _buckets_with_pandas(table)
        if buckets.empty:
            return
        staged = pa.table(
            {
                "datastream_id": pa.array(buckets["datastream_id"], pa.int64()),
                "period": pa.array(buckets["period"], pa.string()),
                "period_start": pa.array(buckets["period_start"], pa.timestamp("us", tz="UTC")),
                "count": pa.array(buckets["count"], pa.int64()),
                "total": pa.array(buckets["sum"], pa.float64()),
                "minimum": pa.array(buckets["min"], pa.float64()),
                "maximum": pa.array(buckets["max"], pa.float64()),
            }
        )
        names = ", ".join(staged.column_names)
        with self.store.staged("aggregates", staged) as source:
            self.store._execute(
                f"INSERT INTO {AGGREGATES_TABLE} AS a ({names}) SELECT {names} FROM {source} "
                "ON CONFLICT (datastream_id, period, period_start) DO UPDATE SET "
                "count = a.count + excluded.count, total = a.total + excluded.total, "
                "minimum = least(a.minimum, excluded.minimum), "
                "maximum = greatest(a.maximum, excluded.maximum)"
            )

    def rebuild_aggregates(self, datastream_ids: Iterable[int]) -> None:
        """Recompute the aggregates of Datastreams from their observations (after deletes or updates)."""
        table = ENTITY_TYPES[OBSERVATIONS].table
        for datastream_id in sorted(set(datastream_ids)):
            self.store._execute(
                f"DELETE FROM {AGGREGATES_TABLE} WHERE datastream_id = {self._ph()}", [datastream_id]
            )
            for period, unit in AGGREGATE_PERIODS.items():
                self.store._execute(
                    f"INSERT INTO {AGGREGATES_TABLE} (datastream_id, period, period_start, count, total, "
                    f"minimum, maximum) SELECT datastream_id, {self._ph()}, "
                    f"date_trunc('{unit}', phenomenon_time_start), count(*), sum(result_number), "
                    f"min(result_number), max(result_number) FROM {table} "
                    f"WHERE datastream_id = {self._ph()} AND result_number IS NOT NULL "
                    f"GROUP BY datastream_id, date_trunc('{unit}', phenomenon_time_start)",
                    [period, datastream_id],
                )

    # -- idempotency -----------------------------------------------------------------------
    def previous_batch(self, key: str) -> list[int | None] | None:
        """Observation ids stored earlier under this idempotency key (None if the key is new)."""
        rows = self.store._fetchall(
            f"SELECT observation_ids FROM {INGEST_KEYS_TABLE} WHERE idempotency_key = {self._ph()}", [key]
        )
        if not rows:
            return None
        stored = rows[0][0]
        return list(stored if isinstance(stored, list) else json.loads(stored))

    def remember_batch(self, key: str, ids: Sequence[int | None]) -> None:
        """Record a batch under its idempotency key (same transaction as the batch itself)."""
        self.store._execute(
            f"INSERT INTO {INGEST_KEYS_TABLE} (idempotency_key, created_at, observation_ids) "
            f"VALUES ({self._ph(3)})",
            [key, self.now, json.dumps(list(ids))],
        )

    # -- update ------------------------------------------------------------------------------
    def update(self, set_name: str, entity_id: int, payload: Any) -> None:
        """PATCH semantics: change the given properties and relations, keep the rest."""
        entity = ENTITY_TYPES[set_name]
        what = f"{entity.singular}({entity_id})"
        if not isinstance(payload, dict):
            raise InvalidInputError(f"{what}: the body must be a JSON object")
        self.require(set_name, entity_id)
        self._check_keys(entity, payload, what)
        if "@iot.id" in payload and _reference_id(payload["@iot.id"], what) != entity_id:
            raise InvalidInputError(f"{what}: @iot.id cannot be changed")
        values, geometry = self._columns(entity, payload, partial=True, what=what)
        for prop in entity.properties:
            if prop.required and prop.name in payload and payload[prop.name] is None:
                raise InvalidInputError(f"{what}: {prop.name} cannot be null")
        if set_name == OBSERVATIONS:
            observation_type = self._observation_type_of(entity_id)
            if "result" in payload:
                number, as_json = check_result(payload["result"], observation_type, f"{what}.result")
                values["result_number"], values["result_json"] = number, as_json
        for relation in entity.relations:
            if relation.name not in payload:
                continue
            given = payload[relation.name]
            if relation.many:
                if not isinstance(given, list):
                    raise InvalidInputError(f"{what}.{relation.name} must be a JSON array")
                if relation.link_table and relation.link_columns and set_name == THINGS:
                    # new Locations of a Thing replace the old ones (and make a HistoricalLocation)
                    self.store._execute(
                        f"DELETE FROM {relation.link_table} WHERE {relation.link_columns[0]} = {self._ph()}",
                        [entity_id],
                    )
                self.link_many(entity, entity_id, relation, given, what=f"{what}.{relation.name}")
            elif relation.foreign_key:
                if not isinstance(given, dict):
                    raise InvalidInputError(f"{what}.{relation.name} must be a JSON object")
                values[relation.foreign_key] = self.create(relation.to, given, what=f"{what}.{relation.name}")
        assignments = [f"{column} = {self._ph()}" for column in values]
        params = list(values.values())
        for column, wkb in geometry.items():
            assignments.append(f"{column} = {self.store.geometry_from_wkb_sql(STA_EPSG)}")
            params.append(wkb)
        if assignments:
            self.store._execute(
                f"UPDATE {entity.table} SET {', '.join(assignments)} WHERE id = {self._ph()}",
                [*params, entity_id],
            )
        if set_name == OBSERVATIONS:
            self.rebuild_aggregates(self._datastreams_of_observations([entity_id]))

    def _observation_type_of(self, observation_id: int) -> str:
        rows = self.store._fetchall(
            f"SELECT d.observation_type FROM {ENTITY_TYPES[OBSERVATIONS].table} o "
            f"JOIN {ENTITY_TYPES[DATASTREAMS].table} d ON d.id = o.datastream_id WHERE o.id = {self._ph()}",
            [observation_id],
        )
        return str(rows[0][0])

    def _datastreams_of_observations(self, observation_ids: Sequence[int]) -> list[int]:
        if not observation_ids:
            return []
        rows = self.store._fetchall(
            f"SELECT DISTINCT datastream_id FROM {ENTITY_TYPES[OBSERVATIONS].table} "
            f"WHERE id IN ({self._ph(len(observation_ids))})",
            list(observation_ids),
        )
        return [int(r[0]) for r in rows]

    # -- delete ------------------------------------------------------------------------------
    def delete(self, set_name: str, entity_id: int) -> None:
        """Delete an entity and what the standard's integrity rules delete with it."""
        self.require(set_name, entity_id)
        self._delete_ids(set_name, [entity_id])

    def _ids_where(self, table: str, column: str, ids: Sequence[int]) -> list[int]:
        if not ids:
            return []
        rows = self.store._fetchall(
            f"SELECT id FROM {table} WHERE {column} IN ({self._ph(len(ids))})", list(ids)
        )
        return [int(r[0]) for r in rows]

    def _delete_ids(self, set_name: str, ids: Sequence[int]) -> None:
        if not ids:
            return
        entity = ENTITY_TYPES[set_name]
        p = self._ph(len(ids))
        datastreams = ENTITY_TYPES[DATASTREAMS].table
        if set_name in (THINGS, "Sensors", "ObservedProperties"):
            column = {
                "Things": "thing_id",
                "Sensors": "sensor_id",
                "ObservedProperties": "observed_property_id",
            }[set_name]
            self._delete_ids(DATASTREAMS, self._ids_where(datastreams, column, ids))
        if set_name == THINGS:
            self._delete_ids(
                HISTORICAL_LOCATIONS,
                self._ids_where(ENTITY_TYPES[HISTORICAL_LOCATIONS].table, "thing_id", ids),
            )
            self.store._execute(f"DELETE FROM {THING_LOCATIONS_TABLE} WHERE thing_id IN ({p})", list(ids))
        if set_name == DATASTREAMS:
            observations = ENTITY_TYPES[OBSERVATIONS].table
            self.store._execute(f"DELETE FROM {observations} WHERE datastream_id IN ({p})", list(ids))
            self.store._execute(f"DELETE FROM {AGGREGATES_TABLE} WHERE datastream_id IN ({p})", list(ids))
        if set_name == FEATURES_OF_INTEREST:
            observations = ENTITY_TYPES[OBSERVATIONS].table
            affected = self.store._fetchall(
                f"SELECT DISTINCT datastream_id FROM {observations} WHERE feature_id IN ({p})", list(ids)
            )
            self.store._execute(f"DELETE FROM {observations} WHERE feature_id IN ({p})", list(ids))
            self.rebuild_aggregates(int(r[0]) for r in affected)
        if set_name == LOCATIONS:
            self.store._execute(f"DELETE FROM {THING_LOCATIONS_TABLE} WHERE location_id IN ({p})", list(ids))
            history = self.store._fetchall(
                f"SELECT DISTINCT historical_location_id FROM {HISTORICAL_LOCATION_LOCATIONS_TABLE} "
                f"WHERE location_id IN ({p})",
                list(ids),
            )
            self.store._execute(
                f"DELETE FROM {HISTORICAL_LOCATION_LOCATIONS_TABLE} WHERE location_id IN ({p})", list(ids)
            )
            self._delete_ids(HISTORICAL_LOCATIONS, [int(r[0]) for r in history])
            self.store._execute(
                f"UPDATE {ENTITY_TYPES[FEATURES_OF_INTEREST].table} SET source_location_id = NULL "
                f"WHERE source_location_id IN ({p})",
                list(ids),
            )
        if set_name == HISTORICAL_LOCATIONS:
            self.store._execute(
                f"DELETE FROM {HISTORICAL_LOCATION_LOCATIONS_TABLE} WHERE historical_location_id IN ({p})",
                list(ids),
            )
        affected_streams = self._datastreams_of_observations(ids) if set_name == OBSERVATIONS else []
        self.store._execute(f"DELETE FROM {entity.table} WHERE id IN ({p})", list(ids))
        if affected_streams:
            self.rebuild_aggregates(affected_streams)


PANDAS_BATCH = 500
"""From this many observations on, a batch's aggregates are computed with pandas."""


def _buckets_of(rows: Sequence[ObservationRow]) -> pd.DataFrame:
    """Hourly and daily count/sum/min/max per Datastream of a small batch, in plain Python."""
    sums: dict[tuple[int, str, datetime], list[float]] = {}
    for row in rows:
        value = row.result_number
        if value is None:
            continue
        time = row.phenomenon_time_start.astimezone(UTC)
        hour = time.replace(minute=0, second=0, microsecond=0)
        for period, start in (("PT1H", hour), ("P1D", hour.replace(hour=0))):
            bucket = sums.get((row.datastream_id, period, start))
            if bucket is None:
                sums[(row.datastream_id, period, start)] = [1, value, value, value]
            else:
                bucket[0] += 1
                bucket[1] += value
                bucket[2] = min(bucket[2], value)
                bucket[3] = max(bucket[3], value)
    return pd.DataFrame(
        [(ds, period, start, *figures) for (ds, period, start), figures in sums.items()],
        columns=["datastream_id", "period", "period_start", "count", "sum", "min", "max"],
    )


def _buckets_with_pandas(table: pa.Table) -> pd.DataFrame:
    """Hourly and daily count/sum/min/max per Datastream of a big batch, with a pandas group-by."""
    frame = table.select(["datastream_id", "phenomenon_time_start", "result_number"]).to_pandas()
    frame = frame[frame["result_number"].notna()]
    parts = []
    for period, frequency in (("PT1H", "h"), ("P1D", "D")):
        starts = frame["phenomenon_time_start"].dt.floor(frequency).rename("period_start")
        grouped = (
            frame.groupby([frame["datastream_id"], starts])["result_number"]
            .agg(["count", "sum", "min", "max"])
            .reset_index()
        )
        grouped["period"] = period
        parts.append(grouped)
    return pd.concat(parts, ignore_index=True)
