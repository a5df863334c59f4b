"""`tweeling sensors simulate | sync` against a real server, and the demo sensor network."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import running_server
from tests.helpers import server_bearer
from tests.sensors.test_connectors import server  # noqa: F401 (fixture: recorded Luchtmeetnet responses)
from tweeling.cli import main
from tweeling.services.sensor_feeds import load_demo_sensors
from tweeling.services.sensors import SensorHub
from tweeling.store import open_store

TOKEN = ["--token", server_bearer("data_owner")["Authorization"].removeprefix("Bearer ")]
"""A data owner's token for the test server (the feeds write observations)."""


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose sensor store holds the demo network with a day of simulated history."""
    folder = tmp_path_factory.mktemp("sensors")
    city, sensors = f"duckdb://{folder / 'city.duckdb'}", f"duckdb://{folder / 'hub.duckdb'}"
    open_store(city).close()
    hub = SensorHub(open_store(sensors))
    result = load_demo_sensors(hub, history_days=1, now=datetime(2025, 6, 2, 12, tzinfo=UTC))
    hub.close()
    assert result.loaded and result.things == 24 and result.datastreams == 37
    assert result.rules >= 3 and result.observations > 5_000
    with running_server(city, extra_env={"TWEELING_SENSORS_STORE_URL": sensors}) as (root, _):
        yield root


def observation_count(root: str) -> int:
    return int(
        httpx.get(f"{root}/v1.1/Observations", params={"$count": "true", "$top": "0"}).json()["@iot.count"]
    )


def test_demo_network_is_loaded_once_and_flagged_simulated(demo_server: str) -> None:
    streams = httpx.get(f"{demo_server}/v1.1/Datastreams", params={"$top": "100"}).json()["value"]
    assert len(streams) == 37
    assert all(s["properties"]["simulated"] is True and s["properties"]["simulation_method"] for s in streams)
    bamendaweg = httpx.get(
        f"{demo_server}/v1.1/Things",
        params={
            "$filter": "substringof('Bamendaweg', name)",
            "$expand": "Locations,Datastreams($select=name)",
        },
    ).json()["value"]
    assert len(bamendaweg) == 1
    assert bamendaweg[0]["Locations"][0]["location"]["coordinates"] == pytest.approx(
        [4.70821381, 51.80065918]
    )
    assert len(bamendaweg[0]["Datastreams"]) == 3
    rules = httpx.get(f"{demo_server}/v1/sensors/alert-rules").json()["rules"]
    assert any(r["statistic"] == "hourly_mean" and r["threshold"] == 200.0 for r in rules)


def test_simulate_feeds_the_running_server(demo_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = observation_count(demo_server)
    args = ["sensors", "simulate", "--server", demo_server, "--rate", "40", "--batches", "3", *TOKEN]
    assert main(args) == 0
    added = observation_count(demo_server) - before
    assert 100 <= added <= 140  # 3 one-second batches at 40/s
    assert "refused" in capsys.readouterr().out


def test_sync_luchtmeetnet_from_recorded_responses(demo_server: str, server: object) -> None:  # noqa: F811
    base = f"{server.base}/open_api"  # type: ignore[attr-defined]
    before = observation_count(demo_server)
    args = ["sensors", "sync", "luchtmeetnet", "--server", demo_server, "--source-url", base, "--hours", "6"]
    args += TOKEN
    assert main(args) == 0
    keys = {
        s["properties"].get("tweeling_key")
        for s in httpx.get(f"{demo_server}/v1.1/Datastreams", params={"$top": "200"}).json()["value"]
    }
    assert {"lml-NL10442-no2", "lml-NL10442-pm10"} <= keys
    assert observation_count(demo_server) > before


def test_unreachable_server_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sensors", "simulate", "--server", "http://127.0.0.1:9", "--batches", "1"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("tweeling: error: cannot reach the Tweeling server") and "\n" not in error


def test_bad_rate_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sensors", "simulate", "--rate", "-5"])
    assert exit_info.value.code == 2
    assert "must be greater than 0" in capsys.readouterr().err
