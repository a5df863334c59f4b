"""`tweeling import`: good files land as layers; bad input gives one line, exit 1, store unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tweeling.cli import main
from tweeling.store import open_store

BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[4.66, 51.80], [4.67, 51.81], [4.67, 51.80], [4.66, 51.81], [4.66, 51.80]]],
}
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[4.66, 51.80], [4.67, 51.80], [4.67, 51.81], [4.66, 51.81], [4.66, 51.80]]],
}


def geojson(path: Path, geometries: list[dict], crs: str | None = None) -> Path:
    doc: dict = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"Name": f"f{i}", "Hoogte (m)": i * 1.5}, "geometry": g}
            for i, g in enumerate(geometries)
        ],
    }
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"duckdb://{tmp_path / 'twin.duckdb'}"


def run(store_url: str, *args: str) -> int:
    return main(["import", "--store-url", store_url, *args])


def test_geojson_import_repairs_and_counts(tmp_path, store_url, capsys) -> None:
    source = geojson(tmp_path / "areas.geojson", [SQUARE, BOWTIE])
    assert run(store_url, str(source), "--layer", "areas") == 0
    out = capsys.readouterr().out
    assert "Imported 2 features into layer 'areas'" in out and "repaired geometries: 1" in out
    with open_store(store_url, read_only=True) as store:
        frame = store.read_layer("areas")
        info = store.layer("areas")
    assert list(frame.columns) == ["fid", "name", "hoogte_m", "geometry"]
    assert frame.geometry.is_valid.all()
    # The bow-tie becomes two triangles of a quarter of the square each.
    assert frame.geometry.area.iloc[1] == pytest.approx(frame.geometry.area.iloc[0] / 2, rel=0.01)
    assert info.report["geometries_repaired"] == 1
    assert info.geometry_type == "MultiPolygon"


def test_csv_with_lon_lat_and_rd_points(tmp_path, store_url) -> None:
    (tmp_path / "sensors.csv").write_text("id,name,lon,lat\n1,Bamendaweg,4.70821381,51.80065918\n")
    assert run(store_url, str(tmp_path / "sensors.csv"), "--layer", "sensors") == 0
    with open_store(store_url, read_only=True) as store:
        point = store.read_layer("sensors").geometry.iloc[0]
    assert point.x == pytest.approx(108_166, abs=5) and point.y == pytest.approx(423_776, abs=5)


def test_geoparquet_and_gpkg_round_trip(tmp_path, store_url, demo_dir) -> None:
    poi = gpd.read_parquet(demo_dir / "osm_poi.parquet")
    poi.to_file(tmp_path / "poi.gpkg", layer="poi")
    assert run(store_url, str(demo_dir / "osm_poi.parquet"), "--layer", "poi_parquet") == 0
    assert run(store_url, str(tmp_path / "poi.gpkg"), "--layer", "poi_gpkg") == 0
    with open_store(store_url, read_only=True) as store:
        assert store.count("poi_parquet") == store.count("poi_gpkg") == len(poi) == 2029
        assert "name_latin" in store.layer("poi_gpkg").schema.field_names


BAD_INPUTS = {
    "missing": (lambda d: d / "nope.gpkg", "no such file"),
    "corrupt_gpkg": (
        lambda d: _write(d / "broken.gpkg", b"this is not a geopackage" * 10),
        "cannot read as gpkg",
    ),
    "csv_without_geometry": (lambda d: _write(d / "plain.csv", b"a,b\n1,2\n"), "CSV has no geometry"),
    "rd_coordinates_declared_as_wgs84": (
        lambda d: geojson(d / "rd.geojson", [{"type": "Point", "coordinates": [105000, 423000]}]),
        "outside the Netherlands",
    ),
    "unsupported_type": (lambda d: _write(d / "notes.txt", b"hello"), "unsupported file type"),
    "empty_geojson": (lambda d: geojson(d / "empty.geojson", []), "no features"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_nonzero_and_leaves_store_unchanged(case, tmp_path, store_url, capsys) -> None:
    assert run(store_url, str(geojson(tmp_path / "keep.geojson", [SQUARE])), "--layer", "kept") == 0
    capsys.readouterr()
    make, message = BAD_INPUTS[case]
    source = make(tmp_path)
    assert run(store_url, str(source), "--layer", "new_layer") == 1
    err = capsys.readouterr().err
    assert err.startswith("tweeling: error: ") and err.count("\n") == 1
    assert message in err and source.name in err
    with open_store(store_url, read_only=True) as store:
        assert [info.name for info in store.list_layers()] == ["kept"]
        assert store.count("kept") == 1


def test_unknown_crs_is_named(tmp_path, store_url, capsys) -> None:
    source = geojson(tmp_path / "a.geojson", [SQUARE])
    assert run(store_url, str(source), "--layer", "a", "--crs", "EPSG:999999") == 1
    assert "unknown CRS 'EPSG:999999'" in capsys.readouterr().err


def test_declared_crs_fixes_rd_coordinates(tmp_path, store_url) -> None:
    source = geojson(tmp_path / "rd.geojson", [{"type": "Point", "coordinates": [105000, 423000]}])
    assert run(store_url, str(source), "--layer", "rd", "--crs", "EPSG:28992") == 0
    with open_store(store_url, read_only=True) as store:
        assert store.read_layer("rd").geometry.iloc[0].equals(shapely.Point(105000, 423000))


def test_existing_layer_needs_replace(tmp_path, store_url, capsys) -> None:
    source = geojson(tmp_path / "a.geojson", [SQUARE])
    assert run(store_url, str(source), "--layer", "a") == 0
    assert run(store_url, str(geojson(tmp_path / "b.geojson", [SQUARE, SQUARE])), "--layer", "a") == 1
    assert "already exists; pass --replace" in capsys.readouterr().err
    assert run(store_url, str(tmp_path / "b.geojson"), "--layer", "a", "--replace") == 0
    with open_store(store_url, read_only=True) as store:
        assert store.count("a") == 2


def test_invalid_layer_name(tmp_path, store_url, capsys) -> None:
    assert run(store_url, str(geojson(tmp_path / "a.geojson", [SQUARE])), "--layer", "Bad Name") == 1
    assert "invalid layer name 'Bad Name'" in capsys.readouterr().err


def test_installed_command_prints_no_traceback(tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tweeling.cli",
            "import",
            str(tmp_path / "absent.gpkg"),
            "--layer",
            "x",
            "--store-url",
            f"duckdb://{tmp_path / 's.duckdb'}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"tweeling: error: {tmp_path / 'absent.gpkg'}: no such file or directory"
    assert "Traceback" not in result.stderr


def test_directory_of_same_type_files_is_one_layer(tmp_path, store_url) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    geojson(folder / "a.geojson", [SQUARE])
    geojson(folder / "b.geojson", [SQUARE, SQUARE])
    assert run(store_url, str(folder), "--layer", "parts") == 0
    with open_store(store_url, read_only=True) as store:
        assert store.count("parts") == 3
        assert store.layer("parts").report["source_files"] == 2
