"""The sensor register: every demo Thing says what it is for, who owns it and whether it can capture
personal data; the public view hides sensors pending review and shows only register fields."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tweeling.sensors.demo import read_demo_things
from tweeling.services.sensor_register import MISSING, SensorRegister, problems_of
from tweeling.services.sensors import SensorHub
from tweeling.store import open_store

PENDING: dict[str, Any] = {
    "name": "Bluetooth counter Vriesestraat",
    "description": "Counts passers-by from Bluetooth device addresses, hashed on the device.",
    "properties": {
        "kind": "crowd",
        "register": {
            "purpose": "Crowd monitoring",
            "owner": "Gemeente Dordrecht",
            "personal_data": True,
            "personal_data_kinds": ["bluetooth MAC hashes"],
            "legal_basis": "Gemeentewet art. 160 / AVG art. 6(1)(e)",
            "retention_days": 1826,
            "retention": "Counts 5 years",
            "status": "pending-review",
        },
    },
}


@pytest.fixture(scope="module")
def things(demo_dir: Path) -> list[dict[str, Any]]:
    return read_demo_things(demo_dir)


@pytest.fixture(scope="module")
def register(
    tmp_path_factory: pytest.TempPathFactory, things: list[dict[str, Any]]
) -> Iterator[SensorRegister]:
    url = f"duckdb://{tmp_path_factory.mktemp('sensor-register') / 'sensors.duckdb'}"
    hub = SensorHub(open_store(url), base_url="https://tweeling.example.org/v1.1")
    for thing in [*things, PENDING]:
        hub.create("Things", thing)
    yield SensorRegister(hub)
    hub.close()


def test_every_demo_thing_has_a_complete_register_entry(things: list[dict[str, Any]]) -> None:
    for thing in things:
        entry = thing["properties"]["register"]
        assert problems_of(entry) == [], thing["name"]
        assert entry["status"] == "public"
    personal = {t["properties"]["kind"] for t in things if t["properties"]["register"]["personal_data"]}
    assert personal == {"crowd"}


def test_demo_register_lists_purpose_owner_and_personal_data(register: SensorRegister) -> None:
    entries = {entry["name"]: entry for entry in register.entries(public_only=False)}
    assert len(entries) == 24 + 1
    station = entries["Dordrecht-Bamendaweg"]
    assert station["owner"] == "RIVM (Landelijk Meetnet Luchtkwaliteit)"
    assert station["purpose"].startswith("Air-quality monitoring")
    assert station["personal_data"] is False and station["location"] == pytest.approx(
        [4.70821381, 51.80065918]
    )
    assert entries["Ridderkerk-Hogeweg"]["owner"].startswith("DCMR Milieudienst Rijnmond")
    crowd = entries["People counter Sarisgang"]
    assert crowd["owner"] == "Gemeente Dordrecht" and crowd["personal_data"] is True
    assert crowd["legal_basis"] == "Gemeentewet art. 160 / AVG art. 6(1)(e)"
    assert crowd["retention_days"] == 1826 and "never stored" in crowd["retention"]
    assert entries["Traffic counter Merwedestraat"]["personal_data"] is False
    assert entries["Bluetooth counter Vriesestraat"]["status"] == "pending-review"
    assert crowd["thing_link"].startswith("https://tweeling.example.org/v1.1/Things(")


def test_public_view_hides_pending_sensors_and_other_properties(register: SensorRegister) -> None:
    public = register.entries(public_only=True)
    names = {entry["name"] for entry in public}
    assert "Bluetooth counter Vriesestraat" not in names and len(names) == 24
    crowd = next(entry for entry in public if entry["name"] == "People counter Visstraat")
    assert set(crowd) == {
        "thing_id",
        "name",
        "kind",
        "location",
        "purpose",
        "owner",
        "personal_data",
        "personal_data_kinds",
        "legal_basis",
        "retention_days",
        "retention",
        "review",
        "problems",
        "thing_link",
    }


def test_requires_review(things: list[dict[str, Any]]) -> None:
    by_kind = {thing["properties"]["kind"]: thing for thing in things}
    assert SensorRegister.requires_review(by_kind["crowd"])
    for kind in ("air_quality_station", "low_cost_air", "noise", "traffic", "weather"):
        assert not SensorRegister.requires_review(by_kind[kind]), kind
    assert SensorRegister.requires_review(PENDING)
    assert SensorRegister.requires_review({"name": "Counter", "description": "WiFi probe-request counter"})
    said_no = {
        "name": "Counting line Statenplein",
        "properties": {"register": {**PENDING["properties"]["register"], "personal_data": False}},
        "Datastreams": [{"Sensor": {"name": "People counter", "description": "Stereo camera, counts only"}}],
    }
    assert SensorRegister.requires_review(said_no)  # the sensor type names a camera, whatever the entry says
    assert not SensorRegister.requires_review({"name": "Rain gauge", "description": "Tipping bucket"})


def test_problems_of_an_entry() -> None:
    assert problems_of(None) == [MISSING]
    entry = {**PENDING["properties"]["register"], "personal_data_kinds": [], "owner": "", "status": "hidden"}
    assert problems_of(entry) == [
        "owner missing",
        "personal_data_kinds missing: say which personal data it can capture",
        "status must be one of public, pending-review",
    ]
