"""The shipped demo data: complete, unchanged since its build, compact and attributed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def test_manifest_checksums_match_the_shipped_files(demo_dir: Path) -> None:
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    assert manifest["crs"] == "EPSG:28992"
    for name, entry in manifest["files"].items():
        data = (demo_dir / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert len(data) == entry["bytes"], name
    assert manifest["files"]["osm_buildings.parquet"]["rows"] == 65_796
    assert manifest["files"]["cbs_buurten_2020.parquet"]["rows"] == 130


def test_shipped_data_is_compact_and_attributed(demo_dir: Path) -> None:
    total = sum(p.stat().st_size for p in demo_dir.iterdir())
    assert total <= 25 * 1024 * 1024
    attribution = (demo_dir / "ATTRIBUTION.md").read_text()
    for needle in ("CC BY 4.0", "ODbL", "CC0", "KNMI", "© OpenStreetMap contributors"):
        assert needle in attribution
