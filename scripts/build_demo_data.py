"""Rebuild the shipped Dordrecht demo data from the original open-data files.

Reads the originals in ``../shared/data/dordrecht`` (see their PROVENANCE.md) and
writes the compact copy that ships inside the package, ``src/tweeling/data/dordrecht``:
GeoParquet (EPSG:28992, zstd) for vector layers, Parquet/CSV for tables, the KNMI
file gzip-compressed in its original format, the OpenMapTiles vector tiles of the
offline basemap (``basemap/``: each non-empty tile gzip-compressed, as MBTiles stores
them, plus the generator's ``metadata.json``), and ``manifest.json`` with checksums.

Only columns the twin uses are kept; no value is changed. Run:

    python scripts/build_demo_data.py [--source DIR] [--target DIR]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "dordrecht"
DEFAULT_TARGET = ROOT / "src" / "tweeling" / "data" / "dordrecht"
OSM_GPKG = "osm_openmaptiles_2021_dordrecht.gpkg"
OSM_TILES = "osm_vector_tiles_2021_openmaptiles"
BASEMAP = "basemap"

# (output file, source gpkg layer, columns kept) for the OSM layers.
OSM_LAYERS: list[tuple[str, str, list[str]]] = [
    (
        "osm_buildings.parquet",
        "buildings",
        ["render_height", "render_min_height", "height_from_osm_tags", "n_tile_pieces"],
    ),
    ("osm_addresses.parquet", "housenumber", ["housenumber"]),
    ("osm_transportation.parquet", "transportation", ["class", "service", "oneway", "brunnel", "ramp"]),
    ("osm_poi.parquet", "poi", ["class", "subclass", "name:latin", "rank"]),
    ("osm_landcover.parquet", "landcover", ["class", "subclass"]),
    ("osm_landuse.parquet", "landuse", ["class"]),
    ("osm_park.parquet", "park", ["class", "name:latin"]),
    ("osm_water.parquet", "water", ["class"]),
    ("osm_waterway.parquet", "waterway", ["class", "name:latin", "brunnel", "intermittent"]),
]

# Files copied as they are (small tables).
COPIED = [
    "cbs_kwb_2024_wijken_gemeente_dordrecht.csv",
    "rivm_lml_airquality_stations_near_dordrecht_2013.csv",
]


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, for the manifest."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_geoparquet(frame: gpd.GeoDataFrame, target: Path) -> None:
    """Write a GeoParquet file with zstd compression, geometry column named ``geometry``."""
    frame = frame.rename_geometry("geometry") if frame.geometry.name != "geometry" else frame
    frame.to_parquet(target, compression="zstd", index=False, schema_version="1.0.0")


def copy_basemap(source: Path, target: Path) -> dict[str, dict[str, str | int]]:
    """Copy the basemap tiles, gzip-compressed (level 9, no timestamp), and their metadata.

    Returns the manifest entries without checksums. Empty (0-byte) tiles are left out: the
    server answers 204 No Content for every tile it does not have.
    """
    tiles_in = source / OSM_TILES
    basemap = target / BASEMAP
    if basemap.exists():
        shutil.rmtree(basemap)
    made: dict[str, dict[str, str | int]] = {}
    for tile in sorted(tiles_in.glob("*/*/*.pbf")):
        raw = tile.read_bytes()
        if not raw:
            continue
        relative = tile.relative_to(tiles_in).as_posix()
        out = basemap / "tiles" / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
        made[f"{BASEMAP}/tiles/{relative}"] = {
            "source": f"{OSM_TILES}/{relative}",
            "encoding": "gzip",
            "source_bytes": len(raw),
        }
    shutil.copyfile(tiles_in / "metadata.json", basemap / "metadata.json")
    made[f"{BASEMAP}/metadata.json"] = {"source": f"{OSM_TILES}/metadata.json"}
    return made


def build(source: Path, target: Path) -> dict[str, dict[str, str | int]]:
    """Write every shipped file into ``target``; return the manifest entries."""
    target.mkdir(parents=True, exist_ok=True)
    made: dict[str, tuple[str, int]] = {}

    buurten = gpd.read_file(source / "cbs_buurten_2020_dordrecht.gpkg", layer="buurten_2020")
    buurten = buurten.drop(columns=["gid", "shape_leng", "shape_area"], errors="ignore")
    write_geoparquet(buurten, target / "cbs_buurten_2020.parquet")
    made["cbs_buurten_2020.parquet"] = ("cbs_buurten_2020_dordrecht.gpkg", len(buurten))

    gpkg = source / OSM_GPKG
    for name, layer, columns in OSM_LAYERS:
        frame = pyogrio.read_dataframe(gpkg, layer=layer, columns=columns)
        write_geoparquet(frame, target / name)
        made[name] = (f"{OSM_GPKG}:{layer}", len(frame))

    bag = pd.read_csv(source / "bag_verblijfsobjecten_2021_dordrecht.csv", dtype={"identificatie": str})
    bag.to_parquet(target / "bag_verblijfsobjecten_2021.parquet", compression="zstd", index=False)
    made["bag_verblijfsobjecten_2021.parquet"] = ("bag_verblijfsobjecten_2021_dordrecht.csv", len(bag))

    for name in COPIED:
        shutil.copyfile(source / name, target / name)
        made[name] = (name, len(pd.read_csv(source / name)))

    knmi = "knmi_daily_etmgeg_348_cabauw.txt"
    with (
        (source / knmi).open("rb") as raw,
        gzip.GzipFile(target / f"{knmi}.gz", "wb", compresslevel=9, mtime=0) as packed,
    ):
        shutil.copyfileobj(raw, packed)
    made[f"{knmi}.gz"] = (knmi, sum(1 for _ in (source / knmi).open()))

    entries: dict[str, dict[str, str | int]] = {
        name: {"source": origin, "rows": rows} for name, (origin, rows) in made.items()
    }
    entries.update(copy_basemap(source, target))
    return {
        name: {**entry, "sha256": sha256(target / name), "bytes": (target / name).stat().st_size}
        for name, entry in sorted(entries.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET)
    args = parser.parse_args()
    if not (args.source / OSM_GPKG).exists():
        raise SystemExit(f"build_demo_data: originals not found in {args.source} (expected {OSM_GPKG})")
    files = build(args.source, args.target)
    manifest = {
        "dataset": "dordrecht",
        "crs": "EPSG:28992",
        "attribution": "ATTRIBUTION.md",
        "files": files,
    }
    (args.target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(int(entry["bytes"]) for entry in files.values())
    print(f"wrote {len(files)} files, {total / 1e6:.1f} MB, to {args.target}")


if __name__ == "__main__":
    main()
