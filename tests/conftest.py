"""Shared fixtures: the shipped Dordrecht demo data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tweeling.citymodel.datadir import DEMO_DIR


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """Folder with the shipped Dordrecht demo files (GeoParquet, CSV, KNMI text)."""
    return DEMO_DIR
