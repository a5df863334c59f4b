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
    """Read-only store connections for the server: one per worker thread, opened on first use.

    DuckDB and psycopg connections must not be shared between threads; one connection
    per thread lets requests run in parallel without a global lock.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Store] = []

    @contextmanager
    def use(self) -> Iterator[Store]:
        """This thread's open store, connecting on first use."""
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = open_store(self._settings.resolved_store_url, read_only=True)
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        yield store

    def close(self) -> None:
        """Close every connection this handle opened."""
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()
        self._local = threading.local()


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
