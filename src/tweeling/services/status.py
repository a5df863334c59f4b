"""Service status: what the landing page and the health check report."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import tweeling
from tweeling.core.errors import TweelingError
from tweeling.services.settings import Settings
from tweeling.store import Store, open_store


class StoreHandle:
    """One read-only store connection shared by the server's worker threads (serialised by a lock)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._store: Store | None = None

    @contextmanager
    def use(self) -> Iterator[Store]:
        """The open store, connecting on first use."""
        with self._lock:
            if self._store is None:
                self._store = open_store(self._settings.resolved_store_url, read_only=True)
            yield self._store

    def close(self) -> None:
        """Close the connection if open."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


@dataclass
class Health:
    """Result of a health check."""

    status: str
    version: str
    store: str
    layers: int
    features: int
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


def check_health(handle: StoreHandle) -> Health:
    """Ping the store and count what it holds; status 'fail' (not an exception) when it cannot be read."""
    try:
        with handle.use() as store:
            layers = store.list_layers()
            dialect = store.dialect
    except TweelingError as exc:
        return Health("fail", tweeling.__version__, "unreachable", 0, 0, exc.message)
    return Health("pass", tweeling.__version__, dialect, len(layers), sum(i.feature_count for i in layers))
