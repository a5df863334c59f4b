"""RIVM Samen Meten: citizen and low-cost sensors, served as an OGC SensorThings API 1.0.

API root https://api-samenmeten.rivm.nl/v1.0. Collections answer ``{"value": [...],
"@iot.nextLink": "<url of the next page>"}`` (no next link on the last page). Things carry
``properties`` such as ``codegemeente``, ``knmicode``, ``owner`` and ``project``; Datastream
names look like ``HLL_hl_device_465-12-pm25_kal`` and their ``unitOfMeasurement`` has a
``symbol`` and a QUDT ``definition`` but no ``name``; Locations are GeoJSON points
``[lon, lat]``.

Things are selected with the standard SensorThings spatial filter
``st_within(Locations/location, geography'POLYGON ((...))')`` on a lon/lat box and checked
again on this side (so a server that ignores the filter cannot slip in far-away sensors).
Conversions mark everything ``"simulated": false, "source": "RIVM Samen Meten"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tweeling.core.errors import InvalidInputError
from tweeling.core.times import format_instant
from tweeling.sensors.connectors import (
    CONNECTORS,
    DEFAULT_TIMEOUT_S,
    SourceUnavailableError,
    build_url,
    fetch_json,
)
from tweeling.sensors.demo import GEOJSON, OM_MEASUREMENT, SENSOR_ENCODING

SOURCE = "RIVM Samen Meten"
BASE_URL = CONNECTORS["samenmeten"].base_url

DORDRECHT_BBOX = (4.615, 51.710, 4.890, 51.828)
"""lon/lat box of the municipality (min lon, min lat, max lon, max lat): the extent of the
shipped OSM tiles of Dordrecht."""

THING_EXPAND = "Locations,Datastreams($expand=ObservedProperty,Sensor)"
DEFAULT_MAX_PAGES = 100
DEFAULT_PAGE_SIZE = 100

UNIT_NAMES: Mapping[str, str] = {
    "ug/m3": "microgram per cubic metre",
    "µg/m³": "microgram per cubic metre",
    "C": "degree Celsius",
    "°C": "degree Celsius",
    "%": "percent",
    "hPa": "hectopascal",
    "ppb": "parts per billion",
}
"""Names for the unit symbols Samen Meten uses (its units carry no name, SensorThings needs one)."""


def bbox_filter(bbox: tuple[float, float, float, float]) -> str:
    """SensorThings ``$filter`` selecting Things whose Location lies in a lon/lat box."""
    min_lon, min_lat, max_lon, max_lat = bbox
    if not (min_lon < max_lon and min_lat < max_lat):
        raise InvalidInputError(f"{SOURCE}: bbox {bbox} must be (min lon, min lat, max lon, max lat)")
    ring = ", ".join(
        f"{lon:g} {lat:g}"
        for lon, lat in (
            (min_lon, min_lat),
            (max_lon, min_lat),
            (max_lon, max_lat),
            (min_lon, max_lat),
            (min_lon, min_lat),
        )
    )
    return f"st_within(Locations/location, geography'POLYGON (({ring}))')"


def _follow(url: str, *, base_url: str, timeout_s: float, max_pages: int) -> list[dict[str, Any]]:
    """All ``value`` items of a collection, following ``@iot.nextLink`` within ``base_url``."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    pages = 0
    while next_url:
        if not next_url.startswith(base_url.rstrip("/")):
            raise SourceUnavailableError(f"{SOURCE}: next page link leaves {base_url}; refusing to follow it")
        if pages >= max_pages:
            raise InvalidInputError(
                f"{SOURCE}: more than {max_pages} pages; narrow the area or period, or raise max_pages"
            )
        payload = fetch_json(next_url, SOURCE, timeout_s=timeout_s)
        value = payload.get("value") if isinstance(payload, dict) else None
        if not isinstance(value, list):
            raise SourceUnavailableError(
                f"{SOURCE}: unexpected response from {next_url.split('?')[0]} (no 'value' list)"
            )
        items.extend(value)
        next_url = payload.get("@iot.nextLink")
        pages += 1
    return items


def thing_point(thing: Mapping[str, Any]) -> tuple[float, float] | None:
    """(lon, lat) of a Thing's first point Location, or None."""
    for location in thing.get("Locations") or []:
        geometry = location.get("location") or {}
        if geometry.get("type") == "Feature":
            geometry = geometry.get("geometry") or {}
        coordinates = geometry.get("coordinates")
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            return float(coordinates[0]), float(coordinates[1])
    return None


def fetch_things(
    bbox: tuple[float, float, float, float] = DORDRECHT_BBOX,
    *,
    base_url: str = BASE_URL,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_pages: int = DEFAULT_MAX_PAGES,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Things in ``bbox`` with their Locations and Datastreams (ObservedProperty, Sensor expanded)."""
    url = build_url(
        base_url,
        "Things",
        {"$filter": bbox_filter(bbox), "$expand": THING_EXPAND, "$top": page_size},
    )
    things = _follow(url, base_url=base_url, timeout_s=timeout_s, max_pages=max_pages)
    min_lon, min_lat, max_lon, max_lat = bbox
    inside = []
    for thing in things:
        point = thing_point(thing)
        if point and min_lon <= point[0] <= max_lon and min_lat <= point[1] <= max_lat:
            inside.append(thing)
    return inside


def fetch_observations(
    datastream_id: int | str,
    since: datetime,
    *,
    base_url: str = BASE_URL,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_pages: int = DEFAULT_MAX_PAGES,
    page_size: int = 1000,
) -> list[dict[str, Any]]:
    """Observations of one Datastream with a phenomenon time after ``since``, oldest first."""
    url = build_url(
        base_url,
        f"Datastreams({datastream_id})/Observations",
        {
            "$filter": f"phenomenonTime gt {format_instant(since)}",
            "$orderby": "phenomenonTime asc",
            "$select": "@iot.id,phenomenonTime,resultTime,result",
            "$top": page_size,
        },
    )
    return _follow(url, base_url=base_url, timeout_s=timeout_s, max_pages=max_pages)


def datastream_key(datastream_id: int | str) -> str:
    """``tweeling_key`` of a Samen Meten Datastream, e.g. ``sm-38617``."""
    return f"sm-{datastream_id}"


def _datastream_payload(datastream: Mapping[str, Any]) -> dict[str, Any]:
    ds_id = datastream.get("@iot.id")
    if ds_id is None:
        raise InvalidInputError(f"{SOURCE}: Datastream {datastream.get('name')!r} has no @iot.id")
    name = str(datastream.get("name") or ds_id)
    unit = dict(datastream.get("unitOfMeasurement") or {})
    symbol = str(unit.get("symbol") or "")
    observed = datastream.get("ObservedProperty") or {}
    observed_name = str(observed.get("name") or name.rsplit("-", 1)[-1])
    sensor = datastream.get("Sensor") or {}
    return {
        "name": name,
        "description": str(datastream.get("description") or name),
        "unitOfMeasurement": {
            "name": str(unit.get("name") or UNIT_NAMES.get(symbol, symbol)),
            "symbol": symbol,
            "definition": str(unit.get("definition") or ""),
        },
        "observationType": str(datastream.get("observationType") or OM_MEASUREMENT),
        "ObservedProperty": {
            "name": observed_name,
            "definition": str(
                observed.get("definition") or f"urn:samenmeten:observed-property:{observed_name}"
            ),
            "description": str(observed.get("description") or observed_name),
        },
        "Sensor": {
            "name": str(sensor.get("name") or "Samen Meten sensor"),
            "description": str(sensor.get("description") or sensor.get("name") or "Samen Meten sensor"),
            "encodingType": str(sensor.get("encodingType") or SENSOR_ENCODING),
            "metadata": str(sensor.get("metadata") or CONNECTORS["samenmeten"].documentation),
        },
        "properties": {
            "tweeling_key": datastream_key(ds_id),
            "simulated": False,
            "source": SOURCE,
            "samenmeten_datastream_id": ds_id,
        },
    }


def thing_payload(thing: Mapping[str, Any]) -> dict[str, Any]:
    """A Thing deep-insert payload from a Samen Meten Thing with expanded Locations and Datastreams."""
    point = thing_point(thing)
    if point is None:
        raise InvalidInputError(f"{SOURCE}: Thing {thing.get('name')!r} has no point location")
    thing_id = thing.get("@iot.id")
    name = str(thing.get("name") or thing_id)
    return {
        "name": name,
        "description": str(thing.get("description") or name),
        "properties": {
            **dict(thing.get("properties") or {}),
            "kind": "samenmeten",
            "tweeling_key": f"sm-thing-{thing_id}",
            "samenmeten_id": thing_id,
            "real_device": True,
            "simulated": False,
            "source": SOURCE,
            "attribution": CONNECTORS["samenmeten"].attribution,
        },
        "Locations": [
            {
                "name": name,
                "description": f"Location of Samen Meten sensor {name}",
                "encodingType": GEOJSON,
                "location": {"type": "Point", "coordinates": [point[0], point[1]]},
            }
        ],
        "Datastreams": [_datastream_payload(ds) for ds in thing.get("Datastreams") or []],
    }


def observations_payload(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Observations to create (``phenomenonTime``, ``result``, ``resultTime`` when given).

    Rows without a result are skipped; times are passed on as the server wrote them.
    """
    out = []
    for row in rows:
        if row.get("result") is None or not row.get("phenomenonTime"):
            continue
        observation: dict[str, Any] = {"phenomenonTime": row["phenomenonTime"], "result": row["result"]}
        if row.get("resultTime"):
            observation["resultTime"] = row["resultTime"]
        out.append(observation)
    return out
