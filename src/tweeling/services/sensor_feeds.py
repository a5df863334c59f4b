"""Feeding the sensor hub: the Dordrecht demo network, the live simulator and the live-source connectors.

``load_demo_sensors`` writes the demo network (with a short simulated history) straight into a
hub before the server starts. The simulator and the connectors push to a *running* server over
its SensorThings API (``SensorThingsClient``), because that server is the store's one writer and
its live push should see what arrives. Every simulated Datastream says so in its properties.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tweeling.core.errors import InvalidInputError, TweelingError
from tweeling.core.times import format_instant
from tweeling.sensors.connectors import luchtmeetnet, samenmeten
from tweeling.sensors.demo import demo_alert_rules, read_demo_things, read_demo_weather, resolve_alert_rules
from tweeling.sensors.simulate import (
    Simulator,
    prepare_weather,
    simulate_period,
    stream_from_datastream,
    streams_from_things,
    to_data_array,
)
from tweeling.services.sensors import SensorHub

HISTORY_DAYS = 2.0
"""Days of simulated history the demo starts with, so charts and hourly means are not empty."""
INGEST_CHUNK = 20_000
"""Observations per request when pushing a backlog."""


class ServerUnreachableError(TweelingError):
    """The Tweeling server the command talks to did not answer or refused the request."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 502, "server-unreachable", "Server unreachable")


@dataclass
class DemoSensors:
    """What ``load_demo_sensors`` did."""

    loaded: bool
    things: int
    datastreams: int
    rules: int
    observations: int


def keyed(datastreams: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """``tweeling_key`` → ``@iot.id`` of the stored Datastreams that carry one."""
    keys: dict[str, int] = {}
    for datastream in datastreams:
        key = (datastream.get("properties") or {}).get("tweeling_key")
        if key:
            keys[str(key)] = int(datastream["@iot.id"])
    return keys


def _datastream_keys(hub: SensorHub) -> dict[str, int]:
    return keyed(hub.read("Datastreams", {"$select": "@iot.id,properties", "$top": "10000"})["value"])


def load_demo_sensors(
    hub: SensorHub, *, history_days: float = HISTORY_DAYS, now: datetime | None = None, seed: int = 0
) -> DemoSensors:
    """Create the demo sensor network, its alert rules and ``history_days`` of simulated observations.

    Idempotent: when the network is already there, nothing is changed.
    """
    things = read_demo_things()
    wanted = {str(d["properties"]["tweeling_key"]) for t in things for d in t.get("Datastreams", [])}
    existing = _datastream_keys(hub)
    if wanted & set(existing):
        return DemoSensors(False, len(things), len(wanted & set(existing)), 0, 0)
    for thing in things:
        hub.create("Things", thing)
    ids = _datastream_keys(hub)
    rules = resolve_alert_rules(demo_alert_rules(things), ids)
    for rule in rules:
        hub.create_rule(rule)
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    history = simulate_period(
        streams_from_things(things), end - timedelta(days=history_days), end, read_demo_weather(), seed
    )
    items = [
        (ids[key], {"phenomenonTime": format_instant(moment), "result": value})
        for key, values in history.items()
        for moment, value in values
    ]
    for start in range(0, len(items), INGEST_CHUNK):
        hub.create_observations(items[start : start + INGEST_CHUNK])
    return DemoSensors(True, len(things), len(ids), len(rules), len(items))


class SensorThingsClient:
    """A small JSON client of a running Tweeling server's SensorThings API (standard library only)."""

    def __init__(self, server: str, timeout_s: float = 30.0, *, token: str | None = None) -> None:
        self.root = server.rstrip("/") + "/v1.1"
        self.timeout_s = timeout_s
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        """Send one request; the decoded JSON answer. ServerUnreachableError with the server's reason."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.root}/{path}",
            data=data,
            method=method,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                **self.auth,
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("detail", detail)
            raise ServerUnreachableError(
                f"{method} {path}: the server answered {exc.code}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachableError(
                f"cannot reach the Tweeling server at {self.root} ({reason}); is `tweeling serve` running?"
            ) from None
        return json.loads(text) if text else None

    def datastreams(self) -> list[dict[str, Any]]:
        """Every Datastream with its properties."""
        found: list[dict[str, Any]] = []
        page = self.request("GET", "Datastreams?$select=@iot.id,name,properties&$top=10000")
        found += page["value"]
        return found

    def keyed_datastreams(self) -> dict[str, int]:
        """``tweeling_key`` → ``@iot.id`` of the Datastreams that carry one."""
        return keyed(self.datastreams())

    def post_observations(self, body: list[dict[str, Any]]) -> tuple[int, int]:
        """POST a dataArray body with a fresh idempotency key; (stored, refused) counts."""
        links = self.request("POST", "CreateObservations", body, {"Idempotency-Key": uuid.uuid4().hex})
        refused = sum(1 for link in links if link == "error")
        return len(links) - refused, refused


def simulate(
    client: SensorThingsClient,
    *,
    rate: float,
    seed: int = 0,
    max_batches: int | None = None,
    report: Callable[[str], None] = print,
) -> Iterator[tuple[int, int]]:
    """Feed the simulated Datastreams of a running server in real time at ``rate`` observations/s.

    Yields (stored, refused) per batch. Only Datastreams whose properties say ``simulated`` are fed.
    """
    datastreams = client.datastreams()
    streams = [s for d in datastreams if (s := stream_from_datastream(d)) is not None]
    ids = keyed(datastreams)
    if not streams:
        raise InvalidInputError("the server has no simulated Datastreams; start it with `tweeling demo`")
    simulator = Simulator(streams, prepare_weather(read_demo_weather()), rate=rate, seed=seed)
    note = simulator.weather_note(datetime.now(UTC))
    if note:
        report(note)
    for batch in simulator.run(max_batches=max_batches):
        if batch.count:
            yield client.post_observations(to_data_array(batch.observations, ids))


def _push_backlog(client: SensorThingsClient, items: Sequence[tuple[int, dict[str, Any]]]) -> int:
    stored = 0
    by_stream: dict[int, list[list[Any]]] = {}
    for datastream_id, observation in items:
        by_stream.setdefault(datastream_id, []).append([observation["phenomenonTime"], observation["result"]])
    body = [
        {"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": rows}
        for ds, rows in by_stream.items()
    ]
    for start in range(0, len(body), 50):
        stored += client.post_observations(body[start : start + 50])[0]
    return stored


def sync_luchtmeetnet(
    client: SensorThingsClient, station: str, hours: float, source_url: str = luchtmeetnet.BASE_URL
) -> tuple[int, int]:
    """Copy a Luchtmeetnet station (created on first use) and its last ``hours`` of measurements.

    Returns (Datastreams, observations stored). Observations already stored are sent again only
    if they fall in the window; use a window that starts after the last sync to avoid repeats.
    """
    keys = client.keyed_datastreams()
    payload = luchtmeetnet.station_thing(station, luchtmeetnet.fetch_station(station, base_url=source_url))
    wanted = [str(d["properties"]["tweeling_key"]) for d in payload["Datastreams"]]
    if not any(key in keys for key in wanted):
        client.request("POST", "Things", payload)
        keys = client.keyed_datastreams()
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    items: list[tuple[int, dict[str, Any]]] = []
    for formula in luchtmeetnet.FORMULAS:
        rows = luchtmeetnet.fetch_measurements(station, formula, start, end, base_url=source_url)
        for key, observations in luchtmeetnet.measurements_to_observations(rows).items():
            if key in keys:
                items += [(keys[key], o) for o in observations]
    return len(wanted), _push_backlog(client, items)


def sync_samenmeten(
    client: SensorThingsClient, hours: float, source_url: str = samenmeten.BASE_URL
) -> tuple[int, int]:
    """Copy the Samen Meten sensors around Dordrecht (created on first use) and their last ``hours``."""
    keys = client.keyed_datastreams()
    since = datetime.now(UTC) - timedelta(hours=hours)
    created = 0
    things = samenmeten.fetch_things(base_url=source_url)
    for thing in things:
        payload = samenmeten.thing_payload(thing)
        streams = payload.get("Datastreams", [])
        if not any(str(d["properties"]["tweeling_key"]) in keys for d in streams):
            client.request("POST", "Things", payload)
            created += len(streams)
    keys = client.keyed_datastreams()
    items: list[tuple[int, dict[str, Any]]] = []
    for thing in things:
        for datastream in thing.get("Datastreams", []):
            key = samenmeten.datastream_key(datastream["@iot.id"])
            if key in keys:
                rows = samenmeten.fetch_observations(datastream["@iot.id"], since, base_url=source_url)
                items += [(keys[key], o) for o in samenmeten.observations_payload(rows)]
    return created, _push_backlog(client, items)
