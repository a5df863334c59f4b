"""SensorThings API 1.1 MQTT extension: an adapter between an MQTT broker and the sensor hub.

Create: clients publish an Observation (the JSON of an HTTP POST body) to
``v1.1/Datastreams(<id>)/Observations`` (or ``v1.1/FeaturesOfInterest(<id>)/Observations`` or
``v1.1/Observations`` with the Datastream in the body; ``v1.0/...`` is accepted too). The bridge
receives them at QoS 1 with manual acknowledgement, collects them into batches (``batch_size``
messages or ``batch_seconds`` after the first, whichever comes first) and writes each batch in one
call of the hub. A message is acknowledged only after its Observation is committed, or after it is
rejected as invalid; a rejected message is logged and an error notice goes to ``v1.1/errors``.
Nothing received is lost while the hub is down: a failing batch is retried and stays
unacknowledged, so with a fixed ``client_id`` (persistent session) the broker redelivers it to the
next bridge. Delivery is at least once: a batch committed just before its connection broke is
redelivered by the broker and stored again.

Notify: the hub calls the bridge after each commit (HTTP or MQTT); the bridge publishes each new
Observation (QoS 0) to ``v1.1/Datastreams(<id>)/Observations`` and ``v1.1/Observations``, and each
alert to ``v1.1/alerts``. Its subscriptions use the MQTT v5 *no local* option, so it never receives
its own notifications; a notification that another bridge on the same broker publishes is
recognised by its ``@iot.id`` and skipped (acknowledged, not stored).
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from tweeling.core.errors import InvalidInputError, TweelingError

log = logging.getLogger(__name__)

HubListener = Callable[[str, dict[str, Any]], None]
"""Called by the hub after each commit with ``("observation", json)`` or ``("alert", json)``."""

CREATE_SUBSCRIPTIONS = (
    "v1.1/+/Observations",
    "v1.0/+/Observations",
    "v1.1/Observations",
    "v1.0/Observations",
)
"""Topic filters on which clients create Observations."""
ERROR_TOPIC = "v1.1/errors"
ALERT_TOPIC = "v1.1/alerts"
OBSERVATIONS_TOPIC = "v1.1/Observations"

ERROR_PAYLOAD_EXCERPT = 1000
"""Characters of a rejected message's payload repeated in its error notice."""
SESSION_EXPIRY_SECONDS = 3600
"""How long the broker keeps a persistent session (fixed ``client_id``) while the bridge is away."""
MAX_RECEIVE_MAXIMUM = 65_535
"""MQTT's limit on unacknowledged QoS 1 messages the broker may send. The bridge asks for 4
batches' worth (at least 1,000), so that a slow hub holds the broker back instead of filling memory;
Mosquitto 2.0.11 (Debian 12) was seen to send more than that once acknowledgements flow."""
CLIENT_MAX_INFLIGHT = 1000
"""QoS 1 messages (error notices) the bridge may have unacknowledged at the broker."""
RETRY_FIRST_DELAY_SECONDS = 0.1
RETRY_MAX_DELAY_SECONDS = 5.0
"""Back-off between attempts to commit a batch while the hub fails (doubling from first to max)."""

_CREATE_TOPIC = re.compile(r"v1\.[01]/(?:(Datastreams|FeaturesOfInterest)\((\d+)\)/)?Observations")


class ObservationOutcome(Protocol):
    """What the hub did with one item: ``created`` is the stored Observation, or ``error`` says why not."""

    @property
    def created(self) -> dict[str, Any] | None: ...

    @property
    def error(self) -> str | None: ...


class ObservationSink(Protocol):
    """The part of the sensor hub (``tweeling.services.sensors.SensorHub``) that the bridge uses."""

    def create_observations(
        self, items: Sequence[tuple[int, dict[str, Any]]], *, idempotency_key: str | None = None
    ) -> Sequence[ObservationOutcome]:
        """Commit all valid ``(datastream_id, observation)`` items in one transaction; outcomes in order."""
        ...

    def add_listener(self, listener: HubListener) -> None:
        """Have ``listener`` called after each commit."""
        ...

    def remove_listener(self, listener: HubListener) -> None:
        """Stop calling ``listener``."""
        ...


class InvalidMessageError(InvalidInputError):
    """A create message the bridge cannot turn into an Observation; the text is safe to send back."""


def parse_create_message(topic: str | None, payload: bytes) -> tuple[int, dict[str, Any]] | None:
    """The ``(datastream_id, observation JSON)`` that a create message on ``topic`` asks for.

    Raises ``InvalidMessageError`` saying how to fix the message. The Datastream comes from the
    topic, or for ``v1.1/Observations`` and ``v1.1/FeaturesOfInterest(<id>)/Observations`` from the
    body's ``"Datastream": {"@iot.id": <id>}``; a FeatureOfInterest in the topic is set in the body.
    None for a notification (an Observation with an ``@iot.id`` is stored already): no request.
    """
    match = _CREATE_TOPIC.fullmatch(topic or "")
    if topic is None or match is None:
        raise InvalidMessageError(
            f"topic {topic!r} is no Observations collection: publish to v1.1/Datastreams(<id>)/Observations"
        )
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise InvalidMessageError(f"payload is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidMessageError(
            f"payload must be one Observation as a JSON object, not {type(body).__name__}"
        )
    if "@iot.id" in body:
        return None
    parent, parent_id = match.group(1), match.group(2)
    named = _referenced_id(body.pop("Datastream", None), "Datastream")
    if parent == "Datastreams":
        datastream_id = int(parent_id)
        if named is not None and named != datastream_id:
            raise InvalidMessageError(
                f"body names Datastream {named} but the topic Datastream {datastream_id}"
            )
        return datastream_id, body
    if named is None:
        raise InvalidMessageError(
            'the Observation needs its Datastream: add "Datastream": {"@iot.id": <id>} to the body '
            "or publish to v1.1/Datastreams(<id>)/Observations"
        )
    if parent == "FeaturesOfInterest":
        feature_id = int(parent_id)
        feature = _referenced_id(body.get("FeatureOfInterest"), "FeatureOfInterest")
        if "FeatureOfInterest" in body and feature != feature_id:
            raise InvalidMessageError(f"body names another FeatureOfInterest than the topic ({feature_id})")
        body["FeatureOfInterest"] = {"@iot.id": feature_id}
    return named, body


def _referenced_id(reference: Any, entity: str) -> int | None:
    """The id in ``{"@iot.id": <id>}``, None when there is no reference."""
    if reference is None:
        return None
    if isinstance(reference, dict):
        value = reference.get("@iot.id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    raise InvalidMessageError(f'{entity} must be a reference {{"@iot.id": <integer id>}}, not {reference!r}')


@dataclass(slots=True)
class _Received:
    """One create message waiting for its batch; ``generation`` is the connection it arrived on."""

    mid: int
    qos: int
    topic: str | None
    payload: bytes
    generation: int


@dataclass(frozen=True)
class _Refused:
    """The outcome of an item the hub refused by raising instead of reporting it."""

    error: str
    created: None = None


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is, from an ``mqtt://[user[:password]@]host[:port]`` URL (``mqtts://`` for TLS)."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Parse ``url``; the port defaults to 1883 (8883 with TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp", "mqtts", "ssl") or not parts.hostname:
            raise ValueError(f"broker URL {url!r} must look like mqtt://host:port (or mqtts:// for TLS)")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class MqttBridge:
    """Runs the SensorThings MQTT extension for one hub on one broker, in background threads.

    ``client_id`` None gives a random id and a clean session: messages published while the bridge
    is away are not kept. A fixed ``client_id`` makes the session persistent for
    ``SESSION_EXPIRY_SECONDS``: the broker queues create messages for the next bridge with that id
    (run one bridge per id at a time).
    """

    def __init__(
        self,
        sink: ObservationSink,
        url: str,
        *,
        client_id: str | None = None,
        batch_size: int = 5000,
        batch_seconds: float = 0.02,
    ) -> None:
        if batch_size < 1 or batch_seconds < 0:
            raise ValueError("batch_size must be at least 1 and batch_seconds not negative")
        self._sink = sink
        self._address = BrokerAddress.parse(url)
        self._persistent = client_id is not None
        self.client_id = client_id or f"tweeling-sta-{uuid.uuid4().hex[:12]}"
        self._batch_size = batch_size
        self._batch_seconds = batch_seconds

        self._lock = threading.Condition()
        self._buffer: list[_Received] = []
        self._first_arrival = 0.0
        self._closing = False
        self._draining = False
        self._generation = 0
        self._counts = dict.fromkeys(
            ("received", "committed", "rejected", "ignored", "notified", "batches", "commit_failures"), 0
        )
        self._subscribed = threading.Event()
        self._unsubscribed = threading.Event()
        self._writer: threading.Thread | None = None

        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self._address.tls:
            client.tls_set_context(ssl.create_default_context())
        if self._address.username is not None:
            client.username_pw_set(self._address.username, self._address.password)
        client.max_inflight_messages_set(CLIENT_MAX_INFLIGHT)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        client.on_message = self._on_message
        return client

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and begin serving."""
        if self._writer is not None:
            raise RuntimeError("the MQTT bridge is already started")
        self._closing = self._draining = False
        self._writer = threading.Thread(
            target=self._write_batches, name=f"{self.client_id}-writer", daemon=True
        )
        self._writer.start()
        self._sink.add_listener(self._on_hub_event)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS if self._persistent else 0
        properties.ReceiveMaximum = min(MAX_RECEIVE_MAXIMUM, max(4 * self._batch_size, 1000))
        self._client.connect_async(
            self._address.host,
            self._address.port,
            keepalive=30,
            clean_start=not self._persistent,
            properties=properties,
        )
        self._client.loop_start()

    def wait_until_ready(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until connected and subscribed; True when so."""
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Commit and acknowledge what was received, then disconnect; waits at most ~``timeout`` s.

        With a clean session the bridge first unsubscribes, so the broker sends nothing it would
        then drop. With a persistent session it keeps its subscriptions and leaves later messages
        unacknowledged, for the broker to redeliver to the next bridge with this ``client_id``.
        """
        if self._writer is None:
            return
        if not self._persistent and self._subscribed.is_set():
            self._unsubscribed.clear()
            result, _ = self._client.unsubscribe(list(CREATE_SUBSCRIPTIONS))
            if result == mqtt.MQTT_ERR_SUCCESS:
                self._unsubscribed.wait(timeout / 2)
        with self._lock:
            self._draining = True
            self._closing = True
            self._lock.notify_all()
        self._writer.join(timeout)
        self._sink.remove_listener(self._on_hub_event)
        self._client.disconnect()
        self._client.loop_stop()
        self._writer = None

    def stats(self) -> dict[str, int]:
        """Counters for the health endpoint: messages received, committed, rejected, ignored (other
        bridges' notifications), notifications published, batches written, commit failures, messages
        waiting for their batch, and whether the broker connection is up (1) or not (0)."""
        with self._lock:
            counts = dict(self._counts)
            counts["pending"] = len(self._buffer)
        counts["connected"] = int(self._subscribed.is_set())
        return counts

    # -- MQTT callbacks (paho's network thread) ------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker %s refused the bridge: %s", self._address.host, reason_code)
            return
        with self._lock:
            self._generation += 1
        log.info("MQTT bridge %s connected to %s:%d", self.client_id, self._address.host, self._address.port)
        options = SubscribeOptions(qos=1, noLocal=True)
        client.subscribe([(topic, options) for topic in CREATE_SUBSCRIPTIONS])

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._subscribed.clear()
        if not self._closing:
            log.warning("MQTT bridge %s lost the broker (%s); reconnecting", self.client_id, reason_code)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log.error("MQTT broker refused the bridge's subscriptions: %s", ", ".join(refused))
            return
        self._subscribed.set()

    def _on_unsubscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self._unsubscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic: str | None = message.topic
        except UnicodeDecodeError:
            topic = None
        with self._lock:
            if self._draining:
                return
            self._counts["received"] += 1
            if not self._buffer:
                self._first_arrival = time.monotonic()
                self._lock.notify()
            self._buffer.append(
                _Received(message.mid, message.qos, topic, bytes(message.payload), self._generation)
            )
            if len(self._buffer) == self._batch_size:
                self._lock.notify()

    # -- batches (writer thread) --------------------------------------------------------------

    def _write_batches(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._write(batch)
            except Exception:
                log.exception("MQTT bridge could not handle a batch of %d messages", len(batch))

    def _next_batch(self) -> list[_Received] | None:
        """The next batch: full, or due ``batch_seconds`` after its first message; None when closed."""
        with self._lock:
            while not self._buffer and not self._closing:
                self._lock.wait()
            if not self._buffer:
                return None
            while len(self._buffer) < self._batch_size and not self._closing:
                remaining = self._first_arrival + self._batch_seconds - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            batch = self._buffer[: self._batch_size]
            del self._buffer[: self._batch_size]
            if self._buffer:
                self._first_arrival = time.monotonic()
            return batch

    def _write(self, batch: list[_Received]) -> None:
        """Parse, commit in one call, acknowledge and report rejections, all in arrival order."""
        items: list[tuple[int, dict[str, Any]]] = []
        item_positions: list[int] = []
        reasons: dict[int, str] = {}
        ignored = 0
        for position, received in enumerate(batch):
            try:
                item = parse_create_message(received.topic, received.payload)
            except InvalidMessageError as error:
                reasons[position] = str(error)
                continue
            if item is None:
                ignored += 1
            else:
                items.append(item)
                item_positions.append(position)
        outcomes = self._commit(items) if items else []
        if outcomes is None:
            return
        committed = 0
        for position, outcome in zip(item_positions, outcomes, strict=True):
            if outcome.error is None:
                committed += 1
            else:
                reasons[position] = outcome.error
        self._acknowledge(batch)
        for position in sorted(reasons):
            self._report_rejection(batch[position], reasons[position])
        with self._lock:
            self._counts["batches"] += 1
            self._counts["committed"] += committed
            self._counts["rejected"] += len(reasons)
            self._counts["ignored"] += ignored

    def _commit(self, items: list[tuple[int, dict[str, Any]]]) -> Sequence[ObservationOutcome] | None:
        """Outcomes of storing ``items``; None when the bridge closes while the hub keeps failing.

        A failure of the store (or any unexpected error) is retried with back-off, so nothing is
        acknowledged that was not stored. When the hub refuses the batch as a whole as the
        client's fault (a 4xx ``TweelingError``), each item is tried alone, so one bad message
        cannot hold up the others.
        """
        key = f"mqtt:{self.client_id}:{uuid.uuid4().hex}"
        delay = RETRY_FIRST_DELAY_SECONDS
        while True:
            try:
                outcomes = self._sink.create_observations(items, idempotency_key=key)
            except TweelingError as error:
                if 400 <= error.status < 500:
                    if len(items) == 1:
                        return [_Refused(error.message)]
                    return self._commit_one_by_one(items)
                failure: Exception = error
            except Exception as error:
                failure = error
            else:
                if len(outcomes) != len(items):
                    raise RuntimeError(f"sensor hub gave {len(outcomes)} outcomes for {len(items)} items")
                return outcomes
            with self._lock:
                self._counts["commit_failures"] += 1
                closing = self._closing
            log.error(
                "sensor hub failed to store %d observations from MQTT (%s); %s",
                len(items),
                failure,
                "leaving them unacknowledged" if closing else f"retrying in {delay:.1f} s",
                exc_info=None if isinstance(failure, TweelingError) else failure,
            )
            if closing:
                return None
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY_SECONDS)

    def _commit_one_by_one(self, items: list[tuple[int, dict[str, Any]]]) -> list[ObservationOutcome] | None:
        outcomes: list[ObservationOutcome] = []
        for item in items:
            single = self._commit([item])
            if single is None:
                return None
            outcomes.extend(single)
        return outcomes

    def _acknowledge(self, batch: list[_Received]) -> None:
        """PUBACK each message in arrival order; one from an earlier connection is left to redelivery."""
        with self._lock:
            generation = self._generation
        for received in batch:
            if received.qos > 0 and received.generation == generation:
                self._client.ack(received.mid, received.qos)

    def _report_rejection(self, received: _Received, reason: str) -> None:
        log.warning("MQTT message on %r rejected: %s", received.topic, reason)
        notice = {
            "topic": received.topic,
            "message": reason,
            "payload": received.payload[:ERROR_PAYLOAD_EXCERPT].decode("utf-8", errors="replace"),
        }
        self._client.publish(ERROR_TOPIC, orjson.dumps(notice), qos=1)

    # -- notifications (any thread) ------------------------------------------------------------

    def _on_hub_event(self, kind: str, payload: dict[str, Any]) -> None:
        """Publish a committed Observation or an alert (QoS 0); never raises into the hub."""
        try:
            if kind == "observation":
                self._publish_observation(payload)
            elif kind == "alert":
                self._client.publish(ALERT_TOPIC, orjson.dumps(payload), qos=0)
            else:
                return
        except Exception:
            log.exception("MQTT bridge could not publish a %s notification", kind)
            return
        with self._lock:
            self._counts["notified"] += 1

    def _publish_observation(self, observation: dict[str, Any]) -> None:
        datastream_id = observation.get("Datastream@iot.id")
        body = orjson.dumps(observation)
        if datastream_id is not None:
            topic = f"v1.1/Datastreams({datastream_id})/Observations"
            self._client.publish(topic, body, qos=0)
        self._client.publish(OBSERVATIONS_TOPIC, body, qos=0)
