"""Shared fixtures: the shipped Dordrecht demo data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tweeling.citymodel.datadir import DEMO_DIR


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """Folder with the shipped Dordrecht demo files (GeoParquet, CSV, KNMI text)."""
    return DEMO_DIR


@pytest.fixture(scope="session")
def demo_store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DuckDB store with the full Dordrecht demo imported once per test session."""
    from tweeling.services.citymodel import import_demo
    from tweeling.store import open_store

    url = f"duckdb://{tmp_path_factory.mktemp('demo') / 'demo.duckdb'}"
    with open_store(url) as store:
        import_demo(store)
    return url
