"""The sensor hub service: SensorThings reads and writes, bulk ingest, aggregates, alerts, live listeners.

One ``SensorHub`` per process serves HTTP, MQTT, the CLI and tests alike. Writes go through one
connection, one at a time (a lock), and each request is one transaction: an observation is
acknowledged only after its batch committed. Listeners (live push, the MQTT bridge) are told
about new observations and alerts after the commit, never before.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jsonpatch

from tweeling.core.errors import InvalidInputError, NotFoundError, StoreError, TweelingError
from tweeling.core.times import format_instant, format_time_or_interval, parse_instant
from tweeling.store.base import Store
from tweeling.store.sta_alerts import AlertStore
from tweeling.store.sta_odata import ResourcePath, parse_query_options, parse_resource_path
from tweeling.store.sta_query import read as read_entities
from tweeling.store.sta_schema import DATASTREAMS, ENTITY_TYPES, FEATURES_OF_INTEREST, OBSERVATIONS
from tweeling.store.sta_write import (
    AGGREGATE_PERIODS,
    ObservationRow,
    StaWriter,
    ensure_sta_tables,
    inverse_relation,
)

log = logging.getLogger(__name__)

Json = dict[str, Any]
Listener = Callable[[str, Json], None]

MAX_BATCH = 100_000
"""Most observations accepted in one request (dataArray or MQTT batch)."""
OBSERVATION_KEYS = frozenset(
    {"phenomenonTime", "resultTime", "result", "resultQuality", "validTime", "parameters"}
    | {"FeatureOfInterest", "Datastream"}
)
"""Properties an Observation in a batch may have."""
DATASTREAM_CACHE_SECONDS = 5.0
"""How long a Datastream's type, Thing and default feature are reused without asking the store (s)."""


class ObservationOutcome:
    """What became of one observation of a batch: its id and stored Observation, or why it was refused.

    The Observation's JSON is built only when someone asks for it (most bulk writers only need ids).
    """

    def __init__(
        self,
        observation_id: int | None = None,
        document: Callable[[], Json] | None = None,
        error: str | None = None,
    ) -> None:
        self.id = observation_id
        self.error = error
        self._document = document
        self._built: Json | None = None

    @property
    def created(self) -> Json | None:
        """The stored Observation as JSON (None when it was refused)."""
        if self.id is None:
            return None
        if self._built is None:
            self._built = self._document() if self._document else {"@iot.id": self.id}
        return self._built


@dataclass
class _DatastreamInfo:
    observation_type: str
    thing_id: int
    feature_id: int | None
    checked: float = field(default_factory=time.monotonic)


class SensorHub:
    """SensorThings entities, observation ingest, aggregates and alerts over one store.

    ``store`` is the connection writes use (writable); ``readers`` gives a connection for reads
    (e.g. one per server thread) and defaults to ``store`` itself.
    """

    def __init__(
        self,
        store: Store | Callable[[], Store],
        *,
        readers: Callable[[], AbstractContextManager[Store]] | None = None,
        base_url: str = "http://localhost/v1.1",
    ) -> None:
        self._store_source = store
        self._store: Store | None = None
        self._owns_store = False
        self._alerts: AlertStore | None = None
        self._open_lock = threading.Lock()
        self.base_url = base_url
        self._readers = readers
        self._write_lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
        self._datastreams: dict[int, _DatastreamInfo] = {}

    @property
    def store(self) -> Store:
        """The connection writes use, opened (and the hub's tables created) on first use."""
        return self._open()

    def _open(self) -> Store:
        with self._open_lock:
            if self._store is None:
                source = self._store_source
                store = source if isinstance(source, Store) else source()
                # a store handed over directly is the hub's to close; one from a provider (a
                # StoreHandle) is closed by that provider, unless it is a read-only one made here
                self._owns_store = isinstance(source, Store) or store.read_only
                ensure_sta_tables(store)
                self._alerts = AlertStore(store)
                self._store = store
            return self._store

    @property
    def alerts(self) -> AlertStore:
        """Alert rules and alerts of this hub's store."""
        self._open()
        assert self._alerts is not None
        return self._alerts

    # -- connections ------------------------------------------------------------------
    @contextmanager
    def _reader(self) -> Iterator[Store]:
        self._open()  # the hub's tables exist before the first read
        if self._readers is None:
            with self._write_lock:
                yield self.store
            return
        with self._readers() as store:
            yield store

    @contextmanager
    def _writer(self) -> Iterator[StaWriter]:
        if self.store.read_only:
            raise StoreError(
                "the sensor hub is read-only here: the embedded store has one writer, so a server with "
                "several worker processes cannot write to it; run one worker, or use a PostgreSQL store"
            )
        with self._write_lock, self.store.transaction():
            yield StaWriter(self.store)

    def close(self) -> None:
        """Release the hub's own connection (not one it was given or that a StoreHandle owns)."""
        with self._open_lock:
            if self._store is not None and self._owns_store:
                self._store.close()
            self._store = None

    # -- listeners ----------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Be called with ("observation", json) / ("alert", json) after each commit."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling a listener (no error if it was not registered)."""
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self, kind: str, documents: Sequence[Json]) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            for document in documents:
                try:
                    listener(kind, document)
                except Exception:  # a broken listener must not undo or block a committed write
                    log.exception("sensor hub listener failed")

    # -- reads --------------------------------------------------------------------------
    def read(self, path: str, params: Mapping[str, str], base_url: str | None = None) -> Any:
        """The response of a SensorThings GET for a resource path and its query options."""
        resource = parse_resource_path(path)
        options = parse_query_options(params, resource.entity_type)
        with self._reader() as store:
            return read_entities(store, resource, options, base_url or self.base_url)

    def _read_one(self, set_name: str, entity_id: int, base_url: str | None) -> Json:
        result: Json = self.read(f"{set_name}({entity_id})", {}, base_url)
        return result

    # -- writes -------------------------------------------------------------------------
    def create(self, path: str, payload: Any, base_url: str | None = None) -> tuple[str, Json]:
        """POST to a collection (``Things``, ``Things(1)/Datastreams``, ...): ``(self link, entity)``."""
        resource = parse_resource_path(path)
        if not resource.is_collection or resource.property or resource.ref:
            raise InvalidInputError(
                "POST needs a collection path such as Things or Datastreams(1)/Observations"
            )
        set_name = resource.entity_type.set_name
        if not isinstance(payload, dict):
            raise InvalidInputError("the body must be a JSON object")
        if "@iot.id" in payload:
            raise InvalidInputError("@iot.id is assigned by the server; leave it out when creating an entity")
        body = dict(payload)
        if len(resource.segments) > 1:
            parent = resource.segments[-2]
            parent_type = _segment_type(resource, len(resource.segments) - 2)
            if parent.entity_id is None:
                raise InvalidInputError(f"POST to {path}: the parent {parent.name} needs an id")
            relation = parent_type.relation(resource.segments[-1].name)
            assert relation is not None
            back = inverse_relation(parent_type, relation)
            body[back.name] = [{"@iot.id": parent.entity_id}] if back.many else {"@iot.id": parent.entity_id}
        with self._writer() as writer:
            new_id = writer.create(set_name, body)
            stored = writer.observations  # an Observation, or Observations inline in a deep insert
            alerts = self.alerts.evaluate(writer, stored)
        if set_name != OBSERVATIONS:
            self._datastreams.clear()
        self._notify("observation", [self._observation_document(i, row) for i, row in stored])
        self._notify("alert", alerts)
        return f"{base_url or self.base_url}/{set_name}({new_id})", self._read_one(set_name, new_id, base_url)

    def update(self, path: str, payload: Any, base_url: str | None = None) -> Json:
        """PATCH an entity: change what the body gives, keep the rest; returns the entity."""
        set_name, entity_id = _entity_address(path)
        with self._writer() as writer:
            writer.update(set_name, entity_id, payload)
        self._datastreams.clear()
        return self._read_one(set_name, entity_id, base_url)

    def patch_json(self, path: str, operations: Any, base_url: str | None = None) -> Json:
        """PATCH with a JSON Patch document (RFC 6902, ``application/json-patch+json``) on the entity's
        own properties, as SensorThings 1.1 allows and FROST's client sends."""
        set_name, entity_id = _entity_address(path)
        if not isinstance(operations, list):
            raise InvalidInputError("a JSON Patch body must be a JSON array of operations")
        current = self._read_one(set_name, entity_id, base_url)
        own = {p.name for p in ENTITY_TYPES[set_name].properties if p.kind != "id"}
        document = {key: value for key, value in current.items() if key in own}
        try:
            patched = jsonpatch.apply_patch(document, operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
            raise InvalidInputError(f"the JSON Patch cannot be applied: {exc}") from None
        changes = {key: value for key, value in patched.items() if document.get(key) != value}
        changes.update({key: None for key in document if key not in patched})
        return self.update(path, changes, base_url)

    def replace(self, path: str, payload: Any, base_url: str | None = None) -> Json:
        """PUT an entity: every required property must be given; others not given become null."""
        set_name, _ = _entity_address(path)
        entity = ENTITY_TYPES[set_name]
        if not isinstance(payload, dict):
            raise InvalidInputError("the body must be a JSON object")
        missing = [
            p.name for p in entity.properties if p.required and p.name not in payload and p.kind != "id"
        ]
        if missing:
            raise InvalidInputError(
                f"PUT replaces the whole {entity.singular}: missing {', '.join(missing)} "
                "(use PATCH to change part)",
                invalid_params=[{"name": name, "reason": "required"} for name in missing],
            )
        full = {p.name: None for p in entity.properties if p.kind not in ("id",) and not p.required}
        full.update(payload)
        return self.update(path, full, base_url)

    def delete(self, path: str) -> None:
        """DELETE an entity and what the standard deletes with it."""
        set_name, entity_id = _entity_address(path)
        with self._writer() as writer:
            writer.delete(set_name, entity_id)
        self._datastreams.clear()

    # -- bulk observations ----------------------------------------------------------------
    def _datastream(self, writer: StaWriter, datastream_id: int) -> _DatastreamInfo:
        info = self._datastreams.get(datastream_id)
        if info is not None and time.monotonic() - info.checked < DATASTREAM_CACHE_SECONDS:
            return info
        observation_type, thing_id = writer.datastream_info(datastream_id)
        info = _DatastreamInfo(observation_type, thing_id, writer.feature_for_thing(thing_id))
        self._datastreams[datastream_id] = info
        return info

    def create_observations(
        self,
        items: Sequence[tuple[int, Json]],
        *,
        idempotency_key: str | None = None,
        base_url: str | None = None,
    ) -> list[ObservationOutcome]:
        """Store many observations at once: all valid ones in one transaction, each bad one refused.

        ``items`` are (datastream id, Observation JSON). With an ``idempotency_key`` that was
        already used, nothing is stored again and the outcome of the first call is returned.
        """
        if len(items) > MAX_BATCH:
            raise InvalidInputError(f"a batch may hold at most {MAX_BATCH} observations, got {len(items)}")
        key = _check_idempotency_key(idempotency_key)
        with self._writer() as writer:
            if key is not None:
                previous = writer.previous_batch(key)
                if previous is not None:
                    return self._replayed(previous, len(items), base_url)
            outcomes: list[ObservationOutcome] = [ObservationOutcome() for _ in items]
            rows: list[ObservationRow] = []
            positions: list[int] = []
            for index, (datastream_id, payload) in enumerate(items):
                try:
                    rows.append(self._row(writer, datastream_id, payload, index))
                    positions.append(index)
                except TweelingError as exc:
                    outcomes[index].error = exc.message
            ids = writer.insert_observations(rows)
            for index, new_id, row in zip(positions, ids, rows, strict=True):
                outcomes[index] = ObservationOutcome(
                    new_id, functools.partial(self._observation_document, new_id, row)
                )
            alerts = self.alerts.evaluate(writer, list(zip(ids, rows, strict=True)))
            if key is not None:
                writer.remember_batch(key, [o.id for o in outcomes])
        if self._listeners:
            self._notify("observation", [o.created for o in outcomes if o.created is not None])
        self._notify("alert", alerts)
        return outcomes

    def _row(self, writer: StaWriter, datastream_id: int, payload: Any, index: int) -> ObservationRow:
        what = f"observation {index}"
        info = self._datastream(writer, datastream_id)
        feature_id = info.feature_id
        if isinstance(payload, dict):
            if not OBSERVATION_KEYS.issuperset(payload):
                extra = sorted(set(payload) - OBSERVATION_KEYS)
                raise InvalidInputError(f"{what}: unknown propert{'y' if len(extra) == 1 else 'ies'} {extra}")
            if payload.get("FeatureOfInterest") is not None:
                feature_id = writer.create(
                    FEATURES_OF_INTEREST, payload["FeatureOfInterest"], what=f"{what}.FeatureOfInterest"
                )
        return writer.observation_row(datastream_id, info.observation_type, payload, feature_id, what)

    def _replayed(
        self, previous: list[int | None], count: int, base_url: str | None
    ) -> list[ObservationOutcome]:
        if len(previous) != count:
            raise InvalidInputError(
                f"this idempotency key was used for a batch of {len(previous)} observations, not {count}; "
                "use a new key for a new batch"
            )
        base = base_url or self.base_url
        return [
            ObservationOutcome(i, functools.partial(_reference, i, base))
            if i is not None
            else ObservationOutcome(error="refused when this batch was first sent")
            for i in previous
        ]

    def create_data_array(
        self, body: Any, *, idempotency_key: str | None = None, base_url: str | None = None
    ) -> list[str]:
        """The dataArray extension (``POST CreateObservations``): self links, or "error" per row."""
        if not isinstance(body, list):
            raise InvalidInputError(
                "CreateObservations expects a JSON array of {Datastream, components, dataArray}"
            )
        items: list[tuple[int, Json]] = []
        for block_index, block in enumerate(body):
            what = f"CreateObservations[{block_index}]"
            if not isinstance(block, dict):
                raise InvalidInputError(f"{what} must be a JSON object")
            datastream = block.get("Datastream")
            if not isinstance(datastream, dict) or "@iot.id" not in datastream:
                raise InvalidInputError(f'{what}: Datastream {{"@iot.id": n}} is required')
            try:
                datastream_id = int(datastream["@iot.id"])
            except (TypeError, ValueError):
                raise InvalidInputError(f"{what}: Datastream @iot.id must be an integer") from None
            components = block.get("components")
            rows = block.get("dataArray")
            if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
                raise InvalidInputError(f"{what}: components must be a list of property names")
            allowed = {
                "phenomenonTime",
                "resultTime",
                "result",
                "resultQuality",
                "validTime",
                "parameters",
                "FeatureOfInterest/id",
            }
            unknown = [c for c in components if c not in allowed]
            if unknown or "result" not in components:
                raise InvalidInputError(
                    f"{what}: components must include result and may include "
                    + ", ".join(sorted(allowed - {"result"}))
                    + (f"; unknown: {unknown}" if unknown else "")
                )
            if not isinstance(rows, list):
                raise InvalidInputError(f"{what}: dataArray must be a list of rows")
            for row_index, row in enumerate(rows):
                if not isinstance(row, list) or len(row) != len(components):
                    raise InvalidInputError(
                        f"{what}.dataArray[{row_index}] must be a list of {len(components)} values "
                        "(one per component)"
                    )
                observation = dict(zip(components, row, strict=True))
                feature = observation.pop("FeatureOfInterest/id", None)
                if feature is not None:
                    observation["FeatureOfInterest"] = {"@iot.id": feature}
                items.append((datastream_id, observation))
        base = base_url or self.base_url
        outcomes = self.create_observations(items, idempotency_key=idempotency_key, base_url=base)
        return [f"{base}/Observations({o.id})" if o.id is not None else "error" for o in outcomes]

    def _observation_document(self, observation_id: int, row: ObservationRow) -> Json:
        link = f"{self.base_url}/Observations({observation_id})"
        return {
            "@iot.id": observation_id,
            "@iot.selfLink": link,
            "phenomenonTime": format_time_or_interval(row.phenomenon_time_start, row.phenomenon_time_end),
            "resultTime": format_instant(row.result_time) if row.result_time else None,
            "result": row.result,
            "Datastream@iot.navigationLink": f"{link}/Datastream",
            "FeatureOfInterest@iot.navigationLink": f"{link}/FeatureOfInterest",
            "Datastream@iot.id": row.datastream_id,
        }

    # -- aggregates and alerts --------------------------------------------------------------
    def create_rule(self, payload: Any) -> Json:
        """Add an alert rule (see ``tweeling.store.sta_alerts``); evaluated on every later ingest."""
        if self.store.read_only:
            raise StoreError("the sensor hub is read-only here; alert rules cannot be added")
        with self._write_lock:
            return self.alerts.create_rule(payload).as_json()

    def list_rules(self) -> list[Json]:
        """All alert rules."""
        with self._reader() as store:
            return [rule.as_json() for rule in self.alerts.rules(store)]

    def delete_rule(self, rule_id: int) -> None:
        """Remove an alert rule; its past alerts stay."""
        with self._write_lock:
            self.alerts.delete_rule(rule_id)

    def list_alerts(self, *, datastream_id: int | None, since: datetime | None, limit: int) -> list[Json]:
        """Stored alerts, newest first."""
        with self._reader() as store:
            return self.alerts.list_alerts(store, datastream_id=datastream_id, since=since, limit=limit)

    def aggregates(
        self, datastream_id: int, period: str, start: str | None = None, end: str | None = None
    ) -> Json:
        """Hourly (``PT1H``) or daily (``P1D``) count/mean/min/max of a Datastream's numeric results."""
        if period not in AGGREGATE_PERIODS:
            raise InvalidInputError(f"period must be one of {', '.join(AGGREGATE_PERIODS)}, got {period!r}")
        begin = parse_instant(start, "start") if start else None
        finish = parse_instant(end, "end") if end else None
        with self._reader() as store:
            if not StaWriter(store).exists(DATASTREAMS, datastream_id):
                raise NotFoundError(f"no Datastream with @iot.id {datastream_id}")
            rows = self.alerts.aggregate_rows(store, datastream_id, period, begin, finish)
        return {
            "datastream": datastream_id,
            "period": period,
            "values": [
                {
                    "start": format_instant(period_start),
                    "count": count,
                    "mean": total / count,
                    "min": minimum,
                    "max": maximum,
                }
                for period_start, count, total, minimum, maximum in rows
            ],
        }


def _reference(observation_id: int, base_url: str) -> Json:
    return {"@iot.id": observation_id, "@iot.selfLink": f"{base_url}/Observations({observation_id})"}


def _segment_type(resource: ResourcePath, index: int) -> Any:
    """Entity type of the path's segment ``index`` (following navigation from the first)."""
    entity = ENTITY_TYPES[resource.segments[0].name]
    for segment in resource.segments[1 : index + 1]:
        relation = entity.relation(segment.name)
        if relation is None:
            raise NotFoundError(f"{entity.singular} has no navigation property {segment.name}")
        entity = ENTITY_TYPES[relation.to]
    return entity


def _entity_address(path: str) -> tuple[str, int]:
    """``(entity set, id)`` of a path that names one entity directly, e.g. ``Things(4)``."""
    resource = parse_resource_path(path)
    last = resource.segments[-1]
    if resource.property or resource.ref or last.entity_id is None or resource.is_collection:
        raise InvalidInputError(f"{path!r} does not name one entity; use e.g. Things(1)")
    return resource.entity_type.set_name, last.entity_id


def _check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidInputError("Idempotency-Key must be 1 to 200 printable characters")
    return key
