"""Server store: PostgreSQL 15 + PostGIS 3, selected by a ``postgresql://`` URL.

Same tables and catalogue as the embedded store; geometry columns are
``geometry(Geometry, 28992)`` with a GiST index. Rows are bulk-loaded with COPY.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import shapely

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

_ARROW_TO_SQL = {
    "int64": "BIGINT",
    "double": "DOUBLE PRECISION",
    "string": "TEXT",
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
}
"""SQL types of staged Arrow columns."""


class PostGISStore(Store):
    """A store in a PostgreSQL database with the PostGIS extension."""

    dialect = "postgis"

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise ConfigurationError(
                "a postgresql:// store needs psycopg: pip install 'tweeling[postgres]'"
            ) from exc
        self.url = url
        self.read_only = read_only
        try:
            self._con = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot connect to the PostgreSQL store: {first_line}") from exc
        self._con.execute("SET TIME ZONE 'UTC'")
        if read_only:
            self._con.execute("SET default_transaction_read_only = on")
        else:
            self._con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        self.ensure_catalog()

    def bulk_insert(self, table: str, data: pa.Table) -> None:
        """COPY in CSV written by Arrow (in C): much faster than row by row for big batches.

        Arrow writes a null as an empty unquoted field, which CSV COPY reads as NULL, and quotes
        every string, so an empty string stays an empty string.
        """
        buffer = io.BytesIO()
        pa_csv.write_csv(data, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"))
        with (
            self._con.cursor() as cursor,
            cursor.copy(
                f"COPY {table} ({', '.join(data.column_names)}) FROM STDIN WITH (FORMAT csv)"
            ) as copy,
        ):
            copy.write(buffer.getvalue())

    @contextmanager
    def staged(self, name: str, data: pa.Table) -> Iterator[str]:
        table = f"_staged_{name}"
        columns = ", ".join(f"{field.name} {_ARROW_TO_SQL[str(field.type)]}" for field in data.schema)
        self._execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns})")
        self._execute(f"TRUNCATE {table}")
        self.bulk_insert(table, data)
        yield table

    def geometry_from_wkb_sql(self, srid: int) -> str:
        return f"ST_SetSRID(ST_GeomFromWKB(%s), {int(srid)})"

    def next_ids(self, sequence: str, count: int) -> list[int]:
        rows = self._fetchall(f"SELECT nextval('{sequence}') FROM generate_series(1, %s)", [count])
        return [int(row[0]) for row in rows]

    def placeholder(self, count: int) -> str:
        return ", ".join(["%s"] * count)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(sql, list(params) if params else None)

    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._con.execute(sql, list(params) if params else None).fetchall()

    def _fetch_frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cursor = self._con.execute(sql, list(params) if params else None)
        names = [column.name for column in cursor.description or []]
        return pd.DataFrame(cursor.fetchall(), columns=names)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._con.transaction():
            yield

    def _has_catalog(self) -> bool:
        row = self._con.execute("SELECT to_regclass(%s) IS NOT NULL", [CATALOG_TABLE]).fetchone()
        return bool(row and row[0])

    def _create_table(self, layer: LayerData, columns: pd.DataFrame, wkb: np.ndarray | None) -> None:
        definitions = column_definitions(layer.schema, self.dialect)
        names = list(layer.schema.field_names)
        table = to_arrow(columns, layer.schema, None)
        geometries: list[str | None] | None = None
        if wkb is not None:
            definitions.append(f"{GEOMETRY_COLUMN} geometry(Geometry, {STORE_EPSG})")
            names.append(GEOMETRY_COLUMN)
            shapes = shapely.set_srid(shapely.from_wkb(wkb), STORE_EPSG)
            geometries = list(shapely.to_wkb(shapes, hex=True, include_srid=True))
        self._execute(f"CREATE TABLE {layer.name} ({', '.join(definitions)})")
        rows = zip(*[table.column(i).to_pylist() for i in range(table.num_columns)], strict=True)
        with (
            self._con.cursor() as cursor,
            cursor.copy(f"COPY {layer.name} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for index, row in enumerate(rows):
                copy.write_row((*row, geometries[index]) if geometries is not None else row)
        if wkb is not None:
            self._execute(
                f"CREATE INDEX {layer.name}_geom_idx ON {layer.name} USING GIST ({GEOMETRY_COLUMN})"
            )
        self._execute(f"ANALYZE {layer.name}")

    def _envelope_sql(self) -> str:
        return f"ST_MakeEnvelope(%s, %s, %s, %s, {STORE_EPSG})"

    def _geometry_as_wkb_sql(self) -> str:
        return f"ST_AsBinary({GEOMETRY_COLUMN})"

    def _extent_sql(self) -> str:
        box = f"ST_Extent({GEOMETRY_COLUMN})"
        return f"ST_XMin({box}), ST_YMin({box}), ST_XMax({box}), ST_YMax({box})"

    def _catalog_ddl(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {CATALOG_TABLE} (name TEXT PRIMARY KEY, title TEXT, "
            "geometry_type TEXT, srid INTEGER, feature_count BIGINT, minx DOUBLE PRECISION, "
            "miny DOUBLE PRECISION, maxx DOUBLE PRECISION, maxy DOUBLE PRECISION, schema_json TEXT, "
            "report_json TEXT, fingerprint TEXT, imported_at TIMESTAMP)"
        )

    def close(self) -> None:
        self._con.close()
