"""Connectors to live sensor sources, used only when a user asks for them (never by default).

Each connector fetches JSON over HTTPS with the standard library and converts it, with pure
functions, into the twin's SensorThings deep-insert payloads and observation lists marked
``"simulated": false`` with their ``source``. Network and HTTP failures raise
:class:`SourceUnavailableError` with a one-line message naming the source.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tweeling.core.errors import InvalidInputError, TweelingError

DEFAULT_TIMEOUT_S = 30.0
"""Seconds to wait for a response before giving up."""

USER_AGENT = "tweeling/0.1 (open-source digital twin of Dordrecht)"


class SourceUnavailableError(TweelingError):
    """A live source could not be reached, answered with an error, or sent something unreadable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 502, "source-unavailable", "Source unavailable")


@dataclass(frozen=True)
class ConnectorInfo:
    """What a connector reads, where it is documented, and the attribution its data needs."""

    id: str
    title: str
    base_url: str
    documentation: str
    attribution: str


CONNECTORS: Mapping[str, ConnectorInfo] = {
    "luchtmeetnet": ConnectorInfo(
        "luchtmeetnet",
        "Luchtmeetnet open API (official Dutch air-quality stations)",
        "https://api.luchtmeetnet.nl/open_api",
        "https://api-docs.luchtmeetnet.nl/",
        "Luchtmeetnet (RIVM, GGD Amsterdam, DCMR and the provinces)",
    ),
    "samenmeten": ConnectorInfo(
        "samenmeten",
        "RIVM Samen Meten (citizen and low-cost sensors, SensorThings API)",
        "https://api-samenmeten.rivm.nl/v1.0",
        "https://www.samenmeten.nl/dataportaal/api-application-programming-interface",
        "RIVM Samen Meten",
    ),
}
"""The connectors by short name."""


def build_url(base: str, path: str = "", params: Mapping[str, Any] | None = None) -> str:
    """``base`` + ``path`` with query parameters percent-encoded (``$`` and ``,`` kept readable)."""
    url = base.rstrip("/") + ("/" + path.lstrip("/") if path else "")
    if params:
        pairs = {key: str(value) for key, value in params.items() if value is not None}
        url += "?" + urllib.parse.urlencode(pairs, safe="$,()'", quote_via=urllib.parse.quote)
    return url


def _short(url: str) -> str:
    """The URL without its query, for messages."""
    return url.split("?", 1)[0]


def fetch_json(url: str, source: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """GET ``url`` and parse its JSON body; SourceUnavailableError (one line) on any failure."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise InvalidInputError(f"{source}: only http(s) URLs can be fetched, not {_short(url)!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise SourceUnavailableError(
            f"{source}: HTTP {exc.code} {exc.reason} from {_short(url)}; check the request or try again later"
        ) from exc
    except urllib.error.URLError as exc:
        raise SourceUnavailableError(
            f"{source}: cannot reach {_short(url)} ({exc.reason}); check the network connection"
        ) from exc
    except TimeoutError as exc:
        raise SourceUnavailableError(
            f"{source}: no answer from {_short(url)} within {timeout_s:g} s; try again later"
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise SourceUnavailableError(
            f"{source}: connection to {_short(url)} failed ({type(exc).__name__}); try again later"
        ) from exc
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceUnavailableError(f"{source}: {_short(url)} did not return JSON ({exc})") from exc
