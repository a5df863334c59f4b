"""OGC SensorThings API 1.1 routes under ``/v1.1`` and the hub's own routes under ``/v1/sensors``.

SensorThings puts its version in the path as ``v1.1`` (clients such as FROST's append entity sets
to that root), so the standard's resources live there; aggregates, alerts, alert rules and the
live stream are Tweeling's own resources under the versioned base path ``/v1``. Routes are
thin: parse, call ``SensorHub``, serialise.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from tweeling.api.access import requires
from tweeling.core.errors import ConflictError, InvalidInputError
from tweeling.core.times import parse_instant
from tweeling.governance.roles import Action
from tweeling.services.sensors import SensorHub
from tweeling.store.sta_schema import ENTITY_TYPES

STA_ROOT = "/v1.1"
JSON = "application/json"
LIVE_QUEUE_SIZE = 10_000
"""Events buffered per live client; a client that falls further behind loses the oldest (counted)."""
HEARTBEAT_SECONDS = 15.0

CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates",
]
"""Conformance classes of SensorThings 1.1 this server implements (MQTT ones when a broker is set)."""


def _json(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(document), status_code=status, media_type=JSON, headers=headers)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise InvalidInputError("the request body is empty; send a JSON document")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"the request body is not valid JSON: {exc}") from None


def _root(request: Request) -> str:
    return str(request.base_url).rstrip("/") + STA_ROOT


SENSOR_REVIEW_KIND = "personal-data-sensor"


def _new_things(path: str, body: Any) -> list[dict[str, Any]]:
    """The Things a POST would create: the body itself when the path ends with ``Things``, and every
    Thing inlined in a deep insert (``Thing`` of a Datastream, ``Things`` of a Location); references
    to existing Things (``{"@iot.id": n}``) create nothing."""
    found: list[dict[str, Any]] = []
    if path.rstrip("/").rsplit("/", 1)[-1] == "Things" and isinstance(body, dict):
        found.append(body)

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
            return
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            if key == "properties":  # free-form: its keys name no entities
                continue
            if key == "Thing":
                item_things = [item]
            elif key == "Things" and isinstance(item, list):
                item_things = item
            else:
                item_things = []
            found.extend(t for t in item_things if isinstance(t, dict) and "@iot.id" not in t)
            walk(item)

    walk(body)
    return found


def _require_sensor_reviews(request: Request, path: str, body: Any) -> None:
    """409 unless every new Thing that can capture personal data names an approved ethics review of
    it in ``properties.register.review`` (the approval itself creates the Thing that way)."""
    governance = request.app.state.governance
    for thing in _new_things(path, body):
        if not governance.sensor_register.requires_review(thing):
            continue
        properties = thing.get("properties")
        register = properties.get("register") if isinstance(properties, dict) else None
        review_id = register.get("review") if isinstance(register, dict) else None
        if not governance.reviews.is_approved(review_id, SENSOR_REVIEW_KIND, str(thing.get("name", ""))):
            raise ConflictError(
                "a sensor that can capture personal data needs an approved ethics review; "
                "submit one at /v1/reviews"
            )


def build_sta_router(hub: SensorHub, *, mqtt_url: str | None) -> APIRouter:
    """Routes of the SensorThings API over one hub."""
    router = APIRouter(prefix=STA_ROOT, tags=["SensorThings API 1.1"])

    @router.get("", summary="SensorThings service root: entity sets and conformance")
    @requires(Action.READ)
    def service_root(request: Request) -> Response:
        root = _root(request)
        conformance = [c for c in CONFORMANCE if mqtt_url or "mqtt" not in c]
        settings: dict[str, Any] = {"conformance": conformance}
        if mqtt_url:
            settings[
                "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation"
            ] = {"endpoints": [mqtt_url]}
        return _json(
            {
                "value": [{"name": name, "url": f"{root}/{name}"} for name in ENTITY_TYPES],
                "serverSettings": settings,
            }
        )

    @router.post(
        "/CreateObservations", status_code=201, summary="dataArray extension: many observations at once"
    )
    @requires(Action.WRITE_DATA)
    async def create_observations(
        request: Request, idempotency_key: Annotated[str | None, Header()] = None
    ) -> Response:
        body = await _body(request)
        links = await asyncio.to_thread(
            hub.create_data_array, body, idempotency_key=idempotency_key, base_url=_root(request)
        )
        return _json(links, 201)

    @router.get("/{path:path}", summary="Read entities, entity sets, properties ($filter, $expand, ...)")
    @requires(Action.READ)
    def read(request: Request, path: str) -> Response:
        result = hub.read(path, dict(request.query_params), _root(request))
        if path.endswith("/$value"):
            if result is None:
                return Response(status_code=204)
            return Response(str(result), media_type="text/plain")
        return _json(result)

    @router.post("/{path:path}", status_code=201, summary="Create an entity (deep insert allowed)")
    @requires(Action.WRITE_DATA)
    async def create(request: Request, path: str) -> Response:
        body = await _body(request)
        _require_sensor_reviews(request, path, body)
        link, entity = await asyncio.to_thread(hub.create, path, body, _root(request))
        return _json(entity, 201, {"Location": link})

    @router.patch("/{path:path}", summary="Update part of an entity (JSON merge or JSON Patch)")
    @requires(Action.WRITE_DATA)
    async def update(request: Request, path: str) -> Response:
        body = await _body(request)
        if request.headers.get("content-type", "").startswith("application/json-patch+json"):
            return _json(await asyncio.to_thread(hub.patch_json, path, body, _root(request)))
        return _json(await asyncio.to_thread(hub.update, path, body, _root(request)))

    @router.put("/{path:path}", summary="Replace an entity")
    @requires(Action.WRITE_DATA)
    async def replace(request: Request, path: str) -> Response:
        body = await _body(request)
        return _json(await asyncio.to_thread(hub.replace, path, body, _root(request)))

    @router.delete("/{path:path}", summary="Delete an entity (and what depends on it)")
    @requires(Action.WRITE_DATA)
    def delete(path: str) -> Response:
        hub.delete(path)
        return Response(status_code=200)

    return router


def _ids(text: str | None, what: str) -> set[int] | None:
    if not text:
        return None
    try:
        return {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise InvalidInputError(
            f"{what} must be a comma-separated list of integer ids, got {text!r}"
        ) from None


@dataclass(eq=False)
class _LiveClient:
    """One connected live client: its event loop, its queue and what it asked for."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[tuple[str, dict[str, Any]]]
    datastreams: set[int] | None
    alerts: bool
    observations: bool

    def wants(self, kind: str, document: dict[str, Any]) -> bool:
        """Whether this event passes the client's filter (checked before it is queued)."""
        if (kind == "alert" and not self.alerts) or (kind == "observation" and not self.observations):
            return False
        stream_id = document.get("Datastream@iot.id", document.get("datastream_id"))
        return self.datastreams is None or stream_id in self.datastreams


class LiveFeed:
    """Fans the hub's committed observations and alerts out to connected live clients."""

    def __init__(self, hub: SensorHub) -> None:
        self.hub = hub
        self.clients: set[_LiveClient] = set()
        self.dropped = 0

    def _on_event(self, kind: str, document: dict[str, Any]) -> None:
        for client in list(self.clients):
            if client.wants(kind, document):
                with contextlib.suppress(RuntimeError):  # that client's loop has closed
                    client.loop.call_soon_threadsafe(self._put, client.queue, kind, document)

    def _put(
        self, queue: asyncio.Queue[tuple[str, dict[str, Any]]], kind: str, document: dict[str, Any]
    ) -> None:
        if queue.full():
            queue.get_nowait()
            self.dropped += 1
        queue.put_nowait((kind, document))

    async def stream(
        self, datastreams: set[int] | None, alerts: bool, observations: bool
    ) -> AsyncIterator[bytes]:
        """Server-Sent Events: ``event: observation`` / ``event: alert`` with JSON data."""
        client = _LiveClient(
            asyncio.get_running_loop(), asyncio.Queue(LIVE_QUEUE_SIZE), datastreams, alerts, observations
        )
        if not self.clients:  # listen only while someone watches: the hub then skips building events
            self.hub.add_listener(self._on_event)
        self.clients.add(client)
        try:
            yield b": connected\n\n"
            while True:
                try:
                    kind, document = await asyncio.wait_for(client.queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                yield b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(document) + b"\n\n"
        finally:
            self.clients.discard(client)
            if not self.clients:
                self.hub.remove_listener(self._on_event)


def build_hub_router(hub: SensorHub, feed: LiveFeed, base_path: str) -> APIRouter:
    """Tweeling's own sensor resources: aggregates, alerts, alert rules, live stream."""
    router = APIRouter(prefix=f"{base_path}/sensors", tags=["sensors"])

    @router.get("/aggregates", summary="Hourly or daily mean/min/max/count of a Datastream")
    @requires(Action.READ)
    def aggregates(
        datastream: Annotated[int, Query(description="Datastream @iot.id")],
        period: Annotated[str, Query(description="PT1H (hourly) or P1D (daily)")] = "PT1H",
        start: Annotated[str | None, Query(description="ISO 8601 instant, inclusive")] = None,
        end: Annotated[str | None, Query(description="ISO 8601 instant, exclusive")] = None,
    ) -> Response:
        return _json(hub.aggregates(datastream, period, start, end))

    @router.get("/alerts", summary="Alerts raised by the alert rules, newest first")
    @requires(Action.READ)
    def alerts(
        datastream: Annotated[int | None, Query(description="only this Datastream")] = None,
        since: Annotated[str | None, Query(description="ISO 8601 instant")] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> Response:
        begin = parse_instant(since, "since") if since else None
        return _json({"alerts": hub.list_alerts(datastream_id=datastream, since=begin, limit=limit)})

    @router.get("/alert-rules", summary="Alert rules")
    @requires(Action.READ)
    def rules() -> Response:
        return _json({"rules": hub.list_rules()})

    @router.post("/alert-rules", status_code=201, summary="Add an alert rule (threshold or rate of change)")
    @requires(Action.WRITE_DATA)
    async def add_rule(request: Request) -> Response:
        rule = await asyncio.to_thread(hub.create_rule, await _body(request))
        return _json(rule, 201)

    @router.delete("/alert-rules/{rule_id}", summary="Remove an alert rule")
    @requires(Action.WRITE_DATA)
    def delete_rule(rule_id: int) -> Response:
        hub.delete_rule(rule_id)
        return Response(status_code=204)

    @router.get("/live", summary="Server-Sent Events of new observations and alerts")
    @requires(Action.READ)
    async def live(
        datastream: Annotated[
            str | None, Query(description="comma-separated Datastream ids; all if absent")
        ] = None,
        alerts: bool = True,
        observations: bool = True,
    ) -> StreamingResponse:
        wanted = _ids(datastream, "datastream")
        return StreamingResponse(
            feed.stream(wanted, alerts, observations),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
