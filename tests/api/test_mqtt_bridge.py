"""The SensorThings MQTT bridge against a real Mosquitto broker started by scripts/mosquitto-server.sh."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest

from tests.helpers import fresh_postgres_schema, postgres_url_or_skip
from tweeling.api.mqtt_bridge import (
    BrokerAddress,
    InvalidMessageError,
    MqttBridge,
    ObservationOutcome,
    ObservationSink,
    parse_create_message,
)
from tweeling.core.errors import StoreError
from tweeling.services.sensors import SensorHub
from tweeling.store import open_store

from .conftest import free_port

REPO = Path(__file__).resolve().parents[2]
BURST = 2_000
"""Observations published in one burst at QoS 1."""
WAIT_SECONDS = 30.0
"""Longest wait for the bridge to catch up (s)."""
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


class Broker:
    """A Mosquitto broker run by scripts/mosquitto-server.sh on its own port and folder."""

    script = REPO / "scripts" / "mosquitto-server.sh"

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._env = {**os.environ, "TWEELING_MQTT_PORT": str(self.port), "TWEELING_MQTT_DIR": str(folder)}

    def start(self) -> None:
        """Start it (installing Mosquitto if needed); under CI a broker that cannot start fails the test."""
        result = subprocess.run(
            [self.script, "start"], env=self._env, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0 or result.stdout.strip().splitlines()[-1:] != [self.url]:
            message = f"could not start Mosquitto with {self.script}: {result.stderr.strip()}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)

    def stop(self) -> None:
        subprocess.run([self.script, "stop"], env=self._env, capture_output=True, timeout=60, check=True)


@pytest.fixture(scope="module")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a broker of this module's own, stopped afterwards."""
    broker = Broker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker.url
    finally:
        broker.stop()


@dataclass
class Hub:
    """A real sensor hub on a fresh store, with one numeric Datastream (OM_Measurement, degC)."""

    sink: SensorHub
    datastream_id: int

    @property
    def topic(self) -> str:
        return f"v1.1/Datastreams({self.datastream_id})/Observations"

    def stored_results(self) -> list[Any]:
        """Results of every stored Observation of the Datastream, as the SensorThings API gives them."""
        page = self.sink.read(f"Datastreams({self.datastream_id})/Observations", {"$top": "10000"})
        assert "@iot.nextLink" not in page
        return [entity["result"] for entity in page["value"]]


def create_thermometer(sink: SensorHub) -> int:
    """Deep-insert a Thing with one temperature Datastream; its @iot.id."""
    _, thing = sink.create(
        "Things",
        {
            "name": "Thermometer at Grote Kerk",
            "description": "Air temperature sensor on the tower of the Grote Kerk, Dordrecht",
            "Datastreams": [
                {
                    "name": "Air temperature",
                    "description": "Air temperature, 2 m above the roof",
                    "observationType": MEASUREMENT,
                    "unitOfMeasurement": {
                        "name": "degree Celsius",
                        "symbol": "degC",
                        "definition": "http://qudt.org/vocab/unit/DEG_C",
                    },
                    "Sensor": {
                        "name": "PT100",
                        "description": "Platinum resistance thermometer",
                        "encodingType": "application/pdf",
                        "metadata": "https://example.org/pt100.pdf",
                    },
                    "ObservedProperty": {
                        "name": "Air temperature",
                        "definition": "http://vocab.nerc.ac.uk/collection/P07/current/CFSN0023/",
                        "description": "Temperature of the air",
                    },
                }
            ],
        },
    )
    page = sink.read(f"Things({thing['@iot.id']})/Datastreams", {})
    return int(page["value"][0]["@iot.id"])


@pytest.fixture(params=["duckdb", pytest.param("postgis", marks=pytest.mark.postgis)])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """The sensor hub on an empty DuckDB store and on an empty PostGIS schema."""
    with ExitStack() as stack:
        if request.param == "duckdb":
            url = f"duckdb://{tmp_path / 'hub.duckdb'}"
        else:
            url = stack.enter_context(fresh_postgres_schema(postgres_url_or_skip()))
        store = stack.enter_context(open_store(url))
        sink = SensorHub(store)
        yield Hub(sink, create_thermometer(sink))


class FailingFirst:
    """The hub behind a database that refuses the first ``failures`` writes (as while it restarts)."""

    def __init__(self, hub: SensorHub, failures: int) -> None:
        self.hub = hub
        self.failures = failures

    def create_observations(
        self, items: Sequence[tuple[int, dict[str, Any]]], *, idempotency_key: str | None = None
    ) -> Sequence[ObservationOutcome]:
        if self.failures > 0:
            self.failures -= 1
            raise StoreError("the database is restarting")
        return self.hub.create_observations(items, idempotency_key=idempotency_key)

    def add_listener(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        self.hub.add_listener(listener)

    def remove_listener(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        self.hub.remove_listener(listener)


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> bool:
    """Poll ``condition`` every 10 ms for up to ``timeout`` seconds; its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def connect_client(url: str, name: str) -> mqtt.Client:
    """A started MQTT v5 client (separate from the bridge) with up to 100 QoS 1 messages in flight."""
    address = BrokerAddress.parse(url)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(100)
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    client.connect(address.host, address.port)
    client.loop_start()
    assert connected.wait(10), f"{name} could not connect to {url}"
    return client


class Collector:
    """A subscriber that keeps the JSON of every message on its topic filters.

    ``on`` gives only the bridge's notifications (those with an ``@iot.id``): a Datastream's topic
    carries the create requests of sensors as well, as the MQTT extension prescribes.
    """

    def __init__(self, url: str, *topics: str) -> None:
        self.messages: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = connect_client(url, "collector")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.subscribe([(topic, 1) for topic in topics])
        assert subscribed.wait(10)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, orjson.loads(message.payload)))

    def on(self, topic: str) -> list[Any]:
        with self._lock:
            return [p for t, p in self.messages if t == topic and isinstance(p, dict) and "@iot.id" in p]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_all(client: mqtt.Client, messages: Sequence[tuple[str, bytes]], qos: int = 1) -> None:
    """Publish and wait until the broker has acknowledged every message."""
    infos = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(WAIT_SECONDS)
        assert info.is_published()


def observation(value: Any, second: int = 0) -> bytes:
    """An Observation's JSON as a sensor publishes it: a result at 2024-05-01 12:00 UTC + ``second``."""
    time_ = datetime(2024, 5, 1, 12, tzinfo=UTC) + timedelta(seconds=second)
    return orjson.dumps({"phenomenonTime": time_.isoformat().replace("+00:00", "Z"), "result": value})


@pytest.fixture
def start_bridge(broker_url: str) -> Iterator[Callable[..., MqttBridge]]:
    """Starts bridges on the module's broker (ready to receive) and stops them after the test."""
    bridges: list[MqttBridge] = []

    def start(sink: ObservationSink, **options: Any) -> MqttBridge:
        bridge = MqttBridge(sink, broker_url, **options)
        bridge.start()
        bridges.append(bridge)
        assert bridge.wait_until_ready(10), "the bridge did not connect and subscribe"
        return bridge

    yield start
    for bridge in bridges:
        bridge.stop()


BURST_PUBLISHER = """
import sys
from datetime import UTC, datetime, timedelta

import orjson
import paho.mqtt.client as mqtt

host, port, topic, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
start = datetime(2024, 5, 1, tzinfo=UTC)
messages = [
    orjson.dumps({"phenomenonTime": (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
                  "result": float(i)})
    for i in range(count)
]
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="burst-sensor", protocol=mqtt.MQTTv5)
client.max_inflight_messages_set(100)
client.connect(host, port)
client.loop_start()
print("ready", flush=True)
sys.stdin.readline()
infos = [client.publish(topic, message, qos=1) for message in messages]
for info in infos:
    info.wait_for_publish(60)
print(sum(info.is_published() for info in infos), flush=True)
client.disconnect()
client.loop_stop()
"""
"""A sensor gateway in a process of its own: publishes ``count`` observations at QoS 1 on a line on stdin."""


def test_create_messages_are_parsed_from_topic_and_body() -> None:
    body = orjson.dumps({"result": 12.5, "phenomenonTime": "2024-05-01T12:00:00Z"})
    assert parse_create_message("v1.1/Datastreams(7)/Observations", body) == (
        7,
        {"result": 12.5, "phenomenonTime": "2024-05-01T12:00:00Z"},
    )
    assert parse_create_message("v1.0/Datastreams(7)/Observations", body) is not None
    in_body = orjson.dumps({"result": 1, "Datastream": {"@iot.id": 3}})
    assert parse_create_message("v1.1/Observations", in_body) == (3, {"result": 1})
    assert parse_create_message("v1.1/Datastreams(3)/Observations", in_body) == (3, {"result": 1})
    assert parse_create_message("v1.1/FeaturesOfInterest(9)/Observations", in_body) == (
        3,
        {"result": 1, "FeatureOfInterest": {"@iot.id": 9}},
    )
    notification = orjson.dumps({"@iot.id": 5, "result": 1.0, "Datastream@iot.id": 3})
    assert parse_create_message("v1.1/Datastreams(3)/Observations", notification) is None

    refused = {
        ("v1.1/Things(1)/Observations", body): "no Observations collection",
        ("v1.1/Datastreams(x)/Observations", body): "no Observations collection",
        (None, body): "no Observations collection",
        ("v1.1/Datastreams(1)/Observations", b"{'result': 1}"): "not valid JSON",
        ("v1.1/Datastreams(1)/Observations", b"[1, 2]"): "not list",
        ("v1.1/Observations", body): "needs its Datastream",
        ("v1.1/Observations", orjson.dumps({"result": 1, "Datastream": 3})): "must be a reference",
        ("v1.1/Datastreams(2)/Observations", in_body): "names Datastream 3",
    }
    for (topic, payload), reason in refused.items():
        with pytest.raises(InvalidMessageError, match=reason):
            parse_create_message(topic, payload)


def test_broker_urls() -> None:
    assert BrokerAddress.parse("mqtt://127.0.0.1:18830") == BrokerAddress(
        "127.0.0.1", 18830, False, None, None
    )
    assert BrokerAddress.parse("mqtts://hub:s%40cret@broker.example") == BrokerAddress(
        "broker.example", 8883, True, "hub", "s@cret"
    )
    with pytest.raises(ValueError, match="mqtt://host:port"):
        BrokerAddress.parse("http://127.0.0.1:1883")


def test_burst_is_committed_exactly_once_and_subscribers_are_notified(
    hub: Hub, start_bridge: Callable[..., MqttBridge], broker_url: str
) -> None:
    bridge = start_bridge(hub.sink)
    collector = Collector(broker_url, hub.topic, "v1.1/Observations")
    address = BrokerAddress.parse(broker_url)
    publisher = subprocess.Popen(
        [sys.executable, "-c", BURST_PUBLISHER, address.host, str(address.port), hub.topic, str(BURST)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert publisher.stdin is not None and publisher.stdout is not None
    try:
        assert publisher.stdout.readline().strip() == "ready"
        began = time.perf_counter()
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        assert wait_until(lambda: bridge.stats()["committed"] >= BURST), bridge.stats()
        rate = BURST / (time.perf_counter() - began)
        assert publisher.stdout.readline().strip() == str(BURST), "the broker did not take every message"
        assert wait_until(lambda: len(collector.on("v1.1/Observations")) >= BURST)
        time.sleep(0.5)  # room for duplicates or re-ingested notifications to show up
    finally:
        publisher.kill()
        publisher.wait()
        collector.close()
    print(f"MQTT ingest into {hub.sink.store.__class__.__name__}: {rate:,.0f} observations/s")

    assert sorted(hub.stored_results()) == [float(i) for i in range(BURST)]
    stats = bridge.stats()
    assert (stats["received"], stats["committed"], stats["rejected"], stats["ignored"]) == (
        BURST,
        BURST,
        0,
        0,
    )
    assert stats["pending"] == 0
    assert stats["batches"] <= BURST / 10, "messages should be written in batches, not one by one"
    assert stats["notified"] == BURST
    notified = collector.on(hub.topic)
    assert len(notified) == BURST
    assert collector.on("v1.1/Observations") == notified
    assert len({n["@iot.id"] for n in notified}) == BURST
    assert all(n["@iot.selfLink"].endswith(f"/Observations({n['@iot.id']})") for n in notified)
    assert all(n["Datastream@iot.id"] == hub.datastream_id for n in notified)
    assert sorted(n["result"] for n in notified) == [float(i) for i in range(BURST)]
    # A floor that a bridge writing message by message (about 100/s) cannot reach, yet low enough for
    # a machine busy with other work; the rate itself is printed (pytest -s).
    assert rate > 500


def test_every_create_topic_of_the_extension_is_served(
    hub: Hub, start_bridge: Callable[..., MqttBridge], broker_url: str
) -> None:
    bridge = start_bridge(hub.sink)
    _, feature = hub.sink.create(
        "FeaturesOfInterest",
        {
            "name": "Grote Kerk",
            "description": "Tower of the Grote Kerk, Dordrecht",
            "encodingType": "application/geo+json",
            "feature": {"type": "Point", "coordinates": [4.6611, 51.8103]},
        },
    )

    def in_body(result: float) -> bytes:
        """An Observation naming its Datastream in the body, for topics without a Datastream."""
        reference = {"@iot.id": hub.datastream_id}
        return orjson.dumps(
            {"phenomenonTime": "2024-05-01T12:00:00Z", "result": result, "Datastream": reference}
        )

    publish_one_by_one = [
        (f"v1.0/Datastreams({hub.datastream_id})/Observations", observation(2.0, 2)),
        ("v1.1/Observations", in_body(1.0)),
        (f"v1.1/FeaturesOfInterest({feature['@iot.id']})/Observations", in_body(3.0)),
    ]
    for topic, payload in publish_one_by_one:
        publish_one(broker_url, topic, payload)
    assert wait_until(lambda: bridge.stats()["committed"] == 3), bridge.stats()
    assert sorted(hub.stored_results()) == [1.0, 2.0, 3.0]
    at_feature = hub.sink.read(f"FeaturesOfInterest({feature['@iot.id']})/Observations", {})
    assert [entity["result"] for entity in at_feature["value"]] == [3.0]


def test_invalid_messages_are_rejected_acknowledged_and_reported(
    hub: Hub, start_bridge: Callable[..., MqttBridge], broker_url: str
) -> None:
    client_id = f"tweeling-test-{uuid.uuid4().hex[:8]}"
    bridge = start_bridge(hub.sink, client_id=client_id)
    errors = Collector(broker_url, "v1.1/errors")
    sensor = connect_client(broker_url, "sensor")
    unknown_datastream = "v1.1/Datastreams(999999)/Observations"
    no_collection = "v1.1/Things(1)/Observations"
    try:
        publish_all(
            sensor,
            [
                (hub.topic, b'{"phenomenonTime": "2024-05-01T12:00:00Z", "result": '),
                (hub.topic, observation("warm")),
                (unknown_datastream, observation(21.5)),
                (no_collection, observation(21.5)),
                (hub.topic, observation(19.0)),
            ],
        )
        assert wait_until(lambda: bridge.stats()["rejected"] + bridge.stats()["committed"] == 5)
        assert wait_until(lambda: len(errors.messages) == 4)
    finally:
        sensor.disconnect()
        sensor.loop_stop()
        errors.close()

    assert hub.stored_results() == [19.0]
    stats = bridge.stats()
    assert (stats["received"], stats["committed"], stats["rejected"]) == (5, 1, 4)
    notices = [notice for _, notice in errors.messages]
    assert [notice["topic"] for notice in notices] == [
        hub.topic,
        hub.topic,
        unknown_datastream,
        no_collection,
    ]
    assert "not valid JSON" in notices[0]["message"]
    assert notices[0]["payload"].startswith('{"phenomenonTime"')
    assert "result" in notices[1]["message"]
    assert "999999" in notices[2]["message"]
    assert "no Observations collection" in notices[3]["message"]

    # Everything was acknowledged: a bridge resuming the same session gets nothing redelivered.
    bridge.stop()
    resumed = start_bridge(hub.sink, client_id=client_id)
    time.sleep(0.5)
    assert resumed.stats()["received"] == 0
    assert hub.stored_results() == [19.0]


def test_notifications_are_not_taken_for_create_requests(
    hub: Hub, start_bridge: Callable[..., MqttBridge], broker_url: str
) -> None:
    bridge = start_bridge(hub.sink)
    listener = Collector(broker_url, hub.topic, "v1.1/errors")
    sensor = connect_client(broker_url, "sensor")
    try:
        publish_all(sensor, [(hub.topic, observation(18.0))])
        assert wait_until(lambda: len(listener.on(hub.topic)) == 1)
        # What another bridge on the same broker would publish for an Observation it stored.
        (stored,) = listener.on(hub.topic)
        publish_all(sensor, [(hub.topic, orjson.dumps(stored))])
        assert wait_until(lambda: bridge.stats()["ignored"] == 1)
        time.sleep(0.3)
    finally:
        sensor.disconnect()
        sensor.loop_stop()
        listener.close()

    stats = bridge.stats()
    # The bridge never received its own notifications (no local): 2 messages in, not 2 + 2 * 2.
    assert (stats["received"], stats["committed"], stats["ignored"], stats["rejected"]) == (2, 1, 1, 0)
    assert hub.stored_results() == [18.0]
    assert [topic for topic, _ in listener.messages if topic == "v1.1/errors"] == []


def test_observations_created_over_http_and_alerts_are_published(
    hub: Hub, start_bridge: Callable[..., MqttBridge], broker_url: str
) -> None:
    start_bridge(hub.sink)
    listener = Collector(broker_url, hub.topic, "v1.1/alerts")
    sensor = connect_client(broker_url, "sensor")
    hub.sink.create_rule(
        {"name": "Heat", "datastream_id": hub.datastream_id, "operator": ">", "threshold": 30}
    )
    try:
        link, created = hub.sink.create(
            f"Datastreams({hub.datastream_id})/Observations",
            {"phenomenonTime": "2024-05-01T11:00:00Z", "result": 24.0},
        )
        assert wait_until(lambda: len(listener.on(hub.topic)) == 1)
        publish_all(sensor, [(hub.topic, observation(35.5, 60))])
        assert wait_until(lambda: len(listener.on(hub.topic)) == 2)
        assert wait_until(lambda: any(topic == "v1.1/alerts" for topic, _ in listener.messages))
    finally:
        sensor.disconnect()
        sensor.loop_stop()
        listener.close()

    over_http, over_mqtt = listener.on(hub.topic)
    assert (over_http["@iot.id"], over_http["@iot.selfLink"], over_http["result"]) == (
        created["@iot.id"],
        link,
        24.0,
    )
    assert over_mqtt["result"] == 35.5
    (alert,) = [payload for topic, payload in listener.messages if topic == "v1.1/alerts"]
    assert alert["datastream_id"] == hub.datastream_id


def test_nothing_is_acknowledged_before_it_is_committed(
    hub: Hub, start_bridge: Callable[..., MqttBridge], broker_url: str
) -> None:
    flaky = FailingFirst(hub.sink, failures=2)
    bridge = start_bridge(flaky)
    sensor = connect_client(broker_url, "sensor")
    try:
        publish_all(sensor, [(hub.topic, observation(float(i), i)) for i in range(50)])
        assert wait_until(lambda: bridge.stats()["committed"] == 50)
    finally:
        sensor.disconnect()
        sensor.loop_stop()
    stats = bridge.stats()
    assert (stats["commit_failures"], stats["rejected"]) == (2, 0)
    assert sorted(hub.stored_results()) == [float(i) for i in range(50)]


def test_a_persistent_bridge_gets_what_was_published_while_it_was_away(
    hub: Hub, start_bridge: Callable[..., MqttBridge], broker_url: str
) -> None:
    client_id = f"tweeling-test-{uuid.uuid4().hex[:8]}"
    start_bridge(hub.sink, client_id=client_id).stop()
    sensor = connect_client(broker_url, "sensor")
    try:
        publish_all(sensor, [(hub.topic, observation(float(i), i)) for i in range(100)])
    finally:
        sensor.disconnect()
        sensor.loop_stop()
    assert hub.stored_results() == []
    bridge = start_bridge(hub.sink, client_id=client_id)
    assert wait_until(lambda: bridge.stats()["committed"] == 100)
    assert sorted(hub.stored_results()) == [float(i) for i in range(100)]


def test_stop_commits_what_was_received(
    hub: Hub, start_bridge: Callable[..., MqttBridge], broker_url: str
) -> None:
    bridge = start_bridge(hub.sink, batch_size=10_000, batch_seconds=60)
    sensor = connect_client(broker_url, "sensor")
    try:
        publish_all(sensor, [(hub.topic, observation(float(i), i)) for i in range(500)])
        assert wait_until(lambda: bridge.stats()["received"] == 500)
    finally:
        sensor.disconnect()
        sensor.loop_stop()
    assert bridge.stats()["pending"] == 500
    bridge.stop()
    assert bridge.stats()["committed"] == 500
    assert len(hub.stored_results()) == 500


@pytest.mark.parametrize("hub", ["duckdb"], indirect=True)
def test_bridge_waits_for_the_broker_and_reconnects_after_it_restarts(hub: Hub, tmp_path: Path) -> None:
    broker = Broker(tmp_path / "mosquitto")
    bridge = MqttBridge(hub.sink, broker.url)
    bridge.start()
    try:
        assert not bridge.wait_until_ready(0.5)
        assert bridge.stats()["connected"] == 0
        broker.start()
        assert bridge.wait_until_ready(WAIT_SECONDS), "the bridge did not connect once the broker was up"
        publish_one(broker.url, hub.topic, observation(1.0, 1))
        assert wait_until(lambda: bridge.stats()["committed"] == 1)

        broker.stop()
        assert wait_until(lambda: bridge.stats()["connected"] == 0)
        broker.start()
        assert bridge.wait_until_ready(WAIT_SECONDS), "the bridge did not reconnect"
        publish_one(broker.url, hub.topic, observation(2.0, 2))
        assert wait_until(lambda: bridge.stats()["committed"] == 2)
    finally:
        bridge.stop()
        broker.stop()
    assert sorted(hub.stored_results()) == [1.0, 2.0]


def publish_one(url: str, topic: str, payload: bytes) -> None:
    """Publish one message at QoS 1 from a client of its own."""
    sensor = connect_client(url, "sensor")
    try:
        publish_all(sensor, [(topic, payload)])
    finally:
        sensor.disconnect()
        sensor.loop_stop()
