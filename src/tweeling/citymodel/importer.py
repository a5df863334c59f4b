"""Read a user's file (GeoPackage, GeoJSON, GeoParquet, Shapefile, FlatGeobuf or CSV) into a layer.

Checks happen before anything is written: the file must exist and be readable, have a
known CRS (or one given with ``crs``), reproject into the Netherlands, and hold one
geometry family. Invalid but repairable geometries are repaired (``shapely.make_valid``)
and counted in the report; a geometry that cannot be repaired stops the import.
Every problem is an ``InvalidInputError`` with a one-line message naming the file.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from tweeling.core.crs import STORE_EPSG
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, FieldType, GeometryType, LayerSchema, to_identifier
from tweeling.store.base import GEOMETRY_COLUMN, LayerData

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".fgb"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
CSV_SUFFIXES = {".csv"}
SUPPORTED = VECTOR_SUFFIXES | PARQUET_SUFFIXES | CSV_SUFFIXES

# RD New domain (EPSG:28992 area of use, with a margin), metres.
RD_DOMAIN = (-30_000.0, 280_000.0, 320_000.0, 640_000.0)

WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")
XY_COLUMNS = (("lon", "lat"), ("longitude", "latitude"), ("x", "y"))

_FAMILY = {
    "Point": "Point",
    "MultiPoint": "Point",
    "LineString": "LineString",
    "MultiLineString": "LineString",
    "Polygon": "Polygon",
    "MultiPolygon": "Polygon",
}


def file_fingerprint(paths: list[Path]) -> str:
    """SHA-256 over the bytes of the given files, in order."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _parse_crs(crs: str, origin: str) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise InvalidInputError(
            f"{origin}: unknown CRS {crs!r}; give it as EPSG:<code>, e.g. EPSG:28992"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _source_files(path: Path) -> list[Path]:
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file or directory")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED)
        if not files:
            raise InvalidInputError(
                f"{path}: no importable files in this directory (supported: {', '.join(sorted(SUPPORTED))})"
            )
        suffixes = {p.suffix.lower() for p in files}
        if len(suffixes) > 1:
            raise InvalidInputError(f"{path}: mixes file types {sorted(suffixes)}; import them one by one")
        return files
    if path.suffix.lower() not in SUPPORTED:
        raise InvalidInputError(
            f"{path}: unsupported file type {path.suffix or '(none)'}; "
            f"supported: {', '.join(sorted(SUPPORTED))}"
        )
    return [path]


def _read_csv(path: Path, crs: str | None) -> gpd.GeoDataFrame:
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InvalidInputError(f"{path}: cannot read as CSV: {_first_line(exc)}") from exc
    lower = {column.lower(): column for column in frame.columns}
    for name in WKT_COLUMNS:
        if name in lower:
            column = lower[name]
            try:
                geometry = shapely.from_wkt(frame.pop(column).astype("string").fillna("").replace("", None))
            except shapely.errors.GEOSException as exc:
                raise InvalidInputError(
                    f"{path}: column {column!r} is not valid WKT: {_first_line(exc)}"
                ) from exc
            if crs is None:
                raise InvalidInputError(f"{path}: CSV geometry has no CRS; pass --crs (e.g. EPSG:28992)")
            return gpd.GeoDataFrame(frame, geometry=geometry, crs=_parse_crs(crs, str(path)))
    for x_name, y_name in XY_COLUMNS:
        if x_name in lower and y_name in lower:
            x = pd.to_numeric(frame.pop(lower[x_name]), errors="coerce")
            y = pd.to_numeric(frame.pop(lower[y_name]), errors="coerce")
            if x.isna().any() or y.isna().any():
                bad = int((x.isna() | y.isna()).to_numpy().argmax()) + 2
                raise InvalidInputError(f"{path}: non-numeric or empty coordinate on line {bad}")
            if crs is None and x_name in ("x",):
                raise InvalidInputError(
                    f"{path}: CSV has x/y columns but no CRS; pass --crs (e.g. EPSG:28992)"
                )
            declared = _parse_crs(crs, str(path)) if crs else CRS.from_epsg(4326)
            return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs=declared)
    raise InvalidInputError(
        f"{path}: CSV has no geometry: expected a WKT column ({', '.join(WKT_COLUMNS)}) "
        "or coordinate columns (lon/lat, longitude/latitude or x/y)"
    )


def _read_one(path: Path, crs: str | None, source_layer: str | None) -> gpd.GeoDataFrame:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, crs)
    try:
        if suffix in PARQUET_SUFFIXES:
            frame = gpd.read_parquet(path)
        else:
            import pyogrio

            if suffix == ".gpkg" and source_layer is None:
                layers = [str(row[0]) for row in pyogrio.list_layers(path)]
                if len(layers) > 1:
                    raise InvalidInputError(
                        f"{path}: holds {len(layers)} layers ({', '.join(layers)}); "
                        "choose one with --source-layer"
                    )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                frame = pyogrio.read_dataframe(path, layer=source_layer, on_invalid="ignore")
    except InvalidInputError:
        raise
    except Exception as exc:  # GDAL/Arrow raise many types for one problem: unreadable input.
        raise InvalidInputError(f"{path}: cannot read as {suffix.lstrip('.')}: {_first_line(exc)}") from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise InvalidInputError(f"{path}: has no geometry column")
    if crs is not None:
        frame = frame.set_crs(_parse_crs(crs, str(path)), allow_override=True)
    elif frame.crs is None:
        if suffix in (".geojson", ".json"):
            frame = frame.set_crs(4326)  # RFC 7946: GeoJSON without crs is WGS84 lon/lat.
        else:
            raise InvalidInputError(f"{path}: has no CRS; pass --crs (e.g. EPSG:28992)")
    return frame


def _field_type(series: pd.Series) -> FieldType:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "string"


def _repair(frame: gpd.GeoDataFrame, origin: str) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Repair invalid geometries; one geometry family per layer; return counts for the report."""
    geometry = frame.geometry.values
    present = ~shapely.is_missing(geometry) & ~shapely.is_empty(geometry)
    invalid = present & ~shapely.is_valid(geometry)
    types = set(shapely.get_type_id(geometry[present]).tolist())
    family_names = {_FAMILY.get(shapely.geometry.base.GEOMETRY_TYPES[t], "other") for t in types}
    if len(family_names) > 1 or "other" in family_names:
        raise InvalidInputError(
            f"{origin}: mixes geometry types ({', '.join(sorted(family_names))}); a layer holds one kind"
        )
    family = family_names.pop() if family_names else "Point"
    repaired = geometry.copy()
    if invalid.any():
        if family == "Polygon":
            fixed = shapely.make_valid(geometry[invalid], method="structure", keep_collapsed=False)
            repaired[invalid] = [_polygonal(g) for g in fixed]
        else:
            repaired[invalid] = shapely.make_valid(geometry[invalid])
        broken = invalid & (shapely.is_empty(repaired) | ~shapely.is_valid(repaired))
        if broken.any():
            first = int(np.flatnonzero(broken)[0])
            raise InvalidInputError(
                f"{origin}: {int(broken.sum())} invalid geometries cannot be repaired "
                f"(first: feature {first})"
            )
    frame = frame.set_geometry(gpd.GeoSeries(repaired, index=frame.index, crs=frame.crs))
    counts: dict[str, Any] = {
        "features": len(frame),
        "geometries_repaired": int(invalid.sum()),
        "geometries_missing": int((~present).sum()),
    }
    return frame, counts


def _polygonal(geometry: Any) -> Any:
    """Keep only the polygonal part of a repaired geometry."""
    if geometry is None or geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in getattr(geometry, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _geometry_type(frame: gpd.GeoDataFrame) -> GeometryType:
    kinds = set(frame.geometry.dropna().geom_type)
    if len(kinds) == 1:
        return cast(GeometryType, kinds.pop())
    family = _FAMILY[next(iter(kinds))] if kinds else "Point"
    return cast(GeometryType, f"Multi{family}")


def read_layer_file(
    path: Path,
    layer_name: str,
    *,
    crs: str | None = None,
    source_layer: str | None = None,
    title: str | None = None,
    licence: str | None = None,
) -> LayerData:
    """Read, check, repair and reproject a file (or a folder of same-type files) into a layer."""
    files = _source_files(path)
    frames = [_read_one(f, crs, source_layer) for f in files]
    origin = str(path)
    try:
        frames = [f.to_crs(STORE_EPSG) for f in frames]
    except Exception as exc:  # pyproj raises several types for an impossible transformation.
        raise InvalidInputError(
            f"{origin}: cannot transform from {frames[0].crs} to EPSG:{STORE_EPSG}"
        ) from exc
    frame = (
        gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=STORE_EPSG)
        if len(frames) > 1
        else frames[0]
    )
    if frame.empty:
        raise InvalidInputError(f"{origin}: has no features")
    bounds = frame.total_bounds
    inside = (
        RD_DOMAIN[0] <= bounds[0]
        and bounds[2] <= RD_DOMAIN[2]
        and RD_DOMAIN[1] <= bounds[1]
        and bounds[3] <= RD_DOMAIN[3]
    )
    if not frame.geometry.dropna().empty and not (np.isfinite(bounds).all() and inside):
        raise InvalidInputError(
            f"{origin}: coordinates fall outside the Netherlands after reprojection from {frames[0].crs}; "
            "is the CRS right? pass --crs to declare it"
        )
    frame, report = _repair(frame, origin)
    geometry = frame.geometry
    attributes = pd.DataFrame(frame.drop(columns=geometry.name))
    renamed: dict[str, str] = {}
    for column in attributes.columns:
        name = to_identifier(str(column))
        if name == GEOMETRY_COLUMN:
            name = f"{name}_attr"
        while name in renamed.values():
            name = f"{name}_"
        renamed[str(column)] = name
    attributes.columns = list(renamed.values())
    if "fid" not in attributes.columns:
        attributes.insert(0, "fid", np.arange(1, len(attributes) + 1, dtype="int64"))
    fields = [
        FieldSpec(
            name=name,
            type=_field_type(attributes[name]),
            description=f"Imported column {original!r}" if original != name else "Imported column",
            source=path.name,
        )
        for original, name in [("fid", "fid"), *renamed.items()]
        if name in attributes.columns
    ]
    unique_fields = list({spec.name: spec for spec in fields}.values())
    report["source_files"] = len(files)
    report["source_crs"] = str(frames[0].crs)
    schema = LayerSchema(
        name=layer_name,
        title=title or layer_name,
        description=f"Imported from {path.name}",
        geometry_type=_geometry_type(frame),
        fields=unique_fields,
        source=path.name,
        licence=licence or "unknown (not declared at import)",
        attribution=licence or "unknown",
        primary_key="fid" if attributes["fid"].is_unique else None,
    )
    layer_frame = gpd.GeoDataFrame(attributes, geometry=geometry.values, crs=STORE_EPSG)
    return LayerData(schema=schema, frame=layer_frame, report=report, fingerprint=file_fingerprint(files))
