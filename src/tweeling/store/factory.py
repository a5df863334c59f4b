"""Open a store from its URL: ``duckdb:///path/file.duckdb``, ``duckdb://:memory:`` or ``postgresql://...``."""

from __future__ import annotations

from tweeling.core.errors import ConfigurationError
from tweeling.store.base import Store


def open_store(url: str, *, read_only: bool = False) -> Store:
    """Connect to the store the URL names; ConfigurationError for an unknown scheme."""
    if url.startswith("duckdb://"):
        from tweeling.store.duckdb_store import DuckDBStore

        path = url.removeprefix("duckdb://")
        return DuckDBStore(path or ":memory:", read_only=read_only)
    if url.startswith(("postgresql://", "postgres://")):
        from tweeling.store.postgis_store import PostGISStore

        return PostGISStore(url, read_only=read_only)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ConfigurationError(
        f"unknown store URL scheme {scheme!r}: use duckdb:///path/to/file.duckdb or postgresql://user@host/db"
    )
