"""Service status: what the landing page and the health check report."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import tweeling
from tweeling.core.errors import StoreError, TweelingError
from tweeling.store import Store, open_store


class StoreHandle:
    """Store connections for the server: one per worker thread for reads, opened on first use, and
    (when ``writable``) one connection for writes.

    DuckDB and psycopg connections must not be shared between threads; one connection per
    thread lets requests run in parallel without a global lock. A writable embedded store is
    opened once per process (DuckDB's rule) and threads read through cursors of it.
    """

    def __init__(self, url: str, *, writable: bool = False) -> None:
        self.url = url
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Store] = []
        self._writer: Store | None = None
        self._writable = writable

    def writer(self) -> Store:
        """The connection for writes (opened on first use); StoreError on a read-only handle."""
        with self._lock:
            if self._writer is None:
                if not self._writable:
                    raise StoreError("this server opened the store read-only")
                self._writer = open_store(self.url)
            return self._writer

    @contextmanager
    def use(self) -> Iterator[Store]:
        """This thread's open store, connecting on first use."""
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            if self._writable:
                # the writer first: within one process, readers of an embedded store then share
                # the writer's database (see DuckDBStore) instead of failing to open it again
                self.writer()
            store = open_store(self.url, read_only=True)
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
            if self._writer is not None:
                self._writer.close()
                self._writer = None
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
