"""The sensor hub as a real server process on both stores: FROST's Python client round trip, live push
over Server-Sent Events, and a SIGKILL in the middle of sustained ingestion."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import frost_sta_client as fsc
import geojson
import httpx
import orjson
import pytest
import requests

from tests.api.conftest import running_server
from tests.helpers import fresh_postgres_schema, postgres_url_or_skip, server_bearer
from tweeling.store import open_store

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


WRITER = server_bearer("data_owner")
"""Headers of a data owner (the role that writes sensor data) on the test servers."""


class _Bearer(requests.auth.AuthBase):
    def __init__(self, header: str) -> None:
        self.header = header

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.header
        return request


class BearerAuthHandler(fsc.AuthHandler):
    """FROST's client with an OAuth2 bearer token instead of its HTTP Basic default."""

    def __init__(self, *roles: str) -> None:
        super().__init__()
        self.header = server_bearer(*roles)["Authorization"]

    def add_auth_header(self) -> requests.auth.AuthBase:
        return _Bearer(self.header)


@pytest.fixture(params=["duckdb", "postgis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store of each kind."""
    if request.param == "duckdb":
        url = f"duckdb://{tmp_path / 'hub.duckdb'}"
        open_store(url).close()
        yield url
        return
    with fresh_postgres_schema(postgres_url_or_skip()) as url:
        yield url


def test_frost_client_round_trip(store_url: str) -> None:
    """FROST's client creates a Thing with a Location and Datastreams, posts observations, queries with
    filters and expands, updates and deletes — and gets back what it wrote."""
    with running_server(store_url) as (root, _):
        service = fsc.SensorThingsService(f"{root}/v1.1", auth_handler=BearerAuthHandler("data_owner"))
        location = fsc.Location(
            name="Spuiboulevard",
            description="Lamp post near the bus station",
            encoding_type="application/geo+json",
            location=geojson.Point((4.6730, 51.8098)),
        )
        thing = fsc.Thing(
            name="Noise meter Spuiboulevard",
            description="Class 1 sound level meter",
            properties={"owner": "Gemeente Dordrecht"},
        )
        thing.locations = [location]
        sensor = fsc.Sensor(
            name="Class 1 meter",
            description="IEC 61672 class 1",
            encoding_type="text/html",
            metadata="https://www.iec.ch/",
        )
        noise = fsc.ObservedProperty(
            name="LAeq",
            definition="https://en.wikipedia.org/wiki/Equivalent_continuous_sound_level",
            description="A-weighted equivalent sound level",
        )
        unit = fsc.UnitOfMeasurement(
            name="decibel A-weighted", symbol="dB(A)", definition="https://unitsofmeasure.org/ucum#para-46"
        )
        datastream = fsc.Datastream(
            name="LAeq 1 min Spuiboulevard",
            description="One-minute LAeq",
            observation_type=MEASUREMENT,
            unit_of_measurement=unit,
            sensor=sensor,
            observed_property=noise,
        )
        thing.datastreams = [datastream]
        service.create(thing)
        assert isinstance(thing.id, int)

        stored_thing = service.things().find(thing.id)
        assert stored_thing.name == "Noise meter Spuiboulevard"
        assert stored_thing.properties == {"owner": "Gemeente Dordrecht"}
        streams = service.things().find(thing.id).get_datastreams().query().list()
        datastream_ids = [d.id for d in streams]
        assert len(datastream_ids) == 1
        stream = service.datastreams().find(datastream_ids[0])

        values = [61.2, 64.8, 70.3, 58.9]
        for minute, value in enumerate(values):
            observation = fsc.Observation(
                result=value, phenomenon_time=f"2024-06-01T08:0{minute}:00Z", datastream=stream
            )
            service.create(observation)
            assert isinstance(observation.id, int)

        loud = (
            service.observations()
            .query()
            .filter(f"result gt 60 and Datastream/@iot.id eq {stream.id}")
            .orderby("phenomenonTime", "ASC")
            .list()
        )
        assert [o.result for o in loud] == [61.2, 64.8, 70.3]
        expanded = (
            service.things()
            .query()
            .filter("name eq 'Noise meter Spuiboulevard'")
            .expand("Locations,Datastreams($expand=Observations($orderby=result desc;$top=1))")
            .list()
        )
        entity = next(iter(expanded))
        assert entity.locations.entities[0].location["coordinates"] == [4.673, 51.8098]
        top = entity.datastreams.entities[0].observations.entities
        assert [o.result for o in top] == [70.3]

        stored_thing.description = "Class 1 sound level meter, recalibrated"
        service.update(stored_thing)
        assert service.things().find(thing.id).description == "Class 1 sound level meter, recalibrated"
        service.things().patch(
            stored_thing, [{"op": "replace", "path": "/name", "value": "Noise meter Spuiboulevard 2"}]
        )
        assert service.things().find(thing.id).name == "Noise meter Spuiboulevard 2"

        service.delete(stored_thing)
        remaining = httpx.get(f"{root}/v1.1/Observations", params={"$count": "true"}).json()
        assert remaining["@iot.count"] == 0


def test_live_push_delivers_new_observations_of_one_datastream(store_url: str) -> None:
    with running_server(store_url) as (root, _):
        ids = create_network(root, streams=2)
        received: list[dict[str, Any]] = []
        ready = threading.Event()

        def listen() -> None:
            with httpx.stream(
                "GET", f"{root}/v1/sensors/live", params={"datastream": str(ids[1])}, timeout=10
            ) as response:
                event = None
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        ready.set()
                    elif line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "observation":
                        received.append(orjson.loads(line.removeprefix("data: ")))
                        if len(received) == 3:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert ready.wait(5)
        for i in range(3):
            for stream in ids:
                response = httpx.post(
                    f"{root}/v1.1/Datastreams({stream})/Observations",
                    json={"result": float(i), "phenomenonTime": f"2024-06-01T09:0{i}:00Z"},
                    headers=WRITER,
                )
                assert response.status_code == 201, response.text
        listener.join(10)
        assert [r["result"] for r in received] == [0.0, 1.0, 2.0]
        assert {r["Datastream@iot.id"] for r in received} == {ids[1]}


def create_network(root: str, streams: int) -> list[int]:
    """One Thing with ``streams`` NO2 Datastreams; their ids."""
    thing = {
        "name": "Air sensor Statenplein",
        "description": "Low-cost sensor",
        "Locations": [
            {
                "name": "Statenplein",
                "description": "square",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [4.6698, 51.8127]},
            }
        ],
        "Datastreams": [
            {
                "name": f"NO2 {i}",
                "description": "NO2",
                "observationType": MEASUREMENT,
                "unitOfMeasurement": {
                    "name": "microgram per cubic metre",
                    "symbol": "µg/m³",
                    "definition": "ucum:ug/m3",
                },
                "Sensor": {
                    "name": "EC sensor",
                    "description": "electrochemical",
                    "encodingType": "text/plain",
                    "metadata": "-",
                },
                "ObservedProperty": {
                    "name": "NO2",
                    "definition": "http://vocab.nerc.ac.uk/collection/P01/current/NO2/",
                    "description": "NO2",
                },
            }
            for i in range(streams)
        ],
    }
    created = httpx.post(f"{root}/v1.1/Things", json=thing, headers=WRITER)
    assert created.status_code == 201, created.text
    listing = httpx.get(f"{root}/v1.1/Datastreams", params={"$orderby": "@iot.id", "$select": "id"}).json()
    return [d["@iot.id"] for d in listing["value"]]


def test_sigkill_during_sustained_ingest_loses_nothing_acknowledged(store_url: str) -> None:
    """Batches with idempotency keys are posted until the server is killed with SIGKILL; after a
    restart every unacknowledged batch is sent again with its key. Every acknowledged observation
    must be stored, and none twice."""
    batch_size = 500
    acknowledged: dict[str, list[float]] = {}
    unacknowledged: list[tuple[str, list[list[Any]]]] = []
    with running_server(store_url) as (root, process):
        [datastream] = create_network(root, streams=1)
        stop = threading.Event()
        sent = 0

        def ingest() -> None:
            nonlocal sent
            while not stop.is_set():
                key = uuid.uuid4().hex
                rows = [
                    [f"2024-06-0{1 + sent % 7}T00:00:00Z", float(sent * batch_size + i)]
                    for i in range(batch_size)
                ]
                sent += 1
                body = [
                    {
                        "Datastream": {"@iot.id": datastream},
                        "components": ["phenomenonTime", "result"],
                        "dataArray": rows,
                    }
                ]
                try:
                    response = httpx.post(
                        f"{root}/v1.1/CreateObservations",
                        json=body,
                        headers={**WRITER, "Idempotency-Key": key},
                        timeout=10,
                    )
                except httpx.TransportError:
                    unacknowledged.append((key, rows))
                    return
                if response.status_code == 201:
                    acknowledged[key] = [r[1] for r in rows]
                else:
                    unacknowledged.append((key, rows))

        worker = threading.Thread(target=ingest)
        worker.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        stop.set()
        worker.join(15)
    assert len(acknowledged) >= 10, "ingestion did not get going before the kill"
    with running_server(store_url) as (root, _):
        for key, rows in unacknowledged:  # a client retries what it did not see acknowledged
            body = [
                {
                    "Datastream": {"@iot.id": datastream},
                    "components": ["phenomenonTime", "result"],
                    "dataArray": rows,
                }
            ]
            response = httpx.post(
                f"{root}/v1.1/CreateObservations",
                json=body,
                headers={**WRITER, "Idempotency-Key": key},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            acknowledged[key] = [r[1] for r in rows]
        expected = sorted(v for values in acknowledged.values() for v in values)
        stored: list[float] = []
        url: str | None = (
            f"{root}/v1.1/Datastreams({datastream})/Observations?$select=result&$orderby=result&$top=10000"
        )
        while url:
            page = httpx.get(url, timeout=30).json()
            stored += [o["result"] for o in page["value"]]
            url = page.get("@iot.nextLink")
    assert stored == expected  # every acknowledged observation once, nothing else
