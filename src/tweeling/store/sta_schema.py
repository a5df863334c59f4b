"""Tables of the sensor hub (OGC SensorThings API 1.1) in both stores, and how entities map onto them.

One table per entity type, two link tables for the many-to-many relations, and the hub's own
tables: rolling aggregates, ingest idempotency keys, alert rules and alerts. Geometries of
Locations and FeaturesOfInterest are kept twice: the GeoJSON as sent (``location``/``feature``,
WGS84 as SensorThings prescribes) and a geometry column in EPSG:4326 for spatial filters.
Times are TIMESTAMPTZ in UTC; an interval is a ``*_start``/``*_end`` pair (``*_end`` null for an
instant). ``result`` is kept as ``result_number`` when numeric (filterable, aggregatable) and as
JSON in ``result_json`` otherwise.

This module is the contract between the write path (``sta_write``) and the query path
(``sta_query``): both read the table and column names from ``ENTITY_TYPES``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "text", "json", "geometry_json", "time", "interval", "result", "number"]

STA_EPSG = 4326
"""SensorThings locations and features are GeoJSON in WGS84 (lon, lat)."""


@dataclass(frozen=True)
class Property:
    """One SensorThings property of an entity and the column(s) that hold it.

    ``kind`` says how it is stored: ``interval`` uses ``<column>_start``/``<column>_end``;
    ``geometry_json`` keeps the GeoJSON in ``column`` and a geometry in ``geom``; ``result`` uses
    ``result_number``/``result_json``.
    """

    name: str
    column: str
    kind: ColumnKind
    required: bool = False


@dataclass(frozen=True)
class Relation:
    """A navigation property: ``to`` is the entity set it leads to.

    ``many`` is True for a collection. The join is one of: ``foreign_key`` on this table (n-1),
    ``foreign_key`` on the other table pointing back here (1-n, ``reverse=True``), or a
    ``link_table`` with ``link_columns`` (this side, other side) for m-n.
    """

    name: str
    to: str
    many: bool
    foreign_key: str | None = None
    reverse: bool = False
    link_table: str | None = None
    link_columns: tuple[str, str] | None = None
    required: bool = False


@dataclass(frozen=True)
class EntityType:
    """A SensorThings entity type: its set name (URL), singular name, table, properties, relations."""

    set_name: str
    singular: str
    table: str
    properties: tuple[Property, ...]
    relations: tuple[Relation, ...] = field(default=())
    internal_columns: tuple[str, ...] = field(default=())
    """Columns the hub uses itself and never shows (e.g. the Location a feature was made from)."""

    @property
    def sequence(self) -> str:
        """Name of the id sequence."""
        return f"{self.table}_id_seq"

    def property(self, name: str) -> Property | None:
        """The property called ``name`` (None if there is none)."""
        return next((p for p in self.properties if p.name == name), None)

    def relation(self, name: str) -> Relation | None:
        """The navigation property called ``name`` (None if there is none)."""
        return next((r for r in self.relations if r.name == name), None)


def _common(*more: Property) -> tuple[Property, ...]:
    return (
        Property("@iot.id", "id", "id"),
        Property("name", "name", "text", required=True),
        Property("description", "description", "text", required=True),
        *more,
        Property("properties", "properties", "json"),
    )


THINGS = "Things"
LOCATIONS = "Locations"
HISTORICAL_LOCATIONS = "HistoricalLocations"
DATASTREAMS = "Datastreams"
SENSORS = "Sensors"
OBSERVED_PROPERTIES = "ObservedProperties"
OBSERVATIONS = "Observations"
FEATURES_OF_INTEREST = "FeaturesOfInterest"

THING_LOCATIONS_TABLE = "sta_thing_locations"
HISTORICAL_LOCATION_LOCATIONS_TABLE = "sta_historical_location_locations"

ENTITY_TYPES: dict[str, EntityType] = {
    e.set_name: e
    for e in (
        EntityType(
            THINGS,
            "Thing",
            "sta_things",
            _common(),
            (
                Relation(
                    LOCATIONS,
                    LOCATIONS,
                    True,
                    link_table=THING_LOCATIONS_TABLE,
                    link_columns=("thing_id", "location_id"),
                ),
                Relation(HISTORICAL_LOCATIONS, HISTORICAL_LOCATIONS, True, "thing_id", reverse=True),
                Relation(DATASTREAMS, DATASTREAMS, True, "thing_id", reverse=True),
            ),
        ),
        EntityType(
            LOCATIONS,
            "Location",
            "sta_locations",
            _common(
                Property("encodingType", "encoding_type", "text", required=True),
                Property("location", "location", "geometry_json", required=True),
            ),
            (
                Relation(
                    THINGS,
                    THINGS,
                    True,
                    link_table=THING_LOCATIONS_TABLE,
                    link_columns=("location_id", "thing_id"),
                ),
                Relation(
                    HISTORICAL_LOCATIONS,
                    HISTORICAL_LOCATIONS,
                    True,
                    link_table=HISTORICAL_LOCATION_LOCATIONS_TABLE,
                    link_columns=("location_id", "historical_location_id"),
                ),
            ),
        ),
        EntityType(
            HISTORICAL_LOCATIONS,
            "HistoricalLocation",
            "sta_historical_locations",
            (Property("@iot.id", "id", "id"), Property("time", "time", "time", required=True)),
            (
                Relation("Thing", THINGS, False, "thing_id", required=True),
                Relation(
                    LOCATIONS,
                    LOCATIONS,
                    True,
                    link_table=HISTORICAL_LOCATION_LOCATIONS_TABLE,
                    link_columns=("historical_location_id", "location_id"),
                ),
            ),
        ),
        EntityType(
            SENSORS,
            "Sensor",
            "sta_sensors",
            _common(
                Property("encodingType", "encoding_type", "text", required=True),
                Property("metadata", "metadata", "text", required=True),
            ),
            (Relation(DATASTREAMS, DATASTREAMS, True, "sensor_id", reverse=True),),
        ),
        EntityType(
            OBSERVED_PROPERTIES,
            "ObservedProperty",
            "sta_observed_properties",
            _common(Property("definition", "definition", "text", required=True)),
            (Relation(DATASTREAMS, DATASTREAMS, True, "observed_property_id", reverse=True),),
        ),
        EntityType(
            DATASTREAMS,
            "Datastream",
            "sta_datastreams",
            _common(
                Property("unitOfMeasurement", "unit_of_measurement", "json", required=True),
                Property("observationType", "observation_type", "text", required=True),
                Property("observedArea", "observed_area", "geometry_json"),
                Property("phenomenonTime", "phenomenon_time", "interval"),
                Property("resultTime", "result_time", "interval"),
            ),
            (
                Relation("Thing", THINGS, False, "thing_id", required=True),
                Relation("Sensor", SENSORS, False, "sensor_id", required=True),
                Relation(
                    "ObservedProperty", OBSERVED_PROPERTIES, False, "observed_property_id", required=True
                ),
                Relation(OBSERVATIONS, OBSERVATIONS, True, "datastream_id", reverse=True),
            ),
        ),
        EntityType(
            OBSERVATIONS,
            "Observation",
            "sta_observations",
            (
                Property("@iot.id", "id", "id"),
                Property("phenomenonTime", "phenomenon_time", "interval"),
                Property("resultTime", "result_time", "time"),
                Property("result", "result", "result", required=True),
                Property("resultQuality", "result_quality", "json"),
                Property("validTime", "valid_time", "interval"),
                Property("parameters", "parameters", "json"),
            ),
            (
                Relation("Datastream", DATASTREAMS, False, "datastream_id", required=True),
                Relation("FeatureOfInterest", FEATURES_OF_INTEREST, False, "feature_id"),
            ),
        ),
        EntityType(
            FEATURES_OF_INTEREST,
            "FeatureOfInterest",
            "sta_features_of_interest",
            _common(
                Property("encodingType", "encoding_type", "text", required=True),
                Property("feature", "feature", "geometry_json", required=True),
            ),
            (Relation(OBSERVATIONS, OBSERVATIONS, True, "feature_id", reverse=True),),
            ("source_location_id BIGINT",),
        ),
    )
}

SINGULAR_TO_SET = {e.singular: e.set_name for e in ENTITY_TYPES.values()}

AGGREGATES_TABLE = "sta_aggregates"
INGEST_KEYS_TABLE = "sta_ingest_keys"
ALERT_RULES_TABLE = "sta_alert_rules"
ALERTS_TABLE = "sta_alerts"

OBSERVATION_TYPES = {
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement": "number",
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation": "integer",
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation": "boolean",
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation": "any",
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Observation": "any",
}
"""Observation types a Datastream may declare, and the JSON type its results must have."""


def _types(dialect: str) -> dict[str, str]:
    if dialect == "duckdb":
        return {"id": "BIGINT", "text": "VARCHAR", "json": "JSON", "time": "TIMESTAMPTZ", "geom": "GEOMETRY"}
    return {
        "id": "BIGINT",
        "text": "TEXT",
        "json": "JSONB",
        "time": "TIMESTAMPTZ",
        "geom": f"geometry(Geometry, {STA_EPSG})",
    }


def _columns(entity: EntityType, dialect: str) -> list[str]:
    t = _types(dialect)
    columns: list[str] = []
    for prop in entity.properties:
        not_null = " NOT NULL" if prop.required else ""
        if prop.kind == "id":
            columns.append(f"id BIGINT PRIMARY KEY DEFAULT nextval('{entity.sequence}')")
        elif prop.kind == "text":
            columns.append(f"{prop.column} {t['text']}{not_null}")
        elif prop.kind == "json":
            columns.append(f"{prop.column} {t['json']}{not_null}")
        elif prop.kind == "geometry_json":
            columns.append(f"{prop.column} {t['json']}{not_null}")
            geom = "geom" if prop.column != "observed_area" else "observed_area_geom"
            columns.append(f"{geom} {t['geom']}")
        elif prop.kind == "time":
            columns.append(f"{prop.column} {t['time']}{not_null}")
        elif prop.kind == "interval":
            columns.append(f"{prop.column}_start {t['time']}")
            columns.append(f"{prop.column}_end {t['time']}")
        elif prop.kind == "result":
            columns.append("result_number DOUBLE PRECISION")
            columns.append(f"result_json {t['json']}")
    for relation in entity.relations:
        if relation.foreign_key and not relation.reverse:
            target = ENTITY_TYPES[relation.to].table
            not_null = " NOT NULL" if relation.required else ""
            columns.append(f"{relation.foreign_key} BIGINT{not_null} REFERENCES {target} (id)")
    return [*columns, *entity.internal_columns]


# tables in an order that satisfies their foreign keys
_CREATE_ORDER = (
    THINGS,
    LOCATIONS,
    HISTORICAL_LOCATIONS,
    SENSORS,
    OBSERVED_PROPERTIES,
    DATASTREAMS,
    FEATURES_OF_INTEREST,
    OBSERVATIONS,
)


def sta_ddl(dialect: str) -> list[str]:
    """CREATE statements (idempotent) of every sensor-hub table, sequence and index for a dialect.

    DuckDB tables carry no foreign-key constraints: DuckDB checks them with an index lookup per
    row (slow for bulk ingest) and restricts updates of referenced rows; the write path checks
    the ids a request references instead. PostGIS keeps the constraints as a second guard.
    """
    t = _types(dialect)
    statements: list[str] = []
    for set_name in _CREATE_ORDER:
        entity = ENTITY_TYPES[set_name]
        statements.append(f"CREATE SEQUENCE IF NOT EXISTS {entity.sequence}")
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {entity.table} ({', '.join(_columns(entity, dialect))})"
        )
        if set_name == LOCATIONS:
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {THING_LOCATIONS_TABLE} ("
                "thing_id BIGINT NOT NULL REFERENCES sta_things (id), "
                "location_id BIGINT NOT NULL REFERENCES sta_locations (id), "
                "PRIMARY KEY (thing_id, location_id))"
            )
        if set_name == HISTORICAL_LOCATIONS:
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {HISTORICAL_LOCATION_LOCATIONS_TABLE} ("
                "historical_location_id BIGINT NOT NULL REFERENCES sta_historical_locations (id), "
                "location_id BIGINT NOT NULL REFERENCES sta_locations (id), "
                "PRIMARY KEY (historical_location_id, location_id))"
            )
    statements += [
        f"CREATE TABLE IF NOT EXISTS {AGGREGATES_TABLE} (datastream_id BIGINT NOT NULL, "
        f"period {t['text']} NOT NULL, period_start {t['time']} NOT NULL, count BIGINT NOT NULL, "
        "total DOUBLE PRECISION NOT NULL, minimum DOUBLE PRECISION, maximum DOUBLE PRECISION, "
        "PRIMARY KEY (datastream_id, period, period_start))",
        f"CREATE TABLE IF NOT EXISTS {INGEST_KEYS_TABLE} (idempotency_key {t['text']} PRIMARY KEY, "
        f"created_at {t['time']} NOT NULL, observation_ids {t['json']} NOT NULL)",
        f"CREATE SEQUENCE IF NOT EXISTS {ALERT_RULES_TABLE}_id_seq",
        f"CREATE TABLE IF NOT EXISTS {ALERT_RULES_TABLE} ("
        f"id BIGINT PRIMARY KEY DEFAULT nextval('{ALERT_RULES_TABLE}_id_seq'), name {t['text']} NOT NULL, "
        f"datastream_id BIGINT, observed_property {t['text']}, kind {t['text']} NOT NULL, "
        f"statistic {t['text']} NOT NULL, operator {t['text']} NOT NULL, "
        "threshold DOUBLE PRECISION NOT NULL, "
        f"window_seconds BIGINT, severity {t['text']} NOT NULL, message {t['text']}, "
        f"created_at {t['time']} NOT NULL)",
        f"CREATE SEQUENCE IF NOT EXISTS {ALERTS_TABLE}_id_seq",
        f"CREATE TABLE IF NOT EXISTS {ALERTS_TABLE} ("
        f"id BIGINT PRIMARY KEY DEFAULT nextval('{ALERTS_TABLE}_id_seq'), rule_id BIGINT NOT NULL, "
        f"datastream_id BIGINT NOT NULL, observation_id BIGINT, phenomenon_time {t['time']} NOT NULL, "
        f"value DOUBLE PRECISION NOT NULL, severity {t['text']} NOT NULL, message {t['text']} NOT NULL, "
        f"created_at {t['time']} NOT NULL)",
    ]
    observations = ENTITY_TYPES[OBSERVATIONS].table
    datastreams = ENTITY_TYPES[DATASTREAMS].table
    if dialect == "postgis":
        statements += [
            f"CREATE INDEX IF NOT EXISTS {observations}_ds_time_idx "
            f"ON {observations} (datastream_id, phenomenon_time_start)",
            f"CREATE INDEX IF NOT EXISTS {observations}_foi_idx ON {observations} (feature_id)",
            f"CREATE INDEX IF NOT EXISTS {datastreams}_thing_idx ON {datastreams} (thing_id)",
            "CREATE INDEX IF NOT EXISTS sta_locations_geom_idx ON sta_locations USING GIST (geom)",
            "CREATE INDEX IF NOT EXISTS sta_features_of_interest_geom_idx "
            "ON sta_features_of_interest USING GIST (geom)",
            f"CREATE INDEX IF NOT EXISTS {ALERTS_TABLE}_ds_idx "
            f"ON {ALERTS_TABLE} (datastream_id, phenomenon_time)",
        ]
    if dialect == "duckdb":
        statements = [re.sub(r" REFERENCES \w+ \(id\)", "", s) for s in statements]
        # no primary-key index on observations: DuckDB rewrites an ART index in full at every
        # checkpoint, which slows ingest as the table grows; ids come from the sequence (unique by
        # construction) and id lookups are served by the column's min/max zone maps
        statements = [
            s.replace("id BIGINT PRIMARY KEY DEFAULT", "id BIGINT NOT NULL DEFAULT")
            if s.startswith(f"CREATE TABLE IF NOT EXISTS {observations} ")
            else s
            for s in statements
        ]
    return statements
