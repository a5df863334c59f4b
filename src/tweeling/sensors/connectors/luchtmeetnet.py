"""Luchtmeetnet open API: official Dutch air-quality stations and their hourly measurements.

API root https://api.luchtmeetnet.nl/open_api, documented at https://api-docs.luchtmeetnet.nl/.
Used endpoints and their JSON:

- ``GET /stations?page=N``: ``{"pagination": {"current_page", "last_page", ...},
  "data": [{"number": "NL10442", "location": "Dordrecht-Bamendaweg"}, ...]}``
- ``GET /stations/{number}``: ``{"data": {"location", "municipality", "province",
  "organisation", "type", "components": ["NO2", ...], "geometry": {"type": "point",
  "coordinates": [lon, lat]}, "description": {"NL", "EN"}, "year_start", "url"}}``
- ``GET /measurements?station_number=&formula=&start=&end=&page=``: paged like the station
  list, ``data`` rows ``{"station_number", "formula", "value", "timestamp_measured"}``; values
  are hourly concentrations in µg/m³. API users report that one request may span at most
  7 days, so longer periods are fetched in 7-day windows.

Conversions keep Luchtmeetnet's timestamp as the observation's ``phenomenonTime`` and mark
everything ``"simulated": false, "source": "Luchtmeetnet"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
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
from tweeling.sensors.demo import GEOJSON, QUANTITIES, SENSOR_ENCODING, ObservedQuantity

SOURCE = "Luchtmeetnet"
BASE_URL = CONNECTORS["luchtmeetnet"].base_url
MAX_WINDOW = timedelta(days=7)
"""Longest period one measurements request may cover."""

DEFAULT_MAX_PAGES = 100
"""Stop (with an error) after this many pages of one listing."""

FORMULAS: Mapping[str, ObservedQuantity] = {
    "NO2": QUANTITIES["no2"],
    "PM10": QUANTITIES["pm10"],
    "PM25": QUANTITIES["pm25"],
    "O3": replace(
        QUANTITIES["no2"],
        name="O3",
        definition="http://dd.eionet.europa.eu/vocabulary/aq/pollutant/7",
        description="Ozone mass concentration in ambient air.",
    ),
}
"""Luchtmeetnet component formulas the connector turns into Datastreams (others are listed only)."""


def _check_data(payload: Any, url: str, *, listing: bool) -> Any:
    data = payload.get("data") if isinstance(payload, dict) else None
    if listing and not isinstance(data, list):
        raise SourceUnavailableError(
            f"{SOURCE}: unexpected response from {url.split('?')[0]} (no 'data' list)"
        )
    if not listing and not isinstance(data, dict):
        raise SourceUnavailableError(
            f"{SOURCE}: unexpected response from {url.split('?')[0]} (no 'data' object)"
        )
    return data


def _fetch_pages(
    path: str,
    params: Mapping[str, Any],
    *,
    base_url: str,
    timeout_s: float,
    max_pages: int,
) -> list[dict[str, Any]]:
    """All ``data`` rows of a paged listing, following ``pagination.last_page``."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        url = build_url(base_url, path, {**params, "page": page})
        payload = fetch_json(url, SOURCE, timeout_s=timeout_s)
        rows.extend(_check_data(payload, url, listing=True))
        pagination = payload.get("pagination") or {}
        last_page = int(pagination.get("last_page") or page)
        if page >= last_page:
            return rows
        if page >= max_pages:
            raise InvalidInputError(
                f"{SOURCE}: {path} has more than {max_pages} pages; "
                "ask for a shorter period or raise max_pages"
            )
        page += 1


def fetch_stations(
    *, base_url: str = BASE_URL, timeout_s: float = DEFAULT_TIMEOUT_S, max_pages: int = DEFAULT_MAX_PAGES
) -> list[dict[str, Any]]:
    """Every station as ``{"number", "location"}``, all pages."""
    return _fetch_pages("stations", {}, base_url=base_url, timeout_s=timeout_s, max_pages=max_pages)


def fetch_station(
    number: str, *, base_url: str = BASE_URL, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, Any]:
    """Details of one station (the ``data`` object of ``/stations/{number}``)."""
    url = build_url(base_url, f"stations/{number}")
    return dict(_check_data(fetch_json(url, SOURCE, timeout_s=timeout_s), url, listing=False))


def time_windows(
    start: datetime, end: datetime, window: timedelta = MAX_WINDOW
) -> list[tuple[datetime, datetime]]:
    """Consecutive ``(start, end)`` windows of at most ``window`` covering ``start``-``end``."""
    if end <= start:
        raise InvalidInputError(f"{SOURCE}: end {end.isoformat()} is not after start {start.isoformat()}")
    windows = []
    current = start
    while current < end:
        upper = min(current + window, end)
        windows.append((current, upper))
        current = upper
    return windows


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def fetch_measurements(
    station_number: str,
    formula: str,
    start: datetime,
    end: datetime,
    *,
    base_url: str = BASE_URL,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> list[dict[str, Any]]:
    """Hourly measurements of one component at one station between ``start`` and ``end`` (UTC).

    Periods longer than :data:`MAX_WINDOW` are fetched window by window, every window all pages.
    """
    rows: list[dict[str, Any]] = []
    for lower, upper in time_windows(_utc(start), _utc(end)):
        params = {
            "station_number": station_number,
            "formula": formula,
            "start": lower.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": upper.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "order_by": "timestamp_measured",
            "order_direction": "asc",
        }
        rows.extend(
            _fetch_pages("measurements", params, base_url=base_url, timeout_s=timeout_s, max_pages=max_pages)
        )
    return rows


def datastream_key(station_number: str, formula: str) -> str:
    """``tweeling_key`` of a Luchtmeetnet Datastream, e.g. ``lml-NL10442-no2``."""
    return f"lml-{station_number}-{formula.lower()}"


def station_thing(station_number: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """A Thing deep-insert payload for a station from its ``/stations/{number}`` details.

    One Datastream per component in :data:`FORMULAS`; other components are listed in
    ``properties.other_components``. InvalidInputError when the details have no coordinates.
    """
    geometry = detail.get("geometry") or {}
    coordinates = geometry.get("coordinates")
    if not (isinstance(coordinates, list | tuple) and len(coordinates) >= 2):
        raise InvalidInputError(f"{SOURCE}: station {station_number} has no coordinates")
    lon, lat = float(coordinates[0]), float(coordinates[1])
    name = str(detail.get("location") or station_number)
    description = detail.get("description") or {}
    components = [str(c) for c in detail.get("components") or []]
    datastreams = []
    for formula in components:
        quantity = FORMULAS.get(formula)
        if quantity is None:
            continue
        datastreams.append(
            {
                "name": f"{name}: {quantity.name}",
                "description": f"{quantity.description} Hourly values from Luchtmeetnet.",
                **quantity.datastream_fields(),
                "Sensor": {
                    "name": f"{detail.get('organisation') or 'Luchtmeetnet'} monitor {formula}",
                    "description": f"Monitor for {formula} at station {station_number}.",
                    "encodingType": SENSOR_ENCODING,
                    "metadata": detail.get("url") or CONNECTORS["luchtmeetnet"].documentation,
                },
                "properties": {
                    "tweeling_key": datastream_key(station_number, formula),
                    "simulated": False,
                    "source": SOURCE,
                    "luchtmeetnet_station": station_number,
                    "luchtmeetnet_formula": formula,
                    "sampling_interval_s": 3600,
                },
            }
        )
    return {
        "name": name,
        "description": str(description.get("EN") or description.get("NL") or name),
        "properties": {
            "kind": "air_quality_station",
            "tweeling_key": f"lml-{station_number}",
            "luchtmeetnet_code": station_number,
            "municipality": detail.get("municipality"),
            "province": detail.get("province"),
            "organisation": detail.get("organisation"),
            "station_type": detail.get("type"),
            "year_start": detail.get("year_start"),
            "other_components": [c for c in components if c not in FORMULAS],
            "real_device": True,
            "simulated": False,
            "source": SOURCE,
            "attribution": CONNECTORS["luchtmeetnet"].attribution,
        },
        "Locations": [
            {
                "name": name,
                "description": f"Luchtmeetnet station {station_number}",
                "encodingType": GEOJSON,
                "location": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
        "Datastreams": datastreams,
    }


def parse_time(text: str) -> datetime:
    """A timestamp such as ``2024-10-19T17:00:00+00:00`` (or with ``Z``) as an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError) as exc:
        raise InvalidInputError(f"{SOURCE}: cannot read the time {text!r}") from exc
    return _utc(moment)


def measurements_to_observations(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Observations (``phenomenonTime``, ``result``) per ``tweeling_key``, in time order.

    Rows without a value are skipped; a row repeated (same station, formula and time) is kept
    once. The phenomenon time is Luchtmeetnet's ``timestamp_measured`` in UTC.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        value = row.get("value")
        if value is None:
            continue
        key = datastream_key(str(row["station_number"]), str(row["formula"]))
        moment = format_instant(parse_time(str(row["timestamp_measured"])))
        out.setdefault(key, {})[moment] = {"phenomenonTime": moment, "result": float(value)}
    return {key: [observations[t] for t in sorted(observations)] for key, observations in out.items()}
