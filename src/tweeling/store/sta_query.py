"""Read path of the SensorThings API 1.1: a resource path and query options in, a JSON-ready response out.

``read`` resolves the path (one small query per navigation step, so ``Datastreams(5)/Observations``
becomes ``WHERE datastream_id = 5`` on the observations table, no join), compiles ``$filter`` and
``$orderby`` to parameterised SQL (user values only ever travel as bind parameters; identifiers
come only from ``sta_schema``), reads one page plus one row (so it knows whether to add an
``@iot.nextLink``), and runs each ``$expand`` level as one query for all parents, paged per
parent with ``ROW_NUMBER() OVER (PARTITION BY parent ...)``.

Rules of the filter compiler:

- Default order is ``@iot.id`` ascending; ``$orderby`` keys come first and the id breaks ties.
  Nulls sort last ascending and first descending (PostgreSQL's default, so B-tree indexes serve
  both directions). An interval sorts by its start.
- Interval properties (phenomenonTime, validTime, a Datastream's resultTime) are ``[start, end]``
  (``end`` = ``start`` for an instant). Against a datetime ``t``: ``gt``/``ge`` compare the start
  (the interval lies after ``t``), ``lt``/``le`` need start and end before ``t`` (the interval
  lies before it), ``eq`` needs start = end = ``t``, ``ne`` is ``not eq``. For instants this is a
  plain comparison of the start, and every rule tests the start column directly, so the
  ``(datastream_id, phenomenon_time_start)`` index and DuckDB's zone maps apply. Two interval
  properties compare by their starts. Functions and arithmetic on an interval use its start.
- ``result`` compares as ``result_number`` against a number and as the JSON text (a string
  without quotes, ``true``/``false``) against a string or boolean; JSON members likewise.
- A path over a relation (``Datastream/name``, ``Datastreams/ObservedProperty/name``) turns the
  smallest condition that holds it into ``EXISTS (SELECT 1 ... WHERE <join> AND <condition>)``:
  "some related entity satisfies it". ``Datastream/@iot.id`` reads the foreign key directly.
- Geometry functions run on the ``geom`` / ``observed_area_geom`` columns in plain WGS84
  lon/lat: ``geo.distance`` and ``geo.length`` are in degrees (1° of latitude ≈ 111 km; at
  Dordrecht 1° of longitude ≈ 69 km). ``geography'...'`` literals are treated as geometries.
  ``st_relate`` needs the PostgreSQL store (DuckDB's spatial extension has no ST_Relate).
- ``now()`` is the time of the request, bound as a parameter; arithmetic on literal datetimes and
  durations without months is folded before the query runs. Datetime functions (``year`` …)
  work in UTC; ``totaloffsetminutes`` is always 0 as times are stored in UTC. ``div`` is real
  division; division or ``mod`` by zero gives null. ``round`` rounds halves away from zero.
- A value the database cannot evaluate (overflow, a bad conversion) is an InvalidInputError.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import duckdb
import orjson

from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.store.base import Store
from tweeling.store.sta_odata import (
    ID_PROPERTY,
    RESULT_FORMAT_DATA_ARRAY,
    Arithmetic,
    Comparison,
    Constant,
    Duration,
    Expand,
    Expr,
    FunctionCall,
    Geometry,
    Logical,
    Not,
    OrderKey,
    PropertyRef,
    QueryOptions,
    ResourcePath,
)
from tweeling.store.sta_schema import ENTITY_TYPES, STA_EPSG, EntityType, Property, Relation

try:
    import psycopg

    _DATA_ERRORS: tuple[type[Exception], ...] = (
        duckdb.DataError,
        duckdb.InvalidInputException,
        psycopg.DataError,
    )
except ImportError:  # the PostgreSQL extra is not installed
    _DATA_ERRORS = (duckdb.DataError, duckdb.InvalidInputException)

MIN_DATETIME = datetime(1, 1, 1, tzinfo=UTC)
MAX_DATETIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
_QUERY_SAFE = "$(),/':@*"
_SQL_COMPARATORS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_ARITHMETIC = {"add": "+", "sub": "-", "mul": "*"}
_JSON_NUMBER_TYPES = "('BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT', 'DOUBLE')"
_SPATIAL = {
    "geo.intersects": "ST_Intersects",
    "st_equals": "ST_Equals",
    "st_disjoint": "ST_Disjoint",
    "st_touches": "ST_Touches",
    "st_within": "ST_Within",
    "st_overlaps": "ST_Overlaps",
    "st_crosses": "ST_Crosses",
    "st_intersects": "ST_Intersects",
    "st_contains": "ST_Contains",
    "st_relate": "ST_Relate",
    "geo.distance": "ST_Distance",
    "geo.length": "ST_Length",
}
_DATE_PARTS = {"year": "YEAR", "month": "MONTH", "day": "DAY", "hour": "HOUR", "minute": "MINUTE"}
_TYPED_NULLS = {
    "string": "CAST(NULL AS VARCHAR)",
    "number": "CAST(NULL AS DOUBLE PRECISION)",
    "datetime": "CAST(NULL AS TIMESTAMPTZ)",
    "geometry": "CAST(NULL AS GEOMETRY)",
}


# -- SQL fragments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frag:
    """A piece of SQL and the values of its placeholders, in order."""

    sql: str
    params: tuple[Any, ...] = ()


def _sql(template: str, *parts: _Frag) -> _Frag:
    """Fill the ``{}`` markers of ``template`` with fragments, keeping their parameters in order."""
    pieces = template.split("{}")
    if len(pieces) != len(parts) + 1:
        raise ValueError(f"template {template!r} has {len(pieces) - 1} markers for {len(parts)} parts")
    sql = pieces[0]
    params: list[Any] = []
    for part, piece in zip(parts, pieces[1:], strict=True):
        sql += part.sql + piece
        params.extend(part.params)
    return _Frag(sql, tuple(params))


def _join(separator: str, parts: Sequence[_Frag]) -> _Frag:
    """Fragments joined by ``separator``, parameters in order."""
    return _Frag(separator.join(p.sql for p in parts), tuple(v for p in parts for v in p.params))


Scope = dict[tuple[str, ...], tuple[str, EntityType]]
"""Table aliases in reach: navigation prefix from the queried entity → (alias, entity type)."""


def _geometry_column(prop: Property) -> str:
    """The geometry column that ``sta_ddl`` keeps next to a GeoJSON property."""
    return "observed_area_geom" if prop.column == "observed_area" else "geom"


def _foreign_key_shortcut(entity: EntityType, remaining: tuple[str, ...], ref: PropertyRef) -> str | None:
    """The foreign-key column that holds ``Relation/@iot.id`` of a to-one relation, if that is asked."""
    if len(remaining) != 1 or ref.name != ID_PROPERTY or ref.json_path:
        return None
    relation = entity.relation(remaining[0])
    if relation is None or relation.many or relation.reverse or relation.foreign_key is None:
        return None
    return relation.foreign_key


class _Compiler:
    """Compiles filter and sort expressions to SQL of one dialect."""

    def __init__(self, dialect: str, placeholder: str) -> None:
        self.dialect = dialect
        self.ph = placeholder
        self.now = datetime.now(UTC)
        self._aliases = itertools.count(1)

    def param(self, value: Any) -> _Frag:
        """One bound value."""
        return _Frag(self.ph, (value,))

    # -- JSON ------------------------------------------------------------------------------------
    def json_text(self, column: str, path: tuple[str, ...]) -> _Frag:
        """A JSON member (or the whole document) as text: strings without quotes."""
        if self.dialect == "duckdb":
            json_path = "$" + "".join(f'."{member}"' for member in path)
            return _Frag(f"json_extract_string({column}, {self.ph})", (json_path,))
        if not path:
            return _Frag(f"({column} #>> '{{}}')")
        return _Frag(f"({column} #>> {self.ph})", (list(path),))

    def json_number(self, column: str, path: tuple[str, ...]) -> _Frag:
        """A JSON member as a number, null when it is not a JSON number."""
        if self.dialect == "duckdb":
            json_path = "$" + "".join(f'."{member}"' for member in path)
            return _Frag(
                f"CASE WHEN json_type({column}, {self.ph}) IN {_JSON_NUMBER_TYPES} "
                f"THEN TRY_CAST(json_extract_string({column}, {self.ph}) AS DOUBLE) END",
                (json_path, json_path),
            )
        if not path:
            return _Frag(
                f"CASE WHEN jsonb_typeof({column}) = 'number' "
                f"THEN CAST({column} #>> '{{}}' AS DOUBLE PRECISION) END"
            )
        return _Frag(
            f"CASE WHEN jsonb_typeof({column} #> {self.ph}) = 'number' "
            f"THEN CAST({column} #>> {self.ph} AS DOUBLE PRECISION) END",
            (list(path), list(path)),
        )

    # -- boolean conditions ----------------------------------------------------------------------
    def predicate(self, expr: Expr, scope: Scope) -> _Frag:
        """A boolean SQL expression for a boolean filter expression."""
        if isinstance(expr, Logical):
            operator = " AND " if expr.operator == "and" else " OR "
            return _sql(
                "({}" + operator + "{})", self.predicate(expr.left, scope), self.predicate(expr.right, scope)
            )
        if isinstance(expr, Not):
            return _sql("(NOT {})", self.predicate(expr.operand, scope))
        if isinstance(expr, Constant):
            return _Frag("TRUE" if expr.value else "FALSE")
        pending = self._first_outside(expr, scope)
        if pending is not None:
            return self._exists(expr, scope, pending)
        if isinstance(expr, Comparison):
            return self._comparison(expr, scope)
        if isinstance(expr, FunctionCall):
            return self._function(expr, scope)
        raise InvalidInputError(f"$filter: {type(expr).__name__} is not a condition")

    def _locate(self, ref: PropertyRef, scope: Scope) -> tuple[str, EntityType, tuple[str, ...]]:
        """The alias nearest to the property and the relations still to follow from it."""
        for length in range(len(ref.navigation), -1, -1):
            bound = scope.get(ref.navigation[:length])
            if bound is not None:
                return bound[0], bound[1], ref.navigation[length:]
        raise AssertionError("the root alias is always in scope")

    def _first_outside(self, expr: Expr, scope: Scope) -> PropertyRef | None:
        """The first property of a condition that needs a relation not yet joined."""
        stack: list[Expr] = [expr]
        while stack:
            node = stack.pop(0)
            if isinstance(node, PropertyRef):
                _, entity, remaining = self._locate(node, scope)
                if remaining and _foreign_key_shortcut(entity, remaining, node) is None:
                    return node
            elif isinstance(node, FunctionCall):
                stack.extend(node.args)
            elif isinstance(node, Arithmetic) or (isinstance(node, Comparison) and node is expr):
                stack.extend((node.left, node.right))
        return None

    def _exists(self, expr: Expr, scope: Scope, ref: PropertyRef) -> _Frag:
        alias, entity, remaining = self._locate(ref, scope)
        prefix = ref.navigation[: len(ref.navigation) - len(remaining)]
        relation = entity.relation(remaining[0])
        assert relation is not None
        target = ENTITY_TYPES[relation.to]
        inner_alias = f"a{next(self._aliases)}"
        source, join = _relation_join(relation, alias, target, inner_alias)
        inner = self.predicate(expr, {**scope, (*prefix, remaining[0]): (inner_alias, target)})
        return _sql(f"EXISTS (SELECT 1 FROM {source} WHERE {join} AND " + "{})", inner)

    def _comparison(self, expr: Comparison, scope: Scope) -> _Frag:
        left, right = expr.left, expr.right
        if expr.as_type == "null":
            if left.type == "null" and right.type == "null":
                return _Frag("TRUE" if expr.operator == "eq" else "FALSE")
            is_null = self._is_null(right if left.type == "null" else left, scope)
            return is_null if expr.operator == "eq" else _sql("(NOT {})", is_null)
        operator = _SQL_COMPARATORS[expr.operator]
        if expr.as_type == "interval" and right.type != "interval":
            start = self.value(left, scope, "datetime")
            end = self.value(left, scope, "end")
            instant = self.value(right, scope, "datetime")
            if expr.operator in ("gt", "ge"):
                return _sql("({} " + operator + " {})", start, instant)
            if expr.operator in ("lt", "le"):
                return _sql(
                    "({} " + operator + " {} AND {} " + operator + " {})", start, instant, end, instant
                )
            equal = _sql("({} = {} AND {} = {})", start, instant, end, instant)
            return equal if expr.operator == "eq" else _sql("(NOT {})", equal)
        view = expr.as_type if expr.as_type in ("number", "string") else "datetime"
        return _sql("({} " + operator + " {})", self.value(left, scope, view), self.value(right, scope, view))

    def _is_null(self, expr: Expr, scope: Scope) -> _Frag:
        if isinstance(expr, PropertyRef) and expr.type == "result" and not expr.json_path:
            alias = self._property_alias(expr, scope)[0]
            return _Frag(f"({alias}.result_number IS NULL AND {alias}.result_json IS NULL)")
        view = "string" if expr.type == "json" else "datetime"
        return _sql("({} IS NULL)", self.value(expr, scope, view))

    # -- values ----------------------------------------------------------------------------------
    def value(self, expr: Expr, scope: Scope, view: str = "datetime") -> _Frag:
        """SQL of a value. ``view`` picks how flexible values read: ``number`` or ``string`` for
        results and JSON members; ``end`` for the end of an interval (else its start)."""
        if isinstance(expr, Constant):
            return self._constant(expr, view)
        if isinstance(expr, PropertyRef):
            return self._property(expr, scope, view)
        if isinstance(expr, Arithmetic):
            return self._arithmetic(expr, scope)
        if isinstance(expr, FunctionCall) and expr.type != "boolean":
            return self._function(expr, scope)
        condition = self.predicate(expr, scope)
        return _sql("CAST({} AS VARCHAR)", condition) if view == "string" else condition

    def _constant(self, expr: Constant, view: str) -> _Frag:
        if expr.type == "null":
            return _Frag(_TYPED_NULLS.get(view, "NULL"))
        if expr.type == "boolean":
            if view == "string":
                return self.param("true" if expr.value else "false")
            return _Frag("TRUE" if expr.value else "FALSE")
        if isinstance(expr.value, Duration):
            return _sql("CAST({} AS INTERVAL)", self.param(expr.value.sql_text))
        if isinstance(expr.value, Geometry):
            return self.geometry(expr.value.wkt)
        if expr.type == "string":
            return _sql("CAST({} AS VARCHAR)", self.param(expr.value))
        return self.param(expr.value)

    def geometry(self, wkt: str) -> _Frag:
        """A WGS84 geometry from bound WKT (SRID 4326 in PostGIS; DuckDB geometries carry none)."""
        if self.dialect == "duckdb":
            return _Frag(f"ST_GeomFromText({self.ph})", (wkt,))
        return _Frag(f"ST_GeomFromText({self.ph}, {STA_EPSG})", (wkt,))

    def _property_alias(self, ref: PropertyRef, scope: Scope) -> tuple[str, EntityType, str | None]:
        alias, entity, remaining = self._locate(ref, scope)
        if remaining:
            return alias, entity, _foreign_key_shortcut(entity, remaining, ref)
        return alias, entity, None

    def _property(self, ref: PropertyRef, scope: Scope, view: str) -> _Frag:
        alias, entity, foreign_key = self._property_alias(ref, scope)
        if foreign_key is not None:
            return _Frag(f"{alias}.{foreign_key}")
        prop = entity.property(ref.name)
        assert prop is not None
        column = f"{alias}.{prop.column}"
        if prop.kind == "interval":
            start = f"{column}_start"
            return _Frag(f"COALESCE({column}_end, {start})" if view == "end" else start)
        if prop.kind == "result":
            if view == "string":
                return self.json_text(f"{alias}.result_json", ())
            return _Frag(f"{alias}.result_number")
        if prop.kind == "json":
            if view == "number":
                return self.json_number(column, ref.json_path)
            return self.json_text(column, ref.json_path)
        if prop.kind == "geometry_json":
            return _Frag(f"{alias}.{_geometry_column(prop)}")
        return _Frag(column)

    def _folded_datetime(self, expr: Expr) -> datetime | None:
        """The value of a datetime expression without columns, when Python can compute it exactly."""
        if isinstance(expr, Constant) and isinstance(expr.value, datetime):
            return expr.value
        if isinstance(expr, FunctionCall) and not expr.args:
            return {"now": self.now, "mindatetime": MIN_DATETIME, "maxdatetime": MAX_DATETIME}[expr.name]
        if isinstance(expr, Arithmetic) and expr.type == "datetime":
            instant, duration = (
                (expr.left, expr.right) if expr.left.type != "duration" else (expr.right, expr.left)
            )
            base = self._folded_datetime(instant)
            if base is None or not isinstance(duration, Constant):
                return None
            delta = duration.value.as_timedelta()
            if delta is None:
                return None
            try:
                return base + delta if expr.operator == "add" else base - delta
            except OverflowError as exc:
                raise InvalidInputError("$filter: a datetime computed in the filter is out of range") from exc
        return None

    def _arithmetic(self, expr: Arithmetic, scope: Scope) -> _Frag:
        if expr.type == "datetime":
            folded = self._folded_datetime(expr)
            if folded is not None:
                return self.param(folded)
        if expr.type != "number":
            operator = "+" if expr.operator == "add" else "-"
            return _sql(
                "({} " + operator + " {})", self.value(expr.left, scope), self.value(expr.right, scope)
            )
        left = self.value(expr.left, scope, "number")
        right = self.value(expr.right, scope, "number")
        if expr.operator in _ARITHMETIC:
            return _sql("({} " + _ARITHMETIC[expr.operator] + " {})", left, right)
        if expr.operator == "div":
            return _sql("(CAST({} AS DOUBLE PRECISION) / NULLIF({}, 0))", left, right)
        if self.dialect == "duckdb":
            return _sql("({} % NULLIF({}, 0))", left, right)
        return _sql(
            "CAST(mod(CAST({} AS NUMERIC), CAST(NULLIF({}, 0) AS NUMERIC)) AS DOUBLE PRECISION)", left, right
        )

    def _function(self, expr: FunctionCall, scope: Scope) -> _Frag:
        name, args = expr.name, expr.args
        if name in ("now", "mindatetime", "maxdatetime"):
            return self.param(self._folded_datetime(expr))
        if name in _SPATIAL:
            if name == "st_relate" and self.dialect == "duckdb":
                raise InvalidInputError(
                    "$filter: st_relate needs the PostgreSQL store; DuckDB's spatial extension has no "
                    "ST_Relate (use st_intersects, st_within, st_contains … instead)"
                )
            parts = [self.value(a, scope, "string" if a.type == "string" else "geometry") for a in args]
            return _sql(_SPATIAL[name] + "(" + ", ".join(["{}"] * len(parts)) + ")", *parts)
        if name in ("round", "floor", "ceiling"):
            number = self.value(args[0], scope, "number")
            if name == "round" and self.dialect != "duckdb":
                return _sql("CAST(round(CAST({} AS NUMERIC)) AS DOUBLE PRECISION)", number)
            return _sql({"round": "round({})", "floor": "floor({})", "ceiling": "ceil({})"}[name], number)
        if name in _DATE_PARTS or name in (
            "second",
            "fractionalseconds",
            "date",
            "time",
            "totaloffsetminutes",
        ):
            return self._datetime_function(name, args[0], scope)
        texts = [
            self.value(a, scope, "number" if i > 0 and name == "substring" else "string")
            for i, a in enumerate(args)
        ]
        if name == "substringof":
            return _sql("(strpos({}, {}) > 0)", texts[1], texts[0])
        if name == "startswith":
            return _sql("starts_with({}, {})", texts[0], texts[1])
        if name == "endswith":
            return _sql("(right({}, length({})) = {})", texts[0], texts[1], texts[1])
        if name == "length":
            return _sql("length({})", texts[0])
        if name == "indexof":
            return _sql("(strpos({}, {}) - 1)", texts[0], texts[1])
        if name == "substring":
            if len(texts) == 2:
                return _sql("substr({}, CAST(GREATEST({}, 0) AS INTEGER) + 1)", texts[0], texts[1])
            return _sql(
                "substr({}, CAST(GREATEST({}, 0) AS INTEGER) + 1, CAST(GREATEST({}, 0) AS INTEGER))", *texts
            )
        if name == "concat":
            return _sql("({} || {})", texts[0], texts[1])
        return _sql({"tolower": "lower({})", "toupper": "upper({})", "trim": "trim({})"}[name], texts[0])

    def _datetime_function(self, name: str, arg: Expr, scope: Scope) -> _Frag:
        value = self.value(arg, scope, "datetime")
        if arg.type in ("datetime", "interval", "null"):
            value = _sql("({} AT TIME ZONE 'UTC')", value)
        if name in _DATE_PARTS:
            return _sql("CAST(EXTRACT(" + _DATE_PARTS[name] + " FROM {}) AS BIGINT)", value)
        if name == "second":
            return _sql("CAST(FLOOR(EXTRACT(SECOND FROM {})) AS BIGINT)", value)
        if name == "fractionalseconds":
            return _sql(
                "(CAST(mod(CAST(EXTRACT(MICROSECONDS FROM {}) AS BIGINT), 1000000) AS DOUBLE PRECISION) "
                "/ 1000000)",
                value,
            )
        if name == "date":
            return _sql("CAST({} AS DATE)", value)
        if name == "time":
            return _sql("CAST({} AS TIME)", value)
        return _sql("CASE WHEN {} IS NULL THEN NULL ELSE 0 END", value)

    # -- sorting ---------------------------------------------------------------------------------
    def order_by(
        self, keys: Sequence[OrderKey], entity: EntityType, alias: str, *, id_from_index: bool = True
    ) -> _Frag:
        """ORDER BY items (without the keywords): the keys, then the id as a tie-breaker.

        ``id_from_index=False`` writes the id as ``(alias.id + 0)``, which PostgreSQL cannot read
        from the primary-key index: under a time window it then takes the matches from the
        ``(datastream_id, phenomenon_time_start)`` index and sorts them, instead of walking the key
        index in order and discarding every row before the window (seconds on millions of rows).
        """
        scope: Scope = {(): (alias, entity)}
        id_sql = f"{alias}.id" if id_from_index else f"({alias}.id + 0)"
        items: list[_Frag] = []
        for key in keys:
            direction = " DESC NULLS FIRST" if key.descending else " ASC NULLS LAST"
            expression = key.expression
            if _is_own_id(expression):
                items.append(_Frag(id_sql + direction))
            elif isinstance(expression, PropertyRef) and expression.type == "result":
                items.append(_Frag(f"{alias}.result_number{direction}"))
                items.append(_sql("{}" + direction, self.value(expression, scope, "string")))
            else:
                view = "string" if expression.type == "json" else "datetime"
                items.append(_sql("{}" + direction, self.value(expression, scope, view)))
        if not (keys and _is_own_id(keys[-1].expression)):
            items.append(_Frag(f"{id_sql} ASC"))
        return _join(", ", items)


def _is_own_id(expr: Expr) -> bool:
    """True for ``@iot.id`` of the queried entity itself."""
    return isinstance(expr, PropertyRef) and expr.name == ID_PROPERTY and not expr.navigation


def _has_time_window(expr: Expr | None) -> bool:
    """True when the filter ANDs a comparison of the entity's own phenomenonTime or resultTime."""
    if isinstance(expr, Logical) and expr.operator == "and":
        return _has_time_window(expr.left) or _has_time_window(expr.right)
    if not isinstance(expr, Comparison) or expr.as_type not in ("interval", "datetime"):
        return False
    return any(
        isinstance(side, PropertyRef)
        and not side.navigation
        and side.name in ("phenomenonTime", "resultTime")
        for side in (expr.left, expr.right)
    )


def _relation_join(relation: Relation, parent: str, target: EntityType, alias: str) -> tuple[str, str]:
    """FROM items and join condition that reach ``target`` (as ``alias``) from the ``parent`` alias."""
    if relation.link_table is not None and relation.link_columns is not None:
        this, other = relation.link_columns
        link = f"{alias}_link"
        return (
            f"{relation.link_table} {link} JOIN {target.table} {alias} ON {alias}.id = {link}.{other}",
            f"{link}.{this} = {parent}.id",
        )
    if relation.reverse:
        return f"{target.table} {alias}", f"{alias}.{relation.foreign_key} = {parent}.id"
    return f"{target.table} {alias}", f"{alias}.id = {parent}.{relation.foreign_key}"


# -- rendering -----------------------------------------------------------------------------------


def _time_sql(column: str, dialect: str) -> str:
    """A TIMESTAMPTZ as ISO 8601 text in UTC with microseconds, formatted by the database (fast)."""
    if dialect == "duckdb":
        return f"strftime({column} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f')"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"


def _time_text(text: str | None) -> str | None:
    """``2024-05-01T10:00:00.000000`` → ``2024-05-01T10:00:00.000Z`` (microseconds only when not 0)."""
    if text is None:
        return None
    return f"{text[:-3]}Z" if text.endswith("000") else f"{text}Z"


def _number(value: float | None) -> int | float | None:
    """A stored double as JSON: whole numbers as integers (12.0 → 12)."""
    if value is None:
        return None
    number = float(value)
    if number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def _json(text: str | None) -> Any:
    """A JSON column read as text, parsed."""
    return None if text is None else orjson.loads(text)


def _column_count(prop: Property) -> int:
    """How many SELECT columns a property takes (intervals and results take two)."""
    return 2 if prop.kind in ("interval", "result") else 1


def _columns_sql(props: Sequence[Property], alias: str, dialect: str) -> list[str]:
    """SELECT expressions of the given properties, ``_column_count`` each; times as text."""
    columns: list[str] = []
    for prop in props:
        column = f"{alias}.{prop.column}"
        if prop.kind == "interval":
            columns += [_time_sql(f"{column}_start", dialect), _time_sql(f"{column}_end", dialect)]
        elif prop.kind == "time":
            columns.append(_time_sql(column, dialect))
        elif prop.kind == "result":
            columns += [f"{alias}.result_number", f"CAST({alias}.result_json AS VARCHAR)"]
        elif prop.kind in ("json", "geometry_json"):
            columns.append(f"CAST({column} AS VARCHAR)")
        else:
            columns.append(column)
    return columns


def _render(prop: Property, values: Sequence[Any]) -> Any:
    """The JSON value of a property from its column values."""
    kind = prop.kind
    if kind == "text":
        return values[0]
    if kind == "interval":
        start = _time_text(values[0])
        if start is None or values[1] is None:
            return start
        return f"{start}/{_time_text(values[1])}"
    if kind == "result":
        return _number(values[0]) if values[0] is not None else _json(values[1])
    if kind in ("json", "geometry_json"):
        return _json(values[0])
    if kind == "time":
        return _time_text(values[0])
    if kind == "id":
        return int(values[0])
    return _number(values[0])


def _selected(entity: EntityType, select: tuple[str, ...] | None) -> list[Property]:
    """Properties to read besides the id (always read first)."""
    return [p for p in entity.properties if p.name != ID_PROPERTY and (select is None or p.name in select)]


@dataclass
class _Row:
    """One entity read from the store: its id and its JSON object under construction."""

    id: int
    body: dict[str, Any]


class _Layout:
    """How the rows of one query become entity objects: which columns hold which property."""

    def __init__(
        self, base_url: str, entity: EntityType, props: Sequence[Property], select: tuple[str, ...] | None
    ) -> None:
        self.prefix = f"{base_url}/{entity.set_name}("
        self.with_id = select is None or ID_PROPERTY in select
        self.fields: list[tuple[Property, int, int]] = []
        position = 1
        for prop in props:
            width = _column_count(prop)
            self.fields.append((prop, position, position + width))
            position += width
        self.links = [
            (f"{r.name}@iot.navigationLink", f"/{r.name}")
            for r in entity.relations
            if select is None or r.name in select
        ]

    def render(self, row: Sequence[Any]) -> _Row:
        """The JSON object of one row (id first, then the property columns)."""
        entity_id = int(row[0])
        self_link = f"{self.prefix}{entity_id})"
        body: dict[str, Any] = {"@iot.id": entity_id, "@iot.selfLink": self_link} if self.with_id else {}
        for prop, start, end in self.fields:
            body[prop.name] = row[start] if prop.kind == "text" else _render(prop, row[start:end])
        for key, suffix in self.links:
            body[key] = self_link + suffix
        return _Row(entity_id, body)


class _Reader:
    """Runs the queries of one request."""

    def __init__(self, store: Store, base_url: str) -> None:
        self.store = store
        self.dialect = store.dialect
        self.base_url = base_url.rstrip("/")
        self.compiler = _Compiler(store.dialect, store.placeholder(1))

    @property
    def ph(self) -> str:
        """The store's placeholder for one parameter."""
        return self.compiler.ph

    def fetch(self, frag: _Frag) -> list[tuple[Any, ...]]:
        """Run a query; a value the database cannot compute (overflow, conversion) is a 400."""
        try:
            return self.store._fetchall(frag.sql, frag.params)
        except _DATA_ERRORS as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidInputError(f"the query cannot be evaluated on the stored values: {reason}") from exc

    def link(self, entity: EntityType, entity_id: int) -> str:
        """The ``@iot.selfLink`` of an entity."""
        return f"{self.base_url}/{entity.set_name}({entity_id})"

    def layout(
        self, entity: EntityType, props: Sequence[Property], select: tuple[str, ...] | None
    ) -> _Layout:
        """How rows of ``entity`` with these columns become JSON objects."""
        return _Layout(self.base_url, entity, props, select)

    def columns(self, props: Sequence[Property], alias: str = "a0") -> list[str]:
        """SELECT expressions of ``props`` in this store's dialect."""
        return _columns_sql(props, alias, self.dialect)

    def next_link(self, path: str, options: QueryOptions) -> str:
        """The same request with ``$skip`` advanced by one page."""
        pairs = [(k, v) for k, v in options.raw if k != "$skip"]
        pairs.append(("$skip", str(options.skip + options.top)))
        query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=_QUERY_SAFE)}" for k, v in pairs)
        return f"{self.base_url}/{path}?{query}"

    # -- resolving the path ------------------------------------------------------------------
    def resolve(self, path: ResourcePath) -> tuple[EntityType, int | None, _Frag | None]:
        """The addressed entity type and either its id or a condition on ``a0`` for the collection.

        Each navigation step from a single entity is one small query; a missing entity on the
        way is a NotFoundError.
        """
        entity = ENTITY_TYPES[path.segments[0].name]
        current = path.segments[0].entity_id
        for index, segment in enumerate(path.segments[1:], start=1):
            if current is None:
                raise InvalidInputError(f"navigate from one entity, e.g. {path.segments[index - 1].name}(1)")
            relation = entity.relation(segment.name)
            if relation is None:
                raise NotFoundError(f"{entity.singular} has no navigation property {segment.name!r}")
            target = ENTITY_TYPES[relation.to]
            if not relation.many:
                rows = self.fetch(
                    _Frag(
                        f"SELECT {relation.foreign_key} FROM {entity.table} WHERE id = {self.ph}", (current,)
                    )
                )
                if not rows:
                    raise NotFoundError(f"no {entity.singular} with id {current}")
                if rows[0][0] is None:
                    raise NotFoundError(f"{entity.singular}({current}) has no {segment.name}")
                entity, current = target, int(rows[0][0])
                continue
            if relation.link_table is not None and relation.link_columns is not None:
                this, other = relation.link_columns
                condition = _Frag(
                    f"a0.id IN (SELECT {other} FROM {relation.link_table} WHERE {this} = {self.ph})",
                    (current,),
                )
            else:
                condition = _Frag(f"a0.{relation.foreign_key} = {self.ph}", (current,))
            if segment.entity_id is None:
                self._require(entity, current)
                return target, None, condition
            found = self.fetch(
                _Frag(
                    f"SELECT 1 FROM {target.table} a0 WHERE a0.id = {self.ph} AND {condition.sql}",
                    (segment.entity_id, *condition.params),
                )
            )
            if not found:
                raise NotFoundError(
                    f"no {target.singular} with id {segment.entity_id} among the {segment.name} of "
                    f"{entity.singular}({current})"
                )
            entity, current = target, segment.entity_id
        return entity, current, None

    def _require(self, entity: EntityType, entity_id: int) -> None:
        """NotFoundError unless the entity exists."""
        if not self.fetch(_Frag(f"SELECT 1 FROM {entity.table} WHERE id = {self.ph}", (entity_id,))):
            raise NotFoundError(f"no {entity.singular} with id {entity_id}")

    # -- reading ---------------------------------------------------------------------------------
    def _where(self, entity: EntityType, condition: _Frag | None, options: QueryOptions) -> _Frag:
        parts = [] if condition is None else [condition]
        if options.filter is not None:
            parts.append(self.compiler.predicate(options.filter, {(): ("a0", entity)}))
        return _sql(" WHERE {}", _join(" AND ", parts)) if parts else _Frag("")

    def collection(
        self, path: ResourcePath, entity: EntityType, condition: _Frag | None, options: QueryOptions
    ) -> dict[str, Any]:
        """A page of a collection (entities, links or a dataArray), its count and next link."""
        where = self._where(entity, condition, options)
        data_array = options.result_format == RESULT_FORMAT_DATA_ARRAY and not path.ref
        if path.ref:
            props: list[Property] = []
        elif data_array:
            props = _components(entity, options.select)
        else:
            props = _selected(entity, options.select)
        columns = ["a0.id", *self.columns(props)]
        if data_array:
            columns.append("a0.datastream_id")
        query = _sql(
            f"SELECT {', '.join(columns)} FROM {entity.table} a0" + "{} ORDER BY {}"
            f" LIMIT {options.top + 1} OFFSET {options.skip}",
            where,
            self.compiler.order_by(
                options.orderby,
                entity,
                "a0",
                id_from_index=self.dialect != "postgis" or not _has_time_window(options.filter),
            ),
        )
        rows = self.fetch(query)
        response: dict[str, Any] = {}
        if options.count:
            counted = self.fetch(_sql(f"SELECT count(*) FROM {entity.table} a0" + "{}", where))
            response["@iot.count"] = int(counted[0][0])
        page = rows[: options.top]
        if path.ref:
            response["value"] = [{"@iot.selfLink": self.link(entity, int(row[0]))} for row in page]
        elif data_array:
            response["value"] = self._data_array(props, page)
        else:
            layout = self.layout(entity, props, options.select)
            entities = [layout.render(row) for row in page]
            self.expand(entity, entities, options.expand)
            response["value"] = [e.body for e in entities]
        if len(rows) > options.top > 0:
            response["@iot.nextLink"] = self.next_link(str(path), options)
        return response

    def _data_array(
        self, components: Sequence[Property], rows: Sequence[Sequence[Any]]
    ) -> list[dict[str, Any]]:
        """Observations grouped by Datastream as ``components`` + ``dataArray`` rows."""
        names = ["id" if p.name == ID_PROPERTY else p.name for p in components]
        groups: dict[int, list[list[Any]]] = {}
        for row in rows:
            values: list[Any] = []
            position = 1
            for prop in components:
                width = _column_count(prop)
                values.append(_render(prop, row[position : position + width]))
                position += width
            groups.setdefault(int(row[-1]), []).append(values)
        return [
            {
                "Datastream@iot.navigationLink": self.link(ENTITY_TYPES["Datastreams"], datastream_id),
                "components": names,
                "dataArray@iot.count": len(values),
                "dataArray": values,
            }
            for datastream_id, values in groups.items()
        ]

    def entity(self, entity: EntityType, entity_id: int, options: QueryOptions) -> dict[str, Any]:
        """One entity with its selected properties and expansions."""
        props = _selected(entity, options.select)
        columns = ", ".join(["a0.id", *self.columns(props)])
        rows = self.fetch(
            _Frag(f"SELECT {columns} FROM {entity.table} a0 WHERE a0.id = {self.ph}", (entity_id,))
        )
        if not rows:
            raise NotFoundError(f"no {entity.singular} with id {entity_id}")
        row = self.layout(entity, props, options.select).render(rows[0])
        self.expand(entity, [row], options.expand)
        return row.body

    def property_value(self, entity: EntityType, entity_id: int, name: str, raw: bool) -> Any:
        """``{"name": value}``, or the bare value for ``$value``."""
        prop = entity.property(name)
        if prop is None:
            raise NotFoundError(f"{entity.singular} has no property {name!r}")
        columns = ", ".join(self.columns([prop]))
        rows = self.fetch(
            _Frag(f"SELECT {columns} FROM {entity.table} a0 WHERE a0.id = {self.ph}", (entity_id,))
        )
        if not rows:
            raise NotFoundError(f"no {entity.singular} with id {entity_id}")
        value = _render(prop, rows[0])
        return value if raw else {name: value}

    def reference(self, entity: EntityType, entity_id: int) -> dict[str, Any]:
        """``{"@iot.selfLink": ...}`` of one existing entity."""
        self._require(entity, entity_id)
        return {"@iot.selfLink": self.link(entity, entity_id)}

    # -- $expand ---------------------------------------------------------------------------------
    def expand(self, parent: EntityType, parents: Sequence[_Row], items: Sequence[Expand]) -> None:
        """Add the expanded relations to each parent's JSON: one query per item for all parents."""
        if not parents:
            return
        for item in items:
            self._expand_one(parent, parents, item)

    def _expand_one(self, parent: EntityType, parents: Sequence[_Row], item: Expand) -> None:
        relation = parent.relation(item.navigation)
        assert relation is not None
        target = ENTITY_TYPES[relation.to]
        options = item.options
        if relation.link_table is not None and relation.link_columns is not None:
            this, other = relation.link_columns
            source = f"{relation.link_table} lk JOIN {target.table} a0 ON a0.id = lk.{other}"
            parent_column = f"lk.{this}"
        elif relation.many:
            source, parent_column = f"{target.table} a0", f"a0.{relation.foreign_key}"
        else:
            source = f"{parent.table} pp JOIN {target.table} a0 ON a0.id = pp.{relation.foreign_key}"
            parent_column = "pp.id"
        ids = sorted({p.id for p in parents})
        conditions = [_Frag(f"{parent_column} IN (SELECT unnest(CAST({self.ph} AS BIGINT[])))", (ids,))]
        if options.filter is not None:
            conditions.append(self.compiler.predicate(options.filter, {(): ("a0", target)}))
        props = _selected(target, options.select)
        selected = ["a0.id", *self.columns(props)]
        columns = ", ".join(f"{sql} AS c{i}" for i, sql in enumerate(selected))
        total = f"COUNT(*) OVER (PARTITION BY {parent_column})" if options.count and relation.many else "0"
        inner = _sql(
            f"SELECT {columns}, {parent_column} AS parent_id, "
            f"ROW_NUMBER() OVER (PARTITION BY {parent_column} ORDER BY " + "{}) AS rn, "
            f"{total} AS total FROM {source} WHERE " + "{}",
            self.compiler.order_by(options.orderby, target, "a0"),
            _join(" AND ", conditions),
        )
        page_filter = (
            f" WHERE q.rn > {options.skip} AND q.rn <= {options.skip + options.top + 1}"
            if relation.many
            else ""
        )
        outer = ", ".join(f"q.c{i}" for i in range(len(selected)))
        rows = self.fetch(
            _sql(
                f"SELECT {outer}, q.parent_id, q.total FROM ("
                + "{}"
                + f") q{page_filter} ORDER BY q.parent_id, q.rn",
                inner,
            )
        )
        width = len(selected)
        found: dict[int, list[_Row]] = {}
        totals: dict[int, int] = {}
        layout = self.layout(target, props, options.select)
        for row in rows:
            parent_id = int(row[width])
            found.setdefault(parent_id, []).append(layout.render(row))
            totals[parent_id] = int(row[width + 1])
        pages = {
            pid: children[: options.top] if relation.many else children for pid, children in found.items()
        }
        self.expand(target, [child for children in pages.values() for child in children], options.expand)
        name = item.navigation
        for row_ in parents:
            children = pages.get(row_.id, [])
            if not relation.many:
                if children:
                    row_.body[name] = children[0].body
                continue
            if options.count:
                row_.body[f"{name}@iot.count"] = totals.get(row_.id, 0)
            row_.body[name] = [child.body for child in children]
            if len(found.get(row_.id, [])) > options.top > 0:
                row_.body[f"{name}@iot.nextLink"] = self.next_link(
                    f"{parent.set_name}({row_.id})/{name}", options
                )


def _components(entity: EntityType, select: tuple[str, ...] | None) -> list[Property]:
    """Columns of a dataArray: the selected properties in order, or all of them with the id first."""
    if select is None:
        return list(entity.properties)
    return [prop for name in select if (prop := entity.property(name)) is not None]


def read(store: Store, path: ResourcePath, options: QueryOptions, base_url: str) -> Any:
    """The JSON-ready response of a SensorThings GET.

    A collection is ``{"@iot.count": n (with $count=true), "value": [...], "@iot.nextLink": ...
    (when more rows exist)}``; an entity is its object; ``Things(1)/name`` is ``{"name": ...}``,
    ``/$value`` the bare value, ``/$ref`` the self links. ``base_url`` is the version root, e.g.
    ``https://host/v1.1``. NotFoundError when an entity on the path does not exist.
    """
    reader = _Reader(store, base_url)
    entity, entity_id, condition = reader.resolve(path)
    if entity_id is None:
        return reader.collection(path, entity, condition, options)
    if path.property is not None:
        return reader.property_value(entity, entity_id, path.property, path.value)
    if path.ref:
        return reader.reference(entity, entity_id)
    return reader.entity(entity, entity_id, options)
