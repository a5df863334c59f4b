"""The store suite runs every test against the embedded DuckDB store and against PostGIS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import fresh_postgres_schema, postgres_url_or_skip
from tweeling.store import Store, open_store


@pytest.fixture(params=["duckdb", "postgis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty store of each kind."""
    if request.param == "duckdb":
        yield f"duckdb://{tmp_path / 'store.duckdb'}"
        return
    with fresh_postgres_schema(postgres_url_or_skip()) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, empty, writable store of each kind."""
    with open_store(store_url) as opened:
        yield opened
