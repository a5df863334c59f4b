"""Embedded store: one DuckDB file with the spatial extension, no server.

The spatial extension is loaded from the ``duckdb-extension-spatial`` wheel's own file
(pinned to the same version as ``duckdb``), never downloaded at run time. Several
processes may open the file read-only at once (e.g. the server and ``tweeling info``);
only one may write.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from tweeling.core.crs import STORE_EPSG
from tweeling.core.errors import ConfigurationError, StoreError
from tweeling.store.base import (
    CATALOG_TABLE,
    GEOMETRY_COLUMN,
    LayerData,
    Store,
    column_definitions,
    to_arrow,
)

_WRITERS: weakref.WeakValueDictionary[str, DuckDBStore] = weakref.WeakValueDictionary()
"""Files this process holds open for writing, by resolved path."""


def _connect(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file; StoreError with a clear message when another process holds it."""
    try:
        return duckdb.connect(path, read_only=read_only)
    except (duckdb.IOException, duckdb.ConnectionException) as exc:
        text = str(exc).lower()
        if "lock" in text:
            message = (
                f"cannot open the store {path}: another process (e.g. a running tweeling server) holds it; "
                "the embedded store has one writer at a time: stop that process, or use a PostgreSQL store"
            )
        elif "different configuration" in text:
            message = (
                f"cannot open the store {path} for writing: this process already reads it; "
                "close the read-only connections first"
            )
        else:
            message = f"cannot open the store {path}: {str(exc).splitlines()[0]}"
        raise StoreError(message) from exc


@lru_cache(maxsize=1)
def spatial_extension_path() -> Path:
    """Path of the spatial extension file shipped in the ``duckdb-extension-spatial`` wheel."""
    try:
        import duckdb_extension_spatial
    except ImportError as exc:
        raise ConfigurationError(
            "the DuckDB spatial extension is not installed: pip install duckdb-extension-spatial=="
            + duckdb.__version__
        ) from exc
    folder = Path(duckdb_extension_spatial.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    found = sorted(folder.glob("spatial.duckdb_extension"))
    if not found:
        raise ConfigurationError(
            f"no spatial extension for duckdb {duckdb.__version__} in duckdb-extension-spatial; "
            f"install duckdb-extension-spatial=={duckdb.__version__} (the versions must match)"
        )
    return found[0]


class DuckDBStore(Store):
    """A store in one DuckDB file (or in memory for ``duckdb://:memory:``)."""

    dialect = "duckdb"
    _con: duckdb.DuckDBPyConnection

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.url = f"duckdb://{path}"
        self.path = path
        self.read_only = read_only
        self._key = str(Path(path).resolve()) if path != ":memory:" else None
        if self._key is not None:
            if read_only and not Path(path).exists():
                raise StoreError(f"no store at {path}: run `tweeling demo` or `tweeling import` first")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = _WRITERS.get(self._key) if self._key else None
        if writer is not None:
            # this process already has the file open for writing: share that database (DuckDB
            # refuses a second open of one file with another configuration in one process)
            self._con = writer._con.cursor()
        else:
            self._con = _connect(path, read_only)
            if not read_only and self._key:
                _WRITERS[self._key] = self
        self._prepare()

    def _prepare(self) -> None:
        self._con.execute(f"LOAD '{spatial_extension_path()}'")
        self._con.execute("SET TimeZone = 'UTC'")
        self.ensure_catalog()

    def bulk_insert(self, table: str, data: pa.Table) -> None:
        view = f"_bulk_{table}"
        self._con.register(view, data)
        try:
            names = ", ".join(data.column_names)
            self._execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {view}")
        finally:
            self._con.unregister(view)

    @contextmanager
    def staged(self, name: str, data: pa.Table) -> Iterator[str]:
        view = f"_staged_{name}"
        self._con.register(view, data)
        try:
            yield view
        finally:
            self._con.unregister(view)

    def geometry_from_wkb_sql(self, srid: int) -> str:
        return "ST_GeomFromWKB(?)"

    def next_ids(self, sequence: str, count: int) -> list[int]:
        rows = self._fetchall(f"SELECT nextval('{sequence}') FROM range(?)", [count])
        return [int(row[0]) for row in rows]

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(sql, list(params))

    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._con.execute(sql, list(params)).fetchall()

    def _fetch_frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self._con.execute(sql, list(params)).to_arrow_table().to_pandas()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._con.begin()
        try:
            yield
        except BaseException:
            self._con.rollback()
            raise
        self._con.commit()

    def _create_table(self, layer: LayerData, columns: pd.DataFrame, wkb: np.ndarray | None) -> None:
        definitions = column_definitions(layer.schema, self.dialect)
        names = layer.schema.field_names
        select = list(names)
        if wkb is not None:
            definitions.append(f"{GEOMETRY_COLUMN} GEOMETRY")
            names = [*names, GEOMETRY_COLUMN]
            select.append("ST_GeomFromWKB(geom_wkb)")
        self._execute(f"CREATE TABLE {layer.name} ({', '.join(definitions)})")
        staged = to_arrow(columns, layer.schema, wkb)
        view = f"_staged_{layer.name}"
        self._con.register(view, staged)
        try:
            self._execute(
                f"INSERT INTO {layer.name} ({', '.join(names)}) SELECT {', '.join(select)} FROM {view}"
            )
        finally:
            self._con.unregister(view)
        if wkb is not None:
            self._execute(
                f"CREATE INDEX {layer.name}_geom_idx ON {layer.name} USING RTREE ({GEOMETRY_COLUMN})"
            )

    def _envelope_sql(self) -> str:
        return "ST_MakeEnvelope(?, ?, ?, ?)"

    def _geometry_as_wkb_sql(self) -> str:
        return f"ST_AsWKB({GEOMETRY_COLUMN})"

    def _extent_sql(self) -> str:
        box = f"ST_Extent_Agg({GEOMETRY_COLUMN})"
        return f"ST_XMin({box}), ST_YMin({box}), ST_XMax({box}), ST_YMax({box})"

    def _catalog_ddl(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {CATALOG_TABLE} (name VARCHAR PRIMARY KEY, title VARCHAR, "
            "geometry_type VARCHAR, srid INTEGER, feature_count BIGINT, minx DOUBLE, miny DOUBLE, "
            "maxx DOUBLE, maxy DOUBLE, schema_json VARCHAR, report_json VARCHAR, fingerprint VARCHAR, "
            "imported_at TIMESTAMP)"
        )

    def close(self) -> None:
        if self._key and _WRITERS.get(self._key) is self:
            del _WRITERS[self._key]
        self._con.close()


__all__ = ["STORE_EPSG", "DuckDBStore", "spatial_extension_path"]
