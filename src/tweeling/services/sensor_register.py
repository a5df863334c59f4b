"""The sensor register: what every sensor (SensorThings Thing) is for, who owns it, whether it can
capture personal data, on which legal basis, and how long its data is kept.

Each Thing carries its entry in ``properties.register``::

    {"purpose": "...", "owner": "...", "personal_data": true,
     "personal_data_kinds": ["camera images of people passing (...)"],
     "legal_basis": "Gemeentewet art. 160 / AVG art. 6(1)(e)",
     "retention_days": 1826, "retention": "...", "status": "public"}

``status`` is ``public`` (published) or ``pending-review`` (a sensor waiting for the ethics
committee); ``review`` names the approved ``personal-data-sensor`` review, when there was one.
The public view leaves out pending sensors and shows only the fields of the register,
nothing else of the Thing. A Thing without an entry is listed as "register entry missing".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from tweeling.services.sensors import SensorHub

PUBLIC = "public"
PENDING_REVIEW = "pending-review"
STATUSES = (PUBLIC, PENDING_REVIEW)

MISSING = "register entry missing"

PUBLISHED_FIELDS = (
    "purpose",
    "owner",
    "personal_data",
    "personal_data_kinds",
    "legal_basis",
    "retention_days",
    "retention",
    "review",
)
"""The fields of an entry the public register shows (``status`` decides whether it shows at all);
``review`` is the id of the ethics review that approved the sensor, where there was one."""

REQUIRED_FIELDS = ("purpose", "owner", "personal_data", "legal_basis", "status")

PERSONAL_DATA_DEVICES = re.compile(
    r"camera|wi-?fi|bluetooth|\bble\b|mac[- ]address|licen[cs]e[- ]plate|\banpr\b|kenteken",
    re.IGNORECASE,
)
"""Words in a sensor's type or description that mean it can capture personal data."""

PAGE = 1000
"""Things read per request to the hub."""


def _texts(thing: Mapping[str, Any]) -> Iterator[str]:
    """The words that describe a Thing payload and its sensors (deep insert included)."""
    for key in ("name", "description"):
        yield str(thing.get(key) or "")
    properties = thing.get("properties") or {}
    if isinstance(properties, Mapping):
        yield str(properties.get("kind") or "")
        yield str(properties.get("sensor_type") or "")
    for datastream in thing.get("Datastreams") or []:
        if not isinstance(datastream, Mapping):
            continue
        sensor = datastream.get("Sensor") or {}
        if isinstance(sensor, Mapping):
            for key in ("name", "description", "metadata"):
                yield str(sensor.get(key) or "")


def problems_of(register: Any) -> list[str]:
    """What an entry lacks or gets wrong, in words (empty when it is complete)."""
    if not isinstance(register, Mapping):
        return [MISSING]
    problems = [f"{name} missing" for name in REQUIRED_FIELDS if register.get(name) in (None, "", [])]
    if "personal_data" in register and not isinstance(register["personal_data"], bool):
        problems.append("personal_data must be true or false")
    if register.get("personal_data") is True and not register.get("personal_data_kinds"):
        problems.append("personal_data_kinds missing: say which personal data it can capture")
    if register.get("personal_data") is True and register.get("retention_days") is None:
        problems.append("retention_days missing: how long is data about people kept?")
    if register.get("status") not in (None, "") and register.get("status") not in STATUSES:
        problems.append(f"status must be one of {', '.join(STATUSES)}")
    return problems


class SensorRegister:
    """Purpose, owner, personal-data capability, legal basis and retention of every sensor (Thing)."""

    def __init__(self, hub: SensorHub) -> None:
        self.hub = hub

    def _things(self, base_url: str | None) -> Iterator[dict[str, Any]]:
        skip = 0
        while True:
            page = self.hub.read(
                "Things",
                {
                    "$select": "id,name,description,properties",
                    "$expand": "Locations($select=location)",
                    "$orderby": "id",
                    "$top": str(PAGE),
                    "$skip": str(skip),
                },
                base_url,
            )
            yield from page["value"]
            if "@iot.nextLink" not in page:
                return
            skip += PAGE

    def entries(self, public_only: bool, base_url: str | None = None) -> list[dict[str, Any]]:
        """One entry per Thing, in id order.

        ``public_only``: leave out Things whose entry is not ``public`` and show only the published
        fields. Otherwise every Thing with its status, description and the entry's problems.
        """
        listed = []
        for thing in self._things(base_url):
            properties = thing.get("properties") or {}
            register = properties.get("register") if isinstance(properties, Mapping) else None
            problems = problems_of(register)
            entry = register if isinstance(register, Mapping) else {}
            status = entry.get("status") if entry else None
            if public_only and entry and status != PUBLIC:
                continue
            item: dict[str, Any] = {
                "thing_id": thing["@iot.id"],
                "name": thing.get("name"),
                "kind": properties.get("kind") if isinstance(properties, Mapping) else None,
                "location": _location(thing),
                **{name: entry.get(name) for name in PUBLISHED_FIELDS},
                "problems": problems,
                "thing_link": thing.get("@iot.selfLink"),
            }
            if not public_only:
                item["status"] = status
                item["description"] = thing.get("description")
            listed.append(item)
        return listed

    @staticmethod
    def requires_review(thing_json: Mapping[str, Any]) -> bool:
        """Whether creating this Thing needs an approved ``personal-data-sensor`` review: its entry
        says it can capture personal data, or its type or description names a camera, wifi or
        bluetooth (whatever its entry says)."""
        properties = thing_json.get("properties") or {}
        register = properties.get("register") if isinstance(properties, Mapping) else None
        if isinstance(register, Mapping) and register.get("personal_data") is True:
            return True
        return any(PERSONAL_DATA_DEVICES.search(text) for text in _texts(thing_json))


def _location(thing: Mapping[str, Any]) -> list[float] | None:
    """[lon, lat] of a Thing's first point Location, if it has one."""
    for location in thing.get("Locations") or []:
        geometry = location.get("location") if isinstance(location, Mapping) else None
        if isinstance(geometry, Mapping) and geometry.get("type") == "Point":
            return [float(c) for c in geometry["coordinates"][:2]]
    return None
