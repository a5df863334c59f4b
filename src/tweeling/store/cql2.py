"""OGC API Features Part 3 filters (CQL2 text, ``?name=value``, ``sortby``) as parameterised SQL.

CQL2 text: ``= <> < <= > >=``; ``AND`` (binds tighter), ``OR``, ``NOT``, parentheses; ``[NOT] LIKE``
(``%`` and ``_``, ``\\`` escapes them; case-sensitive, ``CASEI(x)`` on both sides ignores case, also
in comparisons and ``IN``); ``[NOT] IN (...)``; ``[NOT] BETWEEN``; ``IS [NOT] NULL``; ``INCLUDE``,
``EXCLUDE``. Literals: ``'text'`` (``''`` is a quote), numbers, ``TRUE``/``FALSE``, ``DATE('…')``,
``TIMESTAMP('…')``, WKT, ``BBOX(w, s, e, n)`` and ``ENVELOPE(minx maxx miny maxy)``. Spatial:
``S_INTERSECTS``, ``S_DISJOINT``, ``S_WITHIN``, ``S_CONTAINS``, ``S_TOUCHES``, ``S_CROSSES``,
``S_OVERLAPS``, ``S_EQUALS`` and ``BBOX(geometry, minx, miny, maxx, maxy[, 'crs'])``. Temporal and
array operators, arithmetic and other functions are rejected.

pygeofilter's CQL2 grammar, with four fixes (AND before OR; NOT before a parenthesised condition;
``''`` in strings; one-letter names), parses the text; this module compiles its AST. Only column
names from the layer's schema (``^[a-z][a-z0-9_]{0,62}$``; property ``geometry`` is column ``geom``)
and fixed keywords reach SQL text. Every value is a positional parameter, checked against the
column type first; geometry literals (CRS84, or EPSG:28992) are transformed to EPSG:28992 and bound
as WKB. Limits: 10,000 characters, nesting depth 20, 1,000 conditions and values. Every error is an
InvalidInputError with a short, user-safe message.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import shapely
from lark import Lark, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_text.parser import CQLTransformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from tweeling.core.crs import CRS84_URI, RD_NEW_URI, STORE_EPSG, transformer
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, is_identifier

Dialect = Literal["duckdb", "postgis"]

MAX_FILTER_LENGTH = 10_000
MAX_DEPTH = 20
MAX_NODES = 1_000
GEOMETRY_PROPERTY = "geometry"
GEOMETRY_COLUMN = "geom"
# Geometry literals in CRS84 are clipped to this lon/lat box (it holds every coordinate the store
# accepts, EPSG:28992 around the Netherlands) before they are transformed, where that is exact.
CLIP_BOX_CRS84 = (0.0, 48.0, 11.0, 56.0)
_DENSIFY_DEGREES = 0.005
_MAX_DENSIFIED_VERTICES = 4_000

_PLACEHOLDER = {"duckdb": "?", "postgis": "%s"}
_GEOMETRY_FROM_WKB = {"duckdb": "ST_GeomFromWKB(?)", "postgis": f"ST_GeomFromWKB(%s, {STORE_EPSG})"}

SUPPORTED = (
    "supported: = <> < <= > >=, AND, OR, NOT, ( ), [NOT] LIKE, [NOT] IN (...), [NOT] BETWEEN, "
    "IS [NOT] NULL, CASEI(), DATE(''), TIMESTAMP(''), S_INTERSECTS, S_DISJOINT, S_WITHIN, S_CONTAINS, "
    "S_TOUCHES, S_CROSSES, S_OVERLAPS, S_EQUALS, BBOX"
)

_COMPARISONS: dict[type, str] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
# SQL function, CQL2 name, and where a literal may be clipped exactly (None: never; "any"; "lhs"/"rhs").
_SPATIAL: dict[type, tuple[str, str, str | None]] = {
    ast.GeometryIntersects: ("ST_Intersects", "S_INTERSECTS", "any"),
    ast.GeometryDisjoint: ("ST_Disjoint", "S_DISJOINT", "any"),
    ast.GeometryWithin: ("ST_Within", "S_WITHIN", "rhs"),
    ast.GeometryContains: ("ST_Contains", "S_CONTAINS", "lhs"),
    ast.GeometryTouches: ("ST_Touches", "S_TOUCHES", None),
    ast.GeometryCrosses: ("ST_Crosses", "S_CROSSES", None),
    ast.GeometryOverlaps: ("ST_Overlaps", "S_OVERLAPS", None),
    ast.GeometryEquals: ("ST_Equals", "S_EQUALS", None),
}
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "date": "a date",
    "datetime": "a datetime",
    "geometry": "the geometry",
}
_TYPE_GROUPS = {"integer": "number", "number": "number", "date": "temporal", "datetime": "temporal"}
_CRS84_NAMES = {CRS84_URI.lower(), "crs84", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84"}
_RD_NAMES = {RD_NEW_URI.lower(), "epsg:28992", "urn:ogc:def:crs:epsg::28992"}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT64 = 2**63 - 1


@dataclass(frozen=True)
class SqlFilter:
    """A boolean SQL expression with positional placeholders of its dialect, and their values."""

    sql: str
    params: list[Any]


def _fail(message: str, name: str = "filter") -> NoReturn:
    raise InvalidInputError(message, invalid_params=[{"name": name, "reason": message}])


def _quote(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return "'" + shown.replace("'", "''") + "'"


def _show(text: str) -> str:
    """A piece of the filter text for a message, quoted so that quotes stay readable."""
    return f'"{text[:40]}"' if "'" in text and '"' not in text else _quote(text)


def as_dialect(name: str) -> Dialect:
    """``Store.dialect`` as a Dialect; ValueError for anything else."""
    if name == "duckdb":
        return "duckdb"
    if name == "postgis":
        return "postgis"
    raise ValueError(f"unknown SQL dialect {name!r}")


def _check_dialect(dialect: str) -> str:
    return as_dialect(dialect)


# -- parsing -----------------------------------------------------------------------


@v_args(meta=False, inline=True)
class _Transformer(CQLTransformer):
    """pygeofilter's CQL2 transformer without its debug prints, with '' escapes and safe negation."""

    def SINGLE_QUOTED(self, token: str) -> str:  # noqa: N802 (lark terminal name)
        return str(token)[1:-1].replace("''", "'")

    def wkt__geometry_with_srid(self, srid: str, geometry: dict[str, Any]) -> dict[str, Any]:
        return {**geometry, "crs": {"type": "name", "properties": {"name": f"EPSG:{int(srid)}"}}}

    def wkt__multipoint_2(self, *coordinates: Any) -> dict[str, Any]:
        return {"type": "MultiPoint", "coordinates": coordinates}

    def neg(self, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value
        return ast.Mul(-1, value)  # rejected later as arithmetic


# (pattern, replacement) applied once each to pygeofilter's grammar file.
_GRAMMAR_FIXES = [
    (  # AND binds tighter than OR (pygeofilter gives them equal precedence, left to right)
        r'\?condition: condition_1\s*\n\s*\| condition "AND"i condition_1\s+-> and_\s*\n'
        r'\s*\| condition "OR"i condition_1\s+-> or_',
        '?condition: condition_and\n          | condition "OR"i condition_and -> or_\n'
        '?condition_and: condition_1\n          | condition_and "AND"i condition_1 -> and_',
    ),
    (  # NOT before any condition, e.g. NOT (a = 1 AND b = 2)
        r'\| "NOT"i predicate\s+-> not_\s*\n\s*\| "NOT"i "\(" predicate "\)"\s+-> not_',
        '| "NOT"i condition_1 -> not_',
    ),
    (r"SINGLE_QUOTED: \"'\" /\.\*\?/ \"'\"", "SINGLE_QUOTED: \"'\" /(?:[^']|'')*/ \"'\""),  # 'it''s'
    (r"attribute: /\[a-zA-Z\]\[a-zA-Z_:0-9\.\]\+/", "attribute: /[a-zA-Z][a-zA-Z_:0-9.]*/"),  # one letter
]


@lru_cache(maxsize=1)
def _parser() -> Lark:
    import pygeofilter.parsers.cql2_text as package

    path = Path(package.__file__).parent / "grammar.lark"
    grammar = path.read_text(encoding="utf-8")
    for pattern, replacement in _GRAMMAR_FIXES:
        grammar, count = re.subn(pattern, lambda _m, r=replacement: r, grammar)  # type: ignore[misc]
        if count != 1:
            raise RuntimeError(f"pygeofilter's CQL2 grammar changed; cannot apply {pattern!r}")
    return Lark(
        grammar,
        parser="lalr",
        source_path=str(path),
        import_paths=[str(path.parent.parent)],
        maybe_placeholders=False,
        transformer=_Transformer(),
    )


def _expected(names: set[str]) -> str:
    shown: list[str] = []
    terminals = {t.name: t for t in _parser().terminals}
    for name in sorted(names):
        term = terminals.get(name)
        if term is None:
            continue
        if term.pattern.type == "str":
            label = str(term.pattern.value).upper()
        elif name == "SINGLE_QUOTED":
            label = "a 'string'"
        elif name in ("INT", "FLOAT"):
            label = "a number"
        elif name == "DOUBLE_QUOTED" or term.pattern.value.startswith("[a-zA-Z]"):
            label = "a property name"
        else:
            continue
        if label not in shown:
            shown.append(label)
    return f"; expected {', '.join(shown)}" if 0 < len(shown) <= 10 else ""


def _parse(text: str) -> Any:
    try:
        return _parser().parse(text)
    except UnexpectedCharacters as exc:
        where = f" at character {exc.pos_in_stream + 1}" if exc.pos_in_stream is not None else ""
        _fail(f"invalid CQL2 filter{where}: unexpected {_show(str(exc.char))}")
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            _fail(f"invalid CQL2 filter: it ends too early{_expected(set(exc.expected))}")
        where = f" at character {exc.token.start_pos + 1}" if exc.token.start_pos is not None else ""
        expected = _expected(set(exc.expected))
        _fail(f"invalid CQL2 filter{where}: unexpected {_show(str(exc.token))}{expected}")
    except (UnexpectedEOF, UnexpectedInput):
        _fail("invalid CQL2 filter: it ends too early")
    except LarkError:
        _fail(f"invalid CQL2 filter; {SUPPORTED}")
    except RecursionError:
        _fail(f"filter nested too deeply (max depth {MAX_DEPTH})")
    except Exception as exc:  # a literal the transformer cannot read, e.g. DATE('2020-13-01')
        reason = str(exc).splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        _fail(f"invalid CQL2 filter: a value cannot be read ({reason})")


# -- compiling -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """A property as it appears in SQL."""

    name: str
    kind: str  # a FieldSpec type or "geometry"
    sql: str


@dataclass(frozen=True)
class _CaseiText:
    """CASEI('literal')."""

    value: str


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).upper()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {_quote(value)}"
    if isinstance(value, _CaseiText):
        return f"CASEI({_quote(value.value)})"
    if isinstance(value, datetime):
        return f"the timestamp {value.isoformat()}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, values.Geometry | values.Envelope):
        return "a geometry"
    if isinstance(value, _Column):
        return f"the property {value.name!r} ({value.kind})"
    return "a value"


def _check_text(value: str, name: str) -> str:
    if "\x00" in value:
        _fail("strings cannot contain the NUL character", name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        _fail("strings must be valid Unicode text", name)
    return value


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _coerce(value: Any, column: _Column, name: str = "filter") -> Any:
    """The value to bind for comparing ``column`` with a literal, or an InvalidInputError."""
    kind = column.kind
    wrong = f"property {column.name!r} is {_TYPE_NAMES.get(kind, kind)}, got {_describe(value)}"
    if kind == "string":
        if isinstance(value, str):
            return _check_text(value, name)
        _fail(wrong, name)
    if kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(wrong, name)
        if isinstance(value, int) and abs(value) <= _INT64:
            return value
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            _fail(f"number out of range for property {column.name!r}", name)
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        _fail(wrong, name)
    if kind in ("date", "datetime"):
        if isinstance(value, str):
            value = _parse_temporal(value, kind, wrong, name)
        if isinstance(value, datetime):
            return _naive_utc(value)
        if isinstance(value, date):
            return value if kind == "date" else datetime.combine(value, time())
        _fail(wrong, name)
    _fail(wrong, name)


def _parse_temporal(text: str, kind: str, wrong: str, name: str) -> date | datetime:
    try:
        if kind == "date" and len(text.strip()) <= 10:
            return date.fromisoformat(text.strip())
        return datetime.fromisoformat(text.strip())
    except ValueError:
        _fail(f"{wrong}; use an ISO date such as '2020-01-31' or DATE('2020-01-31')", name)


class _Compiler:
    def __init__(
        self, fields: Sequence[FieldSpec], dialect: Dialect, has_geometry: bool, filter_crs_epsg: int | None
    ) -> None:
        self.fields = {spec.name: spec for spec in fields}
        self.dialect = dialect
        self.has_geometry = has_geometry
        self.filter_crs_epsg = filter_crs_epsg
        self.params: list[Any] = []
        self.nodes = 0

    # -- helpers
    def _count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            _fail(f"filter too complex (max {MAX_NODES:,} conditions and values)")

    def _param(self, value: Any) -> str:
        self._count()
        self.params.append(value)
        return _PLACEHOLDER[self.dialect]

    def _queryables(self) -> list[str]:
        names = list(self.fields)
        return [*names, GEOMETRY_PROPERTY] if self.has_geometry else names

    def _column(self, name: str) -> _Column:
        if name == GEOMETRY_PROPERTY and self.has_geometry:
            return _Column(name, "geometry", GEOMETRY_COLUMN)
        spec = self.fields.get(name)
        if spec is None or not is_identifier(spec.name) or spec.name == GEOMETRY_COLUMN:
            queryables = self._queryables()
            close = difflib.get_close_matches(name, queryables, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            _fail(
                f"unknown property {_quote(name)} in filter; {hint}"
                f"queryable properties: {', '.join(queryables) or 'none'}"
            )
        return _Column(spec.name, spec.type, spec.name)

    def _operand(self, node: Any) -> Any:
        """A _Column, a _CaseiText or a literal value."""
        if isinstance(node, ast.Attribute):
            return self._column(str(node.name))
        if isinstance(node, ast.Function):
            if node.name != "lower" or len(node.arguments) != 1:
                _fail(f"function {_quote(str(node.name))} is not supported; the only function is CASEI(x)")
            argument = node.arguments[0]
            if isinstance(argument, ast.Attribute):
                column = self._column(str(argument.name))
                if column.kind == "string":
                    return _Column(column.name, "string", f"lower({column.sql})")
                _fail(f"CASEI() needs a string property; {column.name!r} is {_TYPE_NAMES[column.kind]}")
            if isinstance(argument, str):
                return _CaseiText(_check_text(argument, "filter"))
            _fail("CASEI() needs a string property or a string")
        if isinstance(node, ast.Arithmetic):
            _fail(f"arithmetic (+ - * /) is not supported in filters; {SUPPORTED}")
        if isinstance(node, values.Interval | timedelta | time | list):
            _fail(f"intervals and durations are not supported in filters; {SUPPORTED}")
        if isinstance(node, bool | int | float | str | date | values.Geometry | values.Envelope):
            return node
        _fail(f"unsupported expression in filter; {SUPPORTED}")

    def _value_sql(self, value: Any, column: _Column) -> str:
        """SQL for a literal (or a compatible property) compared with ``column``."""
        if isinstance(value, _Column):
            if value.kind == "geometry" or column.kind == "geometry":
                _fail("the geometry can only be used in spatial predicates (S_INTERSECTS, BBOX, ...)")
            if _TYPE_GROUPS.get(value.kind, value.kind) != _TYPE_GROUPS.get(column.kind, column.kind):
                _fail(
                    f"cannot compare property {column.name!r} ({column.kind}) "
                    f"with property {value.name!r} ({value.kind})"
                )
            return value.sql
        if isinstance(value, values.Geometry | values.Envelope):
            _fail("geometries can only be used in spatial predicates (S_INTERSECTS, BBOX, ...)")
        if isinstance(value, _CaseiText):
            if column.kind != "string":
                _fail(f"property {column.name!r} is {_TYPE_NAMES[column.kind]}, got {_describe(value)}")
            return f"lower({self._param(value.value)})"
        return self._param(_coerce(value, column))

    def _subject(self, node: Any, what: str) -> _Column:
        operand = self._operand(node)
        if not isinstance(operand, _Column):
            _fail(f"{what} needs a property on the left, got {_describe(operand)}")
        if operand.kind == "geometry":
            _fail(f"{what} does not apply to the geometry; use S_INTERSECTS, BBOX, ...")
        return operand

    # -- conditions
    def condition(self, node: Any, depth: int) -> str:
        if depth > MAX_DEPTH:
            _fail(f"filter nested too deeply (max depth {MAX_DEPTH})")
        self._count()
        if isinstance(node, ast.And | ast.Or):
            keyword = "AND" if isinstance(node, ast.And) else "OR"
            parts = [self.condition(item, depth + 1) for item in self._flatten(node)]
            return "(" + f" {keyword} ".join(parts) + ")"
        if isinstance(node, ast.Not):
            return f"(NOT {self.condition(node.sub_node, depth + 1)})"
        if isinstance(node, ast.Comparison) and type(node) in _COMPARISONS:
            return self._comparison(node)
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.In):
            column = self._subject(node.lhs, "IN")
            items = [self._value_sql(self._operand(item), column) for item in node.sub_nodes]
            return f"({column.sql} {'NOT ' if node.not_ else ''}IN ({', '.join(items)}))"
        if isinstance(node, ast.Between):
            column = self._subject(node.lhs, "BETWEEN")
            low = self._value_sql(self._operand(node.low), column)
            high = self._value_sql(self._operand(node.high), column)
            return f"({column.sql} {'NOT ' if node.not_ else ''}BETWEEN {low} AND {high})"
        if isinstance(node, ast.IsNull):
            operand = self._operand(node.lhs)
            if not isinstance(operand, _Column):
                _fail(f"IS NULL needs a property, got {_describe(operand)}")
            return f"({operand.sql} IS {'NOT ' if node.not_ else ''}NULL)"
        if isinstance(node, ast.Include):
            return "FALSE" if node.not_ else "TRUE"
        if isinstance(node, ast.SpatialComparisonPredicate) and type(node) in _SPATIAL:
            return self._spatial(node)
        if isinstance(node, ast.BBox):
            return self._bbox(node)
        if isinstance(node, ast.TemporalPredicate):
            _fail(f"temporal operators (T_...) are not supported; compare dates with < > =; {SUPPORTED}")
        if isinstance(node, ast.ArrayPredicate):
            _fail(f"array operators (A_...) are not supported; {SUPPORTED}")
        if isinstance(node, ast.Relate | ast.SpatialDistancePredicate):
            _fail(f"RELATE and distance operators are not supported; {SUPPORTED}")
        _fail(f"unsupported condition in filter; {SUPPORTED}")

    def _flatten(self, node: ast.Combination) -> list[Any]:
        kind = type(node)
        found: list[Any] = []
        stack: list[Any] = [node]
        while stack:
            item = stack.pop()
            if type(item) is kind:
                self._count()
                stack.extend([item.rhs, item.lhs])
            else:
                found.append(item)
        return found

    def _comparison(self, node: ast.Comparison) -> str:
        op = _COMPARISONS[type(node)]
        lhs, rhs = self._operand(node.lhs), self._operand(node.rhs)
        if isinstance(lhs, _Column):
            if lhs.kind == "geometry":
                _fail("the geometry can only be used in spatial predicates (S_INTERSECTS, BBOX, ...)")
            return f"({lhs.sql} {op} {self._value_sql(rhs, lhs)})"
        if isinstance(rhs, _Column):
            if rhs.kind == "geometry":
                _fail("the geometry can only be used in spatial predicates (S_INTERSECTS, BBOX, ...)")
            left = self._value_sql(lhs, rhs)
            return f"({left} {op} {rhs.sql})"
        _fail(f"a comparison needs a property on one side, got {_describe(lhs)} {op} {_describe(rhs)}")

    def _like(self, node: ast.Like) -> str:
        column = self._subject(node.lhs, "LIKE")
        if column.kind != "string":
            _fail(f"LIKE needs a string property; {column.name!r} is {_TYPE_NAMES[column.kind]}")
        pattern = self._operand(node.pattern)
        if isinstance(pattern, _CaseiText):
            sql = f"lower({self._param(_like_pattern(pattern.value))})"
        elif isinstance(pattern, str):
            sql = self._param(_like_pattern(_check_text(pattern, "filter")))
        else:
            _fail(f"LIKE needs a string pattern such as 'Oud%', got {_describe(pattern)}")
        return f"({column.sql} {'NOT ' if node.not_ else ''}LIKE {sql} ESCAPE '\\')"

    # -- spatial
    def _need_geometry(self) -> None:
        if not self.has_geometry:
            _fail("spatial predicates need a layer with geometry; this layer is a table without one")

    def _spatial(self, node: ast.SpatialComparisonPredicate) -> str:
        function, name, clip = _SPATIAL[type(node)]
        self._need_geometry()
        parts = []
        sides = [(node.lhs, "lhs"), (node.rhs, "rhs")]
        operands = [self._spatial_operand(side, name) for side, _ in sides]
        if not any(isinstance(o, _Column) for o in operands):
            _fail(f"{name} needs the property 'geometry' on one side")
        for operand, (_, side) in zip(operands, sides, strict=True):
            if isinstance(operand, _Column):
                if operand.kind != "geometry":
                    _fail(f"{name} compares geometries; use the property 'geometry', not {operand.name!r}")
                parts.append(operand.sql)
            elif isinstance(operand, values.Geometry | values.Envelope):
                clip_ok = clip == "any" or clip == side
                parts.append(self._geometry_sql(operand, name, clip_ok))
            else:
                _fail(f"{name} needs a WKT geometry such as POINT(4.67 51.81), got {_describe(operand)}")
        return f"{function}({parts[0]}, {parts[1]})"

    def _spatial_operand(self, node: Any, name: str) -> Any:
        """An operand of a spatial predicate; the CQL2 literal BBOX(w, s, e, n) becomes an envelope."""
        if not (isinstance(node, ast.Function) and node.name == "bbox"):
            return self._operand(node)
        numbers = node.arguments
        if len(numbers) not in (4, 6) or not all(_is_number(v) for v in numbers):
            _fail(f"BBOX in {name} needs 4 (or 6) finite numbers: west, south, east, north")
        west, south, east, north = (numbers[i] for i in ((0, 1, 2, 3) if len(numbers) == 4 else (0, 1, 3, 4)))
        if west > east or south > north:
            _fail(f"BBOX in {name} needs west <= east and south <= north")
        return values.Envelope(west, east, south, north)

    def _bbox(self, node: ast.BBox) -> str:
        self._need_geometry()
        column = self._operand(node.lhs)
        if not isinstance(column, _Column) or column.kind != "geometry":
            _fail("BBOX needs the property 'geometry' as its first argument")
        corners = [node.minx, node.miny, node.maxx, node.maxy]
        if not all(_is_number(v) for v in corners):
            _fail("BBOX needs four finite numbers: minx, miny, maxx, maxy")
        minx, miny, maxx, maxy = (float(v) for v in corners)
        if minx > maxx or miny > maxy:
            _fail("BBOX needs minx <= maxx and miny <= maxy")
        epsg = self.filter_crs_epsg if node.crs is None else _bbox_crs(str(node.crs))
        box = shapely.box(minx, miny, maxx, maxy)
        self._param(_geometry_wkb(box, epsg, "BBOX", clip_ok=True))
        return f"ST_Intersects({column.sql}, {_GEOMETRY_FROM_WKB[self.dialect]})"

    def _geometry_sql(self, value: values.Geometry | values.Envelope, name: str, clip_ok: bool) -> str:
        epsg = self.filter_crs_epsg
        try:
            if isinstance(value, values.Envelope):
                x1, x2, y1, y2 = (float(v) for v in (value.x1, value.x2, value.y1, value.y2))
                geometry: BaseGeometry = shapely.box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
            else:
                data = dict(value.geometry)
                crs = data.pop("crs", None)
                if crs is not None:
                    epsg = _srid(str(crs.get("properties", {}).get("name", "")), name)
                geometry = shapely.force_2d(shape(data))
        except InvalidInputError:
            raise
        except Exception as exc:  # shapely/GEOS reject malformed coordinates in several ways
            reason = str(exc).splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
            _fail(f"invalid WKT geometry in {name}: {reason}")
        wkb = _geometry_wkb(geometry, epsg, name, clip_ok)
        self._param(wkb)
        return _GEOMETRY_FROM_WKB[self.dialect]


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _srid(name: str, predicate: str) -> int | None:
    code = name.rsplit(":", 1)[-1]
    if code == "4326":
        return None
    if code == str(STORE_EPSG):
        return STORE_EPSG
    _fail(f"SRID={code} in {predicate} is not supported; use SRID=4326 (lon/lat) or SRID=28992, or none")


def _bbox_crs(name: str) -> int | None:
    lowered = name.strip().lower()
    if lowered in _CRS84_NAMES:
        return None
    if lowered in _RD_NAMES:
        return STORE_EPSG
    _fail(f"BBOX CRS {_quote(name)} is not supported; use '{CRS84_URI}' or 'EPSG:28992'")


def _geometry_wkb(geometry: BaseGeometry, epsg: int | None, name: str, clip_ok: bool) -> bytes:
    """WKB in EPSG:28992 of a geometry literal given in CRS84 (``epsg`` None) or EPSG:28992."""
    try:
        coords = shapely.get_coordinates(geometry)
        if geometry.is_empty or len(coords) == 0:
            _fail(f"invalid WKT geometry in {name}: it is empty")
        if not np.isfinite(coords).all():
            _fail(f"invalid WKT geometry in {name}: coordinates must be finite numbers")
        if not geometry.is_valid:
            _fail(f"invalid WKT geometry in {name}: {shapely.is_valid_reason(geometry)}")
        if epsg is None:
            geometry = _from_crs84(geometry, name, clip_ok)
        elif not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        return bytes(shapely.to_wkb(geometry, include_srid=False))
    except InvalidInputError:
        raise
    except Exception as exc:  # GEOS or PROJ failing on odd input
        reason = str(exc).splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        _fail(f"invalid WKT geometry in {name}: {reason}")


def _from_crs84(geometry: BaseGeometry, name: str, clip_ok: bool) -> BaseGeometry:
    minx, miny, maxx, maxy = geometry.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        _fail(
            f"coordinates in {name} must be longitude -180..180 and latitude -90..90 (CRS84); "
            "give filter-crs=EPSG:28992 for RD New coordinates"
        )
    box = shapely.box(*CLIP_BOX_CRS84)
    if not box.contains(geometry):
        if not clip_ok:
            lon = f"{CLIP_BOX_CRS84[0]:g}..{CLIP_BOX_CRS84[2]:g}"
            lat = f"{CLIP_BOX_CRS84[1]:g}..{CLIP_BOX_CRS84[3]:g}"
            _fail(
                f"the geometry in {name} reaches outside the area the store covers (longitude {lon}, "
                f"latitude {lat}); only S_INTERSECTS, S_DISJOINT, S_WITHIN(geometry, …), "
                "S_CONTAINS(…, geometry) and BBOX take larger geometries"
            )
        geometry = shapely.intersection(geometry, box)
        if geometry.is_empty:
            return shapely.from_wkt("GEOMETRYCOLLECTION EMPTY")
    length = float(shapely.length(geometry)) + float(shapely.length(shapely.boundary(geometry)) or 0.0)
    step = max(_DENSIFY_DEGREES, length / _MAX_DENSIFIED_VERTICES)
    geometry = shapely.segmentize(geometry, step)
    forward = transformer(4326, STORE_EPSG)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = forward.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    projected = shapely.transform(geometry, project)
    if not np.isfinite(shapely.get_coordinates(projected)).all():
        _fail(f"the geometry in {name} cannot be transformed to EPSG:28992")
    return projected if projected.is_valid else shapely.make_valid(projected)


def _like_pattern(pattern: str) -> str:
    """A CQL2 LIKE pattern for SQL ``LIKE … ESCAPE '\\'``: a lone backslash matches itself."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if following in ("%", "_", "\\"):
                out.append(char + following)
                index += 2
                continue
            out.append("\\\\")
        else:
            out.append(char)
        index += 1
    return "".join(out)


# -- public API ----------------------------------------------------------------------


def compile_cql2_text(
    text: str,
    fields: Sequence[FieldSpec],
    *,
    dialect: Dialect,
    has_geometry: bool = True,
    filter_crs_epsg: int | None = None,
) -> SqlFilter:
    """Compile a CQL2-text filter over a layer's ``fields`` into parameterised SQL.

    ``filter_crs_epsg`` is None for CRS84 (lon/lat, the CQL2 default) or 28992 (RD New).
    Raises InvalidInputError (parameter ``filter``) for anything it cannot compile.
    """
    _check_dialect(dialect)
    if filter_crs_epsg not in (None, STORE_EPSG):
        _fail(f"filter-crs must be {CRS84_URI} or {RD_NEW_URI}", "filter-crs")
    if not isinstance(text, str):
        _fail("the filter must be text")
    if len(text) > MAX_FILTER_LENGTH:
        _fail(f"filter too long (max {MAX_FILTER_LENGTH:,} characters)")
    if not text.strip():
        _fail("empty filter; give a CQL2 expression such as aant_inw > 1000")
    compiler = _Compiler(fields, dialect, has_geometry, filter_crs_epsg)
    try:
        tree = _parse(text)
        sql = compiler.condition(tree, 1)
    except RecursionError:
        _fail(f"filter nested too deeply (max depth {MAX_DEPTH})")
    return SqlFilter(sql, compiler.params)


def compile_property_equals(field: FieldSpec, raw: str, *, dialect: Dialect) -> SqlFilter:
    """``?name=value`` from a query string as ``name = <param>``, the value read per the field type."""
    _check_dialect(dialect)
    name = field.name
    if not is_identifier(name) or name == GEOMETRY_COLUMN:
        _fail(f"property {_quote(name)} cannot be filtered", name)
    column = _Column(name, field.type, name)
    text = raw.strip()
    value: Any = raw
    wrong = f"property {name!r} is {_TYPE_NAMES[field.type]}, got {_quote(raw)}"
    if field.type == "integer":
        if not _NUMBER.match(text):
            _fail(wrong, name)
        value = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
    elif field.type == "number":
        if not _NUMBER.match(text):
            _fail(wrong, name)
        value = float(text)
    elif field.type == "boolean":
        if text.lower() not in ("true", "false"):
            _fail(f"{wrong}; use true or false", name)
        value = text.lower() == "true"
    elif field.type in ("date", "datetime"):
        value = _parse_temporal(text, field.type, wrong, name)
    value = _coerce(value, column, name)
    return SqlFilter(f"({name} = {_PLACEHOLDER[dialect]})", [value])


def combine_and(filters: Sequence[SqlFilter]) -> SqlFilter:
    """All filters joined with AND (their dialects must agree); no filters -> ``TRUE``."""
    if not filters:
        return SqlFilter("TRUE", [])
    if len(filters) == 1:
        return SqlFilter(filters[0].sql, list(filters[0].params))
    sql = " AND ".join(f"({item.sql})" for item in filters)
    return SqlFilter(sql, [value for item in filters for value in item.params])


def parse_sortby(text: str, fields: Sequence[FieldSpec]) -> list[tuple[str, bool]]:
    """OGC ``sortby``: ``name``, ``+name`` or ``-name``, comma-separated -> [(field, ascending)].

    A leading space counts as ``+`` (an unencoded ``+`` in a query string arrives as a space).
    """
    names = [spec.name for spec in fields if is_identifier(spec.name)]
    if not text.strip():
        return []
    if len(text) > MAX_FILTER_LENGTH:
        _fail("sortby too long", "sortby")
    result: list[tuple[str, bool]] = []
    for item in text.split(","):
        key = item.strip()
        ascending = True
        if key[:1] in ("+", "-"):
            ascending = key[0] == "+"
            key = key[1:].strip()
        if not key:
            _fail("empty sort key in sortby; use e.g. sortby=bu_code or sortby=-aant_inw,bu_naam", "sortby")
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            _fail(
                f"cannot sort by unknown property {_quote(key)}; {hint}"
                f"sortable properties: {', '.join(names)}",
                "sortby",
            )
        if any(key == seen for seen, _ in result):
            _fail(f"property {key!r} appears twice in sortby", "sortby")
        result.append((key, ascending))
    return result


def order_by_sql(sort: Sequence[tuple[str, bool]]) -> str:
    """``ORDER BY a ASC NULLS LAST, b DESC NULLS LAST`` (the same order in both stores); "" if empty."""
    if not sort:
        return ""
    parts = []
    for name, ascending in sort:
        if not is_identifier(name):
            _fail(f"cannot sort by {_quote(name)}", "sortby")
        parts.append(f"{name} {'ASC' if ascending else 'DESC'} NULLS LAST")
    return "ORDER BY " + ", ".join(parts)


__all__ = [
    "MAX_DEPTH",
    "MAX_FILTER_LENGTH",
    "MAX_NODES",
    "Dialect",
    "SqlFilter",
    "as_dialect",
    "combine_and",
    "compile_cql2_text",
    "compile_property_equals",
    "order_by_sql",
    "parse_sortby",
]
