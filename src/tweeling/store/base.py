"""The store interface shared by the DuckDB and the PostGIS store.

A layer is one table (geometry column ``geom`` in EPSG:28992, or no geometry for
tables such as weather) plus a row in the catalogue table ``tweeling_layers`` that
holds its schema, feature count, extent and import report. Writing layers is one
transaction: either every layer of a call is stored, or none and the store is as
it was. All SQL is parameterised; identifiers are checked against a strict pattern.
The dialect-specific part (connection, bulk load, a few function names) lives in
the two subclasses.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from tweeling.core.crs import STORE_EPSG
from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.core.schema import FieldSpec, LayerSchema, is_identifier
from tweeling.store.cql2 import order_by_sql

CATALOG_TABLE = "tweeling_layers"
CATALOG_RECHECK_S = 1.0
"""How stale (seconds) a read-only store's cached catalogue may be."""
GEOMETRY_COLUMN = "geom"
Bbox = tuple[float, float, float, float]


class SqlCondition(Protocol):
    """A boolean SQL expression with positional placeholders of the store's dialect, and its values."""

    @property
    def sql(self) -> str: ...

    @property
    def params(self) -> list[Any]: ...


@dataclass
class LayerData:
    """A layer ready to be written: its rows, its schema and how it was made."""

    schema: LayerSchema
    frame: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None

    @property
    def name(self) -> str:
        """The layer (and table) name."""
        return self.schema.name


@dataclass(frozen=True)
class LayerInfo:
    """What the catalogue knows about a stored layer."""

    name: str
    title: str
    geometry_type: str | None
    srid: int | None
    feature_count: int
    extent: Bbox | None
    schema: LayerSchema
    report: dict[str, Any]
    fingerprint: str | None
    imported_at: datetime


def check_identifier(name: str, what: str = "layer name") -> str:
    """Return ``name`` if it is a safe identifier, else raise a clear InvalidInputError."""
    if not is_identifier(name):
        raise InvalidInputError(
            f"invalid {what} {name!r}: use 1-63 lower-case letters, digits and '_', starting with a letter"
        )
    if name == CATALOG_TABLE:
        raise InvalidInputError(f"{what} {name!r} is reserved for the store's catalogue")
    return name


def geometry_extent(frame: pd.DataFrame) -> Bbox | None:
    """Bounding box [minx, miny, maxx, maxy] of a GeoDataFrame, None for tables or empty layers."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.empty or frame.geometry.isna().all():
        return None
    minx, miny, maxx, maxy = frame.total_bounds
    return float(minx), float(miny), float(maxx), float(maxy)


def prepare_frame(layer: LayerData) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Check a layer against its schema; return its columns in schema order and WKB geometries.

    Raises InvalidInputError when a schema column is missing, a name is unsafe or the
    geometry is not in the store CRS (EPSG:28992).
    """
    schema = layer.schema
    check_identifier(schema.name)
    for name in schema.field_names:
        check_identifier(name, "column name")
        if name == GEOMETRY_COLUMN:
            raise InvalidInputError(f"column name {name!r} is reserved for the geometry")
    missing = [name for name in schema.field_names if name not in layer.frame.columns]
    if missing:
        raise InvalidInputError(
            f"layer {schema.name!r}: columns {missing} are in the schema but not the data"
        )
    columns = layer.frame[schema.field_names].copy()
    if schema.geometry_type is None:
        return columns, None
    frame = layer.frame
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInputError(f"layer {schema.name!r} has a geometry type but no geometry column")
    if frame.crs is None or frame.crs.to_epsg() != STORE_EPSG:
        raise InvalidInputError(f"layer {schema.name!r} must be in EPSG:{STORE_EPSG}, got {frame.crs}")
    return columns, shapely.to_wkb(frame.geometry.values, include_srid=False)


def schema_json(schema: LayerSchema) -> str:
    """The schema as JSON text for the catalogue."""
    return schema.model_dump_json()


def catalog_row(layer: LayerData, count: int) -> dict[str, Any]:
    """The catalogue row of a layer about to be written."""
    extent = geometry_extent(layer.frame) if layer.schema.geometry_type else None
    return {
        "name": layer.name,
        "title": layer.schema.title,
        "geometry_type": layer.schema.geometry_type,
        "srid": STORE_EPSG if layer.schema.geometry_type else None,
        "feature_count": count,
        "minx": extent[0] if extent else None,
        "miny": extent[1] if extent else None,
        "maxx": extent[2] if extent else None,
        "maxy": extent[3] if extent else None,
        "schema_json": schema_json(layer.schema),
        "report_json": json.dumps(layer.report, default=str),
        "fingerprint": layer.fingerprint,
        "imported_at": datetime.now(UTC).replace(tzinfo=None),
    }


CATALOG_COLUMNS = [
    "name",
    "title",
    "geometry_type",
    "srid",
    "feature_count",
    "minx",
    "miny",
    "maxx",
    "maxy",
    "schema_json",
    "report_json",
    "fingerprint",
    "imported_at",
]


def info_from_row(row: Sequence[Any]) -> LayerInfo:
    """Turn a catalogue row (in CATALOG_COLUMNS order) into a LayerInfo."""
    values = dict(zip(CATALOG_COLUMNS, row, strict=True))
    corners = (values["minx"], values["miny"], values["maxx"], values["maxy"])
    extent = None if any(v is None for v in corners) else tuple(float(v) for v in corners)
    return LayerInfo(
        name=values["name"],
        title=values["title"],
        geometry_type=values["geometry_type"],
        srid=values["srid"],
        feature_count=int(values["feature_count"]),
        extent=extent,  # type: ignore[arg-type]
        schema=LayerSchema.model_validate_json(values["schema_json"]),
        report=json.loads(values["report_json"] or "{}"),
        fingerprint=values["fingerprint"],
        imported_at=values["imported_at"],
    )


def restore_types(frame: pd.DataFrame, fields: Sequence[FieldSpec]) -> pd.DataFrame:
    """Give columns read back from the store the pandas types their schema promises."""
    for spec in fields:
        if spec.name not in frame.columns:
            continue
        if spec.type == "integer":
            frame[spec.name] = frame[spec.name].astype("Int64")
        elif spec.type == "boolean":
            frame[spec.name] = frame[spec.name].astype("boolean")
        elif spec.type == "datetime":
            frame[spec.name] = pd.to_datetime(frame[spec.name])
    return frame


class Store(ABC):
    """One interface over the embedded and the server store."""

    dialect: str
    url: str
    read_only: bool = False
    _catalog_cache: tuple[tuple[Any, ...], list[LayerInfo]] | None = None
    _catalog_checked: float = 0.0

    # -- dialect hooks -------------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement with positional parameters."""

    @abstractmethod
    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query and return all rows."""

    @abstractmethod
    def _fetch_frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run one query and return a DataFrame (binary geometry as bytes)."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all."""

    @abstractmethod
    def _create_table(self, layer: LayerData, columns: pd.DataFrame, wkb: np.ndarray | None) -> None:
        """Create the layer's table and bulk-load its rows (inside a transaction)."""

    @abstractmethod
    def _envelope_sql(self) -> str:
        """SQL for an envelope in the store CRS from four positional parameters."""

    @abstractmethod
    def _geometry_as_wkb_sql(self) -> str:
        """SQL expression returning the geometry column as WKB."""

    @abstractmethod
    def _extent_sql(self) -> str:
        """SQL aggregate returning the envelope of the geometry column."""

    @abstractmethod
    def _catalog_ddl(self) -> str:
        """CREATE TABLE IF NOT EXISTS statement of the catalogue."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    @abstractmethod
    def bulk_insert(self, table: str, data: pa.Table) -> None:
        """Append the rows of an Arrow table to ``table`` (columns by name; inside a transaction)."""

    @abstractmethod
    @contextmanager
    def staged(self, name: str, data: pa.Table) -> Iterator[str]:
        """Make an Arrow table readable in SQL under a name (for one bulk statement); yields that name."""

    @abstractmethod
    def geometry_from_wkb_sql(self, srid: int) -> str:
        """SQL for a geometry in ``srid`` from one WKB parameter."""

    @abstractmethod
    def next_ids(self, sequence: str, count: int) -> list[int]:
        """Reserve ``count`` values of a sequence (ids for a bulk insert)."""

    def placeholder(self, count: int) -> str:
        """Comma-separated positional placeholders for ``count`` parameters."""
        return ", ".join(["?"] * count)

    # -- shared behaviour ----------------------------------------------------------
    def ensure_catalog(self) -> None:
        """Create the catalogue table if it does not exist (no-op on a read-only store)."""
        if not self.read_only:
            self._execute(self._catalog_ddl())

    def _has_catalog(self) -> bool:
        rows = self._fetchall(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = " + self.placeholder(1),
            (CATALOG_TABLE,),
        )
        return bool(rows[0][0])

    def list_layers(self) -> list[LayerInfo]:
        """Every stored layer, by name.

        The parsed catalogue is cached and re-read only when the catalogue changed (its row
        count or latest import time differ); a read-only store (the server's) checks that at
        most once per CATALOG_RECHECK_S, so per-request look-ups stay cheap.
        """
        if (
            self.read_only
            and self._catalog_cache is not None
            and time.monotonic() - self._catalog_checked < CATALOG_RECHECK_S
        ):
            return list(self._catalog_cache[1])
        if not self._has_catalog():
            return []
        self._catalog_checked = time.monotonic()
        signature = tuple(self._fetchall(f"SELECT count(*), max(imported_at) FROM {CATALOG_TABLE}")[0])
        if self._catalog_cache is not None and self._catalog_cache[0] == signature:
            return list(self._catalog_cache[1])
        cols = ", ".join(CATALOG_COLUMNS)
        rows = self._fetchall(f"SELECT {cols} FROM {CATALOG_TABLE} ORDER BY name")
        layers = [info_from_row(row) for row in rows]
        self._catalog_cache = (signature, layers)
        return list(layers)

    def has_layer(self, name: str) -> bool:
        """True when a layer of that name is stored."""
        return any(info.name == name for info in self.list_layers())

    def layer(self, name: str) -> LayerInfo:
        """Catalogue entry of one layer; NotFoundError with the known names otherwise."""
        layers = self.list_layers()
        for info in layers:
            if info.name == name:
                return info
        known = ", ".join(info.name for info in layers) or "none"
        raise NotFoundError(f"no layer {name!r} in the store (layers: {known})")

    def write_layers(self, layers: Sequence[LayerData], *, replace: bool = True) -> None:
        """Store several layers in one transaction, replacing same-named layers if ``replace``.

        On any error nothing is changed and the error is raised.
        """
        prepared = [(layer, *prepare_frame(layer)) for layer in layers]
        self.ensure_catalog()
        existing = {info.name for info in self.list_layers()}
        clash = [layer.name for layer in layers if layer.name in existing]
        if clash and not replace:
            raise InvalidInputError(
                f"layer {clash[0]!r} already exists; pass --replace to overwrite it or choose another name"
            )
        with self.transaction():
            for layer, columns, wkb in prepared:
                self._execute(f"DROP TABLE IF EXISTS {layer.name}")
                self._execute(
                    f"DELETE FROM {CATALOG_TABLE} WHERE name = {self.placeholder(1)}", (layer.name,)
                )
                self._create_table(layer, columns, wkb)
                row = catalog_row(layer, len(columns))
                self._execute(
                    f"INSERT INTO {CATALOG_TABLE} ({', '.join(CATALOG_COLUMNS)}) "
                    f"VALUES ({self.placeholder(len(CATALOG_COLUMNS))})",
                    [row[c] for c in CATALOG_COLUMNS],
                )

    def drop_layer(self, name: str) -> None:
        """Remove a layer and its catalogue entry."""
        self.layer(name)
        with self.transaction():
            self._execute(f"DROP TABLE IF EXISTS {check_identifier(name)}")
            self._execute(f"DELETE FROM {CATALOG_TABLE} WHERE name = {self.placeholder(1)}", (name,))

    def _where_sql(
        self, info: LayerInfo, bbox: Bbox | None, where: Sequence[SqlCondition]
    ) -> tuple[str, list[Any]]:
        """WHERE clause (with leading space, or empty) and its parameters: bbox AND conditions."""
        parts: list[str] = []
        params: list[Any] = []
        if bbox is not None:
            if info.geometry_type is None:
                raise InvalidInputError(f"layer {info.name!r} has no geometry; a bbox does not apply")
            minx, miny, maxx, maxy = bbox
            if not (minx <= maxx and miny <= maxy):
                raise InvalidInputError(f"bbox {list(bbox)} must be [minx, miny, maxx, maxy] with min <= max")
            parts.append(f"ST_Intersects({GEOMETRY_COLUMN}, {self._envelope_sql()})")
            params.extend([minx, miny, maxx, maxy])
        for condition in where:
            parts.append(f"({condition.sql})")
            params.extend(condition.params)
        return (f" WHERE {' AND '.join(parts)}" if parts else ""), params

    def _select_sql(
        self,
        info: LayerInfo,
        columns: Sequence[str] | None,
        *,
        bbox: Bbox | None,
        where: Sequence[SqlCondition],
        order_by: Sequence[tuple[str, bool]] | None,
        limit: int | None,
        offset: int,
        geometry: bool,
    ) -> tuple[str, list[Any], list[str]]:
        """SELECT statement, parameters and column names (geometry as WKB named ``geom`` last)."""
        names = info.schema.field_names
        wanted = list(columns) if columns is not None else names
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise InvalidInputError(
                f"layer {info.name!r} has no column(s) {unknown}; columns: {', '.join(names)}"
            )
        select = list(wanted)
        if geometry and info.geometry_type:
            select.append(f"{self._geometry_as_wkb_sql()} AS {GEOMETRY_COLUMN}")
        where_sql, params = self._where_sql(info, bbox, where)
        if order_by is None:
            order_by = [(info.schema.primary_key, True)] if info.schema.primary_key else []
        bad = [column for column, _ in order_by if column not in names]
        if bad:
            raise InvalidInputError(f"cannot sort layer {info.name!r} by {bad}; columns: {', '.join(names)}")
        sql = f"SELECT {', '.join(select)} FROM {info.name}{where_sql}"
        if order_by:
            sql += " " + order_by_sql(order_by)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        out_names = [*wanted, GEOMETRY_COLUMN] if geometry and info.geometry_type else wanted
        return sql, params, out_names

    def count(self, name: str, *, bbox: Bbox | None = None, where: Sequence[SqlCondition] = ()) -> int:
        """Number of rows of a layer matching ``bbox`` (EPSG:28992) and the SQL conditions."""
        info = self.layer(name)
        where_sql, params = self._where_sql(info, bbox, where)
        return int(self._fetchall(f"SELECT count(*) FROM {info.name}{where_sql}", params)[0][0])

    def extent(self, name: str) -> Bbox | None:
        """Extent of a layer as computed by the database (None for tables)."""
        info = self.layer(name)
        if info.geometry_type is None:
            return None
        row = self._fetchall(f"SELECT {self._extent_sql()} FROM {info.name}")[0]
        if row[0] is None:
            return None
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])

    def value_range(self, name: str, column: str) -> tuple[Any, Any]:
        """Minimum and maximum of one column (e.g. the time extent of a temporal layer)."""
        info = self.layer(name)
        if column not in info.schema.field_names:
            raise InvalidInputError(f"layer {name!r} has no column {column!r}")
        low, high = self._fetchall(f"SELECT min({column}), max({column}) FROM {info.name}")[0]
        return low, high

    def select_rows(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        bbox: Bbox | None = None,
        where: Sequence[SqlCondition] = (),
        order_by: Sequence[tuple[str, bool]] | None = None,
        limit: int | None = None,
        offset: int = 0,
        geometry: bool = True,
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Rows as plain Python values (geometry as WKB bytes, last), for serialising.

        Default order is the primary key, so that pages of ``limit``/``offset`` are stable.
        """
        info = self.layer(name)
        sql, params, names = self._select_sql(
            info,
            columns,
            bbox=bbox,
            where=where,
            order_by=order_by,
            limit=limit,
            offset=offset,
            geometry=geometry,
        )
        return names, self._fetchall(sql, params)

    def read_layer(
        self,
        name: str,
        *,
        bbox: Bbox | None = None,
        columns: Sequence[str] | None = None,
        where: Sequence[SqlCondition] = (),
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Read a layer (a GeoDataFrame in EPSG:28992, or a DataFrame for tables)."""
        info = self.layer(name)
        sql, params, _ = self._select_sql(
            info, columns, bbox=bbox, where=where, order_by=None, limit=limit, offset=0, geometry=True
        )
        frame = self._fetch_frame(sql, params)
        frame = restore_types(frame, info.schema.fields)
        if not info.geometry_type:
            return frame
        geometry = shapely.from_wkb([None if g is None else bytes(g) for g in frame.pop(GEOMETRY_COLUMN)])
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=f"EPSG:{STORE_EPSG}")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SQL_TYPES: dict[str, dict[str, str]] = {
    "duckdb": {
        "string": "VARCHAR",
        "integer": "BIGINT",
        "number": "DOUBLE",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "datetime": "TIMESTAMP",
    },
    "postgis": {
        "string": "TEXT",
        "integer": "BIGINT",
        "number": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "datetime": "TIMESTAMP",
    },
}


def column_definitions(schema: LayerSchema, dialect: str) -> list[str]:
    """``name TYPE`` for every schema column in the given dialect."""
    types = SQL_TYPES[dialect]
    return [f"{spec.name} {types[spec.type]}" for spec in schema.fields]


_ARROW_TYPES = {
    "string": "string",
    "integer": "int64",
    "number": "float64",
    "boolean": "bool",
    "date": "date32",
    "datetime": "timestamp[us]",
}


def to_arrow(columns: pd.DataFrame, schema: LayerSchema, wkb: np.ndarray | None) -> Any:
    """Columns as a pyarrow Table typed by the schema, with a ``geom_wkb`` binary column.

    Raises InvalidInputError naming the column when a value does not fit its type.
    """
    import pyarrow as pa

    arrays = []
    names = []
    for spec in schema.fields:
        series = columns[spec.name]
        try:
            if spec.type == "string":
                values = [None if _missing(v) else str(v) for v in series]
                array = pa.array(values, type=pa.string())
            elif spec.type == "date":
                array = pa.array(pd.to_datetime(series).dt.date, type=pa.date32(), from_pandas=True)
            elif spec.type == "datetime":
                array = pa.array(pd.to_datetime(series), type=pa.timestamp("us"), from_pandas=True)
            else:
                array = pa.array(series, type=pa.type_for_alias(_ARROW_TYPES[spec.type]), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"layer {schema.name!r}: column {spec.name!r} does not hold {spec.type} values ({exc})"
            ) from exc
        arrays.append(array)
        names.append(spec.name)
    if wkb is not None:
        arrays.append(pa.array(list(wkb), type=pa.binary()))
        names.append("geom_wkb")
    return pa.Table.from_arrays(arrays, names=names)


def _missing(value: Any) -> bool:
    """True for None and NaN-like scalars."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
