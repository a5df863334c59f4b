"""What only the embedded store has: the extension from the wheel, and one writer at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tweeling.store import open_store
from tweeling.store.duckdb_store import spatial_extension_path


def test_spatial_extension_comes_from_the_pinned_wheel() -> None:
    path = spatial_extension_path()
    assert path.is_file() and "duckdb_extension_spatial" in str(path)
    assert f"v{duckdb.__version__}" in str(path)


def test_second_writer_gets_a_clear_message(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'one.duckdb'}"
    with open_store(url):
        argv = ["import", "x.csv", "--layer", "x", "--store-url", url]
        code = f"from tweeling.cli import main; raise SystemExit(main({argv!r}))"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "one writer at a time" in result.stderr and result.stderr.count("\n") == 1
