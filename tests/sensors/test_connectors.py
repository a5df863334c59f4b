"""Luchtmeetnet and Samen Meten connectors on hand-recorded responses, served by a local server."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tweeling.core.errors import InvalidInputError
from tweeling.sensors.connectors import SourceUnavailableError, fetch_json
from tweeling.sensors.connectors import luchtmeetnet as lml
from tweeling.sensors.connectors import samenmeten as sm
from tweeling.store.sta_schema import ENTITY_TYPES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "connectors"
SAMENMETEN_ROOT = "https://api-samenmeten.rivm.nl/v1.0"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _required(set_name: str) -> set[str]:
    return {p.name for p in ENTITY_TYPES[set_name].properties if p.required}


def _assert_deep_insert(thing: dict[str, Any]) -> None:
    assert _required("Things") <= thing.keys()
    for location in thing["Locations"]:
        assert _required("Locations") <= location.keys()
        assert location["encodingType"] == "application/geo+json"
    for ds in thing["Datastreams"]:
        assert _required("Datastreams") <= ds.keys()
        assert _required("Sensors") <= ds["Sensor"].keys()
        assert _required("ObservedProperties") <= ds["ObservedProperty"].keys()
        assert set(ds["unitOfMeasurement"]) == {"name", "symbol", "definition"}
        assert ds["properties"]["simulated"] is False


# --- conversions -----------------------------------------------------------------------------


def test_luchtmeetnet_station_to_thing() -> None:
    detail = _fixture("luchtmeetnet/station_NL10442.json")["data"]
    thing = lml.station_thing("NL10442", detail)
    _assert_deep_insert(thing)
    assert thing["name"] == "Dordrecht-Bamendaweg"
    assert thing["Locations"][0]["location"] == {"type": "Point", "coordinates": [4.708239, 51.800658]}
    assert [ds["properties"]["tweeling_key"] for ds in thing["Datastreams"]] == [
        "lml-NL10442-no2",
        "lml-NL10442-o3",
        "lml-NL10442-pm10",
        "lml-NL10442-pm25",
    ]
    assert thing["properties"]["other_components"] == ["NO"]
    assert thing["properties"]["source"] == "Luchtmeetnet"
    assert {ds["unitOfMeasurement"]["symbol"] for ds in thing["Datastreams"]} == {"µg/m³"}


def test_luchtmeetnet_measurements_to_observations() -> None:
    rows = (
        _fixture("luchtmeetnet/measurements_page1.json")["data"]
        + _fixture("luchtmeetnet/measurements_page2.json")["data"]
    )
    observations = lml.measurements_to_observations(rows)
    assert list(observations) == ["lml-NL10442-no2"]
    assert observations["lml-NL10442-no2"] == [
        {"phenomenonTime": "2024-10-19T15:00:00.000Z", "result": 18.4},
        {"phenomenonTime": "2024-10-19T16:00:00.000Z", "result": 23.1},
        {"phenomenonTime": "2024-10-19T17:00:00.000Z", "result": 27.9},
        {"phenomenonTime": "2024-10-19T18:00:00.000Z", "result": 25.6},
    ]  # the row with "value": null is skipped
    assert lml.measurements_to_observations(rows + rows) == observations


def test_luchtmeetnet_time_windows() -> None:
    start = datetime(2024, 10, 12, tzinfo=UTC)
    windows = lml.time_windows(start, datetime(2024, 10, 22, tzinfo=UTC))
    assert windows == [
        (start, datetime(2024, 10, 19, tzinfo=UTC)),
        (datetime(2024, 10, 19, tzinfo=UTC), datetime(2024, 10, 22, tzinfo=UTC)),
    ]
    with pytest.raises(InvalidInputError, match="not after start"):
        lml.time_windows(start, start)


def test_samenmeten_thing_to_payload() -> None:
    raw = _fixture("samenmeten/things_page1.json")["value"][0]
    thing = sm.thing_payload(raw)
    _assert_deep_insert(thing)
    assert thing["name"] == "LTD_54321"
    assert thing["Locations"][0]["location"]["coordinates"] == [4.6932, 51.7853]
    assert thing["properties"]["codegemeente"] == "505"
    assert thing["properties"]["source"] == "RIVM Samen Meten"
    streams = thing["Datastreams"]
    assert [ds["properties"]["tweeling_key"] for ds in streams] == ["sm-70001", "sm-70002"]
    assert [ds["unitOfMeasurement"]["name"] for ds in streams] == [
        "microgram per cubic metre",
        "degree Celsius",
    ]
    assert [ds["ObservedProperty"]["name"] for ds in streams] == ["pm25_kal", "temp"]
    assert streams[0]["Sensor"]["name"] == "SDS011"


def test_samenmeten_observations_and_filter() -> None:
    rows = (
        _fixture("samenmeten/observations_page1.json")["value"]
        + _fixture("samenmeten/observations_page2.json")["value"]
    )
    observations = sm.observations_payload(rows)
    assert len(observations) == 4
    assert observations[0] == {
        "phenomenonTime": "2024-10-19T15:00:00.000Z",
        "result": 7.3,
        "resultTime": "2024-10-19T15:00:00.000Z",
    }
    assert sm.bbox_filter((4.615, 51.71, 4.89, 51.828)) == (
        "st_within(Locations/location, geography'POLYGON ((4.615 51.71, 4.89 51.71, 4.89 51.828, "
        "4.615 51.828, 4.615 51.71))')"
    )


# --- fetching from a local server -------------------------------------------------------------


class _FixtureServer(ThreadingHTTPServer):
    requests: list[str]
    base: str


class _Handler(BaseHTTPRequestHandler):
    server: _FixtureServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fixture(self, name: str, *, rewrite: bool = True) -> None:
        text = (FIXTURES / name).read_text(encoding="utf-8")
        if rewrite:
            text = text.replace(SAMENMETEN_ROOT, f"{self.server.base}/v1.0")
        self._send(200, text)

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        parts = urllib.parse.urlsplit(self.path)
        path, query = urllib.parse.unquote(parts.path), urllib.parse.parse_qs(parts.query)
        page = query.get("page", ["1"])[0]
        second = "$skip" in query
        if path == "/open_api/stations":
            self._fixture(f"luchtmeetnet/stations_page{page}.json")
        elif path == "/open_api/stations/NL10442":
            self._fixture("luchtmeetnet/station_NL10442.json")
        elif path == "/open_api/measurements":
            self._fixture(f"luchtmeetnet/measurements_page{page}.json")
        elif path == "/v1.0/Things":
            self._fixture(f"samenmeten/things_page{2 if second else 1}.json")
        elif path == "/v1.0/Datastreams(70001)/Observations":
            self._fixture(f"samenmeten/observations_page{2 if second else 1}.json")
        elif path == "/elsewhere/v1.0/Things":
            self._fixture("samenmeten/things_page1.json", rewrite=False)
        elif path == "/broken/open_api/stations":
            self._send(500, '{"message": "internal error"}')
        elif path == "/text/open_api/stations":
            self._send(200, "<html>maintenance</html>", "text/html")
        else:
            self._send(404, '{"message": "not found"}')


@pytest.fixture
def server() -> Iterator[_FixtureServer]:
    httpd = _FixtureServer(("127.0.0.1", 0), _Handler)
    httpd.requests = []
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_fetch_luchtmeetnet_stations_follows_pages(server: _FixtureServer) -> None:
    stations = lml.fetch_stations(base_url=f"{server.base}/open_api", timeout_s=5)
    assert [s["number"] for s in stations] == ["NL10442", "NL10437", "NL10418"]
    assert server.requests == ["/open_api/stations?page=1", "/open_api/stations?page=2"]
    detail = lml.fetch_station("NL10442", base_url=f"{server.base}/open_api", timeout_s=5)
    assert detail["location"] == "Dordrecht-Bamendaweg"


def test_fetch_luchtmeetnet_measurements_in_windows(server: _FixtureServer) -> None:
    rows = lml.fetch_measurements(
        "NL10442",
        "NO2",
        datetime(2024, 10, 12, tzinfo=UTC),
        datetime(2024, 10, 22, tzinfo=UTC),
        base_url=f"{server.base}/open_api",
        timeout_s=5,
    )
    # two 7-day windows, two pages each
    assert len(server.requests) == 4 and len(rows) == 10
    first = urllib.parse.parse_qs(urllib.parse.urlsplit(server.requests[0]).query)
    assert first["station_number"] == ["NL10442"] and first["formula"] == ["NO2"]
    assert first["start"] == ["2024-10-12T00:00:00Z"] and first["end"] == ["2024-10-19T00:00:00Z"]
    third = urllib.parse.parse_qs(urllib.parse.urlsplit(server.requests[2]).query)
    assert third["start"] == ["2024-10-19T00:00:00Z"] and third["end"] == ["2024-10-22T00:00:00Z"]
    assert len(lml.measurements_to_observations(rows)["lml-NL10442-no2"]) == 4


def test_fetch_samenmeten_things_follows_next_link(server: _FixtureServer) -> None:
    things = sm.fetch_things(base_url=f"{server.base}/v1.0", timeout_s=5)
    # the Rotterdam sensor on page 2 lies outside the Dordrecht box and is dropped
    assert [t["name"] for t in things] == ["LTD_54321", "HLL_hl_device_999"]
    assert len(server.requests) == 2
    first = urllib.parse.parse_qs(urllib.parse.urlsplit(server.requests[0]).query)
    assert first["$filter"] == [sm.bbox_filter(sm.DORDRECHT_BBOX)]
    assert first["$expand"] == ["Locations,Datastreams($expand=ObservedProperty,Sensor)"]
    assert "$skip=2" in server.requests[1]
    payloads = [sm.thing_payload(t) for t in things]
    assert sum(len(p["Datastreams"]) for p in payloads) == 3


def test_fetch_samenmeten_observations(server: _FixtureServer) -> None:
    since = datetime(2024, 10, 19, 14, tzinfo=UTC)
    rows = sm.fetch_observations(70001, since, base_url=f"{server.base}/v1.0", timeout_s=5)
    assert [r["@iot.id"] for r in rows] == [600001, 600002, 600003, 600004, 600005]
    first = urllib.parse.parse_qs(urllib.parse.urlsplit(server.requests[0]).query)
    assert first["$filter"] == ["phenomenonTime gt 2024-10-19T14:00:00.000Z"]
    assert first["$orderby"] == ["phenomenonTime asc"]
    assert len(sm.observations_payload(rows)) == 4


def test_failures_give_one_line_errors(server: _FixtureServer) -> None:
    with pytest.raises(SourceUnavailableError, match="HTTP 404") as not_found:
        lml.fetch_station("NL99999", base_url=f"{server.base}/open_api", timeout_s=5)
    with pytest.raises(SourceUnavailableError, match="HTTP 500") as broken:
        lml.fetch_stations(base_url=f"{server.base}/broken/open_api", timeout_s=5)
    with pytest.raises(SourceUnavailableError, match="did not return JSON") as text:
        lml.fetch_stations(base_url=f"{server.base}/text/open_api", timeout_s=5)
    with pytest.raises(SourceUnavailableError, match="leaves") as elsewhere:
        sm.fetch_things(base_url=f"{server.base}/elsewhere/v1.0", timeout_s=5)
    for error in (not_found, broken, text, elsewhere):
        assert "\n" not in str(error.value)
        assert error.value.status == 502 and error.value.code == "source-unavailable"
    assert str(broken.value).startswith("Luchtmeetnet: HTTP 500")


def test_unreachable_source(server: _FixtureServer) -> None:
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(SourceUnavailableError, match="Luchtmeetnet: cannot reach") as error:
        fetch_json(f"http://127.0.0.1:{port}/open_api/stations", "Luchtmeetnet", timeout_s=2)
    assert "\n" not in str(error.value)
    with pytest.raises(InvalidInputError, match="only http"):
        fetch_json("file:///etc/passwd", "Luchtmeetnet")
